//! MetalLB releases as a value (metallb-semantics.md Appendix C, cli-contract.md "MetalLB
//! versions"): which release an answer is computed for, where that came from, and what the
//! release changes, resolved once into a [`Behaviour`] the model consults.
//!
//! Thresholds are the first release whose code has the rule, read at the tags; where that is
//! earlier than Appendix C says (its tables only compare v0.13.9, v0.14.8, v0.14.9, v0.15.3
//! and v0.16.1), the field says so.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use smallvec::{SmallVec, smallvec};

use super::addr::{Family, Ip};
use super::service::{Policy, ServiceFamily};

/// Address families, one or both.
pub type Families = SmallVec<[Family; 2]>;

/// A MetalLB release, ordered as releases are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Release {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Release {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Release {
        Release {
            major,
            minor,
            patch,
        }
    }

    pub const V0_13_9: Release = Release::new(0, 13, 9);
    pub const V0_14_8: Release = Release::new(0, 14, 8);
    pub const V0_14_9: Release = Release::new(0, 14, 9);
    pub const V0_15_3: Release = Release::new(0, 15, 3);
    pub const V0_16_1: Release = Release::new(0, 16, 1);

    /// The oldest release modelled: Kubespray's default.
    pub const OLDEST: Release = Release::V0_13_9;
    /// The newest release modelled; newer ones are modelled as this one.
    pub const NEWEST: Release = Release::V0_16_1;

    /// The releases the plugin is checked against, oldest first.
    pub const CHECKED: [Release; 5] = [
        Release::V0_13_9,
        Release::V0_14_8,
        Release::V0_14_9,
        Release::V0_15_3,
        Release::V0_16_1,
    ];

    /// `vX.Y.Z` or `X.Y.Z`, nothing else: the syntax of a release, whether supported or not.
    pub fn from_text(text: &str) -> Option<Release> {
        let digits = text.strip_prefix('v').unwrap_or(text);
        let mut parts = digits.split('.');
        let mut number = || -> Option<u32> {
            let part = parts.next()?;
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        };
        let release = Release::new(number()?, number()?, number()?);
        parts.next().is_none().then_some(release)
    }

    /// A `--metallb-version` value: `latest` or a release no older than [`Release::OLDEST`].
    /// A release newer than [`Release::NEWEST`] is modelled as the newest, and says so.
    pub fn parse(text: &str) -> Result<Chosen, VersionError> {
        if text.eq_ignore_ascii_case("latest") {
            return Ok(Chosen::exactly(Release::NEWEST));
        }
        let release = Release::from_text(text).ok_or_else(|| VersionError::Invalid {
            given: text.to_string(),
        })?;
        Chosen::of(release)
    }

    /// Whether this release is past the newest one modelled.
    pub fn is_newer_than_supported(self) -> bool {
        self > Release::NEWEST
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl Serialize for Release {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Reads back what [`Serialize`] wrote (a dump's version), whatever the supported range.
impl<'de> Deserialize<'de> for Release {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Release, D::Error> {
        let text = String::deserialize(deserializer)?;
        Release::from_text(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("invalid MetalLB version {text:?}: expected vX.Y.Z"))
        })
    }
}

/// A release to model, and the release it stands for when that one is newer than the newest
/// modelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chosen {
    /// What the answers follow.
    pub release: Release,
    /// The release given or detected, when it is newer than [`Release::NEWEST`].
    pub newer: Option<Release>,
}

impl Chosen {
    fn exactly(release: Release) -> Chosen {
        Chosen {
            release,
            newer: None,
        }
    }

    /// The rules for a release given or detected: older than supported is an error; newer
    /// than the newest is modelled as the newest.
    pub fn of(release: Release) -> Result<Chosen, VersionError> {
        if release < Release::OLDEST {
            return Err(VersionError::TooOld { given: release });
        }
        if release.is_newer_than_supported() {
            return Ok(Chosen {
                release: Release::NEWEST,
                newer: Some(release),
            });
        }
        Ok(Chosen::exactly(release))
    }

    /// The warning for a release newer than the newest modelled.
    pub fn warning(&self) -> Option<String> {
        self.newer.map(|given| {
            format!(
                "MetalLB {given} is newer than the newest release this plugin models ({}); answers follow {}",
                Release::NEWEST,
                Release::NEWEST
            )
        })
    }
}

/// A `--metallb-version` value that cannot be used (exit 2).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    #[error(
        "MetalLB {given} is not supported: supported releases are {} to {} (or latest)",
        Release::OLDEST,
        Release::NEWEST
    )]
    TooOld { given: Release },
    #[error(
        "invalid MetalLB version {given:?}: expected vX.Y.Z ({} to {}) or latest",
        Release::OLDEST,
        Release::NEWEST
    )]
    Invalid { given: String },
}

impl From<VersionError> for crate::error::Error {
    fn from(e: VersionError) -> Self {
        crate::error::Error::Usage(e.to_string())
    }
}

/// Where the modelled release came from (cli-contract.md "MetalLB versions").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VersionSource {
    /// `--metallb-version`.
    Flag,
    /// The controller's image tag.
    Image,
    /// The Helm labels of the controller.
    HelmLabels,
    /// The CRDs served: a lower bound, so a guess.
    Crds,
    /// Nothing told: the newest release modelled.
    Default,
}

impl VersionSource {
    /// Whether the release is known (flag, image, Helm labels) rather than guessed (CRDs,
    /// default); a guess is said in the table's header or on stderr.
    pub fn is_exact(self) -> bool {
        matches!(
            self,
            VersionSource::Flag | VersionSource::Image | VersionSource::HelmLabels
        )
    }
}

/// `"metallbVersion"` of every JSON output: `{"version": "v0.15.3", "source": "image"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetallbVersion {
    pub version: Release,
    pub source: VersionSource,
}

impl MetallbVersion {
    pub fn is_exact(&self) -> bool {
        self.source.is_exact()
    }

    /// The release modelled when nothing says which one runs.
    pub fn default_release() -> MetallbVersion {
        MetallbVersion {
            version: Release::NEWEST,
            source: VersionSource::Default,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Detection (pure: the callers read the cluster or the manifests).
// ---------------------------------------------------------------------------------------

/// The release in a container image reference, from its tag:
/// `quay.io/metallb/controller:v0.14.8` and `…:v0.14.8@sha256:…` give v0.14.8; a digest
/// alone, or a tag that names no release (`main`, `latest`), gives none. A registry port
/// (`reg:5000/…`) is not a tag: the tag is after the last `/`. A build suffix after the
/// release (`0.14.8-debian-12-r3`, how repackaged images are tagged) is ignored.
pub fn release_from_image(image: &str) -> Option<Release> {
    let name = image.split('@').next().unwrap_or(image);
    let last_segment = name.rsplit('/').next().unwrap_or(name);
    let (_, tag) = last_segment.rsplit_once(':')?;
    let release_part = tag.split('-').next().unwrap_or(tag);
    Release::from_text(release_part)
}

/// The release in the Helm labels of the controller Deployment (or its pod template):
/// `app.kubernetes.io/version` (the chart's appVersion, `v0.14.8`) first; else
/// `helm.sh/chart: metallb-0.14.8`, MetalLB's own chart, whose versions are the releases.
/// Other charts number themselves (Bitnami's `metallb-6.3.10`): a chart version that is not
/// a 0.x release is not taken for one.
pub fn release_from_helm_labels<'a, I>(labels: I) -> Option<Release>
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut app = None;
    let mut chart = None;
    for (key, value) in labels {
        match key {
            "app.kubernetes.io/version" => app = Release::from_text(value.trim()),
            "helm.sh/chart" => {
                chart = value
                    .strip_prefix("metallb-")
                    .and_then(Release::from_text)
                    .filter(|r| r.major == 0)
            }
            _ => {}
        }
    }
    app.or(chart)
}

/// What the CRDs served say about the release (Appendix C, "How a client can tell").
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CrdFacts<'a> {
    /// The plural resource names of the `metallb.io` CRDs (`ipaddresspools`, …).
    pub resources: Vec<&'a str>,
    /// The IPAddressPool schema has `status.assignedIPv4`.
    pub pool_status_assigned_ipv4: bool,
    /// The L2Advertisement schema has `spec.serviceSelectors`.
    pub l2_service_selectors: bool,
    /// The IPAddressPool schema was read (CRD manifests), so a missing `status.assignedIPv4`
    /// says something; API discovery gives names only.
    pub pool_schema_known: bool,
    /// The L2Advertisement schema was read, likewise.
    pub l2_schema_known: bool,
}

/// A release guessed from the CRDs: at least `lower`, at most `upper` when a CRD that later
/// releases removed is still served. A guess: CRDs can be newer than the controller (Helm's
/// `crds` subchart, GitOps), and Helm never deletes a CRD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrdGuess {
    pub lower: Release,
    pub upper: Option<Release>,
}

impl CrdGuess {
    /// The release the answers follow: the lowest the CRDs allow, no older than the oldest
    /// modelled.
    pub fn release(&self) -> Release {
        self.lower.max(Release::OLDEST)
    }
}

/// The fingerprints, newest first: a CRD or schema field, the first release serving it, and
/// the last release before that one. Checked at the tags in `config/crd/bases`. (v0.16.0
/// and v0.16.1 differ only in the BGPPeer `localASN` format, int32 then int64: not read, as
/// their rules are the same.)
const FINGERPRINTS: [(Fingerprint, Release, Release); 5] = [
    (
        Fingerprint::L2ServiceSelectors,
        Release::new(0, 16, 0),
        Release::new(0, 15, 3),
    ),
    (
        Fingerprint::Resource("configurationstates"),
        Release::new(0, 15, 3),
        Release::new(0, 15, 2),
    ),
    (
        Fingerprint::Resource("servicebgpstatuses"),
        Release::new(0, 15, 0),
        Release::new(0, 14, 9),
    ),
    (
        Fingerprint::PoolStatusAssignedIpv4,
        Release::new(0, 15, 0),
        Release::new(0, 14, 9),
    ),
    (
        Fingerprint::Resource("servicel2statuses"),
        Release::new(0, 14, 4),
        Release::new(0, 14, 3),
    ),
];

/// The legacy `addresspools` CRD: served up to v0.14.2, dropped from the manifests in
/// v0.14.3.
const LAST_WITH_ADDRESSPOOLS: Release = Release::new(0, 14, 2);

#[derive(Clone, Copy, Debug)]
enum Fingerprint {
    Resource(&'static str),
    PoolStatusAssignedIpv4,
    L2ServiceSelectors,
}

impl Fingerprint {
    /// Whether its absence can be seen: a resource always; a schema field only when that
    /// schema was read.
    fn observable(self, crds: &CrdFacts) -> bool {
        match self {
            Fingerprint::Resource(_) => true,
            Fingerprint::PoolStatusAssignedIpv4 => crds.pool_schema_known,
            Fingerprint::L2ServiceSelectors => crds.l2_schema_known,
        }
    }

