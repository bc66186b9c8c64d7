//! A `kind` or `apiVersion` that looks like a misspelling of one the plugin reads: `kubectl
//! apply` would refuse the object, and the plugin would otherwise pass it over in silence
//! (a pool misspelt `IPAdressPool` simply missing from every answer).

use super::Kind;
use crate::suggest::closest;

/// The kinds the plugin reads, as written in manifests.
const READ: [&str; 10] = [
    "IPAddressPool",
    "AddressPool",
    "L2Advertisement",
    "BGPAdvertisement",
    "Service",
    "Namespace",
    "Event",
    "Deployment",
    "ConfigurationState",
    "CustomResourceDefinition",
];

/// Kinds that are real and not read: near one the plugin reads (`Secret` and `Service`),
/// they are no misspelling of it.
const OTHERS: [&str; 48] = [
    "APIService",
    "BFDProfile",
    "BGPPeer",
    "ClusterRole",
    "ClusterRoleBinding",
    "Community",
    "ConfigMap",
    "CronJob",
    "DaemonSet",
    "Endpoints",
    "EndpointSlice",
    "FRRConfiguration",
    "Gateway",
    "GatewayClass",
    "HorizontalPodAutoscaler",
    "HTTPRoute",
    "Ingress",
    "IngressClass",
    "Job",
    "Lease",
    "LimitRange",
    "MutatingWebhookConfiguration",
    "NetworkPolicy",
    "Node",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Pod",
    "PodDisruptionBudget",
    "PodMonitor",
    "PriorityClass",
    "ReplicaSet",
    "ResourceQuota",
    "Role",
    "RoleBinding",
    "Secret",
    "ServiceAccount",
    "ServiceBGPStatus",
    "ServiceL2Status",
    "ServiceMonitor",
    "StatefulSet",
    "StorageClass",
    "ValidatingAdmissionPolicy",
    "ValidatingWebhookConfiguration",
    "VolumeAttachment",
    "CSIDriver",
    "CSINode",
    "RuntimeClass",
    "PrometheusRule",
];

impl Kind {
    /// The `apiVersion`s this kind is served at.
    fn api_versions(self) -> &'static [&'static str] {
        match self {
            Kind::Pool | Kind::LegacyPool | Kind::L2 | Kind::Bgp | Kind::ConfigurationState => {
                &["metallb.io/v1beta1"]
            }
            Kind::Service | Kind::Namespace | Kind::Event => &["v1"],
            Kind::Deployment => &["apps/v1"],
            Kind::Crd => &["apiextensions.k8s.io/v1", "apiextensions.k8s.io/v1beta1"],
        }
    }
}

/// What a note says of an object's `kind` and `apiVersion`, when they look misspelt:
/// `kind` near one the plugin reads, or an `apiVersion` the kind is not served at.
pub(super) fn misspelling(kind: &str, api_version: &str) -> Option<String> {
    if let Some(read) = Kind::of(kind, api_version) {
        let versions = read.api_versions();
        if versions.contains(&api_version) {
            return None;
        }
        let wanted = closest(api_version, versions.iter().copied()).unwrap_or(versions[0]);
        return Some(format!(
            "apiVersion {api_version} does not serve {kind} (kubectl apply would refuse it): did you mean {wanted}? It was read as {wanted}"
        ));
    }
    if kind.is_empty() || kind.ends_with("List") || OTHERS.contains(&kind) {
        return None;
    }
    if let Some(read) = READ.iter().position(|k| *k == kind) {
        // A kind the plugin reads, in a group near its own (`metalb.io`).
        let versions = kind_named(READ[read])?.api_versions();
        let group = |v: &str| v.split_once('/').map_or("", |(g, _)| g).to_string();
        let wanted = group(versions[0]);
        if wanted.is_empty() || closest(&group(api_version), [wanted.as_str()]).is_none() {
            return None;
        }
        return Some(format!(
            "apiVersion {api_version} does not serve {kind}: did you mean {}? It was not read",
            versions[0]
        ));
    }
    let wanted = closest(kind, READ)?;
    Some(format!(
        "kind {kind} is not a kind Kubernetes or MetalLB serves: did you mean {wanted}? It was not read"
    ))
}

fn kind_named(name: &str) -> Option<Kind> {
    [
        Kind::Pool,
        Kind::LegacyPool,
        Kind::L2,
        Kind::Bgp,
        Kind::Service,
        Kind::Namespace,
        Kind::Event,
        Kind::Deployment,
        Kind::ConfigurationState,
        Kind::Crd,
    ]
    .into_iter()
    .find(|k| k.name() == name)
}

#[cfg(test)]
mod tests {
    use super::misspelling;

    #[test]
    fn a_misspelt_kind_is_told_what_it_may_mean() {
        let note = misspelling("IPAdressPool", "metallb.io/v1beta1").unwrap();
        assert!(note.contains("did you mean IPAddressPool?"), "{note}");
        assert!(note.ends_with("It was not read"), "{note}");
        let note = misspelling("Servce", "v1").unwrap();
        assert!(note.contains("did you mean Service?"), "{note}");
        let note = misspelling("L2Advertisment", "metallb.io/v1beta1").unwrap();
        assert!(note.contains("did you mean L2Advertisement?"), "{note}");
    }

    #[test]
    fn a_misspelt_api_version_is_told_what_it_may_mean() {
        let note = misspelling("IPAddressPool", "metallb.io/v1beta3").unwrap();
        assert!(note.contains("did you mean metallb.io/v1beta1?"), "{note}");
        assert!(
            note.ends_with("It was read as metallb.io/v1beta1"),
            "{note}"
        );
        let note = misspelling("IPAddressPool", "metalb.io/v1beta1").unwrap();
        assert!(note.contains("did you mean metallb.io/v1beta1?"), "{note}");
        assert!(note.ends_with("It was not read"), "{note}");
    }

    #[test]
    fn real_kinds_and_right_versions_are_not_misspellings() {
        for (kind, api_version) in [
            ("IPAddressPool", "metallb.io/v1beta1"),
            ("Service", "v1"),
            ("Deployment", "apps/v1"),
            ("CustomResourceDefinition", "apiextensions.k8s.io/v1"),
            // Near a read kind, and real.
            ("Secret", "v1"),
            ("BGPPeer", "metallb.io/v1beta2"),
            ("ConfigMap", "v1"),
            // A read kind's name in another project's group.
            ("Service", "serving.knative.dev/v1"),
            ("Certificate", "cert-manager.io/v1"),
            ("List", "v1"),
            ("", ""),
        ] {
            assert_eq!(misspelling(kind, api_version), None, "{kind} {api_version}");
        }
    }
}
