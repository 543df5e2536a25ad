//! A `wasmcloud:messaging` host for one message (`faas test`'s messaging cases): the message goes
//! to the artifact's `handler` in the sandbox and under the limits of a served request, and what
//! the artifact publishes through `consumer` (the reply) is kept.

use super::{RequestState, engine_and_linker, new_store};
use anyhow::Context;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use wasmtime::component::{Component, HasSelf, Linker};

mod bindings {
    // The same wasmcloud:messaging WIT the messaging adapter is built against.
    wasmtime::component::bindgen!({
        path: "../guests/wit/deps/messaging",
        inline: "
            package faas:hosts;
            world messaging-host {
                import wasmcloud:messaging/consumer@0.2.0;
                export wasmcloud:messaging/handler@0.2.0;
            }
        ",
        world: "faas:hosts/messaging-host",
        exports: { default: async },
    });
}

use bindings::wasmcloud::messaging::{consumer, types};

/// A broker message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its subject.
    pub subject: String,
    /// Its body.
    pub body: Vec<u8>,
    /// Where a reply goes.
    pub reply_to: Option<String>,
}

/// What delivering a message gave.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The handler's result: `Err` when the artifact refused or failed the message.
    pub result: Result<(), String>,
    /// What the artifact published, in order.
    pub published: Vec<Message>,
}

impl types::Host for RequestState {}

impl consumer::Host for RequestState {
    fn request(
        &mut self,
        subject: String,
        _body: Vec<u8>,
        _timeout_ms: u32,
    ) -> Result<types::BrokerMessage, String> {
        Err(format!("no broker here answers requests (to {subject})"))
    }

    fn publish(&mut self, msg: types::BrokerMessage) -> Result<(), String> {
        self.published.push(Message {
            subject: msg.subject,
            body: msg.body,
            reply_to: msg.reply_to,
        });
        Ok(())
    }
}

/// Adds the broker (`wasmcloud:messaging/consumer`) to `linker`.
pub(super) fn add_to_linker(linker: &mut Linker<RequestState>) -> anyhow::Result<()> {
    consumer::add_to_linker::<RequestState, HasSelf<RequestState>>(linker, |s| s)
        .map_err(anyhow::Error::from)
}

/// Delivers `message` to the artifact at `path` (wrapped with the messaging trigger).
pub fn deliver(
    path: &Path,
    message: Message,
    values: Vec<(String, String)>,
    options: &super::EngineOptions,
) -> anyhow::Result<Delivery> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (engine, linker) = engine_and_linker(options)?;
    let component = Component::from_binary(&engine, &bytes)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("{} is not a component", path.display()))?;
    let state = RequestState::new(
        Arc::new(values.into_iter().collect()),
        options.limits.max_memory,
        super::granted_hosts(&bytes),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut store = new_store(
            &engine,
            state,
            &options.limits,
            Arc::new(AtomicBool::new(false)),
        );
        let host = bindings::MessagingHost::instantiate_async(&mut store, &component, &linker)
            .await
            .map_err(anyhow::Error::from)
            .with_context(|| {
                format!(
                    "cannot deliver to {} (it needs the messaging trigger: faas.toml triggers, or \
                     faas wrap --triggers messaging)",
                    path.display()
                )
            })?;
        let result = host
            .wasmcloud_messaging_handler()
            .call_handle_message(
                &mut store,
                &types::BrokerMessage {
                    subject: message.subject,
                    body: message.body,
                    reply_to: message.reply_to,
                },
            )
            .await
            .map_err(anyhow::Error::from)
            .context("the artifact trapped")?;
        Ok(Delivery {
            result,
            published: std::mem::take(&mut store.data_mut().published),
        })
    })
}
