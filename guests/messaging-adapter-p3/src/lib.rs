//! The messaging platform adapter for wasmCloud 2.8 and later (`--target wasmcloud@0.3`):
//! exports the async `wasmcloud:messaging/handler@0.3.0`. As the 0.2.0 adapter, each message
//! becomes a `POST /` request whose trigger carries the subject, and the decorator decides from
//! the policy's `[messaging]` table whether that subject may reach the function; a reply (when
//! the message has a reply-to) is published through the async `consumer@0.3.0`, awaited, so the
//! host's thread is free while the broker takes it.

wit_bindgen::generate!({
    path: "../wit",
    world: "faas:guests/messaging-adapter-p3",
    generate_all,
});

use exports::wasmcloud::messaging0_3_0::handler::Guest;
use faas::function::handler::{self, Request, TriggerInfo, TriggerKind};
use wasmcloud::messaging0_3_0::consumer;
use wasmcloud::messaging0_3_0::types::BrokerMessage;

struct Messaging;

impl Guest for Messaging {
    async fn handle_message(msg: BrokerMessage) -> Result<(), String> {
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
        // The decorator and the function are synchronous: the whole decision and the function's
        // answer happen here, before the first wait.
        let (status, body) = match handler::handle(&request) {
            Ok(response) => (response.status, response.body),
            Err(_) => (500, b"{\"error\":\"internal\"}".to_vec()),
        };
        if let Some(reply_to) = msg.reply_to {
            consumer::publish(BrokerMessage {
                subject: reply_to,
                body,
                reply_to: None,
            })
            .await?;
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
