//! The guest components compiled into the binary by `cli/build.rs` from `guests/`, and the one table
//! of what composing each needs: the interface it serves, the ambient imports it really uses, and
//! the imports it takes from the host only when the policy needs them. Each is decoded once per
//! process, on first use.

use crate::artifact::BuiltFrom;
use crate::component::{self, Inspection};
use crate::project::Trigger;
use std::sync::OnceLock;

/// The interface the verifier layer exports to the decorator.
pub const VERIFIER_INTERFACE: &str = "faas:guests/verifier@0.1.0";

/// The key-value interfaces the verifier layer imports for rate limits.
pub const KEYVALUE_STORE: &str = "wasi:keyvalue/store@0.2.0-draft";
/// The atomic increments of [`KEYVALUE_STORE`]'s buckets.
pub const KEYVALUE_ATOMICS: &str = "wasi:keyvalue/atomics@0.2.0-draft";

/// The run-time configuration interface the verifier layer and the credentials provider import (and
/// the credentials provider exports, narrowed, to a function allowed to import it).
pub const CONFIG_STORE: &str = "wasi:config/store@0.2.0-rc.1";

/// The WASI 0.2 release the guests are built against (through the `wasip2` crate), and so the one
/// an artifact imports: `faas wrap` names a function's older `wasi:` imports at this release.
pub const WASI_RELEASE: &str = "0.2.12";

/// The interface the HTTP adapter exports, and with it the wrapped artifact.
pub const HTTP_EXPORT: &str = "wasi:http/incoming-handler@0.2.12";

/// The interface the CLI adapter exports.
pub const CLI_EXPORT: &str = "wasi:cli/run@0.2.12";

/// The interface the messaging adapter exports.
pub const MESSAGING_EXPORT: &str = "wasmcloud:messaging/handler@0.2.0";

/// The interface the messaging adapter for wasmCloud 2.8+ exports (`--target wasmcloud@0.3`).
pub const MESSAGING_HANDLER_P3: &str = "wasmcloud:messaging/handler@0.3.0";

/// The security decorator (world `faas:guests/decorator`).
pub const DECORATOR: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/faas_decorator.wasm"));

/// The security decorator without the verifier import (world
/// `faas:guests/decorator-without-verifier`), for policies without JWTs, signatures or limits.
pub const DECORATOR_WITHOUT_VERIFIER: &[u8] = include_bytes!(concat!(
    env!("OUT_DIR"),
    "/faas_decorator_without_verifier.wasm"
));

/// The verifier layer (world `faas:guests/verifier-layer`), composed only for policies with
/// `[auth.jwt]`, `[auth.hmac]` or `[[limit]]`.
pub const VERIFIER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/faas_verifier.wasm"));

/// The credentials provider (world `faas:guests/credentials-provider`).
pub const CREDENTIALS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/faas_credentials.wasm"));

/// The key-value guard (world `faas:guests/keyvalue-guard`), between a layer granted
/// `wasi:keyvalue` and the host's store.
pub const KEYVALUE_GUARD: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/faas_keyvalue_guard.wasm"));

/// The outgoing guard (world `faas:outgoing-guard/guard`), between a layer granted outgoing HTTP
/// and the host's `wasi:http/outgoing-handler`.
pub const OUTGOING_GUARD: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/faas_outgoing_guard.wasm"));

/// Outgoing HTTP, at the WASI release of the guests (the name a function's import has once
/// `faas wrap` has named it at that release).
pub const OUTGOING_HANDLER: &str = "wasi:http/outgoing-handler@0.2.12";

/// The function gate (world `faas:guests/function-gate`), between a function and a faas function
/// it depends on.
pub const FUNCTION_GATE: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/faas_function_gate.wasm"));

/// The configuration bridge (world `faas:guests/config-runtime-bridge`), for hosts whose run-time
/// configuration is `wasi:config/runtime@0.2.0-draft`.
pub const CONFIG_BRIDGE: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/faas_config_bridge.wasm"));

/// The run-time configuration interface of wasmCloud 1.x hosts and wash-runtime 0.1.
pub const CONFIG_RUNTIME_DRAFT: &str = "wasi:config/runtime@0.2.0-draft";

