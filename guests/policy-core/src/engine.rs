//! The decision engine: filters, then authentication, then authorization, in that order, for one
//! request. It never calls the function itself; it says whether to answer now or to forward, and
//! with which caller. Anything it cannot establish is a denial.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use crate::{Access, LimitKey, Policy};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// How a request arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger<'a> {
    /// HTTP (and the CLI trigger, whose requests carry headers like HTTP ones).
    Http,
    /// A broker message on this subject.
    Messaging(&'a str),
}

/// The parts of a request the policy looks at.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    /// How it arrived.
    pub trigger: Trigger<'a>,
    /// The method, as received (methods are case-sensitive).
    pub method: &'a str,
    /// Path with query.
    pub path: &'a str,
    /// Header fields, names lower-case.
    pub headers: &'a [(String, String)],
    /// The body's length in bytes.
    pub body_len: u64,
    /// The calling faas function, when the request comes from one through its function gate
    /// (the only layer that sets a `function` caller; adapters set none).
    pub function: Option<&'a str>,
}

/// An answer given by the decorator itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Header fields.
    pub headers: Vec<(String, String)>,
    /// A short JSON body naming the kind of denial, never internal detail.
    pub body: Vec<u8>,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The API key's id, or the token's subject.
    pub subject: String,
    /// The key's or the token's scopes.
    pub scopes: Vec<String>,
    /// Verified claims (tokens only).
    pub claims: Vec<(String, String)>,
    /// How the caller authenticated: `api-key` or `jwt`.
    pub scheme: &'static str,
}

/// What the engine needs from its surroundings: a verifier of JWT bearer tokens under the policy's
/// `[auth.jwt]`, called only for such tokens. Token verification (signatures,
/// claims) lives in [`crate::jwt`], which the decorator reaches through a separate component that
/// `faas wrap` composes only for policies with JWTs: its cryptography is most of a decorator's size.
///
/// Webhook signatures and rate-limit counts live in the same layer (they need run-time secrets
/// and the host's key-value store): the engine asks only on routes and limits that need them.
pub struct Environment<'a> {
    /// Verifies a bearer token at the current time; the error is a reason for logs.
    pub verify_jwt: &'a dyn Fn(&str) -> Result<crate::jwt::VerifiedToken, String>,
    /// Verifies the request's webhook signature under `[auth.hmac]`; the error is a reason.
    pub verify_signature: &'a dyn Fn() -> Result<(), String>,
    /// Counts this request against limit `index` for `key` in fixed window number `window`, and
    /// returns the count so far, this request included; the error (no store) denies.
    pub count: &'a dyn Fn(u32, &str, u64) -> Result<u64, String>,
    /// The current wall-clock time, in seconds since the Unix epoch.
    pub now_seconds: u64,
}

/// The rule that decided: its number (from 1, in file order) and its path pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRef {
    /// 1 for the first `[[rule]]`.
    pub number: usize,
    /// Its path pattern.
    pub path: String,
}

impl core::fmt::Display for RuleRef {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "rule {} ({})", self.number, self.path)
    }
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Answer now with a success the decorator gives itself (an allowed CORS preflight).
    Respond(Answer),
    /// Refuse; the function is not called.
    Refuse(Refusal),
    /// Call the function.
    Forward {
        /// The authenticated caller, `None` on a public route.
        caller: Option<Caller>,
        /// Headers that carry credentials under this policy, to remove before the function sees
        /// the request (on public routes too: a credential is never the function's business).
        strip_headers: Vec<String>,
        /// The rule that let it through (none for messages).
        rule: Option<RuleRef>,
        /// Headers for the function's answer: the rate limits' `ratelimit-*`.
        response_headers: Vec<(String, String)>,
    },
}

/// A refusal: the answer for the client, and what the log says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// What the client gets: a status and the kind of failure, nothing more.
    pub answer: Answer,
    /// Why, for the log: never a credential, a token or a key.
    pub reason: String,
    /// The rule that applied, when routing got that far.
    pub rule: Option<RuleRef>,
    /// The authenticated subject, when authentication succeeded (a missing scope, a limit).
    pub subject: Option<String>,
    /// How that subject authenticated.
    pub scheme: Option<&'static str>,
    /// Whether an allowed origin's CORS headers go on the answer (not on a refused preflight).
    pub cors: bool,
}

impl Refusal {
    /// The log line's text: status, reason, rule and subject.
    pub fn describe(&self) -> String {
        let mut text = format!("{} {}", self.answer.status, self.reason);
        if let Some(rule) = &self.rule {
            text.push_str(&format!("; {rule}"));
        }
        if let Some(subject) = &self.subject {
            text.push_str(&format!("; subject {subject:?}"));
        }
        text
    }
}

/// Decides what to do with `req` under `policy`.
pub fn decide(policy: &Policy, req: &RequestView<'_>, env: &Environment<'_>) -> Decision {
    // A call from another faas function is a function call whatever trigger its code claims:
    // decided by the rules and `[[auth.function]]`, never as a broker message.
    if let (Trigger::Messaging(subject), None) = (req.trigger, req.function) {
        return decide_message(policy, subject, req.body_len);
    }
    if !method_is_canonical(req.method) {
        return deny(400, "method is not an upper-case token");
    }
    if req.method == "CONNECT" {
        return deny(501, "CONNECT is not served");
    }
    if let Some(problem) = path_problem(req.path) {
        return deny(400, problem);
    }
    match preflight(policy, req) {
        Some(Ok(answer)) => return Decision::Respond(answer),
        Some(Err(refusal)) => return Decision::Refuse(refusal),
        None => {}
    }
    if let Some(refusal) = filter(policy, req) {
        return Decision::Refuse(refusal);
    }

    // Routing: the first rule matching path and method decides; a path matched only by rules for
    // other methods is a 405 naming the methods that would be accepted.
    let path_rules: Vec<_> = policy
        .rules
        .iter()
        .enumerate()
        .filter(|(_, rule)| path_matches(&rule.path, req.path))
        .collect();
    let Some((index, rule)) = path_rules
        .iter()
        .find(|(_, rule)| rule.methods.is_empty() || rule.methods.iter().any(|m| m == req.method))
    else {
        if path_rules.is_empty() {
            return deny(403, "no rule for the path");
        }
        let mut allowed: Vec<&str> = path_rules
            .iter()
            .flat_map(|(_, r)| r.methods.iter().map(String::as_str))
            .collect();
        allowed.sort_unstable();
        allowed.dedup();
        return refuse(
            405,
            vec![("allow", allowed.join(", "))],
            "no rule for the method on this path".into(),
        );
    };
    let rule_ref = RuleRef {
        number: index + 1,
        path: rule.path.clone(),
    };
    let decision = match authenticate(policy, req, env, rule) {
        Decision::Forward {
            caller,
            strip_headers,
            ..
        } => match count(policy, req, env, caller.as_ref()) {
            Ok(response_headers) => Decision::Forward {
                caller,
                strip_headers,
                rule: Some(rule_ref.clone()),
                response_headers,
            },
            Err(mut refusal) => {
                if let Some(caller) = caller {
                    refusal.subject = Some(caller.subject);
                    refusal.scheme = Some(caller.scheme);
                }
                Decision::Refuse(*refusal)
            }
        },
        other => other,
    };
    match decision {
        Decision::Refuse(mut refusal) => {
            refusal.rule = Some(rule_ref);
            Decision::Refuse(refusal)
        }
        other => other,
    }
}

