//! The componentize toolchains for Python and JavaScript functions.
//!
//! Neither language compiles to a component by itself: componentize-py (from PyPI) links the app's
//! modules with CPython, componentize-js (from npm) with the StarlingMonkey engine, and both
//! pre-initialise the interpreter so a request does not pay for start-up. faas does not bundle them:
//! each project installs a pinned version into its own folder (a virtual environment, or
//! `node_modules`), so two projects never fight over a global install and a build is repeatable.
//! On a project's first build faas installs the pinned tool there itself (saying so, and how long
//! it took), so `faas new --template python-http x && cd x && faas build` just works; a tool of
//! another version is an error naming the command that reinstalls it. faas then runs the tool, and
//! on failure shows its output and a one-line summary naming the source file.

use crate::project::Language;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The componentize-py release faas builds Python functions with.
pub const COMPONENTIZE_PY_VERSION: &str = "0.25.1";
/// The componentize-js release faas builds JavaScript functions with.
pub const COMPONENTIZE_JS_VERSION: &str = "0.23.0";

/// A componentize tool as a project uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toolchain {
    /// componentize-py, in the project's `.venv`.
    Python,
    /// @bytecodealliance/componentize-js, in the project's `node_modules`.
    Javascript,
}

/// Why a Python or JavaScript build failed.
#[derive(Debug, thiserror::Error)]
pub enum ToolchainError {
    /// The tool is not installed in the project.
    #[error("{tool} {version} is not installed in {}; install it there with `{install}`", .dir.display())]
    Missing {
        /// The tool.
        tool: &'static str,
        /// The version faas needs.
        version: &'static str,
        /// The project folder.
        dir: PathBuf,
        /// The command that installs it.
        install: String,
    },
    /// Installing the tool failed (its output has been shown).
    #[error("cannot install {tool} {version} into {} (its output is above); install it there with `{install}`", .dir.display())]
    InstallFailed {
        /// The tool.
        tool: &'static str,
        /// The version faas needs.
        version: &'static str,
        /// The project folder.
        dir: PathBuf,
        /// The command that installs it.
        install: String,
    },
    /// The tool is installed at another version.
    #[error(
        "{tool} {found} is installed in {}, but this faas builds with {version}; reinstall it with `{install}`",
        .dir.display()
    )]
    WrongVersion {
        /// The tool.
        tool: &'static str,
        /// The version installed.
        found: String,
        /// The version faas needs.
        version: &'static str,
        /// The project folder.
        dir: PathBuf,
        /// The command that installs it.
        install: String,
    },
    /// A program could not be started.
    #[error("cannot run `{program}` ({hint})")]
    CannotRun {
        /// The program.
        program: String,
        /// What would fix it.
        hint: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The source file does not exist.
    #[error("{} does not exist; a {language} function's entry point is {file}", .path.display())]
    NoSource {
        /// The missing file.
        path: PathBuf,
        /// The language.
        language: &'static str,
        /// The file name expected.
        file: &'static str,
    },
    /// The source does not parse, or the tool refused it (its output has been shown).
    #[error("{location}: {message}")]
    Source {
        /// `app.py`, or `app.js:3:12` when the position is known.
        location: String,
        /// The tool's message, summarised to one line.
        message: String,
    },
}

impl Toolchain {
    /// The componentize tool of an interpreted `language`; `None` for Rust, which cargo builds.
    pub fn for_language(language: Language) -> Option<Toolchain> {
        match language {
            Language::Rust => None,
            Language::Python => Some(Toolchain::Python),
            Language::Javascript => Some(Toolchain::Javascript),
        }
    }