/// The HTTP platform adapter (world `faas:function/adapter` plus `wasi:http/incoming-handler`).
pub const HTTP_ADAPTER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/faas_http_adapter.wasm"));

/// The HTTP platform adapter for WASI 0.3 hosts (world `faas:guests/http-adapter-p3`).
pub const HTTP_ADAPTER_P3: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/faas_http_adapter_p3.wasm"));

/// The policy as a `wasi:http@0.3` middleware (world `faas:guests/http-middleware`), for `faas
/// wrap --http-component`.
pub const HTTP_MIDDLEWARE: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/faas_http_middleware.wasm"));

/// The P3 HTTP adapter of an artifact that reads `wasmcloud:secrets` (world
/// `faas:guests/http-adapter-p3-secrets`): it has the secrets layer fetch them first.
pub const HTTP_ADAPTER_P3_SECRETS: &[u8] = include_bytes!(concat!(
    env!("OUT_DIR"),
    "/faas_http_adapter_p3_secrets.wasm"
));

/// The secrets layer (world `faas:guests/secrets-layer`).
pub const SECRETS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/faas_secrets.wasm"));

/// What the secrets layer serves the credentials provider.
pub const SECRET_VALUES: &str = "faas:guests/secret-values@0.1.0";
/// What the secrets layer serves the P3 HTTP adapter.
pub const SECRET_PREFETCH: &str = "faas:guests/secret-prefetch@0.1.0";

/// The interface the WASI 0.3 layers export (and the middleware imports from the component it
/// protects).
pub use crate::contract::HTTP_HANDLER_P3;

/// The CLI platform adapter (world `faas:function/adapter` plus `wasi:cli/run`).
pub const CLI_ADAPTER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/faas_cli_adapter.wasm"));

/// The messaging platform adapter (world `faas:guests/messaging-adapter`).
pub const MESSAGING_ADAPTER: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/faas_messaging_adapter.wasm"));

/// The messaging platform adapter for wasmCloud 2.8+ (world `faas:guests/messaging-adapter-p3`).
pub const MESSAGING_ADAPTER_P3: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/faas_messaging_adapter_p3.wasm"));

/// What in a policy makes a guest take an optional import from the host (or from another layer);
/// without it, the import is satisfied by a deny layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// `[auth.jwt]`, `[auth.hmac]` or `[[limit]]`: the decorator calls the verifier layer.
    Verifier,
    /// `[auth.jwt] hs256-secret` or `[auth.hmac]`: the verifier layer reads a secret at run time.
    RuntimeSecret,
    /// `[[limit]]` or `jwks-uri`: the verifier layer counts, or caches keys, in the host's
    /// key-value store.
    KeyValue,
    /// `jwks-uri`: the verifier layer fetches the identity provider's keys.
    OutgoingHttp,
    /// A `[credentials]` grant `{ config = … }`: the provider reads values at run time.
    Credentials,
    /// A `[credentials]` grant `{ secret = … }`: the provider reads the secrets layer.
    Secrets,
}

/// One embedded guest component.
pub struct Guest {
    /// Its layer's name in reports.
    pub layer: &'static str,
    /// The component.
    pub bytes: &'static [u8],
    /// The interface it serves: to another layer, or (adapters) as the artifact's export.
    pub export: &'static str,
    /// Ambient interfaces it really uses, left for the host instead of denied.
    pub keep: &'static [&'static str],
    /// Imports it takes only when the policy needs them, and what needs them.
    pub optional: &'static [(&'static str, Need)],
    /// The crates compiled into it, as `cargo tree` listed them when faas was built.
    crates: &'static str,
    inspection: OnceLock<Inspection>,
}

/// The Rust compiler the guests were built with.
const RUSTC: &str = include_str!(concat!(env!("OUT_DIR"), "/guests.rustc"));

impl Guest {
    /// What it was built from: its crates and the compiler, for the SBOM.
    pub fn built_from(&self) -> BuiltFrom {
        BuiltFrom {
            toolchain: Some(format!(
                "{RUSTC}, wasm32-wasip2, release (faas {})",
                env!("CARGO_PKG_VERSION")
            )),
            packages: crate::packages::from_cargo_tree(self.crates),
        }
    }

