//! Allocation scenarios: the worked examples of metallb-semantics.md (Appendix B) and one
//! test per allocation rule, each written so that a wrong rule fails it.

use super::addr::Ip;
use super::allocator::{Cluster, Decision, Mode};
use super::config::Config;
use super::reason::Code;
use super::release::{Behaviour, Release};
use super::service::Context;
use crate::fixtures::{
    METALLB_NS as NS, annotate, dual, holding, labels, match_labels, namespace, pinned, pool, port,
    svc, with_family_policy,
};
use crate::snapshot::{Advertisement, AdvertisementSpec, Metadata};
use crate::snapshot::{IpAddressPool, Service, ServiceAllocation, Snapshot};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

fn ip(text: &str) -> Ip {
    Ip::parse(text).unwrap()
}

fn ips(texts: &[&str]) -> Vec<Ip> {
    texts.iter().map(|t| ip(t)).collect()
}

struct World {
    snapshot: Snapshot,
    ctx: Context,
}

impl World {
    fn new(pools: Vec<IpAddressPool>, services: Vec<Service>) -> World {
        World {
            snapshot: Snapshot {
                pools,
                services: services.into(),
                ..Default::default()
            },
            ctx: Context::default(),
        }
    }

    fn cluster(&self) -> Cluster<'_> {
        Cluster::new(
            &self.snapshot,
            Config::load(&self.snapshot, NS, &self.ctx.behaviour),
            &self.ctx,
        )
    }

    fn decide(&self, key: &str) -> (Decision, Cluster<'_>) {
        let cluster = self.cluster();
        let index = cluster
            .services
            .iter()
            .position(|s| s.key == key)
            .expect("service in world");
        let decision = cluster.decide(index);
        super::allocator::tests::assert_same_outcome(&decision, &cluster.outcome(index));
        (decision, cluster)
    }

    /// Replays MetalLB allocating `service` now and records the result as its status.
    fn allocate(&mut self, service: Service) -> Vec<Ip> {
        let key = service.metadata.key();
        self.snapshot.services.push(service);
        let (decision, _) = self.decide(&key);
        assert!(decision.fits, "{key} should fit: {:?}", decision.reasons);
        assert_eq!(decision.pools.len(), 1, "{key}: pool must be certain");
        let last = self.snapshot.services.last_mut().unwrap();
        let texts: Vec<String> = decision.ips.iter().map(ToString::to_string).collect();
        *last = holding(
            last.clone(),
            &texts.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        decision.ips
    }
}

fn pool_names(decision: &Decision, cluster: &Cluster) -> Vec<String> {
    decision
        .pools
        .iter()
        .map(|&p| cluster.config.pools[p].name.clone())
        .collect()
}

fn verdict_codes(decision: &Decision, cluster: &Cluster, pool: &str) -> Vec<Code> {
    let (i, _) = cluster.config.pool(pool).unwrap();
    decision
        .verdict(i)
        .unwrap()
        .reasons
        .iter()
        .map(|r| r.code)
        .collect()
}

fn codes(decision: &Decision) -> Vec<Code> {
    decision.reasons.iter().map(|r| r.code).collect()
}

// ---------------------------------------------------------------------------------------
// Appendix B

#[test]
fn b1_range_hands_out_addresses_in_ascending_order() {
    let mut world = World::new(vec![pool("p", &["192.168.1.240-192.168.1.250"])], vec![]);
    assert_eq!(world.allocate(svc("a/s1")), ips(&["192.168.1.240"]));
    assert_eq!(world.allocate(svc("a/s2")), ips(&["192.168.1.241"]));
    assert_eq!(world.allocate(svc("a/s3")), ips(&["192.168.1.242"]));
    let cluster = world.cluster();
    assert_eq!(cluster.counts(0).0.total, 11);
    assert_eq!(cluster.counts(0).0.used, 3);
}

#[test]
fn b2_avoid_buggy_ips_skips_the_network_address() {
    let mut buggy = pool("p", &["10.1.0.0/23"]);
    buggy.spec.avoid_buggy_ips = Some(true);
    let mut world = World::new(vec![buggy], vec![]);
    assert_eq!(world.allocate(svc("a/s")), ips(&["10.1.0.1"]));
    assert_eq!(world.cluster().counts(0).0.total, 508);
    let mut world = World::new(vec![pool("p", &["10.1.0.0/23"])], vec![]);
    assert_eq!(world.allocate(svc("a/s")), ips(&["10.1.0.0"]));
}

fn b3_pools() -> Vec<IpAddressPool> {
    vec![
        pinned("a", &["10.0.1.0/32"], Some(10), &["team-a"]),
        pinned("b", &["10.0.2.0/32"], Some(5), &["team-a"]),
        pool("c", &["10.0.3.0/30"]),
        pinned("d", &["10.0.4.0/32"], Some(1), &[]),
    ]
}

#[test]
fn b3_pinned_pools_by_priority_then_plain_pools() {
    let mut world = World::new(b3_pools(), vec![]);
    // team-a tries d, b, a, then c: it is not confined to a/b.
    assert_eq!(
        world.allocate(svc("team-a/s1")),
        ips(&["10.0.4.0"]),
        "priority-only d is pinned to everyone and first"
    );
    assert_eq!(
        world.allocate(svc("team-a/s2")),
        ips(&["10.0.2.0"]),
        "with d full, b (priority 5)"
    );
    assert_eq!(
        world.allocate(svc("team-a/s3")),
        ips(&["10.0.1.0"]),
        "then a (priority 10)"
    );
    assert_eq!(
        world.allocate(svc("team-a/s4")),
        ips(&["10.0.3.0"]),
        "then the plain pool c"
    );
    // team-b tries d then c.
    let (decision, cluster) = world.decide_new(svc("team-b/s5"));
    assert_eq!(pool_names(&decision, &cluster), ["c"]);
    assert_eq!(
        verdict_codes(&decision, &cluster, "a"),
        [Code::NamespaceNotAllowed]
    );
    assert_eq!(
        verdict_codes(&decision, &cluster, "d"),
        [Code::PoolExhausted]
    );
}

#[test]
fn b3_team_b_gets_the_priority_only_pool_before_plain_ones() {
    let world = World::new(b3_pools(), vec![svc("team-b/s")]);
    let (decision, cluster) = world.decide("team-b/s");
    assert_eq!(pool_names(&decision, &cluster), ["d"]);
    let (c, _) = cluster.config.pool("c").unwrap();
    assert!(
        decision.verdict(c).unwrap().fits && decision.verdict(c).unwrap().note.is_some(),
        "c fits but is not chosen"
    );
}

impl World {
    fn decide_new(&mut self, service: Service) -> (Decision, Cluster<'_>) {
        let key = service.metadata.key();
        self.snapshot.services.push(service);
        self.decide(&key)
    }
}

#[test]
fn b4_plain_pools_are_a_random_choice() {
    let world = World::new(
        vec![pool("x", &["10.0.0.0/24"]), pool("y", &["10.0.1.0/24"])],
        vec![svc("a/s")],
    );
    let (decision, cluster) = world.decide("a/s");
    assert!(decision.fits);
    assert_eq!(pool_names(&decision, &cluster), ["x", "y"]);
    assert!(
        decision.ips.is_empty(),
        "no address when the pool is not certain"
    );
}

fn shared(key: &str, sharing: &str, proto_port: (&str, i32)) -> Service {
    let s = port(svc(key), proto_port.0, proto_port.1);
    if sharing.is_empty() {
        s
    } else {
        annotate(s, "metallb.io/allow-shared-ip", sharing)
    }
}

#[test]
fn b5_sharing_packs_onto_the_lowest_compatible_address() {
    let mut world = World::new(
        vec![pool("p", &["10.0.0.0/30"])],
        vec![holding(shared("a/s1", "k", ("TCP", 80)), &["10.0.0.0"])],
    );
    assert_eq!(
        world.allocate(shared("a/s2", "k", ("TCP", 443))),
        ips(&["10.0.0.0"]),
        "same key, other port: shared"
    );
    assert_eq!(
        world.allocate(shared("a/s3", "k", ("TCP", 80))),
        ips(&["10.0.0.1"]),
        "port conflict"
    );
    assert_eq!(
        world.allocate(shared("a/s4", "", ("TCP", 8080))),
        ips(&["10.0.0.2"]),
        "no key: first unheld"
    );
    let mut s5 = shared("a/s5", "k", ("TCP", 9000));
    s5.spec.external_traffic_policy = Some("Local".into());
    s5.spec.selector = labels(&[("app", "x")]);
    assert_eq!(
        world.allocate(s5),
        ips(&["10.0.0.3"]),
        "backend key differs"
    );
    let cluster = world.cluster();
    assert_eq!(cluster.counts(0).0.used, 4, "10.0.0.0 counts once");
    assert_eq!(cluster.holders_of(0).count(), 5);
}

#[test]
fn b6_dual_stack_requests() {
    let pools = vec![
        pool("v4", &["192.0.2.0/24"]),
        pool("both", &["198.51.100.0/24", "2001:db8::/64"]),
        pool("v6", &["2001:db9::/64"]),
    ];
    let one = annotate(
        dual(svc("a/one"), "RequireDualStack"),
        "metallb.io/loadBalancerIPs",
        "192.0.2.10",
    );
    let same = annotate(
        dual(svc("a/same"), "RequireDualStack"),
        "metallb.io/loadBalancerIPs",
        "198.51.100.10,2001:db8::10",
    );
    let span = annotate(
        dual(svc("a/span"), "RequireDualStack"),
        "metallb.io/loadBalancerIPs",
        "192.0.2.10,2001:db9::10",
    );
    let world = World::new(pools, vec![one, same, span]);
    let (d, _) = world.decide("a/one");
    assert_eq!(codes(&d), [Code::RequestedIpFamilyMismatch]);
    let (d, c) = world.decide("a/same");
    assert!(d.fits);
    assert_eq!(pool_names(&d, &c), ["both"]);
    assert_eq!(d.ips, ips(&["198.51.100.10", "2001:db8::10"]));
    let (d, _) = world.decide("a/span");
    assert_eq!(codes(&d), [Code::RequestedIpsSpanPools]);
    assert_eq!(
        d.metallb_error.as_deref(),
        Some("[\"192.0.2.10\" \"2001:db9::10\"] is not allowed in config")
    );
}

