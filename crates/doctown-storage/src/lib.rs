//! Where docpacks are kept. [`Store`] is the one small trait: put a file under a key, open a key
//! as a stream, and give a download URL. [`LocalStore`] keeps files in a folder (the default);
//! [`S3Store`] uses any S3-compatible service through aws-sdk-s3, with pre-signed download URLs
//! (Cloudflare R2 in production). [`StorageSettings`] picks one from flags or the environment.

mod local;
mod s3;
mod settings;

use std::io;
use std::path::Path;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;

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

/// Somewhere to keep objects by key (`docpacks/<id>.docpack`).
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Stores the file at `file` under `key`, replacing what was there; readers never see a
    /// partly written object.
    fn put<'a>(&'a self, key: &'a str, file: &'a Path) -> BoxFuture<'a, Result<(), StorageError>>;

    /// The object under `key`, or `None` when there is none.
    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Object>, StorageError>>;

    /// A URL that downloads `key` without credentials, when the store can make one (a
    /// pre-signed URL); `None` when downloads go through the worker.
    fn download_url<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, StorageError>>;
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
}

/// The key of a docpack: `docpacks/<docpack_id>.docpack`.
pub fn docpack_key(docpack_id: &str) -> String {
    format!("docpacks/{docpack_id}.docpack")
}
