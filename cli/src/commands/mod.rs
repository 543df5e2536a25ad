//! One module per subcommand. Each holds a clap `Args` struct (its doc comments are the help text)
//! and a `run` method that calls one library function and prints the result.

mod build;
mod completions;
mod config_args;
mod deploy;
mod deps;
mod dev;
mod docs;
mod inspect;
mod invoke;
mod keygen;
mod limit_args;
mod new;
mod pipeline;
mod policy;
mod project_args;
mod publish;
mod publish_args;
mod pull;
mod registry_args;
mod serve;
mod test;
mod validate;
mod verify;
mod wrap;

use clap::{Parser, Subcommand};

/// The exit statuses, from the library's one table (documented in docs/cli.md).
pub use faas::exit;

/// `faas --version`: the release, and the commit and date it was built from.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("FAAS_COMMIT"),
    " ",
    env!("FAAS_COMMIT_DATE"),
    ")"
);

#[derive(Parser)]
#[command(
    name = "faas",
    version = VERSION,
    about = "Turn business logic into a sandboxed, policy-wrapped WebAssembly component",
    long_about = "Turn business logic into a sandboxed, policy-wrapped WebAssembly component.\n\n\
        A function exports the faas:function/handler contract; faas builds it, wraps it in a \
        security decorator generated from a policy and in platform adapters, validates the \
        result against a target platform, and publishes it signed as a Wasm OCI artifact.",
    after_help = "Example:\n  faas new hello && cd hello && faas build && faas wrap && faas serve\n\n\
        Exit codes: 0 success, 1 failure, 2 usage error; `faas build` passes on cargo's status \
        when compilation fails; `faas pipeline` uses 10-15 per failing stage (docs/ci.md)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Say more on stderr: -v for debug logs of each stage, -vv for everything.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Say less on stderr: no status lines (errors, tool output and server logs remain).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Colour on stderr (debug logs, `error:`): auto is when stderr is a terminal and NO_COLOR is
    /// not set.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto, value_name = "WHEN")]
    pub color: Color,
}

/// When to colour output.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Color {
    /// When stderr is a terminal.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

impl Cli {
    /// Whether stderr gets colour.
    pub fn colored(&self) -> bool {
        use std::io::IsTerminal;
        match self.color {
            Color::Auto => {
                std::io::stderr().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
            Color::Always => true,
            Color::Never => false,
        }
    }

    /// The `error:` prefix of an error line: bold red when [`Cli::colored`].
    pub fn error_prefix(&self) -> &'static str {
        match self.colored() {
            true => "\x1b[1;31merror\x1b[0m:",
            false => "error:",
        }
    }

    /// Installs the reporter for the library's status lines and the debug log subscriber, as the
    /// global flags say.
    pub fn install_output(&self) {
        faas::report::set(Box::new(Reporter { quiet: self.quiet }));
        if self.verbose > 0 {
            let level = if self.verbose == 1 {
                tracing::Level::DEBUG
            } else {
                tracing::Level::TRACE
            };
            let ansi = self.colored();
            let _ = tracing_subscriber::fmt()
                .with_max_level(level)
                .with_writer(std::io::stderr)
                .with_ansi(ansi)
                .with_target(self.verbose > 1)
                .try_init();
        }
    }
}

/// The command line's reporter: status lines unless `--quiet`; tool output and server logs always.
struct Reporter {
    quiet: bool,
}

impl faas::report::Reporter for Reporter {
    fn status(&self, verb: &str, message: &str) {
        if !self.quiet {
            eprintln!("{verb:>12} {message}");
        }
    }

    fn tool_output(&self, text: &str) {
        eprint!("{text}");
    }

    fn log(&self, line: &str) {
        eprintln!("{line}");
    }

    fn quiet(&self) -> bool {
        self.quiet
    }
}

#[derive(Subcommand)]
pub enum Command {
    New(new::NewArgs),
    Build(build::BuildArgs),
    Validate(validate::ValidateArgs),
    Inspect(inspect::InspectArgs),
    Wrap(wrap::WrapArgs),
    Serve(serve::ServeArgs),
    Dev(dev::DevArgs),
    Test(test::TestArgs),
    Invoke(invoke::InvokeArgs),
    Publish(publish::PublishArgs),
    Verify(verify::VerifyArgs),
    Deploy(deploy::DeployArgs),
    Deps(deps::DepsArgs),
    Pull(pull::PullArgs),
    Keygen(keygen::KeygenArgs),
    Pipeline(pipeline::PipelineArgs),
    Policy(policy::PolicyArgs),
    Completions(completions::CompletionsArgs),
    Docs(docs::DocsArgs),
}

