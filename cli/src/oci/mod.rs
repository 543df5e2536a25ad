//! OCI storage for artifacts: where `faas publish` puts them and `faas verify`/`faas pull` read
//! them. Two stores behind one trait: a registry (the OCI distribution API, through oci-client) and
//! an OCI image-layout folder on disk (what skopeo and oras read as `oci:PATH:TAG`).

pub mod artifact;
pub mod layout;
pub mod registry;

use std::fmt;
use std::path::PathBuf;

/// Media type of OCI image manifests.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

/// Where artifacts go: a registry repository or a layout folder, with an optional tag or digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// `host[:port]/repository[:tag][@digest]`.
    Registry {
        /// `host[:port]`.
        registry: String,
        /// The repository path.
        repository: String,
        /// What to address inside it.
        selector: Selector,
    },
    /// `oci:PATH[:tag|@digest]`.
    Layout {
        /// The layout folder.
        path: PathBuf,
        /// What to address inside it.
        selector: Selector,
    },
}

/// A tag, a digest, or nothing (then the command's default applies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// No tag or digest given.
    None,
    /// A tag.
    Tag(String),
    /// A manifest digest, `sha256:<hex>`.
    Digest(String),
}

/// Why a reference could not be parsed.
#[derive(Debug, thiserror::Error)]
#[error(
    "invalid reference `{reference}`: {reason}; expected host[:port]/repository[:tag] or oci:PATH[:tag]"
)]
pub struct ReferenceError {
    reference: String,
    reason: &'static str,
}

impl Reference {
    /// Parses `host[:port]/repo[:tag][@sha256:…]` or `oci:PATH[:tag][@sha256:…]`.
    pub fn parse(reference: &str) -> Result<Reference, ReferenceError> {
        let error = |reason| ReferenceError {
            reference: reference.to_string(),
            reason,
        };
        let (rest, digest) = match reference.split_once('@') {
            Some((rest, digest)) => {
                if !is_digest(digest) {
                    return Err(error(
                        "the digest must be sha256: and 64 lower-case hex digits",
                    ));
                }
                (rest, Some(digest.to_string()))
            }
            None => (reference, None),
        };
        if let Some(path) = rest.strip_prefix("oci:") {
            // oci:PATH:TAG, as skopeo writes it; a tag never contains '/'.
            let (path, tag) = match path.rsplit_once(':') {
                Some((p, t)) if !t.contains('/') && !p.is_empty() => (p, Some(t)),
                _ => (path, None),
            };
            if path.is_empty() {
                return Err(error("the layout path is empty"));
            }
            return Ok(Reference::Layout {
                path: PathBuf::from(path),
                selector: selector(tag, digest).map_err(error)?,
            });
        }
        let Some((registry, path)) = rest.split_once('/') else {
            return Err(error("no registry host"));
        };
        let is_host = registry == "localhost" || registry.contains('.') || registry.contains(':');
        if !is_host || registry.contains(char::is_whitespace) {
            return Err(error(
                "the first part must be a registry host, e.g. registry.example.com or 127.0.0.1:5000",
            ));
        }
        let (repository, tag) = match path.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => (repo, Some(tag)),
            _ => (path, None),
        };
        if !is_repository(repository) {
            return Err(error(
                "the repository must be lower-case words separated by '/', '.', '_' or '-'",
            ));
        }
        Ok(Reference::Registry {
            registry: registry.to_string(),
            repository: repository.to_string(),
            selector: selector(tag, digest).map_err(error)?,
        })
    }

    /// Where a project publishes by default: the layout folder `target/faas/oci`.
    pub fn project_layout(project: &crate::project::Project) -> Reference {
        Reference::Layout {
            path: project.layout_dir(),
            selector: Selector::None,
        }
    }

    /// The same place with another selector.
    pub fn with_selector(&self, selector: Selector) -> Reference {
        let mut target = self.clone();
        match &mut target {
            Reference::Registry { selector: s, .. } | Reference::Layout { selector: s, .. } => {
                *s = selector
            }
        }
        target
    }

    /// The selector.
    pub fn selector(&self) -> &Selector {
        match self {
            Reference::Registry { selector, .. } | Reference::Layout { selector, .. } => selector,
        }
    }

    /// The repository as a signature payload names it (`host/repo`, or the layout path).
    pub fn repository_name(&self) -> String {
        match self {
            Reference::Registry {
                registry,
                repository,
                ..
            } => format!("{registry}/{repository}"),
            Reference::Layout { path, .. } => format!("oci:{}", path.display()),
        }
    }

    /// `repository@digest`, the immutable reference printed after a publish.
    pub fn pinned(&self, digest: &str) -> String {
        format!("{}@{digest}", self.repository_name())
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let selector = match self.selector() {
            Selector::None => String::new(),
            Selector::Tag(t) => format!(":{t}"),
            Selector::Digest(d) => format!("@{d}"),
        };
        write!(f, "{}{selector}", self.repository_name())
    }
}

fn selector(tag: Option<&str>, digest: Option<String>) -> Result<Selector, &'static str> {
    match (tag, digest) {
        (Some(_), Some(_)) => Err("give a tag or a digest, not both"),
        (Some(tag), None) if is_tag(tag) => Ok(Selector::Tag(tag.to_string())),
        (Some(_), None) => {
            Err("a tag is 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'")
        }
        (None, Some(d)) => Ok(Selector::Digest(d)),
        (None, None) => Ok(Selector::None),
    }
}

