//! The server's objects: normalised on load, read by get and list with
//! selectors and paging like kube-apiserver's etcd-backed storage.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use super::resources::{self, NEWER_SERVICE_FIELD_LABELS, ResourceType};
use super::selectors::{FieldSelector, LabelSelector, field_value};
use super::status::StatusError;

/// Creation time given to fixture objects that carry none.
const DEFAULT_CREATION_TIMESTAMP: &str = "2025-01-01T00:00:00Z";
/// First resourceVersion handed out to fixture objects that carry none.
const FIRST_RESOURCE_VERSION: u64 = 1000;

/// A stored object with its storage key (`namespace/name` or `name`), which
/// orders list results as etcd does.
#[derive(Debug)]
struct Entry {
    key: String,
    object: Value,
    /// A built-in object as a list serves it (JSON without `kind` and
    /// `apiVersion`), serialized once: kube-apiserver's watch cache also keeps
    /// serialized objects, so a list costs the server little more than a copy.
    list_item: Option<Vec<u8>>,
}

/// Every object, per resource type (`group/plural`), sorted by key.
#[derive(Debug)]
pub(crate) struct Store {
    objects: HashMap<String, Vec<Entry>>,
    resource_version: u64,
}

fn type_key(rt: &ResourceType) -> String {
    format!("{}/{}", rt.group, rt.plural)
}

fn storage_key(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(namespace) => format!("{namespace}/{name}"),
        None => name.to_owned(),
    }
}

fn text<'a>(object: &'a Value, pointer: &str) -> Option<&'a str> {
    object.pointer(pointer).and_then(Value::as_str)
}

