//! The customer's S3 as the emulator sees it: the buckets media is read from and written to
//! (PostWhatsAppMessageMedia's `sourceS3File`, GetWhatsAppMessageMedia's `destinationS3File`), and
//! presigned URLs fetched or written over HTTP.
//!
//! Buckets sit behind one small trait, [`ObjectStore`], with two backends:
//! - [`dir::DirStore`] (the default): a directory laid out `<data-dir>/<bucket>/<key>`, so a person
//!   or a test drops a file in and names it by bucket and key;
//! - [`remote::RemoteStore`] (`--s3-endpoint URL`): any S3-compatible server (LocalStack, MinIO,
//!   AWS) through `aws-sdk-s3`, path-style.
//!
//! Presigned URLs ([`presigned::Presigned`]) are plain HTTP GETs and PUTs with the caller's headers.

pub mod dir;
pub mod presigned;
pub mod remote;

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;

/// What an [`ObjectStore`] answers.
pub type S3Future<'a, T> = Pin<Box<dyn Future<Output = Result<T, S3Error>> + Send + 'a>>;

/// An object read from a bucket.
#[derive(Debug, Clone)]
pub struct S3Object {
    pub bytes: Bytes,
    /// The object's `Content-Type`, when the store knows one.
    pub content_type: Option<String>,
}

/// Why a bucket operation failed (the caller adds which request member named the object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum S3Error {
    NoSuchBucket,
    NoSuchKey,
    /// The object is larger than the reader's limit; it was not read whole.
    TooLarge {
        size: u64,
        limit: u64,
    },
    AccessDenied(String),
    /// A bucket name or key the store cannot hold (e.g. `..` in the embedded directory store).
    InvalidName(String),
    /// The store could not be reached or failed (I/O error, endpoint down, unexpected answer).
    Unavailable(String),
}

impl fmt::Display for S3Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            S3Error::NoSuchBucket => write!(f, "the bucket does not exist (NoSuchBucket)"),
            S3Error::NoSuchKey => write!(f, "the object does not exist (NoSuchKey)"),
            S3Error::TooLarge { size, limit } => {
                write!(f, "the object is {size} bytes, over the limit of {limit} bytes")
            }
            S3Error::AccessDenied(detail) => write!(f, "access denied (AccessDenied): {detail}"),
            S3Error::InvalidName(detail) => write!(f, "{detail}"),
            S3Error::Unavailable(detail) => write!(f, "the S3 store failed: {detail}"),
        }
    }
}

/// A place objects live in, by bucket and key.
pub trait ObjectStore: Send + Sync {
    /// Reads an object of at most `limit` bytes; a larger one is [`S3Error::TooLarge`] without
    /// being read whole.
    fn get_object<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        limit: u64,
    ) -> S3Future<'a, S3Object>;

    /// Writes (or replaces) an object.
    fn put_object<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        body: Bytes,
        content_type: &'a str,
    ) -> S3Future<'a, ()>;

    /// One line for logs and the health endpoint, e.g. `directory /tmp/x`.
    fn describe(&self) -> String;
}

/// The emulator's data directory: the embedded S3 store's buckets and WhatsApp's copies of media
/// (under `.whatsapp-media/`, a name no bucket can have). A temporary directory, removed when the
/// emulator stops, unless `--data-dir` names one.
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl DataDir {
    pub fn new(configured: Option<&Path>) -> DataDir {
        if let Some(path) = configured {
            if let Err(e) = std::fs::create_dir_all(path) {
                tracing::warn!(path = %path.display(), error = %e, "cannot create the data dir");
            }
            return DataDir { path: path.to_path_buf(), _temp: None };
        }
        match tempfile::Builder::new().prefix("eum-social-").tempdir() {
            Ok(temp) => DataDir { path: temp.path().to_path_buf(), _temp: Some(temp) },
            Err(e) => {
                // Media operations will report the I/O error; everything else keeps working.
                let path = std::env::temp_dir().join(format!("eum-social-{}", std::process::id()));
                tracing::warn!(error = %e, path = %path.display(), "no temporary data dir");
                DataDir { path, _temp: None }
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Where the customer's buckets are: an S3 endpoint (with its Region and credentials), or none
/// for the embedded directory store (the app's `Config` makes these from its options).
#[derive(Debug, Clone, Default)]
pub struct S3Settings {
    pub endpoint: Option<String>,
    /// Region for `endpoint` (None: the AWS chain's, else us-east-1).
    pub region: Option<String>,
    /// Credentials for `endpoint` (None: the usual AWS credential chain).
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

/// The buckets and the presigned-URL client, chosen from the settings.
pub struct S3 {
    pub store: Box<dyn ObjectStore>,
    pub presigned: presigned::Presigned,
}

impl S3 {
    pub fn new(settings: &S3Settings, data_dir: Arc<DataDir>) -> S3 {
        let store: Box<dyn ObjectStore> = match &settings.endpoint {
            Some(endpoint) => Box::new(remote::RemoteStore::new(endpoint, settings)),
            None => Box::new(dir::DirStore::new(data_dir)),
        };
        S3 { store, presigned: presigned::Presigned::new() }
    }

    pub fn describe(&self) -> String {
        self.store.describe()
    }
}

impl fmt::Debug for S3 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3").field("store", &self.store.describe()).finish()
    }
}

/// `s3://bucket/key`, for messages.
pub fn s3_uri(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}
