//! What must hold for every request and every policy, checked on generated ones (proptest), with
//! hostile inputs: control, C1 and bidi characters, percent-encodings, repeated and mixed-case
//! headers, huge values.
//!
//! `cargo test` runs a fixed number of cases per property from a fixed seed (a few seconds); a long
//! run raises both: `FAAS_PROPTEST_CASES=200000 FAAS_PROPTEST_SEED=$RANDOM cargo test --release -p
//! faas-policy-core --test properties`. A failing case is written to
//! `tests/properties.proptest-regressions` and replayed by every later run: commit it with its fix.

use faas_policy_core::audit::Event;
use faas_policy_core::jwt::VerifiedToken;
use faas_policy_core::{
    Access, ApiKey, AuditLevel, Cors, DigestEncoding, Filters, FunctionCaller, Grant, Hmac,
    HmacAlgorithm, Jwt, Limit, LimitKey, Messaging, Policy, RemoteJwks, Rule, SignatureFormat,
    ValueSource,
};
use faas_policy_core::{
    Caller, Decision, Environment, RequestView, Trigger, carried_in_headers, decide,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, RngSeed};
use sha2::{Digest, Sha256};
use std::cell::RefCell;

/// Cases per property: 256 in `cargo test`, `FAAS_PROPTEST_CASES` for a long run.
fn config() -> Config {
    let cases = std::env::var("FAAS_PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(256);
    let seed = std::env::var("FAAS_PROPTEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_fa45);
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..Config::default()
    }
}

/// Characters that have broken parsers and logs: controls, C1, bidi overrides, `%`, `/`, `.`,
/// quotes, backslashes, a non-ASCII letter, and ordinary ones.
const HOSTILE: &[char] = &[
    'a', 'b', 'Z', '0', '9', '-', '_', '.', '/', '%', '*', '?', '#', ' ', ':', '"', '\\', '\0',
    '\t', '\r', '\n', '\u{7f}', '\u{85}', '\u{9b}', '\u{202e}', '\u{2066}', 'é', '€',
];

fn hostile_text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(HOSTILE), 0..max).prop_map(String::from_iter)
}

/// The API keys a generated policy may hold (as clients send them).
const KEYS: &[&str] = &["k-1", "k-2", "k-3"];
const SCOPES: &[&str] = &["read", "write", "admin"];
const PATTERNS: &[&str] = &[
    "/health",
    "/items/**",
    "/admin/**",
    "/a/*/b",
    "/**",
    "/x",
    "/items/*",
];
const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"];

fn subset(pool: &'static [&'static str]) -> impl Strategy<Value = Vec<String>> {
    prop::sample::subsequence(pool, 0..=pool.len())
        .prop_map(|items| items.into_iter().map(String::from).collect())
}

