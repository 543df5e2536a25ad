//! What one request's store holds: its WASI sandbox, `wasi:http` with outgoing requests only to
//! granted hosts, run-time configuration, the memory cap, and what it published.

use super::*;

/// Per-request host state: a sandbox with nothing but stderr for logs, the run-time configuration
/// given to `faas serve`, and the memory cap.
pub(super) struct RequestState {
    pub(super) wasi: WasiCtx,
    pub(super) http: WasiHttpCtx,
    pub(super) table: ResourceTable,
    pub(super) hooks: OutgoingHttp,
    pub(super) config: Arc<WasiConfigVariables>,
    pub(super) cap: MemoryCap,
    /// What a messaging artifact published (`faas test`'s messaging host).
    pub(super) published: Vec<Message>,
    /// The process's key-value store.
    pub(super) keyvalue: Arc<keyvalue::Store>,
    /// The `wasmcloud:secrets` values given to `faas serve`.
    pub(super) secrets: secrets::Values,
}

impl RequestState {
    pub(super) fn with_wasi(
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
pub(super) fn granted_hosts(artifact: &[u8]) -> Arc<Vec<String>> {
    Arc::new(
        crate::artifact::read_layers(artifact)
            .map(|note| note.grants.outgoing_hosts)
            .unwrap_or_default(),
    )
}

/// Outgoing HTTP is a capability the policy grants for named hosts only
/// (`[capabilities] outgoing-hosts`): a request to any other host is refused
/// (`HTTP-request-denied`) before a connection is made.
pub(super) struct OutgoingHttp {
    pub(super) granted: Arc<Vec<String>>,
}

pub(super) type OutgoingResult = wasmtime_wasi_http::Result<(
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
