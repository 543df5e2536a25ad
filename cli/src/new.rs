//! `faas new`: render a template into a new function folder.
//!
//! Templates live in the repository's `templates/` folder and are compiled into the binary, with the
//! contract WIT, so a scaffolded project needs nothing from this repository to build.

use crate::contract;
use crate::digest;
use crate::project::FunctionName;
use std::path::{Path, PathBuf};

/// A template `faas new` can render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// A Rust function with `wit-bindgen`, answering HTTP requests with JSON.
    RustHttp,
    /// The same function in Python, built with componentize-py.
    PythonHttp,
    /// The same function in JavaScript, built with componentize-js.
    JsHttp,
}

/// The policy every template starts with.
const AUTH_TOML: &str = include_str!("../../templates/common/auth.toml");

/// The `faas test` files every template starts with: request cases, the sample key, and the
/// record of the policy probes for the template's policy.
const TEST_FILES: [(&str, &str); 3] = [
    (
        "tests/http.toml",
        include_str!("../../templates/common/tests/http.toml"),
    ),
    (
        "tests/keys.toml",
        include_str!("../../templates/common/tests/keys.toml"),
    ),
    (
        "tests/policy.toml",
        include_str!("../../templates/common/tests/policy.toml"),
    ),
];

impl Template {
    /// Every template, for help texts and errors.
    pub const ALL: &[Template] = &[Template::RustHttp, Template::PythonHttp, Template::JsHttp];

    /// The template's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Template::RustHttp => "rust-http",
            Template::PythonHttp => "python-http",
            Template::JsHttp => "js-http",
        }
    }

    /// The one-time command, run in the new folder, that installs what `faas build` needs there
    /// (the first `faas build` runs it itself; it is reported for people who prepare a CI cache).
    pub fn setup_command(self) -> Option<String> {
        match self {
            Template::RustHttp => None,
            Template::PythonHttp => Some(crate::toolchains::Toolchain::Python.install_command()),
            // package.json pins the version already.
            Template::JsHttp => Some("npm install".to_string()),
        }
    }

    /// The template's files: (path in the new project, contents with `{{placeholders}}`).
    fn files(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Template::RustHttp => &[
                (
                    "Cargo.toml",
                    include_str!("../../templates/rust-http/Cargo.toml.tmpl"),
                ),
                (
                    "src/lib.rs",
                    include_str!("../../templates/rust-http/src/lib.rs"),
                ),
                (
                    "faas.toml",
                    include_str!("../../templates/rust-http/faas.toml"),
                ),
                ("auth.toml", AUTH_TOML),
                (
                    "README.md",
                    include_str!("../../templates/rust-http/README.md"),
                ),
                (
                    ".gitignore",
                    include_str!("../../templates/rust-http/gitignore"),
                ),
                ("wit/function.wit", contract::FUNCTION_WIT),
            ],
            Template::PythonHttp => &[
                ("app.py", include_str!("../../templates/python-http/app.py")),
                (
                    "faas.toml",
                    include_str!("../../templates/python-http/faas.toml"),
                ),
                ("auth.toml", AUTH_TOML),
                (
                    "README.md",
                    include_str!("../../templates/python-http/README.md"),
                ),
                (
                    ".gitignore",
                    include_str!("../../templates/python-http/gitignore"),
                ),
                ("wit/function.wit", contract::FUNCTION_WIT),
            ],
            Template::JsHttp => &[
                ("app.js", include_str!("../../templates/js-http/app.js")),
                (
                    "package.json",
                    include_str!("../../templates/js-http/package.json"),
                ),
                (
                    "faas.toml",
                    include_str!("../../templates/js-http/faas.toml"),
                ),
                ("auth.toml", AUTH_TOML),
                (
                    "README.md",
                    include_str!("../../templates/js-http/README.md"),
                ),
                (
                    ".gitignore",
                    include_str!("../../templates/js-http/gitignore"),
                ),
                ("wit/function.wit", contract::FUNCTION_WIT),
            ],
        }
    }
}

impl std::str::FromStr for Template {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        crate::project::parse_named(s, Template::ALL, Template::name, "template")
    }
}

/// Why a project could not be created.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// The target folder exists and has files in it.
    #[error("{} already exists and is not empty; choose another name or --dir", .0.display())]
    NotEmpty(PathBuf),
    /// Writing the files failed.
    #[error("cannot write {}", .path.display())]
    Write {
        /// The path that failed.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The random sample key could not be generated.
    #[error("cannot generate a sample API key: {0}")]
    Random(String),
}

/// What `faas new` created.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Scaffolded {
    /// The new project folder.
    pub dir: PathBuf,
    /// The template used.
    pub template: &'static str,
    /// The files written, relative to `dir`.
    pub files: Vec<String>,
    /// The sample API key written into `auth.toml`'s comment (for local testing only).
    pub sample_key: String,
    /// The one-time command that installs the language's build tool into the project, if any (the
    /// first `faas build` runs it).
    pub setup: Option<String>,
    /// The build tool and version the first `faas build` installs, e.g. `componentize-py 0.25.1`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_tool: Option<String>,
}

