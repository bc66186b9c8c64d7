//! Which pools MetalLB loads, whether it accepts the configuration, and what each pool's
//! `serviceAllocation` means (metallb-semantics.md §1.1–§1.3, §2, §7.1).

use std::collections::{BTreeSet, HashMap};

use super::addr::{AddressSpace, Block, EntryError, Family, Ip, parse_entry};
use super::reason::{Code, Reason};
use super::release::{Behaviour, go_quote};
use super::selector::{LabelMatcher, check_duplicates, compile, describe};
use crate::snapshot::{
    AddressPool, Advertisement, IpAddressPool, LegacyBgpAdvertisement, PoolStatus,
    ServiceAllocation, Snapshot, StringMap,
};

/// A pool as MetalLB's controller sees it.
#[derive(Clone, Debug)]
pub struct Pool {
    pub name: String,
    /// `spec.addresses` as written.
    pub addresses: Vec<String>,
    pub space: AddressSpace,
    pub auto_assign: bool,
    /// `Some` makes the pool *pinned*; `None` is a *plain* pool.
    pub allocation: Option<Allocation>,
    pub labels: StringMap,
    pub status: Option<PoolStatus>,
    /// How a legacy `AddressPool` (read up to v0.13.x) announces itself; `None` for an
    /// IPAddressPool. Such a pool is plain (no serviceAllocation), has no `avoidBuggyIPs`,
    /// and no L2Advertisement or BGPAdvertisement covers it.
    pub legacy: Option<LegacyProtocol>,
}

/// The `protocol` of a legacy `AddressPool`: its implied advertisement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegacyProtocol {
    /// An L2 advertisement from every node.
    Layer2,
    /// Its `bgpAdvertisements`, or one with the defaults when it has none.
    Bgp,
}

impl LegacyProtocol {
    /// As `spec.protocol` spells it.
    pub fn name(self) -> &'static str {
        match self {
            LegacyProtocol::Layer2 => "layer2",
            LegacyProtocol::Bgp => "bgp",
        }
    }

    /// The advertisement the pool implies, as `advertisedBy` names it.
    pub fn advertisement(self, pool: &str) -> String {
        match self {
            LegacyProtocol::Layer2 => format!("L2:AddressPool/{pool}"),
            LegacyProtocol::Bgp => format!("BGP:AddressPool/{pool}"),
        }
    }
}

/// A pool's `serviceAllocation`, resolved (§2.5).
#[derive(Clone, Debug, Default)]
pub struct Allocation {
    pub priority: i64,
    /// The explicit `namespaces`.
    pub namespaces: Vec<String>,
    /// `namespaceSelectors`, as text.
    pub namespace_selectors: Vec<String>,
    /// The allowed-namespace set: explicit names ∪ existing namespaces selected.
    /// Empty means "no namespace restriction" in the admission test.
    pub allowed_namespaces: BTreeSet<String>,
    /// `serviceSelectors`, or the implicit match-everything one of a priority-only pool.
    pub service_selectors: Vec<LabelMatcher>,
    /// Priority only (or `{}`): no namespaces and no selectors. Pinned to every service
    /// from v0.15.0; before, in neither index, so never auto-assigned (C.2).
    pub matches_everything: bool,
    /// `namespaceSelectors` without the namespaces' labels (no Namespace objects read): for
    /// a namespace not listed explicitly, admission is unknown.
    pub selectors_unknown: bool,
}

/// Why a pool does not admit a service (§4.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Namespace,
    ServiceLabels,
    /// Whether it does depends on namespace labels that were not read: never taken as a
    /// yes (an empty allowed set would otherwise admit every namespace).
    NamespaceUnknown,
}

impl Pool {
    pub fn is_pinned(&self) -> bool {
        self.allocation.is_some()
    }

    /// MetalLB's compatibility predicate: namespaces AND service selectors (§4.8).
    /// (Only the label keys of [`Config::service_label_keys`] can change its answer.)
    pub fn admits(&self, namespace: &str, labels: &StringMap) -> Result<(), Refusal> {
        self.admits_namespace(namespace)?;
        if !self.selects_labels(labels) {
            return Err(Refusal::ServiceLabels);
        }
        Ok(())
    }

    /// The namespace half of [`Pool::admits`], checked first.
    pub fn admits_namespace(&self, namespace: &str) -> Result<(), Refusal> {
        let Some(alloc) = &self.allocation else {
            return Ok(());
        };
        if alloc.selectors_unknown && !alloc.namespaces.iter().any(|n| n == namespace) {
            return Err(Refusal::NamespaceUnknown);
        }
        if !alloc.allowed_namespaces.is_empty() && !alloc.allowed_namespaces.contains(namespace) {
            return Err(Refusal::Namespace);
        }
        Ok(())
    }

    /// The label half of [`Pool::admits`]: no service selector, or one that matches.
    pub fn selects_labels(&self, labels: &StringMap) -> bool {
        self.allocation.as_ref().is_none_or(|alloc| {
            alloc.service_selectors.is_empty()
                || alloc.service_selectors.iter().any(|s| s.matches(labels))
        })
    }

    /// Whether automatic allocation ever lists this pool as pinned for a namespace: it must
    /// be indexed by that namespace or by a service selector (§2.5 step 4, §4.7 step 1).
    pub fn is_indexed_for(&self, namespace: &str) -> bool {
        self.in_namespace_index(namespace) || self.in_selector_index()
    }

    /// Whether the pool is in MetalLB's "pools by namespace" index under `namespace` (the
    /// part of the pinned list whose order is random). Go: config.go `poolsByNamespace`.
    pub fn in_namespace_index(&self, namespace: &str) -> bool {
        self.allocation
            .as_ref()
            .is_some_and(|a| a.allowed_namespaces.contains(namespace))
    }

    /// Whether the pool is in MetalLB's "pools by service selector" index (sorted by name).
    /// Go: config.go `poolsByServiceSelector`.
    pub fn in_selector_index(&self) -> bool {
        self.allocation
            .as_ref()
            .is_some_and(|a| !a.service_selectors.is_empty())
    }

    /// The pool's `serviceAllocation.priority` (0: unset, or no serviceAllocation).
    pub fn priority(&self) -> i64 {
        self.allocation.as_ref().map_or(0, |a| a.priority)
    }

    /// A short text for the scope column.
    pub fn scope(&self) -> String {
        let Some(alloc) = &self.allocation else {
            return "-".to_string();
        };
        if alloc.matches_everything {
            // Before v0.15.0 such a pool is in neither index: only explicit requests use it.
            return if alloc.service_selectors.is_empty() {
                "requests only".to_string()
            } else {
                "all services".to_string()
            };
        }
        let mut parts = Vec::new();
        if !alloc.namespaces.is_empty() {
            parts.push(format!("ns={}", alloc.namespaces.join(",")));
        }
        for sel in &alloc.namespace_selectors {
            parts.push(format!("nsSelector={sel}"));
        }
        for sel in &alloc.service_selectors {
            parts.push(format!("svcSelector={}", sel.text));
        }
        parts.join(" ")
    }
}

/// The configuration MetalLB's controller builds from the snapshot.
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub metallb_namespace: String,
    /// Pools in the MetalLB namespace, sorted by name (MetalLB's processing order).
    pub pools: Vec<Pool>,
    /// Validation errors, in MetalLB's order: the first is the one MetalLB reports.
    /// Any error means MetalLB rejects the whole configuration (§2.7).
    pub errors: Vec<String>,
    /// Things that do not invalidate the configuration but deserve a word.
    pub warnings: Vec<Reason>,
    /// Per pool (same index as `pools`): the advertisements announcing it, as
    /// `L2:<name>` / `BGP:<name>`.
    pub advertised_by: Vec<Vec<String>>,
    /// The `serviceSelectors` of the advertisements that have some (`L2:<name>` /
    /// `BGP:<name>`), read from v0.16.0 only: such an advertisement announces only the
    /// services they match (§7.2).
    pub advertisement_service_selectors: HashMap<String, Vec<LabelMatcher>>,
    /// Blocks of all pools sorted by address, for ownership look-ups: `(first, last, pool)`
    /// per family, compact so that a look-up per allocated service stays in cache.
    index_v4: Vec<(u32, u32, usize)>,
    index_v6: Vec<(u128, u128, usize)>,
    /// Blocks overlap (invalid configuration): look-ups must not trust the index order.
    overlapping: bool,
    /// Pool indices by name, for look-ups by name (a request per service, where a binary
    /// search over thousands of names waits on memory at every step).
    by_name: rustc_hash::FxHashMap<String, usize>,
}

