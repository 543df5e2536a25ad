//! The `[deploy]` table of `faas.toml`: what `faas deploy` writes manifests from (see
//! [`crate::deploy`]), checked as it is read.

use serde::{Deserialize, Serialize};

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
    /// wadm: the HTTP client provider's image (outgoing HTTP, with `unrestricted-egress`).
    pub http_client_provider: Option<String>,
    /// The oldest Kyverno the admission policies are for (default 1.17): `kyverno.yaml` is
    /// `policies.kyverno.io/v1` from 1.17, `v1alpha1` for 1.14 to 1.16; the classic
    /// `kyverno-classic.yaml` is written while it can be applied (before 1.20).
    #[serde(default, deserialize_with = "kyverno_version")]
    pub kyverno: Option<KyvernoVersion>,
    /// wadm: what wasmCloud 1.x cannot enforce and the project accepts anyway, by name; without
    /// it such an artifact gets no `wadm.yaml`.
    #[serde(default)]
    pub wadm_accept: Vec<WadmAccept>,
}

/// A Kyverno release, `major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct KyvernoVersion {
    /// 1.
    pub major: u32,
    /// 14, 17, …
    pub minor: u32,
}

impl KyvernoVersion {
    /// The default: the first release serving `ImageValidatingPolicy` as `policies.kyverno.io/v1`.
    pub const CURRENT: KyvernoVersion = KyvernoVersion::new(1, 17);
    /// The first with `ImageValidatingPolicy` (and rule-level `failureAction`).
    pub const OLDEST: KyvernoVersion = KyvernoVersion::new(1, 14);
    /// The release that removes `ClusterPolicy`.
    pub const NO_CLUSTER_POLICY: KyvernoVersion = KyvernoVersion::new(1, 20);

    const fn new(major: u32, minor: u32) -> Self {
        KyvernoVersion { major, minor }
    }
}

impl std::fmt::Display for KyvernoVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

fn kyverno_version<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<KyvernoVersion>, D::Error> {
    let text = String::deserialize(d)?;
    let version = text
        .split_once('.')
        .and_then(|(major, minor)| {
            Some(KyvernoVersion::new(
                major.parse().ok()?,
                minor.parse().ok()?,
            ))
        })
        .ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}` is not a Kyverno release: MAJOR.MINOR, e.g. \"1.17\""
            ))
        })?;
    if version < KyvernoVersion::OLDEST {
        return Err(serde::de::Error::custom(format!(
            "Kyverno {version} has no ImageValidatingPolicy: faas writes admission policies for \
             {} and later",
            KyvernoVersion::OLDEST
        )));
    }
    Ok(Some(version))
}

/// What the project accepts about wasmCloud 1.x, where wadm cannot carry the policy's grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WadmAccept {
    /// 1.x has no egress allow-list: the HTTP client provider reaches any host, not only the
    /// policy's `outgoing-hosts`.
    UnrestrictedEgress,
}

/// Whether `name` is an RFC 1123 label: what Kubernetes takes as a namespace.
pub fn is_dns_label(name: &str) -> bool {
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
