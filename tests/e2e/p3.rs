//! WASI 0.3: the sample wrapped for `--target wasi-http@0.3` (the HTTP adapter for
//! `wasi:http/handler@0.3`), and the policy as a middleware in front of a plain WASI 0.3 HTTP
//! component (`fixtures/components/p3-app`, built here, knowing nothing of faas) with `faas wrap
//! --http-component`; each served by faas serve and by the independent `wasmtime serve -Sp3`.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const READER: &str = "Bearer test-reader-key";
const ADMIN: &str = "Bearer test-admin-key";

/// A component of `fixtures/components/NAME`, built for wasm32-wasip2 into target/e2e-p3 (its
/// library `LIB.wasm`), copied to `NAME.wasm`.
fn build_fixture(name: &str, lib: &str) -> PathBuf {
    build_fixture_with(name, lib, None)
}

/// As [`build_fixture`], with a cargo feature, copied to `NAME-FEATURE.wasm`.
fn build_fixture_with(name: &str, lib: &str, feature: Option<&str>) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = root.join("target/e2e-p3");
    let target_dir = match feature {
        Some(feature) => out.join(format!("build-{feature}")),
        None => out.join("build"),
    };
    let status = std::process::Command::new("cargo")
        .current_dir(root.join("fixtures/components").join(name))
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .args(feature.map(|f| ["--features", f]).into_iter().flatten())
        .arg("--target-dir")
        .arg(&target_dir)
        .status()
        .unwrap();
    assert!(status.success());
    let copy = match feature {
        Some(feature) => out.join(format!("{name}-{feature}.wasm")),
        None => out.join(format!("{name}.wasm")),
    };
    std::fs::copy(
        target_dir.join(format!("wasm32-wasip2/release/{lib}.wasm")),
        &copy,
    )
    .unwrap();
    copy
}

/// The plain WASI 0.3 component, built once (also placed on wasmCloud's host: on_wash_host.rs).
pub(crate) fn p3_app() -> &'static PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| build_fixture("p3-app", "p3_app"))
}

/// The component wrapped with one command, in a fresh folder: (tempdir, artifact).
pub(crate) fn protected_app() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(p3_app(), tmp.path().join("app.wasm")).unwrap();
    let policy = policy_fixture("http-component.toml");
    let args = ["wrap", "--http-component", "app.wasm", "--policy"];
    let mut args = args.to_vec();
    args.push(policy.to_str().unwrap());
    let out = success(&faas(tmp.path(), &args));
    assert!(out.contains("http-middleware"), "{out}");
    let artifact = tmp.path().join("app.protected.wasm");
    (tmp, artifact)
}

/// `faas wrap --http-component app.wasm` in `dir` for wasmCloud 2.5+ (configuration, a key-value
/// store), under the policy `text` (written to `dir/jwt.toml`).
fn wrap_component_under(dir: &Path, text: &str) -> std::process::Output {
    std::fs::write(dir.join("jwt.toml"), text).unwrap();
    let policy = ["--policy", "jwt.toml", "--target", "wasmcloud@0.3"];
    faas(
        dir,
        &[&["wrap", "--http-component", "app.wasm"][..], &policy].concat(),
    )
}

/// A POST whose body of `size` bytes is sent chunked, so no `content-length` announces it.
fn chunked_post(addr: &str, path: &str, authorization: &str, size: usize) -> HttpResponse {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\
         authorization: {authorization}\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    let chunk = vec![b'x'; 16 * 1024];
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len());
        request.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        request.extend_from_slice(&chunk[..n]);
        request.extend_from_slice(b"\r\n");
        left -= n;
    }
    request.extend_from_slice(b"0\r\n\r\n");
    raw_http(addr, &request)
}

