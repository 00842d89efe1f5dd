//! Every scenario, grouped by resource. Each one uses only the SDK client (and, for
//! `emulator-only` ones, the control API), finds what it needs by listing (the first linked WABA
//! with a phone number), and removes what it creates where the API allows.

mod accounts;
mod messaging;
mod templates_flows;

use aws_sdk_socialmessaging::Client;
use aws_smithy_types::Blob;
use serde_json::Value;

use crate::{
    Ctx, EMULATOR_ONLY, NEEDS_LINKED_WABA, Outcome, READ_ONLY, SENDS_MESSAGES, Scenario, Stop, ok,
};

macro_rules! scenario {
    ($name:literal, [$($tag:expr),*], $f:path) => {
        Scenario { name: $name, tags: &[$($tag),*], run: |ctx| Box::pin($f(ctx)) }
    };
}

/// Every scenario, in run order: read-only first, then those that change things, then the
/// emulator-only ones (the ones that move the virtual clock last).
pub fn all() -> Vec<Scenario> {
    use accounts as a;
    use messaging as m;
    use templates_flows as t;
    vec![
        // Read-only.
        scenario!("list-linked-wabas", [READ_ONLY], a::list_linked_wabas),
        scenario!(
            "get-every-linked-waba-and-number",
            [READ_ONLY, NEEDS_LINKED_WABA],
            a::get_every_linked_waba_and_number
        ),
        scenario!(
            "unknown-waba-is-resource-not-found",
            [READ_ONLY],
            a::unknown_waba_is_resource_not_found
        ),
        scenario!("bad-id-is-validation-exception", [READ_ONLY], a::bad_id_is_validation_exception),
        scenario!(
            "unknown-phone-number-is-resource-not-found",
            [READ_ONLY],
            a::unknown_phone_number_is_resource_not_found
        ),
        scenario!(
            "another-accounts-waba-is-access-denied",
            [READ_ONLY],
            a::another_accounts_waba_is_access_denied
        ),
        scenario!("list-tags-of-a-waba", [READ_ONLY, NEEDS_LINKED_WABA], a::list_tags_of_a_waba),
        scenario!(
            "tags-of-an-unknown-resource-are-invalid-parameters",
            [READ_ONLY],
            a::tags_of_an_unknown_resource
        ),
        scenario!(
            "list-and-get-templates",
            [READ_ONLY, NEEDS_LINKED_WABA],
            t::list_and_get_templates
        ),
        scenario!(
            "unknown-template-is-resource-not-found",
            [READ_ONLY, NEEDS_LINKED_WABA],
            t::unknown_template
        ),
        scenario!(
            "list-the-template-library",
            [READ_ONLY, NEEDS_LINKED_WABA],
            t::list_the_template_library
        ),
        scenario!("list-flows", [READ_ONLY, NEEDS_LINKED_WABA], t::list_flows),
        scenario!(
            "unknown-flow-is-resource-not-found",
            [READ_ONLY, NEEDS_LINKED_WABA],
            t::unknown_flow
        ),
        scenario!("get-call-permission", [READ_ONLY, NEEDS_LINKED_WABA], m::get_call_permission),
        scenario!(
            "unknown-media-is-resource-not-found",
            [READ_ONLY, NEEDS_LINKED_WABA],
            m::unknown_media
        ),
        // Changes things, and undoes them where the API allows.
        scenario!("tag-and-untag-a-waba", [NEEDS_LINKED_WABA], a::tag_and_untag_a_waba),
        scenario!("put-event-destinations", [NEEDS_LINKED_WABA], a::put_event_destinations),
        scenario!(
            "update-phone-number-call-settings",
            [NEEDS_LINKED_WABA],
            a::update_phone_number_call_settings
        ),
        scenario!("template-create-get-delete", [NEEDS_LINKED_WABA], t::template_create_get_delete),
        scenario!("template-from-the-library", [NEEDS_LINKED_WABA], t::template_from_the_library),
        scenario!(
            "authentication-template-as-meta-stores-it",
            [NEEDS_LINKED_WABA],
            t::authentication_template_as_meta_stores_it
        ),
        scenario!("flow-lifecycle", [NEEDS_LINKED_WABA], t::flow_lifecycle),
        scenario!("flow-delete-a-draft", [NEEDS_LINKED_WABA], t::flow_delete_a_draft),
        scenario!("flow-edit-after-publishing", [NEEDS_LINKED_WABA], t::flow_edit_after_publishing),
        scenario!("flow-status-events", [EMULATOR_ONLY, NEEDS_LINKED_WABA], t::flow_status_events),
        scenario!("business-public-key", [NEEDS_LINKED_WABA], m::business_public_key),
        scenario!("create-dataset", [NEEDS_LINKED_WABA], m::create_dataset),
        scenario!(
            "malformed-message-is-invalid-parameters",
            [NEEDS_LINKED_WABA, SENDS_MESSAGES],
            m::malformed_message
        ),
        // The emulator only: the control API plays the customer, Meta and the clock.
        scenario!("signup-link-and-disassociate", [EMULATOR_ONLY], a::signup_link_and_disassociate),
        scenario!("the-26th-waba-is-limit-exceeded", [EMULATOR_ONLY], a::waba_limit),
        scenario!(
            "customer-writes-business-replies",
            [EMULATOR_ONLY, NEEDS_LINKED_WABA, SENDS_MESSAGES],
            m::customer_writes_business_replies
        ),
        scenario!(
            "media-round-trip",
            [EMULATOR_ONLY, NEEDS_LINKED_WABA, SENDS_MESSAGES],
            m::media_round_trip
        ),
        scenario!("conversion-event", [EMULATOR_ONLY, NEEDS_LINKED_WABA], m::conversion_event),
        scenario!(
            "call-connect-conflict-terminate",
            [EMULATOR_ONLY, NEEDS_LINKED_WABA, SENDS_MESSAGES],
            m::call_connect_conflict_terminate
        ),
        scenario!(
            "template-review-then-send",
            [EMULATOR_ONLY, NEEDS_LINKED_WABA, SENDS_MESSAGES],
            t::template_review_then_send
        ),
    ]
}

