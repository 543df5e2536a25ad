//! The checks that make a policy fail closed beyond its syntax: a rule that could never apply is an
//! error, because it shows the author meant something the policy does not do.

use faas_policy_core::{Access, ApiKey, Rule};
use std::ops::Range;

/// A rule that can never apply is an error: it says the author meant something the policy does
/// not do.
pub(super) fn check_rule_can_match(
    rule: &Rule,
    filter_methods: &[String],
    api_keys: &[ApiKey],
    jwt: bool,
    earlier: &[(Range<usize>, Rule)],
) -> Result<(), String> {
    if !filter_methods.is_empty()
        && !rule.methods.is_empty()
        && !rule.methods.iter().any(|m| filter_methods.contains(m))
    {
        return Err(format!(
            "this rule can never match: its methods ({}) are all refused by [filters] methods ({})",
            rule.methods.join(", "),
            filter_methods.join(", ")
        ));
    }
    // Tokens may carry any scope, so only an API-key-only policy can be checked for this.
    if let Access::Scopes(scopes) = &rule.access
        && !jwt
    {
        if api_keys.is_empty() {
            return Err(
                "this rule requires an authenticated caller, but [auth] defines no API key, so \
                 no request could ever be allowed"
                    .into(),
            );
        }
        if !api_keys
            .iter()
            .any(|k| scopes.iter().all(|s| k.scopes.contains(s)))
        {
            return Err(format!(
                "no API key holds all the scopes this rule requires ({}), so no request could \
                 ever be allowed",
                scopes.join(", ")
            ));
        }
    }
    for (_, before) in earlier {
        let methods_covered = before.methods.is_empty()
            || (!rule.methods.is_empty()
                && rule.methods.iter().all(|m| before.methods.contains(m)));
        if methods_covered && pattern_covers(&before.path, &rule.path) {
            return Err(format!(
                "this rule can never match: the earlier rule for `{}` matches every request it \
                 would (the first matching rule decides; put the more specific rule first)",
                before.path
            ));
        }
    }
    Ok(())
}

/// Whether every path matched by pattern `b` is also matched by pattern `a`.
pub(super) fn pattern_covers(a: &str, b: &str) -> bool {
    let a: Vec<&str> = a.trim_start_matches('/').split('/').collect();
    let b: Vec<&str> = b.trim_start_matches('/').split('/').collect();
    for (i, seg) in a.iter().enumerate() {
        if *seg == "**" {
            return true;
        }
        match b.get(i) {
            None | Some(&"**") => return false,
            Some(other) if *seg == "*" => {
                if other.is_empty() {
                    return false;
                }
            }
            Some(other) if other != seg => return false,
            Some(_) => {}
        }
    }
    a.len() == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_of_patterns() {
        assert!(pattern_covers("/**", "/x"));
        assert!(pattern_covers("/a/*", "/a/b"));
        assert!(!pattern_covers("/a/*", "/a/**"));
        assert!(!pattern_covers("/a/b", "/a/*"));
        assert!(pattern_covers("/a/**", "/a/**"));
        assert!(!pattern_covers("/a", "/a/b"));
    }
}
