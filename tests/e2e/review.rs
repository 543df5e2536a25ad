//! Regression tests for the adversarial review's findings, one test per finding, each named after
//! what broke. The HTTP ones run under `faas serve` and under `wasmtime serve`, the independent
//! runtime, so the fix is in the artifact and not only in faas's host.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const READER: &str = "Bearer test-reader-key";
const ADMIN: &str = "Bearer test-admin-key";
const ORIGIN: &str = "https://app.example";

/// The echo function (`fixtures/functions/echo-request.rs`) wrapped with
/// `fixtures/policies/review.toml` for the wasi-http target, built once for the whole module in
/// target/e2e-review (each test serves it on its own port).
fn echo_artifact() -> &'static Path {
    static ARTIFACT: OnceLock<PathBuf> = OnceLock::new();
    ARTIFACT.get_or_init(|| {
        build_and_wrap_fixture(
            "e2e-review",
            "review-echo",
            "echo-request.rs",
            &policy_fixture("review.toml"),
            &["--target", "wasi-http", "--triggers", "http"],
        )
    })
}

/// Runs `check` against the echo artifact under `faas serve` and under `wasmtime serve`, and
/// returns the decorator's log from both.
fn under_both_hosts(check: impl Fn(&str, &str)) -> (String, String) {
    let artifact = echo_artifact();
    let served = Served::start(artifact.parent().unwrap(), artifact);
    check(&served.addr, "faas serve");
    let (_, faas_log) = served.stop();
    let wasmtime = WasmtimeServe::start(artifact);
    check(&wasmtime.addr, "wasmtime serve");
    (faas_log, wasmtime.log())
}

/// Whether the echo function answered (rather than a layer in front of it).
fn reached_the_function(r: &HttpResponse) -> bool {
    serde_json::from_slice::<serde_json::Value>(&r.body).is_ok_and(|v| v.get("method").is_some())
}

#[test]
fn a_lower_case_method_no_longer_skips_a_method_specific_rule() {
    let (faas_log, wasmtime_log) = under_both_hosts(|addr, host| {
        // The admin rule is for DELETE; a reader's `delete` used to match the broader rule (200).
        for method in ["delete", "Delete"] {
            let r = http(addr, method, "/items/1", &[("authorization", READER)], b"");
            assert_eq!(r.status, 400, "{host} {method}");
            assert!(!reached_the_function(&r), "{host} {method}");
        }
        let r = http(
            addr,
            "DELETE",
            "/items/1",
            &[("authorization", READER)],
            b"",
        );
        assert_eq!(r.status, 403, "{host}");
        let r = http(addr, "DELETE", "/items/1", &[("authorization", ADMIN)], b"");
        assert_eq!(r.status, 200, "{host}");
        // The contract's promise: the function only ever sees upper-case methods.
        assert_eq!(r.json()["method"], "DELETE", "{host}");
    });
    for log in [faas_log, wasmtime_log] {
        // The adapter refuses it first: its event has no trace, as nothing behind it ran.
        let delete: Vec<_> = audit_events(&log)
            .into_iter()
            .filter(|e| e["method"] == "delete")
            .collect();
        assert_eq!(delete.len(), 1, "{log}");
        assert_eq!(delete[0]["reason"], "method is not an upper-case token");
        assert!(delete[0].get("trace-id").is_none(), "{log}");
    }

    // The CLI adapter follows the same rule instead of upper-casing.
    let (_tmp, dir) = built_function("review-cli-method");
    let policy = policy_fixture("review.toml");
    wrap_with(&dir, &policy, "cli.wasm", &["--triggers", "cli"]);
    let request = serde_json::json!({
        "method": "delete", "path": "/items/1", "headers": {"authorization": READER}
    });
    std::fs::write(dir.join("req.json"), request.to_string()).unwrap();
    let out = faas(&dir, &["invoke", "cli.wasm", "--request", "req.json"]);
    assert!(!out.status.success());
    let response: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(response["status"], 400, "{response}");
}

