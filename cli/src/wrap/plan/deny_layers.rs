//! The deny layers: which of a layer's imports are answered inside the artifact (denied), left to
//! the host, or refused, and the component that answers them.

use super::*;

/// The imports of one layer that are satisfied inside the artifact: for a layer of ours by its deny
/// layer (which also answers a fixed hash-map seed), for the function by the policy layer.
pub(super) struct DenyLayers {
    pub(super) interfaces: Vec<String>,
    pub(super) component: Option<Vec<u8>>,
    /// What the layer leaves for the host to supply.
    pub(super) host_imports: Vec<String>,
}

impl DenyLayers {
    /// For the function: its imports under the policy's allow-list. Imports the policy does not
    /// allow are errors, all reported at once.
    pub(super) fn for_function(
        function: &Inspection,
        capabilities: &Capabilities,
        language: Language,
        skipped: &[String],
        composed: &[String],
    ) -> Result<Self, WrapError> {
        let (interfaces, refused) =
            Self::classify(function, &capabilities.allow, language, skipped);
        if !refused.is_empty() {
            return Err(WrapError::Capabilities {
                imports: refused,
                location: capabilities.location.clone(),
            });
        }
        // The function's denied imports are answered by the policy component (see `plan`).
        let mut denials = Self::without_component(function, interfaces);
        // What composed dependencies satisfy is not the host's; what the platform links is.
        denials.host_imports.retain(|i| !composed.contains(i));
        Ok(denials)
    }

    /// Sorts `component`'s imports under the allow-list `allow`: those a deny layer answers, and
    /// those refused; `skip` are satisfied otherwise (by dependencies).
    pub(super) fn classify(
        component: &Inspection,
        allow: &[String],
        language: Language,
        skip: &[String],
    ) -> (Vec<String>, Vec<String>) {
        let mut refused = Vec::new();
        let mut interfaces = Vec::new();
        let mut host = Vec::new();
        for import in component.imports.iter().filter(|i| !skip.contains(i)) {
            match crate::capabilities::classify(import, allow, language) {
                Verdict::Internal => {}
                Verdict::Host => host.push(import.clone()),
                Verdict::DenyLayer => interfaces.push(import.clone()),
                Verdict::Refused => refused.push(import.clone()),
            }
        }
        // A granted interface shares resources with the interfaces it uses (outgoing HTTP creates
        // `wasi:http/types` requests): those must come from the host too, not from a deny layer.
        // Each host import is looked at once; one moved to the host is looked at in turn.
        // That holds whether the used interface was ambient or not granted on its own.
        let mut unchecked = host;
        while let Some(granted) = unchecked.pop() {
            for used in component.uses(&granted) {
                for list in [&mut interfaces, &mut refused] {
                    if let Some(position) = list.iter().position(|i| *i == used) {
                        unchecked.push(list.remove(position));
                    }
                }
            }
        }
        (interfaces, refused)
    }

    /// For a layer of ours: the ambient imports of the standard library, and `also` (host
    /// interfaces the layer can use but this policy does not need), are denied.
    pub(super) fn for_guest(
        guest: &Inspection,
        also: &[&str],
        seed: [u8; 16],
    ) -> Result<Self, WrapError> {
        let interfaces = guest
            .imports
            .iter()
            .filter(|i| {
                crate::capabilities::classify(i, &[], Language::Rust) == Verdict::DenyLayer
                    || also.contains(&i.as_str())
            })
            .cloned()
            .collect();
        Self::build(guest, interfaces, Some(seed), "a faas layer")
    }

    /// What `inspection` leaves for the host when `interfaces` are satisfied inside.
    pub(super) fn without_component(inspection: &Inspection, interfaces: Vec<String>) -> Self {
        let host_imports = inspection
            .imports
            .iter()
            .filter(|i| !i.starts_with("faas:") && !interfaces.contains(i))
            .cloned()
            .collect();
        DenyLayers {
            interfaces,
            component: None,
            host_imports,
        }
    }

    pub(super) fn build(
        inspection: &Inspection,
        mut interfaces: Vec<String>,
        seed: Option<[u8; 16]>,
        layer: &'static str,
    ) -> Result<Self, WrapError> {
        // Our own layers' hash maps get a fixed seed from the deny layer; a function's seed
        // import is the host's (it is always allowed).
        if seed.is_some()
            && let Some(interface) = inspection
                .imports
                .iter()
                .find(|i| i.starts_with("wasi:random/insecure-seed@"))
            && !interfaces.contains(interface)
        {
            interfaces.push(interface.clone());
        }
        let mut denials = Self::without_component(inspection, interfaces);
        if !denials.interfaces.is_empty() {
            denials.component = Some(
                generate::deny_component(inspection, &denials.interfaces, seed)
                    .map_err(|e| compose_err(layer, format!("deny layer: {e}")))?,
            );
        }
        Ok(denials)
    }

    /// Leaves `interfaces` for the host even though they are ambient (an adapter's own I/O).
    pub(super) fn keeping(mut self, interfaces: &[&str]) -> Self {
        let kept: Vec<String> = self
            .interfaces
            .iter()
            .filter(|i| interfaces.iter().any(|k| i.starts_with(k)))
            .cloned()
            .collect();
        self.interfaces.retain(|i| !kept.contains(i));
        self.host_imports.extend(kept);
        if self.interfaces.is_empty() {
            self.component = None;
        }
        self
    }

    /// Removes a granted `wasi:config/store` from what the function leaves for the host, and
    /// returns it: the credentials provider supplies it instead. Only the version the provider
    /// exports can be narrowed; another one is an error rather than the host's whole store.
    pub(super) fn take_config_store(&mut self) -> Result<Option<String>, WrapError> {
        let Some(position) = self
            .host_imports
            .iter()
            .position(|i| i.starts_with("wasi:config/store@"))
        else {
            return Ok(None);
        };
        let import = self.host_imports.remove(position);
        if import != guests::CONFIG_STORE {
            return Err(WrapError::Unsatisfied {
                layer: "function",
                import,
                hint: ": faas gives a function its granted [credentials] through \
                       wasi:config/store@0.2.0-rc.1 only (the version wasmtime and wasmCloud \
                       implement); build the function against that version",
            });
        }
        Ok(Some(import))
    }
}
