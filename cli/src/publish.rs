//! `faas publish`, `faas verify`, `faas pull`: artifacts as signed Wasm OCI artifacts in a registry
//! or an OCI layout folder.
//!
//! Publishing order is what makes failures safe: blobs first (each skipped when already present),
//! then the signature (under cosign's `sha256-<hex>.sig` tag), and the artifact's tag last, so a tag
//! never points at something partial or unsigned.

use crate::attest;
use crate::component;
use crate::oci::artifact::{self, ArtifactInfo, Blob, Manifest, signature};
use crate::oci::layout::LayoutStore;
use crate::oci::registry::{Connection, RegistryStore};
use crate::oci::{MANIFEST_MEDIA_TYPE, Reference, Selector, Store, StoreError};
use crate::sign::{PrivateKey, PublicKey};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Why publishing, verifying or pulling failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The artifact cannot be read.
    #[error("cannot read {}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The artifact is not a component.
    #[error("{}: {message}", .path.display())]
    NotAnArtifact {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Nothing at the reference.
    #[error("{0}: no such artifact")]
    NotFound(String),
    /// The manifest is not a Wasm artifact's.
    #[error("{reference}: not a Wasm OCI artifact ({message})")]
    NotWasm {
        /// The reference.
        reference: String,
        /// What was found.
        message: String,
    },
    /// No signature for this digest.
    #[error("{reference}: no signature found for {digest} (looked for the tag {tag})")]
    NoSignature {
        /// The reference.
        reference: String,
        /// The manifest digest.
        digest: String,
        /// The signature tag.
        tag: String,
    },
    /// Signatures exist but none verifies.
    #[error("{reference}: {reason}")]
    BadSignature {
        /// The reference.
        reference: String,
        /// Why each signature was rejected.
        reason: String,
    },
    /// The attestations are missing or do not verify.
    #[error("{reference}: {source}")]
    Attestations {
        /// The reference.
        reference: String,
        /// What is wrong.
        #[source]
        source: attest::VerifyError,
    },
    /// The `created` time cannot be determined.
    #[error("{0}")]
    Created(String),
}

/// What `faas publish` needs.
pub struct PublishOptions {
    /// The wrapped artifact.
    pub artifact: PathBuf,
    /// Where to publish (its selector is ignored; `tag` is used).
    pub target: Reference,
    /// The tag.
    pub tag: String,
    /// The signing key, if the artifact is to be signed.
    pub key: Option<PrivateKey>,
    /// How to reach a registry.
    pub connection: Connection,
    /// `org.opencontainers.image.title`.
    pub title: String,
    /// `org.opencontainers.image.version`.
    pub version: Option<String>,
    /// `org.opencontainers.image.source`.
    pub source: Option<String>,
    /// `org.opencontainers.image.revision`.
    pub revision: Option<String>,
    /// `created` (RFC 3339); default: `SOURCE_DATE_EPOCH`, else the commit time of
    /// `source_dir`'s checkout, else now.
    pub created: Option<String>,
    /// The function's folder, whose Git commit time dates the artifact.
    pub source_dir: Option<PathBuf>,
}

/// Where the published artifact comes from: the metadata of its annotations.
pub struct Provenance<'a> {
    /// The function's project, when there is one (title, version, commit and its time).
    pub project: Option<&'a crate::project::Project>,
    /// `org.opencontainers.image.source`, when given; else the project's git `origin`.
    pub source: Option<String>,
    /// `org.opencontainers.image.revision`, when given; else the project's git commit.
    pub revision: Option<String>,
}

