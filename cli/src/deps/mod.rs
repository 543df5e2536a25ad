//! Dependencies: components a function calls like libraries (`faas deps`). A dependency is declared
//! in faas.toml (`[dependencies.NAME]`: where it comes from, and whether `faas wrap` composes it or
//! the platform links it), pinned by digest in `faas.lock`, and its exported interfaces are
//! written as WIT into the function's `wit/deps/` and imported by the function's world, so the
//! language bindings expose them as ordinary calls.
//!
//! A dependency is a library component, or another faas function (a project folder): the caller
//! then imports a copy of the contract's handler named after it (`faas-function:NAME/handler`),
//! and `faas wrap` composes the callee with its own policy and decorator behind a function gate,
//! so the callee's policy applies to the call, with the caller's name as a `function` principal.
//!
//! `faas wrap` reads the pinned bytes back ([`load`]): a dependency whose bytes no longer match
//! the lock is refused. What a dependency may itself import is decided by the policy's own
//! `[dependencies.NAME]` table, never by the function's grants (`crate::wrap::plan`).

mod world;

use crate::component;
use crate::digest;
use crate::project::dependencies::{DependencySpec, Link, Source, check_name};
use crate::project::{PROJECT_FILE, Project};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The lock file's name, beside faas.toml.
pub const LOCK_FILE: &str = "faas.lock";

/// What a dependency is.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A component exporting interfaces.
    Library,
    /// Another faas function: [`Resolved::bytes`] is its function component, which `faas wrap`
    /// decorates with its own `policy` (the dependency hands wrap what to decorate rather than
    /// calling it); `caller` is the depending function's name, which its gate states.
    Function {
        /// The calling function's name.
        caller: String,
        /// Its policy, compiled.
        policy: Box<crate::policy::CompiledPolicy>,
        /// Its language (the imports its toolchain adds).
        language: crate::project::Language,
    },
}

/// The interface a function imports to call the faas function `name`: the contract's handler,
/// in a package of its own.
pub fn function_interface(name: &str) -> String {
    format!(
        "{FUNCTION_PACKAGE}:{name}/handler@{}",
        crate::contract::VERSION
    )
}

/// The namespace of the packages [`function_interface`] names.
const FUNCTION_PACKAGE: &str = "faas-function";

/// `faas.lock`: each dependency's pinned digest and what it exports.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    /// The format's version.
    pub version: u32,
    /// One entry per dependency, by name.
    #[serde(default, rename = "dependency")]
    pub dependencies: Vec<Locked>,
}

impl Lock {
    /// Pins `locked`, in place of an earlier pin of the same name.
    fn replace(&mut self, locked: Locked) {
        self.dependencies.retain(|d| d.name != locked.name);
        self.dependencies.push(locked);
    }
}

/// One pinned dependency.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Locked {
    /// Its name in faas.toml.
    pub name: String,
    /// Where it came from, as faas.toml says.
    pub source: String,
    /// The component's digest: `faas wrap` refuses other bytes.
    pub digest: String,
    /// Its size in bytes.
    pub size: u64,
    /// The interfaces it exports.
    pub exports: Vec<String>,
    /// What it imports (for review: the policy's `[dependencies.NAME]` decides what it gets).
    pub imports: Vec<String>,
    /// For a published dependency, its image pinned by manifest digest (what the platform pulls
    /// when it links the dependency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// For a faas function, the digest of its compiled policy document (pinned with its
    /// component: a change of its policy is a change of the dependency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
}

/// A dependency ready for `faas wrap`: its verified bytes and how it is linked.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Its name.
    pub name: String,
    /// The component.
    pub bytes: Vec<u8>,
    /// Its digest (as pinned).
    pub digest: String,
    /// How it reaches the function.
    pub link: Link,
    /// What it is.
    pub kind: Kind,
    /// A faas function's run-time grants (its policy's outgoing hosts, configuration keys): the
    /// artifact's host must grant them too.
    pub grants: Option<crate::artifact::Grants>,
}

/// Why a dependency could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DepsError {
    /// Anything about one dependency, with its name.
    #[error("dependency `{name}`: {message}")]
    Dependency {
        /// The dependency.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{}: {message}", .path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
}

