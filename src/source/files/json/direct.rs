//! A List item typed straight from the input by serde_json, in one pass: its `kind` and
//! `apiVersion` are read, then the fields of its kind are typed where they stand and every
//! other field is skipped unbuilt (a field the kind may read that comes before `kind`, as an
//! Event's `count` in sorted keys, is kept as its raw text until the kind is known). This is
//! the reading of a well-formed item only: whatever this path does not take (an error of
//! any kind, a second `kind`) is refused, and the item is read again by the scanner, which
//! alone says what is wrong and where.

use std::fmt;

use serde::de::value::{BorrowedStrDeserializer, MapAccessDeserializer};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::super::{Found, Kind, Object, READ_FIELDS};

/// An item read in one pass.
pub(in super::super) struct Item {
    kind: Option<String>,
    api_version: Option<String>,
    /// `None` for a kind the plugin skips (or none).
    typed: Option<(Kind, Object)>,
}

impl Item {
    /// What the scanner's reading of the same item finds, at `line`.
    pub(in super::super) fn found(self, line: usize) -> Found {
        let kind = self.kind.unwrap_or_default();
        let api_version = self.api_version.unwrap_or_default();
        match self.typed {
            Some(typed) => Found {
                kind: Some(typed),
                line,
                note: super::super::kinds::misspelling(&kind, &api_version),
            },
            None => Found::skipped(Some(&kind), Some(&api_version), line),
        }
    }
}

/// Why this path gave way to the scanner (never shown: the scanner reads the item again).
const NOT_HERE: &str = "read by the scanner";

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Item, D::Error> {
        de.deserialize_map(ItemVisitor)
    }
}

struct ItemVisitor;

impl<'de> Visitor<'de> for ItemVisitor {
    type Value = Item;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Kubernetes object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Item, A::Error> {
        let mut kind: Option<String> = None;
        let mut api_version: Option<String> = None;
        let mut early: Vec<(Key<'de>, &'de RawValue)> = Vec::new();
        while let Some(key) = access.next_key::<Key<'de>>()? {
            match key.as_str() {
                "kind" => kind = access.next_value()?,
                "apiVersion" => api_version = access.next_value()?,
                // Typed once the kind is known, as the scanner does.
                read if READ_FIELDS.contains(&read) => {
                    early.push((key, access.next_value()?));
                    continue;
                }
                _ => {
                    access.next_value::<IgnoredAny>()?;
                    continue;
                }
            }
            let (Some(written), Some(version)) = (&kind, &api_version) else {
                continue;
            };
            let Some(read) = Kind::of(written, version) else {
                while access.next_key::<IgnoredAny>()?.is_some() {
                    access.next_value::<IgnoredAny>()?;
                }
                return Ok(Item {
                    kind,
                    api_version,
                    typed: None,
                });
            };
            let rest = Rest {
                early: early.into_iter(),
                raw: None,
                access: &mut access,
            };
            let object = Object::read_fast(read, MapAccessDeserializer::new(rest))?;
            return Ok(Item {
                kind,
                api_version,
                typed: Some((read, object)),
            });
        }
        Ok(Item {
            kind,
            api_version,
            typed: None,
        })
    }
}

/// An item's fields once its kind is known, as its type reads them: the fields the scanner
/// would copy, and no other; first those met before the kind, then the rest.
struct Rest<'a, 'de, A> {
    early: std::vec::IntoIter<(Key<'de>, &'de RawValue)>,
    /// The value of the early field whose key was read last.
    raw: Option<&'de RawValue>,
    access: &'a mut A,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Rest<'_, 'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        if let Some((key, raw)) = self.early.next() {
            self.raw = Some(raw);
            return key.into_field(seed).map(Some);
        }
        loop {
            let Some(key) = self.access.next_key::<Key<'de>>()? else {
                return Ok(None);
            };
            match key.as_str() {
                // The scanner would read the object as the kind written last.
                "kind" | "apiVersion" => return Err(de::Error::custom(NOT_HERE)),
                read if READ_FIELDS.contains(&read) => return key.into_field(seed).map(Some),
                _ => {
                    self.access.next_value::<IgnoredAny>()?;
                }
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        match self.raw.take() {
            Some(raw) => seed.deserialize(raw).map_err(de::Error::custom),
            None => self.access.next_value_seed(seed),
        }
    }
}

