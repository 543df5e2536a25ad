use super::ExitWith;
use anyhow::Context;
use clap::Args;
use std::io::Read;
use std::path::PathBuf;

/// Call a wrapped artifact once through its CLI trigger, without a server.
///
/// The request (JSON: method, path, headers, body) is read from --request or standard input and
/// passes the security policy like an HTTP request; the response is printed as JSON on stdout.
/// Exits 0 when the status is below 400, 1 otherwise: a CI job can smoke-test an artifact.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  faas invoke target/faas/hello.wasm --request req.json\n  \
    echo '{\"method\":\"GET\",\"path\":\"/health\"}' | faas invoke target/faas/hello.wasm"
)]
pub struct InvokeArgs {
    /// The artifact, wrapped with the cli trigger.
    file: PathBuf,

    /// The request as JSON (default: read from standard input).
    #[arg(long, value_name = "FILE")]
    request: Option<PathBuf>,

    #[command(flatten)]
    config: super::config_args::ConfigArgs,

    #[command(flatten)]
    limits: super::limit_args::LimitArgs,
}

impl InvokeArgs {
    pub fn run(self) -> anyhow::Result<()> {
        let request = match &self.request {
            Some(path) => {
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?
            }
            None => {
                let mut input = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut input)
                    .context("cannot read the request from standard input")?;
                input
            }
        };
        let config = self.config.values()?;
        let project = faas::project::Project::find_optional(std::path::Path::new("."))?;
        let options = self.limits.options(project.as_ref());
        let invocation = faas::serve::invoke(&self.file, request, config, &options)?;
        super::write_stdout(&invocation.stdout)?;
        if invocation.success {
            Ok(())
        } else {
            Err(ExitWith(super::exit::FAILURE).into())
        }
    }
}
