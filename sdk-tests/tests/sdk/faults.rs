//! API rate limits, fault injection and the request log, through the real SDK.

use aws_sdk_socialmessaging::Client;
use aws_sdk_socialmessaging::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_types::retry::{ErrorKind, RetryConfig};
use eum_social_emulator::limits::faults::{RuleSpec, parse_spec};
use eum_social_emulator::limits::quotas::QuotaSettings;
use eum_social_emulator::{Config, Seed};
use sdk_tests::*;
use serde_json::{Value, json};

/// A client like `client()` but with the SDK's default (standard) retry policy.
fn retrying_client(emu: &Emulator) -> Client {
    let base = client(emu);
    let config = base.config().to_builder().retry_config(RetryConfig::standard()).build();
    Client::from_conf(config)
}

async fn list_tags(client: &Client, arn: &str) -> Result<(), String> {
    match client.list_tags_for_resource().resource_arn(arn).send().await {
        Ok(_) => Ok(()),
        Err(e) => Err(e.into_service_error().code().unwrap_or("?").to_string()),
    }
}

async fn add_rule(control: &Control, rule: Value) -> Value {
    let (status, out) = control.try_call("POST", "/faults", Some(rule)).await;
    assert_eq!(status, 201, "{out}");
    out
}

async fn requests(control: &Control, query: &str) -> Vec<Value> {
    let out = control.call("GET", &format!("/requests?{query}"), None).await;
    out["requests"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_burst_over_the_limit_gets_exactly_the_excess_throttled() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    // A rate so low that nothing refills during the loop: only the burst passes.
    let quota = json!({ "operations": { "ListTagsForResource": { "rate": 0.001, "burst": 5 } } });
    let out = control.call("PUT", "/quotas", Some(quota)).await;
    assert_eq!(out["operations"]["ListTagsForResource"], json!({ "rate": 0.001, "burst": 5 }));
    let arn = waba_arn(ACCOUNT, REGION, WABA_1);
    let mut outcomes = Vec::new();
    for _ in 0..10 {
        outcomes.push(list_tags(&client, &arn).await);
    }
    let throttled = outcomes.iter().filter(|o| o.is_err()).count();
    assert_eq!(throttled, 5, "{outcomes:?}");
    assert!(outcomes[..5].iter().all(Result::is_ok), "the burst comes first: {outcomes:?}");
    assert!(outcomes[5..].iter().all(|o| *o == Err("ThrottledRequestException".to_string())));

    // The typed exception, its status and a message naming the operation and the rate.
    let err = client.list_tags_for_resource().resource_arn(&arn).send().await.unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(429));
    let err = err.into_service_error();
    assert!(err.is_throttled_request_exception(), "{err:?}");
    let message = err.message().unwrap_or_default();
    assert!(message.contains("ListTagsForResource") && message.contains("0.001"), "{message}");

    // Buckets are per account, Region and operation.
    let other_account = client_for(&emu, "111122223333", REGION);
    let other = other_account
        .list_tags_for_resource()
        .resource_arn(waba_arn("111122223333", REGION, WABA_1))
        .send()
        .await;
    assert!(
        !other.is_err_and(|e| e.into_service_error().is_throttled_request_exception()),
        "another account has its own bucket"
    );
    client.get_linked_whats_app_business_account().id(WABA_1).send().await.unwrap();

    let quotas = control.call("GET", "/quotas", None).await;
    assert_eq!(quotas["throttled"], 6);
    assert_eq!(quotas["source"], "control-api");
    assert_eq!(
        quotas["operations"]["SendWhatsAppMessage"],
        json!({ "rate": 1000.0, "burst": 1000 })
    );
    let logged = requests(&control, "operation=ListTagsForResource&status=429").await;
    assert_eq!(logged.len(), 6);
    assert!(logged.iter().all(|r| r["error"] == "ThrottledRequestException"));

    // Switched off at run time, the same operation passes again.
    control.call("PUT", "/quotas", Some(json!({ "enabled": false }))).await;
    assert!(list_tags(&client, &arn).await.is_ok());
    // Back on with the real figures: a fresh, full bucket.
    control.call("PUT", "/quotas", Some(json!({ "enabled": true, "real": true }))).await;
    assert!(list_tags(&client, &arn).await.is_ok());
}

