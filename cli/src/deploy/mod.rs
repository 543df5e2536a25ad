//! `faas deploy`: the manifests that put a published, signed artifact onto wasmCloud, made from
//! what the artifact says about itself (its imports, exports and layers note with the policy's
//! grants) and the project's `[deploy]` table:
//!
//! - a wasmCloud 2.x `WorkloadDeployment` (the Kubernetes runtime operator), the component pinned
//!   by digest, its host interfaces derived from its imports and exports, its egress
//!   (`allowedHosts`) exactly the policy's `outgoing-hosts`;
//! - a Kyverno `ImageValidatingPolicy` admitting that kind only when every component image is
//!   signed by the project's key (and the classic `ClusterPolicy` form for older Kyverno);
//! - a wasmCloud 1.x wadm `Application` (OAM), with the HTTP server and messaging links.
//!
//! Every document is a pure function of its inputs ([`Inputs`]) and serialises with sorted keys,
//! so the same inputs give the same bytes. [`check`] validates a manifest against the same rules.

pub mod check;

use crate::artifact::LayersNote;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The API version of the wasmCloud 2.x workload resources.
pub const WORKLOAD_API: &str = "runtime.wasmcloud.dev/v1alpha1";

/// The `[deploy]` table of `faas.toml`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DeploySection {
    /// The Kubernetes namespace (default `default`): an RFC 1123 label, as the API server wants.
    #[serde(default, deserialize_with = "dns_label")]
    pub namespace: Option<String>,
    /// Instances to run (default 1).
    pub replicas: Option<u32>,
    /// The `Host` header HTTP requests are routed by (default `NAME.local`): a DNS name, with
    /// a port or not.
    #[serde(default, deserialize_with = "http_host")]
    pub host: Option<String>,
    /// Warm instances per host (unset: a fresh instance per call).
    pub pool_size: Option<u32>,
    /// Calls an instance serves before it is replaced.
    pub max_invocations: Option<u32>,
    /// ConfigMaps whose keys become run-time configuration (never values here).
    #[serde(default)]
    pub config_from: Vec<String>,
    /// Secrets whose keys become run-time configuration: where the policy's credentials and JWT
    /// secret live.
    #[serde(default)]
    pub secret_from: Vec<String>,
    /// The pull secret for the registry.
    pub image_pull_secret: Option<String>,
    /// Labels a host must have to run the workload.
    #[serde(default)]
    pub host_selector: std::collections::BTreeMap<String, String>,
    /// wadm: the address the HTTP server provider listens on (default `0.0.0.0:8080`).
    pub http_address: Option<String>,
    /// wadm: the HTTP server provider's image.
    pub http_provider: Option<String>,
    /// wadm: the NATS messaging provider's image.
    pub messaging_provider: Option<String>,
}

/// Whether `name` is an RFC 1123 label: what Kubernetes takes as a namespace.
pub(crate) fn is_dns_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

fn dns_label<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let name = String::deserialize(d)?;
    if !is_dns_label(&name) {
        return Err(serde::de::Error::custom(format!(
            "`{name}` is not a Kubernetes namespace: lower-case letters, digits and `-`, at most \
             63, starting and ending with a letter or digit"
        )));
    }
    Ok(Some(name))
}

fn http_host<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let host = String::deserialize(d)?;
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host.as_str(), None),
    };
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    if name.len() > 253 || !name.split('.').all(is_dns_label) || !port_ok {
        return Err(serde::de::Error::custom(format!(
            "`{host}` is not a host name: lower-case DNS labels separated by `.`, and an optional \
             `:port`"
        )));
    }
    Ok(Some(host))
}

/// The wasmCloud HTTP server capability provider wadm links (1.x).
const HTTP_PROVIDER: &str = "ghcr.io/wasmcloud/http-server:0.27.0";
/// The wasmCloud NATS messaging capability provider wadm links (1.x).
const MESSAGING_PROVIDER: &str = "ghcr.io/wasmcloud/messaging-nats:0.27.0";

/// Everything the manifests are made from.
pub struct Inputs<'a> {
    /// The function's name (the workload's and component's name).
    pub name: &'a str,
    /// Its version.
    pub version: &'a str,
    /// The repository (`registry/repository`) the artifact is in.
    pub repository: &'a str,
    /// The artifact's manifest digest.
    pub digest: &'a str,
    /// The artifact's imports.
    pub imports: &'a [String],
    /// Its exports.
    pub exports: &'a [String],
    /// Its layers note.
    pub note: &'a LayersNote,
    /// The public key (PEM) its signature verifies with.
    pub public_key: &'a str,
    /// The `[deploy]` table.
    pub settings: &'a DeploySection,
    /// The dependencies the platform links to the function, as (name, image pinned by digest).
    pub linked: &'a [(String, String)],
}

