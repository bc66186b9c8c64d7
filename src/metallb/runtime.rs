//! How MetalLB runs on the cluster: its namespace and `--lb-class`, from the flags, else from
//! its controller Deployment (metallb-semantics.md §1.1: `--namespace`, else
//! `METALLB_NAMESPACE`, else the pod's namespace), else MetalLB's defaults; and what its
//! ConfigurationState says of the configuration.

use super::reason::{Code, Reason};
use crate::snapshot::{Container, Deployment, Snapshot};

/// MetalLB's namespace when nothing else says otherwise (the upstream manifests' choice).
pub const DEFAULT_NAMESPACE: &str = "metallb-system";

/// The label selectors of MetalLB's controller: upstream manifests, then the Helm chart.
pub const CONTROLLER_SELECTORS: [&str; 2] = [
    "app=metallb,component=controller",
    "app.kubernetes.io/name=metallb,app.kubernetes.io/component=controller",
];

/// Whether a Deployment is MetalLB's controller: its labels match one of
/// [`CONTROLLER_SELECTORS`].
pub fn is_controller(deployment: &Deployment) -> bool {
    let labels = &deployment.metadata.labels;
    CONTROLLER_SELECTORS.iter().any(|selector| {
        selector.split(',').all(|pair| {
            pair.split_once('=')
                .is_some_and(|(key, value)| labels.get(key) == Some(value))
        })
    })
}

/// How MetalLB runs on the cluster the snapshot describes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Runtime {
    /// The one namespace MetalLB reads pools and advertisements from.
    pub namespace: String,
    /// The `--lb-class` its controller runs with.
    pub lb_class: Option<String>,
    /// What deserves a word: MetalLB not found, its own verdict that the configuration is
    /// invalid.
    pub notes: Vec<Reason>,
}

impl Runtime {
    /// The flags (`--metallb-namespace`, `--lb-class`) win; else the controller Deployment
    /// the input holds; else MetalLB's defaults.
    pub fn resolve(
        snapshot: &Snapshot,
        namespace: Option<&str>,
        lb_class: Option<&str>,
    ) -> Runtime {
        let detected = snapshot
            .controllers
            .as_deref()
            .and_then(|found| found.first())
            .map(detect);
        let mut notes = Vec::new();
        if namespace.is_none() && detected.is_none() && snapshot.controllers.is_some() {
            notes.push(Reason::new(
                Code::MetallbNotDetected,
                format!(
                    "no MetalLB controller Deployment found; assuming namespace {DEFAULT_NAMESPACE} (use --metallb-namespace)"
                ),
            ));
        }
        let namespace = namespace
            .map(str::to_string)
            .or_else(|| detected.as_ref().map(|d| d.namespace.clone()))
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string());
        notes.extend(configuration_state_notes(snapshot, &namespace));
        Runtime {
            lb_class: lb_class
                .map(str::to_string)
                .or_else(|| detected.and_then(|d| d.lb_class)),
            namespace,
            notes,
        }
    }
}

/// MetalLB's own verdict (ConfigurationState `controller`, v0.15.3+), when it says the
/// configuration is invalid.
fn configuration_state_notes(snapshot: &Snapshot, namespace: &str) -> Vec<Reason> {
    snapshot
        .configuration_states
        .iter()
        .filter(|s| s.metadata.namespace == namespace && s.metadata.name == "controller")
        .filter(|s| s.status.result.as_deref() == Some("Invalid"))
        .map(|s| {
            Reason::new(
                Code::ConfigInvalid,
                format!(
                    "MetalLB's ConfigurationState says the configuration is invalid: {}",
                    s.status.error_summary.as_deref().unwrap_or("no summary")
                ),
            )
        })
        .collect()
}

/// What the controller's Deployment says about how MetalLB runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detected {
    pub namespace: String,
    pub lb_class: Option<String>,
    /// `namespace/name` of the Deployment read.
    pub from: String,
}

