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

mod admission;
pub mod check;
pub mod schema;
mod wadm;

use admission::*;
pub use admission::{cluster_policy, image_validating_policy};
pub use wadm::wadm_application;

use crate::artifact::LayersNote;
use crate::project::deploy::{DeploySection, KyvernoVersion, WadmAccept, is_dns_label};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The API version of the wasmCloud 2.x workload resources.
pub const WORKLOAD_API: &str = "runtime.wasmcloud.dev/v1alpha1";

/// A dependency the platform links, as the manifests need it.
#[derive(Debug, Clone)]
pub struct LinkedComponent {
    /// Its name (the component's name in the workload).
    pub name: String,
    /// Its image, pinned by digest.
    pub image: String,
    /// Its owner's public key (PEM), which admission verifies its image with.
    pub public_key: String,
}

impl LinkedComponent {
    /// `registry/repository` of its image.
    fn repository(&self) -> &str {
        self.image.split('@').next().unwrap_or(&self.image)
    }
}

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
    /// The dependencies the platform links to the function.
    pub linked: &'a [LinkedComponent],
}

impl Inputs<'_> {
    fn image(&self) -> String {
        format!("{}@{}", self.repository, self.digest)
    }

    fn kyverno(&self) -> KyvernoVersion {
        self.settings.kyverno.unwrap_or(KyvernoVersion::CURRENT)
    }

    /// Where the workload's images may come from, each with the key admission verifies it with:
    /// this repository (the project's key, with its provenance), then each platform-linked
    /// dependency's own repository and its owner's key. Any other image is refused.
    fn trusted(&self) -> Vec<Trusted<'_>> {
        let mut trusted = vec![Trusted {
            attestor: "faas".into(),
            repository: self.repository,
            public_key: self.public_key,
            provenance: true,
        }];
        for (i, linked) in self.linked.iter().enumerate() {
            trusted.push(Trusted {
                attestor: format!("dependency{}", i + 1),
                repository: linked.repository(),
                public_key: linked.public_key.trim_end(),
                provenance: false,
            });
        }
        trusted
    }

    fn namespace(&self) -> &str {
        self.settings.namespace.as_deref().unwrap_or("default")
    }

    fn labels(&self) -> Value {
        json!({
            "app.kubernetes.io/name": self.name,
            "app.kubernetes.io/version": label_value(self.version),
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

/// `text` as a Kubernetes label value: a semantic version's `+build` is not one (`+` becomes
/// `_`), and at most 63 characters, a letter or digit at both ends.
fn label_value(text: &str) -> String {
    let replaced: String = text
        .chars()
        .map(|c| match c.is_ascii_alphanumeric() || "-_.".contains(c) {
            true => c,
            false => '_',
        })
        .take(63)
        .collect();
    replaced
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string()
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
    /// wasmCloud 1.x cannot carry what the policy says.
    #[error("no wadm.yaml (wasmCloud 1.x): {0}")]
    Wadm(String),
    /// The artifact exports nothing a wasmCloud host calls.
    #[error(
        "the artifact exports neither wasi:http/incoming-handler (or, WASI 0.3, wasi:http/handler) \
         nor wasmcloud:messaging/handler (0.2.0 or 0.3.0): a wasmCloud host would never call it \
         (wrap it with the http or messaging trigger)"
    )]
    NothingToCall,
    /// The policy reads configuration keys and nothing says where they come from.
    #[error(
        "the policy reads the configuration keys {0}, and [deploy] names no Secret or ConfigMap \
         to read them from: the workload would fail at its first credential; add secret-from \
         (or config-from) naming the one that holds them"
    )]
    UnsuppliedKeys(String),
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
    // wasmcloud:messaging by revision: 0.2.0, and wasmCloud 2.8's async 0.3.0 (the adapter of
    // `--target wasmcloud@0.3`); an artifact may use both (a function publishing through 0.2.0).
    let mut handled = false;
    for version in ["0.2.0", "0.3.0"] {
        let handler = format!("wasmcloud:messaging/handler@{version}");
        let consumer = format!("wasmcloud:messaging/consumer@{version}");
        let mut messaging = Vec::new();
        if inputs.exports.contains(&handler) {
            messaging.push("handler");
            handled = true;
        }
        if inputs.imports.contains(&consumer) {
            messaging.push("consumer");
        }
        if messaging.is_empty() {
            continue;
        }
        let mut entry = json!({
            "namespace": "wasmcloud", "package": "messaging", "version": version,
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
    if http.first() != Some(&"incoming-handler") && !p3 && !handled {
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
    let keys = &inputs.note.grants.config_keys;
    if !keys.is_empty() && settings.config_from.is_empty() && settings.secret_from.is_empty() {
        return Err(DeployError::UnsuppliedKeys(keys.join(", ")));
    }
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
    for linked in inputs.linked {
        components.push(json!({
            "name": linked.name,
            "image": linked.image,
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

/// The manifests `emit` asks for, and those left out with the reason.
#[derive(Debug, Default)]
pub struct Manifests {
    /// (file name, YAML text).
    pub files: Vec<(String, String)>,
    /// (file name, why it was not written).
    pub skipped: Vec<(String, String)>,
}

/// The manifests `emit` asks for. With `all`, a `wadm.yaml` wasmCloud 1.x cannot enforce is
/// left out with its reason (the 2.x files carry the policy); asked for alone, it is an error.
pub fn manifests(inputs: &Inputs<'_>, emit: Emit) -> Result<Manifests, DeployError> {
    let mut manifests = Manifests::default();
    let mut add = |name: &str, document: Value, header: &str| {
        manifests
            .files
            .push((name.to_string(), to_yaml(&document, header)));
    };
    if emit != Emit::Wadm {
        let kyverno = inputs.kyverno();
        add(
            "workload.yaml",
            workload_deployment(inputs)?,
            "For wasmCloud 2.3.0 and later (its runtime operator).",
        );
        let for_kyverno = match kyverno >= KyvernoVersion::CURRENT {
            true => "For Kyverno 1.17 and later (policies.kyverno.io/v1).".to_string(),
            false => format!(
                "For Kyverno {kyverno} to 1.16 (policies.kyverno.io/v1alpha1, deprecated from 1.17)."
            ),
        };
        add(
            "kyverno.yaml",
            image_validating_policy(inputs),
            &for_kyverno,
        );
        if kyverno < KyvernoVersion::NO_CLUSTER_POLICY {
            add(
                "kyverno-classic.yaml",
                cluster_policy(inputs),
                "For Kyverno 1.14 to 1.19 (ClusterPolicy: deprecated in 1.17, removed in 1.20); \
                 apply this or kyverno.yaml.",
            );
        }
    }
    if emit != Emit::Wasmcloud {
        match wadm_application(inputs) {
            Ok(document) => add("wadm.yaml", document, "For wasmCloud 1.x (wadm)."),
            Err(DeployError::Wadm(reason)) if emit == Emit::All => {
                manifests.skipped.push(("wadm.yaml".into(), reason));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(manifests)
}

/// YAML with a header saying where it came from and what it is for; keys sorted (serde_json's
/// map), so the same document gives the same text.
fn to_yaml(document: &Value, for_what: &str) -> String {
    let body = serde_yaml::to_string(document).expect("JSON values serialise as YAML");
    format!(
        "{HEADER} (faas {}); edit faas.toml's [deploy] table and run it again.\n# {for_what}\n{body}",
        env!("CARGO_PKG_VERSION")
    )
}

/// How every manifest faas writes begins.
const HEADER: &str = "# Written by `faas deploy`";

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
    /// The dependencies the platform links.
    pub linked: Vec<LinkedDependency>,
}

/// A dependency the platform links, as faas.toml and faas.lock name it.
#[derive(Debug, Clone)]
pub struct LinkedDependency {
    /// Its name.
    pub name: String,
    /// Its image, pinned by digest.
    pub image: String,
    /// Its owner's public key (a PEM file).
    pub public_key: std::path::PathBuf,
}

/// What `faas deploy` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct DeployRecord {
    /// The image the manifests name: `repository@sha256:…`.
    pub image: String,
    /// The files written.
    pub files: Vec<std::path::PathBuf>,
    /// The files not written, each with why (`wadm.yaml` for what wasmCloud 1.x cannot enforce).
    pub skipped: Vec<SkippedFile>,
    /// The grants they carry.
    pub grants: crate::artifact::Grants,
}

/// A manifest left out.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedFile {
    /// Its file name.
    pub file: String,
    /// Why.
    pub reason: String,
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
    /// A reference does not parse.
    #[error(transparent)]
    Reference(#[from] crate::oci::ReferenceError),
    /// The artifact is missing, unsigned or changed.
    #[error(transparent)]
    Published(#[from] crate::publish::PublishError),
    /// A platform-linked dependency's image is missing, unsigned or signed by another key.
    #[error("dependency `{name}` ({image})")]
    Dependency {
        /// Its name.
        name: String,
        /// Its image.
        image: String,
        /// Why.
        #[source]
        source: Box<DeployFailure>,
    },
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
    #[error("{reference}")]
    Manifests {
        /// The reference.
        reference: String,
        /// Why.
        #[source]
        source: DeployError,
    },
    /// A file cannot be written.
    #[error("cannot write {}", .path.display())]
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
    let linked = options
        .linked
        .iter()
        .map(|dependency| verify_dependency(dependency, &options.connection))
        .collect::<Result<Vec<_>, _>>()?;
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
        linked: &linked,
    };
    let manifests =
        manifests(&inputs, options.emit).map_err(|source| DeployFailure::Manifests {
            reference: reference.clone(),
            source,
        })?;
    let mut written = Vec::new();
    for (name, text) in manifests.files {
        let path = options.output.join(name);
        crate::fsutil::write_atomic(&path, text.as_bytes()).map_err(|source| {
            DeployFailure::Write {
                path: path.clone(),
                source,
            }
        })?;
        written.push(path);
    }
    let mut skipped = Vec::new();
    for (file, reason) in manifests.skipped {
        // A wadm.yaml an earlier run wrote would read as current: it goes.
        let stale = options.output.join(&file);
        if std::fs::read_to_string(&stale).is_ok_and(|text| text.starts_with(HEADER)) {
            std::fs::remove_file(&stale).map_err(|source| DeployFailure::Write {
                path: stale.clone(),
                source,
            })?;
        }
        skipped.push(SkippedFile { file, reason });
    }
    Ok(DeployRecord {
        image: inputs.image(),
        files: written,
        skipped,
        grants: note.grants.clone(),
    })
}

/// Verifies a platform-linked dependency's image with its owner's key, as the admission policy
/// will: a wrong key or an unsigned image fails here rather than at `kubectl apply`.
fn verify_dependency(
    dependency: &LinkedDependency,
    connection: &crate::oci::registry::Connection,
) -> Result<LinkedComponent, DeployFailure> {
    let failed = |source: DeployFailure| DeployFailure::Dependency {
        name: dependency.name.clone(),
        image: dependency.image.clone(),
        source: Box::new(source),
    };
    let key = crate::sign::PublicKey::read(&dependency.public_key)
        .map_err(|e| failed(DeployFailure::Key(e)))?;
    let reference = crate::oci::Reference::parse(&dependency.image)
        .map_err(|e| failed(DeployFailure::Reference(e)))?;
    let mut store = crate::publish::open_store(&reference, connection)
        .map_err(|e| failed(DeployFailure::Published(e.into())))?;
    crate::publish::verify(store.as_mut(), &reference, &key, false)
        .map_err(|e| failed(DeployFailure::Published(e)))?;
    Ok(LinkedComponent {
        name: dependency.name.clone(),
        image: dependency.image.clone(),
        public_key: key.to_pem().trim_end().to_string(),
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
        let manifests = manifests(inputs, Emit::All).unwrap();
        assert!(manifests.skipped.is_empty(), "{:?}", manifests.skipped);
        for (file, text) in manifests.files {
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
            wadm_accept: vec![WadmAccept::UnrestrictedEgress],
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
        let linked = vec![LinkedComponent {
            name: "text".into(),
            image: image.clone(),
            public_key: KEY.trim_end().into(),
        }];
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

    fn sample_inputs<'a>(
        imports: &'a [String],
        exports: &'a [String],
        note: &'a LayersNote,
        settings: &'a DeploySection,
        linked: &'a [LinkedComponent],
    ) -> Inputs<'a> {
        Inputs {
            name: "hello",
            version: "0.1.0",
            repository: "registry.example.com/team/hello",
            digest: "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            imports,
            exports,
            note,
            public_key: KEY,
            settings,
            linked,
        }
    }

    fn files(manifests: &Manifests) -> Vec<&str> {
        manifests.files.iter().map(|(f, _)| f.as_str()).collect()
    }

    #[test]
    fn the_kyverno_release_chooses_the_api_version_and_the_files() {
        let exports = vec!["wasi:http/incoming-handler@0.2.12".to_string()];
        let note = note(Grants::default());
        let parse = |text: &str| toml::from_str::<DeploySection>(text);
        for (setting, api, classic) in [
            ("", "policies.kyverno.io/v1", true),
            ("kyverno = \"1.14\"", "policies.kyverno.io/v1alpha1", true),
            ("kyverno = \"1.16\"", "policies.kyverno.io/v1alpha1", true),
            ("kyverno = \"1.19\"", "policies.kyverno.io/v1", true),
            ("kyverno = \"1.20\"", "policies.kyverno.io/v1", false),
        ] {
            let settings = parse(setting).unwrap();
            let inputs = sample_inputs(&[], &exports, &note, &settings, &[]);
            let manifests = manifests(&inputs, Emit::Wasmcloud).unwrap();
            let (_, kyverno) = &manifests.files[1];
            assert!(
                kyverno.contains(&format!("apiVersion: {api}\n")),
                "{setting}"
            );
            assert_eq!(
                files(&manifests).contains(&"kyverno-classic.yaml"),
                classic,
                "{setting}"
            );
            // Each file says which release it is for.
            for (file, text) in &manifests.files {
                assert!(text.lines().nth(1).unwrap().starts_with("# For "), "{file}");
            }
        }
        for bad in ["kyverno = \"1.13\"", "kyverno = \"one\"", "kyverno = \"1\""] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    /// Kyverno's wildcard match (`*` any run, `?` one character), as its patterns use it.
    fn wildcard(pattern: &str, text: &str) -> bool {
        match pattern.split_once('*') {
            None => {
                pattern.len() == text.len()
                    && pattern
                        .chars()
                        .zip(text.chars())
                        .all(|(p, t)| p == '?' || p == t)
            }
            Some((head, tail)) => {
                text.len() >= head.len()
                    && wildcard(head, &text[..head.len()])
                    && (head.len()..=text.len()).any(|i| wildcard(tail, &text[i..]))
            }
        }
    }

    #[test]
    fn images_from_anywhere_but_the_trusted_repositories_are_refused() {
        let exports = vec!["wasi:http/incoming-handler@0.2.12".to_string()];
        let note = note(Grants::default());
        let settings = DeploySection::default();
        let other_key = "-----BEGIN PUBLIC KEY-----\nOTHER\n-----END PUBLIC KEY-----";
        let linked = vec![LinkedComponent {
            name: "text".into(),
            image: format!(
                "registry.example.com/platform/text@sha256:{}",
                "c".repeat(64)
            ),
            public_key: other_key.into(),
        }];
        let inputs = sample_inputs(&[], &exports, &note, &settings, &linked);
        let policy = image_validating_policy(&inputs);
        let spec = &policy["spec"];
        // One attestor per trusted repository, each with its own key.
        assert_eq!(spec["attestors"][0]["name"], "faas");
        assert_eq!(spec["attestors"][0]["cosign"]["key"]["data"], KEY);
        assert_eq!(spec["attestors"][1]["name"], "dependency1");
        assert_eq!(spec["attestors"][1]["cosign"]["key"]["data"], other_key);
        let validations = spec["validations"].as_array().unwrap();
        // The first reads the object itself: `images` holds only the images Kyverno matched.
        let trust = validations[0]["expression"].as_str().unwrap();
        assert_eq!(
            trust,
            "object.spec.template.spec.components.all(c, \
             c.image.matches('^registry\\\\.example\\\\.com/team/hello@sha256:[0-9a-f]{64}$') || \
             c.image.matches('^registry\\\\.example\\\\.com/platform/text@sha256:[0-9a-f]{64}$'))"
        );
        // The dependency's images are verified with its key, the function's with the project's
        // (and only the function's carry faas's provenance).
        let text = validations
            .iter()
            .find(|v| {
                v["expression"]
                    .as_str()
                    .unwrap()
                    .contains("[attestors.dependency1]")
            })
            .unwrap();
        assert!(
            text["expression"]
                .as_str()
                .unwrap()
                .contains("filter(image, image.startsWith('registry.example.com/platform/text@'))")
        );
        assert_eq!(
            validations
                .iter()
                .filter(|v| v["expression"]
                    .as_str()
                    .unwrap()
                    .contains("attestations.provenance"))
                .count(),
            1
        );
        // The classic policy: a pattern every component image must match.
        let classic = cluster_policy(&inputs);
        let rule = &classic["spec"]["rules"][0];
        assert_eq!(rule["validate"]["failureAction"], "Enforce");
        let pattern =
            rule["validate"]["pattern"]["spec"]["template"]["spec"]["components"][0]["image"]
                .as_str()
                .unwrap();
        let admitted = |image: &str| pattern.split(" | ").any(|glob| wildcard(glob, image));
        assert!(admitted(&inputs.image()));
        assert!(admitted(&linked[0].image));
        for foreign in [
            format!("registry.example.com/team/other@sha256:{}", "d".repeat(64)),
            format!(
                "registry.example.com/team/hello-evil@sha256:{}",
                "d".repeat(64)
            ),
            "registry.example.com/team/hello:0.1.0".to_string(),
            format!("{}/../../evil/miner", inputs.image()),
            format!("evil.example/team/hello@sha256:{}", "d".repeat(64)),
        ] {
            assert!(!admitted(&foreign), "{foreign}");
        }
        let verify = rule_verify_images(&classic);
        assert_eq!(verify.len(), 2);
        assert_eq!(
            verify[1]["imageReferences"][0],
            "registry.example.com/platform/text"
        );
        assert_eq!(
            verify[1]["attestors"][0]["entries"][0]["keys"]["publicKeys"],
            other_key
        );
    }

    fn rule_verify_images(policy: &Value) -> Vec<Value> {
        policy["spec"]["rules"][1]["verifyImages"]
            .as_array()
            .unwrap()
            .clone()
    }

    #[test]
    fn wasmcloud_1_gets_no_manifest_that_would_widen_the_policy() {
        let exports = vec!["wasi:http/incoming-handler@0.2.12".to_string()];
        let outgoing = vec!["wasi:http/outgoing-handler@0.2.12".to_string()];
        let grants = Grants {
            outgoing_hosts: vec!["api.example.com".into()],
            ..Grants::default()
        };
        let note_egress = note(grants);
        let settings = DeploySection::default();
        let inputs = sample_inputs(&outgoing, &exports, &note_egress, &settings, &[]);
        // Asked for alone: an error naming the hosts and the way out.
        let err = manifests(&inputs, Emit::Wadm).unwrap_err().to_string();
        assert!(err.contains("api.example.com only"), "{err}");
        assert!(
            err.contains("wadm-accept = [\"unrestricted-egress\"]"),
            "{err}"
        );
        // With the rest: the 2.x files, wadm.yaml left out with the reason.
        let all = manifests(&inputs, Emit::All).unwrap();
        assert_eq!(
            files(&all),
            ["workload.yaml", "kyverno.yaml", "kyverno-classic.yaml"]
        );
        assert_eq!(all.skipped[0].0, "wadm.yaml");
        // Accepted by name: the HTTP client provider, linked.
        let accepted = DeploySection {
            wadm_accept: vec![WadmAccept::UnrestrictedEgress],
            ..Default::default()
        };
        let inputs = sample_inputs(&outgoing, &exports, &note_egress, &accepted, &[]);
        let wadm = wadm_application(&inputs).unwrap();
        assert_eq!(wadm["spec"]["components"][1]["name"], "httpclient");
        assert_eq!(
            wadm["spec"]["components"][0]["traits"][1]["properties"]["target"]["name"],
            "httpclient"
        );
        // WASI 0.3: no 1.x host runs it, accepted or not.
        let p3 = vec!["wasi:http/handler@0.3.2".to_string()];
        let note_plain = note(Grants::default());
        let inputs = sample_inputs(&[], &p3, &note_plain, &accepted, &[]);
        let err = wadm_application(&inputs).unwrap_err().to_string();
        assert!(err.contains("WASI 0.3 (wasi:http/handler@0.3.2"), "{err}");
        // Credentials with nothing named to hold them.
        let config = vec!["wasi:config/store@0.2.0-rc.1".to_string()];
        let note_keys = note(Grants {
            config_keys: vec!["db-password".into()],
            ..Grants::default()
        });
        let inputs = sample_inputs(&config, &exports, &note_keys, &settings, &[]);
        let err = wadm_application(&inputs).unwrap_err().to_string();
        assert!(err.contains("db-password"), "{err}");
        let named = DeploySection {
            config_from: vec!["hello-config".into()],
            ..Default::default()
        };
        let inputs = sample_inputs(&config, &exports, &note_keys, &named, &[]);
        let wadm = wadm_application(&inputs).unwrap();
        assert_eq!(
            wadm["spec"]["components"][0]["properties"]["config"],
            json!([{ "name": "hello-config" }])
        );
    }

    #[test]
    fn credentials_with_nowhere_to_come_from_are_refused() {
        let exports = vec!["wasi:http/incoming-handler@0.2.12".to_string()];
        let config = vec!["wasi:config/store@0.2.0-rc.1".to_string()];
        let note = note(Grants {
            config_keys: vec!["db-password".into()],
            ..Grants::default()
        });
        let settings = DeploySection::default();
        let inputs = sample_inputs(&config, &exports, &note, &settings, &[]);
        let err = workload_deployment(&inputs).unwrap_err().to_string();
        assert!(
            err.contains("db-password") && err.contains("secret-from"),
            "{err}"
        );
        let named = DeploySection {
            secret_from: vec!["hello-secrets".into()],
            ..Default::default()
        };
        let inputs = sample_inputs(&config, &exports, &note, &named, &[]);
        assert!(workload_deployment(&inputs).is_ok());
    }

    #[test]
    fn a_version_with_build_metadata_is_still_a_label() {
        assert_eq!(label_value("1.2.0+build.5"), "1.2.0_build.5");
        assert_eq!(label_value("0.1.0"), "0.1.0");
    }
}
