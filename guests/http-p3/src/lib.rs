//! What faas's WASI 0.3 HTTP layers share (the HTTP adapter for P3 hosts and the policy
//! middleware of `faas wrap --http-component`): turning a `wasi:http@0.3` request into the
//! contract's fields, reading its body as a stream and stopping at the policy's limit, answering
//! with a body written by a task of its own, and the audit event of a request refused before the
//! policy saw it.
//!
//! Unlike the P2 guests these link the standard library: wit-bindgen's async runtime needs it.
//! Their own log lines still reach the host's stderr one write per line, as the P2 layers' do.

use std::io::Write;
use wasip3::http::types::{ErrorCode, Fields, Method, Request, Response};
use wasip3::wit_bindgen;
use wasip3::{wit_future, wit_stream};

/// Header fields in the contract's form: lower-case names, UTF-8 values, in order.
pub type Headers = Vec<(String, String)>;

/// A request refused before the policy engine saw it.
#[derive(Debug)]
pub struct Refused {
    /// The answer's status.
    pub status: u16,
    /// Why, for the audit event.
    pub reason: &'static str,
    /// The method, when it was read.
    pub method: Option<String>,
    /// The path, when it was read.
    pub path: Option<String>,
}

impl Refused {
    /// Writes the refusal's audit event, in the decorator's format (no trace: nothing was called).
    pub fn audit(&self) {
        let event = faas_policy_core::audit::Event::adapter_refusal(
            now(),
            self.status,
            self.reason,
            "http",
            self.method.as_deref(),
            self.path.as_deref(),
        );
        write_line(&event.to_json());
    }

    /// The refusal audited, as the answer to send.
    pub fn answer(self) -> Response {
        self.audit();
        plain(self.status)
    }
}

/// A request's method, path and header fields as the contract carries them.
pub struct Head {
    /// Upper case.
    pub method: String,
    /// Path with query; starts with `/`.
    pub path: String,
    /// Lower-case names.
    pub headers: Headers,
}

/// The request's head, or why it cannot be passed on: the same refusals as the P2 adapter.
pub fn head(request: &Request) -> Result<Head, Refused> {
    let refuse = |status, reason, method: Option<&str>, path: Option<&str>| Refused {
        status,
        reason,
        method: method.map(str::to_string),
        path: path.map(str::to_string),
    };
    let method = match request.get_method() {
        Method::Get => "GET".to_string(),
        Method::Head => "HEAD".to_string(),
        Method::Post => "POST".to_string(),
        Method::Put => "PUT".to_string(),
        Method::Delete => "DELETE".to_string(),
        // A tunnel has no path for the rules to match.
        Method::Connect => return Err(refuse(501, "CONNECT is not served", Some("CONNECT"), None)),
        Method::Options => "OPTIONS".to_string(),
        Method::Trace => "TRACE".to_string(),
        Method::Patch => "PATCH".to_string(),
        // Methods are case-sensitive: `delete` must not be routed as `DELETE`.
        Method::Other(other) if faas_policy_core::method_is_canonical(&other) => other,
        Method::Other(other) => {
            let reason = "method is not an upper-case token";
            return Err(refuse(400, reason, Some(&other), None));
        }
    };
    let Some(path) = request.get_path_with_query() else {
        return Err(refuse(400, "no path", Some(&method), None));
    };
    let mut headers = Vec::new();
    for (name, value) in request.get_headers().copy_all() {
        // A value that is not UTF-8 cannot be passed on faithfully: refuse rather than alter it.
        let Ok(value) = String::from_utf8(value) else {
            let reason = "a header value is not UTF-8";
            return Err(refuse(400, reason, Some(&method), Some(&path)));
        };
        headers.push((name.to_ascii_lowercase(), value));
    }
    Ok(Head {
        method,
        path,
        headers,
    })
}

