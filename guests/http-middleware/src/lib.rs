//! The policy as a standard `wasi:http@0.3` middleware (`faas wrap --http-component`): exports
//! `wasi:http/handler`, imports the same interface from the component it protects, and runs the
//! decorator's policy engine between the two: filters, API keys, JWTs, webhook signatures, rules,
//! rate limits and CORS, with the decorator's audit events and trace context.
//!
//! The component behind it learns the caller from request headers this layer alone sets
//! ([`CALLER_HEADERS`]): every header of those names a client sent is removed first, on every
//! route, so the component can trust them. The request body is read within the policy's limit
//! before the policy decides (a signature covers it); the response body streams through untouched.

wit_bindgen::generate!({
    path: "../wit",
    world: "faas:guests/http-middleware",
    with: {
        "wasi:http/types@0.3.2": wasip3::http::types,
        "wasi:clocks/types@0.3.2": wasip3::clocks::types,
    },
    generate_all,
});

use faas::function::policy;
use faas::guests::verifier;
use faas_guest_http_p3::{Head, head, plain, read_body, respond};
use faas_policy_core::audit::{Event, Outcome};
use faas_policy_core::trace::TraceContext;
use faas_policy_core::{
    AuditLevel, Caller, Decision, Environment, Policy, RequestView, Trigger, apply_cors,
    carried_in_headers, cors_headers, decide,
};
use wasi::http::handler as inner;
use wasip3::http::types::{ErrorCode, Fields, Request, Response};
use wasip3::{wit_bindgen, wit_future};

/// The caller's subject (an API key's id, a token's `sub`), how it authenticated (`api-key`,
/// `jwt`) and its scopes, space-separated: set by this layer only, absent on public routes. A
/// caller they cannot carry exactly (a control character in the subject, a space in a scope) is
/// refused ([`carried_in_headers`]).
const CALLER_HEADERS: [&str; 3] = [
    "faas-caller-subject",
    "faas-caller-scheme",
    "faas-caller-scopes",
];

struct Middleware;

impl exports::wasi::http::handler::Guest for Middleware {
    async fn handle(request: Request) -> Result<Response, ErrorCode> {
        let Some(policy) = faas_guest_http_p3::compiled_policy(policy::document) else {
            faas_guest_http_p3::log("faas middleware", "cannot read the policy document");
            return Ok(plain(500));
        };
        let head = match head(&request) {
            Ok(head) => head,
            Err(refused) => return Ok(refused.answer()),
        };
        // Kept for the request passed on: the body is read by then.
        let scheme = request.get_scheme();
        let authority = request.get_authority();
        let options = request.get_options();
        let body = match read_body(request, &head, policy.filters.max_body_bytes).await {
            Ok(body) => body,
            Err(refused) => return Ok(refused.answer()),
        };
        Ok(apply(policy, head, body, scheme, authority, options).await)
    }
}

/// Decides, answers or passes the request on, and audits the decision.
async fn apply(
    policy: &Policy,
    head: Head,
    body: Vec<u8>,
    scheme: Option<wasip3::http::types::Scheme>,
    authority: Option<String>,
    options: Option<wasip3::http::types::RequestOptions>,
) -> Response {
    let time = faas_guest_http_p3::now();
    let view = RequestView {
        trigger: Trigger::Http,
        method: &head.method,
        path: &head.path,
        headers: &head.headers,
        body_len: body.len() as u64,
        function: None,
    };
    let verify_jwt = |token: &str| {
        verifier::verify_token(token).map(|v| faas_policy_core::jwt::VerifiedToken {
            subject: v.subject,
            scopes: v.scopes,
            claims: v.claims,
        })
    };
    let verify_signature = || verifier::verify_signature(&head.headers, &body);
    // The caller travels in header fields: one they cannot carry exactly is refused.
    let decision = carried_in_headers(decide(
        policy,
        &view,
        &Environment {
            verify_jwt: &verify_jwt,
            verify_signature: &verify_signature,
            count: &verifier::count,
            now_seconds: time.0,
        },
    ));
    let trace = {
        let mut random = [0u8; 24];
        random.copy_from_slice(&wasip2::random::random::get_random_bytes(24));
        TraceContext::from_headers(&head.headers, &random)
    };
    let cors = match &decision {
        Decision::Refuse(refusal) if !refusal.cors => Vec::new(),
        _ => cors_headers(policy, &head.headers),
    };
    let mut event = Event::for_decision(
        time,
        "http",
        Some(&head.method),
        Some(&head.path),
        None,
        Some((&trace.trace_id, &trace.span_id)),
        &decision,
    );
    let (status, response) = match &decision {
        Decision::Respond(answer) => {
            let mut headers = answer.headers.clone();
            apply_cors(&mut headers, cors);
            (
                answer.status,
                respond(answer.status, &headers, answer.body.clone()),
            )
        }
        Decision::Refuse(refusal) => {
            let answer = &refusal.answer;
            let mut headers = answer.headers.clone();
            apply_cors(&mut headers, cors);
            (
                answer.status,
                respond(answer.status, &headers, answer.body.clone()),
            )
        }
        Decision::Forward {
            caller,
            strip_headers,
            response_headers,
            ..
        } => {
            let mut headers = head.headers.clone();
            headers.retain(|(name, _)| {
                !strip_headers.contains(name)
                    && name != "traceparent"
                    && !CALLER_HEADERS.contains(&name.as_str())
            });
            headers.push(("traceparent".to_string(), trace.header()));
            headers.extend(caller_headers(caller.as_ref()));
            let forwarded = Forwarded {
                method: &head.method,
                path: &head.path,
                headers: &headers,
                scheme,
                authority,
                options,
            };
            let mut extra = response_headers.clone();
            extra.extend(cors);
            forward(forwarded, body, &extra).await
        }
    };
    event.status = status;
    if event.outcome == Outcome::Refused || policy.audit == AuditLevel::All {
        faas_guest_http_p3::write_line(&event.to_json());
    }
    response
}

