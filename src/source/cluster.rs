//! A live cluster, read like kubectl reads it: the kubeconfig chosen in [`Settings`]
//! (context, cluster, user), impersonation, timeouts, in-cluster config; every list
//! paginated and every list at once. [`fetch`](Reader::fetch) makes the requests;
//! [`assemble`] turns their results into a snapshot and notes, without I/O.
//!
//! [`Settings`]: crate::settings::Settings

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use kube::Config;
use kube::api::ListParams;
use kube::config::KubeConfigOptions;
use kube::core::Request;
use serde::Deserialize;
use serde::de::{
    DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};

use super::credentials::RenewingClient;
use super::failure::{Cause, Failure, client_error, humanize};
use super::{Loaded, kubeconfig};
use crate::error::{Error, Result, chain};
use crate::metallb::reason::{Code, Reason};
use crate::metallb::release::{
    l2_schema_would_settle, release_from_helm_labels, release_from_image,
};
use crate::metallb::runtime::{CONTROLLER_SELECTORS, DEFAULT_NAMESPACE, controller_image, detect};
use crate::settings::{Connection, MetallbFlags, ServiceRef};
use crate::snapshot::{
    AddressPool, Advertisement, ApiResourceList, ConfigurationState, CustomResourceDefinition,
    Deployment, Event, IpAddressPool, LEGACY_POOLS, Metadata, MetallbCrds, Namespace, Service,
    Snapshot,
};

mod served;

/// Page size of every list, as kubectl uses.
const PAGE_SIZE: u32 = 500;
/// Page size of the services list, the one list that grows with the cluster. Each page is
/// one round trip after the last (the next needs its `continue` token): behind a 30 ms
/// round trip, 50,000 services in pages of 500 wait 3 s on the network alone. The API
/// server does the same work per object whatever the page size, and its fixed work per
/// request (authentication, authorization, one read of its store) ten times less often;
/// what grows is the page it writes at once, about 7 MB of JSON for 5,000 services.
const SERVICES_PAGE_SIZE: u32 = 5_000;
const METALLB_API: &str = "/apis/metallb.io/v1beta1";
/// The L2Advertisement CRD, whose schema alone tells v0.16 from v0.15.3 (Appendix C).
const L2_CRD_PATH: &str =
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/l2advertisements.metallb.io";

/// Reads the cluster. Blocks on a small runtime of its own: the plugin is a one-shot command.
/// `target` is the service `why` explains: read whatever its type, with its events.
pub fn load(
    connection: &Connection,
    metallb: &MetallbFlags,
    target: Option<&ServiceRef>,
) -> Result<Loaded> {
    runtime()?.block_on(async {
        let (client, server) = connect(connection).await?;
        let reader = Reader {
            client,
            deadline: deadline(connection.request_timeout),
            progress: Progress::start(),
            plugin: credential_plugin(connection),
            spare_bodies: SpareBodies::default(),
        };
        let mut fetched = reader.fetch(metallb, target).await;
        reader.explain_missing(&mut fetched).await;
        reader.progress.finish();
        assemble(fetched, metallb, target, &server)
    })
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::cluster(format!("cannot start the client runtime: {e}")))
}

type Listed<T> = std::result::Result<Vec<T>, Failure>;

/// A MetalLB list: cluster-wide, and — when that was forbidden — again in MetalLB's
/// namespace alone.
struct MetallbList<T> {
    cluster_wide: Listed<T>,
    in_namespace: Option<(String, Listed<T>)>,
}

/// Whether the first controller found names its release (image tag, else Helm labels), as
/// release detection reads it: the CRDs then decide nothing.
fn controller_names_release(controllers: Option<&Listed<Deployment>>) -> bool {
    let Some(Ok(found)) = controllers else {
        return false;
    };
    found.first().is_some_and(|d| {
        controller_image(d).and_then(release_from_image).is_some()
            || release_from_helm_labels(d.metadata.labels.iter()).is_some()
    })
}

/// What the requests returned, each on its own: one failing does not hide the others.
struct Fetched {
    /// `None`: not looked for (both `--metallb-namespace` and `--lb-class` were given).
    controllers: Option<Listed<Deployment>>,
    pools: MetallbList<IpAddressPool>,
    l2: MetallbList<Advertisement>,
    bgp: MetallbList<Advertisement>,
    services: Listed<Service>,
    namespaces: Listed<Namespace>,
    states: Listed<ConfigurationState>,
    target: Option<std::result::Result<Service, Failure>>,
    events: Listed<Event>,
    /// The MetalLB resources served, `None` when the group is not (or cannot be) read.
    crds: Option<MetallbCrds>,
    /// Legacy AddressPools of MetalLB's namespace (empty when the CRD is not served).
    legacy_pools: Listed<AddressPool>,
}

/// The results as a snapshot: MetalLB lists from the namespace fallback where the
/// cluster-wide list was forbidden, the `why` service added when it is not a LoadBalancer,
/// and a note for every read that was degraded.
fn assemble(
    f: Fetched,
    metallb: &MetallbFlags,
    target: Option<&ServiceRef>,
    server: &str,
) -> Result<Loaded> {
    let mut notes = Vec::new();
    let controllers = match f.controllers {
        None => None,
        Some(Ok(found)) => Some(found),
        Some(Err(e)) => {
            // Only worth a word when the namespace is not given.
            if metallb.namespace.is_none() {
                notes.push(Reason::new(
                    Code::MetallbNotDetected,
                    format!(
                        "cannot look for MetalLB's controller ({}); assuming namespace {DEFAULT_NAMESPACE} (use --metallb-namespace)",
                        e.short()
                    ),
                ));
            }
            None
        }
    };
    let mut snapshot = Snapshot {
        pools: metallb_list(f.pools, "ipaddresspools", &mut notes, server)?,
        l2_advertisements: metallb_list(f.l2, "l2advertisements", &mut notes, server)?,
        bgp_advertisements: metallb_list(f.bgp, "bgpadvertisements", &mut notes, server)?,
        services: f.services.map_err(|e| e.into_error(server))?.into(),
        controllers,
        crds: f.crds,
        legacy_pools: f.legacy_pools.unwrap_or_else(|e| {
            notes.push(Reason::new(
                Code::LegacyPoolIgnored,
                format!(
                    "cannot list addresspools ({}): legacy AddressPools are not read",
                    e.short()
                ),
            ));
            Vec::new()
        }),
        ..Snapshot::default()
    };
    if let (Some(t), Some(found)) = (target, f.target) {
        match found {
            Ok(svc) => {
                let key = svc.metadata.key();
                if !snapshot.services.iter().any(|s| s.metadata.key() == key) {
                    snapshot.services.push(svc);
                }
            }
            Err(e) if e.status() == Some(404) => {
                return Err(Error::service_not_found(
                    &snapshot.services,
                    "LoadBalancer service",
                    &t.namespace,
                    &t.name,
                ));
            }
            Err(e) => return Err(e.into_error(server)),
        }
    }
    match f.namespaces {
        Ok(list) => {
            snapshot.namespaces = list;
            snapshot.namespaces_known = true;
        }
        Err(e) => notes.push(namespaces_unread(&e, &snapshot.pools)),
    }
    match f.events {
        Ok(list) => snapshot.events = list,
        Err(e) => notes.push(Reason::new(
            Code::EventsUnavailable,
            format!("cannot read the service's events: {}", e.short()),
        )),
    }
    // ConfigurationState exists from v0.15.3 on: its absence says nothing.
    snapshot.configuration_states = f.states.unwrap_or_default();
    Ok(Loaded { snapshot, notes })
}

