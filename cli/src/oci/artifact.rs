//! The CNCF Wasm OCI artifact: one `application/wasm` layer holding the component, a config of type
//! `application/vnd.wasm.config.v0+json` describing it, and an OCI image manifest with the standard
//! `org.opencontainers.image.*` annotations plus ours recording the digest of every layer of the
//! faas artifact. All JSON is written in a fixed order, so the same inputs give the same digests.

use crate::digest;
use serde::Serialize;
use std::collections::BTreeMap;

/// Media type of the Wasm config blob.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// Media type of the component layer.
pub const WASM_LAYER_MEDIA_TYPE: &str = "application/wasm";
/// Annotation prefix for what faas records about the artifact's layers.
pub const ANNOTATION_PREFIX: &str = "dev.faas";

/// What goes into an artifact besides the component itself.
#[derive(Debug, Clone, Default)]
pub struct ArtifactInfo {
    /// `org.opencontainers.image.title`.
    pub title: String,
    /// `org.opencontainers.image.version`.
    pub version: Option<String>,
    /// `created`, RFC 3339.
    pub created: String,
    /// `org.opencontainers.image.source`.
    pub source: Option<String>,
    /// `org.opencontainers.image.revision`.
    pub revision: Option<String>,
    /// The component's imports and exports.
    pub imports: Vec<String>,
    /// Exports.
    pub exports: Vec<String>,
    /// `(layer, digest)` of each faas layer, and the policy document's digest.
    pub layers: Vec<(String, String)>,
}

/// A blob with its media type and digest.
#[derive(Debug, Clone)]
pub struct Blob {
    /// Media type.
    pub media_type: &'static str,
    /// `sha256:` digest.
    pub digest: String,
    /// Content.
    pub bytes: Vec<u8>,
}

impl Blob {
    /// A blob of `bytes`.
    pub fn new(media_type: &'static str, bytes: Vec<u8>) -> Blob {
        Blob {
            media_type,
            digest: digest::sha256(&bytes),
            bytes,
        }
    }

    /// Its descriptor, without annotations.
    pub fn descriptor(&self) -> Descriptor {
        Descriptor {
            media_type: self.media_type.to_string(),
            digest: self.digest.clone(),
            size: self.bytes.len() as u64,
            annotations: None,
        }
    }
}

/// An OCI content descriptor.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type.
    pub media_type: String,
    /// Digest.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// Annotations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// An OCI image manifest, as far as faas reads and writes it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    pub schema_version: u32,
    /// The manifest media type.
    pub media_type: String,
    /// The config descriptor.
    pub config: Descriptor,
    /// The layers.
    pub layers: Vec<Descriptor>,
    /// Annotations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

impl Manifest {
    /// A manifest of `config` and `layers`.
    pub fn new(
        config: Descriptor,
        layers: Vec<Descriptor>,
        annotations: Option<BTreeMap<String, String>>,
    ) -> Self {
        Manifest {
            schema_version: 2,
            media_type: super::MANIFEST_MEDIA_TYPE.to_string(),
            config,
            layers,
            annotations,
        }
    }

    /// The manifest's canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("manifests serialise")
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WasmConfig<'a> {
    created: &'a str,
    architecture: &'static str,
    os: &'static str,
    layer_digests: Vec<&'a str>,
    component: ComponentInfo<'a>,
}

#[derive(Serialize)]
struct ComponentInfo<'a> {
    exports: &'a [String],
    imports: &'a [String],
    target: Option<&'a str>,
}

/// The blobs and manifest of an artifact for `component`.
pub struct Artifact {
    /// The config blob.
    pub config: Blob,
    /// The component layer.
    pub layer: Blob,
    /// The manifest.
    pub manifest: Manifest,
    /// Its bytes.
    pub manifest_bytes: Vec<u8>,
    /// Its digest.
    pub manifest_digest: String,
}

/// Builds the artifact for `component`.
pub fn build(component: Vec<u8>, info: &ArtifactInfo) -> Artifact {
    let layer = Blob::new(WASM_LAYER_MEDIA_TYPE, component);
    let config = WasmConfig {
        created: &info.created,
        architecture: "wasm",
        os: "wasip2",
        layer_digests: vec![&layer.digest],
        component: ComponentInfo {
            exports: &info.exports,
            imports: &info.imports,
            target: None,
        },
    };
    let config = Blob::new(
        CONFIG_MEDIA_TYPE,
        serde_json::to_vec(&config).expect("config serialises"),
    );
    let mut annotations = BTreeMap::new();
    let oci = |key: &str| format!("org.opencontainers.image.{key}");
    annotations.insert(oci("title"), info.title.clone());
    annotations.insert(oci("created"), info.created.clone());
    if let Some(version) = &info.version {
        annotations.insert(oci("version"), version.clone());
    }
    if let Some(source) = &info.source {
        annotations.insert(oci("source"), source.clone());
    }
    if let Some(revision) = &info.revision {
        annotations.insert(oci("revision"), revision.clone());
    }
    for (layer, digest) in &info.layers {
        annotations.insert(
            format!("{ANNOTATION_PREFIX}.{layer}.digest"),
            digest.clone(),
        );
    }
    let manifest = Manifest::new(
        config.descriptor(),
        vec![layer.descriptor()],
        Some(annotations),
    );
    let manifest_bytes = manifest.to_bytes();
    Artifact {
        manifest_digest: digest::sha256(&manifest_bytes),
        manifest_bytes,
        manifest,
        config,
        layer,
    }
}