    /// The tool's name.
    pub fn tool(self) -> &'static str {
        match self {
            Toolchain::Python => "componentize-py",
            Toolchain::Javascript => "componentize-js",
        }
    }

    /// The pinned version.
    pub fn version(self) -> &'static str {
        match self {
            Toolchain::Python => COMPONENTIZE_PY_VERSION,
            Toolchain::Javascript => COMPONENTIZE_JS_VERSION,
        }
    }

    /// The command, run in the project folder, that installs the pinned tool there.
    pub fn install_command(self) -> String {
        match self {
            Toolchain::Python => format!(
                "python3 -m venv .venv && .venv/bin/pip install componentize-py=={COMPONENTIZE_PY_VERSION}"
            ),
            Toolchain::Javascript => format!(
                "npm install --save-exact --save-dev @bytecodealliance/componentize-js@{COMPONENTIZE_JS_VERSION}"
            ),
        }
    }

    /// The function's entry point, relative to the project folder.
    pub fn source_file(self) -> &'static str {
        match self {
            Toolchain::Python => "app.py",
            Toolchain::Javascript => "app.js",
        }
    }

    fn language(self) -> &'static str {
        match self {
            Toolchain::Python => "Python",
            Toolchain::Javascript => "JavaScript",
        }
    }

    fn executable(self, root: &Path) -> PathBuf {
        match self {
            Toolchain::Python => root.join(".venv/bin/componentize-py"),
            Toolchain::Javascript => root.join("node_modules/.bin/componentize-js"),
        }
    }

    /// Builds the function in `root` into the component file `output`.
    pub fn build(self, root: &Path, output: &Path) -> Result<(), ToolchainError> {
        let source = root.join(self.source_file());
        if !source.is_file() {
            return Err(ToolchainError::NoSource {
                path: source,
                language: self.language(),
                file: self.source_file(),
            });
        }
        self.prepare(root)?;
        if self == Toolchain::Javascript {
            // componentize-js reports a syntax error without its position; node says where.
            check_javascript_syntax(root, self.source_file())?;
        }
        let entry = Entry {
            wit: Path::new("wit"),
            world: WORLD,
            app: Path::new(self.source_file()),
            python_path: None,
        };
        self.componentize(root, &entry, output)
    }

    /// Installs the pinned tool in `root` when it is not there yet, and checks its version.
    pub fn prepare(self, root: &Path) -> Result<(), ToolchainError> {
        if !self.executable(root).exists() {
            self.install(root)?;
        }
        self.check_installed(root)
    }

    /// Runs the tool (installed by [`Toolchain::prepare`]) in `root` on `entry`, writing the
    /// component to `output`; a failure is shown and summarised to one line.
    pub fn componentize(
        self,
        root: &Path,
        entry: &Entry,
        output: &Path,
    ) -> Result<(), ToolchainError> {
        let mut command = Command::new(self.executable(root));
        command.current_dir(root);
        match self {
            Toolchain::Python => {
                command
                    .arg("--wit-path")
                    .arg(entry.wit)
                    .args(["--world", entry.world, "componentize"])
                    // The module's name: the entry point without `.py`.
                    .arg(entry.app.file_stem().unwrap_or_default());
                if let Some(path) = entry.python_path {
                    command.arg("--python-path").arg(path);
                }
                command
                    .arg("--output")
                    .arg(output)
                    // Dependencies installed into the project's environment are bundled too.
                    .env("VIRTUAL_ENV", root.join(".venv"));
            }
            Toolchain::Javascript => {
                command
                    .arg(entry.app)
                    .arg("--wit")
                    .arg(entry.wit)
                    .args(["--world-name", entry.world])
                    .arg("--out")
                    .arg(output);
            }
        }
        // The tools are Rust programs: their backtraces help nobody who writes a function.
        command
            .env("RUST_BACKTRACE", "0")
            .env("RUST_LIB_BACKTRACE", "0");
        tracing::debug!(?command, "running the componentize tool");
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // In a process group of its own: Ctrl-C stops the tool and everything it started.
        let result = crate::interrupt::output_of(&mut command)
            .map_err(|source| self.cannot_run(root, source))?;
        if result.status.success() {
            return Ok(());
        }
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&result.stdout),
            String::from_utf8_lossy(&result.stderr)
        );
        crate::report::tool_output(&text);
        let summary = summarize(&text)
            .unwrap_or_else(|| format!("failed with {} (its output is above)", result.status));
        Err(ToolchainError::Source {
            location: python_location(&summary).unwrap_or_else(|| self.source_file().into()),
            message: format!("{}: {summary}", self.tool()),
        })
    }

    fn cannot_run(self, root: &Path, source: std::io::Error) -> ToolchainError {
        ToolchainError::CannotRun {
            program: self.executable(root).display().to_string(),
            hint: match self {
                Toolchain::Python => "is the virtual environment intact?",
                Toolchain::Javascript => "componentize-js needs Node.js 20 or later on the PATH",
            },
            source,
        }
    }

    /// Installs the pinned tool into the project `root`, as [`Toolchain::install_command`] says,
    /// with the installer's progress on stderr (stdout stays for `--json`).
    pub fn install(self, root: &Path) -> Result<(), ToolchainError> {
        let started = std::time::Instant::now();
        let place = match self {
            Toolchain::Python => ".venv",
            Toolchain::Javascript => "node_modules",
        };
        crate::report::status(
            "Installing",
            format!(
                "{} {} into {place} (once per project; the tools are large)",
                self.tool(),
                self.version()
            ),
        );
        let pip = root.join(".venv/bin/pip");
        let package = format!("componentize-py=={COMPONENTIZE_PY_VERSION}");
        let npm_package = format!("@bytecodealliance/componentize-js@{COMPONENTIZE_JS_VERSION}");
        let steps: Vec<(&std::ffi::OsStr, Vec<&str>)> = match self {
            Toolchain::Python => vec![
                ("python3".as_ref(), vec!["-m", "venv", ".venv"]),
                (
                    pip.as_os_str(),
                    vec!["install", "--disable-pip-version-check", &package],
                ),
            ],
            Toolchain::Javascript => vec![(
                "npm".as_ref(),
                vec!["install", "--save-exact", "--save-dev", &npm_package],
            )],
        };
        let failed = || ToolchainError::InstallFailed {
            tool: self.tool(),
            version: self.version(),
            dir: root.to_path_buf(),
            install: self.install_command(),
        };
        for (program, args) in steps {
            let status = crate::interrupt::status_of(
                Command::new(program)
                    .current_dir(root)
                    .args(&args)
                    .stdin(Stdio::null())
                    .stdout(std::io::stderr()),
            )
            .map_err(|source| ToolchainError::CannotRun {
                program: program.to_string_lossy().into_owned(),
                hint: match self {
                    Toolchain::Python => "Python 3 with venv must be on the PATH",
                    Toolchain::Javascript => "Node.js 20 or later and npm must be on the PATH",
                },
                source,
            })?;
            if !status.success() {
                return Err(failed());
            }
        }
        crate::report::status(
            "Installed",
            format!(
                "{} {} in {:.1}s",
                self.tool(),
                self.version(),
                started.elapsed().as_secs_f64()
            ),
        );
        Ok(())
    }

    /// Checks the tool is installed in `root` at the pinned version.
    fn check_installed(self, root: &Path) -> Result<(), ToolchainError> {
        let executable = self.executable(root);
        if !executable.exists() {
            return Err(ToolchainError::Missing {
                tool: self.tool(),
                version: self.version(),
                dir: root.to_path_buf(),
                install: self.install_command(),
            });
        }
        let output = Command::new(&executable)
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .map_err(|source| self.cannot_run(root, source))?;
        // `componentize-py 0.25.1`, or `0.23.0`.
        let printed = String::from_utf8_lossy(&output.stdout);
        let found = printed.split_whitespace().last().unwrap_or("").to_string();
        if found != self.version() {
            return Err(ToolchainError::WrongVersion {
                tool: self.tool(),
                found: if found.is_empty() {
                    "of an unknown version".into()
                } else {
                    found
                },
                version: self.version(),
                dir: root.to_path_buf(),
                install: self.install_command(),
            });
        }
        Ok(())
    }
}