impl Config {
    /// Builds the controller's view of `snapshot` as MetalLB in `metallb_namespace`, of the
    /// release `behaviour` describes, would: the IPAddressPools, then (up to v0.13.x) the
    /// legacy AddressPools.
    pub fn load(snapshot: &Snapshot, metallb_namespace: &str, behaviour: &Behaviour) -> Config {
        let mut config = Config {
            metallb_namespace: metallb_namespace.to_string(),
            ..Config::default()
        };
        let namespace_labels: Vec<(&str, &StringMap)> = snapshot
            .namespaces
            .iter()
            .map(|n| (n.metadata.name.as_str(), &n.metadata.labels))
            .collect();

        let mut crs: Vec<&IpAddressPool> = Vec::new();
        for cr in &snapshot.pools {
            if cr.metadata.namespace == metallb_namespace {
                crs.push(cr);
            } else {
                config.warnings.push(Reason::new(
                    Code::PoolOutsideMetallbNamespace,
                    format!(
                        "IPAddressPool {}/{} is ignored: MetalLB reads pools only from namespace {metallb_namespace}",
                        cr.metadata.namespace, cr.metadata.name
                    ),
                ).about_pool(&cr.metadata.name));
            }
        }
        // MetalLB processes pools sorted by name; the first error aborts (§2.6).
        crs.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        let mut names = BTreeSet::new();
        let mut ctx = PoolContext {
            namespaces: &namespace_labels,
            namespaces_known: snapshot.namespaces_known,
            behaviour,
            selected: SelectedNamespaces::default(),
        };
        for cr in crs {
            let (pool, errors) = pool_from_cr(cr, &mut ctx, &mut config.warnings);
            config.errors.extend(errors);
            if !names.insert(pool.name.clone()) {
                config
                    .errors
                    .push(format!("duplicate definition of pool {:?}", pool.name));
                continue;
            }
            config.pools.push(pool);
        }
        if behaviour.legacy_address_pools {
            config.load_legacy_pools(snapshot, &mut names);
        } else {
            config
                .warnings
                .extend(ignored_legacy_pools(snapshot, behaviour));
        }
        config.check_overlaps();
        config.by_name = config
            .pools
            .iter()
            .enumerate()
            .map(|(i, pool)| (pool.name.clone(), i))
            .collect();
        config.advertised_by = advertisements_per_pool(snapshot, &config);
        if behaviour.advertisement_service_selectors {
            config.advertisement_service_selectors =
                advertisement_service_selectors(snapshot, &config);
        }
        config
    }

    /// The legacy AddressPools of the MetalLB namespace, after the IPAddressPools and sorted
    /// by name, as v0.13.x reads them (Go: config.go `poolsFor`, `addressPoolFromLegacyCR`):
    /// plain pools announced by their `protocol`; a name an IPAddressPool already has is
    /// `duplicate definition of pool`.
    fn load_legacy_pools(&mut self, snapshot: &Snapshot, names: &mut BTreeSet<String>) {
        let mut crs: Vec<&AddressPool> = Vec::new();
        for cr in &snapshot.legacy_pools {
            if cr.metadata.namespace == self.metallb_namespace {
                crs.push(cr);
            } else {
                self.warnings.push(Reason::new(
                    Code::PoolOutsideMetallbNamespace,
                    format!(
                        "AddressPool {}/{} is ignored: MetalLB reads pools only from namespace {}",
                        cr.metadata.namespace, cr.metadata.name, self.metallb_namespace
                    ),
                ).about_pool(&cr.metadata.name));
            }
        }
        crs.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        for cr in crs {
            let (pool, errors) = legacy_pool_from_cr(cr, &mut self.warnings);
            self.errors.extend(errors);
            if !names.insert(pool.name.clone()) {
                self.errors
                    .push(format!("duplicate definition of pool {:?}", pool.name));
                continue;
            }
            let message = format!(
                "pool {}: a legacy AddressPool, read by MetalLB up to v0.13.x and ignored from v0.14.0; convert it to an IPAddressPool and an {} before upgrading",
                pool.name,
                match pool.legacy {
                    Some(LegacyProtocol::Bgp) => "BGPAdvertisement",
                    _ => "L2Advertisement",
                }
            );
            self.warnings
                .push(Reason::new(Code::LegacyPoolRead, message).about_pool(&pool.name));
            self.pools.push(pool);
        }
    }

    /// Whether MetalLB accepts this configuration.
    /// Every label key a service selector reads (pools' and, from v0.16.0,
    /// advertisements'): two services whose labels agree on these are alike to MetalLB.
    pub fn service_label_keys(&self) -> BTreeSet<&str> {
        let pools = self
            .pools
            .iter()
            .filter_map(|p| p.allocation.as_ref())
            .flat_map(|a| a.service_selectors.iter());
        let ads = self.advertisement_service_selectors.values().flatten();
        pools.chain(ads).flat_map(LabelMatcher::keys).collect()
    }

    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    /// The pool named `name` (names are unique: a duplicate is a validation error and left
    /// out).
    pub fn pool(&self, name: &str) -> Option<(usize, &Pool)> {
        let index = *self.by_name.get(name)?;
        Some((index, &self.pools[index]))
    }

    /// V9: any two blocks that overlap, within a pool or across pools (§2.6). Found with one
    /// sort and sweep, not by comparing every pair.
    fn check_overlaps(&mut self) {
        let mut index: Vec<(Block, usize)> = Vec::new();
        for (i, pool) in self.pools.iter().enumerate() {
            index.extend(pool.space.blocks.iter().map(|b| (*b, i)));
        }
        index.sort_by_key(|(b, _)| (b.first, b.prefix));
        let mut open: Option<(Block, usize)> = None;
        let mut found = Vec::new();
        for &(block, pool) in &index {
            match open {
                Some((outer, outer_pool)) if outer.overlaps(block) => {
                    found.push(((outer, outer_pool), (block, pool)))
                }
                Some((outer, _)) if outer.last() >= block.last() => {}
                _ => open = Some((block, pool)),
            }
        }
        for ((a, pa), (b, pb)) in found {
            // MetalLB names the block met later while processing pools by name.
            let ((earlier, _), (later, later_pool)) = if (pa, a) <= (pb, b) {
                ((a, pa), (b, pb))
            } else {
                ((b, pb), (a, pa))
            };
            self.errors.push(format!(
                "CIDR \"{later}\" in pool \"{}\" overlaps with already defined CIDR \"{earlier}\"",
                self.pools[later_pool].name
            ));
            self.overlapping = true;
        }
        for (block, pool) in index {
            let (first, last) = (block.first.value, block.last().value);
            match block.first.family {
                // IPv4 values fit 32 bits.
                Family::V4 => self.index_v4.push((first as u32, last as u32, pool)),
                Family::V6 => self.index_v6.push((first, last, pool)),
            }
        }
    }

    /// The pool owning every address of `ips` (MetalLB's `poolFor`, §3.3): `avoidBuggyIPs`
    /// exclusions are owned by nobody.
    pub fn pool_for(&self, ips: &[Ip]) -> Option<usize> {
        let first = *ips.first()?;
        let candidate = if self.overlapping {
            (0..self.pools.len()).find(|&i| self.pools[i].space.owns(first))
        } else {
            // The block that can hold `first`: the last one starting at or below it.
            match first.family {
                Family::V4 => owner(&self.index_v4, first.value as u32),
                Family::V6 => owner(&self.index_v6, first.value),
            }
        }?;
        let space = &self.pools[candidate].space;
        ips.iter().all(|ip| space.owns(*ip)).then_some(candidate)
    }

