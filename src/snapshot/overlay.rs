//! What a cluster would hold once manifests are applied on top of it (`plan`): the base
//! with every proposed object put on top, as `kubectl apply` of the files would leave it.

use std::collections::{HashMap, HashSet};

use compact_str::CompactString;

use super::{Advertisement, IpAddressPool, Metadata, Service, Services, Snapshot};

/// The base with `proposed` applied: an object of the same kind, namespace and name is
/// replaced, a new one is added. With `prune`, the MetalLB objects (pools and
/// advertisements) of the base that `proposed` does not contain are deleted, as a GitOps
/// tool that owns MetalLB's configuration would delete them. Services, namespaces and
/// controllers are never pruned: `-f` proposes a configuration, not a whole cluster.
pub fn overlay(base: &Snapshot, proposed: &Snapshot, prune: bool) -> Snapshot {
    Snapshot {
        pools: merge(&base.pools, &proposed.pools, prune, pool_id, replace),
        legacy_pools: merge(
            &base.legacy_pools,
            &proposed.legacy_pools,
            prune,
            |p| id(&p.metadata),
            replace,
        ),
        l2_advertisements: merge(
            &base.l2_advertisements,
            &proposed.l2_advertisements,
            prune,
            advertisement_id,
            replace,
        ),
        bgp_advertisements: merge(
            &base.bgp_advertisements,
            &proposed.bgp_advertisements,
            prune,
            advertisement_id,
            replace,
        ),
        services: services(base, proposed),
        namespaces: merge(
            &base.namespaces,
            &proposed.namespaces,
            false,
            |n| id(&n.metadata),
            replace,
        ),
        // Events are what happened, not what is proposed.
        events: base.events.clone(),
        namespaces_known: base.namespaces_known || proposed.namespaces_known,
        controllers: match (&base.controllers, &proposed.controllers) {
            (Some(base), Some(new)) => Some(merge(base, new, false, |d| id(&d.metadata), replace)),
            (base, new) => base.clone().or_else(|| new.clone()),
        },
        configuration_states: base.configuration_states.clone(),
        // The CRDs served do not change with a configuration.
        crds: base.crds.clone(),
        // Where each object was read: the proposal's, over the base's.
        locations: base
            .locations
            .iter()
            .chain(&proposed.locations)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        input_notes: base
            .input_notes
            .iter()
            .chain(&proposed.input_notes)
            .cloned()
            .collect(),
    }
}

/// The base's services with the proposed ones applied; the base's own list where none is
/// proposed (most proposals are MetalLB's configuration alone), shared, not copied.
fn services(base: &Snapshot, proposed: &Snapshot) -> Services {
    if proposed.services.is_empty() {
        return base.services.clone();
    }
    merge(
        &base.services,
        &proposed.services,
        false,
        |s| id(&s.metadata),
        apply_service,
    )
    .into()
}

/// What differs between a cluster and the same cluster after a change, as MetalLB's
/// controller notices it: its configuration (reloaded only when the parsed configuration
/// differs: pool_controller.go `Reconcile` compares with `reflect.DeepEqual`), and the
/// services whose own objects changed (each reconciled on its own event).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Pools, advertisements or namespace labels (what selectors read) differ.
    pub configuration: bool,
    /// `namespace/name` of the services whose metadata or spec differ, or that are new.
    pub services: HashSet<CompactString>,
}

pub fn changes(base: &Snapshot, after: &Snapshot) -> Changes {
    let configuration = !same(
        &base.pools,
        &after.pools,
        |p| id(&p.metadata),
        |a, b| a.metadata.labels == b.metadata.labels && a.spec == b.spec,
    ) || !same(
        &base.legacy_pools,
        &after.legacy_pools,
        |p| id(&p.metadata),
        |a, b| a.spec == b.spec,
    ) || !same(
        &base.l2_advertisements,
        &after.l2_advertisements,
        |a| id(&a.metadata),
        same_advertisement,
    ) || !same(
        &base.bgp_advertisements,
        &after.bgp_advertisements,
        |a| id(&a.metadata),
        same_advertisement,
    ) || !same(
        &base.namespaces,
        &after.namespaces,
        |n| id(&n.metadata),
        |a, b| a.metadata.labels == b.metadata.labels,
    );
    Changes {
        configuration,
        services: changed_services(&base.services, &after.services),
    }
}

