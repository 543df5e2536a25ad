//! Documented examples cannot rot: every YAML and TOML block in README.md and docs/ parses, every
//! policy among them compiles with `faas policy check`, every faas.toml among them loads as a
//! project file, and every `faas test` case and keys file is read by faas's own reader. A user copies these blocks as they are.

use crate::common::*;
use std::path::{Path, PathBuf};

/// A fenced code block: its file, the line of its opening fence, its info string and its text.
struct Block {
    file: PathBuf,
    line: usize,
    info: String,
    text: String,
}

fn blocks() -> Vec<Block> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    let mut blocks = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut open: Option<Block> = None;
        for (number, line) in text.lines().enumerate() {
            let fence = line.trim_start().strip_prefix("```");
            match (fence, open.take()) {
                (Some(_), Some(block)) => blocks.push(block),
                (Some(info), None) => {
                    open = Some(Block {
                        file: file.clone(),
                        line: number + 1,
                        info: info.trim().to_string(),
                        text: String::new(),
                    })
                }
                (None, Some(mut block)) => {
                    block.text.push_str(line);
                    block.text.push('\n');
                    open = Some(block);
                }
                (None, None) => {}
            }
        }
        assert!(open.is_none(), "{}: an unclosed code block", file.display());
    }
    blocks
}

fn at(block: &Block) -> String {
    format!("{}:{}", block.file.display(), block.line)
}

#[test]
fn every_yaml_block_in_the_docs_parses() {
    let yaml: Vec<Block> = blocks()
        .into_iter()
        .filter(|b| b.info == "yaml" || b.info == "yml")
        .collect();
    assert!(yaml.len() >= 3, "the CI snippets are YAML blocks");
    for block in &yaml {
        if let Err(e) = serde_yaml::from_str::<serde_yaml::Value>(&block.text) {
            panic!("{}: the YAML block does not parse: {e}", at(block));
        }
    }
}

#[test]
fn every_toml_block_in_the_docs_parses_and_every_policy_and_project_file_is_valid() {
    let tmp = tempfile::tempdir().unwrap();
    let mut policies = 0;
    let mut projects = 0;
    for block in blocks().iter().filter(|b| b.info == "toml") {
        let table: toml::Table = toml::from_str(&block.text)
            .unwrap_or_else(|e| panic!("{}: the TOML block does not parse: {e}", at(block)));
        if table.contains_key("version") {
            // An auth.toml example: the policy compiler must accept it as it is.
            let path = tmp.path().join("auth.toml");
            std::fs::write(&path, &block.text).unwrap();
            let out = faas(tmp.path(), &["policy", "check", "auth.toml"]);
            assert!(
                out.status.success(),
                "{}: the policy example is refused: {}",
                at(block),
                String::from_utf8_lossy(&out.stderr)
            );
            policies += 1;
        } else if ["function", "pipeline", "limits", "deploy"]
            .iter()
            .any(|t| table.contains_key(*t))
        {
            // A faas.toml example; one without [function] is shown beside a [function] table.
            let dir = tmp.path().join(format!("project-{projects}"));
            std::fs::create_dir_all(&dir).unwrap();
            let text = if table.contains_key("function") {
                block.text.clone()
            } else {
                format!(
                    "[function]\nname = \"hello\"\nversion = \"0.1.0\"\n{}",
                    block.text
                )
            };
            std::fs::write(dir.join("faas.toml"), text).unwrap();
            if let Err(e) = faas::project::Project::load(&dir) {
                panic!("{}: the faas.toml example is refused: {e}", at(block));
            }
            projects += 1;
        } else if table.contains_key("case") {
            // A `faas test` case file: faas's own reader must accept it.
            let path = tmp.path().join("cases.toml");
            std::fs::write(&path, &block.text).unwrap();
            if let Err(e) = faas::testing::cases::read_cases(&[path]) {
                panic!("{}: the case example is refused: {e}", at(block));
            }
        } else if ["api-keys", "jwt-keys", "config"]
            .iter()
            .any(|t| table.contains_key(*t))
        {
            let path = tmp.path().join("keys.toml");
            std::fs::write(&path, &block.text).unwrap();
            if let Err(e) = faas::testing::cases::read_keys(&path) {
                panic!("{}: the keys example is refused: {e}", at(block));
            }
        } else if table.contains_key("probe") {
            // A record of the policy probes: every field of each probe.
            for probe in table["probe"].as_array().unwrap() {
                for field in ["rule", "access", "request", "credential", "outcome"] {
                    assert!(probe.get(field).is_some(), "{}: no {field}", at(block));
                }
            }
        } else {
            panic!(
                "{}: a TOML block that is neither a policy nor a faas.toml: say which in the test",
                at(block)
            );
        }
    }
    assert!(
        policies >= 1 && projects >= 2,
        "{policies} policies, {projects} project files"
    );
}

