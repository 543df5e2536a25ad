//! The provenance of an artifact: a SLSA provenance v1 predicate saying which faas made it, with
//! which parameters, from which source commit, function, policy and layers.

use super::Subject;
use serde_json::{Value, json};

/// The in-toto predicate type of SLSA provenance v1.
pub const PREDICATE_TYPE: &str = "https://slsa.dev/provenance/v1";

/// The annotation marking a resolved dependency as one of the artifact's layers.
const LAYER_ANNOTATION: &str = "faasLayer";

/// The name of the resolved dependency that is the compiled policy document.
pub const POLICY_DOCUMENT: &str = "policy-document";

/// The build type: what the parameters mean (docs/publish.md, "The provenance", defines them).
pub const BUILD_TYPE: &str = "urn:faas:build-type:wrap:v1";

/// Who built the artifact, for `runDetails.builder.id`: `FAAS_BUILDER_ID` when set (a CI system's
/// identity for its build platform), else the GitHub Actions workflow that runs faas
/// (`https://github.com/OWNER/REPO/.github/workflows/FILE@REF`), else the GitLab CI project's
/// pipeline definition, else faas itself on a workstation (`urn:faas:builder:local:faas@VERSION`).
pub fn builder_id() -> String {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let Some(id) = var("FAAS_BUILDER_ID") {
        return id;
    }
    if var("GITHUB_ACTIONS").as_deref() == Some("true")
        && let (Some(server), Some(workflow)) =
            (var("GITHUB_SERVER_URL"), var("GITHUB_WORKFLOW_REF"))
    {
        return format!("{server}/{workflow}");
    }
    if var("GITLAB_CI").as_deref() == Some("true")
        && let Some(project) = var("CI_PROJECT_URL")
    {
        return format!("{project}/-/blob/HEAD/.gitlab-ci.yml");
    }
    format!("urn:faas:builder:local:faas@{}", env!("CARGO_PKG_VERSION"))
}

/// The SLSA provenance predicate for `subject`.
pub fn predicate(subject: &Subject<'_>) -> Value {
    let note = subject.note;
    let mut dependencies = Vec::new();
    if let Some(commit) = subject.revision {
        let mut source = json!({ "digest": { "gitCommit": commit }, "name": "source" });
        if let Some(repository) = subject.source {
            source["uri"] = json!(format!("git+{repository}"));
        }
        dependencies.push(source);
    }
    for layer in note.map(|n| n.layers.as_slice()).unwrap_or_default() {
        dependencies.push(json!({
            "name": layer.layer,
            "digest": sha256(&layer.digest),
            "annotations": { LAYER_ANNOTATION: true },
        }));
    }
    if let Some(note) = note {
        dependencies.push(json!({
            "name": POLICY_DOCUMENT,
            "digest": sha256(&note.policy_document),
        }));
    }
    let mut external = json!({ "artifact": subject.title });
    if let Some(parameters) = note.and_then(|n| n.parameters.as_ref()) {
        external["language"] = json!(parameters.language);
        external["triggers"] = json!(parameters.triggers);
        if let Some(target) = &parameters.target {
            external["target"] = json!(target);
        }
    }
    if let Some(note) = note {
        external["policy"] = json!(note.policy_summary);
    }
    let faas_version = note
        .map(|n| n.faas_version.as_str())
        .unwrap_or(env!("CARGO_PKG_VERSION"));
    json!({
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": external,
            "internalParameters": { "wrappedBy": format!("faas {faas_version}") },
            "resolvedDependencies": dependencies,
        },
        "runDetails": {
            "builder": {
                "id": subject.builder,
                "version": { "faas": env!("CARGO_PKG_VERSION") },
            },
            "metadata": { "finishedOn": subject.created },
        },
    })
}

fn sha256(digest: &str) -> Value {
    json!({ "sha256": digest.trim_start_matches("sha256:") })
}

/// The layers a provenance predicate names, with their digests, and the policy document's.
pub fn layer_digests(predicate: &Value) -> (Vec<(String, String)>, Option<String>) {
    let mut layers = Vec::new();
    let mut policy = None;
    for dependency in predicate["buildDefinition"]["resolvedDependencies"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let (Some(name), Some(hash)) = (
            dependency["name"].as_str(),
            dependency["digest"]["sha256"].as_str(),
        ) else {
            continue;
        };
        let digest = format!("sha256:{hash}");
        if dependency["annotations"][LAYER_ANNOTATION] == true {
            layers.push((name.to_string(), digest));
        } else if name == POLICY_DOCUMENT {
            policy = Some(digest);
        }
    }
    (layers, policy)
}
