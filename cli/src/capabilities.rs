//! The capability allow-list: which host interfaces a function may import.
//!
//! A function may always use our contract and the harmless basics (I/O streams, clocks, random,
//! logging, stdout/stderr). Anything that reaches outside the sandbox (files, sockets, outgoing
//! HTTP, key-value stores, configuration, messaging…) must be granted by the policy's
//! `[capabilities] allow`. A plain `wasm32-wasip2` Rust build also imports parts of `wasi:cli`
//! (environment, exit, stdin, terminals) that a function never uses: rather than make a policy grant
//! them, `faas wrap` satisfies them inside the artifact with deny layers whose every
//! function traps, as Spin's deny adapter does.
//!
//! Interpreted languages go further: componentize-py links CPython with the whole of wasi-libc, so
//! every Python function imports `wasi:filesystem` and `wasi:sockets`; componentize-js links
//! StarlingMonkey, which imports `wasi:filesystem` and, for `fetch`, `wasi:http`. Those imports say
//! nothing about what the function does, so for those languages they are ambient too: denied
//! inside the artifact unless the policy grants them. A Rust function that imports them really
//! uses them, and is refused at wrap time instead of failing at run time.

use crate::project::Language;

/// What to do with one import of a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Satisfied by another layer of the artifact (our own `faas:function` interfaces).
    Internal,
    /// Left for the host to supply: always allowed, or granted by the policy.
    Host,
    /// Satisfied inside the artifact by a deny layer.
    DenyLayer,
    /// Not allowed: wrapping fails.
    Refused,
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
/// function using them: denied by deny layers unless granted.
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

/// What the Python runtime (CPython on wasi-libc) imports whatever the function does.
const PYTHON_AMBIENT: &[&str] = &["wasi:filesystem/*", "wasi:sockets/*"];

/// What the JavaScript runtime (StarlingMonkey) imports whatever the function does.
const JAVASCRIPT_AMBIENT: &[&str] = &[
    "wasi:filesystem/*",
    "wasi:http/types",
    "wasi:http/outgoing-handler",
];

/// The ambient interfaces of a language's toolchain, as patterns.
fn ambient(language: Language) -> impl Iterator<Item = &'static str> {
    let runtime: &[&str] = match language {
        Language::Rust => &[],
        Language::Python => PYTHON_AMBIENT,
        Language::Javascript => JAVASCRIPT_AMBIENT,
    };
    AMBIENT.iter().chain(runtime).copied()
}

/// Classifies an import name (`wasi:sockets/tcp@0.2.6`) of a function written in `language` under
/// the allow-list `allow`.
pub fn classify(import: &str, allow: &[String], language: Language) -> Verdict {
    let interface = import.split('@').next().unwrap_or(import);
    if interface.starts_with("faas:function/") {
        return Verdict::Internal;
    }
    let matches = |pattern: &str| pattern_matches(pattern, interface);
    if ALWAYS_ALLOWED.iter().any(|p| matches(p)) || allow.iter().any(|p| matches(p)) {
        Verdict::Host
    } else if ambient(language).any(matches) {
        Verdict::DenyLayer
    } else {
        Verdict::Refused
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

/// Checks an outgoing-host grant: a host name or IP address, optionally with a port, or `*.`
/// and a domain for its subdomains; never a URL (scheme, path, credentials).
pub fn check_host_pattern(pattern: &str) -> Result<(), &'static str> {
    if pattern.contains("://") || pattern.contains('/') || pattern.contains('@') {
        return Err("give a host name (api.example.com), not a URL");
    }
    let (host, port) = match pattern.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (pattern, None),
    };
    if let Some(port) = port
        && port.parse::<u16>().map_or(true, |p| p == 0)
    {
        return Err("the port must be a number from 1 to 65535");
    }
    let name = host.strip_prefix("*.").unwrap_or(host);
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if name.is_empty() || name.contains('*') || !name.split('.').all(label_ok) {
        return Err(
            "expected a host name such as api.example.com, or *.example.com for its subdomains",
        );
    }
    Ok(())
}

/// The parts of a `jwks-uri`: whether it is `https`, its authority (`host[:port]`, the grant the
/// verifier layer's fetch needs) and its path with query.
pub fn split_jwks_uri(uri: &str) -> Result<(bool, &str, &str), &'static str> {
    let (https, rest) = match (uri.strip_prefix("https://"), uri.strip_prefix("http://")) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        _ => return Err("expected an https:// URL"),
    };
    // The path goes on a request line as it is: a line break, NUL, space or other character a
    // URL cannot hold would be a second request, or a request the provider reads otherwise.
    if !uri.bytes().all(|b| b.is_ascii_graphic())
        || uri.contains(['"', '<', '>', '\\', '^', '`', '{', '|', '}'])
    {
        return Err(
            "a character a URL cannot hold (a space, a control character, or one of \" < > \\ ^ ` { | })",
        );
    }
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if path.is_empty() || uri.contains('#') {
        return Err(
            "expected a URL with a path and no fragment, e.g. https://id.example.com/.well-known/jwks.json",
        );
    }
    if authority.contains('*') {
        return Err("the host cannot be a pattern");
    }
    check_host_pattern(authority)?;
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    // Keys fetched in clear text could be replaced by anyone on the path: only a local identity
    // provider (and tests) may be reached without TLS.
    if !https && host != "127.0.0.1" && host != "localhost" {
        return Err("keys must be fetched over https (http only to 127.0.0.1 or localhost)");
    }
    Ok((https, authority, path))
}

