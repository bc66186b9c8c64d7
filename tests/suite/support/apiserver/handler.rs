//! Request handling: routing, faults, authentication, impersonation,
//! authorization, then get/list from the store.

use std::sync::Mutex;
use std::time::Duration;

use hyper::header::{HeaderMap, HeaderName};
use serde_json::{Map, Value};

use super::rbac::{self, Attributes};
use super::resources::{self, ResourceType};
use super::status::StatusError;
use super::store::{ListParams, Store};
use super::table;
use super::{DEFAULT_USER, Fault, FaultAction, FaultTarget, RequestRecord, ServerOptions};

/// State shared by every connection of one server.
pub(crate) struct Shared {
    pub store: Store,
    pub options: ServerOptions,
    /// `127.0.0.1:port`, for `serverAddressByClientCIDRs`.
    pub address: String,
    pub log: Mutex<Vec<RequestRecord>>,
    /// How many times each of `options.faults` has fired.
    pub fault_hits: Mutex<Vec<usize>>,
    /// TCP connections accepted.
    pub connections: std::sync::atomic::AtomicUsize,
}

/// The parts of a request the server looks at.
#[derive(Debug)]
pub(crate) struct RequestInfo {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
}

/// A response about to be sent.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Reply {
    fn json(value: &Value) -> Self {
        Reply {
            status: 200,
            content_type: "application/json".to_owned(),
            body: serde_json::to_vec(value).expect("JSON values serialize"),
        }
    }

    /// A JSON document of a media type with parameters, like a Table
    /// (`application/json;as=Table;v=v1;g=meta.k8s.io`).
    fn typed(value: &Value, group: &str, kind: &str, version: &str) -> Self {
        Reply {
            content_type: format!("application/json;as={kind};v={version};g={group}"),
            ..Reply::json(value)
        }
    }

    fn text(body: &str) -> Self {
        Reply {
            status: 200,
            content_type: "text/plain; charset=utf-8".to_owned(),
            body: body.as_bytes().to_vec(),
        }
    }
}

impl From<StatusError> for Reply {
    fn from(error: StatusError) -> Self {
        Reply {
            status: error.code,
            content_type: "application/json".to_owned(),
            body: error.body(),
        }
    }
}

/// The version of `group`'s `kind` that the first media range of an
/// `Accept` header asking for it wants, if one of `versions`; kubectl asks
/// like `application/json;as=Table;v=v1;g=meta.k8s.io, application/json`.
fn negotiate(
    accept: Option<&str>,
    group: &str,
    kind: &str,
    versions: &[&'static str],
) -> Option<&'static str> {
    accept?.split(',').find_map(|range| {
        let params: Vec<(&str, &str)> = range
            .split(';')
            .skip(1)
            .filter_map(|param| param.trim().split_once('='))
            .collect();
        let param = |name: &str| {
            params
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| *value)
        };
        if param("g") != Some(group) || param("as") != Some(kind) {
            return None;
        }
        let version = param("v")?;
        versions.iter().copied().find(|known| *known == version)
    })
}

/// A request for objects of one resource type.
#[derive(Debug)]
struct ResourceRequest<'a> {
    rt: &'static ResourceType,
    namespace: Option<&'a str>,
    name: Option<&'a str>,
    subresource: Option<&'a str>,
}

/// What a path asks for.
#[derive(Debug)]
enum Route<'a> {
    Version,
    Health,
    CoreVersions,
    GroupList,
    Group(&'a str),
    ResourceList { group: &'a str, version: &'a str },
    Resource(ResourceRequest<'a>),
    NotFound,
}

fn route<'a>(path: &'a str, metallb_installed: resources::Installed) -> Route<'a> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["version"] => Route::Version,
        ["healthz" | "livez" | "readyz"] => Route::Health,
        ["api"] => Route::CoreVersions,
        ["apis"] => Route::GroupList,
        ["apis", group] => Route::Group(group),
        ["api", version] => Route::ResourceList { group: "", version },
        ["apis", group, version] => Route::ResourceList { group, version },
        ["api", version, rest @ ..] => resource_route(metallb_installed, "", version, rest),
        ["apis", group, version, rest @ ..] => {
            resource_route(metallb_installed, group, version, rest)
        }
        _ => Route::NotFound,
    }
}

