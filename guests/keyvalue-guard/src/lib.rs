//! The key-value guard: stands between a function (or a dependency) granted `wasi:keyvalue` and
//! the host's store, and keeps the keys of faas's own layers out of its reach. The verifier layer
//! keeps fetched JWKS keys (`faas-jwks/…`) and rate-limit counters (`faas-limit/…`) in the same
//! store; a function able to write them could plant its own signing key or reset its limits. Every
//! key starting with [`RESERVED`] (in any case) is `access-denied` to get, set, delete, test or
//! increment, and left out of `list-keys`; every other call is passed on as it is.
//!
//! It links no standard library (guests/runtime says why).

#![no_std]

extern crate alloc;
use faas_guest_runtime as _;

wit_bindgen::generate!({
    path: "../wit",
    world: "faas:guests/keyvalue-guard",
    generate_all,
});

use alloc::string::String;
use alloc::vec::Vec;
use exports::wasi::keyvalue::{atomics as outer_atomics, store as outer};
use wasi::keyvalue::{atomics, store};

/// The prefix of the keys faas's own layers keep in the store.
pub const RESERVED: &str = "faas-";

/// Whether `key` is one of faas's own (compared without regard to ASCII case, for stores that
/// fold it).
fn reserved(key: &str) -> bool {
    key.get(..RESERVED.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(RESERVED))
}

fn error(e: store::Error) -> outer::Error {
    match e {
        store::Error::NoSuchStore => outer::Error::NoSuchStore,
        store::Error::AccessDenied => outer::Error::AccessDenied,
        store::Error::Other(message) => outer::Error::Other(message),
    }
}

/// Refuses `key` when it is reserved.
fn allowed(key: &str) -> Result<(), outer::Error> {
    match reserved(key) {
        true => Err(outer::Error::AccessDenied),
        false => Ok(()),
    }
}

struct Guard;

/// A bucket of the host's store, as the function sees it.
struct Bucket(store::Bucket);

impl outer::Guest for Guard {
    type Bucket = Bucket;

    fn open(identifier: String) -> Result<outer::Bucket, outer::Error> {
        let bucket = store::open(&identifier).map_err(error)?;
        Ok(outer::Bucket::new(Bucket(bucket)))
    }
}

impl outer::GuestBucket for Bucket {
    fn get(&self, key: String) -> Result<Option<Vec<u8>>, outer::Error> {
        allowed(&key)?;
        self.0.get(&key).map_err(error)
    }

    fn set(&self, key: String, value: Vec<u8>) -> Result<(), outer::Error> {
        allowed(&key)?;
        self.0.set(&key, &value).map_err(error)
    }

    fn delete(&self, key: String) -> Result<(), outer::Error> {
        allowed(&key)?;
        self.0.delete(&key).map_err(error)
    }

    fn exists(&self, key: String) -> Result<bool, outer::Error> {
        allowed(&key)?;
        self.0.exists(&key).map_err(error)
    }

    fn list_keys(&self, cursor: Option<u64>) -> Result<outer::KeyResponse, outer::Error> {
        // A page may come back shorter; the cursor is the store's own, passed on.
        let page = self.0.list_keys(cursor).map_err(error)?;
        Ok(outer::KeyResponse {
            keys: page.keys.into_iter().filter(|k| !reserved(k)).collect(),
            cursor: page.cursor,
        })
    }
}

impl outer_atomics::Guest for Guard {
    fn increment(
        bucket: outer::BucketBorrow<'_>,
        key: String,
        delta: u64,
    ) -> Result<u64, outer::Error> {
        allowed(&key)?;
        atomics::increment(&bucket.get::<Bucket>().0, &key, delta).map_err(error)
    }
}

export!(Guard);
