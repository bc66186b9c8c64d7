//! `why` as a kubectl-describe-like page: the service, the outcome, the pools, warnings and
//! events, each drawn by its own function.

use std::io::Write;

use super::table::{Cell, Tone, layout};
use super::text::{escape_controls, wrap};
use super::{Render, View, version_source, why_assumed};
use crate::error::Result;
use crate::metallb::allocator::Mode;
use crate::metallb::reason::{Code, Reason};
use crate::report::why::{EventEntry, PoolEntry, State, WhyReport};

impl Render for WhyReport {
    /// The one service, as `kubectl get -o name` writes it.
    fn item_name(&self, _: &super::Json) -> Option<String> {
        let name = self
            .service
            .split_once('/')
            .map_or(&*self.service, |(_, n)| n);
        Some(format!("service/{name}"))
    }

    fn human(&self, mut out: &mut dyn Write, view: &View) -> Result<()> {
        let paint = Paint { color: view.color };
        header(&mut out, self, paint)?;
        outcome(&mut out, self, paint)?;
        // A gate stops MetalLB before any pool is looked at: the pools add nothing.
        if self.mode != Mode::Stopped && !self.pools.is_empty() {
            pools(&mut out, &self.pools, view.color)?;
        }
        warnings(&mut out, &self.warnings)?;
        events(&mut out, &self.events, view.now, view.color)
    }
}

/// The page is written for an 80-column terminal: prose wraps under its label.
const PAGE_WIDTH: usize = 80;

/// The indent of a value after a label (`Outcome:     `).
const VALUE_INDENT: &str = "             ";

/// Where a wrapped value continues: deeper than the next value, so that each starts visibly.
const CONTINUED: &str = "               ";

/// `text` (escaped here) wrapped after `first`, continued under `indent`, the text of each
/// line painted by `paint` (the prefixes are ours and stay plain).
fn prose(
    out: &mut impl Write,
    first: &str,
    indent: &str,
    text: &str,
    paint: impl Fn(String) -> String,
) -> Result<()> {
    let mut prefix = first;
    for line in wrap(&escape_controls(text), PAGE_WIDTH, first, indent) {
        writeln!(out, "{prefix}{}", paint(line[prefix.len()..].to_string()))?;
        prefix = indent;
    }
    Ok(())
}

/// A table whose rows each carry notes (a pool's reasons, an event's message): the notes
/// go on their own indented, wrapped lines under their row instead of a last column that
/// would run off an 80-column terminal.
fn table_with_notes(
    out: &mut impl Write,
    headers: &[&str],
    rows: Vec<(Vec<Cell>, Vec<String>)>,
    color: bool,
    indent: &str,
) -> Result<()> {
    let (cells, notes): (Vec<_>, Vec<_>) = rows.into_iter().unzip();
    let table = layout(headers, cells, color);
    let mut lines = table.lines();
    if let Some(header) = lines.next() {
        writeln!(out, "{indent}{header}")?;
    }
    let note_indent = format!("{indent}    ");
    let continued = format!("{note_indent}  ");
    for (line, notes) in lines.zip(notes) {
        writeln!(out, "{indent}{line}")?;
        for note in notes {
            prose(out, &note_indent, &continued, &note, |t| t)?;
        }
    }
    Ok(())
}

/// Green for what works, red for what does not, on a terminal that shows colour; the text
/// is escaped first.
#[derive(Clone, Copy)]
struct Paint {
    color: bool,
}

impl Paint {
    fn good(self, text: String) -> String {
        Tone::Good.show(&text, self.color)
    }

    fn bad(self, text: String) -> String {
        Tone::Bad.show(&text, self.color)
    }
}

/// Service, State, Family, Allocation.
fn header(out: &mut impl Write, report: &WhyReport, paint: Paint) -> Result<()> {
    writeln!(out, "Service:     {}", escape_controls(&report.service))?;
    let version = &report.metallb_version;
    let source = version_source(version.source);
    let release = match why_assumed(version.source) {
        Some(why) => format!("MetalLB {}, assumed: {source}; {why}", version.version),
        None => format!("MetalLB {} ({source})", version.version),
    };
    prose(out, "Release:     ", CONTINUED, &release, |line| line)?;
    let state = match report.state {
        State::Allocated => paint.good(format!(
            "allocated {} from pool {}",
            report.ips.join(", "),
            report.pool.as_deref().unwrap_or("<none>")
        )),
        State::Pending => paint.bad("pending (no EXTERNAL-IP)".to_string()),
        State::NotManaged => "not managed by MetalLB".to_string(),
    };
    // Family and policy are the plugin's own words, never the input's.
    writeln!(out, "State:       {state}")?;
    writeln!(
        out,
        "Family:      {} ({})",
        report.family, report.ip_family_policy
    )?;
    let mode = match report.mode {
        Mode::RequestedIps => "requested IPs (metallb.io/loadBalancerIPs or spec.loadBalancerIP)",
        Mode::RequestedPool => "requested pool (metallb.io/address-pool)",
        Mode::Automatic => "automatic (pinned pools by priority, then plain pools)",
        Mode::Stopped => "none: MetalLB stops before choosing a pool",
    };
    writeln!(out, "Allocation:  {mode}")?;
    Ok(())
}

