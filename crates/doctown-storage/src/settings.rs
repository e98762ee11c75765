//! Which store, read from flags or the environment.

use std::path::PathBuf;
use std::sync::Arc;

use crate::{LocalStore, S3Settings, S3Store, StorageError, Store};

/// The kinds of store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StorageKind {
    /// A local folder.
    Local,
    /// S3-compatible object storage.
    S3,
}

/// Where docpacks are kept; flatten it into a command.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(next_help_heading = "Storage settings")]
pub struct StorageSettings {
    /// Where docpacks are kept.
    #[arg(long, env = "DOCTOWN_STORAGE", value_enum, default_value = "local")]
    pub storage: StorageKind,

    /// The folder of the local store.
    #[arg(
        long,
        env = "DOCTOWN_STORAGE_DIR",
        default_value = "docpacks",
        value_name = "DIR"
    )]
    pub storage_dir: PathBuf,

    /// The S3 endpoint (`https://<account>.r2.cloudflarestorage.com` for R2).
    #[arg(long, env = "DOCTOWN_S3_ENDPOINT", value_name = "URL")]
    pub s3_endpoint: Option<String>,

    /// The bucket.
    #[arg(long, env = "DOCTOWN_S3_BUCKET", value_name = "NAME")]
    pub s3_bucket: Option<String>,

    /// The region (`auto` for R2).
    #[arg(
        long,
        env = "DOCTOWN_S3_REGION",
        default_value = "auto",
        value_name = "REGION"
    )]
    pub s3_region: String,

    /// The access key id.
    #[arg(long, env = "DOCTOWN_S3_ACCESS_KEY_ID", value_name = "ID")]
    pub s3_access_key_id: Option<String>,

    /// The secret access key.
    #[arg(
        long,
        env = "DOCTOWN_S3_SECRET_ACCESS_KEY",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub s3_secret_access_key: Option<String>,

    /// Address buckets by path (`endpoint/bucket/key`) rather than by host name.
    #[arg(long, env = "DOCTOWN_S3_PATH_STYLE", default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub s3_path_style: bool,

    /// How long a pre-signed download URL stays valid, in seconds.
    #[arg(
        long,
        env = "DOCTOWN_S3_URL_EXPIRY_SECS",
        default_value_t = 3600,
        value_name = "SECONDS"
    )]
    pub s3_url_expiry_secs: u64,
}

impl StorageSettings {
    /// The store these settings describe.
    pub fn store(&self) -> Result<Arc<dyn Store>, StorageError> {
        match self.storage {
            StorageKind::Local => Ok(Arc::new(LocalStore::new(&self.storage_dir)?)),
            StorageKind::S3 => {
                let need = |value: &Option<String>, variable: &str| {
                    value.clone().filter(|v| !v.is_empty()).ok_or_else(|| {
                        StorageError::Settings(format!(
                            "DOCTOWN_STORAGE is s3 but {variable} is not set; set it, or use \
                             DOCTOWN_STORAGE=local"
                        ))
                    })
                };
                Ok(Arc::new(S3Store::new(S3Settings {
                    endpoint: need(&self.s3_endpoint, "DOCTOWN_S3_ENDPOINT")?,
                    bucket: need(&self.s3_bucket, "DOCTOWN_S3_BUCKET")?,
                    region: self.s3_region.clone(),
                    access_key_id: need(&self.s3_access_key_id, "DOCTOWN_S3_ACCESS_KEY_ID")?,
                    secret_access_key: need(
                        &self.s3_secret_access_key,
                        "DOCTOWN_S3_SECRET_ACCESS_KEY",
                    )?,
                    path_style: self.s3_path_style,
                    url_expiry: std::time::Duration::from_secs(self.s3_url_expiry_secs),
                })))
            }
        }
    }
}
