//! Media of a partition: which phone number owns each media id, its type, size and lifetime.
//! The bytes live outside the lock, in the emulator's `media::blobs`.
//!
//! Meta's rules: an uploaded media id lives 30 days, an inbound (webhook) one 7 days; only the
//! phone number that uploaded a file can use it. An unknown, expired, deleted or other number's
//! id is answered the same way, so nothing leaks between numbers.
//!
//! Expiry is kept in an index ordered by time: purging the expired is a walk from its front
//! (amortized O(log n) per file), never a scan under the lock.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::meta::media::{MediaKind, MetaMediaError};

pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// "Media IDs from upload expire after 30 days."
pub const UPLOAD_LIFETIME_MS: i64 = 30 * DAY_MS;
/// "Media IDs in webhooks expire after 7 days."
pub const INBOUND_LIFETIME_MS: i64 = 7 * DAY_MS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MediaOrigin {
    /// PostWhatsAppMessageMedia.
    Uploaded,
    /// A customer's message.
    Inbound,
}

/// One media id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaFile {
    /// Numeric, as Meta's.
    pub media_id: String,
    /// The owning phone number (hex of `phone-number-id-…`).
    pub phone_hex: String,
    pub mime_type: String,
    pub kind: MediaKind,
    /// Bytes.
    pub file_size: u64,
    /// Base64 of the SHA-256.
    #[serde(default)]
    pub sha256: String,
    /// An animated WebP sticker.
    #[serde(default)]
    pub animated: bool,
    /// Virtual clock, ms.
    pub created_ms: i64,
    pub expires_ms: i64,
    pub origin: MediaOrigin,
}

/// The media of one partition.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaFiles {
    #[serde(default)]
    files: BTreeMap<String, MediaFile>,
    /// `(expires_ms, media_id)` of every file.
    #[serde(default)]
    by_expiry: BTreeSet<(i64, String)>,
}

fn not_found(media_id: &str, phone_id: &str) -> ApiError {
    ApiError::not_found(format!(
        "Media {media_id} does not exist for phone number {phone_id} (unknown, expired after its \
         lifetime, deleted, or uploaded by another phone number)"
    ))
}

