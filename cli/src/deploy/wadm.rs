//! `wadm.yaml`: the application manifest for wasmCloud 1.x (wadm), with the capability providers
//! it links.

use super::*;

/// The wasmCloud HTTP server capability provider wadm links (1.x).
pub(super) const HTTP_PROVIDER: &str = "ghcr.io/wasmcloud/http-server:0.27.0";
/// The wasmCloud NATS messaging capability provider wadm links (1.x).
pub(super) const MESSAGING_PROVIDER: &str = "ghcr.io/wasmcloud/messaging-nats:0.27.0";
/// The wasmCloud HTTP client capability provider wadm links (1.x).
pub(super) const HTTP_CLIENT_PROVIDER: &str = "ghcr.io/wasmcloud/http-client:0.13.1";

/// The wasmCloud 1.x wadm `Application`: the component by digest, scaled by a spread scaler,
/// linked from the HTTP server provider (and to and from the NATS provider for messaging).
///
/// Where wasmCloud 1.x cannot carry what the policy says, no manifest is written
/// ([`DeployError::Wadm`]): a WASI 0.3 artifact (no 1.x host runs one), outgoing HTTP (the 1.x
/// HTTP client provider has no egress allow-list) unless `[deploy] wadm-accept` names
/// `unrestricted-egress`, and credentials with no configuration named to hold them.
pub fn wadm_application(inputs: &Inputs<'_>) -> Result<Value, DeployError> {
    host_interfaces(inputs)?;
    let settings = inputs.settings;
    if let Some(p3) = inputs.imports.iter().chain(inputs.exports).find(|i| {
        (i.starts_with("wasi:") && i.contains("@0.3."))
            || i.starts_with("wasmcloud:messaging/") && i.ends_with("@0.3.0")
    }) {
        return Err(DeployError::Wadm(format!(
            "the artifact is WASI 0.3 ({p3}: async functions), which no wasmCloud 1.x host runs: \
             deploy it on wasmCloud 2.x (--emit wasmcloud), or wrap it for a WASI 0.2 target"
        )));
    }
    let egress = inputs.imports_of("wasi:http/outgoing-handler");
    if egress
        && !settings
            .wadm_accept
            .contains(&WadmAccept::UnrestrictedEgress)
    {
        return Err(DeployError::Wadm(format!(
            "the policy lets the function call {} only, and wasmCloud 1.x's HTTP client provider \
             has no allow-list: it would reach any host. Deploy on wasmCloud 2.x (--emit \
             wasmcloud), or accept it by name: [deploy] wadm-accept = [\"unrestricted-egress\"]",
            match inputs.note.grants.outgoing_hosts.as_slice() {
                [] => "no host".to_string(),
                hosts => hosts.join(", "),
            }
        )));
    }
    let mut function = json!({
        "name": inputs.name,
        "type": "component",
        "properties": { "image": inputs.image() },
        "traits": [{
            "type": "spreadscaler",
            "properties": { "instances": settings.replicas.unwrap_or(1) },
        }],
    });
    // The policy's credentials are configuration keys the function reads through wasi:config:
    // on 1.x, named configuration (`wash config put NAME KEY=VALUE`), managed outside the
    // manifest, so no value is written here.
    let keys = &inputs.note.grants.config_keys;
    let named: Vec<&String> = settings
        .config_from
        .iter()
        .chain(&settings.secret_from)
        .collect();
    if !keys.is_empty() && named.is_empty() {
        return Err(DeployError::Wadm(format!(
            "the policy reads the configuration keys {}, and [deploy] names no configuration to \
             hold them: name it with config-from (on wasmCloud 1.x, the named configuration `wash \
             config put` writes)",
            keys.join(", ")
        )));
    }
    if !keys.is_empty() {
        function["properties"]["config"] =
            Value::Array(named.iter().map(|name| json!({ "name": name })).collect());
    }
    let mut components = vec![function];
    if egress {
        components.push(json!({
            "name": "httpclient",
            "type": "capability",
            "properties": {
                "image": settings.http_client_provider.as_deref().unwrap_or(HTTP_CLIENT_PROVIDER),
            },
        }));
        push_trait(
            &mut components[0],
            json!({
                "type": "link",
                "properties": {
                    "target": { "name": "httpclient" },
                    "namespace": "wasi",
                    "package": "http",
                    "interfaces": ["outgoing-handler"],
                },
            }),
        );
    }
    if inputs.exports_of("wasi:http/incoming-handler") {
        let address = settings.http_address.as_deref().unwrap_or("0.0.0.0:8080");
        components.push(json!({
            "name": "httpserver",
            "type": "capability",
            "properties": { "image": settings.http_provider.as_deref().unwrap_or(HTTP_PROVIDER) },
            "traits": [{
                "type": "link",
                "properties": {
                    "target": { "name": inputs.name },
                    "namespace": "wasi",
                    "package": "http",
                    "interfaces": ["incoming-handler"],
                    "source": { "config": [{
                        "name": format!("{}-http", inputs.name),
                        "properties": { "address": address },
                    }]},
                },
            }],
        }));
    }
    // A dependency the platform links: a component of its own, and a link from the function to
    // each of its interfaces the function imports.
    for linked in inputs.linked {
        let name = &linked.name;
        components.push(json!({
            "name": name,
            "type": "component",
            "properties": { "image": linked.image },
            "traits": [{
                "type": "spreadscaler",
                "properties": { "instances": settings.replicas.unwrap_or(1) },
            }],
        }));
        let imports = inputs
            .note
            .platform_links
            .get(name)
            .cloned()
            .unwrap_or_default();
        let mut by_package: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for import in &imports {
            let name = interface_name(import);
            if let Some((package, interface)) = name.split_once('/')
                && let Some((namespace, package)) = package.split_once(':')
            {
                by_package
                    .entry((namespace.to_string(), package.to_string()))
                    .or_default()
                    .push(interface.to_string());
            }
        }
        for ((namespace, package), interfaces) in by_package {
            push_trait(
                &mut components[0],
                json!({
                    "type": "link",
                    "properties": {
                        "target": { "name": name },
                        "namespace": namespace,
                        "package": package,
                        "interfaces": interfaces,
                    },
                }),
            );
        }
    }
    let subjects = &inputs.note.grants.messaging_subjects;
    if inputs.exports_of("wasmcloud:messaging/handler") {
        components.push(json!({
            "name": "nats",
            "type": "capability",
            "properties": {
                "image": settings.messaging_provider.as_deref().unwrap_or(MESSAGING_PROVIDER),
            },
            "traits": [{
                "type": "link",
                "properties": {
                    "target": { "name": inputs.name },
                    "namespace": "wasmcloud",
                    "package": "messaging",
                    "interfaces": ["handler"],
                    "source": { "config": [{
                        "name": format!("{}-subscriptions", inputs.name),
                        "properties": { "subscriptions": subjects.join(",") },
                    }]},
                },
            }],
        }));
        if inputs.imports_of("wasmcloud:messaging/consumer") {
            push_trait(
                &mut components[0],
                json!({
                    "type": "link",
                    "properties": {
                        "target": { "name": "nats" },
                        "namespace": "wasmcloud",
                        "package": "messaging",
                        "interfaces": ["consumer"],
                    },
                }),
            );
        }
    }
    Ok(json!({
        "apiVersion": "core.oam.dev/v1beta1",
        "kind": "Application",
        "metadata": {
            "name": inputs.name,
            "annotations": {
                "version": format!("v{}", inputs.version),
                "description": format!("{} (faas), {}", inputs.name, inputs.note.policy_summary),
            },
        },
        "spec": { "components": components },
    }))
}

/// Adds a trait to a wadm component.
pub(super) fn push_trait(component: &mut Value, value: Value) {
    component["traits"]
        .as_array_mut()
        .expect("every component is written with traits")
        .push(value);
}
