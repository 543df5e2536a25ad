//! Dependencies: a library component (`fixtures/components/text-lib`, built here, knowing nothing of
//! faas) used by a Rust and a Python function through `faas deps add`, composed into the artifact
//! under its own grants, or left for the platform to link; and the pins that keep it honest.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The library built plain and with its `sockets` feature: (plain, sockets).
fn libraries() -> &'static (PathBuf, PathBuf) {
    static BUILT: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let out = root.join("target/e2e-deps");
        std::fs::create_dir_all(&out).unwrap();
        let build = |features: &[&str], name: &str| {
            let status = std::process::Command::new("cargo")
                .current_dir(root.join("fixtures/components/text-lib"))
                .args([
                    "build",
                    "--release",
                    "--target",
                    "wasm32-wasip2",
                    "--target-dir",
                ])
                .arg(out.join("build"))
                .args(features)
                .status()
                .unwrap();
            assert!(status.success());
            let built = out.join("build/wasm32-wasip2/release/text_lib.wasm");
            let copy = out.join(name);
            std::fs::copy(built, &copy).unwrap();
            copy
        };
        let plain = build(&[], "text.wasm");
        let sockets = build(&["--features", "sockets"], "text-sockets.wasm");
        (plain, sockets)
    })
}

/// A Rust function calling the library, its dependency added from a copy in the project.
fn function_using(name: &str, library: &Path, extra: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let (tmp, dir) = new_function(name);
    use_function_fixture(&dir, "uses-text.rs");
    std::fs::copy(library, dir.join("text.wasm")).unwrap();
    let mut args = vec!["deps", "add", "text.wasm"];
    args.extend_from_slice(extra);
    success(&faas(&dir, &args));
    (tmp, dir)
}