fn dep_err(name: &str, message: impl Into<String>) -> DepsError {
    DepsError::Dependency {
        name: name.to_string(),
        message: message.into(),
    }
}

/// What `faas deps add` did.
#[derive(Debug, Clone, Serialize)]
pub struct Added {
    /// The pinned entry.
    pub locked: Locked,
    /// The WIT files written.
    pub wit: Vec<PathBuf>,
    /// How it is linked.
    pub link: Link,
}

/// Fetches a published component: its bytes and its reference pinned by manifest digest.
pub type Fetch<'a> = dyn Fn(&str) -> Result<(Vec<u8>, String), String> + 'a;

/// The name a reference suggests: the file's stem, or the repository's last part.
pub fn default_name(reference: &str) -> String {
    let path = Path::new(reference);
    let stem = if reference.ends_with(".wasm") {
        path.file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("dependency")
    } else {
        // Without the digest and the `oci:` scheme: `host:port/libs/text:0.1.0`, `layouts/text`.
        let without_digest = reference.split('@').next().unwrap_or(reference);
        let path = without_digest
            .strip_prefix("oci:")
            .unwrap_or(without_digest);
        let last = path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(path);
        // The tag follows the last segment's `:` (a registry's port is in the first segment).
        last.split(':').next().unwrap_or(last)
    };
    stem.to_ascii_lowercase().replace(['_', '.'], "-")
}

/// Adds (or replaces) dependency `name` from `reference` (a `.wasm` path or an OCI reference),
/// pins it and writes its WIT. `fetch` pulls an OCI reference (verifying it with `public_key`,
/// the owner's key of a platform-linked one, when given).
pub fn add(
    project: &Project,
    name: &str,
    reference: &str,
    link: Link,
    public_key: Option<&Path>,
    fetch: &Fetch<'_>,
) -> Result<Added, DepsError> {
    check_name(name).map_err(|e| dep_err(name, e))?;
    if Path::new(reference).join(PROJECT_FILE).is_file() {
        return add_function(project, name, reference, link);
    }
    let spec = if reference.ends_with(".wasm") || Path::new(reference).is_file() {
        let absolute = std::path::absolute(reference).unwrap_or_else(|_| reference.into());
        let relative = pathdiff(&absolute, &project.root);
        DependencySpec {
            path: Some(relative),
            oci: None,
            project: None,
            link,
            public_key: None,
        }
    } else {
        DependencySpec {
            path: None,
            oci: Some(reference.to_string()),
            project: None,
            link,
            public_key: public_key.map(|key| {
                let absolute = std::path::absolute(key).unwrap_or_else(|_| key.to_path_buf());
                pathdiff(&absolute, &project.root)
            }),
        }
    };
    if public_key.is_some() && (link != Link::Platform || spec.oci.is_none()) {
        return Err(dep_err(
            name,
            "a public key is for a published dependency the platform links (`--link platform` \
             with a registry reference): a composed one is signed with the function",
        ));
    }
    let (bytes, image) = read_source(project, name, &spec, fetch)?;
    let mut locked = pin(name, &spec, &bytes)?;
    locked.image = image;
    let inspected = component::inspect(&bytes).map_err(|e| dep_err(name, e.to_string()))?;
    let wit = world::write_wit(project, name, &inspected, &locked.exports)?;
    record(project, &spec, locked, wit)
}

/// Writes an added dependency's faas.toml table and its pin.
fn record(
    project: &Project,
    spec: &DependencySpec,
    locked: Locked,
    wit: Vec<PathBuf>,
) -> Result<Added, DepsError> {
    write_spec(project, &locked.name, spec)?;
    let mut lock = read_lock(&project.root)?;
    lock.replace(locked.clone());
    write_lock(&project.root, &lock)?;
    Ok(Added {
        locked,
        wit,
        link: spec.link,
    })
}

