//! A `wasmcloud:messaging` host for one message (`faas test`'s messaging cases): the message goes
//! to the artifact's `handler` in the sandbox and under the limits of a served request, and what
//! the artifact publishes through `consumer` (the reply) is kept.

use super::RequestState;
use anyhow::Context;
use wasmtime::component::{HasSelf, Linker};
use wasmtime_wasi::WasiCtx;

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

impl super::OneShot {
    /// Delivers `message` to the artifact (wrapped with the messaging trigger).
    pub fn deliver(&self, message: Message) -> anyhow::Result<Delivery> {
        let mut store = self.store(WasiCtx::builder().inherit_stderr().build());
        Self::run(async {
            let host = bindings::MessagingHost::instantiate_async(
                &mut store,
                &self.component,
                &self.linker,
            )
            .await
            .map_err(anyhow::Error::from)
            .with_context(|| {
                format!(
                    "cannot deliver to {} (it needs the messaging trigger: faas.toml \
                             triggers, or faas wrap --triggers messaging)",
                    self.path.display()
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
}
