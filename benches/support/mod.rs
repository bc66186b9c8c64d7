//! Shared by the benchmarks (`mod support;`): the synthetic cluster generator.

pub mod synth;
