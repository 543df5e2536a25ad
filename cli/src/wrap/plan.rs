//! The composition plan: which layers an artifact has, and which import of which layer each
//! export satisfies. Planning is pure (bytes in, a [`Plan`] out) and decides everything: the checks
//! of the function and the triggers, what the policy allows, which optional layers and imports
//! arise, and the deny layers that satisfy what must not reach the host. [`super::encode`]
//! then turns a plan into a component, and is the only code that touches wac-graph.
//!
//! Layers are listed in the order they are instantiated. Some exist for another layer (its
//! `owner`): a deny layer for the layer whose imports it satisfies, the credentials
//! provider for the function, the verifier layer for the decorator. A layer and those it owns, and theirs,
//! are its *group*; groups are contiguous in the list.

use super::WrapError;
use crate::capabilities::Verdict;
use crate::component::{self, Inspection};
use crate::contract;
use crate::generate;
use crate::guests::{self, Guest, Need};
use crate::policy::{Capabilities, CompiledPolicy};
use crate::project::{Language, Trigger};
use std::borrow::Cow;
use std::path::PathBuf;

/// What a layer is; its display is the layer's name in reports and in the layers note.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerKind {
    /// The user's function.
    Function,
    /// The compiled policy document (generated).
    Policy,
    /// The security decorator.
    Decorator,
    /// JWTs, webhook signatures and rate limits, for policies with `[auth.jwt]`, `[auth.hmac]`
    /// or `[[limit]]`.
    Verifier,
    /// The credentials provider.
    Credentials,
    /// The configuration bridge, for hosts with `wasi:config/runtime@0.2.0-draft` only.
    ConfigBridge,
    /// The key-value guard, between the layers granted `wasi:keyvalue` and the host's store.
    KeyValueGuard,
    /// The outgoing guard, between the layers granted outgoing HTTP and the host.
    OutgoingGuard,
    /// The hosts the outgoing guard lets requests reach (generated from `outgoing-hosts`).
    OutgoingHosts,
    /// The secrets layer, for the credentials provider and the P3 HTTP adapter.
    Secrets,
    /// The platform adapter of a trigger.
    Adapter(Trigger),
    /// The policy as a `wasi:http@0.3` middleware, in front of an HTTP component
    /// (`--http-component`, whose component is then the function layer).
    Middleware,
    /// A component the function depends on (`faas deps`), by its name in faas.toml (leaked once
    /// per name and process, so that kinds stay `Copy`).
    Dependency(&'static str),
    /// The function gate in front of a faas function the function depends on.
    Gate(&'static str),
    /// The generated name of the calling function, for that gate.
    CallerName(&'static str),
    /// A generated deny layer for the layer of this kind (for our own layers, it also answers
    /// `wasi:random/insecure-seed` with a fixed seed).
    Deny(Owner),
}

/// The layers deny layers are made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// The decorator.
    Decorator,
    /// The verifier layer.
    Verifier,
    /// The credentials provider.
    Credentials,
    /// The configuration bridge.
    ConfigBridge,
    /// The key-value guard.
    KeyValueGuard,
    /// The outgoing guard.
    OutgoingGuard,
    /// The secrets layer.
    Secrets,
    /// An adapter.
    Adapter(Trigger),
    /// The HTTP middleware.
    Middleware,
    /// A dependency.
    Dependency(&'static str),
    /// A function gate.
    Gate(&'static str),
}

impl Owner {
    fn kind(self) -> LayerKind {
        match self {
            Owner::Decorator => LayerKind::Decorator,
            Owner::Verifier => LayerKind::Verifier,
            Owner::Credentials => LayerKind::Credentials,
            Owner::ConfigBridge => LayerKind::ConfigBridge,
            Owner::KeyValueGuard => LayerKind::KeyValueGuard,
            Owner::OutgoingGuard => LayerKind::OutgoingGuard,
            Owner::Secrets => LayerKind::Secrets,
            Owner::Adapter(trigger) => LayerKind::Adapter(trigger),
            Owner::Middleware => LayerKind::Middleware,
            Owner::Dependency(name) => LayerKind::Dependency(name),
            Owner::Gate(name) => LayerKind::Gate(name),
        }
    }
}

impl std::fmt::Display for LayerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LayerKind::Function => f.write_str("function"),
            LayerKind::Policy => f.write_str("policy"),
            LayerKind::Decorator => f.write_str("decorator"),
            LayerKind::Verifier => f.write_str("verifier"),
            LayerKind::Credentials => f.write_str("credentials"),
            LayerKind::ConfigBridge => f.write_str("config-bridge"),
            LayerKind::KeyValueGuard => f.write_str("keyvalue-guard"),
            LayerKind::OutgoingGuard => f.write_str("outgoing-guard"),
            LayerKind::OutgoingHosts => f.write_str("outgoing-hosts"),
            LayerKind::Secrets => f.write_str("secrets"),
            LayerKind::Adapter(trigger) => write!(f, "{}-adapter", trigger.name()),
            LayerKind::Middleware => f.write_str("http-middleware"),
            LayerKind::Dependency(name) => write!(f, "dependency-{name}"),
            LayerKind::Gate(name) => write!(f, "dependency-{name}-gate"),
            LayerKind::CallerName(name) => write!(f, "dependency-{name}-caller"),
            LayerKind::Deny(owner) => write!(f, "{}-deny", owner.kind()),
        }
    }
}

