//! `check`: everything that is wrong or about to go wrong, cluster-wide, in one pass: the
//! configuration as MetalLB judges it, every LoadBalancer service MetalLB does not serve
//! (the `why` engine, one decision per pending or stale service), and common mistakes.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashSet};

use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::bits::Bits;
use crate::memo::kept;
use crate::metallb::addr::{Ip, ip_list};
use crate::metallb::allocator::{Cluster, Decision, Detail, Mode, PinnedScope, SelectorKeys};
use crate::metallb::config::{Config, Pool};
use crate::metallb::reason::{Code, Reason};
use crate::metallb::release::{AnnotationKeys, MetallbVersion};
use crate::metallb::service::ServiceFacts;
use crate::model::Model;
use crate::snapshot::{
    ANNOTATION_PREFIX, DEPRECATED_PREFIX, InputIssue, Location, ObjectKey, Snapshot, StringMap,
};
use crate::suggest::closest;

/// How bad a finding is. Ordered as reports list them: errors first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
    Info,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub level: Level,
    pub code: Code,
    pub object: ObjectKey,
    /// Shared by the findings of services decided alike.
    pub message: Arc<str>,
    /// For a service: the `why` reason codes behind the finding (shared by the findings of
    /// services decided alike).
    #[serde(skip_serializing_if = "no_details")]
    pub details: Arc<[Reason]>,
    /// Offline: the file the object was read from, and the line its document starts on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport<'m> {
    pub metallb_namespace: String,
    pub metallb_version: MetallbVersion,
    /// Errors first, then warnings, then infos; within a level by object.
    pub findings: Vec<Finding>,
    pub summary: Summary,
    /// What was checked: [`CheckReport::checked`] lists its objects when asked (only the
    /// JUnit report and the table's count do), not on every run.
    #[serde(skip)]
    snapshot: &'m Snapshot,
    #[serde(skip)]
    services: &'m [ServiceFacts<'m>],
    /// `--strict`: warnings fail the run (and are failures in JUnit).
    #[serde(skip)]
    pub strict: bool,
}

/// An object checked. Borrowed from the model: one per LoadBalancer service, so a copy
/// each would cost more than the check of most of them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Checked<'m> {
    pub kind: &'static str,
    pub namespace: Cow<'m, str>,
    pub name: Cow<'m, str>,
    /// Offline: the file the object was read from.
    pub file: Option<&'m str>,
}

impl<'m> CheckReport<'m> {
    /// The contract's exit 1: an error, or with `strict` a warning.
    pub fn fails(&self) -> bool {
        self.summary.errors > 0 || (self.strict && self.summary.warnings > 0)
    }

    /// Every object checked (pools, advertisements, LoadBalancer services, and whatever a
    /// finding names), in `ObjectKey` order, with their files: the test cases of the JUnit
    /// report.
    pub fn checked(&self) -> Vec<Checked<'m>> {
        let read = read_objects(self.snapshot, self.services);
        checked_objects(self.snapshot, read, &self.findings)
    }
}

fn no_details(details: &Arc<[Reason]>) -> bool {
    details.is_empty()
}

/// Findings are collected here before they get their locations and order.
#[derive(Default)]
struct Findings(Vec<Finding>);

impl Findings {
    fn add(&mut self, level: Level, code: Code, object: ObjectKey, message: impl Into<Arc<str>>) {
        self.add_with(level, code, object, message, Arc::from([]));
    }

    fn add_with(
        &mut self,
        level: Level,
        code: Code,
        object: ObjectKey,
        message: impl Into<Arc<str>>,
        details: Arc<[Reason]>,
    ) {
        self.0.push(Finding {
            level,
            code,
            object,
            message: message.into(),
            details,
            file: None,
            line: None,
        });
    }
}

/// The report on `model`; `prepared` is [`prepare`]'s answer when the model was built with it
/// alongside ([`Model::build_alongside`]), else worked out here.
pub fn build<'m>(
    model: &'m Model,
    prepared: Option<Prepared>,
    threshold: u8,
    strict: bool,
) -> CheckReport<'m> {
    let cluster = &model.cluster;
    let prepared = prepared
        .unwrap_or_else(|| prepare(&cluster.services, cluster.selector_keys(), &cluster.config));
    // Two threads that share the model (whose memos are behind locks): the pinned pools
    // serving each audience, their ties, and the findings `prepared` holds on one, the
    // configuration's findings on the other. Then both take the services' findings a chunk
    // at a time until none is left, so that neither waits for the other.
    let services = ServiceChecks::new(&model.cluster, true, &prepared);
    let (before, chunks, after, side) = std::thread::scope(|scope| {
        let side = scope.spawn(|| {
            let mut found = Findings::default();
            let audiences = audiences(&model.cluster, &prepared.audiences);
            priority_ties(&model.cluster, &audiences, &mut found);
            namespaces_without_pool(&model.cluster, &audiences, &mut found);
            annotations(model, &prepared.annotated, &mut found);
            for (i, code, message) in &prepared.unmet {
                let object = service_ref(&model.cluster.services[*i], model, *i);
                found.add(Level::Error, *code, object, message.as_str());
            }
            (found, services.run(model))
        });
        let mut found = Findings::default();
        config_invalid(model, &mut found);
        objects_outside_metallb_namespace(model, &mut found);
        other_configuration_warnings(model, &mut found);
        not_advertised(&model.cluster, &mut found);
        namespaces_unknown(model, &mut found);
        service_selectors_matching_nothing(model, &mut found);
        nearly_full(&model.cluster, threshold, &mut found);
        let mut chunks = services.run(model);
        let mut after = Findings::default();
        input_notes(model, &mut after);
        // A panic on the side is a bug: it goes on here, as on one thread.
        let (side, side_chunks) = side
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        chunks.extend(side_chunks);
        (found, chunks, after, side)
    });
    // Each finding is moved once on its way into its level (they are many, and large).
    let mut findings = in_report_order(
        before
            .0
            .into_iter()
            .chain(in_chunk_order(chunks))
            .chain(after.0)
            .chain(side.0),
    );
    for f in &mut findings {
        if let Some(at) = location(model, &f.object) {
            f.file = Some(at.file.to_string());
            f.line = at.line;
        }
    }
    let count = |level| findings.iter().filter(|f| f.level == level).count();
    let summary = Summary {
        errors: count(Level::Error),
        warnings: count(Level::Warning),
        infos: count(Level::Info),
    };
    CheckReport {
        metallb_namespace: model.cluster.config.metallb_namespace.clone(),
        metallb_version: model.version,
        snapshot: model.snapshot,
        services: &model.cluster.services,
        findings,
        summary,
        strict,
    }
}

/// Errors, then warnings, then infos; within a level by object, code and message.
fn in_report_order(findings: impl Iterator<Item = Finding>) -> Vec<Finding> {
    // Each level on its own keeps the order the services were checked in (the API server
    // lists them by namespace and name): the sort then mostly finds runs already in order,
    // where one sort of every level mixed would compare strings n log n times.
    let mut by_level: [Vec<Finding>; 3] = Default::default();
    for f in findings {
        let at = match f.level {
            Level::Error => 0,
            Level::Warning => 1,
            Level::Info => 2,
        };
        by_level[at].push(f);
    }
    for level in &mut by_level {
        level.sort_by(|a, b| (&a.object, a.code, &a.message).cmp(&(&b.object, b.code, &b.message)));
    }
    let mut all = Vec::with_capacity(by_level.iter().map(Vec::len).sum());
    for level in by_level {
        all.extend(level);
    }
    all
}

/// Where an object was read, offline.
fn location<'m>(model: &'m Model, object: &ObjectKey) -> Option<&'m Location> {
    model.snapshot.locations.get(object)
}

/// The pools, advertisements and LoadBalancer services read, in `Checked` order.
fn read_objects<'m>(snapshot: &'m Snapshot, services: &[ServiceFacts]) -> Vec<Checked<'m>> {
    fn meta<'m>(kind: &'static str, m: &'m crate::snapshot::Metadata) -> Checked<'m> {
        Checked {
            kind,
            namespace: Cow::Borrowed(&m.namespace),
            name: Cow::Borrowed(&m.name),
            file: None,
        }
    }
    let mut all: Vec<Checked> = Vec::with_capacity(snapshot.pools.len() + snapshot.services.len());
    all.extend(
        snapshot
            .pools
            .iter()
            .map(|p| meta("IPAddressPool", &p.metadata)),
    );
    all.extend(
        snapshot
            .legacy_pools
            .iter()
            .map(|p| meta("AddressPool", &p.metadata)),
    );
    all.extend(
        snapshot
            .l2_advertisements
            .iter()
            .map(|a| meta("L2Advertisement", &a.metadata)),
    );
    all.extend(
        snapshot
            .bgp_advertisements
            .iter()
            .map(|a| meta("BGPAdvertisement", &a.metadata)),
    );
    all.extend(
        snapshot
            .services
            .iter()
            .zip(services)
            .filter(|(_, facts)| facts.is_managed())
            .map(|(s, _)| meta("Service", &s.metadata)),
    );
    // Stable: it merges the runs the input already has (the API server lists services by
    // namespace and name) instead of sorting from scratch.
    all.sort();
    all.dedup();
    all
}