/// Whether the authority of an outgoing request is granted by `outgoing-hosts` patterns: the one
/// check faas serve and the outgoing guard inside an artifact both make.
pub use faas_policy_core::host_granted;

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
    fn outgoing_hosts_are_names_not_urls_and_grant_what_they_name() {
        for ok in [
            "api.example.com",
            "api.example.com:8443",
            "*.example.com",
            "127.0.0.1:8080",
        ] {
            assert_eq!(check_host_pattern(ok), Ok(()), "{ok}");
        }
        for bad in [
            "https://api.example.com",
            "api.example.com/v1",
            "*",
            "a.*.com",
            "x:0",
            "u@h",
            "",
        ] {
            assert!(check_host_pattern(bad).is_err(), "{bad}");
        }
        // What the patterns grant: policy-core's `host_granted`, tested there.
    }

    #[test]
    fn defaults_allow_the_basics_and_deny_std_extras_inside() {
        let none: Vec<String> = vec![];
        let classify = |import: &str, allow: &[String]| classify(import, allow, Language::Rust);
        assert_eq!(
            classify("faas:function/credentials@0.1.0", &none),
            Verdict::Internal
        );
        assert_eq!(classify("wasi:io/streams@0.2.6", &none), Verdict::Host);
        assert_eq!(classify("wasi:cli/stderr@0.2.6", &none), Verdict::Host);
        assert_eq!(
            classify("wasi:cli/environment@0.2.6", &none),
            Verdict::DenyLayer
        );
        assert_eq!(classify("wasi:sockets/tcp@0.2.6", &none), Verdict::Refused);
        assert_eq!(
            classify("wasi:filesystem/preopens@0.2.6", &none),
            Verdict::Refused
        );
        assert_eq!(
            classify("wasi:http/outgoing-handler@0.2.6", &none),
            Verdict::Refused
        );
    }

    #[test]
    fn interpreters_runtime_imports_go_to_a_deny_layer_unless_granted() {
        let none: Vec<String> = vec![];
        for language in [Language::Python, Language::Javascript] {
            assert_eq!(
                classify("wasi:filesystem/preopens@0.2.9", &none, language),
                Verdict::DenyLayer
            );
            assert_eq!(
                classify("wasi:cli/exit@0.2.9", &none, language),
                Verdict::DenyLayer
            );
            assert_eq!(
                classify("wasi:keyvalue/store@0.2.0", &none, language),
                Verdict::Refused
            );
        }
        assert_eq!(
            classify("wasi:sockets/tcp@0.2.9", &none, Language::Python),
            Verdict::DenyLayer
        );
        assert_eq!(
            classify("wasi:sockets/tcp@0.2.9", &none, Language::Javascript),
            Verdict::Refused
        );
        assert_eq!(
            classify(
                "wasi:http/outgoing-handler@0.2.10",
                &none,
                Language::Javascript
            ),
            Verdict::DenyLayer
        );
        let granted = vec!["wasi:http/outgoing-handler".to_string()];
        assert_eq!(
            classify(
                "wasi:http/outgoing-handler@0.2.10",
                &granted,
                Language::Javascript
            ),
            Verdict::Host
        );
    }

    #[test]
    fn grants_cover_interfaces_and_packages() {
        let classify = |import: &str, allow: &[String]| classify(import, allow, Language::Rust);
        let allow = vec![
            "wasi:sockets/*".to_string(),
            "wasi:cli/environment".to_string(),
        ];
        assert_eq!(classify("wasi:sockets/tcp@0.2.6", &allow), Verdict::Host);
        assert_eq!(
            classify("wasi:cli/environment@0.2.6", &allow),
            Verdict::Host
        );
        assert_eq!(
            classify("wasi:socketsx/tcp@0.2.6", &allow),
            Verdict::Refused
        );
        assert!(is_valid_pattern("wasi:http/outgoing-handler"));
        assert!(is_valid_pattern("wasi:keyvalue/*"));
        assert!(!is_valid_pattern("wasi:*"));
        assert!(!is_valid_pattern("sockets"));
    }

    #[test]
    fn a_jwks_uri_with_a_character_no_url_holds_is_refused() {
        assert!(split_jwks_uri("https://id.example/keys.json").is_ok());
        for uri in [
            "https://id.example/keys.json\r\nX-Injected: 1",
            "https://id.example/keys\0.json",
            "https://id.example/my keys.json",
            "https://id.example/keys.json\u{7f}",
            "https://id.example/k\u{e9}ys.json",
            "https://id.example/{keys}",
        ] {
            let err = split_jwks_uri(uri).unwrap_err();
            assert!(err.contains("cannot hold"), "{uri:?}: {err}");
        }
    }
}
