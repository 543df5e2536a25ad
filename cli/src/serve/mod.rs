//! `faas serve`: run a wrapped artifact locally with wasmtime, the way a `wasi:http` host does.
//!
//! The component is compiled once and pre-instantiated; each request gets a fresh instance (as on
//! the platforms), through `wasi:http/incoming-handler@0.2` or, for WASI 0.3 artifacts
//! (`--target wasi-http@0.3`, `--http-component`), `wasi:http/handler@0.3`, or a warm one under
//! `--pool-size` ([`warm`]); a sandbox with no environment, arguments, files or network, and
//! outgoing HTTP only to granted hosts. One log line per request goes to stderr.

mod dev_source;
mod keyvalue;
mod limits;
mod messaging;
mod secrets;
mod warm;

pub use dev_source::{DevSource, SourceFiles};
pub use limits::{Interrupted, Limits, MemoryCapExceeded};
pub use messaging::{Delivery, Message};

use crate::report;
use anyhow::Context;
use http_body_util::BodyExt;
use hyper::server::conn::http1;
use limits::MemoryCap;
use std::net::SocketAddr;
use std::path::Path;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use std::time::Instant;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_config::{WasiConfig, WasiConfigVariables};
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::p3::bindings::ServicePre;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

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
    fn apply<'a>(
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

/// The keys in this process's key-value store, which every artifact served in the process shares
/// (what the verifier layer keeps there: fetched keys, rate-limit counters).
pub fn store_keys() -> Vec<String> {
    keyvalue::Store::process().keys()
}

/// A compiled, pre-instantiated artifact ready to serve requests.
#[derive(Clone)]
pub struct Server {
    pre: Pre,
    config: Arc<WasiConfigVariables>,
    /// The `wasmcloud:secrets@2.1.0` values (WASI 0.3 artifacts' `{ secret = … }` credentials).
    secrets: secrets::Values,
    /// The hosts the policy lets outgoing HTTP reach (from the artifact's layers note).
    outgoing: Arc<Vec<String>>,
    limits: Limits,
    in_flight: Arc<Semaphore>,
    /// Set when the drain deadline passes: every running instance is interrupted.
    interrupt: Arc<AtomicBool>,
    /// Where the artifact's stderr goes.
    guest_log: GuestLog,
    /// The warm instances (WASI 0.3 artifacts under `--pool-size`).
    warm: Option<Arc<warm::Pool>>,
}

impl Server {
    /// Compiles the artifact at `path` and links it against the host's WASI, `wasi:http` and
    /// `wasi:config/store` (answering from `values`).
    pub fn load(
        path: &Path,
        values: Vec<(String, String)>,
        options: &EngineOptions,
    ) -> anyhow::Result<Self> {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let compiling = Compiling::start(path, &bytes);
        let server = Self::from_bytes_with(&bytes, values, options)
            .with_context(|| format!("cannot serve {}", path.display()))?;
        compiling.done();
        Ok(server)
    }

    /// As [`Server::load`], from bytes, with the default limits and no cache.
    pub fn from_bytes(bytes: &[u8], values: Vec<(String, String)>) -> anyhow::Result<Self> {
        Self::from_bytes_with(bytes, values, &EngineOptions::default())
    }

