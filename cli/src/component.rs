//! The checks every stage applies to a Wasm file: is it Wasm at all, is it a valid component (or a
//! core module we can turn into one), what does it import and export, and does it implement the
//! function contract.
//!
//! Everything here uses the crates (wasmparser, wit-component, wit-parser) in-process: shelling out
//! to a tool would cost far more than the checks themselves.

use crate::contract;
use wasmparser::{Parser, Payload, Validator, WasmFeatures};
use wit_component::DecodedWasm;
use wit_parser::{Resolve, WorldId, WorldItem, WorldKey};

/// Why a file is not a usable component.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The bytes do not start with the Wasm magic number.
    #[error("not a WebAssembly file (it does not start with the `\\0asm` magic number)")]
    NotWasm,
    /// The binary is malformed or truncated.
    #[error("invalid WebAssembly: {0}")]
    Invalid(String),
    /// A core module with no WIT world embedded, so nothing says what its imports and exports mean.
    #[error(
        "this is a core Wasm module without component-type metadata, so it cannot be made into a \
         component; build for wasm32-wasip2 or generate bindings with wit-bindgen"
    )]
    CoreModuleWithoutMetadata,
    /// wit-component refused to turn a core module into a component.
    #[error("cannot turn this core module into a component: {0}")]
    Componentize(String),
    /// The component's types could not be read as WIT.
    #[error("cannot read this component's WIT: {0}")]
    Decode(String),
    /// No export of the handler interface at all.
    #[error("the component does not export {expected}; it exports {}", list_or_nothing(.exports))]
    MissingHandler {
        /// The interface we looked for.
        expected: String,
        /// What the component does export.
        exports: Vec<String>,
    },
    /// `--http-component` was given a component that serves WASI 0.2 HTTP.
    #[error(
        "the component exports {found}, the WASI 0.2 HTTP handler; --http-component puts the \
         policy in front of a WASI 0.3 component, which exports wasi:http/handler@0.3: rebuild \
         it for WASI 0.3 (e.g. with the wasip3 crate), or write the function against faas's \
         contract and wrap it with faas wrap"
    )]
    NeedsWasi03 {
        /// The P2 export found.
        found: String,
    },
    /// The handler is exported, but at a version this binary cannot call.
    #[error(
        "the component exports {found}, which is not compatible with {expected}: rebuild the \
         function against the WIT of this faas version (faas new writes it into wit/)"
    )]
    IncompatibleContract {
        /// The export found.
        found: String,
        /// The export expected.
        expected: String,
    },
    /// The handler is exported with the right name but a different `handle` type.
    #[error("{interface}#handle has the type {found}, but the contract says {expected}")]
    WrongSignature {
        /// The exported interface.
        interface: String,
        /// Its `handle` type, rendered structurally.
        found: String,
        /// The contract's `handle` type.
        expected: String,
    },
}

fn list_or_nothing(items: &[String]) -> String {
    if items.is_empty() {
        "nothing".to_string()
    } else {
        items.join(", ")
    }
}

/// What kind of input a component came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// The input was already a component.
    Component,
    /// The input was a core module with component-type metadata, encoded into a component here.
    CoreModule,
}

/// A decoded component: its bytes and its WIT-level imports and exports.
pub struct Inspection {
    /// What the input was.
    pub origin: Origin,
    /// The component's bytes (the input itself, or the encoding of a core module).
    pub component: Vec<u8>,
    /// Import names (`wasi:cli/environment@0.2.6`, or a plain name for unversioned items).
    pub imports: Vec<String>,
    /// Export names, as for imports.
    pub exports: Vec<String>,
    resolve: Resolve,
    world: WorldId,
}

/// The contract export a function was found to have.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HandlerExport {
    /// The full interface name, e.g. `faas:function/handler@0.1.0`.
    pub interface: String,
    /// Its version.
    pub version: String,
}

impl Inspection {
    /// The component's `wasi:http/handler@0.3.x` export, for `faas wrap --http-component`: a
    /// WASI 0.2 `incoming-handler` is refused with what to do instead.
    pub fn check_http_component(&self) -> Result<String, CheckError> {
        let export = |prefix: &str| self.exports.iter().find(|e| e.starts_with(prefix));
        if let Some(found) = export("wasi:http/handler@0.3.") {
            return Ok(found.clone());
        }
        if let Some(found) = export("wasi:http/incoming-handler@0.2.") {
            return Err(CheckError::NeedsWasi03 {
                found: found.clone(),
            });
        }
        Err(CheckError::MissingHandler {
            expected: crate::contract::HTTP_HANDLER_P3.to_string(),
            exports: self.exports.clone(),
        })
    }

