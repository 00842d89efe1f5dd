//! Media through the real SDK: PostWhatsAppMessageMedia, GetWhatsAppMessageMedia and
//! DeleteWhatsAppMessageMedia against both S3 backends — the embedded directory store and a real
//! S3-compatible server (`s3s-fs`, in-process on 127.0.0.1) reached through the emulator's S3
//! endpoint — and presigned URLs in and out through a local HTTP server.
//!
//! Every sample file is generated here with the real magic numbers of its format.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_socialmessaging::Client;
use aws_sdk_socialmessaging::error::ProvideErrorMetadata;
use aws_sdk_socialmessaging::types::{S3File, S3PresignedUrl};
use eum_social_emulator::{Config, Emulator, Seed};
use rstest::rstest;
use sdk_tests::{
    ACCOUNT, Control, PHONE_1, PHONE_2, REGION, client, entry, message_blob, send, send_refused,
};

const KB: usize = 1024;
const MB: usize = 1024 * 1024;
const DAY: Duration = Duration::from_secs(24 * 60 * 60);
const S3_KEY_ID: &str = "AKIAEMULATORMEDIA";
const S3_SECRET: &str = "media-test-secret";

// ---------------------------------------------------------------------------------------------
// Sample files: real headers, padded to an exact size.

/// Appends `filler` bytes until `out` is `size` long (never shorter than the header).
fn pad(mut out: Vec<u8>, size: usize) -> Vec<u8> {
    assert!(
        out.len() <= size,
        "a sample of {size} bytes cannot hold its {}-byte header",
        out.len()
    );
    out.resize(size, 0x5A);
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    c.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    c
}

/// JFIF header, filler, end-of-image marker.
fn jpeg(size: usize) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    out.extend_from_slice(b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00");
    let mut out = pad(out, size - 2);
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

/// Signature, an 8-bit RGB IHDR, a private chunk sized to fill, IEND.
fn png(size: usize) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let ihdr = [0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0];
    out.extend(png_chunk(b"IHDR", &ihdr));
    let iend = png_chunk(b"IEND", &[]);
    let filler = size - out.len() - iend.len() - 12;
    out.extend(png_chunk(b"fiLl", &vec![0x5A; filler]));
    out.extend(iend);
    assert_eq!(out.len(), size);
    out
}