#[test]
fn the_sample_wrapped_for_wasi_0_3_answers_under_faas_serve_and_wasmtime_serve() {
    let (_tmp, dir) = built_function("p3-sample");
    success(&faas(&dir, &["wrap", "--target", "wasi-http@0.3"]));
    let artifact = dir.join("target/faas/p3-sample.wasm");
    let bytes = std::fs::read(&artifact).unwrap();
    assert_eq!(
        component_export_names(&bytes),
        vec!["wasi:http/handler@0.3.2"]
    );
    let key = format!("Bearer {}", sample_key(&dir));
    let check = |addr: &str| {
        let refused = http(addr, "GET", "/hello", &[], b"");
        assert_eq!(refused.status, 401, "{refused:?}");
        let allowed = http(addr, "POST", "/hello", &[("authorization", &key)], b"hi");
        assert_eq!(allowed.status, 200, "{allowed:?}");
        assert_eq!(allowed.json()["caller"], "sample-client");
        // Over the sample's 64 KiB limit, streamed without a length: refused while reading.
        let big = chunked_post(addr, "/hello", &key, 70 * 1024);
        assert_eq!(big.status, 413, "{big:?}");
    };
    let served = Served::start(&dir, &artifact);
    check(&served.addr);
    let (_, log) = served.stop();
    assert_eq!(audit_events(&log).len(), 3, "{log}");
    let wasmtime = WasmtimeServe::start_with(&artifact, &["-Sp3"]);
    check(&wasmtime.addr);
}

/// What the component behind saw of a request, from its answer.
fn seen(response: &HttpResponse) -> serde_json::Value {
    let seen = response.json();
    assert_eq!(seen["app"], "p3-app", "{seen}");
    seen
}

/// The middleware's behaviour, the same on every host: returns how many requests reached the
/// component behind.
fn exercise_the_middleware(addr: &str) -> usize {
    // No key: refused by the policy; the component never runs.
    let refused = http(addr, "GET", "/items", &[], b"");
    assert_eq!(refused.status, 401, "{refused:?}");
    assert_eq!(
        refused.header("www-authenticate"),
        Some("Bearer realm=\"faas\"")
    );
    // A key: the caller reaches the component in the headers only the middleware sets; the
    // credential does not, and a caller header the client sent is replaced.
    let allowed = http(
        addr,
        "GET",
        "/items?page=2",
        &[("authorization", READER), ("faas-caller-subject", "forged")],
        b"",
    );
    assert_eq!(allowed.status, 200, "{allowed:?}");
    let caller = seen(&allowed);
    assert_eq!(caller["path"], "/items?page=2");
    assert_eq!(caller["faas-caller-subject"], "reader");
    assert_eq!(caller["faas-caller-scheme"], "api-key");
    assert_eq!(caller["faas-caller-scopes"], "read");
    assert_eq!(caller["authorization"], serde_json::Value::Null);
    assert!(caller["traceparent"].as_str().unwrap().starts_with("00-"));
    // A missing scope: 403, and the component never runs.
    let forbidden = http(
        addr,
        "GET",
        "/admin/users",
        &[("authorization", READER)],
        b"",
    );
    assert_eq!(forbidden.status, 403, "{forbidden:?}");
    let admin = http(
        addr,
        "GET",
        "/admin/users",
        &[("authorization", ADMIN)],
        b"",
    );
    assert_eq!(admin.status, 200, "{admin:?}");
    assert_eq!(seen(&admin)["faas-caller-scopes"], "read admin");
    // A public route: no caller at all, whatever the client claims.
    let public = http(
        addr,
        "GET",
        "/health",
        &[("faas-caller-subject", "admin")],
        b"",
    );
    assert_eq!(public.status, 200, "{public:?}");
    assert_eq!(
        seen(&public)["faas-caller-subject"],
        serde_json::Value::Null
    );
    // A large body within the 1 MiB limit passes whole, streamed without a length.
    let large = chunked_post(addr, "/upload", READER, 900 * 1024);
    assert_eq!(large.status, 200, "{large:?}");
    assert_eq!(seen(&large)["body-bytes"], 900 * 1024);
    // Over it: 413 from the middleware, announced or not; the component never sees it.
    let streamed = chunked_post(addr, "/upload", READER, 3 * 1024 * 1024);
    assert_eq!(streamed.status, 413, "{streamed:?}");
    let announced = http(
        addr,
        "POST",
        "/upload",
        &[("authorization", READER)],
        &vec![b'y'; 2 << 20],
    );
    assert_eq!(announced.status, 413, "{announced:?}");
    4
}