fn non_empty_subset(pool: &'static [&'static str]) -> impl Strategy<Value = Vec<String>> {
    prop::sample::subsequence(pool, 1..=pool.len())
        .prop_map(|items| items.into_iter().map(String::from).collect())
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

fn access() -> impl Strategy<Value = Access> {
    prop_oneof![
        Just(Access::Public),
        subset(SCOPES).prop_map(Access::Scopes),
    ]
}

fn rule() -> impl Strategy<Value = Rule> {
    (
        non_empty_subset(METHODS),
        prop::sample::select(PATTERNS),
        access(),
    )
        .prop_map(|(methods, path, access)| Rule {
            methods,
            path: path.into(),
            access,
            signed: false,
        })
}

/// Policies the engine is run under: keys, rules, filters, CORS, messaging, callers; no JWT,
/// signatures or limits (the environment's verifiers refuse those).
fn policy() -> impl Strategy<Value = Policy> {
    (
        prop::sample::select(&["authorization", "x-api-key"][..]),
        prop::collection::vec(subset(SCOPES), KEYS.len()),
        non_empty_subset(METHODS),
        0u64..4096,
        prop::option::of(subset(&["https://app.example", "https://b.example"])),
        prop::collection::vec(rule(), 0..6),
        prop::option::of((
            non_empty_subset(&["orders.*", "orders.>", "a.b"]),
            subset(SCOPES),
        )),
        prop::sample::select(&[AuditLevel::All, AuditLevel::Refusals][..]),
    )
        .prop_map(
            |(header, key_scopes, methods, max_body, cors, rules, messaging, audit)| Policy {
                api_key_header: header.into(),
                api_keys: KEYS
                    .iter()
                    .zip(key_scopes)
                    .enumerate()
                    .map(|(i, (key, scopes))| ApiKey {
                        id: format!("client-{i}"),
                        digest: digest(key),
                        scopes,
                    })
                    .collect(),
                filters: Filters {
                    methods,
                    max_body_bytes: max_body,
                    required_headers: vec![],
                    content_types: vec![],
                },
                cors: cors.map(|origins| Cors {
                    origins,
                    methods: vec!["GET".into()],
                    headers: vec!["authorization".into()],
                    max_age: 60,
                }),
                rules,
                jwt: None,
                credentials: vec![],
                messaging: messaging.map(|(subjects, scopes)| Messaging { subjects, scopes }),
                hmac: None,
                limits: vec![],
                audit,
                functions: vec![FunctionCaller {
                    id: "checkout".into(),
                    scopes: vec!["read".into()],
                }],
            },
        )
}

/// Every field of the document set, with hostile text: what the codec must carry exactly.
fn full_policy() -> impl Strategy<Value = Policy> {
    (
        policy(),
        hostile_text(12),
        hostile_text(12),
        // The compiler refuses a lifetime of 0 (it would refuse every token); the document
        // writes "none" as 0.
        prop::option::of(1u32..1000),
        // A compiled limit's window is at least a second (the decoder refuses 0: a division).
        (any::<u32>(), 1..=u32::MAX, hostile_text(8)),
    )
        .prop_map(|(mut p, text, other, lifetime, (requests, window, name))| {
            p.jwt = Some(Jwt {
                issuers: vec![text.clone()],
                audiences: vec![other.clone()],
                algorithms: vec!["RS256".into(), "EdDSA".into()],
                leeway_seconds: 30,
                required_claims: vec![other.clone()],
                scopes_claim: "scope".into(),
                subject_claim: "sub".into(),
                max_token_bytes: 8192,
                max_lifetime_seconds: lifetime,
                hs256_secret: Some(other.clone()),
                jwks: vec![text.clone()],
                remote_jwks: Some(RemoteJwks {
                    uri: format!("https://{text}"),
                    cache_seconds: 300,
                    min_refresh_seconds: 30,
                }),
            });
            p.hmac = Some(Hmac {
                header: "x-signature".into(),
                format: SignatureFormat::Prefixed {
                    prefix: text.clone(),
                    encoding: DigestEncoding::Base64,
                },
                algorithm: HmacAlgorithm::Sha256,
                secret: other.clone(),
                subject: text.clone(),
            });
            p.limits = vec![Limit {
                path: "/**".into(),
                methods: vec![],
                requests,
                window_seconds: window,
                key: LimitKey::Header(name),
            }];
            p.credentials = vec![Grant {
                name: text,
                key: other,
                source: ValueSource::Config,
            }];
            p
        })
}

fn no_jwt(_: &str) -> Result<VerifiedToken, String> {
    Err("no tokens here".into())
}
fn no_signature() -> Result<(), String> {
    Err("no signatures here".into())
}
fn no_store(_: u32, _: &str, _: u64) -> Result<u64, String> {
    Err("no store here".into())
}

fn env() -> Environment<'static> {
    Environment {
        verify_jwt: &no_jwt,
        verify_signature: &no_signature,
        count: &no_store,
        now_seconds: 1_700_000_000,
    }
}

fn run(policy: &Policy, method: &str, path: &str, headers: &[(String, String)]) -> Decision {
    decide(
        policy,
        &RequestView {
            trigger: Trigger::Http,
            method,
            path,
            headers,
            body_len: 0,
            function: None,
        },
        &env(),
    )
}

/// What a client can tell apart: the status it gets, or that the function was called under
/// which rule and as whom.
fn outcome(decision: &Decision) -> String {
    match decision {
        Decision::Respond(answer) => format!("respond {}", answer.status),
        Decision::Refuse(refusal) => format!("refuse {}", refusal.answer.status),
        Decision::Forward { caller, rule, .. } => format!(
            "forward {:?} as {:?}",
            rule.as_ref().map(|r| r.number),
            caller.as_ref().map(|c| &c.subject)
        ),
    }
}

/// A path from segments of ordinary and hostile characters.
fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            prop::sample::select(&["items", "admin", "a", "b", "x", "health", "ITEMS"][..])
                .prop_map(String::from),
            hostile_text(4),
        ],
        0..5,
    )
    .prop_map(|segments| format!("/{}", segments.join("/")))
}

