//! The JWT layer: exports `faas:guests/jwt` to the decorator. It reads the same compiled policy
//! (imported from `faas:function/policy`) and verifies a bearer token's signature and claims with
//! [`faas_policy_core::jwt`]; the HS256 secret, when the policy names one, is read at run time from
//! `wasi:config/store`. A read error counts as an absent secret, which denies.

wit_bindgen::generate!({
    path: "../wit",
    world: "faas:guests/jwt-verifier",
    generate_all,
});

use exports::faas::guests::jwt::{Guest, VerifiedToken};
use faas::function::policy;
use faas_policy_core::Policy;

struct Verifier;

impl Guest for Verifier {
    fn verify(token: String) -> Result<VerifiedToken, String> {
        // The wall clock through the wasip2 crate, as in the decorator: it also moves the standard
        // library's WASI imports to the adapters' 0.2 release.
        let now = wasip2::clocks::wall_clock::now().seconds;
        let policy = Policy::decode(&policy::document())
            .map_err(|e| format!("cannot read the policy document: {e}"))?;
        let secret = |key: &str| wasi::config::store::get(key).ok().flatten();
        faas_policy_core::jwt::verify_under(&policy, &token, now, &secret).map(|v| VerifiedToken {
            subject: v.subject,
            scopes: v.scopes,
            claims: v.claims,
        })
    }
}

export!(Verifier);
