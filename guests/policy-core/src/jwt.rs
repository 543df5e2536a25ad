//! JWT bearer-token authentication, following the JWT best current practice (RFC 8725): an explicit
//! algorithm allow-list, keys only from the policy's own JWKS (chosen by `kid` and algorithm) or the
//! run-time HMAC secret, no `none`, no `crit`, bounded token size, and every time and audience
//! claim checked here with an explicit clock. jsonwebtoken verifies the signature only.

use alloc::string::String;
use alloc::vec::Vec;
#[cfg(feature = "verify")]
use {
    crate::Jwt,
    alloc::{format, string::ToString},
    base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD},
    jsonwebtoken::{Algorithm, DecodingKey, Validation},
    serde_json::Value,
};

/// Why a token was rejected (for logs; clients only see 401).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwtError {
    /// Larger than `max-token-bytes`.
    TooLarge,
    /// Not three base64url parts, or a part that does not decode.
    Malformed,
    /// The header has a `crit` parameter, which we do not understand.
    CriticalHeader,
    /// `typ` is present and not `JWT` / `at+jwt`.
    WrongType,
    /// The algorithm is not in the policy's allow-list (this includes `none`).
    AlgorithmNotAllowed(String),
    /// No key in the policy for this `kid` and algorithm.
    UnknownKey,
    /// HS256 is allowed but its secret is missing or too short at run time.
    SecretUnavailable,
    /// The signature does not verify.
    BadSignature,
    /// `exp` is missing or past (beyond the leeway).
    Expired,
    /// `nbf` or `iat` is in the future (beyond the leeway).
    NotYetValid,
    /// `iss` is missing or not accepted.
    WrongIssuer,
    /// `aud` is missing or has no accepted audience.
    WrongAudience,
    /// A required claim is missing.
    MissingClaim(String),
    /// `exp`, `nbf` or `iat` is present but not a NumericDate (RFC 7519: a JSON number of seconds).
    NotNumericDate(&'static str),
    /// `exp - iat` is longer than `max-lifetime-seconds`.
    TooLongLived,
}

impl core::fmt::Display for JwtError {
    /// A reason for logs. It never contains the token, and a value taken from the token (the
    /// algorithm name) is shortened and escaped.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            JwtError::TooLarge => f.write_str("token larger than max-token-bytes"),
            JwtError::Malformed => f.write_str("malformed token"),
            JwtError::CriticalHeader => f.write_str("token header has `crit`"),
            JwtError::WrongType => f.write_str("wrong token type (`typ`)"),
            JwtError::AlgorithmNotAllowed(alg) => {
                let shown: String = alg.chars().take(16).collect();
                write!(f, "algorithm {:?} not allowed", shown)
            }
            JwtError::UnknownKey => f.write_str("no key for the token's kid and algorithm"),
            JwtError::SecretUnavailable => f.write_str("no HS256 secret at run time"),
            JwtError::BadSignature => f.write_str("bad signature"),
            JwtError::Expired => f.write_str("expired token"),
            JwtError::NotYetValid => f.write_str("token not yet valid (nbf or iat in the future)"),
            JwtError::WrongIssuer => f.write_str("wrong issuer"),
            JwtError::WrongAudience => f.write_str("wrong audience"),
            JwtError::MissingClaim(name) => write!(f, "missing claim `{name}`"),
            JwtError::NotNumericDate(name) => write!(f, "claim `{name}` is not a NumericDate"),
            JwtError::TooLongLived => f.write_str("token lifetime above max-lifetime-seconds"),
        }
    }
}

/// A verified token's caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// The subject claim.
    pub subject: String,
    /// Scopes from the configured claim.
    pub scopes: Vec<String>,
    /// Top-level claims rendered as strings.
    pub claims: Vec<(String, String)>,
}

/// The smallest HS256 secret accepted: 256 bits, as RFC 7518 §3.2 requires.
pub const MIN_HMAC_SECRET_BYTES: usize = 32;

/// Verifies `token` under `policy`'s `[auth.jwt]` at time `now`: what the JWT layer exports to the
/// decorator. The error is a reason for logs (clients only see 401).
#[cfg(feature = "verify")]
pub fn verify_under(
    policy: &crate::Policy,
    token: &str,
    now: u64,
    secret: &dyn Fn(&str) -> Option<String>,
) -> Result<VerifiedToken, String> {
    let jwt = policy
        .jwt
        .as_ref()
        .ok_or_else(|| "the policy accepts no JWTs".to_string())?;
    verify(jwt, token, now, secret).map_err(|e| e.to_string())
}

