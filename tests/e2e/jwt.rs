//! JWT authentication and credentials, end to end: keys and tokens are made here, the policy is
//! generated here, and every request goes through `faas serve`.

use crate::common::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;
use std::time::{SystemTime, UNIX_EPOCH};

const ISSUER: &str = "https://id.example.test";
const AUDIENCE: &str = "orders-api";
const HS_SECRET: &str = "an-hs256-secret-of-at-least-thirty-two-bytes!";
const DB_PASSWORD: &str = "db-password-value-from-the-host";

struct Keys {
    rsa: EncodingKey,
    rsa_public_pem: String,
    rsa_jwk: serde_json::Value,
    ec: EncodingKey,
    ec_other: EncodingKey,
    ec_jwk: serde_json::Value,
    ed: EncodingKey,
    ed_jwk: serde_json::Value,
}

fn make_keys() -> Keys {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::pkcs8::EncodePublicKey;
    use rsa::traits::PublicKeyParts;
    let mut rng = rand::thread_rng();
    let rsa_key = rsa::RsaPrivateKey::new(&mut rng, 2048).unwrap();
    let rsa_pem = rsa_key.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).unwrap();
    let public = rsa_key.to_public_key();
    let rsa_jwk = json!({
        "kty": "RSA", "kid": "rsa-1", "alg": "RS256",
        "n": B64.encode(public.n().to_bytes_be()), "e": B64.encode(public.e().to_bytes_be()),
    });
    let rsa_public_pem = public
        .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
        .unwrap();

    use p256::pkcs8::EncodePrivateKey;
    let ec_secret = p256::SecretKey::random(&mut rng);
    let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
        &ec_secret.public_key(),
        false,
    );
    let ec_jwk = json!({
        "kty": "EC", "kid": "ec-1", "crv": "P-256",
        "x": B64.encode(point.x().unwrap()), "y": B64.encode(point.y().unwrap()),
    });
    let ec_pem = ec_secret.to_pkcs8_pem(p256::pkcs8::LineEnding::LF).unwrap();
    let other_pem = p256::SecretKey::random(&mut rng)
        .to_pkcs8_pem(p256::pkcs8::LineEnding::LF)
        .unwrap();

    let ed_key = ed25519_dalek::SigningKey::generate(&mut rng);
    let ed_jwk = json!({
        "kty": "OKP", "kid": "ed-1", "crv": "Ed25519",
        "x": B64.encode(ed_key.verifying_key().to_bytes()),
    });
    let ed_pem = ed_key
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .unwrap();

    Keys {
        rsa: EncodingKey::from_rsa_pem(rsa_pem.as_bytes()).unwrap(),
        rsa_public_pem,
        rsa_jwk,
        ec: EncodingKey::from_ec_pem(ec_pem.as_bytes()).unwrap(),
        ec_other: EncodingKey::from_ec_pem(other_pem.as_bytes()).unwrap(),
        ec_jwk,
        ed: EncodingKey::from_ed_pem(ed_pem.as_bytes()).unwrap(),
        ed_jwk,
    }
}

fn jwk_toml(jwk: &serde_json::Value) -> String {
    let mut out = String::from("[[auth.jwt.jwk]]\n");
    for (k, v) in jwk.as_object().unwrap() {
        out.push_str(&format!("{k} = \"{}\"\n", v.as_str().unwrap()));
    }
    out
}

fn policy(keys: &Keys) -> String {
    format!(
        r#"version = 1

[auth.jwt]
issuers = ["{ISSUER}"]
audiences = ["{AUDIENCE}"]
algorithms = ["HS256", "RS256", "ES256", "EdDSA"]
leeway-seconds = 30
required-claims = ["tenant"]
scopes-claim = "scope"
hs256-secret = {{ config = "jwt-hmac" }}

{}
{}
{}
[credentials]
db-password = {{ config = "db-password-key" }}

[[rule]]
path = "/admin/**"
scopes = ["admin"]

[[rule]]
path = "/**"
scopes = ["orders:read"]
"#,
        jwk_toml(&keys.rsa_jwk),
        jwk_toml(&keys.ec_jwk),
        jwk_toml(&keys.ed_jwk)
    )
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn claims() -> serde_json::Value {
    json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "user-42", "tenant": "acme",
        "scope": "orders:read profile", "exp": now() + 300, "iat": now(),
    })
}

fn with(mut claims: serde_json::Value, key: &str, value: serde_json::Value) -> serde_json::Value {
    claims[key] = value;
    claims
}

