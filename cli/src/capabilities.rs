//! The capability allow-list: which host interfaces a function may import.
//!
//! A function may always use our contract and the harmless basics (I/O streams, clocks, random,
//! logging, stdout/stderr). Anything that reaches outside the sandbox (files, sockets, outgoing
//! HTTP, key-value stores, configuration, messaging…) must be granted by the policy's
//! `[capabilities] allow`. A plain `wasm32-wasip2` Rust build also imports parts of `wasi:cli`
//! (environment, exit, stdin, terminals) that a function never uses: rather than make a policy grant
//! them, `faas wrap` satisfies them inside the artifact with deny-all implementations whose every
//! function traps, as Spin's deny adapter does.

/// What to do with one import of a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Satisfied by another layer of the artifact (our own `faas:function` interfaces).
    Internal,
    /// Left for the host to supply: always allowed, or granted by the policy.
    Host,
    /// Satisfied inside the artifact by a deny-all implementation.
    Virtualize,
    /// Not allowed: wrapping fails.
    Denied,
}

/// Interfaces every function may import from the host.
const ALWAYS_ALLOWED: &[&str] = &[
    "wasi:io/*",
    "wasi:clocks/*",
    "wasi:random/*",
    "wasi:logging/*",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
];

/// Interfaces the Rust standard library (and other toolchains' runtimes) import without the
/// function using them: denied by virtualization unless granted.
const AMBIENT: &[&str] = &[
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
];

/// Classifies an import name (`wasi:sockets/tcp@0.2.6`) under the allow-list `allow`.
pub fn classify(import: &str, allow: &[String]) -> Verdict {
    let interface = import.split('@').next().unwrap_or(import);
    if interface.starts_with("faas:function/") {
        return Verdict::Internal;
    }
    let matches = |pattern: &str| pattern_matches(pattern, interface);
    if ALWAYS_ALLOWED.iter().any(|p| matches(p)) || allow.iter().any(|p| matches(p)) {
        Verdict::Host
    } else if AMBIENT.contains(&interface) {
        Verdict::Virtualize
    } else {
        Verdict::Denied
    }
}

/// `wasi:http/outgoing-handler` matches itself; `wasi:http/*` matches every interface of the
/// package. Versions are not part of patterns: a grant covers every version of the interface.
pub fn pattern_matches(pattern: &str, interface: &str) -> bool {
    let pattern = pattern.split('@').next().unwrap_or(pattern);
    match pattern.strip_suffix("/*") {
        Some(package) => interface
            .strip_prefix(package)
            .is_some_and(|rest| rest.starts_with('/')),
        None => pattern == interface,
    }
}

/// Whether `pattern` is a well-formed allow-list entry: `ns:package/interface` or `ns:package/*`.
pub fn is_valid_pattern(pattern: &str) -> bool {
    let Some((package, interface)) = pattern.split_once('/') else {
        return false;
    };
    let Some((namespace, name)) = package.split_once(':') else {
        return false;
    };
    let word = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    word(namespace) && word(name) && (interface == "*" || word(interface))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_allow_the_basics_and_virtualize_std_extras() {
        let none: Vec<String> = vec![];
        assert_eq!(
            classify("faas:function/credentials@0.1.0", &none),
            Verdict::Internal
        );
        assert_eq!(classify("wasi:io/streams@0.2.6", &none), Verdict::Host);
        assert_eq!(classify("wasi:cli/stderr@0.2.6", &none), Verdict::Host);
        assert_eq!(
            classify("wasi:cli/environment@0.2.6", &none),
            Verdict::Virtualize
        );
        assert_eq!(classify("wasi:sockets/tcp@0.2.6", &none), Verdict::Denied);
        assert_eq!(
            classify("wasi:filesystem/preopens@0.2.6", &none),
            Verdict::Denied
        );
        assert_eq!(
            classify("wasi:http/outgoing-handler@0.2.6", &none),
            Verdict::Denied
        );
    }

    #[test]
    fn grants_cover_interfaces_and_packages() {
        let allow = vec![
            "wasi:sockets/*".to_string(),
            "wasi:cli/environment".to_string(),
        ];
        assert_eq!(classify("wasi:sockets/tcp@0.2.6", &allow), Verdict::Host);
        assert_eq!(
            classify("wasi:cli/environment@0.2.6", &allow),
            Verdict::Host
        );
        assert_eq!(classify("wasi:socketsx/tcp@0.2.6", &allow), Verdict::Denied);
        assert!(is_valid_pattern("wasi:http/outgoing-handler"));
        assert!(is_valid_pattern("wasi:keyvalue/*"));
        assert!(!is_valid_pattern("wasi:*"));
        assert!(!is_valid_pattern("sockets"));
    }
}
