//! What MetalLB reads from a Service: whether it manages it, its family and policy, what it
//! requests, and its sharing and backend keys (metallb-semantics.md §1.4, §1.5, §4.3, §4.4,
//! §5, §8).

use compact_str::CompactString;

use super::addr::{Family, Ip};
use super::reason::{Code, Reason};
use super::release::{
    Behaviour, Release, RequireDualSingleClusterIp, UnparsableClusterIp, go_quote,
};
use crate::snapshot::{ANNOTATION_PREFIX, DEPRECATED_PREFIX, Few, Service, StringMap};

/// The family MetalLB derives from the cluster IPs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServiceFamily {
    Single(Family),
    Dual,
}

impl ServiceFamily {
    pub fn of(ips: &[Ip]) -> Option<ServiceFamily> {
        match ips {
            [one] => Some(ServiceFamily::Single(one.family)),
            [a, b] if a.family != b.family => Some(ServiceFamily::Dual),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ServiceFamily::Single(Family::V4) => "ipv4",
            ServiceFamily::Single(Family::V6) => "ipv6",
            ServiceFamily::Dual => "dual",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Policy {
    SingleStack,
    PreferDualStack,
    RequireDualStack,
}

impl Policy {
    pub fn name(self) -> &'static str {
        match self {
            Policy::SingleStack => "SingleStack",
            Policy::PreferDualStack => "PreferDualStack",
            Policy::RequireDualStack => "RequireDualStack",
        }
    }
}

/// A service as MetalLB's allocator sees it, computed once per service. It borrows what it
/// can from the snapshot's `Service`: a copy of every service's labels would be most of
/// what building a large cluster costs.
#[derive(Clone, Debug)]
pub struct ServiceFacts<'a> {
    pub key: CompactString,
    pub namespace: &'a str,
    pub labels: &'a StringMap,
    /// `Err` holds the service-level reason MetalLB stops at (gates G0, G2, G4, G5). Boxed,
    /// as every reason here: few services have one, and every service's facts are kept.
    pub gate: Result<(), Box<Reason>>,
    pub family: ServiceFamily,
    /// A hand-written manifest without cluster IPs: the family was inferred as the API
    /// server would default it (cli-contract, "Offline manifests").
    pub family_inferred: bool,
    /// Whether `spec.ipFamilies` was set (what an inferred family came from).
    pub ip_families_given: bool,
    pub cluster_ip_count: usize,
    pub policy: Policy,
    /// The family a PreferDualStack service falls back to first (§4.3).
    pub primary: Family,
    /// `Ok(None)`: no request. `Err`: the request is conflicting or invalid (MetalLB's own
    /// text of it is [`ServiceFacts::request_error`]).
    pub requested_ips: Result<Option<Vec<Ip>>, Box<Reason>>,
    pub requested_pool: Option<&'a str>,
    pub sharing_key: &'a str,
    /// The ingress IPs the service holds, parsed.
    pub ingress: Few<Ip>,
    /// Which annotations MetalLB reads the service sets: bit `i` for [`READ_ANNOTATIONS`]`[i]`
    /// under `metallb.io/`, bit `3 + i` under `metallb.universe.tf/`.
    annotations_set: u8,
    /// What few services have, apart: `None` when the service has none of it.
    unusual: Option<Box<Unusual<'a>>>,
}

/// The facts of a service that few services have (see the accessors of [`ServiceFacts`]).
#[derive(Clone, Debug, Default)]
struct Unusual<'a> {
    backend_key: CompactString,
    ports: Vec<(&'a str, i32)>,
    request_error: Option<String>,
    unparsable_ingress: Vec<&'a str>,
    ignored_annotations: Vec<&'static str>,
    cluster_ips_error: Option<String>,
}

impl<'a> Unusual<'a> {
    /// `None` when there is nothing unusual to keep.
    fn kept(self) -> Option<Box<Unusual<'a>>> {
        let usual = self.backend_key.is_empty()
            && self.ports.is_empty()
            && self.request_error.is_none()
            && self.unparsable_ingress.is_empty()
            && self.ignored_annotations.is_empty()
            && self.cluster_ips_error.is_none();
        (!usual).then(|| Box::new(self))
    }
}

/// How MetalLB runs: which services it manages, and the release whose rules apply.
#[derive(Clone, Debug)]
pub struct Context {
    /// The controller's `--lb-class`, if any.
    pub lb_class: Option<String>,
    /// What the modelled release does where releases differ.
    pub behaviour: Behaviour,
}

impl Default for Context {
    /// No `--lb-class`, the newest release.
    fn default() -> Context {
        Context {
            lb_class: None,
            behaviour: Behaviour::of(Release::NEWEST),
        }
    }
}

/// The annotations a service's allocation reads, by their name after the prefix.
const READ_ANNOTATIONS: [&str; 3] = ["loadBalancerIPs", "address-pool", "allow-shared-ip"];

/// The annotation value by the newest release's rule: the `metallb.io/` key wins when
/// present, even empty; else the deprecated key; else empty (§4.4, §8).
pub fn annotation<'a>(annotations: &'a StringMap, name: &str) -> &'a str {
    let [(current, deprecated)] = annotations_of(annotations, [name]);
    current.or(deprecated).unwrap_or("")
}

/// What both annotation prefixes start with.
const COMMON_PREFIX: &str = "metallb.";

