//! One test per decision a mutant of the engine could change unnoticed: which scheme carries a
//! credential, which headers never reach the function, which limit's headers an answer carries,
//! where a size limit ends, what a CORS answer or a refusal's reason and body say. Each test
//! names the behaviour; the mutants it kills are listed by `cargo mutants` (docs/development.md).

use super::*;
use crate::{Hmac, Jwt, Limit};

/// A JWT verifier that knows one token, `a.b.c`, for `alice` holding `read`.
fn alice(token: &str) -> Result<crate::jwt::VerifiedToken, String> {
    if token == "a.b.c" {
        Ok(crate::jwt::VerifiedToken {
            subject: "alice".into(),
            scopes: vec!["read".into()],
            claims: vec![],
        })
    } else {
        Err("unknown token".into())
    }
}

/// A `[auth.jwt]` section: the engine only needs it present (tokens are verified by [`alice`]).
fn a_jwt_section() -> Jwt {
    Jwt {
        hs256_secret: Some("jwt-secret".into()),
        ..Jwt::default()
    }
}

fn github() -> Hmac {
    Hmac {
        header: "x-hub-signature-256".into(),
        format: crate::SignatureFormat::Prefixed {
            prefix: "sha256=".into(),
            encoding: crate::DigestEncoding::Hex,
        },
        algorithm: crate::HmacAlgorithm::Sha256,
        secret: "hook".into(),
        subject: "github".into(),
    }
}

/// Decides a GET under `policy` with the JWT verifier [`alice`], every signature valid and every
/// limit counting `counts(limit index)`.
fn decide_with(
    policy: &Policy,
    path: &str,
    headers: &[(&str, &str)],
    function: Option<&str>,
    counts: &dyn Fn(u32, &str, u64) -> Result<u64, String>,
) -> Decision {
    let headers = owned(headers);
    decide(
        policy,
        &RequestView {
            trigger: Trigger::Http,
            method: "GET",
            path,
            headers: &headers,
            body_len: 0,
            function,
        },
        &Environment {
            verify_jwt: &alice,
            verify_signature: &|| Ok(()),
            count: counts,
            now_seconds: 1_000_030,
        },
    )
}

fn with_jwt(api_key_header: &str) -> Policy {
    let mut policy = policy();
    policy.api_key_header = api_key_header.into();
    policy.jwt = Some(a_jwt_section());
    policy
}

/// The caller forwarded, as (subject, scheme), or the status of the answer.
fn outcome(d: &Decision) -> Result<(String, &'static str), u16> {
    match d {
        Decision::Forward {
            caller: Some(c), ..
        } => Ok((c.subject.clone(), c.scheme)),
        other => Err(status(other)),
    }
}

fn forwarded(subject: &str, scheme: &'static str) -> Result<(String, &'static str), u16> {
    Ok((subject.to_string(), scheme))
}

#[test]
fn only_the_bearer_scheme_in_any_case_carries_a_key_or_a_jwt_in_authorization() {
    let policy = with_jwt("authorization");
    let call = |value: &str| {
        outcome(&decide_with(
            &policy,
            "/items/1",
            &[("authorization", value)],
            None,
            &|_, _, _| Ok(1),
        ))
    };
    for value in [
        "Bearer a.b.c",
        "bearer a.b.c",
        "BEARER a.b.c",
        "BeArEr   a.b.c  ",
    ] {
        assert_eq!(call(value), forwarded("alice", "jwt"), "{value}");
    }
    // A token without dots is an API key, even when JWTs are accepted.
    for value in ["Bearer k-123", "bearer k-123"] {
        assert_eq!(call(value), forwarded("reader", "api-key"), "{value}");
    }
    for value in [
        "Token a.b.c",
        "JWT a.b.c",
        "Basic a.b.c",
        "a.b.c",
        "Bearera.b.c",
        "Token k-123",
        "ApiKey k-123",
        "k-123",
        "Bearer",
        "Bearer ",
    ] {
        assert_eq!(call(value), Err(401), "{value}");
    }
}

