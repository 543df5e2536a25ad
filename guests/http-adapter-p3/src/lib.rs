//! The HTTP platform adapter for WASI 0.3 hosts: exports `wasi:http/handler@0.3`, reads each
//! request's body as a stream (stopping with 413 at the policy's limit, the rest unread), calls the
//! decorated handler with the contract's `request` record, and streams its `response` back. It
//! refuses what the P2 adapter refuses, with the same audit events.

wit_bindgen::generate!({
    path: "../wit",
    world: "faas:guests/http-adapter-p3",
    with: {
        "wasi:http/types@0.3.2": wasip3::http::types,
        "wasi:clocks/types@0.3.2": wasip3::clocks::types,
    },
    generate_all,
});

use faas::function::handler::{self, Request, TriggerInfo, TriggerKind};
use faas::function::policy;
use faas_guest_http_p3::{Refused, head, plain, read_body, respond};
use faas_policy_core::Policy;
use wasip3::http::types::{ErrorCode, Request as HttpRequest, Response as HttpResponse};

struct Adapter;

impl exports::wasi::http::handler::Guest for Adapter {
    async fn handle(request: HttpRequest) -> Result<HttpResponse, ErrorCode> {
        let req = match translate(request).await {
            Ok(req) => req,
            Err(refused) => return Ok(refused.answer()),
        };
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
    let Ok(policy) = Policy::decode(&policy::document()) else {
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

export!(Adapter);
