//! kubectl-metalpool: MetalLB address-pool usage, and why a LoadBalancer service is pending.
//!
//! Everything the plugin says is a pure function of a [`snapshot::Snapshot`]: reading
//! happens once at the edge ([`source`]), the MetalLB model ([`metallb`]) and the reports
//! ([`report`]) never touch the network or the disk, and renderers ([`render`]) turn
//! reports into text.

pub mod app;
pub(crate) mod bits;
pub mod cli;
pub mod complete;
pub mod error;
#[cfg(test)]
pub(crate) mod fixtures;
pub(crate) mod memo;
pub mod metallb;
pub mod model;
pub mod names;
pub mod render;
pub mod report;
pub mod settings;
pub mod snapshot;
pub mod source;
pub mod suggest;
