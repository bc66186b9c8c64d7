//! Proves the loopback API server in `support::apiserver` behaves
//! like a real kube-apiserver, by driving the real `kubectl` (and kube-rs)
//! against it.

use std::collections::BTreeSet;
use std::fs;
use std::time::Duration;

use crate::support::apiserver::{
    ApiServer, DEFAULT_USER, Fault, FaultTarget, KubeconfigContext, Rule, ServerOptions,
    load_fixtures, rules_from_cluster_role_yaml, standard_fixtures,
};
use crate::support::kubectl::Kubectl;
use serde_json::Value;

const TOKEN: &str = "loopback-token";

fn start(options: ServerOptions) -> ApiServer {
    ApiServer::start(standard_fixtures(), options)
}

/// HTTPS with a required token: kubectl only sends credentials over TLS.
fn secure_options() -> ServerOptions {
    ServerOptions {
        tls: true,
        token: Some(TOKEN.to_owned()),
        ..ServerOptions::default()
    }
}

/// `namespace/name` of a namespaced object, `name` of a cluster-scoped one.
fn object_key(object: &Value) -> String {
    let metadata = &object["metadata"];
    let name = metadata["name"].as_str().expect("metadata.name");
    match metadata["namespace"].as_str() {
        Some(namespace) => format!("{namespace}/{name}"),
        None => name.to_owned(),
    }
}

/// The keys of every item of a list that kubectl printed.
fn item_keys(list: &Value) -> BTreeSet<String> {
    list["items"]
        .as_array()
        .expect("a list with items")
        .iter()
        .map(object_key)
        .collect()
}

/// The keys of every fixture object of a kind.
fn fixture_keys(kind: &str) -> BTreeSet<String> {
    standard_fixtures()
        .iter()
        .filter(|object| object["kind"] == kind)
        .map(object_key)
        .collect()
}

fn keys(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|&item| item.to_owned()).collect()
}

#[test]
fn kubectl_lists_all_services_as_json() {
    let server = start(ServerOptions::default());
    let kubectl = Kubectl::for_server(&server);
    let list = kubectl.run(&["get", "svc", "-A", "-o", "json"]).json();

    assert_eq!(item_keys(&list), fixture_keys("Service"));
    assert_eq!(fixture_keys("Service").len(), 7);
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|item| item["kind"] == "Service")
    );
    let lists: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|request| request.path == "/api/v1/services")
        .collect();
    assert_eq!(lists.len(), 1, "{lists:#?}");
    assert_eq!(lists[0].query_param("limit"), Some("500"));
    assert_eq!(lists[0].status, 200);
    assert!(
        lists[0]
            .user_agent
            .as_deref()
            .is_some_and(|agent| agent.starts_with("kubectl/")),
        "{lists:#?}"
    );
}

#[test]
fn kubectl_lists_metallb_pools_by_group_qualified_name() {
    let server = start(ServerOptions::default());
    let kubectl = Kubectl::for_server(&server);
    let list = kubectl
        .run(&["get", "ipaddresspools.metallb.io", "-A", "-o", "json"])
        .json();

    assert_eq!(
        item_keys(&list),
        keys(&["metallb-system/default-pool", "metallb-system/reserved"])
    );
    let pool = &list["items"][0];
    assert_eq!(pool["apiVersion"], "metallb.io/v1beta1");
    assert_eq!(pool["kind"], "IPAddressPool");
    assert_eq!(pool["spec"]["addresses"][0], "192.168.10.0/24");

    let l2 = kubectl
        .run(&[
            "get",
            "l2advertisements",
            "-n",
            "metallb-system",
            "-o",
            "json",
        ])
        .json();
    assert_eq!(item_keys(&l2), keys(&["metallb-system/l2-default"]));
}