fn riff_webp(chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
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

/// A static WebP (one `VP8 ` chunk) of exactly `size` bytes (even).
fn webp_static(size: usize) -> Vec<u8> {
    let data = pad(vec![0x30, 0x01, 0x00, 0x9D, 0x01, 0x2A, 0x01, 0x00, 0x01, 0x00], size - 20);
    let out = riff_webp(&[(b"VP8 ", data)]);
    assert_eq!(out.len(), size);
    out
}

/// An animated WebP (VP8X with the animation flag, ANIM, one ANMF frame) of `size` bytes (even).
fn webp_animated(size: usize) -> Vec<u8> {
    let vp8x = vec![0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let anim = vec![0, 0, 0, 0, 0, 0];
    let frame = vec![0x5A; size - 12 - (8 + 10) - (8 + 6) - 8];
    let out = riff_webp(&[(b"VP8X", vp8x), (b"ANIM", anim), (b"ANMF", frame)]);
    assert_eq!(out.len(), size);
    out
}

/// An ISO base media file: `ftyp` with `brand`, then an `mdat` box filling the rest.
fn iso_media(brand: &[u8; 4], size: usize) -> Vec<u8> {
    let mut out = 24u32.to_be_bytes().to_vec();
    out.extend_from_slice(b"ftyp");
    out.extend_from_slice(brand);
    out.extend_from_slice(&0x200u32.to_be_bytes());
    out.extend_from_slice(b"isom");
    out.extend_from_slice(brand);
    let mdat = (size - out.len()) as u32;
    out.extend_from_slice(&mdat.to_be_bytes());
    out.extend_from_slice(b"mdat");
    pad(out, size)
}

fn mp4(size: usize) -> Vec<u8> {
    iso_media(b"isom", size)
}

fn video_3gp(size: usize) -> Vec<u8> {
    iso_media(b"3gp4", size)
}

fn m4a(size: usize) -> Vec<u8> {
    iso_media(b"M4A ", size)
}

/// AAC in ADTS frames (sync word 0xFFF, MPEG-4, no CRC).
fn aac(size: usize) -> Vec<u8> {
    pad(vec![0xFF, 0xF1, 0x50, 0x80, 0x02, 0x1F, 0xFC], size)
}

fn amr(size: usize) -> Vec<u8> {
    pad(b"#!AMR\n".to_vec(), size)
}

/// An ID3v2 tag, then an MPEG-1 layer III frame header.
fn mp3(size: usize) -> Vec<u8> {
    pad(b"ID3\x04\x00\x00\x00\x00\x00\x00\xFF\xFB\x90\x64".to_vec(), size)
}

/// The first Ogg page with an `OpusHead` packet (mono, 48 kHz).
fn ogg_opus(size: usize) -> Vec<u8> {
    ogg_page(b"OpusHead\x01\x01\x38\x01\x80\xBB\x00\x00\x00\x00\x00", size)
}

fn ogg_vorbis(size: usize) -> Vec<u8> {
    ogg_page(b"\x01vorbis\x00\x00\x00\x00\x01\x44\xAC\x00\x00", size)
}

fn ogg_page(packet: &[u8], size: usize) -> Vec<u8> {
    let mut out = b"OggS\x00\x02".to_vec();
    out.extend_from_slice(&[0; 8]); // granule position
    out.extend_from_slice(&1u32.to_le_bytes()); // serial
    out.extend_from_slice(&0u32.to_le_bytes()); // sequence
    out.extend_from_slice(&0u32.to_le_bytes()); // checksum
    out.push(1);
    out.push(packet.len() as u8);
    out.extend_from_slice(packet);
    pad(out, size)
}

fn pdf(size: usize) -> Vec<u8> {
    let mut out = pad(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<<>>\nendobj\n".to_vec(), size - 6);
    out.extend_from_slice(b"%%EOF\n");
    out
}

fn text(size: usize) -> Vec<u8> {
    let line = b"Order 1234 shipped. Thank you for shopping with us!\n";
    line.iter().copied().cycle().take(size).collect()
}

/// A ZIP whose first entry is `name` (Office Open XML is told apart by that directory).
fn zip_with_first_entry(name: &str, size: usize) -> Vec<u8> {
    let mut out = b"PK\x03\x04".to_vec();
    out.extend_from_slice(&[0x14, 0x00, 0x00, 0x00, 0x08, 0x00]); // version, flags, deflate
    out.extend_from_slice(&[0; 8]); // time, date, crc
    out.extend_from_slice(&[0; 8]); // sizes
    out.extend_from_slice(&(name.len() as u16).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    pad(out, size)
}

fn docx(size: usize) -> Vec<u8> {
    zip_with_first_entry("word/document.xml", size)
}

fn xlsx(size: usize) -> Vec<u8> {
    zip_with_first_entry("xl/workbook.xml", size)
}

fn pptx(size: usize) -> Vec<u8> {
    zip_with_first_entry("ppt/presentation.xml", size)
}

/// The OLE2 compound file header of legacy Office files.
fn ole2(size: usize) -> Vec<u8> {
    let mut out = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    out.extend_from_slice(&[0; 16]);
    out.extend_from_slice(&[0x3E, 0x00, 0x03, 0x00, 0xFE, 0xFF, 0x09, 0x00]);
    pad(out, size)
}

fn gif(size: usize) -> Vec<u8> {
    pad(b"GIF89a\x01\x00\x01\x00\x80\x00\x00".to_vec(), size)
}

// ---------------------------------------------------------------------------------------------
// Backends.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    /// The emulator's embedded directory store.
    Dir,
    /// A real S3-compatible server (s3s-fs) through `Config::s3_endpoint`.
    S3,
}

/// An emulator with a data dir (and, for [`Backend::S3`], an S3 server) to put files in.
struct Fixture {
    emu: Emulator,
    client: Client,
    backend: Backend,
    /// Where buckets are directories: the emulator's data dir, or the S3 server's root.
    bucket_root: PathBuf,
    /// The emulator's data dir (WhatsApp's copies of media are under `.whatsapp-media/`).
    data_dir: PathBuf,
    s3: Option<aws_sdk_s3::Client>,
    _dirs: Vec<tempfile::TempDir>,
}

async fn fixture(backend: Backend) -> Fixture {
    fixture_with(backend, |_| {}).await
}

async fn fixture_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Fixture {
    let data = tempfile::tempdir().unwrap();
    let mut config = Config {
        data_dir: Some(data.path().to_path_buf()),
        allow_any_presigned_url: true,
        ..Config::default()
    };
    let mut dirs = vec![];
    let (bucket_root, s3) = match backend {
        Backend::Dir => (data.path().to_path_buf(), None),
        Backend::S3 => {
            let root = tempfile::tempdir().unwrap();
            let endpoint = start_s3_server(root.path()).await;
            config.s3_endpoint = Some(endpoint.clone());
            config.s3_region = Some("us-east-1".into());
            config.s3_access_key_id = Some(S3_KEY_ID.into());
            config.s3_secret_access_key = Some(S3_SECRET.into());
            let path = root.path().to_path_buf();
            dirs.push(root);
            (path, Some(s3_client(&endpoint, S3_KEY_ID)))
        }
    };
    let data_dir = data.path().to_path_buf();
    dirs.push(data);
    tweak(&mut config);
    let emu = Emulator::start_with(config, Seed::default_seed()).await.unwrap();
    let client = client(&emu);
    for bucket in ["media", "out"] {
        std::fs::create_dir_all(bucket_root.join(bucket)).unwrap();
    }
    Fixture { emu, client, backend, bucket_root, data_dir, s3, _dirs: dirs }
}

/// An s3s-fs server on 127.0.0.1:0 that checks SigV4 for one key pair; returns its URL.
async fn start_s3_server(root: &Path) -> String {
    use s3s::auth::SimpleAuth;
    use s3s::service::S3ServiceBuilder;
    let fs = s3s_fs::FileSystem::new(root).unwrap();
    let mut builder = S3ServiceBuilder::new(fs);
    builder.set_auth(SimpleAuth::from_single(S3_KEY_ID, S3_SECRET));
    let service = builder.build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else { break };
            let service = service.clone();
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(socket);
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
            });
        }
    });
    format!("http://{addr}")
}

fn s3_client(endpoint: &str, key_id: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            key_id,
            S3_SECRET,
            None,
            None,
            "media-tests",
        ))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

