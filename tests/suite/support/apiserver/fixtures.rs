//! Reading Kubernetes manifests (YAML or JSON) into JSON values.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The manifest files of a directory, recursively, in name order.
fn manifest_files(dir: &Path) -> Vec<PathBuf> {
    let entries = fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("cannot read fixture directory {}: {error}", dir.display()));
    let mut paths: Vec<PathBuf> = entries
        .map(|entry| entry.expect("readable directory entry").path())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .flat_map(|path| {
            if path.is_dir() {
                manifest_files(&path)
            } else if is_manifest(&path) {
                vec![path]
            } else {
                Vec::new()
            }
        })
        .collect()
}

fn is_manifest(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|ext| ext.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// Whether a document is a list of objects: `kind: List`, or a typed list
/// such as `ServiceList` as `kubectl get -o json` writes it.
fn is_list(document: &Value) -> bool {
    let kind = document
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    kind == "List" || (kind.ends_with("List") && document.get("items").is_some_and(Value::is_array))
}

/// Appends an object, or the items of a list (recursively).
fn flatten_into(objects: &mut Vec<Value>, mut document: Value) {
    if document.is_null() {
        return;
    }
    if !is_list(&document) {
        objects.push(document);
        return;
    }
    if let Some(Value::Array(items)) = document.get_mut("items").map(Value::take) {
        for item in items {
            flatten_into(objects, item);
        }
    }
}

fn parse_file(path: &Path) -> Vec<Value> {
    let text = fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read fixture {}: {error}", path.display()));
    let documents: Vec<Value> = if path.extension().is_some_and(|ext| ext == "json") {
        vec![
            serde_json::from_str(&text)
                .unwrap_or_else(|error| panic!("invalid JSON in {}: {error}", path.display())),
        ]
    } else {
        serde_saphyr::from_multiple(&text)
            .unwrap_or_else(|error| panic!("invalid YAML in {}: {error}", path.display()))
    };
    let mut objects = Vec::new();
    for document in documents {
        flatten_into(&mut objects, document);
    }
    objects
}

/// Reads Kubernetes objects from a manifest file or from every `.yaml`,
/// `.yml` and `.json` file under a directory (recursively, in path order).
///
/// YAML files may hold several `---`-separated documents; `kind: List`
/// documents (and `*List` documents with `items`, as `kubectl get -o json`
/// writes them) are flattened into their items. Panics, naming the file, on
/// anything unreadable.
pub fn load_fixtures(dir_or_file: &Path) -> Vec<Value> {
    let files = if dir_or_file.is_dir() {
        manifest_files(dir_or_file)
    } else {
        vec![dir_or_file.to_path_buf()]
    };
    files.iter().flat_map(|path| parse_file(path)).collect()
}

/// The fixture directory shipped with the tests: `tests/fixtures/apiserver`.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/apiserver")
}

/// Every object in [`fixtures_dir`].
pub fn standard_fixtures() -> Vec<Value> {
    load_fixtures(&fixtures_dir())
}
