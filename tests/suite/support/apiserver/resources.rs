//! The resource types the loopback server knows, and the discovery documents
//! built from them.

use serde_json::{Value, json};

use super::table::{Printer, PrinterColumn};

/// Verbs of an ordinary namespaced or cluster-scoped collection.
const STANDARD_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
/// Namespaces cannot be deleted as a collection.
const NAMESPACE_VERBS: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];
/// Verbs of the `status` and `scale` subresources.
const SUBRESOURCE_VERBS: &[&str] = &["get", "patch", "update"];

/// Version reported by `GET /version`. The `kubectl` found on this machine is
/// a dispatcher that runs the client matching the server's minor version, so
/// this also decides which real kubectl binary the tests exercise.
pub(crate) const SERVER_MAJOR: &str = "1";
pub(crate) const SERVER_MINOR: &str = "32";
pub(crate) const SERVER_GIT_VERSION: &str = "v1.32.4";

/// One served resource type, as discovery describes it.
#[derive(Debug)]
pub(crate) struct ResourceType {
    /// API group; empty for the core (legacy) group.
    pub group: &'static str,
    pub version: &'static str,
    /// Plural, lower-case resource name used in URLs and RBAC rules.
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub verbs: &'static [&'static str],
    pub subresources: &'static [&'static str],
    /// Field selector labels other than `metadata.name` / `metadata.namespace`,
    /// each mapped to the dotted JSON path of the value it selects on.
    pub field_labels: &'static [(&'static str, &'static str)],
    /// Built-in types leave `kind`/`apiVersion` off list items; custom
    /// resources (served as unstructured objects) keep them.
    pub builtin: bool,
    /// The columns of its server-side Table.
    pub printer: Printer,
}

impl ResourceType {
    /// `v1` or `group/version`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The group-qualified resource as Kubernetes prints it in messages:
    /// `services`, `deployments.apps`, `ipaddresspools.metallb.io`.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_owned()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// Whether this type is served by a MetalLB CRD rather than built in.
    pub fn is_metallb(&self) -> bool {
        self.group == METALLB_GROUP
    }

    /// The path to the JSON value a field selector label selects on, or
    /// `None` when the server does not support that label for this type.
    pub fn field_path(&self, label: &str) -> Option<&'static str> {
        match label {
            "metadata.name" => Some("metadata.name"),
            "metadata.namespace" if self.namespaced => Some("metadata.namespace"),
            _ => self
                .field_labels
                .iter()
                .find(|(name, _)| *name == label)
                .map(|(_, path)| *path),
        }
    }

    fn discovery_entries(&self) -> Vec<Value> {
        let mut main = json!({
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": self.verbs,
        });
        if !self.short_names.is_empty() {
            main["shortNames"] = json!(self.short_names);
        }
        if !self.categories.is_empty() {
            main["categories"] = json!(self.categories);
        }
        let mut entries = vec![main];
        for sub in self.subresources {
            let kind = if *sub == "scale" { "Scale" } else { self.kind };
            let mut entry = json!({
                "name": format!("{}/{sub}", self.plural),
                "singularName": "",
                "namespaced": self.namespaced,
                "kind": kind,
                "verbs": SUBRESOURCE_VERBS,
            });
            if *sub == "scale" {
                entry["group"] = json!("autoscaling");
                entry["version"] = json!("v1");
            }
            entries.push(entry);
        }
        entries
    }
}

pub(crate) const METALLB_GROUP: &str = "metallb.io";

const fn core(
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
) -> ResourceType {
    ResourceType {
        group: "",
        version: "v1",
        plural,
        singular,
        kind,
        namespaced,
        short_names: &[],
        categories: &[],
        verbs: STANDARD_VERBS,
        subresources: &[],
        field_labels: &[],
        builtin: true,
        printer: Printer::Default,
    }
}

/// A MetalLB custom resource of `metallb.io/v1beta1` with these printer
/// columns, as its CRD declares them.
const fn metallb(
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    columns: &'static [PrinterColumn],
) -> ResourceType {
    ResourceType {
        group: METALLB_GROUP,
        version: "v1beta1",
        plural,
        singular,
        kind,
        namespaced: true,
        short_names: &[],
        categories: &[],
        verbs: STANDARD_VERBS,
        subresources: &[],
        field_labels: &[],
        builtin: false,
        printer: Printer::Custom(columns),
    }
}

