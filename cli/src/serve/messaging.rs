//! A `wasmcloud:messaging` host for one message (`faas test`'s messaging cases): the message goes
//! to the artifact's `handler` in the sandbox and under the limits of a served request, and what
//! the artifact publishes through `consumer` (the reply) is kept. Both revisions: 0.2.0, and
//! wasmCloud 2.8's async 0.3.0 (an artifact wrapped for `--target wasmcloud@0.3`), which is
//! called, as a 2.8 host does, in preference to 0.2.0.

use super::RequestState;
use anyhow::Context;
use wasmtime::component::{
    Accessor, HasData, HasSelf, Linker, Source, StreamConsumer, StreamReader, StreamResult,
};
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

mod bindings_p3 {
    // wasmCloud 2.8's async revision, as the 0.3 messaging adapter is built against.
    wasmtime::component::bindgen!({
        path: "../wit/targets/deps/messaging-0.3.wit",
        inline: "
            package faas:hosts;
            world messaging-host-p3 {
                import wasmcloud:messaging/consumer@0.3.0;
                export wasmcloud:messaging/handler@0.3.0;
            }
        ",
        world: "faas:hosts/messaging-host-p3",
        imports: { default: store },
    });
}

use bindings::wasmcloud::messaging::{consumer, types};
use bindings_p3::wasmcloud::messaging::{consumer as consumer_p3, types as types_p3};

/// The export a wasmCloud 2.8 host calls first.
const HANDLER_P3: &str = "wasmcloud:messaging/handler@0.3.0";

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

/// The async broker's state in a request.
struct Broker;

impl HasData for Broker {
    type Data<'a> = &'a mut RequestState;
}

impl types_p3::Host for &mut RequestState {}
impl consumer_p3::Host for &mut RequestState {}

impl<T> consumer_p3::HostWithStore<T> for Broker {
    async fn request(
        accessor: &Accessor<T, Self>,
        subject: String,
        mut body: StreamReader<u8>,
        _timeout_ms: Option<u32>,
    ) -> Result<types_p3::BrokerMessage, types_p3::Error> {
        accessor.with(|mut access| {
            let _ = body.close(&mut access);
        });
        Err(types_p3::Error::Other(format!(
            "no broker here answers requests (to {subject})"
        )))
    }

    async fn publish(
        accessor: &Accessor<T, Self>,
        msg: types_p3::BrokerMessage,
    ) -> Result<(), types_p3::Error> {
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let collected = accessor.with(|mut access| {
            msg.body.pipe(
                &mut access,
                Collect {
                    bytes: Vec::new(),
                    done: Some(done_tx),
                },
            )
        });
        if collected.is_err() {
            return Err(types_p3::Error::Other("the body cannot be read".into()));
        }
        // The whole body, once its writer has closed the stream (a broker takes it whole).
        let body = done_rx
            .await
            .map_err(|_| types_p3::Error::Other("the body was not sent".into()))?;
        accessor.with(|mut access| {
            access.get().published.push(Message {
                subject: msg.subject,
                body,
                reply_to: msg.reply_to,
            })
        });
        Ok(())
    }
}

/// Reads a guest's `stream<u8>` whole, and hands the bytes over when the stream ends.
struct Collect {
    bytes: Vec<u8>,
    done: Option<tokio::sync::oneshot::Sender<Vec<u8>>>,
}

impl<D> StreamConsumer<D> for Collect {
    type Item = u8;

    fn poll_consume(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        store: wasmtime::StoreContextMut<D>,
        source: Source<'_, u8>,
        _finish: bool,
    ) -> std::task::Poll<wasmtime::Result<StreamResult>> {
        let mut source = source.as_direct(store);
        let chunk = source.remaining().to_vec();
        source.mark_read(chunk.len());
        self.bytes.extend_from_slice(&chunk);
        std::task::Poll::Ready(Ok(StreamResult::Completed))
    }
}

impl Drop for Collect {
    fn drop(&mut self) {
        if let Some(done) = self.done.take() {
            let _ = done.send(std::mem::take(&mut self.bytes));
        }
    }
}

/// Adds the broker (`wasmcloud:messaging/consumer`) to `linker`: 0.2.0, and with `asynchronous`
/// (an engine for WASI 0.3 artifacts) 0.3.0 too.
pub(super) fn add_to_linker(
    linker: &mut Linker<RequestState>,
    asynchronous: bool,
) -> anyhow::Result<()> {
    consumer::add_to_linker::<RequestState, HasSelf<RequestState>>(linker, |s| s)
        .map_err(anyhow::Error::from)?;
    if asynchronous {
        consumer_p3::add_to_linker::<RequestState, Broker>(linker, |s| s)
            .map_err(anyhow::Error::from)?;
    }
    Ok(())
}

impl super::OneShot {
    /// Delivers `message` to the artifact (wrapped with the messaging trigger): to its 0.3.0
    /// handler when it has one, as a wasmCloud 2.8 host does, else to its 0.2.0 one.
    pub fn deliver(&self, message: Message) -> anyhow::Result<Delivery> {
        if self.component.get_export_index(None, HANDLER_P3).is_some() {
            return self.deliver_p3(message);
        }
        let mut store = self.store(self.guest_log.apply(&mut WasiCtx::builder()).build());
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

impl super::OneShot {
    /// Delivers `message` to the async `wasmcloud:messaging/handler@0.3.0`.
    fn deliver_p3(&self, message: Message) -> anyhow::Result<Delivery> {
        let mut store = self.store(self.guest_log.apply(&mut WasiCtx::builder()).build());
        Self::run(async {
            let host = bindings_p3::MessagingHostP3::instantiate_async(
                &mut store,
                &self.component,
                &self.linker,
            )
            .await
            .map_err(anyhow::Error::from)
            .with_context(|| format!("cannot deliver to {}", self.path.display()))?;
            let result = store
                .run_concurrent(async move |accessor| {
                    // The body as the host's stream, read by the artifact.
                    let body =
                        accessor.with(|mut access| StreamReader::new(&mut access, message.body))?;
                    let message = types_p3::BrokerMessage {
                        subject: message.subject,
                        body,
                        reply_to: message.reply_to,
                    };
                    host.wasmcloud_messaging_handler()
                        .call_handle_message(accessor, message)
                        .await
                })
                .await
                .map_err(anyhow::Error::from)
                .context("the artifact trapped")?
                .map_err(anyhow::Error::from)
                .context("the artifact trapped")?;
            Ok(Delivery {
                result: result.map_err(|disposition| match disposition {
                    types_p3::HandleMessageError::Reject => "rejected".to_string(),
                    types_p3::HandleMessageError::Retry => "to be retried".to_string(),
                    types_p3::HandleMessageError::Other(detail) => detail,
                }),
                published: std::mem::take(&mut store.data_mut().published),
            })
        })
    }
}
