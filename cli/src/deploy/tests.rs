//! Tests of the manifests `faas deploy` writes.

use super::*;
use crate::artifact::{Grants, Layer};

fn note(grants: Grants) -> LayersNote {
    LayersNote {
        faas_version: "0.1.0".into(),
        layers: vec![Layer {
            layer: "function".into(),
            digest: format!("sha256:{}", "1".repeat(64)),
            size: 1,
        }],
        host_imports: Default::default(),
        policy_document: format!("sha256:{}", "2".repeat(64)),
        policy_summary: "1 API key(s), 2 rule(s) (1 public)".into(),
        built_from: Default::default(),
        parameters: None,
        grants,
        platform_links: Default::default(),
    }
}

/// A real P-256 public key (of a key pair made for these goldens and thrown away).
const KEY: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEMxVpPbMb7zGCrXnTTvy3eaDv2bth
ThjUYylcWY2o0p1LF7auFlhmdXoKdEK2EuK1RMNe5Q/aigwdZ66Aj9k6Eg==
-----END PUBLIC KEY-----
";

#[test]
fn the_goldens_key_is_a_key() {
    use p256::pkcs8::DecodePublicKey;
    assert!(p256::PublicKey::from_public_key_pem(KEY).is_ok());
}

fn golden(case: &str, inputs: &Inputs<'_>) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/deploy")
        .join(case);
    let manifests = manifests(inputs, Emit::All).unwrap();
    assert!(manifests.skipped.is_empty(), "{:?}", manifests.skipped);
    for (file, text) in manifests.files {
        let path = dir.join(&file);
        if std::env::var_os("BLESS").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
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
        // Each one passes the checks `faas deploy --check` makes.
        check::check_text(&text).unwrap_or_else(|e| panic!("{file}: {e:?}"));
    }
}

#[test]
fn the_sample_gives_the_expected_manifests() {
    let imports = vec![
        "wasi:http/types@0.2.12".to_string(),
        "wasi:io/streams@0.2.12".into(),
    ];
    let exports = vec!["wasi:http/incoming-handler@0.2.12".to_string()];
    let note = note(Grants::default());
    golden(
        "sample",
        &Inputs {
            name: "hello",
            version: "0.1.0",
            repository: "registry.example.com/team/hello",
            digest: &format!("sha256:{}", "a".repeat(64)),
            imports: &imports,
            exports: &exports,
            note: &note,
            public_key: KEY,
            settings: &DeploySection::default(),
            linked: &[],
        },
    );
}

#[test]
fn a_wasi_0_3_artifact_is_called_through_the_handler_and_reads_its_secrets() {
    let imports = vec![
        "wasi:http/types@0.3.2".to_string(),
        "wasmcloud:secrets/store@2.1.0".into(),
        "wasmcloud:secrets/reveal@2.1.0".into(),
    ];
    let exports = vec!["wasi:http/handler@0.3.2".to_string()];
    let note = note(Grants {
        secret_keys: vec!["db-password".into()],
        ..Grants::default()
    });
    let settings = DeploySection::default();
    let inputs = Inputs {
        name: "hello",
        version: "0.1.0",
        repository: "registry.example.com/team/hello",
        digest: &format!("sha256:{}", "a".repeat(64)),
        imports: &imports,
        exports: &exports,
        note: &note,
        public_key: KEY,
        settings: &settings,
        linked: &[],
    };
    let entries = host_interfaces(&inputs).unwrap();
    assert_eq!(
        entries[0],
        json!({
            "namespace": "wasi", "package": "http", "version": "0.3.0",
            "interfaces": ["handler"], "config": { "host": "hello.local" },
        })
    );
    assert_eq!(
        entries[1],
        json!({
            "namespace": "wasmcloud", "package": "secrets", "version": "2.1.0",
            "interfaces": ["store", "reveal"],
        })
    );
}