const fn printer_column(
    name: &'static str,
    path: &'static str,
    kind: &'static str,
    priority: u32,
) -> PrinterColumn {
    PrinterColumn {
        name,
        path,
        kind,
        priority,
    }
}

const IPADDRESSPOOL_COLUMNS: &[PrinterColumn] = &[
    printer_column("Auto Assign", "spec.autoAssign", "boolean", 0),
    printer_column("Avoid Buggy IPs", "spec.avoidBuggyIPs", "boolean", 0),
    printer_column("Addresses", "spec.addresses", "string", 0),
];
const L2ADVERTISEMENT_COLUMNS: &[PrinterColumn] = &[
    printer_column("IPAddressPools", "spec.ipAddressPools", "string", 0),
    printer_column(
        "IPAddressPool Selectors",
        "spec.ipAddressPoolSelectors",
        "string",
        0,
    ),
    printer_column("Interfaces", "spec.interfaces", "string", 0),
    printer_column("Node Selectors", "spec.nodeSelectors", "string", 10),
];
const BGPADVERTISEMENT_COLUMNS: &[PrinterColumn] = &[
    printer_column("IPAddressPools", "spec.ipAddressPools", "string", 0),
    printer_column(
        "IPAddressPool Selectors",
        "spec.ipAddressPoolSelectors",
        "string",
        0,
    ),
    printer_column("Peers", "spec.peers", "string", 0),
    printer_column("Node Selectors", "spec.nodeSelectors", "string", 10),
];
const BGPPEER_COLUMNS: &[PrinterColumn] = &[
    printer_column("Address", "spec.peerAddress", "string", 0),
    printer_column("ASN", "spec.peerASN", "string", 0),
    printer_column("BFD Profile", "spec.bfdProfile", "string", 0),
    printer_column("Multi Hops", "spec.ebgpMultiHop", "string", 0),
];
const BFDPROFILE_COLUMNS: &[PrinterColumn] = &[
    printer_column("Passive Mode", "spec.passiveMode", "boolean", 0),
    printer_column("Transmit Interval", "spec.transmitInterval", "integer", 0),
    printer_column("Receive Interval", "spec.receiveInterval", "integer", 0),
    printer_column("Multiplier", "spec.detectMultiplier", "integer", 0),
];
const CONFIGURATIONSTATE_COLUMNS: &[PrinterColumn] = &[
    printer_column("Result", "status.result", "string", 0),
    printer_column("ErrorSummary", "status.errorSummary", "string", 0),
    printer_column("Age", "metadata.creationTimestamp", "date", 0),
];
const SERVICE_STATUS_COLUMNS: &[PrinterColumn] = &[
    printer_column("Node", "status.node", "string", 0),
    printer_column("Service Name", "status.serviceName", "string", 0),
    printer_column("Service Namespace", "status.serviceNamespace", "string", 0),
];
const SERVICE_L2_STATUS_COLUMNS: &[PrinterColumn] = &[
    printer_column("Allocated Node", "status.node", "string", 0),
    printer_column("Service Name", "status.serviceName", "string", 0),
    printer_column("Service Namespace", "status.serviceNamespace", "string", 0),
];

