//! Policy probes: for every rule of the policy, requests that must be told apart (no credential, an
//! unknown key, each test key and token with and without the rule's scopes, a method outside the
//! rule, CORS preflights from a listed and an unlisted origin), run against the artifact. What each
//! got is compared with `tests/policy.toml`, the record a team reviews and commits: a policy change
//! that opens (or closes) a route changes an outcome there, and fails until the record is updated
//! on purpose (`faas test --policy --update`).

use super::{Request, Runner, TestError};
use crate::serve::Answered;
use faas_policy_core::{Access, Policy, Rule, path_matches};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Whether and how to probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No probes.
    Off,
    /// Probe and compare with the record (written when there is none yet).
    Check,
    /// Probe and write the record.
    Update,
}

/// One probe and what it got.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Probe {
    /// The rule probed (`rule 2: any /**`).
    pub rule: String,
    /// Who the rule lets in (`public`, `scopes greet`).
    pub access: String,
    /// The request (`GET /probe`).
    pub request: String,
    /// The credential presented.
    pub credential: String,
    /// What came back: `allowed` (the function answered), `refused 401`, `preflight allowed`.
    pub outcome: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    #[serde(default, rename = "probe")]
    probes: Vec<Probe>,
}

/// The probes of one rule.
#[derive(Debug, Clone, Serialize)]
pub struct RuleProbes {
    /// The rule.
    pub rule: String,
    /// Its probes.
    pub probes: Vec<ProbeResult>,
}

/// A probe's result against the record.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeResult {
    /// The request.
    pub request: String,
    /// The credential.
    pub credential: String,
    /// What came back.
    pub outcome: String,
    /// What the record says, when it has this probe.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded: Option<String>,
    /// Whether it matches the record.
    pub passed: bool,
}

/// The probes' report.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    /// Whether every probe matches the record.
    pub ok: bool,
    /// The record.
    pub record: PathBuf,
    /// Whether this run wrote it (none existed, or `--update`).
    pub written: bool,
    /// Per rule.
    pub rules: Vec<RuleProbes>,
    /// Every difference from the record, one line each.
    pub differences: Vec<String>,
}

/// A key no policy holds.
const UNKNOWN_KEY: &str = "faas_sk_00000000000000000000000000000000";
/// An origin no policy lists.
const UNLISTED_ORIGIN: &str = "https://unlisted.invalid";
/// Methods tried, in order, when a rule names none (or to find one outside it).
const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

/// Runs the probes and compares them with (or writes) the record at `record`.
pub fn run(runner: &Runner<'_>, record: &Path, mode: Mode) -> Result<ProbeReport, TestError> {
    let mut observed = Vec::new();
    for (label, access, request, credential) in derive(runner) {
        let outcome = match runner.http(&request) {
            Ok(answered) => outcome(&answered),
            Err(e) => format!("failed: {e:#}"),
        };
        observed.push(Probe {
            rule: label,
            access,
            request: format!("{} {}", request.method, request.path),
            credential,
            outcome,
        });
    }
    // `--update` replaces the record whatever it holds.
    let existing = match mode {
        Mode::Update => None,
        _ => read_record(record)?,
    };
    let written = mode == Mode::Update || existing.is_none();
    if written {
        write_record(record, &observed)?;
    }
    let recorded = existing.filter(|_| mode == Mode::Check).unwrap_or_default();
    let key = |p: &Probe| (p.rule.clone(), p.request.clone(), p.credential.clone());
    let mut differences = Vec::new();
    let mut rules: Vec<RuleProbes> = Vec::new();
    for probe in &observed {
        let before = recorded.probes.iter().find(|r| key(r) == key(probe));
        if let Some(before) = before.filter(|b| b.access != probe.access)
            && !differences
                .iter()
                .any(|d: &String| d.starts_with(&format!("{}: access", probe.rule)))
        {
            differences.push(format!(
                "{}: access: recorded `{}`, now `{}`",
                probe.rule, before.access, probe.access
            ));
        }
        let passed = written || before.is_some_and(|b| b.outcome == probe.outcome);
        if !passed {
            differences.push(match before {
                Some(before) => format!(
                    "{}: {} with {}: recorded `{}`, now `{}`",
                    probe.rule, probe.request, probe.credential, before.outcome, probe.outcome
                ),
                None => format!(
                    "{}: {} with {}: `{}`, not in the record",
                    probe.rule, probe.request, probe.credential, probe.outcome
                ),
            });
        }
        let result = ProbeResult {
            request: probe.request.clone(),
            credential: probe.credential.clone(),
            outcome: probe.outcome.clone(),
            recorded: before.map(|b| b.outcome.clone()),
            passed,
        };
        match rules.last_mut().filter(|r| r.rule == probe.rule) {
            Some(rule) => rule.probes.push(result),
            None => rules.push(RuleProbes {
                rule: probe.rule.clone(),
                probes: vec![result],
            }),
        }
    }
    if !written {
        for gone in recorded
            .probes
            .iter()
            .filter(|r| !observed.iter().any(|o| key(o) == key(r)))
        {
            differences.push(format!(
                "{}: {} with {}: recorded `{}`, no longer probed (the policy's rules changed)",
                gone.rule, gone.request, gone.credential, gone.outcome
            ));
        }
    }
    Ok(ProbeReport {
        ok: differences.is_empty(),
        record: record.to_path_buf(),
        written,
        rules,
        differences,
    })
}