/// Authentication and authorization under `rule`: a webhook signature when the rule asks for
/// one, then an API key or a JWT holding the rule's scopes (none on a public rule); for a call
/// from another faas function, that function's own grant.
fn authenticate(
    policy: &Policy,
    req: &RequestView<'_>,
    env: &Environment<'_>,
    rule: &crate::Rule,
) -> Decision {
    let strip_headers = credential_headers(policy);
    if let Some(id) = req.function {
        return authenticate_function(policy, id, rule, strip_headers);
    }
    if rule.signed {
        let Some(hmac) = &policy.hmac else {
            // faas wrap never writes this; an unverifiable signature is a refusal.
            return deny(
                401,
                "the rule needs a signature and the policy has no [auth.hmac]",
            );
        };
        if let Err(reason) = (env.verify_signature)() {
            return refuse(401, vec![], format!("invalid signature: {reason}"));
        }
        if rule.access == Access::Public {
            return forward(
                Some(Caller {
                    subject: hmac.subject.clone(),
                    scopes: Vec::new(),
                    claims: Vec::new(),
                    scheme: "hmac",
                }),
                strip_headers,
            );
        }
    }
    let required = match &rule.access {
        Access::Public => return forward(None, strip_headers),
        Access::Scopes(scopes) => scopes,
    };

    let challenge = challenge(policy);
    // A bearer token with dots is a JWT when the policy accepts JWTs; API keys never contain dots.
    if policy.jwt.is_some() {
        match bearer_token(req) {
            Err(()) => {
                return deny(400, "repeated authorization header");
            }
            Ok(Some(token)) if token.contains('.') => {
                return match (env.verify_jwt)(token) {
                    Ok(verified) => authorize(
                        Caller {
                            subject: verified.subject,
                            scopes: verified.scopes,
                            claims: verified.claims,
                            scheme: "jwt",
                        },
                        required,
                        "authorization",
                        "Bearer realm=\"faas\"",
                        strip_headers,
                    ),
                    Err(reason) => refuse(
                        401,
                        vec![(
                            "www-authenticate",
                            "Bearer realm=\"faas\", error=\"invalid_token\"".to_string(),
                        )],
                        format!("invalid token: {reason}"),
                    ),
                };
            }
            Ok(_) => {}
        }
    }
    if policy.api_keys.is_empty() {
        return refuse(
            401,
            vec![("www-authenticate", "Bearer realm=\"faas\"".to_string())],
            "no bearer token".into(),
        );
    }
    let credential = match credential(policy, req) {
        Ok(Some(credential)) => credential,
        Ok(None) => {
            return refuse(
                401,
                vec![("www-authenticate", challenge)],
                "no credential".into(),
            );
        }
        Err(()) => {
            return deny(400, "repeated credential header");
        }
    };
    let Some(key) = find_key(policy, credential) else {
        let challenge = if policy.api_key_header == "authorization" {
            format!("{challenge}, error=\"invalid_token\"")
        } else {
            challenge
        };
        return refuse(
            401,
            vec![("www-authenticate", challenge)],
            "unknown API key".into(),
        );
    };
    authorize(
        Caller {
            subject: key.id.clone(),
            scopes: key.scopes.clone(),
            claims: Vec::new(),
            scheme: "api-key",
        },
        required,
        &policy.api_key_header,
        &challenge,
        strip_headers,
    )
}

/// A call from the faas function `id`: it holds the scopes its `[[auth.function]]` entry grants,
/// and nothing else; whatever credentials the request carries are not looked at (they are the
/// calling function's to forward, never its proof).
fn authenticate_function(
    policy: &Policy,
    id: &str,
    rule: &crate::Rule,
    strip_headers: Vec<String>,
) -> Decision {
    if rule.signed {
        return deny(
            401,
            "a signed route takes webhooks, not calls from functions",
        );
    }
    let required = match &rule.access {
        Access::Public => return forward(None, strip_headers),
        Access::Scopes(scopes) => scopes,
    };
    let Some(grant) = policy.functions.iter().find(|f| f.id == id) else {
        let mut refused = refusal(
            401,
            vec![],
            format!("function `{id}` may not call this one"),
        );
        refused.subject = Some(id.to_string());
        refused.scheme = Some("function");
        return Decision::Refuse(refused);
    };
    authorize(
        Caller {
            subject: id.to_string(),
            scopes: grant.scopes.clone(),
            claims: Vec::new(),
            scheme: "function",
        },
        required,
        "",
        "",
        strip_headers,
    )
}

fn forward(caller: Option<Caller>, strip_headers: Vec<String>) -> Decision {
    Decision::Forward {
        caller,
        strip_headers,
        rule: None,
        response_headers: Vec::new(),
    }
}

/// Counts a request the policy lets through against every limit that applies to it. `Ok` holds
/// the `ratelimit-*` headers of the limit closest to its end; a limit reached is a 429 with
/// `retry-after`, and a count that cannot be made (no store) a 503: never an uncounted request.
fn count(
    policy: &Policy,
    req: &RequestView<'_>,
    env: &Environment<'_>,
    caller: Option<&Caller>,
) -> Result<Vec<(String, String)>, alloc::boxed::Box<Refusal>> {
    // (remaining, limit, seconds to the window's end) of the tightest limit so far.
    let mut tightest: Option<(u64, u32, u64)> = None;
    for (index, limit) in policy.limits.iter().enumerate() {
        let applies = path_matches(&limit.path, req.path)
            && (limit.methods.is_empty() || limit.methods.iter().any(|m| m == req.method));
        if !applies {
            continue;
        }
        let key = match &limit.key {
            LimitKey::Subject => caller.map_or("", |c| c.subject.as_str()),
            LimitKey::Header(name) => {
                // Behind a proxy that appends its own line, the first line is the client's
                // choice: a repeated key header would let it pick its own counter.
                if req.headers.iter().filter(|(k, _)| k == name).count() > 1 {
                    return Err(alloc::boxed::Box::new(refusal(
                        400,
                        vec![],
                        format!("limit {}: repeated {name} header", index + 1),
                    )));
                }
                // A field value's surrounding spaces and tabs are not part of it (RFC 9110
                // §5.5): ` acme` is `acme`, not a second counter (found by the property tests).
                header(req, name).unwrap_or("").trim_matches([' ', '\t'])
            }
            LimitKey::Global => "",
        };
        let window_seconds = u64::from(limit.window_seconds);
        let window = env.now_seconds / window_seconds;
        let reset = (window + 1) * window_seconds - env.now_seconds;
        let counted = (env.count)(index as u32, key, window).map_err(|reason| {
            alloc::boxed::Box::new(refusal(
                503,
                vec![],
                format!("limit {}: cannot count the request: {reason}", index + 1),
            ))
        })?;
        if counted > u64::from(limit.requests) {
            let mut headers = ratelimit_headers(limit.requests, 0, reset);
            headers.insert(0, ("retry-after", reset.to_string()));
            return Err(alloc::boxed::Box::new(refusal(
                429,
                headers,
                format!(
                    "limit {}: more than {} requests in {} s",
                    index + 1,
                    limit.requests,
                    limit.window_seconds
                ),
            )));
        }
        let remaining = u64::from(limit.requests) - counted;
        if tightest.is_none_or(|(r, _, _)| remaining < r) {
            tightest = Some((remaining, limit.requests, reset));
        }
    }
    Ok(match tightest {
        None => Vec::new(),
        Some((remaining, requests, reset)) => ratelimit_headers(requests, remaining, reset)
            .into_iter()
            .map(|(name, value)| (name.to_string(), value))
            .collect(),
    })
}

