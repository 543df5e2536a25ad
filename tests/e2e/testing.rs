//! `faas test`: the template's cases and policy record pass; a wrong expectation, a loosened rule
//! and a failing case in the pipeline are each caught with a readable message.

use crate::common::*;
use serde_json::Value;
use std::path::Path;

fn json_of(output: &std::process::Output) -> Value {
    serde_json::from_str(&success(output)).unwrap()
}

fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} has no {from:?}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn the_template_passes_and_a_loosened_rule_or_a_wrong_expectation_fails_clearly() {
    let (_tmp, dir, _artifact) = wrapped_function("tested");
    let report = json_of(&faas(
        &dir,
        &["test", "--policy", "--json", "--junit", "junit.xml"],
    ));
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["passed"], 3);
    assert_eq!(
        report["policy"]["written"], false,
        "the template ships its record"
    );
    let probes: Vec<&str> = report["policy"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["probes"].as_array().unwrap())
        .map(|p| p["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(probes, ["allowed", "refused 401", "refused 401", "allowed"]);
    // JUnit XML, as CI systems read it.
    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert!(
        junit.contains("<testsuites name=\"faas test\" tests=\"7\" failures=\"0\">"),
        "{junit}"
    );
    assert!(junit.contains("<testsuite name=\"policy\" tests=\"4\" failures=\"0\">"));

    // A wrong expectation: the case, its place and the difference.
    edit(
        &dir,
        "tests/http.toml",
        "message = \"Hello, sample-client!\"",
        "message = \"Hi\"",
    );
    let out = faas(&dir, &["test"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("FAIL the sample client is greeted by name (tests/http.toml:4:1, http"),
        "{stdout}"
    );
    assert!(
        stdout.contains("body.message: expected \"Hi\", got \"Hello, sample-client!\""),
        "{stdout}"
    );
    assert!(stdout.contains("2 case(s) passed, 1 failed"), "{stdout}");
    edit(
        &dir,
        "tests/http.toml",
        "message = \"Hi\"",
        "message = \"Hello, sample-client!\"",
    );

    // A rule made public by mistake: the probes see the route open where the record says 401.
    edit(
        &dir,
        "auth.toml",
        "path = \"/**\"\nscopes = [\"greet\"]",
        "path = \"/**\"\npublic = true",
    );
    success(&faas(&dir, &["wrap"]));
    let out = faas(&dir, &["test", "--policy"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "FAIL rule 2: any /**: access: recorded `scopes greet`, now `public`",
        "FAIL rule 2: any /**: GET /probe with no credential: recorded `refused 401`, now `allowed`",
        "faas test --policy --update",
        // The case that expects the refusal fails too.
        "FAIL a request without a key is refused",
    ] {
        assert!(stdout.contains(expected), "{expected}:\n{stdout}");
    }

    // An intended change is recorded on purpose; the probes then pass.
    let updated: Value =
        serde_json::from_slice(&faas(&dir, &["test", "--policy", "--update", "--json"]).stdout)
            .unwrap();
    assert_eq!(updated["policy"]["written"], true);
    assert_eq!(updated["policy"]["ok"], true);
    let record = std::fs::read_to_string(dir.join("tests/policy.toml")).unwrap();
    assert!(record.contains("access = \"public\""), "{record}");
    let checked: Value =
        serde_json::from_slice(&faas(&dir, &["test", "--policy", "--json"]).stdout).unwrap();
    assert_eq!(checked["policy"]["ok"], true, "{checked}");
}

#[test]
fn cases_go_through_the_cli_trigger_and_present_minted_jwts() {
    let (_tmp, dir) = built_function("tested-jwt");
    // HS256 tokens with the secret read at run time; the test key signs them.
    let secret = "a-test-secret-of-at-least-32-bytes!!";
    edit(
        &dir,
        "auth.toml",
        "[filters]",
        "[auth.jwt]\nissuers = [\"https://id.example.test\"]\naudiences = [\"tested\"]\n\
         algorithms = [\"HS256\"]\nhs256-secret = { config = \"jwt-secret\" }\n\n[filters]",
    );
    success(&faas(&dir, &["wrap", "--triggers", "http,cli"]));
    std::fs::write(
        dir.join("tests/keys.toml"),
        format!("[jwt-keys.test]\nhs256 = \"{secret}\"\n\n[config]\njwt-secret = \"{secret}\"\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("tests/http.toml"),
        r#"
[[case]]
name = "a token with the scope is greeted by its subject"
jwt = { key = "test", claims = { sub = "alice", scope = "greet" } }
expect = { status = 200, json = { caller = "alice" } }

[[case]]
name = "a token without the scope is forbidden"
jwt = { key = "test", claims = { sub = "bob", scope = "other" } }
expect = { status = 403 }

[[case]]
name = "the CLI trigger applies the same policy"
trigger = "cli"
path = "/"
expect = { status = 401 }

[[case]]
name = "and greets through it with a token"
trigger = "cli"
jwt = { key = "test", claims = { sub = "carol", scope = "greet" } }
expect = { status = 200, json = { caller = "carol" } }
"#,
    )
    .unwrap();
    let report = json_of(&faas(&dir, &["test", "--json"]));
    assert_eq!(report["passed"], 4, "{report}");
    let triggers: Vec<&str> = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["trigger"].as_str().unwrap())
        .collect();
    assert_eq!(triggers, ["http", "http", "cli", "cli"]);

    // The probes mint tokens with and without the rule's scopes.
    std::fs::remove_file(dir.join("tests/policy.toml")).unwrap();
    let probed = json_of(&faas(&dir, &["test", "--policy", "--json"]));
    assert_eq!(probed["policy"]["written"], true, "no record yet: written");
    let rule = &probed["policy"]["rules"][1];
    let outcomes: Vec<(&str, &str)> = rule["probes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["credential"].as_str().unwrap(),
                p["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        outcomes.contains(&("JWT from test with the rule's scopes", "allowed")),
        "{outcomes:?}"
    );
    assert!(
        outcomes.contains(&("JWT from test without scopes", "refused 403")),
        "{outcomes:?}"
    );

    // Bad case files are named with their line and column.
    std::fs::write(
        dir.join("tests/http.toml"),
        "[[case]]\nname = \"x\"\nexpect = { stauts = 200 }\n",
    )
    .unwrap();
    let err = failure(&faas(&dir, &["test"]), 1);
    assert!(err.contains("tests/http.toml:3:"), "{err}");
}

#[test]
fn the_pipeline_runs_the_tests_as_a_stage_with_its_own_exit_code() {
    let (_tmp, dir) = new_function("tested-pipeline");
    let registry_dir = tempfile::tempdir().unwrap();
    let reference = format!("oci:{}", registry_dir.path().join("oci").display());
    let run = |dir: &Path| {
        let out = faas_command(dir, &["pipeline", "--json", "--unsigned"])
            .env("FAAS_REGISTRY", &reference)
            .output()
            .unwrap();
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code(), report)
    };
    let (code, report) = run(&dir);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(
        names_in(&report, "stages", "stage"),
        ["build", "wrap", "validate", "test", "publish", "verify"]
    );
    assert_eq!(report["stages"][3]["status"], "ok");
    assert_eq!(report["stages"][3]["outputs"]["passed"], 3);

    edit(&dir, "tests/http.toml", "status = 401", "status = 402");
    let (code, report) = run(&dir);
    assert_eq!(code, Some(15), "{report}");
    let stage = &report["stages"][3];
    assert_eq!(stage["stage"], "test");
    assert_eq!(stage["status"], "failed");
    let message = stage["message"].as_str().unwrap();
    assert!(
        message.contains("a request without a key is refused (tests/http.toml:10:1): status: expected 402, got 401"),
        "{message}"
    );
    assert_eq!(
        report["stages"].as_array().unwrap().len(),
        4,
        "nothing is published"
    );
}

/// Two messaging cases: an order accepted, a subject the policy does not list refused.
const MESSAGE_CASES: &str = r#"
[[case]]
name = "an order reaches the function, which sees the subject as its caller"
trigger = "messaging"
subject = "orders.created"
json = { id = 1 }
expect = { json = { caller = "orders.created" } }

[[case]]
name = "a subject the policy does not list is refused"
trigger = "messaging"
subject = "payments.created"
expect = { accepted = false, json = { error = "forbidden" } }
"#;

#[test]
fn messaging_cases_check_acceptance_and_the_reply() {
    let (_tmp, dir) = built_function("tested-messages");
    edit(
        &dir,
        "auth.toml",
        "[filters]",
        "[messaging]\nsubjects = [\"orders.*\"]\nscopes = [\"orders:write\"]\n\n[filters]",
    );
    success(&faas(&dir, &["wrap", "--triggers", "http,messaging"]));
    std::fs::write(dir.join("tests/messages.toml"), MESSAGE_CASES).unwrap();
    let report = json_of(&faas(&dir, &["test", "tests/messages.toml", "--json"]));
    assert_eq!(report["passed"], 2, "{report}");
    assert_eq!(report["cases"][0]["trigger"], "messaging");

    // A wrong expectation about acceptance says what happened.
    edit(
        &dir,
        "tests/messages.toml",
        "accepted = false",
        "accepted = true",
    );
    let out = faas(&dir, &["test", "tests/messages.toml"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("expected the message to be accepted, it was refused"),
        "{stdout}"
    );
    // A status means nothing for a message: refused where it is written.
    edit(
        &dir,
        "tests/messages.toml",
        "expect = { accepted = true,",
        "expect = { status = 200,",
    );
    let err = failure(&faas(&dir, &["test", "tests/messages.toml"]), 1);
    assert!(err.contains("tests/messages.toml:9:1: case `a subject the policy does not list is refused`: a message has no status"), "{err}");
}

#[test]
fn wasmcloud_2_8_messages_go_through_the_async_handler() {
    let (_tmp, dir) = built_function("tested-messages-p3");
    edit(
        &dir,
        "auth.toml",
        "[filters]",
        "[messaging]\nsubjects = [\"orders.*\"]\nscopes = [\"orders:write\"]\n\n[filters]",
    );
    // wasmCloud 2.8's messaging: the async wasmcloud:messaging@0.3.0, beside WASI 0.3 HTTP.
    let wrapped = json_of(&faas(
        &dir,
        &[
            "wrap",
            "--triggers",
            "http,messaging",
            "--target",
            "wasmcloud@0.3",
            "--json",
        ],
    ));
    let exports = wrapped["exports"].to_string();
    assert!(
        exports.contains("wasmcloud:messaging/handler@0.3.0")
            && exports.contains("wasi:http/handler@0.3")
            && !exports.contains("handler@0.2.0"),
        "{wrapped}"
    );
    let imports = wrapped["imports"].to_string();
    assert!(
        imports.contains("wasmcloud:messaging/consumer@0.3.0"),
        "{wrapped}"
    );
    std::fs::write(dir.join("tests/messages.toml"), MESSAGE_CASES).unwrap();
    let report = json_of(&faas(&dir, &["test", "tests/messages.toml", "--json"]));
    assert_eq!(report["passed"], 2, "{report}");
    // The same artifact still answers HTTP under faas test (its host supplies the async broker).
    let report = json_of(&faas(&dir, &["test", "--json"]));
    assert_eq!(report["failed"], 0, "{report}");
    assert!(report["passed"].as_u64().unwrap() > 0, "{report}");

    // Deployed: the workload asks the host for messaging 0.3.0; wasmCloud 1.x gets no manifest.
    let registry = Registry::start();
    success(&faas(
        &dir,
        &["keygen", "--key", "faas.key", "--pub", "faas.pub"],
    ));
    let reference = format!("{}/team/tested-messages-p3:0.1.0", registry.addr);
    success(&faas(&dir, &["publish", &reference, "--key", "faas.key"]));
    let record = json_of(&faas(&dir, &["deploy", "--json"]));
    assert_eq!(record["skipped"][0]["file"], "wadm.yaml", "{record}");
    let out = dir.join("target/faas/deploy");
    let workload = yaml(&out.join("workload.yaml"));
    let messaging = workload["spec"]["template"]["spec"]["hostInterfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["package"] == "messaging")
        .cloned()
        .unwrap_or_else(|| panic!("no messaging host interface: {workload}"));
    assert_eq!(
        messaging,
        serde_json::json!({
            "namespace": "wasmcloud", "package": "messaging", "version": "0.3.0",
            "interfaces": ["handler", "consumer"], "config": { "subscriptions": "orders.*" },
        })
    );
    check_manifests(&dir, &out);
}
