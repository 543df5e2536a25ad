use clap::Args;

/// The reference documentation, as shipped with this faas (docs/*.md of its source).
const TOPICS: &[(&str, &str, &str)] = &[
    (
        "cli",
        "every command, flag and exit code",
        include_str!("../../../docs/cli.md"),
    ),
    (
        "faas-toml",
        "the project file",
        include_str!("../../../docs/faas-toml.md"),
    ),
    (
        "policy",
        "auth.toml: keys, JWTs, rules, limits",
        include_str!("../../../docs/policy.md"),
    ),
    (
        "contract",
        "the faas:function WIT contract",
        include_str!("../../../docs/contract.md"),
    ),
    (
        "languages",
        "Rust, Python and JavaScript functions",
        include_str!("../../../docs/languages.md"),
    ),
    (
        "targets",
        "triggers and target platforms",
        include_str!("../../../docs/targets.md"),
    ),
    (
        "testing",
        "faas test: cases and probes",
        include_str!("../../../docs/testing.md"),
    ),
    (
        "dependencies",
        "faas deps: components as libraries",
        include_str!("../../../docs/dependencies.md"),
    ),
    (
        "publish",
        "publishing, signing, attestations",
        include_str!("../../../docs/publish.md"),
    ),
    (
        "deploy",
        "faas deploy: wasmCloud and Kyverno",
        include_str!("../../../docs/deploy.md"),
    ),
    (
        "ci",
        "faas pipeline and CI jobs",
        include_str!("../../../docs/ci.md"),
    ),
    (
        "architecture",
        "how faas is built",
        include_str!("../../../docs/architecture.md"),
    ),
    (
        "benchmarks",
        "what the layers cost",
        include_str!("../../../docs/benchmarks.md"),
    ),
];

/// Print a reference document (Markdown): what the generated files' comments point to.
///
/// Without a topic, lists them. The documents are the ones this faas was built with.
#[derive(Args)]
#[command(after_help = "Examples:\n  faas docs\n  faas docs policy | less")]
pub struct DocsArgs {
    /// The topic (`faas docs` lists them).
    topic: Option<String>,
}

impl DocsArgs {
    pub fn run(self) -> anyhow::Result<()> {
        let Some(topic) = self.topic else {
            let mut list = String::new();
            for (name, what, _) in TOPICS {
                list.push_str(&format!("{name:<14} {what}\n"));
            }
            return super::write_stdout(list.as_bytes());
        };
        match TOPICS.iter().find(|(name, _, _)| *name == topic) {
            Some((_, _, text)) => super::write_stdout(text.as_bytes()),
            None => anyhow::bail!(
                "no topic `{topic}`: {}",
                TOPICS
                    .iter()
                    .map(|(n, _, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}
