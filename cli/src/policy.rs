//! The policy file, `auth.toml`: parsing with positions, checking, and compilation into the
//! [`faas_policy_core::Policy`] the decorator reads.
//!
//! Everything is fail-closed: an unknown key, a value that looks like a plaintext secret, or a rule
//! that could never apply is an error with `file:line:column`, never a warning, because a typo in a
//! security policy must not quietly weaken it. The format is documented in `docs/policy.md`.

use crate::source::{SourceFile, TextError};
use faas_policy_core::{
    Access, ApiKey, Cors, DEFAULT_MAX_BODY_BYTES, Filters, Grant, Jwt, Policy, Rule,
};
use serde::Deserialize;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Why a policy could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file cannot be read (missing, unreadable).
    #[error("cannot read the policy {}", .path.display())]
    Read {
        /// The policy file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid policy.
    #[error(transparent)]
    Invalid(#[from] TextError),
}

/// A checked, compiled policy and facts about it for reports.
#[derive(Debug, Clone)]
pub struct CompiledPolicy {
    /// The policy file it came from.
    pub path: PathBuf,
    /// The compiled policy.
    pub policy: Policy,
    /// Its binary document, as placed in the artifact.
    pub document: Vec<u8>,
    /// The capability allow-list, checked by `faas wrap` (not part of the document).
    pub capabilities: Capabilities,
}

/// The `[capabilities]` table.
#[derive(Debug, Clone, Default)]
pub struct Capabilities {
    /// Interface patterns the function may import from the host.
    pub allow: Vec<String>,
    /// Where the table is, `file:line:column`, for messages; `None` when the policy has none.
    pub location: Option<String>,
}

impl CompiledPolicy {
    /// A one-line description for people: keys, rules, public routes.
    pub fn summary(&self) -> String {
        let public = self
            .policy
            .rules
            .iter()
            .filter(|r| r.access == Access::Public)
            .count();
        format!(
            "{} API key(s), {} rule(s) ({} public), body ≤ {} bytes{}",
            self.policy.api_keys.len(),
            self.policy.rules.len(),
            public,
            self.policy.filters.max_body_bytes,
            if self.policy.cors.is_some() {
                ", CORS"
            } else {
                ""
            }
        )
    }
}

/// Reads, checks and compiles a policy file.
pub fn load(path: &Path) -> Result<CompiledPolicy, PolicyError> {
    let source = SourceFile::read(path).map_err(|source| PolicyError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let (policy, capabilities) = compile(&source)?;
    Ok(CompiledPolicy {
        path: path.to_path_buf(),
        document: policy.encode(),
        policy,
        capabilities,
    })
}

/// Checks and compiles the text of a policy file.
pub fn compile(source: &SourceFile) -> Result<(Policy, Capabilities), TextError> {
    let file: PolicyFile = source.parse_toml()?;
    let mut capabilities = Capabilities::default();
    if let Some(table) = &file.capabilities {
        let (line, column) = source.line_column(table.span().start);
        capabilities.location = Some(format!("{}:{line}:{column}", source.path.display()));
        for entry in &table.get_ref().allow {
            if !crate::capabilities::is_valid_pattern(entry.get_ref()) {
                return Err(source.error_at(
                    Some(entry.span()),
                    format!(
                        "invalid capability `{}`: expected an interface such as \
                         wasi:http/outgoing-handler, or a package such as wasi:keyvalue/*",
                        entry.get_ref()
                    ),
                ));
            }
            capabilities.allow.push(entry.get_ref().clone());
        }
    }
    let err = |span: Range<usize>, message: String| source.error_at(Some(span), message);

    if *file.version.get_ref() != 1 {
        return Err(err(
            file.version.span(),
            format!(
                "unsupported policy version {}; this faas reads version 1",
                file.version.get_ref()
            ),
        ));
    }

    let mut api_keys: Vec<ApiKey> = Vec::new();
    for entry in &file.auth.api_key {
        let key = entry.get_ref();
        if let Some(plain) = &key.key {
            return Err(err(
                plain.span(),
                "plaintext API keys are not allowed in a policy; store the key's digest instead \
                 (`digest = \"sha256:…\"`, printed by `faas policy hash-key`)"
                    .into(),
            ));
        }
        let Some(digest) = &key.digest else {
            return Err(err(entry.span(), "this API key has no `digest`".into()));
        };
        if api_keys.iter().any(|k| k.id == key.id.get_ref().0) {
            return Err(err(
                key.id.span(),
                format!("duplicate API key id `{}`", key.id.get_ref().0),
            ));
        }
        if api_keys.iter().any(|k| k.digest == digest.get_ref().0) {
            return Err(err(
                digest.span(),
                "this digest is already used by another API key".into(),
            ));
        }
        api_keys.push(ApiKey {
            id: key.id.get_ref().0.clone(),
            digest: digest.get_ref().0,
            scopes: key.scopes.iter().map(|s| s.0.clone()).collect(),
        });
    }

    let filter_methods: Vec<String> = file
        .filters
        .methods
        .as_ref()
        .map(|m| m.get_ref().iter().map(|m| m.0.clone()).collect())
        .unwrap_or_default();
    if let Some(methods) = &file.filters.methods
        && methods.get_ref().is_empty()
    {
        return Err(err(
            methods.span(),
            "`methods = []` would refuse every request; leave it out to allow any method".into(),
        ));
    }
    let filters = Filters {
        methods: filter_methods.clone(),
        max_body_bytes: file
            .filters
            .max_body_bytes
            .unwrap_or(DEFAULT_MAX_BODY_BYTES),
        required_headers: file
            .filters
            .required_headers
            .iter()
            .map(|h| h.0.clone())
            .collect(),
        content_types: file
            .filters
            .content_types
            .iter()
            .map(|t| t.0.clone())
            .collect(),
    };

    let cors = file.cors.map(|c| Cors {
        origins: c.origins.into_iter().map(|o| o.0).collect(),
        methods: c.methods.into_iter().map(|m| m.0).collect(),
        headers: c.headers.into_iter().map(|h| h.0).collect(),
        max_age: c.max_age,
    });

    let jwt = match &file.auth.jwt {
        Some(table) => Some(compile_jwt(source, table)?),
        None => None,
    };
    let mut credentials = Vec::new();
    for (name, reference) in &file.credentials {
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(source.error_at(
                Some(reference.span()),
                format!("invalid credential name `{name}`"),
            ));
        }
        credentials.push(Grant {
            name: name.clone(),
            config_key: reference.get_ref().0.clone(),
        });
    }

    let messaging = match &file.messaging {
        None => None,
        Some(table) => {
            let t = table.get_ref();
            if t.subjects.is_empty() {
                return Err(source.error_at(
                    Some(table.span()),
                    "`subjects` is empty: no message could reach the function; list the subjects \
                     it accepts, or remove [messaging]",
                ));
            }
            for subject in &t.subjects {
                if !is_subject_pattern(subject.get_ref()) {
                    return Err(source.error_at(
                        Some(subject.span()),
                        format!(
                            "invalid subject pattern `{}`: dot-separated tokens, `*` for one \
                             token, a final `>` for the rest",
                            subject.get_ref()
                        ),
                    ));
                }
            }
            Some(faas_policy_core::Messaging {
                subjects: t.subjects.iter().map(|s| s.get_ref().clone()).collect(),
                scopes: t.scopes.iter().map(|s| s.0.clone()).collect(),
            })
        }
    };

    if file.rule.is_empty() && messaging.is_none() {
        return Err(source.error_at(
            None,
            "the policy has no [[rule]], so every request would be denied; add rules for the \
             routes the function serves",
        ));
    }
    let mut rules: Vec<(Range<usize>, Rule)> = Vec::new();
    for entry in &file.rule {
        let table = entry.get_ref();
        let span = entry.span();
        let methods: Vec<String> = table
            .methods
            .as_ref()
            .map(|m| m.iter().map(|m| m.0.clone()).collect())
            .unwrap_or_default();
        if table.methods.as_ref().is_some_and(|m| m.is_empty()) {
            return Err(err(
                span,
                "`methods = []` makes this rule match nothing; leave it out to match any method"
                    .into(),
            ));
        }
        let access = match (table.public, &table.scopes) {
            (Some(true), Some(_)) => {
                return Err(err(
                    span,
                    "a rule cannot be both `public = true` and require `scopes`".into(),
                ));
            }
            (Some(true), None) => Access::Public,
            (_, Some(scopes)) => Access::Scopes(scopes.iter().map(|s| s.0.clone()).collect()),
            (_, None) => {
                return Err(err(
                    span,
                    "a rule must say `public = true` or list the `scopes` it requires \
                     (`scopes = []` for any authenticated caller)"
                        .into(),
                ));
            }
        };
        let rule = Rule {
            methods,
            path: table.path.get_ref().0.clone(),
            access,
        };
        check_rule_can_match(&rule, &filter_methods, &api_keys, jwt.is_some(), &rules)
            .map_err(|message| err(span.clone(), message))?;
        rules.push((span, rule));
    }

    let policy = Policy {
        api_key_header: file.auth.api_key_header.0,
        api_keys,
        filters,
        cors,
        rules: rules.into_iter().map(|(_, r)| r).collect(),
        jwt,
        credentials,
        messaging,
    };
    Ok((policy, capabilities))
}

/// A rule that can never apply is an error: it says the author meant something the policy does
/// not do.
fn check_rule_can_match(
    rule: &Rule,
    filter_methods: &[String],
    api_keys: &[ApiKey],
    jwt: bool,
    earlier: &[(Range<usize>, Rule)],
) -> Result<(), String> {
    if !filter_methods.is_empty()
        && !rule.methods.is_empty()
        && !rule.methods.iter().any(|m| filter_methods.contains(m))
    {
        return Err(format!(
            "this rule can never match: its methods ({}) are all refused by [filters] methods ({})",
            rule.methods.join(", "),
            filter_methods.join(", ")
        ));
    }
    // Tokens may carry any scope, so only an API-key-only policy can be checked for this.
    if let Access::Scopes(scopes) = &rule.access
        && !jwt
    {
        if api_keys.is_empty() {
            return Err(
                "this rule requires an authenticated caller, but [auth] defines no API key, so \
                 no request could ever be allowed"
                    .into(),
            );
        }
        if !api_keys
            .iter()
            .any(|k| scopes.iter().all(|s| k.scopes.contains(s)))
        {
            return Err(format!(
                "no API key holds all the scopes this rule requires ({}), so no request could \
                 ever be allowed",
                scopes.join(", ")
            ));
        }
    }
    for (_, before) in earlier {
        let methods_covered = before.methods.is_empty()
            || (!rule.methods.is_empty()
                && rule.methods.iter().all(|m| before.methods.contains(m)));
        if methods_covered && pattern_covers(&before.path, &rule.path) {
            return Err(format!(
                "this rule can never match: the earlier rule for `{}` matches every request it \
                 would (the first matching rule decides; put the more specific rule first)",
                before.path
            ));
        }
    }
    Ok(())
}

/// Whether every path matched by pattern `b` is also matched by pattern `a`.
fn pattern_covers(a: &str, b: &str) -> bool {
    let a: Vec<&str> = a.trim_start_matches('/').split('/').collect();
    let b: Vec<&str> = b.trim_start_matches('/').split('/').collect();
    for (i, seg) in a.iter().enumerate() {
        if *seg == "**" {
            return true;
        }
        match b.get(i) {
            None | Some(&"**") => return false,
            Some(other) if *seg == "*" => {
                if other.is_empty() {
                    return false;
                }
            }
            Some(other) if other != seg => return false,
            Some(_) => {}
        }
    }
    a.len() == b.len()
}

fn compile_jwt(source: &SourceFile, table: &Spanned<JwtTable>) -> Result<Jwt, TextError> {
    let t = table.get_ref();
    let err = |span: Range<usize>, message: String| source.error_at(Some(span), message);
    for (list, what) in [(&t.issuers, "issuers"), (&t.audiences, "audiences")] {
        if list.get_ref().is_empty() {
            return Err(err(
                list.span(),
                format!("`{what}` is empty: every token would be refused"),
            ));
        }
    }
    let algorithms: Vec<String> = t.algorithms.get_ref().iter().map(|a| a.0.clone()).collect();
    if algorithms.is_empty() {
        return Err(err(
            t.algorithms.span(),
            "`algorithms` is empty: list the algorithms tokens may use".into(),
        ));
    }
    if *t.leeway_seconds.get_ref() > 300 {
        return Err(err(
            t.leeway_seconds.span(),
            "`leeway-seconds` above 300 would accept long-expired tokens".into(),
        ));
    }
    let hs256 = algorithms.iter().any(|a| a == "HS256");
    let hs256_secret = match (&t.hs256_secret, hs256) {
        (Some(reference), true) => Some(reference.get_ref().0.clone()),
        (None, true) => {
            return Err(err(
                t.algorithms.span(),
                "HS256 needs `hs256-secret = { config = \"KEY\" }`: the run-time key holding the secret".into(),
            ));
        }
        (Some(reference), false) => {
            return Err(err(
                reference.span(),
                "`hs256-secret` is set but HS256 is not in `algorithms`".into(),
            ));
        }
        (None, false) => None,
    };
    let mut jwks = Vec::new();
    for entry in &t.jwk {
        let jwk = entry.get_ref();
        if jwk.k.is_some() || jwk.d.is_some() {
            return Err(err(
                entry.span(),
                "this JWK holds secret key material (`k` or `d`); a policy carries public keys only \
                 (HS256 secrets come from `hs256-secret = { config = \"KEY\" }`)"
                    .into(),
            ));
        }
        let mut object = serde_json::Map::new();
        for (name, value) in [
            ("kty", Some(&jwk.kty)),
            ("kid", jwk.kid.as_ref()),
            ("alg", jwk.alg.as_ref()),
            ("use", jwk.use_.as_ref()),
            ("n", jwk.n.as_ref()),
            ("e", jwk.e.as_ref()),
            ("crv", jwk.crv.as_ref()),
            ("x", jwk.x.as_ref()),
            ("y", jwk.y.as_ref()),
        ] {
            if let Some(value) = value {
                object.insert(name.to_string(), serde_json::Value::String(value.clone()));
            }
        }
        let json = serde_json::Value::Object(object).to_string();
        faas_policy_core::jwt::check_jwk(&json)
            .map_err(|e| err(entry.span(), format!("invalid JWK: {e}")))?;
        jwks.push(json);
    }
    for alg in algorithms.iter().filter(|a| *a != "HS256") {
        let kty = match alg.as_str() {
            "RS256" => "RSA",
            "ES256" => "EC",
            _ => "OKP",
        };
        if !t.jwk.iter().any(|k| k.get_ref().kty == kty) {
            return Err(err(
                t.algorithms.span(),
                format!(
                    "{alg} is allowed but no [[auth.jwt.jwk]] has kty = \"{kty}\": no {alg} token could be verified"
                ),
            ));
        }
    }
    Ok(Jwt {
        issuers: t.issuers.get_ref().clone(),
        audiences: t.audiences.get_ref().clone(),
        algorithms,
        leeway_seconds: *t.leeway_seconds.get_ref(),
        required_claims: t.required_claims.clone(),
        scopes_claim: t.scopes_claim.clone(),
        subject_claim: t.subject_claim.clone(),
        max_token_bytes: t.max_token_bytes,
        hs256_secret,
        jwks,
    })
}

fn is_subject_pattern(pattern: &str) -> bool {
    let tokens: Vec<&str> = pattern.split('.').collect();
    tokens.iter().enumerate().all(|(i, t)| {
        !t.is_empty()
            && !t.contains(char::is_whitespace)
            && (*t != ">" || i + 1 == tokens.len())
            && (t.len() == 1 || (!t.contains('*') && !t.contains('>')))
    })
}

/// The digest of an API key, as written in a policy.
pub fn hash_key(key: &str) -> String {
    crate::digest::sha256(key.as_bytes())
}

// ---- The file format. Newtypes validate values inside serde, so errors carry the value's position.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    version: Spanned<u32>,
    #[serde(default)]
    auth: AuthTable,
    #[serde(default)]
    filters: FiltersTable,
    cors: Option<CorsTable>,
    #[serde(default)]
    rule: Vec<Spanned<RuleTable>>,
    capabilities: Option<Spanned<CapabilitiesTable>>,
    messaging: Option<Spanned<MessagingTable>>,
    #[serde(default)]
    credentials: std::collections::BTreeMap<String, Spanned<RuntimeRef>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct JwtTable {
    issuers: Spanned<Vec<String>>,
    audiences: Spanned<Vec<String>>,
    algorithms: Spanned<Vec<JwtAlgorithm>>,
    #[serde(default = "default_leeway")]
    leeway_seconds: Spanned<u32>,
    #[serde(default)]
    required_claims: Vec<String>,
    #[serde(default = "default_scopes_claim")]
    scopes_claim: String,
    #[serde(default = "default_subject_claim")]
    subject_claim: String,
    #[serde(default = "default_max_token_bytes")]
    max_token_bytes: u32,
    hs256_secret: Option<Spanned<RuntimeRef>>,
    #[serde(default)]
    jwk: Vec<Spanned<JwkTable>>,
}

fn default_leeway() -> Spanned<u32> {
    Spanned::new(0..0, 30)
}
fn default_scopes_claim() -> String {
    "scope".into()
}
fn default_subject_claim() -> String {
    "sub".into()
}
fn default_max_token_bytes() -> u32 {
    8192
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JwkTable {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    n: Option<String>,
    e: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
    /// Accepted only to refuse them with a helpful message: secret key material.
    k: Option<String>,
    d: Option<String>,
}

/// A reference to a value supplied at run time: `{ config = "KEY" }` (a `wasi:config/store` key).
/// A literal string is refused: secrets never enter a policy or an artifact.
#[derive(Debug, Clone)]
struct RuntimeRef(String);

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
            }) if !key.is_empty() => Ok(RuntimeRef(key)),
            Raw::Table(Table {
                secret: Some(_), ..
            }) => Err(serde::de::Error::custom(
                "wasmcloud:secrets references are not supported yet; use { config = \"KEY\" } \
                 (wasi:config/store)",
            )),
            Raw::Table(_) => Err(serde::de::Error::custom(
                "expected { config = \"KEY\" } with a non-empty key",
            )),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessagingTable {
    subjects: Vec<Spanned<String>>,
    #[serde(default)]
    scopes: Vec<Scope>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CapabilitiesTable {
    #[serde(default)]
    allow: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct AuthTable {
    #[serde(default = "default_key_header")]
    api_key_header: HeaderName,
    #[serde(default)]
    api_key: Vec<Spanned<ApiKeyTable>>,
    jwt: Option<Spanned<JwtTable>>,
}

impl Default for AuthTable {
    fn default() -> Self {
        Self {
            api_key_header: default_key_header(),
            api_key: Vec::new(),
            jwt: None,
        }
    }
}

fn default_key_header() -> HeaderName {
    HeaderName("authorization".into())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiKeyTable {
    id: Spanned<Subject>,
    digest: Option<Spanned<KeyDigest>>,
    /// Accepted only to refuse it with a helpful message.
    key: Option<Spanned<String>>,
    #[serde(default)]
    scopes: Vec<Scope>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FiltersTable {
    methods: Option<Spanned<Vec<Method>>>,
    max_body_bytes: Option<u64>,
    #[serde(default)]
    required_headers: Vec<HeaderName>,
    #[serde(default)]
    content_types: Vec<MediaType>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct CorsTable {
    origins: Vec<CorsOrigin>,
    methods: Vec<Method>,
    #[serde(default)]
    headers: Vec<HeaderName>,
    #[serde(default = "default_max_age")]
    max_age: u32,
}

fn default_max_age() -> u32 {
    600
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleTable {
    methods: Option<Vec<Method>>,
    path: Spanned<PathPattern>,
    public: Option<bool>,
    scopes: Option<Vec<Scope>>,
}

/// Declares a validated string newtype: `$check` returns an error message for a bad value.
macro_rules! validated_string {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Deserialize)]
        #[serde(try_from = "String")]
        struct $name(String);

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(value: String) -> Result<Self, String> {
                let check: fn(String) -> Result<String, String> = $check;
                check(value).map($name)
            }
        }
    };
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
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
        Ok(p)
    }
);

/// A key digest: `sha256:` and 64 hex digits.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
struct KeyDigest([u8; 32]);

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

#[cfg(test)]
mod tests {
    use super::*;

    fn compile_text(text: &str) -> Result<Policy, TextError> {
        compile(&SourceFile {
            path: "auth.toml".into(),
            text: text.into(),
        })
        .map(|(policy, _)| policy)
    }

    const KEY: &str = "version = 1\n[[auth.api-key]]\nid = \"ci\"\ndigest = \"sha256:0000000000000000000000000000000000000000000000000000000000000000\"\nscopes = [\"read\"]\n";

    fn error(text: &str) -> String {
        compile_text(text).unwrap_err().to_string()
    }

    #[test]
    fn a_complete_policy_compiles() {
        let p = compile_text(&format!(
            "{KEY}[filters]\nmethods = [\"GET\"]\nmax-body-bytes = 10\ncontent-types = [\"Application/JSON\"]\n\
             [cors]\norigins = [\"https://a.example\"]\nmethods = [\"GET\"]\n\
             [[rule]]\npath = \"/health\"\npublic = true\n[[rule]]\npath = \"/**\"\nscopes = [\"read\"]\n"
        ))
        .unwrap();
        assert_eq!(p.api_key_header, "authorization");
        assert_eq!(p.filters.content_types, vec!["application/json"]);
        assert_eq!(p.rules.len(), 2);
        assert_eq!(p.cors.unwrap().max_age, 600);
    }

    #[test]
    fn unknown_keys_are_located() {
        let e = error(&format!("{KEY}[[rule]]\npath = \"/\"\npublik = true\n"));
        assert!(
            e.starts_with("auth.toml:8:1: unknown field `publik`"),
            "{e}"
        );
    }

    #[test]
    fn plaintext_keys_are_refused() {
        let e = error(
            "version = 1\n[[auth.api-key]]\nid = \"a\"\ndigest = \"hunter2\"\n[[rule]]\npath = \"/\"\npublic = true\n",
        );
        assert!(
            e.starts_with("auth.toml:4:10: this looks like a plaintext key"),
            "{e}"
        );
        let e = error(
            "version = 1\n[[auth.api-key]]\nid = \"a\"\nkey = \"hunter2\"\n[[rule]]\npath = \"/\"\npublic = true\n",
        );
        assert!(
            e.contains("auth.toml:4:7: plaintext API keys are not allowed"),
            "{e}"
        );
    }

    #[test]
    fn rules_that_can_never_match_are_refused() {
        let shadowed = error(&format!(
            "{KEY}[[rule]]\npath = \"/**\"\nscopes = [\"read\"]\n[[rule]]\npath = \"/health\"\npublic = true\n"
        ));
        assert!(
            shadowed.starts_with(
                "auth.toml:9:1: this rule can never match: the earlier rule for `/**`"
            ),
            "{shadowed}"
        );
        let filtered = error(&format!(
            "{KEY}[filters]\nmethods = [\"GET\"]\n[[rule]]\nmethods = [\"POST\"]\npath = \"/\"\npublic = true\n"
        ));
        assert!(
            filtered.contains("refused by [filters] methods"),
            "{filtered}"
        );
        let no_key = error(&format!(
            "{KEY}[[rule]]\npath = \"/\"\nscopes = [\"admin\"]\n"
        ));
        assert!(
            no_key.contains("no API key holds all the scopes"),
            "{no_key}"
        );
        let neither = error(&format!("{KEY}[[rule]]\npath = \"/\"\n"));
        assert!(
            neither.contains("must say `public = true` or list the `scopes`"),
            "{neither}"
        );
    }

    #[test]
    fn more_specific_rules_first_are_fine() {
        compile_text(&format!(
            "{KEY}[[rule]]\npath = \"/health\"\npublic = true\n[[rule]]\npath = \"/items/*\"\nmethods = [\"GET\"]\nscopes = []\n[[rule]]\npath = \"/**\"\nscopes = [\"read\"]\n"
        ))
        .unwrap();
    }

    #[test]
    fn a_policy_without_rules_or_with_a_bad_version_is_refused() {
        assert!(error(KEY).contains("has no [[rule]]"));
        assert!(error("version = 2\n").starts_with("auth.toml:1:11: unsupported policy version 2"));
        assert!(error("").contains("missing field `version`"));
    }

    #[test]
    fn bad_values_are_located() {
        let e = error(&format!(
            "{KEY}[[rule]]\npath = \"/a/**/b\"\npublic = true\n"
        ));
        assert!(e.starts_with("auth.toml:7:8: invalid path pattern"), "{e}");
        let e = error(&format!("{KEY}[filters]\nmethods = [\"get\"]\n"));
        assert!(e.contains("auth.toml:7:11: invalid method `get`"), "{e}");
    }

    #[test]
    fn coverage_of_patterns() {
        assert!(pattern_covers("/**", "/x"));
        assert!(pattern_covers("/a/*", "/a/b"));
        assert!(!pattern_covers("/a/*", "/a/**"));
        assert!(!pattern_covers("/a/b", "/a/*"));
        assert!(pattern_covers("/a/**", "/a/**"));
        assert!(!pattern_covers("/a", "/a/b"));
    }
}
