//! Where a snapshot comes from: manifests (`-f`) or a live cluster. The only module that
//! reads files or talks to the API server.

pub mod cluster;
pub mod credentials;
pub mod failure;
pub mod files;
pub mod kubeconfig;
pub mod kustomize;

use crate::error::Result;
use crate::metallb::reason::{Code, Reason};
use crate::metallb::runtime::DEFAULT_NAMESPACE;
use crate::settings::{Input, Origin, Request};
use crate::snapshot::{InputIssue, Snapshot};

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
        Origin::Files(paths) => {
            let rendered = input
                .kustomize
                .iter()
                .map(|dir| {
                    Ok((
                        format!("kustomize {}", dir.display()),
                        kustomize::render(dir)?,
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            let snapshot = files::read_rendered(
                paths,
                &rendered,
                &files_namespaces(input),
                input.read_limits,
            )?;
            let notes = input_warnings(&snapshot);
            Ok(Loaded { snapshot, notes })
        }
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

/// What reading noticed about the files themselves, as warnings every command shows.
pub fn input_warnings(snapshot: &Snapshot) -> Vec<Reason> {
    snapshot
        .input_notes
        .iter()
        .map(|note| {
            let code = match note.issue {
                InputIssue::DuplicateObject => Code::DuplicateObject,
                InputIssue::NotRendered => Code::NotRendered,
                InputIssue::UnknownKind => Code::UnknownKind,
            };
            Reason::new(code, note.message.clone())
        })
        .collect()
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
