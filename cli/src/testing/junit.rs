//! JUnit XML for CI systems: one `<testsuite>` for the cases, one for the policy probes.

use super::TestReport;

/// The report as JUnit XML.
pub fn render(report: &TestReport) -> String {
    let mut suites = Vec::new();
    let cases: Vec<String> = report
        .cases
        .iter()
        .map(|case| {
            let file = case.location.split(':').next().unwrap_or_default();
            testcase(
                &case.name,
                file,
                case.duration_ms,
                (!case.passed).then(|| (case.failures.join("; "), case.location.clone())),
            )
        })
        .collect();
    suites.push(suite("cases", report.failed, &cases));
    if let Some(policy) = &report.policy {
        let mut probes = Vec::new();
        let mut failed = 0;
        for rule in &policy.rules {
            for probe in &rule.probes {
                if !probe.passed {
                    failed += 1;
                }
                let failure = (!probe.passed).then(|| {
                    (
                        format!(
                            "recorded `{}`, now `{}`",
                            probe.recorded.as_deref().unwrap_or("nothing"),
                            probe.outcome
                        ),
                        policy.record.display().to_string(),
                    )
                });
                let name = format!("{} with {}", probe.request, probe.credential);
                probes.push(testcase(&name, &rule.rule, 0.0, failure));
            }
        }
        suites.push(suite("policy", failed, &probes));
    }
    let total = report.cases.len()
        + report
            .policy
            .as_ref()
            .map_or(0, |p| p.rules.iter().map(|r| r.probes.len()).sum());
    let failures = report.failed
        + report.policy.as_ref().map_or(0, |p| {
            p.rules
                .iter()
                .flat_map(|r| &r.probes)
                .filter(|p| !p.passed)
                .count()
        });
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"faas test\" tests=\"{total}\" failures=\"{failures}\">\n{}</testsuites>\n",
        suites.concat()
    )
}

fn suite(name: &str, failures: usize, cases: &[String]) -> String {
    format!(
        "  <testsuite name=\"{name}\" tests=\"{}\" failures=\"{failures}\">\n{}  </testsuite>\n",
        cases.len(),
        cases.concat()
    )
}

fn testcase(name: &str, class: &str, ms: f64, failure: Option<(String, String)>) -> String {
    let open = format!(
        "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\"",
        escape(name),
        escape(class),
        ms / 1000.0
    );
    match failure {
        None => format!("{open}/>\n"),
        Some((message, detail)) => format!(
            "{open}>\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
            escape(&message),
            escape(&detail)
        ),
    }
}

fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&apos;".to_string(),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {
                format!("&#x{:x};", c as u32)
            }
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::CaseResult;

    #[test]
    fn failures_are_escaped_and_counted() {
        let case = |name: &str, failures: Vec<String>| CaseResult {
            name: name.into(),
            location: "tests/http.toml:4:1".into(),
            trigger: "http",
            passed: failures.is_empty(),
            status: Some(200),
            failures,
            duration_ms: 12.5,
        };
        let report = TestReport {
            ok: false,
            passed: 1,
            failed: 1,
            cases: vec![
                case("greets", vec![]),
                case(
                    "a <b> & \"c\"",
                    vec!["status: expected 401, got 200".into()],
                ),
            ],
            policy: None,
        };
        let xml = render(&report);
        assert!(
            xml.contains("<testsuites name=\"faas test\" tests=\"2\" failures=\"1\">"),
            "{xml}"
        );
        assert!(
            xml.contains("name=\"a &lt;b&gt; &amp; &quot;c&quot;\""),
            "{xml}"
        );
        assert!(
            xml.contains(
                "<failure message=\"status: expected 401, got 200\">tests/http.toml:4:1</failure>"
            ),
            "{xml}"
        );
        assert!(
            xml.contains("classname=\"tests/http.toml\" time=\"0.013\"/>"),
            "{xml}"
        );
    }
}
