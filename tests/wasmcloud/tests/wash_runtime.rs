//! `faas wrap --target wash-runtime` on wasmCloud's runtime library as crates.io has it
//! (wash-runtime 0.1.0), for what wasmCloud's own host cannot check: that version supplies run-time
//! configuration as the draft `wasi:config/runtime@0.2.0-draft`, which the configuration bridge
//! layer turns into the `wasi:config/store` the layers read; `wash host` 2.10 supplies `store`
//! itself. Everything else about wasmCloud runs on real `wash host` processes
//! (tests/e2e/on_wash_host.rs).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::Arc;
use wash_runtime::engine::Engine;
use wash_runtime::host::{HostApi, HostBuilder};
use wash_runtime::plugin::wasi_config::RuntimeConfig;
use wash_runtime::plugin::wasi_http::HttpServer;
use wash_runtime::types::{Component, LocalResources, Workload, WorkloadStartRequest};
use wash_runtime::wit::WitInterface;

/// Scaffolds a function (the sample, or the fixture `function`), builds it and wraps it with its
/// policy (or `policy`) for `target`; returns the artifact and the sample key.
fn wrapped(
    dir: &std::path::Path,
    function: Option<&str>,
    policy: Option<&str>,
    target: &str,
) -> (Vec<u8>, String) {
    let name = faas::project::FunctionName::try_from("on-wasmcloud".to_string()).unwrap();
    let root = dir.join("on-wasmcloud");
    let scaffolded = faas::new::scaffold(&name, faas::new::Template::RustHttp, &root).unwrap();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    if let Some(function) = function {
        std::fs::copy(
            fixtures.join("functions").join(function),
            root.join("src/lib.rs"),
        )
        .unwrap();
    }
    if let Some(policy) = policy {
        std::fs::write(root.join("auth.toml"), policy).unwrap();
    }
    let project = faas::project::Project::load(&root).unwrap();
    faas::build::build_project(
        &project,
        faas::build::Profile::Release,
        &project.function_output(),
    )
    .unwrap();
    let wrapped = faas::wrap::wrap(&faas::wrap::WrapOptions {
        target: Some(target.into()),
        ..faas::wrap::WrapOptions::for_project(&project)
    })
    .unwrap();
    (std::fs::read(wrapped.path).unwrap(), scaffolded.sample_key)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One request over a real socket: the status and the body.
fn get(addr: &str, headers: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET / HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n{headers}\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

/// A wash-runtime host with its HTTP plugin on `addr` and its configuration plugin, running
/// `artifact` as the workload `name` with `interfaces`; the host (serving while it is kept) and
/// the workload's state.
async fn run_on_wash_runtime(
    addr: &str,
    name: &str,
    artifact: Vec<u8>,
    interfaces: Vec<WitInterface>,
) -> (Arc<wash_runtime::host::Host>, String) {
    let host = HostBuilder::new()
        .with_engine(Engine::builder().build().unwrap())
        .with_plugin(Arc::new(HttpServer::new(addr.parse().unwrap())))
        .unwrap()
        .with_plugin(Arc::new(RuntimeConfig::default()))
        .unwrap()
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let started = host
        .workload_start(WorkloadStartRequest {
            workload: Workload {
                namespace: "faas".into(),
                name: name.into(),
                annotations: HashMap::new(),
                service: None,
                components: vec![Component {
                    bytes: artifact.into(),
                    local_resources: LocalResources::default(),
                    pool_size: 1,
                    max_invocations: 100,
                }],
                host_interfaces: interfaces,
                volumes: vec![],
            },
        })
        .await
        .expect("wash-runtime starts the wrapped artifact");
    let state = format!("{:?}", started.workload_status.workload_state);
    (host, state)
}

/// The `wasi:http` host interface routing every host to the workload. wash-runtime 0.1.0 binds
/// its HTTP plugin only to an unversioned interface (or one of the artifact's exact version); the
/// current host links `0.2.0` by semver (docs/deploy.md).
fn http_interface() -> WitInterface {
    let mut http = WitInterface::from("wasi:http/incoming-handler");
    http.config.insert("host".into(), "*".into());
    http
}

#[tokio::test(flavor = "multi_thread")]
async fn a_granted_credential_is_read_through_the_config_plugin() {
    let dir = tempfile::tempdir().unwrap();
    // wash-runtime 0.1's configuration plugin supplies wasi:config/runtime@0.2.0-draft, not the
    // wasi:config/store@0.2.0-rc.1 the layers read: `--target wash-runtime` adds the bridge layer.
    let policy = "version = 1\n[credentials]\ndb-password = { config = \"orders-db-password\" }\n\n\
                  [[rule]]\npath = \"/**\"\npublic = true\n";
    let (artifact, _) = tokio::task::spawn_blocking({
        let dir = dir.path().to_path_buf();
        move || {
            wrapped(
                &dir,
                Some("reads-credentials.rs"),
                Some(policy),
                "wash-runtime",
            )
        }
    })
    .await
    .unwrap();
    let note = faas::artifact::read_layers(&artifact).unwrap();
    assert!(
        note.layers.iter().any(|l| l.layer == "config-bridge"),
        "{:?}",
        note.layers
    );

    let mut config = WitInterface::from("wasi:config/runtime");
    for (key, value) in [
        ("orders-db-password", "s3cret"),
        ("admin-token", "never-granted"),
    ] {
        config.config.insert(key.into(), value.into());
    }
    let addr = format!("127.0.0.1:{}", free_port());
    let (_host, state) = run_on_wash_runtime(
        &addr,
        "credentials",
        artifact,
        vec![http_interface(), config],
    )
    .await;
    assert_eq!(state, "Running", "wash-runtime links the bridged artifact");
    let (status, body) = tokio::task::spawn_blocking(move || get(&addr, ""))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    // The granted name is read through the plugin; the other is denied by the provider, though
    // the host holds a value for it.
    assert!(body.contains("\"granted\":\"value:s3cret\""), "{body}");
    assert!(body.contains("\"ungranted\":\"denied\""), "{body}");
}
