//! Seeded, reproducible synthetic MetalLB clusters for the benchmarks.
//!
//! [`Synthetic::generate`] builds, from `(services, pools, seed)`, the objects a large
//! bare-metal cluster would return from its API server, as `serde_json::Value` manifests
//! shaped like kube-apiserver's (`apiVersion`, `kind`, defaulted spec fields):
//!
//! * **Namespaces** with `team` and `env` labels (the targets of `namespaceSelectors`).
//! * **IPAddressPools** in `metallb-system`, never overlapping: IPv4 CIDRs (one or two
//!   blocks) and `start-end` ranges carved from `10.0.0.0/8`, IPv6 `/64`, `/56` and `/48`
//!   blocks from `fd00::/8`, and dual-stack pools with both. About one pool in six is
//!   *pinned* (`serviceAllocation`: explicit `namespaces`, `namespaceSelectors`,
//!   `serviceSelectors`, or a priority alone, mostly with a `priority`), one in twenty has
//!   `autoAssign: false`, one IPv4 pool in ten `avoidBuggyIPs: true`, and one IPv4 pool in
//!   ten is deliberately small so that it fills up.
//! * **L2Advertisements and BGPAdvertisements** selecting pools by label or by name.
//! * **LoadBalancer Services**: ~85 % allocated (`status.loadBalancer.ingress` inside a
//!   pool that admits them, with MetalLB's `ip-allocated-from-pool` annotation), the rest
//!   pending; ~10 % dual-stack (two cluster IPs, `RequireDualStack` or `PreferDualStack`),
//!   ~8 % IPv6; groups of two or three sharing one address under `metallb.io/allow-shared-ip`
//!   with disjoint ports; some with `metallb.io/address-pool` or
//!   `metallb.io/loadBalancerIPs`; some `externalTrafficPolicy: Local`.
//! * One `AllocationFailed` **Event** per pending service, and MetalLB's controller
//!   **Deployment** (what live detection looks for).
//!
//! Every allocation is one MetalLB would keep: the configuration is valid and no service
//! holds an address it would take away, so the benchmarks measure the normal path.
//!
//! The same seed always gives the same cluster (a SplitMix64 generator, no dependency).
//! The cluster can be written as one YAML `kind: List` or one JSON `List` (for `-f`),
//! turned into a `Vec<Value>` for the loopback API server, or into a
//! [`kubectl_metalpool::snapshot::Snapshot`] for in-memory benchmarks.

// Each bench uses part of this module.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use kubectl_metalpool::snapshot::Snapshot;
use serde_json::{Map, Value, json};

pub const METALLB_NAMESPACE: &str = "metallb-system";
pub const DEFAULT_SEED: u64 = 0x6d65_7461_6c70_6f6f; // "metalpoo"

const METALLB_API: &str = "metallb.io/v1beta1";
const TIERS: [&str; 4] = ["frontend", "backend", "data", "edge"];
const ENVS: [&str; 3] = ["prod", "staging", "dev"];
const POOL_TIERS: [&str; 3] = ["internal", "edge", "dmz"];
const SITES: usize = 8;
const TEAMS: usize = 50;

/// SplitMix64: tiny, fast, and the same sequence on every platform.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: usize) -> bool {
        self.below(1000) < per_mille
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The size of a cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// LoadBalancer services.
    pub services: usize,
    /// IPAddressPools.
    pub pools: usize,
    pub seed: u64,
}

impl Params {
    pub fn new(services: usize, pools: usize) -> Params {
        Params {
            services,
            pools,
            seed: DEFAULT_SEED,
        }
    }
}

/// Services worth asking `why` about, as `(namespace, name)`.
#[derive(Clone, Debug, Default)]
pub struct Probes {
    /// Pending, no annotation, IPv4: MetalLB's automatic path over every pool.
    pub pending_automatic: Option<(String, String)>,
    /// Pending, dual-stack (PreferDualStack), automatic.
    pub pending_dual: Option<(String, String)>,
    /// Pending with `metallb.io/address-pool`.
    pub pending_requested_pool: Option<(String, String)>,
    /// Allocated, automatic: `why` replays it as if it gave its address back.
    pub allocated: Option<(String, String)>,
}

/// What was generated, for the record.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub allocated: usize,
    pub pending: usize,
    pub shared: usize,
    pub dual_stack: usize,
    pub ipv6: usize,
    pub requested_pool: usize,
    pub requested_ips: usize,
    pub pinned_pools: usize,
    pub ipv6_pools: usize,
    pub dual_pools: usize,
}

