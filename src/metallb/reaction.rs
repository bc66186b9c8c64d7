//! What MetalLB's controller does when its configuration changes (`plan`): the services of
//! the cluster before the change, replayed through the controller's reaction to the new
//! configuration (metallb-semantics.md §2.7, §6, C.5). The rules and their Go sources are
//! written up in docs/how-it-decides.md ("plan").

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::addr::{Ip, ip_list};
use super::allocator::{Cluster, Decision};
use super::config::Config;
use super::reason::Reason;
use crate::snapshot::{Changes, Few};

/// What happens to one service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// Holds the same addresses after as before.
    Kept,
    /// Loses its addresses and is given others.
    Moved,
    /// Loses its addresses and gets none: pending.
    Lost,
    /// Pending before, an address after.
    Gained,
    /// Pending before and after.
    UnchangedPending,
}

impl Change {
    /// Whether a service that holds an address loses or changes it: what makes `plan` fail.
    pub fn disturbs(self) -> bool {
        matches!(self, Change::Moved | Change::Lost)
    }
}

/// One service through the change.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Index in the after cluster's services.
    pub service: usize,
    pub change: Change,
    /// The addresses it holds now, and the pool they are counted in before.
    pub old_ips: Few<Ip>,
    /// Shared with every outcome of the same pool.
    pub old_pool: Option<Arc<str>>,
    /// The addresses it holds after; empty where MetalLB picks among several pools.
    pub new_ips: Few<Ip>,
    /// The pool of its addresses after: one, or the candidates MetalLB picks from at random.
    pub new_pools: PoolNames,
    /// Why it has no address after (the `why` reason codes).
    pub reasons: Vec<Reason>,
    /// Where the answer depends on what MetalLB does in no fixed order.
    pub notes: Vec<String>,
}

/// The controller's whole reaction.
#[derive(Clone, Debug)]
pub struct Reaction {
    /// Whether the controller takes the new configuration; if not it keeps the last one and
    /// nothing changes (§2.7, C.5).
    pub accepted: bool,
    pub services: Vec<Outcome>,
    /// Per pool of the after configuration, by name: what its change does and does not do.
    pub pool_notes: Vec<(String, String)>,
}

impl Reaction {
    /// Whether a service that holds an address would lose or change it, or the
    /// configuration would be refused: the plan's failure (exit 1).
    pub fn is_problem(&self) -> bool {
        !self.accepted || self.services.iter().any(|s| s.change.disturbs())
    }
}

/// Replays the controller's reaction to the configuration of `after` in a cluster that
/// is `before` now. `after` is built from the same services with the proposal applied,
/// under the same release; the re-allocations are recorded in it, so that its counts are
/// those after the reaction. `changes` says what the controller notices: a changed
/// configuration makes it re-process every service, a changed service only that one.
///
/// Go: `internal/allocator/allocator.go` (`SetPools`, `Assign`), `controller/service.go`
/// (`convergeBalancer`), `internal/k8s/controllers/service_controller_reload.go`
/// (`reprocessAll`), at v0.13.9 and v0.15.3.
pub fn react(before: &Cluster, after: &mut Cluster, changes: &Changes) -> Reaction {
    react_with(before, after, changes, Replay::ReuseUnread)
}

/// Which answers the replay decides again after its first re-allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Replay {
    /// Only those of the services whose answer reads a pool a re-allocation changed (see
    /// [`Cluster::outcome_reads`]): the others' answers are their first ones.
    ReuseUnread,
    /// Every one (what the shortcut is held to in the tests).
    #[cfg(test)]
    DecideAll,
}