fn handled(log: &str) -> usize {
    log.lines()
        .filter(|l| l.contains("p3-app: handled"))
        .count()
}

#[test]
fn a_plain_wasi_0_3_component_gets_the_policy_with_one_command() {
    let (tmp, artifact) = protected_app();
    let bytes = std::fs::read(&artifact).unwrap();
    assert_eq!(
        component_export_names(&bytes),
        vec!["wasi:http/handler@0.3.2"]
    );
    let inspected = success(&faas(
        tmp.path(),
        &["inspect", artifact.to_str().unwrap(), "--json"],
    ));
    let inspected: serde_json::Value = serde_json::from_str(&inspected).unwrap();
    let layers = names_in(&inspected, "layers", "layer");
    assert!(layers.contains(&"http-middleware"), "{layers:?}");
    assert!(layers.contains(&"function"), "{layers:?}");
    // The same inputs, the same bytes.
    std::fs::remove_file(&artifact).unwrap();
    let (_again, again) = protected_app();
    assert_eq!(std::fs::read(again).unwrap(), bytes);
    std::fs::write(&artifact, &bytes).unwrap();

    let served = Served::start(tmp.path(), &artifact);
    let reached = exercise_the_middleware(&served.addr);
    let (_, log) = served.stop();
    assert_eq!(handled(&log), reached, "{log}");
    let events = audit_events(&log);
    let refused: Vec<u64> = events
        .iter()
        .filter(|e| e["decision"] == "refused")
        .map(|e| e["status"].as_u64().unwrap())
        .collect();
    assert_eq!(refused, vec![401, 403, 413, 413], "{log}");
    assert!(!log.contains("test-reader-key"), "{log}");

    let wasmtime = WasmtimeServe::start_with(&artifact, &["-Sp3"]);
    let reached = exercise_the_middleware(&wasmtime.addr);
    assert_eq!(handled(&wasmtime.log()), reached, "{}", wasmtime.log());
}

/// The second review: the middleware dropped `faas-caller-subject` for a `sub` with a line break,
/// NUL or DEL while still sending scheme and scopes, and a scope holding a space reached the
/// component as two scopes, one of them `admin`.
#[test]
fn a_caller_the_headers_cannot_carry_exactly_is_refused_not_passed_on_in_part() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(p3_app(), tmp.path().join("app.wasm")).unwrap();
    const SECRET: &str = "a-test-hs256-secret-of-at-least-32-bytes";
    success(&wrap_component_under(
        tmp.path(),
        "version = 1\n[auth.jwt]\nissuers = [\"https://id.example\"]\naudiences = [\"api\"]\n\
         algorithms = [\"HS256\"]\nhs256-secret = { config = \"jwt-secret\" }\n\n\
         [[rule]]\npath = \"/**\"\nscopes = []\n",
    ));
    let artifact = tmp.path().join("app.protected.wasm");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token = |sub: &str, scope: serde_json::Value| {
        let claims = serde_json::json!({
            "iss": "https://id.example", "aud": "api", "sub": sub, "scope": scope,
            "exp": now + 300, "iat": now,
        });
        let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes());
        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        format!(
            "Bearer {}",
            jsonwebtoken::encode(&header, &claims, &key).unwrap()
        )
    };
    let check = |addr: &str, host: &str| {
        for sub in ["alice\nadmin", "alice\u{0}", "alice\u{7f}", "alice\u{9b}"] {
            let bearer = token(sub, "read".into());
            let r = http(addr, "GET", "/x", &[("authorization", &bearer)], b"");
            assert_eq!(r.status, 401, "{host} {sub:?}");
        }
        let bearer = token("alice", serde_json::json!(["read", "billing admin"]));
        let r = http(addr, "GET", "/x", &[("authorization", &bearer)], b"");
        assert_eq!(r.status, 401, "{host}: a scope with a space");
        let bearer = token("alice", "read write".into());
        let r = http(addr, "GET", "/x", &[("authorization", &bearer)], b"");
        assert_eq!(r.status, 200, "{host}");
        let seen = seen(&r);
        assert_eq!(seen["faas-caller-subject"], "alice", "{host}");
        assert_eq!(seen["faas-caller-scopes"], "read write", "{host}");
    };
    let config = format!("jwt-secret={SECRET}");
    let served = Served::start_with(tmp.path(), &artifact, &["--config", &config]);
    check(&served.addr, "faas serve");
    let (_, log) = served.stop();
    assert!(log.contains("the caller cannot be passed on"), "{log}");
    // The refusals' audit events name the subject escaped: one line of JSON each, no raw C1
    // control (U+009B is a terminal's CSI) or line break.
    let subjects: Vec<String> = audit_events(&log)
        .iter()
        .filter(|e| e["decision"] == "refused")
        .filter_map(|e| e["subject"].as_str().map(str::to_string))
        .collect();
    assert!(
        subjects.contains(&"alice\u{9b}".to_string()),
        "{subjects:?}"
    );
    assert!(
        subjects.contains(&"alice\nadmin".to_string()),
        "{subjects:?}"
    );
    assert!(!log.contains('\u{9b}'), "{log}");
    assert!(log.contains("alice\\u009b"), "{log}");
    let var = format!("config-var={config}");
    let wasmtime = WasmtimeServe::start_with(&artifact, &["-Sp3", "-Sconfig", &format!("-S{var}")]);
    check(&wasmtime.addr, "wasmtime serve");
}

