//! Sending messages, media, calling, business public keys, datasets and conversion events.

use aws_sdk_socialmessaging::types::S3File;
use aws_smithy_types::Blob;
use base64::Engine;
use serde_json::{Value, json};

use super::accounts::call_settings;
use super::{blob, done, linked};
use crate::{Ctx, Outcome, check, expect_error, ok};

const KEY_2048: &str = include_str!("../../../fixtures/keys/rsa-2048-public.pem");
const CUSTOMER: &str = "+14255550123";
const UNKNOWN_PHONE: &str = "phone-number-id-00000000000000000000000000000000";
const OFFER: &str = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\na=setup:actpass\r\n";

fn text_to(to: &str, body: &str) -> Value {
    json!({ "messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
            "type": "text", "text": { "body": body } })
}

pub async fn malformed_message(ctx: &Ctx) -> Outcome {
    let c = &ctx.client;
    let waba = linked(ctx).await?;
    let no_body =
        json!({ "messaging_product": "whatsapp", "to": "14255550150", "type": "text", "text": {} });
    done(vec![
        expect_error(
            "SendWhatsAppMessage",
            c.send_whats_app_message()
                .origination_phone_number_id(&waba.phone_id)
                .meta_api_version("v20.0")
                .message(blob(&no_body))
                .send()
                .await,
            "InvalidParametersException",
        )?,
        expect_error(
            "SendWhatsAppMessage",
            c.send_whats_app_message()
                .origination_phone_number_id(UNKNOWN_PHONE)
                .meta_api_version("v20.0")
                .message(blob(&text_to("14255550150", "hi")))
                .send()
                .await,
            "ResourceNotFoundException",
        )?,
    ])
}

/// A customer writes in (opening the 24-hour window) and the business answers with text.
pub async fn customer_writes_business_replies(ctx: &Ctx) -> Outcome {
    let waba = linked(ctx).await?;
    let customer = "14255550150";
    ctx.control(
        "POST",
        "/inbound",
        Some(json!({ "phoneNumberId": waba.phone_id, "from": customer, "profileName": "Diego", "text": "Is my order ready?" })),
    )
    .await?;
    let sent = ok(
        "SendWhatsAppMessage",
        ctx.client
            .send_whats_app_message()
            .origination_phone_number_id(&waba.phone_arn)
            .meta_api_version("v20.0")
            .message(blob(&text_to(customer, "Yes, it ships today.")))
            .send()
            .await,
    )?;
    let id = sent.message_id().ok_or("no messageId")?;
    let events = ctx
        .control("GET", &format!("/events?kind=status&messageId={id}&count=1&waitMs=10000"), None)
        .await?;
    check(events["events"].as_array().is_some_and(|e| !e.is_empty()), || {
        format!("no status event for {id}: {events}")
    })?;
    Ok(format!("replied inside the window as {id}"))
}