#[test]
fn a_jwt_only_policy_reads_the_bearer_token_once_and_nothing_else() {
    let mut policy = with_jwt("authorization");
    policy.api_keys.clear();
    let call = |headers: &[(&str, &str)]| {
        decide_with(&policy, "/items/1", headers, None, &|_, _, _| Ok(1))
    };
    assert_eq!(
        outcome(&call(&[("authorization", "Bearer a.b.c")])),
        forwarded("alice", "jwt")
    );
    for value in ["Token a.b.c", "a.b.c", "Bearer k-123"] {
        let d = call(&[("authorization", value)]);
        assert_eq!(status(&d), 401, "{value}");
        assert_eq!(
            header_of(&d, "www-authenticate").as_deref(),
            Some("Bearer realm=\"faas\""),
            "{value}"
        );
    }
    assert_eq!(status(&call(&[("x-api-key", "Bearer a.b.c")])), 401);
    let twice = [
        ("authorization", "Bearer a.b.c"),
        ("authorization", "Bearer a.b.c"),
    ];
    assert_eq!(status(&call(&twice)), 400);
}

#[test]
fn with_a_custom_key_header_authorization_carries_only_a_bearer_jwt() {
    let policy = with_jwt("x-api-key");
    let call = |headers: &[(&str, &str)]| {
        outcome(&decide_with(
            &policy,
            "/items/1",
            headers,
            None,
            &|_, _, _| Ok(1),
        ))
    };
    assert_eq!(
        call(&[("authorization", "Bearer a.b.c")]),
        forwarded("alice", "jwt")
    );
    assert_eq!(
        call(&[("x-api-key", "k-123")]),
        forwarded("reader", "api-key")
    );
    for headers in [
        &[("authorization", "Token a.b.c")][..],
        &[("authorization", "Bearer k-123")],
        &[("x-api-key", "Bearer k-123")],
        &[("x-api-key", "a.b.c")],
    ] {
        assert_eq!(call(headers), Err(401), "{headers:?}");
    }
}

/// Every combination of key header, `[auth.jwt]` and `[auth.hmac]`, on a public, a signed and a
/// scoped route and for a calling function: the function never sees a credential header.
#[test]
fn no_credential_header_reaches_the_function_under_any_policy() {
    for key_header in ["authorization", "x-api-key"] {
        for jwt in [false, true] {
            for hmac in [false, true] {
                let mut policy = policy();
                policy.api_key_header = key_header.into();
                policy.jwt = jwt.then(a_jwt_section);
                policy.hmac = hmac.then(github);
                policy.rules.push(Rule {
                    methods: vec![],
                    path: "/hooks/*".into(),
                    access: Access::Public,
                    signed: true,
                });
                let mut expected = vec!["authorization", "proxy-authorization", key_header];
                if hmac {
                    expected.push("x-hub-signature-256");
                }
                expected.sort_unstable();
                expected.dedup();
                let key = if key_header == "authorization" {
                    "Bearer k-123"
                } else {
                    "k-123"
                };
                let mut requests = vec![
                    ("/health", vec![(key_header, key)], None),
                    ("/items/1", vec![(key_header, key)], None),
                    ("/items/1", vec![], Some("checkout")),
                    ("/health", vec![], Some("checkout")),
                ];
                if jwt {
                    requests.push(("/items/1", vec![("authorization", "Bearer a.b.c")], None));
                }
                if hmac {
                    requests.push((
                        "/hooks/push",
                        vec![("x-hub-signature-256", "sha256=00")],
                        None,
                    ));
                }
                for (path, headers, function) in requests {
                    let case = format!(
                        "{key_header}, jwt {jwt}, hmac {hmac}: {path} {headers:?} from {function:?}"
                    );
                    let d = decide_with(&policy, path, &headers, function, &|_, _, _| Ok(1));
                    let Decision::Forward { strip_headers, .. } = d else {
                        panic!("{case}: refused: {d:?}")
                    };
                    let mut stripped: Vec<&str> =
                        strip_headers.iter().map(String::as_str).collect();
                    stripped.sort_unstable();
                    assert_eq!(stripped, expected, "{case}");
                }
            }
        }
    }
}

fn limit(path: &str, methods: &[&str], requests: u32, window_seconds: u32) -> Limit {
    Limit {
        path: path.into(),
        methods: methods.iter().map(|m| m.to_string()).collect(),
        requests,
        window_seconds,
        key: LimitKey::Global,
    }
}

fn response_headers(d: &Decision) -> Vec<(String, String)> {
    match d {
        Decision::Forward {
            response_headers, ..
        } => response_headers.clone(),
        other => panic!("not forwarded: {other:?}"),
    }
}

fn ratelimit(limit: u32, remaining: u64, reset: u64) -> Vec<(String, String)> {
    vec![
        ("ratelimit-limit".into(), limit.to_string()),
        ("ratelimit-remaining".into(), remaining.to_string()),
        ("ratelimit-reset".into(), reset.to_string()),
    ]
}