#[test]
fn b7_requested_pool_of_the_wrong_family() {
    let world = World::new(
        vec![pool("v6only", &["2001:db8::/120"])],
        vec![annotate(svc("a/s"), "metallb.io/address-pool", "v6only")],
    );
    let (d, c) = world.decide("a/s");
    assert!(!d.fits);
    assert_eq!(verdict_codes(&d, &c, "v6only"), [Code::IpFamilyUnavailable]);
    assert_eq!(
        d.metallb_error.as_deref(),
        Some("[\"<nil>\"] is not allowed in config")
    );
}

// ---------------------------------------------------------------------------------------
// Rules

#[test]
fn auto_assign_false_serves_only_explicit_requests() {
    let mut premium = pool("premium", &["198.51.100.10-198.51.100.15"]);
    premium.spec.auto_assign = Some(false);
    let world = World::new(
        vec![premium],
        vec![
            svc("a/auto"),
            annotate(svc("a/by-pool"), "metallb.io/address-pool", "premium"),
            annotate(
                svc("a/by-ip"),
                "metallb.io/loadBalancerIPs",
                "198.51.100.12",
            ),
        ],
    );
    let (d, c) = world.decide("a/auto");
    assert!(!d.fits);
    assert_eq!(codes(&d), [Code::NoPoolFits]);
    assert_eq!(verdict_codes(&d, &c, "premium"), [Code::AutoAssignDisabled]);
    assert_eq!(world.decide("a/by-pool").0.ips, ips(&["198.51.100.10"]));
    assert_eq!(world.decide("a/by-ip").0.ips, ips(&["198.51.100.12"]));
}

#[test]
fn requested_ips_win_over_a_requested_pool_and_must_agree_with_it() {
    let world = World::new(
        vec![pool("a", &["10.0.0.0/24"]), pool("b", &["10.0.1.0/24"])],
        vec![annotate(
            annotate(svc("x/s"), "metallb.io/loadBalancerIPs", "10.0.0.5"),
            "metallb.io/address-pool",
            "b",
        )],
    );
    let (d, _) = world.decide("x/s");
    assert_eq!(d.mode, Mode::RequestedIps);
    assert_eq!(codes(&d), [Code::RequestedIpPoolMismatch]);
}

#[test]
fn requested_ips_respect_the_pool_scope() {
    let world = World::new(
        vec![pinned("team-a-ips", &["10.0.0.0/24"], Some(1), &["team-a"])],
        vec![annotate(
            svc("team-b/s"),
            "metallb.io/loadBalancerIPs",
            "10.0.0.5",
        )],
    );
    let (d, c) = world.decide("team-b/s");
    assert_eq!(codes(&d), [Code::NamespaceNotAllowed]);
    assert_eq!(
        verdict_codes(&d, &c, "team-a-ips"),
        [Code::NamespaceNotAllowed]
    );
    assert_eq!(
        d.metallb_error.as_deref(),
        Some("pool team-a-ips not compatible for ip assignment")
    );
}

#[test]
fn requested_ip_sharing_reasons() {
    let holder = |key: &str, sharing: &str, local: bool| {
        let mut s = holding(shared(key, sharing, ("TCP", 80)), &["10.0.0.1"]);
        if local {
            s.spec.external_traffic_policy = Some("Local".into());
            s.spec.selector = labels(&[("app", "x")]);
        }
        s
    };
    let request = |key: &str, sharing: &str, port_no: i32| {
        annotate(
            shared(key, sharing, ("TCP", port_no)),
            "metallb.io/loadBalancerIPs",
            "10.0.0.1",
        )
    };
    let cases = [
        (
            holder("h/h", "", false),
            request("a/s", "k", 443),
            Code::IpInUse,
        ),
        (
            holder("h/h", "k", false),
            request("a/s", "", 443),
            Code::IpInUse,
        ),
        (
            holder("h/h", "k", false),
            request("a/s", "other", 443),
            Code::SharingKeyMismatch,
        ),
        (
            holder("h/h", "k", true),
            request("a/s", "k", 443),
            Code::SharingBackendMismatch,
        ),
        (
            holder("h/h", "k", false),
            request("a/s", "k", 80),
            Code::PortConflict,
        ),
    ];
    for (h, s, expected) in cases {
        let world = World::new(vec![pool("p", &["10.0.0.0/24"])], vec![h, s]);
        let (d, _) = world.decide("a/s");
        assert_eq!(codes(&d), [expected]);
        assert!(!d.verdict(0).unwrap().fits);
        assert!(
            d.verdict(0).unwrap().ips.is_empty(),
            "a pool that does not fit gives nothing: {:?}",
            d.verdict(0).unwrap().ips
        );
    }
    // UDP/80 and TCP/80 do not conflict.
    let world = World::new(
        vec![pool("p", &["10.0.0.0/24"])],
        vec![
            holder("h/h", "k", false),
            annotate(
                shared("a/s", "k", ("UDP", 80)),
                "metallb.io/loadBalancerIPs",
                "10.0.0.1",
            ),
        ],
    );
    assert!(world.decide("a/s").0.fits);
}

#[test]
fn requested_ip_excluded_by_avoid_buggy_ips_is_in_no_pool() {
    let mut p = pool("p", &["10.0.0.0/24"]);
    p.spec.avoid_buggy_ips = Some(true);
    let world = World::new(
        vec![p],
        vec![annotate(
            svc("a/s"),
            "metallb.io/loadBalancerIPs",
            "10.0.0.255",
        )],
    );
    let (d, _) = world.decide("a/s");
    assert_eq!(codes(&d), [Code::RequestedIpNotInAnyPool]);
    assert!(d.reasons[0].message.contains("avoidBuggyIPs"));
}

#[test]
fn conflicting_ip_requests() {
    let mut s = annotate(svc("a/s"), "metallb.io/loadBalancerIPs", "10.0.0.5");
    s.spec.load_balancer_ip = Some("10.0.0.6".into());
    let world = World::new(vec![pool("p", &["10.0.0.0/24"])], vec![s]);
    assert_eq!(codes(&world.decide("a/s").0), [Code::ConflictingIpRequests]);
}

#[test]
fn requested_pool_reports_exhaustion_before_incompatibility() {
    let world = World::new(
        vec![
            pinned("team-a-ips", &["10.0.0.0/32"], Some(50), &["team-a"]),
            pool("other", &["10.0.1.0/24"]),
        ],
        vec![
            holding(svc("team-a/holder"), &["10.0.0.0"]),
            annotate(svc("team-b/batch"), "metallb.io/address-pool", "team-a-ips"),
        ],
    );
    let (d, c) = world.decide("team-b/batch");
    assert!(!d.fits);
    assert_eq!(
        verdict_codes(&d, &c, "team-a-ips"),
        [Code::PoolExhausted, Code::NamespaceNotAllowed]
    );
    assert_eq!(verdict_codes(&d, &c, "other"), [Code::NotRequested]);
    assert_eq!(
        d.metallb_error.as_deref(),
        Some("no available IPs in pool team-a-ips")
    );
}

#[test]
fn unknown_requested_pool_suggests_the_closest_name() {
    let world = World::new(
        vec![
            pool("staging-ipv4", &["10.0.0.0/24"]),
            pool("prod", &["10.0.1.0/24"]),
        ],
        vec![annotate(
            svc("a/s"),
            "metallb.io/address-pool",
            "staging-ips",
        )],
    );
    let (d, _) = world.decide("a/s");
    assert_eq!(codes(&d), [Code::PoolNotFound]);
    assert!(
        d.reasons[0].message.contains("\"staging-ipv4\""),
        "{}",
        d.reasons[0].message
    );
}

#[test]
fn dual_stack_needs_one_pool_with_both_families() {
    let split = vec![
        pool("v4", &["192.0.2.0/24"]),
        pool("v6", &["2001:db8::/64"]),
    ];
    let world = World::new(
        split.clone(),
        vec![
            dual(svc("a/req"), "RequireDualStack"),
            dual(svc("a/pref"), "PreferDualStack"),
        ],
    );
    let (d, c) = world.decide("a/req");
    assert!(!d.fits);
    assert_eq!(verdict_codes(&d, &c, "v4"), [Code::IpFamilyUnavailable]);
    // PreferDualStack falls back to the primary family when no pool has both.
    let (d, c) = world.decide("a/pref");
    assert_eq!(pool_names(&d, &c), ["v4"]);
    // With a pool offering both, it wins over single-family pools.
    let mut pools = split;
    pools.push(pool("both", &["198.51.100.0/24", "2001:db9::/64"]));
    let world = World::new(
        pools,
        vec![
            dual(svc("a/pref"), "PreferDualStack"),
            dual(svc("a/req"), "RequireDualStack"),
        ],
    );
    let (d, c) = world.decide("a/pref");
    assert_eq!(pool_names(&d, &c), ["both"]);
    assert_eq!(
        d.ips,
        ips(&["198.51.100.0", "2001:db9::"]),
        "IPv4 first, then IPv6"
    );
    assert_eq!(pool_names(&world.decide("a/req").0, &c), ["both"]);
}

#[test]
fn prefer_dual_stack_with_one_cluster_ip_gets_one_address() {
    let s = with_family_policy(svc("a/s"), "PreferDualStack");
    let world = World::new(
        vec![pool("both", &["198.51.100.0/24", "2001:db9::/64"])],
        vec![s],
    );
    let (d, _) = world.decide("a/s");
    assert_eq!(d.ips, ips(&["198.51.100.0"]));
    assert!(
        d.warnings
            .iter()
            .any(|w| w.code == Code::PreferDualStackSingleClusterIp)
    );
}

#[test]
fn allocated_service_is_decided_with_its_own_address_released() {
    let world = World::new(
        vec![pool("p", &["10.0.0.0/31"])],
        vec![
            holding(svc("a/s1"), &["10.0.0.0"]),
            holding(svc("a/s2"), &["10.0.0.1"]),
        ],
    );
    let (d, _) = world.decide("a/s2");
    assert!(d.fits, "its own address is free for it");
    assert_eq!(d.ips, ips(&["10.0.0.1"]));
}

#[test]
fn scoped_pool_does_not_confine_its_namespace() {
    let world = World::new(
        vec![
            pinned("team-a-ips", &["10.0.0.0/32"], Some(50), &["team-a"]),
            pool("shared", &["10.0.1.0/24"]),
        ],
        vec![
            holding(svc("team-a/first"), &["10.0.0.0"]),
            svc("team-a/second"),
        ],
    );
    let (d, c) = world.decide("team-a/second");
    assert_eq!(pool_names(&d, &c), ["shared"]);
}

