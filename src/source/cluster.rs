//! A live cluster, read like kubectl reads it: kubeconfig (merged `KUBECONFIG` path list,
//! `--kubeconfig`, `--context`, `--cluster`, `--user`), impersonation, timeouts, in-cluster
//! config; every list paginated, all lists in parallel, each object deserialized into the
//! slim snapshot types.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use kube::api::ListParams;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::Request;
use kube::{Client, Config};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::detect::{CONTROLLER_SELECTORS, Deployment, detect};
use super::{DEFAULT_METALLB_NAMESPACE, Loaded};
use crate::cli::{Connection, Settings};
use crate::error::{Error, Result};
use crate::metallb::reason::{Code, Reason};
use crate::snapshot::{
    Advertisement, Event, IpAddressPool, Metadata, Namespace, Service, Snapshot,
};

/// Page size of every list, as kubectl uses.
const PAGE_SIZE: u32 = 500;
const METALLB_API: &str = "/apis/metallb.io/v1beta1";

/// What `why` needs beyond the lists: the service itself (whatever its type) and its events.
#[derive(Clone, Debug)]
pub struct Target {
    pub namespace: Option<String>,
    pub name: String,
}

/// Reads the cluster. Blocks on a small runtime of its own: the plugin is a one-shot command.
pub fn load(settings: &Settings, target: Option<&Target>) -> Result<Loaded> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Cluster(format!("cannot start the client runtime: {e}")))?;
    runtime.block_on(read(settings, target))
}

async fn read(settings: &Settings, target: Option<&Target>) -> Result<Loaded> {
    let (client, server, context_namespace) = connect(&settings.connection).await?;
    let reader = Reader {
        client,
        server,
        timeout: settings.connection.request_timeout,
        progress: Progress::start(),
    };
    let default_namespace = settings.namespace.clone().unwrap_or(context_namespace);
    let target = target.map(|t| Target {
        namespace: Some(t.namespace.clone().unwrap_or(default_namespace.clone())),
        name: t.name.clone(),
    });

    let (detected, pools, l2, bgp, services, namespaces, states, target_service, events) = tokio::join!(
        reader.detect(settings),
        reader.list::<IpAddressPool>(METALLB_API, "ipaddresspools", None, ListParams::default()),
        reader.list::<Advertisement>(METALLB_API, "l2advertisements", None, ListParams::default()),
        reader.list::<Advertisement>(
            METALLB_API,
            "bgpadvertisements",
            None,
            ListParams::default()
        ),
        reader.services(),
        reader.list::<Namespace>("/api/v1", "namespaces", None, ListParams::default()),
        reader.list::<ConfigurationState>(
            METALLB_API,
            "configurationstates",
            None,
            ListParams::default()
        ),
        reader.target_service(target.as_ref()),
        reader.events(target.as_ref()),
    );
    reader.progress.finish();

    let mut notes = Vec::new();
    let (metallb_namespace, lb_class) = match detected {
        Detection::Found(ns, class) => (ns, class),
        Detection::Fallback(why) => {
            // Only worth a word when the namespace is not given.
            if settings.metallb_namespace.is_none() {
                notes.push(Reason::new(Code::MetallbNotDetected, why));
            }
            (DEFAULT_METALLB_NAMESPACE.to_string(), None)
        }
    };
    let metallb_namespace = settings
        .metallb_namespace
        .clone()
        .unwrap_or(metallb_namespace);
    let lb_class = settings.lb_class.clone().or(lb_class);

    // MetalLB objects: cluster-wide to warn about strays; the MetalLB namespace alone when
    // a cluster-wide list is forbidden.
    let ns = &metallb_namespace;
    let mut snapshot = Snapshot {
        pools: reader
            .or_in_namespace(pools, "ipaddresspools", ns, &mut notes)
            .await?,
        l2_advertisements: reader
            .or_in_namespace(l2, "l2advertisements", ns, &mut notes)
            .await?,
        bgp_advertisements: reader
            .or_in_namespace(bgp, "bgpadvertisements", ns, &mut notes)
            .await?,
        ..Snapshot::default()
    };
    snapshot.services = services.map_err(|e| e.into_error(&reader.server))?;
    match target_service {
        Ok(Some(svc)) => {
            if !snapshot
                .services
                .iter()
                .any(|s| s.metadata.key() == svc.metadata.key())
            {
                snapshot.services.push(svc);
            }
        }
        Ok(None) => {}
        Err(e) if e.status == Some(404) => {
            let t = target.as_ref().expect("a target was asked for");
            return Err(Error::service_not_found(
                &snapshot.services,
                "LoadBalancer service",
                t.namespace.as_deref().unwrap_or_default(),
                &t.name,
            ));
        }
        Err(e) => return Err(e.into_error(&reader.server)),
    }
    match namespaces {
        Ok(list) => {
            snapshot.namespaces = list;
            snapshot.namespaces_known = true;
        }
        Err(e) => notes.push(Reason::new(
            Code::NamespacesUnknown,
            format!(
                "cannot read namespaces ({}): namespaceSelectors of pools cannot be evaluated",
                e.short()
            ),
        )),
    }
    match events {
        Ok(list) => snapshot.events = list,
        Err(e) => notes.push(Reason::new(
            Code::EventsUnavailable,
            format!("cannot read the service's events: {}", e.short()),
        )),
    }
    // ConfigurationState (v0.15.3+): MetalLB's own verdict on its configuration.
    if let Ok(states) = states {
        for state in states.iter().filter(|s| {
            s.metadata.namespace == metallb_namespace && s.metadata.name == "controller"
        }) {
            if state.status.result.as_deref() == Some("Invalid") {
                notes.push(Reason::new(
                    Code::ConfigInvalid,
                    format!(
                        "MetalLB's ConfigurationState says the configuration is invalid: {}",
                        state
                            .status
                            .error_summary
                            .as_deref()
                            .unwrap_or("no summary")
                    ),
                ));
            }
        }
    }
    Ok(Loaded {
        snapshot,
        metallb_namespace,
        lb_class,
        default_namespace,
        notes,
    })
}

