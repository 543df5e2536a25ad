//! `faas deploy --check FILE`: a manifest is what the API server (or wadm) would take, read
//! through the typed model of the upstream schemas ([`super::schema`]: types, unknown fields,
//! enumerations), and holds what `faas deploy` guarantees on top: DNS-1123 names and RFC 1123
//! namespaces and hosts, images pinned by digest, egress explicit and never a wildcard, host
//! interfaces complete, admission policies that enforce, with a key and without asking for a
//! transparency log. A hand-edited or generated file is checked the same way.

use super::schema::{self, FailureAction, LegacyFailureAction, Manifest, ObjectMeta};

/// Checks a manifest's text; the kind checked, or every problem found (`path: what`).
pub fn check_text(text: &str) -> Result<String, Vec<String>> {
    let manifest = schema::parse(text).map_err(|e| vec![e])?;
    let mut problems = Vec::new();
    let kind = match &manifest {
        Manifest::Workload(w) => {
            workload(w, &mut problems);
            "WorkloadDeployment"
        }
        Manifest::ImagePolicy(p) => {
            image_validating_policy(p, &mut problems);
            "ImageValidatingPolicy"
        }
        Manifest::ClassicPolicy(p) => {
            cluster_policy(p, &mut problems);
            "ClusterPolicy"
        }
        Manifest::Application(a) => {
            application(a, &mut problems);
            "Application"
        }
    };
    match problems.is_empty() {
        true => Ok(kind.to_string()),
        false => Err(problems),
    }
}

/// Whether `name` is a DNS-1123 subdomain: what Kubernetes takes as an object's name.
pub(crate) fn is_dns_subdomain(name: &str) -> bool {
    name.len() <= 253 && name.split('.').all(super::is_dns_label)
}

/// Whether `value` is a label value: at most 63, alphanumeric at both ends, `-_.` inside.
fn is_label_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.is_empty()
        || (bytes.len() <= 63
            && bytes[0].is_ascii_alphanumeric()
            && bytes[bytes.len() - 1].is_ascii_alphanumeric()
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b)))
}

/// Whether `key` is a label or annotation key: `[prefix/]name`, the prefix a DNS subdomain.
fn is_qualified_name(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    prefix.is_none_or(|p| !p.is_empty() && is_dns_subdomain(p))
        && !name.is_empty()
        && is_label_value(name)
}

/// The object metadata rules of the API server: a DNS-1123 name, an RFC 1123 namespace (none
/// for a cluster-scoped kind), valid label keys and values, valid annotation keys.
fn metadata(meta: &ObjectMeta, namespaced: bool, problems: &mut Vec<String>) {
    match (&meta.name, &meta.generate_name) {
        (Some(name), _) if !is_dns_subdomain(name) => problems.push(format!(
            "metadata.name: `{name}` is not a DNS-1123 subdomain (lower-case letters, digits, \
             `-` and `.`, at most 253)"
        )),
        (None, None) => problems.push("metadata.name: missing".into()),
        _ => {}
    }
    match &meta.namespace {
        Some(namespace) if !namespaced => problems.push(format!(
            "metadata.namespace: `{namespace}`: the kind is cluster-scoped, it has no namespace"
        )),
        Some(namespace) if !super::is_dns_label(namespace) => problems.push(format!(
            "metadata.namespace: `{namespace}` is not an RFC 1123 label (lower-case letters, \
             digits and `-`, at most 63)"
        )),
        _ => {}
    }
    for (key, value) in &meta.labels {
        if !is_qualified_name(key) {
            problems.push(format!("metadata.labels: `{key}` is not a label key"));
        }
        if !is_label_value(value) {
            problems.push(format!(
                "metadata.labels.{key}: `{value}` is not a label value (at most 63; letters, \
                 digits, `-`, `_`, `.`; a letter or digit at both ends)"
            ));
        }
    }
    for key in meta.annotations.keys() {
        if !is_qualified_name(key) {
            problems.push(format!(
                "metadata.annotations: `{key}` is not an annotation key"
            ));
        }
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

fn image(image: Option<&str>, path: &str, problems: &mut Vec<String>) {
    match image {
        Some(image) if pinned(image) => {}
        Some(image) => problems.push(format!(
            "{path}: `{image}` is not pinned by digest (repository@sha256:…): a tag can move \
             after admission"
        )),
        None => problems.push(format!("{path}: missing")),
    }
}

fn non_empty<T>(items: Option<&[T]>, path: &str, problems: &mut Vec<String>) -> bool {
    match items {
        Some(items) if !items.is_empty() => true,
        _ => {
            problems.push(format!("{path}: missing or empty"));
            false
        }
    }
}

/// An RFC 1123 host name (letters of either case, as the CRD's pattern), optionally `*.` first.
fn is_host_pattern_name(name: &str) -> bool {
    let name = name.strip_prefix("*.").unwrap_or(name);
    !name.is_empty()
        && name.split('.').all(|label| {
            let bytes = label.as_bytes();
            (1..=63).contains(&bytes.len())
                && bytes[0].is_ascii_alphanumeric()
                && bytes[bytes.len() - 1].is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        })
}

/// What the CRD's pattern for `allowedHosts` takes: `*`, or `[scheme://][*.]host[:port][/]`.
fn is_allowed_host(entry: &str) -> bool {
    if entry == "*" {
        return true;
    }
    let (rest, had_scheme) = match entry.split_once("://") {
        Some((scheme, rest)) => {
            let ok = scheme
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c));
            if !ok {
                return false;
            }
            (rest, true)
        }
        None => (entry, false),
    };
    let rest = match rest.strip_suffix('/') {
        Some(rest) if had_scheme => rest,
        Some(_) => return false,
        None => rest,
    };
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    };
    port.is_none_or(|p| (1..=5).contains(&p.len()) && p.chars().all(|c| c.is_ascii_digit()))
        && is_host_pattern_name(host)
}

