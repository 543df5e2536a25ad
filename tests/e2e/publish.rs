use crate::common::*;
use std::path::Path;

const EPOCH: &str = "1700000000";

fn keygen(dir: &Path) {
    success(&faas(
        dir,
        &["keygen", "--key", "faas.key", "--pub", "faas.pub"],
    ));
}

fn publish_json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["publish"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = faas_command(dir, &all)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .output()
        .unwrap();
    serde_json::from_str(&success(&out)).unwrap()
}

#[test]
fn publish_to_a_registry_and_read_it_back_with_skopeo_and_faas_pull() {
    let registry = Registry::start();
    let (_tmp, dir, artifact) = wrapped_function("pub-registry");
    keygen(&dir);
    let reference = format!("{}/team/pub-registry:0.1.0", registry.addr);
    let record = publish_json(&dir, &[&reference, "--key", "faas.key"]);
    let digest = record["manifest_digest"].as_str().unwrap().to_string();
    assert_eq!(
        record["reference"].as_str().unwrap(),
        format!("{}/team/pub-registry@{digest}", registry.addr)
    );

    // Independently: skopeo reads the manifest the registry holds.
    let manifest = skopeo_raw(&format!("docker://{reference}")).unwrap();
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.wasm.config.v0+json"
    );
    assert_eq!(manifest["layers"][0]["mediaType"], "application/wasm");
    let bytes = std::fs::read(&artifact).unwrap();
    assert_eq!(
        manifest["layers"][0]["digest"].as_str().unwrap(),
        sha256(&bytes)
    );
    let annotations = &manifest["annotations"];
    assert_eq!(
        annotations["org.opencontainers.image.title"],
        "pub-registry"
    );
    assert_eq!(annotations["org.opencontainers.image.version"], "0.1.0");
    assert_eq!(
        annotations["org.opencontainers.image.created"],
        "2023-11-14T22:13:20Z"
    );
    for layer in [
        "function",
        "policy",
        "decorator",
        "http-adapter",
        "policy-document",
    ] {
        let value = annotations[format!("dev.faas.{layer}.digest")]
            .as_str()
            .unwrap_or("");
        assert!(
            value.starts_with("sha256:"),
            "no digest annotation for {layer}: {manifest}"
        );
    }

    // Through the crates: faas pull gets the wrapped file back byte for byte.
    let out = dir.join("pulled.wasm");
    success(&faas(
        &dir,
        &[
            "pull",
            &reference,
            "--key",
            "faas.pub",
            "-o",
            out.to_str().unwrap(),
        ],
    ));
    assert!(
        std::fs::read(&out).unwrap() == bytes,
        "pulled layer differs from the wrapped file"
    );

    // The same artifact again uploads no blob, and the manifest digest is reproducible.
    let uploads = registry.blob_uploads();
    let again = publish_json(&dir, &[&reference, "--key", "faas.key"]);
    assert_eq!(again["uploaded"].as_array().unwrap().len(), 0, "{again}");
    assert_eq!(again["manifest_digest"].as_str().unwrap(), digest);
    assert_eq!(
        registry.blob_uploads(),
        uploads,
        "the registry saw new uploads"
    );
}

