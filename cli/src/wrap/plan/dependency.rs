//! Dependencies in the plan: which of the function's imports each dependency's exports satisfy
//! (composed into the artifact as a layer of its own) or the platform links (left as imports),
//! and what each dependency may itself import, under the policy's `[dependencies.NAME]` table.

use super::{DenyLayers, LayerKind, Owner, Plan, WrapError};
use crate::component::{self, Inspection};
use crate::deps::{Kind, Resolved};
use crate::policy::Capabilities;
use crate::project::Language;
use crate::project::dependencies::Link;
use std::borrow::Cow;

/// How the function's imports are linked to its dependencies.
pub(super) struct Links<'a> {
    composed: Vec<Composed<'a>>,
    /// (dependency, import) left for the platform.
    platform: Vec<(String, String)>,
    capabilities: &'a Capabilities,
}

struct Composed<'a> {
    dependency: &'a Resolved,
    inspection: Inspection,
    /// (the function's import, the dependency's export).
    wires: Vec<(String, String)>,
}

fn unversioned(name: &str) -> &str {
    name.split('@').next().unwrap_or(name)
}

/// Matches the function's imports with the dependencies' exports. An import of an interface a
/// dependency exports at an incompatible version is an error naming both.
pub(super) fn link<'a>(
    function: &Inspection,
    dependencies: &'a [Resolved],
    capabilities: &'a Capabilities,
) -> Result<Links<'a>, WrapError> {
    if let Some((name, grant)) = capabilities
        .dependencies
        .iter()
        .find(|(name, _)| !dependencies.iter().any(|d| d.name == **name))
    {
        return Err(WrapError::Dependency {
            name: name.clone(),
            message: format!(
                "the policy grants it imports ({}, [dependencies.{name}]), but the function \
                 has no such dependency in faas.toml",
                grant.location
            ),
        });
    }
    let mut links = Links {
        composed: Vec::new(),
        platform: Vec::new(),
        capabilities,
    };
    for dependency in dependencies {
        let inspection =
            component::inspect(&dependency.bytes).map_err(|e| WrapError::Dependency {
                name: dependency.name.clone(),
                message: e.to_string(),
            })?;
        let mut wires = Vec::new();
        if let Kind::Function { .. } = dependency.kind {
            // The caller imports the contract's handler under the callee's name; the gate
            // exports it from the contract's.
            let expected = crate::deps::function_interface(&dependency.name);
            if function.imports.contains(&expected) {
                wires.push((expected, crate::contract::handler_export_name()));
            }
            links.composed.push(Composed {
                dependency,
                inspection,
                wires,
            });
            continue;
        }
        for import in &function.imports {
            let Some(export) = inspection
                .exports
                .iter()
                .find(|e| unversioned(e) == unversioned(import))
            else {
                continue;
            };
            if !crate::platform::compatible(import, export) {
                return Err(WrapError::Dependency {
                    name: dependency.name.clone(),
                    message: format!(
                        "the function imports {import}, but the dependency exports {export}: \
                         the versions are not compatible; update one of them"
                    ),
                });
            }
            match dependency.link {
                Link::Compose => wires.push((import.clone(), export.clone())),
                Link::Platform => links
                    .platform
                    .push((dependency.name.clone(), import.clone())),
            }
        }
        if dependency.link == Link::Compose {
            links.composed.push(Composed {
                dependency,
                inspection,
                wires,
            });
        }
    }
    Ok(links)
}

impl Links<'_> {
    /// The function's imports a dependency takes care of: not the capability allow-list's.
    pub(super) fn skipped(&self) -> Vec<String> {
        let mut skipped = self.composed_imports();
        skipped.extend(self.platform.iter().map(|(_, import)| import.clone()));
        skipped
    }

    /// The function's imports satisfied inside the artifact by a composed dependency.
    pub(super) fn composed_imports(&self) -> Vec<String> {
        self.composed
            .iter()
            .flat_map(|c| c.wires.iter().map(|(import, _)| import.clone()))
            .collect()
    }
}

impl Plan {
    /// Adds each composed dependency as a layer owned by the function, wired to the imports it
    /// satisfies, with its own host imports under its own grant (a deny layer for its toolchain's
    /// ambient imports; anything else not granted is an error).
    pub(super) fn add_dependencies(
        &mut self,
        function_layer: usize,
        links: Links<'_>,
    ) -> Result<(), WrapError> {
        for composed in links.composed {
            let dependency = composed.dependency;
            // Leaked once per dependency and process: layer kinds are `Copy`.
            let name: &'static str = Box::leak(dependency.name.clone().into_boxed_str());
            if let Kind::Function { caller, .. } = &dependency.kind {
                self.add_function_dependency(function_layer, name, caller, composed)?;
                continue;
            }
            let grant = links.capabilities.dependencies.get(&dependency.name);
            let allow = grant.map(|g| g.allow.as_slice()).unwrap_or_default();
            let (interfaces, refused) =
                DenyLayers::classify(&composed.inspection, allow, Language::Rust, &[]);
            if !refused.is_empty() {
                return Err(WrapError::DependencyCapabilities {
                    name: dependency.name.clone(),
                    imports: refused,
                    location: grant.map(|g| g.location.clone()),
                });
            }
            let layer = self.push(
                LayerKind::Dependency(name),
                Cow::Owned(dependency.bytes.clone()),
                Some(function_layer),
            );
            self.layers[layer].built_from = crate::packages::of_component(&dependency.bytes);
            let denials =
                DenyLayers::build(&composed.inspection, interfaces, None, "a dependency")?;
            self.satisfy(layer, Owner::Dependency(name), denials);
            for (import, export) in &composed.wires {
                self.wire(function_layer, import, layer, export);
            }
        }
        self.platform_links = links.platform;
        Ok(())
    }

    /// A faas function the function calls: its decorated component (what its own policy lets
    /// it import stays its host imports), behind a function gate that names the caller.
    fn add_function_dependency(
        &mut self,
        function_layer: usize,
        name: &'static str,
        caller: &str,
        composed: Composed<'_>,
    ) -> Result<(), WrapError> {
        let dependency = composed.dependency;
        let handler = crate::contract::handler_export_name();
        let policy = crate::contract::interface_name("policy");
        let callee = self.push(
            LayerKind::Dependency(name),
            Cow::Owned(dependency.bytes.clone()),
            Some(function_layer),
        );
        self.layers[callee].host_imports = Some(composed.inspection.imports.clone());
        let seed: [u8; 16] = {
            use sha2::Digest;
            sha2::Sha256::digest(dependency.bytes.as_slice())[..16]
                .try_into()
                .expect("16 bytes")
        };
        let gate = self.add_guest(
            &crate::guests::FUNCTION_GATE_GUEST,
            LayerKind::Gate(name),
            Owner::Gate(name),
            Some(function_layer),
            seed,
            &|_| false,
        )?;
        let caller_name = crate::generate::policy_component(
            caller.as_bytes(),
            crate::guests::FUNCTION_GATE_GUEST.inspection(),
            &[],
        )
        .map_err(WrapError::PolicyComponent)?;
        let caller_layer = self.push(
            LayerKind::CallerName(name),
            Cow::Owned(caller_name),
            Some(gate),
        );
        self.wire(gate, &handler, callee, &handler);
        self.wire(gate, &policy, caller_layer, &policy);
        for (import, export) in &composed.wires {
            self.wire(function_layer, import, gate, export);
        }
        Ok(())
    }
}
