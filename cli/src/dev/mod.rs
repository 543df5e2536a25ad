//! `faas dev`: build, wrap and serve a project, then rebuild, re-wrap and swap the served artifact
//! whenever its sources, `faas.toml` or its policy change, without dropping the listener or a
//! request in flight ([`crate::serve::Live`]). A failed build or policy keeps the last good
//! version serving.
//!
//! A Python or JavaScript function is served through a development artifact whose stand-in reads
//! the function's source at instance start ([`interpreted`]): a save of its source is checked and
//! served by the next request, without a rebuild; other changes rebuild the stand-in.
//!
//! Changes are found by polling file times and sizes (a few hundred files, every 250 ms): it works
//! the same on every file system, containers and network mounts included, where change
//! notifications often do not arrive.

mod interpreted;
pub mod javascript;

use crate::build::{self, Profile};
use crate::project::Project;
use crate::serve::{Compiler, DevSource, EngineOptions, Live, Server, SourceFiles};
use crate::toolchains::Toolchain;
use crate::wrap::{self, WrapOptions};
use interpreted::{Source, StandIn};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// How often the project is looked at.
const POLL: Duration = Duration::from_millis(250);
/// How long the files must stay unchanged before a rebuild starts: an editor's save is often
/// several writes.
const SETTLE: Duration = Duration::from_millis(150);

/// Folders never watched: build outputs, installed tools and dependencies, version control, and
/// the request cases of `faas test`, none of which change the artifact.
const IGNORED_DIRS: &[&str] = &["target", "node_modules", "__pycache__", "tests"];
/// Files never watched: lock files the build itself may rewrite.
const IGNORED_FILES: &[&str] = &["Cargo.lock", "package-lock.json"];

/// What `faas dev` needs.
pub struct DevOptions {
    /// The project.
    pub project: Project,
    /// The cargo profile for Rust functions.
    pub profile: Profile,
    /// The engine and its limits.
    pub engine: EngineOptions,
    /// Run-time configuration values.
    pub config: Vec<(String, String)>,
    /// `wasmcloud:secrets` values (WASI 0.3 artifacts).
    pub secrets: Vec<(String, String)>,
    /// Build a Python or JavaScript function with its componentize tool on every save, as `faas
    /// build` does, rather than serve its source through a development artifact.
    pub build_each_save: bool,
}

/// What a reload does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reload {
    /// Build (the function, or a Python or JavaScript function's stand-in), wrap and load.
    Build,
    /// Only the policy changed: wrap and load.
    Policy,
    /// Only a Python or JavaScript function's source changed: check it and hand it to the
    /// development artifact already served.
    Source,
}

/// What happened, for status lines and `--json`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    /// Serving a new version.
    Reloaded {
        /// The files whose change caused it (none for the first build).
        changed: Vec<String>,
        /// What was done.
        reload: Reload,
        /// Whether the function was rebuilt (a policy change only re-wraps; a source change of
        /// a development artifact neither builds nor wraps).
        rebuilt: bool,
        /// The served artifact's digest (a development artifact's, unchanged by a source save).
        digest: String,
        /// Whether the artifact is a development artifact whose stand-in reads the function's
        /// source from faas dev (Python and JavaScript functions).
        development: bool,
        /// How long building, wrapping and loading took, in milliseconds.
        build_ms: f64,
        /// Wrapping.
        wrap_ms: f64,
        /// Compiling and loading into the server.
        load_ms: f64,
        /// The compiler that made the served code: `Winch` unless the artifact needs what only
        /// Cranelift compiles, or `--cranelift` asked for it.
        compiler: String,
    },
    /// A build, wrap or load failed; the last good version (if any) keeps serving.
    Failed {
        /// The files whose change caused it.
        changed: Vec<String>,
        /// `project` (faas.toml), `build`, `wrap` or `load`.
        stage: &'static str,
        /// What went wrong.
        message: String,
    },
}

/// The watched files: path (relative to the project) → modification time and size.
type Snapshot = BTreeMap<PathBuf, (SystemTime, u64)>;