/// Adds the faas function in the project folder `dir` as dependency `name`.
fn add_function(project: &Project, name: &str, dir: &str, link: Link) -> Result<Added, DepsError> {
    if link == Link::Platform {
        return Err(dep_err(
            name,
            "a faas function is composed with its own policy and decorator: `--link platform` is \
             for library components",
        ));
    }
    let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.into());
    let spec = DependencySpec {
        path: None,
        oci: None,
        project: Some(pathdiff(&absolute, &project.root)),
        link,
        public_key: None,
    };
    let callee = read_function(project, name, &spec)?;
    let locked = pin_function(name, &spec, &callee);
    let wit = world::write_function_wit(project, name, &locked.exports)?;
    record(project, &spec, locked, wit)
}

/// A faas function's inputs, as its project holds them: its built component and its policy.
struct Callee {
    function: Vec<u8>,
    policy: crate::policy::CompiledPolicy,
    language: crate::project::Language,
}

fn read_function(
    project: &Project,
    name: &str,
    spec: &DependencySpec,
) -> Result<Callee, DepsError> {
    let Ok(Source::Project(dir)) = spec.source() else {
        return Err(dep_err(name, "not a faas function"));
    };
    let callee =
        Project::load(&project.root.join(dir)).map_err(|e| dep_err(name, e.to_string()))?;
    let built = callee.function_output();
    let function = std::fs::read(&built).map_err(|_| {
        dep_err(
            name,
            format!(
                "{} does not exist: run `faas build` in {}",
                built.display(),
                callee.root.display()
            ),
        )
    })?;
    let policy =
        crate::policy::load(&callee.policy_path()).map_err(|e| dep_err(name, e.to_string()))?;
    Ok(Callee {
        function,
        policy,
        language: callee.file.function.language,
    })
}

fn pin_function(name: &str, spec: &DependencySpec, callee: &Callee) -> Locked {
    Locked {
        name: name.to_string(),
        source: describe(spec),
        digest: digest::sha256(&callee.function),
        size: callee.function.len() as u64,
        exports: vec![function_interface(name)],
        imports: Vec::new(),
        image: None,
        policy: Some(digest::sha256(&callee.policy.document)),
    }
}

/// Removes dependency `name`: its faas.toml table, its lock entry, its imports in the world and
/// its WIT.
pub fn remove(project: &Project, name: &str) -> Result<Locked, DepsError> {
    let mut lock = read_lock(&project.root)?;
    let Some(position) = lock.dependencies.iter().position(|d| d.name == name) else {
        return Err(dep_err(name, format!("not in {LOCK_FILE}")));
    };
    let removed = lock.dependencies.remove(position);
    world::remove(project, name)?;
    remove_spec(project, name)?;
    write_lock(&project.root, &lock)?;
    Ok(removed)
}

/// Pins every dependency (or `only`) again to what its source holds now, and rewrites its WIT.
pub fn update(
    project: &Project,
    only: Option<&str>,
    fetch: &Fetch<'_>,
) -> Result<Vec<(Option<String>, Locked)>, DepsError> {
    let specs = &project.file.dependencies;
    if let Some(name) = only
        && !specs.contains_key(name)
    {
        return Err(dep_err(name, format!("not in {PROJECT_FILE}")));
    }
    let mut lock = read_lock(&project.root)?;
    let mut changed = Vec::new();
    for (name, spec) in specs.iter().filter(|(n, _)| only.is_none_or(|o| o == *n)) {
        let before = lock
            .dependencies
            .iter()
            .find(|d| d.name == *name)
            .map(|d| d.digest.clone());
        if let Ok(Source::Project(_)) = spec.source() {
            let callee = read_function(project, name, spec)?;
            let locked = pin_function(name, spec, &callee);
            lock.replace(locked.clone());
            changed.push((before, locked));
            continue;
        }
        let (bytes, image) = read_source(project, name, spec, fetch)?;
        let mut locked = pin(name, spec, &bytes)?;
        locked.image = image;
        let inspected = component::inspect(&bytes).map_err(|e| dep_err(name, e.to_string()))?;
        world::write_wit(project, name, &inspected, &locked.exports)?;
        lock.replace(locked.clone());
        changed.push((before, locked));
    }
    write_lock(&project.root, &lock)?;
    Ok(changed)
}

