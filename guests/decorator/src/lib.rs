//! The security decorator: imports a function's `faas:function/handler`, exports the same interface,
//! and applies the compiled policy (imported from `faas:function/policy`) to every call: request
//! filters, then authentication, then authorization. It sets `caller` for the function, and fails
//! closed: if the policy cannot be read, the request is answered 500 and never forwarded.
//!
//! It links no standard library (guests/runtime says why).

#![no_std]

extern crate alloc;
use faas_guest_runtime as _;

#[cfg(not(feature = "no-jwt"))]
wit_bindgen::generate!({
    path: "../wit",
    world: "faas:guests/decorator",
    generate_all,
});
#[cfg(feature = "no-jwt")]
wit_bindgen::generate!({
    path: "../wit",
    world: "faas:guests/decorator-without-jwt",
    generate_all,
});

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use exports::faas::function::handler as outer;
use faas::function::handler as inner;
use faas::function::policy;
use faas_policy_core::{
    Decision, Environment, Policy, RequestView, Trigger, apply_cors, cors_headers, decide,
};

struct Decorator;

impl outer::Guest for Decorator {
    fn handle(req: outer::Request) -> Result<outer::Response, outer::Error> {
        Ok(handle(req))
    }
}

fn handle(req: outer::Request) -> outer::Response {
    let policy = match Policy::decode(&policy::document()) {
        Ok(policy) => policy,
        Err(e) => {
            log(&format!("cannot read the policy document: {e}"));
            return json_response(500);
        }
    };
    let view = RequestView {
        trigger: match req.trigger.kind {
            outer::TriggerKind::Messaging => Trigger::Messaging(&req.trigger.source),
            outer::TriggerKind::Http | outer::TriggerKind::Cli => Trigger::Http,
        },
        method: &req.method,
        path: &req.path,
        headers: &req.headers,
        body_len: req.body.len() as u64,
    };
    #[cfg(not(feature = "no-jwt"))]
    let verify_jwt = |token: &str| {
        faas::guests::jwt::verify(token).map(|v| faas_policy_core::jwt::VerifiedToken {
            subject: v.subject,
            scopes: v.scopes,
            claims: v.claims,
        })
    };
    // Composed only for policies without [auth.jwt], whose engine never asks; if it ever did,
    // the token is refused (fail closed).
    #[cfg(feature = "no-jwt")]
    let verify_jwt = |_: &str| Err(String::from("this decorator has no JWT layer"));
    let decision = decide(
        &policy,
        &view,
        &Environment {
            verify_jwt: &verify_jwt,
        },
    );
    // A refused preflight gets no CORS header at all; every other answer to an allowed origin does.
    let cors = match &decision {
        Decision::Refuse(refusal) if !refusal.cors => Vec::new(),
        _ => cors_headers(&policy, &req.headers),
    };
    let mut response = match decision {
        Decision::Respond(answer) => outer::Response {
            status: answer.status,
            headers: answer.headers,
            body: answer.body,
        },
        Decision::Refuse(refusal) => {
            // One line per refusal, for the operator: why, under which rule, for whom. Never the
            // credential, and the path without its query (where clients sometimes put keys).
            let what = match req.trigger.kind {
                outer::TriggerKind::Messaging => {
                    format!("message on {}", shown(&req.trigger.source, 256))
                }
                outer::TriggerKind::Http | outer::TriggerKind::Cli => format!(
                    "{} {}",
                    shown(&req.method, 32),
                    shown(req.path.split('?').next().unwrap_or(""), 256)
                ),
            };
            log(&format!("refused {what}: {}", refusal.describe()));
            outer::Response {
                status: refusal.answer.status,
                headers: refusal.answer.headers,
                body: refusal.answer.body,
            }
        }
        Decision::Forward {
            caller,
            strip_headers,
        } => forward(req, caller, &strip_headers),
    };
    apply_cors(&mut response.headers, cors);
    response
}

/// A request's text for a log line: at most `max` characters, control characters escaped, so a
/// client cannot forge or flood log lines.
fn shown(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max)
        .flat_map(char::escape_default)
        .collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

/// Calls the function with the caller the policy established (overwriting whatever the request
/// carried, so a caller can never be forged) and without the credential header.
fn forward(
    req: outer::Request,
    caller: Option<faas_policy_core::Caller>,
    strip_headers: &[String],
) -> outer::Response {
    let headers = req
        .headers
        .into_iter()
        .filter(|(name, _)| !strip_headers.contains(name))
        .collect();
    let inner_req = inner::Request {
        method: req.method,
        path: req.path,
        headers,
        body: req.body,
        trigger: inner::TriggerInfo {
            kind: match req.trigger.kind {
                outer::TriggerKind::Http => inner::TriggerKind::Http,
                outer::TriggerKind::Messaging => inner::TriggerKind::Messaging,
                outer::TriggerKind::Cli => inner::TriggerKind::Cli,
            },
            source: req.trigger.source,
        },
        caller: caller.map(|c| inner::Principal {
            subject: c.subject,
            scopes: c.scopes,
            claims: c.claims,
            scheme: c.scheme.to_string(),
        }),
    };
    match inner::handle(&inner_req) {
        // 1xx are interim answers and 600 and above are not HTTP: no host could send either as
        // the final answer, so the function's bug is a 500, and the log says so.
        Ok(r) if !(200..=599).contains(&r.status) => {
            log(&format!(
                "function answered with status {}, outside 200-599",
                r.status
            ));
            json_response(500)
        }
        Ok(r) => outer::Response {
            status: r.status,
            headers: r.headers,
            body: r.body,
        },
        Err(error) => {
            // The function's message is for logs only; the client gets the kind of failure.
            let (status, kind, message) = match error {
                inner::Error::BadRequest(m) => (400, "bad request", m),
                inner::Error::Unauthorized(m) => (401, "unauthorized", m),
                inner::Error::Forbidden(m) => (403, "forbidden", m),
                inner::Error::NotFound(m) => (404, "not found", m),
                inner::Error::Internal(m) => (500, "internal", m),
            };
            log(&format!("function returned {kind}: {message}"));
            json_response(status)
        }
    }
}

/// One line on the host's stderr.
fn log(message: &str) {
    faas_guest_runtime::log("faas decorator", message);
}

fn json_response(status: u16) -> outer::Response {
    let answer = faas_policy_core::error_answer(status);
    outer::Response {
        status: answer.status,
        headers: answer.headers,
        body: answer.body,
    }
}

export!(Decorator);
