//! faas artifacts on wasmCloud's own host, `wash host` 2.10, placed from the `WorkloadDeployment`
//! that `faas deploy` writes as the runtime operator places it (tests/e2e/wash.rs): pulled from a
//! real registry, routed by the `Host` header, with the policy enforced by the artifact. Each
//! check is an answer, never a log line.

use crate::common::*;
use crate::warm::{audited_as_answered, interleave_callers};
use crate::wash::{Cluster, place};
use serde_json::{Value, json};
use std::path::Path;

/// The group label of the tests' hosts, which the deployments' `hostSelector` names.
const GROUP: &str = "faas-e2e";

/// Appends a `[deploy]` table to the project's faas.toml.
fn deploy_table(dir: &Path, table: &str) {
    let path = dir.join("faas.toml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&format!(
        "\n[deploy]\nhost-selector = {{ hostgroup = \"{GROUP}\" }}\n{table}\n"
    ));
    std::fs::write(path, text).unwrap();
}

/// Signs and publishes the project's wrapped artifact to `registry`, then writes its wasmCloud
/// manifests; returns the WorkloadDeployment as JSON.
fn publish_and_deploy(dir: &Path, registry: &Registry, repository: &str) -> Value {
    success(&faas(
        dir,
        &["keygen", "--key", "faas.key", "--pub", "faas.pub"],
    ));
    let reference = format!("{}/{repository}:0.1.0", registry.addr);
    success(&faas(dir, &["publish", &reference, "--key", "faas.key"]));
    success(&faas(
        dir,
        &["deploy", "--emit", "wasmcloud", "-o", "deploy"],
    ));
    yaml(&dir.join("deploy/workload.yaml"))
}

fn get(addr: &str, host: &str, key: Option<&str>) -> HttpResponse {
    let bearer = key.map(|k| format!("Bearer {k}"));
    let mut headers = vec![("host", host)];
    if let Some(bearer) = &bearer {
        headers.push(("authorization", bearer));
    }
    http(addr, "GET", "/", &headers, b"")
}

#[test]
fn three_replicas_answer_on_three_hosts_with_the_policy_enforced() {
    let registry = Registry::start();
    let (_tmp, dir) = built_function("replicated");
    deploy_table(&dir, "replicas = 3\nhost = \"replicated.test\"");
    success(&faas(&dir, &["wrap", "--target", "wasmcloud"]));
    let deployment = publish_and_deploy(&dir, &registry, "team/replicated");
    let key = sample_key(&dir);

    let cluster = Cluster::start(&["h1", "h2", "h3"], GROUP);
    let placements = place(&deployment, &[], &cluster.beats).unwrap();
    assert_eq!(placements.len(), 3);
    cluster.start_all(&placements);
    for placement in &placements {
        let addr = Cluster::http_addr(&placement.host);
        let what = &placement.host.hostname;
        assert_eq!(get(&addr, "replicated.test", None).status, 401, "{what}");
        let r = get(&addr, "replicated.test", Some(&key));
        assert_eq!(
            r.status,
            200,
            "{what}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(r.json()["caller"], "sample-client", "{what}");
        // Routed by the Host header: another host name reaches no workload.
        assert_ne!(get(&addr, "other.test", Some(&key)).status, 200, "{what}");
    }

    // `workload.stop` leaves nothing answering.
    for placement in &placements {
        let id = placement.request["workloadId"].as_str().unwrap();
        cluster.stop(&placement.host, id);
        let addr = Cluster::http_addr(&placement.host);
        assert_ne!(get(&addr, "replicated.test", Some(&key)).status, 200);
    }
}

#[test]
fn credentials_from_config_maps_and_secrets_reach_the_function() {
    let registry = Registry::start();
    let (_tmp, dir) = new_function("credentialed");
    use_function_fixture(&dir, "reads-credentials.rs");
    success(&faas(&dir, &["build"]));
    let auth = dir.join("auth.toml");
    let mut policy = std::fs::read_to_string(&auth).unwrap();
    policy.push_str("\n[credentials]\ndb-password = { config = \"db-password-key\" }\n");
    std::fs::write(&auth, policy).unwrap();
    deploy_table(
        &dir,
        "host = \"credentialed.test\"\nconfig-from = [\"credentialed-config\"]\n\
         secret-from = [\"credentialed-secrets\"]",
    );
    success(&faas(&dir, &["wrap", "--target", "wasmcloud"]));
    let deployment = publish_and_deploy(&dir, &registry, "team/credentialed");
    let key = sample_key(&dir);

    // As a platform team would write them: the Secret's value wins over the ConfigMap's.
    let objects = [
        json!({"kind": "ConfigMap", "metadata": {"name": "credentialed-config", "namespace": "default"},
               "data": {"db-password-key": "from-the-config-map"}}),
        json!({"kind": "Secret", "metadata": {"name": "credentialed-secrets", "namespace": "default"},
               "data": {"db-password-key": "ZnJvbS10aGUtc2VjcmV0"}}),
    ];
    let cluster = Cluster::start(&["h1"], GROUP);
    let placements = place(&deployment, &objects, &cluster.beats).unwrap();
    cluster.start_all(&placements);
    let addr = Cluster::http_addr(&placements[0].host);
    let r = get(&addr, "credentialed.test", Some(&key));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["granted"], "value:from-the-secret");
    assert_eq!(r.json()["ungranted"], "denied");
    assert_eq!(get(&addr, "credentialed.test", None).status, 401);
}

