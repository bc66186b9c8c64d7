//! `ips` as kubectl-style tables, and the reverse lookup as a short page.

use std::io::Write;

use super::number::count;
use super::table::{Cell, layout};
use super::text::escape_controls;
use super::{Attention, Json, Render, View};
use crate::error::Result;
use crate::report::ips::{AddressEntry, FreePool, IpsReport, Lookup};

/// How many items of a list a default table shows before `+N more`.
const SHOWN: usize = 2;

impl Render for IpsReport {
    fn human(&self, mut out: &mut dyn Write, view: &View) -> Result<()> {
        held(&mut out, &self.addresses, view)?;
        if let Some(free) = &self.free {
            writeln!(out)?;
            free_table(&mut out, free, view)?;
        }
        Ok(())
    }

    fn attention(&self) -> Attention<'_> {
        Attention {
            config_errors: &self.config_errors,
            warnings: &self.warnings,
            version: Some(&self.metallb_version),
        }
    }

    fn main_list(&self) -> Option<&'static str> {
        Some("addresses")
    }

    /// `-o name` for an address is the address (cli-contract.md, kubectl conventions).
    fn item_name(&self, item: &Json) -> Option<String> {
        Some(item.get("ip")?.text())
    }

    fn reorder(&mut self, order: &[usize]) {
        self.addresses = order.iter().map(|&i| self.addresses[i].clone()).collect();
    }
}

impl Render for Lookup {
    fn human(&self, out: &mut dyn Write, _: &View) -> Result<()> {
        writeln!(out, "Address:      {} ({})", self.ip, self.family)?;
        writeln!(
            out,
            "Pool:         {}",
            escape_controls(self.pool.as_deref().unwrap_or("<none>"))
        )?;
        writeln!(out, "State:        {}", state_name(self.state))?;
        let services = if self.services.is_empty() {
            "<none>".to_string()
        } else {
            self.services.join(", ")
        };
        writeln!(out, "Services:     {}", escape_controls(&services))?;
        writeln!(
            out,
            "Sharing key:  {}",
            escape_controls(self.sharing_key.as_deref().unwrap_or("-"))
        )?;
        writeln!(
            out,
            "Reason:       {}",
            escape_controls(self.reason.as_deref().unwrap_or("-"))
        )?;
        Ok(())
    }
}

fn state_name(state: crate::report::ips::AddressState) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// `a,b,+3 more` in a default table, the whole list when wide.
fn shorten(items: &[impl AsRef<str>], wide: bool) -> String {
    shorten_to(items, SHOWN, wide)
}

/// The first `shown` items and `+N more`, or the whole list when wide or short enough.
fn shorten_to(items: &[impl AsRef<str>], shown: usize, wide: bool) -> String {
    // Past two shown items, `+1 more` is no shorter than the item it stands for.
    let slack = usize::from(shown >= 2);
    let joined = |items: &[_]| {
        let texts: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
        texts.join(",")
    };
    if wide || items.len() <= shown + slack {
        return joined(items);
    }
    format!("{},+{} more", joined(&items[..shown]), items.len() - shown)
}

fn held(out: &mut impl Write, addresses: &[AddressEntry], view: &View) -> Result<()> {
    if addresses.is_empty() {
        writeln!(out, "No service holds an address of a MetalLB pool.")?;
        return Ok(());
    }
    let rows = addresses
        .iter()
        .map(|a| {
            let mut row: Vec<Cell> = vec![
                a.ip.to_string().into(),
                a.pool
                    .clone()
                    .unwrap_or_else(|| "<none>".to_string())
                    .into(),
                shorten(&a.services, view.wide).into(),
                a.sharing_key
                    .clone()
                    .unwrap_or_else(|| "-".to_string())
                    .into(),
                state_name(a.state).into(),
            ];
            if view.wide {
                row.push(a.reason.clone().unwrap_or_else(|| "-".to_string()).into());
            }
            row
        })
        .collect();
    let mut headers = vec!["ADDRESS", "POOL", "SERVICES", "SHARING-KEY", "STATE"];
    if view.wide {
        headers.push("REASON");
    }
    out.write_all(layout(&headers, rows, view.color).as_bytes())?;
    Ok(())
}

fn free_table(out: &mut impl Write, pools: &[FreePool], view: &View) -> Result<()> {
    let rows = pools
        .iter()
        .map(|p| {
            let ranges: Vec<String> = p.ranges.iter().map(ToString::to_string).collect();
            let next: Vec<String> = p.next.iter().map(ToString::to_string).collect();
            vec![
                p.pool.clone().into(),
                count(p.count).into(),
                if ranges.is_empty() {
                    "-".into()
                } else {
                    // A range can be long (IPv6): one fits a 120-column table.
                    shorten_to(&ranges, 1, view.wide).into()
                },
                if next.is_empty() {
                    "-".into()
                } else {
                    shorten(&next, view.wide).into()
                },
            ]
        })
        .collect();
    let table = layout(&["POOL", "FREE", "FREE-RANGES", "NEXT"], rows, view.color);
    out.write_all(table.as_bytes())?;
    let notes: Vec<(&str, &String)> = pools
        .iter()
        .flat_map(|p| p.notes.iter().map(move |n| (p.pool.as_str(), n)))
        .collect();
    if !notes.is_empty() {
        writeln!(out, "\nNotes:")?;
        for (pool, note) in notes {
            writeln!(out, "  {}", escape_controls(&format!("{pool}: {note}")))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_are_shortened_with_a_count_unless_wide() {
        let items: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        assert_eq!(shorten(&items, false), "a,b,+2 more");
        assert_eq!(shorten(&items, true), "a,b,c,d");
        assert_eq!(shorten(&items[..3], false), "a,b,c", "three fit");
        assert_eq!(shorten_to(&items, 1, false), "a,+3 more");
        assert_eq!(shorten_to(&items[..2], 1, false), "a,+1 more");
        assert_eq!(shorten_to(&items[..1], 1, false), "a");
    }
}
