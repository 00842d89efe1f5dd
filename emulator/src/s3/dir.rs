//! The embedded S3 store: a directory laid out `<data-dir>/<bucket>/<key>`, so that a person or a
//! test can drop a file in (`mkdir -p DIR/my-bucket && cp cat.jpg DIR/my-bucket/`) and post it
//! as `{"bucketName": "my-bucket", "key": "cat.jpg"}`.
//!
//! An object's `Content-Type` is read from a sidecar file `<data-dir>/.content-types/<bucket>/<key>`
//! holding the type as text (the emulator writes one with every object it stores), else guessed
//! from the key's extension. `.content-types` can never be a bucket name, so the sidecars do not
//! clutter any bucket. A bucket is a directory: reading from a missing one is `NoSuchBucket`;
//! writing creates it.

use std::io::ErrorKind;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use tokio::io::AsyncReadExt;

use super::{DataDir, ObjectStore, S3Error, S3Future, S3Object};

/// The sidecar tree of content types, beside the buckets.
pub const CONTENT_TYPES_DIR: &str = ".content-types";

pub struct DirStore {
    dir: Arc<DataDir>,
}

impl DirStore {
    pub fn new(dir: Arc<DataDir>) -> DirStore {
        DirStore { dir }
    }

    /// `(bucket dir, object path, sidecar path)`, refusing names that would leave the directory.
    fn paths(&self, bucket: &str, key: &str) -> Result<(PathBuf, PathBuf, PathBuf), S3Error> {
        check_bucket(bucket)?;
        let segments = key_segments(key)?;
        let root = self.dir.path();
        let bucket_dir = root.join(bucket);
        let mut object = bucket_dir.clone();
        let mut sidecar = root.join(CONTENT_TYPES_DIR).join(bucket);
        for s in segments {
            object.push(s);
            sidecar.push(s);
        }
        Ok((bucket_dir, object, sidecar))
    }

    async fn get(&self, bucket: &str, key: &str, limit: u64) -> Result<S3Object, S3Error> {
        let (bucket_dir, path, sidecar) = self.paths(bucket, key)?;
        if !tokio::fs::metadata(&bucket_dir).await.is_ok_and(|m| m.is_dir()) {
            return Err(S3Error::NoSuchBucket);
        }
        let file = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Err(S3Error::NoSuchKey),
            Err(e) => return Err(io_error(e)),
        };
        let meta = file.metadata().await.map_err(io_error)?;
        if meta.is_dir() {
            return Err(S3Error::NoSuchKey);
        }
        if meta.len() > limit {
            return Err(S3Error::TooLarge { size: meta.len(), limit });
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        // `take` guards against a file that grows while it is read.
        file.take(limit + 1).read_to_end(&mut bytes).await.map_err(io_error)?;
        if bytes.len() as u64 > limit {
            return Err(S3Error::TooLarge { size: bytes.len() as u64, limit });
        }
        let content_type = match tokio::fs::read_to_string(&sidecar).await {
            Ok(text) if !text.trim().is_empty() => Some(text.trim().to_string()),
            _ => crate::meta::media::mime_from_key(key).map(str::to_string),
        };
        Ok(S3Object { bytes: Bytes::from(bytes), content_type })
    }

    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> Result<(), S3Error> {
        let (_, path, sidecar) = self.paths(bucket, key)?;
        write_atomically(&path, &body).await?;
        write_atomically(&sidecar, content_type.as_bytes()).await
    }
}

impl ObjectStore for DirStore {
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
        format!("directory {}", self.dir.path().display())
    }
}

/// Writes beside the target, then renames: a reader never sees half a file.
pub(crate) async fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> Result<(), S3Error> {
    let parent = path.parent().ok_or_else(|| S3Error::Unavailable("no parent directory".into()))?;
    tokio::fs::create_dir_all(parent).await.map_err(io_error)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = parent.join(format!(".{name}.{}.part", uuid::Uuid::new_v4().simple()));
    tokio::fs::write(&tmp, bytes).await.map_err(io_error)?;
    if let Err(e) = tokio::fs::rename(&tmp, path).await {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(io_error(e));
    }
    Ok(())
}