fn without(mut claims: serde_json::Value, key: &str) -> serde_json::Value {
    claims.as_object_mut().unwrap().remove(key);
    claims
}

fn sign(
    alg: Algorithm,
    kid: Option<&str>,
    claims: &serde_json::Value,
    key: &EncodingKey,
) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_string);
    encode(&header, claims, key).unwrap()
}

/// A token with a hand-made header (for headers jsonwebtoken would not write).
fn raw_token(header: serde_json::Value, claims: &serde_json::Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    )
}

#[test]
fn jwt_matrix_and_credentials() {
    let keys = make_keys();
    let hs = EncodingKey::from_secret(HS_SECRET.as_bytes());
    let (tmp, dir) = new_function("jwt-matrix");
    use_function_fixture(&dir, "reads-credentials.rs");
    success(&faas(&dir, &["build"]));
    let policy_path = tmp.path().join("jwt.toml");
    std::fs::write(&policy_path, policy(&keys)).unwrap();
    let wrapped: serde_json::Value = serde_json::from_str(&success(&faas(
        &dir,
        &[
            "wrap",
            "--policy",
            policy_path.to_str().unwrap(),
            "-o",
            "app.wasm",
            "--json",
        ],
    )))
    .unwrap();
    // A JWT policy brings the JWT layer; its configuration (the HS256 secret) is read at run time.
    let layers = wrapped["layers"].to_string();
    assert!(layers.contains("\"verifier\""), "{layers}");

    // No secret given at run time reaches the artifact: only names of configuration keys do.
    let artifact = std::fs::read(dir.join("app.wasm")).unwrap();
    for secret in [HS_SECRET, DB_PASSWORD] {
        assert!(
            !artifact
                .windows(secret.len())
                .any(|w| w == secret.as_bytes())
        );
    }

    let served = Served::start_with(
        &dir,
        &dir.join("app.wasm"),
        &[
            "--config",
            &format!("jwt-hmac={HS_SECRET}"),
            "--config",
            &format!("db-password-key={DB_PASSWORD}"),
        ],
    );
    let call = |path: &str, headers: &[(&str, &str)]| http(&served.addr, "GET", path, headers, b"");
    let bearer = |token: &str| format!("Bearer {token}");

    // Valid tokens of every allowed algorithm reach the function; the credential it was granted
    // is read from the host, the one it was not granted is denied.
    let valid = [
        ("HS256", sign(Algorithm::HS256, None, &claims(), &hs)),
        (
            "RS256",
            sign(Algorithm::RS256, Some("rsa-1"), &claims(), &keys.rsa),
        ),
        (
            "ES256",
            sign(Algorithm::ES256, Some("ec-1"), &claims(), &keys.ec),
        ),
        (
            "EdDSA",
            sign(Algorithm::EdDSA, Some("ed-1"), &claims(), &keys.ed),
        ),
        (
            "within the leeway",
            sign(
                Algorithm::ES256,
                Some("ec-1"),
                &with(claims(), "exp", json!(now() - 10)),
                &keys.ec,
            ),
        ),
        (
            "scopes as an array",
            sign(
                Algorithm::ES256,
                Some("ec-1"),
                &with(claims(), "scope", json!(["orders:read"])),
                &keys.ec,
            ),
        ),
    ];
    for (case, token) in &valid {
        let r = call("/orders", &[("authorization", &bearer(token))]);
        assert_eq!(
            r.status,
            200,
            "{case}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(
            r.json()["granted"],
            format!("value:{DB_PASSWORD}"),
            "{case}"
        );
        assert_eq!(r.json()["ungranted"], "denied", "{case}");
    }

    // A valid token lacking the rule's scope: 403.
    let r = call("/admin/users", &[("authorization", &bearer(&valid[1].1))]);
    assert_eq!(r.status, 403);

    // Only the Bearer scheme carries a token, in any letter case; under another scheme a valid
    // token is no credential (401, and the function never runs).
    let token = &valid[1].1;
    for scheme in ["bearer", "BEARER", "bEaReR"] {
        let r = call(
            "/orders",
            &[("authorization", &format!("{scheme} {token}"))],
        );
        assert_eq!(r.status, 200, "{scheme}");
    }
    for value in [
        format!("Token {token}"),
        format!("JWT {token}"),
        format!("Basic {token}"),
        format!("DPoP {token}"),
        token.clone(),
    ] {
        let r = call("/orders", &[("authorization", &value)]);
        assert_eq!(r.status, 401, "{}", &value[..value.find(' ').unwrap_or(3)]);
        assert_eq!(r.json()["error"], "unauthorized");
    }

    let rs = |c: &serde_json::Value| sign(Algorithm::RS256, Some("rsa-1"), c, &keys.rsa);
    let es = |c: &serde_json::Value| sign(Algorithm::ES256, Some("ec-1"), c, &keys.ec);
    let good_rs = rs(&claims());
    let mut tampered = good_rs.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let parts: Vec<&str> = good_rs.split('.').collect();
    let rsa_public_as_secret = EncodingKey::from_secret(keys.rsa_public_pem.as_bytes());
    let huge = with(claims(), "padding", json!("x".repeat(10_000)));

    let denied: Vec<(&str, String, &str)> = vec![
        (
            "alg none",
            raw_token(json!({"alg": "none", "typ": "JWT"}), &claims(), ""),
            "authorization",
        ),
        (
            "alg none with a signature",
            raw_token(json!({"alg": "none"}), &claims(), "c2ln"),
            "authorization",
        ),
        (
            "algorithm not allowed (RS384)",
            sign(Algorithm::RS384, Some("rsa-1"), &claims(), &keys.rsa),
            "authorization",
        ),
        (
            "RS256 public key used as HS256 secret",
            sign(
                Algorithm::HS256,
                Some("rsa-1"),
                &claims(),
                &rsa_public_as_secret,
            ),
            "authorization",
        ),
        ("bad signature", tampered, "authorization"),
        (
            "re-signed with another key",
            sign(Algorithm::ES256, Some("ec-1"), &claims(), &keys.ec_other),
            "authorization",
        ),
        (
            "unknown kid",
            sign(Algorithm::ES256, Some("ec-9"), &claims(), &keys.ec),
            "authorization",
        ),
        (
            "expired",
            es(&with(claims(), "exp", json!(now() - 120))),
            "authorization",
        ),
        ("no exp", es(&without(claims(), "exp")), "authorization"),
        (
            "not yet valid",
            es(&with(claims(), "nbf", json!(now() + 600))),
            "authorization",
        ),
        (
            "beyond the leeway (nbf)",
            es(&with(claims(), "nbf", json!(now() + 45))),
            "authorization",
        ),
        (
            "issued in the future",
            es(&with(claims(), "iat", json!(now() + 600))),
            "authorization",
        ),
        (
            "wrong issuer",
            es(&with(claims(), "iss", json!("https://evil.example"))),
            "authorization",
        ),
        ("no issuer", es(&without(claims(), "iss")), "authorization"),
        (
            "wrong audience",
            es(&with(claims(), "aud", json!("other-api"))),
            "authorization",
        ),
        (
            "missing required claim",
            es(&without(claims(), "tenant")),
            "authorization",
        ),
        (
            "missing subject",
            es(&without(claims(), "sub")),
            "authorization",
        ),
        (
            "malformed base64",
            format!("{}.{}!!.{}", parts[0], parts[1], parts[2]),
            "authorization",
        ),
        (
            "two parts",
            format!("{}.{}", parts[0], parts[1]),
            "authorization",
        ),
        (
            "four parts",
            format!("{good_rs}.{}", parts[2]),
            "authorization",
        ),
        ("huge token", es(&huge), "authorization"),
        (
            "crit header",
            raw_token(
                json!({"alg": "ES256", "kid": "ec-1", "crit": ["exp"]}),
                &claims(),
                parts[2],
            ),
            "authorization",
        ),
        (
            "wrong typ",
            raw_token(
                json!({"alg": "RS256", "kid": "rsa-1", "typ": "secevent+jwt"}),
                &claims(),
                parts[2],
            ),
            "authorization",
        ),
        (
            "HS256 signed with a wrong secret",
            sign(
                Algorithm::HS256,
                None,
                &claims(),
                &EncodingKey::from_secret(b"another-secret-that-is-long-enough-32"),
            ),
            "authorization",
        ),
        ("token in the wrong header", good_rs.clone(), "x-token"),
    ];
    assert!(denied.len() + valid.len() >= 25);
    for (case, token, header) in &denied {
        let value = if *header == "authorization" {
            bearer(token)
        } else {
            token.clone()
        };
        let r = call("/orders", &[(header, &value)]);
        assert_eq!(
            r.status,
            401,
            "{case}: {}",
            String::from_utf8_lossy(&r.body)
        );
        // The decorator answered: the function (which would report its credentials) never ran.
        assert_eq!(r.json()["error"], "unauthorized", "{case}");
        assert!(
            r.header("www-authenticate")
                .is_some_and(|h| h.starts_with("Bearer")),
            "{case}"
        );
    }
}

