//! `faas wrap`: specialize the security decorator with a policy and compose the function, the
//! decorator and the platform adapter into one artifact.
//!
//! Nothing is compiled here. The policy becomes a tiny generated component (a data segment and one
//! function returning it, encoded with wasm-encoder and wit-component) that exports
//! `faas:function/policy`; wac-graph then wires
//!
//! ```text
//! policy ──► decorator ◄── function          policy ──► http adapter ◄── decorator
//! ```
//!
//! and exports the adapter's `wasi:http/incoming-handler`. The same inputs always give the same
//! bytes: every step is deterministic and nothing depends on time or paths.

use crate::capabilities::Verdict;
use crate::component::{self, CheckError};
use crate::contract;
use crate::digest;
use crate::fsutil;
use crate::guests;
use crate::policy::{self, Capabilities, CompiledPolicy, PolicyError};
use crate::project::Trigger;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use wac_graph::types::Package;
use wac_graph::{CompositionGraph, EncodeOptions, NodeId, Processor};

/// What to wrap.
#[derive(Debug, Clone)]
pub struct WrapOptions {
    /// The function component (`target/faas/NAME.function.wasm`).
    pub function: PathBuf,
    /// The policy file.
    pub policy: PathBuf,
    /// Where to write the artifact.
    pub output: PathBuf,
    /// The artifact's name, for reports.
    pub name: String,
    /// The platform the artifact must fit, if any (`wasi-http`, `wasmcloud`).
    pub target: Option<String>,
    /// The triggers: one adapter each.
    pub triggers: Vec<Trigger>,
}

/// Why wrapping failed.
#[derive(Debug, thiserror::Error)]
pub enum WrapError {
    /// The function component cannot be read.
    #[error("cannot read the function component {}", .path.display())]
    ReadFunction {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The function is not a usable component.
    #[error("{}: {source}", .path.display())]
    Function {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: CheckError,
    },
    /// The policy cannot be used.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// Generating the policy component failed (a faas bug, not an input problem).
    #[error("cannot generate the policy component: {0}")]
    PolicyComponent(String),
    /// The composition does not type-check or encode.
    #[error("cannot compose {layer}: {message}")]
    Compose {
        /// The layer being wired.
        layer: &'static str,
        /// What wac-graph said.
        message: String,
    },
    /// The composed artifact needs something no layer supplies and no host should.
    #[error("the {layer} imports {import}, which no layer of the artifact supplies{hint}")]
    Unsatisfied {
        /// Which layer imports it.
        layer: &'static str,
        /// The import.
        import: String,
        /// What would fix it.
        hint: &'static str,
    },
    /// The function imports interfaces the policy does not allow.
    #[error("{}", capability_message(.imports, .location))]
    Capabilities {
        /// The refused imports.
        imports: Vec<String>,
        /// Where the policy's `[capabilities]` table is.
        location: Option<String>,
    },
    /// The artifact does not fit the target platform.
    #[error("the artifact does not fit the {target} target: {}", .problems.iter().map(|p| p.message.clone()).collect::<Vec<_>>().join("; "))]
    Target {
        /// The target.
        target: String,
        /// Every problem.
        problems: Vec<crate::targets::Problem>,
    },
    /// The target name is unknown.
    #[error("{0}")]
    UnknownTarget(String),
    /// The output cannot be written.
    #[error("cannot write {}", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

fn capability_message(imports: &[String], location: &Option<String>) -> String {
    let listed = imports.join(", ");
    let it = if imports.len() == 1 { "it" } else { "them" };
    match location {
        Some(at) => format!(
            "the function imports {listed}, which the policy does not allow ({at}, [capabilities]); \
             add {it} to `allow` there, or remove the import from the function"
        ),
        None => format!(
            "the function imports {listed}, which the policy does not allow (it has no \
             [capabilities] table); grant {it} with [capabilities] allow = [...], or remove the \
             import from the function"
        ),
    }
}

/// One layer of the artifact.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Layer {
    /// `function`, `policy`, `decorator`, `http-adapter`.
    pub layer: String,
    /// The layer component's digest.
    pub digest: String,
    /// Its size in bytes.
    pub size: u64,
}

/// The policy as placed in the artifact.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyReport {
    /// The policy file.
    pub path: PathBuf,
    /// The digest of the compiled policy document.
    pub digest: String,
    /// A summary for people.
    pub summary: String,
}