/// The second review: a `jwks-uri` host became a grant of the whole artifact. A WASI 0.3
/// component's own `wasi:http/client` reaches the host directly, so a policy whose provider the
/// component's `outgoing-hosts` do not name is refused rather than let it reach the provider.
#[test]
fn a_components_own_client_cannot_inherit_the_verifiers_jwks_host() {
    let tmp = tempfile::tempdir().unwrap();
    let app = build_fixture_with("p3-app", "p3_app", Some("client"));
    std::fs::copy(app, tmp.path().join("app.wasm")).unwrap();
    let policy = |outgoing: &str| {
        format!(
            "version = 1\n[auth.jwt]\nissuers = [\"https://id.example\"]\naudiences = [\"api\"]\n\
             algorithms = [\"EdDSA\"]\njwks-uri = \"https://id.example/jwks.json\"\n\n\
             [capabilities]\nallow = [\"wasi:http/client\"]\n{outgoing}\n\
             [[rule]]\npath = \"/**\"\nscopes = []\n"
        )
    };
    let wrap = |text: String| wrap_component_under(tmp.path(), &text);
    let stderr = failure(&wrap(policy("")), 1);
    assert!(stderr.contains("wasi:http/client@0.3.2"), "{stderr}");
    assert!(
        stderr.contains("id.example (`jwks-uri`), the verifier's grant alone"),
        "{stderr}"
    );
    assert!(!tmp.path().join("app.protected.wasm").exists());
    // Granted to the component too, it is its own to reach.
    success(&wrap(policy("outgoing-hosts = [\"id.example\"]")));
}

