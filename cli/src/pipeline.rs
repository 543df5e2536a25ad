//! `faas pipeline`: build → wrap → validate → test → publish → verify, as one CI step.
//!
//! Each stage runs the same library function as its command. The run stops at the first failing
//! stage; the report lists every stage with its duration and outputs, and the exit code says which
//! kind of failure it was (documented in docs/ci.md).

use crate::build::{self, Profile};
use crate::oci::registry::Connection;
use crate::oci::{Reference, Selector};
use crate::platform;
use crate::project::{Project, Trigger};
use crate::publish::{self, PublishOptions};
use crate::sign::{PrivateKey, PublicKey};
use crate::wrap::{self, WrapError, WrapOptions};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// The exit statuses per failing stage, from the one table.
pub use crate::exit;

/// The stages, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// `faas build`.
    Build,
    /// `faas wrap`.
    Wrap,
    /// `faas validate --target`.
    Validate,
    /// `faas test` (with the policy's probes when the project has their record).
    Test,
    /// `faas publish`.
    Publish,
    /// `faas verify`.
    Verify,
}

/// What happened in one stage.
#[derive(Debug, Clone, Serialize)]
pub struct StageReport {
    /// The stage.
    pub stage: Stage,
    /// `ok`, `failed` or `skipped`.
    pub status: &'static str,
    /// Wall-clock time, in milliseconds.
    pub duration_ms: f64,
    /// The stage's outputs (paths, digests, references), as its command's `--json` prints them.
    pub outputs: serde_json::Value,
    /// Why it failed, or why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineReport {
    /// Whether every stage passed (or was skipped).
    pub ok: bool,
    /// The process exit code.
    pub exit_code: i32,
    /// The function.
    pub function: String,
    /// The stages run, in order.
    pub stages: Vec<StageReport>,
}

/// What the pipeline needs; every value already resolved from flags, environment and faas.toml.
pub struct PipelineOptions {
    /// The function folder.
    pub project: Project,
    /// The cargo profile.
    pub profile: Profile,
    /// The policy file.
    pub policy: PathBuf,
    /// The triggers.
    pub triggers: Vec<Trigger>,
    /// The target platform, if any.
    pub target: Option<String>,
    /// Where to publish.
    pub reference: Reference,
    /// The tag.
    pub tag: String,
    /// The signing key (its public half verifies), if any.
    pub key: Option<PathBuf>,
    /// The key's password.
    pub key_password: Option<Vec<u8>>,
    /// A public key to verify with instead of the signing key's own.
    pub public_key: Option<PathBuf>,
    /// Registry access.
    pub connection: Connection,
    /// `org.opencontainers.image.source`.
    pub source: Option<String>,
    /// `org.opencontainers.image.revision`.
    pub revision: Option<String>,
}

/// Runs the stages, calling `progress` after each.
pub fn run(options: &PipelineOptions, progress: &mut dyn FnMut(&StageReport)) -> PipelineReport {
    let mut report = PipelineReport {
        ok: true,
        exit_code: 0,
        function: options.project.name().to_string(),
        stages: Vec::new(),
    };
    let function_path = options.project.function_output();
    let artifact = options.project.artifact_output();
    let started = Instant::now();
    if !record(
        &mut report,
        progress,
        Stage::Build,
        started,
        build_stage(options, &function_path),
    ) {
        return report;
    }
    let started = Instant::now();
    let result = wrap_stage(options, function_path, &artifact);
    if !record(&mut report, progress, Stage::Wrap, started, result) {
        return report;
    }
    let started = Instant::now();
    let result = validate(&artifact, options.target.as_deref());
    if !record(&mut report, progress, Stage::Validate, started, result) {
        return report;
    }
    let started = Instant::now();
    match test_stage(options) {
        None => skip(&mut report, Stage::Test, NO_TESTS, progress),
        Some(result) => {
            if !record(&mut report, progress, Stage::Test, started, result) {
                return report;
            }
        }
    }
    let started = Instant::now();
    let (result, digest, public) = publish_stage(options, &artifact);
    if !record(&mut report, progress, Stage::Publish, started, result) {
        return report;
    }
    let started = Instant::now();
    let Some(public) = public else {
        let why = "no key: the artifact was published unsigned";
        skip(&mut report, Stage::Verify, why, progress);
        return report;
    };
    let result = verify_stage(options, digest.unwrap_or_default(), public);
    record(&mut report, progress, Stage::Verify, started, result);
    report
}