/// A generated cluster: every object as a manifest, grouped by kind.
#[derive(Clone, Debug)]
pub struct Synthetic {
    pub params: Params,
    pub namespaces: Vec<Value>,
    pub pools: Vec<Value>,
    pub l2_advertisements: Vec<Value>,
    pub bgp_advertisements: Vec<Value>,
    pub services: Vec<Value>,
    pub events: Vec<Value>,
    /// MetalLB's controller Deployment, which live detection looks for.
    pub controller: Value,
    pub probes: Probes,
    pub stats: Stats,
}

/// Who a pool admits (its `serviceAllocation`).
#[derive(Clone, Debug)]
enum Scope {
    Plain,
    /// `namespaces`: indices into the namespace list.
    Namespaces(Vec<usize>),
    /// `namespaceSelectors: [{matchLabels: {key: value}}]`, and the namespaces it
    /// matches (never empty).
    NamespaceSelector {
        key: &'static str,
        value: String,
        members: Vec<usize>,
    },
    /// `serviceSelectors` admitting these tiers.
    ServiceSelector(Vec<&'static str>),
    /// `priority` only: pinned to every service.
    Everyone,
}

/// A pool as the generator allocates from it.
struct Plan {
    name: String,
    /// `spec.addresses`.
    addresses: Vec<String>,
    scope: Scope,
    priority: Option<usize>,
    auto_assign: bool,
    avoid_buggy: bool,
    /// IPv4 address segments in `spec.addresses` order, inclusive.
    v4: Vec<(u32, u32)>,
    /// Next IPv4 candidate: segment index and value.
    v4_cursor: (usize, u32),
    /// Base of the pool's IPv6 block, and addresses handed out so far.
    v6: Option<u128>,
    v6_used: u128,
}

impl Plan {
    fn has_v4(&self) -> bool {
        !self.v4.is_empty()
    }

    fn next_v4(&mut self) -> Option<u32> {
        loop {
            let (segment, value) = self.v4_cursor;
            let &(first, last) = self.v4.get(segment)?;
            let value = value.max(first);
            if value > last {
                self.v4_cursor = (segment + 1, 0);
                continue;
            }
            self.v4_cursor = (segment, value + 1);
            if self.avoid_buggy && matches!(value & 0xff, 0 | 0xff) {
                continue;
            }
            return Some(value);
        }
    }

    fn next_v6(&mut self) -> Option<u128> {
        let base = self.v6?;
        self.v6_used += 1;
        Some(base + self.v6_used)
    }

