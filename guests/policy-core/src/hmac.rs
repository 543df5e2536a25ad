//! Webhook signatures (`[auth.hmac]`): an HMAC of the body with a shared secret, in the layouts
//! providers use (GitHub's `x-hub-signature-256: sha256=<hex>`, Stripe's
//! `t=<time>,v1=<hex>` over `<time>.<body>`, or a header, prefix and encoding of one's own).
//! Digests are compared in constant time, by the `hmac` crate.

extern crate std;

use crate::hex;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use base64::Engine;
use hmac::{Hmac as HmacOf, Mac};

use crate::{DigestEncoding, Hmac, HmacAlgorithm, SignatureFormat};

/// Verifies the request's signature: `headers` (names lower-case) and `body` as received, the
/// shared `secret`, and the wall clock `now` (seconds). The error is a reason for the log.
pub fn verify(
    hmac: &Hmac,
    headers: &[(String, String)],
    body: &[u8],
    secret: &[u8],
    now: u64,
) -> Result<(), String> {
    if secret.is_empty() {
        return Err("no secret: the run-time configuration has no value for it".into());
    }
    // As for HS256: a short or blank secret is guessable, so it verifies nothing.
    if secret.len() < crate::jwt::MIN_HMAC_SECRET_BYTES || secret.trim_ascii().is_empty() {
        return Err(alloc::format!(
            "the secret is shorter than {} bytes or blank",
            crate::jwt::MIN_HMAC_SECRET_BYTES
        ));
    }
    let mut values = headers.iter().filter(|(k, _)| *k == hmac.header);
    let Some((_, value)) = values.next() else {
        return Err(format!("no {} header", hmac.header));
    };
    if values.next().is_some() {
        return Err(format!("repeated {} header", hmac.header));
    }
    let value = value.trim();
    match &hmac.format {
        SignatureFormat::Prefixed { prefix, encoding } => {
            let Some(encoded) = value.strip_prefix(prefix.as_str()) else {
                return Err(format!("the signature does not start with `{prefix}`"));
            };
            let digest = decode(encoded, *encoding).ok_or("the signature is not well-formed")?;
            check(hmac.algorithm, secret, &[body], &digest)
        }
        SignatureFormat::Timestamped { tolerance_seconds } => {
            let mut timestamp = None;
            let mut signatures = Vec::new();
            for part in value.split(',') {
                match part.trim().split_once('=') {
                    Some(("t", t)) if timestamp.is_none() => timestamp = Some(t),
                    Some(("t", _)) => return Err("repeated timestamp".into()),
                    Some(("v1", s)) => signatures.push(s),
                    // Other schemes (v0, test-mode signatures) are not ours to accept.
                    _ => {}
                }
            }
            let t = timestamp.ok_or("no timestamp (t=)")?;
            let time: u64 = t.parse().map_err(|_| "the timestamp is not a number")?;
            if time.abs_diff(now) > u64::from(*tolerance_seconds) {
                return Err(format!(
                    "the timestamp is {} s from now, more than the {tolerance_seconds} s tolerated",
                    time.abs_diff(now)
                ));
            }
            if signatures.is_empty() {
                return Err("no v1 signature".into());
            }
            // Any one of the listed signatures (providers list several while rotating secrets).
            let mut reason = String::new();
            for signature in signatures {
                let Some(digest) = decode(signature, DigestEncoding::Hex) else {
                    reason = "a v1 signature is not well-formed".into();
                    continue;
                };
                match check(hmac.algorithm, secret, &[t.as_bytes(), b".", body], &digest) {
                    Ok(()) => return Ok(()),
                    Err(e) => reason = e,
                }
            }
            Err(reason)
        }
    }
}

/// The signature header a provider would send for `body` at time `now`, under `hmac` with
/// `secret`: what tests present on routes with `signed = true`.
pub fn sign(hmac: &Hmac, body: &[u8], secret: &[u8], now: u64) -> (String, String) {
    let value = match &hmac.format {
        SignatureFormat::Prefixed { prefix, encoding } => {
            let digest = digest(hmac.algorithm, secret, &[body]);
            let encoded = match encoding {
                DigestEncoding::Hex => hex(&digest),
                DigestEncoding::Base64 => base64::engine::general_purpose::STANDARD.encode(&digest),
            };
            format!("{prefix}{encoded}")
        }
        SignatureFormat::Timestamped { .. } => {
            let t = now.to_string();
            let digest = digest(hmac.algorithm, secret, &[t.as_bytes(), b".", body]);
            format!("t={t},v1={}", hex(&digest))
        }
    };
    (hmac.header.clone(), value)
}

