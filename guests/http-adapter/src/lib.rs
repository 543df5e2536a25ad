//! The HTTP platform adapter: exports `wasi:http/incoming-handler`, turns each incoming request into
//! the contract's `request` record (reading the body fully, up to the policy's limit), calls the
//! decorated handler, and writes its `response` back. A request it cannot pass on (a body over the
//! limit, a tunnel, a method or header the contract cannot carry) is refused here, with an audit
//! event like the decorator's.
//!
//! It links no standard library (guests/runtime says why).

#![no_std]

extern crate alloc;
use faas_guest_runtime as _;

wit_bindgen::generate!({
    path: "../../wit",
    world: "faas:function/adapter",
});

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use faas::function::handler::{self, Request, Response, TriggerInfo, TriggerKind};
use faas::function::policy;
use faas_policy_core::Policy;
use wasip2::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

struct Adapter;

impl wasip2::exports::http::incoming_handler::Guest for Adapter {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let response = match translate(request) {
            Ok(req) => match handler::handle(&req) {
                Ok(response) => response,
                Err(error) => error_response(&error),
            },
            Err(refused) => {
                refused.audit();
                plain(refused.status)
            }
        };
        send(response_out, response);
    }
}

wasip2::http::proxy::export!(Adapter);

/// A request refused before the decorator saw it.
struct Refused {
    status: u16,
    reason: &'static str,
    method: Option<String>,
    path: Option<String>,
}

impl Refused {
    /// The refusal's audit event, in the decorator's format (without a trace: nothing was called).
    fn audit(&self) {
        let now = wasip2::clocks::wall_clock::now();
        let event = faas_policy_core::audit::Event::adapter_refusal(
            (now.seconds, now.nanoseconds),
            self.status,
            self.reason,
            "http",
            self.method.as_deref(),
            self.path.as_deref(),
        );
        faas_guest_runtime::write_line(&event.to_json());
    }
}

/// The request as the contract's record, or why it cannot be passed on.
fn translate(request: IncomingRequest) -> Result<Request, Refused> {
    let refuse = |status, reason, method, path| Refused {
        status,
        reason,
        method,
        path,
    };
    let Ok(policy) = Policy::decode(&policy::document()) else {
        return Err(refuse(500, "cannot read the policy document", None, None));
    };
    let max_body = policy.filters.max_body_bytes;
    let method = match request.method() {
        Method::Get => "GET".to_string(),
        Method::Head => "HEAD".to_string(),
        Method::Post => "POST".to_string(),
        Method::Put => "PUT".to_string(),
        Method::Delete => "DELETE".to_string(),
        // A tunnel has no path for the rules to match: a function never serves one.
        Method::Connect => {
            let method = Some("CONNECT".into());
            return Err(refuse(501, "CONNECT is not served", method, None));
        }
        Method::Options => "OPTIONS".to_string(),
        Method::Trace => "TRACE".to_string(),
        Method::Patch => "PATCH".to_string(),
        // The contract promises upper-case methods; `delete` is not `DELETE` (methods are
        // case-sensitive) and must not be routed as something else.
        Method::Other(other) if faas_policy_core::method_is_canonical(&other) => other,
        Method::Other(other) => {
            let reason = "method is not an upper-case token";
            return Err(refuse(400, reason, Some(other), None));
        }
    };
    // Without a path (`OPTIONS *`, an authority-form target) there is nothing for the rules to
    // match.
    let Some(path) = request.path_with_query() else {
        return Err(refuse(400, "no path", Some(method), None));
    };
    let mut headers = Vec::new();
    for (name, value) in request.headers().entries() {
        // Header values that are not UTF-8 cannot be represented faithfully: refuse the request
        // rather than pass a different value than the client sent.
        let Ok(value) = String::from_utf8(value) else {
            let reason = "a header value is not UTF-8";
            return Err(refuse(400, reason, Some(method), Some(path)));
        };
        headers.push((name.to_ascii_lowercase(), value));
    }
    let declared = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, v)| v.trim().parse::<u64>().ok());
    let body = match declared.is_some_and(|n| n > max_body) {
        true => Err((413, "body larger than max-body-bytes")),
        false => read_body(&request, max_body),
    };
    let body = match body {
        Ok(body) => body,
        Err((status, reason)) => return Err(refuse(status, reason, Some(method), Some(path))),
    };
    Ok(Request {
        method,
        path,
        headers,
        body,
        trigger: TriggerInfo {
            kind: TriggerKind::Http,
            source: String::new(),
        },
        // Only the decorator sets the caller.
        caller: None,
    })
}

/// Reads the whole body, stopping with 413 as soon as it passes `max` bytes.
fn read_body(request: &IncomingRequest, max: u64) -> Result<Vec<u8>, (u16, &'static str)> {
    let unreadable = (500, "cannot read the body");
    let body = request.consume().map_err(|_| unreadable)?;
    let stream = body.stream().map_err(|_| unreadable)?;
    let bytes = faas_guest_runtime::read_to_end(&stream, max).map_err(|e| match e {
        faas_guest_runtime::ReadError::TooLarge => (413, "body larger than max-body-bytes"),
        faas_guest_runtime::ReadError::Failed(_) => (400, "the body could not be read"),
    })?;
    // The stream is a child of the body: it must go first.
    drop(stream);
    Ok(bytes)
}

fn error_response(error: &handler::Error) -> Response {
    plain(match error {
        handler::Error::BadRequest(_) => 400,
        handler::Error::Unauthorized(_) => 401,
        handler::Error::Forbidden(_) => 403,
        handler::Error::NotFound(_) => 404,
        handler::Error::Internal(_) => 500,
    })
}

/// A generic answer: the status and its kind, never internal detail.
fn plain(status: u16) -> Response {
    let answer = faas_policy_core::error_answer(status);
    Response {
        status: answer.status,
        headers: answer.headers,
        body: answer.body,
    }
}

fn send(out: ResponseOutparam, response: Response) {
    let fields = Fields::new();
    for (name, value) in &response.headers {
        // Hosts refuse some headers (hop-by-hop ones such as `connection`); drop those rather than
        // fail the whole response.
        let _ = fields.append(name, value.as_bytes());
    }
    let outgoing = OutgoingResponse::new(fields);
    // The decorator has already turned a status outside 200-599 into a 500.
    if outgoing.set_status_code(response.status).is_err() {
        let _ = outgoing.set_status_code(500);
    }
    let Ok(body) = outgoing.body() else {
        return;
    };
    ResponseOutparam::set(out, Ok(outgoing));
    if let Ok(stream) = body.write() {
        for chunk in response.body.chunks(4096) {
            if stream.blocking_write_and_flush(chunk).is_err() {
                return;
            }
        }
        drop(stream);
    }
    let _ = OutgoingBody::finish(body, None);
}
