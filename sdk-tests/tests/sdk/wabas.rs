//! Linked WABAs through the real SDK: list with pagination, get by id and by ARN, event
//! destinations, disassociate, and isolation between accounts and regions.

use aws_sdk_socialmessaging::error::ProvideErrorMetadata;
use aws_sdk_socialmessaging::types::{RegistrationStatus, WhatsAppBusinessAccountEventDestination};
use rstest::rstest;
use sdk_tests::*;

fn destination(arn: &str) -> WhatsAppBusinessAccountEventDestination {
    WhatsAppBusinessAccountEventDestination::builder().event_destination_arn(arn).build().unwrap()
}

#[tokio::test]
async fn get_returns_the_seeded_waba_with_its_phone_number() {
    let emu = emulator().await;
    let out = client(&emu).get_linked_whats_app_business_account().id(WABA_1).send().await.unwrap();
    let account = out.account().unwrap();
    assert_eq!(account.id(), WABA_1);
    assert_eq!(account.arn(), waba_arn(ACCOUNT, REGION, WABA_1));
    assert_eq!(account.waba_id(), "1347766229904230");
    assert_eq!(account.waba_name(), "WECARE.DIGITAL");
    assert_eq!(account.registration_status(), &RegistrationStatus::Complete);
    assert_eq!(account.link_date().secs(), 1730419200);
    assert_eq!(
        account.event_destinations()[0].event_destination_arn(),
        "arn:aws:sns:us-east-1:809904170947:base-wecare-digital"
    );
    let phone = &account.phone_numbers()[0];
    assert_eq!(phone.phone_number_id(), PHONE_1);
    assert_eq!(phone.arn(), phone_arn(ACCOUNT, REGION, PHONE_1));
    assert_eq!(phone.phone_number(), "+919330994400");
    assert_eq!(phone.display_phone_number(), "+91 93309 94400");
    assert_eq!(phone.meta_phone_number_id(), "831049713436137");
    assert_eq!(phone.quality_rating(), "GREEN");
}

