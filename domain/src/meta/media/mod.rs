//! WhatsApp's media rules (domain): the types Meta accepts ([`MediaType`] / [`SUPPORTED`]), their
//! kind (image, video, audio, document, sticker), size limit and file extension; [`check_upload`]
//! applies them to a file by its declared type and by its bytes ([`sniff`]). The runtime's
//! `media` module keeps WhatsApp's copies of the files.
//!
//! Sizes: Meta's "5 MB", "100 KB" are read as binary units (1 MB = 1,048,576 bytes,
//! 1 KB = 1,024 bytes).

pub mod sniff;

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use sniff::Signature;

pub const KB: u64 = 1024;
pub const MB: u64 = 1024 * 1024;
/// The largest file Meta takes in either direction (documents; inbound files over it are 131052).
pub const MAX_MEDIA_BYTES: u64 = 100 * MB;
/// A static sticker's limit; an animated one's is [`ANIMATED_STICKER_LIMIT`].
pub const STATIC_STICKER_LIMIT: u64 = 100 * KB;
pub const ANIMATED_STICKER_LIMIT: u64 = 500 * KB;

/// The kinds of media message; the names are Meta's message `type`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Audio,
    Document,
    Image,
    Sticker,
    Video,
}

impl MediaKind {
    pub fn name(self) -> &'static str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Document => "document",
            MediaKind::Image => "image",
            MediaKind::Sticker => "sticker",
            MediaKind::Video => "video",
        }
    }

    /// The kind a message `type` (or a template header `format`, any case) sends.
    pub fn from_message_type(t: &str) -> Option<MediaKind> {
        match t.to_ascii_lowercase().as_str() {
            "audio" => Some(MediaKind::Audio),
            "document" => Some(MediaKind::Document),
            "image" => Some(MediaKind::Image),
            "sticker" => Some(MediaKind::Sticker),
            "video" => Some(MediaKind::Video),
            _ => None,
        }
    }

    /// The kind of a file of MIME type `mime`: a supported type's own kind, else by the top-level
    /// type (anything unknown is a document, as WhatsApp shows it).
    pub fn of_mime(mime: &str) -> MediaKind {
        if let Some(t) = media_type(mime) {
            return t.kind;
        }
        match normalize_mime(mime).split('/').next().unwrap_or_default() {
            "image" => MediaKind::Image,
            "video" => MediaKind::Video,
            "audio" => MediaKind::Audio,
            _ => MediaKind::Document,
        }
    }
}

impl fmt::Display for MediaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A MIME type Meta accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaType {
    pub mime: &'static str,
    pub kind: MediaKind,
    /// Without the dot; what GetWhatsAppMessageMedia appends to the destination key.
    pub extension: &'static str,
    /// Bytes; for stickers, the static limit.
    pub limit: u64,
    pub signature: Signature,
}

impl MediaType {
    /// The limit for this file (animated stickers have a larger one).
    pub fn limit_for(&self, animated: bool) -> u64 {
        if self.kind == MediaKind::Sticker && animated {
            ANIMATED_STICKER_LIMIT
        } else {
            self.limit
        }
    }
}

const fn t(
    mime: &'static str,
    kind: MediaKind,
    extension: &'static str,
    limit: u64,
    signature: Signature,
) -> MediaType {
    MediaType { mime, kind, extension, limit, signature }
}

/// Meta's supported media types (AWS user guide "Supported media file types and sizes").
pub const SUPPORTED: &[MediaType] = &[
    t("audio/aac", MediaKind::Audio, "aac", 16 * MB, Signature::Adts),
    t("audio/amr", MediaKind::Audio, "amr", 16 * MB, Signature::Amr),
    t("audio/mpeg", MediaKind::Audio, "mp3", 16 * MB, Signature::MpegAudio),
    t("audio/mp4", MediaKind::Audio, "m4a", 16 * MB, Signature::IsoMedia),
    t("audio/ogg", MediaKind::Audio, "ogg", 16 * MB, Signature::OggOpus),
    t("text/plain", MediaKind::Document, "txt", 100 * MB, Signature::Text),
    t("application/pdf", MediaKind::Document, "pdf", 100 * MB, Signature::Pdf),
    t("application/msword", MediaKind::Document, "doc", 100 * MB, Signature::Ole2),
    t(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        MediaKind::Document,
        "docx",
        100 * MB,
        Signature::Docx,
    ),
    t("application/vnd.ms-excel", MediaKind::Document, "xls", 100 * MB, Signature::Ole2),
    t(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        MediaKind::Document,
        "xlsx",
        100 * MB,
        Signature::Xlsx,
    ),
    t("application/vnd.ms-powerpoint", MediaKind::Document, "ppt", 100 * MB, Signature::Ole2),
    t(
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        MediaKind::Document,
        "pptx",
        100 * MB,
        Signature::Pptx,
    ),
    t("image/jpeg", MediaKind::Image, "jpeg", 5 * MB, Signature::Jpeg),
    t("image/png", MediaKind::Image, "png", 5 * MB, Signature::Png),
    t("image/webp", MediaKind::Sticker, "webp", STATIC_STICKER_LIMIT, Signature::Webp),
    t("video/mp4", MediaKind::Video, "mp4", 16 * MB, Signature::IsoMedia),
    t("video/3gpp", MediaKind::Video, "3gp", 16 * MB, Signature::IsoMedia),
];