/// [`react`], with the replay's answers decided again as `replay` says.
fn react_with(
    before: &Cluster,
    after: &mut Cluster,
    changes: &Changes,
    replay: Replay,
) -> Reaction {
    let by_key: FxHashMap<&str, usize> = before
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| (s.key.as_str(), i))
        .collect();
    // Per service after, the same service before (by key), looked up once.
    let before_index: Vec<Option<usize>> = after
        .services
        .iter()
        .map(|s| by_key.get(s.key.as_str()).copied())
        .collect();
    // Each pool's name before, made once and shared by its holders' outcomes.
    let before_names: Vec<Arc<str>> = before
        .config
        .pools
        .iter()
        .map(|p| Arc::from(p.name.as_str()))
        .collect();
    let old_pool = |j: usize| -> Option<Arc<str>> {
        let i = before_index[j]?;
        before.service_pool[i].map(|p| Arc::clone(&before_names[p]))
    };
    // The services MetalLB manages after the change, and those it managed with an address
    // before (a type or class changed by the proposal).
    let held_before =
        |j: usize| before_index[j].is_some_and(|i| before.services[i].holds_addresses());
    let shown: Vec<usize> = (0..after.services.len())
        .filter(|&j| after.services[j].is_managed() || held_before(j))
        .collect();
    let accepted = after.config.is_valid();
    if !accepted {
        // The controller keeps its last valid configuration: nothing moves.
        let services = shown
            .iter()
            .map(|&j| {
                let s = &after.services[j];
                let held = s.holds_addresses();
                let old_pool = old_pool(j);
                Outcome {
                    service: j,
                    change: if held {
                        Change::Kept
                    } else {
                        Change::UnchangedPending
                    },
                    old_ips: s.ingress.clone(),
                    new_ips: if held { s.ingress.clone() } else { Few::new() },
                    new_pools: PoolNames::of(old_pool.iter().map(|p| p.to_string()).collect()),
                    old_pool,
                    reasons: Vec::new(),
                    notes: Vec::new(),
                }
            })
            .collect();
        return Reaction {
            accepted,
            services,
            pool_notes: Vec::new(),
        };
    }
    // What the controller looks at again: everything after a configuration change (a
    // "reprocess all" pass), else only the services whose objects changed.
    let revisited = |j: usize| {
        changes.configuration || changes.services.contains(after.services[j].key.as_str())
    };
    // Services whose addresses the new configuration takes away re-claim first, then the
    // pending ones (reprocessAll sorts by ingress count, descending); within each group
    // MetalLB's order is arbitrary, and this replay takes the input order.
    let taken: Vec<usize> = shown
        .iter()
        .copied()
        .filter(|&j| after.services[j].holds_addresses() && after.service_pool[j].is_none())
        .filter(|&j| revisited(j))
        .collect();
    let pending: Vec<usize> = shown
        .iter()
        .copied()
        .filter(|&j| !after.services[j].holds_addresses() && after.services[j].is_managed())
        .collect();
    // A pending service nothing revisits stays pending, even where a pool would now serve
    // it: MetalLB retries only on a change.
    let (pending, untouched): (Vec<usize>, Vec<usize>) =
        pending.into_iter().partition(|&j| revisited(j));
    let mut state = vec![State::Kept; after.services.len()];
    for &j in &untouched {
        state[j] = State::Untouched(Box::new(after.outcome(j)));
    }
    let queue: Vec<usize> = taken.iter().chain(&pending).copied().collect();
    // Each one's answer were it re-processed first (all in the cluster as it is before any
    // re-allocation): where the replay differs, the order decides.
    let first = first_answers(after, &queue);
    // The old addresses of the services taken away that are still in a pool: in the
    // allocator until that service is re-processed (SetPools keeps them; convergeBalancer
    // releases them).
    let released: HashMap<Ip, usize> = taken
        .iter()
        .flat_map(|&j| after.services[j].ingress.iter().map(move |ip| (*ip, j)))
        .filter(|(ip, _)| after.config.pool_containing(*ip).is_some())
        .collect();
    // The replay. The allocator's answer is a function of the cluster, and a re-allocation
    // changes only the holdings of its pool: an answer that reads none of the pools changed
    // so far is the one `first` holds; the others are worked out again.
    // Each outcome is settled as soon as its service is replayed, so that no more than one
    // replayed decision (a random pick lists every plain pool) is held at a time.
    let mut names = Names::new(&after.config);
    let blank = |j: usize, after: &Cluster, names: &Names| Outcome {
        service: j,
        change: Change::Kept,
        old_ips: after.services[j].ingress.clone(),
        old_pool: old_pool(j),
        new_ips: Few::new(),
        new_pools: names.none(),
        reasons: Vec::new(),
        notes: Vec::new(),
    };
    let mut changed = Changed::new(after);
    for (&j, first) in queue.iter().zip(first) {
        let decision = match replay == Replay::ReuseUnread && !changed.read_by(after, j) {
            true => Rc::clone(&first),
            false => Rc::new(after.outcome(j)),
        };
        if decision.fits
            && let [pool] = decision.pools[..]
            && !decision.ips.is_empty()
        {
            after.assign(j, pool, &decision.ips);
            changed.record(pool);
        }
        let mut outcome = blank(j, after, &names);
        settle(&mut outcome, &decision, &mut names);
        outcome
            .notes
            .extend(order_notes(j, &decision, &first, &released, after));
        state[j] = State::Replayed(Box::new(outcome));
    }
    let after: &Cluster = after;
    let mut services = Vec::with_capacity(shown.len());
    for &j in &shown {
        let s = &after.services[j];
        let outcome = match std::mem::replace(&mut state[j], State::Kept) {
            State::Replayed(replayed) => *replayed,
            State::Untouched(d) => {
                let mut outcome = blank(j, after, &names);
                outcome.change = Change::UnchangedPending;
                if d.fits {
                    outcome.notes.push(
                        "a pool could serve it now, but MetalLB retries a pending service only when the configuration or the service changes, and this proposal changes neither".to_string(),
                    );
                } else {
                    outcome.reasons = d.reasons;
                }
                outcome
            }
            // No longer MetalLB's (another type or class): its address is cleared.
            State::Kept
                if !s.is_managed()
                    && (changes.configuration || changes.services.contains(s.key.as_str())) =>
            {
                let mut outcome = blank(j, after, &names);
                outcome.change = Change::Lost;
                outcome.reasons = s
                    .gate
                    .as_ref()
                    .err()
                    .map(|r| Reason::clone(r))
                    .into_iter()
                    .collect();
                outcome
            }
            State::Kept => {
                let mut outcome = blank(j, after, &names);
                outcome.new_ips = s.ingress.clone();
                if let Some(p) = after.service_pool[j] {
                    outcome.new_pools = names.one(p);
                }
                outcome
            }
        };
        services.push(outcome);
    }
    Reaction {
        accepted,
        services,
        pool_notes: pool_notes(before, after),
    }
}