fn digest(algorithm: HmacAlgorithm, secret: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    fn of<M: Mac + hmac::digest::KeyInit>(secret: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(secret).expect("any key size");
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().to_vec()
    }
    match algorithm {
        HmacAlgorithm::Sha256 => of::<HmacOf<sha2::Sha256>>(secret, parts),
        HmacAlgorithm::Sha512 => of::<HmacOf<sha2::Sha512>>(secret, parts),
    }
}

fn check(
    algorithm: HmacAlgorithm,
    secret: &[u8],
    parts: &[&[u8]],
    expected: &[u8],
) -> Result<(), String> {
    let matches = match algorithm {
        HmacAlgorithm::Sha256 => mac::<HmacOf<sha2::Sha256>>(secret, parts, expected),
        HmacAlgorithm::Sha512 => mac::<HmacOf<sha2::Sha512>>(secret, parts, expected),
    };
    if matches {
        Ok(())
    } else {
        Err("the signature does not match the body".into())
    }
}

fn mac<M: Mac + hmac::digest::KeyInit>(secret: &[u8], parts: &[&[u8]], expected: &[u8]) -> bool {
    let Ok(mut mac) = <M as hmac::digest::KeyInit>::new_from_slice(secret) else {
        return false;
    };
    for part in parts {
        mac.update(part);
    }
    mac.verify_slice(expected).is_ok()
}

