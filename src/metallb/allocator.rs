//! Occupancy and the replay of MetalLB's allocator: who holds which address, and what
//! MetalLB would do with a service now (metallb-semantics.md §3.3, §4.5–§4.10, §5, §6).

use compact_str::CompactString;
use rustc_hash::{FxHashMap, FxHashSet};

use super::addr::{Family, FamilyCounts, Ip, ip_list};
use super::config::{Config, Pool, Refusal};
use super::reason::{Code, Reason};
use super::release::{
    Behaviour, DualPoolSearch, Free, HeldSingleAddress, OrphaningConfig, PinnedSearch,
    RequireDualSingleClusterIp,
};
use super::service::{Context, Policy, ServiceFacts, ServiceFamily};
use crate::bits::Bits;
use crate::memo::{kept, lock};
use crate::snapshot::{Service, Snapshot, StringMap};

/// The cluster as MetalLB's controller holds it: configuration, services, and the
/// addresses each pool has handed out.
pub struct Cluster<'a> {
    pub config: Config,
    /// What the modelled release does where releases differ.
    pub behaviour: Behaviour,
    /// Per service of the snapshot, in its order; they borrow from the snapshot.
    pub services: Vec<ServiceFacts<'a>>,
    /// Per pool (index of `config.pools`): the held addresses and their holders.
    holdings: Vec<Held>,
    /// Per service: the pool its addresses are counted in.
    pub service_pool: Vec<Option<usize>>,
    /// Per pool: the services holding its addresses, in input order.
    pool_services: Vec<Vec<usize>>,
    /// Addresses services hold that MetalLB will take away (§6.1), by service.
    pub holding_warnings: Vec<(usize, Reason)>,
    /// Holders of an address whose co-holders' keys or ports refuse them (§5): MetalLB
    /// keeps it for one of them only, whichever it processes first. They stay counted as
    /// holders (the address is used either way), by service.
    pub holder_conflicts: Vec<(usize, Reason)>,
    /// Per pool: the first address held by nobody, per family. It is every candidate of a
    /// service without a sharing key that holds nothing in the pool, so deciding for many
    /// such services (`check`, `plan`) scans each pool once. Filled on first use, and emptied
    /// for a pool when `assign` takes one of them.
    unheld_first: Vec<std::sync::OnceLock<Candidates>>,
    /// Per service: its pinned walk, once looked up (`plan` decides a service again after
    /// each re-allocation that may change its answer; the walk never changes).
    walk_of_service: Vec<std::sync::OnceLock<std::sync::Arc<PinnedWalk>>>,
    /// Per pool: the held addresses whose every holder has an `allow-shared-ip` key,
    /// ascending. They are the only held addresses a service with a key can be given (§5
    /// rule 2), so its candidates need no scan of the pool's holdings.
    keyed: Vec<Vec<Ip>>,
    /// The pools automatic allocation can walk for a service.
    index: PoolIndex,
    /// The label keys some selector reads.
    label_keys: SelectorKeys,
    /// The namespace half of [`Cluster::pinned_walk`]'s answers (the walk before service
    /// selectors), by namespace: many label sets share a namespace.
    namespace_walks: std::sync::Mutex<FxHashMap<&'a str, std::sync::Arc<NamespaceWalk>>>,
    /// The label half: per labels under the keys some selector reads, one bit per pool,
    /// set where the pool's service selectors admit them (or it has none).
    selected: std::sync::Mutex<FxHashMap<ReadLabels<'a>, std::sync::Arc<Bits>>>,
    /// The pools with service selectors: the only ones whose bit can be clear.
    selector_pools: Vec<usize>,
    /// Every distinct list of walked pools, and every distinct walk, once: namespaces and
    /// labels served alike share one, so that what is worked out per list or walk
    /// (`check`'s ties and decisions) is worked out once.
    walked_lists: std::sync::Mutex<FxHashSet<std::sync::Arc<[usize]>>>,
    distinct_walks: std::sync::Mutex<FxHashMap<Box<[usize]>, std::sync::Arc<PinnedWalk>>>,
    /// Namespace halves kept once each (most namespaces are named by no pool, and walk the
    /// same pools), and the walks made of each half and a label set: a namespace and labels
    /// met for the first time usually find their walk here.
    distinct_namespace_walks: std::sync::Mutex<FxHashSet<std::sync::Arc<NamespaceWalk>>>,
    /// By the addresses of a kept namespace half and a kept label half.
    walks_by_halves: std::sync::Mutex<FxHashMap<(usize, usize), std::sync::Arc<PinnedWalk>>>,
    /// The pinned pools' pick per walk and [`PlainKey`], for the services that hold nothing
    /// there (see [`Cluster::outcome`]); `assign` drops those it may change.
    pinned_picks: std::sync::Mutex<Picks<(PinnedScope, PlainKey<'a>)>>,
    /// The plain pools' pick per family, policy and primary family, for the services that
    /// hold nothing in them and share nothing (see [`Cluster::outcome`]); `assign` drops
    /// those it may change.
    plain_picks: std::sync::Mutex<Picks<PlainKey<'a>>>,
}

/// Kept picks, those of services with a sharing key apart: an assignment that leaves its
/// pool's free families as they were changes only those (see [`Cluster::assign`]).
struct Picks<K> {
    alone: FxHashMap<K, std::sync::Arc<Pick>>,
    sharing: FxHashMap<K, std::sync::Arc<Pick>>,
}

impl<K> Default for Picks<K> {
    fn default() -> Picks<K> {
        Picks {
            alone: FxHashMap::default(),
            sharing: FxHashMap::default(),
        }
    }
}

impl<K: std::hash::Hash + Eq> Picks<K> {
    /// The picks of services with a sharing key, or of those without.
    fn of(&mut self, sharing: bool) -> &mut FxHashMap<K, std::sync::Arc<Pick>> {
        match sharing {
            true => &mut self.sharing,
            false => &mut self.alone,
        }
    }
}

/// The labels of a service under the keys some selector reads.
type ReadLabels<'a> = Vec<(&'a str, &'a str)>;

/// The label keys some selector reads (pools' or advertisements'): no other label changes
/// which pools admit a service or whether it is announced.
#[derive(Clone, Debug, Default)]
pub struct SelectorKeys(std::collections::BTreeSet<String>);

impl SelectorKeys {
    fn of(config: &Config) -> SelectorKeys {
        SelectorKeys(
            config
                .service_label_keys()
                .into_iter()
                .map(str::to_string)
                .collect(),
        )
    }

    /// `labels` under these keys, into `read` (emptied first): for a caller that reads
    /// many services' labels into one buffer.
    pub fn read_into<'l>(&self, labels: &'l StringMap, read: &mut Vec<(&'l str, &'l str)>) {
        // Selectors read few keys, and a service has several labels: look the keys up.
        // Both are in key order, so the pairs come in the labels' order.
        read.clear();
        read.extend(self.0.iter().filter_map(|key| labels.get_key_value(key)));
    }
}

/// The pinned pools automatic allocation walks for a namespace and labels, ascending, and
/// those whose admission is unknown (their namespace selectors were not evaluated).
#[derive(Debug)]
struct PinnedWalk {
    /// Shared: services alike are given this one list (`serving_pinned_pools_like`).
    walked: std::sync::Arc<[usize]>,
    unknown: Vec<usize>,
    /// Per pool of `walked`, one bit: whether it is in MetalLB's namespace index for the
    /// walk's namespaces (which decides its part of the order).
    in_namespace_index: Bits,
    /// `walked` in MetalLB's pinned order, made on its first search: most walks are never
    /// searched (`check` looks up one per audience for the ties and pools serving it).
    order: std::sync::OnceLock<Order>,
}

impl PinnedWalk {
    fn order(&self, cluster: &Cluster) -> &Order {
        self.order.get_or_init(|| {
            let walked: Vec<(usize, bool)> = (self.walked.iter().enumerate())
                .map(|(at, &i)| (i, self.in_namespace_index.get(at)))
                .collect();
            cluster.pinned_order(&walked)
        })
    }
}

/// The namespace half of a [`PinnedWalk`]: the pools that pass but for their service
/// selectors, and those whose admission is unknown.
#[derive(Debug, Default, PartialEq, Eq, Hash)]
struct NamespaceWalk {
    /// With whether the pool is in MetalLB's namespace index under the namespace.
    walked: Vec<(usize, bool)>,
    unknown: Vec<usize>,
}

/// See [`Cluster::pinned_scope`]. Walks are kept once each, so equal scopes are one walk.
#[derive(Clone, Debug)]
pub struct PinnedScope(std::sync::Arc<PinnedWalk>);

impl PartialEq for PinnedScope {
    fn eq(&self, other: &PinnedScope) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for PinnedScope {}

impl std::hash::Hash for PinnedScope {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::sync::Arc::as_ptr(&self.0).hash(state);
    }
}

/// What the plain pools' pick depends on, for a service that holds nothing in them: its
/// family and policy, and with a sharing key what decides which held addresses it may
/// share (§5: the key, the backend, the ports).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct PlainKey<'a> {
    family: ServiceFamily,
    policy: Policy,
    primary: Family,
    sharing: Option<Sharing<'a>>,
}

/// A sharing key, the backend and the ports of a service (§5).
type Sharing<'a> = (&'a str, CompactString, Vec<(&'a str, i32)>);

impl<'a> PlainKey<'a> {
    fn of(s: &ServiceFacts<'a>) -> PlainKey<'a> {
        PlainKey {
            family: s.family,
            policy: s.policy,
            primary: s.primary,
            sharing: (!s.sharing_key.is_empty())
                .then(|| (s.sharing_key, s.backend_key().into(), s.ports().to_vec())),
        }
    }
}

/// The pools automatic allocation can walk for a service, indexed once, so that
/// [`Cluster::outcome`] looks only at those: a pinned pool is walked only from MetalLB's
/// namespace or service-selector index (§4.7 step 1), and every plain pool is walked.
#[derive(Debug, Default)]
struct PoolIndex {
    /// autoAssign pinned pools in the namespace index, by namespace.
    by_namespace: FxHashMap<String, Vec<usize>>,
    /// autoAssign pinned pools every service's walk looks at: those in the service-selector
    /// index that admit every namespace, and those whose namespaceSelectors could not be
    /// evaluated (their admission is unknown, and said so).
    every_namespace: Vec<usize>,
    /// autoAssign pools without serviceAllocation.
    plain: Vec<usize>,
}

impl PoolIndex {
    fn new(config: &Config) -> PoolIndex {
        let mut index = PoolIndex::default();
        for (i, pool) in config.pools.iter().enumerate() {
            if !pool.auto_assign {
                continue;
            }
            let Some(allocation) = &pool.allocation else {
                index.plain.push(i);
                continue;
            };
            for namespace in &allocation.allowed_namespaces {
                index
                    .by_namespace
                    .entry(namespace.clone())
                    .or_default()
                    .push(i);
            }
            // A selector pool limited to some namespaces is listed under them above: for any
            // other namespace its admission fails, which is no part of an answer.
            let everywhere = allocation.allowed_namespaces.is_empty();
            if (pool.in_selector_index() && everywhere) || allocation.selectors_unknown {
                index.every_namespace.push(i);
            }
        }
        index
    }

    /// The pools to look at for a service of `namespace`, ascending: its pinned candidates,
    /// and the plain pools when asked.
    fn pools_for(&self, namespace: &str, plain: bool) -> Vec<usize> {
        let pinned: Vec<usize> = self.pinned_for(namespace).map(|(i, _)| i).collect();
        match plain {
            true => self.with_plain(pinned),
            false => pinned,
        }
    }

    /// The pinned pools to look at for a service of `namespace`, ascending, each with
    /// whether it is listed under the namespace (which means the pool allows it): the two
    /// ascending lists merged in one pass.
    fn pinned_for(&self, namespace: &str) -> impl Iterator<Item = (usize, bool)> + '_ {
        let listed = self
            .by_namespace
            .get(namespace)
            .map_or(&[][..], Vec::as_slice);
        let (mut everywhere, mut listed) = (
            self.every_namespace.iter().peekable(),
            listed.iter().peekable(),
        );
        std::iter::from_fn(move || match (everywhere.peek(), listed.peek()) {
            (Some(&&e), Some(&&l)) if e < l => everywhere.next().map(|&i| (i, false)),
            (Some(&&e), Some(&&l)) if e == l => {
                everywhere.next();
                listed.next().map(|&i| (i, true))
            }
            (_, Some(_)) => listed.next().map(|&i| (i, true)),
            (Some(_), None) => everywhere.next().map(|&i| (i, false)),
            (None, None) => None,
        })
    }

    /// `pinned` (ascending) and the plain pools, merged in one pass: both are ascending and
    /// they share no pool.
    fn with_plain(&self, pinned: Vec<usize>) -> Vec<usize> {
        let mut pools = Vec::with_capacity(pinned.len() + self.plain.len());
        let (mut a, mut b) = (pinned.iter().peekable(), self.plain.iter().peekable());
        while let (Some(&&x), Some(&&y)) = (a.peek(), b.peek()) {
            if x < y {
                pools.push(x);
                a.next();
            } else {
                pools.push(y);
                b.next();
            }
        }
        pools.extend(a.chain(b));
        pools
    }
}

/// How MetalLB handles the service: the three paths of §4.1, or a gate that stops it
/// (serialized `none`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    #[serde(rename = "none")]
    Stopped,
    RequestedIps,
    RequestedPool,
    Automatic,
}

/// What one pool would do with the service.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PoolVerdict {
    pub fits: bool,
    pub reasons: Vec<Reason>,
    /// The address(es) this pool would give the service.
    pub ips: Vec<Ip>,
    /// For a pool that fits but is not MetalLB's pick: why another one goes first.
    pub note: Option<String>,
}

/// What MetalLB's allocator would do with a service now.
#[derive(Clone, Debug)]
pub struct Decision {
    pub mode: Mode,
    pub fits: bool,
    /// The pool(s) the address would come from; several only where MetalLB picks at random.
    /// Shared with the pick it comes from: a random pick lists every plain pool.
    pub pools: std::sync::Arc<[usize]>,
    /// The address(es) it would assign, when the pool is certain.
    pub ips: Vec<Ip>,
    pub reasons: Vec<Reason>,
    /// The error MetalLB itself would report (its `AllocationFailed` text), if it fails.
    pub metallb_error: Option<String>,
    verdicts: Verdicts,
    pub warnings: Vec<Reason>,
    /// The pools whose admission of the service is unknown (namespace labels not read).
    unknown_admission: Vec<usize>,
}

/// The pool verdicts a decision works out.
#[derive(Clone, Debug)]
enum Verdicts {
    /// One per pool of `config.pools` ([`Cluster::decide`]: the page `why` shows).
    Every(Vec<PoolVerdict>),
    /// Only the verdict of the pool a request names ([`Cluster::outcome`]: `check` and
    /// `plan` decide for many services and need no pool-by-pool page).
    Requested(Vec<(usize, PoolVerdict)>),
}

impl Verdicts {
    fn iter_mut(&mut self) -> Box<dyn Iterator<Item = &mut PoolVerdict> + '_> {
        match self {
            Verdicts::Every(all) => Box::new(all.iter_mut()),
            Verdicts::Requested(some) => Box::new(some.iter_mut().map(|(_, v)| v)),
        }
    }
}

impl Decision {
    /// Whether warnings are worked out: for `why` ([`Cluster::decide`]). `outcome`'s callers
    /// read none, and a random pick's would copy every plain pool.
    fn warns(&self) -> bool {
        matches!(self.verdicts, Verdicts::Every(_))
    }