#[test]
fn kubectl_uses_aggregated_discovery() {
    let server = start(ServerOptions::default());
    let kubectl = Kubectl::for_server(&server);
    kubectl
        .run(&["get", "ipaddresspools.metallb.io", "-A", "-o", "json"])
        .json();

    let paths: Vec<String> = server
        .requests()
        .into_iter()
        .map(|request| request.path)
        .collect();
    assert!(paths.iter().any(|path| path == "/api"), "{paths:#?}");
    assert!(paths.iter().any(|path| path == "/apis"), "{paths:#?}");
    let per_version = |path: &String| path == "/api/v1" || path.starts_with("/apis/metallb.io/v1");
    assert!(
        !paths
            .iter()
            .any(|path| per_version(path) && !path.ends_with("/ipaddresspools")),
        "aggregated discovery needs no per-version requests: {paths:#?}"
    );
}

#[test]
fn kubectl_falls_back_to_legacy_discovery() {
    let server = start(ServerOptions {
        aggregated_discovery: false,
        ..ServerOptions::default()
    });
    let kubectl = Kubectl::for_server(&server);
    let list = kubectl
        .run(&["get", "ipaddresspools.metallb.io", "-A", "-o", "json"])
        .json();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);

    let paths: Vec<String> = server
        .requests()
        .into_iter()
        .map(|request| request.path)
        .collect();
    for path in [
        "/api/v1",
        "/apis/apps/v1",
        "/apis/metallb.io/v1beta1",
        "/apis/metallb.io/v1beta2",
    ] {
        assert!(
            paths.iter().any(|seen| seen == path),
            "{path} in {paths:#?}"
        );
    }
}

#[test]
fn kubectl_prints_server_side_tables() {
    let server = start(ServerOptions::default());
    let kubectl = Kubectl::for_server(&server);

    let output = kubectl.run(&["get", "svc", "-A"]);
    assert!(output.success, "{output:#?}");
    let lines: Vec<&str> = output.stdout.lines().collect();
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAMESPACE",
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE"
        ]
    );
    let row = |name: &str| -> Vec<&str> {
        lines
            .iter()
            .map(|line| line.split_whitespace().collect::<Vec<_>>())
            .find(|cells| cells[1] == name)
            .unwrap_or_else(|| panic!("no row {name}: {output:#?}"))
    };
    assert_eq!(
        row("web")[..6],
        [
            "team-a",
            "web",
            "LoadBalancer",
            "10.96.10.20",
            "192.168.10.10",
            "80:30080/TCP"
        ]
    );
    assert_eq!(row("db")[4], "<pending>");
    assert_eq!(row("kube-dns")[5], "53/UDP,53/TCP,9153/TCP");

    let output = kubectl.run(&["get", "ipaddresspools", "-n", "metallb-system"]);
    assert!(output.success, "{output:#?}");
    assert!(
        output.stdout.starts_with("NAME ") && output.stdout.contains("AUTO ASSIGN"),
        "{output:#?}"
    );
    assert!(
        output
            .stdout
            .contains(r#"["192.168.10.0/24","192.168.11.10-192.168.11.20"]"#),
        "{output:#?}"
    );

    let output = kubectl.run(&["get", "configurationstates", "-n", "metallb-system"]);
    let header: Vec<&str> = output
        .stdout
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["NAME", "RESULT", "ERRORSUMMARY", "AGE"],
        "{output:#?}"
    );
    assert!(output.stdout.contains("controller   Valid"), "{output:#?}");

    let output = kubectl.run(&["get", "events", "-n", "team-b"]);
    assert!(
        output.stdout.contains("AllocationFailed")
            && output.stdout.contains("service/db")
            && output.stdout.contains("no available IPs"),
        "{output:#?}"
    );
    let tables = server
        .requests()
        .iter()
        .filter(|request| {
            request
                .accept
                .as_deref()
                .is_some_and(|accept| accept.contains("as=Table"))
        })
        .count();
    assert_eq!(tables, 4);
}