    fn seen_in(self, crds: &CrdFacts) -> bool {
        match self {
            Fingerprint::Resource(name) => crds.resources.contains(&name),
            Fingerprint::PoolStatusAssignedIpv4 => crds.pool_status_assigned_ipv4,
            Fingerprint::L2ServiceSelectors => crds.l2_service_selectors,
        }
    }
}

/// The releases the CRDs allow, or none when no MetalLB pool CRD is served: at least the
/// first release of the newest fingerprint seen; at most the last release before the
/// oldest newer fingerprint whose absence can be seen. A leftover `addresspools` CRD next to
/// newer fingerprints is what an upgrade leaves behind, not an upper bound.
pub fn release_from_crds(crds: &CrdFacts) -> Option<CrdGuess> {
    if !crds.resources.contains(&"ipaddresspools") {
        return None;
    }
    let lower = FINGERPRINTS
        .iter()
        .find(|(f, _, _)| f.seen_in(crds))
        .map_or(Release::OLDEST, |(_, first, _)| *first);
    let missing = FINGERPRINTS
        .iter()
        .filter(|(f, first, _)| *first > lower && f.observable(crds) && !f.seen_in(crds))
        .map(|(_, _, before)| *before);
    let legacy = Some(LAST_WITH_ADDRESSPOOLS)
        .filter(|last| crds.resources.contains(&"addresspools") && lower <= *last);
    let upper = missing.chain(legacy).min();
    Some(CrdGuess { lower, upper })
}

/// Whether the L2Advertisement schema, not read yet, could narrow what the CRDs say to
/// releases whose rules agree: they allow v0.16.0 (first with `spec.serviceSelectors`) and
/// an older release whose rules differ. Live, that schema needs a read API discovery does
/// not make (the CRD itself), asked for only then.
pub fn l2_schema_would_settle(crds: &CrdFacts) -> bool {
    if crds.l2_schema_known || !crds.resources.contains(&"l2advertisements") {
        return false;
    }
    let Some(guess) = release_from_crds(crds) else {
        return false;
    };
    let selectors = FINGERPRINTS[0].1;
    guess.lower < selectors
        && guess.upper.is_none_or(|upper| upper >= selectors)
        && crd_ambiguity(&guess).is_some()
}

/// When the CRDs allow releases whose rules differ (API discovery cannot see the schema
/// field that tells v0.15.3 from v0.16, say): the warning that says so and which release
/// the answers follow; `None` when every release allowed answers alike.
pub fn crd_ambiguity(crds: &CrdGuess) -> Option<String> {
    let assumed = crds.release();
    let newest = crds.upper.unwrap_or(Release::NEWEST).min(Release::NEWEST);
    let rules = |release| Behaviour {
        release: assumed,
        ..Behaviour::of(release)
    };
    (newest > assumed && rules(assumed) != rules(newest)).then(|| {
        format!(
            "the MetalLB CRDs served fit any release from {assumed} to {newest}, whose rules differ, and cannot tell them apart: answers follow {assumed} (give --metallb-version)"
        )
    })
}

/// The warning when the CRDs served are newer than the controller image (Helm's `crds`
/// subchart, GitOps): the image is trusted.
pub fn crd_mismatch(image: Release, crds: &CrdGuess) -> Option<String> {
    (crds.lower > image).then(|| {
        format!(
            "the MetalLB CRDs served are from {} or newer, but the controller image is {image}: answers follow {image}",
            crds.lower
        )
    })
}

/// What each source said, in order of trust (cli-contract.md "MetalLB versions").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Evidence {
    pub flag: Option<Chosen>,
    pub image: Option<Release>,
    pub helm_labels: Option<Release>,
    pub crds: Option<CrdGuess>,
}

/// The modelled release and the warnings its choice gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detection {
    pub version: MetallbVersion,
    pub warnings: Vec<String>,
    /// The CRDs alone chose the release, and they allow releases whose rules differ.
    pub ambiguity: Option<String>,
}

impl Evidence {
    /// The flag, else the image tag, else the Helm labels, else the CRDs, else the newest.
    /// A detected release older than the oldest modelled is modelled as the oldest, with a
    /// warning (only the flag is an error: the user can fix it).
    pub fn resolve(&self) -> Detection {
        let mut warnings = Vec::new();
        let mut ambiguity = None;
        let version = if let Some(flag) = self.flag {
            warnings.extend(flag.warning());
            MetallbVersion {
                version: flag.release,
                source: VersionSource::Flag,
            }
        } else if let Some(image) = self.image {
            warnings.extend(self.crds.and_then(|c| crd_mismatch(image, &c)));
            modelled(image, VersionSource::Image, &mut warnings)
        } else if let Some(helm) = self.helm_labels {
            warnings.extend(self.crds.and_then(|c| crd_mismatch(helm, &c)));
            modelled(helm, VersionSource::HelmLabels, &mut warnings)
        } else if let Some(crds) = self.crds {
            ambiguity = crd_ambiguity(&crds);
            modelled(crds.release(), VersionSource::Crds, &mut warnings)
        } else {
            MetallbVersion::default_release()
        };
        Detection {
            version,
            warnings,
            ambiguity,
        }
    }
}

/// A detected release as modelled: out of range, the nearest end of it, with a warning.
fn modelled(release: Release, source: VersionSource, warnings: &mut Vec<String>) -> MetallbVersion {
    let chosen = Chosen::of(release).unwrap_or_else(|_| {
        warnings.push(format!(
            "MetalLB {release} is older than the oldest release this plugin models ({}); answers follow {}",
            Release::OLDEST,
            Release::OLDEST
        ));
        Chosen::exactly(Release::OLDEST)
    });
    warnings.extend(chosen.warning());
    MetallbVersion {
        version: chosen.release,
        source,
    }
}

// ---------------------------------------------------------------------------------------
// Behaviour: what a release changes, one field per difference of Appendix C.
// ---------------------------------------------------------------------------------------

/// Which keys the service annotations `address-pool`, `loadBalancerIPs` and
/// `allow-shared-ip` are read from (C.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnnotationKeys {
    /// Up to v0.14.8: only `metallb.universe.tf/…`; a `metallb.io/…` key is silently
    /// ignored. Go: controller/service.go `svc.Annotations[AnnotationAddressPool]`,
    /// `getDesiredLbIPs`; k8salloc.go `SharingKey`.
    UniverseOnly,
    /// From v0.14.9: `metallb.io/…` when the key is present, even empty; else
    /// `metallb.universe.tf/…`. Go: controller/service.go `valueForAnnotation`, `SharingKey`.
    MetallbIoFirst,
}

/// What a pool whose `serviceAllocation` has no namespaces and no selectors (priority only,
/// or `{}`) does (C.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PriorityOnlyPools {
    /// Up to v0.14.9: restricted (it has a serviceAllocation) but in neither index: never
    /// auto-assigned, only by an address-pool annotation or a requested IP.
    /// Go: config.go `addressPoolServiceAllocationsFromCR` (no selector added).
    NeverAutoAssigned,
    /// From v0.15.0 (#2714): a match-everything service selector: a pinned pool for every
    /// service, sorted by priority with the others. Go: same function, `labels.Everything()`.
    PinnedForAll,
}

/// How automatic allocation walks the pinned pools (C.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinnedSearch {
    /// Up to v0.14.8: `AllocateFromPool` on each pinned pool in order; the first success
    /// wins. Go: allocator.go `Allocate`.
    EachInTurn,
    /// From v0.14.9: `findBestPoolForService` picks one pool of the group; if the final
    /// selection or `Assign` fails, the next group (plain pools) is tried, never another
    /// pinned pool. Same answer for single-stack services. Go: allocator.go
    /// `allocateFromPools`, `findBestPoolForService`.
    BestPoolOnce,
}

/// A `RequireDualStack` service with one cluster IP (C.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequireDualSingleClusterIp {
    /// Up to v0.14.8: allocated single-stack in the cluster IP's family.
    /// Go: ipfamily.go `ForService` → allocator.go `AllocateFromPool`.
    SingleStack,
    /// v0.14.9: two addresses from one pool or nothing. The pool is the first of its group
    /// with a free address of the cluster IP's family; if it lacks the other family the
    /// group fails (`no available IPs`, or the pool text when annotated) without trying
    /// the group's other pools. Go: allocation.go `selectIPsForFamilyAndPolicy`.
    BothFromFirstPool,
    /// From v0.15.0: refused before any allocation, event reason `not enough clusterips`
    /// (not an AllocationFailed). Go: controller/service.go `convergeBalancer`.
    Refused,
}

/// A `PreferDualStack` service with one cluster IP (C.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreferDualSingleClusterIp {
    /// Up to v0.14.8 and from v0.15.0: one address of the cluster IP's family (from v0.15.0
    /// an annotated pool without one gives `["<nil>"] is not allowed in config`).
    /// Go: allocation.go `selectIPsForFamilyAndPolicy` ("align the lb ip to the clusterip",
    /// 5dc6242a1).
    ClusterIpFamily,
    /// v0.14.9: both families when the pool has both, else whichever it has (an annotated
    /// pool of the other family only gives that family). Go: allocation.go
    /// `selectIPsForFamilyAndPolicy` before 5dc6242a1.
    BothOrEither,
}

/// Which pools a dual service (two cluster IPs) can use, automatically (C.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DualPoolSearch {
    /// Up to v0.14.8: only a pool with both families, for every policy; a PreferDualStack
    /// service with no such pool fails (`no available IPs`). Go: allocator.go
    /// `AllocateFromPool(DualStack)`.
    BothFamiliesOnly,
    /// From v0.14.9: a pool with both families anywhere in the group wins over an earlier
    /// single-family candidate; without one, PreferDualStack gets one address from the
    /// first pool of `ipFamilies[0]`'s family, else of the other family. Go: allocator.go
    /// `findBestPoolForService` (primary/secondary candidates).
    BothFirstThenPrimaryThenSecondary,
}

/// A dual PreferDualStack service holding one address (C.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeldSingleAddress {
    /// Up to v0.14.8: its family differs from the cluster IPs': cleared and reallocated
    /// (both families from a dual pool). Go: controller/service.go `convergeBalancer`
    /// (`lbIPsIPFamily != clusterIPsIPFamily`).
    Reallocated,
    /// From v0.14.9: kept, and the missing family is added from the same pool (`Assigned
    /// additional IP`, or Info `AdditionalAssignFailed`). Go: controller/service.go
    /// `serviceFamilyChanged`, allocator.go `AllocateFromPoolForAdditionalFamily`.
    KeptAndCompleted,
}

/// What happens to a service when no pool is configured at all (C.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoPools {
    /// Up to v0.13.x: allocation runs over no pool: AllocationFailed `no available IPs`.
    /// Go: allocator.go `Allocate` (the pool map is empty, not nil).
    AllocationFailed,
    /// From v0.14.0: no event (`pools are empty`, ErrConverge). Go: controller/service.go
    /// `convergeBalancer`. Appendix C says "v0.14.8"; the check is in v0.14.0.
    NoEvent,
}

/// A configuration under which an allocated service could not keep its address (C.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrphaningConfig {
    /// Up to v0.13.x: the new configuration is refused (`new config not compatible with
    /// assigned IPs`, SyncStateError) and the old one stays in force. Go: allocator.go
    /// `SetPools`. Appendix C says "v0.13.9"; every 0.13 release does it.
    Refused,
    /// From v0.14.0: accepted; the service loses its address and is reallocated.
    /// Go: allocator.go `SetPools` (verification removed, 50514e54b).
    Accepted,
}

/// How a label-selector parse error of a pool is worded (C.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectorErrorText {
    /// Up to v0.14.5: pkg/errors `Wrapf`: `<msg>: <err>`.
    Wrapped,
    /// From v0.14.6: `errors.Join(err, msg)`: `<err>\n<msg>`. Appendix C says "v0.14.8".
    Joined,
}

/// What a single cluster IP that does not parse counts as (C.5); the same function reads a
/// single held ingress IP that does not parse (`nolbIPsIPFamily` from v0.14.0 only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnparsableClusterIp {
    /// Up to v0.13.x: IPv6. Go: ipfamily.go `ForAddresses`.
    Ipv6,
    /// From v0.14.0: an error, `IPFamilyForAddresses: Invalid address`.
    Invalid,
}