/// The plain WASI 0.3 component (`fixtures/components/p3-app`) wrapped with `faas wrap
/// --http-component` and the fixture policy `http-component.toml` in a project `name` with
/// `deploy` as its `[deploy]` table, signed, published and deployed; returns its deployment.
fn protected_component(
    registry: &Registry,
    name: &str,
    deploy: &str,
) -> (tempfile::TempDir, Value) {
    let (tmp, project) = new_function(name);
    deploy_table(&project, deploy);
    std::fs::copy(crate::p3::p3_app(), project.join("app.wasm")).unwrap();
    let policy = policy_fixture("http-component.toml");
    let policy = policy.to_str().unwrap();
    let wrap = [
        "wrap",
        "--http-component",
        "app.wasm",
        "--policy",
        policy,
        "-o",
        "app.protected.wasm",
    ];
    success(&faas(&project, &wrap));
    success(&faas(
        &project,
        &["keygen", "--key", "faas.key", "--pub", "faas.pub"],
    ));
    let reference = format!("{}/team/{name}:0.1.0", registry.addr);
    let publish = [
        "publish",
        &reference,
        "--artifact",
        "app.protected.wasm",
        "--key",
        "faas.key",
    ];
    success(&faas(&project, &publish));
    success(&faas(
        &project,
        &["deploy", &reference, "--emit", "wasmcloud", "-o", "deploy"],
    ));
    (tmp, yaml(&project.join("deploy/workload.yaml")))
}

#[test]
fn wasi_0_3_artifacts_answer_with_the_policy_enforced() {
    let registry = Registry::start();
    // A function wrapped for wasmCloud's WASI 0.3 flavour.
    let (_tmp, function) = built_function("p3-function");
    deploy_table(&function, "host = \"p3-function.test\"");
    success(&faas(&function, &["wrap", "--target", "wasmcloud@0.3"]));
    let function_deployment = publish_and_deploy(&function, &registry, "team/p3-function");
    let key = sample_key(&function);
    // A plain WASI 0.3 component that knows nothing of faas, wrapped with one command.
    let (_tmp2, component_deployment) =
        protected_component(&registry, "p3-component", "host = \"p3-component.test\"");
    for deployment in [&function_deployment, &component_deployment] {
        let http = &deployment["spec"]["template"]["spec"]["hostInterfaces"][0];
        assert_eq!(
            (&http["version"], &http["interfaces"]),
            (&json!("0.3.0"), &json!(["handler"]))
        );
    }

    let cluster = Cluster::start(&["h1"], GROUP);
    for deployment in [&function_deployment, &component_deployment] {
        cluster.start_all(&place(deployment, &[], &cluster.beats).unwrap());
    }
    let addr = Cluster::http_addr(&cluster.beats[0]);
    assert_eq!(get(&addr, "p3-function.test", None).status, 401);
    let r = get(&addr, "p3-function.test", Some(&key));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["caller"], "sample-client");
    assert_eq!(get(&addr, "p3-component.test", None).status, 401);
    let r = get(&addr, "p3-component.test", Some("test-reader-key"));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["app"], "p3-app");
    assert_eq!(r.json()["faas-caller-subject"], "reader");
    assert_eq!(
        r.json()["authorization"],
        Value::Null,
        "no credential reaches the component"
    );
}

