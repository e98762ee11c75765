//! Identifier newtypes.
//!
//! Every identifier is validated when it is parsed or deserialized, so a value of one of these
//! types is always well-formed: UUIDs are never nil, digests are lowercase hex of the right length.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::Error;

/// Defines a UUID-backed identifier that rejects the nil UUID.
macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// A new random (version 4) identifier.
            pub fn generate() -> Self {
                Self(Uuid::new_v4())
            }

            /// Wraps an existing UUID; the nil UUID is refused.
            pub fn from_uuid(uuid: Uuid) -> Result<Self, Error> {
                if uuid.is_nil() {
                    return Err(Error::invalid($what, &uuid.to_string(), "a non-nil UUID"));
                }
                Ok(Self(uuid))
            }

            /// The UUID inside.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl FromStr for $name {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self, Error> {
                let uuid = Uuid::try_parse(s).map_err(|_| {
                    Error::invalid(
                        $what,
                        s,
                        "a UUID such as 67e55044-10b1-426f-9247-bb680e5fe0c8",
                    )
                })?;
                Self::from_uuid(uuid)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // Hyphenated lowercase, the form that `FromStr` reads back.
                self.0.hyphenated().fmt(f)
            }
        }

        string_serde!($name);
    };
}

/// Defines an identifier made of exactly `$bytes` bytes, written as lowercase hex.
macro_rules! hex_id {
    ($(#[$doc:meta])* $name:ident, $bytes:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name([u8; $bytes]);

        impl $name {
            /// The identifier made of these bytes.
            pub fn from_bytes(bytes: [u8; $bytes]) -> Self {
                Self(bytes)
            }

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $bytes] {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self, Error> {
                decode_hex(s)
                    .map(Self)
                    .ok_or_else(|| {
                        Error::invalid(
                            $what,
                            s,
                            concat!(stringify!($bytes), " bytes written as lowercase hex"),
                        )
                    })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
            }
        }

        string_serde!($name);
    };
}

/// Serializes through `Display` and deserializes through `FromStr`, so the wire form is always
/// validated.
macro_rules! string_serde {
    ($name:ident) => {
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// Decodes exactly `N` bytes of lowercase hex; anything else (uppercase, odd length) is `None`.
fn decode_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    let text = text.as_bytes();
    if text.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

uuid_id!(
    /// One run of the pipeline over one repository.
    JobId,
    "job id"
);

uuid_id!(
    /// One event in a job's event stream.
    EventId,
    "event id"
);

hex_id!(
    /// A chunk of source, content-addressed: the SHA-256 of its path, byte range and bytes.
    ChunkId,
    32,
    "chunk id"
);

hex_id!(
    /// A symbol (function, class, …): a 128-bit digest stable across runs for the same symbol.
    SymbolId,
    16,
    "symbol id"
);

hex_id!(
    /// A distributed trace, in the W3C Trace Context form (16 bytes, 32 hex digits).
    TraceId,
    16,
    "trace id"
);

impl TraceId {
    /// A new random trace id.
    pub fn generate() -> Self {
        Self(*Uuid::new_v4().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_ids_round_trip_through_text_and_json() {
        let id = JobId::generate();
        assert_eq!(id.to_string().parse::<JobId>().unwrap(), id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<JobId>(&json).unwrap(), id);
    }

    #[test]
    fn uuid_ids_refuse_nil_and_garbage_with_a_clear_message() {
        let err = "00000000-0000-0000-0000-000000000000"
            .parse::<EventId>()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid event id '00000000-0000-0000-0000-000000000000': expected a non-nil UUID"
        );
        let err = serde_json::from_str::<JobId>("\"job-1\"").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid job id 'job-1': expected a UUID such as"),
            "{err}"
        );
        assert!(serde_json::from_str::<JobId>("42").is_err());
    }

    #[test]
    fn hex_ids_round_trip_and_are_lowercase() {
        let id = ChunkId::from_bytes([0xab; 32]);
        let text = id.to_string();
        assert_eq!(text, "ab".repeat(32));
        assert_eq!(text.parse::<ChunkId>().unwrap(), id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<ChunkId>(&json).unwrap(), id);

        let symbol = SymbolId::from_bytes([1; 16]);
        assert_eq!(
            serde_json::from_value::<SymbolId>(serde_json::json!(symbol.to_string())).unwrap(),
            symbol
        );
    }

    #[test]
    fn hex_ids_refuse_wrong_length_case_and_digits() {
        for bad in [
            "",
            "ab",
            &"AB".repeat(16),
            &"zz".repeat(16),
            &"a".repeat(33),
        ] {
            let err = bad.parse::<TraceId>().unwrap_err();
            assert!(
                err.to_string()
                    .contains("expected 16 bytes written as lowercase hex"),
                "{err}"
            );
        }
        assert!("0".repeat(64).parse::<ChunkId>().is_ok());
        assert!("0".repeat(32).parse::<ChunkId>().is_err());
    }

    #[test]
    fn trace_ids_are_random() {
        assert_ne!(TraceId::generate(), TraceId::generate());
    }
}
