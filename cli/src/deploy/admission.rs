//! The admission policies `faas deploy` writes: Kyverno's `ImageValidatingPolicy` (CEL) and,
//! while Kyverno serves it, the classic `ClusterPolicy`, each admitting only images signed by the
//! keys that own them.

use super::*;

/// A repository the admission policies trust, and the key its images are verified with.
pub(super) struct Trusted<'a> {
    /// The attestor's name in the policies (a CEL identifier).
    pub(super) attestor: String,
    /// `registry/repository`.
    pub(super) repository: &'a str,
    /// PEM.
    pub(super) public_key: &'a str,
    /// Whether its images must carry faas's signed provenance.
    pub(super) provenance: bool,
}

impl Trusted<'_> {
    /// Image reference globs for this repository exactly (by tag or digest), not for
    /// repositories whose names merely start with it.
    pub(super) fn globs(&self) -> Vec<String> {
        ["", ":*", "@*"]
            .iter()
            .map(|suffix| format!("{}{suffix}", self.repository))
            .collect()
    }

    /// An RE2 expression matching exactly this repository's images pinned by digest.
    pub(super) fn pinned_regex(&self) -> String {
        let mut escaped = String::new();
        for c in self.repository.chars() {
            if "\\.+*?()|[]{}^$".contains(c) {
                escaped.push('\\');
            }
            escaped.push(c);
        }
        format!("^{escaped}@sha256:[0-9a-f]{{64}}$")
    }
}

/// A CEL string literal (single-quoted) of `text`.
pub(super) fn cel_string(text: &str) -> String {
    let mut literal = String::from("'");
    for c in text.chars() {
        if c == '\\' || c == '\'' {
            literal.push('\\');
        }
        literal.push(c);
    }
    literal.push('\'');
    literal
}

/// The CEL expression that extracts a WorkloadDeployment's component images.
pub(super) const IMAGES_EXPRESSION: &str = "object.spec.template.spec.components.map(c, c.image)";

/// The message of the rule that refuses images from anywhere else.
pub(super) fn untrusted_message(trusted: &[Trusted<'_>]) -> String {
    let repositories: Vec<&str> = trusted.iter().map(|t| t.repository).collect();
    format!(
        "every component image must come from a trusted repository, pinned by digest: {}",
        repositories.join(", ")
    )
}

/// The CEL expression true when every component image of the workload is one of `trusted`,
/// pinned by digest. It reads the object itself, not `images` (which Kyverno narrows to the
/// images `matchImageReferences` names: an image from elsewhere would never be looked at).
pub(crate) fn trusted_images_expression(trusted: &[&str]) -> String {
    let regexes: Vec<String> = trusted
        .iter()
        .map(|regex| format!("c.image.matches({})", cel_string(regex)))
        .collect();
    format!(
        "object.spec.template.spec.components.all(c, {})",
        regexes.join(" || ")
    )
}

/// The Kyverno `ImageValidatingPolicy` (`policies.kyverno.io/v1` from Kyverno 1.17, `v1alpha1`
/// for 1.14 to 1.16): WorkloadDeployments are admitted only when every component image comes
/// from a trusted repository, pinned by digest, and is signed by that repository's key; the
/// function's own image also carries its provenance attestation, signed by the project's key.
pub fn image_validating_policy(inputs: &Inputs<'_>) -> Value {
    let trusted = inputs.trusted();
    let version = if inputs.kyverno() >= KyvernoVersion::CURRENT {
        "v1"
    } else {
        "v1alpha1"
    };
    let regexes: Vec<String> = trusted.iter().map(Trusted::pinned_regex).collect();
    let regexes: Vec<&str> = regexes.iter().map(String::as_str).collect();
    let mut validations = vec![json!({
        "expression": trusted_images_expression(&regexes),
        "message": untrusted_message(&trusted),
    })];
    for source in &trusted {
        // This repository's images, each verified with its own key.
        let these = format!(
            "images.components.filter(image, image.startsWith({}))",
            cel_string(&format!("{}@", source.repository))
        );
        validations.push(json!({
            "expression": format!(
                "{these}.map(image, verifyImageSignatures(image, [attestors.{}])).all(e, e > 0)",
                source.attestor
            ),
            "message": format!("every image from {} must be signed by its key", source.repository),
        }));
        if source.provenance {
            validations.push(json!({
                "expression": format!(
                    "{these}.map(image, verifyAttestationSignatures(image, attestations.provenance, [attestors.{}])).all(e, e > 0)",
                    source.attestor
                ),
                "message": format!(
                    "every image from {} must carry its provenance, signed by its key",
                    source.repository
                ),
            }));
        }
    }
    json!({
        "apiVersion": format!("policies.kyverno.io/{version}"),
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
            // As the classic policy: images by digest, never rewritten.
            "validationConfigurations": {
                "required": true, "verifyDigest": true, "mutateDigest": false,
            },
            "images": [{ "name": "components", "expression": IMAGES_EXPRESSION }],
            "matchImageReferences": trusted
                .iter()
                .flat_map(Trusted::globs)
                .map(|glob| json!({ "glob": glob }))
                .collect::<Vec<_>>(),
            // A key-pair signature has no transparency-log entry nor certificate timestamp (faas
            // uploads nothing to Rekor), and Kyverno requires both by default: without these two,
            // every image faas signs is refused.
            "attestors": trusted.iter().map(|source| json!({
                "name": source.attestor,
                "cosign": {
                    "key": { "data": source.public_key },
                    "ctlog": { "insecureIgnoreTlog": true, "insecureIgnoreSCT": true },
                },
            })).collect::<Vec<_>>(),
            "attestations": [{
                "name": "provenance",
                "intoto": { "type": crate::attest::provenance::PREDICATE_TYPE },
            }],
            "validations": validations,
        },
    })
}

