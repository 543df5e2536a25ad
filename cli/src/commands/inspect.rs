use super::print_json;
use anyhow::Context;
use clap::Args;
use faas::oci::{Reference, Selector};
use std::path::PathBuf;

/// Show what is inside a wrapped artifact: its layers, policy, imports and exports.
///
/// FILE is a wrapped artifact on disk, or a published one: host[:port]/repository:tag or
/// oci:PATH:tag (its component layer is fetched and its digest checked). For a published one,
/// --sbom prints the CycloneDX SBOM attached to it and --provenance its SLSA provenance statement,
/// as stored (`faas verify --attestations` checks their signatures).
#[derive(Args)]
#[command(after_help = "Examples:\n  faas inspect target/faas/hello.wasm\n  \
    faas inspect oci:target/faas/oci:0.1.0 --json\n  \
    faas inspect oci:target/faas/oci:0.1.0 --sbom > sbom.json")]
pub struct InspectArgs {
    /// The artifact: a file, or a reference.
    artifact: String,

    #[command(flatten)]
    registry: super::registry_args::RegistryArgs,

    /// Print the result as one JSON object on stdout.
    #[arg(long)]
    json: bool,

    /// Print the artifact's SBOM (CycloneDX JSON) instead.
    #[arg(long, conflicts_with_all = ["json", "provenance"])]
    sbom: bool,

    /// Print the artifact's provenance (an in-toto statement, SLSA provenance v1) instead.
    #[arg(long, conflicts_with = "json")]
    provenance: bool,
}

#[derive(serde::Serialize)]
struct Inspection {
    artifact: String,
    size: u64,
    digest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    faas_version: Option<String>,
    layers: Vec<faas::artifact::Layer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    policy_document: Option<String>,
    host_imports_by_layer: std::collections::BTreeMap<String, Vec<String>>,
    /// What each layer was built from (the SBOM's source).
    built_from: std::collections::BTreeMap<String, faas::artifact::BuiltFrom>,
    /// What the host must grant at run time (outgoing hosts, configuration keys, subjects).
    grants: faas::artifact::Grants,
    /// The imports the platform links to dependencies, by dependency.
    platform_links: std::collections::BTreeMap<String, Vec<String>>,
    imports: Vec<String>,
    exports: Vec<String>,
    /// A development artifact of faas dev, whose function reads its source from faas dev
    /// (`faas:dev/source`): it runs nowhere else and is never published.
    development: bool,
}

impl InspectArgs {
    /// Prints the SBOM or the provenance attached to a published artifact.
    fn print_attestation(&self, is_file: bool) -> anyhow::Result<()> {
        let (predicate_type, what) = match self.sbom {
            true => (faas::attest::sbom::PREDICATE_TYPE, "SBOM"),
            false => (faas::attest::provenance::PREDICATE_TYPE, "provenance"),
        };
        if is_file {
            anyhow::bail!(
                "{}: a file has no attestations; they are attached when it is published \
                 (`faas publish --key`): give the published reference",
                self.artifact
            );
        }
        let target = Reference::parse(&self.artifact)?;
        let connection = self.registry.connection(&target)?;
        let mut store = faas::publish::open_store(&target, &connection)?;
        let (_, pulled) = faas::publish::pull(store.as_mut(), &target, None)?;
        let digest = &pulled.manifest_digest;
        let statement = match faas::publish::attestation_manifest(store.as_mut(), digest)? {
            Some(manifest) => faas::attest::find_unverified(&manifest, predicate_type, &mut |d| {
                store.get_blob(d)
            })?,
            None => None,
        };
        let Some(mut statement) = statement else {
            anyhow::bail!(
                "{}: no {what} attached to {digest} (looked for the tag {}); publish with --key \
                 to attach one",
                self.artifact,
                faas::attest::tag(digest)
            );
        };
        if self.sbom {
            statement = statement["predicate"].take();
        }
        print_json(&statement)
    }