    /// As [`Server::load`], from bytes.
    pub fn from_bytes_with(
        bytes: &[u8],
        values: Vec<(String, String)>,
        options: &EngineOptions,
    ) -> anyhow::Result<Self> {
        let (linker, component) = compile(bytes, options)?;
        let exports: Vec<String> = component
            .component_type()
            .exports(linker.engine())
            .map(|(name, _)| name.to_string())
            .collect();
        let serves = |prefix: &str| exports.iter().any(|e| e.starts_with(prefix));
        if !serves("wasi:http/incoming-handler@") && !serves("wasi:http/handler@") {
            if serves("faas:function/handler@") {
                anyhow::bail!(
                    "this is a bare function (it exports faas:function/handler), not a wrapped \
                     artifact: run `faas wrap` and serve what it writes (target/faas/NAME.wasm)"
                );
            }
            anyhow::bail!(
                "it exports no HTTP handler (wasi:http/incoming-handler or wasi:http/handler) to \
                 serve; it exports {}: wrap it with the http trigger",
                match exports.is_empty() {
                    true => "nothing".to_string(),
                    false => exports.join(", "),
                }
            );
        }
        let instance_pre = linker
            .instantiate_pre(&component)
            .map_err(anyhow::Error::from)
            .context("the artifact needs imports this host does not provide")?;
        let pre = match ProxyPre::new(instance_pre.clone()) {
            Ok(pre) => Pre::P2(pre),
            Err(_) => Pre::P3(
                ServicePre::new(instance_pre)
                    .map_err(anyhow::Error::from)
                    .context(
                        "the artifact exports neither wasi:http/incoming-handler@0.2 nor \
                 wasi:http/handler@0.3",
                    )?,
            ),
        };
        Ok(Self {
            pre,
            config: Arc::new(values.into_iter().collect()),
            secrets: Default::default(),
            outgoing: granted_hosts(bytes),
            in_flight: Arc::new(Semaphore::new(options.limits.max_in_flight)),
            limits: options.limits.clone(),
            interrupt: Arc::new(AtomicBool::new(false)),
            guest_log: options.guest_log.clone(),
            warm: (options.warm > 0).then(|| Arc::new(warm::Pool::new(options.warm))),
        })
    }

    /// The server with `values` as its `wasmcloud:secrets` store (`--secret KEY=VALUE`).
    pub fn with_secrets(mut self, values: Vec<(String, String)>) -> Self {
        self.secrets = Arc::new(values.into_iter().collect());
        self
    }

    /// A store for one request: a fresh sandbox, the memory cap, and the deadline.
    fn store(&self) -> Store<RequestState> {
        let mut store = self.sandbox();
        store.epoch_deadline_callback(limits::deadline_callback(
            self.limits.timeout,
            self.interrupt.clone(),
        ));
        store
    }

    /// A store for a warm instance: the sandbox and memory cap of [`Server::store`], and each
    /// call's deadline kept by the instance's driver instead of the store.
    fn warm_store(&self) -> Store<RequestState> {
        let mut store = self.sandbox();
        store.epoch_deadline_callback(limits::yield_callback(self.interrupt.clone()));
        store
    }

    /// This version without its warm instances, for their drivers (which must not keep alive the
    /// pool that owns them).
    fn without_pool(&self) -> Server {
        Server {
            warm: None,
            ..self.clone()
        }
    }

    fn sandbox(&self) -> Store<RequestState> {
        let engine = match &self.pre {
            Pre::P2(pre) => pre.engine(),
            Pre::P3(pre) => pre.engine(),
        };
        let mut state = RequestState::with_wasi(
            self.config.clone(),
            self.guest_log.apply(&mut WasiCtx::builder()).build(),
            self.limits.max_memory,
            self.outgoing.clone(),
        );
        state.secrets = self.secrets.clone();
        new_store(engine, state)
    }