#[test]
fn pinned_ties_are_all_possible() {
    let world = World::new(
        vec![
            pinned("a", &["10.0.0.0/24"], Some(50), &["t"]),
            pinned("b", &["10.0.1.0/24"], Some(50), &["t"]),
            pinned("z", &["10.0.2.0/24"], None, &["t"]),
        ],
        vec![svc("t/s")],
    );
    let (d, c) = world.decide("t/s");
    assert_eq!(
        pool_names(&d, &c),
        ["a", "b"],
        "priority 0 comes after positive priorities"
    );
    assert!(d.ips.is_empty());
    assert!(d.warnings.iter().any(|w| w.code == Code::PriorityTie));
}

#[test]
fn namespace_selector_matching_nothing_is_never_auto_assigned() {
    let mut p = pool("prod", &["10.0.0.0/24"]);
    p.spec.service_allocation = Some(ServiceAllocation {
        namespace_selectors: vec![match_labels(&[("environment", "production")])],
        ..Default::default()
    });
    let mut world = World::new(
        vec![p],
        vec![
            svc("dev/auto"),
            annotate(svc("dev/explicit"), "metallb.io/address-pool", "prod"),
        ],
    );
    world.snapshot.namespaces = vec![namespace("dev", &[])];
    world.snapshot.namespaces_known = true;
    let (d, c) = world.decide("dev/auto");
    assert!(!d.fits);
    assert_eq!(verdict_codes(&d, &c, "prod"), [Code::NamespaceNotAllowed]);
    assert!(
        world.decide("dev/explicit").0.fits,
        "explicit requests from any namespace still work"
    );
}

/// Without the namespaces' labels (a cluster where listing namespaces is denied, or
/// manifests without Namespace objects), a pool admitting by namespaceSelectors is neither
/// a yes nor a no for a namespace it does not list: never taken as admitting (its allowed
/// set is empty, which would otherwise admit every namespace), and the answer says what it
/// assumes. An address the service already holds there is not said to be taken away.
#[test]
fn namespace_labels_unknown_never_admit() {
    let mut p = pool("prod", &["10.0.0.0/24"]);
    p.spec.service_allocation = Some(ServiceAllocation {
        namespaces: vec!["listed".into()],
        namespace_selectors: vec![match_labels(&[("environment", "production")])],
        priority: Some(1),
        ..Default::default()
    });
    let world = World::new(
        vec![p, pool("plain", &["10.0.1.0/24"])],
        vec![
            annotate(svc("shop/explicit"), "metallb.io/address-pool", "prod"),
            svc("shop/auto"),
            svc("listed/auto"),
            holding(svc("shop/holder"), &["10.0.0.7"]),
        ],
    );
    assert!(!world.snapshot.namespaces_known);
    let (d, c) = world.decide("shop/explicit");
    assert!(!d.fits, "unknown is not a yes");
    assert_eq!(
        verdict_codes(&d, &c, "prod"),
        [Code::NamespaceLabelsUnknown]
    );
    assert_eq!(codes(&d), [Code::NamespaceLabelsUnknown]);
    assert!(
        d.warnings
            .iter()
            .any(|w| w.code == Code::NamespaceLabelsUnknown && w.message.contains("prod")),
        "{:?}",
        d.warnings
    );
    let (d, c) = world.decide("shop/auto");
    assert_eq!(
        pool_names(&d, &c),
        ["plain"],
        "the answer assumes prod does not admit it"
    );
    assert!(
        d.warnings
            .iter()
            .any(|w| w.code == Code::NamespaceLabelsUnknown)
    );
    let (d, c) = world.decide("listed/auto");
    assert_eq!(
        pool_names(&d, &c),
        ["prod"],
        "a namespace listed by name is known"
    );
    assert!(
        !d.warnings
            .iter()
            .any(|w| w.code == Code::NamespaceLabelsUnknown)
    );
    let c = world.cluster();
    assert!(
        c.holding_warnings.is_empty(),
        "not taken away on a guess: {:?}",
        c.holding_warnings
    );
}

#[test]
fn service_selectors_pin_matching_services_in_every_namespace() {
    let mut p = pool("web", &["10.0.0.0/24"]);
    p.spec.service_allocation = Some(ServiceAllocation {
        service_selectors: vec![match_labels(&[("tier", "web")])],
        ..Default::default()
    });
    let mut web = svc("any/web");
    web.metadata.labels = labels(&[("tier", "web")]);
    let world = World::new(
        vec![p, pool("plain", &["10.0.1.0/24"])],
        vec![web, svc("any/db")],
    );
    let (d, c) = world.decide("any/web");
    assert_eq!(pool_names(&d, &c), ["web"]);
    let (d, c) = world.decide("any/db");
    assert_eq!(pool_names(&d, &c), ["plain"]);
    assert_eq!(
        verdict_codes(&d, &c, "web"),
        [Code::ServiceSelectorMismatch]
    );
}

#[test]
fn service_gates() {
    let mut other_class = svc("a/other");
    other_class.spec.load_balancer_class = Some("example.com/lb".into());
    let mut cluster_ip = svc("a/plain");
    cluster_ip.spec.type_ = Some("ClusterIP".into());
    let require = with_family_policy(svc("a/require"), "RequireDualStack");
    let world = World::new(
        vec![pool("p", &["10.0.0.0/24"])],
        vec![other_class, cluster_ip, require],
    );
    assert_eq!(
        codes(&world.decide("a/other").0),
        [Code::OtherLoadBalancerClass]
    );
    assert_eq!(codes(&world.decide("a/plain").0), [Code::NotLoadBalancer]);
    assert_eq!(
        codes(&world.decide("a/require").0),
        [Code::DualStackClusterIpsMissing]
    );
    let empty = World::new(vec![], vec![svc("a/s")]);
    assert_eq!(codes(&empty.decide("a/s").0), [Code::NoPools]);
}

#[test]
fn invalid_config_is_reported_first() {
    let world = World::new(
        vec![pool("a", &["10.0.0.0/24"]), pool("b", &["10.0.0.0/25"])],
        vec![svc("x/s")],
    );
    let (d, _) = world.decide("x/s");
    assert_eq!(codes(&d)[0], Code::ConfigInvalid);
}

#[test]
fn holders_outside_every_pool_are_not_counted_and_are_reported() {
    let world = World::new(
        vec![pool("p", &["10.0.0.0/24"])],
        vec![
            holding(svc("a/in"), &["10.0.0.7"]),
            holding(svc("a/out"), &["192.0.2.7"]),
        ],
    );
    let cluster = world.cluster();
    assert_eq!(cluster.counts(0).0.used, 1);
    assert_eq!(cluster.holding_warnings.len(), 1);
    assert_eq!(cluster.holding_warnings[0].1.code, Code::AllocationNotValid);
}

#[test]
fn services_of_another_class_do_not_count() {
    let mut other = holding(svc("a/other"), &["10.0.0.7"]);
    other.spec.load_balancer_class = Some("example.com/lb".into());
    let world = World::new(vec![pool("p", &["10.0.0.0/24"])], vec![other]);
    assert_eq!(world.cluster().counts(0).0.used, 0);
}

#[test]
fn lb_class_flag_selects_services() {
    let mut classed = svc("a/classed");
    classed.spec.load_balancer_class = Some("metallb".into());
    let mut world = World::new(
        vec![pool("p", &["10.0.0.0/24"])],
        vec![classed, svc("a/plain")],
    );
    world.ctx.lb_class = Some("metallb".into());
    assert!(world.decide("a/classed").0.fits);
    assert_eq!(
        codes(&world.decide("a/plain").0),
        [Code::OtherLoadBalancerClass]
    );
}

#[test]
fn unannounced_pool_is_warned_about() {
    let world = World::new(vec![pool("p", &["10.0.0.0/24"])], vec![svc("a/s")]);
    let (d, _) = world.decide("a/s");
    assert!(d.fits, "allocation ignores advertisements");
    assert!(d.warnings.iter().any(|w| w.code == Code::NotAdvertised));
}

#[test]
fn huge_ipv6_pool_counts_exactly() {
    let world = World::new(
        vec![pool("v6", &["2001:db8::/32"])],
        vec![holding(svc("a/s"), &["2001:db8::5"])],
    );
    let mut world = world;
    world.snapshot.services[0].spec.cluster_ips = smallvec::smallvec!["fd00::10".into()];
    let (_, v6) = world.cluster().counts(0);
    assert_eq!(v6.total, 1u128 << 96);
    assert_eq!(v6.used, 1);
    assert_eq!(v6.free, (1u128 << 96) - 1);
}

#[test]
fn prefer_dual_stack_falls_back_to_the_primary_family_first() {
    let mut s = dual(svc("a/s"), "PreferDualStack");
    s.spec.ip_families = smallvec::smallvec!["IPv6".into(), "IPv4".into()];
    let world = World::new(
        vec![
            pool("v4", &["192.0.2.0/24"]),
            pool("v6", &["2001:db8::/64"]),
        ],
        vec![s],
    );
    let (d, c) = world.decide("a/s");
    assert_eq!(pool_names(&d, &c), ["v6"], "IPv6 is the primary family");
    assert_eq!(d.ips, ips(&["2001:db8::"]));
}

#[test]
fn negative_priority_makes_the_order_undefined() {
    let world = World::new(
        vec![
            pinned("best", &["10.0.0.0/24"], Some(1), &["t"]),
            pinned("odd", &["10.0.1.0/24"], Some(-5), &["t"]),
        ],
        vec![svc("t/s")],
    );
    let (d, c) = world.decide("t/s");
    assert_eq!(pool_names(&d, &c), ["best", "odd"]);
    assert!(
        c.config
            .warnings
            .iter()
            .any(|w| w.code == Code::NegativePriority)
    );
}

#[test]
fn require_dual_stack_with_one_family_left_is_exhausted() {
    let world = World::new(
        vec![pool("both", &["198.51.100.0/32", "2001:db8::/120"])],
        vec![
            holding(svc("a/holder"), &["198.51.100.0"]),
            dual(svc("a/s"), "RequireDualStack"),
        ],
    );
    let (d, c) = world.decide("a/s");
    assert!(!d.fits);
    assert_eq!(verdict_codes(&d, &c, "both"), [Code::PoolExhausted]);
}