/// What a probe got: the decorator's refusals answer with its generic JSON body.
fn outcome(answered: &Answered) -> String {
    let header = |name: &str| answered.headers.iter().any(|(k, _)| k == name);
    if answered.status == 204 && header("access-control-allow-origin") {
        return "preflight allowed".into();
    }
    if answered.status >= 400
        && answered.body == faas_policy_core::error_answer(answered.status).body
    {
        return format!("refused {}", answered.status);
    }
    "allowed".into()
}

/// The index of the rule that decides `method` on `path` (the first matching both).
fn deciding(policy: &Policy, method: &str, path: &str) -> Option<usize> {
    policy.rules.iter().position(|rule| {
        path_matches(&rule.path, path)
            && (rule.methods.is_empty() || rule.methods.iter().any(|m| m == method))
    })
}

/// A path `pattern` matches: `*` and a final `**` stand for one segment.
fn concrete(pattern: &str) -> String {
    let path: Vec<&str> = pattern
        .split('/')
        .map(|segment| match segment {
            "*" | "**" => "probe",
            other => other,
        })
        .collect();
    let path = path.join("/");
    if path.is_empty() { "/".into() } else { path }
}

/// A rule as probes name it (its number, methods and path; who it lets in is recorded beside).
fn describe(index: usize, rule: &Rule) -> (String, String) {
    let methods = match rule.methods.is_empty() {
        true => "any".to_string(),
        false => rule.methods.join(","),
    };
    let access = match &rule.access {
        Access::Public => "public".to_string(),
        Access::Scopes(scopes) if scopes.is_empty() => "any caller".to_string(),
        Access::Scopes(scopes) => format!("scopes {}", scopes.join(" ")),
    };
    (
        format!("rule {}: {methods} {}", index + 1, rule.path),
        access,
    )
}