impl Inputs<'_> {
    fn image(&self) -> String {
        format!("{}@{}", self.repository, self.digest)
    }

    /// Image reference globs for this repository exactly (by tag or digest), not for
    /// repositories whose names merely start with it.
    fn image_globs(&self) -> Vec<String> {
        ["", ":*", "@*"]
            .iter()
            .map(|suffix| format!("{}{suffix}", self.repository))
            .collect()
    }

    fn namespace(&self) -> &str {
        self.settings.namespace.as_deref().unwrap_or("default")
    }

    fn labels(&self) -> Value {
        json!({
            "app.kubernetes.io/name": self.name,
            "app.kubernetes.io/version": self.version,
            "app.kubernetes.io/managed-by": "faas",
        })
    }

    fn imports_of(&self, interface: &str) -> bool {
        self.imports.iter().any(|i| interface_name(i) == interface)
    }

    fn exports_of(&self, interface: &str) -> bool {
        self.exports.iter().any(|i| interface_name(i) == interface)
    }
}

/// `wasi:http/incoming-handler` of `wasi:http/incoming-handler@0.2.12`.
fn interface_name(import: &str) -> &str {
    import.split('@').next().unwrap_or(import)
}

/// Why manifests could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The artifact needs something no wasmCloud host supplies.
    #[error(
        "the artifact imports {0}, which no wasmCloud host interface supplies; grant it through \
         a host interface wasmCloud has, or remove the import"
    )]
    Unsupported(String),
    /// The artifact exports nothing a wasmCloud host calls.
    #[error(
        "the artifact exports neither wasi:http/incoming-handler (or, WASI 0.3, wasi:http/handler) \
         nor wasmcloud:messaging/handler: a wasmCloud host would never call it (wrap it with the \
         http or messaging trigger)"
    )]
    NothingToCall,
}

/// Interfaces every wasmCloud host supplies without a host interface entry.
const BUILT_IN: &[&str] = &[
    "wasi:cli/",
    "wasi:clocks/",
    "wasi:filesystem/",
    "wasi:io/",
    "wasi:random/",
    "wasi:sockets/",
    "wasi:http/types",
    "wasmcloud:messaging/types",
];

/// The host interfaces of the workload: one per package the artifact uses, with what it needs.
fn host_interfaces(inputs: &Inputs<'_>) -> Result<Vec<Value>, DeployError> {
    let mut entries = Vec::new();
    let mut http = Vec::new();
    if inputs.exports_of("wasi:http/incoming-handler") {
        http.push("incoming-handler");
    }
    if inputs.imports_of("wasi:http/outgoing-handler") {
        http.push("outgoing-handler");
    }
    // A WASI 0.3 artifact (`--target wasmcloud@0.3`) is called through `wasi:http/handler`.
    let p3 = inputs.exports_of("wasi:http/handler");
    if p3 {
        http.push("handler");
    }
    if !http.is_empty() {
        let version = if p3 { "0.3.0" } else { "0.2.0" };
        let mut entry = json!({
            "namespace": "wasi", "package": "http", "version": version, "interfaces": http,
        });
        if http.contains(&"incoming-handler") || p3 {
            let host = inputs
                .settings
                .host
                .clone()
                .unwrap_or_else(|| format!("{}.local", inputs.name));
            entry["config"] = json!({ "host": host });
        }
        entries.push(entry);
    }
    if inputs.imports_of("wasi:config/store") {
        entries.push(json!({
            "namespace": "wasi", "package": "config", "version": "0.2.0-rc.1", "interfaces": ["store"],
        }));
    }
    let mut messaging = Vec::new();
    if inputs.exports_of("wasmcloud:messaging/handler") {
        messaging.push("handler");
    }
    if inputs.imports_of("wasmcloud:messaging/consumer") {
        messaging.push("consumer");
    }
    if !messaging.is_empty() {
        let mut entry = json!({
            "namespace": "wasmcloud", "package": "messaging", "version": "0.2.0",
            "interfaces": messaging,
        });
        let subjects = &inputs.note.grants.messaging_subjects;
        if messaging.contains(&"handler") && !subjects.is_empty() {
            entry["config"] = json!({ "subscriptions": subjects.join(",") });
        }
        entries.push(entry);
    }
    // wasmCloud 2.x's async secrets, read by the secrets layer of a WASI 0.3 artifact.
    let secrets: Vec<&str> = ["store", "reveal"]
        .into_iter()
        .filter(|i| inputs.imports_of(&format!("wasmcloud:secrets/{i}")))
        .collect();
    if !secrets.is_empty() {
        // Which keys the workload may read is the secrets backend's configuration (the
        // environment's `secretFrom`); the artifact asks for its granted keys only.
        entries.push(json!({
            "namespace": "wasmcloud", "package": "secrets", "version": "2.1.0",
            "interfaces": secrets,
        }));
    }
    if inputs.imports_of("wasi:logging/logging") {
        entries.push(json!({
            "namespace": "wasi", "package": "logging", "version": "0.1.0-draft",
            "interfaces": ["logging"],
        }));
    }
    // Key-value stores and blob stores: one entry per package, listing the interfaces used.
    for package in ["keyvalue", "blobstore"] {
        let prefix = format!("wasi:{package}/");
        let used: Vec<(&str, &str)> = inputs
            .imports
            .iter()
            .filter_map(|i| i.strip_prefix(&prefix)?.split_once('@'))
            .collect();
        if let Some((_, version)) = used.first() {
            let interfaces: Vec<&str> = used.iter().map(|(interface, _)| *interface).collect();
            entries.push(json!({
                "namespace": "wasi", "package": package, "version": version,
                "interfaces": interfaces,
            }));
        }
    }
    let known = [
        "wasi:http/outgoing-handler",
        "wasi:config/store",
        "wasmcloud:messaging/consumer",
        "wasi:logging/logging",
        "wasmcloud:secrets/store",
        "wasmcloud:secrets/reveal",
    ];
    // What the platform links to a dependency's component is not a host interface.
    let linked: Vec<&String> = inputs.note.platform_links.values().flatten().collect();
    if let Some(unsupported) = inputs.imports.iter().find(|import| {
        let name = interface_name(import);
        !linked.contains(import)
            && !known.contains(&name)
            && !BUILT_IN.iter().any(|b| name.starts_with(b))
            && !name.starts_with("wasi:keyvalue/")
            && !name.starts_with("wasi:blobstore/")
    }) {
        return Err(DeployError::Unsupported(unsupported.clone()));
    }
    if http.first() != Some(&"incoming-handler") && !p3 && !messaging.contains(&"handler") {
        return Err(DeployError::NothingToCall);
    }
    Ok(entries)
}