impl LayerKind {
    /// Whether faas generated this layer for this artifact (rather than embedding or adopting it).
    pub fn is_generated(self) -> bool {
        matches!(
            self,
            LayerKind::Policy
                | LayerKind::Deny(_)
                | LayerKind::CallerName(_)
                | LayerKind::OutgoingHosts
        )
    }

    /// The name of its package in the composition graph.
    pub fn package_name(self) -> String {
        match self {
            LayerKind::Function => "faas:function-impl".to_string(),
            other => format!("faas:{other}"),
        }
    }

    /// Where reports list it: the function, the policy, the decorator, the adapters, the optional
    /// layers, then the generated deny layers (each group in plan order).
    fn report_rank(self) -> u8 {
        match self {
            LayerKind::Function => 0,
            LayerKind::Dependency(_) | LayerKind::Gate(_) | LayerKind::CallerName(_) => 1,
            LayerKind::Policy => 2,
            LayerKind::Decorator | LayerKind::Middleware => 3,
            LayerKind::Adapter(_) => 4,
            LayerKind::Verifier => 5,
            LayerKind::Credentials | LayerKind::Secrets => 6,
            LayerKind::ConfigBridge
            | LayerKind::KeyValueGuard
            | LayerKind::OutgoingGuard
            | LayerKind::OutgoingHosts => 7,
            LayerKind::Deny(_) => 8,
        }
    }
}

/// One layer of the plan.
pub struct PlannedLayer {
    /// What it is.
    pub kind: LayerKind,
    /// Its component.
    pub bytes: Cow<'static, [u8]>,
    /// The layer it exists for (by index), if any.
    pub owner: Option<usize>,
    /// The imports it leaves for the host, for the layers note; `None` for generated layers.
    pub host_imports: Option<Vec<String>>,
    /// The digest and size of the component as it was given, when `bytes` renames its imports
    /// (a function built against an older WASI 0.2 release): what the layers note reports, so
    /// that it names the function `faas build` made.
    pub as_given: Option<(String, u64)>,
    /// What it was built from, when that is known (faas's guests; a function `faas build` made).
    pub built_from: Option<crate::artifact::BuiltFrom>,
}

/// `consumer`'s import `import` is satisfied by `provider`'s export `export`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wire {
    /// The importing layer (index).
    pub consumer: usize,
    /// The import's name.
    pub import: String,
    /// The exporting layer (index).
    pub provider: usize,
    /// The export's name.
    pub export: String,
}

