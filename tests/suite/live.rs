//! The built binary against a live (loopback) Kubernetes API server: the same answers as
//! offline, paging, the field-selector fallback, errors, degraded permissions, the RBAC of
//! docs/rbac.yaml, kubeconfig handling, MetalLB detection, events, and agreement with the
//! real kubectl.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs;
use std::io::Read;
use std::net::{IpAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::apiserver::{
    ApiServer, Fault, FaultTarget, Gate, KubeconfigContext, RequestRecord, Rule, ServerOptions,
    load_fixtures, rules_from_cluster_role_yaml, standard_fixtures,
};
use crate::support::kubectl::Kubectl;
use crate::support::run::Run;
use serde_json::{Value, json};
use tempfile::TempDir;

const TOKEN: &str = "metalpool-live-token";

/// Warning codes only the live source produces: they have no offline counterpart.
const LIVE_ONLY_WARNINGS: [&str; 3] = [
    "metallb-not-detected",
    "cluster-scope-forbidden",
    "events-unavailable",
];

// ---------------------------------------------------------------------------------------
// Running the plugin

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The plugin with a scratch `HOME`, no `KUBECONFIG` and no colour.
fn metalpool(home: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kubectl-metalpool"));
    command
        .current_dir(root())
        .env_remove("KUBECONFIG")
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    command
}

fn run(command: &mut Command) -> Run {
    Run::from_output(command.output().expect("run kubectl-metalpool"))
}

/// Runs the command, killing it (and failing the test) when it outlives `limit`.
fn run_within(command: &mut Command, limit: Duration) -> Run {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kubectl-metalpool");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut text = String::new();
            pipe.read_to_string(&mut text).expect("UTF-8 output");
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for kubectl-metalpool") {
            break status;
        }
        if Instant::now() >= deadline {
            child.kill().expect("kill kubectl-metalpool");
            child.wait().expect("reap kubectl-metalpool");
            panic!("kubectl-metalpool did not finish within {limit:?}");
        }
        thread::sleep(Duration::from_millis(50));
    };
    Run {
        code: status.code().expect("exit code"),
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

/// The plugin on manifests (`-f path`); the cluster must not matter.
fn offline(path: &Path, args: &[&str]) -> Run {
    let home = TempDir::new().expect("temporary home");
    run(metalpool(home.path())
        .env("KUBECONFIG", home.path().join("no-such-kubeconfig"))
        .args(args)
        .arg("-f")
        .arg(path))
}

/// A loopback API server, a scratch home and a kubeconfig pointing at the server.
struct Live {
    server: ApiServer,
    home: TempDir,
    kubeconfig: PathBuf,
}

impl Live {
    fn start(objects: Vec<Value>, options: ServerOptions) -> Live {
        Live::with_context(objects, options, &KubeconfigContext::default())
    }

    fn with_context(
        objects: Vec<Value>,
        options: ServerOptions,
        context: &KubeconfigContext,
    ) -> Live {
        let server = ApiServer::start(objects, options);
        let home = TempDir::new().expect("temporary home");
        let kubeconfig = home.path().join("kubeconfig");
        server.write_kubeconfig(&kubeconfig, context);
        Live {
            server,
            home,
            kubeconfig,
        }
    }

    /// The plugin with `KUBECONFIG` pointing at this server.
    fn command(&self) -> Command {
        let mut command = metalpool(self.home.path());
        command.env("KUBECONFIG", &self.kubeconfig);
        command
    }

    fn run(&self, args: &[&str]) -> Run {
        run(self.command().args(args))
    }

    /// Requests for one path, oldest first.
    fn requests_for(&self, path: &str) -> Vec<RequestRecord> {
        self.server
            .requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }
}

/// HTTPS with a required bearer token (kube clients send tokens over TLS only).
fn secure(options: ServerOptions) -> ServerOptions {
    ServerOptions {
        tls: true,
        token: Some(TOKEN.to_owned()),
        ..options
    }
}

/// A hand-written kubeconfig: one cluster, user and context per `(name, server)`, without
/// credentials or CA.
fn write_kubeconfig(path: &Path, contexts: &[(&str, &str)], current: &str) {
    let document = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": contexts.iter().map(|(name, server)| json!({"name": name, "cluster": {"server": server}})).collect::<Vec<_>>(),
        "users": contexts.iter().map(|(name, _)| json!({"name": name, "user": {}})).collect::<Vec<_>>(),
        "contexts": contexts.iter().map(|(name, _)| json!({"name": name, "context": {"cluster": name, "user": name}})).collect::<Vec<_>>(),
        "current-context": current,
    });
    // JSON is YAML: kubeconfig readers take it as it is.
    fs::write(path, serde_json::to_string_pretty(&document).unwrap()).expect("write kubeconfig");
}

/// A loopback address where nothing listens.
fn dead_server_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let address = listener.local_addr().expect("listener address");
    drop(listener);
    format!("http://{address}")
}

// ---------------------------------------------------------------------------------------
// Reading answers

/// The JSON answer without the warnings only the live source gives.
fn without_live_only_warnings(mut answer: Value) -> Value {
    if let Some(warnings) = answer.get_mut("warnings").and_then(Value::as_array_mut) {
        warnings.retain(|w| !LIVE_ONLY_WARNINGS.iter().any(|code| w["code"] == *code));
    }
    answer
}