fn shout(addr: &str, dir: &Path) -> serde_json::Value {
    let key = format!("Bearer {}", sample_key(dir));
    let r = http(
        addr,
        "POST",
        "/x",
        &[("authorization", &key)],
        b"hello dependency world",
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}

#[test]
fn a_rust_function_calls_a_library_composed_into_its_artifact_under_both_hosts() {
    let (plain, _) = libraries();
    let (_tmp, dir) = function_using("deps-rust", plain, &[]);
    // Pinned, and imported by the world for the bindings.
    let lock = std::fs::read_to_string(dir.join("faas.lock")).unwrap();
    assert!(
        lock.contains(&sha256(&std::fs::read(plain).unwrap())),
        "{lock}"
    );
    let world = std::fs::read_to_string(dir.join("wit/function.wit")).unwrap();
    assert!(
        world.contains("import faas-test:text/shout@0.1.0; // faas deps: text"),
        "{world}"
    );
    assert!(dir.join("wit/deps/faas-test-text/package.wit").is_file());
    success(&faas(&dir, &["build"]));
    let wrapped = success(&faas(&dir, &["wrap", "--json"]));
    let report: serde_json::Value = serde_json::from_str(&wrapped).unwrap();
    let layers = names_in(&report, "layers", "layer");
    assert!(layers.contains(&"dependency-text"), "{layers:?}");
    // Satisfied inside: the artifact does not import the library's interface.
    let imports = report["imports"].to_string();
    assert!(!imports.contains("faas-test:text"), "{imports}");
    let artifact = dir.join("target/faas/deps-rust.wasm");
    let inspected = success(&faas(&dir, &["inspect", artifact.to_str().unwrap()]));
    assert!(inspected.contains("dependency-text"), "{inspected}");

    let served = Served::start(&dir, &artifact);
    let answer = shout(&served.addr, &dir);
    assert_eq!(answer["shouted"], "HELLO DEPENDENCY WORLD!");
    assert_eq!(answer["words"], 3);
    served.stop();
    let wasmtime = WasmtimeServe::start(&artifact);
    assert_eq!(shout(&wasmtime.addr, &dir)["words"], 3);

    // Listed, then removed with everything `add` wrote.
    let listed = success(&faas(&dir, &["deps", "list"]));
    assert!(listed.contains("faas-test:text/shout@0.1.0"), "{listed}");
    success(&faas(&dir, &["deps", "remove", "text"]));
    let world = std::fs::read_to_string(dir.join("wit/function.wit")).unwrap();
    assert!(!world.contains("faas deps"), "{world}");
    assert!(!dir.join("wit/deps/faas-test-text").exists());
    let project = std::fs::read_to_string(dir.join("faas.toml")).unwrap();
    assert!(!project.contains("[dependencies.text]"), "{project}");
}

#[test]
fn a_python_function_calls_the_same_library() {
    let (plain, _) = libraries();
    let tmp = tempfile::tempdir().unwrap();
    success(&faas(
        tmp.path(),
        &["new", "deps-py", "--template", "python-http"],
    ));
    let dir = tmp.path().join("deps-py");
    std::fs::copy(plain, dir.join("text.wasm")).unwrap();
    success(&faas(&dir, &["deps", "add", "text.wasm"]));
    std::fs::write(
        dir.join("app.py"),
        r#"import json

from wit_world import exports
from wit_world.exports.handler import Request, Response
from wit_world.imports import shout


class Handler(exports.Handler):
    def handle(self, req: Request) -> Response:
        text = req.body.decode()
        body = {"shouted": shout.shout(text), "words": shout.words(text)}
        return Response(
            status=200,
            headers=[("content-type", "application/json")],
            body=json.dumps(body).encode(),
        )
"#,
    )
    .unwrap();
    success(&faas(&dir, &["build"]));
    success(&faas(&dir, &["wrap"]));
    let artifact = dir.join("target/faas/deps-py.wasm");
    let served = Served::start(&dir, &artifact);
    let answer = shout(&served.addr, &dir);
    assert_eq!(answer["shouted"], "HELLO DEPENDENCY WORLD!");
    assert_eq!(answer["words"], 3);
}

#[test]
fn a_dependency_gets_only_what_its_own_policy_table_allows() {
    let (_, sockets) = libraries();
    let (_tmp, dir) = function_using("deps-sockets", sockets, &[]);
    success(&faas(&dir, &["build"]));
    let out = faas(&dir, &["wrap"]);
    let stderr = failure(&out, 1);
    assert!(stderr.contains("dependency `text` imports "), "{stderr}");
    assert!(stderr.contains("wasi:sockets/tcp@"), "{stderr}");
    assert!(stderr.contains("[dependencies.text]"), "{stderr}");
    // The function's own grant is not the dependency's.
    let auth = std::fs::read_to_string(dir.join("auth.toml")).unwrap();
    let allow = "allow = [\"wasi:sockets/*\", \"wasi:filesystem/*\"]";
    std::fs::write(
        dir.join("auth.toml"),
        format!("{auth}\n[capabilities]\n{allow}\n"),
    )
    .unwrap();
    let stderr = failure(&faas(&dir, &["wrap"]), 1);
    assert!(stderr.contains("dependency `text` imports "), "{stderr}");
    // Its own table does (std::net brings the file system's imports with it).
    std::fs::write(
        dir.join("auth.toml"),
        format!("{auth}\n[dependencies.text]\n{allow}\n"),
    )
    .unwrap();
    let report: serde_json::Value =
        serde_json::from_str(&success(&faas(&dir, &["wrap", "--json"]))).unwrap();
    assert!(
        report["imports"].to_string().contains("wasi:sockets/"),
        "{report}"
    );
    // A table for a dependency the function does not have is a mistake, said.
    std::fs::write(
        dir.join("auth.toml"),
        format!("{auth}\n[dependencies.txet]\nallow = [\"wasi:sockets/*\"]\n"),
    )
    .unwrap();
    let stderr = failure(&faas(&dir, &["wrap"]), 1);
    assert!(stderr.contains("dependency `txet`"), "{stderr}");
}

#[test]
fn a_dependency_whose_bytes_no_longer_match_the_pin_is_refused_until_updated() {
    let (plain, sockets) = libraries();
    let (_tmp, dir) = function_using("deps-pin", plain, &[]);
    success(&faas(&dir, &["build"]));
    success(&faas(&dir, &["wrap"]));
    // Someone replaces the file.
    std::fs::copy(sockets, dir.join("text.wasm")).unwrap();
    let stderr = failure(&faas(&dir, &["wrap"]), 1);
    assert!(stderr.contains("faas.lock pins sha256:"), "{stderr}");
    assert!(stderr.contains("faas deps update text"), "{stderr}");
    assert!(
        !dir.join("target/faas/deps-pin.wasm").exists(),
        "a stale artifact was left"
    );
    // Updating pins the new bytes (whose sockets import then needs its own grant).
    success(&faas(&dir, &["deps", "update", "text"]));
    let lock = std::fs::read_to_string(dir.join("faas.lock")).unwrap();
    assert!(
        lock.contains(&sha256(&std::fs::read(sockets).unwrap())),
        "{lock}"
    );
    assert!(lock.contains("wasi:sockets/"), "{lock}");
}

#[test]
fn a_dependency_the_platform_links_stays_exactly_one_import() {
    let (plain, _) = libraries();
    let (_tmp, dir) = function_using("deps-linked", plain, &["--link", "platform"]);
    success(&faas(&dir, &["build"]));
    let report: serde_json::Value = serde_json::from_str(&success(&faas(
        &dir,
        &["wrap", "--target", "wasmcloud", "--json"],
    )))
    .unwrap();
    let layers = names_in(&report, "layers", "layer");
    assert!(
        !layers.iter().any(|l| l.starts_with("dependency")),
        "{layers:?}"
    );
    let linked: Vec<&str> = report["imports"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i.as_str())
        .filter(|i| !i.starts_with("wasi:"))
        .collect();
    assert_eq!(linked, ["faas-test:text/shout@0.1.0"]);
    // A local file cannot be pulled by the platform: deploying says how to fix it.
    let project = std::fs::read_to_string(dir.join("faas.toml")).unwrap();
    assert!(project.contains("link = \"platform\""), "{project}");
}

#[test]
fn what_cannot_be_a_dependency_is_refused_with_the_reason() {
    let (_tmp, dir) = new_function("deps-refused");
    // A faas function is not a library (yet): its handler goes through its own decorator.
    success(&faas(&dir, &["build"]));
    let stderr = failure(
        &faas(
            &dir,
            &[
                "deps",
                "add",
                "target/faas/deps-refused.function.wasm",
                "--name",
                "self",
            ],
        ),
        1,
    );
    assert!(stderr.contains("it is a faas function"), "{stderr}");
    std::fs::write(dir.join("broken.wasm"), b"\0asm\x01\0\0\0garbage").unwrap();
    let stderr = failure(&faas(&dir, &["deps", "add", "broken.wasm"]), 1);
    assert!(stderr.contains("dependency `broken`"), "{stderr}");
    let stderr = failure(
        &faas(&dir, &["deps", "add", "broken.wasm", "--name", "Bad_Name"]),
        1,
    );
    assert!(stderr.contains("invalid dependency name"), "{stderr}");
    // Nothing was written by the refusals.
    assert!(!dir.join("faas.lock").exists());
    let world = std::fs::read_to_string(dir.join("wit/function.wit")).unwrap();
    assert!(!world.contains("faas deps"), "{world}");
}