/// The classic Kyverno `ClusterPolicy` (`verifyImages`), for Kyverno 1.14 to 1.19 (deprecated
/// since 1.17, removed in 1.20): the same admission as the `ImageValidatingPolicy`, as two
/// rules: images only from the trusted repositories, pinned by digest; each verified with its
/// repository's key.
pub fn cluster_policy(inputs: &Inputs<'_>) -> Value {
    let trusted = inputs.trusted();
    let resources = json!({ "any": [{ "resources": {
        "kinds": ["runtime.wasmcloud.dev/v1alpha1/WorkloadDeployment"],
    }}]});
    // A Kyverno pattern applies to every element of a list; `|` separates alternatives, and
    // 64 `?` are a digest's 64 characters exactly (a `*` would take a tail after it too).
    let allowed: Vec<String> = trusted
        .iter()
        .map(|t| format!("{}@sha256:{}", t.repository, "?".repeat(64)))
        .collect();
    let verify: Vec<Value> = trusted
        .iter()
        .map(|source| {
            json!({
                "imageReferences": source.globs(),
                "failureAction": "Enforce",
                "required": true,
                "verifyDigest": true,
                "mutateDigest": false,
                // As for the ImageValidatingPolicy: no Rekor entry, no SCT for a key pair.
                "attestors": [{ "entries": [{ "keys": {
                    "publicKeys": source.public_key,
                    "rekor": { "ignoreTlog": true },
                    "ctlog": { "ignoreSCT": true },
                }}]}],
            })
        })
        .collect();
    json!({
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": { "name": format!("{}-signed", inputs.name), "labels": inputs.labels() },
        "spec": {
            "background": false,
            "webhookConfiguration": { "timeoutSeconds": 30 },
            "rules": [
                {
                    "name": "components-trusted",
                    "match": resources,
                    "validate": {
                        "failureAction": "Enforce",
                        "message": untrusted_message(&trusted),
                        "pattern": { "spec": { "template": { "spec": {
                            "components": [{ "image": allowed.join(" | ") }],
                        }}}},
                    },
                },
                {
                    "name": "components-signed",
                    "match": resources,
                    "imageExtractors": { "WorkloadDeployment": [{
                        "path": "/spec/template/spec/components/*/image",
                    }]},
                    "verifyImages": verify,
                },
            ],
        },
    })
}
