use super::print_json;
use anyhow::Context;
use clap::{Args, Subcommand};
use std::io::BufRead;
use std::path::PathBuf;

/// Work with security policies (auth.toml).
#[derive(Args)]
#[command(
    after_help = "Examples:\n  faas policy hash-key < key.txt\n  faas policy check auth.toml"
)]
pub struct PolicyArgs {
    #[command(subcommand)]
    command: PolicyCommand,
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Print the digest of an API key, as auth.toml stores it (`sha256:<hex>`).
    ///
    /// Reads the key from standard input (one line) unless given as an argument; prefer stdin, so
    /// the key stays out of shell history.
    #[command(after_help = "Example:\n  printf '%s' \"$NEW_KEY\" | faas policy hash-key")]
    HashKey {
        /// The key (default: read from standard input).
        key: Option<String>,
    },
    /// Check a policy file and summarise what it allows.
    #[command(after_help = "Example:\n  faas policy check auth.toml --json")]
    Check {
        /// The policy file.
        file: PathBuf,
        /// Print the summary as one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
}

impl PolicyArgs {
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            PolicyCommand::HashKey { key } => {
                let key = match key {
                    Some(key) => key,
                    None => {
                        let mut line = String::new();
                        std::io::stdin()
                            .lock()
                            .read_line(&mut line)
                            .context("cannot read the key from standard input")?;
                        line.trim_end_matches(['\n', '\r']).to_string()
                    }
                };
                faas::policy::check_key(&key).map_err(anyhow::Error::msg)?;
                println!("{}", faas::policy::hash_key(&key));
                Ok(())
            }
            PolicyCommand::Check { file, json } => {
                let compiled = faas::policy::load(&file)?;
                if json {
                    return print_json(&serde_json::json!({
                        "file": file,
                        "valid": true,
                        "summary": compiled.summary(),
                        "document_digest": faas::digest::sha256(&compiled.document),
                        "document_size": compiled.document.len(),
                    }));
                }
                println!("{}: ok, {}", file.display(), compiled.summary());
                Ok(())
            }
        }
    }
}