#[tokio::test]
async fn the_wire_bodies_match_the_snapshots() {
    let emu = emulator().await;
    let get: serde_json::Value = http()
        .get(format!("{}/v1/whatsapp/waba/details?id={WABA_2}", emu.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    insta::assert_json_snapshot!("get_linked_waba_2", get);
    let list: serde_json::Value = http()
        .get(format!("{}/v1/whatsapp/waba/list", emu.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    insta::assert_json_snapshot!("list_linked_wabas", list);
}

#[rstest]
#[case::plain_id(WABA_2.to_string())]
#[case::arn(waba_arn(ACCOUNT, REGION, WABA_2))]
#[tokio::test]
async fn both_id_forms_name_the_same_waba(#[case] id: String) {
    let emu = emulator().await;
    let out = client(&emu).get_linked_whats_app_business_account().id(id).send().await.unwrap();
    assert_eq!(out.account().unwrap().id(), WABA_2);
    assert_eq!(out.account().unwrap().waba_name(), "Manish Agarwal");
}

#[rstest]
#[case::unknown_id("waba-00000000000000000000000000000000", "not_found")]
#[case::arn_of_other_region(
    "arn:aws:social-messaging:eu-west-1:809904170947:waba/0aae9cf04cf24c66960f291c793359b4",
    "not_found"
)]
#[case::arn_of_other_account(
    "arn:aws:social-messaging:us-east-1:111122223333:waba/0aae9cf04cf24c66960f291c793359b4",
    "access_denied"
)]
#[case::phone_arn_as_waba(
    "arn:aws:social-messaging:us-east-1:809904170947:phone-number-id/baa217c3f11b4ffd956f6f3afb44ce54",
    "validation"
)]
#[case::not_an_id("0aae9cf04cf24c66960f291c793359b4", "validation")]
#[tokio::test]
async fn get_errors_are_typed(#[case] id: &str, #[case] expected: &str) {
    let emu = emulator().await;
    let err = client(&emu)
        .get_linked_whats_app_business_account()
        .id(id)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let matched = match expected {
        "not_found" => err.is_resource_not_found_exception(),
        "access_denied" => err.is_access_denied_exception(),
        "validation" => err.is_validation_exception(),
        _ => unreachable!(),
    };
    assert!(matched, "expected {expected}, got {err:?}");
    assert!(err.message().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn a_bad_id_pattern_is_reported_like_aws() {
    let emu = emulator().await;
    let err = client(&emu)
        .get_linked_whats_app_business_account()
        .id("not-a-waba")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception());
    assert_eq!(
        err.message().unwrap(),
        "1 validation error detected: Value 'not-a-waba' at 'id' failed to satisfy constraint: \
         Member must satisfy regular expression pattern: \
         .*(^waba-.*$)|(^arn:.*:waba/[0-9a-zA-Z]+$).*"
    );
}

#[tokio::test]
async fn pagination_walks_every_waba_once_with_stable_tokens() {
    let emu = emulator_without_quotas().await;
    let client = client(&emu);
    for i in 0..5 {
        link_waba(&client, &format!("token-{i}")).await;
    }
    // Page by page by hand: 7 WABAs in pages of 2 → 2, 2, 2, 1, no token on the last page.
    let mut sizes = Vec::new();
    let mut ids = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_linked_whats_app_business_accounts()
            .max_results(2)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        sizes.push(page.linked_accounts().len());
        ids.extend(page.linked_accounts().iter().map(|a| a.id().to_string()));
        match page.next_token() {
            Some(t) => {
                // The same token gives the same page again.
                let again = client
                    .list_linked_whats_app_business_accounts()
                    .max_results(2)
                    .next_token(t)
                    .send()
                    .await
                    .unwrap();
                let next: Vec<_> = again.linked_accounts().iter().map(|a| a.id()).collect();
                assert_eq!(next.len(), 2.min(7 - ids.len()));
                token = Some(t.to_string());
            }
            None => break,
        }
    }
    assert_eq!(sizes, vec![2, 2, 2, 1]);
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 7);
    assert!(ids.contains(&WABA_1.to_string()) && ids.contains(&WABA_2.to_string()));

    // The SDK's paginator collects the same set.
    let all: Vec<_> = client
        .list_linked_whats_app_business_accounts()
        .max_results(3)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(all.len(), 7);

    // Without maxResults every WABA fits in one page (at most 25 exist per Region).
    let one = client.list_linked_whats_app_business_accounts().send().await.unwrap();
    assert_eq!(one.linked_accounts().len(), 7);
    assert!(one.next_token().is_none());
}

#[rstest]
#[case::garbage("not-a-token")]
#[case::other_listing("bGlzdC1vZi1zb21ldGhpbmctZWxzZQp4")]
#[tokio::test]
async fn an_invalid_next_token_is_a_validation_error(#[case] token: &str) {
    let emu = emulator().await;
    let err = client(&emu)
        .list_linked_whats_app_business_accounts()
        .next_token(token)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    assert!(err.message().unwrap().contains("nextToken"));
}

#[rstest]
#[case(0)]
#[case(101)]
#[tokio::test]
async fn max_results_out_of_range_is_a_validation_error(#[case] max: i32) {
    let emu = emulator().await;
    let err = client(&emu)
        .list_linked_whats_app_business_accounts()
        .max_results(max)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    assert!(err.message().unwrap().contains("'maxResults'"));
}

