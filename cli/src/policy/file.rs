//! The policy file format: the TOML tables of `auth.toml` as serde types. Newtypes validate values
//! inside serde, so that an error carries the position of the bad value.

use faas_policy_core::is_token;
use serde::Deserialize;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PolicyFile {
    pub(super) version: Spanned<u32>,
    #[serde(default)]
    pub(super) auth: AuthTable,
    #[serde(default)]
    pub(super) filters: FiltersTable,
    pub(super) cors: Option<CorsTable>,
    #[serde(default)]
    pub(super) rule: Vec<Spanned<RuleTable>>,
    pub(super) capabilities: Option<Spanned<CapabilitiesTable>>,
    pub(super) messaging: Option<Spanned<MessagingTable>>,
    #[serde(default)]
    pub(super) credentials: std::collections::BTreeMap<String, Spanned<RuntimeRef>>,
    #[serde(default)]
    pub(super) limit: Vec<Spanned<LimitTable>>,
    #[serde(default)]
    pub(super) dependencies: std::collections::BTreeMap<String, Spanned<DependencyTable>>,
    pub(super) audit: Option<AuditTable>,
}

/// `[auth.hmac]`: a webhook provider's body signature.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct HmacTable {
    pub(super) provider: Option<Spanned<String>>,
    pub(super) header: Option<Spanned<HeaderName>>,
    pub(super) prefix: Option<Spanned<String>>,
    pub(super) encoding: Option<Spanned<String>>,
    pub(super) algorithm: Option<Spanned<String>>,
    pub(super) secret: Spanned<RuntimeRef>,
    pub(super) tolerance_seconds: Option<Spanned<u32>>,
    pub(super) subject: Option<Spanned<Subject>>,
}

/// A `[[limit]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct LimitTable {
    pub(super) path: Option<Spanned<PathPattern>>,
    pub(super) methods: Option<Spanned<Vec<Method>>>,
    pub(super) requests: Spanned<u32>,
    pub(super) window_seconds: Spanned<u32>,
    pub(super) key: Spanned<String>,
}

/// `[dependencies.NAME]`: what one dependency may import from the host.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DependencyTable {
    #[serde(default)]
    pub(super) allow: Vec<Spanned<String>>,
}

/// `[audit]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditTable {
    pub(super) decisions: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct JwtTable {
    pub(super) issuers: Spanned<Vec<String>>,
    pub(super) audiences: Spanned<Vec<String>>,
    pub(super) algorithms: Spanned<Vec<JwtAlgorithm>>,
    #[serde(default = "default_leeway")]
    pub(super) leeway_seconds: Spanned<u32>,
    #[serde(default)]
    pub(super) required_claims: Vec<String>,
    #[serde(default = "default_scopes_claim")]
    pub(super) scopes_claim: String,
    #[serde(default = "default_subject_claim")]
    pub(super) subject_claim: String,
    #[serde(default = "default_max_token_bytes")]
    pub(super) max_token_bytes: Spanned<u32>,
    pub(super) max_lifetime_seconds: Option<Spanned<u32>>,
    pub(super) hs256_secret: Option<Spanned<RuntimeRef>>,
    #[serde(default)]
    pub(super) jwk: Vec<Spanned<JwkTable>>,
    pub(super) jwks_uri: Option<Spanned<String>>,
    pub(super) jwks_cache_seconds: Option<Spanned<u32>>,
    pub(super) jwks_min_refresh_seconds: Option<Spanned<u32>>,
}

