//! The events MetalLB's controller records for a service besides `AllocationFailed`
//! (metallb-semantics.md §4.11, C.3, C.4), worded as the modelled release words them: what
//! `why` says MetalLB will record on its next reconcile of the service. Go:
//! controller/service.go `convergeBalancer`, whose order is followed here: the dual-stack
//! gate, then the family of the held addresses, then `Assign` of the held addresses, then
//! the requested IPs.

use serde::Serialize;

use super::addr::{Family, Ip};
use super::allocator::Cluster;
use super::config::Refusal;
use super::reason::Code;
use super::release::{Free, HeldSingleAddress};
use super::service::{Policy, ServiceFacts, ServiceFamily};
use crate::snapshot::Service;

/// One event MetalLB would record, as `kubectl get events` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExpectedEvent {
    /// `Normal` (MetalLB's `Infof`) or `Warning` (`Errorf`).
    #[serde(rename = "type")]
    pub type_: &'static str,
    pub reason: &'static str,
    pub message: String,
    /// When the event depends on the order MetalLB processes services in, which cannot be
    /// known: the order under which it is recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

impl ExpectedEvent {
    fn normal(reason: &'static str, message: String) -> ExpectedEvent {
        ExpectedEvent {
            type_: "Normal",
            reason,
            message,
            condition: None,
        }
    }

    fn warning(reason: &'static str, message: String) -> ExpectedEvent {
        ExpectedEvent {
            type_: "Warning",
            reason,
            message,
            condition: None,
        }
    }

    fn on_condition(mut self, condition: Option<String>) -> ExpectedEvent {
        self.condition = condition;
        self
    }

    /// `LoadBalancerFailed`, `noclusterIPsIPFamily`: MetalLB stops there, so no
    /// `AllocationFailed` follows.
    pub fn ends_the_reconcile(&self) -> bool {
        matches!(self.reason, "LoadBalancerFailed" | "noclusterIPsIPFamily")
    }
}

/// The events other than `AllocationFailed` that MetalLB records for service `index` of
/// `cluster` (`svc` is its object) on its next reconcile: `not enough clusterips`,
/// `nolbIPsIPFamily`, `noclusterIPsIPFamily`, `ClearAssignment`, `LoadBalancerFailed` and the
/// PreferDualStack top-up (`IPAllocated` additional / `AdditionalAssignFailed`). Empty when
/// the model predicts none.
pub fn expected(cluster: &Cluster, index: usize, svc: &Service) -> Vec<ExpectedEvent> {
    let s = &cluster.services[index];
    let behaviour = &cluster.behaviour;
    // From v0.14.0 no pools stops every service first, silently (`pools are empty`).
    if cluster.config.pools.is_empty() && behaviour.no_pools_checked_first() {
        return Vec::new();
    }
    match &s.gate {
        Ok(()) => {}
        // From v0.15.0 a RequireDualStack service with one cluster IP is refused with its
        // own event; the cluster IPs are printed with Go's `%v` of `spec.clusterIPs`.
        Err(gate) if gate.code == Code::DualStackClusterIpsMissing => {
            return behaviour
                .not_enough_cluster_ips_text(&svc.spec.cluster_ips)
                .map(|text| ExpectedEvent::warning("not enough clusterips", text))
                .into_iter()
                .collect();
        }
        // Cluster IPs that give no family: a service entering with addresses hears so.
        Err(gate) if gate.code == Code::NoClusterIp && s.cluster_ip_count > 0 => {
            return unusable_cluster_ips(cluster, svc);
        }
        // The other gates record nothing (C.4: no pools from v0.14.0, no cluster IP).
        Err(_) => return Vec::new(),
    }
    let read: Vec<Option<Ip>> = svc.ingress_ips().map(Ip::parse).collect();
    if read.is_empty() || !s.is_managed() {
        return Vec::new();
    }
    // Held IPs that are not one family: the event, then they are cleared and allocated
    // anew in the same reconcile (the decision's AllocationFailed, if any, follows).
    if let Some(text) = behaviour.lb_ips_family_text(&read) {
        return vec![ExpectedEvent::warning("nolbIPsIPFamily", text)];
    }
    // Up to v0.13.x one address that does not parse reads as IPv6: cleared silently.
    if !s.unparsable_ingress().is_empty() || !family_kept(cluster, s) {
        return Vec::new();
    }
    let mut events = Vec::new();
    let mut kept = true;
    // `None`: the addresses stay whatever the order; `Some`: only if MetalLB processes
    // this service before the holders that refuse it.
    let mut kept_if = None;
    if let Some(error) = assign_error(cluster, s) {
        kept = false;
        if let Some(text) = behaviour.clear_assignment_text(&s.key, &error) {
            events.push(ExpectedEvent::normal("ClearAssignment", text));
        }
    } else {
        let conflicts = cluster.conflicting_holders(index);
        for (other, error) in &conflicts {
            if let Some(text) = behaviour.clear_assignment_text(&s.key, error) {
                let other = &cluster.services[*other].key;
                events.push(
                    ExpectedEvent::normal("ClearAssignment", text).on_condition(Some(format!(
                        "if MetalLB processes {other} before {} (an order that cannot be known)",
                        s.key
                    ))),
                );
            }
        }
        if !conflicts.is_empty() {
            let others: Vec<&str> = conflicts
                .iter()
                .map(|(h, _)| cluster.services[*h].key.as_str())
                .collect();
            kept_if = Some(format!(
                "if MetalLB processes {} before {} (an order that cannot be known)",
                s.key,
                others.join(", ")
            ));
        }
    }
    // An address-pool annotation naming another pool clears the addresses (no event).
    if kept
        && let Some(wanted) = s.requested_pool
        && cluster.service_pool[index].map(|p| cluster.config.pools[p].name.as_str())
            != Some(wanted)
    {
        kept = false;
    }
    // The service entered with addresses: a request MetalLB cannot read stops it with
    // `LoadBalancerFailed`, whether or not it kept them, in MetalLB's words
    // (`getDesiredLbIPs`'s error).
    match (&s.requested_ips, s.request_error()) {
        (Err(_), Some(text)) => {
            events.push(ExpectedEvent::warning(
                "LoadBalancerFailed",
                format!("invalid requested loadbalancer IPs: {text}"),
            ));
            return events;
        }
        // Requested IPs other than the held ones (as sets): cleared and requested anew.
        (Ok(Some(wanted)), _) if !same_set(wanted, &s.ingress) => kept = false,
        _ => {}
    }
    if kept && let Some(event) = top_up(cluster, index, s) {
        events.push(event.on_condition(kept_if));
    }
    events
}

