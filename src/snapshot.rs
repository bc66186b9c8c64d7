//! The plain data every answer is computed from: the objects read from a cluster or from
//! files, reduced to the fields the MetalLB model needs.
//!
//! The same types deserialize Kubernetes JSON directly (slim deserialization: unknown
//! fields are skipped without being stored) and serialize back to manifests for `dump`.

mod controller;
mod crd;
mod overlay;
mod services;
mod string_map;
mod uid;

use std::collections::HashMap;
use std::fmt;

use compact_str::CompactString;
use smallvec::SmallVec;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

pub use controller::{
    ConfigurationState, ConfigurationStatus, Container, Deployment, DeploymentSpec, EnvSource,
    EnvVar, FieldRef, PodSpec, PodTemplate,
};
pub use crd::{
    ApiResourceList, CustomResourceDefinition, L2_ADVERTISEMENTS, LEGACY_POOLS, METALLB_GROUP,
    MetallbCrds, POOLS,
};
pub use overlay::{Changes, changes, overlay};
pub use services::Services;
pub use string_map::StringMap;
pub use uid::Uid;

/// The prefix of MetalLB's Service annotations (read from v0.14.9 on).
pub const ANNOTATION_PREFIX: &str = "metallb.io/";
/// The older prefix, read by every release (the only one before v0.14.9).
pub const DEPRECATED_PREFIX: &str = "metallb.universe.tf/";

/// Everything the plugin knows about one cluster.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub pools: Vec<IpAddressPool>,
    /// Legacy `AddressPool` objects (metallb.io/v1beta1): pools up to v0.13.x, ignored from
    /// v0.14.0 (metallb-semantics.md C.2).
    pub legacy_pools: Vec<AddressPool>,
    pub l2_advertisements: Vec<Advertisement>,
    pub bgp_advertisements: Vec<Advertisement>,
    /// Shared with another snapshot that holds the same services (`plan`'s after).
    pub services: Services,
    pub namespaces: Vec<Namespace>,
    pub events: Vec<Event>,
    /// Whether Namespace objects were part of the input (selectors need them).
    pub namespaces_known: bool,
    /// MetalLB's controller Deployments; `None` when they were not looked for (manifests
    /// without one, or both `--metallb-namespace` and `--lb-class` given).
    pub controllers: Option<Vec<Deployment>>,
    /// MetalLB's ConfigurationStates (v0.15.3+).
    pub configuration_states: Vec<ConfigurationState>,
    /// What MetalLB's CRDs say of its release; `None` when the input shows none.
    pub crds: Option<MetallbCrds>,
    /// Offline: where each object was read (its last definition). Empty for a live cluster.
    pub locations: HashMap<ObjectKey, Location>,
    /// Offline: what reading the files noticed about the files themselves.
    pub input_notes: Vec<InputNote>,
}

/// Something about the manifests themselves, not about MetalLB.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputNote {
    pub issue: InputIssue,
    /// The object it is about, if any.
    pub object: Option<ObjectKey>,
    /// Where: the file (or directory) and, when known, the line.
    pub at: Location,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputIssue {
    /// The same object defined more than once: the last definition is read.
    DuplicateObject,
    /// A kustomization or a Helm template: not manifests until rendered.
    NotRendered,
    /// A `kind` or `apiVersion` that looks misspelt (did-you-mean in the message).
    UnknownKind,
}

/// An object's identity: kind (`Service`, `IPAddressPool`…), namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ObjectKey {
    pub kind: &'static str,
    pub namespace: CompactString,
    pub name: CompactString,
}

