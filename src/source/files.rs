//! Offline input (`-f`): files, directories (recursive), `-` for stdin; multi-document
//! YAML, JSON, and `kind: List`. No cluster is contacted.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::Error;
use crate::snapshot::{Advertisement, Event, IpAddressPool, Namespace, Service, Snapshot};

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
}

/// Objects by identity: an object defined twice keeps its last definition, as a second
/// `kubectl apply` would.
#[derive(Default)]
struct Objects {
    order: Vec<Identity>,
    by_identity: HashMap<Identity, Object>,
}

type Identity = (&'static str, String, String);

/// One object, typed.
enum Object {
    Pool(IpAddressPool),
    L2(Advertisement),
    Bgp(Advertisement),
    Service(Service),
    Namespace(Namespace),
    Event(Event),
}

impl Object {
    /// Converts a JSON object of a known kind, reporting the path of a wrongly typed field
    /// (`spec.autoAssign: invalid type…`).
    fn convert(kind: &str, object: Value) -> Result<(&'static str, Object), String> {
        fn typed<T: DeserializeOwned>(object: Value) -> Result<T, String> {
            serde_path_to_error::deserialize::<_, T>(object).map_err(|e| {
                let path = e.path().to_string();
                format!("{path}: {}", e.into_inner())
            })
        }
        Ok(match kind {
            "IPAddressPool" => ("IPAddressPool", Object::Pool(typed(object)?)),
            "L2Advertisement" => ("L2Advertisement", Object::L2(typed(object)?)),
            "BGPAdvertisement" => ("BGPAdvertisement", Object::Bgp(typed(object)?)),
            "Service" => ("Service", Object::Service(typed(object)?)),
            "Namespace" => ("Namespace", Object::Namespace(typed(object)?)),
            _ => ("Event", Object::Event(typed(object)?)),
        })
    }
}

impl Objects {
    fn insert(&mut self, id: Identity, object: Object) {
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
                None => {}
            }
        }
        snapshot.namespaces_known = !snapshot.namespaces.is_empty();
        snapshot
    }
}

impl Reader<'_> {
    fn parse_file(&mut self, path: &Path) -> Result<(), Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::input(path.display(), e))?;
        self.parse(path, &text)
    }

    fn parse(&mut self, path: &Path, text: &str) -> Result<(), Error> {
        let is_json = path.extension().is_some_and(|e| e == "json")
            || text.trim_start().starts_with(['{', '[']);
        if is_json {
            for (index, document) in serde_json::Deserializer::from_str(text)
                .into_iter::<Value>()
                .enumerate()
            {
                let document = document.map_err(|e| {
                    Error::input(
                        format!("{}:{}:{}", path.display(), e.line(), e.column()),
                        strip_position(&e.to_string()),
                    )
                })?;
                self.add_document(path, &format!("document {}", index + 1), document)?;
            }
            return Ok(());
        }
        let documents: Vec<serde_saphyr::Spanned<Value>> =
            serde_saphyr::from_multiple_with_options(text, yaml_options())
                .map_err(|e| yaml_error(path, &e))?;
        for document in documents {
            self.add_document(
                path,
                &format!("line {}", document.referenced.line()),
                document.value,
            )?;
        }
        Ok(())
    }

    /// One YAML/JSON document: an object, a `kind: List`, or nothing.
    fn add_document(&mut self, path: &Path, at: &str, document: Value) -> Result<(), Error> {
        match document {
            Value::Null => Ok(()),
            Value::Object(_)
                if document
                    .get("kind")
                    .and_then(Value::as_str)
                    .is_some_and(|k| k.ends_with("List")) =>
            {
                let items = document
                    .get("items")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for (i, item) in items.into_iter().enumerate() {
                    self.add_object(path, &format!("{at}, item {}", i + 1), item)?;
                }
                Ok(())
            }
            Value::Object(_) => self.add_object(path, at, document),
            _ => Err(Error::input(
                format!("{}: {at}", path.display()),
                "expected a Kubernetes object (a mapping with kind)",
            )),
        }
    }

    fn add_object(&mut self, path: &Path, at: &str, mut object: Value) -> Result<(), Error> {
        let kind = object
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let api_version = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let group = api_version.split_once('/').map_or("", |(g, _)| g);
        let relevant = match kind.as_str() {
            "IPAddressPool" | "L2Advertisement" | "BGPAdvertisement" => group == "metallb.io",
            "Service" | "Namespace" | "Event" => group.is_empty(),
            _ => false,
        };
        if !relevant {
            return Ok(());
        }
        let default_namespace = match kind.as_str() {
            "Namespace" => "",
            "IPAddressPool" | "L2Advertisement" | "BGPAdvertisement" => &self.namespaces.metallb,
            _ => &self.namespaces.default,
        };
        let metadata = object.get_mut("metadata").and_then(Value::as_object_mut);
        let name = metadata
            .as_ref()
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let where_ = format!("{}: {at}", path.display());
        let Some(metadata) = metadata else {
            return Err(Error::input(where_, format!("{kind} has no metadata")));
        };
        if !default_namespace.is_empty()
            && metadata
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .is_empty()
        {
            metadata.insert(
                "namespace".into(),
                Value::String(default_namespace.to_string()),
            );
        }
        let namespace = metadata
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let describe = || {
            format!(
                "{kind} {}",
                if namespace.is_empty() {
                    name.clone()
                } else {
                    format!("{namespace}/{name}")
                }
            )
        };
        let (kind, typed) = Object::convert(&kind, object)
            .map_err(|e| Error::input(&where_, format!("{}: {e}", describe())))?;
        self.objects.insert((kind, namespace, name), typed);
        Ok(())
    }
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
    let message = text
        .lines()
        .next()
        .unwrap_or("malformed YAML")
        .trim()
        .to_string();
    match error.location() {
        Some(at) => Error::input(
            format!("{}:{}:{}", path.display(), at.line(), at.column()),
            strip_position(&message),
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