/// Adds a run stage's outcome to the report; whether the run goes on.
fn record(
    report: &mut PipelineReport,
    progress: &mut dyn FnMut(&StageReport),
    stage: Stage,
    started: Instant,
    result: StageResult,
) -> bool {
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    let entry = match result {
        Ok(outputs) => StageReport {
            stage,
            status: "ok",
            duration_ms,
            outputs,
            message: None,
        },
        Err((code, message)) => {
            report.ok = false;
            report.exit_code = code;
            StageReport {
                stage,
                status: "failed",
                duration_ms,
                outputs: serde_json::Value::Null,
                message: Some(message),
            }
        }
    };
    progress(&entry);
    report.stages.push(entry);
    report.ok
}

const NO_TESTS: &str = "no request cases in tests/ and no tests/policy.toml";

fn skip(
    report: &mut PipelineReport,
    stage: Stage,
    why: &str,
    progress: &mut dyn FnMut(&StageReport),
) {
    let entry = StageReport {
        stage,
        status: "skipped",
        duration_ms: 0.0,
        outputs: serde_json::Value::Null,
        message: Some(why.into()),
    };
    progress(&entry);
    report.stages.push(entry);
}

/// The test stage: the project's request cases, and its policy probes when their record exists
/// (the record is never written here: CI checks, people record). `None` when there is nothing to
/// run.
fn test_stage(options: &PipelineOptions) -> Option<StageResult> {
    let project = &options.project;
    let record = project
        .root
        .join("tests")
        .join(crate::testing::cases::POLICY_RECORD);
    let probes = match record.exists() {
        true => crate::testing::probes::Mode::Check,
        false => crate::testing::probes::Mode::Off,
    };
    let engine = crate::serve::EngineOptions {
        cache: crate::serve::default_cache_dir(),
        ..Default::default()
    };
    let fail = |message: String| (exit::TEST, message);
    let test_options =
        match crate::testing::project_options(project, &options.policy, Vec::new(), probes, engine)
        {
            Ok(test_options) => test_options,
            Err(e) => return Some(Err(fail(e.to_string()))),
        };
    if test_options.case_files.is_empty() && probes == crate::testing::probes::Mode::Off {
        return None;
    }
    Some(match crate::testing::run(&test_options) {
        Err(e) => Err(fail(e.to_string())),
        Ok(report) if report.ok => Ok(to_json(&report)),
        Ok(report) => {
            let mut failures: Vec<String> = report
                .cases
                .iter()
                .filter(|c| !c.passed)
                .map(|c| format!("{} ({}): {}", c.name, c.location, c.failures.join("; ")))
                .collect();
            failures.extend(report.policy.iter().flat_map(|p| p.differences.clone()));
            Err(fail(format!(
                "{} failed: {}",
                failures.len(),
                failures.join("; ")
            )))
        }
    })
}

/// A stage's outcome: its outputs, or the exit status and message of its failure.
type StageResult = Result<serde_json::Value, (i32, String)>;

fn build_stage(options: &PipelineOptions, function_path: &std::path::Path) -> StageResult {
    build::build_project(&options.project, options.profile, function_path)
        .map(|built| to_json(&built))
        .map_err(|e| (exit::BUILD, format!("{:#}", anyhow::Error::from(e))))
}

fn wrap_stage(
    options: &PipelineOptions,
    function: PathBuf,
    artifact: &std::path::Path,
) -> StageResult {
    let wrap_options = WrapOptions {
        function,
        policy: options.policy.clone(),
        output: artifact.to_path_buf(),
        // Recorded for the provenance; checked in the validate stage, with its own exit code.
        target: options.target.clone(),
        target_checked_by_caller: true,
        triggers: options.triggers.clone(),
        ..WrapOptions::for_project(&options.project)
    };
    wrap::wrap(&wrap_options).map(|w| to_json(&w)).map_err(|e| {
        let code = match e {
            WrapError::Policy(_) => exit::POLICY,
            _ => exit::VALIDATION,
        };
        (code, format!("{:#}", anyhow::Error::from(e)))
    })
}

