//! `check` and `plan` against `usage` on the same 50,000 services × 2,000 pools, each
//! iteration running the three one after the other, so that a machine whose speed drifts
//! (a shared virtual machine) slows all three alike. The issue targets are ratios: `check`
//! ≤ 1.5 × `usage`, `plan` ≤ 3 × `usage`. The criterion rows of `engine`
//! (`check-vs-usage`, `plan/50000`) measure each command in its own window of seconds; here
//! their ratios are taken iteration by iteration.
//!
//! ```sh
//! CARGO_PROFILE_BENCH_LTO=false CARGO_PROFILE_BENCH_CODEGEN_UNITS=16 \
//!     cargo bench --bench interleaved -- 30     # iterations (default 30)
//! ```
//!
//! Each row is what the `engine` row of the same name computes: `usage` and `check` build
//! their model; `plan` builds the after snapshot, its model, the reaction and the report,
//! the base's model built once beforehand.

mod support;

use std::hint::black_box;
use std::time::Instant;

use kubectl_metalpool::model::Model;
use kubectl_metalpool::report;
use kubectl_metalpool::snapshot;
use support::synth::{Params, Synthetic};
use support::{check, flags, model, renumbered};

fn main() {
    // `cargo bench` passes `--bench`; the one number given is the iteration count.
    let iterations = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(30_usize);
    let base = Synthetic::generate(Params::new(50_000, 2_000)).snapshot();
    let proposed = renumbered(&base);
    let before = model(&base);
    let flags = flags();
    let mut times: [Vec<f64>; 3] = Default::default();
    let mut timed = |row: usize, run: &mut dyn FnMut()| {
        let start = Instant::now();
        run();
        times[row].push(start.elapsed().as_secs_f64() * 1e3);
    };
    for _ in 0..iterations {
        timed(0, &mut || {
            black_box(report::usage::build(&model(black_box(&base))));
        });
        timed(1, &mut || {
            black_box(check(black_box(&base)));
        });
        timed(2, &mut || {
            let after = snapshot::overlay(black_box(&base), &proposed, false);
            let mut after = Model::build_for(&after, &flags, before.version, Vec::new());
            let report = report::plan::build(&before, &mut after);
            assert!(report.is_problem(), "the renumbering moves services");
        });
    }
    for row in &mut times {
        row.sort_by(f64::total_cmp);
    }
    let min = |row: usize| times[row][0];
    let median = |row: usize| times[row][times[row].len() / 2];
    println!("{iterations} iterations, 50,000 services × 2,000 pools");
    println!("row    min ms  median ms  min ×usage  median ×usage");
    for (row, name) in ["usage", "check", "plan"].iter().enumerate() {
        println!(
            "{name:<6} {:>6.1} {:>10.1} {:>11.2} {:>14.2}",
            min(row),
            median(row),
            min(row) / min(0),
            median(row) / median(0)
        );
    }
}
