//! What publishing reads from the function's Git checkout, when it is one: the commit (for
//! `org.opencontainers.image.revision`) and its time (for `created`, so that the same commit gives
//! the same manifest, as reproducible-build tools do with `SOURCE_DATE_EPOCH`). Git is asked
//! through its command; a folder that is not a checkout, or a machine without git, gives `None`.

use std::path::Path;

/// The checked-out commit of the repository holding `dir`.
pub fn revision(dir: &Path) -> Option<String> {
    git(dir, &["rev-parse", "HEAD"])
}

/// The committer time of that commit, in seconds since the epoch.
pub fn commit_time(dir: &Path) -> Option<u64> {
    git(dir, &["log", "-1", "--format=%ct"])?.parse().ok()
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = std::process::Command::new("git")
        .current_dir(dir)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?.trim().to_string();
    (output.status.success() && !text.is_empty()).then_some(text)
}
