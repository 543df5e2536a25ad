//! A typed model of the upstream schemas of the manifests `faas deploy` writes, read the way
//! the API server (or wadm) reads them: every field typed, unknown fields refused, enumerations
//! closed. It follows wasmCloud's `WorkloadDeployment` CRD (runtime operator, v2.7.0), Kyverno's
//! `ImageValidatingPolicy` (1.14 `v1alpha1`, 1.17+ `v1`) and `ClusterPolicy` (`kyverno.io/v1`,
//! the fields up to 1.19), and wadm's OAM `Application` schema. Parts faas never writes and
//! `--check` does not look into (selectors, keyless identities, mutate and generate rules) are
//! kept as opaque values: present or not, they are accepted as upstream accepts them.
//!
//! [`parse`] gives the first problem with its path (`spec.replicas: invalid type: …`);
//! `check.rs` holds the rules on top of the types.

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// A manifest of one of the kinds faas deploy writes.
pub enum Manifest {
    /// wasmCloud 2.x.
    Workload(WorkloadDeployment),
    /// Kyverno 1.14+.
    ImagePolicy(ImageValidatingPolicy),
    /// Kyverno 1.14–1.19.
    ClassicPolicy(ClusterPolicy),
    /// wasmCloud 1.x.
    Application(Application),
}

/// Reads a manifest's text as the type its `kind` names; the problem, with its path, if it does
/// not fit (the kind unknown, a field unknown or of the wrong type, a value out of range).
pub fn parse(text: &str) -> Result<Manifest, String> {
    let value: Value = serde_yaml::from_str(text).map_err(|e| format!("not YAML: {e}"))?;
    let kind = value["kind"].as_str().unwrap_or_default();
    let typed = |e: serde_yaml::Error| e.to_string();
    Ok(match kind {
        "WorkloadDeployment" => Manifest::Workload(serde_yaml::from_str(text).map_err(typed)?),
        "ImageValidatingPolicy" => {
            Manifest::ImagePolicy(serde_yaml::from_str(text).map_err(typed)?)
        }
        "ClusterPolicy" => Manifest::ClassicPolicy(serde_yaml::from_str(text).map_err(typed)?),
        "Application" => Manifest::Application(serde_yaml::from_str(text).map_err(typed)?),
        "" => return Err("kind: missing".into()),
        other => {
            return Err(format!(
                "kind: `{other}` is not one faas deploy writes (WorkloadDeployment, \
                 ImageValidatingPolicy, ClusterPolicy, Application)"
            ));
        }
    })
}

/// A string-to-string map (labels, annotations, configuration).
pub type Strings = BTreeMap<String, String>;

/// The parts of Kubernetes' `ObjectMeta` a manifest sets (the server fills in the rest).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ObjectMeta {
    /// The object's name: a DNS-1123 subdomain for custom resources.
    pub name: Option<String>,
    /// A name prefix the server completes.
    pub generate_name: Option<String>,
    /// The namespace: an RFC 1123 label.
    pub namespace: Option<String>,
    /// Labels.
    #[serde(default)]
    pub labels: Strings,
    /// Annotations.
    #[serde(default)]
    pub annotations: Strings,
}

/// `{name: …}`, a reference to an object in the same namespace.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameRef {
    /// Its name.
    #[serde(default)]
    pub name: String,
}

// ---- wasmCloud 2.x: runtime.wasmcloud.dev/v1alpha1 WorkloadDeployment ----

/// `WorkloadDeployment`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WorkloadDeployment {
    /// `runtime.wasmcloud.dev/v1alpha1`.
    pub api_version: String,
    /// `WorkloadDeployment`.
    pub kind: String,
    /// Its metadata.
    pub metadata: ObjectMeta,
    /// Its spec.
    pub spec: WorkloadDeploymentSpec,
}

/// `WorkloadDeployment.spec`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WorkloadDeploymentSpec {
    /// Artifacts from `Artifact` objects.
    pub artifacts: Option<Vec<ArtifactRef>>,
    /// `RollingUpdate` by default.
    pub deploy_policy: Option<String>,
    /// A Kubernetes service for the workload.
    pub kubernetes: Option<KubernetesRef>,
    /// Instances (int32: its range is checked by `check.rs`, with the path).
    pub replicas: Option<i64>,
    /// The workload.
    pub template: WorkloadTemplate,
}

