//! What a layer was built from: the packages compiled or bundled into it and the toolchain that
//! did it, for the SBOM `faas publish` attaches ([`crate::attest`]).
//!
//! `faas build` records them in the function component itself (the custom section
//! [`PACKAGES_SECTION`]), the way cargo-auditable records a binary's crates, so that they travel
//! with the component to `faas wrap`, which copies them into the artifact's layers note beside the
//! packages of faas's own layers (recorded when `faas` itself was built, by `cli/build.rs`).

use crate::artifact::{BuiltFrom, Package};
use std::path::Path;

/// The custom section in which `faas build` records what a function was built from.
pub const PACKAGES_SECTION: &str = "faas-packages";

/// The packages in the output of `cargo tree --prefix none --format '{p}|{l}'`: one line per
/// package (`serde v1.0.228|MIT OR Apache-2.0`, `hello v0.1.0 (/path)|` for a path package), with
/// repeats marked `(*)`. Registry crates get a `pkg:cargo` URL; path and git packages none.
pub fn from_cargo_tree(text: &str) -> Vec<Package> {
    let mut packages: Vec<Package> = text
        .lines()
        .filter_map(|line| {
            let (package, license) = line.trim().split_once('|')?;
            let license = license.trim_end_matches("(*)").trim();
            let (name, rest) = package.trim().split_once(' ')?;
            let rest = rest.strip_prefix('v')?;
            // A path or git package names its source after the version.
            let (version, source) = match rest.split_once(' ') {
                Some((version, source)) => (version, Some(source)),
                None => (rest, None),
            };
            Some(Package {
                name: name.to_string(),
                version: version.to_string(),
                purl: source
                    .is_none()
                    .then(|| format!("pkg:cargo/{name}@{}", purl_version(version))),
                // Cargo's legacy `MIT/Apache-2.0` means `MIT OR Apache-2.0`.
                license: (!license.is_empty()).then(|| license.replace('/', " OR ")),
            })
        })
        .collect();
    packages.sort();
    packages.dedup();
    packages
}

/// The crates a Rust function in `root` links for the wasm32-wasip2 target (normal dependencies,
/// not build scripts, proc-macros or dev-dependencies), from `cargo tree` after a build.
pub fn rust_project(root: &Path) -> Result<Vec<Package>, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let output = std::process::Command::new(cargo)
        .current_dir(root)
        .args([
            "tree",
            "--offline",
            "--target",
            crate::contract::RUST_TARGET,
        ])
        .args(["-e", "normal,no-proc-macro", "--prefix", "none"])
        .args(["--format", "{p}|{l}"])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run cargo tree: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo tree failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(from_cargo_tree(&String::from_utf8_lossy(&output.stdout)))
}

/// The version of the Rust compiler that builds in `root` (its `rust-toolchain` file applies).
pub fn rustc_version(root: &Path) -> Option<String> {
    let output = std::process::Command::new("rustc")
        .current_dir(root)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?.trim().to_string();
    (output.status.success() && !text.is_empty()).then_some(text)
}

/// Distributions of the toolchain itself, installed beside the function's own but not bundled.
const PYTHON_TOOLING: &[&str] = &["componentize-py", "pip", "setuptools", "wheel"];

/// The Python distributions installed in the project's `.venv`, which componentize-py bundles,
/// except the toolchain's own.
pub fn python_environment(root: &Path) -> Vec<Package> {
    let mut packages = Vec::new();
    let Ok(lib) = std::fs::read_dir(root.join(".venv/lib")) else {
        return packages;
    };
    for python in lib.flatten() {
        let Ok(entries) = std::fs::read_dir(python.path().join("site-packages")) else {
            continue;
        };
        for entry in entries.flatten() {
            if !entry.file_name().to_string_lossy().ends_with(".dist-info") {
                continue;
            }
            let Ok(metadata) = std::fs::read_to_string(entry.path().join("METADATA")) else {
                continue;
            };
            let field = |key: &str| {
                metadata
                    .lines()
                    .take_while(|l| !l.is_empty())
                    .find_map(|l| l.strip_prefix(key)?.strip_prefix(": "))
                    .map(|v| v.trim().to_string())
            };
            let (Some(name), Some(version)) = (field("Name"), field("Version")) else {
                continue;
            };
            // PEP 503 normalisation, as package URLs for PyPI use it.
            let normalised = name.to_lowercase().replace(['_', '.'], "-");
            if PYTHON_TOOLING.contains(&normalised.as_str()) {
                continue;
            }
            packages.push(Package {
                purl: Some(format!("pkg:pypi/{normalised}@{}", purl_version(&version))),
                license: field("License-Expression"),
                name,
                version,
            });
        }
    }
    packages.sort();
    packages
}