/// An `int32` with `minimum: 0`, as the CRD has every count.
fn int32(value: Option<i64>, path: &str, problems: &mut Vec<String>) {
    if let Some(n) = value
        && !(0..=i64::from(i32::MAX)).contains(&n)
    {
        problems.push(format!("{path}: {n} is out of range (0 to {})", i32::MAX));
    }
}

fn workload(document: &schema::WorkloadDeployment, problems: &mut Vec<String>) {
    if document.api_version != super::WORKLOAD_API {
        problems.push(format!("apiVersion: expected {}", super::WORKLOAD_API));
    }
    metadata(&document.metadata, true, problems);
    int32(document.spec.replicas, "spec.replicas", problems);
    let spec = &document.spec.template.spec;
    let components = spec.components.as_deref();
    non_empty(components, "spec.template.spec.components", problems);
    for (i, component) in components.into_iter().flatten().enumerate() {
        let at = format!("spec.template.spec.components[{i}]");
        if component.name.is_empty() {
            problems.push(format!("{at}.name: missing"));
        }
        image(Some(&component.image), &format!("{at}.image"), problems);
        for (field, value) in [
            ("poolSize", component.pool_size),
            ("maxInvocations", component.max_invocations),
            ("maxConcurrency", component.max_concurrency),
        ] {
            int32(value, &format!("{at}.{field}"), problems);
        }
        if let Some(secret) = &component.image_pull_secret
            && !is_dns_subdomain(&secret.name)
        {
            problems.push(format!(
                "{at}.imagePullSecret.name: `{}` is not a Secret's name",
                secret.name
            ));
        }
        let local = component.local_resources.as_ref();
        match local.and_then(|l| l.allowed_hosts.as_ref()) {
            None => problems.push(format!(
                "{at}.localResources.allowedHosts: missing (write [] to deny all egress, \
                 explicitly)"
            )),
            Some(hosts) => {
                for host in hosts {
                    if host == "*" {
                        problems.push(format!(
                            "{at}.localResources.allowedHosts: `*` lets the function reach any \
                             host; name the hosts ([capabilities] outgoing-hosts)"
                        ));
                    } else if !is_allowed_host(host) {
                        problems.push(format!(
                            "{at}.localResources.allowedHosts: `{host}` is not a host the CRD \
                             takes ([scheme://][*.]host[:port])"
                        ));
                    }
                }
            }
        }
        for port in local
            .and_then(|l| l.allowed_host_loopback_ports.as_ref())
            .into_iter()
            .flatten()
        {
            let (number, protocol) = port.split_once('/').unwrap_or((port, "tcp"));
            let ok = (1..=5).contains(&number.len())
                && number.chars().all(|c| c.is_ascii_digit())
                && ["tcp", "udp", "TCP", "UDP"].contains(&protocol);
            if !ok {
                problems.push(format!(
                    "{at}.localResources.allowedHostLoopbackPorts: `{port}` is not PORT[/tcp|udp]"
                ));
            }
        }
        let environment = local.and_then(|l| l.environment.as_ref());
        for (field, names) in [
            (
                "configFrom",
                environment.and_then(|e| e.config_from.as_ref()),
            ),
            (
                "secretFrom",
                environment.and_then(|e| e.secret_from.as_ref()),
            ),
        ] {
            for (j, name) in names.into_iter().flatten().enumerate() {
                if !is_dns_subdomain(&name.name) {
                    problems.push(format!(
                        "{at}.localResources.environment.{field}[{j}].name: `{}` is not an \
                         object's name",
                        name.name
                    ));
                }
            }
        }
    }
    for (i, interface) in spec.host_interfaces.iter().flatten().enumerate() {
        let at = format!("spec.template.spec.hostInterfaces[{i}]");
        for (field, value, max) in [
            ("namespace", &interface.namespace, 128),
            ("package", &interface.package, 128),
        ] {
            if value.is_empty() {
                problems.push(format!("{at}.{field}: missing"));
            } else if value.len() > max {
                problems.push(format!("{at}.{field}: longer than {max}"));
            }
        }
        if interface.version.as_ref().is_some_and(|v| v.len() > 64) {
            problems.push(format!("{at}.version: longer than 64"));
        }
        if let Some(name) = &interface.name {
            let bytes = name.as_bytes();
            let ok = (1..=64).contains(&bytes.len())
                && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
            if !ok {
                problems.push(format!(
                    "{at}.name: `{name}` is not ^[a-z0-9][a-z0-9-]*$ (at most 64)"
                ));
            }
        }
        non_empty(
            Some(&interface.interfaces),
            &format!("{at}.interfaces"),
            problems,
        );
    }
}

