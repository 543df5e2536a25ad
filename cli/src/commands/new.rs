use super::{print_json, status};
use anyhow::Context;
use clap::Args;
use faas::new::Template;
use faas::project::FunctionName;
use std::path::PathBuf;

/// Create a new function project from a template.
///
/// Writes a buildable project: the function's source, the contract WIT (wit/), faas.toml, a sample
/// auth.toml with a freshly generated sample key, and a README. Refuses to touch a non-empty folder.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  faas new hello && cd hello && faas build\n  \
    faas new hello-py --template python-http\n  faas new hello-js --template js-http"
)]
pub struct NewArgs {
    /// The function's name: lower-case letters, digits and '-'.
    #[arg(value_parser = parse_name)]
    name: FunctionName,

    /// The template to render: rust-http, python-http or js-http.
    #[arg(long, default_value = "rust-http", value_parser = parse_template)]
    template: Template,

    /// The folder to create (default: ./NAME).
    #[arg(long)]
    dir: Option<PathBuf>,

    /// Print what was created as one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

fn parse_name(s: &str) -> Result<FunctionName, String> {
    FunctionName::try_from(s.to_string())
}

fn parse_template(s: &str) -> Result<Template, String> {
    s.parse()
}

impl NewArgs {
    pub fn run(self) -> anyhow::Result<()> {
        let dir = self
            .dir
            .unwrap_or_else(|| PathBuf::from(self.name.as_str()));
        let created = faas::new::scaffold(&self.name, self.template, &dir)
            .with_context(|| format!("cannot create the function `{}`", self.name))?;
        if self.json {
            return print_json(&created);
        }
        status(
            "Created",
            format!(
                "function `{}` ({}) in {}",
                self.name,
                created.template,
                dir.display()
            ),
        );
        match &created.build_tool {
            Some(tool) => println!(
                "Next: cd {} && faas build   (the first build installs {tool} into the project)",
                dir.display()
            ),
            None => println!("Next: cd {} && faas build", dir.display()),
        }
        Ok(())
    }
}
