//! Audit events: one JSON object per decision, on one line, in a format that is stable (its
//! fields are documented in docs/policy.md and only ever added to). An event never holds a
//! credential: no header value, no query string, no body.

use alloc::string::String;

use crate::RuleRef;

/// The format's version, the `faas-audit` field of every event.
pub const AUDIT_VERSION: u32 = 1;

/// What was decided about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Passed to the function.
    Allowed,
    /// Answered by the decorator itself (an allowed CORS preflight).
    Answered,
    /// Refused; the function was not called.
    Refused,
}

impl Outcome {
    fn name(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Answered => "answered",
            Outcome::Refused => "refused",
        }
    }
}

/// One decision's event.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// When the decision was made: seconds and nanoseconds since the Unix epoch.
    pub time: (u64, u32),
    /// What was decided.
    pub outcome: Outcome,
    /// The status the client got (the function's, when it was allowed).
    pub status: u16,
    /// Why it was refused.
    pub reason: Option<&'a str>,
    /// The rule that applied.
    pub rule: Option<&'a RuleRef>,
    /// The authenticated subject, when known.
    pub subject: Option<&'a str>,
    /// How the subject authenticated.
    pub scheme: Option<&'a str>,
    /// `http`, `cli` or `messaging`.
    pub trigger: &'a str,
    /// The method (HTTP and CLI).
    pub method: Option<&'a str>,
    /// The path and query; only the path is written.
    pub path: Option<&'a str>,
    /// The broker subject (messaging).
    pub source: Option<&'a str>,
    /// The W3C trace id and this decorator's span id.
    pub trace: Option<(&'a str, &'a str)>,
}

impl<'a> Event<'a> {
    /// The event of an adapter's refusal, made before the policy saw the request (no trace:
    /// nothing was called).
    pub fn adapter_refusal(
        time: (u64, u32),
        status: u16,
        reason: &'a str,
        trigger: &'a str,
        method: Option<&'a str>,
        path: Option<&'a str>,
    ) -> Self {
        Event {
            status,
            reason: Some(reason),
            ..Event::of_request(time, trigger, method, path, None, None)
        }
    }

    /// The event of a request the engine decided: what the request was (its trigger, method and
    /// path, or the message's source, and the trace it joined) and what `decision` says of it
    /// ([`Event::record`]). Its `status` is the answer's, set once the answer is known.
    pub fn for_decision(
        time: (u64, u32),
        trigger: &'a str,
        method: Option<&'a str>,
        path: Option<&'a str>,
        source: Option<&'a str>,
        trace: Option<(&'a str, &'a str)>,
        decision: &'a crate::Decision,
    ) -> Self {
        let mut event = Event::of_request(time, trigger, method, path, source, trace);
        event.record(decision);
        event
    }

    /// What is known of a request before anything is decided about it: a refusal with no status,
    /// reason, rule or caller yet (fail closed: an event nobody completes says refused).
    fn of_request(
        time: (u64, u32),
        trigger: &'a str,
        method: Option<&'a str>,
        path: Option<&'a str>,
        source: Option<&'a str>,
        trace: Option<(&'a str, &'a str)>,
    ) -> Self {
        Event {
            time,
            outcome: Outcome::Refused,
            status: 0,
            reason: None,
            rule: None,
            subject: None,
            scheme: None,
            trigger,
            method,
            path,
            source,
            trace,
        }
    }

    /// Records what `decision` says about the request: the outcome and, as far as the decision
    /// got, the reason, the rule and the caller. Never the credential, and (in the JSON) the path
    /// without its query, where clients sometimes put keys.
    pub fn record(&mut self, decision: &'a crate::Decision) {
        match decision {
            crate::Decision::Respond(_) => self.outcome = Outcome::Answered,
            crate::Decision::Refuse(refusal) => {
                self.outcome = Outcome::Refused;
                self.reason = Some(&refusal.reason);
                self.rule = refusal.rule.as_ref();
                self.subject = refusal.subject.as_deref();
                self.scheme = refusal.scheme;
            }
            crate::Decision::Forward { caller, rule, .. } => {
                self.outcome = Outcome::Allowed;
                self.rule = rule.as_ref();
                self.subject = caller.as_ref().map(|c| c.subject.as_str());
                self.scheme = caller.as_ref().map(|c| c.scheme);
            }
        }
    }
}