const PEM: &str = "BEGIN PUBLIC KEY";

fn image_validating_policy(document: &schema::ImageValidatingPolicy, problems: &mut Vec<String>) {
    if !["policies.kyverno.io/v1", "policies.kyverno.io/v1alpha1"]
        .contains(&document.api_version.as_str())
    {
        problems.push(
            "apiVersion: expected policies.kyverno.io/v1 (Kyverno 1.17+) or v1alpha1 (1.14-1.16)"
                .into(),
        );
    }
    metadata(&document.metadata, false, problems);
    let spec = &document.spec;
    let rules = spec
        .match_constraints
        .as_ref()
        .and_then(|m| m.resource_rules.as_deref());
    if non_empty(rules, "spec.matchConstraints.resourceRules", problems)
        && !rules
            .into_iter()
            .flatten()
            .any(|r| r.resources.iter().any(|x| x == "workloaddeployments"))
    {
        problems
            .push("spec.matchConstraints.resourceRules: no rule for workloaddeployments".into());
    }
    non_empty(Some(&spec.attestors), "spec.attestors", problems);
    for (i, attestor) in spec.attestors.iter().enumerate() {
        let cosign = attestor.cosign.as_ref();
        if !cosign
            .and_then(|c| c.key.as_ref())
            .and_then(|k| k.data.as_deref())
            .is_some_and(|k| k.contains(PEM))
        {
            problems.push(format!(
                "spec.attestors[{i}].cosign.key.data: no PEM public key"
            ));
        }
        let ctlog = cosign.and_then(|c| c.ctlog.as_ref());
        if ctlog.and_then(|c| c.insecure_ignore_tlog) != Some(true) {
            problems.push(format!(
                "spec.attestors[{i}].cosign.ctlog.insecureIgnoreTlog: expected true: a key-pair \
                 signature has no transparency-log entry, so Kyverno would refuse every image"
            ));
        }
        if ctlog.and_then(|c| c.insecure_ignore_sct) != Some(true) {
            problems.push(format!(
                "spec.attestors[{i}].cosign.ctlog.insecureIgnoreSCT: expected true: a key-pair \
                 signature has no certificate timestamp"
            ));
        }
    }
    non_empty(Some(&spec.validations), "spec.validations", problems);
    if spec.validation_actions.as_deref() != Some(&[schema::ValidationAction::Deny]) {
        problems.push(
            "spec.validationActions: expected [Deny]: an unsigned image must be refused, not \
             reported"
                .into(),
        );
    }
}