/// The objects read ([`read_objects`]) and those only findings name, in `ObjectKey`
/// order, with their files.
fn checked_objects<'m>(
    snapshot: &'m Snapshot,
    all: Vec<Checked<'m>>,
    findings: &[Finding],
) -> Vec<Checked<'m>> {
    // The objects only findings name (a namespace, the configuration): few, copied, and
    // merged into the sorted list in one pass. Findings are sorted by level, then object:
    // within a level each object is looked for from where the previous one was found.
    let mut named: Vec<Checked> = Vec::new();
    for level in findings.chunk_by(|a, b| a.level == b.level) {
        let mut from = 0;
        for o in level.iter().map(|f| &f.object) {
            let wanted = (o.kind, o.namespace.as_str(), o.name.as_str());
            let (at, found) = gallop(&all[from..], |c| {
                (c.kind, c.namespace.as_ref(), c.name.as_ref()).cmp(&wanted)
            });
            from += at;
            if !found {
                named.push(Checked {
                    kind: o.kind,
                    namespace: Cow::Owned(o.namespace.to_string()),
                    name: Cow::Owned(o.name.to_string()),
                    file: None,
                });
            }
        }
    }
    named.sort();
    named.dedup();
    let mut all = merge_sorted(all, named);
    if !snapshot.locations.is_empty() {
        for c in &mut all {
            let object = ObjectKey::new(c.kind, &c.namespace, &c.name);
            c.file = snapshot.locations.get(&object).map(|at| &*at.file);
        }
    }
    all
}

/// Where `order` (the ordering of each element to the one wanted) puts the wanted element
/// in the sorted `list`, and whether it is there: a search from the start in steps that
/// double, so an element near the start is found in a few comparisons.
fn gallop<T>(list: &[T], order: impl Fn(&T) -> std::cmp::Ordering) -> (usize, bool) {
    let mut end = 1;
    while end < list.len() && order(&list[end - 1]).is_lt() {
        end *= 2;
    }
    let start = end / 2;
    let end = end.min(list.len());
    match list[start..end].binary_search_by(&order) {
        Ok(at) => (start + at, true),
        Err(at) => (start + at, false),
    }
}

/// Two sorted lists as one sorted list.
fn merge_sorted<T: Ord>(a: Vec<T>, b: Vec<T>) -> Vec<T> {
    if b.is_empty() {
        return a;
    }
    let mut merged = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
        let next = if x <= y { a.next() } else { b.next() };
        merged.extend(next);
    }
    merged.extend(a);
    merged.extend(b);
    merged
}

fn pool_ref(model: &Model, name: &str) -> ObjectKey {
    ObjectKey::new(
        pool_kind(model, name),
        &model.cluster.config.metallb_namespace,
        name,
    )
}

/// The kind of the pool named `name` in MetalLB's namespace: a legacy `AddressPool` (read up
/// to v0.13.x) is reported under its own kind.
fn pool_kind(model: &Model, name: &str) -> &'static str {
    let snapshot = model.snapshot;
    if snapshot.legacy_pools.is_empty() {
        return "IPAddressPool";
    }
    let config = &model.cluster.config;
    if let Some((_, pool)) = config.pool(name) {
        return pool_key(config, pool).kind;
    }
    // Not loaded (its errors made the configuration invalid): the object of that name.
    let named =
        |m: &crate::snapshot::Metadata| m.name == name && m.namespace == config.metallb_namespace;
    let ip_pool = snapshot.pools.iter().any(|p| named(&p.metadata));
    let legacy = snapshot.legacy_pools.iter().any(|p| named(&p.metadata));
    if legacy && !ip_pool {
        "AddressPool"
    } else {
        "IPAddressPool"
    }
}

/// The object a finding about a loaded pool is on.
fn pool_key(config: &Config, pool: &Pool) -> ObjectKey {
    let kind = if pool.legacy.is_some() {
        "AddressPool"
    } else {
        "IPAddressPool"
    };
    ObjectKey::new(kind, &config.metallb_namespace, &pool.name)
}

/// The whole configuration, when no single object is to blame.
fn configuration_ref(model: &Model) -> ObjectKey {
    ObjectKey::new("MetalLB", "", &model.cluster.config.metallb_namespace)
}

fn service_ref(facts: &ServiceFacts, model: &Model, index: usize) -> ObjectKey {
    ObjectKey::new(
        "Service",
        facts.namespace,
        &model.snapshot.services[index].metadata.name,
    )
}

/// `config-invalid`: each of MetalLB's validation errors, on the pool it names.
fn config_invalid(model: &Model, found: &mut Findings) {
    let config = &model.cluster.config;
    for error in &config.errors {
        let object = pool_named_in(model, error)
            .map_or_else(|| configuration_ref(model), |name| pool_ref(model, name));
        found.add(
            Level::Error,
            Code::ConfigInvalid,
            object,
            format!(
                "MetalLB rejects the whole configuration and keeps serving its last valid one: {error}"
            ),
        );
    }
}

/// The pool of MetalLB's namespace that a validation message names (the longest name that
/// appears as a name in it: `pool NAME:`, `pool "NAME"`…).
fn pool_named_in<'m>(model: &'m Model, message: &str) -> Option<&'m str> {
    let namespace = &model.cluster.config.metallb_namespace;
    // Legacy AddressPools are pools only where the release reads them (v0.13.x).
    let legacy = model
        .snapshot
        .legacy_pools
        .iter()
        .filter(|_| model.cluster.behaviour.legacy_address_pools)
        .map(|p| &p.metadata);
    model
        .snapshot
        .pools
        .iter()
        .map(|p| &p.metadata)
        .chain(legacy)
        .filter(|m| m.namespace == *namespace)
        .map(|m| m.name.as_str())
        .filter(|name| {
            [
                format!("\"{name}\""),
                format!("pool {name}:"),
                format!("pool {name} "),
            ]
            .iter()
            .any(|form| message.contains(form.as_str()))
        })
        .max_by_key(|name| name.len())
}

/// `pool-outside-metallb-namespace`, `advertisement-outside-metallb-namespace`.
fn objects_outside_metallb_namespace(model: &Model, found: &mut Findings) {
    let namespace = &model.cluster.config.metallb_namespace;
    let snapshot = model.snapshot;
    for pool in snapshot
        .pools
        .iter()
        .filter(|p| p.metadata.namespace != *namespace)
    {
        found.add(
            Level::Warning,
            Code::PoolOutsideMetallbNamespace,
            ObjectKey::new(
                "IPAddressPool",
                &pool.metadata.namespace,
                &pool.metadata.name,
            ),
            format!(
                "MetalLB reads IPAddressPools only from namespace {namespace}: this one is ignored"
            ),
        );
    }
    let ads = [
        ("L2Advertisement", &snapshot.l2_advertisements),
        ("BGPAdvertisement", &snapshot.bgp_advertisements),
    ];
    for (kind, list) in ads {
        for ad in list.iter().filter(|a| a.metadata.namespace != *namespace) {
            found.add(
                Level::Warning,
                Code::AdvertisementOutsideMetallbNamespace,
                ObjectKey::new(kind, &ad.metadata.namespace, &ad.metadata.name),
                format!(
                    "MetalLB reads {kind}s only from namespace {namespace}: this one is ignored"
                ),
            );
        }
    }
}

/// The configuration's and the reading's other warnings (mixed-family ranges, negative
/// priorities, host bits, selectors that match nothing, MetalLB not found…), each on the
/// pool it is about, else on the configuration.
fn other_configuration_warnings(model: &Model, found: &mut Findings) {
    let handled_elsewhere = [
        Code::PoolOutsideMetallbNamespace,
        Code::AdvertisementOutsideMetallbNamespace,
        Code::DuplicateObject,
        Code::NotRendered,
        Code::UnknownKind,
    ];
    let all = model
        .cluster
        .config
        .warnings
        .iter()
        .chain(&model.warnings)
        .filter(|w| !handled_elsewhere.contains(&w.code));
    for w in all {
        let level = match w.code {
            Code::SelectorMatchesNothing
            | Code::MixedFamilyRange
            | Code::NegativePriority
            | Code::LegacyPoolIgnored => Level::Warning,
            _ => Level::Info,
        };
        let object = match (w.code, w.pool.as_deref()) {
            (Code::LegacyPoolRead | Code::LegacyPoolIgnored, Some(p)) => {
                ObjectKey::new("AddressPool", &model.cluster.config.metallb_namespace, p)
            }
            (_, pool) => pool.map_or_else(|| configuration_ref(model), |p| pool_ref(model, p)),
        };
        found.add(level, w.code, object, w.message.clone());
    }
}