fn resource_route<'a>(
    metallb_installed: resources::Installed,
    group: &str,
    version: &str,
    rest: &[&'a str],
) -> Route<'a> {
    let lookup = |plural: &str| resources::lookup(metallb_installed, group, version, plural);
    let request = match rest {
        ["namespaces", namespace, plural, tail @ ..]
            if tail.len() <= 2 && lookup(plural).is_some_and(|rt| rt.namespaced) =>
        {
            ResourceRequest {
                rt: lookup(plural).expect("checked above"),
                namespace: Some(namespace),
                name: tail.first().copied(),
                subresource: tail.get(1).copied(),
            }
        }
        [plural, tail @ ..] if tail.len() <= 2 => {
            let Some(rt) = lookup(plural) else {
                return Route::NotFound;
            };
            if rt.namespaced && !tail.is_empty() {
                return Route::NotFound;
            }
            ResourceRequest {
                rt,
                namespace: None,
                name: tail.first().copied(),
                subresource: tail.get(1).copied(),
            }
        }
        _ => return Route::NotFound,
    };
    if request.name.is_some_and(str::is_empty) {
        return Route::NotFound;
    }
    match request.subresource {
        Some(sub) if !request.rt.subresources.contains(&sub) => Route::NotFound,
        _ => Route::Resource(request),
    }
}

impl RequestInfo {
    pub fn query_param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    fn header_values(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(HeaderName::from_bytes(name.as_bytes()).expect("valid header name"))
            .iter()
            .filter_map(|value| value.to_str().ok().map(str::to_owned))
            .collect()
    }

    /// The bearer token of the `Authorization` header, if any.
    fn bearer_token(&self) -> Option<&str> {
        let (scheme, token) = self.header("authorization")?.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim())
            .filter(|token| !token.is_empty())
    }

    /// The log entry for this request, answered with `status`.
    pub fn record(&self, status: u16) -> RequestRecord {
        RequestRecord {
            method: self.method.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            authorization: self.header("authorization").map(str::to_owned),
            impersonate_user: self.header("impersonate-user").map(str::to_owned),
            impersonate_groups: self.header_values("impersonate-group"),
            accept: self.header("accept").map(str::to_owned),
            user_agent: self.header("user-agent").map(str::to_owned),
            status,
        }
    }
}

impl FaultTarget {
    fn matches(&self, request: &RequestInfo, route: &Route<'_>) -> bool {
        match self {
            FaultTarget::PathPrefix(prefix) => request.path.starts_with(prefix.as_str()),
            FaultTarget::Path(path) => request.path == *path,
            FaultTarget::Resource {
                group,
                resource,
                namespace,
            } => match route {
                Route::Resource(target) => {
                    target.rt.group == group
                        && target.rt.plural == resource
                        && namespace
                            .as_deref()
                            .is_none_or(|ns| target.namespace == Some(ns))
                }
                _ => false,
            },
        }
    }
}

impl Fault {
    fn matches(&self, request: &RequestInfo, route: &Route<'_>) -> bool {
        self.method
            .as_deref()
            .is_none_or(|method| method.eq_ignore_ascii_case(&request.method))
            && self.target.matches(request, route)
    }
}