#[test]
fn the_templates_and_fixture_policies_compile() {
    // Fixtures that are valid by design; the broken ones are tested for their errors elsewhere.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for policy in [
        "full.toml",
        "review.toml",
        "x-api-key.toml",
        "sockets-allowed.toml",
    ] {
        let path = root.join("fixtures/policies").join(policy);
        success(&faas(&root, &["policy", "check", path.to_str().unwrap()]));
    }
    // The template's auth.toml, as `faas new` renders it.
    let (_tmp, dir) = new_function("docs-template-policy");
    success(&faas(&dir, &["policy", "check", "auth.toml"]));
}

/// The value of a GitHub Actions expression `${{ … }}` the documented job uses, as a run of it
/// would have it: a job that uses any other fails here, so the table and the docs move together.
fn github_expression(expression: &str, key: &str) -> String {
    match expression.trim() {
        "secrets.GITHUB_TOKEN" => String::new(),
        "secrets.FAAS_KEY_PASSWORD" => "ci-password".into(),
        "secrets.FAAS_SIGNING_KEY" => key.into(),
        "github.actor" => "ci-bot".into(),
        "github.server_url" => "https://github.com".into(),
        "github.repository" => "Team-Caps/orders".into(),
        "github.sha" => "0123456789abcdef0123456789abcdef01234567".into(),
        other => panic!("the CI job uses `${{{{ {other} }}}}`, which this test does not know"),
    }
}

