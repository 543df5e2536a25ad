//! `faas dev`: one process, one port, a new version on every save.

use crate::common::*;
use serde_json::Value;
use std::io::{BufRead, Read, Write};
use std::path::Path;
use std::sync::mpsc::Receiver;
use std::time::Duration;

/// A running `faas dev --json`: its events as they come, its stderr in a file.
struct Dev {
    child: std::process::Child,
    addr: String,
    events: Receiver<Value>,
    stderr: tempfile::NamedTempFile,
}

impl Dev {
    fn start(dir: &Path) -> Dev {
        let stderr = tempfile::NamedTempFile::new().unwrap();
        let mut child = faas_command(dir, &["dev", "--addr", "127.0.0.1:0", "--json"])
            .stdout(std::process::Stdio::piped())
            .stderr(stderr.reopen().unwrap())
            .spawn()
            .unwrap();
        let (send, events) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let event = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not a JSON event: {line:?}: {e}"));
                if send.send(event).is_err() {
                    break;
                }
            }
        });
        let ready: Value = events.recv_timeout(Duration::from_secs(30)).unwrap();
        assert_eq!(ready["event"], "ready", "{ready}");
        Dev {
            addr: ready["addr"].as_str().unwrap().to_string(),
            child,
            events,
            stderr,
        }
    }

    /// The next reload or failure (a build takes a while on a busy machine).
    fn next(&self) -> Value {
        self.events
            .recv_timeout(Duration::from_secs(240))
            .unwrap_or_else(|_| panic!("no event from faas dev; stderr:\n{}", self.stderr()))
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.stderr.path()).unwrap()
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} has no {from:?}");
    std::fs::write(&path, text.replace(from, to)).unwrap();
}