/// Several annotations, each as the values of its `metallb.io/` and
/// `metallb.universe.tf/` keys (`None`: absent), with one search of the map: the keys of
/// both prefixes sort together, after [`COMMON_PREFIX`]. Reading a service looks up three
/// annotations, and searching the map for each key under each prefix was a large part of
/// what reading a large cluster cost. Which value wins is the release's rule
/// ([`Behaviour::annotation_value`]).
fn annotations_of<'a, const N: usize>(
    annotations: &'a StringMap,
    names: [&str; N],
) -> [(Option<&'a str>, Option<&'a str>); N] {
    let mut values = [(None, None); N];
    for (key, value) in annotations.with_prefix(COMMON_PREFIX) {
        let (name, is_current) = match (
            key.strip_prefix(ANNOTATION_PREFIX),
            key.strip_prefix(DEPRECATED_PREFIX),
        ) {
            (Some(name), _) => (name, true),
            (None, Some(name)) => (name, false),
            (None, None) => continue,
        };
        if let Some(i) = names.iter().position(|n| *n == name) {
            if is_current {
                values[i].0 = Some(value);
            } else {
                values[i].1 = Some(value);
            }
        }
    }
    values
}

/// The full `metallb.io/` key of each annotation MetalLB reads, for warnings.
const IGNORED_KEYS: [&str; 3] = [
    "metallb.io/loadBalancerIPs",
    "metallb.io/address-pool",
    "metallb.io/allow-shared-ip",
];

