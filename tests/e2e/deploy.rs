//! `faas deploy`: from a signed artifact in a real registry to wasmCloud manifests that carry
//! exactly the policy's grants, and refuse what cannot be deployed safely.

use crate::common::*;
use serde_json::Value;
use std::path::Path;

fn keygen(dir: &Path) {
    success(&faas(
        dir,
        &["keygen", "--key", "faas.key", "--pub", "faas.pub"],
    ));
}

#[test]
fn a_published_sample_deploys_pinned_by_digest_with_its_admission_policy() {
    let registry = Registry::start();
    let (_tmp, dir, _artifact) = wrapped_function("deployed");
    keygen(&dir);
    let reference = format!("{}/team/deployed:0.1.0", registry.addr);
    success(&faas(&dir, &["publish", &reference, "--key", "faas.key"]));
    // No REF: the project's last publish; no --key: faas.pub beside faas.toml.
    let record: Value = serde_json::from_str(&success(&faas(&dir, &["deploy", "--json"]))).unwrap();
    let image = record["image"].as_str().unwrap();
    assert!(
        image.starts_with(&format!("{}/team/deployed@sha256:", registry.addr)),
        "{record}"
    );
    let out = dir.join("target/faas/deploy");

    let workload = yaml(&out.join("workload.yaml"));
    assert_eq!(workload["kind"], "WorkloadDeployment");
    let spec = &workload["spec"]["template"]["spec"];
    assert_eq!(spec["components"][0]["image"], image);
    assert_eq!(
        spec["components"][0]["localResources"]["allowedHosts"],
        serde_json::json!([]),
        "no outgoing grant: egress denied"
    );
    assert_eq!(spec["hostInterfaces"][0]["package"], "http");
    assert_eq!(
        spec["hostInterfaces"][0]["config"]["host"],
        "deployed.local"
    );
    let public_key = std::fs::read_to_string(dir.join("faas.pub")).unwrap();
    let kyverno = yaml(&out.join("kyverno.yaml"));
    assert_eq!(kyverno["kind"], "ImageValidatingPolicy");
    assert_eq!(
        kyverno["spec"]["attestors"][0]["cosign"]["key"]["data"]
            .as_str()
            .unwrap(),
        public_key.trim_end()
    );
    // A key-pair signature has no transparency-log entry or SCT: Kyverno must not ask for them.
    let ctlog = &kyverno["spec"]["attestors"][0]["cosign"]["ctlog"];
    assert_eq!(ctlog["insecureIgnoreTlog"], true);
    assert_eq!(ctlog["insecureIgnoreSCT"], true);
    // Both policies verify at admission only, on purpose (docs/deploy.md).
    assert_eq!(
        kyverno["spec"]["evaluation"]["background"]["enabled"],
        false
    );
    // Current Kyverno's API by default; each file says which release it is for.
    assert_eq!(kyverno["apiVersion"], "policies.kyverno.io/v1");
    let text = std::fs::read_to_string(out.join("kyverno.yaml")).unwrap();
    assert!(
        text.contains("# For Kyverno 1.17 and later (policies.kyverno.io/v1)."),
        "{text}"
    );
    let classic = yaml(&out.join("kyverno-classic.yaml"));
    // Rule 1: nothing but this repository's images, by digest; rule 2: each one signed.
    assert_eq!(classic["spec"]["rules"][0]["name"], "components-trusted");
    let verify = &classic["spec"]["rules"][1]["verifyImages"][0];
    assert_eq!(verify["required"], true);
    assert_eq!(verify["failureAction"], "Enforce");
    assert_eq!(classic["spec"]["background"], false);
    let keys = &verify["attestors"][0]["entries"][0]["keys"];
    assert_eq!(keys["rekor"]["ignoreTlog"], true);
    assert_eq!(keys["ctlog"]["ignoreSCT"], true);
    let wadm = yaml(&out.join("wadm.yaml"));
    assert_eq!(wadm["spec"]["components"][0]["properties"]["image"], image);
    assert_eq!(
        wadm["spec"]["components"][1]["properties"]["image"],
        "ghcr.io/wasmcloud/http-server:0.27.0"
    );

    // Every file passes --check; an edit that unpins the image does not.
    check_manifests(&dir, &out);
    let edited = std::fs::read_to_string(out.join("workload.yaml"))
        .unwrap()
        .replace(image, &reference);
    std::fs::write(dir.join("edited.yaml"), edited).unwrap();
    let err = failure(&faas(&dir, &["deploy", "--check", "edited.yaml"]), 1);
    assert!(
        err.contains("edited.yaml: spec.template.spec.components[0].image"),
        "{err}"
    );
    assert!(err.contains("is not pinned by digest"), "{err}");

    // Refused, with nothing written: a digest that is not the artifact's, an unsigned artifact,
    // a layout folder, another key.
    let elsewhere = dir.join("elsewhere");
    let bad_digest = format!("{}/team/deployed@sha256:{}", registry.addr, "0".repeat(64));
    let err = failure(&faas(&dir, &["deploy", &bad_digest, "-o", "elsewhere"]), 1);
    assert!(err.contains("no such artifact"), "{err}");
    let unsigned = format!("{}/team/unsigned:0.1.0", registry.addr);
    success(&faas(&dir, &["publish", &unsigned]));
    let err = failure(&faas(&dir, &["deploy", &unsigned, "-o", "elsewhere"]), 1);
    assert!(err.contains("no signature found"), "{err}");
    let err = failure(
        &faas(
            &dir,
            &["deploy", "oci:target/faas/oci:0.1.0", "-o", "elsewhere"],
        ),
        1,
    );
    assert!(err.contains("a cluster pulls from a registry"), "{err}");
    success(&faas(
        &dir,
        &["keygen", "--key", "other.key", "--pub", "other.pub"],
    ));
    let err = failure(
        &faas(
            &dir,
            &[
                "deploy",
                &reference,
                "--key",
                "other.pub",
                "-o",
                "elsewhere",
            ],
        ),
        1,
    );
    assert!(err.contains("does not verify with this key"), "{err}");
    // A signed component faas did not wrap: its grants are unknown.
    let bare = format!("{}/team/bare:0.1.0", registry.addr);
    success(&faas(
        &dir,
        &[
            "publish",
            &bare,
            "--artifact",
            "target/faas/deployed.function.wasm",
            "--key",
            "faas.key",
        ],
    ));
    let err = failure(&faas(&dir, &["deploy", &bare, "-o", "elsewhere"]), 1);
    assert!(
        err.contains("no layers note (not wrapped by faas)"),
        "{err}"
    );
    assert!(
        !elsewhere.exists(),
        "nothing is written when deploying fails"
    );
}

