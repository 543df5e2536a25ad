//! The secrets layer: for a WASI 0.3 artifact whose policy grants `[credentials]` from
//! `wasmcloud:secrets@2.1.0` (`name = { secret = "KEY" }`). That interface's functions are async,
//! which the function's synchronous `handle` cannot wait for; so the P3 HTTP adapter calls
//! `prefetch` before the decorator, which fetches and reveals every granted secret into this
//! instance (one per request), and the credentials provider then answers the function's
//! `credentials.get` from `secret-values`. Only granted keys are ever asked for, and the values
//! live as long as the request's instance.

wit_bindgen::generate!({
    path: "../wit",
    world: "faas:guests/secrets-layer",
    generate_all,
});

use exports::faas::guests::secret_prefetch;
use exports::faas::guests::secret_values::{self, SecretError};
use faas::function::policy;
use faas_policy_core::{Policy, ValueSource};
use std::cell::RefCell;
use wasmcloud::secrets::{reveal, store};

/// Each granted name's value, or why it has none, as fetched for this request.
struct Fetched(RefCell<Vec<(String, Result<String, SecretError>)>>);

// SAFETY: wasm32 guests are single-threaded.
unsafe impl Sync for Fetched {}

static FETCHED: Fetched = Fetched(RefCell::new(Vec::new()));

struct Secrets;

impl secret_prefetch::Guest for Secrets {
    async fn prefetch() {
        let grants = match Policy::decode(&policy::document()) {
            Ok(policy) => policy.credentials,
            // Nothing fetched: every secret credential is then `unavailable`.
            Err(_) => return,
        };
        let mut fetched = Vec::new();
        for grant in grants.iter().filter(|g| g.source == ValueSource::Secrets) {
            fetched.push((grant.name.clone(), fetch(&grant.key).await));
        }
        *FETCHED.0.borrow_mut() = fetched;
    }
}

/// One secret, revealed as text.
async fn fetch(key: &str) -> Result<String, SecretError> {
    let secret = match store::get(key.to_string()).await {
        Ok(secret) => secret,
        Err(store::SecretsError::NotFound) => return Err(SecretError::NotFound),
        // The backend's message could name other keys: pass on only the kind of failure.
        Err(store::SecretsError::Upstream(_)) | Err(store::SecretsError::Io(_)) => {
            return Err(SecretError::Unavailable("the secrets store failed".into()));
        }
    };
    match reveal::reveal(&secret).await {
        store::SecretValue::String(value) => Ok(value),
        store::SecretValue::Bytes(bytes) => String::from_utf8(bytes)
            .map_err(|_| SecretError::Unavailable("the secret is not UTF-8 text".into())),
    }
}

impl secret_values::Guest for Secrets {
    fn get(name: String) -> Result<String, SecretError> {
        FETCHED
            .0
            .borrow()
            .iter()
            .find(|(granted, _)| *granted == name)
            .map(|(_, value)| value.clone())
            .unwrap_or_else(|| {
                Err(SecretError::Unavailable(
                    "not fetched for this request".into(),
                ))
            })
    }
}

export!(Secrets);

// Linking the wasip2 crate moves the standard library's WASI imports to the guests' 0.2 release.
#[used]
static WASI_RELEASE: fn() -> wasip2::clocks::wall_clock::Datetime = wasip2::clocks::wall_clock::now;