fn cluster_policy(document: &schema::ClusterPolicy, problems: &mut Vec<String>) {
    if document.api_version != "kyverno.io/v1" {
        problems.push("apiVersion: expected kyverno.io/v1".into());
    }
    metadata(&document.metadata, false, problems);
    let spec = &document.spec;
    // A rule's own failureAction wins; the policy-wide one (deprecated) is the fallback, and
    // with neither Kyverno only reports (Audit).
    let enforced = |own: Option<&FailureAction>| match own {
        Some(action) => *action == FailureAction::Enforce,
        None => spec.validation_failure_action == Some(LegacyFailureAction::Enforce),
    };
    non_empty(Some(&spec.rules), "spec.rules", problems);
    let mut verifies = 0;
    for (i, rule) in spec.rules.iter().enumerate() {
        if rule.name.is_empty() || rule.name.len() > 63 {
            problems.push(format!("spec.rules[{i}].name: 1 to 63 characters"));
        }
        if let Some(validate) = &rule.validate
            && !enforced(validate.failure_action.as_ref())
        {
            problems.push(format!(
                "spec.rules[{i}].validate.failureAction: expected Enforce (else Kyverno only \
                 reports)"
            ));
        }
        for (j, verify) in rule.verify_images.iter().flatten().enumerate() {
            verifies += 1;
            let at = format!("spec.rules[{i}].verifyImages[{j}]");
            if verify.required == Some(false) {
                problems.push(format!("{at}.required: expected true"));
            }
            if !enforced(verify.failure_action.as_ref()) {
                problems.push(format!(
                    "{at}.failureAction: expected Enforce (else Kyverno only reports)"
                ));
            }
            let keys: Vec<&schema::StaticKeys> = verify
                .attestors
                .iter()
                .flatten()
                .flat_map(|a| a.entries.iter().flatten())
                .filter_map(|e| e.keys.as_ref())
                .collect();
            if !keys
                .iter()
                .any(|k| k.public_keys.as_deref().is_some_and(|k| k.contains(PEM)))
            {
                problems.push(format!("{at}.attestors: no PEM public key"));
            }
            if keys
                .iter()
                .any(|k| k.rekor.as_ref().and_then(|r| r.ignore_tlog) != Some(true))
            {
                problems.push(format!(
                    "{at}.attestors: keys.rekor.ignoreTlog: expected true: a key-pair signature \
                     has no transparency-log entry, so Kyverno would refuse every image"
                ));
            }
        }
    }
    if verifies == 0 {
        problems.push("spec.rules: no verifyImages: no signature would be checked".into());
    }
}