/// A composition plan.
pub struct Plan {
    /// The layers, in instantiation order.
    pub layers: Vec<PlannedLayer>,
    /// The wires, in the order they are made.
    pub wires: Vec<Wire>,
    /// The artifact's exports: (layer, export name).
    pub exports: Vec<(usize, String)>,
    /// The function's imports left for the platform to link to a dependency (`link =
    /// "platform"`), by the dependency's name.
    pub platform_links: Vec<(String, String)>,
}

impl Plan {
    /// The layers' indexes in report order.
    pub fn report_order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.layers.len()).collect();
        order.sort_by_key(|&i| self.layers[i].kind.report_rank());
        order
    }

    /// The last index of `layer`'s group: itself and the layers it owns, and theirs.
    pub fn group_end(&self, layer: usize) -> usize {
        let mut end = layer;
        for (i, candidate) in self.layers.iter().enumerate().skip(layer + 1) {
            let mut owner = candidate.owner;
            while let Some(o) = owner {
                if o == layer {
                    end = i;
                    break;
                }
                owner = self.layers[o].owner;
            }
        }
        end
    }

    /// The plan as text, one line per layer, wire and export (the golden tests compare this).
    pub fn describe(&self) -> String {
        let mut text = String::new();
        let name = |i: usize| self.layers[i].kind.to_string();
        for layer in &self.layers {
            text.push_str(&format!("layer {}", layer.kind));
            if let Some(owner) = layer.owner {
                text.push_str(&format!(" (for {})", name(owner)));
            }
            text.push('\n');
            if let Some(host) = &layer.host_imports {
                for import in host {
                    text.push_str(&format!("  host {import}\n"));
                }
            }
        }
        for wire in &self.wires {
            text.push_str(&format!(
                "wire {}.{} <- {}",
                name(wire.consumer),
                wire.import,
                name(wire.provider)
            ));
            if wire.export != wire.import {
                text.push_str(&format!(".{}", wire.export));
            }
            text.push('\n');
        }
        for (layer, export) in &self.exports {
            text.push_str(&format!("export {export} <- {}\n", name(*layer)));
        }
        text
    }

    fn push(&mut self, kind: LayerKind, bytes: Cow<'static, [u8]>, owner: Option<usize>) -> usize {
        self.layers.push(PlannedLayer {
            kind,
            bytes,
            owner,
            host_imports: None,
            as_given: None,
            // A generated layer holds no package: it is made by this faas from the policy.
            built_from: kind.is_generated().then(|| crate::artifact::BuiltFrom {
                toolchain: Some(format!(
                    "generated by faas {} from the policy",
                    env!("CARGO_PKG_VERSION")
                )),
                packages: Vec::new(),
            }),
        });
        self.layers.len() - 1
    }

    fn wire(&mut self, consumer: usize, import: &str, provider: usize, export: &str) {
        self.wires.push(Wire {
            consumer,
            import: import.to_string(),
            provider,
            export: export.to_string(),
        });
    }

    /// Adds the deny layer `denials` makes for `layer`, wired to it, and records what it leaves
    /// for the host.
    fn satisfy(&mut self, layer: usize, owner: Owner, denials: DenyLayers) {
        self.layers[layer].host_imports = Some(denials.host_imports);
        if let Some(bytes) = denials.component {
            let deny = self.push(LayerKind::Deny(owner), Cow::Owned(bytes), Some(layer));
            for interface in &denials.interfaces {
                self.wire(layer, interface, deny, interface);
            }
        }
    }
}

/// The run-time configuration interface the host supplies, which decides how the layers that
/// read configuration reach it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostConfig {
    /// `wasi:config/store@0.2.0-rc.1` (wasmCloud 2.x, wasmtime serve `-Sconfig`, faas serve).
    #[default]
    Store,
    /// Only `wasi:config/runtime@0.2.0-draft` (wash-runtime 0.1): a bridge layer serves the
    /// layers' `wasi:config/store` from it.
    RuntimeDraft,
}