/// What the manifests record about the artifact beside its image.
fn annotations(inputs: &Inputs<'_>) -> Value {
    let mut annotations = json!({
        "dev.faas/policy-document": inputs.note.policy_document,
        "dev.faas/policy": inputs.note.policy_summary,
        // wasmCloud 2.0-2.2 read an empty `allowedHosts` as "any host": the egress the policy
        // grants holds from 2.3.0 on.
        "dev.faas/requires": "wasmCloud >= 2.3.0",
    });
    if !inputs.note.grants.config_keys.is_empty() {
        // The keys the Secrets or ConfigMaps of `environment` must hold.
        annotations["dev.faas/config-keys"] = json!(inputs.note.grants.config_keys.join(","));
    }
    annotations
}

/// The wasmCloud 2.x `WorkloadDeployment`.
pub fn workload_deployment(inputs: &Inputs<'_>) -> Result<Value, DeployError> {
    let settings = inputs.settings;
    let mut local = json!({ "allowedHosts": inputs.note.grants.outgoing_hosts });
    let mut environment = serde_json::Map::new();
    let refs =
        |names: &[String]| Value::Array(names.iter().map(|n| json!({ "name": n })).collect());
    if !settings.config_from.is_empty() {
        environment.insert("configFrom".into(), refs(&settings.config_from));
    }
    if !settings.secret_from.is_empty() {
        environment.insert("secretFrom".into(), refs(&settings.secret_from));
    }
    if !environment.is_empty() {
        local["environment"] = Value::Object(environment);
    }
    let mut component = json!({
        "name": inputs.name,
        "image": inputs.image(),
        "localResources": local,
    });
    if let Some(pool) = settings.pool_size {
        component["poolSize"] = json!(pool);
    }
    if let Some(max) = settings.max_invocations {
        component["maxInvocations"] = json!(max);
    }
    // A reference to a Secret, as the CRD has it (`{name: …}`), never a bare string.
    if let Some(secret) = &settings.image_pull_secret {
        component["imagePullSecret"] = json!({ "name": secret });
    }
    // The dependencies the platform links: components of the same workload, each with nothing
    // granted (their owners' policies admit their images).
    let mut components = vec![component];
    for (name, image) in inputs.linked {
        components.push(json!({
            "name": name,
            "image": image,
            "localResources": { "allowedHosts": [] },
        }));
    }
    let mut spec = json!({
        "components": components,
        "hostInterfaces": host_interfaces(inputs)?,
    });
    // The CRD's host selector is a flat map of labels (no `matchLabels`).
    if !settings.host_selector.is_empty() {
        spec["hostSelector"] = json!(settings.host_selector);
    }
    Ok(json!({
        "apiVersion": WORKLOAD_API,
        "kind": "WorkloadDeployment",
        "metadata": {
            "name": inputs.name,
            "namespace": inputs.namespace(),
            "labels": inputs.labels(),
            "annotations": annotations(inputs),
        },
        "spec": {
            "replicas": settings.replicas.unwrap_or(1),
            "deployPolicy": "RollingUpdate",
            "template": { "spec": spec },
        },
    }))
}

