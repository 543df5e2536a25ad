//! What a gateway would otherwise do, done by the artifact: webhook signatures (`[auth.hmac]`),
//! rate limits shared by every instance (`[[limit]]`), one audit event per decision, and W3C trace
//! context. Signatures are computed by openssl, not by faas's code; the HTTP checks run under
//! `faas serve` and, where the host allows, under `wasmtime serve`.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const READER: &str = "Bearer test-reader-key";
const GITHUB_SECRET: &str = "It's a Secret to Everybody (32+ bytes)";
const STRIPE_SECRET: &str = "whsec_test_only_4e1f0123456789abcdef01";

/// The echo function wrapped with `fixtures/policies/gateway.toml` (for wasmCloud: the limits
/// need a key-value store), built once for the module.
fn gateway_artifact() -> &'static Path {
    static ARTIFACT: OnceLock<PathBuf> = OnceLock::new();
    ARTIFACT.get_or_init(|| {
        build_and_wrap_fixture(
            "e2e-gateway",
            "gateway-echo",
            "echo-request.rs",
            &policy_fixture("gateway.toml"),
            &["--target", "wasmcloud", "--triggers", "http"],
        )
    })
}

fn stripe_artifact() -> &'static Path {
    static ARTIFACT: OnceLock<PathBuf> = OnceLock::new();
    ARTIFACT.get_or_init(|| {
        build_and_wrap_fixture(
            "e2e-gateway-stripe",
            "stripe-echo",
            "echo-request.rs",
            &policy_fixture("stripe.toml"),
            &["--triggers", "http"],
        )
    })
}

