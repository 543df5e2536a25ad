//! The HTTP platform adapter for WASI 0.3 hosts: exports `wasi:http/handler@0.3`, reads each
//! request's body as a stream (stopping with 413 at the policy's limit, the rest unread), calls the
//! decorated handler with the contract's `request` record, and streams its `response` back. It
//! refuses what the P2 adapter refuses, with the same audit events.

#[cfg(not(feature = "secrets"))]
wit_bindgen::generate!({
    path: "../wit",
    world: "faas:guests/http-adapter-p3",
    with: {
        "wasi:http/types@0.3.2": wasip3::http::types,
        "wasi:clocks/types@0.3.2": wasip3::clocks::types,
    },
    generate_all,
});
// The build for artifacts whose policy grants secrets (the `secrets` feature).
#[cfg(feature = "secrets")]
wit_bindgen::generate!({
    path: "../wit",
    world: "faas:guests/http-adapter-p3-secrets",
    with: {
        "wasi:http/types@0.3.2": wasip3::http::types,
        "wasi:clocks/types@0.3.2": wasip3::clocks::types,
    },
    generate_all,
});

use faas::function::handler::{self, Request, TriggerInfo, TriggerKind};
use faas::function::policy;
use faas_guest_http_p3::{Refused, head, plain, read_body, respond};
use wasip3::http::types::{ErrorCode, Request as HttpRequest, Response as HttpResponse};

struct Adapter;

impl exports::wasi::http::handler::Guest for Adapter {
    async fn handle(request: HttpRequest) -> Result<HttpResponse, ErrorCode> {
        let req = match translate(request).await {
            Ok(req) => req,
            Err(refused) => return Ok(refused.answer()),
        };
        // The function's secrets, fetched while this task may still wait (the decorator and the
        // function are synchronous): only for a request the policy may let through.
        #[cfg(feature = "secrets")]
        if may_be_allowed(&req) {
            faas::guests::secret_prefetch::prefetch().await;
        }
        Ok(match handler::handle(&req) {
            Ok(response) => respond(response.status, &response.headers, response.body),
            Err(error) => plain(match error {
                handler::Error::BadRequest(_) => 400,
                handler::Error::Unauthorized(_) => 401,
                handler::Error::Forbidden(_) => 403,
                handler::Error::NotFound(_) => 404,
                handler::Error::Internal(_) => 500,
            }),
        })
    }
}

/// The request as the contract's record, or why it cannot be passed on.
async fn translate(request: HttpRequest) -> Result<Request, Refused> {
    let Some(policy) = faas_guest_http_p3::compiled_policy(policy::document) else {
        return Err(Refused {
            status: 500,
            reason: "cannot read the policy document",
            method: None,
            path: None,
        });
    };
    let head = head(&request)?;
    let body = read_body(request, &head, policy.filters.max_body_bytes).await?;
    Ok(Request {
        method: head.method,
        path: head.path,
        headers: head.headers,
        body,
        trigger: TriggerInfo {
            kind: TriggerKind::Http,
            source: String::new(),
        },
        // Only the decorator sets the caller.
        caller: None,
    })
}

/// Whether the decorator may let `req` through, decided here without the verifier layer: a
/// request the policy refuses on its own (no key, an unknown key, a missing scope, no route, a
/// filter) never makes the secrets backend work. A decision that needs the verifier (a JWT, a
/// webhook signature) is taken to be possible; limits are not counted here.
#[cfg(feature = "secrets")]
fn may_be_allowed(req: &Request) -> bool {
    use faas_policy_core::{Decision, Environment, RequestView, Trigger, decide};
    let Some(policy) = faas_guest_http_p3::compiled_policy(policy::document) else {
        return false;
    };
    let view = RequestView {
        trigger: Trigger::Http,
        method: &req.method,
        path: &req.path,
        headers: &req.headers,
        body_len: req.body.len() as u64,
        function: None,
    };
    let deferred = || String::from("deferred to the verifier layer");
    let decision = decide(
        policy,
        &view,
        &Environment {
            verify_jwt: &|_| Err(deferred()),
            verify_signature: &|| Err(deferred()),
            count: &|_, _, _| Ok(0),
            now_seconds: faas_guest_http_p3::now().0,
        },
    );
    match decision {
        Decision::Forward { .. } => true,
        Decision::Respond(_) => false,
        Decision::Refuse(_) => policy.jwt.is_some() || policy.hmac.is_some(),
    }
}

export!(Adapter);