/// The result of `faas wrap`.
#[derive(Debug, Clone, Serialize)]
pub struct WrapOutput {
    /// The function's name.
    pub name: String,
    /// The artifact written.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Its digest.
    pub digest: String,
    /// The layers, from the function outwards.
    pub layers: Vec<Layer>,
    /// The policy applied.
    pub policy: PolicyReport,
    /// What the artifact imports from its host.
    pub imports: Vec<String>,
    /// What it exports.
    pub exports: Vec<String>,
}

/// Wraps a function: reads inputs, composes, validates and writes the artifact atomically. On any
/// error the previous artifact at `output` is removed, so it never looks like this run's result.
pub fn wrap(options: &WrapOptions) -> Result<WrapOutput, WrapError> {
    let write_err = |source| WrapError::Write {
        path: options.output.clone(),
        source,
    };
    fsutil::remove_stale(&options.output).map_err(write_err)?;
    let function = std::fs::read(&options.function).map_err(|source| WrapError::ReadFunction {
        path: options.function.clone(),
        source,
    })?;
    let policy = policy::load(&options.policy)?;
    let target = match &options.target {
        Some(name) => Some(crate::targets::Target::load(name).map_err(WrapError::UnknownTarget)?),
        None => None,
    };
    let composed = compose(&function, &policy, &options.triggers).map_err(|e| match e {
        WrapError::Function { source, .. } => WrapError::Function {
            path: options.function.clone(),
            source,
        },
        other => other,
    })?;
    if let Some(target) = &target {
        let note = read_layers(&composed.bytes);
        let problems = target.check(&composed.imports, &composed.exports, &|import| {
            layer_of(note.as_ref(), import)
        });
        if !problems.is_empty() {
            return Err(WrapError::Target {
                target: target.name.clone(),
                problems,
            });
        }
    }
    fsutil::write_atomic(&options.output, &composed.bytes).map_err(write_err)?;
    Ok(WrapOutput {
        name: options.name.clone(),
        path: options.output.clone(),
        size: composed.bytes.len() as u64,
        digest: digest::sha256(&composed.bytes),
        layers: composed.layers,
        policy: PolicyReport {
            path: policy.path.clone(),
            digest: digest::sha256(&policy.document),
            summary: policy.summary(),
        },
        imports: composed.imports,
        exports: composed.exports,
    })
}

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

/// Composes `function` with the decorator specialized for `policy` and the HTTP adapter, and
/// validates the result. Pure: no file system access.
pub fn compose(
    function: &[u8],
    policy: &CompiledPolicy,
    triggers: &[Trigger],
) -> Result<Composed, WrapError> {
    if triggers.is_empty() {
        return Err(compose_err(
            "the artifact",
            "no trigger: faas.toml must list at least one",
        ));
    }
    let function_check = |source| WrapError::Function {
        path: PathBuf::new(),
        source,
    };
    let inspected = component::inspect(function).map_err(function_check)?;
    let handler = inspected.check_function().map_err(function_check)?;
    let policy_component = policy_component(&policy.document)?;

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
    let denials = Denials::for_function(&inspected, &policy.capabilities)?;
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
    let mut with_credentials = false;
    if let Some(import) = inspected
        .imports
        .iter()
        .find(|i| i.starts_with("faas:function/credentials@"))
    {
        // The provider answers only the names the policy grants; without grants it never reads
        // the host's configuration, so that import is denied inside the artifact.
        let provider = register(
            &mut graph,
            "faas:credentials",
            guests::CREDENTIALS,
            "credentials provider",
        )?;
        let provider_instance = graph.instantiate(provider);
        let provider_inspection = component::inspect(guests::CREDENTIALS)
            .map_err(|e| compose_err("credentials provider", e))?;
        let denied: &[&str] = if policy.policy.credentials.is_empty() {
            &[guests::CONFIG_STORE]
        } else {
            &[]
        };
        deny_layers.extend(
            Denials::for_guest(&provider_inspection, denied, seed)?.wire(
                &mut graph,
                provider_instance,
                "credentials",
                &mut host_imports,
            )?,
        );
        connect(
            &mut graph,
            provider_instance,
            &policy_name,
            policy_export,
            "credentials provider",
        )?;
        let export = alias(
            &mut graph,
            provider_instance,
            &contract::interface_name("credentials"),
            "credentials provider",
        )?;
        connect(&mut graph, function_instance, import, export, "function")?;
        with_credentials = true;
    }

    let decorator = graph.instantiate(decorator_pkg);
    let decorator_inspection =
        component::inspect(guests::DECORATOR).map_err(|e| compose_err("decorator", e))?;
    // The decorator reads run-time configuration only for an HS256 secret.
    let needs_config = policy
        .policy
        .jwt
        .as_ref()
        .is_some_and(|jwt| jwt.hs256_secret.is_some());
    let decorator_denied: &[&str] = if needs_config {
        &[]
    } else {
        &[guests::CONFIG_STORE]
    };
    deny_layers.extend(
        Denials::for_guest(&decorator_inspection, decorator_denied, seed)?.wire(
            &mut graph,
            decorator,
            "decorator",
            &mut host_imports,
        )?,
    );
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

/// The custom section in which `faas wrap` records an artifact's layers.
pub const LAYERS_SECTION: &str = "faas-layers";

/// What `faas wrap` records inside an artifact about how it was made.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LayersNote {
    /// The faas version that wrapped it.
    pub faas_version: String,
    /// The layers.
    pub layers: Vec<Layer>,
    /// What each layer leaves for the host to supply, by layer name.
    #[serde(default)]
    pub host_imports: BTreeMap<String, Vec<String>>,
    /// The digest of the compiled policy document.
    pub policy_document: String,
    /// A summary of the policy.
    pub policy_summary: String,
}