pub(super) fn default_leeway() -> Spanned<u32> {
    Spanned::new(0..0, 30)
}
pub(super) fn default_scopes_claim() -> String {
    "scope".into()
}
pub(super) fn default_subject_claim() -> String {
    "sub".into()
}
pub(super) fn default_max_token_bytes() -> Spanned<u32> {
    Spanned::new(0..0, 8192)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct JwkTable {
    pub(super) kty: Spanned<String>,
    pub(super) kid: Option<Spanned<String>>,
    pub(super) alg: Option<Spanned<String>>,
    #[serde(rename = "use")]
    pub(super) use_: Option<Spanned<String>>,
    pub(super) key_ops: Option<Spanned<Vec<String>>>,
    pub(super) n: Option<Spanned<String>>,
    pub(super) e: Option<Spanned<String>>,
    pub(super) crv: Option<Spanned<String>>,
    pub(super) x: Option<Spanned<String>>,
    pub(super) y: Option<Spanned<String>>,
    /// Accepted only to refuse them with a helpful message: secret key material.
    pub(super) k: Option<String>,
    pub(super) d: Option<String>,
}

/// A reference to a value supplied at run time: `{ config = "KEY" }` (a `wasi:config/store` key)
/// or `{ secret = "KEY" }` (a `wasmcloud:secrets` key; `[credentials]` only). A literal string is
/// refused: secrets never enter a policy or an artifact.
#[derive(Debug, Clone)]
pub(super) enum RuntimeRef {
    Config(String),
    Secret(String),
}

impl RuntimeRef {
    /// The `wasi:config/store` key, or why a secret reference is not allowed here.
    pub(super) fn config_key(&self) -> Result<String, String> {
        match self {
            RuntimeRef::Config(key) => Ok(key.clone()),
            RuntimeRef::Secret(_) => Err(
                "a { secret = … } reference (wasmcloud:secrets) can grant a function a \
                 [credentials] value only; the verifier layer reads its secrets from \
                 { config = \"KEY\" }"
                    .into(),
            ),
        }
    }
}

impl<'de> Deserialize<'de> for RuntimeRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Table {
            config: Option<String>,
            secret: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            #[allow(dead_code)]
            Literal(String),
            Table(Table),
        }
        match Raw::deserialize(d).map_err(|_| {
            serde::de::Error::custom("expected a run-time reference such as { config = \"KEY\" }")
        })? {
            Raw::Literal(_) => Err(serde::de::Error::custom(
                "a literal secret is not allowed in a policy: refer to a run-time value instead, \
                 e.g. { config = \"KEY\" }",
            )),
            Raw::Table(Table {
                config: Some(key),
                secret: None,
            }) if !key.is_empty() => Ok(RuntimeRef::Config(key)),
            Raw::Table(Table {
                config: None,
                secret: Some(key),
            }) if !key.is_empty() => Ok(RuntimeRef::Secret(key)),
            Raw::Table(_) => Err(serde::de::Error::custom(
                "expected { config = \"KEY\" } or { secret = \"KEY\" }, one of them, with a \
                 non-empty key",
            )),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MessagingTable {
    pub(super) subjects: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) scopes: Vec<Scope>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "kebab-case")]
pub(super) struct CapabilitiesTable {
    #[serde(default)]
    pub(super) allow: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) outgoing_hosts: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct AuthTable {
    #[serde(default = "default_key_header")]
    pub(super) api_key_header: HeaderName,
    #[serde(default)]
    pub(super) api_key: Vec<Spanned<ApiKeyTable>>,
    pub(super) jwt: Option<Spanned<JwtTable>>,
    pub(super) hmac: Option<Spanned<HmacTable>>,
    #[serde(default)]
    pub(super) function: Vec<Spanned<FunctionTable>>,
}

/// An `[[auth.function]]`: another faas function that may call this one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FunctionTable {
    pub(super) id: Spanned<String>,
    #[serde(default)]
    pub(super) scopes: Vec<Scope>,
}

impl Default for AuthTable {
    fn default() -> Self {
        Self {
            api_key_header: default_key_header(),
            api_key: Vec::new(),
            jwt: None,
            hmac: None,
            function: Vec::new(),
        }
    }
}

pub(super) fn default_key_header() -> HeaderName {
    HeaderName("authorization".into())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ApiKeyTable {
    pub(super) id: Spanned<Subject>,
    pub(super) digest: Option<Spanned<KeyDigest>>,
    /// Accepted only to refuse it with a helpful message.
    pub(super) key: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) scopes: Vec<Scope>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct FiltersTable {
    pub(super) methods: Option<Spanned<Vec<Method>>>,
    pub(super) max_body_bytes: Option<u64>,
    #[serde(default)]
    pub(super) required_headers: Vec<HeaderName>,
    #[serde(default)]
    pub(super) content_types: Vec<MediaType>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct CorsTable {
    pub(super) origins: Vec<CorsOrigin>,
    pub(super) methods: Vec<Method>,
    #[serde(default)]
    pub(super) headers: Vec<HeaderName>,
    #[serde(default = "default_max_age")]
    pub(super) max_age: u32,
}

pub(super) fn default_max_age() -> u32 {
    600
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleTable {
    pub(super) methods: Option<Vec<Method>>,
    pub(super) path: Spanned<PathPattern>,
    pub(super) public: Option<bool>,
    pub(super) scopes: Option<Vec<Scope>>,
    pub(super) signed: Option<bool>,
}

/// Declares a validated string newtype: `$check` returns an error message for a bad value.
macro_rules! validated_string {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Deserialize)]
        #[serde(try_from = "String")]
        pub(super) struct $name(pub(super) String);

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(value: String) -> Result<Self, String> {
                let check: fn(String) -> Result<String, String> = $check;
                check(value).map($name)
            }
        }
    };
}