fn io_error(e: std::io::Error) -> S3Error {
    S3Error::Unavailable(format!("I/O error in the embedded S3 directory: {e}"))
}

/// S3's bucket naming rules, anchored (the model's pattern is matched as a search, so it lets
/// `../x` through).
fn check_bucket(bucket: &str) -> Result<(), S3Error> {
    let b = bucket.as_bytes();
    let ok = (3..=63).contains(&b.len())
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b".-".contains(c))
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && !bucket.contains("..");
    if ok {
        Ok(())
    } else {
        Err(S3Error::InvalidName(format!(
            "'{bucket}' is not a valid S3 bucket name (3-63 lowercase letters, digits, '.' and \
             '-', starting and ending with a letter or digit)"
        )))
    }
}

/// The key's path segments; keys that cannot be a relative path under the bucket are refused.
fn key_segments(key: &str) -> Result<Vec<&str>, S3Error> {
    let segments: Vec<&str> = key.split('/').collect();
    let bad = key.is_empty()
        || key.contains(['\\', '\0'])
        || segments.iter().any(|s| s.is_empty() || *s == "." || *s == "..");
    if bad {
        return Err(S3Error::InvalidName(format!(
            "The key '{key}' cannot be stored in the embedded S3 directory: it must be a relative \
             path without empty, '.' or '..' segments or backslashes (use --s3-endpoint for a \
             real S3 server)"
        )));
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (DirStore, Arc<DataDir>) {
        let dir = Arc::new(DataDir::new(None));
        (DirStore::new(dir.clone()), dir)
    }

    #[tokio::test]
    async fn a_dropped_file_is_read_with_a_type_from_its_extension() {
        let (store, dir) = store();
        std::fs::create_dir_all(dir.path().join("media/cats")).unwrap();
        std::fs::write(dir.path().join("media/cats/tom.jpg"), b"\xff\xd8\xffjpeg").unwrap();
        let obj = store.get_object("media", "cats/tom.jpg", 100).await.unwrap();
        assert_eq!(&obj.bytes[..], b"\xff\xd8\xffjpeg");
        assert_eq!(obj.content_type.as_deref(), Some("image/jpeg"));
    }

    #[tokio::test]
    async fn a_written_object_keeps_its_content_type() {
        let (store, _dir) = store();
        store.put_object("out", "a/b.bin", Bytes::from_static(b"x"), "image/png").await.unwrap();
        let obj = store.get_object("out", "a/b.bin", 100).await.unwrap();
        assert_eq!(obj.content_type.as_deref(), Some("image/png"));
    }

    #[tokio::test]
    async fn missing_bucket_key_and_oversize_are_told_apart() {
        let (store, dir) = store();
        assert_eq!(store.get_object("nope", "k", 10).await.unwrap_err(), S3Error::NoSuchBucket);
        std::fs::create_dir_all(dir.path().join("b12")).unwrap();
        assert_eq!(store.get_object("b12", "k", 10).await.unwrap_err(), S3Error::NoSuchKey);
        std::fs::write(dir.path().join("b12/k"), [0u8; 11]).unwrap();
        assert_eq!(
            store.get_object("b12", "k", 10).await.unwrap_err(),
            S3Error::TooLarge { size: 11, limit: 10 }
        );
    }

    #[test]
    fn names_that_escape_the_directory_are_refused() {
        let (store, _dir) = store();
        for (bucket, key) in [
            ("../etc", "passwd"),
            ("ok-bucket", "../x"),
            ("ok-bucket", "/abs"),
            ("ok-bucket", "a//b"),
            ("ok-bucket", "a\\b"),
            ("ab", "k"),
            ("a..b", "k"),
            (".content-types", "k"),
        ] {
            assert!(
                matches!(store.paths(bucket, key), Err(S3Error::InvalidName(_))),
                "{bucket}/{key}"
            );
        }
        assert!(store.paths("my.bucket-1", "a/b c/d.jpg").is_ok());
    }
}