#[test]
fn cors_headers_appear_exactly_once_on_every_kind_of_answer() {
    under_both_hosts(|addr, host| {
        let preflight = |method: &str| {
            http(
                addr,
                "OPTIONS",
                "/items/1",
                &[
                    ("origin", ORIGIN),
                    ("access-control-request-method", method),
                    ("access-control-request-headers", "authorization"),
                ],
                b"",
            )
        };
        let once = |r: &HttpResponse, what: &str| {
            assert_eq!(
                r.all("access-control-allow-origin"),
                vec![ORIGIN],
                "{host} {what}: {:?}",
                r.headers
            );
            let vary = r.all("vary");
            assert_eq!(vary.len(), 1, "{host} {what}: {:?}", r.headers);
            assert!(
                vary[0].to_ascii_lowercase().contains("origin"),
                "{host} {what}"
            );
        };
        let r = preflight("POST");
        assert_eq!(r.status, 204, "{host}");
        once(&r, "preflight");
        // The function sets `access-control-allow-origin: *` and `vary: accept-encoding`: the
        // policy's origin replaces the first, and `origin` joins the second.
        let r = http(addr, "GET", "/health", &[("origin", ORIGIN)], b"");
        assert_eq!(r.status, 200, "{host}");
        once(&r, "simple");
        assert!(r.all("vary")[0].contains("accept-encoding"), "{host}");
        let r = http(addr, "GET", "/items/1", &[("origin", ORIGIN)], b"");
        assert_eq!(r.status, 401, "{host}");
        once(&r, "denial");
        // A refused preflight carries none, even for an allowed origin.
        let r = preflight("PATCH");
        assert_eq!(r.status, 403, "{host}");
        assert!(r.all("access-control-allow-origin").is_empty(), "{host}");
    });
}

#[test]
fn paths_with_two_spellings_no_longer_reach_the_function_under_a_broader_rule() {
    let (faas_log, _) = under_both_hosts(|addr, host| {
        for path in [
            "/%61dmin/x",
            "/admin;x=1/x",
            "/health/..;/admin/x",
            "/admin%20/x",
            "/admin%252fx",
            "/admin%3F/x",
        ] {
            let r = http(addr, "GET", path, &[], b"");
            assert_eq!(r.status, 400, "{host} {path}");
            assert!(!reached_the_function(&r), "{host} {path}");
        }
        // The canonical spelling is routed as the rules say.
        assert_eq!(
            http(addr, "GET", "/admin/x", &[], b"").status,
            401,
            "{host}"
        );
        let r = http(addr, "GET", "/caf%C3%A9", &[], b"");
        assert_eq!(r.status, 200, "{host}");
        assert_eq!(r.json()["path"], "/caf%C3%A9");
    });
    assert!(
        audit_events(&faas_log)
            .iter()
            .any(|e| e["path"] == "/%61dmin/x"
                && e["status"] == 400
                && e["decision"] == "refused"
                && e["reason"] == "percent-encoded character that needs no encoding"),
        "{faas_log}"
    );
    // A rule written in a non-canonical spelling could never match: the policy is refused.
    let tmp = tempfile::tempdir().unwrap();
    let policy = tmp.path().join("auth.toml");
    std::fs::write(
        &policy,
        "version = 1\n[[rule]]\npath = \"/%61dmin/**\"\npublic = true\n",
    )
    .unwrap();
    let stderr = failure(&faas(tmp.path(), &["policy", "check", "auth.toml"]), 1);
    assert!(stderr.contains("auth.toml:3:8:"), "{stderr}");
    assert!(stderr.contains("canonical"), "{stderr}");
}

/// The second review: rule `/reports` (admin) did not match `/reports/`, so the public catch-all
/// let anyone in.
#[test]
fn a_trailing_slash_no_longer_slips_past_a_rule_to_the_catch_all() {
    under_both_hosts(|addr, host| {
        for path in ["/reports", "/reports/", "/reports/?q=1"] {
            let r = http(addr, "GET", path, &[], b"");
            assert_eq!(r.status, 401, "{host} {path}");
            let r = http(addr, "GET", path, &[("authorization", READER)], b"");
            assert_eq!(r.status, 403, "{host} {path}");
            assert!(!reached_the_function(&r), "{host} {path}");
            let r = http(addr, "GET", path, &[("authorization", ADMIN)], b"");
            assert!(reached_the_function(&r), "{host} {path}");
        }
    });
}

#[test]
fn credential_headers_no_longer_reach_public_routes() {
    under_both_hosts(|addr, host| {
        for path in ["/health", "/items/1"] {
            let r = http(
                addr,
                "GET",
                path,
                &[("authorization", READER), ("x-request-id", "42")],
                b"",
            );
            assert_eq!(r.status, 200, "{host} {path}");
            let seen = r.json()["headers"].to_string();
            assert!(!seen.contains("authorization"), "{host} {path}: {seen}");
            assert!(!seen.contains("test-reader-key"), "{host} {path}: {seen}");
            assert!(seen.contains("x-request-id"), "{host} {path}: {seen}");
        }
    });
}

#[test]
fn two_content_types_are_refused_instead_of_checking_the_first() {
    under_both_hosts(|addr, host| {
        let r = http(
            addr,
            "POST",
            "/items/1",
            &[
                ("authorization", READER),
                ("content-type", "application/json"),
                ("content-type", "application/xml"),
            ],
            b"{}",
        );
        assert_eq!(r.status, 400, "{host}");
        assert!(!reached_the_function(&r), "{host}");
    });
}

