//! `usage`: every pool with exact counts, scope and advertisements; or, with
//! `--by-namespace`, the addresses each namespace holds in each pool.

use std::collections::{BTreeMap, BTreeSet};

use compact_str::CompactString;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::metallb::addr::{Family, FamilyCounts, Ip};
use crate::metallb::allocator::Cluster;
use crate::metallb::config::{LegacyProtocol, Pool};
use crate::metallb::reason::{Code, Reason};
use crate::metallb::release::{MetallbVersion, metallb_status};
use crate::model::Model;
use crate::snapshot::PoolStatus;
use crate::suggest::closest;

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageReport {
    pub metallb_namespace: String,
    /// The MetalLB release the answers follow, and how it was known.
    pub metallb_version: MetallbVersion,
    /// Whether MetalLB accepts the configuration; if not, it runs on the last valid one.
    pub config_valid: bool,
    pub config_errors: Vec<String>,
    pub pools: Vec<PoolUsage>,
    pub warnings: Vec<Reason>,
    /// Whether Namespace objects were read: without them, what a namespace selector matches
    /// is unknown, not nothing (JSON says so with a `namespaces-unknown` warning).
    #[serde(skip)]
    pub namespaces_known: bool,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolUsage {
    pub name: String,
    pub addresses: Vec<String>,
    pub auto_assign: bool,
    #[serde(rename = "avoidBuggyIPs")]
    pub avoid_buggy_ips: bool,
    /// `null` for a plain pool (no serviceAllocation).
    pub priority: Option<i64>,
    /// The allowed-namespace set: explicit namespaces and those the selectors match.
    pub namespaces: Vec<String>,
    pub namespace_selectors: Vec<String>,
    pub service_selectors: Vec<String>,
    /// `plain`, `pinned` or `pinned-to-all` (priority only).
    pub allocation: &'static str,
    pub total: u128,
    pub used: u128,
    pub free: u128,
    pub ipv4: FamilyCounts,
    pub ipv6: FamilyCounts,
    /// `L2:<advertisement>` / `BGP:<advertisement>`; a legacy AddressPool's own
    /// announcement is `L2:AddressPool/<pool>` / `BGP:AddressPool/<pool>`.
    pub advertised_by: Vec<String>,
    /// A legacy `AddressPool` (read up to v0.13.x): its `protocol`, `layer2` or `bgp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legacy_protocol: Option<&'static str>,
    pub services: Vec<CompactString>,
    /// MetalLB's own counters (IPAddressPool.status, v0.15.0+), when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metallb_status: Option<PoolStatus>,
}

impl UsageReport {
    /// `usage POOL…`: only the named pools, and the warnings about them or about no pool in
    /// particular; an unknown name is a usage error.
    pub fn only(&mut self, names: &[String]) -> Result<()> {
        let known: Vec<&str> = self.pools.iter().map(|p| p.name.as_str()).collect();
        if let Some(missing) = names.iter().find(|n| !known.contains(&n.as_str())) {
            let hint = match closest(missing, known.iter().copied()) {
                Some(name) => format!("did you mean {name}? "),
                None => String::new(),
            };
            return Err(Error::Usage(format!(
                "no pool named {missing} in namespace {}; {hint}(pools: {})",
                self.metallb_namespace,
                known.join(", ")
            )));
        }
        self.pools.retain(|p| names.contains(&p.name));
        self.warnings
            .retain(|w| w.pool.as_ref().is_none_or(|pool| names.contains(pool)));
        Ok(())
    }
}

impl PoolUsage {
    /// Use as a percentage, `None` for an empty pool.
    pub fn use_percent(&self) -> Option<f64> {
        (self.total > 0).then(|| self.used as f64 * 100.0 / self.total as f64)
    }
}

pub fn build(model: &Model) -> UsageReport {
    let cluster = &model.cluster;
    let extra_warnings = model.warnings.clone();
    let config = &cluster.config;
    let pools: Vec<PoolUsage> = config
        .pools
        .iter()
        .enumerate()
        .map(|(i, pool)| {
            let (ipv4, ipv6) = cluster.counts(i);
            let all = ipv4.plus(ipv6);
            // Sorted by key; the indices are sorted, not the strings.
            let mut holders: Vec<usize> = cluster.holders_of(i).collect();
            holders
                .sort_unstable_by(|&a, &b| cluster.services[a].key.cmp(&cluster.services[b].key));
            let services: Vec<CompactString> = holders
                .iter()
                .map(|&s| cluster.services[s].key.clone())
                .collect();
            let alloc = pool.allocation.as_ref();
            PoolUsage {
                name: pool.name.clone(),
                addresses: pool.addresses.clone(),
                auto_assign: pool.auto_assign,
                avoid_buggy_ips: pool.space.avoid_buggy,
                priority: alloc.map(|a| a.priority),
                namespaces: alloc
                    .map(|a| a.allowed_namespaces.iter().cloned().collect())
                    .unwrap_or_default(),
                namespace_selectors: alloc
                    .map(|a| a.namespace_selectors.clone())
                    .unwrap_or_default(),
                service_selectors: alloc
                    .filter(|a| !a.matches_everything)
                    .map(|a| a.service_selectors.iter().map(|s| s.text.clone()).collect())
                    .unwrap_or_default(),
                allocation: match alloc {
                    None => "plain",
                    Some(a) if a.matches_everything => "pinned-to-all",
                    Some(_) => "pinned",
                },
                total: all.total,
                used: all.used,
                free: all.free,
                ipv4,
                ipv6,
                advertised_by: config.advertised_by[i].clone(),
                legacy_protocol: pool.legacy.map(LegacyProtocol::name),
                services,
                // A status of conditions only says nothing about counts.
                metallb_status: pool.status.clone().filter(PoolStatus::has_counts),
            }
        })
        .collect();
    let mut warnings = cluster_warnings(cluster, extra_warnings);
    for (pool, usage) in config.pools.iter().zip(&pools) {
        warnings.extend(status_disagreement(pool, usage));
    }
    for (pool, ads) in config.pools.iter().zip(&config.advertised_by) {
        if ads.is_empty() {
            warnings.push(Reason::new(
                Code::NotAdvertised,
                format!("no L2Advertisement or BGPAdvertisement announces pool {}: addresses it hands out are unreachable", pool.name),
            ).about_pool(&pool.name));
        }
    }
    UsageReport {
        metallb_namespace: config.metallb_namespace.clone(),
        metallb_version: model.version,
        config_valid: config.is_valid(),
        config_errors: config.errors.clone(),
        pools,
        warnings,
        namespaces_known: model.snapshot.namespaces_known,
    }
}

/// What concerns the whole cluster: the configuration's warnings, what reading noticed, and
/// addresses MetalLB will take away.
fn cluster_warnings(cluster: &Cluster, extra: Vec<Reason>) -> Vec<Reason> {
    let mut warnings = cluster.config.warnings.clone();
    warnings.extend(extra);
    warnings.extend(cluster.holding_warnings.iter().map(|(_, w)| w.clone()));
    warnings
}

/// MetalLB's own counters (`IPAddressPool.status`) against what MetalLB itself would write
/// for this pool (metallb-semantics.md §3.2, §3.4, C.6): its quirks (large IPv6 blocks,
/// avoidBuggyIPs /32s) are not a disagreement; a status that is off is, with the exact count
/// beside it.
fn status_disagreement(pool: &Pool, usage: &PoolUsage) -> Option<Reason> {
    let status = usage.metallb_status.as_ref()?;
    let expected = metallb_status(&pool.space, usage.ipv4.used, usage.ipv6.used);
    let pairs = [
        (
            "assignedIPv4",
            status.assigned_ipv4,
            expected.assigned_ipv4,
            usage.ipv4.used,
        ),
        (
            "availableIPv4",
            status.available_ipv4,
            expected.available_ipv4,
            usage.ipv4.free,
        ),
        (
            "assignedIPv6",
            status.assigned_ipv6,
            expected.assigned_ipv6,
            usage.ipv6.used,
        ),
        (
            "availableIPv6",
            status.available_ipv6,
            expected.available_ipv6,
            usage.ipv6.free,
        ),
    ];
    let differing: Vec<String> = pairs
        .iter()
        .filter_map(|&(field, theirs, expected, exact)| Some((field, theirs?, expected, exact)))
        .filter(|&(_, theirs, expected, _)| theirs != expected)
        .map(|(field, theirs, expected, exact)| {
            if i128::from(expected) == i128::try_from(exact).unwrap_or(i128::MAX) {
                format!("{field} {theirs} (exact {exact})")
            } else {
                format!("{field} {theirs} (MetalLB would count {expected}; exact {exact})")
            }
        })
        .collect();
    if differing.is_empty() {
        return None;
    }
    Some(
        Reason::new(
            Code::StatusDisagrees,
            format!(
                "MetalLB's status of pool {} says {}: the status lags behind, or MetalLB has not accepted some allocations",
                usage.name,
                differing.join(", ")
            ),
        )
        .about_pool(&usage.name),
    )
}

/// `usage --by-namespace`: who holds what, per namespace and pool.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceReport {
    pub metallb_namespace: String,
    pub metallb_version: MetallbVersion,
    /// The namespace asked for with `-n`, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub namespaces: Vec<NamespaceUsage>,
    pub config_valid: bool,
    pub config_errors: Vec<String>,
    pub warnings: Vec<Reason>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceUsage {
    pub namespace: String,
    /// Distinct addresses the namespace holds, all pools together.
    pub addresses: u128,
    pub services: usize,
    pub pools: Vec<NamespacePoolUsage>,
    /// How many more addresses a new automatic single-stack service of the namespace could
    /// still be given: the free addresses of every pool that would serve it, each once.
    pub headroom: u128,
    #[serde(rename = "headroomIPv4")]
    pub headroom_ipv4: u128,
    #[serde(rename = "headroomIPv6")]
    pub headroom_ipv6: u128,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespacePoolUsage {
    pub pool: String,
    /// Distinct addresses of the pool held by the namespace's services.
    pub addresses: u128,
    pub ipv4: u128,
    pub ipv6: u128,
    /// The pool's size, to read the share against.
    pub pool_total: u128,
    pub services: Vec<CompactString>,
}

/// What one namespace holds in one pool: distinct addresses, and its services.
type Held = (BTreeSet<Ip>, Vec<CompactString>);

pub fn build_by_namespace(model: &Model, only: Option<&str>) -> NamespaceReport {
    let cluster = &model.cluster;
    let extra_warnings = model.warnings.clone();
    let mut held: BTreeMap<&str, BTreeMap<usize, Held>> = BTreeMap::new();
    for (s, pool) in cluster.service_pool.iter().enumerate() {
        let (Some(pool), facts) = (pool, &cluster.services[s]) else {
            continue;
        };
        if only.is_some_and(|ns| ns != facts.namespace) {
            continue;
        }
        let entry = held
            .entry(facts.namespace)
            .or_default()
            .entry(*pool)
            .or_default();
        entry.0.extend(facts.ingress.iter().copied());
        entry.1.push(facts.key.clone());
    }
    let namespaces = held
        .into_iter()
        .map(|(namespace, pools)| {
            let pools: Vec<NamespacePoolUsage> = pools
                .into_iter()
                .map(|(p, (ips, mut services))| {
                    services.sort();
                    let ipv4 = ips.iter().filter(|ip| ip.family == Family::V4).count() as u128;
                    let (v4, v6) = cluster.counts(p);
                    NamespacePoolUsage {
                        pool: cluster.config.pools[p].name.clone(),
                        addresses: ips.len() as u128,
                        ipv4,
                        ipv6: ips.len() as u128 - ipv4,
                        pool_total: v4.total.saturating_add(v6.total),
                        services,
                    }
                })
                .collect();
            namespace_usage(cluster, namespace, pools)
        })
        .collect::<Vec<_>>();
    let mut namespaces = namespaces;
    // A namespace asked for is shown even when it holds nothing: its headroom is the answer.
    if let Some(ns) = only
        && namespaces.is_empty()
    {
        namespaces.push(namespace_usage(cluster, ns, Vec::new()));
    }
    NamespaceReport {
        metallb_namespace: cluster.config.metallb_namespace.clone(),
        metallb_version: model.version,
        namespace: only.map(str::to_string),
        namespaces,
        config_valid: cluster.config.is_valid(),
        config_errors: cluster.config.errors.clone(),
        warnings: cluster_warnings(cluster, extra_warnings),
    }
}

fn namespace_usage(
    cluster: &Cluster,
    namespace: &str,
    pools: Vec<NamespacePoolUsage>,
) -> NamespaceUsage {
    let (v4, v6) = headroom(cluster, namespace);
    NamespaceUsage {
        namespace: namespace.to_string(),
        addresses: pools.iter().map(|p| p.addresses).sum(),
        services: pools.iter().map(|p| p.services.len()).sum(),
        pools,
        headroom: v4.saturating_add(v6),
        headroom_ipv4: v4,
        headroom_ipv6: v6,
    }
}

/// Free addresses (IPv4, IPv6) of the pools that would serve a new automatic service of
/// `namespace` with no labels: pools with autoAssign that admit the namespace, pinned ones
/// only where automatic allocation lists them for it (metallb-semantics.md §4.7, §4.8).
pub fn headroom(cluster: &Cluster, namespace: &str) -> (u128, u128) {
    let no_labels = crate::snapshot::StringMap::default();
    cluster
        .serving_pools(namespace, &no_labels)
        .into_iter()
        .fold((0u128, 0u128), |(v4, v6), i| {
            let (a, b) = cluster.counts(i);
            (v4.saturating_add(a.free), v6.saturating_add(b.free))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::manifests::{model, pool, service, snapshot};

    /// MetalLB's status is compared field by field, and only the fields it wrote: a status of
    /// conditions only, or one counter, disagrees with nothing it did not say.
    #[test]
    fn a_status_is_compared_only_where_it_has_counts() {
        let with_status = |status: &str| {
            let yaml = format!("{}status: {status}\n", pool("p", &["10.0.0.0/30"], ""));
            let snap = snapshot(&yaml);
            let report = build(&model(&snap));
            let disagrees = report
                .warnings
                .iter()
                .filter(|w| w.code == Code::StatusDisagrees)
                .count();
            (report.pools[0].metallb_status.is_some(), disagrees)
        };
        assert_eq!(
            with_status("{conditions: [{type: Ready, status: 'True'}]}"),
            (false, 0)
        );
        assert_eq!(with_status("{availableIPv4: 4}"), (true, 0));
        assert_eq!(with_status("{availableIPv4: 3}"), (true, 1));
    }

    /// The status is checked against what MetalLB itself counts, quirks included: a
    /// correct status of a quirky pool is no disagreement.
    #[test]
    fn a_status_is_checked_against_metallbs_own_count() {
        let warnings = |addresses: &[&str], extra: &str, status: &str| {
            let yaml = format!("{}status: {status}\n", pool("p", addresses, extra));
            let snap = snapshot(&yaml);
            build(&model(&snap))
                .warnings
                .into_iter()
                .filter(|w| w.code == Code::StatusDisagrees)
                .map(|w| w.message)
                .collect::<Vec<_>>()
        };
        let huge = ["2001:db8::/64", "10.20.0.0/32"];
        assert!(warnings(&huge, "", "{availableIPv6: 9223372036854775807}").is_empty());
        let off = warnings(&huge, "", "{availableIPv6: 5}");
        assert_eq!(
            off,
            [
                "MetalLB's status of pool p says availableIPv6 5 (MetalLB would count 9223372036854775807; exact 18446744073709551616): the status lags behind, or MetalLB has not accepted some allocations"
            ]
        );
        let buggy = "  avoidBuggyIPs: true\n";
        assert!(warnings(&["10.2.0.0/32"], buggy, "{availableIPv4: -1}").is_empty());
        assert_eq!(
            warnings(&["10.2.0.0/32"], buggy, "{availableIPv4: 0}").len(),
            1
        );
    }

    fn manifests() -> String {
        [
            pool("plain", &["10.0.0.0/29"], ""),
            pool("manual", &["10.0.1.0/24"], "  autoAssign: false\n"),
            pool(
                "team-a",
                &["10.0.2.0/30", "fd00::/126"],
                "  serviceAllocation:\n    namespaces: [team-a]\n",
            ),
            pool(
                "team-b",
                &["10.0.3.0/24"],
                "  serviceAllocation:\n    namespaces: [team-b]\n",
            ),
            service("team-a/one", &["10.0.0.1"], &[]),
            service("team-a/two", &["10.0.2.1"], &[]),
        ]
        .concat()
    }

    fn headroom_of(report: &NamespaceReport, ns: &str) -> (u128, u128, u128) {
        let n = report
            .namespaces
            .iter()
            .find(|n| n.namespace == ns)
            .unwrap_or_else(|| panic!("namespace {ns}"));
        (n.headroom, n.headroom_ipv4, n.headroom_ipv6)
    }

    #[test]
    fn headroom_counts_the_free_addresses_of_every_pool_that_would_serve_the_namespace() {
        let snap = snapshot(&manifests());
        let m = model(&snap);
        let report = build_by_namespace(&m, None);
        // plain 8-1 free, team-a 4-1 IPv4 and 4 IPv6; manual (autoAssign false) and team-b
        // (another namespace) are not counted.
        assert_eq!(headroom_of(&report, "team-a"), (7 + 3 + 4, 10, 4));
        assert_eq!(headroom(&m.cluster, "team-b"), (7 + 256, 0));
        assert_eq!(headroom(&m.cluster, "elsewhere"), (7, 0));
    }

    #[test]
    fn a_namespace_asked_for_that_holds_nothing_is_shown_with_its_headroom() {
        let snap = snapshot(&manifests());
        let report = build_by_namespace(&model(&snap), Some("team-b"));
        assert_eq!(report.namespaces.len(), 1);
        assert!(report.namespaces[0].pools.is_empty());
        assert_eq!(headroom_of(&report, "team-b"), (263, 263, 0));
    }
}
