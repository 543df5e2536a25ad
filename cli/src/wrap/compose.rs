//! Composition: the function, the policy component, the decorator, the JWT layer (for policies
//! with `[auth.jwt]`), the credentials provider, one adapter per trigger, and the generated
//! deny-all and seed layers, wired with wac-graph and validated.

use super::note::{LAYERS_SECTION, LayersNote, append_custom_section};
use super::{Layer, WrapError};
use crate::capabilities::Verdict;
use crate::component;
use crate::contract;
use crate::digest;
use crate::generate;
use crate::guests;
use crate::policy::{Capabilities, CompiledPolicy};
use crate::project::{Language, Trigger};
use std::collections::BTreeMap;
use std::path::PathBuf;
use wac_graph::types::Package;
use wac_graph::{CompositionGraph, EncodeOptions, NodeId, Processor};

/// A composed artifact in memory.
pub struct Composed {
    /// The artifact's bytes.
    pub bytes: Vec<u8>,
    /// Its layers.
    pub layers: Vec<Layer>,
    /// Its imports.
    pub imports: Vec<String>,
    /// Its exports.
    pub exports: Vec<String>,
}

/// Composes `function` (written in `language`, which decides the imports its toolchain adds) with
/// the decorator specialized for `policy` and one adapter per trigger, and validates the result.
/// Pure: no file system access.
pub fn compose(
    function: &[u8],
    policy: &CompiledPolicy,
    triggers: &[Trigger],
    language: Language,
) -> Result<Composed, WrapError> {
    if triggers.is_empty() {
        return Err(compose_err(
            "the artifact",
            "no trigger: faas.toml must list at least one",
        ));
    }
    // A trigger the policy lets nothing through would make an artifact that answers every call
    // with a refusal: that is a mistake in the policy or the trigger list, said now.
    if triggers.contains(&Trigger::Messaging) && policy.policy.messaging.is_none() {
        return Err(compose_err(
            "the messaging adapter",
            format!(
                "the messaging trigger is on, but {} has no [messaging] table, so no message \
                 could ever reach the function; add [messaging] subjects = [...] or drop the trigger",
                policy.path.display()
            ),
        ));
    }
    if let Some(trigger) = triggers
        .iter()
        .find(|t| matches!(t, Trigger::Http | Trigger::Cli))
        && policy.policy.rules.is_empty()
    {
        return Err(compose_err(
            "the artifact",
            format!(
                "the {} trigger is on, but {} has no [[rule]], so every request would be \
                 refused; add rules or drop the trigger",
                trigger.name(),
                policy.path.display()
            ),
        ));
    }
    let function_check = |source| WrapError::Function {
        path: PathBuf::new(),
        source,
    };
    let inspected = component::inspect(function).map_err(function_check)?;
    let handler = inspected.check_function().map_err(function_check)?;
    let policy_component =
        generate::policy_component(&policy.document).map_err(WrapError::PolicyComponent)?;

    let handler_name = contract::handler_export_name();
    let policy_name = contract::interface_name("policy");

    let mut graph = CompositionGraph::new();
    let function_pkg = register(
        &mut graph,
        "faas:function-impl",
        &inspected.component,
        "function",
    )?;
    let policy_pkg = register(&mut graph, "faas:policy", &policy_component, "policy")?;
    let decorator_pkg = register(&mut graph, "faas:decorator", guests::DECORATOR, "decorator")?;

    let policy_instance = graph.instantiate(policy_pkg);
    let policy_export = alias(&mut graph, policy_instance, &policy_name, "policy")?;

    let function_instance = graph.instantiate(function_pkg);
    let function_handler = alias(
        &mut graph,
        function_instance,
        &handler.interface,
        "function",
    )?;
    let mut deny_layers = Vec::new();
    let mut denials = Denials::for_function(&inspected, &policy.capabilities, language)?;
    // A granted `wasi:config/store` is narrowed to the policy's [credentials] by the credentials
    // provider: the function never sees the host's store, which holds other layers' secrets.
    let config_import = denials.take_config_store()?;
    let mut host_imports = BTreeMap::new();
    let seed: [u8; 16] = {
        use sha2::Digest;
        sha2::Sha256::digest(&policy.document)[..16]
            .try_into()
            .expect("16 bytes")
    };
    deny_layers.extend(denials.wire(
        &mut graph,
        function_instance,
        "function",
        &mut host_imports,
    )?);
    let credentials_import = inspected
        .imports
        .iter()
        .find(|i| i.starts_with("faas:function/credentials@"))
        .cloned();
    let with_credentials = credentials_import.is_some() || config_import.is_some();
    if with_credentials {
        // The provider answers only the names the policy grants; without grants it never reads
        // the host's configuration, so that import is denied inside the artifact.
        let provider = add_policy_reader(
            &mut graph,
            &PolicyReader {
                layer: "credentials",
                bytes: guests::CREDENTIALS,
                needs_config: !policy.policy.credentials.is_empty(),
            },
            (&policy_name, policy_export),
            seed,
            &mut host_imports,
        )?;
        deny_layers.extend(provider.generated);
        for import in credentials_import.iter().chain(&config_import) {
            let export = alias(&mut graph, provider.instance, import, "credentials")?;
            connect(&mut graph, function_instance, import, export, "function")?;
        }
    }

    let decorator = graph.instantiate(decorator_pkg);
    let decorator_inspection =
        component::inspect(guests::DECORATOR).map_err(|e| compose_err("decorator", e))?;
    // JWT verification is a layer of its own, composed only when the policy accepts JWTs; without
    // it the decorator's import is denied (the decorator never calls it then).
    let with_jwt = policy.policy.jwt.is_some();
    let decorator_denied: &[&str] = if with_jwt {
        &[]
    } else {
        &[guests::JWT_INTERFACE]
    };
    deny_layers.extend(
        Denials::for_guest(&decorator_inspection, decorator_denied, seed)?.wire(
            &mut graph,
            decorator,
            "decorator",
            &mut host_imports,
        )?,
    );
    if with_jwt {
        // It reads run-time configuration only for an HS256 secret.
        let verifier = add_policy_reader(
            &mut graph,
            &PolicyReader {
                layer: "jwt-verifier",
                bytes: guests::JWT_VERIFIER,
                needs_config: policy
                    .policy
                    .jwt
                    .as_ref()
                    .is_some_and(|jwt| jwt.hs256_secret.is_some()),
            },
            (&policy_name, policy_export),
            seed,
            &mut host_imports,
        )?;
        deny_layers.extend(verifier.generated);
        let export = alias(
            &mut graph,
            verifier.instance,
            guests::JWT_INTERFACE,
            "jwt-verifier",
        )?;
        connect(
            &mut graph,
            decorator,
            guests::JWT_INTERFACE,
            export,
            "decorator",
        )?;
    }
    connect(
        &mut graph,
        decorator,
        &policy_name,
        policy_export,
        "decorator",
    )?;
    connect(
        &mut graph,
        decorator,
        &handler_name,
        function_handler,
        "decorator",
    )?;
    let decorated = alias(&mut graph, decorator, &handler_name, "decorator")?;

    // One adapter per trigger, each wired to the one decorator instance.
    let mut adapter_layers = Vec::new();
    for trigger in triggers {
        let adapter = guests::adapter(*trigger);
        let package = register(
            &mut graph,
            &format!("faas:{}", adapter.layer),
            adapter.bytes,
            adapter.layer,
        )?;
        let instance = graph.instantiate(package);
        let inspection =
            component::inspect(adapter.bytes).map_err(|e| compose_err(adapter.layer, e))?;
        deny_layers.extend(
            Denials::for_guest(&inspection, &[], seed)?
                .keeping(adapter.keep)
                .wire(&mut graph, instance, adapter.layer, &mut host_imports)?,
        );
        connect(
            &mut graph,
            instance,
            &handler_name,
            decorated,
            adapter.layer,
        )?;
        if inspection.imports.contains(&policy_name) {
            connect(
                &mut graph,
                instance,
                &policy_name,
                policy_export,
                adapter.layer,
            )?;
        }
        let export = alias(&mut graph, instance, adapter.export, adapter.layer)?;
        graph
            .export(export, adapter.export)
            .map_err(|e| compose_err(adapter.layer, e))?;
        adapter_layers.push((adapter.layer, adapter.bytes));
    }

    let bytes = graph
        .encode(EncodeOptions {
            define_components: true,
            validate: true,
            processor: Some(Processor {
                name: "faas",
                version: env!("CARGO_PKG_VERSION"),
            }),
        })
        .map_err(|e| compose_err("the artifact", e))?;

    let artifact = component::inspect(&bytes).map_err(|e| WrapError::Compose {
        layer: "the artifact",
        message: e.to_string(),
    })?;
    // Everything of our own package must be satisfied inside the artifact; only the host's
    // interfaces (wasi:…) may remain as imports.
    if let Some(import) = artifact.imports.iter().find(|i| i.starts_with("faas:")) {
        return Err(WrapError::Unsatisfied {
            layer: "function",
            import: import.clone(),
            hint: if import.starts_with("faas:function/credentials") {
                ": credentials are granted by the policy's [credentials] table, which this \
                 version of faas does not support yet"
            } else {
                ""
            },
        });
    }
    let layer = |layer: &str, bytes: &[u8]| Layer {
        layer: layer.to_string(),
        digest: digest::sha256(bytes),
        size: bytes.len() as u64,
    };
    let mut layers = vec![
        layer("function", &inspected.component),
        layer("policy", &policy_component),
        layer("decorator", guests::DECORATOR),
    ];
    for (name, bytes) in &adapter_layers {
        layers.push(layer(name, bytes));
    }
    if with_jwt {
        layers.push(layer("jwt-verifier", guests::JWT_VERIFIER));
    }
    if with_credentials {
        layers.push(layer("credentials", guests::CREDENTIALS));
    }
    for (name, bytes) in &deny_layers {
        layers.push(layer(name, bytes));
    }
    // Record the layers inside the artifact, so that publishing (annotations) and inspection can
    // name them without the inputs at hand.
    let note = LayersNote {
        faas_version: env!("CARGO_PKG_VERSION").to_string(),
        layers: layers.clone(),
        host_imports,
        policy_document: digest::sha256(&policy.document),
        policy_summary: policy.summary(),
    };
    let mut bytes = bytes;
    append_custom_section(
        &mut bytes,
        LAYERS_SECTION,
        &serde_json::to_vec(&note).expect("the note serialises"),
    );
    Ok(Composed {
        layers,
        imports: artifact.imports.clone(),
        exports: artifact.exports.clone(),
        bytes,
    })
}

