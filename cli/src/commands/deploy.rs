use super::{ExitWith, print_json, status};
use clap::Args;
use faas::deploy::{DeployOptions, Emit};
use faas::oci::Reference;
use faas::project::Project;
use std::path::PathBuf;

/// Write the manifests that deploy a published artifact onto wasmCloud.
///
/// Verifies the artifact's signature with the public key, then writes, from what the artifact
/// records (its imports, exports and its policy's grants) and faas.toml's [deploy] table: a
/// wasmCloud 2.x WorkloadDeployment pinned by digest, a Kyverno policy admitting only images
/// signed by the key (and its classic form), and a wasmCloud 1.x wadm Application. With --check,
/// validates manifest files instead. See docs/deploy.md.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  faas publish registry.example.com/team/hello:0.1.0 --key faas.key && faas deploy\n  \
    faas deploy registry.example.com/team/hello@sha256:… --key faas.pub -o deploy/\n  \
    faas deploy --check target/faas/deploy/workload.yaml"
)]
pub struct DeployArgs {
    /// The published artifact (default: the project's last `faas publish`).
    #[arg(value_name = "REF")]
    reference: Option<String>,

    /// Which manifests: wasmcloud (2.x: WorkloadDeployment and Kyverno), wadm (1.x), all.
    #[arg(long, default_value = "all", value_parser = clap::value_parser!(Emit))]
    emit: Emit,

    /// Where to write them (default: target/faas/deploy of the project).
    #[arg(short, long, value_name = "DIR")]
    output: Option<PathBuf>,

    /// The public key the signature must verify with, written into the Kyverno policies
    /// (default: faas.toml's [pipeline] public-key, else faas.pub beside faas.toml).
    #[arg(long, value_name = "FILE", env = "FAAS_PUBLIC_KEY")]
    key: Option<PathBuf>,

    /// Check manifest files against the rules faas deploy follows, instead of writing them.
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = ["reference", "emit", "output"])]
    check: Vec<PathBuf>,

    /// Print the result as one JSON object on stdout.
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    registry: super::registry_args::RegistryArgs,

    #[command(flatten)]
    project: super::project_args::ProjectDir,
}

impl DeployArgs {
    pub fn run(self) -> anyhow::Result<()> {
        if !self.check.is_empty() {
            return self.run_check();
        }
        let project = Project::find(&self.project.start())?;
        let reference = match self
            .reference
            .clone()
            .or_else(|| faas::publish::last_published(&project))
        {
            Some(reference) => reference,
            None => anyhow::bail!(
                "no published artifact to deploy: publish it first (faas publish \
                 REGISTRY/REPOSITORY:TAG --key faas.key), or give its reference"
            ),
        };
        let target = Reference::parse(&reference)?;
        let public_key = match self.key.clone().or_else(|| {
            project
                .file
                .pipeline
                .public_key
                .as_ref()
                .map(|k| project.root.join(k))
        }) {
            Some(key) => key,
            None if project.root.join("faas.pub").exists() => project.root.join("faas.pub"),
            None => anyhow::bail!(
                "no public key to verify the artifact with and write into the admission policy: \
                 give --key faas.pub (or [pipeline] public-key in faas.toml)"
            ),
        };
        let connection = self.registry.connection(&target)?;
        let options = DeployOptions {
            reference: target,
            public_key,
            connection,
            name: project.name().to_string(),
            version: project.file.function.version.to_string(),
            settings: project.file.deploy.clone(),
            emit: self.emit,
            output: self
                .output
                .clone()
                .unwrap_or_else(|| project.output_dir().join("deploy")),
            linked: faas::deps::platform_images(&project)?
                .into_iter()
                .map(|dependency| faas::deploy::LinkedDependency {
                    name: dependency.name,
                    image: dependency.image,
                    public_key: dependency.public_key,
                })
                .collect(),
        };
        status(
            "Deploying",
            format!("{reference}: verifying its signature, writing manifests"),
        );
        let record = faas::deploy::deploy(&options)?;
        for file in &record.files {
            status("Wrote", file.display());
        }
        for skipped in &record.skipped {
            faas::report::log(format!(
                "warning: {} not written: {}",
                skipped.file, skipped.reason
            ));
        }
        if self.json {
            return print_json(&record);
        }
        println!("{}", record.image);
        Ok(())
    }

    fn run_check(&self) -> anyhow::Result<()> {
        let mut results = Vec::new();
        let mut failed = false;
        for file in &self.check {
            let text = std::fs::read_to_string(file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            match faas::deploy::check::check_text(&text) {
                Ok(kind) => {
                    status("Checked", format!("{} ({kind})", file.display()));
                    results.push(serde_json::json!({ "file": file, "kind": kind, "problems": [] }));
                }
                Err(problems) => {
                    failed = true;
                    for problem in &problems {
                        faas::report::log(format!("error: {}: {problem}", file.display()));
                    }
                    results.push(serde_json::json!({ "file": file, "problems": problems }));
                }
            }
        }
        if self.json {
            print_json(&serde_json::json!({ "ok": !failed, "files": results }))?;
        }
        match failed {
            true => Err(ExitWith(super::exit::FAILURE).into()),
            false => Ok(()),
        }
    }
}
