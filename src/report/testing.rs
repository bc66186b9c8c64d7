//! Test helpers: a snapshot from YAML manifests, read by the real offline reader.

use crate::model::{Model, Origin};
use crate::settings::MetallbFlags;
use crate::snapshot::Snapshot;
use crate::source::files::{Namespaces, read};

/// The snapshot of `yaml` (multi-document manifests), read as `-f` reads a file.
pub fn snapshot(yaml: &str) -> Snapshot {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("manifests.yaml");
    std::fs::write(&path, yaml).unwrap();
    let namespaces = Namespaces {
        metallb: "metallb-system".to_string(),
        default: "default".to_string(),
    };
    read(&[path], &namespaces).unwrap()
}

/// The model of an offline snapshot, with the default flags.
pub fn model(snapshot: &Snapshot) -> Model<'_> {
    Model::build(
        snapshot,
        &MetallbFlags::default(),
        Origin::Manifests,
        Vec::new(),
    )
}

/// An IPAddressPool in metallb-system; `extra` is more of its spec, indented as spec fields.
pub fn pool(name: &str, addresses: &[&str], extra: &str) -> String {
    format!(
        "---\napiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: \"{name}\"\n  namespace: metallb-system\nspec:\n  addresses: [{}]\n{extra}",
        addresses
            .iter()
            .map(|a| format!("\"{a}\""))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// An L2Advertisement announcing every pool.
pub fn l2() -> String {
    "---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata:\n  name: all\n  namespace: metallb-system\n".to_string()
}

/// A LoadBalancer service `ns/name` with an IPv4 cluster IP and TCP/80, holding `ingress`;
/// `annotations` are `key: value` lines.
pub fn service(key: &str, ingress: &[&str], annotations: &[(&str, &str)]) -> String {
    let (ns, name) = key.split_once('/').unwrap();
    let annotations: String = annotations
        .iter()
        .map(|(k, v)| format!("    {k}: \"{v}\"\n"))
        .collect();
    let ingress: Vec<String> = ingress.iter().map(|ip| format!("{{ip: {ip}}}")).collect();
    format!(
        "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: \"{name}\"\n  namespace: \"{ns}\"\n  uid: u-{ns}-{name}\n  annotations:\n{annotations}    x: y\nspec:\n  type: LoadBalancer\n  clusterIPs: [10.96.0.10]\n  ports: [{{port: 80, protocol: TCP}}]\nstatus:\n  loadBalancer:\n    ingress: [{}]\n",
        ingress.join(", ")
    )
}

/// A Namespace.
pub fn namespace(name: &str) -> String {
    format!("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: \"{name}\"\n")
}