/// `duplicate-object`, `not-rendered`: what reading the files noticed, at its place.
fn input_notes(model: &Model, found: &mut Findings) {
    for note in &model.snapshot.input_notes {
        let (code, object) = match (note.issue, &note.object) {
            (InputIssue::DuplicateObject, Some(key)) => (
                Code::DuplicateObject,
                ObjectKey::new(key.kind, &key.namespace, &key.name),
            ),
            (InputIssue::DuplicateObject, None) => continue,
            (InputIssue::NotRendered, _) => {
                (Code::NotRendered, ObjectKey::new("Path", "", &note.at.file))
            }
            (InputIssue::UnknownKind, _) => {
                (Code::UnknownKind, ObjectKey::new("Path", "", &note.at.file))
            }
        };
        found.add(Level::Warning, code, object, note.message.clone());
        let finding = found.0.last_mut().expect("just added");
        finding.file = Some(note.at.file.to_string());
        finding.line = note.at.line;
    }
}

/// `not-advertised`.
fn not_advertised(cluster: &Cluster, found: &mut Findings) {
    let config = &cluster.config;
    for (pool, ads) in config.pools.iter().zip(&config.advertised_by) {
        if ads.is_empty() {
            found.add(
                Level::Warning,
                Code::NotAdvertised,
                pool_key(config, pool),
                "no L2Advertisement or BGPAdvertisement announces this pool: the addresses it hands out are unreachable",
            );
        }
    }
}

/// `namespace-unknown`: `serviceAllocation.namespaces` naming a namespace that does not
/// exist, when the input has Namespace objects.
fn namespaces_unknown(model: &Model, found: &mut Findings) {
    let snapshot = model.snapshot;
    if !snapshot.namespaces_known {
        return;
    }
    let objects: HashSet<&str> = snapshot
        .namespaces
        .iter()
        .map(|n| n.metadata.name.as_str())
        .collect();
    let config = &model.cluster.config;
    // Usually every named namespace has its object: the services are looked at only when
    // one has none.
    let without_object = config
        .pools
        .iter()
        .filter_map(|p| p.allocation.as_ref())
        .flat_map(|a| &a.namespaces)
        .any(|ns| !objects.contains(ns.as_str()));
    if !without_object {
        return;
    }
    // A namespace that holds a service exists, whether or not its object was read.
    let known: BTreeSet<&str> = objects
        .iter()
        .copied()
        .chain(
            snapshot
                .services
                .iter()
                .map(|s| s.metadata.namespace.as_str()),
        )
        .collect();
    for pool in &config.pools {
        let Some(alloc) = &pool.allocation else {
            continue;
        };
        for ns in alloc
            .namespaces
            .iter()
            .filter(|ns| !known.contains(ns.as_str()))
        {
            let hint = closest(ns, known.iter().copied())
                .map(|c| format!("; did you mean {c}?"))
                .unwrap_or_default();
            found.add(
                Level::Warning,
                Code::NamespaceUnknown,
                pool_key(&model.cluster.config, pool),
                format!(
                    "serviceAllocation.namespaces names {ns}, and no such namespace exists{hint}"
                ),
            );
        }
    }
}

/// `selector-matches-nothing` for `serviceSelectors` (namespace selectors are judged by the
/// configuration): only when there are LoadBalancer services to match.
fn service_selectors_matching_nothing(model: &Model, found: &mut Findings) {
    let cluster = &model.cluster;
    let lb: Vec<&StringMap> = cluster
        .services
        .iter()
        .filter(|s| s.is_managed())
        .map(|s| s.labels)
        .collect();
    if lb.is_empty() {
        return;
    }
    for pool in &cluster.config.pools {
        let Some(alloc) = &pool.allocation else {
            continue;
        };
        if alloc.matches_everything || alloc.service_selectors.is_empty() {
            continue;
        }
        let matches_any = lb
            .iter()
            .any(|labels| alloc.service_selectors.iter().any(|m| m.matches(labels)));
        if !matches_any {
            let texts: Vec<&str> = alloc
                .service_selectors
                .iter()
                .map(|m| m.text.as_str())
                .collect();
            found.add(
                Level::Warning,
                Code::SelectorMatchesNothing,
                pool_key(&cluster.config, pool),
                format!(
                    "serviceSelectors ({}) match no LoadBalancer service",
                    texts.join("; ")
                ),
            );
        }
    }
}

/// Whether `used` of `total` is at or above `threshold` percent (exact integers).
fn at_or_above(used: u128, total: u128, threshold: u8) -> bool {
    if total == 0 {
        return false;
    }
    match (
        used.checked_mul(100),
        total.checked_mul(u128::from(threshold)),
    ) {
        (Some(a), Some(b)) => a >= b,
        // A total this large is never nearly full by a count of services.
        _ => false,
    }
}

/// `pool-nearly-full`.
fn nearly_full(cluster: &Cluster, threshold: u8, found: &mut Findings) {
    for (i, pool) in cluster.config.pools.iter().enumerate() {
        let (v4, v6) = cluster.counts(i);
        let all = v4.plus(v6);
        if at_or_above(all.used, all.total, threshold) {
            found.add(
                Level::Warning,
                Code::PoolNearlyFull,
                pool_key(&cluster.config, pool),
                format!(
                    "{} of {} addresses are in use ({}%, threshold {threshold}%): {} left",
                    all.used,
                    all.total,
                    all.used * 100 / all.total,
                    all.free
                ),
            );
        }
    }
}

/// Who a new automatic service is to the pools: its namespace, and its labels under the keys
/// some selector reads (no other label can change MetalLB's answer).
type AudienceKey<'a> = (&'a str, Vec<(&'a str, &'a str)>);

/// The automatic LoadBalancer services MetalLB manages, one per distinct audience: an
/// example service, how many it stands for, and the pinned pools that would serve them
/// (the plain pools serve every audience).
struct Audience {
    service: usize,
    count: usize,
    /// Shared by audiences served alike.
    pinned: std::sync::Arc<[usize]>,
}

/// What `check` reads from the services' facts and the configuration alone, so the command
/// works it out while the model's occupancy is rebuilt ([`Model::build_alongside`]): the
/// audiences, grouped ([`Prepared::audiences`] each with an example and a count, in
/// namespace and labels order; per service, the example of its audience), the services that
/// set an annotation MetalLB reads, and the requests that cannot be met.
pub struct Prepared {
    audiences: Vec<(usize, usize)>,
    /// For an automatic service, the first service met of its namespace and labels: the
    /// two are walked alike (the walk reads nothing else of a service), so the example's
    /// walk, looked up once, is every one of theirs.
    examples: Vec<Option<u32>>,
    /// The managed services that set an annotation MetalLB reads, ascending: few services do.
    annotated: Vec<usize>,
    /// The requests of managed services that cannot be met, in service order.
    unmet: Vec<Unmet>,
}

/// A service's request that cannot be met: the service, `pool-not-found` or
/// `requested-ip-not-in-any-pool`, and the message.
type Unmet = (usize, Code, String);

pub fn prepare(services: &[ServiceFacts], keys: &SelectorKeys, config: &Config) -> Prepared {
    type ByLabels<'a> = FxHashMap<Vec<(&'a str, &'a str)>, (usize, usize)>;
    let mut first: FxHashMap<AudienceKey, (usize, usize)> = FxHashMap::default();
    // The audiences of a run of one namespace's services (the API server lists services by
    // namespace), keyed by labels alone: a service's labels are read into one reused
    // buffer, and copied only for an audience the run has not met. A namespace met again
    // later keeps its first example.
    let mut run: (&str, ByLabels) = ("", FxHashMap::default());
    fn end_run<'a>(
        (namespace, audiences): &mut (&'a str, ByLabels<'a>),
        first: &mut FxHashMap<AudienceKey<'a>, (usize, usize)>,
    ) {
        for (labels, (service, count)) in audiences.drain() {
            first.entry((*namespace, labels)).or_insert((service, 0)).1 += count;
        }
    }
    let mut examples = vec![None; services.len()];
    let mut annotated = Vec::new();
    let mut unmet = Vec::new();
    let mut read = Vec::new();
    for (i, s) in services.iter().enumerate() {
        if !s.is_managed() {
            continue;
        }
        if s.annotations_set().next().is_some() {
            annotated.push(i);
        }
        unmet_requests(config, i, s, &mut unmet);
        if !s.is_automatic() {
            continue;
        }
        if s.namespace != run.0 {
            end_run(&mut run, &mut first);
            run.0 = s.namespace;
        }
        keys.read_into(s.labels, &mut read);
        let example = match run.1.get_mut(read.as_slice()) {
            Some((example, count)) => {
                *count += 1;
                *example
            }
            None => {
                run.1.insert(read.clone(), (i, 1));
                i
            }
        };
        examples[i] = u32::try_from(example).ok();
    }
    end_run(&mut run, &mut first);
    let mut by_key: Vec<(AudienceKey, (usize, usize))> = first.into_iter().collect();
    // By namespace and labels: findings name examples in that order.
    by_key.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Prepared {
        audiences: by_key.into_iter().map(|(_, audience)| audience).collect(),
        examples,
        annotated,
        unmet,
    }
}