/// The dependencies of `project` as pinned: each read from its source (an OCI one from the copy
/// `faas deps add` fetched into target/faas/deps) and checked against its digest in faas.lock.
pub fn load(project: &Project) -> Result<Vec<Resolved>, DepsError> {
    let specs = &project.file.dependencies;
    if specs.is_empty() {
        return Ok(Vec::new());
    }
    let lock = read_lock(&project.root)?;
    let mut resolved = Vec::new();
    for (name, spec) in specs {
        let Some(locked) = lock.dependencies.iter().find(|d| d.name == *name) else {
            return Err(dep_err(
                name,
                format!("not pinned in {LOCK_FILE}: run `faas deps update {name}`"),
            ));
        };
        if let Ok(Source::Project(_)) = spec.source() {
            resolved.push(load_function(project, name, spec, locked)?);
            continue;
        }
        let offline = |_: &str| -> Result<(Vec<u8>, String), String> {
            let bytes = std::fs::read(cached(project, name)).map_err(|_| {
                format!("no fetched copy in target/faas/deps: run `faas deps update {name}`")
            })?;
            Ok((bytes, String::new()))
        };
        let (bytes, _) = read_source(project, name, spec, &offline)?;
        let digest = digest::sha256(&bytes);
        if digest != locked.digest {
            return Err(dep_err(
                name,
                format!(
                    "{} is {digest}, but {LOCK_FILE} pins {}; if the change is intended, run \
                     `faas deps update {name}` and review what it exports and imports",
                    describe(spec),
                    locked.digest
                ),
            ));
        }
        resolved.push(Resolved {
            name: name.clone(),
            bytes,
            digest,
            link: spec.link,
            kind: Kind::Library,
            grants: None,
        });
    }
    Ok(resolved)
}

/// A faas function dependency as pinned: its component and policy checked against the lock
/// (`faas wrap` decorates it with that policy, no adapters, exporting its handler).
fn load_function(
    project: &Project,
    name: &str,
    spec: &DependencySpec,
    locked: &Locked,
) -> Result<Resolved, DepsError> {
    let callee = read_function(project, name, spec)?;
    let pinned = pin_function(name, spec, &callee);
    if pinned.digest != locked.digest || pinned.policy != locked.policy {
        let what = if pinned.digest != locked.digest {
            format!("its function component is {}", pinned.digest)
        } else {
            "its policy changed".to_string()
        };
        return Err(dep_err(
            name,
            format!(
                "{what}, but {LOCK_FILE} pins {} (policy {}); if the change is intended, run \
                 `faas deps update {name}` and review it",
                locked.digest,
                locked.policy.as_deref().unwrap_or("none")
            ),
        ));
    }
    Ok(Resolved {
        name: name.to_string(),
        digest: pinned.digest,
        bytes: callee.function,
        link: Link::Compose,
        grants: Some(callee.policy.grants()),
        kind: Kind::Function {
            caller: project.name().to_string(),
            policy: Box::new(callee.policy),
            language: callee.language,
        },
    })
}

/// The pinned dependencies, for `faas deps list`.
pub fn list(project: &Project) -> Result<Vec<(Locked, Link)>, DepsError> {
    let lock = read_lock(&project.root)?;
    Ok(lock
        .dependencies
        .into_iter()
        .map(|locked| {
            let link = project
                .file
                .dependencies
                .get(&locked.name)
                .map(|s| s.link)
                .unwrap_or_default();
            (locked, link)
        })
        .collect())
}

fn describe(spec: &DependencySpec) -> String {
    match spec.source() {
        Ok(Source::Path(path)) | Ok(Source::Project(path)) => path.display().to_string(),
        Ok(Source::Oci(reference)) => reference.to_string(),
        Err(_) => "its source".into(),
    }
}

fn cached(project: &Project, name: &str) -> PathBuf {
    project
        .output_dir()
        .join("deps")
        .join(format!("{name}.wasm"))
}