/// Verifies `token` under `jwt` at time `now` (seconds since the epoch). `secret` looks up a
/// run-time configuration value by name (the HS256 secret).
#[cfg(feature = "verify")]
pub fn verify(
    jwt: &Jwt,
    token: &str,
    now: u64,
    secret: &dyn Fn(&str) -> Option<String>,
) -> Result<VerifiedToken, JwtError> {
    if token.len() > jwt.max_token_bytes as usize {
        return Err(JwtError::TooLarge);
    }
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(JwtError::Malformed);
    }
    let header = decode_json(parts[0])?;
    if header.get("crit").is_some() {
        return Err(JwtError::CriticalHeader);
    }
    if let Some(typ) = header.get("typ") {
        let typ = typ.as_str().unwrap_or("").to_ascii_lowercase();
        if typ != "jwt" && typ != "at+jwt" && typ != "application/at+jwt" {
            return Err(JwtError::WrongType);
        }
    }
    let alg_name = header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !jwt.algorithms.contains(&alg_name) {
        return Err(JwtError::AlgorithmNotAllowed(alg_name));
    }
    let algorithm = match alg_name.as_str() {
        "HS256" => Algorithm::HS256,
        "RS256" => Algorithm::RS256,
        "ES256" => Algorithm::ES256,
        "EdDSA" => Algorithm::EdDSA,
        other => return Err(JwtError::AlgorithmNotAllowed(other.to_string())),
    };
    let key = select_key(jwt, &header, &alg_name, secret)?;

    let mut validation = Validation::new(algorithm);
    // Claims are checked below, with our clock and our rules; jsonwebtoken checks the signature.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map_err(|_| JwtError::BadSignature)?
        .claims;
    check_claims(jwt, &claims, now)?;

    let subject = claims
        .get(&jwt.subject_claim)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| JwtError::MissingClaim(jwt.subject_claim.clone()))?
        .to_string();
    let scopes = match claims.get(&jwt.scopes_claim) {
        Some(Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    let mut rendered = Vec::new();
    if let Value::Object(map) = &claims {
        for (name, value) in map {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Array(items) => items
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
                _ => continue,
            };
            rendered.push((name.clone(), text));
        }
    }
    Ok(VerifiedToken {
        subject,
        scopes,
        claims: rendered,
    })
}

#[cfg(feature = "verify")]
fn decode_json(part: &str) -> Result<Value, JwtError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwtError::Malformed)?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed)?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(JwtError::Malformed)
    }
}

/// The key for this header: the HS256 secret, or exactly one JWKS key whose `kid` (when the token
/// names one), algorithm and key type fit.
#[cfg(feature = "verify")]
fn select_key(
    jwt: &Jwt,
    header: &Value,
    alg: &str,
    secret: &dyn Fn(&str) -> Option<String>,
) -> Result<DecodingKey, JwtError> {
    if alg == "HS256" {
        let name = jwt
            .hs256_secret
            .as_deref()
            .ok_or(JwtError::SecretUnavailable)?;
        let value = secret(name).ok_or(JwtError::SecretUnavailable)?;
        if value.len() < MIN_HMAC_SECRET_BYTES {
            return Err(JwtError::SecretUnavailable);
        }
        return Ok(DecodingKey::from_secret(value.as_bytes()));
    }
    let kid = header.get("kid").and_then(Value::as_str);
    let (kty, crv) = match alg {
        "RS256" => ("RSA", None),
        "ES256" => ("EC", Some("P-256")),
        "EdDSA" => ("OKP", Some("Ed25519")),
        _ => return Err(JwtError::UnknownKey),
    };
    let candidates: Vec<Value> = jwt
        .jwks
        .iter()
        .filter_map(|k| serde_json::from_str::<Value>(k).ok())
        .filter(|k| match kid {
            Some(kid) => k.get("kid").and_then(Value::as_str) == Some(kid),
            None => true,
        })
        .filter(|k| k.get("kty").and_then(Value::as_str) == Some(kty))
        .filter(|k| crv.is_none() || k.get("crv").and_then(Value::as_str) == crv)
        .filter(|k| {
            k.get("alg")
                .and_then(Value::as_str)
                .is_none_or(|a| a == alg)
        })
        .collect();
    // Without a kid, guessing among several keys would let any of them sign for the others.
    let [key] = candidates.as_slice() else {
        return Err(JwtError::UnknownKey);
    };
    let jwk: jsonwebtoken::jwk::Jwk =
        serde_json::from_value(key.clone()).map_err(|_| JwtError::UnknownKey)?;
    DecodingKey::from_jwk(&jwk).map_err(|_| JwtError::UnknownKey)
}

