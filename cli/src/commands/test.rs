use super::{ExitWith, print_json, status};
use anyhow::Context;
use clap::Args;
use faas::project::Project;
use faas::testing::{self, TestReport, probes};
use std::path::PathBuf;

/// Check the wrapped artifact against the project's request cases, and its policy against probes.
///
/// Runs each `[[case]]` of the project's tests/*.toml (or of FILEs) against target/faas/NAME.wasm
/// in process, no port: a request (method, path, headers, body; an API key of tests/keys.toml by
/// id, or a JWT minted with a test key) and what must come back (status, headers, a JSON subset of
/// the body). With --policy, also probes every rule of the policy (no credential, an unknown key,
/// each test credential, a method outside the rule, CORS preflights) and compares the outcomes with
/// tests/policy.toml, written on the first run: commit it. Exits 1 when anything fails.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  faas test\n  faas test --policy --junit target/faas/junit.xml\n  \
    faas test tests/http.toml --json\n  faas test --policy --update   # record an intended change of access"
)]
pub struct TestArgs {
    /// Case files (default: the project's tests/*.toml).
    files: Vec<PathBuf>,

    /// Also probe the policy's rules and compare with tests/policy.toml.
    #[arg(long)]
    policy: bool,

    /// Rewrite tests/policy.toml with what the probes got (after reviewing the change).
    #[arg(long, requires = "policy")]
    update: bool,

    /// Write the results as JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,

    /// Print the result as one JSON object on stdout.
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    project: super::project_args::ProjectDir,

    #[command(flatten)]
    limits: super::limit_args::LimitArgs,
}

impl TestArgs {
    pub fn run(self) -> anyhow::Result<()> {
        let project = Project::find(&self.project.start())?;
        let mode = match (self.policy, self.update) {
            (false, _) => probes::Mode::Off,
            (true, false) => probes::Mode::Check,
            (true, true) => probes::Mode::Update,
        };
        let options = testing::project_options(
            &project,
            &project.policy_path(),
            self.files.clone(),
            mode,
            self.limits.options(Some(&project)),
        )?;
        // As `cargo test` does: what is tested is what the sources say now.
        if options.artifact == project.artifact_output()
            && faas::dev::stale(&project, &options.artifact)
        {
            status(
                "Updating",
                format!(
                    "{} (older than its sources, faas.toml or the policy): build and wrap",
                    options.artifact.display()
                ),
            );
            faas::build::build_project(
                &project,
                faas::build::Profile::Release,
                &project.function_output(),
            )
            .with_context(|| format!("cannot build the function `{}`", project.name()))?;
            faas::wrap::wrap(&faas::wrap::WrapOptions::for_project(&project))
                .with_context(|| format!("cannot wrap the function `{}`", project.name()))?;
        }
        if options.case_files.is_empty() && mode == probes::Mode::Off {
            anyhow::bail!(
                "no request cases: add [[case]] tables to {}/http.toml (docs/testing.md), or \
                 probe the policy with --policy",
                project.root.join("tests").display()
            );
        }
        status(
            "Testing",
            format!(
                "{} with {} case file(s){}",
                options.artifact.display(),
                options.case_files.len(),
                if self.policy {
                    " and the policy's probes"
                } else {
                    ""
                }
            ),
        );
        let report = testing::run(&options)?;
        status(
            "Audited",
            format!("every decision: {}", testing::audit_log(&project).display()),
        );
        if let Some(path) = &self.junit {
            faas::fsutil::write_atomic(path, testing::junit::render(&report).as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        if self.json {
            print_json(&report)?;
        } else {
            print_report(&report);
        }
        match report.ok {
            true => Ok(()),
            false => Err(ExitWith(super::exit::FAILURE).into()),
        }
    }
}

fn print_report(report: &TestReport) {
    for case in &report.cases {
        let verdict = if case.passed { "ok  " } else { "FAIL" };
        println!(
            "{verdict} {} ({}, {}, {:.0} ms)",
            case.name, case.location, case.trigger, case.duration_ms
        );
        for failure in &case.failures {
            println!("       {failure}");
        }
    }
    if let Some(policy) = &report.policy {
        for rule in &policy.rules {
            println!("{}", rule.rule);
            for probe in &rule.probes {
                let verdict = if probe.passed { "ok  " } else { "FAIL" };
                println!(
                    "  {verdict} {} with {}: {}",
                    probe.request, probe.credential, probe.outcome
                );
            }
        }
        for difference in &policy.differences {
            println!("FAIL {difference}");
        }
        match (policy.written, policy.ok) {
            (true, _) => println!(
                "recorded the probes in {}: commit it",
                policy.record.display()
            ),
            (false, false) => println!(
                "the policy's outcomes differ from {}: if the change of access is intended, \
                 run `faas test --policy --update` and commit the file",
                policy.record.display()
            ),
            (false, true) => {}
        }
    }
    println!(
        "{} case(s) passed, {} failed{}",
        report.passed,
        report.failed,
        match &report.policy {
            Some(p) => format!(
                "; {} probe(s), {} differ from the record",
                p.rules.iter().map(|r| r.probes.len()).sum::<usize>(),
                p.differences.len()
            ),
            None => String::new(),
        }
    );
}
