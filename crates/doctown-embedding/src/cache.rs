//! Vectors remembered by content and model, so that an unchanged chunk is embedded once.

use std::collections::HashMap;
use std::sync::Mutex;

/// A bounded in-memory cache of vectors keyed by (model id, content hash); when full, the
/// oldest entries are forgotten first.
#[derive(Debug)]
pub struct EmbeddingCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    vectors: HashMap<(String, String), Vec<f32>>,
    order: std::collections::VecDeque<(String, String)>,
}

impl EmbeddingCache {
    /// A cache of at most `capacity` vectors.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The vector of `content_hash` under `model`, when known.
    pub fn get(&self, model: &str, content_hash: &str) -> Option<Vec<f32>> {
        let inner = self.inner.lock().ok()?;
        inner
            .vectors
            .get(&(model.to_owned(), content_hash.to_owned()))
            .cloned()
    }

    /// Remembers `vector` for `content_hash` under `model`.
    pub fn insert(&self, model: &str, content_hash: &str, vector: Vec<f32>) {
        if self.capacity == 0 {
            return;
        }
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let key = (model.to_owned(), content_hash.to_owned());
        if inner.vectors.insert(key.clone(), vector).is_none() {
            inner.order.push_back(key);
        }
        while inner.order.len() > self.capacity {
            if let Some(oldest) = inner.order.pop_front() {
                inner.vectors.remove(&oldest);
            }
        }
    }

    /// How many vectors it holds.
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |inner| inner.vectors.len())
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_vectors_go_first() {
        let cache = EmbeddingCache::new(2);
        cache.insert("m", "a", vec![1.0]);
        cache.insert("m", "b", vec![2.0]);
        cache.insert("m", "c", vec![3.0]);
        assert_eq!(cache.get("m", "a"), None);
        assert_eq!(cache.get("m", "c"), Some(vec![3.0]));
        assert_eq!(cache.get("other-model", "c"), None);
        assert_eq!(cache.len(), 2);
    }
}