#[tokio::test]
async fn the_default_retry_policy_recovers_from_throttling() {
    let emu = emulator().await;
    let control = Control::new(&emu);
    let quota =
        json!({ "operations": { "GetLinkedWhatsAppBusinessAccount": { "rate": 20, "burst": 1 } } });
    control.call("PUT", "/quotas", Some(quota)).await;
    let client = retrying_client(&emu);
    // Three calls at once against a bucket of one: two are throttled, and retried until served.
    let call = || client.get_linked_whats_app_business_account().id(WABA_1).send();
    let (a, b, c) = tokio::join!(call(), call(), call());
    for out in [a, b, c] {
        assert_eq!(
            out.expect("recovered by retrying").account().unwrap().waba_name(),
            "WECARE.DIGITAL"
        );
    }
    let throttled =
        requests(&control, "operation=GetLinkedWhatsAppBusinessAccount&status=429").await;
    assert!(!throttled.is_empty(), "the SDK did see 429s");
    let ok = requests(&control, "operation=GetLinkedWhatsAppBusinessAccount&status=200").await;
    assert_eq!(ok.len(), 3);
}

#[tokio::test]
async fn an_injected_error_is_the_typed_exception_the_operation_declares() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    let rule = add_rule(
        &control,
        json!({
            "operation": "GetLinkedWhatsAppBusinessAccount",
            "error": { "type": "DependencyException", "message": "Meta is having a bad day" },
        }),
    )
    .await;
    assert_eq!(rule["id"], 1);
    assert_eq!(rule["fired"], 0);
    let err = client.get_linked_whats_app_business_account().id(WABA_1).send().await.unwrap_err();
    let raw = err.raw_response().expect("a response");
    assert_eq!(raw.status().as_u16(), 502);
    assert_eq!(raw.headers().get("x-amzn-errortype"), Some("DependencyException"));
    assert!(raw.headers().get("x-amzn-requestid").is_some());
    let err = err.into_service_error();
    assert!(err.is_dependency_exception(), "{err:?}");
    assert_eq!(err.message(), Some("Meta is having a bad day"));
    // Other operations are untouched.
    client.list_linked_whats_app_business_accounts().send().await.unwrap();
    // Without a message, the message says it is injected.
    control.call("DELETE", "/faults", None).await;
    add_rule(&control, json!({ "operation": "ListLinkedWhatsAppBusinessAccounts", "error": { "type": "AccessDeniedException" } })).await;
    let err = client.list_linked_whats_app_business_accounts().send().await.unwrap_err();
    let err = err.into_service_error();
    assert!(err.is_access_denied_exception());
    assert_eq!(err.message(), Some("Injected fault: AccessDeniedException"));
}

