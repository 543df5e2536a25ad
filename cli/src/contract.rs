//! The function contract, `faas:function`, as embedded in the binary.
//!
//! The WIT in the repository's `wit/` folder is compiled into `faas`, so scaffolded projects get the
//! exact contract this binary checks against, and checks never depend on files next to the binary.

use std::fmt::Write;
use wit_parser::{Function, Resolve, Type, TypeDefKind};

/// The package name of the contract.
pub const PACKAGE: &str = "faas:function";

/// The contract version this binary implements.
pub const VERSION: &str = "0.1.0";

/// The Rust target functions are compiled for: its standard library links WASI 0.2 and its linker
/// emits a component.
pub const RUST_TARGET: &str = "wasm32-wasip2";

/// The WASI 0.3 HTTP handler: what the WASI 0.3 layers export, and what a component protected by
/// `faas wrap --http-component` exports.
pub const HTTP_HANDLER_P3: &str = "wasi:http/handler@0.3.2";

/// The interface every function exports.
pub const HANDLER_INTERFACE: &str = "handler";

/// The WIT source of the contract (`wit/function.wit`).
pub const FUNCTION_WIT: &str = include_str!("../../wit/function.wit");

/// `faas:function/handler@0.1.0`.
pub fn handler_export_name() -> String {
    interface_name(HANDLER_INTERFACE)
}

/// The parsed contract.
pub fn resolve() -> Resolve {
    resolve_with_package().0
}

/// The parsed contract and the id of its package.
pub fn resolve_with_package() -> (Resolve, wit_parser::PackageId) {
    let mut resolve = Resolve::default();
    let package = resolve
        .push_str("function.wit", FUNCTION_WIT)
        .expect("the embedded contract is valid WIT (checked by tests)");
    (resolve, package)
}

/// `faas:function/<interface>@0.1.0`.
pub fn interface_name(interface: &str) -> String {
    format!("{PACKAGE}/{interface}@{VERSION}")
}

/// Whether a contract version found in a component can be used where this binary's version is
/// expected: semver compatibility, where for 0.x releases the minor version is the breaking one.
pub fn is_compatible(found: &semver::Version) -> bool {
    let ours = semver::Version::parse(VERSION).expect("VERSION is semver");
    if ours.major != found.major {
        return false;
    }
    ours.major != 0 || ours.minor == found.minor
}

/// The `handle` function of the handler interface in our own contract, rendered as a structural
/// signature (see [`signature`]).
pub fn expected_handle_signature() -> String {
    let resolve = resolve();
    let iface = resolve
        .interfaces
        .iter()
        .find(|(_, i)| i.name.as_deref() == Some(HANDLER_INTERFACE))
        .map(|(_, i)| i)
        .expect("contract has a handler interface");
    signature(&resolve, &iface.functions["handle"])
}

/// A function's type written out structurally, with every named type expanded, so two functions
/// from different packages or resolves can be compared: equal strings mean the same component-level
/// type (names of record fields, variant cases and enum cases included, as the component model
/// requires).
pub fn signature(resolve: &Resolve, func: &Function) -> String {
    let mut out = String::from("func(");
    for (i, param) in func.params.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{}: ", param.name);
        type_shape(resolve, &param.ty, &mut out);
    }
    out.push(')');
    if let Some(result) = &func.result {
        out.push_str(" -> ");
        type_shape(resolve, result, &mut out);
    }
    out
}

