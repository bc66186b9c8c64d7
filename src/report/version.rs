//! `version`: the plugin's own version and, unless `--client`, the MetalLB release it finds.

use serde::Serialize;

use crate::metallb::release::MetallbVersion;

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionReport {
    /// `v0.2.0`.
    pub plugin_version: String,
    /// The MetalLB release answers follow, and how it was known; absent with `--client`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metallb_version: Option<MetallbVersion>,
}

pub fn build(metallb_version: Option<MetallbVersion>) -> VersionReport {
    VersionReport {
        plugin_version: format!("v{}", env!("CARGO_PKG_VERSION")),
        metallb_version,
    }
}