#[test]
fn signatures_verify_with_faas_and_with_openssl() {
    let registry = Registry::start();
    let (_tmp, dir, _artifact) = wrapped_function("pub-sign");
    keygen(&dir);
    let reference = format!("{}/team/pub-sign:1.0.0", registry.addr);
    let record = publish_json(&dir, &[&reference, "--key", "faas.key"]);
    let digest = record["manifest_digest"].as_str().unwrap();
    let verified = success(&faas(&dir, &["verify", &reference, "--key", "faas.pub"]));
    assert!(verified.contains(digest));

    // cosign's layout: a manifest tagged sha256-<hex>.sig whose layer is the payload.
    let sig_tag = digest.replace(':', "-") + ".sig";
    let sig_manifest = skopeo_raw(&format!(
        "docker://{}/team/pub-sign:{sig_tag}",
        registry.addr
    ))
    .unwrap();
    let layer = &sig_manifest["layers"][0];
    assert_eq!(
        layer["mediaType"],
        "application/vnd.dev.cosign.simplesigning.v1+json"
    );
    let signature = layer["annotations"]["dev.cosignproject.cosign/signature"]
        .as_str()
        .unwrap();
    let payload = http(
        &registry.addr,
        "GET",
        &format!(
            "/v2/team/pub-sign/blobs/{}",
            layer["digest"].as_str().unwrap()
        ),
        &[],
        b"",
    );
    assert_eq!(payload.status, 200);
    let parsed: serde_json::Value = serde_json::from_slice(&payload.body).unwrap();
    assert_eq!(
        parsed["critical"]["image"]["docker-manifest-digest"],
        digest
    );

    assert!(openssl_verifies(&dir, "faas.pub", &payload.body, signature));

    // Another key does not verify it.
    success(&faas(
        &dir,
        &["keygen", "--key", "other.key", "--pub", "other.pub"],
    ));
    let err = failure(
        &faas(&dir, &["verify", &reference, "--key", "other.pub"]),
        1,
    );
    assert!(err.contains("does not verify with this key"), "{err}");
}

#[test]
fn the_default_target_is_a_layout_folder_that_skopeo_reads() {
    let (_tmp, dir, artifact) = wrapped_function("pub-layout");
    keygen(&dir);
    let record = publish_json(&dir, &["--key", "faas.key"]);
    let layout = dir.join("target/faas/oci");
    for file in ["oci-layout", "index.json"] {
        assert!(layout.join(file).is_file(), "{file} missing");
    }
    let manifest = skopeo_raw(&format!("oci:{}:0.1.0", layout.display())).unwrap();
    assert_eq!(
        manifest["layers"][0]["digest"].as_str().unwrap(),
        sha256(&std::fs::read(&artifact).unwrap())
    );
    let reference = format!("oci:{}:0.1.0", layout.display());
    success(&faas(&dir, &["verify", &reference, "--key", "faas.pub"]));
    let digest = record["manifest_digest"].as_str().unwrap();
    success(&faas(
        &dir,
        &[
            "verify",
            &format!("oci:{}@{digest}", layout.display()),
            "--key",
            "faas.pub",
        ],
    ));
}