/// Every type the server knows, in discovery order.
pub(crate) static RESOURCES: &[ResourceType] = &[
    ResourceType {
        short_names: &["cm"],
        ..core("configmaps", "configmap", "ConfigMap", true)
    },
    ResourceType {
        short_names: &["ep"],
        ..core("endpoints", "endpoints", "Endpoints", true)
    },
    ResourceType {
        short_names: &["ev"],
        field_labels: &[
            ("involvedObject.kind", "involvedObject.kind"),
            ("involvedObject.namespace", "involvedObject.namespace"),
            ("involvedObject.name", "involvedObject.name"),
            ("involvedObject.uid", "involvedObject.uid"),
            ("involvedObject.apiVersion", "involvedObject.apiVersion"),
            (
                "involvedObject.resourceVersion",
                "involvedObject.resourceVersion",
            ),
            ("involvedObject.fieldPath", "involvedObject.fieldPath"),
            ("reason", "reason"),
            ("reportingComponent", "reportingComponent"),
            ("source", "source.component"),
            ("type", "type"),
        ],
        printer: Printer::Event,
        ..core("events", "event", "Event", true)
    },
    ResourceType {
        short_names: &["ns"],
        verbs: NAMESPACE_VERBS,
        subresources: &["finalize", "status"],
        field_labels: &[("status.phase", "status.phase")],
        printer: Printer::Namespace,
        ..core("namespaces", "namespace", "Namespace", false)
    },
    ResourceType {
        short_names: &["no"],
        subresources: &["status"],
        field_labels: &[("spec.unschedulable", "spec.unschedulable")],
        ..core("nodes", "node", "Node", false)
    },
    ResourceType {
        short_names: &["po"],
        categories: &["all"],
        subresources: &["status"],
        field_labels: &[
            ("spec.nodeName", "spec.nodeName"),
            ("spec.restartPolicy", "spec.restartPolicy"),
            ("spec.schedulerName", "spec.schedulerName"),
            ("spec.serviceAccountName", "spec.serviceAccountName"),
            ("spec.hostNetwork", "spec.hostNetwork"),
            ("status.phase", "status.phase"),
            ("status.podIP", "status.podIP"),
            ("status.nominatedNodeName", "status.nominatedNodeName"),
        ],
        ..core("pods", "pod", "Pod", true)
    },
    ResourceType {
        short_names: &["svc"],
        categories: &["all"],
        subresources: &["status"],
        field_labels: &[
            ("spec.clusterIP", "spec.clusterIP"),
            ("spec.type", "spec.type"),
        ],
        printer: Printer::Service,
        ..core("services", "service", "Service", true)
    },
    ResourceType {
        group: "apps",
        short_names: &["deploy"],
        categories: &["all"],
        subresources: &["scale", "status"],
        printer: Printer::Deployment,
        ..core("deployments", "deployment", "Deployment", true)
    },
    // Served whatever MetalLB installs; a CRD is found only when the fixtures hold it.
    ResourceType {
        group: "apiextensions.k8s.io",
        short_names: &["crd", "crds"],
        subresources: &["status"],
        ..core(
            "customresourcedefinitions",
            "customresourcedefinition",
            "CustomResourceDefinition",
            false,
        )
    },
    metallb(
        "bfdprofiles",
        "bfdprofile",
        "BFDProfile",
        BFDPROFILE_COLUMNS,
    ),
    metallb(
        "bgpadvertisements",
        "bgpadvertisement",
        "BGPAdvertisement",
        BGPADVERTISEMENT_COLUMNS,
    ),
    metallb("bgppeers", "bgppeer", "BGPPeer", BGPPEER_COLUMNS),
    ResourceType {
        version: "v1beta2",
        ..metallb("bgppeers", "bgppeer", "BGPPeer", BGPPEER_COLUMNS)
    },
    metallb("communities", "community", "Community", &[]),
    metallb(
        "configurationstates",
        "configurationstate",
        "ConfigurationState",
        CONFIGURATIONSTATE_COLUMNS,
    ),
    metallb(
        "ipaddresspools",
        "ipaddresspool",
        "IPAddressPool",
        IPADDRESSPOOL_COLUMNS,
    ),
    metallb(
        "l2advertisements",
        "l2advertisement",
        "L2Advertisement",
        L2ADVERTISEMENT_COLUMNS,
    ),
    metallb(
        "servicebgpstatuses",
        "servicebgpstatus",
        "ServiceBGPStatus",
        SERVICE_STATUS_COLUMNS,
    ),
    metallb(
        "servicel2statuses",
        "servicel2status",
        "ServiceL2Status",
        SERVICE_L2_STATUS_COLUMNS,
    ),
];

/// Service field labels that only newer servers support.
pub(crate) const NEWER_SERVICE_FIELD_LABELS: &[&str] = &["spec.type", "spec.clusterIP"];

/// Which of MetalLB's types are served: none, all, or those of an older release.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Installed {
    pub crds: bool,
    /// The plural names served, when not all of them.
    pub only: Option<&'static [&'static str]>,
    /// The versions served, when not all of them.
    pub versions: Option<&'static [&'static str]>,
}

impl Installed {
    fn serves(self, rt: &ResourceType) -> bool {
        !rt.is_metallb()
            || (self.crds
                && self.only.is_none_or(|only| only.contains(&rt.plural))
                && self
                    .versions
                    .is_none_or(|versions| versions.contains(&rt.version)))
    }
}