#[test]
fn faas_dev_reloads_on_save_keeps_the_last_good_version_and_finishes_requests_in_flight() {
    let (_tmp, dir) = new_function("dev-loop");
    let key = sample_key(&dir);
    let bearer = format!("Bearer {key}");
    let dev = Dev::start(&dir);
    let first = dev.next();
    assert_eq!(first["event"], "reloaded", "{first}\n{}", dev.stderr());
    assert_eq!(first["changed"], serde_json::json!([]));
    // Compiled with Winch (a development loop's compiler), and the policy holds there too.
    assert_eq!(first["compiler"], "Winch", "{first}");
    assert_eq!(http(&dev.addr, "GET", "/", &[], b"").status, 401);
    let greeting = || {
        let response = http(&dev.addr, "GET", "/", &[("authorization", &bearer)], b"");
        assert_eq!(response.status, 200, "{}", dev.stderr());
        response.json()["message"].as_str().unwrap().to_string()
    };
    assert_eq!(greeting(), "Hello, sample-client!");

    // A save is served on the next request: same process, same port.
    edit(
        &dir,
        "src/lib.rs",
        "\"Hello, {subject}!\"",
        "\"Howdy, {subject}!\"",
    );
    let reloaded = dev.next();
    assert_eq!(
        reloaded["event"],
        "reloaded",
        "{reloaded}\n{}",
        dev.stderr()
    );
    assert_eq!(reloaded["changed"], serde_json::json!(["src/lib.rs"]));
    assert_eq!(reloaded["rebuilt"], true);
    assert_ne!(reloaded["digest"], first["digest"]);
    assert_eq!(greeting(), "Howdy, sample-client!");

    // A syntax error: the compiler's message is shown, the last good version keeps answering.
    edit(
        &dir,
        "src/lib.rs",
        "\"Howdy, {subject}!\")",
        "\"Howdy, {subject}!\"",
    );
    let failed = dev.next();
    assert_eq!(failed["event"], "failed", "{failed}");
    assert_eq!(failed["stage"], "build");
    let stderr = dev.stderr();
    assert!(stderr.contains("--> src/lib.rs:"), "{stderr}");
    assert!(
        stderr.contains("the last good version keeps serving"),
        "{stderr}"
    );
    assert_eq!(greeting(), "Howdy, sample-client!");
    edit(
        &dir,
        "src/lib.rs",
        "\"Howdy, {subject}!\"",
        "\"Howdy, {subject}!\")",
    );
    assert_eq!(dev.next()["event"], "reloaded");

    // A request in flight during a reload completes: its head arrives, then the policy changes
    // (GET /** made public), then its body.
    let mut in_flight = std::net::TcpStream::connect(&dev.addr).unwrap();
    in_flight
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        in_flight,
        "POST / HTTP/1.1\r\nhost: x\r\nauthorization: {bearer}\r\ncontent-length: 5\r\nconnection: close\r\n\r\nab"
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let before = http(&dev.addr, "GET", "/", &[], b"");
    assert_eq!(before.status, 401, "no key, not public yet");
    edit(&dir, "auth.toml", "path = \"/health\"", "path = \"/**\"");
    let policy = dev.next();
    assert_eq!(policy["event"], "reloaded", "{policy}\n{}", dev.stderr());
    assert_eq!(policy["changed"], serde_json::json!(["auth.toml"]));
    assert_eq!(policy["rebuilt"], false, "a policy change only re-wraps");
    in_flight.write_all(b"cde").unwrap();
    let mut answer = String::new();
    in_flight.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("Howdy"), "{answer}");
    let after = http(&dev.addr, "GET", "/", &[], b"");
    assert_eq!(after.status, 200, "the new policy applies to new requests");

    // A policy error names its line and column; the last good policy keeps applying.
    edit(
        &dir,
        "auth.toml",
        "path = \"/**\"\npublic",
        "pth = \"/**\"\npublic",
    );
    let failed = dev.next();
    assert_eq!(failed["stage"], "wrap", "{failed}");
    let message = failed["message"].as_str().unwrap();
    assert!(message.contains("auth.toml:"), "{message}");
    assert_eq!(http(&dev.addr, "GET", "/", &[], b"").status, 200);

    edit(
        &dir,
        "auth.toml",
        "pth = \"/**\"\npublic",
        "path = \"/**\"\npublic",
    );
    assert_eq!(dev.next()["event"], "reloaded");

    // faas.toml is read again on each change: a typo there is named, and fixing it reloads.
    edit(&dir, "faas.toml", "version = ", "vrsion = ");
    let failed = dev.next();
    assert_eq!(failed["stage"], "project", "{failed}");
    assert!(
        failed["message"].as_str().unwrap().contains("faas.toml:"),
        "{failed}"
    );
    edit(&dir, "faas.toml", "vrsion = ", "version = ");
    let fixed = dev.next();
    assert_eq!(fixed["event"], "reloaded", "{fixed}\n{}", dev.stderr());
}

