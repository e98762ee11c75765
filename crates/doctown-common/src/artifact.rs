//! The reference to an artifact: what a stage made for a job, kept in a store beside the
//! docpacks rather than in a database row or a queue message, which carry this instead.

use serde::{Deserialize, Serialize};

/// Where an artifact is and what it is: the reference a database row, a queue message or a
/// worker's request carries. Readers check the size and checksum before trusting the bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    /// Its key in the store.
    pub key: String,
    /// The SHA-256 of its bytes, lowercase hex.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
}

/// Whether `text` is a SHA-256 as artifacts, storage keys and records write it: 64 lowercase
/// hex digits.
pub fn is_checksum(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
