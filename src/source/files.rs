//! Offline input (`-f`): files, directories (recursive), `-` for stdin; multi-document
//! YAML, JSON, and `kind: List`. No cluster is contacted.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::error::Error;
use crate::metallb::runtime::is_controller;
use crate::snapshot::{
    Advertisement, ConfigurationState, Deployment, Event, IpAddressPool, Location, Metadata,
    Namespace, ObjectKey, Service, Snapshot,
};

/// Extensions read from directories; files named explicitly are read whatever their name.
const MANIFEST_EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];

/// Defaults for objects written without a namespace.
#[derive(Clone, Debug)]
pub struct Namespaces {
    /// Where MetalLB objects without a namespace are assumed to be applied.
    pub metallb: String,
    /// Where other objects without a namespace land (`kubectl apply`'s default).
    pub default: String,
}

/// Reads every manifest named by `paths` into one snapshot.
pub fn read(paths: &[PathBuf], namespaces: &Namespaces) -> Result<Snapshot, Error> {
    let mut reader = Reader {
        namespaces,
        objects: Objects::default(),
        file: std::sync::Arc::from(""),
    };
    for path in paths {
        if path.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| Error::input("<stdin>", e))?;
            reader.parse(Path::new("<stdin>"), &text)?;
        } else if path.is_dir() {
            let files = manifests_under(path)?;
            if files.is_empty() {
                return Err(Error::input(
                    path.display(),
                    "no .yaml, .yml or .json file in this directory",
                ));
            }
            for file in files {
                reader.parse_file(&file)?;
            }
        } else {
            reader.parse_file(path)?;
        }
    }
    Ok(reader.objects.into_snapshot())
}

/// Manifest files below `dir`, recursively, in a stable order.
fn manifests_under(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries =
            std::fs::read_dir(&current).map_err(|e| Error::input(current.display(), e))?;
        for entry in entries {
            let path = entry
                .map_err(|e| Error::input(current.display(), e))?
                .path();
            if path.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| MANIFEST_EXTENSIONS.contains(&e))
            {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

struct Reader<'a> {
    namespaces: &'a Namespaces,
    objects: Objects,
    /// The file being read, for the objects' locations.
    file: std::sync::Arc<str>,
}

/// Objects by identity: an object defined twice keeps its last definition, as a second
/// `kubectl apply` would.
#[derive(Default)]
struct Objects {
    order: Vec<Identity>,
    by_identity: HashMap<Identity, Object>,
    /// Where each object was read (its last definition).
    locations: HashMap<Identity, Location>,
}

type Identity = (Kind, String, String);

/// The kinds the plugin reads; every other kind is skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    Pool,
    L2,
    Bgp,
    Service,
    Namespace,
    Event,
    /// Only MetalLB's controller is kept: it says where and how MetalLB runs.
    Deployment,
    ConfigurationState,
}

impl Kind {
    fn of(kind: &str, api_version: &str) -> Option<Kind> {
        let group = api_version.split_once('/').map_or("", |(g, _)| g);
        match (kind, group) {
            ("IPAddressPool", "metallb.io") => Some(Kind::Pool),
            ("L2Advertisement", "metallb.io") => Some(Kind::L2),
            ("BGPAdvertisement", "metallb.io") => Some(Kind::Bgp),
            ("Service", "") => Some(Kind::Service),
            ("Namespace", "") => Some(Kind::Namespace),
            ("Event", "") => Some(Kind::Event),
            ("Deployment", "apps") => Some(Kind::Deployment),
            ("ConfigurationState", "metallb.io") => Some(Kind::ConfigurationState),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Pool => "IPAddressPool",
            Kind::L2 => "L2Advertisement",
            Kind::Bgp => "BGPAdvertisement",
            Kind::Service => "Service",
            Kind::Namespace => "Namespace",
            Kind::Event => "Event",
            Kind::Deployment => "Deployment",
            Kind::ConfigurationState => "ConfigurationState",
        }
    }
}

