//! Encoding a [`Plan`] into a component with wac-graph: the only code that touches the graph.
//!
//! wac-graph encodes nodes in the order they were created, so the same plan must always create
//! them in the same order, and this order is part of the artifact's bytes. The rule:
//!
//! 1. Layers are instantiated in plan order; each package is registered just before.
//! 2. A layer's exports that later layers (or the artifact) use are aliased as soon as its own
//!    imports from earlier layers are connected: right after it is instantiated when it has none.
//! 3. When a layer's group is complete (it and the layers it owns are instantiated), its imports
//!    from earlier layers are connected, then its exports that earlier layers use (a deny layer's
//!    to the layer it was made for, the credentials provider's to the function), aliased on first
//!    use. Groups ending at the same layer complete innermost first.
//!
//! Wires are taken in plan order within each step. A wac-graph error here names the layer; it is a
//! faas bug, not an input problem, since the plan has already checked what it wires.

use super::WrapError;
use super::plan::{Plan, compose_err};
use std::collections::HashMap;
use wac_graph::types::Package;
use wac_graph::{CompositionGraph, EncodeOptions, NodeId, Processor};

/// The component a plan describes, validated.
pub fn encode(plan: &Plan) -> Result<Vec<u8>, WrapError> {
    let mut graph = CompositionGraph::new();
    let mut instances: Vec<NodeId> = Vec::with_capacity(plan.layers.len());
    let mut aliases: HashMap<(usize, String), NodeId> = HashMap::new();
    let group_ends: Vec<usize> = (0..plan.layers.len()).map(|i| plan.group_end(i)).collect();

    for (index, layer) in plan.layers.iter().enumerate() {
        let name = layer.kind.to_string();
        let package = Package::from_bytes(
            &layer.kind.package_name(),
            None,
            layer.bytes.to_vec(),
            graph.types_mut(),
        )
        .map_err(|e| compose_err(&name, e))?;
        let package = graph
            .register_package(package)
            .map_err(|e| compose_err(&name, e))?;
        instances.push(graph.instantiate(package));
        if imports_from_earlier(plan, index).next().is_none() {
            alias_for_later(plan, index, &mut graph, &instances, &mut aliases)?;
        }
        // Complete every group that ends here, innermost (latest-starting) first.
        for completed in (0..=index).rev().filter(|&i| group_ends[i] == index) {
            let mut wired_from_earlier = false;
            for wire in imports_from_earlier(plan, completed) {
                let value = alias(
                    &mut graph,
                    &instances,
                    &mut aliases,
                    wire.provider,
                    &wire.export,
                    plan,
                )?;
                connect(
                    &mut graph,
                    instances[completed],
                    &wire.import,
                    value,
                    plan,
                    completed,
                )?;
                wired_from_earlier = true;
            }
            for wire in plan
                .wires
                .iter()
                .filter(|w| w.provider == completed && w.consumer < completed)
            {
                let value = alias(
                    &mut graph,
                    &instances,
                    &mut aliases,
                    completed,
                    &wire.export,
                    plan,
                )?;
                connect(
                    &mut graph,
                    instances[wire.consumer],
                    &wire.import,
                    value,
                    plan,
                    wire.consumer,
                )?;
            }
            if wired_from_earlier {
                alias_for_later(plan, completed, &mut graph, &instances, &mut aliases)?;
            }
        }
    }
    for (layer, export) in &plan.exports {
        let value = aliases[&(*layer, export.clone())];
        graph
            .export(value, export)
            .map_err(|e| compose_err(plan.layers[*layer].kind.to_string(), e))?;
    }
    let bytes = graph
        .encode(EncodeOptions {
            define_components: true,
            // Validated below, once: wac-graph's validation would check every layer's code again.
            validate: false,
            processor: Some(Processor {
                name: "faas",
                version: env!("CARGO_PKG_VERSION"),
            }),
        })
        .map_err(|e| compose_err("the artifact", e))?;
    crate::component::validate_composition(&bytes).map_err(|e| compose_err("the artifact", e))?;
    Ok(bytes)
}

/// The wires into `layer` from layers instantiated before it.
fn imports_from_earlier(plan: &Plan, layer: usize) -> impl Iterator<Item = &super::plan::Wire> {
    plan.wires
        .iter()
        .filter(move |w| w.consumer == layer && w.provider < layer)
}

/// Aliases `layer`'s exports that later layers or the artifact use, each once, in plan order.
fn alias_for_later(
    plan: &Plan,
    layer: usize,
    graph: &mut CompositionGraph,
    instances: &[NodeId],
    aliases: &mut HashMap<(usize, String), NodeId>,
) -> Result<(), WrapError> {
    let later = plan
        .wires
        .iter()
        .filter(|w| w.provider == layer && w.consumer > layer)
        .map(|w| &w.export)
        .chain(
            plan.exports
                .iter()
                .filter(|(l, _)| *l == layer)
                .map(|(_, e)| e),
        );
    for export in later.cloned().collect::<Vec<_>>() {
        alias(graph, instances, aliases, layer, &export, plan)?;
    }
    Ok(())
}

fn alias(
    graph: &mut CompositionGraph,
    instances: &[NodeId],
    aliases: &mut HashMap<(usize, String), NodeId>,
    layer: usize,
    export: &str,
    plan: &Plan,
) -> Result<NodeId, WrapError> {
    if let Some(node) = aliases.get(&(layer, export.to_string())) {
        return Ok(*node);
    }
    let node = graph
        .alias_instance_export(instances[layer], export)
        .map_err(|e| {
            compose_err(
                plan.layers[layer].kind.to_string(),
                format!("{export}: {e}"),
            )
        })?;
    aliases.insert((layer, export.to_string()), node);
    Ok(node)
}

fn connect(
    graph: &mut CompositionGraph,
    instance: NodeId,
    import: &str,
    value: NodeId,
    plan: &Plan,
    layer: usize,
) -> Result<(), WrapError> {
    graph
        .set_instantiation_argument(instance, import, value)
        .map_err(|e| {
            compose_err(
                plan.layers[layer].kind.to_string(),
                format!("{import}: {e}"),
            )
        })
}
