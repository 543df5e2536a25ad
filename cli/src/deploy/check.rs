//! `faas deploy --check FILE`: a manifest holds what `faas deploy` guarantees: images pinned by
//! digest, egress explicit and never a wildcard, host interfaces complete, admission policies
//! with a key. A hand-edited or generated file is checked the same way.

use serde_json::Value;

/// Checks a manifest's text; the kind checked, or every problem found (`path: what`).
pub fn check_text(text: &str) -> Result<String, Vec<String>> {
    let document: Value = serde_yaml::from_str(text).map_err(|e| vec![format!("not YAML: {e}")])?;
    let kind = document["kind"].as_str().unwrap_or_default().to_string();
    let mut problems = Vec::new();
    match kind.as_str() {
        "WorkloadDeployment" => workload(&document, &mut problems),
        "ImageValidatingPolicy" => image_validating_policy(&document, &mut problems),
        "ClusterPolicy" => cluster_policy(&document, &mut problems),
        "Application" => application(&document, &mut problems),
        "" => problems.push("kind: missing".into()),
        other => problems.push(format!(
            "kind: `{other}` is not one faas deploy writes (WorkloadDeployment, \
             ImageValidatingPolicy, ClusterPolicy, Application)"
        )),
    }
    if document["metadata"]["name"]
        .as_str()
        .is_none_or(str::is_empty)
    {
        problems.push("metadata.name: missing".into());
    }
    // The API server refuses a namespace that is not an RFC 1123 label: say so before it does.
    if let Some(namespace) = document["metadata"]["namespace"].as_str()
        && !super::is_dns_label(namespace)
    {
        problems.push(format!(
            "metadata.namespace: `{namespace}` is not an RFC 1123 label (lower-case letters, \
             digits and `-`, at most 63)"
        ));
    }
    match problems.is_empty() {
        true => Ok(kind),
        false => Err(problems),
    }
}

/// `repository@sha256:<64 hex>`.
fn pinned(image: &str) -> bool {
    image
        .rsplit_once("@sha256:")
        .is_some_and(|(repository, hex)| {
            !repository.is_empty() && hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit())
        })
}

fn list<'a>(value: &'a Value, path: &str, problems: &mut Vec<String>) -> &'a [Value] {
    match value.as_array() {
        Some(items) if !items.is_empty() => items,
        _ => {
            problems.push(format!("{path}: missing or empty"));
            &[]
        }
    }
}

fn image(value: &Value, path: &str, problems: &mut Vec<String>) {
    match value.as_str() {
        Some(image) if pinned(image) => {}
        Some(image) => problems.push(format!(
            "{path}: `{image}` is not pinned by digest (repository@sha256:…): a tag can move \
             after admission"
        )),
        None => problems.push(format!("{path}: missing")),
    }
}

fn workload(document: &Value, problems: &mut Vec<String>) {
    if document["apiVersion"] != super::WORKLOAD_API {
        problems.push(format!("apiVersion: expected {}", super::WORKLOAD_API));
    }
    let spec = &document["spec"]["template"]["spec"];
    let components = list(
        &spec["components"],
        "spec.template.spec.components",
        problems,
    );
    for (i, component) in components.iter().enumerate() {
        let at = format!("spec.template.spec.components[{i}]");
        if component["name"].as_str().is_none_or(str::is_empty) {
            problems.push(format!("{at}.name: missing"));
        }
        image(&component["image"], &format!("{at}.image"), problems);
        match component["localResources"]["allowedHosts"].as_array() {
            None => problems.push(format!(
                "{at}.localResources.allowedHosts: missing (write [] to deny all egress, \
                 explicitly)"
            )),
            Some(hosts) if hosts.iter().any(|h| h == "*") => problems.push(format!(
                "{at}.localResources.allowedHosts: `*` lets the function reach any host; name \
                 the hosts ([capabilities] outgoing-hosts)"
            )),
            Some(_) => {}
        }
    }
    for (i, interface) in spec["hostInterfaces"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let at = format!("spec.template.spec.hostInterfaces[{i}]");
        for field in ["namespace", "package"] {
            if interface[field].as_str().is_none_or(str::is_empty) {
                problems.push(format!("{at}.{field}: missing"));
            }
        }
        list(
            &interface["interfaces"],
            &format!("{at}.interfaces"),
            problems,
        );
    }
}

fn image_validating_policy(document: &Value, problems: &mut Vec<String>) {
    let spec = &document["spec"];
    let rules = list(
        &spec["matchConstraints"]["resourceRules"],
        "spec.matchConstraints.resourceRules",
        problems,
    );
    if !rules.iter().any(|r| {
        r["resources"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x == "workloaddeployments"))
    }) {
        problems
            .push("spec.matchConstraints.resourceRules: no rule for workloaddeployments".into());
    }
    for (i, attestor) in list(&spec["attestors"], "spec.attestors", problems)
        .iter()
        .enumerate()
    {
        if !attestor["cosign"]["key"]["data"]
            .as_str()
            .is_some_and(|k| k.contains("BEGIN PUBLIC KEY"))
        {
            problems.push(format!(
                "spec.attestors[{i}].cosign.key.data: no PEM public key"
            ));
        }
        if attestor["cosign"]["ctlog"]["insecureIgnoreTlog"] != true {
            problems.push(format!(
                "spec.attestors[{i}].cosign.ctlog.insecureIgnoreTlog: expected true: a key-pair \
                 signature has no transparency-log entry, so Kyverno would refuse every image"
            ));
        }
    }
    list(&spec["validations"], "spec.validations", problems);
    if spec["validationActions"] != serde_json::json!(["Deny"]) {
        problems.push("spec.validationActions: expected [Deny]: an unsigned image must be refused, not reported".into());
    }
}

