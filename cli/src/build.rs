//! `faas build`: compile a function into a component and check it against the contract.
//!
//! Rust functions are compiled by cargo for `wasm32-wasip2`, whose linker emits a component
//! directly; Python and JavaScript functions by their componentize tools ([`crate::toolchains`]). Components from other toolchains enter through [`accept_component`]; both paths end in
//! the same checks ([`crate::component`]) and the same output file.

use crate::artifact::BuiltFrom;
use crate::component::{self, CheckError, HandlerExport, Origin};
use crate::digest;
use crate::fsutil;
use crate::packages;
use crate::project::{Language, Project};
use crate::toolchains::{Toolchain, ToolchainError};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The Rust target faas compiles functions for.
pub use crate::contract::RUST_TARGET;

/// Which cargo profile to build with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `--release`: small and fast, the default.
    Release,
    /// The dev profile: faster to compile, larger and slower to run.
    Debug,
}

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The Rust target is not installed in the toolchain the project uses.
    #[error(
        "the Rust target {RUST_TARGET} is not installed (toolchain sysroot {}); install it with `rustup target add {RUST_TARGET}`",
        .sysroot.display()
    )]
    TargetMissing {
        /// The sysroot that lacks the target.
        sysroot: PathBuf,
    },
    /// A tool could not be started.
    #[error("cannot run `{tool}`; is the Rust toolchain installed (https://rustup.rs)?")]
    ToolMissing {
        /// The program.
        tool: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// cargo reported a failure (its own output has already been shown).
    #[error(
        "cargo build failed with {status}{} (see cargo's output above)",
        first_error.as_ref().map(|e| format!(": {e}")).unwrap_or_default()
    )]
    Cargo {
        /// cargo's exit status, passed on as faas's own.
        status: std::process::ExitStatus,
        /// Where the first compile error is, for a report that has only one line.
        first_error: Option<CompileError>,
    },
    /// cargo succeeded but named no `.wasm` output.
    #[error(
        "cargo built no .wasm file for {package}; does Cargo.toml have `[lib] crate-type = [\"cdylib\"]`?"
    )]
    NoArtifact {
        /// The package built.
        package: String,
    },
    /// The input file could not be read.
    #[error("cannot read {}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The output could not be written.
    #[error("cannot write {}", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// cargo's dev profile was asked for a function that cargo does not build.
    #[error(
        "--debug selects cargo's dev profile and applies to Rust functions only; this function's \
         language is {language}"
    )]
    DebugProfile {
        /// The function's language.
        language: &'static str,
    },
    /// The crates of a built Rust function could not be listed (for its SBOM).
    #[error("cannot list the crates the function links: {0}")]
    Packages(String),
    /// A Python or JavaScript build failed.
    #[error(transparent)]
    Toolchain(#[from] ToolchainError),
    /// The compiled or supplied file is not a function component.
    // The cause follows in the error chain: said once.
    #[error("{}", .path.display())]
    Check {
        /// The file checked.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: CheckError,
    },
}

impl BuildError {
    /// The exit status faas should end with: cargo's own for a compile failure, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            BuildError::Cargo { status, .. } => status.code().unwrap_or(crate::exit::FAILURE),
            _ => crate::exit::FAILURE,
        }
    }
}

/// The result of a build.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BuildOutput {
    /// The function's name.
    pub name: String,
    /// The component written.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Its `sha256:` digest.
    pub digest: String,
    /// What the input was (a component, or a core module made into one).
    pub origin: Origin,
    /// The contract export found.
    pub handler: HandlerExport,
    /// The component's imports, for the capability review.
    pub imports: Vec<String>,
    /// What made the component (`wasm32-wasip2, release`, `componentize-py 0.25.1`); `None` for a
    /// component adopted with `--component`.
    pub toolchain: Option<String>,
}

/// How a function in `language` is built, for status lines and reports:
/// `cargo, wasm32-wasip2, release` or `componentize-py 0.25.1`.
pub fn describe_toolchain(language: Language, profile: Profile) -> String {
    match Toolchain::for_language(language) {
        Some(toolchain) => format!("{} {}", toolchain.tool(), toolchain.version()),
        None => format!("cargo, {RUST_TARGET}, {}", profile.name()),
    }
}

impl Profile {
    fn name(self) -> &'static str {
        match self {
            Profile::Release => "release",
            Profile::Debug => "debug",
        }
    }
}