/// Generated layers (deny-all, seed), by name, for reports.
type Generated = Vec<(String, Vec<u8>)>;

/// One of faas's layers that reads the policy and, when the policy needs it, the host's run-time
/// configuration: the credentials provider, the JWT layer.
struct PolicyReader {
    /// Its name in reports (and of its deny layer).
    layer: &'static str,
    bytes: &'static [u8],
    /// Whether it may read `wasi:config/store`; otherwise that import is denied inside the artifact.
    needs_config: bool,
}

/// A policy reader in the graph: its instance (whose exports the caller aliases) and the deny and
/// seed layers made for it.
struct AddedReader {
    instance: NodeId,
    generated: Generated,
}

/// Instantiates `reader` and gives it the policy (`(name, export)`) and its deny and seed layers.
fn add_policy_reader(
    graph: &mut CompositionGraph,
    reader: &PolicyReader,
    (policy_name, policy_export): (&str, NodeId),
    seed: [u8; 16],
    host_imports: &mut BTreeMap<String, Vec<String>>,
) -> Result<AddedReader, WrapError> {
    let layer = reader.layer;
    let package = register(graph, &format!("faas:{layer}"), reader.bytes, layer)?;
    let instance = graph.instantiate(package);
    let inspection = component::inspect(reader.bytes).map_err(|e| compose_err(layer, e))?;
    let denied: &[&str] = if reader.needs_config {
        &[]
    } else {
        &[guests::CONFIG_STORE]
    };
    let generated = Denials::for_guest(&inspection, denied, seed)?.wire(
        graph,
        instance,
        layer,
        host_imports,
    )?;
    connect(graph, instance, policy_name, policy_export, layer)?;
    Ok(AddedReader {
        instance,
        generated,
    })
}