    fn new(detail: Detail, pools: usize) -> Decision {
        Decision {
            mode: Mode::Stopped,
            fits: false,
            pools: std::sync::Arc::from([]),
            ips: Vec::new(),
            reasons: Vec::new(),
            metallb_error: None,
            verdicts: match detail {
                Detail::Verdicts => Verdicts::Every(vec![PoolVerdict::default(); pools]),
                Detail::Outcome => Verdicts::Requested(Vec::new()),
            },
            warnings: Vec::new(),
            unknown_admission: Vec::new(),
        }
    }

    /// The verdict of `pool`, where this decision worked it out.
    pub fn verdict(&self, pool: usize) -> Option<&PoolVerdict> {
        match &self.verdicts {
            Verdicts::Every(all) => all.get(pool),
            Verdicts::Requested(some) => some.iter().find(|(p, _)| *p == pool).map(|(_, v)| v),
        }
    }

    /// The verdicts worked out, by pool index, ascending.
    pub fn verdicts(&self) -> Box<dyn Iterator<Item = (usize, &PoolVerdict)> + '_> {
        match &self.verdicts {
            Verdicts::Every(all) => Box::new(all.iter().enumerate()),
            Verdicts::Requested(some) => Box::new(some.iter().map(|(p, v)| (*p, v))),
        }
    }

    /// Takes every pool's verdict, in pool order (from [`Cluster::decide`]).
    pub fn take_verdicts(&mut self) -> Vec<PoolVerdict> {
        match &mut self.verdicts {
            Verdicts::Every(all) => std::mem::take(all),
            Verdicts::Requested(_) => Vec::new(),
        }
    }

    /// Every pool's verdict when they are all worked out; none otherwise.
    fn every_verdict(&mut self) -> &mut [PoolVerdict] {
        match &mut self.verdicts {
            Verdicts::Every(all) => all,
            Verdicts::Requested(_) => &mut [],
        }
    }

    /// The verdict of the pool a request names: always worked out.
    fn requested_verdict(&mut self, pool: usize) -> &mut PoolVerdict {
        match &mut self.verdicts {
            Verdicts::Every(all) => &mut all[pool],
            Verdicts::Requested(some) => {
                let at = match some.iter().position(|(p, _)| *p == pool) {
                    Some(at) => at,
                    None => {
                        some.push((pool, PoolVerdict::default()));
                        some.len() - 1
                    }
                };
                &mut some[at].1
            }
        }
    }

    /// Records that `pool` refused the service, and why.
    fn refused(&mut self, pool: usize, refusal: Refusal) {
        if refusal == Refusal::NamespaceUnknown {
            self.unknown_admission.push(pool);
        }
    }
}

/// How much of a decision to work out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Detail {
    /// Every pool's verdict, as `why` shows them.
    Verdicts,
    /// What MetalLB does, with the verdict of a requested pool only.
    Outcome,
}

/// Free candidates of one pool for one service: the first usable address per family.
#[derive(Clone, Copy, Debug, Default)]
struct Candidates {
    v4: Option<Ip>,
    v6: Option<Ip>,
}

impl Candidates {
    fn get(self, family: Family) -> Option<Ip> {
        match family {
            Family::V4 => self.v4,
            Family::V6 => self.v6,
        }
    }

    fn any(self) -> bool {
        self.v4.is_some() || self.v6.is_some()
    }

    /// Which families have a free address, as the release rules take them.
    fn free(self) -> Free {
        Free {
            v4: self.v4.is_some(),
            v6: self.v6.is_some(),
        }
    }
}

/// What MetalLB reads from each service, in input order. Reading is most of what building a
/// large cluster costs and each service is read on its own, so a large snapshot is read by
/// two threads when the machine has the cores: the result is the same.
fn facts_of<'a>(services: &'a [Service], ctx: &Context) -> Vec<ServiceFacts<'a>> {
    let fact = |s: &'a Service| ServiceFacts::new(s, ctx);
    if !second_thread_pays(services.len()) {
        return services.iter().map(fact).collect();
    }
    let (first, second) = services.split_at(services.len() / 2);
    std::thread::scope(|scope| {
        let second = scope.spawn(|| second.iter().map(fact).collect::<Vec<_>>());
        // Exactly sized: the second half is appended without growing.
        let mut all = Vec::with_capacity(services.len());
        all.extend(first.iter().map(fact));
        all.extend(second.join().expect("reading a service does not panic"));
        all
    })
}

/// Whether a second thread pays for itself over `services` services: with the cores for
/// it, from 20,000 services.
fn second_thread_pays(services: usize) -> bool {
    const PARALLEL_FROM: usize = 20_000;
    // Asked once: the answer reads the process's cgroup quota from files.
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    services >= PARALLEL_FROM
        && *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get())) > 1
}

/// The addresses one pool has handed out: `(address, holder)` pairs sorted by address, then
/// by holder (input order). One vector per pool instead of a map node and a vector per
/// address.
#[derive(Clone, Debug, Default)]
struct Held {
    pairs: Vec<(Ip, usize)>,
    /// Distinct held addresses per family.
    distinct_v4: usize,
    distinct_v6: usize,
}

impl Held {
    /// Sorts the pairs once they are all in, and counts the distinct addresses.
    fn finish(&mut self) {
        self.pairs.sort_unstable();
        for run in self.pairs.chunk_by(|a, b| a.0 == b.0) {
            match run[0].0.family {
                Family::V4 => self.distinct_v4 += 1,
                Family::V6 => self.distinct_v6 += 1,
            }
        }
    }

    /// The holders of `ip`, in input order.
    fn holders(&self, ip: Ip) -> impl Iterator<Item = usize> + Clone + '_ {
        let start = self.pairs.partition_point(|(a, _)| *a < ip);
        self.pairs[start..]
            .iter()
            .take_while(move |(a, _)| *a == ip)
            .map(|&(_, h)| h)
    }

    /// The held addresses in `[first, last]`, ascending, each with its `(address, holder)`
    /// pairs.
    fn between(&self, first: Ip, last: Ip) -> impl Iterator<Item = (Ip, &[(Ip, usize)])> {
        let start = self.pairs.partition_point(|(a, _)| *a < first);
        let end = self.pairs.partition_point(|(a, _)| *a <= last);
        self.pairs[start..end.max(start)]
            .chunk_by(|a, b| a.0 == b.0)
            .map(|run| (run[0].0, run))
    }
}

/// What validating the services' holdings found besides their pools, in input order.
struct HoldingVerdicts {
    warnings: Vec<(usize, Reason)>,
    /// The configuration errors of addresses held in no pool, in the releases that have them.
    orphaning_errors: Vec<String>,
}

impl HoldingVerdicts {
    /// Validates the holdings of `services[from..from + pools.len()]`, writing into `pools`
    /// the pool each service's addresses are validly held in.
    fn read(
        config: &Config,
        behaviour: &Behaviour,
        services: &[ServiceFacts],
        from: usize,
        pools: &mut [Option<usize>],
    ) -> HoldingVerdicts {
        let mut verdicts = HoldingVerdicts {
            warnings: Vec::new(),
            orphaning_errors: Vec::new(),
        };
        let read = services[from..].iter().zip(pools.iter_mut());
        for (i, (s, pool)) in (from..).zip(read) {
            if s.is_managed()
                && let Some(bad) = s.unparsable_ingress().first()
            {
                // Go: controller/service.go convergeBalancer — `net.ParseIP` gives nil, the
                // family of the addresses cannot be told, and the state is cleared.
                verdicts.warnings.push((
                    i,
                    Reason::new(
                        Code::AllocationNotValid,
                        format!(
                            "{}: status.loadBalancer.ingress holds {bad:?}, which is not an IP address; MetalLB cannot tell the family of the service's addresses, clears them and allocates anew",
                            s.key
                        ),
                    ),
                ));
                continue;
            }
            if !s.holds_addresses() {
                continue;
            }
            match Cluster::validate_holding(config, behaviour, s) {
                Ok(valid) => *pool = Some(valid),
                Err(why) => {
                    if config.pool_for(&s.ingress).is_none()
                        && let Some(error) =
                            behaviour.orphaning_config_error(&s.key, &quoted_list(&s.ingress))
                    {
                        verdicts.orphaning_errors.push(error);
                    }
                    verdicts.warnings.push((
                        i,
                        Reason::new(
                            Code::AllocationNotValid,
                            holding_message(behaviour, s, &why),
                        ),
                    ))
                }
            }
        }
        verdicts
    }

    /// Appends the verdicts on the services after these.
    fn append(&mut self, later: HoldingVerdicts) {
        self.warnings.extend(later.warnings);
        self.orphaning_errors.extend(later.orphaning_errors);
    }
}

/// What MetalLB rebuilds from the addresses services hold (§3.3): the parts of a
/// [`Cluster`] read from its services and configuration alone.
struct Occupancy {
    holdings: Vec<Held>,
    service_pool: Vec<Option<usize>>,
    pool_services: Vec<Vec<usize>>,
    holding_warnings: Vec<(usize, Reason)>,
    /// The configuration errors of addresses held in no pool, in the releases that have them.
    orphaning_errors: Vec<String>,
    keyed: Vec<Vec<Ip>>,
}

impl Occupancy {
    /// Rebuilds the occupancy, and runs `alongside` (a command's own work) meanwhile. With
    /// `two_threads`, a second thread runs `alongside`, then helps: the holdings of the
    /// second half of the services are validated by whichever thread is free first, and
    /// the thread that validated both fills the pools' lists while the other finishes.
    fn rebuild<R: Send>(
        config: &Config,
        behaviour: &Behaviour,
        services: &[ServiceFacts],
        two_threads: bool,
        alongside: Option<impl FnOnce() -> R + Send>,
    ) -> (Occupancy, Option<R>) {
        // Which pool each service validly holds its addresses in is decided for each on its
        // own (most of the work); the pools' lists are then filled in input order.
        let mut service_pool = vec![None; services.len()];
        let (verdicts, pools, early) = if two_threads {
            let half = services.len() / 2;
            let (first, second) = service_pool.split_at_mut(half);
            let second = std::sync::Mutex::new(Some(second));
            let read_second = || {
                let pools = crate::memo::lock(&second).take()?;
                let verdicts = HoldingVerdicts::read(config, behaviour, services, half, pools);
                Some((verdicts, &*pools))
            };
            std::thread::scope(|scope| {
                let helper = scope.spawn(|| (alongside.map(|work| work()), read_second()));
                let mut verdicts = HoldingVerdicts::read(config, behaviour, services, 0, first);
                // A panic there is a bug: it goes on here, as on one thread.
                let join = |helper: std::thread::ScopedJoinHandle<'_, _>| {
                    helper
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                };
                let fill = |later: &[Option<usize>]| {
                    PoolLists::fill(config, services, first.iter().chain(later).copied())
                };
                let (early, pools) = match read_second() {
                    Some((later, pools)) => {
                        verdicts.append(later);
                        let filled = fill(pools);
                        (join(helper).0, filled)
                    }
                    None => {
                        let (early, theirs) = join(helper);
                        let (later, pools) =
                            theirs.expect("one of the threads read the second half");
                        verdicts.append(later);
                        (early, fill(pools))
                    }
                };
                (verdicts, pools, early)
            })
        } else {
            let verdicts = HoldingVerdicts::read(config, behaviour, services, 0, &mut service_pool);
            let pools = PoolLists::fill(config, services, service_pool.iter().copied());
            (verdicts, pools, alongside.map(|work| work()))
        };
        let occupancy = Occupancy {
            holdings: pools.holdings,
            service_pool,
            pool_services: pools.services,
            holding_warnings: verdicts.warnings,
            orphaning_errors: verdicts.orphaning_errors,
            keyed: pools.keyed,
        };
        (occupancy, early)
    }
}

/// Each pool's holdings, services and shared addresses.
struct PoolLists {
    holdings: Vec<Held>,
    services: Vec<Vec<usize>>,
    keyed: Vec<Vec<Ip>>,
}

impl PoolLists {
    /// The lists, filled in input order from the pool each service validly holds its
    /// addresses in (`service_pool`, in input order), each sized exactly.
    fn fill(
        config: &Config,
        services: &[ServiceFacts],
        service_pool: impl Iterator<Item = Option<usize>> + Clone,
    ) -> PoolLists {
        let mut sizes = vec![(0, 0); config.pools.len()];
        for (pool, s) in service_pool.clone().zip(services) {
            if let Some(pool) = pool {
                sizes[pool].0 += 1;
                sizes[pool].1 += s.ingress.len();
            }
        }
        let mut pool_services: Vec<Vec<usize>> = sizes
            .iter()
            .map(|&(held_by, _)| Vec::with_capacity(held_by))
            .collect();
        let mut holdings: Vec<Held> = sizes
            .iter()
            .map(|&(_, addresses)| Held {
                pairs: Vec::with_capacity(addresses),
                ..Held::default()
            })
            .collect();
        for (i, (pool, s)) in service_pool.zip(services).enumerate() {
            if let Some(pool) = pool {
                holdings[pool]
                    .pairs
                    .extend(s.ingress.iter().map(|ip| (*ip, i)));
                pool_services[pool].push(i);
            }
        }
        for held in &mut holdings {
            held.finish();
        }
        let keyed = holdings
            .iter()
            .map(|held| {
                held.pairs
                    .chunk_by(|a, b| a.0 == b.0)
                    .filter(|run| {
                        run.iter()
                            .all(|&(_, h)| !services[h].sharing_key.is_empty())
                    })
                    .map(|run| run[0].0)
                    .collect()
            })
            .collect();
        PoolLists {
            holdings,
            services: pool_services,
            keyed,
        }
    }
}

/// Why a service may not share an address with its holders (§5); the indices are holders.
#[derive(Clone, Copy, Debug)]
enum SharingConflict {
    /// The service has no `allow-shared-ip` key.
    NoKey,
    HolderNoKey(usize),
    KeyMismatch(usize),
    BackendMismatch(usize),
    /// A holder, and the index of its port the service also uses.
    Port(usize, usize),
}

/// Why automatic allocation passes a pool by without looking at its addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PassedBy {
    AutoAssignOff,
    /// The pool's serviceAllocation does not admit the service.
    Refusal(Refusal),
    /// A pinned pool in neither of MetalLB's indices for the service's namespace.
    NeverPinned,
}

/// What a service needs from a pool to be served by it (§4.6 step 3, §4.10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Need {
    One(Family),
    Both,
    /// PreferDualStack with two cluster IPs: both if possible, else either.
    Either,
}

impl Need {
    /// What a pool must offer, on its own, to serve the service under `behaviour`'s rules
    /// (C.3): the pool's verdict. Which pool MetalLB picks is [`Cluster::search`]'s.
    fn of(s: &ServiceFacts, behaviour: &Behaviour) -> Need {
        match (s.family, s.policy) {
            // v0.14.9 gives a RequireDualStack service with one cluster IP both families.
            (ServiceFamily::Single(_), Policy::RequireDualStack)
                if behaviour.require_dual_single_cluster_ip
                    == RequireDualSingleClusterIp::BothFromFirstPool =>
            {
                Need::Both
            }
            (ServiceFamily::Single(f), _) => Need::One(f),
            (ServiceFamily::Dual, Policy::PreferDualStack)
                if behaviour.dual_pool_search
                    == DualPoolSearch::BothFirstThenPrimaryThenSecondary =>
            {
                Need::Either
            }
            (ServiceFamily::Dual, _) => Need::Both,
        }
    }

