//! A registry repository through the OCI distribution API (oci-client), with what oci-client leaves
//! to its callers: blobs already present are not uploaded again (HEAD first), and transient
//! failures (connection errors, 5xx, 429) are retried with backoff a bounded number of times.

use super::{Selector, Store, StoreError, check_digest};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use std::time::Duration;

/// How a registry is reached.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    /// Allow plain HTTP to a non-loopback host.
    pub insecure: bool,
    /// Username and password, when known.
    pub credentials: Option<(String, String)>,
    /// Attempts per operation before giving up on transient failures.
    pub attempts: u32,
}

/// A repository in a registry.
pub struct RegistryStore {
    registry: String,
    repository: String,
    client: Client,
    auth: RegistryAuth,
    runtime: tokio::runtime::Runtime,
    attempts: u32,
    authenticated: bool,
}

/// Whether `registry` (`host[:port]`) is on this machine, where plain HTTP is allowed by default.
pub fn is_loopback(registry: &str) -> bool {
    let host = match registry.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => registry,
    };
    host == "localhost" || host == "[::1]" || host.starts_with("127.")
}

impl RegistryStore {
    /// Connects (lazily) to `registry/repository`.
    pub fn new(
        registry: &str,
        repository: &str,
        connection: &Connection,
    ) -> Result<Self, StoreError> {
        // reqwest is built without a default TLS provider: install ring's once per process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let protocol = if connection.insecure || is_loopback(registry) {
            ClientProtocol::HttpsExcept(vec![registry.to_string()])
        } else {
            ClientProtocol::Https
        };
        let client = Client::new(ClientConfig {
            protocol,
            connect_timeout: Some(Duration::from_secs(10)),
            read_timeout: Some(Duration::from_secs(120)),
            ..Default::default()
        });
        let auth = match &connection.credentials {
            Some((user, password)) => RegistryAuth::Basic(user.clone(), password.clone()),
            None => RegistryAuth::Anonymous,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Registry {
                registry: registry.to_string(),
                message: e.to_string(),
            })?;
        Ok(RegistryStore {
            registry: registry.to_string(),
            repository: repository.to_string(),
            client,
            auth,
            runtime,
            attempts: connection.attempts.max(1),
            authenticated: false,
        })
    }

    fn reference(&self, selector: &Selector) -> Reference {
        let (registry, repository) = (self.registry.clone(), self.repository.clone());
        match selector {
            Selector::Digest(d) => Reference::with_digest(registry, repository, d.clone()),
            Selector::Tag(t) => Reference::with_tag(registry, repository, t.clone()),
            Selector::None => Reference::with_tag(registry, repository, "latest".into()),
        }
    }

    /// Runs `op`, retrying transient failures with exponential backoff.
    fn retry<T, F, Fut>(&mut self, what: &str, mut op: F) -> Result<T, StoreError>
    where
        F: FnMut(Client, RegistryAuth) -> Fut,
        Fut: std::future::Future<Output = Result<T, OciDistributionError>>,
    {
        if !self.authenticated {
            // Basic credentials are sent with every request; token registries exchange them here.
            let reference = self.reference(&Selector::None);
            let (client, auth) = (self.client.clone(), self.auth.clone());
            let result = self.runtime.block_on(async move {
                client
                    .auth(&reference, &auth, RegistryOperation::Push)
                    .await
            });
            if let Err(e) = result
                && !is_transient(&e)
            {
                return Err(self.classify(what, e));
            }
            self.runtime
                .block_on(self.client.store_auth_if_needed(&self.registry, &self.auth));
            self.authenticated = true;
        }
        let mut delay = Duration::from_millis(250);
        let mut attempt = 1;
        loop {
            let result = self
                .runtime
                .block_on(op(self.client.clone(), self.auth.clone()));
            match result {
                Ok(value) => return Ok(value),
                Err(e) if is_transient(&e) && attempt < self.attempts => {
                    tracing_line(&format!(
                        "{what}: {e} (attempt {attempt} of {}; retrying in {delay:?})",
                        self.attempts
                    ));
                    std::thread::sleep(delay);
                    delay *= 2;
                    attempt += 1;
                }
                Err(e) => return Err(self.classify(what, e)),
            }
        }
    }

    fn classify(&self, what: &str, e: OciDistributionError) -> StoreError {
        let registry = self.registry.clone();
        let message = format!("{what}: {}", describe(&e));
        match &e {
            OciDistributionError::RequestError(r) if r.is_connect() || r.is_timeout() => {
                StoreError::Unreachable { registry, message }
            }
            OciDistributionError::UnauthorizedError { .. }
            | OciDistributionError::AuthenticationFailure(_) => {
                StoreError::Unauthorized { registry, message }
            }
            OciDistributionError::ServerError {
                code: 401 | 403, ..
            } => StoreError::Unauthorized { registry, message },
            OciDistributionError::RequestError(r)
                if r.status()
                    .is_some_and(|s| s.as_u16() == 401 || s.as_u16() == 403) =>
            {
                StoreError::Unauthorized { registry, message }
            }
            _ => StoreError::Registry { registry, message },
        }
    }
}