fn application(document: &schema::Application, problems: &mut Vec<String>) {
    if document.api_version != "core.oam.dev/v1beta1" {
        problems.push("apiVersion: expected core.oam.dev/v1beta1".into());
    }
    if document.kind != "Application" {
        problems.push("kind: expected Application".into());
    }
    if document.metadata.name.is_empty() {
        problems.push("metadata.name: missing".into());
    }
    let components = &document.spec.components;
    non_empty(Some(components), "spec.components", problems);
    let names: Vec<&str> = components.iter().map(|c| c.name.as_str()).collect();
    let mut functions = 0;
    for (i, component) in components.iter().enumerate() {
        let at = format!("spec.components[{i}]");
        let mut scaled = false;
        for (j, t) in component.traits.iter().flatten().enumerate() {
            let where_ = format!("{at}.traits[{j}].properties");
            match t.type_.as_str() {
                "link" => {
                    match serde_json::from_value::<schema::LinkProperty>(t.properties.clone()) {
                        Ok(link) if !names.contains(&link.target.name.as_str()) => {
                            problems.push(format!(
                                "{where_}.target.name: `{}` is no component of this manifest",
                                link.target.name
                            ))
                        }
                        Ok(_) => {}
                        Err(e) => problems.push(format!("{where_}: {e}")),
                    }
                }
                "spreadscaler" | "daemonscaler" => {
                    scaled = true;
                    if let Err(e) =
                        serde_json::from_value::<schema::SpreadScalerProperty>(t.properties.clone())
                    {
                        problems.push(format!("{where_}: {e}"));
                    }
                }
                _ => {}
            }
        }
        if component.type_ == schema::OamKind::Component {
            functions += 1;
            image(
                component.properties.image.as_deref(),
                &format!("{at}.properties.image"),
                problems,
            );
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
metadata: { name: hello, namespace: Orders_Team, labels: { app.kubernetes.io/version: 1.0.0+build } }
spec:
  template:
    spec:
      components:
        - name: hello
          image: registry.example.com/team/hello:0.1.0
          localResources: { allowedHosts: ["*", "api.example.com:443", "https://*.example.com/", "api example"] }
        - name: other
          image: registry.example.com/team/other@sha256:abc
      hostInterfaces:
        - { namespace: wasi, package: "", interfaces: [] }
"#;
        let problems = check_text(text).unwrap_err();
        let joined = problems.join("\n");
        for expected in [
            "components[0].image: `registry.example.com/team/hello:0.1.0` is not pinned by digest",
            "components[0].localResources.allowedHosts: `*` lets the function reach any host",
            "components[0].localResources.allowedHosts: `api example` is not a host the CRD takes",
            "components[1].image: `registry.example.com/team/other@sha256:abc` is not pinned",
            "components[1].localResources.allowedHosts: missing",
            "hostInterfaces[0].package: missing",
            "hostInterfaces[0].interfaces: missing or empty",
            "metadata.namespace: `Orders_Team` is not an RFC 1123 label",
            "metadata.labels.app.kubernetes.io/version: `1.0.0+build` is not a label value",
        ] {
            assert!(joined.contains(expected), "{expected}:\n{joined}");
        }
        // The CRD's host patterns are taken as they are.
        assert_eq!(problems.len(), 9, "{joined}");
        assert!(
            check_text("kind: Pod\nmetadata: {name: x}\n").unwrap_err()[0]
                .contains("not one faas deploy writes")
        );
    }

    const WORKLOAD: &str = r#"
apiVersion: runtime.wasmcloud.dev/v1alpha1
kind: WorkloadDeployment
metadata: { name: hello, namespace: orders }
spec:
  replicas: 2
  template:
    spec:
      components:
        - name: hello
          image: registry.example.com/team/hello@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
          poolSize: 4
          localResources: { allowedHosts: [] }
      hostInterfaces:
        - { namespace: wasi, package: http, version: 0.2.0, interfaces: [incoming-handler] }
"#;

    #[test]
    fn fields_the_api_server_would_refuse_are_refused_with_their_path() {
        assert_eq!(check_text(WORKLOAD).unwrap(), "WorkloadDeployment");
        for (edit, expected) in [
            (
                ("  replicas: 2", "  replicaz: 2"),
                "spec: unknown field `replicaz`",
            ),
            (
                ("  replicas: 2", "  replicas: three"),
                "spec.replicas: invalid type: string",
            ),
            (
                ("poolSize: 4", "poolSize: -1"),
                "poolSize: -1 is out of range",
            ),
            (("poolSize: 4", "poolSize: 3000000000"), "is out of range"),
            (
                ("poolSize: 4", "imagePullSecret: registry-credentials"),
                "imagePullSecret: invalid type: string",
            ),
            (
                ("version: 0.2.0, ", "versoin: 0.2.0, "),
                "hostInterfaces[0]: unknown field `versoin`",
            ),
            (
                ("namespace: orders }", "namespace: orders, uid: x }"),
                "metadata: unknown field `uid`",
            ),
            (
                ("name: hello, namespace", "name: Hello, namespace"),
                "DNS-1123 subdomain",
            ),
            (
                (
                    "      hostInterfaces:",
                    "      hostSelector: { matchLabels: { zone: a } }\n      hostInterfaces:",
                ),
                "hostSelector.matchLabels: invalid type: map, expected a string",
            ),
        ] {
            let text = WORKLOAD.replace(edit.0, edit.1);
            assert_ne!(text, WORKLOAD, "{edit:?}");
            let problems = check_text(&text).unwrap_err().join("\n");
            assert!(problems.contains(expected), "{expected}:\n{problems}");
        }
    }

    #[test]
    fn admission_policies_that_only_report_or_ask_for_a_log_are_refused() {
        let classic = r#"
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: { name: hello-signed }
spec:
  rules:
    - name: components-signed
      match: { any: [{ resources: { kinds: [runtime.wasmcloud.dev/v1alpha1/WorkloadDeployment] } }] }
      verifyImages:
        - imageReferences: [registry.example.com/team/hello@*]
          attestors: [{ entries: [{ keys: { publicKeys: "-----BEGIN PUBLIC KEY-----", rekor: { ignoreTlog: true } } }] }]
"#;
        let problems = check_text(classic).unwrap_err().join("\n");
        assert!(
            problems.contains("verifyImages[0].failureAction: expected Enforce"),
            "{problems}"
        );
        // The deprecated policy-wide action still counts, as Kyverno reads it.
        let legacy = classic.replace("spec:\n", "spec:\n  validationFailureAction: Enforce\n");
        assert_eq!(check_text(&legacy).unwrap(), "ClusterPolicy");
        let logged = legacy.replace("ignoreTlog: true", "ignoreTlog: false");
        assert!(check_text(&logged).unwrap_err()[0].contains("ignoreTlog: expected true"));
        let typo = legacy.replace(
            "validationFailureAction: Enforce",
            "validationFailureAction: Block",
        );
        assert!(check_text(&typo).unwrap_err()[0].contains("unknown variant `Block`"));
        let namespaced =
            legacy.replace("name: hello-signed }", "name: hello-signed, namespace: x }");
        assert!(check_text(&namespaced).unwrap_err()[0].contains("cluster-scoped"));
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