/// The npm packages a JavaScript function depends on (`dependencies` in its `package.json`, at
/// the versions installed in `node_modules`); the toolchain is a dev-dependency and is not one.
pub fn javascript_project(root: &Path) -> Vec<Package> {
    let read = |path: &Path| -> Option<serde_json::Value> {
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
    };
    let Some(manifest) = read(&root.join("package.json")) else {
        return Vec::new();
    };
    let mut packages: Vec<Package> = manifest["dependencies"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(name, _)| {
            let installed = read(&root.join("node_modules").join(name).join("package.json"))?;
            let version = installed["version"].as_str()?.to_string();
            Some(Package {
                purl: Some(format!(
                    "pkg:npm/{}@{}",
                    name.replacen('@', "%40", 1),
                    purl_version(&version)
                )),
                license: installed["license"].as_str().map(str::to_string),
                name: name.clone(),
                version,
            })
        })
        .collect();
    packages.sort();
    packages
}

/// A version as a package URL writes it: `+` (build metadata) percent-encoded.
fn purl_version(version: &str) -> String {
    version.replace('+', "%2B")
}

/// Records `built_from` in `component` (appends the custom section [`PACKAGES_SECTION`]).
pub fn record(component: &mut Vec<u8>, built_from: &BuiltFrom) {
    crate::artifact::append_custom_section(
        component,
        PACKAGES_SECTION,
        &serde_json::to_vec(built_from).expect("packages serialise"),
    );
}

/// What `component` says it was built from: what `faas build` recorded in it, else what
/// cargo-auditable recorded (a function built elsewhere and adopted with `--component`).
pub fn of_component(component: &[u8]) -> Option<BuiltFrom> {
    recorded(component).or_else(|| auditable(component))
}

/// What `faas build` recorded in `component`, if it did (at its top level).
fn recorded(component: &[u8]) -> Option<BuiltFrom> {
    crate::artifact::top_level_section(component, PACKAGES_SECTION)
        .and_then(|data| serde_json::from_slice(data).ok())
}

