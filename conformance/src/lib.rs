//! Conformance scenarios: each drives the real `aws-sdk-socialmessaging` client against whatever
//! endpoint the environment names (`AWS_ENDPOINT_URL_SOCIALMESSAGING` / `AWS_ENDPOINT_URL`,
//! `AWS_REGION`, the usual credential chain), so the same scenarios run against the emulator or
//! the real service. Tags say what a scenario needs: `read-only` scenarios change nothing.

use std::future::Future;
use std::pin::Pin;

use aws_sdk_socialmessaging::Client;
use aws_sdk_socialmessaging::error::ProvideErrorMetadata;

pub type Outcome = Result<String, String>;
type Run = for<'a> fn(&'a Client) -> Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

pub struct Scenario {
    pub name: &'static str,
    pub tags: &'static [&'static str],
    pub run: Run,
}

/// Every scenario, in run order.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "list-linked-wabas",
            tags: &["read-only"],
            run: |c| Box::pin(list_linked_wabas(c)),
        },
        Scenario {
            name: "get-every-linked-waba-and-number",
            tags: &["read-only", "needs-linked-waba"],
            run: |c| Box::pin(get_every_linked_waba_and_number(c)),
        },
        Scenario {
            name: "unknown-waba-is-resource-not-found",
            tags: &["read-only"],
            run: |c| Box::pin(unknown_waba_is_resource_not_found(c)),
        },
        Scenario {
            name: "bad-id-is-validation-exception",
            tags: &["read-only"],
            run: |c| Box::pin(bad_id_is_validation_exception(c)),
        },
    ]
}

async fn all_waba_ids(client: &Client) -> Result<Vec<String>, String> {
    let mut ids = Vec::new();
    let mut pages = client.list_linked_whats_app_business_accounts().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("ListLinkedWhatsAppBusinessAccounts: {e:?}"))?;
        ids.extend(page.linked_accounts().iter().map(|a| a.id().to_string()));
    }
    Ok(ids)
}

async fn list_linked_wabas(client: &Client) -> Outcome {
    let ids = all_waba_ids(client).await?;
    if ids.iter().any(|id| !id.starts_with("waba-")) {
        return Err(format!("ids not in the waba-… form: {ids:?}"));
    }
    Ok(format!("{} linked WABA(s)", ids.len()))
}

async fn get_every_linked_waba_and_number(client: &Client) -> Outcome {
    let ids = all_waba_ids(client).await?;
    if ids.is_empty() {
        return Err("no linked WABA to read".into());
    }
    let mut numbers = 0;
    for id in &ids {
        let out = client
            .get_linked_whats_app_business_account()
            .id(id)
            .send()
            .await
            .map_err(|e| format!("GetLinkedWhatsAppBusinessAccount {id}: {e:?}"))?;
        let account = out.account().ok_or("no account in the output")?;
        if account.id() != id || !account.arn().contains(":waba/") {
            return Err(format!("unexpected account {account:?}"));
        }
        for phone in account.phone_numbers() {
            let detail = client
                .get_linked_whats_app_business_account_phone_number()
                .id(phone.arn())
                .send()
                .await
                .map_err(|e| format!("GetLinkedWhatsAppBusinessAccountPhoneNumber: {e:?}"))?;
            if detail.linked_whats_app_business_account_id() != Some(id.as_str()) {
                return Err(format!(
                    "phone {} is not reported under {id}",
                    phone.phone_number_id()
                ));
            }
            numbers += 1;
        }
    }
    Ok(format!("{} WABA(s), {numbers} phone number(s)", ids.len()))
}

async fn unknown_waba_is_resource_not_found(client: &Client) -> Outcome {
    let err = client
        .get_linked_whats_app_business_account()
        .id("waba-00000000000000000000000000000000")
        .send()
        .await
        .err()
        .ok_or("an unknown WABA was found")?
        .into_service_error();
    if err.is_resource_not_found_exception() {
        Ok(format!("ResourceNotFoundException: {}", err.message().unwrap_or_default()))
    } else {
        Err(format!("expected ResourceNotFoundException, got {err:?}"))
    }
}

async fn bad_id_is_validation_exception(client: &Client) -> Outcome {
    let err = client
        .get_linked_whats_app_business_account()
        .id("not-a-waba-id")
        .send()
        .await
        .err()
        .ok_or("a malformed id was accepted")?
        .into_service_error();
    if err.is_validation_exception() {
        Ok(format!("ValidationException: {}", err.message().unwrap_or_default()))
    } else {
        Err(format!("expected ValidationException, got {err:?}"))
    }
}
