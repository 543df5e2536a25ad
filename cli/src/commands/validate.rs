use super::{ExitWith, print_json};
use anyhow::Context;
use clap::Args;
use faas::component::{self, Origin};
use faas::digest;
use serde::Serialize;
use std::path::PathBuf;

/// Check a Wasm file: is it a component, what it imports and exports, does it fit.
///
/// A function is checked against the contract (as `faas build` does); a wrapped artifact (from
/// `faas wrap`) is recognised by the layers it records. With --target, every import must be
/// supplied and every export callable by that platform; each problem names the layer, the
/// interface and a fix, all at once. Exits 1 when a check fails.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  faas validate target/faas/hello.function.wasm\n  \
    faas validate target/faas/hello.wasm --target wasi-http --json"
)]
pub struct ValidateArgs {
    /// The file to check.
    file: PathBuf,

    /// The platform the file must fit: wasi-http or wasmcloud.
    #[arg(long, value_name = "NAME", env = "FAAS_TARGET")]
    target: Option<String>,

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
    /// The layers of a wrapped artifact.
    #[serde(skip_serializing_if = "Option::is_none")]
    layers: Option<Vec<faas::wrap::Layer>>,
    /// The target checked against.
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<String>,
    /// Problems found against the target, each with its layer and interface.
    target_problems: Vec<faas::targets::Problem>,
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
            layers: None,
            target: self.target.clone(),
            target_problems: vec![],
            problems: vec![],
            valid: false,
        };
        let target = match &self.target {
            Some(name) => Some(faas::targets::Target::load(name).map_err(anyhow::Error::msg)?),
            None => None,
        };
        match component::inspect(&bytes) {
            Err(e) => report.problems.push(e.to_string()),
            Ok(inspection) => {
                report.kind = Some(inspection.origin);
                let note = faas::wrap::read_layers(&bytes);
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
                if let Some(target) = &target {
                    report.target_problems =
                        target.check(&inspection.imports, &inspection.exports, &|import| {
                            if is_function {
                                "function".to_string()
                            } else {
                                faas::wrap::layer_of(note.as_ref(), import)
                            }
                        });
                    report
                        .problems
                        .extend(report.target_problems.iter().map(|p| p.message.clone()));
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
    match (&report.handler, &report.layers) {
        (Some(handler), _) => println!("  contract ok ({handler})"),
        (None, Some(layers)) => {
            let names: Vec<_> = layers.iter().map(|l| l.layer.as_str()).collect();
            println!("  artifact layers: {}", names.join(", "));
        }
        (None, None) => println!("  contract NOT satisfied"),
    }
    if let Some(target) = &report.target {
        if report.target_problems.is_empty() {
            println!("  target   {target}: ok");
        } else {
            println!(
                "  target   {target}: {} problem(s)",
                report.target_problems.len()
            );
        }
    }
}