    /// The guest decoded (once per process).
    pub fn inspection(&self) -> &Inspection {
        self.inspection.get_or_init(|| {
            component::inspect_own(self.bytes)
                .unwrap_or_else(|e| panic!("the embedded {} does not decode: {e}", self.layer))
        })
    }
}

/// The security decorator.
pub static DECORATOR_GUEST: Guest = Guest {
    layer: "decorator",
    bytes: DECORATOR,
    export: "faas:function/handler@0.1.0",
    keep: DECORATOR_KEEPS,
    optional: &[(VERIFIER_INTERFACE, Need::Verifier)],
    crates: include_str!(concat!(env!("OUT_DIR"), "/faas_decorator.wasm.crates")),
    inspection: OnceLock::new(),
};

/// What the decorator takes from the host: the wall clock (audit events' time, rate-limit
/// windows) and random bytes (trace and span ids).
const DECORATOR_KEEPS: &[&str] = &["wasi:clocks/wall-clock@", "wasi:random/random@"];

/// The security decorator for policies that need no verifier layer: nothing stands in for it.
pub static DECORATOR_WITHOUT_VERIFIER_GUEST: Guest = Guest {
    layer: "decorator",
    bytes: DECORATOR_WITHOUT_VERIFIER,
    export: "faas:function/handler@0.1.0",
    keep: DECORATOR_KEEPS,
    optional: &[],
    crates: include_str!(concat!(
        env!("OUT_DIR"),
        "/faas_decorator_without_verifier.wasm.crates"
    )),
    inspection: OnceLock::new(),
};

/// The verifier layer.
pub static VERIFIER_GUEST: Guest = Guest {
    layer: "verifier",
    bytes: VERIFIER,
    export: VERIFIER_INTERFACE,
    keep: &[],
    optional: &[
        (CONFIG_STORE, Need::RuntimeSecret),
        (KEYVALUE_STORE, Need::KeyValue),
        (KEYVALUE_ATOMICS, Need::KeyValue),
        ("wasi:http/outgoing-handler@0.2.12", Need::OutgoingHttp),
        ("wasi:http/types@0.2.12", Need::OutgoingHttp),
    ],
    crates: include_str!(concat!(env!("OUT_DIR"), "/faas_verifier.wasm.crates")),
    inspection: OnceLock::new(),
};

/// The credentials provider.
pub static CREDENTIALS_GUEST: Guest = Guest {
    layer: "credentials",
    bytes: CREDENTIALS,
    export: "faas:function/credentials@0.1.0",
    keep: &[],
    optional: &[
        (CONFIG_STORE, Need::Credentials),
        (SECRET_VALUES, Need::Secrets),
    ],
    crates: include_str!(concat!(env!("OUT_DIR"), "/faas_credentials.wasm.crates")),
    inspection: OnceLock::new(),
};

/// The function gate.
pub static FUNCTION_GATE_GUEST: Guest = Guest {
    layer: "function-gate",
    bytes: FUNCTION_GATE,
    export: "faas:function/handler@0.1.0",
    keep: &[],
    optional: &[],
    crates: include_str!(concat!(env!("OUT_DIR"), "/faas_function_gate.wasm.crates")),
    inspection: OnceLock::new(),
};

/// The key-value guard: the function's `wasi:keyvalue` without the keys of faas's own layers.
pub static KEYVALUE_GUARD_GUEST: Guest = Guest {
    layer: "keyvalue-guard",
    bytes: KEYVALUE_GUARD,
    export: KEYVALUE_STORE,
    keep: &[],
    optional: &[],
    crates: include_str!(concat!(env!("OUT_DIR"), "/faas_keyvalue_guard.wasm.crates")),
    inspection: OnceLock::new(),
};

/// The outgoing guard: a layer's outgoing HTTP, to the hosts of its own grant only.
pub static OUTGOING_GUARD_GUEST: Guest = Guest {
    layer: "outgoing-guard",
    bytes: OUTGOING_GUARD,
    export: OUTGOING_HANDLER,
    keep: &[],
    optional: &[],
    crates: include_str!(concat!(env!("OUT_DIR"), "/faas_outgoing_guard.wasm.crates")),
    inspection: OnceLock::new(),
};