/// Reads the MetalLB namespace and `--lb-class` from a controller Deployment.
pub fn detect(deployment: &Deployment) -> Detected {
    let container = controller_container(deployment);
    let own_namespace = deployment.metadata.namespace.to_string();
    let (mut namespace, mut lb_class) = (None, None);
    if let Some(c) = container {
        let words: Vec<&String> = c.command.iter().chain(&c.args).collect();
        namespace = flag_value(&words, "namespace");
        lb_class = flag_value(&words, "lb-class");
        if namespace.is_none() {
            namespace = c
                .env
                .iter()
                .find(|e| e.name == "METALLB_NAMESPACE")
                .and_then(|e| match (&e.value, &e.value_from) {
                    (Some(v), _) if !v.is_empty() => Some(v.clone()),
                    (_, Some(from))
                        if from
                            .field_ref
                            .as_ref()
                            .is_some_and(|f| f.field_path == "metadata.namespace") =>
                    {
                        Some(own_namespace.clone())
                    }
                    _ => None,
                });
        }
    }
    Detected {
        namespace: namespace
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| own_namespace.clone()),
        lb_class: lb_class.filter(|c| !c.is_empty()),
        from: format!("{own_namespace}/{}", deployment.metadata.name),
    }
}

/// The container that runs MetalLB's controller: the one named `controller`, else the first.
fn controller_container(deployment: &Deployment) -> Option<&Container> {
    let containers = &deployment.spec.template.spec.containers;
    containers
        .iter()
        .find(|c| c.name == "controller")
        .or(containers.first())
}

/// The controller's image reference, whose tag names the release (Appendix C).
pub fn controller_image(deployment: &Deployment) -> Option<&str> {
    controller_container(deployment)
        .map(|c| c.image.as_str())
        .filter(|image| !image.is_empty())
}