impl PublishOptions {
    /// The options for publishing `artifact` to `target` under `tag`: the title, version, revision
    /// and creation time come from the project (the title from the file name without one), as
    /// `faas publish` and `faas pipeline` both publish.
    pub fn new(
        artifact: PathBuf,
        target: Reference,
        tag: String,
        key: Option<PrivateKey>,
        connection: Connection,
        provenance: Provenance<'_>,
    ) -> Self {
        let project = provenance.project;
        let title = project
            .map(|p| p.name().to_string())
            .or_else(|| {
                artifact
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
            })
            .unwrap_or_default();
        Self {
            title,
            version: project.map(|p| p.file.function.version.to_string()),
            source: provenance
                .source
                .or_else(|| project.and_then(|p| crate::git::origin(&p.root))),
            revision: provenance
                .revision
                .or_else(|| project.and_then(|p| crate::git::revision(&p.root))),
            created: None,
            source_dir: project.map(|p| p.root.clone()),
            artifact,
            target,
            tag,
            key,
            connection,
        }
    }
}

/// The result of a publish.
#[derive(Debug, Clone, Serialize)]
pub struct PublishRecord {
    /// `repository@sha256:…`: the immutable reference.
    pub reference: String,
    /// Where it went, with the tag.
    pub tagged: String,
    /// The tag.
    pub tag: String,
    /// The manifest digest.
    pub manifest_digest: String,
    /// The config blob's digest.
    pub config_digest: String,
    /// The component layer's digest.
    pub layer_digest: String,
    /// The component's size.
    pub size: u64,
    /// Blobs uploaded by this publish.
    pub uploaded: Vec<String>,
    /// Blobs that were already present and were not uploaded again.
    pub already_present: Vec<String>,
    /// The manifest's annotations.
    pub annotations: BTreeMap<String, String>,
    /// The signature, when signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<SignatureRecord>,
    /// The SBOM and provenance attestations, when signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attestations: Option<attest::AttestationsRecord>,
}

/// Where a signature was stored.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureRecord {
    /// The signature manifest's tag (`sha256-<hex>.sig`).
    pub tag: String,
    /// The digest of the signed payload.
    pub payload_digest: String,
    /// The base64 signature.
    pub signature: String,
}

/// The file in a project's output folder naming what it last published, for `faas deploy`.
const LAST_PUBLISH: &str = "published.json";

/// Records `record` as the project's last publish.
pub fn remember(project: &crate::project::Project, record: &PublishRecord) -> std::io::Result<()> {
    let text = serde_json::json!({ "reference": record.reference, "tagged": record.tagged });
    crate::fsutil::write_atomic(
        &project.output_dir().join(LAST_PUBLISH),
        serde_json::to_string_pretty(&text)
            .expect("JSON serialises")
            .as_bytes(),
    )
}

/// The immutable reference of the project's last publish, if it has one.
pub fn last_published(project: &crate::project::Project) -> Option<String> {
    let text = std::fs::read_to_string(project.output_dir().join(LAST_PUBLISH)).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value["reference"].as_str().map(str::to_string)
}

/// Opens the store a target names.
pub fn open_store(
    target: &Reference,
    connection: &Connection,
) -> Result<Box<dyn Store>, StoreError> {
    Ok(match target {
        Reference::Layout { path, .. } => Box::new(LayoutStore::new(path)),
        Reference::Registry {
            registry,
            repository,
            ..
        } => Box::new(RegistryStore::new(registry, repository, connection)?),
    })
}

