//! faas: turn business logic into a sandboxed, policy-wrapped, signed WebAssembly component.
//!
//! This library holds everything the `faas` command line does; the binary only parses flags and
//! calls into it, so tests and benchmarks use the same code paths. The pipeline stages map to
//! modules: [`scaffold`] (`faas new`), [`compile`] (`faas build`), [`component`] (the checks every
//! stage applies to a Wasm file).
#![deny(missing_docs)]

pub mod artifact;
pub mod capabilities;
pub mod compile;
pub mod component;
pub mod contract;
pub mod digest;
pub mod fsutil;
pub mod generate;
pub mod git;
pub mod guests;
pub mod oci;
pub mod pipeline;
pub mod policy;
pub mod project;
pub mod publish;
pub mod scaffold;
pub mod serve;
pub mod sign;
pub mod source;
pub mod targets;
pub mod toolchains;
pub mod validate;
pub mod wrap;
