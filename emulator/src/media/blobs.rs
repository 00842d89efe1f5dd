//! WhatsApp's copies of media files: the bytes behind each media id, on disk at
//! `<data-dir>/.whatsapp-media/<account>/<region>/<media id>` (a name no bucket can have), so
//! that large files cost no memory. The metadata lives in the partition
//! ([`crate::state::media`]); these files are written before it is recorded and removed after
//! it is dropped, outside the partition's lock.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;

use crate::error::{ApiError, ApiResult};
use crate::s3::DataDir;

pub const MEDIA_DIR: &str = ".whatsapp-media";

#[derive(Debug)]
pub struct Blobs {
    dir: Arc<DataDir>,
}

impl Blobs {
    pub fn new(dir: Arc<DataDir>) -> Blobs {
        Blobs { dir }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join(MEDIA_DIR)
    }

    fn path(&self, account: &str, region: &str, media_id: &str) -> PathBuf {
        self.root().join(component(account)).join(component(region)).join(component(media_id))
    }

    pub async fn write(
        &self,
        account: &str,
        region: &str,
        media_id: &str,
        bytes: &[u8],
    ) -> ApiResult<()> {
        crate::s3::dir::write_atomically(&self.path(account, region, media_id), bytes)
            .await
            .map_err(|e| ApiError::internal(format!("Could not store the media file: {e}")))
    }

    /// `None` when the file is gone (e.g. the data dir was cleaned behind the emulator's back).
    pub async fn read(
        &self,
        account: &str,
        region: &str,
        media_id: &str,
    ) -> ApiResult<Option<Bytes>> {
        match tokio::fs::read(self.path(account, region, media_id)).await {
            Ok(bytes) => Ok(Some(Bytes::from(bytes))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ApiError::internal(format!("Could not read the media file: {e}"))),
        }
    }

    /// Removes the files of media ids no longer recorded (deleted or expired); best effort.
    pub async fn remove_all(&self, account: &str, region: &str, media_ids: &[String]) {
        for id in media_ids {
            let path = self.path(account, region, id);
            if let Err(e) = tokio::fs::remove_file(&path).await
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove a media file");
            }
        }
    }

    /// Every media file (on reset, when the partitions that named them are dropped).
    pub async fn clear(&self) {
        let root = self.root();
        if let Err(e) = tokio::fs::remove_dir_all(&root).await
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %root.display(), error = %e, "cannot clear the media files");
        }
    }
}

/// A path component from an account, region or id: kept when plainly safe, else a hash of it
/// (the region comes from the request's SigV4 scope, which any client can write).
fn component(s: &str) -> String {
    let safe = !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if safe {
        s.to_string()
    } else {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(s.as_bytes());
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        format!("x{hex}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_never_leave_the_media_dir() {
        assert_eq!(component("us-east-1"), "us-east-1");
        for bad in ["../..", "", "a/b", "eu west"] {
            let c = component(bad);
            assert!(c.starts_with('x') && c.len() == 33, "{bad} -> {c}");
        }
        assert_ne!(component("a/b"), component("a/c"));
    }

    #[tokio::test]
    async fn written_files_read_back_and_go_away() {
        let blobs = Blobs::new(Arc::new(DataDir::new(None)));
        blobs.write("111122223333", "us-east-1", "123", b"abc").await.unwrap();
        let got = blobs.read("111122223333", "us-east-1", "123").await.unwrap();
        assert_eq!(got.as_deref(), Some(&b"abc"[..]));
        blobs.remove_all("111122223333", "us-east-1", &["123".to_string()]).await;
        assert_eq!(blobs.read("111122223333", "us-east-1", "123").await.unwrap(), None);
        blobs.clear().await;
    }
}
