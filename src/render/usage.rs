//! `usage` as kubectl-style tables.

use std::io::Write;

use super::Json;
use super::number::{count, percent};
use super::table::{Cell, Tone, layout_view, shortened};
use super::text::escape_controls;
use super::{Attention, Render, View};
use crate::error::Result;
use crate::report::usage::{NamespaceReport, PoolUsage, UsageReport};

impl Render for UsageReport {
    fn human(&self, mut out: &mut dyn Write, view: &View) -> Result<()> {
        table(&mut out, self, view)
    }

    fn main_list(&self) -> Option<&'static str> {
        Some("pools")
    }

    fn item_name(&self, item: &Json) -> Option<String> {
        Some(format!(
            "ipaddresspool.metallb.io/{}",
            item.get("name")?.text()
        ))
    }

    fn reorder(&mut self, order: &[usize]) {
        self.pools = order.iter().map(|&i| self.pools[i].clone()).collect();
    }

    fn attention(&self) -> Attention<'_> {
        Attention {
            config_errors: &self.config_errors,
            warnings: &self.warnings,
            version: Some(&self.metallb_version),
        }
    }
}

impl Render for NamespaceReport {
    fn human(&self, mut out: &mut dyn Write, view: &View) -> Result<()> {
        by_namespace(&mut out, self, view)
    }

    fn main_list(&self) -> Option<&'static str> {
        Some("namespaces")
    }

    fn item_name(&self, item: &Json) -> Option<String> {
        Some(format!("namespace/{}", item.get("namespace")?.text()))
    }

    fn reorder(&mut self, order: &[usize]) {
        self.namespaces = order.iter().map(|&i| self.namespaces[i].clone()).collect();
    }

    fn attention(&self) -> Attention<'_> {
        Attention {
            config_errors: &self.config_errors,
            warnings: &self.warnings,
            version: Some(&self.metallb_version),
        }
    }
}

fn table(out: &mut impl Write, report: &UsageReport, view: &View) -> Result<()> {
    let wide = view.wide;
    if report.pools.is_empty() {
        writeln!(
            out,
            "No IPAddressPool in namespace {}.",
            escape_controls(&report.metallb_namespace)
        )?;
        return Ok(());
    }
    // kubectl's habit: the numbers first, the lists last and shortened; `-o wide` adds the
    // remaining columns and gives every list whole.
    let mut headers = vec![
        "NAME",
        "SIZE",
        "USED",
        "FREE",
        "USE%",
        "SCOPE",
        "ADVERTISED-BY",
        "ADDRESSES",
    ];
    if wide {
        headers.extend([
            "AUTO-ASSIGN",
            "PRIORITY",
            "AVOID-BUGGY-IPS",
            "IPV4-USED",
            "IPV6-USED",
            "SERVICES",
            "METALLB-STATUS",
        ]);
    }
    let rows = report
        .pools
        .iter()
        .map(|pool| row(pool, report.namespaces_known, view))
        .collect();
    out.write_all(layout_view(&headers, rows, view).as_bytes())?;
    Ok(())
}

fn row(pool: &PoolUsage, namespaces_known: bool, view: &View) -> Vec<Cell> {
    let list = |items: &[String]| {
        if view.wide {
            items.join(",")
        } else {
            shortened(items)
        }
    };
    let mut row: Vec<Cell> = vec![
        pool.name.clone().into(),
        count(pool.total).into(),
        count(pool.used).into(),
        count(pool.free).into(),
        use_percent(pool),
        if view.wide {
            scope(pool, namespaces_known)
        } else {
            compact_scope(pool, namespaces_known)
        }
        .into(),
        advertised(pool, list),
        list(&pool.addresses).into(),
    ];
    if view.wide {
        row.extend([
            pool.auto_assign.to_string().into(),
            pool.priority
                .map_or("-".to_string(), |p| p.to_string())
                .into(),
            pool.avoid_buggy_ips.to_string().into(),
            format!("{}/{}", count(pool.ipv4.used), count(pool.ipv4.total)).into(),
            format!("{}/{}", count(pool.ipv6.used), count(pool.ipv6.total)).into(),
            pool.services.len().to_string().into(),
            metallb_status(pool).into(),
        ]);
    }
    row
}

