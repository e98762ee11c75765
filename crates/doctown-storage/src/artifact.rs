//! Artifacts: what a stage made for a job, kept in the store beside the docpacks rather than in
//! a database or a message. Each is stored under its job and the SHA-256 of its bytes
//! (`artifacts/<job>/<sha256>.json`), so the same work made twice (a step delivered again) lands
//! under the same key, what a key holds never changes, and a job's artifacts are removed with
//! one prefix when it ends. Readers check the size and checksum they were given.

use std::io::Write;

use doctown_common::{Artifact, is_checksum};
use futures_util::StreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::{StorageError, Store, verified};

/// The folder of `scope`'s artifacts (a job's id).
pub fn artifacts_prefix(scope: &str) -> String {
    format!("artifacts/{scope}/")
}

/// Stores `value` as JSON among `scope`'s artifacts (unless the same bytes are there already)
/// and gives its reference.
pub async fn put_json<T: Serialize + ?Sized>(
    store: &dyn Store,
    scope: &str,
    value: &T,
) -> Result<Artifact, StorageError> {
    let malformed = |message: String| StorageError::Malformed {
        key: artifacts_prefix(scope),
        message,
    };
    let bytes = serde_json::to_vec(value).map_err(|err| malformed(err.to_string()))?;
    let sha256: String = Sha256::digest(&bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let artifact = Artifact {
        key: format!("{}{sha256}.json", artifacts_prefix(scope)),
        sha256,
        size: bytes.len() as u64,
    };
    if store.size(&artifact.key).await? == Some(artifact.size) {
        return Ok(artifact);
    }
    let local = |source: std::io::Error| StorageError::Local {
        action: "write",
        path: std::env::temp_dir().display().to_string(),
        source,
    };
    // Written on the blocking pool: an artifact can be tens of megabytes.
    let file = tokio::task::spawn_blocking(move || {
        let mut file = tempfile::NamedTempFile::new()?;
        file.write_all(&bytes)?;
        file.flush()?;
        Ok(file)
    })
    .await
    .map_err(|err| local(std::io::Error::other(err)))?
    .map_err(local)?;
    store.put(&artifact.key, file.path()).await?;
    Ok(artifact)
}

/// The value stored as `artifact`, checked against its size and checksum.
pub async fn get_json<T: DeserializeOwned>(
    store: &dyn Store,
    artifact: &Artifact,
) -> Result<T, StorageError> {
    let key = &artifact.key;
    if !is_checksum(&artifact.sha256) {
        return Err(StorageError::Malformed {
            key: key.clone(),
            message: "its reference has no valid SHA-256".into(),
        });
    }
    let object = store
        .open(key)
        .await?
        .ok_or_else(|| StorageError::Missing { key: key.clone() })?;
    let mut object = verified(key, object, Some(artifact.size), &artifact.sha256)?;
    let mut bytes = Vec::with_capacity(usize::try_from(artifact.size).unwrap_or_default());
    while let Some(piece) = object.body.next().await {
        let piece = piece.map_err(|err| StorageError::Mismatch {
            key: key.clone(),
            what: err.to_string(),
        })?;
        bytes.extend_from_slice(&piece);
    }
    serde_json::from_slice(&bytes).map_err(|err| StorageError::Malformed {
        key: key.clone(),
        message: err.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LocalStore;

    #[tokio::test]
    async fn artifacts_round_trip_by_content_and_go_with_their_job() {
        let folder = tempfile::tempdir().unwrap();
        let store = LocalStore::new(folder.path()).unwrap();
        let value = vec![("a".to_owned(), 1.5f32), ("b".to_owned(), -2.0)];
        let first = put_json(&store, "job-1", &value).await.unwrap();
        let again = put_json(&store, "job-1", &value).await.unwrap();
        assert_eq!(first, again, "the same bytes, the same key");
        assert!(first.key.starts_with("artifacts/job-1/"));
        let read: Vec<(String, f32)> = get_json(&store, &first).await.unwrap();
        assert_eq!(read, value);

        // A reference that does not match what is stored is refused, not misread.
        let wrong = Artifact {
            size: first.size + 1,
            ..first.clone()
        };
        let err = get_json::<Vec<(String, f32)>>(&store, &wrong)
            .await
            .unwrap_err();
        assert!(matches!(err, StorageError::Mismatch { .. }), "{err}");

        store.remove_all(&artifacts_prefix("job-1")).await.unwrap();
        let err = get_json::<Vec<(String, f32)>>(&store, &first)
            .await
            .unwrap_err();
        assert!(matches!(err, StorageError::Missing { .. }), "{err}");
        store.remove_all(&artifacts_prefix("job-1")).await.unwrap();
    }
}
