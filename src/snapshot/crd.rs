//! What MetalLB's CRDs say of the release installed (metallb-semantics.md Appendix C, "How a
//! client can tell"): which `metallb.io` resources are served, and two schema fingerprints.
//! Live, the API discovery document gives the resources (and, only where it would settle the
//! release, the L2Advertisement CRD its schema); offline, the CustomResourceDefinition
//! manifests give all three. `dump` writes them back as slim CRDs that `-f` reads the same way.
//!
//! A CRD is deep and large (every field of every version, with its documentation): it is read
//! through typed structs that keep the names and the two fingerprints, and skip the rest
//! unread.

use std::collections::BTreeSet;
use std::fmt;

use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::{Metadata, nullable};
use crate::metallb::release::CrdFacts;

/// The API group of MetalLB's resources.
pub const METALLB_GROUP: &str = "metallb.io";
/// The CRD of the pools, whose status carries the counters from v0.15.0.
pub const POOLS: &str = "ipaddresspools";
/// The CRD of the legacy AddressPools (served up to v0.14.2, read up to v0.13.x).
pub const LEGACY_POOLS: &str = "addresspools";
/// The CRD of the L2 advertisements, whose spec carries `serviceSelectors` from v0.16.0.
pub const L2_ADVERTISEMENTS: &str = "l2advertisements";

/// What the `metallb.io` CRDs of the input say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetallbCrds {
    /// Plural resource names (`ipaddresspools`, `configurationstates`…), sorted.
    pub resources: BTreeSet<String>,
    /// The IPAddressPool schema has `status.assignedIPv4`.
    pub pool_status_assigned_ipv4: bool,
    /// The L2Advertisement schema has `spec.serviceSelectors`.
    pub l2_service_selectors: bool,
    /// The IPAddressPool schema was read (a CRD manifest with one): a missing fingerprint
    /// field then says something. API discovery gives names only.
    pub pool_schema_known: bool,
    /// The L2Advertisement schema was read, likewise.
    pub l2_schema_known: bool,
}

impl MetallbCrds {
    /// The facts as release detection reads them.
    pub fn facts(&self) -> CrdFacts<'_> {
        CrdFacts {
            resources: self.resources.iter().map(String::as_str).collect(),
            pool_status_assigned_ipv4: self.pool_status_assigned_ipv4,
            l2_service_selectors: self.l2_service_selectors,
            pool_schema_known: self.pool_schema_known,
            l2_schema_known: self.l2_schema_known,
        }
    }

    /// The resources of a discovery document (`GET /apis/metallb.io/v1beta1`); its
    /// subresources (`ipaddresspools/status`) are not resources.
    pub fn from_discovery(list: &ApiResourceList) -> MetallbCrds {
        MetallbCrds {
            resources: list
                .resources
                .iter()
                .filter(|r| !r.name.is_empty() && !r.name.contains('/'))
                .map(|r| r.name.clone())
                .collect(),
            ..MetallbCrds::default()
        }
    }

    /// Adds what one CRD says; a CRD of another group says nothing. Only served versions
    /// count: a version no longer served is not what the controller reads.
    pub fn add(&mut self, crd: &CustomResourceDefinition) {
        let spec = &crd.spec;
        if spec.group != METALLB_GROUP || spec.names.plural.is_empty() {
            return;
        }
        let served = || spec.versions.iter().filter(|v| v.served);
        match spec.names.plural.as_str() {
            POOLS => {
                self.pool_status_assigned_ipv4 |= served().any(|v| v.has("status", "assignedIPv4"));
                self.pool_schema_known |= served().any(CrdVersion::has_spec);
            }
            L2_ADVERTISEMENTS => {
                self.l2_service_selectors |= served().any(|v| v.has("spec", "serviceSelectors"));
                self.l2_schema_known |= served().any(CrdVersion::has_spec);
            }
            _ => {}
        }
        if served().next().is_some() {
            self.resources.insert(spec.names.plural.clone());
        }
    }
}

/// An `APIResourceList` (API discovery), reduced to the resource names.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ApiResourceList {
    #[serde(default, deserialize_with = "nullable")]
    pub resources: Vec<ApiResource>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ApiResource {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
}

