//! The configuration bridge: serves `wasi:config/store@0.2.0-rc.1`, which the credentials
//! provider and the JWT layer read, from a host that supplies only its predecessor,
//! `wasi:config/runtime@0.2.0-draft` (wasmCloud 1.x hosts, wash-runtime 0.1). The two differ in
//! names only: every call and every error is passed on as it is.
//!
//! It links no standard library (guests/runtime says why).

#![no_std]

extern crate alloc;
use faas_guest_runtime as _;

wit_bindgen::generate!({
    path: "wit",
    world: "faas:config-bridge/bridge",
    generate_all,
});

use alloc::string::String;
use alloc::vec::Vec;
use exports::wasi::config0_2_0_rc_1::store::{Error, Guest};
use wasi::config0_2_0_draft::runtime::{self, ConfigError};

struct Bridge;

fn error(e: ConfigError) -> Error {
    match e {
        ConfigError::Upstream(message) => Error::Upstream(message),
        ConfigError::Io(message) => Error::Io(message),
    }
}

impl Guest for Bridge {
    fn get(key: String) -> Result<Option<String>, Error> {
        runtime::get(&key).map_err(error)
    }

    fn get_all() -> Result<Vec<(String, String)>, Error> {
        runtime::get_all().map_err(error)
    }
}

export!(Bridge);