    /// Whether a service of `namespace` with `tier` may hold this pool's addresses.
    fn admits(&self, namespace: usize, tier: &str) -> bool {
        match &self.scope {
            Scope::Plain | Scope::Everyone => true,
            Scope::Namespaces(list) | Scope::NamespaceSelector { members: list, .. } => {
                list.contains(&namespace)
            }
            Scope::ServiceSelector(tiers) => tiers.contains(&tier),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    V4,
    V6,
    Dual,
}

fn v4(value: u32) -> String {
    Ipv4Addr::from(value).to_string()
}

fn v6(value: u128) -> String {
    Ipv6Addr::from(value).to_string()
}

fn namespace_name(index: usize) -> String {
    format!("ns-{index:04}")
}

fn labels(pairs: &[(&str, &str)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect(),
    )
}

/// The state of one generation run.
struct Generator {
    rng: Rng,
    params: Params,
    namespaces: usize,
    /// Namespace indices per `env` label value and per `team` label value.
    by_env: Vec<Vec<usize>>,
    by_team: Vec<Vec<usize>>,
    plans: Vec<Plan>,
    services: Vec<Value>,
    events: Vec<Value>,
    probes: Probes,
    stats: Stats,
    /// Addresses held so far (for requests that collide).
    held_v4: Vec<u32>,
}

impl Synthetic {
    pub fn generate(params: Params) -> Synthetic {
        assert!(params.pools > 0, "a cluster needs at least one pool");
        let namespaces = (params.services / 40).clamp(16, 4000);
        let mut by_env = vec![Vec::new(); ENVS.len()];
        let mut by_team = vec![Vec::new(); TEAMS];
        for n in 0..namespaces {
            by_env[n % ENVS.len()].push(n);
            by_team[n % TEAMS].push(n);
        }
        let mut g = Generator {
            rng: Rng::new(params.seed),
            params,
            namespaces,
            by_env,
            by_team,
            plans: Vec::new(),
            services: Vec::new(),
            events: Vec::new(),
            probes: Probes::default(),
            stats: Stats::default(),
            held_v4: Vec::new(),
        };
        g.plan_pools();
        let pools = g.plans.iter().map(pool_manifest).collect();
        let (mut l2, mut bgp) = g.advertisements();
        g.services();
        let namespace_objects = std::iter::once(namespace_manifest(METALLB_NAMESPACE, &[]))
            .chain((0..namespaces).map(|n| {
                let name = namespace_name(n);
                let team = format!("team-{:02}", n % TEAMS);
                namespace_manifest(
                    &name,
                    &[
                        ("kubernetes.io/metadata.name", name.as_str()),
                        ("team", team.as_str()),
                        ("env", ENVS[n % ENVS.len()]),
                    ],
                )
            }))
            .collect();
        // In the API server's order (by namespace, then name), so that a dump lists them as
        // `kubectl get` would and live and offline answers can be compared as they are.
        let mut services = g.services;
        let mut events = g.events;
        for objects in [&mut services, &mut events, &mut l2, &mut bgp] {
            objects.sort_by(|a, b| {
                let id = |o: &Value| {
                    let meta = &o["metadata"];
                    (meta["namespace"].to_string(), meta["name"].to_string())
                };
                id(a).cmp(&id(b))
            });
        }
        Synthetic {
            params,
            namespaces: namespace_objects,
            pools,
            l2_advertisements: l2,
            bgp_advertisements: bgp,
            services,
            events,
            controller: controller_deployment(),
            probes: g.probes,
            stats: g.stats,
        }
    }

    /// Every object, for [`ApiServer::start`] (namespaces first, services last but events).
    pub fn objects(&self) -> Vec<Value> {
        std::iter::once(&self.controller)
            .chain(&self.namespaces)
            .chain(&self.pools)
            .chain(&self.l2_advertisements)
            .chain(&self.bgp_advertisements)
            .chain(&self.services)
            .chain(&self.events)
            .cloned()
            .collect()
    }

    /// The cluster as one `v1/List`, like `kubectl get … -o json|yaml` prints.
    pub fn list(&self) -> Value {
        json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": self.objects()})
    }

    /// One JSON document (indented as kubectl prints it).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.list()).expect("a Value always serializes")
    }

    /// One YAML `kind: List` document.
    pub fn to_yaml(&self) -> String {
        serde_saphyr::to_string(&self.list()).expect("a Value always serializes")
    }

    /// The same objects as YAML documents, one after another (`---` between them), as a
    /// directory of manifests concatenated would be.
    pub fn to_yaml_documents(&self) -> String {
        let mut text = String::new();
        for object in self.objects() {
            text.push_str("---\n");
            text.push_str(&serde_saphyr::to_string(&object).expect("a Value always serializes"));
        }
        text
    }

    pub fn write_yaml_documents(&self, path: &Path) -> std::io::Result<u64> {
        let text = self.to_yaml_documents();
        std::fs::write(path, &text)?;
        Ok(text.len() as u64)
    }

    pub fn write_json(&self, path: &Path) -> std::io::Result<u64> {
        let text = self.to_json();
        std::fs::write(path, &text)?;
        Ok(text.len() as u64)
    }

    pub fn write_yaml(&self, path: &Path) -> std::io::Result<u64> {
        let text = self.to_yaml();
        std::fs::write(path, &text)?;
        Ok(text.len() as u64)
    }

    /// The snapshot the plugin would read: each kind written as JSON and deserialized from
    /// the text into the snapshot types, as the live source does with a list page (the
    /// Deployment is not part of a snapshot). Going through text, not `from_value`, also lays
    /// the objects out in memory as reading does, which the timings depend on.
    pub fn snapshot(&self) -> Snapshot {
        fn typed<T: serde::de::DeserializeOwned>(values: &[Value]) -> Vec<T> {
            let text = serde_json::to_string(values).expect("a Value always serializes");
            serde_json::from_str(&text).expect("generated objects deserialize")
        }
        Snapshot {
            pools: typed(&self.pools),
            l2_advertisements: typed(&self.l2_advertisements),
            bgp_advertisements: typed(&self.bgp_advertisements),
            services: typed::<kubectl_metalpool::snapshot::Service>(&self.services).into(),
            namespaces: typed(&self.namespaces),
            events: typed(&self.events),
            namespaces_known: true,
            ..Snapshot::default()
        }
    }

    /// Index of a service in [`Synthetic::snapshot`]'s `services`.
    pub fn service_index(&self, (namespace, name): &(String, String)) -> usize {
        self.services
            .iter()
            .position(|s| {
                s["metadata"]["namespace"] == namespace.as_str()
                    && s["metadata"]["name"] == name.as_str()
            })
            .expect("a probe names a generated service")
    }
}

impl Generator {
    /// Lays the pools out without overlap: IPv4 blocks aligned to their size from
    /// `10.0.0.0/8` upward, IPv6 blocks in `fd00:<pool>::/48` regions.
    fn plan_pools(&mut self) {
        let p = self.params.pools;
        // Aim for roughly three addresses per service on average, at least a /26.
        let per_pool = (3 * self.params.services / p).max(64);
        let block_bits = per_pool.next_power_of_two().trailing_zeros().min(16);
        let mut cursor: u32 = u32::from(Ipv4Addr::new(10, 0, 0, 0));
        let limit: u32 = u32::from(Ipv4Addr::new(10, 255, 255, 255));
        let mut take = |bits: u32| -> (u32, u32) {
            let size = 1u32 << bits;
            let first = cursor.div_ceil(size) * size;
            let last = first + (size - 1);
            assert!(
                last <= limit,
                "10.0.0.0/8 is exhausted: too many addresses per pool"
            );
            cursor = last + 1;
            (first, last)
        };
        for i in 0..p {
            let name = format!("pool-{i:05}");
            let roll = self.rng.below(100);
            let family = match roll {
                0..70 => Family::V4,
                70..80 => Family::V6,
                _ => Family::Dual,
            };
            let mut v4_segments = Vec::new();
            let mut entries = Vec::new();
            if family != Family::V6 {
                let small = self.rng.chance(100);
                let shape = self.rng.below(4);
                if small {
                    // A small range that fills up.
                    let (first, _) = take(8);
                    let (a, b) = (first + 10, first + 10 + 11);
                    entries.push(format!("{}-{}", v4(a), v4(b)));
                    v4_segments.push((a, b));
                } else if shape == 0 {
                    // A range inside its block, off the block's edges.
                    let (first, last) = take(block_bits);
                    let (a, b) = (first + 10, last - 5);
                    entries.push(format!("{}-{}", v4(a), v4(b)));
                    v4_segments.push((a, b));
                } else if shape == 1 && block_bits >= 7 {
                    // Two half-size CIDRs, not adjacent.
                    for _ in 0..2 {
                        let (first, last) = take(block_bits - 1);
                        entries.push(format!("{}/{}", v4(first), 32 - (block_bits - 1)));
                        v4_segments.push((first, last));
                        take(block_bits - 1);
                    }
                } else {
                    let (first, last) = take(block_bits);
                    entries.push(format!("{}/{}", v4(first), 32 - block_bits));
                    v4_segments.push((first, last));
                }
            }
            let mut v6_base = None;
            if family != Family::V4 {
                let region = (0xfd00u128 << 112) | ((i as u128 + 1) << 80);
                let prefix = *self.rng.pick(&[64u32, 64, 64, 56, 48]);
                entries.push(format!("{}/{prefix}", v6(region)));
                v6_base = Some(region);
            }
            let scope = self.scope();
            // Most pinned pools have a priority (1 is tried first), some none.
            let priority = match scope {
                Scope::Plain => None,
                Scope::Everyone => Some(1 + self.rng.below(10)),
                _ if self.rng.chance(250) => None,
                _ => Some(1 + self.rng.below(10)),
            };
            if !matches!(scope, Scope::Plain) {
                self.stats.pinned_pools += 1;
            }
            match family {
                Family::V6 => self.stats.ipv6_pools += 1,
                Family::Dual => self.stats.dual_pools += 1,
                Family::V4 => {}
            }
            let avoid_buggy = !v4_segments.is_empty() && self.rng.chance(100);
            self.plans.push(Plan {
                name,
                addresses: entries,
                scope,
                priority,
                auto_assign: !self.rng.chance(50),
                avoid_buggy,
                v4: v4_segments,
                v4_cursor: (0, 0),
                v6: v6_base,
                v6_used: 0,
            });
        }
    }

