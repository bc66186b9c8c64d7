//! The one pipeline from a snapshot to the MetalLB model every report reads: how MetalLB
//! runs (namespace, `--lb-class`), which configuration it loads, and the occupancy it
//! rebuilds. The command, the benchmarks and the tests all build it here.

use crate::metallb::allocator::{Cluster, SelectorKeys};
use crate::metallb::config::{Config, advertisement_warnings};
use crate::metallb::reason::{Code, Reason};
use crate::metallb::release::{
    Behaviour, Chosen, Detection, Evidence, MetallbVersion, release_from_crds,
    release_from_helm_labels, release_from_image,
};
use crate::metallb::runtime::{Runtime, controller_image};
use crate::metallb::service::{Context, ServiceFacts};
use crate::settings::MetallbFlags;
use crate::snapshot::Snapshot;

/// A snapshot as MetalLB sees it.
pub struct Model<'a> {
    pub snapshot: &'a Snapshot,
    /// The MetalLB release the answers are computed for, and how it was known.
    pub version: MetallbVersion,
    /// What that release does where releases differ.
    pub behaviour: Behaviour,
    pub runtime: Runtime,
    pub cluster: Cluster<'a>,
    /// What deserves a word beyond any one pool or service: degraded reads, MetalLB not
    /// found or not happy, objects MetalLB never reads.
    pub warnings: Vec<Reason>,
}

impl<'a> Model<'a> {
    /// The model for the release the input shows (or `--metallb-version` names): see
    /// [`detect_release`]. `notes` are what reading the snapshot noticed; they come first
    /// among the warnings.
    pub fn build(snapshot: &'a Snapshot, flags: &MetallbFlags, notes: Vec<Reason>) -> Model<'a> {
        let (version, notes) = release_with_notes(snapshot, flags, notes);
        Model::build_for(snapshot, flags, version, notes)
    }

    /// The models of `before` ([`Model::build`]) and of `after` under the same release
    /// (`plan`'s two snapshots), built side by side: neither reads the other.
    pub fn build_pair<'b>(
        before: &'a Snapshot,
        after: &'b Snapshot,
        flags: &MetallbFlags,
        notes: Vec<Reason>,
    ) -> (Model<'a>, Model<'b>) {
        let (version, notes) = release_with_notes(before, flags, notes);
        std::thread::scope(|scope| {
            let after = scope.spawn(|| Model::build_for(after, flags, version, Vec::new()));
            let before = Model::build_for(before, flags, version, notes);
            // A panic there is a bug: it goes on here, as on one thread.
            let after = after
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (before, after)
        })
    }

