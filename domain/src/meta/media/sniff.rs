//! What a file's bytes are, by their magic numbers: the signatures of every type Meta accepts
//! (written out here, since they are short and exact) and `infer` for the Office formats and for
//! naming anything else in error messages.

use std::borrow::Cow;

/// The byte signature a supported MIME type must show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signature {
    Jpeg,
    Png,
    Webp,
    /// ISO base media (`ftyp` box): MP4, M4A, 3GPP.
    IsoMedia,
    /// AAC in ADTS frames (or an ADIF header).
    Adts,
    Amr,
    /// MP3: an ID3v2 tag or an MPEG audio frame.
    MpegAudio,
    /// Ogg with the Opus codec (Meta accepts no other Ogg codec).
    OggOpus,
    Pdf,
    /// Legacy Office (OLE2 compound file): `.doc`, `.xls`, `.ppt`.
    Ole2,
    /// Office Open XML, told apart by the first part's directory (`word/`, `xl/`, `ppt/`).
    Docx,
    Xlsx,
    Pptx,
    /// UTF-8 text without NUL bytes.
    Text,
}

impl Signature {
    /// Whether `b` shows this signature.
    pub fn matches(self, b: &[u8]) -> bool {
        match self {
            Signature::Jpeg => b.starts_with(&[0xFF, 0xD8, 0xFF]),
            Signature::Png => b.starts_with(b"\x89PNG\r\n\x1a\n"),
            Signature::Webp => is_webp(b),
            Signature::IsoMedia => b.len() >= 12 && &b[4..8] == b"ftyp",
            Signature::Adts => {
                (b.len() >= 2 && b[0] == 0xFF && b[1] & 0xF6 == 0xF0) || b.starts_with(b"ADIF")
            }
            Signature::Amr => b.starts_with(b"#!AMR"),
            Signature::MpegAudio => {
                b.starts_with(b"ID3")
                    || (b.len() >= 2 && b[0] == 0xFF && b[1] & 0xE0 == 0xE0 && b[1] & 0x06 != 0)
            }
            Signature::OggOpus => {
                b.starts_with(b"OggS") && contains(&b[..b.len().min(128)], b"OpusHead")
            }
            Signature::Pdf => b.starts_with(b"%PDF-"),
            // A compound file whose class `infer` can read must be the declared one; one it
            // cannot read (a bare header) is accepted for any of the three.
            Signature::Ole2 => is_ole2(b),
            Signature::Docx => infer::doc::is_docx(b),
            Signature::Xlsx => infer::doc::is_xlsx(b),
            Signature::Pptx => infer::doc::is_pptx(b),
            Signature::Text => !b.contains(&0) && std::str::from_utf8(b).is_ok(),
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn is_webp(b: &[u8]) -> bool {
    b.len() >= 12 && &b[0..4] == b"RIFF" && &b[8..12] == b"WEBP"
}

pub fn is_ole2(b: &[u8]) -> bool {
    b.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])
}

/// The legacy Office type `infer` reads from a compound file's class id, if it can.
pub fn ole2_type(b: &[u8]) -> Option<&'static str> {
    if infer::doc::is_doc(b) {
        Some("application/msword")
    } else if infer::doc::is_xls(b) {
        Some("application/vnd.ms-excel")
    } else if infer::doc::is_ppt(b) {
        Some("application/vnd.ms-powerpoint")
    } else {
        None
    }
}

/// An animated WebP: the `VP8X` header's animation flag, or an `ANIM`/`ANMF` chunk.
pub fn webp_is_animated(b: &[u8]) -> bool {
    if !is_webp(b) {
        return false;
    }
    let mut i = 12;
    while i + 8 <= b.len() {
        let fourcc = &b[i..i + 4];
        let size = u32::from_le_bytes([b[i + 4], b[i + 5], b[i + 6], b[i + 7]]) as usize;
        match fourcc {
            b"VP8X" => return b.get(i + 8).is_some_and(|flags| flags & 0x02 != 0),
            b"ANIM" | b"ANMF" => return true,
            _ => {}
        }
        i = i.saturating_add(8).saturating_add(size).saturating_add(size & 1);
    }
    false
}