#[test]
fn kubectl_pages_with_chunk_size_and_continue() {
    let server = start(ServerOptions::default());
    let kubectl = Kubectl::for_server(&server);
    let list = kubectl
        .run(&["get", "svc", "-A", "--chunk-size=2", "-o", "json"])
        .json();

    assert_eq!(item_keys(&list), fixture_keys("Service"));
    let pages: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|request| request.path == "/api/v1/services")
        .collect();
    assert_eq!(pages.len(), 4, "7 services in pages of 2: {pages:#?}");
    assert!(
        pages
            .iter()
            .all(|page| page.query_param("limit") == Some("2"))
    );
    assert_eq!(pages[0].query_param("continue"), None);
    assert!(
        pages[1..]
            .iter()
            .all(|page| page.query_param("continue").is_some())
    );
}

#[test]
fn server_side_page_cap_is_followed_transparently() {
    let server = start(ServerOptions {
        max_page_size: Some(3),
        ..ServerOptions::default()
    });
    let kubectl = Kubectl::for_server(&server);
    let list = kubectl.run(&["get", "svc", "-A", "-o", "json"]).json();

    assert_eq!(item_keys(&list), fixture_keys("Service"));
    let pages = server
        .requests()
        .iter()
        .filter(|request| request.path == "/api/v1/services")
        .count();
    assert_eq!(pages, 3);
}

#[test]
fn kubectl_uses_https_and_the_ca_from_the_kubeconfig() {
    let server = start(secure_options());
    assert!(server.url().starts_with("https://127.0.0.1:"));
    let kubectl = Kubectl::for_server(&server);
    let namespaces = kubectl.run(&["get", "namespaces", "-o", "json"]).json();

    assert_eq!(
        item_keys(&namespaces),
        keys(&[
            "default",
            "kube-system",
            "metallb-system",
            "team-a",
            "team-b"
        ])
    );
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .any(|request| request.path == "/api/v1/namespaces")
    );
    let expected = format!("Bearer {TOKEN}");
    assert!(
        requests
            .iter()
            .filter(|request| request
                .user_agent
                .as_deref()
                .unwrap_or("")
                .starts_with("kubectl/"))
            .all(|request| request.authorization.as_deref() == Some(expected.as_str())),
        "{requests:#?}"
    );
}

#[test]
fn kubectl_rejects_a_server_it_does_not_trust() {
    let server = start(secure_options());
    let other = start(secure_options());
    // A kubeconfig naming `server` but carrying the other server's CA.
    let kubectl = Kubectl::for_server(&other);
    let config = fs::read_to_string(kubectl.kubeconfig()).unwrap();
    fs::write(
        kubectl.kubeconfig(),
        config.replace(&other.url(), &server.url()),
    )
    .unwrap();

    kubectl.run(&["get", "svc", "-A"]).failure();
    assert!(
        server.requests().is_empty(),
        "no request gets past the TLS handshake"
    );
}

#[test]
fn wrong_token_is_unauthorized() {
    let server = start(secure_options());
    let kubectl = Kubectl::new(&server, &KubeconfigContext::with_token("not-the-token"));
    kubectl.run(&["get", "svc", "-A"]).failure();
    let requests = server.requests();
    assert!(!requests.is_empty());
    assert!(
        requests.iter().all(|request| request.status == 401),
        "{requests:#?}"
    );
}

#[test]
fn rbac_denial_prints_the_real_forbidden_message() {
    let server = start(ServerOptions {
        rbac: Some(vec![
            Rule::new(&["metallb.io"], &["ipaddresspools"], &["get", "list"]),
            Rule::new(&[""], &["services"], &["get", "list"]).in_namespace("team-a"),
        ]),
        ..secure_options()
    });
    let kubectl = Kubectl::for_server(&server);

    let output = kubectl.run(&["get", "svc", "-A"]);
    assert!(
        output.failure().contains(&format!(
            "Error from server (Forbidden): services is forbidden: User \"{DEFAULT_USER}\" \
             cannot list resource \"services\" in API group \"\" at the cluster scope"
        )),
        "{output:#?}"
    );

    let output = kubectl.run(&["get", "svc", "-n", "team-b", "db"]);
    assert!(
        output.failure().contains(
            "Error from server (Forbidden): services \"db\" is forbidden: User \"test-user\" \
             cannot get resource \"services\" in API group \"\" in the namespace \"team-b\""
        ),
        "{output:#?}"
    );

    // The RoleBinding-like rule allows team-a, and the pools are allowed.
    let team_a = kubectl
        .run(&["get", "svc", "-n", "team-a", "-o", "json"])
        .json();
    assert_eq!(item_keys(&team_a), keys(&["team-a/api", "team-a/web"]));
    kubectl
        .run(&["get", "ipaddresspools.metallb.io", "-A", "-o", "json"])
        .json();

    let output = kubectl.run(&["get", "l2advertisements.metallb.io", "-A"]);
    assert!(
        output.failure().contains(
            "l2advertisements.metallb.io is forbidden: User \"test-user\" cannot list \
             resource \"l2advertisements\" in API group \"metallb.io\" at the cluster scope"
        ),
        "{output:#?}"
    );
}