impl ObjectKey {
    pub fn new(kind: &'static str, namespace: &str, name: &str) -> ObjectKey {
        ObjectKey {
            kind,
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// `Kind namespace/name`, `Kind name` for cluster-scoped objects.
    pub fn describe(&self) -> String {
        match (self.namespace.is_empty(), self.name.is_empty()) {
            (_, true) => self.kind.to_string(),
            (true, false) => format!("{} {}", self.kind, self.name),
            (false, false) => format!("{} {}/{}", self.kind, self.namespace, self.name),
        }
    }
}

/// Where an object was read from: the file, and the line its document starts on when the
/// reader knows it (items of a YAML `kind: List` carry only the file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// Shared by every object of the file.
    pub file: std::sync::Arc<str>,
    pub line: Option<usize>,
}

/// `null` in Kubernetes JSON means "absent": read it as the type's default.
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Reads `metadata.annotations` keeping only those MetalLB reads (`metallb.io/…` and
/// `metallb.universe.tf/…`). The others are skipped unread: real objects carry large ones
/// (`kubectl.kubernetes.io/last-applied-configuration` is a copy of the whole object), and
/// keeping them would multiply the memory a large cluster takes.
fn metallb_annotations<'de, D: Deserializer<'de>>(deserializer: D) -> Result<StringMap, D::Error> {
    fn is_metallb(key: &str) -> bool {
        key.starts_with(ANNOTATION_PREFIX) || key.starts_with(DEPRECATED_PREFIX)
    }

    /// A key, allocated only when it is kept.
    struct KeptKey;

    impl<'de> Visitor<'de> for KeptKey {
        type Value = Option<String>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an annotation name")
        }

        fn visit_str<E>(self, key: &str) -> Result<Option<String>, E> {
            Ok(is_metallb(key).then(|| key.to_owned()))
        }

        fn visit_string<E>(self, key: String) -> Result<Option<String>, E> {
            Ok(is_metallb(&key).then_some(key))
        }
    }

    impl<'de> DeserializeSeed<'de> for KeptKey {
        type Value = Option<String>;

        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
            d.deserialize_str(self)
        }
    }

    struct Annotations;

    impl<'de> Visitor<'de> for Annotations {
        type Value = StringMap;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a map of strings")
        }

        fn visit_unit<E>(self) -> Result<StringMap, E> {
            Ok(StringMap::new())
        }

        fn visit_none<E>(self) -> Result<StringMap, E> {
            Ok(StringMap::new())
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<StringMap, D::Error> {
            d.deserialize_map(self)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<StringMap, A::Error> {
            let mut kept: Vec<(String, String)> = Vec::new();
            while let Some(key) = access.next_key_seed(KeptKey)? {
                match key {
                    Some(key) => kept.push((key, access.next_value::<String>()?)),
                    None => {
                        access.next_value::<IgnoredAny>()?;
                    }
                }
            }
            StringMap::from_pairs(kept).map_err(serde::de::Error::custom)
        }
    }

    deserializer.deserialize_option(Annotations)
}

/// [`nullable`] for lists, trimmed to their length: serde grows a list by doubling from
/// four, and at 50,000 services the spare room of small lists (ports, cluster IPs,
/// ingress) was a fifth of the heap. A [`Few`] with one item keeps it inline.
fn compact_list<'de, D, L>(deserializer: D) -> Result<L, D::Error>
where
    D: Deserializer<'de>,
    L: Default + Deserialize<'de> + Trim,
{
    let mut list: L = nullable(deserializer)?;
    list.trim();
    Ok(list)
}

/// A list that can give back the room it does not use.
trait Trim {
    fn trim(&mut self);
}

impl<T> Trim for Vec<T> {
    fn trim(&mut self) {
        self.shrink_to_fit();
    }
}

impl<T> Trim for Few<T> {
    fn trim(&mut self) {
        self.shrink_to_fit();
    }
}

/// A list that holds one item for most objects (a service's cluster IPs, families, ports,
/// ingress): that one is kept inside the object, without an allocation of its own.
pub type Few<T> = SmallVec<[T; 1]>;

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    #[serde(default, deserialize_with = "nullable")]
    pub name: CompactString,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "CompactString::is_empty"
    )]
    pub namespace: CompactString,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "StringMap::is_empty"
    )]
    pub labels: StringMap,
    /// MetalLB's annotations only: see [`metallb_annotations`].
    #[serde(
        default,
        deserialize_with = "metallb_annotations",
        skip_serializing_if = "StringMap::is_empty"
    )]
    pub annotations: StringMap,
    /// Set by the API server: an object that has one has been through it, so what it lacks
    /// (a Service's cluster IPs) it really lacks (cli-contract.md "Offline manifests").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<Uid>,
    /// Set by the API server, like [`Metadata::uid`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<CompactString>,
}

