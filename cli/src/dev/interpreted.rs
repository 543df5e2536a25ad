//! Development artifacts of Python and JavaScript functions: a save served without a rebuild.
//!
//! Building such a function links its source with an interpreter and snapshots it
//! (componentize-py, componentize-js): seconds per save. So faas dev builds a *stand-in* once,
//! the interpreter and the project's dependencies with a small loader
//! (`faas_dev_loader.py`, `faas_dev_loader.js`) in place of the function, for the world
//! `faas:dev/function` (the function's world plus `faas:dev/source`, `wit/dev/source.wit`). The
//! loader reads the function's own files from faas dev when an instance starts. The stand-in is
//! wrapped with the same policy, decorator and adapters as the function, into
//! `target/faas/dev/NAME.wasm`; a save then only checks the files (a syntax error keeps the last
//! good ones serving) and hands them to the server ([`crate::serve::DevSource`]).
//!
//! The development artifact is never published: only faas dev's server links `faas:dev/source`,
//! a policy cannot grant it, and `faas publish` refuses an artifact that imports it.

use crate::build::{self, BuildError};
use crate::project::Project;
use crate::serve::SourceFiles;
use crate::toolchains::{Entry, Toolchain, ToolchainError};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `faas:dev`'s WIT: the source interface and the stand-in's world.
const DEV_WIT: &str = include_str!("../../../wit/dev/source.wit");
/// The world the stand-in is built for.
const DEV_WORLD: &str = "faas:dev/function";
const PYTHON_LOADER: &str = include_str!("faas_dev_loader.py");
const JAVASCRIPT_LOADER: &str = include_str!("faas_dev_loader.js");
/// Compiles a Python function's modules and lists what they import.
const PYTHON_CHECK: &str = include_str!("faas_dev_check.py");

/// A built stand-in: what its loader can hand the function.
#[derive(Debug, Clone)]
pub struct StandIn {
    /// The function's language.
    pub toolchain: Toolchain,
    /// The interfaces the function's world imports (the specifiers a JavaScript module may
    /// import).
    pub interfaces: Vec<String>,
    /// The stand-in component.
    pub component: PathBuf,
    /// Its loader (the app module it is built from).
    loader: PathBuf,
    /// The modules its loader imports while it is built (Python): what the function's modules
    /// may import at run time.
    pub imports: BTreeSet<String>,
}

/// The folder development artifacts are made in: `target/faas/dev` of the project.
pub fn folder(project: &Project) -> PathBuf {
    project
        .function_output()
        .parent()
        .map(|faas| faas.join("dev"))
        .unwrap_or_else(|| project.root.join("target/faas/dev"))
}

/// The development artifact's path, beside the stand-in.
pub fn artifact(project: &Project) -> PathBuf {
    folder(project).join(format!("{}.wasm", project.name()))
}

/// Writes the WIT folder the stand-in of `project` is built for into `target/faas/dev`, after
/// installing the componentize tool if the project has none yet; [`componentize_stand_in`]
/// writes its loader and builds it.
pub fn prepare_stand_in(project: &Project, toolchain: Toolchain) -> Result<StandIn, BuildError> {
    // The tool's environment also checks the source (the project's Python).
    toolchain.prepare(&project.root)?;
    let dir = folder(project);
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BuildError::Write { path, source }
    };
    let wit = dir.join("wit");
    write_wit(project, &wit).map_err(write_err(&wit))?;
    let interfaces = world_imports(&wit).map_err(|message| {
        BuildError::Toolchain(ToolchainError::Source {
            location: "wit".into(),
            message,
        })
    })?;
    let loader = match toolchain {
        Toolchain::Python => dir.join("faas_dev_loader.py"),
        Toolchain::Javascript => dir.join("faas_dev_loader.js"),
    };
    Ok(StandIn {
        toolchain,
        interfaces,
        component: dir.join(format!("{}.function.wasm", project.name())),
        loader,
        imports: BTreeSet::new(),
    })
}

