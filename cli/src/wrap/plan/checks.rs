//! What a plan checks before it composes: secrets the host can supply, a component's outgoing
//! client, the triggers the policy covers, and rules that let something through.

use super::*;

/// `wasmcloud:secrets@2.1.0`'s functions are async: only the P3 HTTP adapter's task can wait for
/// them (the secrets layer fetches them before the function runs), so a policy granting
/// `{ secret = … }` credentials needs a WASI 0.3 target, HTTP as its only trigger, and a function
/// of the contract to read them.
pub(super) fn check_secrets(
    policy: &CompiledPolicy,
    shape: Shape,
    host: Host,
) -> Result<(), WrapError> {
    if !policy.policy.reads_secrets() {
        return Ok(());
    }
    let path = policy.path.display();
    let problem = match shape {
        Shape::HttpComponent => Some(format!(
            "{path} grants [credentials] from wasmcloud:secrets ({{ secret = … }}), which reach a \
             function through faas:function/credentials; an HTTP component has no such import"
        )),
        _ if !host.http_p3 => Some(format!(
            "{path} grants [credentials] from wasmcloud:secrets ({{ secret = … }}), whose \
             functions (wasmcloud:secrets@2.1.0) are async: only a WASI 0.3 artifact can read them; \
             wrap with --target wasmcloud@0.3, or use {{ config = \"KEY\" }}"
        )),
        Shape::Function(triggers) if triggers.iter().any(|t| *t != Trigger::Http) => Some(format!(
            "{path} grants [credentials] from wasmcloud:secrets ({{ secret = … }}), which are \
             fetched for HTTP requests only (by the WASI 0.3 HTTP adapter); drop the other \
             triggers, or use {{ config = \"KEY\" }}"
        )),
        Shape::Function(_) => None,
    };
    match problem {
        Some(message) => Err(compose_err("the credentials", message)),
        None => Ok(()),
    }
}

/// A WASI 0.3 HTTP component's own outgoing HTTP (`wasi:http/client`) reaches the host directly,
/// which lets through every host of the artifact's grants: with a `jwks-uri` whose host the
/// policy's `outgoing-hosts` do not name, the component would reach the identity provider, which
/// is the verifier's grant alone. (The outgoing guard stands in front of WASI 0.2's
/// `outgoing-handler` only.) Refused rather than widened.
pub(super) fn check_component_client(
    policy: &CompiledPolicy,
    component: &PlannedLayer,
) -> Result<(), WrapError> {
    let Some(remote) = policy
        .policy
        .jwt
        .as_ref()
        .and_then(|j| j.remote_jwks.as_ref())
    else {
        return Ok(());
    };
    let Some(client) = component
        .host_imports
        .iter()
        .flatten()
        .find(|i| i.starts_with("wasi:http/client@"))
    else {
        return Ok(());
    };
    let (https, authority) = crate::capabilities::split_jwks_uri(&remote.uri)
        .map(|(https, authority, _)| (https, authority))
        .unwrap_or_default();
    let default_port = if https { 443 } else { 80 };
    if crate::capabilities::host_granted(
        &policy.capabilities.outgoing_hosts,
        authority,
        default_port,
    ) {
        return Ok(());
    }
    Err(compose_err(
        "the HTTP component",
        format!(
            "it imports {client}, which reaches every host of the artifact's grants, and {} \
             fetches keys from {authority} (`jwks-uri`), the verifier's grant alone: name that \
             host in [capabilities] outgoing-hosts if the component may reach it, or use inline \
             [[auth.jwt.jwk]] keys",
            policy.path.display()
        ),
    ))
}

/// A trigger the policy lets nothing through would make an artifact that answers every call with a
/// refusal: that is a mistake in the policy or the trigger list, said now.
pub(super) fn check_triggers(
    policy: &CompiledPolicy,
    triggers: &[Trigger],
) -> Result<(), WrapError> {
    if triggers.is_empty() {
        return Err(compose_err(
            "the artifact",
            "no trigger: faas.toml must list at least one",
        ));
    }
    if triggers.contains(&Trigger::Messaging) && policy.policy.messaging.is_none() {
        return Err(compose_err(
            "the messaging adapter",
            format!(
                "the messaging trigger is on, but {} has no [messaging] table, so no message \
                 could ever reach the function; add [messaging] subjects = [...] or drop the trigger",
                policy.path.display()
            ),
        ));
    }
    if let Some(trigger) = triggers
        .iter()
        .find(|t| matches!(t, Trigger::Http | Trigger::Cli))
    {
        let before = format!("the {} trigger is on, but ", trigger.name());
        let why = "so every request would be refused; add rules or drop the trigger";
        require_rules(policy, &before, why)?;
    }
    Ok(())
}

/// A policy without `[[rule]]` refuses every request and call: refused at wrap time, saying so
/// (`before` the policy's name, `why` after "has no [[rule]],").
pub(super) fn require_rules(
    policy: &CompiledPolicy,
    before: &str,
    why: &str,
) -> Result<(), WrapError> {
    if !policy.policy.rules.is_empty() {
        return Ok(());
    }
    Err(compose_err(
        "the artifact",
        format!("{before}{} has no [[rule]], {why}", policy.path.display()),
    ))
}
