//! Occupancy and the replay of MetalLB's allocator: who holds which address, and what
//! MetalLB would do with a service now (metallb-semantics.md §3.3, §4.5–§4.10, §5, §6).

use std::collections::BTreeMap;

use super::addr::{Family, FamilyCounts, Ip};
use super::config::{Config, Pool, Refusal};
use super::reason::{Code, Reason};
use super::service::{Context, Policy, ServiceFacts, ServiceFamily};
use crate::snapshot::{Service, Snapshot};

/// The cluster as MetalLB's controller holds it: configuration, services, and the
/// addresses each pool has handed out.
pub struct Cluster<'a> {
    pub config: Config,
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
    /// Per pool: the first address held by nobody, per family. It is every candidate of a
    /// service without a sharing key that holds nothing in the pool, so deciding for many
    /// such services (`check`) scans each pool once. Filled on first use.
    unheld_first: std::sync::OnceLock<Vec<Candidates>>,
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
#[derive(Clone, Debug, Default)]
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
    pub pools: Vec<usize>,
    /// The address(es) it would assign, when the pool is certain.
    pub ips: Vec<Ip>,
    pub reasons: Vec<Reason>,
    /// The error MetalLB itself would report (its `AllocationFailed` text), if it fails.
    pub metallb_error: Option<String>,
    /// One verdict per pool of `config.pools`.
    pub verdicts: Vec<PoolVerdict>,
    pub warnings: Vec<Reason>,
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
}

/// What MetalLB reads from each service, in input order. Reading is most of what building a
/// large cluster costs and each service is read on its own, so a large snapshot is read by
/// two threads when the machine has the cores: the result is the same.
fn facts_of<'a>(services: &'a [Service], ctx: &Context) -> Vec<ServiceFacts<'a>> {
    /// Below this many services a second thread does not pay for itself.
    const PARALLEL_FROM: usize = 20_000;
    let fact = |s: &'a Service| ServiceFacts::new(s, ctx);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if services.len() < PARALLEL_FROM || cores < 2 {
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
    fn holders(&self, ip: Ip) -> impl Iterator<Item = usize> + '_ {
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

/// What a service needs from a pool to be served by it (§4.6 step 3, §4.10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Need {
    One(Family),
    Both,
    /// PreferDualStack with two cluster IPs: both if possible, else either.
    Either,
}

