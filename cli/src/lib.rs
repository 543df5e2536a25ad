//! faas: turn business logic into a sandboxed, policy-wrapped, signed WebAssembly component.
//!
//! This library holds everything the `faas` command line does; the binary only parses flags and
//! calls into it, so tests and benchmarks use the same code paths. Each stage has one module,
//! named after its command (docs/architecture.md draws the same map):
//!
//! | stage | module | what it does |
//! |---|---|---|
//! | `faas new` | [`new`] | renders a template into a function folder |
//! | `faas build` | [`build`] (with [`toolchains`]) | compiles the function, checks it with [`component`] |
//! | `faas wrap` | [`wrap`] | [`wrap::plan`] (pure) → [`wrap::encode`] (wac-graph) → the artifact |
//! | `faas validate` | [`validate`] | a typed report against the contract and a [`platform`] |
//! | `faas publish`, `pull`, `verify` | [`publish`] (over [`oci`] and [`sign`]) | the Wasm OCI artifact, signed |
//! | `faas serve`, `invoke` | [`serve`] | wasmtime, one instance per request |
//! | `faas pipeline` | [`pipeline`] | all of the above as one CI step |
//!
//! Beside them: [`policy`] compiles `auth.toml`; [`capabilities`] classifies a function's imports;
//! [`guests`] holds the embedded decorator, adapters and their composition table; [`generate`]
//! makes the policy, deny and seed components; [`artifact`] reads and writes the layers note;
//! [`project`] reads `faas.toml`; [`contract`] is the `faas:function` WIT.
#![deny(missing_docs)]

pub mod artifact;
pub mod attest;
pub mod build;
pub mod capabilities;
pub mod component;
pub mod contract;
pub mod deploy;
pub mod deps;
pub mod dev;
pub mod digest;
pub mod exit;
pub mod fsutil;
pub mod generate;
pub mod git;
pub mod guests;
pub mod interrupt;
pub mod new;
pub mod oci;
pub mod packages;
pub mod pipeline;
pub mod platform;
pub mod policy;
pub mod project;
pub mod publish;
pub mod report;
pub mod serve;
pub mod sign;
pub mod source;
pub mod testing;
pub mod toolchains;
pub mod validate;
pub mod wrap;
