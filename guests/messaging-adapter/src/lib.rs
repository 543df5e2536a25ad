//! The messaging platform adapter: exports `wasmcloud:messaging/handler`. Each message becomes a
//! `POST /` request whose trigger carries the subject; the decorator decides, from the policy's
//! `[messaging]` table, whether that subject may reach the function. When the message has a
//! reply-to subject, the response body is published there through `wasmcloud:messaging/consumer`.
//!
//! It links no standard library (guests/runtime says why).

#![no_std]

extern crate alloc;
use faas_guest_runtime as _;

wit_bindgen::generate!({
    path: "../wit",
    world: "faas:guests/messaging-adapter",
    generate_all,
});

use alloc::format;
use alloc::string::String;
use alloc::vec;
use exports::wasmcloud::messaging0_2_0::handler::Guest;
use faas::function::handler::{self, Request, TriggerInfo, TriggerKind};
use wasmcloud::messaging0_2_0::consumer;
use wasmcloud::messaging0_2_0::types::BrokerMessage;

struct Messaging;

impl Guest for Messaging {
    fn handle_message(msg: BrokerMessage) -> Result<(), String> {
        let request = Request {
            method: "POST".into(),
            path: "/".into(),
            headers: vec![("content-type".into(), "application/octet-stream".into())],
            body: msg.body,
            trigger: TriggerInfo {
                kind: TriggerKind::Messaging,
                source: msg.subject.clone(),
            },
            // Only the decorator sets the caller.
            caller: None,
        };
        let (status, body) = match handler::handle(&request) {
            Ok(response) => (response.status, response.body),
            Err(_) => (500, b"{\"error\":\"internal\"}".to_vec()),
        };
        if let Some(reply_to) = msg.reply_to {
            consumer::publish(&BrokerMessage {
                subject: reply_to,
                body,
                reply_to: None,
            })?;
        }
        if status < 400 {
            Ok(())
        } else {
            Err(format!(
                "the function answered {status} to a message on {}",
                msg.subject
            ))
        }
    }
}

export!(Messaging);

// Linking the wasip2 crate moves the standard library's WASI imports to the adapters' 0.2 release.
#[used]
static WASI_RELEASE: fn() -> wasip2::clocks::wall_clock::Datetime = wasip2::clocks::wall_clock::now;
