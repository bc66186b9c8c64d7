//! `plan` as a pool table and a service table, or as a Markdown pull-request comment.

use std::io::Write;

use super::number::count;
use super::table::{Cell, Tone, layout};
use super::text::{escape_controls, wrap};
use super::{Attention, Render, View};
use crate::error::Result;
use crate::metallb::addr::Ip;
use crate::metallb::reaction::Change;
use crate::report::plan::{PlanReport, PoolPlan, PoolState, ServicePlan};

impl Render for PlanReport {
    fn human(&self, mut out: &mut dyn Write, view: &View) -> Result<()> {
        human(&mut out, self, view)
    }

    /// The refusal is the answer, in the table, and is not repeated; what reading the base
    /// noticed goes to stderr.
    fn attention(&self) -> Attention<'_> {
        Attention {
            config_errors: &[],
            warnings: &self.warnings,
            version: Some(&self.metallb_version),
        }
    }

    fn markdown(&self, mut out: &mut dyn Write) -> Result<()> {
        markdown(&mut out, self)
    }
}

/// One line that says what the plan comes to.
fn verdict(report: &PlanReport) -> String {
    let count_of = |change: Change| {
        report
            .services
            .iter()
            .filter(|s| s.change == change)
            .count()
    };
    if !report.config_valid.after {
        return "MetalLB would REFUSE this configuration and keep its last valid one: nothing changes."
            .to_string();
    }
    let (moved, lost, gained) = (
        count_of(Change::Moved),
        count_of(Change::Lost),
        count_of(Change::Gained),
    );
    let mut parts = Vec::new();
    if moved > 0 {
        parts.push(format!("{moved} moved"));
    }
    if lost > 0 {
        parts.push(format!("{lost} lost (pending)"));
    }
    if gained > 0 {
        parts.push(format!("{gained} gained"));
    }
    match parts.is_empty() {
        true => "MetalLB accepts this configuration; no service changes its address.".to_string(),
        false => format!(
            "MetalLB accepts this configuration; services: {}.",
            parts.join(", ")
        ),
    }
}

fn human(out: &mut impl Write, report: &PlanReport, view: &View) -> Result<()> {
    writeln!(
        out,
        "MetalLB {} ({}), namespace {}",
        report.metallb_version.version,
        source_name(report),
        escape_controls(&report.metallb_namespace)
    )?;
    writeln!(out, "{}", verdict(report))?;
    for error in &report.config_errors {
        writeln!(out, "  config error: {}", escape_controls(error))?;
    }
    writeln!(out)?;
    let rows = report.pools.iter().map(pool_row).collect();
    out.write_all(
        layout(
            &[
                "POOL",
                "CHANGE",
                "SIZE",
                "USED",
                "FREE",
                "ADDRESSES",
                "PRIORITY",
            ],
            rows,
            view.color,
        )
        .as_bytes(),
    )?;
    for pool in &report.pools {
        for note in &pool.notes {
            write_note(out, &format!("  {}: ", escape_controls(&pool.name)), note)?;
        }
    }
    writeln!(out)?;
    let shown: Vec<&ServicePlan> = report
        .services
        .iter()
        .filter(|s| view.wide || changes(s))
        .collect();
    if shown.is_empty() {
        writeln!(out, "No service changes.")?;
    } else {
        let rows = shown.iter().map(|s| service_row(s)).collect();
        out.write_all(
            layout(
                &["SERVICE", "CHANGE", "BEFORE", "AFTER", "WHY"],
                rows,
                view.color,
            )
            .as_bytes(),
        )?;
        for (note, services) in grouped_notes(&shown) {
            let about = escape_controls(&shortened(&services, view.wide)).into_owned();
            write_note(out, &format!("  {about}: "), note)?;
        }
    }
    for note in &report.notes {
        write_note(out, "Note: ", note)?;
    }
    Ok(())
}