/// The configuration bridge: `wasi:config/store` served from `wasi:config/runtime`.
pub static CONFIG_BRIDGE_GUEST: Guest = Guest {
    layer: "config-bridge",
    bytes: CONFIG_BRIDGE,
    export: CONFIG_STORE,
    keep: &[],
    optional: &[],
    crates: include_str!(concat!(env!("OUT_DIR"), "/faas_config_bridge.wasm.crates")),
    inspection: OnceLock::new(),
};

static HTTP_GUEST: Guest = Guest {
    layer: "http-adapter",
    bytes: HTTP_ADAPTER,
    export: HTTP_EXPORT,
    // The time of its refusals' audit events.
    keep: &["wasi:clocks/wall-clock@"],
    optional: &[],
    crates: include_str!(concat!(env!("OUT_DIR"), "/faas_http_adapter.wasm.crates")),
    inspection: OnceLock::new(),
};

/// The WASI 0.3 HTTP adapter.
pub static HTTP_P3_GUEST: Guest = Guest {
    layer: "http-adapter",
    bytes: HTTP_ADAPTER_P3,
    export: HTTP_HANDLER_P3,
    keep: &["wasi:clocks/wall-clock@"],
    optional: &[],
    crates: include_str!(concat!(
        env!("OUT_DIR"),
        "/faas_http_adapter_p3.wasm.crates"
    )),
    inspection: OnceLock::new(),
};

/// The WASI 0.3 HTTP adapter that has secrets fetched first.
pub static HTTP_P3_SECRETS_GUEST: Guest = Guest {
    layer: "http-adapter",
    bytes: HTTP_ADAPTER_P3_SECRETS,
    export: HTTP_HANDLER_P3,
    keep: &["wasi:clocks/wall-clock@"],
    optional: &[],
    crates: include_str!(concat!(
        env!("OUT_DIR"),
        "/faas_http_adapter_p3_secrets.wasm.crates"
    )),
    inspection: OnceLock::new(),
};

/// The secrets layer.
pub static SECRETS_GUEST: Guest = Guest {
    layer: "secrets",
    bytes: SECRETS,
    export: SECRET_VALUES,
    keep: &[],
    optional: &[],
    crates: include_str!(concat!(env!("OUT_DIR"), "/faas_secrets.wasm.crates")),
    inspection: OnceLock::new(),
};

/// The policy middleware.
pub static HTTP_MIDDLEWARE_GUEST: Guest = Guest {
    layer: "http-middleware",
    bytes: HTTP_MIDDLEWARE,
    export: HTTP_HANDLER_P3,
    keep: &["wasi:clocks/wall-clock@", "wasi:random/random@"],
    optional: &[(VERIFIER_INTERFACE, Need::Verifier)],
    crates: include_str!(concat!(
        env!("OUT_DIR"),
        "/faas_http_middleware.wasm.crates"
    )),
    inspection: OnceLock::new(),
};

static CLI_GUEST: Guest = Guest {
    layer: "cli-adapter",
    bytes: CLI_ADAPTER,
    export: CLI_EXPORT,
    keep: &["wasi:cli/stdin@"],
    optional: &[],
    crates: include_str!(concat!(env!("OUT_DIR"), "/faas_cli_adapter.wasm.crates")),
    inspection: OnceLock::new(),
};

static MESSAGING_GUEST: Guest = Guest {
    layer: "messaging-adapter",
    bytes: MESSAGING_ADAPTER,
    export: MESSAGING_EXPORT,
    keep: &[],
    optional: &[],
    crates: include_str!(concat!(
        env!("OUT_DIR"),
        "/faas_messaging_adapter.wasm.crates"
    )),
    inspection: OnceLock::new(),
};

/// The messaging adapter for wasmCloud 2.8+.
pub static MESSAGING_P3_GUEST: Guest = Guest {
    layer: "messaging-adapter",
    bytes: MESSAGING_ADAPTER_P3,
    export: MESSAGING_HANDLER_P3,
    keep: &[],
    optional: &[],
    crates: include_str!(concat!(
        env!("OUT_DIR"),
        "/faas_messaging_adapter_p3.wasm.crates"
    )),
    inspection: OnceLock::new(),
};