#[test]
fn every_pool_that_does_not_fit_says_why() {
    let pools = vec![
        pool("v4", &["192.0.2.0/24"]),
        pool("v6", &["2001:db8::/64"]),
    ];
    let span = annotate(
        dual(svc("a/span"), "RequireDualStack"),
        "metallb.io/loadBalancerIPs",
        "192.0.2.2,2001:db8::10",
    );
    let v6_for_v4 = annotate(
        svc("a/v6-ask"),
        "metallb.io/loadBalancerIPs",
        "2001:db8::10",
    );
    let mismatch = annotate(
        annotate(svc("a/mismatch"), "metallb.io/loadBalancerIPs", "192.0.2.2"),
        "metallb.io/address-pool",
        "v6",
    );
    let world = World::new(pools, vec![span, v6_for_v4, mismatch]);
    for key in ["a/span", "a/v6-ask", "a/mismatch"] {
        let (d, c) = world.decide(key);
        for (pool, verdict) in c.config.pools.iter().zip(d.verdicts().map(|(_, v)| v)) {
            assert!(
                verdict.fits || !verdict.reasons.is_empty(),
                "{key}: {} gives no reason",
                pool.name
            );
        }
    }
    let (d, c) = world.decide("a/span");
    let (v4, _) = c.config.pool("v4").unwrap();
    assert!(
        d.verdict(v4).unwrap().reasons[0]
            .message
            .contains("holds 192.0.2.2 of the requested"),
        "{:?}",
        d.verdict(v4).unwrap().reasons
    );
    let (d, c) = world.decide("a/v6-ask");
    assert_eq!(
        verdict_codes(&d, &c, "v6"),
        [Code::RequestedIpFamilyMismatch]
    );
    let (d, c) = world.decide("a/mismatch");
    assert_eq!(verdict_codes(&d, &c, "v4"), [Code::RequestedIpPoolMismatch]);
}

#[test]
fn inferred_family_says_where_it_came_from() {
    let mut bare = svc("a/bare");
    bare.spec.cluster_ips.clear();
    let mut v6 = bare.clone();
    v6.metadata.name = "v6".into();
    v6.spec.ip_families = smallvec::smallvec!["IPv6".into()];
    let world = World::new(
        vec![pool("p", &["10.0.0.0/24", "2001:db8::/64"])],
        vec![bare, v6],
    );
    let (d, _) = world.decide("a/bare");
    assert!(
        d.warnings[0].message.contains("no spec.ipFamilies"),
        "{}",
        d.warnings[0].message
    );
    let (d, _) = world.decide("a/v6");
    assert!(
        d.warnings[0]
            .message
            .contains("inferred from spec.ipFamilies")
    );
    assert_eq!(d.ips, ips(&["2001:db8::"]));
}

// ---------------------------------------------------------------------------------------
// Pinned-pool order: MetalLB's `sortPools` on its pinned list (§4.7 step 2)

/// A pool pinned by a service selector `tier=web`.
fn by_selector(name: &str, addresses: &[&str], priority: Option<i64>) -> IpAddressPool {
    let mut p = pool(name, addresses);
    p.spec.service_allocation = Some(ServiceAllocation {
        priority,
        service_selectors: vec![LabelSelector {
            match_labels: Some(labels(&[("tier", "web")])),
            match_expressions: None,
        }],
        ..Default::default()
    });
    p
}

fn web(key: &str) -> Service {
    let mut s = svc(key);
    s.metadata.labels = labels(&[("tier", "web")]);
    s
}

fn has_tie(d: &Decision) -> bool {
    d.warnings.iter().any(|w| w.code == Code::PriorityTie)
}

#[test]
fn two_selector_pools_at_equal_priority_the_first_by_name() {
    for release in Release::CHECKED {
        let world = World::new(
            vec![
                by_selector("b", &["10.0.1.0/24"], Some(10)),
                by_selector("a", &["10.0.0.0/24"], Some(10)),
            ],
            vec![web("t/s")],
        )
        .at(release);
        let (d, c) = world.decide("t/s");
        assert_eq!(pool_names(&d, &c), ["a"], "{release}");
        assert_eq!(d.ips, ips(&["10.0.0.0"]), "{release}");
        assert!(!has_tie(&d), "{release}: the pick is fixed");
    }
}

#[test]
fn two_selector_pools_at_unset_priority_the_last_by_name() {
    for release in Release::CHECKED {
        let world = World::new(
            vec![
                by_selector("a", &["10.0.0.0/24"], None),
                by_selector("b", &["10.0.1.0/24"], None),
            ],
            vec![web("t/s")],
        )
        .at(release);
        let (d, c) = world.decide("t/s");
        assert_eq!(pool_names(&d, &c), ["b"], "{release}");
        assert_eq!(d.ips, ips(&["10.0.1.0"]), "{release}");
        assert!(!has_tie(&d));
        // With b full, a.
        let world = World::new(
            vec![
                by_selector("a", &["10.0.0.0/24"], None),
                by_selector("b", &["10.0.1.0/32"], None),
            ],
            vec![holding(web("t/h"), &["10.0.1.0"]), web("t/s")],
        )
        .at(release);
        let (d, c) = world.decide("t/s");
        assert_eq!(pool_names(&d, &c), ["a"], "{release}");
    }
}

#[test]
fn namespace_pool_wins_a_positive_tie_with_a_selector_pool_and_loses_an_unset_one() {
    for release in Release::CHECKED {
        // "a" sorts first by name: the namespace pool wins by MetalLB's order, not by name.
        let positive = World::new(
            vec![
                by_selector("a", &["10.0.0.0/24"], Some(5)),
                pinned("z", &["10.0.1.0/24"], Some(5), &["t"]),
            ],
            vec![web("t/s")],
        )
        .at(release);
        let (d, c) = positive.decide("t/s");
        assert_eq!(pool_names(&d, &c), ["z"], "{release}");
        assert_eq!(d.ips, ips(&["10.0.1.0"]));
        assert!(!has_tie(&d));
        let unset = World::new(
            vec![
                by_selector("z", &["10.0.0.0/24"], None),
                pinned("a", &["10.0.1.0/24"], None, &["t"]),
            ],
            vec![web("t/s")],
        )
        .at(release);
        let (d, c) = unset.decide("t/s");
        assert_eq!(pool_names(&d, &c), ["z"], "{release}");
        assert!(!has_tie(&d));
    }
}

#[test]
fn namespace_pools_tied_are_random_wherever_they_come_first() {
    let world = World::new(
        vec![
            pinned("a", &["10.0.0.0/24"], Some(50), &["t"]),
            pinned("b", &["10.0.1.0/24"], Some(50), &["t"]),
            by_selector("c", &["10.0.2.0/24"], Some(50)),
            pinned("z", &["10.0.3.0/24"], None, &["t"]),
        ],
        vec![web("t/s")],
    );
    let (d, c) = world.decide("t/s");
    assert_eq!(
        pool_names(&d, &c),
        ["a", "b"],
        "the selector pool c never comes before the namespace part"
    );
    assert!(d.ips.is_empty());
    assert!(has_tie(&d));
    // Unset priorities among namespace pools only: reversed, but the input is random.
    let world = World::new(
        vec![
            pinned("a", &["10.0.0.0/24"], None, &["t"]),
            pinned("b", &["10.0.1.0/24"], None, &["t"]),
        ],
        vec![svc("t/s")],
    );
    let (d, c) = world.decide("t/s");
    assert_eq!(pool_names(&d, &c), ["a", "b"]);
    assert!(has_tie(&d));
}

#[test]
fn more_than_twelve_pinned_pools_list_the_whole_winning_priority() {
    let pools: Vec<IpAddressPool> = (0..13)
        .map(|i| {
            let name = format!("p{i:02}");
            let cidr = format!("10.0.{i}.0/24");
            by_selector(&name, &[&cidr], Some(if i < 2 { 3 } else { 7 }))
        })
        .collect();
    let world = World::new(pools, vec![web("t/s")]);
    let (d, c) = world.decide("t/s");
    assert_eq!(pool_names(&d, &c), ["p00", "p01"]);
    assert!(has_tie(&d));
}

// ---------------------------------------------------------------------------------------
// Releases (Appendix C): one scenario per difference, checked on each side of it

impl World {
    /// The same world under the rules of `release`.
    fn at(mut self, release: Release) -> World {
        self.ctx.behaviour = Behaviour::of(release);
        self
    }
}

/// `expected` for each release of [`Release::CHECKED`], oldest first.
fn per_release<T: PartialEq + std::fmt::Debug>(
    world: impl Fn() -> World,
    answer: impl Fn(&World) -> T,
    expected: [T; 5],
) {
    for (release, want) in Release::CHECKED.into_iter().zip(expected) {
        assert_eq!(answer(&world().at(release)), want, "on {release}");
    }
}

fn names_of(world: &World, key: &str) -> Vec<String> {
    let (d, c) = world.decide(key);
    pool_names(&d, &c)
}

fn error_of(world: &World, key: &str) -> Option<String> {
    world.decide(key).0.metallb_error
}

#[test]
fn c1_metallb_io_address_pool_is_ignored_up_to_0_14_8() {
    let world = || {
        let mut premium = pool("premium", &["10.0.1.0/24"]);
        premium.spec.auto_assign = Some(false);
        World::new(
            vec![pool("plain", &["10.0.0.0/24"]), premium],
            vec![annotate(svc("a/s"), "metallb.io/address-pool", "premium")],
        )
    };
    let old = vec!["plain".to_string()];
    let new = vec!["premium".to_string()];
    per_release(
        world,
        |w| names_of(w, "a/s"),
        [old.clone(), old, new.clone(), new.clone(), new],
    );
    let ignored = |w: &World| {
        w.decide("a/s")
            .0
            .warnings
            .iter()
            .any(|r| r.code == Code::AnnotationIgnored)
    };
    per_release(world, ignored, [true, true, false, false, false]);
    // The deprecated key is read by every release.
    let universe = || {
        let mut w = world();
        w.snapshot.services = vec![annotate(
            svc("a/s"),
            "metallb.universe.tf/address-pool",
            "premium",
        )]
        .into();
        w
    };
    per_release(
        universe,
        |w| names_of(w, "a/s"),
        std::array::from_fn(|_| vec!["premium".to_string()]),
    );
}

