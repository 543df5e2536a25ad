//! The validate stage: the checks on any Wasm file, as one typed [`Report`]. A function is checked
//! against the contract (as `faas build` does); a wrapped artifact is recognised by the layers it
//! records; against a platform, every import must be supplied and every export callable, each
//! problem naming the layer that has it. `faas validate`, `faas wrap --target` and the pipeline's
//! validate stage all come here.

use crate::artifact::{self, Layer, LayersNote};
use crate::component::{self, Origin};
use crate::digest;
use crate::platform::{Platform, Problem};
use serde::Serialize;
use std::path::PathBuf;

/// What validation found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The file checked.
    pub file: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Its digest.
    pub digest: String,
    /// `component`, `core-module`, or absent when the file could not be read as Wasm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<Origin>,
    /// What it imports.
    pub imports: Vec<String>,
    /// What it exports.
    pub exports: Vec<String>,
    /// The contract export, when present and compatible.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handler: Option<String>,
    /// The layers of a wrapped artifact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layers: Option<Vec<Layer>>,
    /// The platform checked against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Problems found against the platform, each with its layer and interface.
    pub target_problems: Vec<Problem>,
    /// Every problem found; empty when the file is valid.
    pub problems: Vec<String>,
    /// Whether there is no problem.
    pub valid: bool,
}

/// A file that failed validation: the error `faas validate` ends with, one line per problem.
#[derive(Debug, thiserror::Error)]
#[error("{}: {}", .file.display(), .problems.join("; "))]
pub struct Invalid {
    /// The file.
    pub file: PathBuf,
    /// Every problem, as in [`Report::problems`].
    pub problems: Vec<String>,
}

/// Validates the file `file` with contents `bytes`, against `target` when given.
pub fn validate(file: PathBuf, bytes: &[u8], target: Option<&Platform>) -> Report {
    let mut report = Report {
        file,
        size: bytes.len() as u64,
        digest: digest::sha256(bytes),
        kind: None,
        imports: vec![],
        exports: vec![],
        handler: None,
        layers: None,
        target: target.map(|t| t.name.clone()),
        target_problems: vec![],
        problems: vec![],
        valid: false,
    };
    match component::inspect(bytes) {
        Err(e) => report.problems.push(e.to_string()),
        Ok(inspection) => {
            report.kind = Some(inspection.origin);
            let note = artifact::read_layers(bytes);
            let is_function = inspection
                .exports
                .iter()
                .any(|e| e.starts_with("faas:function/handler@"));
            match (&note, is_function) {
                (Some(note), false) => report.layers = Some(note.layers.clone()),
                _ => match inspection.check_function() {
                    Ok(handler) => report.handler = Some(handler.interface),
                    Err(e) => report.problems.push(e.to_string()),
                },
            }
            if let Some(target) = target {
                // A bare function is one layer; an artifact names its layers in its note.
                let note = if is_function { None } else { note.as_ref() };
                report.target_problems = platform_problems(
                    target,
                    &inspection.imports,
                    &inspection.exports,
                    note,
                    is_function,
                );
                report
                    .problems
                    .extend(report.target_problems.iter().map(|p| p.message.clone()));
            }
            report.imports = inspection.imports;
            report.exports = inspection.exports;
        }
    }
    report.valid = report.problems.is_empty();
    report
}

/// What keeps a component with these imports and exports from running on `target`: every import
/// must be supplied and every export callable. Each problem names the layer that imports it, from
/// the artifact's `note` (`function` for a bare function, `component` when nothing says).
pub fn platform_problems(
    target: &Platform,
    imports: &[String],
    exports: &[String],
    note: Option<&LayersNote>,
    is_function: bool,
) -> Vec<Problem> {
    // Imports the platform links to the function's dependencies are not the host's to supply.
    let linked: Vec<&String> = note
        .map(|n| n.platform_links.values().flatten().collect())
        .unwrap_or_default();
    let imports: Vec<String> = imports
        .iter()
        .filter(|i| !linked.contains(i))
        .cloned()
        .collect();
    target.check(&imports, exports, &|import| {
        if is_function {
            "function".to_string()
        } else {
            artifact::layer_of(note, import)
        }
    })
}

/// The one-line message for an artifact that does not fit `target`, as wrap and the pipeline say it.
pub fn misfit_message(target: &str, problems: &[Problem]) -> String {
    let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
    format!(
        "the artifact does not fit the {target} target: {}",
        messages.join("; ")
    )
}
