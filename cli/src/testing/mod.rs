//! `faas test`: request cases run against the wrapped artifact in process (no port), each checked
//! against what it expects; and, with `--policy`, probes derived from the policy itself
//! ([`probes`]), compared with the outcomes recorded in `tests/policy.toml`, so that a change in
//! who may call what never passes unnoticed.

pub mod cases;
pub mod junit;
pub mod probes;

use crate::policy::CompiledPolicy;
use crate::serve::{Answered, EngineOptions, OneShot, Server};
use cases::{Case, CaseTrigger, JwtCredential, Keys, LocatedCase};
use serde::Serialize;
use serde_json::Value;
use std::cell::OnceCell;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What `faas test` needs.
pub struct TestOptions {
    /// The wrapped artifact.
    pub artifact: PathBuf,
    /// The policy it was wrapped with (for the credential header, JWT issuers, probes).
    pub policy: CompiledPolicy,
    /// The case files.
    pub case_files: Vec<PathBuf>,
    /// The test credentials file (may be absent).
    pub keys_file: PathBuf,
    /// Whether to probe the policy, and what to do with the record.
    pub probes: probes::Mode,
    /// The probes' record.
    pub record: PathBuf,
    /// The engine and its limits.
    pub engine: EngineOptions,
}

/// The result of one case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// Its name.
    pub name: String,
    /// Where it is written.
    pub location: String,
    /// `http` or `cli`.
    pub trigger: &'static str,
    /// Whether every expectation held.
    pub passed: bool,
    /// The status that came back, when something did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// What did not hold.
    pub failures: Vec<String>,
    /// How long it took.
    pub duration_ms: f64,
}

/// The result of `faas test`.
#[derive(Debug, Clone, Serialize)]
pub struct TestReport {
    /// Whether every case (and probe) passed.
    pub ok: bool,
    /// Cases passed.
    pub passed: usize,
    /// Cases failed.
    pub failed: usize,
    /// Each case.
    pub cases: Vec<CaseResult>,
    /// The policy probes, when run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<probes::ProbeReport>,
}

/// Why `faas test` could not run (as opposed to a case failing).
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    /// A case or keys file is malformed.
    #[error(transparent)]
    File(#[from] crate::source::TextError),
    /// The artifact cannot be loaded.
    #[error("{0:#}")]
    Artifact(anyhow::Error),
    /// The record of the probes cannot be read or written.
    #[error("{0}")]
    Record(String),
}

/// The case files of a project: `tests/*.toml`, but for the keys file and the probes' record.
pub fn project_case_files(tests_dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(tests_dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            p.extension().is_some_and(|e| e == "toml")
                && !matches!(
                    name.as_deref(),
                    Some(cases::KEYS_FILE | cases::POLICY_RECORD)
                )
        })
        .collect();
    files.sort();
    files
}

/// Where a test run's audit events are: `target/faas/test-audit.log`, one JSON line per decision.
pub fn audit_log(project: &crate::project::Project) -> PathBuf {
    project.output_dir().join("test-audit.log")
}

/// The options for testing `project`'s wrapped artifact, wrapped with the policy at `policy`, with
/// the project's cases (unless `case_files` names others) and keys.
pub fn project_options(
    project: &crate::project::Project,
    policy: &Path,
    case_files: Vec<PathBuf>,
    probes: probes::Mode,
    mut engine: EngineOptions,
) -> Result<TestOptions, crate::policy::PolicyError> {
    let tests = project.root.join("tests");
    // The decorator's audit events (and the function's own stderr) go to a file of their own,
    // not between the results.
    engine.guest_log = crate::serve::GuestLog::to_file(&audit_log(project))
        .unwrap_or(crate::serve::GuestLog::Inherit);
    Ok(TestOptions {
        artifact: project.artifact_output(),
        policy: crate::policy::load(policy)?,
        case_files: match case_files.is_empty() {
            true => project_case_files(&tests),
            false => case_files,
        },
        keys_file: tests.join(cases::KEYS_FILE),
        probes,
        record: tests.join(cases::POLICY_RECORD),
        engine,
    })
}

