//! Where MetalLB runs and with which `--lb-class`, read from its controller Deployment
//! (metallb-semantics.md §1.1: flag, else `METALLB_NAMESPACE`, else the pod's namespace).

use serde::Deserialize;

use crate::snapshot::Metadata;

/// The label selectors of MetalLB's controller: upstream manifests, then the Helm chart.
pub const CONTROLLER_SELECTORS: [&str; 2] = [
    "app=metallb,component=controller",
    "app.kubernetes.io/name=metallb,app.kubernetes.io/component=controller",
];

/// A Deployment, reduced to its containers' arguments and environment.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Deployment {
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub spec: DeploymentSpec,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct DeploymentSpec {
    #[serde(default)]
    pub template: PodTemplate,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct PodTemplate {
    #[serde(default)]
    pub spec: PodSpec,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct PodSpec {
    #[serde(default)]
    pub containers: Vec<Container>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Container {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub env: Vec<EnvVar>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvVar {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub value_from: Option<EnvSource>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvSource {
    #[serde(default)]
    pub field_ref: Option<FieldRef>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldRef {
    #[serde(default)]
    pub field_path: String,
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
    let containers = &deployment.spec.template.spec.containers;
    let container = containers
        .iter()
        .find(|c| c.name == "controller")
        .or(containers.first());
    let own_namespace = deployment.metadata.namespace.clone();
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

    fn deployment(ns: &str, args: &[&str], env: Vec<EnvVar>) -> Deployment {
        Deployment {
            metadata: Metadata {
                name: "controller".into(),
                namespace: ns.into(),
                ..Default::default()
            },
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