/// What of the target host decides the layers: its run-time configuration interface, and whether
/// it calls the WASI 0.3 `wasi:http/handler` (then the HTTP adapter is the P3 one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Host {
    /// How configuration reaches the layers that read it.
    pub config: HostConfig,
    /// Whether HTTP arrives through `wasi:http/handler@0.3`.
    pub http_p3: bool,
    /// Whether messages arrive through the async `wasmcloud:messaging/handler@0.3.0`.
    pub messaging_p3: bool,
}

impl Host {
    /// The host of a target platform (the default host, without one).
    pub fn of(platform: Option<&crate::platform::Platform>) -> Host {
        let Some(platform) = platform else {
            return Host::default();
        };
        let supplies = |name: &str| platform.imports.iter().any(|i| i == name);
        Host {
            config: match supplies(guests::CONFIG_RUNTIME_DRAFT) && !supplies(guests::CONFIG_STORE)
            {
                true => HostConfig::RuntimeDraft,
                false => HostConfig::Store,
            },
            http_p3: platform.calls(guests::HTTP_HANDLER_P3),
            messaging_p3: platform.calls(guests::MESSAGING_HANDLER_P3),
        }
    }
}

/// Plans the artifact for `function` (written in `language`, which decides the imports its
/// toolchain adds) under `policy`, with one adapter per trigger. Pure: no file system access.
pub fn plan(
    function: &[u8],
    policy: &CompiledPolicy,
    triggers: &[Trigger],
    language: Language,
) -> Result<(Plan, Inspection), WrapError> {
    plan_for(function, policy, triggers, language, Host::default(), &[])
}

/// As [`plan`], for `host`, with the function's
/// `dependencies` (`faas deps`).
pub fn plan_for(
    function: &[u8],
    policy: &CompiledPolicy,
    triggers: &[Trigger],
    language: Language,
    host: Host,
    dependencies: &[crate::deps::Resolved],
) -> Result<(Plan, Inspection), WrapError> {
    check_triggers(policy, triggers)?;
    plan_layers(function, policy, triggers, language, host, dependencies)
}

/// The decorated function alone, exporting its decorator's `faas:function/handler` instead of
/// adapters: what a function that depends on this one composes (behind a function gate).
pub fn plan_decorated(
    function: &[u8],
    policy: &CompiledPolicy,
    language: Language,
) -> Result<(Plan, Inspection), WrapError> {
    require_rules(
        policy,
        "",
        "so every call from another function would be refused",
    )?;
    plan_layers(function, policy, &[], language, Host::default(), &[])
}

/// The policy in front of a WASI 0.3 HTTP component (`faas wrap --http-component`): the
/// component is the function layer, its `wasi:http/handler` import is the middleware's, and the
/// artifact exports the middleware's handler. The component's imports are checked under the
/// policy's allow-list as a function's are.
pub fn plan_http_component(
    component: &[u8],
    policy: &CompiledPolicy,
    host: Host,
) -> Result<(Plan, Inspection), WrapError> {
    require_rules(policy, "", "so every request would be refused; add rules")?;
    plan_shape(
        component,
        policy,
        Shape::HttpComponent,
        Language::Rust,
        host,
        &[],
    )
}

/// What the function layer is, and so what goes around it.
#[derive(Clone, Copy)]
enum Shape<'a> {
    /// A function of the contract: the decorator, then one adapter per trigger (none: the
    /// decorated handler is the export).
    Function(&'a [Trigger]),
    /// A WASI 0.3 HTTP component: the middleware.
    HttpComponent,
}

fn plan_layers(
    function: &[u8],
    policy: &CompiledPolicy,
    triggers: &[Trigger],
    language: Language,
    host: Host,
    dependencies: &[crate::deps::Resolved],
) -> Result<(Plan, Inspection), WrapError> {
    plan_shape(
        function,
        policy,
        Shape::Function(triggers),
        language,
        host,
        dependencies,
    )
}