fn read_source(
    project: &Project,
    name: &str,
    spec: &DependencySpec,
    fetch: &Fetch<'_>,
) -> Result<(Vec<u8>, Option<String>), DepsError> {
    match spec.source().map_err(|e| dep_err(name, e))? {
        Source::Project(_) => Err(dep_err(name, "a faas function, not a component file")),
        Source::Path(path) => {
            let path = project.root.join(path);
            let bytes = std::fs::read(&path)
                .map_err(|e| dep_err(name, format!("{}: {e}", path.display())))?;
            Ok((bytes, None))
        }
        Source::Oci(reference) => {
            let (bytes, image) = fetch(reference).map_err(|e| dep_err(name, e))?;
            let copy = cached(project, name);
            crate::fsutil::write_atomic(&copy, &bytes).map_err(|e| DepsError::File {
                path: copy.clone(),
                message: e.to_string(),
            })?;
            Ok((bytes, Some(image)))
        }
    }
}

/// Checks that `bytes` is a component a function can use as a library, and pins it.
fn pin(name: &str, spec: &DependencySpec, bytes: &[u8]) -> Result<Locked, DepsError> {
    let inspected = component::inspect(bytes).map_err(|e| dep_err(name, e.to_string()))?;
    let exports: Vec<String> = inspected
        .exports
        .iter()
        .filter(|e| e.contains('/'))
        .cloned()
        .collect();
    if exports
        .iter()
        .any(|e| e.starts_with("faas:function/handler@"))
    {
        return Err(dep_err(
            name,
            "it is a faas function (it exports faas:function/handler): add its project folder \
             instead (`faas deps add ../NAME`), so that it is called through its own policy",
        ));
    }
    if exports.is_empty() {
        return Err(dep_err(
            name,
            "it exports no interface, so there is nothing to call",
        ));
    }
    if let Some(import) = inspected.imports.iter().find(|i| i.starts_with("faas:")) {
        return Err(dep_err(
            name,
            format!("it imports {import}: only the function may use faas's interfaces"),
        ));
    }
    Ok(Locked {
        name: name.to_string(),
        source: describe(spec),
        digest: digest::sha256(bytes),
        size: bytes.len() as u64,
        exports,
        imports: inspected.imports.clone(),
        image: None,
        policy: None,
    })
}

fn read_lock(root: &Path) -> Result<Lock, DepsError> {
    let path = root.join(LOCK_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Lock {
                version: 1,
                dependencies: Vec::new(),
            });
        }
        Err(e) => {
            return Err(DepsError::File {
                path,
                message: e.to_string(),
            });
        }
    };
    let source = crate::source::SourceFile {
        path: path.clone(),
        text,
    };
    source.parse_toml::<Lock>().map_err(|e| DepsError::File {
        path,
        message: e.to_string(),
    })
}

fn write_lock(root: &Path, lock: &Lock) -> Result<(), DepsError> {
    let path = root.join(LOCK_FILE);
    // No dependency left: no lock file (rather than one saying `dependency = []`).
    if lock.dependencies.is_empty() {
        return crate::fsutil::remove_stale(&path).map_err(|e| DepsError::File {
            path,
            message: e.to_string(),
        });
    }
    let mut lock = lock.clone();
    lock.version = 1;
    lock.dependencies.sort_by(|a, b| a.name.cmp(&b.name));
    let text = format!(
        "# Written by `faas deps`: the digest each dependency is pinned to. Commit it.\n{}",
        toml::to_string(&lock).expect("the lock serialises")
    );
    crate::fsutil::write_atomic(&path, text.as_bytes()).map_err(|e| DepsError::File {
        path,
        message: e.to_string(),
    })
}

/// The table header of dependency `name` in faas.toml.
fn header(name: &str) -> String {
    format!("[dependencies.{name}]")
}

/// Writes `[dependencies.NAME]` into faas.toml, replacing an existing one, and keeps the rest of
/// the file (comments included) as it is.
fn write_spec(project: &Project, name: &str, spec: &DependencySpec) -> Result<(), DepsError> {
    remove_spec(project, name)?;
    let path = project.root.join(PROJECT_FILE);
    let mut text = std::fs::read_to_string(&path).map_err(|e| DepsError::File {
        path: path.clone(),
        message: e.to_string(),
    })?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push('\n');
    text.push_str(&header(name));
    text.push('\n');
    text.push_str(&toml::to_string(spec).expect("the table serialises"));
    crate::fsutil::write_atomic(&path, text.as_bytes()).map_err(|e| DepsError::File {
        path,
        message: e.to_string(),
    })
}

