//! `why`: pool by pool, what MetalLB does with one service and why.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::metallb::allocator::{Cluster, Mode};
use crate::metallb::events::{self, ExpectedEvent};
use crate::metallb::reason::Reason;
use crate::metallb::release::MetallbVersion;
use crate::model::Model;
use crate::settings::ServiceRef;
use crate::snapshot::{Event, Snapshot};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// The service holds ingress IPs.
    Allocated,
    /// A LoadBalancer service MetalLB should serve, with no IP.
    Pending,
    /// Not type LoadBalancer, or another load-balancer class.
    NotManaged,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WhyReport {
    pub service: String,
    /// The MetalLB release the answer follows, and how it was known.
    pub metallb_version: MetallbVersion,
    pub state: State,
    /// The ingress IPs the service holds.
    pub ips: Vec<String>,
    /// The pool those addresses belong to.
    pub pool: Option<String>,
    /// `ipv4`, `ipv6` or `dual`, from the cluster IPs.
    pub family: &'static str,
    pub ip_family_policy: &'static str,
    /// `requested-ips`, `requested-pool`, `automatic`, or `none` when MetalLB stops earlier.
    pub mode: Mode,
    pub outcome: Outcome,
    pub pools: Vec<PoolEntry>,
    pub warnings: Vec<Reason>,
    pub events: Vec<EventEntry>,
    /// The events other than `AllocationFailed` MetalLB records on its next reconcile of the
    /// service (`ClearAssignment`, `not enough clusterips`, `LoadBalancerFailed`), worded as
    /// the modelled release words them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expected_events: Vec<ExpectedEvent>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub fits: bool,
    pub pools: Vec<String>,
    pub ips: Vec<String>,
    pub reasons: Vec<Reason>,
    /// The error MetalLB itself reports for this case (its `AllocationFailed` text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metallb_error: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolEntry {
    pub name: String,
    pub fits: bool,
    pub reasons: Vec<Reason>,
    /// The address(es) this pool would give the service.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<String>,
    /// Why a pool that fits is not MetalLB's pick.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventEntry {
    #[serde(rename = "type")]
    pub type_: String,
    pub reason: String,
    pub message: String,
    pub count: Option<i64>,
    pub last_seen: Option<String>,
    /// What a cryptic message of an older MetalLB means.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
}

/// MetalLB's cryptic text for a requested pool without a free address of the service's
/// family (metallb-semantics.md §4.6, §11).
const NIL_IP_MESSAGE: &str = "[\"<nil>\"] is not allowed in config";

fn explain(message: &str) -> Option<String> {
    message.contains(NIL_IP_MESSAGE).then(|| {
        "MetalLB means: the requested pool (metallb.io/address-pool) has no free address of the service's IP family; before 0.16 it also says this when the pool is entirely full".to_string()
    })
}

impl WhyReport {
    /// The contract's `1`: a pending service that fits no pool.
    pub fn is_problem(&self) -> bool {
        self.state == State::Pending && !self.outcome.fits
    }
}

/// `why` for the service named; an unknown service is an error that says where one of
/// that name exists.
pub fn build(model: &Model, target: &ServiceRef) -> Result<WhyReport> {
    let services = &model.snapshot.services;
    let index = services
        .iter()
        .position(|s| s.metadata.name == target.name && s.metadata.namespace == target.namespace)
        .ok_or_else(|| {
            Error::service_not_found(services, "service", &target.namespace, &target.name)
        })?;
    Ok(build_for(
        &model.cluster,
        model.snapshot,
        index,
        model.warnings.clone(),
        model.version,
    ))
}