/// The grouped audiences with the pinned pools that would serve each.
fn audiences(cluster: &Cluster, grouped: &[(usize, usize)]) -> Vec<Audience> {
    grouped
        .iter()
        .map(|&(service, count)| Audience {
            service,
            count,
            pinned: cluster.serving_pinned_pools_like(service),
        })
        .collect()
}

/// `priority-tie`: pinned pools at one priority that would all serve some service.
fn priority_ties(cluster: &Cluster, audiences: &[Audience], found: &mut Findings) {
    let config = &cluster.config;
    // Each pool's priority, read once: the lists below name the same pools many times.
    let priorities: Vec<Option<i64>> = config
        .pools
        .iter()
        .map(|p| p.allocation.as_ref().map(|a| a.priority))
        .collect();
    // The first audience (in namespace and labels order) each tie is met for. Most lists
    // tie the same groups again: a group met before is looked up as a slice, not copied.
    let mut ties: FxHashMap<Vec<usize>, usize> = FxHashMap::default();
    // Audiences served alike share their list: each list is grouped once.
    let mut grouped: FxHashSet<*const [usize]> = FxHashSet::default();
    // The list's pools by priority, then index: a tie is a run of one priority.
    let mut by_priority: Vec<(i64, usize)> = Vec::new();
    let mut group: Vec<usize> = Vec::new();
    for audience in audiences.iter().filter(|a| a.pinned.len() > 1) {
        if !grouped.insert(std::sync::Arc::as_ptr(&audience.pinned)) {
            continue;
        }
        by_priority.clear();
        by_priority.extend(
            audience
                .pinned
                .iter()
                .filter_map(|&p| Some((priorities[p]?, p))),
        );
        by_priority.sort_unstable();
        for run in by_priority
            .chunk_by(|a, b| a.0 == b.0)
            .filter(|g| g.len() > 1)
        {
            group.clear();
            group.extend(run.iter().map(|&(_, p)| p));
            if !ties.contains_key(group.as_slice()) {
                ties.insert(group.clone(), audience.service);
            }
        }
    }
    // In the order of their pools, as findings of one pool are listed.
    let mut ties: Vec<(Vec<usize>, usize)> = ties.into_iter().collect();
    ties.sort_unstable();
    for (group, service) in ties {
        let names: Vec<&str> = group
            .iter()
            .map(|&p| config.pools[p].name.as_str())
            .collect();
        let priority = config.pools[group[0]]
            .allocation
            .as_ref()
            .map_or(0, |a| a.priority);
        found.add(
            Level::Info,
            Code::PriorityTie,
            pool_key(config, &config.pools[group[0]]),
            format!(
                "pinned pools {} tie at priority {priority} for services such as {}: MetalLB's pick among them is arbitrary",
                names.join(", "),
                cluster.services[service].key
            ),
        );
    }
}

/// `namespace-without-pool`: automatic LoadBalancer services that no pool serves.
fn namespaces_without_pool(cluster: &Cluster, audiences: &[Audience], found: &mut Findings) {
    let mut stranded: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    if !cluster.plain_pools().is_empty() {
        return;
    }
    for audience in audiences.iter().filter(|a| a.pinned.is_empty()) {
        let s = &cluster.services[audience.service];
        let entry = stranded.entry(s.namespace).or_insert((audience.service, 0));
        entry.1 += audience.count;
    }
    for (namespace, (example, count)) in stranded {
        found.add(
            Level::Warning,
            Code::NamespaceWithoutPool,
            ObjectKey::new("Namespace", "", namespace),
            format!(
                "{count} LoadBalancer service(s) here (such as {}) ask for no pool or address, and no pool with autoAssign serves the namespace: they stay pending",
                cluster.services[example].key
            ),
        );
    }
}

/// `annotation-ignored` and `deprecated-annotation`, by the modelled release's rule.
fn annotations(model: &Model, annotated: &[usize], found: &mut Findings) {
    let release = model.version.version;
    for &i in annotated {
        let facts = &model.cluster.services[i];
        for (name, current, deprecated) in facts.annotations_set() {
            let (level, code) = match model.behaviour.annotation_keys {
                AnnotationKeys::UniverseOnly if current => (Level::Error, Code::AnnotationIgnored),
                AnnotationKeys::MetallbIoFirst if deprecated => {
                    (Level::Info, Code::DeprecatedAnnotation)
                }
                _ => continue,
            };
            let (current, deprecated) = (
                format!("{ANNOTATION_PREFIX}{name}"),
                format!("{DEPRECATED_PREFIX}{name}"),
            );
            let message = match code {
                Code::AnnotationIgnored => format!(
                    "MetalLB {release} does not read {current} (only {deprecated}, until v0.14.9)"
                ),
                _ => format!("{deprecated} is deprecated: MetalLB {release} reads {current} first"),
            };
            found.add(level, code, service_ref(facts, model, i), message);
        }
    }
}

/// The services' findings: one decision of MetalLB's allocator per pending or stale service
/// (the requests that cannot be met, whatever the state, are [`Prepared::unmet`]). Worked
/// out a chunk of services at a time, by each thread that [`ServiceChecks::run`]s, with one
/// memo of decisions.
struct ServiceChecks<'c> {
    decisions: Decisions<'c>,
    /// [`Prepared::examples`] (empty: each service's walk is its own).
    examples: &'c [Option<u32>],
    /// One bit per service: whether a request of it cannot be met (already reported).
    unmet_request: Bits,
    stale: BTreeMap<usize, &'c Reason>,
    /// The first chunk no thread has taken.
    next: AtomicUsize,
}

/// Services per chunk: small enough that the threads finish together, large enough that
/// taking one costs nothing beside checking it.
const CHUNK: usize = 512;

/// A chunk's number and its findings.
type Chunk = (usize, Findings);

impl<'c> ServiceChecks<'c> {
    /// `shared` off only to prove that the classes change no answer ([`Decisions`]).
    fn new(cluster: &'c Cluster, shared: bool, prepared: &'c Prepared) -> ServiceChecks<'c> {
        let mut unmet_request = Bits::new(cluster.services.len(), false);
        for &(i, _, _) in &prepared.unmet {
            unmet_request.set(i, true);
        }
        ServiceChecks {
            decisions: Decisions::new(shared),
            examples: &prepared.examples,
            unmet_request,
            stale: cluster
                .holding_warnings
                .iter()
                .map(|(s, r)| (*s, r))
                .collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// The service whose pinned walk is `service`'s: its audience's example.
    fn walked_as(&self, service: usize) -> usize {
        self.examples
            .get(service)
            .copied()
            .flatten()
            .map_or(service, |example| example as usize)
    }

    /// Checks chunks until none is left; the findings of each.
    fn run(&self, model: &'c Model) -> Vec<Chunk> {
        let count = model.cluster.services.len();
        let mut texts = Texts::default();
        let mut done = Vec::new();
        loop {
            let chunk = self.next.fetch_add(1, Ordering::Relaxed);
            let start = chunk.saturating_mul(CHUNK);
            if start >= count {
                return done;
            }
            let mut found = Findings::default();
            for i in start..count.min(start + CHUNK) {
                self.service(model, i, &mut texts, &mut found);
            }
            done.push((chunk, found));
        }
    }

    fn service(&self, model: &'c Model, i: usize, texts: &mut Texts, found: &mut Findings) {
        let cluster = &model.cluster;
        let facts = &cluster.services[i];
        if !facts.is_managed() {
            return;
        }
        // Built only for a finding: most services have none.
        let object = || service_ref(facts, model, i);
        let reported = self.unmet_request.get(i);
        let pending = facts.ingress.is_empty() && facts.unparsable_ingress().is_empty();
        if let Some(reason) = self.stale.get(&i) {
            let decision = cluster.outcome(i);
            found.add_with(
                Level::Error,
                Code::AllocationNotValid,
                object(),
                format!("{}; {}", reason.message, afterwards(cluster, &decision)),
                decision.reasons.into(),
            );
        } else if pending {
            let walked_as = self.walked_as(i);
            let mut decision = self.decisions.get(cluster, i, walked_as, Detail::Outcome);
            // A pending service that fits no pool is reported with the reasons of the pools
            // it was walked past, or of the gate that stopped it.
            if !decision.fits
                && !reported
                && matches!(decision.mode, Mode::Automatic | Mode::Stopped)
            {
                decision = self.decisions.get(cluster, i, walked_as, Detail::Verdicts);
            }
            // Services decided alike are reported alike: the text is made once per decision
            // (the memo holds the decision, so its address names no other meanwhile). A
            // decision no memo holds was made for this service alone.
            let alone;
            let text = if Arc::strong_count(&decision) == 1 {
                alone = pending_service(cluster, &decision, reported);
                &alone
            } else {
                &texts
                    .entry((Arc::as_ptr(&decision), reported))
                    .or_insert_with(|| {
                        (
                            pending_service(cluster, &decision, reported),
                            decision.clone(),
                        )
                    })
                    .0
            };
            if let Some((level, code, message, details)) = text {
                found.add_with(*level, *code, object(), message.clone(), details.clone());
            }
        }
    }
}

/// The chunks' findings, in the order of their services.
fn in_chunk_order(mut chunks: Vec<Chunk>) -> impl Iterator<Item = Finding> {
    chunks.sort_unstable_by_key(|(chunk, _)| *chunk);
    chunks.into_iter().flat_map(|(_, found)| found.0)
}

/// What makes two pending services equal to MetalLB's automatic allocation: no request, no
/// address held, so its decision reads only these (§4.7–§4.9: the pinned pools its namespace
/// and labels let it walk, its families; the sharing key, backend and ports decide which held
/// addresses it may share, §5).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Class<'a> {
    scope: Scope<'a>,
    family: &'static str,
    policy: &'static str,
    primary: crate::metallb::addr::Family,
    sharing_key: &'a str,
    backend_key: &'a str,
    ports: &'a [(&'a str, i32)],
}

