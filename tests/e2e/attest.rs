//! The SBOM and provenance attached on publish, checked by faas and by independent tools (openssl
//! over the DSSE encoding, the in-toto and CycloneDX packages from PyPI, skopeo).

use crate::common::*;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;
use std::path::{Path, PathBuf};

const SBOM: &str = "https://cyclonedx.org/bom";
const PROVENANCE: &str = "https://slsa.dev/provenance/v1";

fn keygen(dir: &Path, name: &str) {
    let (key, public) = (format!("{name}.key"), format!("{name}.pub"));
    success(&faas(dir, &["keygen", "--key", &key, "--pub", &public]));
}

fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "test")
        .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
        .env("GIT_COMMITTER_NAME", "test")
        .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

fn git_head(dir: &Path) -> String {
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .args(["rev-parse", "HEAD"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn json_of(output: &std::process::Output) -> Value {
    serde_json::from_str(&success(output)).unwrap()
}

/// The DSSE pre-authentication encoding, written out here from the specification (not faas's).
fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let header = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    );
    [header.as_bytes(), payload].concat()
}

/// Runs the Python checker (tests/e2e/check_attestation.py) on an envelope.
fn independent_check(dir: &Path, envelope: &[u8], manifest_digest: &str) -> Value {
    let file = dir.join("envelope.json");
    std::fs::write(&file, envelope).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new(root.join("target/tools/attest-venv/bin/python"))
        .arg(root.join("tests/e2e/check_attestation.py"))
        .arg(&file)
        .arg(dir.join("faas.pub"))
        .arg(manifest_digest)
        .output()
        .expect("scripts/test installs the checkers into target/tools/attest-venv");
    assert!(
        out.status.success(),
        "the independent check failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn openssl_verifies(dir: &Path, public: &str, data: &[u8], signature_b64: &str) -> bool {
    std::fs::write(dir.join("signed.bin"), data).unwrap();
    std::fs::write(dir.join("sig.der"), BASE64.decode(signature_b64).unwrap()).unwrap();
    let out = std::process::Command::new("openssl")
        .current_dir(dir)
        .args([
            "dgst",
            "-sha256",
            "-verify",
            public,
            "-signature",
            "sig.der",
            "signed.bin",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "Verified OK"
}

#[test]
fn publishing_attaches_an_sbom_and_a_provenance_that_independent_tools_accept() {
    let registry = Registry::start();
    let (_tmp, dir, _artifact) = wrapped_function("att-registry");
    keygen(&dir, "faas");
    git(&dir, &["init", "--quiet"]);
    git(
        &dir,
        &["add", "faas.toml", "auth.toml", "src", "Cargo.toml"],
    );
    git(&dir, &["commit", "--quiet", "-m", "the function"]);
    git(
        &dir,
        &[
            "remote",
            "add",
            "origin",
            "https://ci:s3cret@git.example.invalid/team/att.git",
        ],
    );
    let commit = git_head(&dir);
    let reference = format!("{}/team/att-registry:0.1.0", registry.addr);
    // The builder is who the CI says it is (FAAS_BUILDER_ID), never a placeholder.
    let builder = "https://ci.example.com/builders/release-pipeline";
    let record: Value = serde_json::from_str(&success(
        &faas_command(
            &dir,
            &["publish", &reference, "--key", "faas.key", "--json"],
        )
        .env("FAAS_BUILDER_ID", builder)
        .output()
        .unwrap(),
    ))
    .unwrap();
    let digest = record["manifest_digest"].as_str().unwrap();
    let attached = &record["attestations"];
    assert_eq!(
        attached["tag"],
        format!("{}.att", digest.replace(':', "-")),
        "{record}"
    );
    assert_eq!(
        names_in(attached, "attestations", "predicate_type"),
        [SBOM, PROVENANCE]
    );

    // cosign's layout, read back by skopeo: one DSSE layer per attestation, typed by annotation.
    let manifest = skopeo_raw(&format!(
        "docker://{}/team/att-registry:{}",
        registry.addr,
        attached["tag"].as_str().unwrap()
    ))
    .unwrap();
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2, "{manifest}");
    let mut checked = Vec::new();
    for (layer, stored) in layers
        .iter()
        .zip(attached["attestations"].as_array().unwrap())
    {
        assert_eq!(layer["mediaType"], "application/vnd.dsse.envelope.v1+json");
        assert_eq!(layer["digest"], stored["digest"]);
        assert_eq!(
            layer["annotations"]["predicateType"],
            stored["predicate_type"]
        );
        let blob = http(
            &registry.addr,
            "GET",
            &format!(
                "/v2/team/att-registry/blobs/{}",
                layer["digest"].as_str().unwrap()
            ),
            &[],
            b"",
        );
        assert_eq!(blob.status, 200);
        // openssl, over the encoding the DSSE specification defines.
        let envelope: Value = serde_json::from_slice(&blob.body).unwrap();
        let payload = BASE64
            .decode(envelope["payload"].as_str().unwrap())
            .unwrap();
        let sig = envelope["signatures"][0]["sig"].as_str().unwrap();
        let encoded = pae(envelope["payloadType"].as_str().unwrap(), &payload);
        assert!(openssl_verifies(&dir, "faas.pub", &encoded, sig));
        assert!(
            !openssl_verifies(&dir, "faas.pub", &payload, sig),
            "not over the bare payload"
        );
        checked.push(independent_check(&dir, &blob.body, digest));
    }

    // The SBOM: one component per layer; the function's crates, and the decorator's.
    let layers = &checked[0]["layers"];
    let inspected = json_of(&faas(
        &dir,
        &["inspect", "target/faas/att-registry.wasm", "--json"],
    ));
    let note_layers = names_in(&inspected, "layers", "layer");
    let sbom_layers: Vec<&str> = layers
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = note_layers.clone();
    sorted.sort();
    assert_eq!(sbom_layers, sorted);
    let function: Vec<&str> = layers["function"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(
        function.contains(&"att-registry") && function.contains(&"wit-bindgen"),
        "{function:?}"
    );
    assert!(
        !function.contains(&"wit-bindgen-rust-macro"),
        "a proc-macro is not linked: {function:?}"
    );
    let decorator = layers["decorator"].to_string();
    assert!(
        decorator.contains("faas-policy-core") && !decorator.contains("jsonwebtoken"),
        "{decorator}"
    );

    // The provenance: the source commit, each layer, the policy document.
    let names: Vec<&str> = checked[1]["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(names[0], "source");
    for layer in &note_layers {
        assert!(names.contains(layer), "{names:?}");
    }
    assert!(names.contains(&"policy-document"));
    assert_eq!(checked[1]["builder"], builder, "{}", checked[1]);
    assert_eq!(checked[1]["build_type"], "urn:faas:build-type:wrap:v1");

    // faas verify --attestations says what each layer holds and what built it.
    let shown = success(&faas(
        &dir,
        &["verify", &reference, "--key", "faas.pub", "--attestations"],
    ));
    assert!(shown.contains(&commit), "{shown}");
    assert!(
        shown.contains("https://git.example.invalid/team/att.git"),
        "{shown}"
    );
    assert!(
        !shown.contains("s3cret"),
        "a remote's password is never published: {shown}"
    );
    assert!(shown.contains("faas-policy-core@0.1.0"), "{shown}");
    assert!(shown.contains("built with rustc "), "{shown}");
    let verified = json_of(&faas(
        &dir,
        &[
            "verify",
            &reference,
            "--key",
            "faas.pub",
            "--attestations",
            "--json",
        ],
    ));
    let report = &verified["attestations"];
    assert_eq!(names_in(&report["sbom"], "layers", "layer"), note_layers);
    assert_eq!(report["provenance"]["commit"], commit.as_str());
    assert_eq!(
        report["sbom"]["digest"],
        attached["attestations"][0]["digest"]
    );

    // faas inspect prints the documents themselves.
    let bom = json_of(&faas(&dir, &["inspect", &reference, "--sbom"]));
    assert_eq!(bom["bomFormat"], "CycloneDX");
    let statement = json_of(&faas(&dir, &["inspect", &reference, "--provenance"]));
    assert_eq!(statement["predicateType"], PROVENANCE);
    assert_eq!(
        statement["subject"][0]["digest"]["sha256"],
        digest.trim_start_matches("sha256:")
    );
}

/// An OCI layout folder whose attestations a test rewrites, as an attacker with write access to
/// the registry could.
struct Layout {
    root: PathBuf,
    tag: String,
    index: Vec<u8>,
}

impl Layout {
    fn new(root: PathBuf, manifest_digest: &str) -> Layout {
        let index = std::fs::read(root.join("index.json")).unwrap();
        Layout {
            tag: format!("{}.att", manifest_digest.replace(':', "-")),
            root,
            index,
        }
    }

    fn blob(&self, digest: &str) -> Vec<u8> {
        std::fs::read(
            self.root
                .join("blobs/sha256")
                .join(digest.trim_start_matches("sha256:")),
        )
        .unwrap()
    }

    fn put(&self, bytes: &[u8]) -> String {
        let digest = sha256(bytes);
        let path = self
            .root
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"));
        std::fs::write(path, bytes).unwrap();
        digest
    }

    fn index(&self) -> Value {
        serde_json::from_slice(&self.index).unwrap()
    }

    fn entry(index: &mut Value, tag: &str) -> usize {
        index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .position(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
            .unwrap()
    }

    /// The statement of `predicate_type`, decoded.
    fn statement(&self, predicate_type: &str) -> Value {
        let mut index = self.index();
        let at = Self::entry(&mut index, &self.tag);
        let manifest: Value =
            serde_json::from_slice(&self.blob(index["manifests"][at]["digest"].as_str().unwrap()))
                .unwrap();
        let layer = manifest["layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["annotations"]["predicateType"] == predicate_type)
            .unwrap();
        let envelope: Value =
            serde_json::from_slice(&self.blob(layer["digest"].as_str().unwrap())).unwrap();
        serde_json::from_slice(
            &BASE64
                .decode(envelope["payload"].as_str().unwrap())
                .unwrap(),
        )
        .unwrap()
    }

    /// Replaces the attestation of `predicate_type` by `envelope` (from the original index).
    fn replace(&self, predicate_type: &str, envelope: &[u8]) {
        let mut index = self.index();
        let at = Self::entry(&mut index, &self.tag);
        let mut manifest: Value =
            serde_json::from_slice(&self.blob(index["manifests"][at]["digest"].as_str().unwrap()))
                .unwrap();
        let digest = self.put(envelope);
        for layer in manifest["layers"].as_array_mut().unwrap() {
            if layer["annotations"]["predicateType"] == predicate_type {
                layer["digest"] = digest.clone().into();
                layer["size"] = envelope.len().into();
            }
        }
        let manifest = serde_json::to_vec(&manifest).unwrap();
        index["manifests"][at]["digest"] = self.put(&manifest).into();
        index["manifests"][at]["size"] = manifest.len().into();
        std::fs::write(
            self.root.join("index.json"),
            serde_json::to_vec(&index).unwrap(),
        )
        .unwrap();
    }

    fn remove_attestations(&self) {
        let mut index = self.index();
        let at = Self::entry(&mut index, &self.tag);
        index["manifests"].as_array_mut().unwrap().remove(at);
        std::fs::write(
            self.root.join("index.json"),
            serde_json::to_vec(&index).unwrap(),
        )
        .unwrap();
    }

    fn restore(&self) {
        std::fs::write(self.root.join("index.json"), &self.index).unwrap();
    }
}

/// An envelope of `statement` signed with `key` by openssl.
fn envelope(dir: &Path, key: &str, statement: &Value) -> Vec<u8> {
    let payload = serde_json::to_vec(statement).unwrap();
    let payload_type = "application/vnd.in-toto+json";
    std::fs::write(dir.join("to-sign.bin"), pae(payload_type, &payload)).unwrap();
    let out = std::process::Command::new("openssl")
        .current_dir(dir)
        .args(["dgst", "-sha256", "-sign", key, "to-sign.bin"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::to_vec(&serde_json::json!({
        "payloadType": payload_type,
        "payload": BASE64.encode(&payload),
        "signatures": [{ "keyid": "", "sig": BASE64.encode(&out.stdout) }],
    }))
    .unwrap()
}

#[test]
fn verify_refuses_attestations_that_disagree_with_the_artifact_or_the_key() {
    let (_tmp, dir, _artifact) = wrapped_function("att-tamper");
    keygen(&dir, "faas");
    keygen(&dir, "other");
    let record = json_of(&faas(&dir, &["publish", "--key", "faas.key", "--json"]));
    let digest = record["manifest_digest"].as_str().unwrap().to_string();
    let layout = Layout::new(dir.join("target/faas/oci"), &digest);
    let reference = "oci:target/faas/oci:0.1.0";
    let verify = || {
        faas(
            &dir,
            &["verify", reference, "--key", "faas.pub", "--attestations"],
        )
    };
    success(&verify());

    // A statement about another artifact, signed by the right key.
    let mut other = layout.statement(SBOM);
    other["subject"][0]["digest"]["sha256"] = "00".repeat(32).into();
    layout.replace(SBOM, &envelope(&dir, "faas.key", &other));
    let err = failure(&verify(), 1);
    assert!(
        err.contains(&format!("is about sha256:{}", "00".repeat(32))),
        "{err}"
    );
    assert!(
        err.contains(&format!("not about this artifact ({digest})")),
        "{err}"
    );
    layout.restore();

    // A statement changed after it was signed.
    let original = layout.statement(SBOM);
    let mut tampered = original.clone();
    tampered["predicate"]["components"][0]["name"] = "innocent".into();
    let mut sealed: Value = serde_json::from_slice(&envelope(&dir, "faas.key", &original)).unwrap();
    sealed["payload"] = BASE64.encode(serde_json::to_vec(&tampered).unwrap()).into();
    layout.replace(SBOM, &serde_json::to_vec(&sealed).unwrap());
    let err = failure(&verify(), 1);
    assert!(err.contains("no SBOM attestation"), "{err}");
    assert!(
        err.contains("its signature does not verify with this key"),
        "{err}"
    );
    layout.restore();

    // The right statement, signed by another key.
    layout.replace(
        PROVENANCE,
        &envelope(&dir, "other.key", &layout.statement(PROVENANCE)),
    );
    let err = failure(&verify(), 1);
    assert!(
        err.contains(
            "no provenance attestation (https://slsa.dev/provenance/v1) signed by this key"
        ),
        "{err}"
    );
    layout.restore();

    // An SBOM, signed by the right key, whose decorator is not the artifact's.
    let mut wrong = layout.statement(SBOM);
    let decorator = wrong["predicate"]["components"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["name"] == "decorator")
        .unwrap();
    decorator["hashes"][0]["content"] = "ab".repeat(32).into();
    layout.replace(SBOM, &envelope(&dir, "faas.key", &wrong));
    let err = failure(&verify(), 1);
    assert!(
        err.contains(&format!(
            "the SBOM names layer `decorator` as sha256:{}",
            "ab".repeat(32)
        )),
        "{err}"
    );
    layout.restore();

    // A provenance naming another policy.
    let mut wrong = layout.statement(PROVENANCE);
    for dependency in wrong["predicate"]["buildDefinition"]["resolvedDependencies"]
        .as_array_mut()
        .unwrap()
    {
        if dependency["name"] == "policy-document" {
            dependency["digest"]["sha256"] = "cd".repeat(32).into();
        }
    }
    layout.replace(PROVENANCE, &envelope(&dir, "faas.key", &wrong));
    let err = failure(&verify(), 1);
    assert!(
        err.contains(&format!(
            "names the policy document sha256:{}",
            "cd".repeat(32)
        )),
        "{err}"
    );
    layout.restore();

    // No attestations at all: verify without --attestations still passes, with it fails.
    layout.remove_attestations();
    success(&faas(&dir, &["verify", reference, "--key", "faas.pub"]));
    let err = failure(&verify(), 1);
    assert!(
        err.contains(&format!("no attestations found for {digest}")),
        "{err}"
    );
    assert!(err.contains("publish with --key"), "{err}");
    layout.restore();
    success(&verify());
}
