//! The `[dependencies.NAME]` tables of `faas.toml`: the components a function calls (`faas
//! deps` writes them; [`crate::deps`] resolves and pins them).

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// How a dependency reaches the function.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Link {
    /// `faas wrap` composes it into the artifact, as a layer of its own.
    #[default]
    Compose,
    /// The artifact keeps the import; the platform links it to the dependency's component.
    Platform,
}

/// `[dependencies.NAME]` in faas.toml.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DependencySpec {
    /// A component file, relative to faas.toml.
    pub path: Option<PathBuf>,
    /// A published component: `host[:port]/repository:tag|@digest` or `oci:PATH:tag|@digest`.
    pub oci: Option<String>,
    /// Another faas function: its project folder, relative to faas.toml (its built function
    /// component and its policy are what is pinned).
    pub project: Option<PathBuf>,
    /// How it reaches the function.
    #[serde(default)]
    pub link: Link,
    /// A platform-linked dependency's owner's public key (PEM, relative to faas.toml): `faas
    /// deploy` verifies its image with it and writes it into the admission policies, which refuse
    /// any other image in the workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PathBuf>,
}

impl DependencySpec {
    /// Where the component comes from: exactly one of `path`, `oci` and `project`.
    pub fn source(&self) -> Result<Source<'_>, String> {
        match (&self.path, &self.oci, &self.project) {
            (Some(path), None, None) => Ok(Source::Path(path)),
            (None, Some(reference), None) => Ok(Source::Oci(reference)),
            (None, None, Some(dir)) => Ok(Source::Project(dir)),
            _ => Err("give exactly one of `path`, `oci` and `project`".into()),
        }
    }
}

/// Where a dependency's component comes from.
pub enum Source<'a> {
    /// A component file.
    Path(&'a Path),
    /// A published component.
    Oci(&'a str),
    /// Another faas function's project folder.
    Project(&'a Path),
}

/// Whether `name` can name a dependency: it becomes a layer's name and a WIT folder's.
pub fn check_name(name: &str) -> Result<(), String> {
    super::FunctionName::try_from(name.to_string())
        .map(|_| ())
        .map_err(|e| e.replace("function name", "dependency name"))
}
