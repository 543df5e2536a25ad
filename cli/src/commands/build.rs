use super::{human_size, print_json, status};
use anyhow::Context;
use clap::Args;
use faas::build::{self, BuildOutput, Profile};
use faas::project::Project;
use std::path::PathBuf;

/// Compile the function into a component and check it exports the faas contract.
///
/// In a function folder (found through faas.toml, searching upwards) this compiles the function
/// (Rust with cargo for wasm32-wasip2, Python with componentize-py, JavaScript with componentize-js,
/// as faas.toml's `language` says) and writes target/faas/NAME.function.wasm. With --component, a
/// component made by any other toolchain (or a core module with component-type metadata) is
/// checked instead.
#[derive(Args)]
#[command(after_help = "Examples:\n  faas build\n  faas build --json\n  \
    faas build --component other-toolchain.wasm -o target/faas/hello.function.wasm")]
pub struct BuildArgs {
    /// Build with cargo's dev profile (faster to compile, larger output); Rust only.
    #[arg(long)]
    debug: bool,

    /// Check and adopt this component instead of compiling the project.
    #[arg(long, value_name = "FILE")]
    component: Option<PathBuf>,

    /// Where to write the component (default: target/faas/NAME.function.wasm in the project).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    #[command(flatten)]
    project: super::project_args::ProjectDir,

    /// Print the result as one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

impl BuildArgs {
    pub fn run(self) -> anyhow::Result<()> {
        let start = self.project.start();
        let built = match &self.component {
            Some(input) => {
                // A bring-your-own component needs no project, but takes its name from one if any.
                let project = Project::find_optional(&start)?;
                let name = match &project {
                    Some(p) => p.name().to_string(),
                    None => file_stem(input),
                };
                let output = match (&self.output, &project) {
                    (Some(o), _) => o.clone(),
                    (None, Some(p)) => p.function_output(),
                    (None, None) => PathBuf::from(format!("target/faas/{name}.function.wasm")),
                };
                status("Checking", input.display());
                build::accept_component(&name, input, &output)?
            }
            None => {
                let project = Project::find(&start)?;
                let profile = if self.debug {
                    Profile::Debug
                } else {
                    Profile::Release
                };
                status(
                    "Building",
                    format!(
                        "{} ({})",
                        project.name(),
                        build::describe_toolchain(project.file.function.language, profile)
                    ),
                );
                let output = self.output.unwrap_or_else(|| project.function_output());
                build::build_project(&project, profile, &output)
                    .with_context(|| format!("cannot build the function `{}`", project.name()))?
            }
        };
        report(&built, self.json)
    }
}

fn file_stem(path: &std::path::Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "function".into());
    stem.trim_end_matches(".function").to_string()
}

fn report(built: &BuildOutput, json: bool) -> anyhow::Result<()> {
    status(
        "Finished",
        format!("{} ({})", built.path.display(), human_size(built.size)),
    );
    if json {
        return print_json(built);
    }
    println!("{}", built.path.display());
    println!("  size     {} bytes", built.size);
    println!("  digest   {}", built.digest);
    println!("  exports  {}", built.handler.interface);
    Ok(())
}