#[test]
fn impersonation_needs_the_impersonate_verb() {
    let server = start(ServerOptions {
        rbac: Some(vec![
            Rule::new(&[""], &["users"], &["impersonate"]).with_resource_names(&["alice"]),
            Rule::new(&[""], &["services"], &["list"]).for_user("alice"),
        ]),
        ..secure_options()
    });
    let kubectl = Kubectl::for_server(&server);

    let list = kubectl
        .run(&["get", "svc", "-A", "--as", "alice", "-o", "json"])
        .json();
    assert_eq!(item_keys(&list), fixture_keys("Service"));
    assert!(
        server
            .requests()
            .iter()
            .any(|request| request.impersonate_user.as_deref() == Some("alice"))
    );

    // test-user may not impersonate bob: the server refuses (discovery is the first
    // request to fail; how kubectl words that differs between its releases).
    kubectl.run(&["get", "svc", "-A", "--as", "bob"]).failure();
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.impersonate_user.as_deref() == Some("bob") && r.status == 403),
        "the impersonation is refused by the server"
    );
    let output = kubectl.run(&["get", "--raw", "/api/v1/services", "--as", "bob"]);
    assert!(
        output.failure().contains(
            "users \"bob\" is forbidden: User \"test-user\" cannot impersonate resource \
             \"users\" in API group \"\" at the cluster scope"
        ),
        "{output:#?}"
    );

    // test-user itself may not list services.
    let output = kubectl.run(&["get", "svc", "-A"]);
    assert!(
        output.failure().contains("User \"test-user\" cannot list"),
        "{output:#?}"
    );
}

#[test]
fn missing_metallb_crds_look_like_a_cluster_without_them() {
    let server = start(ServerOptions {
        metallb_crds_installed: false,
        ..ServerOptions::default()
    });
    let kubectl = Kubectl::for_server(&server);

    kubectl
        .run(&["get", "ipaddresspools.metallb.io", "-A"])
        .failure();
    assert!(
        !server
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/ipaddresspools")),
        "discovery does not list the resource, so it is never asked for"
    );
    let services = kubectl.run(&["get", "svc", "-A", "-o", "json"]).json();
    assert_eq!(item_keys(&services), fixture_keys("Service"));

    kubectl
        .run(&["get", "--raw", "/apis/metallb.io/v1beta1/ipaddresspools"])
        .failure();
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.path == "/apis/metallb.io/v1beta1/ipaddresspools" && r.status == 404)
    );
}

#[test]
fn field_selector_on_service_type() {
    let server = start(ServerOptions::default());
    let kubectl = Kubectl::for_server(&server);
    let list = kubectl
        .run(&[
            "get",
            "svc",
            "-A",
            "--field-selector",
            "spec.type=LoadBalancer",
            "-o",
            "json",
        ])
        .json();
    assert_eq!(
        item_keys(&list),
        keys(&["team-a/web", "team-b/db", "team-b/dns"])
    );

    let list = kubectl
        .run(&[
            "get",
            "svc",
            "-A",
            "--field-selector",
            "spec.type!=LoadBalancer,metadata.namespace!=kube-system",
            "-o",
            "json",
        ])
        .json();
    assert_eq!(
        item_keys(&list),
        keys(&[
            "default/kubernetes",
            "metallb-system/metallb-webhook-service",
            "team-a/api"
        ])
    );

    let output = kubectl.run(&["get", "svc", "-A", "--field-selector", "spec.color=red"]);
    assert!(
        output
            .failure()
            .contains("field label not supported: spec.color"),
        "{output:#?}"
    );
}