/// The platform adapter for a trigger: for a host that calls WASI 0.3 `wasi:http` when
/// `http_p3`, and the async `wasmcloud:messaging@0.3.0` handler when `messaging_p3`.
pub fn adapter(trigger: Trigger, http_p3: bool, messaging_p3: bool) -> &'static Guest {
    match trigger {
        Trigger::Http if http_p3 => &HTTP_P3_GUEST,
        Trigger::Http => &HTTP_GUEST,
        Trigger::Cli => &CLI_GUEST,
        Trigger::Messaging if messaging_p3 => &MESSAGING_P3_GUEST,
        Trigger::Messaging => &MESSAGING_GUEST,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [&Guest; 16] = [
        &MESSAGING_P3_GUEST,
        &OUTGOING_GUARD_GUEST,
        &KEYVALUE_GUARD_GUEST,
        &HTTP_P3_SECRETS_GUEST,
        &SECRETS_GUEST,
        &HTTP_P3_GUEST,
        &HTTP_MIDDLEWARE_GUEST,
        &CONFIG_BRIDGE_GUEST,
        &FUNCTION_GATE_GUEST,
        &DECORATOR_GUEST,
        &DECORATOR_WITHOUT_VERIFIER_GUEST,
        &VERIFIER_GUEST,
        &CREDENTIALS_GUEST,
        &HTTP_GUEST,
        &CLI_GUEST,
        &MESSAGING_GUEST,
    ];

    #[test]
    fn every_guest_knows_its_crates_and_the_lean_ones_link_no_jwt_library() {
        for guest in ALL {
            let built_from = guest.built_from();
            let names: Vec<&str> = built_from
                .packages
                .iter()
                .map(|p| p.name.as_str())
                .collect();
            assert!(names.contains(&"wasip2"), "{}: {names:?}", guest.layer);
            assert!(built_from.toolchain.unwrap().starts_with("rustc "));
            let links_jwt = names.contains(&"jsonwebtoken");
            assert_eq!(links_jwt, guest.layer == "verifier", "{}", guest.layer);
        }
    }

    #[test]
    fn every_guest_is_valid_code() {
        // Composition does not validate the guests' code again (component::validate_composition).
        for guest in ALL {
            component::inspect(guest.bytes).unwrap_or_else(|e| panic!("{}: {e}", guest.layer));
        }
    }

    #[test]
    fn every_guest_imports_wasi_at_the_one_release_artifacts_import() {
        for guest in ALL {
            for import in guest
                .inspection()
                .imports
                .iter()
                .filter(|i| i.starts_with("wasi:"))
            {
                let version = import.split_once('@').map(|(_, v)| v);
                let p3_http = guest.export == HTTP_HANDLER_P3 && import.starts_with("wasi:http/");
                assert!(
                    version == Some(WASI_RELEASE)
                        || (p3_http && version == Some("0.3.2"))
                        || [
                            CONFIG_STORE,
                            CONFIG_RUNTIME_DRAFT,
                            KEYVALUE_STORE,
                            KEYVALUE_ATOMICS
                        ]
                        .contains(&import.as_str()),
                    "{} imports {import}",
                    guest.layer
                );
            }
        }
    }

    #[test]
    fn lean_guests_import_only_what_they_use() {
        // No standard library: none of the wasi:cli extras std asks for, which would need a deny
        // layer (guests/runtime). Only the verifier layer and the WASI 0.3 layers (wit-bindgen's
        // async runtime) link std.
        for guest in ALL.into_iter().filter(|g| {
            !["verifier", "secrets"].contains(&g.layer)
                && ![HTTP_HANDLER_P3, MESSAGING_HANDLER_P3].contains(&g.export)
        }) {
            let imports = &guest.inspection().imports;
            for extra in ["environment", "exit", "terminal-", "stdout"] {
                let wanted = guest.layer == "cli-adapter" && extra == "stdout";
                let found = imports
                    .iter()
                    .any(|i| i.starts_with(&format!("wasi:cli/{extra}")));
                assert_eq!(found, wanted, "{}: {imports:?}", guest.layer);
            }
        }
    }
}