    pub fn run(self) -> anyhow::Result<()> {
        let path = PathBuf::from(&self.artifact);
        if self.sbom || self.provenance {
            return self.print_attestation(path.exists());
        }
        let bytes = if path.exists() {
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?
        } else if looks_like_a_file(&self.artifact) {
            anyhow::bail!(
                "{}: no such file (a published artifact is host[:port]/repository:tag or \
                 oci:PATH:tag)",
                self.artifact
            );
        } else {
            let target = Reference::parse(&self.artifact)?;
            if target.selector() == &Selector::None {
                anyhow::bail!("{}: give a tag or a digest", self.artifact);
            }
            let connection = self.registry.connection(&target)?;
            let mut store = faas::publish::open_store(&target, &connection)?;
            faas::publish::pull(store.as_mut(), &target, None)?.0
        };
        let component = faas::component::inspect(&bytes)
            .map_err(|e| anyhow::anyhow!("{}: {e}", self.artifact))?;
        let note = faas::artifact::read_layers(&bytes);
        let report = Inspection {
            artifact: self.artifact.clone(),
            size: bytes.len() as u64,
            digest: faas::digest::sha256(&bytes),
            faas_version: note.as_ref().map(|n| n.faas_version.clone()),
            layers: note.as_ref().map(|n| n.layers.clone()).unwrap_or_default(),
            policy: note.as_ref().map(|n| n.policy_summary.clone()),
            policy_document: note.as_ref().map(|n| n.policy_document.clone()),
            host_imports_by_layer: note
                .as_ref()
                .map(|n| n.host_imports.clone())
                .unwrap_or_default(),
            grants: note.as_ref().map(|n| n.grants.clone()).unwrap_or_default(),
            platform_links: note
                .as_ref()
                .map(|n| n.platform_links.clone())
                .unwrap_or_default(),
            built_from: note.map(|n| n.built_from).unwrap_or_default(),
            development: component.imports.iter().any(|i| i.starts_with("faas:dev/")),
            imports: component.imports.clone(),
            exports: component.exports.clone(),
        };
        if self.json {
            return print_json(&report);
        }
        println!("{}", report.artifact);
        println!("  size     {} bytes", report.size);
        println!("  digest   {}", report.digest);
        if report.development {
            println!(
                "  kind     development artifact of faas dev (its function reads the source from \
                 faas dev; never published)"
            );
        }
        match &report.policy {
            Some(policy) => println!(
                "  policy   {policy} (document {})",
                report.policy_document.as_deref().unwrap_or("")
            ),
            None => println!("  (not wrapped by faas: no layers recorded)"),
        }
        if !report.layers.is_empty() {
            println!("  layers");
            let width = report
                .layers
                .iter()
                .map(|l| l.layer.len())
                .max()
                .unwrap_or(0);
            for layer in &report.layers {
                println!(
                    "    {:<width$} {:>8} bytes  {}",
                    layer.layer, layer.size, layer.digest
                );
                if let Some(built_from) = report.built_from.get(&layer.layer) {
                    if let Some(toolchain) = &built_from.toolchain {
                        println!("      built with {toolchain}");
                    }
                    if !built_from.packages.is_empty() {
                        println!("      {} package(s)", built_from.packages.len());
                    }
                }
                for import in report
                    .host_imports_by_layer
                    .get(&layer.layer)
                    .into_iter()
                    .flatten()
                {
                    println!("      imports {import}");
                }
            }
        }
        let grants = &report.grants;
        for (what, items) in [
            ("outgoing hosts", &grants.outgoing_hosts),
            ("config keys", &grants.config_keys),
            ("subjects", &grants.messaging_subjects),
        ] {
            if !items.is_empty() {
                println!("  grants   {what}: {}", items.join(", "));
            }
        }
        for (dependency, imports) in &report.platform_links {
            println!(
                "  linked   {} (by the platform, to {dependency})",
                imports.join(", ")
            );
        }
        for export in &report.exports {
            println!("  export   {export}");
        }
        for import in &report.imports {
            println!("  import   {import}");
        }
        Ok(())
    }
}

/// A name meant as a file, not a reference: `hello.wasm`, `./x`, `target/faas/x.wasm` (a
/// reference's first part is a host: `localhost`, a dotted name or `host:port`).
fn looks_like_a_file(name: &str) -> bool {
    if name.ends_with(".wasm") || name.starts_with(['.', '/', '~']) {
        return true;
    }
    let first = name.split('/').next().unwrap_or(name);
    !(name.starts_with("oci:") || first == "localhost" || first.contains(['.', ':']))
}