/// The CEL expression that extracts a WorkloadDeployment's component images.
const IMAGES_EXPRESSION: &str = "object.spec.template.spec.components.map(c, c.image)";

/// The Kyverno `ImageValidatingPolicy` (Kyverno 1.14 and later): WorkloadDeployments are
/// admitted only when every component image from the repository is signed by the key and
/// carries its provenance attestation signed by it too.
pub fn image_validating_policy(inputs: &Inputs<'_>) -> Value {
    json!({
        "apiVersion": "policies.kyverno.io/v1alpha1",
        "kind": "ImageValidatingPolicy",
        "metadata": { "name": format!("{}-signed", inputs.name), "labels": inputs.labels() },
        "spec": {
            "validationActions": ["Deny"],
            "matchConstraints": {
                "resourceRules": [{
                    "apiGroups": ["runtime.wasmcloud.dev"],
                    "apiVersions": ["v1alpha1"],
                    "operations": ["CREATE", "UPDATE"],
                    "resources": ["workloaddeployments"],
                }],
            },
            // Verified at admission only, as the classic policy (`background: false`): a
            // background scan re-verifies running workloads, which needs the registry's
            // credentials and list/watch rights the admission path does not.
            "evaluation": { "background": { "enabled": false } },
            "images": [{ "name": "components", "expression": IMAGES_EXPRESSION }],
            "matchImageReferences": inputs
                .image_globs()
                .into_iter()
                .map(|glob| json!({ "glob": glob }))
                .collect::<Vec<_>>(),
            // A key-pair signature has no transparency-log entry nor certificate timestamp (faas
            // uploads nothing to Rekor), and Kyverno requires both by default: without these two,
            // every image faas signs is refused.
            "attestors": [{ "name": "faas", "cosign": {
                "key": { "data": inputs.public_key },
                "ctlog": { "insecureIgnoreTlog": true, "insecureIgnoreSCT": true },
            }}],
            "attestations": [{
                "name": "provenance",
                "intoto": { "type": crate::attest::provenance::PREDICATE_TYPE },
            }],
            "validations": [
                {
                    "expression": "images.components.map(image, verifyImageSignatures(image, [attestors.faas])).all(e, e > 0)",
                    "message": "every component image must be signed by the project's key",
                },
                {
                    "expression": "images.components.map(image, verifyAttestationSignatures(image, attestations.provenance, [attestors.faas])).all(e, e > 0)",
                    "message": "every component image must carry its provenance, signed by the project's key",
                },
            ],
        },
    })
}

/// The classic Kyverno `ClusterPolicy` (`verifyImages`), for clusters whose Kyverno predates
/// `ImageValidatingPolicy`.
pub fn cluster_policy(inputs: &Inputs<'_>) -> Value {
    json!({
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": { "name": format!("{}-signed", inputs.name), "labels": inputs.labels() },
        "spec": {
            "validationFailureAction": "Enforce",
            "background": false,
            "webhookTimeoutSeconds": 30,
            "rules": [{
                "name": "components-signed",
                "match": { "any": [{ "resources": {
                    "kinds": ["runtime.wasmcloud.dev/v1alpha1/WorkloadDeployment"],
                }}]},
                "imageExtractors": { "WorkloadDeployment": [{
                    "path": "/spec/template/spec/components/*/image",
                }]},
                "verifyImages": [{
                    "imageReferences": inputs.image_globs(),
                    "required": true,
                    "verifyDigest": true,
                    "mutateDigest": false,
                    // As for the ImageValidatingPolicy: no Rekor entry, no SCT for a key pair.
                    "attestors": [{ "entries": [{ "keys": {
                        "publicKeys": inputs.public_key,
                        "rekor": { "ignoreTlog": true },
                        "ctlog": { "ignoreSCT": true },
                    }}]}],
                }],
            }],
        },
    })
}

