//! The CLI platform adapter: exports `wasi:cli/run`. It reads one request as JSON from standard
//! input, calls the decorated handler, and writes the response as JSON to standard output; the run
//! fails (non-zero exit) when the status is 400 or above. A batch job or a CI smoke test can invoke
//! a function this way, without a server (`faas invoke`).
//!
//! Request: `{"method": "GET", "path": "/", "headers": {"name": "value"} or [["name", "value"]],
//! "body": "text"}` (or `"body_base64"`). Response: `{"status": 200, "headers": [["name",
//! "value"]], "body": "text"}` (`"body_base64"` when the body is not UTF-8).
//!
//! It links no standard library (guests/runtime says why).

#![no_std]

extern crate alloc;
use faas_guest_runtime as _;

wit_bindgen::generate!({
    path: "../../wit",
    world: "faas:function/adapter",
});

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use faas::function::handler::{self, Request, Response, TriggerInfo, TriggerKind};
use faas::function::policy;
use faas_guest_runtime::ReadError;
use faas_policy_core::Policy;
use serde_json::{Value, json};

struct Cli;

impl wasip2::exports::cli::run::Guest for Cli {
    fn run() -> Result<(), ()> {
        let response = match read_request() {
            Ok(request) => match handler::handle(&request) {
                Ok(response) => response,
                Err(error) => error_response(&error),
            },
            Err((status, message)) => {
                faas_guest_runtime::log("faas cli adapter", &message);
                plain(status)
            }
        };
        let status = response.status;
        let mut line = render(response).into_bytes();
        line.push(b'\n');
        let stdout = wasip2::cli::stdout::get_stdout();
        // blocking-write-and-flush takes at most 4096 bytes at a time.
        for chunk in line.chunks(4096) {
            if stdout.blocking_write_and_flush(chunk).is_err() {
                break;
            }
        }
        if status < 400 { Ok(()) } else { Err(()) }
    }
}

wasip2::cli::command::export!(Cli);

/// Standard input to its end, or 413 as soon as it passes `limit` bytes.
fn read_stdin(limit: u64) -> Result<Vec<u8>, (u16, String)> {
    let stdin = wasip2::cli::stdin::get_stdin();
    faas_guest_runtime::read_to_end(&stdin, limit).map_err(|e| match e {
        ReadError::TooLarge => (413, "the request on standard input is too large".into()),
        ReadError::Failed(e) => (400, format!("cannot read standard input: {e}")),
    })
}

fn read_request() -> Result<Request, (u16, String)> {
    let max_body = Policy::decode(&policy::document())
        .map_err(|e| (500, format!("policy: {e}")))?
        .filters
        .max_body_bytes;
    // The JSON around a body (and base64) is larger than the body: allow for it, but bound it.
    let limit = max_body.saturating_mul(2).saturating_add(64 * 1024);
    let input = read_stdin(limit)?;
    let value: Value = serde_json::from_slice(&input)
        .map_err(|e| (400, format!("the request is not JSON: {e}")))?;
    let text = |name: &str, default: &str| {
        value
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or(default)
            .to_string()
    };
    let headers = match value.get("headers") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| {
                (
                    k.to_ascii_lowercase(),
                    v.as_str().unwrap_or_default().to_string(),
                )
            })
            .collect(),
        Some(Value::Array(pairs)) => pairs
            .iter()
            .filter_map(|pair| {
                let pair = pair.as_array()?;
                Some((
                    pair.first()?.as_str()?.to_ascii_lowercase(),
                    pair.get(1)?.as_str()?.to_string(),
                ))
            })
            .collect(),
        Some(_) => return Err((400, "`headers` must be an object or a list of pairs".into())),
    };
    let body = match (value.get("body"), value.get("body_base64")) {
        (Some(Value::String(text)), None) => text.clone().into_bytes(),
        (None, Some(Value::String(encoded))) => BASE64
            .decode(encoded)
            .map_err(|e| (400, format!("`body_base64` is not base64: {e}")))?,
        (None, None) => Vec::new(),
        _ => return Err((400, "give `body` (text) or `body_base64`, not both".into())),
    };
    // The same rule as the HTTP adapter: a method that is not an upper-case token is refused,
    // never upper-cased into one (which would make `delete` and `DELETE` two spellings). CONNECT
    // is refused by the decorator, as for every trigger.
    let method = text("method", "POST");
    if !faas_policy_core::method_is_canonical(&method) {
        return Err((
            400,
            format!("`method` {method:?} is not an upper-case token such as GET"),
        ));
    }
    Ok(Request {
        method,
        path: text("path", "/"),
        headers,
        body,
        trigger: TriggerInfo {
            kind: TriggerKind::Cli,
            source: String::new(),
        },
        // Only the decorator sets the caller.
        caller: None,
    })
}

fn render(response: Response) -> String {
    let headers: Vec<Value> = response
        .headers
        .iter()
        .map(|(k, v)| json!([k, v]))
        .collect();
    let mut out = json!({ "status": response.status, "headers": headers });
    match String::from_utf8(response.body) {
        Ok(text) => out["body"] = Value::String(text),
        Err(e) => out["body_base64"] = Value::String(BASE64.encode(e.into_bytes())),
    }
    out.to_string()
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