/// Renders `template` for a function called `name` into `dir`, which must not exist or be empty.
///
/// The project is written into a temporary folder beside `dir` and renamed into place, so a failure
/// never leaves a half-written project.
pub fn scaffold(
    name: &FunctionName,
    template: Template,
    dir: &Path,
) -> Result<Scaffolded, ScaffoldError> {
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ScaffoldError::Write { path, source }
    };
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(write_err(dir))?;
        if entries.next().is_some() {
            return Err(ScaffoldError::NotEmpty(dir.to_path_buf()));
        }
    }
    let sample_key = new_sample_key()?;
    let replacements = [
        ("{{name}}", name.as_str().to_string()),
        ("{{crate_name}}", name.as_str().to_string()),
        ("{{sample_key}}", sample_key.clone()),
        (
            "{{sample_key_digest}}",
            digest::sha256(sample_key.as_bytes()),
        ),
        (
            "{{componentize_py_version}}",
            crate::toolchains::COMPONENTIZE_PY_VERSION.to_string(),
        ),
        (
            "{{componentize_js_version}}",
            crate::toolchains::COMPONENTIZE_JS_VERSION.to_string(),
        ),
    ];

    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(write_err(&parent))?;
    let staging = tempfile::Builder::new()
        .prefix(".faas-new-")
        .tempdir_in(&parent)
        .map_err(write_err(&parent))?;
    let mut files = Vec::new();
    for (relative, contents) in template.files().iter().chain(&TEST_FILES) {
        let mut text = contents.to_string();
        for (placeholder, value) in &replacements {
            text = text.replace(placeholder, value);
        }
        let path = staging.path().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(write_err(&dir.join(relative)))?;
        }
        std::fs::write(&path, text).map_err(write_err(&dir.join(relative)))?;
        files.push(relative.to_string());
    }
    // rename(2) replaces an empty directory, so an existing empty `dir` is fine.
    let staged = staging.keep();
    std::fs::rename(&staged, dir).map_err(|source| {
        let _ = std::fs::remove_dir_all(&staged);
        ScaffoldError::Write {
            path: dir.to_path_buf(),
            source,
        }
    })?;
    Ok(Scaffolded {
        dir: dir.to_path_buf(),
        template: template.name(),
        files,
        sample_key,
        setup: template.setup_command(),
        build_tool: match template {
            Template::RustHttp => None,
            Template::PythonHttp => Some(crate::toolchains::Toolchain::Python),
            Template::JsHttp => Some(crate::toolchains::Toolchain::Javascript),
        }
        .map(|tool| format!("{} {}", tool.tool(), tool.version())),
    })
}

/// A 192-bit random API key for the sample client, so no two projects share a sample key.
fn new_sample_key() -> Result<String, ScaffoldError> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| ScaffoldError::Random(e.to_string()))?;
    Ok(format!("faas_sk_{}", hex::encode(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> FunctionName {
        FunctionName::try_from(s.to_string()).unwrap()
    }

    #[test]
    fn every_template_renders_a_project_of_its_language() {
        for (template, language) in [
            (Template::RustHttp, crate::project::Language::Rust),
            (Template::PythonHttp, crate::project::Language::Python),
            (Template::JsHttp, crate::project::Language::Javascript),
        ] {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join("hello");
            let done = scaffold(&name("hello"), template, &dir).unwrap();
            for file in &done.files {
                let text = std::fs::read_to_string(dir.join(file)).unwrap();
                assert!(!text.contains("{{"), "{file} has an unrendered placeholder");
            }
            let project = crate::project::Project::load(&dir).unwrap();
            assert_eq!(project.file.function.language, language);
        }
    }

    #[test]
    fn renders_every_placeholder_and_the_contract() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("hello");
        let done = scaffold(&name("hello"), Template::RustHttp, &dir).unwrap();
        for file in &done.files {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            assert!(!text.contains("{{"), "{file} has an unrendered placeholder");
        }
        let auth = std::fs::read_to_string(dir.join("auth.toml")).unwrap();
        assert!(auth.contains(&digest::sha256(done.sample_key.as_bytes())));
        assert_eq!(
            std::fs::read_to_string(dir.join("wit/function.wit")).unwrap(),
            contract::FUNCTION_WIT
        );
        let project = crate::project::Project::load(&dir).unwrap();
        assert_eq!(project.name().as_str(), "hello");
    }

    #[test]
    fn refuses_a_non_empty_folder_and_leaves_it_alone() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("keep.txt"), "mine").unwrap();
        let err = scaffold(&name("x"), Template::RustHttp, tmp.path()).unwrap_err();
        assert!(matches!(err, ScaffoldError::NotEmpty(_)));
        let entries: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert_eq!(entries.len(), 1);
    }

    #[test]
    fn an_existing_empty_folder_is_used() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("empty");
        std::fs::create_dir(&dir).unwrap();
        scaffold(&name("e"), Template::RustHttp, &dir).unwrap();
        assert!(dir.join("faas.toml").is_file());
    }
}
