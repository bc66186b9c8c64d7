//! Offline input (`-f`): files, directories (recursive), `-` for stdin; multi-document
//! YAML, JSON, and `kind: List`. No cluster is contacted.
//!
//! Hostile input ends with one line, never a hang or an exhausted memory: a directory walk
//! enters each real directory once and reads regular files only; each input is read up to
//! [`ReadLimits::max_bytes`], as a stream (see `json` and `yaml`); the nesting of what is
//! read is bounded (200 levels); an object of a kind the plugin skips is passed over without
//! being built, however deep or large.

mod input;
mod json;
mod kinds;
mod yaml;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use compact_str::CompactString;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::error::Error;
use crate::metallb::runtime::is_controller;
use crate::snapshot::{
    AddressPool, Advertisement, ConfigurationState, CustomResourceDefinition, Deployment, Event,
    InputIssue, InputNote, IpAddressPool, Location, METALLB_GROUP, Metadata, Namespace, ObjectKey,
    Service, Snapshot,
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

/// Limits on the input, so that no input can exhaust the memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadLimits {
    /// The most bytes one input (a file, or stdin) may hold; a bigger one is refused with
    /// a message naming it and [`ReadLimits::FLAG`]. Reading stops one byte past the limit,
    /// so an endless input (`/dev/zero`) costs at most this much memory.
    pub max_bytes: u64,
}

impl ReadLimits {
    /// 256 MiB: more than three times a JSON dump of 50,000 services, and a few seconds of
    /// parsing; a dump bigger than that is rare enough to ask for the flag.
    pub const DEFAULT_MAX_BYTES: u64 = 256 << 20;

    /// The command-line flag that raises [`ReadLimits::max_bytes`], named in the message.
    pub const FLAG: &str = "--max-input-size";
}

impl Default for ReadLimits {
    fn default() -> ReadLimits {
        ReadLimits {
            max_bytes: ReadLimits::DEFAULT_MAX_BYTES,
        }
    }
}

/// Reads every manifest named by `paths` into one snapshot, within the default limits.
pub fn read(paths: &[PathBuf], namespaces: &Namespaces) -> Result<Snapshot, Error> {
    read_limited(paths, namespaces, ReadLimits::default())
}

/// Reads every manifest named by `paths` into one snapshot: a path is a file (read
/// whatever its kind: a FIFO named here is read as given), a directory (its regular
/// `.yaml`, `.yml` and `.json` files, recursively, each real directory once, in sorted
/// order) or `-` for stdin.
pub fn read_limited(
    paths: &[PathBuf],
    namespaces: &Namespaces,
    limits: ReadLimits,
) -> Result<Snapshot, Error> {
    read_rendered(paths, &[], namespaces, limits)
}

/// [`read_limited`], and texts already rendered (`-k`: `(name, manifests)`), read first.
pub fn read_rendered(
    paths: &[PathBuf],
    rendered: &[(String, String)],
    namespaces: &Namespaces,
    limits: ReadLimits,
) -> Result<Snapshot, Error> {
    on_reader_stack(|| read_all(paths, rendered, namespaces, limits))
}

/// Runs `read` on a stack of [`READER_STACK_BYTES`], on this thread: the YAML reader
/// recurses once per level of nesting, with large frames, and [`MAX_DEPTH`] levels need
/// more stack than a thread has by default. (Not a thread of its own: its allocations
/// would go to another heap arena, which costs every object read. The YAML reader's
/// workers, which parse batches side by side, are given a stack of the same size.)
fn on_reader_stack<T>(read: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    stacker::grow(READER_STACK_BYTES, read)
}

/// [`read_limited`], on the reader's stack.
fn read_all(
    paths: &[PathBuf],
    rendered: &[(String, String)],
    namespaces: &Namespaces,
    limits: ReadLimits,
) -> Result<Snapshot, Error> {
    let mut reader = Reader {
        namespaces,
        objects: Objects::default(),
        file: std::sync::Arc::from(""),
    };
    for (name, text) in rendered {
        reader.parse(Path::new(name), text)?;
    }
    for path in paths {
        if path.as_os_str() == "-" {
            let name = Path::new("<stdin>");
            reader.parse_input(name, std::io::stdin().lock(), limits)?;
        } else if path.is_dir() && is_kustomization(path) {
            reader.objects.notes.push(kustomization_note(path));
        } else if path.is_dir() {
            let noted = reader.objects.notes.len();
            let files = manifests_under(path, &mut reader.objects.notes)?;
            // Empty, unless the walk found something it said instead of reading.
            if files.is_empty() && reader.objects.notes.len() == noted {
                return Err(Error::input(
                    path.display(),
                    "no .yaml, .yml or .json file in this directory",
                ));
            }
            for file in files {
                reader.parse_file(&file, limits)?;
            }
        } else {
            reader.parse_file(path, limits)?;
        }
    }
    Ok(reader.objects.into_snapshot())
}

/// The message for an input larger than the limit.
fn too_large(name: &Path, limits: ReadLimits) -> Error {
    Error::input(
        name.display(),
        format!(
            "larger than {}, the most one input may hold (raise the limit with {})",
            byte_size(limits.max_bytes),
            ReadLimits::FLAG
        ),
    )
}

/// `256 MiB`, `1 GiB`, or bytes when not a whole number of MiB.
fn byte_size(bytes: u64) -> String {
    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;
    if bytes >= GIB && bytes.is_multiple_of(GIB) {
        format!("{} GiB", bytes / GIB)
    } else if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// Manifest files below `dir`, recursively, in a stable (sorted) order.
///
/// Each real directory is entered once, whatever the symbolic links leading to it: a link
/// to the directory itself, to an ancestor, or two links forming loops would otherwise make
/// the walk endless. Of a directory reached by several paths, the first in sorted order is
/// the one walked. Only regular files are read: a FIFO, socket or device inside a directory
/// would block or never end, so it is skipped without a word (one named with `-f` is read
/// as given).
fn manifests_under(dir: &Path, notes: &mut Vec<InputNote>) -> Result<Vec<PathBuf>, Error> {
    let mut found = Vec::new();
    let mut entered = HashSet::new();
    walk(dir, &mut entered, &mut found, notes)?;
    found.sort();
    Ok(found)
}

/// [`manifests_under`] for one directory; `entered` holds the real paths already walked.
fn walk(
    dir: &Path,
    entered: &mut HashSet<PathBuf>,
    found: &mut Vec<PathBuf>,
    notes: &mut Vec<InputNote>,
) -> Result<(), Error> {
    let real = std::fs::canonicalize(dir).map_err(|e| Error::input(dir.display(), e))?;
    if !entered.insert(real) {
        return Ok(());
    }
    let mut entries = std::fs::read_dir(dir)
        .and_then(|entries| {
            entries
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(|e| Error::input(dir.display(), e))?;
    entries.sort();
    for path in entries {
        // Through links: a link to a directory is walked, a link to a regular file read.
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() && is_kustomization(&path) => {
                notes.push(kustomization_note(&path));
            }
            Ok(meta) if meta.is_dir() => walk(&path, entered, found, notes)?,
            Ok(meta) if meta.is_file() && is_manifest(&path) => found.push(path),
            Ok(_) => {}
            // A dangling link named like a manifest is an input that cannot be read.
            Err(e) if is_manifest(&path) => return Err(Error::input(path.display(), e)),
            Err(_) => {}
        }
    }
    Ok(())
}

fn is_manifest(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| MANIFEST_EXTENSIONS.contains(&e))
}

struct Reader<'a> {
    namespaces: &'a Namespaces,
    objects: Objects,
    /// The file being read, for the objects' locations.
    file: std::sync::Arc<str>,
}

