//! `faas serve`: run a wrapped artifact locally with wasmtime, the way a `wasi:http` host does.
//!
//! The component is compiled once and pre-instantiated; each request gets a fresh instance (as on
//! the platforms), a sandbox with no environment, arguments, files or network, and outgoing HTTP
//! denied. One log line per request goes to stderr.

use anyhow::Context;
use http_body_util::BodyExt;
use hyper::server::conn::http1;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpListener;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_config::{WasiConfig, WasiConfigVariables};
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

/// A compiled, pre-instantiated artifact ready to serve requests.
#[derive(Clone)]
pub struct Server {
    pre: ProxyPre<RequestState>,
    config: Arc<WasiConfigVariables>,
}

impl Server {
    /// Compiles the artifact at `path` and links it against the host's WASI, `wasi:http` and
    /// `wasi:config/store` (answering from `values`).
    pub fn load(path: &Path, values: Vec<(String, String)>) -> anyhow::Result<Self> {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        Self::from_bytes(&bytes, values).with_context(|| format!("cannot serve {}", path.display()))
    }

    /// As [`Server::load`], from bytes.
    pub fn from_bytes(bytes: &[u8], values: Vec<(String, String)>) -> anyhow::Result<Self> {
        let (engine, linker) = engine_and_linker()?;
        let component = Component::from_binary(&engine, bytes).map_err(anyhow::Error::from)?;
        let instance_pre = linker
            .instantiate_pre(&component)
            .map_err(anyhow::Error::from)
            .context("the artifact needs imports this host does not provide")?;
        let pre = ProxyPre::new(instance_pre)
            .map_err(anyhow::Error::from)
            .context("the artifact does not export wasi:http/incoming-handler")?;
        Ok(Self {
            pre,
            config: Arc::new(values.into_iter().collect()),
        })
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
                let mut store =
                    Store::new(self.pre.engine(), RequestState::new(self.config.clone()));
                let started = Instant::now();
                self.pre
                    .instantiate_async(&mut store)
                    .await
                    .map_err(anyhow::Error::from)?;
                times.push(started.elapsed());
            }
            Ok(times)
        })
    }

    /// Serves connections from `listener` until `shutdown` completes.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let server = Arc::new(self);
        tokio::pin!(shutdown);
        loop {
            let (stream, _) = tokio::select! {
                accepted = listener.accept() => accepted?,
                () = &mut shutdown => return Ok(()),
            };
            let server = server.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let server = server.clone();
                    async move { server.handle(req).await }
                });
                // A client that goes away mid-request is not the server's failure: nothing to do.
                let _ = http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
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
                crate::report::log(format!("faas serve: {method} {path}: refused: {why}"));
                error_response(status)
            }
            None => match self.call(req).await {
                Ok(response) => response,
                Err(e) => {
                    // Fail closed: a trap or host error is a 500 with no detail for the client.
                    crate::report::log(format!("faas serve: {method} {path}: {e:#}"));
                    error_response(hyper::StatusCode::INTERNAL_SERVER_ERROR)
                }
            },
        };
        crate::report::log(format!(
            "{method} {path} {} {:.1}ms",
            response.status().as_u16(),
            started.elapsed().as_secs_f64() * 1000.0
        ));
        Ok(response)
    }

    async fn call(
        &self,
        req: hyper::Request<hyper::body::Incoming>,
    ) -> anyhow::Result<hyper::Response<HyperOutgoingBody>> {
        let mut store = Store::new(self.pre.engine(), RequestState::new(self.config.clone()));
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
        let pre = self.pre.clone();
        // The guest keeps running after it has sent the response head, to stream the body.
        let task = tokio::spawn(async move {
            let proxy = pre.instantiate_async(&mut store).await?;
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, req, out)
                .await
        });
        match receiver.await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(code)) => Err(anyhow::anyhow!(
                "the artifact answered with an error: {code:?}"
            )),
            Err(_) => {
                let cause = match task.await {
                    Ok(Ok(())) => anyhow::anyhow!("no response was set"),
                    Ok(Err(e)) => anyhow::Error::from(e),
                    Err(e) => anyhow::Error::from(e),
                };
                Err(cause.context("the artifact did not answer"))
            }
        }
    }
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        on_ready(listener.local_addr()?);
        server.serve(listener, shutdown_signal()).await
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler can be installed");
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
}

/// The engine, and the host interfaces every artifact run here gets: WASI (the sandbox of
/// [`RequestState`]), `wasi:http`, and `wasi:config/store` answering from the values given.
fn engine_and_linker() -> anyhow::Result<(Engine, Linker<RequestState>)> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    let engine = Engine::new(&config).map_err(anyhow::Error::from)?;
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(anyhow::Error::from)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
        .map_err(anyhow::Error::from)?;
    wasmtime_wasi_config::add_to_linker(&mut linker, |state: &mut RequestState| {
        WasiConfig::from(&*state.config)
    })
    .map_err(anyhow::Error::from)?;
    Ok((engine, linker))
}

/// Per-request host state: a sandbox with nothing but stderr for logs, and the run-time
/// configuration given to `faas serve`.
struct RequestState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: DenyOutgoing,
    config: Arc<WasiConfigVariables>,
}

impl RequestState {
    fn new(config: Arc<WasiConfigVariables>) -> Self {
        Self::with_wasi(config, WasiCtx::builder().inherit_stderr().build())
    }

    fn with_wasi(config: Arc<WasiConfigVariables>, wasi: WasiCtx) -> Self {
        Self {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: DenyOutgoing,
            config,
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

/// Outgoing HTTP is a capability the policy must grant; `faas serve` grants none.
struct DenyOutgoing;

impl WasiHttpHooks for DenyOutgoing {
    fn send_request(
        &mut self,
        _request: http::Request<wasmtime_wasi_http::WasiBody>,
        _options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = wasmtime_wasi_http::Result<(
                    http::Response<wasmtime_wasi_http::WasiBody>,
                    Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                )>,
            > + Send,
    > {
        Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) })
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
) -> anyhow::Result<Invocation> {
    use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (engine, linker) = engine_and_linker()?;
    let component = Component::from_binary(&engine, &bytes)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("{} is not a component", path.display()))?;
    let stdout = MemoryOutputPipe::new(16 * 1024 * 1024);
    let wasi = WasiCtx::builder()
        .stdin(MemoryInputPipe::new(request))
        .stdout(stdout.clone())
        .inherit_stderr()
        .build();
    let state = RequestState::with_wasi(Arc::new(values.into_iter().collect()), wasi);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let success = runtime.block_on(async {
        let mut store = Store::new(&engine, state);
        let command = wasmtime_wasi::p2::bindings::Command::instantiate_async(
            &mut store, &component, &linker,
        )
        .await
        .map_err(anyhow::Error::from)
        .with_context(|| {
            format!(
                "cannot run {} (it needs the cli trigger: faas.toml triggers, or faas \
                         wrap --triggers cli; and only imports this host supplies)",
                path.display()
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
