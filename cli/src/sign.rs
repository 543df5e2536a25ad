//! Signing and verification in cosign's key-based format, so that `cosign verify --key` and
//! `faas verify` accept the same signatures.
//!
//! - Keys: ECDSA P-256. The public key is a PEM `PUBLIC KEY` (SubjectPublicKeyInfo). The private
//!   key is a PKCS#8 PEM `PRIVATE KEY`, or, when a password is given, cosign's
//!   `ENCRYPTED SIGSTORE PRIVATE KEY` (scrypt key derivation, NaCl secretbox).
//! - Payload: the "simple signing" JSON naming the signed manifest digest.
//! - Signature: ECDSA P-256 over SHA-256 of the payload, ASN.1 DER, standard base64.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use crypto_secretbox::XSalsa20Poly1305;
use crypto_secretbox::aead::{Aead, KeyInit};
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The PEM label of cosign's encrypted private keys.
pub const ENCRYPTED_KEY_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// The older label cosign still reads.
const LEGACY_ENCRYPTED_KEY_LABEL: &str = "ENCRYPTED COSIGN PRIVATE KEY";
/// scrypt cost cosign uses today (N = 2^16, r = 8, p = 1).
const SCRYPT_LOG_N: u8 = 16;

/// Why a key could not be made, read or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file cannot be read or written.
    #[error("cannot read {}", .path.display())]
    Io {
        /// The key file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file holds no key of a kind we read.
    #[error("{}: not a {what} (expected a PEM `{expected}`)", .path.display())]
    NotAKey {
        /// The key file.
        path: PathBuf,
        /// What was expected, for people.
        what: &'static str,
        /// The PEM label(s) expected.
        expected: &'static str,
    },
    /// The key is encrypted and no password was given.
    #[error("{}: the key is encrypted; give its password (FAAS_KEY_PASSWORD)", .path.display())]
    PasswordNeeded {
        /// The key file.
        path: PathBuf,
    },
    /// Decryption failed: the password is wrong (or the file was changed).
    #[error("{}: wrong password (the key could not be decrypted)", .path.display())]
    WrongPassword {
        /// The key file.
        path: PathBuf,
    },
    /// The output exists and would be overwritten.
    #[error("{} already exists; remove it or choose another path", .path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// A cryptographic operation failed unexpectedly.
    #[error("{0}")]
    Crypto(String),
}

/// A private signing key.
pub struct PrivateKey(SigningKey);

/// A public verification key.
pub struct PublicKey(VerifyingKey);

/// Paths written by [`generate`].
#[derive(Debug, Clone, Serialize)]
pub struct KeyPairFiles {
    /// The private key (mode 0600).
    pub private_key: PathBuf,
    /// The public key.
    pub public_key: PathBuf,
    /// Whether the private key is password-encrypted.
    pub encrypted: bool,
}

/// Generates a P-256 key pair and writes it; refuses to overwrite existing files.
pub fn generate(
    private_path: &Path,
    public_path: &Path,
    password: Option<&[u8]>,
) -> Result<KeyPairFiles, KeyError> {
    for path in [private_path, public_path] {
        if path.exists() {
            return Err(KeyError::Exists {
                path: path.to_path_buf(),
            });
        }
    }
    let key = loop {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| KeyError::Crypto(e.to_string()))?;
        // Almost every 32-byte string is a valid scalar; retry on the rare one that is not.
        if let Ok(key) = SigningKey::from_slice(&bytes) {
            break key;
        }
    };
    let private_pem = match password {
        Some(password) => encrypt_private_key(&key, password)?,
        None => key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| KeyError::Crypto(e.to_string()))?
            .to_string(),
    };
    let public_pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| KeyError::Crypto(e.to_string()))?;
    write_new(private_path, private_pem.as_bytes(), 0o600)?;
    write_new(public_path, public_pem.as_bytes(), 0o644)?;
    Ok(KeyPairFiles {
        private_key: private_path.to_path_buf(),
        public_key: public_path.to_path_buf(),
        encrypted: password.is_some(),
    })
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

#[derive(Serialize, Deserialize)]
struct EncryptedKey {
    kdf: Kdf,
    cipher: Cipher,
    #[serde(with = "b64")]
    ciphertext: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    name: String,
    params: ScryptParams,
    #[serde(with = "b64")]
    salt: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
#[allow(non_snake_case)]
struct ScryptParams {
    N: u64,
    r: u32,
    p: u32,
}

#[derive(Serialize, Deserialize)]
struct Cipher {
    name: String,
    #[serde(with = "b64")]
    nonce: Vec<u8>,
}

mod b64 {
    use super::BASE64;
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&BASE64.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        BASE64.decode(text).map_err(serde::de::Error::custom)
    }
}

