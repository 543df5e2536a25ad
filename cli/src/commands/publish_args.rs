//! Flags shared by the commands that publish an artifact (`publish`, `pipeline`).

use clap::Args;
use std::path::PathBuf;

/// What to publish under, how to sign it, and what to record about it.
#[derive(Args, Clone)]
pub struct PublishFlags {
    /// The tag, when the reference has none (default: the version in faas.toml).
    #[arg(long)]
    pub tag: Option<String>,

    /// Sign with this private key (password from FAAS_KEY_PASSWORD).
    #[arg(long, value_name = "FILE", env = "FAAS_KEY")]
    pub key: Option<PathBuf>,

    /// Allow the tag `latest` (refused by default: it names nothing reproducible).
    #[arg(long)]
    pub allow_latest: bool,

    /// org.opencontainers.image.source (e.g. the repository URL).
    #[arg(long, env = "FAAS_SOURCE")]
    pub source: Option<String>,

    /// org.opencontainers.image.revision (default for `publish`: the project's git commit, when
    /// there is one).
    #[arg(long, env = "FAAS_REVISION")]
    pub revision: Option<String>,
}
