//! An OCI image-layout folder: `oci-layout`, `index.json` and `blobs/sha256/<hex>`. Blobs are
//! written first and `index.json` last (atomically), so an interrupted publish never leaves a tag
//! pointing at missing content.

use super::{Selector, Store, StoreError, check_digest};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// A layout folder.
pub struct LayoutStore {
    root: PathBuf,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Index {
    schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Vec<super::artifact::Descriptor>,
}

impl LayoutStore {
    /// Opens (or, for writing, will create) the layout at `root`.
    pub fn new(root: &Path) -> Self {
        LayoutStore {
            root: root.to_path_buf(),
        }
    }

    fn error(&self, path: &Path, message: impl std::fmt::Display) -> StoreError {
        StoreError::Layout {
            path: path.to_path_buf(),
            message: message.to_string(),
        }
    }

    fn blob_path(&self, digest: &str) -> Result<PathBuf, StoreError> {
        let hex = digest
            .strip_prefix("sha256:")
            .filter(|_| super::is_digest(digest))
            .ok_or_else(|| self.error(&self.root, format!("invalid digest `{digest}`")))?;
        Ok(self.root.join("blobs").join("sha256").join(hex))
    }

    fn read_index(&self) -> Result<Index, StoreError> {
        let path = self.root.join("index.json");
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| self.error(&path, format!("not an OCI index: {e}"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Index {
                schema_version: 2,
                media_type: Some("application/vnd.oci.image.index.v1+json".into()),
                manifests: vec![],
            }),
            Err(e) => Err(self.error(&path, e)),
        }
    }

    fn ensure_layout(&self) -> Result<(), StoreError> {
        let marker = self.root.join("oci-layout");
        if !marker.exists() {
            crate::fsutil::write_atomic(&marker, br#"{"imageLayoutVersion":"1.0.0"}"#)
                .map_err(|e| self.error(&marker, e))?;
        }
        Ok(())
    }
}

impl Store for LayoutStore {
    fn has_blob(&mut self, digest: &str) -> Result<bool, StoreError> {
        Ok(self.blob_path(digest)?.is_file())
    }

    fn put_blob(&mut self, digest: &str, bytes: &[u8]) -> Result<(), StoreError> {
        check_digest("blob", digest, bytes)?;
        self.ensure_layout()?;
        let path = self.blob_path(digest)?;
        crate::fsutil::write_atomic(&path, bytes).map_err(|e| self.error(&path, e))
    }

    fn get_blob(&mut self, digest: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.blob_path(digest)?;
        let bytes = std::fs::read(&path).map_err(|e| self.error(&path, e))?;
        check_digest("blob", digest, &bytes)?;
        Ok(bytes)
    }

    fn put_manifest(
        &mut self,
        tag: &str,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<(), StoreError> {
        let digest = crate::digest::sha256(bytes);
        self.put_blob(&digest, bytes)?;
        let mut index = self.read_index()?;
        index.manifests.retain(|m| {
            m.annotations
                .as_ref()
                .and_then(|a| a.get(REF_NAME))
                .map(String::as_str)
                != Some(tag)
        });
        index.manifests.push(super::artifact::Descriptor {
            media_type: media_type.to_string(),
            digest,
            size: bytes.len() as u64,
            annotations: Some(BTreeMap::from([(REF_NAME.to_string(), tag.to_string())])),
        });
        let path = self.root.join("index.json");
        let json = serde_json::to_vec_pretty(&index).expect("index serialises");
        crate::fsutil::write_atomic(&path, &json).map_err(|e| self.error(&path, e))
    }

    fn get_manifest(
        &mut self,
        selector: &Selector,
    ) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        if !self.root.join("oci-layout").is_file() {
            return Err(self.error(&self.root, "not an OCI image layout (no oci-layout file)"));
        }
        let digest = match selector {
            Selector::Digest(d) => d.clone(),
            Selector::Tag(tag) => {
                let index = self.read_index()?;
                let found = index.manifests.iter().find(|m| {
                    m.annotations
                        .as_ref()
                        .and_then(|a| a.get(REF_NAME))
                        .map(String::as_str)
                        == Some(tag.as_str())
                });
                match found {
                    Some(m) => m.digest.clone(),
                    None => return Ok(None),
                }
            }
            Selector::None => return Ok(None),
        };
        if !self.has_blob(&digest)? {
            return Ok(None);
        }
        let bytes = self.get_blob(&digest)?;
        Ok(Some((bytes, digest)))
    }
}
