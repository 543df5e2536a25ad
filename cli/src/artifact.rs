//! What a wrapped artifact says about itself: its layers, and the note `faas wrap` leaves in it (a
//! custom section) recording them, so that validation, publishing and inspection can name them
//! without the inputs at hand.

use serde::{Deserialize, Serialize};

/// One layer of an artifact.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Layer {
    /// `function`, `policy`, `decorator`, `http-adapter`, …
    pub layer: String,
    /// The layer component's digest.
    pub digest: String,
    /// Its size in bytes.
    pub size: u64,
}
use std::collections::BTreeMap;

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
    /// What each layer was built from, by layer name (layers faas generates have none).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub built_from: BTreeMap<String, BuiltFrom>,
    /// How `faas wrap` was asked to make the artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<WrapParameters>,
    /// What the policy grants the artifact at run time, for hosts (`faas serve`) and deployment
    /// manifests (`faas deploy`).
    #[serde(default, skip_serializing_if = "Grants::is_empty")]
    pub grants: Grants,
    /// The imports the platform links to the function's dependencies (`link = "platform"`), by
    /// dependency: target checks accept them, and `faas deploy` names them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub platform_links: BTreeMap<String, Vec<String>>,
}

/// The run-time grants of a policy.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Grants {
    /// Hosts outgoing HTTP may reach (`[capabilities] outgoing-hosts`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outgoing_hosts: Vec<String>,
    /// Run-time configuration keys the artifact reads (`[credentials]`, the JWT secret).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config_keys: Vec<String>,
    /// Messaging subjects the policy accepts (`[messaging]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messaging_subjects: Vec<String>,
    /// `wasmcloud:secrets` keys the artifact reads (`[credentials]` `{ secret = … }`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_keys: Vec<String>,
}

impl Grants {
    /// Whether it grants nothing.
    pub fn is_empty(&self) -> bool {
        self.outgoing_hosts.is_empty()
            && self.config_keys.is_empty()
            && self.messaging_subjects.is_empty()
            && self.secret_keys.is_empty()
    }

    /// These grants and `other`'s together (a faas function composed as a dependency runs in the
    /// same component: the host grants what either policy grants, each layer's own policy still
    /// deciding what reaches its function).
    pub fn with(mut self, other: &Grants) -> Self {
        for (mine, theirs) in [
            (&mut self.outgoing_hosts, &other.outgoing_hosts),
            (&mut self.config_keys, &other.config_keys),
            (&mut self.messaging_subjects, &other.messaging_subjects),
            (&mut self.secret_keys, &other.secret_keys),
        ] {
            for item in theirs {
                if !mine.contains(item) {
                    mine.push(item.clone());
                }
            }
        }
        self.config_keys.sort();
        self
    }
}

/// The inputs of `faas wrap` besides the components and the policy, for the provenance statement.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WrapParameters {
    /// The function's language.
    pub language: String,
    /// The triggers, one adapter each.
    pub triggers: Vec<String>,
    /// The target platform the artifact was checked against, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Whether the function layer is a WASI 0.3 HTTP component behind the policy middleware
    /// (`faas wrap --http-component`) rather than a function of the contract.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub http_component: bool,
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
    serde_json::from_slice(top_level_section(component, LAYERS_SECTION)?).ok()
}

/// The content of the custom section `name` at the top level of `component` (not in a nested
/// module or component), if it has one.
pub fn top_level_section<'a>(component: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let mut depth = 0usize;
    for payload in wasmparser::Parser::new(0).parse_all(component) {
        match payload.ok()? {
            wasmparser::Payload::ModuleSection { .. }
            | wasmparser::Payload::ComponentSection { .. } => depth += 1,
            wasmparser::Payload::End(_) if depth > 0 => depth -= 1,
            wasmparser::Payload::CustomSection(section) if depth == 0 && section.name() == name => {
                return Some(section.data());
            }
            _ => {}
        }
    }
    None
}

/// Appends the custom section `name` holding `data` to the component `bytes`.
pub fn append_custom_section(bytes: &mut Vec<u8>, name: &str, data: &[u8]) {
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

/// One package a layer holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Package {
    /// Its name in its ecosystem.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its package URL (`pkg:cargo/serde@1.0.228`); none for a package from the project itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// Its licence, as the package declares it (an SPDX expression, normally).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
}

/// What one layer was built from.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct BuiltFrom {
    /// The toolchain, with its version (`rustc 1.95.0 (…), wasm32-wasip2, release`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toolchain: Option<String>,
    /// The packages, sorted by name and version.
    #[serde(default)]
    pub packages: Vec<Package>,
}
