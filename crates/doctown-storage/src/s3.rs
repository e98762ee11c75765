//! S3-compatible object storage through aws-sdk-s3: Cloudflare R2 in production, any server
//! that speaks S3 (SeaweedFS in tests).

use std::path::Path;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use tokio_util::io::ReaderStream;

use crate::{Object, StorageError, Store};

/// Where the bucket is and how to sign for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Settings {
    /// The endpoint URL.
    pub endpoint: String,
    /// The bucket.
    pub bucket: String,
    /// The region (`auto` for R2).
    pub region: String,
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// Path-style addressing (`endpoint/bucket/key`).
    pub path_style: bool,
    /// How long pre-signed URLs stay valid.
    pub url_expiry: Duration,
}

/// A bucket of an S3-compatible service.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    settings: S3Settings,
}

impl S3Store {
    /// A store for `settings`; nothing is contacted until it is used.
    pub fn new(settings: S3Settings) -> Self {
        let credentials = Credentials::new(
            &settings.access_key_id,
            &settings.secret_access_key,
            None,
            None,
            "doctown-settings",
        );
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .endpoint_url(&settings.endpoint)
            .force_path_style(settings.path_style)
            .credentials_provider(credentials)
            // R2 (and most S3-compatible services) reject the newer default checksums.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .build();
        Self {
            client: Client::from_conf(config),
            settings,
        }
    }

    fn error<E: std::error::Error + 'static, R: std::fmt::Debug>(
        &self,
        action: &'static str,
        key: &str,
        err: SdkError<E, R>,
    ) -> StorageError {
        StorageError::S3 {
            endpoint: self.settings.endpoint.clone(),
            action,
            key: key.to_owned(),
            message: DisplayErrorContext(&err).to_string(),
        }
    }
}

impl Store for S3Store {
    fn put<'a>(&'a self, key: &'a str, file: &'a Path) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            let body = ByteStream::from_path(file)
                .await
                .map_err(|err| StorageError::Local {
                    action: "read",
                    path: file.display().to_string(),
                    source: std::io::Error::other(err),
                })?;
            self.client
                .put_object()
                .bucket(&self.settings.bucket)
                .key(key)
                .content_type(if key.ends_with(".json") {
                    "application/json"
                } else {
                    "application/gzip"
                })
                .body(body)
                .send()
                .await
                .map_err(|err| self.error("store", key, err))?;
            Ok(())
        })
    }

    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Object>, StorageError>> {
        Box::pin(async move {
            let output = match self
                .client
                .get_object()
                .bucket(&self.settings.bucket)
                .key(key)
                .send()
                .await
            {
                Ok(output) => output,
                Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                    return Ok(None);
                }
                Err(err) => return Err(self.error("read", key, err)),
            };
            let size = output
                .content_length()
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or_default();
            let body = ReaderStream::new(output.body.into_async_read()).boxed();
            Ok(Some(Object { size, body }))
        })
    }

    fn size<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<u64>, StorageError>> {
        Box::pin(async move {
            match self
                .client
                .head_object()
                .bucket(&self.settings.bucket)
                .key(key)
                .send()
                .await
            {
                Ok(output) => Ok(Some(
                    output
                        .content_length()
                        .and_then(|n| u64::try_from(n).ok())
                        .unwrap_or_default(),
                )),
                Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
                Err(err) => Err(self.error("look up", key, err)),
            }
        })
    }

    fn download_url<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, StorageError>> {
        Box::pin(async move {
            let presigning =
                PresigningConfig::expires_in(self.settings.url_expiry).map_err(|err| {
                    StorageError::Settings(format!("DOCTOWN_S3_URL_EXPIRY_SECS: {err}"))
                })?;
            let request = self
                .client
                .get_object()
                .bucket(&self.settings.bucket)
                .key(key)
                .presigned(presigning)
                .await
                .map_err(|err| self.error("sign a download URL for", key, err))?;
            Ok(Some(request.uri().to_owned()))
        })
    }

    fn remove_all<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            let mut pages = self
                .client
                .list_objects_v2()
                .bucket(&self.settings.bucket)
                .prefix(prefix)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|err| self.error("list", prefix, err))?;
                let keys: Vec<String> = page
                    .contents()
                    .iter()
                    .filter_map(|object| object.key().map(str::to_owned))
                    .collect();
                // One request per object: DeleteObjects needs checksums some services refuse.
                let mut deletions = futures_util::stream::iter(keys)
                    .map(|key| async move {
                        self.client
                            .delete_object()
                            .bucket(&self.settings.bucket)
                            .key(&key)
                            .send()
                            .await
                            .map(drop)
                            .map_err(|err| self.error("remove", &key, err))
                    })
                    .buffer_unordered(16);
                while let Some(deleted) = deletions.next().await {
                    deleted?;
                }
            }
            Ok(())
        })
    }
}
