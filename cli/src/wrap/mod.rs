//! `faas wrap`: specialize the security decorator with a policy and compose the function, the
//! decorator and the platform adapter into one artifact.
//!
//! Nothing is compiled here. The policy becomes a tiny generated component (a data segment and one
//! function returning it, encoded with wasm-encoder and wit-component) that exports
//! `faas:function/policy` (and answers the function's denied imports); wac-graph then wires
//!
//! ```text
//! policy ──► decorator ◄── function          policy ──► http adapter ◄── decorator
//! ```
//!
//! (one adapter per trigger: HTTP, messaging, CLI; and `policy ──► verifier ──► decorator` when the
//! policy accepts JWTs, checks webhook signatures or limits rates), satisfies what the policy
//! denies inside (the function's denied imports by the policy component, a verifier's by its deny
//! layer), and
//! exports each adapter's export. The same inputs always give the same bytes:
//! every step is deterministic and nothing depends on time or paths.
//!
//! [`plan`] decides the layers and their wires (pure, and tested against golden plans),
//! [`encode`] is the only code that touches wac-graph, [`assemble`] runs both and checks the result,
//! [`crate::artifact`] records the layers in the artifact; the generated components (policy, deny, seed) come
//! from [`crate::generate`].

mod assemble;
pub mod encode;
pub mod plan;

pub use assemble::{Composed, assemble, assemble_decorated, assemble_http_component};

use crate::artifact::{Layer, read_layers};
use crate::component::CheckError;
use crate::digest;
use crate::fsutil;
use crate::policy::{self, PolicyError};
use crate::project::{Language, Trigger};
use serde::Serialize;
use std::path::PathBuf;

/// What to wrap.
#[derive(Debug, Clone)]
pub struct WrapOptions {
    /// The function component (`target/faas/NAME.function.wasm`).
    pub function: PathBuf,
    /// The policy file.
    pub policy: PathBuf,
    /// Where to write the artifact.
    pub output: PathBuf,
    /// The artifact's name, for reports.
    pub name: String,
    /// The platform the artifact must fit, if any (`wasi-http`, `wasmcloud`); recorded in the
    /// artifact for its provenance.
    pub target: Option<String>,
    /// Whether the caller checks the target itself (`faas pipeline`, in its own stage), so that
    /// wrapping only records it.
    pub target_checked_by_caller: bool,
    /// The triggers: one adapter each.
    pub triggers: Vec<Trigger>,
    /// The function's language, which decides the imports its toolchain adds (see
    /// [`crate::capabilities`]).
    pub language: Language,
    /// The project whose faas.toml and faas.lock declare the function's dependencies, if any.
    pub project_root: Option<PathBuf>,
    /// Whether `function` is a WASI 0.3 HTTP component to put the policy in front of (`faas
    /// wrap --http-component`), rather than a function of the contract.
    pub http_component: bool,
    /// A development artifact of faas dev: the function may import `faas:dev/source`, which only
    /// faas dev's server links (and `faas publish` refuses).
    pub development: bool,
}

impl WrapOptions {
    /// What faas.toml says for `project`: its function output, policy, artifact path, target,
    /// triggers and language (the commands override what their flags set).
    pub fn for_project(project: &crate::project::Project) -> Self {
        let function = &project.file.function;
        Self {
            function: project.function_output(),
            policy: project.policy_path(),
            output: project.artifact_output(),
            name: project.name().to_string(),
            target: function.target.clone(),
            target_checked_by_caller: false,
            triggers: function.triggers.clone(),
            language: function.language,
            project_root: Some(project.root.clone()),
            http_component: false,
            development: false,
        }
    }
}