impl Need {
    fn of(s: &ServiceFacts) -> Need {
        match (s.family, s.policy) {
            (ServiceFamily::Single(f), _) => Need::One(f),
            (ServiceFamily::Dual, Policy::PreferDualStack) => Need::Either,
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

    /// The addresses picked from a pool's candidates; `None` when the pool cannot give them.
    fn pick(self, c: Candidates) -> Option<Vec<Ip>> {
        match self {
            Need::One(f) => c.get(f).map(|ip| vec![ip]),
            Need::Both => Some(vec![c.v4?, c.v6?]),
            Need::Either => match (c.v4, c.v6) {
                (Some(a), Some(b)) => Some(vec![a, b]),
                (Some(a), None) | (None, Some(a)) => Some(vec![a]),
                (None, None) => None,
            },
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
    /// Builds occupancy from the services' ingress IPs, as MetalLB rebuilds its state (§3.3).
    pub fn new(snapshot: &'a Snapshot, config: Config, ctx: &Context) -> Cluster<'a> {
        let services = facts_of(&snapshot.services, ctx);
        let mut holdings = vec![Held::default(); config.pools.len()];
        let mut service_pool = vec![None; services.len()];
        let mut pool_services = vec![Vec::new(); config.pools.len()];
        let mut holding_warnings = Vec::new();
        for (i, s) in services.iter().enumerate() {
            if !s.holds_addresses() {
                continue;
            }
            match Self::validate_holding(&config, s) {
                Ok(pool) => {
                    holdings[pool]
                        .pairs
                        .extend(s.ingress.iter().map(|ip| (*ip, i)));
                    service_pool[i] = Some(pool);
                    pool_services[pool].push(i);
                }
                Err(why) => holding_warnings.push((
                    i,
                    Reason::new(
                        Code::AllocationNotValid,
                        format!(
                            "{} holds {}; MetalLB will take it away because {why}",
                            s.key,
                            ip_list(&s.ingress)
                        ),
                    ),
                )),
            }
        }
        for held in &mut holdings {
            held.finish();
        }
        Cluster {
            config,
            services,
            holdings,
            service_pool,
            pool_services,
            holding_warnings,
            unheld_first: std::sync::OnceLock::new(),
        }
    }

    /// The checks MetalLB repeats on an allocated service before keeping its addresses (§6.1).
    fn validate_holding(config: &Config, s: &ServiceFacts) -> Result<usize, String> {
        if let Err(gate) = &s.gate {
            return Err(gate.message.clone());
        }
        if ServiceFamily::of(&s.ingress).is_none() {
            return Err("its ingress addresses do not form one IP family".to_string());
        }
        let held = ServiceFamily::of(&s.ingress);
        let prefer_single = s.policy == Policy::PreferDualStack && s.ingress.len() == 1;
        if held != Some(s.family)
            && !(s.family == ServiceFamily::Dual && prefer_single)
            && !s.family_inferred
        {
            return Err("its family differs from the service's cluster IPs".to_string());
        }
        let pool = config.pool_for(&s.ingress).ok_or("no pool contains it")?;
        let p = &config.pools[pool];
        if let Err(refusal) = p.admits(s.namespace, s.labels) {
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
            if holder.backend_key != s.backend_key {
                return Some(SharingConflict::BackendMismatch(h));
            }
        }
        for h in others {
            if let Some(port) = self.services[h]
                .ports
                .iter()
                .position(|p| s.ports.contains(p))
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
                        describe_backend(&holder.backend_key),
                        describe_backend(&s.backend_key)
                    ),
                )
            }
            SharingConflict::Port(h, port) => {
                let (proto, port) = &self.services[h].ports[port];
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
        // Without a key the service shares nothing: every held address is out (§5 rule 2).
        if s.sharing_key.is_empty() && self.service_pool[service] != Some(pool) {
            return self.unheld_first()[pool];
        }
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

    /// What MetalLB would do with `service` now, its own addresses released first.
    pub fn decide(&self, service: usize) -> Decision {
        let s = &self.services[service];
        let pools = &self.config.pools;
        let mut decision = Decision {
            mode: Mode::Stopped,
            fits: false,
            pools: Vec::new(),
            ips: Vec::new(),
            reasons: Vec::new(),
            metallb_error: None,
            verdicts: vec![PoolVerdict::default(); pools.len()],
            warnings: Vec::new(),
        };
        if s.family_inferred {
            decision.warnings.push(Reason::new(
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
            for v in &mut decision.verdicts {
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
            stop(&mut decision, gate.clone());
            return decision;
        }
        if pools.is_empty() {
            decision.reasons.push(Reason::new(
                Code::NoPools,
                format!(
                    "MetalLB has no IPAddressPool in namespace {}",
                    self.config.metallb_namespace
                ),
            ));
            return decision;
        }
        if let Err(gate) = &s.gate {
            stop(&mut decision, gate.clone());
            return decision;
        }
        let requested = match &s.requested_ips {
            Ok(r) => r.clone(),
            Err(reason) => {
                decision.metallb_error = Some(reason.message.clone());
                stop(&mut decision, reason.clone());
                return decision;
            }
        };
        match (requested, &s.requested_pool) {
            (Some(ips), _) => self.decide_requested_ips(service, &ips, &mut decision),
            (None, Some(pool)) => self.decide_requested_pool(service, pool, &mut decision),
            (None, None) => self.decide_automatic(service, &mut decision),
        }
        self.add_outcome_warnings(service, &mut decision);
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

    /// Path A (§4.5).
    fn decide_requested_ips(&self, service: usize, ips: &[Ip], d: &mut Decision) {
        d.mode = Mode::RequestedIps;
        let s = &self.services[service];
        let shown = quoted_list(ips);
        let owner = self.config.pool_for(ips);
        for (i, v) in d.verdicts.iter_mut().enumerate() {
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
                d.verdicts[owner].reasons.push(reason.clone());
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
        let verdict = &mut d.verdicts[owner];
        verdict.ips = ips.to_vec();
        if !refusals.is_empty() {
            verdict.reasons = refusals.clone();
            d.reasons.extend(refusals);
            return;
        }
        if let Some(wanted) = &s.requested_pool
            && *wanted != pool.name
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
            verdict.reasons.push(reason.clone());
            d.reasons.push(reason);
            return;
        }
        verdict.fits = true;
        d.fits = true;
        d.pools = vec![owner];
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
        for (i, v) in d.verdicts.iter_mut().enumerate() {
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
        let need = Need::of(s);
        let candidates = self.candidates(index, service);
        let mut refusals = Vec::new();
        match need.pick(candidates) {
            _ if !candidates.any() => {
                d.metallb_error = Some(format!("no available IPs in pool {wanted}"));
                refusals.push(self.unavailable_reason(index, service, need));
            }
            None => {
                d.metallb_error = Some(match need {
                    Need::Both => format!("no available IPs in pool {wanted} for dual IPFamily"),
                    _ => "[\"<nil>\"] is not allowed in config".to_string(),
                });
                refusals.push(self.unavailable_reason(index, service, need));
            }
            Some(ips) => d.verdicts[index].ips = ips,
        }
        if let Err(refusal) = pool.admits(s.namespace, s.labels) {
            if d.metallb_error.is_none() {
                d.metallb_error = Some(format!("pool {wanted} not compatible for ip assignment"));
            }
            refusals.push(refusal_reason(pool, refusal, s));
        }
        if refusals.is_empty() {
            d.verdicts[index].fits = true;
            d.fits = true;
            d.pools = vec![index];
            d.ips = d.verdicts[index].ips.clone();
        } else {
            d.verdicts[index].reasons = refusals.clone();
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

    /// Path C (§4.7): pinned pools by priority, then the plain pools in random order.
    fn decide_automatic(&self, service: usize, d: &mut Decision) {
        d.mode = Mode::Automatic;
        let s = &self.services[service];
        let need = Need::of(s);
        let mut pinned: Vec<(usize, Candidates)> = Vec::new();
        let mut plain: Vec<(usize, Candidates)> = Vec::new();
        for (i, pool) in self.config.pools.iter().enumerate() {
            let verdict = &mut d.verdicts[i];
            if !pool.auto_assign {
                verdict.reasons.push(Reason::new(
                    Code::AutoAssignDisabled,
                    "autoAssign is false: the pool serves only services that request it or one of its addresses",
                ));
                continue;
            }
            if let Err(refusal) = pool.admits(s.namespace, s.labels) {
                verdict.reasons.push(refusal_reason(pool, refusal, s));
                continue;
            }
            if pool.is_pinned() && !pool.is_indexed_for(s.namespace) {
                verdict.reasons.push(Reason::new(
                    Code::NamespaceNotAllowed,
                    "namespaceSelectors match no namespace; MetalLB never auto-assigns from this pool (explicit requests still work)",
                ));
                continue;
            }
            if !need.families_present(pool) {
                verdict
                    .reasons
                    .push(self.unavailable_reason(i, service, need));
                continue;
            }
            let c = self.candidates(i, service);
            if !need.offered_by(c) {
                verdict
                    .reasons
                    .push(self.exhausted_reason(i, service, need));
                continue;
            }
            verdict.fits = true;
            verdict.ips = need.pick(c).unwrap_or_default();
            if pool.is_pinned() {
                pinned.push((i, c))
            } else {
                plain.push((i, c))
            }
        }
        let winners = self.best_pinned(&pinned, s, need, d);
        let winners = if winners.is_empty() {
            best_of_group(&plain, s, need)
        } else {
            winners
        };
        if winners.is_empty() {
            d.metallb_error = Some("no available IPs".to_string());
            d.reasons.push(Reason::new(
                Code::NoPoolFits,
                "no pool can serve the service: MetalLB reports only \"no available IPs\"; the reason of each pool is below",
            ));
            return;
        }
        self.annotate_runners_up(&winners, d);
        d.fits = true;
        if let [only] = winners[..] {
            d.ips = d.verdicts[only].ips.clone();
        }
        d.pools = winners;
    }

    /// Step 2–3 over the pinned candidates: priority groups (positive ascending, then 0),
    /// ties kept together since MetalLB's order among them is arbitrary.
    fn best_pinned(
        &self,
        pinned: &[(usize, Candidates)],
        s: &ServiceFacts,
        need: Need,
        d: &mut Decision,
    ) -> Vec<usize> {
        let priority = |i: usize| {
            self.config.pools[i]
                .allocation
                .as_ref()
                .map_or(0, |a| a.priority)
        };
        let (negative, ordered): (Vec<_>, Vec<_>) =
            pinned.iter().copied().partition(|(i, _)| priority(*i) < 0);
        let mut groups: BTreeMap<(bool, i64), Vec<(usize, Candidates)>> = BTreeMap::new();
        for (i, c) in ordered {
            let p = priority(i);
            groups.entry((p == 0, p)).or_default().push((i, c));
        }
        let groups: Vec<Vec<(usize, Candidates)>> = groups.into_values().collect();
        let mut winners = best_of_groups(&groups, s, need);
        if !negative.is_empty() {
            // A negative priority makes MetalLB's comparator inconsistent: such a pool may
            // come anywhere, so it is a possible pick too.
            winners.extend(best_of_group(&negative, s, need));
            winners.sort();
            winners.dedup();
        }
        if winners.len() > 1 {
            let names: Vec<&str> = winners
                .iter()
                .map(|&w| self.config.pools[w].name.as_str())
                .collect();
            d.warnings.push(Reason::new(
                Code::PriorityTie,
                format!("pinned pools {} tie at the winning priority: MetalLB's pick among them is arbitrary", names.join(", ")),
            ));
        }
        winners
    }

    /// Notes on the pools that fit but are not MetalLB's pick.
    fn annotate_runners_up(&self, winners: &[usize], d: &mut Decision) {
        let names: Vec<&str> = winners
            .iter()
            .map(|&w| self.config.pools[w].name.as_str())
            .collect();
        let winner_pinned = self.config.pools[winners[0]].is_pinned();
        for (i, v) in d.verdicts.iter_mut().enumerate() {
            if !v.fits || winners.contains(&i) {
                continue;
            }
            let pool = &self.config.pools[i];
            v.note = Some(match (winner_pinned, pool.is_pinned()) {
                (true, false) => format!(
                    "fits, but MetalLB tries pinned pools first and {} can serve the service",
                    names.join(" or ")
                ),
                (true, true) => format!(
                    "fits, but {} comes first (priority order, or it offers more of the service's families)",
                    names.join(" or ")
                ),
                _ => format!(
                    "fits, but {} offers more of the service's families",
                    names.join(" or ")
                ),
            });
        }
    }

    fn add_outcome_warnings(&self, service: usize, d: &mut Decision) {
        let s = &self.services[service];
        let mut announced_pools: Vec<usize> = d.pools.clone();
        if let Some(current) = self.service_pool[service]
            && !announced_pools.contains(&current)
        {
            announced_pools.push(current);
        }
        for p in announced_pools {
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

/// `best()` of Appendix A over ordered groups of tied pools: the pools at the first level
/// that offer what is needed. PreferDualStack looks for both families over the whole list
/// first, then for the primary family, then for the other one.
fn best_of_groups(groups: &[Vec<(usize, Candidates)>], s: &ServiceFacts, need: Need) -> Vec<usize> {
    let first_level = |want: &dyn Fn(Candidates) -> bool| -> Vec<usize> {
        groups
            .iter()
            .map(|g| {
                g.iter()
                    .filter(|(_, c)| want(*c))
                    .map(|(i, _)| *i)
                    .collect::<Vec<_>>()
            })
            .find(|found| !found.is_empty())
            .unwrap_or_default()
    };
    match need {
        Need::Either => {
            for want in [
                &|c: Candidates| c.v4.is_some() && c.v6.is_some(),
                &|c: Candidates| c.get(s.primary).is_some(),
                &|c: Candidates| c.get(s.primary.other()).is_some(),
            ] as [&dyn Fn(Candidates) -> bool; 3]
            {
                let found = first_level(want);
                if !found.is_empty() {
                    return found;
                }
            }
            Vec::new()
        }
        _ => first_level(&|c| need.offered_by(c)),
    }
}

/// The plain pools (or one tie group): MetalLB's order is random, so every pool that
/// `best()` could return is a possible pick.
fn best_of_group(group: &[(usize, Candidates)], s: &ServiceFacts, need: Need) -> Vec<usize> {
    best_of_groups(&[group.to_vec()], s, need)
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

fn ip_list(ips: &[Ip]) -> String {
    ips.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Read-only queries for the address map (`ips`) and for `check`.
impl Cluster<'_> {
    /// Per pool, the first address of each family that nobody holds (and `avoidBuggyIPs`
    /// allows), in MetalLB's scan order (§4.9); computed once.
    fn unheld_first(&self) -> &[Candidates] {
        self.unheld_first.get_or_init(|| {
            (0..self.config.pools.len())
                .map(|pool| {
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
                .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Metadata;

    #[test]
    fn large_snapshots_are_read_in_input_order() {
        let services: Vec<Service> = (0..25_001)
            .map(|i| {
                let mut svc = Service {
                    metadata: Metadata {
                        name: format!("s{i}"),
                        namespace: format!("n{}", i % 7),
                        ..Default::default()
                    },
                    ..Default::default()
                };
                svc.spec.type_ = Some("LoadBalancer".into());
                svc.spec.cluster_ips = vec![format!("10.96.{}.{}", i / 250, i % 250)];
                svc
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
}