/// A field's name as the scanner compares it: its raw text, so a name written with an
/// escape (`"kin\u0064"`) is no field the plugin reads (`None`), as for the scanner.
struct Key<'de>(Option<&'de str>);

impl<'de> Key<'de> {
    fn as_str(&self) -> &str {
        self.0.unwrap_or("\\")
    }

    /// The key as a type's field name.
    fn into_field<K: DeserializeSeed<'de>, E: de::Error>(self, seed: K) -> Result<K::Value, E> {
        seed.deserialize(BorrowedStrDeserializer::new(self.0.unwrap_or("\\")))
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Key<'de>, D::Error> {
        de.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Some(key)))
    }

    /// Only a name holding an escape is not borrowed from the input.
    fn visit_str<E>(self, _: &str) -> Result<Key<'de>, E> {
        Ok(Key(None))
    }
}

#[cfg(test)]
mod tests {
    use super::{Item, Kind, Object};

    fn item(json: &str) -> Result<Item, serde_json::Error> {
        serde_json::from_str(json)
    }

    fn typed_service(json: &str) -> crate::snapshot::Service {
        match item(json).unwrap().typed {
            Some((Kind::Service, Object::Service(service))) => service,
            _ => panic!("not typed as a Service: {json}"),
        }
    }

    #[test]
    fn an_item_is_typed_in_one_pass_skipping_what_no_kind_reads() {
        let service = typed_service(
            r#"{"apiVersion": "v1", "kind": "Service", "data": {"x": [1, {"y": null}]},
                "metadata": {"name": "web", "managedFields": [{"a": 1}]},
                "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}"#,
        );
        assert_eq!(service.metadata.name, "web");
        assert_eq!(service.spec.type_.as_deref(), Some("LoadBalancer"));
        assert_eq!(service.spec.ports[0].port, 80);
    }

    #[test]
    fn fields_before_the_kind_are_typed_once_it_is_known() {
        let json = r#"{"apiVersion": "v1", "count": 3, "involvedObject": {"name": "web"},
            "kind": "Event", "metadata": {"name": "e"}, "reason": "AllocationFailed"}"#;
        let Some((Kind::Event, Object::Event(event))) = item(json).unwrap().typed else {
            panic!("not typed as an Event");
        };
        assert_eq!(event.count, Some(3));
        assert_eq!(event.involved_object.name, "web");
        assert_eq!(event.reason, "AllocationFailed");
        let late =
            typed_service(r#"{"metadata": {"name": "w"}, "kind": "Service", "apiVersion": "v1"}"#);
        assert_eq!(late.metadata.name, "w");
    }

    #[test]
    fn a_kind_the_plugin_skips_is_passed_over_unread() {
        let json =
            r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": 7, "data": {"a": "b"}}"#;
        let Item {
            kind,
            api_version,
            typed: None,
        } = item(json).unwrap()
        else {
            panic!("a ConfigMap is typed");
        };
        assert_eq!(
            (kind.as_deref(), api_version.as_deref()),
            (Some("ConfigMap"), Some("v1"))
        );
    }

    #[test]
    fn a_field_name_with_an_escape_is_no_field_the_plugin_reads() {
        // As for the scanner, which compares names as written.
        let json = r#"{"apiVersion": "v1", "kin\u0064": "Service"}"#;
        let read = item(json).unwrap();
        assert!(read.kind.is_none() && read.typed.is_none());
        let service = typed_service(
            r#"{"apiVersion": "v1", "kind": "Service", "metadat\u0061": {"name": "x"}}"#,
        );
        assert_eq!(service.metadata.name, "");
    }

    #[test]
    fn what_only_the_scanner_can_tell_is_refused() {
        for json in [
            // A second kind: the scanner reads the kind written last.
            r#"{"apiVersion": "v1", "kind": "Service", "metadata": {}, "kind": "ConfigMap"}"#,
            // A wrongly typed field: the scanner names its line.
            r#"{"apiVersion": "v1", "kind": "Service", "spec": {"ports": 80}}"#,
            r#"{"apiVersion": "v1", "kind": 3}"#,
            r#"{"apiVersion": "v1", "kind": "Service", "metadata": {}, "metadata": {}}"#,
            r#"{"apiVersion": "v1", "kind": "Service" "spec": {}}"#,
        ] {
            assert!(item(json).is_err(), "{json}");
        }
    }
}