    fn offered_by(self, c: Candidates) -> bool {
        match self {
            Need::One(f) => c.get(f).is_some(),
            Need::Both => c.v4.is_some() && c.v6.is_some(),
            Need::Either => c.any(),
        }
    }

    fn families_present(self, pool: &Pool) -> bool {
        match self {
            Need::One(f) => pool.space.has_family(f),
            Need::Both => pool.space.has_family(Family::V4) && pool.space.has_family(Family::V6),
            Need::Either => pool.space.has_family(Family::V4) || pool.space.has_family(Family::V6),
        }
    }

    fn describe(self) -> String {
        match self {
            Need::One(f) => f.to_string(),
            Need::Both => "IPv4 and IPv6".to_string(),
            Need::Either => "IPv4 or IPv6".to_string(),
        }
    }
}

fn refusal_reason(pool: &Pool, refusal: Refusal, s: &ServiceFacts) -> Reason {
    match refusal {
        Refusal::Namespace => {
            let alloc = pool.allocation.as_ref();
            let allowed: Vec<&str> = alloc
                .map(|a| a.allowed_namespaces.iter().map(String::as_str).collect())
                .unwrap_or_default();
            Reason::new(
                Code::NamespaceNotAllowed,
                format!(
                    "namespace {} is not among the pool's namespaces ({})",
                    s.namespace,
                    allowed.join(", ")
                ),
            )
        }
        Refusal::NamespaceUnknown => {
            let selectors = pool
                .allocation
                .as_ref()
                .map(|a| a.namespace_selectors.join("; "))
                .unwrap_or_default();
            Reason::new(
                Code::NamespaceLabelsUnknown,
                format!(
                    "whether namespaceSelectors ({selectors}) admit namespace {} is unknown: its labels were not read (reading namespaces, or -f with the Namespace objects, settles it)",
                    s.namespace
                ),
            )
        }
        Refusal::ServiceLabels => {
            let selectors: Vec<String> = pool
                .allocation
                .as_ref()
                .map(|a| a.service_selectors.iter().map(|m| m.text.clone()).collect())
                .unwrap_or_default();
            Reason::new(
                Code::ServiceSelectorMismatch,
                format!(
                    "the service's labels match none of the pool's serviceSelectors ({})",
                    selectors.join("; ")
                ),
            )
        }
    }
}