#[cfg(feature = "verify")]
fn check_claims(jwt: &Jwt, claims: &Value, now: u64) -> Result<(), JwtError> {
    let leeway = u64::from(jwt.leeway_seconds) as f64;
    let now = now as f64;
    // RFC 7519 §4.1.4-6: when present, each is a NumericDate; anything else is refused rather
    // than ignored, so a string `nbf` cannot switch its check off.
    let date = |name: &'static str| -> Result<Option<f64>, JwtError> {
        match claims.get(name) {
            None => Ok(None),
            Some(value) => value
                .as_f64()
                .filter(|n| n.is_finite() && *n >= 0.0)
                .map(Some)
                .ok_or(JwtError::NotNumericDate(name)),
        }
    };
    let exp = match date("exp")? {
        Some(exp) if now <= exp + leeway => exp,
        _ => return Err(JwtError::Expired),
    };
    if date("nbf")?.is_some_and(|nbf| nbf > now + leeway) {
        return Err(JwtError::NotYetValid);
    }
    let iat = date("iat")?;
    if iat.is_some_and(|iat| iat > now + leeway) {
        return Err(JwtError::NotYetValid);
    }
    if let Some(max) = jwt.max_lifetime_seconds {
        let iat = iat.ok_or_else(|| JwtError::MissingClaim("iat".into()))?;
        if exp - iat > f64::from(max) {
            return Err(JwtError::TooLongLived);
        }
    }
    let issuer = claims.get("iss").and_then(Value::as_str);
    if !issuer.is_some_and(|iss| jwt.issuers.iter().any(|i| i == iss)) {
        return Err(JwtError::WrongIssuer);
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => jwt.audiences.contains(aud),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .any(|aud| jwt.audiences.iter().any(|a| a == aud)),
        _ => false,
    };
    if !audience_ok {
        return Err(JwtError::WrongAudience);
    }
    for name in &jwt.required_claims {
        if claims.get(name).is_none_or(Value::is_null) {
            return Err(JwtError::MissingClaim(name.clone()));
        }
    }
    Ok(())
}

/// Checks that `jwk` (JSON) is a public key this engine can use; the message says why not.
#[cfg(feature = "verify")]
pub fn check_jwk(jwk: &str) -> Result<(), String> {
    let parsed: jsonwebtoken::jwk::Jwk =
        serde_json::from_str(jwk).map_err(|e| format!("not a JWK: {e}"))?;
    DecodingKey::from_jwk(&parsed)
        .map(|_| ())
        .map_err(|e| format!("unusable key: {e}"))
}

/// The keys of a JWKS document fetched at run time that can verify tokens under `algorithms`,
/// each as compact JWK JSON. A key that cannot (secret material, another purpose or algorithm, an
/// unsupported type or curve, an RSA modulus under 2048 bits, a key jsonwebtoken cannot use) is
/// left out, not an error: providers publish keys for other uses beside their signing keys. A
/// document that is not a JWKS is an error.
#[cfg(feature = "verify")]
pub fn usable_keys(document: &[u8], algorithms: &[String]) -> Result<Vec<String>, String> {
    let parsed: Value =
        serde_json::from_slice(document).map_err(|e| format!("the JWKS is not JSON: {e}"))?;
    let keys = parsed
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("the JWKS has no `keys` array")?;
    let usable = keys
        .iter()
        .filter(|key| key_fits(key, algorithms))
        .map(Value::to_string)
        .filter(|json| check_jwk(json).is_ok())
        .collect();
    Ok(usable)
}