/// A service whose cluster IPs give no family (a RequireDualStack one with fewer than two
/// never gets here from v0.15.0: refused first, by its gate): only if the service holds
/// addresses, MetalLB reads their family
/// (`nolbIPsIPFamily`) and the cluster IPs' (`noclusterIPsIPFamily`), and stops. Without
/// addresses it goes on to allocate, which fails on the same cluster IPs (the decision's
/// text). Go: controller/service.go `convergeBalancer`.
fn unusable_cluster_ips(cluster: &Cluster, svc: &Service) -> Vec<ExpectedEvent> {
    // A RequireDualStack service with one cluster IP never gets here from v0.15.0: its gate
    // is `dual-stack-cluster-ips-missing`, checked before the family (service.rs).
    let behaviour = &cluster.behaviour;
    let spec = &svc.spec;
    let read: Vec<Option<Ip>> = svc.ingress_ips().map(Ip::parse).collect();
    if read.is_empty() {
        return Vec::new();
    }
    let cluster_ip = spec.cluster_ip.as_deref().unwrap_or("");
    behaviour
        .lb_ips_family_text(&read)
        .map(|text| ExpectedEvent::warning("nolbIPsIPFamily", text))
        .into_iter()
        .chain(
            behaviour
                .cluster_ips_family_text(&spec.cluster_ips, cluster_ip)
                .map(|text| ExpectedEvent::warning("noclusterIPsIPFamily", text)),
        )
        .collect()
}

