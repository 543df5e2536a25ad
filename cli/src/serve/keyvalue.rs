//! An in-memory `wasi:keyvalue` store (0.2.0-draft: `store` and `atomics`), one per `faas serve`
//! process and shared by every request's instance, so that what one instance counts the next one
//! sees: the policy's rate limits work locally as on a host with a shared store. Only the default
//! store (identifier `""`) exists. Values are bytes; counters are decimal text, as wasmtime's own
//! implementation keeps them.

use super::RequestState;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use wasmtime::component::{HasSelf, Linker, Resource};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../guests/wit/deps/keyvalue",
        inline: "
            package faas:hosts;
            world keyvalue-host {
                import wasi:keyvalue/store@0.2.0-draft;
                import wasi:keyvalue/atomics@0.2.0-draft;
            }
        ",
        world: "faas:hosts/keyvalue-host",
        with: {
            "wasi:keyvalue/store.bucket": super::Bucket,
        },
    });
}

use bindings::wasi::keyvalue::{atomics, store};

/// An open bucket: a handle on the process's one store.
pub struct Bucket;

/// The process's store.
#[derive(Default)]
pub struct Store {
    values: Mutex<HashMap<String, Vec<u8>>>,
}

impl Store {
    /// The store every request of this process shares.
    pub fn process() -> Arc<Store> {
        static STORE: OnceLock<Arc<Store>> = OnceLock::new();
        STORE.get_or_init(Arc::default).clone()
    }

    /// Every key in the store, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.values().keys().cloned().collect();
        keys.sort();
        keys
    }

    fn values(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<u8>>> {
        // A panic while holding the lock leaves the map as it was: still usable.
        self.values.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds `delta` to the counter at `key` (0 when absent) and returns the new value.
    pub fn increment(&self, key: &str, delta: u64) -> Result<u64, String> {
        let mut values = self.values();
        let current = match values.get(key) {
            None => 0,
            Some(bytes) => std::str::from_utf8(bytes)
                .ok()
                .and_then(|text| text.parse::<u64>().ok())
                .ok_or_else(|| format!("the value at {key} is not a counter"))?,
        };
        let next = current
            .checked_add(delta)
            .ok_or_else(|| format!("the counter at {key} would overflow"))?;
        values.insert(key.to_string(), next.to_string().into_bytes());
        Ok(next)
    }
}

impl store::Host for RequestState {
    fn open(&mut self, identifier: String) -> Result<Resource<Bucket>, store::Error> {
        if !identifier.is_empty() {
            return Err(store::Error::NoSuchStore);
        }
        self.table
            .push(Bucket)
            .map_err(|e| store::Error::Other(e.to_string()))
    }
}

impl store::HostBucket for RequestState {
    fn get(&mut self, _: Resource<Bucket>, key: String) -> Result<Option<Vec<u8>>, store::Error> {
        Ok(self.keyvalue.values().get(&key).cloned())
    }

    fn set(
        &mut self,
        _: Resource<Bucket>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), store::Error> {
        self.keyvalue.values().insert(key, value);
        Ok(())
    }

    fn delete(&mut self, _: Resource<Bucket>, key: String) -> Result<(), store::Error> {
        self.keyvalue.values().remove(&key);
        Ok(())
    }

    fn exists(&mut self, _: Resource<Bucket>, key: String) -> Result<bool, store::Error> {
        Ok(self.keyvalue.values().contains_key(&key))
    }

    fn list_keys(
        &mut self,
        _: Resource<Bucket>,
        cursor: Option<u64>,
    ) -> Result<store::KeyResponse, store::Error> {
        // One page of every key, in order: the cursor is an offset.
        const PAGE: usize = 1000;
        let mut keys: Vec<String> = self.keyvalue.values().keys().cloned().collect();
        keys.sort();
        let start = cursor.unwrap_or(0) as usize;
        let page: Vec<String> = keys.iter().skip(start).take(PAGE).cloned().collect();
        let next = (start + page.len() < keys.len()).then_some((start + page.len()) as u64);
        Ok(store::KeyResponse {
            keys: page,
            cursor: next,
        })
    }

    fn drop(&mut self, bucket: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for RequestState {
    fn increment(
        &mut self,
        _: Resource<Bucket>,
        key: String,
        delta: u64,
    ) -> Result<u64, store::Error> {
        self.keyvalue
            .increment(&key, delta)
            .map_err(store::Error::Other)
    }
}

/// Adds the store to `linker`.
pub(super) fn add_to_linker(linker: &mut Linker<RequestState>) -> anyhow::Result<()> {
    store::add_to_linker::<RequestState, HasSelf<RequestState>>(linker, |s| s)
        .map_err(anyhow::Error::from)?;
    atomics::add_to_linker::<RequestState, HasSelf<RequestState>>(linker, |s| s)
        .map_err(anyhow::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_shared_exact_and_refuse_non_numbers() {
        let store = Arc::new(Store::default());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for _ in 0..250 {
                        store.increment("n", 1).unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(store.increment("n", 0).unwrap(), 1000);
        store.values().insert("text".into(), b"abc".to_vec());
        assert!(store.increment("text", 1).is_err());
        store
            .values()
            .insert("max".into(), u64::MAX.to_string().into_bytes());
        assert!(store.increment("max", 1).is_err());
    }
}
