//! Outgoing HTTP, granted for named hosts only: the policy's `outgoing-hosts` follow the artifact
//! to `faas serve`, which lets requests to those hosts through and refuses every other.

use crate::common::*;
use std::io::{Read, Write};

/// A one-route upstream on 127.0.0.1 answering every request 200; returns its port.
pub(crate) fn upstream() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\npong",
            );
        }
    });
    port
}

/// A public policy granting outgoing calls to 127.0.0.1:`port` only, written into `dir`.
pub(crate) fn granting_policy(dir: &std::path::Path, port: u16) -> std::path::PathBuf {
    let policy = dir.join("outgoing.toml");
    std::fs::write(
        &policy,
        format!(
            "version = 1\n[capabilities]\noutgoing-hosts = [\"127.0.0.1:{port}\"]\n\n\
             [[rule]]\npath = \"/**\"\npublic = true\n"
        ),
    )
    .unwrap();
    policy
}

#[test]
fn granted_hosts_are_reached_and_every_other_is_refused() {
    let (tmp, dir) = calls_out("calls-out");
    let granted = upstream();
    let other = upstream();
    let policy = granting_policy(tmp.path(), granted);
    wrap_with(&dir, &policy, "app.wasm", &[]);
    let artifact = dir.join("app.wasm");
    let inspected: serde_json::Value =
        serde_json::from_str(&success(&faas(&dir, &["inspect", "app.wasm", "--json"]))).unwrap();
    assert!(
        inspected["imports"]
            .to_string()
            .contains("wasi:http/outgoing-handler"),
        "the grant leaves the interface for the host: {inspected}"
    );

    let served = Served::start(&dir, &artifact);
    let call = |port: u16| {
        http(
            &served.addr,
            "GET",
            &format!("/?to=127.0.0.1:{port}"),
            &[],
            b"",
        )
        .json()
    };
    assert_eq!(call(granted)["upstream"], 200, "a granted host is reached");
    let refused = call(other);
    assert!(
        refused["error"]
            .as_str()
            .unwrap_or("")
            .contains("HttpRequestDenied"),
        "{refused}"
    );
    let (_, stderr) = served.stop();
    // Refused inside the artifact, by the function's outgoing guard, before the host's check.
    assert!(
        stderr.contains(&format!(
            "faas outgoing guard: request to 127.0.0.1:{other} refused: not among the function's \
             outgoing-hosts"
        )),
        "{stderr}"
    );

    // A URL is not a host: refused where it is written.
    std::fs::write(
        &policy,
        "version = 1\n[capabilities]\noutgoing-hosts = [\"https://api.example.com/v1\"]\n",
    )
    .unwrap();
    let err = failure(
        &faas(&dir, &["policy", "check", policy.to_str().unwrap()]),
        1,
    );
    assert!(
        err.contains("outgoing.toml:3:19: invalid outgoing host"),
        "{err}"
    );
    assert!(err.contains("not a URL"), "{err}");
}

/// The second review: a `jwks-uri` host became a grant of the whole artifact, so a function
/// granted only its own hosts reached the identity provider (any path, any method). Grants are
/// per layer: the verifier reaches its provider, the function its `outgoing-hosts` only.
#[test]
fn the_jwks_host_is_the_verifiers_and_no_longer_the_functions() {
    let (tmp, dir) = calls_out("calls-out-jwks");
    let granted = upstream();
    let provider = upstream();
    let policy = tmp.path().join("jwks.toml");
    std::fs::write(
        &policy,
        format!(
            "version = 1\n[auth.jwt]\nissuers = [\"https://id.example\"]\naudiences = [\"api\"]\n\
             algorithms = [\"EdDSA\"]\njwks-uri = \"http://127.0.0.1:{provider}/jwks.json\"\n\n\
             [capabilities]\noutgoing-hosts = [\"127.0.0.1:{granted}\"]\n\n\
             [[rule]]\npath = \"/**\"\npublic = true\n"
        ),
    )
    .unwrap();
    let report = wrap_with(
        &dir,
        &policy,
        "app.wasm",
        &["--target", "wasmcloud", "--json"],
    );
    assert!(report.contains("\"outgoing-guard\""), "{report}");
    let artifact = dir.join("app.wasm");
    let check = |addr: &str, host: &str| {
        let call =
            |port: u16| http(addr, "GET", &format!("/?to=127.0.0.1:{port}"), &[], b"").json();
        assert_eq!(call(granted)["upstream"], 200, "{host}");
        let refused = call(provider);
        assert!(
            refused["error"]
                .as_str()
                .unwrap_or("")
                .contains("HttpRequestDenied"),
            "{host}: {refused}"
        );
    };
    let served = Served::start(&dir, &artifact);
    check(&served.addr, "faas serve");
    drop(served);
    let wasmtime = WasmtimeServe::start_with(&artifact, &["-Skeyvalue", "-Sconfig"]);
    check(&wasmtime.addr, "wasmtime serve");
}