#[test]
fn c1_empty_metallb_io_key_hides_the_deprecated_one_from_0_14_9() {
    let world = || {
        World::new(
            vec![
                pool("plain", &["10.0.0.0/24"]),
                pool("other", &["10.0.1.0/24"]),
            ],
            vec![annotate(
                annotate(svc("a/s"), "metallb.universe.tf/address-pool", "other"),
                "metallb.io/address-pool",
                "",
            )],
        )
    };
    let mode = |w: &World| w.decide("a/s").0.mode;
    per_release(
        world,
        mode,
        [
            Mode::RequestedPool,
            Mode::RequestedPool,
            Mode::Automatic,
            Mode::Automatic,
            Mode::Automatic,
        ],
    );
}

#[test]
fn c1_metallb_io_sharing_key_is_read_from_0_14_9() {
    // B5's second service, with the key under each prefix.
    for (prefix, shared_from) in [("metallb.universe.tf", 0), ("metallb.io", 2)] {
        let key = format!("{prefix}/allow-shared-ip");
        let world = || {
            World::new(
                vec![pool("p", &["10.0.0.0/30"])],
                vec![
                    holding(
                        annotate(port(svc("a/s1"), "TCP", 80), &key, "k"),
                        &["10.0.0.0"],
                    ),
                    annotate(port(svc("a/s2"), "TCP", 443), &key, "k"),
                ],
            )
        };
        for (i, release) in Release::CHECKED.into_iter().enumerate() {
            let expected = if i >= shared_from {
                "10.0.0.0"
            } else {
                "10.0.0.1"
            };
            assert_eq!(
                world().at(release).decide("a/s2").0.ips,
                ips(&[expected]),
                "{key} on {release}"
            );
        }
    }
}

#[test]
fn c1_requested_ips_against_the_pool_annotation_from_0_13_10() {
    let world = || {
        World::new(
            vec![pool("a", &["10.0.0.0/24"]), pool("b", &["10.0.1.0/24"])],
            vec![annotate(
                annotate(
                    svc("x/s"),
                    "metallb.universe.tf/loadBalancerIPs",
                    "10.0.0.5",
                ),
                "metallb.universe.tf/address-pool",
                "b",
            )],
        )
    };
    let fits = |w: &World| w.decide("x/s").0.fits;
    per_release(world, fits, [true, false, false, false, false]);
    per_release(
        world,
        |w| error_of(w, "x/s"),
        [
            None,
            Some("requested loadBalancer IP(s) [\"10.0.0.5\"] is not compatible with requested address pool b".to_string()),
            Some("requested loadBalancer IP(s) [\"10.0.0.5\"] is not compatible with requested address pool b".to_string()),
            Some("requested loadBalancer IP(s) [\"10.0.0.5\"] is not compatible with requested address pool b".to_string()),
            Some("requested loadBalancer IP(s) [\"10.0.0.5\"] is not compatible with requested address pool b".to_string()),
        ],
    );
}

#[test]
fn c1_request_texts_name_the_key_of_the_release() {
    let world = || {
        let mut s = annotate(
            svc("a/s"),
            "metallb.universe.tf/loadBalancerIPs",
            "10.0.0.5",
        );
        s.spec.load_balancer_ip = Some("10.0.0.6".into());
        World::new(vec![pool("p", &["10.0.0.0/24"])], vec![s])
    };
    let old = Some(
        "service can not have both metallb.universe.tf/loadBalancerIPs and svc.Spec.LoadBalancerIP"
            .to_string(),
    );
    let new = Some(
        "service can not have both metallb.io/loadBalancerIPs and svc.Spec.LoadBalancerIP"
            .to_string(),
    );
    per_release(
        world,
        |w| error_of(w, "a/s"),
        [old.clone(), old, new.clone(), new.clone(), new],
    );
}

#[test]
fn c2_priority_only_pools_are_auto_assigned_from_0_15_0() {
    // B3 per release: before v0.15.0, d (priority only) is never auto-assigned.
    let first = |w: &World| names_of(w, "team-a/s");
    let world = || World::new(b3_pools(), vec![svc("team-a/s"), svc("team-b/s")]);
    let old = vec!["b".to_string()];
    let new = vec!["d".to_string()];
    per_release(
        world,
        first,
        [old.clone(), old.clone(), old, new.clone(), new.clone()],
    );
    let plain = vec!["c".to_string()];
    per_release(
        world,
        |w| names_of(w, "team-b/s"),
        [plain.clone(), plain.clone(), plain, new.clone(), new],
    );
    // Explicit requests work on every release.
    let asked = || {
        World::new(
            b3_pools(),
            vec![annotate(
                svc("team-b/s"),
                "metallb.universe.tf/address-pool",
                "d",
            )],
        )
    };
    per_release(
        asked,
        |w| names_of(w, "team-b/s"),
        std::array::from_fn(|_| vec!["d".to_string()]),
    );
    // Before v0.15.0 the pool's verdict says why.
    let old = world().at(Release::V0_14_9);
    let (d, c) = old.decide("team-b/s");
    assert_eq!(verdict_codes(&d, &c, "d"), [Code::NamespaceNotAllowed]);
}

#[test]
fn c2_b3_per_release_team_a_walks_its_pools_in_order() {
    for release in Release::CHECKED {
        let mut world = World::new(b3_pools(), vec![]).at(release);
        let pinned_for_all = release >= Release::new(0, 15, 0);
        let mut expected = vec!["10.0.2.0", "10.0.1.0", "10.0.3.0"];
        if pinned_for_all {
            expected.insert(0, "10.0.4.0");
        }
        for (n, want) in expected.into_iter().enumerate() {
            assert_eq!(
                world.allocate(svc(&format!("team-a/s{n}"))),
                ips(&[want]),
                "{release}, service {n}"
            );
        }
    }
}

#[test]
fn c3_require_dual_stack_with_one_cluster_ip() {
    let require = || with_family_policy(svc("a/s"), "RequireDualStack");
    let dual_pool = || {
        World::new(
            vec![pool("both", &["10.0.0.0/24", "2001:db8::/64"])],
            vec![require()],
        )
    };
    per_release(
        dual_pool,
        |w| w.decide("a/s").0.ips,
        [
            ips(&["10.0.0.0"]),
            ips(&["10.0.0.0"]),
            ips(&["10.0.0.0", "2001:db8::"]),
            vec![],
            vec![],
        ],
    );
    per_release(
        dual_pool,
        |w| codes(&w.decide("a/s").0),
        [
            vec![],
            vec![],
            vec![],
            vec![Code::DualStackClusterIpsMissing],
            vec![Code::DualStackClusterIpsMissing],
        ],
    );
    // v0.14.9: an IPv4-only pool fails the service (no pool with both families).
    let v4_only = || World::new(vec![pool("v4", &["10.0.0.0/24"])], vec![require()]);
    per_release(
        v4_only,
        |w| w.decide("a/s").0.fits,
        [true, true, false, false, false],
    );
    assert_eq!(
        error_of(&v4_only().at(Release::V0_14_9), "a/s").as_deref(),
        Some("no available IPs")
    );
}

#[test]
fn c3_prefer_dual_stack_with_one_cluster_ip() {
    let world = || {
        let s = with_family_policy(svc("a/s"), "PreferDualStack");
        World::new(
            vec![pool("both", &["10.0.0.0/24", "2001:db8::/64"])],
            vec![s],
        )
    };
    let one = ips(&["10.0.0.0"]);
    per_release(
        world,
        |w| w.decide("a/s").0.ips,
        [
            one.clone(),
            one.clone(),
            ips(&["10.0.0.0", "2001:db8::"]),
            one.clone(),
            one,
        ],
    );
    // An annotated pool of the other family only: that family on v0.14.9 only.
    let other = || {
        let s = with_family_policy(
            annotate(svc("a/s"), "metallb.universe.tf/address-pool", "v6"),
            "PreferDualStack",
        );
        World::new(vec![pool("v6", &["2001:db8::/64"])], vec![s])
    };
    per_release(
        other,
        |w| w.decide("a/s").0.ips,
        [vec![], vec![], ips(&["2001:db8::"]), vec![], vec![]],
    );
    let quoted = Some("no available IPs in pool \"v6\" for ipv4 IPFamily".to_string());
    let nil = Some("[\"<nil>\"] is not allowed in config".to_string());
    per_release(
        other,
        |w| error_of(w, "a/s"),
        [quoted.clone(), quoted, None, nil.clone(), nil],
    );
}

#[test]
fn c4_annotated_pool_dual_service_per_release() {
    // A RequireDualStack dual service asking for a pool with IPv4 only, then for a pool
    // with nothing free at all.
    let world = |pool_name: &'static str| {
        move || {
            World::new(
                vec![
                    pool("v4only", &["192.0.2.0/24"]),
                    pool("full", &["10.0.0.0/32", "2001:db8::/128"]),
                ],
                vec![
                    holding(
                        dual(svc("a/h"), "RequireDualStack"),
                        &["10.0.0.0", "2001:db8::"],
                    ),
                    annotate(
                        dual(svc("a/s"), "RequireDualStack"),
                        "metallb.universe.tf/address-pool",
                        pool_name,
                    ),
                ],
            )
        }
    };
    let text = |t: &str| Some(t.to_string());
    per_release(
        world("v4only"),
        |w| error_of(w, "a/s"),
        [
            text("no available IPs in pool \"v4only\" for dual IPFamily"),
            text("no available IPs in pool \"v4only\" for dual IPFamily"),
            text("no available IPs in pool v4only for dual IPFamily"),
            text("no available IPs in pool v4only for dual IPFamily"),
            text("no available IPs in pool v4only for dual IPFamily"),
        ],
    );
    per_release(
        world("full"),
        |w| error_of(w, "a/s"),
        [
            text("no available IPs in pool \"full\" for dual IPFamily"),
            text("no available IPs in pool \"full\" for dual IPFamily"),
            text("no available IPs in pool full for dual IPFamily"),
            text("no available IPs in pool full for dual IPFamily"),
            text("no available IPs in pool full"),
        ],
    );
}

