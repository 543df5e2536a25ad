use crate::common::*;

#[test]
fn new_writes_a_project_with_the_contract_and_a_fresh_sample_key() {
    let tmp = tempfile::tempdir().unwrap();
    let out = success(&faas(tmp.path(), &["new", "greeter", "--json"]));
    let created: serde_json::Value = serde_json::from_str(&out).unwrap();
    let dir = tmp.path().join("greeter");
    for file in [
        "Cargo.toml",
        "src/lib.rs",
        "wit/function.wit",
        "faas.toml",
        "auth.toml",
        "README.md",
    ] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    let key = created["sample_key"].as_str().unwrap();
    let auth = std::fs::read_to_string(dir.join("auth.toml")).unwrap();
    assert!(
        auth.contains(&sha256(key.as_bytes())),
        "auth.toml lacks the key's digest"
    );
    // The generated project depends on nothing in this repository.
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(!manifest.contains("path ="), "{manifest}");

    let again = tempfile::tempdir().unwrap();
    let other: serde_json::Value =
        serde_json::from_str(&success(&faas(again.path(), &["new", "greeter", "--json"]))).unwrap();
    assert_ne!(
        other["sample_key"], created["sample_key"],
        "sample keys must differ"
    );
}

#[test]
fn new_refuses_a_non_empty_folder_and_leaves_it_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("taken");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    let err = failure(&faas(tmp.path(), &["new", "taken"]), 1);
    assert!(err.contains("already exists and is not empty"), "{err}");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "mine"
    );
    // No staging folder is left behind either.
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
}

#[test]
fn new_rejects_an_invalid_name_as_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let err = failure(&faas(tmp.path(), &["new", "Bad_Name"]), 2);
    assert!(err.contains("invalid function name"), "{err}");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn help_shows_examples_and_version_is_printed() {
    let tmp = tempfile::tempdir().unwrap();
    let top = success(&faas(tmp.path(), &["--help"]));
    assert!(top.contains("Example"), "{top}");
    for command in ["new", "build", "validate"] {
        let help = success(&faas(tmp.path(), &[command, "--help"]));
        assert!(
            help.contains("Example"),
            "`faas {command} --help` has no example:\n{help}"
        );
    }
    // The release first; the commit and date it was built from follow (edges.rs).
    let version = success(&faas(tmp.path(), &["--version"]));
    assert!(
        version.starts_with(&format!("faas {} (", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
}