#[test]
fn grants_become_egress_configuration_and_subscriptions() {
    let imports = vec![
        "wasi:http/types@0.2.12".to_string(),
        "wasi:http/outgoing-handler@0.2.12".into(),
        "wasi:config/store@0.2.0-rc.1".into(),
        "wasmcloud:messaging/consumer@0.2.0".into(),
    ];
    let exports = vec![
        "wasi:http/incoming-handler@0.2.12".to_string(),
        "wasmcloud:messaging/handler@0.2.0".into(),
    ];
    let note = note(Grants {
        outgoing_hosts: vec!["api.example.com".into()],
        config_keys: vec!["orders-db-password".into()],
        messaging_subjects: vec!["orders.*".into()],
        secret_keys: Vec::new(),
    });
    let settings = DeploySection {
        namespace: Some("orders".into()),
        replicas: Some(3),
        host: Some("orders.example.com".into()),
        pool_size: Some(4),
        max_invocations: Some(1000),
        secret_from: vec!["orders-secrets".into()],
        image_pull_secret: Some("registry-credentials".into()),
        host_selector: [("zone".to_string(), "eu-west-1".to_string())].into(),
        wadm_accept: vec![WadmAccept::UnrestrictedEgress],
        ..Default::default()
    };
    let inputs = Inputs {
        name: "orders",
        version: "1.2.0",
        repository: "registry.example.com/team/orders",
        digest: &format!("sha256:{}", "b".repeat(64)),
        imports: &imports,
        exports: &exports,
        note: &note,
        public_key: KEY,
        settings: &settings,
        linked: &[],
    };
    golden("grants", &inputs);
    let workload = workload_deployment(&inputs).unwrap();
    let component = &workload["spec"]["template"]["spec"]["components"][0];
    assert_eq!(
        component["localResources"]["allowedHosts"],
        json!(["api.example.com"])
    );
    assert_eq!(
        component["localResources"]["environment"]["secretFrom"],
        json!([{ "name": "orders-secrets" }])
    );
}

#[test]
fn imports_no_wasmcloud_host_supplies_are_refused() {
    let imports = vec!["wasi:nn/graph@0.2.0-rc-2024-10-28".to_string()];
    let exports = vec!["wasi:http/incoming-handler@0.2.12".to_string()];
    let note = note(Grants::default());
    let inputs = Inputs {
        name: "x",
        version: "0.1.0",
        repository: "r/x",
        digest: "sha256:00",
        imports: &imports,
        exports: &exports,
        note: &note,
        public_key: KEY,
        settings: &DeploySection::default(),
        linked: &[],
    };
    let err = workload_deployment(&inputs).unwrap_err().to_string();
    assert!(err.contains("wasi:nn/graph@0.2.0-rc-2024-10-28"), "{err}");
    // A key-value store is a host interface wasmCloud has.
    let keyvalue = vec![
        "wasi:keyvalue/store@0.2.0-draft".to_string(),
        "wasi:keyvalue/atomics@0.2.0-draft".into(),
    ];
    let workload = workload_deployment(&Inputs {
        imports: &keyvalue,
        ..inputs
    })
    .unwrap();
    assert_eq!(
        workload["spec"]["template"]["spec"]["hostInterfaces"][1],
        json!({"namespace": "wasi", "package": "keyvalue", "version": "0.2.0-draft",
               "interfaces": ["store", "atomics"]})
    );
    let cli = vec!["wasi:cli/run@0.2.12".to_string()];
    let inputs = Inputs {
        imports: &[],
        exports: &cli,
        ..inputs
    };
    assert!(matches!(
        workload_deployment(&inputs),
        Err(DeployError::NothingToCall)
    ));
}