/// MetalLB's own capacity number (metric, and status from v0.15.0) (C.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolCount {
    /// Up to v0.13.x: one number; a CIDR of 62 host bits or more makes it MaxInt64 and the
    /// remaining CIDRs are not counted. Go: allocator.go `poolCount`.
    Single,
    /// From v0.14.0: (total, ipv4, ipv6); such a CIDR sets total and ipv6 to MaxInt64 and
    /// counting goes on, so a later CIDR overflows them; avoidBuggyIPs subtracts a .0/.255
    /// /32 twice. Go: allocator.go `poolCount`.
    PerFamily,
}

/// Which families a pool still has a free address of, for one service (sharing taken into
/// account): what MetalLB's `getFreeIPsFromPool` / `getIPFromCIDR` find.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Free {
    pub v4: bool,
    pub v6: bool,
}

/// How an address-pool annotation's failure is worded (C.4), see
/// [`Behaviour::requested_pool_failure`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolFailureText {
    /// Up to v0.14.8: `no available IPs in pool "<p>" for <family> IPFamily` whenever a
    /// needed family has no free address. Go: allocator.go `AllocateFromPool`.
    QuotedPerFamily,
    /// v0.14.9: `no available IPs in pool <p> for <family> IPFamily`, by policy.
    /// Go: allocation.go `selectIPsForFamilyAndPolicy`.
    UnquotedPerFamily,
    /// v0.15.x: a single-family service gets the (missing) address of its family, which
    /// `Assign` refuses: `["<nil>"] is not allowed in config`; dual as v0.14.9.
    /// Go: allocation.go `selectIPsForFamilyAndPolicy`, allocator.go `Assign`.
    NilForSingleFamily,
    /// From v0.16.0: a pool with no free address of any family: `no available IPs in pool
    /// <p>`; else as v0.15. Go: allocator.go `getFreeIPsFromPool`.
    NoFreeAddressFirst,
}

/// What a MetalLB release changes in the answers, resolved once from a [`Release`]. Each rule
/// of the model consults one field; the Go function responsible is named at each type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Behaviour {
    pub release: Release,
    /// Keys read for address-pool, loadBalancerIPs and allow-shared-ip (C.1); ≥ v0.14.9
    /// reads `metallb.io/`.
    pub annotation_keys: AnnotationKeys,
    /// The `ip-allocated-from-pool` key MetalLB writes (never reads back): ≤ v0.14.8
    /// `metallb.universe.tf/…`, ≥ v0.14.9 `metallb.io/…`. Go: controller/service.go
    /// `convergeBalancer` (`AnnotationIPAllocateFromPool`).
    pub allocated_from_pool_key: &'static str,
    /// The loadBalancerIPs key named in MetalLB's texts, whatever key the user wrote:
    /// ≤ v0.14.8 `metallb.universe.tf/loadBalancerIPs`, ≥ v0.14.9 `metallb.io/…`.
    /// Go: controller/service.go `getDesiredLbIPs`.
    pub load_balancer_ips_key: &'static str,
    /// Priority-only or `{}` serviceAllocation (C.2); ≥ v0.15.0 pinned for all.
    pub priority_only_pools: PriorityOnlyPools,
    /// How the pinned pools are walked (C.2); ≥ v0.14.9 best pool once.
    pub pinned_search: PinnedSearch,
    /// Legacy `AddressPool` CRs (metallb.io/v1beta1) are read as pools (protocol required,
    /// overlaps checked with IPAddressPools, a duplicate name is a config error): up to
    /// v0.13.x. Go: config.go `poolsFor`, `addressPoolFromLegacyCR`; dropped in v0.14.0
    /// (bf0763bd6).
    pub legacy_address_pools: bool,
    /// Requested IPs and an address-pool annotation naming another pool fail with
    /// `requested loadBalancer IP(s) [...] is not compatible with requested address pool
    /// <p>`; without the check (v0.13.9) the IPs are granted and the pool is ignored.
    /// Go: controller/service.go `allocateIPs`. From v0.13.10 (0403ddab6); Appendix C
    /// says "≥ v0.14.8".
    pub requested_ip_pool_check: bool,
    /// Duplicate entries in `serviceAllocation.namespaces`, identical namespace/service
    /// selectors and a selector repeating a match expression make the configuration
    /// invalid. Go: config.go `addressPoolServiceAllocationsFromCR`,
    /// `validateLabelSelectorDuplicate`. From v0.13.10 (d466ce6f2); Appendix C says
    /// "≥ v0.14.8".
    pub duplicate_selector_validation: bool,
    /// How a selector parse error is worded (C.5).
    pub selector_error_text: SelectorErrorText,
    /// A configuration that orphans an allocated address (C.5).
    pub orphaning_config: OrphaningConfig,
    /// A held address the configuration no longer allows gives an Info event
    /// `ClearAssignment`. Go: controller/service.go `convergeBalancer`. From v0.13.10
    /// (bafb13f31); Appendix C says "≥ v0.14.8".
    pub clear_assignment_event: bool,
    /// No pools at all (C.4).
    pub no_pools: NoPools,
    /// A RequireDualStack service with one cluster IP (C.3).
    pub require_dual_single_cluster_ip: RequireDualSingleClusterIp,
    /// A PreferDualStack service with one cluster IP (C.3).
    pub prefer_dual_single_cluster_ip: PreferDualSingleClusterIp,
    /// Pools a dual service can use (C.3).
    pub dual_pool_search: DualPoolSearch,
    /// A dual PreferDualStack service holding one address (C.3).
    pub held_single_address: HeldSingleAddress,
    /// A single cluster IP that does not parse (C.5).
    pub unparsable_cluster_ip: UnparsableClusterIp,
    /// Wording of an address-pool annotation's failure (C.4).
    pub pool_failure_text: PoolFailureText,
    /// L2Advertisement/BGPAdvertisement `spec.serviceSelectors` restrict which services an
    /// advertisement announces: from v0.16.0 (before, the field does not exist).
    /// Go: config.go `l2AdvertisementFromCR`, `bgpAdvertisementFromCR`; speaker
    /// layer2_controller.go / bgp_controller.go.
    pub advertisement_service_selectors: bool,
    /// `IPAddressPool.status` (assignedIPv4/6, availableIPv4/6) is published: from v0.15.0.
    /// Go: allocator.go `CountersForPool`.
    pub pool_status_counters: bool,
    /// MetalLB's own capacity number (C.6).
    pub pool_count: PoolCount,
}

impl Behaviour {
    /// The rules of `release`, thresholds read at the tags.
    pub fn of(release: Release) -> Behaviour {
        let at_least = |major, minor, patch| release >= Release::new(major, minor, patch);
        let metallb_io = at_least(0, 14, 9);
        Behaviour {
            release,
            annotation_keys: if metallb_io {
                AnnotationKeys::MetallbIoFirst
            } else {
                AnnotationKeys::UniverseOnly
            },
            allocated_from_pool_key: if metallb_io {
                "metallb.io/ip-allocated-from-pool"
            } else {
                "metallb.universe.tf/ip-allocated-from-pool"
            },
            load_balancer_ips_key: if metallb_io {
                "metallb.io/loadBalancerIPs"
            } else {
                "metallb.universe.tf/loadBalancerIPs"
            },
            priority_only_pools: if at_least(0, 15, 0) {
                PriorityOnlyPools::PinnedForAll
            } else {
                PriorityOnlyPools::NeverAutoAssigned
            },
            pinned_search: if metallb_io {
                PinnedSearch::BestPoolOnce
            } else {
                PinnedSearch::EachInTurn
            },
            legacy_address_pools: !at_least(0, 14, 0),
            requested_ip_pool_check: at_least(0, 13, 10),
            duplicate_selector_validation: at_least(0, 13, 10),
            selector_error_text: if at_least(0, 14, 6) {
                SelectorErrorText::Joined
            } else {
                SelectorErrorText::Wrapped
            },
            orphaning_config: if at_least(0, 14, 0) {
                OrphaningConfig::Accepted
            } else {
                OrphaningConfig::Refused
            },
            clear_assignment_event: at_least(0, 13, 10),
            no_pools: if at_least(0, 14, 0) {
                NoPools::NoEvent
            } else {
                NoPools::AllocationFailed
            },
            require_dual_single_cluster_ip: if at_least(0, 15, 0) {
                RequireDualSingleClusterIp::Refused
            } else if metallb_io {
                RequireDualSingleClusterIp::BothFromFirstPool
            } else {
                RequireDualSingleClusterIp::SingleStack
            },
            prefer_dual_single_cluster_ip: if metallb_io && !at_least(0, 15, 0) {
                PreferDualSingleClusterIp::BothOrEither
            } else {
                PreferDualSingleClusterIp::ClusterIpFamily
            },
            dual_pool_search: if metallb_io {
                DualPoolSearch::BothFirstThenPrimaryThenSecondary
            } else {
                DualPoolSearch::BothFamiliesOnly
            },
            held_single_address: if metallb_io {
                HeldSingleAddress::KeptAndCompleted
            } else {
                HeldSingleAddress::Reallocated
            },
            unparsable_cluster_ip: if at_least(0, 14, 0) {
                UnparsableClusterIp::Invalid
            } else {
                UnparsableClusterIp::Ipv6
            },
            pool_failure_text: if at_least(0, 16, 0) {
                PoolFailureText::NoFreeAddressFirst
            } else if at_least(0, 15, 0) {
                PoolFailureText::NilForSingleFamily
            } else if metallb_io {
                PoolFailureText::UnquotedPerFamily
            } else {
                PoolFailureText::QuotedPerFamily
            },
            advertisement_service_selectors: at_least(0, 16, 0),
            pool_status_counters: at_least(0, 15, 0),
            pool_count: if at_least(0, 14, 0) {
                PoolCount::PerFamily
            } else {
                PoolCount::Single
            },
        }
    }

