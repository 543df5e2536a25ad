//! Dependencies: a library component (`fixtures/components/text-lib`, built here, knowing nothing of
//! faas) used by a Rust, a Python and a JavaScript function through `faas deps add`, composed into the artifact
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
    // The last dependency gone: no empty wit/deps, no lock saying `dependency = []`.
    assert!(!dir.join("wit/deps").exists());
    assert!(!dir.join("faas.lock").exists());
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
fn a_javascript_function_calls_the_same_library() {
    let (plain, _) = libraries();
    let tmp = tempfile::tempdir().unwrap();
    success(&faas(
        tmp.path(),
        &["new", "deps-js", "--template", "js-http"],
    ));
    let dir = tmp.path().join("deps-js");
    std::fs::copy(plain, dir.join("text.wasm")).unwrap();
    success(&faas(&dir, &["deps", "add", "text.wasm"]));
    std::fs::write(
        dir.join("app.js"),
        r#"import { shout, words } from "faas-test:text/shout@0.1.0";

export const handler = {
  handle(req) {
    const text = new TextDecoder().decode(req.body);
    const body = { shouted: shout(text), words: words(text) };
    return {
      status: 200,
      headers: [["content-type", "application/json"]],
      body: new TextEncoder().encode(JSON.stringify(body)),
    };
  },
};
"#,
    )
    .unwrap();
    success(&faas(&dir, &["build"]));
    success(&faas(&dir, &["wrap"]));
    let served = Served::start(&dir, &dir.join("target/faas/deps-js.wasm"));
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
    let good = std::fs::read(dir.join("target/faas/deps-pin.wasm")).unwrap();
    // Someone replaces the file.
    std::fs::copy(sockets, dir.join("text.wasm")).unwrap();
    let stderr = failure(&faas(&dir, &["wrap"]), 1);
    assert!(stderr.contains("faas.lock pins sha256:"), "{stderr}");
    assert!(stderr.contains("faas deps update text"), "{stderr}");
    // The refused bytes never reach an artifact: the last good one stays as it was.
    assert_eq!(
        std::fs::read(dir.join("target/faas/deps-pin.wasm")).unwrap(),
        good
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
    let artifact = dir.join("target/faas/deps-linked.wasm");
    let inspected: serde_json::Value = serde_json::from_str(&success(&faas(
        &dir,
        &["inspect", artifact.to_str().unwrap(), "--json"],
    )))
    .unwrap();
    assert_eq!(
        inspected["platform_links"]["text"],
        serde_json::json!(["faas-test:text/shout@0.1.0"])
    );
    // A local file cannot be pulled by the platform: deploying says how to fix it.
    let project = std::fs::read_to_string(dir.join("faas.toml")).unwrap();
    assert!(project.contains("link = \"platform\""), "{project}");
}

#[test]
fn what_cannot_be_a_dependency_is_refused_with_the_reason() {
    let (_tmp, dir) = new_function("deps-refused");
    // A faas function's bare component is not a library: it is called through its own policy,
    // so it is added by its project folder.
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

const PRICING_POLICY: &str = r#"version = 1

# Its own clients (test key: test-admin-key).
[[auth.api-key]]
id = "ops"
digest = "sha256:944650a7cd0f9e14d5c4fb15edbffb7fa45fb9ed36a4fa9be3d7e5476ae51bd9"
scopes = ["admin", "prices:read"]

# Functions that call it like a library.
[[auth.function]]
id = "checkout"
scopes = ["prices:read"]

# What it reads at run time: the artifact that composes it must be granted this too.
[credentials]
rates = { config = "pricing-rates" }

[[rule]]
path = "/prices/**"
scopes = ["prices:read"]

[[rule]]
path = "/admin/**"
scopes = ["admin"]
"#;

fn quote(addr: &str, dir: &Path, path: &str) -> serde_json::Value {
    let key = format!("Bearer {}", sample_key(dir));
    let r = http(addr, "GET", path, &[("authorization", &key)], b"");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}

/// Two projects in `tmp`: pricing (`prices.rs`, under `policy`, built) and checkout
/// (`calls-pricing.rs`, not built yet).
fn pricing_and_checkout(tmp: &Path, policy: &str) -> (PathBuf, PathBuf) {
    for name in ["pricing", "checkout"] {
        success(&faas(tmp, &["new", name]));
    }
    let pricing = tmp.join("pricing");
    let checkout = tmp.join("checkout");
    use_function_fixture(&pricing, "prices.rs");
    use_function_fixture(&checkout, "calls-pricing.rs");
    std::fs::write(pricing.join("auth.toml"), policy).unwrap();
    success(&faas(&pricing, &["build"]));
    (pricing, checkout)
}

#[test]
fn a_function_calls_another_through_its_policy_as_a_function_principal() {
    let tmp = tempfile::tempdir().unwrap();
    let (pricing, checkout) = pricing_and_checkout(tmp.path(), PRICING_POLICY);
    let added = success(&faas(&checkout, &["deps", "add", "../pricing"]));
    assert!(
        added.contains("faas-function:pricing/handler@0.1.0"),
        "{added}"
    );
    success(&faas(&checkout, &["build"]));
    let report: serde_json::Value =
        serde_json::from_str(&success(&faas(&checkout, &["wrap", "--json"]))).unwrap();
    let layers = names_in(&report, "layers", "layer");
    for layer in [
        "dependency-pricing",
        "dependency-pricing-gate",
        "dependency-pricing-caller",
    ] {
        assert!(layers.contains(&layer), "{layers:?}");
    }
    let artifact = checkout.join("target/faas/checkout.wasm");
    // pricing's run-time grants travel with it into checkout's artifact (deploy and serve read them).
    let note = faas::artifact::read_layers(&std::fs::read(&artifact).unwrap()).unwrap();
    assert!(
        note.grants
            .config_keys
            .contains(&"pricing-rates".to_string()),
        "{:?}",
        note.grants
    );
    let check = |addr: &str, host: &str| {
        // pricing's policy applies: checkout holds prices:read there, not admin, whatever caller
        // and credential its code puts in the request.
        let answer = quote(addr, &checkout, "/quote/7");
        assert_eq!(answer["status"], 200, "{host}");
        let seen = &answer["answer"];
        assert_eq!(seen["caller"], "checkout", "{host}");
        assert_eq!(seen["scheme"], "function", "{host}");
        assert_eq!(seen["scopes"], serde_json::json!(["prices:read"]), "{host}");
        assert_eq!(seen["saw-authorization"], false, "{host}");
        assert_eq!(seen["price"], 42, "{host}");
        let refused = quote(addr, &checkout, "/admin/x");
        assert_eq!(refused["status"], 403, "{host}");
    };
    let served = Served::start(&checkout, &artifact);
    check(&served.addr, "faas serve");
    let (_, log) = served.stop();
    let function_events: Vec<_> = audit_events(&log)
        .into_iter()
        .filter(|e| e["trigger"] == "function")
        .collect();
    assert_eq!(function_events.len(), 2, "{log}");
    assert_eq!(function_events[1]["reason"], "wrong scope: lacks admin");
    let wasmtime = WasmtimeServe::start(&artifact);
    check(&wasmtime.addr, "wasmtime serve");
    drop(wasmtime);

    // Without an [[auth.function]] entry for it, checkout is an unknown caller there.
    std::fs::write(
        pricing.join("auth.toml"),
        PRICING_POLICY.replace("id = \"checkout\"", "id = \"cart\""),
    )
    .unwrap();
    // That is a change of the dependency: refused until it is pinned again.
    let stderr = failure(&faas(&checkout, &["wrap"]), 1);
    assert!(stderr.contains("its policy changed"), "{stderr}");
    success(&faas(&checkout, &["deps", "update", "pricing"]));
    success(&faas(&checkout, &["wrap"]));
    let served = Served::start(&checkout, &artifact);
    assert_eq!(quote(&served.addr, &checkout, "/quote/7")["status"], 401);
}

/// The second review: a caller that claimed the messaging trigger with a subject the callee
/// accepts was decided as a broker message (its scopes, no rule, no `[[auth.function]]`), so
/// `DELETE /admin/users` was answered 200.
#[test]
fn a_calling_function_that_claims_a_broker_message_is_decided_as_a_function_call() {
    let tmp = tempfile::tempdir().unwrap();
    // Messages on orders.* would hold `admin` there.
    let policy =
        format!("{PRICING_POLICY}\n[messaging]\nsubjects = [\"orders.*\"]\nscopes = [\"admin\"]\n");
    let (_, checkout) = pricing_and_checkout(tmp.path(), &policy);
    success(&faas(&checkout, &["deps", "add", "../pricing"]));
    success(&faas(&checkout, &["build"]));
    success(&faas(&checkout, &["wrap"]));
    let artifact = checkout.join("target/faas/checkout.wasm");
    let check = |addr: &str, host: &str| {
        let refused = quote(addr, &checkout, "/as-message/admin/users");
        assert_eq!(refused["status"], 403, "{host}: {refused}");
        let answered = quote(addr, &checkout, "/as-message/prices/7");
        assert_eq!(answered["status"], 200, "{host}: {answered}");
        let seen = &answered["answer"];
        assert_eq!(seen["scheme"], "function", "{host}");
        assert_eq!(seen["scopes"], serde_json::json!(["prices:read"]), "{host}");
        assert_eq!(seen["trigger"], "TriggerKind::Http", "{host}");
        assert_eq!(seen["method"], "DELETE", "{host}");
    };
    let served = Served::start(&checkout, &artifact);
    check(&served.addr, "faas serve");
    let (_, log) = served.stop();
    let events = audit_events(&log);
    assert!(
        events.iter().any(|e| e["trigger"] == "function"
            && e["status"] == 403
            && e["path"] == "/admin/users"),
        "{log}"
    );
    let wasmtime = WasmtimeServe::start(&artifact);
    check(&wasmtime.addr, "wasmtime serve");
}

#[test]
fn a_published_dependency_the_platform_links_is_deployed_as_a_second_component() {
    let (plain, _) = libraries();
    let registry = Registry::start();
    let (_tmp, dir) = new_function("deps-deployed");
    use_function_fixture(&dir, "uses-text.rs");
    // The platform team publishes its component, signed with its own key; the function depends
    // on it by reference.
    success(&faas(
        &dir,
        &["keygen", "--key", "platform.key", "--pub", "platform.pub"],
    ));
    let library = format!("{}/platform/text:0.1.0", registry.addr);
    success(&faas(
        &dir,
        &[
            "publish",
            &library,
            "--artifact",
            plain.to_str().unwrap(),
            "--key",
            "platform.key",
        ],
    ));
    success(&faas(
        &dir,
        &[
            "deps", "add", &library, "--name", "text", "--link", "platform",
        ],
    ));
    let lock = std::fs::read_to_string(dir.join("faas.lock")).unwrap();
    let image_line = lock.lines().find(|l| l.starts_with("image = ")).unwrap();
    let image = image_line
        .trim_start_matches("image = ")
        .trim_matches('"')
        .to_string();
    assert!(
        image.starts_with(&format!("{}/platform/text@sha256:", registry.addr)),
        "{lock}"
    );
    success(&faas(&dir, &["build"]));
    success(&faas(&dir, &["wrap", "--target", "wasmcloud"]));
    success(&faas(
        &dir,
        &["keygen", "--key", "faas.key", "--pub", "faas.pub"],
    ));
    let reference = format!("{}/team/deps-deployed:0.1.0", registry.addr);
    success(&faas(&dir, &["publish", &reference, "--key", "faas.key"]));
    // Without its owner's key, no admission policy could verify its image: refused.
    let err = failure(&faas(&dir, &["deploy"]), 1);
    assert!(
        err.contains("dependency `text`")
            && err.contains("names no key its image is verified with"),
        "{err}"
    );
    // A key that did not sign it is refused when it is added.
    let err = failure(
        &faas(
            &dir,
            &[
                "deps",
                "add",
                &library,
                "--name",
                "text",
                "--link",
                "platform",
                "--public-key",
                "faas.pub",
            ],
        ),
        1,
    );
    assert!(err.contains("does not verify with this key"), "{err}");
    success(&faas(
        &dir,
        &[
            "deps",
            "add",
            &library,
            "--name",
            "text",
            "--link",
            "platform",
            "--public-key",
            "platform.pub",
        ],
    ));
    let project = std::fs::read_to_string(dir.join("faas.toml")).unwrap();
    assert!(
        project.contains("public-key = \"platform.pub\""),
        "{project}"
    );
    success(&faas(&dir, &["deploy"]));
    let out = dir.join("target/faas/deploy");
    // Each image verified with its own repository's key; nothing else admitted.
    let kyverno = yaml(&out.join("kyverno.yaml"));
    let platform_key = std::fs::read_to_string(dir.join("platform.pub")).unwrap();
    assert_eq!(kyverno["spec"]["attestors"][1]["name"], "dependency1");
    assert_eq!(
        kyverno["spec"]["attestors"][1]["cosign"]["key"]["data"]
            .as_str()
            .unwrap(),
        platform_key.trim_end()
    );
    let workload = yaml(&out.join("workload.yaml"));
    let spec = &workload["spec"]["template"]["spec"];
    assert_eq!(spec["components"][1]["name"], "text");
    assert_eq!(spec["components"][1]["image"], image.as_str());
    assert!(
        !spec["hostInterfaces"].to_string().contains("faas-test"),
        "{spec}"
    );
    // wasmCloud 1.x: the function links to the component's interface.
    let wadm = yaml(&out.join("wadm.yaml"));
    let link = wadm["spec"]["components"][0]["traits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == "link" && t["properties"]["target"]["name"] == "text")
        .cloned()
        .unwrap_or_else(|| panic!("no link to text in {wadm}"));
    assert_eq!(link["properties"]["namespace"], "faas-test");
    assert_eq!(
        link["properties"]["interfaces"],
        serde_json::json!(["shout"])
    );
    // Every manifest still passes the checks.
    check_manifests(&dir, &out);
}