/// Namespaces that could not be read, said once: why, and which pools' namespaceSelectors
/// that leaves open (the model then adds no warning of its own per pool).
fn namespaces_unread(failure: &Failure, pools: &[IpAddressPool]) -> Reason {
    let selecting: Vec<&str> = pools
        .iter()
        .filter(|p| {
            p.spec
                .service_allocation
                .as_ref()
                .is_some_and(|sa| !sa.namespace_selectors.is_empty())
        })
        .map(|p| p.metadata.name.as_str())
        .collect();
    let effect = match selecting.as_slice() {
        [] => "namespaceSelectors of pools cannot be evaluated".to_string(),
        names => format!(
            "the namespaceSelectors of pools {} cannot be evaluated; which namespaces they admit beyond those listed is unknown",
            names.join(", ")
        ),
    };
    Reason::new(
        Code::NamespacesUnknown,
        format!("cannot read namespaces ({}): {effect}", failure.short()),
    )
}

/// The cluster-wide list, or the namespace's with a note that strays elsewhere go
/// unnoticed.
fn metallb_list<T>(
    list: MetallbList<T>,
    resource: &str,
    notes: &mut Vec<Reason>,
    server: &str,
) -> Result<Vec<T>> {
    let listed = match list.in_namespace {
        Some((namespace, listed)) => {
            notes.push(Reason::new(
                Code::ClusterScopeForbidden,
                format!("cannot list {resource} in all namespaces; read only namespace {namespace}, so {resource} elsewhere go unnoticed"),
            ));
            listed
        }
        None => list.cluster_wide,
    };
    listed.map_err(|e| e.into_error(server))
}

