//! WABAs, phone numbers, tags, event destinations and the embedded-signup flow.

use aws_sdk_socialmessaging::Client;
use aws_sdk_socialmessaging::types::{
    RegistrationStatus, Tag, WabaPhoneNumberSetupFinalization, WabaSetupFinalization,
    WhatsAppBusinessAccountEventDestination, WhatsAppCallSettings, WhatsAppSetupFinalization,
    WhatsAppSignupCallback,
};

use super::{all_waba_ids, done, linked, unique};
use crate::{Ctx, Outcome, check, expect_error, ok};

const UNKNOWN_WABA: &str = "waba-00000000000000000000000000000000";
const UNKNOWN_PHONE: &str = "phone-number-id-00000000000000000000000000000000";

pub async fn list_linked_wabas(ctx: &Ctx) -> Outcome {
    let ids = all_waba_ids(&ctx.client).await?;
    check(ids.iter().all(|id| id.starts_with("waba-")), || {
        format!("ids not in the waba-… form: {ids:?}")
    })?;
    Ok(format!("{} linked WABA(s)", ids.len()))
}

pub async fn get_every_linked_waba_and_number(ctx: &Ctx) -> Outcome {
    let client = &ctx.client;
    let ids = all_waba_ids(client).await?;
    if ids.is_empty() {
        return Err(crate::Stop::Skip("no linked WABA to read".into()));
    }
    let mut numbers = 0;
    for id in &ids {
        let out = ok(
            "GetLinkedWhatsAppBusinessAccount",
            client.get_linked_whats_app_business_account().id(id).send().await,
        )?;
        let account = out.account().ok_or("no account in the output")?;
        check(account.id() == id && account.arn().contains(":waba/"), || {
            format!("unexpected account {account:?}")
        })?;
        for phone in account.phone_numbers() {
            let detail = ok(
                "GetLinkedWhatsAppBusinessAccountPhoneNumber",
                client
                    .get_linked_whats_app_business_account_phone_number()
                    .id(phone.arn())
                    .send()
                    .await,
            )?;
            check(detail.linked_whats_app_business_account_id() == Some(id.as_str()), || {
                format!("phone {} is not reported under {id}", phone.phone_number_id())
            })?;
            numbers += 1;
        }
    }
    Ok(format!("{} WABA(s), {numbers} phone number(s)", ids.len()))
}

pub async fn unknown_waba_is_resource_not_found(ctx: &Ctx) -> Outcome {
    let c = &ctx.client;
    done(vec![
        expect_error(
            "GetLinkedWhatsAppBusinessAccount",
            c.get_linked_whats_app_business_account().id(UNKNOWN_WABA).send().await,
            "ResourceNotFoundException",
        )?,
        expect_error(
            "CreateWhatsAppDataset",
            c.create_whats_app_dataset().id(UNKNOWN_WABA).send().await,
            "ResourceNotFoundException",
        )?,
        expect_error(
            "ListWhatsAppMessageTemplates",
            c.list_whats_app_message_templates().id(UNKNOWN_WABA).send().await,
            "ResourceNotFoundException",
        )?,
        // PutWhatsAppBusinessAccountEventDestinations declares no ResourceNotFoundException.
        expect_error(
            "PutWhatsAppBusinessAccountEventDestinations",
            c.put_whats_app_business_account_event_destinations()
                .id(UNKNOWN_WABA)
                .set_event_destinations(Some(vec![]))
                .send()
                .await,
            "InvalidParametersException",
        )?,
    ])
}

pub async fn bad_id_is_validation_exception(ctx: &Ctx) -> Outcome {
    let c = &ctx.client;
    done(vec![
        expect_error(
            "GetLinkedWhatsAppBusinessAccount",
            c.get_linked_whats_app_business_account().id("not-a-waba-id").send().await,
            "ValidationException",
        )?,
        expect_error(
            "ListWhatsAppFlows",
            c.list_whats_app_flows().id("not-a-waba-id").send().await,
            "ValidationException",
        )?,
        expect_error(
            "GetWhatsAppBusinessPublicKey",
            c.get_whats_app_business_public_key().origination_phone_number_id("nope").send().await,
            "ValidationException",
        )?,
    ])
}