/// Every watched file under `root`.
fn snapshot(root: &Path) -> Snapshot {
    let mut files = Snapshot::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            // Hidden files and folders: .git, .venv, editors' swap and backup files.
            if name.starts_with('.') || name.ends_with('~') {
                continue;
            }
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if !IGNORED_DIRS.contains(&name.as_ref()) {
                    pending.push(entry.path());
                }
            } else if !IGNORED_FILES.contains(&name.as_ref())
                && let Ok(metadata) = entry.metadata()
            {
                let modified = metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                let relative = entry
                    .path()
                    .strip_prefix(root)
                    .unwrap_or(&entry.path())
                    .to_path_buf();
                files.insert(relative, (modified, metadata.len()));
            }
        }
    }
    files
}

/// Whether the artifact at `artifact` is missing or older than anything it is made from: the
/// files `faas dev` watches (sources, faas.toml, WIT, pins) and the policy, wherever it is. What
/// `faas test` checks before it runs, as `cargo test` rebuilds first.
pub fn stale(project: &Project, artifact: &Path) -> bool {
    let Ok(built) = std::fs::metadata(artifact).and_then(|m| m.modified()) else {
        return true;
    };
    let policy = std::fs::metadata(project.policy_path()).and_then(|m| m.modified());
    snapshot(&project.root)
        .values()
        .map(|(modified, _)| *modified)
        .chain(policy.ok())
        .any(|modified| modified > built)
}

/// The files added, removed or changed between two snapshots.
fn changes(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    let mut changed: Vec<String> = after
        .iter()
        .filter(|(path, stamp)| before.get(*path) != Some(stamp))
        .map(|(path, _)| path.display().to_string())
        .collect();
    changed.extend(
        before
            .keys()
            .filter(|path| !after.contains_key(*path))
            .map(|path| path.display().to_string()),
    );
    changed.sort();
    changed
}

/// What the watch loop keeps between reloads: the stand-in served, if any, and the last
/// artifact's digest.
#[derive(Default)]
struct Served {
    stand_in: Option<StandIn>,
    digest: String,
}

/// Reads `faas.toml` again (a change to its triggers, target or policy applies at once), then does
/// what `reload` says; on success `live` serves the new version.
fn reload(
    options: &DevOptions,
    live: &Live,
    served: &mut Served,
    changed: Vec<String>,
    mut reload: Reload,
) -> Event {
    let failed = |stage, message: String, changed| Event::Failed {
        changed,
        stage,
        message,
    };
    let project = match Project::load(&options.project.root) {
        Ok(project) => project,
        Err(e) => return failed("project", e.to_string(), changed),
    };
    let project = &project;
    let toolchain = Toolchain::for_language(project.file.function.language)
        .filter(|_| !options.build_each_save);
    let started = Instant::now();
    // Between a save and `Reloaded`: what is being done (a Python or JavaScript build takes
    // seconds).
    if !changed.is_empty() && reload != Reload::Source {
        let what = match reload {
            Reload::Build => "building, wrapping and loading",
            _ => "wrapping and loading",
        };
        crate::report::status("Changed", format!("{}: {what}", changed.join(", ")));
    }
    let mut needs_build = false;
    let mut checked = None;
    if let (Reload::Source, Some(stand_in)) = (reload, &served.stand_in) {
        match check_source(project, stand_in) {
            // Served by the stand-in as it is, unless the source imports a module it lacks.
            Ok(Some((files, imports))) if imports.is_subset(&stand_in.imports) => {
                serve_source(options, files);
                return Event::Reloaded {
                    changed,
                    reload,
                    rebuilt: false,
                    digest: served.digest.clone(),
                    development: true,
                    build_ms: elapsed_ms(started),
                    wrap_ms: 0.0,
                    load_ms: 0.0,
                    compiler: options.engine.compiler.to_string(),
                };
            }
            Ok(Some(source)) => {
                crate::report::status(
                    "Changed",
                    format!(
                        "{}: a new import, so the stand-in is built again",
                        changed.join(", ")
                    ),
                );
                checked = Some(source);
                reload = Reload::Build;
            }
            // The module needs a build now: built below as `faas build` builds it.
            Ok(None) => needs_build = true,
            Err(e) => return failed("build", format!("{:#}", anyhow::Error::from(e)), changed),
        }
    }
    // The function component: the stand-in's while it serves, else the project's own. Files
    // for a rebuilt stand-in are handed over once it serves (the one serving may lack a module
    // they import).
    let (function, pending) = match reload {
        Reload::Policy => (served.stand_in.clone(), None),
        _ => match build_function(
            project,
            options,
            toolchain.filter(|_| !needs_build),
            checked,
        ) {
            Ok(built) => built,
            Err(e) => return failed("build", format!("{:#}", anyhow::Error::from(e)), changed),
        },
    };
    let build_ms = elapsed_ms(started);
    let started = Instant::now();
    let wrap_options = match &function {
        Some(stand_in) => wrap::WrapOptions {
            function: stand_in.component.clone(),
            output: interpreted::artifact(project),
            // Served here only: the target platform is checked by `faas wrap` and `faas build`.
            target: None,
            development: true,
            ..WrapOptions::for_project(project)
        },
        None => WrapOptions::for_project(project),
    };
    let wrapped = match wrap::wrap(&wrap_options) {
        Ok(wrapped) => wrapped,
        Err(e) => return failed("wrap", format!("{:#}", anyhow::Error::from(e)), changed),
    };
    let wrap_ms = elapsed_ms(started);
    let started = Instant::now();
    let (server, compiler) = match load(&wrapped.path, options) {
        Ok(loaded) => loaded,
        Err(e) => return failed("load", format!("{e:#}"), changed),
    };
    live.replace(server.with_secrets(options.secrets.clone()));
    if let Some(files) = pending {
        serve_source(options, files);
    }
    served.digest = wrapped.digest.clone();
    let development = function.is_some();
    served.stand_in = function;
    Event::Reloaded {
        changed,
        reload,
        rebuilt: reload == Reload::Build,
        digest: wrapped.digest,
        development,
        build_ms,
        wrap_ms,
        load_ms: elapsed_ms(started),
        compiler: compiler.to_string(),
    }
}