fn warning_codes(answer: &Value) -> BTreeSet<String> {
    answer["warnings"]
        .as_array()
        .map(|warnings| {
            warnings
                .iter()
                .filter_map(|w| w["code"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Every `code` anywhere in a JSON answer.
fn all_codes(answer: &Value) -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    let mut stack = vec![answer];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(code)) = map.get("code") {
                    codes.insert(code.clone());
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    codes
}

fn pool_names(usage: &Value) -> BTreeSet<String> {
    usage["pools"]
        .as_array()
        .expect("pools")
        .iter()
        .map(|p| p["name"].as_str().expect("pool name").to_owned())
        .collect()
}

fn strings(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|&s| s.to_owned()).collect()
}

// ---------------------------------------------------------------------------------------
// Fixtures

fn examples_dir() -> PathBuf {
    root().join("examples")
}

/// A directory of manifests served live and read offline.
struct FixtureSet {
    dir: PathBuf,
    objects: Vec<Value>,
}

impl FixtureSet {
    fn new(relative: &str) -> FixtureSet {
        let dir = root().join(relative);
        let objects = load_fixtures(&dir);
        FixtureSet { dir, objects }
    }

    /// Every fixture set the live path must answer exactly like the offline one.
    fn all() -> Vec<FixtureSet> {
        [
            "examples",
            "tests/fixtures/apiserver",
            "tests/fixtures/offline/appendix-b/sharing",
            "tests/fixtures/offline/appendix-b/pinned",
        ]
        .into_iter()
        .map(FixtureSet::new)
        .collect()
    }

    /// Flags naming the MetalLB namespace and release when the set has no controller to
    /// detect them from (live, the CRDs served would say a release the manifests do not).
    fn metallb_flags(&self) -> Vec<&'static str> {
        let has_controller = self.objects.iter().any(|o| {
            o["kind"] == "Deployment"
                && o["metadata"]["labels"]["app"] == "metallb"
                && o["metadata"]["labels"]["component"] == "controller"
        });
        if has_controller {
            Vec::new()
        } else {
            vec![
                "--metallb-namespace",
                "metallb-system",
                "--metallb-version",
                "latest",
            ]
        }
    }

    /// `(namespace, name)` of every Service.
    fn services(&self) -> Vec<(String, String)> {
        self.objects
            .iter()
            .filter(|o| o["kind"] == "Service")
            .map(|o| {
                let namespace = o["metadata"]["namespace"].as_str().unwrap_or("default");
                let name = o["metadata"]["name"].as_str().expect("service name");
                (namespace.to_owned(), name.to_owned())
            })
            .collect()
    }
}

fn docs_rbac() -> Vec<Rule> {
    rules_from_cluster_role_yaml(&root().join("docs/rbac.yaml"))
}

// ---------------------------------------------------------------------------------------
// 1. Live answers equal offline answers

#[test]
fn usage_live_equals_offline_for_every_fixture_set() {
    for set in FixtureSet::all() {
        let live = Live::start(set.objects.clone(), ServerOptions::default());
        let mut args = vec!["usage", "-o", "json"];
        args.extend(set.metallb_flags());
        let live_usage = live.run(&args).json_with_code(0);
        let offline_usage = offline(&set.dir, &args).json_with_code(0);
        assert!(
            !pool_names(&offline_usage).is_empty(),
            "{}",
            set.dir.display()
        );
        assert_eq!(
            without_live_only_warnings(live_usage),
            without_live_only_warnings(offline_usage),
            "usage of {} differs live and offline",
            set.dir.display()
        );
    }
}

#[test]
fn ips_live_equals_offline_for_every_fixture_set() {
    for set in FixtureSet::all() {
        let live = Live::start(set.objects.clone(), ServerOptions::default());
        let mut args = vec!["ips", "--free", "-o", "json"];
        args.extend(set.metallb_flags());
        let live_ips = live.run(&args).json_with_code(0);
        let offline_ips = offline(&set.dir, &args).json_with_code(0);
        assert_eq!(
            without_live_only_warnings(live_ips),
            without_live_only_warnings(offline_ips),
            "ips of {} differs live and offline",
            set.dir.display()
        );
    }
}

/// A `check` answer without what only one side can give: the file and line of objects
/// (offline) and the findings about reading the cluster (live).
fn comparable_check(mut answer: Value) -> Value {
    let findings = answer["findings"].as_array_mut().expect("findings");
    findings.retain(|f| !LIVE_ONLY_WARNINGS.iter().any(|code| f["code"] == *code));
    for f in findings.iter_mut() {
        let f = f.as_object_mut().expect("a finding is an object");
        f.remove("file");
        f.remove("line");
    }
    answer.as_object_mut().expect("an object").remove("summary");
    answer
}

#[test]
fn check_live_equals_offline_for_every_fixture_set() {
    for set in FixtureSet::all() {
        let live = Live::start(set.objects.clone(), ServerOptions::default());
        let mut args = vec!["check", "-o", "json"];
        args.extend(set.metallb_flags());
        let live_run = live.run(&args);
        let offline_run = offline(&set.dir, &args);
        assert_eq!(live_run.code, offline_run.code, "{}", set.dir.display());
        assert_eq!(
            comparable_check(live_run.json()),
            comparable_check(offline_run.json()),
            "check of {} differs live and offline",
            set.dir.display()
        );
    }
}

#[test]
fn plan_live_equals_plan_offline_on_a_dump() {
    let set = FixtureSet::new("examples");
    let live = Live::start(set.objects.clone(), ServerOptions::default());
    let dump = live.run(&["dump", "--metallb-namespace", "metallb-system"]);
    assert_eq!(dump.code, 0, "{dump:#?}");
    let dump_path = live.home.path().join("cluster.yaml");
    std::fs::write(&dump_path, &dump.stdout).expect("write the dump");
    for proposal in ["renumber-public-ips", "tenant-scope", "overlapping-range"] {
        let proposal = root().join("example-plans").join(proposal);
        let proposal = proposal.to_str().expect("UTF-8 path");
        let flags = [
            "-f",
            proposal,
            "-o",
            "json",
            "--metallb-namespace",
            "metallb-system",
        ];
        let mut live_args = vec!["plan"];
        live_args.extend(flags);
        let live_plan = live.run(&live_args).json_with_code(1);
        let home = TempDir::new().expect("temporary home");
        let offline_plan = run(metalpool(home.path())
            .env("KUBECONFIG", home.path().join("no-such-kubeconfig"))
            .args(["plan", "--base"])
            .arg(&dump_path)
            .args(flags))
        .json_with_code(1);
        assert_eq!(live_plan, offline_plan, "plan -f {proposal}");
    }
}

#[test]
fn why_live_equals_offline_for_every_service_of_every_fixture_set() {
    for set in FixtureSet::all() {
        let live = Live::start(set.objects.clone(), ServerOptions::default());
        let services = set.services();
        assert!(!services.is_empty(), "{}", set.dir.display());
        for (namespace, name) in services {
            let reference = format!("svc/{name}");
            let mut args = vec![
                "why",
                reference.as_str(),
                "-n",
                namespace.as_str(),
                "-o",
                "json",
            ];
            args.extend(set.metallb_flags());
            let live_run = live.run(&args);
            let offline_run = offline(&set.dir, &args);
            let context = format!("why {namespace}/{name} in {}", set.dir.display());
            assert!(
                matches!(offline_run.code, 0 | 1),
                "{context}: offline {offline_run:#?}"
            );
            assert_eq!(
                live_run.code, offline_run.code,
                "{context}: exit codes differ\nlive: {live_run:#?}\noffline: {offline_run:#?}"
            );
            let live_why = live_run.json();
            assert_eq!(
                live_why["service"],
                format!("{namespace}/{name}"),
                "{context}"
            );
            assert_eq!(
                without_live_only_warnings(live_why),
                without_live_only_warnings(offline_run.json()),
                "{context}: answers differ live and offline"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// 2. Paging, 3. the field selector

#[test]
fn small_pages_give_the_same_answers() {
    let whole = Live::start(load_fixtures(&examples_dir()), ServerOptions::default());
    let paged = Live::start(
        load_fixtures(&examples_dir()),
        ServerOptions {
            max_page_size: Some(2),
            ..ServerOptions::default()
        },
    );
    for args in [
        &[
            "usage",
            "-o",
            "json",
            "--metallb-namespace",
            "metallb-system",
        ][..],
        &[
            "usage",
            "--by-namespace",
            "-o",
            "json",
            "--metallb-namespace",
            "metallb-system",
        ],
        &[
            "why",
            "svc/app-9",
            "-n",
            "team-a",
            "-o",
            "json",
            "--metallb-namespace",
            "metallb-system",
        ],
    ] {
        let expected = whole.run(args);
        let actual = paged.run(args);
        assert_eq!(actual.code, expected.code, "{args:?}: {actual:#?}");
        assert_eq!(actual.json(), expected.json(), "{args:?}");
    }

    let services = paged.requests_for("/api/v1/services");
    assert!(
        services.iter().all(|r| r.query_param("limit").is_some()),
        "every page asks for a limit: {services:#?}"
    );
    let continued = services
        .iter()
        .filter(|r| r.query_param("continue").is_some_and(|t| !t.is_empty()))
        .count();
    assert!(
        continued >= 2,
        "services are read page by page: {services:#?}"
    );
    assert!(
        paged
            .requests_for("/apis/metallb.io/v1beta1/ipaddresspools")
            .iter()
            .any(|r| r.query_param("continue").is_some()),
        "pools are read page by page"
    );
    assert!(
        whole
            .requests_for("/api/v1/services")
            .iter()
            .all(|r| r.query_param("continue").is_none()),
        "one page is enough without a cap"
    );
}

fn is_load_balancer_selector(request: &RequestRecord) -> bool {
    request.query_param("fieldSelector") == Some("spec.type=LoadBalancer")
}

#[test]
fn services_are_listed_with_a_type_field_selector() {
    let live = Live::start(standard_fixtures(), ServerOptions::default());
    live.run(&["usage", "-o", "json"]).json_with_code(0);
    let lists = live.requests_for("/api/v1/services");
    assert!(!lists.is_empty());
    assert!(
        lists
            .iter()
            .all(|r| is_load_balancer_selector(r) && r.status == 200),
        "{lists:#?}"
    );
}

#[test]
fn without_the_field_selector_the_plugin_falls_back_to_all_services() {
    let objects = load_fixtures(&examples_dir());
    let modern = Live::start(objects.clone(), ServerOptions::default());
    let old = Live::start(
        objects,
        ServerOptions {
            field_selector_spec_type_supported: false,
            ..ServerOptions::default()
        },
    );
    for args in [
        &[
            "usage",
            "-o",
            "json",
            "--metallb-namespace",
            "metallb-system",
        ][..],
        &[
            "why",
            "svc/batch",
            "-n",
            "team-b",
            "-o",
            "json",
            "--metallb-namespace",
            "metallb-system",
        ],
    ] {
        let expected = modern.run(args);
        let actual = old.run(args);
        assert_eq!(actual.code, expected.code, "{args:?}: {actual:#?}");
        assert_eq!(actual.json(), expected.json(), "{args:?}");
    }

    let lists = old.requests_for("/api/v1/services");
    let rejected = lists
        .iter()
        .position(|r| is_load_balancer_selector(r) && r.status == 400)
        .unwrap_or_else(|| panic!("the selector is tried first: {lists:#?}"));
    assert!(
        lists[rejected + 1..]
            .iter()
            .any(|r| r.query_param("fieldSelector").is_none() && r.status == 200),
        "then all services without a selector: {lists:#?}"
    );
}

// ---------------------------------------------------------------------------------------
// 4. Errors

#[test]
fn a_wrong_token_is_rejected_credentials() {
    let live = Live::with_context(
        standard_fixtures(),
        secure(ServerOptions::default()),
        &KubeconfigContext::with_token("not-the-token"),
    );
    let run = live.run(&["usage"]);
    let line = run.failure(3);
    assert!(line.contains("401"), "{line}");
    assert!(line.contains("credentials"), "{line}");
    assert!(live.server.requests().iter().any(|r| r.status == 401));
}

#[test]
fn rbac_forbidding_services_names_the_request() {
    let rules = vec![
        Rule::new(&[""], &["namespaces", "events"], &["get", "list"]),
        Rule::new(&["metallb.io"], &["*"], &["list"]),
        Rule::new(&["apps"], &["deployments"], &["list"]),
    ];
    let live = Live::start(
        standard_fixtures(),
        ServerOptions {
            rbac: Some(rules),
            ..ServerOptions::default()
        },
    );
    let run = live.run(&["usage"]);
    let line = run.failure(3);
    assert!(line.contains("list services in all namespaces"), "{line}");
    assert!(line.contains("forbidden"), "{line}");
}

#[test]
fn missing_metallb_crds_are_named() {
    let live = Live::start(
        standard_fixtures(),
        ServerOptions {
            metallb_crds_installed: false,
            ..ServerOptions::default()
        },
    );
    for args in [&["usage"][..], &["why", "svc/web", "-n", "team-a"]] {
        let run = live.run(args);
        let line = run.failure(3);
        assert!(
            line.contains("MetalLB CRDs are not installed"),
            "{args:?}: {line}"
        );
    }
}

#[test]
fn nothing_listening_is_unreachable() {
    let home = TempDir::new().unwrap();
    let kubeconfig = home.path().join("kubeconfig");
    let url = dead_server_url();
    write_kubeconfig(&kubeconfig, &[("dead", url.as_str())], "dead");
    let run = run(metalpool(home.path())
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .arg("usage"));
    let line = run.failure(3);
    assert!(line.contains("cannot reach the API server"), "{line}");
    assert!(line.contains(&url), "names the server: {line}");
}

#[test]
fn a_slow_server_times_out_with_request_timeout() {
    let live = Live::start(
        standard_fixtures(),
        ServerOptions {
            faults: vec![Fault::delay(
                FaultTarget::path_prefix("/api"),
                Duration::from_secs(30),
            )],
            ..ServerOptions::default()
        },
    );
    let run = run_within(
        live.command().args(["usage", "--request-timeout=1s"]),
        Duration::from_secs(20),
    );
    let line = run.failure(3);
    assert!(line.contains("did not answer in time"), "{line}");
}

#[test]
fn an_unknown_service_is_not_found() {
    let live = Live::start(standard_fixtures(), ServerOptions::default());
    let run = live.run(&["why", "svc/nope", "-n", "team-a"]);
    let line = run.failure(2);
    assert!(line.contains("not found"), "{line}");
    assert!(line.contains("team-a/nope"), "{line}");
}

// ---------------------------------------------------------------------------------------
// 5. Degraded permissions, 6. docs/rbac.yaml

#[test]
fn metallb_objects_readable_only_in_their_namespace_still_answer() {
    let mut rules: Vec<Rule> = docs_rbac()
        .into_iter()
        .filter(|r| !r.api_groups.iter().any(|g| g == "metallb.io"))
        .collect();
    rules.push(
        Rule::new(
            &["metallb.io"],
            &["ipaddresspools", "l2advertisements", "bgpadvertisements"],
            &["list"],
        )
        .in_namespace("metallb-system"),
    );
    rules.push(Rule::new(
        &["metallb.io"],
        &["configurationstates"],
        &["list"],
    ));
    let full = Live::start(standard_fixtures(), ServerOptions::default());
    let narrow = Live::start(
        standard_fixtures(),
        ServerOptions {
            rbac: Some(rules),
            ..ServerOptions::default()
        },
    );

    let expected = full.run(&["usage", "-o", "json"]).json_with_code(0);
    let degraded = narrow.run(&["usage", "-o", "json"]).json_with_code(0);
    assert_eq!(degraded["pools"], expected["pools"]);
    assert_eq!(
        pool_names(&degraded),
        strings(&["default-pool", "reserved"])
    );
    let warnings = degraded["warnings"].as_array().expect("warnings");
    let forbidden: Vec<&Value> = warnings
        .iter()
        .filter(|w| w["code"] == "cluster-scope-forbidden")
        .collect();
    assert!(!forbidden.is_empty(), "{warnings:#?}");
    assert!(
        forbidden
            .iter()
            .any(|w| w["message"].as_str().unwrap().contains("ipaddresspools")),
        "{forbidden:#?}"
    );
    assert!(!warning_codes(&expected).contains("cluster-scope-forbidden"));
    assert!(
        narrow
            .requests_for("/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools")
            .iter()
            .any(|r| r.status == 200),
        "the pools are read in the MetalLB namespace"
    );
}

/// What `usage` and `why svc/db -n team-b` answer: exit codes and warning codes.
fn outcome(live: &Live) -> Vec<(i32, BTreeSet<String>)> {
    [
        &["usage", "-o", "json"][..],
        &["why", "svc/db", "-n", "team-b", "-o", "json"],
    ]
    .into_iter()
    .map(|args| {
        let run = live.run(args);
        let codes = if run.code == 3 {
            BTreeSet::new()
        } else {
            warning_codes(&run.json())
        };
        (run.code, codes)
    })
    .collect()
}

#[test]
fn docs_rbac_is_enough() {
    let live = Live::start(
        standard_fixtures(),
        secure(ServerOptions {
            rbac: Some(docs_rbac()),
            ..ServerOptions::default()
        }),
    );
    let fixtures = FixtureSet::new("tests/fixtures/apiserver");

    let usage = live.run(&["usage", "-o", "json"]).json_with_code(0);
    let offline_usage = offline(&fixtures.dir, &["usage", "-o", "json"]).json_with_code(0);
    assert_eq!(usage, offline_usage);
    for (namespace, name) in fixtures.services() {
        let args = ["why", name.as_str(), "-n", namespace.as_str(), "-o", "json"];
        let live_run = live.run(&args);
        let offline_run = offline(&fixtures.dir, &args);
        assert_eq!(
            live_run.code, offline_run.code,
            "{namespace}/{name}: {live_run:#?}"
        );
        assert_eq!(live_run.json(), offline_run.json(), "{namespace}/{name}");
    }

    let requests = live.server.requests();
    assert!(requests.iter().all(|r| r.status != 403), "{requests:#?}");
    assert!(
        requests
            .iter()
            .all(|r| r.authorization.as_deref() == Some(&format!("Bearer {TOKEN}"))),
        "every request carries the token"
    );
    for path in [
        "/api/v1/services",
        "/api/v1/namespaces",
        "/apis/apps/v1/deployments",
        "/apis/metallb.io/v1beta1/ipaddresspools",
        "/apis/metallb.io/v1beta1/configurationstates",
        "/api/v1/namespaces/team-b/events",
        "/api/v1/namespaces/team-b/services/db",
        // What the CRDs say of the release: discovery, open to every authenticated user.
        "/apis/metallb.io/v1beta1",
    ] {
        assert!(
            requests.iter().any(|r| r.path == path && r.status == 200),
            "{path} was read"
        );
    }
}

#[test]
fn every_rule_of_docs_rbac_is_needed() {
    let rules = docs_rbac();
    assert!(rules.len() > 1, "{rules:#?}");
    let unrestricted = Live::start(standard_fixtures(), ServerOptions::default());
    let baseline = outcome(&unrestricted);
    assert_eq!(baseline[0].0, 0);

    for removed in 0..rules.len() {
        let mut remaining = rules.clone();
        let rule = remaining.remove(removed);
        if rule
            .resources
            .iter()
            .any(|r| r == "customresourcedefinitions")
        {
            // Read only when the controller does not name its release: needed there.
            let digest_only = format!("quay.io/metallb/controller@{DIGEST}");
            let mut objects = with_controller(Some(&digest_only), &[]);
            objects.push(l2_crd(true));
            let with_rules = |rbac: Vec<Rule>| {
                let options = ServerOptions {
                    rbac: Some(rbac),
                    ..ServerOptions::default()
                };
                detected(&Live::start(objects.clone(), options), &[])
            };
            assert_ne!(
                with_rules(remaining),
                with_rules(rules.clone()),
                "without {rule:?} nothing degrades"
            );
            continue;
        }
        let live = Live::start(
            standard_fixtures(),
            secure(ServerOptions {
                rbac: Some(remaining),
                ..ServerOptions::default()
            }),
        );
        let without = outcome(&live);
        assert_ne!(
            without, baseline,
            "without {rule:?} nothing fails or degrades"
        );
        if rule.resources.iter().any(|r| r == "services") {
            let run = live.run(&["usage"]);
            assert!(run.failure(3).contains("services"), "{run:#?}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// 7. kubeconfig handling

#[test]
fn https_with_the_ca_from_the_kubeconfig() {
    let live = Live::start(
        standard_fixtures(),
        ServerOptions {
            tls: true,
            ..ServerOptions::default()
        },
    );
    assert!(live.server.url().starts_with("https://"));
    let usage = live.run(&["usage", "-o", "json"]).json_with_code(0);
    assert_eq!(pool_names(&usage), strings(&["default-pool", "reserved"]));
}

#[test]
fn insecure_skip_tls_verify_without_a_ca() {
    let live = Live::start(
        standard_fixtures(),
        ServerOptions {
            tls: true,
            ..ServerOptions::default()
        },
    );
    let kubeconfig = live.home.path().join("no-ca");
    write_kubeconfig(&kubeconfig, &[("loopback", &live.server.url())], "loopback");
    let with = |extra: &[&str]| {
        run(metalpool(live.home.path())
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(["usage", "-o", "json"])
            .args(extra))
    };

    let untrusted = with(&[]);
    let message = untrusted.failure(3);
    assert!(
        message.contains("TLS failure talking to the API server"),
        "{message}"
    );
    let usage = with(&["--insecure-skip-tls-verify"]).json_with_code(0);
    assert_eq!(pool_names(&usage), strings(&["default-pool", "reserved"]));
}

#[test]
fn a_missing_kubeconfig_file_is_named() {
    let home = TempDir::new().expect("temporary home");
    let run = run(metalpool(home.path()).args(["usage", "--kubeconfig", "no/such/kubeconfig"]));
    let message = run.failure(2);
    assert!(
        message.contains("kubeconfig no/such/kubeconfig: no such file"),
        "{message}"
    );
}

#[test]
fn context_flag_picks_the_context() {
    let live = Live::start(standard_fixtures(), ServerOptions::default());
    let kubeconfig = live.home.path().join("two-contexts");
    let dead = dead_server_url();
    write_kubeconfig(
        &kubeconfig,
        &[("dead", dead.as_str()), ("alive", &live.server.url())],
        "dead",
    );
    let with = |extra: &[&str]| {
        run(metalpool(live.home.path())
            .env("KUBECONFIG", &kubeconfig)
            .args(["usage", "-o", "json"])
            .args(extra))
    };

    let current = with(&[]);
    assert!(current.failure(3).contains(&dead), "{current:#?}");
    let chosen = with(&["--context", "alive"]).json_with_code(0);
    assert_eq!(pool_names(&chosen), strings(&["default-pool", "reserved"]));
    // A context the kubeconfig lacks is input that cannot be used: exit 2, one line naming it.
    let unknown = with(&["--context", "nope"]);
    assert_eq!(
        unknown.code, 2,
        "a context the kubeconfig lacks is bad input: {unknown:#?}"
    );
    assert!(unknown.error_line().contains("nope"), "{unknown:#?}");
}

#[test]
fn kubeconfig_path_list_skips_missing_files() {
    let live = Live::start(standard_fixtures(), ServerOptions::default());
    let missing = live.home.path().join("missing-kubeconfig");
    let list: OsString =
        std::env::join_paths([missing.as_path(), live.kubeconfig.as_path()]).unwrap();
    let usage = run(metalpool(live.home.path())
        .env("KUBECONFIG", list)
        .args(["usage", "-o", "json"]))
    .json_with_code(0);
    assert_eq!(pool_names(&usage), strings(&["default-pool", "reserved"]));
    assert!(!live.server.requests().is_empty());
}

#[test]
fn the_context_namespace_is_the_default_for_why() {
    let objects = load_fixtures(&examples_dir());
    let in_team_b = Live::with_context(
        objects.clone(),
        ServerOptions::default(),
        &KubeconfigContext::with_namespace("team-b"),
    );
    let args = [
        "why",
        "batch",
        "-o",
        "json",
        "--metallb-namespace",
        "metallb-system",
        "--metallb-version",
        "latest",
    ];
    let live_run = in_team_b.run(&args);
    let offline_run = offline(
        &examples_dir(),
        &[
            "why",
            "batch",
            "-n",
            "team-b",
            "-o",
            "json",
            "--metallb-namespace",
            "metallb-system",
            "--metallb-version",
            "latest",
        ],
    );
    assert_eq!(live_run.code, 1, "batch is pending: {live_run:#?}");
    assert_eq!(live_run.code, offline_run.code);
    let why = live_run.json();
    assert_eq!(why["service"], "team-b/batch");
    assert_eq!(
        without_live_only_warnings(why),
        without_live_only_warnings(offline_run.json())
    );
    assert!(
        !in_team_b
            .requests_for("/api/v1/namespaces/team-b/services/batch")
            .is_empty()
    );

    // Without a namespace in the context, `default` is searched.
    let in_default = Live::start(objects, ServerOptions::default());
    let run = in_default.run(&args);
    assert!(run.failure(2).contains("default/batch"), "{run:#?}");
}

#[test]
fn impersonation_headers_are_sent() {
    let rules = vec![
        Rule::new(&[""], &["users", "groups"], &["impersonate"]),
        Rule::new(&["*"], &["*"], &["get", "list"]).for_user("jane"),
    ];
    let live = Live::start(
        standard_fixtures(),
        ServerOptions {
            rbac: Some(rules),
            ..ServerOptions::default()
        },
    );
    let usage = live
        .run(&[
            "usage",
            "-o",
            "json",
            "--as",
            "jane",
            "--as-group",
            "devs",
            "--as-group",
            "ops",
        ])
        .json_with_code(0);
    assert_eq!(pool_names(&usage), strings(&["default-pool", "reserved"]));
    let requests = live.server.requests();
    assert!(!requests.is_empty());
    for request in &requests {
        assert_eq!(
            request.impersonate_user.as_deref(),
            Some("jane"),
            "{request:#?}"
        );
        assert_eq!(request.impersonate_groups, ["devs", "ops"], "{request:#?}");
    }

    // Only jane may list: without --as the same server refuses.
    live.run(&["usage"]).failure(3);
    // A group is impersonated together with a user: bad usage, the server is not asked.
    live.server.clear_requests();
    live.run(&["usage", "--as-group", "devs"]).failure(2);
    assert!(live.server.requests().is_empty());
}

#[test]
fn impersonation_without_the_right_is_refused() {
    let live = Live::start(
        standard_fixtures(),
        ServerOptions {
            rbac: Some(vec![Rule::new(&["*"], &["*"], &["get", "list"])]),
            ..ServerOptions::default()
        },
    );
    let run = live.run(&["usage", "--as", "bob"]);
    let message = run.failure(3);
    assert!(
        message.contains("impersonation (--as/--as-group) is not allowed"),
        "{message}"
    );
    assert!(
        !message.contains("docs/rbac.yaml"),
        "not a missing list permission: {message}"
    );
    assert!(
        live.server
            .requests()
            .iter()
            .all(|r| r.impersonate_user.as_deref() == Some("bob") && r.status != 200),
        "nothing is read as another user"
    );
}

// ---------------------------------------------------------------------------------------
// 8. MetalLB detection

fn detection_objects() -> Vec<Value> {
    let service = |name: &str, class: Option<&str>, ip: &str| {
        let mut spec = json!({
            "type": "LoadBalancer",
            "clusterIP": ip,
            "clusterIPs": [ip],
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}],
            "selector": {"app": name},
        });
        if let Some(class) = class {
            spec["loadBalancerClass"] = json!(class);
        }
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": "apps"},
            "spec": spec,
            "status": {"loadBalancer": {}},
        })
    };
    vec![
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "controller",
                "namespace": "lb",
                "labels": {"app": "metallb", "component": "controller"},
            },
            "spec": {
                "selector": {"matchLabels": {"app": "metallb", "component": "controller"}},
                "template": {
                    "metadata": {"labels": {"app": "metallb", "component": "controller"}},
                    "spec": {"containers": [{
                        "name": "controller",
                        "image": "quay.io/metallb/controller:v0.15.3",
                        "args": ["--port=7472", "--lb-class=metallb.io/metallb"],
                    }]},
                },
            },
        }),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "lb"}}),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}}),
        json!({
            "apiVersion": "metallb.io/v1beta1",
            "kind": "IPAddressPool",
            "metadata": {"name": "lb-pool", "namespace": "lb"},
            "spec": {"addresses": ["192.0.2.0/29"]},
        }),
        json!({
            "apiVersion": "metallb.io/v1beta1",
            "kind": "L2Advertisement",
            "metadata": {"name": "lb-l2", "namespace": "lb"},
            "spec": {"ipAddressPools": ["lb-pool"]},
        }),
        service("classless", None, "10.96.0.10"),
        service("classy", Some("metallb.io/metallb"), "10.96.0.11"),
    ]
}