/// The probes of every rule: (rule, access, request, credential).
fn derive(runner: &Runner<'_>) -> Vec<(String, String, Request, String)> {
    let policy = runner.policy();
    let allowed_by_filters = |m: &str| {
        policy.filters.methods.is_empty() || policy.filters.methods.iter().any(|f| f == m)
    };
    let base_headers: Vec<(String, String)> = policy
        .filters
        .required_headers
        .iter()
        .map(|h| (h.clone(), "probe".to_string()))
        .collect();
    let request = |method: &str, path: &str, extra: Vec<(String, String)>| Request {
        method: method.to_string(),
        path: path.to_string(),
        headers: base_headers.iter().cloned().chain(extra).collect(),
        body: Vec::new(),
    };
    let mut probes = Vec::new();
    for (index, rule) in policy.rules.iter().enumerate() {
        let (label, access) = describe(index, rule);
        let path = concrete(&rule.path);
        let candidates: Vec<&str> = match rule.methods.is_empty() {
            true => METHODS.to_vec(),
            false => rule.methods.iter().map(String::as_str).collect(),
        };
        // A method this rule decides on this path (earlier rules may take some).
        let Some(method) = candidates
            .iter()
            .filter(|m| allowed_by_filters(m))
            .find(|m| deciding(policy, m, &path) == Some(index))
        else {
            continue;
        };
        let mut add = |credential: String, extra: Vec<(String, String)>, method: &str| {
            probes.push((
                label.clone(),
                access.clone(),
                request(method, &path, extra),
                credential,
            ));
        };
        add("no credential".into(), vec![], method);
        if let Access::Scopes(required) = &rule.access {
            add(
                "an unknown API key".into(),
                vec![runner.api_key_header(UNKNOWN_KEY)],
                method,
            );
            for (id, key) in &runner.keys().api_keys {
                if let Some(known) = policy.api_keys.iter().find(|k| &k.id == id) {
                    let scopes = match known.scopes.is_empty() {
                        true => "no scopes".to_string(),
                        false => format!("scopes {}", known.scopes.join(" ")),
                    };
                    add(
                        format!("API key {id} ({scopes})"),
                        vec![runner.api_key_header(key)],
                        method,
                    );
                }
            }
            if let Some(jwt) = &policy.jwt {
                for name in runner.keys().jwt_keys.keys() {
                    let mut variants = vec![(
                        format!("JWT from {name} with the rule's scopes"),
                        required.clone(),
                    )];
                    if !required.is_empty() {
                        variants.push((format!("JWT from {name} without scopes"), Vec::new()));
                    }
                    for (credential, scopes) in variants {
                        let mut claims = toml::Table::new();
                        claims.insert(jwt.subject_claim.clone(), "probe".into());
                        claims.insert(
                            jwt.scopes_claim.clone(),
                            toml::Value::String(scopes.join(" ")),
                        );
                        let token = runner.mint(&super::cases::JwtCredential {
                            key: name.clone(),
                            claims,
                        });
                        match token {
                            Ok(token) => add(
                                credential,
                                vec![("authorization".into(), format!("Bearer {token}"))],
                                method,
                            ),
                            Err(e) => {
                                add(format!("{credential} (cannot mint: {e})"), vec![], method)
                            }
                        }
                    }
                }
            }
        }
        if !rule.methods.is_empty()
            && let Some(outside) = METHODS.iter().filter(|m| allowed_by_filters(m)).find(|m| {
                !rule.methods.iter().any(|r| r == *m) && deciding(policy, m, &path).is_none()
            })
        {
            add(
                format!("no credential, method {outside} (outside the rule)"),
                vec![],
                outside,
            );
        }
        if let Some(cors) = &policy.cors {
            let preflight = |origin: &str| {
                vec![
                    ("origin".to_string(), origin.to_string()),
                    (
                        "access-control-request-method".to_string(),
                        method.to_string(),
                    ),
                ]
            };
            if !cors.origins.iter().any(|o| o == "*") {
                add(
                    format!("preflight from {UNLISTED_ORIGIN}"),
                    preflight(UNLISTED_ORIGIN),
                    "OPTIONS",
                );
            }
            if let Some(listed) = cors.origins.first() {
                let origin = if listed == "*" {
                    "https://any.invalid"
                } else {
                    listed.as_str()
                };
                add(
                    format!("preflight from {origin}"),
                    preflight(origin),
                    "OPTIONS",
                );
            }
        }
    }
    probes
}

fn read_record(path: &Path) -> Result<Option<Record>, TestError> {
    if !path.exists() {
        return Ok(None);
    }
    let source = crate::source::SourceFile::read(path)
        .map_err(|e| TestError::Record(format!("cannot read {}: {e}", path.display())))?;
    Ok(Some(source.parse_toml()?))
}

fn write_record(path: &Path, probes: &[Probe]) -> Result<(), TestError> {
    let body = toml::to_string(&Record {
        probes: probes.to_vec(),
    })
    .map_err(|e| TestError::Record(e.to_string()))?;
    let text = format!(
        "# What `faas test --policy` observed for each rule of the policy: who may call what.\n\
         # Commit it. A change to it is a change of access: review it, then record it with\n\
         # `faas test --policy --update`.\n\n{body}"
    );
    crate::fsutil::write_atomic(path, text.as_bytes())
        .map_err(|e| TestError::Record(format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_paths_match_their_patterns() {
        for pattern in ["/", "/**", "/health", "/items/*", "/admin/**", "/a/*/b"] {
            let path = concrete(pattern);
            assert!(path_matches(pattern, &path), "{pattern} → {path}");
        }
        assert_eq!(concrete("/**"), "/probe");
        assert_eq!(concrete("/items/*/edit"), "/items/probe/edit");
    }

    #[test]
    fn refusals_are_told_from_answers_by_the_decorator_s_body() {
        let refused = faas_policy_core::error_answer(401);
        let answer = |status, body: &[u8], headers: Vec<(String, String)>| Answered {
            status,
            headers,
            body: body.to_vec(),
        };
        assert_eq!(outcome(&answer(401, &refused.body, vec![])), "refused 401");
        assert_eq!(outcome(&answer(401, b"{\"mine\":1}", vec![])), "allowed");
        assert_eq!(outcome(&answer(200, b"hi", vec![])), "allowed");
        let cors = vec![("access-control-allow-origin".to_string(), "x".to_string())];
        assert_eq!(outcome(&answer(204, b"", cors)), "preflight allowed");
    }
}
