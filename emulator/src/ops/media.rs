//! Media: PostWhatsAppMessageMedia, GetWhatsAppMessageMedia, DeleteWhatsAppMessageMedia.
//!
//! Each handler does its S3 and file I/O outside the partition's lock: resolve the phone number
//! (locked), read or write bytes (unlocked), record the result (locked), then remove the bytes of
//! anything that expired or was deleted (unlocked).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::context::RequestContext;
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::media::{self, MAX_MEDIA_BYTES, MetaMediaError};
use crate::model::validate::Input;
use crate::s3::presigned::{self, PresignedError};
use crate::s3::{S3Error, S3Object, s3_uri};

use crate::state::media::{MediaFile, MediaOrigin, UPLOAD_LIFETIME_MS};

/// `S3File`: for sources the object, for destinations a key *prefix*.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct S3File {
    bucket_name: String,
    key: String,
}

/// `S3PresignedUrl`.
#[derive(Debug, Clone, Deserialize)]
struct S3PresignedUrl {
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

/// Where PostWhatsAppMessageMedia reads the file from.
enum Source {
    File(S3File),
    Url(S3PresignedUrl),
}

/// The phone number's hex id, or ResourceNotFound.
fn phone_hex(state: &AppState, ctx: &RequestContext, id: &str) -> ApiResult<String> {
    state.store.read(ctx, |p| p.phone(ctx, id).map(|(_, n)| n.hex.clone()))
}

pub async fn post_whatsapp_message_media(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let phone_id = input.req_str("originationPhoneNumberId")?;
    let file: Option<S3File> = input.parse("sourceS3File")?;
    let url: Option<S3PresignedUrl> = input.parse("sourceS3PresignedUrl")?;
    let source = match (file, url) {
        (Some(f), None) => Source::File(f),
        (None, Some(u)) => Source::Url(u),
        _ => {
            return Err(ApiError::invalid_parameters(
                "Specify exactly one of sourceS3File and sourceS3PresignedUrl",
            ));
        }
    };
    let hex = phone_hex(state, ctx, phone_id)?;

    let (object, declared, source) = match source {
        Source::File(f) => {
            let source = s3_uri(&f.bucket_name, &f.key);
            let object = state
                .s3
                .store
                .get_object(&f.bucket_name, &f.key, MAX_MEDIA_BYTES)
                .await
                .map_err(|e| s3_read_error(e, &source))?;
            // The object's Content-Type, unless it is S3's generic default; then the extension.
            let declared = object
                .content_type
                .clone()
                .filter(|t| !media::is_generic_mime(t))
                .or_else(|| media::mime_from_key(&f.key).map(str::to_string))
                .ok_or_else(|| {
                    MetaMediaError::upload(format!(
                        "cannot tell the media type of {source}: the object has no Content-Type \
                         and the key has no known extension"
                    ))
                    .to_api_error()
                })?;
            (object, declared, source)
        }
        Source::Url(u) => {
            let declared = presigned::header(&u.headers, "Content-Type")
                .filter(|t| !t.trim().is_empty())
                .ok_or_else(|| {
                    ApiError::invalid_parameters(
                        "sourceS3PresignedUrl.headers must include Content-Type, the media type \
                         of the file",
                    )
                })?
                .to_string();
            let source = presigned::redact(&u.url);
            let download = state
                .s3
                .presigned
                .get(&u.url, &u.headers, MAX_MEDIA_BYTES)
                .await
                .map_err(|e| presigned_error(e, "download the file from", &source))?;
            let object = S3Object { bytes: download.bytes, content_type: download.content_type };
            (object, declared, source)
        }
    };

    // Sniffing and hashing up to 100 MB is CPU work: off the async workers.
    let bytes = object.bytes.clone();
    let (checked, sha256) = tokio::task::spawn_blocking(move || {
        (media::check_upload(&declared, &bytes), media::sha256_base64(&bytes))
    })
    .await
    .map_err(|e| ApiError::internal(format!("The media check failed: {e}")))?;
    let accepted = checked.map_err(|e| e.to_api_error())?;
    let media_id = state.ids.meta_id(15);
    state.media.write(&ctx.account, &ctx.region, &media_id, &object.bytes).await?;
    tracing::debug!(%media_id, %source, mime = accepted.media_type.mime, "media uploaded");

    let now = state.clock.now_ms();
    let file = MediaFile {
        media_id: media_id.clone(),
        phone_hex: hex,
        mime_type: accepted.media_type.mime.to_string(),
        kind: accepted.media_type.kind,
        file_size: object.bytes.len() as u64,
        sha256,
        animated: accepted.animated,
        created_ms: now,
        expires_ms: now + UPLOAD_LIFETIME_MS,
        origin: MediaOrigin::Uploaded,
    };
    let expired = state.store.with(ctx, |p| p.media.insert(file, now));
    state.media.remove_all(&ctx.account, &ctx.region, &expired).await;
    Ok(json!({ "mediaId": media_id }))
}

pub async fn get_whatsapp_message_media(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let phone_id = input.req_str("originationPhoneNumberId")?;
    let media_id = input.req_str("mediaId")?;
    let metadata_only = input.bool("metadataOnly").unwrap_or(false);
    let file: Option<S3File> = input.parse("destinationS3File")?;
    let url: Option<S3PresignedUrl> = input.parse("destinationS3PresignedUrl")?;
    if file.is_some() && url.is_some() {
        return Err(ApiError::invalid_parameters(
            "Specify either destinationS3File or destinationS3PresignedUrl, not both",
        ));
    }
    let now = state.clock.now_ms();
    let media = state.store.with(ctx, |p| {
        let hex = p.phone(ctx, phone_id)?.1.hex.clone();
        p.media.lookup(&hex, phone_id, media_id, now).cloned()
    })?;
    // fileSize is in bytes (the API reference says KB, but its own example, 78144 for a JPEG,
    // is a byte count).
    let out = json!({ "mimeType": media.mime_type, "fileSize": media.file_size });
    if metadata_only {
        return Ok(out);
    }
    if file.is_none() && url.is_none() {
        return Err(ApiError::invalid_parameters(
            "Specify destinationS3File or destinationS3PresignedUrl, or set metadataOnly to true",
        ));
    }
    let bytes = state.media.read(&ctx.account, &ctx.region, media_id).await?.ok_or_else(|| {
        ApiError::not_found(format!(
            "Media {media_id} has no file any more (its copy under the data dir was removed)"
        ))
    })?;
    if let Some(f) = file {
        // The key is a prefix: prefix + media id + the type's extension (`inbound_` →
        // `inbound_<id>.jpeg`, `audio/` → `audio/<id>.ogg`).
        let key = format!("{}{media_id}.{}", f.key, media::extension_for(&media.mime_type));
        let target = s3_uri(&f.bucket_name, &key);
        state
            .s3
            .store
            .put_object(&f.bucket_name, &key, bytes, &media.mime_type)
            .await
            .map_err(|e| s3_write_error(e, &target))?;
        tracing::debug!(%media_id, %target, "media copied to S3");
    } else if let Some(u) = url {
        state
            .s3
            .presigned
            .put(&u.url, &u.headers, bytes, &media.mime_type)
            .await
            .map_err(|e| presigned_error(e, "upload the file to", &presigned::redact(&u.url)))?;
    }
    Ok(out)
}

pub async fn delete_whatsapp_message_media(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let phone_id = input.req_str("originationPhoneNumberId")?;
    let media_id = input.req_str("mediaId")?;
    let now = state.clock.now_ms();
    let gone = state.store.with(ctx, |p| {
        let hex = p.phone(ctx, phone_id)?.1.hex.clone();
        let removed = p.media.remove(&hex, phone_id, media_id, now)?;
        let mut gone = p.media.purge_expired(now);
        gone.push(removed.media_id);
        Ok::<_, ApiError>(gone)
    })?;
    // WhatsApp's copy goes; the S3 object it came from is untouched.
    state.media.remove_all(&ctx.account, &ctx.region, &gone).await;
    Ok(json!({ "success": true }))
}

fn s3_read_error(e: S3Error, source: &str) -> ApiError {
    match e {
        S3Error::TooLarge { size, .. } => MetaMediaError::upload(format!(
            "{source} is {size} bytes; the largest file WhatsApp accepts is {} (documents)",
            media::human_size(MAX_MEDIA_BYTES)
        ))
        .to_api_error(),
        other => s3_error(other, "read", source),
    }
}

fn s3_write_error(e: S3Error, target: &str) -> ApiError {
    s3_error(e, "write", target)
}

/// A missing bucket or object is InvalidParametersException (the request names an S3 location,
/// not a resource of this service); refused access is AccessDeniedException; a store that
/// cannot be reached is DependencyException.
fn s3_error(e: S3Error, verb: &str, location: &str) -> ApiError {
    let message = format!("Cannot {verb} {location}: {e}");
    let kind = match e {
        S3Error::AccessDenied(_) => ErrorKind::AccessDenied,
        S3Error::Unavailable(_) => ErrorKind::Dependency,
        _ => ErrorKind::InvalidParameters,
    };
    if kind == ErrorKind::Dependency {
        tracing::warn!(%message, "S3 store failed");
    }
    ApiError::new(kind, message)
}

fn presigned_error(e: PresignedError, what: &str, url: &str) -> ApiError {
    match e {
        PresignedError::TooLarge { size, .. } => MetaMediaError::upload(format!(
            "the file at {url} is {size} bytes; the largest file WhatsApp accepts is {} \
             (documents)",
            media::human_size(MAX_MEDIA_BYTES)
        ))
        .to_api_error(),
        other => {
            ApiError::invalid_parameters(format!("Cannot {what} the presigned URL {url}: {other}"))
        }
    }
}

/// CreateWhatsAppMessageTemplateMedia: uploads a header example for a media-header template
/// (Meta's resumable upload) and answers the `metaHeaderHandle` a template definition names in
/// `example.header_handle`. Header media are images (JPEG, PNG), videos (MP4) and documents
/// (PDF), within Meta's limits for their kind.
pub async fn create_whatsapp_message_template_media(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let id = input.req_str("id")?;
    let waba_hex = state.store.read(ctx, |p| p.waba(ctx, id).map(|w| w.hex.clone()))?;
    let Some(file) = input.parse::<S3FileInput>("sourceS3File")? else {
        return Err(ApiError::invalid_parameters(
            "sourceS3File is required: the header example to upload",
        ));
    };
    let source = s3_uri(&file.bucket_name, &file.key);
    let object = state
        .s3
        .store
        .get_object(&file.bucket_name, &file.key, MAX_MEDIA_BYTES)
        .await
        .map_err(|e| s3_read_error(e, &source))?;
    let declared = object
        .content_type
        .clone()
        .filter(|t| !media::is_generic_mime(t))
        .or_else(|| media::mime_from_key(&file.key).map(str::to_string))
        .unwrap_or_default();
    let accepted = media::check_upload(&declared, &object.bytes).map_err(|e| e.to_api_error())?;
    let mime = accepted.media_type.mime;
    if !["image/jpeg", "image/png", "video/mp4", "application/pdf"].contains(&mime) {
        return Err(MetaMediaError::upload(format!(
            "{mime} cannot be a template header; use image/jpeg, image/png, video/mp4 or application/pdf"
        ))
        .to_api_error());
    }
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let handle = format!(
        "4::{}:{}",
        b64.encode(mime),
        b64.encode(format!("{}:{}", state.ids.uuid().simple(), object.bytes.len()))
    );
    state.store.with(ctx, |p| {
        let waba = p.wabas.get_mut(&waba_hex).ok_or_else(|| {
            ApiError::not_found(format!("WhatsApp Business Account {id} does not exist"))
        })?;
        waba.media_handles.push(handle.clone());
        Ok(json!({ "metaHeaderHandle": handle }))
    })
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct S3FileInput {
    bucket_name: String,
    key: String,
}
