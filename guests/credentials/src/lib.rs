//! The credentials provider: exports `faas:function/credentials` to the function. A name the policy
//! grants is read at run time from `wasi:config/store` under the key the policy maps it to; any
//! other name is `denied`, whatever the host holds. No value is ever stored in the artifact.
//!
//! A `{ secret = "KEY" }` grant (WASI 0.3 artifacts) is answered from the secrets layer, which
//! fetched it from `wasmcloud:secrets` for this request before the function ran.
//!
//! When the policy allows the function to import `wasi:config/store` itself, this layer exports
//! that interface too, with the same rule: `get(name)` answers only a granted name (reading its
//! key), and `get-all` lists only the granted names. The host's store, which also holds the JWT
//! layer's HS256 secret and values never granted, is out of the function's reach.
//!
//! It links no standard library (guests/runtime says why).

#![no_std]

extern crate alloc;
use faas_guest_runtime as _;

wit_bindgen::generate!({
    path: "../wit",
    world: "faas:guests/credentials-provider",
    generate_all,
});

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use exports::faas::function::credentials::{CredentialError, Guest};
use exports::wasi::config::store as exported_store;
use faas::function::policy;
use faas::guests::secret_values::{self, SecretError};
use faas_policy_core::{Grant, Policy, ValueSource};
use wasi::config::store as host_store;

struct Credentials;

fn grants() -> Result<Vec<Grant>, String> {
    Policy::decode(&policy::document())
        .map(|policy| policy.credentials)
        .map_err(|e| format!("policy: {e}"))
}

impl Guest for Credentials {
    fn get(name: String) -> Result<String, CredentialError> {
        let grants = grants().map_err(CredentialError::Unavailable)?;
        let Some(grant) = grants.iter().find(|g| g.name == name) else {
            return Err(CredentialError::Denied);
        };
        if grant.source == ValueSource::Secrets {
            return secret_values::get(&grant.name).map_err(|e| match e {
                SecretError::NotFound => CredentialError::NotFound,
                SecretError::Unavailable(why) => CredentialError::Unavailable(why),
            });
        }
        match host_store::get(&grant.key) {
            Ok(Some(value)) => Ok(value),
            Ok(None) => Err(CredentialError::NotFound),
            Err(_) => Err(CredentialError::Unavailable(
                "the run-time configuration store failed".into(),
            )),
        }
    }
}

/// A granted value as the narrowed `wasi:config/store` answers it: absent when unset.
fn narrowed(grant: &Grant) -> Result<Option<String>, exported_store::Error> {
    if grant.source == ValueSource::Secrets {
        return match secret_values::get(&grant.name) {
            Ok(value) => Ok(Some(value)),
            Err(SecretError::NotFound) => Ok(None),
            Err(SecretError::Unavailable(why)) => Err(exported_store::Error::Upstream(why)),
        };
    }
    host_store::get(&grant.key).map_err(upstream)
}

/// The function's own `wasi:config/store`, narrowed to the granted names.
impl exported_store::Guest for Credentials {
    fn get(name: String) -> Result<Option<String>, exported_store::Error> {
        let grants = grants().map_err(exported_store::Error::Upstream)?;
        // An ungranted name is simply absent: the function cannot tell it from an unset one.
        let Some(grant) = grants.iter().find(|g| g.name == name) else {
            return Ok(None);
        };
        narrowed(grant)
    }

    fn get_all() -> Result<Vec<(String, String)>, exported_store::Error> {
        let mut values = Vec::new();
        for grant in grants().map_err(exported_store::Error::Upstream)? {
            if let Some(value) = narrowed(&grant)? {
                values.push((grant.name, value));
            }
        }
        Ok(values)
    }
}

fn upstream(error: host_store::Error) -> exported_store::Error {
    // The host's message could name its other keys: pass on only the kind of failure.
    match error {
        host_store::Error::Upstream(_) => {
            exported_store::Error::Upstream("the run-time configuration store failed".into())
        }
        host_store::Error::Io(_) => {
            exported_store::Error::Io("the run-time configuration store failed".into())
        }
    }
}

export!(Credentials);

// Linking the wasip2 crate moves the standard library's WASI imports to the adapters' 0.2 release.
#[used]
static WASI_RELEASE: fn() -> wasip2::clocks::wall_clock::Datetime = wasip2::clocks::wall_clock::now;