#[cfg(feature = "verify")]
fn key_fits(key: &Value, algorithms: &[String]) -> bool {
    let text = |name: &str| key.get(name).and_then(Value::as_str);
    if key.get("d").is_some() || key.get("k").is_some() {
        return false;
    }
    if text("use").is_some_and(|u| u != "sig") {
        return false;
    }
    if let Some(ops) = key.get("key_ops")
        && !ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op == "verify"))
    {
        return false;
    }
    let (alg, curve) = match text("kty") {
        Some("RSA") => ("RS256", None),
        Some("EC") => ("ES256", Some("P-256")),
        Some("OKP") => ("EdDSA", Some("Ed25519")),
        _ => return false,
    };
    if !algorithms.iter().any(|a| a == alg) || text("alg").is_some_and(|a| a != alg) {
        return false;
    }
    if curve.is_some() && text("crv") != curve {
        return false;
    }
    if alg == "RS256" {
        let modulus = text("n").and_then(|n| URL_SAFE_NO_PAD.decode(n).ok());
        let bits = modulus.as_deref().map_or(0, |n| {
            let n = &n[n.iter().position(|b| *b != 0).unwrap_or(n.len())..];
            n.first()
                .map_or(0, |b| n.len() * 8 - b.leading_zeros() as usize)
        });
        if bits < 2048 {
            return false;
        }
    }
    true
}

#[cfg(all(test, feature = "verify"))]
mod tests {
    use super::*;
    use alloc::vec;
    use serde_json::json;

    const NOW: u64 = 1_800_000_000;

    fn jwt() -> Jwt {
        Jwt {
            issuers: vec!["https://id.example".into()],
            audiences: vec!["api".into()],
            algorithms: vec!["HS256".into()],
            leeway_seconds: 30,
            required_claims: vec![],
            scopes_claim: "scope".into(),
            subject_claim: "sub".into(),
            max_token_bytes: 8192,
            max_lifetime_seconds: None,
            hs256_secret: None,
            jwks: vec![],
            remote_jwks: None,
        }
    }

    fn claims(extra: serde_json::Value) -> Value {
        let mut claims =
            json!({"iss": "https://id.example", "aud": "api", "sub": "u", "exp": NOW + 60});
        for (k, v) in extra.as_object().unwrap() {
            claims[k] = v.clone();
        }
        claims
    }

    #[test]
    fn time_claims_must_be_numeric_dates_when_present() {
        assert_eq!(check_claims(&jwt(), &claims(json!({})), NOW), Ok(()));
        for (name, value) in [
            ("nbf", json!((NOW + 3600).to_string())),
            ("iat", json!("yesterday")),
            ("exp", json!((NOW + 60).to_string())),
            ("nbf", json!(-5)),
            ("iat", json!(null)),
        ] {
            let error = check_claims(&jwt(), &claims(json!({ name: value })), NOW).unwrap_err();
            assert!(
                matches!(error, JwtError::NotNumericDate(n) if n == name),
                "{name} = {value}: {error:?}"
            );
        }
        // A fractional NumericDate is a NumericDate.
        assert_eq!(
            check_claims(&jwt(), &claims(json!({"nbf": NOW as f64 - 0.5})), NOW),
            Ok(())
        );
    }

    #[test]
    fn max_lifetime_bounds_exp_minus_iat_and_requires_iat() {
        let bounded = Jwt {
            max_lifetime_seconds: Some(600),
            ..jwt()
        };
        let ok = claims(json!({"iat": NOW - 10, "exp": NOW + 500}));
        assert_eq!(check_claims(&bounded, &ok, NOW), Ok(()));
        let long = claims(json!({"iat": NOW - 10, "exp": NOW + 3600}));
        assert_eq!(
            check_claims(&bounded, &long, NOW),
            Err(JwtError::TooLongLived)
        );
        assert_eq!(
            check_claims(&bounded, &claims(json!({})), NOW),
            Err(JwtError::MissingClaim("iat".into()))
        );
        // Without the setting, a long-lived token with iat is fine.
        assert_eq!(check_claims(&jwt(), &long, NOW), Ok(()));
    }

    #[test]
    fn reasons_for_logs_never_carry_the_token_and_bound_what_comes_from_it() {
        let alg = JwtError::AlgorithmNotAllowed(format!("x\n{}", "A".repeat(100))).to_string();
        assert!(!alg.contains('\n'), "{alg}");
        assert!(alg.len() < 50, "{alg}");
        assert_eq!(JwtError::Expired.to_string(), "expired token");
    }