/// Builds the function: for a Python or JavaScript `toolchain`, the stand-in (when the source,
/// or `checked`, can run in it; checked first, so a syntax error costs no build), with the files
/// to hand over once it serves; else the project's function as `faas build` builds it.
fn build_function(
    project: &Project,
    options: &DevOptions,
    toolchain: Option<Toolchain>,
    checked: Option<(SourceFiles, BTreeSet<String>)>,
) -> Result<(Option<StandIn>, Option<SourceFiles>), build::BuildError> {
    if let Some(toolchain) = toolchain {
        let mut prepared = interpreted::prepare_stand_in(project, toolchain)?;
        let source = match checked {
            Some(source) => Some(source),
            None => check_source(project, &prepared)?,
        };
        if let Some((files, imports)) = source {
            interpreted::componentize_stand_in(project, &mut prepared, imports)?;
            return Ok((Some(prepared), Some(files)));
        }
    }
    build::build_project(project, options.profile, &project.function_output())?;
    Ok((None, None))
}

/// The function's source, checked, and what it imports beside itself; `None` when the stand-in
/// cannot run it and the function must be built as `faas build` builds it.
fn check_source(
    project: &Project,
    stand_in: &StandIn,
) -> Result<Option<(SourceFiles, BTreeSet<String>)>, crate::toolchains::ToolchainError> {
    let files: Vec<PathBuf> = snapshot(&project.root).into_keys().collect();
    match interpreted::collect(project, stand_in, &files)? {
        Source::Files(files, imports) => Ok(Some((files, imports))),
        Source::NeedsBuild(why) => {
            crate::report::status(
                "Building",
                format!("{why}: built as `faas build` builds it, until the stand-in can load it"),
            );
            Ok(None)
        }
    }
}

/// Hands `files` to the server's `faas:dev/source`: the next instance runs them.
fn serve_source(options: &DevOptions, files: SourceFiles) {
    if let Some(source) = &options.engine.dev_source {
        source.replace(files);
    }
}