/// The imports of one layer that are satisfied inside the artifact: by a deny-all implementation,
/// or (for our own layers) by a fixed hash-map seed.
struct Denials {
    interfaces: Vec<String>,
    component: Option<Vec<u8>>,
    seed: Option<(String, Vec<u8>)>,
    /// What the layer leaves for the host to supply.
    host_imports: Vec<String>,
}

impl Denials {
    /// Removes a granted `wasi:config/store` from what the function leaves for the host, and
    /// returns it: the credentials provider supplies it instead. Only the version the provider
    /// exports can be narrowed; another one is an error rather than the host's whole store.
    fn take_config_store(&mut self) -> Result<Option<String>, WrapError> {
        let Some(position) = self
            .host_imports
            .iter()
            .position(|i| i.starts_with("wasi:config/store@"))
        else {
            return Ok(None);
        };
        let import = self.host_imports.remove(position);
        if import != guests::CONFIG_STORE {
            return Err(WrapError::Unsatisfied {
                layer: "function",
                import,
                hint: ": faas gives a function its granted [credentials] through \
                       wasi:config/store@0.2.0-rc.1 only (the version wasmtime and wasmCloud \
                       implement); build the function against that version",
            });
        }
        Ok(Some(import))
    }
}

impl Denials {
    /// For the function: its imports under the policy's allow-list. Imports the policy does not
    /// allow are errors, all reported at once.
    fn for_function(
        function: &component::Inspection,
        capabilities: &Capabilities,
        language: Language,
    ) -> Result<Self, WrapError> {
        let mut refused = Vec::new();
        let mut interfaces = Vec::new();
        let mut host = Vec::new();
        for import in &function.imports {
            match crate::capabilities::classify(import, &capabilities.allow, language) {
                Verdict::Internal => {}
                Verdict::Host => host.push(import.clone()),
                Verdict::Virtualize => interfaces.push(import.clone()),
                Verdict::Denied => refused.push(import.clone()),
            }
        }
        // A granted interface shares resources with the interfaces it uses (outgoing HTTP creates
        // `wasi:http/types` requests): those must come from the host too, not from a deny layer.
        // Each host import is looked at once; one moved to the host is looked at in turn.
        let mut unchecked = host;
        while let Some(granted) = unchecked.pop() {
            for used in function.uses(&granted) {
                if let Some(position) = interfaces.iter().position(|i| *i == used) {
                    unchecked.push(interfaces.remove(position));
                }
            }
        }
        if !refused.is_empty() {
            return Err(WrapError::Capabilities {
                imports: refused,
                location: capabilities.location.clone(),
            });
        }
        Self::build(function, interfaces, None, "function")
    }