impl Fixture {
    /// The media ids whose bytes WhatsApp's side holds for the default account and Region.
    fn stored_media_files(&self) -> Vec<String> {
        let dir = self.data_dir.join(".whatsapp-media").join(ACCOUNT).join(REGION);
        let mut ids: Vec<String> = std::fs::read_dir(dir)
            .map(|entries| {
                entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids
    }

    /// Puts a file in a bucket: dropped into the directory (no Content-Type: the extension
    /// decides), or with `content_type` through the store's own way of keeping one.
    async fn put(&self, bucket: &str, key: &str, bytes: &[u8], content_type: Option<&str>) {
        match (self.backend, content_type) {
            (Backend::S3, Some(ct)) => {
                self.s3
                    .as_ref()
                    .unwrap()
                    .put_object()
                    .bucket(bucket)
                    .key(key)
                    .content_type(ct)
                    .body(bytes.to_vec().into())
                    .send()
                    .await
                    .unwrap();
            }
            (_, content_type) => {
                let path = self.bucket_root.join(bucket).join(key);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, bytes).unwrap();
                if let Some(ct) = content_type {
                    let sidecar = self.bucket_root.join(".content-types").join(bucket).join(key);
                    std::fs::create_dir_all(sidecar.parent().unwrap()).unwrap();
                    std::fs::write(sidecar, ct).unwrap();
                }
            }
        }
    }

    /// An object's bytes and Content-Type, read back through the backend.
    async fn object(&self, bucket: &str, key: &str) -> Option<(Vec<u8>, Option<String>)> {
        match self.backend {
            Backend::Dir => {
                let bytes = std::fs::read(self.bucket_root.join(bucket).join(key)).ok()?;
                let sidecar = self.bucket_root.join(".content-types").join(bucket).join(key);
                Some((bytes, std::fs::read_to_string(sidecar).ok()))
            }
            Backend::S3 => {
                let out = self
                    .s3
                    .as_ref()
                    .unwrap()
                    .get_object()
                    .bucket(bucket)
                    .key(key)
                    .send()
                    .await
                    .ok()?;
                let content_type = out.content_type().map(str::to_string);
                let bytes = out.body.collect().await.unwrap().into_bytes().to_vec();
                Some((bytes, content_type))
            }
        }
    }

    async fn post(
        &self,
        phone: &str,
        bucket: &str,
        key: &str,
    ) -> Result<String, aws_sdk_socialmessaging::operation::post_whats_app_message_media::PostWhatsAppMessageMediaError>
    {
        self.client
            .post_whats_app_message_media()
            .origination_phone_number_id(phone)
            .source_s3_file(s3_file(bucket, key))
            .send()
            .await
            .map(|out| out.media_id().unwrap().to_string())
            .map_err(|e| e.into_service_error())
    }

    async fn upload(&self, key: &str, bytes: &[u8]) -> String {
        self.put("media", key, bytes, None).await;
        self.post(PHONE_1, "media", key).await.unwrap_or_else(|e| panic!("upload {key}: {e:?}"))
    }

    async fn metadata(
        &self,
        phone: &str,
        media_id: &str,
    ) -> Result<(String, i64), aws_sdk_socialmessaging::operation::get_whats_app_message_media::GetWhatsAppMessageMediaError>
    {
        self.client
            .get_whats_app_message_media()
            .origination_phone_number_id(phone)
            .media_id(media_id)
            .metadata_only(true)
            .send()
            .await
            .map(|out| (out.mime_type().unwrap().to_string(), out.file_size().unwrap()))
            .map_err(|e| e.into_service_error())
    }
}

fn s3_file(bucket: &str, key: &str) -> S3File {
    S3File::builder().bucket_name(bucket).key(key).build().unwrap()
}

fn presigned(url: &str, headers: &[(&str, &str)]) -> S3PresignedUrl {
    let headers: HashMap<String, String> =
        headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    S3PresignedUrl::builder().url(url).set_headers(Some(headers)).build().unwrap()
}

fn is_numeric_media_id(id: &str) -> bool {
    (15..=16).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
}

// ---------------------------------------------------------------------------------------------
// Upload, metadata, download.

#[rstest]
#[tokio::test]
async fn upload_then_metadata_then_copy_to_a_key_prefix(
    #[values(Backend::Dir, Backend::S3)] backend: Backend,
) {
    let f = fixture(backend).await;
    let photo = jpeg(78_144);
    let media_id = f.upload("photos/cat.jpg", &photo).await;
    assert!(is_numeric_media_id(&media_id), "{media_id}");

    // fileSize is in bytes, as the API reference's own example (78144 for a JPEG).
    assert_eq!(f.metadata(PHONE_1, &media_id).await.unwrap(), ("image/jpeg".into(), 78_144));

    let out = f
        .client
        .get_whats_app_message_media()
        .origination_phone_number_id(PHONE_1)
        .media_id(&media_id)
        .destination_s3_file(s3_file("out", "inbound_"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.mime_type(), Some("image/jpeg"));
    assert_eq!(out.file_size(), Some(78_144));
    let (bytes, content_type) = f.object("out", &format!("inbound_{media_id}.jpeg")).await.unwrap();
    assert_eq!(bytes, photo);
    assert_eq!(content_type.as_deref(), Some("image/jpeg"));
}

#[rstest]
#[case::no_prefix("", "ogg", "{id}.ogg")]
#[case::user_guide_prefix("inbound_", "ogg", "inbound_{id}.ogg")]
#[case::folder("audio/", "ogg", "audio/{id}.ogg")]
#[case::api_reference_example("audio/example.ogg", "ogg", "audio/example.ogg{id}.ogg")]
#[case::m4a_extension("voice/", "m4a", "voice/{id}.m4a")]
#[case::mp3_extension("voice/", "mp3", "voice/{id}.mp3")]
#[tokio::test]
async fn the_destination_key_is_prefix_media_id_and_extension(
    #[values(Backend::Dir, Backend::S3)] backend: Backend,
    #[case] prefix: &str,
    #[case] extension: &str,
    #[case] expected: &str,
) {
    let f = fixture(backend).await;
    let sample = match extension {
        "ogg" => ogg_opus(4 * KB),
        "m4a" => m4a(4 * KB),
        _ => mp3(4 * KB),
    };
    let media_id = f.upload(&format!("voice-note.{extension}"), &sample).await;
    f.client
        .get_whats_app_message_media()
        .origination_phone_number_id(PHONE_1)
        .media_id(&media_id)
        .destination_s3_file(s3_file("out", prefix))
        .send()
        .await
        .unwrap();
    let key = expected.replace("{id}", &media_id);
    let (bytes, _) = f.object("out", &key).await.unwrap_or_else(|| panic!("no object {key}"));
    assert_eq!(bytes, sample);
}

#[rstest]
#[case::s3_object_content_type("upload-without-extension", Some("image/png"))]
#[case::generic_content_type_falls_back_to_the_extension(
    "photo.png",
    Some("application/octet-stream")
)]
#[case::extension("photo.png", None)]
#[tokio::test]
async fn the_declared_type_comes_from_the_content_type_or_the_extension(
    #[values(Backend::Dir, Backend::S3)] backend: Backend,
    #[case] key: &str,
    #[case] content_type: Option<&str>,
) {
    let f = fixture(backend).await;
    f.put("media", key, &png(2 * KB), content_type).await;
    let media_id = f.post(PHONE_1, "media", key).await.unwrap();
    assert_eq!(f.metadata(PHONE_1, &media_id).await.unwrap(), ("image/png".into(), 2048));
}