fn plan_shape(
    function: &[u8],
    policy: &CompiledPolicy,
    shape: Shape,
    language: Language,
    host: Host,
    dependencies: &[crate::deps::Resolved],
) -> Result<(Plan, Inspection), WrapError> {
    let function_check = |source| WrapError::Function {
        path: PathBuf::new(),
        source,
    };
    let release = semver::Version::parse(guests::WASI_RELEASE).expect("a version");
    let renamed = component::with_wasi_release(function, &release);
    let inspected =
        component::inspect(renamed.as_deref().unwrap_or(function)).map_err(function_check)?;
    let handler_export = match shape {
        Shape::Function(_) => {
            inspected
                .check_function()
                .map_err(function_check)?
                .interface
        }
        Shape::HttpComponent => inspected.check_http_component().map_err(function_check)?,
    };
    let policy_name = contract::interface_name("policy");
    let seed: [u8; 16] = {
        use sha2::Digest;
        sha2::Sha256::digest(&policy.document)[..16]
            .try_into()
            .expect("16 bytes")
    };
    let remote_jwks = policy
        .policy
        .jwt
        .as_ref()
        .is_some_and(|jwt| jwt.remote_jwks.is_some());
    let needs = |need: Need| match need {
        Need::Verifier => {
            let p = &policy.policy;
            p.jwt.is_some() || p.hmac.is_some() || !p.limits.is_empty()
        }
        Need::RuntimeSecret => {
            let p = &policy.policy;
            p.hmac.is_some() || p.jwt.as_ref().is_some_and(|jwt| jwt.hs256_secret.is_some())
        }
        Need::KeyValue => !policy.policy.limits.is_empty() || remote_jwks,
        Need::OutgoingHttp => remote_jwks,
        Need::Credentials => policy
            .policy
            .credentials
            .iter()
            .any(|g| g.source == faas_policy_core::ValueSource::Config),
        Need::Secrets => policy.policy.reads_secrets(),
    };

    let mut plan = Plan {
        layers: Vec::new(),
        wires: Vec::new(),
        exports: Vec::new(),
        platform_links: Vec::new(),
    };
    let links = dependency::link(&inspected, dependencies, &policy.capabilities)?;
    // An HTTP component's requests and responses are the host's `wasi:http/types` resources,
    // shared with the middleware: that import is the component's nature, not a grant.
    let mut capabilities = Cow::Borrowed(&policy.capabilities);
    if let Shape::HttpComponent = shape {
        capabilities
            .to_mut()
            .allow
            .push("wasi:http/types".to_string());
    }
    let mut denials = DenyLayers::for_function(
        &inspected,
        &capabilities,
        language,
        &links.skipped(),
        &links.composed_imports(),
    )?;
    // A granted `wasi:config/store` is narrowed to the policy's [credentials] by the credentials
    // provider: the function never sees the host's store, which holds other layers' secrets.
    let config_import = denials.take_config_store()?;
    // The policy component also stands in for the function's denied imports: one generated layer
    // rather than two, so one instance and one memory fewer per request.
    let policy_component =
        generate::policy_component(&policy.document, &inspected, &denials.interfaces)
            .map_err(WrapError::PolicyComponent)?;
    let policy_layer = plan.push(LayerKind::Policy, Cow::Owned(policy_component), None);
    let function_layer = plan.push(
        LayerKind::Function,
        Cow::Owned(inspected.component.clone()),
        None,
    );
    plan.layers[function_layer].built_from = crate::packages::of_component(function);
    if renamed.is_some() {
        plan.layers[function_layer].as_given =
            Some((crate::digest::sha256(function), function.len() as u64));
    }
    for interface in &denials.interfaces {
        plan.wire(function_layer, interface, policy_layer, interface);
    }
    plan.layers[function_layer].host_imports = Some(denials.host_imports);
    plan.add_dependencies(function_layer, links)?;

    let credentials_import = inspected
        .imports
        .iter()
        .find(|i| i.starts_with("faas:function/credentials@"))
        .cloned();
    check_secrets(policy, shape, host)?;
    let mut secrets = None;
    if credentials_import.is_some() || config_import.is_some() {
        let provider = plan.add_guest(
            &guests::CREDENTIALS_GUEST,
            LayerKind::Credentials,
            Owner::Credentials,
            Some(function_layer),
            seed,
            &needs,
        )?;
        plan.wire(provider, &policy_name, policy_layer, &policy_name);
        for import in credentials_import.iter().chain(&config_import) {
            plan.wire(function_layer, import, provider, import);
        }
        if needs(Need::Secrets) {
            let layer = plan.add_guest(
                &guests::SECRETS_GUEST,
                LayerKind::Secrets,
                Owner::Secrets,
                Some(provider),
                seed,
                &needs,
            )?;
            plan.wire(layer, &policy_name, policy_layer, &policy_name);
            let values = guests::SECRET_VALUES;
            plan.wire(provider, values, layer, values);
            secrets = Some(layer);
        }
    }

    match shape {
        Shape::Function(triggers) => plan.decorate(
            function_layer,
            policy_layer,
            &handler_export,
            triggers,
            host,
            secrets,
            seed,
            &needs,
        )?,
        Shape::HttpComponent => {
            check_component_client(policy, &plan.layers[function_layer])?;
            let middleware = plan.add_guest(
                &guests::HTTP_MIDDLEWARE_GUEST,
                LayerKind::Middleware,
                Owner::Middleware,
                None,
                seed,
                &needs,
            )?;
            plan.add_verifier(middleware, policy_layer, seed, &needs)?;
            plan.wire(middleware, &policy_name, policy_layer, &policy_name);
            let import = guests::HTTP_HANDLER_P3;
            plan.wire(middleware, import, function_layer, &handler_export);
            if let Some(host) = &mut plan.layers[middleware].host_imports {
                host.retain(|i| i != import);
            }
            plan.exports.push((middleware, import.to_string()));
        }
    }
    plan.guard_keyvalue(seed)?;
    plan.guard_outgoing(&policy.capabilities.outgoing_hosts, seed)?;
    if host.config == HostConfig::RuntimeDraft {
        plan.bridge_config(seed)?;
    }
    Ok((plan, inspected))
}