    /// An annotation's value by this release's rule, given the values of its
    /// `metallb.io/<name>` and `metallb.universe.tf/<name>` keys (`None`: key absent).
    pub fn annotation_value<'a>(
        &self,
        current: Option<&'a str>,
        deprecated: Option<&'a str>,
    ) -> &'a str {
        match self.annotation_keys {
            AnnotationKeys::UniverseOnly => deprecated,
            AnnotationKeys::MetallbIoFirst => current.or(deprecated),
        }
        .unwrap_or("")
    }

    /// The prefix this release does not read (`annotation-ignored`), if any.
    pub fn ignored_annotation_prefix(&self) -> Option<&'static str> {
        match self.annotation_keys {
            AnnotationKeys::UniverseOnly => Some("metallb.io/"),
            AnnotationKeys::MetallbIoFirst => None,
        }
    }

    /// Whether a pool whose serviceAllocation has no namespaces and no selectors is pinned
    /// for every service (else it is never auto-assigned).
    pub fn priority_only_pool_is_pinned(&self) -> bool {
        self.priority_only_pools == PriorityOnlyPools::PinnedForAll
    }

    /// The automatic allocation failure, identical in every release (C.4).
    pub fn automatic_failure_text(&self) -> &'static str {
        "no available IPs"
    }

    /// Whether an empty pool list stops a service before its cluster IPs and requests are
    /// read (from v0.14.0: convergeBalancer's `pools are empty`, right after the type
    /// check). Up to v0.13.x nothing checks it: a service with no cluster IP at all stops
    /// silently, one whose cluster IPs give no family or whose request is unreadable fails
    /// with that text, a requested pool is `unknown pool`, requested IPs are `not allowed
    /// in config`, and only the automatic search over no pool gives `no available IPs`.
    /// Go: controller/service.go `convergeBalancer`, `allocateIPs`; allocator.go `Allocate`.
    pub fn no_pools_checked_first(&self) -> bool {
        self.no_pools == NoPools::NoEvent
    }

    /// The AllocationFailed text when no pool is configured, or `None` when this release
    /// gives no event (C.4).
    pub fn no_pools_text(&self) -> Option<&'static str> {
        match self.no_pools {
            NoPools::AllocationFailed => Some("no available IPs"),
            NoPools::NoEvent => None,
        }
    }

    /// An address-pool annotation naming `pool`, which exists and admits the service, for a
    /// service of `family` and `policy`, given which families the pool still has a free
    /// address of for this service: the AllocationFailed text this
    /// release gives, or `None` when it allocates (C.4; the families it then hands out are
    /// [`Behaviour::requested_pool_families`]). A RequireDualStack service with one cluster
    /// IP from v0.15.0 never gets here (refused first, [`Behaviour::not_enough_cluster_ips_text`]).
    pub fn requested_pool_failure(
        &self,
        pool: &str,
        family: ServiceFamily,
        policy: Policy,
        free: Free,
    ) -> Option<String> {
        if self.requested_pool_families(family, policy, free).is_some() {
            return None;
        }
        let Free { v4, v6 } = free;
        let name = family.name();
        Some(match self.pool_failure_text {
            PoolFailureText::QuotedPerFamily => {
                format!("no available IPs in pool \"{pool}\" for {name} IPFamily")
            }
            PoolFailureText::NoFreeAddressFirst if !v4 && !v6 => {
                format!("no available IPs in pool {pool}")
            }
            PoolFailureText::NilForSingleFamily | PoolFailureText::NoFreeAddressFirst
                if family != ServiceFamily::Dual =>
            {
                "[\"<nil>\"] is not allowed in config".to_string()
            }
            _ => format!("no available IPs in pool {pool} for {name} IPFamily"),
        })
    }

    /// The families an address-pool annotation hands out (at most two, kept inline: this
    /// is asked of every pool a search looks at), by this release's rule, or `None`
    /// when it fails ([`Behaviour::requested_pool_failure`] words it). Go: ≤ v0.14.8
    /// allocator.go `AllocateFromPool`; ≥ v0.14.9 allocation.go
    /// `selectIPsForFamilyAndPolicy`.
    pub fn requested_pool_families(
        &self,
        family: ServiceFamily,
        policy: Policy,
        free: Free,
    ) -> Option<Families> {
        let Free { v4, v6 } = free;
        let has = |f: Family| match f {
            Family::V4 => v4,
            Family::V6 => v6,
        };
        let both = v4 && v6;
        let either = || {
            if both {
                Some(smallvec![Family::V4, Family::V6])
            } else if v4 {
                Some(smallvec![Family::V4])
            } else if v6 {
                Some(smallvec![Family::V6])
            } else {
                None
            }
        };
        match (self.pool_failure_text, family) {
            // Each family the cluster IPs have must be free, whatever the policy.
            (PoolFailureText::QuotedPerFamily, ServiceFamily::Single(f)) => {
                has(f).then(|| smallvec![f])
            }
            (PoolFailureText::QuotedPerFamily, ServiceFamily::Dual) => {
                both.then(|| smallvec![Family::V4, Family::V6])
            }
            // v0.14.9: by policy, the cluster IPs' family only for SingleStack.
            (PoolFailureText::UnquotedPerFamily, ServiceFamily::Single(f)) => match policy {
                Policy::SingleStack => has(f).then(|| smallvec![f]),
                Policy::RequireDualStack => both.then(|| smallvec![Family::V4, Family::V6]),
                Policy::PreferDualStack => either(),
            },
            // v0.15 on: one cluster IP means that family, free or not.
            (_, ServiceFamily::Single(f)) => has(f).then(|| smallvec![f]),
            (_, ServiceFamily::Dual) => match policy {
                Policy::PreferDualStack => either(),
                _ => both.then(|| smallvec![Family::V4, Family::V6]),
            },
        }
    }

    /// The event (reason `not enough clusterips`, not an AllocationFailed) for a
    /// RequireDualStack service with fewer than two cluster IPs, from v0.15.0; `cluster_ips`
    /// as the service lists them. Go: controller/service.go `convergeBalancer`.
    pub fn not_enough_cluster_ips_text<T: AsRef<str>>(&self, cluster_ips: &[T]) -> Option<String> {
        (self.require_dual_single_cluster_ip == RequireDualSingleClusterIp::Refused).then(|| {
            let listed: Vec<&str> = cluster_ips.iter().map(AsRef::as_ref).collect();
            format!(
                "Service requires dual stack but not enough clusterips [{}]",
                listed.join(" ")
            )
        })
    }

    /// The Info event `ClearAssignment` for service `key` whose held address `Assign`
    /// refused with `error`, or `None` when this release logs it only (v0.13.9).
    pub fn clear_assignment_text(&self, key: &str, error: &str) -> Option<String> {
        self.clear_assignment_event.then(|| {
            format!(
                "current IP for {} not allowed by config, will attempt for new IP assignment: {error}",
                go_quote(key)
            )
        })
    }

    /// The Info event `AdditionalAssignFailed` when a held single address of a dual
    /// PreferDualStack service cannot get its other family, or `None` before v0.14.9
    /// (the address is reallocated instead).
    pub fn additional_assign_failed_text(&self, error: &str) -> Option<String> {
        (self.held_single_address == HeldSingleAddress::KeptAndCompleted)
            .then(|| format!("cannot assign additional IP in PreferDualStack: {error}"))
    }

    /// The Warning `nolbIPsIPFamily` for held ingress IPs that are not one family, each as
    /// MetalLB parses it (`None`: not an IP address, Go's nil), or `None` when their family
    /// can be told. A single address that does not parse counts as IPv6 up to v0.13.x (no
    /// event; the address is then refused and cleared silently). Go: controller/service.go
    /// `convergeBalancer`, ipfamily.go `ForAddressesIPs` / `ForAddresses`.
    pub fn lb_ips_family_text(&self, ips: &[Option<Ip>]) -> Option<String> {
        // `ForAddressesIPs` prints each address with `String()` (nil: `<nil>`) and parses
        // those texts again.
        let texts: Vec<String> = ips
            .iter()
            .map(|ip| ip.map_or_else(|| "<nil>".to_string(), |ip| ip.to_string()))
            .collect();
        let error = self.family_error(&texts)?;
        Some(format!(
            "Failed to retrieve LBIPs IPFamily for {}: {error}",
            go_quoted_list(&texts)
        ))
    }

    /// The Warning `noclusterIPsIPFamily` for a service that holds ingress IPs and whose
    /// cluster IPs give no family (`spec.clusterIPs`, else `spec.clusterIP`), or `None` when
    /// they give one. Go: controller/service.go `convergeBalancer`, ipfamily.go `ForService`.
    pub fn cluster_ips_family_text<T: AsRef<str>>(
        &self,
        cluster_ips: &[T],
        cluster_ip: &str,
    ) -> Option<String> {
        let error = self.cluster_ips_family_error(cluster_ips, cluster_ip)?;
        Some(format!(
            "Failed to retrieve ClusterIPs IPFamily for {} {cluster_ip}: {error}",
            go_quoted_list(cluster_ips)
        ))
    }

    /// The error of ipfamily.go `ForService` (`spec.clusterIPs`, else `spec.clusterIP`),
    /// or `None` when they give a family: for a service without addresses, the text of its
    /// AllocationFailed (`allocateIPs` reads the family first).
    pub fn cluster_ips_family_error<T: AsRef<str>>(
        &self,
        cluster_ips: &[T],
        cluster_ip: &str,
    ) -> Option<String> {
        if cluster_ips.is_empty() {
            self.family_error(&[cluster_ip])
        } else {
            self.family_error(cluster_ips)
        }
    }

    /// The error of ipfamily.go `ForAddressesIPs` for requested addresses that are not one
    /// family (two of one family, more than two), or `None` when they are: the text of
    /// `getDesiredLbIPs`'s error. Go: controller/service.go `getDesiredLbIPs`.
    pub fn requested_ips_family_error(&self, ips: &[Ip]) -> Option<String> {
        match ips {
            [_] => None,
            [a, b] if a.family != b.family => None,
            _ => {
                let texts: Vec<String> = ips.iter().map(ToString::to_string).collect();
                self.family_error(&texts)
            }
        }
    }

    /// The error of ipfamily.go `ForAddresses` for these texts, or `None` when they make a
    /// family: one address (up to v0.13.x even one that does not parse, then IPv6), or two
    /// of different families. Runs for every service: builds a text only for an error.
    fn family_error<T: AsRef<str>>(&self, texts: &[T]) -> Option<String> {
        let parse = |t: &T| Ip::parse(t.as_ref());
        let what = match texts {
            [one] => match parse(one) {
                None if self.unparsable_cluster_ip == UnparsableClusterIp::Invalid => {
                    "Invalid address".to_string()
                }
                _ => return None,
            },
            [a, b] => match (parse(a), parse(b)) {
                (Some(a), Some(b)) if a.family == b.family => "same address family".to_string(),
                (Some(_), Some(_)) => return None,
                _ => "Invalid address".to_string(),
            },
            _ => format!("invalid ips length {}", texts.len()),
        };
        Some(format!(
            "IPFamilyForAddresses: {what} {}",
            go_quoted_list(texts)
        ))
    }

    /// Why the PreferDualStack top-up of a service holding `held` in `pool` fails when the
    /// pool has no free address of the other family for it (`free`: which families it
    /// still has one of, the held address counting as free for its holder), or `None`
    /// before v0.14.9 (no top-up). v0.14.9 asks for the missing family single-stack; from
    /// v0.15.0 that hands out a nil address, which `Assign` refuses; v0.16.0 first fails a
    /// pool with nothing free at all. Go: allocator.go `AllocateFromPoolForAdditionalFamily`,
    /// `getFreeIPsFromPool`; allocation.go `selectIPsForFamilyAndPolicy`.
    pub fn additional_family_error(&self, pool: &str, held: Ip, free: Free) -> Option<String> {
        if self.held_single_address != HeldSingleAddress::KeptAndCompleted {
            return None;
        }
        let missing = match held.family {
            Family::V4 => Family::V6,
            Family::V6 => Family::V4,
        };
        Some(match self.pool_failure_text {
            PoolFailureText::NoFreeAddressFirst if !free.v4 && !free.v6 => {
                format!("no available IPs in pool {pool}")
            }
            PoolFailureText::NilForSingleFamily | PoolFailureText::NoFreeAddressFirst => {
                format!(
                    "[{} \"<nil>\"] is not allowed in config",
                    go_quote(&held.to_string())
                )
            }
            _ => format!(
                "no available IPs in pool {pool} for {} IPFamily",
                ServiceFamily::Single(missing).name()
            ),
        })
    }

    /// `invalid <key>: "<value>"`: a loadBalancerIPs annotation that does not parse, named by
    /// this release's key whatever key the user wrote.
    pub fn invalid_load_balancer_ips_text(&self, value: &str) -> String {
        format!(
            "invalid {}: {}",
            self.load_balancer_ips_key,
            go_quote(value)
        )
    }

    /// Both a loadBalancerIPs annotation and `spec.loadBalancerIP`.
    pub fn both_load_balancer_ips_text(&self) -> String {
        format!(
            "service can not have both {} and svc.Spec.LoadBalancerIP",
            self.load_balancer_ips_key
        )
    }

    /// A pool's selector that does not parse: `error` from the selector library, `message`
    /// MetalLB's (`invalid namespace label selector … in ip pool <p>`).
    pub fn selector_error(&self, message: &str, error: &str) -> String {
        match self.selector_error_text {
            SelectorErrorText::Wrapped => format!("{message}: {error}"),
            SelectorErrorText::Joined => format!("{error}\n{message}"),
        }
    }

    /// The error a refused configuration gives (up to v0.13.x) when `service` could not
    /// keep `ips` (Go list, `["10.0.0.1"]`), or `None` when the release accepts it.
    pub fn orphaning_config_error(&self, service: &str, ips: &str) -> Option<String> {
        (self.orphaning_config == OrphaningConfig::Refused).then(|| {
            format!(
                "new config not compatible with assigned IPs: service {} cannot own {ips} under new config",
                go_quote(service)
            )
        })
    }
}

