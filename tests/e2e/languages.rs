//! Python and JavaScript functions: `faas new` → `faas build` (with the pinned componentize tool,
//! installed into the project by the very command faas names when it is missing) → `faas wrap` →
//! `faas serve`, plus their bad inputs and the sandbox the deny layers give them.

use crate::common::*;
use std::path::Path;

/// Scaffolds `template` and builds it once, as a new user would right after `faas new`: the first
/// build installs the pinned tool into the project itself, says so with the time it took, and
/// produces the component.
fn new_and_installed(name: &str, template: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let created = success(&faas(tmp.path(), &["new", name, "--template", template]));
    let dir = tmp.path().join(name);
    let tool = if template == "python-http" {
        "componentize-py"
    } else {
        "componentize-js"
    };
    assert!(
        created.contains(&format!("the first build installs {tool}")),
        "{created}"
    );

    let built = faas(&dir, &["build"]);
    success(&built);
    let stderr = String::from_utf8_lossy(&built.stderr);
    assert!(stderr.contains(&format!("Installing {tool} ")), "{stderr}");
    let installed = stderr
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("Installed {tool} ")))
        .unwrap_or_else(|| panic!("no `Installed` line in: {stderr}"));
    assert!(installed.trim_end().ends_with('s'), "{installed}");
    assert!(function_path(&dir, name).is_file());
    // The second build finds the tool and installs nothing.
    let again = faas(&dir, &["build"]);
    success(&again);
    assert!(
        !String::from_utf8_lossy(&again.stderr).contains("Installing"),
        "installed twice"
    );
    (tmp, dir)
}

/// Wraps the project's function with its `auth.toml` plus a grant of the credential `db-password`
/// (from the run-time configuration key `db-key`), and serves it with that key set.
fn wrap_with_credentials_and_serve(dir: &Path, name: &str) -> Served {
    let auth = std::fs::read_to_string(dir.join("auth.toml")).unwrap();
    let policy = auth.replace(
        "[filters]",
        "[credentials]\ndb-password = { config = \"db-key\" }\n\n[filters]",
    );
    assert_ne!(policy, auth);
    std::fs::write(dir.join("credentials.toml"), policy).unwrap();
    success(&faas(dir, &["wrap", "--policy", "credentials.toml"]));
    let artifact = dir.join("target/faas").join(format!("{name}.wasm"));
    Served::start_with(dir, &artifact, &["--config", "db-key=s3cret"])
}

/// Writes `source` as the entry point `file`; `faas build` must fail with 1 and its last line
/// contain every one of `expected`.
#[track_caller]
fn build_refuses(dir: &Path, file: &str, source: &str, expected: &[&str]) {
    std::fs::write(dir.join(file), source).unwrap();
    let stderr = failure(&faas(dir, &["build"]), 1);
    let last = stderr.lines().last().unwrap();
    assert!(expected.iter().all(|e| last.contains(e)), "{stderr}");
}

/// Replaces the entry point `file` with the fixture `probe`, builds, wraps with a credential grant,
/// serves, and asks `/` with the sample key; returns the server, that key and the JSON answer.
fn serve_probe(
    dir: &Path,
    name: &str,
    file: &str,
    probe: &str,
) -> (Served, String, serde_json::Value) {
    std::fs::copy(fixtures().join("functions").join(probe), dir.join(file)).unwrap();
    success(&faas(dir, &["build"]));
    let served = wrap_with_credentials_and_serve(dir, name);
    let key = format!("Bearer {}", sample_key(dir));
    let r = http(&served.addr, "GET", "/", &[("authorization", &key)], b"");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let report = r.json();
    (served, key, report)
}

fn function_path(dir: &Path, name: &str) -> std::path::PathBuf {
    dir.join("target/faas")
        .join(format!("{name}.function.wasm"))
}

