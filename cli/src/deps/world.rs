//! The function's side of a dependency: the WIT of what it exports, in `wit/deps/`, and one
//! `import` line per interface in the function's world (`world function` in `wit/*.wit`), each
//! marked with the dependency's name so that `faas deps remove` finds them again.

use super::{DepsError, dep_err};
use crate::component::Inspection;
use crate::project::Project;
use std::path::{Path, PathBuf};

/// The comment that marks a dependency's lines in the world.
fn marker(name: &str) -> String {
    format!("// faas deps: {name}")
}

/// The folder in `wit/deps` for a package (`acme:pricing@1.0.0` → `acme-pricing`).
fn folder(package: &str) -> String {
    let unversioned = package.split('@').next().unwrap_or(package);
    unversioned.replace(':', "-")
}

/// The file of the function's world.
fn world_file(project: &Project) -> Result<PathBuf, DepsError> {
    let wit = project.root.join("wit");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&wit)
        .map_err(|e| DepsError::File {
            path: wit.clone(),
            message: e.to_string(),
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "wit"))
        .collect();
    files.sort();
    files
        .into_iter()
        .find(|p| std::fs::read_to_string(p).is_ok_and(|t| t.lines().any(is_world_start)))
        .ok_or_else(|| DepsError::File {
            path: wit,
            message: "no `world function` here to add the dependency's imports to".into(),
        })
}

fn is_world_start(line: &str) -> bool {
    line.trim().starts_with("world function ") && line.trim_end().ends_with('{')
}

/// Writes the WIT packages `inspected` exports into `wit/deps/`, and imports `exports` in the
/// function's world (replacing what an earlier `add` of `name` wrote).
pub(super) fn write_wit(
    project: &Project,
    name: &str,
    inspected: &Inspection,
    exports: &[String],
) -> Result<Vec<PathBuf>, DepsError> {
    let packages = inspected
        .exported_wit()
        .map_err(|e| dep_err(name, format!("cannot print its WIT: {e}")))?;
    let mut written = Vec::new();
    for (package, text) in packages {
        // The contract is the project's own copy (wit/function.wit).
        if package.starts_with("faas:function") {
            continue;
        }
        written.push(write_package(project, &package, &text)?);
    }
    written.push(add_imports(project, name, exports)?);
    Ok(written)
}

/// Writes the WIT `text` of `package` as `wit/deps/<folder>/package.wit`.
fn write_package(project: &Project, package: &str, text: &str) -> Result<PathBuf, DepsError> {
    let dir = project.root.join("wit/deps").join(folder(package));
    let file = dir.join("package.wit");
    std::fs::create_dir_all(&dir)
        .and_then(|_| crate::fsutil::write_atomic(&file, text.as_bytes()))
        .map_err(|e| DepsError::File {
            path: file.clone(),
            message: e.to_string(),
        })?;
    Ok(file)
}

/// Imports `exports` in the function's world, marked as `name`'s (replacing earlier lines).
fn add_imports(project: &Project, name: &str, exports: &[String]) -> Result<PathBuf, DepsError> {
    let path = world_file(project)?;
    let text = read(&path)?;
    let text = without_lines_of(&text, name);
    let mut out = String::new();
    let mut in_world = false;
    for line in text.lines() {
        if is_world_start(line) {
            in_world = true;
        } else if in_world && line.trim() == "}" {
            for export in exports {
                out.push_str(&format!("    import {export}; {}\n", marker(name)));
            }
            in_world = false;
        }
        out.push_str(line);
        out.push('\n');
    }
    write(&path, &out)?;
    Ok(path)
}

/// For a faas function dependency: the contract's handler interface as a package of its own,
/// `faas-function:NAME@0.1.0`, in `wit/deps/`, and its import in the function's world.
pub(super) fn write_function_wit(
    project: &Project,
    name: &str,
    exports: &[String],
) -> Result<Vec<PathBuf>, DepsError> {
    let contract = crate::contract::FUNCTION_WIT;
    let start = contract
        .find("interface handler {")
        .expect("the contract has a handler interface");
    let end = start
        + contract[start..]
            .find("\n}\n")
            .expect("the handler interface ends")
        + 3;
    let text = format!(
        "/// Calls the faas function `{name}` through its own policy (`faas deps`).\npackage {}@{};\n\n{}",
        exports[0].split('/').next().unwrap_or_default(),
        crate::contract::VERSION,
        &contract[start..end]
    );
    let package = exports[0].split('/').next().unwrap_or_default();
    let mut written = vec![write_package(project, package, &text)?];
    written.push(add_imports(project, name, exports)?);
    Ok(written)
}

/// Removes what [`write_wit`] wrote for `name`: its import lines, and the WIT folders of the
/// packages it exports (shared packages it only uses stay).
pub(super) fn remove(project: &Project, name: &str) -> Result<(), DepsError> {
    let path = world_file(project)?;
    let text = read(&path)?;
    let mut packages = Vec::new();
    for line in text
        .lines()
        .filter(|l| l.trim_end().ends_with(&marker(name)))
    {
        if let Some(interface) = line.trim().strip_prefix("import ") {
            let package = interface.split('/').next().unwrap_or("");
            packages.push(folder(package));
        }
    }
    write(&path, &without_lines_of(&text, name))?;
    let deps = project.root.join("wit/deps");
    for package in packages {
        let _ = std::fs::remove_dir_all(deps.join(package));
    }
    // The last one gone: no empty folder left behind (remove_dir keeps a non-empty one).
    let _ = std::fs::remove_dir(&deps);
    Ok(())
}

fn without_lines_of(text: &str, name: &str) -> String {
    let mut out = String::new();
    for line in text
        .lines()
        .filter(|l| !l.trim_end().ends_with(&marker(name)))
    {
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn read(path: &Path) -> Result<String, DepsError> {
    std::fs::read_to_string(path).map_err(|e| DepsError::File {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

fn write(path: &Path, text: &str) -> Result<(), DepsError> {
    crate::fsutil::write_atomic(path, text.as_bytes()).map_err(|e| DepsError::File {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}