    /// [`Model::build`], with a command's own work over the services' facts and the
    /// configuration, if any, run while the occupancy is rebuilt (see
    /// [`Cluster::new_alongside`]); its result comes back with the model.
    pub fn build_alongside<R: Send>(
        snapshot: &'a Snapshot,
        flags: &MetallbFlags,
        notes: Vec<Reason>,
        alongside: Option<impl FnOnce(&[ServiceFacts<'a>], &SelectorKeys, &Config) -> R + Send>,
    ) -> (Model<'a>, Option<R>) {
        let (version, notes) = release_with_notes(snapshot, flags, notes);
        Model::assemble(snapshot, flags, version, notes, |config, context| {
            Cluster::new_alongside(snapshot, config, context, alongside)
        })
    }

    /// The model under the rules of `version`'s release.
    pub fn build_for(
        snapshot: &'a Snapshot,
        flags: &MetallbFlags,
        version: MetallbVersion,
        notes: Vec<Reason>,
    ) -> Model<'a> {
        Model::assemble(snapshot, flags, version, notes, |config, context| {
            (Cluster::new(snapshot, config, context), ())
        })
        .0
    }

    /// The model of `version`'s release, its cluster (and whatever came with it) built by
    /// `cluster` from the configuration loaded.
    fn assemble<R>(
        snapshot: &'a Snapshot,
        flags: &MetallbFlags,
        version: MetallbVersion,
        notes: Vec<Reason>,
        cluster: impl FnOnce(Config, &Context) -> (Cluster<'a>, R),
    ) -> (Model<'a>, R) {
        let behaviour = Behaviour::of(version.version);
        let runtime = Runtime::resolve(
            snapshot,
            flags.namespace.as_deref(),
            flags.lb_class.as_deref(),
        );
        let mut config = Config::load(snapshot, &runtime.namespace, &behaviour);
        // The source said why the namespaces are unknown and which pools that touches: once.
        if notes.iter().any(|n| n.code == Code::NamespacesUnknown) {
            config
                .warnings
                .retain(|w| w.code != Code::NamespacesUnknown);
        }
        let context = Context {
            lb_class: runtime.lb_class.clone(),
            behaviour,
        };
        let (cluster, alongside) = cluster(config, &context);
        let mut warnings = notes;
        warnings.extend(runtime.notes.iter().cloned());
        warnings.extend(advertisement_warnings(snapshot, &runtime.namespace));
        let model = Model {
            snapshot,
            behaviour,
            version,
            runtime,
            cluster,
            warnings,
        };
        (model, alongside)
    }
}

/// The release of [`detect_release`], and `notes` with what detecting it noticed.
fn release_with_notes(
    snapshot: &Snapshot,
    flags: &MetallbFlags,
    mut notes: Vec<Reason>,
) -> (MetallbVersion, Vec<Reason>) {
    let detection = detect_release(snapshot, flags.version);
    notes.extend(
        detection
            .warnings
            .into_iter()
            .map(|w| Reason::new(Code::MetallbVersionMismatch, w)),
    );
    notes.extend(
        detection
            .ambiguity
            .map(|w| Reason::new(Code::MetallbVersionAmbiguous, w)),
    );
    (detection.version, notes)
}

/// The release the answers follow (cli-contract.md "MetalLB versions"): `--metallb-version`,
/// else what the input shows, in order of trust: the controller's image tag, its Helm
/// labels, the CRDs; else the newest modelled. The controller read is the one the runtime
/// is read from.
pub fn detect_release(snapshot: &Snapshot, flag: Option<Chosen>) -> Detection {
    let controller = snapshot.controllers.as_deref().and_then(<[_]>::first);
    Evidence {
        flag,
        image: controller
            .and_then(controller_image)
            .and_then(release_from_image),
        helm_labels: controller.and_then(|d| release_from_helm_labels(d.metadata.labels.iter())),
        crds: snapshot
            .crds
            .as_ref()
            .and_then(|crds| release_from_crds(&crds.facts())),
    }
    .resolve()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metallb::release::{Release, VersionSource};
    use crate::snapshot::{Container, Deployment, MetallbCrds};

    fn controller(image: &str, labels: &[(&str, &str)]) -> Deployment {
        let mut d = Deployment::default();
        d.metadata.name = "controller".into();
        d.metadata.namespace = "metallb-system".into();
        for (k, v) in labels {
            d.metadata.labels.insert(*k, *v);
        }
        d.spec.template.spec.containers.push(Container {
            name: "controller".into(),
            image: image.into(),
            ..Default::default()
        });
        d
    }

    fn crds(resources: &[&str]) -> MetallbCrds {
        MetallbCrds {
            resources: resources.iter().map(|r| r.to_string()).collect(),
            ..MetallbCrds::default()
        }
    }

    fn snapshot(controller: Option<Deployment>, crds: Option<MetallbCrds>) -> Snapshot {
        Snapshot {
            controllers: controller.map(|c| vec![c]),
            crds,
            ..Snapshot::default()
        }
    }

    fn found(s: &Snapshot, flag: Option<&str>) -> (String, VersionSource) {
        let flag = flag.map(|f| Release::parse(f).unwrap());
        let d = detect_release(s, flag);
        (d.version.version.to_string(), d.version.source)
    }

    const HELM: [(&str, &str); 2] = [
        ("helm.sh/chart", "metallb-0.14.9"),
        ("app.kubernetes.io/version", "v0.14.9"),
    ];
    const NEW_CRDS: [&str; 3] = [
        "ipaddresspools",
        "servicebgpstatuses",
        "configurationstates",
    ];

    #[test]
    fn the_controller_image_then_its_helm_labels_then_the_crds_then_the_newest() {
        let image = "quay.io/metallb/controller:v0.14.8";
        let s = snapshot(
            Some(controller(image, &HELM)),
            Some(crds(&["ipaddresspools"])),
        );
        assert_eq!(found(&s, None), ("v0.14.8".into(), VersionSource::Image));
        let pinned = "quay.io/metallb/controller:v0.14.8@sha256:0123abcd";
        let s = snapshot(Some(controller(pinned, &[])), None);
        assert_eq!(found(&s, None), ("v0.14.8".into(), VersionSource::Image));
        let digest_only = "quay.io/metallb/controller@sha256:0123abcd";
        let s = snapshot(Some(controller(digest_only, &HELM)), None);
        assert_eq!(
            found(&s, None),
            ("v0.14.9".into(), VersionSource::HelmLabels)
        );
        let s = snapshot(Some(controller(digest_only, &[])), Some(crds(&NEW_CRDS)));
        assert_eq!(found(&s, None), ("v0.15.3".into(), VersionSource::Crds));
        let s = snapshot(None, Some(crds(&["ipaddresspools", "addresspools"])));
        assert_eq!(found(&s, None), ("v0.13.9".into(), VersionSource::Crds));
        let s = snapshot(Some(controller(digest_only, &[])), None);
        assert_eq!(found(&s, None), ("v0.16.1".into(), VersionSource::Default));
        assert_eq!(
            found(&Snapshot::default(), None),
            ("v0.16.1".into(), VersionSource::Default)
        );
    }

    #[test]
    fn the_flag_wins_over_everything_the_input_shows() {
        let image = "quay.io/metallb/controller:v0.14.8";
        let s = snapshot(Some(controller(image, &HELM)), Some(crds(&NEW_CRDS)));
        assert_eq!(
            found(&s, Some("v0.13.9")),
            ("v0.13.9".into(), VersionSource::Flag)
        );
        assert_eq!(
            found(&s, Some("latest")),
            ("v0.16.1".into(), VersionSource::Flag)
        );
    }

    #[test]
    fn a_pair_is_the_base_model_and_the_other_under_the_base_release() {
        let base = snapshot(
            Some(controller("quay.io/metallb/controller:v0.14.8", &[])),
            Some(crds(&NEW_CRDS)),
        );
        // No controller: alone, it would be modelled as the newest release.
        let other = snapshot(None, None);
        let flags = MetallbFlags::default();
        let (before, after) = Model::build_pair(&base, &other, &flags, Vec::new());
        let alone = Model::build(&base, &flags, Vec::new());
        assert_eq!(
            (before.version, &before.warnings),
            (alone.version, &alone.warnings)
        );
        assert_eq!(after.version.version, Release::V0_14_8);
        let under_base = Model::build_for(&other, &flags, alone.version, Vec::new());
        assert_eq!(after.warnings, under_base.warnings);
        assert_ne!(
            Model::build(&other, &flags, Vec::new()).version,
            after.version
        );
    }

    #[test]
    fn the_model_follows_the_release_and_warns_of_a_mismatch() {
        let image = "quay.io/metallb/controller:v0.14.8";
        let s = snapshot(Some(controller(image, &[])), Some(crds(&NEW_CRDS)));
        let model = Model::build(&s, &MetallbFlags::default(), Vec::new());
        assert_eq!(model.version.version, Release::V0_14_8);
        assert_eq!(model.behaviour, Behaviour::of(Release::V0_14_8));
        let mismatch: Vec<&Reason> = model
            .warnings
            .iter()
            .filter(|w| w.code == Code::MetallbVersionMismatch)
            .collect();
        assert_eq!(mismatch.len(), 1, "{:?}", model.warnings);
        assert!(
            mismatch[0].message.contains("v0.15.3 or newer")
                && mismatch[0].message.contains("answers follow v0.14.8"),
            "{}",
            mismatch[0].message
        );
        let agreeing = snapshot(
            Some(controller(image, &[])),
            Some(crds(&["ipaddresspools"])),
        );
        let model = Model::build(&agreeing, &MetallbFlags::default(), Vec::new());
        assert!(
            !model
                .warnings
                .iter()
                .any(|w| w.code == Code::MetallbVersionMismatch)
        );
    }

    /// A source that could not read the namespaces says so once, with the pools it touches:
    /// the per-pool warnings (which -f without Namespace objects gets) are not repeated.
    #[test]
    fn namespaces_unknown_is_said_once() {
        use crate::fixtures;
        use crate::snapshot::ServiceAllocation;
        let selecting = fixtures::allocating(
            fixtures::pool("prod", &["10.0.0.0/30"]),
            ServiceAllocation {
                namespace_selectors: vec![fixtures::match_labels(&[("env", "prod")])],
                ..ServiceAllocation::default()
            },
        );
        let s = Snapshot {
            pools: vec![selecting],
            ..Snapshot::default()
        };
        let count = |model: &Model| {
            let config = &model.cluster.config.warnings;
            config
                .iter()
                .chain(&model.warnings)
                .filter(|w| w.code == Code::NamespacesUnknown)
                .count()
        };
        let offline = Model::build(&s, &MetallbFlags::default(), Vec::new());
        assert_eq!(count(&offline), 1, "per pool, without a note");
        let note = Reason::new(Code::NamespacesUnknown, "cannot read namespaces (403)");
        let live = Model::build(&s, &MetallbFlags::default(), vec![note]);
        assert_eq!(count(&live), 1, "the note alone");
    }
}
