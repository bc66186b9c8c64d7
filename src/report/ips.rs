//! `ips`: the address map MetalLB does not publish. Every held address with its pool and
//! holders; with `--free`, each pool's free ranges and the next addresses MetalLB would hand
//! out; with an address, a reverse lookup of that one address.

use std::collections::BTreeMap;

use compact_str::CompactString;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::metallb::addr::{Family, Ip, parse_entry};
use crate::metallb::allocator::Cluster;
use crate::metallb::free::{Range, free_ranges, next_free};
use crate::metallb::reason::Reason;
use crate::metallb::release::MetallbVersion;
use crate::model::Model;
use crate::suggest::closest;

/// What MetalLB does with an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AddressState {
    /// One service holds it, and MetalLB keeps it there.
    Held,
    /// Several services hold it under one sharing key.
    Shared,
    /// A service holds it and MetalLB will take it away (metallb-semantics.md §6.1).
    Stale,
    /// Nobody holds it (lookup only).
    Free,
    /// No pool contains it (lookup only).
    NotInAnyPool,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IpsReport {
    pub metallb_namespace: String,
    pub metallb_version: MetallbVersion,
    pub addresses: Vec<AddressEntry>,
    /// With `--free`: one entry per pool shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub free: Option<Vec<FreePool>>,
    pub config_valid: bool,
    pub config_errors: Vec<String>,
    pub warnings: Vec<Reason>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressEntry {
    pub ip: Ip,
    pub family: Family,
    /// `null` for an address in no pool.
    pub pool: Option<String>,
    pub state: AddressState,
    /// `namespace/name` of every holder, sorted.
    pub services: Vec<CompactString>,
    pub sharing_key: Option<String>,
    /// For a stale address: why MetalLB will take it away.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FreePool {
    pub pool: String,
    /// Exactly the pool's `free` of `usage`.
    pub count: u128,
    #[serde(rename = "countIPv4")]
    pub count_ipv4: u128,
    #[serde(rename = "countIPv6")]
    pub count_ipv6: u128,
    /// Free addresses as ranges, ascending (IPv4 first), never enumerated.
    pub ranges: Vec<Range>,
    /// The next addresses MetalLB would hand out to new services without a sharing key, in
    /// its own order: up to N of IPv4, then up to N of IPv6.
    pub next: Vec<Ip>,
    /// What MetalLB skips or restricts in this pool, in words.
    pub notes: Vec<String>,
}

/// `ips ADDRESS`: who holds one address, which pool contains it, or why a free-looking
/// address would not be handed out.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Lookup {
    pub metallb_namespace: String,
    pub metallb_version: MetallbVersion,
    pub ip: Ip,
    pub family: Family,
    pub pool: Option<String>,
    pub state: AddressState,
    pub services: Vec<CompactString>,
    pub sharing_key: Option<String>,
    /// Why the address would not be handed out (or will be taken away); `null` when nothing
    /// stands in the way.
    pub reason: Option<String>,
}

/// `ips [POOL…] [--free[=N]]`; unknown pool names are a usage error.
pub fn build(model: &Model, pools: &[String], free: Option<usize>) -> Result<IpsReport> {
    let cluster = &model.cluster;
    let config = &cluster.config;
    let shown = selected_pools(cluster, pools)?;
    let mut addresses: Vec<AddressEntry> = Vec::new();
    for &p in &shown {
        for (ip, holders) in cluster.held_addresses(p) {
            addresses.push(entry(cluster, ip, Some(p), &holders, None));
        }
    }
    for (ip, (pool, holders, reason)) in stale_addresses(cluster) {
        if pools.is_empty() || pool.is_some_and(|p| shown.contains(&p)) {
            addresses.push(entry(cluster, ip, pool, &holders, Some(reason)));
        }
    }
    // By pool (name order, addresses in no pool last), then address, held before stale.
    let rank = |e: &AddressEntry| {
        (
            e.pool.is_none(),
            e.pool.clone(),
            e.ip,
            e.state == AddressState::Stale,
        )
    };
    addresses.sort_by_key(rank);
    let mut warnings = config.warnings.clone();
    warnings.extend(model.warnings.iter().cloned());
    Ok(IpsReport {
        metallb_namespace: config.metallb_namespace.clone(),
        metallb_version: model.version,
        addresses,
        free: free.map(|n| shown.iter().map(|&p| free_pool(cluster, p, n)).collect()),
        config_valid: config.is_valid(),
        config_errors: config.errors.clone(),
        warnings,
    })
}