/// Builds, wraps and serves the project; checks the sample key gets the function's JSON and no key
/// gets 401, as for a Rust function.
fn build_wrap_serve_and_call(dir: &Path, name: &str) {
    let built: serde_json::Value = serde_json::from_str(&success(&faas(dir, &["build", "--json"])))
        .expect("build --json prints JSON");
    assert_eq!(built["handler"]["interface"], "faas:function/handler@0.1.0");
    let toolchain = built["toolchain"].as_str().unwrap();
    assert!(
        toolchain == "componentize-py 0.25.1" || toolchain == "componentize-js 0.23.0",
        "{toolchain}"
    );
    let imports: Vec<&str> = built["imports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap())
        .collect();
    // The interpreter imports files whatever the function does…
    assert!(
        imports.iter().any(|i| i.starts_with("wasi:filesystem/")),
        "{imports:?}"
    );

    // The artifact fits the strictest target, the wasi:http/proxy world, as a Rust one does.
    let wrapped: serde_json::Value = serde_json::from_str(&success(&faas(
        dir,
        &["wrap", "--json", "--target", "wasi-http"],
    )))
    .unwrap();
    // What the function was built with is recorded in it, for the SBOM; the toolchain is not one
    // of its packages.
    let inspected: serde_json::Value = serde_json::from_str(&success(&faas(
        dir,
        &["inspect", &format!("target/faas/{name}.wasm"), "--json"],
    )))
    .unwrap();
    let function = &inspected["built_from"]["function"];
    assert_eq!(function["toolchain"], toolchain, "{inspected}");
    assert!(
        !function["packages"].to_string().contains("componentize"),
        "{function}"
    );
    // …and the artifact does not: the policy grants nothing, so a deny layer answers instead.
    let artifact_imports = wrapped["imports"].as_array().unwrap();
    for import in artifact_imports {
        let import = import.as_str().unwrap();
        assert!(
            !import.starts_with("wasi:filesystem/")
                && !import.starts_with("wasi:sockets/")
                && !import.starts_with("wasi:http/outgoing-handler")
                && !import.starts_with("wasi:cli/environment"),
            "the artifact imports {import}"
        );
    }
    // The interpreter's ambient imports are answered inside, by the policy layer: no layer of
    // their own.
    let layers = names_in(&wrapped, "layers", "layer");
    assert!(
        layers.contains(&"policy") && !layers.contains(&"function-deny"),
        "{layers:?}"
    );

    let artifact = dir.join("target/faas").join(format!("{name}.wasm"));
    let served = Served::start(dir, &artifact);
    let key = format!("Bearer {}", sample_key(dir));
    let r = http(
        &served.addr,
        "GET",
        "/hello?x=1",
        &[("authorization", &key)],
        b"",
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body = r.json();
    assert_eq!(body["caller"], "sample-client");
    assert_eq!(body["message"], "Hello, sample-client!");
    assert_eq!(body["path"], "/hello?x=1");

    let r = http(&served.addr, "GET", "/hello", &[], b"");
    assert_eq!(r.status, 401);

    // The function's own error reaches the caller as the contract's status.
    let r = http(
        &served.addr,
        "POST",
        "/hello",
        &[("authorization", &key)],
        b"not json",
    );
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));

    // A public route: the function sees no caller.
    let r = http(&served.addr, "GET", "/health", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["caller"], serde_json::Value::Null);
}

/// The componentize processes running in `dir`.
fn tools_running_in(dir: &Path) -> Vec<String> {
    let dir = dir.canonicalize().unwrap();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let cwd = std::fs::read_link(entry.path().join("cwd"));
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cwd.is_ok_and(|c| c == dir) && cmdline.contains("componentize") {
            found.push(cmdline);
        }
    }
    found
}

fn scratch_files(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir.join("target/faas"))
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().contains(".faas-build-"))
                .collect()
        })
        .unwrap_or_default()
}