/// Compiles the project's function and writes it to `output` (normally
/// [`Project::function_output`], `target/faas/NAME.function.wasm`).
pub fn build_project(
    project: &Project,
    profile: Profile,
    output: &Path,
) -> Result<BuildOutput, BuildError> {
    let language = project.file.function.language;
    let toolchain = Toolchain::for_language(language);
    if profile == Profile::Debug && toolchain.is_some() {
        return Err(BuildError::DebugProfile {
            language: language.name(),
        });
    }
    // A failed build must not leave the previous component looking like this build's result.
    fsutil::remove_stale(output).map_err(|source| BuildError::Write {
        path: output.to_path_buf(),
        source,
    })?;
    let described = describe_toolchain(language, profile);
    let (input, bytes, built_from) = match toolchain {
        None => {
            let wasm = cargo_build(&project.root, profile)?;
            let bytes = std::fs::read(&wasm).map_err(|source| BuildError::Read {
                path: wasm.clone(),
                source,
            })?;
            let built_from = BuiltFrom {
                toolchain: Some(match packages::rustc_version(&project.root) {
                    Some(rustc) => format!("{rustc}, {RUST_TARGET}, {}", profile.name()),
                    None => described.clone(),
                }),
                packages: packages::rust_project(&project.root).map_err(BuildError::Packages)?,
            };
            (wasm, bytes, built_from)
        }
        Some(toolchain) => {
            let (input, bytes) = componentize(project, toolchain, output)?;
            let built_from = BuiltFrom {
                toolchain: Some(described.clone()),
                packages: match toolchain {
                    Toolchain::Python => packages::python_environment(&project.root),
                    Toolchain::Javascript => packages::javascript_project(&project.root),
                },
            };
            (input, bytes, built_from)
        }
    };
    let mut built = check_and_write(
        project.name().as_str(),
        &input,
        &bytes,
        Some(&built_from),
        output,
    )?;
    built.toolchain = Some(described);
    Ok(built)
}

/// Builds a Python or JavaScript function with its componentize tool into a temporary file beside
/// `output`; returns the entry point (for messages) and the component's bytes.
fn componentize(
    project: &Project,
    toolchain: Toolchain,
    output: &Path,
) -> Result<(PathBuf, Vec<u8>), BuildError> {
    let write_err = |source| BuildError::Write {
        path: output.to_path_buf(),
        source,
    };
    let dir = output.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(write_err)?;
    let scratch = tempfile::Builder::new()
        .prefix(".faas-build-")
        .suffix(".wasm")
        .tempfile_in(dir)
        .map_err(write_err)?;
    // Removed on Ctrl-C too, not only when dropped.
    let _interrupted = crate::interrupt::TempFile::register(scratch.path());
    toolchain.build(&project.root, scratch.path())?;
    let bytes = std::fs::read(scratch.path()).map_err(|source| BuildError::Read {
        path: scratch.path().to_path_buf(),
        source,
    })?;
    Ok((project.root.join(toolchain.source_file()), bytes))
}

/// Checks a component made by another toolchain (or a core module with component-type metadata,
/// which is encoded into a component) and writes it to `output`.
pub fn accept_component(
    name: &str,
    input: &Path,
    output: &Path,
) -> Result<BuildOutput, BuildError> {
    fsutil::remove_stale(output).map_err(|source| BuildError::Write {
        path: output.to_path_buf(),
        source,
    })?;
    let bytes = std::fs::read(input).map_err(|source| BuildError::Read {
        path: input.to_path_buf(),
        source,
    })?;
    check_and_write(name, input, &bytes, None, output)
}

/// Checks the component and writes it, with what it was built from recorded in it (for the SBOM
/// of the artifacts made from it) when that is known.
fn check_and_write(
    name: &str,
    input: &Path,
    bytes: &[u8],
    built_from: Option<&BuiltFrom>,
    output: &Path,
) -> Result<BuildOutput, BuildError> {
    let check_err = |source| BuildError::Check {
        path: input.to_path_buf(),
        source,
    };
    let inspection = component::inspect(bytes).map_err(check_err)?;
    let handler = inspection.check_function().map_err(check_err)?;
    let mut component = inspection.component;
    if let Some(built_from) = built_from {
        packages::record(&mut component, built_from);
    }
    fsutil::write_atomic(output, &component).map_err(|source| BuildError::Write {
        path: output.to_path_buf(),
        source,
    })?;
    Ok(BuildOutput {
        name: name.to_string(),
        path: output.to_path_buf(),
        size: component.len() as u64,
        digest: digest::sha256(&component),
        origin: inspection.origin,
        handler,
        imports: inspection.imports,
        toolchain: None,
    })
}