/// The wasmCloud 1.x wadm `Application`: the component by digest, scaled by a spread scaler,
/// linked from the HTTP server provider (and to and from the NATS provider for messaging).
pub fn wadm_application(inputs: &Inputs<'_>) -> Result<Value, DeployError> {
    host_interfaces(inputs)?;
    let settings = inputs.settings;
    let mut components = vec![json!({
        "name": inputs.name,
        "type": "component",
        "properties": { "image": inputs.image() },
        "traits": [{
            "type": "spreadscaler",
            "properties": { "instances": settings.replicas.unwrap_or(1) },
        }],
    })];
    if inputs.exports_of("wasi:http/incoming-handler") {
        let address = settings.http_address.as_deref().unwrap_or("0.0.0.0:8080");
        components.push(json!({
            "name": "httpserver",
            "type": "capability",
            "properties": { "image": settings.http_provider.as_deref().unwrap_or(HTTP_PROVIDER) },
            "traits": [{
                "type": "link",
                "properties": {
                    "target": { "name": inputs.name },
                    "namespace": "wasi",
                    "package": "http",
                    "interfaces": ["incoming-handler"],
                    "source": { "config": [{
                        "name": format!("{}-http", inputs.name),
                        "properties": { "address": address },
                    }]},
                },
            }],
        }));
    }
    // A dependency the platform links: a component of its own, and a link from the function to
    // each of its interfaces the function imports.
    for (name, image) in inputs.linked {
        components.push(json!({
            "name": name,
            "type": "component",
            "properties": { "image": image },
            "traits": [{
                "type": "spreadscaler",
                "properties": { "instances": settings.replicas.unwrap_or(1) },
            }],
        }));
        let imports = inputs
            .note
            .platform_links
            .get(name)
            .cloned()
            .unwrap_or_default();
        let mut by_package: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for import in &imports {
            let name = interface_name(import);
            if let Some((package, interface)) = name.split_once('/')
                && let Some((namespace, package)) = package.split_once(':')
            {
                by_package
                    .entry((namespace.to_string(), package.to_string()))
                    .or_default()
                    .push(interface.to_string());
            }
        }
        for ((namespace, package), interfaces) in by_package {
            components[0]["traits"]
                .as_array_mut()
                .expect("an array")
                .push(json!({
                    "type": "link",
                    "properties": {
                        "target": { "name": name },
                        "namespace": namespace,
                        "package": package,
                        "interfaces": interfaces,
                    },
                }));
        }
    }
    let subjects = &inputs.note.grants.messaging_subjects;
    if inputs.exports_of("wasmcloud:messaging/handler") {
        components.push(json!({
            "name": "nats",
            "type": "capability",
            "properties": {
                "image": settings.messaging_provider.as_deref().unwrap_or(MESSAGING_PROVIDER),
            },
            "traits": [{
                "type": "link",
                "properties": {
                    "target": { "name": inputs.name },
                    "namespace": "wasmcloud",
                    "package": "messaging",
                    "interfaces": ["handler"],
                    "source": { "config": [{
                        "name": format!("{}-subscriptions", inputs.name),
                        "properties": { "subscriptions": subjects.join(",") },
                    }]},
                },
            }],
        }));
        if inputs.imports_of("wasmcloud:messaging/consumer") {
            components[0]["traits"]
                .as_array_mut()
                .expect("an array")
                .push(json!({
                    "type": "link",
                    "properties": {
                        "target": { "name": "nats" },
                        "namespace": "wasmcloud",
                        "package": "messaging",
                        "interfaces": ["consumer"],
                    },
                }));
        }
    }
    Ok(json!({
        "apiVersion": "core.oam.dev/v1beta1",
        "kind": "Application",
        "metadata": {
            "name": inputs.name,
            "annotations": {
                "version": format!("v{}", inputs.version),
                "description": format!("{} (faas), {}", inputs.name, inputs.note.policy_summary),
            },
        },
        "spec": { "components": components },
    }))
}

/// Which manifests to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emit {
    /// wasmCloud 2.x: the WorkloadDeployment and the Kyverno policies.
    Wasmcloud,
    /// wasmCloud 1.x: the wadm Application.
    Wadm,
    /// Both.
    All,
}

impl std::str::FromStr for Emit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "wasmcloud" => Ok(Emit::Wasmcloud),
            "wadm" => Ok(Emit::Wadm),
            "all" => Ok(Emit::All),
            other => Err(format!(
                "unknown manifest set `{other}`: wasmcloud, wadm or all"
            )),
        }
    }
}

/// The manifests `emit` asks for: (file name, YAML text).
pub fn manifests(inputs: &Inputs<'_>, emit: Emit) -> Result<Vec<(String, String)>, DeployError> {
    let mut files = Vec::new();
    if emit != Emit::Wadm {
        files.push(("workload.yaml", workload_deployment(inputs)?));
        files.push(("kyverno.yaml", image_validating_policy(inputs)));
        files.push(("kyverno-classic.yaml", cluster_policy(inputs)));
    }
    if emit != Emit::Wasmcloud {
        files.push(("wadm.yaml", wadm_application(inputs)?));
    }
    Ok(files
        .into_iter()
        .map(|(name, document)| (name.to_string(), to_yaml(&document)))
        .collect())
}

