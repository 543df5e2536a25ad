use clap::{Args, CommandFactory};

/// Print a shell completion script for faas.
///
/// Every command, flag and fixed value (targets, templates, triggers) completes.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  faas completions bash > ~/.local/share/bash-completion/completions/faas\n  \
    faas completions zsh > \"${fpath[1]}/_faas\"\n  faas completions fish > ~/.config/fish/completions/faas.fish"
)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

impl CompletionsArgs {
    pub fn run(self) -> anyhow::Result<()> {
        let mut script = Vec::new();
        clap_complete::generate(self.shell, &mut super::Cli::command(), "faas", &mut script);
        super::write_stdout(&script)
    }
}