#[test]
fn a_literal_secret_in_a_policy_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        (
            "version = 1\n[auth.jwt]\nissuers = [\"i\"]\naudiences = [\"a\"]\nalgorithms = [\"HS256\"]\nhs256-secret = \"hunter2-hunter2-hunter2-hunter2-hunter2\"\n[[rule]]\npath = \"/\"\nscopes = []\n",
            "auth.toml:6:16: a literal secret is not allowed",
        ),
        (
            "version = 1\n[credentials]\ndb = \"hunter2\"\n[[rule]]\npath = \"/\"\npublic = true\n",
            "auth.toml:3:6: a literal secret is not allowed",
        ),
        (
            "version = 1\n[auth.jwt]\nissuers = [\"i\"]\naudiences = [\"a\"]\nalgorithms = [\"RS256\"]\n[[auth.jwt.jwk]]\nkty = \"oct\"\nk = \"c2VjcmV0\"\n[[rule]]\npath = \"/\"\nscopes = []\n",
            "holds secret key material",
        ),
        (
            "version = 1\n[auth.jwt]\nissuers = [\"i\"]\naudiences = [\"a\"]\nalgorithms = [\"none\"]\n[[rule]]\npath = \"/\"\nscopes = []\n",
            "the `none` algorithm is never allowed",
        ),
    ];
    for (text, expected) in cases {
        let path = tmp.path().join("auth.toml");
        std::fs::write(&path, text).unwrap();
        let err = failure(&faas(tmp.path(), &["policy", "check", "auth.toml"]), 1);
        assert!(err.contains(expected), "{text}\n{err}");
    }
}