/// Lower case, parameters (`; charset=…`) dropped, AWS's spelling `video/3gp` read as Meta's
/// `video/3gpp`.
pub fn normalize_mime(mime: &str) -> String {
    let base = mime.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if base == "video/3gp" { "video/3gpp".to_string() } else { base }
}

/// The supported type named by `mime`, if Meta accepts it.
pub fn media_type(mime: &str) -> Option<&'static MediaType> {
    let mime = normalize_mime(mime);
    SUPPORTED.iter().find(|t| t.mime == mime)
}

/// Whether a Content-Type says nothing about the file (S3's defaults), so that the key's
/// extension decides instead.
pub fn is_generic_mime(mime: &str) -> bool {
    matches!(
        normalize_mime(mime).as_str(),
        "" | "application/octet-stream" | "binary/octet-stream" | "application/x-binary"
    )
}

/// The extension GetWhatsAppMessageMedia gives a file of this type (`bin` for unknown types).
pub fn extension_for(mime: &str) -> &'static str {
    media_type(mime).map(|t| t.extension).unwrap_or("bin")
}

/// The MIME type a key's extension suggests (supported types and a few common others, so that
/// an unsupported file is reported by its type).
pub fn mime_from_key(key: &str) -> Option<&'static str> {
    let name = key.rsplit('/').next().unwrap_or(key);
    let (_, ext) = name.rsplit_once('.')?;
    let mime = match ext.to_ascii_lowercase().as_str() {
        "jpg" | "jpeg" | "jpe" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "mp4" => "video/mp4",
        "3gp" | "3gpp" => "video/3gpp",
        "aac" => "audio/aac",
        "amr" => "audio/amr",
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "ogg" | "opus" | "oga" => "audio/ogg",
        "txt" => "text/plain",
        "pdf" => "application/pdf",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "ppt" => "application/vnd.ms-powerpoint",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "gif" => "image/gif",
        "bmp" => "image/bmp",
        "tif" | "tiff" => "image/tiff",
        "heic" => "image/heic",
        "svg" => "image/svg+xml",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "avi" => "video/x-msvideo",
        "wav" => "audio/wav",
        "flac" => "audio/flac",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "zip" => "application/zip",
        _ => return None,
    };
    Some(mime)
}

/// A Meta error about media: `(#code) title` plus details, as Meta words them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaMediaError {
    pub code: u32,
    pub title: &'static str,
    pub details: String,
}

impl MetaMediaError {
    /// 131053, what Meta answers for an unsupported, oversized or mismatched file.
    pub fn upload(details: impl Into<String>) -> Self {
        MetaMediaError { code: 131053, title: "Media upload error", details: details.into() }
    }

    /// 131052, an inbound file WhatsApp could not take (over 100 MB).
    pub fn download(details: impl Into<String>) -> Self {
        MetaMediaError { code: 131052, title: "Media download error", details: details.into() }
    }

    /// 100, a media id that is not (or no longer) one of the sender's.
    pub fn invalid_parameter(details: impl Into<String>) -> Self {
        MetaMediaError { code: 100, title: "Invalid parameter", details: details.into() }
    }

    /// `(#131053) Media upload error`
    pub fn message(&self) -> String {
        format!("(#{}) {}", self.code, self.title)
    }

    /// As a synchronous AWS error: InvalidParametersException with Meta's message and details.
    pub fn to_api_error(&self) -> ApiError {
        ApiError::invalid_parameters(self.to_string())
    }
}

impl fmt::Display for MetaMediaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.message(), self.details)
    }
}

/// A file that passed Meta's checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub media_type: &'static MediaType,
    pub animated: bool,
}

fn supported_list() -> String {
    SUPPORTED.iter().map(|t| t.mime).collect::<Vec<_>>().join(", ")
}