/// A note after its label, wrapped to fit a terminal, continued under the label's indent.
fn write_note(out: &mut impl Write, label: &str, note: &str) -> Result<()> {
    /// Notes are prose: wrapped where the tables above them end on most terminals.
    const WIDTH: usize = 100;
    let indent = " ".repeat(label.len() - label.trim_start().len() + 4);
    for line in wrap(&escape_controls(note), WIDTH, label, &indent) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// Each distinct note once, with the services it is about, in the order first met.
fn grouped_notes<'a>(services: &[&'a ServicePlan]) -> Vec<(&'a str, Vec<&'a str>)> {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for s in services {
        for note in &s.notes {
            match groups.iter_mut().find(|(text, _)| text == note) {
                Some((_, names)) => names.push(&s.service),
                None => groups.push((note, vec![&s.service])),
            }
        }
    }
    groups
}

/// A list of names, shortened with a count unless wide (kubectl conventions).
fn shortened(names: &[&str], wide: bool) -> String {
    const SHOWN: usize = 3;
    if wide || names.len() <= SHOWN {
        return names.join(", ");
    }
    format!(
        "{},+{} more",
        names[..SHOWN].join(", "),
        names.len() - SHOWN
    )
}

fn source_name(report: &PlanReport) -> String {
    serde_json::to_value(report.metallb_version.source)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Whether the service's address changes (kept and still pending are no change).
fn changes(s: &ServicePlan) -> bool {
    !matches!(s.change, Change::Kept | Change::UnchangedPending)
}

fn change_name(change: Change) -> &'static str {
    match change {
        Change::Kept => "kept",
        Change::Moved => "moved",
        Change::Lost => "lost",
        Change::Gained => "gained",
        Change::UnchangedPending => "unchanged-pending",
    }
}

/// `added`, `removed`, `changed` or `-`.
fn pool_change(pool: &PoolPlan) -> Cell {
    match (&pool.before, &pool.after) {
        (None, Some(_)) => Cell::toned("added", Tone::Good),
        (Some(_), None) => Cell::toned("removed", Tone::Bad),
        (Some(b), Some(a)) if b != a => Cell::toned("changed", Tone::Warn),
        _ => "-".into(),
    }
}

/// `before → after` of one number, or the one value when equal.
fn arrow(pool: &PoolPlan, get: impl Fn(&PoolState) -> String) -> String {
    let before = pool.before.as_ref().map(&get);
    let after = pool.after.as_ref().map(&get);
    match (before, after) {
        (Some(b), Some(a)) if a == b => a,
        (b, a) => format!(
            "{} → {}",
            b.unwrap_or_else(|| "-".to_string()),
            a.unwrap_or_else(|| "-".to_string())
        ),
    }
}

fn pool_row(pool: &PoolPlan) -> Vec<Cell> {
    vec![
        pool.name.clone().into(),
        pool_change(pool),
        arrow(pool, |s| count(s.total)).into(),
        arrow(pool, |s| count(s.used)).into(),
        arrow(pool, |s| count(s.free)).into(),
        arrow(pool, |s| s.addresses.join(",")).into(),
        arrow(pool, |s| {
            s.priority.map_or("-".to_string(), |p| p.to_string())
        })
        .into(),
    ]
}

