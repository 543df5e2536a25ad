//! One call, no server: `faas invoke` and `faas test` run an artifact's handler in process.

use super::*;

/// The result of `faas invoke`.
pub struct Invocation {
    /// Whether `wasi:cli/run` returned success (the function answered below 400).
    pub success: bool,
    /// What the artifact wrote to standard output (the response as JSON).
    pub stdout: Vec<u8>,
}

/// Runs the artifact's `wasi:cli/run` (the CLI trigger) once, with `request` on standard input,
/// in the same sandbox as `faas serve` (the same imports are supplied: WASI, `wasi:http` types,
/// `wasi:config/store`).
pub fn invoke(
    path: &Path,
    request: Vec<u8>,
    values: Vec<(String, String)>,
    options: &EngineOptions,
) -> anyhow::Result<Invocation> {
    OneShot::load(path, values, options)?.invoke(request)
}

/// An artifact compiled once for calls made one at a time without a server (`faas invoke`, and
/// `faas test`'s CLI and messaging cases): each call gets a fresh instance, in the sandbox and
/// under the limits of a served request.
pub struct OneShot {
    pub(super) path: PathBuf,
    pub(super) engine: Engine,
    pub(super) linker: Linker<RequestState>,
    pub(super) component: Component,
    pub(super) config: Arc<WasiConfigVariables>,
    pub(super) outgoing: Arc<Vec<String>>,
    pub(super) limits: Limits,
    pub(super) guest_log: GuestLog,
}

impl OneShot {
    /// Compiles the artifact at `path`, to answer configuration from `values`.
    pub fn load(
        path: &Path,
        values: Vec<(String, String)>,
        options: &EngineOptions,
    ) -> anyhow::Result<Self> {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let compiling = Compiling::start(path, &bytes);
        let (linker, component) = compile(&bytes, options)
            .with_context(|| format!("{} is not a component", path.display()))?;
        compiling.done();
        Ok(Self {
            path: path.to_path_buf(),
            engine: linker.engine().clone(),
            linker,
            component,
            config: Arc::new(values.into_iter().collect()),
            outgoing: granted_hosts(&bytes),
            limits: options.limits.clone(),
            guest_log: options.guest_log.clone(),
        })
    }

    /// A store for one call, with `wasi` as its sandbox.
    pub(super) fn store(&self, wasi: WasiCtx) -> Store<RequestState> {
        let state = RequestState::with_wasi(
            self.config.clone(),
            wasi,
            self.limits.max_memory,
            self.outgoing.clone(),
        );
        let mut store = new_store(&self.engine, state);
        store.epoch_deadline_callback(limits::deadline_callback(
            self.limits.timeout,
            Arc::new(AtomicBool::new(false)),
        ));
        store
    }

    /// Runs `call` to completion on a runtime of its own.
    pub(super) fn run<T>(call: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(call)
    }

    /// Runs the CLI trigger once, with `request` on standard input.
    pub fn invoke(&self, request: Vec<u8>) -> anyhow::Result<Invocation> {
        use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
        let stdout = MemoryOutputPipe::new(16 * 1024 * 1024);
        let mut builder = WasiCtx::builder();
        builder
            .stdin(MemoryInputPipe::new(request))
            .stdout(stdout.clone());
        self.guest_log.apply(&mut builder);
        let mut store = self.store(builder.build());
        let success = Self::run(async {
            let command = wasmtime_wasi::p2::bindings::Command::instantiate_async(
                &mut store,
                &self.component,
                &self.linker,
            )
            .await
            .map_err(anyhow::Error::from)
            .with_context(|| {
                format!(
                    "cannot run {} (it needs the cli trigger: faas.toml triggers, or faas \
                     wrap --triggers cli; and only imports this host supplies)",
                    self.path.display()
                )
            })?;
            let result = command
                .wasi_cli_run()
                .call_run(&mut store)
                .await
                .map_err(anyhow::Error::from)
                .context("the artifact trapped")?;
            anyhow::Ok(result.is_ok())
        })?;
        Ok(Invocation {
            success,
            stdout: stdout.contents().to_vec(),
        })
    }
}
