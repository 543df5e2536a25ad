//! What publishing reads from the function's Git checkout, when it is one: the commit (for
//! `org.opencontainers.image.revision`), the `origin` remote (for `org.opencontainers.image.source`
//! and the provenance) and the commit's time (for `created`, so that the same commit gives
//! the same manifest, as reproducible-build tools do with `SOURCE_DATE_EPOCH`). Git is asked
//! through its command; a folder that is not a checkout, or a machine without git, gives `None`.

use std::path::Path;

/// The checked-out commit of the repository holding `dir`.
pub fn revision(dir: &Path) -> Option<String> {
    git(dir, &["rev-parse", "HEAD"])
}

/// Where the repository holding `dir` comes from: its `origin` remote, without any user name or
/// password it may carry, so that it can be published.
pub fn origin(dir: &Path) -> Option<String> {
    git(dir, &["remote", "get-url", "origin"]).map(|url| without_credentials(&url))
}

fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string(); // scp-like `git@host:path` names a user, never a password
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}/{path}")
}

/// The committer time of that commit, in seconds since the epoch.
pub fn commit_time(dir: &Path) -> Option<u64> {
    git(dir, &["log", "-1", "--format=%ct"])?.parse().ok()
}

/// The work tree holding `file` when `file` is in one and Git does not ignore it (so `git add .`
/// would commit it): for a private key, a warning.
pub fn unignored_in_work_tree(file: &Path) -> Option<String> {
    let absolute = std::path::absolute(file).ok()?;
    let dir = absolute.parent()?;
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    // `check-ignore` exits 0 for an ignored path, 1 for one that is not.
    let status = std::process::Command::new("git")
        .current_dir(dir)
        .args(["check-ignore", "-q", "--no-index"])
        .arg(&absolute)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .ok()?;
    (status.code() == Some(1)).then_some(top)
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

#[cfg(test)]
mod tests {
    #[test]
    fn remotes_are_published_without_credentials() {
        use super::without_credentials as clean;
        assert_eq!(
            clean("https://ci:s3cret@git.example.com/team/hello.git"),
            "https://git.example.com/team/hello.git"
        );
        assert_eq!(
            clean("https://git.example.com/a"),
            "https://git.example.com/a"
        );
        assert_eq!(
            clean("git@git.example.com:team/hello.git"),
            "git@git.example.com:team/hello.git"
        );
    }
}