/// Applies the faults matching this request: sleeps for every matching
/// delay, then fails with the first matching status, if any.
async fn apply_faults(
    shared: &Shared,
    request: &RequestInfo,
    route: &Route<'_>,
) -> Result<(), StatusError> {
    let mut delays = Vec::new();
    let mut gates = Vec::new();
    let mut failure = None;
    {
        let mut hits = shared.fault_hits.lock().expect("fault counters");
        for (fault, hits) in shared.options.faults.iter().zip(hits.iter_mut()) {
            let exhausted = fault.times.is_some_and(|times| *hits >= times);
            if exhausted || !fault.matches(request, route) {
                continue;
            }
            match &fault.action {
                FaultAction::Delay(delay) => delays.push(*delay),
                FaultAction::Hold(gate) => gates.push(gate.clone()),
                FaultAction::Status { .. } if failure.is_some() => continue,
                FaultAction::Status { code, message } => {
                    failure = Some(StatusError::new(*code, message.clone()));
                }
            }
            *hits += 1;
        }
    }
    for delay in delays {
        tokio::time::sleep(delay).await;
    }
    for gate in gates {
        while !gate.is_open() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    failure.map_or(Ok(()), Err)
}

/// The user a request is authenticated as, or 401.
fn authenticate(options: &ServerOptions, request: &RequestInfo) -> Result<String, StatusError> {
    if options.token.is_none() && options.user_tokens.is_empty() {
        return Ok(DEFAULT_USER.to_owned());
    }
    let token = request
        .bearer_token()
        .ok_or_else(StatusError::unauthorized)?;
    if options.token.as_deref() == Some(token) {
        return Ok(DEFAULT_USER.to_owned());
    }
    options
        .user_tokens
        .get(token)
        .cloned()
        .ok_or_else(StatusError::unauthorized)
}

/// Checks that `user` may impersonate `target` (`users`, `groups` or a
/// service account).
fn check_impersonation(
    options: &ServerOptions,
    user: &str,
    resource: &str,
    target: &str,
) -> Result<(), StatusError> {
    let (resource, namespace, name) =
        match (resource, target.strip_prefix("system:serviceaccount:")) {
            ("users", Some(account)) => match account.split_once(':') {
                Some((namespace, name)) => ("serviceaccounts", Some(namespace), name),
                None => (resource, None, target),
            },
            _ => (resource, None, target),
        };
    let attributes = Attributes {
        user,
        verb: "impersonate",
        group: "",
        resource,
        subresource: None,
        name: Some(name),
        namespace,
    };
    if rbac::authorize(options.rbac.as_deref(), &attributes) {
        Ok(())
    } else {
        Err(StatusError::forbidden(
            resource,
            "",
            Some(name),
            &attributes.denial(),
        ))
    }
}

/// The user the request acts as: the authenticated one, or the one named
/// by `Impersonate-User` when the authenticated one may impersonate it.
fn impersonate(
    options: &ServerOptions,
    user: String,
    request: &RequestInfo,
) -> Result<String, StatusError> {
    let groups = request.header_values("impersonate-group");
    let Some(target) = request.header("impersonate-user") else {
        if groups.is_empty() {
            return Ok(user);
        }
        return Err(StatusError::new(
            500,
            format!("requested groups {groups:?} without impersonating a user"),
        ));
    };
    check_impersonation(options, &user, "users", target)?;
    for group in &groups {
        check_impersonation(options, &user, "groups", group)?;
    }
    Ok(target.to_owned())
}

/// Answers a get or list of objects, after authorization.
fn serve_resource(
    shared: &Shared,
    user: &str,
    request: &RequestInfo,
    target: &ResourceRequest<'_>,
) -> Result<Reply, StatusError> {
    let watch = matches!(request.query_param("watch"), Some("true" | "1"));
    let verb = match (target.name, watch) {
        (_, true) => "watch",
        (Some(_), false) => "get",
        (None, false) => "list",
    };
    let rt = target.rt;
    let attributes = Attributes {
        user,
        verb,
        group: rt.group,
        resource: rt.plural,
        subresource: target.subresource,
        name: target.name,
        // A namespace's own name is its namespace, for RBAC.
        namespace: target
            .namespace
            .or(target.name.filter(|_| rt.plural == "namespaces")),
    };
    if !rbac::authorize(shared.options.rbac.as_deref(), &attributes) {
        return Err(StatusError::forbidden(
            rt.plural,
            rt.group,
            target.name,
            &attributes.denial(),
        ));
    }
    if watch {
        return Err(StatusError::new(
            405,
            "watch is not supported by the loopback test server",
        ));
    }
    let accept = request.header("accept");
    let table_version = negotiate(accept, "meta.k8s.io", "Table", &["v1", "v1beta1"]);
    let table = |items: &[Value], metadata: Map<String, Value>, version: &str| {
        let include = request.query_param("includeObject").unwrap_or("Metadata");
        let table = table::table(rt, items, metadata, include, version);
        Reply::typed(&table, "meta.k8s.io", "Table", version)
    };
    match (target.name, target.subresource) {
        (Some(name), None | Some("status")) => {
            let object = shared.store.get(rt, target.namespace, name)?;
            Ok(match table_version {
                Some(version) => table(&[object], Map::new(), version),
                None => Reply::json(&object),
            })
        }
        (Some(_), Some(_)) => Err(StatusError::method_not_allowed()),
        (None, _) => {
            let params = ListParams::from_query(
                rt,
                &request.query,
                shared.options.max_page_size,
                shared.options.field_selector_spec_type_supported,
            )?;
            let page = shared.store.list(rt, target.namespace, &params)?;
            Ok(match table_version {
                Some(version) => table(&page.items(), page.metadata.clone(), version),
                None => Reply {
                    status: 200,
                    content_type: "application/json".to_owned(),
                    body: page.list_body(),
                },
            })
        }
    }
}

/// Answers a discovery, version or health request.
fn serve_non_resource(
    shared: &Shared,
    request: &RequestInfo,
    route: &Route<'_>,
) -> Result<Reply, StatusError> {
    let metallb = shared.options.metallb();
    let aggregated = if shared.options.aggregated_discovery {
        let accept = request.header("accept");
        negotiate(
            accept,
            "apidiscovery.k8s.io",
            "APIGroupDiscoveryList",
            &["v2", "v2beta1"],
        )
    } else {
        None
    };
    let typed = |document: Value, version| {
        Reply::typed(
            &document,
            "apidiscovery.k8s.io",
            "APIGroupDiscoveryList",
            version,
        )
    };
    let json = |document: Value| Reply::json(&document);
    match (route, aggregated) {
        (Route::CoreVersions, Some(version)) => Ok(typed(
            resources::aggregated_discovery(metallb, true, version),
            version,
        )),
        (Route::GroupList, Some(version)) => Ok(typed(
            resources::aggregated_discovery(metallb, false, version),
            version,
        )),
        (Route::CoreVersions, None) => Ok(json(resources::core_versions(&shared.address))),
        (Route::GroupList, None) => Ok(json(resources::group_list(metallb))),
        (Route::Version, _) => Ok(json(resources::version())),
        (Route::Health, _) => Ok(Reply::text("ok")),
        (Route::Group(group), _) => resources::group(metallb, group)
            .map(json)
            .ok_or_else(StatusError::path_not_found),
        (Route::ResourceList { group, version }, _) => {
            resources::resource_list(metallb, group, version)
                .map(json)
                .ok_or_else(StatusError::path_not_found)
        }
        (Route::Resource(_) | Route::NotFound, _) => Err(StatusError::path_not_found()),
    }
}

/// Answers one request, in kube-apiserver's order: authentication,
/// impersonation, routing, authorization. Injected faults come first.
async fn answer(shared: &Shared, request: &RequestInfo) -> Result<Reply, StatusError> {
    let route = route(&request.path, shared.options.metallb());
    apply_faults(shared, request, &route).await?;
    let user = authenticate(&shared.options, request)?;
    let user = impersonate(&shared.options, user, request)?;
    match &route {
        Route::NotFound => Err(StatusError::path_not_found()),
        _ if request.method != "GET" => Err(StatusError::method_not_allowed()),
        Route::Resource(target) => serve_resource(shared, &user, request, target),
        other => serve_non_resource(shared, request, other),
    }
}

/// Answers one request, failures as `Status` replies.
pub(crate) async fn respond(shared: &Shared, request: &RequestInfo) -> Reply {
    answer(shared, request).await.unwrap_or_else(Reply::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates_like_kubectl_asks() {
        let table = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        let versions = &["v1", "v1beta1"];
        assert_eq!(
            negotiate(Some(table), "meta.k8s.io", "Table", versions),
            Some("v1")
        );
        assert_eq!(
            negotiate(Some("application/json"), "meta.k8s.io", "Table", versions),
            None
        );
        assert_eq!(negotiate(None, "meta.k8s.io", "Table", versions), None);
        let discovery = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";
        assert_eq!(
            negotiate(
                Some(discovery),
                "apidiscovery.k8s.io",
                "APIGroupDiscoveryList",
                &["v2", "v2beta1"]
            ),
            Some("v2beta1")
        );
    }
}