#[test]
fn a_limit_counts_only_requests_on_its_path_and_its_methods() {
    let mut policy = policy();
    // Neither applies to `GET /items/1`: another method, another path. Counting would fail (503).
    policy.limits = vec![
        limit("/items/**", &["POST"], 5, 60),
        limit("/other/**", &["GET"], 5, 60),
    ];
    let no_count = |_: u32, _: &str, _: u64| Err("counted".to_string());
    let d = decide_with(
        &policy,
        "/items/1",
        &[("authorization", "Bearer k-123")],
        None,
        &no_count,
    );
    assert_eq!(response_headers(&d), vec![]);
}

#[test]
fn the_answer_carries_the_headers_of_the_limit_closest_to_its_end() {
    let mut policy = policy();
    let key = [("authorization", "Bearer k-123")];
    // 10 per minute with 3 counted (7 left) and 5 per second with 3 counted (2 left): the second.
    policy.limits = vec![limit("/**", &[], 10, 60), limit("/items/**", &[], 5, 1)];
    let d = decide_with(&policy, "/items/1", &key, None, &|_, _, _| Ok(3));
    assert_eq!(response_headers(&d), ratelimit(5, 2, 1));
    // Tightest first: it stays the one shown.
    policy.limits.reverse();
    let d = decide_with(&policy, "/items/1", &key, None, &|_, _, _| Ok(3));
    assert_eq!(response_headers(&d), ratelimit(5, 2, 1));
    // Two limits equally close: the first one's headers (50 s to its minute's end).
    policy.limits = vec![limit("/**", &[], 10, 60), limit("/items/**", &[], 5, 1)];
    let counts = |index: u32, _: &str, _: u64| Ok(if index == 0 { 8 } else { 3 });
    let d = decide_with(&policy, "/items/1", &key, None, &counts);
    assert_eq!(response_headers(&d), ratelimit(10, 2, 50));
    // The last request a limit allows passes with nothing left; one more is a 429.
    let d = decide_with(&policy, "/items/1", &key, None, &|_, _, _| Ok(5));
    assert_eq!(response_headers(&d), ratelimit(5, 0, 1));
    let d = decide_with(&policy, "/items/1", &key, None, &|_, _, _| Ok(6));
    assert_eq!(status(&d), 429);
}

#[test]
fn a_body_or_message_of_exactly_max_body_bytes_passes() {
    let key = ("authorization", "Bearer k-123");
    let json = ("content-type", "application/json");
    // max-body-bytes is 8 in these tests.
    assert_eq!(status(&run("POST", "/items/1", &[key, json], 8)), 0);
    assert_eq!(status(&run("POST", "/items/1", &[key, json], 9)), 413);
    let declared = |len| [key, json, ("content-length", len)];
    assert_eq!(status(&run("POST", "/items/1", &declared("8"), 0)), 0);
    assert_eq!(status(&run("POST", "/items/1", &declared("9"), 0)), 413);
    let message = |len| {
        decide(
            &policy(),
            &RequestView {
                trigger: Trigger::Messaging("orders.created"),
                method: "POST",
                path: "/",
                headers: &[],
                body_len: len,
                function: None,
            },
            &env(),
        )
    };
    assert!(matches!(message(8), Decision::Forward { .. }));
    assert_eq!(status(&message(9)), 413);
}

#[test]
fn a_wildcard_token_of_a_subject_is_never_empty() {
    for (pattern, subject, expected) in [
        ("orders.*", "orders.created", true),
        ("orders.*", "orders.", false),
        ("orders.*", "orders", false),
        ("orders.*", "orders.a.b", false),
        ("orders.>", "orders.a.b", true),
        ("orders.>", "orders.", false),
        ("orders.created", "orders.created", true),
        ("a..b", "a..b", false),
    ] {
        assert_eq!(
            subject_matches(pattern, subject),
            expected,
            "{pattern} {subject}"
        );
    }
}

fn preflight_reason(headers: &[(&str, &str)]) -> String {
    match run("OPTIONS", "/items/1", headers, 0) {
        Decision::Refuse(r) => {
            assert!(!r.cors, "a refused preflight carries no CORS header");
            r.reason
        }
        other => panic!("not refused: {other:?}"),
    }
}

#[test]
fn a_refused_preflight_says_which_part_was_not_allowed() {
    let origin = ("origin", "https://app.example");
    let get = ("access-control-request-method", "GET");
    assert_eq!(
        preflight_reason(&[("origin", "https://evil.example"), get]),
        "CORS preflight: origin not allowed"
    );
    assert_eq!(
        preflight_reason(&[origin, ("access-control-request-method", "DELETE")]),
        "CORS preflight: method not allowed"
    );
    assert_eq!(
        preflight_reason(&[origin, get, ("access-control-request-headers", "x-secret")]),
        "CORS preflight: request headers not allowed"
    );
}