#[test]
fn c3_prefer_dual_stack_without_a_dual_pool() {
    let world = || {
        World::new(
            vec![
                pool("v4", &["192.0.2.0/24"]),
                pool("v6", &["2001:db8::/64"]),
            ],
            vec![dual(svc("a/s"), "PreferDualStack")],
        )
    };
    let v4 = vec!["v4".to_string()];
    per_release(
        world,
        |w| names_of(w, "a/s"),
        [vec![], vec![], v4.clone(), v4.clone(), v4],
    );
    per_release(
        world,
        |w| error_of(w, "a/s"),
        [
            Some("no available IPs".to_string()),
            Some("no available IPs".to_string()),
            None,
            None,
            None,
        ],
    );
}

#[test]
fn c3_dual_pool_anywhere_beats_an_earlier_single_family_pool_from_0_14_9() {
    // Pinned v4 (priority 1) before the dual pool (priority 2): a PreferDualStack service.
    let world = || {
        World::new(
            vec![
                pinned("first", &["192.0.2.0/24"], Some(1), &["a"]),
                pinned(
                    "second",
                    &["198.51.100.0/24", "2001:db8::/64"],
                    Some(2),
                    &["a"],
                ),
            ],
            vec![dual(svc("a/s"), "PreferDualStack")],
        )
    };
    // Up to v0.14.8 only a dual pool can serve it; from v0.14.9 the dual pool wins anyway.
    per_release(
        world,
        |w| names_of(w, "a/s"),
        std::array::from_fn(|_| vec!["second".to_string()]),
    );
    per_release(world, |w| w.decide("a/s").0.ips.len(), [2; 5]);
}

#[test]
fn c3_held_single_address_of_a_prefer_dual_stack_service() {
    let world = || {
        World::new(
            vec![pool("both", &["10.0.0.0/24", "2001:db8::/64"])],
            vec![holding(dual(svc("a/s"), "PreferDualStack"), &["10.0.0.7"])],
        )
    };
    per_release(
        world,
        |w| w.cluster().holding_warnings.len(),
        [1, 1, 0, 0, 0],
    );
    per_release(world, |w| w.cluster().counts(0).0.used, [0, 0, 1, 1, 1]);
}

#[test]
fn c4_no_pools_at_all() {
    let world = || World::new(vec![], vec![svc("a/s")]);
    per_release(
        world,
        |w| error_of(w, "a/s"),
        [Some("no available IPs".to_string()), None, None, None, None],
    );
    per_release(
        world,
        |w| codes(&w.decide("a/s").0),
        std::array::from_fn(|_| vec![Code::NoPools]),
    );
}

/// No pools: from v0.14.0 convergeBalancer stops every service first (`pools are empty`);
/// v0.13.x has no such check and reads the service as it would with pools, so only the
/// automatic search finds there is nothing (C.4). Go: controller/service.go
/// `convergeBalancer`, `allocateIPs`; allocator.go `Assign`, `AllocateFromPool`.
#[test]
fn c4_no_pools_v0_13_reads_the_service_before_finding_no_pool() {
    let answer = |key: &'static str| {
        move |w: &World| {
            let (d, _) = w.decide(key);
            (codes(&d), d.metallb_error)
        }
    };
    let no_pools = (vec![Code::NoPools], None);
    let later = |old: (Vec<Code>, Option<String>)| {
        [
            old,
            no_pools.clone(),
            no_pools.clone(),
            no_pools.clone(),
            no_pools.clone(),
        ]
    };
    let world = |service: Service| move || World::new(vec![], vec![service.clone()]);
    // No cluster IP at all (an object from the API server): silent on every release.
    let mut none = svc("a/none");
    none.spec.cluster_ips.clear();
    none.metadata.uid = Some("1".into());
    per_release(
        world(none),
        answer("a/none"),
        later((vec![Code::NoClusterIp], None)),
    );
    // Cluster IPs that give no family: the family error is the AllocationFailed.
    let mut two_v4 = svc("a/two");
    two_v4.spec.cluster_ips = smallvec::smallvec!["10.96.0.1".into(), "10.96.0.2".into()];
    per_release(
        world(two_v4),
        answer("a/two"),
        later((
            vec![Code::NoClusterIp],
            Some(
                "IPFamilyForAddresses: same address family [\"10.96.0.1\" \"10.96.0.2\"]"
                    .to_string(),
            ),
        )),
    );
    // A requested pool is unknown; requested IPs are in no pool.
    let asks_pool = annotate(svc("a/pool"), "metallb.universe.tf/address-pool", "p");
    per_release(
        world(asks_pool),
        answer("a/pool"),
        later((
            vec![Code::PoolNotFound],
            Some("unknown pool \"p\"".to_string()),
        )),
    );
    let asks_ip = annotate(
        svc("a/ip"),
        "metallb.universe.tf/loadBalancerIPs",
        "10.0.0.5",
    );
    per_release(
        world(asks_ip),
        |w| error_of(w, "a/ip"),
        [
            Some("[\"10.0.0.5\"] is not allowed in config".to_string()),
            None,
            None,
            None,
            None,
        ],
    );
}

/// A service without addresses whose cluster IPs give no family: `allocateIPs` fails on
/// `ipfamily.ForService` (AllocationFailed); v0.13.x reads one that does not parse as
/// IPv6 instead (C.5).
#[test]
fn c5_unparsable_cluster_ip_is_the_allocation_failure_from_0_14_0() {
    let world = || {
        let mut s = svc("a/s");
        s.spec.cluster_ips = smallvec::smallvec!["bogus".into()];
        World::new(vec![pool("v4", &["10.0.0.0/24"])], vec![s])
    };
    let invalid = Some("IPFamilyForAddresses: Invalid address [\"bogus\"]".to_string());
    per_release(
        world,
        |w| error_of(w, "a/s"),
        [
            Some("no available IPs".to_string()),
            invalid.clone(),
            invalid.clone(),
            invalid.clone(),
            invalid,
        ],
    );
    // RequireDualStack: from v0.15.0 refused first, with its own event, not AllocationFailed.
    let require = || {
        let mut w = world();
        w.snapshot.services[0].spec.ip_family_policy = Some("RequireDualStack".into());
        w
    };
    let answer = |w: &World| {
        let (d, _) = w.decide("a/s");
        (codes(&d), d.metallb_error.is_some())
    };
    per_release(
        require,
        answer,
        [
            (vec![Code::NoPoolFits], true),
            (vec![Code::NoClusterIp], true),
            (vec![Code::NoClusterIp], true),
            (vec![Code::DualStackClusterIpsMissing], false),
            (vec![Code::DualStackClusterIpsMissing], false),
        ],
    );
}

#[test]
fn c4_b7_requested_pool_of_the_wrong_family_per_release() {
    let world = || {
        World::new(
            vec![pool("v6only", &["2001:db8::/120"])],
            vec![annotate(
                svc("a/s"),
                "metallb.universe.tf/address-pool",
                "v6only",
            )],
        )
    };
    let quoted = Some("no available IPs in pool \"v6only\" for ipv4 IPFamily".to_string());
    let nil = Some("[\"<nil>\"] is not allowed in config".to_string());
    per_release(
        world,
        |w| error_of(w, "a/s"),
        [
            quoted.clone(),
            quoted,
            Some("no available IPs in pool v6only for ipv4 IPFamily".to_string()),
            nil.clone(),
            nil,
        ],
    );
    per_release(
        world,
        |w| {
            let (d, c) = w.decide("a/s");
            verdict_codes(&d, &c, "v6only")
        },
        std::array::from_fn(|_| vec![Code::IpFamilyUnavailable]),
    );
}

#[test]
fn c4_requested_pool_with_nothing_free() {
    let world = || {
        World::new(
            vec![pool("p", &["10.0.0.0/32"])],
            vec![
                holding(svc("a/h"), &["10.0.0.0"]),
                annotate(svc("a/s"), "metallb.universe.tf/address-pool", "p"),
            ],
        )
    };
    let quoted = Some("no available IPs in pool \"p\" for ipv4 IPFamily".to_string());
    per_release(
        world,
        |w| error_of(w, "a/s"),
        [
            quoted.clone(),
            quoted,
            Some("no available IPs in pool p for ipv4 IPFamily".to_string()),
            Some("[\"<nil>\"] is not allowed in config".to_string()),
            Some("no available IPs in pool p".to_string()),
        ],
    );
}

#[test]
fn c5_duplicate_namespaces_are_invalid_from_0_13_10() {
    let world = || {
        let mut p = pool("p", &["10.0.0.0/24"]);
        p.spec.service_allocation = Some(ServiceAllocation {
            namespaces: vec!["a".into(), "a".into()],
            ..Default::default()
        });
        World::new(vec![p], vec![svc("a/s")])
    };
    per_release(
        world,
        |w| w.cluster().config.is_valid(),
        [true, false, false, false, false],
    );
}

#[test]
fn c5_selector_errors_are_joined_from_0_14_6() {
    let world = || {
        let mut p = pool("p", &["10.0.0.0/24"]);
        p.spec.service_allocation = Some(ServiceAllocation {
            service_selectors: vec![LabelSelector {
                match_labels: Some(labels(&[("not a key", "x")])),
                match_expressions: None,
            }],
            ..Default::default()
        });
        World::new(vec![p], vec![])
    };
    let text = |w: &World| w.cluster().config.errors[0].clone();
    let old = text(&world().at(Release::V0_13_9));
    let new = text(&world().at(Release::V0_14_8));
    assert!(
        old.starts_with("parsing address pool p: invalid service label selector"),
        "{old}"
    );
    assert!(new.ends_with("in ip pool p"), "{new}");
    assert!(new.contains('\n') && !old.contains('\n'));
}

#[test]
fn c5_a_configuration_orphaning_an_address_is_refused_by_0_13() {
    let world = || {
        World::new(
            vec![pool("p", &["10.0.0.0/24"])],
            vec![holding(svc("a/out"), &["192.0.2.7"]), svc("a/s")],
        )
    };
    per_release(
        world,
        |w| w.cluster().config.is_valid(),
        [false, true, true, true, true],
    );
    let old = world().at(Release::V0_13_9);
    let refused = old.cluster();
    assert_eq!(
        refused.config.errors,
        [
            "new config not compatible with assigned IPs: service \"a/out\" cannot own [\"192.0.2.7\"] under new config"
        ]
    );
    assert_eq!(
        codes(&world().at(Release::V0_13_9).decide("a/s").0)[0],
        Code::ConfigInvalid
    );
}