/// An HS256-only policy for one public and one protected route, with `max-lifetime-seconds`.
const HS_ONLY: &str = r#"version = 1
[auth.jwt]
issuers = ["https://id.example.test"]
audiences = ["orders-api"]
algorithms = ["HS256"]
hs256-secret = { config = "jwt-hmac" }
max-lifetime-seconds = 3600

[[rule]]
path = "/**"
scopes = []
"#;

#[test]
fn time_claims_that_are_not_numeric_dates_are_refused_and_lifetimes_bounded() {
    let (tmp, dir) = built_function("jwt-times");
    let policy = tmp.path().join("hs.toml");
    std::fs::write(&policy, HS_ONLY).unwrap();
    wrap_with(&dir, &policy, "app.wasm", &[]);
    let served = Served::start_with(
        &dir,
        &dir.join("app.wasm"),
        &["--config", &format!("jwt-hmac={HS_SECRET}")],
    );
    let hs = EncodingKey::from_secret(HS_SECRET.as_bytes());
    let token = |claims: &serde_json::Value| sign(Algorithm::HS256, None, claims, &hs);
    let call = |token: &str| {
        http(
            &served.addr,
            "GET",
            "/orders",
            &[("authorization", &format!("Bearer {token}"))],
            b"",
        )
        .status
    };
    assert_eq!(call(&token(&claims())), 200);
    let hour_ahead = (now() + 3600).to_string();
    let refused = [
        (
            "string nbf an hour ahead",
            with(claims(), "nbf", json!(hour_ahead)),
        ),
        (
            "string iat",
            with(claims(), "iat", json!(now().to_string())),
        ),
        (
            "string exp",
            with(claims(), "exp", json!((now() + 60).to_string())),
        ),
        ("boolean exp", with(claims(), "exp", json!(true))),
        ("negative nbf", with(claims(), "nbf", json!(-1))),
        (
            "lives two hours",
            with(
                with(claims(), "iat", json!(now() - 10)),
                "exp",
                json!(now() + 7200),
            ),
        ),
        (
            "no iat under max-lifetime-seconds",
            without(claims(), "iat"),
        ),
    ];
    for (case, claims) in &refused {
        assert_eq!(call(&token(claims)), 401, "{case}");
    }
    let (_, log) = served.stop();
    let refusals: Vec<(u64, String, u64)> = audit_events(&log)
        .iter()
        .filter(|e| e["decision"] == "refused")
        .map(|e| {
            let reason = e["reason"].as_str().unwrap().to_string();
            (
                e["status"].as_u64().unwrap(),
                reason,
                e["rule"].as_u64().unwrap(),
            )
        })
        .collect();
    for reason in [
        "invalid token: claim `nbf` is not a NumericDate",
        "invalid token: token lifetime above max-lifetime-seconds",
        "invalid token: missing claim `iat`",
    ] {
        assert!(
            refusals.contains(&(401, reason.to_string(), 1)),
            "no `{reason}` in:\n{log}"
        );
    }
    // The log names reasons, never a token.
    let sample = token(&with(claims(), "nbf", json!(hour_ahead)));
    assert!(!log.contains(sample.split('.').nth(1).unwrap()), "{log}");
}

