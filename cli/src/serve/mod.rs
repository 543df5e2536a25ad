//! `faas serve`: run a wrapped artifact locally with wasmtime, the way a `wasi:http` host does.
//!
//! The component is compiled once and pre-instantiated; each request gets a fresh instance (as on
//! the platforms), through `wasi:http/incoming-handler@0.2` or, for WASI 0.3 artifacts
//! (`--target wasi-http@0.3`, `--http-component`), `wasi:http/handler@0.3`, or a warm one under
//! `--pool-size` ([`warm`]); a sandbox with no environment, arguments, files or network, and
//! outgoing HTTP only to granted hosts. One log line per request goes to stderr.

mod dev_source;
mod engine;
mod keyvalue;
mod limits;
mod live;
mod messaging;
mod oneshot;
mod secrets;
mod state;
mod warm;

pub use dev_source::{DevSource, SourceFiles};
use engine::*;
pub use engine::{Compiler, EngineOptions, GuestLog, default_cache_dir};
pub use limits::{Interrupted, Limits, MemoryCapExceeded};
pub use live::{Live, run, run_live};
pub use messaging::{Delivery, Message};
pub use oneshot::{Invocation, OneShot, invoke};
pub use state::read_config_file;
use state::*;

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
