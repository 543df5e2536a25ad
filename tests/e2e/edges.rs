//! The edges a first-week user hits: a reader that stops early, a private key beside the code,
//! Ctrl-C in the middle of a build (languages.rs, where a componentize tool runs).

use crate::common::*;
use std::path::Path;
use std::process::Command;

/// Runs `faas ARGS | true` in bash (the reader exits at once, closing the pipe) and returns
/// faas's exit status and its stderr.
fn into_a_closed_pipe(dir: &Path, args: &str) -> (i32, String) {
    let faas = env!("CARGO_BIN_EXE_faas");
    let err = dir.join("stderr.txt");
    let out = Command::new("bash")
        .current_dir(dir)
        .arg("-c")
        .arg(format!(
            "'{faas}' {args} 2>'{}' | true; echo ${{PIPESTATUS[0]}}",
            err.display()
        ))
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    (status, std::fs::read_to_string(err).unwrap())
}

#[test]
fn a_reader_that_stops_early_ends_faas_quietly() {
    let (_tmp, dir, artifact) = wrapped_function("piped");
    let artifact = artifact.display().to_string();
    for args in [
        format!("inspect '{artifact}'"),
        format!("validate '{artifact}'"),
        format!("inspect '{artifact}' --json"),
        "policy check auth.toml".to_string(),
    ] {
        let (status, stderr) = into_a_closed_pipe(&dir, &args);
        // As git: the status of a process ended by SIGPIPE, and nothing on stderr about it.
        assert_eq!(status, 141, "faas {args}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "faas {args}: {stderr}"
        );
    }
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .current_dir(dir)
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}

#[test]
fn a_private_key_git_would_commit_is_warned_about() {
    // A project from the template: its .gitignore keeps keys out of git.
    let (_tmp, dir) = new_function("keyed");
    git(&dir, &["init", "-q"]);
    let out = faas(&dir, &["keygen"]);
    success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("warning"), "{stderr}");
    let ignored = Command::new("git")
        .current_dir(&dir)
        .args(["check-ignore", "-q", "faas.key"])
        .status()
        .unwrap();
    assert!(ignored.success(), "the template ignores faas.key");
    // A folder whose .gitignore does not: warned, with the fix.
    let bare = tempfile::tempdir().unwrap();
    git(bare.path(), &["init", "-q"]);
    let out = faas(bare.path(), &["keygen", "--key", "release.key"]);
    success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: release.key is in the Git work tree")
            && stderr.contains("`git add .` would commit the private key"),
        "{stderr}"
    );
    // Outside any work tree: nothing to warn about.
    let outside = tempfile::tempdir().unwrap();
    let out = faas(outside.path(), &["keygen"]);
    success(&out);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("warning"),
        "{out:?}"
    );
}
