//! The `faas` command line: parses flags and dispatches to one file per subcommand.

mod commands;

use clap::Parser;

fn main() {
    quiet_on_closed_stdout();
    // Ctrl-C and SIGTERM stop the tools faas runs and remove their temporary files.
    if let Err(e) = faas::interrupt::install() {
        eprintln!("warning: cannot handle Ctrl-C ({e}): an interrupted build may leave files");
    }
    let cli = commands::Cli::parse();
    cli.install_output();
    // Any `--json` clap accepted is that flag: no option takes it as a value.
    let json = std::env::args_os().any(|a| a == "--json");
    let error = cli.error_prefix();
    if let Err(err) = cli.command.run() {
        // For machines: one JSON document on stdout, unless the command printed its own report.
        if json && err.downcast_ref::<commands::ExitWith>().is_none() {
            let _ = commands::print_json(&commands::error_document(&err));
        }
        // One line: the error and its causes, outermost first (unless the command has reported
        // it); a failed validation gives one line per problem.
        if let Some(invalid) = err.downcast_ref::<faas::validate::Invalid>() {
            for problem in &invalid.problems {
                eprintln!("{error} {}: {problem}", invalid.file.display());
            }
        } else if err.downcast_ref::<commands::ExitWith>().is_none() {
            eprintln!("{error} {err:#}");
            // For an error in a text file, the line itself, with a caret under the column.
            if let Some(excerpt) = err
                .chain()
                .find_map(commands::text_error_in)
                .and_then(faas::source::TextError::excerpt)
            {
                eprintln!("{excerpt}");
            }
        }
        std::process::exit(commands::exit_code(&err));
    }
}

/// A reader that stops early (`faas inspect X | head`) closes stdout: the next print then fails,
/// which Rust's `println!` turns into a panic. Exit quietly instead, with the status a shell gives
/// a process ended by SIGPIPE (141), as `git` and `cat` do.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}
