//! A JavaScript function's module as the body of a function, for faas dev's stand-in
//! (`loader.js`), which runs it with `new Function` when an instance starts: StarlingMonkey loads
//! no module at run time, but it evaluates code.
//!
//! Only the module shapes a function written for faas has are rewritten: imports of the world's
//! WIT interfaces by name or as a namespace, and named exports. Anything else (a relative or npm
//! import, a default export, a re-export) is [`Unsupported`]: faas dev then builds the function
//! with componentize-js as `faas build` does, which bundles nothing either. Lines keep their
//! numbers, so an error's line in the dev log is the line in the file.

/// The parameter through which the stand-in passes the world's imports, by specifier.
pub const IMPORTS_PARAMETER: &str = "__faasImports";

/// Why a module cannot run as a function body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {what}")]
pub struct Unsupported {
    /// 1-based.
    pub line: usize,
    /// What the rewrite does not handle.
    pub what: String,
}

/// The body of a function taking [`IMPORTS_PARAMETER`] and returning the module's exports, from
/// the module `source`; `interfaces` are the import specifiers the stand-in can pass.
pub fn function_body(source: &str, interfaces: &[String]) -> Result<String, Unsupported> {
    let lines: Vec<&str> = source.lines().collect();
    let mut body: Vec<String> = Vec::with_capacity(lines.len() + 1);
    // (exported name, local name)
    let mut exports: Vec<(String, String)> = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        let line_number = index + 1;
        let unsupported = |what: &str| Unsupported {
            line: line_number,
            what: what.to_string(),
        };
        if let Some(rest) = line
            .strip_prefix("import ")
            .or(starts_statement(line, "import{"))
        {
            // An import may span lines: up to its specifier.
            let mut statement = rest.to_string();
            let first = index;
            while !has_specifier(&statement) {
                index += 1;
                let Some(next) = lines.get(index) else {
                    return Err(unsupported("an import without `from \"…\"`"));
                };
                statement.push(' ');
                statement.push_str(next);
            }
            let rewritten = rewrite_import(&statement, interfaces).map_err(|what| Unsupported {
                line: first + 1,
                what,
            })?;
            body.push(rewritten);
            // Blank lines for the rest of the statement: numbers stay.
            body.extend(std::iter::repeat_n(String::new(), index - first));
        } else if let Some(rest) = line.strip_prefix("export ") {
            let rest = rest.trim_start();
            if rest.starts_with("default") {
                return Err(unsupported(
                    "`export default` (export the handler by name: `export const handler`)",
                ));
            }
            if rest.starts_with('{') || rest.starts_with('*') {
                let list = rest
                    .strip_prefix('{')
                    .and_then(|r| r.split_once('}'))
                    .filter(|(_, after)| !after.contains("from"))
                    .ok_or_else(|| unsupported("a re-export or an export list across lines"))?
                    .0;
                for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                    let (local, exported) = match item.split_once(" as ") {
                        Some((local, exported)) => (local.trim(), exported.trim()),
                        None => (item, item),
                    };
                    exports.push((exported.to_string(), local.to_string()));
                }
                body.push(String::new());
            } else {
                let name = declared_name(rest)
                    .ok_or_else(|| unsupported("an export that declares no single name"))?;
                exports.push((name.to_string(), name.to_string()));
                body.push(rest.to_string());
            }
        } else {
            body.push(line.to_string());
        }
        index += 1;
    }
    let returned: Vec<String> = exports
        .iter()
        .map(|(exported, local)| format!("{}: {local}", json_string(exported)))
        .collect();
    body.push(format!("return {{ {} }};", returned.join(", ")));
    Ok(body.join("\n"))
}

/// `import{` at the start of a line, as minified code writes it.
fn starts_statement<'a>(line: &'a str, keyword: &str) -> Option<&'a str> {
    line.starts_with(keyword).then(|| &line["import".len()..])
}

/// Whether an import statement has reached its `from "specifier"` (or is a bare `"specifier"`).
fn has_specifier(statement: &str) -> bool {
    let trimmed = statement.trim_end().trim_end_matches(';').trim_end();
    trimmed.ends_with('"') || trimmed.ends_with('\'')
}

