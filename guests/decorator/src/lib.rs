//! The security decorator: imports a function's `faas:function/handler`, exports the same interface,
//! and applies the compiled policy (imported from `faas:function/policy`) to every call: request
//! filters, then authentication, then authorization, then rate limits. It sets `caller` and
//! `traceparent` for the function, writes one audit event per decision, and fails closed: if the
//! policy cannot be read, the request is answered 500 and never forwarded.
//!
//! It links no standard library (guests/runtime says why).

#![no_std]

extern crate alloc;
use faas_guest_runtime as _;

#[cfg(not(feature = "no-verifier"))]
wit_bindgen::generate!({
    path: "../wit",
    world: "faas:guests/decorator",
    generate_all,
});
#[cfg(feature = "no-verifier")]
wit_bindgen::generate!({
    path: "../wit",
    world: "faas:guests/decorator-without-verifier",
    generate_all,
});

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use exports::faas::function::handler as outer;
use faas::function::handler as inner;
use faas::function::policy;
use faas_policy_core::audit::{Event, Outcome};
use faas_policy_core::trace::TraceContext;
use faas_policy_core::{
    AuditLevel, Decision, Environment, Policy, RequestView, Trigger, apply_cors, cors_headers,
    decide,
};

struct Decorator;

impl outer::Guest for Decorator {
    fn handle(req: outer::Request) -> Result<outer::Response, outer::Error> {
        Ok(handle(req))
    }
}

/// The policy, read from the policy component once per instance: a host that keeps instances warm
/// pays for it once, not per request. It never changes within an artifact.
fn compiled_policy() -> Result<&'static Policy, &'static faas_policy_core::DecodeError> {
    static POLICY: faas_guest_runtime::Once<Result<Policy, faas_policy_core::DecodeError>> =
        faas_guest_runtime::Once::new();
    POLICY
        .get_or_init(|| Policy::decode(&policy::document()))
        .as_ref()
}