/// A warm instance serves many callers one after another: nothing of one request may reach the
/// next. 1,000 calls, 4 at a time, from two keys, a wrong key and no credential, to a public, a
/// keyed and an admin route of a plain WASI 0.3 component behind the policy, on a pool of 4 warm
/// instances: every answer is the one its own credential earns, names its own caller and carries a
/// trace of its own, and the audit lines name the same callers as many times.
#[test]
fn a_pooled_instance_keeps_no_caller_from_one_request_to_the_next() {
    let registry = Registry::start();
    let (_tmp, deployment) =
        protected_component(&registry, "pooled", "host = \"pooled.test\"\npool-size = 4");
    assert_eq!(
        deployment["spec"]["template"]["spec"]["components"][0]["poolSize"],
        4
    );

    let cluster = Cluster::start(&["h1"], GROUP);
    cluster.start_all(&place(&deployment, &[], &cluster.beats).unwrap());
    let addr = Cluster::http_addr(&cluster.beats[0]);

    let seen = interleave_callers(&addr, "pooled.test");
    // The pool was used: some instance answered many of the calls.
    assert!(
        seen.most_calls_on_one_instance > 100,
        "the instances were not reused: {}",
        seen.most_calls_on_one_instance
    );

    // The audit lines (the host's stderr) tell the same story: one per request, the same callers.
    // The host writes its guests' stderr as it comes: wait for the last lines to land.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut events = audit_events(&cluster.log(0));
    while events.len() < 1000 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
        events = audit_events(&cluster.log(0));
    }
    assert_eq!(events.len(), 1000, "{}", cluster.logs());
    audited_as_answered(&events, &seen.allowed);
}

/// A function triggered by messages, for `target`: its deployment (subscribed to the policy's
/// subjects) and the same placed with `payments.*` subscribed too, as an operator could edit it.
fn messaging_function(registry: &Registry, name: &str, target: &str) -> (tempfile::TempDir, Value) {
    let (tmp, dir) = built_function(name);
    let manifest = std::fs::read_to_string(dir.join("faas.toml")).unwrap();
    let manifest = manifest.replace("triggers = [\"http\"]", "triggers = [\"messaging\"]");
    std::fs::write(dir.join("faas.toml"), manifest).unwrap();
    deploy_table(&dir, "");
    let policy = tmp.path().join("messages.toml");
    std::fs::write(
        &policy,
        "version = 1\n[messaging]\nsubjects = [\"orders.*\"]\nscopes = [\"orders:write\"]\n\
         [filters]\nmax-body-bytes = 1024\n",
    )
    .unwrap();
    let policy = policy.to_str().unwrap();
    success(&faas(
        &dir,
        &["wrap", "--policy", policy, "--target", target],
    ));
    let deployment = publish_and_deploy(&dir, registry, &format!("team/{name}"));
    (tmp, deployment)
}

/// `wasmcloud:messaging` through NATS, on both revisions the host offers: 0.2.0 (`--target
/// wasmcloud`) and the async 0.3.0 with stream bodies (`--target wasmcloud@0.3`).
#[test]
fn messages_reach_the_function_for_listed_subjects_only() {
    let registry = Registry::start();
    let cluster = Cluster::start(&["h1"], GROUP);
    let wait = std::time::Duration::from_secs(10);
    for (name, target, version) in [
        ("on-message", "wasmcloud", "0.2.0"),
        ("on-message-p3", "wasmcloud@0.3", "0.3.0"),
    ] {
        messages_on(&registry, &cluster, wait, (name, target, version));
    }
}