    /// Times `iterations` instantiations of the pre-instantiated artifact, each in a fresh store as
    /// for a request (used by the benchmarks).
    pub fn time_instantiations(
        &self,
        iterations: usize,
    ) -> anyhow::Result<Vec<std::time::Duration>> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let mut times = Vec::with_capacity(iterations);
            for _ in 0..iterations {
                let mut store = self.store();
                let started = Instant::now();
                match &self.pre {
                    Pre::P2(pre) => {
                        pre.instantiate_async(&mut store).await?;
                    }
                    Pre::P3(pre) => {
                        pre.instantiate_async(&mut store).await?;
                    }
                }
                times.push(started.elapsed());
            }
            Ok(times)
        })
    }

    /// Serves connections from `listener` until `shutdown` completes, then drains: no new
    /// connections, requests in flight finish (up to the drain deadline, after which they are
    /// interrupted), and it returns.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        Live::with(self).serve(listener, shutdown).await
    }

    /// Handles one request in a fresh instance, and logs it.
    async fn handle(
        &self,
        req: hyper::Request<hyper::body::Incoming>,
    ) -> Result<hyper::Response<HyperOutgoingBody>, std::convert::Infallible> {
        let started = Instant::now();
        let method = req.method().clone();
        let path = logged_path(req.uri());
        tracing::debug!(%method, %path, "request");
        let response = match refusal_before_the_artifact(&req) {
            Some((status, why)) => {
                report::log(format!("faas serve: {method} {path}: refused: {why}"));
                error_response(status)
            }
            None => match self.in_flight.clone().try_acquire_owned() {
                Err(_) => {
                    report::log(format!(
                        "faas serve: {method} {path}: {} requests already running: 503",
                        self.limits.max_in_flight
                    ));
                    let mut response = error_response(hyper::StatusCode::SERVICE_UNAVAILABLE);
                    response.headers_mut().insert(
                        hyper::header::RETRY_AFTER,
                        hyper::header::HeaderValue::from_static("1"),
                    );
                    response
                }
                Ok(permit) => match self.call(req, permit).await {
                    Ok(response) => response,
                    Err(e) => {
                        // Fail closed: a trap or host error is answered with no detail.
                        let (status, why) = failure(&e);
                        report::log(format!("faas serve: {method} {path}: {why}"));
                        error_response(status)
                    }
                },
            },
        };
        report::log(format!(
            "{method} {path} {} {:.1}ms",
            response.status().as_u16(),
            started.elapsed().as_secs_f64() * 1000.0
        ));
        Ok(response)
    }

    /// Answers one request in process, without a listener (`faas test`): a fresh instance in the
    /// same sandbox and under the same limits as a served request; a trap or a limit gives the
    /// status a client would get.
    pub async fn answer(&self, req: hyper::Request<Vec<u8>>) -> anyhow::Result<Answered> {
        let permit = self.in_flight.clone().acquire_owned().await?;
        let (parts, body) = req.into_parts();
        let body = http_body_util::Full::new(hyper::body::Bytes::from(body))
            .map_err(|never| -> hyper::Error { match never {} });
        let response = match self
            .call(hyper::Request::from_parts(parts, body), permit)
            .await
        {
            Ok(response) => response,
            Err(e) => {
                let (status, why) = failure(&e);
                report::log(format!("faas test: {why}"));
                error_response(status)
            }
        };
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| anyhow::anyhow!("reading the artifact's response body: {e:?}"))?
            .to_bytes()
            .to_vec();
        Ok(Answered {
            status: parts.status.as_u16(),
            headers: parts
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body,
        })
    }

    async fn call<B>(
        &self,
        req: hyper::Request<B>,
        permit: tokio::sync::OwnedSemaphorePermit,
    ) -> anyhow::Result<hyper::Response<HyperOutgoingBody>>
    where
        B: hyper::body::Body<Data = hyper::body::Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let pre = match &self.pre {
            Pre::P2(pre) => pre.clone(),
            Pre::P3(pre) => return self.call_p3(pre.clone(), req, permit).await,
        };
        let mut store = self.store();
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let req = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, req)
            .map_err(anyhow::Error::from)?;
        let out = store
            .data_mut()
            .http()
            .new_response_outparam(sender)
            .map_err(anyhow::Error::from)?;
        // The guest keeps running after it has sent the response head, to stream the body; it
        // holds its in-flight permit until then, and the deadline covers the body too.
        let timeout = self.limits.timeout;
        let task = tokio::spawn(async move {
            let _permit = permit;
            within(timeout, async move {
                let proxy = pre.instantiate_async(&mut store).await?;
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, req, out)
                    .await
            })
            .await
        });
        match receiver.await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(code)) => Err(anyhow::anyhow!(
                "the artifact answered with an error: {code:?}"
            )),
            Err(_) => Err(did_not_answer(task).await),
        }
    }

    /// As [`Server::call`], through `wasi:http/handler@0.3`: the instance runs its tasks
    /// concurrently in its store until the client has the whole response body (or is gone). A
    /// warm instance takes the call when one is free ([`warm`]).
    async fn call_p3<B>(
        &self,
        pre: ServicePre<RequestState>,
        req: hyper::Request<B>,
        permit: tokio::sync::OwnedSemaphorePermit,
    ) -> anyhow::Result<hyper::Response<HyperOutgoingBody>>
    where
        B: hyper::body::Body<Data = hyper::body::Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        // The URI of a request to a server holds its path only: the scheme and authority the
        // guest sees are the ones the client used (wasmtime serve does the same).
        let req =
            with_scheme_and_authority(req).map(|body| body.map_err(Into::into).boxed_unsync());
        let (req, permit) = match &self.warm {
            Some(pool) => match pool.offer(self, &pre, req, permit) {
                Ok(pending) => {
                    return answered(pending.head, async {
                        match pending.failure.await {
                            Ok(e) => anyhow::Error::from(e),
                            Err(_) => anyhow::anyhow!("no response was set"),
                        }
                        .context("the artifact did not answer")
                    })
                    .await;
                }
                Err(declined) => *declined,
            },
            None => (req, permit),
        };
        let mut store = self.store();
        let (head_tx, head_rx) = tokio::sync::oneshot::channel();
        let timeout = self.limits.timeout;
        let task = tokio::spawn(within(timeout, async move {
            let _permit = permit;
            let service = pre.instantiate_async(&mut store).await?;
            store
                .run_concurrent(async move |store| {
                    warm::answer(store, &service, req, head_tx, None).await
                })
                .await?
        }));
        answered(head_rx, did_not_answer(task)).await
    }
}

