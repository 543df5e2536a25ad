//! `faas serve` as a host that one buggy function cannot take down: deadlines, memory caps,
//! connection limits and timeouts, graceful shutdown. The function
//! (`fixtures/functions/misbehaves.rs`) loops forever on `/spin`, allocates without end on `/oom`
//! and answers after 2 s on `/slow`.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The misbehaving function wrapped with a public policy for the http and cli triggers, built once
/// for the module in target/e2e-host.
fn artifact() -> &'static Path {
    static ARTIFACT: OnceLock<PathBuf> = OnceLock::new();
    ARTIFACT.get_or_init(|| {
        let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-host-open.toml");
        std::fs::write(
            &policy,
            "version = 1\n[[rule]]\npath = \"/**\"\npublic = true\n",
        )
        .unwrap();
        build_and_wrap_fixture(
            "e2e-host",
            "misbehaves",
            "misbehaves.rs",
            &policy,
            &["--triggers", "http,cli"],
        )
    })
}

fn serve(extra: &[&str]) -> Served {
    let artifact = artifact();
    let mut args = vec!["--no-cache"];
    args.extend_from_slice(extra);
    Served::start_with(artifact.parent().unwrap(), artifact, &args)
}

fn get(addr: &str, path: &str) -> u16 {
    http(addr, "GET", path, &[], b"").status
}

/// CPU time (user + system) the process has used, from /proc, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command name (which is in parentheses): utime is the 12th, stime 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
fn a_function_that_loops_forever_gets_504_while_everyone_else_is_answered() {
    let served = serve(&["--timeout", "3s"]);
    let addr = served.addr.clone();
    let spinners: Vec<_> = (0..3)
        .map(|_| {
            let addr = addr.clone();
            std::thread::spawn(move || get(&addr, "/spin"))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // Three spinning instances on two cores: the others are still answered.
    for _ in 0..5 {
        assert_eq!(get(&addr, "/"), 200);
    }
    for spinner in spinners {
        assert_eq!(spinner.join().unwrap(), 504);
    }
    // The interrupted instances are gone: the process is idle again.
    std::thread::sleep(Duration::from_millis(500));
    let before = cpu_ticks(served.child.id());
    std::thread::sleep(Duration::from_secs(1));
    let used = cpu_ticks(served.child.id()) - before;
    assert!(used < 20, "{used} ticks of CPU in a second while idle");
    let (status, log) = served.stop();
    assert!(status.success(), "{log}");
    assert!(
        log.contains("GET /spin: the function ran past its 3s deadline and was interrupted"),
        "{log}"
    );
}

#[test]
fn a_function_that_allocates_without_end_gets_500_at_the_memory_cap() {
    // The deadline is far away: a 500 (not 504) means the cap stopped it.
    let served = serve(&["--timeout", "60s", "--max-memory", "64MiB"]);
    assert_eq!(get(&served.addr, "/oom"), 500);
    assert_eq!(get(&served.addr, "/"), 200);
    let (_, log) = served.stop();
    assert!(
        log.contains("GET /oom: the function's memory grew past the cap of 64 MiB"),
        "{log}"
    );
}

#[test]
fn idle_connections_beyond_the_descriptor_limit_leave_the_server_answering() {
    let artifact = artifact();
    let faas_binary = env!("CARGO_BIN_EXE_faas");
    let script = format!(
        "ulimit -n 256 && exec {faas_binary} serve {} --addr 127.0.0.1:0 --no-cache --header-timeout 2s",
        artifact.display()
    );
    let mut command = std::process::Command::new("sh");
    command.args(["-c", &script]);
    let served = Served::spawn(command);
    let addr = served.addr.clone();
    // 300 connections that never send a byte.
    let idle: Vec<_> = (0..300)
        .filter_map(|_| std::net::TcpStream::connect(&addr).ok())
        .collect();
    assert!(idle.len() > 256, "only {} connections opened", idle.len());
    // Idle connections are closed after the header timeout, and the server goes on accepting.
    assert_eq!(get(&addr, "/"), 200);
    drop(idle);
    let (status, log) = served.stop();
    assert!(status.success(), "the server did not stop cleanly: {log}");
}

#[test]
fn a_half_sent_request_is_closed_after_the_header_timeout() {
    use std::io::{Read, Write};
    let served = serve(&["--header-timeout", "1s"]);
    let mut stream = std::net::TcpStream::connect(&served.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n").unwrap();
    let started = Instant::now();
    let mut rest = Vec::new();
    // The server closes the connection (EOF), rather than this read timing out.
    let closed = stream.read_to_end(&mut rest).is_ok();
    assert!(closed, "still open after {:?}", started.elapsed());
    assert!(!String::from_utf8_lossy(&rest).contains(" 200 "));
    assert_eq!(get(&served.addr, "/"), 200);
}

#[test]
fn sigterm_during_a_slow_request_lets_it_finish_then_exits_0() {
    let served = serve(&[]);
    let addr = served.addr.clone();
    let slow = std::thread::spawn(move || get(&addr, "/slow"));
    std::thread::sleep(Duration::from_millis(500));
    let (status, log) = served.terminate();
    assert_eq!(slow.join().unwrap(), 200, "{log}");
    assert!(status.success(), "{status}: {log}");
    assert!(log.contains("GET /slow 200"), "{log}");
}

#[test]
fn sigterm_while_an_instance_spins_exits_by_the_drain_deadline() {
    let served = serve(&["--timeout", "120s", "--drain-timeout", "1s"]);
    let addr = served.addr.clone();
    let spinner = std::thread::spawn(move || get(&addr, "/spin"));
    std::thread::sleep(Duration::from_millis(500));
    let (status, log) = served.terminate();
    assert!(status.success(), "{status}: {log}");
    assert_eq!(spinner.join().unwrap(), 503);
    assert!(log.contains("interrupting them"), "{log}");
}

#[test]
fn faas_invoke_applies_the_same_deadline() {
    let artifact = artifact();
    let dir = artifact.parent().unwrap();
    std::fs::write(dir.join("spin.json"), r#"{"method":"GET","path":"/spin"}"#).unwrap();
    let out = faas(
        dir,
        &[
            "invoke",
            artifact.to_str().unwrap(),
            "--request",
            "spin.json",
            "--timeout",
            "1s",
            "--no-cache",
        ],
    );
    let stderr = failure(&out, 1);
    assert!(stderr.contains("ran past its 1s deadline"), "{stderr}");
}