#[tokio::test]
async fn first_n_and_every_nth_fire_exactly_and_are_counted() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    let arn = waba_arn(ACCOUNT, REGION, WABA_1);
    let internal = json!({ "type": "InternalServiceException" });
    add_rule(
        &control,
        json!({ "operation": "ListTagsForResource", "first": 2, "error": internal }),
    )
    .await;
    let mut outcomes = Vec::new();
    for _ in 0..4 {
        outcomes.push(list_tags(&client, &arn).await.is_ok());
    }
    assert_eq!(outcomes, [false, false, true, true]);

    control.call("DELETE", "/faults", None).await;
    let every = add_rule(
        &control,
        json!({ "operation": "ListTagsForResource", "everyNth": 3, "maxFirings": 2, "error": internal }),
    )
    .await;
    let mut outcomes = Vec::new();
    for _ in 0..9 {
        outcomes.push(list_tags(&client, &arn).await.is_ok());
    }
    assert_eq!(outcomes, [true, true, false, true, true, false, true, true, true]);
    let listed = control.call("GET", "/faults", None).await;
    let rules = listed["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0]["id"], every["id"]);
    assert_eq!(rules[0]["matched"], 9);
    assert_eq!(rules[0]["fired"], 2);
    assert_eq!(rules[0]["everyNth"], 3);

    // Deleted, it fires no more; an unknown id is a 404.
    let id = every["id"].as_u64().unwrap();
    control.call("DELETE", &format!("/faults/{id}"), None).await;
    assert_eq!(control.try_call("DELETE", &format!("/faults/{id}"), None).await.0, 404);
    assert_eq!(control.try_call("DELETE", "/faults/abc", None).await.0, 400);
    assert!(control.call("GET", "/faults", None).await["rules"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn rules_match_by_account_region_and_resource_in_either_form() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    // The phone number by ARN; requests name it by id.
    let rule = json!({
        "phoneNumberId": phone_arn(ACCOUNT, REGION, PHONE_1),
        "account": ACCOUNT,
        "region": REGION,
        "error": { "type": "ThrottledRequestException", "message": "slow down, PHONE_1" },
    });
    add_rule(&control, rule).await;
    let get_phone = |id: &'static str| {
        client.get_linked_whats_app_business_account_phone_number().id(id).send()
    };
    let err = get_phone(PHONE_1).await.unwrap_err().into_service_error();
    assert_eq!(err.message(), Some("slow down, PHONE_1"));
    get_phone(PHONE_2).await.expect("another phone number");
    let other_region = client_for(&emu, ACCOUNT, "eu-west-1");
    let other =
        other_region.get_linked_whats_app_business_account_phone_number().id(PHONE_1).send().await;
    assert!(
        other.unwrap_err().into_service_error().is_resource_not_found_exception(),
        "another Region: not matched, so the usual answer"
    );

    // A WABA rule matches requests naming the WABA (id or ARN) or one of its phone numbers.
    control.call("DELETE", "/faults", None).await;
    add_rule(
        &control,
        json!({ "wabaId": WABA_1, "error": { "type": "InvalidParametersException" } }),
    )
    .await;
    let waba_err =
        client.get_linked_whats_app_business_account().id(WABA_1).send().await.unwrap_err();
    assert!(waba_err.into_service_error().is_invalid_parameters_exception());
    assert!(list_tags(&client, &waba_arn(ACCOUNT, REGION, WABA_1)).await.is_err());
    assert!(get_phone(PHONE_1).await.is_err(), "PHONE_1 belongs to WABA_1");
    assert!(get_phone(PHONE_2).await.is_ok(), "PHONE_2 belongs to WABA_2");
    client.get_linked_whats_app_business_account().id(WABA_2).send().await.unwrap();
}

fn coin_rule() -> RuleSpec {
    parse_spec(json!({
        "operation": "ListLinkedWhatsAppBusinessAccounts",
        "probability": 0.5,
        "error": { "type": "InternalServiceException" },
    }))
    .unwrap()
}

async fn coin_flips(emu: &Emulator, n: usize) -> Vec<bool> {
    let client = client(emu);
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(client.list_linked_whats_app_business_accounts().send().await.is_ok());
    }
    out
}

#[tokio::test]
async fn a_seeded_rng_makes_probabilistic_rules_reproducible() {
    // Quotas off: 24 quick calls are over ListLinkedWhatsAppBusinessAccounts' real burst.
    let config = || Config {
        faults: vec![coin_rule()],
        seed_rng: Some(42),
        quotas: QuotaSettings::off(),
        ..Config::default()
    };
    let a = Emulator::start_with(config(), Seed::default_seed()).await.unwrap();
    let b = Emulator::start_with(config(), Seed::default_seed()).await.unwrap();
    let first = coin_flips(&a, 24).await;
    assert_eq!(first, coin_flips(&b, 24).await, "same seed, same calls, same faults");
    assert!(first.contains(&true) && first.contains(&false), "{first:?}");
    let listed = Control::new(&a).call("GET", "/faults", None).await;
    assert_eq!(listed["seedRng"], 42);
    let failures = first.iter().filter(|ok| !**ok).count();
    assert_eq!(listed["rules"][0]["fired"], failures);
    assert_eq!(listed["rules"][0]["matched"], 24);
    // A reset keeps the rules, zeroes their counts and seeds the RNG again.
    Control::new(&a).call("POST", "/reset", None).await;
    assert_eq!(coin_flips(&a, 24).await, first);
}