validated_string!(
    /// An HTTP method: upper case, as methods are case-sensitive.
    Method,
    |m| {
        if is_token(&m) && m.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(m)
        } else {
            Err(format!("invalid method `{m}`: methods are upper-case words such as GET or POST"))
        }
    }
);

validated_string!(
    /// A header name, stored lower-case.
    HeaderName,
    |h| {
        if is_token(&h) {
            Ok(h.to_ascii_lowercase())
        } else {
            Err(format!("invalid header name `{h}`"))
        }
    }
);

validated_string!(
    /// A media type such as `application/json`, stored lower-case.
    MediaType,
    |t| match t.split_once('/') {
        Some((a, b)) if is_token(a) && is_token(b) => Ok(t.to_ascii_lowercase()),
        _ => Err(format!("invalid media type `{t}`: expected type/subtype, e.g. application/json")),
    }
);

validated_string!(
    /// A CORS origin: `*` or `scheme://host[:port]`.
    CorsOrigin,
    |o| {
        let valid = o == "*"
            || o.split_once("://").is_some_and(|(scheme, rest)| {
                (scheme == "http" || scheme == "https") && !rest.is_empty() && !rest.contains('/')
            });
        if valid {
            Ok(o)
        } else {
            Err(format!(
                "invalid origin `{o}`: expected `*` or scheme://host[:port] with no path, e.g. https://app.example.com"
            ))
        }
    }
);

validated_string!(
    /// A JWT algorithm this engine supports.
    JwtAlgorithm,
    |a| match a.as_str() {
        "HS256" | "RS256" | "ES256" | "EdDSA" => Ok(a),
        "none" => Err("the `none` algorithm is never allowed".to_string()),
        _ => Err(format!("unsupported JWT algorithm `{a}`: use HS256, RS256, ES256 or EdDSA")),
    }
);

validated_string!(
    /// A scope name.
    Scope,
    |s| {
        if !s.is_empty() && !s.contains(char::is_whitespace) {
            Ok(s)
        } else {
            Err(format!("invalid scope `{s}`: scopes are non-empty and have no spaces"))
        }
    }
);

validated_string!(
    /// A caller's subject (an API key id).
    Subject,
    |s| {
        if !s.is_empty() && s.len() <= 128 && !s.contains(char::is_control) {
            Ok(s)
        } else {
            Err("invalid API key id: 1 to 128 printable characters".to_string())
        }
    }
);

validated_string!(
    /// A route pattern: `/` then segments; `*` matches one segment, a final `**` the rest.
    PathPattern,
    |p| {
        if !p.starts_with('/') {
            return Err(format!("invalid path pattern `{p}`: it must start with `/`"));
        }
        if p.contains('?') || p.contains('#') {
            return Err(format!("invalid path pattern `{p}`: patterns match the path only, without query"));
        }
        let segments: Vec<&str> = p[1..].split('/').collect();
        for (i, seg) in segments.iter().enumerate() {
            let last = i + 1 == segments.len();
            if seg.is_empty() && !(last && segments.len() == 1) {
                return Err(format!("invalid path pattern `{p}`: empty segment"));
            }
            if *seg == "**" && !last {
                return Err(format!("invalid path pattern `{p}`: `**` may only be the last segment"));
            }
            if *seg != "*" && *seg != "**" && seg.contains('*') {
                return Err(format!("invalid path pattern `{p}`: `*` must be a whole segment"));
            }
            if *seg == "." || *seg == ".." {
                return Err(format!("invalid path pattern `{p}`: `.` and `..` segments never match"));
            }
        }
        // The decorator refuses request paths that are not canonical, so a pattern spelt any
        // other way could never match.
        if let Some(problem) = faas_policy_core::path_problem(&p) {
            return Err(format!(
                "invalid path pattern `{p}`: not in canonical form ({problem}), so no request \
                 could match it; write it as requests must spell it (docs/policy.md, path check)"
            ));
        }
        Ok(p)
    }
);

/// A key digest: `sha256:` and 64 hex digits.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub(super) struct KeyDigest(pub(super) [u8; 32]);

impl TryFrom<String> for KeyDigest {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        let Some(hex_part) = value.strip_prefix("sha256:") else {
            return Err(
                "this looks like a plaintext key, not a digest: store `sha256:<hex>` instead \
                 (print it with `faas policy hash-key`)"
                    .into(),
            );
        };
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut bytes).map_err(|_| {
            "invalid digest: expected `sha256:` followed by 64 hex digits".to_string()
        })?;
        Ok(KeyDigest(bytes))
    }
}
