//! The binary policy document: a magic number, the version, then the policy's fields in a fixed
//! order (little-endian integers, length-prefixed strings and lists), then a checksum of all of
//! it. Small and free of parsing dependencies, so the decorator stays lean.
//!
//! The checksum (64-bit FNV-1a) makes a damaged document fail closed: without it, one flipped bit
//! could turn a rule's access tag from "scopes" into "public", or a scope into another, and still
//! decode (`tests/properties.rs` fails without it). Every step of FNV-1a is a bijection
//! of its state, so any change of a single byte always changes the sum; it is not a signature (the
//! artifact's signature is that), and costs a fraction of a microsecond per decode.

use alloc::string::String;
use alloc::vec::Vec;

use crate::{
    Access, ApiKey, AuditLevel, Cors, DOCUMENT_VERSION, DigestEncoding, Filters, FunctionCaller,
    Grant, Hmac, HmacAlgorithm, Jwt, Limit, LimitKey, Messaging, Policy, RemoteJwks, Rule,
    SignatureFormat, ValueSource,
};

const MAGIC: &[u8; 8] = b"faaspol\0";

/// Why a policy document could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Not a policy document.
    BadMagic,
    /// A document of another version.
    Version(u16),
    /// The document ends early or has bytes left over.
    Truncated,
    /// A field holds an impossible value.
    Invalid(&'static str),
    /// The checksum does not match: the document was damaged.
    Checksum,
}

/// 64-bit FNV-1a of `bytes`.
fn checksum(bytes: &[u8]) -> u64 {
    let mut sum: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        sum ^= u64::from(*byte);
        sum = sum.wrapping_mul(0x0000_0100_0000_01b3);
    }
    sum
}

/// The length of the checksum at the end of a document.
const CHECKSUM_BYTES: usize = 8;

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            DecodeError::BadMagic => f.write_str("not a faas policy document"),
            DecodeError::Version(v) => write!(
                f,
                "policy document version {v}, expected {DOCUMENT_VERSION}"
            ),
            DecodeError::Truncated => {
                f.write_str("policy document is truncated or has trailing bytes")
            }
            DecodeError::Invalid(what) => write!(f, "policy document has an invalid {what}"),
            DecodeError::Checksum => {
                f.write_str("policy document is damaged (its checksum does not match)")
            }
        }
    }
}

impl core::error::Error for DecodeError {}