#[tokio::test]
async fn a_meta_error_fails_the_accepted_message_with_its_code() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    add_rule(
        &control,
        json!({
            "operation": "SendWhatsAppMessage",
            "phoneNumberId": phone_arn(ACCOUNT, REGION, PHONE_1),
            "first": 1,
            "metaError": { "code": 131026 },
        }),
    )
    .await;
    add_rule(
        &control,
        json!({
            "operation": "SendWhatsAppMessage",
            "phoneNumberId": PHONE_2,
            "metaError": { "code": 131000, "title": "Something went wrong", "details": "injected" },
        }),
    )
    .await;
    let customer = "14155550123";
    let failed = send(&client, PHONE_1, hello_world_to(customer)).await;
    let events = control.wait_events(&format!("kind=status&messageId={failed}"), 1).await;
    assert_eq!(events.len(), 1);
    let status = &entry(&events[0])["changes"][0]["value"]["statuses"][0];
    assert_eq!(status["status"], "failed");
    assert_eq!(status["errors"][0]["code"], 131026);
    assert_eq!(status["errors"][0]["title"], "Message Undeliverable");

    let custom = send(&client, PHONE_2, hello_world_to(customer)).await;
    let events = control.wait_events(&format!("kind=status&messageId={custom}"), 1).await;
    let status = &entry(&events[0])["changes"][0]["value"]["statuses"][0];
    assert_eq!(status["errors"][0]["code"], 131000);
    assert_eq!(status["errors"][0]["error_data"]["details"], "injected");

    // `first: 1`: the next message from PHONE_1 goes through.
    let fine = send(&client, PHONE_1, hello_world_to(customer)).await;
    let events = control.wait_events(&format!("kind=status&messageId={fine}"), 3).await;
    let statuses: Vec<_> = events.iter().map(|e| e["status"].as_str().unwrap_or("")).collect();
    assert_eq!(statuses, ["sent", "delivered", "read"]);
}

#[tokio::test]
async fn added_latency_then_the_normal_answer() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    add_rule(
        &control,
        json!({ "operation": "ListLinkedWhatsAppBusinessAccounts", "latencyMs": 300 }),
    )
    .await;
    let out = client.list_linked_whats_app_business_accounts().send().await.unwrap();
    assert_eq!(out.linked_accounts().len(), 2);
    let logged = requests(&control, "operation=ListLinkedWhatsAppBusinessAccounts").await;
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0]["status"], 200);
    assert_eq!(logged[0]["fault"], 1);
    assert!(logged[0]["latencyMs"].as_f64().unwrap() >= 300.0, "{}", logged[0]);
}

#[tokio::test]
async fn a_dropped_connection_is_an_io_error_for_the_sdk() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    add_rule(
        &control,
        json!({ "operation": "GetLinkedWhatsAppBusinessAccount", "first": 1, "dropConnection": true }),
    )
    .await;
    let err = client.get_linked_whats_app_business_account().id(WABA_1).send().await.unwrap_err();
    match &err {
        // hyper's "connection closed before message completed": an I/O failure the SDK
        // classes as transient (so its default policy would retry it).
        SdkError::DispatchFailure(failure) => assert!(
            failure.is_io() || failure.as_other() == Some(ErrorKind::TransientError),
            "{err:?}"
        ),
        other => panic!("expected a dispatch failure, got {other:?}"),
    }
    assert!(err.raw_response().is_none(), "no HTTP response at all");
    // The next call is answered normally (a new connection).
    client.get_linked_whats_app_business_account().id(WABA_1).send().await.unwrap();
    let dropped = requests(&control, "status=dropped").await;
    assert_eq!(dropped.len(), 1);
    assert_eq!(dropped[0]["status"], Value::Null);
    assert_eq!(dropped[0]["operation"], "GetLinkedWhatsAppBusinessAccount");
}

