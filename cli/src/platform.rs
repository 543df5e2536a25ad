//! Target platforms: what a host supplies and what it calls, as WIT worlds (`wit/targets/`), and
//! the check that an artifact fits one.
//!
//! Interface names are compared semver-aware within a release line: an artifact importing
//! `wasi:io/streams@0.2.6` is satisfied by a host supplying `wasi:io/streams@0.2.12`, as hosts
//! link any 0.2.x import to their 0.2 implementation (exact-name checks, as in
//! `wasm-tools component targets`, would refuse it).

use serde::Serialize;
use wit_parser::Resolve;

/// The target worlds' WIT, embedded: (path, contents) as pushed into a resolve.
const TARGET_WIT: &[(&str, &str)] = &[
    ("deps/io.wit", include_str!("../../wit/targets/deps/io.wit")),
    (
        "deps/clocks.wit",
        include_str!("../../wit/targets/deps/clocks.wit"),
    ),
    (
        "deps/random.wit",
        include_str!("../../wit/targets/deps/random.wit"),
    ),
    (
        "deps/filesystem.wit",
        include_str!("../../wit/targets/deps/filesystem.wit"),
    ),
    (
        "deps/sockets.wit",
        include_str!("../../wit/targets/deps/sockets.wit"),
    ),
    (
        "deps/cli.wit",
        include_str!("../../wit/targets/deps/cli.wit"),
    ),
    (
        "deps/http.wit",
        include_str!("../../wit/targets/deps/http.wit"),
    ),
    (
        "deps/config.wit",
        include_str!("../../wit/targets/deps/config.wit"),
    ),
    (
        "deps/config-draft.wit",
        include_str!("../../wit/targets/deps/config-draft.wit"),
    ),
    (
        "deps/logging.wit",
        include_str!("../../wit/targets/deps/logging.wit"),
    ),
    (
        "deps/keyvalue.wit",
        include_str!("../../wit/targets/deps/keyvalue.wit"),
    ),
    (
        "deps/messaging.wit",
        include_str!("../../wit/targets/deps/messaging.wit"),
    ),
    (
        "deps/messaging-0.3.wit",
        include_str!("../../wit/targets/deps/messaging-0.3.wit"),
    ),
    (
        "deps/secrets.wit",
        include_str!("../../wit/targets/deps/secrets.wit"),
    ),
    (
        "deps/secrets-2.1.wit",
        include_str!("../../wit/targets/deps/secrets-2.1.wit"),
    ),
    (
        "deps/clocks-0.3.wit",
        include_str!("../../wit/targets/deps/clocks-0.3.wit"),
    ),
    (
        "deps/random-0.3.wit",
        include_str!("../../wit/targets/deps/random-0.3.wit"),
    ),
    (
        "deps/filesystem-0.3.wit",
        include_str!("../../wit/targets/deps/filesystem-0.3.wit"),
    ),
    (
        "deps/sockets-0.3.wit",
        include_str!("../../wit/targets/deps/sockets-0.3.wit"),
    ),
    (
        "deps/cli-0.3.wit",
        include_str!("../../wit/targets/deps/cli-0.3.wit"),
    ),
    (
        "deps/http-0.3.wit",
        include_str!("../../wit/targets/deps/http-0.3.wit"),
    ),
    ("targets.wit", include_str!("../../wit/targets/targets.wit")),
];

/// The targets faas knows. `NAME@0.3` is a platform's WASI 0.3 flavour (world `NAME-p3`).
pub const NAMES: &[&str] = &[
    "wasi-http",
    "wasmcloud",
    "wash-runtime",
    "wasi-http@0.3",
    "wasmcloud@0.3",
];

/// A platform: what it supplies and what it calls.
#[derive(Debug, Clone)]
pub struct Platform {
    /// Its name (`wasi-http`, `wasmcloud`).
    pub name: String,
    /// Interfaces the host supplies.
    pub imports: Vec<String>,
    /// Interfaces the host can call.
    pub exports: Vec<String>,
}

/// One reason an artifact does not fit a target.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Problem {
    /// The layer responsible (`function`, `decorator`, `http-adapter`, …, or `artifact`).
    pub layer: String,
    /// The interface concerned.
    pub interface: String,
    /// What is wrong and what would fix it.
    pub message: String,
}

impl Platform {
    /// Loads the named target world.
    pub fn load(name: &str) -> Result<Platform, String> {
        if !NAMES.contains(&name) {
            return Err(format!(
                "unknown target `{name}`; known targets: {}",
                NAMES.join(", ")
            ));
        }
        let mut resolve = Resolve::default();
        let mut main = None;
        // Dependencies first, so the targets package can refer to them.
        for (path, text) in TARGET_WIT {
            let package = resolve
                .push_str(path, text)
                .map_err(|e| format!("target WIT {path}: {e:#}"))?;
            main = Some(package);
        }
        let world = resolve
            .select_world(
                &[main.expect("targets pushed")],
                Some(&name.replace("@0.3", "-p3")),
            )
            .map_err(|e| format!("{e:#}"))?;
        let names = |items: &wit_parser::IndexMap<wit_parser::WorldKey, wit_parser::WorldItem>| {
            items
                .iter()
                .filter(|(_, item)| matches!(item, wit_parser::WorldItem::Interface { .. }))
                .map(|(key, _)| resolve.name_world_key(key))
                .collect::<Vec<_>>()
        };
        let w = &resolve.worlds[world];
        Ok(Platform {
            name: name.to_string(),
            imports: names(&w.imports),
            exports: names(&w.exports),
        })
    }

