//! Writing kubeconfig files that point at a loopback server.

use std::fs;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

/// How to name and fill the single context of a kubeconfig written by
/// [`super::ApiServer::write_kubeconfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeconfigContext {
    /// Name of the context, which is also the `current-context`.
    pub context: String,
    pub cluster: String,
    pub user: String,
    /// Default namespace of the context; `None` leaves it unset.
    pub namespace: Option<String>,
    /// Bearer token to write instead of the server's own (a wrong one, say).
    /// `None` writes the server's token, or no token when it has none.
    pub token: Option<String>,
    /// The cluster's `proxy-url`.
    pub proxy_url: Option<String>,
}

impl Default for KubeconfigContext {
    fn default() -> Self {
        KubeconfigContext {
            context: "loopback".to_owned(),
            cluster: "loopback".to_owned(),
            user: "loopback-user".to_owned(),
            namespace: None,
            token: None,
            proxy_url: None,
        }
    }
}

impl KubeconfigContext {
    /// The default names with `namespace` as the context's namespace.
    pub fn with_namespace(namespace: &str) -> Self {
        KubeconfigContext {
            namespace: Some(namespace.to_owned()),
            ..KubeconfigContext::default()
        }
    }

    /// The default names, authenticating with `token`.
    pub fn with_token(token: &str) -> Self {
        KubeconfigContext {
            token: Some(token.to_owned()),
            ..KubeconfigContext::default()
        }
    }
}

/// The kubeconfig document for one server and context.
pub(crate) fn document(
    server: &str,
    ca_pem: Option<&str>,
    token: Option<&str>,
    context: &KubeconfigContext,
) -> Value {
    let mut cluster = Map::new();
    cluster.insert("server".into(), json!(server));
    if let Some(ca_pem) = ca_pem {
        cluster.insert(
            "certificate-authority-data".into(),
            json!(STANDARD.encode(ca_pem)),
        );
    }
    if let Some(proxy_url) = &context.proxy_url {
        cluster.insert("proxy-url".into(), json!(proxy_url));
    }
    let mut user = Map::new();
    if let Some(token) = context.token.as_deref().or(token) {
        user.insert("token".into(), json!(token));
    }
    let mut context_body = Map::new();
    context_body.insert("cluster".into(), json!(context.cluster));
    context_body.insert("user".into(), json!(context.user));
    if let Some(namespace) = &context.namespace {
        context_body.insert("namespace".into(), json!(namespace));
    }
    json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context.cluster, "cluster": cluster}],
        "users": [{"name": context.user, "user": user}],
        "contexts": [{"name": context.context, "context": context_body}],
        "current-context": context.context,
        "preferences": {},
    })
}

/// Writes `document` as YAML, creating parent directories.
pub(crate) fn write(path: &Path, document: &Value) {
    let yaml = serde_saphyr::to_string(document).expect("kubeconfig serializes to YAML");
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .unwrap_or_else(|error| panic!("cannot create {}: {error}", parent.display()));
    }
    fs::write(path, yaml)
        .unwrap_or_else(|error| panic!("cannot write kubeconfig {}: {error}", path.display()));
}
