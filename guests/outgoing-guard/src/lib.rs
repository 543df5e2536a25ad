//! The outgoing guard: stands between a layer granted outgoing HTTP (the function) and the host's
//! `wasi:http/outgoing-handler`, and passes on only requests to the hosts of that layer's own
//! grant (`[capabilities] outgoing-hosts`, the document of the `faas:function/policy` it imports,
//! one pattern per line). The artifact as a whole may reach more (the verifier layer fetches the
//! identity provider's keys from the `jwks-uri` host); the host enforces only the artifact's
//! union, so the function's share is enforced here. Anything else is `HTTP-request-denied`, with a
//! log line.
//!
//! It links no standard library (guests/runtime says why).

#![no_std]

extern crate alloc;
use faas_guest_runtime as _;

wit_bindgen::generate!({
    path: "wit",
    world: "faas:outgoing-guard/guard",
    with: {
        "wasi:http/types@0.2.12": wasip2::http::types,
        "wasi:http/outgoing-handler@0.2.12": wasip2::http::outgoing_handler,
        "wasi:io/poll@0.2.12": wasip2::io::poll,
        "wasi:io/error@0.2.12": wasip2::io::error,
        "wasi:io/streams@0.2.12": wasip2::io::streams,
        "wasi:clocks/monotonic-clock@0.2.12": wasip2::clocks::monotonic_clock,
    },
    generate_all,
});

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use faas::function::policy;
use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, FutureIncomingResponse, OutgoingRequest, RequestOptions, Scheme,
};

struct Guard;

impl exports::wasi::http::outgoing_handler::Guest for Guard {
    fn handle(
        request: OutgoingRequest,
        options: Option<RequestOptions>,
    ) -> Result<FutureIncomingResponse, ErrorCode> {
        let document = policy::document();
        let hosts: Vec<String> = core::str::from_utf8(&document)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.is_empty())
            .map(ToString::to_string)
            .collect();
        let authority = request.authority().unwrap_or_default();
        // A request without a scheme goes out over https (wasmtime's default).
        let default_port = match request.scheme() {
            Some(Scheme::Http) => 80,
            Some(Scheme::Https) | None => 443,
            Some(Scheme::Other(_)) => 0,
        };
        if !faas_policy_core::host_granted(&hosts, &authority, default_port) {
            faas_guest_runtime::log(
                "faas outgoing guard",
                &format!("request to {authority} refused: not among the function's outgoing-hosts"),
            );
            return Err(ErrorCode::HttpRequestDenied);
        }
        outgoing_handler::handle(request, options)
    }
}

export!(Guard);