/// One revision's messaging checks: the function `name` wrapped for `target`, deployed with the
/// messaging host interface at `version`.
fn messages_on(
    registry: &Registry,
    cluster: &Cluster,
    wait: std::time::Duration,
    (name, target, version): (&str, &str, &str),
) {
    let (_tmp, mut deployment) = messaging_function(registry, name, target);
    let interfaces = deployment["spec"]["template"]["spec"]["hostInterfaces"]
        .as_array_mut()
        .unwrap();
    let messaging = interfaces
        .iter_mut()
        .find(|i| i["package"] == "messaging")
        .unwrap();
    assert_eq!(messaging["version"], version, "{name}");
    assert_eq!(messaging["config"]["subscriptions"], "orders.*", "{name}");
    // Subscribed by hand to one subject more than the policy lists: the decorator refuses it.
    messaging["config"]["subscriptions"] = json!("orders.*,payments.*");
    let placements = place(&deployment, &[], &cluster.beats).unwrap();
    cluster.start_all(&placements);

    let reply = cluster
        .nats_request("orders.created", b"{\"id\":1}", wait)
        .unwrap_or_else(|| panic!("{name}: no reply\n{}", cluster.logs()));
    let reply: Value = serde_json::from_slice(&reply).unwrap();
    assert_eq!(reply["caller"], "orders.created", "{name}: {reply}");
    let refused = cluster
        .nats_request("payments.created", b"{}", wait)
        .unwrap_or_else(|| panic!("{name}: no reply\n{}", cluster.logs()));
    let refused: Value = serde_json::from_slice(&refused).unwrap();
    assert_eq!(refused["error"], "forbidden", "{name}: {refused}");
    // A body past the policy's 1 KiB is refused before the function sees it.
    let large = format!("{{\"pad\":\"{}\"}}", "x".repeat(2048));
    let refused = cluster
        .nats_request("orders.created", large.as_bytes(), wait)
        .unwrap_or_else(|| panic!("{name}: no reply\n{}", cluster.logs()));
    let refused: Value = serde_json::from_slice(&refused).unwrap();
    assert_eq!(refused["error"], "payload too large", "{name}: {refused}");
    // A subject nothing subscribes to is delivered to no one.
    assert_eq!(
        cluster.nats_request("refunds.created", b"{}", wait / 5),
        None
    );
    for placement in &placements {
        let id = placement.request["workloadId"].as_str().unwrap();
        cluster.stop(&placement.host, id);
    }
}

