//! The guest components compiled into the binary by `cli/build.rs` from `guests/`.

/// The credentials provider (world `faas:guests/credentials-provider`).
pub const CREDENTIALS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/faas_credentials.wasm"));

/// The run-time configuration interface the decorator and the credentials provider import.
pub const CONFIG_STORE: &str = "wasi:config/store@0.2.0-rc.1";

/// The security decorator (world `faas:guests/decorator`).
pub const DECORATOR: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/faas_decorator.wasm"));

/// The HTTP platform adapter (world `faas:function/adapter` plus `wasi:http/incoming-handler`).
pub const HTTP_ADAPTER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/faas_http_adapter.wasm"));

/// The interface the HTTP adapter exports, and with it the wrapped artifact.
pub const HTTP_EXPORT: &str = "wasi:http/incoming-handler@0.2.12";
