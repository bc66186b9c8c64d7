//! The kubeconfig, found and merged as kubectl finds it: `--kubeconfig`, else the
//! `KUBECONFIG` path list (missing files skipped), else `~/.kube/config`.

use std::path::{Path, PathBuf};

use kube::config::{AuthInfo, Context, Kubeconfig};

use crate::error::{Error, Result};

/// Where a pod finds its own namespace (in-cluster configuration).
const IN_CLUSTER_NAMESPACE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/// `--kubeconfig`, else `KUBECONFIG` merged, else `~/.kube/config`; `None` when there is
/// none (then the in-cluster configuration is the one to use).
pub fn load(explicit: Option<&Path>) -> Result<Option<Kubeconfig>> {
    let invalid = |path: &Path, e: kube::config::KubeconfigError| {
        Error::input(format!("kubeconfig {}", path.display()), unreadable(&e))
    };
    if let Some(path) = explicit {
        if !path.exists() {
            return Err(Error::input(
                format!("kubeconfig {}", path.display()),
                "no such file",
            ));
        }
        return Kubeconfig::read_from(path)
            .map(Some)
            .map_err(|e| invalid(path, e));
    }
    let paths: Vec<PathBuf> = match std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        Some(list) => std::env::split_paths(&list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect(),
        None => std::env::home_dir()
            .map(|h| h.join(".kube").join("config"))
            .into_iter()
            .collect(),
    };
    let mut merged: Option<Kubeconfig> = None;
    for path in paths.iter().filter(|p| p.exists()) {
        let next = Kubeconfig::read_from(path).map_err(|e| invalid(path, e))?;
        merged = Some(match merged {
            Some(m) => m.merge(next).map_err(|e| invalid(path, e))?,
            None => next,
        });
    }
    Ok(merged)
}

/// Why a kubeconfig cannot be read, without its text: a YAML error goes on to quote the
/// lines around the mistake, and those may hold a token or a key.
fn unreadable(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let mut texts = Vec::new();
    let mut current = Some(error);
    while let Some(e) = current {
        texts.push(e.to_string());
        current = e.source();
    }
    for text in &texts {
        let first = text.lines().next().unwrap_or_default().trim();
        if !first.is_empty() && !parts.iter().any(|p| p.contains(first)) {
            parts.push(first);
        }
    }
    parts.join(": ")
}

/// The entries `--context`, `--cluster` and `--user` name.
#[derive(Clone, Copy, Debug, Default)]
pub struct Names<'a> {
    pub context: Option<&'a str>,
    pub cluster: Option<&'a str>,
    pub user: Option<&'a str>,
}

