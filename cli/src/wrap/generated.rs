//! The policy component: the compiled policy document in a data segment, behind
//! `faas:function/policy`'s `document` function.

use super::WrapError;
use crate::contract;

/// Where the return area (pointer, length) sits in the generated module's memory.
const RETURN_AREA: u32 = 8;
/// Where the document's bytes start.
const DOCUMENT_OFFSET: u32 = 16;

/// A component exporting `faas:function/policy` whose `document` returns `document`.
///
/// The core module holds the bytes in a data segment and returns a pointer to a (pointer, length)
/// pair, which is how the canonical ABI returns a `list<u8>`; wit-component wraps it into a
/// component using the contract's `policy-document` world.
pub fn policy_component(document: &[u8]) -> Result<Vec<u8>, WrapError> {
    let len = u32::try_from(document.len())
        .map_err(|_| WrapError::PolicyComponent("the policy document is too large".into()))?;
    let mut return_area = DOCUMENT_OFFSET.to_le_bytes().to_vec();
    return_area.extend_from_slice(&len.to_le_bytes());
    let export_name = format!("{}#document", contract::interface_name("policy"));
    let mut bytes = pointer_returning_module(
        &export_name,
        RETURN_AREA,
        &[(RETURN_AREA, &return_area), (DOCUMENT_OFFSET, document)],
    );

    let (resolve, package) = contract::resolve_with_package();
    let generated = |e: anyhow::Error| WrapError::PolicyComponent(format!("{e:#}"));
    let world = resolve
        .select_world(&[package], Some("policy-document"))
        .map_err(generated)?;
    wit_component::embed_component_metadata(
        &mut bytes,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .map_err(generated)?;
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(&bytes)
        .and_then(|encoder| encoder.encode())
        .map_err(generated)
}

/// A core module exporting `memory` and one function, `export`, that takes nothing and returns
/// `pointer`; `segments` (offset, bytes) are its memory's initial contents. The canonical ABI
/// returns compound values (a `list<u8>`, a `tuple<u64, u64>`) through such a pointer, so this is
/// all a component returning constants needs.
pub(crate) fn pointer_returning_module(
    export: &str,
    pointer: u32,
    segments: &[(u32, &[u8])],
) -> Vec<u8> {
    use wasm_encoder::{
        CodeSection, ConstExpr, DataSection, ExportKind, ExportSection, Function, FunctionSection,
        MemorySection, MemoryType, Module, TypeSection, ValType,
    };
    let end = segments
        .iter()
        .map(|(offset, bytes)| u64::from(*offset) + bytes.len() as u64)
        .max()
        .unwrap_or(0);
    let mut types = TypeSection::new();
    types.ty().function([], [ValType::I32]);
    let mut functions = FunctionSection::new();
    functions.function(0);
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: end.div_ceil(65536).max(1),
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    let mut exports = ExportSection::new();
    exports.export("memory", ExportKind::Memory, 0);
    exports.export(export, ExportKind::Func, 0);
    let mut code = CodeSection::new();
    let mut body = Function::new([]);
    body.instructions().i32_const(pointer as i32).end();
    code.function(&body);
    let mut data = DataSection::new();
    for (offset, bytes) in segments {
        data.active(
            0,
            &ConstExpr::i32_const(*offset as i32),
            bytes.iter().copied(),
        );
    }
    let mut module = Module::new();
    module
        .section(&types)
        .section(&functions)
        .section(&memories)
        .section(&exports)
        .section(&code)
        .section(&data);
    module.finish()
}
