//! Supply-chain attestations: an SBOM ([`sbom`]) and a SLSA provenance statement
//! ([`provenance`]) for each published artifact, as in-toto statements signed into DSSE envelopes
//! ([`dsse`]) and stored the way `cosign attest` stores them: one OCI manifest under the tag
//! `sha256-<hex>.att`, one `application/vnd.dsse.envelope.v1+json` layer per attestation.
//!
//! Both statements are made from what the artifact says about itself (its layers note) and the
//! publish metadata, so the same artifact published from the same commit gets the same bytes.

pub mod dsse;
pub mod provenance;
pub mod sbom;

use crate::artifact::LayersNote;
use crate::oci::artifact::{Blob, Manifest, referrers_manifest};
use crate::sign::{PrivateKey, PublicKey};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The in-toto statement type.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The media type of an attestation layer.
pub const ENVELOPE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
/// The layer annotation naming the predicate type, as cosign writes it.
pub const PREDICATE_ANNOTATION: &str = "predicateType";

/// The tag cosign stores the attestations of `digest` under: `sha256-<hex>.att`.
pub fn tag(digest: &str) -> String {
    format!("{}.att", digest.replace(':', "-"))
}

/// What the statements are about, and what they say of it.
pub struct Subject<'a> {
    /// The repository (`registry/repository`, or `oci:PATH`).
    pub repository: &'a str,
    /// The artifact's manifest digest: the statements' subject.
    pub manifest_digest: &'a str,
    /// The component layer's digest.
    pub component_digest: &'a str,
    /// The artifact's title.
    pub title: &'a str,
    /// Its version.
    pub version: Option<&'a str>,
    /// When it was created (RFC 3339).
    pub created: &'a str,
    /// The source repository.
    pub source: Option<&'a str>,
    /// The source commit.
    pub revision: Option<&'a str>,
    /// What the artifact records about its layers.
    pub note: Option<&'a LayersNote>,
    /// Who built it ([`provenance::builder_id`]).
    pub builder: &'a str,
}

/// The in-toto statement of `predicate_type` about `subject`.
fn statement(subject: &Subject<'_>, predicate_type: &str, predicate: Value) -> Vec<u8> {
    let statement = json!({
        "_type": STATEMENT_TYPE,
        "subject": [{
            "name": subject.repository,
            "digest": { "sha256": subject.manifest_digest.trim_start_matches("sha256:") },
        }],
        "predicateType": predicate_type,
        "predicate": predicate,
    });
    serde_json::to_vec(&statement).expect("statements serialise")
}

/// Where an artifact's attestations were stored.
#[derive(Debug, Clone, Serialize)]
pub struct AttestationsRecord {
    /// The attestation manifest's tag (`sha256-<hex>.att`).
    pub tag: String,
    /// One per statement.
    pub attestations: Vec<AttestationRecord>,
}

/// One stored attestation.
#[derive(Debug, Clone, Serialize)]
pub struct AttestationRecord {
    /// Its predicate type.
    pub predicate_type: String,
    /// The digest of its DSSE envelope (the layer in the attestation manifest).
    pub digest: String,
}

/// The attestations of `subject`, signed: the envelope blobs to store, and the attestation
/// manifest holding them beside those `existing` already holds (an identical one is not added
/// twice).
pub fn prepare(
    key: &PrivateKey,
    subject: &Subject<'_>,
    existing: Option<&Manifest>,
) -> (Vec<Blob>, Manifest, AttestationsRecord) {
    let statements = [
        (sbom::PREDICATE_TYPE, sbom::document(subject)),
        (provenance::PREDICATE_TYPE, provenance::predicate(subject)),
    ];
    let mut blobs = Vec::new();
    let mut manifest = existing.cloned();
    let mut attestations = Vec::new();
    for (predicate_type, predicate) in statements {
        let envelope = Blob::new(
            ENVELOPE_MEDIA_TYPE,
            dsse::seal(key, &statement(subject, predicate_type, predicate)),
        );
        let mut layer = envelope.descriptor();
        layer.annotations = Some(BTreeMap::from([(
            PREDICATE_ANNOTATION.to_string(),
            predicate_type.to_string(),
        )]));
        manifest = Some(referrers_manifest(manifest.as_ref(), layer));
        attestations.push(AttestationRecord {
            predicate_type: predicate_type.to_string(),
            digest: envelope.digest.clone(),
        });
        blobs.push(envelope);
    }
    let record = AttestationsRecord {
        tag: tag(subject.manifest_digest),
        attestations,
    };
    (blobs, manifest.expect("two statements"), record)
}

