//! The function gate: exports `faas:function/handler` to a function that calls another faas
//! function (`faas deps add ../pricing`), and calls the callee's decorated handler with the
//! caller set to the calling function's name (scheme `function`) and the trigger set to HTTP,
//! whatever the calling code put there. The name is the document of the `faas:function/policy`
//! it imports (a component `faas wrap` generates from faas.toml), so the callee's decorator can
//! trust it: adapters never set a caller, and this gate is the only way into the callee.
//!
//! It links no standard library (guests/runtime says why).

#![no_std]

extern crate alloc;
use faas_guest_runtime as _;

wit_bindgen::generate!({
    path: "../wit",
    world: "faas:guests/function-gate",
    generate_all,
});

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use exports::faas::function::handler as outer;
use faas::function::handler as inner;
use faas::function::policy;

struct Gate;

impl outer::Guest for Gate {
    fn handle(req: outer::Request) -> Result<outer::Response, outer::Error> {
        let caller = String::from_utf8(policy::document()).unwrap_or_default();
        if caller.is_empty() {
            // faas wrap always names the caller; without a name, the call is not made.
            return Err(outer::Error::Internal(
                "the function gate has no caller name".into(),
            ));
        }
        let request = inner::Request {
            method: req.method,
            path: req.path,
            headers: req.headers,
            body: req.body,
            // A call is a function call, whatever trigger the calling code claims: the callee
            // decides it by its rules and `[[auth.function]]`, never as a message or a CLI run.
            trigger: inner::TriggerInfo {
                kind: inner::TriggerKind::Http,
                source: String::new(),
            },
            caller: Some(inner::Principal {
                subject: caller,
                scopes: Vec::new(),
                claims: Vec::new(),
                scheme: "function".to_string(),
            }),
        };
        match inner::handle(&request) {
            Ok(r) => Ok(outer::Response {
                status: r.status,
                headers: r.headers,
                body: r.body,
            }),
            Err(e) => Err(match e {
                inner::Error::BadRequest(m) => outer::Error::BadRequest(m),
                inner::Error::Unauthorized(m) => outer::Error::Unauthorized(m),
                inner::Error::Forbidden(m) => outer::Error::Forbidden(m),
                inner::Error::NotFound(m) => outer::Error::NotFound(m),
                inner::Error::Internal(m) => outer::Error::Internal(m),
            }),
        }
    }
}

export!(Gate);