    fn scope(&mut self) -> Scope {
        if !self.rng.chance(170) {
            return Scope::Plain;
        }
        match self.rng.below(10) {
            0..4 => {
                let count = 1 + self.rng.below(3);
                let mut chosen = BTreeSet::new();
                while chosen.len() < count.min(self.namespaces) {
                    chosen.insert(self.rng.below(self.namespaces));
                }
                Scope::Namespaces(chosen.into_iter().collect())
            }
            4..6 => {
                if self.rng.chance(500) {
                    Scope::NamespaceSelector {
                        key: "env",
                        value: ENVS[0].to_string(),
                        members: self.by_env[0].clone(),
                    }
                } else {
                    let team = self.rng.below(TEAMS.min(self.namespaces));
                    Scope::NamespaceSelector {
                        key: "team",
                        value: format!("team-{team:02}"),
                        members: self.by_team[team].clone(),
                    }
                }
            }
            6..9 => {
                if self.rng.chance(500) {
                    Scope::ServiceSelector(vec!["frontend"])
                } else {
                    Scope::ServiceSelector(vec!["backend", "data"])
                }
            }
            _ => Scope::Everyone,
        }
    }

    /// L2 per pool tier and site, BGP for the edge and dmz tiers, one by name.
    fn advertisements(&mut self) -> (Vec<Value>, Vec<Value>) {
        let selector = |key: &str, value: String| json!([{"matchLabels": {key: value}}]);
        let mut l2 = vec![advertisement(
            "L2Advertisement",
            "l2-internal",
            json!({"ipAddressPoolSelectors": selector("tier", "internal".into())}),
        )];
        for site in 0..SITES / 2 {
            l2.push(advertisement(
                "L2Advertisement",
                &format!("l2-site-{site}"),
                json!({
                    "ipAddressPoolSelectors": selector("site", format!("site-{site}")),
                    "interfaces": ["eth1"],
                }),
            ));
        }
        let named: Vec<String> = self.plans.iter().take(10).map(|p| p.name.clone()).collect();
        l2.push(advertisement(
            "L2Advertisement",
            "l2-legacy",
            json!({"ipAddressPools": named}),
        ));
        let bgp = vec![
            advertisement(
                "BGPAdvertisement",
                "bgp-edge",
                json!({"ipAddressPoolSelectors": selector("tier", "edge".into()), "aggregationLength": 32, "localPref": 100}),
            ),
            advertisement(
                "BGPAdvertisement",
                "bgp-dmz",
                json!({"ipAddressPoolSelectors": [{"matchExpressions": [{"key": "tier", "operator": "In", "values": ["dmz"]}]}]}),
            ),
        ];
        (l2, bgp)
    }

