//! MetalLB's own objects that say how it runs, beyond its configuration: the controller
//! Deployment (namespace, `--lb-class`, image) and ConfigurationState (v0.15.3+). They are
//! read live and from manifests alike, and `dump` writes them, so that answers computed
//! from a dump are those computed live.

use serde::{Deserialize, Serialize};

use super::Metadata;

/// A Deployment, reduced to its containers' arguments and environment.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Deployment {
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub spec: DeploymentSpec,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct DeploymentSpec {
    #[serde(default)]
    pub template: PodTemplate,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct PodTemplate {
    #[serde(default)]
    pub spec: PodSpec,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct PodSpec {
    #[serde(default)]
    pub containers: Vec<Container>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Container {
    #[serde(default)]
    pub name: String,
    /// The image reference: its tag names the MetalLB release.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvVar {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<EnvSource>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvSource {
    #[serde(default)]
    pub field_ref: Option<FieldRef>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldRef {
    #[serde(default)]
    pub field_path: String,
}

/// MetalLB's ConfigurationState (v0.15.3+): the controller's verdict on its configuration.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct ConfigurationState {
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub status: ConfigurationStatus,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_summary: Option<String>,
}
