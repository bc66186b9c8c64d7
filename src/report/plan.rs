//! `plan`: what applying manifests would do to every pool and every service, as MetalLB's
//! controller would react to the new configuration (cli-contract.md, `plan`).

use std::collections::BTreeMap;
use std::sync::Arc;

use compact_str::CompactString;
use serde::Serialize;

use crate::metallb::addr::{FamilyCounts, Ip};
use crate::metallb::allocator::Cluster;
use crate::metallb::reaction::{Change, Outcome, PoolNames, Reaction, react};
use crate::metallb::reason::Reason;
use crate::metallb::release::MetallbVersion;
use crate::model::Model;
use crate::snapshot::{Few, changes};

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanReport {
    pub metallb_namespace: String,
    pub metallb_version: MetallbVersion,
    pub config_valid: ConfigValid,
    /// Why MetalLB would refuse the new configuration (empty when it accepts it).
    pub config_errors: Vec<String>,
    pub pools: Vec<PoolPlan>,
    pub services: Vec<ServicePlan>,
    /// What holds for the whole plan (a refused configuration, the order MetalLB works in).
    pub notes: Vec<String>,
    /// What reading the base noticed (degraded permissions, MetalLB not found, objects
    /// MetalLB never reads), as `usage` and `why` give them.
    pub warnings: Vec<Reason>,
    /// Whether a service that holds an address would lose or change it, or the
    /// configuration would be refused: exit 1.
    #[serde(skip)]
    pub problem: bool,
}

#[derive(Clone, Copy, Debug, Serialize)]
pub struct ConfigValid {
    pub before: bool,
    pub after: bool,
}

