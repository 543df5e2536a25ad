use crate::common::*;

#[test]
fn a_wrapped_artifact_fits_wasi_http_and_wasmcloud_and_wasm_tools_agrees() {
    let (_tmp, dir, artifact) = wrapped_function("target-ok");
    let path = artifact.to_str().unwrap();
    for target in ["wasi-http", "wasmcloud"] {
        let out = success(&faas(
            &dir,
            &["validate", path, "--target", target, "--json"],
        ));
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(report["valid"], true, "{target}: {report}");
        assert!(
            report["layers"].to_string().contains("decorator"),
            "{report}"
        );
    }
    success(&faas(&dir, &["wrap", "--target", "wasi-http"]));
    let out = success(&faas(&dir, &["inspect", path, "--json"]));
    let inspected: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        inspected["policy"]
            .as_str()
            .unwrap()
            .contains("1 API key(s)"),
        "{inspected}"
    );
    let layers = inspected["layers"].to_string();
    for layer in ["function", "policy", "decorator", "http-adapter"] {
        assert!(
            layers.contains(&format!("\"{layer}\"")),
            "{layer} missing: {layers}"
        );
    }
    assert!(
        inspected["host_imports_by_layer"]["decorator"]
            .to_string()
            .contains("wasi:cli/stderr")
    );
    // Independently: wasm-tools checks the artifact against the wasi:http/proxy world.
    let targets = fixtures().join("../wit/targets");
    let out = std::process::Command::new("wasm-tools")
        .args([
            "component",
            "targets",
            targets.to_str().unwrap(),
            "-w",
            "wasi-http",
            path,
        ])
        .output()
        .expect("wasm-tools is installed by scripts/test");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn target_problems_name_the_layer_the_interface_and_the_fix() {
    // A function with credentials needs wasi:config, which wasi:http/proxy hosts do not supply.
    let (tmp, dir) = new_function("target-config");
    use_function_fixture(&dir, "reads-credentials.rs");
    success(&faas(&dir, &["build"]));
    let policy = tmp.path().join("creds.toml");
    std::fs::write(
        &policy,
        "version = 1\n[credentials]\ndb-password = { config = \"db\" }\n[[rule]]\npath = \"/**\"\npublic = true\n",
    )
    .unwrap();
    let policy = policy.to_str().unwrap();
    let err = failure(
        &faas(&dir, &["wrap", "--policy", policy, "--target", "wasi-http"]),
        1,
    );
    assert!(err.contains("does not fit the wasi-http target"), "{err}");
    assert!(err.contains("the credentials imports wasi:config/store@0.2.0-rc.1, which the wasi-http target does not supply"), "{err}");
    assert!(!dir.join("target/faas/target-config.wasm").exists());
    success(&faas(
        &dir,
        &["wrap", "--policy", policy, "--target", "wasmcloud"],
    ));

    // The same artifact validated the other way round: fine for wasmcloud, not for wasi-http.
    let artifact = "target/faas/target-config.wasm";
    success(&faas(
        &dir,
        &["validate", artifact, "--target", "wasmcloud"],
    ));
    let out = faas(
        &dir,
        &["validate", artifact, "--target", "wasi-http", "--json"],
    );
    failure(&out, 1);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let problems = report["target_problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{report}");
    assert_eq!(problems[0]["layer"], "credentials");
    assert_eq!(problems[0]["interface"], "wasi:config/store@0.2.0-rc.1");

    // A bare function is not an artifact any target can run: every problem is listed at once.
    let out = faas(
        &dir,
        &[
            "validate",
            "target/faas/target-config.function.wasm",
            "--target",
            "wasi-http",
            "--json",
        ],
    );
    failure(&out, 1);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let messages = report["target_problems"].to_string();
    assert!(
        messages.contains(
            "exports faas:function/handler@0.1.0, which the wasi-http target never calls"
        ),
        "{messages}"
    );
    assert!(
        messages.contains("this is a bare function, not a wrapped artifact"),
        "{messages}"
    );

    // A target faas does not know is a usage error, with the ones it knows.
    let err = failure(
        &faas(&dir, &["validate", artifact, "--target", "lambda"]),
        2,
    );
    assert!(
        err.contains("invalid value 'lambda'") && err.contains("wasmcloud@0.3"),
        "{err}"
    );
}
