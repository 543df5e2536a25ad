//! "A credential is never the function's business" (docs/policy.md), held under every combination
//! of API-key header, `[auth.jwt]` and `[auth.hmac]`, on public, keyed, token and signed routes
//! (`authorization` and `proxy-authorization` always, the key header, the signature header):
//! the echo function (`fixtures/functions/echo-request.rs`) reports every header that reached it,
//! under `faas serve` and under `wasmtime serve`. Tokens are made by jsonwebtoken and signatures
//! by openssl, not by faas's code.

use crate::common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;
use std::path::Path;

const KEY: &str = "test-reader-key";
const KEY_DIGEST: &str = "sha256:c84e0916ac2bc43a1821afb14a4daac8ecc1d16aa4f6bbb47e998f557074058b";
const JWT_SECRET: &str = "an-hs256-secret-of-at-least-thirty-two-bytes!";
const HOOK_SECRET: &str = "It's a Secret to Everybody (32+ bytes)";
/// Headers that carry a credential under some policy: those of the policy served never reach the
/// function.
const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "x-hub-signature-256",
];

fn policy(key_header: &str, jwt: bool, hmac: bool) -> String {
    let mut policy = String::from("version = 1\n\n");
    if key_header != "authorization" {
        policy += &format!("[auth]\napi-key-header = \"{key_header}\"\n\n");
    }
    policy += &format!(
        "[[auth.api-key]]\nid = \"reader\"\ndigest = \"{KEY_DIGEST}\"\nscopes = [\"read\"]\n\n"
    );
    if jwt {
        policy += "[auth.jwt]\nissuers = [\"https://id.example.test\"]\naudiences = [\"api\"]\n\
                   algorithms = [\"HS256\"]\nhs256-secret = { config = \"jwt-secret\" }\n\n";
    }
    if hmac {
        policy += "[auth.hmac]\nprovider = \"github\"\n\
                   secret = { config = \"github-webhook-secret\" }\n\n";
        policy += "[[rule]]\nmethods = [\"POST\"]\npath = \"/hooks/push\"\nsigned = true\n\n";
    }
    policy += "[[rule]]\npath = \"/public\"\npublic = true\n\n\
               [[rule]]\npath = \"/items/**\"\nscopes = [\"read\"]\n";
    policy
}

fn token() -> String {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let claims = json!({
        "iss": "https://id.example.test", "aud": "api", "sub": "alice", "exp": exp,
        "scope": "read",
    });
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap()
}

/// A request: method, path and header fields.
type Request = (&'static str, &'static str, Vec<(String, String)>);

/// The requests each policy lets through, each carrying every credential header there is (the
/// one that authenticates it, and the others with values a function could misuse).
fn requests(key_header: &str, jwt: bool, hmac: bool) -> Vec<Request> {
    let token = token();
    let key = if key_header == "authorization" {
        format!("Bearer {KEY}")
    } else {
        KEY.to_string()
    };
    let others = |authenticating: &str| -> Vec<(String, String)> {
        let mut headers = vec![("x-request-id".to_string(), "42".to_string())];
        for name in CREDENTIAL_HEADERS {
            if *name != authenticating {
                headers.push((name.to_string(), format!("Bearer leaked-{name}")));
            }
        }
        headers
    };
    let with = |name: &str, value: String| {
        let mut headers = others(name);
        headers.push((name.to_string(), value));
        headers
    };
    let mut requests = vec![
        ("GET", "/public", others("")),
        ("GET", "/items/1", with(key_header, key)),
    ];
    if jwt {
        requests.push((
            "GET",
            "/items/1",
            with("authorization", format!("Bearer {token}")),
        ));
    }
    if hmac {
        let signature = format!("sha256={}", openssl_hmac(HOOK_SECRET, b"{}"));
        requests.push((
            "POST",
            "/hooks/push",
            with("x-hub-signature-256", signature),
        ));
    }
    requests
}

fn check(addr: &str, host: &str, case: &str, key_header: &str, jwt: bool, hmac: bool) {
    for (method, path, headers) in requests(key_header, jwt, hmac) {
        let refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let body: &[u8] = if method == "POST" { b"{}" } else { b"" };
        let r = http(addr, method, path, &refs, body);
        let what = format!("{host}, {case}: {method} {path}");
        assert_eq!(
            r.status,
            200,
            "{what}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let seen: Vec<String> = r.json()["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|pair| pair[0].as_str().unwrap().to_ascii_lowercase())
            .collect();
        // HTTP's credential headers and the policy's own never arrive; a header that carries
        // no credential under this policy (`x-api-key` when keys come in `authorization`) does.
        for name in CREDENTIAL_HEADERS {
            let credential = ["authorization", "proxy-authorization", key_header].contains(name)
                || (hmac && *name == "x-hub-signature-256");
            let arrived = seen.iter().any(|s| s == name);
            assert_eq!(
                arrived, !credential,
                "{what}: {name} arrived: {arrived}; {seen:?}"
            );
        }
        let text = String::from_utf8_lossy(&r.body);
        assert!(!text.contains(KEY), "{what}: {text}");
        assert!(seen.iter().any(|s| s == "x-request-id"), "{what}: {seen:?}");
    }
}

#[test]
fn no_credential_header_reaches_the_function_under_any_policy() {
    let artifact = build_and_wrap_fixture(
        "e2e-credential-headers",
        "credential-echo",
        "echo-request.rs",
        &policy_fixture("review.toml"),
        &["--triggers", "http"],
    );
    let dir = artifact.parent().unwrap();
    let config = [
        format!("jwt-secret={JWT_SECRET}"),
        format!("github-webhook-secret={HOOK_SECRET}"),
    ];
    for key_header in ["authorization", "x-api-key"] {
        for jwt in [false, true] {
            for hmac in [false, true] {
                let case = format!("{key_header}, jwt {jwt}, hmac {hmac}");
                let policy_path = dir.join("policy.toml");
                std::fs::write(&policy_path, policy(key_header, jwt, hmac)).unwrap();
                let output = dir.join("case.wasm");
                wrap_with(
                    dir,
                    &policy_path,
                    output.to_str().unwrap(),
                    &["--triggers", "http"],
                );
                serve_both(dir, &output, &config, |addr, host| {
                    check(addr, host, &case, key_header, jwt, hmac)
                });
            }
        }
    }
}

/// Runs `check` under `faas serve` and `wasmtime serve`, both given the run-time `config`.
fn serve_both(dir: &Path, artifact: &Path, config: &[String], check: impl Fn(&str, &str)) {
    let mut faas_args = Vec::new();
    let mut wasmtime_args = vec!["-Sconfig".to_string()];
    for pair in config {
        faas_args.extend(["--config".to_string(), pair.clone()]);
        wasmtime_args.push(format!("-Sconfig-var={pair}"));
    }
    let faas_args: Vec<&str> = faas_args.iter().map(String::as_str).collect();
    let served = Served::start_with(dir, artifact, &faas_args);
    check(&served.addr, "faas serve");
    drop(served);
    let wasmtime_args: Vec<&str> = wasmtime_args.iter().map(String::as_str).collect();
    let wasmtime = WasmtimeServe::start_with(artifact, &wasmtime_args);
    check(&wasmtime.addr, "wasmtime serve");
}
