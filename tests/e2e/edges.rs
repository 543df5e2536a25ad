//! The edges a first-week user hits: a reader that stops early, a private key beside the code,
//! Ctrl-C in the middle of a build (languages.rs, where a componentize tool runs).

use crate::common::*;
use std::path::Path;
use std::process::Command;

/// Runs `faas ARGS | true` in bash (the reader exits at once, closing the pipe) and returns
/// faas's exit status and its stderr.
fn into_a_closed_pipe(dir: &Path, args: &str) -> (i32, String) {
    let faas = env!("CARGO_BIN_EXE_faas");
    let err = dir.join("stderr.txt");
    let out = Command::new("bash")
        .current_dir(dir)
        .arg("-c")
        .arg(format!(
            "'{faas}' {args} 2>'{}' | true; echo ${{PIPESTATUS[0]}}",
            err.display()
        ))
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    (status, std::fs::read_to_string(err).unwrap())
}

#[test]
fn a_reader_that_stops_early_ends_faas_quietly() {
    let (_tmp, dir, artifact) = wrapped_function("piped");
    let artifact = artifact.display().to_string();
    for args in [
        format!("inspect '{artifact}'"),
        format!("validate '{artifact}'"),
        format!("inspect '{artifact}' --json"),
        "policy check auth.toml".to_string(),
    ] {
        let (status, stderr) = into_a_closed_pipe(&dir, &args);
        // As git: the status of a process ended by SIGPIPE, and nothing on stderr about it.
        assert_eq!(status, 141, "faas {args}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "faas {args}: {stderr}"
        );
    }
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .current_dir(dir)
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}

#[test]
fn a_private_key_git_would_commit_is_warned_about() {
    // A project from the template: its .gitignore keeps keys out of git.
    let (_tmp, dir) = new_function("keyed");
    git(&dir, &["init", "-q"]);
    let out = faas(&dir, &["keygen"]);
    success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("warning"), "{stderr}");
    let ignored = Command::new("git")
        .current_dir(&dir)
        .args(["check-ignore", "-q", "faas.key"])
        .status()
        .unwrap();
    assert!(ignored.success(), "the template ignores faas.key");
    // A folder whose .gitignore does not: warned, with the fix.
    let bare = tempfile::tempdir().unwrap();
    git(bare.path(), &["init", "-q"]);
    let out = faas(bare.path(), &["keygen", "--key", "release.key"]);
    success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: release.key is in the Git work tree")
            && stderr.contains("`git add .` would commit the private key"),
        "{stderr}"
    );
    // Outside any work tree: nothing to warn about.
    let outside = tempfile::tempdir().unwrap();
    let out = faas(outside.path(), &["keygen"]);
    success(&out);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("warning"),
        "{out:?}"
    );
}

/// The JSON document a failed `--json` command printed on stdout (and its exit status).
fn json_failure(output: &std::process::Output) -> (i32, serde_json::Value) {
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON on stdout ({e}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert_eq!(doc["ok"], false, "{doc}");
    let code = output.status.code().unwrap();
    assert_eq!(doc["error"]["exit_code"], code, "{doc}");
    (code, doc)
}

#[test]
fn a_command_asked_for_json_answers_in_json_when_it_fails() {
    let (_tmp, dir) = built_function("json-errors");
    // A policy error: the file, line and column, as the human line says them.
    let policy = policy_fixture("unknown-key.toml");
    let (code, doc) = json_failure(&faas(
        &dir,
        &["wrap", "--policy", policy.to_str().unwrap(), "--json"],
    ));
    assert_eq!(code, 1);
    assert!(
        doc["error"]["file"]
            .as_str()
            .unwrap()
            .ends_with("unknown-key.toml"),
        "{doc}"
    );
    assert_eq!(
        (doc["error"]["line"].clone(), doc["error"]["column"].clone()),
        (10.into(), 1.into())
    );
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `pubic`"),
        "{doc}"
    );
    // A faas.toml typo stops the pipeline before any stage, with the same status as build's.
    let manifest = std::fs::read_to_string(dir.join("faas.toml")).unwrap();
    std::fs::write(
        dir.join("faas.toml"),
        manifest.replace("version = ", "verison = "),
    )
    .unwrap();
    for args in [
        &["pipeline", "--json", "--unsigned"][..],
        &["build", "--json"][..],
    ] {
        let (code, doc) = json_failure(&faas(&dir, args));
        assert_eq!(code, 1, "{args:?}: {doc}");
        let file = doc["error"]["file"].as_str().unwrap_or_default();
        assert!(file.ends_with("faas.toml"), "{args:?}: {doc}");
        assert!(doc["error"]["line"].as_u64().unwrap() > 0, "{doc}");
    }
    std::fs::write(dir.join("faas.toml"), &manifest).unwrap();
    // No project at all.
    let empty = tempfile::tempdir().unwrap();
    let (code, doc) = json_failure(&faas(empty.path(), &["pipeline", "--json"]));
    assert_eq!(code, 1);
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("faas.toml"),
        "{doc}"
    );
    // A verification that finds nothing.
    success(&faas(&dir, &["keygen"]));
    let (code, _) = json_failure(&faas(
        &dir,
        &[
            "verify",
            "oci:target/nowhere:0.1.0",
            "--key",
            "faas.pub",
            "--json",
        ],
    ));
    assert_eq!(code, 1);
}

