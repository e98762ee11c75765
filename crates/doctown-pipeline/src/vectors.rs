//! The embedding cache on disk: one small file per vector, named by the SHA-256 of the model,
//! its truncation and the chunk's text, so an unchanged chunk is never embedded twice.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Vectors kept on disk.
#[derive(Debug, Clone)]
pub struct VectorCache {
    dir: PathBuf,
    model: String,
}

impl VectorCache {
    /// The cache of `model` (its id and truncation, e.g. `all-MiniLM-L6-v2/256`) under `dir`.
    pub fn new(dir: impl Into<PathBuf>, model: impl Into<String>) -> Self {
        Self {
            dir: dir.into(),
            model: model.into(),
        }
    }

    fn path(&self, content: &str) -> PathBuf {
        let mut hash = Sha256::new();
        hash.update(self.model.as_bytes());
        hash.update([0]);
        hash.update(content.as_bytes());
        let key: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(&key[..2]).join(&key)
    }

    /// The vector of `content`, when cached with `dimensions` floats.
    pub fn get(&self, content: &str, dimensions: usize) -> Option<Vec<f32>> {
        let bytes = std::fs::read(self.path(content)).ok()?;
        if bytes.len() != dimensions * 4 {
            return None;
        }
        Some(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        )
    }

    /// Keeps the vector of `content`, whole or not at all.
    pub fn put(&self, content: &str, vector: &[f32]) -> std::io::Result<()> {
        let path = self.path(content);
        let folder = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(folder)?;
        let mut file = tempfile::NamedTempFile::new_in(folder)?;
        let bytes: Vec<u8> = vector.iter().flat_map(|v| v.to_le_bytes()).collect();
        file.write_all(&bytes)?;
        file.persist(&path).map_err(|err| err.error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_round_trip_per_model_and_text() {
        let dir = tempfile::tempdir().unwrap();
        let cache = VectorCache::new(dir.path(), "m/256");
        assert!(cache.get("fn a() {}", 3).is_none());
        cache.put("fn a() {}", &[0.5, -1.0, 2.25]).unwrap();
        assert_eq!(cache.get("fn a() {}", 3), Some(vec![0.5, -1.0, 2.25]));
        assert!(cache.get("fn a() {}", 4).is_none());
        assert!(
            VectorCache::new(dir.path(), "m/128")
                .get("fn a() {}", 3)
                .is_none()
        );
    }
}