fn handle(mut req: outer::Request) -> outer::Response {
    let now = wasip2::clocks::wall_clock::now();
    let policy = match compiled_policy() {
        Ok(policy) => policy,
        Err(e) => {
            log(&format!("cannot read the policy document: {e}"));
            return json_response(500);
        }
    };
    // Adapters never set a caller; only the function gate of a calling function's artifact
    // does, with its own name: that is a call from that function, whatever trigger it claims.
    if req.caller.as_ref().is_some_and(|c| c.scheme == "function") {
        req.trigger.kind = outer::TriggerKind::Http;
        req.trigger.source = String::new();
    }
    let view = RequestView {
        trigger: match req.trigger.kind {
            outer::TriggerKind::Messaging => Trigger::Messaging(&req.trigger.source),
            outer::TriggerKind::Http | outer::TriggerKind::Cli => Trigger::Http,
        },
        method: &req.method,
        path: &req.path,
        headers: &req.headers,
        body_len: req.body.len() as u64,
        function: req
            .caller
            .as_ref()
            .filter(|c| c.scheme == "function")
            .map(|c| c.subject.as_str()),
    };
    #[cfg(not(feature = "no-verifier"))]
    let (verify_jwt, verify_signature, count) = {
        use faas::guests::verifier;
        (
            |token: &str| {
                verifier::verify_token(token).map(|v| faas_policy_core::jwt::VerifiedToken {
                    subject: v.subject,
                    scopes: v.scopes,
                    claims: v.claims,
                })
            },
            || verifier::verify_signature(&req.headers, &req.body),
            verifier::count,
        )
    };
    // Composed only for policies without JWTs, signatures or limits, whose engine never asks;
    // if it ever did, the request is refused (fail closed).
    #[cfg(feature = "no-verifier")]
    let (verify_jwt, verify_signature, count) = (
        |_: &str| Err(String::from("this decorator has no verifier layer")),
        || Err(String::from("this decorator has no verifier layer")),
        |_: u32, _: &str, _: u64| Err(String::from("this decorator has no verifier layer")),
    );
    let decision = decide(
        policy,
        &view,
        &Environment {
            verify_jwt: &verify_jwt,
            verify_signature: &verify_signature,
            count: &count,
            now_seconds: now.seconds,
        },
    );
    let trace = {
        let mut random = [0u8; 24];
        random.copy_from_slice(&wasip2::random::random::get_random_bytes(24));
        TraceContext::from_headers(&req.headers, &random)
    };
    // A refused preflight gets no CORS header at all; every other answer to an allowed origin does.
    let cors = match &decision {
        Decision::Refuse(refusal) if !refusal.cors => Vec::new(),
        _ => cors_headers(policy, &req.headers),
    };
    let trigger = match req.trigger.kind {
        _ if view.function.is_some() => "function",
        outer::TriggerKind::Http => "http",
        outer::TriggerKind::Cli => "cli",
        outer::TriggerKind::Messaging => "messaging",
    };
    let messaging = req.trigger.kind == outer::TriggerKind::Messaging;
    let mut event = Event::for_decision(
        (now.seconds, now.nanoseconds),
        trigger,
        (!messaging).then_some(req.method.as_str()),
        (!messaging).then_some(req.path.as_str()),
        messaging.then_some(req.trigger.source.as_str()),
        Some((&trace.trace_id, &trace.span_id)),
        &decision,
    );
    let mut response = match &decision {
        Decision::Respond(answer) => outer::Response {
            status: answer.status,
            headers: answer.headers.clone(),
            body: answer.body.clone(),
        },
        Decision::Refuse(refusal) => outer::Response {
            status: refusal.answer.status,
            headers: refusal.answer.headers.clone(),
            body: refusal.answer.body.clone(),
        },
        Decision::Forward {
            caller,
            strip_headers,
            response_headers,
            ..
        } => {
            let request = inner::Request {
                method: req.method.clone(),
                path: req.path.clone(),
                headers: core::mem::take(&mut req.headers),
                body: core::mem::take(&mut req.body),
                trigger: inner::TriggerInfo {
                    kind: match req.trigger.kind {
                        outer::TriggerKind::Http => inner::TriggerKind::Http,
                        outer::TriggerKind::Messaging => inner::TriggerKind::Messaging,
                        outer::TriggerKind::Cli => inner::TriggerKind::Cli,
                    },
                    source: req.trigger.source.clone(),
                },
                caller: None,
            };
            let mut response = forward(request, caller.clone(), strip_headers, &trace);
            set_headers(&mut response.headers, response_headers);
            response
        }
    };
    apply_cors(&mut response.headers, cors);
    event.status = response.status;
    if event.outcome == Outcome::Refused || policy.audit == AuditLevel::All {
        audit(&event.to_json());
    }
    response
}

/// Replaces any header of the same name the function set.
fn set_headers(headers: &mut Vec<(String, String)>, set: &[(String, String)]) {
    headers.retain(|(name, _)| !set.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)));
    headers.extend(set.iter().cloned());
}

/// Calls the function with the caller the policy established (overwriting whatever the request
/// carried, so a caller can never be forged), without the credential headers, and with this
/// decorator's span as the trace parent.
fn forward(
    mut inner_req: inner::Request,
    caller: Option<faas_policy_core::Caller>,
    strip_headers: &[String],
    trace: &TraceContext,
) -> outer::Response {
    inner_req
        .headers
        .retain(|(name, _)| !strip_headers.contains(name) && name != "traceparent");
    inner_req
        .headers
        .push(("traceparent".to_string(), trace.header()));
    inner_req.caller = caller.map(|c| inner::Principal {
        subject: c.subject,
        scopes: c.scopes,
        claims: c.claims,
        scheme: c.scheme.to_string(),
    });
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

/// An audit event: its JSON alone on a line, so that log collectors can parse every line that
/// starts with `{`.
fn audit(json: &str) {
    faas_guest_runtime::write_line(json);
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
