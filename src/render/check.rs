//! `check` for people (findings grouped by level, errors first) and for CI (JUnit XML).

use std::collections::BTreeMap;
use std::io::Write;

use owo_colors::OwoColorize;

use super::junit::{self, Case};
use super::text::escape_controls;
use super::{Attention, Json, Render, View};
use crate::error::Result;
use crate::report::check::{CheckReport, Finding, Level};

impl Render for CheckReport<'_> {
    fn human(&self, mut out: &mut dyn Write, view: &View) -> Result<()> {
        page(&mut out, self, view)
    }

    fn junit(&self, out: &mut dyn Write) -> Result<()> {
        junit::write(out, "kubectl-metalpool check", &cases(self))
    }

    fn main_list(&self) -> Option<&'static str> {
        Some("findings")
    }

    /// The object of a finding, as kubectl names it (`service/web`,
    /// `ipaddresspool.metallb.io/public-ips`).
    fn item_name(&self, item: &Json) -> Option<String> {
        let object = item.get("object")?;
        let kind = object.get("kind")?.text().to_ascii_lowercase();
        let resource = match kind.as_str() {
            "ipaddresspool" | "l2advertisement" | "bgpadvertisement" => {
                format!("{kind}.metallb.io")
            }
            "deployment" => "deployment.apps".to_string(),
            _ => kind,
        };
        Some(format!("{resource}/{}", object.get("name")?.text()))
    }

    fn reorder(&mut self, order: &[usize]) {
        self.findings = order.iter().map(|&i| self.findings[i].clone()).collect();
    }

    /// The findings are the page; only the release assumed goes to stderr.
    fn attention(&self) -> Attention<'_> {
        Attention {
            version: Some(&self.metallb_version),
            ..Attention::default()
        }
    }
}

/// The page fits a terminal this wide (cli-contract.md, kubectl conventions).
const WIDTH: usize = 120;

/// `text` in lines of at most `width` characters, broken at spaces (a longer word stays whole).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
}

fn heading(level: Level, count: usize, color: bool) -> String {
    let (name, plural) = match level {
        Level::Error => ("Error", "Errors"),
        Level::Warning => ("Warning", "Warnings"),
        Level::Info => ("Info", "Infos"),
    };
    let text = format!("{} ({count}):", if count == 1 { name } else { plural });
    match (color, level) {
        (true, Level::Error) => text.red().to_string(),
        (true, Level::Warning) => text.yellow().to_string(),
        _ => text,
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Info => "info",
    }
}

fn place(f: &Finding) -> String {
    match (&f.file, f.line) {
        (Some(file), Some(line)) => format!(" ({file}:{line})"),
        (Some(file), None) => format!(" ({file})"),
        _ => String::new(),
    }
}

/// One block per level; each finding is its code and object, then its message indented;
/// wide adds the reasons behind it.
fn page(out: &mut impl Write, report: &CheckReport, view: &View) -> Result<()> {
    for level in [Level::Error, Level::Warning, Level::Info] {
        let findings: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.level == level)
            .collect();
        if findings.is_empty() {
            continue;
        }
        writeln!(out, "{}", heading(level, findings.len(), view.color))?;
        for f in findings {
            writeln!(
                out,
                "  {}  {}{}",
                f.code,
                escape_controls(&f.object.describe()),
                escape_controls(&place(f))
            )?;
            for line in wrap(&escape_controls(&f.message), WIDTH - 6) {
                writeln!(out, "      {line}")?;
            }
            if view.wide {
                for d in f.details.iter() {
                    let pool = d
                        .pool
                        .as_deref()
                        .map(|p| format!("{p}: "))
                        .unwrap_or_default();
                    writeln!(
                        out,
                        "        - {pool}{} ({})",
                        escape_controls(&d.message),
                        d.code
                    )?;
                }
            }
        }
        writeln!(out)?;
    }
    let s = report.summary;
    if report.findings.is_empty() {
        writeln!(
            out,
            "No problem found ({} objects checked).",
            report.checked().len()
        )?;
    } else {
        writeln!(
            out,
            "{} error(s), {} warning(s), {} info(s) ({} objects checked).",
            s.errors,
            s.warnings,
            s.infos,
            report.checked().len()
        )?;
    }
    Ok(())
}

/// One test case per object checked; each error is a failure (each warning too with
/// `--strict`, since it fails the run), the rest is the case's output.
fn cases(report: &CheckReport) -> Vec<Case> {
    let mut by_object: BTreeMap<(&str, &str, &str), Vec<&Finding>> = BTreeMap::new();
    for f in &report.findings {
        let o = &f.object;
        by_object
            .entry((o.kind, &o.namespace, &o.name))
            .or_default()
            .push(f);
    }
    report
        .checked()
        .iter()
        .map(|object| {
            let key = (object.kind, object.namespace.as_ref(), object.name.as_ref());
            let findings = by_object.get(&key).map(Vec::as_slice).unwrap_or_default();
            let fails = |f: &&&Finding| {
                f.level == Level::Error || (report.strict && f.level == Level::Warning)
            };
            Case {
                classname: object.kind.to_string(),
                name: if object.namespace.is_empty() {
                    object.name.to_string()
                } else {
                    format!("{}/{}", object.namespace, object.name)
                },
                file: object.file.map(str::to_string),
                failures: findings
                    .iter()
                    .filter(fails)
                    .map(|f| {
                        let text = std::iter::once(f.message.to_string())
                            .chain(
                                f.details
                                    .iter()
                                    .map(|d| format!("- {} ({})", d.message, d.code)),
                            )
                            .collect::<Vec<_>>()
                            .join("\n");
                        (f.code.to_string(), f.message.to_string(), text)
                    })
                    .collect(),
                output: findings
                    .iter()
                    .filter(|f| !fails(f))
                    .map(|f| format!("{} {}: {}", level_name(f.level), f.code, f.message))
                    .collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_wrap_at_spaces_within_the_width() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("short", 80), ["short"]);
        assert_eq!(wrap("a verylongword b", 4), ["a", "verylongword", "b"]);
    }

    fn junit_of(strict: bool) -> String {
        use crate::fixtures::manifests::{model, pool, snapshot};
        let snap = snapshot(&pool("p", &["10.0.0.0/24"], ""));
        let model = model(&snap);
        let report = crate::report::check::build(&model, None, 90, strict);
        let mut out = Vec::new();
        report.junit(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn junit_fails_warnings_only_when_strict() {
        let plain = junit_of(false);
        assert!(plain.contains(r#"tests="1" failures="0""#), "{plain}");
        assert!(
            plain.contains("<system-out>warning not-advertised: "),
            "{plain}"
        );
        let strict = junit_of(true);
        assert!(strict.contains(r#"tests="1" failures="1""#), "{strict}");
        assert!(
            strict.contains(r#"<failure type="not-advertised""#),
            "{strict}"
        );
    }
}