/// Where the namespace and labels enter a decision: an outcome reads only how they scope
/// the pinned pools, so namespaces and labels scoped alike share one; the verdicts of every
/// pool name the namespace and labels.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Scope<'a> {
    Pinned(PinnedScope),
    Namespace(&'a str, Vec<(&'a str, &'a str)>),
}

/// One allocator decision per class of equal pending services, so that checking many pending
/// services costs one decision per namespace (and family), not one per service.
struct Decisions<'c> {
    by_class: Mutex<FxHashMap<(Class<'c>, Detail), Arc<Decision>>>,
    /// Off only to prove that the classes change no answer.
    shared: bool,
}

impl<'c> Decisions<'c> {
    fn new(shared: bool) -> Decisions<'c> {
        Decisions {
            by_class: Mutex::default(),
            shared,
        }
    }

    /// The decision for `service`, whose pinned walk is `walked_as`'s (see
    /// [`ServiceChecks::walked_as`]).
    fn get(
        &self,
        cluster: &'c Cluster,
        service: usize,
        walked_as: usize,
        detail: Detail,
    ) -> Arc<Decision> {
        let decide = || cluster.decide_with(service, detail);
        let s = &cluster.services[service];
        let plain = cluster.is_automatic(service) && s.ingress.is_empty();
        if !plain || !self.shared {
            return Arc::new(decide());
        }
        let class = Class {
            scope: match detail {
                Detail::Outcome => Scope::Pinned(cluster.pinned_scope(walked_as)),
                Detail::Verdicts => {
                    Scope::Namespace(s.namespace, cluster.selector_read_labels(s.labels))
                }
            },
            family: s.family.name(),
            policy: s.policy.name(),
            primary: s.primary,
            sharing_key: s.sharing_key,
            backend_key: s.backend_key(),
            ports: s.ports(),
        };
        kept(
            &self.by_class,
            |m| m,
            (class, detail),
            |_| Arc::new(decide()),
        )
    }
}

/// `pool-not-found` and `requested-ip-not-in-any-pool` of `service`, into `unmet`.
fn unmet_requests(config: &Config, service: usize, facts: &ServiceFacts, unmet: &mut Vec<Unmet>) {
    if let Some(wanted) = facts.requested_pool
        && config.pool(wanted).is_none()
    {
        let hint = closest(wanted, config.pools.iter().map(|p| p.name.as_str()))
            .map(|c| format!("; did you mean {c}?"))
            .unwrap_or_default();
        unmet.push((
            service,
            Code::PoolNotFound,
            format!("the address-pool annotation names pool {wanted}, which does not exist{hint}"),
        ));
    }
    if let Ok(Some(ips)) = &facts.requested_ips {
        let outside: Vec<String> = ips
            .iter()
            .filter(|ip| config.pool_for(&[**ip]).is_none())
            .map(|ip| describe_outside(config, *ip))
            .collect();
        if !outside.is_empty() {
            unmet.push((
                service,
                Code::RequestedIpNotInAnyPool,
                format!("the service requests {}", outside.join("; ")),
            ));
        }
    }
}

fn describe_outside(config: &Config, ip: Ip) -> String {
    match config.pool_containing(ip) {
        Some(p) => format!(
            "{ip}, which pool {} excludes with avoidBuggyIPs",
            config.pools[p].name
        ),
        None => format!("{ip}, which lies in no pool"),
    }
}

/// What MetalLB would do with the service once its address is taken away.
fn afterwards(cluster: &Cluster, d: &Decision) -> String {
    if !d.fits {
        return "it would then be pending".to_string();
    }
    given(cluster, d, "it would then get")
}

/// `{gets} <addresses or an address> from <pools>`, for a decision that fits.
fn given(cluster: &Cluster, d: &Decision, gets: &str) -> String {
    let pools = pool_list(cluster, &d.pools);
    match d.ips.as_slice() {
        [] => format!("{gets} an address from {pools}"),
        ips => format!("{gets} {} from {pools}", ip_list(ips)),
    }
}

/// `a or b or c`; a long list (MetalLB's random pick among many plain pools) is shortened
/// to its first names and a count, so a message stays one line.
fn pool_list(cluster: &Cluster, pools: &[usize]) -> String {
    const NAMED: usize = 3;
    let names: Vec<&str> = pools
        .iter()
        .take(NAMED)
        .map(|&p| cluster.config.pools[p].name.as_str())
        .collect();
    match pools.len() {
        n if n > NAMED => format!("{} or {} other pools", names.join(", "), n - NAMED),
        _ => names.join(" or "),
    }
}

/// A finding about a pending service, but for the service it names.
type PendingFinding = (Level, Code, Arc<str>, Arc<[Reason]>);

/// What a decision makes a pending service report (none, for a pending service whose
/// request was already reported), with the decision, kept alive while its address keys the
/// memo.
type PendingText = (Option<PendingFinding>, Arc<Decision>);

/// The texts of the decisions met so far, by decision and whether a request was reported.
type Texts = FxHashMap<(*const Decision, bool), PendingText>;