fn build_for(
    cluster: &Cluster,
    snapshot: &Snapshot,
    service: usize,
    extra_warnings: Vec<Reason>,
    metallb_version: MetallbVersion,
) -> WhyReport {
    let facts = &cluster.services[service];
    let mut decision = cluster.decide(service);
    let names = |indices: &[usize]| {
        indices
            .iter()
            .map(|&p| cluster.config.pools[p].name.clone())
            .collect::<Vec<_>>()
    };
    let text =
        |ips: &[crate::metallb::addr::Ip]| ips.iter().map(ToString::to_string).collect::<Vec<_>>();
    let svc = &snapshot.services[service];
    let state = if !facts.is_managed() {
        State::NotManaged
    } else if svc.ingress_ips().next().is_some() {
        State::Allocated
    } else {
        State::Pending
    };
    let pools = cluster
        .config
        .pools
        .iter()
        .zip(decision.take_verdicts())
        .map(|(pool, v)| PoolEntry {
            name: pool.name.clone(),
            fits: v.fits,
            reasons: v.reasons,
            ips: text(&v.ips),
            note: v.note,
        })
        .collect();
    let mut warnings = decision.warnings;
    warnings.extend(cluster.config.warnings.iter().cloned());
    warnings.extend(extra_warnings);
    warnings.extend(
        cluster
            .holding_warnings
            .iter()
            .chain(&cluster.holder_conflicts)
            .filter(|(s, _)| *s == service)
            .map(|(_, w)| w.clone()),
    );
    let expected_events = if facts.is_managed() {
        events::expected(cluster, service, svc)
    } else {
        Vec::new()
    };
    // `LoadBalancerFailed` ends MetalLB's reconcile: no AllocationFailed follows it.
    let metallb_error = decision.metallb_error.filter(|_| {
        !expected_events
            .iter()
            .any(ExpectedEvent::ends_the_reconcile)
    });
    WhyReport {
        service: facts.key.to_string(),
        metallb_version,
        state,
        ips: svc.ingress_ips().map(str::to_string).collect(),
        pool: cluster.service_pool[service].map(|p| cluster.config.pools[p].name.clone()),
        family: facts.family.name(),
        ip_family_policy: facts.policy.name(),
        mode: decision.mode,
        outcome: Outcome {
            fits: decision.fits,
            pools: names(&decision.pools),
            ips: text(&decision.ips),
            reasons: decision.reasons,
            metallb_error: metallb_error
                .map(|e| format!("Failed to allocate IP for \"{}\": {e}", facts.key)),
        },
        pools,
        warnings,
        events: events_of(snapshot, facts.namespace, &svc.metadata.name),
        expected_events,
    }
}

fn events_of(snapshot: &Snapshot, namespace: &str, name: &str) -> Vec<EventEntry> {
    let mut events: Vec<&Event> = snapshot
        .events
        .iter()
        .filter(|e| e.involved_object.kind == "Service" && e.involved_object.name == name)
        .filter(|e| e.involved_object.namespace == namespace || e.metadata.namespace == namespace)
        .collect();
    events.sort_by(|a, b| last_seen(a).cmp(&last_seen(b)));
    events
        .into_iter()
        .map(|e| EventEntry {
            type_: e.type_.clone(),
            reason: e.reason.clone(),
            message: e.message.clone(),
            count: e.count,
            last_seen: last_seen(e).map(str::to_string),
            explanation: explain(&e.message),
        })
        .collect()
}

