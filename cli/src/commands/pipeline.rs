use super::print_json;
use super::publish_args::PublishFlags;
use super::registry_args::RegistryArgs;
use clap::Args;
use faas::build::Profile;
use faas::oci::Reference;
use faas::pipeline::{self, PipelineOptions, StageReport};
use faas::project::Project;
use std::io::IsTerminal;
use std::path::PathBuf;

/// Run the whole pipeline as one CI step: build → wrap → validate → test → publish → verify.
///
/// Checks its inputs first (the project, the reference and tag, the keys: exit 1 before any stage),
/// then stops at the first failing stage. One status line per stage on stderr; with --json, one
/// report on stdout listing each stage, its duration and outputs. Exit codes: 0 ok, 1 bad input, 2
/// usage, 10 build, 11 policy, 12 validation, 13 publish, 14 verify, 15 test (docs/ci.md). Signs
/// with --key (or FAAS_KEY, or [pipeline] key); publishing unsigned needs --unsigned. Options come
/// from flags, then FAAS_* variables, then faas.toml's [pipeline] and [function] tables.
#[derive(Args)]
#[command(after_help = "Examples:\n  faas pipeline --key faas.key --json\n  \
    FAAS_REGISTRY=registry.example.com/team/hello FAAS_KEY=ci.key faas pipeline --target wasmcloud")]
pub struct PipelineArgs {
    /// Where to publish: host[:port]/repository[:tag] or oci:PATH[:tag] (default: faas.toml's
    /// [pipeline] registry, else oci:target/faas/oci).
    #[arg(long, value_name = "REF", env = "FAAS_REGISTRY")]
    registry: Option<String>,

    /// Verify with this public key (default: the signing key's own).
    #[arg(long, value_name = "FILE", env = "FAAS_PUBLIC_KEY")]
    public_key: Option<PathBuf>,

    /// The policy (default: faas.toml's).
    #[arg(long, value_name = "FILE", env = "FAAS_POLICY")]
    policy: Option<PathBuf>,

    /// The platform to validate against (default: faas.toml's target).
    #[arg(long, value_name = "NAME", env = "FAAS_TARGET", value_parser = clap::builder::PossibleValuesParser::new(faas::platform::NAMES))]
    target: Option<String>,

    /// Build with cargo's dev profile.
    #[arg(long)]
    debug: bool,

    #[command(flatten)]
    publishing: PublishFlags,

    #[command(flatten)]
    project: super::project_args::ProjectDir,

    #[command(flatten)]
    registry_args: RegistryArgs,

    /// Publish without a signature (refused otherwise when no key is given).
    #[arg(long)]
    unsigned: bool,

    /// Print the report as one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

impl PipelineArgs {
    pub fn run(self) -> anyhow::Result<()> {
        let start = self.project.start();
        // Every input is checked before the first stage: a typo costs no build.
        let project = Project::find(&start)?;
        let defaults = project.file.pipeline.clone();
        let reference = match self.registry.clone().or(defaults.registry.clone()) {
            Some(reference) => Reference::parse(&reference)?,
            None => Reference::project_layout(&project),
        };
        let tag = faas::oci::publish_tag(
            reference.selector(),
            self.publishing.tag.as_deref(),
            Some(project.file.function.version.to_string()),
            self.publishing.allow_latest,
        )
        .map_err(anyhow::Error::msg)?;
        let in_project = |p: PathBuf| {
            if p.is_absolute() {
                p
            } else {
                project.root.join(p)
            }
        };
        let key = self.publishing.key.clone().or(defaults.key.map(in_project));
        let key_password = match &key {
            Some(path) => {
                let password = super::keygen::key_password_for(path)?;
                // The key reads (and decrypts) now, not after the build and the tests.
                faas::sign::PrivateKey::read(path, password.as_deref())?;
                password
            }
            None if self.unsigned => None,
            None => anyhow::bail!(
                "no signing key: give --key FILE (or FAAS_KEY, or [pipeline] key in faas.toml), or \
                 --unsigned to publish without a signature"
            ),
        };
        let public_key = self
            .public_key
            .clone()
            .or(defaults.public_key.map(in_project));
        if let Some(path) = &public_key {
            faas::sign::PublicKey::read(path)?;
        }
        let options = PipelineOptions {
            profile: if self.debug {
                Profile::Debug
            } else {
                Profile::Release
            },
            policy: self.policy.clone().unwrap_or_else(|| project.policy_path()),
            triggers: project.file.function.triggers.clone(),
            target: self
                .target
                .clone()
                .or_else(|| project.file.function.target.clone()),
            connection: self.registry_args.connection(&reference)?,
            reference,
            tag,
            key,
            key_password,
            public_key,
            source: self.publishing.source.clone(),
            revision: self.publishing.revision.clone(),
            project,
        };
        let painter = Painter::for_stderr();
        let report = pipeline::run(&options, &mut |stage| painter.line(stage));
        if self.json {
            print_json(&report)?;
        }
        if report.ok {
            Ok(())
        } else {
            Err(super::ExitWith(report.exit_code).into())
        }
    }
}

/// Status lines on stderr, coloured only on a terminal and only without NO_COLOR.
struct Painter {
    color: bool,
}

impl Painter {
    fn for_stderr() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Painter {
            color: std::io::stderr().is_terminal() && !no_color,
        }
    }

    fn line(&self, stage: &StageReport) {
        let name = serde_json::to_value(stage.stage).unwrap_or_default();
        let name = name.as_str().unwrap_or("");
        let (code, status) = match stage.status {
            "ok" => ("32", "ok"),
            "skipped" => ("33", "skipped"),
            _ => ("31", "FAILED"),
        };
        let status = if self.color {
            format!("\x1b[{code}m{status}\x1b[0m")
        } else {
            status.to_string()
        };
        let detail = stage
            .message
            .clone()
            .or_else(|| summary(&stage.outputs))
            .unwrap_or_default();
        eprintln!("{name:>12} {status} ({:.0} ms) {detail}", stage.duration_ms);
    }
}

fn summary(outputs: &serde_json::Value) -> Option<String> {
    ["reference", "path", "manifest_digest", "target"]
        .iter()
        .find_map(|key| {
            outputs
                .get(key)
                .and_then(|v| v.as_str())
                .map(str::to_string)
        })
}