fn use_percent(pool: &PoolUsage) -> Cell {
    let tone = match pool.use_percent() {
        Some(p) if p >= 90.0 => Tone::Bad,
        Some(p) if p >= 70.0 => Tone::Warn,
        Some(_) => Tone::Good,
        None => Tone::Plain,
    };
    Cell::toned(percent(pool.used, pool.total), tone)
}

/// Who may use the pool: `-` for a plain pool.
fn scope(pool: &PoolUsage, namespaces_known: bool) -> String {
    match pool.allocation {
        "plain" => return "-".to_string(),
        "pinned-to-all" => return "all services".to_string(),
        _ => {}
    }
    let mut parts = Vec::new();
    if !pool.namespaces.is_empty() {
        parts.push(format!("ns:{}", pool.namespaces.join(",")));
    } else if !pool.namespace_selectors.is_empty() {
        let matches = if namespaces_known {
            "matches none"
        } else {
            "matches unknown: no Namespace objects read"
        };
        parts.push(format!(
            "ns:{} ({matches})",
            pool.namespace_selectors.join(";")
        ));
    }
    if !pool.service_selectors.is_empty() {
        parts.push(format!("svc:{}", pool.service_selectors.join(";")));
    }
    parts.join(" ")
}

/// The default table's scope: the admitted namespaces bare and shortened (`team-a`,
/// `payments-prod,+1 more`), `svc:` before service selectors; `-o wide` writes it whole.
fn compact_scope(pool: &PoolUsage, namespaces_known: bool) -> String {
    match pool.allocation {
        "plain" => return "-".to_string(),
        "pinned-to-all" => return "all services".to_string(),
        _ => {}
    }
    let mut parts = Vec::new();
    if !pool.namespaces.is_empty() {
        parts.push(shortened(&pool.namespaces));
    } else if !pool.namespace_selectors.is_empty() {
        let matches = if namespaces_known { "none" } else { "unknown" };
        parts.push(format!(
            "ns:{} ({matches})",
            shortened(&pool.namespace_selectors)
        ));
    }
    if !pool.service_selectors.is_empty() {
        parts.push(format!("svc:{}", shortened(&pool.service_selectors)));
    }
    parts.join(" ")
}

fn advertised(pool: &PoolUsage, list: impl Fn(&[String]) -> String) -> Cell {
    if pool.advertised_by.is_empty() {
        return Cell::toned("<none>", Tone::Bad);
    }
    list(&pool.advertised_by).into()
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

fn by_namespace(out: &mut impl Write, report: &NamespaceReport, view: &View) -> Result<()> {
    if report.namespaces.is_empty() {
        match &report.namespace {
            Some(ns) => writeln!(
                out,
                "No service in namespace {} holds an address of a MetalLB pool.",
                escape_controls(ns)
            )?,
            None => writeln!(out, "No service holds an address of a MetalLB pool.")?,
        }
        return Ok(());
    }
    let mut rows = Vec::new();
    for ns in &report.namespaces {
        for pool in &ns.pools {
            rows.push(vec![
                ns.namespace.clone().into(),
                pool.pool.clone().into(),
                count(pool.addresses).into(),
                percent(pool.addresses, pool.pool_total).into(),
                pool.services.len().to_string().into(),
                count(ns.headroom).into(),
            ]);
        }
        if ns.pools.is_empty() {
            let none = "-".to_string();
            let zero = "0".to_string();
            rows.push(vec![
                ns.namespace.clone().into(),
                none.clone().into(),
                zero.clone().into(),
                none.into(),
                zero.into(),
                count(ns.headroom).into(),
            ]);
        }
    }
    out.write_all(
        layout_view(
            &[
                "NAMESPACE",
                "POOL",
                "ADDRESSES",
                "SHARE-OF-POOL",
                "SERVICES",
                "HEADROOM",
            ],
            rows,
            &View {
                color: false,
                ..*view
            },
        )
        .as_bytes(),
    )?;
    Ok(())
}