/// The counters MetalLB writes into `IPAddressPool.status` (v0.15.0 on): what a correct
/// cluster shows, quirks included, so that only a status that is really off is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusCounters {
    pub assigned_ipv4: i64,
    pub assigned_ipv6: i64,
    pub available_ipv4: i64,
    pub available_ipv6: i64,
}

/// MetalLB's `poolCount` per family (C.6, §3.2), as every release that writes a status
/// (v0.15.0 on; v0.14 computes it the same way for its metrics) counts: a block of 62 host
/// bits or more sets the IPv6 count to MaxInt64 (dropping what came before) and counting
/// goes on, so a later block overflows it; with `avoidBuggyIPs` a block longer than /24
/// loses one address for a first address ending in .0 or .255 and one for such a last
/// address, so a /32 of one loses two. Int64 arithmetic wraps, as Go's does. v0.13.x counts
/// one number (`PoolCount::Single`) for its metric only: it writes no status.
/// Go: allocator.go `poolCount`, `updatePoolStats`.
pub fn metallb_capacity(space: &super::addr::AddressSpace) -> (i64, i64) {
    let confuses_firmware =
        |ip: super::addr::Ip| ip.family == Family::V4 && matches!(ip.value & 0xff, 0 | 255);
    let (mut v4, mut v6) = (0i64, 0i64);
    for block in &space.blocks {
        let host_bits = block.first.family.bits() - u32::from(block.prefix);
        if host_bits >= 62 {
            v6 = i64::MAX;
            continue;
        }
        let mut size = 1i64 << host_bits;
        if space.avoid_buggy {
            if block.prefix <= 24 {
                // Only IPv4 gets here: an IPv6 block this short has 104 host bits or more.
                size -= (1i64 << (24 - u32::from(block.prefix))) * 2;
            } else {
                size -= i64::from(confuses_firmware(block.first));
                size -= i64::from(confuses_firmware(block.last()));
            }
        }
        match block.first.family {
            Family::V4 => v4 = v4.wrapping_add(size),
            Family::V6 => v6 = v6.wrapping_add(size),
        }
    }
    (v4, v6)
}

/// The status MetalLB writes for a pool of `space` whose services hold `used_v4` and
/// `used_v6` distinct addresses: available is its own capacity less those, wrapping.
/// Go: allocator.go `updatePoolStats` (`PoolCounters`).
pub fn metallb_status(
    space: &super::addr::AddressSpace,
    used_v4: u128,
    used_v6: u128,
) -> StatusCounters {
    let (v4, v6) = metallb_capacity(space);
    let used = |n: u128| i64::try_from(n).unwrap_or(i64::MAX);
    StatusCounters {
        assigned_ipv4: used(used_v4),
        assigned_ipv6: used(used_v6),
        available_ipv4: v4.wrapping_sub(used(used_v4)),
        available_ipv6: v6.wrapping_sub(used(used_v6)),
    }
}

/// Go's `%q` of a string: double quotes, with backslash, quote and control characters
/// escaped.
/// Go's `%q` of a `[]string` (or of values printed with `String()`): `["a" "b"]`.
fn go_quoted_list<T: AsRef<str>>(texts: &[T]) -> String {
    let quoted: Vec<String> = texts.iter().map(|t| go_quote(t.as_ref())).collect();
    format!("[{}]", quoted.join(" "))
}