#[test]
fn a_dependency_the_platform_links_is_a_second_component_not_a_host_interface() {
    let linked_import = "faas-test:text/shout@0.1.0".to_string();
    let imports = vec![linked_import.clone()];
    let exports = vec!["wasi:http/incoming-handler@0.2.12".to_string()];
    let mut note = note(Grants::default());
    note.platform_links
        .insert("text".into(), vec![linked_import.clone()]);
    let image = format!(
        "registry.example.com/platform/text@sha256:{}",
        "c".repeat(64)
    );
    let linked = vec![LinkedComponent {
        name: "text".into(),
        image: image.clone(),
        public_key: KEY.trim_end().into(),
    }];
    let inputs = Inputs {
        name: "hello",
        version: "0.1.0",
        repository: "registry.example.com/team/hello",
        digest: &format!("sha256:{}", "a".repeat(64)),
        imports: &imports,
        exports: &exports,
        note: &note,
        public_key: KEY,
        settings: &DeploySection::default(),
        linked: &linked,
    };
    let workload = workload_deployment(&inputs).unwrap();
    let spec = &workload["spec"]["template"]["spec"];
    assert_eq!(spec["components"][1]["name"], "text");
    assert_eq!(spec["components"][1]["image"], image);
    assert_eq!(
        spec["components"][1]["localResources"]["allowedHosts"],
        json!([])
    );
    assert!(!spec["hostInterfaces"].to_string().contains("faas-test"));
    // Without the link, the same import is one no host supplies.
    let unlinked = note_without_links(&note);
    let err = workload_deployment(&Inputs {
        note: &unlinked,
        linked: &[],
        ..inputs
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("faas-test:text/shout@0.1.0"), "{err}");
}

fn note_without_links(note: &LayersNote) -> LayersNote {
    let mut note = note.clone();
    note.platform_links.clear();
    note
}

fn sample_inputs<'a>(
    imports: &'a [String],
    exports: &'a [String],
    note: &'a LayersNote,
    settings: &'a DeploySection,
    linked: &'a [LinkedComponent],
) -> Inputs<'a> {
    Inputs {
        name: "hello",
        version: "0.1.0",
        repository: "registry.example.com/team/hello",
        digest: "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        imports,
        exports,
        note,
        public_key: KEY,
        settings,
        linked,
    }
}

fn files(manifests: &Manifests) -> Vec<&str> {
    manifests.files.iter().map(|(f, _)| f.as_str()).collect()
}

#[test]
fn the_kyverno_release_chooses_the_api_version_and_the_files() {
    let exports = vec!["wasi:http/incoming-handler@0.2.12".to_string()];
    let note = note(Grants::default());
    let parse = |text: &str| toml::from_str::<DeploySection>(text);
    for (setting, api, classic) in [
        ("", "policies.kyverno.io/v1", true),
        ("kyverno = \"1.14\"", "policies.kyverno.io/v1alpha1", true),
        ("kyverno = \"1.16\"", "policies.kyverno.io/v1alpha1", true),
        ("kyverno = \"1.19\"", "policies.kyverno.io/v1", true),
        ("kyverno = \"1.20\"", "policies.kyverno.io/v1", false),
    ] {
        let settings = parse(setting).unwrap();
        let inputs = sample_inputs(&[], &exports, &note, &settings, &[]);
        let manifests = manifests(&inputs, Emit::Wasmcloud).unwrap();
        let (_, kyverno) = &manifests.files[1];
        assert!(
            kyverno.contains(&format!("apiVersion: {api}\n")),
            "{setting}"
        );
        assert_eq!(
            files(&manifests).contains(&"kyverno-classic.yaml"),
            classic,
            "{setting}"
        );
        // Each file says which release it is for.
        for (file, text) in &manifests.files {
            assert!(text.lines().nth(1).unwrap().starts_with("# For "), "{file}");
        }
    }
    for bad in ["kyverno = \"1.13\"", "kyverno = \"one\"", "kyverno = \"1\""] {
        assert!(parse(bad).is_err(), "{bad}");
    }
}

/// Kyverno's wildcard match (`*` any run, `?` one character), as its patterns use it.
fn wildcard(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => {
            pattern.len() == text.len()
                && pattern
                    .chars()
                    .zip(text.chars())
                    .all(|(p, t)| p == '?' || p == t)
        }
        Some((head, tail)) => {
            text.len() >= head.len()
                && wildcard(head, &text[..head.len()])
                && (head.len()..=text.len()).any(|i| wildcard(tail, &text[i..]))
        }
    }
}

