//! Regression tests for the second adversarial review's findings, each named after what broke.
//! The hostile function (`fixtures/functions/writes-keyvalue.rs`) is granted `wasi:keyvalue` and
//! tries to reach the verifier layer's state; the others are the CLI's own refusals. (The
//! function gate's finding is in deps.rs, the trailing `/` of rules in review.rs, beside the
//! fixtures they share.)

use crate::common::*;
use crate::jwks::{AUDIENCE, ISSUER, Provider, jwks, key};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A policy for the hostile function: JWTs from a provider at `provider`, an admin route, a
/// signed webhook route, limits keyed by a header, and `wasi:keyvalue` granted to the function.
fn hostile_policy(provider: &str) -> String {
    format!(
        r#"version = 1
[auth.jwt]
issuers = ["{ISSUER}"]
audiences = ["{AUDIENCE}"]
algorithms = ["EdDSA"]
jwks-uri = "http://{provider}/jwks.json"
jwks-cache-seconds = 60
jwks-min-refresh-seconds = 2

[auth.hmac]
provider = "github"
secret = {{ config = "github-webhook-secret" }}

[capabilities]
allow = ["wasi:keyvalue/*"]

[[rule]]
path = "/admin"
scopes = ["admin"]

[[rule]]
methods = ["POST"]
path = "/hooks/github"
signed = true

[[rule]]
path = "/**"
public = true

[[limit]]
path = "/login"
requests = 2
window-seconds = 86400
key = "header:x-client"

[[limit]]
path = "/burst"
requests = 100000
window-seconds = 1
key = "header:x-client"
"#
    )
}

/// The hostile function, wrapped for wasmCloud (a key-value store) with [`hostile_policy`], built
/// once: (artifact, policy file, the provider its keys come from).
fn hostile() -> &'static (PathBuf, PathBuf, Provider, crate::jwks::Key) {
    static BUILT: OnceLock<(PathBuf, PathBuf, Provider, crate::jwks::Key)> = OnceLock::new();
    BUILT.get_or_init(|| {
        let signer = key("provider-1");
        let provider = Provider::start(jwks(&[&signer.jwk]));
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-review2");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        success(&faas(&dir, &["new", "hostile"]));
        let dir = dir.join("hostile");
        add_probe_world(
            &dir,
            "keyvalue",
            &[
                "wasi:keyvalue/store@0.2.0-draft",
                "wasi:keyvalue/atomics@0.2.0-draft",
            ],
        );
        use_function_fixture(&dir, "writes-keyvalue.rs");
        success(&faas(&dir, &["build"]));
        let policy = dir.join("auth.toml");
        std::fs::write(&policy, hostile_policy(&provider.addr)).unwrap();
        let report = wrap_with(
            &dir,
            &policy,
            "app.wasm",
            &["--target", "wasmcloud", "--triggers", "http", "--json"],
        );
        assert!(report.contains("\"keyvalue-guard\""), "{report}");
        (dir.join("app.wasm"), policy, provider, signer)
    })
}

/// A token for `subject` with `scope`, signed by `signer` under `kid`.
fn token(signer: &crate::jwks::Key, kid: &str, scope: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.kid = Some(kid.to_string());
    let claims = serde_json::json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "mallory", "scope": scope,
        "exp": now + 300, "iat": now,
    });
    jsonwebtoken::encode(&header, &claims, &signer.signing).unwrap()
}

fn call(addr: &str, path: &str, body: &[u8]) -> serde_json::Value {
    let r = http(addr, "POST", path, &[], body);
    assert_eq!(
        r.status,
        200,
        "{path}: {}",
        String::from_utf8_lossy(&r.body)
    );
    r.json()
}

/// The verifier's key name for the JWKS fetched from `uri`.
fn jwks_key(uri: &str) -> String {
    format!("faas-jwks/{}/keys", &sha256(uri.as_bytes())[..16])
}