/// JFIF header, filler, end-of-image marker.
fn jpeg(size: usize) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    out.extend_from_slice(b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00");
    out.resize(size - 2, 0x5A);
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

fn s3_file(bucket: &str, key: &str) -> Result<S3File, String> {
    S3File::builder().bucket_name(bucket).key(key).build().map_err(|e| e.to_string())
}

/// A customer sends a photo; the app copies it to its bucket, uploads it back as its own media
/// and as a template header sample, and deletes both media ids.
pub async fn media_round_trip(ctx: &Ctx) -> Outcome {
    let c = &ctx.client;
    let waba = linked(ctx).await?;
    let photo = base64::engine::general_purpose::STANDARD.encode(jpeg(2048));
    let inbound = ctx
        .control(
            "POST",
            "/inbound",
            Some(json!({ "phoneNumberId": waba.phone_id, "from": "14255550150", "type": "image",
                         "image": { "caption": "my receipt" },
                         "file": { "base64": photo, "mimeType": "image/jpeg" } })),
        )
        .await?;
    let wamid = inbound["wamid"].as_str().ok_or("no wamid")?;
    let events = ctx
        .control("GET", &format!("/events?kind=inbound&wamid={wamid}&count=1&waitMs=10000"), None)
        .await?;
    let entry: Value = serde_json::from_str(
        events["events"][0]["envelope"]["whatsAppWebhookEntry"]
            .as_str()
            .ok_or("no inbound event")?,
    )
    .map_err(|e| e.to_string())?;
    let inbound_id = entry["changes"][0]["value"]["messages"][0]["image"]["id"]
        .as_str()
        .ok_or("no media id in the inbound message")?
        .to_string();

    let meta = ok(
        "GetWhatsAppMessageMedia",
        c.get_whats_app_message_media()
            .origination_phone_number_id(&waba.phone_id)
            .media_id(&inbound_id)
            .metadata_only(true)
            .send()
            .await,
    )?;
    check(meta.mime_type() == Some("image/jpeg") && meta.file_size() == Some(2048), || {
        format!("metadata {meta:?}")
    })?;
    ok(
        "GetWhatsAppMessageMedia",
        c.get_whats_app_message_media()
            .origination_phone_number_id(&waba.phone_id)
            .media_id(&inbound_id)
            .destination_s3_file(s3_file("conformance-media", "inbound/")?)
            .send()
            .await,
    )?;
    let key = format!("inbound/{inbound_id}.jpeg");
    let posted = ok(
        "PostWhatsAppMessageMedia",
        c.post_whats_app_message_media()
            .origination_phone_number_id(&waba.phone_id)
            .source_s3_file(s3_file("conformance-media", &key)?)
            .send()
            .await,
    )?;
    let media_id = posted.media_id().ok_or("no mediaId")?.to_string();
    let handle = ok(
        "CreateWhatsAppMessageTemplateMedia",
        c.create_whats_app_message_template_media()
            .id(&waba.waba_id)
            .source_s3_file(s3_file("conformance-media", &key)?)
            .send()
            .await,
    )?;
    check(handle.meta_header_handle().is_some(), || "no metaHeaderHandle".into())?;
    for id in [&media_id, &inbound_id] {
        ok(
            "DeleteWhatsAppMessageMedia",
            c.delete_whats_app_message_media()
                .origination_phone_number_id(&waba.phone_id)
                .media_id(id)
                .send()
                .await,
        )?;
    }
    done(vec![
        format!("inbound {inbound_id} copied to S3, uploaded as {media_id}, both deleted"),
        expect_error(
            "GetWhatsAppMessageMedia",
            c.get_whats_app_message_media()
                .origination_phone_number_id(&waba.phone_id)
                .media_id(&media_id)
                .metadata_only(true)
                .send()
                .await,
            "ResourceNotFoundException",
        )?,
        expect_error(
            "PostWhatsAppMessageMedia",
            c.post_whats_app_message_media()
                .origination_phone_number_id(&waba.phone_id)
                .source_s3_file(s3_file("conformance-media", "inbound/none/such.jpeg")?)
                .send()
                .await,
            "InvalidParametersException",
        )?,
    ])
}

pub async fn unknown_media(ctx: &Ctx) -> Outcome {
    let waba = linked(ctx).await?;
    done(vec![
        expect_error(
            "GetWhatsAppMessageMedia",
            ctx.client
                .get_whats_app_message_media()
                .origination_phone_number_id(&waba.phone_id)
                .media_id("1234567890123456")
                .metadata_only(true)
                .send()
                .await,
            "ResourceNotFoundException",
        )?,
        expect_error(
            "DeleteWhatsAppMessageMedia",
            ctx.client
                .delete_whats_app_message_media()
                .origination_phone_number_id(&waba.phone_id)
                .media_id("1234567890123456")
                .send()
                .await,
            "ResourceNotFoundException",
        )?,
    ])
}

pub async fn get_call_permission(ctx: &Ctx) -> Outcome {
    let waba = linked(ctx).await?;
    let out = ok(
        "GetWhatsAppCallPermission",
        ctx.client
            .get_whats_app_call_permission()
            .origination_phone_number_id(&waba.phone_id)
            .destination_phone_number(CUSTOMER)
            .send()
            .await,
    )?;
    let status = out.permission().map(|p| p.status()).unwrap_or_default();
    Ok(format!("permission of {CUSTOMER}: {status}"))
}

fn call_event(event: &Value) -> Blob {
    blob(event)
}

/// Calling enabled, the customer grants a permission, the business calls: a second call while
/// the first rings is a conflict; the customer answers and the business hangs up.
pub async fn call_connect_conflict_terminate(ctx: &Ctx) -> Outcome {
    let c = &ctx.client;
    let waba = linked(ctx).await?;
    let enabled = aws_sdk_socialmessaging::types::WhatsAppCallSettings::builder()
        .call_enabled(true)
        .callback_permission_status("DISABLED")
        .build()
        .map_err(|e| e.to_string())?;
    ok(
        "UpdateLinkedWhatsAppBusinessAccountPhoneNumber",
        c.update_linked_whats_app_business_account_phone_number()
            .id(&waba.phone_id)
            .call_settings(enabled)
            .send()
            .await,
    )?;
    ctx.control(
        "POST",
        "/call-permissions",
        Some(json!({ "phoneNumberId": waba.phone_id, "destinationPhoneNumber": CUSTOMER, "status": "temporary" })),
    )
    .await?;
    let connect = json!({ "messaging_product": "whatsapp", "to": CUSTOMER, "action": "connect",
                          "session": { "sdp_type": "offer", "sdp": OFFER } });
    let send = |event: Value| {
        c.send_whats_app_call_event()
            .origination_phone_number_id(&waba.phone_id)
            .meta_api_version("v23.0")
            .call_event(call_event(&event))
            .send()
    };
    let call = ok("SendWhatsAppCallEvent", send(connect.clone()).await)?;
    let call_id = call.call_id().to_string();
    let conflict = expect_error("SendWhatsAppCallEvent", send(connect).await, "ConflictException")?;
    ctx.control("POST", &format!("/calls/{call_id}/customer"), Some(json!({ "action": "accept" })))
        .await?;
    ok(
        "SendWhatsAppCallEvent",
        send(json!({ "messaging_product": "whatsapp", "call_id": call_id, "action": "terminate" }))
            .await,
    )?;
    ok(
        "UpdateLinkedWhatsAppBusinessAccountPhoneNumber",
        c.update_linked_whats_app_business_account_phone_number()
            .id(&waba.phone_id)
            .call_settings(call_settings(false)?)
            .send()
            .await,
    )?;
    done(vec![format!("call {call_id} connected, answered and ended"), conflict])
}

pub async fn business_public_key(ctx: &Ctx) -> Outcome {
    let c = &ctx.client;
    let waba = linked(ctx).await?;
    ok(
        "PutWhatsAppBusinessPublicKey",
        c.put_whats_app_business_public_key()
            .origination_phone_number_id(&waba.phone_arn)
            .business_public_key(KEY_2048)
            .send()
            .await,
    )?;
    let got = ok(
        "GetWhatsAppBusinessPublicKey",
        c.get_whats_app_business_public_key()
            .origination_phone_number_id(&waba.phone_id)
            .send()
            .await,
    )?;
    check(got.business_public_key() == Some(KEY_2048), || "another key came back".into())?;
    done(vec![
        format!("key stored for {}", waba.phone_id),
        expect_error(
            "PutWhatsAppBusinessPublicKey",
            c.put_whats_app_business_public_key()
                .origination_phone_number_id(&waba.phone_id)
                .business_public_key("-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----\n")
                .send()
                .await,
            "InvalidParametersException",
        )?,
    ])
}

pub async fn create_dataset(ctx: &Ctx) -> Outcome {
    let waba = linked(ctx).await?;
    let first = ok(
        "CreateWhatsAppDataset",
        ctx.client.create_whats_app_dataset().id(&waba.waba_id).send().await,
    )?;
    let again = ok(
        "CreateWhatsAppDataset",
        ctx.client.create_whats_app_dataset().id(&waba.waba_arn).send().await,
    )?;
    check(first.dataset_id() == again.dataset_id(), || {
        format!("not idempotent: {} then {}", first.dataset_id(), again.dataset_id())
    })?;
    Ok(format!("dataset {} of {}", first.dataset_id(), waba.waba_id))
}

/// A purchase attributed to a click-to-WhatsApp ad, sent to the WABA's dataset.
pub async fn conversion_event(ctx: &Ctx) -> Outcome {
    let c = &ctx.client;
    let waba = linked(ctx).await?;
    let dataset =
        ok("CreateWhatsAppDataset", c.create_whats_app_dataset().id(&waba.waba_id).send().await)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64;
    let payload = json!({ "data": [{
        "event_name": "Purchase",
        "event_time": now - 60,
        "action_source": "business_messaging",
        "messaging_channel": "whatsapp",
        "user_data": {
            "whatsapp_business_account_id": waba.meta_waba_id,
            "ctwa_clid": "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0-eM-GABDLOPaOdRMv-_zfUQ2a"
        },
        "custom_data": { "currency": "USD", "value": 142.52 }
    }], "partner_agent": "eum-social-conformance" });
    let sent = ok(
        "SendWhatsAppConversionEvent",
        c.send_whats_app_conversion_event()
            .id(&waba.waba_id)
            .dataset_id(dataset.dataset_id())
            .event_data(blob(&payload))
            .send()
            .await,
    )?;
    done(vec![
        format!("event accepted as {}", sent.request_id()),
        expect_error(
            "SendWhatsAppConversionEvent",
            c.send_whats_app_conversion_event()
                .id(&waba.waba_id)
                .dataset_id("1234567890123")
                .event_data(blob(&payload))
                .send()
                .await,
            "ResourceNotFoundException",
        )?,
    ])
}
