//! Builds the guest components (security decorator, platform adapters) for wasm32-wasip2 from
//! `guests/`, so that the `faas` binary embeds them and works on its own after `cargo install`.
//!
//! The guests are a separate Cargo workspace with their own target folder: the host build never
//! compiles guest code for the host, and the guests are rebuilt only when their sources change.

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";
/// One `cargo build` of guests: the packages, the features, and each package's output file with
/// the name it is embedded under.
struct Build {
    packages: &'static [&'static str],
    features: &'static [&'static str],
    outputs: &'static [(&'static str, &'static str)],
}

/// The guests, in three builds: Cargo unifies the features of the packages built together, and
/// the verifier layer's `verify` feature brings std, which the lean guests (no_std,
/// guests/runtime) must not link; the decorator is built a second time without its verifier
/// import.
const BUILDS: &[Build] = &[
    Build {
        packages: &[
            "faas-cli-adapter",
            "faas-config-bridge",
            "faas-credentials",
            "faas-decorator",
            "faas-function-gate",
            "faas-http-adapter",
            "faas-keyvalue-guard",
            "faas-messaging-adapter",
            "faas-outgoing-guard",
        ],
        features: &[],
        outputs: &[
            ("faas_cli_adapter.wasm", "faas_cli_adapter.wasm"),
            ("faas_config_bridge.wasm", "faas_config_bridge.wasm"),
            ("faas_credentials.wasm", "faas_credentials.wasm"),
            ("faas_decorator.wasm", "faas_decorator.wasm"),
            ("faas_function_gate.wasm", "faas_function_gate.wasm"),
            ("faas_http_adapter.wasm", "faas_http_adapter.wasm"),
            ("faas_keyvalue_guard.wasm", "faas_keyvalue_guard.wasm"),
            ("faas_messaging_adapter.wasm", "faas_messaging_adapter.wasm"),
            ("faas_outgoing_guard.wasm", "faas_outgoing_guard.wasm"),
        ],
    },
    Build {
        packages: &["faas-decorator"],
        features: &["faas-decorator/no-verifier"],
        outputs: &[(
            "faas_decorator.wasm",
            "faas_decorator_without_verifier.wasm",
        )],
    },
    Build {
        packages: &["faas-verifier"],
        features: &[],
        outputs: &[("faas_verifier.wasm", "faas_verifier.wasm")],
    },
    // The WASI 0.3 layers: wit-bindgen's async runtime (and so std) in their own build.
    Build {
        packages: &[
            "faas-http-adapter-p3",
            "faas-http-middleware",
            "faas-messaging-adapter-p3",
            "faas-secrets",
        ],
        features: &[],
        outputs: &[
            ("faas_http_adapter_p3.wasm", "faas_http_adapter_p3.wasm"),
            ("faas_http_middleware.wasm", "faas_http_middleware.wasm"),
            (
                "faas_messaging_adapter_p3.wasm",
                "faas_messaging_adapter_p3.wasm",
            ),
            ("faas_secrets.wasm", "faas_secrets.wasm"),
        ],
    },
    Build {
        packages: &["faas-http-adapter-p3"],
        features: &["faas-http-adapter-p3/secrets"],
        outputs: &[(
            "faas_http_adapter_p3.wasm",
            "faas_http_adapter_p3_secrets.wasm",
        )],
    },
];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let repo = manifest_dir.parent().unwrap().to_path_buf();
    let guests = repo.join("guests");
    for watched in [
        "guests/Cargo.toml",
        "guests/Cargo.lock",
        "guests/cli-adapter",
        "guests/config-bridge",
        "guests/credentials",
        "guests/decorator",
        "guests/function-gate",
        "guests/wit",
        "guests/http-adapter",
        "guests/http-adapter-p3",
        "guests/http-middleware",
        "guests/http-p3",
        "guests/secrets",
        "guests/messaging-adapter",
        "guests/messaging-adapter-p3",
        "guests/runtime",
        "guests/verifier",
        "guests/policy-core/src",
        "guests/policy-core/Cargo.toml",
        "wit",
    ] {
        println!("cargo:rerun-if-changed={}", repo.join(watched).display());
    }

    let target_dir = guests.join("target");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    for one in BUILDS {
        build(&guests, &target_dir, &repo, one);
        // Copied at once: a later build of the same package overwrites its output.
        for (built, embedded) in one.outputs {
            let built = target_dir.join(TARGET).join("release").join(built);
            copy(&built, &out_dir.join(embedded));
        }
        for package in one.packages {
            let tree = crates_of(&guests, package, one.features);
            let built = format!("{}.wasm", package.replace('-', "_"));
            let (_, embedded) = one.outputs.iter().find(|(b, _)| *b == built).unwrap();
            write(&out_dir.join(format!("{embedded}.crates")), &tree);
        }
    }
    write(&out_dir.join("guests.rustc"), &rustc_version());
    commit(&repo);
}