    /// Whether an advertisement covering `pool` announces a service with `labels`: one
    /// without `serviceSelectors`, or with one that matches (from v0.16.0; before, the field
    /// does not exist). Go: speaker layer2_controller.go / bgp_controller.go `ShouldAnnounce`.
    pub fn announces(&self, pool: usize, labels: &StringMap) -> bool {
        self.advertised_by[pool].iter().any(|ad| {
            self.advertisement_service_selectors
                .get(ad)
                .is_none_or(|selectors| selectors.iter().any(|m| m.matches(labels)))
        })
    }

    /// The pool whose blocks contain `ip`, ignoring `avoidBuggyIPs` (to explain refusals).
    pub fn pool_containing(&self, ip: Ip) -> Option<usize> {
        self.pools
            .iter()
            .position(|p| p.space.blocks.iter().any(|b| b.contains(ip)))
    }
}

/// In blocks sorted by their first address and not overlapping, the pool of the block that
/// contains `value`.
fn owner<T: Copy + Ord>(index: &[(T, T, usize)], value: T) -> Option<usize> {
    let at = index.partition_point(|&(first, _, _)| first <= value);
    let (_, last, pool) = *index.get(at.checked_sub(1)?)?;
    (value <= last).then_some(pool)
}

/// The namespaces each `namespaceSelector` met so far selects (indices into the namespace
/// list), by the selector's JSON: pools often share a selector, and matching every
/// namespace again for each of them was a large part of loading a large configuration.
#[derive(Default)]
struct SelectedNamespaces(HashMap<String, Vec<usize>>);

/// What turning pools into MetalLB's pools needs beyond the pool itself.
struct PoolContext<'a> {
    /// Every namespace with its labels.
    namespaces: &'a [(&'a str, &'a StringMap)],
    /// Whether Namespace objects were read at all.
    namespaces_known: bool,
    behaviour: &'a Behaviour,
    selected: SelectedNamespaces,
}

/// One pool's validation errors, worded as MetalLB words them.
struct PoolErrors<'a> {
    pool: &'a str,
    errors: Vec<String>,
}