impl Metadata {
    /// Whether the object was written by hand rather than read from an API server (or a
    /// dump of one): it has neither a `uid` nor a `resourceVersion`.
    pub fn is_hand_written(&self) -> bool {
        self.uid.is_none() && self.resource_version.is_none()
    }

    /// `namespace/name`, MetalLB's service key (inline, without an allocation, up to 24
    /// bytes: most keys).
    pub fn key(&self) -> CompactString {
        // Built directly, not through `format!`: every service's key is made once per run.
        let mut key = CompactString::with_capacity(self.namespace.len() + 1 + self.name.len());
        key.push_str(&self.namespace);
        key.push('/');
        key.push_str(&self.name);
        key
    }
}

// ---------------------------------------------------------------------------------------
// MetalLB objects (metallb.io/v1beta1)

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct IpAddressPool {
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default, deserialize_with = "nullable")]
    pub spec: PoolSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PoolStatus>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolSpec {
    #[serde(default, deserialize_with = "compact_list")]
    pub addresses: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_assign: Option<bool>,
    #[serde(
        default,
        rename = "avoidBuggyIPs",
        skip_serializing_if = "Option::is_none"
    )]
    pub avoid_buggy_ips: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_allocation: Option<ServiceAllocation>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAllocation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    #[serde(
        default,
        deserialize_with = "compact_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub namespaces: Vec<String>,
    #[serde(
        default,
        deserialize_with = "compact_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub namespace_selectors: Vec<LabelSelector>,
    #[serde(
        default,
        deserialize_with = "compact_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub service_selectors: Vec<LabelSelector>,
}

/// MetalLB's own counters (v0.15.0+), shown beside the exact ones.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolStatus {
    #[serde(
        default,
        rename = "assignedIPv4",
        skip_serializing_if = "Option::is_none"
    )]
    pub assigned_ipv4: Option<i64>,
    #[serde(
        default,
        rename = "assignedIPv6",
        skip_serializing_if = "Option::is_none"
    )]
    pub assigned_ipv6: Option<i64>,
    #[serde(
        default,
        rename = "availableIPv4",
        skip_serializing_if = "Option::is_none"
    )]
    pub available_ipv4: Option<i64>,
    #[serde(
        default,
        rename = "availableIPv6",
        skip_serializing_if = "Option::is_none"
    )]
    pub available_ipv6: Option<i64>,
}

impl PoolStatus {
    /// Whether MetalLB wrote any of its counters (v0.15.0 on); other fields (conditions) are
    /// not read.
    pub fn has_counts(&self) -> bool {
        [
            self.assigned_ipv4,
            self.assigned_ipv6,
            self.available_ipv4,
            self.available_ipv6,
        ]
        .iter()
        .any(Option::is_some)
    }
}

/// A legacy `AddressPool` (metallb.io/v1beta1, deprecated): a pool and its announcement in
/// one object. Only v0.13.x reads it (Go: config.go `addressPoolFromLegacyCR`); its spec
/// has no `avoidBuggyIPs` and no `serviceAllocation`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct AddressPool {
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default, deserialize_with = "nullable")]
    pub spec: LegacyPoolSpec,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LegacyPoolSpec {
    /// `layer2` or `bgp`: how the pool is announced.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub protocol: String,
    #[serde(default, deserialize_with = "compact_list")]
    pub addresses: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_assign: Option<bool>,
    #[serde(
        default,
        rename = "bgpAdvertisements",
        deserialize_with = "compact_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub bgp_advertisements: Vec<LegacyBgpAdvertisement>,
}

