//! The events MetalLB's controller records for a service besides `AllocationFailed`
//! (metallb-semantics.md §4.11, C.3, C.4), worded as the modelled release words them: what
//! `why` says MetalLB will record on its next reconcile of the service. Go:
//! controller/service.go `convergeBalancer`, whose order is followed here: the dual-stack
//! gate, then the family of the held addresses, then `Assign` of the held addresses, then
//! the requested IPs.

use serde::Serialize;

use super::addr::Ip;
use super::allocator::Cluster;
use super::config::Refusal;
use super::reason::Code;
use super::release::HeldSingleAddress;
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
}

impl ExpectedEvent {
    fn normal(reason: &'static str, message: String) -> ExpectedEvent {
        ExpectedEvent {
            type_: "Normal",
            reason,
            message,
        }
    }

    fn warning(reason: &'static str, message: String) -> ExpectedEvent {
        ExpectedEvent {
            type_: "Warning",
            reason,
            message,
        }
    }

    /// `LoadBalancerFailed`: MetalLB stops there, so no `AllocationFailed` follows.
    pub fn ends_the_reconcile(&self) -> bool {
        self.reason == "LoadBalancerFailed"
    }
}

/// The events other than `AllocationFailed` that MetalLB records for service `index` of
/// `cluster` (`svc` is its object) on its next reconcile: `not enough clusterips`,
/// `ClearAssignment`, `LoadBalancerFailed`. Empty when the model predicts none.
pub fn expected(cluster: &Cluster, index: usize, svc: &Service) -> Vec<ExpectedEvent> {
    let s = &cluster.services[index];
    let behaviour = &cluster.behaviour;
    match &s.gate {
        Ok(()) => {}
        // From v0.15.0 a RequireDualStack service with one cluster IP is refused with its
        // own event; the cluster IPs are printed with Go's `%v` of `spec.clusterIPs`.
        Err(gate) if gate.code == Code::DualStackClusterIpsMissing => {
            let ips: Vec<&str> = svc.spec.cluster_ips.iter().map(String::as_str).collect();
            return behaviour
                .not_enough_cluster_ips_text(&ips)
                .map(|text| ExpectedEvent::warning("not enough clusterips", text))
                .into_iter()
                .collect();
        }
        // The other gates record nothing (C.4: no pools from v0.14.0, no cluster IP).
        Err(_) => return Vec::new(),
    }
    if !s.holds_addresses() || !s.unparsable_ingress.is_empty() || !family_kept(cluster, s) {
        return Vec::new();
    }
    let mut events = Vec::new();
    if let Some(error) = assign_error(cluster, s)
        && let Some(text) = behaviour.clear_assignment_text(&s.key, &error)
    {
        events.push(ExpectedEvent::normal("ClearAssignment", text));
    }
    // The service entered with addresses: a request MetalLB cannot read stops it with
    // `LoadBalancerFailed`, whether or not it kept them. Only MetalLB's own texts are
    // known here (an unreadable annotation or spec.loadBalancerIP, both set).
    if let Err(request) = &s.requested_ips
        && (request.code == Code::ConflictingIpRequests
            || (request.code == Code::InvalidRequestedIp
                && request.message.starts_with("invalid ")))
    {
        events.push(ExpectedEvent::warning(
            "LoadBalancerFailed",
            format!("invalid requested loadbalancer IPs: {}", request.message),
        ));
    }
    events
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
    use crate::fixtures::{annotate, holding, pinned, pool, svc};
    use crate::metallb::config::Config;
    use crate::metallb::release::{Behaviour, Release};
    use crate::metallb::service::Context;
    use crate::snapshot::{IpAddressPool, Snapshot};

    /// The events expected for the first service, on each release of [`Release::CHECKED`].
    fn per_release(pools: Vec<IpAddressPool>, service: Service) -> Vec<Vec<ExpectedEvent>> {
        let snapshot = Snapshot {
            pools,
            services: vec![service],
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
                expected(&cluster, 0, &snapshot.services[0])
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
        assert_eq!(
            events,
            [
                vec![],
                vec![event.clone()],
                vec![event.clone()],
                vec![event.clone()],
                vec![event]
            ]
        );
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
        assert_eq!(
            events,
            [
                vec![],
                vec![event.clone()],
                vec![event.clone()],
                vec![event.clone()],
                vec![event]
            ]
        );
    }

    #[test]
    fn require_dual_stack_with_one_cluster_ip_is_refused_with_its_own_event_from_0_15() {
        let mut s = svc("shop/web");
        s.spec.ip_family_policy = Some("RequireDualStack".into());
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
    fn a_kept_address_and_a_pending_service_expect_no_event() {
        let events = per_release(
            vec![pool("public", &["10.0.0.0/24"])],
            holding(svc("shop/web"), &["10.0.0.7"]),
        );
        assert!(events.iter().all(Vec::is_empty), "{events:?}");
        let events = per_release(vec![pool("public", &["10.0.0.0/24"])], svc("shop/web"));
        assert!(events.iter().all(Vec::is_empty), "{events:?}");
    }
}