/// `created` for an artifact: from `SOURCE_DATE_EPOCH` when set (reproducible builds), else the
/// time of the commit checked out in `source_dir` (so republishing the same artifact from the same
/// commit gives the same manifest), else now.
pub fn created_timestamp(source_dir: Option<&std::path::Path>) -> Result<String, String> {
    let at = |seconds| std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds);
    let time = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(value) => at(value
            .trim()
            .parse()
            .map_err(|_| format!("SOURCE_DATE_EPOCH is not a number of seconds: `{value}`"))?),
        Err(_) => match source_dir.and_then(crate::git::commit_time) {
            Some(seconds) => at(seconds),
            None => std::time::SystemTime::now(),
        },
    };
    Ok(humantime::format_rfc3339_seconds(time).to_string())
}

/// The cosign signature manifest: config `{}`, one simple-signing layer per signature.
pub mod signature {
    use super::*;

    /// Media type of a simple-signing payload layer.
    pub const PAYLOAD_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
    /// The layer annotation holding the base64 signature.
    pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
    /// Media type of the (empty) config.
    pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";

    /// The tag cosign stores signatures of `digest` under: `sha256-<hex>.sig`.
    pub fn tag(digest: &str) -> String {
        format!("{}.sig", digest.replace(':', "-"))
    }

    /// The empty config blob.
    pub fn config() -> Blob {
        Blob::new(CONFIG_MEDIA_TYPE, b"{}".to_vec())
    }

    /// A signature manifest holding `existing` layers plus one for `payload` signed `signature`
    /// (not added twice).
    pub fn manifest(existing: Option<&Manifest>, payload: &Blob, signature: &str) -> Manifest {
        let mut layer = payload.descriptor();
        layer.annotations = Some(BTreeMap::from([(
            SIGNATURE_ANNOTATION.to_string(),
            signature.to_string(),
        )]));
        referrers_manifest(existing, layer)
    }
}

/// A manifest of things attached to an artifact by tag, as cosign stores signatures and
/// attestations: config `{}`, the layers of `existing` plus `layer` (not added twice).
pub fn referrers_manifest(existing: Option<&Manifest>, layer: Descriptor) -> Manifest {
    let mut layers = existing.map(|m| m.layers.clone()).unwrap_or_default();
    let same = |l: &Descriptor| l.digest == layer.digest && l.annotations == layer.annotations;
    if !layers.iter().any(same) {
        layers.push(layer);
    }
    Manifest::new(signature::config().descriptor(), layers, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_is_the_wasm_oci_layout_and_reproducible() {
        let info = ArtifactInfo {
            title: "hello".into(),
            version: Some("0.1.0".into()),
            created: "2026-01-01T00:00:00Z".into(),
            layers: vec![("policy".into(), "sha256:ab".into())],
            exports: vec!["wasi:http/incoming-handler@0.2.12".into()],
            ..Default::default()
        };
        let a = build(b"\0asm".to_vec(), &info);
        let b = build(b"\0asm".to_vec(), &info);
        assert_eq!(a.manifest_digest, b.manifest_digest);
        let m: serde_json::Value = serde_json::from_slice(&a.manifest_bytes).unwrap();
        assert_eq!(m["mediaType"], crate::oci::MANIFEST_MEDIA_TYPE);
        assert_eq!(m["config"]["mediaType"], CONFIG_MEDIA_TYPE);
        assert_eq!(m["layers"][0]["mediaType"], "application/wasm");
        assert_eq!(
            m["annotations"]["org.opencontainers.image.version"],
            "0.1.0"
        );
        assert_eq!(m["annotations"]["dev.faas.policy.digest"], "sha256:ab");
        let c: serde_json::Value = serde_json::from_slice(&a.config.bytes).unwrap();
        assert_eq!(c["architecture"], "wasm");
        assert_eq!(c["os"], "wasip2");
        assert_eq!(c["layerDigests"][0], a.layer.digest.as_str());
    }

    #[test]
    fn signature_tags_follow_cosign() {
        assert_eq!(signature::tag("sha256:abc"), "sha256-abc.sig");
    }
}
