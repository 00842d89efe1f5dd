//! TagResource, UntagResource and ListTagsForResource on WABAs and phone numbers.

use aws_sdk_socialmessaging::error::ProvideErrorMetadata;
use aws_sdk_socialmessaging::types::Tag;
use rstest::rstest;
use sdk_tests::*;

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build().unwrap()
}

#[rstest]
#[case::waba(waba_arn(ACCOUNT, REGION, WABA_1))]
#[case::phone_number(phone_arn(ACCOUNT, REGION, PHONE_2))]
#[tokio::test]
async fn tag_list_untag_round_trip(#[case] arn: String) {
    let emu = emulator().await;
    let client = client(&emu);
    let empty = client.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
    assert!(empty.tags().is_empty());
    assert_eq!(empty.status_code(), Some(200));

    let out = client
        .tag_resource()
        .resource_arn(&arn)
        .tags(tag("env", "test"))
        .tags(tag("owner", "team-a"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status_code(), Some(200));
    // Tagging an existing key overwrites its value.
    client.tag_resource().resource_arn(&arn).tags(tag("env", "prod")).send().await.unwrap();
    let listed = client.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
    let pairs: Vec<_> = listed.tags().iter().map(|t| (t.key(), t.value().unwrap_or(""))).collect();
    assert_eq!(pairs, vec![("env", "prod"), ("owner", "team-a")]);

    let out = client
        .untag_resource()
        .resource_arn(&arn)
        .tag_keys("env")
        .tag_keys("never-set")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status_code(), Some(200));
    let listed = client.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
    assert_eq!(listed.tags().len(), 1);
    assert_eq!(listed.tags()[0].key(), "owner");
}

#[tokio::test]
async fn tags_are_per_resource() {
    let emu = emulator().await;
    let client = client(&emu);
    let waba = waba_arn(ACCOUNT, REGION, WABA_1);
    client.tag_resource().resource_arn(&waba).tags(tag("k", "v")).send().await.unwrap();
    for other in [waba_arn(ACCOUNT, REGION, WABA_2), phone_arn(ACCOUNT, REGION, PHONE_1)] {
        let listed = client.list_tags_for_resource().resource_arn(other).send().await.unwrap();
        assert!(listed.tags().is_empty());
    }
}

#[tokio::test]
async fn at_most_fifty_tags_per_resource() {
    let emu = emulator().await;
    let client = client(&emu);
    let arn = waba_arn(ACCOUNT, REGION, WABA_1);
    let fifty: Vec<Tag> = (0..50).map(|i| tag(&format!("k{i}"), "v")).collect();
    client.tag_resource().resource_arn(&arn).set_tags(Some(fifty)).send().await.unwrap();
    let err = client
        .tag_resource()
        .resource_arn(&arn)
        .tags(tag("one-more", "v"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    assert!(err.message().unwrap().contains("at most 50 tags"));
    let listed = client.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
    assert_eq!(listed.tags().len(), 50);
}

#[rstest]
#[case::reserved_prefix(tag("aws:created-by", "x"), "reserved prefix")]
#[case::bad_characters(tag("semi;colon", "x"), "regular expression")]
#[case::key_too_long(tag(&"k".repeat(129), "x"), "length less than or equal to 128")]
#[case::value_too_long(tag("k", &"v".repeat(257)), "length less than or equal to 256")]
#[tokio::test]
async fn tag_rules_are_validation_errors(#[case] bad: Tag, #[case] needle: &str) {
    let emu = emulator().await;
    let err = client(&emu)
        .tag_resource()
        .resource_arn(waba_arn(ACCOUNT, REGION, WABA_1))
        .tags(bad)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    assert!(err.message().unwrap().contains(needle), "{:?}", err.message());
}

#[rstest]
#[case::unknown_waba(
    "arn:aws:social-messaging:us-east-1:809904170947:waba/ffffffffffffffffffffffffffffffff",
    "invalid_parameters"
)]
#[case::other_service("arn:aws:sns:us-east-1:809904170947:topic", "invalid_parameters")]
#[case::other_account(
    "arn:aws:social-messaging:us-east-1:111122223333:waba/0aae9cf04cf24c66960f291c793359b4",
    "access_denied"
)]
#[case::not_an_arn("waba-0aae9cf04cf24c66960f291c793359b4", "validation")]
#[tokio::test]
async fn resource_errors_are_typed_for_every_tag_operation(
    #[case] arn: &str,
    #[case] expected: &str,
) {
    let emu = emulator().await;
    let client = client(&emu);
    let errors = [
        client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .unwrap_err()
            .into_service_error()
            .meta()
            .clone(),
        client
            .tag_resource()
            .resource_arn(arn)
            .tags(tag("k", "v"))
            .send()
            .await
            .unwrap_err()
            .into_service_error()
            .meta()
            .clone(),
        client
            .untag_resource()
            .resource_arn(arn)
            .tag_keys("k")
            .send()
            .await
            .unwrap_err()
            .into_service_error()
            .meta()
            .clone(),
    ];
    let code = match expected {
        "invalid_parameters" => "InvalidParametersException",
        "access_denied" => "AccessDeniedException",
        "validation" => "ValidationException",
        _ => unreachable!(),
    };
    for e in errors {
        assert_eq!(e.code(), Some(code), "{e:?}");
    }
}

#[tokio::test]
async fn typed_errors_from_tag_resource() {
    let emu = emulator().await;
    let err = client(&emu)
        .tag_resource()
        .resource_arn(
            "arn:aws:social-messaging:us-east-1:809904170947:waba/ffffffffffffffffffffffffffffffff",
        )
        .tags(tag("k", "v"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_parameters_exception());
}

#[tokio::test]
async fn tags_disappear_with_the_waba() {
    let emu = emulator().await;
    let client = client(&emu);
    let id = link_waba(&client, "short-lived").await;
    let arn = waba_arn(ACCOUNT, REGION, &id);
    client.tag_resource().resource_arn(&arn).tags(tag("k", "v")).send().await.unwrap();
    client.disassociate_whats_app_business_account().id(&id).send().await.unwrap();
    let err = client
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_parameters_exception());
}
