use crate::common::*;

#[test]
fn wrap_writes_a_valid_artifact_exporting_the_http_handler() {
    let (_tmp, dir) = built_function("wrap-ok");
    let out = success(&faas(&dir, &["wrap", "--json"]));
    let wrapped: serde_json::Value = serde_json::from_str(&out).unwrap();
    let path = dir.join("target/faas/wrap-ok.wasm");
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(wrapped["path"].as_str().unwrap(), path.to_str().unwrap());
    assert_eq!(wrapped["digest"].as_str().unwrap(), sha256(&bytes));
    assert_eq!(wrapped["size"].as_u64().unwrap(), bytes.len() as u64);

    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&bytes)
        .expect("the artifact validates");
    assert_eq!(
        component_export_names(&bytes),
        vec!["wasi:http/incoming-handler@0.2.12".to_string()]
    );
    assert_eq!(
        names_in(&wrapped, "layers", "layer"),
        ["function", "policy", "decorator", "http-adapter"]
    );
    // The JWT layer (most of the decorator's cryptography) is only there for JWT policies, so an
    // API-key artifact stays small.
    assert!(
        wrapped["size"].as_u64().unwrap() < 400_000,
        "API-key artifact of {} bytes",
        wrapped["size"]
    );
    let function = std::fs::read(dir.join("target/faas/wrap-ok.function.wasm")).unwrap();
    assert_eq!(
        wrapped["layers"][0]["digest"].as_str().unwrap(),
        sha256(&function)
    );
    // Only the host's interfaces are left to import: everything of ours is inside.
    for import in wrapped["imports"].as_array().unwrap() {
        assert!(import.as_str().unwrap().starts_with("wasi:"), "{import}");
    }
}

#[test]
fn wrapping_twice_gives_identical_bytes() {
    let (_tmp, dir) = built_function("wrap-twice");
    let policy = policy_fixture("full.toml");
    let policy = policy.to_str().unwrap();
    success(&faas(&dir, &["wrap", "--policy", policy, "-o", "one.wasm"]));
    success(&faas(&dir, &["wrap", "--policy", policy, "-o", "two.wasm"]));
    let one = std::fs::read(dir.join("one.wasm")).unwrap();
    let two = std::fs::read(dir.join("two.wasm")).unwrap();
    assert!(one == two, "two wraps of the same inputs differ");
    // A different policy gives a different artifact.
    let other = policy_fixture("x-api-key.toml");
    success(&faas(
        &dir,
        &[
            "wrap",
            "--policy",
            other.to_str().unwrap(),
            "-o",
            "three.wasm",
        ],
    ));
    assert!(one != std::fs::read(dir.join("three.wasm")).unwrap());
}

#[test]
fn no_plaintext_key_reaches_the_artifact() {
    let (_tmp, dir) = built_function("wrap-secrets");
    let policy = policy_fixture("full.toml");
    wrap_with(&dir, &policy, "app.wasm", &[]);
    let bytes = std::fs::read(dir.join("app.wasm")).unwrap();
    for key in ["test-reader-key", "test-admin-key", "test-noscope-key"] {
        assert!(
            !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
            "{key} found in the artifact"
        );
    }
    // The sample key of the scaffolded project is not in the default artifact either.
    success(&faas(&dir, &["wrap"]));
    let sample = sample_key(&dir);
    let bytes = std::fs::read(dir.join("target/faas/wrap-secrets.wasm")).unwrap();
    assert!(!bytes.windows(sample.len()).any(|w| w == sample.as_bytes()));
}

#[test]
fn bad_policies_are_located_and_leave_no_artifact() {
    let (_tmp, dir) = built_function("wrap-bad-policy");
    let output = dir.join("target/faas/wrap-bad-policy.wasm");
    let cases = [
        (
            "unknown-key.toml",
            "unknown-key.toml:10:1: unknown field `pubic`",
        ),
        (
            "plaintext-key.toml",
            "plaintext-key.toml:5:10: this looks like a plaintext key",
        ),
        ("malformed.toml", "malformed.toml:3:8: "),
        (
            "never-matches.toml",
            "never-matches.toml:12:1: this rule can never match",
        ),
        ("does-not-exist.toml", "cannot read the policy"),
    ];
    success(&faas(&dir, &["wrap"]));
    let good = std::fs::read(&output).unwrap();
    for (file, expected) in cases {
        let policy = policy_fixture(file);
        let err = failure(
            &faas(&dir, &["wrap", "--policy", policy.to_str().unwrap()]),
            1,
        );
        assert!(err.contains(expected), "{file}: {err}");
        let errors: Vec<_> = err.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{file}: one error line expected: {err}");
        // The last good artifact stays, untouched (a typo must not take it away).
        assert_eq!(
            std::fs::read(&output).unwrap(),
            good,
            "{file}: the last good artifact changed"
        );
    }
}

#[test]
fn wrap_before_build_says_to_build() {
    let (_tmp, dir) = new_function("wrap-unbuilt");
    let err = failure(&faas(&dir, &["wrap"]), 1);
    assert!(err.contains("run `faas build` first"), "{err}");
}

#[test]
fn wrap_refuses_a_function_that_is_not_one() {
    let tmp = tempfile::tempdir().unwrap();
    let policy = policy_fixture("full.toml");
    let cases = [
        (
            "wrong-export.wasm",
            "wrong-export.wasm: the component does not export faas:function/handler@0.1.0",
        ),
        (
            "incompatible-contract.wasm",
            "incompatible-contract.wasm: the component exports faas:function/handler@0.2.0, which is not compatible",
        ),
    ];
    for (file, expected) in cases {
        let function = fixtures().join("wasm").join(file);
        let err = failure(
            &faas(
                tmp.path(),
                &[
                    "wrap",
                    "--function",
                    function.to_str().unwrap(),
                    "--policy",
                    policy.to_str().unwrap(),
                    "-o",
                    "out.wasm",
                ],
            ),
            1,
        );
        assert!(err.contains(expected), "{file}: {err}");
        assert!(!tmp.path().join("out.wasm").exists());
    }
}

#[test]
fn hash_key_prints_the_digest_the_policy_needs() {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = faas_command(tmp.path(), &["policy", "hash-key"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"test-reader-key\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let printed = success(&out);
    assert_eq!(printed.trim(), sha256(b"test-reader-key"));
    let full = std::fs::read_to_string(policy_fixture("full.toml")).unwrap();
    assert!(full.contains(printed.trim()));
}