#[test]
fn a_function_status_outside_200_to_599_becomes_500_and_a_log_line() {
    let (faas_log, wasmtime_log) = under_both_hosts(|addr, host| {
        for status in ["600", "999", "99", "101"] {
            let r = http(addr, "GET", &format!("/status/{status}"), &[], b"");
            assert_eq!(r.status, 500, "{host} {status}");
        }
        assert_eq!(
            http(addr, "GET", "/status/418", &[], b"").status,
            418,
            "{host}"
        );
    });
    for log in [faas_log, wasmtime_log] {
        assert!(
            log.contains("function answered with status 600, outside 200-599"),
            "{log}"
        );
    }
}

#[test]
fn connect_and_requests_without_host_are_refused_before_the_decorator() {
    let artifact = echo_artifact();
    let served = Served::start(artifact.parent().unwrap(), artifact);
    // HTTP/1.0 allows leaving out `host`: that is the client's error (400), not the server's.
    let r = raw_http(&served.addr, b"GET /health HTTP/1.0\r\n\r\n");
    assert_eq!(r.status, 400);
    let r = raw_http(
        &served.addr,
        b"CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n",
    );
    assert_eq!(r.status, 501);
    let (_, log) = served.stop();
    assert!(log.contains("GET /health 400"), "{log}");
    assert!(log.contains("CONNECT"), "{log}");
    // Neither reached the artifact: the decorator decided nothing.
    assert!(audit_events(&log).is_empty(), "{log}");

    // Under another host, the HTTP adapter refuses CONNECT before the decorator. (A request
    // without `host` is that host's own business: wasmtime answers it before the artifact runs.)
    let wasmtime = WasmtimeServe::start(artifact);
    let r = raw_http(
        &wasmtime.addr,
        b"CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n",
    );
    assert_eq!(r.status, 501);
    // Its audit event has no trace: nothing behind the adapter was called.
    let events = audit_events(&wasmtime.log());
    assert!(
        events.iter().any(|e| e["method"] == "CONNECT"
            && e["status"] == 501
            && e["reason"] == "CONNECT is not served"
            && e.get("trace-id").is_none()),
        "{}",
        wasmtime.log()
    );
}