impl Command {
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            Command::New(args) => args.run(),
            Command::Build(args) => args.run(),
            Command::Validate(args) => args.run(),
            Command::Inspect(args) => args.run(),
            Command::Wrap(args) => args.run(),
            Command::Serve(args) => args.run(),
            Command::Dev(args) => args.run(),
            Command::Test(args) => args.run(),
            Command::Invoke(args) => args.run(),
            Command::Publish(args) => args.run(),
            Command::Verify(args) => args.run(),
            Command::Deploy(args) => args.run(),
            Command::Deps(args) => args.run(),
            Command::Pull(args) => args.run(),
            Command::Keygen(args) => args.run(),
            Command::Pipeline(args) => args.run(),
            Command::Policy(args) => args.run(),
            Command::Completions(args) => args.run(),
            Command::Docs(args) => args.run(),
        }
    }
}

/// The process exit status for an error: a library error may carry its own (cargo's status).
pub fn exit_code(err: &anyhow::Error) -> i32 {
    for cause in err.chain() {
        if let Some(build) = cause.downcast_ref::<faas::build::BuildError>() {
            return build.exit_code();
        }
        if let Some(code) = cause.downcast_ref::<ExitWith>() {
            return code.0;
        }
    }
    exit::FAILURE
}

/// An error whose message has already been printed, ending the process with a given status.
#[derive(Debug)]
pub struct ExitWith(pub i32);

impl std::fmt::Display for ExitWith {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit status {}", self.0)
    }
}

impl std::error::Error for ExitWith {}

/// A cargo-style status line for people, on stderr.
pub fn status(verb: &str, message: impl std::fmt::Display) {
    faas::report::status(verb, message);
}

/// Prints one JSON document on stdout, for machines.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Writes raw bytes to stdout; a reader that has gone (`| head`) ends the process quietly with
/// 141, as a closed pipe does for `println!` (main.rs).
pub fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(141),
        written => Ok(written?),
    }
}

/// The JSON document a command with `--json` prints when it fails: `{ok: false, error: {message,
/// causes, exit_code, file?, line?, column?, problems?}}`, the place from a text file's error or
/// the first compile error.
pub fn error_document(err: &anyhow::Error) -> serde_json::Value {
    let mut error = serde_json::json!({
        "message": format!("{err:#}"),
        "causes": err.chain().map(|c| c.to_string()).collect::<Vec<_>>(),
        "exit_code": exit_code(err),
    });
    if let Some(text) = err.chain().find_map(text_error_in) {
        error["file"] = serde_json::json!(text.path);
        if text.line > 0 {
            error["line"] = serde_json::json!(text.line);
            error["column"] = serde_json::json!(text.column);
        }
    } else if let Some(compile) = err.chain().find_map(|c| match c.downcast_ref() {
        Some(faas::build::BuildError::Cargo {
            first_error: Some(e),
            ..
        }) => Some(e),
        _ => None,
    }) {
        error["file"] = serde_json::json!(compile.file);
        error["line"] = serde_json::json!(compile.line);
        error["column"] = serde_json::json!(compile.column);
    } else if let Some(invalid) = err.downcast_ref::<faas::validate::Invalid>() {
        error["file"] = serde_json::json!(invalid.file);
        error["problems"] = serde_json::json!(invalid.problems);
    }
    serde_json::json!({ "ok": false, "error": error })
}

/// A size in bytes, for people.
pub fn human_size(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1024 * 1024 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    }
}

/// The [`TextError`] an error is, or wraps transparently (a policy or project file error, as
/// wrap and build report them), for showing its excerpt.
pub fn text_error_in<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a faas::source::TextError> {
    use faas::policy::PolicyError;
    use faas::project::ProjectError;
    use faas::wrap::WrapError;
    let policy = |e: &'a PolicyError| match e {
        PolicyError::Invalid(text) => Some(text),
        PolicyError::Read { .. } => None,
    };
    if let Some(text) = error.downcast_ref::<faas::source::TextError>() {
        return Some(text);
    }
    if let Some(ProjectError::Invalid(text)) = error.downcast_ref::<ProjectError>() {
        return Some(text);
    }
    if let Some(e) = error.downcast_ref::<PolicyError>() {
        return policy(e);
    }
    if let Some(WrapError::Policy(e)) = error.downcast_ref::<WrapError>() {
        return policy(e);
    }
    None
}