/// `spec.artifacts[]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ArtifactRef {
    /// The `Artifact` it comes from.
    pub artifact_from: NameRef,
    /// Its name here.
    pub name: String,
}

/// `kubernetes: {service: {name}}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesRef {
    /// The service.
    pub service: Option<NameRef>,
}

/// `spec.template`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadTemplate {
    /// Annotations of the workload.
    pub annotations: Option<Strings>,
    /// Labels of the workload.
    pub labels: Option<Strings>,
    /// The workload itself.
    pub spec: WorkloadSpec,
}

/// `spec.template.spec`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WorkloadSpec {
    /// The components.
    pub components: Option<Vec<Component>>,
    /// The environment name.
    pub environment: Option<String>,
    /// A host to pin it to.
    pub host_id: Option<String>,
    /// What the host links.
    pub host_interfaces: Option<Vec<HostInterface>>,
    /// Host labels, a flat map.
    pub host_selector: Option<Strings>,
    /// A Kubernetes service.
    pub kubernetes: Option<KubernetesRef>,
    /// A long-running service component.
    pub service: Option<Service>,
    /// Volumes.
    pub volumes: Option<Vec<Volume>>,
}

/// `components[]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Component {
    /// Its image.
    pub image: String,
    /// When to pull it.
    pub image_pull_policy: Option<String>,
    /// The pull secret, `{name}`.
    pub image_pull_secret: Option<NameRef>,
    /// What it may reach and read.
    pub local_resources: Option<LocalResources>,
    /// int32 ≥ 0 (ranges are checked by `check.rs`, with the path).
    pub max_concurrency: Option<i64>,
    /// int32 ≥ 0.
    pub max_invocations: Option<i64>,
    /// Its name.
    pub name: String,
    /// int32 ≥ 0.
    pub pool_size: Option<i64>,
}

/// `localResources`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LocalResources {
    /// `PORT[/tcp|udp]`.
    pub allowed_host_loopback_ports: Option<Vec<String>>,
    /// Egress: host patterns.
    pub allowed_hosts: Option<Vec<String>>,
    /// Name lookups.
    pub allowed_ip_name_lookups: Option<Vec<String>>,
    /// Configuration values.
    pub config: Option<Strings>,
    /// Configuration from objects.
    pub environment: Option<Environment>,
    /// Mounts.
    pub volume_mounts: Option<Vec<VolumeMount>>,
}

/// `localResources.environment`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Environment {
    /// Values.
    pub config: Option<Strings>,
    /// ConfigMaps.
    pub config_from: Option<Vec<NameRef>>,
    /// Secrets.
    pub secret_from: Option<Vec<NameRef>>,
}

/// `volumeMounts[]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VolumeMount {
    /// Where.
    pub mount_path: String,
    /// Which volume.
    pub name: String,
    /// Read-only.
    pub read_only: Option<bool>,
}

/// `hostInterfaces[]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HostInterface {
    /// Configuration values.
    pub config: Option<Strings>,
    /// ConfigMaps.
    pub config_from: Option<Vec<NameRef>>,
    /// The interfaces of the package.
    pub interfaces: Vec<String>,
    /// A name (`^[a-z0-9][a-z0-9-]*$`, ≤ 64).
    pub name: Option<String>,
    /// `wasi` (≤ 128).
    pub namespace: String,
    /// `http` (≤ 128).
    pub package: String,
    /// Secrets.
    pub secret_from: Option<Vec<NameRef>>,
    /// `0.2.0` (≤ 64).
    pub version: Option<String>,
}

/// `spec.template.spec.service`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Service {
    /// Its image.
    pub image: String,
    /// When to pull it.
    pub image_pull_policy: Option<String>,
    /// The pull secret.
    pub image_pull_secret: Option<NameRef>,
    /// What it may reach.
    pub local_resources: Option<LocalResources>,
    /// int32.
    pub max_restarts: Option<i32>,
}

/// `volumes[]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Volume {
    /// An empty directory.
    pub ephemeral: Option<serde_json::Map<String, Value>>,
    /// A host path.
    pub host_path: Option<HostPath>,
    /// Its name.
    pub name: String,
}

