//! The business public key of a phone number: PutWhatsAppBusinessPublicKey and
//! GetWhatsAppBusinessPublicKey. WhatsApp Flows with an endpoint encrypt their data exchange
//! with it; Meta wants an RSA key of at least 2048 bits.

use rsa::PublicKey as RsaPublicKey;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};

use super::meta_error;
use crate::AppState;
use crate::context::RequestContext;
use crate::error::{ApiError, ApiResult};
use crate::model::validate::Input;
use crate::state::public_key::BusinessPublicKey;

/// Meta's minimum RSA key size for the business public key.
pub const MIN_KEY_BITS: usize = 2048;

pub fn put_whatsapp_business_public_key(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let phone_id = input.req_str("originationPhoneNumberId")?;
    let pem = input.str("businessPublicKey");
    let kms = input.str("kmsKeyArn");
    let key = match (pem, kms) {
        (Some(pem), None) => BusinessPublicKey {
            pem: Some(pem.to_string()),
            kms_key_arn: None,
            bits: Some(parse_rsa_public_key(pem)?),
            signature_status: "VALID".into(),
            uploaded_ms: state.clock.now_ms(),
        },
        (None, Some(arn)) => BusinessPublicKey {
            pem: None,
            kms_key_arn: Some(arn.to_string()),
            bits: None,
            signature_status: "VALID".into(),
            uploaded_ms: state.clock.now_ms(),
        },
        _ => {
            return Err(ApiError::invalid_parameters(
                "Specify exactly one of businessPublicKey (a PEM-encoded RSA public key) or \
                 kmsKeyArn",
            ));
        }
    };
    state.store.with(ctx, |p| {
        p.phone_mut(ctx, phone_id)?.business_public_key = Some(key);
        Ok(json!({}))
    })
}

pub fn get_whatsapp_business_public_key(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let phone_id = input.req_str("originationPhoneNumberId")?;
    state.store.read(ctx, |p| {
        let (_, number) = p.phone(ctx, phone_id)?;
        let key = number.business_public_key.as_ref().ok_or_else(|| {
            ApiError::not_found(format!(
                "No business public key is set for phone number {phone_id}; set one with \
                 PutWhatsAppBusinessPublicKey"
            ))
        })?;
        let mut out = json!({ "businessPublicKeySignatureStatus": key.signature_status });
        if let Some(pem) = &key.pem {
            out["businessPublicKey"] = json!(pem);
        }
        Ok(out)
    })
}

/// Parses a PEM RSA public key (SPKI `PUBLIC KEY` or PKCS#1 `RSA PUBLIC KEY`); returns its size
/// in bits, or Meta's refusal naming what is wrong.
pub fn parse_rsa_public_key(pem: &str) -> ApiResult<usize> {
    let bad = |detail: String| Err(meta_error(100, "Invalid parameter", detail));
    let text = pem.trim();
    let label = text
        .strip_prefix("-----BEGIN ")
        .and_then(|rest| rest.split_once("-----"))
        .map(|(label, _)| label);
    let key = match label {
        Some("PUBLIC KEY") => RsaPublicKey::from_public_key_pem(text).map_err(|e| e.to_string()),
        Some("RSA PUBLIC KEY") => RsaPublicKey::from_pkcs1_pem(text).map_err(|e| e.to_string()),
        Some(l) if l.contains("PRIVATE KEY") => {
            return bad(format!(
                "businessPublicKey is a private key ({l}); upload only the public key"
            ));
        }
        Some(l) => return bad(format!("businessPublicKey is a PEM {l}, not an RSA public key")),
        None => {
            return bad("businessPublicKey must be a PEM-encoded RSA public key \
                        (-----BEGIN PUBLIC KEY-----)"
                .into());
        }
    };
    match key {
        Ok(key) => {
            let bits = key.size() * 8;
            if bits < MIN_KEY_BITS {
                return bad(format!(
                    "businessPublicKey is a {bits}-bit RSA key; Meta requires at least \
                     {MIN_KEY_BITS} bits"
                ));
            }
            Ok(bits)
        }
        Err(e) => bad(format!("businessPublicKey is not a valid RSA public key: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_2048: &str = include_str!("../../../fixtures/keys/rsa-2048-public.pem");
    const KEY_2048_PKCS1: &str = include_str!("../../../fixtures/keys/rsa-2048-public-pkcs1.pem");
    const KEY_1024: &str = include_str!("../../../fixtures/keys/rsa-1024-public.pem");
    const KEY_EC: &str = include_str!("../../../fixtures/keys/ec-p256-public.pem");

    #[test]
    fn parses_both_pem_forms() {
        assert_eq!(parse_rsa_public_key(KEY_2048).unwrap(), 2048);
        assert_eq!(parse_rsa_public_key(KEY_2048_PKCS1).unwrap(), 2048);
    }

    #[test]
    fn refuses_what_is_not_a_usable_rsa_public_key() {
        let message = |pem: &str| parse_rsa_public_key(pem).unwrap_err().message;
        assert!(message(KEY_1024).contains("1024-bit"));
        assert!(message(KEY_EC).contains("not a valid RSA public key"));
        assert!(message("hello").contains("PEM-encoded"));
        assert!(
            message("-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----")
                .contains("private key")
        );
        let broken = KEY_2048.replace("MIIB", "MIIC");
        assert!(message(&broken).contains("not a valid RSA public key"));
    }
}