impl<'a> PoolErrors<'a> {
    /// The errors of a pool before its addresses are parsed: a name, and some addresses
    /// (the same for an IPAddressPool and a legacy AddressPool).
    fn of(name: &'a str, addresses: &[String]) -> PoolErrors<'a> {
        let mut errors = PoolErrors {
            pool: name,
            errors: Vec::new(),
        };
        if name.is_empty() {
            errors.fail("missing pool name".to_string());
        }
        if addresses.is_empty() {
            errors.fail("pool has no prefixes defined".to_string());
        }
        errors
    }

    fn fail(&mut self, message: String) {
        self.errors
            .push(format!("parsing address pool {}: {message}", self.pool));
    }
}

/// Turns one IPAddressPool into MetalLB's pool, with the errors MetalLB would raise for it
/// (V1–V7). Invalid entries are dropped so the rest can still be evaluated.
/// Go: config.go `addressPoolFromCR`, `addressPoolServiceAllocationsFromCR` (its release
/// differences, C.2 and C.5: priority-only pools, duplicate checks, selector error texts).
fn pool_from_cr(
    cr: &IpAddressPool,
    ctx: &mut PoolContext,
    warnings: &mut Vec<Reason>,
) -> (Pool, Vec<String>) {
    let name = cr.metadata.name.as_str();
    let mut errors = PoolErrors::of(name, &cr.spec.addresses);
    let blocks = address_blocks(name, &cr.spec.addresses, &mut errors, warnings);
    let allocation = cr
        .spec
        .service_allocation
        .as_ref()
        .map(|sa| allocation(name, sa, ctx, &mut errors, warnings));
    let pool = Pool {
        name: name.to_string(),
        addresses: cr.spec.addresses.clone(),
        space: AddressSpace {
            blocks,
            avoid_buggy: cr.spec.avoid_buggy_ips.unwrap_or(false),
        },
        auto_assign: cr.spec.auto_assign.unwrap_or(true),
        allocation,
        labels: cr.metadata.labels.clone(),
        status: cr.status.clone(),
        legacy: None,
    };
    (pool, errors.errors)
}

/// Turns one legacy AddressPool into MetalLB's pool, with the errors v0.13.x raises for it
/// (Go: config.go `addressPoolFromLegacyCR`, `bgpAdvertisementsFromLegacyCR`). The pool is
/// plain, and `avoidBuggyIPs` does not apply: the legacy spec has no such field.
fn legacy_pool_from_cr(cr: &AddressPool, warnings: &mut Vec<Reason>) -> (Pool, Vec<String>) {
    let name = cr.metadata.name.as_str();
    let mut errors = PoolErrors::of(name, &cr.spec.addresses);
    let mut per_entry = Vec::new();
    let mut blocks = Vec::new();
    for entry in &cr.spec.addresses {
        let found = address_blocks(name, std::slice::from_ref(entry), &mut errors, warnings);
        per_entry.push((entry.as_str(), found.clone()));
        blocks.extend(found);
    }
    let legacy = match cr.spec.protocol.as_str() {
        "layer2" if !cr.spec.bgp_advertisements.is_empty() => {
            errors.fail(
                "cannot have bgp-advertisements configuration element in a layer2 address pool"
                    .to_string(),
            );
            Some(LegacyProtocol::Layer2)
        }
        "layer2" => Some(LegacyProtocol::Layer2),
        "bgp" => {
            if let Some(e) = legacy_bgp_error(&cr.spec.bgp_advertisements, &per_entry) {
                errors.fail(format!("parsing BGP advertisements: {e}"));
            }
            Some(LegacyProtocol::Bgp)
        }
        "" => {
            errors.fail("address pool is missing the protocol field".to_string());
            None
        }
        other => {
            errors.fail(format!("unknown protocol {}", go_quote(other)));
            None
        }
    };
    let pool = Pool {
        name: name.to_string(),
        addresses: cr.spec.addresses.clone(),
        space: AddressSpace {
            blocks,
            avoid_buggy: false,
        },
        auto_assign: cr.spec.auto_assign.unwrap_or(true),
        allocation: None,
        labels: cr.metadata.labels.clone(),
        status: None,
        // A pool whose protocol is refused is never loaded; it still needs a value.
        legacy: Some(legacy.unwrap_or(LegacyProtocol::Layer2)),
    };
    (pool, errors.errors)
}

/// The first error `bgpAdvertisementsFromLegacyCR` raises for a BGP AddressPool's
/// advertisements, given the blocks of each address entry. Go formats the first two
/// lengths with `%q`, which prints an integer as a quoted character (`'!'` for 33).
/// Entries are visited in map order in Go; here in the order written, so with several
/// offending entries the one named may differ.
fn legacy_bgp_error(
    ads: &[LegacyBgpAdvertisement],
    entries: &[(&str, Vec<Block>)],
) -> Option<String> {
    for ad in ads {
        let v4 = ad.aggregation_length.unwrap_or(32);
        if v4 > 32 {
            return Some(format!(
                "invalid aggregation length {} for IPv4",
                go_quote_rune(v4)
            ));
        }
        let v6 = ad.aggregation_length_v6.unwrap_or(128);
        if v6 > 128 {
            return Some(format!(
                "invalid aggregation length {} for IPv6",
                go_quote_rune(v6)
            ));
        }
        for (entry, blocks) in entries {
            let Some(first) = blocks.first() else {
                continue;
            };
            let max = match first.first.family {
                Family::V4 => v4,
                Family::V6 => v6,
            };
            // The least specific prefix of the entry (Go: `lowestMask`).
            let lowest = blocks
                .iter()
                .map(|b| i32::from(b.prefix))
                .min()
                .unwrap_or(0);
            if max < lowest {
                return Some(format!(
                    "invalid aggregation length {v4}: prefix {lowest} in this pool is more specific than the aggregation length for addresses {entry}"
                ));
            }
        }
    }
    None
}

/// Go's `%q` of an integer: the character of that code point, single-quoted.
fn go_quote_rune(value: i32) -> String {
    match u32::try_from(value).ok().and_then(char::from_u32) {
        Some('\\') => "'\\\\'".to_string(),
        Some('\'') => "'\\''".to_string(),
        Some(c) if c.is_ascii_graphic() || c == ' ' => format!("'{c}'"),
        Some(c) if (c as u32) < 0x80 => format!("'\\x{:02x}'", c as u32),
        Some(c) if (c as u32) < 0xa1 => format!("'\\u{:04x}'", c as u32),
        Some(c) => format!("'{c}'"),
        None => "'\\ufffd'".to_string(),
    }
}

/// Legacy AddressPools a release from v0.14.0 on does not read: a warning each.
fn ignored_legacy_pools(snapshot: &Snapshot, behaviour: &Behaviour) -> Vec<Reason> {
    snapshot
        .legacy_pools
        .iter()
        .map(|cr| {
            let name = &cr.metadata.name;
            let message = format!(
                "AddressPool {}/{name} is ignored: MetalLB {} reads no legacy AddressPool (only v0.13.x does); its addresses are in no pool, and services holding one lose it",
                cr.metadata.namespace, behaviour.release
            );
            Reason::new(Code::LegacyPoolIgnored, message).about_pool(name)
        })
        .collect()
}

/// The pool's `spec.addresses` as blocks (§2.1, §2.2), with a warning where MetalLB reads
/// an entry otherwise than it is written.
fn address_blocks(
    name: &str,
    entries: &[String],
    errors: &mut PoolErrors,
    warnings: &mut Vec<Reason>,
) -> Vec<Block> {
    let mut blocks = Vec::new();
    for entry in entries {
        match parse_entry(entry) {
            Ok(parsed) => {
                if parsed.host_bits_masked {
                    let message = format!(
                        "pool {name}: {entry:?} has host bits set; MetalLB uses {}",
                        parsed.blocks[0]
                    );
                    warnings.push(Reason::new(Code::HostBitsMasked, message).about_pool(name));
                }
                if parsed.mixed_families {
                    let message = format!(
                        "pool {name}: range {entry:?} mixes IPv4 and IPv6; MetalLB reads it as zero addresses"
                    );
                    warnings.push(Reason::new(Code::MixedFamilyRange, message).about_pool(name));
                }
                blocks.extend(parsed.blocks);
            }
            Err(err) => {
                let inner = match err {
                    EntryError::InvalidCidr => format!("invalid CIDR {entry:?}"),
                    other => format!("invalid IP range {entry:?}: {other}"),
                };
                errors.fail(format!("invalid CIDR {entry:?} in pool {name:?}: {inner}"));
            }
        }
    }
    blocks
}

/// `serviceAllocation` as MetalLB turns it into rules (§2.5): who the pool is pinned to and
/// at which priority.
fn allocation(
    name: &str,
    sa: &ServiceAllocation,
    ctx: &mut PoolContext,
    errors: &mut PoolErrors,
    warnings: &mut Vec<Reason>,
) -> Allocation {
    // Duplicates are accepted (a set) up to v0.13.9 (C.5).
    if ctx.behaviour.duplicate_selector_validation {
        check_allocation_duplicates(sa, errors);
    }
    let (allowed, matched_any) = allowed_namespaces(name, sa, ctx, errors);
    let mut service_selectors = Vec::new();
    for sel in &sa.service_selectors {
        match compile(sel) {
            Ok(m) => service_selectors.push(m),
            Err(e) => {
                let message = format!(
                    "invalid service label selector {:?} in ip pool {name}",
                    describe(sel)
                );
                errors.fail(ctx.behaviour.selector_error(&message, &e));
            }
        }
    }
    let matches_everything = sa.namespaces.is_empty()
        && sa.namespace_selectors.is_empty()
        && sa.service_selectors.is_empty();
    if matches_everything {
        if ctx.behaviour.priority_only_pool_is_pinned() {
            service_selectors.push(LabelMatcher::everything());
        } else {
            let message = format!(
                "pool {name}: serviceAllocation has no namespaces and no selectors; MetalLB {} never auto-assigns from it (explicit requests still work; from v0.15.0 it is pinned for every service)",
                ctx.behaviour.release
            );
            warnings.push(Reason::new(Code::SelectorMatchesNothing, message).about_pool(name));
        }
    }
    if !sa.namespace_selectors.is_empty() && !matched_any {
        warnings.push(unmatched_selectors_warning(name, sa, ctx.namespaces_known));
    }
    let priority = sa.priority.unwrap_or(0);
    if priority < 0 {
        let message = format!(
            "pool {name}: negative priority {priority}; MetalLB's order among pinned pools is then undefined"
        );
        warnings.push(Reason::new(Code::NegativePriority, message).about_pool(name));
    }
    Allocation {
        priority,
        namespaces: sa.namespaces.clone(),
        namespace_selectors: sa.namespace_selectors.iter().map(describe).collect(),
        allowed_namespaces: allowed,
        service_selectors,
        matches_everything,
        selectors_unknown: !sa.namespace_selectors.is_empty() && !ctx.namespaces_known,
    }
}

/// v0.13.10 on: a namespace listed twice, or a selector given twice, rejects the whole
/// configuration (`validateLabelSelectorDuplicate`).
fn check_allocation_duplicates(sa: &ServiceAllocation, errors: &mut PoolErrors) {
    let mut seen = BTreeSet::new();
    if sa.namespaces.iter().any(|ns| !seen.insert(ns)) {
        errors.fail("duplicate definition in namespaces field".to_string());
    }
    if let Err(e) = check_duplicates(&sa.namespace_selectors, "namespaceSelectors") {
        errors.fail(e);
    }
    if let Err(e) = check_duplicates(&sa.service_selectors, "serviceSelectors") {
        errors.fail(e);
    }
}

/// The namespaces listed and those the `namespaceSelectors` match; and whether any selector
/// matched at all. A selector met before (another pool's) is not matched again.
fn allowed_namespaces(
    name: &str,
    sa: &ServiceAllocation,
    ctx: &mut PoolContext,
    errors: &mut PoolErrors,
) -> (BTreeSet<String>, bool) {
    let mut allowed: BTreeSet<String> = sa.namespaces.iter().cloned().collect();
    let mut matched_any = false;
    for sel in &sa.namespace_selectors {
        let key = serde_json::to_string(sel).ok();
        let found = match key.as_ref().and_then(|k| ctx.selected.0.get(k)) {
            Some(found) => found.clone(),
            None => match compile(sel) {
                Ok(m) => {
                    let found: Vec<usize> = (0..ctx.namespaces.len())
                        .filter(|&i| m.matches(ctx.namespaces[i].1))
                        .collect();
                    if let Some(key) = key {
                        ctx.selected.0.insert(key, found.clone());
                    }
                    found
                }
                Err(e) => {
                    let message = format!(
                        "invalid namespace label selector {:?} in ip pool {name}",
                        describe(sel)
                    );
                    errors.fail(ctx.behaviour.selector_error(&message, &e));
                    continue;
                }
            },
        };
        allowed.extend(found.iter().map(|&i| ctx.namespaces[i].0.to_string()));
        matched_any |= !found.is_empty();
    }
    (allowed, matched_any)
}

/// `namespaceSelectors` that select nothing — or, without Namespace objects, that cannot be
/// evaluated — and what that means for the pool (§2.5 pitfall).
fn unmatched_selectors_warning(
    name: &str,
    sa: &ServiceAllocation,
    namespaces_known: bool,
) -> Reason {
    if !namespaces_known {
        let message = format!(
            "pool {name}: namespaceSelectors cannot be evaluated without the namespaces' labels (no Namespace objects were read); which namespaces the pool admits beyond those listed is unknown"
        );
        return Reason::new(Code::NamespacesUnknown, message).about_pool(name);
    }
    let effect = if !sa.namespaces.is_empty() {
        "only the listed namespaces are admitted"
    } else if sa.service_selectors.is_empty() {
        "MetalLB never auto-assigns from this pool, yet explicit requests from any namespace still work"
    } else {
        "the pool is pinned to matching services in every namespace"
    };
    let message = format!("pool {name}: namespaceSelectors match no namespace; {effect}");
    Reason::new(Code::SelectorMatchesNothing, message).about_pool(name)
}

/// Which advertisements cover each pool (§7.1): both lists empty means every pool; else the
/// named pools and the pools matching any selector (a selector matching nothing selects
/// nothing).
fn advertisements_per_pool(snapshot: &Snapshot, config: &Config) -> Vec<Vec<String>> {
    // A legacy pool is announced by itself: MetalLB attaches the advertisements before it
    // reads legacy pools, so none covers one.
    let mut covered: Vec<Vec<String>> = config
        .pools
        .iter()
        .map(|p| {
            p.legacy
                .map(|l| l.advertisement(&p.name))
                .into_iter()
                .collect()
        })
        .collect();
    let kinds = [
        ("L2", &snapshot.l2_advertisements),
        ("BGP", &snapshot.bgp_advertisements),
    ];
    for (label, ads) in kinds {
        for ad in ads.iter() {
            if ad.metadata.namespace != config.metallb_namespace {
                continue;
            }
            // Compiled once per advertisement, not once per pool.
            let selectors: Vec<LabelMatcher> = ad
                .spec
                .ip_address_pool_selectors
                .iter()
                .filter_map(|sel| compile(sel).ok())
                .collect();
            let name = format!("{label}:{}", ad.metadata.name);
            for (i, pool) in config.pools.iter().enumerate() {
                if pool.legacy.is_none() && advertisement_covers(ad, &selectors, pool) {
                    covered[i].push(name.clone());
                }
            }
        }
    }
    covered
}

/// The compiled `serviceSelectors` of each advertisement in the MetalLB namespace that has
/// some.
fn advertisement_service_selectors(
    snapshot: &Snapshot,
    config: &Config,
) -> HashMap<String, Vec<LabelMatcher>> {
    let kinds = [
        ("L2", &snapshot.l2_advertisements),
        ("BGP", &snapshot.bgp_advertisements),
    ];
    let mut found = HashMap::new();
    for (label, ads) in kinds {
        for ad in ads.iter() {
            if ad.metadata.namespace != config.metallb_namespace
                || ad.spec.service_selectors.is_empty()
            {
                continue;
            }
            let selectors = ad
                .spec
                .service_selectors
                .iter()
                .filter_map(|sel| compile(sel).ok())
                .collect();
            found.insert(format!("{label}:{}", ad.metadata.name), selectors);
        }
    }
    found
}

/// Warnings for advertisements MetalLB does not read.
pub fn advertisement_warnings(snapshot: &Snapshot, metallb_namespace: &str) -> Vec<Reason> {
    let kinds = [
        (&snapshot.l2_advertisements, "L2Advertisement"),
        (&snapshot.bgp_advertisements, "BGPAdvertisement"),
    ];
    kinds
        .into_iter()
        .flat_map(|(ads, kind)| ads.iter().map(move |ad| (ad, kind)))
        .filter(|(ad, _)| ad.metadata.namespace != metallb_namespace)
        .map(|(ad, kind)| {
            Reason::new(
                Code::AdvertisementOutsideMetallbNamespace,
                format!(
                    "{kind} {}/{} is ignored: MetalLB reads advertisements only from namespace {metallb_namespace}",
                    ad.metadata.namespace, ad.metadata.name
                ),
            )
        })
        .collect()
}

/// `selectors`: the advertisement's `ipAddressPoolSelectors` that compile.
fn advertisement_covers(ad: &Advertisement, selectors: &[LabelMatcher], pool: &Pool) -> bool {
    let spec = &ad.spec;
    if spec.ip_address_pools.is_empty() && spec.ip_address_pool_selectors.is_empty() {
        return true;
    }
    spec.ip_address_pools.contains(&pool.name) || selectors.iter().any(|m| m.matches(&pool.labels))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{
        advertisement as ad, allocating, labels, match_labels, namespace as ns, pool as cr,
        snapshot,
    };
    use crate::metallb::release::Release;
    use crate::snapshot::ServiceAllocation;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

    fn newest() -> Behaviour {
        Behaviour::of(Release::NEWEST)
    }

    #[test]
    fn only_the_metallb_namespace_is_read() {
        let mut elsewhere = cr("elsewhere", &["10.0.0.0/24"]);
        elsewhere.metadata.namespace = "default".into();
        let config = Config::load(
            &snapshot(vec![cr("a", &["10.1.0.0/24"]), elsewhere]),
            "metallb-system",
            &newest(),
        );
        assert_eq!(
            config
                .pools
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>(),
            ["a"]
        );
        assert_eq!(config.warnings[0].code, Code::PoolOutsideMetallbNamespace);
        // The same objects read with another MetalLB namespace.
        let config = Config::load(
            &snapshot(vec![cr("a", &["10.1.0.0/24"])]),
            "metallb",
            &newest(),
        );
        assert!(config.pools.is_empty());
    }

    #[test]
    fn pools_are_processed_by_name() {
        let config = Config::load(
            &snapshot(vec![
                cr("zeta", &["10.2.0.0/24"]),
                cr("alpha", &["10.1.0.0/24"]),
            ]),
            "metallb-system",
            &newest(),
        );
        assert_eq!(config.pools[0].name, "alpha");
        assert!(config.is_valid());
    }

    #[test]
    fn invalid_entries_reject_the_whole_config() {
        let config = Config::load(
            &snapshot(vec![cr("a", &["10.0.0.7"]), cr("b", &["10.1.0.0/24"])]),
            "metallb-system",
            &newest(),
        );
        assert!(!config.is_valid());
        assert_eq!(
            config.errors[0],
            "parsing address pool a: invalid CIDR \"10.0.0.7\" in pool \"a\": invalid CIDR \"10.0.0.7\""
        );
        let config = Config::load(
            &snapshot(vec![cr("a", &["10.0.0.9-10.0.0.1"])]),
            "metallb-system",
            &newest(),
        );
        assert!(config.errors[0].contains("invalid IP range \"10.0.0.9-10.0.0.1\": start IP \"10.0.0.9\" is after the end IP \"10.0.0.1\""));
        let config = Config::load(&snapshot(vec![cr("a", &[])]), "metallb-system", &newest());
        assert_eq!(
            config.errors,
            ["parsing address pool a: pool has no prefixes defined"]
        );
        let config = Config::load(
            &snapshot(vec![cr("", &["10.0.0.0/24"])]),
            "metallb-system",
            &newest(),
        );
        assert_eq!(config.errors, ["parsing address pool : missing pool name"]);
    }

    #[test]
    fn host_bits_are_masked_with_a_warning_not_refused() {
        let config = Config::load(
            &snapshot(vec![cr("a", &["10.0.0.5/24"])]),
            "metallb-system",
            &newest(),
        );
        assert!(config.is_valid(), "{:?}", config.errors);
        assert_eq!(config.warnings.len(), 1, "{:?}", config.warnings);
        let warning = &config.warnings[0];
        assert_eq!(warning.code, Code::HostBitsMasked);
        assert_eq!(warning.pool.as_deref(), Some("a"));
        assert!(
            warning.message.ends_with("MetalLB uses 10.0.0.0/24"),
            "{warning:?}"
        );
        assert_eq!(
            config.pools[0].space.total(Family::V4),
            256,
            "the whole /24"
        );
        let exact = Config::load(
            &snapshot(vec![cr("a", &["10.0.0.0/24"])]),
            "metallb-system",
            &newest(),
        );
        assert!(exact.warnings.is_empty(), "{:?}", exact.warnings);
    }

    #[test]
    fn a_range_mixing_families_is_warned_about_and_holds_nothing() {
        let config = Config::load(
            &snapshot(vec![cr("a", &["10.0.0.1-fd00::1", "10.1.0.0/30"])]),
            "metallb-system",
            &newest(),
        );
        assert!(config.is_valid(), "{:?}", config.errors);
        assert_eq!(config.warnings.len(), 1, "{:?}", config.warnings);
        assert_eq!(config.warnings[0].code, Code::MixedFamilyRange);
        assert_eq!(config.warnings[0].pool.as_deref(), Some("a"));
        let space = &config.pools[0].space;
        assert_eq!(space.total(Family::V4), 4, "only the /30");
        assert_eq!(space.total(Family::V6), 0);
    }

    #[test]
    fn overlaps_within_and_across_pools_are_invalid() {
        let config = Config::load(
            &snapshot(vec![cr("a", &["10.0.0.0/24"]), cr("b", &["10.0.0.128/25"])]),
            "metallb-system",
            &newest(),
        );
        assert_eq!(
            config.errors,
            [
                "CIDR \"10.0.0.128/25\" in pool \"b\" overlaps with already defined CIDR \"10.0.0.0/24\""
            ]
        );
        let config = Config::load(
            &snapshot(vec![cr("a", &["10.0.0.0/24", "10.0.0.0/24"])]),
            "metallb-system",
            &newest(),
        );
        assert_eq!(config.errors.len(), 1, "an identical line overlaps itself");
        let config = Config::load(
            &snapshot(vec![
                cr("a", &["10.0.0.0/24", "10.0.1.0/24"]),
                cr("b", &["10.0.2.0-10.0.2.9"]),
            ]),
            "metallb-system",
            &newest(),
        );
        assert!(
            config.is_valid(),
            "adjacent blocks are fine: {:?}",
            config.errors
        );
        // A range overlapping a CIDR of another pool.
        let config = Config::load(
            &snapshot(vec![
                cr("a", &["10.0.0.0/24"]),
                cr("b", &["10.0.0.250-10.0.1.5"]),
            ]),
            "metallb-system",
            &newest(),
        );
        assert!(!config.is_valid());
    }

    #[test]
    fn duplicate_namespaces_and_selectors_are_invalid() {
        let mut pool = cr("a", &["10.0.0.0/24"]);
        pool.spec.service_allocation = Some(ServiceAllocation {
            namespaces: vec!["x".into(), "x".into()],
            ..Default::default()
        });
        let config = Config::load(&snapshot(vec![pool]), "metallb-system", &newest());
        assert_eq!(
            config.errors,
            ["parsing address pool a: duplicate definition in namespaces field"]
        );

        let sel = match_labels(&[("team", "a")]);
        let mut pool = cr("a", &["10.0.0.0/24"]);
        pool.spec.service_allocation = Some(ServiceAllocation {
            service_selectors: vec![sel.clone(), sel],
            ..Default::default()
        });
        assert!(!Config::load(&snapshot(vec![pool]), "metallb-system", &newest()).is_valid());
    }

    /// `errors` of a configuration of `pools` on each release of [`Release::CHECKED`].
    fn errors_per_release(pools: Vec<IpAddressPool>) -> Vec<Vec<String>> {
        Release::CHECKED
            .into_iter()
            .map(|release| {
                Config::load(
                    &snapshot(pools.clone()),
                    "metallb-system",
                    &Behaviour::of(release),
                )
                .errors
            })
            .collect()
    }

    /// `none` on v0.13.9, `text` (prefixed with the pool) from v0.13.10.
    fn from_0_13_10(text: &str) -> Vec<Vec<String>> {
        let mut expected = vec![vec![format!("parsing address pool a: {text}")]; 5];
        expected[0] = Vec::new();
        expected
    }

    #[test]
    fn identical_selectors_are_accepted_by_0_13_9_and_invalid_after_in_metallb_words() {
        let sel = match_labels(&[("k", "v")]);
        let namespaces = pinned(
            "a",
            ServiceAllocation {
                namespace_selectors: vec![sel.clone(), sel.clone()],
                ..Default::default()
            },
        );
        assert_eq!(
            errors_per_release(vec![namespaces]),
            from_0_13_10("duplicate definition of namespaceSelectors {map[\"k\":\"v\"] []}")
        );
        let services = pinned(
            "a",
            ServiceAllocation {
                service_selectors: vec![sel.clone(), sel],
                ..Default::default()
            },
        );
        assert_eq!(
            errors_per_release(vec![services]),
            from_0_13_10("duplicate definition of serviceSelectors {map[\"k\":\"v\"] []}")
        );
    }

    #[test]
    fn a_repeated_match_expression_is_accepted_by_0_13_9_and_invalid_after() {
        let exists = k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement {
            key: "k".into(),
            operator: "Exists".into(),
            values: None,
        };
        let repeated = pinned(
            "a",
            ServiceAllocation {
                namespace_selectors: vec![LabelSelector {
                    match_labels: None,
                    match_expressions: Some(vec![exists.clone(), exists]),
                }],
                ..Default::default()
            },
        );
        assert_eq!(
            errors_per_release(vec![repeated]),
            from_0_13_10("duplicate definition of match expressions {\"k\" \"Exists\" []}")
        );
    }

    #[test]
    fn overlaps_are_worded_alike_in_every_release() {
        let overlap = vec![cr("a", &["10.0.0.0/24"]), cr("b", &["10.0.0.128/25"])];
        let text = "CIDR \"10.0.0.128/25\" in pool \"b\" overlaps with already defined CIDR \"10.0.0.0/24\"";
        assert_eq!(errors_per_release(overlap), vec![vec![text.to_string()]; 5]);
    }

    #[test]
    fn an_empty_service_allocation_is_never_auto_assigned_before_0_15_0() {
        // `serviceAllocation: {}` is restricted but in no index before #2714 (v0.15.0), and
        // pinned for every service after it, as a priority-only one.
        for release in Release::CHECKED {
            let config = Config::load(
                &snapshot(vec![pinned("e", ServiceAllocation::default())]),
                "metallb-system",
                &Behaviour::of(release),
            );
            let pool = &config.pools[0];
            let pinned_for_all = release >= Release::new(0, 15, 0);
            assert!(pool.is_pinned(), "{release}");
            assert_eq!(pool.is_indexed_for("any"), pinned_for_all, "{release}");
            assert_eq!(
                pool.admits("any", &labels(&[])),
                Ok(()),
                "{release}: requests work"
            );
        }
    }

    #[test]
    fn bad_selector_is_invalid() {
        let sel = match_labels(&[("not a key", "a")]);
        let mut pool = cr("a", &["10.0.0.0/24"]);
        pool.spec.service_allocation = Some(ServiceAllocation {
            namespace_selectors: vec![sel],
            ..Default::default()
        });
        let config = Config::load(&snapshot(vec![pool]), "metallb-system", &newest());
        assert!(
            config.errors[0].contains("invalid namespace label selector"),
            "{:?}",
            config.errors
        );
    }

    /// A /24 pool with this allocation scope.
    fn pinned(name: &str, sa: ServiceAllocation) -> IpAddressPool {
        allocating(cr(name, &["10.0.0.0/24"]), sa)
    }

    #[test]
    fn priority_only_pool_is_pinned_to_everyone() {
        let config = Config::load(
            &snapshot(vec![pinned(
                "d",
                ServiceAllocation {
                    priority: Some(1),
                    ..Default::default()
                },
            )]),
            "metallb-system",
            &newest(),
        );
        let pool = &config.pools[0];
        assert!(pool.is_pinned());
        assert!(pool.allocation.as_ref().unwrap().matches_everything);
        assert_eq!(pool.scope(), "all services");
        assert!(pool.is_indexed_for("any-namespace"));
        assert_eq!(pool.admits("any-namespace", &labels(&[])), Ok(()));
        // `{}` is the same as priority only; an absent serviceAllocation is a plain pool.
        let config = Config::load(
            &snapshot(vec![pinned("e", ServiceAllocation::default())]),
            "metallb-system",
            &newest(),
        );
        assert!(config.pools[0].is_indexed_for("x"));
        let config = Config::load(
            &snapshot(vec![cr("plain", &["10.0.0.0/24"])]),
            "metallb-system",
            &newest(),
        );
        assert!(!config.pools[0].is_pinned() && !config.pools[0].is_indexed_for("x"));
    }

    #[test]
    fn priority_only_pool_is_never_auto_assigned_before_0_15_0() {
        let priority_only = || {
            snapshot(vec![pinned(
                "d",
                ServiceAllocation {
                    priority: Some(1),
                    ..Default::default()
                },
            )])
        };
        let old = Config::load(
            &priority_only(),
            "metallb-system",
            &Behaviour::of(Release::V0_14_9),
        );
        let pool = &old.pools[0];
        assert!(pool.is_pinned() && !pool.is_indexed_for("any"));
        assert_eq!(pool.admits("any", &labels(&[])), Ok(()), "requests work");
        assert_eq!(pool.scope(), "requests only");
        assert_eq!(old.warnings[0].code, Code::SelectorMatchesNothing);
        let new = Config::load(
            &priority_only(),
            "metallb-system",
            &Behaviour::of(Release::new(0, 15, 0)),
        );
        assert!(new.pools[0].is_indexed_for("any") && new.warnings.is_empty());
    }

    #[test]
    fn namespaces_and_service_selectors_are_anded() {
        let sel = match_labels(&[("app", "web")]);
        let sa = ServiceAllocation {
            namespaces: vec!["team-a".into()],
            service_selectors: vec![sel],
            ..Default::default()
        };
        let config = Config::load(
            &snapshot(vec![pinned("p", sa)]),
            "metallb-system",
            &newest(),
        );
        let pool = &config.pools[0];
        assert_eq!(pool.admits("team-a", &labels(&[("app", "web")])), Ok(()));
        assert_eq!(
            pool.admits("team-b", &labels(&[("app", "web")])),
            Err(Refusal::Namespace)
        );
        assert_eq!(
            pool.admits("team-a", &labels(&[("app", "db")])),
            Err(Refusal::ServiceLabels)
        );
    }

    #[test]
    fn namespace_selectors_resolve_against_existing_namespaces() {
        let sel = match_labels(&[("environment", "production")]);
        let sa = ServiceAllocation {
            namespace_selectors: vec![sel],
            ..Default::default()
        };
        let mut snap = snapshot(vec![pinned("prod", sa)]);
        snap.namespaces = vec![
            ns("shop", &[("environment", "production")]),
            ns("dev", &[("environment", "dev")]),
        ];
        snap.namespaces_known = true;
        let config = Config::load(&snap, "metallb-system", &newest());
        let pool = &config.pools[0];
        assert_eq!(pool.admits("shop", &labels(&[])), Ok(()));
        assert_eq!(pool.admits("dev", &labels(&[])), Err(Refusal::Namespace));
        assert!(pool.is_indexed_for("shop") && !pool.is_indexed_for("dev"));
    }

    #[test]
    fn pools_sharing_a_namespace_selector_select_the_same_namespaces() {
        let prod = match_labels(&[("env", "prod")]);
        let bad = match_labels(&[("not a key", "x")]);
        let scoped = |name: &str, cidr: &str, selector: &LabelSelector| {
            let mut pool = cr(name, &[cidr]);
            pool.spec.service_allocation = Some(ServiceAllocation {
                namespace_selectors: vec![selector.clone()],
                ..Default::default()
            });
            pool
        };
        let mut snap = snapshot(vec![
            scoped("a", "10.0.0.0/24", &prod),
            scoped("b", "10.0.1.0/24", &prod),
            scoped("c", "10.0.2.0/24", &bad),
            scoped("d", "10.0.3.0/24", &bad),
        ]);
        snap.namespaces = vec![
            ns("shop", &[("env", "prod")]),
            ns("dev", &[("env", "dev")]),
            ns("bank", &[("env", "prod")]),
        ];
        snap.namespaces_known = true;
        let config = Config::load(&snap, "metallb-system", &newest());
        let allowed = |i: usize| {
            let alloc = config.pools[i].allocation.as_ref().unwrap();
            alloc.allowed_namespaces.iter().cloned().collect::<Vec<_>>()
        };
        assert_eq!(allowed(0), ["bank", "shop"]);
        assert_eq!(allowed(1), allowed(0));
        assert_eq!(
            config.errors.len(),
            2,
            "each pool with the bad selector is an error"
        );
        assert!(
            config.errors[1].contains("in ip pool d"),
            "{:?}",
            config.errors
        );
    }

    #[test]
    fn namespace_selector_matching_nothing_admits_everyone_but_is_never_indexed() {
        let sel = match_labels(&[("environment", "production")]);
        let sa = ServiceAllocation {
            namespace_selectors: vec![sel],
            ..Default::default()
        };
        let mut snap = snapshot(vec![pinned("prod", sa)]);
        snap.namespaces = vec![ns("dev", &[])];
        snap.namespaces_known = true;
        let config = Config::load(&snap, "metallb-system", &newest());
        let pool = &config.pools[0];
        assert_eq!(
            pool.admits("dev", &labels(&[])),
            Ok(()),
            "empty allowed set = no restriction"
        );
        assert!(!pool.is_indexed_for("dev"));
        assert_eq!(config.warnings[0].code, Code::SelectorMatchesNothing);
        assert_eq!(config.warnings[0].pool.as_deref(), Some("prod"));
    }

    #[test]
    fn namespace_selectors_without_namespace_objects_are_unknown_not_empty() {
        let sa = ServiceAllocation {
            namespace_selectors: vec![match_labels(&[("environment", "production")])],
            ..Default::default()
        };
        let snap = snapshot(vec![pinned("prod", sa)]);
        assert!(!snap.namespaces_known);
        let config = Config::load(&snap, "metallb-system", &newest());
        assert!(config.is_valid(), "{:?}", config.errors);
        assert_eq!(config.warnings.len(), 1, "{:?}", config.warnings);
        assert_eq!(config.warnings[0].code, Code::NamespacesUnknown);
        assert_eq!(config.warnings[0].pool.as_deref(), Some("prod"));
        assert!(!config.pools[0].is_indexed_for("production"));
    }

    #[test]
    fn pool_for_needs_every_address_in_one_pool() {
        let mut buggy = cr("b", &["10.1.0.0/24"]);
        buggy.spec.avoid_buggy_ips = Some(true);
        let config = Config::load(
            &snapshot(vec![
                cr("a", &["10.0.0.0/24", "2001:db8::/64"]),
                buggy,
                cr("c", &["2001:db9::/64"]),
            ]),
            "metallb-system",
            &newest(),
        );
        let ip = |s: &str| Ip::parse(s).unwrap();
        assert_eq!(config.pool_for(&[ip("10.0.0.9")]), Some(0));
        assert_eq!(
            config.pool_for(&[ip("10.0.0.9"), ip("2001:db8::9")]),
            Some(0)
        );
        assert_eq!(config.pool_for(&[ip("10.0.0.9"), ip("2001:db9::9")]), None);
        assert_eq!(
            config.pool_for(&[ip("10.1.0.0")]),
            None,
            "avoidBuggyIPs address is owned by nobody"
        );
        assert_eq!(config.pool_containing(ip("10.1.0.0")), Some(1));
        assert_eq!(config.pool_for(&[ip("10.1.0.1")]), Some(1));
        assert_eq!(config.pool_for(&[ip("192.0.2.1")]), None);
    }

    #[test]
    fn advertisements_outside_the_namespace_are_reported() {
        let mut elsewhere = ad("stray", &[], vec![]);
        elsewhere.metadata.namespace = "default".into();
        let mut snap = snapshot(vec![cr("a", &["10.0.0.0/24"])]);
        snap.bgp_advertisements = vec![elsewhere];
        let warnings = advertisement_warnings(&snap, "metallb-system");
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].code, Code::AdvertisementOutsideMetallbNamespace);
        let config = Config::load(&snap, "metallb-system", &newest());
        assert!(
            config.advertised_by[0].is_empty(),
            "an ignored advertisement announces nothing"
        );
    }

    #[test]
    fn advertisement_coverage() {
        let mut labelled = cr("edge", &["10.1.0.0/24"]);
        labelled.metadata.labels = labels(&[("tier", "edge")]);
        let mut snap = snapshot(vec![
            cr("a", &["10.0.0.0/24"]),
            labelled,
            cr("c", &["10.2.0.0/24"]),
        ]);
        let edge = match_labels(&[("tier", "edge")]);
        let nothing = match_labels(&[("tier", "none")]);
        snap.l2_advertisements = vec![ad("named", &["a", "missing"], vec![])];
        snap.bgp_advertisements = vec![
            ad("by-label", &[], vec![edge]),
            ad("matches-nothing", &[], vec![nothing]),
        ];
        let config = Config::load(&snap, "metallb-system", &newest());
        // Pools are sorted by name: a, c, edge.
        assert_eq!(
            config.advertised_by,
            vec![
                vec!["L2:named".to_string()],
                vec![],
                vec!["BGP:by-label".to_string()]
            ]
        );
        snap.l2_advertisements = vec![ad("all", &[], vec![])];
        let config = Config::load(&snap, "metallb-system", &newest());
        assert!(
            config
                .advertised_by
                .iter()
                .all(|a| a.contains(&"L2:all".to_string()))
        );
    }

    // ----- Legacy AddressPools (C.2, C.5) -----

    fn legacy(name: &str, addresses: &[&str], protocol: &str) -> AddressPool {
        let mut p = AddressPool::default();
        p.metadata.name = name.into();
        p.metadata.namespace = "metallb-system".into();
        p.spec.protocol = protocol.into();
        p.spec.addresses = addresses.iter().map(|a| a.to_string()).collect();
        p
    }

    fn load_at(snap: &Snapshot, release: Release) -> Config {
        Config::load(snap, "metallb-system", &Behaviour::of(release))
    }

    #[test]
    fn legacy_pools_come_after_ipaddresspools_announced_by_their_protocol() {
        let mut snap = snapshot(vec![cr("z", &["10.9.0.0/24"])]);
        snap.legacy_pools = vec![
            legacy("l2", &["10.1.0.0/24"], "layer2"),
            legacy("a-bgp", &["10.2.0.0/24"], "bgp"),
        ];
        // An advertisement of every pool covers the IPAddressPools only: MetalLB attaches
        // advertisements before it reads the legacy pools.
        snap.l2_advertisements = vec![ad("all", &[], vec![])];
        let config = load_at(&snap, Release::V0_13_9);
        assert!(config.is_valid(), "{:?}", config.errors);
        let names: Vec<&str> = config.pools.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["z", "a-bgp", "l2"]);
        assert_eq!(
            config.advertised_by,
            vec![
                vec!["L2:all".to_string()],
                vec!["BGP:AddressPool/a-bgp".to_string()],
                vec!["L2:AddressPool/l2".to_string()],
            ]
        );
        assert!(config.pools[1].allocation.is_none() && !config.pools[1].space.avoid_buggy);
        assert_eq!(config.pools[2].legacy, Some(LegacyProtocol::Layer2));
        // From v0.14.0 they are not pools at all.
        let config = load_at(&snap, Release::V0_14_8);
        assert_eq!(config.pools.len(), 1);
        assert!(
            config
                .warnings
                .iter()
                .filter(|w| w.code == Code::LegacyPoolIgnored)
                .count()
                == 2
        );
    }

    #[test]
    fn pools_are_found_by_name_legacy_ones_too() {
        let mut snap = snapshot(vec![cr("z", &["10.9.0.0/24"]), cr("m", &["10.8.0.0/24"])]);
        snap.legacy_pools = vec![legacy("a", &["10.1.0.0/24"], "layer2")];
        let config = load_at(&snap, Release::V0_13_9);
        // The legacy pool is last in `pools` but first by name.
        for name in ["a", "m", "z"] {
            let (index, pool) = config.pool(name).expect(name);
            assert_eq!(
                (config.pools[index].name.as_str(), pool.name.as_str()),
                (name, name)
            );
        }
        assert!(config.pool("b").is_none());
        assert!(config.pool("").is_none());
    }

    #[test]
    fn legacy_pool_errors_as_0_13_words_them() {
        let errors = |pools: Vec<AddressPool>, ipaddresspools: Vec<IpAddressPool>| {
            let mut snap = snapshot(ipaddresspools);
            snap.legacy_pools = pools;
            (
                load_at(&snap, Release::V0_13_9).errors,
                load_at(&snap, Release::V0_14_8).errors,
            )
        };
        let (old, new) = errors(vec![legacy("p", &["10.0.0.0/24"], "")], vec![]);
        assert_eq!(
            old,
            ["parsing address pool p: address pool is missing the protocol field"]
        );
        assert!(new.is_empty(), "{new:?}");
        let (old, _) = errors(vec![legacy("p", &["10.0.0.0/24"], "arp")], vec![]);
        assert_eq!(old, ["parsing address pool p: unknown protocol \"arp\""]);
        // Quoted as Go's %q quotes, control characters included.
        let (old, _) = errors(vec![legacy("p", &["10.0.0.0/24"], "l2\u{1}")], vec![]);
        assert_eq!(
            old,
            ["parsing address pool p: unknown protocol \"l2\\x01\""]
        );
        let mut l2 = legacy("p", &["10.0.0.0/24"], "layer2");
        l2.spec.bgp_advertisements = vec![LegacyBgpAdvertisement::default()];
        let (old, _) = errors(vec![l2], vec![]);
        assert_eq!(
            old,
            [
                "parsing address pool p: cannot have bgp-advertisements configuration element in a layer2 address pool"
            ]
        );
        // A name an IPAddressPool has, and an overlap with one.
        let (old, new) = errors(
            vec![legacy("p", &["10.0.1.0/24"], "layer2")],
            vec![cr("p", &["10.0.0.0/24"])],
        );
        assert_eq!(old, ["duplicate definition of pool \"p\""]);
        assert!(new.is_empty(), "{new:?}");
        let (old, _) = errors(
            vec![legacy("q", &["10.0.0.128/25"], "layer2")],
            vec![cr("p", &["10.0.0.0/24"])],
        );
        assert_eq!(
            old,
            [
                "CIDR \"10.0.0.128/25\" in pool \"q\" overlaps with already defined CIDR \"10.0.0.0/24\""
            ]
        );
    }

    #[test]
    fn legacy_bgp_aggregation_lengths_are_checked_against_the_pool() {
        let bgp = |v4: Option<i32>, v6: Option<i32>, addresses: &[&str]| {
            let mut p = legacy("p", addresses, "bgp");
            p.spec.bgp_advertisements = vec![LegacyBgpAdvertisement {
                aggregation_length: v4,
                aggregation_length_v6: v6,
            }];
            let mut snap = snapshot(vec![]);
            snap.legacy_pools = vec![p];
            load_at(&snap, Release::V0_13_9).errors
        };
        // Go's %q of an int is a quoted character: 33 is '!', 129 is '\u0081'.
        assert_eq!(
            bgp(Some(33), None, &["10.0.0.0/24"]),
            [
                "parsing address pool p: parsing BGP advertisements: invalid aggregation length '!' for IPv4"
            ]
        );
        assert_eq!(
            bgp(None, Some(129), &["fd00::/64"]),
            [
                "parsing address pool p: parsing BGP advertisements: invalid aggregation length '\\u0081' for IPv6"
            ]
        );
        assert_eq!(
            bgp(Some(16), None, &["10.0.0.0/24"]),
            [
                "parsing address pool p: parsing BGP advertisements: invalid aggregation length 16: prefix 24 in this pool is more specific than the aggregation length for addresses 10.0.0.0/24"
            ]
        );
        assert!(bgp(Some(24), None, &["10.0.0.0/24"]).is_empty());
        // A range is refused only when none of its blocks fits: the least specific counts.
        assert!(bgp(Some(24), None, &["10.0.0.0-10.0.1.0"]).is_empty());
        // An IPv6 entry is checked against aggregationLengthV6, named by the IPv4 length.
        assert_eq!(
            bgp(Some(24), Some(48), &["fd00::/64"]),
            [
                "parsing address pool p: parsing BGP advertisements: invalid aggregation length 24: prefix 64 in this pool is more specific than the aggregation length for addresses fd00::/64"
            ]
        );
    }

    #[test]
    fn legacy_pools_outside_the_metallb_namespace_are_not_read() {
        let mut elsewhere = legacy("p", &["10.0.0.0/24"], "layer2");
        elsewhere.metadata.namespace = "default".into();
        let mut snap = snapshot(vec![]);
        snap.legacy_pools = vec![elsewhere];
        let config = load_at(&snap, Release::V0_13_9);
        assert!(config.pools.is_empty());
        assert_eq!(config.warnings[0].code, Code::PoolOutsideMetallbNamespace);
    }
}