pub(crate) fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(text: &str) -> Release {
        Release::from_text(text).unwrap()
    }

    fn at(text: &str) -> Behaviour {
        Behaviour::of(release(text))
    }

    // ----- Release: syntax, order, range -----

    #[test]
    fn releases_parse_with_or_without_v_and_display_with_it() {
        assert_eq!(Release::from_text("v0.15.3"), Some(Release::V0_15_3));
        assert_eq!(Release::from_text("0.15.3"), Some(Release::V0_15_3));
        assert_eq!(Release::V0_15_3.to_string(), "v0.15.3");
        assert_eq!(release("0.14.10").to_string(), "v0.14.10");
    }

    #[test]
    fn garbage_is_not_a_release() {
        for text in [
            "",
            "v",
            "v0.15",
            "0.15.3.1",
            "v0.15.x",
            "v0.15.3-rc1",
            "v-1.2.3",
            "v0..3",
            "x0.15.3",
            "v 0.15.3",
            "+1.2.3",
        ] {
            assert_eq!(Release::from_text(text), None, "{text:?}");
            assert_eq!(
                Release::parse(text),
                Err(VersionError::Invalid {
                    given: text.to_string()
                }),
                "{text:?}"
            );
        }
        assert_eq!(
            VersionError::Invalid {
                given: "foo".into()
            }
            .to_string(),
            "invalid MetalLB version \"foo\": expected vX.Y.Z (v0.13.9 to v0.16.1) or latest"
        );
    }

    #[test]
    fn releases_order_numerically() {
        assert!(release("v0.9.0") < Release::V0_13_9);
        assert!(release("v0.14.10") > Release::V0_14_9);
        assert!(Release::V0_14_9 > Release::V0_14_8);
        assert!(release("v1.0.0") > Release::V0_16_1);
        let mut sorted = Release::CHECKED;
        sorted.sort();
        assert_eq!(sorted, Release::CHECKED);
    }

    #[test]
    fn latest_is_the_newest() {
        let chosen = Release::parse("latest").unwrap();
        assert_eq!(chosen.release, Release::NEWEST);
        assert_eq!(chosen.newer, None);
        assert_eq!(chosen.warning(), None);
    }

    #[test]
    fn every_supported_release_is_itself() {
        for text in [
            "v0.13.9", "v0.13.12", "0.14.8", "v0.14.9", "v0.15.2", "v0.15.3", "v0.16.1",
        ] {
            let chosen = Release::parse(text).unwrap();
            assert_eq!(chosen.release, release(text));
            assert_eq!(chosen.warning(), None);
        }
    }

    #[test]
    fn older_than_the_oldest_is_an_error_naming_the_range() {
        let err = Release::parse("v0.13.8").unwrap_err();
        assert_eq!(
            err,
            VersionError::TooOld {
                given: release("v0.13.8")
            }
        );
        assert_eq!(
            err.to_string(),
            "MetalLB v0.13.8 is not supported: supported releases are v0.13.9 to v0.16.1 (or latest)"
        );
        assert!(Release::parse("v0.12.1").is_err());
        let as_usage: crate::error::Error = err.into();
        assert!(
            matches!(as_usage, crate::error::Error::Usage(m) if m.contains("v0.13.9 to v0.16.1"))
        );
    }

    #[test]
    fn newer_than_the_newest_is_the_newest_with_a_warning() {
        for text in ["v0.16.2", "v0.17.0", "v1.0.0"] {
            let chosen = Release::parse(text).unwrap();
            assert_eq!(chosen.release, Release::NEWEST);
            assert_eq!(chosen.newer, Some(release(text)));
            assert_eq!(
                chosen.warning().unwrap(),
                format!(
                    "MetalLB {text} is newer than the newest release this plugin models (v0.16.1); answers follow v0.16.1"
                )
            );
        }
    }

    // ----- VersionSource, MetallbVersion -----

    #[test]
    fn metallb_version_serializes_as_the_contract_spells_it() {
        let v = MetallbVersion {
            version: Release::V0_15_3,
            source: VersionSource::Image,
        };
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"version":"v0.15.3","source":"image"}"#
        );
        let names: Vec<String> = [
            VersionSource::Flag,
            VersionSource::Image,
            VersionSource::HelmLabels,
            VersionSource::Crds,
            VersionSource::Default,
        ]
        .iter()
        .map(|s| serde_json::to_string(s).unwrap())
        .collect();
        assert_eq!(
            names,
            [
                r#""flag""#,
                r#""image""#,
                r#""helm-labels""#,
                r#""crds""#,
                r#""default""#
            ]
        );
        let back: MetallbVersion =
            serde_json::from_str(r#"{"version": "v0.14.8", "source": "helm-labels"}"#).unwrap();
        assert_eq!(back.version, Release::V0_14_8);
        assert_eq!(back.source, VersionSource::HelmLabels);
        assert!(
            serde_json::from_str::<MetallbVersion>(r#"{"version": "new", "source": "flag"}"#)
                .is_err()
        );
    }

    #[test]
    fn flag_image_and_helm_labels_are_exact_crds_and_default_are_guesses() {
        assert!(VersionSource::Flag.is_exact());
        assert!(VersionSource::Image.is_exact());
        assert!(VersionSource::HelmLabels.is_exact());
        assert!(!VersionSource::Crds.is_exact());
        assert!(!VersionSource::Default.is_exact());
        let d = MetallbVersion::default_release();
        assert_eq!(
            (d.version, d.source),
            (Release::NEWEST, VersionSource::Default)
        );
        assert!(!d.is_exact());
    }

    // ----- Detection -----

    #[test]
    fn image_tags_give_the_release() {
        let cases = [
            ("quay.io/metallb/controller:v0.14.8", Some("v0.14.8")),
            (
                "quay.io/metallb/controller:v0.14.8@sha256:0123abcd",
                Some("v0.14.8"),
            ),
            ("reg:5000/metallb/controller:v0.15.3", Some("v0.15.3")),
            (
                "reg.example:5000/metallb/controller:0.16.1",
                Some("v0.16.1"),
            ),
            ("metallb/controller:v0.13.9", Some("v0.13.9")),
            (
                "docker.io/bitnami/metallb-controller:0.14.8-debian-12-r3",
                Some("v0.14.8"),
            ),
            ("quay.io/metallb/controller:v0.12.1", Some("v0.12.1")),
            ("quay.io/metallb/controller@sha256:0123abcd", None),
            ("reg:5000/metallb/controller@sha256:0123abcd", None),
            ("reg:5000/metallb/controller", None),
            ("quay.io/metallb/controller:main", None),
            ("quay.io/metallb/controller:latest", None),
            ("quay.io/metallb/controller", None),
            ("", None),
        ];
        for (image, expected) in cases {
            assert_eq!(release_from_image(image), expected.map(release), "{image}");
        }
    }

    #[test]
    fn helm_labels_give_the_release() {
        assert_eq!(
            release_from_helm_labels([("helm.sh/chart", "metallb-0.14.8")]),
            Some(Release::V0_14_8)
        );
        assert_eq!(
            release_from_helm_labels([("app.kubernetes.io/version", "v0.14.8")]),
            Some(Release::V0_14_8)
        );
        // The app version wins over the chart's.
        assert_eq!(
            release_from_helm_labels([
                ("helm.sh/chart", "metallb-0.14.8"),
                ("app.kubernetes.io/version", "v0.15.3"),
            ]),
            Some(Release::V0_15_3)
        );
        // A chart that numbers itself is not a release; its app version is.
        assert_eq!(
            release_from_helm_labels([("helm.sh/chart", "metallb-6.3.10")]),
            None
        );
        assert_eq!(
            release_from_helm_labels([
                ("helm.sh/chart", "metallb-6.3.10"),
                ("app.kubernetes.io/version", "0.14.8"),
            ]),
            Some(Release::V0_14_8)
        );
        assert_eq!(
            release_from_helm_labels([("helm.sh/chart", "other-0.14.8")]),
            None
        );
        assert_eq!(release_from_helm_labels([("app", "metallb")]), None);
    }

    /// CRD manifests: their schemas are read.
    fn crds<'a>(resources: &[&'a str], assigned_ipv4: bool, l2_selectors: bool) -> CrdFacts<'a> {
        CrdFacts {
            resources: resources.to_vec(),
            pool_status_assigned_ipv4: assigned_ipv4,
            l2_service_selectors: l2_selectors,
            pool_schema_known: true,
            l2_schema_known: true,
        }
    }

    const BASE: [&str; 6] = [
        "bfdprofiles",
        "bgpadvertisements",
        "bgppeers",
        "communities",
        "ipaddresspools",
        "l2advertisements",
    ];

    fn with(extra: &[&'static str]) -> Vec<&'static str> {
        BASE.iter().chain(extra).copied().collect()
    }

    #[test]
    fn crds_of_each_checked_release_give_their_lower_bound() {
        // The CRDs each release serves (config/crd/bases at the tag).
        let v0_13_9 = crds(&with(&["addresspools"]), false, false);
        let v0_14_8 = crds(&with(&["servicel2statuses"]), false, false);
        let v0_14_9 = v0_14_8.clone();
        let v0_15_0 = crds(
            &with(&["servicel2statuses", "servicebgpstatuses"]),
            true,
            false,
        );
        let v0_15_3 = crds(
            &with(&[
                "servicel2statuses",
                "servicebgpstatuses",
                "configurationstates",
            ]),
            true,
            false,
        );
        let v0_16_1 = crds(
            &with(&[
                "servicel2statuses",
                "servicebgpstatuses",
                "configurationstates",
            ]),
            true,
            true,
        );
        let guess = |c: &CrdFacts| release_from_crds(c).unwrap();
        assert_eq!(
            guess(&v0_13_9),
            CrdGuess {
                lower: Release::OLDEST,
                upper: Some(release("v0.14.2"))
            }
        );
        assert_eq!(guess(&v0_13_9).release(), Release::V0_13_9);
        assert_eq!(guess(&v0_14_8).release(), release("v0.14.4"));
        assert_eq!(guess(&v0_14_9).release(), release("v0.14.4"));
        assert_eq!(guess(&v0_15_0).release(), release("v0.15.0"));
        assert_eq!(guess(&v0_15_3).release(), Release::V0_15_3);
        assert_eq!(guess(&v0_16_1).release(), release("v0.16.0"));
        assert_eq!(guess(&v0_16_1).upper, None);
    }

    #[test]
    fn each_fingerprint_alone_is_a_lower_bound() {
        let one = |c: CrdFacts| release_from_crds(&c).unwrap().lower;
        assert_eq!(
            one(crds(&with(&["servicel2statuses"]), false, false)),
            release("v0.14.4")
        );
        assert_eq!(
            one(crds(&with(&["servicebgpstatuses"]), false, false)),
            release("v0.15.0")
        );
        assert_eq!(one(crds(&with(&[]), true, false)), release("v0.15.0"));
        assert_eq!(
            one(crds(&with(&["configurationstates"]), false, false)),
            Release::V0_15_3
        );
        assert_eq!(one(crds(&with(&[]), false, true)), release("v0.16.0"));
        // Only the pool CRD: nothing older than the oldest modelled is assumed.
        assert_eq!(
            release_from_crds(&crds(&with(&[]), false, false))
                .unwrap()
                .release(),
            Release::OLDEST
        );
    }

    #[test]
    fn a_leftover_addresspools_crd_is_no_upper_bound_next_to_newer_ones() {
        let upgraded = crds(&with(&["addresspools", "configurationstates"]), true, true);
        assert_eq!(
            release_from_crds(&upgraded),
            Some(CrdGuess {
                lower: release("v0.16.0"),
                upper: None
            })
        );
    }

    fn discovered<'a>(resources: &[&'a str]) -> CrdFacts<'a> {
        CrdFacts {
            resources: resources.to_vec(),
            ..CrdFacts::default()
        }
    }

    #[test]
    fn the_l2_schema_is_worth_reading_only_between_v0_15_3_and_v0_16() {
        let all = with(&[
            "servicel2statuses",
            "servicebgpstatuses",
            "configurationstates",
        ]);
        // Discovery of v0.15.3 or v0.16: only the schema tells them apart.
        assert!(l2_schema_would_settle(&discovered(&all)));
        // Once read (with or without serviceSelectors), nothing is left to settle.
        for selectors in [false, true] {
            let read = CrdFacts {
                l2_service_selectors: selectors,
                l2_schema_known: true,
                ..discovered(&all)
            };
            assert!(!l2_schema_would_settle(&read));
        }
        // Older CRDs: the range ends before v0.16.0, or differs elsewhere (v0.14.4–v0.14.9).
        let v0_15_0 = with(&["servicel2statuses", "servicebgpstatuses"]);
        assert!(!l2_schema_would_settle(&discovered(&v0_15_0)));
        assert!(!l2_schema_would_settle(&discovered(&with(&[
            "servicel2statuses"
        ]))));
        // No L2Advertisement CRD, or no MetalLB at all.
        let without_l2: Vec<&str> = all
            .iter()
            .copied()
            .filter(|r| *r != "l2advertisements")
            .collect();
        assert!(!l2_schema_would_settle(&discovered(&without_l2)));
        assert!(!l2_schema_would_settle(&discovered(&[])));
    }

    #[test]
    fn crds_bound_the_release_from_above_with_what_they_lack() {
        let range = |c: CrdFacts| {
            let g = release_from_crds(&c).unwrap();
            (g.lower, g.upper)
        };
        let v0_15_3 = with(&[
            "servicel2statuses",
            "servicebgpstatuses",
            "configurationstates",
        ]);
        // Manifests show the L2Advertisement schema without serviceSelectors: v0.15.3 only.
        assert_eq!(
            range(crds(&v0_15_3, true, false)),
            (Release::V0_15_3, Some(Release::V0_15_3))
        );
        // API discovery cannot see a schema field: v0.15.3 or anything newer.
        assert_eq!(range(discovered(&v0_15_3)), (Release::V0_15_3, None));
        // servicel2statuses without servicebgpstatuses: v0.14.4 to v0.14.9.
        assert_eq!(
            range(discovered(&with(&["servicel2statuses"]))),
            (release("v0.14.4"), Some(Release::V0_14_9))
        );
        assert_eq!(
            range(crds(
                &with(&["servicebgpstatuses", "servicel2statuses"]),
                true,
                false
            )),
            (release("v0.15.0"), Some(release("v0.15.2")))
        );
    }

    #[test]
    fn crds_that_allow_releases_with_different_rules_are_ambiguous() {
        let ambiguity = |c: CrdFacts| crd_ambiguity(&release_from_crds(&c).unwrap());
        let v0_15_3 = with(&[
            "servicel2statuses",
            "servicebgpstatuses",
            "configurationstates",
        ]);
        // Live: v0.15.3 and v0.16 differ (advertisement serviceSelectors, pool texts).
        assert_eq!(
            ambiguity(discovered(&v0_15_3)).unwrap(),
            "the MetalLB CRDs served fit any release from v0.15.3 to v0.16.1, whose rules differ, and cannot tell them apart: answers follow v0.15.3 (give --metallb-version)"
        );
        assert_eq!(ambiguity(crds(&v0_15_3, true, false)), None);
        // v0.16.0 and v0.16.1 have the same rules; so do v0.15.0 to v0.15.2.
        assert_eq!(ambiguity(crds(&v0_15_3, true, true)), None);
        assert_eq!(
            ambiguity(crds(
                &with(&["servicebgpstatuses", "servicel2statuses"]),
                true,
                false
            )),
            None
        );
        // v0.14.4 to v0.14.9 span the metallb.io/ annotations (v0.14.9).
        assert!(ambiguity(discovered(&with(&["servicel2statuses"]))).is_some());
        // Resolved: said beside the release, which stays the oldest allowed.
        let d = Evidence {
            crds: release_from_crds(&discovered(&v0_15_3)),
            ..Evidence::default()
        }
        .resolve();
        assert_eq!(d.version.version, Release::V0_15_3);
        assert_eq!(d.version.source, VersionSource::Crds);
        assert!(d.ambiguity.is_some());
        // The image settles it.
        let d = Evidence {
            image: Some(Release::V0_16_1),
            crds: release_from_crds(&discovered(&v0_15_3)),
            ..Evidence::default()
        }
        .resolve();
        assert_eq!(d.ambiguity, None);
    }

    #[test]
    fn no_pool_crd_gives_no_guess() {
        assert_eq!(
            release_from_crds(&crds(&["l2advertisements"], false, true)),
            None
        );
        assert_eq!(release_from_crds(&CrdFacts::default()), None);
    }

    #[test]
    fn crds_newer_than_the_image_are_a_mismatch() {
        let crds = CrdGuess {
            lower: Release::V0_15_3,
            upper: None,
        };
        assert_eq!(
            crd_mismatch(Release::V0_14_8, &crds).unwrap(),
            "the MetalLB CRDs served are from v0.15.3 or newer, but the controller image is v0.14.8: answers follow v0.14.8"
        );
        assert_eq!(crd_mismatch(Release::V0_15_3, &crds), None);
        assert_eq!(crd_mismatch(Release::V0_16_1, &crds), None);
    }

    #[test]
    fn detection_trusts_flag_then_image_then_helm_then_crds_then_default() {
        let crds = Some(CrdGuess {
            lower: release("v0.14.4"),
            upper: None,
        });
        let all = Evidence {
            flag: Some(Release::parse("v0.13.9").unwrap()),
            image: Some(Release::V0_15_3),
            helm_labels: Some(Release::V0_14_9),
            crds,
        };
        let source = |e: Evidence| {
            let d = e.resolve();
            (d.version.version, d.version.source)
        };
        assert_eq!(source(all), (Release::V0_13_9, VersionSource::Flag));
        let no_flag = Evidence { flag: None, ..all };
        assert_eq!(source(no_flag), (Release::V0_15_3, VersionSource::Image));
        let helm = Evidence {
            image: None,
            ..no_flag
        };
        assert_eq!(source(helm), (Release::V0_14_9, VersionSource::HelmLabels));
        let only_crds = Evidence {
            helm_labels: None,
            ..helm
        };
        assert_eq!(source(only_crds), (release("v0.14.4"), VersionSource::Crds));
        assert_eq!(
            source(Evidence::default()),
            (Release::NEWEST, VersionSource::Default)
        );
        assert!(Evidence::default().resolve().warnings.is_empty());
    }

    #[test]
    fn detection_warns_on_a_mismatch_and_out_of_range_releases() {
        let newer_crds = Some(CrdGuess {
            lower: Release::V0_15_3,
            upper: None,
        });
        let d = Evidence {
            image: Some(Release::V0_14_8),
            crds: newer_crds,
            ..Evidence::default()
        }
        .resolve();
        assert_eq!(d.version.version, Release::V0_14_8);
        assert_eq!(d.warnings.len(), 1);
        assert!(d.warnings[0].contains("CRDs served are from v0.15.3"));

        let old = Evidence {
            image: Some(release("v0.12.1")),
            ..Evidence::default()
        }
        .resolve();
        assert_eq!(old.version.version, Release::OLDEST);
        assert_eq!(
            old.warnings,
            [
                "MetalLB v0.12.1 is older than the oldest release this plugin models (v0.13.9); answers follow v0.13.9"
            ]
        );

        let new = Evidence {
            helm_labels: Some(release("v0.17.0")),
            ..Evidence::default()
        }
        .resolve();
        assert_eq!(new.version.version, Release::NEWEST);
        assert_eq!(new.version.source, VersionSource::HelmLabels);
        assert_eq!(new.warnings.len(), 1);
        assert!(new.warnings[0].contains("v0.17.0 is newer"));
    }

    // ----- Behaviour: each difference, each side of its threshold -----

    #[test]
    fn annotation_prefix_read_changes_at_0_14_9() {
        assert_eq!(at("v0.13.9").annotation_keys, AnnotationKeys::UniverseOnly);
        assert_eq!(at("v0.14.8").annotation_keys, AnnotationKeys::UniverseOnly);
        assert_eq!(
            at("v0.14.9").annotation_keys,
            AnnotationKeys::MetallbIoFirst
        );
        assert_eq!(
            at("v0.16.1").annotation_keys,
            AnnotationKeys::MetallbIoFirst
        );
        assert_eq!(
            at("v0.14.8").ignored_annotation_prefix(),
            Some("metallb.io/")
        );
        assert_eq!(at("v0.14.9").ignored_annotation_prefix(), None);
    }

    #[test]
    fn annotation_value_follows_the_release_rule() {
        let (old, new) = (at("v0.14.8"), at("v0.14.9"));
        // Only metallb.io/: ignored before 0.14.9.
        assert_eq!(old.annotation_value(Some("p"), None), "");
        assert_eq!(new.annotation_value(Some("p"), None), "p");
        // Both, different: universe.tf wins before, metallb.io after.
        assert_eq!(old.annotation_value(Some("new"), Some("old")), "old");
        assert_eq!(new.annotation_value(Some("new"), Some("old")), "new");
        // metallb.io present but empty: from 0.14.9 it hides the universe.tf value.
        assert_eq!(old.annotation_value(Some(""), Some("old")), "old");
        assert_eq!(new.annotation_value(Some(""), Some("old")), "");
        // Only universe.tf: read by every release.
        assert_eq!(old.annotation_value(None, Some("old")), "old");
        assert_eq!(new.annotation_value(None, Some("old")), "old");
        assert_eq!(new.annotation_value(None, None), "");
    }

    #[test]
    fn keys_written_and_named_change_at_0_14_9() {
        let (old, new) = (at("v0.14.8"), at("v0.14.9"));
        assert_eq!(
            old.allocated_from_pool_key,
            "metallb.universe.tf/ip-allocated-from-pool"
        );
        assert_eq!(
            new.allocated_from_pool_key,
            "metallb.io/ip-allocated-from-pool"
        );
        assert_eq!(
            old.invalid_load_balancer_ips_text("x"),
            "invalid metallb.universe.tf/loadBalancerIPs: \"x\""
        );
        assert_eq!(
            new.invalid_load_balancer_ips_text("x"),
            "invalid metallb.io/loadBalancerIPs: \"x\""
        );
        assert_eq!(
            old.both_load_balancer_ips_text(),
            "service can not have both metallb.universe.tf/loadBalancerIPs and svc.Spec.LoadBalancerIP"
        );
        assert_eq!(
            new.both_load_balancer_ips_text(),
            "service can not have both metallb.io/loadBalancerIPs and svc.Spec.LoadBalancerIP"
        );
    }

    #[test]
    fn priority_only_pools_are_pinned_from_0_15_0() {
        assert_eq!(
            at("v0.14.9").priority_only_pools,
            PriorityOnlyPools::NeverAutoAssigned
        );
        assert!(!at("v0.14.9").priority_only_pool_is_pinned());
        assert!(!at("v0.13.9").priority_only_pool_is_pinned());
        assert_eq!(
            at("v0.15.0").priority_only_pools,
            PriorityOnlyPools::PinnedForAll
        );
        assert!(at("v0.15.3").priority_only_pool_is_pinned());
    }

    #[test]
    fn pinned_search_changes_at_0_14_9() {
        assert_eq!(at("v0.14.8").pinned_search, PinnedSearch::EachInTurn);
        assert_eq!(at("v0.14.9").pinned_search, PinnedSearch::BestPoolOnce);
    }

    #[test]
    fn legacy_pools_orphan_refusal_no_pools_unparsable_ip_and_count_change_at_0_14_0() {
        let (old, new) = (at("v0.13.12"), at("v0.14.0"));
        assert!(at("v0.13.9").legacy_address_pools);
        assert!(old.legacy_address_pools);
        assert!(!new.legacy_address_pools);
        assert_eq!(old.orphaning_config, OrphaningConfig::Refused);
        assert_eq!(new.orphaning_config, OrphaningConfig::Accepted);
        assert_eq!(old.no_pools, NoPools::AllocationFailed);
        assert_eq!(new.no_pools, NoPools::NoEvent);
        assert_eq!(old.unparsable_cluster_ip, UnparsableClusterIp::Ipv6);
        assert_eq!(new.unparsable_cluster_ip, UnparsableClusterIp::Invalid);
        assert_eq!(old.pool_count, PoolCount::Single);
        assert_eq!(new.pool_count, PoolCount::PerFamily);
    }

    #[test]
    fn orphaning_config_error_is_worded_as_0_13_words_it() {
        assert_eq!(
            at("v0.13.9")
                .orphaning_config_error("web/a", "[\"10.0.0.1\"]")
                .unwrap(),
            "new config not compatible with assigned IPs: service \"web/a\" cannot own [\"10.0.0.1\"] under new config"
        );
        assert_eq!(at("v0.14.0").orphaning_config_error("web/a", "[]"), None);
    }

    #[test]
    fn pool_check_duplicate_validation_and_clear_assignment_start_at_0_13_10() {
        let (old, new) = (at("v0.13.9"), at("v0.13.10"));
        assert!(!old.requested_ip_pool_check);
        assert!(new.requested_ip_pool_check);
        assert!(at("v0.14.8").requested_ip_pool_check);
        assert!(!old.duplicate_selector_validation);
        assert!(new.duplicate_selector_validation);
        assert!(at("v0.14.8").duplicate_selector_validation);
        assert!(!old.clear_assignment_event);
        assert!(new.clear_assignment_event);
    }

    #[test]
    fn selector_errors_are_joined_from_0_14_6() {
        assert_eq!(at("v0.14.5").selector_error("msg", "err"), "msg: err");
        assert_eq!(at("v0.14.6").selector_error("msg", "err"), "err\nmsg");
        assert_eq!(
            at("v0.13.9").selector_error_text,
            SelectorErrorText::Wrapped
        );
        assert_eq!(at("v0.14.8").selector_error_text, SelectorErrorText::Joined);
    }

    #[test]
    fn require_dual_stack_with_one_cluster_ip_per_release() {
        assert_eq!(
            at("v0.14.8").require_dual_single_cluster_ip,
            RequireDualSingleClusterIp::SingleStack
        );
        assert_eq!(
            at("v0.14.9").require_dual_single_cluster_ip,
            RequireDualSingleClusterIp::BothFromFirstPool
        );
        assert_eq!(
            at("v0.15.0").require_dual_single_cluster_ip,
            RequireDualSingleClusterIp::Refused
        );
        // With an address-pool annotation: one address, two, or refused upfront.
        let v4 = ServiceFamily::Single(Family::V4);
        let both = Free { v4: true, v6: true };
        let only_v4 = Free {
            v4: true,
            v6: false,
        };
        let rd = Policy::RequireDualStack;
        assert_eq!(
            at("v0.14.8").requested_pool_families(v4, rd, both),
            Some(smallvec![Family::V4])
        );
        assert_eq!(
            at("v0.14.9").requested_pool_families(v4, rd, both),
            Some(smallvec![Family::V4, Family::V6])
        );
        assert_eq!(at("v0.14.9").requested_pool_families(v4, rd, only_v4), None);
        assert_eq!(
            at("v0.14.9")
                .requested_pool_failure("p", v4, rd, only_v4)
                .unwrap(),
            "no available IPs in pool p for ipv4 IPFamily"
        );
    }

    #[test]
    fn prefer_dual_stack_with_one_cluster_ip_per_release() {
        assert_eq!(
            at("v0.14.8").prefer_dual_single_cluster_ip,
            PreferDualSingleClusterIp::ClusterIpFamily
        );
        assert_eq!(
            at("v0.14.9").prefer_dual_single_cluster_ip,
            PreferDualSingleClusterIp::BothOrEither
        );
        assert_eq!(
            at("v0.15.0").prefer_dual_single_cluster_ip,
            PreferDualSingleClusterIp::ClusterIpFamily
        );
        let v4 = ServiceFamily::Single(Family::V4);
        let pd = Policy::PreferDualStack;
        let only_v6 = Free {
            v4: false,
            v6: true,
        };
        let both = Free { v4: true, v6: true };
        // An annotated pool of the other family only: that family on 0.14.9 only.
        assert_eq!(at("v0.14.8").requested_pool_families(v4, pd, only_v6), None);
        assert_eq!(
            at("v0.14.9").requested_pool_families(v4, pd, only_v6),
            Some(smallvec![Family::V6])
        );
        assert_eq!(at("v0.15.0").requested_pool_families(v4, pd, only_v6), None);
        assert_eq!(
            at("v0.15.0")
                .requested_pool_failure("p", v4, pd, only_v6)
                .unwrap(),
            "[\"<nil>\"] is not allowed in config"
        );
        // A pool with both: two addresses on 0.14.9 only.
        assert_eq!(
            at("v0.14.8").requested_pool_families(v4, pd, both),
            Some(smallvec![Family::V4])
        );
        assert_eq!(
            at("v0.14.9").requested_pool_families(v4, pd, both),
            Some(smallvec![Family::V4, Family::V6])
        );
        assert_eq!(
            at("v0.15.0").requested_pool_families(v4, pd, both),
            Some(smallvec![Family::V4])
        );
    }

    fn ips(texts: &[&str]) -> Vec<Option<Ip>> {
        texts.iter().map(|t| Ip::parse(t)).collect()
    }

    #[test]
    fn held_ips_of_no_one_family_are_worded_as_every_release_words_them() {
        for r in ["v0.13.9", "v0.14.0", "v0.16.1"] {
            assert_eq!(
                at(r)
                    .lb_ips_family_text(&ips(&["10.0.0.1", "10.0.0.2"]))
                    .unwrap(),
                "Failed to retrieve LBIPs IPFamily for [\"10.0.0.1\" \"10.0.0.2\"]: IPFamilyForAddresses: same address family [\"10.0.0.1\" \"10.0.0.2\"]"
            );
            assert_eq!(
                at(r)
                    .lb_ips_family_text(&ips(&["10.0.0.1", "nope"]))
                    .unwrap(),
                "Failed to retrieve LBIPs IPFamily for [\"10.0.0.1\" \"<nil>\"]: IPFamilyForAddresses: Invalid address [\"10.0.0.1\" \"<nil>\"]"
            );
            assert_eq!(
                at(r)
                    .lb_ips_family_text(&ips(&["10.0.0.1", "2001:db8::1", "10.0.0.2"]))
                    .unwrap(),
                "Failed to retrieve LBIPs IPFamily for [\"10.0.0.1\" \"2001:db8::1\" \"10.0.0.2\"]: IPFamilyForAddresses: invalid ips length 3 [\"10.0.0.1\" \"2001:db8::1\" \"10.0.0.2\"]"
            );
            assert_eq!(at(r).lb_ips_family_text(&ips(&["10.0.0.1"])), None);
            assert_eq!(
                at(r).lb_ips_family_text(&ips(&["10.0.0.1", "2001:db8::1"])),
                None
            );
        }
    }

    #[test]
    fn one_held_ip_that_does_not_parse_is_an_event_from_0_14_0_and_ipv6_before() {
        assert_eq!(at("v0.13.12").lb_ips_family_text(&ips(&["nope"])), None);
        assert_eq!(
            at("v0.14.0").lb_ips_family_text(&ips(&["nope"])).unwrap(),
            "Failed to retrieve LBIPs IPFamily for [\"<nil>\"]: IPFamilyForAddresses: Invalid address [\"<nil>\"]"
        );
    }

    #[test]
    fn the_top_up_failure_is_worded_per_release_from_0_14_9() {
        let held = Ip::parse("10.0.0.7").unwrap();
        let v4_only = Free {
            v4: true,
            v6: false,
        };
        let nothing = Free::default();
        assert_eq!(
            at("v0.14.8").additional_family_error("p", held, v4_only),
            None
        );
        assert_eq!(
            at("v0.14.9")
                .additional_family_error("p", held, v4_only)
                .unwrap(),
            "no available IPs in pool p for ipv6 IPFamily"
        );
        let nil = "[\"10.0.0.7\" \"<nil>\"] is not allowed in config";
        assert_eq!(
            at("v0.15.0")
                .additional_family_error("p", held, v4_only)
                .unwrap(),
            nil
        );
        assert_eq!(
            at("v0.15.3")
                .additional_family_error("p", held, nothing)
                .unwrap(),
            nil
        );
        assert_eq!(
            at("v0.16.0")
                .additional_family_error("p", held, v4_only)
                .unwrap(),
            nil
        );
        assert_eq!(
            at("v0.16.0")
                .additional_family_error("p", held, nothing)
                .unwrap(),
            "no available IPs in pool p"
        );
        let v6 = Ip::parse("2001:db8::7").unwrap();
        assert_eq!(
            at("v0.14.9")
                .additional_family_error(
                    "p",
                    v6,
                    Free {
                        v4: false,
                        v6: true
                    }
                )
                .unwrap(),
            "no available IPs in pool p for ipv4 IPFamily"
        );
    }

    #[test]
    fn dual_pool_search_and_held_single_address_change_at_0_14_9() {
        assert_eq!(
            at("v0.14.8").dual_pool_search,
            DualPoolSearch::BothFamiliesOnly
        );
        assert_eq!(
            at("v0.14.9").dual_pool_search,
            DualPoolSearch::BothFirstThenPrimaryThenSecondary
        );
        assert_eq!(
            at("v0.14.8").held_single_address,
            HeldSingleAddress::Reallocated
        );
        assert_eq!(
            at("v0.14.9").held_single_address,
            HeldSingleAddress::KeptAndCompleted
        );
        assert_eq!(at("v0.14.8").additional_assign_failed_text("e"), None);
        assert_eq!(
            at("v0.14.9").additional_assign_failed_text("e").unwrap(),
            "cannot assign additional IP in PreferDualStack: e"
        );
        // A dual PreferDualStack service and an annotated pool with one family free.
        let pd = Policy::PreferDualStack;
        let only_v4 = Free {
            v4: true,
            v6: false,
        };
        assert_eq!(
            at("v0.14.8").requested_pool_families(ServiceFamily::Dual, pd, only_v4),
            None
        );
        assert_eq!(
            at("v0.14.9").requested_pool_families(ServiceFamily::Dual, pd, only_v4),
            Some(smallvec![Family::V4])
        );
    }

    #[test]
    fn advertisement_service_selectors_from_0_16_0() {
        assert!(!at("v0.15.3").advertisement_service_selectors);
        assert!(at("v0.16.0").advertisement_service_selectors);
    }

    #[test]
    fn pool_status_counters_from_0_15_0() {
        assert!(!at("v0.14.9").pool_status_counters);
        assert!(at("v0.15.0").pool_status_counters);
    }

    #[test]
    fn pool_failure_wording_changes_at_0_14_9_0_15_0_and_0_16_0() {
        assert_eq!(
            at("v0.14.8").pool_failure_text,
            PoolFailureText::QuotedPerFamily
        );
        assert_eq!(
            at("v0.14.9").pool_failure_text,
            PoolFailureText::UnquotedPerFamily
        );
        assert_eq!(
            at("v0.15.0").pool_failure_text,
            PoolFailureText::NilForSingleFamily
        );
        assert_eq!(
            at("v0.15.3").pool_failure_text,
            PoolFailureText::NilForSingleFamily
        );
        assert_eq!(
            at("v0.16.0").pool_failure_text,
            PoolFailureText::NoFreeAddressFirst
        );
    }

    // ----- C.4: every text, for each of the five checked releases -----

    /// `(release, expected)` for each checked release, in [`Release::CHECKED`] order.
    fn per_release<T: PartialEq + fmt::Debug>(
        what: &str,
        f: impl Fn(&Behaviour) -> T,
        expected: [T; 5],
    ) {
        for (r, want) in Release::CHECKED.iter().zip(expected) {
            assert_eq!(f(&Behaviour::of(*r)), want, "{what} on {r}");
        }
    }

    #[test]
    fn c4_automatic_nothing_fits() {
        per_release(
            "automatic",
            |b| b.automatic_failure_text(),
            ["no available IPs"; 5],
        );
    }

    #[test]
    fn c4_annotated_pool_single_family_nothing_free() {
        let v4 = ServiceFamily::Single(Family::V4);
        per_release(
            "nothing free",
            |b| b.requested_pool_failure("p", v4, Policy::SingleStack, Free::default()),
            [
                Some("no available IPs in pool \"p\" for ipv4 IPFamily".to_string()),
                Some("no available IPs in pool \"p\" for ipv4 IPFamily".to_string()),
                Some("no available IPs in pool p for ipv4 IPFamily".to_string()),
                Some("[\"<nil>\"] is not allowed in config".to_string()),
                Some("no available IPs in pool p".to_string()),
            ],
        );
    }

    #[test]
    fn c4_annotated_pool_single_family_only_other_family_free() {
        let v6 = ServiceFamily::Single(Family::V6);
        let only_v4 = Free {
            v4: true,
            v6: false,
        };
        per_release(
            "other family free",
            |b| b.requested_pool_failure("p", v6, Policy::SingleStack, only_v4),
            [
                Some("no available IPs in pool \"p\" for ipv6 IPFamily".to_string()),
                Some("no available IPs in pool \"p\" for ipv6 IPFamily".to_string()),
                Some("no available IPs in pool p for ipv6 IPFamily".to_string()),
                Some("[\"<nil>\"] is not allowed in config".to_string()),
                Some("[\"<nil>\"] is not allowed in config".to_string()),
            ],
        );
    }

    #[test]
    fn c4_annotated_pool_dual_service() {
        let rd = Policy::RequireDualStack;
        let dual = ServiceFamily::Dual;
        per_release(
            "dual, nothing free",
            |b| b.requested_pool_failure("p", dual, rd, Free::default()),
            [
                Some("no available IPs in pool \"p\" for dual IPFamily".to_string()),
                Some("no available IPs in pool \"p\" for dual IPFamily".to_string()),
                Some("no available IPs in pool p for dual IPFamily".to_string()),
                Some("no available IPs in pool p for dual IPFamily".to_string()),
                Some("no available IPs in pool p".to_string()),
            ],
        );
        let only_v4 = Free {
            v4: true,
            v6: false,
        };
        per_release(
            "dual, one family free",
            |b| b.requested_pool_failure("p", dual, rd, only_v4),
            [
                Some("no available IPs in pool \"p\" for dual IPFamily".to_string()),
                Some("no available IPs in pool \"p\" for dual IPFamily".to_string()),
                Some("no available IPs in pool p for dual IPFamily".to_string()),
                Some("no available IPs in pool p for dual IPFamily".to_string()),
                Some("no available IPs in pool p for dual IPFamily".to_string()),
            ],
        );
        let both = Free { v4: true, v6: true };
        per_release(
            "dual, both free",
            |b| b.requested_pool_failure("p", dual, rd, both),
            [None, None, None, None, None],
        );
    }

    #[test]
    fn c4_no_pools_at_all() {
        per_release(
            "no pools",
            |b| b.no_pools_text(),
            [Some("no available IPs"), None, None, None, None],
        );
    }

    #[test]
    fn c4_require_dual_stack_one_cluster_ip_event() {
        let text = "Service requires dual stack but not enough clusterips [10.96.0.1]".to_string();
        per_release(
            "not enough clusterips",
            |b| b.not_enough_cluster_ips_text(&["10.96.0.1"]),
            [None, None, None, Some(text.clone()), Some(text)],
        );
        assert_eq!(
            at("v0.16.1")
                .not_enough_cluster_ips_text::<&str>(&[])
                .unwrap(),
            "Service requires dual stack but not enough clusterips []"
        );
    }

    #[test]
    fn c4_held_address_refused() {
        let text = "current IP for \"web/a\" not allowed by config, will attempt for new IP assignment: [\"10.0.0.1\"] is not allowed in config".to_string();
        per_release(
            "ClearAssignment",
            |b| b.clear_assignment_text("web/a", "[\"10.0.0.1\"] is not allowed in config"),
            [
                None,
                Some(text.clone()),
                Some(text.clone()),
                Some(text.clone()),
                Some(text),
            ],
        );
    }

    #[test]
    fn c4_key_named_in_request_texts() {
        let old = "invalid metallb.universe.tf/loadBalancerIPs: \"1.2.3\"".to_string();
        let new = "invalid metallb.io/loadBalancerIPs: \"1.2.3\"".to_string();
        per_release(
            "invalid loadBalancerIPs",
            |b| b.invalid_load_balancer_ips_text("1.2.3"),
            [old.clone(), old, new.clone(), new.clone(), new],
        );
    }

    #[test]
    fn go_quote_escapes_as_go_does() {
        assert_eq!(go_quote("a\"b\\c\nd\u{1}é"), "\"a\\\"b\\\\c\\nd\\x01é\"");
    }

    // ----- MetalLB's own counts (C.6) -----

    fn space(entries: &[&str], avoid_buggy: bool) -> super::super::addr::AddressSpace {
        let blocks = entries
            .iter()
            .flat_map(|e| super::super::addr::parse_entry(e).unwrap().blocks)
            .collect();
        super::super::addr::AddressSpace {
            blocks,
            avoid_buggy,
        }
    }

    #[test]
    fn metallb_counts_large_ipv6_blocks_as_maxint64_and_overflows_after_them() {
        assert_eq!(
            metallb_capacity(&space(&["2001:db8::/64", "10.20.0.0/32"], false)),
            (1, i64::MAX)
        );
        // What came before is dropped; what comes after wraps.
        assert_eq!(
            metallb_capacity(&space(&["2001:db9::/126", "2001:db8::/64"], false)),
            (0, i64::MAX)
        );
        assert_eq!(
            metallb_capacity(&space(&["2001:db8::/64", "2001:db9::/126"], false)),
            (0, i64::MIN + 3)
        );
        // 61 host bits are still counted.
        assert_eq!(
            metallb_capacity(&space(&["2001:db8::/67"], false)),
            (0, 1 << 61)
        );
    }

    #[test]
    fn metallb_counts_avoid_buggy_ips_twice_in_a_slash_32() {
        assert_eq!(metallb_capacity(&space(&["10.1.0.0/23"], true)).0, 508);
        assert_eq!(metallb_capacity(&space(&["10.1.0.128/25"], true)).0, 127);
        // B2: a /32 on .0 is both the first and the last address.
        assert_eq!(metallb_capacity(&space(&["10.2.0.0/32"], true)).0, -1);
        assert_eq!(metallb_capacity(&space(&["10.2.0.0/32"], false)).0, 1);
        // A range crossing .255/.0 becomes two such /32 blocks.
        assert_eq!(
            metallb_capacity(&space(&["10.0.0.255-10.0.1.0"], true)).0,
            -2
        );
    }

    #[test]
    fn metallb_status_is_capacity_less_the_addresses_held() {
        let status = metallb_status(&space(&["2001:db8::/64", "10.20.0.0/32"], false), 1, 0);
        assert_eq!(
            status,
            StatusCounters {
                assigned_ipv4: 1,
                assigned_ipv6: 0,
                available_ipv4: 0,
                available_ipv6: i64::MAX,
            }
        );
    }
}
