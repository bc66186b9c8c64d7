//! Where a snapshot comes from: manifests (`-f`) or a live cluster. The only module that
//! reads files or talks to the API server.

pub mod cluster;
pub mod failure;
pub mod files;
pub mod kubeconfig;

use crate::error::Result;
use crate::metallb::reason::Reason;
use crate::metallb::runtime::DEFAULT_NAMESPACE;
use crate::settings::{Input, Origin, Request};
use crate::snapshot::Snapshot;

/// A snapshot, and what reading it noticed (degraded permissions, no MetalLB found…).
#[derive(Debug)]
pub struct Loaded {
    pub snapshot: Snapshot,
    pub notes: Vec<Reason>,
}

/// Reads what the request needs: for `why`, the service itself (whatever its type) and its
/// events too.
pub fn load(input: &Input, request: &Request) -> Result<Loaded> {
    let target = match request {
        Request::Why { service } => Some(service),
        _ => None,
    };
    match &input.origin {
        Origin::Files(paths) => Ok(Loaded {
            snapshot: files::read_limited(paths, &files_namespaces(input), input.read_limits)?,
            notes: Vec::new(),
        }),
        Origin::Cluster(connection) => cluster::load(connection, &input.metallb, target),
    }
}

/// The manifests `plan` proposes, read like `-f`: MetalLB objects without a namespace land
/// in `metallb_namespace` (the one MetalLB reads in the base), the others in the default
/// namespace, where `kubectl apply` would put them.
pub fn read_proposed(
    input: &Input,
    paths: &[std::path::PathBuf],
    metallb_namespace: &str,
) -> Result<Snapshot> {
    let namespaces = files::Namespaces {
        metallb: metallb_namespace.to_string(),
        default: input.namespace.clone(),
    };
    files::read(paths, &namespaces)
}

/// Where objects written without a namespace land.
pub fn files_namespaces(input: &Input) -> files::Namespaces {
    files::Namespaces {
        metallb: input
            .metallb
            .namespace
            .clone()
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string()),
        default: input.namespace.clone(),
    }
}