/// Reads the whole body of `request`, stopping with 413 as soon as it passes `max` bytes (or at
/// once when its `content-length` says it will): the rest is never read.
pub async fn read_body(request: Request, head: &Head, max: u64) -> Result<Vec<u8>, Refused> {
    let refuse = |status, reason| Refused {
        status,
        reason,
        method: Some(head.method.clone()),
        path: Some(head.path.clone()),
    };
    let declared = head
        .headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, v)| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(refuse(413, "body larger than max-body-bytes"));
    }
    let (done_tx, done_rx) = wit_future::new(|| Ok(()));
    let (mut stream, trailers) = Request::consume_body(request, done_rx);
    let mut body = Vec::new();
    loop {
        // Never more than one byte past the limit in hand.
        let room = (max - body.len() as u64).saturating_add(1).min(64 * 1024) as usize;
        let (status, chunk) = stream.read(Vec::with_capacity(room)).await;
        body.extend_from_slice(&chunk);
        if body.len() as u64 > max {
            drop(stream);
            // Tell the sender the body was not taken, so the host stops reading the client.
            let _ = done_tx
                .write(Err(ErrorCode::HttpRequestBodySize(Some(max))))
                .await;
            return Err(refuse(413, "body larger than max-body-bytes"));
        }
        if let wit_bindgen::StreamResult::Dropped | wit_bindgen::StreamResult::Cancelled = status {
            break;
        }
    }
    drop(stream);
    // A body whose transfer failed (the client went away, a malformed chunk) is not a body.
    match trailers.await {
        Ok(_) => {
            let _ = done_tx.write(Ok(())).await;
            Ok(body)
        }
        Err(_) => Err(refuse(400, "the body could not be read")),
    }
}

/// An answer with `status`, `headers` and `body`, the body written by a task of its own once the
/// host reads it. Headers the host refuses (hop-by-hop ones) are dropped, not fatal.
pub fn respond(status: u16, headers: &[(String, String)], body: Vec<u8>) -> Response {
    let fields = Fields::new();
    for (name, value) in headers {
        let _ = fields.append(name, value.as_bytes());
    }
    let (mut body_tx, body_rx) = wit_stream::new();
    let (trailers_tx, trailers_rx) = wit_future::new(|| Ok(None));
    let (response, _sent) = Response::new(fields, Some(body_rx), trailers_rx);
    drop(trailers_tx);
    if response.set_status_code(status).is_err() {
        let _ = response.set_status_code(500);
    }
    wit_bindgen::spawn_local(async move {
        // A client that went away leaves the rest unwritten: nothing else to do.
        let _ = body_tx.write_all(body).await;
    });
    response
}

/// A generic answer: the status and its kind, never internal detail.
pub fn plain(status: u16) -> Response {
    let answer = faas_policy_core::error_answer(status);
    respond(answer.status, &answer.headers, answer.body)
}

/// The policy, read with `document` (the layer's `faas:function/policy` import) once per
/// instance: a host that keeps instances warm (wasmCloud's `poolSize`) pays for it once, not per
/// request. It never changes within an artifact, so nothing of one request reaches the next
/// through it. `None` when the document cannot be read.
pub fn compiled_policy(document: fn() -> Vec<u8>) -> Option<&'static faas_policy_core::Policy> {
    static POLICY: std::sync::OnceLock<Option<faas_policy_core::Policy>> =
        std::sync::OnceLock::new();
    POLICY
        .get_or_init(|| faas_policy_core::Policy::decode(&document()).ok())
        .as_ref()
}

/// The wall-clock time as (seconds, nanoseconds) since the epoch, for audit events.
pub fn now() -> (u64, u32) {
    let now = wasip2::clocks::wall_clock::now();
    (now.seconds, now.nanoseconds)
}

/// One line on the host's stderr, in one write, so that hosts that prefix what a guest writes
/// never split it.
pub fn write_line(line: &str) {
    let mut text = String::with_capacity(line.len() + 1);
    text.push_str(line);
    text.push('\n');
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// One log line of `layer` (not an audit event).
pub fn log(layer: &str, message: &str) {
    write_line(&format!("{layer}: {message}"));
}