    /// The WIT of the packages this component's exported interfaces are defined in, and of those
    /// they use types from (transitively), as `(package name, text)`: what a component that imports
    /// these interfaces needs in its `wit/deps`. The package of the component's own world (which
    /// holds no interface another component could import) is left out.
    pub fn exported_wit(&self) -> Result<Vec<(String, String)>, String> {
        let mut wanted: Vec<wit_parser::PackageId> = Vec::new();
        let mut queue: Vec<wit_parser::InterfaceId> = self.resolve.worlds[self.world]
            .exports
            .values()
            .filter_map(|item| match item {
                wit_parser::WorldItem::Interface { id, .. } => Some(*id),
                _ => None,
            })
            .collect();
        let mut seen = std::collections::HashSet::new();
        while let Some(id) = queue.pop() {
            if !seen.insert(id) {
                continue;
            }
            if let Some(package) = self.resolve.interfaces[id].package
                && !wanted.contains(&package)
            {
                wanted.push(package);
            }
            queue.extend(self.resolve.interface_direct_deps(id));
        }
        let own = self.resolve.worlds[self.world].package;
        let mut out = Vec::new();
        for package in self.resolve.topological_packages() {
            if !wanted.contains(&package) || Some(package) == own {
                continue;
            }
            let mut printer = wit_component::WitPrinter::default();
            printer
                .print(&self.resolve, package, &[])
                .map_err(|e| e.to_string())?;
            out.push((
                self.resolve.packages[package].name.to_string(),
                printer.output.to_string(),
            ));
        }
        Ok(out)
    }
}

/// Reads `bytes` as a component (or a core module with metadata) and lists its imports and exports,
/// after validating it completely (code included): for components from outside.
pub fn inspect(bytes: &[u8]) -> Result<Inspection, CheckError> {
    if !bytes.starts_with(b"\0asm") {
        return Err(CheckError::NotWasm);
    }
    validate(bytes)?;
    decode(bytes)
}

/// As [`inspect`], for faas's own components, whose code has been validated once already: the
/// embedded guests (validated by the tests of the build that embeds them) and an artifact just
/// composed (validated by [`validate_composition`]). Validating a Python function's 18 MB of code
/// again would be most of what `faas wrap` costs.
pub fn inspect_own(bytes: &[u8]) -> Result<Inspection, CheckError> {
    if !bytes.starts_with(b"\0asm") {
        return Err(CheckError::NotWasm);
    }
    decode(bytes)
}

/// Validates everything in a composition except the bodies of its functions: the layers' code was
/// validated when each was read (the function by [`inspect`]) or made (the generated layers), and
/// the composition changes none of it, only how the layers are instantiated and wired.
pub fn validate_composition(bytes: &[u8]) -> Result<(), CheckError> {
    let mut validator = Validator::new_with_features(WasmFeatures::all());
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| CheckError::Invalid(e.to_string()))?;
        // Function bodies come back as `Func` items to validate: those are the layers' own.
        validator
            .payload(&payload)
            .map_err(|e| CheckError::Invalid(e.to_string()))?;
    }
    Ok(())
}

fn decode(bytes: &[u8]) -> Result<Inspection, CheckError> {
    let (origin, component) = if Parser::is_component(bytes) {
        (Origin::Component, bytes.to_vec())
    } else {
        (Origin::CoreModule, componentize(bytes)?)
    };
    let (resolve, world) = match wit_component::decode(&component) {
        Ok(DecodedWasm::Component(resolve, world)) => (resolve, world),
        Ok(DecodedWasm::WitPackage(..)) => {
            return Err(CheckError::Decode(
                "it is a WIT package (types only), not a component with code".into(),
            ));
        }
        Err(e) => return Err(CheckError::Decode(format!("{e:#}"))),
    };
    let names = |items: &wit_parser::IndexMap<WorldKey, WorldItem>| {
        items
            .iter()
            .filter(|(_, item)| !matches!(item, WorldItem::Type { .. }))
            .map(|(key, _)| resolve.name_world_key(key))
            .collect::<Vec<_>>()
    };
    let w = &resolve.worlds[world];
    let imports = names(&w.imports);
    let exports = names(&w.exports);
    Ok(Inspection {
        origin,
        component,
        imports,
        exports,
        resolve,
        world,
    })
}

fn validate(bytes: &[u8]) -> Result<(), CheckError> {
    let mut validator = Validator::new_with_features(WasmFeatures::all());
    validator.validate_all(bytes).map_err(|e| {
        let message = e.to_string();
        if message.contains("end-of-file") || message.contains("unexpected end") {
            CheckError::Invalid(format!("{message} (the file looks truncated)"))
        } else {
            CheckError::Invalid(message)
        }
    })?;
    Ok(())
}