#[test]
fn weak_or_unusable_jwks_are_refused_with_their_position() {
    use rsa::traits::PublicKeyParts;
    let rsa_jwk = |bits: usize| {
        let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), bits).unwrap();
        B64.encode(key.to_public_key().n().to_bytes_be())
    };
    let ec_point = || {
        let secret = p256::SecretKey::random(&mut rand::thread_rng());
        let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
            &secret.public_key(),
            false,
        );
        (
            B64.encode(point.x().unwrap()),
            B64.encode(point.y().unwrap()),
        )
    };
    let (n512, n1024, n2048) = (rsa_jwk(512), rsa_jwk(1024), rsa_jwk(2048));
    let (x, y) = ec_point();
    let head = |algorithms: &str, extra: &str| {
        format!(
            "version = 1\n[auth.jwt]\nissuers = [\"i\"]\naudiences = [\"a\"]\nalgorithms = [{algorithms}]\n{extra}"
        )
    };
    let rule = "[[rule]]\npath = \"/\"\nscopes = []\n";
    let rsa = |n: &str, e: &str, more: &str| {
        format!("[[auth.jwt.jwk]]\nkty = \"RSA\"\nn = \"{n}\"\ne = \"{e}\"\n{more}")
    };
    let ec = |kid: &str, crv: &str| {
        format!(
            "[[auth.jwt.jwk]]\nkid = \"{kid}\"\nkty = \"EC\"\ncrv = \"{crv}\"\nx = \"{x}\"\ny = \"{y}\"\n"
        )
    };
    let cases = [
        (
            head("\"RS256\"", &rsa(&n512, "AQAB", "")),
            "auth.toml:8:5: an RSA key of 512 bits is too weak",
        ),
        (
            head("\"RS256\"", &rsa(&n1024, "AQAB", "")),
            "auth.toml:8:5: an RSA key of 1024 bits is too weak",
        ),
        (
            head("\"RS256\"", &rsa(&n2048, "AQ", "")),
            "auth.toml:9:5: the RSA exponent `e` must be odd and at least 3",
        ),
        (
            head("\"RS256\"", &rsa(&n2048, "AQAB", "use = \"enc\"\n")),
            "auth.toml:10:7: `use = \"enc\"`",
        ),
        (
            head(
                "\"RS256\"",
                &rsa(&n2048, "AQAB", "key_ops = [\"encrypt\"]\n"),
            ),
            "auth.toml:10:11: `key_ops` does not include \"verify\"",
        ),
        (
            head("\"ES256\"", &ec("p384", "P-384")),
            "auth.toml:9:7: curve `P-384` does not fit ES256",
        ),
        (
            head(
                "\"ES256\"",
                &format!("{}{}", ec("same", "P-256"), ec("same", "P-256")),
            ),
            "auth.toml:13:7: duplicate kid `same`",
        ),
        (
            head(
                "\"ES256\"",
                &format!("max-token-bytes = 0\n{}", ec("k", "P-256")),
            ),
            "auth.toml:6:19: `max-token-bytes` must be between 1024",
        ),
    ];
    let tmp = tempfile::tempdir().unwrap();
    for (text, expected) in &cases {
        std::fs::write(tmp.path().join("auth.toml"), format!("{text}{rule}")).unwrap();
        let err = failure(&faas(tmp.path(), &["policy", "check", "auth.toml"]), 1);
        assert!(err.contains(expected), "{text}\n{err}");
    }
    // The same keys done right are accepted.
    let good = head(
        "\"RS256\", \"ES256\"",
        &format!(
            "{}{}",
            rsa(&n2048, "AQAB", "use = \"sig\"\nkid = \"r\"\n"),
            ec("e", "P-256")
        ),
    );
    std::fs::write(tmp.path().join("auth.toml"), format!("{good}{rule}")).unwrap();
    success(&faas(tmp.path(), &["policy", "check", "auth.toml"]));
}