/// `hostPath`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostPath {
    /// The path.
    pub path: String,
}

// ---- Kyverno: policies.kyverno.io ImageValidatingPolicy ----

/// `ImageValidatingPolicy`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImageValidatingPolicy {
    /// `policies.kyverno.io/v1` or `v1alpha1`.
    pub api_version: String,
    /// `ImageValidatingPolicy`.
    pub kind: String,
    /// Cluster-scoped: no namespace.
    pub metadata: ObjectMeta,
    /// Its spec.
    pub spec: ImagePolicySpec,
}

/// `ImageValidatingPolicy.spec`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImagePolicySpec {
    /// Attestations looked up.
    pub attestations: Option<Vec<Attestation>>,
    /// Who signs.
    pub attestors: Vec<Attestor>,
    /// Annotations of the audit event.
    pub audit_annotations: Option<Vec<Value>>,
    /// Pod controllers.
    pub autogen: Option<Value>,
    /// Registry credentials.
    pub credentials: Option<Value>,
    /// Admission or background.
    pub evaluation: Option<Evaluation>,
    /// What a webhook failure does.
    pub failure_policy: Option<FailurePolicy>,
    /// Where images are in the object.
    pub images: Option<Vec<NamedExpression>>,
    /// CEL conditions.
    pub match_conditions: Option<Vec<NamedExpression>>,
    /// Which requests.
    pub match_constraints: Option<MatchConstraints>,
    /// Which images are verified.
    pub match_image_references: Option<Vec<ImageReference>>,
    /// `Deny`, `Audit`, `Warn`.
    pub validation_actions: Option<Vec<ValidationAction>>,
    /// Digest handling.
    pub validation_configurations: Option<ValidationConfigurations>,
    /// CEL validations.
    pub validations: Vec<CelValidation>,
    /// CEL variables.
    pub variables: Option<Vec<NamedExpression>>,
    /// The webhook's timeout.
    pub webhook_configuration: Option<WebhookTimeout>,
}

/// `attestations[]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attestation {
    /// An in-toto attestation of a predicate type.
    pub intoto: Option<TypeRef>,
    /// Its name.
    pub name: String,
    /// An OCI referrer.
    pub referrer: Option<TypeRef>,
}

/// `{type: …}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeRef {
    /// The type.
    #[serde(rename = "type")]
    pub type_: String,
}

/// `attestors[]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attestor {
    /// Cosign.
    pub cosign: Option<Cosign>,
    /// Its name.
    pub name: String,
    /// Notary.
    pub notary: Option<Value>,
}

/// `attestors[].cosign`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Cosign {
    /// Signature annotations.
    pub annotations: Option<Strings>,
    /// Certificates.
    pub certificate: Option<Value>,
    /// Transparency log and timestamps.
    pub ctlog: Option<CosignCtlog>,
    /// A key.
    pub key: Option<CosignKey>,
    /// Keyless identities.
    pub keyless: Option<Value>,
    /// Where signatures are.
    pub source: Option<Value>,
    /// A trusted root.
    pub trusted_root: Option<Value>,
    /// TUF.
    pub tuf: Option<Value>,
}

/// `cosign.ctlog`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CosignCtlog {
    /// The CT log's key.
    pub ct_log_pub_key: Option<String>,
    /// No signed certificate timestamp asked for.
    #[serde(rename = "insecureIgnoreSCT")]
    pub insecure_ignore_sct: Option<bool>,
    /// No transparency-log entry asked for.
    pub insecure_ignore_tlog: Option<bool>,
    /// Rekor's key.
    pub rekor_pub_key: Option<String>,
    /// A timestamp authority.
    pub tsa_cert_chain: Option<String>,
    /// Rekor's URL.
    pub url: Option<String>,
}

/// `cosign.key`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CosignKey {
    /// A PEM public key.
    pub data: Option<String>,
    /// A CEL expression giving it.
    pub expression: Option<String>,
    /// The hash.
    pub hash_algorithm: Option<String>,
    /// A KMS URI.
    pub kms: Option<String>,
}

/// `evaluation`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evaluation {
    /// At admission.
    pub admission: Option<Enabled>,
    /// In background scans.
    pub background: Option<Enabled>,
    /// The mode.
    pub mode: Option<String>,
}