fn serve(artifact: &Path, config: &str) -> Served {
    Served::start_with(artifact.parent().unwrap(), artifact, &["--config", config])
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn reached_the_function(r: &HttpResponse) -> bool {
    serde_json::from_slice::<serde_json::Value>(&r.body).is_ok_and(|v| v.get("method").is_some())
}

#[test]
fn github_signatures_are_checked_under_both_hosts_and_tampering_is_refused() {
    let artifact = gateway_artifact();
    let body = br#"{"action":"opened","number":1}"#;
    let signature = format!("sha256={}", openssl_hmac(GITHUB_SECRET, body));
    let check = |addr: &str, host: &str| {
        let signed = http(
            addr,
            "POST",
            "/hooks/github",
            &[("x-hub-signature-256", &signature)],
            body,
        );
        assert_eq!(signed.status, 200, "{host}");
        assert_eq!(signed.json()["caller"], "github", "{host}");
        // The signature header reaches the function: it is not a credential of the policy.
        let tampered = http(
            addr,
            "POST",
            "/hooks/github",
            &[("x-hub-signature-256", &signature)],
            br#"{"action":"opened","number":2}"#,
        );
        assert_eq!(tampered.status, 401, "{host}");
        assert!(!reached_the_function(&tampered), "{host}");
        let unsigned = http(addr, "POST", "/hooks/github", &[], body);
        assert_eq!(unsigned.status, 401, "{host}");
        let upper = signature.to_uppercase().replace("SHA256=", "sha256=");
        let upper_case_hex = http(
            addr,
            "POST",
            "/hooks/github",
            &[("x-hub-signature-256", &upper)],
            body,
        );
        assert_eq!(
            upper_case_hex.status, 200,
            "{host}: hex is case-insensitive"
        );
        // Beside a key: the signature is not enough, and neither is the key.
        let keyed = |headers: &[(&str, &str)]| http(addr, "POST", "/hooks/keyed", headers, body);
        assert_eq!(
            keyed(&[("x-hub-signature-256", &signature)]).status,
            401,
            "{host}"
        );
        assert_eq!(
            keyed(&[("authorization", "Bearer test-admin-key")]).status,
            401,
            "{host}"
        );
        let both = keyed(&[
            ("x-hub-signature-256", &signature),
            ("authorization", "Bearer test-admin-key"),
        ]);
        assert_eq!(both.status, 200, "{host}");
        assert_eq!(both.json()["caller"], "admin", "{host}");
    };
    let config = format!("github-webhook-secret={GITHUB_SECRET}");
    let served = serve(artifact, &config);
    check(&served.addr, "faas serve");
    served.stop();
    let wasmtime = WasmtimeServe::start_with(
        artifact,
        &["-Sconfig", &format!("-Sconfig-var={config}"), "-Skeyvalue"],
    );
    check(&wasmtime.addr, "wasmtime serve");

    // Without the secret at run time, nothing verifies.
    let served = Served::start(artifact.parent().unwrap(), artifact);
    let r = http(
        &served.addr,
        "POST",
        "/hooks/github",
        &[("x-hub-signature-256", &signature)],
        body,
    );
    assert_eq!(r.status, 401);
}

#[test]
fn stripe_signatures_check_the_timestamp_and_refuse_stale_or_altered_ones() {
    let artifact = stripe_artifact();
    let served = serve(artifact, &format!("stripe-webhook-secret={STRIPE_SECRET}"));
    let body = br#"{"type":"invoice.paid"}"#;
    let header = |t: u64, body: &[u8]| {
        let mut signed = format!("{t}.").into_bytes();
        signed.extend_from_slice(body);
        format!("t={t},v1={}", openssl_hmac(STRIPE_SECRET, &signed))
    };
    let post = |value: &str, body: &[u8]| {
        http(
            &served.addr,
            "POST",
            "/hooks/stripe",
            &[("stripe-signature", value)],
            body,
        )
        .status
    };
    let fresh = header(now(), body);
    assert_eq!(post(&fresh, body), 200);
    assert_eq!(post(&fresh, br#"{"type":"invoice.void"}"#), 401);
    // Signed ten minutes ago: a replay, outside the five minutes tolerated.
    assert_eq!(post(&header(now() - 600, body), body), 401);
    // The signature of another time does not fit this one.
    let (t, v1) = fresh.split_once(",v1=").unwrap();
    let signed_at: u64 = t.trim_start_matches("t=").parse().unwrap();
    assert_eq!(post(&format!("t={},v1={v1}", signed_at - 1), body), 401);
    // A rotation lists two signatures: either one will do.
    assert_eq!(post(&format!("{fresh},v1=00aa"), body), 200);
    let (_, log) = served.stop();
    let reasons: Vec<String> = audit_events(&log)
        .iter()
        .filter(|e| e["decision"] == "refused")
        .map(|e| e["reason"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(reasons.len(), 3, "{log}");
    assert!(reasons[1].contains("tolerated"), "{reasons:?}");
    assert!(!log.contains(STRIPE_SECRET), "{log}");
}

#[test]
fn two_hundred_requests_from_four_clients_against_a_limit_of_fifty_get_exactly_fifty() {
    let artifact = gateway_artifact();
    // The window is a day (UTC): do not start within seconds of its end.
    let into_day = now() % 86_400;
    if into_day > 86_400 - 20 {
        std::thread::sleep(std::time::Duration::from_secs(86_400 - into_day + 1));
    }
    let served = serve(artifact, "unused=1");
    let addr = served.addr.clone();
    let clients: Vec<_> = (0..4)
        .map(|client| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                (0..50)
                    .map(|i| http(&addr, "GET", &format!("/limited/{client}/{i}"), &[], b""))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let answers: Vec<HttpResponse> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    let allowed = answers.iter().filter(|r| r.status == 200).count();
    let limited: Vec<&HttpResponse> = answers.iter().filter(|r| r.status == 429).collect();
    assert_eq!((allowed, limited.len()), (50, 150));
    for r in &limited {
        let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=86_400).contains(&retry), "{retry}");
        assert_eq!(r.header("ratelimit-remaining"), Some("0"));
        assert_eq!(r.header("ratelimit-limit"), Some("50"));
        assert!(!reached_the_function(r));
    }
    // Every allowed answer says how many are left; together they count down from 49 to 0.
    let mut remaining: Vec<u64> = answers
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| r.header("ratelimit-remaining").unwrap().parse().unwrap())
        .collect();
    remaining.sort();
    assert_eq!(remaining, (0..50).collect::<Vec<u64>>());
    // Another limit, another count: /items is counted per caller.
    let r = http(&addr, "GET", "/items/1", &[("authorization", READER)], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("ratelimit-remaining"), Some("999"));
}

#[test]
fn every_decision_is_one_audit_event_in_json_and_none_holds_a_secret() {
    let artifact = gateway_artifact();
    let served = serve(artifact, &format!("github-webhook-secret={GITHUB_SECRET}"));
    let addr = served.addr.as_str();
    let wrong_key = "Bearer not-a-key-of-this-policy";
    let signature = format!("sha256={}", openssl_hmac(GITHUB_SECRET, b"{}"));
    // (method, path, headers, body, the status expected)
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, &'a [u8], u16);
    let requests: Vec<Case> = vec![
        ("GET", "/items/1", vec![], b"", 401),
        (
            "GET",
            "/items/1",
            vec![("authorization", wrong_key)],
            b"",
            401,
        ),
        ("GET", "/admin/x", vec![("authorization", READER)], b"", 403),
        ("GET", "/nowhere?token=secret-in-query", vec![], b"", 403),
        ("GET", "/%61dmin", vec![], b"", 400),
        (
            "POST",
            "/items/1",
            vec![("authorization", READER)],
            &[b'x'; 2000],
            413,
        ),
        (
            "POST",
            "/hooks/github",
            vec![("x-hub-signature-256", "sha256=00")],
            b"{}",
            401,
        ),
        (
            "POST",
            "/hooks/github",
            vec![("x-hub-signature-256", &signature)],
            b"{}",
            200,
        ),
        (
            "GET",
            "/items/2?api_key=secret-in-query",
            vec![("authorization", READER)],
            b"",
            200,
        ),
        (
            "GET",
            "/limited/1",
            vec![("traceparent", "garbage")],
            b"",
            200,
        ),
    ];
    for (method, path, headers, body, status) in &requests {
        let r = http(addr, method, path, headers, body);
        assert_eq!(r.status, *status, "{method} {path}");
    }
    let (_, log) = served.stop();
    let events = audit_events(&log);
    assert_eq!(events.len(), requests.len(), "{log}");
    for (event, (method, path, _, _, status)) in events.iter().zip(&requests) {
        assert_eq!(event["faas-audit"], 1);
        assert_eq!(event["method"], *method, "{event}");
        assert_eq!(event["path"], path.split('?').next().unwrap(), "{event}");
        assert_eq!(event["status"], *status, "{event}");
        assert_eq!(event["trigger"], "http");
        let decision = if *status == 200 { "allowed" } else { "refused" };
        assert_eq!(event["decision"], decision, "{event}");
        if decision == "refused" {
            assert!(event["reason"].as_str().is_some_and(|r| !r.is_empty()));
        }
        assert!(event["time"].as_str().unwrap().ends_with('Z'));
        // The HTTP adapter refuses a body over the limit while reading it, before any trace.
        if *status == 413 {
            assert!(event.get("trace-id").is_none(), "{event}");
            continue;
        }
        assert_eq!(event["trace-id"].as_str().unwrap().len(), 32);
        assert_eq!(event["span-id"].as_str().unwrap().len(), 16);
    }
    let at = |i: usize| &events[i];
    assert_eq!(at(0)["reason"], "no credential");
    assert_eq!(
        (at(0)["rule"].as_u64(), at(0)["route"].as_str()),
        (Some(4), Some("/items/**"))
    );
    assert_eq!(at(1)["reason"], "unknown API key");
    assert_eq!(
        (at(2)["subject"].as_str(), at(2)["scheme"].as_str()),
        (Some("reader"), Some("api-key"))
    );
    assert_eq!(at(3)["reason"], "no rule for the path");
    assert!(
        at(6)["reason"]
            .as_str()
            .unwrap()
            .starts_with("invalid signature")
    );
    assert_eq!(
        (at(7)["subject"].as_str(), at(7)["scheme"].as_str()),
        (Some("github"), Some("hmac"))
    );
    for secret in [
        "not-a-key-of-this-policy",
        "test-reader-key",
        "secret-in-query",
        GITHUB_SECRET,
        signature.trim_start_matches("sha256="),
    ] {
        assert!(!log.contains(secret), "`{secret}` in the log:\n{log}");
    }
}

#[test]
fn the_function_gets_the_trace_continued_with_the_decorators_span() {
    let artifact = gateway_artifact();
    let served = serve(artifact, "unused=1");
    let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let seen = |r: &HttpResponse| -> Vec<String> {
        r.json()["headers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h[0] == "traceparent")
            .map(|h| h[1].as_str().unwrap().to_string())
            .collect()
    };
    let r = http(
        &served.addr,
        "GET",
        "/limited/a",
        &[("traceparent", incoming)],
        b"",
    );
    let continued = seen(&r);
    let started = seen(&http(&served.addr, "GET", "/limited/b", &[], b""));
    let (_, log) = served.stop();
    let events = audit_events(&log);
    // One traceparent, the client's trace, the decorator's span as the parent.
    assert_eq!(continued.len(), 1, "{continued:?}");
    let span = events[0]["span-id"].as_str().unwrap();
    assert_eq!(
        continued[0],
        format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{span}-01")
    );
    assert_ne!(span, "00f067aa0ba902b7");
    // Without one, a new trace starts, and the event names it.
    assert_eq!(started.len(), 1);
    let trace = events[1]["trace-id"].as_str().unwrap();
    assert_ne!(trace, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert!(
        started[0].starts_with(&format!("00-{trace}-")),
        "{started:?}"
    );
}

#[test]
fn a_policy_with_limits_is_refused_for_a_target_without_a_key_value_store() {
    let (_tmp, dir) = built_function("gateway-target");
    let policy = policy_fixture("gateway.toml");
    let out = faas(
        &dir,
        &[
            "wrap",
            "--policy",
            policy.to_str().unwrap(),
            "--target",
            "wasi-http",
            "-o",
            "limited.wasm",
        ],
    );
    let stderr = failure(&out, 1);
    assert!(stderr.contains("wasi:keyvalue/"), "{stderr}");
    assert!(!dir.join("limited.wasm").exists());
}

#[test]
fn faas_test_signs_cases_marked_signed_with_the_secret_of_keys_toml() {
    let (_tmp, dir) = built_function("gateway-test");
    std::fs::copy(policy_fixture("gateway.toml"), dir.join("auth.toml")).unwrap();
    success(&faas(&dir, &["wrap", "--target", "wasmcloud"]));
    std::fs::write(
        dir.join("tests/keys.toml"),
        format!("[config]\ngithub-webhook-secret = \"{GITHUB_SECRET}\"\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("tests/hooks.toml"),
        r#"[[case]]
name = "a signed push is accepted"
method = "POST"
path = "/hooks/github"
json = { action = "opened" }
signed = true
expect = { status = 200 }

[[case]]
name = "an unsigned push is refused"
method = "POST"
path = "/hooks/github"
json = { action = "opened" }
expect = { status = 401 }
"#,
    )
    .unwrap();
    let out = success(&faas(&dir, &["test", "tests/hooks.toml"]));
    assert!(out.contains("2 case(s) passed, 0 failed"), "{out}");
    // Without the secret, a signed case cannot be made: the case says why.
    std::fs::write(dir.join("tests/keys.toml"), "").unwrap();
    let out = faas(&dir, &["test", "tests/hooks.toml"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("no `github-webhook-secret` in its [config] table"),
        "{text}"
    );
}