/// One pool before and after; `null` where it does not exist (added, removed).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolPlan {
    pub name: String,
    pub before: Option<PoolState>,
    pub after: Option<PoolState>,
    /// What the pool's change does and does not do (a priority change moves nothing).
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolState {
    pub addresses: Vec<String>,
    pub auto_assign: bool,
    /// `null` for a plain pool (no serviceAllocation).
    pub priority: Option<i64>,
    pub total: u128,
    pub used: u128,
    pub free: u128,
    pub ipv4: FamilyCounts,
    pub ipv6: FamilyCounts,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePlan {
    /// `namespace/name`.
    pub service: CompactString,
    pub change: Change,
    pub before: Before,
    pub after: After,
    /// Where the answer depends on what MetalLB does in no fixed order.
    pub notes: Vec<String>,
}

/// Addresses are kept as addresses and written as text only in the output: most of 50,000
/// rows are never shown.
#[derive(Clone, Debug, Serialize)]
pub struct Before {
    pub ips: Few<Ip>,
    /// Shared with every row of the same pool.
    pub pool: Option<Arc<str>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct After {
    /// Empty where MetalLB picks among several pools (see `pools`) or there is no address.
    pub ips: Few<Ip>,
    /// The pool of the addresses, or the candidates MetalLB picks from at random.
    pub pools: PoolNames,
    /// Why the service has no address after (`why`'s reason codes).
    pub reasons: Vec<Reason>,
}

/// Compares `before` with `after` (the same cluster with the proposal applied, modelled for
/// the same release); `after`'s occupancy is advanced to what follows the reaction.
pub fn build(before: &Model, after: &mut Model) -> PlanReport {
    let changes = changes(before.snapshot, after.snapshot);
    let reaction = react(&before.cluster, &mut after.cluster, &changes);
    let accepted = reaction.accepted;
    let mut notes = Vec::new();
    if !accepted {
        notes.push(
            "MetalLB refuses the new configuration and keeps serving its last valid one: nothing changes until the errors are fixed"
                .to_string(),
        );
        if !changes.services.is_empty() {
            let mut names: Vec<&str> = changes.services.iter().map(CompactString::as_str).collect();
            names.sort_unstable();
            notes.push(format!(
                "the services this proposal edits ({}) are reconciled under that last valid configuration, which this plan does not model",
                names.join(", ")
            ));
        }
    } else if !changes.configuration {
        notes.push(
            "the MetalLB configuration is unchanged: MetalLB re-processes only the services the proposal edits"
                .to_string(),
        );
    }
    let pools = pools(&before.cluster, &after.cluster, &reaction);
    let problem = reaction.is_problem();
    let services = services(reaction.services, &after.cluster);
    PlanReport {
        metallb_namespace: after.cluster.config.metallb_namespace.clone(),
        metallb_version: after.version,
        config_valid: ConfigValid {
            before: before.cluster.config.is_valid(),
            after: accepted,
        },
        config_errors: after.cluster.config.errors.clone(),
        pools,
        services,
        notes,
        warnings: before.warnings.clone(),
        problem,
    }
}

impl PlanReport {
    pub fn is_problem(&self) -> bool {
        self.problem
    }
}

fn state(cluster: &Cluster, pool: usize) -> PoolState {
    let p = &cluster.config.pools[pool];
    let (ipv4, ipv6) = cluster.counts(pool);
    let all = ipv4.plus(ipv6);
    PoolState {
        addresses: p.addresses.clone(),
        auto_assign: p.auto_assign,
        priority: p.allocation.as_ref().map(|a| a.priority),
        total: all.total,
        used: all.used,
        free: all.free,
        ipv4,
        ipv6,
    }
}

/// Every pool of either configuration, by name. A refused configuration is never loaded:
/// the pools after are the pools before.
fn pools(before: &Cluster, after: &Cluster, reaction: &Reaction) -> Vec<PoolPlan> {
    let mut by_name: BTreeMap<&str, PoolPlan> = BTreeMap::new();
    for (i, p) in before.config.pools.iter().enumerate() {
        let state = state(before, i);
        by_name.insert(
            &p.name,
            PoolPlan {
                name: p.name.clone(),
                before: Some(state.clone()),
                after: (!reaction.accepted).then_some(state),
                notes: Vec::new(),
            },
        );
    }
    if reaction.accepted {
        for (i, p) in after.config.pools.iter().enumerate() {
            let entry = by_name.entry(&p.name).or_insert_with(|| PoolPlan {
                name: p.name.clone(),
                before: None,
                after: None,
                notes: Vec::new(),
            });
            entry.after = Some(state(after, i));
        }
        for (name, note) in &reaction.pool_notes {
            if let Some(entry) = by_name.get_mut(name.as_str()) {
                entry.notes.push(note.clone());
            }
        }
    }
    by_name.into_values().collect()
}

fn services(outcomes: Vec<Outcome>, after: &Cluster) -> Vec<ServicePlan> {
    let mut services: Vec<ServicePlan> = outcomes
        .into_iter()
        .map(|o: Outcome| ServicePlan {
            service: after.services[o.service].key.clone(),
            change: o.change,
            before: Before {
                ips: o.old_ips,
                pool: o.old_pool,
            },
            after: After {
                ips: o.new_ips,
                pools: o.new_pools,
                reasons: o.reasons,
            },
            notes: o.notes,
        })
        .collect();
    services.sort_unstable_by(|a, b| a.service.cmp(&b.service));
    services
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{holding, pinned, pool, svc};
    use crate::settings::MetallbFlags;
    use crate::snapshot::{Snapshot, overlay};

    fn report(base: &Snapshot, proposed: &Snapshot) -> PlanReport {
        let after = overlay(base, proposed, false);
        let before = Model::build(base, &MetallbFlags::default(), Vec::new());
        let mut after = Model::build_for(&after, &MetallbFlags::default(), before.version, vec![]);
        build(&before, &mut after)
    }

    #[test]
    fn pools_added_and_removed_are_null_on_their_missing_side() {
        let base = Snapshot {
            pools: vec![pool("old", &["10.0.0.0/30"])],
            ..Snapshot::default()
        };
        let proposed = Snapshot {
            pools: vec![pool("new", &["10.1.0.0/30"])],
            ..Snapshot::default()
        };
        let after = overlay(&base, &proposed, true);
        let before = Model::build(&base, &MetallbFlags::default(), Vec::new());
        let mut after = Model::build_for(&after, &MetallbFlags::default(), before.version, vec![]);
        let r = build(&before, &mut after);
        let names: Vec<(&str, bool, bool)> = r
            .pools
            .iter()
            .map(|p| (p.name.as_str(), p.before.is_some(), p.after.is_some()))
            .collect();
        assert_eq!(names, [("new", false, true), ("old", true, false)]);
    }

    #[test]
    fn counts_after_follow_the_moves() {
        let base = Snapshot {
            pools: vec![pool("p", &["10.0.0.0/30"])],
            services: vec![holding(svc("a/web"), &["10.0.0.1"])].into(),
            ..Snapshot::default()
        };
        let proposed = Snapshot {
            pools: vec![pool("p", &["10.0.8.0/30"])],
            ..Snapshot::default()
        };
        let r = report(&base, &proposed);
        let p = &r.pools[0];
        assert_eq!(p.before.as_ref().unwrap().used, 1);
        let after = p.after.as_ref().unwrap();
        assert_eq!((after.used, after.free), (1, 3));
        assert_eq!(
            r.services[0].after.ips[..],
            [Ip::parse("10.0.8.0").unwrap()]
        );
        assert!(r.is_problem());
    }

    #[test]
    fn a_refused_configuration_leaves_the_pools_as_they_were() {
        let base = Snapshot {
            pools: vec![pinned("p", &["10.0.0.0/30"], None, &["a"])],
            services: vec![holding(svc("a/web"), &["10.0.0.1"])].into(),
            ..Snapshot::default()
        };
        let proposed = Snapshot {
            pools: vec![pool("q", &["10.0.0.2/31"])],
            ..Snapshot::default()
        };
        let r = report(&base, &proposed);
        assert!(!r.config_valid.after && r.config_valid.before);
        assert!(
            r.config_errors[0].contains("overlaps"),
            "{:?}",
            r.config_errors
        );
        assert_eq!(r.pools.len(), 1, "the refused pool q is never loaded");
        assert_eq!(r.pools[0].before, r.pools[0].after);
        assert!(r.is_problem());
    }
}