/// The caller's headers for the component behind: none on a public route.
fn caller_headers(caller: Option<&Caller>) -> Vec<(String, String)> {
    let Some(caller) = caller else {
        return Vec::new();
    };
    let [subject, scheme, scopes] = CALLER_HEADERS.map(str::to_string);
    vec![
        (subject, caller.subject.clone()),
        (scheme, caller.scheme.to_string()),
        (scopes, caller.scopes.join(" ")),
    ]
}

/// The request passed on, but for its body.
struct Forwarded<'a> {
    method: &'a str,
    path: &'a str,
    headers: &'a [(String, String)],
    scheme: Option<wasip3::http::types::Scheme>,
    authority: Option<String>,
    options: Option<wasip3::http::types::RequestOptions>,
}

/// The header fields passed on, in one call to the host when it takes them all (the usual
/// case); else one at a time, a field the host will not let a guest set (a hop-by-hop one)
/// dropped, not fatal. `None` when the host refuses one of the caller's fields: they were checked
/// to be carriable, and the request is not passed on without them.
fn request_fields(headers: &[(String, String)]) -> Option<Fields> {
    let list: Vec<(String, Vec<u8>)> = headers
        .iter()
        .map(|(name, value)| (name.clone(), value.as_bytes().to_vec()))
        .collect();
    if let Ok(fields) = Fields::from_list(&list) {
        return Some(fields);
    }
    let fields = Fields::new();
    for (name, value) in headers {
        if fields.append(name, value.as_bytes()).is_err() && CALLER_HEADERS.contains(&name.as_str())
        {
            return None;
        }
    }
    Some(fields)
}

/// Calls the component behind with the request and `body`, and answers with its response plus
/// `extra` headers (rate limits, CORS); its body streams through. Returns the status for the audit
/// event.
async fn forward(
    request: Forwarded<'_>,
    body: Vec<u8>,
    extra: &[(String, String)],
) -> (u16, Response) {
    let Some(fields) = request_fields(request.headers) else {
        return (401, plain(401));
    };
    let (trailers_tx, trailers_rx) = wit_future::new(|| Ok(None));
    drop(trailers_tx);
    // An empty body travels as none: no stream to make, fill and close.
    let body_rx = (!body.is_empty()).then(|| {
        let (mut body_tx, body_rx) = wasip3::wit_stream::new();
        wit_bindgen::spawn_local(async move {
            let _ = body_tx.write_all(body).await;
        });
        body_rx
    });
    let (outgoing, _sent) = Request::new(fields, body_rx, trailers_rx, request.options);
    let method = match request.method {
        "GET" => wasip3::http::types::Method::Get,
        "HEAD" => wasip3::http::types::Method::Head,
        "POST" => wasip3::http::types::Method::Post,
        "PUT" => wasip3::http::types::Method::Put,
        "DELETE" => wasip3::http::types::Method::Delete,
        "OPTIONS" => wasip3::http::types::Method::Options,
        "TRACE" => wasip3::http::types::Method::Trace,
        "PATCH" => wasip3::http::types::Method::Patch,
        other => wasip3::http::types::Method::Other(other.to_string()),
    };
    let set = outgoing.set_method(&method).is_ok()
        && outgoing.set_path_with_query(Some(request.path)).is_ok()
        && outgoing.set_scheme(request.scheme.as_ref()).is_ok()
        && outgoing.set_authority(request.authority.as_deref()).is_ok();
    if !set {
        return (400, plain(400));
    }
    let response = match inner::handle(outgoing).await {
        Ok(response) => response,
        Err(error) => {
            faas_guest_http_p3::log(
                "faas middleware",
                &format!("the component behind failed: {error:?}"),
            );
            return (502, plain(502));
        }
    };
    let status = response.get_status_code();
    // Nothing to add: the response goes back as it came, its body streaming straight through.
    if extra.is_empty() {
        return (status, response);
    }
    let mut headers: Vec<(String, Vec<u8>)> = response.get_headers().copy_all();
    headers.retain(|(name, _)| !extra.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)));
    headers.extend(
        extra
            .iter()
            .map(|(n, v)| (n.clone(), v.as_bytes().to_vec())),
    );
    let fields = Fields::new();
    for (name, value) in &headers {
        let _ = fields.append(name, value);
    }
    // The body and trailers stream from the component behind to the host: the result the host
    // reports for our response is the one the component behind waits for.
    let (result_tx, result_rx) = wit_future::new(|| Ok(()));
    let (body, trailers) = Response::consume_body(response, result_rx);
    let (passed_on, sent) = Response::new(fields, Some(body), trailers);
    if passed_on.set_status_code(status).is_err() {
        return (500, plain(500));
    }
    wit_bindgen::spawn_local(async move {
        let _ = result_tx.write(sent.await).await;
    });
    (status, passed_on)
}

export!(Middleware);