#[test]
fn images_from_anywhere_but_the_trusted_repositories_are_refused() {
    let exports = vec!["wasi:http/incoming-handler@0.2.12".to_string()];
    let note = note(Grants::default());
    let settings = DeploySection::default();
    let other_key = "-----BEGIN PUBLIC KEY-----\nOTHER\n-----END PUBLIC KEY-----";
    let linked = vec![LinkedComponent {
        name: "text".into(),
        image: format!(
            "registry.example.com/platform/text@sha256:{}",
            "c".repeat(64)
        ),
        public_key: other_key.into(),
    }];
    let inputs = sample_inputs(&[], &exports, &note, &settings, &linked);
    let policy = image_validating_policy(&inputs);
    let spec = &policy["spec"];
    // One attestor per trusted repository, each with its own key.
    assert_eq!(spec["attestors"][0]["name"], "faas");
    assert_eq!(spec["attestors"][0]["cosign"]["key"]["data"], KEY);
    assert_eq!(spec["attestors"][1]["name"], "dependency1");
    assert_eq!(spec["attestors"][1]["cosign"]["key"]["data"], other_key);
    let validations = spec["validations"].as_array().unwrap();
    // The first reads the object itself: `images` holds only the images Kyverno matched.
    let trust = validations[0]["expression"].as_str().unwrap();
    assert_eq!(
        trust,
        "object.spec.template.spec.components.all(c, \
         c.image.matches('^registry\\\\.example\\\\.com/team/hello@sha256:[0-9a-f]{64}$') || \
         c.image.matches('^registry\\\\.example\\\\.com/platform/text@sha256:[0-9a-f]{64}$'))"
    );
    // The dependency's images are verified with its key, the function's with the project's
    // (and only the function's carry faas's provenance).
    let text = validations
        .iter()
        .find(|v| {
            v["expression"]
                .as_str()
                .unwrap()
                .contains("[attestors.dependency1]")
        })
        .unwrap();
    assert!(
        text["expression"]
            .as_str()
            .unwrap()
            .contains("filter(image, image.startsWith('registry.example.com/platform/text@'))")
    );
    assert_eq!(
        validations
            .iter()
            .filter(|v| v["expression"]
                .as_str()
                .unwrap()
                .contains("attestations.provenance"))
            .count(),
        1
    );
    // The classic policy: a pattern every component image must match.
    let classic = cluster_policy(&inputs);
    let rule = &classic["spec"]["rules"][0];
    assert_eq!(rule["validate"]["failureAction"], "Enforce");
    let pattern = rule["validate"]["pattern"]["spec"]["template"]["spec"]["components"][0]["image"]
        .as_str()
        .unwrap();
    let admitted = |image: &str| pattern.split(" | ").any(|glob| wildcard(glob, image));
    assert!(admitted(&inputs.image()));
    assert!(admitted(&linked[0].image));
    for foreign in [
        format!("registry.example.com/team/other@sha256:{}", "d".repeat(64)),
        format!(
            "registry.example.com/team/hello-evil@sha256:{}",
            "d".repeat(64)
        ),
        "registry.example.com/team/hello:0.1.0".to_string(),
        format!("{}/../../evil/miner", inputs.image()),
        format!("evil.example/team/hello@sha256:{}", "d".repeat(64)),
    ] {
        assert!(!admitted(&foreign), "{foreign}");
    }
    let verify = rule_verify_images(&classic);
    assert_eq!(verify.len(), 2);
    assert_eq!(
        verify[1]["imageReferences"][0],
        "registry.example.com/platform/text"
    );
    assert_eq!(
        verify[1]["attestors"][0]["entries"][0]["keys"]["publicKeys"],
        other_key
    );
}

