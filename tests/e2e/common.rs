//! Helpers shared by the end-to-end tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository's `fixtures/` folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// One cargo target folder for every function the tests compile, so the guest dependencies
/// (wit-bindgen, serde) are compiled once, not once per test.
fn shared_function_target_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-functions")
}

/// A `faas` command run in `dir`.
pub fn faas_command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_faas"));
    command
        .current_dir(dir)
        .args(args)
        .env("CARGO_TARGET_DIR", shared_function_target_dir())
        .env_remove("FAAS_PROJECT_DIR");
    command
}

/// Runs `faas` in `dir` and returns its output.
pub fn faas(dir: &Path, args: &[&str]) -> Output {
    faas_command(dir, args).output().expect("faas runs")
}

/// Asserts success and returns stdout.
#[track_caller]
pub fn success(output: &Output) -> String {
    assert!(
        output.status.success(),
        "faas failed with {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Asserts a failure with `code` and returns stderr.
#[track_caller]
pub fn failure(output: &Output, code: i32) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(code),
        "unexpected exit status\nstdout:\n{}\nstderr:\n{stderr}",
        String::from_utf8_lossy(&output.stdout),
    );
    stderr
}

/// Scaffolds a function called `name` in a new temporary folder; returns (tempdir, project dir).
pub fn new_function(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    success(&faas(tmp.path(), &["new", name]));
    let dir = tmp.path().join(name);
    (tmp, dir)
}

/// The names a component exports, read with wasmparser (independently of faas's own decoder).
pub fn component_export_names(bytes: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    let mut depth = 0;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload.unwrap() {
            wasmparser::Payload::ModuleSection { .. }
            | wasmparser::Payload::ComponentSection { .. } => depth += 1,
            wasmparser::Payload::End(_) if depth > 0 => depth -= 1,
            wasmparser::Payload::ComponentExportSection(exports) if depth == 0 => {
                for export in exports {
                    names.push(export.unwrap().name.name.to_string());
                }
            }
            _ => {}
        }
    }
    names
}

/// `sha256:<hex>` of `bytes`, computed here rather than by faas.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}