/// `{enabled: bool}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enabled {
    /// Whether.
    pub enabled: Option<bool>,
}

/// `Ignore` or `Fail`.
#[derive(Debug, Deserialize, PartialEq, Eq)]
pub enum FailurePolicy {
    /// Admit when the webhook fails.
    Ignore,
    /// Refuse when it fails.
    Fail,
}

/// `{name, expression}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedExpression {
    /// CEL.
    pub expression: String,
    /// Its name.
    pub name: String,
}

/// `matchConstraints`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MatchConstraints {
    /// Excluded requests.
    pub exclude_resource_rules: Option<Vec<ResourceRule>>,
    /// `Exact` or `Equivalent`.
    pub match_policy: Option<String>,
    /// A namespace selector.
    pub namespace_selector: Option<Value>,
    /// An object selector.
    pub object_selector: Option<Value>,
    /// Matched requests.
    pub resource_rules: Option<Vec<ResourceRule>>,
}

/// `resourceRules[]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResourceRule {
    /// API groups.
    pub api_groups: Option<Vec<String>>,
    /// API versions.
    pub api_versions: Option<Vec<String>>,
    /// `CREATE`, `UPDATE`, …
    pub operations: Option<Vec<String>>,
    /// Names.
    pub resource_names: Option<Vec<String>>,
    /// Plural resources.
    #[serde(default)]
    pub resources: Vec<String>,
    /// `Cluster`, `Namespaced`, `*`.
    pub scope: Option<String>,
}

/// `matchImageReferences[]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageReference {
    /// CEL.
    pub expression: Option<String>,
    /// A glob.
    pub glob: Option<String>,
}

/// `Deny`, `Audit` or `Warn`.
#[derive(Debug, Deserialize, PartialEq, Eq)]
pub enum ValidationAction {
    /// Refuse.
    Deny,
    /// Report.
    Audit,
    /// Warn.
    Warn,
}

/// `validationConfigurations`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ValidationConfigurations {
    /// Rewrite tags to digests.
    pub mutate_digest: Option<bool>,
    /// Every matched image verified.
    pub required: Option<bool>,
    /// Images by digest.
    pub verify_digest: Option<bool>,
}

/// `validations[]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CelValidation {
    /// CEL.
    pub expression: String,
    /// The message.
    pub message: Option<String>,
    /// A CEL message.
    pub message_expression: Option<String>,
    /// The reason.
    pub reason: Option<String>,
}

/// `webhookConfiguration` of an `ImageValidatingPolicy`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WebhookTimeout {
    /// Seconds (int32).
    pub timeout_seconds: Option<i32>,
}

// ---- Kyverno: kyverno.io/v1 ClusterPolicy ----

/// `ClusterPolicy`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterPolicy {
    /// `kyverno.io/v1`.
    pub api_version: String,
    /// `ClusterPolicy`.
    pub kind: String,
    /// Cluster-scoped: no namespace.
    pub metadata: ObjectMeta,
    /// Its spec.
    pub spec: ClusterPolicySpec,
}

/// `ClusterPolicy.spec`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterPolicySpec {
    /// At admission.
    pub admission: Option<bool>,
    /// `All` or `One`.
    pub apply_rules: Option<String>,
    /// Background scans.
    pub background: Option<bool>,
    /// Warnings.
    pub emit_warning: Option<bool>,
    /// Deprecated (1.13): `webhookConfiguration.failurePolicy`.
    pub failure_policy: Option<FailurePolicy>,
    /// Generate rules.
    pub generate_existing: Option<bool>,
    /// Generate rules.
    pub generate_existing_on_policy_update: Option<bool>,
    /// Mutate rules.
    pub mutate_existing_on_policy_update: Option<bool>,
    /// The rules.
    pub rules: Vec<Rule>,
    /// Policy validation.
    pub schema_validation: Option<bool>,
    /// Server-side apply.
    pub use_server_side_apply: Option<bool>,
    /// Deprecated (1.13): each rule's `failureAction`.
    pub validation_failure_action: Option<LegacyFailureAction>,
    /// Deprecated with it.
    pub validation_failure_action_overrides: Option<Value>,
    /// The webhook.
    pub webhook_configuration: Option<PolicyWebhook>,
    /// Deprecated: `webhookConfiguration.timeoutSeconds`.
    pub webhook_timeout_seconds: Option<i32>,
}

