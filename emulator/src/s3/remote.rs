//! A real S3-compatible server (LocalStack, MinIO, AWS, an in-process `s3s` in tests) through
//! `aws-sdk-s3`, path-style (`http://endpoint/bucket/key`, what local servers serve).
//!
//! Credentials are `--s3-access-key-id` / `--s3-secret-access-key` when given, else the usual AWS
//! chain (environment, profile, container or instance role); the Region is `--s3-region`, else
//! the chain's, else `us-east-1`. The client is built on first use.

use aws_config::BehaviorVersion;
use aws_config::meta::region::RegionProviderChain;
use aws_sdk_s3::config::Region;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use tokio::sync::OnceCell;

use super::S3Settings;
use super::{ObjectStore, S3Error, S3Future, S3Object};

pub struct RemoteStore {
    endpoint: String,
    region: Option<String>,
    credentials: Option<(String, String)>,
    client: OnceCell<aws_sdk_s3::Client>,
}

impl RemoteStore {
    pub fn new(endpoint: &str, settings: &S3Settings) -> RemoteStore {
        let credentials = match (&settings.access_key_id, &settings.secret_access_key) {
            (Some(id), Some(secret)) => Some((id.clone(), secret.clone())),
            _ => None,
        };
        RemoteStore {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            region: settings.region.clone(),
            credentials,
            client: OnceCell::new(),
        }
    }

    async fn client(&self) -> &aws_sdk_s3::Client {
        self.client
            .get_or_init(|| async {
                let region = RegionProviderChain::first_try(self.region.clone().map(Region::new))
                    .or_default_provider()
                    .or_else(Region::from_static("us-east-1"));
                let mut loader = aws_config::defaults(BehaviorVersion::latest())
                    .endpoint_url(&self.endpoint)
                    .region(region);
                if let Some((id, secret)) = &self.credentials {
                    loader = loader.credentials_provider(aws_credential_types::Credentials::new(
                        id,
                        secret,
                        None,
                        None,
                        "eum-social-config",
                    ));
                }
                let shared = loader.load().await;
                let config =
                    aws_sdk_s3::config::Builder::from(&shared).force_path_style(true).build();
                aws_sdk_s3::Client::from_conf(config)
            })
            .await
    }

    async fn get(&self, bucket: &str, key: &str, limit: u64) -> Result<S3Object, S3Error> {
        let out = self.client().await.get_object().bucket(bucket).key(key).send().await;
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                let error = self.error(e);
                // Some servers (s3s-fs among them) answer NoSuchKey for a missing bucket too.
                if error == S3Error::NoSuchKey && !self.bucket_exists(bucket).await {
                    return Err(S3Error::NoSuchBucket);
                }
                return Err(error);
            }
        };
        let size = out.content_length().unwrap_or(0).max(0) as u64;
        if size > limit {
            return Err(S3Error::TooLarge { size, limit });
        }
        let content_type = out.content_type().map(str::to_string);
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| S3Error::Unavailable(format!("reading the object's body: {e}")))?
            .into_bytes();
        if bytes.len() as u64 > limit {
            return Err(S3Error::TooLarge { size: bytes.len() as u64, limit });
        }
        Ok(S3Object { bytes, content_type })
    }

    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> Result<(), S3Error> {
        self.client()
            .await
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.error(e))
    }

    /// False only when the server says the bucket does not exist.
    async fn bucket_exists(&self, bucket: &str) -> bool {
        match self.client().await.head_bucket().bucket(bucket).send().await {
            Ok(_) => true,
            Err(e) => !matches!(self.error(e), S3Error::NoSuchBucket | S3Error::NoSuchKey),
        }
    }

    fn error<E>(&self, e: SdkError<E, HttpResponse>) -> S3Error
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let status = e.raw_response().map(|r| r.status().as_u16());
        match e.as_service_error().and_then(|s| s.code()) {
            Some("NoSuchBucket") => S3Error::NoSuchBucket,
            Some("NoSuchKey") | Some("NotFound") => S3Error::NoSuchKey,
            Some(
                "AccessDenied"
                | "InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
                | "NotSignedUp"
                | "ExpiredToken"
                | "InvalidToken"
                | "AllAccessDisabled",
            ) => S3Error::AccessDenied(
                e.as_service_error().and_then(|s| s.message()).unwrap_or_default().to_string(),
            ),
            Some(
                "InvalidBucketName" | "KeyTooLongError" | "InvalidArgument" | "InvalidRequest",
            ) => S3Error::InvalidName(format!(
                "{} refused the request: {}",
                self.endpoint,
                e.as_service_error().and_then(|s| s.message()).unwrap_or_default()
            )),
            _ if status == Some(403) => {
                S3Error::AccessDenied(format!("HTTP 403 from {}", self.endpoint))
            }
            _ if status == Some(404) => S3Error::NoSuchKey,
            Some(code) => S3Error::Unavailable(format!(
                "{} answered {code}: {}",
                self.endpoint,
                e.as_service_error().and_then(|s| s.message()).unwrap_or_default()
            )),
            None => S3Error::Unavailable(format!(
                "{} could not be reached: {}",
                self.endpoint,
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )),
        }
    }
}

impl ObjectStore for RemoteStore {
    fn get_object<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        limit: u64,
    ) -> S3Future<'a, S3Object> {
        Box::pin(self.get(bucket, key, limit))
    }

    fn put_object<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        body: Bytes,
        content_type: &'a str,
    ) -> S3Future<'a, ()> {
        Box::pin(self.put(bucket, key, body, content_type))
    }

    fn describe(&self) -> String {
        format!("S3 endpoint {} (path-style)", self.endpoint)
    }
}
