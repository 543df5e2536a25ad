use super::status;
use clap::Args;
use faas::project::Project;
use faas::serve::Server;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Run a wrapped artifact locally, as a wasi:http host would.
///
/// Each request gets a fresh instance in a sandbox with no environment, files or network; one line
/// per request (method, path, status, time) is logged to stderr. The address served is printed on
/// stdout. Ctrl-C (or SIGTERM) stops the server.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  faas serve\n  faas serve target/faas/hello.wasm --addr 127.0.0.1:9000\n  \
    curl -H \"authorization: Bearer $KEY\" http://127.0.0.1:8080/"
)]
pub struct ServeArgs {
    /// The artifact (default: target/faas/NAME.wasm of the project, from `faas wrap`).
    file: Option<PathBuf>,

    /// The address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080", env = "FAAS_ADDR")]
    addr: SocketAddr,

    #[command(flatten)]
    config: super::config_args::ConfigArgs,

    #[command(flatten)]
    secrets: super::config_args::SecretArgs,

    #[command(flatten)]
    project: super::project_args::ProjectDir,

    #[command(flatten)]
    limits: super::limit_args::LimitArgs,

    /// Keep N instances warm and reuse them, as wasmCloud's host does with `poolSize`: each
    /// serves one request at a time, a request that finds none free gets a fresh instance, and
    /// one whose call traps or times out is replaced. WASI 0.3 artifacts only (the host never
    /// pools WASI 0.2 ones); 0 gives every request a fresh instance.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pool_size: usize,
}

impl ServeArgs {
    pub fn run(self) -> anyhow::Result<()> {
        let project = match &self.file {
            Some(_) => Project::find_optional(&self.project.start())?,
            None => Some(Project::find(&self.project.start())?),
        };
        let file = match (&self.file, &project) {
            (Some(file), _) => file.clone(),
            (None, Some(project)) => {
                let file = project.artifact_output();
                if !file.exists() {
                    anyhow::bail!("{} does not exist; run `faas wrap` first", file.display());
                }
                file
            }
            (None, None) => unreachable!("a project was required above"),
        };
        let mut options = self.limits.options(project.as_ref());
        options.warm = self.pool_size;
        let config = self.config.values()?;
        let server = Server::load(&file, config, &options)?.with_secrets(self.secrets.secrets);
        faas::serve::run(server, self.addr, |bound| {
            status(
                "Serving",
                format!("{} on http://{bound} (Ctrl-C stops)", file.display()),
            );
            println!("http://{bound}");
        })?;
        status("Stopped", "");
        Ok(())
    }
}
