use crate::common::*;

#[test]
fn the_pipeline_publishes_to_a_registry_and_reports_every_stage() {
    let registry = Registry::start();
    let (_tmp, dir) = new_function("pipelined");
    success(&faas(
        &dir,
        &["keygen", "--key", "faas.key", "--pub", "faas.pub"],
    ));
    let reference = format!("{}/team/pipelined", registry.addr);
    let out = faas_command(&dir, &["pipeline", "--json", "--target", "wasi-http"])
        .env("FAAS_REGISTRY", &reference)
        .env("FAAS_KEY", "faas.key")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = success(&out);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["exit_code"], 0);
    assert_eq!(
        names_in(&report, "stages", "stage"),
        ["build", "wrap", "validate", "test", "publish", "verify"]
    );
    for stage in report["stages"].as_array().unwrap() {
        assert_eq!(stage["status"], "ok", "{stage}");
        assert!(stage["duration_ms"].as_f64().unwrap() >= 0.0);
    }
    let publish = &report["stages"][4]["outputs"];
    let digest = publish["manifest_digest"].as_str().unwrap();
    assert_eq!(
        publish["reference"].as_str().unwrap(),
        format!("{reference}@{digest}")
    );
    assert_eq!(report["stages"][5]["outputs"]["manifest_digest"], digest);
    // Signing attests: the report names the attestations, and verify checked them; the
    // provenance records the target the pipeline validated against.
    let attested = &publish["attestations"];
    assert_eq!(
        names_in(attested, "attestations", "predicate_type"),
        [
            "https://cyclonedx.org/bom",
            "https://slsa.dev/provenance/v1"
        ]
    );
    let checked = &report["stages"][5]["outputs"]["attestations"];
    assert_eq!(
        checked["sbom"]["digest"],
        attested["attestations"][0]["digest"]
    );
    assert_eq!(checked["provenance"]["parameters"]["target"], "wasi-http");
    let wrapped = std::fs::read(dir.join("target/faas/pipelined.wasm")).unwrap();
    assert_eq!(publish["layer_digest"].as_str().unwrap(), sha256(&wrapped));
    // The registry really has it, tagged with the version from faas.toml.
    assert!(skopeo_raw(&format!("docker://{reference}:0.1.0")).is_ok());
    // People get one line per stage on stderr, without colour under NO_COLOR.
    let stderr = String::from_utf8_lossy(&out.stderr);
    for stage in [
        "build ok",
        "wrap ok",
        "validate ok",
        "test ok",
        "publish ok",
        "verify ok",
    ] {
        assert!(stderr.contains(stage), "{stage}: {stderr}");
    }
    assert!(
        !stderr.contains('\x1b'),
        "colour codes under NO_COLOR: {stderr}"
    );
}

/// Runs the pipeline (JSON) and returns the exit code and the report.
fn pipeline(dir: &std::path::Path, args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = vec!["pipeline", "--json"];
    all.extend_from_slice(args);
    let out = faas(dir, &all);
    let report = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap(), report)
}

#[test]
fn each_kind_of_failure_has_its_exit_code() {
    let (_tmp, dir) = new_function("pipeline-faults");
    success(&faas(
        &dir,
        &["keygen", "--key", "faas.key", "--pub", "faas.pub"],
    ));
    success(&faas(
        &dir,
        &["keygen", "--key", "other.key", "--pub", "other.pub"],
    ));

    // Inputs are checked before any stage, each with its reason, as one JSON error document:
    // a reference that does not parse, no key (unsigned only by name), a key that is not there.
    for (args, expected) in [
        (
            &["--registry", "not a reference", "--key", "faas.key"][..],
            "not a reference",
        ),
        (&[][..], "no signing key: give --key FILE"),
        (&["--key", "absent.key"][..], "absent.key"),
    ] {
        let (code, report) = pipeline(&dir, args);
        assert_eq!(code, 1, "{args:?}: {report}");
        assert_eq!(report["ok"], false, "{args:?}: {report}");
        let message = report["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{args:?}: {report}");
        assert!(!dir.join("target/faas").exists(), "{args:?}: a stage ran");
    }
    // A value clap refuses is a usage error, and the help lists the targets.
    let out = faas(&dir, &["pipeline", "--target", "spin"]);
    assert_eq!(out.status.code(), Some(2));
    let help = success(&faas(&dir, &["wrap", "--help"]));
    for target in [
        "wasi-http",
        "wasmcloud",
        "wash-runtime",
        "wasi-http@0.3",
        "wasmcloud@0.3",
    ] {
        assert!(help.contains(target), "{target}: {help}");
    }

    // verify: the signature does not verify with the given public key
    let (code, report) = pipeline(&dir, &["--key", "faas.key", "--public-key", "other.pub"]);
    assert_eq!(code, 14, "{report}");
    assert_eq!(report["stages"][5]["status"], "failed");

    // publish: unreachable registry
    let nowhere = format!("127.0.0.1:{}/team/x", free_port());
    let (code, report) = pipeline(&dir, &["--registry", &nowhere, "--unsigned"]);
    assert_eq!(code, 13, "{report}");
    assert_eq!(report["stages"].as_array().unwrap().len(), 5);

    // validation: the artifact does not fit the target (a CLI trigger on wasi-http)
    let manifest = std::fs::read_to_string(dir.join("faas.toml")).unwrap();
    std::fs::write(
        dir.join("faas.toml"),
        manifest.replace("triggers = [\"http\"]", "triggers = [\"http\", \"cli\"]"),
    )
    .unwrap();
    let (code, report) = pipeline(&dir, &["--target", "wasi-http", "--key", "faas.key"]);
    assert_eq!(code, 12, "{report}");
    assert!(
        report["stages"][2]["message"]
            .as_str()
            .unwrap()
            .contains("wasi:cli/run")
    );
    std::fs::write(dir.join("faas.toml"), &manifest).unwrap();

    // policy: an invalid policy stops the pipeline at wrap
    let policy = policy_fixture("unknown-key.toml");
    let (code, report) = pipeline(
        &dir,
        &["--policy", policy.to_str().unwrap(), "--key", "faas.key"],
    );
    assert_eq!(code, 11, "{report}");
    assert_eq!(report["stages"][1]["stage"], "wrap");
    assert_eq!(report["stages"][1]["status"], "failed");

    // build: the function does not compile; nothing after build runs
    std::fs::copy(
        fixtures().join("rust-compile-error/lib.rs"),
        dir.join("src/lib.rs"),
    )
    .unwrap();
    let (code, report) = pipeline(&dir, &["--key", "faas.key"]);
    assert_eq!(code, 10, "{report}");
    assert_eq!(report["stages"].as_array().unwrap().len(), 1);
}