#[test]
fn faas_says_what_it_is_and_completes_in_the_shell() {
    let tmp = tempfile::tempdir().unwrap();
    // The release, and the commit and date it was built from.
    let version = success(&faas(tmp.path(), &["--version"]));
    let (release, built) = version.trim().split_once(" (").unwrap();
    assert_eq!(release, format!("faas {}", env!("CARGO_PKG_VERSION")));
    assert!(
        built.ends_with(')') && built.split(' ').count() == 2,
        "{version}"
    );
    // Completion scripts know the commands and the targets.
    for shell in ["bash", "zsh", "fish"] {
        let script = success(&faas(tmp.path(), &["completions", shell]));
        for word in ["pipeline", "deploy", "wasmcloud@0.3"] {
            assert!(script.contains(word), "{shell}: {word}");
        }
    }
    // The documents the generated files point to are there.
    let (_tmp, dir) = new_function("documented");
    let project = std::fs::read_to_string(dir.join("faas.toml")).unwrap();
    assert!(project.contains("`faas docs faas-toml`"), "{project}");
    let doc = success(&faas(&dir, &["docs", "faas-toml"]));
    assert!(doc.starts_with("# "), "{doc}");
    assert!(success(&faas(&dir, &["docs", "policy"])).contains("[[rule]]"));
    failure(&faas(&dir, &["docs", "nothing"]), 1);
    // A name faas refuses comes with the spelling it accepts.
    for (name, suggestion) in [("Hello", "hello"), ("my_func", "my-func")] {
        let err = failure(&faas(tmp.path(), &["new", name]), 2);
        assert!(err.contains(&format!("(`{suggestion}`?)")), "{err}");
    }
    // `error:` is plain when stderr is not a terminal.
    let err = failure(&faas(tmp.path(), &["build"]), 1);
    assert!(err.starts_with("error: "), "{err}");
}

#[test]
fn faas_test_brings_the_artifact_up_to_date_first() {
    // Straight after `faas new`: nothing built, and `faas test` builds, wraps and tests.
    let (_tmp, dir) = new_function("tested-fresh");
    let out = faas(&dir, &["test"]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    success(&out);
    assert!(stderr.contains("Updating"), "{stderr}");
    assert!(dir.join("target/faas/tested-fresh.wasm").exists());
    // Nothing changed: nothing rebuilt.
    let out = faas(&dir, &["test"]);
    success(&out);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("Updating"),
        "{out:?}"
    );
    // A policy edit is newer than the artifact: wrapped again before the cases run.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let policy = std::fs::read_to_string(dir.join("auth.toml")).unwrap();
    std::fs::write(dir.join("auth.toml"), format!("{policy}\n# reviewed\n")).unwrap();
    let out = faas(&dir, &["test"]);
    success(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Updating"),
        "{out:?}"
    );
}

