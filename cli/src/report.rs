//! How the library tells people what it is doing, without printing itself: a [`Reporter`] the
//! command line installs once ([`set`]), and the functions library code calls. Without one (in
//! tests and benchmarks), nothing is said. Machine output (`--json`) never goes through here: it is
//! the commands' own, on stdout.

use std::sync::OnceLock;

/// Where the library's messages for people go.
pub trait Reporter: Send + Sync {
    /// A cargo-style status line: a verb (`Installing`, `Retrying`) and what it applies to.
    fn status(&self, verb: &str, message: &str);
    /// A tool's own output (pip, componentize-py, node), shown as it came when the tool failed.
    fn tool_output(&self, text: &str);
    /// A running server's log line (one per request, or per problem).
    fn log(&self, line: &str);
    /// Whether people asked for less on stderr (`-q`).
    fn quiet(&self) -> bool {
        false
    }
}

/// The reporter used when none was installed: it says nothing.
struct Silent;

impl Reporter for Silent {
    fn status(&self, _verb: &str, _message: &str) {}
    fn tool_output(&self, _text: &str) {}
    fn log(&self, _line: &str) {}
}

static REPORTER: OnceLock<Box<dyn Reporter>> = OnceLock::new();

/// Installs the process's reporter; the first call wins.
pub fn set(reporter: Box<dyn Reporter>) {
    let _ = REPORTER.set(reporter);
}

fn current() -> &'static dyn Reporter {
    REPORTER.get().map_or(&Silent, |r| r.as_ref())
}

/// A status line (see [`Reporter::status`]).
pub fn status(verb: &str, message: impl std::fmt::Display) {
    current().status(verb, &message.to_string());
}

/// A tool's output (see [`Reporter::tool_output`]).
pub fn tool_output(text: &str) {
    current().tool_output(text);
}

/// Whether people asked for less on stderr (`-q`).
pub fn quiet() -> bool {
    current().quiet()
}

/// Whether people read stderr on a terminal (a tool's output may then be in colour).
pub fn stderr_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}

/// A server log line (see [`Reporter::log`]).
pub fn log(line: impl std::fmt::Display) {
    current().log(&line.to_string());
}