    /// For a layer of ours: the ambient imports of the standard library, and `also` (host
    /// interfaces the layer can use but this policy does not need), are denied.
    fn for_guest(
        guest: &component::Inspection,
        also: &[&str],
        seed: [u8; 16],
    ) -> Result<Self, WrapError> {
        let interfaces = guest
            .imports
            .iter()
            .filter(|i| {
                crate::capabilities::classify(i, &[], Language::Rust) == Verdict::Virtualize
                    || also.contains(&i.as_str())
            })
            .cloned()
            .collect();
        Self::build(guest, interfaces, Some(seed), "a faas layer")
    }

    fn build(
        inspection: &component::Inspection,
        interfaces: Vec<String>,
        seed: Option<[u8; 16]>,
        layer: &'static str,
    ) -> Result<Self, WrapError> {
        let seed = match (
            seed,
            inspection
                .imports
                .iter()
                .find(|i| i.starts_with("wasi:random/insecure-seed@")),
        ) {
            (Some(seed), Some(interface)) => Some((
                interface.clone(),
                generate::seed_component(inspection, interface, seed)
                    .map_err(|e| compose_err(layer, format!("hash-map seed: {e}")))?,
            )),
            _ => None,
        };
        let host_imports = inspection
            .imports
            .iter()
            .filter(|i| {
                !i.starts_with("faas:")
                    && !interfaces.contains(i)
                    && seed.as_ref().is_none_or(|(s, _)| s != *i)
            })
            .cloned()
            .collect();
        let component = if interfaces.is_empty() {
            None
        } else {
            Some(
                generate::deny_component(inspection, &interfaces)
                    .map_err(|e| compose_err(layer, format!("deny-all implementation: {e}")))?,
            )
        };
        Ok(Denials {
            interfaces,
            component,
            seed,
            host_imports,
        })
    }

