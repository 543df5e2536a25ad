use super::{ExitWith, print_json};
use anyhow::Context;
use clap::Args;
use faas::component::{self, Origin};
use faas::digest;
use serde::Serialize;
use std::path::PathBuf;

/// Check a Wasm file: is it a component, what it imports and exports, does it implement the contract.
///
/// Runs the same checks as `faas build` on any file and reports what was found. Exits 1 when a check
/// fails.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  faas validate target/faas/hello.function.wasm\n  \
    faas validate some.wasm --json"
)]
pub struct ValidateArgs {
    /// The file to check.
    file: PathBuf,

    /// Print the report as one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

/// What `faas validate` found.
#[derive(Serialize)]
struct Report {
    file: PathBuf,
    size: u64,
    digest: String,
    /// `component`, `core-module`, or absent when the file could not be read as Wasm.
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<Origin>,
    imports: Vec<String>,
    exports: Vec<String>,
    /// The contract export, when present and compatible.
    #[serde(skip_serializing_if = "Option::is_none")]
    handler: Option<String>,
    /// Every problem found; empty when the file is a valid function component.
    problems: Vec<String>,
    valid: bool,
}

impl ValidateArgs {
    pub fn run(self) -> anyhow::Result<()> {
        let bytes = std::fs::read(&self.file)
            .with_context(|| format!("cannot read {}", self.file.display()))?;
        let mut report = Report {
            file: self.file.clone(),
            size: bytes.len() as u64,
            digest: digest::sha256(&bytes),
            kind: None,
            imports: vec![],
            exports: vec![],
            handler: None,
            problems: vec![],
            valid: false,
        };
        match component::inspect(&bytes) {
            Err(e) => report.problems.push(e.to_string()),
            Ok(inspection) => {
                report.kind = Some(inspection.origin);
                match inspection.check_function() {
                    Ok(handler) => report.handler = Some(handler.interface),
                    Err(e) => report.problems.push(e.to_string()),
                }
                report.imports = inspection.imports;
                report.exports = inspection.exports;
            }
        }
        report.valid = report.problems.is_empty();
        if self.json {
            print_json(&report)?;
        } else {
            print_human(&report);
        }
        if report.valid {
            Ok(())
        } else {
            if !self.json {
                for problem in &report.problems {
                    eprintln!("error: {}: {problem}", self.file.display());
                }
            }
            Err(ExitWith(super::exit::FAILURE).into())
        }
    }
}

fn print_human(report: &Report) {
    println!("{}", report.file.display());
    let kind = match report.kind {
        Some(Origin::Component) => "component",
        Some(Origin::CoreModule) => "core module with component-type metadata",
        None => "not a usable Wasm file",
    };
    println!("  kind     {kind}");
    println!("  size     {} bytes", report.size);
    println!("  digest   {}", report.digest);
    for import in &report.imports {
        println!("  import   {import}");
    }
    for export in &report.exports {
        println!("  export   {export}");
    }
    match &report.handler {
        Some(handler) => println!("  contract ok ({handler})"),
        None => println!("  contract NOT satisfied"),
    }
}