/// Objects by identity: an object defined twice keeps its last definition, as a second
/// `kubectl apply` would, in the place of its first. Each object is kept once, in its
/// kind's list, as it is read (no second copy is ever made of the objects).
#[derive(Default)]
struct Objects {
    /// The lists being filled, in the order objects are first defined.
    snapshot: Snapshot,
    /// Every Deployment and CustomResourceDefinition: which are MetalLB's is told at the end.
    deployments: Vec<Deployment>,
    crds: Vec<CustomResourceDefinition>,
    /// Each object's place in its kind's list, for the kinds with an object defined twice:
    /// made from the list on the first repeat, kept from then on. Where each object was read
    /// (its last definition) goes straight into the snapshot's `locations`; most inputs
    /// define each object once and need no places at all.
    places: HashMap<Kind, HashMap<Named, usize>>,
    /// What reading noticed about the files themselves.
    notes: Vec<InputNote>,
}

/// An object's namespace and name.
type Named = (CompactString, CompactString);

/// `file:line`, or the file alone.
fn place_of(at: &Location) -> String {
    match at.line {
        Some(line) => format!("{}:{line}", at.file),
        None => at.file.to_string(),
    }
}

/// The files that make a directory a kustomization (`kubectl kustomize` looks for these).
const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

fn is_kustomization(dir: &Path) -> bool {
    KUSTOMIZATION_FILES.iter().any(|f| dir.join(f).is_file())
}

/// A directory holding a kustomization is not read as plain manifests: a patch file in it
/// would replace the object it patches. It is said, not read.
fn kustomization_note(dir: &Path) -> InputNote {
    InputNote {
        issue: InputIssue::NotRendered,
        object: None,
        at: Location {
            file: std::sync::Arc::from(dir.display().to_string()),
            line: None,
        },
        message: format!(
            "{} holds a kustomization: its files are not read as plain manifests (a patch would replace what it patches); render it with -k {}, as kubectl apply -k does",
            dir.display(),
            dir.display()
        ),
    }
}

/// The kinds the plugin reads; every other kind is skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    Pool,
    /// The legacy `AddressPool` (read as a pool by v0.13.x only).
    LegacyPool,
    L2,
    Bgp,
    Service,
    Namespace,
    Event,
    /// Only MetalLB's controller is kept: it says where and how MetalLB runs.
    Deployment,
    ConfigurationState,
    /// Only MetalLB's CRDs are kept: they say which release is installed.
    Crd,
}

impl Kind {
    fn of(kind: &str, api_version: &str) -> Option<Kind> {
        let group = api_version.split_once('/').map_or("", |(g, _)| g);
        match (kind, group) {
            ("IPAddressPool", "metallb.io") => Some(Kind::Pool),
            ("AddressPool", "metallb.io") => Some(Kind::LegacyPool),
            ("L2Advertisement", "metallb.io") => Some(Kind::L2),
            ("BGPAdvertisement", "metallb.io") => Some(Kind::Bgp),
            ("Service", "") => Some(Kind::Service),
            ("Namespace", "") => Some(Kind::Namespace),
            ("Event", "") => Some(Kind::Event),
            ("Deployment", "apps") => Some(Kind::Deployment),
            ("ConfigurationState", "metallb.io") => Some(Kind::ConfigurationState),
            ("CustomResourceDefinition", "apiextensions.k8s.io") => Some(Kind::Crd),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Pool => "IPAddressPool",
            Kind::LegacyPool => "AddressPool",
            Kind::L2 => "L2Advertisement",
            Kind::Bgp => "BGPAdvertisement",
            Kind::Service => "Service",
            Kind::Namespace => "Namespace",
            Kind::Event => "Event",
            Kind::Deployment => "Deployment",
            Kind::ConfigurationState => "ConfigurationState",
            Kind::Crd => "CustomResourceDefinition",
        }
    }
}

/// The object of `kind` read by `$read` (an expression typed anew in each arm).
macro_rules! object_of {
    ($kind:expr, $read:expr) => {
        match $kind {
            Kind::Pool => Object::Pool($read?),
            Kind::LegacyPool => Object::LegacyPool($read?),
            Kind::L2 => Object::L2($read?),
            Kind::Bgp => Object::Bgp($read?),
            Kind::Service => Object::Service($read?),
            Kind::Namespace => Object::Namespace($read?),
            Kind::Event => Object::Event($read?),
            Kind::Deployment => Object::Deployment($read?),
            Kind::ConfigurationState => Object::ConfigurationState($read?),
            Kind::Crd => Object::Crd($read?),
        }
    };
}

/// One object, typed.
enum Object {
    Pool(IpAddressPool),
    LegacyPool(AddressPool),
    L2(Advertisement),
    Bgp(Advertisement),
    Service(Service),
    Namespace(Namespace),
    Event(Event),
    Deployment(Deployment),
    ConfigurationState(ConfigurationState),
    Crd(CustomResourceDefinition),
}

impl Object {
    /// Deserializes an object of a known kind straight from the parser, keeping the path of
    /// a wrongly typed field (`spec.autoAssign`).
    fn read<'de, D: Deserializer<'de>>(
        kind: Kind,
        de: D,
    ) -> Result<Object, serde_path_to_error::Error<D::Error>> {
        Ok(object_of!(kind, serde_path_to_error::deserialize(de)))
    }

    /// [`Object::read`] without the path: keeping it costs an allocation per key, so a
    /// reader reads without it, and again with it only for the message of a failure.
    fn read_fast<'de, D: Deserializer<'de>>(kind: Kind, de: D) -> Result<Object, D::Error> {
        Ok(object_of!(kind, Deserialize::deserialize(de)))
    }

    fn metadata_mut(&mut self) -> &mut Metadata {
        match self {
            Object::Pool(o) => &mut o.metadata,
            Object::LegacyPool(o) => &mut o.metadata,
            Object::L2(o) | Object::Bgp(o) => &mut o.metadata,
            Object::Service(o) => &mut o.metadata,
            Object::Namespace(o) => &mut o.metadata,
            Object::Event(o) => &mut o.metadata,
            Object::Deployment(o) => &mut o.metadata,
            Object::ConfigurationState(o) => &mut o.metadata,
            Object::Crd(o) => &mut o.metadata,
        }
    }
}

impl Objects {
    /// Keeps `object` (of `kind`, named by `key`) read at `location`.
    fn insert(&mut self, kind: Kind, key: ObjectKey, object: Object, location: Location) {
        let Some(last) = self.snapshot.locations.get_mut(&key) else {
            let slot = self.push(object);
            if let Some(places) = self.places.get_mut(&kind) {
                places.insert((key.namespace.clone(), key.name.clone()), slot);
            }
            self.snapshot.locations.insert(key, location);
            return;
        };
        let what = match key.namespace.as_str() {
            "" => format!("{} {}", key.kind, key.name),
            ns => format!("{} {ns}/{}", key.kind, key.name),
        };
        let message = format!(
            "{what} is defined at {} and again at {}: the last definition is read, as kubectl apply of the files in order would leave it",
            place_of(last),
            place_of(&location)
        );
        *last = location.clone();
        let slot = self.place(kind, &key);
        self.replace(slot, object);
        self.notes.push(InputNote {
            issue: InputIssue::DuplicateObject,
            object: Some(key),
            at: location,
            message,
        });
    }

