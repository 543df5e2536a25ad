//! Asymmetric keys: which JWKS key verifies a token (`select_key`) and which fetched keys are
//! usable at all (`usable_keys`). The private keys below are throwaway test keys (`openssl
//! genpkey`, as DER), used nowhere else; the public JWKs are derived from them here.

use super::*;
use jsonwebtoken::{EncodingKey, Header, jwk::Jwk};

/// Standard base64 of the DER: PKCS#1 for RSA (2048 bits), PKCS#8 for P-256 and Ed25519.
const RSA_DER: &str = "\
MIIEowIBAAKCAQEAoUC2towx4xSb0OecVWY1URAW0J0n6nnuu9rGB5n+CR1s2T6P5nis7ahjvTNt18ARqaesIjbt\
LZNcyQby11DFg+q3lvI1trJEZuA2clh7inB4tEkaoLSBm8I8a1G5iaaUq/MAB9E4Oi2f5NAogSAlm1jGEejKzGNM\
RZK/yy21H/QeDkkW4465Xv0c0v5Rk/GeLcSScE9UE9FlohhT3EkGbrY2JIpQuYPSckth8MR0nv/cfpf3uexBYrhd\
N4znRCe5PruQu9kwpOjF7vbdKjRTZQJT7jc2pOSqtz8eDnNHAOcaHvfpxZi/ticLEEjZYOO/0IwDkaqcmaNNYfUC\
4YV/lQIDAQABAoIBAAg/r7kR3eFwZfIfTvt9YX/Wk1wzld2kRCae799mrLyZoT5RuXnANZRot0Vv8pAFVsH3flI3\
vhVFQwtTjCugiaIQaTjTBhVk9CPRF2ftB9DSpRIP5UlQQosNuhqBUTzt5RAQu7EqrjYnrFS/ozrLwrC6L1OuNWWU\
NMwgUChcG7ZZKSDPEpjCuIlFCb/LyAlv2gGJc0uuhjg6IuOJGCdC3n9fEJbz7Qw6AwQjMw5m98p+/kk3SrnNdpRH\
dkq53Q3DuW/HaqyvKZWdYn/8Jn2NUl8DJsHUdz3Uo6EYxwEL1VIsVHH88y1o1E/16vVP9G4xrPeHhIVoGIUUd+TL\
MycXODECgYEA4sXHVuJtDcVI/JywphxSdzHIGFL4KIdLidqPt6U78z2QmTav/XgjsrEHMDkpgYka2kPM4xEKud7/\
Nw6DrCCDPCoLJSgdx4/DWqcvfuY9XeCN4bDdS9WdX9gsZCaQDWk3rmVDskhvF9zip0Rbk2o5+Ia6Kff/v9hkXEo4\
hxAkV0kCgYEAtgkmbfejdhJ2doM8FNQkNy5tC7mM74xXzdSXtxrpDRCTAMUJZtSOfqkBXRUbfQjG5qW7Fmilohua\
Glkhru5IfxqoD++u3eTGHKN6Df6kr58kK5ty9UljgsmpOdLmmFFYZgMiDJ98h0v7W1dUkjLT1075qxosh16z94Zz\
1JC2Ke0CgYEAtCgN2l+d5Z/DATT2PbEobps07OYVUhVSFJ13KZ1yiCZz1tSUchjcu1xaapwu9kLW+2l7vzTNwaaA\
ONwmDTvzJnv8SLObHOyAdWd2mykMvaTk8tTQqit1kCwr8BCWxqC9ZKX8ZwmWgG2x/tKWsgFlNqTKBweHvYCLEqrA\
R8SyKkkCgYAkbDZFQIxzXoRXeDC4Vi4c4GwvMWQythkHdScaGwdQduWC/OnBqnwMedJtBoEmhnANzFFfzXZ+thki\
dn0X3FOjIvlHnwSVH2ZIaqlMTYw0G5qIIyVgUNvZWnJCwKElDvmqB6xzbCHljF1xzEp+qi7a4NFx293XBCrsNvnM\
KVxZjQKBgFgzzuXu1dWTj5PBLmFPoa863z76eMMeM4qGqVbZJ/BRl48wk1Iji5RPY2ndU50unu+eE5KZcePjeJjP\
kPMdkOAgV3o+iDBvTx9ijbHd3sFwWh5thz8JfvCwaJF5xQGFP6phlp4vuYNX8m2XzNsej5zUoPO/bhjKvTVvONb1\
4ZG9";
const EC_DER: &str = "\
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg65Xb6AbYbYZwBRuvQq6s0CLbCzXArzmWlvaepUzQ\
X/ShRANCAASQ3UHVHY+9hITubCR/UT6ZmdyY41WWkobRJi/UZIrKCeVSRbixE1ES8EkpAnGAwbkdg78O9ltRROz2\
Nb63zBZz";
const ED_DER: &str = "\
MC4CAQAwBQYDK2VwBCIEIPPGDPj9/vslCC/yygNV0LImvAHDIo7y4p0Bgfc+3DjF";

