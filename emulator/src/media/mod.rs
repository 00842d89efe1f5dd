//! WhatsApp's copies of media files (runtime): [`blobs::Blobs`], the bytes of uploaded and
//! inbound media on disk under the data dir, and [`store_inbound`], what the inbound simulation
//! calls to give a customer's file a media id. Meta's media rules are the domain's
//! ([`crate::meta::media`], re-exported here); the media metadata (owner, type, size, lifetime)
//! lives in the partition: [`crate::state::media`].

pub mod blobs;

use bytes::Bytes;

pub use crate::meta::media::*;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::state::media::{INBOUND_LIFETIME_MS, MediaFile, MediaOrigin};

/// Stores a file a customer sent to the phone number `phone_hex` (of the partition `account`,
/// `region`) and records it as media of that number for 7 days, retrievable with
/// GetWhatsAppMessageMedia. A file over 100 MB is refused with Meta's 131052 (the inbound
/// simulation reports it in the message's `errors`); the MIME type is taken as given (customers
/// can send any file as a document).
pub async fn store_inbound(
    state: &AppState,
    account: &str,
    region: &str,
    phone_hex: &str,
    bytes: Bytes,
    mime_type: &str,
) -> ApiResult<InboundMedia> {
    if bytes.len() as u64 > MAX_MEDIA_BYTES {
        return Err(MetaMediaError::download(format!(
            "the file is {} bytes; WhatsApp takes files up to 100 MB",
            bytes.len()
        ))
        .to_api_error());
    }
    let mime = normalize_mime(mime_type);
    let mime = if mime.is_empty() { "application/octet-stream".to_string() } else { mime };
    let media_id = state.ids.meta_id(15);
    let hashed = bytes.clone();
    let sha256 = tokio::task::spawn_blocking(move || sha256_base64(&hashed))
        .await
        .map_err(|e| ApiError::internal(format!("Hashing the media file failed: {e}")))?;
    let file_size = bytes.len() as u64;
    state.media.write(account, region, &media_id, &bytes).await?;
    let now = state.clock.now_ms();
    let file = MediaFile {
        media_id: media_id.clone(),
        phone_hex: phone_hex.to_string(),
        kind: MediaKind::of_mime(&mime),
        mime_type: mime.clone(),
        file_size,
        sha256: sha256.clone(),
        animated: mime == "image/webp" && sniff::webp_is_animated(&bytes),
        created_ms: now,
        expires_ms: now + INBOUND_LIFETIME_MS,
        origin: MediaOrigin::Inbound,
    };
    let kind = file.kind;
    let partition = state.store.partition(account, region);
    let expired = {
        let mut p = partition.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        p.media.insert(file, now)
    };
    state.media.remove_all(account, region, &expired).await;
    Ok(InboundMedia { media_id, mime_type: mime, sha256, file_size, kind })
}