pub async fn unknown_phone_number_is_resource_not_found(ctx: &Ctx) -> Outcome {
    let c = &ctx.client;
    done(vec![
        expect_error(
            "GetLinkedWhatsAppBusinessAccountPhoneNumber",
            c.get_linked_whats_app_business_account_phone_number().id(UNKNOWN_PHONE).send().await,
            "ResourceNotFoundException",
        )?,
        expect_error(
            "UpdateLinkedWhatsAppBusinessAccountPhoneNumber",
            c.update_linked_whats_app_business_account_phone_number()
                .id(UNKNOWN_PHONE)
                .call_settings(call_settings(false)?)
                .send()
                .await,
            "ResourceNotFoundException",
        )?,
        expect_error(
            "GetWhatsAppBusinessPublicKey",
            c.get_whats_app_business_public_key()
                .origination_phone_number_id(UNKNOWN_PHONE)
                .send()
                .await,
            "ResourceNotFoundException",
        )?,
    ])
}

pub async fn another_accounts_waba_is_access_denied(ctx: &Ctx) -> Outcome {
    let arn =
        "arn:aws:social-messaging:us-east-1:111122223333:waba/0aae9cf04cf24c66960f291c793359b4";
    done(vec![expect_error(
        "GetLinkedWhatsAppBusinessAccount",
        ctx.client.get_linked_whats_app_business_account().id(arn).send().await,
        "AccessDeniedException",
    )?])
}

pub async fn list_tags_of_a_waba(ctx: &Ctx) -> Outcome {
    let waba = linked(ctx).await?;
    let out = ok(
        "ListTagsForResource",
        ctx.client.list_tags_for_resource().resource_arn(&waba.waba_arn).send().await,
    )?;
    Ok(format!("{} tag(s) on {}", out.tags().len(), waba.waba_id))
}

pub async fn tags_of_an_unknown_resource(ctx: &Ctx) -> Outcome {
    // The tag operations declare no ResourceNotFoundException.
    let arn =
        "arn:aws:social-messaging:us-east-1:809904170947:waba/ffffffffffffffffffffffffffffffff";
    done(vec![expect_error(
        "ListTagsForResource",
        ctx.client.list_tags_for_resource().resource_arn(arn).send().await,
        "InvalidParametersException",
    )?])
}

fn tag(key: &str, value: &str) -> Result<Tag, String> {
    Tag::builder().key(key).value(value).build().map_err(|e| e.to_string())
}

pub async fn tag_and_untag_a_waba(ctx: &Ctx) -> Outcome {
    let c = &ctx.client;
    let waba = linked(ctx).await?;
    let key = "eum-conformance";
    let value = unique();
    ok(
        "TagResource",
        c.tag_resource().resource_arn(&waba.waba_arn).tags(tag(key, &value)?).send().await,
    )?;
    let listed = ok(
        "ListTagsForResource",
        c.list_tags_for_resource().resource_arn(&waba.waba_arn).send().await,
    )?;
    check(
        listed.tags().iter().any(|t| t.key() == key && t.value() == Some(value.as_str())),
        || format!("the new tag is not listed: {:?}", listed.tags()),
    )?;
    ok(
        "UntagResource",
        c.untag_resource().resource_arn(&waba.waba_arn).tag_keys(key).send().await,
    )?;
    let listed = ok(
        "ListTagsForResource",
        c.list_tags_for_resource().resource_arn(&waba.waba_arn).send().await,
    )?;
    check(listed.tags().iter().all(|t| t.key() != key), || {
        format!("the tag is still listed: {:?}", listed.tags())
    })?;
    let too_long = "k".repeat(129);
    let validation = expect_error(
        "TagResource",
        c.tag_resource().resource_arn(&waba.waba_arn).tags(tag(&too_long, "v")?).send().await,
        "ValidationException",
    )?;
    done(vec![format!("tagged and untagged {}", waba.waba_id), validation])
}