/// The PreferDualStack top-up (from v0.14.9): a service that kept exactly one address
/// gets the other family from the same pool, the first address MetalLB's scan finds for it,
/// or an Info event saying why not. MetalLB does not look at the cluster IPs here: a
/// PreferDualStack service with one cluster IP tries too (and, given the address, loses
/// both on the next reconcile, its family then differing from the cluster IPs').
/// Go: controller/service.go `convergeBalancer`, allocator.go
/// `AllocateFromPoolForAdditionalFamily`.
fn top_up(cluster: &Cluster, index: usize, s: &ServiceFacts) -> Option<ExpectedEvent> {
    let [held] = s.ingress.as_slice() else {
        return None;
    };
    if s.policy != Policy::PreferDualStack {
        return None;
    }
    let pool = cluster.service_pool[index]?;
    let missing = match held.family {
        Family::V4 => Family::V6,
        Family::V6 => Family::V4,
    };
    if cluster.behaviour.held_single_address != HeldSingleAddress::KeptAndCompleted {
        return None;
    }
    if let Some(ip) = cluster.first_usable(pool, index, missing) {
        return Some(ExpectedEvent::normal(
            "IPAllocated",
            format!("Assigned additional IP \"{ip}\""),
        ));
    }
    // The held address is free for its own holder: its family always has one.
    let free = Free {
        v4: cluster.first_usable(pool, index, Family::V4).is_some(),
        v6: cluster.first_usable(pool, index, Family::V6).is_some(),
    };
    let error =
        cluster
            .behaviour
            .additional_family_error(&cluster.config.pools[pool].name, *held, free)?;
    cluster
        .behaviour
        .additional_assign_failed_text(&error)
        .map(|text| ExpectedEvent::normal("AdditionalAssignFailed", text))
}

/// Go's `isEqualIPs`: the same addresses, in any order.
fn same_set(a: &[Ip], b: &[Ip]) -> bool {
    a.len() == b.len() && a.iter().all(|ip| b.contains(ip)) && b.iter().all(|ip| a.contains(ip))
}

/// Whether the held addresses survive the family check, which clears them silently when
/// their family is not the cluster IPs' (Go: `serviceFamilyChanged`, per release C.3). A
/// family inferred from a hand-written manifest is no evidence against them.
fn family_kept(cluster: &Cluster, s: &ServiceFacts) -> bool {
    let held = ServiceFamily::of(&s.ingress);
    if held.is_none() {
        // Not one family: MetalLB records `nolbIPsIPFamily`, not modelled here.
        return false;
    }
    let completed_later = s.family == ServiceFamily::Dual
        && s.policy == Policy::PreferDualStack
        && s.ingress.len() == 1
        && cluster.behaviour.held_single_address == HeldSingleAddress::KeptAndCompleted;
    held == Some(s.family) || completed_later || s.family_inferred
}

/// The error `Assign` gives the held addresses under the current configuration, or `None`
/// when it keeps them (or when it is the configuration that is refused, up to v0.13.x).
/// Go: allocator.go `Assign` (`poolFor`, `isPoolCompatibleWithService`).
fn assign_error(cluster: &Cluster, s: &ServiceFacts) -> Option<String> {
    let config = &cluster.config;
    let Some(pool) = config.pool_for(&s.ingress) else {
        // Up to v0.13.x such a configuration is refused and the old one stays (C.5).
        return cluster
            .behaviour
            .orphaning_config_error(&s.key, "")
            .is_none()
            .then(|| format!("{} is not allowed in config", go_ip_list(&s.ingress)));
    };
    let pool = &config.pools[pool];
    match pool.admits(s.namespace, s.labels) {
        Ok(()) | Err(Refusal::NamespaceUnknown) => None,
        Err(_) => Some(format!(
            "pool {} not compatible for ip assignment",
            pool.name
        )),
    }
}

