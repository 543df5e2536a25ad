use super::registry_args::RegistryArgs;
use super::{print_json, status};
use clap::Args;
use faas::oci::{Reference, Selector};
use std::path::PathBuf;

/// Verify an artifact's signature (and its attestations) with a public key.
///
/// Checks that a cosign-format signature made by the key names this exact manifest digest, and
/// that the manifest and every blob it lists are intact. With --attestations, also checks the SBOM
/// and provenance attached on publish: each signed by the key, about this digest, naming the
/// artifact's layers as it records them; then prints what each layer holds and what built it.
/// Exits 1 otherwise.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  faas verify oci:target/faas/oci:0.1.0 --key faas.pub\n  \
    faas verify oci:target/faas/oci:0.1.0 --key faas.pub --attestations\n  \
    faas verify registry.example.com/team/hello@sha256:… --key faas.pub --json"
)]
pub struct VerifyArgs {
    /// The artifact: host[:port]/repository:tag|@digest, or oci:PATH:tag|@digest.
    #[arg(value_name = "REF")]
    reference: String,

    /// The public key (PEM).
    #[arg(long, value_name = "FILE", env = "FAAS_PUBLIC_KEY")]
    key: PathBuf,

    /// Also check the SBOM and provenance attestations, and show what they say.
    #[arg(long)]
    attestations: bool,

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
        let record = faas::publish::verify(store.as_mut(), &target, &key, self.attestations)?;
        status(
            "Verified",
            format!("{} with {}", record.reference, self.key.display()),
        );
        if let Some(attestations) = &record.attestations {
            status(
                "Verified",
                format!(
                    "its SBOM and provenance ({}) with {}",
                    attestations.tag,
                    self.key.display()
                ),
            );
        }
        if self.json {
            return print_json(&record);
        }
        println!("{}", record.reference);
        if let Some(attestations) = &record.attestations {
            print_attestations(attestations);
        }
        Ok(())
    }
}

fn print_attestations(report: &faas::attest::AttestationsReport) {
    let provenance = &report.provenance;
    println!(
        "  built by   {} ({})",
        provenance.wrapped_by, provenance.builder
    );
    match (&provenance.source, &provenance.commit) {
        (Some(source), Some(commit)) => println!("  source     {source} at {commit}"),
        (None, Some(commit)) => println!("  source     commit {commit}"),
        _ => println!("  source     (not recorded: not built from a git checkout)"),
    }
    if let Some(policy) = &provenance.policy_document {
        println!("  policy     {policy}");
    }
    for layer in &report.sbom.layers {
        println!("  layer      {} {}", layer.layer, layer.digest);
        if let Some(toolchain) = &layer.toolchain {
            println!("    built with {toolchain}");
        }
        match layer.packages.is_empty() {
            true => println!("    packages   (none recorded)"),
            false => println!("    packages   {}", layer.packages.join(", ")),
        }
    }
}