/// The keys of the services of `after` that `base` lacks or holds otherwise; none where
/// the two share one list.
fn changed_services(base: &Services, after: &Services) -> HashSet<CompactString> {
    if Services::shared(base, after) {
        return HashSet::new();
    }
    let before: HashMap<(&str, &str), &Service> =
        base.iter().map(|s| (id(&s.metadata), s)).collect();
    after
        .iter()
        .filter(|new| {
            before
                .get(&id(&new.metadata))
                .is_none_or(|old| !same_service(old, new))
        })
        .map(|s| s.metadata.key())
        .collect()
}

fn same_advertisement(a: &Advertisement, b: &Advertisement) -> bool {
    a.metadata.labels == b.metadata.labels && a.spec == b.spec
}

/// What MetalLB reads of a Service (its status aside: that is MetalLB's own writing).
fn same_service(a: &Service, b: &Service) -> bool {
    a.metadata.labels == b.metadata.labels
        && a.metadata.annotations == b.metadata.annotations
        && a.spec == b.spec
}

/// Whether two lists hold the same objects by identity, each pair equal as `eq` says.
fn same<T>(
    a: &[T],
    b: &[T],
    identity: impl Fn(&T) -> (&str, &str),
    eq: impl Fn(&T, &T) -> bool,
) -> bool {
    let b_by_id: HashMap<(&str, &str), &T> = b.iter().map(|x| (identity(x), x)).collect();
    let a_ids: HashSet<(&str, &str)> = a.iter().map(&identity).collect();
    a_ids.len() == b_by_id.len()
        && a.iter()
            .all(|x| b_by_id.get(&identity(x)).is_some_and(|y| eq(x, y)))
}

/// An object's identity within its kind.
fn id(metadata: &Metadata) -> (&str, &str) {
    (&metadata.namespace, &metadata.name)
}

fn pool_id(p: &IpAddressPool) -> (&str, &str) {
    id(&p.metadata)
}

fn advertisement_id(a: &Advertisement) -> (&str, &str) {
    id(&a.metadata)
}

fn replace<T: Clone>(_: &T, new: &T) -> T {
    new.clone()
}

/// What `kubectl apply` of a Service manifest leaves: the manifest's metadata and spec, the
/// status the cluster holds (a subresource no manifest changes), and the cluster IPs the
/// API server allocated when the manifest does not name them. The API server's identity
/// (uid, resourceVersion) stays: the object has been through it.
fn apply_service(old: &Service, new: &Service) -> Service {
    let mut applied = new.clone();
    applied.status = old.status.clone();
    if applied.spec.cluster_ip.is_none() && applied.spec.cluster_ips.is_empty() {
        applied.spec.cluster_ip = old.spec.cluster_ip.clone();
        applied.spec.cluster_ips = old.spec.cluster_ips.clone();
    }
    if applied.spec.ip_families.is_empty() {
        applied.spec.ip_families = old.spec.ip_families.clone();
    }
    applied.metadata.uid = old.metadata.uid.clone();
    applied.metadata.resource_version = old.metadata.resource_version.clone();
    applied
}

