//! Reason codes: the stable vocabulary of `why` and of warnings (cli-contract.md).

use std::fmt;

use serde::Serialize;

/// A stable reason code. The serialized names are part of the command-line contract:
/// codes may be added, never renamed or dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    // Service level.
    NotLoadBalancer,
    OtherLoadBalancerClass,
    NoClusterIp,
    DualStackClusterIpsMissing,
    NoPools,
    ConfigInvalid,
    PoolNotFound,
    ConflictingIpRequests,
    InvalidRequestedIp,
    RequestedIpFamilyMismatch,
    RequestedIpNotInAnyPool,
    RequestedIpPoolMismatch,
    RequestedIpsSpanPools,
    NoPoolFits,
    // Pool level.
    AutoAssignDisabled,
    NotRequested,
    NamespaceNotAllowed,
    ServiceSelectorMismatch,
    PoolExhausted,
    IpFamilyUnavailable,
    IpInUse,
    SharingKeyMismatch,
    SharingBackendMismatch,
    PortConflict,
    // Warnings.
    NotAdvertised,
    PoolOutsideMetallbNamespace,
    AdvertisementOutsideMetallbNamespace,
    /// Offline: the service has no cluster IP, its family was inferred.
    IpFamilyInferred,
    /// A CIDR written with host bits set; MetalLB masks them off.
    HostBitsMasked,
    /// A range whose ends are of different families: zero addresses.
    MixedFamilyRange,
    /// `namespaceSelectors` that match no Namespace (§2.5 pitfall).
    SelectorMatchesNothing,
    /// Namespace selectors cannot be evaluated: the input has no Namespace objects.
    NamespacesUnknown,
    /// A negative `priority`: MetalLB's order is undefined.
    NegativePriority,
    /// Several pinned pools tie at the winning priority: MetalLB's pick is arbitrary.
    PriorityTie,
    /// PreferDualStack with one cluster IP in a dual-family pool (§4.10).
    PreferDualStackSingleClusterIp,
    /// A service holds an address MetalLB will take away on its next reconcile (§6.1).
    AllocationNotValid,
    /// Live: MetalLB's controller Deployment was not found; the default namespace is assumed.
    MetallbNotDetected,
    /// Live: a cluster-wide list was forbidden; only the MetalLB namespace was read.
    ClusterScopeForbidden,
    /// Live: the service's events could not be read.
    EventsUnavailable,
    /// MetalLB's own `IPAddressPool.status` differs from the exact counts.
    StatusDisagrees,
}

impl Code {
    /// The code as written in JSON and tables.
    pub fn as_str(self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(s)) => s,
            _ => format!("{self:?}"),
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

/// A code with a human explanation of this particular case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reason {
    pub code: Code,
    pub message: String,
    /// The pool a warning is about, when it is about one: `usage POOL…` shows only the
    /// warnings of the pools it shows (and those about no pool in particular).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
}

impl Reason {
    pub fn new(code: Code, message: impl Into<String>) -> Reason {
        Reason {
            code,
            message: message.into(),
            pool: None,
        }
    }

    /// The same reason, about `pool`.
    pub fn about_pool(self, pool: &str) -> Reason {
        Reason {
            pool: Some(pool.to_string()),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_codes_keep_their_names() {
        let expected = [
            (Code::NotLoadBalancer, "not-load-balancer"),
            (Code::OtherLoadBalancerClass, "other-load-balancer-class"),
            (Code::NoClusterIp, "no-cluster-ip"),
            (
                Code::DualStackClusterIpsMissing,
                "dual-stack-cluster-ips-missing",
            ),
            (Code::NoPools, "no-pools"),
            (Code::ConfigInvalid, "config-invalid"),
            (Code::PoolNotFound, "pool-not-found"),
            (Code::ConflictingIpRequests, "conflicting-ip-requests"),
            (Code::InvalidRequestedIp, "invalid-requested-ip"),
            (
                Code::RequestedIpFamilyMismatch,
                "requested-ip-family-mismatch",
            ),
            (
                Code::RequestedIpNotInAnyPool,
                "requested-ip-not-in-any-pool",
            ),
            (Code::RequestedIpPoolMismatch, "requested-ip-pool-mismatch"),
            (Code::RequestedIpsSpanPools, "requested-ips-span-pools"),
            (Code::NoPoolFits, "no-pool-fits"),
            (Code::AutoAssignDisabled, "auto-assign-disabled"),
            (Code::NotRequested, "not-requested"),
            (Code::NamespaceNotAllowed, "namespace-not-allowed"),
            (Code::ServiceSelectorMismatch, "service-selector-mismatch"),
            (Code::PoolExhausted, "pool-exhausted"),
            (Code::IpFamilyUnavailable, "ip-family-unavailable"),
            (Code::IpInUse, "ip-in-use"),
            (Code::SharingKeyMismatch, "sharing-key-mismatch"),
            (Code::SharingBackendMismatch, "sharing-backend-mismatch"),
            (Code::PortConflict, "port-conflict"),
            (Code::NotAdvertised, "not-advertised"),
            (
                Code::PoolOutsideMetallbNamespace,
                "pool-outside-metallb-namespace",
            ),
            (
                Code::AdvertisementOutsideMetallbNamespace,
                "advertisement-outside-metallb-namespace",
            ),
        ];
        for (code, name) in expected {
            assert_eq!(code.as_str(), name);
        }
    }
}
