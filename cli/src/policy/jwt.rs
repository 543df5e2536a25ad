//! The `[auth.jwt]` table: algorithms, keys (inline JWKS or the run-time HS256 secret) and the claim
//! rules, checked and compiled into the [`faas_policy_core::Jwt`] the JWT layer enforces.

use super::file::*;
use crate::source::{SourceFile, TextError};
use faas_policy_core::Jwt;
use std::ops::Range;
use toml::Spanned;

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
        (Some(reference), true) => Some(reference.get_ref().0.clone()),
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
    let mut jwks = Vec::new();
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
                object.insert(name.to_string(), serde_json::Value::String(value.clone()));
            }
        }
        let json = serde_json::Value::Object(object).to_string();
        faas_policy_core::jwt::check_jwk(&json)
            .map_err(|e| err(entry.span(), format!("invalid JWK: {e}")))?;
        jwks.push(json);
    }
    for alg in algorithms.iter().filter(|a| *a != "HS256") {
        let kty = match alg.as_str() {
            "RS256" => "RSA",
            "ES256" => "EC",
            _ => "OKP",
        };
        if !t.jwk.iter().any(|k| k.get_ref().kty == kty) {
            return Err(err(
                t.algorithms.span(),
                format!(
                    "{alg} is allowed but no [[auth.jwt.jwk]] has kty = \"{kty}\": no {alg} token could be verified"
                ),
            ));
        }
    }
    Ok(Jwt {
        issuers: t.issuers.get_ref().clone(),
        audiences: t.audiences.get_ref().clone(),
        algorithms,
        leeway_seconds: *t.leeway_seconds.get_ref(),
        required_claims: t.required_claims.clone(),
        scopes_claim: t.scopes_claim.clone(),
        subject_claim: t.subject_claim.clone(),
        max_token_bytes: t.max_token_bytes,
        hs256_secret,
        jwks,
    })
}
