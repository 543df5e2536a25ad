//! The run-time configuration flags, shared by `faas serve`, `faas invoke` and `faas dev`.

use clap::Args;
use std::path::PathBuf;

/// Values the artifact reads through `wasi:config/store`.
#[derive(Args)]
pub struct ConfigArgs {
    /// A run-time configuration value (wasi:config/store), KEY=VALUE; repeatable. This is where
    /// the secrets the policy refers to with `{ config = … }` (HS256 and webhook secrets,
    /// credentials) come from.
    #[arg(long = "config", value_name = "KEY=VALUE", value_parser = parse_pair)]
    config: Vec<(String, String)>,

    /// Read run-time configuration values from a file of KEY=VALUE lines (an env file).
    #[arg(long, value_name = "FILE", env = "FAAS_CONFIG_FILE")]
    config_file: Option<PathBuf>,
}

/// Values a WASI 0.3 artifact reads through `wasmcloud:secrets` (`faas serve`, `faas dev`).
#[derive(Args)]
pub struct SecretArgs {
    /// A wasmcloud:secrets value, KEY=VALUE; repeatable: what a WASI 0.3 artifact's
    /// `{ secret = "KEY" }` credentials read, as on a wasmCloud 2.x host.
    #[arg(long = "secret", value_name = "KEY=VALUE", value_parser = parse_pair)]
    pub secrets: Vec<(String, String)>,
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected KEY=VALUE, got `{s}`"))
}

impl ConfigArgs {
    /// The values: the file's first, then each `--config` (a later one wins).
    pub fn values(self) -> anyhow::Result<Vec<(String, String)>> {
        let mut values = match &self.config_file {
            Some(path) => faas::serve::read_config_file(path)?,
            None => Vec::new(),
        };
        values.extend(self.config);
        Ok(values)
    }
}