fn last_seen(e: &Event) -> Option<&str> {
    e.last_timestamp.as_deref().or(e.event_time.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::manifests::{pool, service, snapshot};
    use crate::metallb::release::Release;
    use crate::render::{Render, View};
    use crate::settings::MetallbFlags;

    fn why_at(yaml: &str, release: &str) -> WhyReport {
        let snapshot = snapshot(yaml);
        let flags = MetallbFlags {
            version: Some(Release::parse(release).unwrap()),
            ..MetallbFlags::default()
        };
        let model = Model::build(&snapshot, &flags, Vec::new());
        let target = ServiceRef {
            namespace: "shop".into(),
            name: "web".into(),
        };
        build(&model, &target).unwrap()
    }

    fn human(report: &WhyReport) -> String {
        let mut out = Vec::new();
        let view = View {
            wide: false,
            color: false,
            no_headers: false,
            now: jiff::Timestamp::UNIX_EPOCH,
        };
        report.human(&mut out, &view).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn an_address_in_no_pool_is_cleared_then_allocated_anew_in_metallbs_words() {
        let yaml = pool("public", &["10.0.0.0/24"], "") + &service("shop/web", &["192.0.2.7"], &[]);
        let report = why_at(&yaml, "v0.16.1");
        assert_eq!(report.expected_events.len(), 1);
        assert_eq!(report.expected_events[0].reason, "ClearAssignment");
        let page = human(&report);
        assert!(
            page.contains("MetalLB:     ClearAssignment (Normal): current IP for \"shop/web\" not allowed by\n"),
            "{page}"
        );
        // v0.13.9 refuses the configuration instead: nothing is cleared.
        assert!(why_at(&yaml, "v0.13.9").expected_events.is_empty());
    }

    #[test]
    fn load_balancer_failed_replaces_allocation_failed_for_a_service_that_held_addresses() {
        let bad = [("metallb.universe.tf/loadBalancerIPs", "nope")];
        let yaml = pool("public", &["10.0.0.0/24"], "") + &service("shop/web", &["10.0.0.7"], &bad);
        let report = why_at(&yaml, "v0.14.8");
        assert_eq!(report.expected_events[0].reason, "LoadBalancerFailed");
        assert_eq!(
            report.expected_events[0].message,
            "invalid requested loadbalancer IPs: invalid metallb.universe.tf/loadBalancerIPs: \"nope\""
        );
        assert_eq!(report.outcome.metallb_error, None);
        // A pending service with the same request fails allocation instead.
        let yaml = pool("public", &["10.0.0.0/24"], "") + &service("shop/web", &[], &bad);
        let report = why_at(&yaml, "v0.14.8");
        assert!(report.expected_events.is_empty());
        assert!(report.outcome.metallb_error.is_some());
    }

    #[test]
    fn held_addresses_of_two_families_one_too_many_are_nolb_ips_ip_family_then_reallocated() {
        let yaml = pool("public", &["10.0.0.0/24"], "")
            + &service("shop/web", &["10.0.0.7", "10.0.0.8"], &[]);
        let report = why_at(&yaml, "v0.15.3");
        assert_eq!(report.expected_events.len(), 1);
        assert_eq!(report.expected_events[0].reason, "nolbIPsIPFamily");
        assert_eq!(report.expected_events[0].type_, "Warning");
        // It holds nothing MetalLB keeps, and is allocated anew in the same reconcile.
        assert_eq!(report.pool, None);
        assert!(report.outcome.fits);
        assert!(
            report
                .warnings
                .iter()
                .any(|w| w.code == crate::metallb::reason::Code::AllocationNotValid),
            "{:?}",
            report.warnings
        );
    }

    #[test]
    fn an_event_that_depends_on_processing_order_says_so_in_json_and_on_the_page() {
        let yaml = pool("public", &["10.0.0.0/24"], "")
            + &service("shop/web", &["10.0.0.7"], &[])
            + &service("shop/db", &["10.0.0.7"], &[]);
        let report = why_at(&yaml, "v0.16.1");
        let json = serde_json::to_value(&report.expected_events).unwrap();
        assert_eq!(
            json[0]["condition"],
            "if MetalLB processes shop/db before shop/web (an order that cannot be known)"
        );
        let page = human(&report);
        assert!(page.contains("shop/db [if MetalLB"), "{page}");
        // An unconditional event has no `condition` key.
        let alone =
            pool("public", &["10.0.0.0/24"], "") + &service("shop/web", &["192.0.2.7"], &[]);
        let json = serde_json::to_value(&why_at(&alone, "v0.16.1").expected_events).unwrap();
        assert!(json[0].get("condition").is_none(), "{json}");
    }
}
