//! `[auth.hmac]` (webhook signatures), `[[limit]]` (rate limits) and `[audit]`: checked and
//! compiled into the [`faas_policy_core`] settings the decorator and the verifier layer apply.

use super::file::{AuditTable, HmacTable, LimitTable};
use crate::source::{SourceFile, TextError};
use faas_policy_core::{
    AuditLevel, DigestEncoding, Hmac, HmacAlgorithm, Limit, LimitKey, SignatureFormat, is_token,
};
use toml::Spanned;

/// The longest window a limit may have: a day. Longer windows are quotas, which a fixed-window
/// counter in a key-value store is not the tool for.
const MAX_WINDOW_SECONDS: u32 = 86_400;

/// Stripe's own default tolerance for a signature's timestamp.
const DEFAULT_TOLERANCE_SECONDS: u32 = 300;

pub(super) fn compile_hmac(
    source: &SourceFile,
    table: &Spanned<HmacTable>,
) -> Result<Hmac, TextError> {
    let err = |span: std::ops::Range<usize>, message: String| source.error_at(Some(span), message);
    let t = table.get_ref();
    let provider = t
        .provider
        .as_ref()
        .map(|p| (p.get_ref().as_str(), p.span()));
    // A provider fixes the layout: its own header, prefix and encoding are not settings.
    if let Some((name, _)) = &provider {
        let fixed: [(&str, Option<std::ops::Range<usize>>); 4] = [
            ("header", t.header.as_ref().map(Spanned::span)),
            ("prefix", t.prefix.as_ref().map(Spanned::span)),
            ("encoding", t.encoding.as_ref().map(Spanned::span)),
            ("algorithm", t.algorithm.as_ref().map(Spanned::span)),
        ];
        if let Some((key, Some(span))) = fixed.into_iter().find(|(_, span)| span.is_some()) {
            return Err(err(
                span,
                format!(
                    "`{key}` is fixed by `provider = \"{name}\"`; leave it out, or leave out \
                     `provider` to describe the signature yourself"
                ),
            ));
        }
    }
    if let Some(tolerance) = &t.tolerance_seconds
        && provider.as_ref().is_none_or(|(name, _)| *name != "stripe")
    {
        return Err(err(
            tolerance.span(),
            "`tolerance-seconds` applies to timestamped signatures (`provider = \"stripe\"`) only"
                .into(),
        ));
    }
    let (header, format, algorithm, default_subject) = match provider {
        Some(("github", _)) => (
            "x-hub-signature-256".to_string(),
            SignatureFormat::Prefixed {
                prefix: "sha256=".into(),
                encoding: DigestEncoding::Hex,
            },
            HmacAlgorithm::Sha256,
            "github",
        ),
        Some(("stripe", _)) => {
            let tolerance = t
                .tolerance_seconds
                .as_ref()
                .map_or(DEFAULT_TOLERANCE_SECONDS, |t| *t.get_ref());
            if tolerance == 0 || tolerance > 3600 {
                return Err(err(
                    t.tolerance_seconds.as_ref().expect("set").span(),
                    "`tolerance-seconds` must be 1 to 3600: a longer one lets old requests be \
                     replayed"
                        .into(),
                ));
            }
            (
                "stripe-signature".to_string(),
                SignatureFormat::Timestamped {
                    tolerance_seconds: tolerance,
                },
                HmacAlgorithm::Sha256,
                "stripe",
            )
        }
        Some((other, span)) => {
            return Err(err(
                span,
                format!(
                    "unknown provider `{other}`: use \"github\" or \"stripe\", or leave \
                     `provider` out and set `header`, `prefix`, `encoding` and `algorithm`"
                ),
            ));
        }
        None => {
            let Some(header) = &t.header else {
                return Err(err(
                    table.span(),
                    "[auth.hmac] needs a `provider` (\"github\", \"stripe\") or the `header` \
                     that carries the signature"
                        .into(),
                ));
            };
            let encoding = match t
                .encoding
                .as_ref()
                .map(|e| (e.get_ref().as_str(), e.span()))
            {
                None | Some(("hex", _)) => DigestEncoding::Hex,
                Some(("base64", _)) => DigestEncoding::Base64,
                Some((other, span)) => {
                    return Err(err(
                        span,
                        format!("unknown encoding `{other}`: use \"hex\" or \"base64\""),
                    ));
                }
            };
            let algorithm = match t
                .algorithm
                .as_ref()
                .map(|a| (a.get_ref().as_str(), a.span()))
            {
                None | Some(("sha256", _)) => HmacAlgorithm::Sha256,
                Some(("sha512", _)) => HmacAlgorithm::Sha512,
                Some((other, span)) => {
                    return Err(err(
                        span,
                        format!("unsupported algorithm `{other}`: use \"sha256\" or \"sha512\""),
                    ));
                }
            };
            let prefix = t
                .prefix
                .as_ref()
                .map(|p| p.get_ref().clone())
                .unwrap_or_default();
            (
                header.get_ref().0.clone(),
                SignatureFormat::Prefixed { prefix, encoding },
                algorithm,
                "webhook",
            )
        }
    };
    Ok(Hmac {
        header,
        format,
        algorithm,
        secret: t
            .secret
            .get_ref()
            .config_key()
            .map_err(|why| err(t.secret.span(), why))?,
        subject: t
            .subject
            .as_ref()
            .map_or(default_subject.to_string(), |s| s.get_ref().0.clone()),
    })
}

