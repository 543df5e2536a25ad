//! The compiled policy: what `faas wrap` derives from `auth.toml` and places inside the artifact, and
//! the decision engine the security decorator runs on every request.
//!
//! The crate is shared by both sides so that the document's writer and reader cannot drift apart:
//! the host builds a [`Policy`] and [`Policy::encode`]s it; the decorator [`Policy::decode`]s it and
//! calls [`decide`]. It has no WIT or host dependencies, so the engine is tested natively.
//!
//! It is `no_std` (with `alloc`): the decorator and the adapters link no standard library, so they
//! import nothing from WASI but what they use. JWT verification (the `verify` feature, on by
//! default) needs `jsonwebtoken`, and with it std: only the JWT layer and the host enable it.

#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

use alloc::string::String;
use alloc::vec::Vec;

mod document;
mod engine;
pub mod jwt;

pub use document::DecodeError;
pub use engine::{
    Answer, Caller, Decision, Environment, Refusal, RequestView, Trigger, apply_cors, cors_headers,
    decide, error_answer, is_token, method_is_canonical, path_matches, path_problem,
    subject_matches,
};

/// The version of the binary document. A decorator refuses documents of any other version.
pub const DOCUMENT_VERSION: u16 = 4;

/// A compiled policy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    /// The header carrying API keys, lower-case. `authorization` means `Bearer <key>`.
    pub api_key_header: String,
    /// The API keys that authenticate callers.
    pub api_keys: Vec<ApiKey>,
    /// Request filters applied before authentication.
    pub filters: Filters,
    /// Cross-origin resource sharing, when browsers may call the function.
    pub cors: Option<Cors>,
    /// Route rules, in order: the first whose path and method match decides.
    pub rules: Vec<Rule>,
    /// JWT bearer-token authentication, when configured.
    pub jwt: Option<Jwt>,
    /// Credentials granted to the function.
    pub credentials: Vec<Grant>,
    /// Which broker subjects may reach the function through the messaging trigger.
    pub messaging: Option<Messaging>,
}

/// The messaging trigger's rules. Messages carry no HTTP credentials: the broker authenticates
/// publishers (e.g. NATS accounts and subject permissions), and the policy decides which subjects
/// the function accepts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Messaging {
    /// NATS-style subject patterns: `*` matches one token, a final `>` one or more.
    pub subjects: Vec<String>,
    /// Scopes the function sees for messages (the caller is the broker).
    pub scopes: Vec<String>,
}

/// JWT settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Jwt {
    /// Accepted `iss` values.
    pub issuers: Vec<String>,
    /// Accepted `aud` values (one must be present in the token).
    pub audiences: Vec<String>,
    /// Allowed algorithms, among HS256, RS256, ES256, EdDSA.
    pub algorithms: Vec<String>,
    /// Clock skew tolerated for `exp`, `nbf` and `iat`, in seconds.
    pub leeway_seconds: u32,
    /// Claims that must be present besides `exp`, `iss` and `aud`.
    pub required_claims: Vec<String>,
    /// The claim holding scopes: a space-separated string or an array of strings.
    pub scopes_claim: String,
    /// The claim naming the caller.
    pub subject_claim: String,
    /// The largest token accepted, in bytes.
    pub max_token_bytes: u32,
    /// The longest lifetime accepted (`exp - iat`), in seconds; `iat` is then required.
    pub max_lifetime_seconds: Option<u32>,
    /// The run-time configuration key holding the HS256 secret (never the secret itself).
    pub hs256_secret: Option<String>,
    /// Public keys, one JWK (JSON) each.
    pub jwks: Vec<String>,
}

/// A credential the function may read: a name, and where its value comes from at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The name the function asks for.
    pub name: String,
    /// The `wasi:config/store` key holding the value.
    pub config_key: String,
}

/// An API key, stored only as its SHA-256 digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// The key's id: the caller's subject once authenticated.
    pub id: String,
    /// SHA-256 of the key's bytes.
    pub digest: [u8; 32],
    /// Scopes granted to callers presenting this key.
    pub scopes: Vec<String>,
}

/// Checks on the shape of a request, made before authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filters {
    /// Allowed methods; empty means any.
    pub methods: Vec<String>,
    /// The largest body accepted, in bytes.
    pub max_body_bytes: u64,
    /// Header names (lower-case) that must be present.
    pub required_headers: Vec<String>,
    /// Allowed media types (lower-case, without parameters); empty means any.
    pub content_types: Vec<String>,
}

impl Default for Filters {
    fn default() -> Self {
        Self {
            methods: Vec::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            required_headers: Vec::new(),
            content_types: Vec::new(),
        }
    }
}

/// The body limit when a policy sets none: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 1024 * 1024;

/// Cross-origin resource sharing settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cors {
    /// Allowed origins (`https://app.example.com`), or `*`.
    pub origins: Vec<String>,
    /// Methods a browser may use cross-origin.
    pub methods: Vec<String>,
    /// Request headers a browser may send cross-origin (lower-case).
    pub headers: Vec<String>,
    /// How long a browser may cache a preflight answer, in seconds.
    pub max_age: u32,
}

/// A route rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Methods the rule applies to; empty means any.
    pub methods: Vec<String>,
    /// The path pattern: literal segments, `*` for one segment, a final `**` for any rest.
    pub path: String,
    /// Who may call.
    pub access: Access,
}

/// Who may call a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without credentials.
    Public,
    /// An authenticated caller holding every one of these scopes (none: any authenticated caller).
    Scopes(Vec<String>),
}