#[test]
fn advertisement_service_selectors_restrict_announcement_from_0_16_0() {
    let world = || {
        let mut w = World::new(
            vec![pool("p", &["10.0.0.0/24"])],
            vec![svc("a/s"), web("a/web")],
        );
        w.snapshot.l2_advertisements = vec![Advertisement {
            metadata: Metadata {
                name: "web-only".into(),
                namespace: NS.into(),
                ..Default::default()
            },
            spec: AdvertisementSpec {
                service_selectors: vec![LabelSelector {
                    match_labels: Some(labels(&[("tier", "web")])),
                    match_expressions: None,
                }],
                ..Default::default()
            },
        }];
        w
    };
    let unannounced = |key: &'static str| {
        move |w: &World| {
            w.decide(key)
                .0
                .warnings
                .iter()
                .any(|r| r.code == Code::NotAdvertised)
        }
    };
    per_release(
        world,
        unannounced("a/s"),
        [false, false, false, false, true],
    );
    per_release(world, unannounced("a/web"), [false; 5]);
}

/// An ingress "IP" that is not one (a status written by hand or by another controller):
/// MetalLB cannot tell the family, clears the addresses and allocates anew — the address
/// is not counted as held, and the answer says why.
#[test]
fn an_ingress_that_is_not_an_ip_is_not_a_holding() {
    let mut garbage = holding(svc("apps/garbage"), &["10.0.0.1"]);
    garbage.status.load_balancer.ingress[0].ip = Some("not-an-ip".into());
    let world = World::new(
        vec![pool("p", &["10.0.0.0/30"])],
        vec![garbage, holding(svc("apps/good"), &["10.0.0.2"])],
    );
    let c = world.cluster();
    let warned: Vec<(&str, Code)> = c
        .holding_warnings
        .iter()
        .map(|(s, w)| (c.services[*s].key.as_str(), w.code))
        .collect();
    assert_eq!(warned, [("apps/garbage", Code::AllocationNotValid)]);
    assert!(c.holding_warnings[0].1.message.contains("\"not-an-ip\""));
    let (v4, _) = c.counts(0);
    assert_eq!(v4.used, 1, "only the real address is held");
    let (d, c) = world.decide("apps/garbage");
    assert!(d.fits);
    assert_eq!(pool_names(&d, &c), ["p"]);
}

#[test]
fn c1_a_held_address_moves_to_a_metallb_io_requested_pool_from_0_14_9() {
    // A service holding an address of `a` whose annotation now asks for `b`: moved by the
    // releases that read the key (convergeBalancer `desiredPool`), kept by the others.
    let world = || {
        let mut b = pool("b", &["10.0.1.0/24"]);
        b.spec.auto_assign = Some(false);
        World::new(
            vec![pool("a", &["10.0.0.0/24"]), b],
            vec![holding(
                annotate(svc("x/s"), "metallb.io/address-pool", "b"),
                &["10.0.0.5"],
            )],
        )
    };
    let answer = |w: &World| {
        let (d, c) = w.decide("x/s");
        (d.mode, pool_names(&d, &c))
    };
    let kept = (Mode::Automatic, vec!["a".to_string()]);
    let moved = (Mode::RequestedPool, vec!["b".to_string()]);
    per_release(
        world,
        answer,
        [kept.clone(), kept, moved.clone(), moved.clone(), moved],
    );
    // Requested IPs other than the held ones (`isEqualIPs`), likewise.
    let asks_ip = || {
        World::new(
            vec![pool("a", &["10.0.0.0/24"])],
            vec![holding(
                annotate(svc("x/s"), "metallb.io/loadBalancerIPs", "10.0.0.9"),
                &["10.0.0.5"],
            )],
        )
    };
    let mode = |w: &World| w.decide("x/s").0.mode;
    per_release(
        asks_ip,
        mode,
        [
            Mode::Automatic,
            Mode::Automatic,
            Mode::RequestedIps,
            Mode::RequestedIps,
            Mode::RequestedIps,
        ],
    );
}

#[test]
fn c2_v0_14_9_fails_the_whole_pinned_group_when_its_pick_lacks_a_family() {
    // RequireDualStack with one IPv4 cluster IP; pinned v4-only (priority 1) before pinned
    // dual (priority 2), no plain pool. v0.14.9's findBestPoolForService picks the first
    // pool with an IPv4 address, selectIPsForFamilyAndPolicy then needs both families: the
    // group fails without trying the dual pool. Up to v0.14.8: single-stack from the first.
    let world = || {
        let s = with_family_policy(svc("a/s"), "RequireDualStack");
        World::new(
            vec![
                pinned("first", &["192.0.2.0/24"], Some(1), &["a"]),
                pinned(
                    "second",
                    &["198.51.100.0/24", "2001:db8::/64"],
                    Some(2),
                    &["a"],
                ),
            ],
            vec![s],
        )
    };
    let answer = |w: &World| {
        let (d, c) = w.decide("a/s");
        (pool_names(&d, &c), d.ips.clone(), d.metallb_error)
    };
    let single = (vec!["first".to_string()], ips(&["192.0.2.0"]), None);
    per_release(
        world,
        answer,
        [
            single.clone(),
            single,
            (vec![], vec![], Some("no available IPs".to_string())),
            (vec![], vec![], None),
            (vec![], vec![], None),
        ],
    );
}

#[test]
fn c3_require_dual_stack_never_combines_two_pools() {
    let world = || {
        World::new(
            vec![
                pool("v4", &["192.0.2.0/24"]),
                pool("v6", &["2001:db8::/64"]),
            ],
            vec![dual(svc("a/s"), "RequireDualStack")],
        )
    };
    let answer = |w: &World| {
        let (d, _) = w.decide("a/s");
        (d.fits, d.metallb_error)
    };
    per_release(
        world,
        answer,
        std::array::from_fn(|_| (false, Some("no available IPs".to_string()))),
    );
}

#[test]
fn c3_prefer_dual_stack_without_a_dual_pool_takes_the_primary_family_first() {
    // ipFamilies [IPv6, IPv4]: from v0.14.9 the IPv6 pool is the primary candidate; up to
    // v0.14.8 only a pool with both families serves a dual service.
    let world = || {
        let mut s = dual(svc("a/s"), "PreferDualStack");
        s.spec.cluster_ips = smallvec::smallvec!["fd00::10".into(), "10.96.0.10".into()];
        s.spec.ip_families = smallvec::smallvec!["IPv6".into(), "IPv4".into()];
        World::new(
            vec![
                pool("v4", &["192.0.2.0/24"]),
                pool("v6", &["2001:db8::/64"]),
            ],
            vec![s],
        )
    };
    let v6 = vec!["v6".to_string()];
    per_release(
        world,
        |w| names_of(w, "a/s"),
        [vec![], vec![], v6.clone(), v6.clone(), v6],
    );
}

#[test]
fn c4_request_texts_are_the_same_in_every_release() {
    let world = || {
        World::new(
            vec![
                pool("p", &["10.0.0.0/24"]),
                pinned("team", &["10.0.1.0/24"], None, &["other"]),
            ],
            vec![
                holding(
                    annotate(
                        port(svc("a/h"), "TCP", 80),
                        "metallb.universe.tf/allow-shared-ip",
                        "k",
                    ),
                    &["10.0.0.0"],
                ),
                annotate(svc("a/unknown"), "metallb.universe.tf/address-pool", "nope"),
                annotate(
                    svc("a/pair"),
                    "metallb.universe.tf/loadBalancerIPs",
                    "10.0.0.7,10.0.0.8",
                ),
                annotate(
                    svc("a/scoped"),
                    "metallb.universe.tf/loadBalancerIPs",
                    "10.0.1.5",
                ),
                annotate(
                    annotate(
                        port(svc("a/key"), "TCP", 443),
                        "metallb.universe.tf/allow-shared-ip",
                        "j",
                    ),
                    "metallb.universe.tf/loadBalancerIPs",
                    "10.0.0.0",
                ),
                annotate(
                    annotate(
                        port(svc("a/port"), "TCP", 80),
                        "metallb.universe.tf/allow-shared-ip",
                        "k",
                    ),
                    "metallb.universe.tf/loadBalancerIPs",
                    "10.0.0.0",
                ),
            ],
        )
    };
    for (key, text) in [
        ("a/unknown", "unknown pool \"nope\""),
        (
            "a/pair",
            "IPFamilyForAddresses: same address family [\"10.0.0.7\" \"10.0.0.8\"]",
        ),
        ("a/scoped", "pool team not compatible for ip assignment"),
        (
            "a/key",
            "can't change sharing key for \"a/key\", address also in use by a/h",
        ),
        ("a/port", "port TCP/80 is already in use on \"10.0.0.0\""),
    ] {
        per_release(
            world,
            |w| error_of(w, key),
            std::array::from_fn(|_| Some(text.to_string())),
        );
    }
}

/// B1, B2, B4 and B5 (sharing under the key every release reads) give the same answer on
/// every release: getIPFromCIDR, the plain pools' random order and checkSharing are the
/// same code (C.6, C.7).
#[test]
fn b1_b2_b4_b5_are_the_same_on_every_release() {
    for release in Release::CHECKED {
        let mut b1 =
            World::new(vec![pool("p", &["192.168.1.240-192.168.1.250"])], vec![]).at(release);
        for want in ["192.168.1.240", "192.168.1.241", "192.168.1.242"] {
            assert_eq!(
                b1.allocate(svc(&format!("a/{want}"))),
                ips(&[want]),
                "{release}"
            );
        }
        assert_eq!(b1.cluster().counts(0).0.total, 11, "{release}");

        let mut buggy = pool("p", &["10.1.0.0/23"]);
        buggy.spec.avoid_buggy_ips = Some(true);
        let mut b2 = World::new(vec![buggy], vec![]).at(release);
        assert_eq!(b2.allocate(svc("a/s")), ips(&["10.1.0.1"]), "{release}");
        assert_eq!(b2.cluster().counts(0).0.total, 508, "{release}");

        let b4 = World::new(
            vec![pool("x", &["10.0.0.0/24"]), pool("y", &["10.0.1.0/24"])],
            vec![svc("a/s")],
        )
        .at(release);
        let (d, c) = b4.decide("a/s");
        assert_eq!(pool_names(&d, &c), ["x", "y"], "{release}");
        assert!(d.ips.is_empty(), "{release}");

        let keyed = |key: &str, sharing: &str, port_number: i32| {
            let s = port(svc(key), "TCP", port_number);
            if sharing.is_empty() {
                s
            } else {
                annotate(s, "metallb.universe.tf/allow-shared-ip", sharing)
            }
        };
        let mut b5 = World::new(
            vec![pool("p", &["10.0.0.0/30"])],
            vec![holding(keyed("a/s1", "k", 80), &["10.0.0.0"])],
        )
        .at(release);
        assert_eq!(
            b5.allocate(keyed("a/s2", "k", 443)),
            ips(&["10.0.0.0"]),
            "{release}"
        );
        assert_eq!(
            b5.allocate(keyed("a/s3", "k", 80)),
            ips(&["10.0.0.1"]),
            "{release}"
        );
        assert_eq!(
            b5.allocate(keyed("a/s4", "", 8080)),
            ips(&["10.0.0.2"]),
            "{release}"
        );
        let mut s5 = keyed("a/s5", "k", 9000);
        s5.spec.external_traffic_policy = Some("Local".into());
        s5.spec.selector = labels(&[("app", "x")]);
        assert_eq!(b5.allocate(s5), ips(&["10.0.0.3"]), "{release}");
        assert_eq!(b5.cluster().counts(0).0.used, 4, "{release}");
    }
}