/// Why wrapping failed.
#[derive(Debug, thiserror::Error)]
pub enum WrapError {
    /// The function component cannot be read.
    #[error("cannot read the function component {}", .path.display())]
    ReadFunction {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The function is not a usable component (the cause follows, as the error's source).
    #[error("{}", .path.display())]
    Function {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: CheckError,
    },
    /// The policy cannot be used.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// Generating the policy component failed (a faas bug, not an input problem).
    #[error("cannot generate the policy component: {0}")]
    PolicyComponent(String),
    /// The composition does not type-check or encode.
    #[error("cannot compose {layer}: {message}")]
    Compose {
        /// The layer being wired (its name in reports), or `the artifact`.
        layer: String,
        /// What wac-graph said.
        message: String,
    },
    /// The composed artifact needs something no layer supplies and no host should.
    #[error("the {layer} imports {import}, which no layer of the artifact supplies{hint}")]
    Unsatisfied {
        /// Which layer imports it.
        layer: &'static str,
        /// The import.
        import: String,
        /// What would fix it.
        hint: &'static str,
    },
    /// The function imports interfaces the policy does not allow.
    #[error("{}", capability_message(.imports, .location))]
    Capabilities {
        /// The refused imports.
        imports: Vec<String>,
        /// Where the policy's `[capabilities]` table is.
        location: Option<String>,
    },
    /// A dependency cannot be used as it is.
    #[error("dependency `{name}`: {message}")]
    Dependency {
        /// The dependency's name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A dependency imports interfaces its own policy table does not allow.
    #[error("{}", dependency_capability_message(.name, .imports, .location))]
    DependencyCapabilities {
        /// The dependency's name.
        name: String,
        /// The refused imports.
        imports: Vec<String>,
        /// Where the policy's `[dependencies.NAME]` table is.
        location: Option<String>,
    },
    /// The dependencies cannot be read as pinned.
    #[error(transparent)]
    Deps(#[from] crate::deps::DepsError),
    /// The project file that declares the dependencies is broken.
    #[error(transparent)]
    Project(#[from] crate::project::ProjectError),
    /// The artifact does not fit the target platform.
    #[error("{}", crate::validate::misfit_message(.target, .problems))]
    Target {
        /// The target.
        target: String,
        /// Every problem.
        problems: Vec<crate::platform::Problem>,
    },
    /// The target name is unknown.
    #[error("{0}")]
    UnknownTarget(String),
    /// The output cannot be written.
    #[error("cannot write {}", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

fn capability_message(imports: &[String], location: &Option<String>) -> String {
    let listed = imports.join(", ");
    let it = if imports.len() == 1 { "it" } else { "them" };
    match location {
        Some(at) => format!(
            "the function imports {listed}, which the policy does not allow ({at}, [capabilities]); \
             add {it} to `allow` there, or remove the import from the function"
        ),
        None => format!(
            "the function imports {listed}, which the policy does not allow (it has no \
             [capabilities] table); grant {it} with [capabilities] allow = [...], or remove the \
             import from the function"
        ),
    }
}

fn dependency_capability_message(
    name: &str,
    imports: &[String],
    location: &Option<String>,
) -> String {
    let listed = imports.join(", ");
    let it = if imports.len() == 1 { "it" } else { "them" };
    let table = match location {
        Some(at) => format!("its table allows no such thing ({at}, [dependencies.{name}])"),
        None => format!("the policy has no [dependencies.{name}] table"),
    };
    format!(
        "dependency `{name}` imports {listed}, and {table}; a dependency gets only what its own \
         table allows, never the function's grants: add {it} to `allow` there, or use another \
         component"
    )
}

/// The policy as placed in the artifact.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyReport {
    /// The policy file.
    pub path: PathBuf,
    /// The digest of the compiled policy document.
    pub digest: String,
    /// A summary for people.
    pub summary: String,
}

/// The result of `faas wrap`.
#[derive(Debug, Clone, Serialize)]
pub struct WrapOutput {
    /// The function's name.
    pub name: String,
    /// The artifact written.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Its digest.
    pub digest: String,
    /// The layers, from the function outwards.
    pub layers: Vec<Layer>,
    /// The policy applied.
    pub policy: PolicyReport,
    /// What the artifact imports from its host.
    pub imports: Vec<String>,
    /// What it exports.
    pub exports: Vec<String>,
}

/// Decorates each faas function among `dependencies` with its own policy (no adapters): what the
/// artifact composes in its place, exporting the decorator's handler.
fn decorate_functions(dependencies: &mut [crate::deps::Resolved]) -> Result<(), WrapError> {
    for dependency in dependencies {
        if let crate::deps::Kind::Function {
            policy, language, ..
        } = &dependency.kind
        {
            dependency.bytes =
                assemble_decorated(&dependency.bytes, policy, *language).map_err(|e| {
                    WrapError::Dependency {
                        name: dependency.name.clone(),
                        message: format!("{:#}", anyhow::Error::from(e)),
                    }
                })?;
        }
    }
    Ok(())
}

/// Wraps a function: reads inputs, composes, validates and writes the artifact atomically. On any
/// error the artifact at `output` is left as it was, the last good one (as cargo keeps the last
/// binary when a build fails): the exit status and the error say this run failed.
pub fn wrap(options: &WrapOptions) -> Result<WrapOutput, WrapError> {
    let write_err = |source| WrapError::Write {
        path: options.output.clone(),
        source,
    };
    let function = std::fs::read(&options.function).map_err(|source| WrapError::ReadFunction {
        path: options.function.clone(),
        source,
    })?;
    let mut policy = policy::load(&options.policy)?;
    if options.development {
        // Granted by faas dev alone: a policy cannot grant it (see `policy::capability`).
        policy
            .capabilities
            .allow
            .push(crate::serve::DevSource::INTERFACE_PATTERN.to_string());
    }
    let mut dependencies = match &options.project_root {
        Some(root) => crate::deps::load(&crate::project::Project::load(root)?)?,
        None => Vec::new(),
    };
    decorate_functions(&mut dependencies)?;
    // The target's world, parsed once: the plan follows its host, the check below its imports.
    let platform = match &options.target {
        Some(name) => {
            Some(crate::platform::Platform::load(name).map_err(WrapError::UnknownTarget)?)
        }
        None => None,
    };
    let composed = match options.http_component {
        true => assemble_http_component(&function, &policy, platform.as_ref()),
        false => assemble(
            &function,
            &policy,
            &options.triggers,
            options.language,
            platform.as_ref(),
            &dependencies,
        ),
    }
    .map_err(|e| match e {
        WrapError::Function { source, .. } => WrapError::Function {
            path: options.function.clone(),
            source,
        },
        other => other,
    })?;
    if let Some(target) = platform
        .as_ref()
        .filter(|_| !options.target_checked_by_caller)
    {
        // The middleware's artifact serves WASI 0.3 HTTP only: say which targets call it.
        if options.http_component && !target.calls(crate::guests::HTTP_HANDLER_P3) {
            return Err(WrapError::UnknownTarget(format!(
                "--http-component makes a WASI 0.3 component (it exports {}), which the {} \
                 target never calls; use --target wasi-http@0.3 or wasmcloud@0.3",
                crate::guests::HTTP_HANDLER_P3,
                target.name
            )));
        }
        let note = read_layers(&composed.bytes);
        let problems = crate::validate::platform_problems(
            target,
            &composed.imports,
            &composed.exports,
            note.as_ref(),
            false,
        );
        if !problems.is_empty() {
            return Err(WrapError::Target {
                target: target.name.clone(),
                problems,
            });
        }
    }
    fsutil::write_atomic(&options.output, &composed.bytes).map_err(write_err)?;
    Ok(WrapOutput {
        name: options.name.clone(),
        path: options.output.clone(),
        size: composed.bytes.len() as u64,
        digest: digest::sha256(&composed.bytes),
        layers: composed.layers,
        policy: PolicyReport {
            path: policy.path.clone(),
            digest: digest::sha256(&policy.document),
            summary: policy.summary(),
        },
        imports: composed.imports,
        exports: composed.exports,
    })
}
