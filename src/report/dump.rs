//! `dump`: the snapshot as a `kind: List` that `-f` reads back, for bug reports and offline
//! analysis. MetalLB's controller Deployment and ConfigurationState go with it, so that the
//! MetalLB namespace, `--lb-class` and MetalLB's own verdict detected live are detected
//! again from the dump. What the MetalLB CRDs say of the release goes as slim CRDs (names
//! and the schema fingerprints only), so that the release detected live is detected again.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::snapshot::{L2_ADVERTISEMENTS, METALLB_GROUP, MetallbCrds, POOLS, Snapshot};

const METALLB: &str = "metallb.io/v1beta1";

/// A `v1/List` of manifests.
#[derive(Clone, Debug, Serialize)]
#[serde(transparent)]
pub struct Dump(pub Value);

/// The snapshot as a `v1/List` of manifests.
pub fn build(snapshot: &Snapshot) -> Dump {
    let items: Vec<Value> = (snapshot
        .namespaces
        .iter()
        .map(|o| manifest("v1", "Namespace", o)))
    .chain(
        snapshot
            .pools
            .iter()
            .map(|o| manifest(METALLB, "IPAddressPool", o)),
    )
    .chain(
        snapshot
            .legacy_pools
            .iter()
            .map(|o| manifest(METALLB, "AddressPool", o)),
    )
    .chain(
        snapshot
            .l2_advertisements
            .iter()
            .map(|o| manifest(METALLB, "L2Advertisement", o)),
    )
    .chain(
        snapshot
            .bgp_advertisements
            .iter()
            .map(|o| manifest(METALLB, "BGPAdvertisement", o)),
    )
    .chain(
        snapshot
            .services
            .iter()
            .map(|o| manifest("v1", "Service", o)),
    )
    .chain(snapshot.events.iter().map(|o| manifest("v1", "Event", o)))
    .chain(
        snapshot
            .controllers
            .iter()
            .flatten()
            .map(|o| manifest("apps/v1", "Deployment", o)),
    )
    .chain(
        snapshot
            .configuration_states
            .iter()
            .map(|o| manifest(METALLB, "ConfigurationState", o)),
    )
    .chain(snapshot.crds.iter().flat_map(crd_manifests))
    .collect();
    Dump(json!({"apiVersion": "v1", "kind": "List", "items": items}))
}

/// One object with its `apiVersion` and `kind`.
fn manifest<T: Serialize>(api_version: &str, kind: &str, object: &T) -> Value {
    let mut fields = Map::new();
    fields.insert("apiVersion".into(), Value::String(api_version.into()));
    fields.insert("kind".into(), Value::String(kind.into()));
    if let Ok(Value::Object(rest)) = serde_json::to_value(object) {
        fields.extend(rest);
    }
    Value::Object(fields)
}

/// One slim CustomResourceDefinition per MetalLB resource: its name, and the schema fields
/// that tell the release (Appendix C), each open to any content so that nothing is pruned.
/// A schema that was read gets a spec field of its own, so that the absence of a
/// fingerprint is read back as seen; one that was not (API discovery) gets no schema.
fn crd_manifests(crds: &MetallbCrds) -> Vec<Value> {
    crds.resources
        .iter()
        .map(|plural| {
            let fields: Vec<(&str, &str)> = match plural.as_str() {
                POOLS => [
                    crds.pool_schema_known.then_some(("spec", "addresses")),
                    crds.pool_status_assigned_ipv4
                        .then_some(("status", "assignedIPv4")),
                ]
                .into_iter()
                .flatten()
                .collect(),
                L2_ADVERTISEMENTS => [
                    crds.l2_schema_known.then_some(("spec", "ipAddressPools")),
                    crds.l2_service_selectors
                        .then_some(("spec", "serviceSelectors")),
                ]
                .into_iter()
                .flatten()
                .collect(),
                _ => Vec::new(),
            };
            let mut version = json!({"name": "v1beta1", "served": true, "storage": true});
            if !fields.is_empty() {
                let open = json!({"x-kubernetes-preserve-unknown-fields": true});
                let mut properties = Map::new();
                for (top, field) in fields {
                    let entry = properties.entry(top).or_insert_with(|| {
                        json!({
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": true,
                            "properties": {},
                        })
                    });
                    entry["properties"][field] = open.clone();
                }
                version["schema"] = json!({"openAPIV3Schema": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": true,
                    "properties": properties,
                }});
            }
            json!({
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": format!("{plural}.{METALLB_GROUP}")},
                "spec": {
                    "group": METALLB_GROUP,
                    "names": {"plural": plural},
                    "scope": "Namespaced",
                    "versions": [version],
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::CustomResourceDefinition;

    /// The slim CRDs are read back into the same facts.
    #[test]
    fn crds_round_trip_through_their_slim_manifests() {
        let crds = MetallbCrds {
            resources: ["configurationstates", "ipaddresspools", "l2advertisements"]
                .map(String::from)
                .into(),
            pool_status_assigned_ipv4: true,
            l2_service_selectors: true,
            pool_schema_known: true,
            l2_schema_known: true,
        };
        // Read from manifests (schemas known), with and without the fingerprints; and from
        // API discovery (names only).
        for facts in [
            crds.clone(),
            MetallbCrds {
                pool_status_assigned_ipv4: false,
                l2_service_selectors: false,
                ..crds.clone()
            },
            MetallbCrds {
                pool_status_assigned_ipv4: false,
                l2_service_selectors: false,
                pool_schema_known: false,
                l2_schema_known: false,
                ..crds.clone()
            },
        ] {
            let mut read = MetallbCrds::default();
            for manifest in crd_manifests(&facts) {
                assert_eq!(manifest["kind"], "CustomResourceDefinition");
                let crd: CustomResourceDefinition = serde_json::from_value(manifest).unwrap();
                read.add(&crd);
            }
            assert_eq!(read, facts);
        }
    }

    /// A legacy AddressPool goes into the dump as what `-f` reads back as one.
    #[test]
    fn legacy_pools_round_trip() {
        let yaml = "apiVersion: metallb.io/v1beta1\nkind: AddressPool\nmetadata: {name: old, namespace: metallb-system}\nspec:\n  protocol: bgp\n  addresses: [192.0.2.0/24]\n  autoAssign: false\n  bgpAdvertisements: [{aggregationLength: 24}]\n";
        let snapshot = crate::fixtures::manifests::snapshot(yaml);
        assert_eq!(snapshot.legacy_pools.len(), 1);
        let dumped = serde_json::to_string(&build(&snapshot)).unwrap();
        let read = crate::fixtures::manifests::snapshot(&dumped);
        assert_eq!(read.legacy_pools, snapshot.legacy_pools);
        assert_eq!(read.legacy_pools[0].spec.protocol, "bgp");
        assert_eq!(
            read.legacy_pools[0].spec.bgp_advertisements[0].aggregation_length,
            Some(24)
        );
    }
}
