use super::publish_args::PublishFlags;
use super::registry_args::RegistryArgs;
use super::{human_size, print_json, status};
use anyhow::Context;
use clap::Args;
use faas::oci::{Reference, Selector};
use faas::project::Project;
use faas::publish::{self, PublishOptions};
use std::path::PathBuf;

/// Publish the wrapped artifact as a Wasm OCI artifact, signed when a key is given.
///
/// REF is a registry reference, host[:port]/repository[:tag], or an OCI layout folder, oci:PATH[:tag].
/// Without REF the artifact goes to the layout folder target/faas/oci of the project, tagged with
/// the function's version. Blobs already there are not uploaded again; the tag is written last.
#[derive(Args)]
#[command(after_help = "Examples:\n  faas publish --key faas.key\n  \
    faas publish registry.example.com/team/hello:1.2.0 --key faas.key --json\n  \
    faas publish oci:/srv/artifacts:1.2.0")]
pub struct PublishArgs {
    /// Where to publish (default: oci:target/faas/oci in the project).
    #[arg(value_name = "REF", env = "FAAS_REGISTRY")]
    reference: Option<String>,

    /// The artifact (default: target/faas/NAME.wasm of the project).
    #[arg(long, value_name = "FILE")]
    artifact: Option<PathBuf>,

    #[command(flatten)]
    publishing: PublishFlags,

    #[command(flatten)]
    project: super::project_args::ProjectDir,

    #[command(flatten)]
    registry: RegistryArgs,

    /// Print the full record as one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

impl PublishArgs {
    pub fn run(self) -> anyhow::Result<()> {
        let start = self.project.start();
        let project = Project::find_optional(&start)?;
        let target = match (&self.reference, &project) {
            (Some(reference), _) => Reference::parse(reference)?,
            (None, Some(project)) => Reference::project_layout(project),
            (None, None) => anyhow::bail!(
                "no reference given and no faas.toml found; give REF (host/repo:tag or oci:PATH:tag)"
            ),
        };
        let tag = faas::oci::publish_tag(
            target.selector(),
            self.publishing.tag.as_deref(),
            project
                .as_ref()
                .map(|p| p.file.function.version.to_string()),
            self.publishing.allow_latest,
        )
        .map_err(anyhow::Error::msg)?;
        let artifact = match (&self.artifact, &project) {
            (Some(a), _) => a.clone(),
            (None, Some(p)) => p.artifact_output(),
            (None, None) => anyhow::bail!("no artifact: give --artifact FILE"),
        };
        let key = match &self.publishing.key {
            Some(path) => Some(faas::sign::PrivateKey::read(
                path,
                super::keygen::key_password_for(path)?.as_deref(),
            )?),
            None => None,
        };
        let connection = self.registry.connection(&target)?;
        let options = PublishOptions::new(
            artifact.clone(),
            target.clone(),
            tag.clone(),
            key,
            connection,
            publish::Provenance {
                project: project.as_ref(),
                source: self.publishing.source.clone(),
                revision: self.publishing.revision.clone(),
            },
        );
        status(
            "Publishing",
            format!(
                "{} to {}",
                artifact.display(),
                target.with_selector(Selector::Tag(tag))
            ),
        );
        let record = publish::publish(&options)
            .with_context(|| format!("cannot publish {}", artifact.display()))?;
        if let Some(project) = &project {
            publish::remember(project, &record)
                .context("cannot record the publish for faas deploy")?;
        }
        status(
            "Published",
            format!(
                "{} ({}; {} blob(s) uploaded, {} already present{})",
                record.reference,
                human_size(record.size),
                record.uploaded.len(),
                record.already_present.len(),
                if record.signature.is_some() {
                    "; signed"
                } else {
                    ""
                }
            ),
        );
        if self.json {
            return print_json(&record);
        }
        println!("{}", record.reference);
        Ok(())
    }
}
