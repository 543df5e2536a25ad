//! Errors in a user's text files, reported as `file:line:column: message` (one line, for logs and
//! CI), and shown to people with the offending line and a caret under the column, as wit-parser
//! and wac do ([`TextError::excerpt`]).
//!
//! Every text input of faas (`faas.toml`, `auth.toml`) is parsed through [`parse_toml`], so a typo is
//! reported where it is, and checks made after parsing keep the byte span of the value they reject
//! (`toml::Spanned`) to do the same.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A position-carrying error in a text file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextError {
    /// The file, as the user named it.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// What is wrong, in one line.
    pub message: String,
    /// The text of the offending line, when the error has a position in the file.
    pub source_line: Option<String>,
    /// Where the excerpt's caret goes, when the line shown is not the line as written (its
    /// secrets masked, [`TextError::masking_strings`]); otherwise `column`.
    pub caret_column: Option<usize>,
}

impl TextError {
    /// The offending line with a caret under the column, for people, e.g.
    ///
    /// ```text
    ///   |
    /// 3 | path = "/%61dmin/**"
    ///   |        ^
    /// ```
    pub fn excerpt(&self) -> Option<String> {
        let line = self.source_line.as_ref()?;
        let number = self.line.to_string();
        let gutter = " ".repeat(number.len());
        // The caret goes under the column's character; tabs keep their width.
        let pad: String = line
            .chars()
            .take(self.caret_column.unwrap_or(self.column).saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        Some(format!("{gutter} |\n{number} | {line}\n{gutter} | {pad}^"))
    }
}

impl TextError {
    /// The same error with the string values of its excerpt line masked (`"***"`), unless the
    /// line's key is one of `shown`: for files that may hold secrets, where an error about a
    /// secret (a plaintext API key, a literal HS256 secret) must never print it, into a CI log
    /// least of all. The message loses any masked value it quoted; the caret keeps its place.
    pub fn masking_strings(mut self, shown: &[&str]) -> Self {
        let Some(line) = self.source_line.take() else {
            return self;
        };
        let key = line.split('=').next().unwrap_or("").trim();
        let key = key.trim_matches(['"', '\'']);
        if line.contains('=') && shown.contains(&key) {
            self.source_line = Some(line);
            return self;
        }
        let caret = self.caret_column.unwrap_or(self.column).saturating_sub(1);
        let mut masked = String::with_capacity(line.len());
        let mut masked_caret = caret;
        let mut hidden = Vec::new();
        let mut chars = line.chars().enumerate();
        while let Some((at, c)) = chars.next() {
            masked.push(c);
            if c != '"' && c != '\'' {
                continue;
            }
            // A string: its content up to the closing quote (escaped in basic strings only).
            let quote = c;
            let mut content = String::new();
            let mut closing = None;
            let mut escaped = false;
            for (_, c) in chars.by_ref() {
                if c == quote && !escaped {
                    closing = Some(c);
                    break;
                }
                escaped = quote == '"' && c == '\\' && !escaped;
                content.push(c);
            }
            masked.push_str("***");
            masked.extend(closing);
            // A caret past the string moves with the text; one inside it goes to its start.
            let length = content.chars().count();
            if caret > at + length {
                masked_caret = masked_caret + 3 - length;
            } else if caret > at {
                masked_caret = at + 1;
            }
            if !content.is_empty() {
                hidden.push(content);
            }
        }
        // Messages quote values in backticks (ours) or double quotes (serde's).
        for value in hidden {
            for quote in ['`', '"'] {
                let quoted = format!("{quote}{value}{quote}");
                self.message = self.message.replace(&quoted, &format!("{quote}***{quote}"));
            }
        }
        self.caret_column = Some(masked_caret + 1);
        self.source_line = Some(masked);
        self
    }
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

impl std::error::Error for TextError {}

/// A text file read into memory, able to turn byte offsets into line and column.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path the text was read from (shown in errors).
    pub path: PathBuf,
    /// The whole text.
    pub text: String,
}

impl SourceFile {
    /// Reads a UTF-8 text file.
    pub fn read(path: &Path) -> std::io::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        Ok(Self {
            path: path.to_path_buf(),
            text,
        })
    }