/// Meta's checks for an uploaded file: a supported declared type, bytes of that type, and the
/// type's size limit.
pub fn check_upload(declared: &str, bytes: &[u8]) -> Result<Accepted, MetaMediaError> {
    let Some(media_type) = media_type(declared) else {
        return Err(MetaMediaError::upload(format!(
            "{} is not a supported media type. Supported: {}",
            normalize_mime(declared),
            supported_list()
        )));
    };
    if bytes.is_empty() {
        return Err(MetaMediaError::upload("the file is empty"));
    }
    let mut matches = media_type.signature.matches(bytes);
    if matches
        && media_type.signature == Signature::Ole2
        && sniff::ole2_type(bytes).is_some_and(|actual| actual != media_type.mime)
    {
        matches = false;
    }
    if !matches {
        let actual = sniff::describe(bytes);
        let why = if media_type.signature == Signature::OggOpus && bytes.starts_with(b"OggS") {
            "audio/ogg is accepted with the Opus codec only".to_string()
        } else {
            format!("the file's bytes are {actual}")
        };
        return Err(MetaMediaError::upload(format!(
            "the declared type {} does not match the file: {why}",
            media_type.mime
        )));
    }
    let animated = media_type.kind == MediaKind::Sticker && sniff::webp_is_animated(bytes);
    let limit = media_type.limit_for(animated);
    let size = bytes.len() as u64;
    if size > limit {
        let what = match (media_type.kind, animated) {
            (MediaKind::Sticker, true) => "animated stickers (image/webp)".to_string(),
            (MediaKind::Sticker, false) => "static stickers (image/webp)".to_string(),
            _ => format!("{} files ({})", media_type.kind, media_type.mime),
        };
        return Err(MetaMediaError::upload(format!(
            "{what} are limited to {} ({limit} bytes); this file is {size} bytes",
            human_size(limit)
        )));
    }
    Ok(Accepted { media_type, animated })
}

/// `5 MB`, `100 KB`.
pub fn human_size(bytes: u64) -> String {
    if bytes.is_multiple_of(MB) {
        format!("{} MB", bytes / MB)
    } else if bytes.is_multiple_of(KB) {
        format!("{} KB", bytes / KB)
    } else {
        format!("{bytes} bytes")
    }
}

/// Base64 of the SHA-256 of the bytes, as Meta's webhooks carry it.
pub fn sha256_base64(bytes: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(bytes))
}

/// A customer's file, stored and given a media id (the runtime's `media::store_inbound`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMedia {
    pub media_id: String,
    /// Normalized (`image/jpeg`).
    pub mime_type: String,
    /// Base64 of the SHA-256, for the webhook's `sha256`.
    pub sha256: String,
    pub file_size: u64,
    pub kind: MediaKind,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("image/jpeg", &[0xFF, 0xD8, 0xFF, 0xE0], true)]
    #[case("IMAGE/JPEG; charset=binary", &[0xFF, 0xD8, 0xFF, 0xE0], true)]
    #[case("image/png", &[0xFF, 0xD8, 0xFF, 0xE0], false)]
    #[case("video/3gp", b"\0\0\0\x18ftyp3gp4\0\0\0\0", true)]
    #[case(
        "audio/ogg",
        b"OggS\0\x02\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0OpusHead\x01\x01",
        true
    )]
    #[case("audio/ogg", b"OggS\0\x02\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01vorbis", false)]
    #[case("text/plain", b"hello\n", true)]
    #[case("text/plain", b"hel\0lo", false)]
    #[case("image/gif", b"GIF89a", false)]
    fn declared_types_and_bytes(#[case] mime: &str, #[case] bytes: &[u8], #[case] ok: bool) {
        let result = check_upload(mime, bytes);
        assert_eq!(result.is_ok(), ok, "{mime}: {result:?}");
        if let Err(e) = result {
            assert_eq!(e.code, 131053);
            assert!(e.to_string().starts_with("(#131053) Media upload error: "), "{e}");
        }
    }

    #[test]
    fn every_supported_type_has_a_unique_extension_that_maps_back() {
        for t in SUPPORTED {
            assert_eq!(mime_from_key(&format!("x/y.{}", t.extension)), Some(t.mime), "{}", t.mime);
            assert_eq!(extension_for(t.mime), t.extension);
        }
        assert_eq!(mime_from_key("no-extension"), None);
        assert_eq!(mime_from_key("dir.d/file"), None);
        assert_eq!(extension_for("application/zip"), "bin");
    }

    #[test]
    fn kinds_follow_the_mime_type() {
        assert_eq!(MediaKind::of_mime("image/webp"), MediaKind::Sticker);
        assert_eq!(MediaKind::of_mime("image/gif"), MediaKind::Image);
        assert_eq!(MediaKind::of_mime("application/zip"), MediaKind::Document);
        assert_eq!(MediaKind::from_message_type("IMAGE"), Some(MediaKind::Image));
        assert_eq!(MediaKind::from_message_type("text"), None);
    }

    #[test]
    fn sizes_read_as_meta_writes_them() {
        assert_eq!(human_size(5 * MB), "5 MB");
        assert_eq!(human_size(100 * KB), "100 KB");
        assert_eq!(human_size(1000), "1000 bytes");
        assert_eq!(sha256_base64(b""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    }
}
