//! The one pipeline from a snapshot to the MetalLB model every report reads: how MetalLB
//! runs (namespace, `--lb-class`), which configuration it loads, and the occupancy it
//! rebuilds. The command, the benchmarks and the tests all build it here.

use crate::metallb::allocator::Cluster;
use crate::metallb::config::{Config, advertisement_warnings};
use crate::metallb::reason::Reason;
use crate::metallb::release::{Behaviour, MetallbVersion};
use crate::metallb::runtime::Runtime;
use crate::metallb::service::Context;
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
    /// The model for the release nothing named yet: the newest. `notes` are what reading
    /// the snapshot noticed; they come first among the warnings.
    pub fn build(snapshot: &'a Snapshot, flags: &MetallbFlags, notes: Vec<Reason>) -> Model<'a> {
        Model::build_for(snapshot, flags, MetallbVersion::default_release(), notes)
    }

    /// The model under the rules of `version`'s release.
    pub fn build_for(
        snapshot: &'a Snapshot,
        flags: &MetallbFlags,
        version: MetallbVersion,
        notes: Vec<Reason>,
    ) -> Model<'a> {
        let behaviour = Behaviour::of(version.version);
        let runtime = Runtime::resolve(
            snapshot,
            flags.namespace.as_deref(),
            flags.lb_class.as_deref(),
        );
        let config = Config::load(snapshot, &runtime.namespace, &behaviour);
        let context = Context {
            lb_class: runtime.lb_class.clone(),
            behaviour,
        };
        let cluster = Cluster::new(snapshot, config, &context);
        let mut warnings = notes;
        warnings.extend(runtime.notes.iter().cloned());
        warnings.extend(advertisement_warnings(snapshot, &runtime.namespace));
        Model {
            snapshot,
            behaviour,
            version,
            runtime,
            cluster,
            warnings,
        }
    }
}
