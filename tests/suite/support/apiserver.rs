//! A loopback Kubernetes API server for integration tests.
//!
//! [`ApiServer::start`] serves fixture objects over real HTTP or HTTPS on
//! `127.0.0.1`, answering like kube-apiserver would: discovery, get and list
//! (selectors, paging), `metav1.Status` errors, bearer tokens, RBAC and
//! impersonation. Only reads are served; other methods get 405. Both the real
//! `kubectl` and kube-rs clients talk to it through a kubeconfig written by
//! [`ApiServer::write_kubeconfig`].
//!
//! ```ignore
//! let server = ApiServer::start(standard_fixtures(), ServerOptions::default());
//! server.write_kubeconfig(&path, &KubeconfigContext::default());
//! // ... run kubectl or the plugin with KUBECONFIG=path ...
//! assert!(server.requests().iter().any(|r| r.path == "/api/v1/services"));
//! ```

mod fixtures;
mod handler;
mod kubeconfig;
mod rbac;
mod resources;
mod selectors;
mod status;
mod store;
mod table;
mod tls;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

pub use fixtures::{fixtures_dir, load_fixtures, standard_fixtures};
pub use kubeconfig::KubeconfigContext;
pub use rbac::{Rule, rules_from_cluster_role_yaml};

use handler::{RequestInfo, Shared};
use store::Store;
use tls::Tls;

/// The user that [`ServerOptions::token`] (or any request, when no token is
/// required) authenticates as.
pub const DEFAULT_USER: &str = "test-user";

/// How a server behaves. `ServerOptions::default()` is a plain-HTTP server
/// with the MetalLB CRDs installed, no authentication, no RBAC and no faults.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Serve HTTPS with a certificate from a fresh CA (see
    /// [`ApiServer::ca_pem`]); the kubeconfig then carries that CA.
    pub tls: bool,
    /// When set, requests must carry `Authorization: Bearer <token>` with this
    /// token (user [`DEFAULT_USER`]) or one of `user_tokens`; anything else
    /// gets 401 Unauthorized.
    pub token: Option<String>,
    /// More accepted bearer tokens, each mapped to the user it authenticates.
    /// A non-empty map turns authentication on like `token` does.
    pub user_tokens: BTreeMap<String, String>,
    /// When set, only resource requests some rule allows pass; the rest get
    /// 403 with kube-apiserver's Forbidden message. Impersonation needs the
    /// `impersonate` verb on `users` (and `groups`). Discovery and `/version`
    /// stay open to every authenticated user, as on real clusters.
    pub rbac: Option<Vec<Rule>>,
    /// `true` (default): `GET /api` and `GET /apis` answer aggregated
    /// discovery (`apidiscovery.k8s.io/v2`) to clients that ask for it, as
    /// Kubernetes 1.30+ does. `false`: only the legacy documents, as before
    /// 1.26; kubectl then falls back to one request per group version.
    pub aggregated_discovery: bool,
    /// `false`: `metallb.io` is absent from discovery and its paths answer
    /// 404, as on a cluster without MetalLB.
    pub metallb_crds_installed: bool,
    /// With the CRDs installed, `Some`: only these `metallb.io` resources (plural names)
    /// are served, as by an older MetalLB's CRDs; `None`: all of them.
    pub metallb_resources: Option<&'static [&'static str]>,
    /// With the CRDs installed, `Some`: only these `metallb.io` versions are served (CRDs
    /// that serve `v1beta2` alone, say); `None`: all of them.
    pub metallb_versions: Option<&'static [&'static str]>,
    /// `false`: listing services with a `spec.type` (or `spec.clusterIP`)
    /// field selector gets 400 `field label not supported: spec.type`, as
    /// from servers older than Kubernetes 1.31.
    pub field_selector_spec_type_supported: bool,
    /// Injected failures and delays, checked before anything else.
    pub faults: Vec<Fault>,
    /// Caps the `limit` of list requests that send one, forcing paging. Lists
    /// without `limit` still return everything, as a real server does.
    pub max_page_size: Option<usize>,
    /// A remote server, as seen over a slow network: every response leaves this long after
    /// its request arrived, and a new connection waits once more before its first request
    /// is read (its TCP handshake). `None`: loopback speed.
    pub round_trip: Option<Duration>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            tls: false,
            token: None,
            user_tokens: BTreeMap::new(),
            rbac: None,
            aggregated_discovery: true,
            metallb_crds_installed: true,
            metallb_resources: None,
            metallb_versions: None,
            field_selector_spec_type_supported: true,
            faults: Vec::new(),
            max_page_size: None,
            round_trip: None,
        }
    }
}

