//! DSSE envelopes (Dead Simple Signing Envelope v1), the form in-toto attestations are signed in
//! and `cosign attest` stores them: the signature is over the pre-authentication encoding
//! ([`pae`]) of the payload type and the payload, never over re-serialised JSON.

use crate::sign::{PrivateKey, PublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

/// The payload type of an in-toto statement.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// A DSSE envelope, as stored (JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// What the payload is.
    pub payload_type: String,
    /// The payload, base64.
    pub payload: String,
    /// The signatures over its pre-authentication encoding.
    pub signatures: Vec<EnvelopeSignature>,
}

/// One signature of an envelope.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    /// A hint naming the key; empty, as cosign writes it for key-pair signatures.
    #[serde(default)]
    pub keyid: String,
    /// The signature, base64 (ECDSA P-256 over SHA-256, DER).
    pub sig: String,
}

/// The pre-authentication encoding DSSE signs: `DSSEv1 <len> <type> <len> <payload>`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut bytes = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    bytes.extend_from_slice(payload);
    bytes
}

/// Signs `payload` (an in-toto statement) into an envelope's JSON bytes.
pub fn seal(key: &PrivateKey, payload: &[u8]) -> Vec<u8> {
    let envelope = Envelope {
        payload_type: IN_TOTO_PAYLOAD_TYPE.to_string(),
        payload: BASE64.encode(payload),
        signatures: vec![EnvelopeSignature {
            keyid: String::new(),
            sig: key.sign(&pae(IN_TOTO_PAYLOAD_TYPE, payload)),
        }],
    };
    serde_json::to_vec(&envelope).expect("envelopes serialise")
}

/// Why an envelope was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Not a DSSE envelope at all.
    #[error("not a DSSE envelope ({0})")]
    Malformed(String),
    /// Its payload is not an in-toto statement.
    #[error("its payload type is `{0}`, not an in-toto statement")]
    PayloadType(String),
    /// No signature verifies with the key.
    #[error("its signature does not verify with this key")]
    Signature,
}

/// The payload of the envelope `bytes`, when one of its signatures verifies with `key`.
pub fn open(bytes: &[u8], key: &PublicKey) -> Result<Vec<u8>, OpenError> {
    let envelope: Envelope =
        serde_json::from_slice(bytes).map_err(|e| OpenError::Malformed(e.to_string()))?;
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(OpenError::PayloadType(envelope.payload_type));
    }
    let payload = BASE64
        .decode(envelope.payload.trim())
        .map_err(|e| OpenError::Malformed(format!("payload: {e}")))?;
    let encoded = pae(&envelope.payload_type, &payload);
    if envelope
        .signatures
        .iter()
        .any(|s| key.verify(&encoded, &s.sig))
    {
        Ok(payload)
    } else {
        Err(OpenError::Signature)
    }
}

/// The payload of the envelope `bytes`, unverified (for `faas inspect`).
pub fn payload_unverified(bytes: &[u8]) -> Option<Vec<u8>> {
    let envelope: Envelope = serde_json::from_slice(bytes).ok()?;
    BASE64.decode(envelope.payload.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_encoding_is_the_one_the_dsse_specification_gives() {
        // The example of the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }

    #[test]
    fn an_envelope_opens_with_its_key_only_and_not_after_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let (k, p, p2) = (
            dir.path().join("k"),
            dir.path().join("p"),
            dir.path().join("p2"),
        );
        crate::sign::generate(&k, &p, None).unwrap();
        crate::sign::generate(&dir.path().join("k2"), &p2, None).unwrap();
        let key = PrivateKey::read(&k, None).unwrap();
        let sealed = seal(&key, br#"{"_type":"x"}"#);
        let public = PublicKey::read(&p).unwrap();
        assert_eq!(open(&sealed, &public).unwrap(), br#"{"_type":"x"}"#);
        assert_eq!(
            open(&sealed, &PublicKey::read(&p2).unwrap()),
            Err(OpenError::Signature)
        );
        let mut envelope: Envelope = serde_json::from_slice(&sealed).unwrap();
        envelope.payload = BASE64.encode(br#"{"_type":"y"}"#);
        let tampered = serde_json::to_vec(&envelope).unwrap();
        assert_eq!(open(&tampered, &public), Err(OpenError::Signature));
        envelope.payload_type = "text/plain".into();
        let retyped = serde_json::to_vec(&envelope).unwrap();
        assert!(matches!(
            open(&retyped, &public),
            Err(OpenError::PayloadType(_))
        ));
        // RFC 6979 signatures: the same statement seals to the same bytes.
        assert_eq!(seal(&key, br#"{"_type":"x"}"#), sealed);
    }
}
