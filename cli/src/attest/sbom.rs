//! The SBOM of an artifact: a CycloneDX 1.6 document with one component per layer, each holding
//! the packages that layer was built from, so that "what is inside" is answered per owner (the
//! developer's function, faas's decorator and adapters, the platform's policy).

use super::Subject;
use crate::artifact::Package;
use serde_json::{Value, json};

/// The in-toto predicate type of a CycloneDX SBOM.
pub const PREDICATE_TYPE: &str = "https://cyclonedx.org/bom";

/// The property naming the faas layer a component is.
pub const LAYER_PROPERTY: &str = "dev.faas:layer";

/// The CycloneDX document for `subject`.
pub fn document(subject: &Subject<'_>) -> Value {
    let mut layers = Vec::new();
    let mut dependencies = Vec::new();
    for layer in subject
        .note
        .map(|n| n.layers.as_slice())
        .unwrap_or_default()
    {
        let layer_ref = format!("layer:{}", layer.layer);
        let built_from = subject.note.and_then(|n| n.built_from.get(&layer.layer));
        let packages: Vec<Value> = built_from
            .map(|b| b.packages.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|package| package_component(&layer_ref, package))
            .collect();
        let mut properties = vec![json!({ "name": LAYER_PROPERTY, "value": layer.layer })];
        if let Some(toolchain) = built_from.and_then(|b| b.toolchain.as_ref()) {
            properties.push(json!({ "name": "dev.faas:toolchain", "value": toolchain }));
        }
        if layer.layer == "policy" {
            let document = subject.note.map(|n| n.policy_document.as_str());
            properties.push(json!({ "name": "dev.faas:policy-document", "value": document }));
        }
        dependencies.push(json!({
            "ref": layer_ref,
            "dependsOn": packages.iter().map(|p| p["bom-ref"].clone()).collect::<Vec<_>>(),
        }));
        let mut component = json!({
            "type": "library",
            "bom-ref": layer_ref,
            "name": layer.layer,
            "hashes": [sha256_hash(&layer.digest)],
            "properties": properties,
        });
        if !packages.is_empty() {
            component["components"] = Value::Array(packages);
        }
        layers.push(component);
    }
    dependencies.insert(
        0,
        json!({
            "ref": "artifact",
            "dependsOn": layers.iter().map(|l| l["bom-ref"].clone()).collect::<Vec<_>>(),
        }),
    );
    let mut artifact = json!({
        "type": "application",
        "bom-ref": "artifact",
        "name": subject.title,
        "hashes": [sha256_hash(subject.component_digest)],
    });
    if let Some(version) = subject.version {
        artifact["version"] = json!(version);
    }
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": serial_number(subject.manifest_digest),
        "version": 1,
        "metadata": {
            "timestamp": subject.created,
            "tools": { "components": [{
                "type": "application",
                "name": "faas",
                "version": env!("CARGO_PKG_VERSION"),
            }]},
            "component": artifact,
        },
        "components": layers,
        "dependencies": dependencies,
    })
}

fn package_component(layer_ref: &str, package: &Package) -> Value {
    let id = package
        .purl
        .clone()
        .unwrap_or_else(|| format!("{}@{}", package.name, package.version));
    let mut component = json!({
        "type": "library",
        "bom-ref": format!("{layer_ref}/{id}"),
        "name": package.name,
        "version": package.version,
    });
    if let Some(purl) = &package.purl {
        component["purl"] = json!(purl);
    }
    if let Some(license) = &package.license {
        component["licenses"] = json!([{ "expression": license }]);
    }
    component
}

fn sha256_hash(digest: &str) -> Value {
    json!({ "alg": "SHA-256", "content": digest.trim_start_matches("sha256:") })
}

/// A UUID (version 5 layout) derived from the manifest digest: the same artifact always gets the
/// same serial number, so the SBOM is reproducible.
fn serial_number(manifest_digest: &str) -> String {
    let hash = crate::digest::sha256(format!("faas sbom {manifest_digest}").as_bytes());
    let hex = hash.trim_start_matches("sha256:");
    let variant = ["8", "9", "a", "b"][usize::from_str_radix(&hex[16..17], 16).unwrap_or(0) % 4];
    format!(
        "urn:uuid:{}-{}-5{}-{variant}{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

/// The layers an SBOM names, with their digests (`sha256:…`).
pub fn layer_digests(document: &Value) -> Vec<(String, String)> {
    document["components"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|component| {
            let layer = component["properties"]
                .as_array()?
                .iter()
                .find(|p| p["name"] == LAYER_PROPERTY)?["value"]
                .as_str()?;
            let hash = component["hashes"]
                .as_array()?
                .iter()
                .find(|h| h["alg"] == "SHA-256")?["content"]
                .as_str()?;
            Some((layer.to_string(), format!("sha256:{hash}")))
        })
        .collect()
}

/// What an SBOM says a layer holds: its toolchain and its packages as `name@version`.
pub fn layer_contents(document: &Value, layer: &str) -> (Option<String>, Vec<String>) {
    let Some(component) = document["components"].as_array().and_then(|all| {
        all.iter().find(|c| {
            c["properties"].as_array().is_some_and(|p| {
                p.iter()
                    .any(|p| p["name"] == LAYER_PROPERTY && p["value"] == layer)
            })
        })
    }) else {
        return (None, Vec::new());
    };
    let toolchain = component["properties"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "dev.faas:toolchain"))
        .and_then(|p| p["value"].as_str())
        .map(str::to_string);
    let packages = component["components"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            Some(format!(
                "{}@{}",
                p["name"].as_str()?,
                p["version"].as_str()?
            ))
        })
        .collect();
    (toolchain, packages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_numbers_are_uuids_fixed_by_the_digest() {
        let a = serial_number("sha256:00");
        assert_eq!(a, serial_number("sha256:00"));
        assert_ne!(a, serial_number("sha256:01"));
        let uuid = a.strip_prefix("urn:uuid:").unwrap();
        let groups: Vec<&str> = uuid.split('-').collect();
        assert_eq!(
            groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(groups[2].starts_with('5'));
        assert!("89ab".contains(&groups[3][..1]));
    }
}