/// `service-pending-would-fit`, or `service-pending` with the `why` reasons; nothing new
/// when a request that cannot be met was already reported for the service.
fn pending_service(
    cluster: &Cluster,
    decision: &Decision,
    reported: bool,
) -> Option<PendingFinding> {
    if decision.fits {
        return Some((
            Level::Warning,
            Code::ServicePendingWouldFit,
            format!(
                "pending, but {}: MetalLB retries a pending service only when it, another service or the configuration changes",
                given(cluster, decision, "MetalLB would now give it")
            )
            .into(),
            Arc::from([]),
        ));
    }
    if reported {
        return None;
    }
    // A reason that is exactly one pool's verdict says which pool.
    let only_pool = |r: &Reason| {
        let mut holders = decision
            .verdicts()
            .filter(|(_, v)| v.reasons.contains(r))
            .map(|(p, _)| cluster.config.pools[p].name.as_str());
        match (holders.next(), holders.next()) {
            (Some(pool), None) => Some(pool),
            _ => None,
        }
    };
    let mut details: Vec<Reason> = decision
        .reasons
        .iter()
        .map(|r| match only_pool(r) {
            Some(pool) if r.pool.is_none() => r.clone().about_pool(pool),
            _ => r.clone(),
        })
        .collect();
    if details.iter().any(|r| r.code == Code::NoPoolFits) {
        for (p, verdict) in decision.verdicts() {
            let pool = &cluster.config.pools[p].name;
            details.extend(verdict.reasons.iter().map(|r| r.clone().about_pool(pool)));
        }
    }
    let codes: Vec<&str> = {
        let mut seen = HashSet::new();
        details
            .iter()
            .map(|r| r.code.as_str())
            .filter(|c| seen.insert(*c))
            .collect()
    };
    let first = details
        .iter()
        .find(|r| r.code != Code::ConfigInvalid)
        .map_or(String::new(), |r| match &r.pool {
            Some(pool) => format!(": pool {pool}: {}", r.message),
            None => format!(": {}", r.message),
        });
    Some((
        Level::Error,
        Code::ServicePending,
        format!("pending and fits no pool ({}){first}", codes.join(", ")).into(),
        details.into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::manifests::{l2, model, namespace, pool, service, snapshot};
    use crate::snapshot::Snapshot;

    /// The report of `snapshot`, kept with its model for the rest of the test.
    fn kept(
        snapshot: Snapshot,
        build_model: impl FnOnce(&'static Snapshot) -> Model<'static>,
    ) -> &'static Model<'static> {
        Box::leak(Box::new(build_model(Box::leak(Box::new(snapshot)))))
    }

    /// As the command checks: [`prepare`] worked out alongside the model.
    fn check_with(parts: &[String], threshold: u8) -> CheckReport<'static> {
        let snapshot: &'static Snapshot = Box::leak(Box::new(snapshot(&parts.concat())));
        let flags = crate::settings::MetallbFlags::default();
        let (model, prepared) = Model::build_alongside(snapshot, &flags, Vec::new(), Some(prepare));
        build(Box::leak(Box::new(model)), prepared, threshold, false)
    }

    fn check(parts: &[String]) -> CheckReport<'static> {
        check_with(parts, 90)
    }

    /// The findings of `code`, as (level, object) pairs.
    fn of(report: &CheckReport, code: Code) -> Vec<(Level, String)> {
        report
            .findings
            .iter()
            .filter(|f| f.code == code)
            .map(|f| (f.level, f.object.describe()))
            .collect()
    }

    fn message(report: &CheckReport, code: Code) -> String {
        report
            .findings
            .iter()
            .find(|f| f.code == code)
            .unwrap_or_else(|| panic!("no {code}: {:?}", report.findings))
            .message
            .to_string()
    }

    fn plain() -> Vec<String> {
        vec![pool("p", &["10.0.0.0/24"], ""), l2()]
    }

    #[test]
    fn findings_are_ordered_by_level_then_object_code_and_message() {
        let finding = |level, name: &str, code, message: &str| Finding {
            level,
            code,
            object: ObjectKey::new("Service", "ns", name),
            message: message.into(),
            details: Arc::from([]),
            file: None,
            line: None,
        };
        let order = |findings: &[Finding]| {
            findings
                .iter()
                .map(|f| (f.level, f.object.name.clone(), f.code, f.message.clone()))
                .collect::<Vec<_>>()
        };
        let findings = vec![
            finding(Level::Info, "a", Code::PriorityTie, "x"),
            finding(Level::Warning, "b", Code::ServicePending, "y"),
            finding(Level::Error, "c", Code::PoolNotFound, "z"),
            finding(Level::Warning, "a", Code::ServicePending, "y"),
            finding(Level::Error, "c", Code::PoolNotFound, "a"),
            finding(Level::Error, "b", Code::AllocationNotValid, "m"),
            finding(Level::Warning, "a", Code::NotAdvertised, "y"),
        ];
        let mut expected = order(&findings);
        expected.sort();
        assert_eq!(order(&in_report_order(findings.into_iter())), expected);
    }

    #[test]
    fn chunks_checked_in_any_order_give_their_findings_in_service_order() {
        let chunk = |n: usize| {
            let mut found = Findings::default();
            found.add(
                Level::Info,
                Code::PriorityTie,
                ObjectKey::new("Service", "ns", &n.to_string()),
                "",
            );
            (n, found)
        };
        let names: Vec<String> = in_chunk_order(vec![chunk(2), chunk(0), chunk(3), chunk(1)])
            .map(|f| f.object.name.to_string())
            .collect();
        assert_eq!(names, ["0", "1", "2", "3"]);
    }

    #[test]
    fn galloping_finds_where_a_binary_search_does() {
        let list: Vec<u32> = (0..100).map(|i| i * 2).collect();
        for wanted in 0..=201 {
            let expected = match list.binary_search(&wanted) {
                Ok(at) => (at, true),
                Err(at) => (at, false),
            };
            assert_eq!(gallop(&list, |x| x.cmp(&wanted)), expected, "{wanted}");
        }
        assert_eq!(gallop(&[] as &[u32], |x| x.cmp(&1)), (0, false));
    }

    #[test]
    fn sorted_lists_merge_in_order_keeping_both_sides() {
        assert_eq!(
            merge_sorted(vec![1, 3, 5, 7], vec![2, 3, 8]),
            [1, 2, 3, 3, 5, 7, 8]
        );
        assert_eq!(merge_sorted(vec![4], Vec::new()), [4]);
        assert_eq!(merge_sorted(Vec::new(), vec![1, 2]), [1, 2]);
    }

    #[test]
    fn a_clean_configuration_has_no_finding() {
        let mut parts = plain();
        parts.push(service("a/web", &["10.0.0.0"], &[]));
        let report = check(&parts);
        assert!(report.findings.is_empty(), "{:?}", report.findings);
        assert!(!report.fails());
        assert_eq!(report.checked().len(), 3, "pool, advertisement, service");
    }

    #[test]
    fn config_invalid_fires_on_overlapping_cidrs_and_names_the_pool() {
        let mut parts = plain();
        parts.push(pool("q", &["10.0.0.128/25"], ""));
        let report = check(&parts);
        assert_eq!(
            of(&report, Code::ConfigInvalid),
            [(Level::Error, "IPAddressPool metallb-system/q".to_string())]
        );
        assert!(message(&report, Code::ConfigInvalid).contains("overlaps"));
        assert!(of(&check(&plain()), Code::ConfigInvalid).is_empty());
    }

    #[test]
    fn objects_outside_the_metallb_namespace_are_warned_about() {
        let mut parts = plain();
        parts.push(
            "---\napiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: lost\n  namespace: default\nspec:\n  addresses: [10.9.0.0/24]\n"
                .to_string(),
        );
        parts.push(
            "---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata:\n  name: lost-l2\n  namespace: default\n"
                .to_string(),
        );
        let report = check(&parts);
        assert_eq!(
            of(&report, Code::PoolOutsideMetallbNamespace),
            [(Level::Warning, "IPAddressPool default/lost".to_string())]
        );
        assert_eq!(
            of(&report, Code::AdvertisementOutsideMetallbNamespace),
            [(
                Level::Warning,
                "L2Advertisement default/lost-l2".to_string()
            )]
        );
        let clean = check(&plain());
        assert!(of(&clean, Code::PoolOutsideMetallbNamespace).is_empty());
        assert!(of(&clean, Code::AdvertisementOutsideMetallbNamespace).is_empty());
    }

    #[test]
    fn not_advertised_fires_only_without_an_advertisement() {
        let report = check(&[pool("p", &["10.0.0.0/24"], "")]);
        assert_eq!(
            of(&report, Code::NotAdvertised),
            [(Level::Warning, "IPAddressPool metallb-system/p".to_string())]
        );
        assert!(of(&check(&plain()), Code::NotAdvertised).is_empty());
    }

    #[test]
    fn namespace_unknown_fires_on_a_typo_with_the_closest_name() {
        let allocation = |ns: &str| format!("  serviceAllocation:\n    namespaces: [{ns}]\n");
        let typo = check(&[
            pool("p", &["10.0.0.0/24"], &allocation("team-aa")),
            l2(),
            namespace("team-a"),
        ]);
        assert_eq!(
            of(&typo, Code::NamespaceUnknown),
            [(Level::Warning, "IPAddressPool metallb-system/p".to_string())]
        );
        assert!(message(&typo, Code::NamespaceUnknown).contains("did you mean team-a?"));
        let right = check(&[
            pool("p", &["10.0.0.0/24"], &allocation("team-a")),
            l2(),
            namespace("team-a"),
        ]);
        assert!(of(&right, Code::NamespaceUnknown).is_empty());
        // A namespace that holds a service exists, even without its object.
        let holds = check(&[
            pool("p", &["10.0.0.0/24"], &allocation("team-b")),
            l2(),
            namespace("team-a"),
            service("team-b/web", &[], &[]),
        ]);
        assert!(of(&holds, Code::NamespaceUnknown).is_empty());
        // Without Namespace objects nothing can be said.
        let unknown = check(&[pool("p", &["10.0.0.0/24"], &allocation("team-aa")), l2()]);
        assert!(of(&unknown, Code::NamespaceUnknown).is_empty());
    }

    fn labelled_service(key: &str, app: &str) -> String {
        service(key, &[], &[]).replace(
            "  annotations:\n",
            &format!("  labels:\n    app: {app}\n  annotations:\n"),
        )
    }

    #[test]
    fn service_selectors_matching_no_service_are_warned_about() {
        let selector = "    serviceSelectors:\n      - matchLabels: {app: db}\n";
        let pool_yaml = pool(
            "p",
            &["10.0.0.0/24"],
            &format!("  serviceAllocation:\n{selector}"),
        );
        let none = check(&[pool_yaml.clone(), l2(), labelled_service("a/web", "web")]);
        assert_eq!(
            of(&none, Code::SelectorMatchesNothing),
            [(Level::Warning, "IPAddressPool metallb-system/p".to_string())]
        );
        let some = check(&[pool_yaml, l2(), labelled_service("a/db", "db")]);
        assert!(of(&some, Code::SelectorMatchesNothing).is_empty());
    }

    #[test]
    fn namespace_without_pool_fires_when_no_pool_serves_it_automatically() {
        let pinned = pool(
            "a-only",
            &["10.0.0.0/24"],
            "  serviceAllocation:\n    namespaces: [team-a]\n",
        );
        let stranded = check(&[pinned.clone(), l2(), service("team-b/web", &[], &[])]);
        assert_eq!(
            of(&stranded, Code::NamespaceWithoutPool),
            [(Level::Warning, "Namespace team-b".to_string())]
        );
        let served = check(&[pinned.clone(), l2(), service("team-a/web", &[], &[])]);
        assert!(of(&served, Code::NamespaceWithoutPool).is_empty());
        // A service that asks for a pool is not left to automatic allocation.
        let asks = check(&[
            pinned,
            l2(),
            service("team-b/web", &[], &[("metallb.io/address-pool", "a-only")]),
        ]);
        assert!(of(&asks, Code::NamespaceWithoutPool).is_empty());
    }

    #[test]
    fn priority_tie_fires_for_pinned_pools_at_one_priority() {
        let pinned = |name: &str, cidr: &str, priority: i64| {
            pool(
                name,
                &[cidr],
                &format!(
                    "  serviceAllocation:\n    priority: {priority}\n    namespaces: [team-a]\n"
                ),
            )
        };
        let tie = check(&[
            pinned("x", "10.0.0.0/24", 10),
            pinned("y", "10.0.1.0/24", 10),
            l2(),
            service("team-a/web", &[], &[]),
        ]);
        assert_eq!(
            of(&tie, Code::PriorityTie),
            [(Level::Info, "IPAddressPool metallb-system/x".to_string())]
        );
        assert!(message(&tie, Code::PriorityTie).contains("x, y"));
        let ordered = check(&[
            pinned("x", "10.0.0.0/24", 10),
            pinned("y", "10.0.1.0/24", 20),
            l2(),
            service("team-a/web", &[], &[]),
        ]);
        assert!(of(&ordered, Code::PriorityTie).is_empty());
    }

    #[test]
    fn pool_nearly_full_follows_the_threshold() {
        let parts = [
            pool("p", &["10.0.0.0/30"], ""),
            l2(),
            service("a/one", &["10.0.0.0"], &[]),
            service("a/two", &["10.0.0.1"], &[]),
            service("a/three", &["10.0.0.2"], &[]),
        ];
        assert!(of(&check_with(&parts, 90), Code::PoolNearlyFull).is_empty());
        let full = check_with(&parts, 75);
        assert_eq!(
            of(&full, Code::PoolNearlyFull),
            [(Level::Warning, "IPAddressPool metallb-system/p".to_string())]
        );
        assert!(message(&full, Code::PoolNearlyFull).contains("3 of 4"));
        assert!(at_or_above(9, 10, 90) && !at_or_above(8, 10, 90));
        assert!(!at_or_above(0, 0, 0), "an empty pool is never full");
        assert!(!at_or_above(1, u128::MAX, 90), "no overflow");
    }

    #[test]
    fn equal_pending_services_share_one_decision_and_sharing_ones_differ_by_key_and_ports() {
        let key = [("metallb.io/allow-shared-ip", "k")];
        let parts = [
            pool("p", &["10.0.0.0/32"], ""),
            l2(),
            service("a/holder", &["10.0.0.0"], &key).replace("port: 80", "port: 443"),
            service("a/two", &[], &[]),
            service("a/three", &[], &[]),
            service("a/sharer", &[], &key),
            // Same key, the holder's port: it may not share the address.
            service("a/clash", &[], &key).replace("port: 80", "port: 443"),
            service("a/other-key", &[], &[("metallb.io/allow-shared-ip", "j")]),
        ];
        let report = check(&parts);
        assert_eq!(
            of(&report, Code::ServicePending),
            [
                (Level::Error, "Service a/clash".to_string()),
                (Level::Error, "Service a/other-key".to_string()),
                (Level::Error, "Service a/three".to_string()),
                (Level::Error, "Service a/two".to_string())
            ]
        );
        assert_eq!(
            of(&report, Code::ServicePendingWouldFit),
            [(Level::Warning, "Service a/sharer".to_string())]
        );
        let details: Vec<&Arc<[Reason]>> = report
            .findings
            .iter()
            .filter(|f| f.code == Code::ServicePending)
            .map(|f| &f.details)
            .collect();
        assert_eq!(details[2], details[3]);
    }

    #[test]
    fn namespaces_scoped_alike_share_an_outcome_but_not_the_reasons_naming_them() {
        let parts = [
            pool("full", &["10.0.0.0/32"], ""),
            pool(
                "a-only",
                &["10.1.0.0/24"],
                "  serviceAllocation:\n    namespaces: [a]\n",
            ),
            l2(),
            service("a/holder", &["10.0.0.0"], &[]),
            // b and c walk no pinned pool: one outcome (nothing fits) serves both, but the
            // reasons each finding gives name the service's own namespace.
            service("b/web", &[], &[]),
            service("c/web", &[], &[]),
        ];
        let report = check(&parts);
        let reasons = |object: &str| -> Vec<String> {
            report
                .findings
                .iter()
                .filter(|f| f.code == Code::ServicePending && f.object.describe() == object)
                .flat_map(|f| f.details.iter().map(|r| r.message.clone()))
                .filter(|m| m.starts_with("namespace "))
                .collect()
        };
        assert_eq!(
            reasons("Service b/web"),
            ["namespace b is not among the pool's namespaces (a)"]
        );
        assert_eq!(
            reasons("Service c/web"),
            ["namespace c is not among the pool's namespaces (a)"]
        );
    }

    #[test]
    fn services_asking_for_one_pool_are_told_in_their_own_namespace_and_labels() {
        let wants = [("metallb.io/address-pool", "scoped")];
        let asking = |key: &str, app: &str| {
            labelled_service(key, app).replace(
                "  annotations:\n",
                "  annotations:\n    metallb.io/address-pool: scoped\n",
            )
        };
        let parts = [
            pool(
                "scoped",
                &["10.1.0.0/24"],
                "  serviceAllocation:\n    namespaces: [a, b]\n    serviceSelectors:\n    - matchLabels:\n        app: web\n",
            ),
            l2(),
            service("a/first", &[], &wants),
            service("a/second", &[], &wants),
            service("c/outside", &[], &wants),
            asking("a/web", "web"),
            asking("b/web", "web"),
            asking("b/db", "db"),
        ];
        let report = check(&parts);
        let text = |object: &str| -> String {
            let finding = report
                .findings
                .iter()
                .find(|f| f.object.describe() == object)
                .unwrap_or_else(|| panic!("no finding for {object}"));
            let details: Vec<&str> = finding.details.iter().map(|r| r.message.as_str()).collect();
            format!(
                "{} {}: {}",
                finding.code,
                finding.message,
                details.join(" | ")
            )
        };
        // Unlabelled in a: refused by the selector, alike.
        assert_eq!(text("Service a/first"), text("Service a/second"));
        assert!(
            text("Service a/first").contains("serviceSelectors"),
            "{}",
            text("Service a/first")
        );
        // Outside the namespaces: refused, and told so in its own namespace's words.
        assert!(
            text("Service c/outside").contains("namespace c "),
            "{}",
            text("Service c/outside")
        );
        // Labelled and admitted: given an address, in a and b alike.
        assert_eq!(
            of(&report, Code::ServicePendingWouldFit),
            [
                (Level::Warning, "Service a/web".to_string()),
                (Level::Warning, "Service b/web".to_string())
            ]
        );
        assert!(
            text("Service b/db").contains("serviceSelectors"),
            "{}",
            text("Service b/db")
        );
    }

    #[test]
    fn long_pool_lists_are_shortened() {
        let parts: Vec<String> = (0..5)
            .map(|i| pool(&format!("p{i}"), &[&format!("10.0.{i}.0/24")], ""))
            .chain([l2(), service("a/new", &[], &[])])
            .collect();
        let report = check(&parts);
        assert!(
            message(&report, Code::ServicePendingWouldFit).contains("p0, p1, p2 or 2 other pools"),
            "{:?}",
            report.findings
        );
    }

    #[test]
    fn requests_that_cannot_be_met_are_errors() {
        let mut parts = plain();
        parts.push(service(
            "a/ip",
            &[],
            &[("metallb.io/loadBalancerIPs", "192.0.2.7")],
        ));
        parts.push(service("a/pool", &[], &[("metallb.io/address-pool", "pp")]));
        let report = check(&parts);
        assert_eq!(
            of(&report, Code::RequestedIpNotInAnyPool),
            [(Level::Error, "Service a/ip".to_string())]
        );
        assert_eq!(
            of(&report, Code::PoolNotFound),
            [(Level::Error, "Service a/pool".to_string())]
        );
        assert!(message(&report, Code::PoolNotFound).contains("did you mean p?"));
        assert!(
            of(&report, Code::ServicePending).is_empty(),
            "one finding per problem: {:?}",
            report.findings
        );
        assert!(report.fails());
        let mut met = plain();
        met.push(service(
            "a/ip",
            &[],
            &[("metallb.io/loadBalancerIPs", "10.0.0.7")],
        ));
        met.push(service("a/pool", &[], &[("metallb.io/address-pool", "p")]));
        let report = check(&met);
        assert!(of(&report, Code::RequestedIpNotInAnyPool).is_empty());
        assert!(of(&report, Code::PoolNotFound).is_empty());
    }

    #[test]
    fn pending_services_get_the_why_reasons() {
        let parts = [
            pool("p", &["10.0.0.0/31"], ""),
            l2(),
            service("a/one", &["10.0.0.0"], &[]),
            service("a/two", &["10.0.0.1"], &[]),
            service("a/three", &[], &[]),
        ];
        let full = check(&parts);
        assert_eq!(
            of(&full, Code::ServicePending),
            [(Level::Error, "Service a/three".to_string())]
        );
        let f = full
            .findings
            .iter()
            .find(|f| f.code == Code::ServicePending)
            .unwrap();
        assert!(f.details.iter().any(|d| d.code == Code::PoolExhausted));
        // Room again: pending, but it would fit now.
        let room = check(&[
            pool("p", &["10.0.0.0/30"], ""),
            l2(),
            service("a/three", &[], &[]),
        ]);
        assert_eq!(
            of(&room, Code::ServicePendingWouldFit),
            [(Level::Warning, "Service a/three".to_string())]
        );
        assert!(message(&room, Code::ServicePendingWouldFit).contains("10.0.0.0 from p"));
        assert!(!room.fails());
        assert!(of(&room, Code::ServicePending).is_empty());
    }

    #[test]
    fn allocation_not_valid_fires_for_an_address_metallb_takes_away() {
        let mut parts = plain();
        parts.push(service("a/old", &["192.0.2.1"], &[]));
        let report = check(&parts);
        assert_eq!(
            of(&report, Code::AllocationNotValid),
            [(Level::Error, "Service a/old".to_string())]
        );
        assert!(
            message(&report, Code::AllocationNotValid).contains("would then get 10.0.0.0 from p")
        );
        let mut fine = plain();
        fine.push(service("a/old", &["10.0.0.1"], &[]));
        assert!(of(&check(&fine), Code::AllocationNotValid).is_empty());
    }

    #[test]
    fn deprecated_annotations_are_noted() {
        let mut parts = plain();
        parts.push(service(
            "a/old",
            &[],
            &[("metallb.universe.tf/address-pool", "p")],
        ));
        parts.push(service("a/new", &[], &[("metallb.io/address-pool", "p")]));
        let report = check(&parts);
        assert_eq!(
            of(&report, Code::DeprecatedAnnotation),
            [(Level::Info, "Service a/old".to_string())]
        );
        assert!(of(&report, Code::AnnotationIgnored).is_empty());
    }

    #[test]
    fn annotations_a_release_does_not_read_are_errors() {
        use crate::metallb::release::{Behaviour, Release};
        let mut parts = plain();
        parts.push(service("a/new", &[], &[("metallb.io/address-pool", "p")]));
        parts.push(service(
            "a/old",
            &[],
            &[("metallb.universe.tf/address-pool", "p")],
        ));
        let snap = snapshot(&parts.concat());
        let mut m = model(&snap);
        let old = Release::new(0, 14, 8);
        m.version.version = old;
        m.behaviour = Behaviour::of(old);
        let report = build(&m, None, 90, false);
        assert_eq!(
            of(&report, Code::AnnotationIgnored),
            [(Level::Error, "Service a/new".to_string())]
        );
        assert!(message(&report, Code::AnnotationIgnored).contains("v0.14.8"));
        assert!(
            of(&report, Code::DeprecatedAnnotation).is_empty(),
            "v0.14.8 reads only metallb.universe.tf"
        );
    }

    #[test]
    fn strict_fails_on_warnings() {
        let snap = snapshot(&pool("p", &["10.0.0.0/24"], ""));
        let m = model(&snap);
        assert!(
            !build(&m, None, 90, false).fails(),
            "not-advertised is a warning"
        );
        assert!(build(&m, None, 90, true).fails());
    }

    #[test]
    fn findings_carry_the_file_and_line_of_their_object() {
        let report = check(&[
            pool("p", &["10.0.0.0/24"], ""),
            l2(),
            pool("q", &["10.0.0.0/24"], ""),
        ]);
        let f = report
            .findings
            .iter()
            .find(|f| f.code == Code::ConfigInvalid)
            .unwrap();
        assert!(f.file.as_deref().unwrap().ends_with("manifests.yaml"));
        // p's document is 8 lines, the advertisement's 6; q's starts after its `---`.
        assert_eq!(f.line, Some(16));
        let order: Vec<Level> = report.findings.iter().map(|f| f.level).collect();
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted, "errors first");
    }

    fn check_at(parts: &[String], release: &str) -> CheckReport<'static> {
        let flags = crate::settings::MetallbFlags {
            version: Some(crate::metallb::release::Release::parse(release).unwrap()),
            ..Default::default()
        };
        let model = kept(snapshot(&parts.concat()), |s| {
            Model::build(s, &flags, Vec::new())
        });
        build(model, None, 90, false)
    }

    fn legacy(name: &str, addresses: &str, protocol: &str) -> String {
        format!(
            "---\napiVersion: metallb.io/v1beta1\nkind: AddressPool\nmetadata:\n  name: {name}\n  namespace: metallb-system\nspec:\n  addresses: [{addresses}]\n{protocol}"
        )
    }

    #[test]
    fn a_legacy_address_pool_is_reported_under_its_own_kind() {
        let full = [
            legacy("old", "10.0.0.0/31", "  protocol: layer2\n"),
            service("a/one", &["10.0.0.0"], &[]),
            service("a/two", &["10.0.0.1"], &[]),
        ];
        let report = check_at(&full, "v0.13.9");
        assert_eq!(
            of(&report, Code::PoolNearlyFull),
            [(Level::Warning, "AddressPool metallb-system/old".to_string())]
        );
        // From v0.14.0 MetalLB does not read it: no pool finding names it.
        assert!(of(&check_at(&full, "v0.14.8"), Code::PoolNearlyFull).is_empty());
        // An IPAddressPool keeps its kind next to it.
        let mut both = full.to_vec();
        both.push(pool("p", &["10.1.0.0/31"], ""));
        both.push(service("a/three", &["10.1.0.0"], &[]));
        both.push(service("a/four", &["10.1.0.1"], &[]));
        assert_eq!(
            of(&check_at(&both, "v0.13.9"), Code::PoolNearlyFull),
            [
                (Level::Warning, "AddressPool metallb-system/old".to_string()),
                (Level::Warning, "IPAddressPool metallb-system/p".to_string())
            ]
        );
    }

    #[test]
    fn a_legacy_address_pool_metallb_refuses_is_named_under_its_own_kind() {
        let report = check_at(&[legacy("old", "10.0.0.0/24", ""), l2()], "v0.13.9");
        assert_eq!(
            of(&report, Code::ConfigInvalid),
            [(Level::Error, "AddressPool metallb-system/old".to_string())]
        );
    }

    mod generated {
        use super::*;
        use crate::metallb::allocator::tests::generated::snapshot_strategy;
        use proptest::prelude::*;

        /// Every service finding, as `check` gives it, with the services' walks read from
        /// their audiences' examples (`grouped`) or each their own.
        fn service_findings(model: &Model, shared: bool, grouped: bool) -> Vec<String> {
            let cluster = &model.cluster;
            let mut prepared = prepare(&cluster.services, cluster.selector_keys(), &cluster.config);
            if !grouped {
                prepared.examples.clear();
            }
            let checks = ServiceChecks::new(cluster, shared, &prepared);
            in_chunk_order(checks.run(model))
                .map(|f| {
                    format!(
                        "{:?} {} {} {:?}",
                        f.code,
                        f.object.describe(),
                        f.message,
                        f.details
                    )
                })
                .collect()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(300))]
            /// Deciding once per class of pending services gives every service the answer
            /// deciding for it alone gives.
            #[test]
            fn classes_change_no_finding(snapshot in snapshot_strategy()) {
                let model = crate::fixtures::manifests::model(&snapshot);
                let alone = service_findings(&model, false, false);
                prop_assert_eq!(&service_findings(&model, true, false), &alone);
                prop_assert_eq!(&service_findings(&model, true, true), &alone);
            }
        }
    }
}