/// The served types, minus MetalLB's when its CRDs are not installed.
pub(crate) fn served(metallb_installed: Installed) -> impl Iterator<Item = &'static ResourceType> {
    RESOURCES
        .iter()
        .filter(move |rt| metallb_installed.serves(rt))
}

/// Looks up a served type by URL group, version and plural name.
pub(crate) fn lookup(
    metallb_installed: Installed,
    group: &str,
    version: &str,
    plural: &str,
) -> Option<&'static ResourceType> {
    served(metallb_installed)
        .find(|rt| rt.group == group && rt.version == version && rt.plural == plural)
}

/// Looks up the type of a fixture object by its `apiVersion` and `kind`.
pub(crate) fn by_kind(api_version: &str, kind: &str) -> Option<&'static ResourceType> {
    RESOURCES
        .iter()
        .find(|rt| rt.api_version() == api_version && rt.kind == kind)
}

/// `GET /version`.
pub(crate) fn version() -> Value {
    json!({
        "major": SERVER_MAJOR,
        "minor": SERVER_MINOR,
        "emulationMajor": SERVER_MAJOR,
        "emulationMinor": SERVER_MINOR,
        "minCompatibilityMajor": SERVER_MAJOR,
        "minCompatibilityMinor": "31",
        "gitVersion": SERVER_GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-04-22T16:00:00Z",
        "goVersion": "go1.23.8",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// `GET /api`.
pub(crate) fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    })
}

/// Orders versions as Kubernetes prefers them: GA before beta before
/// alpha, higher numbers first (`v2`, `v1`, `v1beta2`, `v1beta1`, `v1alpha1`).
fn version_priority(version: &str) -> (u8, u32, u32) {
    let rest = version.strip_prefix('v').unwrap_or(version);
    let digits = rest
        .find(|ch: char| !ch.is_ascii_digit())
        .unwrap_or(rest.len());
    let major = rest[..digits].parse().unwrap_or(0);
    let (stability, minor) = match &rest[digits..] {
        "" => (2, 0),
        tail => match (tail.strip_prefix("beta"), tail.strip_prefix("alpha")) {
            (Some(n), _) => (1, n.parse().unwrap_or(0)),
            (_, Some(n)) => (0, n.parse().unwrap_or(0)),
            _ => (0, 0),
        },
    };
    (stability, major, minor)
}

/// The non-core groups being served, in discovery order, each with its
/// versions, preferred first.
fn groups(metallb_installed: Installed) -> Vec<(&'static str, Vec<&'static str>)> {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for rt in served(metallb_installed).filter(|rt| !rt.group.is_empty()) {
        match groups.iter_mut().find(|(name, _)| *name == rt.group) {
            Some((_, versions)) if versions.contains(&rt.version) => {}
            Some((_, versions)) => versions.push(rt.version),
            None => groups.push((rt.group, vec![rt.version])),
        }
    }
    for (_, versions) in &mut groups {
        versions.sort_by_key(|version| std::cmp::Reverse(version_priority(version)));
    }
    groups
}

fn group_document(name: &str, versions: &[&str]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|version| json!({"groupVersion": format!("{name}/{version}"), "version": version}))
        .collect();
    let preferred = versions[0].clone();
    json!({
        "name": name,
        "versions": versions,
        "preferredVersion": preferred,
    })
}