/// Builds the client as kubectl would from the connection flags. Returns it with the
/// server's URL, for messages.
async fn connect(conn: &Connection) -> Result<(RenewingClient, String)> {
    let options = KubeConfigOptions {
        context: conn.context.clone(),
        cluster: conn.cluster.clone(),
        user: conn.user.clone(),
    };
    let mut config = match &conn.kubeconfig {
        Some(kubeconfig) => Config::from_custom_kubeconfig(kubeconfig.clone(), &options)
            .await
            .map_err(|e| Error::input("kubeconfig", chain(&e)))?,
        None => Config::incluster().map_err(|_| {
            Error::cluster(
                "no kubeconfig found (use --kubeconfig, set KUBECONFIG, or create ~/.kube/config) and not running inside a cluster",
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
    config.proxy_url = proxy_for(conn, &config.cluster_url);
    no_trust_store_without_tls(&mut config);
    // Busy servers are asked again by `Reader::call`, a bounded number of times.
    config.default_retry = false;
    config
        .headers
        .push((http::header::USER_AGENT, user_agent()));
    if let Some(timeout) = conn.request_timeout {
        config.connect_timeout = Some(timeout);
        config.read_timeout = Some(timeout);
    }
    let server = config
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_string();
    let plugin = credential_plugin(conn);
    let client =
        RenewingClient::new(config).map_err(|e| client_error(e, &server, plugin.as_deref()))?;
    Ok((client, server))
}

/// A server reached over plain HTTP (`kubectl proxy`), through no HTTPS proxy, is spoken to
/// without TLS: it is given an empty trust store. Otherwise the client loads the system's
/// (hundreds of certificates, a few milliseconds before the first request) whenever the
/// kubeconfig names no certificate authority, to use it nowhere.
fn no_trust_store_without_tls(config: &mut Config) {
    let plain = config.cluster_url.scheme_str() == Some("http");
    let tls_proxy = config
        .proxy_url
        .as_ref()
        .is_some_and(|proxy| proxy.scheme_str() == Some("https"));
    if plain && !tls_proxy && config.root_cert.is_none() {
        config.root_cert = Some(Vec::new());
    }
}

/// How many times a busy server is asked again, and for how long at most.
const RETRIES: u32 = 3;
const RETRY_BUDGET: Duration = Duration::from_secs(10);

/// 429 Too Many Requests, 503 Service Unavailable, 504 Gateway Timeout: worth asking again.
fn is_busy(code: u16) -> bool {
    matches!(code, 429 | 503 | 504)
}

/// The wait the server asks for, else 0.5 s doubling with each attempt; never over 5 s.
fn retry_wait(status: &kube::core::Status, attempt: u32) -> Duration {
    let asked = status
        .details
        .as_ref()
        .map(|d| d.retry_after_seconds)
        .filter(|&s| s > 0)
        .map(|s| Duration::from_secs(u64::from(s)));
    let backoff = Duration::from_millis(500 << attempt.saturating_sub(1).min(4));
    asked.unwrap_or(backoff).min(Duration::from_secs(5))
}

/// A request sent again: `http::Request` is not `Clone`.
fn copy_request(request: &http::Request<Vec<u8>>) -> http::Request<Vec<u8>> {
    let mut copy = http::Request::new(request.body().clone());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.headers_mut() = request.headers().clone();
    *copy.version_mut() = request.version();
    copy
}

/// A name as one segment of a request path, whatever it holds: names are checked before
/// they get here (`crate::names`), and a path is never built from unescaped text anyway.
fn segment(name: &str) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    /// Everything but letters, digits, `-`, `_` and `~`; `.` too, so that no segment is `..`.
    const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'~');
    utf8_percent_encode(name, SEGMENT).to_string()
}

/// Who is reading, for the API server's audit log: `kubectl-metalpool/0.2.0 (linux/amd64)`.
fn user_agent() -> http::HeaderValue {
    let text = format!(
        "kubectl-metalpool/{} ({}/{})",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    http::HeaderValue::from_str(&text)
        .unwrap_or(http::HeaderValue::from_static("kubectl-metalpool"))
}

/// The API calls, within `--request-timeout` for the whole read.
struct Reader {
    client: RenewingClient,
    /// `--request-timeout` as a deadline for the whole read, with the duration it came from.
    deadline: Option<(tokio::time::Instant, Duration)>,
    progress: Progress,
    /// The kubeconfig user's credential plugin, named when it fails.
    plugin: Option<String>,
    /// Bodies already read, emptied, for the next answers to be read into: a page of
    /// services is megabytes, and a new buffer for each page costs its page faults again,
    /// and copies as it grows. Freed with the reader, before the model is built.
    spare_bodies: SpareBodies,
}

/// At most [`SPARE_BODIES`] emptied buffers, the largest kept.
#[derive(Default)]
struct SpareBodies(std::sync::Mutex<Vec<Vec<u8>>>);

/// Two: one page is read while the next arrives.
const SPARE_BODIES: usize = 2;

impl SpareBodies {
    /// The buffers kept (a panic elsewhere while they were locked leaves them usable).
    fn kept(&self) -> std::sync::MutexGuard<'_, Vec<Vec<u8>>> {
        crate::memo::lock(&self.0)
    }

    /// The largest spare buffer, or a new one.
    fn take(&self) -> Vec<u8> {
        let mut spare = self.kept();
        let largest = (0..spare.len()).max_by_key(|&i| spare[i].capacity());
        largest.map_or_else(Vec::new, |i| spare.swap_remove(i))
    }

    /// Keeps `body` for a later answer, unless larger ones are kept already.
    fn give_back(&self, mut body: Vec<u8>) {
        body.clear();
        let mut spare = self.kept();
        if spare.len() < SPARE_BODIES {
            spare.push(body);
        } else if let Some(smallest) = spare.iter_mut().min_by_key(|b| b.capacity())
            && smallest.capacity() < body.capacity()
        {
            *smallest = body;
        }
    }
}

fn deadline(limit: Option<Duration>) -> Option<(tokio::time::Instant, Duration)> {
    limit.map(|limit| (tokio::time::Instant::now() + limit, limit))
}

/// The `exec.command` of the kubeconfig user in use.
fn credential_plugin(conn: &Connection) -> Option<String> {
    kubeconfig::credential_plugin(conn.kubeconfig.as_ref()?, &entries(conn))
}

/// The proxy to the server, as kubectl picks it: the kubeconfig cluster's `proxy-url`, else
/// `HTTPS_PROXY` (an `https` server) or `HTTP_PROXY` (an `http` one) — `ALL_PROXY` for
/// either — unless `NO_PROXY` covers the server.
fn proxy_for(conn: &Connection, server: &http::Uri) -> Option<http::Uri> {
    let configured = conn
        .kubeconfig
        .as_ref()
        .and_then(|k| kubeconfig::proxy_url(k, &entries(conn)))
        .and_then(|url| url.parse().ok());
    configured.or_else(|| {
        let intercept =
            hyper_util::client::proxy::matcher::Matcher::from_env().intercept(server)?;
        Some(intercept.uri().clone())
    })
}

fn entries(conn: &Connection) -> kubeconfig::Names<'_> {
    kubeconfig::Names {
        context: conn.context.as_deref(),
        cluster: conn.cluster.as_deref(),
        user: conn.user.as_deref(),
    }
}

fn page_size(resource: &str) -> u32 {
    if resource == "services" {
        SERVICES_PAGE_SIZE
    } else {
        PAGE_SIZE
    }
}

/// A body, whole, in one buffer (`bytes`, empty) grown to what the server announced: no
/// second copy.
async fn read_body(mut body: kube::client::Body, mut bytes: Vec<u8>) -> kube::Result<Vec<u8>> {
    use http_body_util::BodyExt;
    let announced = http_body::Body::size_hint(&body).lower();
    bytes.reserve(usize::try_from(announced).unwrap_or(0));
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}

/// The error an answer of status `code` and body `body` is: the `Status` it holds, or one
/// made of its text when it is not one (a proxy's page), as kube makes them.
fn api_error(code: http::StatusCode, body: &[u8]) -> kube::Error {
    let status = serde_json::from_slice::<kube::core::Status>(body).unwrap_or_else(|_| {
        let text = String::from_utf8_lossy(body);
        kube::core::Status::failure(text.trim(), "Failed to parse error data")
            .with_code(code.as_u16())
    });
    kube::Error::Api(status.boxed())
}

/// Reads one page of a list (`{"metadata": {"continue": …}, "items": […]}`), appending its
/// items to `items`; returns its `continue` token.
fn read_page<T: DeserializeOwned>(
    body: &[u8],
    items: &mut Vec<T>,
) -> serde_json::Result<Option<String>> {
    // Checked as UTF-8 once, whole (fast on ASCII), the page is read as text: serde_json
    // then checks no string again. A page that is not UTF-8 is read as bytes, for the
    // error's place.
    fn read<'de, R: serde_json::de::Read<'de>, T: Deserialize<'de>>(
        mut reader: serde_json::Deserializer<R>,
        items: &mut Vec<T>,
    ) -> serde_json::Result<Option<String>> {
        let token = PageSeed(items).deserialize(&mut reader)?;
        reader.end()?;
        Ok(token)
    }
    match std::str::from_utf8(body) {
        Ok(text) => read(serde_json::Deserializer::from_str(text), items),
        Err(_) => read(serde_json::Deserializer::from_slice(body), items),
    }
}

/// A list handed back by the thread that read a page onto it, with the page's body (to be
/// read into again) and how that went.
type PageRead<T> = (Vec<T>, Vec<u8>, serde_json::Result<Option<String>>);

/// Reads `body` onto the end of `items` on a blocking thread, to hand all back.
fn read_in_background<T: DeserializeOwned + Send + 'static>(
    body: Vec<u8>,
    mut items: Vec<T>,
) -> tokio::task::JoinHandle<PageRead<T>> {
    tokio::task::spawn_blocking(move || {
        let outcome = read_page(&body, &mut items);
        (items, body, outcome)
    })
}

/// The list being read, for requests and what their failures say.
struct Listing<'a> {
    path: &'a str,
    /// `services`, `ipaddresspools.metallb.io`…
    resource: &'a str,
    namespace: Option<&'a str>,
}

impl Listing<'_> {
    fn unreadable(&self, reader: &Reader, error: serde_json::Error) -> Failure {
        reader.unreadable("list", self.resource, self.namespace, error)
    }
}