#[test]
fn the_policy_s_grants_follow_the_artifact_into_the_workload() {
    let registry = Registry::start();
    let (tmp, dir) = new_function("granted");
    use_function_fixture(&dir, "reads-credentials.rs");
    let manifest = std::fs::read_to_string(dir.join("faas.toml")).unwrap();
    std::fs::write(
        dir.join("faas.toml"),
        manifest.replace("triggers = [\"http\"]", "triggers = [\"http\", \"messaging\"]")
            + "\n[deploy]\nnamespace = \"orders\"\nreplicas = 3\nhost = \"granted.example.com\"\nsecret-from = [\"granted-secrets\"]\n\
               image-pull-secret = \"registry-credentials\"\nhost-selector = { zone = \"eu-west-1\" }\n\
               pool-size = 4\nmax-invocations = 1000\nconfig-from = [\"granted-config\"]\n\
               http-address = \"0.0.0.0:8081\"\nhttp-provider = \"ghcr.io/wasmcloud/http-server:0.27.0\"\n\
               messaging-provider = \"ghcr.io/wasmcloud/messaging-nats:0.27.0\"\n\
               http-client-provider = \"ghcr.io/wasmcloud/http-client:0.13.1\"\nkyverno = \"1.17\"\n\
               wadm-accept = [\"unrestricted-egress\"]\n",
    )
    .unwrap();
    success(&faas(&dir, &["build"]));
    let policy = tmp.path().join("granted.toml");
    std::fs::write(
        &policy,
        "version = 1\n[credentials]\ndb-password = { config = \"granted-db-password\" }\n\n\
         [capabilities]\noutgoing-hosts = [\"api.example.com\"]\n\n\
         [messaging]\nsubjects = [\"orders.*\"]\n\n[[rule]]\npath = \"/**\"\npublic = true\n",
    )
    .unwrap();
    wrap_with(&dir, &policy, "target/faas/granted.wasm", &[]);
    keygen(&dir);
    let reference = format!("{}/team/granted:0.1.0", registry.addr);
    success(&faas(&dir, &["publish", &reference, "--key", "faas.key"]));
    let record: Value = serde_json::from_str(&success(&faas(&dir, &["deploy", "--json"]))).unwrap();
    assert_eq!(
        record["grants"]["outgoing_hosts"],
        serde_json::json!(["api.example.com"])
    );

    // Every [deploy] key set: what faas writes fits the upstream schemas, passes --check, and
    // its admission rules refuse foreign images.
    check_manifests(&dir, &dir.join("target/faas/deploy"));
    let workload = yaml(&dir.join("target/faas/deploy/workload.yaml"));
    assert_eq!(workload["metadata"]["namespace"], "orders");
    assert_eq!(workload["spec"]["replicas"], 3);
    assert_eq!(
        workload["metadata"]["annotations"]["dev.faas/config-keys"],
        "granted-db-password"
    );
    let spec = &workload["spec"]["template"]["spec"];
    let local = &spec["components"][0]["localResources"];
    assert_eq!(
        local["allowedHosts"],
        serde_json::json!(["api.example.com"])
    );
    assert_eq!(
        local["environment"]["secretFrom"][0]["name"],
        "granted-secrets"
    );
    // The CRD's shapes: a Secret reference object, and a flat map of host labels.
    assert_eq!(
        spec["components"][0]["imagePullSecret"],
        serde_json::json!({ "name": "registry-credentials" })
    );
    assert_eq!(
        spec["hostSelector"],
        serde_json::json!({ "zone": "eu-west-1" })
    );
    let packages: Vec<&str> = spec["hostInterfaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["package"].as_str().unwrap())
        .collect();
    assert_eq!(packages, ["http", "config", "messaging"], "{spec}");
    assert_eq!(
        spec["hostInterfaces"][0]["config"]["host"],
        "granted.example.com"
    );
    assert_eq!(
        spec["hostInterfaces"][2]["config"]["subscriptions"],
        "orders.*"
    );
    let wadm = yaml(&dir.join("target/faas/deploy/wadm.yaml"));
    let names: Vec<&str> = wadm["spec"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    // The grant allows egress, but the function imports no outgoing HTTP: no client provider.
    assert_eq!(names, ["granted", "httpserver", "nats"]);
    // The credentials come from the named configuration, never as values.
    assert_eq!(
        wadm["spec"]["components"][0]["properties"]["config"],
        serde_json::json!([{ "name": "granted-config" }, { "name": "granted-secrets" }])
    );
}

#[test]
fn wasmcloud_1_gets_no_manifest_that_would_let_the_function_reach_any_host() {
    let registry = Registry::start();
    let (tmp, dir) = calls_out("egress");
    let policy = tmp.path().join("egress.toml");
    std::fs::write(
        &policy,
        "version = 1\n[capabilities]\noutgoing-hosts = [\"api.example.com\"]\n\n\
         [[rule]]\npath = \"/**\"\npublic = true\n",
    )
    .unwrap();
    wrap_with(&dir, &policy, "target/faas/egress.wasm", &[]);
    keygen(&dir);
    let reference = format!("{}/team/egress:0.1.0", registry.addr);
    success(&faas(&dir, &["publish", &reference, "--key", "faas.key"]));
    let out = dir.join("target/faas/deploy");
    // An earlier wadm.yaml would read as current: it goes.
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(
        out.join("wadm.yaml"),
        "# Written by `faas deploy` (faas 0.0.1)\n",
    )
    .unwrap();
    let output = faas(&dir, &["deploy", "--json"]);
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    let record: Value = serde_json::from_str(&success(&output)).unwrap();
    assert!(
        stderr.contains("warning: wadm.yaml not written:")
            && stderr.contains("api.example.com only")
            && stderr.contains("wadm-accept = [\"unrestricted-egress\"]"),
        "{stderr}"
    );
    assert_eq!(record["skipped"][0]["file"], "wadm.yaml", "{record}");
    assert!(!out.join("wadm.yaml").exists());
    // The 2.x workload carries the allow-list.
    let workload = yaml(&out.join("workload.yaml"));
    assert_eq!(
        workload["spec"]["template"]["spec"]["components"][0]["localResources"]["allowedHosts"],
        serde_json::json!(["api.example.com"])
    );
    // Asked for alone: an error, nothing written.
    let err = failure(
        &faas(&dir, &["deploy", "--emit", "wadm", "-o", "wadm-only"]),
        1,
    );
    assert!(err.contains("no wadm.yaml (wasmCloud 1.x)"), "{err}");
    assert!(!dir.join("wadm-only").exists());
    // Accepted by name: the HTTP client provider, linked to the function.
    let manifest = std::fs::read_to_string(dir.join("faas.toml")).unwrap();
    std::fs::write(
        dir.join("faas.toml"),
        manifest + "\n[deploy]\nwadm-accept = [\"unrestricted-egress\"]\n",
    )
    .unwrap();
    success(&faas(&dir, &["deploy"]));
    let wadm = yaml(&out.join("wadm.yaml"));
    assert_eq!(wadm["spec"]["components"][1]["name"], "httpclient");
    let link = &wadm["spec"]["components"][0]["traits"][1]["properties"];
    assert_eq!(link["target"]["name"], "httpclient");
    assert_eq!(link["interfaces"], serde_json::json!(["outgoing-handler"]));
    check_manifests(&dir, &out);
}