#[test]
fn older_servers_reject_the_spec_type_field_selector() {
    let server = start(ServerOptions {
        field_selector_spec_type_supported: false,
        ..ServerOptions::default()
    });
    let kubectl = Kubectl::for_server(&server);
    let output = kubectl.run(&[
        "get",
        "svc",
        "-A",
        "--field-selector",
        "spec.type=LoadBalancer",
    ]);
    // The server's own message reaches the user.
    assert!(
        output
            .failure()
            .contains("field label not supported: spec.type"),
        "{output:#?}"
    );
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.path == "/api/v1/services" && r.status == 400)
    );
    let list = kubectl
        .run(&[
            "get",
            "svc",
            "-A",
            "--field-selector",
            "metadata.name=web",
            "-o",
            "json",
        ])
        .json();
    assert_eq!(item_keys(&list), keys(&["team-a/web"]));
}

#[test]
fn label_selectors() {
    let server = start(ServerOptions::default());
    let kubectl = Kubectl::for_server(&server);
    let select = |selector: &str| {
        item_keys(
            &kubectl
                .run(&["get", "svc", "-A", "-l", selector, "-o", "json"])
                .json(),
        )
    };
    assert_eq!(
        select("tier in (frontend,backend)"),
        keys(&["team-a/api", "team-a/web"])
    );
    assert_eq!(select("app=web"), keys(&["team-a/web"]));
    assert_eq!(select("tier,tier!=frontend"), keys(&["team-a/api"]));
    assert_eq!(
        select("!app,provider notin (aws)"),
        keys(&[
            "default/kubernetes",
            "kube-system/kube-dns",
            "metallb-system/metallb-webhook-service"
        ])
    );

    let deployments = kubectl
        .run(&[
            "get",
            "deploy",
            "-A",
            "-l",
            "app=metallb,component=controller",
            "-o",
            "json",
        ])
        .json();
    assert_eq!(
        item_keys(&deployments),
        keys(&["metallb-system/controller"])
    );
    let controller = &deployments["items"][0]["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        controller["args"],
        serde_json::json!(["--port=7472", "--log-level=info"])
    );
    assert_eq!(
        controller["env"][0]["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.namespace"
    );
}

#[test]
fn events_by_involved_object_and_reason() {
    let server = start(ServerOptions::default());
    let kubectl = Kubectl::for_server(&server);
    let list = kubectl
        .run(&[
            "get",
            "events",
            "-A",
            "--field-selector",
            "involvedObject.kind=Service,involvedObject.name=db,reason=AllocationFailed",
            "-o",
            "json",
        ])
        .json();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list:#}");
    assert_eq!(items[0]["involvedObject"]["namespace"], "team-b");
    assert_eq!(items[0]["type"], "Warning");
}

#[test]
fn get_one_object_and_not_found() {
    let server = start(ServerOptions::default());
    let kubectl = Kubectl::for_server(&server);

    let web = kubectl
        .run(&["get", "svc", "web", "-n", "team-a", "-o", "json"])
        .json();
    assert_eq!(web["kind"], "Service");
    assert_eq!(
        web["status"]["loadBalancer"]["ingress"][0]["ip"],
        "192.168.10.10"
    );
    let namespace = kubectl
        .run(&["get", "namespace", "team-b", "-o", "json"])
        .json();
    assert_eq!(namespace["metadata"]["name"], "team-b");

    let output = kubectl.run(&["get", "svc", "nope", "-n", "team-a"]);
    assert!(
        output.failure().contains("services \"nope\" not found"),
        "{output:#?}"
    );
    let output = kubectl.run(&["get", "ipaddresspool", "nope", "-n", "metallb-system"]);
    assert!(
        output
            .failure()
            .contains("ipaddresspools.metallb.io \"nope\" not found"),
        "{output:#?}"
    );
    // Kubectl's context namespace applies when no -n is given.
    let kubectl = Kubectl::new(&server, &KubeconfigContext::with_namespace("team-b"));
    let list = kubectl.run(&["get", "svc", "-o", "json"]).json();
    assert_eq!(item_keys(&list), keys(&["team-b/db", "team-b/dns"]));
}

#[test]
fn writes_are_not_allowed() {
    let server = start(ServerOptions::default());
    let kubectl = Kubectl::for_server(&server);
    let output = kubectl.run(&["delete", "svc", "web", "-n", "team-a"]);
    output.failure();
    assert!(
        server
            .requests()
            .iter()
            .any(|request| request.method == "DELETE" && request.status == 405)
    );
}

#[test]
fn injected_faults_reach_kubectl() {
    let server = start(ServerOptions {
        faults: vec![
            Fault::status(FaultTarget::resource("", "services"), 500, "etcd is sad"),
            Fault::delay(
                FaultTarget::resource("metallb.io", "ipaddresspools"),
                Duration::from_secs(5),
            ),
        ],
        ..ServerOptions::default()
    });
    let kubectl = Kubectl::for_server(&server);

    let output = kubectl.run(&["get", "svc", "-A"]);
    assert!(output.failure().contains("etcd is sad"), "{output:#?}");
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.path == "/api/v1/services" && r.status == 500)
    );
    // The delay outlasts kubectl's timeout: kubectl gives up with nothing on stdout.
    let output = kubectl.run(&["get", "ipaddresspools", "-A", "--request-timeout=1s"]);
    output.failure();
    assert!(output.stdout.is_empty(), "{output:#?}");
}