/// The second review: under faas serve, instances streaming a large body to clients that never
/// read it ran past `--timeout`, and enough of them made every other request a 500 ("fibers
/// reached") for as long as the clients stayed.
#[test]
fn a_streamed_body_no_longer_outlives_the_timeout_or_turns_other_requests_into_500() {
    use std::io::Write;
    let (_tmp, artifact) = protected_app();
    let served = Served::start_with(
        artifact.parent().unwrap(),
        &artifact,
        &["--timeout", "2s", "--max-in-flight", "4"],
    );
    let addr = served.addr.clone();
    // Twelve clients ask for 64 MiB each and never read a byte of it.
    let stuck: Vec<std::net::TcpStream> = (0..12)
        .map(|_| {
            let mut stream = std::net::TcpStream::connect(&addr).unwrap();
            let request = format!(
                "GET /large?bytes=67108864 HTTP/1.1\r\nhost: {addr}\r\nauthorization: {READER}\r\n\r\n"
            );
            stream.write_all(request.as_bytes()).unwrap();
            stream
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(500));
    // Every request in flight counts: the server is full, and says so with 503, never 500.
    let statuses: Vec<u16> = (0..4)
        .map(|_| http(&addr, "GET", "/health", &[], b"").status)
        .collect();
    assert!(statuses.iter().all(|s| *s == 503), "{statuses:?}");
    // The deadline covers the body: past it, the instances are gone though the clients stay.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert_eq!(http(&addr, "GET", "/health", &[], b"").status, 200);
    drop(stuck);
    let (_, log) = served.stop();
    assert!(!log.contains("fibers"), "{log}");
    assert!(!log.lines().any(|l| l.contains("/health 500")), "{log}");
}

#[test]
fn what_the_middleware_cannot_wrap_is_refused_with_the_reason() {
    let (tmp, dir, p2_artifact) = wrapped_function("p2-served");
    let policy = dir.join("auth.toml");
    let wrap = |component: &Path, extra: &[&str]| {
        let mut args = vec![
            "wrap",
            "--http-component",
            component.to_str().unwrap(),
            "--policy",
            policy.to_str().unwrap(),
            "-o",
            "out.wasm",
        ];
        args.extend_from_slice(extra);
        faas(tmp.path(), &args)
    };
    // A WASI 0.2 HTTP component: it needs WASI 0.3, and the message says what to do.
    let p2 = failure(&wrap(&p2_artifact, &[]), 1);
    assert!(p2.contains("wasi:http/incoming-handler@0.2.12"), "{p2}");
    assert!(p2.contains("WASI 0.3"), "{p2}");
    let errors: Vec<&str> = p2.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{p2}");
    assert!(errors[0].contains("WASI 0.3"), "one line says it all: {p2}");
    // A function of the contract: that is what plain `faas wrap` is for.
    let function = dir.join("target/faas/p2-served.function.wasm");
    let contract = failure(&wrap(&function, &[]), 1);
    assert!(
        contract.contains("does not export wasi:http/handler@0.3.2"),
        "{contract}"
    );
    // A WASI 0.2 target never calls the middleware's export.
    let app = tmp.path().join("app.wasm");
    std::fs::copy(p3_app(), &app).unwrap();
    let target = failure(&wrap(&app, &["--target", "wasi-http"]), 1);
    assert!(target.contains("--target wasi-http@0.3"), "{target}");
    assert!(!tmp.path().join("out.wasm").exists());
    // And the WASI 0.3 flavour of wasmCloud takes it.
    success(&wrap(&app, &["--target", "wasmcloud@0.3"]));
}

/// A wasmcloud:secrets@2.1.0 backend (`fixtures/components/secrets-host`), built once.
fn secrets_host() -> &'static PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| build_fixture("secrets-host", "secrets_host"))
}

/// `socket` with `plug`'s exports satisfying its imports, as `wac plug` composes them: here, the
/// host's secrets backend standing in front of the artifact's `wasmcloud:secrets` imports.
fn plug(socket: &[u8], plug: &[u8]) -> Vec<u8> {
    use wac_graph::types::Package;
    let mut graph = wac_graph::CompositionGraph::new();
    let mut register = |name: &str, bytes: &[u8]| {
        let package = Package::from_bytes(name, None, bytes.to_vec(), graph.types_mut()).unwrap();
        graph.register_package(package).unwrap()
    };
    let socket = register("test:artifact", socket);
    let plug = register("test:secrets-host", plug);
    wac_graph::plug(&mut graph, vec![plug], socket).unwrap();
    graph.encode(wac_graph::EncodeOptions::default()).unwrap()
}