/// One entry of an AddressPool's `bgpAdvertisements`: only what MetalLB validates against
/// the pool's addresses is kept.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LegacyBgpAdvertisement {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregation_length: Option<i32>,
    #[serde(
        default,
        rename = "aggregationLengthV6",
        skip_serializing_if = "Option::is_none"
    )]
    pub aggregation_length_v6: Option<i32>,
}

/// An L2Advertisement or a BGPAdvertisement: only the pool selection matters here.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct Advertisement {
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default, deserialize_with = "nullable")]
    pub spec: AdvertisementSpec,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdvertisementSpec {
    #[serde(
        default,
        deserialize_with = "compact_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ip_address_pools: Vec<String>,
    #[serde(
        default,
        deserialize_with = "compact_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ip_address_pool_selectors: Vec<LabelSelector>,
    #[serde(
        default,
        deserialize_with = "compact_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub service_selectors: Vec<LabelSelector>,
}

// ---------------------------------------------------------------------------------------
// Core objects

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct Namespace {
    #[serde(default)]
    pub metadata: Metadata,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct Service {
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default, deserialize_with = "nullable")]
    pub spec: ServiceSpec,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_default"
    )]
    pub status: ServiceStatus,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSpec {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<CompactString>,
    #[serde(default, rename = "clusterIP", skip_serializing_if = "Option::is_none")]
    pub cluster_ip: Option<CompactString>,
    #[serde(
        default,
        rename = "clusterIPs",
        deserialize_with = "compact_list",
        skip_serializing_if = "SmallVec::is_empty"
    )]
    pub cluster_ips: Few<CompactString>,
    #[serde(
        default,
        deserialize_with = "compact_list",
        skip_serializing_if = "SmallVec::is_empty"
    )]
    pub ip_families: Few<CompactString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_family_policy: Option<CompactString>,
    #[serde(
        default,
        rename = "loadBalancerIP",
        skip_serializing_if = "Option::is_none"
    )]
    pub load_balancer_ip: Option<CompactString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer_class: Option<CompactString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_traffic_policy: Option<CompactString>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "StringMap::is_empty"
    )]
    pub selector: StringMap,
    #[serde(
        default,
        deserialize_with = "compact_list",
        skip_serializing_if = "SmallVec::is_empty"
    )]
    pub ports: Few<ServicePort>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct ServicePort {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<CompactString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<CompactString>,
    #[serde(default)]
    pub port: i32,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceStatus {
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_default"
    )]
    pub load_balancer: LoadBalancerStatus,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct LoadBalancerStatus {
    #[serde(
        default,
        deserialize_with = "compact_list",
        skip_serializing_if = "SmallVec::is_empty"
    )]
    pub ingress: Few<Ingress>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct Ingress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<CompactString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<CompactString>,
}

impl Service {
    /// The non-empty ingress IPs, as written (hostname-only entries are ignored by MetalLB).
    pub fn ingress_ips(&self) -> impl Iterator<Item = &str> {
        self.status
            .load_balancer
            .ingress
            .iter()
            .filter_map(|i| i.ip.as_deref())
            .filter(|ip| !ip.is_empty())
    }
}