/// Publishes (and optionally signs) an artifact.
pub fn publish(options: &PublishOptions) -> Result<PublishRecord, PublishError> {
    let bytes = std::fs::read(&options.artifact).map_err(|source| PublishError::Read {
        path: options.artifact.clone(),
        source,
    })?;
    let inspection = component::inspect(&bytes).map_err(|e| PublishError::NotAnArtifact {
        path: options.artifact.clone(),
        message: e.to_string(),
    })?;
    // faas dev's development artifact runs only under faas dev, which hands it the source.
    if let Some(import) = inspection
        .imports
        .iter()
        .find(|i| i.starts_with("faas:dev/"))
    {
        return Err(PublishError::NotAnArtifact {
            path: options.artifact.clone(),
            message: format!(
                "a development artifact of faas dev (it imports {import}, which only faas dev \
                 supplies); publish the artifact `faas build` and `faas wrap` make"
            ),
        });
    }
    let note = crate::artifact::read_layers(&bytes);
    let mut layers = Vec::new();
    if let Some(note) = &note {
        for layer in &note.layers {
            layers.push((layer.layer.clone(), layer.digest.clone()));
        }
        layers.push(("policy-document".to_string(), note.policy_document.clone()));
    }
    let info = ArtifactInfo {
        title: options.title.clone(),
        version: options.version.clone(),
        created: match &options.created {
            Some(created) => created.clone(),
            None => artifact::created_timestamp(options.source_dir.as_deref())
                .map_err(PublishError::Created)?,
        },
        source: options.source.clone(),
        revision: options.revision.clone(),
        imports: inspection.imports.clone(),
        exports: inspection.exports.clone(),
        layers,
    };
    let built = artifact::build(bytes, &info);
    let mut store = open_store(&options.target, &options.connection)?;

    let mut uploaded = Vec::new();
    let mut already_present = Vec::new();
    let mut put = |store: &mut Box<dyn Store>, blob: &Blob| -> Result<(), StoreError> {
        if store.has_blob(&blob.digest)? {
            tracing::debug!(digest = %blob.digest, "blob already present");
            already_present.push(blob.digest.clone());
        } else {
            tracing::debug!(digest = %blob.digest, size = blob.bytes.len(), "uploading blob");
            store.put_blob(&blob.digest, &blob.bytes)?;
            uploaded.push(blob.digest.clone());
        }
        Ok(())
    };
    put(&mut store, &built.layer)?;
    put(&mut store, &built.config)?;

    let signature = match &options.key {
        None => None,
        Some(key) => {
            let payload = Blob::new(
                signature::PAYLOAD_MEDIA_TYPE,
                crate::sign::simple_signing_payload(
                    &options.target.repository_name(),
                    &built.manifest_digest,
                ),
            );
            let signed = key.sign(&payload.bytes);
            let tag = signature::tag(&built.manifest_digest);
            // All signatures of one artifact live in one manifest: read, add ours, write back.
            let existing = attached(store.as_mut(), &tag)?;
            let manifest = signature::manifest(existing.as_ref(), &payload, &signed);
            put(&mut store, &signature::config())?;
            put(&mut store, &payload)?;
            store.put_manifest(&tag, &manifest.to_bytes(), MANIFEST_MEDIA_TYPE)?;
            Some(SignatureRecord {
                tag,
                payload_digest: payload.digest,
                signature: signed,
            })
        }
    };

    store.put_manifest(&options.tag, &built.manifest_bytes, MANIFEST_MEDIA_TYPE)?;

    // Attestations last: they name the artifact's digest, so they are stored only once the
    // artifact is complete.
    let attestations = match &options.key {
        None => None,
        Some(key) => {
            let repository = options.target.repository_name();
            let builder = attest::provenance::builder_id();
            let subject = attest::Subject {
                repository: &repository,
                manifest_digest: &built.manifest_digest,
                component_digest: &built.layer.digest,
                title: &info.title,
                version: info.version.as_deref(),
                created: &info.created,
                source: info.source.as_deref(),
                revision: info.revision.as_deref(),
                note: note.as_ref(),
                builder: &builder,
            };
            let tag = attest::tag(&built.manifest_digest);
            let existing = attached(store.as_mut(), &tag)?;
            let (envelopes, manifest, record) = attest::prepare(key, &subject, existing.as_ref());
            put(&mut store, &signature::config())?;
            for envelope in &envelopes {
                put(&mut store, envelope)?;
            }
            store.put_manifest(&tag, &manifest.to_bytes(), MANIFEST_MEDIA_TYPE)?;
            Some(record)
        }
    };
    Ok(PublishRecord {
        reference: options.target.pinned(&built.manifest_digest),
        tagged: options
            .target
            .with_selector(Selector::Tag(options.tag.clone()))
            .to_string(),
        tag: options.tag.clone(),
        manifest_digest: built.manifest_digest,
        config_digest: built.config.digest,
        layer_digest: built.layer.digest,
        size: built.layer.bytes.len() as u64,
        uploaded,
        already_present,
        annotations: built.manifest.annotations.unwrap_or_default(),
        signature,
        attestations,
    })
}