/// `audit`, `enforce`, `Audit` or `Enforce`.
#[derive(Debug, Deserialize, PartialEq, Eq)]
pub enum LegacyFailureAction {
    /// Report.
    #[serde(alias = "audit")]
    Audit,
    /// Refuse.
    #[serde(alias = "enforce")]
    Enforce,
}

/// `Audit` or `Enforce`.
#[derive(Debug, Deserialize, PartialEq, Eq)]
pub enum FailureAction {
    /// Report.
    Audit,
    /// Refuse.
    Enforce,
}

/// `spec.webhookConfiguration`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicyWebhook {
    /// `Ignore` or `Fail`.
    pub failure_policy: Option<FailurePolicy>,
    /// CEL conditions.
    pub match_conditions: Option<Vec<NamedExpression>>,
    /// Seconds.
    pub timeout_seconds: Option<i32>,
}

/// `rules[]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Rule {
    /// CEL preconditions.
    pub cel_preconditions: Option<Vec<NamedExpression>>,
    /// Context entries.
    pub context: Option<Vec<Value>>,
    /// Excluded resources.
    pub exclude: Option<Value>,
    /// A generate rule.
    pub generate: Option<Value>,
    /// Where images are in custom kinds.
    pub image_extractors: Option<BTreeMap<String, Vec<ImageExtractor>>>,
    /// Matched resources.
    #[serde(rename = "match")]
    pub match_: MatchResources,
    /// A mutate rule.
    pub mutate: Option<Value>,
    /// Its name (≤ 63).
    pub name: String,
    /// Preconditions.
    pub preconditions: Option<Value>,
    /// Report properties.
    pub report_properties: Option<Strings>,
    /// Background requests.
    pub skip_background_requests: Option<bool>,
    /// A validate rule.
    pub validate: Option<Validate>,
    /// Image verification.
    pub verify_images: Option<Vec<VerifyImage>>,
}

/// `imageExtractors.KIND[]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImageExtractor {
    /// JMESPath.
    pub jmes_path: Option<String>,
    /// A key.
    pub key: Option<String>,
    /// A name.
    pub name: Option<String>,
    /// The path.
    pub path: String,
    /// A value.
    pub value: Option<String>,
}

/// `match`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchResources {
    /// All of.
    pub all: Option<Vec<ResourceFilter>>,
    /// Any of.
    pub any: Option<Vec<ResourceFilter>>,
    /// Cluster roles (the old form).
    #[serde(rename = "clusterRoles")]
    pub cluster_roles: Option<Vec<String>>,
    /// Resources (the old form).
    pub resources: Option<ResourceDescription>,
    /// Roles (the old form).
    pub roles: Option<Vec<String>>,
    /// Subjects (the old form).
    pub subjects: Option<Vec<Value>>,
}

/// `match.any[]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResourceFilter {
    /// Cluster roles.
    pub cluster_roles: Option<Vec<String>>,
    /// Resources.
    pub resources: Option<ResourceDescription>,
    /// Roles.
    pub roles: Option<Vec<String>>,
    /// Subjects.
    pub subjects: Option<Vec<Value>>,
}

/// `resources`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResourceDescription {
    /// Annotations.
    pub annotations: Option<Strings>,
    /// Kinds (`group/version/Kind`).
    #[serde(default)]
    pub kinds: Vec<String>,
    /// A name.
    pub name: Option<String>,
    /// Names.
    pub names: Option<Vec<String>>,
    /// A namespace selector.
    pub namespace_selector: Option<Value>,
    /// Namespaces.
    pub namespaces: Option<Vec<String>>,
    /// Operations.
    pub operations: Option<Vec<String>>,
    /// A label selector.
    pub selector: Option<Value>,
}

/// `validate`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Validate {
    /// Existing violations.
    pub allow_existing_violations: Option<bool>,
    /// Patterns, any of.
    pub any_pattern: Option<Value>,
    /// An assertion tree.
    pub assert: Option<Value>,
    /// CEL.
    pub cel: Option<Value>,
    /// Deny conditions.
    pub deny: Option<Value>,
    /// `Audit` or `Enforce`.
    pub failure_action: Option<FailureAction>,
    /// Overrides.
    pub failure_action_overrides: Option<Value>,
    /// Per element.
    pub foreach: Option<Value>,
    /// Signed manifests.
    pub manifests: Option<Value>,
    /// The message.
    pub message: Option<String>,
    /// A pattern.
    pub pattern: Option<Value>,
    /// Pod security.
    pub pod_security: Option<Value>,
}

