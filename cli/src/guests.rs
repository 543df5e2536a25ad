//! The guest components compiled into the binary by `cli/build.rs` from `guests/`.

/// The credentials provider (world `faas:guests/credentials-provider`).
pub const CREDENTIALS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/faas_credentials.wasm"));

/// The JWT layer (world `faas:guests/jwt-verifier`), composed only for policies with `[auth.jwt]`.
pub const JWT_VERIFIER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/faas_jwt_verifier.wasm"));

/// The interface the JWT layer exports to the decorator.
pub const JWT_INTERFACE: &str = "faas:guests/jwt@0.1.0";

/// The run-time configuration interface the JWT layer and the credentials provider import.
pub const CONFIG_STORE: &str = "wasi:config/store@0.2.0-rc.1";

/// The security decorator (world `faas:guests/decorator`).
pub const DECORATOR: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/faas_decorator.wasm"));

/// The HTTP platform adapter (world `faas:function/adapter` plus `wasi:http/incoming-handler`).
pub const HTTP_ADAPTER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/faas_http_adapter.wasm"));

/// The interface the HTTP adapter exports, and with it the wrapped artifact.
pub const HTTP_EXPORT: &str = "wasi:http/incoming-handler@0.2.12";

/// The CLI platform adapter (world `faas:function/adapter` plus `wasi:cli/run`).
pub const CLI_ADAPTER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/faas_cli_adapter.wasm"));

/// The interface the CLI adapter exports.
pub const CLI_EXPORT: &str = "wasi:cli/run@0.2.12";

/// A platform adapter: its layer name, bytes, the export it adds to the artifact, and the ambient
/// imports it really uses (left for the host instead of denied).
pub struct Adapter {
    /// The layer's name in reports.
    pub layer: &'static str,
    /// The component.
    pub bytes: &'static [u8],
    /// What the artifact exports through it.
    pub export: &'static str,
    /// Ambient interfaces the adapter needs from the host.
    pub keep: &'static [&'static str],
}

/// The adapter for a trigger.
pub fn adapter(trigger: crate::project::Trigger) -> Adapter {
    use crate::project::Trigger;
    match trigger {
        Trigger::Http => Adapter {
            layer: "http-adapter",
            bytes: HTTP_ADAPTER,
            export: HTTP_EXPORT,
            keep: &[],
        },
        Trigger::Cli => Adapter {
            layer: "cli-adapter",
            bytes: CLI_ADAPTER,
            export: CLI_EXPORT,
            keep: &["wasi:cli/stdin@"],
        },
        Trigger::Messaging => Adapter {
            layer: "messaging-adapter",
            bytes: MESSAGING_ADAPTER,
            export: MESSAGING_EXPORT,
            keep: &[],
        },
    }
}

/// The messaging platform adapter (world `faas:guests/messaging-adapter`).
pub const MESSAGING_ADAPTER: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/faas_messaging_adapter.wasm"));

/// The interface the messaging adapter exports.
pub const MESSAGING_EXPORT: &str = "wasmcloud:messaging/handler@0.2.0";
