//! The engine `faas serve` runs artifacts on: its options (limits, code cache, pooling
//! allocator, compiler), the host interfaces linked into every artifact, and compiling an
//! artifact for it.

use super::*;

/// How the engine is set up: its limits, and whether to use the compiled-code cache and the pooling
/// allocator.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// The limits every request's instance runs under.
    pub limits: Limits,
    /// The compiled-code cache folder; `None` compiles every time.
    pub cache: Option<PathBuf>,
    /// Per-request instances from wasmtime's pooling allocator (copy-on-write memory images).
    pub pooling: bool,
    /// Write a perf map of the compiled code (/tmp/perf-PID.map) for profiling with `perf`.
    pub perfmap: bool,
    /// Where what the artifact writes to stderr goes: the decorator's audit events, the
    /// function's own lines.
    pub guest_log: GuestLog,
    /// WASI 0.3 instances kept warm and reused, as wasmCloud's host does with `poolSize`
    /// (`--pool-size`); 0 gives every request a fresh instance.
    pub warm: usize,
    /// The compiler of the artifact's code.
    pub compiler: Compiler,
    /// `faas:dev/source`, for faas dev's development artifacts only; `None` leaves it unlinked,
    /// so an artifact that imports it cannot start.
    pub dev_source: Option<DevSource>,
}

/// Which of wasmtime's compilers turns an artifact into machine code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compiler {
    /// Optimising: the code production serving runs (`faas serve`, `faas test`, the benchmarks).
    #[default]
    Cranelift,
    /// Baseline: compiles several times faster into slower code, for a development loop
    /// (`faas dev`) where waiting for the compiler costs more than the code's speed.
    Winch,
}

impl std::fmt::Display for Compiler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Compiler::Cranelift => "Cranelift",
            Compiler::Winch => "Winch",
        })
    }
}

/// Where an artifact's stderr goes.
#[derive(Debug, Clone, Default)]
pub enum GuestLog {
    /// faas's own stderr (`faas serve`).
    #[default]
    Inherit,
    /// Nowhere (`faas serve -q` on a terminal).
    Discard,
    /// Appended to a file (`faas test`: the audit events stay out of the results).
    File(Arc<std::fs::File>),
}

impl GuestLog {
    /// Writes to the file at `path`, emptied first (created, with its folder).
    pub fn to_file(path: &Path) -> std::io::Result<GuestLog> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        Ok(GuestLog::File(Arc::new(std::fs::File::create(path)?)))
    }

    /// `faas serve`'s: faas's own stderr, or nothing under `-q` on a terminal (a log file or a
    /// pipe still gets every audit event).
    pub fn for_server() -> GuestLog {
        match crate::report::quiet() && crate::report::stderr_is_terminal() {
            true => GuestLog::Discard,
            false => GuestLog::Inherit,
        }
    }

    /// Sets a sandbox's stderr to this destination.
    pub(super) fn apply<'a>(
        &self,
        builder: &'a mut wasmtime_wasi::WasiCtxBuilder,
    ) -> &'a mut wasmtime_wasi::WasiCtxBuilder {
        match self {
            GuestLog::Inherit => builder.inherit_stderr(),
            GuestLog::Discard => builder.stderr(std::io::empty()),
            GuestLog::File(file) => match file.try_clone() {
                Ok(file) => builder.stderr(wasmtime_wasi::cli::OutputFile::new(file)),
                Err(_) => builder.stderr(std::io::empty()),
            },
        }
    }
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            cache: None,
            pooling: true,
            guest_log: GuestLog::Inherit,
            perfmap: false,
            warm: 0,
            compiler: Compiler::Cranelift,
            dev_source: None,
        }
    }
}

/// The compiled-code cache folder in the user's cache folder: `$XDG_CACHE_HOME/faas/wasmtime`
/// (or `~/.cache/faas/wasmtime`), or `FAAS_CACHE_DIR`. wasmtime keys each entry by the module's
/// bytes, its own version and the engine's settings.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("FAAS_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("faas").join("wasmtime"))
}