/// Runs the cases (and the probes) against the artifact.
pub fn run(options: &TestOptions) -> Result<TestReport, TestError> {
    let cases = cases::read_cases(&options.case_files)?;
    let keys = cases::read_keys(&options.keys_file)?;
    let config: Vec<(String, String)> = keys.config.clone().into_iter().collect();
    let runner = Runner {
        server: OnceCell::new(),
        one_shot: OnceCell::new(),
        artifact: &options.artifact,
        policy: &options.policy,
        keys: &keys,
        keys_dir: options.keys_file.parent().unwrap_or(Path::new(".")),
        config,
        engine: &options.engine,
        runtime: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| TestError::Artifact(e.into()))?,
    };
    let results: Vec<CaseResult> = cases.iter().map(|case| runner.run_case(case)).collect();
    let policy = match options.probes {
        probes::Mode::Off => None,
        mode => Some(probes::run(&runner, &options.record, mode)?),
    };
    let failed = results.iter().filter(|r| !r.passed).count();
    Ok(TestReport {
        ok: failed == 0 && policy.as_ref().is_none_or(|p| p.ok),
        passed: results.len() - failed,
        failed,
        cases: results,
        policy,
    })
}

/// A request, as cases and probes make them.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method.
    pub method: String,
    /// The path with its query.
    pub path: String,
    /// The headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// The loaded artifact and everything a request needs.
pub struct Runner<'a> {
    /// Loaded on the first HTTP request: a messaging-only artifact has no HTTP handler.
    server: OnceCell<Server>,
    /// Loaded on the first CLI or messaging case, and compiled once for all of them.
    one_shot: OnceCell<OneShot>,
    artifact: &'a Path,
    policy: &'a CompiledPolicy,
    keys: &'a Keys,
    keys_dir: &'a Path,
    config: Vec<(String, String)>,
    engine: &'a EngineOptions,
    runtime: tokio::runtime::Runtime,
}