impl<'a> Cluster<'a> {
    /// Builds occupancy from the services' ingress IPs, as MetalLB rebuilds its state (§3.3),
    /// under the rules of `ctx.behaviour`'s release.
    pub fn new(snapshot: &'a Snapshot, config: Config, ctx: &Context) -> Cluster<'a> {
        let nothing: Option<fn(&[ServiceFacts<'a>], &SelectorKeys, &Config)> = None;
        Self::new_alongside(snapshot, config, ctx, nothing).0
    }

    /// [`Cluster::new`], with a caller's own work that needs only the services' facts, the
    /// label keys selectors read and the configuration: it runs on a second core while the
    /// occupancy is rebuilt (on large snapshots, where a second thread pays), and its result
    /// comes back with the cluster.
    pub fn new_alongside<R: Send>(
        snapshot: &'a Snapshot,
        mut config: Config,
        ctx: &Context,
        alongside: Option<impl FnOnce(&[ServiceFacts<'a>], &SelectorKeys, &Config) -> R + Send>,
    ) -> (Cluster<'a>, Option<R>) {
        let behaviour = ctx.behaviour;
        let services = facts_of(&snapshot.services, ctx);
        let label_keys = SelectorKeys::of(&config);
        let two_threads = second_thread_pays(services.len());
        let alongside = alongside.map(|work| || work(&services, &label_keys, &config));
        let (occupancy, early) =
            Occupancy::rebuild(&config, &behaviour, &services, two_threads, alongside);
        // Up to v0.13.x MetalLB refuses a configuration under which an allocated address
        // lies in no pool, and keeps the previous one (C.5). Go: allocator.go `SetPools`.
        config.errors.extend(occupancy.orphaning_errors);
        let unheld_first = occupancy
            .holdings
            .iter()
            .map(|_| std::sync::OnceLock::new())
            .collect();
        let walk_of_service = services
            .iter()
            .map(|_| std::sync::OnceLock::new())
            .collect();
        let mut cluster = Cluster {
            unheld_first,
            walk_of_service,
            keyed: occupancy.keyed,
            index: PoolIndex::new(&config),
            label_keys,
            namespace_walks: std::sync::Mutex::default(),
            selected: std::sync::Mutex::default(),
            walked_lists: std::sync::Mutex::default(),
            distinct_walks: std::sync::Mutex::default(),
            distinct_namespace_walks: std::sync::Mutex::default(),
            walks_by_halves: std::sync::Mutex::default(),
            pinned_picks: std::sync::Mutex::default(),
            selector_pools: (0..config.pools.len())
                .filter(|&i| config.pools[i].in_selector_index())
                .collect(),
            plain_picks: std::sync::Mutex::default(),
            config,
            behaviour,
            services,
            holdings: occupancy.holdings,
            service_pool: occupancy.service_pool,
            pool_services: occupancy.pool_services,
            holding_warnings: occupancy.holding_warnings,
            holder_conflicts: Vec::new(),
        };
        cluster.holder_conflicts = cluster.holder_conflict_warnings();
        (cluster, early)
    }

    /// The checks MetalLB repeats on an allocated service before keeping its addresses (§6.1).
    /// Go: controller/service.go `convergeBalancer` (the family check per release, C.3).
    fn validate_holding(
        config: &Config,
        behaviour: &Behaviour,
        s: &ServiceFacts,
    ) -> Result<usize, String> {
        if let Err(gate) = &s.gate {
            return Err(gate.message.clone());
        }
        if ServiceFamily::of(&s.ingress).is_none() {
            return Err("its ingress addresses do not form one IP family".to_string());
        }
        let held = ServiceFamily::of(&s.ingress);
        // From v0.14.9 a dual PreferDualStack service may hold one address (and gets the
        // other family added); before, that family differs from its cluster IPs'.
        let prefer_single = s.policy == Policy::PreferDualStack
            && s.ingress.len() == 1
            && behaviour.held_single_address == HeldSingleAddress::KeptAndCompleted;
        if held != Some(s.family)
            && !(s.family == ServiceFamily::Dual && prefer_single)
            && !s.family_inferred
        {
            return Err("its family differs from the service's cluster IPs".to_string());
        }
        let pool = config.pool_for(&s.ingress).ok_or("no pool contains it")?;
        let p = &config.pools[pool];
        // Unknown admission (namespace labels not read) is no reason to say MetalLB takes
        // the address away.
        if let Err(refusal) = p.admits(s.namespace, s.labels).or_else(|r| {
            if r == Refusal::NamespaceUnknown {
                Ok(())
            } else {
                Err(r)
            }
        }) {
            return Err(format!(
                "pool {} no longer admits the service: {}",
                p.name,
                refusal_reason(p, refusal, s).message
            ));
        }
        Ok(pool)
    }

    /// Exact counts of a pool: (IPv4, IPv6), `used` = distinct held addresses (§3.1, §3.3).
    pub fn counts(&self, pool: usize) -> (FamilyCounts, FamilyCounts) {
        let p = &self.config.pools[pool];
        let used_v4 = self.holdings[pool].distinct_v4 as u128;
        let used_v6 = self.holdings[pool].distinct_v6 as u128;
        (
            FamilyCounts::new(p.space.total(Family::V4), used_v4),
            FamilyCounts::new(p.space.total(Family::V6), used_v6),
        )
    }

    /// Records that MetalLB gave `ips` of `pool` to `service`, as its allocator does once a
    /// service is converged: later decisions see them held. `plan` replays a sequence of
    /// re-allocations with it.
    pub fn assign(&mut self, service: usize, pool: usize, ips: &[Ip]) {
        let first_before = self.unheld_first(pool);
        let held = &mut self.holdings[pool];
        for &ip in ips {
            let fresh = held.holders(ip).next().is_none();
            let at = held.pairs.partition_point(|&pair| pair < (ip, service));
            held.pairs.insert(at, (ip, service));
            if fresh {
                match ip.family {
                    Family::V4 => held.distinct_v4 += 1,
                    Family::V6 => held.distinct_v6 += 1,
                }
            }
            let all_keyed = held
                .holders(ip)
                .all(|h| !self.services[h].sharing_key.is_empty());
            let keyed = &mut self.keyed[pool];
            match (keyed.binary_search(&ip), all_keyed) {
                (Err(at), true) => keyed.insert(at, ip),
                (Ok(at), false) => {
                    keyed.remove(at);
                }
                _ => {}
            }
        }
        self.service_pool[service] = Some(pool);
        let holders = &mut self.pool_services[pool];
        let at = holders.partition_point(|&h| h < service);
        holders.insert(at, service);
        // The pool's first unheld addresses change only when one of them is taken.
        let takes_first = ips
            .iter()
            .any(|ip| first_before.get(ip.family) == Some(*ip));
        if takes_first {
            self.unheld_first[pool].take();
        }
        // A pick reads of each pool only which families it has a free address of (`search`
        // and `select` ask no more of `Candidates`): while this pool still has the same, the
        // picks of services without a sharing key stand. Those with one read which held
        // addresses they may share, which this assignment may have changed. A pinned pick
        // reads only the pools of its walk.
        let same_free = !takes_first || self.unheld_first(pool).free() == first_before.free();
        match self.config.pools[pool].is_pinned() {
            true => {
                let walks = |(scope, _): &(PinnedScope, PlainKey)| {
                    scope.0.order(self).pools().any(|p| p == pool)
                };
                let mut picks = lock(&self.pinned_picks);
                picks.sharing.retain(|key, _| !walks(key));
                if !same_free {
                    picks.alone.retain(|key, _| !walks(key));
                }
            }
            false => {
                let mut picks = lock(&self.plain_picks);
                picks.sharing.clear();
                if !same_free {
                    picks.alone.clear();
                }
            }
        }
    }

    /// Indices of the services holding addresses of a pool.
    pub fn holders_of(&self, pool: usize) -> impl Iterator<Item = usize> + '_ {
        self.pool_services[pool].iter().copied()
    }

    /// Why service `s` may not use an address held by `others` (§5): sharing first, then
    /// ports; `None` when it may. Builds no text: allocation runs it on every held address.
    fn sharing_conflict<I>(&self, s: &ServiceFacts, others: I) -> Option<SharingConflict>
    where
        I: Iterator<Item = usize> + Clone,
    {
        others.clone().next()?;
        if s.sharing_key.is_empty() {
            return Some(SharingConflict::NoKey);
        }
        for h in others.clone() {
            let holder = &self.services[h];
            if holder.sharing_key.is_empty() {
                return Some(SharingConflict::HolderNoKey(h));
            }
            if holder.sharing_key != s.sharing_key {
                return Some(SharingConflict::KeyMismatch(h));
            }
            if holder.backend_key() != s.backend_key() {
                return Some(SharingConflict::BackendMismatch(h));
            }
        }
        for h in others {
            if let Some(port) = self.services[h]
                .ports()
                .iter()
                .position(|p| s.ports().contains(p))
            {
                return Some(SharingConflict::Port(h, port));
            }
        }
        None
    }

    /// Whether service `s` may use `ip` held by `others` (§5): sharing first, then ports.
    fn sharing_check(&self, s: &ServiceFacts, others: &[usize], ip: Ip) -> Result<(), Reason> {
        let Some(conflict) = self.sharing_conflict(s, others.iter().copied()) else {
            return Ok(());
        };
        Err(match conflict {
            SharingConflict::NoKey => {
                let names = others
                    .iter()
                    .map(|&h| self.services[h].key.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                Reason::new(
                    Code::IpInUse,
                    format!("{ip} is held by {names}, and the service has no allow-shared-ip key"),
                )
            }
            SharingConflict::HolderNoKey(h) => Reason::new(
                Code::IpInUse,
                format!(
                    "{ip} is held by {}, which does not allow sharing",
                    self.services[h].key
                ),
            ),
            SharingConflict::KeyMismatch(h) => {
                let holder = &self.services[h];
                Reason::new(
                    Code::SharingKeyMismatch,
                    format!(
                        "{ip} is shared under key {:?} by {}, the service's key is {:?}",
                        holder.sharing_key, holder.key, s.sharing_key
                    ),
                )
            }
            SharingConflict::BackendMismatch(h) => {
                let holder = &self.services[h];
                Reason::new(
                    Code::SharingBackendMismatch,
                    format!(
                        "{ip} is shared by {} with backend {:?}, the service's is {:?} (externalTrafficPolicy Local needs identical selectors, and Local cannot share with Cluster)",
                        holder.key,
                        describe_backend(holder.backend_key()),
                        describe_backend(s.backend_key())
                    ),
                )
            }
            SharingConflict::Port(h, port) => {
                let (proto, port) = &self.services[h].ports()[port];
                Reason::new(
                    Code::PortConflict,
                    format!("port {proto}/{port} is already in use on \"{ip}\""),
                )
            }
        })
    }

    /// The holders of `ip` in `pool` other than `service` (its own addresses are released).
    fn others(&self, pool: usize, ip: Ip, service: usize) -> Vec<usize> {
        self.holdings[pool]
            .holders(ip)
            .filter(|&x| x != service)
            .collect()
    }

    /// The first usable address per family of `pool` for `service` (§4.9).
    fn candidates(&self, pool: usize, service: usize) -> Candidates {
        let s = &self.services[service];
        if self.service_pool[service] != Some(pool) {
            // Without a key the service shares nothing: every held address is out (§5 rule
            // 2); with one, only addresses held under keys alone can be shared.
            return match s.sharing_key.is_empty() {
                true => self.unheld_first(pool),
                false => self.first_shareable_or_unheld(pool, s),
            };
        }
        self.scanned_candidates(pool, service)
    }

    /// The first usable address per family of `pool` for `service`, by a scan of every held
    /// address in MetalLB's order, the service's own released (§4.9, §5).
    fn scanned_candidates(&self, pool: usize, service: usize) -> Candidates {
        let s = &self.services[service];
        let space = &self.config.pools[pool].space;
        let find = |family| {
            space.first_usable(family, |block| {
                self.holdings[pool]
                    .between(block.first, block.last())
                    .filter_map(move |(ip, run)| {
                        let others = run.iter().map(|&(_, h)| h).filter(move |&h| h != service);
                        others
                            .clone()
                            .next()
                            .is_some()
                            .then(|| (ip, self.sharing_conflict(s, others).is_none()))
                    })
            })
        };
        Candidates {
            v4: find(Family::V4),
            v6: find(Family::V6),
        }
    }

    /// The first usable address per family of `pool` for a service with a sharing key that
    /// holds nothing there: the earlier, in MetalLB's scan, of the first unheld address and
    /// the first address it may share.
    fn first_shareable_or_unheld(&self, pool: usize, s: &ServiceFacts) -> Candidates {
        let space = &self.config.pools[pool].space;
        let mut best = self.unheld_first(pool);
        for &ip in &self.keyed[pool] {
            let shareable = space.owns(ip)
                && self
                    .sharing_conflict(s, self.holdings[pool].holders(ip))
                    .is_none();
            if !shareable {
                continue;
            }
            let slot = match ip.family {
                Family::V4 => &mut best.v4,
                Family::V6 => &mut best.v6,
            };
            if slot.is_none_or(|current| space.scan_position(ip) < space.scan_position(current)) {
                *slot = Some(ip);
            }
        }
        best
    }

    /// Why a pool with addresses of the right family has none left for the service.
    fn exhausted_reason(&self, pool: usize, service: usize, need: Need) -> Reason {
        let (v4, v6) = self.counts(pool);
        let total = match need {
            Need::One(Family::V4) => v4.total,
            Need::One(Family::V6) => v6.total,
            _ => v4.total.saturating_add(v6.total),
        };
        let mut message = match total {
            1 => format!("its only {} address is in use", need.describe()),
            _ => format!("all {total} {} addresses are in use", need.describe()),
        };
        let s = &self.services[service];
        if !s.sharing_key.is_empty() {
            message.push_str(&format!(
                " and none can be shared under key {:?}",
                s.sharing_key
            ));
        }
        if need == Need::Both {
            let c = self.candidates(pool, service);
            if c.any() {
                let missing = if c.v4.is_none() {
                    Family::V4
                } else {
                    Family::V6
                };
                message = format!(
                    "no {missing} address is left (RequireDualStack needs both families from one pool)"
                );
            }
        }
        Reason::new(Code::PoolExhausted, message)
    }

    /// What MetalLB would do with `service` now, its own addresses released first, with
    /// every pool's verdict.
    pub fn decide(&self, service: usize) -> Decision {
        self.decide_with(service, Detail::Verdicts)
    }

    /// What MetalLB would do with `service` now, as [`Cluster::decide`] says it, without the
    /// verdicts of the pools it walks past and without warnings: what `check` and `plan`
    /// need for many services.
    /// The automatic walk looks only at the pools that can serve the service (indexed once)
    /// and shares the plain pools' pick among services that hold nothing there.
    pub fn outcome(&self, service: usize) -> Decision {
        self.decide_with(service, Detail::Outcome)
    }

    /// [`Cluster::decide`] or [`Cluster::outcome`], as `detail` says.
    pub fn decide_with(&self, service: usize, detail: Detail) -> Decision {
        let s = &self.services[service];
        let pools = &self.config.pools;
        let mut decision = Decision::new(detail, pools.len());
        let warns = decision.warns();
        if warns {
            self.read_warnings(s, &mut decision);
        }
        if !self.config.is_valid() && s.is_managed() {
            decision.reasons.push(Reason::new(
                Code::ConfigInvalid,
                format!(
                    "MetalLB rejects the whole configuration ({}), and keeps serving the last valid one: this answer uses the current objects and may differ",
                    self.config.errors[0]
                ),
            ));
        }
        let stop = |decision: &mut Decision, reason: Reason| {
            for v in decision.verdicts.iter_mut() {
                v.reasons.push(reason.clone());
            }
            decision.reasons.push(reason);
        };
        if let Err(gate) = &s.gate
            && matches!(
                gate.code,
                Code::OtherLoadBalancerClass | Code::NotLoadBalancer
            )
        {
            stop(&mut decision, Reason::clone(gate));
            return decision;
        }
        let no_pools = |decision: &mut Decision| {
            decision.metallb_error = self.behaviour.no_pools_text().map(str::to_string);
            decision.reasons.push(Reason::new(
                Code::NoPools,
                format!(
                    "MetalLB has no IPAddressPool in namespace {}",
                    self.config.metallb_namespace
                ),
            ));
        };
        // From v0.14.0 no pools stops every service before its cluster IPs are read, without
        // an event; v0.13.x only finds out in the automatic search (below).
        if pools.is_empty() && self.behaviour.no_pools_checked_first() {
            no_pools(&mut decision);
            return decision;
        }
        if let Err(gate) = &s.gate {
            // Cluster IPs that give no family fail `allocateIPs` (AllocationFailed).
            if gate.code == Code::NoClusterIp {
                decision.metallb_error = s.cluster_ips_error().map(str::to_string);
            }
            stop(&mut decision, Reason::clone(gate));
            return decision;
        }
        let requested = match &s.requested_ips {
            Ok(r) => r.clone(),
            Err(reason) => {
                decision.metallb_error = s.request_error().map(str::to_string);
                stop(&mut decision, Reason::clone(reason));
                return decision;
            }
        };
        if pools.is_empty() && requested.is_none() && s.requested_pool.is_none() {
            no_pools(&mut decision);
            return decision;
        }
        match (requested, &s.requested_pool) {
            (Some(ips), _) => self.decide_requested_ips(service, &ips, &mut decision),
            (None, Some(pool)) => self.decide_requested_pool(service, pool, &mut decision),
            (None, None) => self.decide_automatic(service, &mut decision),
        }
        if warns {
            self.add_outcome_warnings(service, &mut decision);
            if let Some(warning) = self.unknown_admission_warning(&decision) {
                decision.warnings.push(warning);
            }
        }
        // A pool that does not fit always says why: where MetalLB stops at a service-level
        // reason, that reason is the pool's too.
        for verdict in decision
            .verdicts
            .iter_mut()
            .filter(|v| !v.fits && v.reasons.is_empty())
        {
            verdict.reasons.clone_from(&decision.reasons);
        }
        decision
    }

    /// What `why` warns about how the service was read: a family inferred, annotations
    /// this release ignores.
    fn read_warnings(&self, s: &ServiceFacts, d: &mut Decision) {
        if s.family_inferred {
            d.warnings.push(Reason::new(
                Code::IpFamilyInferred,
                if s.ip_families_given {
                    format!(
                        "the manifest has no cluster IPs; the family ({}) was inferred from spec.ipFamilies",
                        s.family.name()
                    )
                } else {
                    "the manifest has no cluster IPs and no spec.ipFamilies: IPv4 single-stack is assumed".to_string()
                },
            ));
        }
        for key in s.ignored_annotations() {
            let read = key.replace("metallb.io/", "metallb.universe.tf/");
            d.warnings.push(Reason::new(
                Code::AnnotationIgnored,
                format!(
                    "{key} is set, but MetalLB {} reads only {read}: the annotation is ignored (metallb.io/ keys are read from v0.14.9)",
                    self.behaviour.release
                ),
            ));
        }
    }

    /// Path A (§4.5).
    fn decide_requested_ips(&self, service: usize, ips: &[Ip], d: &mut Decision) {
        d.mode = Mode::RequestedIps;
        let s = &self.services[service];
        let shown = quoted_list(ips);
        let owner = self.config.pool_for(ips);
        for (i, v) in d.every_verdict().iter_mut().enumerate() {
            if Some(i) == owner {
                continue;
            }
            let space = &self.config.pools[i].space;
            let inside: Vec<Ip> = ips.iter().copied().filter(|ip| space.owns(*ip)).collect();
            let message = if inside.is_empty() {
                format!("the service requests {}, outside this pool", ip_list(ips))
            } else {
                format!(
                    "the pool holds {} of the requested {}, but all of them must come from one pool",
                    ip_list(&inside),
                    ip_list(ips)
                )
            };
            v.reasons.push(Reason::new(Code::NotRequested, message));
        }
        if ServiceFamily::of(ips) != Some(s.family) {
            let detail = match s.family {
                ServiceFamily::Dual => {
                    "a dual-stack service must request one IPv4 and one IPv6 address".to_string()
                }
                _ => format!("the service is {}", s.family.name()),
            };
            d.metallb_error = Some(format!(
                "requested loadBalancer IP(s) {shown} does not match the ipFamily of the service"
            ));
            let reason = Reason::new(
                Code::RequestedIpFamilyMismatch,
                format!("requested {}: {detail}", ip_list(ips)),
            );
            if let Some(owner) = owner {
                d.requested_verdict(owner).reasons.push(reason.clone());
            }
            d.reasons.push(reason);
            return;
        }
        let Some(owner) = owner else {
            d.metallb_error = Some(format!("{shown} is not allowed in config"));
            d.reasons.push(self.not_in_any_pool(ips));
            return;
        };
        let pool = &self.config.pools[owner];
        let mut refusals = Vec::new();
        if let Err(refusal) = pool.admits(s.namespace, s.labels) {
            refusals.push(refusal_reason(pool, refusal, s));
            d.refused(owner, refusal);
            d.metallb_error = Some(format!(
                "pool {} not compatible for ip assignment",
                pool.name
            ));
        }
        for ip in ips {
            if let Err(reason) = self.sharing_check(s, &self.others(owner, *ip, service), *ip) {
                if d.metallb_error.is_none() {
                    d.metallb_error = Some(match reason.code {
                        Code::PortConflict => reason.message.clone(),
                        _ => format!(
                            "can't change sharing key for \"{}\", address also in use by {}",
                            s.key,
                            self.others(owner, *ip, service)
                                .iter()
                                .map(|&h| self.services[h].key.as_str())
                                .collect::<Vec<_>>()
                                .join(",")
                        ),
                    });
                }
                refusals.push(reason);
            }
        }
        if !refusals.is_empty() {
            d.requested_verdict(owner).reasons = refusals.clone();
            d.reasons.extend(refusals);
            return;
        }
        // The check that requested IPs lie in the requested pool is absent from v0.13.9:
        // the IPs are granted and the pool annotation ignored (C.1). Go:
        // controller/service.go `allocateIPs`.
        if let Some(wanted) = &s.requested_pool
            && *wanted != pool.name
            && self.behaviour.requested_ip_pool_check
        {
            let mut message = format!(
                "the requested IPs lie in pool {}, but metallb.io/address-pool asks for {wanted}",
                pool.name
            );
            if self.config.pool(wanted).is_none() {
                message.push_str(&format!(" (no pool is named {wanted})"));
            }
            d.metallb_error = Some(format!(
                "requested loadBalancer IP(s) {shown} is not compatible with requested address pool {wanted}"
            ));
            let reason = Reason::new(Code::RequestedIpPoolMismatch, message);
            d.requested_verdict(owner).reasons.push(reason.clone());
            d.reasons.push(reason);
            return;
        }
        let verdict = d.requested_verdict(owner);
        verdict.fits = true;
        verdict.ips = ips.to_vec();
        d.fits = true;
        d.pools = std::sync::Arc::from([owner]);
        d.ips = ips.to_vec();
    }

    fn not_in_any_pool(&self, ips: &[Ip]) -> Reason {
        let owners: Vec<Option<usize>> =
            ips.iter().map(|ip| self.config.pool_for(&[*ip])).collect();
        if let [Some(a), Some(b)] = owners[..]
            && a != b
        {
            return Reason::new(
                Code::RequestedIpsSpanPools,
                format!(
                    "{} lies in pool {} and {} in pool {}; both addresses must come from one pool",
                    ips[0], self.config.pools[a].name, ips[1], self.config.pools[b].name
                ),
            );
        }
        let mut details = Vec::new();
        for ip in ips {
            if self.config.pool_for(&[*ip]).is_some() {
                continue;
            }
            match self.config.pool_containing(*ip) {
                Some(p) => details.push(format!(
                    "{ip} is in pool {} but excluded by avoidBuggyIPs (addresses ending in .0 or .255)",
                    self.config.pools[p].name
                )),
                None => details.push(format!("{ip} lies in no pool")),
            }
        }
        Reason::new(Code::RequestedIpNotInAnyPool, details.join("; "))
    }

    /// Path B (§4.6).
    fn decide_requested_pool(&self, service: usize, wanted: &str, d: &mut Decision) {
        d.mode = Mode::RequestedPool;
        let s = &self.services[service];
        for (i, v) in d.every_verdict().iter_mut().enumerate() {
            if self.config.pools[i].name != wanted {
                v.reasons.push(Reason::new(
                    Code::NotRequested,
                    format!("the service asks for pool {wanted}"),
                ));
            }
        }
        let Some((index, pool)) = self.config.pool(wanted) else {
            let mut message =
                format!("metallb.io/address-pool names pool {wanted:?}, which does not exist");
            if let Some(close) = self.closest_pool_name(wanted) {
                message.push_str(&format!("; did you mean {close:?}?"));
            }
            d.metallb_error = Some(format!("unknown pool \"{wanted}\""));
            d.reasons.push(Reason::new(Code::PoolNotFound, message));
            return;
        };
        let need = Need::of(s, &self.behaviour);
        let candidates = self.candidates(index, service);
        let mut refusals = Vec::new();
        match self.select(s, candidates) {
            Some(ips) => d.requested_verdict(index).ips = ips,
            None => {
                d.metallb_error = self.behaviour.requested_pool_failure(
                    wanted,
                    s.family,
                    s.policy,
                    candidates.free(),
                );
                refusals.push(self.unavailable_reason(index, service, need));
            }
        }
        if let Err(refusal) = pool.admits(s.namespace, s.labels) {
            if d.metallb_error.is_none() {
                d.metallb_error = Some(format!("pool {wanted} not compatible for ip assignment"));
            }
            refusals.push(refusal_reason(pool, refusal, s));
            d.refused(index, refusal);
        }
        let verdict = d.requested_verdict(index);
        if refusals.is_empty() {
            verdict.fits = true;
            let ips = verdict.ips.clone();
            d.fits = true;
            d.pools = std::sync::Arc::from([index]);
            d.ips = ips;
        } else {
            verdict.reasons = refusals.clone();
            d.reasons.extend(refusals);
        }
    }

    /// `ip-family-unavailable` when the pool has no address of a needed family at all, else
    /// `pool-exhausted`.
    fn unavailable_reason(&self, pool: usize, service: usize, need: Need) -> Reason {
        let p = &self.config.pools[pool];
        if !need.families_present(p) {
            let has = |f| {
                if p.space.has_family(f) {
                    Some(f.to_string())
                } else {
                    None
                }
            };
            let present: Vec<String> = [Family::V4, Family::V6]
                .into_iter()
                .filter_map(has)
                .collect();
            let present = if present.is_empty() {
                "no usable address".to_string()
            } else {
                format!("only {}", present.join(" and "))
            };
            return Reason::new(
                Code::IpFamilyUnavailable,
                format!(
                    "the service needs {}, the pool has {present}",
                    need.describe()
                ),
            );
        }
        self.exhausted_reason(pool, service, need)
    }

    fn closest_pool_name(&self, wanted: &str) -> Option<&str> {
        crate::suggest::closest(wanted, self.config.pools.iter().map(|p| p.name.as_str()))
    }

    /// The addresses `s` gets from a pool with candidates `c`, by the release's rule (Go:
    /// ≤ v0.14.8 allocator.go `AllocateFromPool`, ≥ v0.14.9 allocation.go
    /// `selectIPsForFamilyAndPolicy`), or `None` when the pool cannot give them.
    fn select(&self, s: &ServiceFacts, c: Candidates) -> Option<Vec<Ip>> {
        let families = self
            .behaviour
            .requested_pool_families(s.family, s.policy, c.free())?;
        families.into_iter().map(|f| c.get(f)).collect()
    }

    /// Whether [`Cluster::select`] gives the service addresses from `c`, without making
    /// their list: a search asks it of every pool it looks at.
    fn fits(&self, s: &ServiceFacts, c: Candidates) -> bool {
        self.behaviour
            .requested_pool_families(s.family, s.policy, c.free())
            .is_some_and(|families| families.iter().all(|&f| c.get(f).is_some()))
    }

    /// Path C (§4.7): the pinned pools in MetalLB's order, then the plain pools in random
    /// order. Go: allocator.go `Allocate`, `pinnedPoolsForService`, `allocateFromPools`.
    fn decide_automatic(&self, service: usize, d: &mut Decision) {
        d.mode = Mode::Automatic;
        let s = &self.services[service];
        let need = Need::of(s, &self.behaviour);
        let detailed = !d.every_verdict().is_empty();
        // The pools' picks are the same for every service that holds nothing in them and
        // shares no address alike: worked out once (`outcome` only; `decide` walks them all).
        let shared = !detailed && self.plain_pick_is_shared(service);
        let looked_at: Vec<usize> = match (detailed, shared) {
            (true, _) => (0..self.config.pools.len()).collect(),
            (false, false) => self.index.pools_for(s.namespace, true),
            // The pinned pools come from `pinned_walk`, the plain ones from the shared pick.
            (false, true) => Vec::new(),
        };
        // Every pool automatic allocation walks, with its candidates, by pool index: a pool
        // that does not fit can still be the one MetalLB stops at (v0.14.9's search looks
        // for one family). Not needed where the picks are shared.
        let mut walked: Vec<(usize, Candidates)> = Vec::new();
        for i in looked_at {
            let pool = &self.config.pools[i];
            if let Err(passed) = Self::walks(pool, s.namespace, s.labels) {
                if let PassedBy::Refusal(refusal) = passed {
                    d.refused(i, refusal);
                }
                if let Some(verdict) = d.every_verdict().get_mut(i) {
                    verdict.reasons.push(self.passed_reason(pool, passed, s));
                }
                continue;
            }
            let c = self.candidates(i, service);
            walked.push((i, c));
            if let Some(verdict) = d.every_verdict().get_mut(i) {
                if !need.families_present(pool) {
                    verdict
                        .reasons
                        .push(self.unavailable_reason(i, service, need));
                    continue;
                }
                match self.select(s, c).filter(|_| need.offered_by(c)) {
                    Some(ips) => {
                        verdict.fits = true;
                        verdict.ips = ips;
                    }
                    None => verdict
                        .reasons
                        .push(self.exhausted_reason(i, service, need)),
                }
            }
        }
        let candidates = |i: usize| match walked.binary_search_by_key(&i, |(p, _)| *p) {
            Ok(at) => walked[at].1,
            // A pool of a shared pick is not in `walked`.
            Err(_) => self.candidates(i, service),
        };
        let (pinned, pinned_pick) = if shared {
            // Which pinned pools walk depends only on the namespace and labels: known once.
            let walk = self.service_walk(service);
            for &i in &walk.unknown {
                d.refused(i, Refusal::NamespaceUnknown);
            }
            // A holder's own address is free to it alone: its pick is its own.
            let pick = match self.service_pool[service] {
                None => self.shared_pinned_pick(service, &walk),
                Some(_) => std::sync::Arc::new(self.search(s, walk.order(self), &candidates)),
            };
            (walk.order(self).clone(), pick)
        } else {
            let walked: Vec<(usize, bool)> = walked
                .iter()
                .map(|&(i, _)| (i, self.config.pools[i].in_namespace_index(s.namespace)))
                .collect();
            let order = self.pinned_order(&walked);
            let pick = std::sync::Arc::new(self.search(s, &order, &candidates));
            (order, pick)
        };
        if !pinned_pick.fixed && d.warns() {
            d.warnings.push(self.tie_warning(&pinned, &pinned_pick));
        }
        let mut plain_pick = None;
        if pinned_pick.may_fail {
            // Plain pools: every autoAssign pool without serviceAllocation, in Go map order.
            let pick = if shared {
                self.shared_plain_pick(service)
            } else {
                let plain = Order::Random(
                    walked
                        .iter()
                        .map(|(i, _)| *i)
                        .filter(|&i| !self.config.pools[i].is_pinned())
                        .collect(),
                );
                std::sync::Arc::new(self.search(s, &plain, &candidates))
            };
            plain_pick = Some(pick);
        }
        // The pinned group's winners, then the plain group's: one of them shared as it is
        // where the other has none.
        let winners: std::sync::Arc<[usize]> = match &plain_pick {
            None => pinned_pick.pools.clone(),
            Some(plain) if pinned_pick.pools.is_empty() => plain.pools.clone(),
            Some(plain) if plain.pools.is_empty() => pinned_pick.pools.clone(),
            Some(plain) => pinned_pick
                .pools
                .iter()
                .chain(plain.pools.iter())
                .copied()
                .collect(),
        };
        // The plain pools are tried only when the pinned group can fail.
        let may_fail = pinned_pick.may_fail && plain_pick.as_ref().is_none_or(|p| p.may_fail);
        if winners.is_empty() {
            d.metallb_error = Some(self.behaviour.automatic_failure_text().to_string());
            d.reasons.push(Reason::new(
                Code::NoPoolFits,
                "no pool can serve the service: MetalLB reports only \"no available IPs\"; the reason of each pool is below",
            ));
            return;
        }
        if may_fail && d.warns() {
            d.warnings.push(Reason::new(
                Code::NoPoolFits,
                format!(
                    "MetalLB {} may first pick a pool that cannot give the service all it needs, and then gives it no address (\"no available IPs\"), depending on the order it walks the pools",
                    self.behaviour.release
                ),
            ));
        }
        for &w in winners.iter() {
            // A pick of v0.14.9's search is a verdict's fit even where the pool would not
            // serve the service alone.
            if let Some(verdict) = d.every_verdict().get_mut(w)
                && !verdict.fits
            {
                verdict.fits = true;
                verdict.reasons.clear();
                verdict.ips = self.select(s, candidates(w)).unwrap_or_default();
            }
        }
        if detailed {
            self.annotate_runners_up(&winners, d);
        }
        d.fits = true;
        if let [only] = winners[..] {
            d.ips = self.select(s, candidates(only)).unwrap_or_default();
        }
        d.pools = winners;
    }

    /// Whether the automatic walk looks at a pool's addresses for a service (§4.7, §4.8).
    fn walks(pool: &Pool, namespace: &str, labels: &StringMap) -> Result<(), PassedBy> {
        if !pool.auto_assign {
            return Err(PassedBy::AutoAssignOff);
        }
        pool.admits(namespace, labels).map_err(PassedBy::Refusal)?;
        if pool.is_pinned() && !pool.is_indexed_for(namespace) {
            return Err(PassedBy::NeverPinned);
        }
        Ok(())
    }

    /// The pools automatic allocation walks for a new service of `namespace` with `labels`,
    /// ascending: autoAssign, admitted, and a pinned pool only from MetalLB's indices for
    /// the namespace (§4.7, §4.8).
    pub fn serving_pools(&self, namespace: &str, labels: &StringMap) -> Vec<usize> {
        self.index
            .with_plain(self.serving_pinned_pools(namespace, labels))
    }

    /// The pinned pools of [`Cluster::serving_pools`], ascending.
    pub fn serving_pinned_pools(&self, namespace: &str, labels: &StringMap) -> Vec<usize> {
        self.index
            .pools_for(namespace, false)
            .into_iter()
            .filter(|&i| Self::walks(&self.config.pools[i], namespace, labels).is_ok())
            .collect()
    }

    /// [`Cluster::serving_pinned_pools`] for a new automatic service of `service`'s
    /// namespace and labels, from what deciding for services alike already worked out.
    /// Services alike share one list: equal lists are the same allocation.
    pub fn serving_pinned_pools_like(&self, service: usize) -> std::sync::Arc<[usize]> {
        self.service_walk(service).walked.clone()
    }

    /// What a new automatic service's namespace and labels mean to the walk over the pinned
    /// pools (the pools it walks, those whose admission is unknown): services of other
    /// namespaces or labels with an equal scope are walked alike.
    pub fn pinned_scope(&self, service: usize) -> PinnedScope {
        PinnedScope(self.service_walk(service))
    }

    /// [`Cluster::pinned_walk`] for `service`'s namespace and labels, kept per service.
    fn service_walk(&self, service: usize) -> std::sync::Arc<PinnedWalk> {
        self.walk_of_service[service]
            .get_or_init(|| {
                let s = &self.services[service];
                self.pinned_walk(s.namespace, s.labels)
            })
            .clone()
    }

    /// The plain pools of [`Cluster::serving_pools`] (autoAssign, no serviceAllocation):
    /// they serve every service.
    pub fn plain_pools(&self) -> &[usize] {
        &self.index.plain
    }

    /// Why the walk passes a pool by, in words.
    fn passed_reason(&self, pool: &Pool, passed: PassedBy, s: &ServiceFacts) -> Reason {
        match passed {
            PassedBy::AutoAssignOff => Reason::new(
                Code::AutoAssignDisabled,
                "autoAssign is false: the pool serves only services that request it or one of its addresses",
            ),
            PassedBy::Refusal(refusal) => refusal_reason(pool, refusal, s),
            PassedBy::NeverPinned => self.never_pinned_reason(pool),
        }
    }

    /// The pinned pools automatic allocation walks for services of `namespace` with `labels`
    /// (of those, only the ones some selector reads), and those whose admission of them is
    /// unknown: a namespace half worked out once per namespace, a label half (the pools
    /// whose service selectors admit the labels) once per read labels, and the walk kept once
    /// per pair of halves.
    fn pinned_walk(&self, namespace: &'a str, labels: &'a StringMap) -> std::sync::Arc<PinnedWalk> {
        let by_namespace = self.namespace_walk(namespace);
        let selected = self.selected_by(labels);
        // Kept halves are one value each: their addresses name them.
        let halves = (
            std::sync::Arc::as_ptr(&by_namespace) as usize,
            std::sync::Arc::as_ptr(&selected) as usize,
        );
        kept(
            &self.walks_by_halves,
            |m| m,
            halves,
            |_| self.walk_of(&by_namespace, &selected),
        )
    }

    /// The walk of `by_namespace` (a namespace half) for services whose labels the pools
    /// with the bits of `selected` admit, kept once per content.
    fn walk_of(&self, by_namespace: &NamespaceWalk, selected: &Bits) -> std::sync::Arc<PinnedWalk> {
        // What the walk is made of, as one key: each pool walked with whether it is in
        // the namespace index (which decides the order), then those whose admission is
        // unknown. Most namespaces and labels give a walk already known.
        let mut content: Vec<usize> = by_namespace
            .walked
            .iter()
            .filter(|&&(i, _)| selected.get(i))
            .map(|&(i, in_namespace_index)| i << 1 | usize::from(in_namespace_index))
            .collect();
        content.push(usize::MAX);
        content.extend(&by_namespace.unknown);
        let mut distinct = lock(&self.distinct_walks);
        match distinct.get(content.as_slice()) {
            Some(known) => known.clone(),
            None => {
                // The pools walked are the key's part before the separator.
                let walked = &content[..content.len() - 1 - by_namespace.unknown.len()];
                let mut in_namespace_index = Bits::new(walked.len(), false);
                for (at, _) in walked.iter().enumerate().filter(|(_, pool)| *pool & 1 == 1) {
                    in_namespace_index.set(at, true);
                }
                let walk = std::sync::Arc::new(PinnedWalk {
                    walked: self.shared_list(walked.iter().map(|pool| pool >> 1).collect()),
                    unknown: by_namespace.unknown.clone(),
                    in_namespace_index,
                    order: std::sync::OnceLock::new(),
                });
                distinct.insert(content.into(), walk.clone());
                walk
            }
        }
    }

    /// [`Cluster::walks`] for the pinned pools a service of `namespace` looks at, but for
    /// the service selectors: the pools that pass, and those whose admission is unknown
    /// (refused before any selector is read).
    fn namespace_walk(&self, namespace: &'a str) -> std::sync::Arc<NamespaceWalk> {
        kept(
            &self.namespace_walks,
            |m| m,
            namespace,
            |_| self.namespace_walk_of(namespace),
        )
    }

    /// [`Cluster::namespace_walk`], worked out, kept once per content.
    fn namespace_walk_of(&self, namespace: &str) -> std::sync::Arc<NamespaceWalk> {
        // Most of a namespace's walk is the pools every namespace looks at.
        let mut walked = Vec::with_capacity(self.index.every_namespace.len());
        let mut unknown = Vec::new();
        for (i, listed) in self.index.pinned_for(namespace) {
            // A pool listed under the namespace allows it: it admits the namespace (unknown
            // selectors allow only the namespaces named) and is in MetalLB's namespace index
            // for it. The look-ups this saves are in a set of up to every namespace's name.
            if listed {
                walked.push((i, true));
                continue;
            }
            let pool = &self.config.pools[i];
            match pool.admits_namespace(namespace) {
                Err(Refusal::NamespaceUnknown) => unknown.push(i),
                Ok(()) if pool.is_indexed_for(namespace) => {
                    walked.push((i, pool.in_namespace_index(namespace)))
                }
                _ => {}
            }
        }
        let walk = NamespaceWalk { walked, unknown };
        let mut distinct = lock(&self.distinct_namespace_walks);
        if let Some(known) = distinct.get(&walk) {
            return known.clone();
        }
        let walk = std::sync::Arc::new(walk);
        distinct.insert(walk.clone());
        walk
    }

    /// The one shared copy of `pools`.
    fn shared_list(&self, pools: Vec<usize>) -> std::sync::Arc<[usize]> {
        let mut lists = lock(&self.walked_lists);
        if let Some(known) = lists.get(pools.as_slice()) {
            return known.clone();
        }
        let list: std::sync::Arc<[usize]> = pools.into();
        lists.insert(list.clone());
        list
    }

    /// One bit per pool: whether its service selectors admit `labels`, kept per labels under
    /// the keys selectors read (which decide it).
    fn selected_by(&self, labels: &'a StringMap) -> std::sync::Arc<Bits> {
        kept(
            &self.selected,
            |m| m,
            self.selector_read_labels(labels),
            |_| {
                let mut bits = Bits::new(self.config.pools.len(), true);
                for &i in &self.selector_pools {
                    if !self.config.pools[i].selects_labels(labels) {
                        bits.set(i, false);
                    }
                }
                std::sync::Arc::new(bits)
            },
        )
    }

    /// The labels under the keys some selector reads (pools' or advertisements'): no other
    /// label changes which pools admit a service or whether it is announced.
    pub fn selector_read_labels<'l>(&self, labels: &'l StringMap) -> Vec<(&'l str, &'l str)> {
        let mut read = Vec::new();
        self.label_keys.read_into(labels, &mut read);
        read
    }

    /// Whether the plain pools offer the service what they offer every service with no
    /// sharing key: it holds none of their addresses (its own would be released).
    fn plain_pick_is_shared(&self, service: usize) -> bool {
        self.service_pool[service].is_none_or(|p| self.config.pools[p].is_pinned())
    }

    /// The pinned pools' pick for `service`, which holds nothing in them, over `walk`: worked
    /// out once per walk and [`PlainKey`], until an assignment may change it (see `assign`).
    fn shared_pinned_pick(
        &self,
        service: usize,
        walk: &std::sync::Arc<PinnedWalk>,
    ) -> std::sync::Arc<Pick> {
        let s = &self.services[service];
        let key = (PinnedScope(walk.clone()), PlainKey::of(s));
        let sharing = key.1.sharing.is_some();
        kept(
            &self.pinned_picks,
            |p| p.of(sharing),
            key,
            |_| {
                let candidates = |i| self.candidates(i, service);
                std::sync::Arc::new(self.search(s, walk.order(self), &candidates))
            },
        )
    }

    /// The plain pools' pick for `service`, which holds nothing in them: worked out once per
    /// [`PlainKey`], until an assignment may change it (see `assign`).
    fn shared_plain_pick(&self, service: usize) -> std::sync::Arc<Pick> {
        let s = &self.services[service];
        let key = PlainKey::of(s);
        let sharing = key.sharing.is_some();
        kept(
            &self.plain_picks,
            |p| p.of(sharing),
            key,
            |_| {
                let plain = Order::Random(self.index.plain.clone());
                let candidates = |i| self.candidates(i, service);
                std::sync::Arc::new(self.search(s, &plain, &candidates))
            },
        )
    }

    /// The answer holds only if the pools whose admission is unknown do not admit the
    /// service: said once, naming them.
    fn unknown_admission_warning(&self, d: &Decision) -> Option<Reason> {
        let mut pools = d.unknown_admission.clone();
        pools.sort_unstable();
        pools.dedup();
        let unknown: Vec<&str> = pools
            .iter()
            .map(|&p| self.config.pools[p].name.as_str())
            .collect();
        if unknown.is_empty() {
            return None;
        }
        Some(Reason::new(
            Code::NamespaceLabelsUnknown,
            format!(
                "this answer assumes that {} {} not admit the service: {} namespaceSelectors need the namespace's labels, which were not read",
                unknown.join(", "),
                if unknown.len() == 1 { "does" } else { "do" },
                if unknown.len() == 1 { "its" } else { "their" },
            ),
        ))
    }

    /// Why a pool with a serviceAllocation is never among the service's pinned pools.
    fn never_pinned_reason(&self, pool: &Pool) -> Reason {
        let message = if pool
            .allocation
            .as_ref()
            .is_some_and(|a| a.matches_everything)
        {
            format!(
                "serviceAllocation has no namespaces and no selectors: MetalLB {} never auto-assigns from this pool (explicit requests still work; from v0.15.0 it is pinned for every service)",
                self.behaviour.release
            )
        } else {
            "namespaceSelectors match no namespace; MetalLB never auto-assigns from this pool (explicit requests still work)".to_string()
        };
        Reason::new(Code::NamespaceNotAllowed, message)
    }

    /// MetalLB's list of pinned pools for the service, before its sort: the pools indexed
    /// under the service's namespace (a random order: Go map iteration when the
    /// configuration was parsed), then those with service selectors, by name. A pool in
    /// both indices is in the list twice. Go: allocator.go `pinnedPoolsForService`.
    /// `walked` are the pools walked, each with whether it is in the namespace index under
    /// the service's namespace.
    fn pinned_order(&self, walked: &[(usize, bool)]) -> Order {
        let pinned = || {
            walked
                .iter()
                .copied()
                .filter(|&(i, _)| self.config.pools[i].is_pinned())
        };
        Order::pinned(
            pinned()
                .filter(|&(_, in_namespace_index)| in_namespace_index)
                .map(|(i, _)| i)
                .collect(),
            pinned()
                .filter(|&(i, _)| self.config.pools[i].in_selector_index())
                .map(|(i, _)| i)
                .collect(),
            |i| self.config.pools[i].priority(),
        )
    }

    /// The pools of one group (pinned, or plain) MetalLB can pick for the service, over
    /// every order of the group's random part; whether the group can fail (then MetalLB
    /// tries the next group). Go: ≤ v0.14.8 allocator.go `Allocate` (`AllocateFromPool` on
    /// each pool in turn, the first success wins); ≥ v0.14.9 `allocateFromPools`
    /// (`findBestPoolForService` picks one pool, and a pool that then cannot give the
    /// service its families fails the whole group).
    fn search(
        &self,
        s: &ServiceFacts,
        order: &Order,
        candidates: &dyn Fn(usize) -> Candidates,
    ) -> Pick {
        match self.behaviour.pinned_search {
            PinnedSearch::EachInTurn => {
                let (pools, fixed) = order.possible_firsts(&|i| self.fits(s, candidates(i)));
                Pick {
                    may_fail: pools.is_empty(),
                    firsts: pools.clone(),
                    pools: pools.into(),
                    fixed,
                }
            }
            PinnedSearch::BestPoolOnce => {
                let has = |f: Family| move |c: Candidates| c.get(f).is_some();
                let both = |c: Candidates| c.v4.is_some() && c.v6.is_some();
                let stages: Vec<Box<dyn Fn(Candidates) -> bool>> = match s.family {
                    ServiceFamily::Single(f) => vec![Box::new(has(f))],
                    ServiceFamily::Dual if s.policy == Policy::PreferDualStack => vec![
                        Box::new(both),
                        Box::new(has(s.primary)),
                        Box::new(has(s.primary.other())),
                    ],
                    ServiceFamily::Dual => vec![Box::new(both)],
                };
                // The stage is the first that any pool of the group meets, whatever the
                // order: a pool with both families anywhere beats an earlier one with one.
                let Some(stage) = stages
                    .iter()
                    .find(|want| order.pools().any(|i| want(candidates(i))))
                else {
                    return Pick {
                        pools: std::sync::Arc::from([]),
                        firsts: Vec::new(),
                        fixed: true,
                        may_fail: true,
                    };
                };
                let (firsts, fixed) = order.possible_firsts(&|i| stage(candidates(i)));
                let (pools, failing): (Vec<usize>, Vec<usize>) =
                    firsts.iter().partition(|&&i| self.fits(s, candidates(i)));
                Pick {
                    may_fail: pools.is_empty() || !failing.is_empty(),
                    firsts,
                    fixed,
                    pools: pools.into(),
                }
            }
        }
    }

    /// `priority-tie`: which pinned pools can come first, and why MetalLB's pick among them
    /// is not fixed.
    fn tie_warning(&self, order: &Order, pick: &Pick) -> Reason {
        let names: Vec<&str> = pick
            .firsts
            .iter()
            .map(|&w| self.config.pools[w].name.as_str())
            .collect();
        let why = if order.pools().any(|i| self.config.pools[i].priority() < 0) {
            "a negative priority makes MetalLB's sort order undefined"
        } else if order.len() > INSERTION_SORT_MAX {
            "with more than 12 pinned pools Go's sort order among equal priorities depends on its internals"
        } else {
            "they tie at the winning priority and come from the namespace index, whose order is Go map order (random, fixed until MetalLB reloads its configuration)"
        };
        Reason::new(
            Code::PriorityTie,
            format!(
                "pinned pools {} can each be MetalLB's pick: {why}",
                names.join(", ")
            ),
        )
    }

    /// Notes on the pools that fit but are not MetalLB's pick.
    fn annotate_runners_up(&self, winners: &[usize], d: &mut Decision) {
        let names: Vec<&str> = winners
            .iter()
            .map(|&w| self.config.pools[w].name.as_str())
            .collect();
        let names = names.join(" or ");
        let winner_pinned = self.config.pools[winners[0]].is_pinned();
        let mut is_winner = vec![false; self.config.pools.len()];
        for &w in winners {
            is_winner[w] = true;
        }
        for (i, v) in d.every_verdict().iter_mut().enumerate() {
            if !v.fits || is_winner[i] {
                continue;
            }
            let pool = &self.config.pools[i];
            v.note = Some(match (winner_pinned, pool.is_pinned()) {
                (true, false) => format!(
                    "fits, but MetalLB tries pinned pools first and {names} can serve the service"
                ),
                (true, true) => format!(
                    "fits, but {names} comes first (priority order, or it offers more of the service's families)"
                ),
                _ => format!("fits, but {names} offers more of the service's families"),
            });
        }
    }

    fn add_outcome_warnings(&self, service: usize, d: &mut Decision) {
        let s = &self.services[service];
        let mut announced_pools: Vec<usize> = d.pools.to_vec();
        if let Some(current) = self.service_pool[service]
            && !announced_pools.contains(&current)
        {
            announced_pools.push(current);
        }
        for p in announced_pools {
            if !self.config.advertised_by[p].is_empty() && !self.config.announces(p, s.labels) {
                let pool = &self.config.pools[p].name;
                d.warnings.push(
                    Reason::new(
                        Code::NotAdvertised,
                        format!(
                            "the advertisements covering pool {pool} ({}) have serviceSelectors that do not match the service: MetalLB {} does not announce it",
                            self.config.advertised_by[p].join(", "),
                            self.behaviour.release
                        ),
                    )
                    .about_pool(pool),
                );
            }
            if self.config.advertised_by[p].is_empty() {
                let pool = &self.config.pools[p].name;
                d.warnings.push(
                    Reason::new(
                        Code::NotAdvertised,
                        format!(
                            "no L2Advertisement or BGPAdvertisement announces pool {pool}: its addresses are assigned but unreachable"
                        ),
                    )
                    .about_pool(pool),
                );
            }
        }
        if s.policy == Policy::PreferDualStack && s.cluster_ip_count == 1 && !s.family_inferred {
            let dual_pool = d.pools.iter().any(|&p| {
                let space = &self.config.pools[p].space;
                space.has_family(Family::V4) && space.has_family(Family::V6)
            });
            if dual_pool {
                d.warnings.push(Reason::new(
                    Code::PreferDualStackSingleClusterIp,
                    "PreferDualStack with a single cluster IP in a dual-family pool: MetalLB may add and then remove a second address on every reconcile",
                ));
            }
        }
    }
}

/// Go's `sort.Slice` sorts up to this many entries by insertion sort (more: pattern-defeating
/// quicksort).
const INSERTION_SORT_MAX: usize = 12;

/// The order in which a group of pools is walked.
#[derive(Clone, Debug)]
enum Order {
    /// MetalLB's pinned list before `sortPools`: the namespace index (random order), then the
    /// service-selector index (by name).
    Pinned {
        namespace: Vec<usize>,
        selector: Vec<usize>,
        /// The pools of both parts, each once, by priority then index: which priority wins
        /// is then found by asking about the pools of one priority after another.
        by_priority: Vec<(i64, usize)>,
    },
    /// Go map order, random on every attempt (the plain pools).
    Random(Vec<usize>),
}

/// What one group can give: the pools MetalLB can pick, whether that pick is certain, and
/// whether the group can fail.
#[derive(Clone, Debug)]
struct Pick {
    pools: std::sync::Arc<[usize]>,
    /// The pools that can come first in the walk (some may then fail, v0.14.9).
    firsts: Vec<usize>,
    /// Whether the first is always the same pool.
    fixed: bool,
    may_fail: bool,
}

impl Order {
    /// The pinned order of `namespace` then `selector`, under `priority`.
    fn pinned(
        namespace: Vec<usize>,
        selector: Vec<usize>,
        priority: impl Fn(usize) -> i64,
    ) -> Order {
        let mut by_priority: Vec<(i64, usize)> = namespace
            .iter()
            .chain(&selector)
            .map(|&i| (priority(i), i))
            .collect();
        by_priority.sort_unstable();
        by_priority.dedup();
        Order::Pinned {
            namespace,
            selector,
            by_priority,
        }
    }

    fn pools(&self) -> impl Iterator<Item = usize> + '_ {
        let (a, b): (&[usize], &[usize]) = match self {
            Order::Pinned {
                namespace,
                selector,
                ..
            } => (namespace, selector),
            Order::Random(all) => (all, &[]),
        };
        a.iter().chain(b).copied()
    }

    /// The number of entries MetalLB sorts (a pool in both indices counts twice).
    fn len(&self) -> usize {
        self.pools().count()
    }

    /// The pools meeting `wanted` that can be the first of them once the group is ordered,
    /// over every order of its random part, and whether that is always the same pool.
    ///
    /// `sortPools` (allocator.go) sorts with `sort.Slice` and a comparator that is not a
    /// strict order: `less(i, j)` is `pi < pj` when both priorities are positive, false when
    /// `pi` is 0 and `pj` positive, and true otherwise (so true both ways between two unset
    /// priorities, and for any negative one). Up to 12 entries Go sorts by insertion sort,
    /// which then keeps equal positive priorities in input order and reverses the unset
    /// ones, after all positive ones: among the pools meeting `wanted`, the first is the
    /// first of the lowest positive priority in input order, else the last of the unset
    /// ones. The input order is the random namespace part, then the selector part by name.
    /// A negative priority can move anywhere (listed as possible); above 12 entries the
    /// order among equal priorities is pdqsort's (every pool of the winning priority is
    /// listed).
    fn possible_firsts(&self, wanted: &dyn Fn(usize) -> bool) -> (Vec<usize>, bool) {
        let (namespace, selector, by_priority) = match self {
            Order::Pinned {
                namespace,
                selector,
                by_priority,
            } => (namespace, selector, by_priority),
            Order::Random(all) => {
                let found: Vec<usize> = all.iter().copied().filter(|&i| wanted(i)).collect();
                let fixed = found.len() <= 1;
                return (found, fixed);
            }
        };
        // `wanted` is asked only where its answer can change the result: of every pool
        // with a negative priority, and of the priorities from the lowest positive one up
        // until one has a pool meeting it (else of the unset ones). Asking costs a look at
        // the pool's addresses; a large group has many priorities.
        let unset = by_priority.partition_point(|&(p, _)| p < 0);
        let positive = by_priority.partition_point(|&(p, _)| p <= 0);
        let meeting = |run: &[(i64, usize)]| -> Vec<usize> {
            run.iter().map(|&(_, i)| i).filter(|&i| wanted(i)).collect()
        };
        let negative = meeting(&by_priority[..unset]);
        let (level, at_level) = by_priority[positive..]
            .chunk_by(|a, b| a.0 == b.0)
            .map(|run| (run[0].0, meeting(run)))
            .find(|(_, met)| !met.is_empty())
            .unwrap_or_else(|| (0, meeting(&by_priority[unset..positive])));
        // `at_level` is ascending (by_priority's order within one priority).
        let keep = |part: &[usize]| -> Vec<usize> {
            part.iter()
                .copied()
                .filter(|i| at_level.binary_search(i).is_ok())
                .collect()
        };
        let (ns_level, sel_level) = (keep(namespace), keep(selector));
        let mut firsts: Vec<usize> = if self.len() > INSERTION_SORT_MAX {
            ns_level.iter().chain(&sel_level).copied().collect()
        } else if level > 0 {
            // Equal positive priorities keep input order: the namespace part comes first.
            if ns_level.is_empty() {
                sel_level.first().copied().into_iter().collect()
            } else {
                ns_level
            }
        } else {
            // Unset priorities come out reversed: the last of the selector part, by name.
            match sel_level.last() {
                Some(&last) => vec![last],
                None => ns_level,
            }
        };
        firsts.extend(negative);
        firsts.sort_unstable();
        firsts.dedup();
        let fixed = firsts.len() <= 1;
        (firsts, fixed)
    }
}

/// The `allocation-not-valid` text: what MetalLB does with an address it no longer allows,
/// as the release words it (C.4 `ClearAssignment`, C.5 the refused configuration).
fn holding_message(behaviour: &Behaviour, s: &ServiceFacts, why: &str) -> String {
    let ips = ip_list(&s.ingress);
    match behaviour.orphaning_config {
        OrphaningConfig::Refused if why == "no pool contains it" => format!(
            "{} holds {ips}, which no pool contains: MetalLB {} refuses this configuration and keeps the previous one",
            s.key, behaviour.release
        ),
        _ => format!(
            "{} holds {ips}; MetalLB will take it away because {why}",
            s.key
        ),
    }
}

fn describe_backend(key: &str) -> String {
    if key.is_empty() {
        "Cluster".to_string()
    } else {
        format!("Local, selector {key}")
    }
}

/// `["10.0.0.1" "2001:db8::1"]`, the Go list format of MetalLB's messages.
fn quoted_list(ips: &[Ip]) -> String {
    format!(
        "[{}]",
        ips.iter()
            .map(|ip| format!("\"{ip}\""))
            .collect::<Vec<_>>()
            .join(" ")
    )
}

/// Read-only queries for the address map (`ips`) and for `check`.
impl Cluster<'_> {
    /// Per pool, the first address of each family that nobody holds (and `avoidBuggyIPs`
    /// allows), in MetalLB's scan order (§4.9); computed once.
    fn unheld_first(&self, pool: usize) -> Candidates {
        *self.unheld_first[pool].get_or_init(|| {
            let space = &self.config.pools[pool].space;
            let find = |family| {
                space.first_usable(family, |block| {
                    self.holdings[pool]
                        .between(block.first, block.last())
                        .map(|(ip, _)| (ip, false))
                })
            };
            Candidates {
                v4: find(Family::V4),
                v6: find(Family::V6),
            }
        })
    }

    /// The addresses of `pool` held by services whose allocation MetalLB keeps, ascending,
    /// each with its holders in input order.
    pub fn held_addresses(&self, pool: usize) -> impl Iterator<Item = (Ip, Vec<usize>)> + '_ {
        self.holdings[pool]
            .pairs
            .chunk_by(|a, b| a.0 == b.0)
            .map(|run| (run[0].0, run.iter().map(|&(_, h)| h).collect()))
    }

    /// The held addresses of `pool` in `[first, last]`, ascending.
    pub fn held_between(&self, pool: usize, first: Ip, last: Ip) -> impl Iterator<Item = Ip> + '_ {
        self.holdings[pool].between(first, last).map(|(ip, _)| ip)
    }

