//! Both stores for real: the local folder, and S3 against the S3-compatible server on loopback
//! that `scripts/services start` runs (SeaweedFS, which checks signatures).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use doctown_storage::{LocalStore, S3Settings, S3Store, StorageError, Store, docpack_key};
use futures_util::TryStreamExt;

/// Bytes that do not compress, as a docpack's do not.
fn payload(size: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

async fn read_all(store: &dyn Store, key: &str) -> Option<Vec<u8>> {
    let object = store.open(key).await.unwrap()?;
    let chunks: Vec<_> = object.body.try_collect().await.unwrap();
    let bytes = chunks.concat();
    assert_eq!(bytes.len() as u64, object.size);
    Some(bytes)
}

fn file_with(folder: &Path, bytes: &[u8]) -> std::path::PathBuf {
    let path = folder.join("upload.docpack");
    std::fs::write(&path, bytes).unwrap();
    path
}

#[tokio::test]
async fn the_local_store_keeps_whole_files() {
    let temp = tempfile::tempdir().unwrap();
    let store = LocalStore::new(&temp.path().join("store")).unwrap();
    let key = docpack_key("ab12");
    assert!(read_all(&store, &key).await.is_none());
    let first = payload(300_000);
    store
        .put(&key, &file_with(temp.path(), &first))
        .await
        .unwrap();
    assert_eq!(read_all(&store, &key).await.unwrap(), first);
    let second = payload(10);
    store
        .put(&key, &file_with(temp.path(), &second))
        .await
        .unwrap();
    assert_eq!(read_all(&store, &key).await.unwrap(), second);
    let files: Vec<_> = std::fs::read_dir(temp.path().join("store/docpacks"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files, ["ab12.docpack"], "no partial file is left");
    assert_eq!(store.download_url(&key).await.unwrap(), None);
    for bad in ["../escape", "/absolute", "a//b", ""] {
        assert!(store.open(bad).await.is_err(), "{bad:?}");
    }
}

/// The S3 settings of the server `scripts/services start` runs.
fn s3_settings() -> S3Settings {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!(
                "{name} is not set: these tests need the S3-compatible server on loopback; run \
                 them with ./scripts/test, or `eval \"$(scripts/services start)\"` first"
            )
        })
    };
    S3Settings {
        endpoint: var("DOCTOWN_TEST_S3_ENDPOINT"),
        bucket: var("DOCTOWN_TEST_S3_BUCKET"),
        region: "auto".into(),
        access_key_id: var("DOCTOWN_TEST_S3_ACCESS_KEY_ID"),
        secret_access_key: var("DOCTOWN_TEST_S3_SECRET_ACCESS_KEY"),
        path_style: true,
        url_expiry: Duration::from_secs(600),
    }
}

#[tokio::test]
async fn s3_stores_opens_and_signs_download_urls() {
    let store = S3Store::new(s3_settings());
    let temp = tempfile::tempdir().unwrap();
    let key = docpack_key(&format!("test-{}", std::process::id()));
    assert!(read_all(&store, &key).await.is_none());
    let bytes = payload(3 * 1024 * 1024 + 17);
    store
        .put(&key, &file_with(temp.path(), &bytes))
        .await
        .unwrap();
    assert_eq!(read_all(&store, &key).await.unwrap(), bytes);

    let url = store.download_url(&key).await.unwrap().unwrap();
    assert!(url.contains("X-Amz-Signature="), "{url}");
    let http = reqwest::Client::new();
    let downloaded = http.get(&url).send().await.unwrap();
    assert_eq!(downloaded.status(), 200);
    assert_eq!(downloaded.bytes().await.unwrap().to_vec(), bytes);

    // The server checks the signature: a changed URL is refused.
    let tampered = url.replace(&key, &docpack_key("someone-else"));
    assert_eq!(http.get(&tampered).send().await.unwrap().status(), 403);
}

#[tokio::test]
async fn a_wrong_secret_is_an_error_that_says_what_to_check() {
    let store = S3Store::new(S3Settings {
        secret_access_key: "wrong".into(),
        ..s3_settings()
    });
    let temp = tempfile::tempdir().unwrap();
    let err = store
        .put(&docpack_key("x"), &file_with(temp.path(), b"x"))
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::S3 { .. }));
    let message = err.to_string();
    assert!(
        message.contains("failed to store docpacks/x.docpack"),
        "{message}"
    );
    assert!(message.contains("check DOCTOWN_S3_ENDPOINT"), "{message}");
}