/// Go's `%q` of a `[]net.IP`: `["10.0.0.1" "2001:db8::1"]`.
fn go_ip_list(ips: &[Ip]) -> String {
    let quoted: Vec<String> = ips.iter().map(|ip| format!("\"{ip}\"")).collect();
    format!("[{}]", quoted.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{
        annotate, dual, holding, lb, pinned, pool, port, svc, with_family_policy,
    };
    use crate::metallb::config::Config;
    use crate::metallb::release::{Behaviour, Release};
    use crate::metallb::service::Context;
    use crate::snapshot::{IpAddressPool, Snapshot};

    /// The events expected for the first service, on each release of [`Release::CHECKED`].
    fn per_release(pools: Vec<IpAddressPool>, service: Service) -> Vec<Vec<ExpectedEvent>> {
        per_release_of(pools, vec![service], 0)
    }

    /// The events expected for service `index`, on each release of [`Release::CHECKED`].
    fn per_release_of(
        pools: Vec<IpAddressPool>,
        services: Vec<Service>,
        index: usize,
    ) -> Vec<Vec<ExpectedEvent>> {
        let snapshot = Snapshot {
            pools,
            services: services.into(),
            ..Default::default()
        };
        Release::CHECKED
            .into_iter()
            .map(|release| {
                let ctx = Context {
                    behaviour: Behaviour::of(release),
                    ..Context::default()
                };
                let config = Config::load(&snapshot, "metallb-system", &ctx.behaviour);
                let cluster = Cluster::new(&snapshot, config, &ctx);
                expected(&cluster, index, &snapshot.services[index])
            })
            .collect()
    }

    /// No event on v0.13.9, `event` on every later release of [`Release::CHECKED`].
    fn after_v0_13_9(event: ExpectedEvent) -> Vec<Vec<ExpectedEvent>> {
        Release::CHECKED
            .iter()
            .map(|&release| match release == Release::V0_13_9 {
                true => vec![],
                false => vec![event.clone()],
            })
            .collect()
    }

    fn clear(message: &str) -> ExpectedEvent {
        ExpectedEvent::normal("ClearAssignment", message.to_string())
    }

    #[test]
    fn a_held_address_no_pool_admits_any_more_is_cleared_with_an_event_from_0_13_10() {
        // Pool `team` is now scoped to namespace team-a; the service lives in shop.
        let events = per_release(
            vec![pinned("team", &["10.0.0.0/24"], None, &["team-a"])],
            holding(svc("shop/web"), &["10.0.0.7"]),
        );
        let event = clear(
            "current IP for \"shop/web\" not allowed by config, will attempt for new IP assignment: pool team not compatible for ip assignment",
        );
        assert_eq!(events, after_v0_13_9(event));
    }

    #[test]
    fn a_held_address_in_no_pool_is_cleared_from_0_14_and_refuses_the_config_before() {
        let events = per_release(
            vec![pool("public", &["10.0.0.0/24"])],
            holding(svc("shop/web"), &["192.0.2.7"]),
        );
        let event = clear(
            "current IP for \"shop/web\" not allowed by config, will attempt for new IP assignment: [\"192.0.2.7\"] is not allowed in config",
        );
        // v0.13.9 keeps its previous configuration instead (C.5): no event.
        assert_eq!(events, after_v0_13_9(event));
    }

    #[test]
    fn require_dual_stack_with_one_cluster_ip_is_refused_with_its_own_event_from_0_15() {
        let s = with_family_policy(svc("shop/web"), "RequireDualStack");
        let events = per_release(vec![pool("public", &["10.0.0.0/24"])], s);
        let refused = ExpectedEvent::warning(
            "not enough clusterips",
            "Service requires dual stack but not enough clusterips [10.96.0.10]".to_string(),
        );
        assert_eq!(
            events,
            [vec![], vec![], vec![], vec![refused.clone()], vec![refused]]
        );
    }

    #[test]
    fn an_unreadable_request_of_a_held_service_is_load_balancer_failed_named_per_release() {
        let s = annotate(
            holding(svc("shop/web"), &["10.0.0.7"]),
            "metallb.universe.tf/loadBalancerIPs",
            "not-an-ip",
        );
        let events = per_release(vec![pool("public", &["10.0.0.0/24"])], s);
        let failed = |key: &str| {
            vec![ExpectedEvent::warning(
                "LoadBalancerFailed",
                format!("invalid requested loadbalancer IPs: invalid {key}: \"not-an-ip\""),
            )]
        };
        let old = failed("metallb.universe.tf/loadBalancerIPs");
        let new = failed("metallb.io/loadBalancerIPs");
        assert_eq!(events, [old.clone(), old, new.clone(), new.clone(), new]);
        assert!(events[0][0].ends_the_reconcile());
    }

    #[test]
    fn requested_ips_of_no_one_family_are_load_balancer_failed_in_every_release() {
        // getDesiredLbIPs returns ipfamily.ForAddressesIPs's error as it is.
        let s = annotate(
            holding(svc("shop/web"), &["10.0.0.7"]),
            "metallb.universe.tf/loadBalancerIPs",
            "10.0.0.7, 10.0.0.8",
        );
        let events = per_release(vec![pool("public", &["10.0.0.0/24"])], s);
        let failed = vec![ExpectedEvent::warning(
            "LoadBalancerFailed",
            "invalid requested loadbalancer IPs: IPFamilyForAddresses: same address family [\"10.0.0.7\" \"10.0.0.8\"]".to_string(),
        )];
        assert!(events.iter().all(|e| *e == failed), "{events:?}");
    }

    #[test]
    fn a_kept_address_and_a_pending_service_expect_no_event() {
        let events = per_release(
            vec![pool("public", &["10.0.0.0/24"])],
            holding(svc("shop/web"), &["10.0.0.7"]),
        );
        assert!(events.iter().all(Vec::is_empty), "{events:?}");
        let events = per_release(vec![pool("public", &["10.0.0.0/24"])], svc("shop/web"));
        assert!(events.iter().all(Vec::is_empty), "{events:?}");
    }

    // ----- nolbIPsIPFamily (§6.1 step 1) -----

    fn nolb(message: &str) -> ExpectedEvent {
        ExpectedEvent::warning("nolbIPsIPFamily", message.to_string())
    }

    #[test]
    fn two_held_ipv4_addresses_are_nolb_ips_ip_family_in_every_release_and_reallocated() {
        let pools = vec![pool("public", &["10.0.0.0/24"])];
        let service = holding(svc("shop/web"), &["10.0.0.7", "10.0.0.8"]);
        let event = nolb(
            "Failed to retrieve LBIPs IPFamily for [\"10.0.0.7\" \"10.0.0.8\"]: IPFamilyForAddresses: same address family [\"10.0.0.7\" \"10.0.0.8\"]",
        );
        let events = per_release(pools.clone(), service.clone());
        assert!(
            events.iter().all(|e| e == std::slice::from_ref(&event)),
            "{events:?}"
        );
        // The allocator's view: the service holds nothing and is allocated anew.
        let snapshot = Snapshot {
            pools,
            services: vec![service].into(),
            ..Default::default()
        };
        for release in Release::CHECKED {
            let ctx = Context {
                behaviour: Behaviour::of(release),
                ..Context::default()
            };
            let config = Config::load(&snapshot, "metallb-system", &ctx.behaviour);
            let cluster = Cluster::new(&snapshot, config, &ctx);
            assert_eq!(cluster.service_pool[0], None);
            assert_eq!(cluster.holding_warnings.len(), 1);
            assert_eq!(cluster.holding_warnings[0].1.code, Code::AllocationNotValid);
            assert!(cluster.decide(0).fits);
        }
    }

    #[test]
    fn one_held_address_that_does_not_parse_is_nolb_ips_ip_family_from_0_14() {
        let events = per_release(
            vec![pool("public", &["10.0.0.0/24"])],
            holding(svc("shop/web"), &["not-an-ip"]),
        );
        let event = nolb(
            "Failed to retrieve LBIPs IPFamily for [\"<nil>\"]: IPFamilyForAddresses: Invalid address [\"<nil>\"]",
        );
        // v0.13.x reads it as IPv6, which is not the service's family: cleared silently.
        assert_eq!(events, after_v0_13_9(event));
    }

    #[test]
    fn a_held_pair_with_an_address_that_does_not_parse_is_nolb_ips_ip_family_everywhere() {
        let events = per_release(
            vec![pool("public", &["10.0.0.0/24"])],
            holding(svc("shop/web"), &["10.0.0.7", "bogus"]),
        );
        let event = nolb(
            "Failed to retrieve LBIPs IPFamily for [\"10.0.0.7\" \"<nil>\"]: IPFamilyForAddresses: Invalid address [\"10.0.0.7\" \"<nil>\"]",
        );
        assert!(
            events.iter().all(|e| e == std::slice::from_ref(&event)),
            "{events:?}"
        );
    }

    // ----- PreferDualStack top-up (§4.10, C.3) -----

    fn dual_pool() -> IpAddressPool {
        pool("public", &["10.0.0.0/24", "fd00:1::/120"])
    }

    #[test]
    fn a_dual_prefer_dual_stack_service_holding_one_address_gets_the_other_from_0_14_9() {
        let events = per_release(
            vec![dual_pool()],
            holding(dual(svc("shop/web"), "PreferDualStack"), &["10.0.0.7"]),
        );
        let added = vec![ExpectedEvent::normal(
            "IPAllocated",
            "Assigned additional IP \"fd00:1::\"".to_string(),
        )];
        // Before v0.14.9 its family differs from the cluster IPs': cleared silently and
        // allocated anew (no event besides the allocation's).
        assert_eq!(
            events,
            [vec![], vec![], added.clone(), added.clone(), added]
        );
    }

    #[test]
    fn the_additional_address_is_the_first_the_service_may_use() {
        // fd00:1:: is held by another service that does not share.
        let other = holding(
            port(lb("shop", "db", &["fd00::20"]), "TCP", 80),
            &["fd00:1::"],
        );
        let events = per_release_of(
            vec![dual_pool()],
            vec![
                holding(dual(svc("shop/web"), "PreferDualStack"), &["10.0.0.7"]),
                other,
            ],
            0,
        );
        assert_eq!(
            events[4],
            [ExpectedEvent::normal(
                "IPAllocated",
                "Assigned additional IP \"fd00:1::1\"".to_string(),
            )]
        );
    }

    #[test]
    fn a_top_up_the_pool_cannot_give_is_additional_assign_failed_worded_per_release() {
        let events = per_release(
            vec![pool("public", &["10.0.0.0/24"])],
            holding(dual(svc("shop/web"), "PreferDualStack"), &["10.0.0.7"]),
        );
        let failed = |error: &str| {
            vec![ExpectedEvent::normal(
                "AdditionalAssignFailed",
                format!("cannot assign additional IP in PreferDualStack: {error}"),
            )]
        };
        let nil = failed("[\"10.0.0.7\" \"<nil>\"] is not allowed in config");
        assert_eq!(
            events,
            [
                vec![],
                vec![],
                failed("no available IPs in pool public for ipv6 IPFamily"),
                nil.clone(),
                nil
            ]
        );
    }

    #[test]
    fn the_top_up_runs_for_one_cluster_ip_too_and_not_for_other_policies() {
        let one = with_family_policy(holding(svc("shop/web"), &["10.0.0.7"]), "PreferDualStack");
        let events = per_release(vec![dual_pool()], one);
        let added = vec![ExpectedEvent::normal(
            "IPAllocated",
            "Assigned additional IP \"fd00:1::\"".to_string(),
        )];
        assert_eq!(
            events,
            [vec![], vec![], added.clone(), added.clone(), added]
        );
        let single = holding(svc("shop/web"), &["10.0.0.7"]);
        let events = per_release(vec![dual_pool()], single);
        assert!(events.iter().all(Vec::is_empty), "{events:?}");
        // A held pair is complete.
        let pair = holding(
            dual(svc("shop/web"), "PreferDualStack"),
            &["10.0.0.7", "fd00:1::7"],
        );
        let events = per_release(vec![dual_pool()], pair);
        assert!(events.iter().all(Vec::is_empty), "{events:?}");
    }

    #[test]
    fn no_top_up_when_the_held_address_is_cleared() {
        // The address-pool annotation names another pool: the address goes first.
        let s = annotate(
            holding(dual(svc("shop/web"), "PreferDualStack"), &["10.0.0.7"]),
            "metallb.universe.tf/address-pool",
            "other",
        );
        let events = per_release(
            vec![dual_pool(), pool("other", &["10.1.0.0/24", "fd00:2::/120"])],
            s,
        );
        assert!(events.iter().all(Vec::is_empty), "{events:?}");
    }

    // ----- Holders of one address that refuse each other (§5, §6.1 step 2) -----

    fn first_processed(first: &str, then: &str) -> Option<String> {
        Some(format!(
            "if MetalLB processes {first} before {then} (an order that cannot be known)"
        ))
    }

    #[test]
    fn two_holders_without_sharing_keys_each_may_lose_the_address_from_0_13_10() {
        let services = vec![
            holding(svc("shop/a"), &["10.0.0.7"]),
            holding(port(svc("shop/b"), "TCP", 443), &["10.0.0.7"]),
        ];
        let pools = vec![pool("public", &["10.0.0.0/24"])];
        for (me, me_key, other_key) in [(0, "shop/a", "shop/b"), (1, "shop/b", "shop/a")] {
            let events = per_release_of(pools.clone(), services.clone(), me);
            let lost = clear(&format!(
                "current IP for \"{me_key}\" not allowed by config, will attempt for new IP assignment: can't change sharing key for \"{me_key}\", address also in use by {other_key}"
            ))
            .on_condition(first_processed(other_key, me_key));
            // v0.13.9 clears it without an event.
            assert_eq!(
                events,
                [
                    vec![],
                    vec![lost.clone()],
                    vec![lost.clone()],
                    vec![lost.clone()],
                    vec![lost]
                ]
            );
        }
    }

    #[test]
    fn two_holders_sharing_a_key_and_a_port_conflict_on_the_port() {
        let shared = |key: &str| {
            annotate(
                holding(svc(key), &["10.0.0.7"]),
                "metallb.universe.tf/allow-shared-ip",
                "k",
            )
        };
        let events = per_release_of(
            vec![pool("public", &["10.0.0.0/24"])],
            vec![shared("shop/a"), shared("shop/b")],
            1,
        );
        let lost = clear(
            "current IP for \"shop/b\" not allowed by config, will attempt for new IP assignment: port TCP/80 is already in use on \"10.0.0.7\"",
        )
        .on_condition(first_processed("shop/a", "shop/b"));
        assert_eq!(events[1], std::slice::from_ref(&lost));
        assert_eq!(events[4], [lost]);
    }

    #[test]
    fn holders_sharing_a_key_on_distinct_ports_keep_the_address() {
        let services = vec![
            annotate(
                holding(svc("shop/a"), &["10.0.0.7"]),
                "metallb.universe.tf/allow-shared-ip",
                "k",
            ),
            annotate(
                holding(port(svc("shop/b"), "UDP", 80), &["10.0.0.7"]),
                "metallb.universe.tf/allow-shared-ip",
                "k",
            ),
        ];
        let pools = vec![pool("public", &["10.0.0.0/24"])];
        for index in 0..2 {
            let events = per_release_of(pools.clone(), services.clone(), index);
            assert!(events.iter().all(Vec::is_empty), "{events:?}");
        }
        let snapshot = Snapshot {
            pools,
            services: services.into(),
            ..Default::default()
        };
        let cluster = Cluster::new(
            &snapshot,
            Config::load(&snapshot, "metallb-system", &Behaviour::of(Release::NEWEST)),
            &Context::default(),
        );
        assert!(cluster.holder_conflicts.is_empty());
    }

    #[test]
    fn each_holder_of_a_refused_pair_is_warned_about() {
        let snapshot = Snapshot {
            pools: vec![pool("public", &["10.0.0.0/24"])],
            services: vec![
                holding(svc("shop/a"), &["10.0.0.7"]),
                holding(svc("shop/b"), &["10.0.0.7"]),
            ]
            .into(),
            ..Default::default()
        };
        let ctx = Context::default();
        let config = Config::load(&snapshot, "metallb-system", &ctx.behaviour);
        let cluster = Cluster::new(&snapshot, config, &ctx);
        let warned: Vec<usize> = cluster.holder_conflicts.iter().map(|(s, _)| *s).collect();
        assert_eq!(warned, [0, 1]);
        assert!(
            cluster.holder_conflicts[1]
                .1
                .message
                .starts_with("shop/b holds 10.0.0.7 of pool public with shop/a,"),
            "{:?}",
            cluster.holder_conflicts
        );
        // Both still hold it: the address counts once as used, and neither is stale.
        assert!(cluster.holding_warnings.is_empty());
        assert_eq!(cluster.service_pool, [Some(0), Some(0)]);
        assert_eq!(cluster.counts(0).0.used, 1);
    }

    #[test]
    fn a_held_address_that_may_be_lost_tops_up_only_if_processed_first() {
        let services = vec![
            holding(dual(svc("shop/a"), "PreferDualStack"), &["10.0.0.7"]),
            holding(svc("shop/b"), &["10.0.0.7"]),
        ];
        let events = per_release_of(vec![dual_pool()], services, 0);
        assert_eq!(
            events[4],
            [
                clear(
                    "current IP for \"shop/a\" not allowed by config, will attempt for new IP assignment: can't change sharing key for \"shop/a\", address also in use by shop/b",
                )
                .on_condition(first_processed("shop/b", "shop/a")),
                ExpectedEvent::normal(
                    "IPAllocated",
                    "Assigned additional IP \"fd00:1::\"".to_string(),
                )
                .on_condition(first_processed("shop/a", "shop/b")),
            ]
        );
    }

    // ----- Cluster IPs that give no family (§4.11 noclusterIPsIPFamily) -----

    #[test]
    fn a_held_service_with_unusable_cluster_ips_hears_so_after_its_own_addresses() {
        let mut s = holding(svc("shop/web"), &["10.0.0.7", "10.0.0.8"]);
        s.spec.cluster_ips = smallvec::smallvec!["10.96.0.10".into(), "10.96.0.11".into()];
        s.spec.cluster_ip = Some("10.96.0.10".into());
        let events = per_release(vec![pool("public", &["10.0.0.0/24"])], s);
        let expected = vec![
            nolb(
                "Failed to retrieve LBIPs IPFamily for [\"10.0.0.7\" \"10.0.0.8\"]: IPFamilyForAddresses: same address family [\"10.0.0.7\" \"10.0.0.8\"]",
            ),
            ExpectedEvent::warning(
                "noclusterIPsIPFamily",
                "Failed to retrieve ClusterIPs IPFamily for [\"10.96.0.10\" \"10.96.0.11\"] 10.96.0.10: IPFamilyForAddresses: same address family [\"10.96.0.10\" \"10.96.0.11\"]".to_string(),
            ),
        ];
        assert!(events.iter().all(|e| *e == expected), "{events:?}");
    }

    #[test]
    fn one_unparsable_cluster_ip_is_an_event_from_0_14_and_ipv6_before() {
        let mut s = holding(svc("shop/web"), &["10.0.0.7"]);
        s.spec.cluster_ips = smallvec::smallvec!["bogus".into()];
        let events = per_release(vec![pool("public", &["10.0.0.0/24"])], s.clone());
        let event = ExpectedEvent::warning(
            "noclusterIPsIPFamily",
            "Failed to retrieve ClusterIPs IPFamily for [\"bogus\"] : IPFamilyForAddresses: Invalid address [\"bogus\"]".to_string(),
        );
        // v0.13.x takes it for IPv6: the IPv4 address held is then of another family and
        // cleared silently.
        assert_eq!(events, after_v0_13_9(event));
        // A pending service hears nothing here: its allocation fails instead.
        let pending = per_release(vec![pool("public", &["10.0.0.0/24"])], holding(s, &[]));
        assert!(pending.iter().all(Vec::is_empty), "{pending:?}");
    }

    #[test]
    fn no_pools_silences_every_event_from_0_14_0() {
        // convergeBalancer's `pools are empty` (v0.14.0 on) comes before the cluster IPs.
        let mut s = holding(svc("shop/web"), &["10.0.0.7"]);
        s.spec.cluster_ips = smallvec::smallvec!["10.96.0.10".into(), "10.96.0.11".into()];
        s.spec.cluster_ip = Some("10.96.0.10".into());
        let events = per_release(vec![], s.clone());
        let family = ExpectedEvent::warning(
            "noclusterIPsIPFamily",
            "Failed to retrieve ClusterIPs IPFamily for [\"10.96.0.10\" \"10.96.0.11\"] 10.96.0.10: IPFamilyForAddresses: same address family [\"10.96.0.10\" \"10.96.0.11\"]".to_string(),
        );
        assert_eq!(events, [vec![family], vec![], vec![], vec![], vec![]]);
        // RequireDualStack with one cluster IP: refused with an event only when there are
        // pools.
        let one = with_family_policy(svc("shop/web"), "RequireDualStack");
        let with_pools = per_release(vec![pool("public", &["10.0.0.0/24"])], one.clone());
        assert_eq!(with_pools[4][0].reason, "not enough clusterips");
        assert!(per_release(vec![], one).iter().all(Vec::is_empty));
    }

    #[test]
    fn no_cluster_ips_family_ends_the_reconcile() {
        let event = |reason| ExpectedEvent::warning(reason, String::new());
        assert!(event("noclusterIPsIPFamily").ends_the_reconcile());
        assert!(event("LoadBalancerFailed").ends_the_reconcile());
        assert!(!event("nolbIPsIPFamily").ends_the_reconcile());
    }

    #[test]
    fn require_dual_stack_is_checked_before_the_cluster_ips_family_from_0_15() {
        let mut s = holding(svc("shop/web"), &["10.0.0.7"]);
        s.spec.cluster_ips = smallvec::smallvec!["bogus".into()];
        s.spec.ip_family_policy = Some("RequireDualStack".into());
        let events = per_release(vec![pool("public", &["10.0.0.0/24"])], s);
        let refused = ExpectedEvent::warning(
            "not enough clusterips",
            "Service requires dual stack but not enough clusterips [bogus]".to_string(),
        );
        assert_eq!(events[3], std::slice::from_ref(&refused));
        assert_eq!(events[4], [refused]);
        assert_eq!(events[2][0].reason, "noclusterIPsIPFamily");
    }
}