pub async fn put_event_destinations(ctx: &Ctx) -> Outcome {
    let c = &ctx.client;
    let waba = linked(ctx).await?;
    let before = ok(
        "GetLinkedWhatsAppBusinessAccount",
        c.get_linked_whats_app_business_account().id(&waba.waba_id).send().await,
    )?;
    let current = before.account().ok_or("no account")?.event_destinations().to_vec();
    // Putting the same destinations back changes nothing.
    ok(
        "PutWhatsAppBusinessAccountEventDestinations",
        c.put_whats_app_business_account_event_destinations()
            .id(&waba.waba_id)
            .set_event_destinations(Some(current.clone()))
            .send()
            .await,
    )?;
    let sqs = WhatsAppBusinessAccountEventDestination::builder()
        .event_destination_arn("arn:aws:sqs:us-east-1:809904170947:not-a-topic")
        .build()
        .map_err(|e| e.to_string())?;
    let refused = expect_error(
        "PutWhatsAppBusinessAccountEventDestinations",
        c.put_whats_app_business_account_event_destinations()
            .id(&waba.waba_id)
            .event_destinations(sqs)
            .send()
            .await,
        "InvalidParametersException",
    )?;
    let after = ok(
        "GetLinkedWhatsAppBusinessAccount",
        c.get_linked_whats_app_business_account().id(&waba.waba_id).send().await,
    )?;
    check(after.account().ok_or("no account")?.event_destinations() == current.as_slice(), || {
        "the destinations changed".into()
    })?;
    done(vec![format!("{} destination(s) put back", current.len()), refused])
}

pub(crate) fn call_settings(enabled: bool) -> Result<WhatsAppCallSettings, String> {
    WhatsAppCallSettings::builder()
        .call_enabled(enabled)
        .callback_permission_status("DISABLED")
        .build()
        .map_err(|e| e.to_string())
}

pub async fn update_phone_number_call_settings(ctx: &Ctx) -> Outcome {
    let c = &ctx.client;
    let waba = linked(ctx).await?;
    let before = ok(
        "GetLinkedWhatsAppBusinessAccountPhoneNumber",
        c.get_linked_whats_app_business_account_phone_number().id(&waba.phone_id).send().await,
    )?;
    let previous = before.call_settings().cloned();
    let out = ok(
        "UpdateLinkedWhatsAppBusinessAccountPhoneNumber",
        c.update_linked_whats_app_business_account_phone_number()
            .id(&waba.phone_arn)
            .call_settings(call_settings(false)?)
            .send()
            .await,
    )?;
    check(out.phone_number_id() == waba.phone_id, || format!("answered for {out:?}"))?;
    let got = ok(
        "GetLinkedWhatsAppBusinessAccountPhoneNumber",
        c.get_linked_whats_app_business_account_phone_number().id(&waba.phone_id).send().await,
    )?;
    check(got.call_settings().is_some_and(|s| !s.call_enabled()), || {
        format!("the call settings were not stored: {:?}", got.call_settings())
    })?;
    if let Some(previous) = previous {
        ok(
            "UpdateLinkedWhatsAppBusinessAccountPhoneNumber",
            c.update_linked_whats_app_business_account_phone_number()
                .id(&waba.phone_id)
                .call_settings(previous)
                .send()
                .await,
        )?;
    }
    Ok(format!("call settings of {} updated", waba.phone_id))
}