/// The world every function targets.
pub const WORLD: &str = "faas:function/function";

/// What a componentize tool builds, relative to the folder it runs in.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// The WIT folder.
    pub wit: &'a Path,
    /// The world the component targets.
    pub world: &'a str,
    /// The app: the Python module's file (its stem is the module name) or the JavaScript file.
    pub app: &'a Path,
    /// A folder put before the project on Python's path (the app module's).
    pub python_path: Option<&'a Path>,
}

/// Runs `node --check` on the entry point and turns a syntax error into `file:line:column`.
pub(crate) fn check_javascript_syntax(root: &Path, file: &str) -> Result<(), ToolchainError> {
    let output = Command::new("node")
        .current_dir(root)
        .args(["--check", file])
        .stdin(Stdio::null())
        .output()
        .map_err(|source| ToolchainError::CannotRun {
            program: "node".into(),
            hint: "componentize-js needs Node.js 20 or later on the PATH",
            source,
        })?;
    if output.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&output.stderr);
    crate::report::tool_output(&text);
    Err(node_syntax_error(&text, file))
}

/// node prints `PATH:LINE`, the source line, a caret under the column, a blank line, then
/// `SyntaxError: message`.
fn node_syntax_error(text: &str, file: &str) -> ToolchainError {
    let lines: Vec<&str> = text.lines().collect();
    let line_number = lines.iter().find_map(|l| {
        l.rsplit_once(':')
            .filter(|(path, _)| path.ends_with(file))
            .and_then(|(_, n)| n.trim().parse::<u32>().ok())
    });
    let column = lines
        .iter()
        .find(|l| l.trim_start().starts_with('^') && l.trim().chars().all(|c| c == '^'))
        .map(|l| l.len() - l.trim_start().len() + 1);
    let message = lines
        .iter()
        .rev()
        .find(|l| l.contains("Error:"))
        .map(|l| l.trim().to_string())
        .unwrap_or_else(|| "syntax error".into());
    let location = match (line_number, column) {
        (Some(line), Some(column)) => format!("{file}:{line}:{column}"),
        (Some(line), None) => format!("{file}:{line}"),
        _ => file.to_string(),
    };
    ToolchainError::Source { location, message }
}

