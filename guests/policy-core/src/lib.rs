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

pub mod audit;
mod document;
mod engine;
#[cfg(feature = "verify")]
pub mod hmac;
pub mod jwt;
pub mod trace;

pub use document::DecodeError;
pub use engine::{
    Answer, Caller, Decision, Environment, Refusal, RequestView, RuleRef, Trigger, apply_cors,
    carried_in_headers, cors_headers, decide, error_answer, is_token, method_is_canonical,
    path_matches, path_problem, subject_matches,
};

/// Whether the authority `host[:port]` of an outgoing request is granted by `patterns`
/// (`[capabilities] outgoing-hosts`): a pattern without a port grants every port of the host;
/// `*.example.com` grants its subdomains (not `example.com` itself). Host names are compared
/// without regard to ASCII case; an authority without a port has `default_port` (the scheme's).
pub fn host_granted(patterns: &[String], authority: &str, default_port: u16) -> bool {
    let authority = authority.to_ascii_lowercase();
    let (host, port) = match authority
        .rsplit_once(':')
        .and_then(|(host, port)| Some((host, port.parse::<u16>().ok()?)))
    {
        Some((host, port)) => (host, port),
        None => (authority.as_str(), default_port),
    };
    patterns.iter().any(|pattern| {
        let (name, wanted_port) = match pattern.rsplit_once(':') {
            Some((name, port)) => (name, port.parse::<u16>().ok()),
            None => (pattern.as_str(), None),
        };
        let host_ok = match name.strip_prefix("*.") {
            Some(domain) => host
                .strip_suffix(domain)
                .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1),
            None => host == name,
        };
        host_ok && wanted_port.is_none_or(|p| p == port)
    })
}

/// Lower-case hexadecimal digits.
const HEX: &[u8; 16] = b"0123456789abcdef";

/// `bytes` as lower-case hexadecimal (trace and span ids, webhook signatures, store keys), without
/// `core::fmt`, which the lean layers do not otherwise link.
pub fn hex(bytes: &[u8]) -> String {
    let digits: Vec<u8> = bytes
        .iter()
        .flat_map(|b| [HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]])
        .collect();
    String::from_utf8(digits).unwrap_or_default()
}

/// The version of the binary document. A decorator refuses documents of any other version.
pub const DOCUMENT_VERSION: u16 = 8;

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
    /// Webhook signatures, for rules that require them (`signed`).
    pub hmac: Option<Hmac>,
    /// Rate limits, shared by every instance through the host's key-value store.
    pub limits: Vec<Limit>,
    /// Which decisions get an audit event.
    pub audit: AuditLevel,
    /// The faas functions that may call this one as a dependency, and the scopes each holds.
    pub functions: Vec<FunctionCaller>,
}

/// Another faas function allowed to call this one (`[[auth.function]]`): the caller's name as the
/// function gate of its artifact states it, never as a client claims it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionCaller {
    /// The calling function's name.
    pub id: String,
    /// The scopes it holds here.
    pub scopes: Vec<String>,
}

/// How a webhook provider signs a request body with a shared secret (HMAC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hmac {
    /// The header carrying the signature, lower-case.
    pub header: String,
    /// How the header's value is laid out.
    pub format: SignatureFormat,
    /// The hash function.
    pub algorithm: HmacAlgorithm,
    /// The run-time configuration key holding the secret (never the secret itself).
    pub secret: String,
    /// The caller's subject once a signature is verified on a route that asks for nothing else.
    pub subject: String,
}

/// The layout of a signature header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureFormat {
    /// `<prefix><digest>` over the body, e.g. GitHub's `sha256=<hex>`.
    Prefixed {
        /// What precedes the digest (may be empty).
        prefix: String,
        /// How the digest is written.
        encoding: DigestEncoding,
    },
    /// Stripe's `t=<unix seconds>,v1=<hex>[,v1=<hex>…]` over `<t>.<body>`, refused when `t` is
    /// further than `tolerance_seconds` from now.
    Timestamped {
        /// The largest accepted distance between `t` and now.
        tolerance_seconds: u32,
    },
}

/// How a digest is written in a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestEncoding {
    /// Lower- or upper-case hexadecimal.
    Hex,
    /// Standard base64 with padding.
    Base64,
}

/// The hash of an HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HmacAlgorithm {
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