/// `--name=value`, `-name=value`, or `--name value`.
fn flag_value(words: &[&String], name: &str) -> Option<String> {
    for (i, word) in words.iter().enumerate() {
        let Some(flag) = word.strip_prefix("--").or_else(|| word.strip_prefix('-')) else {
            continue;
        };
        if let Some(value) = flag
            .strip_prefix(name)
            .and_then(|rest| rest.strip_prefix('='))
        {
            return Some(value.to_string());
        }
        if flag == name {
            return words.get(i + 1).map(|v| v.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{labels, meta};
    use crate::snapshot::{
        Container, DeploymentSpec, EnvSource, EnvVar, FieldRef, PodSpec, PodTemplate,
    };

    fn deployment(ns: &str, args: &[&str], env: Vec<EnvVar>) -> Deployment {
        Deployment {
            metadata: meta(ns, "controller"),
            spec: DeploymentSpec {
                template: PodTemplate {
                    spec: PodSpec {
                        containers: vec![Container {
                            name: "controller".into(),
                            args: args.iter().map(|s| s.to_string()).collect(),
                            env,
                            ..Default::default()
                        }],
                    },
                },
            },
        }
    }

    fn snapshot_with(controllers: Option<Vec<Deployment>>) -> Snapshot {
        Snapshot {
            controllers,
            ..Snapshot::default()
        }
    }

    #[test]
    fn flags_then_the_controller_then_the_default() {
        let found = snapshot_with(Some(vec![deployment("mlb", &["--lb-class=x"], vec![])]));
        let r = Runtime::resolve(&found, None, None);
        assert_eq!(
            (r.namespace.as_str(), r.lb_class.as_deref()),
            ("mlb", Some("x"))
        );
        assert!(r.notes.is_empty());
        let r = Runtime::resolve(&found, Some("given"), Some("y"));
        assert_eq!(
            (r.namespace.as_str(), r.lb_class.as_deref()),
            ("given", Some("y"))
        );
        // Looked for and not found: said; not looked for (manifests without one): silent.
        let r = Runtime::resolve(&snapshot_with(Some(vec![])), None, None);
        assert_eq!(r.namespace, DEFAULT_NAMESPACE);
        assert_eq!(r.notes[0].code, Code::MetallbNotDetected);
        let r = Runtime::resolve(&snapshot_with(None), None, None);
        assert_eq!(
            (r.namespace.as_str(), r.notes.len()),
            (DEFAULT_NAMESPACE, 0)
        );
        let r = Runtime::resolve(&snapshot_with(Some(vec![])), Some("given"), None);
        assert!(r.notes.is_empty(), "a namespace given needs no detection");
    }

    #[test]
    fn an_invalid_configuration_state_of_the_metallb_namespace_is_a_note() {
        use crate::snapshot::{ConfigurationState, ConfigurationStatus};
        let state = |ns: &str, name: &str, result: &str| ConfigurationState {
            metadata: meta(ns, name),
            status: ConfigurationStatus {
                result: Some(result.into()),
                error_summary: Some("overlap".into()),
            },
        };
        let snapshot = Snapshot {
            configuration_states: vec![
                state("metallb-system", "controller", "Invalid"),
                state("metallb-system", "speaker-a", "Invalid"),
                state("elsewhere", "controller", "Invalid"),
                state("metallb-system", "controller", "Valid"),
            ],
            ..Snapshot::default()
        };
        let r = Runtime::resolve(&snapshot, None, None);
        assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
        assert_eq!(r.notes[0].code, Code::ConfigInvalid);
        assert!(r.notes[0].message.ends_with(": overlap"));
    }

    #[test]
    fn controllers_are_known_by_their_labels() {
        let mut d = deployment("m", &[], vec![]);
        assert!(!is_controller(&d));
        d.metadata.labels = labels(&[("app", "metallb"), ("component", "controller")]);
        assert!(is_controller(&d));
        d.metadata.labels = labels(&[
            ("app.kubernetes.io/name", "metallb"),
            ("app.kubernetes.io/component", "controller"),
        ]);
        assert!(is_controller(&d), "the Helm chart's labels");
        d.metadata.labels = labels(&[("app", "metallb"), ("component", "speaker")]);
        assert!(!is_controller(&d));
    }

    #[test]
    fn the_flag_wins() {
        let d = detect(&deployment(
            "metallb",
            &[
                "--port=7472",
                "--namespace=elsewhere",
                "--lb-class",
                "metallb",
            ],
            vec![],
        ));
        assert_eq!(d.namespace, "elsewhere");
        assert_eq!(d.lb_class.as_deref(), Some("metallb"));
        let d = detect(&deployment(
            "metallb",
            &["-namespace", "single-dash"],
            vec![],
        ));
        assert_eq!(d.namespace, "single-dash");
    }

    #[test]
    fn then_the_environment_then_the_deployment_namespace() {
        let env = vec![EnvVar {
            name: "METALLB_NAMESPACE".into(),
            value: Some("from-env".into()),
            value_from: None,
        }];
        assert_eq!(
            detect(&deployment("metallb", &[], env)).namespace,
            "from-env"
        );
        let field_ref = vec![EnvVar {
            name: "METALLB_NAMESPACE".into(),
            value: None,
            value_from: Some(EnvSource {
                field_ref: Some(FieldRef {
                    field_path: "metadata.namespace".into(),
                }),
            }),
        }];
        assert_eq!(
            detect(&deployment("helm-release", &[], field_ref)).namespace,
            "helm-release"
        );
        let d = detect(&deployment("metallb-system", &["--log-level=info"], vec![]));
        assert_eq!(d.namespace, "metallb-system");
        assert_eq!(d.lb_class, None);
        assert_eq!(d.from, "metallb-system/controller");
    }

    #[test]
    fn the_image_is_the_controller_containers() {
        let mut d = deployment("m", &[], vec![]);
        assert_eq!(controller_image(&d), None, "no image written");
        let sidecar = Container {
            name: "kube-rbac-proxy".into(),
            image: "quay.io/brancz/kube-rbac-proxy:v0.18.0".into(),
            ..Default::default()
        };
        d.spec.template.spec.containers.insert(0, sidecar.clone());
        d.spec.template.spec.containers[1].image = "quay.io/metallb/controller:v0.14.8".into();
        assert_eq!(
            controller_image(&d),
            Some("quay.io/metallb/controller:v0.14.8")
        );
        d.spec.template.spec.containers = vec![sidecar];
        assert_eq!(
            controller_image(&d),
            Some("quay.io/brancz/kube-rbac-proxy:v0.18.0"),
            "no container named controller: the first"
        );
    }

    #[test]
    fn a_flag_prefix_is_not_the_flag() {
        let d = detect(&deployment(
            "m",
            &["--namespaces=x", "--lb-classes=y"],
            vec![],
        ));
        assert_eq!(d.namespace, "m");
        assert_eq!(d.lb_class, None);
    }
}