/// Both phases of the embedded signup for `token`; the linked `waba-…` id.
pub(crate) async fn link_waba(client: &Client, token: &str) -> Result<String, String> {
    let started = ok(
        "AssociateWhatsAppBusinessAccount",
        client
            .associate_whats_app_business_account()
            .signup_callback(
                WhatsAppSignupCallback::builder()
                    .access_token(token)
                    .build()
                    .map_err(|e| e.to_string())?,
            )
            .send()
            .await,
    )?;
    let result = started.signup_callback_result().ok_or("no signupCallbackResult")?;
    let in_progress = result.associate_in_progress_token().ok_or("no associateInProgressToken")?;
    let pending = result
        .linked_accounts_with_incomplete_setup()
        .and_then(|m| m.values().next())
        .ok_or("no WABA with an incomplete setup")?;
    let numbers = pending
        .unregistered_whats_app_phone_numbers()
        .iter()
        .map(|n| {
            WabaPhoneNumberSetupFinalization::builder()
                .id(n.phone_number_id())
                .two_factor_pin("123456")
                .build()
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let finished = ok(
        "AssociateWhatsAppBusinessAccount",
        client
            .associate_whats_app_business_account()
            .setup_finalization(
                WhatsAppSetupFinalization::builder()
                    .associate_in_progress_token(in_progress)
                    .set_phone_numbers(Some(numbers))
                    .waba(
                        WabaSetupFinalization::builder()
                            .set_id(pending.waba_id().map(str::to_string))
                            .build(),
                    )
                    .build()
                    .map_err(|e| e.to_string())?,
            )
            .send()
            .await,
    )?;
    Ok(finished.linked_whats_app_business_account_id().ok_or("no linked id")?.to_string())
}

pub async fn signup_link_and_disassociate(ctx: &Ctx) -> Outcome {
    let c = &ctx.client;
    let id = link_waba(c, "EAAconformance-signup").await?;
    let got = ok(
        "GetLinkedWhatsAppBusinessAccount",
        c.get_linked_whats_app_business_account().id(&id).send().await,
    )?;
    let account = got.account().ok_or("no account")?;
    check(account.registration_status() == &RegistrationStatus::Complete, || {
        format!("not COMPLETE: {account:?}")
    })?;
    ok(
        "DisassociateWhatsAppBusinessAccount",
        c.disassociate_whats_app_business_account().id(&id).send().await,
    )?;
    done(vec![
        format!("linked and disassociated {id}"),
        expect_error(
            "DisassociateWhatsAppBusinessAccount",
            c.disassociate_whats_app_business_account().id(&id).send().await,
            "ResourceNotFoundException",
        )?,
        expect_error(
            "AssociateWhatsAppBusinessAccount",
            c.associate_whats_app_business_account().send().await,
            "InvalidParametersException",
        )?,
    ])
}

/// A Region holds at most 25 WABAs: fills it, sees the 26th refused, removes what it linked.
pub async fn waba_limit(ctx: &Ctx) -> Outcome {
    let c = &ctx.client;
    let existing = all_waba_ids(c).await?.len();
    let mut linked = Vec::new();
    let mut outcome = Ok(String::new());
    for i in existing..25 {
        match link_waba(c, &format!("EAAconformance-fill-{i}")).await {
            Ok(id) => linked.push(id),
            Err(e) => {
                outcome = Err(e);
                break;
            }
        }
        // Stay well under the service's request rate for WABA operations.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    if outcome.is_ok() {
        outcome = over_the_limit(c).await;
    }
    for id in &linked {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        ok(
            "DisassociateWhatsAppBusinessAccount",
            c.disassociate_whats_app_business_account().id(id).send().await,
        )?;
    }
    Ok(format!("{} (linked and removed {})", outcome?, linked.len()))
}

async fn over_the_limit(c: &Client) -> Result<String, String> {
    let started = ok(
        "AssociateWhatsAppBusinessAccount",
        c.associate_whats_app_business_account()
            .signup_callback(
                WhatsAppSignupCallback::builder()
                    .access_token("EAAconformance-one-too-many")
                    .build()
                    .map_err(|e| e.to_string())?,
            )
            .send()
            .await,
    )?;
    let result = started.signup_callback_result().ok_or("no signupCallbackResult")?;
    let token = result.associate_in_progress_token().ok_or("no token")?;
    let phones = result
        .linked_accounts_with_incomplete_setup()
        .and_then(|m| m.values().next())
        .map(|p| p.unregistered_whats_app_phone_numbers().to_vec())
        .unwrap_or_default();
    let phone = phones.first().ok_or("no phone number to register")?;
    let finalization = WhatsAppSetupFinalization::builder()
        .associate_in_progress_token(token)
        .phone_numbers(
            WabaPhoneNumberSetupFinalization::builder()
                .id(phone.phone_number_id())
                .two_factor_pin("123456")
                .build()
                .map_err(|e| e.to_string())?,
        )
        .build()
        .map_err(|e| e.to_string())?;
    expect_error(
        "AssociateWhatsAppBusinessAccount",
        c.associate_whats_app_business_account().setup_finalization(finalization).send().await,
        "LimitExceededException",
    )
}