#[test]
fn the_controller_deployment_gives_namespace_and_class() {
    let objects = detection_objects();
    let live = Live::start(objects.clone(), ServerOptions::default());
    let manifests = TempDir::new().unwrap();
    let file = manifests.path().join("cluster.json");
    fs::write(
        &file,
        json!({"apiVersion": "v1", "kind": "List", "items": objects}).to_string(),
    )
    .unwrap();
    let explicit = [
        "--metallb-namespace",
        "lb",
        "--lb-class",
        "metallb.io/metallb",
    ];
    let with_flags = |args: &[&'static str]| [args, &explicit[..]].concat();

    let usage = live.run(&["usage", "-o", "json"]).json_with_code(0);
    assert_eq!(usage["metallbNamespace"], "lb");
    assert_eq!(pool_names(&usage), strings(&["lb-pool"]));
    assert!(
        !warning_codes(&usage).contains("metallb-not-detected"),
        "{usage:#}"
    );
    assert_eq!(
        usage,
        offline(&file, &with_flags(&["usage", "-o", "json"])).json()
    );

    let classless = live.run(&["why", "svc/classless", "-n", "apps", "-o", "json"]);
    let why = classless.json();
    assert_eq!(why["state"], "not-managed", "{why:#}");
    assert!(
        all_codes(&why).contains("other-load-balancer-class"),
        "{why:#}"
    );
    let offline_classless = offline(
        &file,
        &with_flags(&["why", "svc/classless", "-n", "apps", "-o", "json"]),
    );
    assert_eq!(classless.code, offline_classless.code);
    assert_eq!(why, offline_classless.json());

    let classy = live.run(&["why", "svc/classy", "-n", "apps", "-o", "json"]);
    let why = classy.json_with_code(0);
    assert_eq!(why["state"], "pending", "{why:#}");
    assert_eq!(why["outcome"]["fits"], true, "{why:#}");
    assert_eq!(why["outcome"]["pools"], json!(["lb-pool"]), "{why:#}");
    assert!(
        !all_codes(&why).contains("other-load-balancer-class"),
        "{why:#}"
    );
}

// ---------------------------------------------------------------------------------------
// 8b. Which MetalLB release

/// The `metallb.io` resources a v0.14.8 installation serves.
const CRDS_0_14_8: &[&str] = &[
    "bfdprofiles",
    "bgpadvertisements",
    "bgppeers",
    "communities",
    "ipaddresspools",
    "l2advertisements",
    "servicel2statuses",
];

const DIGEST: &str = "sha256:9c1b4e7a2f0d3c5b8a6e1f4d7c0b3a5e8f2d6c9b1a4e7f0d3c6b9a2e5f8d1c4b";

/// [`detection_objects`] with the controller's image (`None`: no image written) and extra
/// labels.
fn with_controller(image: Option<&str>, labels: &[(&str, &str)]) -> Vec<Value> {
    let mut objects = detection_objects();
    let deployment = objects
        .iter_mut()
        .find(|o| o["kind"] == "Deployment")
        .expect("the controller");
    let container = &mut deployment["spec"]["template"]["spec"]["containers"][0];
    match image {
        Some(image) => container["image"] = json!(image),
        None => {
            container.as_object_mut().unwrap().remove("image");
        }
    }
    for (key, value) in labels {
        deployment["metadata"]["labels"][*key] = json!(value);
    }
    objects
}

/// The CRDs of an older release.
fn serving(resources: &'static [&'static str]) -> ServerOptions {
    ServerOptions {
        metallb_resources: Some(resources),
        ..ServerOptions::default()
    }
}

