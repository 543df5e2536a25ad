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