    /// Leaves `interfaces` for the host even though they are ambient (an adapter's own I/O).
    fn keeping(mut self, interfaces: &[&str]) -> Self {
        let kept: Vec<String> = self
            .interfaces
            .iter()
            .filter(|i| interfaces.iter().any(|k| i.starts_with(k)))
            .cloned()
            .collect();
        self.interfaces.retain(|i| !kept.contains(i));
        self.host_imports.extend(kept);
        if self.interfaces.is_empty() {
            self.component = None;
        }
        self
    }

    /// Instantiates the deny-all component and wires it to `instance`'s denied imports; returns the
    /// layer's name and bytes for reports.
    fn wire(
        self,
        graph: &mut CompositionGraph,
        instance: NodeId,
        layer: &'static str,
        host_imports: &mut BTreeMap<String, Vec<String>>,
    ) -> Result<Generated, WrapError> {
        host_imports.insert(layer.to_string(), self.host_imports.clone());
        let mut generated = Vec::new();
        if let Some((interface, bytes)) = self.seed {
            let name = format!("{layer}-seed");
            let package = register(graph, &format!("faas:{name}"), &bytes, layer)?;
            let seed = graph.instantiate(package);
            let export = alias(graph, seed, &interface, layer)?;
            connect(graph, instance, &interface, export, layer)?;
            generated.push((name, bytes));
        }
        let Some(bytes) = self.component else {
            return Ok(generated);
        };
        let name = format!("{layer}-deny");
        let package = register(graph, &format!("faas:{name}"), &bytes, layer)?;
        let deny = graph.instantiate(package);
        for interface in &self.interfaces {
            let export = alias(graph, deny, interface, layer)?;
            connect(graph, instance, interface, export, layer)?;
        }
        generated.push((name, bytes));
        Ok(generated)
    }
}

fn register(
    graph: &mut CompositionGraph,
    name: &str,
    bytes: &[u8],
    layer: &'static str,
) -> Result<wac_graph::PackageId, WrapError> {
    let package = Package::from_bytes(name, None, bytes.to_vec(), graph.types_mut())
        .map_err(|e| compose_err(layer, e))?;
    graph
        .register_package(package)
        .map_err(|e| compose_err(layer, e))
}

fn compose_err(layer: &'static str, e: impl std::fmt::Display) -> WrapError {
    WrapError::Compose {
        layer,
        message: e.to_string(),
    }
}

fn alias(
    graph: &mut CompositionGraph,
    instance: NodeId,
    export: &str,
    layer: &'static str,
) -> Result<NodeId, WrapError> {
    graph
        .alias_instance_export(instance, export)
        .map_err(|e| compose_err(layer, format!("{export}: {e}")))
}

fn connect(
    graph: &mut CompositionGraph,
    instance: NodeId,
    import: &str,
    value: NodeId,
    layer: &'static str,
) -> Result<(), WrapError> {
    graph
        .set_instantiation_argument(instance, import, value)
        .map_err(|e| compose_err(layer, format!("{import}: {e}")))
}