impl Plan {
    /// The decorator in front of the function's handler (`handler_export`), and one adapter per
    /// trigger in front of the decorator (without triggers, for a function another one calls,
    /// the decorated handler is the export).
    #[allow(clippy::too_many_arguments)]
    fn decorate(
        &mut self,
        function_layer: usize,
        policy_layer: usize,
        handler_export: &str,
        triggers: &[Trigger],
        host: Host,
        secrets: Option<usize>,
        seed: [u8; 16],
        needs: &dyn Fn(Need) -> bool,
    ) -> Result<(), WrapError> {
        let handler_name = contract::handler_export_name();
        let policy_name = contract::interface_name("policy");
        // Without JWTs, signatures or limits, the decorator without the verifier import: no deny
        // layer stands in for it.
        let decorator_guest = match needs(Need::Verifier) {
            true => &guests::DECORATOR_GUEST,
            false => &guests::DECORATOR_WITHOUT_VERIFIER_GUEST,
        };
        let decorator = self.add_guest(
            decorator_guest,
            LayerKind::Decorator,
            Owner::Decorator,
            None,
            seed,
            needs,
        )?;
        self.add_verifier(decorator, policy_layer, seed, needs)?;
        self.wire(decorator, &policy_name, policy_layer, &policy_name);
        self.wire(decorator, &handler_name, function_layer, handler_export);
        if triggers.is_empty() {
            self.exports.push((decorator, handler_name.clone()));
        }
        // One adapter per trigger, each wired to the one decorator instance.
        for trigger in triggers {
            let guest = match secrets {
                Some(_) => &guests::HTTP_P3_SECRETS_GUEST,
                None => guests::adapter(*trigger, host.http_p3, host.messaging_p3),
            };
            let adapter = self.add_guest(
                guest,
                LayerKind::Adapter(*trigger),
                Owner::Adapter(*trigger),
                None,
                seed,
                needs,
            )?;
            self.wire(adapter, &handler_name, decorator, &handler_name);
            if let Some(secrets) = secrets {
                let prefetch = guests::SECRET_PREFETCH;
                self.wire(adapter, prefetch, secrets, prefetch);
            }
            if guest.inspection().imports.contains(&policy_name) {
                self.wire(adapter, &policy_name, policy_layer, &policy_name);
            }
            self.exports.push((adapter, guest.export.to_string()));
        }
        Ok(())
    }

