use super::status;
use clap::Args;
use faas::build::Profile;
use faas::dev::{DevOptions, Event, Reload};
use faas::project::Project;
use std::net::SocketAddr;

/// Build, wrap and serve the project, and do it again on every save.
///
/// Watches the function's sources, faas.toml and the policy (not target/, tests/, dependencies or
/// hidden files). On a change it rebuilds (only re-wraps when just the policy changed) and swaps
/// the served artifact without dropping the listener or requests in flight. A Python or
/// JavaScript function is served through a development artifact that reads its source at instance
/// start: a save of the source is checked and served by the next request, without a build. A
/// failed build, a syntax error or a policy error is shown, and the last good version keeps
/// serving. One status line per reload.
#[derive(Args)]
#[command(after_help = "Examples:\n  faas dev\n  faas dev --addr 127.0.0.1:9000 --json")]
pub struct DevArgs {
    /// The address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080", env = "FAAS_ADDR")]
    addr: SocketAddr,

    /// Build with cargo's dev profile (faster to compile, larger output); Rust only.
    #[arg(long)]
    debug: bool,

    /// Print one JSON object per line on stdout: `ready`, then each `reloaded` or `failed`.
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    config: super::config_args::ConfigArgs,

    #[command(flatten)]
    secrets: super::config_args::SecretArgs,

    #[command(flatten)]
    project: super::project_args::ProjectDir,

    #[command(flatten)]
    limits: super::limit_args::LimitArgs,

    /// Compile the artifact with Cranelift, as `faas serve` does, instead of Winch (which
    /// compiles several times faster into slower code: what a development loop wants).
    #[arg(long)]
    cranelift: bool,

    /// Build a Python or JavaScript function with its componentize tool on every save, as `faas
    /// build` does, instead of serving its source through a development artifact (whose
    /// stand-in reads the source at instance start, so a save needs no build).
    #[arg(long)]
    build_each_save: bool,
}

impl DevArgs {
    pub fn run(self) -> anyhow::Result<()> {
        let project = Project::find(&self.project.start())?;
        let mut engine = self.limits.options(Some(&project));
        engine.compiler = match self.cranelift {
            true => faas::serve::Compiler::Cranelift,
            false => faas::serve::Compiler::Winch,
        };
        let json = self.json;
        let options = DevOptions {
            profile: if self.debug {
                Profile::Debug
            } else {
                Profile::Release
            },
            engine,
            config: self.config.values()?,
            secrets: self.secrets.secrets,
            project,
            build_each_save: self.build_each_save,
        };
        let name = options.project.name().to_string();
        faas::dev::run(
            options,
            self.addr,
            move |bound| {
                status(
                    "Serving",
                    format!("{name} on http://{bound}, rebuilding on every change (Ctrl-C stops)"),
                );
                match json {
                    true => println!(
                        "{}",
                        serde_json::json!({ "event": "ready", "addr": bound.to_string() })
                    ),
                    false => println!("http://{bound}"),
                }
            },
            move |event| report(event, json),
        )?;
        status("Stopped", "");
        Ok(())
    }
}

fn report(event: &Event, json: bool) {
    let because = |changed: &[String]| match changed {
        [] => String::new(),
        [one] => format!(" ({one} changed)"),
        [first, rest @ ..] => format!(" ({first} and {} more changed)", rest.len()),
    };
    match event {
        Event::Reloaded {
            changed,
            reload,
            digest,
            development,
            build_ms,
            wrap_ms,
            load_ms,
            compiler,
            ..
        } => {
            let artifact = match development {
                true => " (development artifact: its source is read at instance start)",
                false => "",
            };
            let steps = match reload {
                Reload::Build => format!(
                    "build {build_ms:.0} ms, wrap {wrap_ms:.0} ms, load {load_ms:.0} ms ({compiler}){artifact}"
                ),
                Reload::Policy => {
                    format!("policy only: wrap {wrap_ms:.0} ms, load {load_ms:.0} ms ({compiler})")
                }
                Reload::Source => format!(
                    "source only: checked in {build_ms:.0} ms, served from the next request"
                ),
            };
            let verb = if changed.is_empty() {
                "Ready"
            } else {
                "Reloaded"
            };
            let short = digest.get(..19).unwrap_or(digest);
            status(verb, format!("{short}…{}: {steps}", because(changed)));
        }
        Event::Failed {
            changed,
            stage,
            message,
        } => {
            faas::report::log(format!(
                "error: {stage} failed{}: {message}",
                because(changed)
            ));
            status(
                "Waiting",
                "for the next change; the last good version keeps serving",
            );
        }
    }
    // The event last: a program that reads it then finds the status lines already written.
    if json {
        println!(
            "{}",
            serde_json::to_string(event).expect("events serialise")
        );
    }
}
