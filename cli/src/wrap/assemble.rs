//! Assembling an artifact: [`plan`](super::plan::plan) it, [`encode`](super::encode::encode) the
//! plan, check what the result imports, and record its layers in it.

use super::WrapError;
use super::plan::compose_err;
use crate::artifact::{LAYERS_SECTION, Layer, LayersNote, WrapParameters, append_custom_section};
use crate::component;
use crate::digest;
use crate::platform::Platform;
use crate::policy::CompiledPolicy;
use crate::project::{Language, Trigger};
use std::collections::BTreeMap;

/// A composed artifact in memory.
pub struct Composed {
    /// The artifact's bytes.
    pub bytes: Vec<u8>,
    /// Its layers, in report order.
    pub layers: Vec<Layer>,
    /// Its imports.
    pub imports: Vec<String>,
    /// Its exports.
    pub exports: Vec<String>,
}

/// The decorated function alone (its policy, decorator and their layers; no adapters), exporting
/// `faas:function/handler`: what a function depending on this one composes behind a gate.
pub fn assemble_decorated(
    function: &[u8],
    policy: &CompiledPolicy,
    language: Language,
) -> Result<Vec<u8>, WrapError> {
    let (plan, _) = super::plan::plan_decorated(function, policy, language)?;
    super::encode::encode(&plan)
}

/// Composes `function` (written in `language`, which decides the imports its toolchain adds) with
/// the decorator specialized for `policy` and one adapter per trigger, for the host of `target`
/// (loaded once, by the caller), and validates the result; the layers note records the target,
/// which the caller checks the artifact against. Pure: no file system access.
pub fn assemble(
    function: &[u8],
    policy: &CompiledPolicy,
    triggers: &[Trigger],
    language: Language,
    target: Option<&Platform>,
    dependencies: &[crate::deps::Resolved],
) -> Result<Composed, WrapError> {
    let host = super::plan::Host::of(target);
    let (plan, _) =
        super::plan::plan_for(function, policy, triggers, language, host, dependencies)?;
    let parameters = WrapParameters {
        language: language.name().to_string(),
        triggers: triggers.iter().map(|t| t.name().to_string()).collect(),
        target: target.map(|t| t.name.clone()),
        http_component: false,
    };
    finish(plan, policy, dependencies, parameters)
}

/// Composes the policy's middleware in front of `component`, a WASI 0.3 HTTP component (`faas
/// wrap --http-component`), for the host of `target`, and validates the result. Pure.
pub fn assemble_http_component(
    component: &[u8],
    policy: &CompiledPolicy,
    target: Option<&Platform>,
) -> Result<Composed, WrapError> {
    let host = super::plan::Host::of(target);
    let (plan, _) = super::plan::plan_http_component(component, policy, host)?;
    let parameters = WrapParameters {
        language: "component".to_string(),
        triggers: vec![Trigger::Http.name().to_string()],
        target: target.map(|t| t.name.clone()),
        http_component: true,
    };
    finish(plan, policy, &[], parameters)
}

/// Encodes `plan`, checks what the result imports, and records its layers in it.
fn finish(
    plan: super::plan::Plan,
    policy: &CompiledPolicy,
    dependencies: &[crate::deps::Resolved],
    parameters: WrapParameters,
) -> Result<Composed, WrapError> {
    tracing::debug!(
        layers = plan.layers.len(),
        wires = plan.wires.len(),
        "planned the composition"
    );
    tracing::trace!(plan = %plan.describe(), "the plan");
    let mut bytes = super::encode::encode(&plan)?;
    tracing::debug!(bytes = bytes.len(), "encoded the artifact");
    let artifact = component::inspect_own(&bytes).map_err(|e| compose_err("the artifact", e))?;
    // Everything of our own package must be satisfied inside the artifact; only the host's
    // interfaces (wasi:…) may remain as imports, and faas dev's source in a development artifact
    // (which only faas dev grants).
    if let Some(import) = artifact
        .imports
        .iter()
        .find(|i| i.starts_with("faas:") && !i.starts_with("faas:dev/"))
    {
        return Err(WrapError::Unsatisfied {
            layer: "function",
            import: import.clone(),
            hint: "",
        });
    }
    let layers: Vec<Layer> = plan
        .report_order()
        .into_iter()
        .map(|i| {
            let layer = &plan.layers[i];
            let (digest, size) = layer
                .as_given
                .clone()
                .unwrap_or_else(|| (digest::sha256(&layer.bytes), layer.bytes.len() as u64));
            Layer {
                layer: layer.kind.to_string(),
                digest,
                size,
            }
        })
        .collect();
    let host_imports: BTreeMap<String, Vec<String>> = plan
        .layers
        .iter()
        .filter_map(|l| Some((l.kind.to_string(), l.host_imports.clone()?)))
        .collect();
    // Record the layers inside the artifact, so that publishing (annotations) and inspection can
    // name them without the inputs at hand.
    let note = LayersNote {
        faas_version: env!("CARGO_PKG_VERSION").to_string(),
        layers: layers.clone(),
        host_imports,
        policy_document: digest::sha256(&policy.document),
        policy_summary: policy.summary(),
        built_from: plan
            .layers
            .iter()
            .filter_map(|l| Some((l.kind.to_string(), l.built_from.clone()?)))
            .collect(),
        grants: dependencies
            .iter()
            .filter_map(|d| d.grants.as_ref())
            .fold(policy.grants(), |all, theirs| all.with(theirs)),
        platform_links: plan.platform_links.iter().fold(
            BTreeMap::new(),
            |mut links, (name, import)| {
                links
                    .entry(name.clone())
                    .or_insert_with(Vec::new)
                    .push(import.clone());
                links
            },
        ),
        parameters: Some(parameters),
    };
    append_custom_section(
        &mut bytes,
        LAYERS_SECTION,
        &serde_json::to_vec(&note).expect("the note serialises"),
    );
    Ok(Composed {
        layers,
        imports: artifact.imports,
        exports: artifact.exports,
        bytes,
    })
}