/// Each queued service's answer in the cluster as it is. The answers do not depend on each
/// other: with enough of them, half are worked out on a second thread.
fn first_answers(cluster: &Cluster, queue: &[usize]) -> Vec<Rc<Decision>> {
    /// Below this many services a second thread does not pay for itself.
    const PARALLEL_FROM: usize = 1_000;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    first_answers_from(
        cluster,
        queue,
        if cores < 2 { usize::MAX } else { PARALLEL_FROM },
    )
}

/// [`first_answers`], on two threads from `parallel_from` queued services.
fn first_answers_from(
    cluster: &Cluster,
    queue: &[usize],
    parallel_from: usize,
) -> Vec<Rc<Decision>> {
    let decide = |j: &usize| cluster.outcome(*j);
    if queue.len() < parallel_from {
        return queue.iter().map(|j| Rc::new(decide(j))).collect();
    }
    let (first, second) = queue.split_at(queue.len() / 2);
    let (first, second) = std::thread::scope(|scope| {
        let second = scope.spawn(|| second.iter().map(decide).collect::<Vec<_>>());
        let first: Vec<Decision> = first.iter().map(decide).collect();
        (first, second.join().expect("deciding does not panic"))
    });
    first.into_iter().chain(second).map(Rc::new).collect()
}

/// The pools whose holdings the replay has changed so far.
struct Changed {
    /// Per pool of the after configuration.
    pools: Vec<bool>,
    /// Per pool: whether it is a plain pool (every automatic answer may read those).
    plain: Vec<bool>,
    /// Whether some plain pool changed.
    some_plain: bool,
    /// Whether any pool changed: until then every answer stands.
    any: bool,
}

impl Changed {
    fn new(cluster: &Cluster) -> Changed {
        let mut plain = vec![false; cluster.config.pools.len()];
        for &p in cluster.plain_pools() {
            plain[p] = true;
        }
        Changed {
            pools: vec![false; plain.len()],
            plain,
            some_plain: false,
            any: false,
        }
    }

    fn record(&mut self, pool: usize) {
        self.pools[pool] = true;
        self.some_plain |= self.plain[pool];
        self.any = true;
    }

    /// Whether `service`'s answer may read a changed pool.
    fn read_by(&self, cluster: &Cluster, service: usize) -> bool {
        if !self.any {
            return false;
        }
        // Most queued services are automatic: once a plain pool changed, no need to list
        // the pools they read.
        if self.some_plain && cluster.is_automatic(service) {
            return true;
        }
        // Otherwise its answer reads no plain pool that changed.
        let reads = cluster.outcome_reads(service);
        reads.pools.iter().any(|&p| self.pools[p])
    }
}

/// Where a service stands in the replay: one per service, so the rare states are boxed.
#[derive(Clone)]
enum State {
    /// Not re-processed: it keeps what it holds (or is not shown).
    Kept,
    /// Pending, and nothing makes MetalLB look at it again: what it would get if it did.
    Untouched(Box<Decision>),
    /// Re-processed: its outcome, settled when it was replayed.
    Replayed(Box<Outcome>),
}

/// The outcome of a service MetalLB re-processes, from its decision.
fn settle(outcome: &mut Outcome, d: &Decision, names: &mut Names) {
    let held_before = !outcome.old_ips.is_empty();
    if d.fits {
        outcome.new_pools = names.of(&d.pools);
        outcome.new_ips = Few::from_slice(&d.ips);
        let same = {
            let (mut a, mut b) = (outcome.old_ips.clone(), outcome.new_ips.clone());
            a.sort();
            b.sort();
            a == b
        };
        outcome.change = match (held_before, same) {
            (true, true) => Change::Kept,
            (true, false) => Change::Moved,
            (false, _) => Change::Gained,
        };
        if d.pools.len() > 1 {
            outcome
                .notes
                .push("MetalLB picks one of these pools at random".to_string());
        }
    } else {
        outcome.reasons.clone_from(&d.reasons);
        outcome.change = if held_before {
            Change::Lost
        } else {
            Change::UnchangedPending
        };
    }
}

/// Pool names, shared between the outcomes that give the same ones: thousands of pending
/// services may each list every plain pool MetalLB picks from at random.
#[derive(Clone, PartialEq, Eq)]
pub struct PoolNames(Arc<[String]>);

impl PoolNames {
    fn of(names: Vec<String>) -> PoolNames {
        PoolNames(names.into())
    }
}

impl Default for PoolNames {
    fn default() -> PoolNames {
        PoolNames::of(Vec::new())
    }
}

impl std::ops::Deref for PoolNames {
    type Target = [String];

    fn deref(&self) -> &[String] {
        &self.0
    }
}