/// The `ratelimit-*` headers of a limit of `requests` with `remaining` left, `reset` seconds
/// before its window ends.
fn ratelimit_headers(requests: u32, remaining: u64, reset: u64) -> Vec<(&'static str, String)> {
    vec![
        ("ratelimit-limit", requests.to_string()),
        ("ratelimit-remaining", remaining.to_string()),
        ("ratelimit-reset", reset.to_string()),
    ]
}

/// The headers that carry credentials, removed before the function sees a request: HTTP's own
/// (`authorization`, `proxy-authorization`) whatever the policy reads, its API-key header, and the
/// webhook signature header with `[auth.hmac]`. A credential is never the function's business,
/// even one this policy does not read (a caller's token for another service must not reach code
/// that could log or forward it).
fn credential_headers(policy: &Policy) -> Vec<String> {
    let mut headers = vec![
        "authorization".to_string(),
        "proxy-authorization".to_string(),
    ];
    for name in [
        Some(&policy.api_key_header),
        policy.hmac.as_ref().map(|h| &h.header),
    ]
    .into_iter()
    .flatten()
    {
        if !headers.contains(name) {
            headers.push(name.clone());
        }
    }
    headers
}

/// Forwards an authenticated caller holding every required scope; 403 otherwise.
fn authorize(
    caller: Caller,
    required: &[String],
    header: &str,
    challenge: &str,
    strip_headers: Vec<String>,
) -> Decision {
    let missing: Vec<&str> = required
        .iter()
        .filter(|s| !caller.scopes.contains(s))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        let mut headers = vec![];
        if header == "authorization" {
            headers.push((
                "www-authenticate",
                format!(
                    "{challenge}, error=\"insufficient_scope\", scope=\"{}\"",
                    required.join(" ")
                ),
            ));
        }
        let mut refused = refusal(
            403,
            headers,
            format!("wrong scope: lacks {}", missing.join(" ")),
        );
        refused.subject = Some(caller.subject);
        refused.scheme = Some(caller.scheme);
        return Decision::Refuse(refused);
    }
    forward(Some(caller), strip_headers)
}

/// The `authorization: Bearer` token, `Err` when the header is repeated.
fn bearer_token<'a>(req: &RequestView<'a>) -> Result<Option<&'a str>, ()> {
    let mut values = req.headers.iter().filter(|(k, _)| k == "authorization");
    let Some((_, value)) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(());
    }
    Ok(match value.trim().split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Some(token.trim()),
        _ => None,
    })
}

/// A message is accepted when its subject matches the policy's `[messaging]` subjects; the caller
/// is the broker. Without a `[messaging]` table no message reaches the function.
fn decide_message(policy: &Policy, subject: &str, body_len: u64) -> Decision {
    let Some(messaging) = &policy.messaging else {
        return deny(403, "the policy accepts no messages");
    };
    if !messaging
        .subjects
        .iter()
        .any(|p| subject_matches(p, subject))
    {
        return deny(403, "subject not accepted");
    }
    if body_len > policy.filters.max_body_bytes {
        return deny(413, "message larger than max-body-bytes");
    }
    forward(
        Some(Caller {
            subject: subject.to_string(),
            scopes: messaging.scopes.clone(),
            claims: vec![("subject".to_string(), subject.to_string())],
            scheme: "broker",
        }),
        Vec::new(),
    )
}

/// NATS subject matching: tokens separated by `.`; `*` matches one token; a final `>` matches one
/// or more tokens.
pub fn subject_matches(pattern: &str, subject: &str) -> bool {
    let mut want = pattern.split('.');
    let mut have = subject.split('.');
    loop {
        match (want.next(), have.next()) {
            (Some(">"), Some(token)) => return !token.is_empty(),
            (None, None) => return true,
            (Some("*"), Some(token)) if !token.is_empty() => continue,
            (Some(w), Some(h)) if w == h && !h.is_empty() => continue,
            _ => return false,
        }
    }
}

/// The request filters, in the order a client can fix them: method, headers, size, media type.
fn filter(policy: &Policy, req: &RequestView<'_>) -> Option<Refusal> {
    let f = &policy.filters;
    if !f.methods.is_empty() && !f.methods.iter().any(|m| m == req.method) {
        return Some(refusal(
            405,
            vec![("allow", f.methods.join(", "))],
            "method refused by [filters]".into(),
        ));
    }
    if let Some(name) = f
        .required_headers
        .iter()
        .find(|name| header(req, name).is_none())
    {
        return Some(refusal(
            400,
            vec![],
            format!("required header `{name}` missing"),
        ));
    }
    let declared_len = header(req, "content-length").and_then(|v| v.trim().parse::<u64>().ok());
    if req.body_len > f.max_body_bytes || declared_len.is_some_and(|n| n > f.max_body_bytes) {
        return Some(refusal(
            413,
            vec![],
            "body larger than max-body-bytes".into(),
        ));
    }
    // Two media types are an ambiguity two layers could read differently: refused whatever the
    // filter says.
    let mut content_types = req.headers.iter().filter(|(k, _)| k == "content-type");
    let content_type = content_types.next().map(|(_, v)| v.as_str());
    if content_types.next().is_some() {
        return Some(refusal(400, vec![], "repeated content-type header".into()));
    }
    if !f.content_types.is_empty() {
        let media_type = content_type.map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
        let acceptable = match media_type {
            Some(t) => f.content_types.contains(&t),
            // A request without a body needs no media type.
            None => req.body_len == 0,
        };
        if !acceptable {
            return Some(refusal(
                415,
                vec![],
                "media type refused by [filters]".into(),
            ));
        }
    }
    None
}

