//! A minimal JUnit XML writer: test suites of test cases with failures, as GitLab CI and
//! Jenkins read them. Only what the reports need; every text goes through [`escape`].

use std::io::Write;

use crate::error::Result;

/// One test case: `classname` groups it, `name` names it.
pub struct Case {
    pub classname: String,
    pub name: String,
    pub file: Option<String>,
    /// `(type, message, text)` of each failure.
    pub failures: Vec<(String, String, String)>,
    /// Shown beside the case (warnings and notes that are not failures).
    pub output: Vec<String>,
}

/// Text for an XML attribute or element: the five markup characters as entities; control
/// characters XML 1.0 cannot carry at all, written visibly (`\u{7}`) instead.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// Writes one `<testsuites>` holding one `<testsuite>` named `suite`.
pub fn write(out: &mut dyn Write, suite: &str, cases: &[Case]) -> Result<()> {
    let failures: usize = cases.iter().map(|c| c.failures.len()).sum();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="{}" tests="{}" failures="{failures}" errors="0">"#,
        escape(suite),
        cases.len()
    )?;
    writeln!(
        out,
        r#"  <testsuite name="{}" tests="{}" failures="{failures}" errors="0" skipped="0">"#,
        escape(suite),
        cases.len()
    )?;
    for case in cases {
        write_case(out, case)?;
    }
    writeln!(out, "  </testsuite>")?;
    writeln!(out, "</testsuites>")?;
    Ok(())
}

fn write_case(out: &mut dyn Write, case: &Case) -> Result<()> {
    let file = case
        .file
        .as_deref()
        .map(|f| format!(r#" file="{}""#, escape(f)))
        .unwrap_or_default();
    write!(
        out,
        r#"    <testcase classname="{}" name="{}"{file}"#,
        escape(&case.classname),
        escape(&case.name)
    )?;
    if case.failures.is_empty() && case.output.is_empty() {
        writeln!(out, "/>")?;
        return Ok(());
    }
    writeln!(out, ">")?;
    for (kind, message, text) in &case.failures {
        writeln!(
            out,
            r#"      <failure type="{}" message="{}">{}</failure>"#,
            escape(kind),
            escape(message),
            escape(text)
        )?;
    }
    if !case.output.is_empty() {
        writeln!(
            out,
            "      <system-out>{}</system-out>",
            escape(&case.output.join("\n"))
        )?;
    }
    writeln!(out, "    </testcase>")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_control_characters_are_escaped() {
        assert_eq!(
            escape(r#"a<b & "c" 'd'>"#),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;"
        );
        assert_eq!(escape("bell\u{7}\nline"), "bell\\u{7}\nline");
    }

    #[test]
    fn a_suite_with_a_passing_and_a_failing_case() {
        let cases = [
            Case {
                classname: "IPAddressPool".into(),
                name: "metallb-system/ok".into(),
                file: None,
                failures: vec![],
                output: vec![],
            },
            Case {
                classname: "Service".into(),
                name: "web/<x>".into(),
                file: Some("a&b.yaml".into()),
                failures: vec![("pool-not-found".into(), "m\"".into(), "t".into())],
                output: vec!["warning: w".into()],
            },
        ];
        let mut out = Vec::new();
        write(&mut out, "check", &cases).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(r#"<testsuites name="check" tests="2" failures="1" errors="0">"#));
        assert!(text.contains(r#"<testcase classname="IPAddressPool" name="metallb-system/ok"/>"#));
        assert!(text.contains(r#"name="web/&lt;x&gt;" file="a&amp;b.yaml">"#));
        assert!(text.contains(r#"<failure type="pool-not-found" message="m&quot;">t</failure>"#));
        assert!(text.contains("<system-out>warning: w</system-out>"));
        assert!(text.trim_end().ends_with("</testsuites>"));
    }
}