/// The crates cargo-auditable recorded in `component` (its `.dep-v0` section, in a core module),
/// without build-time dependencies, which are not in the binary.
fn auditable(component: &[u8]) -> Option<BuiltFrom> {
    use auditable_serde::{DependencyKind, Source};
    fn find(payload: &wasm_metadata::Payload) -> Option<&wasm_metadata::Dependencies> {
        match payload {
            wasm_metadata::Payload::Module(metadata) => metadata.dependencies.as_ref(),
            wasm_metadata::Payload::Component { metadata, children } => metadata
                .dependencies
                .as_ref()
                .or_else(|| children.iter().find_map(find)),
        }
    }
    let payload = wasm_metadata::Payload::from_binary(component).ok()?;
    let mut packages: Vec<Package> = find(&payload)?
        .version_info()
        .packages
        .iter()
        .filter(|p| p.kind == DependencyKind::Runtime)
        .map(|p| {
            let version = p.version.to_string();
            Package {
                purl: matches!(p.source, Source::CratesIo)
                    .then(|| format!("pkg:cargo/{}@{}", p.name, purl_version(&version))),
                name: p.name.clone(),
                version,
                license: None,
            }
        })
        .collect();
    packages.sort();
    Some(BuiltFrom {
        toolchain: Some("as recorded by cargo-auditable".to_string()),
        packages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_tree_lines_become_sorted_unique_packages() {
        let text = "hello v0.1.0 (/home/me/hello)|\n\
                    serde v1.0.228|MIT OR Apache-2.0\n\
                    dlmalloc v0.2.14|MIT/Apache-2.0\n\
                    serde v1.0.228|MIT OR Apache-2.0 (*)\n\
                    wasip2 v1.0.4+wasi-0.2.12|Apache-2.0 (*)\n\
                    mine v0.2.0 (https://example.com/mine.git#abc)|MIT\n";
        let packages = from_cargo_tree(text);
        let names: Vec<_> = packages
            .iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect();
        assert_eq!(
            names,
            [
                "dlmalloc@0.2.14",
                "hello@0.1.0",
                "mine@0.2.0",
                "serde@1.0.228",
                "wasip2@1.0.4+wasi-0.2.12"
            ]
        );
        assert_eq!(packages[0].license.as_deref(), Some("MIT OR Apache-2.0"));
        assert_eq!(packages[1].purl, None, "a path package has no package URL");
        assert_eq!(packages[1].license, None);
        assert_eq!(packages[2].purl, None, "a git package has no registry URL");
        assert_eq!(packages[3].purl.as_deref(), Some("pkg:cargo/serde@1.0.228"));
        assert_eq!(
            packages[4].purl.as_deref(),
            Some("pkg:cargo/wasip2@1.0.4%2Bwasi-0.2.12")
        );
    }

    #[test]
    fn what_build_records_reads_back_from_the_component() {
        let mut bytes = wasm_encoder::Component::new().finish();
        assert_eq!(recorded(&bytes), None);
        let built_from = BuiltFrom {
            toolchain: Some("rustc 1.95.0".into()),
            packages: from_cargo_tree("serde v1.0.228|MIT\n"),
        };
        record(&mut bytes, &built_from);
        wasmparser::Validator::new().validate_all(&bytes).unwrap();
        assert_eq!(recorded(&bytes), Some(built_from));
    }

    #[test]
    fn a_component_built_with_cargo_auditable_gives_its_runtime_crates() {
        // The `.dep-v0` section as cargo-auditable's format crate and wasm-metadata write it, in
        // the component's core module.
        let info: auditable_serde::VersionInfo = r#"{"packages":[
            {"name":"app","version":"0.1.0","source":"local","dependencies":[1,2],"root":true},
            {"name":"serde","version":"1.0.228","source":"crates.io"},
            {"name":"cc","version":"1.2.0","source":"crates.io","kind":"build"}]}"#
            .parse()
            .unwrap();
        let section = wasm_metadata::Dependencies::new(info).unwrap();
        let mut module = wasm_encoder::Module::new();
        module.section(&section);
        let mut component = wasm_encoder::Component::new();
        component.section(&wasm_encoder::ModuleSection(&module));
        let bytes = component.finish();
        let built_from = of_component(&bytes).expect("the section is found in the module");
        let names: Vec<_> = built_from
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.purl.as_deref()))
            .collect();
        assert_eq!(
            names,
            [("app", None), ("serde", Some("pkg:cargo/serde@1.0.228"))],
            "build dependencies are not in the binary"
        );
        assert_eq!(of_component(&wasm_encoder::Component::new().finish()), None);
    }

    #[test]
    fn python_and_npm_packages_come_from_what_is_installed() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join(".venv/lib/python3.13/site-packages");
        for (dist, name, version) in [
            (
                "Requests_Toolbelt-1.0.0.dist-info",
                "Requests_Toolbelt",
                "1.0.0",
            ),
            (
                "componentize_py-0.25.1.dist-info",
                "componentize-py",
                "0.25.1",
            ),
        ] {
            std::fs::create_dir_all(site.join(dist)).unwrap();
            std::fs::write(
                site.join(dist).join("METADATA"),
                format!("Metadata-Version: 2.4\nName: {name}\nVersion: {version}\nLicense-Expression: MIT\n\nName: not a header\n"),
            )
            .unwrap();
        }
        let python = python_environment(dir.path());
        assert_eq!(python.len(), 1, "{python:?}");
        assert_eq!(
            python[0].purl.as_deref(),
            Some("pkg:pypi/requests-toolbelt@1.0.0")
        );
        assert_eq!(python[0].license.as_deref(), Some("MIT"));

        std::fs::write(
            dir.path().join("package.json"),
            r#"{"dependencies":{"@scope/util":"^2","missing":"1"},"devDependencies":{"@bytecodealliance/componentize-js":"0.19.0"}}"#,
        )
        .unwrap();
        let util = dir.path().join("node_modules/@scope/util");
        std::fs::create_dir_all(&util).unwrap();
        std::fs::write(
            util.join("package.json"),
            r#"{"version":"2.1.0","license":"ISC"}"#,
        )
        .unwrap();
        let js = javascript_project(dir.path());
        assert_eq!(js.len(), 1, "{js:?}");
        assert_eq!(js[0].purl.as_deref(), Some("pkg:npm/%40scope/util@2.1.0"));
    }
}