/// A stable, UUID-shaped id for a fixture object without one.
fn synthetic_uid(key: &str) -> String {
    // 64-bit FNV-1a, twice with different seeds, for 128 bits.
    let hash = |seed: u64| {
        key.bytes().fold(seed, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    let (high, low) = (hash(0xcbf2_9ce4_8422_2325), hash(0x8422_2325_cbf2_9ce4));
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xfff,
        low >> 52,
        low & 0xffff_ffff_ffff
    )
}

impl Store {
    /// Indexes fixture objects, filling in what the server would have set:
    /// `metadata.namespace` (`default`) for namespaced types, `uid`,
    /// `resourceVersion` and `creationTimestamp`.
    ///
    /// Panics on objects without `apiVersion`/`kind`/`metadata.name`, of a
    /// type the server does not know, or duplicated.
    pub fn new(objects: Vec<Value>) -> Self {
        let mut store = Store {
            objects: HashMap::new(),
            resource_version: FIRST_RESOURCE_VERSION,
        };
        for object in objects {
            store.insert(object);
        }
        for (type_key, entries) in &mut store.objects {
            entries.sort_by(|a, b| a.key.cmp(&b.key));
            if let Some(twice) = entries.windows(2).find(|pair| pair[0].key == pair[1].key) {
                panic!("duplicate fixture object {type_key} {}", twice[0].key);
            }
        }
        store
    }

    fn insert(&mut self, mut object: Value) {
        let (Some(api_version), Some(kind), Some(name)) = (
            text(&object, "/apiVersion"),
            text(&object, "/kind"),
            text(&object, "/metadata/name"),
        ) else {
            panic!("fixture object without apiVersion, kind or metadata.name: {object}");
        };
        let name = name.to_owned();
        let rt = resources::by_kind(api_version, kind)
            .unwrap_or_else(|| panic!("fixture object of unsupported type {api_version} {kind}"));
        let metadata = object["metadata"]
            .as_object_mut()
            .expect("metadata is an object");
        let namespace = if rt.namespaced {
            let namespace = metadata
                .entry("namespace")
                .or_insert_with(|| json!("default"));
            Some(
                namespace
                    .as_str()
                    .expect("namespace is a string")
                    .to_owned(),
            )
        } else {
            metadata.remove("namespace");
            None
        };
        let key = storage_key(namespace.as_deref(), &name);
        metadata
            .entry("uid")
            .or_insert_with(|| json!(synthetic_uid(&format!("{}/{key}", rt.qualified()))));
        metadata
            .entry("creationTimestamp")
            .or_insert_with(|| json!(DEFAULT_CREATION_TIMESTAMP));
        match metadata
            .get("resourceVersion")
            .and_then(Value::as_str)
            .and_then(|rv| rv.parse::<u64>().ok())
        {
            Some(rv) => self.resource_version = self.resource_version.max(rv),
            None => {
                self.resource_version += 1;
                metadata.insert(
                    "resourceVersion".into(),
                    json!(self.resource_version.to_string()),
                );
            }
        }
        let list_item = rt.builtin.then(|| {
            let mut item = object.clone();
            if let Some(map) = item.as_object_mut() {
                map.remove("kind");
                map.remove("apiVersion");
            }
            serde_json::to_vec(&item).expect("JSON values serialize")
        });
        self.objects.entry(type_key(rt)).or_default().push(Entry {
            key,
            object,
            list_item,
        });
    }

    fn entries(&self, rt: &ResourceType) -> &[Entry] {
        self.objects.get(&type_key(rt)).map_or(&[], Vec::as_slice)
    }

    /// One object, or 404 with kube-apiserver's message.
    pub fn get(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value, StatusError> {
        let key = storage_key(namespace, name);
        let entries = self.entries(rt);
        entries
            .binary_search_by(|entry| entry.key.cmp(&key))
            .ok()
            .map(|at| served_object(rt, &entries[at].object))
            .ok_or_else(|| StatusError::object_not_found(rt, name))
    }

    /// One page of the matching objects.
    pub fn list<'a>(
        &'a self,
        rt: &'a ResourceType,
        namespace: Option<&str>,
        params: &ListParams,
    ) -> Result<Page<'a>, StatusError> {
        let start_after = params
            .continue_token
            .as_deref()
            .map(decode_continue)
            .transpose()?;
        // Entries are sorted by key, so a namespace is one contiguous run and a page
        // starts with a binary search: each page costs its own size, not the list's.
        let entries = self.entries(rt);
        let (from, to) = match namespace {
            Some(ns) => {
                let prefix = format!("{ns}/");
                let from = entries.partition_point(|entry| entry.key < prefix);
                let len = entries[from..].partition_point(|entry| entry.key.starts_with(&prefix));
                (from, from + len)
            }
            None => (0, entries.len()),
        };
        let range = &entries[from..to];
        let start = match start_after.as_deref() {
            Some(start) => range.partition_point(|entry| entry.key.as_str() <= start),
            None => 0,
        };
        let mut matching = range[start..]
            .iter()
            .enumerate()
            .filter(|(_, entry)| params.matches(&entry.object));
        let page_size = params.limit.unwrap_or(usize::MAX);
        let page: Vec<(usize, &Entry)> = matching.by_ref().take(page_size).collect();
        let after_page = page.last().map_or(range.len(), |(at, _)| start + at + 1);
        let remaining = if params.selects_all() {
            range.len() - after_page
        } else {
            // Whether the next page would hold anything: one more match is enough.
            usize::from(matching.next().is_some())
        };

        let mut metadata = Map::new();
        metadata.insert(
            "resourceVersion".into(),
            json!(self.resource_version.to_string()),
        );
        if remaining > 0
            && let Some((_, last)) = page.last()
        {
            metadata.insert(
                "continue".into(),
                json!(encode_continue(self.resource_version, &last.key)),
            );
            // Like etcd storage, the count is only known without selectors.
            if params.selects_all() {
                metadata.insert("remainingItemCount".into(), json!(remaining));
            }
        }
        Ok(Page {
            rt,
            entries: page.into_iter().map(|(_, entry)| entry).collect(),
            metadata,
        })
    }
}

/// An object as served at `rt`'s version. Custom resources are stored once
/// for all versions of their CRD, like on a real server.
fn served_object(rt: &ResourceType, object: &Value) -> Value {
    let mut object = object.clone();
    if !rt.builtin {
        object["apiVersion"] = json!(rt.api_version());
    }
    object
}

/// Objects of one list page, with the list's `metadata`.
#[derive(Debug)]
pub(crate) struct Page<'a> {
    rt: &'a ResourceType,
    entries: Vec<&'a Entry>,
    pub metadata: Map<String, Value>,
}

impl Page<'_> {
    /// The objects as served one by one (as a Table's rows include them).
    pub fn items(&self) -> Vec<Value> {
        self.entries
            .iter()
            .map(|entry| served_object(self.rt, &entry.object))
            .collect()
    }

    /// The `<Kind>List` document, serialized. Built-in types leave
    /// `kind`/`apiVersion` off the items, as kube-apiserver does.
    pub fn list_body(&self) -> Vec<u8> {
        let rt = self.rt;
        let head = json!({
            "kind": format!("{}List", rt.kind),
            "apiVersion": rt.api_version(),
            "metadata": self.metadata,
        });
        let mut body = serde_json::to_vec(&head).expect("JSON values serialize");
        body.pop(); // the closing brace: the items follow
        body.extend_from_slice(br#","items":["#);
        for (i, entry) in self.entries.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            match &entry.list_item {
                Some(serialized) => body.extend_from_slice(serialized),
                None => serde_json::to_writer(&mut body, &served_object(rt, &entry.object))
                    .expect("JSON values serialize"),
            }
        }
        body.extend_from_slice(b"]}");
        body
    }
}

