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
    use wasm_encoder::{
        CodeSection, ConstExpr, DataSection, ExportKind, ExportSection, Function, FunctionSection,
        MemorySection, MemoryType, Module, TypeSection, ValType,
    };
    let len = u32::try_from(document.len())
        .map_err(|_| WrapError::PolicyComponent("the policy document is too large".into()))?;
    let end = u64::from(DOCUMENT_OFFSET) + u64::from(len);
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
    let export_name = format!("{}#document", contract::interface_name("policy"));
    let mut exports = ExportSection::new();
    exports.export("memory", ExportKind::Memory, 0);
    exports.export(&export_name, ExportKind::Func, 0);
    let mut code = CodeSection::new();
    let mut body = Function::new([]);
    body.instructions().i32_const(RETURN_AREA as i32).end();
    code.function(&body);
    let mut return_area = DOCUMENT_OFFSET.to_le_bytes().to_vec();
    return_area.extend_from_slice(&len.to_le_bytes());
    let mut data = DataSection::new();
    data.active(0, &ConstExpr::i32_const(RETURN_AREA as i32), return_area);
    data.active(
        0,
        &ConstExpr::i32_const(DOCUMENT_OFFSET as i32),
        document.iter().copied(),
    );
    let mut module = Module::new();
    module
        .section(&types)
        .section(&functions)
        .section(&memories)
        .section(&exports)
        .section(&code)
        .section(&data);
    let mut bytes = module.finish();

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
