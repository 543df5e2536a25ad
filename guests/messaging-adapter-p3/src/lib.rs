//! The messaging platform adapter for wasmCloud 2.8 and later (`--target wasmcloud@0.3`):
//! exports the async `wasmcloud:messaging/handler@0.3.0`. As the 0.2.0 adapter, each message
//! becomes a `POST /` request whose trigger carries the subject, and the decorator decides from
//! the policy's `[messaging]` table whether that subject may reach the function. The body arrives
//! as a stream and is read no further than one byte past the policy's `max-body-bytes` (the
//! decorator then refuses it as too large); a reply (when the message has a reply-to) is
//! published through the async `consumer@0.3.0`, its body streamed, and awaited, so the host's
//! thread is free while the broker takes it.

wit_bindgen::generate!({
    path: "../wit",
    world: "faas:guests/messaging-adapter-p3",
    generate_all,
});

use exports::wasmcloud::messaging0_3_0::handler::Guest;
use faas::function::handler::{self, Request, TriggerInfo, TriggerKind};
use faas::function::policy;
use faas_policy_core::Policy;
use wasmcloud::messaging0_3_0::consumer;
use wasmcloud::messaging0_3_0::types::{BrokerMessage, Error, HandleMessageError};
use wit_bindgen::StreamResult;

struct Messaging;

impl Guest for Messaging {
    async fn handle_message(msg: BrokerMessage) -> Result<(), HandleMessageError> {
        // Fail closed: without the policy there is no limit to read to, and nothing is passed on.
        let Some(policy) = compiled_policy() else {
            return Err(HandleMessageError::Other(
                "cannot read the policy document".into(),
            ));
        };
        let BrokerMessage {
            subject,
            body,
            reply_to,
        } = msg;
        let body = read_within(body, policy.filters.max_body_bytes).await;
        let request = Request {
            method: "POST".into(),
            path: "/".into(),
            headers: vec![("content-type".into(), "application/octet-stream".into())],
            body,
            trigger: TriggerInfo {
                kind: TriggerKind::Messaging,
                source: subject.clone(),
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
        if let Some(reply_to) = reply_to {
            publish(reply_to, body).await.map_err(|error| match error {
                // The broker may take it later: worth delivering the message again.
                Error::BrokerUnavailable | Error::Timeout | Error::QuotaExceeded => {
                    HandleMessageError::Retry
                }
                other => {
                    HandleMessageError::Other(format!("the reply was not published: {other:?}"))
                }
            })?;
        }
        match status {
            0..400 => Ok(()),
            // Refused by the policy, or a request the function will never take: redelivery
            // cannot help.
            400..500 => Err(HandleMessageError::Reject),
            _ => Err(HandleMessageError::Other(format!(
                "the function answered {status} to a message on {subject}"
            ))),
        }
    }
}

/// The policy, read from the policy component once per instance (a warm instance serves many
/// messages); it never changes within an artifact.
fn compiled_policy() -> Option<&'static Policy> {
    static POLICY: std::sync::OnceLock<Option<Policy>> = std::sync::OnceLock::new();
    POLICY
        .get_or_init(|| Policy::decode(&policy::document()).ok())
        .as_ref()
}

/// The body, read to its end or to one byte past `max`, whichever comes first (the rest is left
/// unread: the stream is dropped).
async fn read_within(mut body: wit_bindgen::StreamReader<u8>, max: u64) -> Vec<u8> {
    let mut read = Vec::new();
    while (read.len() as u64) <= max {
        let room = (max - read.len() as u64).saturating_add(1).min(64 * 1024) as usize;
        let (status, chunk) = body.read(Vec::with_capacity(room)).await;
        read.extend_from_slice(&chunk);
        if let StreamResult::Dropped | StreamResult::Cancelled = status {
            break;
        }
    }
    read
}

/// Publishes `body` on `subject`, the body written by a task of its own while the broker reads it.
async fn publish(subject: String, body: Vec<u8>) -> Result<(), Error> {
    let (mut writer, reader) = wit_stream::new();
    wit_bindgen::spawn_local(async move {
        // A broker that stopped reading leaves the rest unwritten: nothing else to do.
        let _ = writer.write_all(body).await;
    });
    consumer::publish(BrokerMessage {
        subject,
        body: reader,
        reply_to: None,
    })
    .await
}

export!(Messaging);

// Linking the wasip2 crate moves the standard library's WASI imports to the adapters' 0.2 release.
#[used]
static WASI_RELEASE: fn() -> wasip2::clocks::wall_clock::Datetime = wasip2::clocks::wall_clock::now;
