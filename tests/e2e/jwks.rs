//! Keys fetched at run time (`[auth.jwt] jwks-uri`): an identity provider played by a small HTTP
//! server on 127.0.0.1 whose JWKS the test changes, and tokens signed here. The artifact fetches the
//! keys through the outgoing HTTP its grants allow, and caches them in `faas serve`'s key-value
//! store; `wasmtime serve`, the independent host, runs the same artifact.

use crate::common::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub(crate) const ISSUER: &str = "https://id.example.test";
pub(crate) const AUDIENCE: &str = "orders-api";

/// An Ed25519 signing key and its public JWK under `kid`.
pub(crate) struct Key {
    pub(crate) signing: EncodingKey,
    pub(crate) jwk: serde_json::Value,
}

pub(crate) fn key(kid: &str) -> Key {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let key = ed25519_dalek::SigningKey::generate(&mut rand::thread_rng());
    let pem = key
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .unwrap();
    Key {
        signing: EncodingKey::from_ed_pem(pem.as_bytes()).unwrap(),
        jwk: json!({
            "kty": "OKP", "crv": "Ed25519", "kid": kid, "use": "sig",
            "x": B64.encode(key.verifying_key().to_bytes()),
        }),
    }
}

fn token(key: &Key, kid: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_string());
    let claims = json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "user-7", "exp": now + 300, "iat": now,
    });
    encode(&header, &claims, &key.signing).unwrap()
}

/// The identity provider: serves `document` at /jwks.json (503 when it is `None`) and counts
/// the requests.
pub(crate) struct Provider {
    pub(crate) addr: String,
    document: Arc<Mutex<Option<String>>>,
    fetches: Arc<AtomicUsize>,
}

impl Provider {
    pub(crate) fn start(document: String) -> Provider {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let document = Arc::new(Mutex::new(Some(document)));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (served, counted) = (document.clone(), fetches.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut head = [0u8; 4096];
                let _ = stream.read(&mut head);
                counted.fetch_add(1, Ordering::SeqCst);
                let answer = match served.lock().unwrap().clone() {
                    Some(body) => format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    ),
                    None => "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_string(),
                };
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        Provider {
            addr,
            document,
            fetches,
        }
    }

    fn publish(&self, document: Option<String>) {
        *self.document.lock().unwrap() = document;
    }