    /// The place of object `key` in its kind's list.
    fn place(&mut self, kind: Kind, key: &ObjectKey) -> usize {
        fn places_in<T>(list: &[T], metadata: fn(&T) -> &Metadata) -> HashMap<Named, usize> {
            let named = |o: &T| {
                let m = metadata(o);
                (m.namespace.clone(), m.name.clone())
            };
            list.iter()
                .enumerate()
                .map(|(i, o)| (named(o), i))
                .collect()
        }
        let s = &self.snapshot;
        let places = self.places.entry(kind).or_insert_with(|| match kind {
            Kind::Pool => places_in(&s.pools, |o| &o.metadata),
            Kind::LegacyPool => places_in(&s.legacy_pools, |o| &o.metadata),
            Kind::L2 => places_in(&s.l2_advertisements, |o| &o.metadata),
            Kind::Bgp => places_in(&s.bgp_advertisements, |o| &o.metadata),
            Kind::Service => places_in(&s.services, |o| &o.metadata),
            Kind::Namespace => places_in(&s.namespaces, |o| &o.metadata),
            Kind::Event => places_in(&s.events, |o| &o.metadata),
            Kind::Deployment => places_in(&self.deployments, |o| &o.metadata),
            Kind::ConfigurationState => places_in(&s.configuration_states, |o| &o.metadata),
            Kind::Crd => places_in(&self.crds, |o| &o.metadata),
        });
        places[&(key.namespace.clone(), key.name.clone())]
    }

    /// Makes room for `count` more objects of `kind` at once: growing a list of 50,000
    /// services by doubling copied it, and the map of locations with it, several times over.
    fn make_room(&mut self, kind: Kind, count: usize) {
        let s = &mut self.snapshot;
        match kind {
            Kind::Pool => s.pools.reserve(count),
            Kind::LegacyPool => s.legacy_pools.reserve(count),
            Kind::L2 => s.l2_advertisements.reserve(count),
            Kind::Bgp => s.bgp_advertisements.reserve(count),
            Kind::Service => s.services.reserve(count),
            Kind::Namespace => s.namespaces.reserve(count),
            Kind::Event => s.events.reserve(count),
            Kind::Deployment => self.deployments.reserve(count),
            Kind::ConfigurationState => s.configuration_states.reserve(count),
            Kind::Crd => self.crds.reserve(count),
        }
        s.locations.reserve(count);
    }

    /// Adds an object to its kind's list: its place there.
    fn push(&mut self, object: Object) -> usize {
        fn push<T>(list: &mut Vec<T>, item: T) -> usize {
            list.push(item);
            list.len() - 1
        }
        let s = &mut self.snapshot;
        match object {
            Object::Pool(o) => push(&mut s.pools, o),
            Object::LegacyPool(o) => push(&mut s.legacy_pools, o),
            Object::L2(o) => push(&mut s.l2_advertisements, o),
            Object::Bgp(o) => push(&mut s.bgp_advertisements, o),
            Object::Service(o) => push(&mut s.services, o),
            Object::Namespace(o) => push(&mut s.namespaces, o),
            Object::Event(o) => push(&mut s.events, o),
            Object::Deployment(o) => push(&mut self.deployments, o),
            Object::ConfigurationState(o) => push(&mut s.configuration_states, o),
            Object::Crd(o) => push(&mut self.crds, o),
        }
    }

    /// Puts a later definition in the place of the first (same kind, so same list).
    fn replace(&mut self, slot: usize, object: Object) {
        let s = &mut self.snapshot;
        match object {
            Object::Pool(o) => s.pools[slot] = o,
            Object::LegacyPool(o) => s.legacy_pools[slot] = o,
            Object::L2(o) => s.l2_advertisements[slot] = o,
            Object::Bgp(o) => s.bgp_advertisements[slot] = o,
            Object::Service(o) => s.services[slot] = o,
            Object::Namespace(o) => s.namespaces[slot] = o,
            Object::Event(o) => s.events[slot] = o,
            Object::Deployment(o) => self.deployments[slot] = o,
            Object::ConfigurationState(o) => s.configuration_states[slot] = o,
            Object::Crd(o) => self.crds[slot] = o,
        }
    }

    fn into_snapshot(self) -> Snapshot {
        let mut snapshot = self.snapshot;
        // The lists grew by doubling: give back the room they do not use.
        snapshot.services.shrink_to_fit();
        snapshot.events.shrink_to_fit();
        snapshot.namespaces.shrink_to_fit();
        snapshot.pools.shrink_to_fit();
        let controllers: Vec<Deployment> =
            self.deployments.into_iter().filter(is_controller).collect();
        if !controllers.is_empty() {
            snapshot.controllers = Some(controllers);
        }
        for crd in self.crds.iter().filter(|c| c.spec.group == METALLB_GROUP) {
            snapshot.crds.get_or_insert_default().add(crd);
        }
        snapshot.namespaces_known = !snapshot.namespaces.is_empty();
        snapshot.input_notes = self.notes;
        snapshot
    }
}

/// What names a JSON object in messages, read only when typing it has failed.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Head<'a> {
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
    let inner = plain_words(&strip_position(&e.inner().to_string()));
    if path == "." {
        inner
    } else {
        format!("{path}: {inner}")
    }
}

/// Serde names the Rust type it expected (`expected struct PoolSpec`): say what the input
/// should have held instead.
fn plain_words(message: &str) -> String {
    const STRUCT: &str = "expected struct ";
    let Some(at) = message.find(STRUCT) else {
        return message.to_string();
    };
    let rest = &message[at + STRUCT.len()..];
    let name_end = rest
        .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .unwrap_or(rest.len());
    format!("{}expected a mapping{}", &message[..at], &rest[name_end..])
}

const NOT_AN_OBJECT: &str = "expected a Kubernetes object (a mapping with kind)";

/// `Kind namespace/name` for messages.
fn describe(kind: Kind, namespace: Option<&str>, name: Option<&str>) -> String {
    match (namespace.filter(|n| !n.is_empty()), name) {
        (Some(ns), Some(name)) => format!("{} {ns}/{name}", kind.name()),
        (None, Some(name)) => format!("{} {name}", kind.name()),
        _ => kind.name().to_string(),
    }
}

impl Reader<'_> {
    fn parse_file(&mut self, path: &Path, limits: ReadLimits) -> Result<(), Error> {
        let file = File::open(path).map_err(|e| Error::input(path.display(), e))?;
        // A regular file's length is known: one over the limit is refused unread.
        if let Ok(meta) = file.metadata()
            && meta.is_file()
            && meta.len() > limits.max_bytes
        {
            return Err(too_large(path, limits));
        }
        self.parse_input(path, file, limits)
    }

    /// Text already in memory (`-k`'s rendering), read as a file would be.
    fn parse(&mut self, path: &Path, text: &str) -> Result<(), Error> {
        let limits = ReadLimits {
            max_bytes: u64::MAX,
        };
        self.parse_input(path, text.as_bytes(), limits)
    }

    /// Reads one input as it streams in: JSON when named `.json` or when its text starts
    /// with `{` or `[`, YAML otherwise. A failure is told once the whole input has been
    /// checked, so an input too large or not text is named as such whatever failed first,
    /// and a Helm template is noted rather than failing the run.
    fn parse_input(
        &mut self,
        path: &Path,
        reader: impl Read,
        limits: ReadLimits,
    ) -> Result<(), Error> {
        let name = path.display().to_string();
        self.file = std::sync::Arc::from(name.as_str());
        let mut input = input::Input::new(name.clone(), reader, limits);
        let parsed = self.parse_stream(path, &name, &mut input);
        let Err(error) = parsed else {
            return Ok(());
        };
        input.finish()?;
        match error {
            // A Helm template is no manifest until `helm template` renders it.
            Error::Input { place, .. } if input.looks_like_helm() => {
                self.objects.notes.push(InputNote {
                    issue: InputIssue::NotRendered,
                    object: None,
                    at: Location {
                        file: self.file.clone(),
                        line: None,
                    },
                    message: format!(
                        "{} is a Helm template ({{{{ … }}}}), not manifests: it was not read (render it with helm template; the first place it does not read as YAML is {place})",
                        path.display()
                    ),
                });
                Ok(())
            }
            other => Err(other),
        }
    }

    fn parse_stream<R: Read>(
        &mut self,
        path: &Path,
        name: &str,
        input: &mut input::Input<R>,
    ) -> Result<(), Error> {
        input.skip_bom()?;
        let is_json = path.extension().is_some_and(|e| e == "json")
            || matches!(input.first_content_byte()?, Some(b'{' | b'['));
        if is_json {
            json::read(input, name, &mut FileSink { reader: self, name })
        } else {
            yaml::read(input, name, &mut FileSink { reader: self, name })
        }
    }

    /// Keeps an object found in the input.
    fn add_found(&mut self, name: &str, found: Found) -> Result<(), Error> {
        if let Some(message) = found.note {
            self.objects.notes.push(InputNote {
                issue: InputIssue::UnknownKind,
                object: None,
                at: Location {
                    file: self.file.clone(),
                    line: Some(found.line),
                },
                message: format!("{name}:{}: {message}", found.line),
            });
        }
        match found.kind {
            Some((kind, object)) => {
                let line = found.line;
                self.add_object(|| format!("{name}:{line}"), kind, object, Some(line))
            }
            None => Ok(()),
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
            Kind::Namespace | Kind::Crd => "",
            Kind::Pool | Kind::LegacyPool | Kind::L2 | Kind::Bgp | Kind::ConfigurationState => {
                &self.namespaces.metallb
            }
            Kind::Service | Kind::Event | Kind::Deployment => &self.namespaces.default,
        };
        let metadata = object.metadata_mut();
        if metadata.namespace.is_empty() {
            metadata.namespace = default_namespace.into();
        }
        if metadata.name.is_empty() {
            return Err(Error::input(
                place(),
                format!("{} has no metadata.name", kind.name()),
            ));
        }
        let key = ObjectKey::new(kind.name(), &metadata.namespace, &metadata.name);
        let location = Location {
            file: self.file.clone(),
            line,
        };
        self.objects.insert(kind, key, object, location);
        Ok(())
    }
}

