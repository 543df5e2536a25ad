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
mod tests;