/// Another spelling of `path` a server might take for the same resource: a letter
/// percent-encoded, `/.`, `//` or `/x/..` inserted at a segment boundary, a trailing `/`, a query.
fn respelled(path: &str, how: u8, at: usize) -> String {
    let boundaries: Vec<usize> = path.match_indices('/').map(|(i, _)| i).collect();
    let boundary = boundaries[at % boundaries.len()];
    let letter_at = at % (path.len() + 1);
    let letter_at = (0..=letter_at)
        .rev()
        .find(|i| path.is_char_boundary(*i))
        .unwrap_or(0);
    match how % 6 {
        // A letter percent-encoded.
        0 => match path[letter_at..]
            .char_indices()
            .find(|(_, c)| c.is_ascii_alphanumeric())
        {
            Some((i, c)) => format!(
                "{}%{:02X}{}",
                &path[..letter_at + i],
                c as u32,
                &path[letter_at + i + c.len_utf8()..]
            ),
            None => format!("{path}?q=1"),
        },
        1 => format!("{}/.{}", &path[..boundary], &path[boundary..]),
        2 => format!("{}/{}", &path[..boundary], &path[boundary..]),
        3 => format!("{path}/"),
        4 => format!("{}/x/..{}", &path[..boundary], &path[boundary..]),
        _ => format!("{path}?q=1"),
    }
}

fn headers_of(pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    pairs
}