fn der(base64_text: &str) -> Vec<u8> {
    use base64::engine::general_purpose::STANDARD;
    let text: String = base64_text.split_whitespace().collect();
    STANDARD.decode(text).unwrap()
}

/// The signing key and its public JWK (with `alg`, as from_encoding_key writes it) named `kid`.
fn key(alg: Algorithm, kid: &str) -> (EncodingKey, Value) {
    let key = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_der(&der(RSA_DER)),
        Algorithm::ES256 => EncodingKey::from_ec_der(&der(EC_DER)),
        _ => EncodingKey::from_ed_der(&der(ED_DER)),
    };
    let mut jwk = serde_json::to_value(Jwk::from_encoding_key(&key, alg).unwrap()).unwrap();
    jwk["kid"] = json!(kid);
    (key, jwk)
}

/// `jwk` with the RSA modulus or curve point changed: another key under the same name.
fn another(mut jwk: Value, kid: &str) -> Value {
    let field = if jwk["kty"] == "RSA" { "n" } else { "x" };
    let mut bytes = URL_SAFE_NO_PAD
        .decode(jwk[field].as_str().unwrap())
        .unwrap();
    bytes[5] ^= 1;
    jwk[field] = json!(URL_SAFE_NO_PAD.encode(bytes));
    jwk["kid"] = json!(kid);
    jwk
}

fn sign(alg: Algorithm, kid: Option<&str>, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_string);
    jsonwebtoken::encode(&header, &claims(json!({})), key).unwrap()
}

fn policy(jwks: &[&Value]) -> Jwt {
    Jwt {
        algorithms: vec!["RS256".into(), "ES256".into(), "EdDSA".into()],
        jwks: jwks.iter().map(|k| k.to_string()).collect(),
        ..jwt()
    }
}

fn run(jwt: &Jwt, token: &str) -> Result<VerifiedToken, JwtError> {
    verify(jwt, token, NOW, &|_| None)
}

#[test]
fn each_algorithm_verifies_with_the_key_its_kid_names() {
    let (rsa, rsa_jwk) = key(Algorithm::RS256, "rsa-1");
    let (ec, ec_jwk) = key(Algorithm::ES256, "ec-1");
    let (ed, ed_jwk) = key(Algorithm::EdDSA, "ed-1");
    let rsa_2 = another(rsa_jwk.clone(), "rsa-2");
    let ec_2 = another(ec_jwk.clone(), "ec-2");
    // Each key beside another of its type, before it and after it.
    let jwt = policy(&[&rsa_2, &rsa_jwk, &ec_jwk, &ec_2, &ed_jwk]);
    for (alg, kid, key) in [
        (Algorithm::RS256, "rsa-1", &rsa),
        (Algorithm::ES256, "ec-1", &ec),
        (Algorithm::EdDSA, "ed-1", &ed),
    ] {
        let verified = run(&jwt, &sign(alg, Some(kid), key)).map_err(|e| e.to_string());
        assert_eq!(verified.map(|v| v.subject), Ok("u".to_string()), "{kid}");
    }
    // Another key's kid: that key is chosen, and the signature does not verify under it.
    assert!(matches!(
        run(&jwt, &sign(Algorithm::RS256, Some("rsa-2"), &rsa)),
        Err(JwtError::BadSignature)
    ));
    // A kid that names a key of another type or no key: no key.
    for (alg, kid, key) in [
        (Algorithm::RS256, "ec-1", &rsa),
        (Algorithm::ES256, "rsa-1", &ec),
        (Algorithm::EdDSA, "nobody", &ed),
    ] {
        assert!(
            matches!(
                run(&jwt, &sign(alg, Some(kid), key)),
                Err(JwtError::UnknownKey)
            ),
            "{kid}"
        );
    }
}

#[test]
fn without_a_kid_only_a_single_fitting_key_is_used() {
    let (rsa, rsa_jwk) = key(Algorithm::RS256, "rsa-1");
    let (ed, ed_jwk) = key(Algorithm::EdDSA, "ed-1");
    // One Ed25519 key: it is the key. Two RSA keys: guessing would let either sign for the other.
    let jwt = policy(&[&rsa_jwk, &another(rsa_jwk.clone(), "rsa-2"), &ed_jwk]);
    assert!(run(&jwt, &sign(Algorithm::EdDSA, None, &ed)).is_ok());
    assert!(matches!(
        run(&jwt, &sign(Algorithm::RS256, None, &rsa)),
        Err(JwtError::UnknownKey)
    ));
    assert!(run(&policy(&[&rsa_jwk]), &sign(Algorithm::RS256, None, &rsa)).is_ok());
}