/// The opaque `continue` token: where the next page starts, as base64url
/// JSON shaped like kube-apiserver's own.
fn encode_continue(resource_version: u64, last_key: &str) -> String {
    let token =
        json!({"v": "meta.k8s.io/v1", "rv": resource_version, "start": format!("{last_key}\u{0}")});
    URL_SAFE_NO_PAD.encode(token.to_string())
}

/// The key after which the next page starts.
fn decode_continue(token: &str) -> Result<String, StatusError> {
    let invalid =
        |detail: &str| StatusError::bad_request(format!("continue key is not valid: {detail}"));
    let bytes = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|error| invalid(&error.to_string()))?;
    let token: Value =
        serde_json::from_slice(&bytes).map_err(|error| invalid(&error.to_string()))?;
    if token["v"] != "meta.k8s.io/v1" {
        return Err(invalid(
            "incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        ));
    }
    let start = token["start"]
        .as_str()
        .and_then(|start| start.strip_suffix('\u{0}'))
        .ok_or_else(|| invalid("continue key is not valid"))?;
    Ok(start.to_owned())
}

/// A field selector term resolved to the JSON path it compares.
#[derive(Debug)]
struct FieldTerm {
    path: &'static str,
    value: String,
    negated: bool,
}

/// What a list request asks for: selectors and paging.
#[derive(Debug, Default)]
pub(crate) struct ListParams {
    labels: LabelSelector,
    fields: Vec<FieldTerm>,
    limit: Option<usize>,
    continue_token: Option<String>,
}

impl ListParams {
    /// Reads `labelSelector`, `fieldSelector`, `limit` and `continue`,
    /// rejecting what kube-apiserver rejects with 400. `max_page_size` caps
    /// a requested `limit`; `newer_service_fields` enables the service field
    /// labels that older servers lack.
    pub fn from_query(
        rt: &ResourceType,
        query: &[(String, String)],
        max_page_size: Option<usize>,
        newer_service_fields: bool,
    ) -> Result<Self, StatusError> {
        let param = |key: &str| {
            query
                .iter()
                .find(|(name, _)| name == key)
                .map(|(_, value)| value.as_str())
        };
        let labels = LabelSelector::parse(param("labelSelector").unwrap_or_default())
            .map_err(StatusError::bad_request)?;
        let fields = FieldSelector::parse(param("fieldSelector").unwrap_or_default())
            .map_err(StatusError::bad_request)?
            .0
            .into_iter()
            .map(|requirement| {
                let unsupported = rt.plural == "services"
                    && !newer_service_fields
                    && NEWER_SERVICE_FIELD_LABELS.contains(&requirement.label.as_str());
                let path = rt.field_path(&requirement.label).filter(|_| !unsupported);
                let path = path.ok_or_else(|| {
                    StatusError::bad_request(format!(
                        "field label not supported: {}",
                        requirement.label
                    ))
                })?;
                Ok(FieldTerm {
                    path,
                    value: requirement.value,
                    negated: requirement.negated,
                })
            })
            .collect::<Result<Vec<_>, StatusError>>()?;
        let limit = match param("limit") {
            None | Some("") => None,
            Some(raw) => {
                let limit: i64 = raw.parse().map_err(|_| {
                    StatusError::bad_request(format!("invalid value for limit: \"{raw}\""))
                })?;
                usize::try_from(limit).ok().filter(|&limit| limit > 0)
            }
        };
        let limit = match (limit, max_page_size) {
            (Some(limit), Some(max)) => Some(limit.min(max.max(1))),
            (limit, _) => limit,
        };
        Ok(ListParams {
            labels,
            fields,
            limit,
            continue_token: param("continue")
                .filter(|token| !token.is_empty())
                .map(str::to_owned),
        })
    }

    fn selects_all(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty()
    }

    fn matches(&self, object: &Value) -> bool {
        let labels = object
            .pointer("/metadata/labels")
            .and_then(Value::as_object);
        self.labels.matches(labels)
            && self
                .fields
                .iter()
                .all(|term| (field_value(object, term.path) == term.value) != term.negated)
    }
}