proptest! {
    #![proptest_config(config())]

    /// 1. The codec round-trips, and fails closed: arbitrary bytes, truncations and bit flips
    /// never panic, and a damaged document never decodes (so never allows more).
    #[test]
    fn the_codec_round_trips_and_fails_closed(
        policy in full_policy(),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
        cut in any::<prop::sample::Index>(),
        noise in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let bytes = policy.encode();
        let decoded = Policy::decode(&bytes);
        prop_assert_eq!(decoded.as_ref(), Ok(&policy));
        let mut flipped = bytes.clone();
        let at = flip.index(flipped.len());
        flipped[at] ^= 1 << bit;
        prop_assert!(Policy::decode(&flipped).is_err(), "bit {} of byte {} flipped: decoded", bit, at);
        let cut = cut.index(bytes.len());
        prop_assert!(Policy::decode(&bytes[..cut]).is_err());
        // Noise, and noise after a valid header: no panic, whatever it is.
        let _ = Policy::decode(&noise);
        let mut headed = bytes[..10].to_vec();
        headed.extend_from_slice(&noise);
        let _ = Policy::decode(&headed);
    }

    /// 2. One spelling: another spelling of a path is decided as the path itself, or refused;
    /// it never reaches another rule or another caller.
    #[test]
    fn one_spelling_of_a_path_is_one_decision(
        policy in policy(),
        path in path(),
        how in any::<u8>(),
        at in any::<usize>(),
        key in prop::sample::select(KEYS),
        method in prop::sample::select(METHODS),
    ) {
        let headers = vec![(policy.api_key_header.clone(), match policy.api_key_header.as_str() {
            "authorization" => format!("Bearer {key}"),
            _ => key.to_string(),
        })];
        let canonical = run(&policy, method, &path, &headers);
        let other = respelled(&path, how, at);
        let respelled_decision = run(&policy, method, &other, &headers);
        let same = outcome(&respelled_decision) == outcome(&canonical);
        let refused = matches!(&respelled_decision, Decision::Refuse(r) if r.answer.status == 400 || r.answer.status == 404);
        prop_assert!(
            same || refused || matches!(canonical, Decision::Refuse(_)) && !matches!(respelled_decision, Decision::Forward { .. }),
            "{} → {}; {} → {}", path, outcome(&canonical), other, outcome(&respelled_decision)
        );
    }

    /// 3. No credential, no entry: without a credential only a public rule lets a request
    /// through, and then with no caller; an unknown key never gets a subject.
    #[test]
    fn no_credential_no_entry(
        policy in policy(),
        path in path(),
        method in prop::sample::select(METHODS),
        names in prop::collection::vec(prop::sample::select(&["accept", "x-trace", "Authorization", "cookie", "x-api-key-2"][..]), 0..4),
        values in prop::collection::vec(hostile_text(20), 4),
        unknown in "[a-z0-9-]{1,40}",
    ) {
        prop_assume!(!KEYS.contains(&unknown.as_str()));
        // Names the policy does not read credentials from (lower-case, as adapters give them).
        let headers: Vec<(String, String)> = names
            .iter()
            .zip(values)
            .map(|(n, v)| (n.to_string(), v))
            .filter(|(n, _)| *n != policy.api_key_header)
            .collect();
        let decision = run(&policy, method, &path, &headers);
        if let Decision::Forward { caller, rule, .. } = &decision {
            prop_assert!(caller.is_none(), "{:?}", decision);
            let rule = rule.as_ref().expect("an HTTP request is forwarded under a rule");
            prop_assert_eq!(&policy.rules[rule.number - 1].access, &Access::Public);
        }
        let with_unknown = headers_of(vec![(policy.api_key_header.clone(), match policy.api_key_header.as_str() {
            "authorization" => format!("Bearer {unknown}"),
            _ => unknown.clone(),
        })]);
        let decision = run(&policy, method, &path, &with_unknown);
        if let Decision::Forward { caller, .. } = &decision {
            prop_assert!(caller.is_none(), "an unknown key got a subject: {:?}", decision);
        }
        if let Decision::Refuse(refusal) = &decision {
            prop_assert!(refusal.subject.is_none(), "{:?}", refusal);
        }
    }

    /// 4. Headers cannot forge a caller: whatever the client sends, in any case and repeated,
    /// the caller is one the policy knows, or none; what a header-carrying layer passes on is
    /// the decorator's caller, or a refusal.
    #[test]
    fn headers_cannot_forge_a_caller(
        policy in policy(),
        path in path(),
        method in prop::sample::select(METHODS),
        forged in prop::collection::vec((
            prop::sample::select(&["faas-caller-subject", "FAAS-Caller-Scopes", "faas-caller", "x-faas-subject", "authorization", "x-api-key"][..]),
            hostile_text(24),
        ), 0..6),
        key in prop::option::of(prop::sample::select(KEYS)),
    ) {
        let mut headers: Vec<(String, String)> =
            forged.into_iter().map(|(n, v)| (n.to_ascii_lowercase(), v)).collect();
        if let Some(key) = key {
            headers.retain(|(n, _)| *n != policy.api_key_header);
            headers.push((policy.api_key_header.clone(), match policy.api_key_header.as_str() {
                "authorization" => format!("Bearer {key}"),
                _ => key.to_string(),
            }));
        }
        let decision = run(&policy, method, &path, &headers);
        let known: Vec<&str> = policy.api_keys.iter().map(|k| k.id.as_str()).collect();
        if let Decision::Forward { caller: Some(Caller { subject, .. }), strip_headers, .. } = &decision {
            prop_assert!(known.contains(&subject.as_str()), "forged subject {}", subject);
            prop_assert!(strip_headers.contains(&policy.api_key_header), "{:?}", strip_headers);
        }
        if let Decision::Forward { caller: Some(caller), .. } = carried_in_headers(decision.clone()) {
            prop_assert!(known.contains(&caller.subject.as_str()));
        }
    }

    /// 5. An audit event is one line of valid JSON, with no raw control, C1 or bidi character,
    /// and never the credential.
    #[test]
    fn audit_events_are_one_line_of_json_without_credentials(
        policy in policy(),
        method in hostile_text(8),
        path in hostile_text(40),
        key in prop::sample::select(KEYS),
        subject in hostile_text(20),
        source in hostile_text(20),
    ) {
        let headers = vec![(policy.api_key_header.clone(), format!("Bearer {key}"))];
        let decision = run(&policy, &method, &path, &headers);
        let mut event = Event::for_decision(
            (1_700_000_000, 5),
            "http",
            Some(&method),
            Some(&path),
            Some(&source),
            None,
            &decision,
        );
        if event.subject.is_none() {
            event.subject = Some(&subject);
        }
        let line = event.to_json();
        prop_assert!(!line.contains('\n') && !line.contains('\r'), "{}", line);
        let bad = |c: char| (c as u32) < 0x20 || (0x7f..=0x9f).contains(&(c as u32))
            || ('\u{202a}'..='\u{202e}').contains(&c) || ('\u{2066}'..='\u{2069}').contains(&c);
        prop_assert!(!line.chars().any(bad), "{:?}", line);
        let parsed: serde_json::Value = serde_json::from_str(&line)
            .map_err(|e| TestCaseError::fail(format!("{e}: {line}")))?;
        prop_assert!(parsed.is_object());
        prop_assert!(!line.contains(key), "the credential is in the event: {}", line);
    }

    /// 7. Limits: one client is counted under one key, however it spells its limit key's
    /// header name (adapters give names in lower case) or repeats nothing.
    #[test]
    fn one_client_is_counted_under_one_key(
        value in "[A-Za-z0-9._-]{1,24}",
        path in prop::sample::select(&["/items/1", "/items/2", "/x"][..]),
    ) {
        let mut policy = Policy {
            api_key_header: "authorization".into(),
            api_keys: vec![],
            filters: Filters { methods: vec!["GET".into()], max_body_bytes: 0, required_headers: vec![], content_types: vec![] },
            cors: None,
            rules: vec![Rule { methods: vec!["GET".into()], path: "/**".into(), access: Access::Public, signed: false }],
            jwt: None,
            credentials: vec![],
            messaging: None,
            hmac: None,
            limits: vec![Limit { path: "/**".into(), methods: vec![], requests: 1000, window_seconds: 60, key: LimitKey::Header("x-client".into()) }],
            audit: AuditLevel::All,
            functions: vec![],
        };
        policy.filters.methods.push("POST".into());
        let seen: RefCell<Vec<String>> = RefCell::new(Vec::new());
        let count = |_: u32, key: &str, _: u64| {
            seen.borrow_mut().push(key.to_string());
            Ok(1)
        };
        let environment = Environment { verify_jwt: &no_jwt, verify_signature: &no_signature, count: &count, now_seconds: 1_700_000_000 };
        for spelled in [value.clone(), format!(" {value}"), format!("{value} ")] {
            let headers = vec![("x-client".to_string(), spelled)];
            let _ = decide(&policy, &RequestView { trigger: Trigger::Http, method: "GET", path, headers: &headers, body_len: 0, function: None }, &environment);
        }
        let keys = seen.borrow();
        prop_assert!(!keys.is_empty());
        prop_assert!(keys.iter().all(|k| *k == keys[0]), "one client, several counters: {:?}", keys);
    }
}

