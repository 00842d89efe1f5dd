//! Phone numbers through the real SDK: details by id and ARN, call settings stored and returned.

use aws_sdk_socialmessaging::error::ProvideErrorMetadata;
use aws_sdk_socialmessaging::types::{
    WhatsAppCallHours, WhatsAppCallSettings, WhatsAppDayOfWeek, WhatsAppHolidayScheduleEntry,
    WhatsAppTimeOfDay, WhatsAppWeeklyOperatingHoursEntry,
};
use rstest::rstest;
use sdk_tests::*;

fn time(hours: i32, minutes: i32) -> WhatsAppTimeOfDay {
    WhatsAppTimeOfDay::builder().hours(hours).minutes(minutes).build().unwrap()
}

fn weekly(
    day: WhatsAppDayOfWeek,
    open: (i32, i32),
    close: (i32, i32),
) -> WhatsAppWeeklyOperatingHoursEntry {
    WhatsAppWeeklyOperatingHoursEntry::builder()
        .day_of_week(day)
        .open_time(time(open.0, open.1))
        .close_time(time(close.0, close.1))
        .build()
        .unwrap()
}

fn settings(hours: WhatsAppCallHours) -> WhatsAppCallSettings {
    WhatsAppCallSettings::builder()
        .call_enabled(true)
        .call_hours(hours)
        .call_icon_visibility("DEFAULT")
        .callback_permission_status("ENABLED")
        .build()
        .unwrap()
}

fn hours(zone: &str, entries: Vec<WhatsAppWeeklyOperatingHoursEntry>) -> WhatsAppCallHours {
    WhatsAppCallHours::builder()
        .enabled(true)
        .timezone(zone)
        .set_weekly_operating_hours(Some(entries))
        .build()
        .unwrap()
}

#[rstest]
#[case::plain_id(PHONE_1.to_string())]
#[case::arn(phone_arn(ACCOUNT, REGION, PHONE_1))]
#[tokio::test]
async fn details_by_either_id_form(#[case] id: String) {
    let emu = emulator().await;
    let out = client(&emu)
        .get_linked_whats_app_business_account_phone_number()
        .id(id)
        .send()
        .await
        .unwrap();
    assert_eq!(out.linked_whats_app_business_account_id(), Some(WABA_1));
    let phone = out.phone_number().unwrap();
    assert_eq!(phone.phone_number_id(), PHONE_1);
    assert_eq!(phone.meta_phone_number_id(), "831049713436137");
    assert_eq!(phone.display_phone_number_name(), "WECARE.DIGITAL");
    assert!(out.call_settings().is_none());
}

#[tokio::test]
async fn the_wire_body_matches_the_snapshot() {
    let emu = emulator().await;
    let body: serde_json::Value = http()
        .get(format!("{}/v1/whatsapp/waba/phone/details?id={PHONE_2}", emu.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    insta::assert_json_snapshot!("get_phone_2", body);
}

#[rstest]
#[case::unknown("phone-number-id-00000000000000000000000000000000", "not_found")]
#[case::waba_id_instead(WABA_1, "validation")]
#[case::other_account(
    "arn:aws:social-messaging:us-east-1:111122223333:phone-number-id/baa217c3f11b4ffd956f6f3afb44ce54",
    "access_denied"
)]
#[tokio::test]
async fn detail_errors_are_typed(#[case] id: &str, #[case] expected: &str) {
    let emu = emulator().await;
    let err = client(&emu)
        .get_linked_whats_app_business_account_phone_number()
        .id(id)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let matched = match expected {
        "not_found" => err.is_resource_not_found_exception(),
        "validation" => err.is_validation_exception(),
        "access_denied" => err.is_access_denied_exception(),
        _ => unreachable!(),
    };
    assert!(matched, "expected {expected}, got {err:?}");
}

#[tokio::test]
async fn call_settings_are_stored_and_returned() {
    let emu = emulator().await;
    let client = client(&emu);
    let mut call_hours = hours(
        "Asia/Kolkata",
        vec![
            weekly(WhatsAppDayOfWeek::Monday, (9, 0), (13, 0)),
            weekly(WhatsAppDayOfWeek::Monday, (14, 0), (17, 30)),
            weekly(WhatsAppDayOfWeek::Friday, (10, 15), (16, 45)),
        ],
    );
    call_hours.holiday_schedule = Some(vec![
        WhatsAppHolidayScheduleEntry::builder()
            .date("2026-12-25")
            .start_time(time(0, 0))
            .end_time(time(23, 59))
            .build()
            .unwrap(),
    ]);
    let sent = settings(call_hours);
    let out = client
        .update_linked_whats_app_business_account_phone_number()
        .id(phone_arn(ACCOUNT, REGION, PHONE_1))
        .call_settings(sent.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(out.phone_number_id(), PHONE_1);
    let got = client
        .get_linked_whats_app_business_account_phone_number()
        .id(PHONE_1)
        .send()
        .await
        .unwrap();
    assert_eq!(got.call_settings(), Some(&sent));
    // The other number is untouched.
    let other = client
        .get_linked_whats_app_business_account_phone_number()
        .id(PHONE_2)
        .send()
        .await
        .unwrap();
    assert!(other.call_settings().is_none());
}

#[rstest]
#[case::close_before_open(
    hours("UTC", vec![weekly(WhatsAppDayOfWeek::Tuesday, (17, 0), (9, 0))]), "closeTime"
)]
#[case::overlapping(
    hours("UTC", vec![
        weekly(WhatsAppDayOfWeek::Tuesday, (9, 0), (12, 0)),
        weekly(WhatsAppDayOfWeek::Tuesday, (11, 0), (13, 0)),
    ]),
    "overlaps"
)]
#[case::unknown_zone(hours("Mars Standard Time", vec![]), "timezone")]
#[tokio::test]
async fn meta_rules_on_call_hours_are_invalid_parameters(
    #[case] call_hours: WhatsAppCallHours,
    #[case] field: &str,
) {
    let emu = emulator().await;
    let err = client(&emu)
        .update_linked_whats_app_business_account_phone_number()
        .id(PHONE_1)
        .call_settings(settings(call_hours))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_parameters_exception(), "{err:?}");
    assert!(err.message().unwrap().contains(field), "{:?}", err.message());
}

#[tokio::test]
async fn model_constraints_on_call_hours_are_validation_errors() {
    let emu = emulator().await;
    let call_hours = hours("UTC", vec![weekly(WhatsAppDayOfWeek::Sunday, (24, 0), (25, 61))]);
    let err = client(&emu)
        .update_linked_whats_app_business_account_phone_number()
        .id(PHONE_1)
        .call_settings(settings(call_hours))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    let message = err.message().unwrap();
    assert!(message.starts_with("3 validation errors detected: "), "{message}");
    assert!(message.contains(
        "Value '24' at 'callSettings.callHours.weeklyOperatingHours.1.member.openTime.hours' \
         failed to satisfy constraint: Member must have value less than or equal to 23"
    ));
    assert!(message.contains("closeTime.minutes"));
}

#[tokio::test]
async fn update_of_an_unknown_number_is_not_found() {
    let emu = emulator().await;
    let err = client(&emu)
        .update_linked_whats_app_business_account_phone_number()
        .id("phone-number-id-ffffffffffffffffffffffffffffffff")
        .call_settings(WhatsAppCallSettings::builder().call_enabled(false).build().unwrap())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
}