/// One object, typed.
enum Object {
    Pool(IpAddressPool),
    L2(Advertisement),
    Bgp(Advertisement),
    Service(Service),
    Namespace(Namespace),
    Event(Event),
    Deployment(Deployment),
    ConfigurationState(ConfigurationState),
}

impl Object {
    /// Deserializes an object of a known kind straight from the parser, keeping the path of
    /// a wrongly typed field (`spec.autoAssign`).
    fn read<'de, D: Deserializer<'de>>(
        kind: Kind,
        de: D,
    ) -> Result<Object, serde_path_to_error::Error<D::Error>> {
        fn typed<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
            de: D,
        ) -> Result<T, serde_path_to_error::Error<D::Error>> {
            serde_path_to_error::deserialize(de)
        }
        Ok(match kind {
            Kind::Pool => Object::Pool(typed(de)?),
            Kind::L2 => Object::L2(typed(de)?),
            Kind::Bgp => Object::Bgp(typed(de)?),
            Kind::Service => Object::Service(typed(de)?),
            Kind::Namespace => Object::Namespace(typed(de)?),
            Kind::Event => Object::Event(typed(de)?),
            Kind::Deployment => Object::Deployment(typed(de)?),
            Kind::ConfigurationState => Object::ConfigurationState(typed(de)?),
        })
    }

    fn metadata_mut(&mut self) -> &mut Metadata {
        match self {
            Object::Pool(o) => &mut o.metadata,
            Object::L2(o) | Object::Bgp(o) => &mut o.metadata,
            Object::Service(o) => &mut o.metadata,
            Object::Namespace(o) => &mut o.metadata,
            Object::Event(o) => &mut o.metadata,
            Object::Deployment(o) => &mut o.metadata,
            Object::ConfigurationState(o) => &mut o.metadata,
        }
    }
}

impl Objects {
    fn insert(&mut self, id: Identity, object: Object, location: Location) {
        self.locations.insert(id.clone(), location);
        if self.by_identity.insert(id.clone(), object).is_none() {
            self.order.push(id);
        }
    }

    fn into_snapshot(mut self) -> Snapshot {
        let mut snapshot = Snapshot::default();
        for id in self.order {
            match self.by_identity.remove(&id) {
                Some(Object::Pool(o)) => snapshot.pools.push(o),
                Some(Object::L2(o)) => snapshot.l2_advertisements.push(o),
                Some(Object::Bgp(o)) => snapshot.bgp_advertisements.push(o),
                Some(Object::Service(o)) => snapshot.services.push(o),
                Some(Object::Namespace(o)) => snapshot.namespaces.push(o),
                Some(Object::Event(o)) => snapshot.events.push(o),
                Some(Object::Deployment(o)) if is_controller(&o) => {
                    snapshot.controllers.get_or_insert_default().push(o);
                }
                Some(Object::Deployment(_)) | None => {}
                Some(Object::ConfigurationState(o)) => snapshot.configuration_states.push(o),
            }
        }
        snapshot.namespaces_known = !snapshot.namespaces.is_empty();
        snapshot.locations = self
            .locations
            .into_iter()
            .map(|((kind, namespace, name), at)| {
                let key = ObjectKey {
                    kind: kind.name(),
                    namespace,
                    name,
                };
                (key, at)
            })
            .collect();
        snapshot
    }
}

/// What identifies a document: enough to dispatch it without building a tree.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Head<'a> {
    #[serde(default, borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    api_version: Option<Cow<'a, str>>,
    /// The items of a `kind: List`.
    #[serde(default, borrow)]
    items: Option<Vec<&'a RawValue>>,
    #[serde(default, borrow)]
    metadata: Option<HeadMetadata<'a>>,
}

#[derive(Deserialize)]
struct HeadMetadata<'a> {
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    namespace: Option<Cow<'a, str>>,
}

/// `field.path: message`, without the parser's own position (it is given in front).
fn field_error<E: std::fmt::Display>(e: &serde_path_to_error::Error<E>) -> String {
    let path = e.path().to_string();
    let inner = strip_position(&e.inner().to_string());
    if path == "." {
        inner
    } else {
        format!("{path}: {inner}")
    }
}