/// The gates and reads every release shares (C.2, C.4): a class MetalLB does not serve, a
/// type that is not LoadBalancer, no cluster IP at all (silent), a pool outside MetalLB's
/// namespace (not read: `unknown pool`).
#[test]
fn gates_and_the_metallb_namespace_are_the_same_on_every_release() {
    let world = || {
        let mut other_class = svc("a/other");
        other_class.spec.load_balancer_class = Some("example.com/lb".into());
        let mut plain = svc("a/plain");
        plain.spec.type_ = Some("ClusterIP".into());
        let mut none = svc("a/none");
        none.spec.cluster_ips.clear();
        none.metadata.uid = Some("1".into());
        let mut elsewhere = pool("elsewhere", &["10.0.1.0/24"]);
        elsewhere.metadata.namespace = "default".into();
        World::new(
            vec![pool("p", &["10.0.0.0/24"]), elsewhere],
            vec![
                other_class,
                plain,
                none,
                annotate(
                    svc("a/asks"),
                    "metallb.universe.tf/address-pool",
                    "elsewhere",
                ),
            ],
        )
    };
    let answer = |key: &'static str| {
        move |w: &World| {
            let (d, _) = w.decide(key);
            (codes(&d), d.metallb_error)
        }
    };
    let every = |code: Code, text: Option<&str>| {
        std::array::from_fn(|_| (vec![code], text.map(str::to_string)))
    };
    per_release(
        world,
        answer("a/other"),
        every(Code::OtherLoadBalancerClass, None),
    );
    per_release(world, answer("a/plain"), every(Code::NotLoadBalancer, None));
    per_release(world, answer("a/none"), every(Code::NoClusterIp, None));
    per_release(
        world,
        answer("a/asks"),
        every(Code::PoolNotFound, Some("unknown pool \"elsewhere\"")),
    );
}

// ----- C.2: legacy AddressPools -----

fn legacy(name: &str, addresses: &[&str], protocol: &str) -> crate::snapshot::AddressPool {
    crate::snapshot::AddressPool {
        metadata: Metadata {
            name: name.into(),
            namespace: NS.into(),
            ..Default::default()
        },
        spec: crate::snapshot::LegacyPoolSpec {
            protocol: protocol.into(),
            addresses: addresses.iter().map(|a| a.to_string()).collect(),
            ..Default::default()
        },
    }
}

fn with_legacy(mut world: World, pools: Vec<crate::snapshot::AddressPool>) -> World {
    world.snapshot.legacy_pools = pools;
    world
}

#[test]
fn c2_legacy_address_pool_is_a_plain_pool_only_up_to_0_13() {
    let world = || {
        with_legacy(
            World::new(vec![], vec![svc("a/s")]),
            vec![legacy("old", &["10.0.0.0/30"], "layer2")],
        )
    };
    let old = vec!["old".to_string()];
    per_release(
        world,
        |w| names_of(w, "a/s"),
        [old, vec![], vec![], vec![], vec![]],
    );
    // 0.13.9 hands out its first address: a legacy pool has no avoidBuggyIPs.
    assert_eq!(
        world().at(Release::V0_13_9).decide("a/s").0.ips,
        ips(&["10.0.0.0"])
    );
    // Later releases read no pool at all: nothing to allocate from, and a warning says why.
    let ignored = |w: &World| {
        w.cluster()
            .config
            .warnings
            .iter()
            .map(|r| r.code)
            .filter(|c| matches!(c, Code::LegacyPoolRead | Code::LegacyPoolIgnored))
            .collect::<Vec<_>>()
    };
    per_release(
        world,
        ignored,
        [
            vec![Code::LegacyPoolRead],
            vec![Code::LegacyPoolIgnored],
            vec![Code::LegacyPoolIgnored],
            vec![Code::LegacyPoolIgnored],
            vec![Code::LegacyPoolIgnored],
        ],
    );
}

#[test]
fn c2_legacy_pool_is_requested_by_name_and_honours_auto_assign_up_to_0_13() {
    let world = || {
        let mut manual = legacy("manual", &["10.0.1.0/30"], "bgp");
        manual.spec.auto_assign = Some(false);
        with_legacy(
            World::new(
                vec![pool("plain", &["10.0.0.0/30"])],
                vec![
                    svc("a/auto"),
                    annotate(svc("a/asks"), "metallb.universe.tf/address-pool", "manual"),
                ],
            ),
            vec![manual],
        )
    };
    let plain = vec!["plain".to_string()];
    per_release(
        world,
        |w| names_of(w, "a/auto"),
        std::array::from_fn(|_| plain.clone()),
    );
    let asks = |w: &World| (names_of(w, "a/asks"), codes(&w.decide("a/asks").0));
    let granted = (vec!["manual".to_string()], vec![]);
    let unknown = (vec![], vec![Code::PoolNotFound]);
    per_release(
        world,
        asks,
        [
            granted,
            unknown.clone(),
            unknown.clone(),
            unknown.clone(),
            unknown,
        ],
    );
}

#[test]
fn c2_legacy_pool_holder_keeps_its_address_only_up_to_0_13() {
    let world = || {
        with_legacy(
            World::new(
                vec![pool("plain", &["10.0.0.0/30"])],
                vec![holding(svc("a/s"), &["10.0.1.1"])],
            ),
            vec![legacy("old", &["10.0.1.0/30"], "layer2")],
        )
    };
    let not_valid = |w: &World| {
        w.cluster()
            .holding_warnings
            .iter()
            .any(|(_, r)| r.code == Code::AllocationNotValid)
    };
    per_release(world, not_valid, [false, true, true, true, true]);
}

// ----- Appendix B6 on every release -----

/// B6's three services, their request under `key`.
fn b6_world(key: &'static str) -> impl Fn() -> World {
    move || {
        let pools = vec![
            pool("v4", &["192.0.2.0/24"]),
            pool("both", &["198.51.100.0/24", "2001:db8::/64"]),
            pool("v6", &["2001:db9::/64"]),
        ];
        let asking = |name: &str, ips: &str| {
            annotate(
                dual(svc(&format!("a/{name}")), "RequireDualStack"),
                key,
                ips,
            )
        };
        World::new(
            pools,
            vec![
                asking("one", "192.0.2.10"),
                asking("same", "198.51.100.10,2001:db8::10"),
                asking("span", "192.0.2.10,2001:db9::10"),
            ],
        )
    }
}

/// What B6 gives one service: its codes, pools, addresses and MetalLB's text.
fn b6_answer(world: &World, key: &str) -> (Vec<Code>, Vec<String>, Vec<Ip>, Option<String>) {
    let (d, c) = world.decide(key);
    (
        codes(&d),
        pool_names(&d, &c),
        d.ips.clone(),
        d.metallb_error,
    )
}

#[test]
fn b6_under_the_deprecated_key_is_the_same_on_every_release() {
    let world = b6_world("metallb.universe.tf/loadBalancerIPs");
    let mismatch = (
        vec![Code::RequestedIpFamilyMismatch],
        vec![],
        vec![],
        Some(
            "requested loadBalancer IP(s) [\"192.0.2.10\"] does not match the ipFamily of the service"
                .to_string(),
        ),
    );
    per_release(
        &world,
        |w| b6_answer(w, "a/one"),
        std::array::from_fn(|_| mismatch.clone()),
    );
    let granted = (
        vec![],
        vec!["both".to_string()],
        ips(&["198.51.100.10", "2001:db8::10"]),
        None,
    );
    per_release(
        &world,
        |w| b6_answer(w, "a/same"),
        std::array::from_fn(|_| granted.clone()),
    );
    let span = (
        vec![Code::RequestedIpsSpanPools],
        vec![],
        vec![],
        Some("[\"192.0.2.10\" \"2001:db9::10\"] is not allowed in config".to_string()),
    );
    per_release(
        &world,
        |w| b6_answer(w, "a/span"),
        std::array::from_fn(|_| span.clone()),
    );
}

#[test]
fn b6_under_the_metallb_io_key_is_automatic_up_to_0_14_8() {
    let world = b6_world("metallb.io/loadBalancerIPs");
    // Up to v0.14.8 the key is not read: each service is allocated automatically, from the
    // one pool with both families, and the ignored key is said.
    let automatic = |w: &World, key: &str| {
        let (d, c) = w.decide(key);
        let ignored = d.warnings.iter().any(|r| r.code == Code::AnnotationIgnored);
        (d.mode, pool_names(&d, &c), ignored)
    };
    let auto = (Mode::Automatic, vec!["both".to_string()], true);
    for key in ["a/one", "a/same", "a/span"] {
        let read = (
            Mode::RequestedIps,
            automatic(&world().at(Release::NEWEST), key).1,
            false,
        );
        per_release(
            &world,
            |w| automatic(w, key),
            [auto.clone(), auto.clone(), read.clone(), read.clone(), read],
        );
    }
    // From v0.14.9 the answers are B6's.
    let at_0_14_9 = world().at(Release::V0_14_9);
    assert_eq!(
        codes(&at_0_14_9.decide("a/one").0),
        [Code::RequestedIpFamilyMismatch]
    );
    assert_eq!(
        codes(&at_0_14_9.decide("a/span").0),
        [Code::RequestedIpsSpanPools]
    );
}