/// Builds the client as kubectl would from the connection flags.
async fn connect(conn: &Connection) -> Result<(Client, String, String)> {
    if !conn.as_groups.is_empty() && conn.as_user.is_none() {
        return Err(Error::Usage(
            "--as-group needs --as: a group is impersonated together with a user".to_string(),
        ));
    }
    let options = KubeConfigOptions {
        context: conn.context.clone(),
        cluster: conn.cluster.clone(),
        user: conn.user.clone(),
    };
    let mut config = match read_kubeconfig(conn)? {
        Some(kubeconfig) => {
            check_names(&kubeconfig, conn)?;
            Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(|e| Error::input("kubeconfig", chain(&e)))?
        }
        None => Config::incluster().map_err(|_| {
            Error::Cluster(
                "no kubeconfig found (use --kubeconfig, set KUBECONFIG, or create ~/.kube/config) and not running inside a cluster"
                    .to_string(),
            )
        })?,
    };
    if let Some(user) = &conn.as_user {
        config.auth_info.impersonate = Some(user.clone());
        config.auth_info.impersonate_groups =
            (!conn.as_groups.is_empty()).then(|| conn.as_groups.clone());
    }
    if conn.insecure_skip_tls_verify {
        config.accept_invalid_certs = true;
    }
    if let Some(timeout) = conn.request_timeout {
        config.connect_timeout = Some(timeout);
        config.read_timeout = Some(timeout);
    }
    let namespace = config.default_namespace.clone();
    let server = config
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_string();
    let client = Client::try_from(config)
        .map_err(|e| Error::Cluster(format!("cannot build the client: {}", chain(&e))))?;
    Ok((client, server, namespace))
}

