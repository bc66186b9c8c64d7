//! The MetalLB model and the reports on large synthetic clusters, in memory: no parsing, no
//! network, no rendering.
//!
//! * `usage/<services>`: the whole `usage` computation — `Config::load`,
//!   `Cluster::new` and `report::usage::build` — at 2,000 pools and 12.5k to 100k services.
//! * `usage-pools/<pools>`: the same at 100,000 services and 500 to 4,000 pools.
//! * `why/<case>`: one `report::why::build` (which finds the service and runs
//!   `Cluster::decide`) on a `Model`
//!   already built from 100,000 services and 2,000 pools.
//! * `check-vs-usage/{usage,check}`: `check` and `usage`, model included, on 50,000
//!   services and 2,000 pools.
//! * `plan/50000`: `plan`'s computation (the after snapshot, its model, the controller's
//!   reaction and `report::plan::build`; the model of the base is built once) on 50,000
//!   services and 2,000 pools, the busiest IPv4 pool renumbered; `plan/50000-whole` the same
//!   with both models built (side by side), as the command does. Compare with
//!   `check-vs-usage/usage` (issue target: at most 3×).
//! * `growth/{usage,check}/<services>x10000`: both at 10,000 pools and 50,000, 100,000 and
//!   200,000 services: cost stays linear.
//! * `read/<format>`: `-f` reading a dump of 10,000 services (a YAML List, multi-document
//!   YAML, a JSON List, a ConfigMap of the same size, and the YAML event parser alone), with
//!   throughput in bytes of input.
//!
//! ```sh
//! cargo bench --bench engine                    # everything
//! cargo bench --bench engine -- usage/100000    # one row
//! ```
//!
//! Each cluster is generated the first time a selected row needs it, so a filtered run only
//! pays for its own. Targets (docs/performance.md): usage < 150 ms and one why < 20 ms at
//! 100k services × 2,000 pools.

mod support;

use std::cell::OnceCell;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kubectl_metalpool::metallb::allocator::Cluster;
use kubectl_metalpool::metallb::config::Config;
use kubectl_metalpool::metallb::service::Context;
use kubectl_metalpool::model::Model;
use kubectl_metalpool::report;
use kubectl_metalpool::settings::ServiceRef;
use kubectl_metalpool::snapshot::{self, Snapshot};
use kubectl_metalpool::source::files::{self, Namespaces};
use support::synth::{METALLB_NAMESPACE, Params, Synthetic};
use support::{check, flags, model, renumbered};

const POOLS: usize = 2_000;
const SERVICES: usize = 100_000;

/// The live source's context: no `--lb-class`, the newest release.
fn context() -> Context {
    Context::default()
}

/// What `kubectl metalpool usage` computes between reading and rendering.
fn usage(snapshot: &Snapshot) -> report::usage::UsageReport {
    report::usage::build(&model(snapshot))
}

/// Generates a cluster and checks it is what the benchmarks claim to measure: a valid
/// configuration in which MetalLB keeps every allocation.
fn cluster(services: usize, pools: usize) -> (Synthetic, Snapshot) {
    let synthetic = Synthetic::generate(Params::new(services, pools));
    let snapshot = synthetic.snapshot();
    let built = model(&snapshot);
    let cluster = &built.cluster;
    assert!(
        cluster.config.is_valid(),
        "generated configuration is invalid: {:?}",
        cluster.config.errors
    );
    assert!(
        cluster.holding_warnings.is_empty(),
        "generated allocations MetalLB would take away: {:?}",
        &cluster.holding_warnings[..cluster.holding_warnings.len().min(3)]
    );
    drop(built);
    let s = &synthetic.stats;
    eprintln!(
        "cluster {services} × {pools}: {} pinned, {} IPv6-only, {} dual pools; {} allocated, {} pending, {} sharing, {} dual-stack services",
        s.pinned_pools, s.ipv6_pools, s.dual_pools, s.allocated, s.pending, s.shared, s.dual_stack
    );
    (synthetic, snapshot)
}

/// One `usage` row per `(services, pools)` size, named by `parameter` of it.
fn usage_group(
    c: &mut Criterion,
    name: &str,
    sizes: [(usize, usize); 4],
    parameter: fn((usize, usize)) -> usize,
) {
    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    for size in sizes {
        let mut snapshot = None;
        group.bench_function(BenchmarkId::from_parameter(parameter(size)), |b| {
            let snapshot = snapshot.get_or_insert_with(|| cluster(size.0, size.1).1);
            b.iter(|| usage(black_box(snapshot)))
        });
    }
    group.finish();
}

fn usage_by_services(c: &mut Criterion) {
    let sizes = [12_500, 25_000, 50_000, 100_000].map(|services| (services, POOLS));
    usage_group(c, "usage", sizes, |(services, _)| services);
}