/// `[capabilities] outgoing-hosts` on the host: the grant becomes the component's `allowedHosts`;
/// a granted host is reached, any other is refused by the artifact's outgoing guard; and with the
/// grant taken out of `allowedHosts` (an edited manifest), the host refuses the granted one too.
#[test]
fn outgoing_calls_reach_granted_hosts_only_and_the_host_enforces_the_grant_too() {
    let registry = Registry::start();
    let (tmp, dir) = calls_out("egress");
    let granted = crate::outgoing::upstream();
    let other = crate::outgoing::upstream();
    let policy = crate::outgoing::granting_policy(tmp.path(), granted);
    deploy_table(&dir, "host = \"egress.test\"");
    let policy = policy.to_str().unwrap();
    success(&faas(
        &dir,
        &["wrap", "--policy", policy, "--target", "wasmcloud"],
    ));
    let mut deployment = publish_and_deploy(&dir, &registry, "team/egress");
    let component = &deployment["spec"]["template"]["spec"]["components"][0];
    assert_eq!(
        component["localResources"]["allowedHosts"],
        json!([format!("127.0.0.1:{granted}")])
    );

    let cluster = Cluster::start(&["h1"], GROUP);
    cluster.start_all(&place(&deployment, &[], &cluster.beats).unwrap());
    let addr = Cluster::http_addr(&cluster.beats[0]);
    let call = |host: &str, port: u16| {
        let path = format!("/?to=127.0.0.1:{port}");
        http(&addr, "GET", &path, &[("host", host)], b"").json()
    };
    assert_eq!(
        call("egress.test", granted)["upstream"],
        200,
        "{}",
        cluster.logs()
    );
    let refused = call("egress.test", other);
    assert!(
        refused["error"]
            .as_str()
            .unwrap_or("")
            .contains("HttpRequestDenied"),
        "{refused}"
    );

    // The same artifact with the grant taken out of allowedHosts: the host refuses it.
    deployment["metadata"]["name"] = json!("egress-denied");
    let spec = &mut deployment["spec"]["template"]["spec"];
    spec["components"][0]["localResources"]["allowedHosts"] = json!([]);
    spec["hostInterfaces"][0]["config"]["host"] = json!("egress-denied.test");
    cluster.start_all(&place(&deployment, &[], &cluster.beats).unwrap());
    let denied = call("egress-denied.test", granted);
    assert_eq!(denied["upstream"], Value::Null, "{denied}");
    assert!(denied["error"].is_string(), "{denied}");
}

/// A rolling update as the operator makes one: the new digest's workload started beside the old
/// one (same `Host`), then the old one stopped, under a steady load that sees only 200s, the last
/// of them from the new function.
#[test]
fn a_rolling_update_answers_throughout() {
    let registry = Registry::start();
    let (_tmp, dir) = built_function("rolled");
    deploy_table(&dir, "host = \"rolled.test\"");
    success(&faas(&dir, &["wrap", "--target", "wasmcloud"]));
    let old = publish_and_deploy(&dir, &registry, "team/rolled");
    let key = sample_key(&dir);
    // The next release says hello differently: another digest.
    let source = dir.join("src/lib.rs");
    let text = std::fs::read_to_string(&source).unwrap();
    std::fs::write(
        &source,
        text.replace("Hello, {subject}!", "Hi again, {subject}!"),
    )
    .unwrap();
    success(&faas(&dir, &["build"]));
    success(&faas(&dir, &["wrap", "--target", "wasmcloud"]));
    let reference = format!("{}/team/rolled:0.2.0", registry.addr);
    success(&faas(&dir, &["publish", &reference, "--key", "faas.key"]));
    success(&faas(
        &dir,
        &["deploy", "--emit", "wasmcloud", "-o", "deploy"],
    ));
    let mut new = yaml(&dir.join("deploy/workload.yaml"));
    let image = |d: &Value| d["spec"]["template"]["spec"]["components"][0]["image"].clone();
    assert_ne!(image(&old), image(&new));
    // The operator names the new replica set's workloads anew.
    new["metadata"]["name"] = json!("rolled-next");

    let cluster = Cluster::start(&["h1"], GROUP);
    let old_placements = place(&old, &[], &cluster.beats).unwrap();
    cluster.start_all(&old_placements);
    let addr = Cluster::http_addr(&cluster.beats[0]);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let answers = std::thread::scope(|scope| {
        let load = scope.spawn(|| {
            let mut answers = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                answers.push(get(&addr, "rolled.test", Some(&key)));
            }
            answers
        });
        std::thread::sleep(std::time::Duration::from_millis(300));
        cluster.start_all(&place(&new, &[], &cluster.beats).unwrap());
        std::thread::sleep(std::time::Duration::from_millis(300));
        for placement in &old_placements {
            cluster.stop(
                &placement.host,
                placement.request["workloadId"].as_str().unwrap(),
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        load.join().unwrap()
    });
    assert!(answers.len() > 20, "{} answers", answers.len());
    for r in &answers {
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
    let last = answers.last().unwrap().json();
    assert_eq!(last["message"], "Hi again, sample-client!", "{last}");
    assert!(answers[0].json()["message"] == "Hello, sample-client!");
}