// ---------------------------------------------------------------------------------------------
// Meta's types and limits.

type Sample = fn(usize) -> Vec<u8>;

#[rstest]
#[case::jpeg_at_5_mb("a.jpg", jpeg as Sample, 5 * MB, "image/jpeg")]
#[case::png_at_5_mb("a.png", png as Sample, 5 * MB, "image/png")]
#[case::mp4_at_16_mb("a.mp4", mp4 as Sample, 16 * MB, "video/mp4")]
#[case::three_gp_at_16_mb("a.3gp", video_3gp as Sample, 16 * MB, "video/3gpp")]
#[case::aac_at_16_mb("a.aac", aac as Sample, 16 * MB, "audio/aac")]
#[case::amr_at_16_mb("a.amr", amr as Sample, 16 * MB, "audio/amr")]
#[case::mp3_at_16_mb("a.mp3", mp3 as Sample, 16 * MB, "audio/mpeg")]
#[case::m4a_at_16_mb("a.m4a", m4a as Sample, 16 * MB, "audio/mp4")]
#[case::ogg_opus_at_16_mb("a.ogg", ogg_opus as Sample, 16 * MB, "audio/ogg")]
#[case::pdf_at_100_mb("a.pdf", pdf as Sample, 100 * MB, "application/pdf")]
#[case::static_sticker_at_100_kb("a.webp", webp_static as Sample, 100 * KB, "image/webp")]
#[case::animated_sticker_at_500_kb("a.webp", webp_animated as Sample, 500 * KB, "image/webp")]
#[case::text("a.txt", text as Sample, 10 * KB, "text/plain")]
#[case::docx("a.docx", docx as Sample, 10 * KB, "application/vnd.openxmlformats-officedocument.wordprocessingml.document")]
#[case::xlsx("a.xlsx", xlsx as Sample, 10 * KB, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")]
#[case::pptx("a.pptx", pptx as Sample, 10 * KB, "application/vnd.openxmlformats-officedocument.presentationml.presentation")]
#[case::doc("a.doc", ole2 as Sample, 10 * KB, "application/msword")]
#[case::xls("a.xls", ole2 as Sample, 10 * KB, "application/vnd.ms-excel")]
#[case::ppt("a.ppt", ole2 as Sample, 10 * KB, "application/vnd.ms-powerpoint")]
#[tokio::test]
async fn a_file_at_its_limit_is_accepted(
    #[values(Backend::Dir, Backend::S3)] backend: Backend,
    #[case] key: &str,
    #[case] sample: Sample,
    #[case] size: usize,
    #[case] mime: &str,
) {
    let f = fixture(backend).await;
    let media_id = f.upload(key, &sample(size)).await;
    assert_eq!(f.metadata(PHONE_1, &media_id).await.unwrap(), (mime.to_string(), size as i64));
}

#[rstest]
#[case::jpeg_over_5_mb("a.jpg", jpeg as Sample, 5 * MB + 1, "image files (image/jpeg) are limited to 5 MB")]
#[case::png_over_5_mb("a.png", png as Sample, 5 * MB + 1, "image files (image/png) are limited to 5 MB")]
#[case::mp4_over_16_mb("a.mp4", mp4 as Sample, 16 * MB + 1, "video files (video/mp4) are limited to 16 MB")]
#[case::three_gp_over_16_mb("a.3gp", video_3gp as Sample, 16 * MB + 1, "video files (video/3gpp) are limited to 16 MB")]
#[case::aac_over_16_mb("a.aac", aac as Sample, 16 * MB + 1, "audio files (audio/aac) are limited to 16 MB")]
#[case::amr_over_16_mb("a.amr", amr as Sample, 16 * MB + 1, "audio files (audio/amr) are limited to 16 MB")]
#[case::mp3_over_16_mb("a.mp3", mp3 as Sample, 16 * MB + 1, "audio files (audio/mpeg) are limited to 16 MB")]
#[case::m4a_over_16_mb("a.m4a", m4a as Sample, 16 * MB + 1, "audio files (audio/mp4) are limited to 16 MB")]
#[case::ogg_over_16_mb("a.ogg", ogg_opus as Sample, 16 * MB + 1, "audio files (audio/ogg) are limited to 16 MB")]
#[case::pdf_over_100_mb("a.pdf", pdf as Sample, 100 * MB + 1, "the largest file WhatsApp accepts is 100 MB")]
#[case::static_sticker_over_100_kb("a.webp", webp_static as Sample, 100 * KB + 2, "static stickers (image/webp) are limited to 100 KB")]
#[case::static_sticker_under_the_animated_limit("a.webp", webp_static as Sample, 400 * KB, "static stickers (image/webp) are limited to 100 KB")]
#[case::animated_sticker_over_500_kb("a.webp", webp_animated as Sample, 500 * KB + 2, "animated stickers (image/webp) are limited to 500 KB")]
#[tokio::test]
async fn a_file_over_its_limit_is_refused_with_131053(
    #[values(Backend::Dir, Backend::S3)] backend: Backend,
    #[case] key: &str,
    #[case] sample: Sample,
    #[case] size: usize,
    #[case] rule: &str,
) {
    let f = fixture(backend).await;
    f.put("media", key, &sample(size), None).await;
    let err = f.post(PHONE_1, "media", key).await.unwrap_err();
    assert!(err.is_invalid_parameters_exception(), "{err:?}");
    let message = err.message().unwrap();
    assert!(message.starts_with("(#131053) Media upload error: "), "{message}");
    assert!(message.contains(rule), "{message}");
}

#[rstest]
#[case::unsupported_type("anim.gif", gif(1000), None, "image/gif is not a supported media type")]
#[case::png_bytes_named_jpeg(
    "photo.jpg",
    png(1000),
    None,
    "the declared type image/jpeg does not match the file: the file's bytes are image/png"
)]
#[case::jpeg_bytes_declared_mp4(
    "clip",
    jpeg(1000),
    Some("video/mp4"),
    "the declared type video/mp4 does not match the file: the file's bytes are image/jpeg"
)]
#[case::pdf_bytes_named_docx(
    "report.docx",
    pdf(1000),
    None,
    "the file's bytes are application/pdf"
)]
#[case::xlsx_bytes_named_docx(
    "report.docx",
    xlsx(1000),
    None,
    "the file's bytes are application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)]