#[test]
fn tampering_after_signing_is_detected() {
    let (_tmp, dir, _artifact) = wrapped_function("pub-tamper");
    keygen(&dir);
    let layout = dir.join("target/faas/oci");
    let a = publish_json(&dir, &["--key", "faas.key", "--tag", "a"]);
    // A second, different artifact signed under tag b.
    let policy = policy_fixture("full.toml");
    success(&faas(
        &dir,
        &["wrap", "--policy", policy.to_str().unwrap(), "-o", "b.wasm"],
    ));
    let b = publish_json(
        &dir,
        &["--artifact", "b.wasm", "--key", "faas.key", "--tag", "b"],
    );
    let reference_a = format!("oci:{}:a", layout.display());

    // A signature made for another digest: point a's signature tag at b's signature manifest.
    let index_path = layout.join("index.json");
    let original_index = std::fs::read_to_string(&index_path).unwrap();
    let mut index: serde_json::Value = serde_json::from_str(&original_index).unwrap();
    let tag_of =
        |d: &serde_json::Value| d["manifest_digest"].as_str().unwrap().replace(':', "-") + ".sig";
    let (tag_a, tag_b) = (tag_of(&a), tag_of(&b));
    let manifests = index["manifests"].as_array().unwrap().clone();
    let b_sig = manifests
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag_b.as_str())
        .unwrap()
        .clone();
    for m in index["manifests"].as_array_mut().unwrap() {
        if m["annotations"]["org.opencontainers.image.ref.name"] == tag_a.as_str() {
            m["digest"] = b_sig["digest"].clone();
            m["size"] = b_sig["size"].clone();
        }
    }
    std::fs::write(&index_path, serde_json::to_string(&index).unwrap()).unwrap();
    let err = failure(
        &faas(&dir, &["verify", &reference_a, "--key", "faas.pub"]),
        1,
    );
    assert!(err.contains("the signature is for sha256:"), "{err}");
    std::fs::write(&index_path, &original_index).unwrap();
    success(&faas(&dir, &["verify", &reference_a, "--key", "faas.pub"]));

    // The layer changed in place after signing.
    let layer = a["layer_digest"]
        .as_str()
        .unwrap()
        .strip_prefix("sha256:")
        .unwrap()
        .to_string();
    let layer_path = layout.join("blobs/sha256").join(layer);
    let mut bytes = std::fs::read(&layer_path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&layer_path, bytes).unwrap();
    let err = failure(
        &faas(&dir, &["verify", &reference_a, "--key", "faas.pub"]),
        1,
    );
    assert!(err.contains("does not match its content"), "{err}");
    let err = failure(&faas(&dir, &["pull", &reference_a, "-o", "x.wasm"]), 1);
    assert!(err.contains("does not match its content"), "{err}");
    assert!(!dir.join("x.wasm").exists());

    // The tag moved to an unsigned manifest (its manifest changed after signing).
    success(&faas(
        &dir,
        &["publish", "--artifact", "b.wasm", "--tag", "a"],
    ));
    let err = failure(
        &faas(&dir, &["verify", &reference_a, "--key", "faas.pub"]),
        1,
    );
    assert!(err.contains("no signature found"), "{err}");
}

#[test]
fn registry_credentials_are_required_and_checked() {
    let registry = Registry::start_with_auth("ci", "right-password");
    let (_tmp, dir, _artifact) = wrapped_function("pub-auth");
    let reference = format!("{}/team/pub-auth:0.1.0", registry.addr);
    let wrong = faas_command(&dir, &["publish", &reference, "--username", "ci"])
        .env("FAAS_REGISTRY_PASSWORD", "wrong-password")
        .output()
        .unwrap();
    let err = failure(&wrong, 1);
    assert!(err.contains("refused the credentials"), "{err}");
    let anonymous = failure(&faas(&dir, &["publish", &reference]), 1);
    assert!(anonymous.contains("refused the credentials"), "{anonymous}");
    let right = faas_command(&dir, &["publish", &reference, "--username", "ci"])
        .env("FAAS_REGISTRY_PASSWORD", "right-password")
        .output()
        .unwrap();
    success(&right);
}

#[test]
fn publish_failures_are_clear_and_leave_no_tag() {
    let (_tmp, dir, _artifact) = wrapped_function("pub-faults");
    // Unreachable registry.
    let nowhere = format!("127.0.0.1:{}/team/x:1.0.0", free_port());
    let err = failure(&faas(&dir, &["publish", &nowhere]), 1);
    assert!(err.contains("cannot reach the registry"), "{err}");
    // References that do not parse, and `latest`.
    for bad in [
        "no-host",
        "Registry.example.com/Team:1",
        "r.example.com/a:b@sha256:00",
    ] {
        let err = failure(&faas(&dir, &["publish", bad]), 1);
        assert!(err.contains("invalid reference"), "{bad}: {err}");
    }
    let err = failure(&faas(&dir, &["publish", "--tag", "latest"]), 1);
    assert!(err.contains("refusing the tag `latest`"), "{err}");
    // Key files that are not keys, and encrypted keys with the wrong password.
    std::fs::write(dir.join("junk.key"), "not a key").unwrap();
    let err = failure(&faas(&dir, &["publish", "--key", "junk.key"]), 1);
    assert!(err.contains("junk.key: not a private key"), "{err}");
    let made = faas_command(&dir, &["keygen", "--key", "enc.key", "--pub", "enc.pub"])
        .env("FAAS_KEY_PASSWORD", "correct horse")
        .output()
        .unwrap();
    success(&made);
    let wrong = faas_command(&dir, &["publish", "--key", "enc.key"])
        .env("FAAS_KEY_PASSWORD", "battery staple")
        .output()
        .unwrap();
    assert!(failure(&wrong, 1).contains("wrong password"));
    let right = faas_command(&dir, &["publish", "--key", "enc.key"])
        .env("FAAS_KEY_PASSWORD", "correct horse")
        .output()
        .unwrap();
    success(&right);
}