    /// The verifier layer for `consumer` (the decorator or the middleware), when the policy
    /// needs one; without, the consumer imports none (the decorator) or its deny layer answers
    /// (the middleware).
    fn add_verifier(
        &mut self,
        consumer: usize,
        policy_layer: usize,
        seed: [u8; 16],
        needs: &dyn Fn(Need) -> bool,
    ) -> Result<(), WrapError> {
        if !needs(Need::Verifier) {
            return Ok(());
        }
        let policy_name = contract::interface_name("policy");
        let verifier = self.add_guest(
            &guests::VERIFIER_GUEST,
            LayerKind::Verifier,
            Owner::Verifier,
            Some(consumer),
            seed,
            needs,
        )?;
        self.wire(verifier, &policy_name, policy_layer, &policy_name);
        let interface = guests::VERIFIER_INTERFACE;
        self.wire(consumer, interface, verifier, interface);
        Ok(())
    }

    /// Serves the host's `wasi:config/store` to the layers that read it (the credentials
    /// provider, the verifier layer) through the configuration bridge, for a host that supplies only
    /// `wasi:config/runtime@0.2.0-draft`.
    fn bridge_config(&mut self, seed: [u8; 16]) -> Result<(), WrapError> {
        let readers: Vec<usize> = (0..self.layers.len())
            .filter(|&i| {
                self.layers[i]
                    .host_imports
                    .as_ref()
                    .is_some_and(|imports| imports.iter().any(|i| i == guests::CONFIG_STORE))
            })
            .collect();
        if readers.is_empty() {
            return Ok(());
        }
        let bridge = self.add_guest(
            &guests::CONFIG_BRIDGE_GUEST,
            LayerKind::ConfigBridge,
            Owner::ConfigBridge,
            None,
            seed,
            &|_| false,
        )?;
        for reader in readers {
            self.wire(reader, guests::CONFIG_STORE, bridge, guests::CONFIG_STORE);
            if let Some(imports) = &mut self.layers[reader].host_imports {
                imports.retain(|i| i != guests::CONFIG_STORE);
            }
        }
        Ok(())
    }

    /// Puts the key-value guard between the host's store and every layer granted `wasi:keyvalue`
    /// that faas did not write (the function, its dependencies): the verifier keeps its fetched
    /// keys and rate-limit counters in the same store, out of their reach. The guard serves the
    /// interfaces wasmCloud and faas serve supply (store and atomics, 0.2.0-draft); another
    /// key-value import would reach the store unguarded, so it is refused.
    fn guard_keyvalue(&mut self, seed: [u8; 16]) -> Result<(), WrapError> {
        let guarded = [guests::KEYVALUE_STORE, guests::KEYVALUE_ATOMICS];
        let mut users = Vec::new();
        for (index, layer) in self.layers.iter().enumerate() {
            if !self.guarded_kind(index) {
                continue;
            }
            let imports = layer.host_imports.iter().flatten();
            let keyvalue: Vec<&String> = imports
                .filter(|i| i.starts_with("wasi:keyvalue/"))
                .collect();
            if let Some(other) = keyvalue.iter().find(|i| !guarded.contains(&i.as_str())) {
                return Err(WrapError::Unsatisfied {
                    layer: if layer.kind == LayerKind::Function {
                        "function"
                    } else {
                        "dependency"
                    },
                    import: other.to_string(),
                    hint: ": faas gives a layer the host's key-value store through \
                           wasi:keyvalue/store and atomics@0.2.0-draft only, behind a guard that \
                           keeps faas's own keys out of its reach; use those interfaces",
                });
            }
            if !keyvalue.is_empty() {
                users.push(index);
            }
        }
        if users.is_empty() {
            return Ok(());
        }
        let guard = self.add_guest(
            &guests::KEYVALUE_GUARD_GUEST,
            LayerKind::KeyValueGuard,
            Owner::KeyValueGuard,
            None,
            seed,
            &|_| false,
        )?;
        for user in users {
            for interface in guarded {
                let imports = self.layers[user].host_imports.get_or_insert_default();
                if let Some(position) = imports.iter().position(|i| i == interface) {
                    imports.remove(position);
                    self.wire(user, interface, guard, interface);
                }
            }
        }
        Ok(())
    }

