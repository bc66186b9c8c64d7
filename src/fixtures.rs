//! Builders for the objects the model reads, shared by every unit test: what "a pool", "a
//! LoadBalancer service" or "a labelled namespace" is in a test is said once, here, so a
//! test shows only what it is about.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::snapshot::{
    Advertisement, AdvertisementSpec, Ingress, IpAddressPool, Metadata, Namespace, PoolSpec,
    Service, ServiceAllocation, ServicePort, Snapshot,
};

/// MetalLB's default namespace: where every pool and advertisement built here lives.
pub const METALLB_NS: &str = "metallb-system";

pub fn meta(namespace: &str, name: &str) -> Metadata {
    Metadata {
        name: name.into(),
        namespace: namespace.into(),
        ..Default::default()
    }
}

/// Labels as an object's (`StringMap`) or a selector's `matchLabels` (`BTreeMap`).
pub fn labels<M: FromIterator<(String, String)>>(pairs: &[(&str, &str)]) -> M {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A selector with `matchLabels` only.
pub fn match_labels(pairs: &[(&str, &str)]) -> LabelSelector {
    LabelSelector {
        match_labels: Some(labels(pairs)),
        match_expressions: None,
    }
}

fn strings<T: for<'a> From<&'a str>, C: FromIterator<T>>(texts: &[&str]) -> C {
    texts.iter().map(|s| T::from(s)).collect()
}

/// A plain pool (no allocation scope) in MetalLB's namespace.
pub fn pool(name: &str, addresses: &[&str]) -> IpAddressPool {
    IpAddressPool {
        metadata: meta(METALLB_NS, name),
        spec: PoolSpec {
            addresses: strings(addresses),
            ..Default::default()
        },
        status: None,
    }
}

/// `pool` with a `serviceAllocation`.
pub fn allocating(mut pool: IpAddressPool, allocation: ServiceAllocation) -> IpAddressPool {
    pool.spec.service_allocation = Some(allocation);
    pool
}

/// A pool pinned by priority and namespace list.
pub fn pinned(
    name: &str,
    addresses: &[&str],
    priority: Option<i64>,
    namespaces: &[&str],
) -> IpAddressPool {
    allocating(
        pool(name, addresses),
        ServiceAllocation {
            priority,
            namespaces: strings(namespaces),
            ..Default::default()
        },
    )
}

/// An advertisement in MetalLB's namespace (the kind, L2 or BGP, is where it is put).
pub fn advertisement(name: &str, pools: &[&str], selectors: Vec<LabelSelector>) -> Advertisement {
    Advertisement {
        metadata: meta(METALLB_NS, name),
        spec: AdvertisementSpec {
            ip_address_pools: strings(pools),
            ip_address_pool_selectors: selectors,
            service_selectors: vec![],
        },
    }
}

pub fn namespace(name: &str, pairs: &[(&str, &str)]) -> Namespace {
    Namespace {
        metadata: Metadata {
            labels: labels(pairs),
            ..meta("", name)
        },
    }
}

/// A snapshot holding these pools and nothing else.
pub fn snapshot(pools: Vec<IpAddressPool>) -> Snapshot {
    Snapshot {
        pools,
        ..Default::default()
    }
}

/// A Service with a name and nothing else (not even a type).
pub fn service(namespace: &str, name: &str) -> Service {
    Service {
        metadata: meta(namespace, name),
        ..Default::default()
    }
}

/// A LoadBalancer service with these cluster IPs and no ports.
pub fn lb(namespace: &str, name: &str, cluster_ips: &[&str]) -> Service {
    let mut s = service(namespace, name);
    s.spec.type_ = Some("LoadBalancer".into());
    s.spec.cluster_ips = strings(cluster_ips);
    s
}

/// A LoadBalancer service `namespace/name` with one IPv4 cluster IP and TCP/80.
pub fn svc(key: &str) -> Service {
    let (namespace, name) = key.split_once('/').expect("namespace/name");
    port(lb(namespace, name, &["10.96.0.10"]), "TCP", 80)
}

/// `s` made dual-stack (IPv4 first) with this `ipFamilyPolicy`.
pub fn dual(mut s: Service, policy: &str) -> Service {
    s.spec.cluster_ips = strings(&["10.96.0.10", "fd00::10"]);
    s.spec.ip_families = strings(&["IPv4", "IPv6"]);
    with_family_policy(s, policy)
}

/// `s` with this `ipFamilyPolicy`, its cluster IPs as they are.
pub fn with_family_policy(mut s: Service, policy: &str) -> Service {
    s.spec.ip_family_policy = Some(policy.into());
    s
}

pub fn annotate(mut s: Service, key: &str, value: &str) -> Service {
    s.metadata.annotations.insert(key, value);
    s
}

/// `s` with exactly this one port.
pub fn port(mut s: Service, protocol: &str, number: i32) -> Service {
    s.spec.ports = smallvec::smallvec![ServicePort {
        name: None,
        protocol: Some(protocol.into()),
        port: number,
    }];
    s
}

/// `s` with these addresses in its status, as after an allocation.
pub fn holding(mut s: Service, ips: &[&str]) -> Service {
    s.status.load_balancer.ingress = ips
        .iter()
        .map(|ip| Ingress {
            ip: Some((*ip).into()),
            hostname: None,
        })
        .collect();
    s
}

/// Manifests as text, read by the real offline reader: for reports built from a model.
pub mod manifests {
    use crate::model::Model;
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
        Model::build(snapshot, &MetallbFlags::default(), Vec::new())
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
}