/// Publishes (signed when there is a key); also returns the manifest digest and the public key to
/// verify with, if any.
fn publish_stage(
    options: &PipelineOptions,
    artifact: &std::path::Path,
) -> (
    StageResult,
    Option<String>,
    Option<Result<PublicKey, String>>,
) {
    let key = match &options.key {
        Some(path) => match PrivateKey::read(path, options.key_password.as_deref()) {
            Ok(key) => Some(key),
            Err(e) => return (Err((exit::PUBLISH, chain(e))), None, None),
        },
        None => None,
    };
    let public = match (&options.public_key, &key) {
        (Some(path), _) => Some(PublicKey::read(path).map_err(chain)),
        (None, Some(key)) => Some(Ok(key.public_key())),
        (None, None) => None,
    };
    let publish_options = PublishOptions::new(
        artifact.to_path_buf(),
        options.reference.clone(),
        options.tag.clone(),
        key,
        options.connection.clone(),
        publish::Provenance {
            project: Some(&options.project),
            source: options.source.clone(),
            revision: options.revision.clone(),
        },
    );
    let published = publish::publish(&publish_options);
    if let Ok(record) = &published
        && let Err(e) = publish::remember(&options.project, record)
    {
        tracing::warn!("cannot record the publish for faas deploy: {e}");
    }
    let digest = published.as_ref().ok().map(|p| p.manifest_digest.clone());
    let result = published
        .map(|p| to_json(&p))
        .map_err(|e| (exit::PUBLISH, format!("{:#}", anyhow::Error::from(e))));
    (result, digest, public)
}

/// Verifies the published manifest `digest` (never the tag) with `public`, and the attestations
/// publishing attached with the signature.
fn verify_stage(
    options: &PipelineOptions,
    digest: String,
    public: Result<PublicKey, String>,
) -> StageResult {
    let public = public.map_err(|e| (exit::VERIFY, e))?;
    let pinned = options.reference.with_selector(Selector::Digest(digest));
    let mut store =
        publish::open_store(&pinned, &options.connection).map_err(|e| (exit::VERIFY, chain(e)))?;
    publish::verify(store.as_mut(), &pinned, &public, true)
        .map(|v| to_json(&v))
        .map_err(|e| (exit::VERIFY, chain(e)))
}

/// An error and its causes, on one line, as the command line prints them.
fn chain(e: impl std::error::Error + Send + Sync + 'static) -> String {
    format!("{:#}", anyhow::Error::from(e))
}

/// The validate stage: the artifact decodes, exports what its triggers need, and fits the target.
fn validate(
    artifact: &std::path::Path,
    target: Option<&str>,
) -> Result<serde_json::Value, (i32, String)> {
    let fail = |m: String| (exit::VALIDATION, m);
    let bytes =
        std::fs::read(artifact).map_err(|e| fail(format!("{}: {e}", artifact.display())))?;
    let inspection = crate::component::inspect(&bytes).map_err(|e| fail(e.to_string()))?;
    let Some(name) = target else {
        return Ok(
            serde_json::json!({ "target": null, "exports": inspection.exports, "imports": inspection.imports }),
        );
    };
    let target = platform::Platform::load(name).map_err(fail)?;
    let note = crate::artifact::read_layers(&bytes);
    let problems = crate::validate::platform_problems(
        &target,
        &inspection.imports,
        &inspection.exports,
        note.as_ref(),
        false,
    );
    if problems.is_empty() {
        Ok(
            serde_json::json!({ "target": name, "exports": inspection.exports, "imports": inspection.imports }),
        )
    } else {
        Err(fail(crate::validate::misfit_message(name, &problems)))
    }
}

fn to_json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}