/// A status line for a compile people wait for: a Python or JavaScript artifact (tens of MB,
/// seconds to compile) says so before, and how long it took after; a small one says nothing.
pub(super) struct Compiling {
    pub(super) started: Option<Instant>,
}

impl Compiling {
    /// Artifacts from this size on take long enough to compile to say so.
    const SAY_FROM_BYTES: usize = 4 << 20;

    pub(super) fn start(path: &Path, bytes: &[u8]) -> Compiling {
        if bytes.len() < Self::SAY_FROM_BYTES {
            return Compiling { started: None };
        }
        crate::report::status(
            "Compiling",
            format!(
                "{} ({:.1} MB) for this machine",
                path.display(),
                bytes.len() as f64 / (1024.0 * 1024.0)
            ),
        );
        Compiling {
            started: Some(Instant::now()),
        }
    }

    pub(super) fn done(self) {
        if let Some(started) = self.started {
            crate::report::status(
                "Compiled",
                format!("in {:.1} s", started.elapsed().as_secs_f64()),
            );
        }
    }
}

/// The artifact compiled for the engine it needs, and the linker of that engine's host
/// interfaces. A WASI 0.2 artifact gets an engine without the component model's async support:
/// with it on, every call between layers and to the host also creates and retires a task (about
/// a tenth of a wrapped request's cost, docs/benchmarks.md). An artifact that uses async
/// functions, streams or futures does not validate there, and is compiled again with it on.
pub(super) fn compile(
    bytes: &[u8],
    options: &EngineOptions,
) -> anyhow::Result<(Linker<RequestState>, Component)> {
    // Said in faas's words before wasmtime says it in its own.
    if !bytes.starts_with(b"\0asm") {
        return Err(crate::component::CheckError::NotWasm.into());
    }
    if wasmparser::Parser::is_core_wasm(bytes) {
        anyhow::bail!(
            "a core WebAssembly module, not a component: build a function with `faas build` and \
             wrap it with `faas wrap`"
        );
    }
    // The first engine (and its pool's address space) is gone before the second is made.
    let sync_error = {
        let (engine, linker) = engine_and_linker(options, false)?;
        match Component::from_binary(&engine, bytes) {
            Ok(component) => return Ok((linker, component)),
            Err(e) => e,
        }
    };
    let (engine, linker) = engine_and_linker(options, true)?;
    match Component::from_binary(&engine, bytes) {
        Ok(component) => Ok((linker, component)),
        // Not an async matter: the first error says what is wrong.
        Err(_) => Err(anyhow::Error::from(sync_error)),
    }
}

/// The engine, and the host interfaces every artifact run here gets: WASI (the sandbox of
/// [`RequestState`]), `wasi:http`, and `wasi:config/store` answering from the values given; with
/// `asynchronous`, the WASI 0.3 ones too. Epoch interruption bounds every call; the pooling
/// allocator and the code cache make instances and start-ups cheap.
pub(super) fn engine_and_linker(
    options: &EngineOptions,
    asynchronous: bool,
) -> anyhow::Result<(Engine, Linker<RequestState>)> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    // WASI 0.3 artifacts: async functions, streams and futures.
    config.wasm_component_model_async(asynchronous);
    config.epoch_interruption(true);
    if options.perfmap {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    if options.compiler == Compiler::Winch {
        config.strategy(wasmtime::Strategy::Winch);
    }
    if let Some(dir) = &options.cache {
        let mut cache = wasmtime::CacheConfig::new();
        cache.with_directory(dir);
        match wasmtime::Cache::new(cache) {
            Ok(cache) => {
                config.cache(Some(cache));
            }
            // A cache that cannot be used is a slower start, not a failure.
            Err(e) => tracing::warn!("cannot use the code cache in {}: {e:#}", dir.display()),
        }
    }
    let engine = match options.pooling {
        true => {
            let mut pooled = config.clone();
            pooled.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pooling(
                &options.limits,
                options.warm,
            )));
            match Engine::new(&pooled) {
                Ok(engine) => engine,
                Err(e) => {
                    // Address space may be short (a container's limits): instances are then
                    // allocated on demand, which is slower but the same sandbox.
                    tracing::warn!("pooling allocator unavailable ({e:#}); allocating on demand");
                    Engine::new(&config).map_err(anyhow::Error::from)?
                }
            }
        }
        false => Engine::new(&config).map_err(anyhow::Error::from)?,
    };
    limits::start_ticker(&engine);
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(anyhow::Error::from)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
        .map_err(anyhow::Error::from)?;
    if asynchronous {
        wasmtime_wasi::p3::add_to_linker(&mut linker).map_err(anyhow::Error::from)?;
        wasmtime_wasi_http::p3::add_to_linker(&mut linker).map_err(anyhow::Error::from)?;
    }
    wasmtime_wasi_config::add_to_linker(&mut linker, |state: &mut RequestState| {
        WasiConfig::from(&*state.config)
    })
    .map_err(anyhow::Error::from)?;
    // An artifact with the messaging trigger beside HTTP imports the broker: what it publishes
    // is kept with its request (for `faas test`) and goes nowhere else.
    messaging::add_to_linker(&mut linker, asynchronous)?;
    // The rate limits' counters (and any granted key-value use), shared by every request.
    keyvalue::add_to_linker(&mut linker)?;
    // wasmCloud 2.x secrets (async functions), for WASI 0.3 artifacts that read them.
    if asynchronous {
        secrets::add_to_linker(&mut linker)?;
    }
    if let Some(source) = &options.dev_source {
        dev_source::add_to_linker(&mut linker, source)?;
    }
    Ok((engine, linker))
}