fn usage_by_pools(c: &mut Criterion) {
    let sizes = [500, 1_000, 2_000, 4_000].map(|pools| (SERVICES, pools));
    usage_group(c, "usage-pools", sizes, |(_, pools)| pools);
}

/// Growth at the limits: `usage` and `check` at 10,000 pools and 50,000 to 200,000 services
/// (one generated cluster per size, both rows on it).
fn growth(c: &mut Criterion) {
    let mut group = c.benchmark_group("growth");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));
    for services in [50_000, 100_000, 200_000] {
        let snapshot: OnceCell<Snapshot> = OnceCell::new();
        let get = || snapshot.get_or_init(|| cluster(services, 10_000).1);
        let id = |what: &str| BenchmarkId::new(what, format!("{services}x10000"));
        group.bench_function(id("usage"), |b| {
            let snapshot = get();
            b.iter(|| usage(black_box(snapshot)))
        });
        group.bench_function(id("check"), |b| {
            let snapshot = get();
            b.iter(|| check(black_box(snapshot)))
        });
    }
    group.finish();
}

/// `usage/100000` split into its steps: `Config::load`, `Cluster::new` (from a loaded
/// configuration), `report::usage::build` (on a built model).
fn usage_phases(c: &mut Criterion) {
    let ctx = context();
    // A model borrows its snapshot: both live until the process ends.
    let built: OnceCell<(&Snapshot, Config, Model)> = OnceCell::new();
    let get = || {
        built.get_or_init(|| {
            let snapshot: &'static Snapshot = Box::leak(Box::new(cluster(SERVICES, POOLS).1));
            let config = Config::load(snapshot, METALLB_NAMESPACE, &ctx.behaviour);
            (snapshot, config, model(snapshot))
        })
    };
    let mut group = c.benchmark_group("usage-phases");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("config-load", |b| {
        let (snapshot, _, _) = get();
        b.iter(|| Config::load(black_box(snapshot), METALLB_NAMESPACE, &ctx.behaviour))
    });
    group.bench_function("cluster-new", |b| {
        let (snapshot, config, _) = get();
        b.iter_batched(
            || config.clone(),
            |config| Cluster::new(black_box(snapshot), config, &ctx),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("report-build", |b| {
        let (_, _, model) = get();
        b.iter(|| report::usage::build(black_box(model)))
    });
    group.finish();
}

/// The model the `why` rows run on, built once for all of them. It borrows its snapshot:
/// both live until the process ends.
struct Built {
    synthetic: Synthetic,
    model: Model<'static>,
}

impl Built {
    fn new() -> Built {
        let (synthetic, snapshot) = cluster(SERVICES, POOLS);
        let snapshot: &'static Snapshot = Box::leak(Box::new(snapshot));
        Built {
            synthetic,
            model: model(snapshot),
        }
    }

    /// The service a row asks about.
    fn probe(&self, case: &str) -> ServiceRef {
        let probes = &self.synthetic.probes;
        let probe = match case {
            "pending-automatic" => &probes.pending_automatic,
            "pending-dual" => &probes.pending_dual,
            "pending-requested-pool" => &probes.pending_requested_pool,
            _ => &probes.allocated,
        }
        .as_ref()
        .unwrap_or_else(|| panic!("the generated cluster has no {case} service"));
        let service = ServiceRef {
            namespace: probe.0.clone(),
            name: probe.1.clone(),
        };
        let answer = report::why::build(&self.model, &service).expect("the probe exists");
        eprintln!(
            "why/{case}: {}/{} ({}, mode {:?}, fits {}, {} possible pool(s) of {})",
            probe.0,
            probe.1,
            answer.family,
            answer.mode,
            answer.outcome.fits,
            answer.outcome.pools.len(),
            answer.pools.len()
        );
        service
    }
}

fn why(c: &mut Criterion) {
    let mut built: Option<Built> = None;
    let mut group = c.benchmark_group("why");
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(2));
    for case in [
        "pending-automatic",
        "pending-dual",
        "pending-requested-pool",
        "allocated",
    ] {
        let mut service = None;
        group.bench_function(case, |b| {
            let built = built.get_or_insert_with(Built::new);
            let service = service.get_or_insert_with(|| built.probe(case));
            b.iter(|| report::why::build(&built.model, black_box(service)))
        });
    }
    group.finish();
}

/// Reading `-f` dumps of 10,000 services and 1,000 pools: the whole reader (`files::read`,
/// text to snapshot) on a YAML `kind: List`, the same objects as multi-document YAML, a
/// JSON `kind: List`, and a ConfigMap as large as that JSON (a kind the reader skips); and,
/// for scale, the YAML event parser alone (every event parsed, nothing kept).
fn read(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a scratch directory");
    let synthetic = Synthetic::generate(Params::new(10_000, 1_000));
    let yaml = dir.path().join("cluster.yaml");
    let documents = dir.path().join("documents.yaml");
    let json = dir.path().join("cluster.json");
    let config_map = dir.path().join("config-map.yaml");
    let yaml_bytes = synthetic.write_yaml(&yaml).expect("write the YAML dump");
    let documents_bytes = synthetic
        .write_yaml_documents(&documents)
        .expect("write the YAML documents");
    let json_bytes = synthetic.write_json(&json).expect("write the JSON dump");
    drop(synthetic);
    let config_map_bytes = write_config_map(&config_map, json_bytes);
    let namespaces = Namespaces {
        metallb: METALLB_NAMESPACE.to_string(),
        default: "default".to_string(),
    };
    let mut group = c.benchmark_group("read");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    for (name, path, bytes) in [
        ("yaml", &yaml, yaml_bytes),
        ("yaml-documents", &documents, documents_bytes),
        ("json", &json, json_bytes),
        ("skipped-config-map", &config_map, config_map_bytes),
    ] {
        group.throughput(Throughput::Bytes(bytes));
        group.bench_function(name, |b| {
            b.iter(|| files::read(std::slice::from_ref(path), &namespaces).expect("a valid dump"))
        });
    }
    let text = std::fs::read_to_string(&yaml).expect("read the YAML dump");
    group.throughput(Throughput::Bytes(yaml_bytes));
    group.bench_function("yaml-parser-only", |b| {
        b.iter(|| {
            let mut events = 0usize;
            for event in granit_parser::Parser::new_from_str(black_box(&text)) {
                event.expect("valid YAML");
                events += 1;
            }
            events
        })
    });
    group.finish();
}

/// A ConfigMap of `bytes` bytes (one key per line of data), as `kubectl get -o yaml`
/// writes it: `data` before `kind`.
fn write_config_map(path: &std::path::Path, bytes: u64) -> u64 {
    let mut text = String::from("apiVersion: v1\ndata:\n");
    let mut key = 0u64;
    while (text.len() as u64) < bytes {
        text.push_str(&format!("  key-{key}: {}\n", "x".repeat(100)));
        key += 1;
    }
    text.push_str("kind: ConfigMap\nmetadata:\n  name: large\n  namespace: default\n");
    std::fs::write(path, &text).expect("write the ConfigMap");
    text.len() as u64
}

/// `check` against `usage` on the same 50,000 services × 2,000 pools: the whole computation
/// (model and report) for each, so the two rows compare directly (target: check ≤ 1.5 ×
/// usage).
fn check_against_usage(c: &mut Criterion) {
    let mut group = c.benchmark_group("check-vs-usage");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    let snapshot: OnceCell<Snapshot> = OnceCell::new();
    let get = || snapshot.get_or_init(|| cluster(50_000, POOLS).1);
    group.bench_function("usage", |b| {
        let snapshot = get();
        b.iter(|| usage(black_box(snapshot)))
    });
    group.bench_function("check", |b| {
        let snapshot = get();
        b.iter(|| check(black_box(snapshot)))
    });
    group.finish();
}

/// `plan` with the busiest IPv4-only pool renumbered into an unused /16, so that every one of
/// its holders is moved.
fn plan(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    let mut built: Option<(Snapshot, Snapshot)> = None;
    group.bench_function(BenchmarkId::from_parameter(50_000), |b| {
        let (base, proposed) = built.get_or_insert_with(plan_inputs);
        let flags = flags();
        let before = model(base);
        b.iter(|| {
            let after = snapshot::overlay(black_box(base), proposed, false);
            let mut after = Model::build_for(&after, &flags, before.version, Vec::new());
            let report = report::plan::build(&before, &mut after);
            assert!(report.is_problem(), "the renumbering moves services");
            report.services.len()
        })
    });
    // What the command computes: both models too (built side by side).
    group.bench_function(BenchmarkId::from_parameter("50000-whole"), |b| {
        let (base, proposed) = built.get_or_insert_with(plan_inputs);
        let flags = flags();
        b.iter(|| {
            let after = snapshot::overlay(black_box(base), proposed, false);
            let (before, mut after) = Model::build_pair(base, &after, &flags, Vec::new());
            let report = report::plan::build(&before, &mut after);
            assert!(report.is_problem(), "the renumbering moves services");
            report.services.len()
        })
    });
    group.finish();
}

/// The plan rows' base cluster and proposal.
fn plan_inputs() -> (Snapshot, Snapshot) {
    let base = cluster(50_000, POOLS).1;
    let proposed = renumbered(&base);
    (base, proposed)
}

criterion_group!(
    benches,
    usage_by_services,
    usage_by_pools,
    usage_phases,
    why,
    check_against_usage,
    plan,
    growth,
    read
);
criterion_main!(benches);