/// The response whose head the artifact sent on `head`, or why there is none.
async fn answered(
    head: tokio::sync::oneshot::Receiver<warm::Head>,
    why_not: impl std::future::Future<Output = anyhow::Error>,
) -> anyhow::Result<hyper::Response<HyperOutgoingBody>> {
    match head.await {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(code)) => Err(anyhow::anyhow!(
            "the artifact answered with an error: {code:?}"
        )),
        Err(_) => Err(why_not.await),
    }
}

/// Runs a call, its response body included, for at most `timeout`: the epoch deadline stops
/// code that runs, and this stops an instance that waits (on a client that never reads its body,
/// say), so that it gives back its permit, its fibers and its memory. Dropping the call drops
/// its store; a body already under way ends there.
async fn within(
    timeout: Duration,
    call: impl std::future::Future<Output = wasmtime::Result<()>>,
) -> wasmtime::Result<()> {
    match tokio::time::timeout(timeout, call).await {
        Ok(result) => result,
        Err(_) => Err(Interrupted::Deadline(timeout).into()),
    }
}

/// Why an artifact's call ended without a response: its error, or a trap.
async fn did_not_answer(task: tokio::task::JoinHandle<wasmtime::Result<()>>) -> anyhow::Error {
    let cause = match task.await {
        Ok(Ok(())) => anyhow::anyhow!("no response was set"),
        Ok(Err(e)) => anyhow::Error::from(e),
        Err(e) => anyhow::Error::from(e),
    };
    cause.context("the artifact did not answer")
}

/// A request as a WASI 0.3 guest sees it: `http` and the `host` header's authority in its URI.
fn with_scheme_and_authority<B>(req: hyper::Request<B>) -> hyper::Request<B> {
    let (mut parts, body) = req.into_parts();
    let authority = parts
        .headers
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse::<hyper::http::uri::Authority>().ok());
    let mut uri = parts.uri.clone().into_parts();
    if let Some(authority) = authority {
        uri.scheme = Some(hyper::http::uri::Scheme::HTTP);
        uri.authority = Some(authority);
        if uri.path_and_query.is_none() {
            uri.path_and_query = Some(hyper::http::uri::PathAndQuery::from_static("/"));
        }
    }
    if let Ok(with) = hyper::Uri::from_parts(uri) {
        parts.uri = with;
    }
    hyper::Request::from_parts(parts, body)
}