/// The layer of an artifact that imports `import` (by interface name, any version), from its note.
pub fn layer_of(note: Option<&LayersNote>, import: &str) -> String {
    let interface = import.split('@').next().unwrap_or(import);
    note.and_then(|note| {
        note.host_imports.iter().find_map(|(layer, imports)| {
            imports
                .iter()
                .any(|i| i.split('@').next() == Some(interface))
                .then(|| layer.clone())
        })
    })
    .unwrap_or_else(|| "component".to_string())
}

/// Reads the layers note of a wrapped artifact, if it has one (at the top level of the component).
pub fn read_layers(component: &[u8]) -> Option<LayersNote> {
    let mut depth = 0usize;
    for payload in wasmparser::Parser::new(0).parse_all(component) {
        match payload.ok()? {
            wasmparser::Payload::ModuleSection { .. }
            | wasmparser::Payload::ComponentSection { .. } => depth += 1,
            wasmparser::Payload::End(_) if depth > 0 => depth -= 1,
            wasmparser::Payload::CustomSection(section)
                if depth == 0 && section.name() == LAYERS_SECTION =>
            {
                return serde_json::from_slice(section.data()).ok();
            }
            _ => {}
        }
    }
    None
}

fn append_custom_section(bytes: &mut Vec<u8>, name: &str, data: &[u8]) {
    fn leb128(out: &mut Vec<u8>, mut value: usize) {
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let mut content = Vec::new();
    leb128(&mut content, name.len());
    content.extend_from_slice(name.as_bytes());
    content.extend_from_slice(data);
    bytes.push(0); // custom section id
    leb128(bytes, content.len());
    bytes.extend_from_slice(&content);
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
    /// For the function: its imports under the policy's allow-list. Imports the policy does not
    /// allow are errors, all reported at once.
    fn for_function(
        function: &component::Inspection,
        capabilities: &Capabilities,
    ) -> Result<Self, WrapError> {
        let mut refused = Vec::new();
        let mut interfaces = Vec::new();
        for import in &function.imports {
            match crate::capabilities::classify(import, &capabilities.allow) {
                Verdict::Internal | Verdict::Host => {}
                Verdict::Virtualize => interfaces.push(import.clone()),
                Verdict::Denied => refused.push(import.clone()),
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
                crate::capabilities::classify(i, &[]) == Verdict::Virtualize
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
                inspection
                    .seed_component(interface, seed)
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
                inspection
                    .deny_component(&interfaces)
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
    ) -> Result<Vec<(String, Vec<u8>)>, WrapError> {
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

/// The default artifact path for a project: `target/faas/NAME.wasm`.
pub fn default_output(output_dir: &Path, name: &str) -> PathBuf {
    output_dir.join(format!("{name}.wasm"))
}
