//! Golden tests of the composition plan, in the style of wac-graph's and wit-component's
//! data-driven tests. Each folder of `fixtures/plans/` is a case:
//!
//! - `function.wit`: the function's world (package `test:case`, world `function`), from which a
//!   component is made with wit-component's dummy module; it may use the contract and the WASI
//!   packages of `wit/targets/deps`;
//! - `auth.toml`: the policy;
//! - `case.toml`: `triggers = [...]`, `language` (default `rust`), `target` (a platform whose host
//!   decides layers, e.g. `wasi-http@0.3`) and `http-component = true` (the function is a WASI 0.3
//!   HTTP component behind the middleware, as `faas wrap --http-component` plans it);
//! - `plan.txt`: the expected [`Plan::describe`], or `error.txt`: the expected error.
//!
//! `BLESS=1 cargo test -p faas golden` rewrites the expected files from what the code does.

use super::*;
use crate::policy::{self, CompiledPolicy};
use crate::source::SourceFile;
use std::path::{Path, PathBuf};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A component with `world`'s imports and exports and dummy code, as any toolchain would make.
fn function_component(case: &Path) -> Vec<u8> {
    let scratch = tempfile::tempdir().unwrap();
    let deps = scratch.path().join("deps");
    std::fs::create_dir_all(&deps).unwrap();
    for entry in std::fs::read_dir(repository().join("wit/targets/deps")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), deps.join(entry.file_name())).unwrap();
    }
    std::fs::copy(
        repository().join("wit/function.wit"),
        deps.join("function.wit"),
    )
    .unwrap();
    std::fs::copy(
        case.join("function.wit"),
        scratch.path().join("function.wit"),
    )
    .unwrap();
    let mut resolve = wit_parser::Resolve::default();
    let (package, _) = resolve.push_dir(scratch.path()).unwrap();
    let world = resolve.select_world(&[package], Some("function")).unwrap();
    let mut module =
        wit_component::dummy_module(&resolve, world, wit_parser::ManglingAndAbi::Standard32);
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .unwrap();
    wit_component::ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .encode()
        .unwrap()
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "kebab-case")]
struct Case {
    #[serde(default)]
    triggers: Vec<Trigger>,
    #[serde(default = "rust")]
    language: Language,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    http_component: bool,
}

fn rust() -> Language {
    Language::Rust
}

fn run(case: &Path) -> String {
    let settings: Case =
        toml::from_str(&std::fs::read_to_string(case.join("case.toml")).unwrap()).unwrap();
    let source = SourceFile {
        path: "auth.toml".into(),
        text: std::fs::read_to_string(case.join("auth.toml")).unwrap(),
    };
    let (compiled, capabilities) = match policy::compile(&source) {
        Ok(compiled) => compiled,
        Err(e) => return format!("error: {e}\n"),
    };
    let policy = CompiledPolicy {
        path: "auth.toml".into(),
        document: compiled.encode(),
        policy: compiled,
        capabilities,
    };
    let platform = settings
        .target
        .as_deref()
        .map(|name| crate::platform::Platform::load(name).unwrap());
    let host = Host::of(platform.as_ref());
    let function = function_component(case);
    let planned = match settings.http_component {
        true => plan_http_component(&function, &policy, host),
        false => plan_for(
            &function,
            &policy,
            &settings.triggers,
            settings.language,
            host,
            &[],
        ),
    };
    match planned {
        Ok((plan, _)) => plan.describe(),
        Err(e) => format!("error: {e}\n"),
    }
}

#[test]
fn golden_plans() {
    let bless = std::env::var_os("BLESS").is_some();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(repository().join("fixtures/plans"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "the golden cases are missing");
    let mut failures = Vec::new();
    for case in &cases {
        let got = run(case);
        let (expected_file, stale_file) = if got.starts_with("error: ") {
            ("error.txt", "plan.txt")
        } else {
            ("plan.txt", "error.txt")
        };
        if bless {
            std::fs::write(case.join(expected_file), &got).unwrap();
            let _ = std::fs::remove_file(case.join(stale_file));
            continue;
        }
        let expected = std::fs::read_to_string(case.join(expected_file)).unwrap_or_default();
        if got != expected {
            failures.push(format!(
                "{}: {expected_file} differs (BLESS=1 to accept)\n--- expected\n{expected}--- got\n{got}",
                case.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
