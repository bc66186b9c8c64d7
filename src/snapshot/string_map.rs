//! A small string-to-string map (labels, annotations, a service's selector) kept as a
//! vector sorted by key.
//!
//! Objects carry a handful of labels each. A `BTreeMap` spends a node of about 540 bytes
//! on even one entry: at 50,000 services, labels and selectors in B-trees were most of the
//! plugin's memory. A sorted vector holds the pairs in their own size, finds a key by
//! binary search and iterates in key order, as a `BTreeMap` does.

use std::fmt;

use compact_str::CompactString;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Pairs sorted by key, keys unique.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StringMap(Vec<(CompactString, CompactString)>);

impl StringMap {
    pub fn new() -> StringMap {
        StringMap::default()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.position(key).ok().map(|at| self.0[at].1.as_str())
    }

    /// The stored pair of `key`.
    pub fn get_key_value(&self, key: &str) -> Option<(&str, &str)> {
        let (k, v) = &self.0[self.position(key).ok()?];
        Some((k.as_str(), v.as_str()))
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_ok()
    }

    /// Sets `key`, returning the value it replaces (the last of duplicate keys wins, as in
    /// a JSON object read into a map).
    pub fn insert(
        &mut self,
        key: impl Into<CompactString>,
        value: impl Into<CompactString>,
    ) -> Option<CompactString> {
        let key = key.into();
        let value = value.into();
        match self.position(&key) {
            Ok(at) => Some(std::mem::replace(&mut self.0[at].1, value)),
            Err(at) => {
                self.0.insert(at, (key, value));
                None
            }
        }
    }

    /// Frees the spare room a map read pair by pair grew (see the module's note).
    pub fn shrink_to_fit(&mut self) {
        self.0.shrink_to_fit();
    }

    /// Every pair, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The pairs whose keys start with `prefix`, in key order: they are contiguous.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        let from = self.0.partition_point(|(k, _)| k.as_str() < prefix);
        self.0[from..]
            .iter()
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl<K: Into<CompactString>, V: Into<CompactString>> FromIterator<(K, V)> for StringMap {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> StringMap {
        let mut map = StringMap::new();
        for (key, value) in pairs {
            map.insert(key, value);
        }
        map
    }
}

impl<'a> IntoIterator for &'a StringMap {
    type Item = (&'a str, &'a str);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (CompactString, CompactString)>,
        fn(&'a (CompactString, CompactString)) -> (&'a str, &'a str),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl Serialize for StringMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for StringMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<StringMap, D::Error> {
        struct Pairs;

        impl<'de> Visitor<'de> for Pairs {
            type Value = StringMap;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of strings")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<StringMap, A::Error> {
                let mut map = StringMap(Vec::with_capacity(access.size_hint().unwrap_or(0)));
                while let Some((key, value)) =
                    access.next_entry::<CompactString, CompactString>()?
                {
                    map.insert(key, value);
                }
                map.shrink_to_fit();
                Ok(map)
            }
        }

        deserializer.deserialize_map(Pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_and_the_last_duplicate_wins() {
        let map: StringMap = [("b", "1"), ("a", "2"), ("c", "3"), ("a", "4")]
            .into_iter()
            .collect();
        assert_eq!(
            map.iter().collect::<Vec<_>>(),
            vec![("a", "4"), ("b", "1"), ("c", "3")]
        );
        assert_eq!(map.get("a"), Some("4"));
        assert_eq!(map.get("d"), None);
        assert_eq!(map.get_key_value("b"), Some(("b", "1")));
        assert_eq!(map.get_key_value("bb"), None);
        assert!(map.contains_key("c"));
        assert_eq!(map.len(), 3);
    }

    #[test]
    fn reads_and_writes_a_json_object() {
        let map: StringMap = serde_json::from_str(r#"{"z": "1", "a": "2", "z": "3"}"#).unwrap();
        assert_eq!(map.get("z"), Some("3"));
        assert_eq!(serde_json::to_string(&map).unwrap(), r#"{"a":"2","z":"3"}"#);
        assert!(serde_json::from_str::<StringMap>(r#"{"a": 1}"#).is_err());
    }

    #[test]
    fn a_prefix_selects_a_contiguous_run() {
        let map: StringMap = [
            ("app", "x"),
            ("metallb.io/address-pool", "p"),
            ("metallb.universe.tf/allow-shared-ip", "k"),
            ("metallbx", "no"),
            ("zone", "z"),
        ]
        .into_iter()
        .collect();
        let keys: Vec<&str> = map.with_prefix("metallb.").map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            vec![
                "metallb.io/address-pool",
                "metallb.universe.tf/allow-shared-ip"
            ]
        );
        assert_eq!(map.with_prefix("nothing").count(), 0);
    }
}