#[test]
fn fault_times_limits_how_often_it_fires() {
    let server = start(ServerOptions {
        faults: vec![
            Fault::status(FaultTarget::path_prefix("/api/v1/namespaces"), 503, "later")
                .for_method("GET")
                .times(1),
        ],
        ..ServerOptions::default()
    });
    let kubectl = Kubectl::for_server(&server);
    kubectl.run(&["get", "ns"]).failure();
    kubectl.run(&["get", "ns", "-o", "json"]).json();
}

/// Sends `GET path` on `stream` and reads the whole answer (headers, then a body of its
/// `Content-Length`), leaving the connection open for the next request.
fn get_on(stream: &mut std::net::TcpStream, path: &str) -> String {
    use std::io::{Read, Write};
    write!(stream, "GET {path} HTTP/1.1\r\nHost: loopback\r\n\r\n").unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .expect("a Content-Length");
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).unwrap();
    String::from_utf8(body).unwrap()
}

#[test]
fn accepted_connections_are_counted_not_requests() {
    let server = start(ServerOptions::default());
    let address = server.url().trim_start_matches("http://").to_owned();
    let mut streams = [
        std::net::TcpStream::connect(&address).unwrap(),
        std::net::TcpStream::connect(&address).unwrap(),
    ];
    for at in [0, 1, 0] {
        assert!(get_on(&mut streams[at], "/version").contains("gitVersion"));
    }
    assert_eq!(server.requests().len(), 3);
    assert_eq!(
        server.connections(),
        2,
        "two requests on one kept-alive connection"
    );
}

#[test]
fn cluster_role_manifests_become_rules() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("rbac.yaml");
    fs::write(
        &manifest,
        r#"apiVersion: v1
kind: ServiceAccount
metadata:
  name: metalpool
  namespace: default
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: metalpool-reader
rules:
  - apiGroups: [""]
    resources: ["services", "events"]
    verbs: ["get", "list"]
  - apiGroups: ["metallb.io"]
    resources: ["ipaddresspools", "l2advertisements"]
    verbs: ["list"]
"#,
    )
    .unwrap();
    let rules = rules_from_cluster_role_yaml(&manifest);
    assert_eq!(rules.len(), 2);
    assert_eq!(
        rules[1],
        Rule::new(
            &["metallb.io"],
            &["ipaddresspools", "l2advertisements"],
            &["list"]
        )
    );

    let server = start(ServerOptions {
        rbac: Some(rules),
        ..secure_options()
    });
    let kubectl = Kubectl::for_server(&server);
    kubectl.run(&["get", "svc", "-A", "-o", "json"]).json();
    kubectl
        .run(&["get", "ipaddresspools", "-A", "-o", "json"])
        .json();
    let output = kubectl.run(&["get", "deploy", "-A"]);
    assert!(
        output.failure().contains(
            "deployments.apps is forbidden: User \"test-user\" cannot list resource \
             \"deployments\" in API group \"apps\" at the cluster scope"
        ),
        "{output:#?}"
    );
}