/// YAML with a header saying where it came from; keys sorted (serde_json's map), so the same
/// document gives the same text.
fn to_yaml(document: &Value) -> String {
    let body = serde_yaml::to_string(document).expect("JSON values serialise as YAML");
    format!(
        "# Written by `faas deploy` (faas {}); edit faas.toml's [deploy] table and run it again.\n{body}",
        env!("CARGO_PKG_VERSION")
    )
}

/// What `faas deploy` needs.
pub struct DeployOptions {
    /// The published artifact (a registry reference; a tag is resolved to its digest).
    pub reference: crate::oci::Reference,
    /// The public key its signature must verify with (also written into the Kyverno policies).
    pub public_key: std::path::PathBuf,
    /// How to reach the registry.
    pub connection: crate::oci::registry::Connection,
    /// The function's name and version.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The `[deploy]` table.
    pub settings: DeploySection,
    /// Which manifests.
    pub emit: Emit,
    /// Where to write them.
    pub output: std::path::PathBuf,
    /// The dependencies the platform links, as (name, image pinned by digest).
    pub linked: Vec<(String, String)>,
}

/// What `faas deploy` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct DeployRecord {
    /// The image the manifests name: `repository@sha256:…`.
    pub image: String,
    /// The files written.
    pub files: Vec<std::path::PathBuf>,
    /// The grants they carry.
    pub grants: crate::artifact::Grants,
}

