//! `faas:dev/source` (`wit/dev/source.wit`), linked by faas dev's server only: the stand-in
//! function of a Python or JavaScript development artifact reads the project's source files
//! through it when an instance starts, so a save is served without rebuilding the language
//! runtime. It answers from the files of the last save that checked clean, swapped whole: a
//! request sees one save, never a mix of two.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use wasmtime::component::Linker;

/// The interface, as a component imports it.
pub const INTERFACE: &str = "faas:dev/source@0.1.0";

/// Source files by their path relative to the project (`/`-separated).
pub type SourceFiles = BTreeMap<String, Vec<u8>>;

/// The files served, shared by faas dev (which replaces them on a clean save) and the server.
#[derive(Clone, Default)]
pub struct DevSource(Arc<RwLock<Arc<SourceFiles>>>);

impl DevSource {
    /// The interface as a capability pattern.
    pub const INTERFACE_PATTERN: &'static str = "faas:dev/source";

    /// Serves `files` from the next instance on; instances running keep what they read.
    pub fn replace(&self, files: SourceFiles) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(files);
    }

    /// The file at `path`, if the last clean save has it.
    pub fn read(&self, path: &str) -> Option<Vec<u8>> {
        let files = self.0.read().unwrap_or_else(|e| e.into_inner()).clone();
        files.get(path).cloned()
    }

    /// How many files are served.
    pub fn len(&self) -> usize {
        self.0.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether no file is served yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Debug for DevSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DevSource({} files)", self.len())
    }
}

/// Links `faas:dev/source` to `source`.
pub(super) fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    source: &DevSource,
) -> anyhow::Result<()> {
    let source = source.clone();
    linker
        .instance(INTERFACE)
        .map_err(anyhow::Error::from)?
        .func_wrap("read", move |_, (path,): (String,)| {
            Ok((source.read(&path),))
        })
        .map_err(anyhow::Error::from)?;
    Ok(())
}