/// A response body that says when it is done with: read to its end, or dropped (the client went
/// away), so that the instance producing it can stop.
struct Finishing<B> {
    body: B,
    _finished: tokio::sync::oneshot::Sender<()>,
    /// A warm instance's slot, free again once the connection is done with the body.
    _slot: Option<warm::Taken>,
}

impl<B: hyper::body::Body + Unpin> hyper::body::Body for Finishing<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// The pre-instantiated artifact, by the HTTP interface it serves.
#[derive(Clone)]
enum Pre {
    /// `wasi:http/incoming-handler@0.2`.
    P2(ProxyPre<RequestState>),
    /// `wasi:http/handler@0.3`.
    P3(ServicePre<RequestState>),
}

/// A response read whole: what `faas test` compares with its expectations.
#[derive(Debug, Clone)]
pub struct Answered {
    /// The status.
    pub status: u16,
    /// The headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// The artifact a listener serves, replaceable while it serves (`faas dev`): each request is
/// handled by the version current when it arrives, and keeps that version until it is answered,
/// so a reload drops neither the listener nor a request in flight.
pub struct Live {
    current: std::sync::RwLock<Option<Arc<Server>>>,
    /// Versions replaced while requests may still run on them, interrupted on shutdown too.
    retired: std::sync::Mutex<Vec<std::sync::Weak<Server>>>,
    /// The listener's own limits (connections, header timeout, drain).
    limits: Limits,
}

impl Live {
    /// Nothing to serve yet: requests are answered 503 until [`Live::replace`] gives a version.
    pub fn empty(limits: Limits) -> Arc<Self> {
        Arc::new(Self {
            current: std::sync::RwLock::new(None),
            retired: std::sync::Mutex::new(Vec::new()),
            limits,
        })
    }

    /// Serving `server`.
    pub fn with(server: Server) -> Arc<Self> {
        let live = Self::empty(server.limits.clone());
        live.replace(server);
        live
    }

    /// Serves `server` from the next request on.
    pub fn replace(&self, server: Server) {
        let previous = self
            .current
            .write()
            .expect("the lock is never poisoned")
            .replace(Arc::new(server));
        if let Some(previous) = previous {
            let mut retired = self.retired.lock().expect("the lock is never poisoned");
            retired.retain(|r| r.strong_count() > 0);
            retired.push(Arc::downgrade(&previous));
        }
    }

    fn current(&self) -> Option<Arc<Server>> {
        self.current
            .read()
            .expect("the lock is never poisoned")
            .clone()
    }

    /// Interrupts every instance still running, on the current version and the retired ones.
    fn interrupt_all(&self) {
        let retired = self.retired.lock().expect("the lock is never poisoned");
        for server in retired
            .iter()
            .filter_map(|r| r.upgrade())
            .chain(self.current())
        {
            server.interrupt.store(true, Ordering::Relaxed);
        }
    }