#[tokio::test]
async fn the_request_log_lists_and_filters_recent_requests() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    client.list_linked_whats_app_business_accounts().send().await.unwrap();
    client.get_linked_whats_app_business_account().id(WABA_1).send().await.unwrap();
    let missing = "waba-00000000000000000000000000000000";
    client.get_linked_whats_app_business_account().id(missing).send().await.unwrap_err();
    client_for(&emu, "111122223333", "eu-west-1")
        .list_linked_whats_app_business_accounts()
        .send()
        .await
        .unwrap();
    http().get(format!("{}/v1/nowhere", emu.url())).send().await.unwrap();

    let all = requests(&control, "").await;
    assert_eq!(all.len(), 5);
    let first = &all[0];
    assert_eq!(first["operation"], "ListLinkedWhatsAppBusinessAccounts");
    assert_eq!(first["account"], ACCOUNT);
    assert_eq!(first["region"], REGION);
    assert_eq!(first["status"], 200);
    assert_eq!(first["error"], Value::Null);
    assert_eq!(first["method"], "GET");
    assert!(first["requestId"].as_str().is_some_and(|id| id.len() == 36));
    assert!(first["time"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert!(first["latencyMs"].as_f64().is_some());
    assert!(all.windows(2).all(|w| w[0]["seq"].as_u64() < w[1]["seq"].as_u64()), "oldest first");
    assert_eq!(all[4]["operation"], Value::Null);
    assert_eq!(all[4]["error"], "UnknownOperationException");

    let not_found = requests(&control, "error=ResourceNotFoundException").await;
    assert_eq!(not_found.len(), 1);
    assert_eq!(not_found[0]["status"], 404);
    assert_eq!(requests(&control, "status=4xx").await.len(), 2);
    assert_eq!(
        requests(&control, "status=200&operation=GetLinkedWhatsAppBusinessAccount").await.len(),
        1
    );
    let other = requests(&control, "account=111122223333&region=eu-west-1").await;
    assert_eq!(other.len(), 1);
    let last_two = requests(&control, "limit=2").await;
    assert_eq!(last_two.len(), 2);
    assert_eq!(last_two[1]["seq"], all[4]["seq"]);
    assert_eq!(requests(&control, "error=none").await.len(), 3);
    // Control API calls are not AWS API requests: none of the above were logged.
    assert_eq!(requests(&control, "").await.len(), 5);

    for bad in ["status=abc", "limit=-1", "operation=Nope"] {
        let (status, out) = control.try_call("GET", &format!("/requests?{bad}"), None).await;
        assert_eq!(status, 400, "{bad}: {out}");
        let field = bad.split('=').next().unwrap();
        assert!(out["message"].as_str().unwrap().contains(field), "{bad}: {out}");
    }
    let cleared = control.call("DELETE", "/requests", None).await;
    assert_eq!(cleared["cleared"], 5);
    assert!(requests(&control, "").await.is_empty());
}

#[tokio::test]
async fn bad_rules_and_quota_bodies_are_400s_naming_the_field() {
    let emu = emulator().await;
    let control = Control::new(&emu);
    for (rule, field) in [
        (json!({ "operation": "SendWhatsApp", "latencyMs": 1 }), "operation"),
        (json!({ "probability": 1.5, "latencyMs": 1 }), "probability"),
        (json!({ "everyNth": 0, "latencyMs": 1 }), "everyNth"),
        (json!({ "first": "two", "latencyMs": 1 }), "first"),
        (
            json!({ "operation": "TagResource", "error": { "type": "ResourceNotFoundException" } }),
            "error.type",
        ),
        (json!({ "operation": "TagResource", "error": { "type": "Boom" } }), "error.type"),
        (json!({ "operation": "TagResource", "metaError": { "code": 131026 } }), "metaError"),
        (json!({ "wabaId": PHONE_1, "latencyMs": 1 }), "wabaId"),
        (json!({ "operation": "TagResource" }), "give what the rule does"),
        (json!({ "latencyMs": 1, "extra": true }), "extra"),
        (json!([1, 2]), "invalid rule"),
    ] {
        let (status, out) = control.try_call("POST", "/faults", Some(rule.clone())).await;
        assert_eq!(status, 400, "{rule}: {out}");
        let message = out["message"].as_str().unwrap();
        assert!(message.contains(field), "{rule}: {message}");
    }
    assert!(control.call("GET", "/faults", None).await["rules"].as_array().unwrap().is_empty());

    let before = control.call("GET", "/quotas", None).await;
    for (body, field) in [
        (json!({ "enabled": 1 }), "enabled"),
        (
            json!({ "operations": { "SendWhatsAppMessage": { "rate": 0 } } }),
            "operations.SendWhatsAppMessage.rate",
        ),
        (
            json!({ "operations": { "SendWhatsAppMessage": { "burst": -1 } } }),
            "operations.SendWhatsAppMessage.burst",
        ),
        (json!({ "operations": { "Sing": { "rate": 1 } } }), "operations.Sing"),
        (json!({ "limits": {} }), "limits"),
    ] {
        let (status, out) = control.try_call("PUT", "/quotas", Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {out}");
        let message = out["message"].as_str().unwrap();
        assert!(message.contains(field), "{body}: {message}");
    }
    assert_eq!(control.call("GET", "/quotas", None).await, before, "nothing changed");
}