/// What the verified attestations of an artifact say.
#[derive(Debug, Clone, Serialize)]
pub struct AttestationsReport {
    /// The attestation manifest's tag.
    pub tag: String,
    /// The SBOM.
    pub sbom: SbomSummary,
    /// The provenance.
    pub provenance: ProvenanceSummary,
}

/// What the SBOM says each layer holds.
#[derive(Debug, Clone, Serialize)]
pub struct SbomSummary {
    /// The envelope's digest.
    pub digest: String,
    /// Per layer.
    pub layers: Vec<LayerContents>,
}

/// One layer of the SBOM.
#[derive(Debug, Clone, Serialize)]
pub struct LayerContents {
    /// The layer.
    pub layer: String,
    /// Its digest.
    pub digest: String,
    /// The toolchain that built it, when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toolchain: Option<String>,
    /// Its packages, `name@version`.
    pub packages: Vec<String>,
}

/// What the provenance says made the artifact.
#[derive(Debug, Clone, Serialize)]
pub struct ProvenanceSummary {
    /// The envelope's digest.
    pub digest: String,
    /// The builder id.
    pub builder: String,
    /// The faas that wrapped the artifact.
    pub wrapped_by: String,
    /// The source repository, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The source commit, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The compiled policy document's digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_document: Option<String>,
    /// The build parameters.
    pub parameters: Value,
}

/// One attestation layer, opened.
struct Opened {
    digest: String,
    statement: Value,
}