/// A rate limit: at most `requests` per fixed window of `window_seconds`, per key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// The path pattern it applies to (as a rule's).
    pub path: String,
    /// The methods it applies to; empty means any.
    pub methods: Vec<String>,
    /// Requests allowed per window and key.
    pub requests: u32,
    /// The window's length.
    pub window_seconds: u32,
    /// What requests are counted by.
    pub key: LimitKey,
}

/// What a limit counts requests by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitKey {
    /// The authenticated caller's subject (an API key's id, a token's subject); callers of a
    /// public route share one count.
    Subject,
    /// A request header's value (e.g. one a trusted proxy sets to the client's address);
    /// requests without it share one count.
    Header(String),
    /// All requests together.
    Global,
}

/// Which decisions get an audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuditLevel {
    /// Every decision: forwarded, answered and refused.
    #[default]
    All,
    /// Refusals only.
    Refusals,
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
    /// Where more public keys are fetched at run time (a JWKS document), and how they are cached.
    pub remote_jwks: Option<RemoteJwks>,
}

/// A JWKS fetched at run time from the identity provider, through outgoing HTTP granted to its
/// host only, and cached in the host's key-value store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteJwks {
    /// The document's URL: `https://…` (or `http://` to a loopback address).
    pub uri: String,
    /// How long fetched keys are trusted before they are fetched again.
    pub cache_seconds: u32,
    /// The least time between two fetches, however many tokens name an unknown `kid`.
    pub min_refresh_seconds: u32,
}

/// A credential the function may read: a name, and where its value comes from at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The name the function asks for.
    pub name: String,
    /// The key holding the value in its store.
    pub key: String,
    /// The store.
    pub source: ValueSource,
}

/// Where a granted credential's value is read at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueSource {
    /// `wasi:config/store` (`{ config = "KEY" }`).
    Config,
    /// `wasmcloud:secrets@2.1.0` (`{ secret = "KEY" }`; WASI 0.3 artifacts only, as its
    /// functions are async).
    Secrets,
}

impl Policy {
    /// Whether a `[credentials]` grant reads `wasmcloud:secrets`.
    pub fn reads_secrets(&self) -> bool {
        self.credentials
            .iter()
            .any(|g| g.source == ValueSource::Secrets)
    }
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
    /// Whether a valid webhook signature (`[auth.hmac]`) is required, before any other check.
    pub signed: bool,
}

/// Who may call a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without credentials.
    Public,
    /// An authenticated caller holding every one of these scopes (none: any authenticated caller).
    Scopes(Vec<String>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn outgoing_host_patterns_grant_what_they_name_and_nothing_else() {
        let grants = vec![
            "api.example.com".to_string(),
            "*.internal.test".into(),
            "127.0.0.1:8080".into(),
        ];
        assert!(host_granted(&grants, "api.example.com", 443));
        assert!(
            host_granted(&grants, "API.example.com:8443", 443),
            "no port: every port"
        );
        assert!(host_granted(&grants, "db.internal.test", 80));
        assert!(
            !host_granted(&grants, "internal.test", 80),
            "a wildcard is for subdomains"
        );
        assert!(!host_granted(&grants, "evil-api.example.com", 443));
        assert!(!host_granted(&grants, "api.example.com.evil.test", 443));
        assert!(host_granted(&grants, "127.0.0.1:8080", 80));
        assert!(!host_granted(&grants, "127.0.0.1:8081", 80));
        assert!(
            !host_granted(&grants, "127.0.0.1", 80),
            "the granted port only"
        );
        assert!(!host_granted(&[], "api.example.com", 443));
        // A wildcard's subdomain needs a label of its own, and the host must match, not the port.
        assert!(!host_granted(&grants, ".internal.test", 80));
        assert!(!host_granted(&grants, "evilinternal.test", 80));
        assert!(!host_granted(&grants, "10.0.0.1:8080", 80));
    }

    #[test]
    fn only_a_secrets_grant_reads_secrets_and_the_default_body_limit_is_one_mib() {
        let grant = |source| Grant {
            name: "db".into(),
            key: "db-password".into(),
            source,
        };
        let mut policy = Policy {
            credentials: vec![grant(ValueSource::Config)],
            ..Policy::default()
        };
        assert!(!policy.reads_secrets());
        policy.credentials.push(grant(ValueSource::Secrets));
        assert!(policy.reads_secrets());
        policy.credentials.clear();
        assert!(!policy.reads_secrets());
        assert_eq!(DEFAULT_MAX_BODY_BYTES, 1_048_576);
        assert_eq!(Filters::default().max_body_bytes, 1_048_576);
    }
}