fn cluster_policy(document: &Value, problems: &mut Vec<String>) {
    let rules = list(&document["spec"]["rules"], "spec.rules", problems);
    for (i, rule) in rules.iter().enumerate() {
        for (j, verify) in list(
            &rule["verifyImages"],
            &format!("spec.rules[{i}].verifyImages"),
            problems,
        )
        .iter()
        .enumerate()
        {
            let at = format!("spec.rules[{i}].verifyImages[{j}]");
            if verify["required"] != true {
                problems.push(format!("{at}.required: expected true"));
            }
            let keys = verify["attestors"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|a| a["entries"].as_array().into_iter().flatten());
            let keys: Vec<&Value> = keys.collect();
            if !keys.iter().any(|e| {
                e["keys"]["publicKeys"]
                    .as_str()
                    .is_some_and(|k| k.contains("BEGIN PUBLIC KEY"))
            }) {
                problems.push(format!("{at}.attestors: no PEM public key"));
            }
            if keys
                .iter()
                .any(|e| e["keys"]["rekor"]["ignoreTlog"] != true)
            {
                problems.push(format!(
                    "{at}.attestors: keys.rekor.ignoreTlog: expected true: a key-pair signature \
                     has no transparency-log entry, so Kyverno would refuse every image"
                ));
            }
        }
    }
    if document["spec"]["validationFailureAction"] != "Enforce" {
        problems.push("spec.validationFailureAction: expected Enforce".into());
    }
}

fn application(document: &Value, problems: &mut Vec<String>) {
    if document["apiVersion"] != "core.oam.dev/v1beta1" {
        problems.push("apiVersion: expected core.oam.dev/v1beta1".into());
    }
    let components = list(&document["spec"]["components"], "spec.components", problems);
    let mut functions = 0;
    for (i, component) in components.iter().enumerate() {
        let at = format!("spec.components[{i}]");
        if component["type"] == "component" {
            functions += 1;
            image(
                &component["properties"]["image"],
                &format!("{at}.properties.image"),
                problems,
            );
            let scaled = component["traits"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t["type"] == "spreadscaler"));
            if !scaled {
                problems.push(format!(
                    "{at}.traits: no spreadscaler: nothing would run it"
                ));
            }
        }
    }
    if functions == 0 {
        problems.push("spec.components: no component of type `component`".into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpinned_images_and_open_egress_are_named() {
        let text = r#"
apiVersion: runtime.wasmcloud.dev/v1alpha1
kind: WorkloadDeployment
metadata: { name: hello, namespace: Orders_Team }
spec:
  template:
    spec:
      components:
        - name: hello
          image: registry.example.com/team/hello:0.1.0
          localResources: { allowedHosts: ["*"] }
        - name: other
          image: registry.example.com/team/other@sha256:abc
      hostInterfaces:
        - { namespace: wasi, interfaces: [] }
"#;
        let problems = check_text(text).unwrap_err();
        let joined = problems.join("\n");
        for expected in [
            "components[0].image: `registry.example.com/team/hello:0.1.0` is not pinned by digest",
            "components[0].localResources.allowedHosts: `*` lets the function reach any host",
            "components[1].image: `registry.example.com/team/other@sha256:abc` is not pinned",
            "components[1].localResources.allowedHosts: missing",
            "hostInterfaces[0].package: missing",
            "hostInterfaces[0].interfaces: missing or empty",
            "metadata.namespace: `Orders_Team` is not an RFC 1123 label",
        ] {
            assert!(joined.contains(expected), "{expected}:\n{joined}");
        }
        assert!(
            check_text("kind: Pod\nmetadata: {name: x}\n").unwrap_err()[0]
                .contains("not one faas deploy writes")
        );
    }

    #[test]
    fn namespaces_and_hosts_the_api_server_would_refuse_are_refused_in_faas_toml() {
        let parse = |text: &str| toml::from_str::<super::super::DeploySection>(text);
        for bad in [
            "namespace = \"Orders\"",
            "namespace = \"orders_team\"",
            "namespace = \"-orders\"",
            "namespace = \"\"",
            "host = \"Hello.Example\"",
            "host = \"hello example\"",
            "host = \"hello.example:0\"",
            "host = \"hello..example\"",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        for good in ["namespace = \"orders-2\"", "host = \"hello.local:8080\""] {
            assert!(parse(good).is_ok(), "{good}");
        }
    }
}