/// `metallbVersion` of `usage -o json` (and of `why` and `usage --by-namespace`, which must
/// say the same), with the warning codes.
fn detected<'a>(live: &Live, extra: &[&'a str]) -> (Value, BTreeSet<String>) {
    let with = |args: &[&'a str]| [args, extra].concat();
    let usage = live.run(&with(&["usage", "-o", "json"])).json_with_code(0);
    let by_namespace = live
        .run(&with(&["usage", "--by-namespace", "-o", "json"]))
        .json_with_code(0);
    let why = live
        .run(&with(&["why", "svc/classy", "-n", "apps", "-o", "json"]))
        .json_with_code(0);
    assert_eq!(usage["metallbVersion"], by_namespace["metallbVersion"]);
    assert_eq!(usage["metallbVersion"], why["metallbVersion"]);
    (usage["metallbVersion"].clone(), warning_codes(&usage))
}

fn version(release: &str, source: &str) -> Value {
    json!({"version": release, "source": source})
}

#[test]
fn the_release_is_the_controller_image_tag_even_pinned_by_digest() {
    let tagged = "quay.io/metallb/controller:v0.14.8";
    let pinned = format!("{tagged}@{DIGEST}");
    for image in [tagged, pinned.as_str()] {
        let live = Live::start(with_controller(Some(image), &[]), serving(CRDS_0_14_8));
        let (found, codes) = detected(&live, &[]);
        assert_eq!(found, version("v0.14.8", "image"), "{image}");
        assert!(!codes.contains("metallb-version-mismatch"), "{codes:?}");
        let table = live.run(&["usage"]);
        assert_eq!(table.code, 0);
        assert!(
            !table.stderr.contains("answers follow"),
            "an exact release is not said: {}",
            table.stderr
        );
    }
}

#[test]
fn without_a_tag_the_helm_labels_tell() {
    let digest_only = format!("quay.io/metallb/controller@{DIGEST}");
    let helm = [
        ("app.kubernetes.io/version", "v0.14.9"),
        ("helm.sh/chart", "metallb-0.14.9"),
    ];
    let live = Live::start(
        with_controller(Some(&digest_only), &helm),
        serving(CRDS_0_14_8),
    );
    assert_eq!(detected(&live, &[]).0, version("v0.14.9", "helm-labels"));
    // A mirror's tag that names no release, and the chart label alone.
    let chart_only = [("helm.sh/chart", "metallb-0.14.8")];
    let live = Live::start(
        with_controller(
            Some("registry.example:5000/metallb/controller:main"),
            &chart_only,
        ),
        serving(CRDS_0_14_8),
    );
    assert_eq!(detected(&live, &[]).0, version("v0.14.8", "helm-labels"));
}

#[test]
fn without_tag_or_labels_the_crds_served_give_a_lower_bound_said_on_stderr() {
    let digest_only = format!("quay.io/metallb/controller@{DIGEST}");
    let live = Live::start(
        with_controller(Some(&digest_only), &[]),
        ServerOptions::default(),
    );
    // API discovery names the CRDs but not their fields: v0.15.3 and v0.16 serve the same
    // ones, and their rules differ, so the ambiguity is said.
    let (found, codes) = detected(&live, &[]);
    assert_eq!(found, version("v0.15.3", "crds"));
    assert!(codes.contains("metallb-version-ambiguous"), "{codes:?}");
    let older = Live::start(with_controller(None, &[]), serving(CRDS_0_14_8));
    let (found, codes) = detected(&older, &[]);
    assert_eq!(found, version("v0.14.4", "crds"));
    assert!(codes.contains("metallb-version-ambiguous"), "{codes:?}");
    let discovery: Vec<RequestRecord> = older
        .server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/apis/metallb.io/v1beta1")
        .collect();
    assert_eq!(discovery.len(), 3, "one request a run: {discovery:#?}");
    assert!(discovery.iter().all(|r| r.status == 200));

    let table = live.run(&["usage"]);
    assert_eq!(table.code, 0);
    assert_eq!(
        table.stderr,
        "Warning: answers follow MetalLB v0.15.3, the oldest release the MetalLB CRDs allow: the controller does not name its release (give --metallb-version)\n\
         Warning: the MetalLB CRDs served fit any release from v0.15.3 to v0.16.1, whose rules differ, and cannot tell them apart: answers follow v0.15.3 (give --metallb-version) (metallb-version-ambiguous)\n"
    );
    let json = live.run(&["usage", "-o", "json"]);
    assert_eq!(json.stderr, "", "JSON says it in metallbVersion");
    let page = live.run(&["why", "svc/classy", "-n", "apps"]);
    // Long values wrap at 80 columns, continued two columns deeper than values start.
    let unwrapped = page.stdout.replace("\n               ", " ");
    assert!(
        unwrapped.contains(
            "Release:     MetalLB v0.15.3, assumed: the oldest release the MetalLB CRDs allow"
        ),
        "{}",
        page.stdout
    );
}

const L2_CRD: &str =
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/l2advertisements.metallb.io";

/// The L2Advertisement CRD as the API serves it, its schema's spec with or without
/// `serviceSelectors` (v0.16.0 on).
fn l2_crd(service_selectors: bool) -> Value {
    let mut spec = json!({
        "ipAddressPools": {"type": "array", "items": {"type": "string"}},
        "nodeSelectors": {"type": "array", "items": {"type": "object"}},
    });
    if service_selectors {
        spec["serviceSelectors"] = json!({"type": "array", "items": {"type": "object"}});
    }
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "l2advertisements.metallb.io"},
        "spec": {
            "group": "metallb.io",
            "names": {"kind": "L2Advertisement", "plural": "l2advertisements"},
            "scope": "Namespaced",
            "versions": [{
                "name": "v1beta1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": spec},
                    "status": {"type": "object"},
                }}},
            }],
        },
    })
}