#[test]
fn errors_say_it_once_and_name_the_file() {
    let (_tmp, dir, artifact) = wrapped_function("said-once");
    std::fs::write(dir.join("garbage.wasm"), "garbage").unwrap();
    let once = |err: &str, what: &str| {
        assert_eq!(err.matches(what).count(), 1, "{what} once: {err}");
    };
    let err = failure(
        &faas(
            &dir,
            &["build", "--component", "garbage.wasm", "-o", "out.wasm"],
        ),
        1,
    );
    once(&err, "not a WebAssembly file");
    assert!(
        err.contains("garbage.wasm: not a WebAssembly file"),
        "{err}"
    );
    let err = failure(
        &faas(
            &dir,
            &[
                "publish",
                "oci:layout:1",
                "--key",
                "absent.key",
                "--artifact",
                "garbage.wasm",
            ],
        ),
        1,
    );
    once(&err, "No such file or directory");
    assert!(
        err.contains("cannot read absent.key: No such file"),
        "{err}"
    );
    // What cannot be served says why, in one line, before wasmtime would.
    let err = failure(&faas(&dir, &["serve", "garbage.wasm"]), 1);
    assert!(
        err.contains("garbage.wasm: not a WebAssembly file"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let err = failure(
        &faas(&dir, &["serve", "target/faas/said-once.function.wasm"]),
        1,
    );
    assert!(
        err.contains("this is a bare function") && err.contains("faas wrap"),
        "{err}"
    );
    // A mistyped file is a missing file, not a registry reference.
    let err = failure(&faas(&dir, &["inspect", "target/faas/said-onse.wasm"]), 1);
    assert!(err.contains("said-onse.wasm: no such file"), "{err}");
    // A port in use says how to get another.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let err = failure(
        &faas(
            &dir,
            &["serve", artifact.to_str().unwrap(), "--addr", &addr],
        ),
        1,
    );
    assert!(
        err.contains("the port is in use") && err.contains("--addr 127.0.0.1:0"),
        "{err}"
    );
}

#[test]
fn faas_test_keeps_the_audit_events_out_of_the_results() {
    let (_tmp, dir) = new_function("audited");
    let out = faas(&dir, &["test"]);
    success(&out);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    // The results, and only them; the decisions are in their own file.
    assert!(audit_events(&stdout).is_empty(), "{stdout}");
    assert!(audit_events(&stderr).is_empty(), "{stderr}");
    assert!(stderr.contains("test-audit.log"), "{stderr}");
    let log = std::fs::read_to_string(dir.join("target/faas/test-audit.log")).unwrap();
    let events = audit_events(&log);
    assert!(!events.is_empty(), "{log}");
    assert!(events.iter().any(|e| e["status"] == 401), "{log}");
}

/// `text` with what changes from run to run or build to build made stable: digests, sizes,
/// durations, temporary paths, versions and commits.
fn normalised(text: &str, dir: &Path) -> String {
    // cargo's own lines depend on what an earlier test already compiled.
    let cargo = regex::Regex::new(
        r"^\s+(Compiling|Finished|Blocking|Downloaded|Downloading|Locking|Adding|Updating crates)",
    )
    .unwrap();
    let mut out: String = text
        .lines()
        .filter(|line| !cargo.is_match(line))
        .map(|line| format!("{line}\n"))
        .collect();
    out = out.replace(&dir.display().to_string(), "<project>");
    for (pattern, with) in [
        (r"sha256:[0-9a-f]{64}", "sha256:<digest>"),
        (r"sha256-[0-9a-f]{64}", "sha256-<digest>"),
        (r"\b[0-9a-f]{64}\b", "<hex>"),
        (r"[0-9]+(\.[0-9]+)? (ms|s|bytes|KiB|MiB|B)\b", "<n> $2"),
        (r#""(duration_ms|size)": [0-9.]+"#, "\"$1\": <n>"),
        (r"faas_sk_[0-9a-f]+", "faas_sk_<key>"),
        // The WASI patch release the toolchain's standard library imports moves with rustc.
        (r"@0\.2\.[0-9]+", "@0.2.<n>"),
    ] {
        out = regex::Regex::new(pattern)
            .unwrap()
            .replace_all(&out, with)
            .into_owned();
    }
    out
}

/// The human and JSON output of the main commands, on the sample function, against golden files
/// (`fixtures/output/`; `BLESS=1` rewrites them): a change of what people or programs read shows in
/// review.
#[test]
fn the_main_commands_say_what_the_goldens_say() {
    let (_tmp, dir) = new_function("golden");
    let goldens = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/output");
    let runs: &[(&str, &[&str])] = &[
        ("build.txt", &["build"]),
        ("build.json", &["build", "--json"]),
        ("wrap.txt", &["wrap"]),
        ("wrap.json", &["wrap", "--json"]),
        ("policy-check.txt", &["policy", "check", "auth.toml"]),
        ("test.txt", &["test"]),
        ("test.json", &["test", "--json"]),
        (
            "wrap-error.json",
            &["wrap", "--policy", "missing.toml", "--json"],
        ),
    ];
    for (file, args) in runs {
        let out = faas(&dir, args);
        let text = format!(
            "$ faas {}\n--- stdout\n{}--- stderr\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = normalised(&text, &dir);
        let path = goldens.join(file);
        if std::env::var_os("BLESS").is_some() {
            std::fs::create_dir_all(&goldens).unwrap();
            std::fs::write(&path, &text).unwrap();
        }
        let expected = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (BLESS=1 writes it)", path.display()));
        assert_eq!(
            text,
            expected,
            "{} differs (BLESS=1 rewrites it)",
            path.display()
        );
    }
}