/// `base` in its order with each object `proposed` names replaced in place (through
/// `apply`), then the proposed objects the base lacks, in their order. With `prune`, the
/// base's objects `proposed` does not name are left out.
fn merge<T: Clone>(
    base: &[T],
    proposed: &[T],
    prune: bool,
    identity: impl Fn(&T) -> (&str, &str),
    apply: impl Fn(&T, &T) -> T,
) -> Vec<T> {
    // The last of several proposed objects with one identity wins, as applying in order would.
    let newest = |key: (&str, &str)| proposed.iter().rev().find(|p| identity(p) == key);
    // Of the proposed identities, those the base holds: the ones a base object found.
    let mut in_base: HashSet<(&str, &str)> = HashSet::new();
    let mut merged: Vec<T> = base
        .iter()
        .filter_map(|old| match newest(identity(old)) {
            Some(new) => {
                in_base.insert(identity(new));
                Some(apply(old, new))
            }
            None if prune => None,
            None => Some(old.clone()),
        })
        .collect();
    let mut added = HashSet::new();
    for new in proposed.iter().rev() {
        let key = identity(new);
        if !in_base.contains(&key) && added.insert(key) {
            merged.push(new.clone());
        }
    }
    // The additions were collected newest first; restore the files' order.
    let first_added = merged.len() - added.len();
    merged[first_added..].reverse();
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{Ingress, LoadBalancerStatus, ServiceStatus};

    fn pool(name: &str, addresses: &[&str]) -> IpAddressPool {
        let mut p = IpAddressPool::default();
        p.metadata.name = name.into();
        p.metadata.namespace = "metallb-system".into();
        p.spec.addresses = addresses.iter().map(|a| a.to_string()).collect();
        p
    }

    fn names(pools: &[IpAddressPool]) -> Vec<(&str, &str)> {
        pools
            .iter()
            .map(|p| (p.metadata.name.as_str(), p.spec.addresses[0].as_str()))
            .collect()
    }

    fn snapshot(pools: Vec<IpAddressPool>) -> Snapshot {
        Snapshot {
            pools,
            ..Snapshot::default()
        }
    }

    #[test]
    fn same_name_replaces_in_place_and_new_objects_are_added() {
        let base = snapshot(vec![
            pool("a", &["10.0.0.0/24"]),
            pool("b", &["10.0.1.0/24"]),
        ]);
        let proposed = snapshot(vec![
            pool("c", &["10.0.3.0/24"]),
            pool("a", &["10.0.9.0/24"]),
        ]);
        let after = overlay(&base, &proposed, false);
        assert_eq!(
            names(&after.pools),
            [
                ("a", "10.0.9.0/24"),
                ("b", "10.0.1.0/24"),
                ("c", "10.0.3.0/24")
            ]
        );
    }

    #[test]
    fn the_namespace_is_part_of_the_identity() {
        let base = snapshot(vec![pool("a", &["10.0.0.0/24"])]);
        let mut elsewhere = pool("a", &["10.0.9.0/24"]);
        elsewhere.metadata.namespace = "other".into();
        let after = overlay(&base, &snapshot(vec![elsewhere]), false);
        assert_eq!(after.pools.len(), 2);
    }

    #[test]
    fn prune_deletes_metallb_objects_the_proposal_lacks_and_nothing_else() {
        let mut base = snapshot(vec![
            pool("a", &["10.0.0.0/24"]),
            pool("b", &["10.0.1.0/24"]),
        ]);
        let mut ad = Advertisement::default();
        ad.metadata.name = "l2".into();
        base.l2_advertisements.push(ad);
        let mut svc = Service::default();
        svc.metadata.name = "web".into();
        base.services.push(svc);
        let proposed = snapshot(vec![pool("b", &["10.0.2.0/24"])]);
        let pruned = overlay(&base, &proposed, true);
        assert_eq!(names(&pruned.pools), [("b", "10.0.2.0/24")]);
        assert!(pruned.l2_advertisements.is_empty());
        assert_eq!(pruned.services.len(), 1, "services are never pruned");
        let kept = overlay(&base, &proposed, false);
        assert_eq!(kept.pools.len(), 2);
        assert_eq!(kept.l2_advertisements.len(), 1);
    }

    #[test]
    fn the_last_of_duplicate_proposals_wins() {
        let base = snapshot(vec![pool("a", &["10.0.0.0/24"])]);
        let proposed = snapshot(vec![
            pool("a", &["10.0.1.0/24"]),
            pool("a", &["10.0.2.0/24"]),
            pool("n", &["10.1.0.0/24"]),
            pool("n", &["10.1.1.0/24"]),
        ]);
        let after = overlay(&base, &proposed, false);
        assert_eq!(
            names(&after.pools),
            [("a", "10.0.2.0/24"), ("n", "10.1.1.0/24")]
        );
    }

    #[test]
    fn an_empty_proposal_changes_nothing() {
        let base = snapshot(vec![pool("a", &["10.0.0.0/24"])]);
        let after = overlay(&base, &Snapshot::default(), false);
        assert_eq!(after.pools, base.pools);
        assert_eq!(changes(&base, &after), Changes::default());
    }

    #[test]
    fn a_proposal_without_services_shares_the_base_services_and_changes_none() {
        let mut base = snapshot(vec![pool("a", &["10.0.0.0/24"])]);
        let mut web = Service::default();
        web.metadata.name = "web".into();
        base.services.push(web.clone());
        let after = overlay(&base, &snapshot(vec![pool("a", &["10.0.1.0/24"])]), false);
        assert!(Services::shared(&base.services, &after.services));
        assert!(changes(&base, &after).services.is_empty());
        // A copy of the same services is compared, and found the same too.
        let copied = Snapshot {
            services: vec![web].into(),
            ..after.clone()
        };
        assert!(!Services::shared(&base.services, &copied.services));
        assert!(changes(&base, &copied).services.is_empty());
    }

    #[test]
    fn a_pool_rewritten_as_it_was_is_no_configuration_change() {
        // A manifest lacks the status (and the API server's fields) of the live object.
        let mut live = pool("a", &["10.0.0.0/24"]);
        live.metadata.uid = Some("u".into());
        live.status = Some(Default::default());
        let base = snapshot(vec![live]);
        let same = overlay(&base, &snapshot(vec![pool("a", &["10.0.0.0/24"])]), false);
        assert!(!changes(&base, &same).configuration);
        let grown = overlay(&base, &snapshot(vec![pool("a", &["10.0.0.0/23"])]), false);
        assert!(changes(&base, &grown).configuration);
    }

    #[test]
    fn a_changed_or_new_service_is_named() {
        let mut web = Service::default();
        web.metadata.namespace = "a".into();
        web.metadata.name = "web".into();
        let base = Snapshot {
            services: vec![web.clone()].into(),
            ..Snapshot::default()
        };
        let mut relabelled = web.clone();
        relabelled.metadata.labels.insert("x", "y");
        let mut new = web.clone();
        new.metadata.name = "new".into();
        let after = overlay(
            &base,
            &Snapshot {
                services: vec![relabelled, new].into(),
                ..Snapshot::default()
            },
            false,
        );
        let c = changes(&base, &after);
        assert!(!c.configuration);
        let mut names: Vec<&str> = c.services.iter().map(CompactString::as_str).collect();
        names.sort();
        assert_eq!(names, ["a/new", "a/web"]);
    }

    #[test]
    fn a_service_manifest_keeps_the_status_and_cluster_ips_the_cluster_holds() {
        let mut live = Service::default();
        live.metadata.name = "web".into();
        live.metadata.uid = Some("u1".into());
        live.spec.cluster_ips = smallvec::smallvec!["10.96.0.10".into()];
        live.status = ServiceStatus {
            load_balancer: LoadBalancerStatus {
                ingress: smallvec::smallvec![Ingress {
                    ip: Some("203.0.113.5".into()),
                    ..Ingress::default()
                }],
            },
        };
        let mut manifest = Service::default();
        manifest.metadata.name = "web".into();
        manifest.metadata.labels.insert("tier", "gold");
        let base = Snapshot {
            services: vec![live.clone()].into(),
            ..Snapshot::default()
        };
        let proposed = Snapshot {
            services: vec![manifest].into(),
            ..Snapshot::default()
        };
        let after = overlay(&base, &proposed, false);
        let applied = &after.services[0];
        assert_eq!(applied.status, live.status);
        assert_eq!(applied.spec.cluster_ips, live.spec.cluster_ips);
        assert_eq!(applied.metadata.uid, Some("u1".into()));
        assert_eq!(applied.metadata.labels.get("tier"), Some("gold"));
    }
}