impl std::fmt::Debug for PoolNames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A list of names, as JSON and YAML give it.
impl Serialize for PoolNames {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<const N: usize> PartialEq<[&str; N]> for PoolNames {
    fn eq(&self, other: &[&str; N]) -> bool {
        self.0.len() == N && self.0.iter().zip(other).all(|(a, b)| a == b)
    }
}

/// The after configuration's pool names as [`PoolNames`], each list made once. Holds its
/// own copy of the names, so that the replay can change the cluster meanwhile.
struct Names {
    pools: Vec<String>,
    empty: PoolNames,
    /// Per pool, the list of its name alone.
    one: Vec<Option<PoolNames>>,
    /// Per list of pools, by length and ends, the lists met and their names.
    by_pools: HashMap<Ends, Vec<Named>>,
    /// The same, by the address of the list: the decisions of one pick share it. Each list
    /// is kept alive here, so that its address names no other list meanwhile.
    by_address: HashMap<*const usize, Named>,
}

/// A list of pools by its length, first and last pool.
type Ends = (usize, usize, usize);

/// A list of pools and its names.
type Named = (Arc<[usize]>, PoolNames);

impl Names {
    fn new(config: &Config) -> Names {
        Names {
            pools: config.pools.iter().map(|p| p.name.clone()).collect(),
            empty: PoolNames::default(),
            one: vec![None; config.pools.len()],
            by_pools: HashMap::new(),
            by_address: HashMap::new(),
        }
    }

    fn none(&self) -> PoolNames {
        self.empty.clone()
    }

    fn one(&mut self, pool: usize) -> PoolNames {
        let name = &self.pools[pool];
        self.one[pool]
            .get_or_insert_with(|| PoolNames::of(vec![name.clone()]))
            .clone()
    }