/// A page's `continue` token, from its head alone: kube-apiserver writes a list's
/// `metadata` before its `items`. `None` when the page has none, or when it is not at
/// the head (then the page is read whole first).
fn continue_of(body: &[u8]) -> Option<String> {
    let mut token = None;
    let mut reader = serde_json::Deserializer::from_slice(body);
    // Stops at `items` with an error: what the head held is already in `token`.
    let _ = PageHead(&mut token).deserialize(&mut reader);
    token.filter(|t| !t.is_empty())
}

/// The head of a page, up to its `items`.
struct PageHead<'a>(&'a mut Option<String>);

impl<'de> DeserializeSeed<'de> for PageHead<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PageHead<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        while let Some(field) = map.next_key::<PageField>()? {
            match field {
                PageField::Metadata => {
                    let meta: Option<PageMeta> = map.next_value()?;
                    *self.0 = meta.and_then(|m| m.continue_token);
                }
                PageField::Items => return Err(serde::de::Error::custom("items")),
                PageField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A page read onto the end of a list.
struct PageSeed<'a, T>(&'a mut Vec<T>);

/// A page's `items`, read onto the end of a list (`null` is no items).
struct ItemsSeed<'a, T>(&'a mut Vec<T>);

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageMeta {
    #[serde(default, rename = "continue")]
    continue_token: Option<String>,
    /// How many items the pages still to come hold (the API server's estimate).
    #[serde(default)]
    remaining_item_count: Option<u64>,
}

/// The most items a list makes room for ahead of reading them: a server's
/// `remainingItemCount` is trusted up to this many (room reserved but not filled costs
/// address space, not memory), beyond it the list grows as it is read.
const MOST_ITEMS_RESERVED: u64 = 1 << 20;

/// How many pages of room a list makes at once when more pages follow and the server does
/// not say how many items they hold (it gives no `remainingItemCount` for a list with a
/// field selector, as the services list has): growing by doubling instead copied the list
/// read so far at each step, a tenth of a page reader's time at 50,000 services.
const PAGES_OF_ROOM: usize = 16;

/// Makes room for the next `PAGES_OF_ROOM` pages of `page` items when less than a page
/// is left: room reserved but not filled costs address space, not memory, and the list
/// gives back what it did not fill once read ([`Vec::shrink_to_fit`] in place).
fn make_room_ahead<T>(items: &mut Vec<T>, page: u32) {
    let page = usize::try_from(page).unwrap_or(usize::MAX);
    if items.capacity() - items.len() < page {
        items.reserve(page.saturating_mul(PAGES_OF_ROOM));
    }
}