    pub(crate) fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

pub(crate) fn jwks(keys: &[&serde_json::Value]) -> String {
    json!({ "keys": keys }).to_string()
}

/// The echo function wrapped with a policy whose keys come from `jwks_uri` only.
fn wrapped(name: &str, jwks_uri: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let (tmp, dir) = built_function(name);
    use_function_fixture(&dir, "echo-request.rs");
    success(&faas(&dir, &["build"]));
    let policy = dir.join("auth.toml");
    std::fs::write(
        &policy,
        format!(
            r#"version = 1
[auth.jwt]
issuers = ["{ISSUER}"]
audiences = ["{AUDIENCE}"]
algorithms = ["EdDSA"]
jwks-uri = "{jwks_uri}"
jwks-cache-seconds = 60
jwks-min-refresh-seconds = 2

[[rule]]
path = "/**"
scopes = []
"#
        ),
    )
    .unwrap();
    let artifact = dir.join("app.wasm");
    wrap_with(
        &dir,
        &policy,
        artifact.to_str().unwrap(),
        &["--target", "wasmcloud", "--triggers", "http"],
    );
    (tmp, artifact)
}

fn get(addr: &str, token: &str) -> HttpResponse {
    let bearer = format!("Bearer {token}");
    http(addr, "GET", "/orders", &[("authorization", &bearer)], b"")
}

fn refusal_reasons(log: &str) -> Vec<String> {
    audit_events(log)
        .iter()
        .filter(|e| e["decision"] == "refused")
        .map(|e| e["reason"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn fetched_keys_verify_tokens_are_cached_and_a_rotation_is_picked_up_after_the_interval() {
    let first = key("k1");
    let second = key("k2");
    // A key for another algorithm beside the signing key: ignored, not an error.
    let other = json!({"kty": "EC", "crv": "P-256", "kid": "ec", "alg": "ES256",
                       "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                       "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"});
    let provider = Provider::start(jwks(&[&first.jwk, &other]));
    let (_tmp, artifact) = wrapped(
        "jwks-rotation",
        &format!("http://{}/jwks.json", provider.addr),
    );
    let served = Served::start(artifact.parent().unwrap(), &artifact);
    let addr = served.addr.clone();

    // The interval is counted in whole seconds from the first fetch, made by this request.
    let first_fetch = std::time::Instant::now();
    let r = get(&addr, &token(&first, "k1"));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["caller"], "user-7");
    assert_eq!(get(&addr, &token(&first, "k1")).status, 200);
    assert_eq!(
        provider.fetches(),
        1,
        "the second request used the cached keys"
    );

    // The provider rotates to a new key; a token naming it is refused until the interval has
    // passed since the last fetch, then the keys are fetched again, once.
    provider.publish(Some(jwks(&[&second.jwk])));
    let early = get(&addr, &token(&second, "k2"));
    // Less than a second after the first fetch began, the clock's seconds differ by at most
    // one: the interval (2 s) has not passed. (A slower machine skips this part.)
    if first_fetch.elapsed() < std::time::Duration::from_millis(1000) {
        assert_eq!(early.status, 401);
        assert_eq!(provider.fetches(), 1);
    }
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(get(&addr, &token(&second, "k2")).status, 200);
    assert_eq!(provider.fetches(), 2);
    // The old key is gone from the new document: its tokens no longer verify.
    assert_eq!(get(&addr, &token(&first, "k1")).status, 401);
    // Made-up kids do not make every request fetch: at most one more fetch in the interval.
    for _ in 0..5 {
        assert_eq!(get(&addr, &token(&second, "made-up")).status, 401);
    }
    assert!(provider.fetches() <= 3, "{} fetches", provider.fetches());
    let (_, log) = served.stop();
    assert!(
        refusal_reasons(&log)
            .iter()
            .any(|r| r.starts_with("invalid token: no key for the token's kid")),
        "{log}"
    );

    // The independent host runs the same artifact: its key-value store is a fresh copy per
    // request, so it fetches for every token, and verifies it.
    let before = provider.fetches();
    let wasmtime = WasmtimeServe::start_with(&artifact, &["-Skeyvalue"]);
    let r = get(&wasmtime.addr, &token(&second, "k2"));
    assert_eq!(r.status, 200, "{}", wasmtime.log());
    assert_eq!(get(&wasmtime.addr, &token(&first, "k1")).status, 401);
    assert!(provider.fetches() > before);
}

#[test]
fn an_unreachable_provider_or_a_document_that_is_no_jwks_refuses_every_token() {
    let signer = key("k1");
    let provider = Provider::start("<html>not a JWKS</html>".into());
    let (_tmp, artifact) = wrapped("jwks-down", &format!("http://{}/jwks.json", provider.addr));
    let served = Served::start(artifact.parent().unwrap(), &artifact);
    let addr = served.addr.clone();
    assert_eq!(get(&addr, &token(&signer, "k1")).status, 401);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    provider.publish(None);
    assert_eq!(get(&addr, &token(&signer, "k1")).status, 401);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    // Once the provider answers with the key, tokens verify.
    provider.publish(Some(jwks(&[&signer.jwk])));
    assert_eq!(get(&addr, &token(&signer, "k1")).status, 200);
    let (_, log) = served.stop();
    let reasons = refusal_reasons(&log);
    assert_eq!(reasons.len(), 2, "{log}");
    assert!(reasons[0].contains("the JWKS is not JSON"), "{reasons:?}");
    assert!(
        reasons[1].contains("the provider answered 503"),
        "{reasons:?}"
    );
    // Nobody listening at all.
    let (_tmp2, nowhere) = wrapped(
        "jwks-nowhere",
        &format!("http://127.0.0.1:{}/jwks.json", free_port()),
    );
    let served = Served::start(nowhere.parent().unwrap(), &nowhere);
    assert_eq!(get(&served.addr, &token(&signer, "k1")).status, 401);
    let (_, log) = served.stop();
    assert!(
        refusal_reasons(&log)[0].contains("cannot fetch the keys"),
        "{log}"
    );
}

#[test]
fn a_jwks_uri_must_be_https_except_to_a_loopback_address() {
    let tmp = tempfile::tempdir().unwrap();
    let policy = tmp.path().join("auth.toml");
    for (uri, message) in [
        (
            "http://id.example.com/jwks.json",
            "keys must be fetched over https",
        ),
        ("https://id.example.com", "with a path"),
        ("ftp://id.example.com/jwks", "expected an https:// URL"),
    ] {
        std::fs::write(
            &policy,
            format!(
                "version = 1\n[auth.jwt]\nissuers = [\"{ISSUER}\"]\naudiences = [\"a\"]\n\
                 algorithms = [\"RS256\"]\njwks-uri = \"{uri}\"\n[[rule]]\npath = \"/**\"\nscopes = []\n"
            ),
        )
        .unwrap();
        let stderr = failure(&faas(tmp.path(), &["policy", "check", "auth.toml"]), 1);
        assert!(stderr.contains("auth.toml:6:12:"), "{stderr}");
        assert!(stderr.contains(message), "{stderr}");
    }
}

/// The second review: 24 tokens with unknown kids at once made the verifier fetch twice where
/// once is promised (two instances read the last attempt before either wrote it).
#[test]
fn tokens_with_unknown_kids_at_once_cause_one_fetch() {
    let signer = key("k1");
    let provider = Provider::start(jwks(&[&signer.jwk]));
    let (_tmp, artifact) = wrapped("jwks-flood", &format!("http://{}/jwks.json", provider.addr));
    let served = Served::start(artifact.parent().unwrap(), &artifact);
    let addr = served.addr.clone();
    assert_eq!(get(&addr, &token(&signer, "k1")).status, 200);
    assert_eq!(provider.fetches(), 1);
    // Past the interval, a refetch is allowed: one, however many ask together.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let strangers: Vec<Key> = (0..24).map(|i| key(&format!("unknown-{i}"))).collect();
    std::thread::scope(|scope| {
        for (i, stranger) in strangers.iter().enumerate() {
            let addr = &addr;
            scope.spawn(move || {
                let kid = format!("unknown-{i}");
                assert_eq!(get(addr, &token(stranger, &kid)).status, 401);
            });
        }
    });
    assert_eq!(provider.fetches(), 2, "{} fetches", provider.fetches());
}

/// The second review: a provider sending one byte every 2 s (each gap within the 3-second
/// timeouts) held a request until the server's deadline. A fetch has 5 seconds in all.
#[test]
fn a_provider_that_drips_its_answer_cannot_hold_a_request() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut head = [0u8; 4096];
                let _ = stream.read(&mut head);
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 64\r\nconnection: close\r\n\r\n",
                );
                for _ in 0..64 {
                    if stream.write_all(b" ").is_err() {
                        return;
                    }
                    std::thread::sleep(std::time::Duration::from_secs(2));
                }
            });
        }
    });
    let signer = key("k1");
    let (_tmp, artifact) = wrapped("jwks-drip", &format!("http://{addr}/jwks.json"));
    let served = Served::start(artifact.parent().unwrap(), &artifact);
    // Refused by the verifier (401) with the fetch's own deadline, not by the server's (504).
    assert_eq!(get(&served.addr, &token(&signer, "k1")).status, 401);
    let (_, log) = served.stop();
    assert!(
        refusal_reasons(&log)[0].contains("the provider took longer than 5 s"),
        "{log}"
    );
    let wasmtime = WasmtimeServe::start_with(&artifact, &["-Skeyvalue"]);
    assert_eq!(get(&wasmtime.addr, &token(&signer, "k1")).status, 401);
    assert!(
        wasmtime.log().contains("the provider took longer than 5 s"),
        "{}",
        wasmtime.log()
    );
}