impl MediaFiles {
    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Records a file; returns the ids that expired by `now_ms` (their bytes are the caller's to
    /// remove, after unlocking).
    pub fn insert(&mut self, file: MediaFile, now_ms: i64) -> Vec<String> {
        let mut expired = self.purge_expired(now_ms);
        if let Some(old) = self.files.remove(&file.media_id) {
            self.by_expiry.remove(&(old.expires_ms, old.media_id));
        }
        expired.retain(|id| id != &file.media_id);
        self.by_expiry.insert((file.expires_ms, file.media_id.clone()));
        self.files.insert(file.media_id.clone(), file);
        expired
    }

    /// Drops every file expired by `now_ms`; returns their ids.
    pub fn purge_expired(&mut self, now_ms: i64) -> Vec<String> {
        let mut expired = Vec::new();
        while let Some((at, _)) = self.by_expiry.first() {
            if *at > now_ms {
                break;
            }
            if let Some((_, id)) = self.by_expiry.pop_first() {
                self.files.remove(&id);
                expired.push(id);
            }
        }
        expired
    }

    /// The live file `media_id` of `phone_hex`, if any.
    pub fn get(&self, phone_hex: &str, media_id: &str, now_ms: i64) -> Option<&MediaFile> {
        self.files.get(media_id).filter(|f| f.phone_hex == phone_hex && f.expires_ms > now_ms)
    }

    /// The live file `media_id`, whichever number owns it (the control API's media view).
    pub fn find(&self, media_id: &str, now_ms: i64) -> Option<&MediaFile> {
        self.files.get(media_id).filter(|f| f.expires_ms > now_ms)
    }

    /// As [`get`](Self::get), or the ResourceNotFoundException GetWhatsAppMessageMedia and
    /// DeleteWhatsAppMessageMedia answer (`phone_id` is the id as the caller wrote it).
    pub fn lookup(
        &self,
        phone_hex: &str,
        phone_id: &str,
        media_id: &str,
        now_ms: i64,
    ) -> ApiResult<&MediaFile> {
        self.get(phone_hex, media_id, now_ms).ok_or_else(|| not_found(media_id, phone_id))
    }

    /// Deletes a live file of `phone_hex` (the caller removes its bytes).
    pub fn remove(
        &mut self,
        phone_hex: &str,
        phone_id: &str,
        media_id: &str,
        now_ms: i64,
    ) -> ApiResult<MediaFile> {
        self.lookup(phone_hex, phone_id, media_id, now_ms)?;
        let file = self.files.remove(media_id).ok_or_else(|| not_found(media_id, phone_id))?;
        self.by_expiry.remove(&(file.expires_ms, file.media_id.clone()));
        Ok(file)
    }

    /// What a media message (`image.id`, `document.id`, …, or a template header's media) checks
    /// before sending: the id is a live media file of the sending number (else Meta's error 100,
    /// "not a valid … media attachment ID"), and its kind is the message's (else 131053).
    /// `field` names the member for the message, e.g. `image['id']`.
    pub fn check_for_send(
        &self,
        phone_hex: &str,
        media_id: &str,
        expected: MediaKind,
        field: &str,
        now_ms: i64,
    ) -> Result<&MediaFile, MetaMediaError> {
        let file = self.get(phone_hex, media_id, now_ms).ok_or_else(|| {
            MetaMediaError::invalid_parameter(format!(
                "Param {field} is not a valid whatsapp business account media attachment ID"
            ))
        })?;
        if file.kind != expected {
            return Err(MetaMediaError::upload(format!(
                "media {media_id} is {} ({}), which cannot be sent as {expected}",
                file.mime_type, file.kind
            )));
        }
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHONE: &str = "baa217c3f11b4ffd956f6f3afb44ce54";
    const OTHER: &str = "1447bc72d1b040f4bf2341c9e04b2e06";

    fn file(id: &str, kind: MediaKind, mime: &str, expires_ms: i64) -> MediaFile {
        MediaFile {
            media_id: id.into(),
            phone_hex: PHONE.into(),
            mime_type: mime.into(),
            kind,
            file_size: 10,
            sha256: String::new(),
            animated: false,
            created_ms: 0,
            expires_ms,
            origin: MediaOrigin::Uploaded,
        }
    }

    #[test]
    fn a_file_lives_until_its_expiry_for_its_own_number_only() {
        let mut m = MediaFiles::default();
        m.insert(file("1", MediaKind::Image, "image/jpeg", UPLOAD_LIFETIME_MS), 0);
        assert!(m.get(PHONE, "1", UPLOAD_LIFETIME_MS - 1).is_some());
        assert!(m.get(PHONE, "1", UPLOAD_LIFETIME_MS).is_none());
        assert!(m.get(OTHER, "1", 0).is_none());
        let err = m.lookup(OTHER, "phone-number-id-x", "1", 0).unwrap_err();
        assert_eq!(err.kind, crate::error::ErrorKind::ResourceNotFound);
        assert!(err.message.contains("Media 1 does not exist"), "{}", err.message);
    }

    #[test]
    fn inserting_purges_what_expired_and_reports_it() {
        let mut m = MediaFiles::default();
        m.insert(file("1", MediaKind::Image, "image/jpeg", 100), 0);
        m.insert(file("2", MediaKind::Image, "image/jpeg", 300), 0);
        let expired = m.insert(file("3", MediaKind::Video, "video/mp4", 1000), 200);
        assert_eq!(expired, vec!["1".to_string()]);
        assert_eq!(m.len(), 2);
        assert_eq!(m.purge_expired(5000), vec!["2".to_string(), "3".to_string()]);
        assert!(m.is_empty());
    }

    #[test]
    fn delete_then_lookup_fails_and_delete_twice_fails() {
        let mut m = MediaFiles::default();
        m.insert(file("1", MediaKind::Image, "image/jpeg", 100), 0);
        assert!(m.remove(OTHER, "p", "1", 0).is_err(), "another number cannot delete it");
        assert_eq!(m.remove(PHONE, "p", "1", 0).unwrap().media_id, "1");
        assert!(m.lookup(PHONE, "p", "1", 0).is_err());
        assert!(m.remove(PHONE, "p", "1", 0).is_err());
        assert!(m.purge_expired(1000).is_empty());
    }

    #[test]
    fn sends_check_owner_lifetime_and_kind() {
        let mut m = MediaFiles::default();
        m.insert(file("1", MediaKind::Image, "image/jpeg", 100), 0);
        m.insert(file("2", MediaKind::Sticker, "image/webp", 100), 0);
        assert!(m.check_for_send(PHONE, "1", MediaKind::Image, "image['id']", 0).is_ok());

        let e = m.check_for_send(PHONE, "2", MediaKind::Image, "image['id']", 0).unwrap_err();
        assert_eq!(e.code, 131053);
        assert!(e.to_string().starts_with("(#131053) Media upload error: "), "{e}");

        for (phone, id, now) in [(OTHER, "1", 0), (PHONE, "9", 0), (PHONE, "1", 100)] {
            let e = m.check_for_send(phone, id, MediaKind::Image, "image['id']", now).unwrap_err();
            assert_eq!(e.code, 100, "{phone} {id} {now}");
            assert_eq!(
                e.to_string(),
                "(#100) Invalid parameter: Param image['id'] is not a valid whatsapp business \
                 account media attachment ID"
            );
        }
    }

    #[test]
    fn survives_a_json_round_trip() {
        let mut m = MediaFiles::default();
        m.insert(file("1", MediaKind::Document, "application/pdf", 100), 0);
        let json = serde_json::to_string(&m).unwrap();
        let back: MediaFiles = serde_json::from_str(&json).unwrap();
        assert_eq!(back.get(PHONE, "1", 0), m.get(PHONE, "1", 0));
        let empty: MediaFiles = serde_json::from_str("{}").unwrap();
        assert!(empty.is_empty());
    }
}
