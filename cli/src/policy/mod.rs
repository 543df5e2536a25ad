//! The policy file, `auth.toml`: parsing with positions, checking, and compilation into the
//! [`faas_policy_core::Policy`] the decorator reads.
//!
//! Everything is fail-closed: an unknown key, a value that looks like a plaintext secret, or a rule
//! that could never apply is an error with `file:line:column`, never a warning, because a typo in a
//! security policy must not quietly weaken it. The format is documented in `docs/policy.md`.
//!
//! `file` holds the TOML tables as serde types, `jwt` checks and compiles `[auth.jwt]`; this module
//! loads the file and compiles everything else.

mod file;
mod jwt;
mod lints;
mod webhooks;

use crate::source::{SourceFile, TextError};
use faas_policy_core::{
    Access, ApiKey, Cors, DEFAULT_MAX_BODY_BYTES, Filters, Grant, Policy, Rule,
};
use file::*;
use jwt::compile_jwt;
use std::ops::Range;
use std::path::{Path, PathBuf};

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
    /// Hosts (`api.example.com`, `api.example.com:8443`, `*.example.com`) the function may send
    /// HTTP requests to; granting any grants `wasi:http/outgoing-handler`. None: no outgoing HTTP
    /// reaches anywhere, even when the interface is allowed.
    pub outgoing_hosts: Vec<String>,
    /// Where the table is, `file:line:column`, for messages; `None` when the policy has none.
    pub location: Option<String>,
    /// What each dependency (by its name in faas.toml) may import from the host: the
    /// `[dependencies.NAME]` tables, never the function's own grants.
    pub dependencies: std::collections::BTreeMap<String, DependencyGrant>,
}

/// A `[dependencies.NAME]` table of the policy.
#[derive(Debug, Clone, Default)]
pub struct DependencyGrant {
    /// Interface patterns it may import from the host.
    pub allow: Vec<String>,
    /// Where the table is, `file:line:column`.
    pub location: String,
}

impl CompiledPolicy {
    /// What the host must grant this policy's layers at run time: the configuration keys its
    /// credentials and secrets are read from, the outgoing hosts (the verifier's JWKS host
    /// included), the messaging subjects, the secret keys.
    pub fn grants(&self) -> crate::artifact::Grants {
        let policy = self;
        let document = &policy.policy;
        let mut config_keys: Vec<String> = document
            .credentials
            .iter()
            .filter(|grant| grant.source == faas_policy_core::ValueSource::Config)
            .map(|grant| grant.key.clone())
            .chain(
                document
                    .jwt
                    .iter()
                    .filter_map(|jwt| jwt.hs256_secret.clone()),
            )
            .chain(document.hmac.iter().map(|hmac| hmac.secret.clone()))
            .collect();
        config_keys.sort();
        config_keys.dedup();
        // The verifier layer fetches the identity provider's keys: that host is reached too.
        let mut outgoing_hosts = policy.capabilities.outgoing_hosts.clone();
        let remote_jwks = document
            .jwt
            .iter()
            .filter_map(|jwt| jwt.remote_jwks.as_ref());
        for remote in remote_jwks {
            if let Ok((https, authority, _)) = crate::capabilities::split_jwks_uri(&remote.uri) {
                let port = if https { 443 } else { 80 };
                let grant = match authority.contains(':') {
                    true => authority.to_ascii_lowercase(),
                    false => format!("{}:{port}", authority.to_ascii_lowercase()),
                };
                if !outgoing_hosts.contains(&grant) {
                    outgoing_hosts.push(grant);
                }
            }
        }
        crate::artifact::Grants {
            outgoing_hosts,
            config_keys,
            messaging_subjects: document
                .messaging
                .iter()
                .flat_map(|m| m.subjects.clone())
                .collect(),
            secret_keys: document
                .credentials
                .iter()
                .filter(|grant| grant.source == faas_policy_core::ValueSource::Secrets)
                .map(|grant| grant.key.clone())
                .collect(),
        }
    }

