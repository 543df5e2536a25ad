//! Dependencies in the plan: which of the function's imports each dependency's exports satisfy
//! (composed into the artifact as a layer of its own) or the platform links (left as imports),
//! and what each dependency may itself import, under the policy's `[dependencies.NAME]` table.

use super::{DenyLayers, LayerKind, Owner, Plan, WrapError};
use crate::component::{self, Inspection};
use crate::deps::{Link, Resolved};
use crate::policy::Capabilities;
use crate::project::Language;
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
}