#[test]
fn refusals_are_logged_with_reason_rule_and_subject_but_never_the_key() {
    let artifact = echo_artifact();
    let served = Served::start(artifact.parent().unwrap(), artifact);
    let addr = served.addr.as_str();
    assert_eq!(http(addr, "GET", "/items/1", &[], b"").status, 401);
    let wrong = "Bearer not-a-key-of-this-policy";
    assert_eq!(
        http(addr, "GET", "/items/1", &[("authorization", wrong)], b"").status,
        401
    );
    assert_eq!(
        http(addr, "GET", "/admin/x", &[("authorization", READER)], b"").status,
        403
    );
    // Keys in the query string stay out of the log too.
    assert_eq!(
        http(addr, "GET", "/health?api_key=secret-in-query&x=1", &[], b"").status,
        200
    );
    let (_, log) = served.stop();
    let refusals: Vec<(u64, String, u64, String)> = audit_events(&log)
        .iter()
        .filter(|e| e["decision"] == "refused")
        .map(|e| {
            (
                e["status"].as_u64().unwrap(),
                e["reason"].as_str().unwrap().to_string(),
                e["rule"].as_u64().unwrap(),
                e["subject"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        refusals,
        [
            (401, "no credential".to_string(), 4, String::new()),
            (401, "unknown API key".to_string(), 4, String::new()),
            (
                403,
                "wrong scope: lacks admin".to_string(),
                5,
                "reader".to_string()
            ),
        ],
        "{log}"
    );
    assert!(log.contains("GET /health?api_key=…&x=… 200"), "{log}");
    for secret in [
        "not-a-key-of-this-policy",
        "test-reader-key",
        "secret-in-query",
    ] {
        assert!(!log.contains(secret), "`{secret}` in the log:\n{log}");
    }
}

#[test]
fn a_wasi_config_grant_no_longer_exposes_the_hosts_secrets() {
    let (tmp, dir) = new_function("review-config");
    // The function imports wasi:config/store itself: the world `probe` adds it to the contract.
    add_probe_world(&dir, "config", &["wasi:config/store@0.2.0-rc.1"]);
    use_function_fixture(&dir, "reads-config.rs");
    success(&faas(&dir, &["build"]));
    let policy = tmp.path().join("config.toml");
    std::fs::write(
        &policy,
        r#"version = 1
[auth.jwt]
issuers = ["https://id.example"]
audiences = ["api"]
algorithms = ["HS256"]
hs256-secret = { config = "jwt-hmac" }

[credentials]
db-password = { config = "db-key" }

[capabilities]
allow = ["wasi:config/*"]

[[rule]]
path = "/**"
public = true
"#,
    )
    .unwrap();
    let wrapped: serde_json::Value =
        serde_json::from_str(&wrap_with(&dir, &policy, "app.wasm", &["--json"])).unwrap();
    assert!(
        wrapped["layers"].to_string().contains("\"credentials\""),
        "{wrapped}"
    );
    let served = Served::start_with(
        &dir,
        &dir.join("app.wasm"),
        &[
            "--config",
            "jwt-hmac=the-jwt-layers-hs256-secret-of-32-bytes",
            "--config",
            "db-key=s3cret",
            "--config",
            "other-function-key=not-yours",
        ],
    );
    let r = http(&served.addr, "GET", "/", &[], b"");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let seen = r.json();
    // Only the granted name, under its own name; nothing else the host holds.
    assert_eq!(
        seen["all"],
        serde_json::json!([["db-password", "s3cret"]]),
        "{seen}"
    );
    assert_eq!(seen["granted"], "s3cret", "{seen}");
    assert_eq!(seen["by-key"], serde_json::Value::Null, "{seen}");
    assert_eq!(seen["jwt-secret"], serde_json::Value::Null, "{seen}");
    assert!(!r.body.windows(9).any(|w| w == b"not-yours"));
}

#[test]
fn hash_key_refuses_keys_that_could_never_authenticate() {
    let tmp = tempfile::tempdir().unwrap();
    for (key, expected) in [
        (" padded-key", "whitespace"),
        ("padded-key ", "whitespace"),
        ("part.with.dots", "contains `.`"),
        ("", "empty"),
    ] {
        let stderr = failure(&faas(tmp.path(), &["policy", "hash-key", key]), 1);
        assert!(stderr.contains(expected), "{key:?}: {stderr}");
    }
    let out = success(&faas(
        tmp.path(),
        &["policy", "hash-key", "faas_sk_0123abcd"],
    ));
    assert_eq!(out.trim(), sha256(b"faas_sk_0123abcd"));
}

#[test]
fn build_component_no_longer_ignores_a_broken_faas_toml() {
    let (_tmp, dir) = new_function("review-broken-toml");
    std::fs::write(
        dir.join("faas.toml"),
        "[function]\nname = \"review-broken-toml\"\nversion = \"0.1.0\"\ntrigers = [\"http\"]\n",
    )
    .unwrap();
    let component = fixtures().join("wasm/core-with-metadata.wasm");
    let build = failure(
        &faas(&dir, &["build", "--component", component.to_str().unwrap()]),
        1,
    );
    let wrap = failure(&faas(&dir, &["wrap"]), 1);
    let last = |s: &str| {
        s.lines()
            .find(|l| l.starts_with("error: "))
            .unwrap_or("")
            .to_string()
    };
    assert!(
        last(&build).contains("faas.toml:4:1: unknown field `trigers`"),
        "{build}"
    );
    assert_eq!(last(&build), last(&wrap));
}

#[test]
fn a_messaging_trigger_without_messaging_subjects_is_refused_and_summaries_name_them() {
    let (tmp, dir) = built_function("review-messaging");
    let stderr = failure(&faas(&dir, &["wrap", "--triggers", "messaging"]), 1);
    assert!(stderr.contains("has no [messaging] table"), "{stderr}");
    assert!(!dir.join("target/faas/review-messaging.wasm").exists());

    let policy = tmp.path().join("messaging.toml");
    std::fs::write(
        &policy,
        "version = 1\n[messaging]\nsubjects = [\"orders.*\", \"audit.>\"]\n",
    )
    .unwrap();
    let check = success(&faas(&dir, &["policy", "check", policy.to_str().unwrap()]));
    assert!(
        check.contains("messaging subjects orders.* audit.>"),
        "{check}"
    );
    // A policy without rules cannot serve HTTP: said at wrap time.
    let stderr = failure(
        &faas(
            &dir,
            &[
                "wrap",
                "--policy",
                policy.to_str().unwrap(),
                "-o",
                "http.wasm",
            ],
        ),
        1,
    );
    assert!(stderr.contains("the http trigger is on"), "{stderr}");
    let wrapped = wrap_with(
        &dir,
        &policy,
        "messaging.wasm",
        &["--triggers", "messaging"],
    );
    assert!(
        wrapped.contains("messaging subjects orders.* audit.>"),
        "{wrapped}"
    );
    let inspected = success(&faas(&dir, &["inspect", "messaging.wasm"]));
    assert!(
        inspected.contains("messaging subjects orders.* audit.>"),
        "{inspected}"
    );
}