impl<'a> ServiceFacts<'a> {
    pub fn new(svc: &'a Service, ctx: &Context) -> ServiceFacts<'a> {
        let meta = &svc.metadata;
        let spec = &svc.spec;
        let behaviour = &ctx.behaviour;
        let (family, family_inferred, cluster_ip_count, family_error) =
            cluster_family(svc, behaviour);
        let policy = policy_of(svc);
        let primary = if spec.ip_families.first().map(CompactString::as_str) == Some("IPv6") {
            Family::V6
        } else {
            Family::V4
        };
        // MetalLB stops at no cluster IP at all (G4) before the dual-stack check (G5), and
        // reads the family of cluster IPs it has only after it (every release with G5, from
        // v0.15.0; before, there is no G5). Go: controller/service.go `convergeBalancer`
        // (then `ipfamily.ForService` for held addresses, else in `allocateIPs`).
        let (none_error, family_error) = if cluster_ip_count == 0 {
            (family_error, None)
        } else {
            (None, family_error)
        };
        let gate = class_gate(svc, ctx)
            .and_then(|()| type_gate(svc))
            .and_then(|()| none_error.map_or(Ok(()), Err))
            .and_then(|()| dual_stack_gate(svc, policy, cluster_ip_count, behaviour))
            .and_then(|()| family_error.map_or(Ok(()), Err))
            .map_err(Box::new);
        let read = annotations_of(&meta.annotations, READ_ANNOTATIONS);
        let annotations_set = read
            .iter()
            .enumerate()
            .fold(0, |set, (i, (current, deprecated))| {
                set | u8::from(current.is_some()) << i | u8::from(deprecated.is_some()) << (3 + i)
            });
        let [requested, pool, sharing_key] =
            read.map(|(current, deprecated)| behaviour.annotation_value(current, deprecated));
        let (ports, backend_key) = match sharing_key {
            "" => (Vec::new(), CompactString::default()),
            _ => (ports_of(svc), backend_key(svc)),
        };
        let ignored_annotations = match behaviour.ignored_annotation_prefix() {
            Some(_) => read
                .iter()
                .zip(IGNORED_KEYS)
                .filter(|((current, _), _)| current.is_some())
                .map(|(_, key)| key)
                .collect(),
            None => Vec::new(),
        };
        let (requested_ips, request_error) = match requested_ips(svc, requested, behaviour) {
            Ok(ips) => (Ok(ips), None),
            Err((reason, text)) => (Err(Box::new(reason)), Some(text)),
        };
        // Each ingress IP parsed once: the addresses held, and what MetalLB reads as nil.
        let mut ingress = Few::new();
        let mut unparsable_ingress = Vec::new();
        for text in svc.ingress_ips() {
            match Ip::parse(text) {
                Some(ip) => ingress.push(ip),
                None => unparsable_ingress.push(text),
            }
        }
        let unusual = Unusual {
            backend_key,
            ports,
            request_error,
            unparsable_ingress,
            ignored_annotations,
            cluster_ips_error: cluster_ips_error(svc, cluster_ip_count, behaviour),
        };
        ServiceFacts {
            key: meta.key(),
            namespace: &meta.namespace,
            labels: &meta.labels,
            gate,
            family,
            family_inferred,
            ip_families_given: !spec.ip_families.is_empty(),
            cluster_ip_count,
            policy,
            primary,
            requested_ips,
            requested_pool: Some(pool).filter(|p| !p.is_empty()),
            sharing_key,
            ingress,
            annotations_set,
            unusual: unusual.kept(),
        }
    }

    /// The annotations MetalLB reads that the service sets, by their name after the prefix,
    /// with whether it sets the `metallb.io/` key and the `metallb.universe.tf/` one.
    pub fn annotations_set(&self) -> impl Iterator<Item = (&'static str, bool, bool)> + '_ {
        let bit = |i: usize| self.annotations_set & (1 << i) != 0;
        READ_ANNOTATIONS
            .iter()
            .enumerate()
            .map(move |(i, name)| (*name, bit(i), bit(3 + i)))
            .filter(|(_, current, deprecated)| *current || *deprecated)
    }

    /// The backend key (§5): the canonical selector under ETP Local, else empty; empty too
    /// without a sharing key, like [`ServiceFacts::ports`].
    pub fn backend_key(&self) -> &str {
        self.unusual.as_ref().map_or("", |u| u.backend_key.as_str())
    }

    /// `(protocol, port)`, sorted; the protocol defaults to `TCP`. Empty for a service
    /// without a sharing key: ports are compared only between services that share a key
    /// (§5), and most services have none, so they keep no list.
    pub fn ports(&self) -> &[(&'a str, i32)] {
        self.unusual.as_ref().map_or(&[], |u| u.ports.as_slice())
    }

    /// MetalLB's own text of the request's error (`getDesiredLbIPs`) when `requested_ips`
    /// is `Err`: the AllocationFailed text, or `LoadBalancerFailed`'s for a service that
    /// holds addresses.
    pub fn request_error(&self) -> Option<&str> {
        self.unusual.as_ref()?.request_error.as_deref()
    }

    /// Ingress "IPs" that are not IP addresses (status written by someone else): MetalLB
    /// reads them as nil and clears the service's addresses (§6.1).
    pub fn unparsable_ingress(&self) -> &[&'a str] {
        self.unusual
            .as_ref()
            .map_or(&[], |u| u.unparsable_ingress.as_slice())
    }

    /// The `metallb.io/…` keys the service sets that this release does not read (≤ v0.14.8).
    pub fn ignored_annotations(&self) -> &[&'static str] {
        self.unusual
            .as_ref()
            .map_or(&[], |u| u.ignored_annotations.as_slice())
    }

    /// Cluster IPs that give no family: MetalLB's error (`IPFamilyForAddresses: …`), the
    /// text of the AllocationFailed a service without addresses gets. `None` when they give
    /// one, or when there is none at all (then MetalLB stops silently).
    pub fn cluster_ips_error(&self) -> Option<&str> {
        self.unusual.as_ref()?.cluster_ips_error.as_deref()
    }

    /// Whether MetalLB allocates for this service at all.
    pub fn is_managed(&self) -> bool {
        !matches!(&self.gate, Err(r) if matches!(r.code, Code::OtherLoadBalancerClass | Code::NotLoadBalancer))
    }

    /// Whether MetalLB allocates the service automatically (§4.7): no gate or bad request
    /// stops it, and it requests neither addresses nor a pool.
    pub fn is_automatic(&self) -> bool {
        self.gate.is_ok() && matches!(self.requested_ips, Ok(None)) && self.requested_pool.is_none()
    }

    /// Whether the service is a LoadBalancer MetalLB manages and holds ingress IPs.
    pub fn holds_addresses(&self) -> bool {
        self.is_managed() && !self.ingress.is_empty()
    }
}

fn cluster_ips(svc: &Service) -> Vec<&str> {
    cluster_ip_texts(svc).collect()
}

/// `clusterIPs` as written, else a non-empty `clusterIP`.
fn cluster_ip_texts(svc: &Service) -> impl Iterator<Item = &str> {
    let list = &svc.spec.cluster_ips;
    let single = svc
        .spec
        .cluster_ip
        .as_deref()
        .filter(|ip| list.is_empty() && !ip.is_empty());
    list.iter().map(CompactString::as_str).chain(single)
}

/// ipfamily.go `ForService`'s error for cluster IPs there are (`count` > 0) but that give
/// no family, as the release words it.
fn cluster_ips_error(svc: &Service, count: usize, behaviour: &Behaviour) -> Option<String> {
    if count == 0 {
        return None;
    }
    let cluster_ip = svc.spec.cluster_ip.as_deref().unwrap_or("");
    behaviour.cluster_ips_family_error(&svc.spec.cluster_ips, cluster_ip)
}

fn policy_of(svc: &Service) -> Policy {
    match svc.spec.ip_family_policy.as_deref() {
        Some("PreferDualStack") => Policy::PreferDualStack,
        Some("RequireDualStack") => Policy::RequireDualStack,
        _ => Policy::SingleStack,
    }
}

/// G5: a RequireDualStack service with fewer than two cluster IPs. Refused upfront from
/// v0.15.0 (event `not enough clusterips`); before, it is allocated with the family its one
/// cluster IP gives, by that release's rule (C.3). Go: controller/service.go
/// `convergeBalancer`.
fn dual_stack_gate(
    svc: &Service,
    policy: Policy,
    cluster_ip_count: usize,
    behaviour: &Behaviour,
) -> Result<(), Reason> {
    if policy != Policy::RequireDualStack
        || cluster_ip_count >= 2
        || behaviour.require_dual_single_cluster_ip != RequireDualSingleClusterIp::Refused
    {
        return Ok(());
    }
    let ips = cluster_ips(svc);
    // The event prints `spec.clusterIPs` (Go `%v`), not the `clusterIP` fallback.
    let event = behaviour
        .not_enough_cluster_ips_text(&svc.spec.cluster_ips)
        .unwrap_or_default();
    Err(Reason::new(
        Code::DualStackClusterIpsMissing,
        format!(
            "ipFamilyPolicy RequireDualStack with cluster IPs {ips:?}: MetalLB refuses it (event 'not enough clusterips': {event})"
        ),
    ))
}

/// Family from `clusterIPs`, else `clusterIP` (§4.3). A hand-written manifest without them
/// gets the family the API server would give it (contract, "Offline manifests"); an object
/// read from a cluster (or a dump of one) without them really has none.
/// Returns the family, whether it was inferred, the cluster IP count, and the gate error.
fn cluster_family(
    svc: &Service,
    behaviour: &Behaviour,
) -> (ServiceFamily, bool, usize, Option<Reason>) {
    let count = cluster_ip_texts(svc).count();
    if count == 0 {
        if svc.metadata.is_hand_written() {
            let family = defaulted_family(svc);
            let count = if family == ServiceFamily::Dual { 2 } else { 1 };
            return (family, true, count, None);
        }
        let reason = Reason::new(
            Code::NoClusterIp,
            "the service has no cluster IP, so MetalLB cannot tell its IP family",
        );
        return (ServiceFamily::Single(Family::V4), false, 0, Some(reason));
    }
    // One or two addresses make a family: they are parsed into an array, not a vector.
    let mut parsed = [Ip::v4(0); 2];
    let mut usable = count <= parsed.len();
    let mut unparsable = false;
    if usable {
        for (slot, text) in parsed.iter_mut().zip(cluster_ip_texts(svc)) {
            match Ip::parse(text) {
                Some(ip) => *slot = ip,
                None => {
                    usable = false;
                    unparsable = true;
                }
            }
        }
    }
    // Up to v0.13.x, one cluster IP that does not parse counts as IPv6 (C.5).
    // Go: ipfamily.go `ForAddresses`.
    if count == 1 && unparsable && behaviour.unparsable_cluster_ip == UnparsableClusterIp::Ipv6 {
        return (ServiceFamily::Single(Family::V6), false, count, None);
    }
    match usable
        .then(|| ServiceFamily::of(&parsed[..count]))
        .flatten()
    {
        Some(family) => (family, false, count, None),
        None => {
            let ips = cluster_ips(svc);
            let mut message = format!("cluster IPs {ips:?} give no usable IP family");
            if unparsable {
                message.push_str(" (MetalLB: IPFamilyForAddresses: Invalid address)");
            }
            let reason = Reason::new(Code::NoClusterIp, message);
            (
                ServiceFamily::Single(Family::V4),
                false,
                count,
                Some(reason),
            )
        }
    }
}

/// The family the API server gives a service written without cluster IPs: `RequireDualStack`
/// gets a cluster IP of each family even when `ipFamilies` lists one; `PreferDualStack`
/// gets two only when `ipFamilies` lists two (a single-stack cluster gives one); otherwise
/// the first family listed, else IPv4.
fn defaulted_family(svc: &Service) -> ServiceFamily {
    let families: Vec<Family> = svc
        .spec
        .ip_families
        .iter()
        .filter_map(|f| match f.as_str() {
            "IPv4" => Some(Family::V4),
            "IPv6" => Some(Family::V6),
            _ => None,
        })
        .collect();
    match (policy_of(svc), families.as_slice()) {
        (Policy::RequireDualStack, _) => ServiceFamily::Dual,
        (Policy::PreferDualStack, [a, b, ..]) if a != b => ServiceFamily::Dual,
        (_, [first, ..]) => ServiceFamily::Single(*first),
        (_, []) => ServiceFamily::Single(Family::V4),
    }
}

/// G0: the load-balancer class filter (§1.4).
fn class_gate(svc: &Service, ctx: &Context) -> Result<(), Reason> {
    let class = svc
        .spec
        .load_balancer_class
        .as_deref()
        .filter(|c| !c.is_empty());
    match (ctx.lb_class.as_deref(), class) {
        (None, None) => Ok(()),
        (Some(want), Some(have)) if want == have => Ok(()),
        (None, Some(have)) => Err(Reason::new(
            Code::OtherLoadBalancerClass,
            format!(
                "spec.loadBalancerClass is {have:?}; MetalLB runs without --lb-class and serves only services without a class"
            ),
        )),
        (Some(want), None) => Err(Reason::new(
            Code::OtherLoadBalancerClass,
            format!(
                "the service has no spec.loadBalancerClass, but MetalLB runs with --lb-class={want} and serves only that class"
            ),
        )),
        (Some(want), Some(have)) => Err(Reason::new(
            Code::OtherLoadBalancerClass,
            format!("spec.loadBalancerClass is {have:?}; MetalLB serves only class {want:?}"),
        )),
    }
}

/// G2: only LoadBalancer services are allocated (§1.5). A missing type is ClusterIP.
fn type_gate(svc: &Service) -> Result<(), Reason> {
    let kind = svc.spec.type_.as_deref().unwrap_or("ClusterIP");
    if kind == "LoadBalancer" {
        Ok(())
    } else {
        Err(Reason::new(
            Code::NotLoadBalancer,
            format!("the service is of type {kind}, not LoadBalancer"),
        ))
    }
}

/// The requested IPs (§4.4): the annotation or `spec.loadBalancerIP`, never both.
/// `ann` is the `loadBalancerIPs` annotation this release reads; MetalLB's texts name the
/// key of the release, whatever key the user wrote. An error comes with MetalLB's own text
/// (the same as the reason's, except for addresses that are not one family, which the
/// reason explains). Go: controller/service.go `getDesiredLbIPs`.
fn requested_ips(
    svc: &Service,
    ann: &str,
    behaviour: &Behaviour,
) -> Result<Option<Vec<Ip>>, (Reason, String)> {
    let as_is = |reason: Reason| {
        let text = reason.message.clone();
        (reason, text)
    };
    let lb = svc.spec.load_balancer_ip.as_deref().unwrap_or("");
    match (ann.is_empty(), lb.is_empty()) {
        (true, true) => Ok(None),
        (false, false) => Err(as_is(Reason::new(
            Code::ConflictingIpRequests,
            behaviour.both_load_balancer_ips_text(),
        ))),
        (false, true) => {
            let ips: Option<Vec<Ip>> = ann.split(',').map(|s| Ip::parse(s.trim())).collect();
            let ips = ips.ok_or_else(|| {
                as_is(Reason::new(
                    Code::InvalidRequestedIp,
                    behaviour.invalid_load_balancer_ips_text(ann),
                ))
            })?;
            if let Some(text) = behaviour.requested_ips_family_error(&ips) {
                let why = if ips.len() > 2 {
                    "more than two addresses"
                } else {
                    "two addresses of the same family"
                };
                let reason = Reason::new(
                    Code::InvalidRequestedIp,
                    format!(
                        "{} {ann:?} has {why}; give one address, or one IPv4 and one IPv6",
                        behaviour.load_balancer_ips_key
                    ),
                );
                return Err((reason, text));
            }
            Ok(Some(ips))
        }
        (true, false) => match Ip::parse(lb) {
            Some(ip) => Ok(Some(vec![ip])),
            None => Err(as_is(Reason::new(
                Code::InvalidRequestedIp,
                format!("invalid spec.loadBalancerIP {}", go_quote(lb)),
            ))),
        },
    }
}

/// `(protocol, port)` of every port, sorted; the protocol defaults to `TCP`.
fn ports_of(svc: &Service) -> Vec<(&str, i32)> {
    let mut ports: Vec<(&str, i32)> = svc
        .spec
        .ports
        .iter()
        .map(|p| (p.protocol.as_deref().unwrap_or("TCP"), p.port))
        .collect();
    ports.sort();
    ports
}

/// The backend key (§5): the canonical selector under ETP Local, else empty.
fn backend_key(svc: &Service) -> CompactString {
    if svc.spec.external_traffic_policy.as_deref() != Some("Local") {
        return CompactString::default();
    }
    // Keys iterate sorted: the canonical form, `k=v,k=v`.
    let mut key = CompactString::default();
    for (k, v) in &svc.spec.selector {
        if !key.is_empty() {
            key.push(',');
        }
        key.push_str(k);
        key.push('=');
        key.push_str(v);
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{annotate, lb};
    use crate::snapshot::{Ingress, ServicePort};

    fn facts(svc: &Service) -> ServiceFacts<'_> {
        ServiceFacts::new(svc, &Context::default())
    }

    #[test]
    fn class_filter() {
        let mut svc = lb("a", "s", &["10.96.0.1"]);
        assert!(facts(&svc).gate.is_ok());
        svc.spec.load_balancer_class = Some("metallb.io/metallb".into());
        assert_eq!(
            facts(&svc).gate.unwrap_err().code,
            Code::OtherLoadBalancerClass,
            "a class without --lb-class"
        );
        let ctx = Context {
            lb_class: Some("metallb.io/metallb".into()),
            ..Context::default()
        };
        assert!(ServiceFacts::new(&svc, &ctx).gate.is_ok());
        svc.spec.load_balancer_class = None;
        let f = ServiceFacts::new(&svc, &ctx);
        assert_eq!(
            f.gate.unwrap_err().code,
            Code::OtherLoadBalancerClass,
            "no class with --lb-class"
        );
        assert!(!ServiceFacts::new(&svc, &ctx).is_managed());
    }

    #[test]
    fn only_load_balancers_are_allocated() {
        let mut svc = lb("a", "s", &["10.96.0.1"]);
        svc.spec.type_ = None;
        assert_eq!(facts(&svc).gate.unwrap_err().code, Code::NotLoadBalancer);
        svc.spec.type_ = Some("NodePort".into());
        assert!(!facts(&svc).is_managed());
    }

    #[test]
    fn family_comes_from_cluster_ips() {
        assert_eq!(
            facts(&lb("a", "s", &["10.96.0.1"])).family,
            ServiceFamily::Single(Family::V4)
        );
        assert_eq!(
            facts(&lb("a", "s", &["fd00::1"])).family,
            ServiceFamily::Single(Family::V6)
        );
        assert_eq!(
            facts(&lb("a", "s", &["fd00::1", "10.96.0.1"])).family,
            ServiceFamily::Dual
        );
        let mut svc = lb("a", "s", &[]);
        svc.spec.cluster_ip = Some("10.96.0.9".into());
        assert_eq!(facts(&svc).family, ServiceFamily::Single(Family::V4));
        // ipFamilies does not decide the family live.
        let mut svc = lb("a", "s", &["10.96.0.1"]);
        svc.spec.ip_families = smallvec::smallvec!["IPv6".into()];
        assert_eq!(facts(&svc).family, ServiceFamily::Single(Family::V4));
        assert_eq!(facts(&svc).primary, Family::V6);
    }

    /// A service as read from a cluster (or a dump of one): it has a uid.
    fn live(mut svc: Service) -> Service {
        svc.metadata.uid = Some("4c1e".into());
        svc
    }

    #[test]
    fn unusable_cluster_ips_stop_allocation() {
        assert_eq!(
            facts(&live(lb("a", "s", &[]))).gate.unwrap_err().code,
            Code::NoClusterIp
        );
        assert_eq!(
            facts(&lb("a", "s", &["None"])).gate.unwrap_err().code,
            Code::NoClusterIp
        );
        assert_eq!(
            facts(&lb("a", "s", &["10.96.0.1", "10.96.0.2"]))
                .gate
                .unwrap_err()
                .code,
            Code::NoClusterIp
        );
    }

    #[test]
    fn a_service_from_an_api_server_without_cluster_ip_has_none() {
        let mut svc = lb("a", "s", &[]);
        svc.metadata.resource_version = Some("7".into());
        let f = facts(&svc);
        assert_eq!(f.gate.unwrap_err().code, Code::NoClusterIp);
        assert!(!f.family_inferred);
        svc.metadata.resource_version = None;
        svc.metadata.uid = Some("x".into());
        assert_eq!(facts(&svc).gate.unwrap_err().code, Code::NoClusterIp);
        svc.metadata.uid = None;
        assert!(facts(&svc).gate.is_ok(), "hand-written: inferred");
    }

    #[test]
    fn hand_written_family_is_what_the_api_server_would_give() {
        let mut svc = lb("a", "s", &[]);
        let f = facts(&svc);
        assert!(f.gate.is_ok() && f.family_inferred);
        assert_eq!(f.family, ServiceFamily::Single(Family::V4));
        svc.spec.ip_families = smallvec::smallvec!["IPv6".into(), "IPv4".into()];
        assert_eq!(facts(&svc).family, ServiceFamily::Single(Family::V6));
        svc.spec.ip_family_policy = Some("PreferDualStack".into());
        assert_eq!(facts(&svc).family, ServiceFamily::Dual);
        // PreferDualStack with one family: single (a single-stack cluster gives one).
        svc.spec.ip_families = smallvec::smallvec!["IPv6".into()];
        assert_eq!(facts(&svc).family, ServiceFamily::Single(Family::V6));
        // RequireDualStack gets a cluster IP of each family, even with one listed.
        svc.spec.ip_family_policy = Some("RequireDualStack".into());
        let f = facts(&svc);
        assert_eq!(f.family, ServiceFamily::Dual);
        assert_eq!((f.cluster_ip_count, f.primary), (2, Family::V6));
        assert!(f.gate.is_ok());
        svc.spec.ip_families.clear();
        assert_eq!(facts(&svc).family, ServiceFamily::Dual);
    }

    fn at(release: Release) -> Context {
        Context {
            behaviour: Behaviour::of(release),
            ..Context::default()
        }
    }

    #[test]
    fn one_unparsable_cluster_ip_is_ipv6_up_to_0_13() {
        let svc = lb("a", "s", &["not-an-ip"]);
        let old = ServiceFacts::new(&svc, &at(Release::V0_13_9));
        assert!(old.gate.is_ok());
        assert_eq!(old.family, ServiceFamily::Single(Family::V6));
        let new = ServiceFacts::new(&svc, &at(Release::V0_14_8));
        let reason = new.gate.unwrap_err();
        assert_eq!(reason.code, Code::NoClusterIp);
        assert!(
            reason
                .message
                .contains("IPFamilyForAddresses: Invalid address")
        );
    }

    #[test]
    fn require_dual_stack_with_one_cluster_ip_is_refused_from_0_15_0() {
        let mut svc = lb("a", "s", &["10.96.0.1"]);
        svc.spec.ip_family_policy = Some("RequireDualStack".into());
        for release in [Release::V0_13_9, Release::V0_14_8, Release::V0_14_9] {
            let f = ServiceFacts::new(&svc, &at(release));
            assert!(f.gate.is_ok(), "{release}");
            assert_eq!(f.family, ServiceFamily::Single(Family::V4));
        }
        for release in [Release::V0_15_3, Release::V0_16_1] {
            let reason = ServiceFacts::new(&svc, &at(release)).gate.unwrap_err();
            assert_eq!(reason.code, Code::DualStackClusterIpsMissing, "{release}");
            assert!(
                reason
                    .message
                    .contains("Service requires dual stack but not enough clusterips [10.96.0.1]"),
                "{}",
                reason.message
            );
        }
    }

    /// The gate code each release of [`Release::CHECKED`] stops `svc` at (`None`: allocated).
    fn gate_per_release(svc: &Service) -> Vec<Option<Code>> {
        Release::CHECKED
            .into_iter()
            .map(|release| {
                ServiceFacts::new(svc, &at(release))
                    .gate
                    .err()
                    .map(|r| r.code)
            })
            .collect()
    }

    #[test]
    fn require_dual_stack_is_checked_before_the_family_of_its_cluster_ip_from_0_15_0() {
        // convergeBalancer counts `spec.clusterIPs` (G5) before `ipfamily.ForService` parses
        // them; before v0.15.0 there is no G5, and the one cluster IP is read: IPv6 up to
        // v0.13.x, an error from v0.14.0.
        let mut svc = lb("a", "s", &["bogus"]);
        svc.spec.ip_family_policy = Some("RequireDualStack".into());
        let refused = Some(Code::DualStackClusterIpsMissing);
        let unusable = Some(Code::NoClusterIp);
        assert_eq!(
            gate_per_release(&svc),
            [None, unusable, unusable, refused, refused]
        );
        let old = ServiceFacts::new(&svc, &at(Release::V0_13_9));
        assert_eq!(old.family, ServiceFamily::Single(Family::V6));
        let reason = ServiceFacts::new(&svc, &at(Release::V0_15_3))
            .gate
            .unwrap_err();
        assert!(
            reason
                .message
                .contains("Service requires dual stack but not enough clusterips [bogus]"),
            "{}",
            reason.message
        );
        // The same service with a usable cluster IP: the release decides alone (C.3).
        svc.spec.cluster_ips = smallvec::smallvec!["10.96.0.1".into()];
        assert_eq!(gate_per_release(&svc), [None, None, None, refused, refused]);
    }

    #[test]
    fn no_cluster_ip_at_all_stops_before_the_dual_stack_check_in_every_release() {
        // G4 (`len(ClusterIPs) == 0 && ClusterIP == ""`) comes first in every release.
        let mut svc = live(lb("a", "s", &[]));
        svc.spec.ip_family_policy = Some("RequireDualStack".into());
        assert_eq!(gate_per_release(&svc), [Some(Code::NoClusterIp); 5]);
    }

    #[test]
    fn two_cluster_ips_pass_the_dual_stack_check_even_when_they_make_no_family() {
        // G5 counts the cluster IPs only; two of one family fail later, in every release.
        let mut svc = lb("a", "s", &["10.96.0.1", "10.96.0.2"]);
        svc.spec.ip_family_policy = Some("RequireDualStack".into());
        assert_eq!(gate_per_release(&svc), [Some(Code::NoClusterIp); 5]);
        svc.spec.cluster_ips = smallvec::smallvec!["10.96.0.1".into(), "bogus".into()];
        assert_eq!(gate_per_release(&svc), [Some(Code::NoClusterIp); 5]);
    }

    #[test]
    fn the_refusal_prints_cluster_ips_as_listed_not_the_cluster_ip_fallback() {
        // Go: `Errorf(..., "... not enough clusterips %v", svc.Spec.ClusterIPs)`.
        let mut svc = lb("a", "s", &[]);
        svc.spec.cluster_ip = Some("10.96.0.1".into());
        svc.spec.ip_family_policy = Some("RequireDualStack".into());
        let reason = ServiceFacts::new(&svc, &at(Release::V0_16_1))
            .gate
            .unwrap_err();
        assert_eq!(reason.code, Code::DualStackClusterIpsMissing);
        assert!(
            reason
                .message
                .contains("Service requires dual stack but not enough clusterips []"),
            "{}",
            reason.message
        );
    }

    #[test]
    fn the_annotations_set_are_named_with_their_prefixes() {
        let mut svc = lb("a", "s", &["10.96.0.1"]);
        let set = |svc: &Service| {
            ServiceFacts::new(svc, &at(Release::NEWEST))
                .annotations_set()
                .collect::<Vec<_>>()
        };
        assert_eq!(set(&svc), []);
        for (key, value) in [
            ("metallb.io/address-pool", "new"),
            ("metallb.universe.tf/address-pool", "old"),
            ("metallb.universe.tf/allow-shared-ip", "k"),
            ("example.com/loadBalancerIPs", "192.0.2.1"),
        ] {
            svc.metadata.annotations.insert(key, value);
        }
        assert_eq!(
            set(&svc),
            [
                ("address-pool", true, true),
                ("allow-shared-ip", false, true)
            ]
        );
    }

    #[test]
    fn metallb_io_annotations_are_read_from_0_14_9() {
        let mut svc = lb("a", "s", &["10.96.0.1"]);
        for (key, value) in [
            ("metallb.io/address-pool", "new"),
            ("metallb.universe.tf/address-pool", "old"),
            ("metallb.io/allow-shared-ip", "k"),
            ("metallb.io/loadBalancerIPs", "192.0.2.1"),
        ] {
            svc.metadata.annotations.insert(key, value);
        }
        let old = ServiceFacts::new(&svc, &at(Release::V0_14_8));
        assert_eq!(old.requested_pool, Some("old"));
        assert_eq!(old.sharing_key, "");
        assert_eq!(old.requested_ips, Ok(None));
        assert_eq!(
            old.ignored_annotations(),
            [
                "metallb.io/loadBalancerIPs",
                "metallb.io/address-pool",
                "metallb.io/allow-shared-ip"
            ]
        );
        let new = ServiceFacts::new(&svc, &at(Release::V0_14_9));
        assert_eq!(new.requested_pool, Some("new"));
        assert_eq!(new.sharing_key, "k");
        assert!(new.ignored_annotations().is_empty());
        assert!(new.requested_ips.unwrap().is_some());
    }

    #[test]
    fn an_empty_metallb_io_sharing_key_means_no_sharing_from_0_14_9() {
        // SharingKey: from v0.14.9 a present `metallb.io/allow-shared-ip`, even empty, wins;
        // before, only the deprecated key is read.
        let svc = annotate(
            annotate(
                lb("a", "s", &["10.96.0.1"]),
                "metallb.universe.tf/allow-shared-ip",
                "k",
            ),
            "metallb.io/allow-shared-ip",
            "",
        );
        let keys: Vec<&str> = Release::CHECKED
            .into_iter()
            .map(|release| ServiceFacts::new(&svc, &at(release)).sharing_key)
            .collect();
        assert_eq!(keys, ["k", "k", "", "", ""]);
    }

    #[test]
    fn request_texts_name_the_key_of_the_release() {
        let mut svc = lb("a", "s", &["10.96.0.1"]);
        svc.metadata
            .annotations
            .insert("metallb.universe.tf/loadBalancerIPs", "x");
        let text = |release| {
            ServiceFacts::new(&svc, &at(release))
                .requested_ips
                .unwrap_err()
                .message
        };
        assert_eq!(
            text(Release::V0_14_8),
            "invalid metallb.universe.tf/loadBalancerIPs: \"x\""
        );
        assert_eq!(
            text(Release::V0_14_9),
            "invalid metallb.io/loadBalancerIPs: \"x\""
        );
    }

    #[test]
    fn require_dual_stack_needs_two_cluster_ips() {
        let mut svc = lb("a", "s", &["10.96.0.1"]);
        svc.spec.ip_family_policy = Some("RequireDualStack".into());
        assert_eq!(
            facts(&svc).gate.unwrap_err().code,
            Code::DualStackClusterIpsMissing
        );
        svc.spec.cluster_ips.push("fd00::1".into());
        assert!(facts(&svc).gate.is_ok());
    }

    #[test]
    fn annotation_lookup_prefers_the_new_prefix_even_when_empty() {
        let mut svc = lb("a", "s", &["10.96.0.1"]);
        svc.metadata
            .annotations
            .insert("metallb.universe.tf/address-pool", "old");
        assert_eq!(facts(&svc).requested_pool, Some("old"));
        svc.metadata
            .annotations
            .insert("metallb.io/address-pool", String::new());
        assert_eq!(facts(&svc).requested_pool, None);
        svc.metadata
            .annotations
            .insert("metallb.universe.tf/allow-shared-ip", "k");
        assert_eq!(facts(&svc).sharing_key, "k");
    }

    #[test]
    fn annotations_are_found_among_other_keys_in_one_search() {
        assert!(ANNOTATION_PREFIX.starts_with(COMMON_PREFIX));
        assert!(DEPRECATED_PREFIX.starts_with(COMMON_PREFIX));
        let annotations: StringMap = [
            ("a.example.com/x", "1"),
            ("metallb.io/address-pool", ""),
            ("metallb.io/ip-allocated-from-pool", "p"),
            ("metallb.iox/allow-shared-ip", "no"),
            ("metallb.universe.tf/address-pool", "old"),
            ("metallb.universe.tf/allow-shared-ip", "k"),
            ("metallb.universe.tf/loadBalancerIPs", "192.0.2.1"),
            ("metallb.z/loadBalancerIPs", "no"),
            ("zz/allow-shared-ip", "no"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            annotations_of(
                &annotations,
                [
                    "address-pool",
                    "allow-shared-ip",
                    "loadBalancerIPs",
                    "missing"
                ]
            ),
            [
                (Some(""), Some("old")),
                (None, Some("k")),
                (None, Some("192.0.2.1")),
                (None, None)
            ]
        );
        assert_eq!(annotation(&annotations, "ip-allocated-from-pool"), "p");
        assert_eq!(annotation(&StringMap::new(), "address-pool"), "");
    }

    #[test]
    fn requested_ips() {
        let ip = |s: &str| Ip::parse(s).unwrap();
        let mut svc = lb("a", "s", &["10.96.0.1"]);
        svc.metadata
            .annotations
            .insert("metallb.io/loadBalancerIPs", "192.0.2.10, 2001:db8::10");
        assert_eq!(
            facts(&svc).requested_ips.unwrap(),
            Some(vec![ip("192.0.2.10"), ip("2001:db8::10")])
        );
        svc.spec.load_balancer_ip = Some("192.0.2.1".into());
        assert_eq!(
            facts(&svc).requested_ips.unwrap_err().code,
            Code::ConflictingIpRequests
        );
        svc.metadata.annotations = StringMap::new();
        assert_eq!(
            facts(&svc).requested_ips.unwrap(),
            Some(vec![ip("192.0.2.1")])
        );
        for bad in [
            "192.0.2.1,",
            "x",
            "192.0.2.1,192.0.2.2",
            "192.0.2.1,2001:db8::1,192.0.2.3",
        ] {
            let mut svc = lb("a", "s", &["10.96.0.1"]);
            svc.metadata
                .annotations
                .insert("metallb.io/loadBalancerIPs", bad);
            assert_eq!(
                facts(&svc).requested_ips.unwrap_err().code,
                Code::InvalidRequestedIp,
                "{bad}"
            );
        }
        let mut svc = lb("a", "s", &["10.96.0.1"]);
        svc.spec.load_balancer_ip = Some("not-an-ip".into());
        assert_eq!(
            facts(&svc).requested_ips.unwrap_err().code,
            Code::InvalidRequestedIp
        );
    }

    #[test]
    fn a_request_error_carries_metallb_own_text() {
        let text = |annotation: &str, spec: Option<&str>| {
            let mut svc = lb("a", "s", &["10.96.0.1"]);
            if !annotation.is_empty() {
                svc.metadata
                    .annotations
                    .insert("metallb.io/loadBalancerIPs", annotation);
            }
            svc.spec.load_balancer_ip = spec.map(Into::into);
            facts(&svc).request_error().map(str::to_string)
        };
        assert_eq!(
            text("192.0.2.1, 192.0.2.2", None).as_deref(),
            Some("IPFamilyForAddresses: same address family [\"192.0.2.1\" \"192.0.2.2\"]")
        );
        assert_eq!(
            text("192.0.2.1,2001:db8::1,192.0.2.3", None).as_deref(),
            Some(
                "IPFamilyForAddresses: invalid ips length 3 [\"192.0.2.1\" \"2001:db8::1\" \"192.0.2.3\"]"
            )
        );
        assert_eq!(
            text("x", None).as_deref(),
            Some("invalid metallb.io/loadBalancerIPs: \"x\"")
        );
        assert_eq!(
            text("", Some("not-an-ip")).as_deref(),
            Some("invalid spec.loadBalancerIP \"not-an-ip\"")
        );
        assert_eq!(text("", Some("192.0.2.1")), None);
    }

    #[test]
    fn backend_key_and_ports() {
        let mut svc = annotate(
            lb("a", "s", &["10.96.0.1"]),
            "metallb.io/allow-shared-ip",
            "k",
        );
        svc.spec.selector = [("b", "2"), ("a", "1")].into_iter().collect();
        assert_eq!(
            facts(&svc).backend_key(),
            "",
            "Cluster policy has an empty backend key"
        );
        svc.spec.external_traffic_policy = Some("Local".into());
        assert_eq!(facts(&svc).backend_key(), "a=1,b=2");
        svc.spec.ports = smallvec::smallvec![
            ServicePort {
                name: None,
                protocol: None,
                port: 53,
            },
            ServicePort {
                name: None,
                protocol: Some("UDP".into()),
                port: 53,
            },
        ];
        assert_eq!(facts(&svc).ports(), [("TCP", 53), ("UDP", 53)]);
        // Without a sharing key neither is compared, so neither is kept.
        svc.metadata.annotations = StringMap::new();
        assert_eq!(facts(&svc).backend_key(), "");
        assert!(facts(&svc).ports().is_empty());
    }

    #[test]
    fn ingress_ips_ignore_hostnames() {
        let mut svc = lb("a", "s", &["10.96.0.1"]);
        svc.status.load_balancer.ingress = smallvec::smallvec![
            Ingress {
                ip: None,
                hostname: Some("lb.example.com".into()),
            },
            Ingress {
                ip: Some("192.0.2.5".into()),
                hostname: None,
            },
        ];
        assert_eq!(
            facts(&svc).ingress.as_slice(),
            [Ip::parse("192.0.2.5").unwrap()]
        );
    }
}