/// Where a reader hands the objects it finds.
trait Sink {
    fn found(&mut self, found: Found) -> Result<(), Error>;
    /// `count` objects of `kind` are about to be handed on (a List's items).
    fn expect(&mut self, kind: Kind, count: usize);
}

/// A sink that only takes the objects (it makes no room ahead).
impl<F: FnMut(Found) -> Result<(), Error>> Sink for F {
    fn found(&mut self, found: Found) -> Result<(), Error> {
        self(found)
    }

    fn expect(&mut self, _: Kind, _: usize) {}
}

/// One List item, typed or not, waiting for the List's `kind`.
type Pending = Result<Found, Error>;

/// A List's items, typed while its `kind` is still unknown (kubectl writes a JSON List's
/// `items` before its `kind`; a YAML List's items are cut apart and typed before its document
/// is read). Held in chunks: holding more never copies what is held, and each chunk is freed
/// once its items are handed on.
#[derive(Default)]
struct PendingItems {
    chunks: Vec<Vec<Pending>>,
}

impl PendingItems {
    const CHUNK: usize = 1024;

    fn push(&mut self, item: Pending) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < Self::CHUNK => chunk.push(item),
            _ => {
                let mut chunk = Vec::with_capacity(Self::CHUNK);
                chunk.push(item);
                self.chunks.push(chunk);
            }
        }
    }

    /// Whether the last item failed: the items after it are scanned, not typed.
    fn failed(&self) -> bool {
        self.chunks
            .last()
            .and_then(|chunk| chunk.last())
            .is_some_and(Result::is_err)
    }

    /// Hands every item on, in order: first how many of each kind come (up to the first
    /// failure, which ends the List), then the items.
    fn hand_on(self, sink: &mut dyn Sink) -> Result<(), Error> {
        let mut counts: Vec<(Kind, usize)> = Vec::new();
        for item in self.chunks.iter().flatten() {
            let Ok(Found {
                kind: Some((kind, _)),
                ..
            }) = item
            else {
                continue;
            };
            match counts.iter_mut().find(|(k, _)| k == kind) {
                Some((_, count)) => *count += 1,
                None => counts.push((*kind, 1)),
            }
        }
        for (kind, count) in counts {
            sink.expect(kind, count);
        }
        for item in self.chunks.into_iter().flatten() {
            sink.found(item?)?;
        }
        Ok(())
    }
}

/// The reader of one file, as the sink of what is found in it.
struct FileSink<'r, 'a> {
    reader: &'r mut Reader<'a>,
    name: &'r str,
}

impl Sink for FileSink<'_, '_> {
    fn found(&mut self, found: Found) -> Result<(), Error> {
        self.reader.add_found(self.name, found)
    }

    fn expect(&mut self, kind: Kind, count: usize) {
        self.reader.objects.make_room(kind, count);
    }
}

/// An object found in the input: typed, or `None` for a kind the plugin skips.
struct Found {
    kind: Option<(Kind, Object)>,
    /// The line the object starts on.
    line: usize,
    /// What its `kind` or `apiVersion` seem to be misspellings of.
    note: Option<String>,
}

impl Found {
    /// An object of a kind the plugin skips, with a note when its kind looks misspelt.
    fn skipped(kind: Option<&str>, api_version: Option<&str>, line: usize) -> Found {
        Found {
            kind: None,
            line,
            note: kinds::misspelling(kind.unwrap_or(""), api_version.unwrap_or("")),
        }
    }
}

/// Types an object scanned from JSON: `Found { kind: None }` for a kind the plugin skips.
fn type_json(name: &str, scanned: &json::Scanned) -> Result<Found, Error> {
    let text = |t: &Option<String>| t.clone().unwrap_or_default();
    let (written, api_version) = (text(&scanned.kind), text(&scanned.api_version));
    let Some(kind) = Kind::of(&written, &api_version) else {
        return Ok(Found::skipped(
            Some(&written),
            Some(&api_version),
            scanned.line,
        ));
    };
    if let Ok(object) = Object::read_fast(
        kind,
        &mut serde_json::Deserializer::from_slice(scanned.slim),
    ) {
        return Ok(Found {
            kind: Some((kind, object)),
            line: scanned.line,
            note: kinds::misspelling(&written, &api_version),
        });
    }
    let typed = Object::read(
        kind,
        &mut serde_json::Deserializer::from_slice(scanned.slim),
    );
    let e = match typed {
        Ok(object) => {
            return Ok(Found {
                kind: Some((kind, object)),
                line: scanned.line,
                note: kinds::misspelling(&written, &api_version),
            });
        }
        Err(e) => e,
    };
    // What the head (`metadata`…) has wrong is told first, as it names the object.
    let mut de = serde_json::Deserializer::from_slice(scanned.slim);
    let (line, message) = match serde_path_to_error::deserialize::<_, Head>(&mut de) {
        Err(head) => (head.inner().line(), field_error(&head)),
        Ok(head) => {
            let meta = head.metadata.as_ref();
            let what = describe(
                kind,
                meta.and_then(|m| m.namespace.as_deref()),
                meta.and_then(|m| m.name.as_deref()),
            );
            (e.inner().line(), format!("{what}: {}", field_error(&e)))
        }
    };
    Err(Error::input(
        format!("{name}:{}", scanned.file_line(line)),
        message,
    ))
}

/// An object read from a tree that is not what its kind says.
struct Mistyped {
    /// `Kind namespace/name: field.path: message`.
    message: String,
    /// Where the wrongly typed value is in the object.
    path: Vec<Step>,
}

/// One step of a path into an object: a mapping's key or a list's index.
#[derive(Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

fn steps(path: &serde_path_to_error::Path) -> Vec<Step> {
    use serde_path_to_error::Segment;
    path.iter()
        .map_while(|segment| match segment {
            Segment::Map { key } => Some(Step::Key(key.clone())),
            Segment::Seq { index } => Some(Step::Index(*index)),
            _ => None,
        })
        .collect()
}

/// An object read from a tree, typed: `None` for a kind the plugin skips.
fn typed_object(object: Value) -> Result<Option<(Kind, Object)>, Mistyped> {
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
        Err(e) => Err(Mistyped {
            message: format!("{what}: {}", field_error(&e)),
            path: steps(e.path()),
        }),
    }
}