    /// As [`Server::serve`], each request on the version current when it arrives.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let limits = self.limits.clone();
        // Stay below the process's descriptor limit: a server with none left cannot accept.
        let connection_cap = match limits::open_files_limit() {
            Some(files) => limits.max_connections.min(files.saturating_sub(32).max(1)),
            None => limits.max_connections,
        };
        let connections = Arc::new(Semaphore::new(connection_cap));
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut backoff = Duration::from_millis(5);
        tokio::pin!(shutdown);
        loop {
            let permit = tokio::select! {
                permit = connections.clone().acquire_owned() => permit?,
                () = &mut shutdown => break,
            };
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        backoff = Duration::from_millis(5);
                        // Answers are written as they are produced (a streamed body's last chunk
                        // on its own): without this, Nagle's algorithm holds that chunk until the
                        // client's delayed ACK, 40 ms later, on every keep-alive request.
                        let _ = stream.set_nodelay(true);
                        stream
                    }
                    Err(e) => {
                        // Out of descriptors, or a connection reset before it was accepted: say
                        // so, wait a little, and go on serving.
                        report::log(format!("faas serve: cannot accept a connection: {e}"));
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(1));
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let live = self.clone();
            let mut stop = stop_rx.clone();
            let header_timeout = limits.header_timeout;
            tokio::spawn(async move {
                let _permit = permit;
                let service = hyper::service::service_fn(move |req| {
                    let server = live.current();
                    async move {
                        match server {
                            Some(server) => server.handle(req).await,
                            None => Ok(not_ready(&req)),
                        }
                    }
                });
                let connection = http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(header_timeout)
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service);
                tokio::pin!(connection);
                // A client that goes away mid-request is not the server's failure: nothing to do.
                tokio::select! {
                    _ = connection.as_mut() => {}
                    _ = stop.changed() => {
                        connection.as_mut().graceful_shutdown();
                        let _ = connection.await;
                    }
                }
            });
        }
        drop(listener);
        let _ = stop_tx.send(true);
        report::log("faas serve: stopping: no new connections; draining requests in flight");
        // Every connection holds a permit until it is done: all of them back means drained.
        let all = connection_cap as u32;
        let drained = tokio::time::timeout(limits.drain, connections.acquire_many(all)).await;
        if drained.is_err() {
            report::log(format!(
                "faas serve: requests still running after the {}s drain deadline: interrupting them",
                limits.drain.as_secs_f64()
            ));
            self.interrupt_all();
            let _ =
                tokio::time::timeout(Duration::from_secs(2), connections.acquire_many(all)).await;
        }
        Ok(())
    }
}

/// The answer while no version has been built yet (`faas dev` after a first failed build).
fn not_ready(req: &hyper::Request<hyper::body::Incoming>) -> hyper::Response<HyperOutgoingBody> {
    report::log(format!(
        "faas serve: {} {}: nothing to serve yet (no build has succeeded): 503",
        req.method(),
        logged_path(req.uri())
    ));
    error_response(hyper::StatusCode::SERVICE_UNAVAILABLE)
}

/// A failed call's status and log text: past the deadline 504, interrupted by shutdown 503, the
/// memory cap or any other trap or host error 500. A limit's text says only which limit (its
/// trap's backtrace is noise); anything else's is its whole cause chain.
fn failure(error: &anyhow::Error) -> (hyper::StatusCode, String) {
    for cause in error.chain() {
        if let Some(interrupted) = cause.downcast_ref::<Interrupted>() {
            let status = match interrupted {
                Interrupted::Deadline(_) => hyper::StatusCode::GATEWAY_TIMEOUT,
                Interrupted::Shutdown => hyper::StatusCode::SERVICE_UNAVAILABLE,
            };
            return (status, interrupted.to_string());
        }
        if let Some(cap) = cause.downcast_ref::<MemoryCapExceeded>() {
            return (hyper::StatusCode::INTERNAL_SERVER_ERROR, cap.to_string());
        }
        // The pool is sized for the requests in flight; a call that needs more (a WASI 0.3
        // instance runs a fiber per task) is the server being full, not the artifact failing.
        if let Some(full) = cause.downcast_ref::<wasmtime::PoolConcurrencyLimitError>() {
            return (hyper::StatusCode::SERVICE_UNAVAILABLE, full.to_string());
        }
    }
    (
        hyper::StatusCode::INTERNAL_SERVER_ERROR,
        format!("{error:#}"),
    )
}