#[test]
fn fixtures_load_yaml_json_and_lists() {
    let objects = standard_fixtures();
    let count = |kind: &str| {
        objects
            .iter()
            .filter(|object| object["kind"] == kind)
            .count()
    };
    assert_eq!(count("Namespace"), 5, "kind: List is flattened");
    assert_eq!(count("Service"), 7, "multi-document YAML");
    assert_eq!(count("Event"), 2, "JSON EventList is flattened");
    assert_eq!(count("IPAddressPool"), 2);
    assert_eq!(count("L2Advertisement"), 1);
    assert_eq!(count("Deployment"), 1);

    assert_eq!(count("ConfigurationState"), 1);

    let single = load_fixtures(&crate::support::apiserver::fixtures_dir().join("metallb.yaml"));
    assert_eq!(single.len(), 4);
}

#[tokio::test]
async fn kube_discovery_finds_metallb_both_ways() {
    use kube::discovery::{Discovery, Scope};

    for aggregated in [true, false] {
        let server = start(ServerOptions {
            aggregated_discovery: aggregated,
            ..secure_options()
        });
        let client = kube_client(&server).await;
        let discovery = Discovery::new(client);
        let discovery = if aggregated {
            discovery.run_aggregated().await
        } else {
            discovery.run().await
        }
        .unwrap();
        let group = discovery.get("metallb.io").expect("metallb.io discovered");
        assert_eq!(group.preferred_version_or_latest(), "v1beta2");
        let (pool, caps) = group
            .versioned_resources("v1beta1")
            .into_iter()
            .find(|(resource, _)| resource.kind == "IPAddressPool")
            .expect("IPAddressPool discovered");
        assert_eq!(pool.plural, "ipaddresspools");
        assert_eq!(caps.scope, Scope::Namespaced);
        assert!(discovery.get("").is_some_and(|core| {
            core.recommended_resources()
                .iter()
                .any(|(resource, _)| resource.plural == "services")
        }));
    }
}

async fn kube_client(server: &ApiServer) -> kube::Client {
    use kube::config::{KubeConfigOptions, Kubeconfig};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    server.write_kubeconfig(&path, &KubeconfigContext::default());
    let kubeconfig = Kubeconfig::read_from(&path).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    kube::Client::try_from(config).unwrap()
}

#[tokio::test]
async fn kube_client_lists_through_tls_with_paging() {
    use k8s_openapi::api::core::v1::Service;
    use kube::api::{Api, ListParams};

    let server = start(ServerOptions {
        max_page_size: Some(2),
        ..secure_options()
    });
    let client = kube_client(&server).await;
    let services: Api<Service> = Api::all(client);

    let mut names = BTreeSet::new();
    let mut params = ListParams::default().limit(5);
    loop {
        let page = services.list(&params).await.unwrap();
        names.extend(page.items.iter().map(|service| {
            format!(
                "{}/{}",
                service.metadata.namespace.as_deref().unwrap(),
                service.metadata.name.as_deref().unwrap()
            )
        }));
        match page.metadata.continue_.filter(|token| !token.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => break,
        }
    }
    assert_eq!(names, fixture_keys("Service"));
    let requests = server.requests();
    assert_eq!(requests.len(), 4, "{requests:#?}");
    assert!(
        requests
            .iter()
            .all(|request| request.authorization.as_deref() == Some("Bearer loopback-token"))
    );
}