fn type_shape(resolve: &Resolve, ty: &Type, out: &mut String) {
    let id = match ty {
        Type::Id(id) => *id,
        Type::Bool => return out.push_str("bool"),
        Type::U8 => return out.push_str("u8"),
        Type::U16 => return out.push_str("u16"),
        Type::U32 => return out.push_str("u32"),
        Type::U64 => return out.push_str("u64"),
        Type::S8 => return out.push_str("s8"),
        Type::S16 => return out.push_str("s16"),
        Type::S32 => return out.push_str("s32"),
        Type::S64 => return out.push_str("s64"),
        Type::F32 => return out.push_str("f32"),
        Type::F64 => return out.push_str("f64"),
        Type::Char => return out.push_str("char"),
        Type::String => return out.push_str("string"),
        Type::ErrorContext => return out.push_str("error-context"),
    };
    let optional = |out: &mut String, ty: &Option<Type>| match ty {
        Some(ty) => type_shape(resolve, ty, out),
        None => out.push('_'),
    };
    match &resolve.types[id].kind {
        TypeDefKind::Type(inner) => type_shape(resolve, inner, out),
        TypeDefKind::Record(record) => {
            out.push_str("record{");
            for (i, field) in record.fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{}: ", field.name);
                type_shape(resolve, &field.ty, out);
            }
            out.push('}');
        }
        TypeDefKind::Variant(variant) => {
            out.push_str("variant{");
            for (i, case) in variant.cases.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&case.name);
                if let Some(ty) = &case.ty {
                    out.push('(');
                    type_shape(resolve, ty, out);
                    out.push(')');
                }
            }
            out.push('}');
        }
        TypeDefKind::Enum(e) => {
            let names: Vec<_> = e.cases.iter().map(|c| c.name.as_str()).collect();
            let _ = write!(out, "enum{{{}}}", names.join(", "));
        }
        TypeDefKind::Flags(f) => {
            let names: Vec<_> = f.flags.iter().map(|c| c.name.as_str()).collect();
            let _ = write!(out, "flags{{{}}}", names.join(", "));
        }
        TypeDefKind::Tuple(t) => {
            out.push_str("tuple<");
            for (i, ty) in t.types.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                type_shape(resolve, ty, out);
            }
            out.push('>');
        }
        TypeDefKind::Option(ty) => {
            out.push_str("option<");
            type_shape(resolve, ty, out);
            out.push('>');
        }
        TypeDefKind::Result(r) => {
            out.push_str("result<");
            optional(out, &r.ok);
            out.push_str(", ");
            optional(out, &r.err);
            out.push('>');
        }
        TypeDefKind::List(ty) => {
            out.push_str("list<");
            type_shape(resolve, ty, out);
            out.push('>');
        }
        TypeDefKind::FixedLengthList(ty, n) => {
            out.push_str("list<");
            type_shape(resolve, ty, out);
            let _ = write!(out, ", {n}>");
        }
        TypeDefKind::Map(k, v) => {
            out.push_str("map<");
            type_shape(resolve, k, out);
            out.push_str(", ");
            type_shape(resolve, v, out);
            out.push('>');
        }
        TypeDefKind::Future(ty) => {
            out.push_str("future<");
            optional(out, ty);
            out.push('>');
        }
        TypeDefKind::Stream(ty) => {
            out.push_str("stream<");
            optional(out, ty);
            out.push('>');
        }
        // Resources are nominal: a handle is only equal to a handle of the same named resource.
        TypeDefKind::Resource | TypeDefKind::Handle(_) | TypeDefKind::Unknown => {
            let name = resolve.types[id].name.as_deref().unwrap_or("?");
            let _ = write!(out, "resource({name})");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_contract_parses_and_has_the_documented_worlds() {
        let resolve = resolve();
        let worlds: Vec<_> = resolve.worlds.iter().map(|(_, w)| w.name.clone()).collect();
        for world in ["function", "adapter", "policy-document"] {
            assert!(worlds.iter().any(|w| w == world), "missing world {world}");
        }
    }

    #[test]
    fn handle_signature_expands_named_types() {
        let sig = expected_handle_signature();
        assert!(sig.starts_with("func(req: record{method: string, path: string"));
        assert!(sig.contains("caller: option<record{subject: string"));
        assert!(sig.ends_with(
            "-> result<record{status: u16, headers: list<tuple<string, string>>, body: list<u8>}, \
             variant{bad-request(string), unauthorized(string), forbidden(string), \
             not-found(string), internal(string)}>"
        ));
    }

    #[test]
    fn compatibility_follows_semver_for_zero_major() {
        let v = |s| semver::Version::parse(s).unwrap();
        assert!(is_compatible(&v("0.1.0")));
        assert!(is_compatible(&v("0.1.7")));
        assert!(!is_compatible(&v("0.2.0")));
        assert!(!is_compatible(&v("1.1.0")));
    }
}
