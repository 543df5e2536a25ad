//! The files `faas test` reads: request cases (`tests/*.toml`, each `[[case]]` a request and what
//! must come back) and the test credentials (`tests/keys.toml`).

use crate::source::{SourceFile, TextError};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The file of test credentials and run-time values, beside the cases.
pub const KEYS_FILE: &str = "keys.toml";
/// The record of `faas test --policy`, beside the cases.
pub const POLICY_RECORD: &str = "policy.toml";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    #[serde(default, rename = "case")]
    cases: Vec<toml::Spanned<Case>>,
}

/// One request case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Case {
    /// What it checks, for reports.
    pub name: String,
    /// The trigger it goes through.
    #[serde(default)]
    pub trigger: CaseTrigger,
    /// The method.
    #[serde(default = "default_method")]
    pub method: String,
    /// The path, with its query.
    #[serde(default = "default_path")]
    pub path: String,
    /// Request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A text body.
    #[serde(default)]
    pub body: Option<String>,
    /// A JSON body (sent with `content-type: application/json`).
    #[serde(default)]
    pub json: Option<toml::Value>,
    /// Present this API key of `keys.toml` (by its id in the policy).
    #[serde(default)]
    pub api_key: Option<String>,
    /// Present a JWT minted with a key of `keys.toml`.
    #[serde(default)]
    pub jwt: Option<JwtCredential>,
    /// Sign the body as the policy's `[auth.hmac]` provider would, with the secret `keys.toml`'s
    /// `[config]` holds under the key the policy names.
    #[serde(default)]
    pub signed: bool,
    /// The message's subject (messaging trigger).
    #[serde(default)]
    pub subject: Option<String>,
    /// Where the reply goes (messaging trigger; default `_INBOX.faas-test`).
    #[serde(default)]
    pub reply_to: Option<String>,
    /// What must come back.
    pub expect: Expect,
}

fn default_method() -> String {
    "GET".to_string()
}

fn default_path() -> String {
    "/".to_string()
}

/// The trigger a case goes through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CaseTrigger {
    /// `wasi:http`, as `faas serve` serves it.
    #[default]
    Http,
    /// The CLI trigger, as `faas invoke` runs it.
    Cli,
    /// The messaging trigger, as a wasmCloud host delivers a message.
    Messaging,
}

impl CaseTrigger {
    /// Its name in case files and reports.
    pub fn name(self) -> &'static str {
        match self {
            CaseTrigger::Http => "http",
            CaseTrigger::Cli => "cli",
            CaseTrigger::Messaging => "messaging",
        }
    }
}

/// A JWT to mint for a case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtCredential {
    /// The key of `keys.toml` to sign with.
    pub key: String,
    /// The claims; `iat`, `exp` (5 minutes), and the policy's first `iss` and `aud` are added
    /// unless given.
    #[serde(default)]
    pub claims: toml::Table,
}

/// What a case expects.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Expect {
    /// The status (HTTP and CLI triggers).
    #[serde(default)]
    pub status: Option<u16>,
    /// Whether the message is accepted (messaging trigger; default true).
    #[serde(default)]
    pub accepted: Option<bool>,
    /// Headers that must be present with these values (names in any case).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body (for a message: the reply's) must be JSON holding at least this (objects: these
    /// keys; arrays: these items).
    #[serde(default)]
    pub json: Option<toml::Value>,
    /// The body must contain this text.
    #[serde(default)]
    pub body_contains: Option<String>,
}

/// A case and where it is.
#[derive(Debug, Clone)]
pub struct LocatedCase {
    /// `tests/http.toml:12:1`.
    pub location: String,
    /// The file.
    pub file: PathBuf,
    /// The case.
    pub case: Case,
}

/// Reads the cases of `files` (in order).
pub fn read_cases(files: &[PathBuf]) -> Result<Vec<LocatedCase>, TextError> {
    let mut cases = Vec::new();
    for file in files {
        let source = read_source(file)?;
        let parsed: CaseFile = source.parse_toml()?;
        for spanned in parsed.cases {
            let (line, column) = source.line_column(spanned.span().start);
            let case = spanned.into_inner();
            if let Some(problem) = case_problem(&case) {
                return Err(TextError {
                    path: file.clone(),
                    line,
                    column,
                    message: format!("case `{}`: {problem}", case.name),
                    source_line: None,
                    caret_column: None,
                });
            }
            cases.push(LocatedCase {
                location: format!("{}:{line}:{column}", shown(file).display()),
                file: file.clone(),
                case,
            });
        }
    }
    Ok(cases)
}