/// Checks the attestations `manifest` (the `.att` manifest) holds for the artifact whose manifest
/// digest is `digest` and whose layers note is `note`: an SBOM and a provenance statement, each
/// signed by `key`, about this digest, naming exactly the layers the note names. `blob` reads a
/// layer. The error says what disagrees.
pub fn verify(
    manifest: &Manifest,
    digest: &str,
    note: Option<&LayersNote>,
    key: &PublicKey,
    blob: &mut dyn FnMut(&str) -> Result<Vec<u8>, crate::oci::StoreError>,
) -> Result<AttestationsReport, VerifyError> {
    let mut found: BTreeMap<String, Opened> = BTreeMap::new();
    let mut rejected = Vec::new();
    for layer in manifest
        .layers
        .iter()
        .filter(|l| l.media_type == ENVELOPE_MEDIA_TYPE)
    {
        let bytes = blob(&layer.digest).map_err(VerifyError::Store)?;
        let payload = match dsse::open(&bytes, key) {
            Ok(payload) => payload,
            Err(why) => {
                rejected.push(format!("attestation {}: {why}", layer.digest));
                continue;
            }
        };
        // From here on the statement is signed by the key: whatever disagrees is an error.
        let statement: Value = serde_json::from_slice(&payload).map_err(|e| {
            VerifyError::Disagrees(format!(
                "attestation {}: the statement is not JSON ({e})",
                layer.digest
            ))
        })?;
        let predicate_type = statement["predicateType"].as_str().unwrap_or_default();
        if statement["_type"] != STATEMENT_TYPE {
            return Err(VerifyError::Disagrees(format!(
                "attestation {}: not an in-toto v1 statement (_type {})",
                layer.digest, statement["_type"]
            )));
        }
        let subjects: Vec<String> = statement["subject"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| Some(format!("sha256:{}", s["digest"]["sha256"].as_str()?)))
            .collect();
        if !subjects.iter().any(|s| s == digest) {
            return Err(VerifyError::Disagrees(format!(
                "the {predicate_type} attestation {} is about {}, not about this artifact ({digest})",
                layer.digest,
                subjects.join(", ")
            )));
        }
        found.insert(
            predicate_type.to_string(),
            Opened {
                digest: layer.digest.clone(),
                statement,
            },
        );
    }
    let mut take = |predicate_type: &str, what: &str| {
        found.remove(predicate_type).ok_or_else(|| {
            let why = if rejected.is_empty() {
                String::new()
            } else {
                format!(" ({})", rejected.join("; "))
            };
            VerifyError::Missing(format!(
                "no {what} attestation ({predicate_type}) signed by this key{why}"
            ))
        })
    };
    let bom = take(sbom::PREDICATE_TYPE, "SBOM")?;
    let provenance_statement = take(provenance::PREDICATE_TYPE, "provenance")?;

    let expected: Vec<(String, String)> = note
        .map(|n| {
            n.layers
                .iter()
                .map(|l| (l.layer.clone(), l.digest.clone()))
                .collect()
        })
        .unwrap_or_default();
    let document = &bom.statement["predicate"];
    compare("SBOM", &expected, &sbom::layer_digests(document))?;
    let predicate = &provenance_statement.statement["predicate"];
    let (layers, policy) = provenance::layer_digests(predicate);
    compare("provenance", &expected, &layers)?;
    let note_policy = note.map(|n| n.policy_document.clone());
    if policy != note_policy {
        return Err(VerifyError::Disagrees(format!(
            "the provenance names the policy document {}, the artifact {}",
            policy.as_deref().unwrap_or("(none)"),
            note_policy.as_deref().unwrap_or("(none)")
        )));
    }

    let layers = expected
        .iter()
        .map(|(layer, digest)| {
            let (toolchain, packages) = sbom::layer_contents(document, layer);
            LayerContents {
                layer: layer.clone(),
                digest: digest.clone(),
                toolchain,
                packages,
            }
        })
        .collect();
    let source = predicate["buildDefinition"]["resolvedDependencies"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["name"] == "source");
    Ok(AttestationsReport {
        tag: tag(digest),
        sbom: SbomSummary {
            digest: bom.digest,
            layers,
        },
        provenance: ProvenanceSummary {
            digest: provenance_statement.digest,
            builder: text(&predicate["runDetails"]["builder"]["id"]),
            wrapped_by: text(&predicate["buildDefinition"]["internalParameters"]["wrappedBy"]),
            source: source
                .and_then(|s| s["uri"].as_str())
                .map(|uri| uri.trim_start_matches("git+").to_string()),
            commit: source
                .and_then(|s| s["digest"]["gitCommit"].as_str())
                .map(str::to_string),
            policy_document: policy,
            parameters: predicate["buildDefinition"]["externalParameters"].clone(),
        },
    })
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

/// Checks that a statement names exactly the artifact's layers with their digests.
fn compare(
    what: &str,
    expected: &[(String, String)],
    found: &[(String, String)],
) -> Result<(), VerifyError> {
    for (layer, digest) in expected {
        match found.iter().find(|(l, _)| l == layer) {
            None => {
                return Err(VerifyError::Disagrees(format!(
                    "the {what} does not name the artifact's layer `{layer}`"
                )));
            }
            Some((_, named)) if named != digest => {
                return Err(VerifyError::Disagrees(format!(
                    "the {what} names layer `{layer}` as {named}, the artifact's layers note as {digest}"
                )));
            }
            Some(_) => {}
        }
    }
    if let Some((layer, _)) = found
        .iter()
        .find(|(l, _)| !expected.iter().any(|(e, _)| e == l))
    {
        return Err(VerifyError::Disagrees(format!(
            "the {what} names a layer `{layer}` the artifact does not have"
        )));
    }
    Ok(())
}

/// Why the attestations were not accepted.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// An attestation the check needs is not there (or not signed by the key).
    #[error("{0}")]
    Missing(String),
    /// A signed attestation disagrees with the artifact.
    #[error("{0}")]
    Disagrees(String),
    /// The store failed.
    #[error(transparent)]
    Store(crate::oci::StoreError),
}

/// The predicate of the first attestation of `predicate_type` in `manifest`, unverified (for
/// `faas inspect`, which shows what is attached; `faas verify --attestations` checks it).
pub fn find_unverified(
    manifest: &Manifest,
    predicate_type: &str,
    blob: &mut dyn FnMut(&str) -> Result<Vec<u8>, crate::oci::StoreError>,
) -> Result<Option<Value>, crate::oci::StoreError> {
    for layer in manifest
        .layers
        .iter()
        .filter(|l| l.media_type == ENVELOPE_MEDIA_TYPE)
    {
        let Some(payload) = dsse::payload_unverified(&blob(&layer.digest)?) else {
            continue;
        };
        let Ok(statement) = serde_json::from_slice::<Value>(&payload) else {
            continue;
        };
        if statement["predicateType"] == predicate_type {
            return Ok(Some(statement));
        }
    }
    Ok(None)
}
