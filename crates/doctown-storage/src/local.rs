//! The local store: one file per key under a folder.

use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use tokio_util::io::ReaderStream;

use crate::{Object, StorageError, Store};

/// Objects as files under a folder; keys become relative paths.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// A store in `root`, created when missing.
    pub fn new(root: &Path) -> Result<Self, StorageError> {
        std::fs::create_dir_all(root).map_err(|source| StorageError::Local {
            action: "create",
            path: root.display().to_string(),
            source,
        })?;
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    /// The file of `key`; keys are made by Doctown (`docpacks/<hex>.docpack`), but one that
    /// would leave the folder is refused anyway.
    fn path(&self, key: &str) -> Result<PathBuf, StorageError> {
        let safe = !key.is_empty()
            && key.split('/').all(|part| {
                !part.is_empty() && part != "." && part != ".." && !part.contains('\\')
            });
        if !safe {
            return Err(StorageError::Settings(format!(
                "{key:?} is not a valid object key"
            )));
        }
        Ok(self.root.join(key))
    }
}

/// Bytes read from a file at once.
const READ_CHUNK: usize = 256 * 1024;

/// Maps an I/O error on `path` to a storage error.
fn local(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StorageError {
    let path = path.display().to_string();
    move |source| StorageError::Local {
        action,
        path,
        source,
    }
}

impl Store for LocalStore {
    fn put<'a>(&'a self, key: &'a str, file: &'a Path) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            let target = self.path(key)?;
            let folder = target.parent().unwrap_or(&self.root).to_path_buf();
            tokio::fs::create_dir_all(&folder)
                .await
                .map_err(local("create", &folder))?;
            // Copied beside the target under a unique name, then renamed over it: readers see
            // all or nothing, and two writers never share a partial file.
            let partial = tempfile::Builder::new()
                .prefix(".")
                .suffix(".partial")
                .tempfile_in(&folder)
                .map_err(local("write in", &folder))?;
            tokio::fs::copy(file, partial.path())
                .await
                .map_err(local("write", partial.path()))?;
            partial
                .persist(&target)
                .map(|_| ())
                .map_err(|err| local("write", &target)(err.error))
        })
    }

    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Object>, StorageError>> {
        Box::pin(async move {
            let path = self.path(key)?;
            let file = match tokio::fs::File::open(&path).await {
                Ok(file) => file,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(err) => return Err(local("read", &path)(err)),
            };
            let size = file.metadata().await.map_err(local("read", &path))?.len();
            Ok(Some(Object {
                size,
                // Large reads: each is one trip to the blocking pool.
                body: ReaderStream::with_capacity(file, READ_CHUNK).boxed(),
            }))
        })
    }

    fn size<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<u64>, StorageError>> {
        Box::pin(async move {
            let path = self.path(key)?;
            match tokio::fs::metadata(&path).await {
                Ok(metadata) => Ok(Some(metadata.len())),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(err) => Err(local("read", &path)(err)),
            }
        })
    }

    fn download_url<'a>(
        &'a self,
        _key: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, StorageError>> {
        Box::pin(async { Ok(None) })
    }

    fn remove_all<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            // Prefixes name folders (`artifacts/<job>/`).
            let folder = self.path(prefix.trim_end_matches('/'))?;
            match tokio::fs::remove_dir_all(&folder).await {
                Ok(()) => Ok(()),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(err) => Err(local("remove", &folder)(err)),
            }
        })
    }
}