    fn services(&mut self) {
        let total = self.params.services;
        let v4_pools: Vec<usize> = (0..self.plans.len())
            .filter(|&i| self.plans[i].has_v4())
            .collect();
        let v6_pools: Vec<usize> = (0..self.plans.len())
            .filter(|&i| self.plans[i].v6.is_some())
            .collect();
        let dual_pools: Vec<usize> = (0..self.plans.len())
            .filter(|&i| self.plans[i].has_v4() && self.plans[i].v6.is_some())
            .collect();
        while self.services.len() < total {
            let family = match self.rng.below(100) {
                0..82 => Family::V4,
                82..90 => Family::V6,
                _ => Family::Dual,
            };
            let candidates = match family {
                Family::V4 => &v4_pools,
                Family::V6 => &v6_pools,
                Family::Dual => &dual_pools,
            };
            if candidates.is_empty() || self.rng.chance(150) {
                self.pending(family);
                continue;
            }
            let pool = *self.rng.pick(candidates);
            let room = total - self.services.len();
            if family == Family::V4 && room >= 3 && self.rng.chance(40) {
                let members = 2 + self.rng.below(2);
                self.shared_group(pool, members);
            } else {
                self.allocated(pool, family);
            }
        }
    }

    /// A namespace and a tier the pool admits.
    fn placement(&mut self, pool: usize) -> (usize, &'static str) {
        let namespace = match &self.plans[pool].scope {
            Scope::Namespaces(list) | Scope::NamespaceSelector { members: list, .. } => {
                list[self.rng.below(list.len())]
            }
            _ => self.rng.below(self.namespaces),
        };
        let tier = match &self.plans[pool].scope {
            Scope::ServiceSelector(tiers) => tiers[self.rng.below(tiers.len())],
            _ => *self.rng.pick(&TIERS),
        };
        debug_assert!(self.plans[pool].admits(namespace, tier));
        (namespace, tier)
    }

