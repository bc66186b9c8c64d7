//! What MetalLB reads from a Service: whether it manages it, its family and policy, what it
//! requests, and its sharing and backend keys (metallb-semantics.md §1.4, §1.5, §4.3, §4.4,
//! §5, §8).

use super::addr::{Family, Ip};
use super::reason::{Code, Reason};
use crate::snapshot::{ANNOTATION_PREFIX, DEPRECATED_PREFIX, Service, StringMap};

/// The family MetalLB derives from the cluster IPs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    pub key: String,
    pub namespace: &'a str,
    pub labels: &'a StringMap,
    /// `Err` holds the service-level reason MetalLB stops at (gates G0, G2, G4, G5).
    pub gate: Result<(), Reason>,
    pub family: ServiceFamily,
    /// Offline manifests without cluster IPs: the family was inferred (cli-contract).
    pub family_inferred: bool,
    /// Whether `spec.ipFamilies` was set (what an inferred family came from).
    pub ip_families_given: bool,
    pub cluster_ip_count: usize,
    pub policy: Policy,
    /// The family a PreferDualStack service falls back to first (§4.3).
    pub primary: Family,
    /// `Ok(None)`: no request. `Err`: the request is conflicting or invalid.
    pub requested_ips: Result<Option<Vec<Ip>>, Reason>,
    pub requested_pool: Option<&'a str>,
    pub sharing_key: &'a str,
    pub backend_key: String,
    /// `(protocol, port)`, sorted; the protocol defaults to `TCP`.
    pub ports: Vec<(&'a str, i32)>,
    /// The ingress IPs the service holds, parsed.
    pub ingress: Vec<Ip>,
}

/// How MetalLB runs: which services it manages and how offline input is completed.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// The controller's `--lb-class`, if any.
    pub lb_class: Option<String>,
    /// Input from manifests: missing cluster IPs are inferred, not fatal.
    pub offline: bool,
}

/// The annotation value by MetalLB's rule: the `metallb.io/` key wins when present, even
/// empty; else the deprecated key; else empty (§4.4, §8).
pub fn annotation<'a>(annotations: &'a StringMap, name: &str) -> &'a str {
    let [value] = annotations_of(annotations, [name]);
    value
}

/// What both annotation prefixes start with.
const COMMON_PREFIX: &str = "metallb.";

/// Several annotations by [`annotation`]'s rule, with one search of the map: the keys of
/// both prefixes sort together, after [`COMMON_PREFIX`]. Reading a service looks up three
/// annotations, and searching the map for each key under each prefix was a large part of
/// what reading a large cluster cost.
fn annotations_of<'a, const N: usize>(
    annotations: &'a StringMap,
    names: [&str; N],
) -> [&'a str; N] {
    let mut values = [""; N];
    let mut current = [false; N];
    for (key, value) in annotations.with_prefix(COMMON_PREFIX) {
        let (name, is_current) = match (
            key.strip_prefix(ANNOTATION_PREFIX),
            key.strip_prefix(DEPRECATED_PREFIX),
        ) {
            (Some(name), _) => (name, true),
            (None, Some(name)) => (name, false),
            (None, None) => continue,
        };
        if let Some(i) = names.iter().position(|n| *n == name)
            && (is_current || !current[i])
        {
            values[i] = value;
            current[i] = is_current;
        }
    }
    values
}

impl<'a> ServiceFacts<'a> {
    pub fn new(svc: &'a Service, ctx: &Context) -> ServiceFacts<'a> {
        let meta = &svc.metadata;
        let spec = &svc.spec;
        let (family, family_inferred, cluster_ip_count, family_error) =
            cluster_family(svc, ctx.offline);
        let policy = match spec.ip_family_policy.as_deref() {
            Some("PreferDualStack") => Policy::PreferDualStack,
            Some("RequireDualStack") => Policy::RequireDualStack,
            _ => Policy::SingleStack,
        };
        let primary = if spec.ip_families.first().map(String::as_str) == Some("IPv6") {
            Family::V6
        } else {
            Family::V4
        };
        let gate = class_gate(svc, ctx)
            .and_then(|()| type_gate(svc))
            .and_then(|()| family_error.map_or(Ok(()), Err))
            .and_then(|()| {
                if policy == Policy::RequireDualStack && cluster_ip_count < 2 && !family_inferred {
                    Err(Reason::new(
                        Code::DualStackClusterIpsMissing,
                        format!(
                            "ipFamilyPolicy RequireDualStack with cluster IPs {:?}: MetalLB refuses it (event 'not enough clusterips')",
                            cluster_ips(svc)
                        ),
                    ))
                } else {
                    Ok(())
                }
            });
        let mut ports: Vec<(&str, i32)> = spec
            .ports
            .iter()
            .map(|p| (p.protocol.as_deref().unwrap_or("TCP"), p.port))
            .collect();
        ports.sort();
        let [requested, pool, sharing_key] = annotations_of(
            &meta.annotations,
            ["loadBalancerIPs", "address-pool", "allow-shared-ip"],
        );
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
            requested_ips: requested_ips(svc, requested),
            requested_pool: Some(pool).filter(|p| !p.is_empty()),
            sharing_key,
            backend_key: backend_key(svc),
            ports,
            ingress: svc.ingress_ips().filter_map(Ip::parse).collect(),
        }
    }

