//! The credentials provider: exports `faas:function/credentials` to the function. A name the policy
//! grants is read at run time from `wasi:config/store` under the key the policy maps it to; any
//! other name is `denied`, whatever the host holds. No value is ever stored in the artifact.

wit_bindgen::generate!({
    path: "../wit",
    world: "faas:guests/credentials-provider",
    generate_all,
});

use exports::faas::function::credentials::{CredentialError, Guest};
use faas::function::policy;
use faas_policy_core::Policy;

struct Credentials;

impl Guest for Credentials {
    fn get(name: String) -> Result<String, CredentialError> {
        let policy = Policy::decode(&policy::document())
            .map_err(|e| CredentialError::Unavailable(format!("policy: {e}")))?;
        let Some(grant) = policy.credentials.iter().find(|g| g.name == name) else {
            return Err(CredentialError::Denied);
        };
        match wasi::config::store::get(&grant.config_key) {
            Ok(Some(value)) => Ok(value),
            Ok(None) => Err(CredentialError::NotFound),
            Err(_) => Err(CredentialError::Unavailable(
                "the run-time configuration store failed".into(),
            )),
        }
    }
}

export!(Credentials);

// Linking the wasip2 crate moves the standard library's WASI imports to the adapters' 0.2 release.
#[used]
static WASI_RELEASE: fn() -> wasip2::clocks::wall_clock::Datetime = wasip2::clocks::wall_clock::now;