/// The top-level fields of the kinds the plugin reads (`kind`, `metadata`, `spec`… and an
/// Event's own); any other (a ConfigMap's `data`, a Secret's) is skipped unbuilt.
const READ_FIELDS: [&str; 12] = [
    "apiVersion",
    "kind",
    "metadata",
    "spec",
    "status",
    "involvedObject",
    "reason",
    "message",
    "type",
    "count",
    "lastTimestamp",
    "eventTime",
];

/// How deep a YAML document may nest. The parser's default (64) refused real
/// CustomResourceDefinitions (their schemas nest deeply), which aborted the whole run for an
/// object the plugin skips; the limit only remains to keep the (recursive) reader's stack
/// use bounded. Below the parser's own limit on `[`/`{` nesting (255), so that one message
/// tells of every document too deep.
const MAX_DEPTH: usize = 200;

/// The reader's stack: room for [`MAX_DEPTH`] levels eight times over
/// (an unoptimized build, which takes the most, needs 4 to 8 MiB for them). Only the part
/// used is ever given memory.
const READER_STACK_BYTES: usize = 64 << 20;

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

    pub(super) fn read_text(name: &str, text: &str) -> Result<Snapshot, Error> {
        let namespaces = Namespaces {
            metallb: "metallb-system".into(),
            default: "default".into(),
        };
        on_reader_stack(|| {
            let mut reader = Reader {
                namespaces: &namespaces,
                objects: Objects::default(),
                file: std::sync::Arc::from(""),
            };
            reader.parse(Path::new(name), text)?;
            Ok(reader.objects.into_snapshot())
        })
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

    /// A later definition takes the place of the first, whichever object of its kind that
    /// is, and objects first defined after a repeat are found in their places too.
    #[test]
    fn a_repeated_object_replaces_the_first_in_its_place() {
        let service = |name: &str, ip: &str| {
            format!(
                "---\napiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: a}}\nspec: {{loadBalancerIP: {ip}}}\n"
            )
        };
        let pool = |name: &str, range: &str| {
            format!(
                "---\napiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {{name: {name}}}\nspec: {{addresses: [{range}]}}\n"
            )
        };
        let text = [
            service("s0", "10.0.0.1"),
            service("s1", "10.0.0.2"),
            pool("p0", "10.0.0.0/24"),
            service("s2", "10.0.0.3"),
            service("s1", "10.0.0.12"),
            service("s3", "10.0.0.4"),
            pool("p1", "10.0.1.0/24"),
            pool("p0", "10.0.2.0/24"),
            service("s3", "10.0.0.14"),
            service("s0", "10.0.0.10"),
        ]
        .concat();
        let snapshot = read_text("d.yaml", &text).unwrap();
        let services: Vec<(&str, Option<&str>)> = snapshot
            .services
            .iter()
            .map(|s| (s.metadata.name.as_str(), s.spec.load_balancer_ip.as_deref()))
            .collect();
        assert_eq!(
            services,
            [
                ("s0", Some("10.0.0.10")),
                ("s1", Some("10.0.0.12")),
                ("s2", Some("10.0.0.3")),
                ("s3", Some("10.0.0.14")),
            ]
        );
        let pools: Vec<(&str, &[String])> = snapshot
            .pools
            .iter()
            .map(|p| (p.metadata.name.as_str(), &p.spec.addresses[..]))
            .collect();
        assert_eq!(
            pools,
            [
                ("p0", &["10.0.2.0/24".to_string()][..]),
                ("p1", &["10.0.1.0/24".to_string()][..])
            ]
        );
        let line =
            |kind, namespace, name| snapshot.locations[&ObjectKey::new(kind, namespace, name)].line;
        let lines_of = |needle: &str| {
            let lines: Vec<usize> = (1..)
                .zip(text.lines())
                .filter(|(_, l)| l.contains(needle))
                .map(|(n, _)| n - 2)
                .collect();
            lines
        };
        assert_eq!(
            line("Service", "a", "s0"),
            lines_of("name: s0,").last().copied()
        );
        assert_eq!(
            line("Service", "a", "s2"),
            lines_of("name: s2,").last().copied()
        );
        assert_eq!(
            line("IPAddressPool", "metallb-system", "p0"),
            lines_of("name: p0}").last().copied()
        );
        assert_eq!(snapshot.locations.len(), 6);
        let repeats = snapshot
            .input_notes
            .iter()
            .filter(|n| n.issue == InputIssue::DuplicateObject)
            .count();
        assert_eq!(repeats, 4);
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
        assert_eq!(place, "dump.yaml:19");
        assert!(
            message.starts_with("Service shop/bad: spec.ports[0].port:"),
            "{message}"
        );
    }

    #[test]
    fn metallb_crds_are_read_slim_and_other_crds_skipped() {
        let text = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: certificates.cert-manager.io}
spec:
  group: cert-manager.io
  names: {plural: certificates, kind: Certificate}
  versions: [{name: v1, served: true, storage: true}]
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: ipaddresspools.metallb.io}
spec:
  group: metallb.io
  names: {plural: ipaddresspools, kind: IPAddressPool}
  scope: Namespaced
  versions:
  - name: v1beta1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          status:
            type: object
            properties:
              assignedIPv4: {type: integer, format: int64}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: configurationstates.metallb.io}
spec:
  group: metallb.io
  names: {plural: configurationstates, kind: ConfigurationState}
  versions: [{name: v1beta1, served: true, storage: true}]