    #[test]
    fn fetched_keys_for_other_uses_or_algorithms_are_left_out() {
        // An Ed25519 key (RFC 8037's example) beside keys that cannot verify EdDSA tokens here.
        let ed = json!({"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        let document = json!({"keys": [
            ed,
            {"kty": "OKP", "crv": "Ed25519", "kid": "enc", "use": "enc", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty": "OKP", "crv": "Ed25519", "kid": "other-alg", "alg": "ES256", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty": "oct", "kid": "secret", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": "weak", "n": "AQAB", "e": "AQAB"},
            {"kty": "EC", "crv": "P-384", "kid": "p384", "x": "AA", "y": "AA"}
        ]});
        let algorithms = vec![
            "EdDSA".to_string(),
            "ES256".to_string(),
            "RS256".to_string(),
        ];
        let keys = usable_keys(document.to_string().as_bytes(), &algorithms).unwrap();
        assert_eq!(keys, vec![ed.to_string()]);
        // Not allowed by the policy: none.
        let only_rs = vec!["RS256".to_string()];
        assert!(
            usable_keys(document.to_string().as_bytes(), &only_rs)
                .unwrap()
                .is_empty()
        );
        assert!(usable_keys(b"<html>", &algorithms).is_err());
        assert!(usable_keys(b"{\"keys\": 1}", &algorithms).is_err());
    }

    /// Whole tokens through [`verify`], signed with HS256 under a secret of `MIN_HMAC_SECRET_BYTES`.
    mod whole_tokens {
        use super::*;

        const SECRET: &str = "0123456789abcdef0123456789abcdef";

        fn hs256() -> Jwt {
            Jwt {
                hs256_secret: Some("jwt-secret".into()),
                ..jwt()
            }
        }

        fn sign(header: serde_json::Value, claims: &Value, secret: &str) -> String {
            use base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let head = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap());
            let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
            let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
            let signature = jsonwebtoken::crypto::sign(
                alloc::format!("{head}.{body}").as_bytes(),
                &key,
                Algorithm::HS256,
            )
            .unwrap();
            alloc::format!("{head}.{body}.{signature}")
        }

        fn run(jwt: &Jwt, token: &str) -> Result<VerifiedToken, JwtError> {
            verify(jwt, token, NOW, &|name| {
                (name == "jwt-secret").then(|| SECRET.to_string())
            })
        }

        fn token(extra: serde_json::Value) -> String {
            sign(
                json!({"alg": "HS256", "typ": "JWT"}),
                &claims(extra),
                SECRET,
            )
        }

        #[test]
        fn a_token_of_the_size_limit_passes_and_one_byte_more_does_not() {
            let token = token(json!({}));
            let exact = Jwt {
                max_token_bytes: token.len() as u32,
                ..hs256()
            };
            assert!(run(&exact, &token).is_ok());
            let smaller = Jwt {
                max_token_bytes: token.len() as u32 - 1,
                ..hs256()
            };
            assert_eq!(run(&smaller, &token).err(), Some(JwtError::TooLarge));
        }

        #[test]
        fn three_non_empty_parts_or_malformed() {
            let token = token(json!({}));
            let parts: Vec<&str> = token.split('.').collect();
            for bad in [
                alloc::format!("{}.{}", parts[0], parts[1]),
                alloc::format!("{}..{}", parts[0], parts[2]),
                alloc::format!("{}.{}.{}.{}", parts[0], parts[1], parts[2], parts[2]),
            ] {
                assert_eq!(
                    run(&hs256(), &bad).err(),
                    Some(JwtError::Malformed),
                    "{bad}"
                );
            }
        }

        #[test]
        fn only_jwt_types_are_accepted() {
            for typ in ["JWT", "jwt", "at+jwt", "application/at+JWT"] {
                let token = sign(
                    json!({"alg": "HS256", "typ": typ}),
                    &claims(json!({})),
                    SECRET,
                );
                assert!(run(&hs256(), &token).is_ok(), "{typ}");
            }
            for typ in ["JWS", "dpop+jwt", ""] {
                let token = sign(
                    json!({"alg": "HS256", "typ": typ}),
                    &claims(json!({})),
                    SECRET,
                );
                assert_eq!(
                    run(&hs256(), &token).err(),
                    Some(JwtError::WrongType),
                    "{typ}"
                );
            }
        }