impl Policy {
    /// The document's bytes. The same policy always gives the same bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(256));
        w.0.extend_from_slice(MAGIC);
        w.u16(DOCUMENT_VERSION);
        w.str(&self.api_key_header);
        w.u32(self.api_keys.len() as u32);
        for key in &self.api_keys {
            w.str(&key.id);
            w.0.extend_from_slice(&key.digest);
            w.strs(&key.scopes);
        }
        w.strs(&self.filters.methods);
        w.u64(self.filters.max_body_bytes);
        w.strs(&self.filters.required_headers);
        w.strs(&self.filters.content_types);
        match &self.cors {
            None => w.u8(0),
            Some(cors) => {
                w.u8(1);
                w.strs(&cors.origins);
                w.strs(&cors.methods);
                w.strs(&cors.headers);
                w.u32(cors.max_age);
            }
        }
        w.u32(self.rules.len() as u32);
        for rule in &self.rules {
            w.strs(&rule.methods);
            w.str(&rule.path);
            match &rule.access {
                Access::Public => w.u8(0),
                Access::Scopes(scopes) => {
                    w.u8(1);
                    w.strs(scopes);
                }
            }
            w.u8(rule.signed.into());
        }
        match &self.jwt {
            None => w.u8(0),
            Some(jwt) => {
                w.u8(1);
                w.strs(&jwt.issuers);
                w.strs(&jwt.audiences);
                w.strs(&jwt.algorithms);
                w.u32(jwt.leeway_seconds);
                w.strs(&jwt.required_claims);
                w.str(&jwt.scopes_claim);
                w.str(&jwt.subject_claim);
                w.u32(jwt.max_token_bytes);
                w.u32(jwt.max_lifetime_seconds.unwrap_or(0));
                match &jwt.hs256_secret {
                    None => w.u8(0),
                    Some(name) => {
                        w.u8(1);
                        w.str(name);
                    }
                }
                w.strs(&jwt.jwks);
                match &jwt.remote_jwks {
                    None => w.u8(0),
                    Some(remote) => {
                        w.u8(1);
                        w.str(&remote.uri);
                        w.u32(remote.cache_seconds);
                        w.u32(remote.min_refresh_seconds);
                    }
                }
            }
        }
        w.u32(self.credentials.len() as u32);
        for grant in &self.credentials {
            w.str(&grant.name);
            w.str(&grant.key);
            w.u8(match grant.source {
                ValueSource::Config => 0,
                ValueSource::Secrets => 1,
            });
        }
        match &self.messaging {
            None => w.u8(0),
            Some(m) => {
                w.u8(1);
                w.strs(&m.subjects);
                w.strs(&m.scopes);
            }
        }
        match &self.hmac {
            None => w.u8(0),
            Some(hmac) => {
                w.u8(1);
                w.str(&hmac.header);
                match &hmac.format {
                    SignatureFormat::Prefixed { prefix, encoding } => {
                        w.u8(0);
                        w.str(prefix);
                        w.u8(match encoding {
                            DigestEncoding::Hex => 0,
                            DigestEncoding::Base64 => 1,
                        });
                    }
                    SignatureFormat::Timestamped { tolerance_seconds } => {
                        w.u8(1);
                        w.u32(*tolerance_seconds);
                    }
                }
                w.u8(match hmac.algorithm {
                    HmacAlgorithm::Sha256 => 0,
                    HmacAlgorithm::Sha512 => 1,
                });
                w.str(&hmac.secret);
                w.str(&hmac.subject);
            }
        }
        w.u32(self.limits.len() as u32);
        for limit in &self.limits {
            w.str(&limit.path);
            w.strs(&limit.methods);
            w.u32(limit.requests);
            w.u32(limit.window_seconds);
            match &limit.key {
                LimitKey::Subject => w.u8(0),
                LimitKey::Header(name) => {
                    w.u8(1);
                    w.str(name);
                }
                LimitKey::Global => w.u8(2),
            }
        }
        w.u8(match self.audit {
            AuditLevel::All => 0,
            AuditLevel::Refusals => 1,
        });
        w.u32(self.functions.len() as u32);
        for caller in &self.functions {
            w.str(&caller.id);
            w.strs(&caller.scopes);
        }
        let sum = checksum(&w.0);
        w.0.extend_from_slice(&sum.to_le_bytes());
        w.0
    }

    /// Reads a document written by [`Policy::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Policy, DecodeError> {
        let mut r = Reader(bytes);
        if r.take(MAGIC.len())? != MAGIC {
            return Err(DecodeError::BadMagic);
        }
        let version = r.u16()?;
        if version != DOCUMENT_VERSION {
            return Err(DecodeError::Version(version));
        }
        // Nothing is read from a document whose checksum does not match.
        let Some(body) = bytes.len().checked_sub(CHECKSUM_BYTES) else {
            return Err(DecodeError::Truncated);
        };
        let (content, sum) = bytes.split_at(body);
        if body < MAGIC.len() + 2 {
            return Err(DecodeError::Truncated);
        }
        if sum != checksum(content).to_le_bytes() {
            return Err(DecodeError::Checksum);
        }
        let mut r = Reader(&content[MAGIC.len() + 2..]);
        let api_key_header = r.str()?;
        let mut api_keys = Vec::new();
        for _ in 0..r.count()? {
            let id = r.str()?;
            let digest = r.take(32)?.try_into().map_err(|_| DecodeError::Truncated)?;
            let scopes = r.strs()?;
            api_keys.push(ApiKey { id, digest, scopes });
        }
        let filters = Filters {
            methods: r.strs()?,
            max_body_bytes: r.u64()?,
            required_headers: r.strs()?,
            content_types: r.strs()?,
        };
        let cors = match r.u8()? {
            0 => None,
            1 => Some(Cors {
                origins: r.strs()?,
                methods: r.strs()?,
                headers: r.strs()?,
                max_age: r.u32()?,
            }),
            _ => return Err(DecodeError::Invalid("cors flag")),
        };
        let mut rules = Vec::new();
        for _ in 0..r.count()? {
            let methods = r.strs()?;
            let path = r.str()?;
            let access = match r.u8()? {
                0 => Access::Public,
                1 => Access::Scopes(r.strs()?),
                _ => return Err(DecodeError::Invalid("rule access")),
            };
            let signed = r.flag("rule signature")?;
            rules.push(Rule {
                methods,
                path,
                access,
                signed,
            });
        }
        let jwt = match r.u8()? {
            0 => None,
            1 => Some(Jwt {
                issuers: r.strs()?,
                audiences: r.strs()?,
                algorithms: r.strs()?,
                leeway_seconds: r.u32()?,
                required_claims: r.strs()?,
                scopes_claim: r.str()?,
                subject_claim: r.str()?,
                max_token_bytes: r.u32()?,
                // 0 means no limit: a policy cannot set a zero lifetime.
                max_lifetime_seconds: Some(r.u32()?).filter(|&n| n > 0),
                hs256_secret: match r.u8()? {
                    0 => None,
                    1 => Some(r.str()?),
                    _ => return Err(DecodeError::Invalid("jwt secret flag")),
                },
                jwks: r.strs()?,
                remote_jwks: match r.u8()? {
                    0 => None,
                    1 => Some(RemoteJwks {
                        uri: r.str()?,
                        cache_seconds: r.u32()?,
                        min_refresh_seconds: r.u32()?,
                    }),
                    _ => return Err(DecodeError::Invalid("remote jwks flag")),
                },
            }),
            _ => return Err(DecodeError::Invalid("jwt flag")),
        };
        let mut credentials = Vec::new();
        for _ in 0..r.count()? {
            credentials.push(Grant {
                name: r.str()?,
                key: r.str()?,
                source: match r.u8()? {
                    0 => ValueSource::Config,
                    1 => ValueSource::Secrets,
                    _ => return Err(DecodeError::Invalid("credential source")),
                },
            });
        }
        let messaging = match r.u8()? {
            0 => None,
            1 => Some(Messaging {
                subjects: r.strs()?,
                scopes: r.strs()?,
            }),
            _ => return Err(DecodeError::Invalid("messaging flag")),
        };
        let hmac = match r.u8()? {
            0 => None,
            1 => Some(Hmac {
                header: r.str()?,
                format: match r.u8()? {
                    0 => SignatureFormat::Prefixed {
                        prefix: r.str()?,
                        encoding: match r.u8()? {
                            0 => DigestEncoding::Hex,
                            1 => DigestEncoding::Base64,
                            _ => return Err(DecodeError::Invalid("signature encoding")),
                        },
                    },
                    1 => SignatureFormat::Timestamped {
                        tolerance_seconds: r.u32()?,
                    },
                    _ => return Err(DecodeError::Invalid("signature format")),
                },
                algorithm: match r.u8()? {
                    0 => HmacAlgorithm::Sha256,
                    1 => HmacAlgorithm::Sha512,
                    _ => return Err(DecodeError::Invalid("signature algorithm")),
                },
                secret: r.str()?,
                subject: r.str()?,
            }),
            _ => return Err(DecodeError::Invalid("hmac flag")),
        };
        let mut limits = Vec::new();
        for _ in 0..r.count()? {
            let path = r.str()?;
            let methods = r.strs()?;
            let requests = r.u32()?;
            let window_seconds = r.u32()?;
            let key = match r.u8()? {
                0 => LimitKey::Subject,
                1 => LimitKey::Header(r.str()?),
                2 => LimitKey::Global,
                _ => return Err(DecodeError::Invalid("limit key")),
            };
            // A zero window would divide by zero at run time: never written by faas wrap.
            if window_seconds == 0 {
                return Err(DecodeError::Invalid("limit window"));
            }
            limits.push(Limit {
                path,
                methods,
                requests,
                window_seconds,
                key,
            });
        }
        let audit = match r.u8()? {
            0 => AuditLevel::All,
            1 => AuditLevel::Refusals,
            _ => return Err(DecodeError::Invalid("audit level")),
        };
        let mut functions = Vec::new();
        for _ in 0..r.count()? {
            functions.push(FunctionCaller {
                id: r.str()?,
                scopes: r.strs()?,
            });
        }
        if !r.0.is_empty() {
            return Err(DecodeError::Truncated);
        }
        Ok(Policy {
            api_key_header,
            api_keys,
            filters,
            cors,
            rules,
            jwt,
            credentials,
            messaging,
            hmac,
            limits,
            audit,
            functions,
        })
    }
}

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.0.extend_from_slice(s.as_bytes());
    }
    fn strs(&mut self, items: &[String]) {
        self.u32(items.len() as u32);
        for s in items {
            self.str(s);
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.0.len() < n {
            return Err(DecodeError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    fn flag(&mut self, what: &'static str) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::Invalid(what)),
        }
    }
    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().unwrap()))
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    /// A list length, bounded by the bytes left so a corrupt count cannot make us allocate wildly.
    fn count(&mut self) -> Result<usize, DecodeError> {
        let n = self.u32()? as usize;
        if n > self.0.len() {
            return Err(DecodeError::Truncated);
        }
        Ok(n)
    }
    fn str(&mut self) -> Result<String, DecodeError> {
        let n = self.u32()? as usize;
        let bytes = self.take(n)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::Invalid("string"))
    }
    fn strs(&mut self) -> Result<Vec<String>, DecodeError> {
        let n = self.count()?;
        (0..n).map(|_| self.str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn sample() -> Policy {
        Policy {
            api_key_header: "authorization".into(),
            api_keys: vec![ApiKey {
                id: "ci".into(),
                digest: [7; 32],
                scopes: vec!["read".into(), "write".into()],
            }],
            filters: Filters {
                methods: vec!["GET".into()],
                max_body_bytes: 10,
                required_headers: vec!["x-request-id".into()],
                content_types: vec!["application/json".into()],
            },
            cors: Some(Cors {
                origins: vec!["https://a.example".into()],
                methods: vec!["GET".into()],
                headers: vec!["authorization".into()],
                max_age: 60,
            }),
            rules: vec![
                Rule {
                    methods: vec![],
                    path: "/health".into(),
                    access: Access::Public,
                    signed: false,
                },
                Rule {
                    methods: vec!["GET".into()],
                    path: "/**".into(),
                    access: Access::Scopes(vec!["read".into()]),
                    signed: true,
                },
            ],
            jwt: Some(Jwt {
                issuers: vec!["https://id.example".into()],
                audiences: vec!["api".into()],
                algorithms: vec!["RS256".into(), "HS256".into()],
                leeway_seconds: 30,
                required_claims: vec!["sub".into()],
                scopes_claim: "scope".into(),
                subject_claim: "sub".into(),
                max_token_bytes: 8192,
                max_lifetime_seconds: Some(3600),
                hs256_secret: Some("jwt-secret".into()),
                jwks: vec!["{\"kty\":\"RSA\"}".into()],
                remote_jwks: Some(RemoteJwks {
                    uri: "https://id.example/.well-known/jwks.json".into(),
                    cache_seconds: 300,
                    min_refresh_seconds: 30,
                }),
            }),
            credentials: vec![Grant {
                name: "db".into(),
                key: "db-password".into(),
                source: ValueSource::Config,
            }],
            messaging: Some(Messaging {
                subjects: vec!["orders.>".into()],
                scopes: vec!["orders:write".into()],
            }),
            hmac: Some(Hmac {
                header: "stripe-signature".into(),
                format: SignatureFormat::Timestamped {
                    tolerance_seconds: 300,
                },
                algorithm: HmacAlgorithm::Sha512,
                secret: "hook-secret".into(),
                subject: "stripe".into(),
            }),
            limits: vec![
                Limit {
                    path: "/**".into(),
                    methods: vec!["POST".into()],
                    requests: 50,
                    window_seconds: 60,
                    key: LimitKey::Header("x-tenant".into()),
                },
                Limit {
                    path: "/api/*".into(),
                    methods: vec![],
                    requests: 5,
                    window_seconds: 1,
                    key: LimitKey::Subject,
                },
            ],
            audit: AuditLevel::Refusals,
            functions: vec![FunctionCaller {
                id: "checkout".into(),
                scopes: vec!["prices:read".into()],
            }],
        }
    }

    #[test]
    fn round_trip_preserves_every_field() {
        let policy = sample();
        assert_eq!(Policy::decode(&policy.encode()).unwrap(), policy);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = sample().encode();
        // Shorter than the magic, the version and a checksum: truncated; longer: the last eight
        // bytes are no checksum of the rest.
        let header_and_checksum = MAGIC.len() + 2 + CHECKSUM_BYTES;
        for len in 0..bytes.len() {
            let expected = if len < header_and_checksum {
                DecodeError::Truncated
            } else {
                DecodeError::Checksum
            };
            assert_eq!(
                Policy::decode(&bytes[..len]),
                Err(expected),
                "prefix of {len} bytes"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Policy::decode(&longer).is_err());
    }

    #[test]
    fn each_error_says_what_is_wrong_with_the_document() {
        use alloc::string::ToString;
        let version = alloc::format!("policy document version 9, expected {DOCUMENT_VERSION}");
        for (error, text) in [
            (DecodeError::BadMagic, "not a faas policy document"),
            (DecodeError::Version(9), version.as_str()),
            (
                DecodeError::Truncated,
                "policy document is truncated or has trailing bytes",
            ),
            (
                DecodeError::Invalid("cors flag"),
                "policy document has an invalid cors flag",
            ),
            (
                DecodeError::Checksum,
                "policy document is damaged (its checksum does not match)",
            ),
        ] {
            assert_eq!(error.to_string(), text);
        }
    }

    #[test]
    fn other_versions_are_refused() {
        let mut bytes = sample().encode();
        bytes[8] = 9;
        assert_eq!(Policy::decode(&bytes), Err(DecodeError::Version(9)));
    }

    /// Each variant of each field, in a policy of its own beside the sample: every tag the
    /// decoder reads is one some policy writes.
    #[test]
    fn every_variant_round_trips() {
        let mut variants = alloc::vec![Policy::default(), sample()];
        let mut bare = sample();
        bare.cors = None;
        bare.jwt = None;
        bare.messaging = None;
        bare.hmac = None;
        bare.rules[1].access = Access::Public;
        bare.audit = AuditLevel::All;
        bare.credentials[0].source = ValueSource::Secrets;
        variants.push(bare);
        let jwt = sample().jwt.unwrap();
        for (secret, remote, lifetime) in [(None, None, None), (Some("s".into()), None, Some(1))] {
            let mut policy = sample();
            policy.jwt = Some(Jwt {
                hs256_secret: secret,
                remote_jwks: remote,
                max_lifetime_seconds: lifetime,
                ..jwt.clone()
            });
            variants.push(policy);
        }
        for format in [
            SignatureFormat::Prefixed {
                prefix: "sha256=".into(),
                encoding: DigestEncoding::Hex,
            },
            SignatureFormat::Prefixed {
                prefix: "".into(),
                encoding: DigestEncoding::Base64,
            },
        ] {
            for algorithm in [HmacAlgorithm::Sha256, HmacAlgorithm::Sha512] {
                let mut policy = sample();
                let hmac = policy.hmac.as_mut().unwrap();
                hmac.format = format.clone();
                hmac.algorithm = algorithm;
                variants.push(policy);
            }
        }
        for key in [
            LimitKey::Subject,
            LimitKey::Header("x-tenant".into()),
            LimitKey::Global,
        ] {
            let mut policy = sample();
            policy.limits[0].key = key;
            variants.push(policy);
        }
        for policy in variants {
            assert_eq!(
                Policy::decode(&policy.encode()),
                Ok(policy.clone()),
                "{policy:?}"
            );
        }
    }

    #[test]
    fn a_count_larger_than_the_bytes_left_is_refused_before_allocating() {
        // The count of `[filters] methods` of an empty policy (a list read with one allocation
        // for all its items), claiming far more items than the document has bytes.
        let mut bytes = Policy::default().encode();
        bytes.truncate(bytes.len() - CHECKSUM_BYTES);
        let at = MAGIC.len() + 2 + 4 + 4;
        assert_eq!(bytes[at..at + 4], [0, 0, 0, 0]);
        bytes[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let sum = checksum(&bytes);
        bytes.extend_from_slice(&sum.to_le_bytes());
        assert_eq!(Policy::decode(&bytes), Err(DecodeError::Truncated));
    }
}