/// Every name given must be an entry of the kubeconfig.
pub fn check_names(kubeconfig: &Kubeconfig, names: &Names) -> Result<()> {
    let lists: [(&str, Option<&str>, Vec<&str>); 3] = [
        (
            "context",
            names.context,
            kubeconfig
                .contexts
                .iter()
                .map(|c| c.name.as_str())
                .collect(),
        ),
        (
            "cluster",
            names.cluster,
            kubeconfig
                .clusters
                .iter()
                .map(|c| c.name.as_str())
                .collect(),
        ),
        (
            "user",
            names.user,
            kubeconfig
                .auth_infos
                .iter()
                .map(|u| u.name.as_str())
                .collect(),
        ),
    ];
    for (what, wanted, known) in lists {
        if let Some(wanted) = wanted
            && !known.contains(&wanted)
        {
            return Err(Error::input(
                "kubeconfig",
                format!(
                    "no {what} named {wanted:?} (the kubeconfig has: {})",
                    known.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// The context in use: `--context`, else the current context.
fn context_in_use<'a>(kubeconfig: &'a Kubeconfig, context: Option<&str>) -> Option<&'a Context> {
    let name = context.or(kubeconfig.current_context.as_deref())?;
    kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == name)?
        .context
        .as_ref()
}

/// The namespace of the context in use, if it sets one.
pub fn context_namespace(kubeconfig: &Kubeconfig, context: Option<&str>) -> Option<String> {
    context_in_use(kubeconfig, context)?
        .namespace
        .clone()
        .filter(|ns| !ns.is_empty())
}

/// The user in use: `--user`, else the context's.
fn user_in_use<'a>(kubeconfig: &'a Kubeconfig, names: &Names) -> Option<&'a AuthInfo> {
    let name = match names.user {
        Some(user) => user.to_string(),
        None => context_in_use(kubeconfig, names.context)?.user.clone()?,
    };
    let named = kubeconfig.auth_infos.iter().find(|u| u.name == name)?;
    named.auth_info.as_ref()
}

/// The user's credential plugin (`exec.command`), if it has one.
pub fn credential_plugin(kubeconfig: &Kubeconfig, names: &Names) -> Option<String> {
    user_in_use(kubeconfig, names)?
        .exec
        .as_ref()?
        .command
        .clone()
}

/// The cluster's `proxy-url` (`--cluster`, else the context's cluster), if it sets one.
pub fn proxy_url(kubeconfig: &Kubeconfig, names: &Names) -> Option<String> {
    let name = match names.cluster {
        Some(cluster) => cluster.to_string(),
        None => context_in_use(kubeconfig, names.context)?.cluster.clone(),
    };
    let named = kubeconfig.clusters.iter().find(|c| c.name == name)?;
    named
        .cluster
        .as_ref()?
        .proxy_url
        .clone()
        .filter(|url| !url.is_empty())
}

/// Inside a pod: the pod's namespace, as kubectl uses it.
pub fn in_cluster_namespace() -> Option<String> {
    let text = std::fs::read_to_string(IN_CLUSTER_NAMESPACE).ok()?;
    Some(text.trim().to_string()).filter(|ns| !ns.is_empty())
}

/// The contexts of the kubeconfig, for shell completion.
pub fn context_names(kubeconfig: Option<&Kubeconfig>) -> Vec<String> {
    kubeconfig
        .map(|k| k.contexts.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> Kubeconfig {
        Kubeconfig::from_yaml(yaml).unwrap()
    }

    const TWO_CONTEXTS: &str = "apiVersion: v1
kind: Config
current-context: a
contexts:
- name: a
  context: {cluster: c, user: u, namespace: team-a}
- name: b
  context: {cluster: c, user: u}
clusters:
- name: c
  cluster: {server: 'https://127.0.0.1:1'}
users:
- name: u
  user: {token: t}
";

    #[test]
    fn the_context_in_use_gives_the_namespace() {
        let k = config(TWO_CONTEXTS);
        assert_eq!(context_namespace(&k, None).as_deref(), Some("team-a"));
        assert_eq!(context_namespace(&k, Some("a")).as_deref(), Some("team-a"));
        assert_eq!(context_namespace(&k, Some("b")), None, "b sets none");
        assert_eq!(context_namespace(&k, Some("zzz")), None);
    }

    #[test]
    fn the_user_and_cluster_in_use_give_plugin_and_proxy() {
        let k = config(
            "apiVersion: v1
kind: Config
current-context: a
contexts:
- name: a
  context: {cluster: c, user: u}
- name: b
  context: {cluster: d, user: v}
clusters:
- name: c
  cluster: {server: 'https://127.0.0.1:1', proxy-url: 'http://proxy:3128'}
- name: d
  cluster: {server: 'https://127.0.0.1:2'}
users:
- name: u
  user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: get-token}}
- name: v
  user: {token: t}
",
        );
        let current = Names::default();
        assert_eq!(
            credential_plugin(&k, &current).as_deref(),
            Some("get-token")
        );
        assert_eq!(
            proxy_url(&k, &current).as_deref(),
            Some("http://proxy:3128")
        );
        let b = Names {
            context: Some("b"),
            ..Names::default()
        };
        assert_eq!(credential_plugin(&k, &b), None);
        assert_eq!(proxy_url(&k, &b), None);
        let flags = Names {
            context: Some("b"),
            cluster: Some("c"),
            user: Some("u"),
        };
        assert_eq!(proxy_url(&k, &flags).as_deref(), Some("http://proxy:3128"));
        assert_eq!(credential_plugin(&k, &flags).as_deref(), Some("get-token"));
    }

    #[test]
    fn names_must_be_entries() {
        let k = config(TWO_CONTEXTS);
        let ok = Names {
            context: Some("b"),
            cluster: Some("c"),
            user: Some("u"),
        };
        assert!(check_names(&k, &ok).is_ok());
        let e = check_names(
            &k,
            &Names {
                user: Some("root"),
                ..Names::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "kubeconfig: no user named \"root\" (the kubeconfig has: u)"
        );
    }

    #[test]
    fn an_explicit_file_that_is_missing_is_named() {
        let e = load(Some(Path::new("/nonexistent/config"))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "kubeconfig /nonexistent/config: no such file"
        );
    }

    #[test]
    fn an_unreadable_kubeconfig_is_named_without_quoting_its_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(
            &path,
            "apiVersion: v1\nusers:\n- name: u\n  user: {token: s3cr3t-t0ken, [oops\n",
        )
        .unwrap();
        let message = load(Some(&path)).unwrap_err().to_string();
        assert!(message.contains("line 4"), "{message}");
        assert!(!message.contains("s3cr3t"), "{message}");
        assert!(!message.contains('\n'), "{message}");
    }
}