fn substitute(text: &str, key: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("a closed expression") + start;
        out.push_str(&github_expression(&rest[start + 3..end], key));
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Runs `script` with bash in `dir`, with `env`, faas on the PATH; returns (status, stderr).
fn run_shell(dir: &Path, script: &str, env: &[(String, String)]) -> (bool, String) {
    let faas_dir = Path::new(env!("CARGO_BIN_EXE_faas")).parent().unwrap();
    let path = format!("{}:{}", faas_dir.display(), std::env::var("PATH").unwrap());
    let out = std::process::Command::new("bash")
        .current_dir(dir)
        .args(["-eo", "pipefail", "-c", script])
        .env("PATH", path)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The documented CI jobs run as written (their install steps aside: faas is already built here):
/// GitHub Actions' with a repository owner in capitals and the signing key from a secret, GitLab's
/// with its variables, each publishing to the loopback registry and leaving a passing report.
#[test]
fn the_documented_ci_jobs_run_as_written() {
    let registry = Registry::start();
    let keys = tempfile::tempdir().unwrap();
    let keygen = faas_command(
        keys.path(),
        &["keygen", "--key", "ci.key", "--pub", "ci.pub"],
    )
    .env("FAAS_KEY_PASSWORD", "ci-password")
    .output()
    .unwrap();
    success(&keygen);
    let key = std::fs::read_to_string(keys.path().join("ci.key")).unwrap();
    let ci = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/ci.md");
    let jobs: Vec<serde_yaml::Value> = blocks()
        .into_iter()
        .filter(|b| b.file == ci && b.info == "yaml")
        .map(|b| serde_yaml::from_str(&b.text).unwrap())
        .collect();

    // GitHub Actions.
    let github = jobs
        .iter()
        .find(|j| j["jobs"].is_mapping())
        .expect("the GitHub job");
    let (_tmp, dir) = new_function("orders");
    let github_env = dir.join("github-env");
    let mut env: Vec<(String, String)> = vec![
        ("GITHUB_REPOSITORY_OWNER".into(), "Team-Caps".into()),
        ("GITHUB_ENV".into(), github_env.display().to_string()),
    ];
    let steps = github["jobs"]["publish"]["steps"].as_sequence().unwrap();
    let mut ran = 0;
    for step in steps {
        let Some(run) = step["run"].as_str() else {
            continue;
        };
        if run.contains("cargo install") {
            continue;
        }
        let mut step_env = env.clone();
        if let Some(vars) = step["env"].as_mapping() {
            for (name, value) in vars {
                let value = match value {
                    serde_yaml::Value::String(s) => substitute(s, &key),
                    other => serde_yaml::to_string(other).unwrap().trim().to_string(),
                };
                step_env.push((name.as_str().unwrap().to_string(), value));
            }
        }
        // What earlier steps wrote to $GITHUB_ENV; the registry is the loopback one, under the
        // lower-cased owner the job computed.
        for line in std::fs::read_to_string(&github_env)
            .unwrap_or_default()
            .lines()
        {
            let (name, value) = line.split_once('=').unwrap();
            assert_eq!(value, "ghcr.io/team-caps/orders", "{line}");
            step_env.push((name.into(), format!("{}/team-caps/orders", registry.addr)));
        }
        let (ok, stderr) = run_shell(&dir, &substitute(run, &key), &step_env);
        assert!(ok, "{run}\n{stderr}");
        ran += 1;
    }
    assert_eq!(ran, 2, "the owner step and the pipeline step");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("faas-report.json")).unwrap())
            .unwrap();
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(
        report["stages"][5]["status"], "ok",
        "the artifact was signed and verified: {report}"
    );
    env.clear();

    // GitLab CI.
    let gitlab = jobs
        .iter()
        .find(|j| j["function"]["script"].is_sequence())
        .expect("the GitLab job");
    let (_tmp, dir) = new_function("orders");
    let job = &gitlab["function"];
    let mut env: Vec<(String, String)> = vec![
        (
            "CI_REGISTRY_IMAGE".into(),
            format!("{}/group/orders", registry.addr),
        ),
        ("CI_REGISTRY_USER".into(), "gitlab-ci-token".into()),
        ("CI_REGISTRY_PASSWORD".into(), String::new()),
        (
            "CI_PROJECT_URL".into(),
            "https://gitlab.example.com/group/orders".into(),
        ),
        (
            "CI_COMMIT_SHA".into(),
            "0123456789abcdef0123456789abcdef01234567".into(),
        ),
        ("FAAS_SIGNING_KEY".into(), key.clone()),
        ("FAAS_KEY_PASSWORD".into(), "ci-password".into()),
    ];
    for (name, value) in job["variables"].as_mapping().unwrap() {
        env.push((
            name.as_str().unwrap().into(),
            value.as_str().unwrap().to_string(),
        ));
    }
    // GitLab expands `$VAR` in variables; the shell does the same here.
    let exports: String = env
        .iter()
        .map(|(k, v)| format!("export {k}=\"{v}\"\n"))
        .collect();
    let script: Vec<&str> = job["script"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|line| line.as_str().unwrap())
        .collect();
    let (ok, stderr) = run_shell(&dir, &format!("{exports}{}", script.join("\n")), &[]);
    assert!(ok, "{script:?}\n{stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("faas-report.json")).unwrap())
            .unwrap();
    assert_eq!(report["ok"], true, "{report}");
}
