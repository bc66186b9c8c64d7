//! `dump`: the snapshot as a `kind: List` that `-f` reads back, for bug reports and offline
//! analysis. MetalLB's controller Deployment and ConfigurationState go with it, so that the
//! MetalLB namespace, `--lb-class` and MetalLB's own verdict detected live are detected
//! again from the dump.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::snapshot::Snapshot;

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