impl Runner<'_> {
    /// The policy.
    pub fn policy(&self) -> &faas_policy_core::Policy {
        &self.policy.policy
    }

    /// The test credentials.
    pub fn keys(&self) -> &Keys {
        self.keys
    }

    /// Sends `request` through the HTTP trigger.
    pub fn http(&self, request: &Request) -> anyhow::Result<Answered> {
        let mut builder = hyper::Request::builder()
            .method(request.method.as_str())
            .uri(format!("http://faas-test{}", request.path));
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let request = builder.body(request.body.clone())?;
        let server = loaded(&self.server, || {
            Server::load(self.artifact, self.config.clone(), self.engine)
        })?;
        self.runtime.block_on(server.answer(request))
    }

    /// Sends `request` through the CLI trigger (as `faas invoke` does).
    fn cli(&self, request: &Request) -> anyhow::Result<Answered> {
        let json = serde_json::json!({
            "method": request.method,
            "path": request.path,
            "headers": request.headers,
            "body": String::from_utf8_lossy(&request.body),
        });
        let invocation = self.one_shot()?.invoke(serde_json::to_vec(&json)?)?;
        let response: Value = serde_json::from_slice(&invocation.stdout)
            .map_err(|e| anyhow::anyhow!("the CLI trigger did not print a JSON response: {e}"))?;
        Ok(Answered {
            status: response["status"].as_u64().unwrap_or(0) as u16,
            headers: response["headers"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|pair| {
                    Some((
                        pair[0].as_str()?.to_ascii_lowercase(),
                        pair[1].as_str()?.to_string(),
                    ))
                })
                .collect(),
            body: response["body"]
                .as_str()
                .unwrap_or_default()
                .as_bytes()
                .to_vec(),
        })
    }

    fn one_shot(&self) -> anyhow::Result<&OneShot> {
        loaded(&self.one_shot, || {
            OneShot::load(self.artifact, self.config.clone(), self.engine)
        })
    }

    /// The header that presents API key `key` under this policy.
    pub fn api_key_header(&self, key: &str) -> (String, String) {
        let header = self.policy().api_key_header.clone();
        let value = match header.as_str() {
            "authorization" => format!("Bearer {key}"),
            _ => key.to_string(),
        };
        (header, value)
    }

    /// The webhook signature of `body` under the policy's `[auth.hmac]`, made now with the secret
    /// the run's configuration holds.
    fn signature(&self, body: &[u8]) -> Result<(String, String), String> {
        let hmac = self
            .policy()
            .hmac
            .as_ref()
            .ok_or("`signed = true`, but the policy has no [auth.hmac]")?;
        let secret = self.keys.config.get(&hmac.secret).ok_or_else(|| {
            format!(
                "`signed = true` needs the webhook secret: {} has no `{}` in its [config] table",
                cases::KEYS_FILE,
                hmac.secret
            )
        })?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Ok(faas_policy_core::hmac::sign(
            hmac,
            body,
            secret.as_bytes(),
            now,
        ))
    }

    /// A JWT minted with the test key `credential.key`, with its claims.
    pub fn mint(&self, credential: &JwtCredential) -> Result<String, String> {
        let key =
            self.keys.jwt_keys.get(&credential.key).ok_or_else(|| {
                format!("no JWT key `{}` in {}", credential.key, cases::KEYS_FILE)
            })?;
        let mut claims = serde_json::to_value(&credential.claims).map_err(|e| e.to_string())?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let defaults = [
            ("iat", Some(Value::from(now))),
            ("exp", Some(Value::from(now + 300))),
            ("iss", self.jwt_default(|j| &j.issuers)),
            ("aud", self.jwt_default(|j| &j.audiences)),
        ];
        for (claim, value) in defaults {
            if let (Some(value), None) = (value, claims.get(claim)) {
                claims[claim] = value;
            }
        }
        let (algorithm, encoding) = match (&key.hs256, &key.private_key) {
            (Some(secret), None) => (
                jsonwebtoken::Algorithm::HS256,
                jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
            ),
            (None, Some(file)) => {
                let path = self.keys_dir.join(file);
                let pem = std::fs::read(&path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                let name = key.algorithm.as_deref().unwrap_or("RS256");
                let algorithm: jsonwebtoken::Algorithm = name.parse().map_err(|_| {
                    format!("JWT key `{}`: unknown algorithm {name}", credential.key)
                })?;
                use jsonwebtoken::EncodingKey;
                let encoding = match name.get(..2) {
                    Some("RS" | "PS") => EncodingKey::from_rsa_pem(&pem),
                    Some("ES") => EncodingKey::from_ec_pem(&pem),
                    _ => EncodingKey::from_ed_pem(&pem),
                }
                .map_err(|e| format!("{}: {e}", path.display()))?;
                (algorithm, encoding)
            }
            _ => {
                return Err(format!(
                    "JWT key `{}`: give `hs256` or `private-key`",
                    credential.key
                ));
            }
        };
        let mut header = jsonwebtoken::Header::new(algorithm);
        header.kid = key.kid.clone();
        jsonwebtoken::encode(&header, &claims, &encoding).map_err(|e| e.to_string())
    }

    fn jwt_default(&self, list: impl Fn(&faas_policy_core::Jwt) -> &Vec<String>) -> Option<Value> {
        let jwt = self.policy().jwt.as_ref()?;
        list(jwt).first().map(|v| Value::from(v.as_str()))
    }

    fn run_case(&self, located: &LocatedCase) -> CaseResult {
        let started = Instant::now();
        let case = &located.case;
        let outcome = self.request_for(case).map_err(|e| vec![e]);
        let (status, failures) = match (case.trigger, outcome) {
            (CaseTrigger::Messaging, Ok(request)) => (None, self.message(case, request)),
            (_, Ok(request)) => {
                let answered = match case.trigger {
                    CaseTrigger::Cli => self.cli(&request),
                    _ => self.http(&request),
                };
                match answered {
                    Ok(answered) => (Some(answered.status), check(case, &answered)),
                    Err(e) => (None, vec![format!("the artifact could not answer: {e:#}")]),
                }
            }
            (_, Err(failures)) => (None, failures),
        };
        CaseResult {
            name: case.name.clone(),
            location: located.location.clone(),
            trigger: case.trigger.name(),
            passed: failures.is_empty(),
            status,
            failures,
            duration_ms: (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0,
        }
    }

    /// Delivers the case's message (its request's body) and checks the result and the reply.
    fn message(&self, case: &Case, request: Request) -> Vec<String> {
        let reply_to = case
            .reply_to
            .clone()
            .unwrap_or_else(|| "_INBOX.faas-test".into());
        let message = crate::serve::Message {
            subject: case.subject.clone().unwrap_or_default(),
            body: request.body,
            reply_to: Some(reply_to.clone()),
        };
        let delivery = match self
            .one_shot()
            .and_then(|one_shot| one_shot.deliver(message))
        {
            Ok(delivery) => delivery,
            Err(e) => return vec![format!("the artifact could not take the message: {e:#}")],
        };
        let mut failures = Vec::new();
        let accepted = case.expect.accepted.unwrap_or(true);
        match (&delivery.result, accepted) {
            (Ok(()), false) => {
                failures.push("expected the message to be refused, it was accepted".into())
            }
            (Err(why), true) => failures.push(format!(
                "expected the message to be accepted, it was refused: {why}"
            )),
            _ => {}
        }
        let wants_reply = case.expect.json.is_some() || case.expect.body_contains.is_some();
        match delivery.published.iter().find(|m| m.subject == reply_to) {
            Some(reply) => check_body(&case.expect, &reply.body, &mut failures),
            None if wants_reply => failures.push(format!("no reply was published to {reply_to}")),
            None => {}
        }
        failures
    }

    fn request_for(&self, case: &Case) -> Result<Request, String> {
        let mut headers: Vec<(String, String)> = case
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        if let Some(id) = &case.api_key {
            let key = self.keys.api_keys.get(id).ok_or_else(|| {
                format!(
                    "no API key `{id}` in {} (its [api-keys] table)",
                    cases::KEYS_FILE
                )
            })?;
            headers.push(self.api_key_header(key));
        }
        if let Some(credential) = &case.jwt {
            headers.push((
                "authorization".into(),
                format!("Bearer {}", self.mint(credential)?),
            ));
        }
        let body = match (&case.body, &case.json) {
            (Some(text), _) => text.clone().into_bytes(),
            (None, Some(json)) => {
                if !headers.iter().any(|(k, _)| k == "content-type") {
                    headers.push(("content-type".into(), "application/json".into()));
                }
                serde_json::to_vec(json).map_err(|e| e.to_string())?
            }
            (None, None) => Vec::new(),
        };
        if case.signed {
            headers.push(self.signature(&body)?);
        }
        Ok(Request {
            method: case.method.clone(),
            path: case.path.clone(),
            headers,
            body,
        })
    }
}

/// What `cell` holds, loaded with `load` the first time.
fn loaded<T>(cell: &OnceCell<T>, load: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<&T> {
    if let Some(value) = cell.get() {
        return Ok(value);
    }
    let value = load()?;
    Ok(cell.get_or_init(|| value))
}

/// What of `case`'s expectations `answered` does not meet, one line each.
fn check(case: &Case, answered: &Answered) -> Vec<String> {
    let expect = &case.expect;
    let mut failures = Vec::new();
    let body = String::from_utf8_lossy(&answered.body);
    if let Some(status) = expect.status.filter(|s| *s != answered.status) {
        failures.push(format!(
            "status: expected {status}, got {} (body: {})",
            answered.status,
            shorten(&body)
        ));
    }
    for (name, value) in &expect.headers {
        let name = name.to_ascii_lowercase();
        match answered.headers.iter().find(|(k, _)| *k == name) {
            Some((_, got)) if got == value => {}
            Some((_, got)) => {
                failures.push(format!("header {name}: expected {value:?}, got {got:?}"))
            }
            None => failures.push(format!("header {name}: expected {value:?}, got none")),
        }
    }
    check_body(expect, &answered.body, &mut failures);
    failures
}

/// The body expectations: a JSON subset, a text it contains.
fn check_body(expect: &cases::Expect, body: &[u8], failures: &mut Vec<String>) {
    let text = String::from_utf8_lossy(body);
    if let Some(expected) = &expect.json {
        match serde_json::from_slice::<Value>(body) {
            Ok(actual) => {
                let expected = serde_json::to_value(expected).unwrap_or_default();
                subset(&expected, &actual, "body", failures);
            }
            Err(_) => failures.push(format!("body: expected JSON, got {}", shorten(&text))),
        }
    }
    if let Some(wanted) = &expect.body_contains
        && !text.contains(wanted.as_str())
    {
        failures.push(format!(
            "body: expected to contain {wanted:?}, got {}",
            shorten(&text)
        ));
    }
}

/// Records where `actual` does not hold `expected`: objects need the expected keys (more are
/// fine), arrays the same length with each item held, anything else equality.
fn subset(expected: &Value, actual: &Value, at: &str, failures: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(want), Value::Object(have)) => {
            for (key, value) in want {
                let at = format!("{at}.{key}");
                match have.get(key) {
                    Some(got) => subset(value, got, &at, failures),
                    None => failures.push(format!("{at}: expected {value}, got nothing")),
                }
            }
        }
        (Value::Array(want), Value::Array(have)) if want.len() == have.len() => {
            for (index, (value, got)) in want.iter().zip(have).enumerate() {
                subset(value, got, &format!("{at}[{index}]"), failures);
            }
        }
        _ if expected == actual => {}
        _ => failures.push(format!("{at}: expected {expected}, got {actual}")),
    }
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(200) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_expectation_is_a_subset_and_differences_name_their_place() {
        let mut failures = Vec::new();
        let expected = serde_json::json!({"message": "Hello", "items": [{"id": 1}], "n": 2});
        let actual =
            serde_json::json!({"message": "Howdy", "items": [{"id": 1, "x": true}], "extra": 1});
        subset(&expected, &actual, "body", &mut failures);
        assert_eq!(
            failures,
            [
                "body.message: expected \"Hello\", got \"Howdy\"",
                "body.n: expected 2, got nothing"
            ]
        );
        let mut none = Vec::new();
        subset(
            &serde_json::json!({"items": [{"id": 1}]}),
            &actual,
            "body",
            &mut none,
        );
        assert!(none.is_empty(), "{none:?}");
    }
}