/// Removes `[dependencies.NAME]` (up to the next table) from faas.toml.
fn remove_spec(project: &Project, name: &str) -> Result<(), DepsError> {
    let path = project.root.join(PROJECT_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| DepsError::File {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let mut out = Vec::new();
    let mut skipping = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            skipping = trimmed == header(name);
        }
        if !skipping {
            out.push(line);
        }
    }
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    let mut new = out.join("\n");
    new.push('\n');
    if new != text {
        crate::fsutil::write_atomic(&path, new.as_bytes()).map_err(|e| DepsError::File {
            path,
            message: e.to_string(),
        })?;
    }
    Ok(())
}

/// `path` relative to `base` when it is inside it (or beside it), else as given.
fn pathdiff(path: &Path, base: &Path) -> PathBuf {
    let base = std::path::absolute(base).unwrap_or_else(|_| base.to_path_buf());
    let mut base_parts: Vec<_> = base.components().collect();
    let path_parts: Vec<_> = path.components().collect();
    let common = base_parts
        .iter()
        .zip(&path_parts)
        .take_while(|(a, b)| a == b)
        .count();
    if common == 0 {
        return path.to_path_buf();
    }
    base_parts.drain(..common);
    let mut relative = PathBuf::new();
    for _ in base_parts {
        relative.push("..");
    }
    for part in &path_parts[common..] {
        relative.push(part);
    }
    relative
}

/// A dependency the platform links, as `faas deploy` needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformImage {
    /// Its name in faas.toml.
    pub name: String,
    /// Its image, pinned by digest.
    pub image: String,
    /// Its owner's public key (absolute).
    pub public_key: PathBuf,
}

/// The dependencies the platform links (`link = "platform"`), for `faas deploy`: only
/// published ones can be pulled by a platform, and only ones with their owner's key can be
/// admitted (the admission policies refuse every image they do not verify).
pub fn platform_images(project: &Project) -> Result<Vec<PlatformImage>, DepsError> {
    let mut images = Vec::new();
    for (locked, link) in list(project)? {
        if link != Link::Platform {
            continue;
        }
        let Some(image) = locked.image else {
            return Err(dep_err(
                &locked.name,
                "the platform links it, but it is a local file: publish it and add it by its \
                 reference (`faas deps add REGISTRY/REPOSITORY:TAG`), so the platform can pull it",
            ));
        };
        let key = project
            .file
            .dependencies
            .get(&locked.name)
            .and_then(|spec| spec.public_key.as_ref());
        let Some(key) = key else {
            let why = format!(
                "the platform links it, but faas.toml names no key its image is verified with, so \
                 the admission policies would refuse it: add its owner's public key \
                 (`public-key = \"{}.pub\"` in [dependencies.{}], or `faas deps add REF --link \
                 platform --public-key FILE`)",
                locked.name, locked.name
            );
            return Err(dep_err(&locked.name, why));
        };
        images.push(PlatformImage {
            name: locked.name,
            image,
            public_key: project.root.join(key),
        });
    }
    Ok(images)
}

#[cfg(test)]
mod tests {
    use super::default_name;

    #[test]
    fn a_reference_suggests_its_repository_s_last_segment() {
        for (reference, name) in [
            ("127.0.0.1:5917/libs/text:0.1.0", "text"),
            ("registry.example.com/platform/db@sha256:0123", "db"),
            ("localhost:5000/Text_Lib:1", "text-lib"),
            ("oci:target/layouts/text:0.1.0", "text"),
            ("oci:text@sha256:0123", "text"),
            ("deps/pricing.lib.wasm", "pricing-lib"),
            ("../shout/", "shout"),
        ] {
            assert_eq!(default_name(reference), name, "{reference}");
        }
    }
}
