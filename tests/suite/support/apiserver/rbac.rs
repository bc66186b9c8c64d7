//! A small RBAC authorizer: `PolicyRule`s granted cluster-wide or in one
//! namespace, with kube-apiserver's wording when a request is denied.

use std::path::Path;

use serde_json::Value;

use super::fixtures::load_fixtures;

/// One granted Kubernetes RBAC `PolicyRule`, bound cluster-wide (like a
/// ClusterRoleBinding) or in one namespace (like a RoleBinding), to every
/// user or to one.
///
/// `"*"` works as in RBAC for groups, resources, verbs and URLs. An empty
/// `resource_names` allows every name; a non-empty one only allows requests
/// for those names (never lists).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rule {
    /// `""` is the core group.
    pub api_groups: Vec<String>,
    /// Plural resource names, or `resource/subresource`.
    pub resources: Vec<String>,
    pub verbs: Vec<String>,
    pub resource_names: Vec<String>,
    /// Non-resource paths (`/healthz`, `/api/*`); discovery and `/version`
    /// are open to every authenticated user regardless, as on real clusters.
    pub non_resource_urls: Vec<String>,
    /// `Some(ns)`: granted only in that namespace, as by a RoleBinding.
    pub namespace: Option<String>,
    /// `Some(name)`: granted only to that user; `None`: to every user.
    pub user: Option<String>,
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|&item| item.to_owned()).collect()
}

impl Rule {
    /// A rule granting `verbs` on `resources` of `api_groups` everywhere.
    pub fn new(api_groups: &[&str], resources: &[&str], verbs: &[&str]) -> Self {
        Rule {
            api_groups: strings(api_groups),
            resources: strings(resources),
            verbs: strings(verbs),
            ..Rule::default()
        }
    }

    /// Limits the rule to one namespace, as if bound by a RoleBinding there.
    pub fn in_namespace(mut self, namespace: &str) -> Self {
        self.namespace = Some(namespace.to_owned());
        self
    }

    /// Grants the rule to one user only.
    pub fn for_user(mut self, user: &str) -> Self {
        self.user = Some(user.to_owned());
        self
    }

    /// Limits the rule to the named objects.
    pub fn with_resource_names(mut self, names: &[&str]) -> Self {
        self.resource_names = strings(names);
        self
    }

    fn from_policy_rule(rule: &Value, namespace: Option<&str>) -> Self {
        let list = |field: &str| -> Vec<String> {
            rule.get(field)
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|item| item.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        Rule {
            api_groups: list("apiGroups"),
            resources: list("resources"),
            verbs: list("verbs"),
            resource_names: list("resourceNames"),
            non_resource_urls: list("nonResourceURLs"),
            namespace: namespace.map(str::to_owned),
            user: None,
        }
    }

    fn allows(&self, request: &Attributes<'_>) -> bool {
        let covers =
            |items: &[String], wanted: &str| items.iter().any(|item| item == "*" || item == wanted);
        if self
            .user
            .as_deref()
            .is_some_and(|user| user != request.user)
        {
            return false;
        }
        if !covers(&self.verbs, request.verb) {
            return false;
        }
        if let Some(namespace) = &self.namespace
            && request.namespace != Some(namespace.as_str())
        {
            return false;
        }
        let resource = match request.subresource {
            Some(sub) => format!("{}/{sub}", request.resource),
            None => request.resource.to_owned(),
        };
        let resource_matches = self.resources.iter().any(|item| {
            item == "*"
                || *item == resource
                || request
                    .subresource
                    .is_some_and(|sub| *item == format!("*/{sub}"))
        });
        covers(&self.api_groups, request.group)
            && resource_matches
            && (self.resource_names.is_empty()
                || request
                    .name
                    .is_some_and(|name| self.resource_names.iter().any(|n| n == name)))
    }
}

/// Reads every `ClusterRole` (granted cluster-wide) and `Role` (granted in
/// its namespace) in a manifest file, which may hold other documents too.
///
/// Panics when the file cannot be read or holds no roles. Aggregated
/// ClusterRoles (`aggregationRule`) are not expanded.
pub fn rules_from_cluster_role_yaml(path: &Path) -> Vec<Rule> {
    let mut found_role = false;
    let mut rules = Vec::new();
    for document in load_fixtures(path) {
        let namespace = match document.get("kind").and_then(Value::as_str) {
            Some("ClusterRole") => None,
            Some("Role") => Some(
                document
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("default"),
            ),
            _ => continue,
        };
        found_role = true;
        let policy_rules = document.get("rules").and_then(Value::as_array);
        rules.extend(
            policy_rules
                .into_iter()
                .flatten()
                .map(|rule| Rule::from_policy_rule(rule, namespace)),
        );
    }
    assert!(
        found_role,
        "{} holds no ClusterRole or Role",
        path.display()
    );
    rules
}

/// What a resource request asks to do, as the authorizer sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attributes<'a> {
    pub user: &'a str,
    pub verb: &'a str,
    pub group: &'a str,
    pub resource: &'a str,
    pub subresource: Option<&'a str>,
    pub name: Option<&'a str>,
    pub namespace: Option<&'a str>,
}

impl Attributes<'_> {
    /// The authorizer's sentence for a denial, exactly as kube-apiserver
    /// words it.
    pub fn denial(&self) -> String {
        let resource = match self.subresource {
            Some(sub) => format!("{}/{sub}", self.resource),
            None => self.resource.to_owned(),
        };
        let scope = match self.namespace {
            Some(namespace) => format!("in the namespace \"{namespace}\""),
            None => "at the cluster scope".to_owned(),
        };
        format!(
            "User \"{}\" cannot {} resource \"{resource}\" in API group \"{}\" {scope}",
            self.user, self.verb, self.group
        )
    }
}

/// Whether any rule allows the request. `None` (no RBAC) allows everything.
pub(crate) fn authorize(rules: Option<&[Rule]>, request: &Attributes<'_>) -> bool {
    rules.is_none_or(|rules| rules.iter().any(|rule| rule.allows(request)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list_services(namespace: Option<&str>) -> Attributes<'_> {
        Attributes {
            user: "test-user",
            verb: "list",
            group: "",
            resource: "services",
            subresource: None,
            name: None,
            namespace,
        }
    }

    #[test]
    fn rules_match_like_rbac() {
        let cluster = Rule::new(&[""], &["services"], &["list"]);
        assert!(cluster.allows(&list_services(None)));
        assert!(cluster.allows(&list_services(Some("team-a"))));
        let namespaced = cluster.clone().in_namespace("team-a");
        assert!(!namespaced.allows(&list_services(None)));
        assert!(namespaced.allows(&list_services(Some("team-a"))));
        assert!(!Rule::new(&["apps"], &["services"], &["list"]).allows(&list_services(None)));
        assert!(
            !cluster
                .clone()
                .for_user("alice")
                .allows(&list_services(None))
        );
        assert!(
            !cluster
                .with_resource_names(&["web"])
                .allows(&list_services(None))
        );
        assert!(Rule::new(&["*"], &["*"], &["*"]).allows(&list_services(None)));
    }

    #[test]
    fn denial_wording() {
        assert_eq!(
            list_services(Some("team-a")).denial(),
            "User \"test-user\" cannot list resource \"services\" in API group \"\" in the namespace \"team-a\""
        );
    }
}