    /// The addresses of `family` the pool still has, or `None` when it is full.
    fn take(&mut self, pool: usize, family: Family) -> Option<Vec<String>> {
        let plan = &mut self.plans[pool];
        let ips = match family {
            Family::V4 => {
                let a = plan.next_v4()?;
                self.held_v4.push(a);
                vec![v4(a)]
            }
            Family::V6 => vec![v6(plan.next_v6()?)],
            Family::Dual => {
                let a = plan.next_v4()?;
                self.held_v4.push(a);
                vec![v4(a), v6(plan.next_v6()?)]
            }
        };
        Some(ips)
    }

    fn allocated(&mut self, pool: usize, family: Family) {
        let Some(ips) = self.take(pool, family) else {
            // The pool is full: the service waits.
            self.pending(family);
            return;
        };
        let (namespace, tier) = self.placement(pool);
        let index = self.services.len();
        let mut svc = ServiceShape::new(index, namespace, tier, family, &mut self.rng);
        let pool_name = self.plans[pool].name.clone();
        if !self.plans[pool].auto_assign || self.rng.chance(50) {
            svc.annotation("metallb.io/address-pool", &pool_name);
            self.stats.requested_pool += 1;
        } else if self.rng.chance(30) {
            svc.annotation("metallb.io/loadBalancerIPs", &ips.join(","));
            self.stats.requested_ips += 1;
        } else if family == Family::V4 && self.probes.allocated.is_none() {
            self.probes.allocated = Some((namespace_name(namespace), svc.name.clone()));
        }
        svc.annotation("metallb.io/ip-allocated-from-pool", &pool_name);
        svc.ingress = ips;
        self.push(svc);
        self.stats.allocated += 1;
    }

    /// Services sharing one IPv4 address under one key, with disjoint ports.
    fn shared_group(&mut self, pool: usize, members: usize) {
        let Some(ips) = self.take(pool, Family::V4) else {
            self.pending(Family::V4);
            return;
        };
        let (namespace, tier) = self.placement(pool);
        let key = format!("share-{}", self.services.len());
        let port_sets: [&[(&str, &str, i32, i32)]; 3] = [
            &[("http", "TCP", 80, 8080), ("https", "TCP", 443, 8443)],
            &[("dns", "UDP", 53, 5353), ("dns-tcp", "TCP", 53, 5353)],
            &[("metrics", "TCP", 9100, 9100)],
        ];
        let pool_name = self.plans[pool].name.clone();
        for ports in port_sets.iter().take(members) {
            let index = self.services.len();
            let mut svc = ServiceShape::new(index, namespace, tier, Family::V4, &mut self.rng);
            svc.ports = ports.to_vec();
            svc.local = false;
            svc.annotation("metallb.io/allow-shared-ip", &key);
            if !self.plans[pool].auto_assign {
                svc.annotation("metallb.io/address-pool", &pool_name);
            }
            svc.annotation("metallb.io/ip-allocated-from-pool", &pool_name);
            svc.ingress = ips.clone();
            self.push(svc);
            self.stats.allocated += 1;
            self.stats.shared += 1;
        }
    }

    fn pending(&mut self, family: Family) {
        let index = self.services.len();
        let namespace = self.rng.below(self.namespaces);
        let tier = *self.rng.pick(&TIERS);
        let mut svc = ServiceShape::new(index, namespace, tier, family, &mut self.rng);
        let id = (namespace_name(namespace), svc.name.clone());
        let message = match self.rng.below(100) {
            0..20 => {
                let pool = self.plans[self.rng.below(self.plans.len())].name.clone();
                svc.annotation("metallb.io/address-pool", &pool);
                self.stats.requested_pool += 1;
                if self.probes.pending_requested_pool.is_none() {
                    self.probes.pending_requested_pool = Some(id);
                }
                format!("no available IPs in pool {pool}")
            }
            20..30 if family == Family::V4 && !self.held_v4.is_empty() => {
                // An address someone else already holds.
                let ip = v4(*self.rng.pick(&self.held_v4));
                svc.annotation("metallb.io/loadBalancerIPs", &ip);
                self.stats.requested_ips += 1;
                format!(
                    "can't change sharing key for \"{}/{}\", address also in use by another service",
                    id.0, id.1
                )
            }
            30..35 => {
                svc.annotation("metallb.io/allow-shared-ip", "pending-share");
                svc.local = false;
                "no available IPs".to_string()
            }
            _ => {
                match family {
                    Family::V4 if self.probes.pending_automatic.is_none() => {
                        self.probes.pending_automatic = Some(id)
                    }
                    Family::Dual if self.probes.pending_dual.is_none() => {
                        svc.policy = "PreferDualStack";
                        self.probes.pending_dual = Some(id)
                    }
                    _ => {}
                }
                "no available IPs".to_string()
            }
        };
        self.events.push(event(
            &namespace_name(namespace),
            &svc.name,
            index,
            &message,
        ));
        self.push(svc);
        self.stats.pending += 1;
    }