/// A CORS preflight (`OPTIONS` with `origin` and `access-control-request-method`) is answered here,
/// without credentials, as browsers send none with it: `Ok` with the CORS headers when origin,
/// method and headers are allowed, a refusal without any CORS header otherwise.
fn preflight(policy: &Policy, req: &RequestView<'_>) -> Option<Result<Answer, Refusal>> {
    let cors = policy.cors.as_ref()?;
    if req.method != "OPTIONS" {
        return None;
    }
    let origin = header(req, "origin")?;
    let requested_method = header(req, "access-control-request-method")?;
    let origin_ok = cors.origins.iter().any(|o| o == "*" || o == origin);
    let method_ok = cors.methods.iter().any(|m| m == requested_method.trim());
    let headers_ok = header(req, "access-control-request-headers").is_none_or(|list| {
        list.split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .all(|h| cors.headers.contains(&h))
    });
    if !(origin_ok && method_ok && headers_ok) {
        let why = if !origin_ok {
            "origin"
        } else if !method_ok {
            "method"
        } else {
            "request headers"
        };
        let mut refused = refusal(403, vec![], format!("CORS preflight: {why} not allowed"));
        refused.cors = false;
        return Some(Err(refused));
    }
    let mut headers = vec![
        ("access-control-allow-origin", origin.to_string()),
        ("access-control-allow-methods", cors.methods.join(", ")),
        ("vary", "origin".to_string()),
    ];
    if !cors.headers.is_empty() {
        headers.push(("access-control-allow-headers", cors.headers.join(", ")));
    }
    headers.push(("access-control-max-age", cors.max_age.to_string()));
    Some(Ok(Answer {
        status: 204,
        headers: headers
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        body: Vec::new(),
    }))
}

/// Headers to add to any answer to a cross-origin request from an allowed origin.
pub fn cors_headers(
    policy: &Policy,
    request_headers: &[(String, String)],
) -> Vec<(String, String)> {
    let Some(cors) = &policy.cors else {
        return vec![];
    };
    let Some(origin) = request_headers
        .iter()
        .find(|(k, _)| k == "origin")
        .map(|(_, v)| v)
    else {
        return vec![];
    };
    if !cors.origins.iter().any(|o| o == "*" || o == origin) {
        return vec![];
    }
    vec![
        ("access-control-allow-origin".into(), origin.clone()),
        ("vary".into(), "origin".into()),
    ]
}

/// Puts `cors` (from [`cors_headers`]) on an answer's `headers` so that each header appears once,
/// as browsers require: an `access-control-*` header replaces any the answer already has (the
/// policy decides CORS, not the function), and `origin` joins the answer's one `vary` header.
pub fn apply_cors(headers: &mut Vec<(String, String)>, cors: Vec<(String, String)>) {
    for (name, value) in cors {
        if name == "vary" {
            let mut tokens: Vec<String> = Vec::new();
            headers.retain(|(k, v)| {
                if !k.eq_ignore_ascii_case("vary") {
                    return true;
                }
                for token in v.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                    if !tokens.iter().any(|t| t.eq_ignore_ascii_case(token)) {
                        tokens.push(token.to_string());
                    }
                }
                false
            });
            if !tokens
                .iter()
                .any(|t| t.eq_ignore_ascii_case(&value) || t == "*")
            {
                tokens.push(value);
            }
            headers.push(("vary".into(), tokens.join(", ")));
        } else {
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case(&name));
            headers.push((name, value));
        }
    }
}

fn challenge(policy: &Policy) -> String {
    if policy.api_key_header == "authorization" {
        "Bearer realm=\"faas\"".to_string()
    } else {
        format!(
            "ApiKey realm=\"faas\", header=\"{}\"",
            policy.api_key_header
        )
    }
}

/// The credential presented, `Ok(None)` when there is none, `Err` when the header is repeated (an
/// ambiguity an attacker could use to make two layers see different keys).
fn credential<'a>(policy: &Policy, req: &RequestView<'a>) -> Result<Option<&'a str>, ()> {
    let mut values = req
        .headers
        .iter()
        .filter(|(k, _)| *k == policy.api_key_header);
    let Some((_, value)) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(());
    }
    let value = value.trim();
    let token = if policy.api_key_header == "authorization" {
        match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => return Ok(None),
        }
    } else {
        value
    };
    Ok((!token.is_empty()).then_some(token))
}

/// The key whose digest matches. Every key is compared, in constant time, so timing reveals
/// neither which key nor how much of a digest matched.
fn find_key<'p>(policy: &'p Policy, credential: &str) -> Option<&'p crate::ApiKey> {
    let digest: [u8; 32] = Sha256::digest(credential.as_bytes()).into();
    let mut found = None;
    for key in &policy.api_keys {
        if bool::from(key.digest.ct_eq(&digest)) {
            found = Some(key);
        }
    }
    found
}

fn header<'a>(req: &RequestView<'a>, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Whether `method` is what the contract promises: an HTTP token (RFC 9110) with no lower-case
/// letter. Methods are case-sensitive, so `delete` is not `DELETE`; passing it on would let it
/// miss a rule written for `DELETE` and match a broader one.
pub fn method_is_canonical(method: &str) -> bool {
    method.len() <= 64 && is_token(method) && !method.bytes().any(|b| b.is_ascii_lowercase())
}

/// Whether `text` is an HTTP token (RFC 9110 §5.6.2), as methods and header names are.
pub fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Why `path_and_query`'s path is not in canonical form, or `None` when it is. The rules match the
/// path as received, so a path must have exactly one spelling, or a function that decodes or
/// normalises paths could be reached under a broader rule than the one meant for it. Canonical:
///
/// - it starts with `/`; no empty segment (but a final `/`), no `.` or `..` segment;
/// - its characters are RFC 3986 path characters (unreserved, sub-delimiters, `:`, `@`, `/`)
///   except `;`, whose path parameters servers strip before routing;
/// - a percent-encoding has upper-case hex digits and encodes a byte that could not appear as is:
///   never an unreserved character or sub-delimiter (`%61` for `a`), `/`, `\`, `;`, `?`, `#`, `%`
///   (double encoding), a space or a control character; encoded bytes above 127 must decode to
///   UTF-8.
pub fn path_problem(path_and_query: &str) -> Option<&'static str> {
    let path = path_and_query.split('?').next().unwrap_or("");
    if !path.starts_with('/') {
        return Some("path does not start with `/`");
    }
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = |at: usize| {
                bytes
                    .get(at)
                    .copied()
                    .filter(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(c))
            };
            let (Some(high), Some(low)) = (hex(i + 1), hex(i + 2)) else {
                return Some("percent-encoding is not `%` and two upper-case hex digits");
            };
            let value = |c: u8| {
                if c.is_ascii_digit() {
                    c - b'0'
                } else {
                    c - b'A' + 10
                }
            };
            let byte = value(high) * 16 + value(low);
            if byte < 0x80 && !b"\"<>[]^`{|}".contains(&byte) {
                return Some(match byte {
                    b'%' => "double percent-encoding",
                    b' ' => "encoded space",
                    b'/' | b'\\' => "encoded `/` or `\\`",
                    0..=0x1f | 0x7f => "encoded control character",
                    _ => "percent-encoded character that needs no encoding",
                });
            }
            decoded.push(byte);
            i += 3;
            continue;
        }
        let allowed = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,=:@/".contains(&b);
        if !allowed {
            return Some(if b == b';' {
                "`;` path parameter"
            } else {
                "character not allowed in a path"
            });
        }
        decoded.push(b);
        i += 1;
    }
    if core::str::from_utf8(&decoded).is_err() {
        return Some("encoded bytes that are not UTF-8");
    }
    let segments: Vec<&str> = path[1..].split('/').collect();
    let last = segments.len() - 1;
    let well_formed = segments
        .iter()
        .enumerate()
        .all(|(i, s)| *s != "." && *s != ".." && (!s.is_empty() || i == last));
    if !well_formed {
        return Some("empty, `.` or `..` path segment");
    }
    None
}

