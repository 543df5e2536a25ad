use super::{human_size, print_json, status};
use anyhow::Context;
use clap::Args;
use faas::project::{Language, Project, Trigger};
use faas::wrap::{self, WrapOptions, WrapOutput};
use std::path::PathBuf;

/// Wrap the function in the security decorator generated from the policy and the trigger adapters.
///
/// In a function folder this takes target/faas/NAME.function.wasm (from `faas build`) and the policy
/// named in faas.toml, and writes target/faas/NAME.wasm: one component exporting
/// wasi:http/incoming-handler, in which every request passes the policy before reaching the
/// function. Nothing is compiled; the same inputs always give the same bytes.
///
/// With --http-component, the policy goes in front of any WASI 0.3 HTTP component instead (one
/// that exports wasi:http/handler@0.3, built with any toolchain): the result exports the same
/// interface, for --target wasi-http@0.3 (the default then) or wasmcloud@0.3.
#[derive(Args)]
#[command(after_help = "Examples:\n  faas build && faas wrap\n  \
    faas wrap --policy prod-auth.toml -o app.wasm --json\n  \
    faas wrap --function hello.function.wasm --policy auth.toml -o hello.wasm\n  \
    faas wrap --http-component app.wasm --policy auth.toml -o app.protected.wasm")]
pub struct WrapArgs {
    /// The policy file (default: the one faas.toml names, normally auth.toml).
    #[arg(long, value_name = "FILE", env = "FAAS_POLICY")]
    policy: Option<PathBuf>,

    /// The function component (default: target/faas/NAME.function.wasm of the project).
    #[arg(long, value_name = "FILE")]
    function: Option<PathBuf>,

    /// A WASI 0.3 HTTP component to put the policy in front of, instead of a function of the
    /// contract: no project needed (the policy defaults to ./auth.toml, the output to
    /// NAME.protected.wasm beside the component).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["function", "triggers", "language"])]
    http_component: Option<PathBuf>,

    /// Where to write the artifact (default: target/faas/NAME.wasm).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// The triggers, comma-separated: http, messaging, cli (default: faas.toml's `triggers`).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    triggers: Option<Vec<Trigger>>,

    /// Check that the artifact fits this platform (default: faas.toml's `target`, if any); a WASI
    /// 0.3 one (`NAME@0.3`) also picks the WASI 0.3 adapters.
    #[arg(long, value_name = "NAME", env = "FAAS_TARGET", value_parser = clap::builder::PossibleValuesParser::new(faas::platform::NAMES))]
    target: Option<String>,

    /// The function's language: rust, python or javascript (default: faas.toml's `language`, or
    /// rust). Python and JavaScript runtimes import files, sockets and outgoing HTTP whatever the
    /// function does; for them, what the policy does not grant is denied inside the artifact.
    #[arg(long, value_name = "NAME")]
    language: Option<Language>,

    #[command(flatten)]
    project: super::project_args::ProjectDir,

    /// Print the result as one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

impl WrapArgs {
    pub fn run(self) -> anyhow::Result<()> {
        if let Some(component) = &self.http_component {
            let options = self.http_component_options(component.clone());
            return self.wrap(options);
        }
        let start = self.project.start();
        // A project is needed unless function, policy and output are all given.
        let standalone = self.function.is_some() && self.policy.is_some() && self.output.is_some();
        let project = if standalone {
            Project::find_optional(&start)?
        } else {
            Some(Project::find(&start)?)
        };
        let options = match &project {
            Some(project) => {
                let function = self
                    .function
                    .clone()
                    .unwrap_or_else(|| project.function_output());
                if !function.exists() {
                    anyhow::bail!(
                        "{} does not exist; run `faas build` first",
                        function.display()
                    );
                }
                let defaults = WrapOptions::for_project(project);
                WrapOptions {
                    function,
                    policy: self.policy.clone().unwrap_or(defaults.policy),
                    output: self.output.clone().unwrap_or(defaults.output),
                    target: self.target.clone().or(defaults.target),
                    triggers: self.triggers.clone().unwrap_or(defaults.triggers),
                    language: self.language.unwrap_or(defaults.language),
                    ..defaults
                }
            }
            None => {
                let output = self.output.clone().expect("standalone has an output");
                let name = output
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "function".into());
                WrapOptions {
                    function: self.function.clone().expect("standalone has a function"),
                    policy: self.policy.clone().expect("standalone has a policy"),
                    output,
                    name,
                    target: self.target.clone(),
                    triggers: self.triggers.clone().unwrap_or_else(|| vec![Trigger::Http]),
                    language: self.language.unwrap_or(Language::Rust),
                    target_checked_by_caller: false,
                    project_root: None,
                    http_component: false,
                    development: false,
                }
            }
        };
        self.wrap(options)
    }

    /// The options of `--http-component`: beside the component, checked for a WASI 0.3 host.
    fn http_component_options(&self, component: PathBuf) -> WrapOptions {
        let name = component
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "component".into());
        let output = self
            .output
            .clone()
            .unwrap_or_else(|| component.with_file_name(format!("{name}.protected.wasm")));
        WrapOptions {
            function: component,
            policy: self
                .policy
                .clone()
                .unwrap_or_else(|| self.project.start().join("auth.toml")),
            output,
            name,
            target: Some(
                self.target
                    .clone()
                    .unwrap_or_else(|| "wasi-http@0.3".to_string()),
            ),
            target_checked_by_caller: false,
            triggers: vec![Trigger::Http],
            language: Language::Rust,
            project_root: None,
            http_component: true,
            development: false,
        }
    }

    fn wrap(&self, options: WrapOptions) -> anyhow::Result<()> {
        status(
            "Wrapping",
            format!("{} with {}", options.name, options.policy.display()),
        );
        let what = if options.http_component {
            "component"
        } else {
            "function"
        };
        let wrapped = wrap::wrap(&options)
            .with_context(|| format!("cannot wrap the {what} `{}`", options.name))?;
        report(&wrapped, self.json)
    }
}

fn report(wrapped: &WrapOutput, json: bool) -> anyhow::Result<()> {
    status(
        "Finished",
        format!("{} ({})", wrapped.path.display(), human_size(wrapped.size)),
    );
    if json {
        return print_json(wrapped);
    }
    println!("{}", wrapped.path.display());
    println!("  size     {} bytes", wrapped.size);
    println!("  digest   {}", wrapped.digest);
    println!(
        "  policy   {} ({})",
        wrapped.policy.path.display(),
        wrapped.policy.summary
    );
    println!("  layers   (outermost last)");
    // One column for every name, `dependency-text-deny` included.
    let width = wrapped
        .layers
        .iter()
        .map(|l| l.layer.len())
        .max()
        .unwrap_or(0);
    for layer in &wrapped.layers {
        println!(
            "    {:<width$} {:>8} bytes  {}",
            layer.layer, layer.size, layer.digest
        );
    }
    for export in &wrapped.exports {
        println!("  export   {export}");
    }
    for import in &wrapped.imports {
        println!("  import   {import}");
    }
    Ok(())
}