/// `verifyImages[]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VerifyImage {
    /// Certificate extensions.
    pub additional_extensions: Option<Strings>,
    /// Signature annotations.
    pub annotations: Option<Strings>,
    /// Attestations.
    pub attestations: Option<Vec<Value>>,
    /// Who signs.
    pub attestors: Option<Vec<AttestorSet>>,
    /// OCI 1.1 referrers.
    #[serde(rename = "cosignOCI11")]
    pub cosign_oci11: Option<bool>,
    /// `Audit` or `Enforce`.
    pub failure_action: Option<FailureAction>,
    /// Deprecated.
    pub image: Option<String>,
    /// Which images.
    pub image_references: Option<Vec<String>>,
    /// Registry credentials.
    pub image_registry_credentials: Option<Value>,
    /// Deprecated.
    pub issuer: Option<String>,
    /// Deprecated.
    pub key: Option<String>,
    /// Rewrite tags to digests.
    pub mutate_digest: Option<bool>,
    /// Where signatures are.
    pub repository: Option<String>,
    /// Every matched image verified.
    pub required: Option<bool>,
    /// Deprecated.
    pub roots: Option<String>,
    /// Images left out.
    pub skip_image_references: Option<Vec<String>>,
    /// Deprecated.
    pub subject: Option<String>,
    /// `Cosign`, `SigstoreBundle` or `Notary`.
    #[serde(rename = "type")]
    pub type_: Option<SignatureType>,
    /// The cache.
    pub use_cache: Option<bool>,
    /// Deny conditions.
    pub validate: Option<Value>,
    /// Images by digest.
    pub verify_digest: Option<bool>,
}

/// `Cosign`, `SigstoreBundle` or `Notary`.
#[derive(Debug, Deserialize)]
pub enum SignatureType {
    /// Cosign.
    Cosign,
    /// A Sigstore bundle.
    SigstoreBundle,
    /// Notary.
    Notary,
}

/// `attestors[]` of a `verifyImages` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestorSet {
    /// How many must verify (≥ 1).
    pub count: Option<u32>,
    /// The attestors.
    pub entries: Option<Vec<AttestorEntry>>,
}

/// `attestors[].entries[]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AttestorEntry {
    /// Signature annotations.
    pub annotations: Option<Strings>,
    /// A nested attestor set.
    pub attestor: Option<Value>,
    /// Certificates.
    pub certificates: Option<Value>,
    /// Keyless.
    pub keyless: Option<Value>,
    /// Keys.
    pub keys: Option<StaticKeys>,
    /// Where signatures are.
    pub repository: Option<String>,
    /// The hash.
    pub signature_algorithm: Option<String>,
}

/// `entries[].keys`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StaticKeys {
    /// Certificate timestamps.
    pub ctlog: Option<KeysCtlog>,
    /// A KMS URI.
    pub kms: Option<String>,
    /// PEM public keys.
    pub public_keys: Option<String>,
    /// The transparency log.
    pub rekor: Option<Rekor>,
    /// A Secret holding the key.
    pub secret: Option<Value>,
    /// The hash.
    pub signature_algorithm: Option<String>,
}

/// `keys.ctlog`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KeysCtlog {
    /// No signed certificate timestamp asked for.
    #[serde(rename = "ignoreSCT")]
    pub ignore_sct: Option<bool>,
    /// The CT log's key.
    pub pubkey: Option<String>,
    /// A timestamp authority.
    pub tsa_cert_chain: Option<String>,
}

/// `keys.rekor`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Rekor {
    /// No transparency-log entry asked for.
    pub ignore_tlog: Option<bool>,
    /// Rekor's key.
    pub pubkey: Option<String>,
    /// Rekor's URL.
    pub url: Option<String>,
}

// ---- wasmCloud 1.x: wadm's OAM Application (core.oam.dev/v1beta1) ----