/// Whether `path` (with or without query) matches the rule `pattern`: literal segments, `*` for one
/// non-empty segment, and a final `**` for any rest, including none. A trailing `/` is not a
/// segment: `/admin/` is matched as `/admin`, so it meets the rules and limits written for
/// `/admin` rather than slipping past them to a broader one.
pub fn path_matches(pattern: &str, path_and_query: &str) -> bool {
    let path = path_and_query.split('?').next().unwrap_or("");
    let mut want = without_trailing_slash(pattern)
        .trim_start_matches('/')
        .split('/');
    let mut have = without_trailing_slash(path)
        .trim_start_matches('/')
        .split('/');
    loop {
        match (want.next(), have.next()) {
            (Some("**"), _) => return true,
            (None, None) => return true,
            (Some("*"), Some(seg)) if !seg.is_empty() => continue,
            (Some(w), Some(h)) if w == h => continue,
            _ => return false,
        }
    }
}

/// `path` without one trailing `/` (the root becomes empty, which matches as the root does).
fn without_trailing_slash(path: &str) -> &str {
    path.strip_suffix('/').unwrap_or(path)
}

/// A generic answer for `status`, as every layer gives it: the kind of failure as JSON, never
/// internal detail.
pub fn error_answer(status: u16) -> Answer {
    answer(status, vec![])
}

/// The kind of failure a status names, as answers' bodies say it.
fn kind_of(status: u16) -> &'static str {
    match status {
        400 => "bad request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not found",
        405 => "method not allowed",
        413 => "payload too large",
        415 => "unsupported media type",
        429 => "too many requests",
        501 => "not implemented",
        503 => "unavailable",
        _ => "internal",
    }
}

fn answer(status: u16, headers: Vec<(&str, String)>) -> Answer {
    let kind = kind_of(status);
    let mut headers: Vec<(String, String)> = headers
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    headers.push(("content-type".into(), "application/json".into()));
    Answer {
        status,
        headers,
        body: format!("{{\"error\":\"{kind}\"}}").into_bytes(),
    }
}

/// For a layer that passes the caller on in header fields (the WASI 0.3 middleware's
/// `faas-caller-*`): a forwarded caller a field cannot carry exactly is refused (401), never
/// passed on in part or in a second reading. The subject must be a field value as sent (no
/// control character, C0 or C1, no space at either end, not empty); each scope an RFC 6749
/// scope token (printable ASCII but space, `"` and `\`), since the scopes travel space-separated.
pub fn carried_in_headers(decision: Decision) -> Decision {
    let Decision::Forward {
        caller: Some(caller),
        rule,
        ..
    } = &decision
    else {
        return decision;
    };
    let subject = &caller.subject;
    let problem = if subject.is_empty() {
        Some("an empty subject")
    } else if subject.chars().any(char::is_control) {
        Some("a control character in the subject")
    } else if subject.starts_with([' ', '\t']) || subject.ends_with([' ', '\t']) {
        Some("a space at an end of the subject")
    } else if !caller.scopes.iter().all(|scope| is_scope_token(scope)) {
        Some("a scope that is not a scope token (RFC 6749: printable, no space)")
    } else {
        None
    };
    let Some(problem) = problem else {
        return decision;
    };
    let mut refused = refusal(
        401,
        vec![],
        format!("the caller cannot be passed on: {problem}"),
    );
    refused.rule = rule.clone();
    refused.subject = Some(caller.subject.clone());
    refused.scheme = Some(caller.scheme);
    Decision::Refuse(refused)
}

/// RFC 6749's `scope-token`: `%x21 / %x23-5B / %x5D-7E`, at least one.
fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

fn refusal(status: u16, headers: Vec<(&str, String)>, reason: String) -> Refusal {
    Refusal {
        answer: answer(status, headers),
        reason,
        rule: None,
        subject: None,
        scheme: None,
        cors: true,
    }
}

fn refuse(status: u16, headers: Vec<(&str, String)>, reason: String) -> Decision {
    Decision::Refuse(refusal(status, headers, reason))
}