#[test]
fn transient_registry_failures_are_retried_and_permanent_ones_leave_no_tag() {
    let registry = Registry::start();
    let (_tmp, dir, _artifact) = wrapped_function("pub-retry");
    // The first blob upload fails once with 503: the retry succeeds.
    let flaky = FaultProxy::start(
        &registry.addr,
        |line| line.starts_with("POST ") && line.contains("/blobs/uploads/"),
        1,
    );
    let reference = format!("{}/team/pub-retry:0.1.0", flaky.addr);
    let out = faas(&dir, &["publish", &reference]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    success(&out);
    assert_eq!(flaky.failed.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(stderr.contains("Retrying"), "{stderr}");

    // Every manifest upload fails: publish fails, and no tag points at the uploaded blobs.
    let broken = FaultProxy::start(
        &registry.addr,
        |line| line.starts_with("PUT ") && line.contains("/manifests/"),
        usize::MAX,
    );
    let reference = format!("{}/team/pub-broken:0.1.0", broken.addr);
    let err = failure(&faas(&dir, &["publish", &reference]), 1);
    assert!(err.contains("uploading the manifest"), "{err}");
    assert!(broken.failed.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    let direct = skopeo_raw(&format!("docker://{}/team/pub-broken:0.1.0", registry.addr));
    assert!(
        direct.is_err(),
        "a tag exists after a failed publish: {direct:?}"
    );
}

#[test]
fn republishing_from_the_same_commit_gives_the_same_manifest_without_source_date_epoch() {
    let registry = Registry::start();
    let (_tmp, dir, _artifact) = wrapped_function("pub-commit-time");
    keygen(&dir);
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .current_dir(&dir)
            .args(args)
            .env("GIT_AUTHOR_NAME", "test")
            .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
            .env("GIT_COMMITTER_NAME", "test")
            .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
            .env("GIT_AUTHOR_DATE", "2024-05-01T12:00:00Z")
            .env("GIT_COMMITTER_DATE", "2024-05-01T12:00:00Z")
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
    };
    git(&["init", "--quiet"]);
    git(&["add", "faas.toml", "auth.toml", "src", "Cargo.toml"]);
    git(&["commit", "--quiet", "-m", "the function"]);
    let reference = format!("{}/team/pub-commit-time:0.1.0", registry.addr);
    let publish = || {
        let out = faas_command(
            &dir,
            &["publish", &reference, "--key", "faas.key", "--json"],
        )
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .unwrap();
        serde_json::from_str::<serde_json::Value>(&success(&out)).unwrap()
    };
    let first = publish();
    assert_eq!(
        first["annotations"]["org.opencontainers.image.created"], "2024-05-01T12:00:00Z",
        "{first}"
    );
    // A second later "now" would differ; the commit time does not.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let uploads = registry.blob_uploads();
    let again = publish();
    assert_eq!(again["manifest_digest"], first["manifest_digest"]);
    assert_eq!(again["uploaded"].as_array().unwrap().len(), 0, "{again}");
    assert_eq!(
        registry.blob_uploads(),
        uploads,
        "the registry saw new uploads"
    );
    // The signature over the same digest is the same signature (ECDSA with RFC 6979 nonces).
    assert_eq!(
        again["signature"]["signature"],
        first["signature"]["signature"]
    );
    // And so are the attestations: the same SBOM and provenance envelopes.
    assert!(first["attestations"]["attestations"].is_array(), "{first}");
    assert_eq!(again["attestations"], first["attestations"]);
}