#[test]
fn the_l2advertisement_crd_schema_tells_v0_16_from_v0_15_3_live() {
    let digest_only = format!("quay.io/metallb/controller@{DIGEST}");
    for (selectors, release) in [(true, "v0.16.0"), (false, "v0.15.3")] {
        let mut objects = with_controller(Some(&digest_only), &[]);
        objects.push(l2_crd(selectors));
        let live = Live::start(objects, ServerOptions::default());
        let (found, codes) = detected(&live, &[]);
        assert_eq!(
            found,
            version(release, "crds"),
            "serviceSelectors: {selectors}"
        );
        assert!(!codes.contains("metallb-version-ambiguous"), "{codes:?}");
        let reads = live.requests_for(L2_CRD);
        assert_eq!(reads.len(), 3, "one read a run: {reads:#?}");
        assert!(reads.iter().all(|r| r.status == 200));
        let table = live.run(&["usage"]);
        assert!(
            !table.stderr.contains("cannot tell them apart"),
            "{}",
            table.stderr
        );
    }
}

#[test]
fn a_crd_read_refused_leaves_the_release_as_discovery_gives_it() {
    let digest_only = format!("quay.io/metallb/controller@{DIGEST}");
    let mut objects = with_controller(Some(&digest_only), &[]);
    objects.push(l2_crd(true));
    // docs/rbac.yaml without its optional CRD rule.
    let rules: Vec<Rule> = docs_rbac()
        .into_iter()
        .filter(|r| !r.api_groups.iter().any(|g| g == "apiextensions.k8s.io"))
        .collect();
    let refused = ServerOptions {
        rbac: Some(rules),
        ..ServerOptions::default()
    };
    let live = Live::start(objects.clone(), refused);
    let (found, codes) = detected(&live, &[]);
    assert_eq!(found, version("v0.15.3", "crds"));
    assert!(codes.contains("metallb-version-ambiguous"), "{codes:?}");
    let reads = live.requests_for(L2_CRD);
    assert!(
        !reads.is_empty() && reads.iter().all(|r| r.status == 403),
        "{reads:#?}"
    );
    let table = live.run(&["usage"]);
    assert_eq!(table.code, 0);
    assert!(
        !table.stderr.contains("customresourcedefinitions"),
        "{}",
        table.stderr
    );
    // With docs/rbac.yaml as written, the read is allowed.
    let allowed = Live::start(
        objects,
        ServerOptions {
            rbac: Some(docs_rbac()),
            ..ServerOptions::default()
        },
    );
    assert_eq!(detected(&allowed, &[]).0, version("v0.16.0", "crds"));
}

#[test]
fn the_crd_is_not_read_when_the_controller_names_its_release() {
    let helm = [("app.kubernetes.io/version", "v0.15.3")];
    let digest_only = format!("quay.io/metallb/controller@{DIGEST}");
    for (image, labels) in [
        ("quay.io/metallb/controller:v0.15.3", &[][..]),
        (digest_only.as_str(), &helm[..]),
    ] {
        let mut objects = with_controller(Some(image), labels);
        objects.push(l2_crd(true));
        let live = Live::start(objects, ServerOptions::default());
        let (found, _) = detected(&live, &[]);
        assert_eq!(found["version"], "v0.15.3", "{image}");
        assert!(live.requests_for(L2_CRD).is_empty(), "{image}");
        // Nor with --metallb-version.
        let mut objects = with_controller(Some(&digest_only), &[]);
        objects.push(l2_crd(true));
        let flagged = Live::start(objects, ServerOptions::default());
        detected(&flagged, &["--metallb-version", "v0.15.3"]);
        assert!(flagged.requests_for(L2_CRD).is_empty());
    }
}

#[test]
fn when_nothing_tells_the_newest_release_is_assumed() {
    let unavailable = ServerOptions {
        faults: vec![Fault::status(
            FaultTarget::path("/apis/metallb.io/v1beta1"),
            500,
            "the discovery document is unavailable",
        )],
        ..ServerOptions::default()
    };
    let live = Live::start(with_controller(None, &[]), unavailable);
    assert_eq!(detected(&live, &[]).0, version("v0.16.1", "default"));
    let table = live.run(&["usage"]);
    assert!(
        table
            .stderr
            .contains("answers follow MetalLB v0.16.1, the newest release modelled"),
        "{}",
        table.stderr
    );
}

#[test]
fn the_flag_wins_and_a_controller_older_than_its_crds_is_a_warning() {
    let image = "quay.io/metallb/controller:v0.14.8";
    let live = Live::start(with_controller(Some(image), &[]), ServerOptions::default());
    let (found, codes) = detected(&live, &[]);
    assert_eq!(found, version("v0.14.8", "image"), "the image is trusted");
    assert!(codes.contains("metallb-version-mismatch"), "{codes:?}");
    let table = live.run(&["usage"]);
    assert!(
        table.stderr.contains(
            "Warning: the MetalLB CRDs served are from v0.15.3 or newer, but the controller image is v0.14.8: answers follow v0.14.8 (metallb-version-mismatch)"
        ),
        "{}",
        table.stderr
    );

    let (found, codes) = detected(&live, &["--metallb-version", "v0.13.9"]);
    assert_eq!(found, version("v0.13.9", "flag"));
    assert!(!codes.contains("metallb-version-mismatch"), "{codes:?}");
    let too_old = live.run(&["usage", "--metallb-version", "v0.12.1"]);
    assert_eq!(too_old.code, 2);
    assert!(
        too_old
            .stderr
            .contains("supported releases are v0.13.9 to v0.16.1"),
        "{}",
        too_old.stderr
    );
}

#[test]
fn a_dump_carries_the_release_namespace_and_class_detected_live() {
    let digest_only = format!("quay.io/metallb/controller@{DIGEST}");
    let cases = [
        (detection_objects(), ServerOptions::default()),
        (
            with_controller(Some(&digest_only), &[]),
            serving(CRDS_0_14_8),
        ),
        // The L2Advertisement schema read live (v0.16.0) is kept in the dump's slim CRDs.
        (
            [with_controller(Some(&digest_only), &[]), vec![l2_crd(true)]].concat(),
            ServerOptions::default(),
        ),
    ];
    for (objects, options) in cases {
        let live = Live::start(objects, options);
        let dump = live.run(&["dump"]);
        assert_eq!(dump.code, 0, "{dump:#?}");
        let file = live.home.path().join("dump.yaml");
        fs::write(&file, &dump.stdout).unwrap();
        for args in [
            &["usage", "-o", "json"][..],
            &["usage", "--by-namespace", "-o", "json"],
            &["why", "svc/classy", "-n", "apps", "-o", "json"],
            &["why", "svc/classless", "-n", "apps", "-o", "json"],
        ] {
            let from_cluster = live.run(args);
            let from_dump = offline(&file, args);
            assert_eq!(from_cluster.code, from_dump.code, "{args:?}");
            let from_cluster = from_cluster.json();
            assert_ne!(
                from_cluster["metallbVersion"]["source"], "default",
                "{args:?}"
            );
            assert_eq!(
                without_live_only_warnings(from_cluster),
                without_live_only_warnings(from_dump.json()),
                "{args:?}"
            );
        }
        let usage = offline(&file, &["usage", "-o", "json"]).json();
        assert_eq!(usage["metallbNamespace"], "lb", "the namespace detected");
    }
}