#[tokio::test]
async fn event_destinations_are_replaced_and_reflected() {
    let emu = emulator().await;
    let client = client(&emu);
    let connect =
        "arn:aws:connect:us-east-1:809904170947:instance/8f2bd9a3-4d2e-4a5b-9c1f-0e7d6b5a4c3b";
    client
        .put_whats_app_business_account_event_destinations()
        .id(waba_arn(ACCOUNT, REGION, WABA_1))
        .event_destinations(
            WhatsAppBusinessAccountEventDestination::builder()
                .event_destination_arn(connect)
                .role_arn("arn:aws:iam::809904170947:role/eum-connect")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let got = client.get_linked_whats_app_business_account().id(WABA_1).send().await.unwrap();
    let dest = &got.account().unwrap().event_destinations()[0];
    assert_eq!(dest.event_destination_arn(), connect);
    assert_eq!(dest.role_arn(), Some("arn:aws:iam::809904170947:role/eum-connect"));

    // An empty list removes the destination; List shows it too.
    client
        .put_whats_app_business_account_event_destinations()
        .id(WABA_1)
        .set_event_destinations(Some(vec![]))
        .send()
        .await
        .unwrap();
    let list = client.list_linked_whats_app_business_accounts().send().await.unwrap();
    let waba = list.linked_accounts().iter().find(|a| a.id() == WABA_1).unwrap();
    assert!(waba.event_destinations().is_empty());
}

#[rstest]
#[case::two_destinations(
    vec!["arn:aws:sns:us-east-1:809904170947:a", "arn:aws:sns:us-east-1:809904170947:b"],
    "validation"
)]
#[case::fifo_topic(vec!["arn:aws:sns:us-east-1:809904170947:events.fifo"], "invalid_parameters")]
#[case::sqs_queue(vec!["arn:aws:sqs:us-east-1:809904170947:queue"], "invalid_parameters")]
#[case::not_an_arn(vec!["topic"], "validation")]
#[tokio::test]
async fn bad_event_destinations_are_refused(#[case] arns: Vec<&str>, #[case] expected: &str) {
    let emu = emulator().await;
    let client = client(&emu);
    let err = client
        .put_whats_app_business_account_event_destinations()
        .id(WABA_1)
        .set_event_destinations(Some(arns.iter().map(|a| destination(a)).collect()))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let matched = match expected {
        "validation" => err.is_validation_exception(),
        "invalid_parameters" => err.is_invalid_parameters_exception(),
        _ => unreachable!(),
    };
    assert!(matched, "expected {expected}, got {err:?}");
    // Nothing changed.
    let got = client.get_linked_whats_app_business_account().id(WABA_1).send().await.unwrap();
    assert_eq!(
        got.account().unwrap().event_destinations()[0].event_destination_arn(),
        "arn:aws:sns:us-east-1:809904170947:base-wecare-digital"
    );
}

#[tokio::test]
async fn event_destinations_of_an_unknown_waba_is_invalid_parameters() {
    // The operation declares no ResourceNotFoundException.
    let emu = emulator().await;
    let err = client(&emu)
        .put_whats_app_business_account_event_destinations()
        .id("waba-ffffffffffffffffffffffffffffffff")
        .set_event_destinations(Some(vec![]))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_parameters_exception(), "{err:?}");
}

#[tokio::test]
async fn disassociate_removes_the_waba_and_its_numbers() {
    let emu = emulator().await;
    let client = client(&emu);
    client.disassociate_whats_app_business_account().id(WABA_2).send().await.unwrap();
    let err = client
        .get_linked_whats_app_business_account()
        .id(WABA_2)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception());
    let err = client
        .get_linked_whats_app_business_account_phone_number()
        .id(PHONE_2)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception());
    let list = client.list_linked_whats_app_business_accounts().send().await.unwrap();
    assert_eq!(list.linked_accounts().len(), 1);
    // A second disassociate finds nothing.
    let err = client
        .disassociate_whats_app_business_account()
        .id(WABA_2)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception());
}

#[tokio::test]
async fn accounts_and_regions_are_isolated() {
    let emu = emulator().await;
    let other_account = client_for(&emu, "111122223333", REGION);
    let other_region = client_for(&emu, ACCOUNT, "eu-west-1");
    for c in [&other_account, &other_region] {
        let list = c.list_linked_whats_app_business_accounts().send().await.unwrap();
        assert!(list.linked_accounts().is_empty());
        let err = c
            .get_linked_whats_app_business_account()
            .id(WABA_1)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(err.is_resource_not_found_exception());
    }
    // A WABA linked in another account is invisible to the default one.
    let theirs = link_waba(&other_account, "their-token").await;
    let mine = client(&emu).list_linked_whats_app_business_accounts().send().await.unwrap();
    assert!(mine.linked_accounts().iter().all(|a| a.id() != theirs));
    assert_eq!(mine.linked_accounts().len(), 2);
    let err = client(&emu)
        .get_linked_whats_app_business_account()
        .id(waba_arn("111122223333", REGION, &theirs))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_access_denied_exception(), "{err:?}");
    // A non-numeric access key maps to the default account.
    let named = client_for(&emu, "AKIAIOSFODNN7EXAMPLE", REGION);
    let list = named.list_linked_whats_app_business_accounts().send().await.unwrap();
    assert_eq!(list.linked_accounts().len(), 2);
}
