//! Deny-all implementations that answer politely where they can.
//!
//! wit-component's dummy module makes every function of a denied interface trap. That is right for
//! most of them, but language runtimes call a few at start-up whatever the function does: CPython
//! reads `wasi:cli/environment` on its first call, wasi-libc asks `wasi:filesystem/preopens` for
//! its directories. A trap there would make every request fail. So where the WIT type has an answer
//! that grants nothing, the deny layer gives it instead of trapping:
//!
//! - a `list` result: the empty list (no environment variables, no preopened directories);
//! - an `option` result: `none` (no working directory, no terminal);
//! - a `result` whose error is an enum with an `access-denied` or `access` case: that error
//!   (creating a socket is refused as the host itself would refuse it).
//!
//! Everything else still traps. Resources can never be obtained from a deny layer, so their methods
//! are never reached.

use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wit_parser::{
    Int, ManglingAndAbi, Resolve, SizeAlign, Type, TypeDefKind, WasmExport, WasmExportKind,
    WorldId, WorldItem,
};

/// Where answers are written in the deny module's memory (aligned for any canonical ABI value).
const ANSWER_AREA: u32 = 16;

/// An export of the deny module that returns `bytes` (through a pointer) instead of trapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The core export name (`cm32p2|wasi:cli/environment@0.2.9|get-environment`).
    pub export: String,
    /// The canonical ABI bytes of the return value.
    pub bytes: Vec<u8>,
}

/// The answers of the functions `world` exports: `fixed(interface, function)` where it has one
/// (the canonical ABI bytes of the result: a hash-map seed, the policy document's list), else the
/// polite answer where the type has one.
pub fn answers(
    resolve: &Resolve,
    world: WorldId,
    fixed: &dyn Fn(&str, &str) -> Option<Vec<u8>>,
) -> Vec<Answer> {
    let mut sizes = SizeAlign::default();
    sizes.fill(resolve);
    let mut answers = Vec::new();
    for (key, item) in &resolve.worlds[world].exports {
        let WorldItem::Interface { id, .. } = item else {
            continue;
        };
        for func in resolve.interfaces[*id].functions.values() {
            let signature = resolve.wasm_signature(wit_parser::abi::AbiVariant::GuestExport, func);
            // Only results returned through a pointer: a single scalar has no empty answer.
            if !signature.retptr {
                continue;
            }
            let interface = resolve.id_of(*id).unwrap_or_default();
            let answer = fixed(&interface, &func.name).or_else(|| {
                func.result
                    .as_ref()
                    .and_then(|ty| empty(resolve, &sizes, ty))
            });
            let Some(bytes) = answer else {
                continue;
            };
            let export = resolve.wasm_export_name(
                ManglingAndAbi::Standard32,
                WasmExport::Func {
                    interface: Some(key),
                    func,
                    kind: WasmExportKind::Normal,
                },
            );
            answers.push(Answer { export, bytes });
        }
    }
    answers
}

/// The bytes of a value of type `ty` that grants nothing, if there is one.
fn empty(resolve: &Resolve, sizes: &SizeAlign, ty: &Type) -> Option<Vec<u8>> {
    let Type::Id(id) = ty else {
        return None;
    };
    let size = sizes.size(ty).size_wasm32();
    match &resolve.types[*id].kind {
        // All zeros: a (pointer, length) of length 0, or the `none` discriminant.
        TypeDefKind::List(_) | TypeDefKind::Option(_) => Some(vec![0; size]),
        TypeDefKind::Type(inner) => empty(resolve, sizes, inner),
        TypeDefKind::Result(result) => {
            let Some(Type::Id(mut error)) = result.err else {
                return None;
            };
            // `use network.{error-code}` makes an alias: follow it to the enum.
            while let TypeDefKind::Type(Type::Id(aliased)) = resolve.types[error].kind {
                error = aliased;
            }
            let TypeDefKind::Enum(cases) = &resolve.types[error].kind else {
                return None;
            };
            let denied = cases
                .cases
                .iter()
                .position(|c| c.name == "access-denied" || c.name == "access")?;
            // One discriminant byte for result; the enum fits a byte in the interfaces we deny.
            let denied = u8::try_from(denied)
                .ok()
                .filter(|_| cases.cases.len() <= 256)?;
            let offset = sizes
                .payload_offset(Int::U8, [result.ok.as_ref(), result.err.as_ref()])
                .size_wasm32();
            let mut bytes = vec![0; size];
            bytes[0] = 1; // err
            bytes[offset] = denied;
            Some(bytes)
        }
        _ => None,
    }
}