#[test]
fn a_preflight_lists_allowed_headers_only_when_there_are_some() {
    let request = [
        ("origin", "https://app.example"),
        ("access-control-request-method", "GET"),
    ];
    let d = run("OPTIONS", "/items/1", &request, 0);
    assert_eq!(
        header_of(&d, "access-control-allow-headers").as_deref(),
        Some("authorization, content-type")
    );
    let mut policy = policy();
    policy.cors.as_mut().unwrap().headers.clear();
    let d = run_under(&policy, "OPTIONS", "/items/1", &request, 0);
    assert_eq!(status(&d), 204);
    assert_eq!(header_of(&d, "access-control-allow-headers"), None);
}

#[test]
fn cors_headers_go_to_an_allowed_origin_only() {
    let policy = policy();
    let allowed = owned(&[("accept", "*/*"), ("origin", "https://app.example")]);
    assert_eq!(
        cors_headers(&policy, &allowed),
        owned(&[
            ("access-control-allow-origin", "https://app.example"),
            ("vary", "origin"),
        ])
    );
    for request in [
        owned(&[("origin", "https://evil.example")]),
        owned(&[("x-origin", "https://app.example")]),
        owned(&[]),
    ] {
        assert_eq!(cors_headers(&policy, &request), vec![], "{request:?}");
    }
    let mut any = policy.clone();
    any.cors.as_mut().unwrap().origins = vec!["*".into()];
    let evil = owned(&[("origin", "https://evil.example")]);
    assert_eq!(
        cors_headers(&any, &evil),
        owned(&[
            ("access-control-allow-origin", "https://evil.example"),
            ("vary", "origin"),
        ])
    );
    let mut none = policy;
    none.cors = None;
    assert_eq!(cors_headers(&none, &allowed), vec![]);
}

#[test]
fn vary_star_already_covers_origin() {
    let mut answer = owned(&[("vary", "*")]);
    apply_cors(&mut answer, owned(&[("vary", "origin")]));
    assert_eq!(answer, owned(&[("vary", "*")]));
    let mut answer = owned(&[("Vary", "Accept-Encoding")]);
    apply_cors(&mut answer, owned(&[("vary", "origin")]));
    assert_eq!(answer, owned(&[("vary", "Accept-Encoding, origin")]));
}

#[test]
fn a_path_s_refusal_names_what_is_wrong_with_it() {
    for (path, problem) in [
        ("/a%25b", Some("double percent-encoding")),
        ("/a%20b", Some("encoded space")),
        ("/a%2Fb", Some("encoded `/` or `\\`")),
        ("/a%5Cb", Some("encoded `/` or `\\`")),
        ("/a%00", Some("encoded control character")),
        ("/a%1F", Some("encoded control character")),
        ("/a%7F", Some("encoded control character")),
        (
            "/%61",
            Some("percent-encoded character that needs no encoding"),
        ),
        ("/%80", Some("encoded bytes that are not UTF-8")),
        (
            "/%2f",
            Some("percent-encoding is not `%` and two upper-case hex digits"),
        ),
        ("/a;b", Some("`;` path parameter")),
        ("/a b", Some("character not allowed in a path")),
        ("a", Some("path does not start with `/`")),
        ("/a//b", Some("empty, `.` or `..` path segment")),
        ("/%C3%A9", None),
        ("/%3C%7B", None),
        ("/a/b/?q=%zz", None),
    ] {
        assert_eq!(path_problem(path), problem, "{path}");
    }
}

#[test]
fn an_answer_s_body_names_the_kind_of_its_status() {
    for (status, kind) in [
        (400, "bad request"),
        (401, "unauthorized"),
        (403, "forbidden"),
        (404, "not found"),
        (405, "method not allowed"),
        (413, "payload too large"),
        (415, "unsupported media type"),
        (429, "too many requests"),
        (501, "not implemented"),
        (503, "unavailable"),
        (500, "internal"),
        (502, "internal"),
    ] {
        let answer = error_answer(status);
        assert_eq!(answer.status, status);
        assert_eq!(
            String::from_utf8(answer.body).unwrap(),
            format!("{{\"error\":\"{kind}\"}}")
        );
        assert_eq!(
            answer.headers,
            owned(&[("content-type", "application/json")])
        );
    }
}