    /// Whether the host supplies `import`.
    pub fn supplies(&self, import: &str) -> bool {
        self.imports.iter().any(|s| compatible(import, s))
    }

    /// Whether the host can call `export`.
    pub fn calls(&self, export: &str) -> bool {
        self.exports.iter().any(|s| compatible(export, s))
    }

    /// Every problem of an artifact with these imports (each attributed to a layer by `owner`)
    /// and exports, all at once.
    pub fn check(
        &self,
        imports: &[String],
        exports: &[String],
        owner: &dyn Fn(&str) -> String,
    ) -> Vec<Problem> {
        let mut problems = Vec::new();
        for import in imports.iter().filter(|i| !self.supplies(i)) {
            let layer = owner(import);
            problems.push(Problem {
                message: format!(
                    "the {layer} imports {import}, which the {} target does not supply{}",
                    self.name,
                    fix_for_import(import, &layer)
                ),
                layer,
                interface: import.clone(),
            });
        }
        for export in exports.iter().filter(|e| !self.calls(e)) {
            problems.push(Problem {
                layer: "artifact".into(),
                interface: export.clone(),
                message: format!(
                    "the artifact exports {export}, which the {} target never calls; remove that \
                     trigger from faas.toml for this target (it calls {})",
                    self.name,
                    self.exports.join(", ")
                ),
            });
        }
        if !exports.iter().any(|e| self.calls(e)) {
            problems.push(Problem {
                layer: "artifact".into(),
                interface: String::new(),
                message: format!(
                    "the artifact exports nothing the {} target calls (it calls {})",
                    self.name,
                    self.exports.join(", ")
                ),
            });
        }
        problems
    }
}

fn fix_for_import(import: &str, layer: &str) -> &'static str {
    if import.starts_with("wasi:config/") {
        "; the policy's HS256 secret, webhook secret or [credentials] need run-time \
         configuration: use a target that supplies wasi:config (wasmcloud), or remove them"
    } else if import.starts_with("wasi:keyvalue/") && layer == "verifier" {
        "; the policy's [[limit]]s count requests, and fetched JWT keys are cached, in the \
         host's key-value store: use a target that supplies wasi:keyvalue (wasmcloud), or remove \
         them"
    } else if import.starts_with("faas:") {
        "; this is a bare function, not a wrapped artifact: run `faas wrap`"
    } else if layer == "function" {
        "; remove the capability from the function (or its grant from the policy), or choose a \
         target that supplies it"
    } else {
        "; choose a target that supplies it"
    }
}

/// `a:b/c@0.2.6` is satisfied by `a:b/c@0.2.12`: same interface, same release line (same major,
/// and same minor below 1.0), and the supplied version at least the one asked for. Pre-release
/// versions (drafts) must match exactly.
pub fn compatible(wanted: &str, supplied: &str) -> bool {
    let (wanted_name, wanted_version) = split(wanted);
    let (supplied_name, supplied_version) = split(supplied);
    if wanted_name != supplied_name {
        return false;
    }
    match (wanted_version, supplied_version) {
        (None, None) => true,
        (Some(w), Some(s)) => {
            if !w.pre.is_empty() || !s.pre.is_empty() {
                return w == s;
            }
            let same_line = w.major == s.major && (w.major != 0 || w.minor == s.minor);
            same_line && s >= w
        }
        _ => false,
    }
}

fn split(name: &str) -> (&str, Option<semver::Version>) {
    match name.split_once('@') {
        Some((n, v)) => (n, semver::Version::parse(v).ok()),
        None => (name, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_compared_within_a_release_line() {
        assert!(compatible(
            "wasi:io/streams@0.2.6",
            "wasi:io/streams@0.2.12"
        ));
        assert!(!compatible(
            "wasi:io/streams@0.2.13",
            "wasi:io/streams@0.2.12"
        ));
        assert!(!compatible(
            "wasi:io/streams@0.3.0",
            "wasi:io/streams@0.2.12"
        ));
        assert!(!compatible("wasi:io/error@0.2.6", "wasi:io/streams@0.2.12"));
        assert!(compatible(
            "wasi:config/store@0.2.0-rc.1",
            "wasi:config/store@0.2.0-rc.1"
        ));
        assert!(!compatible(
            "wasi:config/store@0.2.0-draft",
            "wasi:config/store@0.2.0-rc.1"
        ));
    }

    #[test]
    fn the_targets_load_and_differ() {
        let http = Platform::load("wasi-http").unwrap();
        let cloud = Platform::load("wasmcloud").unwrap();
        assert!(http.supplies("wasi:http/types@0.2.6"));
        assert!(!http.supplies("wasi:cli/environment@0.2.6"));
        assert!(cloud.supplies("wasi:cli/environment@0.2.6"));
        assert!(cloud.supplies("wasi:config/store@0.2.0-rc.1"));
        assert!(!http.supplies("wasi:config/store@0.2.0-rc.1"));
        assert!(cloud.calls("wasmcloud:messaging/handler@0.2.0"));
        assert!(!http.calls("wasmcloud:messaging/handler@0.2.0"));
        assert!(Platform::load("aws-lambda").is_err());
    }
}