/// A Python or JavaScript `faas dev` session as a new user has it right after `faas new`: the
/// development artifact is built once (the tool installed on the way), then a save of the source
/// is served by the next request without a build, a syntax error names its line and keeps the
/// last good source serving, and the development artifact is never published.
fn interpreted_dev_loop(
    template: &str,
    file: &str,
    broken: (&str, &str),
    line: &str,
) -> (tempfile::TempDir, std::path::PathBuf, Dev) {
    let name = format!("dev-{}", template.trim_end_matches("-http"));
    let tmp = tempfile::tempdir().unwrap();
    success(&faas(tmp.path(), &["new", &name, "--template", template]));
    let dir = tmp.path().join(&name);
    let dev = Dev::start(&dir);
    let first = dev.next();
    assert_eq!(first["event"], "reloaded", "{first}\n{}", dev.stderr());
    assert_eq!(first["development"], true, "{first}");
    assert_eq!(first["reload"], "build", "{first}");
    let health = || {
        let response = http(&dev.addr, "GET", "/health", &[], b"");
        assert_eq!(response.status, 200, "{}", dev.stderr());
        response.json()["message"].as_str().unwrap().to_string()
    };
    assert_eq!(health(), format!("Hello from {name}!"));
    // The policy holds in the development artifact as in the built one.
    assert_eq!(http(&dev.addr, "GET", "/", &[], b"").status, 401);

    // A save: no build, no wrap, the same artifact; the next request runs the new source.
    edit(&dir, file, "Hello from", "Howdy from");
    let saved = dev.next();
    assert_eq!(saved["event"], "reloaded", "{saved}\n{}", dev.stderr());
    assert_eq!(saved["reload"], "source", "{saved}");
    assert_eq!(saved["rebuilt"], false, "{saved}");
    assert_eq!(saved["digest"], first["digest"], "{saved}");
    assert_eq!(health(), format!("Howdy from {name}!"));

    // A syntax error: its place in the dev log, and the last good source keeps answering.
    edit(&dir, file, broken.0, broken.1);
    let failed = dev.next();
    assert_eq!(failed["event"], "failed", "{failed}");
    assert_eq!(failed["stage"], "build", "{failed}");
    let message = failed["message"].as_str().unwrap();
    assert!(message.starts_with(&format!("{file}:{line}:")), "{message}");
    assert!(message.contains("SyntaxError"), "{message}");
    assert_eq!(health(), format!("Howdy from {name}!"));
    edit(&dir, file, broken.1, broken.0);
    assert_eq!(dev.next()["reload"], "source");
    assert_eq!(health(), format!("Howdy from {name}!"));

    // Never published, and `faas inspect` says what it is.
    let artifact = format!("target/faas/dev/{name}.wasm");
    let inspected = success(&faas(&dir, &["inspect", &artifact, "--json"]));
    let inspected: serde_json::Value = serde_json::from_str(&inspected).unwrap();
    assert_eq!(inspected["development"], true, "{inspected}");
    let published = faas(&dir, &["publish", "--artifact", &artifact]);
    assert_eq!(published.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&published.stderr);
    assert!(
        stderr.contains("a development artifact of faas dev"),
        "{stderr}"
    );
    assert!(
        !dir.join("target/faas/oci").exists(),
        "nothing half-published"
    );
    (tmp, dir, dev)
}

#[test]
fn faas_dev_serves_a_python_save_without_a_rebuild() {
    let (_tmp, dir, dev) = interpreted_dev_loop(
        "python-http",
        "app.py",
        (
            "def _is_json(body: bytes) -> bool:",
            "def _is_json(body: bytes) -> bool",
        ),
        "37",
    );
    // A module the stand-in was not built with (it can import modules only while it is built):
    // the stand-in is built again, and the new source is served by it, never by the old one.
    let app = std::fs::read_to_string(dir.join("app.py")).unwrap();
    let changed = app
        .replace("import json\n", "import base64\nimport json\n")
        .replace(
            "\"path\": req.path,",
            "\"path\": req.path,\n            \"encoded\": base64.b64encode(b\"hi\").decode(),",
        );
    assert!(changed.contains("import base64") && changed.contains("\"encoded\""));
    // One write: both changes are one save.
    std::fs::write(dir.join("app.py"), changed).unwrap();
    let rebuilt = dev.next();
    assert_eq!(rebuilt["event"], "reloaded", "{rebuilt}\n{}", dev.stderr());
    assert_eq!(rebuilt["reload"], "build", "{rebuilt}");
    let response = http(&dev.addr, "GET", "/health", &[], b"");
    assert_eq!(response.status, 200, "{}", dev.stderr());
    assert_eq!(response.json()["encoded"], "aGk=");
}

#[test]
fn faas_dev_serves_a_javascript_save_without_a_rebuild() {
    interpreted_dev_loop(
        "js-http",
        "app.js",
        ("const caller = ", "const caller = = "),
        "17",
    );
}