    /// 1-based line and column of the byte `offset`.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    /// An error located at the start of `span`.
    pub fn error_at(&self, span: Option<Range<usize>>, message: impl Into<String>) -> TextError {
        let (line, column) = self.line_column(span.as_ref().map_or(0, |s| s.start));
        TextError {
            path: self.path.clone(),
            line,
            column,
            message: message.into(),
            // Without a span the position is the file's start, not the culprit: no excerpt.
            source_line: span.and_then(|_| self.text.lines().nth(line - 1).map(str::to_string)),
            caret_column: None,
        }
    }

    /// Deserializes the text as TOML, turning parse and validation errors into a [`TextError`].
    pub fn parse_toml<T: serde::de::DeserializeOwned>(&self) -> Result<T, TextError> {
        toml::from_str(&self.text).map_err(|e| {
            // toml's message is multi-line only when it quotes the source; we print our own position.
            let message = e.message().trim().replace('\n', " ");
            self.error_at(e.span(), message)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> SourceFile {
        SourceFile {
            path: "x.toml".into(),
            text: text.into(),
        }
    }

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let f = file("ab\nçd = 1\n");
        assert_eq!(f.line_column(0), (1, 1));
        assert_eq!(f.line_column(3), (2, 1));
        // 'ç' is two bytes: the byte after it is the second character.
        assert_eq!(f.line_column(5), (2, 2));
    }

    #[test]
    fn toml_errors_carry_the_position_of_the_bad_key() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct T {
            a: u32,
        }
        let err = file("a = 1\nb = 2\n").parse_toml::<T>().unwrap_err();
        assert_eq!((err.line, err.column), (2, 1));
        assert!(err.message.contains("unknown field `b`"), "{}", err.message);
        assert!(err.to_string().starts_with("x.toml:2:1: "));
        assert_eq!(err.excerpt().unwrap(), "  |\n2 | b = 2\n  | ^");
    }

    #[test]
    fn the_caret_sits_under_the_column() {
        let f = file("x = 1\npath = \"/a\"\n");
        let err = f.error_at(Some(13..15), "bad");
        assert_eq!((err.line, err.column), (2, 8));
        assert_eq!(
            err.excerpt().unwrap(),
            "  |\n2 | path = \"/a\"\n  |        ^"
        );
        assert_eq!(f.error_at(None, "no position").excerpt(), None);
    }

    #[test]
    fn masking_hides_every_string_of_a_line_but_shown_keys_and_keeps_the_caret() {
        let f = file(
            "key = \"faas_sk_secret\"\npath = \"/a\"\ndb = { config = \"x\", y = \"faas_sk_2\" }\n",
        );
        let masked = f
            .error_at(Some(6..22), "a plaintext key \"faas_sk_secret\" here")
            .masking_strings(&["path"]);
        assert_eq!(
            masked.to_string(),
            "x.toml:1:7: a plaintext key \"***\" here"
        );
        assert_eq!(
            masked.excerpt().unwrap(),
            "  |\n1 | key = \"***\"\n  |       ^"
        );
        let shown = f.error_at(Some(30..34), "bad").masking_strings(&["path"]);
        assert_eq!(
            shown.excerpt().unwrap(),
            "  |\n2 | path = \"/a\"\n  |        ^"
        );
        // A caret after a masked string moves with the text before it.
        let after = f.error_at(Some(55..56), "bad").masking_strings(&["path"]);
        assert_eq!(
            after.excerpt().unwrap(),
            "  |\n3 | db = { config = \"***\", y = \"***\" }\n  |                       ^"
        );
    }
}