    /// The holders of `ip` in `pool`, in input order (none when nobody holds it).
    pub fn holders_at(&self, pool: usize, ip: Ip) -> Vec<usize> {
        self.holdings[pool].holders(ip).collect()
    }
}

/// What MetalLB's `Assign` of held addresses and its PreferDualStack top-up see (§5, §6.1):
/// read by `why`'s expected events.
impl Cluster<'_> {
    /// The first address of `family` in `pool` that `service` could be given now, its own
    /// addresses released: MetalLB's `getIPFromCIDR` over the pool's blocks in order.
    pub fn first_usable(&self, pool: usize, service: usize, family: Family) -> Option<Ip> {
        self.candidates(pool, service).get(family)
    }

    /// The other holders of `service`'s addresses whose sharing key, backend key or ports
    /// refuse it (§5), each with the error MetalLB's `Assign` gives `service` when that
    /// holder was assigned first. Which one MetalLB keeps the address for depends on the
    /// order it processes them (arbitrary at startup), so each is only a candidate.
    /// Go: allocator.go `Assign`, `checkSharing`, `sharingOK`.
    pub fn conflicting_holders(&self, service: usize) -> Vec<(usize, String)> {
        let Some(pool) = self.service_pool[service] else {
            return Vec::new();
        };
        let s = &self.services[service];
        let mut found: Vec<(usize, String)> = Vec::new();
        // `Assign` checks the addresses in the service's order and stops at the first error.
        for &ip in &s.ingress {
            for other in self.holdings[pool].holders(ip).filter(|&h| h != service) {
                if found.iter().any(|(h, _)| *h == other) {
                    continue;
                }
                let error = match self.sharing_conflict(s, std::iter::once(other)) {
                    None => continue,
                    Some(SharingConflict::Port(h, port)) => {
                        let (proto, port) = self.services[h].ports()[port];
                        format!("port {proto}/{port} is already in use on \"{ip}\"")
                    }
                    Some(_) => format!(
                        "can't change sharing key for \"{}\", address also in use by {}",
                        s.key, self.services[other].key
                    ),
                };
                found.push((other, error));
            }
        }
        found
    }

    /// An `allocation-not-valid` warning for each holder of an address another holder's
    /// keys or ports refuse: MetalLB keeps it for one of them only.
    fn holder_conflict_warnings(&self) -> Vec<(usize, Reason)> {
        let mut warnings = Vec::new();
        for (pool, held) in self.holdings.iter().enumerate() {
            for run in held.pairs.chunk_by(|a, b| a.0 == b.0) {
                if run.len() < 2 || !self.run_conflicts(run) {
                    continue;
                }
                let ip = run[0].0;
                for &(_, holder) in run {
                    let others: Vec<&str> = self
                        .conflicting_holders(holder)
                        .into_iter()
                        .filter(|&(h, _)| held.holders(ip).any(|x| x == h))
                        .map(|(h, _)| self.services[h].key.as_str())
                        .collect();
                    if others.is_empty() {
                        continue;
                    }
                    warnings.push((
                        holder,
                        Reason::new(
                            Code::AllocationNotValid,
                            format!(
                                "{} holds {ip} of pool {} with {}, whose sharing key, backend or ports do not allow both: MetalLB keeps the address for whichever it processes first (an order that cannot be known) and takes it away from the others",
                                self.services[holder].key,
                                self.config.pools[pool].name,
                                others.join(", ")
                            ),
                        ),
                    ));
                }
            }
        }
        warnings
    }

    /// Whether some two holders of one address refuse each other: keys that differ or are
    /// empty, or a port in common. A cheap test before any pair is compared.
    fn run_conflicts(&self, run: &[(Ip, usize)]) -> bool {
        let first = &self.services[run[0].1];
        let mut ports = std::collections::HashSet::new();
        run.iter().any(|&(_, h)| {
            let s = &self.services[h];
            s.sharing_key.is_empty()
                || s.sharing_key != first.sharing_key
                || s.backend_key() != first.backend_key()
                || s.ports().iter().any(|p| !ports.insert(*p))
        })
    }
}