/// `--context`, `--cluster` and `--user` must name entries of the kubeconfig.
fn check_names(kubeconfig: &Kubeconfig, conn: &Connection) -> Result<()> {
    let lists: [(&str, &Option<String>, Vec<&str>); 3] = [
        (
            "context",
            &conn.context,
            kubeconfig
                .contexts
                .iter()
                .map(|c| c.name.as_str())
                .collect(),
        ),
        (
            "cluster",
            &conn.cluster,
            kubeconfig
                .clusters
                .iter()
                .map(|c| c.name.as_str())
                .collect(),
        ),
        (
            "user",
            &conn.user,
            kubeconfig
                .auth_infos
                .iter()
                .map(|u| u.name.as_str())
                .collect(),
        ),
    ];
    for (what, wanted, known) in lists {
        if let Some(wanted) = wanted
            && !known.contains(&wanted.as_str())
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

/// `--kubeconfig`, else the `KUBECONFIG` path list merged (missing files skipped, as kubectl
/// does), else `~/.kube/config`; `None` when there is none (then in-cluster).
fn read_kubeconfig(conn: &Connection) -> Result<Option<Kubeconfig>> {
    let invalid = |path: &PathBuf, e: kube::config::KubeconfigError| {
        Error::input(format!("kubeconfig {}", path.display()), chain(&e))
    };
    if let Some(path) = &conn.kubeconfig {
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

/// A failed request, with what it was for.
#[derive(Debug)]
struct Failure {
    status: Option<u16>,
    verb: &'static str,
    resource: String,
    namespace: Option<String>,
    message: String,
    timed_out: bool,
}

impl Failure {
    /// A 403 that refuses impersonation (`--as`), not the request itself.
    fn is_impersonation(&self) -> bool {
        self.status == Some(403) && self.message.contains("cannot impersonate")
    }

    /// The TLS handshake failed (unknown CA, wrong name, expired certificate…).
    fn is_tls(&self) -> bool {
        let text = self.message.to_ascii_lowercase();
        text.contains("certificate") || text.contains("tls") || text.contains("handshake")
    }

    fn short(&self) -> String {
        match self.status {
            Some(code) => format!("{code}: {}", self.message),
            None => self.message.clone(),
        }
    }

    /// One line saying what failed and what to do.
    fn into_error(self, server: &str) -> Error {
        let scope = match &self.namespace {
            Some(ns) => format!("in namespace {ns}"),
            None => "in all namespaces".to_string(),
        };
        let what = format!("{} {} {scope}", self.verb, self.resource);
        Error::Cluster(match self.status {
            Some(401) => format!(
                "the API server at {server} rejected the credentials (401 Unauthorized): log in again or check the kubeconfig user"
            ),
            Some(403) if self.is_impersonation() => format!(
                "forbidden: impersonation (--as/--as-group) is not allowed for the kubeconfig user ({})",
                self.message
            ),
            Some(403) => format!(
                "forbidden: RBAC does not allow {what} ({}); grant it, see the ClusterRole in docs/rbac.yaml",
                self.message
            ),
            Some(404) if self.resource.ends_with("metallb.io") => format!(
                "MetalLB CRDs are not installed: the server has no {} (is MetalLB installed in this cluster?)",
                self.resource
            ),
            Some(code) => format!("{what} failed: {code} {}", self.message),
            None if self.timed_out => format!(
                "the API server at {server} did not answer in time while trying to {what}: {}",
                self.message
            ),
            None if self.is_tls() => format!(
                "TLS failure talking to the API server at {server}: {} (is the kubeconfig's certificate-authority right? --insecure-skip-tls-verify skips the check)",
                self.message
            ),
            None => format!("cannot reach the API server at {server}: {}", self.message),
        })
    }
}

/// The API calls, each bounded by `--request-timeout`.
struct Reader {
    client: Client,
    /// The API server's URL, for messages.
    server: String,
    timeout: Option<Duration>,
    progress: Progress,
}

/// A page of a list.
#[derive(Deserialize)]
struct Page<T> {
    #[serde(default)]
    metadata: PageMeta,
    #[serde(default = "Vec::new")]
    items: Vec<T>,
}

#[derive(Default, Deserialize)]
struct PageMeta {
    #[serde(default, rename = "continue")]
    continue_token: Option<String>,
}

/// MetalLB's ConfigurationState (v0.15.3+).
#[derive(Clone, Debug, Default, Deserialize)]
struct ConfigurationState {
    #[serde(default)]
    metadata: Metadata,
    #[serde(default)]
    status: ConfigurationStatus,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfigurationStatus {
    #[serde(default)]
    result: Option<String>,
    #[serde(default)]
    error_summary: Option<String>,
}

enum Detection {
    Found(String, Option<String>),
    Fallback(String),
}

impl Reader {
    async fn call<T: DeserializeOwned>(
        &self,
        request: http::Request<Vec<u8>>,
        verb: &'static str,
        resource: &str,
        namespace: Option<&str>,
    ) -> std::result::Result<T, Failure> {
        let failure = |status, message: String, timed_out| Failure {
            status,
            verb,
            resource: resource.to_string(),
            namespace: namespace.map(str::to_string),
            message,
            timed_out,
        };
        let call = self.client.request::<T>(request);
        let result = match self.timeout {
            Some(limit) => match tokio::time::timeout(limit, call).await {
                Ok(r) => r,
                Err(_) => {
                    return Err(failure(
                        None,
                        format!("no answer within {}", humanize(limit)),
                        true,
                    ));
                }
            },
            None => call.await,
        };
        result.map_err(|e| match e {
            kube::Error::Api(status) => failure(Some(status.code), status.message.clone(), false),
            other => {
                let text = chain(&other);
                let timed_out = text.contains("timed out") || text.contains("deadline");
                failure(None, text, timed_out)
            }
        })
    }

    /// Every item of a list, page by page (`limit` + `continue`).
    async fn list<T: DeserializeOwned>(
        &self,
        api: &str,
        resource: &str,
        namespace: Option<&str>,
        params: ListParams,
    ) -> std::result::Result<Vec<T>, Failure> {
        let path = match namespace {
            Some(ns) => format!("{api}/namespaces/{ns}/{resource}"),
            None => format!("{api}/{resource}"),
        };
        let qualified = if api.starts_with("/apis/") {
            format!(
                "{resource}.{}",
                api.trim_start_matches("/apis/")
                    .split('/')
                    .next()
                    .unwrap_or("")
            )
        } else {
            resource.to_string()
        };
        let mut params = params.limit(PAGE_SIZE);
        // Pages are joined once at the end, into a list of the exact length: growing one
        // list page by page would hold up to twice the room, and copy it on every growth.
        let mut pages: Vec<Vec<T>> = Vec::new();
        let mut listed = 0;
        loop {
            let request = Request::new(&path).list(&params).map_err(|e| Failure {
                status: None,
                verb: "list",
                resource: qualified.clone(),
                namespace: namespace.map(str::to_string),
                message: e.to_string(),
                timed_out: false,
            })?;
            let page: Page<T> = self.call(request, "list", &qualified, namespace).await?;
            listed += page.items.len();
            pages.push(page.items);
            if resource == "services" {
                self.progress.add(listed);
            }
            match page.metadata.continue_token.filter(|t| !t.is_empty()) {
                Some(token) => params = params.continue_token(&token),
                None => break,
            }
        }
        let mut items = Vec::with_capacity(listed);
        for page in pages {
            items.extend(page);
        }
        Ok(items)
    }

    /// A cluster-wide list of MetalLB objects, or — when that is forbidden — the list of the
    /// MetalLB namespace, with a note that strays elsewhere go unnoticed.
    async fn or_in_namespace<T: DeserializeOwned>(
        &self,
        cluster_wide: std::result::Result<Vec<T>, Failure>,
        resource: &str,
        namespace: &str,
        notes: &mut Vec<Reason>,
    ) -> Result<Vec<T>> {
        let listed = match cluster_wide {
            Err(e) if e.status == Some(403) && !e.is_impersonation() => {
                notes.push(Reason::new(
                    Code::ClusterScopeForbidden,
                    format!("cannot list {resource} in all namespaces; read only namespace {namespace}, so {resource} elsewhere go unnoticed"),
                ));
                self.list(
                    METALLB_API,
                    resource,
                    Some(namespace),
                    ListParams::default(),
                )
                .await
            }
            other => other,
        };
        listed.map_err(|e| e.into_error(&self.server))
    }

    /// LoadBalancer services only, when the server can filter them (older servers answer the
    /// field selector with 400: then all services).
    async fn services(&self) -> std::result::Result<Vec<Service>, Failure> {
        let filtered = ListParams::default().fields("spec.type=LoadBalancer");
        match self.list("/api/v1", "services", None, filtered).await {
            Err(e) if e.status == Some(400) => {
                self.list("/api/v1", "services", None, ListParams::default())
                    .await
            }
            other => other,
        }
    }

    /// The service `why` names, whatever its type (the LoadBalancer list may not hold it).
    async fn target_service(
        &self,
        target: Option<&Target>,
    ) -> std::result::Result<Option<Service>, Failure> {
        let Some(t) = target else { return Ok(None) };
        let ns = t.namespace.as_deref().unwrap_or("default");
        let path = format!("/api/v1/namespaces/{ns}/services");
        let request = Request::new(&path)
            .get(&t.name, &Default::default())
            .map_err(|e| Failure {
                status: None,
                verb: "get",
                resource: "services".into(),
                namespace: Some(ns.to_string()),
                message: e.to_string(),
                timed_out: false,
            })?;
        self.call(request, "get", "services", Some(ns))
            .await
            .map(Some)
    }

    async fn events(&self, target: Option<&Target>) -> std::result::Result<Vec<Event>, Failure> {
        let Some(t) = target else {
            return Ok(Vec::new());
        };
        let ns = t.namespace.as_deref().unwrap_or("default");
        let params = ListParams::default().fields(&format!(
            "involvedObject.kind=Service,involvedObject.name={}",
            t.name
        ));
        self.list("/api/v1", "events", Some(ns), params).await
    }

    /// MetalLB's namespace and `--lb-class` from its controller Deployment (§1.1).
    async fn detect(&self, settings: &Settings) -> Detection {
        if settings.metallb_namespace.is_some() && settings.lb_class.is_some() {
            return Detection::Found(String::new(), None);
        }
        let mut last_failure = None;
        for selector in CONTROLLER_SELECTORS {
            match self
                .list::<Deployment>(
                    "/apis/apps/v1",
                    "deployments",
                    None,
                    ListParams::default().labels(selector),
                )
                .await
            {
                Ok(found) => {
                    if let Some(deployment) = found.first() {
                        let d = detect(deployment);
                        return Detection::Found(d.namespace, d.lb_class);
                    }
                }
                Err(e) => last_failure = Some(e.short()),
            }
        }
        Detection::Fallback(match last_failure {
            Some(why) => format!(
                "cannot look for MetalLB's controller ({why}); assuming namespace {DEFAULT_METALLB_NAMESPACE} (use --metallb-namespace)"
            ),
            None => format!(
                "no MetalLB controller Deployment found; assuming namespace {DEFAULT_METALLB_NAMESPACE} (use --metallb-namespace)"
            ),
        })
    }
}

/// The error and its causes on one line, without repeats.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ").replace('\n', " ")
}

fn humanize(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// "Reading…" on stderr when reading takes more than a second and stderr is a terminal.
struct Progress {
    read: Arc<AtomicUsize>,
    shown: Arc<AtomicBool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    fn start() -> Progress {
        let read = Arc::new(AtomicUsize::new(0));
        let shown = Arc::new(AtomicBool::new(false));
        if !std::io::stderr().is_terminal() {
            return Progress {
                read,
                shown,
                task: None,
            };
        }
        let (counter, flag) = (read.clone(), shown.clone());
        let task = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            loop {
                flag.store(true, Ordering::Relaxed);
                eprint!(
                    "\rReading the cluster… {} services",
                    counter.load(Ordering::Relaxed)
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        Progress {
            read,
            shown,
            task: Some(task),
        }
    }

    /// No progress line at all (shell completion).
    fn silent() -> Progress {
        Progress {
            read: Arc::new(AtomicUsize::new(0)),
            shown: Arc::new(AtomicBool::new(false)),
            task: None,
        }
    }

    fn add(&self, total: usize) {
        self.read.store(total, Ordering::Relaxed);
    }

    fn finish(&self) {
        if let Some(task) = &self.task {
            task.abort();
            if self.shown.load(Ordering::Relaxed) {
                eprint!("\r\x1b[2K");
            }
        }
    }
}

/// What shell completion asks the cluster for.
#[derive(Clone, Debug)]
pub enum Names {
    /// Services of a namespace (the context's when `None`).
    Services(Option<String>),
    /// IPAddressPools of every namespace.
    Pools,
    Namespaces,
    /// Contexts of the kubeconfig (no request).
    Contexts,
}

/// Names for shell completion: one request at most, bounded by `--request-timeout` (or 5s).
pub fn names(conn: &Connection, what: &Names) -> Result<Vec<String>> {
    if let Names::Contexts = what {
        let kubeconfig = read_kubeconfig(conn)?.unwrap_or_default();
        return Ok(kubeconfig.contexts.into_iter().map(|c| c.name).collect());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Cluster(format!("cannot start the client runtime: {e}")))?;
    runtime.block_on(async {
        let (client, server, context_namespace) = connect(conn).await?;
        let timeout = Some(conn.request_timeout.unwrap_or(Duration::from_secs(5)));
        let reader = Reader {
            client,
            server,
            timeout,
            progress: Progress::silent(),
        };
        let metadata_of = |items: Vec<Named>| {
            items
                .into_iter()
                .map(|i| i.metadata.name)
                .collect::<Vec<_>>()
        };
        let listed = match what {
            Names::Services(ns) => {
                let ns = ns.clone().unwrap_or(context_namespace);
                reader
                    .list::<Named>("/api/v1", "services", Some(&ns), ListParams::default())
                    .await
            }
            Names::Pools => {
                reader
                    .list::<Named>(METALLB_API, "ipaddresspools", None, ListParams::default())
                    .await
            }
            _ => {
                reader
                    .list::<Named>("/api/v1", "namespaces", None, ListParams::default())
                    .await
            }
        };
        let mut names = metadata_of(listed.map_err(|e| e.into_error(&reader.server))?);
        names.sort();
        names.dedup();
        Ok(names)
    })
}

/// Any object, for its name only.
#[derive(Deserialize)]
struct Named {
    #[serde(default)]
    metadata: Metadata,
}
