//! The `[auth.jwt]` table: algorithms, keys (inline JWKS or the run-time HS256 secret) and the claim
//! rules, checked and compiled into the [`faas_policy_core::Jwt`] the verifier layer enforces.

use super::file::*;
use crate::source::{SourceFile, TextError};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use faas_policy_core::Jwt;
use std::ops::Range;
use toml::Spanned;

/// The smallest `max-token-bytes` accepted: below it, ordinary tokens would all be refused.
const MIN_TOKEN_BYTES: u32 = 1024;
/// The largest: more than any identity provider issues, and than hosts take in one header.
const MAX_TOKEN_BYTES: u32 = 65536;
/// The smallest RSA modulus accepted, in bits (NIST SP 800-131A; RFC 7518 §3.3 requires 2048).
const MIN_RSA_BITS: usize = 2048;

type Located = (Option<Range<usize>>, String);

/// Whether a JWK can verify tokens under this policy: its purpose (`use`, `key_ops`), its curve
/// or modulus, and its `alg` fit. A key that could never verify, or that verifies with a weak
/// key, is an error, located at the offending value when it has one.
fn check_key_use(jwk: &JwkTable, algorithms: &[String]) -> Result<(), Located> {
    let at = |value: &Spanned<String>| Some(value.span());
    if let Some(use_) = &jwk.use_
        && use_.get_ref() != "sig"
    {
        return Err((
            at(use_),
            format!(
                "`use = \"{}\"`: a key for tokens' signatures must have `use = \"sig\"`",
                use_.get_ref()
            ),
        ));
    }
    if let Some(ops) = &jwk.key_ops
        && !ops.get_ref().iter().any(|op| op == "verify")
    {
        return Err((
            Some(ops.span()),
            "`key_ops` does not include \"verify\": this key may not verify signatures".into(),
        ));
    }
    let kty = jwk.kty.get_ref().as_str();
    let fits = match kty {
        "RSA" => "RS256",
        "EC" => "ES256",
        "OKP" => "EdDSA",
        other => {
            return Err((
                at(&jwk.kty),
                format!("unsupported key type `{other}`: use RSA, EC (P-256) or OKP (Ed25519)"),
            ));
        }
    };
    if let Some(alg) = &jwk.alg {
        if alg.get_ref() != fits {
            return Err((
                at(alg),
                format!(
                    "`alg = \"{}\"` does not fit a {kty} key (its algorithm is {fits})",
                    alg.get_ref()
                ),
            ));
        }
        if !algorithms.iter().any(|a| a == fits) {
            return Err((
                at(alg),
                format!(
                    "this key is for {fits}, which `algorithms` does not allow: it could never be used"
                ),
            ));
        }
    }
    match (kty, &jwk.crv) {
        ("EC", Some(crv)) if crv.get_ref() != "P-256" => {
            return Err((
                at(crv),
                format!(
                    "curve `{}` does not fit ES256, which uses P-256",
                    crv.get_ref()
                ),
            ));
        }
        ("OKP", Some(crv)) if crv.get_ref() != "Ed25519" => {
            return Err((
                at(crv),
                format!(
                    "curve `{}` does not fit EdDSA here, which uses Ed25519",
                    crv.get_ref()
                ),
            ));
        }
        _ => {}
    }
    if kty == "RSA" {
        let decode = |value: &Option<Spanned<String>>, name: &str| {
            let value = value
                .as_ref()
                .ok_or_else(|| (None, format!("this RSA key has no `{name}`")))?;
            URL_SAFE_NO_PAD
                .decode(value.get_ref())
                .map(|bytes| (value.span(), bytes))
                .map_err(|_| {
                    (
                        at(value),
                        format!("`{name}` is not base64url without padding"),
                    )
                })
        };
        let (n_span, n) = decode(&jwk.n, "n")?;
        let n = strip_leading_zeros(&n);
        let bits = n
            .first()
            .map_or(0, |b| n.len() * 8 - b.leading_zeros() as usize);
        if bits < MIN_RSA_BITS {
            return Err((
                Some(n_span),
                format!("an RSA key of {bits} bits is too weak: use at least {MIN_RSA_BITS} bits"),
            ));
        }
        let (e_span, e) = decode(&jwk.e, "e")?;
        let e = strip_leading_zeros(&e);
        let small = e.len() <= 8;
        let value = e
            .iter()
            .fold(0u64, |acc, b| acc.wrapping_shl(8) | u64::from(*b));
        let odd = e.last().is_some_and(|b| b & 1 == 1);
        if !odd || (small && value < 3) {
            return Err((
                Some(e_span),
                "the RSA exponent `e` must be odd and at least 3 (usually AQAB, 65537)".into(),
            ));
        }
    }
    Ok(())
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

pub(super) fn compile_jwt(
    source: &SourceFile,
    table: &Spanned<JwtTable>,
) -> Result<Jwt, TextError> {
    let t = table.get_ref();
    let err = |span: Range<usize>, message: String| source.error_at(Some(span), message);
    for (list, what) in [(&t.issuers, "issuers"), (&t.audiences, "audiences")] {
        if list.get_ref().is_empty() {
            return Err(err(
                list.span(),
                format!("`{what}` is empty: every token would be refused"),
            ));
        }
    }
    let algorithms: Vec<String> = t.algorithms.get_ref().iter().map(|a| a.0.clone()).collect();
    if algorithms.is_empty() {
        return Err(err(
            t.algorithms.span(),
            "`algorithms` is empty: list the algorithms tokens may use".into(),
        ));
    }
    if *t.leeway_seconds.get_ref() > 300 {
        return Err(err(
            t.leeway_seconds.span(),
            "`leeway-seconds` above 300 would accept long-expired tokens".into(),
        ));
    }
    let hs256 = algorithms.iter().any(|a| a == "HS256");
    let hs256_secret = match (&t.hs256_secret, hs256) {
        (Some(reference), true) => Some(
            reference
                .get_ref()
                .config_key()
                .map_err(|why| err(reference.span(), why))?,
        ),
        (None, true) => {
            return Err(err(
                t.algorithms.span(),
                "HS256 needs `hs256-secret = { config = \"KEY\" }`: the run-time key holding the secret".into(),
            ));
        }
        (Some(reference), false) => {
            return Err(err(
                reference.span(),
                "`hs256-secret` is set but HS256 is not in `algorithms`".into(),
            ));
        }
        (None, false) => None,
    };
    let max_token_bytes = *t.max_token_bytes.get_ref();
    if !(MIN_TOKEN_BYTES..=MAX_TOKEN_BYTES).contains(&max_token_bytes) {
        return Err(err(
            t.max_token_bytes.span(),
            format!(
                "`max-token-bytes` must be between {MIN_TOKEN_BYTES} (an RS256 token with a few \
                 claims is about 600 bytes) and {MAX_TOKEN_BYTES}"
            ),
        ));
    }
    if let Some(lifetime) = &t.max_lifetime_seconds
        && *lifetime.get_ref() == 0
    {
        return Err(err(
            lifetime.span(),
            "`max-lifetime-seconds = 0` would refuse every token; leave it out for no limit".into(),
        ));
    }
    let remote_jwks = compile_remote_jwks(source, t)?;
    let jwks = compile_jwks(source, t, &algorithms, remote_jwks.is_some())?;
    if remote_jwks.is_some() && algorithms.iter().all(|a| a == "HS256") {
        return Err(err(
            t.algorithms.span(),
            "`jwks-uri` gives public keys, but `algorithms` allows HS256 only: add RS256, ES256 \
             or EdDSA, or remove `jwks-uri`"
                .into(),
        ));
    }
    Ok(Jwt {
        issuers: t.issuers.get_ref().clone(),
        audiences: t.audiences.get_ref().clone(),
        algorithms,
        leeway_seconds: *t.leeway_seconds.get_ref(),
        required_claims: t.required_claims.clone(),
        scopes_claim: t.scopes_claim.clone(),
        subject_claim: t.subject_claim.clone(),
        max_token_bytes,
        max_lifetime_seconds: t.max_lifetime_seconds.as_ref().map(|l| *l.get_ref()),
        hs256_secret,
        jwks,
        remote_jwks,
    })
}

/// How long fetched keys are trusted by default, and the shortest and longest choice.
const DEFAULT_JWKS_CACHE_SECONDS: u32 = 300;
const JWKS_CACHE_SECONDS: std::ops::RangeInclusive<u32> = 60..=86_400;
/// The least time between two fetches by default (an unknown `kid` asks for a fetch).
const DEFAULT_JWKS_MIN_REFRESH_SECONDS: u32 = 30;

/// `jwks-uri` and its cache settings: an `https` URL (or `http` to a loopback address, for local
/// identity providers and tests), fetched at run time by the verifier layer.
fn compile_remote_jwks(
    source: &SourceFile,
    t: &JwtTable,
) -> Result<Option<faas_policy_core::RemoteJwks>, TextError> {
    let err = |span: Range<usize>, message: String| source.error_at(Some(span), message);
    let Some(uri) = &t.jwks_uri else {
        if let Some(setting) = [&t.jwks_cache_seconds, &t.jwks_min_refresh_seconds]
            .into_iter()
            .flatten()
            .next()
        {
            return Err(err(
                setting.span(),
                "this setting is for keys fetched at run time: it needs `jwks-uri`".into(),
            ));
        }
        return Ok(None);
    };
    if let Err(why) = crate::capabilities::split_jwks_uri(uri.get_ref()) {
        return Err(err(uri.span(), format!("invalid `jwks-uri`: {why}")));
    }
    let cache_seconds = t
        .jwks_cache_seconds
        .as_ref()
        .map_or(DEFAULT_JWKS_CACHE_SECONDS, |s| *s.get_ref());
    if let Some(setting) = &t.jwks_cache_seconds
        && !JWKS_CACHE_SECONDS.contains(&cache_seconds)
    {
        return Err(err(
            setting.span(),
            format!(
                "`jwks-cache-seconds` must be {} to {} (a day)",
                JWKS_CACHE_SECONDS.start(),
                JWKS_CACHE_SECONDS.end()
            ),
        ));
    }
    let min_refresh_seconds = t
        .jwks_min_refresh_seconds
        .as_ref()
        .map_or(DEFAULT_JWKS_MIN_REFRESH_SECONDS.min(cache_seconds), |s| {
            *s.get_ref()
        });
    if let Some(setting) = &t.jwks_min_refresh_seconds
        && (min_refresh_seconds == 0 || min_refresh_seconds > cache_seconds)
    {
        return Err(err(
            setting.span(),
            "`jwks-min-refresh-seconds` must be at least 1 and at most `jwks-cache-seconds`: \
             tokens with unknown kids must not make every request fetch the keys"
                .into(),
        ));
    }
    Ok(Some(faas_policy_core::RemoteJwks {
        uri: uri.get_ref().clone(),
        cache_seconds,
        min_refresh_seconds,
    }))
}

/// The `[[auth.jwt.jwk]]` keys as JWK JSON, each checked to be a public key that can verify tokens
/// under `algorithms`, and every allowed asymmetric algorithm given at least one key.
fn compile_jwks(
    source: &SourceFile,
    t: &JwtTable,
    algorithms: &[String],
    remote: bool,
) -> Result<Vec<String>, TextError> {
    let err = |span: Range<usize>, message: String| source.error_at(Some(span), message);
    let mut jwks = Vec::new();
    let mut kids: Vec<&str> = Vec::new();
    for entry in &t.jwk {
        let jwk = entry.get_ref();
        if jwk.k.is_some() || jwk.d.is_some() {
            return Err(err(
                entry.span(),
                "this JWK holds secret key material (`k` or `d`); a policy carries public keys only \
                 (HS256 secrets come from `hs256-secret = { config = \"KEY\" }`)"
                    .into(),
            ));
        }
        check_key_use(jwk, algorithms)
            .map_err(|(span, message)| err(span.unwrap_or_else(|| entry.span()), message))?;
        if let Some(kid) = &jwk.kid {
            if kids.contains(&kid.get_ref().as_str()) {
                return Err(err(
                    kid.span(),
                    format!(
                        "duplicate kid `{}`: a token names its key by kid, so each must be unique",
                        kid.get_ref()
                    ),
                ));
            }
            kids.push(kid.get_ref());
        } else if t.jwk.iter().any(|other| {
            !std::ptr::eq(other.get_ref(), jwk)
                && other.get_ref().kid.is_none()
                && other.get_ref().kty.get_ref() == jwk.kty.get_ref()
        }) {
            return Err(err(
                entry.span(),
                format!(
                    "two {} keys without `kid`: a token without kid is accepted only when exactly \
                     one key fits, so neither could be used; give each key a kid",
                    jwk.kty.get_ref()
                ),
            ));
        }
        let mut object = serde_json::Map::new();
        for (name, value) in [
            ("kty", Some(&jwk.kty)),
            ("kid", jwk.kid.as_ref()),
            ("alg", jwk.alg.as_ref()),
            ("use", jwk.use_.as_ref()),
            ("n", jwk.n.as_ref()),
            ("e", jwk.e.as_ref()),
            ("crv", jwk.crv.as_ref()),
            ("x", jwk.x.as_ref()),
            ("y", jwk.y.as_ref()),
        ] {
            if let Some(value) = value {
                object.insert(
                    name.to_string(),
                    serde_json::Value::String(value.get_ref().clone()),
                );
            }
        }
        let json = serde_json::Value::Object(object).to_string();
        faas_policy_core::jwt::check_jwk(&json)
            .map_err(|e| err(entry.span(), format!("invalid JWK: {e}")))?;
        jwks.push(json);
    }
    // Keys fetched at run time may be of any allowed type.
    for alg in algorithms.iter().filter(|a| *a != "HS256" && !remote) {
        let kty = match alg.as_str() {
            "RS256" => "RSA",
            "ES256" => "EC",
            _ => "OKP",
        };
        if !t.jwk.iter().any(|k| k.get_ref().kty.get_ref() == kty) {
            return Err(err(
                t.algorithms.span(),
                format!(
                    "{alg} is allowed but no [[auth.jwt.jwk]] has kty = \"{kty}\": no {alg} token could be verified"
                ),
            ));
        }
    }
    Ok(jwks)
}
