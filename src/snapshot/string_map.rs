//! A small string-to-string map (labels, annotations, a service's selector), packed: every
//! key and value in one string, in key order, with the offsets where each ends.
//!
//! Objects carry a handful of labels each. A `BTreeMap` spends a node of about 540 bytes
//! on even one entry, and a vector of string pairs an allocation for the vector and for
//! every string too long to be inline: at 50,000 services, labels were a large part of the
//! plugin's memory. Packed, a map is two allocations of the size of its text and offsets;
//! a key is found by binary search, and pairs iterate in key order, as a `BTreeMap`'s do.

use std::fmt;

use compact_str::CompactString;
use serde::de::{Error as _, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Pairs sorted by key, keys unique.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct StringMap {
    /// Every key and its value, one after the other, in key order.
    text: Box<str>,
    /// Where each ends in `text`: the `i`th key at `ends[2 * i]`, its value at
    /// `ends[2 * i + 1]`.
    ends: Box<[u32]>,
}

/// A map with more than 4 GiB of text, beyond what its offsets can say.
#[derive(Debug, PartialEq, Eq)]
pub struct TooLarge;

impl fmt::Display for TooLarge {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of strings larger than 4 GiB")
    }
}

impl StringMap {
    pub fn new() -> StringMap {
        StringMap::default()
    }

    /// The map of `pairs`, in any order; of pairs with the same key the last is kept (as in
    /// a JSON object read into a map).
    pub fn from_pairs<K, V>(mut pairs: Vec<(K, V)>) -> Result<StringMap, TooLarge>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        // Stable: of equal keys, the one given last is still last.
        pairs.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
        let mut kept: Vec<(&str, &str)> = Vec::with_capacity(pairs.len());
        for (key, value) in &pairs {
            match kept.last_mut() {
                Some(last) if last.0 == key.as_ref() => last.1 = value.as_ref(),
                _ => kept.push((key.as_ref(), value.as_ref())),
            }
        }
        StringMap::packed(&kept)
    }

    /// `pairs`, sorted by key and unique, packed.
    fn packed(pairs: &[(&str, &str)]) -> Result<StringMap, TooLarge> {
        let size = pairs.iter().map(|(k, v)| k.len() + v.len()).sum();
        let mut text = String::with_capacity(size);
        let mut ends = Vec::with_capacity(2 * pairs.len());
        for part in pairs.iter().flat_map(|(k, v)| [k, v]) {
            text.push_str(part);
            ends.push(u32::try_from(text.len()).map_err(|_| TooLarge)?);
        }
        Ok(StringMap {
            text: text.into_boxed_str(),
            ends: ends.into_boxed_slice(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn len(&self) -> usize {
        self.ends.len() / 2
    }

    /// The text of part `at` (key `i` is part `2 * i`, its value part `2 * i + 1`).
    fn part(&self, at: usize) -> &str {
        let start = at
            .checked_sub(1)
            .map_or(0, |before| self.ends[before] as usize);
        &self.text[start..self.ends[at] as usize]
    }

    fn pair(&self, i: usize) -> (&str, &str) {
        (self.part(2 * i), self.part(2 * i + 1))
    }

    /// Where `key` is, or where it would go.
    fn position(&self, key: &str) -> Result<usize, usize> {
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let middle = low + (high - low) / 2;
            match self.part(2 * middle).cmp(key) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Ok(middle),
            }
        }
        Err(low)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.position(key).ok().map(|i| self.part(2 * i + 1))
    }

    /// The stored pair of `key`.
    pub fn get_key_value(&self, key: &str) -> Option<(&str, &str)> {
        Some(self.pair(self.position(key).ok()?))
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_ok()
    }

    /// Sets `key`, returning the value it replaces. The map is packed again: for building
    /// small maps by hand (input is read with [`StringMap::from_pairs`]).
    ///
    /// # Panics
    ///
    /// Past 4 GiB of text, which no map built by hand reaches.
    pub fn insert(
        &mut self,
        key: impl AsRef<str>,
        value: impl AsRef<str>,
    ) -> Option<CompactString> {
        let (key, value) = (key.as_ref(), value.as_ref());
        let mut pairs: Vec<(&str, &str)> = self.iter().collect();
        let replaced = match self.position(key) {
            Ok(at) => Some(CompactString::from(std::mem::replace(
                &mut pairs[at].1,
                value,
            ))),
            Err(at) => {
                pairs.insert(at, (key, value));
                None
            }
        };
        *self = StringMap::packed(&pairs).expect("a map built by hand is under 4 GiB");
        replaced
    }

    /// Every pair, in key order.
    pub fn iter(&self) -> Pairs<'_> {
        Pairs { map: self, next: 0 }
    }

    /// The pairs whose keys start with `prefix`, in key order: they are contiguous.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        let from = self.position(prefix).unwrap_or_else(|at| at);
        Pairs {
            map: self,
            next: from,
        }
        .take_while(move |(k, _)| k.starts_with(prefix))
    }
}