/// Rewrites wit-component's dummy module so that the exports in `answers` return their answer;
/// its memory grows to hold them and `data` (offset, bytes: what answers point to).
///
/// It also drops what a deny layer never uses, each of which would cost every instantiation of
/// the artifact: the dummy's function imports (its code calls nothing, yet each import that needs
/// the module's memory makes wit-component add a shim module and a fixup module), resource
/// destructors (denied resources are never created; a destructor needs the shim too), no-op
/// post-return functions and the initialisation call.
pub fn answering_module(
    dummy: &[u8],
    answers: &[Answer],
    data: &[(u32, &[u8])],
) -> Result<Vec<u8>, String> {
    let mut imported_functions = 0;
    let mut exports = std::collections::HashMap::new();
    for payload in wasmparser::Parser::new(0).parse_all(dummy) {
        match payload.map_err(|e| e.to_string())? {
            wasmparser::Payload::ImportSection(section) => {
                for import in section.into_imports() {
                    if matches!(
                        import.map_err(|e| e.to_string())?.ty,
                        wasmparser::TypeRef::Func(_)
                    ) {
                        imported_functions += 1;
                    }
                }
            }
            wasmparser::Payload::ExportSection(section) => {
                for export in section {
                    let export = export.map_err(|e| e.to_string())?;
                    if export.kind == wasmparser::ExternalKind::Func {
                        exports.insert(export.name.to_string(), export.index);
                    }
                }
            }
            _ => {}
        }
    }
    let mut by_index = std::collections::HashMap::new();
    for answer in answers {
        let index = exports
            .get(&answer.export)
            .ok_or_else(|| format!("the deny module has no export {}", answer.export))?;
        by_index.insert(*index, answer.bytes.as_slice());
    }
    let end = data
        .iter()
        .map(|(offset, bytes)| u64::from(*offset) + bytes.len() as u64)
        .max()
        .unwrap_or(0);
    let mut rewriter = Answering {
        imported_functions,
        next: imported_functions,
        answers: by_index,
        pages: end.div_ceil(65536).max(1),
    };
    let mut module = wasm_encoder::Module::new();
    rewriter
        .parse_core_module(&mut module, wasmparser::Parser::new(0), dummy)
        .map_err(|e| format!("{e:?}"))?;
    if !data.is_empty() {
        // The dummy has no data section of its own; the data section comes after the code.
        let mut section = wasm_encoder::DataSection::new();
        for (offset, bytes) in data {
            section.active(
                0,
                &wasm_encoder::ConstExpr::i32_const(*offset as i32),
                bytes.iter().copied(),
            );
        }
        module.section(&section);
    }
    Ok(module.finish())
}

struct Answering<'a> {
    /// The dummy's imported functions, which the rewritten module drops.
    imported_functions: u32,
    /// The index (in the dummy) of the function whose body comes next.
    next: u32,
    answers: std::collections::HashMap<u32, &'a [u8]>,
    /// The memory's minimum size, in pages.
    pages: u64,
}

/// Exports of the dummy that a deny layer does without (see [`answering_module`]).
fn unused_export(name: &str) -> bool {
    name.ends_with("_dtor") || name.ends_with("_post") || name == "cm32p2_initialize"
}