/// Makes room, once, for the items still to come, so that a list read page by page
/// neither grows by doubling (copies, and up to twice the room it needs at the end) nor
/// keeps spare room: at 50,000 services that spare room was a tenth of the plugin's peak.
fn reserve_remaining<T>(items: &mut Vec<T>, remaining: Option<u64>) {
    if let Some(remaining) = remaining {
        let remaining = remaining.min(MOST_ITEMS_RESERVED);
        items.reserve_exact(usize::try_from(remaining).unwrap_or(0));
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum PageField {
    Metadata,
    Items,
    #[serde(other)]
    Other,
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for PageSeed<'_, T> {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for PageSeed<'_, T> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list")
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let (mut token, mut remaining) = (None, None);
        while let Some(field) = map.next_key::<PageField>()? {
            match field {
                PageField::Metadata => {
                    let meta: PageMeta = map.next_value::<Option<PageMeta>>()?.unwrap_or_default();
                    (token, remaining) = (meta.continue_token, meta.remaining_item_count);
                }
                PageField::Items => map.next_value_seed(ItemsSeed(&mut *self.0))?,
                PageField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        reserve_remaining(self.0, remaining);
        Ok(token)
    }
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for ItemsSeed<'_, T> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for ItemsSeed<'_, T> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of items")
    }

    fn visit_none<E: serde::de::Error>(self) -> std::result::Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: serde::de::Error>(self) -> std::result::Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_seq(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        while let Some(item) = seq.next_element()? {
            self.0.push(item);
        }
        Ok(())
    }
}

impl Reader {
    /// Every request the answer needs, at once; then, only where a cluster-wide MetalLB
    /// list was forbidden, that list again in MetalLB's namespace.
    async fn fetch(&self, metallb: &MetallbFlags, target: Option<&ServiceRef>) -> Fetched {
        let all = ListParams::default;
        let (
            controllers,
            pools,
            l2,
            bgp,
            services,
            namespaces,
            states,
            target_service,
            events,
            crds,
        ) = tokio::join!(
            self.controllers(metallb),
            self.list::<IpAddressPool>(METALLB_API, "ipaddresspools", None, all()),
            self.list::<Advertisement>(METALLB_API, "l2advertisements", None, all()),
            self.list::<Advertisement>(METALLB_API, "bgpadvertisements", None, all()),
            self.services(),
            self.list::<Namespace>("/api/v1", "namespaces", None, all()),
            self.list::<ConfigurationState>(METALLB_API, "configurationstates", None, all()),
            self.target_service(target),
            self.events(target),
            self.metallb_crds(),
        );
        // The namespace to fall back to: the flag, else the controller's, else the default.
        let namespace = metallb
            .namespace
            .clone()
            .or_else(|| {
                let found = controllers.as_ref()?.as_ref().ok()?;
                found.first().map(|d| detect(d).namespace)
            })
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string());
        // The L2Advertisement schema only where nothing else gives the exact release and the
        // CRDs served leave v0.15.3 and v0.16 open: then beside the requests below.
        let schema_wanted = metallb.version.is_none()
            && !controller_names_release(controllers.as_ref())
            && crds
                .as_ref()
                .is_some_and(|c| l2_schema_would_settle(&c.facts()));
        let (pools, l2, bgp, legacy_pools, l2_crd) = tokio::join!(
            self.or_in_namespace(pools, "ipaddresspools", &namespace),
            self.or_in_namespace(l2, "l2advertisements", &namespace),
            self.or_in_namespace(bgp, "bgpadvertisements", &namespace),
            self.legacy_pools(crds.as_ref(), &namespace),
            self.l2_crd(schema_wanted),
        );
        let mut crds = crds;
        if let (Some(crds), Some(crd)) = (crds.as_mut(), l2_crd) {
            crds.add(&crd);
        }
        Fetched {
            controllers,
            pools,
            l2,
            bgp,
            services,
            namespaces,
            states,
            target: target_service,
            events,
            crds,
            legacy_pools,
        }
    }

    /// Legacy AddressPools, from MetalLB's namespace (the only one v0.13.x reads them from),
    /// asked for only when the CRDs serve them.
    async fn legacy_pools(
        &self,
        crds: Option<&MetallbCrds>,
        namespace: &str,
    ) -> Listed<AddressPool> {
        if !crds.is_some_and(|c| c.resources.contains(LEGACY_POOLS)) {
            return Ok(Vec::new());
        }
        self.list(
            METALLB_API,
            LEGACY_POOLS,
            Some(namespace),
            ListParams::default(),
        )
        .await
    }

    /// One request, asked again when the server says it is busy (429, 503, 504): a few
    /// times, after the wait it asks for (`retryAfterSeconds`) or a short backoff, within
    /// [`RETRY_BUDGET`] — not kube's default of fifteen tries over minutes. The whole read
    /// ends at the `--request-timeout` deadline.
    async fn call<T: DeserializeOwned>(
        &self,
        request: http::Request<Vec<u8>>,
        verb: &'static str,
        resource: &str,
        namespace: Option<&str>,
    ) -> std::result::Result<T, Failure> {
        let body = self
            .call_for_body(request, verb, resource, namespace)
            .await?;
        let read = serde_json::from_slice(&body);
        self.spare_bodies.give_back(body);
        read.map_err(|e| self.unreadable(verb, resource, namespace, e))
    }

    /// [`call`](Reader::call), up to the body of the answer as it came: the pages of a
    /// list are read from it straight into the list.
    async fn call_for_body(
        &self,
        request: http::Request<Vec<u8>>,
        verb: &'static str,
        resource: &str,
        namespace: Option<&str>,
    ) -> std::result::Result<Vec<u8>, Failure> {
        let started = tokio::time::Instant::now();
        let mut attempts = 1;
        loop {
            let call = self.exchange(&request);
            let result = match self.deadline {
                Some((deadline, limit)) => match tokio::time::timeout_at(deadline, call).await {
                    Ok(r) => r,
                    Err(_) => return Err(Failure::timed_out(verb, resource, namespace, limit)),
                },
                None => call.await,
            };
            let wait = match &result {
                Err(kube::Error::Api(status)) if is_busy(status.code) && attempts <= RETRIES => {
                    Some(retry_wait(status, attempts))
                }
                _ => None,
            };
            let within_budget = wait.is_some_and(|w| {
                let resume = tokio::time::Instant::now() + w;
                resume - started <= RETRY_BUDGET
                    && self.deadline.is_none_or(|(deadline, _)| resume < deadline)
            });
            match (result, wait) {
                (Err(e), Some(wait)) if within_budget => {
                    if let kube::Error::Api(status) = &e {
                        self.progress.say(&format!(
                            "The API server is busy ({}); asking again in {}…",
                            status.code,
                            humanize(wait)
                        ));
                    }
                    tokio::time::sleep(wait).await;
                    attempts += 1;
                }
                (result, _) => {
                    return result.map_err(|e| {
                        Failure::from_kube(verb, resource, namespace, e, self.plugin.as_deref())
                            .after(attempts)
                    });
                }
            }
        }
    }

    /// Every item of a list, page by page (`limit` + `continue`).
    async fn list<T: DeserializeOwned + Send + 'static>(
        &self,
        api: &str,
        resource: &str,
        namespace: Option<&str>,
        params: ListParams,
    ) -> std::result::Result<Vec<T>, Failure> {
        let path = match namespace {
            Some(ns) => format!("{api}/namespaces/{}/{resource}", segment(ns)),
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
        let limit = page_size(resource);
        let mut params = params.limit(limit);
        let at = Listing {
            path: &path,
            resource: &qualified,
            namespace,
        };
        // Each page is read from its bytes straight onto the end of one list: no page is
        // kept once read, and no list of pages is joined at the end. While a page is read
        // (on a blocking thread), the next is already asked for: its token is at the head.
        let mut items = Vec::new();
        let mut reading = None;
        loop {
            let body = self.page(&at, &params).await;
            if let Some(read) = reading.take() {
                items = self.finish_reading(&at, read).await?;
                self.progress_of(resource, items.len());
            }
            let body = body?;
            let token = match continue_of(&body) {
                Some(token) => {
                    make_room_ahead(&mut items, limit);
                    reading = Some(read_in_background(body, std::mem::take(&mut items)));
                    Some(token)
                }
                None => {
                    let read = read_page(&body, &mut items);
                    self.spare_bodies.give_back(body);
                    let token = read.map_err(|e| at.unreadable(self, e))?;
                    self.progress_of(resource, items.len());
                    token
                }
            };
            match token.filter(|t| !t.is_empty()) {
                Some(token) => params = params.continue_token(&token),
                None => break,
            }
        }
        items.shrink_to_fit();
        Ok(items)
    }

    /// One page of a list, as it came.
    async fn page(
        &self,
        at: &Listing<'_>,
        params: &ListParams,
    ) -> std::result::Result<Vec<u8>, Failure> {
        let request = Request::new(at.path).list(params).map_err(|e| {
            Failure::new(
                "list",
                at.resource,
                at.namespace,
                Cause::Request(e.to_string()),
            )
        })?;
        self.call_for_body(request, "list", at.resource, at.namespace)
            .await
    }

    /// The list a background read handed back, once that page is read onto it.
    async fn finish_reading<T>(
        &self,
        at: &Listing<'_>,
        read: tokio::task::JoinHandle<PageRead<T>>,
    ) -> std::result::Result<Vec<T>, Failure> {
        let (items, body, outcome) = read.await.map_err(|e| {
            Failure::new(
                "list",
                at.resource,
                at.namespace,
                Cause::Unreadable(e.to_string()),
            )
        })?;
        self.spare_bodies.give_back(body);
        outcome.map_err(|e| at.unreadable(self, e))?;
        Ok(items)
    }

    fn progress_of(&self, resource: &str, listed: usize) {
        if resource == "services" {
            self.progress.add(listed);
        }
    }

    /// One request and its answer's body, whole. An answer that is an error (4xx, 5xx) is
    /// the [`kube::Error::Api`] it holds, as kube's own `request` makes it.
    async fn exchange(&self, request: &http::Request<Vec<u8>>) -> kube::Result<Vec<u8>> {
        self.client
            .with_renewal(|client| {
                let request = copy_request(request);
                async move {
                    let response = client.send(request.map(kube::client::Body::from)).await?;
                    let status = response.status();
                    let body = read_body(response.into_body(), self.spare_bodies.take()).await?;
                    if status.is_client_error() || status.is_server_error() {
                        return Err(api_error(status, &body));
                    }
                    Ok(body)
                }
            })
            .await
    }

    /// An answer that is not the JSON asked for.
    fn unreadable(
        &self,
        verb: &'static str,
        resource: &str,
        namespace: Option<&str>,
        error: serde_json::Error,
    ) -> Failure {
        let error = kube::Error::SerdeError(error);
        Failure::from_kube(verb, resource, namespace, error, self.plugin.as_deref())
    }

    /// A cluster-wide MetalLB list as it is, or — when it was forbidden — the list of
    /// MetalLB's namespace beside it.
    async fn or_in_namespace<T: DeserializeOwned + Send + 'static>(
        &self,
        cluster_wide: Listed<T>,
        resource: &str,
        namespace: &str,
    ) -> MetallbList<T> {
        let in_namespace = match &cluster_wide {
            Err(e) if e.status() == Some(403) && !e.is_impersonation() => Some((
                namespace.to_string(),
                self.list(
                    METALLB_API,
                    resource,
                    Some(namespace),
                    ListParams::default(),
                )
                .await,
            )),
            _ => None,
        };
        MetallbList {
            cluster_wide,
            in_namespace,
        }
    }

    /// LoadBalancer services only, when the server can filter them (older servers answer the
    /// field selector with 400: then all services).
    async fn services(&self) -> std::result::Result<Vec<Service>, Failure> {
        let filtered = ListParams::default().fields("spec.type=LoadBalancer");
        match self.list("/api/v1", "services", None, filtered).await {
            Err(e) if e.status() == Some(400) => {
                self.list("/api/v1", "services", None, ListParams::default())
                    .await
            }
            other => other,
        }
    }

    /// The service `why` names, whatever its type (the LoadBalancer list may not hold it).
    async fn target_service(
        &self,
        target: Option<&ServiceRef>,
    ) -> Option<std::result::Result<Service, Failure>> {
        let t = target?;
        let ns = t.namespace.as_str();
        let path = format!("/api/v1/namespaces/{}/services", segment(ns));
        let request = match Request::new(&path).get(&segment(&t.name), &Default::default()) {
            Ok(request) => request,
            Err(e) => {
                return Some(Err(Failure::new(
                    "get",
                    "services",
                    Some(ns),
                    Cause::Request(e.to_string()),
                )));
            }
        };
        Some(self.call(request, "get", "services", Some(ns)).await)
    }

    async fn events(&self, target: Option<&ServiceRef>) -> Listed<Event> {
        let Some(t) = target else {
            return Ok(Vec::new());
        };
        let params = ListParams::default().fields(&format!(
            "involvedObject.kind=Service,involvedObject.name={}",
            t.name
        ));
        self.list("/api/v1", "events", Some(&t.namespace), params)
            .await
    }

    /// Which MetalLB resources the API serves, from its discovery document: what the CRDs say
    /// of the release (Appendix C) without the permission to read the CRDs themselves, which
    /// the schema fingerprints would need. Any failure leaves the question open: the lists
    /// of MetalLB's objects report what is wrong.
    async fn metallb_crds(&self) -> Option<MetallbCrds> {
        let request = http::Request::get(METALLB_API).body(Vec::new()).ok()?;
        let list: ApiResourceList = self
            .call(request, "get", "metallb.io/v1beta1", None)
            .await
            .ok()?;
        Some(MetallbCrds::from_discovery(&list))
    }

    /// The L2Advertisement CRD, when `wanted`, read slimly (its names and field names).
    /// Reading CRDs is a permission many users lack (`get customresourcedefinitions`): a
    /// refusal, or any failure, leaves the schema unread and the answer as discovery gives it.
    async fn l2_crd(&self, wanted: bool) -> Option<CustomResourceDefinition> {
        if !wanted {
            return None;
        }
        let request = http::Request::get(L2_CRD_PATH).body(Vec::new()).ok()?;
        self.call(request, "get", "customresourcedefinitions", None)
            .await
            .ok()
    }

    /// MetalLB's controller Deployments (§1.1), by the labels of the upstream manifests,
    /// then of the Helm chart; not looked for when the flags already say everything.
    async fn controllers(&self, metallb: &MetallbFlags) -> Option<Listed<Deployment>> {
        if metallb.namespace.is_some() && metallb.lb_class.is_some() {
            return None;
        }
        let mut last = None;
        for selector in CONTROLLER_SELECTORS {
            let params = ListParams::default().labels(selector);
            match self
                .list::<Deployment>("/apis/apps/v1", "deployments", None, params)
                .await
            {
                // A failure says more than an empty list: it is what is reported.
                Ok(found) if found.is_empty() => {
                    last.get_or_insert(Ok(found));
                }
                Err(e) => last = Some(Err(e)),
                found => return Some(found),
            }
        }
        last
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

    /// A note while waiting, on a terminal only; the next progress line or `finish` clears it.
    fn say(&self, text: &str) {
        if self.task.is_some() {
            self.shown.store(true, Ordering::Relaxed);
            eprint!("\r\x1b[2K{text}");
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
    /// Services of a namespace.
    Services(String),
    /// IPAddressPools of every namespace.
    Pools,
    Namespaces,
}

/// Names for shell completion: one request at most, bounded by `--request-timeout` (or 5s).
pub fn names(conn: &Connection, what: &Names) -> Result<Vec<String>> {
    runtime()?.block_on(async {
        let (client, server) = connect(conn).await?;
        let reader = Reader {
            client,
            deadline: deadline(Some(conn.request_timeout.unwrap_or(Duration::from_secs(5)))),
            progress: Progress::silent(),
            plugin: credential_plugin(conn),
            spare_bodies: SpareBodies::default(),
        };
        let all = ListParams::default;
        let listed = match what {
            Names::Services(ns) => {
                reader
                    .list::<Named>("/api/v1", "services", Some(ns), all())
                    .await
            }
            Names::Pools => {
                reader
                    .list::<Named>(METALLB_API, "ipaddresspools", None, all())
                    .await
            }
            Names::Namespaces => {
                reader
                    .list::<Named>("/api/v1", "namespaces", None, all())
                    .await
            }
        };
        let mut names: Vec<String> = listed
            .map_err(|e| e.into_error(&server))?
            .into_iter()
            .map(|i| i.metadata.name.into())
            .collect();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    const SERVER: &str = "https://k";

    fn pool(name: &str, namespace: &str) -> IpAddressPool {
        IpAddressPool {
            metadata: fixtures::meta(namespace, name),
            ..fixtures::pool(name, &[])
        }
    }

    fn service(name: &str, namespace: &str) -> Service {
        fixtures::service(namespace, name)
    }

    fn forbidden(resource: &str) -> Failure {
        Failure::new(
            "list",
            resource,
            None,
            Cause::Status {
                code: 403,
                message: "forbidden".into(),
            },
        )
    }

    fn listed<T>(items: Vec<T>) -> MetallbList<T> {
        MetallbList {
            cluster_wide: Ok(items),
            in_namespace: None,
        }
    }

    /// Everything read, nothing wrong.
    fn fetched() -> Fetched {
        Fetched {
            controllers: Some(Ok(Vec::new())),
            pools: listed(vec![pool("public", "metallb-system")]),
            l2: listed(Vec::new()),
            bgp: listed(Vec::new()),
            services: Ok(vec![service("web", "shop")]),
            namespaces: Ok(Vec::new()),
            states: Ok(Vec::new()),
            target: None,
            events: Ok(Vec::new()),
            crds: None,
            legacy_pools: Ok(Vec::new()),
        }
    }

    #[test]
    fn legacy_pools_are_kept_and_a_refused_list_is_a_note_not_a_failure() {
        let mut f = fetched();
        let mut old = AddressPool::default();
        old.metadata.name = "old".into();
        f.legacy_pools = Ok(vec![old]);
        let loaded = assembled(f, None).unwrap();
        assert_eq!(loaded.snapshot.legacy_pools.len(), 1);
        let mut f = fetched();
        f.legacy_pools = Err(forbidden("addresspools.metallb.io"));
        let loaded = assembled(f, None).unwrap();
        assert!(loaded.snapshot.legacy_pools.is_empty());
        assert_eq!(
            loaded.notes.iter().map(|n| n.code).collect::<Vec<_>>(),
            [Code::LegacyPoolIgnored]
        );
    }

    fn assembled(f: Fetched, target: Option<&ServiceRef>) -> Result<Loaded> {
        assemble(f, &MetallbFlags::default(), target, SERVER)
    }

    #[test]
    fn a_clean_read_has_no_notes() {
        let loaded = assembled(fetched(), None).unwrap();
        assert!(loaded.notes.is_empty(), "{:?}", loaded.notes);
        assert_eq!(loaded.snapshot.pools.len(), 1);
        assert!(loaded.snapshot.namespaces_known);
        assert!(loaded.snapshot.controllers.is_some_and(|c| c.is_empty()));
    }

    #[test]
    fn a_forbidden_cluster_wide_list_falls_back_to_the_namespace_with_a_note() {
        let mut f = fetched();
        f.pools = MetallbList {
            cluster_wide: Err(forbidden("ipaddresspools.metallb.io")),
            in_namespace: Some((
                "metallb-system".into(),
                Ok(vec![pool("own", "metallb-system")]),
            )),
        };
        let loaded = assembled(f, None).unwrap();
        assert_eq!(loaded.snapshot.pools[0].metadata.name, "own");
        assert_eq!(loaded.notes[0].code, Code::ClusterScopeForbidden);
    }

    #[test]
    fn unreadable_namespaces_and_events_are_notes_not_errors() {
        let mut f = fetched();
        f.namespaces = Err(forbidden("namespaces"));
        f.events = Err(forbidden("events"));
        let loaded = assembled(f, None).unwrap();
        let codes: Vec<Code> = loaded.notes.iter().map(|n| n.code).collect();
        assert_eq!(codes, [Code::NamespacesUnknown, Code::EventsUnavailable]);
        assert!(!loaded.snapshot.namespaces_known);
    }

    #[test]
    fn unreadable_namespaces_name_the_pools_whose_selectors_they_leave_open() {
        use crate::snapshot::ServiceAllocation;
        let mut f = fetched();
        f.namespaces = Err(forbidden("namespaces"));
        f.pools = listed(vec![
            pool("plain", "metallb-system"),
            fixtures::allocating(
                pool("prod", "metallb-system"),
                ServiceAllocation {
                    namespace_selectors: vec![fixtures::match_labels(&[("env", "prod")])],
                    ..ServiceAllocation::default()
                },
            ),
        ]);
        let loaded = assembled(f, None).unwrap();
        assert_eq!(
            loaded.notes[0].message,
            "cannot read namespaces (403: forbidden): the namespaceSelectors of pools prod cannot be evaluated; which namespaces they admit beyond those listed is unknown"
        );
    }

    #[test]
    fn a_controller_search_that_failed_is_said_unless_the_namespace_is_given() {
        let mut f = fetched();
        f.controllers = Some(Err(forbidden("deployments.apps")));
        let loaded = assembled(f, None).unwrap();
        assert_eq!(loaded.notes[0].code, Code::MetallbNotDetected);
        assert!(
            loaded.snapshot.controllers.is_none(),
            "not looked for successfully"
        );
        let mut f = fetched();
        f.controllers = Some(Err(forbidden("deployments.apps")));
        let given = MetallbFlags {
            namespace: Some("mlb".into()),
            ..MetallbFlags::default()
        };
        assert!(assemble(f, &given, None, SERVER).unwrap().notes.is_empty());
    }

    #[test]
    fn the_why_service_is_added_once_and_a_missing_one_is_named() {
        let target = ServiceRef {
            namespace: "shop".into(),
            name: "db".into(),
        };
        let mut f = fetched();
        f.target = Some(Ok(service("db", "shop")));
        let loaded = assembled(f, Some(&target)).unwrap();
        assert_eq!(
            loaded.snapshot.services.len(),
            2,
            "not a LoadBalancer: added"
        );
        let mut f = fetched();
        f.target = Some(Ok(service("web", "shop")));
        let web = ServiceRef {
            namespace: "shop".into(),
            name: "web".into(),
        };
        assert_eq!(assembled(f, Some(&web)).unwrap().snapshot.services.len(), 1);
        let mut f = fetched();
        f.target = Some(Err(Failure::new(
            "get",
            "services",
            Some("shop"),
            Cause::Status {
                code: 404,
                message: "not found".into(),
            },
        )));
        let e = assembled(f, Some(&target)).unwrap_err();
        assert_eq!(e.to_string(), "service shop/db not found");
    }

    #[test]
    fn pages_are_read_onto_the_end_of_one_list() {
        let mut items: Vec<u32> = vec![1];
        let first =
            br#"{"kind":"List","metadata":{"continue":"abc","resourceVersion":"9"},"items":[2,3]}"#;
        assert_eq!(
            read_page(first, &mut items).unwrap().as_deref(),
            Some("abc")
        );
        let last = br#"{"items":[4],"metadata":{}}"#;
        assert_eq!(read_page(last, &mut items).unwrap(), None);
        assert_eq!(items, [1, 2, 3, 4]);
        let empty = br#"{"metadata":null,"items":null}"#;
        assert_eq!(read_page(empty, &mut items).unwrap(), None);
        assert_eq!(items.len(), 4, "null items are no items");
    }

    #[test]
    fn spare_bodies_are_the_largest_two_emptied() {
        let spare = SpareBodies::default();
        assert_eq!(spare.take().capacity(), 0, "none yet: a new one");
        for size in [10, 30, 20, 5] {
            spare.give_back(vec![1; size]);
        }
        let first = spare.take();
        assert!(first.is_empty());
        assert_eq!(first.capacity(), 30);
        assert_eq!(spare.take().capacity(), 20);
        assert_eq!(spare.take().capacity(), 0, "10 and 5 were not kept");
    }

    #[test]
    fn a_page_makes_room_for_the_items_still_to_come_and_no_more() {
        let mut items: Vec<u32> = Vec::new();
        let first = br#"{"metadata":{"continue":"t","remainingItemCount":5},"items":[1,2,3]}"#;
        read_page(first, &mut items).unwrap();
        assert_eq!(items.capacity(), 8, "3 read, 5 to come");
        let last = br#"{"metadata":{},"items":[4,5,6,7,8]}"#;
        read_page(last, &mut items).unwrap();
        assert_eq!((items.len(), items.capacity()), (8, 8));
        // A count no server could serve is not believed past a bound.
        let mut items: Vec<u32> = Vec::new();
        let hostile = br#"{"metadata":{"remainingItemCount":18446744073709551615},"items":[1]}"#;
        read_page(hostile, &mut items).unwrap();
        assert_eq!(items.capacity(), 1 + (1 << 20));
    }

    #[test]
    fn a_list_with_pages_to_come_makes_room_for_many_at_once() {
        let mut items: Vec<u32> = Vec::new();
        make_room_ahead(&mut items, 5);
        let room = items.capacity();
        assert!(room >= 5 * PAGES_OF_ROOM, "{room}");
        items.extend(0..u32::try_from(room - 5).unwrap());
        make_room_ahead(&mut items, 5);
        assert_eq!(items.capacity(), room, "a page still fits: no copy");
        items.push(0);
        make_room_ahead(&mut items, 5);
        assert!(items.capacity() >= room - 4 + 5 * PAGES_OF_ROOM);
    }

    #[test]
    fn a_plain_http_server_gets_an_empty_trust_store_and_tls_keeps_the_systems() {
        let config = |server: &str, proxy: Option<&str>| {
            let mut config = Config::new(server.parse().unwrap());
            config.proxy_url = proxy.map(|p| p.parse().unwrap());
            no_trust_store_without_tls(&mut config);
            config.root_cert
        };
        assert_eq!(config("http://127.0.0.1:8001", None), Some(Vec::new()));
        assert_eq!(
            config("http://127.0.0.1:8001", Some("http://proxy:3128")),
            Some(Vec::new())
        );
        assert_eq!(config("https://k:6443", None), None);
        assert_eq!(
            config("http://127.0.0.1:8001", Some("https://proxy:3128")),
            None,
            "the proxy speaks TLS"
        );
        let mut named = Config::new("http://k".parse().unwrap());
        named.root_cert = Some(vec![vec![1]]);
        no_trust_store_without_tls(&mut named);
        assert_eq!(named.root_cert, Some(vec![vec![1]]), "a named CA is kept");
    }

    #[test]
    fn a_page_that_is_not_utf8_is_an_error_with_its_place() {
        let mut items: Vec<String> = Vec::new();
        let error = read_page(b"{\"items\":[\"a\",\"\xff\"]}", &mut items).unwrap_err();
        assert_eq!((error.line(), error.column()), (1, 16), "{error}");
        let mut items: Vec<String> = Vec::new();
        read_page("{\"items\":[\"é\"]}".as_bytes(), &mut items).unwrap();
        assert_eq!(items, ["é"]);
    }

    #[test]
    fn a_page_that_is_not_a_list_is_an_error() {
        let mut items: Vec<u32> = Vec::new();
        for body in [
            &b"[1,2]"[..],
            b"{\"items\":[1,\"x\"]}",
            b"{\"items\":[1]} trailing",
            b"{\"items\":[1",
        ] {
            assert!(
                read_page(body, &mut items).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn the_continue_token_is_taken_from_the_head_of_a_page() {
        assert_eq!(
            continue_of(br#"{"kind":"ServiceList","metadata":{"continue":"t"},"items":[{"a":1}"#)
                .as_deref(),
            Some("t"),
            "the head is enough: the items need not have arrived whole"
        );
        // Not at the head, or none: the page is read whole for it.
        assert_eq!(
            continue_of(br#"{"items":[],"metadata":{"continue":"t"}}"#),
            None
        );
        assert_eq!(
            continue_of(br#"{"metadata":{"continue":""},"items":[]}"#),
            None
        );
        assert_eq!(continue_of(br#"{"metadata":{},"items":[]}"#), None);
        assert_eq!(continue_of(b"not json"), None);
    }

    #[test]
    fn error_answers_are_the_status_they_hold_or_their_text() {
        let status = br#"{"kind":"Status","status":"Failure","message":"services is forbidden","reason":"Forbidden","code":403}"#;
        match api_error(http::StatusCode::FORBIDDEN, status) {
            kube::Error::Api(s) => {
                assert_eq!((s.code, s.message.as_str()), (403, "services is forbidden"));
            }
            other => panic!("{other:?}"),
        }
        match api_error(http::StatusCode::FORBIDDEN, b"  Access denied by policy\n") {
            kube::Error::Api(s) => {
                assert_eq!(s.code, 403);
                assert_eq!(s.message, "Access denied by policy");
                assert_eq!(s.reason, "Failed to parse error data");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn only_the_services_list_has_large_pages() {
        assert_eq!(page_size("services"), SERVICES_PAGE_SIZE);
        assert_eq!(page_size("ipaddresspools"), PAGE_SIZE);
        assert_eq!(page_size("namespaces"), PAGE_SIZE);
    }

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(segment("team-a"), "team-a");
        assert_eq!(
            segment("../../apis?x=1#y"),
            "%2E%2E%2F%2E%2E%2Fapis%3Fx%3D1%23y"
        );
    }

    #[test]
    fn a_failed_services_list_is_the_error() {
        let mut f = fetched();
        f.services = Err(forbidden("services"));
        let e = assembled(f, None).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::exit::CLUSTER);
        assert!(
            e.to_string().contains("RBAC does not allow list services"),
            "{e}"
        );
    }
}