/// `app.py:3` from a Python message ending in `(app.py, line 3)`.
fn python_location(summary: &str) -> Option<String> {
    let inner = summary.strip_suffix(')')?.rsplit_once('(')?.1;
    let (file, line) = inner.split_once(", line ")?;
    let line: u32 = line.parse().ok()?;
    Some(format!("{file}:{line}"))
}

/// The tool's last `SomethingError: message` line before any backtrace.
fn summarize(output: &str) -> Option<String> {
    output
        .lines()
        .take_while(|l| !l.starts_with("Stack backtrace"))
        .filter_map(|l| {
            let l = l.trim();
            let (kind, message) = l.split_once(": ")?;
            let is_error = kind.ends_with("Error") && kind.chars().all(|c| c.is_alphanumeric());
            (is_error && !message.trim().is_empty() && kind != "AssertionError")
                .then(|| l.to_string())
        })
        .last()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_errors_are_summarised_by_their_cause() {
        let output = "Traceback (most recent call last):\n  File \".venv/bin/componentize-py\", \
            line 8, in <module>\nAssertionError:   File \"/0/app.py\", line 1\n    def broken(:\n\
            SyntaxError: invalid syntax\n\nCaused by:\n    SyntaxError: invalid syntax (app.py, \
            line 1)\n\nStack backtrace:\n   0: anyhow::Error: x\n";
        let summary = summarize(output).unwrap();
        assert_eq!(summary, "SyntaxError: invalid syntax (app.py, line 1)");
        assert_eq!(python_location(&summary).as_deref(), Some("app.py:1"));
        let missing = "AssertionError: AttributeError: module 'app' has no attribute \
            'Handler'\n\nCaused by:\n    AttributeError: module 'app' has no attribute 'Handler'\n";
        assert_eq!(
            summarize(missing).as_deref(),
            Some("AttributeError: module 'app' has no attribute 'Handler'")
        );
    }

    #[test]
    fn javascript_export_errors_are_summarised() {
        let output = "file:///p/node_modules/x.js:616\n    throw new Error(msg);\n\nError: \
            Unable to extract expected exports list\nError: \"source.js\" does not export a \
            \"handler\" interface as expected by the world.\n  Try defining it by its alias:\n    \
            at handleCheckInitOutput (file:///p/x.js:616:11)\n";
        assert_eq!(
            summarize(output).as_deref(),
            Some(
                "Error: \"source.js\" does not export a \"handler\" interface as expected by the \
                 world."
            )
        );
    }

    #[test]
    fn node_syntax_errors_point_at_line_and_column() {
        let output = "/p/app.js:2\n  handle(req) { return {; }\n                        ^\n\n\
            SyntaxError: Unexpected token ';'\n    at internalCompileFunction (node:internal)\n";
        let error = node_syntax_error(output, "app.js").to_string();
        assert_eq!(error, "app.js:2:25: SyntaxError: Unexpected token ';'");
    }

    #[test]
    fn a_missing_tool_names_the_install_command() {
        let dir = tempfile::tempdir().unwrap();
        let error = Toolchain::Python
            .check_installed(dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            error
                .contains("python3 -m venv .venv && .venv/bin/pip install componentize-py==0.25.1"),
            "{error}"
        );
    }
}
