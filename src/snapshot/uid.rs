//! `metadata.uid`, kept small: every object read from an API server has one, and a UUID's
//! 36 characters would be a heap allocation per service.

use std::fmt;

use compact_str::CompactString;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A uid as the API server writes it — a lowercase UUID, kept as its 16 bytes — or any
/// other text, kept as written (hand-written manifests, other servers). Written back
/// exactly as it was read.
#[derive(Clone, PartialEq, Eq)]
pub enum Uid {
    Uuid([u8; 16]),
    Text(CompactString),
}

/// The byte offsets of the hyphens of a UUID's text (8-4-4-4-12).
const HYPHENS: [usize; 4] = [8, 13, 18, 23];

impl Uid {
    /// The 16 bytes of `text` when it is a UUID exactly as [`Uid`]'s `Display` writes it
    /// (lowercase hex, hyphens in place), so that writing it back gives the same text.
    fn uuid(text: &str) -> Option<[u8; 16]> {
        let bytes = text.as_bytes();
        if bytes.len() != 36 || HYPHENS.iter().any(|&at| bytes[at] != b'-') {
            return None;
        }
        let mut digits = bytes.iter().filter(|&&b| b != b'-').map(|&b| match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            _ => None,
        });
        let mut uuid = [0u8; 16];
        for byte in &mut uuid {
            *byte = (digits.next()?? << 4) | digits.next()??;
        }
        // 36 bytes, 4 of them hyphens: 32 digits, all read.
        Some(uuid)
    }
}

impl From<&str> for Uid {
    fn from(text: &str) -> Uid {
        match Uid::uuid(text) {
            Some(uuid) => Uid::Uuid(uuid),
            None => Uid::Text(text.into()),
        }
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Uid::Text(text) => f.write_str(text),
            Uid::Uuid(uuid) => {
                for (i, byte) in uuid.iter().enumerate() {
                    if matches!(i, 4 | 6 | 8 | 10) {
                        f.write_str("-")?;
                    }
                    write!(f, "{byte:02x}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Debug for Uid {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{:?}", self.to_string())
    }
}

impl Serialize for Uid {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Uid {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Uid, D::Error> {
        let text = CompactString::deserialize(deserializer)?;
        Ok(Uid::from(text.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_server_uuid_is_kept_as_bytes_and_written_back_the_same() {
        let text = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
        let uid = Uid::from(text);
        assert!(matches!(uid, Uid::Uuid(_)));
        assert_eq!(uid.to_string(), text);
        let json = serde_json::to_string(&uid).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<Uid>(&json).unwrap(), uid);
    }

    #[test]
    fn any_other_text_is_kept_as_written() {
        for text in [
            "u1",
            "",
            // Uppercase would not be written back the same from bytes.
            "0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0",
            "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f",
            "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f00",
            "0f1e2d3c4b5a-6978-8796-a5b4c3d2e1f0-",
            "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1fg",
            "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1é",
        ] {
            let uid = Uid::from(text);
            assert!(matches!(uid, Uid::Text(_)), "{text}");
            assert_eq!(uid.to_string(), text);
        }
    }

    #[test]
    fn a_uid_takes_no_more_room_than_the_text_it_replaces() {
        assert_eq!(
            std::mem::size_of::<Option<Uid>>(),
            std::mem::size_of::<Option<CompactString>>()
        );
    }
}
