//! Reason codes: the stable vocabulary of `why` and of warnings (cli-contract.md).

use std::fmt;

use serde::Serialize;

/// Declares [`Code`] with its contract name, once: the variant, its text, and [`Code::ALL`].
macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// A stable reason code. The names are part of the command-line contract: codes may
        /// be added, never renamed or dropped.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $($(#[$doc])* $variant,)*
        }

        impl Code {
            /// Every code, in declaration order.
            pub const ALL: &[Code] = &[$(Code::$variant,)*];

            /// The code as written in JSON and tables.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)*
                }
            }
        }
    };
}

codes! {
    // Service level.
    NotLoadBalancer => "not-load-balancer",
    OtherLoadBalancerClass => "other-load-balancer-class",
    NoClusterIp => "no-cluster-ip",
    DualStackClusterIpsMissing => "dual-stack-cluster-ips-missing",
    NoPools => "no-pools",
    ConfigInvalid => "config-invalid",
    PoolNotFound => "pool-not-found",
    ConflictingIpRequests => "conflicting-ip-requests",
    InvalidRequestedIp => "invalid-requested-ip",
    RequestedIpFamilyMismatch => "requested-ip-family-mismatch",
    RequestedIpNotInAnyPool => "requested-ip-not-in-any-pool",
    RequestedIpPoolMismatch => "requested-ip-pool-mismatch",
    RequestedIpsSpanPools => "requested-ips-span-pools",
    NoPoolFits => "no-pool-fits",
    // Pool level.
    AutoAssignDisabled => "auto-assign-disabled",
    NotRequested => "not-requested",
    NamespaceNotAllowed => "namespace-not-allowed",
    ServiceSelectorMismatch => "service-selector-mismatch",
    /// Whether the pool admits the service depends on namespace labels that were not read.
    NamespaceLabelsUnknown => "namespace-labels-unknown",
    PoolExhausted => "pool-exhausted",
    IpFamilyUnavailable => "ip-family-unavailable",
    IpInUse => "ip-in-use",
    SharingKeyMismatch => "sharing-key-mismatch",
    SharingBackendMismatch => "sharing-backend-mismatch",
    PortConflict => "port-conflict",
    // Warnings.
    NotAdvertised => "not-advertised",
    PoolOutsideMetallbNamespace => "pool-outside-metallb-namespace",
    AdvertisementOutsideMetallbNamespace => "advertisement-outside-metallb-namespace",
    /// Offline: the service has no cluster IP, its family was inferred.
    IpFamilyInferred => "ip-family-inferred",
    /// A CIDR written with host bits set; MetalLB masks them off.
    HostBitsMasked => "host-bits-masked",
    /// A range whose ends are of different families: zero addresses.
    MixedFamilyRange => "mixed-family-range",
    /// `namespaceSelectors` that match no Namespace (§2.5 pitfall).
    SelectorMatchesNothing => "selector-matches-nothing",
    /// Namespace selectors cannot be evaluated: the input has no Namespace objects.
    NamespacesUnknown => "namespaces-unknown",
    /// A negative `priority`: MetalLB's order is undefined.
    NegativePriority => "negative-priority",
    /// Several pinned pools tie at the winning priority: MetalLB's pick is arbitrary.
    PriorityTie => "priority-tie",
    /// A `metallb.io/…` annotation the modelled MetalLB release does not read (≤ v0.14.8
    /// reads only `metallb.universe.tf/…`): the service is allocated as if it were absent.
    AnnotationIgnored => "annotation-ignored",
    /// PreferDualStack with one cluster IP in a dual-family pool (§4.10).
    PreferDualStackSingleClusterIp => "prefer-dual-stack-single-cluster-ip",
    /// A service holds an address MetalLB will take away on its next reconcile (§6.1).
    AllocationNotValid => "allocation-not-valid",
    /// Live: MetalLB's controller Deployment was not found; the default namespace is assumed.
    MetallbNotDetected => "metallb-not-detected",
    /// Live: a cluster-wide list was forbidden; only the MetalLB namespace was read.
    ClusterScopeForbidden => "cluster-scope-forbidden",
    /// Live: the service's events could not be read.
    EventsUnavailable => "events-unavailable",
    /// MetalLB's own `IPAddressPool.status` differs from the exact counts.
    StatusDisagrees => "status-disagrees",
    /// The MetalLB release: the CRDs are newer than the controller, or the release given or
    /// detected is outside the modelled range; answers follow the release named.
    MetallbVersionMismatch => "metallb-version-mismatch",
    /// Only the CRDs tell the release, and they allow releases whose rules differ (API
    /// discovery cannot tell v0.15.3 from v0.16); answers follow the oldest, named.
    MetallbVersionAmbiguous => "metallb-version-ambiguous",
    /// Offline: the same object defined more than once; the last definition is read.
    DuplicateObject => "duplicate-object",
    /// A legacy `AddressPool` the modelled release reads as a pool (v0.13.x): deprecated,
    /// ignored from v0.14.0.
    LegacyPoolRead => "legacy-pool-read",
    /// A legacy `AddressPool` the modelled release ignores (v0.14.0 on): its addresses are
    /// in no pool.
    LegacyPoolIgnored => "legacy-pool-ignored",
    /// Offline: a kustomization or Helm template found and not read as plain manifests.
    NotRendered => "not-rendered",
    /// Offline: a `kind` or `apiVersion` that looks like a misspelling of one the plugin reads.
    UnknownKind => "unknown-kind",
    // Findings of `check` (cli-contract.md, `check`).
    /// A LoadBalancer service MetalLB serves is pending and fits no pool.
    ServicePending => "service-pending",
    /// Pending, but a pool could serve it now: MetalLB retries only when something changes.
    ServicePendingWouldFit => "service-pending-would-fit",
    /// `serviceAllocation.namespaces` names a namespace that does not exist.
    NamespaceUnknown => "namespace-unknown",
    /// A namespace with LoadBalancer services that no pool serves automatically.
    NamespaceWithoutPool => "namespace-without-pool",
    /// A pool's use is at or above `--threshold`.
    PoolNearlyFull => "pool-nearly-full",
    /// A `metallb.universe.tf/…` annotation where the release reads `metallb.io/…`.
    DeprecatedAnnotation => "deprecated-annotation",
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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

    /// Every code the contract lists (`docs/cli-contract.md`, any table row starting with a
    /// backquoted kebab-case name) exists under that name.
    #[test]
    fn every_contract_code_exists_under_its_name() {
        let contract = include_str!("../../docs/cli-contract.md");
        let section = &contract[contract.find("Reason codes").expect("reason codes table")..];
        let section = &section[..section.find("\n## ").unwrap_or(section.len())];
        let listed: Vec<&str> = section
            .lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split('`').next())
            .collect();
        assert!(listed.len() >= 27, "the table was read: {listed:?}");
        let names: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        for code in listed {
            assert!(
                names.contains(&code),
                "{code} is in the contract but not a Code"
            );
        }
    }

    #[test]
    fn names_are_unique_kebab_case_of_the_variant() {
        let mut seen = std::collections::BTreeSet::new();
        for code in Code::ALL {
            let name = code.as_str();
            assert!(seen.insert(name), "{name} twice");
            let kebab: String = format!("{code:?}")
                .chars()
                .enumerate()
                .flat_map(|(i, c)| {
                    let dash = (i > 0 && c.is_ascii_uppercase()).then_some('-');
                    dash.into_iter()
                        .chain(std::iter::once(c.to_ascii_lowercase()))
                })
                .collect();
            assert_eq!(name, kebab);
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::Value::String(name.to_string())
            );
        }
    }
}