#[case::ogg_without_opus(
    "voice.ogg",
    ogg_vorbis(1000),
    None,
    "audio/ogg is accepted with the Opus codec only"
)]
#[case::binary_named_txt("notes.txt", vec![0, 159, 146, 150, 0, 1], None, "the declared type text/plain does not match")]
#[case::empty_file("empty.jpg", vec![], None, "the file is empty")]
#[case::no_type_at_all(
    "README",
    text(100),
    None,
    "cannot tell the media type of s3://media/README"
)]
#[tokio::test]
async fn unsupported_or_mismatched_files_are_refused_with_131053(
    #[values(Backend::Dir, Backend::S3)] backend: Backend,
    #[case] key: &str,
    #[case] bytes: Vec<u8>,
    #[case] content_type: Option<&str>,
    #[case] rule: &str,
) {
    let f = fixture(backend).await;
    f.put("media", key, &bytes, content_type).await;
    let err = f.post(PHONE_1, "media", key).await.unwrap_err();
    assert!(err.is_invalid_parameters_exception(), "{err:?}");
    let message = err.message().unwrap();
    assert!(message.starts_with("(#131053) Media upload error: "), "{message}");
    assert!(message.contains(rule), "{message}");
}

// ---------------------------------------------------------------------------------------------
// Sources and errors.

#[rstest]
#[case::missing_key(
    "media",
    "nothing-here.jpg",
    "Cannot read s3://media/nothing-here.jpg: the object does not exist (NoSuchKey)"
)]
#[case::missing_bucket(
    "no-such-bucket",
    "cat.jpg",
    "Cannot read s3://no-such-bucket/cat.jpg: the bucket does not exist (NoSuchBucket)"
)]
#[tokio::test]
async fn a_missing_object_is_invalid_parameters_naming_bucket_and_key(
    #[values(Backend::Dir, Backend::S3)] backend: Backend,
    #[case] bucket: &str,
    #[case] key: &str,
    #[case] expected: &str,
) {
    let f = fixture(backend).await;
    let err = f.post(PHONE_1, bucket, key).await.unwrap_err();
    assert!(err.is_invalid_parameters_exception(), "{err:?}");
    assert_eq!(err.message(), Some(expected));
}

#[tokio::test]
async fn refused_s3_credentials_are_access_denied() {
    let f = fixture_with(Backend::S3, |c| c.s3_access_key_id = Some("AKIAUNKNOWN".into())).await;
    let err = f.post(PHONE_1, "media", "cat.jpg").await.unwrap_err();
    assert!(err.is_access_denied_exception(), "{err:?}");
    assert!(err.message().unwrap().contains("s3://media/cat.jpg"), "{err:?}");
}

#[tokio::test]
async fn an_unreachable_s3_endpoint_is_a_dependency_failure() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let f = fixture_with(Backend::Dir, |c| {
        c.s3_endpoint = Some(format!("http://127.0.0.1:{port}"));
        c.s3_access_key_id = Some(S3_KEY_ID.into());
        c.s3_secret_access_key = Some(S3_SECRET.into());
    })
    .await;
    let err = f.post(PHONE_1, "media", "cat.jpg").await.unwrap_err();
    assert!(err.is_dependency_exception(), "{err:?}");
}

#[rstest]
#[case::both(true, true)]
#[case::neither(false, false)]
#[tokio::test]
async fn exactly_one_source_is_required(#[case] file: bool, #[case] url: bool) {
    let f = fixture(Backend::Dir).await;
    let mut request = f.client.post_whats_app_message_media().origination_phone_number_id(PHONE_1);
    if file {
        request = request.source_s3_file(s3_file("media", "cat.jpg"));
    }
    if url {
        request = request.source_s3_presigned_url(presigned(
            "https://media.s3.amazonaws.com/cat.jpg",
            &[("Content-Type", "image/jpeg")],
        ));
    }
    let err = request.send().await.unwrap_err().into_service_error();
    assert!(err.is_invalid_parameters_exception(), "{err:?}");
    assert!(
        err.message().unwrap().contains("exactly one of sourceS3File and sourceS3PresignedUrl")
    );
}