    fn push(&mut self, svc: ServiceShape) {
        match svc.family {
            Family::Dual => self.stats.dual_stack += 1,
            Family::V6 => self.stats.ipv6 += 1,
            Family::V4 => {}
        }
        self.services.push(svc.manifest());
    }
}

/// A service being generated.
struct ServiceShape {
    index: usize,
    name: String,
    namespace: String,
    tier: &'static str,
    family: Family,
    policy: &'static str,
    local: bool,
    annotations: Map<String, Value>,
    ports: Vec<(&'static str, &'static str, i32, i32)>,
    ingress: Vec<String>,
}

impl ServiceShape {
    fn new(
        index: usize,
        namespace: usize,
        tier: &'static str,
        family: Family,
        rng: &mut Rng,
    ) -> ServiceShape {
        let ports = match rng.below(3) {
            0 => vec![("http", "TCP", 80, 8080)],
            1 => vec![("http", "TCP", 80, 8080), ("https", "TCP", 443, 8443)],
            _ => vec![("grpc", "TCP", 9090, 9090)],
        };
        let policy = match family {
            Family::Dual if rng.chance(500) => "PreferDualStack",
            Family::Dual => "RequireDualStack",
            _ => "SingleStack",
        };
        ServiceShape {
            index,
            name: format!("svc-{index:06}"),
            namespace: namespace_name(namespace),
            tier,
            family,
            policy,
            local: rng.chance(150),
            annotations: Map::new(),
            ports,
            ingress: Vec::new(),
        }
    }

    fn annotation(&mut self, key: &str, value: &str) {
        self.annotations
            .insert(key.to_string(), Value::String(value.to_string()));
    }

    fn manifest(self) -> Value {
        let i = self.index as u32;
        // 10.96.0.0/12 and fd00:10:96::/108, as a kubeadm dual-stack cluster would use.
        let cluster_v4 = v4(u32::from(Ipv4Addr::new(10, 96, 0, 10)) + i);
        let cluster_v6 = v6((0xfd00_0010_0096u128 << 80) | (u128::from(i) + 10));
        let (cluster_ips, families) = match self.family {
            Family::V4 => (vec![cluster_v4], vec!["IPv4"]),
            Family::V6 => (vec![cluster_v6], vec!["IPv6"]),
            Family::Dual => (vec![cluster_v4, cluster_v6], vec!["IPv4", "IPv6"]),
        };
        let ports: Vec<Value> = self
            .ports
            .iter()
            .enumerate()
            .map(|(k, (name, protocol, port, target))| {
                json!({
                    "name": name,
                    "nodePort": 30000 + (i * 7 + k as u32) % 2768,
                    "port": port,
                    "protocol": protocol,
                    "targetPort": target,
                })
            })
            .collect();
        let mut spec = json!({
            "allocateLoadBalancerNodePorts": true,
            "clusterIP": cluster_ips[0],
            "clusterIPs": cluster_ips,
            "externalTrafficPolicy": if self.local { "Local" } else { "Cluster" },
            "internalTrafficPolicy": "Cluster",
            "ipFamilies": families,
            "ipFamilyPolicy": self.policy,
            "ports": ports,
            "selector": {"app.kubernetes.io/name": self.name},
            "sessionAffinity": "None",
            "type": "LoadBalancer",
        });
        if self.local {
            spec["healthCheckNodePort"] = json!(32000 + i % 700);
        }
        let ingress: Vec<Value> = self
            .ingress
            .iter()
            .map(|ip| json!({"ip": ip, "ipMode": "VIP"}))
            .collect();
        let status = if ingress.is_empty() {
            json!({"loadBalancer": {}})
        } else {
            json!({"loadBalancer": {"ingress": ingress}})
        };
        let mut metadata = json!({
            "name": self.name,
            "namespace": self.namespace,
            "labels": labels(&[
                ("app.kubernetes.io/name", self.name.as_str()),
                ("app.kubernetes.io/part-of", format!("app-{}", self.index % 997).as_str()),
                ("tier", self.tier),
            ]),
        });
        if !self.annotations.is_empty() {
            metadata["annotations"] = Value::Object(self.annotations);
        }
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": metadata,
            "spec": spec,
            "status": status,
        })
    }
}

