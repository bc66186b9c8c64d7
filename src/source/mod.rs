//! Where a snapshot comes from: manifests (`-f`) or a live cluster. The only module that
//! reads files or talks to the API server.

pub mod cluster;
pub mod detect;
pub mod files;

use crate::cli::Settings;
use crate::error::Result;
use crate::snapshot::Snapshot;

/// MetalLB's namespace when nothing else says otherwise (the upstream manifests' choice).
pub const DEFAULT_METALLB_NAMESPACE: &str = "metallb-system";

/// A snapshot and how MetalLB runs on it.
#[derive(Debug)]
pub struct Loaded {
    pub snapshot: Snapshot,
    pub metallb_namespace: String,
    pub lb_class: Option<String>,
    /// The namespace `why` looks in without `-n`: the context's, else `default`.
    pub default_namespace: String,
    /// What reading noticed: degraded permissions, an undetected MetalLB…
    pub notes: Vec<crate::metallb::reason::Reason>,
}

/// Reads the snapshot; `target` is the service `why` explains (read even when it is not a
/// LoadBalancer, with its events).
pub fn load(settings: &Settings, target: Option<&cluster::Target>) -> Result<Loaded> {
    if settings.offline() {
        let metallb_namespace = settings
            .metallb_namespace
            .clone()
            .unwrap_or_else(|| DEFAULT_METALLB_NAMESPACE.to_string());
        let default_namespace = settings
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_string());
        let namespaces = files::Namespaces {
            metallb: metallb_namespace.clone(),
            default: default_namespace.clone(),
        };
        let snapshot = files::read(&settings.files, &namespaces)?;
        return Ok(Loaded {
            snapshot,
            metallb_namespace,
            lb_class: settings.lb_class.clone(),
            default_namespace,
            notes: Vec::new(),
        });
    }
    cluster::load(settings, target)
}