#[test]
fn credentials_from_wasmcloud_secrets_are_read_in_the_p3_flavour_only() {
    let (tmp, dir) = new_function("secret-reader");
    use_function_fixture(&dir, "reads-credentials.rs");
    let auth = dir.join("auth.toml");
    let mut policy = std::fs::read_to_string(&auth).unwrap();
    policy.push_str("\n[credentials]\ndb-password = { secret = \"db-password\" }\n");
    std::fs::write(&auth, policy).unwrap();
    success(&faas(&dir, &["build"]));
    // A WASI 0.2 artifact cannot wait for the async secrets store: refused, naming the target.
    let p2 = failure(&faas(&dir, &["wrap", "--target", "wasmcloud"]), 1);
    assert!(p2.contains("--target wasmcloud@0.3"), "{p2}");
    assert!(p2.contains("async"), "{p2}");
    let p2_default = failure(&faas(&dir, &["wrap"]), 1);
    assert!(
        p2_default.contains("wasmcloud:secrets@2.1.0"),
        "{p2_default}"
    );
    // A secret is not a verifier secret: refused at its line and column.
    let webhook = tmp.path().join("webhook.toml");
    std::fs::write(
        &webhook,
        "version = 1\n[auth.hmac]\nprovider = \"github\"\nsecret = { secret = \"hook\" }\n\
         [[rule]]\npath = \"/**\"\nsigned = true\n",
    )
    .unwrap();
    let refused = failure(
        &faas(tmp.path(), &["policy", "check", webhook.to_str().unwrap()]),
        1,
    );
    assert!(refused.contains("webhook.toml:4:"), "{refused}");

    let out = success(&faas(
        &dir,
        &["wrap", "--target", "wasmcloud@0.3", "--json"],
    ));
    let wrapped: serde_json::Value = serde_json::from_str(&out).unwrap();
    let layers = names_in(&wrapped, "layers", "layer");
    assert!(layers.contains(&"secrets"), "{layers:?}");
    let imports: Vec<&str> = wrapped["imports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap())
        .collect();
    assert!(
        imports.contains(&"wasmcloud:secrets/store@2.1.0"),
        "{imports:?}"
    );
    assert!(
        imports.contains(&"wasmcloud:secrets/reveal@2.1.0"),
        "{imports:?}"
    );
    let inspected = success(&faas(
        &dir,
        &["inspect", "target/faas/secret-reader.wasm", "--json"],
    ));
    let inspected: serde_json::Value = serde_json::from_str(&inspected).unwrap();
    assert_eq!(
        inspected["grants"]["secret_keys"],
        serde_json::json!(["db-password"])
    );

    // On a host whose secrets backend holds the key: the granted name reads it, the ungranted one
    // is denied, and the backend is asked for the granted key only.
    let artifact = std::fs::read(dir.join("target/faas/secret-reader.wasm")).unwrap();
    let hosted = tmp.path().join("hosted.wasm");
    std::fs::write(
        &hosted,
        plug(&artifact, &std::fs::read(secrets_host()).unwrap()),
    )
    .unwrap();
    let key = format!("Bearer {}", sample_key(&dir));
    let check = |addr: &str| {
        let answer = http(addr, "GET", "/", &[("authorization", &key)], b"");
        assert_eq!(answer.status, 200, "{answer:?}");
        let body = answer.json();
        assert_eq!(body["granted"], "value:s3cret-from-the-host");
        assert_eq!(body["ungranted"], "denied");
        // Refused requests never reach the secrets backend.
        assert_eq!(http(addr, "GET", "/", &[], b"").status, 401);
    };
    let wasmtime = WasmtimeServe::start_with(&hosted, &["-Sp3"]);
    check(&wasmtime.addr);
    let log = wasmtime.log();
    let asked: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split("secrets-host: get ").nth(1))
        .map(str::trim)
        .collect();
    assert_eq!(asked, vec!["db-password"], "{log}");
    let served = Served::start(&dir, &hosted);
    check(&served.addr);
    drop(served);
    // faas serve is a wasmcloud:secrets host itself: the artifact as wrapped, `--secret` values.
    let artifact = dir.join("target/faas/secret-reader.wasm");
    let own = Served::start_with(
        &dir,
        &artifact,
        &["--secret", "db-password=from-faas-serve"],
    );
    let answer = http(&own.addr, "GET", "/", &[("authorization", &key)], b"");
    assert_eq!(
        answer.json()["granted"],
        "value:from-faas-serve",
        "{answer:?}"
    );
    drop(own);
    let unset = Served::start(&dir, &artifact);
    let answer = http(&unset.addr, "GET", "/", &[("authorization", &key)], b"");
    assert_eq!(answer.json()["granted"], "not-found", "{answer:?}");
}