"#;
        let crds = read_text("crds.yaml", text).unwrap().crds.unwrap();
        assert_eq!(
            crds.resources.iter().collect::<Vec<_>>(),
            ["configurationstates", "ipaddresspools"]
        );
        assert!(crds.pool_status_assigned_ipv4);
        let foreign = text.split("---").next().unwrap();
        assert_eq!(read_text("crds.yaml", foreign).unwrap().crds, None);
        let (place, message) = place_and_message(
            read_text(
                "bad.yaml",
                &text.replace("served: true, storage", "served: \"maybe\", storage"),
            )
            .unwrap_err(),
        );
        assert!(place.starts_with("bad.yaml:"), "{place}");
        assert!(
            message.starts_with(
                "CustomResourceDefinition certificates.cert-manager.io: spec.versions[0].served"
            ),
            "{message}"
        );
    }

    #[test]
    fn a_document_that_is_not_a_mapping_is_refused() {
        let (place, message) =
            place_and_message(read_text("odd.yaml", "---\n- a\n- b\n").unwrap_err());
        assert_eq!(place, "odd.yaml:2");
        assert_eq!(
            message,
            "expected a Kubernetes object (a mapping with kind)"
        );
    }

    // --- Directory walks, special files, input size ---

    fn namespaces() -> Namespaces {
        Namespaces {
            metallb: "metallb-system".into(),
            default: "default".into(),
        }
    }

    const POOL: &str = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: public}\nspec: {addresses: [192.0.2.0/28]}\n";
    const SERVICE: &str =
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {type: LoadBalancer}\n";

    /// A directory so deep below `root` that fewer than 1,000 bytes of a path remain: a
    /// walk that followed links forever ends after a few levels (the path grows too long)
    /// instead of running away, so the loop tests cannot hang whatever the walk does.
    #[cfg(unix)]
    fn deep_dir(root: &Path) -> PathBuf {
        let mut dir = root.to_path_buf();
        while dir.as_os_str().len() < 3_100 {
            dir.push("d".repeat(250));
        }
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[cfg(unix)]
    fn link(target: &str, at: &Path) {
        std::os::unix::fs::symlink(target, at).unwrap();
    }

    /// An empty directory is an error even after an earlier input had something to say
    /// (a kustomization noted, not read): only what the walk of this directory noted excuses it.
    #[test]
    fn an_empty_directory_is_an_error_whatever_came_before() {
        let root = tempfile::tempdir().unwrap();
        let kustomized = root.path().join("overlay");
        let empty = root.path().join("empty");
        std::fs::create_dir_all(&kustomized).unwrap();
        std::fs::create_dir_all(&empty).unwrap();
        std::fs::write(kustomized.join("kustomization.yaml"), "resources: []\n").unwrap();
        let noted = read(std::slice::from_ref(&kustomized), &namespaces()).unwrap();
        assert_eq!(noted.input_notes.len(), 1);
        let e = read(&[kustomized, empty], &namespaces()).unwrap_err();
        assert!(
            e.to_string().contains("no .yaml, .yml or .json file"),
            "{e}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_linking_to_itself_is_walked_once() {
        let root = tempfile::tempdir().unwrap();
        let dir = deep_dir(root.path());
        std::fs::write(dir.join("pool.yaml"), POOL).unwrap();
        link(".", &dir.join("self"));
        assert_eq!(
            manifests_under(&dir, &mut Vec::new()).unwrap(),
            [dir.join("pool.yaml")]
        );
    }

    #[cfg(unix)]
    #[test]
    fn two_loops_and_a_link_to_an_ancestor_are_walked_once() {
        let root = tempfile::tempdir().unwrap();
        let dir = deep_dir(root.path());
        std::fs::create_dir(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/pool.yaml"), POOL).unwrap();
        link(".", &dir.join("l".repeat(250)));
        link(".", &dir.join("m".repeat(250)));
        link("..", &dir.join("sub").join("u".repeat(250)));
        // Two paths to one real directory: the first in sorted order is the one read.
        link("sub", &dir.join("also-sub"));
        assert_eq!(
            manifests_under(&dir, &mut Vec::new()).unwrap(),
            [dir.join("also-sub/pool.yaml")]
        );
        let snapshot = read(&[dir], &namespaces()).unwrap();
        assert_eq!(snapshot.pools.len(), 1);
    }

    #[cfg(unix)]
    fn mkfifo(path: &Path) {
        let status = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Writes `text` into the FIFO at `path` once a reader opens it.
    #[cfg(unix)]
    fn fifo_writer(path: &Path, text: &'static str) -> std::thread::JoinHandle<()> {
        let path = path.to_path_buf();
        std::thread::spawn(move || {
            use std::io::Write;
            let mut fifo = std::fs::OpenOptions::new().write(true).open(path).unwrap();
            // The reader may be gone (it only opened to release this thread).
            let _ = fifo.write_all(text.as_bytes());
        })
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_inside_a_directory_is_skipped() {
        use std::os::unix::fs::OpenOptionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pool.yaml"), POOL).unwrap();
        let fifo = dir.path().join("service.yaml");
        mkfifo(&fifo);
        // A writer is waiting, so a walk that opened the FIFO would read it, not hang.
        let writer = fifo_writer(&fifo, SERVICE);
        let snapshot = read(&[dir.path().to_path_buf()], &namespaces()).unwrap();
        // Release the writer: a non-blocking open for reading never waits.
        let release = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .unwrap();
        writer.join().unwrap();
        drop(release);
        assert_eq!(snapshot.pools.len(), 1);
        assert!(snapshot.services.is_empty(), "the FIFO was read");
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_named_explicitly_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("input");
        mkfifo(&fifo);
        let writer = fifo_writer(&fifo, SERVICE);
        let snapshot = read(&[fifo], &namespaces()).unwrap();
        writer.join().unwrap();
        assert_eq!(snapshot.services.len(), 1);
    }

    #[test]
    fn an_input_over_the_limit_is_refused_naming_the_limit_and_the_flag() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("big.yaml");
        std::fs::write(&file, format!("{POOL}#{}\n", " ".repeat(2 << 20))).unwrap();
        let limits = ReadLimits { max_bytes: 1 << 20 };
        let error = read_limited(std::slice::from_ref(&file), &namespaces(), limits).unwrap_err();
        let (place, message) = place_and_message(error);
        assert_eq!(place, file.display().to_string());
        assert_eq!(
            message,
            "larger than 1 MiB, the most one input may hold (raise the limit with --max-input-size)"
        );
        // At the limit exactly, it is read.
        let limits = ReadLimits {
            max_bytes: std::fs::metadata(&file).unwrap().len(),
        };
        assert_eq!(
            read_limited(&[file], &namespaces(), limits)
                .unwrap()
                .pools
                .len(),
            1
        );
    }

    #[cfg(unix)]
    #[test]
    fn an_endless_input_stops_at_the_limit() {
        let limits = ReadLimits { max_bytes: 1 << 20 };
        let error = read_limited(&[PathBuf::from("/dev/zero")], &namespaces(), limits).unwrap_err();
        let (place, message) = place_and_message(error);
        assert_eq!(place, "/dev/zero");
        assert!(message.starts_with("larger than 1 MiB"), "{message}");
    }

    #[test]
    fn the_default_limit_is_256_mib() {
        assert_eq!(ReadLimits::default().max_bytes, 256 << 20);
        assert_eq!(byte_size(256 << 20), "256 MiB");
        assert_eq!(byte_size(2 << 30), "2 GiB");
        assert_eq!(byte_size(1000), "1000 bytes");
    }

    // --- Messages, byte-order marks, skipped kinds ---

    fn message_of(name: &str, text: &str) -> String {
        let (_, message) = place_and_message(read_text(name, text).unwrap_err());
        assert!(!message.contains("struct "), "{message}");
        message
    }

    #[test]
    fn a_json_head_that_is_wrong_is_told_in_plain_words() {
        assert_eq!(
            message_of("a.json", r#"{"kind": 5}"#),
            "kind: invalid type: integer `5`, expected a string"
        );
        assert_eq!(
            message_of("a.json", r#"{"kind": "Service", "metadata": "web"}"#),
            "metadata: invalid type: string \"web\", expected a mapping"
        );
        assert_eq!(message_of("a.json", r#""x""#), NOT_AN_OBJECT);
        assert_eq!(message_of("a.json", "[1, 2]"), NOT_AN_OBJECT);
    }

    #[test]
    fn a_mapping_field_that_is_not_one_is_told_in_plain_words() {
        for (name, text) in [
            (
                "a.json",
                r#"{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": "x"}"#,
            ),
            (
                "a.yaml",
                "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: x\n",
            ),
        ] {
            assert_eq!(
                message_of(name, text),
                "Service web: spec: invalid type: string \"x\", expected a mapping",
                "{name}"
            );
        }
    }

    #[test]
    fn yaml_limits_are_told_in_plain_words() {
        let deep = format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: web}}\nspec: {}{}\n",
            "[".repeat(MAX_DEPTH + 1),
            "]".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(
            message_of("deep.yaml", &deep),
            format!("nested more than {MAX_DEPTH} levels deep")
        );
        // At the limit, a document is read, whether kept, skipped or a List item, and a
        // wrongly typed field in it is still found (the reader has the stack for it).
        let levels = MAX_DEPTH - 2;
        let at_limit = deep.replace(
            &"[".repeat(MAX_DEPTH + 1),
            &format!("{{type: LoadBalancer, x: {}", "[".repeat(levels)),
        );
        let at_limit = at_limit.replace(
            &"]".repeat(MAX_DEPTH + 1),
            &format!("{}}}", "]".repeat(levels)),
        );
        assert_eq!(read_text("deep.yaml", &at_limit).unwrap().services.len(), 1);
        let mistyped = at_limit.replace("LoadBalancer", "[1]");
        let (place, message) = place_and_message(read_text("deep.yaml", &mistyped).unwrap_err());
        assert_eq!(place, "deep.yaml:4");
        assert!(
            message.starts_with("Service web: spec.type: invalid type"),
            "{message}"
        );
        let crd = deep_crd(MAX_DEPTH / 2 - 6);
        assert!(read_text("crd.yaml", &crd).is_ok());
        let list = format!(
            "apiVersion: v1\nkind: List\nitems:\n- {}",
            crd.replace('\n', "\n  ")
        );
        assert!(read_text("list.yaml", &list).is_ok());
        // Anchors of aliases of anchors: eight lines that expand to a hundred million nodes.
        let mut bomb = String::from(
            "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
        );
        for level in 1..9 {
            let previous = format!("*a{}", level - 1);
            bomb.push_str(&format!(
                "  a{level}: &a{level} [{}]\n",
                [previous.as_str(); 10].join(", ")
            ));
        }
        assert_eq!(
            message_of("bomb.yaml", &bomb),
            "anchors and aliases (&name, *name, <<) expand to more than this reader accepts"
        );
        // In a field no kind reads, an alias is never expanded: no bomb.
        let unread = bomb.replace("spec:", "unread:");
        assert_eq!(read_text("bomb.yaml", &unread).unwrap().services.len(), 1);
    }

    #[test]
    fn a_wrongly_typed_scalar_names_its_own_line() {
        let pool = "---\napiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: p\nspec:\n  addresses:\n  - 192.0.2.0/24\n  autoAssign: \"true\"\n";
        let service = "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\nspec:\n  ports:\n  - port: 80\n    name: 8\n  type: 5\n";
        for (text, line) in [
            (pool.to_string(), 9),
            (format!("{POOL}---\n{service}"), 13),
            (service.replace("type: 5", "type: LoadBalancer"), 8),
        ] {
            let (place, _) = place_and_message(read_text("x.yaml", &text).unwrap_err());
            assert_eq!(place, format!("x.yaml:{line}"), "{text}");
        }
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_text() {
        let json = "\u{feff}{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": \"web\"}}";
        assert_eq!(read_text("svc.json", json).unwrap().services.len(), 1);
        assert_eq!(read_text("svc", json).unwrap().services.len(), 1);
        let yaml = format!("\u{feff}{SERVICE}");
        assert_eq!(read_text("svc.yaml", &yaml).unwrap().services.len(), 1);
    }

    #[test]
    fn text_that_is_not_utf8_is_named_by_its_byte_offset() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.yaml");
        let mut bytes = SERVICE.as_bytes().to_vec();
        let offset = SERVICE.find("web").unwrap() + 1;
        bytes[offset] = 0xFF;
        std::fs::write(&file, bytes).unwrap();
        let error = read(std::slice::from_ref(&file), &namespaces()).unwrap_err();
        let (place, message) = place_and_message(error);
        assert_eq!(place, format!("{}:3", file.display()));
        assert_eq!(
            message,
            format!("not UTF-8 text: byte 0xFF at byte offset {offset} is not valid UTF-8")
        );
    }

    /// A CustomResourceDefinition nested deeper than the parser's default limit (64).
    fn deep_crd(levels: usize) -> String {
        let mut schema = String::from("{type: string}");
        for _ in 0..levels {
            schema = format!("{{type: object, properties: {{x: {schema}}}}}");
        }
        format!(
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {{name: deep.example.com}}\nspec: {{versions: [{{name: v1, schema: {{openAPIV3Schema: {schema}}}}}]}}\n"
        )
    }

    #[test]
    fn a_deep_object_of_a_skipped_kind_does_not_stop_the_reading() {
        let crd = deep_crd(40);
        let text = format!("{crd}---\n{POOL}");
        assert_eq!(read_text("all.yaml", &text).unwrap().pools.len(), 1);
        let item = crd.replace('\n', "\n  ");
        let list = format!(
            "apiVersion: v1\nkind: List\nitems:\n- {item}\n- {}",
            POOL.replace('\n', "\n  ")
        );
        assert_eq!(read_text("list.yaml", &list).unwrap().pools.len(), 1);
    }

    #[test]
    fn the_body_of_a_skipped_kind_is_not_built() {
        // A mapping key that is itself a list cannot be built into a tree: reading it would
        // fail. `data` comes before `kind`, as kubectl writes a ConfigMap.
        let config_map =
            "apiVersion: v1\ndata:\n  ? [a, b]\n  : c\nkind: ConfigMap\nmetadata: {name: c}\n";
        let secret =
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  ? [a, b]\n  : c\n";
        // A Service of another group is skipped too.
        let knative = "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: k}\nspec:\n  ? [a, b]\n  : c\n";
        // (CustomResourceDefinitions are read, slim, for the MetalLB release they show.)
        for skipped in [config_map, secret, knative] {
            let text = format!("{skipped}---\n{POOL}");
            assert_eq!(
                read_text("all.yaml", &text).unwrap().pools.len(),
                1,
                "{skipped}"
            );
            let list = format!(
                "apiVersion: v1\nkind: List\nitems:\n- {}\n- {}",
                skipped.trim_end().replace('\n', "\n  "),
                POOL.replace('\n', "\n  ")
            );
            assert_eq!(
                read_text("list.yaml", &list).unwrap().pools.len(),
                1,
                "{list}"
            );
        }
    }

    #[test]
    fn an_event_read_from_yaml_keeps_every_field_it_has_in_json() {
        let yaml = "apiVersion: v1\nkind: Event\nmetadata: {name: e, namespace: shop}\ninvolvedObject: {kind: Service, namespace: shop, name: web}\nreason: AllocationFailed\nmessage: no pool\ntype: Warning\ncount: 3\nlastTimestamp: \"2024-01-01T00:00:00Z\"\neventTime: \"2024-01-01T00:00:00.000000Z\"\n";
        let tree: Value = serde_saphyr::from_str(yaml).unwrap();
        let from_yaml = read_text("e.yaml", yaml).unwrap();
        let from_json = read_text("e.json", &tree.to_string()).unwrap();
        assert_eq!(from_yaml.events, from_json.events);
        assert_eq!(from_yaml.events[0].count, Some(3));
        assert!(from_yaml.events[0].event_time.is_some());
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

    /// `count` services, each as its own JSON object and YAML document.
    fn many_services(count: usize) -> (String, String) {
        let service = |i: usize| {
            format!(
                "{{\"apiVersion\": \"v1\", \"kind\": \"Service\",\n  \"metadata\": {{\"name\": \"s{i}\", \"namespace\": \"n\", \"annotations\": {{\"metallb.io/address-pool\": \"p\", \"other\": \"{}\"}}}},\n  \"spec\": {{\"type\": \"LoadBalancer\", \"ports\": [{{\"port\": {i}}}]}}}}",
                "é".repeat(i % 7)
            )
        };
        let json = format!(
            "{{\"apiVersion\": \"v1\", \"items\": [\n{}\n], \"kind\": \"List\"}}",
            (0..count).map(service).collect::<Vec<_>>().join(",\n")
        );
        let yaml = (0..count)
            .map(|i| format!("---\n{}\n", service(i)))
            .collect::<String>();
        (json, yaml)
    }

    /// Items a List's one-pass reading takes, and items it leaves to the scanner.
    const VARIED_ITEMS: [&str; 7] = [
        r#"{"apiVersion": "v1", "kind": "Service", "data": {"x": [1, {"y": null}]},
  "metadata": {"name": "a", "namespace": "n", "annotations": {"metallb.io/address-pool": "p", "other": "x"}},
  "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}, "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}}"#,
        r#"{"apiVersion": "v1", "count": 2, "involvedObject": {"kind": "Service", "name": "a", "namespace": "n"},
  "kind": "Event", "message": "m", "metadata": {"name": "e", "namespace": "n"}, "reason": "IPAllocated", "type": "Normal"}"#,
        r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}}"#,
        r#"{"apiVersion": "v1", "kind": "Servce", "metadata": {"name": "typo"}}"#,
        r#"{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "twice"},
  "kind": "ConfigMap"}"#,
        r#"{"apiVersion": "metallb.io/v1beta3", "kind": "IPAddressPool",
  "metadata": {"name": "p", "namespace": "metallb-system"}, "spec": {"addresses": ["192.0.2.0/28"]}}"#,
        r#"{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a", "namespace": "n"}}"#,
    ];

    #[test]
    fn list_items_read_as_the_same_objects_one_by_one_do() {
        // Each item on the same lines in both: the List's items are read in one pass, the
        // documents by the scanner.
        let list = format!(
            "{{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n{}\n]}}",
            VARIED_ITEMS.join(",\n")
        );
        let documents = format!("\n{}\n", VARIED_ITEMS.join("\n"));
        let read = |text: &str| {
            let s = read_text("dump.json", text).unwrap();
            let notes: Vec<_> = s.input_notes.iter().map(|n| (&n.message, &n.at)).collect();
            let mut locations: Vec<_> = s.locations.iter().collect();
            locations.sort_by_key(|(key, _)| (*key).clone());
            format!(
                "{:?}\n{:?}\n{:?}\n{:?}\n{notes:?}\n{locations:?}",
                s.services, s.events, s.pools, s.namespaces
            )
        };
        let (from_list, from_documents) = (read(&list), read(&documents));
        assert_eq!(from_list, from_documents);
        for expected in [
            "IPAllocated",
            "did you mean Service?",
            "192.0.2.0/28",
            "is defined at",
        ] {
            assert!(from_list.contains(expected), "{expected}: {from_list}");
        }
    }

    #[test]
    fn a_wrong_list_item_after_good_ones_is_named_by_its_line() {
        let mut items = VARIED_ITEMS.to_vec();
        items.push("{\"apiVersion\": \"v1\", \"kind\": \"Service\",\n  \"spec\": {\"ports\": 80}}");
        let list = format!(
            "{{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n{}\n]}}",
            items.join(",\n")
        );
        let line = list.lines().count() - 1;
        let (place, message) = place_and_message(read_text("dump.json", &list).unwrap_err());
        assert_eq!(place, format!("dump.json:{line}"));
        assert!(
            message.starts_with("Service: spec.ports: invalid type"),
            "{message}"
        );
    }

    #[test]
    fn input_larger_than_a_read_is_read_across_the_seams() {
        let (json, yaml) = many_services(6_000);
        assert!(json.len() > 3 * (256 << 10), "several reads");
        for (name, text) in [("many.json", &json), ("many.yaml", &yaml)] {
            let snapshot = read_text(name, text).unwrap();
            assert_eq!(snapshot.services.len(), 6_000, "{name}");
            let last = &snapshot.services[5_999];
            assert_eq!(last.metadata.name, "s5999");
            assert_eq!(last.spec.ports[0].port, 5_999);
            let key = ObjectKey {
                kind: "Service",
                namespace: "n".into(),
                name: "s5999".into(),
            };
            let line = snapshot.locations[&key].line.unwrap();
            let expected = 1 + text.lines().position(|l| l.contains("\"s5999\"")).unwrap();
            // The object starts on the line before its metadata.
            assert_eq!(line, expected - 1, "{name}");
        }
    }

    #[test]
    fn an_error_far_into_the_input_names_its_line_and_column() {
        let (json, _) = many_services(3_000);
        let broken = json.replace("\"s2999\", ", "\"s2999\" ");
        let (place, message) = place_and_message(read_text("many.json", &broken).unwrap_err());
        let line = 1 + broken
            .lines()
            .position(|l| l.contains("\"s2999\""))
            .unwrap();
        assert!(place.starts_with(&format!("many.json:{line}:")), "{place}");
        assert_eq!(message, "expected `,` or `}`");
        // In a field no kind reads, too: the input is checked whole.
        let skipped = "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\",\n\"data\": {\"a\" 1}}";
        let (place, message) = place_and_message(read_text("cm.json", skipped).unwrap_err());
        assert_eq!(
            (place.as_str(), message.as_str()),
            ("cm.json:2:14", "expected `:`")
        );
    }

    #[test]
    fn text_that_is_not_utf8_far_into_the_input_is_named_by_its_byte_offset() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.json");
        let (json, _) = many_services(3_000);
        let mut bytes = json.into_bytes();
        let offset = (bytes.len() - 100..)
            .find(|&i| bytes[i].is_ascii_alphabetic())
            .unwrap();
        bytes[offset] = 0xFF;
        let line = 1 + bytes[..offset].iter().filter(|b| **b == b'\n').count();
        std::fs::write(&file, bytes).unwrap();
        let (place, message) =
            place_and_message(read(std::slice::from_ref(&file), &namespaces()).unwrap_err());
        assert_eq!(place, format!("{}:{line}", file.display()));
        assert_eq!(
            message,
            format!("not UTF-8 text: byte 0xFF at byte offset {offset} is not valid UTF-8")
        );
    }

    #[test]
    fn an_unread_field_nested_however_deep_is_passed_over() {
        let deep = format!("{}1{}", "[".repeat(1_000), "]".repeat(1_000));
        let yaml =
            format!("apiVersion: v1\nkind: Service\nmetadata: {{name: web}}\nunread: {deep}\n");
        assert_eq!(read_text("deep.yaml", &yaml).unwrap().services.len(), 1);
        let json = format!(
            "{{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {{\"name\": \"web\"}}, \"unread\": {deep}}}"
        );
        assert_eq!(read_text("deep.json", &json).unwrap().services.len(), 1);
    }

    #[test]
    fn a_document_of_a_skipped_kind_is_dropped_unparsed() {
        // Not even YAML past its kind: never parsed, so never an error.
        let text = format!("apiVersion: v1\nkind: ConfigMap\ndata:\n  a: [unclosed\n---\n{POOL}");
        assert_eq!(read_text("all.yaml", &text).unwrap().pools.len(), 1);
        // Two objects without a --- between them are still told.
        let text =
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\napiVersion: v1\nkind: Secret\n";
        let (place, message) = place_and_message(read_text("two.yaml", text).unwrap_err());
        assert_eq!(place, "two.yaml:4:1");
        assert_eq!(
            message,
            "duplicate key apiVersion (is a --- line between two objects missing?)"
        );
    }

    #[test]
    fn merge_keys_and_aliases_read_as_written_out() {
        let text = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  annotations: &pool {metallb.io/address-pool: p}\nspec:\n  <<: {type: LoadBalancer, loadBalancerClass: merged}\n  loadBalancerClass: own\n  selector: *pool\n";
        let snapshot = read_text("merge.yaml", text).unwrap();
        let service = &snapshot.services[0];
        assert_eq!(service.spec.type_.as_deref(), Some("LoadBalancer"));
        assert_eq!(service.spec.load_balancer_class.as_deref(), Some("own"));
        assert_eq!(
            service.spec.selector.get("metallb.io/address-pool"),
            Some("p")
        );
    }

    #[test]
    fn a_root_field_no_kind_reads_is_passed_over_keeping_the_lines() {
        // `data` is never parsed (not even checked), and lines after it keep their numbers.
        let text = "apiVersion: v1\ndata:\n  a: [unclosed\n  b: |\n    text\nkind: Service\nmetadata: {name: web}\nspec:\n  type: [x]\n";
        let (place, message) = place_and_message(read_text("svc.yaml", text).unwrap_err());
        assert_eq!(place, "svc.yaml:9");
        assert!(message.starts_with("Service web: spec.type:"), "{message}");
        let fixed = text.replace("type: [x]", "type: LoadBalancer");
        assert_eq!(read_text("svc.yaml", &fixed).unwrap().services.len(), 1);
        // A read field is read however its key is written.
        let quoted = fixed.replace("spec:", "\"spec\" :");
        let snapshot = read_text("svc.yaml", &quoted).unwrap();
        assert_eq!(
            snapshot.services[0].spec.type_.as_deref(),
            Some("LoadBalancer")
        );
    }
}
