//! Shared by the benchmarks (`mod support;`): the synthetic cluster generator, and what the
//! `check` and `plan` rows compute on it.

// Each bench uses part of this module.
#![allow(dead_code)]

pub mod synth;

use kubectl_metalpool::model::Model;
use kubectl_metalpool::report;
use kubectl_metalpool::report::check::Summary;
use kubectl_metalpool::settings::MetallbFlags;
use kubectl_metalpool::snapshot::Snapshot;
use synth::METALLB_NAMESPACE;

/// The live source's flags on a generated cluster: its MetalLB namespace, nothing else.
pub fn flags() -> MetallbFlags {
    MetallbFlags {
        namespace: Some(METALLB_NAMESPACE.to_string()),
        ..MetallbFlags::default()
    }
}

/// The model as the command builds it on a live cluster.
pub fn model(snapshot: &Snapshot) -> Model<'_> {
    Model::build(snapshot, &flags(), Vec::new())
}

/// `check` as the command runs it on a live cluster: the model, with what `check` reads of
/// the services alone worked out alongside it, then every finding (threshold 90 %, not
/// strict); the summary.
pub fn check(snapshot: &Snapshot) -> Summary {
    let preparing = Some(report::check::prepare);
    let (model, prepared) = Model::build_alongside(snapshot, &flags(), Vec::new(), preparing);
    report::check::build(&model, prepared, 90, false).summary
}

/// The `plan` rows' proposal: the base's busiest IPv4-only pool, moved to 172.31.0.0/16
/// (outside the generated 10.0.0.0/8 and the cluster IPs), so that every one of its holders
/// is moved.
pub fn renumbered(base: &Snapshot) -> Snapshot {
    let built = model(base);
    let cluster = &built.cluster;
    let busiest = (0..cluster.config.pools.len())
        .filter(|&p| cluster.counts(p).1.total == 0)
        .max_by_key(|&p| cluster.holders_of(p).count())
        .expect("an IPv4 pool");
    let name = &cluster.config.pools[busiest].name;
    let mut pool = base
        .pools
        .iter()
        .find(|p| p.metadata.name == name)
        .expect("the pool's object")
        .clone();
    pool.spec.addresses = vec!["172.31.0.0/16".to_string()];
    Snapshot {
        pools: vec![pool],
        ..Snapshot::default()
    }
}