/// A manifest fetched by reference, its digest checked.
struct Fetched {
    manifest: Manifest,
    digest: String,
}

fn fetch_manifest(store: &mut dyn Store, target: &Reference) -> Result<Fetched, PublishError> {
    let reference = target.to_string();
    let (bytes, digest) = store
        .get_manifest(target.selector())?
        .ok_or_else(|| PublishError::NotFound(reference.clone()))?;
    if let Selector::Digest(wanted) = target.selector() {
        crate::oci::check_digest("manifest", wanted, &bytes)?;
    }
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| PublishError::NotWasm {
        reference: reference.clone(),
        message: e.to_string(),
    })?;
    Ok(Fetched { manifest, digest })
}

/// The result of a verification.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyRecord {
    /// The reference verified.
    pub reference: String,
    /// The manifest digest the signature names.
    pub manifest_digest: String,
    /// The signature tag.
    pub signature_tag: String,
    /// How many signatures were found, and how many verified with the key.
    pub signatures: usize,
    /// Signatures that verified.
    pub verified: usize,
    /// What the verified attestations say, when they were checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attestations: Option<attest::AttestationsReport>,
}

/// Checks that the artifact at `target` is signed by `key` and that its content is intact; with
/// `attestations`, also that its SBOM and provenance are signed by `key`, are about it, and name
/// its layers as its layers note does.
pub fn verify(
    store: &mut dyn Store,
    target: &Reference,
    key: &PublicKey,
    attestations: bool,
) -> Result<VerifyRecord, PublishError> {
    let reference = target.to_string();
    let fetched = fetch_manifest(store, target)?;
    // The content must be what the manifest says: a changed layer breaks the digest chain.
    let mut note = None;
    for descriptor in std::iter::once(&fetched.manifest.config).chain(&fetched.manifest.layers) {
        let bytes = store.get_blob(&descriptor.digest)?;
        if descriptor.media_type == artifact::WASM_LAYER_MEDIA_TYPE {
            note = crate::artifact::read_layers(&bytes);
        }
    }
    let tag = signature::tag(&fetched.digest);
    let no_signature = || PublishError::NoSignature {
        reference: reference.clone(),
        digest: fetched.digest.clone(),
        tag: tag.clone(),
    };
    let (bytes, _) = store
        .get_manifest(&Selector::Tag(tag.clone()))?
        .ok_or_else(no_signature)?;
    let signatures: Manifest = serde_json::from_slice(&bytes).map_err(|_| no_signature())?;
    let mut reasons = Vec::new();
    let mut verified = 0;
    let candidates: Vec<_> = signatures
        .layers
        .iter()
        .filter(|l| l.media_type == signature::PAYLOAD_MEDIA_TYPE)
        .collect();
    for layer in &candidates {
        let Some(sig) = layer
            .annotations
            .as_ref()
            .and_then(|a| a.get(signature::SIGNATURE_ANNOTATION))
        else {
            reasons.push("a signature layer has no signature annotation".to_string());
            continue;
        };
        let payload = store.get_blob(&layer.digest)?;
        if !key.verify(&payload, sig) {
            reasons.push("the signature does not verify with this key".to_string());
            continue;
        }
        match crate::sign::signed_digest(&payload) {
            Some(d) if d == fetched.digest => verified += 1,
            Some(d) => reasons.push(format!(
                "the signature is for {d}, not for {}",
                fetched.digest
            )),
            None => {
                reasons.push("the signed payload is not a cosign simple-signing payload".into())
            }
        }
    }
    if candidates.is_empty() {
        return Err(no_signature());
    }
    if verified == 0 {
        reasons.dedup();
        return Err(PublishError::BadSignature {
            reference,
            reason: reasons.join("; "),
        });
    }
    let attestations = match attestations {
        false => None,
        true => Some(verify_attestations(
            store,
            &reference,
            &fetched.digest,
            note.as_ref(),
            key,
        )?),
    };
    Ok(VerifyRecord {
        reference: target.pinned(&fetched.digest),
        manifest_digest: fetched.digest,
        signature_tag: tag,
        signatures: candidates.len(),
        verified,
        attestations,
    })
}