fn componentize(module: &[u8]) -> Result<Vec<u8>, CheckError> {
    let has_metadata = Parser::new(0).parse_all(module).any(|payload| {
        matches!(payload, Ok(Payload::CustomSection(s)) if s.name().starts_with("component-type"))
    });
    if !has_metadata {
        return Err(CheckError::CoreModuleWithoutMetadata);
    }
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(module)
        .and_then(|encoder| encoder.encode())
        .map_err(|e| CheckError::Componentize(format!("{e:#}")))
}

impl Inspection {
    /// Checks that the component exports a compatible `faas:function/handler` with the contract's
    /// `handle` type.
    pub fn check_function(&self) -> Result<HandlerExport, CheckError> {
        let expected = contract::handler_export_name();
        let world = &self.resolve.worlds[self.world];
        let handler = world.exports.iter().find_map(|(key, item)| {
            let (WorldKey::Interface(id), WorldItem::Interface { .. }) = (key, item) else {
                return None;
            };
            let iface = &self.resolve.interfaces[*id];
            let package = &self.resolve.packages[iface.package?].name;
            let is_handler = format!("{}:{}", package.namespace, package.name) == contract::PACKAGE
                && iface.name.as_deref() == Some(contract::HANDLER_INTERFACE);
            is_handler.then_some((*id, package.version.clone()))
        });
        let Some((id, version)) = handler else {
            return Err(CheckError::MissingHandler {
                expected,
                exports: self.exports.clone(),
            });
        };
        let interface = self.resolve.id_of(id).unwrap_or_default();
        let compatible = version.as_ref().is_some_and(contract::is_compatible);
        if !compatible {
            return Err(CheckError::IncompatibleContract {
                found: interface,
                expected,
            });
        }
        let expected_sig = contract::expected_handle_signature();
        let found_sig = match self.resolve.interfaces[id].functions.get("handle") {
            Some(func) => contract::signature(&self.resolve, func),
            None => "nothing (no `handle` function)".to_string(),
        };
        if found_sig != expected_sig {
            return Err(CheckError::WrongSignature {
                interface,
                found: found_sig,
                expected: expected_sig,
            });
        }
        Ok(HandlerExport {
            interface,
            version: version.map(|v| v.to_string()).unwrap_or_default(),
        })
    }
}

impl Inspection {
    /// The imported interfaces whose types the import `name` uses (`wasi:filesystem/types` uses
    /// `wasi:io/streams`), named as this component imports them.
    pub fn uses(&self, name: &str) -> Vec<String> {
        let world = &self.resolve.worlds[self.world];
        let Some(id) = world.imports.iter().find_map(|(key, item)| match item {
            WorldItem::Interface { id, .. } if self.resolve.name_world_key(key) == name => {
                Some(*id)
            }
            _ => None,
        }) else {
            return Vec::new();
        };
        let mut used = Vec::new();
        for ty in self.resolve.interfaces[id].types.values() {
            let wit_parser::TypeDefKind::Type(wit_parser::Type::Id(target)) =
                self.resolve.types[*ty].kind
            else {
                continue;
            };
            if let wit_parser::TypeOwner::Interface(owner) = self.resolve.types[target].owner
                && owner != id
                && let Some(owner_name) = self.resolve.id_of(owner)
                && !used.contains(&owner_name)
            {
                used.push(owner_name);
            }
        }
        used
    }