fn deny(status: u16, reason: &str) -> Decision {
    refuse(status, vec![], reason.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ApiKey, Cors, Filters, Rule};

    const KEY: &str = "k-123";

    fn policy() -> Policy {
        Policy {
            api_key_header: "authorization".into(),
            api_keys: vec![
                ApiKey {
                    id: "reader".into(),
                    digest: Sha256::digest(KEY.as_bytes()).into(),
                    scopes: vec!["read".into()],
                },
                ApiKey {
                    id: "other".into(),
                    digest: Sha256::digest(b"other-key").into(),
                    scopes: vec![],
                },
            ],
            filters: Filters {
                methods: vec!["GET".into(), "POST".into(), "OPTIONS".into()],
                max_body_bytes: 8,
                required_headers: vec![],
                content_types: vec!["application/json".into()],
            },
            cors: Some(Cors {
                origins: vec!["https://app.example".into()],
                methods: vec!["GET".into(), "POST".into()],
                headers: vec!["authorization".into(), "content-type".into()],
                max_age: 300,
            }),
            rules: vec![
                Rule {
                    methods: vec!["GET".into()],
                    path: "/health".into(),
                    access: Access::Public,
                    signed: false,
                },
                Rule {
                    methods: vec!["GET".into(), "POST".into()],
                    path: "/items/**".into(),
                    access: Access::Scopes(vec!["read".into()]),
                    signed: false,
                },
            ],
            jwt: None,
            credentials: vec![],
            messaging: Some(crate::Messaging {
                subjects: vec!["orders.*".into()],
                scopes: vec!["orders:write".into()],
            }),
            hmac: None,
            limits: vec![],
            audit: crate::AuditLevel::All,
            functions: vec![crate::FunctionCaller {
                id: "checkout".into(),
                scopes: vec!["read".into()],
            }],
        }
    }

    fn no_jwt(_: &str) -> Result<crate::jwt::VerifiedToken, String> {
        Err("no tokens in these tests".into())
    }
    fn no_signature() -> Result<(), String> {
        Err("no signatures in these tests".into())
    }
    fn no_store(_: u32, _: &str, _: u64) -> Result<u64, String> {
        Err("no store in these tests".into())
    }

    /// An environment that verifies nothing and counts nothing.
    fn env() -> Environment<'static> {
        Environment {
            verify_jwt: &no_jwt,
            verify_signature: &no_signature,
            count: &no_store,
            now_seconds: 1_000_000,
        }
    }

    fn run(method: &str, path: &str, headers: &[(&str, &str)], body_len: u64) -> Decision {
        run_under(&policy(), method, path, headers, body_len)
    }

    fn run_under(
        policy: &Policy,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body_len: u64,
    ) -> Decision {
        let headers = owned(headers);
        decide(
            policy,
            &RequestView {
                trigger: Trigger::Http,
                method,
                path,
                headers: &headers,
                body_len,
                function: None,
            },
            &env(),
        )
    }

    /// Header fields as a request holds them.
    fn owned(headers: &[(&str, &str)]) -> Vec<(String, String)> {
        headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn status(d: &Decision) -> u16 {
        match d {
            Decision::Respond(a) => a.status,
            Decision::Refuse(r) => r.answer.status,
            Decision::Forward { .. } => 0,
        }
    }

    fn header_of(d: &Decision, name: &str) -> Option<String> {
        match d {
            Decision::Respond(a) | Decision::Refuse(Refusal { answer: a, .. }) => a
                .headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone()),
            Decision::Forward { .. } => None,
        }
    }

    #[test]
    fn a_valid_key_with_the_scope_is_forwarded_as_its_subject() {
        let d = run("GET", "/items/1", &[("authorization", "Bearer k-123")], 0);
        let Decision::Forward {
            caller,
            strip_headers,
            rule,
            ..
        } = d
        else {
            panic!("denied: {d:?}")
        };
        assert_eq!(caller.unwrap().subject, "reader");
        assert_eq!(strip_headers, vec!["authorization", "proxy-authorization"]);
        assert_eq!(rule.unwrap().to_string(), "rule 2 (/items/**)");
    }

    #[test]
    fn missing_and_wrong_keys_are_401_with_a_challenge() {
        let d = run("GET", "/items/1", &[], 0);
        assert_eq!(status(&d), 401);
        assert_eq!(
            header_of(&d, "www-authenticate").unwrap(),
            "Bearer realm=\"faas\""
        );
        let d = run("GET", "/items/1", &[("authorization", "Bearer nope")], 0);
        assert_eq!(status(&d), 401);
        assert!(
            header_of(&d, "www-authenticate")
                .unwrap()
                .contains("invalid_token")
        );
        // The right key in the wrong scheme is no credential at all.
        assert_eq!(
            status(&run(
                "GET",
                "/items/1",
                &[("authorization", "Basic k-123")],
                0
            )),
            401
        );
    }

    #[test]
    fn a_repeated_credential_header_is_refused() {
        let h = [
            ("authorization", "Bearer k-123"),
            ("authorization", "Bearer other-key"),
        ];
        assert_eq!(status(&run("GET", "/items/1", &h, 0)), 400);
    }

    #[test]
    fn a_key_without_the_scope_is_403() {
        let d = run(
            "GET",
            "/items/1",
            &[("authorization", "Bearer other-key")],
            0,
        );
        assert_eq!(status(&d), 403);
        assert!(
            header_of(&d, "www-authenticate")
                .unwrap()
                .contains("insufficient_scope")
        );
    }

    #[test]
    fn public_routes_need_no_key_and_unmatched_routes_are_denied() {
        assert_eq!(
            run("GET", "/health", &[], 0),
            Decision::Forward {
                caller: None,
                strip_headers: vec!["authorization".into(), "proxy-authorization".into()],
                rule: Some(RuleRef {
                    number: 1,
                    path: "/health".into()
                }),
                response_headers: vec![],
            }
        );
        assert_eq!(
            status(&run(
                "GET",
                "/elsewhere",
                &[("authorization", "Bearer k-123")],
                0
            )),
            403
        );
    }

    #[test]
    fn methods_are_checked_by_filters_and_by_rules() {
        let d = run("DELETE", "/items/1", &[], 0);
        assert_eq!(status(&d), 405);
        assert_eq!(header_of(&d, "allow").unwrap(), "GET, POST, OPTIONS");
        let d = run("POST", "/health", &[], 0);
        assert_eq!(status(&d), 405);
        assert_eq!(header_of(&d, "allow").unwrap(), "GET");
    }

    #[test]
    fn body_size_and_media_type_are_filtered() {
        let json = ("content-type", "application/json; charset=utf-8");
        assert_eq!(status(&run("POST", "/items", &[json], 9)), 413);
        assert_eq!(
            status(&run(
                "POST",
                "/items",
                &[json, ("content-length", "100")],
                0
            )),
            413
        );
        assert_eq!(
            status(&run("POST", "/items", &[("content-type", "text/xml")], 3)),
            415
        );
        assert_eq!(status(&run("POST", "/items", &[], 3)), 415);
    }

    #[test]
    fn preflight_answers_with_the_configured_headers() {
        let h = [
            ("origin", "https://app.example"),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "Authorization, Content-Type",
            ),
        ];
        let d = run("OPTIONS", "/items/1", &h, 0);
        assert_eq!(status(&d), 204);
        assert_eq!(
            header_of(&d, "access-control-allow-origin").unwrap(),
            "https://app.example"
        );
        assert_eq!(
            header_of(&d, "access-control-allow-methods").unwrap(),
            "GET, POST"
        );
        assert_eq!(header_of(&d, "access-control-max-age").unwrap(), "300");
        let evil = [
            ("origin", "https://evil.example"),
            ("access-control-request-method", "POST"),
        ];
        assert_eq!(status(&run("OPTIONS", "/items/1", &evil, 0)), 403);
    }

    #[test]
    fn paths_that_could_escape_a_rule_are_refused() {
        for path in [
            "/health/../items",
            "/items/%2e%2e/x",
            "//items",
            "items",
            "/a%2Fb",
            "/x/./y",
        ] {
            assert_eq!(status(&run("GET", path, &[], 0)), 400, "{path}");
        }
    }

    #[test]
    fn messages_are_accepted_by_subject_only() {
        let env = env();
        let message = |subject, len| {
            decide(
                &policy(),
                &RequestView {
                    trigger: Trigger::Messaging(subject),
                    method: "POST",
                    path: "/",
                    headers: &[],
                    body_len: len,
                    function: None,
                },
                &env,
            )
        };
        let Decision::Forward { caller, .. } = message("orders.created", 2) else {
            panic!("denied")
        };
        assert_eq!(caller.unwrap().scheme, "broker");
        assert_eq!(status(&message("payments.created", 2)), 403);
        assert_eq!(status(&message("orders.created", 9)), 413);
        assert!(subject_matches("orders.>", "orders.eu.created"));
        assert!(!subject_matches("orders.>", "orders"));
        assert!(!subject_matches("orders.*", "orders.eu.created"));
    }

    #[test]
    fn a_function_claiming_the_messaging_trigger_is_decided_as_a_function_call() {
        // A calling function's code chooses the trigger it sends; only its gate-set name counts.
        let env = env();
        let call = |function, method, path| {
            decide(
                &policy(),
                &RequestView {
                    trigger: Trigger::Messaging("orders.created"),
                    method,
                    path,
                    headers: &[],
                    body_len: 0,
                    function,
                },
                &env,
            )
        };
        // No rule for the path: refused, where the message alone would have been forwarded.
        assert_eq!(status(&call(Some("checkout"), "GET", "/admin/users")), 403);
        assert_eq!(status(&call(Some("intruder"), "GET", "/items/1")), 401);
        let Decision::Forward { caller, .. } = call(Some("checkout"), "GET", "/items/1") else {
            panic!("denied")
        };
        let caller = caller.unwrap();
        assert_eq!(
            (caller.scheme, caller.scopes),
            ("function", vec!["read".to_string()])
        );
        assert!(matches!(
            call(None, "GET", "/admin/users"),
            Decision::Forward { .. }
        ));
    }

    #[test]
    fn path_patterns() {
        assert!(path_matches("/health", "/health?x=1"));
        assert!(!path_matches("/health", "/health/x"));
        assert!(path_matches("/items/*", "/items/42"));
        assert!(!path_matches("/items/*", "/items/"));
        assert!(!path_matches("/items/*", "/items/4/2"));
        assert!(path_matches("/items/**", "/items"));
        assert!(path_matches("/items/**", "/items/4/2"));
        assert!(path_matches("/**", "/"));
        assert!(path_matches("/", "/"));
        assert!(!path_matches("/", "/a"));
    }

    #[test]
    fn a_trailing_slash_is_matched_as_the_path_without_it() {
        // The second review: rule `/admin` did not match `/admin/`, so a catch-all let it in.
        assert!(path_matches("/admin", "/admin/"));
        assert!(path_matches("/admin", "/admin/?x=1"));
        assert!(path_matches("/admin/", "/admin"));
        assert!(path_matches("/admin/**", "/admin/"));
        assert!(!path_matches("/admin/*", "/admin/"));
        assert!(!path_matches("/admin", "/admin/x/"));
        // `*` is one non-empty segment, wherever it is.
        assert!(!path_matches("/admin/*/x", "/admin//x"));
        assert!(path_matches("/", "/?q=1"));
        assert!(path_matches("/**", "/"));
        let mut policy = policy();
        policy.rules.insert(
            0,
            Rule {
                methods: vec![],
                path: "/items".into(),
                access: Access::Scopes(vec!["admin".into()]),
                signed: false,
            },
        );
        for path in ["/items", "/items/", "/items/?a=1"] {
            let d = run_under(
                &policy,
                "GET",
                path,
                &[("authorization", "Bearer k-123")],
                0,
            );
            assert_eq!(status(&d), 403, "{path}");
        }
    }

    #[test]
    fn methods_that_are_not_upper_case_tokens_are_refused_before_routing() {
        for method in ["delete", "Delete", "GeT", "", "GET /", "GET\0"] {
            let d = run(method, "/items/1", &[("authorization", "Bearer k-123")], 0);
            assert_eq!(status(&d), 400, "{method:?}");
        }
        assert!(method_is_canonical("M-SEARCH"));
        assert!(!method_is_canonical("m-search"));
    }

    #[test]
    fn paths_with_two_spellings_are_refused() {
        for path in [
            "/%61dmin/x",
            "/admin;x=1/x",
            "/health/..;/admin/x",
            "/admin%20/x",
            "/admin%252fx",
            "/admin%3F/x",
            "/admin%23",
            "/caf%c3%a9",
            "/%C0%AE%C0%AE/admin",
            "/a b",
            "/a%2",
        ] {
            assert!(path_problem(path).is_some(), "{path}");
            assert_eq!(status(&run("GET", path, &[], 0)), 400, "{path}");
        }
        for path in [
            "/",
            "/items/",
            "/caf%C3%A9",
            "/a:b@c/~x_y-z.json",
            "/q?x=%20;y",
            "/%7B%7D",
        ] {
            assert_eq!(path_problem(path), None, "{path}");
        }
    }

    #[test]
    fn refusals_say_why_and_under_which_rule() {
        let Decision::Refuse(r) = run("GET", "/items/1", &[("authorization", "Bearer nope")], 0)
        else {
            panic!("forwarded")
        };
        assert_eq!(r.describe(), "401 unknown API key; rule 2 (/items/**)");
        let Decision::Refuse(r) = run(
            "GET",
            "/items/1",
            &[("authorization", "Bearer other-key")],
            0,
        ) else {
            panic!("forwarded")
        };
        assert_eq!(
            r.describe(),
            "403 wrong scope: lacks read; rule 2 (/items/**); subject \"other\""
        );
    }

    #[test]
    fn two_content_types_are_refused() {
        let h = [
            ("authorization", "Bearer k-123"),
            ("content-type", "application/json"),
            ("content-type", "text/xml"),
        ];
        assert_eq!(status(&run("POST", "/items", &h, 2)), 400);
    }

    #[test]
    fn cors_headers_appear_once() {
        let mut headers = vec![
            ("Access-Control-Allow-Origin".to_string(), "*".to_string()),
            ("vary".to_string(), "accept-encoding".to_string()),
            ("Vary".to_string(), "Origin".to_string()),
        ];
        let cors = vec![
            (
                "access-control-allow-origin".to_string(),
                "https://app.example".to_string(),
            ),
            ("vary".to_string(), "origin".to_string()),
        ];
        apply_cors(&mut headers, cors.clone());
        apply_cors(&mut headers, cors);
        assert_eq!(
            headers,
            vec![
                (
                    "access-control-allow-origin".to_string(),
                    "https://app.example".to_string()
                ),
                ("vary".to_string(), "accept-encoding, Origin".to_string()),
            ]
        );
        // A refused preflight carries no CORS header, even for an allowed origin.
        let h = [
            ("origin", "https://app.example"),
            ("access-control-request-method", "DELETE"),
        ];
        let Decision::Refuse(r) = run("OPTIONS", "/items/1", &h, 0) else {
            panic!("allowed")
        };
        assert!(!r.cors);
    }

    /// The sample policy with a signed webhook route and limits, decided with `env`.
    fn run_extended(
        path: &str,
        headers: &[(&str, &str)],
        signature: Result<(), String>,
        counts: &dyn Fn(u32, &str, u64) -> Result<u64, String>,
    ) -> Decision {
        let mut policy = policy();
        policy.hmac = Some(crate::Hmac {
            header: "x-hub-signature-256".into(),
            format: crate::SignatureFormat::Prefixed {
                prefix: "sha256=".into(),
                encoding: crate::DigestEncoding::Hex,
            },
            algorithm: crate::HmacAlgorithm::Sha256,
            secret: "hook".into(),
            subject: "github".into(),
        });
        policy.rules.push(Rule {
            methods: vec![],
            path: "/hooks/*".into(),
            access: Access::Public,
            signed: true,
        });
        policy.rules.push(Rule {
            methods: vec![],
            path: "/signed-and-keyed".into(),
            access: Access::Scopes(vec!["read".into()]),
            signed: true,
        });
        policy.limits = vec![
            crate::Limit {
                path: "/items/**".into(),
                methods: vec![],
                requests: 2,
                window_seconds: 60,
                key: LimitKey::Subject,
            },
            crate::Limit {
                path: "/**".into(),
                methods: vec!["GET".into()],
                requests: 10,
                window_seconds: 1,
                key: LimitKey::Header("x-tenant".into()),
            },
        ];
        let headers = owned(headers);
        let signature = move || signature.clone();
        decide(
            &policy,
            &RequestView {
                trigger: Trigger::Http,
                method: "GET",
                path,
                headers: &headers,
                body_len: 0,
                function: None,
            },
            &Environment {
                verify_jwt: &no_jwt,
                verify_signature: &signature,
                count: counts,
                now_seconds: 1_000_030,
            },
        )
    }

    #[test]
    fn a_signed_route_needs_a_valid_signature_and_then_its_own_credentials() {
        let counts = |_: u32, _: &str, _: u64| Ok(1);
        let d = run_extended("/hooks/push", &[], Err("no header".into()), &counts);
        assert_eq!(status(&d), 401);
        let Decision::Refuse(r) = &d else { panic!() };
        assert_eq!(r.reason, "invalid signature: no header");
        let Decision::Forward { caller, .. } = run_extended("/hooks/push", &[], Ok(()), &counts)
        else {
            panic!("refused")
        };
        let caller = caller.unwrap();
        assert_eq!((caller.subject.as_str(), caller.scheme), ("github", "hmac"));
        // Beside a key: the signature alone is not enough, nor the key alone.
        let key = [("authorization", "Bearer k-123")];
        assert_eq!(
            status(&run_extended("/signed-and-keyed", &[], Ok(()), &counts)),
            401
        );
        assert_eq!(
            status(&run_extended(
                "/signed-and-keyed",
                &key,
                Err("bad".into()),
                &counts
            )),
            401
        );
        let Decision::Forward { caller, .. } =
            run_extended("/signed-and-keyed", &key, Ok(()), &counts)
        else {
            panic!("refused")
        };
        assert_eq!(caller.unwrap().scheme, "api-key");
    }

    #[test]
    fn limits_count_by_their_key_and_refuse_past_the_limit_with_retry_after() {
        let seen = core::cell::RefCell::new(Vec::new());
        let counted = core::cell::Cell::new(0);
        let counts = |index: u32, key: &str, window: u64| {
            seen.borrow_mut().push((index, key.to_string(), window));
            Ok(counted.get())
        };
        let key = [("authorization", "Bearer k-123"), ("x-tenant", "t1")];
        counted.set(2);
        let d = run_extended("/items/1", &key, Ok(()), &counts);
        let Decision::Forward {
            response_headers, ..
        } = &d
        else {
            panic!("refused: {d:?}")
        };
        // Both limits counted; the headers are the tighter one's (0 of 2 left, 50 s to go).
        assert_eq!(
            *seen.borrow(),
            vec![
                (0, "reader".to_string(), 16_667),
                (1, "t1".to_string(), 1_000_030)
            ]
        );
        assert_eq!(
            response_headers,
            &vec![
                ("ratelimit-limit".to_string(), "2".to_string()),
                ("ratelimit-remaining".to_string(), "0".to_string()),
                ("ratelimit-reset".to_string(), "50".to_string()),
            ]
        );
        counted.set(3);
        let d = run_extended("/items/1", &key, Ok(()), &counts);
        assert_eq!(status(&d), 429);
        assert_eq!(header_of(&d, "retry-after").unwrap(), "50");
        let Decision::Refuse(r) = &d else { panic!() };
        assert_eq!(r.subject.as_deref(), Some("reader"));
        assert_eq!(r.rule.as_ref().unwrap().number, 2);
        // A route no limit covers is not counted; a refused request is not counted.
        seen.borrow_mut().clear();
        run_extended("/items/1", &[], Ok(()), &counts);
        assert!(seen.borrow().is_empty());
    }

    #[test]
    fn a_caller_a_header_cannot_carry_exactly_is_refused() {
        let forward_as = |subject: &str, scopes: &[&str]| {
            carried_in_headers(Decision::Forward {
                caller: Some(Caller {
                    subject: subject.into(),
                    scopes: scopes.iter().map(|s| s.to_string()).collect(),
                    claims: vec![],
                    scheme: "jwt",
                }),
                strip_headers: vec![],
                rule: None,
                response_headers: vec![],
            })
        };
        for subject in ["a\nb", "a\0b", "a\u{7f}", "a\u{9b}b", "", " a", "a\t"] {
            assert_eq!(status(&forward_as(subject, &[])), 401, "{subject:?}");
        }
        for scope in ["billing admin", "", "a\"b", "caf\u{e9}", "a\\b"] {
            let d = forward_as("alice", &["read", scope]);
            assert_eq!(status(&d), 401, "{scope:?}");
            let Decision::Refuse(r) = d else { panic!() };
            assert_eq!(r.subject.as_deref(), Some("alice"));
        }
        for (subject, scopes) in [
            ("alice", &["read", "orders:write"][..]),
            ("José Q", &[][..]),
        ] {
            assert!(
                matches!(forward_as(subject, scopes), Decision::Forward { .. }),
                "{subject}"
            );
        }
        // A public route's answer, and refusals, pass through untouched.
        assert!(matches!(
            carried_in_headers(forward(None, vec![])),
            Decision::Forward { caller: None, .. }
        ));
    }

    #[test]
    fn a_repeated_limit_key_header_is_refused_uncounted() {
        // Behind a proxy that appends its own line, the first line is the client's choice.
        let seen = core::cell::RefCell::new(Vec::new());
        let counts = |index: u32, key: &str, _: u64| {
            seen.borrow_mut().push((index, key.to_string()));
            Ok(1)
        };
        let headers = [
            ("authorization", "Bearer k-123"),
            ("x-tenant", "chosen"),
            ("x-tenant", "proxy"),
        ];
        let d = run_extended("/items/1", &headers, Ok(()), &counts);
        assert_eq!(status(&d), 400);
        let Decision::Refuse(r) = &d else { panic!() };
        assert!(r.reason.contains("repeated x-tenant"), "{}", r.reason);
        assert!(!seen.borrow().iter().any(|(index, _)| *index == 1));
    }

    #[test]
    fn a_limit_that_cannot_count_denies() {
        let key = [("authorization", "Bearer k-123")];
        let d = run_extended("/items/1", &key, Ok(()), &no_store);
        assert_eq!(status(&d), 503);
        let Decision::Refuse(r) = &d else { panic!() };
        assert!(r.reason.contains("cannot count"), "{}", r.reason);
    }

    fn from_function(id: &str, path: &str) -> Decision {
        decide(
            &policy(),
            &RequestView {
                trigger: Trigger::Http,
                method: "GET",
                path,
                headers: &[("authorization".to_string(), "Bearer k-123".to_string())],
                body_len: 0,
                function: Some(id),
            },
            &env(),
        )
    }

    #[test]
    fn a_function_caller_holds_its_own_grant_and_never_a_forwarded_credential() {
        let Decision::Forward { caller, .. } = from_function("checkout", "/items/1") else {
            panic!("refused")
        };
        let caller = caller.unwrap();
        assert_eq!(
            (caller.subject.as_str(), caller.scheme),
            ("checkout", "function")
        );
        assert_eq!(caller.scopes, vec!["read".to_string()]);
        // Another function is unknown here, even with a valid key in its request.
        let d = from_function("cart", "/items/1");
        assert_eq!(status(&d), 401);
        let Decision::Refuse(r) = &d else { panic!() };
        assert_eq!(r.subject.as_deref(), Some("cart"));
        // Public routes are public to functions too.
        assert!(matches!(
            from_function("cart", "/health"),
            Decision::Forward { caller: None, .. }
        ));
    }

    /// Pins of single decisions the mutation check found unpinned (see docs/development.md).
    mod pins;
}