    /// Whether MetalLB allocates for this service at all.
    pub fn is_managed(&self) -> bool {
        !matches!(&self.gate, Err(r) if matches!(r.code, Code::OtherLoadBalancerClass | Code::NotLoadBalancer))
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
    list.iter().map(String::as_str).chain(single)
}

/// Family from `clusterIPs`, else `clusterIP` (§4.3); offline, from `ipFamilies` (contract).
/// Returns the family, whether it was inferred, the cluster IP count, and the gate error.
fn cluster_family(svc: &Service, offline: bool) -> (ServiceFamily, bool, usize, Option<Reason>) {
    let count = cluster_ip_texts(svc).count();
    if count == 0 {
        if offline {
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
            let dual_policy = matches!(
                svc.spec.ip_family_policy.as_deref(),
                Some("PreferDualStack" | "RequireDualStack")
            );
            let family = match families.as_slice() {
                [a, b, ..] if dual_policy && a != b => ServiceFamily::Dual,
                [first, ..] => ServiceFamily::Single(*first),
                [] => ServiceFamily::Single(Family::V4),
            };
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
    if usable {
        for (slot, text) in parsed.iter_mut().zip(cluster_ip_texts(svc)) {
            match Ip::parse(text) {
                Some(ip) => *slot = ip,
                None => usable = false,
            }
        }
    }
    match usable
        .then(|| ServiceFamily::of(&parsed[..count]))
        .flatten()
    {
        Some(family) => (family, false, count, None),
        None => {
            let ips = cluster_ips(svc);
            let reason = Reason::new(
                Code::NoClusterIp,
                format!("cluster IPs {ips:?} give no usable IP family"),
            );
            (
                ServiceFamily::Single(Family::V4),
                false,
                count,
                Some(reason),
            )
        }
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
/// `ann` is the `loadBalancerIPs` annotation.
fn requested_ips(svc: &Service, ann: &str) -> Result<Option<Vec<Ip>>, Reason> {
    let lb = svc.spec.load_balancer_ip.as_deref().unwrap_or("");
    match (ann.is_empty(), lb.is_empty()) {
        (true, true) => Ok(None),
        (false, false) => Err(Reason::new(
            Code::ConflictingIpRequests,
            "service can not have both metallb.io/loadBalancerIPs and svc.Spec.LoadBalancerIP",
        )),
        (false, true) => {
            let ips: Option<Vec<Ip>> = ann.split(',').map(|s| Ip::parse(s.trim())).collect();
            let ips = ips.ok_or_else(|| {
                Reason::new(
                    Code::InvalidRequestedIp,
                    format!("invalid metallb.io/loadBalancerIPs: {ann:?}"),
                )
            })?;
            if ServiceFamily::of(&ips).is_none() {
                let why = if ips.len() > 2 {
                    "more than two addresses"
                } else {
                    "two addresses of the same family"
                };
                return Err(Reason::new(
                    Code::InvalidRequestedIp,
                    format!(
                        "metallb.io/loadBalancerIPs {ann:?} has {why}; give one address, or one IPv4 and one IPv6"
                    ),
                ));
            }
            Ok(Some(ips))
        }
        (true, false) => match Ip::parse(lb) {
            Some(ip) => Ok(Some(vec![ip])),
            None => Err(Reason::new(
                Code::InvalidRequestedIp,
                format!("invalid spec.loadBalancerIP {lb:?}"),
            )),
        },
    }
}

/// The backend key (§5): the canonical selector under ETP Local, else empty.
fn backend_key(svc: &Service) -> String {
    if svc.spec.external_traffic_policy.as_deref() != Some("Local") {
        return String::new();
    }
    // Keys iterate sorted: the canonical form, `k=v,k=v`.
    let mut key = String::new();
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
    use crate::fixtures::lb;
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
            offline: false,
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
        svc.spec.ip_families = vec!["IPv6".into()];
        assert_eq!(facts(&svc).family, ServiceFamily::Single(Family::V4));
        assert_eq!(facts(&svc).primary, Family::V6);
    }

    #[test]
    fn unusable_cluster_ips_stop_allocation() {
        assert_eq!(
            facts(&lb("a", "s", &[])).gate.unwrap_err().code,
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
    fn offline_family_is_inferred() {
        let ctx = Context {
            lb_class: None,
            offline: true,
        };
        let mut svc = lb("a", "s", &[]);
        let f = ServiceFacts::new(&svc, &ctx);
        assert!(f.gate.is_ok() && f.family_inferred);
        assert_eq!(f.family, ServiceFamily::Single(Family::V4));
        svc.spec.ip_families = vec!["IPv6".into(), "IPv4".into()];
        assert_eq!(
            ServiceFacts::new(&svc, &ctx).family,
            ServiceFamily::Single(Family::V6)
        );
        svc.spec.ip_family_policy = Some("RequireDualStack".into());
        let f = ServiceFacts::new(&svc, &ctx);
        assert_eq!(f.family, ServiceFamily::Dual);
        assert!(f.gate.is_ok());
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
            ["", "k", "192.0.2.1", ""]
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
    fn backend_key_and_ports() {
        let mut svc = lb("a", "s", &["10.96.0.1"]);
        svc.spec.selector = [
            ("b".to_string(), "2".to_string()),
            ("a".to_string(), "1".to_string()),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            facts(&svc).backend_key,
            "",
            "Cluster policy has an empty backend key"
        );
        svc.spec.external_traffic_policy = Some("Local".into());
        assert_eq!(facts(&svc).backend_key, "a=1,b=2");
        svc.spec.ports = vec![
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
        assert_eq!(facts(&svc).ports, [("TCP", 53), ("UDP", 53)]);
    }

    #[test]
    fn ingress_ips_ignore_hostnames() {
        let mut svc = lb("a", "s", &["10.96.0.1"]);
        svc.status.load_balancer.ingress = vec![
            Ingress {
                ip: None,
                hostname: Some("lb.example.com".into()),
            },
            Ingress {
                ip: Some("192.0.2.5".into()),
                hostname: None,
            },
        ];
        assert_eq!(facts(&svc).ingress, [Ip::parse("192.0.2.5").unwrap()]);
    }
}
