//! The limits flags, shared by `faas serve` and `faas invoke` (docs/cli.md lists the defaults).

use clap::Args;
use faas::project::Project;
use faas::serve::{EngineOptions, Limits};
use std::time::Duration;

/// How much one request may take, and how the engine runs.
#[derive(Args)]
pub struct LimitArgs {
    /// How long one request may run before it is interrupted and answered 504 [default: 30s, or
    /// faas.toml's [limits] timeout].
    #[arg(long, value_name = "DURATION", env = "FAAS_TIMEOUT", value_parser = humantime::parse_duration)]
    timeout: Option<Duration>,

    /// The largest a function's memory may grow; past it the request traps and is answered 500
    /// [default: 128MiB, or faas.toml's [limits] max-memory].
    #[arg(long, value_name = "SIZE", env = "FAAS_MAX_MEMORY", value_parser = faas::project::parse_size)]
    max_memory: Option<usize>,

    /// Requests running at once; more are answered 503 with retry-after.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_in_flight)]
    max_in_flight: usize,

    /// Open connections (kept below the process's open-files limit); more wait to be accepted.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_connections)]
    max_connections: usize,

    /// How long a connection may take to send a request head, idle keep-alive ones included.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    header_timeout: Duration,

    /// At Ctrl-C or SIGTERM, how long requests in flight may take to finish before they are
    /// interrupted.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    drain_timeout: Duration,

    /// Compile the artifact every time instead of using the compiled-code cache
    /// (~/.cache/faas/wasmtime, or FAAS_CACHE_DIR).
    #[arg(long)]
    no_cache: bool,

    /// Write /tmp/perf-PID.map, so that `perf record` / `perf report` name the artifact's
    /// functions (docs/benchmarks.md shows how to profile).
    #[arg(long)]
    perfmap: bool,
}

impl LimitArgs {
    /// The engine options these flags, and the project's `[limits]` table, say.
    pub fn options(&self, project: Option<&Project>) -> EngineOptions {
        let file = project.map(|p| &p.file.limits);
        let defaults = Limits::default();
        EngineOptions {
            limits: Limits {
                timeout: self
                    .timeout
                    .or(file.and_then(|l| l.timeout))
                    .unwrap_or(defaults.timeout),
                max_memory: self
                    .max_memory
                    .or(file.and_then(|l| l.max_memory))
                    .unwrap_or(defaults.max_memory),
                max_in_flight: self.max_in_flight.max(1),
                max_connections: self.max_connections.max(1),
                header_timeout: self.header_timeout,
                drain: self.drain_timeout,
            },
            cache: if self.no_cache {
                None
            } else {
                faas::serve::default_cache_dir()
            },
            pooling: true,
            perfmap: self.perfmap,
            guest_log: faas::serve::GuestLog::for_server(),
            warm: 0,
            compiler: faas::serve::Compiler::Cranelift,
            dev_source: None,
        }
    }
}