/// An `apiextensions.k8s.io/v1` CustomResourceDefinition, reduced to what release detection
/// reads.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CustomResourceDefinition {
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default, deserialize_with = "nullable")]
    pub spec: CrdSpec,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct CrdSpec {
    #[serde(default, deserialize_with = "nullable")]
    pub group: String,
    #[serde(default, deserialize_with = "nullable")]
    pub names: CrdNames,
    #[serde(default, deserialize_with = "nullable")]
    pub versions: Vec<CrdVersion>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct CrdNames {
    #[serde(default, deserialize_with = "nullable")]
    pub plural: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct CrdVersion {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub served: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub schema: CrdValidation,
}

impl CrdVersion {
    /// Whether the schema describes the spec: every real CRD of MetalLB does; a slim CRD
    /// written by `dump` from API discovery has no schema, and says nothing of its fields.
    fn has_spec(&self) -> bool {
        !self
            .schema
            .open_api_v3_schema
            .properties
            .spec
            .properties
            .0
            .is_empty()
    }

    /// Whether the schema declares `<top>.<field>` (`status.assignedIPv4`).
    fn has(&self, top: &str, field: &str) -> bool {
        let properties = &self.schema.open_api_v3_schema.properties;
        let fields = match top {
            "spec" => &properties.spec,
            "status" => &properties.status,
            _ => return false,
        };
        fields.properties.0.contains(field)
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct CrdValidation {
    #[serde(default, rename = "openAPIV3Schema", deserialize_with = "nullable")]
    pub open_api_v3_schema: RootSchema,
}

/// The object's schema: only `spec` and `status` are looked into.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct RootSchema {
    #[serde(default, deserialize_with = "nullable")]
    pub properties: RootProperties,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct RootProperties {
    #[serde(default, deserialize_with = "nullable")]
    pub spec: FieldSchema,
    #[serde(default, deserialize_with = "nullable")]
    pub status: FieldSchema,
}

/// `spec` or `status`: the names of its fields, their schemas skipped.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct FieldSchema {
    #[serde(default, deserialize_with = "nullable")]
    pub properties: FieldNames,
}

/// The keys of a `properties` mapping; the schemas under them are skipped unread.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldNames(pub BTreeSet<String>);

impl<'de> Deserialize<'de> for FieldNames {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<FieldNames, D::Error> {
        struct Names;

        impl<'de> Visitor<'de> for Names {
            type Value = FieldNames;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of field schemas")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<FieldNames, A::Error> {
                let mut names = BTreeSet::new();
                while let Some(key) = access.next_key::<String>()? {
                    access.next_value::<IgnoredAny>()?;
                    names.insert(key);
                }
                Ok(FieldNames(names))
            }
        }

        deserializer.deserialize_map(Names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd(json: &str) -> CustomResourceDefinition {
        serde_json::from_str(json).unwrap()
    }

    const POOL_CRD: &str = r#"{
        "metadata": {"name": "ipaddresspools.metallb.io"},
        "spec": {"group": "metallb.io", "names": {"plural": "ipaddresspools", "kind": "IPAddressPool"},
          "scope": "Namespaced",
          "versions": [{"name": "v1beta1", "served": true, "storage": true,
            "schema": {"openAPIV3Schema": {"description": "long text", "type": "object",
              "properties": {
                "spec": {"type": "object", "properties": {"addresses": {"type": "array", "items": {"type": "string"}}}},
                "status": {"type": "object", "properties": {"assignedIPv4": {"type": "integer", "format": "int64"},
                                                             "availableIPv4": {"type": "integer"}}}}}}}]}
    }"#;

    #[test]
    fn a_pool_crd_gives_its_resource_and_the_status_fingerprint() {
        let mut crds = MetallbCrds::default();
        crds.add(&crd(POOL_CRD));
        assert_eq!(
            crds.resources.iter().collect::<Vec<_>>(),
            ["ipaddresspools"]
        );
        assert!(crds.pool_status_assigned_ipv4);
        assert!(!crds.l2_service_selectors);
        // The same field in another CRD is no fingerprint.
        let mut other = MetallbCrds::default();
        other.add(&crd(&POOL_CRD.replace(
            r#""plural": "ipaddresspools""#,
            r#""plural": "bgppeers""#,
        )));
        assert!(!other.pool_status_assigned_ipv4);
        assert_eq!(other.resources.iter().collect::<Vec<_>>(), ["bgppeers"]);
    }

    #[test]
    fn an_l2_crd_with_service_selectors_is_the_0_16_fingerprint() {
        let mut crds = MetallbCrds::default();
        crds.add(&crd(r#"{"spec": {"group": "metallb.io", "names": {"plural": "l2advertisements"},
            "versions": [{"name": "v1beta1", "served": true, "schema": {"openAPIV3Schema": {
              "properties": {"spec": {"properties": {"ipAddressPools": {}, "serviceSelectors": {"type": "array"}}}}}}}]}}"#));
        assert!(crds.l2_service_selectors);
        let mut old = MetallbCrds::default();
        old.add(&crd(
            r#"{"spec": {"group": "metallb.io", "names": {"plural": "l2advertisements"},
            "versions": [{"name": "v1beta1", "served": true, "schema": {"openAPIV3Schema": {
              "properties": {"spec": {"properties": {"ipAddressPools": {}}}}}}}]}}"#,
        ));
        assert!(!old.l2_service_selectors);
        assert!(old.resources.contains(L2_ADVERTISEMENTS));
    }

    #[test]
    fn other_groups_and_unserved_versions_say_nothing() {
        let mut crds = MetallbCrds::default();
        crds.add(&crd(&POOL_CRD.replace(
            r#""group": "metallb.io""#,
            r#""group": "example.com""#,
        )));
        assert_eq!(crds, MetallbCrds::default());
        crds.add(&crd(
            &POOL_CRD.replace(r#""served": true"#, r#""served": false"#)
        ));
        assert_eq!(crds, MetallbCrds::default());
    }

    #[test]
    fn discovery_gives_resources_not_subresources() {
        let list: ApiResourceList = serde_json::from_str(
            r#"{"kind": "APIResourceList", "groupVersion": "metallb.io/v1beta1", "resources": [
                {"name": "ipaddresspools", "namespaced": true, "kind": "IPAddressPool"},
                {"name": "ipaddresspools/status", "kind": "IPAddressPool"},
                {"name": "servicel2statuses", "kind": "ServiceL2Status"}]}"#,
        )
        .unwrap();
        let crds = MetallbCrds::from_discovery(&list);
        assert_eq!(
            crds.resources.iter().collect::<Vec<_>>(),
            ["ipaddresspools", "servicel2statuses"]
        );
        assert_eq!(
            crds.facts().resources,
            ["ipaddresspools", "servicel2statuses"]
        );
    }

    #[test]
    fn a_schema_that_is_not_a_mapping_is_an_error_not_a_guess() {
        assert!(
            serde_json::from_str::<CustomResourceDefinition>(
                r#"{"spec": {"versions": [{"schema": {"openAPIV3Schema": {"properties": {"status": {"properties": [1]}}}}}]}}"#
            )
            .is_err()
        );
    }
}