/// Indices of the pools named (all when none is); a name that is no pool is a usage error,
/// worded for an address when it looks like one.
fn selected_pools(cluster: &Cluster, names: &[String]) -> Result<Vec<usize>> {
    let config = &cluster.config;
    if names.is_empty() {
        return Ok((0..config.pools.len()).collect());
    }
    let known: Vec<&str> = config.pools.iter().map(|p| p.name.as_str()).collect();
    let mut found = Vec::new();
    for name in names {
        match known.iter().position(|k| k == name) {
            Some(i) => found.push(i),
            None if looks_like_address(name) => {
                return Err(Error::Usage(format!(
                    "{name} is not a valid IP address, and no pool has that name"
                )));
            }
            None => {
                let hint = closest(name, known.iter().copied())
                    .map(|c| format!("did you mean {c}? "))
                    .unwrap_or_default();
                return Err(Error::Usage(format!(
                    "no pool named {name} in namespace {}; {hint}(pools: {})",
                    config.metallb_namespace,
                    known.join(", ")
                )));
            }
        }
    }
    found.sort_unstable();
    found.dedup();
    Ok(found)
}

/// Digits and dots only (`10.0.0.300`), or a colon (`fd00::g`): meant as an address.
fn looks_like_address(word: &str) -> bool {
    word.contains(':')
        || (word.contains('.') && word.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

fn entry(
    cluster: &Cluster,
    ip: Ip,
    pool: Option<usize>,
    holders: &[usize],
    stale_reason: Option<String>,
) -> AddressEntry {
    let mut services: Vec<CompactString> = holders
        .iter()
        .map(|&h| cluster.services[h].key.clone())
        .collect();
    services.sort();
    let state = match (&stale_reason, holders.len()) {
        (Some(_), _) => AddressState::Stale,
        (None, 1) => AddressState::Held,
        (None, _) => AddressState::Shared,
    };
    AddressEntry {
        ip,
        family: ip.family,
        pool: pool.map(|p| cluster.config.pools[p].name.clone()),
        state,
        services,
        sharing_key: sharing_key(cluster, holders),
        reason: stale_reason,
    }
}

/// The holders' `allow-shared-ip` key (all holders of a kept address have the same one).
fn sharing_key(cluster: &Cluster, holders: &[usize]) -> Option<String> {
    holders
        .iter()
        .map(|&h| cluster.services[h].sharing_key)
        .find(|k| !k.is_empty())
        .map(str::to_string)
}

/// Addresses of allocations MetalLB will take away, each with the pool whose blocks
/// contain it (if any), its holders and why.
fn stale_addresses(cluster: &Cluster) -> BTreeMap<Ip, (Option<usize>, Vec<usize>, String)> {
    let mut stale: BTreeMap<Ip, (Option<usize>, Vec<usize>, String)> = BTreeMap::new();
    for (s, reason) in &cluster.holding_warnings {
        for ip in &cluster.services[*s].ingress {
            let slot = stale.entry(*ip).or_insert_with(|| {
                (
                    cluster.config.pool_containing(*ip),
                    Vec::new(),
                    reason.message.clone(),
                )
            });
            if !slot.1.contains(s) {
                if !slot.1.is_empty() {
                    slot.2.push_str("; ");
                    slot.2.push_str(&reason.message);
                }
                slot.1.push(*s);
            }
        }
    }
    stale
}

/// One pool's free part: ranges, exact counts, the next addresses, and what MetalLB skips.
fn free_pool(cluster: &Cluster, pool: usize, n: usize) -> FreePool {
    let p = &cluster.config.pools[pool];
    let held_in = |b: crate::metallb::addr::Block| cluster.held_between(pool, b.first, b.last());
    let ranges = free_ranges(&p.space, held_in);
    let count_in = |family| -> u128 {
        ranges
            .iter()
            .filter(|r| r.first.family == family)
            .fold(0, |sum, r| sum.saturating_add(r.count(p.space.avoid_buggy)))
    };
    let (count_ipv4, count_ipv6) = (count_in(Family::V4), count_in(Family::V6));
    let mut next = next_free(&p.space, Family::V4, n, held_in);
    next.extend(next_free(&p.space, Family::V6, n, held_in));
    FreePool {
        pool: p.name.clone(),
        count: count_ipv4.saturating_add(count_ipv6),
        count_ipv4,
        count_ipv6,
        ranges,
        next,
        notes: pool_notes(cluster, pool),
    }
}

/// What stands between a free address of the pool and a new service, in words.
fn pool_notes(cluster: &Cluster, pool: usize) -> Vec<String> {
    let p = &cluster.config.pools[pool];
    let mut notes = Vec::new();
    if p.space.avoid_buggy && p.space.has_family(Family::V4) {
        notes.push(
            "avoidBuggyIPs: addresses ending in .0 or .255 are never handed out, even inside these ranges"
                .to_string(),
        );
    }
    if !p.auto_assign {
        notes.push(
            "autoAssign is false: only a service that requests this pool or one of its addresses gets one"
                .to_string(),
        );
    }
    if let Some(alloc) = &p.allocation
        && !alloc.matches_everything
    {
        notes.push(format!(
            "serviceAllocation: handed out only to services the pool admits ({})",
            p.scope()
        ));
    }
    let shared_keys = cluster
        .held_addresses(pool)
        .any(|(_, holders)| sharing_key(cluster, &holders).is_some());
    if shared_keys {
        notes.push(
            "a new service with an allow-shared-ip key is first placed on the lowest held address it may share"
                .to_string(),
        );
    }
    if cluster.config.advertised_by[pool].is_empty() {
        notes.push(
            "no L2Advertisement or BGPAdvertisement announces this pool: its addresses are handed out, and unreachable"
                .to_string(),
        );
    }
    notes
}

/// `ips ADDRESS`.
pub fn lookup(model: &Model, ip: Ip) -> Lookup {
    let cluster = &model.cluster;
    let config = &cluster.config;
    let base = |pool: Option<usize>, state, holders: &[usize], reason: Option<String>| Lookup {
        metallb_namespace: config.metallb_namespace.clone(),
        metallb_version: model.version,
        ip,
        family: ip.family,
        pool: pool.map(|p| config.pools[p].name.clone()),
        state,
        services: {
            let mut keys: Vec<CompactString> = holders
                .iter()
                .map(|&h| cluster.services[h].key.clone())
                .collect();
            keys.sort();
            keys
        },
        sharing_key: sharing_key(cluster, holders),
        reason,
    };
    if let Some(p) = config.pool_for(&[ip]) {
        let holders = cluster.holders_at(p, ip);
        match holders.len() {
            0 => {}
            1 => return base(Some(p), AddressState::Held, &holders, None),
            _ => return base(Some(p), AddressState::Shared, &holders, None),
        }
    }
    if let Some((pool, holders, reason)) = stale_addresses(cluster).remove(&ip) {
        return base(pool, AddressState::Stale, &holders, Some(reason));
    }
    if let Some(p) = config.pool_for(&[ip]) {
        return base(
            Some(p),
            AddressState::Free,
            &[],
            free_reason(cluster, p, ip),
        );
    }
    if let Some(p) = config.pool_containing(ip) {
        let reason = format!(
            "pool {} has avoidBuggyIPs: MetalLB never hands out an address ending in .0 or .255",
            config.pools[p].name
        );
        return base(Some(p), AddressState::Free, &[], Some(reason));
    }
    base(
        None,
        AddressState::NotInAnyPool,
        &[],
        ignored_pool_reason(model, ip),
    )
}

/// Why a free address of a pool may not be handed out, or `None` if nothing stands in the
/// way of a new service that requests it.
fn free_reason(cluster: &Cluster, pool: usize, ip: Ip) -> Option<String> {
    let p = &cluster.config.pools[pool];
    let mut reasons = Vec::new();
    if !p.auto_assign {
        reasons.push(format!(
            "pool {} has autoAssign false: only a service that requests the pool or this address gets it",
            p.name
        ));
    }
    if let Some(alloc) = &p.allocation
        && !alloc.matches_everything
    {
        reasons.push(format!(
            "pool {} hands its addresses only to services it admits ({})",
            p.name,
            p.scope()
        ));
    }
    if cluster.config.advertised_by[pool].is_empty() {
        reasons.push(format!(
            "no advertisement announces pool {}: the address would be unreachable",
            p.name
        ));
    }
    let held_in = |b: crate::metallb::addr::Block| cluster.held_between(pool, b.first, b.last());
    if let Some(first) = next_free(&p.space, ip.family, 1, held_in).first()
        && *first != ip
        && reasons.is_empty()
    {
        reasons.push(format!(
            "automatic allocation hands out {first} first; request this address with metallb.io/loadBalancerIPs"
        ));
    }
    if !cluster.config.is_valid() {
        reasons.push(
            "MetalLB rejects the current configuration and serves its last valid one".to_string(),
        );
    }
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// For an address in no pool: an IPAddressPool MetalLB does not read may contain it.
fn ignored_pool_reason(model: &Model, ip: Ip) -> Option<String> {
    let namespace = &model.cluster.config.metallb_namespace;
    model
        .snapshot
        .pools
        .iter()
        .filter(|cr| cr.metadata.namespace != *namespace)
        .find(|cr| {
            cr.spec
                .addresses
                .iter()
                .filter_map(|e| parse_entry(e).ok())
                .any(|e| e.blocks.iter().any(|b| b.contains(ip)))
        })
        .map(|cr| {
            format!(
                "IPAddressPool {}/{} contains it, but MetalLB reads pools only from namespace {namespace}",
                cr.metadata.namespace, cr.metadata.name
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::manifests::{l2, model, pool, service, snapshot};

    fn manifests(parts: &[String]) -> String {
        parts.concat()
    }

    fn states(report: &IpsReport) -> Vec<(String, Option<String>, AddressState)> {
        report
            .addresses
            .iter()
            .map(|a| (a.ip.to_string(), a.pool.clone(), a.state))
            .collect()
    }

    #[test]
    fn held_shared_and_stale_addresses_sorted_by_pool_then_address() {
        let snap = snapshot(&manifests(&[
            pool("b-pool", &["10.0.1.0/24"], ""),
            pool("a-pool", &["10.0.0.0/24"], ""),
            l2(),
            service("x/one", &["10.0.1.5"], &[]),
            service(
                "x/two",
                &["10.0.0.9"],
                &[("metallb.io/allow-shared-ip", "k")],
            ),
            service(
                "y/three",
                &["10.0.0.9"],
                &[("metallb.io/allow-shared-ip", "k")],
            ),
            // In no pool: MetalLB will take it away.
            service("x/gone", &["192.0.2.1"], &[]),
        ]));
        let report = build(&model(&snap), &[], None).unwrap();
        assert_eq!(
            states(&report),
            [
                (
                    "10.0.0.9".into(),
                    Some("a-pool".into()),
                    AddressState::Shared
                ),
                ("10.0.1.5".into(), Some("b-pool".into()), AddressState::Held),
                ("192.0.2.1".into(), None, AddressState::Stale),
            ]
        );
        assert_eq!(report.addresses[0].services, ["x/two", "y/three"]);
        assert_eq!(report.addresses[0].sharing_key.as_deref(), Some("k"));
        assert_eq!(report.addresses[1].sharing_key, None);
        assert!(
            report.addresses[2]
                .reason
                .as_deref()
                .unwrap()
                .contains("no pool contains it")
        );
        assert!(report.free.is_none());
    }

    #[test]
    fn a_pool_filter_keeps_its_pools_and_refuses_unknown_names() {
        let snap = snapshot(&manifests(&[
            pool("a-pool", &["10.0.0.0/24"], ""),
            pool("b-pool", &["10.0.1.0/24"], ""),
            service("x/one", &["10.0.1.5"], &[]),
            service("x/two", &["10.0.0.5"], &[]),
            service("x/gone", &["192.0.2.1"], &[]),
        ]));
        let m = model(&snap);
        let report = build(&m, &["b-pool".to_string()], Some(2)).unwrap();
        assert_eq!(states(&report).len(), 1);
        assert_eq!(report.free.as_ref().unwrap().len(), 1);
        let e = build(&m, &["b-pol".to_string()], None).unwrap_err();
        assert!(e.to_string().contains("did you mean b-pool"), "{e}");
        let e = build(&m, &["10.0.0.300".to_string()], None).unwrap_err();
        assert!(e.to_string().contains("not a valid IP address"), "{e}");
    }

    #[test]
    fn free_ranges_counts_and_next_addresses() {
        let snap = snapshot(&manifests(&[
            pool("p", &["10.0.0.0/24"], "  avoidBuggyIPs: true\n"),
            service("x/one", &["10.0.0.1"], &[]),
            service("x/two", &["10.0.0.3"], &[]),
        ]));
        let report = build(&model(&snap), &[], Some(3)).unwrap();
        let free = &report.free.unwrap()[0];
        assert_eq!(free.count, 252);
        let ranges: Vec<String> = free.ranges.iter().map(ToString::to_string).collect();
        assert_eq!(ranges, ["10.0.0.2", "10.0.0.4-10.0.0.254"]);
        let next: Vec<String> = free.next.iter().map(ToString::to_string).collect();
        assert_eq!(next, ["10.0.0.2", "10.0.0.4", "10.0.0.5"]);
        assert!(free.notes.iter().any(|n| n.contains("avoidBuggyIPs")));
        assert!(free.notes.iter().any(|n| n.contains("announces")), "no L2");
    }

    #[test]
    fn an_ipv6_slash_32_pool_has_one_free_range() {
        let snap = snapshot(&pool("v6", &["2001:db8::/32"], ""));
        let report = build(&model(&snap), &[], Some(5)).unwrap();
        let free = &report.free.unwrap()[0];
        assert_eq!(free.ranges.len(), 1);
        assert_eq!(free.count, 1 << 96);
        assert_eq!(free.count_ipv6, 1 << 96);
        assert_eq!(free.next.len(), 5);
    }

    fn look(yaml: &str, ip: &str) -> Lookup {
        let snap = snapshot(yaml);
        lookup(&model(&snap), Ip::parse(ip).unwrap())
    }

    #[test]
    fn lookup_of_held_shared_and_stale_addresses() {
        let yaml = manifests(&[
            pool("p", &["10.0.0.0/24"], ""),
            l2(),
            service("x/one", &["10.0.0.1"], &[]),
            service(
                "x/two",
                &["10.0.0.9"],
                &[("metallb.io/allow-shared-ip", "k")],
            ),
            service(
                "y/three",
                &["10.0.0.9"],
                &[("metallb.io/allow-shared-ip", "k")],
            ),
            service("x/gone", &["192.0.2.1"], &[]),
        ]);
        let held = look(&yaml, "10.0.0.1");
        assert_eq!(
            (held.state, held.services.clone()),
            (AddressState::Held, vec!["x/one".into()])
        );
        assert_eq!(held.pool.as_deref(), Some("p"));
        let shared = look(&yaml, "10.0.0.9");
        assert_eq!(shared.state, AddressState::Shared);
        assert_eq!(shared.sharing_key.as_deref(), Some("k"));
        let stale = look(&yaml, "192.0.2.1");
        assert_eq!(stale.state, AddressState::Stale);
        assert_eq!(stale.pool, None);
        assert!(stale.reason.is_some());
    }

    #[test]
    fn lookup_says_why_a_free_address_is_not_handed_out() {
        let yaml = manifests(&[
            pool("buggy", &["10.0.0.0/24"], "  avoidBuggyIPs: true\n"),
            pool("manual", &["10.0.1.0/24"], "  autoAssign: false\n"),
            pool("plain", &["10.0.2.0/24"], ""),
            l2(),
            "---\napiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: lost\n  namespace: default\nspec:\n  addresses: [10.9.0.0/24]\n".to_string(),
        ]);
        let buggy = look(&yaml, "10.0.0.255");
        assert_eq!(buggy.state, AddressState::Free);
        assert!(buggy.reason.unwrap().contains("avoidBuggyIPs"));
        let manual = look(&yaml, "10.0.1.0");
        assert!(manual.reason.unwrap().contains("autoAssign false"));
        let first = look(&yaml, "10.0.2.0");
        assert_eq!((first.state, first.reason), (AddressState::Free, None));
        let later = look(&yaml, "10.0.2.7");
        assert!(later.reason.unwrap().contains("hands out 10.0.2.0 first"));
        let lost = look(&yaml, "10.9.0.4");
        assert_eq!(lost.state, AddressState::NotInAnyPool);
        assert!(lost.reason.unwrap().contains("default/lost"));
        let nowhere = look(&yaml, "192.0.2.1");
        assert_eq!(
            (nowhere.state, nowhere.reason),
            (AddressState::NotInAnyPool, None)
        );
    }

    mod agreement {
        use proptest::prelude::*;

        use super::super::*;
        use crate::fixtures::manifests::model;
        use crate::report::usage;
        use crate::snapshot::{
            Ingress, IpAddressPool, Metadata, PoolSpec, Service, ServicePort, Snapshot,
        };

        fn pool_cr(i: usize, prefixes: (u8, u8), avoid_buggy: bool) -> IpAddressPool {
            IpAddressPool {
                metadata: Metadata {
                    name: format!("pool-{i}").into(),
                    namespace: "metallb-system".into(),
                    ..Default::default()
                },
                spec: PoolSpec {
                    // Two blocks, the higher one first: MetalLB scans them in this order.
                    addresses: vec![
                        format!("10.{i}.1.0/{}", prefixes.0),
                        format!("10.{i}.0.0/{}", prefixes.1),
                    ],
                    avoid_buggy_ips: Some(avoid_buggy),
                    ..Default::default()
                },
                status: None,
            }
        }

        fn lb(name: &str, port: i32) -> Service {
            let mut s = Service {
                metadata: Metadata {
                    name: name.into(),
                    namespace: "ns".into(),
                    ..Default::default()
                },
                ..Default::default()
            };
            s.spec.type_ = Some("LoadBalancer".into());
            s.spec.cluster_ips = smallvec::smallvec!["10.96.0.1".into()];
            s.spec.ports = smallvec::smallvec![ServicePort {
                name: None,
                protocol: Some("TCP".into()),
                port,
            }];
            s
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(96))]

            /// Held addresses per pool = usage's `used`; `free.count` = usage's `free`; the
            /// first `next` address = what `why` predicts for a new service asking for the
            /// pool (certain: the pool is named).
            #[test]
            fn ips_agrees_with_usage_and_why(
                pools in proptest::collection::vec((24u8..=31, 24u8..=32, any::<bool>()), 1..4),
                held in proptest::collection::vec(
                    (0usize..4, 0u32..2, 0u32..256, any::<bool>(), 80i32..83), 0..24),
            ) {
                let mut snapshot = Snapshot {
                    pools: pools
                        .iter()
                        .enumerate()
                        .map(|(i, (a, b, buggy))| pool_cr(i, (*a, *b), *buggy))
                        .collect(),
                    ..Default::default()
                };
                for (j, (pool, third, fourth, shared, port)) in held.iter().enumerate() {
                    let mut s = lb(&format!("holder-{j}"), *port);
                    if *shared {
                        s.metadata.annotations.insert("metallb.io/allow-shared-ip", "k");
                    }
                    s.status.load_balancer.ingress = smallvec::smallvec![Ingress {
                        ip: Some(format!("10.{pool}.{third}.{fourth}").into()),
                        hostname: None,
                    }];
                    snapshot.services.push(s);
                }
                let probes = snapshot.services.len();
                for i in 0..pools.len() {
                    let mut probe = lb(&format!("probe-{i}"), 80);
                    probe
                        .metadata
                        .annotations
                        .insert("metallb.io/address-pool", format!("pool-{i}"));
                    snapshot.services.push(probe);
                }
                let m = model(&snapshot);
                let usage = usage::build(&m);
                let ips = build(&m, &[], Some(3)).unwrap();
                let free = ips.free.as_ref().unwrap();
                for pool in &usage.pools {
                    let held = ips
                        .addresses
                        .iter()
                        .filter(|a| a.pool.as_deref() == Some(pool.name.as_str()))
                        .filter(|a| a.state != AddressState::Stale)
                        .count() as u128;
                    prop_assert_eq!(held, pool.used, "{}", pool.name);
                    let f = free.iter().find(|f| f.pool == pool.name).unwrap();
                    prop_assert_eq!(f.count, pool.free, "{}", pool.name);
                    let probe = probes + m.cluster.config.pools.iter().position(|p| p.name == pool.name).unwrap();
                    let decision = m.cluster.decide(probe);
                    if decision.fits {
                        prop_assert_eq!(decision.ips.first(), f.next.first(), "{}", pool.name);
                    } else {
                        prop_assert!(f.next.is_empty(), "{}: {:?}", pool.name, f.next);
                        prop_assert_eq!(f.count, 0);
                    }
                }
            }
        }
    }
}
