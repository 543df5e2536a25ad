//! The `--project-dir` flag, shared by every command that works in a function folder.

use clap::Args;
use std::path::PathBuf;

/// Where to look for the function folder.
#[derive(Args)]
pub struct ProjectDir {
    /// The function folder (default: the current folder or the nearest parent with faas.toml).
    #[arg(long = "project-dir", value_name = "DIR", env = "FAAS_PROJECT_DIR")]
    dir: Option<PathBuf>,
}

impl ProjectDir {
    /// Where the search for faas.toml starts.
    pub fn start(&self) -> PathBuf {
        self.dir.clone().unwrap_or_else(|| PathBuf::from("."))
    }
}