/// The artifact at `path` compiled with the options' compiler, or with Cranelift when Winch
/// cannot compile it (a proposal it does not implement): a slower load, never a failed one.
fn load(path: &Path, options: &DevOptions) -> anyhow::Result<(Server, Compiler)> {
    let config = options.config.clone();
    let compiler = options.engine.compiler;
    match Server::load(path, config.clone(), &options.engine) {
        Ok(server) => Ok((server, compiler)),
        Err(e) if compiler == Compiler::Cranelift => Err(e),
        Err(e) => {
            tracing::debug!("{compiler} cannot compile {}: {e:#}", path.display());
            let engine = EngineOptions {
                compiler: Compiler::Cranelift,
                ..options.engine.clone()
            };
            Ok((Server::load(path, config, &engine)?, Compiler::Cranelift))
        }
    }
}

fn elapsed_ms(started: Instant) -> f64 {
    (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0
}

/// Builds, wraps and serves the project on `addr`, then watches it until Ctrl-C or SIGTERM.
/// `on_ready` gets the bound address; `on_event` every reload or failure, the first build's
/// included.
pub fn run(
    mut options: DevOptions,
    addr: std::net::SocketAddr,
    on_ready: impl FnOnce(std::net::SocketAddr),
    on_event: impl Fn(&Event) + Send + 'static,
) -> anyhow::Result<()> {
    // Linked into every artifact faas dev loads: a development artifact reads its source there.
    options
        .engine
        .dev_source
        .get_or_insert_with(DevSource::default);
    let live = Live::empty(options.engine.limits.clone());
    let watcher = {
        let live = live.clone();
        move || watch(options, &live, on_event)
    };
    crate::serve::run_live(live, addr, move |bound| {
        on_ready(bound);
        // The first build starts once the port is bound, so a client can connect at once (and
        // gets 503 until the build is done).
        std::thread::spawn(watcher);
    })
}

fn watch(options: DevOptions, live: &Arc<Live>, on_event: impl Fn(&Event)) {
    let root = options.project.root.clone();
    let policy = options.project.policy_path();
    let mut seen = snapshot(&root);
    let mut served = Served::default();
    on_event(&reload(
        &options,
        live,
        &mut served,
        Vec::new(),
        Reload::Build,
    ));
    loop {
        std::thread::sleep(POLL);
        let mut now = snapshot(&root);
        if now == seen {
            continue;
        }
        // Let the save finish: wait until two looks agree.
        loop {
            std::thread::sleep(SETTLE);
            let again = snapshot(&root);
            if again == now {
                break;
            }
            now = again;
        }
        let changed = changes(&seen, &now);
        let kind = if changed.iter().all(|c| root.join(c) == policy) {
            Reload::Policy
        } else if let Some(stand_in) = &served.stand_in
            && changed
                .iter()
                .all(|c| interpreted::is_source(stand_in.toolchain, Path::new(c)))
        {
            Reload::Source
        } else {
            Reload::Build
        };
        seen = now;
        on_event(&reload(&options, live, &mut served, changed, kind));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_dependencies_and_hidden_files_are_not_watched() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for file in [
            "src/lib.rs",
            "faas.toml",
            "Cargo.lock",
            "target/faas/x.wasm",
            ".git/HEAD",
            "node_modules/a/index.js",
            "__pycache__/app.pyc",
            "tests/cases.toml",
            "app.py~",
        ] {
            std::fs::create_dir_all(root.join(file).parent().unwrap()).unwrap();
            std::fs::write(root.join(file), "x").unwrap();
        }
        let before = snapshot(root);
        let watched: Vec<_> = before.keys().map(|p| p.display().to_string()).collect();
        assert_eq!(watched, ["faas.toml", "src/lib.rs"]);

        std::fs::write(root.join("src/lib.rs"), "longer").unwrap();
        std::fs::write(root.join("src/new.rs"), "x").unwrap();
        std::fs::remove_file(root.join("faas.toml")).unwrap();
        std::fs::write(root.join("target/faas/x.wasm"), "rebuilt").unwrap();
        assert_eq!(
            changes(&before, &snapshot(root)),
            ["faas.toml", "src/lib.rs", "src/new.rs"]
        );
    }
}