fn verify_attestations(
    store: &mut dyn Store,
    reference: &str,
    digest: &str,
    note: Option<&crate::artifact::LayersNote>,
    key: &PublicKey,
) -> Result<attest::AttestationsReport, PublishError> {
    let failed = |source| PublishError::Attestations {
        reference: reference.to_string(),
        source,
    };
    let manifest = attestation_manifest(store, digest)?.ok_or_else(|| {
        failed(attest::VerifyError::Missing(format!(
            "no attestations found for {digest} (looked for the tag {}); publish with --key to attach them",
            attest::tag(digest)
        )))
    })?;
    attest::verify(&manifest, digest, note, key, &mut |d| store.get_blob(d)).map_err(failed)
}

/// The attestation manifest of the artifact whose manifest digest is `digest`, if it has one.
pub fn attestation_manifest(
    store: &mut dyn Store,
    digest: &str,
) -> Result<Option<Manifest>, PublishError> {
    Ok(attached(store, &attest::tag(digest))?)
}

/// The manifest of what is attached to an artifact under `tag` (its signatures, its
/// attestations), if there is one that parses.
fn attached(store: &mut dyn Store, tag: &str) -> Result<Option<Manifest>, StoreError> {
    Ok(match store.get_manifest(&Selector::Tag(tag.to_string()))? {
        Some((bytes, _)) => serde_json::from_slice(&bytes).ok(),
        None => None,
    })
}

/// The result of a pull.
#[derive(Debug, Clone, Serialize)]
pub struct PullRecord {
    /// The immutable reference pulled.
    pub reference: String,
    /// The manifest digest.
    pub manifest_digest: String,
    /// The component layer's digest.
    pub layer_digest: String,
    /// Its size.
    pub size: u64,
    /// Whether a signature was verified first.
    pub verified: bool,
}

/// Fetches the component of the artifact at `target`; with `key`, verifies its signature first.
pub fn pull(
    store: &mut dyn Store,
    target: &Reference,
    key: Option<&PublicKey>,
) -> Result<(Vec<u8>, PullRecord), PublishError> {
    let verified = match key {
        Some(key) => Some(verify(store, target, key, false)?),
        None => None,
    };
    // Pull exactly the digest that was verified, not whatever the tag points at now.
    let target = match &verified {
        Some(v) => target.with_selector(Selector::Digest(v.manifest_digest.clone())),
        None => target.clone(),
    };
    let fetched = fetch_manifest(store, &target)?;
    let reference = target.to_string();
    if fetched.manifest.config.media_type != artifact::CONFIG_MEDIA_TYPE {
        return Err(PublishError::NotWasm {
            reference,
            message: format!("config media type {}", fetched.manifest.config.media_type),
        });
    }
    let layer = fetched
        .manifest
        .layers
        .iter()
        .find(|l| l.media_type == artifact::WASM_LAYER_MEDIA_TYPE)
        .ok_or_else(|| PublishError::NotWasm {
            reference: reference.clone(),
            message: "no application/wasm layer".into(),
        })?;
    let bytes = store.get_blob(&layer.digest)?;
    Ok((
        bytes.clone(),
        PullRecord {
            reference: target.pinned(&fetched.digest),
            manifest_digest: fetched.digest,
            layer_digest: layer.digest.clone(),
            size: bytes.len() as u64,
            verified: verified.is_some(),
        },
    ))
}
