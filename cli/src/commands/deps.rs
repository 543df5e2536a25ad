use super::project_args::ProjectDir;
use super::registry_args::RegistryArgs;
use super::{print_json, status};
use clap::{Args, Subcommand, ValueEnum};
use faas::deps;
use faas::project::Project;
use faas::project::dependencies::Link;
use std::path::PathBuf;

/// Use other components like libraries: add, list, update and remove the function's dependencies.
///
/// A dependency is a component that exports interfaces (a `.wasm` file, or one published to a
/// registry). `faas deps add` pins it by digest in faas.lock, writes its interfaces as WIT into
/// wit/deps/ and imports them in the function's world, so the function calls them as ordinary
/// functions after the next `faas build`. `faas wrap` composes it into the artifact (or, with
/// `--link platform`, leaves the import for the platform to link); what it may import itself is
/// its own `[dependencies.NAME]` table of the policy.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  faas deps add ../text/text.wasm\n  faas deps add registry.example.com/platform/db:1.4.0 --name db --link platform\n  faas deps list\n  faas deps update text\n  faas deps remove text"
)]
pub struct DepsArgs {
    #[command(subcommand)]
    command: DepsCommand,

    #[command(flatten)]
    project: ProjectDir,
}

#[derive(Subcommand)]
enum DepsCommand {
    /// Add a dependency (or replace one of the same name) and pin it.
    Add {
        /// A component file, or host[:port]/repository:tag|@digest, or oci:PATH:tag|@digest.
        #[arg(value_name = "REF")]
        reference: String,
        /// Its name in faas.toml and the policy (default: from the file or repository name).
        #[arg(long)]
        name: Option<String>,
        /// How it reaches the function.
        #[arg(long, value_enum, default_value_t = LinkArg::Compose)]
        link: LinkArg,
        /// With `--link platform`: its owner's public key. Its signature is verified now, and
        /// `faas deploy` writes the key into the admission policies (it is required there).
        #[arg(long, value_name = "FILE")]
        public_key: Option<PathBuf>,
        #[command(flatten)]
        registry: RegistryArgs,
        /// Print the result as one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// List the pinned dependencies.
    List {
        /// Print them as a JSON array on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Pin every dependency (or NAME) again to what its source holds now.
    Update {
        /// Only this dependency.
        name: Option<String>,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Remove a dependency: its faas.toml table, its pin, its imports and its WIT.
    Remove {
        /// The dependency.
        name: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum LinkArg {
    /// `faas wrap` composes it into the artifact.
    Compose,
    /// The artifact keeps the import; the platform links it.
    Platform,
}

/// Pulls an OCI reference's component, verified with `key` when given (else unverified: the
/// digest is pinned once and checked after).
fn fetcher<'a>(
    registry: &'a RegistryArgs,
    key: Option<&'a faas::sign::PublicKey>,
) -> impl Fn(&str) -> Result<(Vec<u8>, String), String> + 'a {
    move |reference: &str| {
        let target = faas::oci::Reference::parse(reference).map_err(|e| e.to_string())?;
        let connection = registry.connection(&target).map_err(|e| format!("{e:#}"))?;
        let mut store =
            faas::publish::open_store(&target, &connection).map_err(|e| e.to_string())?;
        faas::publish::pull(store.as_mut(), &target, key)
            .map(|(bytes, record)| (bytes, record.reference.to_string()))
            .map_err(|e| e.to_string())
    }
}

impl DepsArgs {
    pub fn run(self) -> anyhow::Result<()> {
        let project = Project::find(&self.project.start())?;
        match self.command {
            DepsCommand::Add {
                reference,
                name,
                link,
                public_key,
                registry,
                json,
            } => {
                let name = name.unwrap_or_else(|| deps::default_name(&reference));
                let link = match link {
                    LinkArg::Compose => Link::Compose,
                    LinkArg::Platform => Link::Platform,
                };
                let key = public_key
                    .as_deref()
                    .map(faas::sign::PublicKey::read)
                    .transpose()?;
                let added = deps::add(
                    &project,
                    &name,
                    &reference,
                    link,
                    public_key.as_deref(),
                    &fetcher(&registry, key.as_ref()),
                )?;
                if json {
                    return print_json(&added);
                }
                status(
                    "Added",
                    format!(
                        "{name} ({}, {} bytes), pinned in {}",
                        added.locked.digest,
                        added.locked.size,
                        deps::LOCK_FILE
                    ),
                );
                for export in &added.locked.exports {
                    println!("  imports  {export}");
                }
                for import in &added.locked.imports {
                    println!("  needs    {import}");
                }
                println!("  run `faas build`: the function's bindings now have these interfaces");
                Ok(())
            }
            DepsCommand::List { json } => {
                let listed = deps::list(&project)?;
                if json {
                    let rows: Vec<_> = listed
                        .iter()
                        .map(|(locked, link)| serde_json::json!({"dependency": locked, "link": link}))
                        .collect();
                    return print_json(&rows);
                }
                for (locked, link) in listed {
                    let link = match link {
                        Link::Compose => "composed",
                        Link::Platform => "linked by the platform",
                    };
                    println!(
                        "{}  {}  {}  {link}",
                        locked.name, locked.digest, locked.source
                    );
                    for export in &locked.exports {
                        println!("  exports  {export}");
                    }
                }
                Ok(())
            }
            DepsCommand::Update { name, registry } => {
                for (before, locked) in
                    deps::update(&project, name.as_deref(), &fetcher(&registry, None))?
                {
                    let what = match before {
                        Some(before) if before == locked.digest => "unchanged".to_string(),
                        Some(before) => format!("was {before}"),
                        None => "newly pinned".to_string(),
                    };
                    status(
                        "Pinned",
                        format!("{} {} ({what})", locked.name, locked.digest),
                    );
                }
                Ok(())
            }
            DepsCommand::Remove { name } => {
                let removed = deps::remove(&project, &name)?;
                status("Removed", format!("{} ({})", removed.name, removed.digest));
                Ok(())
            }
        }
    }
}
