//! WhatsApp's copies of media files (runtime): [`blobs::Blobs`], the bytes of uploaded and
//! inbound media on disk under the data dir (the inbound simulation gives a customer's file a
//! media id with `control::messaging::store_inbound`). Meta's media rules are the domain's
//! ([`crate::meta::media`], re-exported here); the media metadata (owner, type, size, lifetime)
//! lives in the partition: [`crate::state::media`].

pub mod blobs;

pub use crate::meta::media::*;