impl Event<'_> {
    /// The event as one line of JSON, without the line break. Written byte by byte rather than
    /// with `core::fmt`: it is on every request's path, and the formatting machinery cost the
    /// decorator more than its policy checks (docs/benchmarks.md).
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(320);
        out.push_str("{\"faas-audit\":");
        push_decimal(&mut out, u64::from(AUDIT_VERSION), 1);
        out.push_str(",\"time\":\"");
        write_rfc3339(&mut out, self.time.0, self.time.1);
        out.push_str("\",\"decision\":\"");
        out.push_str(self.outcome.name());
        out.push_str("\",\"status\":");
        push_decimal(&mut out, u64::from(self.status), 1);
        field(&mut out, "trigger", Some(self.trigger));
        field(&mut out, "method", self.method);
        field(
            &mut out,
            "path",
            self.path.map(|p| p.split('?').next().unwrap_or("")),
        );
        field(&mut out, "source", self.source);
        if let Some(rule) = self.rule {
            out.push_str(",\"rule\":");
            push_decimal(&mut out, rule.number as u64, 1);
            field(&mut out, "route", Some(&rule.path));
        }
        field(&mut out, "reason", self.reason);
        field(&mut out, "subject", self.subject);
        field(&mut out, "scheme", self.scheme);
        if let Some((trace_id, span_id)) = self.trace {
            field(&mut out, "trace-id", Some(trace_id));
            field(&mut out, "span-id", Some(span_id));
        }
        out.push('}');
        out
    }
}

/// The longest text of a request written into an event, in characters: a client cannot flood
/// the log.
const MAX_TEXT: usize = 256;

// Not inlined: one copy of the escaping loop serves every field (the layers are kept small).
#[inline(never)]
fn field(out: &mut String, name: &str, value: Option<&str>) {
    let Some(value) = value else {
        return;
    };
    out.push_str(",\"");
    out.push_str(name);
    out.push_str("\":\"");
    // Runs of characters that need no escape are copied whole (with `get`, whose boundaries are
    // those of `char_indices`: slicing's panic path would bring `core::fmt` back in).
    let mut run = 0;
    for (i, (at, c)) in value.char_indices().enumerate() {
        if i == MAX_TEXT {
            out.push_str(value.get(run..at).unwrap_or_default());
            out.push('…');
            out.push('"');
            return;
        }
        // `None`: a control character (C0, DEL, C1), a line or paragraph separator, or a
        // bidirectional formatting character (which could make a log viewer show the line's
        // fields in another order), written as `\u` and four hex digits.
        let escaped = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            c if c.is_control()
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
                )
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c) =>
            {
                None
            }
            _ => continue,
        };
        out.push_str(value.get(run..at).unwrap_or_default());
        run = at + c.len_utf8();
        match escaped {
            Some(escaped) => out.push_str(escaped),
            None => {
                out.push_str("\\u");
                let code = c as u32;
                out.push_str(&crate::hex(&[(code >> 8) as u8, code as u8]));
            }
        }
    }
    out.push_str(value.get(run..).unwrap_or_default());
    out.push('"');
}

/// `value` in decimal, at least `width` digits (zero-padded).
#[inline(never)]
fn push_decimal(out: &mut String, mut value: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut at = digits.len();
    while value > 0 || digits.len() - at < width.max(1) {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
    }
    out.push_str(core::str::from_utf8(&digits[at..]).unwrap_or_default());
}

/// `seconds` since the epoch as RFC 3339 in UTC with milliseconds: `2026-12-01T16:48:54.123Z`.
pub fn rfc3339(seconds: u64, nanos: u32) -> String {
    let mut out = String::with_capacity(24);
    write_rfc3339(&mut out, seconds, nanos);
    out
}

