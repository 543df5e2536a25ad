//! The messaging trigger, with a host-side implementation of `wasmcloud:messaging/consumer` in the
//! test itself (wasmtime), standing in for a wasmCloud host and its NATS provider.

use crate::common::*;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

wasmtime::component::bindgen!({
    inline: r#"
        package wasmcloud:messaging@0.2.0;

        interface types {
            record broker-message { subject: string, body: list<u8>, reply-to: option<string> }
        }
        interface handler {
            use types.{broker-message};
            handle-message: func(msg: broker-message) -> result<_, string>;
        }
        interface consumer {
            use types.{broker-message};
            request: func(subject: string, body: list<u8>, timeout-ms: u32) -> result<broker-message, string>;
            publish: func(msg: broker-message) -> result<_, string>;
        }
        world harness {
            import consumer;
            export handler;
        }
    "#,
});

use wasmcloud::messaging::types::BrokerMessage;

struct Host {
    wasi: WasiCtx,
    table: ResourceTable,
    published: Vec<BrokerMessage>,
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl wasmcloud::messaging::types::Host for Host {}

impl wasmcloud::messaging::consumer::Host for Host {
    fn request(
        &mut self,
        _subject: String,
        _body: Vec<u8>,
        _timeout: u32,
    ) -> Result<BrokerMessage, String> {
        Err("request is not used by the adapter".into())
    }

    fn publish(&mut self, msg: BrokerMessage) -> Result<(), String> {
        self.published.push(msg);
        Ok(())
    }
}

/// Delivers one message to the artifact as a wasmCloud host would; returns the handler's result
/// and what was published.
fn deliver(
    artifact: &std::path::Path,
    msg: BrokerMessage,
) -> (Result<(), String>, Vec<BrokerMessage>) {
    let engine = Engine::default();
    let component = Component::from_file(&engine, artifact).unwrap();
    let mut linker: Linker<Host> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
    Harness::add_to_linker::<Host, HasSelf<Host>>(&mut linker, |host| host).unwrap();
    let mut store = Store::new(
        &engine,
        Host {
            wasi: WasiCtx::builder().inherit_stderr().build(),
            table: ResourceTable::new(),
            published: Vec::new(),
        },
    );
    let harness = Harness::instantiate(&mut store, &component, &linker).unwrap();
    let result = harness
        .wasmcloud_messaging_handler()
        .call_handle_message(&mut store, &msg)
        .unwrap();
    (result, std::mem::take(&mut store.data_mut().published))
}

#[test]
fn a_message_reaches_the_function_and_the_reply_is_published() {
    let (tmp, dir) = built_function("on-message");
    let manifest = std::fs::read_to_string(dir.join("faas.toml")).unwrap();
    std::fs::write(
        dir.join("faas.toml"),
        manifest.replace("triggers = [\"http\"]", "triggers = [\"messaging\"]"),
    )
    .unwrap();
    let policy = tmp.path().join("messages.toml");
    std::fs::write(
        &policy,
        "version = 1\n[messaging]\nsubjects = [\"orders.*\"]\nscopes = [\"orders:write\"]\n",
    )
    .unwrap();
    let policy = policy.to_str().unwrap();
    let out = success(&faas(
        &dir,
        &[
            "wrap",
            "--policy",
            policy,
            "--target",
            "wasmcloud",
            "--json",
        ],
    ));
    let wrapped: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        wrapped["exports"],
        serde_json::json!(["wasmcloud:messaging/handler@0.2.0"])
    );
    let artifact = dir.join("target/faas/on-message.wasm");

    let (result, published) = deliver(
        &artifact,
        BrokerMessage {
            subject: "orders.created".into(),
            body: b"{\"id\":1}".to_vec(),
            reply_to: Some("_INBOX.reply-1".into()),
        },
    );
    assert_eq!(result, Ok(()));
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].subject, "_INBOX.reply-1");
    let reply: serde_json::Value = serde_json::from_slice(&published[0].body).unwrap();
    // The function saw the broker's subject as its caller.
    assert_eq!(reply["caller"], "orders.created");

    // A subject the policy does not accept never reaches the function.
    let (result, published) = deliver(
        &artifact,
        BrokerMessage {
            subject: "payments.created".into(),
            body: b"{}".to_vec(),
            reply_to: Some("_INBOX.reply-2".into()),
        },
    );
    assert!(result.unwrap_err().contains("403"));
    let reply: serde_json::Value = serde_json::from_slice(&published[0].body).unwrap();
    assert_eq!(reply["error"], "forbidden");

    // A wasi:http host cannot call a messaging handler.
    let err = failure(
        &faas(&dir, &["wrap", "--policy", policy, "--target", "wasi-http"]),
        1,
    );
    assert!(
        err.contains("wasmcloud:messaging/handler@0.2.0, which the wasi-http target never calls"),
        "{err}"
    );
}

#[test]
fn faas_invoke_round_trips_a_request_through_the_cli_trigger() {
    let (_tmp, dir) = built_function("invoked");
    success(&faas(
        &dir,
        &["wrap", "--triggers", "http,cli", "-o", "app.wasm"],
    ));
    let key = sample_key(&dir);
    let request = serde_json::json!({
        "method": "GET", "path": "/orders?x=1",
        "headers": { "authorization": format!("Bearer {key}") },
    });
    std::fs::write(dir.join("req.json"), request.to_string()).unwrap();
    let out = success(&faas(
        &dir,
        &["invoke", "app.wasm", "--request", "req.json"],
    ));
    let response: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(response["status"], 200);
    let body: serde_json::Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["caller"], "sample-client");
    assert_eq!(body["path"], "/orders?x=1");

    std::fs::write(dir.join("anonymous.json"), r#"{"path":"/orders"}"#).unwrap();
    let output = faas(&dir, &["invoke", "app.wasm", "--request", "anonymous.json"]);
    failure(&output, 1);
    let response: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(response["status"], 401);
}