    /// A one-line description for people: keys, rules, public routes.
    pub fn summary(&self) -> String {
        let public = self
            .policy
            .rules
            .iter()
            .filter(|r| r.access == Access::Public)
            .count();
        let mut summary = format!(
            "{} API key(s), {} rule(s) ({} public), body ≤ {} bytes",
            self.policy.api_keys.len(),
            self.policy.rules.len(),
            public,
            self.policy.filters.max_body_bytes,
        );
        if self.policy.jwt.is_some() {
            summary.push_str(", JWT");
        }
        if self.policy.hmac.is_some() {
            summary.push_str(", webhook signatures");
        }
        if !self.policy.limits.is_empty() {
            summary.push_str(&format!(", {} rate limit(s)", self.policy.limits.len()));
        }
        if self.policy.cors.is_some() {
            summary.push_str(", CORS");
        }
        if let Some(messaging) = &self.policy.messaging {
            summary.push_str(&format!(
                ", messaging subjects {}",
                messaging.subjects.join(" ")
            ));
        }
        summary
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

/// The keys whose values an error's excerpt may show: none of them ever holds a secret. Every
/// other line's strings are masked (`key`, `digest`, `secret`, `hs256-secret`, credentials…).
const SHOWN_KEYS: &[&str] = &[
    "version",
    "id",
    "path",
    "methods",
    "scopes",
    "public",
    "signed",
    "issuers",
    "audiences",
    "algorithms",
    "jwks-uri",
    "required-claims",
    "scopes-claim",
    "subject-claim",
    "header",
    "format",
    "prefix",
    "encoding",
    "algorithm",
    "subjects",
    "allow",
    "origins",
    "headers",
    "content-types",
    "required-headers",
    "audit",
    "kid",
    "alg",
    "use",
    "kty",
    "crv",
    "provider",
    "subject",
    "decisions",
];

/// Checks and compiles the text of a policy file. Each table has its own function below; the
/// checks that a rule could ever apply are in [`lints`]. An error never shows a secret: its
/// excerpt masks the strings of every line but those of [`SHOWN_KEYS`].
pub fn compile(source: &SourceFile) -> Result<(Policy, Capabilities), TextError> {
    compile_unmasked(source).map_err(|e| {
        // `key` is a rate limit's key in [[limit]] (shown) and a plaintext key elsewhere.
        let table = source
            .text
            .lines()
            .take(e.line)
            .filter(|l| l.trim_start().starts_with('['))
            .last()
            .map(str::trim);
        let mut shown = SHOWN_KEYS.to_vec();
        if table == Some("[[limit]]") {
            shown.push("key");
        }
        e.masking_strings(&shown)
    })
}

fn compile_unmasked(source: &SourceFile) -> Result<(Policy, Capabilities), TextError> {
    let file: PolicyFile = source.parse_toml()?;
    let capabilities = compile_capabilities(source, &file)?;
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

    let api_keys = compile_api_keys(source, &file)?;
    let (filters, filter_methods) = compile_filters(source, &file)?;
    let cors = file.cors.as_ref().map(|c| Cors {
        origins: c.origins.iter().map(|o| o.0.clone()).collect(),
        methods: c.methods.iter().map(|m| m.0.clone()).collect(),
        headers: c.headers.iter().map(|h| h.0.clone()).collect(),
        max_age: c.max_age,
    });

    let jwt = match &file.auth.jwt {
        Some(table) => Some(compile_jwt(source, table)?),
        None => None,
    };
    let credentials = compile_credentials(source, &file)?;
    let messaging = compile_messaging(source, &file)?;
    let hmac = match &file.auth.hmac {
        Some(table) => Some(webhooks::compile_hmac(source, table)?),
        None => None,
    };
    let functions = compile_functions(source, &file)?;
    // For the checks that a rule can be satisfied, a calling function holds scopes as a key does.
    let scope_holders: Vec<ApiKey> = api_keys
        .iter()
        .cloned()
        .chain(functions.iter().map(|f| ApiKey {
            id: f.id.clone(),
            digest: [0; 32],
            scopes: f.scopes.clone(),
        }))
        .collect();
    let rules = compile_rules(
        source,
        &file,
        &filter_methods,
        &scope_holders,
        jwt.is_some(),
        messaging.is_some(),
    )?;
    if let Some(table) = &file.auth.hmac
        && !rules.iter().any(|r| r.signed)
    {
        return Err(source.error_at(
            Some(table.span()),
            "[auth.hmac] is set but no rule has `signed = true`, so no signature would ever be              checked; mark the webhook routes, or remove [auth.hmac]",
        ));
    }
    let limits = webhooks::compile_limits(source, &file.limit)?;
    let audit = webhooks::compile_audit(source, file.audit.as_ref())?;
    let policy = Policy {
        api_key_header: file.auth.api_key_header.0.clone(),
        api_keys,
        filters,
        cors,
        rules,
        jwt,
        credentials,
        messaging,
        hmac,
        limits,
        audit,
        functions,
    };
    Ok((policy, capabilities))
}

fn compile_capabilities(source: &SourceFile, file: &PolicyFile) -> Result<Capabilities, TextError> {
    let mut capabilities = Capabilities::default();
    if let Some(table) = &file.capabilities {
        let (line, column) = source.line_column(table.span().start);
        capabilities.location = Some(format!("{}:{line}:{column}", source.path.display()));
        for entry in &table.get_ref().allow {
            let example = "wasi:http/outgoing-handler, or a package such as wasi:keyvalue/*";
            capabilities.allow.push(capability(source, entry, example)?);
        }
        for entry in &table.get_ref().outgoing_hosts {
            if let Err(why) = crate::capabilities::check_host_pattern(entry.get_ref()) {
                return Err(source.error_at(
                    Some(entry.span()),
                    format!("invalid outgoing host `{}`: {why}", entry.get_ref()),
                ));
            }
            capabilities
                .outgoing_hosts
                .push(entry.get_ref().to_ascii_lowercase());
        }
        if !capabilities.outgoing_hosts.is_empty() {
            // Requests to the granted hosts need the interface and its types.
            for interface in ["wasi:http/outgoing-handler", "wasi:http/types"] {
                if !capabilities.allow.iter().any(|a| a == interface) {
                    capabilities.allow.push(interface.to_string());
                }
            }
        }
    }
    for (name, table) in &file.dependencies {
        crate::project::dependencies::check_name(name)
            .map_err(|e| source.error_at(Some(table.span()), e))?;
        let (line, column) = source.line_column(table.span().start);
        let mut grant = DependencyGrant {
            allow: Vec::new(),
            location: format!("{}:{line}:{column}", source.path.display()),
        };
        for entry in &table.get_ref().allow {
            let example = "wasi:sockets/tcp, or a package such as wasi:sockets/*";
            grant.allow.push(capability(source, entry, example)?);
        }
        capabilities.dependencies.insert(name.clone(), grant);
    }
    Ok(capabilities)
}

/// One `allow` entry, checked: an interface or a package pattern (`example` shows one).
fn capability(
    source: &SourceFile,
    entry: &toml::Spanned<String>,
    example: &str,
) -> Result<String, TextError> {
    if entry.get_ref().starts_with("faas:dev/") {
        return Err(source.error_at(
            Some(entry.span()),
            format!(
                "`{}` is granted by faas dev to its development artifacts only; a policy cannot \
                 grant it",
                entry.get_ref()
            ),
        ));
    }
    if !crate::capabilities::is_valid_pattern(entry.get_ref()) {
        return Err(source.error_at(
            Some(entry.span()),
            format!(
                "invalid capability `{}`: expected an interface such as {example}",
                entry.get_ref()
            ),
        ));
    }
    Ok(entry.get_ref().clone())
}

/// `[[auth.function]]`: the faas functions that may call this one, by name.
fn compile_functions(
    source: &SourceFile,
    file: &PolicyFile,
) -> Result<Vec<faas_policy_core::FunctionCaller>, TextError> {
    let mut functions: Vec<faas_policy_core::FunctionCaller> = Vec::new();
    for entry in &file.auth.function {
        let table = entry.get_ref();
        let id = table.id.get_ref();
        crate::project::FunctionName::try_from(id.clone())
            .map_err(|e| source.error_at(Some(table.id.span()), e))?;
        if functions.iter().any(|f| f.id == *id) {
            return Err(source.error_at(
                Some(table.id.span()),
                format!("function `{id}` is listed twice"),
            ));
        }
        functions.push(faas_policy_core::FunctionCaller {
            id: id.clone(),
            scopes: table.scopes.iter().map(|s| s.0.clone()).collect(),
        });
    }
    Ok(functions)
}

fn compile_api_keys(source: &SourceFile, file: &PolicyFile) -> Result<Vec<ApiKey>, TextError> {
    let err = |span: Range<usize>, message: String| source.error_at(Some(span), message);
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

    Ok(api_keys)
}

/// The `[filters]` table, and its methods (for the lints).
fn compile_filters(
    source: &SourceFile,
    file: &PolicyFile,
) -> Result<(Filters, Vec<String>), TextError> {
    let err = |span: Range<usize>, message: String| source.error_at(Some(span), message);
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

    Ok((filters, filter_methods))
}

fn compile_credentials(source: &SourceFile, file: &PolicyFile) -> Result<Vec<Grant>, TextError> {
    let mut credentials = Vec::new();
    for (name, reference) in &file.credentials {
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(source.error_at(
                Some(reference.span()),
                format!("invalid credential name `{name}`"),
            ));
        }
        let (key, source) = match reference.get_ref() {
            RuntimeRef::Config(key) => (key.clone(), faas_policy_core::ValueSource::Config),
            RuntimeRef::Secret(key) => (key.clone(), faas_policy_core::ValueSource::Secrets),
        };
        credentials.push(Grant {
            name: name.clone(),
            key,
            source,
        });
    }

    Ok(credentials)
}

fn compile_messaging(
    source: &SourceFile,
    file: &PolicyFile,
) -> Result<Option<faas_policy_core::Messaging>, TextError> {
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

    Ok(messaging)
}

fn compile_rules(
    source: &SourceFile,
    file: &PolicyFile,
    filter_methods: &[String],
    api_keys: &[ApiKey],
    jwt: bool,
    messaging: bool,
) -> Result<Vec<Rule>, TextError> {
    let err = |span: Range<usize>, message: String| source.error_at(Some(span), message);
    if file.rule.is_empty() && !messaging {
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
        let signed = table.signed == Some(true);
        if signed && file.auth.hmac.is_none() {
            return Err(err(
                span,
                "`signed = true` needs [auth.hmac], which says how requests are signed".into(),
            ));
        }
        let access = match (table.public, &table.scopes) {
            (Some(true), _) if signed => {
                return Err(err(
                    span,
                    "a signed rule is not public: leave out `public = true` (the signature \
                     alone then authenticates), or list `scopes` to require a key beside it"
                        .into(),
                ));
            }
            (Some(true), Some(_)) => {
                return Err(err(
                    span,
                    "a rule cannot be both `public = true` and require `scopes`".into(),
                ));
            }
            (Some(true), None) => Access::Public,
            (_, Some(scopes)) => Access::Scopes(scopes.iter().map(|s| s.0.clone()).collect()),
            // The signature is the authentication.
            (_, None) if signed => Access::Public,
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
            signed,
        };
        lints::check_rule_can_match(&rule, filter_methods, api_keys, jwt, &rules)
            .map_err(|message| err(span.clone(), message))?;
        rules.push((span, rule));
    }

    Ok(rules.into_iter().map(|(_, r)| r).collect())
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

/// Refuses a key that could never authenticate: the decorator trims the header value, reads a
/// bearer token with dots as a JWT once the policy accepts JWTs, and no header carries control
/// characters. Digests of such keys would sit in a policy and never match.
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("the key is empty".into());
    }
    if key.trim() != key {
        return Err(
            "the key has leading or trailing whitespace, which is trimmed from the header it \
             arrives in, so it could never authenticate (with a shell, `printf '%s' \"$KEY\"`)"
                .into(),
        );
    }
    if key.contains('.') {
        return Err(
            "the key contains `.`: a bearer token with dots is checked as a JWT when the policy \
             accepts JWTs, so it could not authenticate as an API key; use letters, digits, `-` \
             and `_` (as `faas new` does)"
                .into(),
        );
    }
    if key.chars().any(char::is_control) {
        return Err("the key contains control characters, which no header can carry".into());
    }
    Ok(())
}

