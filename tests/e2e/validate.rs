use crate::common::*;

#[test]
fn validate_reports_what_a_bad_file_is_and_exits_non_zero() {
    let cases = [
        ("not-wasm.wasm", "not a WebAssembly file"),
        ("truncated.wasm", "truncated"),
        (
            "core-without-metadata.wasm",
            "without component-type metadata",
        ),
        ("wrong-export.wasm", "it exports acme:other/api@1.0.0"),
        (
            "incompatible-contract.wasm",
            "not compatible with faas:function/handler@0.1.0",
        ),
        (
            "wrong-signature.wasm",
            "but the contract says func(req: record{",
        ),
    ];
    let tmp = tempfile::tempdir().unwrap();
    for (file, expected) in cases {
        let path = fixtures().join("wasm").join(file);
        let output = faas(tmp.path(), &["validate", path.to_str().unwrap(), "--json"]);
        failure(&output, 1);
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(report["valid"], false, "{file}");
        let problems = report["problems"].to_string();
        assert!(problems.contains(expected), "{file}: {problems}");
    }
}

#[test]
fn validate_lists_imports_and_exports_of_a_good_component() {
    let tmp = tempfile::tempdir().unwrap();
    let path = fixtures().join("wasm/core-with-metadata.wasm");
    let out = success(&faas(
        tmp.path(),
        &["validate", path.to_str().unwrap(), "--json"],
    ));
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["valid"], true);
    assert_eq!(report["kind"], "core-module");
    assert_eq!(report["handler"], "faas:function/handler@0.1.0");
    let imports = report["imports"].to_string();
    assert!(
        imports.contains("faas:function/credentials@0.1.0"),
        "{imports}"
    );

    let human = success(&faas(tmp.path(), &["validate", path.to_str().unwrap()]));
    assert!(
        human.contains("contract ok (faas:function/handler@0.1.0)"),
        "{human}"
    );
}