/// Writes the stand-in's loader, importing `imports` (Python) while it is built, and builds it
/// with the project's componentize tool (the interpreter, its snapshot and the project's
/// dependencies: what takes seconds).
pub fn componentize_stand_in(
    project: &Project,
    stand_in: &mut StandIn,
    imports: BTreeSet<String>,
) -> Result<(), BuildError> {
    let dir = folder(project);
    let text = match stand_in.toolchain {
        Toolchain::Python => python_loader(&imports),
        Toolchain::Javascript => javascript_loader(&stand_in.interfaces),
    };
    std::fs::write(&stand_in.loader, &text).map_err(|source| BuildError::Write {
        path: stand_in.loader.clone(),
        source,
    })?;
    // The stand-in depends on neither the function's source nor the policy: an unchanged one
    // (the same loader, WIT, tool and dependencies) is not built again, across faas dev runs too.
    let key = stand_in_key(project, stand_in, &text, &dir.join("wit"));
    let key_file = dir.join("stand-in.key");
    if stand_in.component.is_file() && std::fs::read_to_string(&key_file).ok() == Some(key.clone())
    {
        stand_in.imports = imports;
        return Ok(());
    }
    let _ = std::fs::remove_file(&key_file);
    let scratch = dir.join("stand-in.componentized.wasm");
    // Removed on Ctrl-C too.
    let _interrupted = crate::interrupt::TempFile::register(&scratch);
    let entry = Entry {
        wit: &dir.join("wit"),
        world: DEV_WORLD,
        app: &stand_in.loader,
        python_path: (stand_in.toolchain == Toolchain::Python).then_some(dir.as_path()),
    };
    stand_in
        .toolchain
        .componentize(&project.root, &entry, &scratch)?;
    build::accept_component(project.name().as_str(), &scratch, &stand_in.component)?;
    let _ = std::fs::remove_file(&scratch);
    // Written last: a key names a stand-in that was built whole.
    std::fs::write(&key_file, key).map_err(|source| BuildError::Write {
        path: key_file.clone(),
        source,
    })?;
    stand_in.imports = imports;
    Ok(())
}

/// What a stand-in is built from, as a digest: the tool and its version, the loader, the WIT
/// folder, and the project's installed dependencies (Python's site-packages, by name, size and
/// time; JavaScript's engine has the modules it can use built in).
fn stand_in_key(project: &Project, stand_in: &StandIn, loader: &str, wit: &Path) -> String {
    let mut parts: Vec<u8> = Vec::new();
    let mut add = |bytes: &[u8]| {
        parts.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        parts.extend_from_slice(bytes);
    };
    add(stand_in.toolchain.tool().as_bytes());
    add(stand_in.toolchain.version().as_bytes());
    add(loader.as_bytes());
    let mut files = Vec::new();
    list_files(wit, &mut files);
    files.sort();
    for file in files {
        add(file.to_string_lossy().as_bytes());
        add(&std::fs::read(&file).unwrap_or_default());
    }
    if stand_in.toolchain == Toolchain::Python {
        let lib = project.root.join(".venv/lib");
        let mut packages: Vec<String> = std::fs::read_dir(&lib)
            .into_iter()
            .flatten()
            .flatten()
            .flat_map(|python| {
                std::fs::read_dir(python.path().join("site-packages"))
                    .into_iter()
                    .flatten()
                    .flatten()
            })
            .map(|entry| {
                let stamp = entry.metadata().ok().map(|m| {
                    (
                        m.len(),
                        m.modified()
                            .ok()
                            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()),
                    )
                });
                format!("{} {stamp:?}", entry.file_name().to_string_lossy())
            })
            .collect();
        packages.sort();
        add(packages.join("\n").as_bytes());
    }
    crate::digest::sha256(&parts)
}

fn list_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => list_files(&entry.path(), files),
            Ok(_) => files.push(entry.path()),
            Err(_) => {}
        }
    }
}