fn derive_key(
    password: &[u8],
    salt: &[u8],
    log_n: u8,
    r: u32,
    p: u32,
) -> Result<[u8; 32], KeyError> {
    let params =
        scrypt::Params::new(log_n, r, p, 32).map_err(|e| KeyError::Crypto(e.to_string()))?;
    let mut key = [0u8; 32];
    scrypt::scrypt(password, salt, &params, &mut key)
        .map_err(|e| KeyError::Crypto(e.to_string()))?;
    Ok(key)
}

fn encrypt_private_key(key: &SigningKey, password: &[u8]) -> Result<String, KeyError> {
    let der = key
        .to_pkcs8_der()
        .map_err(|e| KeyError::Crypto(e.to_string()))?;
    let mut salt = [0u8; 32];
    let mut nonce = [0u8; 24];
    getrandom::fill(&mut salt).map_err(|e| KeyError::Crypto(e.to_string()))?;
    getrandom::fill(&mut nonce).map_err(|e| KeyError::Crypto(e.to_string()))?;
    let secret = derive_key(password, &salt, SCRYPT_LOG_N, 8, 1)?;
    let ciphertext = XSalsa20Poly1305::new(&secret.into())
        .encrypt(&nonce.into(), der.as_bytes())
        .map_err(|e| KeyError::Crypto(e.to_string()))?;
    let document = EncryptedKey {
        kdf: Kdf {
            name: "scrypt".into(),
            params: ScryptParams {
                N: 1 << SCRYPT_LOG_N,
                r: 8,
                p: 1,
            },
            salt: salt.to_vec(),
        },
        cipher: Cipher {
            name: "nacl/secretbox".into(),
            nonce: nonce.to_vec(),
        },
        ciphertext,
    };
    let json = serde_json::to_vec(&document).map_err(|e| KeyError::Crypto(e.to_string()))?;
    pem_rfc7468::encode_string(ENCRYPTED_KEY_LABEL, pem_rfc7468::LineEnding::LF, &json)
        .map_err(|e| KeyError::Crypto(e.to_string()))
}

impl PrivateKey {
    /// Reads a private key file: PKCS#8 `PRIVATE KEY`, or cosign's encrypted format with `password`.
    pub fn read(path: &Path, password: Option<&[u8]>) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let not_a_key = || KeyError::NotAKey {
            path: path.to_path_buf(),
            what: "private key",
            expected: "PRIVATE KEY` or `ENCRYPTED SIGSTORE PRIVATE KEY",
        };
        let (label, body) =
            pem_rfc7468::decode_vec(text.trim().as_bytes()).map_err(|_| not_a_key())?;
        match label {
            "PRIVATE KEY" => SigningKey::from_pkcs8_der(&body)
                .map(PrivateKey)
                .map_err(|_| not_a_key()),
            ENCRYPTED_KEY_LABEL | LEGACY_ENCRYPTED_KEY_LABEL => {
                let password = password.ok_or_else(|| KeyError::PasswordNeeded {
                    path: path.to_path_buf(),
                })?;
                let document: EncryptedKey =
                    serde_json::from_slice(&body).map_err(|_| not_a_key())?;
                if document.kdf.name != "scrypt" || document.cipher.name != "nacl/secretbox" {
                    return Err(not_a_key());
                }
                let n = document.kdf.params.N;
                if !n.is_power_of_two() || n < 2 {
                    return Err(not_a_key());
                }
                let secret = derive_key(
                    password,
                    &document.kdf.salt,
                    n.trailing_zeros() as u8,
                    document.kdf.params.r,
                    document.kdf.params.p,
                )?;
                let nonce: [u8; 24] = document.cipher.nonce.try_into().map_err(|_| not_a_key())?;
                let der = XSalsa20Poly1305::new(&secret.into())
                    .decrypt(&nonce.into(), document.ciphertext.as_slice())
                    .map_err(|_| KeyError::WrongPassword {
                        path: path.to_path_buf(),
                    })?;
                SigningKey::from_pkcs8_der(&der)
                    .map(PrivateKey)
                    .map_err(|_| not_a_key())
            }
            _ => Err(not_a_key()),
        }
    }

    /// Signs `payload`: base64 of the DER ECDSA signature over its SHA-256.
    pub fn sign(&self, payload: &[u8]) -> String {
        let signature: Signature = self.0.sign(payload);
        BASE64.encode(signature.to_der().as_bytes())
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(*self.0.verifying_key())
    }
}