/// What MetalLB would do now, why, and its own words for it.
fn outcome(out: &mut impl Write, report: &WhyReport, paint: Paint) -> Result<()> {
    let outcome = &report.outcome;
    // Pool names and addresses are the input's: escaped (by `prose`) before they are painted.
    let (verdict, tone) = if report.state == State::NotManaged {
        ("MetalLB leaves this service alone".to_string(), Tone::Plain)
    } else if !outcome.fits {
        ("no pool can serve it".to_string(), Tone::Bad)
    } else if outcome.pools.len() > 1 {
        (
            format!(
                "one of {} (MetalLB picks at random among them)",
                outcome.pools.join(", ")
            ),
            Tone::Good,
        )
    } else {
        let ips = if outcome.ips.is_empty() {
            String::new()
        } else {
            format!(", address {}", outcome.ips.join(", "))
        };
        (format!("pool {}{ips}", outcome.pools.join("")), Tone::Good)
    };
    let when = if report.state == State::Allocated {
        " (if it were allocated again now)"
    } else {
        ""
    };
    prose(
        out,
        "Outcome:     ",
        CONTINUED,
        &format!("{verdict}{when}"),
        |t| tone.show(&t, paint.color),
    )?;
    for reason in &outcome.reasons {
        prose(out, VALUE_INDENT, CONTINUED, &reason_text(reason), |t| t)?;
    }
    // MetalLB's own words, in the order it records them.
    let said = report
        .expected_events
        .iter()
        .map(|e| match &e.condition {
            Some(condition) => format!("{} ({}): {} [{condition}]", e.reason, e.type_, e.message),
            None => format!("{} ({}): {}", e.reason, e.type_, e.message),
        })
        .chain(outcome.metallb_error.clone());
    for (i, text) in said.enumerate() {
        let label = if i == 0 {
            "MetalLB:     "
        } else {
            VALUE_INDENT
        };
        prose(out, label, CONTINUED, &text, |t| t)?;
    }
    if report.state == State::Pending && outcome.fits {
        prose(
            out,
            VALUE_INDENT,
            CONTINUED,
            "MetalLB retries a pending service only when it, another service or the configuration changes",
            |t| t,
        )?;
    }
    Ok(())
}

/// One row per pool MetalLB considers; the pools the service did not ask for, on one line.
fn pools(out: &mut impl Write, pools: &[PoolEntry], color: bool) -> Result<()> {
    writeln!(out)?;
    let (not_requested, considered): (Vec<_>, Vec<_>) = pools
        .iter()
        .partition(|p| matches!(p.reasons.as_slice(), [r] if r.code == Code::NotRequested));
    let rows: Vec<(Vec<Cell>, Vec<String>)> = considered
        .iter()
        .map(|p| {
            let fits = if p.fits {
                Cell::toned("yes", Tone::Good)
            } else {
                Cell::toned("no", Tone::Bad)
            };
            let notes = if p.reasons.is_empty() {
                p.note.iter().cloned().collect()
            } else {
                p.reasons.iter().map(reason_text).collect()
            };
            (
                vec![p.name.clone().into(), fits, p.ips.join(",").into()],
                notes,
            )
        })
        .collect();
    if !rows.is_empty() {
        table_with_notes(out, &["POOL", "FITS", "WOULD-GET"], rows, color, "")?;
    }
    if let Some(first) = not_requested.first() {
        let names: Vec<&str> = not_requested.iter().map(|p| p.name.as_str()).collect();
        let line = format!(
            "not requested ({}): {}",
            first.reasons[0].message,
            names.join(", ")
        );
        prose(out, "", "  ", &line, |t| t)?;
    }
    Ok(())
}

fn warnings(out: &mut impl Write, warnings: &[Reason]) -> Result<()> {
    if !warnings.is_empty() {
        writeln!(out, "\nWarnings:")?;
        for w in warnings {
            prose(out, "  ", "    ", &reason_text(w), |t| t)?;
        }
    }
    Ok(())
}

/// The service's events, as `kubectl describe` lists them, aged from `now`.
fn events(
    out: &mut impl Write,
    events: &[EventEntry],
    now: jiff::Timestamp,
    color: bool,
) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nEvents:")?;
    let rows = events
        .iter()
        .map(|e| {
            let message = match &e.explanation {
                Some(meaning) => format!("{} ({meaning})", e.message),
                None => e.message.clone(),
            };
            let cells = vec![
                e.type_.clone().into(),
                e.reason.clone().into(),
                e.last_seen
                    .as_deref()
                    .map_or("-".to_string(), |t| age(t, now))
                    .into(),
                e.count.map_or("-".to_string(), |c| c.to_string()).into(),
            ];
            (cells, vec![message])
        })
        .collect();
    table_with_notes(out, &["TYPE", "REASON", "AGE", "COUNT"], rows, color, "  ")
}

/// kubectl's age of a timestamp: `45s`, `12m`, `5h`, `3d`; the text itself if unreadable.
fn age(timestamp: &str, now: jiff::Timestamp) -> String {
    let Ok(then) = timestamp.parse::<jiff::Timestamp>() else {
        return timestamp.to_string();
    };
    let seconds = (now.as_second() - then.as_second()).max(0);
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

fn reason_text(reason: &Reason) -> String {
    format!("{}: {}", reason.code, reason.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_like_kubectl() {
        let now: jiff::Timestamp = "2026-01-10T12:00:00Z".parse().unwrap();
        let cases = [
            ("2026-01-10T11:59:15Z", "45s"),
            ("2026-01-10T11:58:01Z", "119s"),
            ("2026-01-10T11:58:00Z", "2m"),
            ("2026-01-10T10:00:01Z", "119m"),
            ("2026-01-10T10:00:00Z", "2h"),
            ("2026-01-08T12:00:01Z", "47h"),
            ("2026-01-08T12:00:00Z", "2d"),
            ("2026-01-10T12:00:30Z", "0s"),
            ("yesterday", "yesterday"),
        ];
        for (then, expected) in cases {
            assert_eq!(age(then, now), expected, "{then}");
        }
    }
}