/// A core/v1 Event about a service, shown verbatim by `why`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default, deserialize_with = "nullable")]
    pub involved_object: ObjectReference,
    #[serde(default, deserialize_with = "nullable")]
    pub reason: String,
    #[serde(default, deserialize_with = "nullable")]
    pub message: String,
    #[serde(default, rename = "type", deserialize_with = "nullable")]
    pub type_: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_time: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct ObjectReference {
    #[serde(default, deserialize_with = "nullable")]
    pub kind: String,
    #[serde(default, deserialize_with = "nullable")]
    pub namespace: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(json: &str) -> Result<Metadata, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn only_metallb_annotations_are_kept() {
        let read = metadata(
            r#"{"name": "web", "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": "{\"a huge\": \"copy\"}",
                "metallb.io/address-pool": "public",
                "example.com/port": 8080,
                "metallb.universe.tf/allow-shared-ip": "k",
                "metallbx/other": "no"
            }}"#,
        )
        .unwrap();
        assert_eq!(
            read.annotations.iter().collect::<Vec<_>>(),
            vec![
                ("metallb.io/address-pool", "public"),
                ("metallb.universe.tf/allow-shared-ip", "k"),
            ]
        );
    }

    #[test]
    fn annotations_may_be_null_or_absent_but_metallb_values_are_strings() {
        assert!(
            metadata(r#"{"name": "a", "annotations": null}"#)
                .unwrap()
                .annotations
                .is_empty()
        );
        assert!(metadata(r#"{"name": "a"}"#).unwrap().annotations.is_empty());
        assert!(
            metadata(r#"{"name": "a", "annotations": {"metallb.io/address-pool": 1}}"#).is_err()
        );
        assert!(metadata(r#"{"name": "a", "annotations": ["metallb.io/x"]}"#).is_err());
    }

    #[test]
    fn uid_and_resource_version_are_kept_only_when_present() {
        let read = metadata(r#"{"name": "a", "uid": "0f1e", "resourceVersion": "42"}"#).unwrap();
        assert_eq!(read.uid, Some(Uid::from("0f1e")));
        assert_eq!(read.resource_version.as_deref(), Some("42"));
        assert!(!read.is_hand_written());
        assert_eq!(
            serde_json::to_string(&read).unwrap(),
            r#"{"name":"a","uid":"0f1e","resourceVersion":"42"}"#
        );
        let hand = metadata(r#"{"name": "a"}"#).unwrap();
        assert!(hand.is_hand_written());
        assert_eq!(serde_json::to_string(&hand).unwrap(), r#"{"name":"a"}"#);
        assert!(
            !metadata(r#"{"name": "a", "resourceVersion": "1"}"#)
                .unwrap()
                .is_hand_written()
        );
    }

    #[test]
    fn a_single_cluster_ip_family_port_or_ingress_is_kept_inline() {
        let one: Service = serde_json::from_str(
            r#"{"spec": {"clusterIPs": ["10.96.0.1"], "ipFamilies": ["IPv4"],
                         "ports": [{"port": 80}]},
                "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}}"#,
        )
        .unwrap();
        assert!(!one.spec.cluster_ips.spilled() && !one.spec.ip_families.spilled());
        assert!(!one.spec.ports.spilled() && !one.status.load_balancer.ingress.spilled());
        assert_eq!(one.ingress_ips().collect::<Vec<_>>(), ["192.0.2.1"]);
        let two: Service =
            serde_json::from_str(r#"{"spec": {"clusterIPs": ["10.96.0.1", "fd00::1"]}}"#).unwrap();
        assert_eq!(two.spec.cluster_ips.as_slice(), ["10.96.0.1", "fd00::1"]);
        let none: Service = serde_json::from_str(r#"{"spec": {"clusterIPs": null}}"#).unwrap();
        assert!(none.spec.cluster_ips.is_empty());
        assert_eq!(
            serde_json::to_string(&two.spec.cluster_ips).unwrap(),
            r#"["10.96.0.1","fd00::1"]"#
        );
    }

    #[test]
    fn labels_round_trip_as_a_mapping() {
        let read = metadata(r#"{"name": "a", "labels": {"tier": "edge", "app": "web"}}"#).unwrap();
        assert_eq!(read.labels.get("app"), Some("web"));
        let written = serde_json::to_string(&read).unwrap();
        assert_eq!(
            written,
            r#"{"name":"a","labels":{"app":"web","tier":"edge"}}"#
        );
    }
}