/// The first linked WABA that has a phone number.
pub(crate) struct Linked {
    pub waba_id: String,
    pub waba_arn: String,
    /// Meta's WABA id.
    pub meta_waba_id: String,
    pub phone_id: String,
    pub phone_arn: String,
}

pub(crate) async fn all_waba_ids(client: &Client) -> Result<Vec<String>, String> {
    let mut ids = Vec::new();
    let mut pages = client.list_linked_whats_app_business_accounts().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = ok("ListLinkedWhatsAppBusinessAccounts", page)?;
        ids.extend(page.linked_accounts().iter().map(|a| a.id().to_string()));
    }
    Ok(ids)
}

pub(crate) async fn linked(ctx: &Ctx) -> Result<Linked, Stop> {
    for id in all_waba_ids(&ctx.client).await? {
        let out = ok(
            "GetLinkedWhatsAppBusinessAccount",
            ctx.client.get_linked_whats_app_business_account().id(&id).send().await,
        )?;
        let Some(account) = out.account() else { continue };
        if let Some(phone) = account.phone_numbers().first() {
            return Ok(Linked {
                waba_id: account.id().to_string(),
                waba_arn: account.arn().to_string(),
                meta_waba_id: account.waba_id().to_string(),
                phone_id: phone.phone_number_id().to_string(),
                phone_arn: phone.arn().to_string(),
            });
        }
    }
    Err(Stop::Skip("no linked WABA with a phone number".into()))
}

/// A short suffix that makes names of this run unique (base 36 of the epoch milliseconds).
pub(crate) fn unique() -> String {
    let mut n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let mut out = Vec::new();
    while n > 0 {
        out.push(b"0123456789abcdefghijklmnopqrstuvwxyz"[(n % 36) as usize]);
        n /= 36;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

pub(crate) fn blob(value: &Value) -> Blob {
    Blob::new(value.to_string().into_bytes())
}

/// Joins the lines of a scenario's detail.
pub(crate) fn done(lines: Vec<String>) -> Outcome {
    Ok(lines.join("; "))
}