/// The pairs of a [`StringMap`], in key order.
pub struct Pairs<'a> {
    map: &'a StringMap,
    next: usize,
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<(&'a str, &'a str)> {
        let pair = (self.next < self.map.len()).then(|| self.map.pair(self.next))?;
        self.next += 1;
        Some(pair)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.map.len() - self.next.min(self.map.len());
        (left, Some(left))
    }
}

impl<'a> IntoIterator for &'a StringMap {
    type Item = (&'a str, &'a str);
    type IntoIter = Pairs<'a>;

    fn into_iter(self) -> Pairs<'a> {
        self.iter()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for StringMap {
    /// # Panics
    ///
    /// Past 4 GiB of text, as [`StringMap::insert`].
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> StringMap {
        StringMap::from_pairs(pairs.into_iter().collect())
            .expect("a map built by hand is under 4 GiB")
    }
}

impl fmt::Debug for StringMap {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for StringMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (key, value) in self {
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
                // Short keys and values are inline: reading them allocates nothing.
                let mut pairs: Vec<(CompactString, CompactString)> =
                    Vec::with_capacity(access.size_hint().unwrap_or(0).min(64));
                while let Some(pair) = access.next_entry()? {
                    pairs.push(pair);
                }
                StringMap::from_pairs(pairs).map_err(A::Error::custom)
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
    fn empty_keys_and_values_keep_their_place() {
        let mut map: StringMap = [("b", ""), ("", "x")].into_iter().collect();
        assert_eq!(map.iter().collect::<Vec<_>>(), vec![("", "x"), ("b", "")]);
        assert_eq!(map.get(""), Some("x"));
        assert_eq!(map.get("b"), Some(""));
        assert_eq!(map.insert("b", "now"), Some("".into()));
        assert_eq!(map.insert("a", "1"), None);
        assert_eq!(
            map.iter().collect::<Vec<_>>(),
            vec![("", "x"), ("a", "1"), ("b", "now")]
        );
        assert_eq!(format!("{map:?}"), r#"{"": "x", "a": "1", "b": "now"}"#);
        assert!(StringMap::new().is_empty() && StringMap::new().iter().next().is_none());
    }

    proptest::proptest! {
        /// The packed map answers as a `BTreeMap` filled with the same pairs in order.
        #[test]
        fn answers_as_a_btree_map(
            pairs in proptest::collection::vec(("[a-c]{0,3}", "[x-zé]{0,4}"), 0..12),
            probe in "[a-c]{0,3}",
        ) {
            let map = StringMap::from_pairs(pairs.clone()).unwrap();
            let model: std::collections::BTreeMap<String, String> = pairs.into_iter().collect();
            let expected: Vec<(&str, &str)> =
                model.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            proptest::prop_assert_eq!(map.iter().collect::<Vec<_>>(), expected.clone());
            proptest::prop_assert_eq!(map.len(), model.len());
            proptest::prop_assert_eq!(map.get(&probe), model.get(&probe).map(String::as_str));
            let prefixed: Vec<(&str, &str)> =
                expected.iter().copied().filter(|(k, _)| k.starts_with(&probe)).collect();
            proptest::prop_assert_eq!(map.with_prefix(&probe).collect::<Vec<_>>(), prefixed);
            let mut inserted = StringMap::new();
            for (k, v) in &expected {
                inserted.insert(k, v);
            }
            proptest::prop_assert_eq!(inserted, map);
        }
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