/// How much of each memory and table is reset in place rather than released ([`pooling`]).
pub(super) const MEMORY_KEEP_RESIDENT: usize = 2 << 20;
pub(super) const TABLE_KEEP_RESIDENT: usize = 64 << 10;

/// The pool for per-request instances: room for every request in flight and every warm instance,
/// each with the many small layers of an artifact (function, policy, decorator, adapters, deny
/// layers), and memories up to the cap.
pub(super) fn pooling(limits: &Limits, warm: usize) -> wasmtime::PoolingAllocationConfig {
    // Layers per artifact, generously: a wrapped artifact has about 10 components and 25 modules.
    const CORE_INSTANCES: u32 = 64;
    const MEMORIES: u32 = 48;
    const STACKS_PER_REQUEST: u32 = 8;
    // Warm instances keep their slots between requests.
    let requests = (limits.max_in_flight.max(1) + warm) as u32;
    let mut pool = wasmtime::PoolingAllocationConfig::default();
    pool.total_component_instances(requests)
        .total_core_instances(requests * CORE_INSTANCES)
        .total_memories(requests * MEMORIES)
        .total_tables(requests * CORE_INSTANCES)
        // A WASI 0.3 instance runs each of its tasks on a fiber of its own (a body streamed
        // while the handler returns is a second one): room for several per request.
        .total_stacks(requests * STACKS_PER_REQUEST)
        .max_memories_per_module(2)
        .max_tables_per_module(2)
        .max_memory_size(limits.max_memory)
        // An interpreter's core instance (CPython, StarlingMonkey) has large metadata.
        .max_core_instance_size(16 << 20)
        .max_component_instance_size(4 << 20)
        .table_elements(100_000)
        // Recycling a memory by `madvise` costs a TLB shootdown across the server's threads, and
        // page faults when the slot is next used; per request, per layer, that was most of the
        // cost of a wrapped artifact (docs/benchmarks.md). Instead, reset the pages a request
        // touched in place (found with the PAGEMAP_SCAN ioctl where the kernel has it, 6.7 and
        // later), up to a size that covers a Rust layer's stack, data and arena.
        .linear_memory_keep_resident(MEMORY_KEEP_RESIDENT)
        .table_keep_resident(TABLE_KEEP_RESIDENT)
        .pagemap_scan(wasmtime::Enabled::Auto);
    pool
}

/// A store for an artifact: its state and the memory cap, its epoch callback (the deadline, at
/// which a running function also yields to the server's other work) set by the caller.
pub(super) fn new_store(engine: &Engine, state: RequestState) -> Store<RequestState> {
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.cap);
    store.set_epoch_deadline(1);
    store
}
