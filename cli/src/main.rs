//! The `faas` command line: parses flags and dispatches to one file per subcommand.

mod commands;

use clap::Parser;

fn main() {
    let cli = commands::Cli::parse();
    cli.install_output();
    if let Err(err) = cli.command.run() {
        // One line: the error and its causes, outermost first (unless the command has reported
        // it); a failed validation gives one line per problem.
        if let Some(invalid) = err.downcast_ref::<faas::validate::Invalid>() {
            for problem in &invalid.problems {
                eprintln!("error: {}: {problem}", invalid.file.display());
            }
        } else if err.downcast_ref::<commands::ExitWith>().is_none() {
            eprintln!("error: {err:#}");
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
