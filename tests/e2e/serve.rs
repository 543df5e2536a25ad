use crate::common::*;

const READER: &str = "Bearer test-reader-key";
const NOSCOPE: &str = "Bearer test-noscope-key";

/// The template function wrapped with `fixtures/policies/full.toml`, served on a free port.
fn serve_full_policy(name: &str) -> (tempfile::TempDir, Served) {
    let (tmp, dir) = built_function(name);
    let policy = policy_fixture("full.toml");
    wrap_with(&dir, &policy, "app.wasm", &[]);
    let served = Served::start(&dir, &dir.join("app.wasm"));
    (tmp, served)
}

#[test]
fn the_policy_is_enforced_around_the_function() {
    let (_tmp, served) = serve_full_policy("serve-policy");
    let addr = served.addr.as_str();

    let r = http(addr, "GET", "/items/1", &[], b"");
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"faas\""));
    assert_eq!(r.json()["error"], "unauthorized");

    let r = http(
        addr,
        "GET",
        "/items/1",
        &[("authorization", "Bearer wrong-key")],
        b"",
    );
    assert_eq!(r.status, 401);

    // The right key reaches the function, which sees the caller's subject.
    let r = http(
        addr,
        "GET",
        "/items/1?x=1",
        &[("authorization", READER)],
        b"",
    );
    assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(&r.body));
    let body = r.json();
    assert_eq!(body["caller"], "reader");
    assert_eq!(body["path"], "/items/1?x=1");

    // A valid key without the rule's scope.
    let r = http(addr, "GET", "/items/1", &[("authorization", NOSCOPE)], b"");
    assert_eq!(r.status, 403);
    let r = http(
        addr,
        "GET",
        "/admin/users",
        &[("authorization", READER)],
        b"",
    );
    assert_eq!(r.status, 403);
    // `scopes = []`: any authenticated caller.
    let r = http(addr, "GET", "/me", &[("authorization", NOSCOPE)], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["caller"], "noscope");

    // A public rule needs no key, and the function sees no caller.
    let r = http(addr, "GET", "/health", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["caller"], serde_json::Value::Null);

    // A forged caller header does nothing: the caller is set by the decorator only.
    let r = http(addr, "GET", "/health", &[("x-faas-caller", "admin")], b"");
    assert_eq!(r.json()["caller"], serde_json::Value::Null);

    // No rule for the path.
    let r = http(addr, "GET", "/elsewhere", &[("authorization", READER)], b"");
    assert_eq!(r.status, 403);
}

#[test]
fn filters_answer_before_the_function() {
    let (_tmp, served) = serve_full_policy("serve-filters");
    let addr = served.addr.as_str();

    let r = http(
        addr,
        "DELETE",
        "/items/1",
        &[("authorization", READER)],
        b"",
    );
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, POST, OPTIONS"));
    let r = http(addr, "POST", "/health", &[], b"");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET"));

    let json = ("content-type", "application/json");
    let big = vec![b'x'; 2048];
    let r = http(
        addr,
        "POST",
        "/items",
        &[("authorization", READER), json],
        &big,
    );
    assert_eq!(r.status, 413);
    let small = br#"{"n":1}"#;
    let r = http(
        addr,
        "POST",
        "/items",
        &[("authorization", READER), json],
        small,
    );
    assert_eq!(r.status, 200);

    let r = http(
        addr,
        "POST",
        "/items",
        &[("authorization", READER), ("content-type", "text/xml")],
        b"<x/>",
    );
    assert_eq!(r.status, 415);

    // Paths that could slip past a rule are refused outright.
    let r = http(addr, "GET", "/health/../admin/users", &[], b"");
    assert_eq!(r.status, 400);
}

#[test]
fn cors_preflight_gets_the_configured_headers() {
    let (_tmp, served) = serve_full_policy("serve-cors");
    let addr = served.addr.as_str();
    let r = http(
        addr,
        "OPTIONS",
        "/items/1",
        &[
            ("origin", "https://app.example"),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "authorization, content-type",
            ),
        ],
        b"",
    );
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(r.header("access-control-allow-methods"), Some("GET, POST"));
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("authorization, content-type")
    );
    assert_eq!(r.header("access-control-max-age"), Some("300"));

    let r = http(
        addr,
        "OPTIONS",
        "/items/1",
        &[
            ("origin", "https://evil.example"),
            ("access-control-request-method", "POST"),
        ],
        b"",
    );
    assert_eq!(r.status, 403);
    assert_eq!(r.header("access-control-allow-origin"), None);

    // An actual cross-origin request from an allowed origin gets the allow-origin header.
    let r = http(
        addr,
        "GET",
        "/health",
        &[("origin", "https://app.example")],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example")
    );
}

#[test]
fn the_scaffolded_project_serves_with_its_sample_key_and_stops_on_ctrl_c() {
    let (_tmp, dir) = built_function("serve-sample");
    success(&faas(&dir, &["wrap"]));
    let key = sample_key(&dir);
    let served = Served::start(&dir, &dir.join("target/faas/serve-sample.wasm"));
    let r = http(&served.addr, "GET", "/", &[], b"");
    assert_eq!(r.status, 401);
    let r = http(
        &served.addr,
        "GET",
        "/",
        &[("authorization", &format!("Bearer {key}"))],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["message"], "Hello, sample-client!");
    let (status, stderr) = served.stop();
    assert!(
        status.success(),
        "faas serve exited with {status}: {stderr}"
    );
    // One log line per request: method, path, status, time.
    assert!(stderr.contains("GET / 401 "), "{stderr}");
    assert!(stderr.contains("GET / 200 "), "{stderr}");
}