/// `path` as people read it: relative to the current folder when it is inside it.
fn shown(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
}

fn case_problem(case: &Case) -> Option<&'static str> {
    if case.body.is_some() && case.json.is_some() {
        return Some("give `body` or `json`, not both");
    }
    if case.api_key.is_some() && case.jwt.is_some() {
        return Some("give `api-key` or `jwt`, not both");
    }
    if !case.path.starts_with('/') {
        return Some("`path` must start with `/`");
    }
    match case.trigger {
        CaseTrigger::Messaging => {
            if case.subject.is_none() {
                return Some("a messaging case needs a `subject`");
            }
            if case.expect.status.is_some() {
                return Some("a message has no status: expect `accepted` and the reply's `json`");
            }
            if case.api_key.is_some() || case.jwt.is_some() {
                return Some("messages carry no credential: the policy's [messaging] decides");
            }
        }
        CaseTrigger::Http | CaseTrigger::Cli => {
            if case.expect.status.is_none() {
                return Some("`expect` needs a `status`");
            }
            if case.subject.is_some() || case.reply_to.is_some() || case.expect.accepted.is_some() {
                return Some("`subject`, `reply-to` and `accepted` are for the messaging trigger");
            }
        }
    }
    None
}

fn read_source(path: &Path) -> Result<SourceFile, TextError> {
    SourceFile::read(path).map_err(|e| TextError {
        path: path.to_path_buf(),
        line: 1,
        column: 1,
        message: format!("cannot read it: {e}"),
        source_line: None,
        caret_column: None,
    })
}

/// The test credentials: API keys by id, JWT signing keys by name, and run-time configuration
/// values (for the secrets the policy reads, such as an HS256 secret). Test keys only: never
/// production ones.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Keys {
    /// API keys, by their id in the policy.
    #[serde(default)]
    pub api_keys: BTreeMap<String, String>,
    /// Keys to mint JWTs with.
    #[serde(default)]
    pub jwt_keys: BTreeMap<String, JwtKey>,
    /// `wasi:config/store` values for the run.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
}

/// A key to mint JWTs with: an HS256 secret, or a PEM private key file (RS256, ES256, EdDSA…).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct JwtKey {
    /// An HS256 secret.
    #[serde(default)]
    pub hs256: Option<String>,
    /// A PEM private key file, relative to the keys file.
    #[serde(default)]
    pub private_key: Option<PathBuf>,
    /// The algorithm of `private-key` (RS256, ES256, EdDSA, …).
    #[serde(default)]
    pub algorithm: Option<String>,
    /// The `kid` header to put in tokens.
    #[serde(default)]
    pub kid: Option<String>,
}

/// Reads `tests/keys.toml` when there is one.
pub fn read_keys(path: &Path) -> Result<Keys, TextError> {
    if !path.exists() {
        return Ok(Keys::default());
    }
    read_source(path)?.parse_toml()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_are_read_with_their_positions_and_bad_ones_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("http.toml");
        std::fs::write(
            &file,
            "[[case]]\nname = \"root\"\nexpect = { status = 200 }\n\n[[case]]\nname = \"cli\"\ntrigger = \"cli\"\npath = \"/x\"\napi-key = \"ci\"\n[case.expect]\nstatus = 401\njson = { error = \"unauthorized\" }\n",
        )
        .unwrap();
        let cases = read_cases(std::slice::from_ref(&file)).unwrap();
        assert_eq!(cases.len(), 2);
        assert!(
            cases[0].location.ends_with("http.toml:1:1"),
            "{}",
            cases[0].location
        );
        assert!(
            cases[1].location.ends_with("http.toml:5:1"),
            "{}",
            cases[1].location
        );
        assert_eq!(cases[1].case.trigger, CaseTrigger::Cli);
        assert_eq!(cases[0].case.method, "GET");

        std::fs::write(
            &file,
            "[[case]]\nname = \"x\"\nexpect = { status = 200, sttus = 1 }\n",
        )
        .unwrap();
        let err = read_cases(std::slice::from_ref(&file))
            .unwrap_err()
            .to_string();
        assert!(err.contains("http.toml:3:"), "{err}");
        assert!(err.contains("sttus"), "{err}");

        std::fs::write(
            &file,
            "\n[[case]]\nname = \"both\"\nbody = \"a\"\njson = { a = 1 }\nexpect = { status = 200 }\n",
        )
        .unwrap();
        let err = read_cases(std::slice::from_ref(&file))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("http.toml:2:1: case `both`: give `body` or `json`"),
            "{err}"
        );
    }
}