#[tokio::test]
async fn an_unknown_phone_number_is_not_found() {
    let f = fixture(Backend::Dir).await;
    f.put("media", "cat.jpg", &jpeg(1000), None).await;
    let err = f
        .post("phone-number-id-00000000000000000000000000000000", "media", "cat.jpg")
        .await
        .unwrap_err();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// Ownership, lifetime, delete.

#[tokio::test]
async fn media_belongs_to_the_phone_number_that_uploaded_it() {
    let f = fixture(Backend::Dir).await;
    let media_id = f.upload("cat.jpg", &jpeg(1000)).await;
    let err = f.metadata(PHONE_2, &media_id).await.unwrap_err();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    let err = f
        .client
        .delete_whats_app_message_media()
        .origination_phone_number_id(PHONE_2)
        .media_id(&media_id)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    assert!(f.metadata(PHONE_1, &media_id).await.is_ok(), "still there for its owner");
}

#[rstest]
#[case::unknown("123456789012345")]
#[case::not_numeric_but_valid("abcDEF123")]
#[tokio::test]
async fn an_unknown_media_id_is_not_found(#[case] media_id: &str) {
    let f = fixture(Backend::Dir).await;
    let err = f.metadata(PHONE_1, media_id).await.unwrap_err();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    assert!(err.message().unwrap().contains(media_id));
}

#[tokio::test]
async fn uploaded_media_expires_after_30_days_on_the_virtual_clock() {
    let f = fixture(Backend::Dir).await;
    let media_id = f.upload("cat.jpg", &jpeg(1000)).await;
    f.emu.state.clock.advance(30 * DAY - Duration::from_secs(60));
    assert!(f.metadata(PHONE_1, &media_id).await.is_ok(), "alive a minute before 30 days");
    f.emu.state.clock.advance(Duration::from_secs(61));
    let err = f.metadata(PHONE_1, &media_id).await.unwrap_err();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    // A later upload purges it for good, its bytes too.
    assert_eq!(f.stored_media_files(), vec![media_id.clone()]);
    let other = f.upload("dog.jpg", &jpeg(1200)).await;
    assert!(f.metadata(PHONE_1, &other).await.is_ok());
    assert_eq!(f.stored_media_files(), vec![other]);
}

#[tokio::test]
async fn inbound_media_is_retrievable_for_7_days() {
    let f = fixture(Backend::Dir).await;
    let hex = PHONE_1.strip_prefix("phone-number-id-").unwrap();
    let photo = jpeg(4321);
    let inbound = eum_social_emulator::control::store_inbound(
        &f.emu.state,
        ACCOUNT,
        REGION,
        hex,
        photo.clone().into(),
        "image/jpeg",
    )
    .await
    .unwrap();
    assert!(is_numeric_media_id(&inbound.media_id));
    assert_eq!(inbound.file_size, 4321);
    assert_eq!(inbound.sha256.len(), 44, "base64 of 32 bytes");

    f.client
        .get_whats_app_message_media()
        .origination_phone_number_id(PHONE_1)
        .media_id(&inbound.media_id)
        .destination_s3_file(s3_file("out", "inbound_"))
        .send()
        .await
        .unwrap();
    let (bytes, _) = f.object("out", &format!("inbound_{}.jpeg", inbound.media_id)).await.unwrap();
    assert_eq!(bytes, photo);
    assert!(f.metadata(PHONE_2, &inbound.media_id).await.is_err(), "another number's");

    f.emu.state.clock.advance(7 * DAY - Duration::from_secs(1));
    assert!(f.metadata(PHONE_1, &inbound.media_id).await.is_ok());
    f.emu.state.clock.advance(Duration::from_secs(1));
    let err = f.metadata(PHONE_1, &inbound.media_id).await.unwrap_err();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
}

#[rstest]
#[tokio::test]
async fn writing_to_a_bucket_the_store_refuses_names_it(
    #[values(Backend::Dir, Backend::S3)] backend: Backend,
) {
    let f = fixture(backend).await;
    let media_id = f.upload("cat.jpg", &jpeg(1000)).await;
    // The model's pattern is matched as a search, so this passes validation; S3 refuses it.
    let err = f
        .client
        .get_whats_app_message_media()
        .origination_phone_number_id(PHONE_1)
        .media_id(&media_id)
        .destination_s3_file(s3_file("bad..bucket", "in/"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_parameters_exception(), "{err:?}");
    let message = err.message().unwrap();
    assert!(
        message.starts_with(&format!("Cannot write s3://bad..bucket/in/{media_id}.jpeg: ")),
        "{message}"
    );
}

#[rstest]
#[tokio::test]
async fn delete_then_get_fails_and_the_s3_object_stays(
    #[values(Backend::Dir, Backend::S3)] backend: Backend,
) {
    let f = fixture(backend).await;
    let photo = jpeg(2000);
    let media_id = f.upload("keep/cat.jpg", &photo).await;
    let out = f
        .client
        .delete_whats_app_message_media()
        .origination_phone_number_id(PHONE_1)
        .media_id(&media_id)
        .send()
        .await
        .unwrap();
    assert_eq!(out.success(), Some(true));

    let err = f.metadata(PHONE_1, &media_id).await.unwrap_err();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    let err = f
        .client
        .get_whats_app_message_media()
        .origination_phone_number_id(PHONE_1)
        .media_id(&media_id)
        .destination_s3_file(s3_file("out", "x/"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    let err = f
        .client
        .delete_whats_app_message_media()
        .origination_phone_number_id(PHONE_1)
        .media_id(&media_id)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "deleting twice: {err:?}");

    let (bytes, _) = f.object("media", "keep/cat.jpg").await.expect("the source object is kept");
    assert_eq!(bytes, photo);
    assert!(f.stored_media_files().is_empty(), "WhatsApp's copy is gone");
}

#[tokio::test]
async fn get_needs_one_destination_unless_metadata_only() {
    let f = fixture(Backend::Dir).await;
    let media_id = f.upload("cat.jpg", &jpeg(1000)).await;
    let get = || {
        f.client
            .get_whats_app_message_media()
            .origination_phone_number_id(PHONE_1)
            .media_id(&media_id)
    };

    let err = get()
        .destination_s3_file(s3_file("out", "a/"))
        .destination_s3_presigned_url(presigned(
            "https://out.s3.amazonaws.com/a.jpg",
            &[("Content-Type", "image/jpeg")],
        ))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_parameters_exception(), "{err:?}");
    assert!(err.message().unwrap().contains("not both"));

    let err = get().send().await.unwrap_err().into_service_error();
    assert!(err.is_invalid_parameters_exception(), "{err:?}");

    // metadataOnly ignores a destination and writes nothing.
    let out = get().metadata_only(true).destination_s3_file(s3_file("out", "meta/")).send().await;
    assert_eq!(out.unwrap().file_size(), Some(1000));
    assert!(!f.bucket_root.join("out/meta").exists());
}

// ---------------------------------------------------------------------------------------------
// Presigned URLs, in and out, through a local HTTP server.

/// What the local "S3" saw: PUT bodies and headers by path; GET answers by path.
#[derive(Default)]
struct HttpS3 {
    objects: HashMap<String, (u16, Vec<u8>, String)>,
    puts: HashMap<String, (Vec<u8>, HashMap<String, String>)>,
    get_headers: Vec<HashMap<String, String>>,
}

type Shared = Arc<Mutex<HttpS3>>;

async fn start_http_s3() -> (String, Shared) {
    use axum::body::Bytes;
    use axum::extract::{Request, State};
    use axum::http::{Method, StatusCode};
    use axum::response::{IntoResponse, Response};

    async fn handle(State(shared): State<Shared>, request: Request) -> Response {
        let (parts, body) = request.into_parts();
        let headers: HashMap<String, String> = parts
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect();
        let path = parts.uri.path().to_string();
        let body: Bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        let mut s3 = shared.lock().unwrap();
        if parts.method == Method::PUT {
            s3.puts.insert(path, (body.to_vec(), headers));
            return StatusCode::OK.into_response();
        }
        s3.get_headers.push(headers);
        match s3.objects.get(&path) {
            Some((status, bytes, content_type)) => (
                StatusCode::from_u16(*status).unwrap(),
                [("content-type", content_type.clone())],
                bytes.clone(),
            )
                .into_response(),
            None => {
                (StatusCode::NOT_FOUND, "<Error><Code>NoSuchKey</Code></Error>").into_response()
            }
        }
    }

    let shared = Shared::default();
    let app = axum::Router::new().fallback(handle).with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, shared)
}

#[tokio::test]
async fn presigned_urls_in_and_out() {
    let f = fixture(Backend::Dir).await;
    let (base, http_s3) = start_http_s3().await;
    let photo = png(3000);
    http_s3
        .lock()
        .unwrap()
        .objects
        .insert("/media/cat.png".into(), (200, photo.clone(), "image/png".into()));

    let media_id = f
        .client
        .post_whats_app_message_media()
        .origination_phone_number_id(PHONE_1)
        .source_s3_presigned_url(presigned(
            &format!("{base}/media/cat.png?X-Amz-Signature=secret"),
            &[("Content-Type", "image/png"), ("x-amz-meta-origin", "sdk-tests")],
        ))
        .send()
        .await
        .unwrap()
        .media_id()
        .unwrap()
        .to_string();
    assert!(is_numeric_media_id(&media_id));
    {
        let seen = &http_s3.lock().unwrap().get_headers[0];
        assert_eq!(seen["x-amz-meta-origin"], "sdk-tests", "the caller's headers are sent");
    }

    let out = f
        .client
        .get_whats_app_message_media()
        .origination_phone_number_id(PHONE_1)
        .media_id(&media_id)
        .destination_s3_presigned_url(presigned(
            &format!("{base}/out/copy.png?X-Amz-Signature=secret"),
            &[("Content-Type", "image/png")],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(out.mime_type(), Some("image/png"));
    assert_eq!(out.file_size(), Some(3000));
    let s3 = http_s3.lock().unwrap();
    let (body, headers) = &s3.puts["/out/copy.png"];
    assert_eq!(body, &photo);
    assert_eq!(headers["content-type"], "image/png");
}

#[rstest]
#[case::missing_content_type("/media/cat.png", 200, &[], "headers must include Content-Type")]
#[case::not_found("/media/none.png", 200, &[("Content-Type", "image/png")], "the server answered HTTP 404")]
#[case::expired_signature("/media/denied.png", 403, &[("Content-Type", "image/png")], "the server answered HTTP 403")]
#[case::declared_type_wins("/media/cat.png", 200, &[("Content-Type", "image/jpeg")], "(#131053) Media upload error: the declared type image/jpeg does not match")]
#[tokio::test]
async fn presigned_source_errors_are_invalid_parameters(
    #[case] path: &str,
    #[case] status: u16,
    #[case] headers: &[(&str, &str)],
    #[case] expected: &str,
) {
    let f = fixture(Backend::Dir).await;
    let (base, http_s3) = start_http_s3().await;
    {
        let mut s3 = http_s3.lock().unwrap();
        s3.objects.insert("/media/cat.png".into(), (200, png(1000), "image/png".into()));
        s3.objects.insert(
            "/media/denied.png".into(),
            (
                status,
                b"<Error><Code>AccessDenied</Code></Error>".to_vec(),
                "application/xml".into(),
            ),
        );
    }
    let err = f
        .client
        .post_whats_app_message_media()
        .origination_phone_number_id(PHONE_1)
        .source_s3_presigned_url(presigned(
            &format!("{base}{path}?X-Amz-Signature=secret"),
            headers,
        ))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_parameters_exception(), "{err:?}");
    let message = err.message().unwrap();
    assert!(message.contains(expected), "{message}");
    assert!(!message.contains("secret"), "the signature is not echoed: {message}");
}

#[tokio::test]
async fn without_the_flag_only_amazonaws_presigned_urls_pass_validation() {
    let f = fixture_with(Backend::Dir, |c| c.allow_any_presigned_url = false).await;
    let err = f
        .client
        .post_whats_app_message_media()
        .origination_phone_number_id(PHONE_1)
        .source_s3_presigned_url(presigned(
            "http://127.0.0.1:9/media/cat.png",
            &[("Content-Type", "image/png")],
        ))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    assert!(
        err.message().unwrap().contains("https://(.*)s3(.*).amazonaws.com/(.*)"),
        "{:?}",
        err.message()
    );
}

// ---------------------------------------------------------------------------------------------
// Media in messages: sending by id, and customers sending files.

fn media_message(kind: &str, id: &str) -> aws_smithy_types::Blob {
    message_blob(serde_json::json!({
        "messaging_product": "whatsapp", "to": "14255550150", "type": kind, kind: { "id": id }
    }))
}

#[tokio::test]
async fn messages_send_uploaded_media_of_their_own_number_and_kind() {
    let f = fixture(Backend::Dir).await;
    let control = Control::new(&f.emu);
    control.customer_says(PHONE_1, "14255550150", "send me the receipt").await;
    let media_id = f.upload("receipt.jpg", &jpeg(4 * KB)).await;
    send(&f.client, PHONE_1, media_message("image", &media_id)).await;

    // The wrong kind is Meta's media upload error; another number's or an unknown id is not valid.
    let err = send_refused(&f.client, PHONE_1, media_message("sticker", &media_id)).await;
    assert!(err.message().unwrap().starts_with("(#131053)"), "{err:?}");
    let err = send_refused(&f.client, PHONE_2, media_message("image", &media_id)).await;
    assert!(err.message().unwrap().starts_with("(#100)"), "{err:?}");
    assert!(err.message().unwrap().contains("image['id']"), "{err:?}");
    let err = send_refused(&f.client, PHONE_1, media_message("image", "123456789012345")).await;
    assert!(err.is_invalid_parameters_exception(), "{err:?}");
    // A template with an image header: its example is uploaded with
    // CreateWhatsAppMessageTemplateMedia, and the image sent with it is checked like any other.
    f.put("media", "header.png", &png(2 * KB), Some("image/png")).await;
    let handle = f
        .client
        .create_whats_app_message_template_media()
        .id(sdk_tests::WABA_1)
        .source_s3_file(s3_file("media", "header.png"))
        .send()
        .await
        .unwrap()
        .meta_header_handle()
        .unwrap()
        .to_string();
    assert!(handle.starts_with("4::"), "{handle}");
    let definition = serde_json::json!({
        "name": "receipt_ready", "language": "en_US", "category": "UTILITY",
        "components": [
            { "type": "HEADER", "format": "IMAGE", "example": { "header_handle": [handle] } },
            { "type": "BODY", "text": "Your receipt is ready." }
        ]
    });
    let template_id = f
        .client
        .create_whats_app_message_template()
        .id(sdk_tests::WABA_1)
        .template_definition(aws_smithy_types::Blob::new(definition.to_string()))
        .send()
        .await
        .unwrap()
        .meta_template_id()
        .unwrap()
        .to_string();
    control
        .call(
            "POST",
            &format!("/templates/{template_id}/review"),
            Some(serde_json::json!({"decision": "APPROVE"})),
        )
        .await;
    let with_header = |id: &str| {
        message_blob(serde_json::json!({
            "messaging_product": "whatsapp", "to": "14255550150", "type": "template",
            "template": { "name": "receipt_ready", "language": { "code": "en_US" }, "components": [
                { "type": "header", "parameters": [ { "type": "image", "image": { "id": id } } ] } ] }
        }))
    };
    send(&f.client, PHONE_1, with_header(&media_id)).await;
    let err = send_refused(&f.client, PHONE_1, with_header("999999999999999")).await;
    assert!(
        err.message().unwrap().contains("template['components']['parameters']['image']['id']"),
        "{err:?}"
    );
    // A header handle must be this WABA's.
    let other = definition.to_string().replace("receipt_ready", "receipt_other");
    let err = f
        .client
        .create_whats_app_message_template()
        .id(sdk_tests::WABA_2)
        .template_definition(aws_smithy_types::Blob::new(other))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.message().unwrap().contains("header_handle"), "{err:?}");
    // A file that cannot be a header is refused.
    f.put("media", "voice.ogg", &ogg_opus(2 * KB), Some("audio/ogg")).await;
    let err = f
        .client
        .create_whats_app_message_template_media()
        .id(sdk_tests::WABA_1)
        .source_s3_file(s3_file("media", "voice.ogg"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.message().unwrap().starts_with("(#131053)"), "{err:?}");
    // A deleted id can no longer be sent.
    f.client
        .delete_whats_app_message_media()
        .media_id(&media_id)
        .origination_phone_number_id(PHONE_1)
        .send()
        .await
        .unwrap();
    let err = send_refused(&f.client, PHONE_1, media_message("image", &media_id)).await;
    assert!(err.message().unwrap().starts_with("(#100)"), "{err:?}");
}

#[rstest]
#[case::bytes("base64")]
#[case::s3_object("s3")]
#[case::placeholder("none")]
#[tokio::test]
async fn customers_send_files_the_app_can_fetch(#[case] source: &str) {
    let f = fixture(Backend::Dir).await;
    let control = Control::new(&f.emu);
    let bytes = jpeg(3 * KB);
    let mut body = serde_json::json!({
        "phoneNumberId": PHONE_1, "from": "14255550150", "type": "image", "image": { "caption": "my receipt" }
    });
    match source {
        "base64" => {
            use base64::Engine;
            body["file"] = serde_json::json!({ "base64": base64::engine::general_purpose::STANDARD.encode(&bytes), "mimeType": "image/jpeg" });
        }
        "s3" => {
            f.put("media", "in/receipt.jpg", &bytes, Some("image/jpeg")).await;
            body["file"] = serde_json::json!({ "bucketName": "media", "key": "in/receipt.jpg" });
        }
        _ => {}
    }
    let out = control.call("POST", "/inbound", Some(body)).await;
    let event = control
        .wait_events(&format!("kind=inbound&wamid={}", out["wamid"].as_str().unwrap()), 1)
        .await
        .remove(0);
    sdk_tests::assert_schema("webhook-entry.schema.json", &entry(&event));
    let image = entry(&event)["changes"][0]["value"]["messages"][0]["image"].clone();
    assert_eq!(image["caption"], "my receipt");
    assert_eq!(image["mime_type"], "image/jpeg");
    let media_id = image["id"].as_str().unwrap().to_string();
    // Meta's media webhooks carry the file's URL (lookaside form) since late 2025.
    let url = image["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!(
            "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid={media_id}&ext="
        )) && url.contains("&hash="),
        "{url}"
    );
    let meta = f
        .client
        .get_whats_app_message_media()
        .media_id(&media_id)
        .origination_phone_number_id(PHONE_1)
        .metadata_only(true)
        .send()
        .await
        .unwrap();
    assert_eq!(meta.mime_type(), Some("image/jpeg"));
    if source != "none" {
        assert_eq!(meta.file_size(), Some(bytes.len() as i64));
        use base64::Engine;
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &bytes);
        assert_eq!(
            image["sha256"],
            base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
        );
        // And the app downloads it to its bucket.
        f.client
            .get_whats_app_message_media()
            .media_id(&media_id)
            .origination_phone_number_id(PHONE_1)
            .destination_s3_file(s3_file("out", "inbound_"))
            .send()
            .await
            .unwrap();
        let (copied, _) =
            f.object("out", &format!("inbound_{media_id}.jpeg")).await.expect("copied");
        assert_eq!(copied, bytes);
    }
    // Inbound media lives 7 days.
    f.emu.state.clock.advance(8 * DAY);
    let err = f
        .client
        .get_whats_app_message_media()
        .media_id(&media_id)
        .origination_phone_number_id(PHONE_1)
        .metadata_only(true)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
}