/// A failure worth retrying: the network, or the server saying "later".
fn is_transient(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::RequestError(r) => {
            r.is_connect()
                || r.is_timeout()
                || r.is_request()
                || r.is_body()
                || r.status()
                    .is_some_and(|s| s.is_server_error() || s.as_u16() == 429)
        }
        OciDistributionError::ServerError { code, .. } => *code >= 500 || *code == 429,
        OciDistributionError::IoError(_) => true,
        _ => false,
    }
}

/// reqwest's messages hide the cause ("error sending request"); walk the chain for the root.
fn describe(e: &OciDistributionError) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    message
}

fn tracing_line(message: &str) {
    crate::report::status("Retrying", message);
}

fn not_found(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::ImageManifestNotFoundError(_) => true,
        OciDistributionError::ServerError { code: 404, .. } => true,
        OciDistributionError::RegistryError { envelope, .. } => envelope.errors.iter().any(|e| {
            matches!(
                e.code,
                oci_client::errors::OciErrorCode::ManifestUnknown
                    | oci_client::errors::OciErrorCode::NotFound
                    | oci_client::errors::OciErrorCode::NameUnknown
            )
        }),
        OciDistributionError::RequestError(r) => r.status().is_some_and(|s| s.as_u16() == 404),
        _ => false,
    }
}

impl Store for RegistryStore {
    fn has_blob(&mut self, digest: &str) -> Result<bool, StoreError> {
        let reference = self.reference(&Selector::None);
        let digest = digest.to_string();
        self.retry("checking a blob", |client, _| {
            let (reference, digest) = (reference.clone(), digest.clone());
            async move { client.blob_exists(&reference, &digest).await }
        })
    }

    fn put_blob(&mut self, digest: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let reference = self.reference(&Selector::None);
        let digest = digest.to_string();
        let bytes = bytes::Bytes::copy_from_slice(bytes);
        self.retry("uploading a blob", |client, _| {
            let (reference, digest, bytes) = (reference.clone(), digest.clone(), bytes.clone());
            async move {
                client
                    .push_blob(&reference, bytes, &digest)
                    .await
                    .map(|_| ())
            }
        })
    }

    fn get_blob(&mut self, digest: &str) -> Result<Vec<u8>, StoreError> {
        let reference = self.reference(&Selector::Digest(digest.to_string()));
        let owned = digest.to_string();
        let bytes = self.retry("downloading a blob", |client, _| {
            let (reference, digest) = (reference.clone(), owned.clone());
            async move {
                let mut out = Vec::new();
                client
                    .pull_blob(&reference, digest.as_str(), &mut out)
                    .await?;
                Ok(out)
            }
        })?;
        check_digest("blob", digest, &bytes)?;
        Ok(bytes)
    }

    fn put_manifest(
        &mut self,
        tag: &str,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<(), StoreError> {
        let reference = self.reference(&Selector::Tag(tag.to_string()));
        let bytes = bytes::Bytes::copy_from_slice(bytes);
        let content_type =
            http::HeaderValue::from_str(media_type).map_err(|e| StoreError::Registry {
                registry: self.registry.clone(),
                message: e.to_string(),
            })?;
        self.retry("uploading the manifest", |client, _| {
            let (reference, bytes, content_type) =
                (reference.clone(), bytes.clone(), content_type.clone());
            async move {
                client
                    .push_manifest_raw(&reference, bytes, content_type)
                    .await
                    .map(|_| ())
            }
        })
    }

    fn get_manifest(
        &mut self,
        selector: &Selector,
    ) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        let reference = self.reference(selector);
        let result = self.retry("reading a manifest", |client, auth| {
            let reference = reference.clone();
            async move {
                match client
                    .pull_manifest_raw(&reference, &auth, &[super::MANIFEST_MEDIA_TYPE])
                    .await
                {
                    Ok((bytes, _)) => Ok(Some(bytes.to_vec())),
                    Err(e) if not_found(&e) => Ok(None),
                    Err(e) => Err(e),
                }
            }
        })?;
        Ok(result.map(|bytes| {
            // The digest is computed here, never taken from the registry's word for it.
            let digest = crate::digest::sha256(&bytes);
            (bytes, digest)
        }))
    }
}
