//! A `wasmcloud:secrets@2.1.0` store for `faas serve` (`--secret KEY=VALUE`, `--secrets-file`),
//! so that a WASI 0.3 artifact whose policy grants `{ secret = "KEY" }` credentials runs locally as
//! on a wasmCloud 2.x host. Its functions are async in the interface; the values are in memory, so
//! each answers at once.

use super::RequestState;
use std::collections::HashMap;
use std::sync::Arc;
use wasmtime::component::{Accessor, HasData, Linker, Resource};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/targets/deps/secrets-2.1.wit",
        inline: "
            package faas:hosts;
            world secrets-host {
                import wasmcloud:secrets/store@2.1.0;
                import wasmcloud:secrets/reveal@2.1.0;
            }
        ",
        world: "faas:hosts/secrets-host",
        imports: { default: store },
        with: {
            "wasmcloud:secrets/store.secret": super::Secret,
        },
    });
}

use bindings::wasmcloud::secrets::{reveal, store};

/// A secret the artifact looked up: its value, revealed only on request.
pub struct Secret(String);

/// The values `faas serve` was given, by key.
pub type Values = Arc<HashMap<String, String>>;

/// The store's state in a request.
pub(super) struct Secrets;

impl HasData for Secrets {
    type Data<'a> = &'a mut RequestState;
}

impl<T> store::HostWithStore<T> for Secrets {
    async fn get(
        accessor: &Accessor<T, Self>,
        key: String,
    ) -> Result<Resource<Secret>, store::SecretsError> {
        accessor.with(|mut access| {
            let state = access.get();
            let Some(value) = state.secrets.get(&key).cloned() else {
                return Err(store::SecretsError::NotFound);
            };
            state
                .table
                .push(Secret(value))
                .map_err(|e| store::SecretsError::Io(e.to_string()))
        })
    }
}

impl<T> store::HostSecretWithStore<T> for Secrets {
    fn drop(
        mut access: wasmtime::component::Access<'_, T, Self>,
        secret: Resource<Secret>,
    ) -> wasmtime::Result<()> {
        access.get().table.delete(secret)?;
        Ok(())
    }
}

impl store::Host for &mut RequestState {}
impl store::HostSecret for &mut RequestState {}

impl<T> reveal::HostWithStore<T> for Secrets {
    async fn reveal(accessor: &Accessor<T, Self>, secret: Resource<Secret>) -> store::SecretValue {
        accessor.with(|mut access| {
            let value = access
                .get()
                .table
                .get(&secret)
                .map(|s| s.0.clone())
                .unwrap_or_default();
            store::SecretValue::String(value)
        })
    }
}

impl reveal::Host for &mut RequestState {}

pub(super) fn add_to_linker(linker: &mut Linker<RequestState>) -> anyhow::Result<()> {
    store::add_to_linker::<RequestState, Secrets>(linker, |s| s).map_err(anyhow::Error::from)?;
    reveal::add_to_linker::<RequestState, Secrets>(linker, |s| s).map_err(anyhow::Error::from)
}
