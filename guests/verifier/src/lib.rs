//! The verifier layer: exports `faas:guests/verifier` to the decorator. It reads the same compiled
//! policy (imported from `faas:function/policy`) and makes the checks that need more than the
//! decorator has: a bearer token's signature and claims ([`faas_policy_core::jwt`]), a webhook's
//! body signature ([`faas_policy_core::hmac`]), both with secrets read at run time from
//! `wasi:config/store`, and rate-limit counts kept in the host's `wasi:keyvalue` store. A read
//! error counts as an absent secret, and a store error as a failed count: both deny. With
//! `jwks-uri`, the identity provider's keys are fetched through outgoing HTTP and cached in the
//! same store ([`jwks`]).
//!
//! The verifier's state is its own: its keys (`faas-jwks/…`, `faas-limit/…`) are out of reach of
//! the function and its dependencies, whose `wasi:keyvalue` goes through the key-value guard, and
//! what it reads back is checked as if it had just been fetched.

mod jwks;

wit_bindgen::generate!({
    path: "../wit",
    world: "faas:guests/verifier-layer",
    generate_all,
});

use exports::faas::guests::verifier::{Guest, VerifiedToken};
use faas::function::policy;
use faas_policy_core::{Policy, hex};
use wasi::keyvalue::atomics;
pub(crate) use wasi::keyvalue::store;

struct Verifier;

impl Guest for Verifier {
    fn verify_token(token: String) -> Result<VerifiedToken, String> {
        let policy = read_policy()?;
        let jwt = policy.jwt.as_ref().ok_or("the policy accepts no JWTs")?;
        let secret = |key: &str| wasi::config::store::get(key).ok().flatten();
        let verified = match &jwt.remote_jwks {
            None => faas_policy_core::jwt::verify(jwt, &token, now(), &secret)
                .map_err(|e| e.to_string()),
            Some(remote) => jwks::verify(jwt, remote, &token, now(), &secret),
        };
        verified.map(|v| VerifiedToken {
            subject: v.subject,
            scopes: v.scopes,
            claims: v.claims,
        })
    }

    fn verify_signature(headers: Vec<(String, String)>, body: Vec<u8>) -> Result<(), String> {
        let policy = read_policy()?;
        let hmac = policy
            .hmac
            .as_ref()
            .ok_or("the policy has no [auth.hmac]")?;
        let secret = wasi::config::store::get(&hmac.secret)
            .ok()
            .flatten()
            .unwrap_or_default();
        faas_policy_core::hmac::verify(hmac, &headers, &body, secret.as_bytes(), now())
    }

    fn count(limit: u32, key: String, window: u64) -> Result<u64, String> {
        let document = policy::document();
        // Counters are named after the policy (two functions with different policies never
        // share one), the limit and the window; the key is hashed, so that a client-chosen
        // header value cannot make a counter's name long.
        let (policy_digest, key_digest) = {
            use sha2::Digest;
            (
                hex(&sha2::Sha256::digest(&document)[..8]),
                hex(&sha2::Sha256::digest(key.as_bytes())[..16]),
            )
        };
        let prefix = format!("faas-limit/{policy_digest}/{limit}/");
        let counter = format!("{prefix}{window}/{key_digest}");
        let bucket =
            store::open("").map_err(|e| format!("cannot open the store: {}", shown(&e)))?;
        let counted = atomics::increment(&bucket, &counter, 1)
            .map_err(|e| format!("cannot count: {}", shown(&e)))?;
        // Counters expire with their window: the first request of a window, across instances,
        // removes this limit's counters of earlier windows, whatever their key (a client that
        // invents header values would otherwise leave one counter per value behind). Only a
        // counter's first request asks: a later one knows the window's sweep was claimed.
        if counted == 1
            && matches!(
                atomics::increment(&bucket, &format!("{prefix}{window}/sweep"), 1),
                Ok(1)
            )
        {
            sweep(&bucket, &prefix, window);
        }
        Ok(counted)
    }
}

/// Deletes the keys `PREFIX<window>/…` of windows before `window` (best effort).
fn sweep(bucket: &store::Bucket, prefix: &str, window: u64) {
    let mut stale = Vec::new();
    let mut cursor = None;
    // Listed first, deleted after: a store whose cursor is an offset would skip keys otherwise.
    while let Ok(page) = bucket.list_keys(cursor) {
        stale.extend(page.keys.into_iter().filter(|key| {
            key.strip_prefix(prefix)
                .and_then(|rest| rest.split_once('/'))
                .and_then(|(w, _)| w.parse::<u64>().ok())
                .is_some_and(|w| w < window)
        }));
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    for key in stale {
        let _ = bucket.delete(&key);
    }
}

/// The host's default key-value store.
pub(crate) fn open_store() -> Result<store::Bucket, String> {
    store::open("").map_err(|e| format!("cannot open the store: {}", shown(&e)))
}

fn read_policy() -> Result<Policy, String> {
    Policy::decode(&policy::document()).map_err(|e| format!("cannot read the policy document: {e}"))
}

/// The wall clock through the wasip2 crate, as in the decorator: it also moves the standard
/// library's WASI imports to the adapters' 0.2 release.
fn now() -> u64 {
    wasip2::clocks::wall_clock::now().seconds
}

pub(crate) fn shown(error: &store::Error) -> String {
    match error {
        store::Error::NoSuchStore => "no such store".into(),
        store::Error::AccessDenied => "access denied".into(),
        store::Error::Other(message) => message.clone(),
    }
}

export!(Verifier);
