//! The project file, `faas.toml`, and finding the function folder it marks.
//!
//! Format (documented in `docs/faas-toml.md`):
//!
//! ```toml
//! [function]
//! name = "hello"          # lower-case letters, digits and '-'
//! version = "0.1.0"       # semver
//! language = "rust"
//! triggers = ["http"]     # http, messaging, cli
//! policy = "auth.toml"    # relative to faas.toml
//! ```

pub mod dependencies;
pub mod deploy;

use crate::source::{SourceFile, TextError};
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// The project file's name.
pub const PROJECT_FILE: &str = "faas.toml";

/// Why a project could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// No `faas.toml` in the folder or any parent.
    #[error(
        "no {PROJECT_FILE} found in {} or any parent folder; run this in a function folder, or create one with `faas new NAME`",
        .start.display()
    )]
    NotFound {
        /// Where the search started.
        start: PathBuf,
    },
    /// The file exists but cannot be read.
    #[error("cannot read {}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid project file.
    #[error(transparent)]
    Invalid(#[from] TextError),
}

/// A function's name: also the name of its outputs, so it is kept to characters that are safe in
/// file names, OCI repository names and Cargo package names.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(into = "String")]
pub struct FunctionName(String);

impl FunctionName {
    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for FunctionName {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        let valid_start = name.starts_with(|c: char| c.is_ascii_lowercase());
        let valid_chars = name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if name.is_empty() || name.len() > 64 || !valid_start || !valid_chars || name.ends_with('-')
        {
            let hint = match Self::suggest(&name) {
                Some(suggestion) if suggestion != name => format!(" (`{suggestion}`?)"),
                _ => String::new(),
            };
            return Err(format!(
                "invalid function name `{name}`{hint}: use 1 to 64 lower-case letters, digits and \
                 '-', starting with a letter and not ending with '-'"
            ));
        }
        Ok(Self(name))
    }
}

impl FunctionName {
    /// The accepted spelling closest to `name` (`Hello` → `hello`, `my_func` → `my-func`,
    /// `HelloWorld` → `hello-world`), when there is one.
    fn suggest(name: &str) -> Option<String> {
        let mut spelled = String::new();
        for (i, c) in name.chars().enumerate() {
            match c {
                'A'..='Z' => {
                    if i > 0 && !spelled.ends_with('-') {
                        spelled.push('-');
                    }
                    spelled.push(c.to_ascii_lowercase());
                }
                'a'..='z' | '0'..='9' => spelled.push(c),
                _ if !spelled.is_empty() && !spelled.ends_with('-') => spelled.push('-'),
                _ => {}
            }
        }
        let spelled = spelled
            .trim_start_matches(|c: char| !c.is_ascii_lowercase())
            .trim_end_matches('-');
        (!spelled.is_empty() && spelled.len() <= 64).then(|| spelled.to_string())
    }
}

impl<'de> Deserialize<'de> for FunctionName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::try_from(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl From<FunctionName> for String {
    fn from(name: FunctionName) -> String {
        name.0
    }
}

impl fmt::Display for FunctionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The language a function is written in, which decides how `faas build` compiles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Language {
    /// Rust, compiled with cargo for wasm32-wasip2.
    Rust,
    /// Python, made into a component by componentize-py (an interpreter and the app's modules).
    Python,
    /// JavaScript, made into a component by componentize-js (the StarlingMonkey engine and the
    /// app's module).
    Javascript,
}

impl Language {
    /// Every language, for help texts.
    pub const ALL: &[Language] = &[Language::Rust, Language::Python, Language::Javascript];

    /// The name used in faas.toml and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::Javascript => "javascript",
        }
    }
}

impl std::str::FromStr for Language {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        parse_named(s, Language::ALL, Language::name, "language")
    }
}

impl std::str::FromStr for Trigger {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        parse_named(s, Trigger::ALL, Trigger::name, "trigger")
    }
}

/// The item of `all` whose `name` is `s`, or an error listing the names (`what` says what they
/// name). For the small closed sets the command line and faas.toml name: languages, templates.
pub fn parse_named<T: Copy>(
    s: &str,
    all: &[T],
    name: fn(T) -> &'static str,
    what: &str,
) -> Result<T, String> {
    all.iter().copied().find(|t| name(*t) == s).ok_or_else(|| {
        let names: Vec<_> = all.iter().map(|t| name(*t)).collect();
        format!("unknown {what} `{s}`; available: {}", names.join(", "))
    })
}

/// A platform interface that can invoke the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// HTTP requests (`wasi:http/incoming-handler`).
    Http,
    /// Broker messages (`wasmcloud:messaging/handler`).
    Messaging,
    /// One JSON request on standard input (`wasi:cli/run`).
    Cli,
}

