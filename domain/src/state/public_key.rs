//! The business public key of a phone number (PutWhatsAppBusinessPublicKey), which WhatsApp
//! Flows with an endpoint use to encrypt their data exchange.

use serde::{Deserialize, Serialize};

/// Either an uploaded PEM key or a KMS key reference, and Meta's signature verdict.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BusinessPublicKey {
    /// The PEM text as uploaded (None when the key lives in KMS).
    pub pem: Option<String>,
    pub kms_key_arn: Option<String>,
    /// Key size in bits (PEM keys only).
    pub bits: Option<usize>,
    /// `VALID` after an upload; `MISMATCH` only when set through the control API.
    pub signature_status: String,
    pub uploaded_ms: i64,
}