    /// The WIT this component was decoded with (for components generated to fit it).
    pub(crate) fn resolve(&self) -> &Resolve {
        &self.resolve
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_not_wasm() {
        assert!(matches!(inspect(b"hello"), Err(CheckError::NotWasm)));
    }

    #[test]
    fn truncated_module_is_reported_as_truncated() {
        // A valid header followed by a type section that claims more bytes than there are.
        let bytes = b"\0asm\x01\0\0\0\x01\x10\x01";
        let err = inspect(bytes).err().unwrap().to_string();
        assert!(err.contains("truncated"), "{err}");
    }

    #[test]
    fn core_module_without_metadata_is_refused() {
        let empty_module = b"\0asm\x01\0\0\0";
        assert!(matches!(
            inspect(empty_module),
            Err(CheckError::CoreModuleWithoutMetadata)
        ));
    }
}

/// `component` with every top-level `wasi:` import of an older WASI 0.2 release renamed to
/// `release` (`wasi:io/poll@0.2.6` → `wasi:io/poll@0.2.12`), or `None` when none is older (or the
/// bytes are not a component: [`inspect`] then says what is wrong with them).
///
/// Why: an artifact must import one release of each interface (target checks match names exactly),
/// and its layers come from different toolchains. A 0.2 release only adds to the one before, so a
/// component written against 0.2.6 is satisfied by a 0.2.12 host. Only the names change: every
/// section other than the imports is copied as it is, so this is linear in the size and never
/// validates (the composition does, once).
pub fn with_wasi_release(component: &[u8], release: &semver::Version) -> Option<Vec<u8>> {
    if !Parser::is_component(component) {
        return None;
    }
    let renamed = |name: &str| -> Option<String> {
        let (interface, version) = name.strip_prefix("wasi:")?.split_once('@')?;
        let version = semver::Version::parse(version).ok()?;
        let same_track = version.major == release.major && version.minor == release.minor;
        (same_track && version < *release && version.pre.is_empty())
            .then(|| format!("wasi:{interface}@{release}"))
    };
    let mut out = wasm_encoder::Component::new();
    let mut changed = false;
    let mut parser = Parser::new(0);
    let mut rest = component;
    loop {
        let wasmparser::Chunk::Parsed { consumed, payload } = parser.parse(rest, true).ok()? else {
            return None;
        };
        let start = component.len() - rest.len();
        rest = &rest[consumed..];
        match &payload {
            Payload::Version { .. } => {}
            Payload::End(_) => break,
            Payload::ComponentImportSection(reader) => {
                let mut section = wasm_encoder::ComponentImportSection::new();
                for import in reader.clone() {
                    let import = import.ok()?;
                    let ty = wasm_encoder::ComponentTypeRef::from(import.ty);
                    let mut name = import.name;
                    let new_name = renamed(name.name);
                    if let Some(new_name) = &new_name {
                        changed = true;
                        name.name = new_name;
                    }
                    section.import(name, ty);
                }
                out.section(&section);
            }
            other => {
                let (id, range) = other.as_section()?;
                out.section(&wasm_encoder::RawSection {
                    id,
                    data: &component[range.start as usize..range.end as usize],
                });
                // A nested module or component is copied whole above: skip its contents.
                if let Payload::ModuleSection {
                    unchecked_range, ..
                }
                | Payload::ComponentSection {
                    unchecked_range, ..
                } = other
                {
                    rest = &rest[(unchecked_range.end - unchecked_range.start) as usize..];
                }
            }
        }
        debug_assert!(component.len() - rest.len() > start);
    }
    changed.then(|| out.finish())
}

#[cfg(test)]
mod wasi_release_tests {
    use super::*;

    fn import_names(component: &[u8]) -> Vec<String> {
        let mut names = Vec::new();
        let mut depth = 0;
        for payload in Parser::new(0).parse_all(component) {
            match payload.unwrap() {
                Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
                Payload::End(_) => depth -= 1,
                Payload::ComponentImportSection(reader) if depth == 0 => {
                    names.extend(reader.into_iter().map(|i| i.unwrap().name.name.to_string()));
                }
                _ => {}
            }
        }
        names
    }

    const COMPONENT: &str = r#"(component
        (import "wasi:io/poll@0.2.6" (instance))
        (import "wasi:cli/environment@0.2.12" (instance))
        (import "wasi:config/store@0.2.0-rc.1" (instance))
        (import "wasi:http/types@0.3.0" (instance))
        (import "other:pkg/api@0.2.6" (instance))
        (core module $m (func (export "f")))
        (component $inner (import "wasi:io/poll@0.2.6" (instance)))
        (instance (instantiate $inner (with "wasi:io/poll@0.2.6" (instance 0))))
        (core instance (instantiate $m))
    )"#;

    #[test]
    fn older_wasi_0_2_imports_are_renamed_and_nothing_else_changes() {
        let component = wat::parse_str(COMPONENT).unwrap();
        let release = semver::Version::parse("0.2.12").unwrap();
        let renamed = with_wasi_release(&component, &release).expect("one import is older");
        Validator::new_with_features(WasmFeatures::all())
            .validate_all(&renamed)
            .expect("still a valid component");
        assert_eq!(
            import_names(&renamed),
            [
                "wasi:io/poll@0.2.12",
                "wasi:cli/environment@0.2.12",
                // A pre-release, another track and other packages keep their names.
                "wasi:config/store@0.2.0-rc.1",
                "wasi:http/types@0.3.0",
                "other:pkg/api@0.2.6",
            ]
        );
        // The nested component's own import is its business: only the outer names change.
        assert_eq!(renamed.len(), component.len() + 1);
    }

    #[test]
    fn a_component_at_the_release_and_a_core_module_are_left_alone() {
        let release = semver::Version::parse("0.2.6").unwrap();
        let component = wat::parse_str(COMPONENT).unwrap();
        assert!(with_wasi_release(&component, &release).is_none());
        let module = wat::parse_str("(module)").unwrap();
        assert!(with_wasi_release(&module, &release).is_none());
        assert!(with_wasi_release(b"not wasm", &release).is_none());
    }
}