/// Why deploying failed.
#[derive(Debug, thiserror::Error)]
pub enum DeployFailure {
    /// A layout folder cannot be deployed.
    #[error(
        "{0}: a cluster pulls from a registry, not from a folder: publish to one (faas publish \
         REGISTRY/REPOSITORY:TAG --key faas.key) and deploy that reference"
    )]
    NotARegistry(String),
    /// The public key cannot be read.
    #[error(transparent)]
    Key(#[from] crate::sign::KeyError),
    /// The artifact is missing, unsigned or changed.
    #[error(transparent)]
    Published(#[from] crate::publish::PublishError),
    /// The artifact was not wrapped by faas.
    #[error(
        "{0}: no layers note (not wrapped by faas), so its policy's grants are unknown: deploy an \
         artifact `faas wrap` made"
    )]
    NoNote(String),
    /// The artifact is not a component.
    #[error("{0}: {1}")]
    NotAComponent(String, String),
    /// The manifests cannot be made.
    #[error("{reference}: {source}")]
    Manifests {
        /// The reference.
        reference: String,
        /// Why.
        #[source]
        source: DeployError,
    },
    /// A file cannot be written.
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Verifies the published artifact's signature with the key, reads what it records about itself,
/// and writes the manifests; nothing is written unless every one can be made.
pub fn deploy(options: &DeployOptions) -> Result<DeployRecord, DeployFailure> {
    let reference = options.reference.to_string();
    let crate::oci::Reference::Registry { .. } = &options.reference else {
        return Err(DeployFailure::NotARegistry(reference));
    };
    let key = crate::sign::PublicKey::read(&options.public_key)?;
    let pem = key.to_pem();
    let mut store = crate::publish::open_store(&options.reference, &options.connection)
        .map_err(crate::publish::PublishError::from)?;
    // pull verifies first, then fetches exactly the verified digest.
    let (bytes, pulled) = crate::publish::pull(store.as_mut(), &options.reference, Some(&key))?;
    let note = crate::artifact::read_layers(&bytes)
        .ok_or_else(|| DeployFailure::NoNote(reference.clone()))?;
    let inspection = crate::component::inspect_own(&bytes)
        .map_err(|e| DeployFailure::NotAComponent(reference.clone(), e.to_string()))?;
    let repository = options.reference.repository_name();
    let inputs = Inputs {
        name: &options.name,
        version: &options.version,
        repository: &repository,
        digest: &pulled.manifest_digest,
        imports: &inspection.imports,
        exports: &inspection.exports,
        note: &note,
        public_key: pem.trim_end(),
        settings: &options.settings,
        linked: &options.linked,
    };
    let files = manifests(&inputs, options.emit).map_err(|source| DeployFailure::Manifests {
        reference: reference.clone(),
        source,
    })?;
    let mut written = Vec::new();
    for (name, text) in files {
        let path = options.output.join(name);
        crate::fsutil::write_atomic(&path, text.as_bytes()).map_err(|source| {
            DeployFailure::Write {
                path: path.clone(),
                source,
            }
        })?;
        written.push(path);
    }
    Ok(DeployRecord {
        image: inputs.image(),
        files: written,
        grants: note.grants.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifact::{Grants, Layer};

    fn note(grants: Grants) -> LayersNote {
        LayersNote {
            faas_version: "0.1.0".into(),
            layers: vec![Layer {
                layer: "function".into(),
                digest: format!("sha256:{}", "1".repeat(64)),
                size: 1,
            }],
            host_imports: Default::default(),
            policy_document: format!("sha256:{}", "2".repeat(64)),
            policy_summary: "1 API key(s), 2 rule(s) (1 public)".into(),
            built_from: Default::default(),
            parameters: None,
            grants,
            platform_links: Default::default(),
        }
    }

    /// A real P-256 public key (of a key pair made for these goldens and thrown away).
    const KEY: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEMxVpPbMb7zGCrXnTTvy3eaDv2bth
ThjUYylcWY2o0p1LF7auFlhmdXoKdEK2EuK1RMNe5Q/aigwdZ66Aj9k6Eg==
-----END PUBLIC KEY-----
";

    #[test]
    fn the_goldens_key_is_a_key() {
        use p256::pkcs8::DecodePublicKey;
        assert!(p256::PublicKey::from_public_key_pem(KEY).is_ok());
    }

    fn golden(case: &str, inputs: &Inputs<'_>) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/deploy")
            .join(case);
        for (file, text) in manifests(inputs, Emit::All).unwrap() {
            let path = dir.join(&file);
            if std::env::var_os("BLESS").is_some() {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &text).unwrap();
            }
            let expected = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e} (BLESS=1 writes it)", path.display()));
            assert_eq!(
                text,
                expected,
                "{} differs (BLESS=1 rewrites it)",
                path.display()
            );
            // Each one passes the checks `faas deploy --check` makes.
            check::check_text(&text).unwrap_or_else(|e| panic!("{file}: {e:?}"));
        }
    }

    #[test]
    fn the_sample_gives_the_expected_manifests() {
        let imports = vec![
            "wasi:http/types@0.2.12".to_string(),
            "wasi:io/streams@0.2.12".into(),
        ];
        let exports = vec!["wasi:http/incoming-handler@0.2.12".to_string()];
        let note = note(Grants::default());
        golden(
            "sample",
            &Inputs {
                name: "hello",
                version: "0.1.0",
                repository: "registry.example.com/team/hello",
                digest: &format!("sha256:{}", "a".repeat(64)),
                imports: &imports,
                exports: &exports,
                note: &note,
                public_key: KEY,
                settings: &DeploySection::default(),
                linked: &[],
            },
        );
    }

    #[test]
    fn a_wasi_0_3_artifact_is_called_through_the_handler_and_reads_its_secrets() {
        let imports = vec![
            "wasi:http/types@0.3.2".to_string(),
            "wasmcloud:secrets/store@2.1.0".into(),
            "wasmcloud:secrets/reveal@2.1.0".into(),
        ];
        let exports = vec!["wasi:http/handler@0.3.2".to_string()];
        let note = note(Grants {
            secret_keys: vec!["db-password".into()],
            ..Grants::default()
        });
        let settings = DeploySection::default();
        let inputs = Inputs {
            name: "hello",
            version: "0.1.0",
            repository: "registry.example.com/team/hello",
            digest: &format!("sha256:{}", "a".repeat(64)),
            imports: &imports,
            exports: &exports,
            note: &note,
            public_key: KEY,
            settings: &settings,
            linked: &[],
        };
        let entries = host_interfaces(&inputs).unwrap();
        assert_eq!(
            entries[0],
            json!({
                "namespace": "wasi", "package": "http", "version": "0.3.0",
                "interfaces": ["handler"], "config": { "host": "hello.local" },
            })
        );
        assert_eq!(
            entries[1],
            json!({
                "namespace": "wasmcloud", "package": "secrets", "version": "2.1.0",
                "interfaces": ["store", "reveal"],
            })
        );
    }

    #[test]
    fn grants_become_egress_configuration_and_subscriptions() {
        let imports = vec![
            "wasi:http/types@0.2.12".to_string(),
            "wasi:http/outgoing-handler@0.2.12".into(),
            "wasi:config/store@0.2.0-rc.1".into(),
            "wasmcloud:messaging/consumer@0.2.0".into(),
        ];
        let exports = vec![
            "wasi:http/incoming-handler@0.2.12".to_string(),
            "wasmcloud:messaging/handler@0.2.0".into(),
        ];
        let note = note(Grants {
            outgoing_hosts: vec!["api.example.com".into()],
            config_keys: vec!["orders-db-password".into()],
            messaging_subjects: vec!["orders.*".into()],
            secret_keys: Vec::new(),
        });
        let settings = DeploySection {
            namespace: Some("orders".into()),
            replicas: Some(3),
            host: Some("orders.example.com".into()),
            pool_size: Some(4),
            max_invocations: Some(1000),
            secret_from: vec!["orders-secrets".into()],
            image_pull_secret: Some("registry-credentials".into()),
            host_selector: [("zone".to_string(), "eu-west-1".to_string())].into(),
            ..Default::default()
        };
        let inputs = Inputs {
            name: "orders",
            version: "1.2.0",
            repository: "registry.example.com/team/orders",
            digest: &format!("sha256:{}", "b".repeat(64)),
            imports: &imports,
            exports: &exports,
            note: &note,
            public_key: KEY,
            settings: &settings,
            linked: &[],
        };
        golden("grants", &inputs);
        let workload = workload_deployment(&inputs).unwrap();
        let component = &workload["spec"]["template"]["spec"]["components"][0];
        assert_eq!(
            component["localResources"]["allowedHosts"],
            json!(["api.example.com"])
        );
        assert_eq!(
            component["localResources"]["environment"]["secretFrom"],
            json!([{ "name": "orders-secrets" }])
        );
    }

    #[test]
    fn imports_no_wasmcloud_host_supplies_are_refused() {
        let imports = vec!["wasi:nn/graph@0.2.0-rc-2024-10-28".to_string()];
        let exports = vec!["wasi:http/incoming-handler@0.2.12".to_string()];
        let note = note(Grants::default());
        let inputs = Inputs {
            name: "x",
            version: "0.1.0",
            repository: "r/x",
            digest: "sha256:00",
            imports: &imports,
            exports: &exports,
            note: &note,
            public_key: KEY,
            settings: &DeploySection::default(),
            linked: &[],
        };
        let err = workload_deployment(&inputs).unwrap_err().to_string();
        assert!(err.contains("wasi:nn/graph@0.2.0-rc-2024-10-28"), "{err}");
        // A key-value store is a host interface wasmCloud has.
        let keyvalue = vec![
            "wasi:keyvalue/store@0.2.0-draft".to_string(),
            "wasi:keyvalue/atomics@0.2.0-draft".into(),
        ];
        let workload = workload_deployment(&Inputs {
            imports: &keyvalue,
            ..inputs
        })
        .unwrap();
        assert_eq!(
            workload["spec"]["template"]["spec"]["hostInterfaces"][1],
            json!({"namespace": "wasi", "package": "keyvalue", "version": "0.2.0-draft",
                   "interfaces": ["store", "atomics"]})
        );
        let cli = vec!["wasi:cli/run@0.2.12".to_string()];
        let inputs = Inputs {
            imports: &[],
            exports: &cli,
            ..inputs
        };
        assert!(matches!(
            workload_deployment(&inputs),
            Err(DeployError::NothingToCall)
        ));
    }

    #[test]
    fn a_dependency_the_platform_links_is_a_second_component_not_a_host_interface() {
        let linked_import = "faas-test:text/shout@0.1.0".to_string();
        let imports = vec![linked_import.clone()];
        let exports = vec!["wasi:http/incoming-handler@0.2.12".to_string()];
        let mut note = note(Grants::default());
        note.platform_links
            .insert("text".into(), vec![linked_import.clone()]);
        let image = format!(
            "registry.example.com/platform/text@sha256:{}",
            "c".repeat(64)
        );
        let linked = vec![("text".to_string(), image.clone())];
        let inputs = Inputs {
            name: "hello",
            version: "0.1.0",
            repository: "registry.example.com/team/hello",
            digest: &format!("sha256:{}", "a".repeat(64)),
            imports: &imports,
            exports: &exports,
            note: &note,
            public_key: KEY,
            settings: &DeploySection::default(),
            linked: &linked,
        };
        let workload = workload_deployment(&inputs).unwrap();
        let spec = &workload["spec"]["template"]["spec"];
        assert_eq!(spec["components"][1]["name"], "text");
        assert_eq!(spec["components"][1]["image"], image);
        assert_eq!(
            spec["components"][1]["localResources"]["allowedHosts"],
            json!([])
        );
        assert!(!spec["hostInterfaces"].to_string().contains("faas-test"));
        // Without the link, the same import is one no host supplies.
        let unlinked = note_without_links(&note);
        let err = workload_deployment(&Inputs {
            note: &unlinked,
            linked: &[],
            ..inputs
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("faas-test:text/shout@0.1.0"), "{err}");
    }

    fn note_without_links(note: &LayersNote) -> LayersNote {
        let mut note = note.clone();
        note.platform_links.clear();
        note
    }
}
