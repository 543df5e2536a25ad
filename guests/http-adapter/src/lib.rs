//! The HTTP platform adapter: exports `wasi:http/incoming-handler`, turns each incoming request into
//! the contract's `request` record (reading the body fully, up to the policy's limit), calls the
//! decorated handler, and writes its `response` back.
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
            Err(status) => plain(status),
        };
        send(response_out, response);
    }
}

wasip2::http::proxy::export!(Adapter);

/// The request as the contract's record, or the status to answer with when it cannot be read.
fn translate(request: IncomingRequest) -> Result<Request, u16> {
    let max_body = Policy::decode(&policy::document())
        .map_err(|_| 500u16)?
        .filters
        .max_body_bytes;
    let method = match request.method() {
        Method::Get => "GET".to_string(),
        Method::Head => "HEAD".to_string(),
        Method::Post => "POST".to_string(),
        Method::Put => "PUT".to_string(),
        Method::Delete => "DELETE".to_string(),
        // A tunnel has no path for the rules to match: a function never serves one.
        Method::Connect => return Err(501),
        Method::Options => "OPTIONS".to_string(),
        Method::Trace => "TRACE".to_string(),
        Method::Patch => "PATCH".to_string(),
        // The contract promises upper-case methods; `delete` is not `DELETE` (methods are
        // case-sensitive) and must not be routed as something else.
        Method::Other(other) if faas_policy_core::method_is_canonical(&other) => other,
        Method::Other(_) => return Err(400),
    };
    // Without a path (`OPTIONS *`, an authority-form target) there is nothing for the rules to
    // match.
    let path = request.path_with_query().ok_or(400u16)?;
    let mut headers = Vec::new();
    for (name, value) in request.headers().entries() {
        // Header values that are not UTF-8 cannot be represented faithfully: refuse the request
        // rather than pass a different value than the client sent.
        let value = String::from_utf8(value).map_err(|_| 400u16)?;
        headers.push((name.to_ascii_lowercase(), value));
    }
    let declared = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, v)| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_body) {
        return Err(413);
    }
    let body = read_body(&request, max_body)?;
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
fn read_body(request: &IncomingRequest, max: u64) -> Result<Vec<u8>, u16> {
    let body = request.consume().map_err(|_| 500u16)?;
    let stream = body.stream().map_err(|_| 500u16)?;
    let bytes = faas_guest_runtime::read_to_end(&stream, max).map_err(|e| match e {
        faas_guest_runtime::ReadError::TooLarge => 413u16,
        faas_guest_runtime::ReadError::Failed(_) => 400,
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