fn namespace_manifest(name: &str, pairs: &[(&str, &str)]) -> Value {
    let mut all = vec![("kubernetes.io/metadata.name", name)];
    all.extend(
        pairs
            .iter()
            .copied()
            .filter(|(k, _)| *k != "kubernetes.io/metadata.name"),
    );
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": labels(&all)},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    })
}

fn pool_manifest(plan: &Plan) -> Value {
    let index: usize = plan.name["pool-".len()..]
        .parse()
        .expect("pool names end in their index");
    let tier = POOL_TIERS[index % POOL_TIERS.len()];
    let site = format!("site-{}", index % SITES);
    let mut spec = json!({
        "addresses": plan.addresses,
        "autoAssign": plan.auto_assign,
        "avoidBuggyIPs": plan.avoid_buggy,
    });
    let mut allocation = match &plan.scope {
        Scope::Plain => None,
        Scope::Namespaces(list) => Some(json!({
            "namespaces": list.iter().map(|&n| namespace_name(n)).collect::<Vec<_>>(),
        })),
        Scope::NamespaceSelector { key, value, .. } => Some(json!({
            "namespaceSelectors": [{"matchLabels": {*key: value}}],
        })),
        Scope::ServiceSelector(tiers) if tiers.len() == 1 => Some(json!({
            "serviceSelectors": [{"matchLabels": {"tier": tiers[0]}}],
        })),
        Scope::ServiceSelector(tiers) => Some(json!({
            "serviceSelectors": [{"matchExpressions": [{"key": "tier", "operator": "In", "values": tiers}]}],
        })),
        Scope::Everyone => Some(json!({})),
    };
    if let (Some(allocation), Some(priority)) = (&mut allocation, plan.priority) {
        allocation["priority"] = json!(priority);
    }
    if let Some(allocation) = allocation {
        spec["serviceAllocation"] = allocation;
    }
    json!({
        "apiVersion": METALLB_API,
        "kind": "IPAddressPool",
        "metadata": {
            "name": plan.name,
            "namespace": METALLB_NAMESPACE,
            "labels": labels(&[("tier", tier), ("site", &site)]),
        },
        "spec": spec,
    })
}

fn advertisement(kind: &str, name: &str, spec: Value) -> Value {
    json!({
        "apiVersion": METALLB_API,
        "kind": kind,
        "metadata": {"name": name, "namespace": METALLB_NAMESPACE},
        "spec": spec,
    })
}

fn event(namespace: &str, service: &str, index: usize, message: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": format!("{service}.{:016x}", 0x18a1_0000_0000_0000u64 + index as u64), "namespace": namespace},
        "involvedObject": {"apiVersion": "v1", "kind": "Service", "name": service, "namespace": namespace},
        "reason": "AllocationFailed",
        "message": format!("Failed to allocate IP for \"{namespace}/{service}\": {message}"),
        "source": {"component": "metallb-controller"},
        "firstTimestamp": "2025-01-04T08:00:01Z",
        "lastTimestamp": "2025-01-04T08:10:01Z",
        "count": 3,
        "type": "Warning",
        "reportingComponent": "metallb-controller",
        "reportingInstance": "",
    })
}

/// MetalLB's controller, as the upstream manifests deploy it.
fn controller_deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "controller",
            "namespace": METALLB_NAMESPACE,
            "labels": {"app": "metallb", "component": "controller"},
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "metallb", "component": "controller"}},
            "template": {
                "metadata": {"labels": {"app": "metallb", "component": "controller"}},
                "spec": {
                    "serviceAccountName": "controller",
                    "containers": [{
                        "name": "controller",
                        "image": "quay.io/metallb/controller:v0.15.2",
                        "args": ["--port=7472", "--log-level=info"],
                    }],
                },
            },
        },
        "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1},
    })
}
