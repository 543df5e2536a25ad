use super::{ExitWith, print_json};
use anyhow::Context;
use clap::Args;
use faas::component::Origin;
use faas::validate::{self, Report};
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

    /// The platform the file must fit.
    #[arg(long, value_name = "NAME", env = "FAAS_TARGET", value_parser = clap::builder::PossibleValuesParser::new(faas::platform::NAMES))]
    target: Option<String>,

    /// Print the report as one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

impl ValidateArgs {
    pub fn run(self) -> anyhow::Result<()> {
        let bytes = std::fs::read(&self.file)
            .with_context(|| format!("cannot read {}", self.file.display()))?;
        let target = match &self.target {
            Some(name) => Some(faas::platform::Platform::load(name).map_err(anyhow::Error::msg)?),
            None => None,
        };
        let report = validate::validate(self.file.clone(), &bytes, target.as_ref());
        if self.json {
            print_json(&report)?;
        } else {
            print_human(&report);
        }
        if report.valid {
            Ok(())
        } else if self.json {
            // The report on stdout says it all.
            Err(ExitWith(super::exit::FAILURE).into())
        } else {
            Err(validate::Invalid {
                file: report.file,
                problems: report.problems,
            }
            .into())
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