fn held<P: AsRef<str>>(ips: &[Ip], pools: &[P]) -> String {
    let ip_list = || {
        ips.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    let pool_list = || {
        pools
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (ips.is_empty(), pools.is_empty()) {
        (true, true) => "<pending>".to_string(),
        (true, false) => format!("one of {}", pool_list()),
        (false, true) => ip_list(),
        (false, false) => format!("{} ({})", ip_list(), pool_list()),
    }
}

fn service_row(s: &ServicePlan) -> Vec<Cell> {
    let tone = match s.change {
        Change::Moved => Tone::Warn,
        Change::Lost => Tone::Bad,
        Change::Gained => Tone::Good,
        _ => Tone::Plain,
    };
    let why: Vec<&str> = s.after.reasons.iter().map(|r| r.code.as_str()).collect();
    vec![
        s.service.as_str().into(),
        Cell::toned(change_name(s.change), tone),
        held(&s.before.ips, s.before.pool.as_slice()).into(),
        held(&s.after.ips, &s.after.pools).into(),
        match why.is_empty() {
            true => "-".to_string(),
            false => why.join(","),
        }
        .into(),
    ]
}

/// Markdown cell text: escaped, with the characters that would break a table row quoted.
fn md(text: &str) -> String {
    escape_controls(text)
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('`', "\\`")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn markdown(out: &mut impl Write, report: &PlanReport) -> Result<()> {
    writeln!(out, "### MetalLB plan")?;
    writeln!(out)?;
    let mark = match (report.config_valid.after, report.is_problem()) {
        (false, _) => ":x:",
        (true, true) => ":warning:",
        (true, false) => ":white_check_mark:",
    };
    writeln!(out, "{mark} {}", md(&verdict(report)))?;
    writeln!(out)?;
    writeln!(
        out,
        "MetalLB {}, namespace `{}`.",
        report.metallb_version.version,
        md(&report.metallb_namespace)
    )?;
    if !report.config_errors.is_empty() {
        writeln!(out)?;
        writeln!(out, "**Configuration errors**")?;
        writeln!(out)?;
        for e in &report.config_errors {
            writeln!(out, "- {}", md(e))?;
        }
    }
    writeln!(out)?;
    writeln!(out, "#### Pools")?;
    writeln!(out)?;
    writeln!(
        out,
        "| pool | change | size | used | free | addresses | priority |"
    )?;
    writeln!(out, "| --- | --- | ---: | ---: | ---: | --- | --- |")?;
    for pool in &report.pools {
        let cells: Vec<String> = pool_row(pool).into_iter().map(|c| md(&c.text)).collect();
        writeln!(out, "| {} |", cells.join(" | "))?;
    }
    for pool in &report.pools {
        for note in &pool.notes {
            writeln!(out)?;
            writeln!(out, "> **{}**: {}", md(&pool.name), md(note))?;
        }
    }
    writeln!(out)?;
    writeln!(out, "#### Services")?;
    writeln!(out)?;
    let changed: Vec<&ServicePlan> = report.services.iter().filter(|s| changes(s)).collect();
    if changed.is_empty() {
        writeln!(out, "No service changes its address.")?;
    } else {
        writeln!(out, "| service | change | before | after | why |")?;
        writeln!(out, "| --- | --- | --- | --- | --- |")?;
        for s in &changed {
            let cells: Vec<String> = service_row(s).into_iter().map(|c| md(&c.text)).collect();
            writeln!(out, "| {} |", cells.join(" | "))?;
        }
        for s in &changed {
            for note in &s.notes {
                writeln!(out)?;
                writeln!(out, "> **{}**: {}", md(&s.service), md(note))?;
            }
        }
    }
    for note in &report.notes {
        writeln!(out)?;
        writeln!(out, "_{}_", md(note))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_cells_cannot_break_the_table() {
        assert_eq!(md("a|b<c>`d`"), "a\\|b&lt;c&gt;\\`d\\`");
        assert!(!md("x\u{1b}[2J").contains('\u{1b}'));
    }

    #[test]
    fn a_note_shared_by_many_services_is_printed_once() {
        assert_eq!(
            shortened(&["a", "b", "c", "d", "e"], false),
            "a, b, c,+2 more"
        );
        assert_eq!(shortened(&["a", "b", "c", "d"], true), "a, b, c, d");
        assert_eq!(shortened(&["a", "b"], false), "a, b");
    }

    #[test]
    fn a_pending_service_and_random_pools_read_plainly() {
        assert_eq!(held::<&str>(&[], &[]), "<pending>");
        assert_eq!(
            held(&[], &["a".to_string(), "b".to_string()]),
            "one of a, b"
        );
        assert_eq!(
            held(&[Ip::parse("10.0.0.1").unwrap()], &["p"]),
            "10.0.0.1 (p)"
        );
    }
}