/// The digest of an API key, as written in a policy.
pub fn hash_key(key: &str) -> String {
    crate::digest::sha256(key.as_bytes())
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
    fn faas_devs_source_cannot_be_granted_by_a_policy() {
        for pattern in ["faas:dev/source", "faas:dev/*"] {
            let e = error(&format!(
                "{KEY}[capabilities]\nallow = [\"{pattern}\"]\n[[rule]]\npath = \"/\"\n"
            ));
            assert!(
                e.starts_with("auth.toml:7:10: `faas:dev/") && e.contains("faas dev"),
                "{e}"
            );
        }
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

    const HOOK: &str = "[auth.hmac]\nprovider = \"github\"\nsecret = { config = \"hook\" }\n";
    const SIGNED_RULE: &str = "[[rule]]\npath = \"/hooks/*\"\nsigned = true\n";

    #[test]
    fn webhooks_limits_and_audit_compile() {
        let p = compile_text(&format!(
            "{KEY}{HOOK}{SIGNED_RULE}[[rule]]\npath = \"/**\"\nscopes = [\"read\"]\n\
             [[limit]]\nrequests = 5\nwindow-seconds = 60\nkey = \"header:X-Tenant\"\n\
             [audit]\ndecisions = \"refusals\"\n"
        ))
        .unwrap();
        let hmac = p.hmac.unwrap();
        assert_eq!(
            (
                hmac.header.as_str(),
                hmac.secret.as_str(),
                hmac.subject.as_str()
            ),
            ("x-hub-signature-256", "hook", "github")
        );
        assert!(p.rules[0].signed && p.rules[0].access == Access::Public);
        assert!(!p.rules[1].signed);
        assert_eq!(p.limits[0].path, "/**");
        assert_eq!(
            p.limits[0].key,
            faas_policy_core::LimitKey::Header("x-tenant".into())
        );
        assert_eq!(p.audit, faas_policy_core::AuditLevel::Refusals);
    }

    #[test]
    fn webhook_and_limit_mistakes_are_located() {
        let cases = [
            // A signed rule needs [auth.hmac]; [auth.hmac] needs a signed rule.
            (
                format!("{KEY}{SIGNED_RULE}"),
                "auth.toml:6:1:",
                "needs [auth.hmac]",
            ),
            (
                format!("{KEY}{HOOK}[[rule]]\npath = \"/\"\npublic = true\n"),
                "auth.toml:6:1:",
                "no rule has `signed = true`",
            ),
            (
                format!("{KEY}{HOOK}[[rule]]\npath = \"/\"\nsigned = true\npublic = true\n"),
                "auth.toml:9:1:",
                "a signed rule is not public",
            ),
            (
                format!(
                    "{KEY}[auth.hmac]\nprovider = \"gitlab\"\nsecret = {{ config = \"k\" }}\n{SIGNED_RULE}"
                ),
                "auth.toml:7:12:",
                "unknown provider `gitlab`",
            ),
            (
                format!(
                    "{KEY}[auth.hmac]\nprovider = \"github\"\nheader = \"x-sig\"\nsecret = {{ config = \"k\" }}\n{SIGNED_RULE}"
                ),
                "auth.toml:8:10:",
                "`header` is fixed",
            ),
            (
                format!(
                    "{KEY}[auth.hmac]\nprovider = \"github\"\nsecret = \"literal\"\n{SIGNED_RULE}"
                ),
                "auth.toml:8:10:",
                "literal secret",
            ),
            (
                format!(
                    "{KEY}[[rule]]\npath = \"/\"\npublic = true\n[[limit]]\nrequests = 0\nwindow-seconds = 1\nkey = \"global\"\n"
                ),
                "auth.toml:10:12:",
                "`requests = 0`",
            ),
            (
                format!(
                    "{KEY}[[rule]]\npath = \"/\"\npublic = true\n[[limit]]\nrequests = 1\nwindow-seconds = 1\nkey = \"ip\"\n"
                ),
                "auth.toml:12:7:",
                "invalid limit key `ip`",
            ),
            (
                format!(
                    "{KEY}[[rule]]\npath = \"/\"\npublic = true\n[audit]\ndecisions = \"none\"\n"
                ),
                "auth.toml:10:13:",
                "unknown audit setting",
            ),
        ];
        for (text, at, message) in cases {
            let e = error(&text);
            assert!(e.starts_with(at) && e.contains(message), "{e}\n---\n{text}");
        }
    }
}