    /// Puts the outgoing guard between the host's `wasi:http/outgoing-handler` and every layer
    /// faas did not write that imports it (the function, its dependencies), with the policy's
    /// `outgoing-hosts` as the hosts it lets through. The host allows the artifact's grants as
    /// a whole (a `jwks-uri` host is the verifier's); the function's share is enforced here.
    fn guard_outgoing(&mut self, hosts: &[String], seed: [u8; 16]) -> Result<(), WrapError> {
        let users: Vec<usize> = (0..self.layers.len())
            .filter(|&i| {
                self.guarded_kind(i)
                    && self.layers[i]
                        .host_imports
                        .iter()
                        .flatten()
                        .any(|import| import == guests::OUTGOING_HANDLER)
            })
            .collect();
        if users.is_empty() {
            return Ok(());
        }
        let guard = self.add_guest(
            &guests::OUTGOING_GUARD_GUEST,
            LayerKind::OutgoingGuard,
            Owner::OutgoingGuard,
            None,
            seed,
            &|_| false,
        )?;
        let list = generate::policy_component(
            hosts.join("\n").as_bytes(),
            guests::OUTGOING_GUARD_GUEST.inspection(),
            &[],
        )
        .map_err(WrapError::PolicyComponent)?;
        let list = self.push(LayerKind::OutgoingHosts, Cow::Owned(list), Some(guard));
        let policy = contract::interface_name("policy");
        self.wire(guard, &policy, list, &policy);
        for user in users {
            let handler = guests::OUTGOING_HANDLER;
            if let Some(imports) = &mut self.layers[user].host_imports {
                imports.retain(|i| i != handler);
            }
            self.wire(user, handler, guard, handler);
        }
        Ok(())
    }

    /// Whether layer `index` is one faas did not write and that is not an artifact of its own:
    /// the function, or a dependency that is not a faas function called through a gate (whose
    /// own layers are guarded inside it, and whose other imports are its verifier's).
    fn guarded_kind(&self, index: usize) -> bool {
        match self.layers[index].kind {
            LayerKind::Function => true,
            LayerKind::Dependency(name) => !self
                .layers
                .iter()
                .any(|l| matches!(l.kind, LayerKind::Gate(gated) if gated == name)),
            _ => false,
        }
    }

    /// Adds an embedded guest with its deny layer: the ambient imports of its standard
    /// library are denied unless it keeps them, and so are its optional imports this policy does
    /// not need.
    fn add_guest(
        &mut self,
        guest: &'static Guest,
        kind: LayerKind,
        owner: Owner,
        owned_by: Option<usize>,
        seed: [u8; 16],
        needs: &dyn Fn(Need) -> bool,
    ) -> Result<usize, WrapError> {
        let layer = self.push(kind, Cow::Borrowed(guest.bytes), owned_by);
        self.layers[layer].built_from = Some(guest.built_from());
        let denied: Vec<&str> = guest
            .optional
            .iter()
            .filter(|(_, need)| !needs(*need))
            .map(|(interface, _)| *interface)
            .collect();
        let denials = DenyLayers::for_guest(guest.inspection(), &denied, seed)?.keeping(guest.keep);
        self.satisfy(layer, owner, denials);
        Ok(layer)
    }
}

pub(super) fn compose_err(layer: impl Into<String>, e: impl std::fmt::Display) -> WrapError {
    WrapError::Compose {
        layer: layer.into(),
        message: e.to_string(),
    }
}

mod checks;
mod deny_layers;
mod dependency;
use checks::*;
use deny_layers::*;

#[cfg(test)]
mod golden;
