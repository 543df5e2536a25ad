//! Flags shared by the commands that talk to a registry.

use clap::Args;
use faas::oci::Reference;
use faas::oci::registry::Connection;

/// How to reach and authenticate to a registry.
#[derive(Args, Clone)]
pub struct RegistryArgs {
    /// Allow plain HTTP to a registry that is not on this machine (loopback is always allowed).
    #[arg(long, env = "FAAS_INSECURE")]
    insecure: bool,

    /// Registry user name (else FAAS_REGISTRY_USERNAME, else Docker's config.json).
    #[arg(long, env = "FAAS_REGISTRY_USERNAME")]
    username: Option<String>,

    /// Read the registry password from standard input (else FAAS_REGISTRY_PASSWORD).
    #[arg(long)]
    password_stdin: bool,
}

impl RegistryArgs {
    /// The connection settings for `target`, with credentials from flags, environment or Docker.
    pub fn connection(&self, target: &Reference) -> anyhow::Result<Connection> {
        let password = if self.password_stdin {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            Some(line.trim_end_matches(['\n', '\r']).to_string())
        } else {
            std::env::var("FAAS_REGISTRY_PASSWORD").ok()
        };
        let credentials = match (&self.username, password) {
            (Some(user), Some(password)) => Some((user.clone(), password)),
            (Some(_), None) => {
                anyhow::bail!(
                    "--username needs a password: FAAS_REGISTRY_PASSWORD or --password-stdin"
                )
            }
            (None, _) => match target {
                Reference::Registry { registry, .. } => docker_credentials(registry),
                Reference::Layout { .. } => None,
            },
        };
        Ok(Connection {
            insecure: self.insecure,
            credentials,
            attempts: 4,
        })
    }
}

/// Credentials for `registry` from Docker's config.json (or its credential helpers), if any.
fn docker_credentials(registry: &str) -> Option<(String, String)> {
    match docker_credential::get_credential(registry) {
        Ok(docker_credential::DockerCredential::UsernamePassword(user, password)) => {
            Some((user, password))
        }
        _ => None,
    }
}