#[test]
fn a_key_whose_alg_or_curve_says_otherwise_is_not_used() {
    let (ec, ec_jwk) = key(Algorithm::ES256, "ec-1");
    let mut other_alg = ec_jwk.clone();
    other_alg["alg"] = json!("ES384");
    let mut other_curve = ec_jwk.clone();
    other_curve["crv"] = json!("P-384");
    let token = sign(Algorithm::ES256, Some("ec-1"), &ec);
    assert!(run(&policy(&[&ec_jwk]), &token).is_ok());
    for jwk in [other_alg, other_curve] {
        assert!(
            matches!(run(&policy(&[&jwk]), &token), Err(JwtError::UnknownKey)),
            "{jwk}"
        );
    }
    // Without `alg` the key type decides.
    let mut no_alg = ec_jwk;
    no_alg.as_object_mut().unwrap().remove("alg");
    assert!(run(&policy(&[&no_alg]), &token).is_ok());
}

fn kids(document: &[&Value], algorithms: &[&str]) -> Vec<String> {
    let document = json!({ "keys": document });
    let algorithms: Vec<String> = algorithms.iter().map(|a| a.to_string()).collect();
    usable_keys(document.to_string().as_bytes(), &algorithms)
        .unwrap()
        .iter()
        .map(|k| {
            serde_json::from_str::<Value>(k).unwrap()["kid"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn with(jwk: &Value, kid: &str, field: &str, value: Value) -> Value {
    let mut jwk = jwk.clone();
    jwk["kid"] = json!(kid);
    jwk[field] = value;
    jwk
}

#[test]
fn fetched_keys_of_each_type_are_usable_unless_private_or_meant_for_something_else() {
    let (_, rsa) = key(Algorithm::RS256, "rsa");
    let (_, ec) = key(Algorithm::ES256, "ec");
    let (_, ed) = key(Algorithm::EdDSA, "ed");
    let all = ["RS256", "ES256", "EdDSA"];
    assert_eq!(kids(&[&rsa, &ec, &ed], &all), ["rsa", "ec", "ed"]);
    let keys = [
        with(&ed, "verify", "key_ops", json!(["verify"])),
        with(&ed, "sign-only", "key_ops", json!(["sign"])),
        with(&ed, "ops-not-a-list", "key_ops", json!("verify")),
        with(&ed, "private", "d", json!("AAAA")),
        with(&ed, "secret", "k", json!("AAAA")),
        with(&ed, "sig", "use", json!("sig")),
        with(&ed, "enc", "use", json!("enc")),
        with(&ec, "other-alg", "alg", json!("ES384")),
        with(&ec, "other-curve", "crv", json!("P-384")),
    ];
    let refs: Vec<&Value> = keys.iter().collect();
    assert_eq!(kids(&refs, &all), ["verify", "sig"]);
    // Only the policy's algorithms.
    assert_eq!(kids(&[&rsa, &ec, &ed], &["ES256"]), ["ec"]);
    assert_eq!(kids(&[&rsa, &ec, &ed], &["RS256", "EdDSA"]), ["rsa", "ed"]);
}

/// An RSA JWK whose modulus is `bytes`, a leading zero byte first (as some encoders write it).
fn modulus(kid: &str, bytes: usize, first: u8) -> Value {
    let mut n = vec![0u8, first];
    n.resize(bytes + 1, 0xab);
    json!({"kty": "RSA", "kid": kid, "e": "AQAB", "n": URL_SAFE_NO_PAD.encode(n)})
}

#[test]
fn an_rsa_modulus_needs_2048_bits_counted_from_its_first_set_bit() {
    let exactly = modulus("2048", 256, 0x80);
    let one_short = modulus("2047", 256, 0x7f);
    let short_bytes = modulus("2040", 255, 0xff);
    let long = modulus("4096", 512, 0x01);
    assert_eq!(
        kids(&[&exactly, &one_short, &short_bytes, &long], &["RS256"]),
        ["2048", "4096"]
    );
}

#[test]
fn a_jwk_that_is_not_one_or_cannot_be_used_is_named_so() {
    let (_, ec) = key(Algorithm::ES256, "ec");
    assert_eq!(check_jwk(&ec.to_string()), Ok(()));
    let not_json = check_jwk("{").unwrap_err();
    assert!(not_json.starts_with("not a JWK: "), "{not_json}");
    let bad_point = with(&ec, "ec", "x", json!("!!"));
    let unusable = check_jwk(&bad_point.to_string()).unwrap_err();
    assert!(
        unusable.starts_with("not a JWK: ") || unusable.starts_with("unusable key: "),
        "{unusable}"
    );
}
