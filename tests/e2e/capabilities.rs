use crate::common::*;

#[test]
fn a_function_importing_sockets_is_refused_unless_the_policy_allows_it() {
    let (_tmp, dir) = new_function("uses-sockets");
    use_function_fixture(&dir, "uses-sockets.rs");
    let built: serde_json::Value =
        serde_json::from_str(&success(&faas(&dir, &["build", "--json"]))).unwrap();
    assert!(
        built["imports"].to_string().contains("wasi:sockets/"),
        "{built}"
    );

    let without_table = policy_fixture("full.toml");
    let err = failure(
        &faas(&dir, &["wrap", "--policy", without_table.to_str().unwrap()]),
        1,
    );
    assert!(err.contains("the function imports wasi:sockets/"), "{err}");
    assert!(err.contains("no [capabilities] table"), "{err}");

    let other_grant = policy_fixture("capabilities-without-sockets.toml");
    let err = failure(
        &faas(&dir, &["wrap", "--policy", other_grant.to_str().unwrap()]),
        1,
    );
    assert!(
        err.contains("capabilities-without-sockets.toml:3:1, [capabilities]"),
        "{err}"
    );
    assert!(!dir.join("target/faas/uses-sockets.wasm").exists());

    let granted = policy_fixture("sockets-allowed.toml");
    let out = success(&faas(
        &dir,
        &["wrap", "--policy", granted.to_str().unwrap(), "--json"],
    ));
    let wrapped: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        wrapped["imports"].to_string().contains("wasi:sockets/"),
        "{wrapped}"
    );
}

#[test]
fn imports_the_standard_library_adds_are_denied_inside_the_artifact() {
    let (_tmp, dir) = built_function("ambient");
    let built = success(&faas(
        &dir,
        &["validate", "target/faas/ambient.function.wasm", "--json"],
    ));
    assert!(
        built.contains("wasi:cli/environment"),
        "the template no longer imports it: {built}"
    );
    let out = success(&faas(&dir, &["wrap", "--json"]));
    let wrapped: serde_json::Value = serde_json::from_str(&out).unwrap();
    let imports: Vec<&str> = wrapped["imports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap())
        .collect();
    for import in &imports {
        let interface = import.split('@').next().unwrap();
        assert!(
            [
                "wasi:io/poll",
                "wasi:io/error",
                "wasi:io/streams",
                "wasi:cli/stdout",
                "wasi:cli/stderr",
                "wasi:http/types",
                "wasi:clocks/monotonic-clock",
                "wasi:clocks/wall-clock",
                "wasi:random/random",
                "wasi:random/insecure",
                "wasi:random/insecure-seed"
            ]
            .contains(&interface),
            "the artifact imports {import}, outside what wasi:http/proxy supplies"
        );
    }
    // The policy layer answers the denied ones: no deny layer of their own.
    let layers = wrapped["layers"].to_string();
    assert!(
        layers.contains("\"policy\"") && !layers.contains("function-deny"),
        "{layers}"
    );
}
