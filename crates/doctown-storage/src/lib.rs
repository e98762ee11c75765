//! Where docpacks and artifacts are kept. [`Store`] is the one small trait: put a file under a
//! key, open a key as a stream, give a download URL, and remove what a prefix holds. [`LocalStore`] keeps files in a folder (the default);
//! [`S3Store`] uses any S3-compatible service through aws-sdk-s3, with pre-signed download URLs
//! (Cloudflare R2 in production). [`StorageSettings`] picks one from flags or the environment.

mod artifact;
mod local;
mod s3;
mod settings;

use std::io;
use std::path::Path;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::stream::{BoxStream, StreamExt};
use sha2::{Digest, Sha256};

pub use artifact::{artifacts_prefix, get_json, put_json};
pub use local::LocalStore;
pub use s3::{S3Settings, S3Store};
pub use settings::{StorageKind, StorageSettings};

/// A stored object's bytes, streamed.
pub struct Object {
    /// Its size in bytes.
    pub size: u64,
    /// Its bytes.
    pub body: BoxStream<'static, io::Result<Bytes>>,
}

impl std::fmt::Debug for Object {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Object")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// Somewhere to keep objects by key (`docpacks/<checksum>.docpack`).
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Stores the file at `file` under `key`, replacing what was there; readers never see a
    /// partly written object. Callers key objects by their content ([`docpack_key`]), so what
    /// a key holds never changes.
    fn put<'a>(&'a self, key: &'a str, file: &'a Path) -> BoxFuture<'a, Result<(), StorageError>>;

    /// The object under `key`, or `None` when there is none.
    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Object>, StorageError>>;

    /// The size of the object under `key`, or `None` when there is none (a HEAD, not a read).
    fn size<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<u64>, StorageError>>;

    /// A URL that downloads `key` without credentials, when the store can make one (a
    /// pre-signed URL); `None` when downloads go through the worker.
    fn download_url<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, StorageError>>;

    /// Removes every object whose key starts with `prefix` (a folder's worth: `artifacts/<job>/`);
    /// none is not an error.
    fn remove_all<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<(), StorageError>>;
}

/// Why the store failed, with what to do.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The local folder could not be used.
    #[error(
        "could not {action} {path}: {source}; check that the folder exists and is writable (DOCTOWN_STORAGE_DIR)"
    )]
    Local {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The object store refused or failed.
    #[error(
        "object storage at {endpoint} failed to {action} {key}: {message}; check DOCTOWN_S3_ENDPOINT, DOCTOWN_S3_BUCKET and the credentials"
    )]
    S3 {
        /// The endpoint.
        endpoint: String,
        /// What was being done.
        action: &'static str,
        /// The key.
        key: String,
        /// What the service said.
        message: String,
    },
    /// The settings are incomplete.
    #[error("{0}")]
    Settings(String),
    /// An object that was recorded is not in the store.
    #[error(
        "the object {key} is missing from storage; it was removed, or the store is not the one \
         it was written to (check DOCTOWN_STORAGE_DIR or DOCTOWN_S3_BUCKET)"
    )]
    Missing {
        /// The key.
        key: String,
    },
    /// An object's bytes are not what its reader expects.
    #[error("the object {key} cannot be read: {message}")]
    Malformed {
        /// The key.
        key: String,
        /// Why.
        message: String,
    },
    /// The object under a key is not what was recorded of it.
    #[error(
        "the object stored under {key} is not the one recorded ({what}); it was changed or \
         damaged in storage: store it again (submit the job again)"
    )]
    Mismatch {
        /// The key.
        key: String,
        /// What differs.
        what: String,
    },
}

/// The key of a docpack: `docpacks/<checksum>.docpack`, named by the SHA-256 of its bytes
/// (lowercase hex), so two different files never share a key and storing the same file twice
/// changes nothing.
pub fn docpack_key(checksum: &str) -> String {
    format!("docpacks/{checksum}.docpack")
}

/// `object` (stored under `key`) checked against what was recorded of it: its size at once,
/// when one is given, and its SHA-256 as it streams. The last piece of the body is held back
/// until the whole has been hashed, so a reader never receives a complete body whose checksum
/// is wrong: the stream ends in an error instead.
pub fn verified(
    key: &str,
    object: Object,
    size: Option<u64>,
    sha256: &str,
) -> Result<Object, StorageError> {
    let mismatch = |what: String| StorageError::Mismatch {
        key: key.to_owned(),
        what,
    };
    if let Some(size) = size
        && size != object.size
    {
        return Err(mismatch(format!("{} bytes instead of {size}", object.size)));
    }
    struct State {
        body: BoxStream<'static, io::Result<Bytes>>,
        hasher: Option<Sha256>,
        held: Option<Bytes>,
        expected: String,
        key: String,
    }
    let state = State {
        body: object.body,
        hasher: Some(Sha256::new()),
        held: None,
        expected: sha256.to_owned(),
        key: key.to_owned(),
    };
    let body = futures_util::stream::unfold(state, |mut state| async move {
        loop {
            let hasher = state.hasher.as_mut()?;
            match state.body.next().await {
                Some(Ok(piece)) => {
                    hasher.update(&piece);
                    if let Some(previous) = state.held.replace(piece) {
                        return Some((Ok(previous), state));
                    }
                }
                Some(Err(err)) => {
                    state.hasher = None;
                    return Some((Err(err), state));
                }
                None => {
                    let digest = state.hasher.take()?.finalize();
                    let actual: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                    if actual == state.expected {
                        let last = state.held.take()?;
                        return Some((Ok(last), state));
                    }
                    tracing::error!(
                        key = state.key,
                        expected = state.expected,
                        actual,
                        "a stored object's checksum differs from its record; its download was cut"
                    );
                    let err = io::Error::other(format!(
                        "the object stored under {} does not have the recorded checksum",
                        state.key
                    ));
                    return Some((Err(err), state));
                }
            }
        }
    });
    Ok(Object {
        size: object.size,
        body: body.boxed(),
    })
}