/// The pools whose holdings [`Cluster::outcome`] may read for a service: where
/// [`Cluster::assign`] changed none of them, the answer is the one given before (`plan`
/// replays many services and re-uses their answers).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct OutcomeReads {
    /// Pools read by name, by a requested address, or walked (pinned) for the namespace.
    pub pools: Vec<usize>,
    /// Whether every plain pool ([`Cluster::plain_pools`]) may be read too.
    pub plain: bool,
}

impl Cluster<'_> {
    /// What [`Cluster::outcome`] reads of the occupancy for `service`, a superset: its own
    /// pool; a requested address's pool; a requested pool; or the pinned pools automatic
    /// allocation looks at for its namespace and every plain pool. Nothing where a gate or a
    /// bad request stops it first. The configuration and the services' facts never change.
    pub fn outcome_reads(&self, service: usize) -> OutcomeReads {
        let s = &self.services[service];
        let mut pools = match (&s.gate, &s.requested_ips, s.requested_pool) {
            (Err(_), _, _) | (_, Err(_), _) => Vec::new(),
            (_, Ok(Some(ips)), _) => self.config.pool_for(ips).into_iter().collect(),
            (_, Ok(None), Some(wanted)) => self
                .config
                .pool(wanted)
                .map(|(i, _)| i)
                .into_iter()
                .collect(),
            (_, Ok(None), None) => self.index.pools_for(s.namespace, false),
        };
        pools.extend(self.service_pool[service]);
        OutcomeReads {
            pools,
            plain: self.is_automatic(service),
        }
    }

    /// [`ServiceFacts::is_automatic`] for `service`: its [`Cluster::outcome`] may then read
    /// every plain pool.
    pub fn is_automatic(&self, service: usize) -> bool {
        self.services[service].is_automatic()
    }

    /// The label keys some selector reads.
    pub fn selector_keys(&self) -> &SelectorKeys {
        &self.label_keys
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::fixtures::lb;

    /// `sortPools`' comparator (allocator.go), on priorities.
    fn go_less(a: i64, b: i64) -> bool {
        if a > 0 && b > 0 {
            return a < b;
        }
        !(a == 0 && b > 0)
    }

    /// Go's `insertionSort_func`, which `sort.Slice` runs for 12 entries or fewer.
    fn go_insertion_sort(list: &mut [usize], priority: &dyn Fn(usize) -> i64) {
        for i in 1..list.len() {
            let mut j = i;
            while j > 0 && go_less(priority(list[j]), priority(list[j - 1])) {
                list.swap(j, j - 1);
                j -= 1;
            }
        }
    }

    fn permutations(items: &[usize]) -> Vec<Vec<usize>> {
        if items.len() <= 1 {
            return vec![items.to_vec()];
        }
        let mut all = Vec::new();
        for i in 0..items.len() {
            let mut rest = items.to_vec();
            let head = rest.remove(i);
            for mut tail in permutations(&rest) {
                tail.insert(0, head);
                all.push(tail);
            }
        }
        all
    }

    /// `possible_firsts` against MetalLB's own sort run on every order of the namespace part:
    /// exact for non-negative priorities, a superset with negative ones.
    #[test]
    fn possible_firsts_are_what_go_sort_puts_first() {
        // Pools 0..6 with these priorities; pools 4 and 5 are also in the selector part.
        let priorities = [10, 10, 0, 5, 0, 10, -1];
        let priority = |i: usize| priorities[i];
        let cases: Vec<(Vec<usize>, Vec<usize>)> = vec![
            (vec![0, 1], vec![5]),
            (vec![2], vec![4, 5]),
            (vec![2, 4], vec![4, 5]),
            (vec![0, 2, 3], vec![4]),
            (vec![2, 4], vec![]),
            (vec![], vec![2, 4]),
            (vec![0, 6], vec![1, 2]),
            (vec![1, 2, 3, 4], vec![0, 5]),
        ];
        for (namespace, selector) in cases {
            for mask in 0u32..(1 << priorities.len()) {
                let wanted = |i: usize| mask & (1 << i) != 0;
                let mut truth = Vec::new();
                for mut list in permutations(&namespace) {
                    list.extend(&selector);
                    go_insertion_sort(&mut list, &priority);
                    if let Some(&first) = list.iter().find(|&&i| wanted(i)) {
                        truth.push(first);
                    }
                }
                truth.sort_unstable();
                truth.dedup();
                let order = Order::pinned(namespace.clone(), selector.clone(), priority);
                let (firsts, fixed) = order.possible_firsts(&wanted);
                let negative = order.pools().any(|i| priority(i) < 0 && wanted(i));
                if negative {
                    assert!(
                        truth.iter().all(|t| firsts.contains(t)),
                        "{namespace:?} {selector:?} mask {mask:b}: {firsts:?} misses some of {truth:?}"
                    );
                } else {
                    assert_eq!(
                        firsts, truth,
                        "{namespace:?} then {selector:?}, wanted {mask:b}"
                    );
                    assert_eq!(fixed, truth.len() <= 1);
                }
            }
        }
    }

    #[test]
    fn large_snapshots_are_read_in_input_order() {
        let services: Vec<Service> = (0..25_001)
            .map(|i| {
                lb(
                    &format!("n{}", i % 7),
                    &format!("s{i}"),
                    &[&format!("10.96.{}.{}", i / 250, i % 250)],
                )
            })
            .collect();
        let ctx = Context::default();
        let facts = facts_of(&services, &ctx);
        assert_eq!(facts.len(), services.len());
        for (svc, f) in services.iter().zip(&facts) {
            assert_eq!(f.key, svc.metadata.key());
            assert_eq!(f.family, ServiceFamily::Single(super::Family::V4));
        }
    }

    /// Work done alongside the occupancy (on a second thread, at this size) is given every
    /// service's facts, the selectors' keys and the configuration, and the cluster is the
    /// one built without it.
    #[test]
    fn work_alongside_sees_every_service_and_changes_nothing() {
        use crate::fixtures::{METALLB_NS, holding, svc};
        let services: Vec<Service> = (0..25_001)
            .map(|i| {
                let s = svc(&format!("n{}/s{i}", i % 7));
                match i % 3 {
                    0 => s,
                    _ => holding(s, &[&format!("10.96.{}.{}", i / 250, i % 250)]),
                }
            })
            .collect();
        let snapshot = one_pool(&["10.96.0.0/16"], services);
        let ctx = Context::default();
        let load = || Config::load(&snapshot, METALLB_NS, &ctx.behaviour);
        let seen = |facts: &[ServiceFacts], keys: &SelectorKeys, config: &Config| {
            let keys = keys.0.clone();
            (
                facts.iter().map(|f| f.key.clone()).collect::<Vec<_>>(),
                keys,
                config.pools.len(),
            )
        };
        let (cluster, early) = Cluster::new_alongside(&snapshot, load(), &ctx, Some(seen));
        let alone = Cluster::new(&snapshot, load(), &ctx);
        let (keys, selector_keys, pools) = early.expect("the work was given");
        let expected: Vec<CompactString> = alone.services.iter().map(|f| f.key.clone()).collect();
        assert_eq!(keys, expected);
        assert_eq!(selector_keys, alone.label_keys.0);
        assert_eq!(pools, alone.config.pools.len());
        assert_eq!(cluster.service_pool, alone.service_pool);
        assert_eq!(cluster.pool_services, alone.pool_services);
        assert_eq!(cluster.holdings[0].pairs, alone.holdings[0].pairs);
        assert_eq!(cluster.keyed, alone.keyed);
        assert_eq!(cluster.counts(0), alone.counts(0));
    }

    /// The occupancy rebuilt on two threads is the one rebuilt on one, in every release:
    /// holdings, each pool's services, the warnings and orphaning errors in input order.
    #[test]
    fn the_occupancy_is_the_same_on_two_threads() {
        use crate::fixtures::{METALLB_NS, holding, pool, svc};
        use crate::metallb::release::{Behaviour, Release};
        let services: Vec<Service> = (0..25_001)
            .map(|i| {
                let s = svc(&format!("n{}/s{i}", i % 7));
                let (a, b) = (i / 250 % 250, i % 250);
                match i % 5 {
                    0 => s,
                    // In no pool: a warning, and an orphaning error where releases refuse.
                    1 => holding(s, &[&format!("192.168.{a}.{b}")]),
                    2 if i % 1_000 == 2 => holding(s, &["not-an-ip"]),
                    3 => holding(s, &[&format!("10.97.{a}.{b}")]),
                    _ => holding(s, &[&format!("10.96.{a}.{b}")]),
                }
            })
            .collect();
        let snapshot = Snapshot {
            pools: vec![
                pool("low", &["10.96.0.0/16"]),
                pool("high", &["10.97.0.0/16"]),
            ],
            services: services.into(),
            ..Default::default()
        };
        for release in Release::CHECKED {
            let ctx = Context {
                behaviour: Behaviour::of(release),
                ..Context::default()
            };
            let config = Config::load(&snapshot, METALLB_NS, &ctx.behaviour);
            let facts = facts_of(&snapshot.services, &ctx);
            let nothing = None::<fn()>;
            let (one, _) = Occupancy::rebuild(&config, &ctx.behaviour, &facts, false, nothing);
            // The second half read by the helper (nothing to do first), then by whichever
            // thread is free first (work about as long as a half), then on one thread.
            let (helped, _) = Occupancy::rebuild(&config, &ctx.behaviour, &facts, true, nothing);
            let holding = facts.iter().filter(|s| s.holds_addresses()).count();
            let work = || facts.iter().filter(|s| s.holds_addresses()).count();
            for two_threads in [true, false] {
                let (occupancy, early) =
                    Occupancy::rebuild(&config, &ctx.behaviour, &facts, two_threads, Some(work));
                assert_eq!(early, Some(holding));
                assert_same_occupancy(&occupancy, &one, release);
            }
            assert_same_occupancy(&helped, &one, release);
            let held_by: Vec<usize> = one.pool_services.iter().map(Vec::len).collect();
            assert_eq!(held_by, [5_000, 10_000 - 25], "high, low");
            assert_eq!(one.holding_warnings.len(), 5_000 + 25, "{release:?}");
        }
    }

    fn assert_same_occupancy(
        two: &Occupancy,
        one: &Occupancy,
        release: crate::metallb::release::Release,
    ) {
        for (a, b) in two.holdings.iter().zip(&one.holdings) {
            assert_eq!(a.pairs, b.pairs, "{release:?}");
            assert_eq!(
                (a.distinct_v4, a.distinct_v6),
                (b.distinct_v4, b.distinct_v6)
            );
        }
        assert_eq!(two.service_pool, one.service_pool);
        assert_eq!(two.pool_services, one.pool_services);
        assert_eq!(two.holding_warnings, one.holding_warnings);
        assert_eq!(two.orphaning_errors, one.orphaning_errors);
        assert_eq!(two.keyed, one.keyed);
    }

    /// `outcome` is `decide` without the verdicts of the pools walked past and without
    /// warnings: on everything else they agree, and on the verdict of a requested pool.
    pub(crate) fn assert_same_outcome(full: &Decision, outcome: &Decision) {
        assert_eq!(full.mode, outcome.mode);
        assert_eq!(full.fits, outcome.fits);
        assert_eq!(full.pools, outcome.pools);
        assert_eq!(full.ips, outcome.ips);
        assert_eq!(full.reasons, outcome.reasons);
        assert_eq!(full.metallb_error, outcome.metallb_error);
        assert!(outcome.warnings.is_empty(), "{:?}", outcome.warnings);
        for (pool, verdict) in outcome.verdicts() {
            assert_eq!(full.verdict(pool), Some(verdict), "pool {pool}");
        }
    }

    /// Service `a/NAME` on TCP `port`, under sharing key `key`.
    fn keyed(name: &str, port: i32, key: &str) -> Service {
        use crate::fixtures::{annotate, port as on_port, svc};
        annotate(
            on_port(svc(&format!("a/{name}")), "TCP", port),
            "metallb.io/allow-shared-ip",
            key,
        )
    }

    /// One plain pool `p` of `addresses`, and `services`.
    fn one_pool(addresses: &[&str], services: Vec<Service>) -> Snapshot {
        Snapshot {
            pools: vec![crate::fixtures::pool("p", addresses)],
            services: services.into(),
            ..Default::default()
        }
    }

    /// `fits` (asked of every pool a search looks at) answers what `select` answers, for
    /// every release, family, policy and pair of candidates.
    #[test]
    fn fits_is_whether_select_gives_addresses() {
        use crate::fixtures::{METALLB_NS, dual, lb};
        use crate::metallb::release::{Behaviour, Release};
        let services = vec![
            lb("a", "v4", &["10.96.0.1"]),
            lb("a", "v6", &["fd00::1"]),
            dual(
                lb("a", "prefer", &["10.96.0.2", "fd00::2"]),
                "PreferDualStack",
            ),
            dual(
                lb("a", "require", &["10.96.0.3", "fd00::3"]),
                "RequireDualStack",
            ),
            dual(lb("a", "prefer-one", &["10.96.0.4"]), "PreferDualStack"),
            dual(lb("a", "require-one", &["10.96.0.5"]), "RequireDualStack"),
        ];
        let snapshot = one_pool(&["10.0.0.0/24", "fd00:1::/120"], services);
        let v4 = Ip::parse("10.0.0.1");
        let v6 = Ip::parse("fd00:1::1");
        let mut compared = 0;
        for release in Release::CHECKED {
            let ctx = Context {
                behaviour: Behaviour::of(release),
                ..Context::default()
            };
            let config = Config::load(&snapshot, METALLB_NS, &ctx.behaviour);
            let cluster = Cluster::new(&snapshot, config, &ctx);
            for (service, s) in cluster.services.iter().enumerate() {
                for (v4, v6) in [(None, None), (v4, None), (None, v6), (v4, v6)] {
                    let c = Candidates { v4, v6 };
                    assert_eq!(
                        cluster.fits(s, c),
                        cluster.select(s, c).is_some(),
                        "{release:?} service {service} {c:?}"
                    );
                    compared += 1;
                }
            }
        }
        assert_eq!(compared, 5 * 6 * 4);
    }

    /// MetalLB scans a pool's blocks as listed (§4.9): an address a service may share in
    /// the first block comes before a free one in a later block.
    #[test]
    fn a_shareable_address_in_an_earlier_block_comes_first() {
        use crate::fixtures::{METALLB_NS, holding};
        let snapshot = one_pool(
            &["10.0.0.7/32", "10.0.0.0/30"],
            vec![
                holding(keyed("k80", 80, "k"), &["10.0.0.7"]),
                keyed("k443", 443, "k"),
                keyed("j443", 443, "j"),
            ],
        );
        let ctx = Context::default();
        let config = Config::load(&snapshot, METALLB_NS, &ctx.behaviour);
        let cluster = Cluster::new(&snapshot, config, &ctx);
        let first = |service| cluster.candidates(0, service).v4.map(|ip| ip.to_string());
        assert_eq!(first(1).as_deref(), Some("10.0.0.7"));
        assert_eq!(first(2).as_deref(), Some("10.0.0.0"));
        assert_eq!(cluster.outcome(1).ips, cluster.decide(1).ips);
    }

    /// The pinned pools' pick is shared only among services that hold nothing: a holder's
    /// own address is free to it, not to the others (§4.9).
    #[test]
    fn a_holder_of_a_pinned_pool_is_not_given_the_pick_of_services_that_hold_nothing() {
        use crate::fixtures::{METALLB_NS, allocating, holding, pool, svc};
        use crate::snapshot::ServiceAllocation;
        let pinned = allocating(
            pool("pinned", &["10.0.0.0/32"]),
            ServiceAllocation {
                namespaces: vec!["a".into()],
                ..Default::default()
            },
        );
        let snapshot = Snapshot {
            pools: vec![pinned],
            services: vec![svc("a/pending"), holding(svc("a/holder"), &["10.0.0.0"])].into(),
            ..Default::default()
        };
        let ctx = Context::default();
        let config = Config::load(&snapshot, METALLB_NS, &ctx.behaviour);
        let cluster = Cluster::new(&snapshot, config, &ctx);
        // The pending service first: its pick (the pool is full) is worked out and kept.
        assert!(!cluster.outcome(0).fits);
        let holder = cluster.outcome(1);
        assert_same_outcome(&cluster.decide(1), &holder);
        let ips: Vec<String> = holder.ips.iter().map(ToString::to_string).collect();
        assert_eq!(ips, ["10.0.0.0"]);
    }

    /// A kept pick of services with a sharing key is dropped when an assignment changes who
    /// holds an address, even where the pool's free families stay the same: the newcomer's
    /// ports may now conflict with theirs (§5).
    #[test]
    fn an_assignment_that_changes_who_shares_drops_the_kept_picks_of_sharing_services() {
        use crate::fixtures::{METALLB_NS, holding};
        let snapshot = one_pool(
            &["10.0.0.0/32"],
            vec![
                holding(keyed("web", 80, "k"), &["10.0.0.0"]),
                keyed("tls", 443, "k"),
                keyed("other-tls", 443, "k"),
            ],
        );
        let ctx = Context::default();
        let config = Config::load(&snapshot, METALLB_NS, &ctx.behaviour);
        let mut cluster = Cluster::new(&snapshot, config, &ctx);
        // Both may share web's address; the pick is worked out once and kept.
        let tls = cluster.outcome(1);
        assert!(tls.fits);
        assert!(cluster.outcome(2).fits);
        cluster.assign(1, 0, &tls.ips);
        // The pool had no unheld address before and has none now, but port 443 is taken.
        let other = cluster.outcome(2);
        assert!(!other.fits);
        assert_same_outcome(&cluster.decide(2), &other);
    }

    pub(crate) mod generated {
        use super::*;
        use crate::fixtures::{
            METALLB_NS, allocating, annotate, dual, holding, match_labels, namespace, pool, port,
        };
        use crate::metallb::release::Release;
        use crate::snapshot::{IpAddressPool, ServiceAllocation};
        use proptest::prelude::*;

        const NAMESPACES: [&str; 3] = ["a", "b", "c"];

        /// A pool: its families, its scope, its priority, autoAssign.
        fn pool_strategy() -> impl Strategy<Value = (u8, u8, Option<i64>, bool)> {
            (
                0u8..3,
                0u8..7,
                proptest::option::of(-1i64..3),
                any::<bool>(),
            )
        }

        /// A service: namespace, family, labelled, sharing key, requested pool, requested
        /// address, held address, port.
        type ServiceShape = (
            u8,
            u8,
            bool,
            Option<bool>,
            Option<u8>,
            Option<u8>,
            Option<u8>,
            bool,
        );

        fn service_strategy() -> impl Strategy<Value = ServiceShape> {
            (
                0u8..3,
                0u8..4,
                any::<bool>(),
                proptest::option::of(any::<bool>()),
                proptest::option::of(0u8..7),
                proptest::option::of(0u8..72),
                proptest::option::of(0u8..72),
                any::<bool>(),
            )
        }

        /// The `n`th address of pool `p`: IPv4 in `10.0.p.0/29` (0..8), IPv6 in its /126.
        fn address(p: u8, n: u8) -> String {
            match n % 12 {
                host @ 0..8 => format!("10.0.{p}.{host}"),
                host => format!("fd00:0:0:{p}::{}", host - 8),
            }
        }

        fn make_pool(
            i: usize,
            (families, scope, priority, auto): (u8, u8, Option<i64>, bool),
        ) -> IpAddressPool {
            let v4 = format!("10.0.{i}.0/30");
            let v4_high = format!("10.0.{i}.7/32");
            let v6 = format!("fd00:0:0:{i}::/126");
            // The last shape lists its blocks out of address order: MetalLB scans them as
            // listed.
            let addresses: Vec<&str> = match families {
                0 => vec![&v4],
                1 => vec![&v6],
                2 => vec![&v4, &v6],
                _ => vec![&v4_high, &v4],
            };
            let plain = pool(&format!("p{i}"), &addresses);
            let allocation = |a: ServiceAllocation| ServiceAllocation { priority, ..a };
            let mut p = match scope {
                0 => plain,
                1 => allocating(
                    plain,
                    allocation(ServiceAllocation {
                        namespaces: vec!["a".into()],
                        ..Default::default()
                    }),
                ),
                2 => allocating(
                    plain,
                    allocation(ServiceAllocation {
                        namespaces: vec!["a".into(), "b".into()],
                        ..Default::default()
                    }),
                ),
                3 => allocating(
                    plain,
                    allocation(ServiceAllocation {
                        namespace_selectors: vec![match_labels(&[("team", "x")])],
                        ..Default::default()
                    }),
                ),
                4 => allocating(
                    plain,
                    allocation(ServiceAllocation {
                        service_selectors: vec![match_labels(&[("app", "web")])],
                        ..Default::default()
                    }),
                ),
                5 => allocating(
                    plain,
                    allocation(ServiceAllocation {
                        namespaces: vec!["b".into()],
                        service_selectors: vec![match_labels(&[("app", "web")])],
                        ..Default::default()
                    }),
                ),
                _ => allocating(plain, allocation(ServiceAllocation::default())),
            };
            p.spec.auto_assign = Some(auto);
            p
        }

        fn make_service(i: usize, shape: ServiceShape, pools: usize) -> Service {
            let (ns, family, labelled, shared, wanted, requested, held, http) = shape;
            let namespace = NAMESPACES[usize::from(ns)];
            let mut s = lb(namespace, &format!("s{i}"), &["10.96.0.10"]);
            s = match family {
                0 => s,
                1 => {
                    s.spec.cluster_ips = smallvec::smallvec!["fd00::10".into()];
                    s
                }
                2 => dual(s, "RequireDualStack"),
                _ => dual(s, "PreferDualStack"),
            };
            s = port(s, "TCP", if http { 80 } else { 443 });
            if labelled {
                s.metadata.labels.insert("app", "web");
            }
            if let Some(key) = shared {
                s = annotate(s, "metallb.io/allow-shared-ip", if key { "k" } else { "j" });
            }
            if let Some(p) = wanted {
                s = annotate(s, "metallb.io/address-pool", &format!("p{p}"));
            }
            let pool_of = |n: u8| (n / 12) % pools.max(1) as u8;
            if let Some(n) = requested {
                s = annotate(s, "metallb.io/loadBalancerIPs", &address(pool_of(n), n));
            }
            match held {
                Some(n) => holding(s, &[&address(pool_of(n), n)]),
                None => s,
            }
        }

        /// Small clusters covering every pool scope, families, sharing keys, requests and
        /// held addresses (also `check`'s property tests).
        pub(crate) fn snapshot_strategy() -> impl Strategy<Value = Snapshot> {
            (
                proptest::collection::vec(pool_strategy(), 0..6),
                proptest::collection::vec(service_strategy(), 1..10),
                any::<bool>(),
            )
                .prop_map(|(pools, services, namespaces_read)| {
                    let count = pools.len();
                    Snapshot {
                        pools: pools
                            .into_iter()
                            .enumerate()
                            .map(|(i, p)| make_pool(i, p))
                            .collect(),
                        services: services
                            .into_iter()
                            .enumerate()
                            .map(|(i, s)| make_service(i, s, count))
                            .collect(),
                        namespaces: if namespaces_read {
                            vec![
                                namespace("a", &[("team", "x")]),
                                namespace("b", &[]),
                                namespace("c", &[]),
                            ]
                        } else {
                            Vec::new()
                        },
                        namespaces_known: namespaces_read,
                        ..Default::default()
                    }
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(400))]
            #[test]
            fn outcome_agrees_with_decide(snapshot in snapshot_strategy()) {
                for release in Release::CHECKED {
                    let ctx = Context {
                        behaviour: Behaviour::of(release),
                        ..Context::default()
                    };
                    let config = Config::load(&snapshot, METALLB_NS, &ctx.behaviour);
                    let mut cluster = Cluster::new(&snapshot, config, &ctx);
                    // Each service allocated in turn where the pick is certain, as `plan`
                    // replays them: later decisions see the addresses taken.
                    for service in 0..cluster.services.len() {
                        for pool in 0..cluster.config.pools.len() {
                            let (fast, scanned) = (
                                cluster.candidates(pool, service),
                                cluster.scanned_candidates(pool, service),
                            );
                            prop_assert_eq!((fast.v4, fast.v6), (scanned.v4, scanned.v6));
                        }
                        let s = &cluster.services[service];
                        let walked: Vec<usize> = (0..cluster.config.pools.len())
                            .filter(|&i| {
                                Cluster::walks(&cluster.config.pools[i], s.namespace, s.labels)
                                    .is_ok()
                            })
                            .collect();
                        prop_assert_eq!(cluster.serving_pools(s.namespace, s.labels), walked);
                        prop_assert_eq!(
                            cluster.serving_pinned_pools_like(service).to_vec(),
                            cluster.serving_pinned_pools(s.namespace, s.labels)
                        );
                        let outcome = cluster.outcome(service);
                        assert_same_outcome(&cluster.decide(service), &outcome);
                        if let ([pool], false) = (&outcome.pools[..], outcome.ips.is_empty()) {
                            cluster.assign(service, *pool, &outcome.ips);
                        }
                    }
                }
            }
        }
    }
}