        #[test]
        fn scopes_come_as_a_string_or_a_list_and_claims_are_rendered() {
            let verified = run(&hs256(), &token(json!({"scope": "read write"}))).unwrap();
            assert_eq!(verified.scopes, ["read", "write"]);
            let verified = run(
                &hs256(),
                &token(json!({"scope": ["read", 7, "admin"], "n": 5, "ok": true, "l": ["a", 1]})),
            )
            .unwrap();
            assert_eq!(verified.scopes, ["read", "admin"]);
            let claim = |name: &str| {
                verified
                    .claims
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
            };
            assert_eq!(claim("sub").as_deref(), Some("u"));
            assert_eq!(claim("n").as_deref(), Some("5"));
            assert_eq!(claim("ok").as_deref(), Some("true"));
            assert_eq!(claim("l").as_deref(), Some("a 1"));
            assert_eq!(verified.subject, "u");
        }

        #[test]
        fn an_hs256_secret_shorter_than_256_bits_is_no_secret() {
            let short = &SECRET[..MIN_HMAC_SECRET_BYTES - 1];
            let token = sign(json!({"alg": "HS256"}), &claims(json!({})), short);
            let result = verify(&hs256(), &token, NOW, &|_| Some(short.to_string()));
            assert_eq!(result.err(), Some(JwtError::SecretUnavailable));
            // Exactly 256 bits is enough.
            assert!(run(&hs256(), &token_with_secret(SECRET)).is_ok());
        }

        fn token_with_secret(secret: &str) -> String {
            sign(json!({"alg": "HS256"}), &claims(json!({})), secret)
        }

        /// The time checks at their edges, with the policy's leeway of 30 s.
        #[test]
        fn time_claims_hold_exactly_to_the_leeway() {
            let at = |extra: serde_json::Value| check_claims(&jwt(), &claims(extra), NOW);
            assert_eq!(at(json!({"exp": NOW - 30})), Ok(()));
            assert_eq!(at(json!({"exp": NOW - 31})), Err(JwtError::Expired));
            assert_eq!(at(json!({"nbf": NOW + 30})), Ok(()));
            assert_eq!(at(json!({"nbf": NOW + 31})), Err(JwtError::NotYetValid));
            assert_eq!(at(json!({"iat": NOW + 30})), Ok(()));
            assert_eq!(at(json!({"iat": NOW + 31})), Err(JwtError::NotYetValid));
            let lifetime = Jwt {
                max_lifetime_seconds: Some(100),
                ..jwt()
            };
            let within = claims(json!({"iat": NOW - 40, "exp": NOW + 60}));
            assert_eq!(check_claims(&lifetime, &within, NOW), Ok(()));
            let longer = claims(json!({"iat": NOW - 41, "exp": NOW + 60}));
            assert_eq!(
                check_claims(&lifetime, &longer, NOW),
                Err(JwtError::TooLongLived)
            );
        }

        #[test]
        fn an_audience_list_needs_one_of_the_policy_s() {
            let at =
                |aud: serde_json::Value| check_claims(&jwt(), &claims(json!({"aud": aud})), NOW);
            assert_eq!(at(json!(["other", "api"])), Ok(()));
            assert_eq!(at(json!(["other", 1])), Err(JwtError::WrongAudience));
            assert_eq!(at(json!([])), Err(JwtError::WrongAudience));
            assert_eq!(at(json!("apis")), Err(JwtError::WrongAudience));
        }

        #[test]
        fn a_token_under_another_secret_or_algorithm_is_refused() {
            let other = token_with_secret("another-secret-of-thirty-two-bytes!!");
            assert_eq!(run(&hs256(), &other).err(), Some(JwtError::BadSignature));
            let rs = sign(json!({"alg": "RS256"}), &claims(json!({})), SECRET);
            assert!(matches!(
                run(&hs256(), &rs).err(),
                Some(JwtError::AlgorithmNotAllowed(_))
            ));
        }
    }

    /// Tokens signed with RSA, EC and Ed25519 keys, and JWKS documents holding them.
    mod keys;
}