/// `Kind namespace/name` for messages.
fn describe(kind: Kind, namespace: Option<&str>, name: Option<&str>) -> String {
    match (namespace.filter(|n| !n.is_empty()), name) {
        (Some(ns), Some(name)) => format!("{} {ns}/{name}", kind.name()),
        (None, Some(name)) => format!("{} {name}", kind.name()),
        _ => kind.name().to_string(),
    }
}

impl Reader<'_> {
    fn parse_file(&mut self, path: &Path) -> Result<(), Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::input(path.display(), e))?;
        self.parse(path, &text)
    }

    fn parse(&mut self, path: &Path, text: &str) -> Result<(), Error> {
        self.file = std::sync::Arc::from(path.display().to_string());
        let is_json = path.extension().is_some_and(|e| e == "json")
            || text.trim_start().starts_with(['{', '[']);
        if is_json {
            self.parse_json(path, text)
        } else {
            self.parse_yaml(path, text)
        }
    }

    /// JSON (one or more concatenated documents): each object is deserialized straight from
    /// the text, with no intermediate tree; errors carry the line of the whole file.
    fn parse_json(&mut self, path: &Path, text: &str) -> Result<(), Error> {
        let mut lines = LineCounter::new(text);
        // A second counter for the objects' locations: offsets only grow, so it is one pass.
        let mut starts = LineCounter::new(text);
        let mut place = |raw: &RawValue, e: Option<&serde_json::Error>| {
            let line = lines.line_at(offset_in(text, raw)) + e.map_or(0, |e| e.line() - 1);
            format!("{}:{line}", path.display())
        };
        for document in serde_json::Deserializer::from_str(text).into_iter::<&RawValue>() {
            let document = document.map_err(|e| {
                Error::input(
                    format!("{}:{}:{}", path.display(), e.line(), e.column()),
                    strip_position(&e.to_string()),
                )
            })?;
            let head: Head = serde_json::from_str(document.get()).map_err(|e| {
                Error::input(place(document, Some(&e)), strip_position(&e.to_string()))
            })?;
            let objects = match head.kind.as_deref() {
                Some(kind) if kind.ends_with("List") => head.items.unwrap_or_default(),
                _ => vec![document],
            };
            for raw in objects {
                let head: Head = serde_json::from_str(raw.get()).map_err(|e| {
                    Error::input(place(raw, Some(&e)), strip_position(&e.to_string()))
                })?;
                let Some(kind) = Kind::of(
                    head.kind.as_deref().unwrap_or(""),
                    head.api_version.as_deref().unwrap_or(""),
                ) else {
                    continue;
                };
                let meta = head.metadata.as_ref();
                match Object::read(kind, &mut serde_json::Deserializer::from_str(raw.get())) {
                    Ok(object) => {
                        let line = starts.line_at(offset_in(text, raw));
                        self.add_object(|| place(raw, None), kind, object, Some(line))?
                    }
                    Err(e) => {
                        let what = describe(
                            kind,
                            meta.and_then(|m| m.namespace.as_deref()),
                            meta.and_then(|m| m.name.as_deref()),
                        );
                        return Err(Error::input(
                            place(raw, Some(e.inner())),
                            format!("{what}: {}", field_error(&e)),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// YAML: multi-document. Each document is read into a tree (YAML needs one for anchors
    /// and tags, and a mapping's `kind` may come after its fields), then typed; the items of
    /// a `kind: List` are typed one by one as they are parsed (see [`YamlDocument`]).
    fn parse_yaml(&mut self, path: &Path, text: &str) -> Result<(), Error> {
        let documents: Vec<serde_saphyr::Spanned<YamlDocument>> =
            serde_saphyr::from_multiple_with_options(text, yaml_options())
                .map_err(|e| yaml_error(path, &e))?;
        for document in documents {
            let line = document.referenced.line() as usize;
            let place = format!("{}: line {line}", path.display());
            let YamlDocument { root, items } = document.value;
            match root {
                YamlRoot::Null => {}
                YamlRoot::Mapping(map) => {
                    let kind_text = map.get("kind").and_then(Value::as_str).unwrap_or_default();
                    if kind_text.ends_with("List") {
                        for (i, item) in items.into_iter().enumerate() {
                            let item_place = || format!("{place}, item {}", i + 1);
                            match item {
                                Ok(Some((kind, object))) => {
                                    self.add_object(item_place, kind, object, None)?;
                                }
                                Ok(None) => {}
                                Err(message) => return Err(Error::input(item_place(), message)),
                            }
                        }
                    } else {
                        let source = Some(DocumentText { path, text, line });
                        self.add_yaml_object(&place, Value::Object(map), source)?;
                    }
                }
                YamlRoot::Other => {
                    return Err(Error::input(
                        place,
                        "expected a Kubernetes object (a mapping with kind)",
                    ));
                }
            }
        }
        Ok(())
    }

    /// One object of a YAML document; with the document's text, a wrongly typed field is
    /// reported at its own line.
    fn add_yaml_object(
        &mut self,
        place: &str,
        object: Value,
        source: Option<DocumentText>,
    ) -> Result<(), Error> {
        match typed_object(object) {
            Ok(Some((kind, typed))) => {
                let line = source.as_ref().map(|doc| doc.line);
                self.add_object(|| place.to_string(), kind, typed, line)
            }
            Ok(None) => Ok(()),
            Err((kind, message)) => {
                let place = source
                    .and_then(|doc| doc.error_line(kind))
                    .map_or(place.to_string(), |(path, line)| {
                        format!("{}:{line}", path.display())
                    });
                Err(Error::input(place, message))
            }
        }
    }

    /// Places an object where `kubectl apply` would, then keeps it.
    /// `place` names where the object was read; it is only built for an error.
    fn add_object(
        &mut self,
        place: impl FnOnce() -> String,
        kind: Kind,
        mut object: Object,
        line: Option<usize>,
    ) -> Result<(), Error> {
        let default_namespace = match kind {
            Kind::Namespace => "",
            Kind::Pool | Kind::L2 | Kind::Bgp | Kind::ConfigurationState => {
                &self.namespaces.metallb
            }
            Kind::Service | Kind::Event | Kind::Deployment => &self.namespaces.default,
        };
        let metadata = object.metadata_mut();
        if metadata.namespace.is_empty() {
            metadata.namespace = default_namespace.to_string();
        }
        if metadata.name.is_empty() {
            return Err(Error::input(
                place(),
                format!("{} has no metadata.name", kind.name()),
            ));
        }
        let id = (kind, metadata.namespace.clone(), metadata.name.clone());
        let location = Location {
            file: self.file.clone(),
            line,
        };
        self.objects.insert(id, object, location);
        Ok(())
    }
}

/// An object read from a tree, typed: `None` for a kind the plugin skips; on error, the kind
/// and `Kind namespace/name: field.path: message`.
fn typed_object(object: Value) -> Result<Option<(Kind, Object)>, (Kind, String)> {
    let text = |key: &str| object.get(key).and_then(Value::as_str).unwrap_or_default();
    let Some(kind) = Kind::of(text("kind"), text("apiVersion")) else {
        return Ok(None);
    };
    let meta = |key: &str| {
        object
            .get("metadata")
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let what = describe(kind, meta("namespace").as_deref(), meta("name").as_deref());
    match Object::read(kind, object) {
        Ok(typed) => Ok(Some((kind, typed))),
        Err(e) => Err((kind, format!("{what}: {}", field_error(&e)))),
    }
}

/// One YAML document, read in one pass. The root mapping is kept as a tree, but for its
/// `items`: each item is typed as soon as it is parsed and its tree dropped, so a dump of a
/// large cluster (one `kind: List`) never exists as one tree, which took several times
/// the memory of the objects themselves. Whether the items are used is known at the end
/// of the mapping (`kind` may come after `items`).
struct YamlDocument {
    root: YamlRoot,
    /// `items`, typed in order: `Ok(None)` for a kind the plugin skips, `Err` for an item
    /// that is not the object its kind says.
    items: Vec<Result<Option<(Kind, Object)>, String>>,
}

enum YamlRoot {
    Null,
    /// The root mapping, without `items`.
    Mapping(serde_json::Map<String, Value>),
    /// A scalar or a sequence: not an object.
    Other,
}

impl<'de> Deserialize<'de> for YamlDocument {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<YamlDocument, D::Error> {
        deserializer.deserialize_any(DocumentVisitor)
    }
}

struct DocumentVisitor;

impl DocumentVisitor {
    /// A document that is not a mapping, so has no items.
    fn without_items<E>(root: YamlRoot) -> Result<YamlDocument, E> {
        Ok(YamlDocument {
            root,
            items: Vec::new(),
        })
    }
}

impl<'de> Visitor<'de> for DocumentVisitor {
    type Value = YamlDocument;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a Kubernetes object")
    }

    fn visit_unit<E>(self) -> Result<YamlDocument, E> {
        Self::without_items(YamlRoot::Null)
    }

    fn visit_none<E>(self) -> Result<YamlDocument, E> {
        Self::without_items(YamlRoot::Null)
    }

    fn visit_bool<E>(self, _: bool) -> Result<YamlDocument, E> {
        Self::without_items(YamlRoot::Other)
    }

    fn visit_i64<E>(self, _: i64) -> Result<YamlDocument, E> {
        Self::without_items(YamlRoot::Other)
    }

    fn visit_u64<E>(self, _: u64) -> Result<YamlDocument, E> {
        Self::without_items(YamlRoot::Other)
    }

    fn visit_f64<E>(self, _: f64) -> Result<YamlDocument, E> {
        Self::without_items(YamlRoot::Other)
    }

    fn visit_str<E>(self, _: &str) -> Result<YamlDocument, E> {
        Self::without_items(YamlRoot::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<YamlDocument, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Self::without_items(YamlRoot::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<YamlDocument, A::Error> {
        let mut root = serde_json::Map::new();
        let mut items = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == "items" {
                items = map.next_value::<TypedItems>()?.0;
            } else {
                root.insert(key, map.next_value()?);
            }
        }
        Ok(YamlDocument {
            root: YamlRoot::Mapping(root),
            items,
        })
    }
}

/// A `kind: List`'s `items`, each typed as it is parsed.
struct TypedItems(Vec<Result<Option<(Kind, Object)>, String>>);

impl<'de> Deserialize<'de> for TypedItems {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<TypedItems, D::Error> {
        struct Items;

        impl<'de> Visitor<'de> for Items {
            type Value = TypedItems;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of objects")
            }

            fn visit_unit<E>(self) -> Result<TypedItems, E> {
                Ok(TypedItems(Vec::new()))
            }

            fn visit_none<E>(self) -> Result<TypedItems, E> {
                Ok(TypedItems(Vec::new()))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TypedItems, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Value>()? {
                    items.push(typed_object(item).map_err(|(_, message)| message));
                }
                Ok(TypedItems(items))
            }
        }

        deserializer.deserialize_any(Items)
    }
}

/// A YAML document in its file: where a typed re-read places an error.
struct DocumentText<'a> {
    path: &'a Path,
    text: &'a str,
    /// The document's first line (1-based).
    line: usize,
}

impl<'a> DocumentText<'a> {
    /// The line of the first type error in this document, from a typed re-read of its text
    /// (only done on the error path: the tree it was first read into has no positions).
    fn error_line(&self, kind: Kind) -> Option<(&'a Path, usize)> {
        let start = self
            .text
            .split_inclusive('\n')
            .take(self.line - 1)
            .map(str::len)
            .sum::<usize>();
        let rest = &self.text[start..];
        let end = rest
            .split_inclusive('\n')
            .take_while(|l| !l.starts_with("---") && !l.starts_with("..."))
            .map(str::len)
            .sum::<usize>();
        let document = &rest[..end];
        let error = match kind {
            Kind::Pool => serde_saphyr::from_str::<IpAddressPool>(document).err(),
            Kind::L2 | Kind::Bgp => serde_saphyr::from_str::<Advertisement>(document).err(),
            Kind::Service => serde_saphyr::from_str::<Service>(document).err(),
            Kind::Namespace => serde_saphyr::from_str::<Namespace>(document).err(),
            Kind::Event => serde_saphyr::from_str::<Event>(document).err(),
            Kind::Deployment => serde_saphyr::from_str::<Deployment>(document).err(),
            Kind::ConfigurationState => {
                serde_saphyr::from_str::<ConfigurationState>(document).err()
            }
        }?;
        let relative = error.location()?.line() as usize;
        Some((self.path, self.line + relative - 1))
    }
}

/// Line numbers of byte offsets met in ascending order, counted once over the text.
struct LineCounter<'a> {
    text: &'a str,
    offset: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> LineCounter<'a> {
        LineCounter {
            text,
            offset: 0,
            line: 1,
        }
    }

    /// The 1-based line of `offset`; offsets before the last one asked restart the count.
    fn line_at(&mut self, offset: usize) -> usize {
        if offset < self.offset {
            *self = LineCounter::new(self.text);
        }
        self.line += self.text.as_bytes()[self.offset..offset]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        self.offset = offset;
        self.line
    }
}

/// Byte offset of a borrowed slice inside the text it was parsed from.
fn offset_in(text: &str, raw: &RawValue) -> usize {
    (raw.get().as_ptr() as usize)
        .saturating_sub(text.as_ptr() as usize)
        .min(text.len())
}

/// Large dumps are normal input: lift the parser's default limits on documents and nodes,
/// keep its protections against alias bombs and deep nesting.
fn yaml_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_documents = usize::MAX;
    budget.max_nodes = usize::MAX;
    budget.max_events = usize::MAX;
    budget.max_total_scalar_bytes = usize::MAX;
    budget.max_reader_input_bytes = None;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}

fn yaml_error(path: &Path, error: &serde_saphyr::Error) -> Error {
    let text = error.to_string();
    let first = text.lines().next().unwrap_or("malformed YAML").trim();
    // The parser words its message "error: line L column C: …": the place is given in front.
    let message = first.strip_prefix("error: ").unwrap_or(first);
    let message = match message.split_once(": ") {
        Some((position, rest))
            if position.starts_with("line ") && position.contains(" column ") =>
        {
            rest
        }
        _ => message,
    };
    let message = match message.strip_prefix("duplicate mapping key: ") {
        Some(key) => {
            let key = key.split(',').next().unwrap_or(key);
            format!("duplicate key {key} (is a --- line between two objects missing?)")
        }
        None => strip_position(message),
    };
    match error.location() {
        Some(at) => Error::input(
            format!("{}:{}:{}", path.display(), at.line(), at.column()),
            message,
        ),
        None => Error::input(path.display(), message),
    }
}

/// Parser messages end with their own " at line L column C": the position is already
/// in front of the message.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(name: &str, text: &str) -> Result<Snapshot, Error> {
        let namespaces = Namespaces {
            metallb: "metallb-system".into(),
            default: "default".into(),
        };
        let mut reader = Reader {
            namespaces: &namespaces,
            objects: Objects::default(),
            file: std::sync::Arc::from(""),
        };
        reader.parse(Path::new(name), text)?;
        Ok(reader.objects.into_snapshot())
    }

    fn place_and_message(error: Error) -> (String, String) {
        match error {
            Error::Input { place, message } => (place, message),
            other => panic!("not an input error: {other}"),
        }
    }

    const LIST_ITEMS: &str = r#"
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: controller, namespace: metallb-system}
  spec: {selector: {matchLabels: {app: metallb}}}
- apiVersion: metallb.io/v1beta1
  kind: IPAddressPool
  metadata: {name: public, namespace: metallb-system}
  spec: {addresses: [192.0.2.0/28]}
- apiVersion: v1
  kind: Service
  metadata: {name: web, namespace: shop, annotations: {metallb.io/address-pool: public}}
  spec: {type: LoadBalancer, ports: [{port: 80}]}
"#;

    #[test]
    fn list_items_are_typed_whatever_comes_first_in_the_list() {
        for text in [
            format!("apiVersion: v1\nkind: List\nitems:{LIST_ITEMS}"),
            format!("items:{LIST_ITEMS}kind: List\napiVersion: v1\n"),
        ] {
            let snapshot = read_text("dump.yaml", &text).unwrap();
            assert_eq!(snapshot.pools.len(), 1, "{text}");
            assert_eq!(snapshot.pools[0].spec.addresses, ["192.0.2.0/28"]);
            assert_eq!(snapshot.services.len(), 1);
            assert_eq!(
                snapshot.services[0]
                    .metadata
                    .annotations
                    .get("metallb.io/address-pool"),
                Some("public")
            );
        }
    }

    #[test]
    fn yaml_and_json_lists_read_the_same() {
        let yaml = format!("apiVersion: v1\nkind: List\nitems:{LIST_ITEMS}");
        let tree: Value = serde_saphyr::from_str(&yaml).unwrap();
        let from_yaml = read_text("dump.yaml", &yaml).unwrap();
        let from_json = read_text("dump.json", &tree.to_string()).unwrap();
        assert_eq!(from_yaml.pools, from_json.pools);
        assert_eq!(from_yaml.services, from_json.services);
    }

    #[test]
    fn a_mistyped_list_item_is_named_by_its_position() {
        let text = format!(
            "apiVersion: v1\nkind: List\nitems:{LIST_ITEMS}- apiVersion: v1\n  kind: Service\n  metadata: {{name: bad, namespace: shop}}\n  spec: {{ports: [{{port: eighty}}]}}\n"
        );
        let (place, message) = place_and_message(read_text("dump.yaml", &text).unwrap_err());
        assert_eq!(place, "dump.yaml: line 1, item 4");
        assert!(
            message.starts_with("Service shop/bad: spec.ports[0].port:"),
            "{message}"
        );
    }

    #[test]
    fn a_document_that_is_not_a_mapping_is_refused() {
        let (place, message) =
            place_and_message(read_text("odd.yaml", "---\n- a\n- b\n").unwrap_err());
        assert!(place.starts_with("odd.yaml: line "), "{place}");
        assert_eq!(
            message,
            "expected a Kubernetes object (a mapping with kind)"
        );
    }

    #[test]
    fn every_object_records_where_it_was_read() {
        let yaml = "# pools\napiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p}\nspec: {addresses: [10.0.0.0/24]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: a}\n";
        let snapshot = read_text("m.yaml", yaml).unwrap();
        let at = |kind, namespace: &str, name: &str| {
            let key = ObjectKey {
                kind,
                namespace: namespace.into(),
                name: name.into(),
            };
            let found = snapshot.locations.get(&key).expect("recorded");
            (found.file.to_string(), found.line)
        };
        assert_eq!(at("IPAddressPool", "metallb-system", "p").0, "m.yaml");
        assert_eq!(at("Service", "a", "s"), ("m.yaml".to_string(), Some(7)));
        let json = "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n{\"apiVersion\": \"v1\", \"kind\": \"Service\",\n \"metadata\": {\"name\": \"s\", \"namespace\": \"a\"}},\n{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": \"t\", \"namespace\": \"a\"}}]}";
        let snapshot = read_text("m.json", json).unwrap();
        let line = |name: &str| {
            let key = ObjectKey {
                kind: "Service",
                namespace: "a".into(),
                name: name.into(),
            };
            snapshot.locations[&key].line
        };
        assert_eq!((line("s"), line("t")), (Some(2), Some(4)));
    }
}
