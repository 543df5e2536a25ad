//! W3C Trace Context (`traceparent`): the decorator continues a valid trace or starts one, and
//! gives the function the header with its own span as the parent, so one request can be followed
//! from the client through the layers to the function's own calls.

use alloc::string::String;

use crate::hex;

/// A trace position: the trace id (32 hex digits), the span id (16) and the flags (2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    /// 16 bytes as lower-case hex.
    pub trace_id: String,
    /// 8 bytes as lower-case hex: this decorator's span.
    pub span_id: String,
    /// The trace flags as two hex digits (`01`: sampled).
    pub flags: String,
}

impl TraceContext {
    /// The context for the function: the client's trace continued when its `traceparent` is
    /// valid (version 00, non-zero ids), a new trace otherwise; `random` supplies 24 fresh bytes
    /// (a new trace id, then the span id).
    pub fn continue_or_start(traceparent: Option<&str>, random: &[u8; 24]) -> TraceContext {
        let span_id = hex(&random[16..]);
        match traceparent.and_then(parse) {
            Some((trace_id, flags)) => TraceContext {
                trace_id: trace_id.into(),
                span_id,
                flags: flags.into(),
            },
            None => TraceContext {
                trace_id: hex(&random[..16]),
                span_id,
                flags: "01".into(),
            },
        }
    }

    /// As [`TraceContext::continue_or_start`], with the request's header fields (names lower-case):
    /// a request with two `traceparent` fields has none that counts.
    pub fn from_headers(headers: &[(String, String)], random: &[u8; 24]) -> TraceContext {
        let mut values = headers.iter().filter(|(k, _)| k == "traceparent");
        let traceparent = match (values.next(), values.next()) {
            (Some((_, value)), None) => Some(value.as_str()),
            _ => None,
        };
        TraceContext::continue_or_start(traceparent, random)
    }

    /// The `traceparent` value to pass on.
    pub fn header(&self) -> String {
        let mut out = String::with_capacity(55);
        for part in ["00-", &self.trace_id, "-", &self.span_id, "-", &self.flags] {
            out.push_str(part);
        }
        out
    }
}

/// The trace id and flags of a valid version-00 `traceparent`.
fn parse(value: &str) -> Option<(&str, &str)> {
    let value = value.trim();
    let mut parts = value.split('-');
    let (version, trace_id, parent_id, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let lower_hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let valid = parts.next().is_none()
        && version == "00"
        && lower_hex(trace_id, 32)
        && lower_hex(parent_id, 16)
        && lower_hex(flags, 2)
        && trace_id.bytes().any(|b| b != b'0')
        && parent_id.bytes().any(|b| b != b'0');
    valid.then_some((trace_id, flags))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RANDOM: [u8; 24] = [
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6,
        0xa7, 0xa8,
    ];

    #[test]
    fn a_valid_trace_is_continued_with_a_new_span() {
        let ctx = TraceContext::continue_or_start(
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            &RANDOM,
        );
        assert_eq!(
            ctx.header(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-a1a2a3a4a5a6a7a8-01"
        );
    }

    #[test]
    fn an_invalid_or_missing_traceparent_starts_a_trace() {
        for bad in [
            None,
            Some("garbage"),
            Some("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            Some("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"),
            Some("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"),
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x"),
        ] {
            let ctx = TraceContext::continue_or_start(bad, &RANDOM);
            assert_eq!(
                ctx.header(),
                "00-0102030405060708090a0b0c0d0e0f10-a1a2a3a4a5a6a7a8-01",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn one_traceparent_field_is_continued_and_two_count_as_none() {
        use alloc::string::ToString;
        let field = |v: &str| ("traceparent".to_string(), v.to_string());
        let sent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let other = (
            "x-other".to_string(),
            "00-ffffffffffffffffffffffffffffffff-00f067aa0ba902b7-01".to_string(),
        );
        let one = TraceContext::from_headers(&[other.clone(), field(sent)], &RANDOM);
        assert_eq!(one.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        let two = TraceContext::from_headers(&[field(sent), field(sent)], &RANDOM);
        assert_eq!(two.trace_id, "0102030405060708090a0b0c0d0e0f10");
        let none = TraceContext::from_headers(&[other], &RANDOM);
        assert_eq!(none.trace_id, "0102030405060708090a0b0c0d0e0f10");
    }
}
