//! The components `faas wrap` generates rather than embeds, all small and deterministic:
//!
//! - the **policy component**: the compiled policy document in a data segment, behind
//!   `faas:function/policy`'s `document` function; it also answers the function's denied imports;
//! - **deny layers**: an export of each interface a layer may not take from the host, answering
//!   politely where the type lets it (see the `deny` submodule) and trapping otherwise; for faas's
//!   own layers, also `wasi:random/insecure-seed` returning a fixed value.
//!
//! Each is wit-component's dummy module for a world of those exports, rewritten with wasm-encoder
//! to answer (the `deny` submodule), then encoded into a component by wit-component.

mod deny;

use crate::component::Inspection;
use crate::contract;
use wit_parser::{Resolve, WorldId};

/// A component exporting each interface in `interfaces` (named as `layer` imports them) in which
/// every function traps or, where its type allows, answers that nothing is there (see the `deny` submodule):
/// a deny layer to satisfy imports that must not reach the host. Types the denied
/// interfaces use from others stay imports of the new component.
///
/// With a `seed`, `wasi:random/insecure-seed` (when among `interfaces`) answers that fixed value
/// instead. WASI allows a deterministic value here; hosts of the `wasi:http/proxy` world do not
/// supply the interface at all, while the Rust standard library asks for it to seed hash maps.
/// Used only for faas's own layers, whose hash maps hold policy data, never keys chosen by a client.
pub fn deny_component(
    layer: &Inspection,
    interfaces: &[String],
    seed: Option<[u8; 16]>,
) -> Result<Vec<u8>, String> {
    let seed_answer = |interface: &str, function: &str| {
        (interface.starts_with("wasi:random/insecure-seed@") && function == "insecure-seed")
            .then(|| seed.map(|s| s.to_vec()))
            .flatten()
    };
    component_exporting(layer.resolve().clone(), interfaces, |resolve, world| {
        let dummy =
            wit_component::dummy_module(resolve, world, wit_parser::ManglingAndAbi::Standard32);
        deny::answering_module(&dummy, &deny::answers(resolve, world, &seed_answer), &[])
    })
}

/// The policy component: it exports `faas:function/policy`, whose `document` returns `document`,
/// and stands in for the function's `denied` imports (answering them as a deny layer does): one
/// generated layer, so one core instance and one memory fewer per request than a policy component
/// and a deny layer for the function (docs/benchmarks.md). Its WIT is the function's own, with the
/// contract merged in for `faas:function/policy`.
pub fn policy_component(
    document: &[u8],
    function: &Inspection,
    denied: &[String],
) -> Result<Vec<u8>, String> {
    let len = u32::try_from(document.len())
        .map_err(|_| "the policy document is too large".to_string())?;
    let mut resolve = function.resolve().clone();
    resolve
        .merge(contract::resolve())
        .map_err(|e| format!("{e:#}"))?;
    let mut interfaces = vec![contract::interface_name("policy")];
    interfaces.extend(denied.iter().cloned());
    // `document` returns a list<u8>: a pointer to (pointer, length) of the bytes, which sit in a
    // data segment past the area the answers are written to.
    let mut list = DOCUMENT_OFFSET.to_le_bytes().to_vec();
    list.extend_from_slice(&len.to_le_bytes());
    let document_answer = |interface: &str, function: &str| {
        (interface.starts_with(&format!("{}/policy@", contract::PACKAGE)) && function == "document")
            .then(|| list.clone())
    };
    component_exporting(resolve, &interfaces, |resolve, world| {
        let dummy =
            wit_component::dummy_module(resolve, world, wit_parser::ManglingAndAbi::Standard32);
        deny::answering_module(
            &dummy,
            &deny::answers(resolve, world, &document_answer),
            &[(DOCUMENT_OFFSET, document)],
        )
    })
}

/// Where [`policy_component`] keeps the document: past the area the answers are written to.
const DOCUMENT_OFFSET: u32 = 1024;

/// A component exporting `interfaces`, whose WIT comes from `layer`'s own, with the core module
/// `module` makes for the world.
fn component_exporting(
    resolve: Resolve,
    interfaces: &[String],
    module: impl FnOnce(&Resolve, WorldId) -> Result<Vec<u8>, String>,
) -> Result<Vec<u8>, String> {
    let mut resolve = resolve;
    let exports: String = interfaces
        .iter()
        .map(|name| format!("    export {name};\n"))
        .collect();
    let text = format!("package faas:generated;\n\nworld generated {{\n{exports}}}\n");
    let package = resolve
        .push_str("generated.wit", &text)
        .map_err(|e| format!("{e:#}"))?;
    let world = resolve
        .select_world(&[package], Some("generated"))
        .map_err(|e| format!("{e:#}"))?;
    let mut module = module(&resolve, world)?;
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .map_err(|e| format!("{e:#}"))?;
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(&module)
        .and_then(|encoder| encoder.encode())
        .map_err(|e| format!("{e:#}"))
}