// ---------------------------------------------------------------------------------------
// 9. Events

#[test]
fn why_shows_the_services_events() {
    let live = Live::start(standard_fixtures(), ServerOptions::default());
    let why = live
        .run(&["why", "svc/db", "-n", "team-b", "-o", "json"])
        .json();
    let events = why["events"].as_array().expect("events");
    assert_eq!(events.len(), 1, "{events:#?}");
    let event = &events[0];
    assert_eq!(event["type"], "Warning");
    assert_eq!(event["reason"], "AllocationFailed");
    assert_eq!(event["count"], 3);
    assert!(
        event["message"]
            .as_str()
            .unwrap()
            .contains("no available IPs"),
        "{event:#?}"
    );

    let lists = live.requests_for("/api/v1/namespaces/team-b/events");
    assert!(
        lists.iter().any(|r| r
            .query_param("fieldSelector")
            .is_some_and(|s| s.contains("involvedObject.name=db"))),
        "{lists:#?}"
    );

    // Another service's events are not mixed in.
    let web = live
        .run(&["why", "svc/web", "-n", "team-a", "-o", "json"])
        .json();
    let reasons: Vec<&Value> = web["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| &e["reason"])
        .collect();
    assert_eq!(reasons, [&json!("IPAllocated")]);
}

#[test]
fn events_forbidden_are_a_warning_not_a_failure() {
    // docs/rbac.yaml without `events`.
    let mut rules: Vec<Rule> = docs_rbac()
        .into_iter()
        .filter(|r| !r.resources.iter().any(|x| x == "events"))
        .collect();
    rules.push(Rule::new(&[""], &["services"], &["get", "list"]));
    let full = Live::start(standard_fixtures(), ServerOptions::default());
    let narrow = Live::start(
        standard_fixtures(),
        ServerOptions {
            rbac: Some(rules),
            ..ServerOptions::default()
        },
    );
    let args = ["why", "svc/db", "-n", "team-b", "-o", "json"];
    let expected = full.run(&args);
    let degraded = narrow.run(&args);
    assert_eq!(degraded.code, expected.code, "{degraded:#?}");
    let (expected, degraded) = (expected.json(), degraded.json());
    assert!(!expected["events"].as_array().expect("events").is_empty());
    assert!(
        degraded["events"].as_array().is_none_or(Vec::is_empty),
        "{degraded:#?}"
    );
    let unavailable: Vec<&Value> = degraded["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter(|w| w["code"] == "events-unavailable")
        .collect();
    assert_eq!(unavailable.len(), 1, "{degraded:#?}");
    assert!(!warning_codes(&expected).contains("events-unavailable"));
    assert_eq!(
        degraded["outcome"], expected["outcome"],
        "the answer itself does not need the events"
    );
    assert!(
        narrow
            .requests_for("/api/v1/namespaces/team-b/events")
            .iter()
            .any(|r| r.status == 403),
        "the events were asked for and refused"
    );
}

// ---------------------------------------------------------------------------------------
// 10. The real kubectl agrees

/// Whether `ip` lies in a pool's address entry: a CIDR or a `first-last` range.
fn in_addresses(entry: &str, ip: IpAddr) -> bool {
    fn number(ip: IpAddr) -> (bool, u128) {
        match ip {
            IpAddr::V4(v4) => (false, u128::from(u32::from(v4))),
            IpAddr::V6(v6) => (true, u128::from(v6)),
        }
    }
    let (family, value) = number(ip);
    let (first, last) = match entry.split_once('-') {
        Some((first, last)) => (
            number(first.trim().parse().expect("range start")),
            number(last.trim().parse().expect("range end")),
        ),
        None => {
            let (address, bits) = entry.split_once('/').expect("a CIDR");
            let (is_v6, base) = number(address.parse().expect("CIDR address"));
            let width = if is_v6 { 128 } else { 32 };
            let host_bits = width - bits.parse::<u32>().expect("prefix length");
            let mask = if host_bits == 128 {
                u128::MAX
            } else {
                (1u128 << host_bits) - 1
            };
            ((is_v6, base & !mask), (is_v6, (base & !mask) | mask))
        }
    };
    first.0 == family && last.0 == family && (first.1..=last.1).contains(&value)
}

#[test]
fn kubectl_sees_the_same_holders() {
    let live = Live::start(load_fixtures(&examples_dir()), ServerOptions::default());
    let kubectl = Kubectl::for_server(&live.server);
    let services = kubectl.run(&["get", "svc", "-A", "-o", "json"]).json();
    let pools = kubectl
        .run(&["get", "ipaddresspools.metallb.io", "-A", "-o", "json"])
        .json();
    let pool_addresses: Vec<String> = pools["items"]
        .as_array()
        .expect("pools")
        .iter()
        .flat_map(|p| {
            p["spec"]["addresses"]
                .as_array()
                .expect("addresses")
                .clone()
        })
        .map(|a| a.as_str().expect("address").to_owned())
        .collect();
    let holders: BTreeSet<String> = services["items"]
        .as_array()
        .expect("services")
        .iter()
        .filter(|s| s["spec"]["type"] == "LoadBalancer")
        .filter(|s| {
            s["status"]["loadBalancer"]["ingress"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|i| i["ip"].as_str()?.parse::<IpAddr>().ok())
                .any(|ip| pool_addresses.iter().any(|entry| in_addresses(entry, ip)))
        })
        .map(|s| {
            format!(
                "{}/{}",
                s["metadata"]["namespace"].as_str().unwrap(),
                s["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    let kubectl_pools: BTreeSet<String> = pools["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();

    let usage = live
        .run(&[
            "usage",
            "-o",
            "json",
            "--metallb-namespace",
            "metallb-system",
        ])
        .json_with_code(0);
    let listed: BTreeSet<String> = usage["pools"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["services"].as_array().expect("services").clone())
        .map(|s| s.as_str().expect("namespace/name").to_owned())
        .collect();
    assert!(holders.len() > 10, "{holders:?}");
    assert_eq!(listed, holders);
    assert_eq!(pool_names(&usage), kubectl_pools);
}

#[test]
fn pool_address_matching() {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert!(in_addresses("203.0.113.0/28", ip("203.0.113.15")));
    assert!(!in_addresses("203.0.113.0/28", ip("203.0.113.16")));
    assert!(in_addresses(
        "198.51.100.10-198.51.100.15",
        ip("198.51.100.10")
    ));
    assert!(!in_addresses(
        "198.51.100.10-198.51.100.15",
        ip("198.51.100.20")
    ));
    assert!(in_addresses("2001:db8:100::/64", ip("2001:db8:100::5")));
    assert!(!in_addresses("2001:db8:100::/64", ip("172.16.0.1")));
    assert!(in_addresses("192.168.20.5/32", ip("192.168.20.5")));
}

#[test]
fn the_namespace_is_assumed_out_loud_only_when_not_given() {
    let live = Live::start(
        load_fixtures(&root().join("examples")),
        ServerOptions::default(),
    );
    let guessed = live.run(&["usage", "-o", "json"]).json_with_code(0);
    assert!(
        warning_codes(&guessed).contains("metallb-not-detected"),
        "{guessed:#}"
    );
    let given = live
        .run(&[
            "usage",
            "--metallb-namespace",
            "metallb-system",
            "-o",
            "json",
        ])
        .json_with_code(0);
    assert!(
        !warning_codes(&given).contains("metallb-not-detected"),
        "{given:#}"
    );
    assert_eq!(pool_names(&guessed), pool_names(&given));
}

#[test]
fn an_invalid_configuration_state_is_reported() {
    let mut objects = standard_fixtures();
    for object in &mut objects {
        if object["kind"] == "ConfigurationState" {
            object["status"]["result"] = json!("Invalid");
            object["status"]["errorSummary"] = json!(
                "CIDR \"10.0.0.0/24\" in pool \"b\" overlaps with already defined CIDR \"10.0.0.0/16\""
            );
        }
    }
    let live = Live::start(objects, ServerOptions::default());
    let usage = live.run(&["usage", "-o", "json"]).json_with_code(0);
    let warnings = usage["warnings"].as_array().unwrap();
    let invalid = warnings
        .iter()
        .find(|w| w["code"] == "config-invalid")
        .expect("config-invalid warning");
    assert!(
        invalid["message"]
            .as_str()
            .unwrap()
            .contains("overlaps with already defined CIDR"),
        "{invalid}"
    );
    let valid = Live::start(standard_fixtures(), ServerOptions::default());
    let usage = valid.run(&["usage", "-o", "json"]).json_with_code(0);
    assert!(!warning_codes(&usage).contains("config-invalid"));
}

#[test]
fn a_live_dump_reads_back_offline_to_the_same_answers() {
    let live = Live::start(load_fixtures(&examples_dir()), ServerOptions::default());
    let flags = ["--metallb-namespace", "metallb-system"];
    let dump = live.run(&["dump", flags[0], flags[1]]);
    assert_eq!(dump.code, 0, "{dump:#?}");
    let file = live.home.path().join("dump.yaml");
    std::fs::write(&file, &dump.stdout).unwrap();
    let from_dump = offline(&file, &["usage", flags[0], flags[1], "-o", "json"]).json_with_code(0);
    let from_cluster = live
        .run(&["usage", flags[0], flags[1], "-o", "json"])
        .json_with_code(0);
    assert_eq!(
        without_live_only_warnings(from_dump),
        without_live_only_warnings(from_cluster)
    );
}

/// The plugin with its output on a pseudo-terminal (`script` from util-linux), as a person at
/// a terminal would run it; its stdout is everything the terminal showed.
fn on_a_terminal(live: &Live, args: &str) -> Command {
    let command = format!("{} {args}", env!("CARGO_BIN_EXE_kubectl-metalpool"));
    let mut script = Command::new("script");
    script
        .args(["-qec", &command, "/dev/null"])
        .current_dir(root())
        .env("HOME", live.home.path())
        .env("KUBECONFIG", &live.kubeconfig)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    script
}

/// What the terminal showed up to the first `needle` (or the end); then `gate` is opened
/// and the rest of the screen is read.
fn screen_opening_at(mut command: Command, needle: &str, gate: &Gate) -> (String, String) {
    let mut child = command
        .spawn()
        .expect("script (util-linux) runs a command on a pseudo-terminal");
    let mut pipe = child.stdout.take().expect("stdout");
    let (chunks, received) = std::sync::mpsc::channel();
    let reader = thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buffer) {
            if n == 0 || chunks.send(buffer[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut before = Vec::new();
    // The bound only keeps a broken plugin from hanging the suite; nothing is timed.
    while let Ok(chunk) = received.recv_timeout(Duration::from_secs(60)) {
        before.extend(chunk);
        if String::from_utf8_lossy(&before).contains(needle) {
            break;
        }
    }
    gate.open();
    let after: Vec<u8> = received.iter().flatten().collect();
    reader.join().expect("terminal reader");
    child.wait().expect("reap script");
    (
        String::from_utf8_lossy(&before).into_owned(),
        String::from_utf8_lossy(&after).into_owned(),
    )
}

#[test]
fn a_slow_read_shows_progress_on_a_terminal_only() {
    // The services list is answered only once the progress line is on the screen: however
    // slow the machine, the read outlasts the plugin's one-second wait.
    let gate = Gate::default();
    let held = ServerOptions {
        faults: vec![Fault::hold(FaultTarget::resource("", "services"), &gate)],
        ..ServerOptions::default()
    };
    let live = Live::start(load_fixtures(&examples_dir()), held);
    let terminal = on_a_terminal(&live, "usage --metallb-namespace metallb-system");
    let (before, after) = screen_opening_at(terminal, "Reading the cluster…", &gate);
    assert!(before.contains("Reading the cluster…"), "{before}{after}");
    assert!(
        !before.contains("team-a-ips"),
        "the table waits for the read: {before}"
    );
    let table = after
        .rfind("\r\x1b[2K")
        .map(|erased| &after[erased..])
        .unwrap_or_else(|| panic!("the progress line is erased: {after:?}"));
    assert!(table.contains("team-a-ips"), "the table follows: {after:?}");
    assert!(!table.contains("Reading"), "{after:?}");

    // A delay is a lower bound: this read takes over a second, and still no progress
    // line goes to a stderr that is not a terminal.
    let slow = ServerOptions {
        faults: vec![Fault::delay(
            FaultTarget::resource("", "services"),
            Duration::from_millis(1500),
        )],
        ..ServerOptions::default()
    };
    let live = Live::start(load_fixtures(&examples_dir()), slow);
    let piped = live.run(&["usage", "--metallb-namespace", "metallb-system"]);
    assert_eq!(piped.code, 0, "{piped:#?}");
    assert!(piped.stdout.contains("team-a-ips"), "{piped:#?}");
    assert!(
        !piped.stderr.contains("Reading"),
        "no progress without a terminal: {}",
        piped.stderr
    );
}

/// A credential plugin that fails: the error names the executable, its exit code and what it
/// printed on stderr — never its arguments, its environment or the cluster's CA (which the
/// client hands it in `KUBERNETES_EXEC_INFO`). A plugin that is not installed is named.
#[test]
fn a_failing_credential_plugin_leaks_nothing() {
    use base64::Engine as _;
    use std::os::unix::fs::PermissionsExt;

    let live = Live::start(standard_fixtures(), secure(ServerOptions::default()));
    let plugin = live.home.path().join("get-token");
    fs::write(
        &plugin,
        "#!/bin/sh\necho 'token expired: run get-token login' >&2\nexit 3\n",
    )
    .unwrap();
    fs::set_permissions(&plugin, fs::Permissions::from_mode(0o755)).unwrap();
    let ca = base64::engine::general_purpose::STANDARD.encode(live.server.ca_pem().unwrap());
    let kubeconfig = |command: &str| {
        json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "c", "cluster": {
                "server": live.server.url(), "certificate-authority-data": ca}}],
            "users": [{"name": "u", "user": {"exec": {
                "apiVersion": "client.authentication.k8s.io/v1",
                "command": command,
                "args": ["--client-secret=hunter2"],
                "env": [{"name": "PLUGIN_PASSWORD", "value": "s3cr3t-env"}],
                "provideClusterInfo": true,
                "interactiveMode": "Never"}}}],
            "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "x",
        })
        .to_string()
    };
    let path = live.home.path().join("exec-kubeconfig");
    fs::write(&path, kubeconfig(plugin.to_str().unwrap())).unwrap();
    let failed = run(metalpool(live.home.path())
        .env("KUBECONFIG", &path)
        .args(["usage"]));
    let line = failed.failure(3);
    assert!(
        line.contains("failed with exit code 3: token expired: run get-token login"),
        "{line}"
    );
    assert!(line.contains(plugin.to_str().unwrap()), "{line}");
    for secret in ["hunter2", "s3cr3t-env", &ca[..40], "Output {", "ExitStatus"] {
        assert!(!failed.stderr.contains(secret), "{secret} leaked: {line}");
    }

    fs::write(&path, kubeconfig("no-such-get-token")).unwrap();
    let missing = run(metalpool(live.home.path())
        .env("KUBECONFIG", &path)
        .args(["usage"]));
    assert!(
        missing
            .failure(3)
            .contains("executable no-such-get-token not found"),
        "{missing:#?}"
    );
}

/// A server that keeps answering "busy" is asked again a few times, then the command ends
/// with what it is — overloaded — well before kube's own minutes of retries would.
#[test]
fn an_overloaded_server_is_asked_again_a_few_times_then_named() {
    let live = Live::start(
        standard_fixtures(),
        ServerOptions {
            faults: vec![Fault::status(
                FaultTarget::resource("", "services"),
                429,
                "too many requests, please try again later",
            )],
            ..ServerOptions::default()
        },
    );
    let run = run_within(live.command().args(["usage"]), Duration::from_secs(30));
    let line = run.failure(3);
    assert!(
        line.contains("is overloaded (429, still after 4 attempts)"),
        "{line}"
    );
    assert!(line.contains("too many requests"), "{line}");
    assert_eq!(live.requests_for("/api/v1/services").len(), 4);
}

#[test]
fn a_server_busy_for_a_moment_is_asked_again() {
    let live = Live::start(
        standard_fixtures(),
        ServerOptions {
            faults: vec![
                Fault::status(FaultTarget::resource("", "services"), 503, "restarting").times(2),
            ],
            ..ServerOptions::default()
        },
    );
    let usage = live.run(&["usage", "-o", "json"]).json_with_code(0);
    assert!(!pool_names(&usage).is_empty());
    let statuses: Vec<u16> = live
        .requests_for("/api/v1/services")
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [503, 503, 200]);
}

/// Audit logs show who read: every request names the plugin and its version.
#[test]
fn requests_carry_the_plugin_user_agent() {
    let live = Live::start(standard_fixtures(), ServerOptions::default());
    live.run(&["usage", "-o", "json"]).json_with_code(0);
    let expected = format!("kubectl-metalpool/{} (", env!("CARGO_PKG_VERSION"));
    let requests = live.server.requests();
    assert!(!requests.is_empty());
    for request in requests {
        let agent = request.user_agent.unwrap_or_default();
        assert!(agent.starts_with(&expected), "{agent:?}");
    }
}

/// Corporate networks: `HTTPS_PROXY` is used for an https server, `NO_PROXY` covering the
/// server bypasses it, and a kubeconfig `proxy-url` is used as kubectl uses it.
#[test]
fn proxies_are_used_as_kubectl_uses_them() {
    use crate::support::proxy::ConnectProxy;

    let live = Live::start(standard_fixtures(), secure(ServerOptions::default()));
    let server = live.server.url();
    let authority = server.trim_start_matches("https://").to_string();
    let proxy = ConnectProxy::start();
    let through = |extra: &[(&str, &str)]| {
        let mut command = live.command();
        command
            .env("HTTPS_PROXY", proxy.url())
            .args(["usage", "-o", "json"]);
        for (key, value) in extra {
            command.env(key, value);
        }
        run(&mut command)
    };
    let usage = through(&[]).json_with_code(0);
    assert!(!pool_names(&usage).is_empty());
    assert!(
        proxy.targets().iter().all(|t| *t == authority) && !proxy.targets().is_empty(),
        "{:?}",
        proxy.targets()
    );

    let before = proxy.targets().len();
    through(&[("NO_PROXY", "localhost,127.0.0.1")]).json_with_code(0);
    assert_eq!(proxy.targets().len(), before, "NO_PROXY covers the server");

    let configured = ConnectProxy::start();
    let with_url = live.home.path().join("proxied");
    live.server.write_kubeconfig(
        &with_url,
        &KubeconfigContext {
            proxy_url: Some(configured.url()),
            ..KubeconfigContext::default()
        },
    );
    let run = run(metalpool(live.home.path())
        .env("KUBECONFIG", &with_url)
        .args(["usage", "-o", "json"]));
    run.json_with_code(0);
    assert!(
        !configured.targets().is_empty(),
        "the kubeconfig's proxy-url"
    );
}

// ---------------------------------------------------------------------------------------
// Credentials that expire

/// A kubeconfig for `live`'s server whose user gets its token from the executable `plugin`.
fn exec_kubeconfig(live: &Live, plugin: &Path) -> PathBuf {
    use base64::Engine as _;
    let ca = base64::engine::general_purpose::STANDARD.encode(live.server.ca_pem().unwrap());
    let document = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {
            "server": live.server.url(), "certificate-authority-data": ca}}],
        "users": [{"name": "u", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": plugin,
            "interactiveMode": "Never"}}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    });
    let path = live.home.path().join("exec-kubeconfig");
    fs::write(&path, document.to_string()).unwrap();
    path
}