/// What the bytes look like, as a MIME type or a short description, for error messages.
pub fn describe(b: &[u8]) -> Cow<'static, str> {
    let own: &[(Signature, &str)] = &[
        (Signature::Jpeg, "image/jpeg"),
        (Signature::Png, "image/png"),
        (Signature::Webp, "image/webp"),
        (Signature::Amr, "audio/amr"),
        (Signature::Pdf, "application/pdf"),
        (
            Signature::Docx,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (Signature::Xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (
            Signature::Pptx,
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ),
    ];
    if let Some((_, mime)) = own.iter().find(|(s, _)| s.matches(b)) {
        return Cow::Borrowed(mime);
    }
    if Signature::IsoMedia.matches(b) {
        let brand = String::from_utf8_lossy(&b[8..12]).into_owned();
        return Cow::Owned(format!("ISO media (MP4/3GPP family, brand '{brand}')"));
    }
    if b.starts_with(b"OggS") {
        return Cow::Borrowed("audio/ogg without the Opus codec");
    }
    if is_ole2(b) {
        return Cow::Borrowed(ole2_type(b).unwrap_or("an OLE2 compound file (legacy Office)"));
    }
    if let Some(t) = infer::get(b) {
        return Cow::Owned(t.mime_type().to_string());
    }
    if Signature::Adts.matches(b) {
        return Cow::Borrowed("audio/aac");
    }
    if Signature::MpegAudio.matches(b) {
        return Cow::Borrowed("audio/mpeg");
    }
    if b.is_empty() {
        return Cow::Borrowed("an empty file");
    }
    if Signature::Text.matches(b) {
        return Cow::Borrowed("text/plain");
    }
    Cow::Borrowed("unrecognized binary data")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn webp(chunks: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
        let mut body = b"WEBP".to_vec();
        for (fourcc, data) in chunks {
            body.extend_from_slice(*fourcc);
            body.extend_from_slice(&(data.len() as u32).to_le_bytes());
            body.extend_from_slice(data);
            if data.len() % 2 == 1 {
                body.push(0);
            }
        }
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend(body);
        out
    }

    #[test]
    fn webp_animation_is_read_from_vp8x_or_anim_chunks() {
        assert!(!webp_is_animated(&webp(&[(b"VP8 ", &[0; 10])])));
        assert!(!webp_is_animated(&webp(&[(b"VP8X", &[0; 10]), (b"VP8 ", &[0; 3])])));
        assert!(webp_is_animated(&webp(&[(b"VP8X", &[0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0])])));
        assert!(webp_is_animated(&webp(&[(b"ICCP", &[1, 2, 3]), (b"ANIM", &[0; 6])])));
        // A chunk size pointing far past the end does not loop or panic.
        let mut broken = webp(&[(b"XXXX", &[0; 4])]);
        broken[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(!webp_is_animated(&broken));
    }

    #[test]
    fn mpeg_audio_and_adts_are_told_apart() {
        assert!(Signature::Adts.matches(&[0xFF, 0xF1, 0x50]));
        assert!(!Signature::MpegAudio.matches(&[0xFF, 0xF1, 0x50]));
        assert!(Signature::MpegAudio.matches(&[0xFF, 0xFB, 0x90]));
        assert!(!Signature::Adts.matches(&[0xFF, 0xFB, 0x90]));
        assert!(Signature::MpegAudio.matches(b"ID3\x04\x00"));
    }

    #[test]
    fn descriptions_name_what_the_bytes_are() {
        assert_eq!(describe(b"GIF89a\x01\x00\x01\x00"), "image/gif");
        assert_eq!(describe(b"\xff\xd8\xff\xe0"), "image/jpeg");
        assert_eq!(describe(b"hello"), "text/plain");
        assert_eq!(describe(&[0x00, 0x01, 0x02, 0x03]), "unrecognized binary data");
        assert!(describe(b"\0\0\0\x18ftyp3gp4\0\0\0\0").contains("3gp4"));
    }
}