/// The tag to publish under: the reference's, else `flag`, else `default` (the function's
/// version). `latest` is refused unless allowed: it names nothing reproducible.
pub fn publish_tag(
    selector: &Selector,
    flag: Option<&str>,
    default: Option<String>,
    allow_latest: bool,
) -> Result<String, String> {
    let tag = match (selector, flag, default) {
        (Selector::Tag(tag), _, _) => tag.clone(),
        (Selector::Digest(_), _, _) => {
            return Err("publish to a tag, not a digest: a digest is the result".into());
        }
        (Selector::None, Some(tag), _) => tag.to_string(),
        (Selector::None, None, Some(version)) => version,
        (Selector::None, None, None) => return Err("no tag: give REF:TAG or --tag".into()),
    };
    if !is_tag(&tag) {
        return Err(format!("invalid tag `{tag}`"));
    }
    if tag == "latest" && !allow_latest {
        return Err(
            "refusing the tag `latest`, which names nothing reproducible; use a version, or \
             --allow-latest"
                .into(),
        );
    }
    Ok(tag)
}

/// An OCI tag.
pub fn is_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 128
        && !tag.starts_with(['.', '-'])
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
}

/// `sha256:` and 64 lower-case hex digits.
pub fn is_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn is_repository(repo: &str) -> bool {
    !repo.is_empty()
        && repo.split('/').all(|component| {
            !component.is_empty()
                && component.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && component.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && component
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
        })
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The registry cannot be reached (after retries).
    #[error("cannot reach the registry {registry}: {message}")]
    Unreachable {
        /// `host[:port]`.
        registry: String,
        /// The last failure.
        message: String,
    },
    /// The registry refused the credentials.
    #[error("the registry {registry} refused the credentials: {message}")]
    Unauthorized {
        /// `host[:port]`.
        registry: String,
        /// What it said.
        message: String,
    },
    /// Any other registry failure.
    #[error("registry {registry}: {message}")]
    Registry {
        /// `host[:port]`.
        registry: String,
        /// What happened.
        message: String,
    },
    /// A layout folder problem.
    #[error("{}: {message}", .path.display())]
    Layout {
        /// The file or folder.
        path: PathBuf,
        /// What happened.
        message: String,
    },
    /// Content does not match its digest.
    #[error(
        "{what} {digest} does not match its content (sha256 is {actual}): it was changed after it was written"
    )]
    DigestMismatch {
        /// What was read.
        what: &'static str,
        /// The digest it is stored under.
        digest: String,
        /// The digest of what was read.
        actual: String,
    },
}

/// A place that stores blobs and manifests of one repository.
pub trait Store {
    /// Whether the blob is already stored.
    fn has_blob(&mut self, digest: &str) -> Result<bool, StoreError>;
    /// Stores a blob.
    fn put_blob(&mut self, digest: &str, bytes: &[u8]) -> Result<(), StoreError>;
    /// Reads a blob, checking that its content matches `digest`.
    fn get_blob(&mut self, digest: &str) -> Result<Vec<u8>, StoreError>;
    /// Stores a manifest under `tag`.
    fn put_manifest(&mut self, tag: &str, bytes: &[u8], media_type: &str)
    -> Result<(), StoreError>;
    /// Reads a manifest by tag or digest: its bytes and their digest, `None` when absent.
    fn get_manifest(
        &mut self,
        selector: &Selector,
    ) -> Result<Option<(Vec<u8>, String)>, StoreError>;
}

/// Checks that `bytes` hash to `digest`.
pub fn check_digest(what: &'static str, digest: &str, bytes: &[u8]) -> Result<(), StoreError> {
    let actual = crate::digest::sha256(bytes);
    if actual == digest {
        Ok(())
    } else {
        Err(StoreError::DigestMismatch {
            what,
            digest: digest.to_string(),
            actual,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn registry_references() {
        assert_eq!(
            Reference::parse("127.0.0.1:5000/team/hello:1.0").unwrap(),
            Reference::Registry {
                registry: "127.0.0.1:5000".into(),
                repository: "team/hello".into(),
                selector: Selector::Tag("1.0".into())
            }
        );
        let t = Reference::parse(&format!("ghcr.io/acme/hello@{D}")).unwrap();
        assert_eq!(t.selector(), &Selector::Digest(D.into()));
        assert_eq!(t.pinned(D), format!("ghcr.io/acme/hello@{D}"));
        for bad in [
            "hello",
            "hello:1.0",
            "Registry.io/Hello",
            "r.io/a//b",
            "r.io/a:b:c/d:",
            "r.io/a@sha256:12",
            "r.io/a:-x",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn layout_references() {
        assert_eq!(
            Reference::parse("oci:target/faas/oci:0.1.0").unwrap(),
            Reference::Layout {
                path: "target/faas/oci".into(),
                selector: Selector::Tag("0.1.0".into())
            }
        );
        assert_eq!(
            Reference::parse("oci:/tmp/x").unwrap(),
            Reference::Layout {
                path: "/tmp/x".into(),
                selector: Selector::None
            }
        );
    }
}
