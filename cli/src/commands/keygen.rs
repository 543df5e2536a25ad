use super::{print_json, status};
use anyhow::Context;
use clap::Args;
use std::path::{Path, PathBuf};

/// Create a P-256 key pair for signing artifacts (cosign-compatible).
///
/// Writes the private key (mode 0600) and the public key (PEM `PUBLIC KEY`). The private key is
/// encrypted in cosign's format (`ENCRYPTED SIGSTORE PRIVATE KEY`, scrypt + secretbox) with
/// FAAS_KEY_PASSWORD when it is set and not empty, or, on a terminal, with a password asked for
/// twice (empty: not encrypted); otherwise it is a plain PKCS#8 PEM. Existing files are never
/// overwritten. A private key inside a Git work tree that Git does not ignore is warned about.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  faas keygen\n  FAAS_KEY_PASSWORD=… faas keygen --key ci.key --pub ci.pub"
)]
pub struct KeygenArgs {
    /// Where to write the private key.
    #[arg(long = "key", default_value = "faas.key", value_name = "FILE")]
    private_key: PathBuf,

    /// Where to write the public key.
    #[arg(long = "pub", default_value = "faas.pub", value_name = "FILE")]
    public_key: PathBuf,

    /// Print the result as one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

impl KeygenArgs {
    pub fn run(self) -> anyhow::Result<()> {
        let password = new_key_password()?;
        let files = faas::sign::generate(&self.private_key, &self.public_key, password.as_deref())
            .context("cannot create the key pair")?;
        if let Some(top) = faas::git::unignored_in_work_tree(&files.private_key) {
            faas::report::log(format!(
                "warning: {} is in the Git work tree {top} and Git does not ignore it: `git add .` \
                 would commit the private key; add it to .gitignore (faas new's templates ignore \
                 *.key)",
                files.private_key.display()
            ));
        }
        if self.json {
            return print_json(&files);
        }
        status(
            "Created",
            format!(
                "{} ({}) and {}",
                files.private_key.display(),
                if files.encrypted {
                    "encrypted"
                } else {
                    "not encrypted: set FAAS_KEY_PASSWORD to encrypt"
                },
                files.public_key.display()
            ),
        );
        Ok(())
    }
}

/// The private key's password, from FAAS_KEY_PASSWORD (empty means none).
pub fn key_password() -> Option<Vec<u8>> {
    std::env::var("FAAS_KEY_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
        .map(String::into_bytes)
}

/// Whether a person is at the keyboard: stdin and stderr are a terminal.
fn interactive() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// The password for a new private key: FAAS_KEY_PASSWORD when set, else, on a terminal, asked
/// for twice as cosign does (empty: not encrypted); else none.
fn new_key_password() -> anyhow::Result<Option<Vec<u8>>> {
    if std::env::var_os("FAAS_KEY_PASSWORD").is_some() || !interactive() {
        return Ok(key_password());
    }
    let first = rpassword::prompt_password("Password for the private key (empty: not encrypted): ")
        .context("cannot read the password")?;
    if first.is_empty() {
        return Ok(None);
    }
    let again = rpassword::prompt_password("The same password again: ")
        .context("cannot read the password")?;
    anyhow::ensure!(first == again, "the two passwords differ: nothing written");
    Ok(Some(first.into_bytes()))
}

/// The password of the private key at `path`: FAAS_KEY_PASSWORD when set, else, for an encrypted
/// key on a terminal, asked for; else none (an encrypted key then fails with what to set).
pub fn key_password_for(path: &Path) -> anyhow::Result<Option<Vec<u8>>> {
    if std::env::var_os("FAAS_KEY_PASSWORD").is_some() || !interactive() {
        return Ok(key_password());
    }
    let encrypted = std::fs::read_to_string(path).is_ok_and(|pem| pem.contains("ENCRYPTED"));
    if !encrypted {
        return Ok(None);
    }
    let password = rpassword::prompt_password(format!("Password for {}: ", path.display()))
        .context("cannot read the password")?;
    Ok(Some(password.into_bytes()).filter(|p| !p.is_empty()))
}