/// Runs cargo for the wasm32-wasip2 target in `root` and returns the `.wasm` it produced.
fn cargo_build(root: &Path, profile: Profile) -> Result<PathBuf, BuildError> {
    ensure_target_installed(root)?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut command = Command::new(&cargo);
    command
        .current_dir(root)
        .args(["build", "--target", RUST_TARGET])
        // Machine-readable messages on stdout tell us the output file and where each diagnostic
        // is; faas shows each diagnostic as rustc rendered it (in colour on a terminal), and
        // cargo's own lines reach stderr unchanged.
        .arg(match crate::report::stderr_is_terminal() {
            true => "--message-format=json-diagnostic-rendered-ansi",
            false => "--message-format=json",
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if profile == Profile::Release {
        command.arg("--release");
    }
    tracing::debug!(?command, "running cargo");
    let missing = |source| BuildError::ToolMissing {
        tool: cargo.clone(),
        source,
    };
    let mut running = crate::interrupt::Running::spawn(&mut command).map_err(missing)?;
    let mut messages = Vec::new();
    if let Some(stdout) = running.child.stdout.take() {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .split(b'\n')
            .map_while(Result::ok)
        {
            if let Ok(message) = serde_json::from_slice::<serde_json::Value>(&line)
                && message["reason"] == "compiler-message"
                && let Some(rendered) = message["message"]["rendered"].as_str()
            {
                crate::report::tool_output(rendered);
            }
            messages.extend_from_slice(&line);
            messages.push(b'\n');
        }
    }
    let status = running.wait().map_err(missing)?;
    if !status.success() {
        return Err(BuildError::Cargo {
            status,
            first_error: first_compile_error(&messages),
        });
    }
    let manifest = std::fs::canonicalize(root.join("Cargo.toml")).unwrap_or_default();
    wasm_artifact(&messages, &manifest).ok_or_else(|| BuildError::NoArtifact {
        package: root.display().to_string(),
    })
}

/// A compile error's place and message, from the compiler's own diagnostic.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CompileError {
    /// The file, as the compiler names it (relative to the project).
    pub file: String,
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
    /// The compiler's message.
    pub message: String,
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// The first error among cargo's JSON messages (`compiler-message` of level `error`), at its
/// primary span.
fn first_compile_error(messages: &[u8]) -> Option<CompileError> {
    messages
        .split(|b| *b == b'\n')
        .filter_map(|line| serde_json::from_slice::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-message" && m["message"]["level"] == "error")
        .find_map(|m| {
            let message = &m["message"];
            let span = message["spans"]
                .as_array()?
                .iter()
                .find(|s| s["is_primary"] == true)?;
            Some(CompileError {
                file: span["file_name"].as_str()?.to_string(),
                line: span["line_start"].as_u64()?,
                column: span["column_start"].as_u64()?,
                message: message["message"].as_str()?.to_string(),
            })
        })
}

/// Finds, among cargo's JSON messages, the `.wasm` file of the package whose manifest is `manifest`.
fn wasm_artifact(messages: &[u8], manifest: &Path) -> Option<PathBuf> {
    let mut found = None;
    for line in messages.split(|b| *b == b'\n') {
        let Ok(message) = serde_json::from_slice::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        let from_this_package = message["manifest_path"]
            .as_str()
            .is_some_and(|p| Path::new(p) == manifest);
        if !from_this_package {
            continue;
        }
        let files = message["filenames"].as_array().into_iter().flatten();
        for file in files.filter_map(|f| f.as_str()) {
            if file.ends_with(".wasm") {
                found = Some(PathBuf::from(file));
            }
        }
    }
    found
}

/// Checks that the toolchain cargo will use in `root` has the wasm32-wasip2 standard library.
fn ensure_target_installed(root: &Path) -> Result<(), BuildError> {
    // Ask rustc from the project folder so a rust-toolchain.toml there is honoured, as cargo will.
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let output = Command::new(&rustc)
        .current_dir(root)
        .args(["--print", "sysroot"])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|source| BuildError::ToolMissing {
            tool: rustc.clone(),
            source,
        })?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    if sysroot_has_target(&sysroot) {
        Ok(())
    } else {
        Err(BuildError::TargetMissing { sysroot })
    }
}

fn sysroot_has_target(sysroot: &Path) -> bool {
    sysroot.join("lib/rustlib").join(RUST_TARGET).is_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_artifact_of_the_right_package_is_chosen() {
        let messages = br#"{"reason":"compiler-artifact","manifest_path":"/dep/Cargo.toml","filenames":["/t/dep.wasm"]}
{"reason":"compiler-artifact","manifest_path":"/fn/Cargo.toml","filenames":["/t/libfn.rlib","/t/fn.wasm"]}
not json
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            wasm_artifact(messages, Path::new("/fn/Cargo.toml")),
            Some(PathBuf::from("/t/fn.wasm"))
        );
        assert_eq!(
            wasm_artifact(messages, Path::new("/other/Cargo.toml")),
            None
        );
    }

    #[test]
    fn an_empty_sysroot_lacks_the_target() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!sysroot_has_target(dir.path()));
        std::fs::create_dir_all(dir.path().join("lib/rustlib/wasm32-wasip2")).unwrap();
        assert!(sysroot_has_target(dir.path()));
    }
}