fn rule_verify_images(policy: &Value) -> Vec<Value> {
    policy["spec"]["rules"][1]["verifyImages"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn wasmcloud_1_gets_no_manifest_that_would_widen_the_policy() {
    let exports = vec!["wasi:http/incoming-handler@0.2.12".to_string()];
    let outgoing = vec!["wasi:http/outgoing-handler@0.2.12".to_string()];
    let grants = Grants {
        outgoing_hosts: vec!["api.example.com".into()],
        ..Grants::default()
    };
    let note_egress = note(grants);
    let settings = DeploySection::default();
    let inputs = sample_inputs(&outgoing, &exports, &note_egress, &settings, &[]);
    // Asked for alone: an error naming the hosts and the way out.
    let err = manifests(&inputs, Emit::Wadm).unwrap_err().to_string();
    assert!(err.contains("api.example.com only"), "{err}");
    assert!(
        err.contains("wadm-accept = [\"unrestricted-egress\"]"),
        "{err}"
    );
    // With the rest: the 2.x files, wadm.yaml left out with the reason.
    let all = manifests(&inputs, Emit::All).unwrap();
    assert_eq!(
        files(&all),
        ["workload.yaml", "kyverno.yaml", "kyverno-classic.yaml"]
    );
    assert_eq!(all.skipped[0].0, "wadm.yaml");
    // Accepted by name: the HTTP client provider, linked.
    let accepted = DeploySection {
        wadm_accept: vec![WadmAccept::UnrestrictedEgress],
        ..Default::default()
    };
    let inputs = sample_inputs(&outgoing, &exports, &note_egress, &accepted, &[]);
    let wadm = wadm_application(&inputs).unwrap();
    assert_eq!(wadm["spec"]["components"][1]["name"], "httpclient");
    assert_eq!(
        wadm["spec"]["components"][0]["traits"][1]["properties"]["target"]["name"],
        "httpclient"
    );
    // WASI 0.3: no 1.x host runs it, accepted or not.
    let p3 = vec!["wasi:http/handler@0.3.2".to_string()];
    let note_plain = note(Grants::default());
    let inputs = sample_inputs(&[], &p3, &note_plain, &accepted, &[]);
    let err = wadm_application(&inputs).unwrap_err().to_string();
    assert!(err.contains("WASI 0.3 (wasi:http/handler@0.3.2"), "{err}");
    // Credentials with nothing named to hold them.
    let config = vec!["wasi:config/store@0.2.0-rc.1".to_string()];
    let note_keys = note(Grants {
        config_keys: vec!["db-password".into()],
        ..Grants::default()
    });
    let inputs = sample_inputs(&config, &exports, &note_keys, &settings, &[]);
    let err = wadm_application(&inputs).unwrap_err().to_string();
    assert!(err.contains("db-password"), "{err}");
    let named = DeploySection {
        config_from: vec!["hello-config".into()],
        ..Default::default()
    };
    let inputs = sample_inputs(&config, &exports, &note_keys, &named, &[]);
    let wadm = wadm_application(&inputs).unwrap();
    assert_eq!(
        wadm["spec"]["components"][0]["properties"]["config"],
        json!([{ "name": "hello-config" }])
    );
}

#[test]
fn credentials_with_nowhere_to_come_from_are_refused() {
    let exports = vec!["wasi:http/incoming-handler@0.2.12".to_string()];
    let config = vec!["wasi:config/store@0.2.0-rc.1".to_string()];
    let note = note(Grants {
        config_keys: vec!["db-password".into()],
        ..Grants::default()
    });
    let settings = DeploySection::default();
    let inputs = sample_inputs(&config, &exports, &note, &settings, &[]);
    let err = workload_deployment(&inputs).unwrap_err().to_string();
    assert!(
        err.contains("db-password") && err.contains("secret-from"),
        "{err}"
    );
    let named = DeploySection {
        secret_from: vec!["hello-secrets".into()],
        ..Default::default()
    };
    let inputs = sample_inputs(&config, &exports, &note, &named, &[]);
    assert!(workload_deployment(&inputs).is_ok());
}

#[test]
fn a_version_with_build_metadata_is_still_a_label() {
    assert_eq!(label_value("1.2.0+build.5"), "1.2.0_build.5");
    assert_eq!(label_value("0.1.0"), "0.1.0");
}
