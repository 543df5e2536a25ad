use super::{print_json, status};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;

/// Create a P-256 key pair for signing artifacts (cosign-compatible).
///
/// Writes the private key (mode 0600) and the public key (PEM `PUBLIC KEY`). When FAAS_KEY_PASSWORD
/// is set and not empty, the private key is encrypted with it in cosign's format
/// (`ENCRYPTED SIGSTORE PRIVATE KEY`, scrypt + secretbox); otherwise it is a plain PKCS#8 PEM.
/// Existing files are never overwritten.
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
        let password = key_password();
        let files = faas::sign::generate(&self.private_key, &self.public_key, password.as_deref())
            .context("cannot create the key pair")?;
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