impl Trigger {
    /// Every trigger, for help texts.
    pub const ALL: &[Trigger] = &[Trigger::Http, Trigger::Messaging, Trigger::Cli];

    /// Its name in faas.toml and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Trigger::Http => "http",
            Trigger::Messaging => "messaging",
            Trigger::Cli => "cli",
        }
    }
}

/// The `[function]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FunctionSection {
    /// The function's name.
    pub name: FunctionName,
    /// The function's version (semver).
    pub version: semver::Version,
    /// Its source language.
    #[serde(default = "default_language")]
    pub language: Language,
    /// The triggers that may invoke it.
    #[serde(default = "default_triggers")]
    pub triggers: Vec<Trigger>,
    /// The policy file, relative to `faas.toml`.
    #[serde(default = "default_policy")]
    pub policy: PathBuf,
    /// The platform artifacts must fit (`wasi-http`, `wasmcloud`), checked by `faas wrap`; a
    /// name faas does not know is refused when the file is read, by every command.
    #[serde(default, deserialize_with = "known_target")]
    pub target: Option<String>,
}

fn known_target<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let name = String::deserialize(d)?;
    if !crate::platform::NAMES.contains(&name.as_str()) {
        return Err(serde::de::Error::custom(format!(
            "unknown target `{name}`; known targets: {}",
            crate::platform::NAMES.join(", ")
        )));
    }
    Ok(Some(name))
}

fn default_language() -> Language {
    Language::Rust
}

fn default_triggers() -> Vec<Trigger> {
    vec![Trigger::Http]
}

fn default_policy() -> PathBuf {
    PathBuf::from("auth.toml")
}

/// The `[pipeline]` table: defaults for `faas pipeline` (flags and `FAAS_*` variables win).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PipelineSection {
    /// Where to publish: `host[:port]/repository` or `oci:PATH` (default: `oci:target/faas/oci`).
    pub registry: Option<String>,
    /// The signing key, relative to faas.toml.
    pub key: Option<PathBuf>,
    /// The public key to verify with (default: the signing key's own).
    pub public_key: Option<PathBuf>,
}

/// The whole project file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectFile {
    /// The `[function]` table.
    pub function: FunctionSection,
    /// The `[pipeline]` table.
    #[serde(default)]
    pub pipeline: PipelineSection,
    /// The `[limits]` table.
    #[serde(default)]
    pub limits: LimitsSection,
    /// The `[deploy]` table.
    #[serde(default)]
    pub deploy: deploy::DeploySection,
    /// The `[dependencies.NAME]` tables (`faas deps` writes them).
    #[serde(default)]
    pub dependencies: std::collections::BTreeMap<String, dependencies::DependencySpec>,
}

/// The `[limits]` table: what `faas serve` and `faas invoke` allow one request (flags and
/// `FAAS_*` variables win).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LimitsSection {
    /// How long one request may run, e.g. `30s` (default 30 s).
    #[serde(default, deserialize_with = "duration")]
    pub timeout: Option<std::time::Duration>,
    /// The largest a function's memory may grow, e.g. `128MiB` (default 128 MiB).
    #[serde(default, deserialize_with = "size")]
    pub max_memory: Option<usize>,
}

fn duration<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<std::time::Duration>, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text)
        .map(Some)
        .map_err(|e| serde::de::Error::custom(format!("`{text}`: {e} (e.g. \"30s\")")))
}

fn size<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    let text = String::deserialize(d)?;
    parse_size(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// Parses a size such as `128MiB`, `1GiB`, `512KiB` or a number of bytes.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&text[..i], text[i..].trim()),
        None => (text, ""),
    };
    let scale: usize = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" | "kb" => 1024,
        "m" | "mib" | "mb" => 1024 * 1024,
        "g" | "gib" | "gb" => 1024 * 1024 * 1024,
        _ => return Err(format!("`{text}`: expected a size such as 128MiB")),
    };
    let n: usize = number
        .parse()
        .map_err(|_| format!("`{text}`: expected a size such as 128MiB"))?;
    n.checked_mul(scale)
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("`{text}`: not a usable size"))
}

/// A function folder: where `faas.toml` is, and what it says.
#[derive(Debug, Clone)]
pub struct Project {
    /// The folder holding `faas.toml`.
    pub root: PathBuf,
    /// The parsed project file.
    pub file: ProjectFile,
}

impl Project {
    /// Finds `faas.toml` in `start` or the nearest parent folder and loads it.
    pub fn find(start: &Path) -> Result<Self, ProjectError> {
        let start = std::path::absolute(start).unwrap_or_else(|_| start.to_path_buf());
        let root = start
            .ancestors()
            .find(|dir| dir.join(PROJECT_FILE).is_file())
            .ok_or_else(|| ProjectError::NotFound {
                start: start.clone(),
            })?;
        Self::load(root)
    }

