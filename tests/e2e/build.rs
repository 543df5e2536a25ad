use crate::common::*;

#[test]
fn new_then_build_gives_a_component_exporting_the_handler() {
    let (_tmp, dir) = new_function("build-ok");
    let out = success(&faas(&dir, &["build", "--json"]));
    let built: serde_json::Value = serde_json::from_str(&out).expect("one JSON object on stdout");
    let path = dir.join("target/faas/build-ok.function.wasm");
    assert_eq!(built["path"].as_str().unwrap(), path.to_str().unwrap());
    let bytes = std::fs::read(&path).unwrap();
    assert!(wasmparser::Parser::is_component(&bytes));
    assert_eq!(built["size"].as_u64().unwrap(), bytes.len() as u64);
    assert_eq!(built["digest"].as_str().unwrap(), sha256(&bytes));
    assert_eq!(
        component_export_names(&bytes),
        vec!["faas:function/handler@0.1.0".to_string()]
    );

    // From a sub-folder, faas.toml is found upwards; human output names path and digest.
    let out = success(&faas(&dir.join("src"), &["build"]));
    assert!(out.contains("build-ok.function.wasm"), "{out}");
    assert!(
        out.contains(&sha256(&std::fs::read(&path).unwrap())),
        "{out}"
    );
}

#[test]
fn build_outside_a_function_folder_says_how_to_make_one() {
    let tmp = tempfile::tempdir().unwrap();
    let err = failure(&faas(tmp.path(), &["build"]), 1);
    assert!(err.contains("no faas.toml found"), "{err}");
    assert!(err.contains("faas new"), "{err}");
    assert_eq!(err.lines().count(), 1, "one-line error expected: {err}");
}

#[test]
fn build_with_a_toolchain_lacking_the_target_names_the_install_command() {
    let (tmp, dir) = new_function("no-target");
    // A real rustc pointed at an empty sysroot: the toolchain has no wasm32-wasip2 standard library.
    let sysroot = tmp.path().join("empty-sysroot");
    std::fs::create_dir(&sysroot).unwrap();
    let wrapper = tmp.path().join("rustc-without-targets");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec rustc --sysroot '{}' \"$@\"\n",
            sysroot.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = faas_command(&dir, &["build"])
        .env("RUSTC", &wrapper)
        .output()
        .unwrap();
    let err = failure(&out, 1);
    assert!(err.contains("rustup target add wasm32-wasip2"), "{err}");
    assert!(!dir.join("target/faas/no-target.function.wasm").exists());
}

#[test]
fn compile_error_shows_cargo_output_and_passes_its_status_on() {
    let (_tmp, dir) = new_function("does-not-compile");
    // A previous good build must not survive a failed one looking fresh.
    success(&faas(&dir, &["build"]));
    let output = dir.join("target/faas/does-not-compile.function.wasm");
    assert!(output.exists());
    std::fs::copy(
        fixtures().join("rust-compile-error/lib.rs"),
        dir.join("src/lib.rs"),
    )
    .unwrap();
    let err = failure(&faas(&dir, &["build"]), 101);
    assert!(
        err.contains("error[E0308]"),
        "cargo's diagnostic missing: {err}"
    );
    assert!(err.contains("cargo build failed"), "{err}");
    assert!(!output.exists(), "stale output left behind");
    // For machines: one JSON error document, with where the first error is.
    let out = faas(&dir, &["build", "--json"]);
    assert_eq!(out.status.code(), Some(101));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["ok"], false, "{doc}");
    let error = &doc["error"];
    assert_eq!(error["file"], "src/lib.rs", "{doc}");
    assert_eq!(error["line"], 11, "{doc}");
    assert_eq!(error["exit_code"], 101, "{doc}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("src/lib.rs:11:"),
        "{doc}"
    );
}

#[test]
fn build_component_adopts_a_core_module_with_metadata() {
    let tmp = tempfile::tempdir().unwrap();
    let input = fixtures().join("wasm/core-with-metadata.wasm");
    let out_path = tmp.path().join("byo.function.wasm");
    let out = success(&faas(
        tmp.path(),
        &[
            "build",
            "--component",
            input.to_str().unwrap(),
            "-o",
            out_path.to_str().unwrap(),
            "--json",
        ],
    ));
    let built: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(built["origin"], "core-module");
    let bytes = std::fs::read(&out_path).unwrap();
    assert!(wasmparser::Parser::is_component(&bytes));
    assert!(component_export_names(&bytes).contains(&"faas:function/handler@0.1.0".to_string()));
}

#[test]
fn build_component_refuses_bad_inputs_and_writes_nothing() {
    let cases = [
        ("not-wasm.wasm", "not a WebAssembly file"),
        ("truncated.wasm", "truncated"),
        (
            "core-without-metadata.wasm",
            "without component-type metadata",
        ),
        (
            "wrong-export.wasm",
            "does not export faas:function/handler@0.1.0; it exports acme:other/api@1.0.0",
        ),
        (
            "incompatible-contract.wasm",
            "faas:function/handler@0.2.0, which is not compatible",
        ),
        (
            "wrong-signature.wasm",
            "#handle has the type func(req: string)",
        ),
    ];
    for (file, expected) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let input = fixtures().join("wasm").join(file);
        let out_path = tmp.path().join("out.wasm");
        let err = failure(
            &faas(
                tmp.path(),
                &[
                    "build",
                    "--component",
                    input.to_str().unwrap(),
                    "-o",
                    out_path.to_str().unwrap(),
                ],
            ),
            1,
        );
        assert!(err.contains(expected), "{file}: {err}");
        assert!(
            err.contains(file),
            "{file}: the error must name the file: {err}"
        );
        assert!(
            !out_path.exists(),
            "{file}: output written despite the error"
        );
    }
}
