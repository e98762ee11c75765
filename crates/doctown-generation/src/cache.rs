//! The summary cache: a folder of small JSON files keyed by (the code's content hash, the model,
//! the prompt version), so re-documenting an unchanged symbol costs nothing.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use doctown_contracts::generate::SymbolInput;

use crate::prompt::PROMPT_VERSION;

/// One cached summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedSummary {
    /// The summary, cleaned.
    pub summary: String,
    /// The model that wrote it.
    pub model: String,
    /// The prompt version it was written from.
    pub prompt_version: String,
}

/// Summaries kept on disk, one file per key under two-letter folders.
#[derive(Debug, Clone)]
pub struct SummaryCache {
    dir: PathBuf,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The cache key of `symbol` for `model`: SHA-256 over the prompt version, the model and the
/// symbol's code (or, without code, its context), so any of them changing misses.
pub fn cache_key(symbol: &SymbolInput, model: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(PROMPT_VERSION.as_bytes());
    hash.update([0]);
    hash.update(model.as_bytes());
    hash.update([0]);
    match &symbol.code {
        Some(code) => {
            hash.update(b"code\0");
            hash.update(code.as_bytes());
        }
        None => {
            hash.update(b"context\0");
            hash.update(serde_json::to_vec(&symbol.context).unwrap_or_default());
        }
    }
    hex(&hash.finalize())
}

impl SummaryCache {
    /// The cache in `dir` (created when first written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Its folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(&key[..2]).join(format!("{key}.json"))
    }

    /// The summary stored under `key`; a missing or unreadable entry is a miss.
    pub fn get(&self, key: &str) -> Option<CachedSummary> {
        let bytes = std::fs::read(self.path(key)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Stores `entry` under `key`, whole or not at all (written beside, then renamed).
    pub fn put(&self, key: &str, entry: &CachedSummary) -> std::io::Result<()> {
        let path = self.path(key);
        let folder = path.parent().unwrap_or(&self.dir);
        std::fs::create_dir_all(folder)?;
        let mut file = tempfile::NamedTempFile::new_in(folder)?;
        file.write_all(&serde_json::to_vec(entry).map_err(std::io::Error::other)?)?;
        file.persist(&path).map_err(|err| err.error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_keys_follow_code_and_model() {
        let dir = tempfile::tempdir().unwrap();
        let cache = SummaryCache::new(dir.path().join("summaries"));
        let symbol = SymbolInput {
            symbol_id: "9b1de3a5c7f90214365870a9cbedf102".parse().unwrap(),
            context: crate::prompt::tests::context(),
            code: Some("fn a() {}".into()),
        };
        let key = cache_key(&symbol, "gpt-4o-mini");
        assert_eq!(key.len(), 64);
        assert!(cache.get(&key).is_none());
        let entry = CachedSummary {
            summary: "Does a.".into(),
            model: "gpt-4o-mini".into(),
            prompt_version: PROMPT_VERSION.into(),
        };
        cache.put(&key, &entry).unwrap();
        assert_eq!(cache.get(&key), Some(entry));
        assert_ne!(cache_key(&symbol, "gpt-4o"), key);
        let edited = SymbolInput {
            code: Some("fn a() { b() }".into()),
            ..symbol.clone()
        };
        assert_ne!(cache_key(&edited, "gpt-4o-mini"), key);
        // Callers changing does not make an unchanged symbol cost again.
        let mut recontexted = symbol.clone();
        recontexted.context.called_by.push("z".into());
        assert_eq!(cache_key(&recontexted, "gpt-4o-mini"), key);
    }
}