/// A credential plugin that notes each of its runs (one line in `runs` beside it) and prints
/// `tokens[n]` on its n-th run (the last one from then on).
fn token_plugin(dir: &Path, tokens: &[&str]) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let runs = dir.join("runs");
    let mut script = format!("#!/bin/sh\necho run >> '{}'\n", runs.display());
    script.push_str(&format!("n=$(wc -l < '{}')\n", runs.display()));
    script.push_str("case $n in\n");
    for (i, token) in tokens.iter().enumerate() {
        let pattern = if i + 1 == tokens.len() {
            "*".to_string()
        } else {
            format!("{}", i + 1)
        };
        script.push_str(&format!("{pattern}) token={token} ;;\n"));
    }
    script.push_str("esac\n");
    script.push_str(
        "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"%s\"}}\\n' \"$token\"\n",
    );
    let plugin = dir.join("get-token");
    fs::write(&plugin, script).unwrap();
    fs::set_permissions(&plugin, fs::Permissions::from_mode(0o755)).unwrap();
    (plugin, runs)
}

fn runs_of(runs: &Path) -> usize {
    fs::read_to_string(runs).unwrap_or_default().lines().count()
}

/// A token that expired between the plugin's run and the requests: like kubectl, the plugin
/// runs again after the 401 and the requests are sent again with its new token — once, for
/// every request that was refused.
#[test]
fn a_stale_token_is_renewed_once_by_the_credential_plugin() {
    let live = Live::start(standard_fixtures(), secure(ServerOptions::default()));
    let (plugin, runs) = token_plugin(live.home.path(), &["stale-token", TOKEN]);
    let kubeconfig = exec_kubeconfig(&live, &plugin);
    let usage = run(metalpool(live.home.path())
        .env("KUBECONFIG", &kubeconfig)
        .args(["usage", "-o", "json"]))
    .json_with_code(0);
    assert!(!pool_names(&usage).is_empty());
    assert_eq!(
        runs_of(&runs),
        2,
        "the plugin runs once more, not per request"
    );
    let requests = live.server.requests();
    assert!(requests.iter().any(|r| r.status == 401), "{requests:#?}");
    assert!(
        requests
            .iter()
            .filter(|r| r.status == 401)
            .all(|r| r.authorization.as_deref() == Some("Bearer stale-token")),
        "only the stale token is refused"
    );
}