/// Ctrl-C as a terminal sends it (SIGINT to faas's process group) while the componentize tool
/// runs: faas exits 130 at once, the tool (in a group of its own) is stopped with it, and its
/// scratch file is gone.
fn ctrl_c_stops_the_tool_and_leaves_no_scratch_file(dir: &Path) {
    use rustix::process::{Pid, Signal, kill_process_group};
    use std::os::unix::process::CommandExt;
    use std::time::{Duration, Instant};
    let mut build = faas_command(dir, &["build"])
        .process_group(0)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while scratch_files(dir).is_empty() || tools_running_in(dir).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the tool never started"
        );
        assert!(build.try_wait().unwrap().is_none(), "the build ended first");
        std::thread::sleep(Duration::from_millis(50));
    }
    kill_process_group(Pid::from_child(&build), Signal::INT).unwrap();
    let interrupted = Instant::now();
    let status = loop {
        if let Some(status) = build.try_wait().unwrap() {
            break status;
        }
        assert!(
            interrupted.elapsed() < Duration::from_secs(10),
            "faas kept running"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
    while !tools_running_in(dir).is_empty() {
        assert!(
            interrupted.elapsed() < Duration::from_secs(5),
            "the tool outlived faas: {:?}",
            tools_running_in(dir)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(scratch_files(dir), Vec::<std::path::PathBuf>::new());
}

#[test]
fn a_python_function_builds_wraps_and_serves_like_a_rust_one() {
    let (_tmp, dir) = new_and_installed("hello-py", "python-http");
    ctrl_c_stops_the_tool_and_leaves_no_scratch_file(&dir);
    build_wrap_serve_and_call(&dir, "hello-py");
    // The seconds a Python artifact takes to compile are announced, and timed.
    let tested = faas(&dir, &["test"]);
    success(&tested);
    let stderr = String::from_utf8_lossy(&tested.stderr);
    assert!(
        stderr.contains("Compiling") && stderr.contains("MB) for this machine"),
        "{stderr}"
    );
    assert!(stderr.contains("Compiled in "), "{stderr}");

    // A syntax error names the file and line, with the tool's message; no component is left.
    build_refuses(
        &dir,
        "app.py",
        "def broken(:\n    pass\n",
        &["app.py:1", "SyntaxError"],
    );
    assert!(!function_path(&dir, "hello-py").exists());

    // Source that does not implement the contract.
    build_refuses(
        &dir,
        "app.py",
        "x = 1\n",
        &["app.py", "has no attribute 'Handler'"],
    );

    // The sandbox: no environment, files or sockets, each refused with an ordinary exception.
    let (served, _key, report) = serve_probe(&dir, "hello-py", "app.py", "sandbox-probe.py");
    assert_eq!(report["environment"], 0, "{report}");
    assert_eq!(report["read-file"], "FileNotFoundError", "{report}");
    assert_eq!(report["list-root"], "FileNotFoundError", "{report}");
    assert_eq!(report["socket"], "PermissionError", "{report}");
    assert_eq!(report["lazy-import"], "ModuleNotFoundError", "{report}");
    // The granted credential is read from the host; the other is denied by the provider.
    assert_eq!(report["granted"], "value:s3cret", "{report}");
    assert_eq!(report["ungranted"], "CredentialError_Denied", "{report}");
    drop(served);
}

#[test]
fn a_javascript_function_builds_wraps_and_serves_like_a_rust_one() {
    let (_tmp, dir) = new_and_installed("hello-js", "js-http");
    build_wrap_serve_and_call(&dir, "hello-js");
    // cargo's dev profile means nothing here: refused rather than ignored.
    let stderr = failure(&faas(&dir, &["build", "--debug"]), 1);
    assert!(stderr.contains("Rust functions only"), "{stderr}");

    // A syntax error names file, line and column.
    build_refuses(
        &dir,
        "app.js",
        "export const handler = {\n  handle(req) { return {; }\n};\n",
        &["app.js:2:", "SyntaxError"],
    );
    assert!(!function_path(&dir, "hello-js").exists());

    // Source that does not implement the contract.
    build_refuses(
        &dir,
        "app.js",
        "export const nothing = 1;\n",
        &["app.js", "does not export a \"handler\""],
    );

    // Credentials through the provider, and outgoing HTTP, which is not granted: fetch reaches a
    // deny layer, which traps; the caller gets 500 and the function never reaches the network.
    let (served, key, report) = serve_probe(&dir, "hello-js", "app.js", "sandbox-probe.js");
    assert_eq!(report["granted"], "value:s3cret", "{report}");
    assert_eq!(report["ungranted"], "denied", "{report}");
    let r = http(
        &served.addr,
        "GET",
        "/fetch",
        &[("authorization", &key)],
        b"",
    );
    assert_eq!(r.status, 500);
    drop(served);

    // Granting outgoing HTTP leaves it, and the types it shares resources with, to the host.
    let auth = std::fs::read_to_string(dir.join("auth.toml")).unwrap();
    std::fs::write(
        dir.join("outgoing.toml"),
        format!("{auth}\n[capabilities]\nallow = [\"wasi:http/outgoing-handler\"]\n"),
    )
    .unwrap();
    let wrapped: serde_json::Value = serde_json::from_str(&success(&faas(
        &dir,
        &[
            "wrap",
            "--policy",
            "outgoing.toml",
            "-o",
            "outgoing.wasm",
            "--json",
        ],
    )))
    .unwrap();
    let imports = wrapped["imports"].to_string();
    assert!(imports.contains("wasi:http/outgoing-handler@"), "{imports}");
    assert!(!imports.contains("wasi:filesystem/"), "{imports}");
}

#[test]
fn an_interpreted_function_is_refused_as_rust_but_wraps_as_its_language() {
    // A Python-built component wrapped as if it were Rust: its file and socket imports are refused,
    // named, because a Rust function importing them would really use them.
    let (_tmp, dir) = new_and_installed("lang-py", "python-http");
    success(&faas(&dir, &["build"]));
    let function = function_path(&dir, "lang-py");
    let policy = dir.join("auth.toml");
    let args = |language: &'static str, out: &'static str| {
        vec![
            "wrap".to_string(),
            "--function".into(),
            function.display().to_string(),
            "--policy".into(),
            policy.display().to_string(),
            "-o".into(),
            out.into(),
            "--language".into(),
            language.into(),
        ]
    };
    let run = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        faas(&dir, &args)
    };
    let stderr = failure(&run(args("rust", "as-rust.wasm")), 1);
    assert!(
        stderr.contains("wasi:sockets/tcp@") && stderr.contains("wasi:filesystem/preopens@"),
        "{stderr}"
    );
    assert!(!dir.join("as-rust.wasm").exists());
    success(&run(args("python", "as-python.wasm")));
    assert!(dir.join("as-python.wasm").is_file());
}