fn write_rfc3339(out: &mut String, seconds: u64, nanos: u32) {
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm, proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    push_decimal(out, year.max(0) as u64, 4);
    out.push('-');
    push_decimal(out, month as u64, 2);
    out.push('-');
    push_decimal(out, day as u64, 2);
    out.push('T');
    push_decimal(out, rest / 3600, 2);
    out.push(':');
    push_decimal(out, rest / 60 % 60, 2);
    out.push(':');
    push_decimal(out, rest % 60, 2);
    out.push('.');
    push_decimal(out, u64::from(nanos / 1_000_000), 3);
    out.push('Z');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400, 5_000_000), "2000-02-29T00:00:00.005Z");
        assert_eq!(
            rfc3339(1_796_143_734, 123_456_789),
            "2026-12-01T16:48:54.123Z"
        );
        assert_eq!(
            rfc3339(4_107_542_399, 999_999_999),
            "2100-02-28T23:59:59.999Z"
        );
        // Past a century's end and on the last day of a 400-year era, where the calendar's
        // century and era corrections first count.
        assert_eq!(rfc3339(4_107_542_400, 0), "2100-03-01T00:00:00.000Z");
        assert_eq!(rfc3339(7_263_216_000, 0), "2200-03-01T00:00:00.000Z");
        assert_eq!(rfc3339(13_574_563_200, 0), "2400-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(13_574_649_600, 0), "2400-03-01T00:00:00.000Z");
    }

    #[test]
    fn an_adapters_refusal_says_its_status_and_reason_and_names_no_caller_or_trace() {
        let event = Event::adapter_refusal(
            (0, 0),
            413,
            "body larger than max-body-bytes",
            "http",
            Some("POST"),
            Some("/upload?token=secret"),
        );
        assert_eq!(
            event.to_json(),
            "{\"faas-audit\":1,\"time\":\"1970-01-01T00:00:00.000Z\",\"decision\":\"refused\",\
             \"status\":413,\"trigger\":\"http\",\"method\":\"POST\",\"path\":\"/upload\",\
             \"reason\":\"body larger than max-body-bytes\"}"
        );
    }

    #[test]
    fn an_event_is_one_json_line_with_the_path_only_and_escaped_text() {
        let rule = RuleRef {
            number: 2,
            path: "/items/**".into(),
        };
        let event = Event {
            time: (0, 0),
            outcome: Outcome::Refused,
            status: 403,
            reason: Some("wrong scope: lacks \"admin\""),
            rule: Some(&rule),
            subject: Some("line\nbreak"),
            scheme: Some("api-key"),
            trigger: "http",
            method: Some("GET"),
            path: Some("/items/1?api_key=secret"),
            source: None,
            trace: Some(("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")),
        };
        assert_eq!(
            event.to_json(),
            "{\"faas-audit\":1,\"time\":\"1970-01-01T00:00:00.000Z\",\"decision\":\"refused\",\
             \"status\":403,\"trigger\":\"http\",\"method\":\"GET\",\"path\":\"/items/1\",\
             \"rule\":2,\"route\":\"/items/**\",\"reason\":\"wrong scope: lacks \\\"admin\\\"\",\
             \"subject\":\"line\\nbreak\",\"scheme\":\"api-key\",\
             \"trace-id\":\"0af7651916cd43dd8448eb211c80319c\",\"span-id\":\"b7ad6b7169203331\"}"
        );
    }

    #[test]
    fn control_characters_are_escaped_and_other_text_kept_whole() {
        let mut out = String::new();
        field(&mut out, "subject", Some("é\u{1b}x\u{2028}ß\t\u{7f}"));
        assert_eq!(out, ",\"subject\":\"é\\u001bx\\u2028ß\\t\\u007f\"");
        // C1 controls (U+009B is a terminal's CSI) and bidi overrides are escaped too.
        let mut out = String::new();
        field(
            &mut out,
            "subject",
            Some("a\u{9b}b\u{202e}c\u{2067}d\u{200f}"),
        );
        assert_eq!(out, ",\"subject\":\"a\\u009bb\\u202ec\\u2067d\\u200f\"");
        let mut out = String::new();
        field(&mut out, "source", Some(&"é".repeat(300)));
        assert_eq!(out, alloc::format!(",\"source\":\"{}…\"", "é".repeat(256)));
        let mut out = String::new();
        push_decimal(&mut out, 0, 1);
        push_decimal(&mut out, 7, 3);
        push_decimal(&mut out, u64::MAX, 2);
        assert_eq!(out, "000718446744073709551615");
    }

    #[test]
    fn long_text_is_cut() {
        let long = "a".repeat(1000);
        let event = Event {
            time: (0, 0),
            outcome: Outcome::Allowed,
            status: 200,
            reason: None,
            rule: None,
            subject: None,
            scheme: None,
            trigger: "messaging",
            method: None,
            path: None,
            source: Some(&long),
            trace: None,
        };
        let json = event.to_json();
        assert!(json.len() < 400, "{json}");
        assert!(json.contains(&alloc::format!("\"source\":\"{}…\"", "a".repeat(256))));
    }

    #[test]
    fn backslashes_and_carriage_returns_cannot_end_a_string() {
        let mut out = String::new();
        field(&mut out, "subject", Some("a\\\"}\r\n"));
        assert_eq!(out, ",\"subject\":\"a\\\\\\\"}\\r\\n\"");
    }

    #[test]
    fn an_event_records_what_each_decision_says() {
        use crate::{Answer, Caller, Decision, Refusal};
        let of = |decision| Event::for_decision((0, 0), "http", None, None, None, None, decision);
        let rule = RuleRef {
            number: 1,
            path: "/x".into(),
        };
        let answer = Answer {
            status: 403,
            headers: alloc::vec![],
            body: alloc::vec![],
        };
        let refused = Decision::Refuse(Refusal {
            answer: answer.clone(),
            reason: "no".into(),
            rule: Some(rule.clone()),
            subject: Some("mallory".into()),
            scheme: Some("api-key"),
            cors: true,
        });
        let event = of(&refused);
        assert_eq!(
            (event.outcome, event.reason, event.subject, event.scheme),
            (
                Outcome::Refused,
                Some("no"),
                Some("mallory"),
                Some("api-key")
            )
        );
        assert_eq!(event.rule, Some(&rule));
        let forwarded = Decision::Forward {
            caller: Some(Caller {
                subject: "reader".into(),
                scopes: alloc::vec![],
                claims: alloc::vec![],
                scheme: "jwt",
            }),
            strip_headers: alloc::vec![],
            rule: Some(rule.clone()),
            response_headers: alloc::vec![],
        };
        let event = of(&forwarded);
        assert_eq!(
            (event.outcome, event.subject, event.scheme),
            (Outcome::Allowed, Some("reader"), Some("jwt"))
        );
        let answered = Decision::Respond(answer);
        let event = of(&answered);
        assert_eq!(event.outcome, Outcome::Answered);
    }
}