#[test]
fn the_function_can_no_longer_plant_a_signing_key_or_touch_the_limit_counters() {
    let (artifact, _, provider, signer) = hostile();
    let planted = key("planted");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let value = format!("{now}\n{}", planted.jwk);
    let cache = jwks_key(&format!("http://{}/jwks.json", provider.addr));
    let check = |addr: &str, host: &str| {
        for name in [
            cache.clone(),
            cache.to_uppercase(),
            "faas-limit/x".to_string(),
        ] {
            for op in ["set", "delete", "increment", "get"] {
                let answer = call(addr, &format!("/{op}?key={name}"), value.as_bytes());
                assert_eq!(
                    answer["error"], "access-denied",
                    "{host} {op} {name}: {answer}"
                );
            }
        }
        // A token signed with the planted key is not accepted, one of the provider's is.
        let bearer = format!("Bearer {}", token(&planted, "planted", "admin"));
        let r = http(addr, "GET", "/admin", &[("authorization", &bearer)], b"");
        assert_eq!(r.status, 401, "{host}");
        let bearer = format!("Bearer {}", token(signer, "provider-1", "admin"));
        let r = http(addr, "GET", "/admin", &[("authorization", &bearer)], b"");
        assert_eq!(
            r.status,
            200,
            "{host}: {}",
            String::from_utf8_lossy(&r.body)
        );
        // The function's own keys work as before.
        assert_eq!(
            call(addr, "/set?key=mine", b"1")["ok"],
            serde_json::Value::Null,
            "{host}"
        );
        assert_eq!(call(addr, "/get?key=mine", b"")["ok"], "1", "{host}");
    };
    let served = Served::start(artifact.parent().unwrap(), artifact);
    check(&served.addr, "faas serve");
    // faas serve's store is shared by every request: the verifier's keys are there, unseen.
    let http_login = http(&served.addr, "GET", "/login", &[("x-client", "a")], b"");
    assert_eq!(http_login.status, 200);
    let listed = call(&served.addr, "/list", b"");
    let keys: Vec<&str> = listed["ok"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert!(keys.contains(&"mine"), "{keys:?}");
    assert!(
        !keys
            .iter()
            .any(|k| k.to_ascii_lowercase().starts_with("faas-")),
        "{keys:?}"
    );
    drop(served);
    let wasmtime = WasmtimeServe::start_with(artifact, &["-Skeyvalue", "-Sconfig"]);
    let answer = call(
        &wasmtime.addr,
        &format!("/set?key={cache}"),
        value.as_bytes(),
    );
    assert_eq!(answer["error"], "access-denied", "wasmtime serve: {answer}");
}

#[test]
fn a_limit_no_longer_misses_a_trailing_slash_or_takes_a_repeated_key_header() {
    let (artifact, _, _, _) = hostile();
    let served = Served::start(artifact.parent().unwrap(), artifact);
    let login =
        |path: &str, headers: &[(&str, &str)]| http(&served.addr, "GET", path, headers, b"").status;
    // Two logins a day per client: `/login/` and `/login?x` count as `/login`.
    assert_eq!(login("/login", &[("x-client", "c1")]), 200);
    assert_eq!(login("/login/", &[("x-client", "c1")]), 200);
    assert_eq!(login("/login/?again=1", &[("x-client", "c1")]), 429);
    // A second line (a proxy appending its own) would have let the client choose its counter.
    assert_eq!(
        login(
            "/login",
            &[("x-client", "fresh"), ("x-client", "proxy-set")]
        ),
        400
    );
    assert_eq!(login("/login", &[("x-client", "fresh")]), 200);
    let (_, log) = served.stop();
    assert!(log.contains("repeated x-client header"), "{log}");
    // The refusal is the artifact's: the independent host gives the same answer.
    let wasmtime = WasmtimeServe::start_with(artifact, &["-Skeyvalue", "-Sconfig"]);
    let twice = [("x-client", "fresh"), ("x-client", "proxy-set")];
    assert_eq!(
        http(&wasmtime.addr, "GET", "/login", &twice, b"").status,
        400
    );
    assert_eq!(
        http(&wasmtime.addr, "GET", "/login/", &[("x-client", "c")], b"").status,
        200
    );
}

#[test]
fn header_limit_counters_no_longer_outlive_their_window() {
    let (artifact, _, _, _) = hostile();
    // The verifier names counters `faas-limit/POLICY/LIMIT/WINDOW/KEY` (limit 1: /burst); this
    // test process serves no other artifact.
    let of_burst = |key: &str| key.starts_with("faas-limit/") && key.split('/').nth(2) == Some("1");
    let server =
        faas::serve::Server::from_bytes(&std::fs::read(artifact).unwrap(), vec![]).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let burst = |client: String| {
        let request = hyper::Request::get("http://localhost/burst")
            .header("x-client", client)
            .body(Vec::new())
            .unwrap();
        let answered = runtime.block_on(server.answer(request)).unwrap();
        assert_eq!(answered.status, 200);
    };
    let counters = || {
        faas::serve::store_keys()
            .into_iter()
            .filter(|k| of_burst(k))
            .count()
    };
    // 400 invented values, over a few windows of one second: each window's counters pile up
    // until the next window begins.
    let mut most = 0;
    for i in 0..400 {
        burst(format!("invented-{i}"));
        most = most.max(counters());
    }
    assert!(most >= 10, "{most}: {:?}", faas::serve::store_keys());
    std::thread::sleep(std::time::Duration::from_millis(1100));
    burst("after".into());
    // The new window's counter and its sweep marker are all that is left.
    assert!(counters() <= 2, "{:?}", faas::serve::store_keys());
}

#[test]
fn a_webhook_secret_shorter_than_32_bytes_or_blank_verifies_nothing() {
    let (artifact, policy, _, _) = hostile();
    let hmac = faas::policy::load(policy).unwrap().policy.hmac.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for (secret, status) in [
        ("It's a Secret to Everybody", 401),
        ("                                        ", 401),
        ("a-webhook-secret-of-at-least-32-bytes", 200),
    ] {
        let config = format!("github-webhook-secret={secret}");
        let served =
            Served::start_with(artifact.parent().unwrap(), artifact, &["--config", &config]);
        let (name, value) = faas_policy_core::hmac::sign(&hmac, b"{}", secret.as_bytes(), now);
        let r = http(
            &served.addr,
            "POST",
            "/hooks/github",
            &[(&name, &value)],
            b"{}",
        );
        assert_eq!(r.status, status, "{secret:?}");
        let (_, log) = served.stop();
        if status == 401 {
            assert!(log.contains("shorter than 32 bytes or blank"), "{log}");
            assert!(
                !log.contains(secret.trim()) || secret.trim().is_empty(),
                "{log}"
            );
        }
        // The independent host, with the same configuration.
        let var = format!("-Sconfig-var={config}");
        let wasmtime = WasmtimeServe::start_with(artifact, &["-Skeyvalue", "-Sconfig", &var]);
        let r = http(
            &wasmtime.addr,
            "POST",
            "/hooks/github",
            &[(&name, &value)],
            b"{}",
        );
        assert_eq!(r.status, status, "wasmtime serve: {secret:?}");
    }
}

#[test]
fn policy_check_no_longer_prints_the_secret_it_refuses() {
    let tmp = tempfile::tempdir().unwrap();
    let secret = "faas_sk_4f3c2b1a0f9e8d7c6b5a49382716f5e4";
    for (line, expected) in [
        (
            format!("[[auth.api-key]]\nid = \"ops\"\nkey = \"{secret}\""),
            "plaintext API keys",
        ),
        (
            format!("[[auth.api-key]]\nid = \"ops\"\ndigest = \"{secret}\""),
            "plaintext key",
        ),
        (
            format!(
                "[auth.jwt]\nissuers = [\"i\"]\naudiences = [\"a\"]\nalgorithms = [\"HS256\"]\n\
                 hs256-secret = \"{secret}\""
            ),
            "a literal secret",
        ),
        (
            format!("[credentials]\ndb = \"{secret}\""),
            "a literal secret",
        ),
    ] {
        let policy = tmp.path().join("auth.toml");
        std::fs::write(
            &policy,
            format!("version = 1\n{line}\n\n[[rule]]\npath = \"/**\"\nscopes = []\n"),
        )
        .unwrap();
        let out = faas(tmp.path(), &["policy", "check", "auth.toml"]);
        let stderr = failure(&out, 1);
        assert!(stderr.contains(expected), "{stderr}");
        assert!(stderr.contains("\"***\""), "{stderr}");
        let printed = format!("{stderr}{}", String::from_utf8_lossy(&out.stdout));
        assert!(!printed.contains(secret), "{printed}");
        let json = faas(tmp.path(), &["policy", "check", "auth.toml", "--json"]);
        assert!(!String::from_utf8_lossy(&json.stdout).contains(secret));
        assert!(!String::from_utf8_lossy(&json.stderr).contains(secret));
    }
}

#[test]
fn build_component_no_longer_ignores_an_unknown_target() {
    let (_tmp, dir) = new_function("review2-target");
    let toml = std::fs::read_to_string(dir.join("faas.toml")).unwrap();
    std::fs::write(
        dir.join("faas.toml"),
        toml.replace("[function]\n", "[function]\ntarget = \"wasmclod\"\n"),
    )
    .unwrap();
    let component = fixtures().join("wasm/core-with-metadata.wasm");
    let build = failure(
        &faas(&dir, &["build", "--component", component.to_str().unwrap()]),
        1,
    );
    assert!(
        build.contains("faas.toml:3:10: unknown target `wasmclod`"),
        "{build}"
    );
    assert!(
        !dir.join("target/faas/review2-target.function.wasm")
            .exists()
    );
}

#[test]
fn a_jwks_uri_with_a_line_break_is_refused_where_it_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("auth.toml"),
        "version = 1\n[auth.jwt]\nissuers = [\"i\"]\naudiences = [\"a\"]\nalgorithms = [\"RS256\"]\n\
         jwks-uri = \"https://id.example/keys.json\\r\\nx-injected: 1\"\n\
         [[rule]]\npath = \"/**\"\nscopes = []\n",
    )
    .unwrap();
    let stderr = failure(&faas(tmp.path(), &["policy", "check", "auth.toml"]), 1);
    assert!(
        stderr.contains("auth.toml:6:12: invalid `jwks-uri`: a character a URL cannot hold"),
        "{stderr}"
    );
}

#[test]
fn deploy_no_longer_accepts_a_namespace_kubernetes_refuses() {
    let (_tmp, dir) = new_function("review2-namespace");
    let mut toml = std::fs::read_to_string(dir.join("faas.toml")).unwrap();
    toml.push_str("\n[deploy]\nnamespace = \"Orders_Team\"\n");
    std::fs::write(dir.join("faas.toml"), &toml).unwrap();
    let line = toml.lines().count();
    let stderr = failure(&faas(&dir, &["deploy"]), 1);
    assert!(
        stderr.contains(&format!(
            "faas.toml:{line}:13: `Orders_Team` is not a Kubernetes namespace"
        )),
        "{stderr}"
    );
}