    /// The names of `pools`, in their order.
    fn of(&mut self, pools: &Arc<[usize]>) -> PoolNames {
        match **pools {
            [] => return self.none(),
            [pool] => return self.one(pool),
            _ => {}
        }
        if let Some((_, names)) = self.by_address.get(&pools.as_ptr()) {
            return names.clone();
        }
        let met = self
            .by_pools
            .entry((pools.len(), pools[0], pools[pools.len() - 1]))
            .or_default();
        let names = match met.iter().find(|(p, _)| **p == **pools) {
            Some((_, names)) => names.clone(),
            None => {
                let names = PoolNames::of(pools.iter().map(|&p| self.pools[p].clone()).collect());
                met.push((Arc::clone(pools), names.clone()));
                names
            }
        };
        self.by_address
            .insert(pools.as_ptr(), (Arc::clone(pools), names.clone()));
        names
    }
}

/// Where the replay's answer for service `j` rests on the order MetalLB re-processes
/// services in, which it does not fix (reprocessAll: an unstable sort by ingress count).
fn order_notes(
    j: usize,
    replayed: &Decision,
    first: &Decision,
    released: &HashMap<Ip, usize>,
    after: &Cluster,
) -> Vec<String> {
    let mut notes = Vec::new();
    let describe = |d: &Decision| -> String {
        if !d.fits {
            return "no address".to_string();
        }
        let pools: Vec<&str> = d
            .pools
            .iter()
            .map(|&p| after.config.pools[p].name.as_str())
            .collect();
        match d.ips.is_empty() {
            true => format!("an address of {}", pools.join(" or ")),
            false => format!("{} of {}", ip_list(&d.ips), pools.join(" or ")),
        }
    };
    // The same answer shared between equal services is equal without comparing its pools.
    let same = std::ptr::eq(replayed, first)
        || (replayed.fits, &replayed.ips, &replayed.pools)
            == (first.fits, &first.ips, &first.pools);
    if !same {
        notes.push(format!(
            "order-dependent: MetalLB re-processes competing services in no fixed order (this answer takes the input order); re-processed first, it gets {}",
            describe(first)
        ));
    }
    // Pending services come after every holder (reprocessAll), when all is released.
    let holder = !after.services[j].ingress.is_empty();
    let mut waits: Vec<&str> = replayed
        .ips
        .iter()
        .filter(|_| holder)
        .filter_map(|ip| released.get(ip))
        .filter(|&&other| other != j)
        .map(|&other| after.services[other].key.as_str())
        .collect();
    waits.dedup();
    if !waits.is_empty() {
        notes.push(format!(
            "order-dependent: the address is free only once {} is re-processed; re-processed before, it gets the next free one",
            waits.join(", ")
        ));
    }
    notes
}

/// What a pool's changed priority or autoAssign does: nothing to an address already held
/// (convergeBalancer re-validates neither), only to the allocations that follow (§6.1).
fn pool_notes(before: &Cluster, after: &Cluster) -> Vec<(String, String)> {
    let mut notes = Vec::new();
    for pool in &after.config.pools {
        let Some((_, old)) = before.config.pool(&pool.name) else {
            continue;
        };
        let priority = |p: &super::config::Pool| p.allocation.as_ref().map(|a| a.priority);
        if priority(old) != priority(pool) {
            let shown = |p: Option<i64>| p.map_or("none".to_string(), |p| p.to_string());
            notes.push((
                pool.name.clone(),
                format!(
                    "priority {} → {}: no service that holds an address moves (MetalLB does not re-validate priorities); only allocations from now on follow the new order",
                    shown(priority(old)),
                    shown(priority(pool))
                ),
            ));
        }
        if old.auto_assign && !pool.auto_assign {
            notes.push((
                pool.name.clone(),
                "autoAssign turned off: the services that hold its addresses keep them; only new automatic allocations skip it".to_string(),
            ));
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{METALLB_NS as NS, annotate, holding, pinned, pool, svc};
    use crate::metallb::allocator::OutcomeReads;
    use crate::metallb::config::Config;
    use crate::metallb::release::{Behaviour, Release};
    use crate::metallb::service::Context;
    use crate::snapshot::{IpAddressPool, Service, Snapshot, changes, overlay};

    fn world(pools: Vec<IpAddressPool>, services: Vec<Service>) -> Snapshot {
        Snapshot {
            pools,
            services: services.into(),
            ..Default::default()
        }
    }

    fn cluster<'a>(snapshot: &'a Snapshot, ctx: &Context) -> Cluster<'a> {
        Cluster::new(snapshot, Config::load(snapshot, NS, &ctx.behaviour), ctx)
    }

    /// The reaction to `proposed` put on `base`, under `ctx`'s release; (key, outcome).
    fn plan_with(
        base: &Snapshot,
        proposed: Vec<IpAddressPool>,
        ctx: &Context,
    ) -> (Reaction, Vec<(String, Outcome)>) {
        let after = overlay(base, &world(proposed, vec![]), false);
        let before = cluster(base, ctx);
        let mut after_cluster = cluster(&after, ctx);
        let reaction = react(&before, &mut after_cluster, &changes(base, &after));
        let named = reaction
            .services
            .iter()
            .map(|o| (after_cluster.services[o.service].key.to_string(), o.clone()))
            .collect();
        (reaction, named)
    }

    fn plan(base: &Snapshot, proposed: Vec<IpAddressPool>) -> (Reaction, Vec<(String, Outcome)>) {
        plan_with(base, proposed, &Context::default())
    }

    fn ips(outcome: &Outcome) -> Vec<String> {
        outcome.new_ips.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_service_whose_address_stays_in_an_admitting_pool_keeps_it() {
        let base = world(
            vec![pool("p", &["10.0.0.0/29"])],
            vec![holding(svc("a/web"), &["10.0.0.3"])],
        );
        // Growing the pool keeps the address valid.
        let (reaction, out) = plan(&base, vec![pool("p", &["10.0.0.0/28"])]);
        assert!(reaction.accepted && !reaction.is_problem());
        assert_eq!(out[0].1.change, Change::Kept);
        assert_eq!(ips(&out[0].1), ["10.0.0.3"]);
    }

    #[test]
    fn a_renumbered_pool_moves_its_services_to_the_first_free_addresses() {
        let base = world(
            vec![pool("p", &["10.0.0.0/29"])],
            vec![
                holding(svc("a/web"), &["10.0.0.3"]),
                holding(svc("a/api"), &["10.0.0.4"]),
            ],
        );
        let (reaction, out) = plan(&base, vec![pool("p", &["10.0.8.0/29"])]);
        assert!(reaction.accepted && reaction.is_problem());
        assert_eq!(out[0].1.change, Change::Moved);
        assert_eq!(out[0].1.old_pool.as_deref(), Some("p"));
        // The replay records each allocation: the second service gets the next address.
        assert_eq!(ips(&out[0].1), ["10.0.8.0"]);
        assert_eq!(ips(&out[1].1), ["10.0.8.1"]);
        assert!(
            out[1].1.notes.iter().any(|n| n.contains("order-dependent")),
            "two moved services compete for the same first address: {:?}",
            out[1].1.notes
        );
    }

    #[test]
    fn a_service_with_nowhere_to_go_loses_its_address_with_the_why_reasons() {
        let base = world(
            vec![pool("p", &["10.0.0.0/29"])],
            vec![
                holding(svc("a/first"), &["10.0.0.0"]),
                holding(
                    annotate(svc("a/web"), "metallb.io/address-pool", "p"),
                    &["10.0.0.3"],
                ),
            ],
        );
        // Shrunk to the one address `first` holds: `web` must come from p, which is full.
        let (reaction, out) = plan(&base, vec![pool("p", &["10.0.0.0/32"])]);
        assert!(reaction.accepted && reaction.is_problem());
        assert_eq!(out[0].1.change, Change::Kept);
        let web = &out[1].1;
        assert_eq!(web.change, Change::Lost);
        assert!(web.new_ips.is_empty() && web.new_pools.is_empty());
        assert!(!web.reasons.is_empty(), "the why reasons are given");
    }

    #[test]
    fn an_address_freed_by_another_moved_service_depends_on_the_order() {
        let base = world(
            vec![
                pinned("team", &["10.0.0.0/32"], Some(1), &["a"]),
                pool("shared", &["10.5.0.0/30"]),
                pool("old", &["10.9.0.0/32"]),
            ],
            vec![
                holding(svc("a/x"), &["10.0.0.0"]),
                holding(svc("b/y"), &["10.9.0.0"]),
                svc("b/pending"),
            ],
        );
        let (_, out) = plan(
            &base,
            vec![
                pinned("team", &["10.0.0.0/32"], Some(1), &["b"]),
                pool("old", &["10.9.1.0/32"]),
            ],
        );
        let y = &out[1].1;
        assert_eq!(y.change, Change::Moved);
        assert_eq!(ips(y), ["10.0.0.0"]);
        assert!(
            y.notes
                .iter()
                .any(|n| n.contains("free only once a/x is re-processed")),
            "{:?}",
            y.notes
        );
        // A pending service comes after every holder: nothing to wait for.
        let pending = &out[2].1;
        assert!(
            !pending.notes.iter().any(|n| n.contains("free only once")),
            "{:?}",
            pending.notes
        );
    }

    #[test]
    fn a_pending_service_that_fits_after_gains_an_address() {
        let base = world(
            vec![pinned("team", &["10.0.0.0/30"], None, &["other"])],
            vec![svc("a/web")],
        );
        let (reaction, out) = plan(&base, vec![pinned("team", &["10.0.0.0/30"], None, &["a"])]);
        assert_eq!(out[0].1.change, Change::Gained);
        assert_eq!(ips(&out[0].1), ["10.0.0.0"]);
        assert!(!reaction.is_problem(), "gaining an address disturbs nobody");
        let (_, out) = plan(&base, vec![]);
        assert_eq!(out[0].1.change, Change::UnchangedPending);
    }

    #[test]
    fn a_namespace_scope_that_excludes_a_holder_moves_it() {
        let base = world(
            vec![
                pinned("team", &["10.0.0.0/30"], Some(1), &["a"]),
                pool("shared", &["10.9.0.0/30"]),
            ],
            vec![holding(svc("a/web"), &["10.0.0.1"])],
        );
        let (_, out) = plan(
            &base,
            vec![pinned("team", &["10.0.0.0/30"], Some(1), &["b"])],
        );
        let web = &out[0].1;
        assert_eq!(web.change, Change::Moved);
        assert_eq!(web.old_pool.as_deref(), Some("team"));
        assert_eq!(web.new_pools, ["shared"]);
    }

    #[test]
    fn where_metallb_picks_a_pool_at_random_the_candidates_are_given() {
        let base = world(
            vec![
                pinned("team", &["10.0.0.0/30"], None, &["a"]),
                pool("x", &["10.8.0.0/30"]),
                pool("y", &["10.9.0.0/30"]),
            ],
            vec![holding(svc("a/web"), &["10.0.0.1"])],
        );
        let (_, out) = plan(&base, vec![pinned("team", &["10.0.0.0/30"], None, &["b"])]);
        let web = &out[0].1;
        assert_eq!(web.change, Change::Moved);
        assert_eq!(web.new_pools, ["x", "y"]);
        assert!(
            web.new_ips.is_empty(),
            "the address is known once MetalLB has picked"
        );
        assert!(
            web.notes.iter().any(|n| n.contains("at random")),
            "{:?}",
            web.notes
        );
    }

    #[test]
    fn a_priority_change_moves_no_service_and_says_so() {
        let base = world(
            vec![
                pinned("low", &["10.0.0.0/30"], Some(5), &["a"]),
                pinned("high", &["10.1.0.0/30"], Some(9), &["a"]),
            ],
            vec![holding(svc("a/web"), &["10.1.0.1"]), svc("a/new")],
        );
        let (reaction, out) = plan(
            &base,
            vec![pinned("low", &["10.0.0.0/30"], Some(1), &["a"])],
        );
        assert_eq!(
            out[0].1.change,
            Change::Kept,
            "held addresses are not re-validated"
        );
        assert_eq!(
            out[1].1.new_pools,
            ["low"],
            "a new allocation follows the new priority"
        );
        assert!(!reaction.is_problem());
        assert_eq!(reaction.pool_notes.len(), 1);
        assert!(
            reaction.pool_notes[0]
                .1
                .contains("no service that holds an address moves")
        );
    }

    #[test]
    fn a_service_made_another_type_loses_its_address_and_others_are_not_listed() {
        let base = world(
            vec![pool("p", &["10.0.0.0/29"])],
            vec![
                holding(svc("a/web"), &["10.0.0.3"]),
                crate::fixtures::service("a", "plain"),
            ],
        );
        let mut cluster_ip = base.services[0].clone();
        cluster_ip.spec.type_ = Some("ClusterIP".into());
        let after = overlay(
            &base,
            &Snapshot {
                services: vec![cluster_ip].into(),
                ..Snapshot::default()
            },
            false,
        );
        let ctx = Context::default();
        let before = cluster(&base, &ctx);
        let mut after_cluster = cluster(&after, &ctx);
        let reaction = react(&before, &mut after_cluster, &changes(&base, &after));
        assert_eq!(reaction.services.len(), 1, "a/plain was never MetalLB's");
        let web = &reaction.services[0];
        assert_eq!(web.change, Change::Lost);
        assert_eq!(
            web.reasons[0].code,
            crate::metallb::reason::Code::NotLoadBalancer
        );
        assert!(reaction.is_problem());
    }

    #[test]
    fn a_rejected_configuration_changes_nothing() {
        let base = world(
            vec![pool("p", &["10.0.0.0/29"])],
            vec![holding(svc("a/web"), &["10.0.0.3"]), svc("a/pending")],
        );
        // Overlaps p: MetalLB rejects the whole configuration.
        let (reaction, out) = plan(
            &base,
            vec![pool("p", &["10.0.8.0/29"]), pool("q", &["10.0.8.4/30"])],
        );
        assert!(!reaction.accepted && reaction.is_problem());
        assert_eq!(out[0].1.change, Change::Kept);
        assert_eq!(ips(&out[0].1), ["10.0.0.3"]);
        assert_eq!(out[1].1.change, Change::UnchangedPending);
    }

    #[test]
    fn v0_13_refuses_a_configuration_that_orphans_an_address_later_releases_move_it() {
        let base = world(
            vec![pool("p", &["10.0.0.0/29"])],
            vec![holding(svc("a/web"), &["10.0.0.3"])],
        );
        let renumbered = || vec![pool("p", &["10.0.8.0/29"])];
        let old = Context {
            behaviour: Behaviour::of(Release::from_text("v0.13.9").unwrap()),
            ..Context::default()
        };
        let (reaction, out) = plan_with(&base, renumbered(), &old);
        assert!(
            !reaction.accepted,
            "v0.13.9: new config not compatible with assigned IPs"
        );
        assert_eq!(out[0].1.change, Change::Kept);
        let (reaction, out) = plan(&base, renumbered());
        assert!(reaction.accepted);
        assert_eq!(out[0].1.change, Change::Moved);
    }

    #[test]
    fn v0_13_accepts_a_scope_change_that_leaves_the_address_in_a_pool() {
        // SetPools (v0.13.9) only asks whether every allocated address is in some pool.
        let base = world(
            vec![
                pinned("team", &["10.0.0.0/30"], None, &["a"]),
                pool("shared", &["10.9.0.0/30"]),
            ],
            vec![holding(svc("a/web"), &["10.0.0.1"])],
        );
        let old = Context {
            behaviour: Behaviour::of(Release::from_text("v0.13.9").unwrap()),
            ..Context::default()
        };
        let (reaction, out) = plan_with(
            &base,
            vec![pinned("team", &["10.0.0.0/30"], None, &["b"])],
            &old,
        );
        assert!(reaction.accepted);
        assert_eq!(out[0].1.change, Change::Moved);
    }

    #[test]
    fn no_proposal_keeps_every_service() {
        let base = world(
            vec![pool("p", &["10.0.0.0/31"]), pool("q", &["10.1.0.0/31"])],
            vec![
                holding(svc("a/web"), &["10.0.0.0"]),
                holding(svc("a/api"), &["10.0.0.1"]),
                svc("a/pending"),
            ],
        );
        let (reaction, out) = plan(&base, vec![]);
        assert!(!reaction.is_problem());
        let changes: Vec<Change> = out.iter().map(|(_, o)| o.change).collect();
        assert_eq!(
            changes,
            [Change::Kept, Change::Kept, Change::UnchangedPending]
        );
        assert!(
            out[2].1.notes[0].contains("retries a pending service only when"),
            "q could serve it, but nothing makes MetalLB look again"
        );
        // Re-applying a pool as it is changes nothing either.
        let (_, out) = plan(&base, vec![pool("p", &["10.0.0.0/31"])]);
        assert_eq!(out[2].1.change, Change::UnchangedPending);
        // Any real change makes MetalLB re-process every service: the pending one gains.
        let (_, out) = plan(&base, vec![pool("q", &["10.1.0.0/30"])]);
        assert_eq!(out[2].1.change, Change::Gained);
    }

    #[test]
    fn the_first_answers_are_the_same_on_two_threads() {
        let base = world(
            vec![
                pinned("team", &["10.0.0.0/31"], Some(1), &["a"]),
                pool("x", &["10.8.0.0/30"]),
                pool("y", &["10.9.0.0/32"]),
            ],
            (0..9)
                .map(|i| svc(&format!("{}/s{i}", ["a", "b", "c"][i % 3])))
                .collect(),
        );
        let ctx = Context::default();
        let c = cluster(&base, &ctx);
        let queue: Vec<usize> = (0..base.services.len()).collect();
        let summary = |answers: Vec<Rc<Decision>>| -> Vec<(bool, Vec<usize>, Vec<Ip>)> {
            answers
                .iter()
                .map(|d| (d.fits, d.pools.to_vec(), d.ips.clone()))
                .collect()
        };
        let alone = summary(first_answers_from(&c, &queue, usize::MAX));
        assert_eq!(summary(first_answers_from(&c, &queue, 0)), alone);
        assert!(
            alone.iter().any(|(_, pools, _)| pools.len() > 1)
                && alone.iter().any(|a| a.2.len() == 1),
            "both a random pick and a certain address are compared: {alone:?}"
        );
    }

    #[test]
    fn an_answer_reads_the_pools_it_may_be_given_and_no_other() {
        let base = world(
            vec![
                pinned("team", &["10.0.0.0/30"], None, &["a"]),
                pinned("other", &["10.1.0.0/30"], None, &["b"]),
                pool("x", &["10.8.0.0/30"]),
            ],
            vec![
                svc("a/auto"),
                annotate(svc("a/named"), "metallb.io/address-pool", "other"),
                annotate(svc("a/ip"), "metallb.io/loadBalancerIPs", "10.8.0.1"),
            ],
        );
        let c = cluster(&base, &Context::default());
        let index = |name| c.config.pool(name).unwrap().0;
        let reads = |pools: Vec<usize>, plain| OutcomeReads { pools, plain };
        // Automatic: the pinned pools of its namespace and every plain pool, not `other`.
        assert_eq!(c.outcome_reads(0), reads(vec![index("team")], true));
        assert_eq!(c.outcome_reads(1), reads(vec![index("other")], false));
        assert_eq!(c.outcome_reads(2), reads(vec![index("x")], false));
    }

    mod generated {
        use super::*;
        use proptest::prelude::*;

        /// A small cluster: pools on distinct /28s (some pinned, some with autoAssign off),
        /// services holding an address in or outside them, pending ones, some asking for a
        /// pool by name.
        fn cluster() -> impl Strategy<Value = Snapshot> {
            let pools = proptest::collection::vec(
                (0u8..3, proptest::option::of(0i64..3), any::<bool>()),
                1..4,
            );
            let services = proptest::collection::vec(
                (
                    0u8..3,
                    proptest::option::of((0u8..5, 0u8..20)),
                    proptest::option::of(0u8..4),
                ),
                0..10,
            );
            (pools, services).prop_map(|(pools, services)| {
                let pools = pools
                    .into_iter()
                    .enumerate()
                    .map(|(i, (scope, priority, auto))| {
                        let block = format!("10.{i}.0.0/28");
                        let mut p = match scope {
                            0 => pool(&format!("p{i}"), &[&block]),
                            1 => pinned(&format!("p{i}"), &[&block], priority, &["a"]),
                            _ => pinned(&format!("p{i}"), &[&block], priority, &["b"]),
                        };
                        p.spec.auto_assign = Some(auto);
                        p
                    })
                    .collect();
                let services = services
                    .into_iter()
                    .enumerate()
                    .map(|(i, (ns, held, wanted))| {
                        let ns = ["a", "b", "c"][usize::from(ns)];
                        let mut s = svc(&format!("{ns}/s{i}"));
                        if let Some(p) = wanted {
                            s = annotate(s, "metallb.io/address-pool", &format!("p{p}"));
                        }
                        match held {
                            Some((block, host)) => holding(s, &[&format!("10.{block}.0.{host}")]),
                            None => s,
                        }
                    })
                    .collect();
                world(pools, services)
            })
        }

        /// A proposal over [`cluster`]'s pools (named p0 to p3): each renumbered to a /28 or
        /// a /30 of some block, scoped to a namespace or to none, with a priority and
        /// autoAssign; one pool per name.
        fn proposal() -> impl Strategy<Value = Vec<IpAddressPool>> {
            let pools = proptest::collection::vec(
                (
                    0u8..4,
                    0u8..5,
                    any::<bool>(),
                    0u8..3,
                    proptest::option::of(0i64..3),
                    any::<bool>(),
                ),
                0..4,
            );
            pools.prop_map(|pools| {
                let mut by_name = std::collections::BTreeMap::new();
                for (name, block, small, scope, priority, auto) in pools {
                    let name = format!("p{name}");
                    let block = format!("10.{block}.0.0/{}", if small { 30 } else { 28 });
                    let mut p = match scope {
                        0 => pool(&name, &[&block]),
                        1 => pinned(&name, &[&block], priority, &["a"]),
                        _ => pinned(&name, &[&block], priority, &["b"]),
                    };
                    p.spec.auto_assign = Some(auto);
                    by_name.insert(name, p);
                }
                by_name.into_values().collect()
            })
        }

        /// The reaction under `replay`, and the after pools' counts it leaves, as text.
        fn replayed(
            base: &Snapshot,
            proposed: &[IpAddressPool],
            ctx: &Context,
            replay: Replay,
        ) -> String {
            let after = overlay(base, &world(proposed.to_vec(), vec![]), false);
            let before = super::cluster(base, ctx);
            let mut after_cluster = super::cluster(&after, ctx);
            let reaction = react_with(&before, &mut after_cluster, &changes(base, &after), replay);
            let counts: Vec<_> = (0..after_cluster.config.pools.len())
                .map(|p| after_cluster.counts(p))
                .collect();
            format!("{reaction:?}\n{counts:?}")
        }

        proptest! {
            #[test]
            fn a_proposal_that_changes_nothing_moves_nothing(base in cluster()) {
                for proposed in [vec![], base.pools.clone()] {
                    let (reaction, out) = plan(&base, proposed);
                    prop_assert!(reaction.accepted && !reaction.is_problem());
                    for (key, o) in &out {
                        prop_assert!(
                            matches!(o.change, Change::Kept | Change::UnchangedPending),
                            "{} is {:?}", key, o.change
                        );
                        if o.change == Change::Kept {
                            prop_assert_eq!(&o.old_ips, &o.new_ips);
                        }
                    }
                }
            }

            #[test]
            fn answers_reused_where_no_changed_pool_is_read_are_those_decided_again(
                base in cluster(),
                proposed in proposal(),
            ) {
                for release in Release::CHECKED {
                    let ctx = Context {
                        behaviour: Behaviour::of(release),
                        ..Context::default()
                    };
                    prop_assert_eq!(
                        replayed(&base, &proposed, &ctx, Replay::ReuseUnread),
                        replayed(&base, &proposed, &ctx, Replay::DecideAll),
                        "{}", release
                    );
                }
            }
        }
    }
}