impl ServerOptions {
    /// Which of MetalLB's types are served.
    fn metallb(&self) -> resources::Installed {
        resources::Installed {
            crds: self.metallb_crds_installed,
            only: self.metallb_resources,
            versions: self.metallb_versions,
        }
    }
}

/// An injected failure or delay for matching requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Only requests with this HTTP method (`None`: any).
    pub method: Option<String>,
    pub target: FaultTarget,
    pub action: FaultAction,
    /// Fire for at most this many matching requests (`None`: always).
    pub times: Option<usize>,
}

/// Which requests a [`Fault`] applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultTarget {
    /// Requests whose path starts with this prefix.
    PathPrefix(String),
    /// Requests for exactly this path (a discovery document).
    Path(String),
    /// Requests for objects of a resource (`group` `""` for core), in any
    /// namespace or only in `namespace`.
    Resource {
        group: String,
        resource: String,
        namespace: Option<String>,
    },
}

/// What a [`Fault`] does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer with this HTTP status and a `Status` body carrying `message`
    /// and the matching reason (500 InternalError, 504 Timeout, ...).
    Status { code: u16, message: String },
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Wait until the test opens the gate, then answer normally: for what a client does
    /// while a request is outstanding, without racing a clock.
    Hold(Gate),
}

/// Holds requests (see [`FaultAction::Hold`]) until [`Gate::open`]; every clone is the
/// same gate.
#[derive(Debug, Clone, Default)]
pub struct Gate(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Gate {
    pub fn open(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn is_open(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl PartialEq for Gate {
    fn eq(&self, other: &Gate) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Gate {}

impl FaultTarget {
    pub fn path_prefix(prefix: &str) -> Self {
        FaultTarget::PathPrefix(prefix.to_owned())
    }

    pub fn path(path: &str) -> Self {
        FaultTarget::Path(path.to_owned())
    }

    pub fn resource(group: &str, resource: &str) -> Self {
        FaultTarget::Resource {
            group: group.to_owned(),
            resource: resource.to_owned(),
            namespace: None,
        }
    }
}

impl Fault {
    /// Fail matching requests with `code` and `message`.
    pub fn status(target: FaultTarget, code: u16, message: &str) -> Self {
        Fault {
            method: None,
            target,
            action: FaultAction::Status {
                code,
                message: message.to_owned(),
            },
            times: None,
        }
    }

    /// Answer matching requests only after `delay`.
    pub fn delay(target: FaultTarget, delay: Duration) -> Self {
        Fault {
            method: None,
            target,
            action: FaultAction::Delay(delay),
            times: None,
        }
    }

    /// Answer matching requests only once `gate` is open.
    pub fn hold(target: FaultTarget, gate: &Gate) -> Self {
        Fault {
            method: None,
            target,
            action: FaultAction::Hold(gate.clone()),
            times: None,
        }
    }

    /// Only for requests with this HTTP method.
    pub fn for_method(mut self, method: &str) -> Self {
        self.method = Some(method.to_owned());
        self
    }

    /// Only for the first `times` matching requests.
    pub fn times(mut self, times: usize) -> Self {
        self.times = Some(times);
        self
    }
}

/// One request the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// Decoded query parameters, in request order.
    pub query: Vec<(String, String)>,
    pub authorization: Option<String>,
    pub impersonate_user: Option<String>,
    pub impersonate_groups: Vec<String>,
    pub accept: Option<String>,
    pub user_agent: Option<String>,
    /// The HTTP status code of the response.
    pub status: u16,
}

impl RequestRecord {
    /// The first value of a query parameter.
    pub fn query_param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }
}

/// A running loopback API server; dropping it stops the server.
pub struct ApiServer {
    address: SocketAddr,
    tls: bool,
    ca_pem: Option<String>,
    token: Option<String>,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ApiServer {
    /// Starts a server on `127.0.0.1` (a free port) serving `objects`, on its
    /// own thread and tokio runtime. Panics on objects it cannot serve.
    pub fn start(objects: Vec<Value>, options: ServerOptions) -> ApiServer {
        let store = Store::new(objects);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let address = listener.local_addr().expect("listener address");
        let tls = options.tls.then(Tls::generate);
        let ca_pem = tls.as_ref().map(|tls| tls.ca_pem.clone());
        let acceptor = tls.map(|tls| tls.acceptor);
        let shared = Arc::new(Shared {
            store,
            address: address.to_string(),
            log: Mutex::new(Vec::new()),
            fault_hits: Mutex::new(vec![0; options.faults.len()]),
            connections: AtomicUsize::new(0),
            options,
        });
        let (shutdown, shutdown_signal) = oneshot::channel();
        let thread = thread::Builder::new()
            .name(format!("loopback-apiserver-{}", address.port()))
            .spawn({
                let shared = Arc::clone(&shared);
                move || serve(listener, acceptor, shared, shutdown_signal)
            })
            .expect("spawn the server thread");
        ApiServer {
            address,
            tls: ca_pem.is_some(),
            token: shared.options.token.clone(),
            ca_pem,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:port` or `https://127.0.0.1:port`.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.address)
    }

    /// The PEM certificate of the CA that signed the serving certificate,
    /// when serving HTTPS.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// Writes a kubeconfig with one cluster (this server, and its CA when
    /// serving HTTPS), one user (bearer token) and one context, which is the
    /// current context.
    pub fn write_kubeconfig(&self, path: &Path, context: &KubeconfigContext) {
        let document = kubeconfig::document(
            &self.url(),
            self.ca_pem.as_deref(),
            self.token.as_deref(),
            context,
        );
        kubeconfig::write(path, &document);
    }

    /// Every request answered so far, oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.log.lock().expect("request log").clone()
    }

    /// How many requests each of [`ServerOptions::faults`] has matched, counted as they
    /// arrive: a request a client gave up on before its answer counts too.
    pub fn fault_hits(&self) -> Vec<usize> {
        self.shared
            .fault_hits
            .lock()
            .expect("fault counters")
            .clone()
    }

    /// How many TCP connections the server has accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Forgets the requests answered so far.
    pub fn clear_requests(&self) {
        self.shared.log.lock().expect("request log").clear();
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            // The server may already be gone; then there is nothing to stop.
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
            && !thread::panicking()
        {
            panic!("the loopback API server thread panicked");
        }
    }
}

/// The server thread: accepts connections until told to stop, then drops
/// the runtime, which closes every open connection.
fn serve(
    listener: std::net::TcpListener,
    acceptor: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("server runtime");
    runtime.block_on(async move {
        let listener = TcpListener::from_std(listener).expect("tokio listener");
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                accepted = listener.accept() => {
                    if let Ok((stream, _)) = accepted {
                        shared.connections.fetch_add(1, Ordering::SeqCst);
                        tokio::spawn(connection(stream, acceptor.clone(), Arc::clone(&shared)));
                    }
                }
            }
        }
    });
}

/// Serves HTTP/1.1 on one connection, after the TLS handshake when serving
/// HTTPS, and after one round trip (the TCP handshake) when one is set.
async fn connection(stream: TcpStream, acceptor: Option<TlsAcceptor>, shared: Arc<Shared>) {
    if let Some(round_trip) = shared.options.round_trip {
        tokio::time::sleep(round_trip).await;
    }
    let service = service_fn(move |request| handle(Arc::clone(&shared), request));
    // Connection errors (clients hanging up, failed handshakes from clients
    // that do not trust the CA) only end that connection.
    let _ = match acceptor {
        None => {
            http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
        }
        Some(acceptor) => match acceptor.accept(stream).await {
            Ok(stream) => {
                http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
            }
            Err(_) => return,
        },
    };
}

/// Answers one request and logs it.
async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let query = request
        .uri()
        .query()
        .map(|query| {
            form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let info = RequestInfo {
        method: request.method().as_str().to_owned(),
        path: request.uri().path().to_owned(),
        query,
        headers: request.headers().clone(),
    };
    let reply = handler::respond(&shared, &info).await;
    if let Some(round_trip) = shared.options.round_trip {
        tokio::time::sleep(round_trip).await;
    }
    shared
        .log
        .lock()
        .expect("request log")
        .push(info.record(reply.status));
    let response = Response::builder()
        .status(reply.status)
        .header("content-type", reply.content_type)
        .header("cache-control", "no-cache, private")
        .body(Full::new(Bytes::from(reply.body)))
        .expect("valid response");
    Ok(response)
}