/// A token that is accepted: the plugin runs once for the whole command, as kubectl runs it.
#[test]
fn a_credential_plugin_runs_once_per_command() {
    let live = Live::start(standard_fixtures(), secure(ServerOptions::default()));
    let (plugin, runs) = token_plugin(live.home.path(), &[TOKEN]);
    let kubeconfig = exec_kubeconfig(&live, &plugin);
    run(metalpool(live.home.path())
        .env("KUBECONFIG", &kubeconfig)
        .args(["why", "svc/web", "-n", "team-a", "-o", "json"]))
    .json_with_code(0);
    assert_eq!(runs_of(&runs), 1);
    assert!(live.server.requests().iter().all(|r| r.status != 401));
}

/// A plugin whose fresh token is refused too: the plugin runs again once, and the command ends
/// with the one-line 401 error — no loop.
#[test]
fn a_token_refused_again_after_renewal_is_the_401_error() {
    let live = Live::start(standard_fixtures(), secure(ServerOptions::default()));
    let (plugin, runs) = token_plugin(live.home.path(), &["revoked-token"]);
    let kubeconfig = exec_kubeconfig(&live, &plugin);
    let failed = run_within(
        metalpool(live.home.path())
            .env("KUBECONFIG", &kubeconfig)
            .args(["usage"]),
        Duration::from_secs(60),
    );
    let line = failed.failure(3);
    assert!(
        line.contains("rejected the credentials (401 Unauthorized)"),
        "{line}"
    );
    assert_eq!(runs_of(&runs), 2, "one renewal, no loop");
    let mut refusals = std::collections::BTreeMap::new();
    for request in live
        .server
        .requests()
        .into_iter()
        .filter(|r| r.status == 401)
    {
        *refusals.entry((request.path, request.query)).or_insert(0) += 1;
    }
    assert!(
        refusals.values().all(|&n| n <= 2),
        "each request is sent again at most once: {refusals:#?}"
    );
}

// ---------------------------------------------------------------------------------------
// --request-timeout: one deadline for the whole command

/// The MetalLB controller is looked for with one selector, then another. A first lookup that
/// never gets an answer uses up the whole `--request-timeout`: the second is not sent at all
/// (with a timeout per request it would be, and wait as long again). Counted, not timed.
#[test]
fn sequential_controller_lookups_share_one_deadline() {
    let gate = Gate::default();
    let objects: Vec<Value> = standard_fixtures()
        .into_iter()
        .filter(|o| o["kind"] != "Deployment")
        .collect();
    let live = Live::start(
        objects,
        ServerOptions {
            faults: vec![Fault::hold(
                FaultTarget::resource("apps", "deployments"),
                &gate,
            )],
            ..ServerOptions::default()
        },
    );
    let run = run_within(
        live.command()
            .args(["usage", "-o", "json", "--request-timeout=3s"]),
        Duration::from_secs(60),
    );
    gate.open();
    let usage = run.json_with_code(0);
    assert!(!pool_names(&usage).is_empty(), "the lists were answered");
    let cut = usage["warnings"].as_array().unwrap().iter().any(|w| {
        w["message"]
            .as_str()
            .unwrap()
            .starts_with("cannot look for MetalLB's controller (")
    });
    assert_eq!(
        live.server.fault_hits(),
        [1],
        "one controller lookup sent: the second found the deadline passed"
    );
    assert!(cut, "the controller lookup was cut: {usage:#}");
}

// ---------------------------------------------------------------------------------------
// MetalLB's API served, but not what the plugin reads

/// A cluster serving `metallb.io` only at `v1beta2`: MetalLB is there, its CRDs are not what
/// the plugin reads. The error says what is served and what is needed, never "not installed".
#[test]
fn metallb_served_only_at_another_version_is_named_not_missing() {
    let live = Live::start(
        standard_fixtures(),
        ServerOptions {
            metallb_versions: Some(&["v1beta2"]),
            ..ServerOptions::default()
        },
    );
    let line = live.run(&["usage"]).failure(3).to_string();
    assert!(!line.contains("not installed"), "{line}");
    assert!(
        line.contains("the server has metallb.io/v1beta2 (bgppeers) and no ipaddresspools.metallb.io/v1beta1, which the plugin needs"),
        "what is served and what is needed: {line}"
    );
}

/// The group served at the version the plugin reads, without the IPAddressPool CRD (other
/// MetalLB CRDs at v1beta1 and v1beta2): what is served is named, and what is missing.
#[test]
fn metallb_served_without_ipaddresspools_names_what_is_served() {
    let live = Live::start(
        standard_fixtures(),
        ServerOptions {
            metallb_resources: Some(&["bgppeers", "l2advertisements", "bgpadvertisements"]),
            ..ServerOptions::default()
        },
    );
    for args in [&["usage"][..], &["why", "svc/web", "-n", "team-a"]] {
        let line = live.run(args).failure(3).to_string();
        assert!(!line.contains("not installed"), "{line}");
        assert!(
            line.contains("metallb.io/v1beta2 (bgppeers)")
                && line
                    .contains("metallb.io/v1beta1 (bgpadvertisements, bgppeers, l2advertisements)"),
            "what is served: {line}"
        );
        assert!(
            line.contains("no ipaddresspools.metallb.io/v1beta1"),
            "what the plugin needs: {line}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Answers that cannot be read

/// A server on loopback that answers every request with `reply` (raw HTTP), then closes the
/// connection. Returns its URL.
fn raw_server(reply: &'static str) -> String {
    use std::io::Write;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut seen = Vec::new();
            let mut byte = [0u8; 1];
            while !seen.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                seen.push(byte[0]);
            }
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    url
}

/// A body cut short, or a body that is not JSON: the server was reached and answered, so the
/// error says its answer could not be read — not that it cannot be reached.
#[test]
fn a_truncated_or_non_json_answer_is_unreadable_not_unreachable() {
    let truncated = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n{\"kind\":\"List\",\"items\":[{\"metadata\":";
    let html = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 27\r\nConnection: close\r\n\r\n<html>captive portal</html>";
    for reply in [truncated, html] {
        let home = TempDir::new().unwrap();
        let kubeconfig = home.path().join("kubeconfig");
        let url = raw_server(reply);
        write_kubeconfig(&kubeconfig, &[("raw", url.as_str())], "raw");
        let run = run_within(
            metalpool(home.path())
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .arg("usage"),
            Duration::from_secs(60),
        );
        let line = run.failure(3);
        assert!(
            line.contains(&format!(
                "the API server at {url} sent an unreadable response"
            )),
            "{line}"
        );
    }
}

/// Namespaces forbidden: one `namespaces-unknown` warning, saying why (the 403) and which
/// pools' namespaceSelectors it leaves open — not one from the read and another per pool.
#[test]
fn namespaces_forbidden_is_said_once() {
    let mut rules: Vec<Rule> = docs_rbac()
        .into_iter()
        .filter(|r| !r.resources.iter().any(|x| x == "namespaces"))
        .collect();
    rules.push(Rule::new(&[""], &["services"], &["get", "list"]));
    let live = Live::start(
        load_fixtures(&root().join("examples/multi-tenant")),
        ServerOptions {
            rbac: Some(rules),
            ..ServerOptions::default()
        },
    );
    for args in [
        &["why", "svc/app-1", "-n", "team-a", "-o", "json"][..],
        &["usage", "-o", "json"],
    ] {
        let answer = live.run(args).json();
        let unknown: Vec<&str> = answer["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["code"] == "namespaces-unknown")
            .map(|w| w["message"].as_str().unwrap())
            .collect();
        assert_eq!(unknown.len(), 1, "{args:?}: {unknown:#?}");
        assert!(unknown[0].contains("403"), "why: {}", unknown[0]);
        assert!(
            unknown[0].contains("production-ips"),
            "which pools: {}",
            unknown[0]
        );
    }
}
