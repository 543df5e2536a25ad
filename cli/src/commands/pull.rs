use super::registry_args::RegistryArgs;
use super::{human_size, print_json, status};
use anyhow::Context;
use clap::Args;
use faas::oci::{Reference, Selector};
use std::path::PathBuf;

/// Fetch an artifact's component, checking its digest (and, with --key, its signature first).
#[derive(Args)]
#[command(
    after_help = "Examples:\n  faas pull registry.example.com/team/hello:1.2.0 --key faas.pub -o hello.wasm"
)]
pub struct PullArgs {
    /// The artifact: host[:port]/repository:tag|@digest, or oci:PATH:tag|@digest.
    #[arg(value_name = "REF")]
    reference: String,

    /// Where to write the component (default: NAME.wasm from the repository's last part).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// Verify the signature with this public key before pulling.
    #[arg(long, value_name = "FILE", env = "FAAS_PUBLIC_KEY")]
    key: Option<PathBuf>,

    #[command(flatten)]
    registry: RegistryArgs,

    /// Print the result as one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

impl PullArgs {
    pub fn run(self) -> anyhow::Result<()> {
        let target = Reference::parse(&self.reference)?;
        if target.selector() == &Selector::None {
            anyhow::bail!("{}: give a tag or a digest to pull", self.reference);
        }
        let key = match &self.key {
            Some(path) => Some(faas::sign::PublicKey::read(path)?),
            None => None,
        };
        let output = self.output.clone().unwrap_or_else(|| {
            let name = match &target {
                Reference::Registry { repository, .. } => repository
                    .rsplit('/')
                    .next()
                    .unwrap_or("artifact")
                    .to_string(),
                Reference::Layout { .. } => "artifact".to_string(),
            };
            PathBuf::from(format!("{name}.wasm"))
        });
        let connection = self.registry.connection(&target)?;
        let mut store = faas::publish::open_store(&target, &connection)?;
        let (bytes, record) = faas::publish::pull(store.as_mut(), &target, key.as_ref())?;
        faas::fsutil::write_atomic(&output, &bytes)
            .with_context(|| format!("cannot write {}", output.display()))?;
        status(
            "Pulled",
            format!(
                "{} to {} ({}{})",
                record.reference,
                output.display(),
                human_size(record.size),
                if record.verified {
                    ", signature verified"
                } else {
                    ""
                }
            ),
        );
        if self.json {
            return print_json(&record);
        }
        println!("{}", output.display());
        Ok(())
    }
}