/// The commit faas is built from and its date, for `faas --version` (`unknown` outside a Git
/// checkout, e.g. from a source archive, unless FAAS_COMMIT and FAAS_COMMIT_DATE say).
fn commit(repo: &Path) {
    let git = |args: &[&str]| {
        Command::new("git")
            .current_dir(repo)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let commit = std::env::var("FAAS_COMMIT")
        .ok()
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    let date = std::env::var("FAAS_COMMIT_DATE")
        .ok()
        .or_else(|| git(&["log", "-1", "--format=%cs"]))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=FAAS_COMMIT={commit}");
    println!("cargo:rustc-env=FAAS_COMMIT_DATE={date}");
    println!("cargo:rerun-if-env-changed=FAAS_COMMIT");
    println!("cargo:rerun-if-env-changed=FAAS_COMMIT_DATE");
    // A new commit moves HEAD's branch (or HEAD itself, detached).
    let head = repo.join(".git/HEAD");
    if head.is_file() {
        println!("cargo:rerun-if-changed={}", head.display());
        if let Some(branch) = std::fs::read_to_string(&head)
            .ok()
            .and_then(|h| h.strip_prefix("ref: ").map(|r| r.trim().to_string()))
        {
            println!(
                "cargo:rerun-if-changed={}",
                repo.join(".git").join(branch).display()
            );
        }
    }
}

/// The crates `package` links for the guest target, as `cargo tree` lists them (normal
/// dependencies without proc-macros: what is compiled into the component), for the SBOM.
fn crates_of(guests: &Path, package: &str, features: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(guests)
        .args([
            "tree",
            "--locked",
            "--offline",
            "--target",
            TARGET,
            "-p",
            package,
        ])
        .args([
            "-e",
            "normal,no-proc-macro",
            "--prefix",
            "none",
            "--format",
            "{p}|{l}",
        ]);
    if !features.is_empty() {
        command.args(["--features", &features.join(",")]);
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo tree for {package}: {e}"));
    if !output.status.success() {
        panic!(
            "cargo tree for {package} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    String::from_utf8(output.stdout).expect("cargo tree prints UTF-8")
}

fn rustc_version() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let output = Command::new(rustc)
        .arg("--version")
        .output()
        .expect("rustc runs");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// One `cargo build` for the guest target.
fn build(guests: &Path, target_dir: &Path, repo: &Path, build: &Build) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(guests)
        .args(["build", "--release", "--locked", "--target", TARGET])
        .arg("--target-dir")
        .arg(target_dir);
    for package in build.packages {
        command.args(["-p", package]);
    }
    if !build.features.is_empty() {
        command.args(["--features", &build.features.join(",")]);
    }
    // The outer build's settings are for the host: do not let them leak into the guest build.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PROFILE_RELEASE_DEBUG",
    ] {
        command.env_remove(var);
    }
    // Paths on the build machine must not end up in the embedded components: the same sources give
    // the same bytes wherever they are built.
    let cargo_home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| home().join(".cargo"));
    let flags = [
        format!("--remap-path-prefix={}=/faas", repo.display()),
        format!("--remap-path-prefix={}=/cargo", cargo_home.display()),
    ];
    command.env("CARGO_ENCODED_RUSTFLAGS", flags.join("\x1f"));

    let status = command.status().unwrap_or_else(|e| {
        panic!("cannot run cargo to build the guest components: {e}");
    });
    if !status.success() {
        panic!(
            "building the guest components failed ({status}); if the target is missing, run \
             `rustup target add {TARGET}`"
        );
    }
}

fn copy(from: &Path, to: &Path) {
    std::fs::copy(from, to)
        .unwrap_or_else(|e| panic!("cannot copy {} to {}: {e}", from.display(), to.display()));
}

fn home() -> PathBuf {
    std::env::var("HOME").map(PathBuf::from).unwrap_or_default()
}