impl Reencode for Answering<'_> {
    type Error = std::convert::Infallible;

    fn parse_import_section(
        &mut self,
        imports: &mut wasm_encoder::ImportSection,
        section: wasmparser::ImportSectionReader<'_>,
    ) -> Result<(), wasm_encoder::reencode::Error<Self::Error>> {
        for import in section.into_imports() {
            let import = import?;
            if !matches!(import.ty, wasmparser::TypeRef::Func(_)) {
                let ty = self.entity_type(import.ty)?;
                imports.import(import.module, import.name, ty);
            }
        }
        Ok(())
    }

    fn function_index(
        &mut self,
        func: u32,
    ) -> Result<u32, wasm_encoder::reencode::Error<Self::Error>> {
        // No body calls an import, so only defined functions are referred to.
        Ok(func - self.imported_functions)
    }

    fn parse_export(
        &mut self,
        exports: &mut wasm_encoder::ExportSection,
        export: wasmparser::Export<'_>,
    ) -> Result<(), wasm_encoder::reencode::Error<Self::Error>> {
        if unused_export(export.name) {
            return Ok(());
        }
        wasm_encoder::reencode::utils::parse_export(self, exports, export)
    }

    fn memory_type(
        &mut self,
        memory: wasmparser::MemoryType,
    ) -> Result<wasm_encoder::MemoryType, wasm_encoder::reencode::Error<Self::Error>> {
        let mut memory = RoundtripReencoder.memory_type(memory)?;
        memory.minimum = memory.minimum.max(self.pages);
        Ok(memory)
    }

    fn parse_function_body(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        body: wasmparser::FunctionBody<'_>,
    ) -> Result<(), wasm_encoder::reencode::Error<Self::Error>> {
        let index = self.next;
        self.next += 1;
        let Some(bytes) = self.answers.get(&index) else {
            return wasm_encoder::reencode::utils::parse_function_body(self, code, body);
        };
        // Write the answer byte by byte (they are a few bytes), then return its address.
        let mut function = wasm_encoder::Function::new([]);
        let mut instructions = function.instructions();
        for (offset, byte) in bytes.iter().enumerate() {
            instructions
                .i32_const((ANSWER_AREA + offset as u32) as i32)
                .i32_const(i32::from(*byte))
                .i32_store8(wasm_encoder::MemArg {
                    offset: 0,
                    align: 0,
                    memory_index: 0,
                });
        }
        instructions.i32_const(ANSWER_AREA as i32).end();
        code.function(&function);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIT: &str = r#"
        package test:denied;

        interface network {
            enum error-code { unknown, access-denied, not-supported }
            resource network;
        }
        interface tcp-create-socket {
            use network.{error-code};
            resource tcp-socket;
            create-tcp-socket: func(family: u8) -> result<tcp-socket, error-code>;
        }
        interface environment {
            use network.{network};
            get-environment: func() -> list<tuple<string, string>>;
            initial-cwd: func() -> option<string>;
            exit: func(code: u8);
            random: func() -> u64;
            instance: func() -> network;
        }
        world denied {
            export tcp-create-socket;
            export environment;
        }
    "#;

    fn answers_for_test_world() -> Vec<Answer> {
        let mut resolve = Resolve::default();
        let package = resolve.push_str("denied.wit", WIT).unwrap();
        let world = resolve.select_world(&[package], Some("denied")).unwrap();
        answers(&resolve, world, &|_, _| None)
    }

    #[test]
    fn empty_lists_none_and_access_denied_are_answered_the_rest_traps() {
        let answers = answers_for_test_world();
        let find = |name: &str| {
            answers
                .iter()
                .find(|a| a.export.ends_with(name))
                .map(|a| a.bytes.clone())
        };
        // (pointer, length) = (0, 0).
        assert_eq!(find("|get-environment"), Some(vec![0; 8]));
        // none: discriminant 0, then room for the string.
        assert_eq!(find("|initial-cwd"), Some(vec![0; 12]));
        // err(access-denied): discriminant 1, then the enum case 1 at the payload offset 4.
        assert_eq!(
            find("|create-tcp-socket"),
            Some(vec![1, 0, 0, 0, 1, 0, 0, 0])
        );
        // No result, a scalar result, a resource: these trap.
        assert_eq!(find("|exit"), None);
        assert_eq!(find("|random"), None);
        assert_eq!(find("|instance"), None);
        assert_eq!(answers.len(), 3);
    }

    #[test]
    fn a_fixed_answer_replaces_the_polite_one() {
        let wit = "package wasi:random@0.2.12;\n\
            interface insecure-seed { insecure-seed: func() -> tuple<u64, u64>; }\n\
            world seeded { export insecure-seed; }\n";
        let mut resolve = Resolve::default();
        let package = resolve.push_str("seed.wit", wit).unwrap();
        let world = resolve.select_world(&[package], Some("seeded")).unwrap();
        let seed = |interface: &str, function: &str| {
            (interface.starts_with("wasi:random/insecure-seed@") && function == "insecure-seed")
                .then(|| vec![7; 16])
        };
        let seeded = answers(&resolve, world, &seed);
        assert_eq!(seeded.len(), 1);
        assert!(
            seeded[0].export.ends_with("|insecure-seed"),
            "{}",
            seeded[0].export
        );
        assert_eq!(seeded[0].bytes, vec![7; 16]);
        // Without a seed, a tuple has no answer that grants nothing: it traps.
        assert!(answers(&resolve, world, &|_, _| None).is_empty());
    }

    #[test]
    fn the_rewritten_dummy_module_is_valid_and_answers() {
        let mut resolve = Resolve::default();
        let package = resolve.push_str("denied.wit", WIT).unwrap();
        let world = resolve.select_world(&[package], Some("denied")).unwrap();
        let dummy = wit_component::dummy_module(&resolve, world, ManglingAndAbi::Standard32);
        let answers = answers(&resolve, world, &|_, _| None);
        let module = answering_module(&dummy, &answers, &[]).unwrap();
        wasmparser::Validator::new().validate_all(&module).unwrap();
        assert_ne!(module, dummy);
        let missing = Answer {
            export: "no-such-export".into(),
            bytes: vec![0],
        };
        assert!(answering_module(&dummy, &[missing], &[]).is_err());
    }
}