/// Requests the artifact never sees, because they are the client's error or are not HTTP
/// requests a function serves: the status to answer and why, for the log.
fn refusal_before_the_artifact(
    req: &hyper::Request<hyper::body::Incoming>,
) -> Option<(hyper::StatusCode, &'static str)> {
    if req.method() == hyper::Method::CONNECT {
        return Some((hyper::StatusCode::NOT_IMPLEMENTED, "CONNECT is not served"));
    }
    // An HTTP/1.0 client may leave out `host`; wasi:http needs an authority, and its absence is
    // the client's error, not the server's.
    if req.uri().authority().is_none() && !req.headers().contains_key(hyper::header::HOST) {
        return Some((hyper::StatusCode::BAD_REQUEST, "no host header"));
    }
    if req.uri().path_and_query().is_none() || !req.uri().path().starts_with('/') {
        return Some((hyper::StatusCode::BAD_REQUEST, "no path"));
    }
    None
}

/// The request's path for log lines, with the query's values redacted: clients sometimes put
/// keys there, and logs are read by more people than keys should be.
fn logged_path(uri: &hyper::Uri) -> String {
    let path = uri.path();
    match uri.query() {
        None => path.to_string(),
        Some(query) => {
            let names: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, _)) => format!("{name}=…"),
                    None => pair.to_string(),
                })
                .collect();
            format!("{path}?{}", names.join("&"))
        }
    }
}

/// A generic JSON answer for `status`, as the artifact's layers give them.
fn error_response(status: hyper::StatusCode) -> hyper::Response<HyperOutgoingBody> {
    let answer = faas_policy_core::error_answer(status.as_u16());
    let body = http_body_util::Full::new(hyper::body::Bytes::from(answer.body))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut response = hyper::Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// Binds `addr`, calls `on_ready` with the bound address, and serves until Ctrl-C or SIGTERM.
pub fn run(
    server: Server,
    addr: SocketAddr,
    on_ready: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    run_live(Live::with(server), addr, on_ready)
}

/// As [`run`], serving whatever version `live` holds.
pub fn run_live(
    live: Arc<Live>,
    addr: SocketAddr,
    on_ready: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let served: anyhow::Result<()> = runtime.block_on(async move {
        // The server's own signal handlers first, then the mark that keeps the process up for
        // them (`interrupt`): Ctrl-C drains the requests in flight instead of exiting.
        let stop = shutdown_signal()?;
        let _serving = crate::interrupt::ServingGuard::new();
        let listener = match TcpListener::bind(addr).await {
            Ok(listener) => listener,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => anyhow::bail!(
                "cannot listen on {addr}: the port is in use (another faas serve?); choose another \
                 with --addr, or --addr 127.0.0.1:0 for any free one"
            ),
            Err(e) => {
                return Err(anyhow::Error::from(e).context(format!("cannot listen on {addr}")));
            }
        };
        on_ready(listener.local_addr()?);
        live.serve(listener, stop).await
    });
    served?;
    // Interrupted instances end at their next epoch tick; do not wait on anything else.
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

/// Resolves at Ctrl-C or SIGTERM; both handlers are in place when it returns.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = term.recv() => {},
        }
    })
}

/// A status line for a compile people wait for: a Python or JavaScript artifact (tens of MB,
/// seconds to compile) says so before, and how long it took after; a small one says nothing.
struct Compiling {
    started: Option<Instant>,
}

impl Compiling {
    /// Artifacts from this size on take long enough to compile to say so.
    const SAY_FROM_BYTES: usize = 4 << 20;

