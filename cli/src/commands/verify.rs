use super::registry_args::RegistryArgs;
use super::{print_json, status};
use clap::Args;
use faas::oci::{Reference, Selector};
use std::path::PathBuf;

/// Verify an artifact's signature with a public key.
///
/// Checks that a cosign-format signature made by the key names this exact manifest digest, and
/// that the manifest and every blob it lists are intact. Exits 1 otherwise.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  faas verify oci:target/faas/oci:0.1.0 --key faas.pub\n  \
    faas verify registry.example.com/team/hello@sha256:… --key faas.pub --json"
)]
pub struct VerifyArgs {
    /// The artifact: host[:port]/repository:tag|@digest, or oci:PATH:tag|@digest.
    #[arg(value_name = "REF")]
    reference: String,

    /// The public key (PEM).
    #[arg(long, value_name = "FILE", env = "FAAS_PUBLIC_KEY")]
    key: PathBuf,

    #[command(flatten)]
    registry: RegistryArgs,

    /// Print the result as one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

impl VerifyArgs {
    pub fn run(self) -> anyhow::Result<()> {
        let target = Reference::parse(&self.reference)?;
        if target.selector() == &Selector::None {
            anyhow::bail!("{}: give a tag or a digest to verify", self.reference);
        }
        let key = faas::sign::PublicKey::read(&self.key)?;
        let connection = self.registry.connection(&target)?;
        let mut store = faas::publish::open_store(&target, &connection)?;
        let record = faas::publish::verify(store.as_mut(), &target, &key)?;
        status(
            "Verified",
            format!("{} with {}", record.reference, self.key.display()),
        );
        if self.json {
            return print_json(&record);
        }
        println!("{}", record.reference);
        Ok(())
    }
}