impl PublicKey {
    /// Reads a PEM `PUBLIC KEY`.
    pub fn read(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        VerifyingKey::from_public_key_pem(text.trim())
            .map(PublicKey)
            .map_err(|_| KeyError::NotAKey {
                path: path.to_path_buf(),
                what: "P-256 public key",
                expected: "PUBLIC KEY",
            })
    }

    /// The key as a PEM `PUBLIC KEY`, as `faas keygen` writes it (for admission policies).
    pub fn to_pem(&self) -> String {
        self.0
            .to_public_key_pem(LineEnding::LF)
            .expect("a P-256 public key encodes")
    }

    /// Whether `signature_b64` is a valid signature of `payload` by this key.
    pub fn verify(&self, payload: &[u8], signature_b64: &str) -> bool {
        let Ok(der) = BASE64.decode(signature_b64.trim()) else {
            return false;
        };
        let Ok(signature) = Signature::from_der(&der) else {
            return false;
        };
        self.0.verify(payload, &signature).is_ok()
    }
}

/// The simple-signing payload for `manifest_digest` in `repository` (`registry/repo`).
pub fn simple_signing_payload(repository: &str, manifest_digest: &str) -> Vec<u8> {
    let payload = serde_json::json!({
        "critical": {
            "identity": { "docker-reference": repository },
            "image": { "docker-manifest-digest": manifest_digest },
            "type": "cosign container image signature",
        },
        "optional": null,
    });
    serde_json::to_vec(&payload).expect("JSON serialises")
}

/// The manifest digest a simple-signing payload names, if it is one.
pub fn signed_digest(payload: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(payload).ok()?;
    if value["critical"]["type"] != "cosign container image signature" {
        return None;
    }
    value["critical"]["image"]["docker-manifest-digest"]
        .as_str()
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_with_the_pair_and_not_with_another_key() {
        let dir = tempfile::tempdir().unwrap();
        let (k, p) = (dir.path().join("k"), dir.path().join("p"));
        generate(&k, &p, None).unwrap();
        let key = PrivateKey::read(&k, None).unwrap();
        let public = PublicKey::read(&p).unwrap();
        let payload = simple_signing_payload("r/x", "sha256:00");
        let sig = key.sign(&payload);
        assert!(public.verify(&payload, &sig));
        assert!(!public.verify(b"other payload", &sig));
        let (k2, p2) = (dir.path().join("k2"), dir.path().join("p2"));
        generate(&k2, &p2, None).unwrap();
        assert!(!PublicKey::read(&p2).unwrap().verify(&payload, &sig));
        assert_eq!(signed_digest(&payload).unwrap(), "sha256:00");
    }

    #[test]
    fn encrypted_keys_need_the_right_password() {
        let dir = tempfile::tempdir().unwrap();
        let (k, p) = (dir.path().join("k"), dir.path().join("p"));
        let files = generate(&k, &p, Some(b"s3cret")).unwrap();
        assert!(files.encrypted);
        let text = std::fs::read_to_string(&k).unwrap();
        assert!(text.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----"));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&k).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(matches!(
            PrivateKey::read(&k, None),
            Err(KeyError::PasswordNeeded { .. })
        ));
        assert!(matches!(
            PrivateKey::read(&k, Some(b"wrong")),
            Err(KeyError::WrongPassword { .. })
        ));
        let key = PrivateKey::read(&k, Some(b"s3cret")).unwrap();
        let sig = key.sign(b"x");
        assert!(PublicKey::read(&p).unwrap().verify(b"x", &sig));
    }

    #[test]
    fn files_that_are_not_keys_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("junk.pem");
        std::fs::write(&f, "hello").unwrap();
        let e = PrivateKey::read(&f, None).err().unwrap().to_string();
        assert!(e.contains("junk.pem: not a private key"), "{e}");
        let e = PublicKey::read(&f).err().unwrap().to_string();
        assert!(e.contains("junk.pem: not a P-256 public key"), "{e}");
        assert!(matches!(
            generate(&f, &dir.path().join("x"), None),
            Err(KeyError::Exists { .. })
        ));
    }
}
