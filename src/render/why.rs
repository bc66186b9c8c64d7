//! `why` as a kubectl-describe-like page: the service, the outcome, the pools, warnings and
//! events, each drawn by its own function.

use std::io::Write;

use super::table::{Cell, Tone, layout};
use super::text::escape_controls;
use super::{Render, View, version_source, why_assumed};
use crate::error::Result;
use crate::metallb::allocator::Mode;
use crate::metallb::reason::{Code, Reason};
use crate::report::why::{EventEntry, PoolEntry, State, WhyReport};

impl Render for WhyReport {
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
    writeln!(out, "Release:     {release}")?;
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
    // Pool names and addresses are the input's: escaped where they are painted.
    let verdict = if report.state == State::NotManaged {
        "MetalLB leaves this service alone".to_string()
    } else if !outcome.fits {
        paint.bad("no pool can serve it".to_string())
    } else if outcome.pools.len() > 1 {
        paint.good(format!(
            "one of {} (MetalLB picks at random among them)",
            outcome.pools.join(", ")
        ))
    } else {
        let ips = if outcome.ips.is_empty() {
            String::new()
        } else {
            format!(", address {}", outcome.ips.join(", "))
        };
        paint.good(format!("pool {}{ips}", outcome.pools.join("")))
    };
    let when = if report.state == State::Allocated {
        " (if it were allocated again now)"
    } else {
        ""
    };
    writeln!(out, "Outcome:     {verdict}{when}")?;
    for reason in &outcome.reasons {
        writeln!(
            out,
            "             {}",
            escape_controls(&reason_text(reason))
        )?;
    }
    if let Some(error) = &outcome.metallb_error {
        writeln!(out, "MetalLB:     {}", escape_controls(error))?;
    }
    if report.state == State::Pending && outcome.fits {
        writeln!(
            out,
            "             MetalLB retries a pending service only when it, another service or the configuration changes"
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
    let rows: Vec<Vec<Cell>> = considered
        .iter()
        .map(|p| {
            let fits = if p.fits {
                Cell::toned("yes", Tone::Good)
            } else {
                Cell::toned("no", Tone::Bad)
            };
            let why = if p.reasons.is_empty() {
                p.note.clone().unwrap_or_default()
            } else {
                p.reasons
                    .iter()
                    .map(reason_text)
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            vec![
                p.name.clone().into(),
                fits,
                p.ips.join(",").into(),
                why.into(),
            ]
        })
        .collect();
    if !rows.is_empty() {
        let table = layout(&["POOL", "FITS", "WOULD-GET", "REASON"], rows, color);
        out.write_all(table.as_bytes())?;
    }
    if let Some(first) = not_requested.first() {
        let names: Vec<&str> = not_requested.iter().map(|p| p.name.as_str()).collect();
        let line = format!(
            "not requested ({}): {}",
            first.reasons[0].message,
            names.join(", ")
        );
        writeln!(out, "{}", escape_controls(&line))?;
    }
    Ok(())
}

fn warnings(out: &mut impl Write, warnings: &[Reason]) -> Result<()> {
    if !warnings.is_empty() {
        writeln!(out, "\nWarnings:")?;
        for w in warnings {
            writeln!(out, "  {}", escape_controls(&reason_text(w)))?;
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
            vec![
                e.type_.clone().into(),
                e.reason.clone().into(),
                e.last_seen
                    .as_deref()
                    .map_or("-".to_string(), |t| age(t, now))
                    .into(),
                e.count.map_or("-".to_string(), |c| c.to_string()).into(),
                message.into(),
            ]
        })
        .collect();
    let table = layout(&["TYPE", "REASON", "AGE", "COUNT", "MESSAGE"], rows, color);
    for line in table.lines() {
        writeln!(out, "  {line}")?;
    }
    Ok(())
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
