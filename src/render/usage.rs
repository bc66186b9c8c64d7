//! `usage` as kubectl-style tables.

use std::io::Write;

use owo_colors::OwoColorize;

use super::number::{count, percent};
use super::table::layout;
use super::{Attention, Render, View};
use crate::error::Result;
use crate::report::usage::{NamespaceReport, PoolUsage, UsageReport};

impl Render for UsageReport {
    fn human(&self, mut out: &mut dyn Write, view: &View) -> Result<()> {
        table(&mut out, self, view)
    }

    fn attention(&self) -> Attention<'_> {
        Attention {
            config_errors: &self.config_errors,
            warnings: &self.warnings,
        }
    }
}

impl Render for NamespaceReport {
    fn human(&self, mut out: &mut dyn Write, _: &View) -> Result<()> {
        by_namespace(&mut out, self)
    }

    fn attention(&self) -> Attention<'_> {
        Attention {
            config_errors: &self.config_errors,
            warnings: &self.warnings,
        }
    }
}

fn table(out: &mut impl Write, report: &UsageReport, view: &View) -> Result<()> {
    let wide = view.wide;
    if report.pools.is_empty() {
        writeln!(
            out,
            "No IPAddressPool in namespace {}.",
            report.metallb_namespace
        )?;
        return Ok(());
    }
    let mut headers = vec![
        "NAME",
        "ADDRESSES",
        "SIZE",
        "USED",
        "FREE",
        "USE%",
        "AUTO-ASSIGN",
        "PRIORITY",
        "SCOPE",
        "ADVERTISED-BY",
    ];
    if wide {
        headers.extend([
            "AVOID-BUGGY-IPS",
            "IPV4-USED",
            "IPV6-USED",
            "SERVICES",
            "METALLB-STATUS",
        ]);
    }
    let rows = report.pools.iter().map(|pool| row(pool, view)).collect();
    out.write_all(layout(&headers, rows).as_bytes())?;
    Ok(())
}

fn row(pool: &PoolUsage, view: &View) -> Vec<String> {
    let mut row = vec![
        pool.name.clone(),
        pool.addresses.join(","),
        count(pool.total),
        count(pool.used),
        count(pool.free),
        use_percent(pool, view.color),
        pool.auto_assign.to_string(),
        pool.priority.map_or("-".to_string(), |p| p.to_string()),
        scope(pool),
        advertised(pool, view.color),
    ];
    if view.wide {
        row.extend([
            pool.avoid_buggy_ips.to_string(),
            format!("{}/{}", count(pool.ipv4.used), count(pool.ipv4.total)),
            format!("{}/{}", count(pool.ipv6.used), count(pool.ipv6.total)),
            pool.services.len().to_string(),
            metallb_status(pool),
        ]);
    }
    row
}

fn use_percent(pool: &PoolUsage, color: bool) -> String {
    let text = percent(pool.used, pool.total);
    match (color, pool.use_percent()) {
        (true, Some(p)) if p >= 90.0 => text.red().to_string(),
        (true, Some(p)) if p >= 70.0 => text.yellow().to_string(),
        (true, Some(_)) => text.green().to_string(),
        _ => text,
    }
}

/// Who may use the pool: `-` for a plain pool.
fn scope(pool: &PoolUsage) -> String {
    match pool.allocation {
        "plain" => return "-".to_string(),
        "pinned-to-all" => return "all services".to_string(),
        _ => {}
    }
    let mut parts = Vec::new();
    if !pool.namespaces.is_empty() {
        parts.push(format!("ns:{}", pool.namespaces.join(",")));
    } else if !pool.namespace_selectors.is_empty() {
        parts.push(format!(
            "ns:{} (matches none)",
            pool.namespace_selectors.join(";")
        ));
    }
    if !pool.service_selectors.is_empty() {
        parts.push(format!("svc:{}", pool.service_selectors.join(";")));
    }
    parts.join(" ")
}

fn advertised(pool: &PoolUsage, color: bool) -> String {
    if pool.advertised_by.is_empty() {
        let none = "<none>";
        return if color {
            none.red().to_string()
        } else {
            none.to_string()
        };
    }
    pool.advertised_by.join(",")
}

/// MetalLB's own counters as `used/size` per family, like the IPV4-USED and IPV6-USED
/// columns (MetalLB writes assigned and available; its size is their sum).
fn metallb_status(pool: &PoolUsage) -> String {
    let Some(status) = &pool.metallb_status else {
        return "-".to_string();
    };
    let pair = |assigned: Option<i64>, available: Option<i64>| {
        let (assigned, available) = (
            i128::from(assigned.unwrap_or(0)),
            i128::from(available.unwrap_or(0)),
        );
        let size = assigned + available;
        // MetalLB's sums can overflow into negative numbers (§3.2): shown as they are.
        let show = |n: i128| u128::try_from(n).map_or(n.to_string(), count);
        format!("{}/{}", show(assigned), show(size))
    };
    format!(
        "v4 {} v6 {}",
        pair(status.assigned_ipv4, status.available_ipv4),
        pair(status.assigned_ipv6, status.available_ipv6)
    )
}

fn by_namespace(out: &mut impl Write, report: &NamespaceReport) -> Result<()> {
    if report.namespaces.is_empty() {
        match &report.namespace {
            Some(ns) => writeln!(
                out,
                "No service in namespace {ns} holds an address of a MetalLB pool."
            )?,
            None => writeln!(out, "No service holds an address of a MetalLB pool.")?,
        }
        return Ok(());
    }
    let mut rows = Vec::new();
    for ns in &report.namespaces {
        for pool in &ns.pools {
            rows.push(vec![
                ns.namespace.clone(),
                pool.pool.clone(),
                count(pool.addresses),
                percent(pool.addresses, pool.pool_total),
                pool.services.len().to_string(),
                count(ns.headroom),
            ]);
        }
        if ns.pools.is_empty() {
            let none = "-".to_string();
            let zero = "0".to_string();
            rows.push(vec![
                ns.namespace.clone(),
                none.clone(),
                zero.clone(),
                none,
                zero,
                count(ns.headroom),
            ]);
        }
    }
    out.write_all(
        layout(
            &[
                "NAMESPACE",
                "POOL",
                "ADDRESSES",
                "SHARE-OF-POOL",
                "SERVICES",
                "HEADROOM",
            ],
            rows,
        )
        .as_bytes(),
    )?;
    Ok(())
}