/// Property 6, tokens: under the tests' own HS256 key, a signed token with any byte changed never
/// verifies, and time or audience claims of the wrong type are refused.
#[cfg(feature = "verify")]
mod tokens {
    use super::*;
    use faas_policy_core::jwt;

    const SECRET: &str = "a-test-secret-of-at-least-thirty-two-bytes!";

    fn policy_jwt() -> Jwt {
        Jwt {
            issuers: vec!["https://issuer.example".into()],
            audiences: vec!["api".into()],
            algorithms: vec!["HS256".into()],
            leeway_seconds: 0,
            required_claims: vec![],
            scopes_claim: "scope".into(),
            subject_claim: "sub".into(),
            max_token_bytes: 8192,
            max_lifetime_seconds: None,
            hs256_secret: Some("jwt-secret".into()),
            jwks: vec![],
            remote_jwks: None,
        }
    }

    fn token(claims: &serde_json::Value) -> String {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            claims,
            &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap()
    }

    fn verify(token: &str) -> bool {
        let secret = |name: &str| (name == "jwt-secret").then(|| SECRET.to_string());
        jwt::verify(&policy_jwt(), token, 1_700_000_000, &secret).is_ok()
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn a_flipped_byte_of_a_signed_token_never_verifies(
            at in any::<prop::sample::Index>(),
            change in 1u8..=255,
        ) {
            let claims = serde_json::json!({
                "iss": "https://issuer.example", "aud": "api", "sub": "client",
                "exp": 1_700_000_600u64, "iat": 1_699_999_990u64,
            });
            let token = token(&claims);
            prop_assert!(verify(&token), "the unmodified token verifies");
            let mut bytes = token.clone().into_bytes();
            let at = at.index(bytes.len());
            // Always a different byte: no case is thrown away.
            bytes[at] ^= change;
            if let Ok(changed) = String::from_utf8(bytes) {
                prop_assert!(!verify(&changed), "{} verified", changed);
            }
        }

        #[test]
        fn time_and_audience_claims_of_the_wrong_type_are_refused(
            claim in prop::sample::select(&["exp", "nbf", "iat", "aud"][..]),
            value in prop_oneof![
                Just(serde_json::json!("1700000600")),
                Just(serde_json::json!(true)),
                Just(serde_json::json!({"v": 1})),
                Just(serde_json::json!(null)),
                Just(serde_json::json!(-1.5e300)),
                Just(serde_json::json!([[]])),
            ],
        ) {
            let mut claims = serde_json::json!({
                "iss": "https://issuer.example", "aud": "api", "sub": "client",
                "exp": 1_700_000_600u64, "iat": 1_699_999_990u64,
            });
            claims[claim] = value;
            prop_assert!(!verify(&token(&claims)), "{} accepted", claims);
        }
    }
}