/// `Application`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Application {
    /// `core.oam.dev/v1beta1`.
    pub api_version: String,
    /// `Application`.
    pub kind: String,
    /// Its metadata.
    pub metadata: OamMetadata,
    /// Its spec.
    pub spec: OamSpec,
}

/// `metadata`: wadm requires the annotations (its `version` is the manifest's version).
#[derive(Debug, Deserialize)]
pub struct OamMetadata {
    /// Annotations.
    pub annotations: Strings,
    /// Labels.
    pub labels: Option<Strings>,
    /// Unique per lattice.
    pub name: String,
}

/// `spec`.
#[derive(Debug, Deserialize)]
pub struct OamSpec {
    /// Components and providers.
    pub components: Vec<OamComponent>,
    /// Policies (secrets backends, …).
    pub policies: Option<Vec<OamPolicy>>,
}

/// `spec.policies[]`.
#[derive(Debug, Deserialize)]
pub struct OamPolicy {
    /// Its name.
    pub name: String,
    /// Its properties.
    pub properties: Strings,
    /// Its type.
    #[serde(rename = "type")]
    pub type_: String,
}

/// `spec.components[]`: a component or a capability provider.
#[derive(Debug, Deserialize)]
pub struct OamComponent {
    /// Its name.
    pub name: String,
    /// `component` or `capability`.
    #[serde(rename = "type")]
    pub type_: OamKind,
    /// Image, configuration, secrets.
    pub properties: OamProperties,
    /// Scalers and links.
    pub traits: Option<Vec<OamTrait>>,
}

/// `component` or `capability`.
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OamKind {
    /// A Wasm component.
    Component,
    /// A capability provider.
    Capability,
}

/// `properties` of a component or provider.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OamProperties {
    /// A component of a shared application.
    pub application: Option<SharedComponent>,
    /// Named configuration.
    pub config: Option<Vec<ConfigProperty>>,
    /// Its ID.
    pub id: Option<String>,
    /// Its image.
    pub image: Option<String>,
    /// Named secrets.
    pub secrets: Option<Vec<SecretProperty>>,
}

/// `application: {name, component}`.
#[derive(Debug, Deserialize)]
pub struct SharedComponent {
    /// The component.
    pub component: String,
    /// The application.
    pub name: String,
}

/// `config[]`: without `properties`, configuration managed outside the manifest.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigProperty {
    /// Its name.
    pub name: String,
    /// Its values.
    pub properties: Option<Strings>,
}

/// `secrets[]`.
#[derive(Debug, Deserialize)]
pub struct SecretProperty {
    /// Its name.
    pub name: String,
    /// Where it comes from.
    pub properties: SecretSource,
}

/// `secrets[].properties`.
#[derive(Debug, Deserialize)]
pub struct SecretSource {
    /// A field of the secret.
    pub field: Option<String>,
    /// Its key in the backend.
    pub key: String,
    /// The secrets policy.
    pub policy: String,
    /// Its version.
    pub version: Option<String>,
}

/// `traits[]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OamTrait {
    /// `spreadscaler`, `link`, … (custom scalers are not enumerated).
    #[serde(rename = "type")]
    pub type_: String,
    /// Read as [`LinkProperty`] or [`SpreadScalerProperty`] by its type.
    pub properties: Value,
}

/// A `link` trait's properties.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkProperty {
    /// Interfaces.
    pub interfaces: Vec<String>,
    /// The link's name.
    pub name: Option<String>,
    /// WIT namespace.
    pub namespace: String,
    /// WIT package.
    pub package: String,
    /// Configuration of the source.
    pub source: Option<Value>,
    /// Deprecated.
    pub source_config: Option<Vec<ConfigProperty>>,
    /// The target.
    pub target: LinkTarget,
    /// Deprecated.
    pub target_config: Option<Vec<ConfigProperty>>,
}

/// A link's `target`.
#[derive(Debug, Deserialize)]
pub struct LinkTarget {
    /// Configuration.
    pub config: Option<Vec<ConfigProperty>>,
    /// A component of the manifest.
    pub name: String,
    /// Secrets.
    pub secrets: Option<Vec<SecretProperty>>,
}

/// A `spreadscaler` trait's properties.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpreadScalerProperty {
    /// Instances.
    pub instances: u32,
    /// Spread requirements.
    pub spread: Option<Vec<Value>>,
}