fn decode(text: &str, encoding: DigestEncoding) -> Option<Vec<u8>> {
    match encoding {
        DigestEncoding::Base64 => base64::engine::general_purpose::STANDARD.decode(text).ok(),
        DigestEncoding::Hex => {
            if !text.len().is_multiple_of(2) {
                return None;
            }
            (0..text.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn github() -> Hmac {
        Hmac {
            header: "x-hub-signature-256".into(),
            format: SignatureFormat::Prefixed {
                prefix: "sha256=".into(),
                encoding: DigestEncoding::Hex,
            },
            algorithm: HmacAlgorithm::Sha256,
            secret: "hook".into(),
            subject: "github".into(),
        }
    }

    fn stripe() -> Hmac {
        Hmac {
            header: "stripe-signature".into(),
            format: SignatureFormat::Timestamped {
                tolerance_seconds: 300,
            },
            algorithm: HmacAlgorithm::Sha256,
            secret: "hook".into(),
            subject: "stripe".into(),
        }
    }

    fn headers(name: &str, value: &str) -> Vec<(String, String)> {
        vec![(name.to_string(), value.to_string())]
    }

    // GitHub's documented example: secret "It's a Secret to Everybody", payload "Hello, World!".
    const GITHUB_EXAMPLE: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    /// A secret of the least length accepted.
    const SECRET: &[u8; 32] = b"a-webhook-secret-of-32-bytes-!!!";

    #[test]
    fn a_signature_verifies_and_a_changed_body_does_not() {
        let secret = SECRET;
        let (_, value) = sign(&github(), b"Hello, World!", secret, 0);
        let h = headers("x-hub-signature-256", &value);
        assert_eq!(verify(&github(), &h, b"Hello, World!", secret, 0), Ok(()));
        let err = verify(&github(), &h, b"Hello, World?", secret, 0).unwrap_err();
        assert!(err.contains("does not match"), "{err}");
        let err = verify(
            &github(),
            &h,
            b"Hello, World!",
            b"another-secret-of-32-bytes-!!!!!",
            0,
        )
        .unwrap_err();
        assert!(err.contains("does not match"), "{err}");
        let err = verify(&github(), &[], b"Hello, World!", secret, 0).unwrap_err();
        assert!(err.contains("no x-hub-signature-256"), "{err}");
        let mut twice = h.clone();
        twice.extend(h);
        assert!(verify(&github(), &twice, b"Hello, World!", secret, 0).is_err());
        let err = verify(
            &github(),
            &headers("x-hub-signature-256", "sha1=00"),
            b"",
            secret,
            0,
        )
        .unwrap_err();
        assert!(err.contains("does not start"), "{err}");
    }

    fn stripe_signature(secret: &[u8], t: u64, body: &[u8]) -> String {
        let mut mac =
            <HmacOf<sha2::Sha256> as hmac::digest::KeyInit>::new_from_slice(secret).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        let digest = mac.finalize().into_bytes();
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn stripe_style_signatures_check_the_timestamp_and_any_v1() {
        let now = 1_800_000_000;
        let whsec = SECRET;
        let good = stripe_signature(whsec, now - 10, b"{}");
        let value = format!("t={},v1=00ff,v1={good},v0=abc", now - 10);
        let h = headers("stripe-signature", &value);
        assert_eq!(verify(&stripe(), &h, b"{}", whsec, now), Ok(()));
        assert!(verify(&stripe(), &h, b"{ }", whsec, now).is_err());
        // Replayed later than the tolerance.
        let err = verify(&stripe(), &h, b"{}", whsec, now + 400).unwrap_err();
        assert!(err.contains("tolerated"), "{err}");
        // The timestamp is signed: changing it breaks the signature.
        let moved = format!("t={},v1={good}", now - 5);
        let err = verify(
            &stripe(),
            &headers("stripe-signature", &moved),
            b"{}",
            whsec,
            now,
        )
        .unwrap_err();
        assert!(err.contains("does not match"), "{err}");
    }

    #[test]
    fn what_sign_writes_verifies_in_every_layout() {
        let mut base64_512 = github();
        base64_512.format = SignatureFormat::Prefixed {
            prefix: String::new(),
            encoding: DigestEncoding::Base64,
        };
        base64_512.algorithm = HmacAlgorithm::Sha512;
        for hmac in [github(), stripe(), base64_512] {
            let (name, value) = sign(&hmac, b"body", SECRET, 1_800_000_000);
            let h = headers(&name, &value);
            assert_eq!(verify(&hmac, &h, b"body", SECRET, 1_800_000_000), Ok(()));
            assert!(verify(&hmac, &h, b"other", SECRET, 1_800_000_000).is_err());
        }
        let (_, value) = sign(
            &github(),
            b"Hello, World!",
            b"It's a Secret to Everybody",
            0,
        );
        // GitHub's documented example (its secret is shorter than verify accepts).
        assert_eq!(value, GITHUB_EXAMPLE);
    }

    #[test]
    fn an_empty_short_or_blank_secret_never_verifies() {
        let h = headers("x-hub-signature-256", GITHUB_EXAMPLE);
        assert!(verify(&github(), &h, b"Hello, World!", b"", 0).is_err());
        // The second review: GitHub's own example secret is 26 bytes; whitespace is no secret.
        for secret in [
            &b"It's a Secret to Everybody"[..],
            &[b' '; 40],
            b"\t\n \t\n \t\n \t\n \t\n \t\n \t\n \t\n \t\n \t\n \t\n",
        ] {
            let (_, value) = sign(&github(), b"Hello, World!", secret, 0);
            let h = headers("x-hub-signature-256", &value);
            let err = verify(&github(), &h, b"Hello, World!", secret, 0).unwrap_err();
            assert!(err.contains("shorter than 32 bytes or blank"), "{err}");
        }
    }

    #[test]
    fn a_stripe_timestamp_counts_once_and_exactly_to_the_tolerance() {
        let now = 1_800_000_000;
        let body = b"{}";
        let at = |t: u64| sign(&stripe(), body, SECRET, t).1;
        // 300 s either side of now is within the tolerance; a second more is not.
        for t in [now - 300, now + 300] {
            let h = headers("stripe-signature", &at(t));
            assert_eq!(verify(&stripe(), &h, body, SECRET, now), Ok(()), "{t}");
        }
        for t in [now - 301, now + 301] {
            let h = headers("stripe-signature", &at(t));
            assert!(verify(&stripe(), &h, body, SECRET, now).is_err(), "{t}");
        }
        // A second `t` could pick which timestamp a layer reads: refused, first or second valid.
        let signed = at(now);
        let twice = format!("{signed},t={now}");
        let h = headers("stripe-signature", &twice);
        assert_eq!(
            verify(&stripe(), &h, body, SECRET, now),
            Err("repeated timestamp".to_string())
        );
        let early = format!("t=1,{signed}");
        let h = headers("stripe-signature", &early);
        assert_eq!(
            verify(&stripe(), &h, body, SECRET, now),
            Err("repeated timestamp".to_string())
        );
    }
}