/// The Python loader, importing `imports` while it is built.
fn python_loader(imports: &BTreeSet<String>) -> String {
    let list = serde_json::to_string(imports).expect("strings serialise");
    PYTHON_LOADER.replacen("PREIMPORTED = []", &format!("PREIMPORTED = {list}"), 1)
}

/// Writes the stand-in's WIT folder: `faas:dev` with the project's own WIT (its contract copy
/// and its dependencies' packages) as dependencies.
fn write_wit(project: &Project, wit: &Path) -> std::io::Result<()> {
    if wit.exists() {
        std::fs::remove_dir_all(wit)?;
    }
    let function = wit.join("deps/function");
    std::fs::create_dir_all(&function)?;
    std::fs::write(wit.join("source.wit"), DEV_WIT)?;
    let own = project.root.join("wit");
    for entry in std::fs::read_dir(&own)? {
        let entry = entry?;
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "wit") {
            std::fs::copy(&path, function.join(entry.file_name()))?;
        }
    }
    let deps = own.join("deps");
    if deps.is_dir() {
        copy_dir(&deps, &wit.join("deps"))?;
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// The interfaces the stand-in's world imports besides `faas:dev/source`, by name.
fn world_imports(wit: &Path) -> Result<Vec<String>, String> {
    let mut resolve = wit_parser::Resolve::default();
    let (package, _) = resolve.push_dir(wit).map_err(|e| format!("{e:#}"))?;
    let world = resolve
        .select_world(&[package], Some("function"))
        .map_err(|e| format!("{e:#}"))?;
    let mut names: Vec<String> = resolve.worlds[world]
        .imports
        .values()
        .filter_map(|item| match item {
            wit_parser::WorldItem::Interface { id, .. } => resolve.id_of(*id),
            _ => None,
        })
        .filter(|name| !name.starts_with("faas:dev/"))
        .collect();
    names.sort();
    Ok(names)
}

/// The JavaScript loader with a namespace import of each of `interfaces`, passed to the
/// function's module by specifier.
fn javascript_loader(interfaces: &[String]) -> String {
    let mut imports = String::new();
    let mut table = Vec::new();
    for (index, interface) in interfaces.iter().enumerate() {
        imports.push_str(&format!("import * as i{index} from \"{interface}\";\n"));
        table.push(format!("\"{interface}\": i{index}"));
    }
    imports.push_str(&format!("const IMPORTS = {{ {} }};", table.join(", ")));
    let placeholder = JAVASCRIPT_LOADER
        .lines()
        .find(|l| l.starts_with("// IMPORTS:"))
        .expect("the loader has its imports placeholder");
    JAVASCRIPT_LOADER.replace(placeholder, &imports)
}

/// What a save gives the stand-in.
#[derive(Debug)]
pub enum Source {
    /// The function's files, checked, and the modules they import beside each other (Python).
    Files(SourceFiles, BTreeSet<String>),
    /// The module has a shape the loader cannot run (a JavaScript import of another module, a
    /// default export): the function must be built as `faas build` builds it.
    NeedsBuild(String),
}

/// The function's source files as the stand-in reads them: for Python every `.py` file of the
/// project (`files` lists them, relative), compiled by the project's Python to find syntax
/// errors; for JavaScript `app.js`, checked by `node --check` and rewritten into a function body
/// ([`super::javascript`]).
pub fn collect(
    project: &Project,
    stand_in: &StandIn,
    files: &[PathBuf],
) -> Result<Source, ToolchainError> {
    let root = &project.root;
    let read = |relative: &Path| {
        std::fs::read(root.join(relative)).map_err(|source| ToolchainError::CannotRun {
            program: root.join(relative).display().to_string(),
            hint: "it was there a moment ago",
            source,
        })
    };
    match stand_in.toolchain {
        Toolchain::Python => {
            let modules: Vec<&PathBuf> = files
                .iter()
                .filter(|f| is_source(stand_in.toolchain, f))
                .collect();
            let imports = check_python(root, &modules)?;
            let mut source = SourceFiles::new();
            for module in modules {
                source.insert(slashed(module), read(module)?);
            }
            Ok(Source::Files(source, imports))
        }
        Toolchain::Javascript => {
            let app = Path::new(stand_in.toolchain.source_file());
            crate::toolchains::check_javascript_syntax(root, stand_in.toolchain.source_file())?;
            let text = String::from_utf8_lossy(&read(app)?).into_owned();
            match super::javascript::function_body(&text, &stand_in.interfaces) {
                Ok(body) => Ok(Source::Files(
                    SourceFiles::from([(slashed(app), body.into_bytes())]),
                    BTreeSet::new(),
                )),
                Err(unsupported) => Ok(Source::NeedsBuild(format!("app.js:{unsupported}"))),
            }
        }
    }
}

/// Whether a change to `path` (relative to the project) is one the stand-in reads at run time.
pub fn is_source(toolchain: Toolchain, path: &Path) -> bool {
    match toolchain {
        Toolchain::Python => path.extension().is_some_and(|e| e == "py"),
        Toolchain::Javascript => path == Path::new(toolchain.source_file()),
    }
}

fn slashed(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Compiles each module with the project's Python (its virtual environment's), which names the
/// first syntax error's file, line and column; returns what the modules import beside each other.
fn check_python(root: &Path, modules: &[&PathBuf]) -> Result<BTreeSet<String>, ToolchainError> {
    let python = root.join(".venv/bin/python");
    let output = Command::new(&python)
        .current_dir(root)
        .args(["-c", PYTHON_CHECK])
        .args(modules)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| ToolchainError::CannotRun {
            program: python.display().to_string(),
            hint: "is the virtual environment intact?",
            source,
        })?;
    let text = String::from_utf8_lossy(&output.stdout);
    if output.status.success()
        && let Ok(imports) = serde_json::from_str::<BTreeSet<String>>(text.trim())
    {
        return Ok(imports);
    }
    let (location, message) = match text.trim().split_once('\t') {
        Some((location, message)) => (location.to_string(), message.to_string()),
        None => (
            "app.py".to_string(),
            format!(
                "the source check failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        ),
    };
    Err(ToolchainError::Source { location, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_javascript_loader_imports_every_interface_of_the_world_once() {
        let loader = javascript_loader(&[
            "faas:function/credentials@0.1.0".into(),
            "faas-function:pricing/handler@0.1.0".into(),
        ]);
        assert!(loader.contains(
            "import * as i0 from \"faas:function/credentials@0.1.0\";\n\
             import * as i1 from \"faas-function:pricing/handler@0.1.0\";\n\
             const IMPORTS = { \"faas:function/credentials@0.1.0\": i0, \
             \"faas-function:pricing/handler@0.1.0\": i1 };"
        ));
        assert!(!loader.contains("// IMPORTS:"));
    }

    #[test]
    fn the_stand_ins_world_is_the_functions_plus_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let wit = dir.path();
        std::fs::create_dir_all(wit.join("deps/function")).unwrap();
        std::fs::write(wit.join("source.wit"), DEV_WIT).unwrap();
        std::fs::write(
            wit.join("deps/function/function.wit"),
            crate::contract::FUNCTION_WIT,
        )
        .unwrap();
        assert_eq!(
            world_imports(wit).unwrap(),
            ["faas:function/credentials@0.1.0"]
        );
    }

    #[test]
    fn sources_are_the_python_modules_or_the_javascript_entry_point() {
        assert!(is_source(Toolchain::Python, Path::new("pkg/util.py")));
        assert!(!is_source(Toolchain::Python, Path::new("pyproject.toml")));
        assert!(is_source(Toolchain::Javascript, Path::new("app.js")));
        assert!(!is_source(Toolchain::Javascript, Path::new("util.js")));
        assert!(!is_source(Toolchain::Javascript, Path::new("package.json")));
    }
}
