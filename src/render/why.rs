//! `why` as a kubectl-describe-like page.

use std::io::Write;

use owo_colors::OwoColorize;

use super::Style;
use super::table::layout;
use crate::error::Result;
use crate::metallb::allocator::Mode;
use crate::metallb::reason::{Code, Reason};
use crate::report::why::{State, WhyReport};

pub fn text(out: &mut impl Write, report: &WhyReport, style: Style) -> Result<()> {
    let paint = |text: String, good: bool| -> String {
        match (style.color, good) {
            (false, _) => text,
            (true, true) => text.green().to_string(),
            (true, false) => text.red().to_string(),
        }
    };
    writeln!(out, "Service:     {}", report.service)?;
    let state = match report.state {
        State::Allocated => paint(
            format!(
                "allocated {} from pool {}",
                report.ips.join(", "),
                report.pool.as_deref().unwrap_or("<none>")
            ),
            true,
        ),
        State::Pending => paint("pending (no EXTERNAL-IP)".to_string(), false),
        State::NotManaged => "not managed by MetalLB".to_string(),
    };
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
    let outcome = &report.outcome;
    let verdict = if report.state == State::NotManaged {
        "MetalLB leaves this service alone".to_string()
    } else if !outcome.fits {
        paint("no pool can serve it".to_string(), false)
    } else if outcome.pools.len() > 1 {
        paint(
            format!(
                "one of {} (MetalLB picks at random among them)",
                outcome.pools.join(", ")
            ),
            true,
        )
    } else {
        let ips = if outcome.ips.is_empty() {
            String::new()
        } else {
            format!(", address {}", outcome.ips.join(", "))
        };
        paint(format!("pool {}{ips}", outcome.pools.join("")), true)
    };
    let when = if report.state == State::Allocated {
        " (if it were allocated again now)"
    } else {
        ""
    };
    writeln!(out, "Outcome:     {verdict}{when}")?;
    for reason in &outcome.reasons {
        writeln!(out, "             {}", reason_text(reason))?;
    }
    if let Some(error) = &outcome.metallb_error {
        writeln!(out, "MetalLB:     {error}")?;
    }
    if report.state == State::Pending && outcome.fits {
        writeln!(
            out,
            "             MetalLB retries a pending service only when it, another service or the configuration changes"
        )?;
    }
    // A gate stops MetalLB before any pool is looked at: the pools add nothing.
    if report.mode != Mode::Stopped && !report.pools.is_empty() {
        writeln!(out)?;
        let (not_requested, considered): (Vec<_>, Vec<_>) = report
            .pools
            .iter()
            .partition(|p| matches!(p.reasons.as_slice(), [r] if r.code == Code::NotRequested));
        let rows = considered
            .iter()
            .map(|p| {
                let fits = if p.fits {
                    paint("yes".to_string(), true)
                } else {
                    paint("no".to_string(), false)
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
                vec![p.name.clone(), fits, p.ips.join(","), why]
            })
            .collect();
        if !considered.is_empty() {
            out.write_all(layout(&["POOL", "FITS", "WOULD-GET", "REASON"], rows).as_bytes())?;
        }
        if let Some(first) = not_requested.first() {
            let names: Vec<&str> = not_requested.iter().map(|p| p.name.as_str()).collect();
            writeln!(
                out,
                "not requested ({}): {}",
                first.reasons[0].message,
                names.join(", ")
            )?;
        }
    }
    if !report.warnings.is_empty() {
        writeln!(out, "\nWarnings:")?;
        for w in &report.warnings {
            writeln!(out, "  {}", reason_text(w))?;
        }
    }
    if !report.events.is_empty() {
        writeln!(out, "\nEvents:")?;
        let rows = report
            .events
            .iter()
            .map(|e| {
                let message = match &e.explanation {
                    Some(meaning) => format!("{} ({meaning})", e.message),
                    None => e.message.clone(),
                };
                vec![
                    e.type_.clone(),
                    e.reason.clone(),
                    e.last_seen.as_deref().map_or("-".to_string(), age),
                    e.count.map_or("-".to_string(), |c| c.to_string()),
                    message,
                ]
            })
            .collect();
        for line in layout(&["TYPE", "REASON", "AGE", "COUNT", "MESSAGE"], rows).lines() {
            writeln!(out, "  {line}")?;
        }
    }
    Ok(())
}

/// kubectl's age of a timestamp: `45s`, `12m`, `5h`, `3d`; the text itself if unreadable.
fn age(timestamp: &str) -> String {
    let Ok(then) = timestamp.parse::<jiff::Timestamp>() else {
        return timestamp.to_string();
    };
    let seconds = (jiff::Timestamp::now().as_second() - then.as_second()).max(0);
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