/// `GET /apis`.
pub(crate) fn group_list(metallb_installed: Installed) -> Value {
    let groups: Vec<Value> = groups(metallb_installed)
        .iter()
        .map(|(name, versions)| group_document(name, versions))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /apis/{group}`, or `None` when the group is not served.
pub(crate) fn group(metallb_installed: Installed, name: &str) -> Option<Value> {
    let (name, versions) = groups(metallb_installed)
        .into_iter()
        .find(|(group, _)| *group == name)?;
    let mut document = group_document(name, &versions);
    document["kind"] = json!("APIGroup");
    document["apiVersion"] = json!("v1");
    Some(document)
}

/// One resource of an aggregated discovery document (`apidiscovery.k8s.io`).
fn aggregated_resource(rt: &ResourceType) -> Value {
    let response_kind =
        |kind: &str| json!({"group": rt.group, "version": rt.version, "kind": kind});
    let subresources: Vec<Value> = rt
        .subresources
        .iter()
        .map(|sub| {
            let kind = if *sub == "scale" {
                json!({"group": "autoscaling", "version": "v1", "kind": "Scale"})
            } else {
                response_kind(rt.kind)
            };
            json!({"subresource": sub, "responseKind": kind, "verbs": SUBRESOURCE_VERBS})
        })
        .collect();
    let mut resource = json!({
        "resource": rt.plural,
        "responseKind": response_kind(rt.kind),
        "scope": if rt.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": rt.singular,
        "verbs": rt.verbs,
    });
    if !rt.short_names.is_empty() {
        resource["shortNames"] = json!(rt.short_names);
    }
    if !rt.categories.is_empty() {
        resource["categories"] = json!(rt.categories);
    }
    if !subresources.is_empty() {
        resource["subresources"] = json!(subresources);
    }
    resource
}

fn aggregated_group(metallb_installed: Installed, name: &str, versions: &[&str]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|version| {
            let resources: Vec<Value> = served(metallb_installed)
                .filter(|rt| rt.group == name && rt.version == *version)
                .map(aggregated_resource)
                .collect();
            json!({"version": version, "resources": resources, "freshness": "Current"})
        })
        .collect();
    let mut metadata = json!({"creationTimestamp": null});
    if !name.is_empty() {
        metadata["name"] = json!(name);
    }
    json!({"metadata": metadata, "versions": versions})
}

/// Aggregated discovery (`APIGroupDiscoveryList` of `apidiscovery.k8s.io`
/// `version`): of the core group for `GET /api`, of all other groups for
/// `GET /apis`.
pub(crate) fn aggregated_discovery(
    metallb_installed: Installed,
    core: bool,
    version: &str,
) -> Value {
    let items: Vec<Value> = if core {
        vec![aggregated_group(metallb_installed, "", &["v1"])]
    } else {
        groups(metallb_installed)
            .iter()
            .map(|(name, versions)| aggregated_group(metallb_installed, name, versions))
            .collect()
    };
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {},
        "items": items,
    })
}

/// `GET /api/v1` or `GET /apis/{group}/{version}`, or `None` when that
/// group version is not served.
pub(crate) fn resource_list(
    metallb_installed: Installed,
    group: &str,
    version: &str,
) -> Option<Value> {
    let resources: Vec<Value> = served(metallb_installed)
        .filter(|rt| rt.group == group && rt.version == version)
        .flat_map(ResourceType::discovery_entries)
        .collect();
    if resources.is_empty() {
        return None;
    }
    let mut document = json!({"kind": "APIResourceList", "resources": resources});
    if group.is_empty() {
        document["groupVersion"] = json!(version);
    } else {
        document["apiVersion"] = json!("v1");
        document["groupVersion"] = json!(format!("{group}/{version}"));
    }
    Some(document)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_like_kubernetes() {
        let mut versions = vec!["v1alpha1", "v1beta1", "v1", "v1beta2", "v2"];
        versions.sort_by_key(|version| std::cmp::Reverse(version_priority(version)));
        assert_eq!(versions, ["v2", "v1", "v1beta2", "v1beta1", "v1alpha1"]);
    }

    #[test]
    fn metallb_group_prefers_v1beta2() {
        let all = Installed {
            crds: true,
            only: None,
            versions: None,
        };
        let document = group(all, METALLB_GROUP).unwrap();
        assert_eq!(document["preferredVersion"]["version"], "v1beta2");
        assert_eq!(document["versions"][1]["version"], "v1beta1");
        let none = Installed {
            crds: false,
            only: None,
            versions: None,
        };
        assert!(group(none, METALLB_GROUP).is_none());
    }

    #[test]
    fn an_older_release_serves_only_its_metallb_resources() {
        let older = Installed {
            crds: true,
            only: Some(&["ipaddresspools", "l2advertisements"]),
            versions: None,
        };
        let list = resource_list(older, METALLB_GROUP, "v1beta1").unwrap();
        let names: Vec<&str> = list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["name"].as_str())
            .collect();
        assert_eq!(names, ["ipaddresspools", "l2advertisements"]);
        assert!(lookup(older, METALLB_GROUP, "v1beta1", "configurationstates").is_none());
        assert!(lookup(older, "", "v1", "services").is_some());
    }
}