pub(super) fn compile_limits(
    source: &SourceFile,
    tables: &[Spanned<LimitTable>],
) -> Result<Vec<Limit>, TextError> {
    let err = |span: std::ops::Range<usize>, message: String| source.error_at(Some(span), message);
    let mut limits = Vec::new();
    for table in tables {
        let t = table.get_ref();
        if *t.requests.get_ref() == 0 {
            return Err(err(
                t.requests.span(),
                "`requests = 0` refuses every request; remove the routes from the rules instead"
                    .into(),
            ));
        }
        let window = *t.window_seconds.get_ref();
        if window == 0 || window > MAX_WINDOW_SECONDS {
            return Err(err(
                t.window_seconds.span(),
                format!("`window-seconds` must be 1 to {MAX_WINDOW_SECONDS} (a day)"),
            ));
        }
        if let Some(methods) = &t.methods
            && methods.get_ref().is_empty()
        {
            return Err(err(
                methods.span(),
                "`methods = []` makes this limit apply to nothing; leave it out for any method"
                    .into(),
            ));
        }
        let key = match t.key.get_ref().as_str() {
            "subject" => LimitKey::Subject,
            "global" => LimitKey::Global,
            other => match other.strip_prefix("header:") {
                Some(name) if is_token(name) => LimitKey::Header(name.to_ascii_lowercase()),
                _ => {
                    return Err(err(
                        t.key.span(),
                        format!(
                            "invalid limit key `{other}`: use \"subject\" (the authenticated \
                             caller), \"header:NAME\" (e.g. a client address a trusted proxy \
                             sets) or \"global\""
                        ),
                    ));
                }
            },
        };
        limits.push(Limit {
            path: t
                .path
                .as_ref()
                .map_or("/**".to_string(), |p| p.get_ref().0.clone()),
            methods: t
                .methods
                .as_ref()
                .map(|m| m.get_ref().iter().map(|m| m.0.clone()).collect())
                .unwrap_or_default(),
            requests: *t.requests.get_ref(),
            window_seconds: window,
            key,
        });
    }
    Ok(limits)
}

pub(super) fn compile_audit(
    source: &SourceFile,
    table: Option<&AuditTable>,
) -> Result<AuditLevel, TextError> {
    let Some(table) = table else {
        return Ok(AuditLevel::All);
    };
    match table.decisions.get_ref().as_str() {
        "all" => Ok(AuditLevel::All),
        "refusals" => Ok(AuditLevel::Refusals),
        other => Err(source.error_at(
            Some(table.decisions.span()),
            format!(
                "unknown audit setting `{other}`: use \"all\" (every decision) or \"refusals\""
            ),
        )),
    }
}