/// `{ a, b as c } from "spec"` → `const { a, b: c } = __faasImports["spec"];`; `* as ns from
/// "spec"` → `const ns = __faasImports["spec"];`.
fn rewrite_import(statement: &str, interfaces: &[String]) -> Result<String, String> {
    let statement = statement.trim().trim_end_matches(';').trim_end();
    // The specifier is the quoted string the statement ends with; `from` comes before it.
    let quote = statement.chars().last().unwrap_or('"');
    let without_closing = &statement[..statement.len() - 1];
    let Some((head, specifier)) = without_closing.rsplit_once(quote) else {
        return Err("an import without a quoted specifier".into());
    };
    let Some(clause) = head.trim_end().strip_suffix("from") else {
        return Err("an import for its side effects only".into());
    };
    if !interfaces.iter().any(|i| i == specifier) {
        return Err(format!(
            "`{specifier}` is not an interface the function's world imports (faas dev loads only \
             app.js; modules it imports are bundled by a build)"
        ));
    }
    let clause = clause.trim();
    let target = format!("{IMPORTS_PARAMETER}[{}]", json_string(specifier));
    if let Some(namespace) = clause.strip_prefix('*') {
        let name = namespace
            .trim()
            .strip_prefix("as ")
            .map(str::trim)
            .filter(|n| is_identifier(n))
            .ok_or("a namespace import without a name")?;
        return Ok(format!("const {name} = {target};"));
    }
    let names = clause
        .strip_prefix('{')
        .and_then(|c| c.strip_suffix('}'))
        .ok_or("a default import (import the interface's functions by name)")?;
    let mut bindings = Vec::new();
    for item in names.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let binding = match item.split_once(" as ") {
            Some((imported, local)) => format!("{}: {}", imported.trim(), local.trim()),
            None => item.to_string(),
        };
        bindings.push(binding);
    }
    Ok(format!("const {{ {} }} = {target};", bindings.join(", ")))
}

/// The name `const handler = …`, `function f(…)`, `class C`, `async function* g` declares.
fn declared_name(declaration: &str) -> Option<&str> {
    let mut words = declaration.split(|c: char| c.is_whitespace() || c == '(' || c == '=');
    let mut word = words.next()?;
    while matches!(
        word,
        "async" | "function" | "function*" | "const" | "let" | "var" | "class" | ""
    ) {
        word = words.next()?;
    }
    let name = word.trim_start_matches('*');
    is_identifier(name).then_some(name)
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
}

fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interfaces() -> Vec<String> {
        vec!["faas:function/credentials@0.1.0".to_string()]
    }

    #[test]
    fn the_template_shape_becomes_a_body_returning_its_exports_with_lines_kept() {
        let source = "// a comment\nimport { get as secret } from \"faas:function/credentials@0.1.0\";\n\
                      export const handler = {\n  handle(req) { return secret(\"k\"); },\n};\n\
                      export function helper() {}\nfunction isJson() {}\n";
        let body = function_body(source, &interfaces()).unwrap();
        assert_eq!(
            body,
            "// a comment\nconst { get: secret } = __faasImports[\"faas:function/credentials@0.1.0\"];\n\
             const handler = {\n  handle(req) { return secret(\"k\"); },\n};\n\
             function helper() {}\nfunction isJson() {}\n\
             return { \"handler\": handler, \"helper\": helper };"
        );
        assert_eq!(body.lines().count(), source.lines().count() + 1);
    }

    #[test]
    fn imports_across_lines_namespaces_and_export_lists_are_rewritten() {
        let source = "import {\n  get,\n} from 'faas:function/credentials@0.1.0'\n\
                      import * as creds from \"faas:function/credentials@0.1.0\";\n\
                      const handler = {};\nexport { handler as handler, get };\n";
        let body = function_body(source, &interfaces()).unwrap();
        let lines: Vec<&str> = body.lines().collect();
        assert_eq!(
            lines[0],
            "const { get } = __faasImports[\"faas:function/credentials@0.1.0\"];"
        );
        assert_eq!(lines[1], "");
        assert_eq!(lines[2], "");
        assert_eq!(
            lines[3],
            "const creds = __faasImports[\"faas:function/credentials@0.1.0\"];"
        );
        assert_eq!(lines[5], "");
        assert_eq!(
            *lines.last().unwrap(),
            "return { \"handler\": handler, \"get\": get };"
        );
    }

    #[test]
    fn what_needs_a_bundler_or_another_shape_is_unsupported_with_its_line() {
        let cases = [
            ("import { x } from \"./util.js\";\n", 1, "not an interface"),
            (
                "\nimport lodash from \"faas:function/credentials@0.1.0\";\n",
                2,
                "default import",
            ),
            (
                "import \"faas:function/credentials@0.1.0\";\n",
                1,
                "side effects",
            ),
            ("export default { handle() {} };\n", 1, "export default"),
            ("export { a } from \"./a.js\";\n", 1, "re-export"),
            ("export const { a, b } = x;\n", 1, "no single name"),
            ("import { get }\n", 1, "without `from"),
        ];
        for (source, line, what) in cases {
            let error = function_body(source, &interfaces()).unwrap_err();
            assert_eq!(error.line, line, "{source:?}: {error}");
            assert!(error.what.contains(what), "{source:?}: {error}");
        }
    }

    #[test]
    fn declared_names_are_found_behind_their_keywords() {
        for (declaration, name) in [
            ("const handler = {", Some("handler")),
            ("async function go(x) {", Some("go")),
            ("function* gen() {", Some("gen")),
            ("class Thing {", Some("Thing")),
            ("let $x=1", Some("$x")),
            ("const [a] = b", None),
        ] {
            assert_eq!(declared_name(declaration), name, "{declaration}");
        }
    }
}