    fn start(path: &Path, bytes: &[u8]) -> Compiling {
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

    fn done(self) {
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
fn compile(
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
fn engine_and_linker(
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
const MEMORY_KEEP_RESIDENT: usize = 2 << 20;
const TABLE_KEEP_RESIDENT: usize = 64 << 10;

/// The pool for per-request instances: room for every request in flight and every warm instance,
/// each with the many small layers of an artifact (function, policy, decorator, adapters, deny
/// layers), and memories up to the cap.
fn pooling(limits: &Limits, warm: usize) -> wasmtime::PoolingAllocationConfig {
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
fn new_store(engine: &Engine, state: RequestState) -> Store<RequestState> {
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.cap);
    store.set_epoch_deadline(1);
    store
}

/// Per-request host state: a sandbox with nothing but stderr for logs, the run-time configuration
/// given to `faas serve`, and the memory cap.
struct RequestState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: OutgoingHttp,
    config: Arc<WasiConfigVariables>,
    cap: MemoryCap,
    /// What a messaging artifact published (`faas test`'s messaging host).
    published: Vec<Message>,
    /// The process's key-value store.
    keyvalue: Arc<keyvalue::Store>,
    /// The `wasmcloud:secrets` values given to `faas serve`.
    secrets: secrets::Values,
}

impl RequestState {
    fn with_wasi(
        config: Arc<WasiConfigVariables>,
        wasi: WasiCtx,
        max_memory: usize,
        outgoing: Arc<Vec<String>>,
    ) -> Self {
        Self {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: OutgoingHttp { granted: outgoing },
            config,
            cap: MemoryCap::new(max_memory),
            published: Vec::new(),
            keyvalue: keyvalue::Store::process(),
            secrets: Default::default(),
        }
    }
}

/// Reads `KEY=VALUE` lines (blank lines and `#` comments ignored), as in an env file.
pub fn read_config_file(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut values = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            anyhow::bail!("{}:{}:1: expected KEY=VALUE", path.display(), number + 1);
        };
        values.push((key.trim().to_string(), value.trim().to_string()));
    }
    Ok(values)
}

impl WasiView for RequestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for RequestState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// The hosts an artifact's policy lets outgoing HTTP reach, from its layers note (none without one).
fn granted_hosts(artifact: &[u8]) -> Arc<Vec<String>> {
    Arc::new(
        crate::artifact::read_layers(artifact)
            .map(|note| note.grants.outgoing_hosts)
            .unwrap_or_default(),
    )
}

/// Outgoing HTTP is a capability the policy grants for named hosts only
/// (`[capabilities] outgoing-hosts`): a request to any other host is refused
/// (`HTTP-request-denied`) before a connection is made.
struct OutgoingHttp {
    granted: Arc<Vec<String>>,
}

type OutgoingResult = wasmtime_wasi_http::Result<(
    http::Response<wasmtime_wasi_http::WasiBody>,
    Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
)>;

impl WasiHttpHooks for OutgoingHttp {
    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<dyn Future<Output = OutgoingResult> + Send> {
        let uri = request.uri();
        let default_port = match uri.scheme_str() {
            Some("http") => 80,
            _ => 443,
        };
        let authority = uri
            .authority()
            .map(|a| a.as_str().to_string())
            .unwrap_or_default();
        if !crate::capabilities::host_granted(&self.granted, &authority, default_port) {
            report::log(format!(
                "faas serve: outgoing request to {authority} refused: not among the policy's \
                 outgoing-hosts"
            ));
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

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
    path: PathBuf,
    engine: Engine,
    linker: Linker<RequestState>,
    component: Component,
    config: Arc<WasiConfigVariables>,
    outgoing: Arc<Vec<String>>,
    limits: Limits,
    guest_log: GuestLog,
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
    fn store(&self, wasi: WasiCtx) -> Store<RequestState> {
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
    fn run<T>(call: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_files_are_key_value_lines_with_comments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.env");
        std::fs::write(
            &path,
            "# secrets for local runs\njwt-hmac = abc=def\n\ndb=x\n",
        )
        .unwrap();
        assert_eq!(
            read_config_file(&path).unwrap(),
            vec![
                ("jwt-hmac".to_string(), "abc=def".to_string()),
                ("db".to_string(), "x".to_string())
            ]
        );
        std::fs::write(&path, "ok=1\nnot a pair\n").unwrap();
        let err = read_config_file(&path).unwrap_err().to_string();
        assert!(err.ends_with("run.env:2:1: expected KEY=VALUE"), "{err}");
    }
}