    /// As [`Project::find`] for commands that also work without a project: `None` when no
    /// faas.toml is found, but an error when one is found and is broken, so that a typo is never
    /// silently ignored.
    pub fn find_optional(start: &Path) -> Result<Option<Self>, ProjectError> {
        match Self::find(start) {
            Ok(project) => Ok(Some(project)),
            Err(ProjectError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Loads `root/faas.toml`.
    pub fn load(root: &Path) -> Result<Self, ProjectError> {
        let path = root.join(PROJECT_FILE);
        let source = SourceFile::read(&path).map_err(|source| ProjectError::Read {
            path: path.clone(),
            source,
        })?;
        let file = source.parse_toml::<ProjectFile>()?;
        if file.function.triggers.is_empty() {
            return Err(source
                .error_at(
                    source.text.find("triggers").map(|i| i..i),
                    "`triggers` is empty: a function needs at least one trigger (http, messaging, cli)",
                )
                .into());
        }
        Ok(Self {
            root: root.to_path_buf(),
            file,
        })
    }

    /// The function's name.
    pub fn name(&self) -> &FunctionName {
        &self.file.function.name
    }

    /// `target/faas` inside the project: where faas writes its outputs.
    pub fn output_dir(&self) -> PathBuf {
        self.root.join("target").join("faas")
    }

    /// Where `faas build` writes the function component.
    pub fn function_output(&self) -> PathBuf {
        self.output_dir()
            .join(format!("{}.function.wasm", self.name()))
    }

    /// Where `faas wrap` writes the artifact: `target/faas/NAME.wasm`.
    pub fn artifact_output(&self) -> PathBuf {
        self.output_dir().join(format!("{}.wasm", self.name()))
    }

    /// The OCI image-layout folder `faas publish` writes to by default: `target/faas/oci`.
    pub fn layout_dir(&self) -> PathBuf {
        self.output_dir().join("oci")
    }

    /// The policy file named by the project.
    pub fn policy_path(&self) -> PathBuf {
        self.root.join(&self.file.function.policy)
    }
}

#[cfg(test)]
mod tests {
    use super::FunctionName;

    #[test]
    fn a_refused_name_suggests_the_accepted_spelling() {
        for (name, suggestion) in [
            ("Hello", "hello"),
            ("my_func", "my-func"),
            ("HelloWorld", "hello-world"),
            ("2fast", "fast"),
        ] {
            let err = FunctionName::try_from(name.to_string()).unwrap_err();
            assert!(
                err.contains(&format!("`{name}` (`{suggestion}`?)")),
                "{err}"
            );
            assert!(FunctionName::try_from(suggestion.to_string()).is_ok());
        }
        let err = FunctionName::try_from("___".to_string()).unwrap_err();
        assert!(!err.contains("?)"), "{err}");
    }

    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("128MiB"), Ok(128 * 1024 * 1024));
        assert_eq!(parse_size("1g"), Ok(1024 * 1024 * 1024));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("0").is_err());
        assert!(parse_size("12 parsecs").is_err());
    }

    fn project_with(text: &str) -> Result<Project, ProjectError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(PROJECT_FILE), text).unwrap();
        Project::load(dir.path())
    }

    #[test]
    fn minimal_project_gets_defaults() {
        let p = project_with("[function]\nname = \"hi\"\nversion = \"1.0.0\"\n").unwrap();
        assert_eq!(p.name().as_str(), "hi");
        assert_eq!(p.file.function.triggers, vec![Trigger::Http]);
        assert_eq!(p.file.function.language, Language::Rust);
        assert!(
            p.function_output()
                .ends_with("target/faas/hi.function.wasm")
        );
    }

    #[test]
    fn invalid_name_is_located() {
        let err = project_with("[function]\nname = \"Hi There\"\nversion = \"1.0.0\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("faas.toml:2:8: invalid function name"),
            "{err}"
        );
    }

    #[test]
    fn unknown_trigger_and_unknown_key_are_errors() {
        let err =
            project_with("[function]\nname = \"a\"\nversion = \"1.0.0\"\ntriggers = [\"smtp\"]\n")
                .unwrap_err()
                .to_string();
        assert!(err.contains(":4:"), "{err}");
        let err = project_with("[function]\nname = \"a\"\nversion = \"1.0.0\"\nnmae = 1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains(":4:1: unknown field `nmae`"), "{err}");
    }

    #[test]
    fn search_walks_up_to_the_project_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(PROJECT_FILE),
            "[function]\nname = \"up\"\nversion = \"0.1.0\"\n",
        )
        .unwrap();
        let nested = dir.path().join("src/deep");
        std::fs::create_dir_all(&nested).unwrap();
        let p = Project::find(&nested).unwrap();
        assert_eq!(p.name().as_str(), "up");
    }
}
