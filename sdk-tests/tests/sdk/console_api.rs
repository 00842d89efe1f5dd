//! The control API the web console is a client of: partitions, WABAs, conversations and their
//! pages, media bytes, the live stream, the console's files and their security headers.

use std::time::Duration;

use sdk_tests::*;
use serde_json::{Value, json};

const CUSTOMER: &str = "14255550150";

#[tokio::test]
async fn accounts_and_wabas_list_what_has_state() {
    let emulator = emulator().await;
    let control = Control::new(&emulator);
    let accounts = control.call("GET", "/accounts", None).await;
    assert_eq!(accounts["defaultAccount"], ACCOUNT);
    assert_eq!(accounts["defaultRegion"], REGION);
    let list = accounts["accounts"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{accounts}");
    assert_eq!(list[0]["account"], ACCOUNT);
    assert_eq!(list[0]["wabas"], 2);
    assert_eq!(list[0]["phoneNumbers"], 2);

    // Another account's reads leave no state; linking a WABA makes its partition.
    let other = client_for(&emulator, "111122223333", "eu-west-1");
    other.list_linked_whats_app_business_accounts().send().await.unwrap();
    let accounts = control.call("GET", "/accounts", None).await;
    assert_eq!(accounts["accounts"].as_array().unwrap().len(), 1, "{accounts}");
    link_waba(&other, "EAAother-account-token").await;
    let accounts = control.call("GET", "/accounts", None).await;
    assert!(
        accounts["accounts"].as_array().unwrap().iter().any(|a| a["account"] == "111122223333"
            && a["region"] == "eu-west-1"
            && a["wabas"] == 1),
        "{accounts}"
    );

    let wabas = control.call("GET", "/wabas", None).await;
    let wabas = wabas["wabas"].as_array().unwrap();
    let first = wabas.iter().find(|w| w["wabaId"] == WABA_1).expect("WABA 1");
    assert_eq!(first["name"], "WECARE.DIGITAL");
    assert_eq!(first["arn"], waba_arn(ACCOUNT, REGION, WABA_1));
    let phone = &first["phoneNumbers"][0];
    assert_eq!(phone["phoneNumberId"], PHONE_1);
    assert_eq!(phone["displayPhoneNumber"], "+91 93309 94400");
    assert_eq!(phone["messagingLimitTier"], "TIER_2K");
    assert_eq!(phone["businessPortfolioId"], "1019283746556473");
    let empty = control.call("GET", "/wabas?account=111122223333&region=ap-south-1", None).await;
    assert_eq!(empty["wabas"], json!([]));
}

#[tokio::test]
async fn conversations_show_last_message_unread_count_and_window() {
    let emulator = emulator().await;
    let (client, control) = (client(&emulator), Control::new(&emulator));
    control.freeze(true).await;
    let first = control.customer_says(PHONE_1, "+1 425 555 0150", "Hi, is my order ready?").await;
    control.customer_says(PHONE_1, CUSTOMER, "Hello?").await;
    let message_id = send(&client, PHONE_1, text_to(CUSTOMER, "*Yes*, it is")).await;

    let list = control.call("GET", &format!("/conversations?phoneNumberId={PHONE_1}"), None).await;
    let conversations = list["conversations"].as_array().unwrap();
    assert_eq!(conversations.len(), 1, "{list}");
    let c = &conversations[0];
    assert_eq!(c["customer"], CUSTOMER);
    assert_eq!(c["profileName"], "Diego");
    assert_eq!(c["unread"], 2);
    assert_eq!(c["messages"], 3);
    assert_eq!(c["window"]["open"], true);
    let now = list["nowMs"].as_i64().unwrap();
    assert_eq!(c["window"]["expiresAtMs"].as_i64().unwrap(), now + 24 * 3_600_000);
    assert_eq!(c["lastMessage"]["direction"], "outbound");
    assert_eq!(c["lastMessage"]["messageId"], message_id.as_str());
    assert_eq!(c["lastMessage"]["status"], "accepted");
    assert_eq!(c["lastMessage"]["message"]["text"]["body"], "*Yes*, it is");

    // The business marks the first message read: one unread left.
    send(
        &client,
        PHONE_1,
        message_blob(
            json!({"messaging_product": "whatsapp", "status": "read", "message_id": first}),
        ),
    )
    .await;
    let list = control.call("GET", &format!("/conversations?phoneNumberId={PHONE_1}"), None).await;
    assert_eq!(list["conversations"][0]["unread"], 1);

    // 25 hours later the window is closed.
    control.advance_seconds(25.0 * 3600.0).await;
    let list = control.call("GET", &format!("/conversations?phoneNumberId={PHONE_1}"), None).await;
    assert_eq!(list["conversations"][0]["window"]["open"], false);
    assert_eq!(list["conversations"][0]["lastMessage"]["status"], "read");

    // The other number has none; an unknown number is a 404 naming it.
    let other = control.call("GET", &format!("/conversations?phoneNumberId={PHONE_2}"), None).await;
    assert_eq!(other["conversations"], json!([]));
    let (status, body) =
        control.try_call("GET", "/conversations?phoneNumberId=phone-number-id-nope", None).await;
    assert_eq!(status, 404);
    assert!(body["message"].as_str().unwrap().contains("phone-number-id-nope"), "{body}");
    let (status, body) = control.try_call("GET", "/conversations", None).await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("phoneNumberId"), "{body}");
}

#[tokio::test]
async fn a_thread_pages_back_from_the_newest_and_carries_statuses_and_templates() {
    let emulator = emulator_without_quotas().await;
    let (client, control) = (client(&emulator), Control::new(&emulator));
    control.customer_says(PHONE_1, CUSTOMER, "message 0").await;
    for i in 1..120 {
        control.customer_says(PHONE_1, CUSTOMER, &format!("message {i}")).await;
    }
    let template_id = send(&client, PHONE_1, hello_world_to(CUSTOMER)).await;
    control.settle().await;

    let page = control.call("GET", &format!("/conversations/{PHONE_1}/{CUSTOMER}"), None).await;
    assert_eq!(page["total"], 121);
    assert_eq!(page["hasMore"], true);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 50);
    assert_eq!(items[0]["message"]["text"]["body"], "message 71");
    let last = &items[49];
    assert_eq!(last["messageId"], template_id.as_str());
    assert_eq!(last["type"], "template");
    assert_eq!(last["template"]["name"], "hello_world");
    assert_eq!(last["template"]["components"][0]["type"], "HEADER", "{last}");

    // Page up from the first item, then to the start.
    let before = items[0]["wamid"].as_str().unwrap();
    let older = control
        .call("GET", &format!("/conversations/{PHONE_1}/{CUSTOMER}?limit=60&before={before}"), None)
        .await;
    let older_items = older["items"].as_array().unwrap();
    assert_eq!(older_items.len(), 60);
    assert_eq!(older_items[59]["message"]["text"]["body"], "message 70");
    assert_eq!(older["hasMore"], true);
    let before = older_items[0]["wamid"].as_str().unwrap();
    let oldest = control
        .call("GET", &format!("/conversations/{PHONE_1}/+{CUSTOMER}?before={before}"), None)
        .await;
    assert_eq!(oldest["items"].as_array().unwrap().len(), 11);
    assert_eq!(oldest["items"][0]["message"]["text"]["body"], "message 0");
    assert_eq!(oldest["items"][0]["direction"], "inbound");
    assert_eq!(oldest["hasMore"], false);

    // Statuses as they happen: the template's sent -> delivered -> read once the timers ran.
    control.advance_seconds(5.0).await;
    control.settle().await;
    let page =
        control.call("GET", &format!("/conversations/{PHONE_1}/{CUSTOMER}?limit=1"), None).await;
    let item = &page["items"][0];
    assert_eq!(item["status"], "read");
    let names: Vec<&str> = item["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["accepted", "sent", "delivered", "read"]);

    let (status, body) = control
        .try_call("GET", &format!("/conversations/{PHONE_1}/{CUSTOMER}?before=wamid.nope"), None)
        .await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("before"), "{body}");
    let (status, _) = control
        .try_call("GET", &format!("/conversations/{PHONE_1}/{CUSTOMER}?limit=0"), None)
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_failed_send_shows_metas_error_in_the_thread() {
    let emulator = emulator().await;
    let (client, control) = (client(&emulator), Control::new(&emulator));
    // No window: a free-form text fails with 131047.
    let id = send(&client, PHONE_1, text_to(CUSTOMER, "hello")).await;
    control.advance_seconds(5.0).await;
    control.wait_events(&format!("messageId={id}&status=failed"), 1).await;
    let page = control.call("GET", &format!("/conversations/{PHONE_1}/{CUSTOMER}"), None).await;
    let item = &page["items"][0];
    assert_eq!(item["status"], "failed");
    let error = &item["statuses"].as_array().unwrap().last().unwrap()["error"];
    assert_eq!(error["code"], 131047);
    assert_eq!(error["title"], "Re-engagement message");
}

#[tokio::test]
async fn inbound_media_bytes_are_served_with_their_type() {
    use base64::Engine;
    let emulator = emulator().await;
    let control = Control::new(&emulator);
    let png = include_bytes!("../../../fixtures/media/sample.png");
    let out = control
        .call(
            "POST",
            "/inbound",
            Some(json!({
                "phoneNumberId": PHONE_1, "from": CUSTOMER, "type": "image",
                "image": {"caption": "my receipt"},
                "file": {"base64": base64::engine::general_purpose::STANDARD.encode(png), "mimeType": "image/png"},
            })),
        )
        .await;
    let entry = entry(&out["event"]);
    let media_id = entry["changes"][0]["value"]["messages"][0]["image"]["id"].as_str().unwrap();
    let url = format!("{}/_emulator/media/{media_id}?phoneNumberId={PHONE_1}", emulator.url());
    let res = http().get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert!(res.headers()["content-security-policy"].to_str().unwrap().contains("sandbox"));
    assert_eq!(&res.bytes().await.unwrap()[..], &png[..]);
    // Without the number too; another number's or an unknown id is a 404.
    let res = http().get(format!("{}/_emulator/media/{media_id}", emulator.url())).send().await;
    assert_eq!(res.unwrap().status(), 200);
    let other = format!("{}/_emulator/media/{media_id}?phoneNumberId={PHONE_2}", emulator.url());
    assert_eq!(http().get(other).send().await.unwrap().status(), 404);
    let unknown = format!("{}/_emulator/media/123456789012345", emulator.url());
    assert_eq!(http().get(unknown).send().await.unwrap().status(), 404);
}

/// Reads SSE messages `(event, data)` from a stream response until `want` of them came.
async fn read_sse(res: &mut reqwest::Response, want: usize) -> Vec<(String, Value)> {
    let mut buffer = String::new();
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while out.len() < want {
        let chunk = tokio::time::timeout_at(deadline, res.chunk())
            .await
            .expect("stream message in time")
            .expect("stream readable")
            .expect("stream open");
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut event = String::new();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
            if !event.is_empty() {
                out.push((event, serde_json::from_str(&data).expect("data is JSON")));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_live_stream_says_hello_then_events_sends_and_clock_jumps() {
    let emulator = emulator().await;
    let (client, control) = (client(&emulator), Control::new(&emulator));
    control.freeze(true).await;
    let mut res = http().get(format!("{}/_emulator/stream", emulator.url())).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let hello = read_sse(&mut res, 1).await;
    assert_eq!(hello[0].0, "hello");
    assert_eq!(hello[0].1["clock"]["frozen"], true);
    let seq = hello[0].1["seq"].as_u64().unwrap();

    let wamid = control.customer_says(PHONE_1, CUSTOMER, "hi").await;
    let got = read_sse(&mut res, 1).await;
    assert_eq!(got[0].0, "events");
    let event = &got[0].1["events"][0];
    assert_eq!(event["kind"], "inbound");
    assert_eq!(event["wamid"], wamid.as_str());
    assert_eq!(event["seq"].as_u64().unwrap(), seq + 1);
    assert_eq!(event["phoneNumberId"], PHONE_1);

    // A send (no event until its first status, the clock being frozen) is told as `changed`.
    send(&client, PHONE_1, text_to(CUSTOMER, "hello")).await;
    let got = read_sse(&mut res, 1).await;
    assert_eq!(got[0].0, "changed", "{got:?}");
    assert_eq!(
        got[0].1["messages"].as_u64().unwrap(),
        hello[0].1["messages"].as_u64().unwrap() + 1
    );

    // The clock jumps: the statuses come as events.
    control.advance_seconds(5.0).await;
    let mut statuses = Vec::new();
    while statuses.len() < 3 {
        for (name, data) in read_sse(&mut res, 1).await {
            if name == "events" {
                for e in data["events"].as_array().unwrap() {
                    statuses.push(e["status"].as_str().unwrap_or_default().to_string());
                }
            }
        }
    }
    assert_eq!(statuses, ["sent", "delivered", "read"]);

    // A reset empties the log: the stream says resync.
    control.call("POST", "/reset", None).await;
    let got = read_sse(&mut res, 1).await;
    assert_eq!(got[0].0, "resync", "{got:?}");
}

#[tokio::test]
async fn more_events_at_once_than_a_message_lists_is_a_resync() {
    let emulator = emulator().await;
    let (client, control) = (client(&emulator), Control::new(&emulator));
    control.freeze(true).await;
    let mut res = http().get(format!("{}/_emulator/stream", emulator.url())).send().await.unwrap();
    read_sse(&mut res, 1).await;
    // 140 templates to 70 customers from two numbers (Meta allows 80/s per number): 420
    // statuses fall due at once when the clock moves.
    for i in 0..70 {
        for phone in [PHONE_1, PHONE_2] {
            send(&client, phone, hello_world_to(&format!("1425555{i:04}"))).await;
        }
    }
    let got = read_sse(&mut res, 1).await;
    assert_eq!(got[0].0, "changed", "{got:?}");
    control.advance_seconds(5.0).await;
    control.settle().await;
    let mut seen = Vec::new();
    loop {
        let got = read_sse(&mut res, 1).await;
        seen.push(got[0].0.clone());
        if got[0].0 == "resync" {
            assert_eq!(got[0].1["reason"], "lagged");
            let all = control.call("GET", "/events?limit=10000", None).await;
            let last = all["events"].as_array().unwrap().last().unwrap()["seq"].as_u64().unwrap();
            assert!(got[0].1["seq"].as_u64().unwrap() <= last);
            break;
        }
        assert!(seen.len() < 10, "no resync: {seen:?}");
    }
    // Clock moves are told even when they publish nothing.
    control.freeze(false).await;
    let got = read_sse(&mut res, 1).await;
    assert_eq!(got[0].0, "changed", "{got:?}");
    assert_eq!(got[0].1["clock"]["frozen"], false);
}

#[tokio::test]
async fn the_console_is_served_with_a_strict_policy_and_a_browser_root_redirects_to_it() {
    let emulator = emulator().await;
    let no_redirects =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build();
    let no_redirects = no_redirects.unwrap();
    let res = no_redirects
        .get(format!("{}/", emulator.url()))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection(), "{}", res.status());
    assert_eq!(res.headers()["location"], "/_emulator/ui/");
    // Not a browser: the AWS API's unknown-operation error, as before.
    let res = no_redirects.get(format!("{}/", emulator.url())).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["x-amzn-errortype"], "UnknownOperationException");

    let res = http().get(format!("{}/_emulator/ui/", emulator.url())).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe"), "{csp}");
    let html = res.text().await.unwrap();
    assert!(html.contains("app.js"), "{html}");
    assert!(!html.contains("<script>"), "no inline script: {html}");
    for file in ["app.js", "render.js", "app.css", "render.css"] {
        let res = http().get(format!("{}/_emulator/ui/{file}", emulator.url())).send().await;
        let res = res.unwrap();
        assert_eq!(res.status(), 200, "{file}");
        assert!(res.headers().contains_key("content-security-policy"));
    }
    let res = http().get(format!("{}/_emulator/ui/..%2Fsecret", emulator.url())).send().await;
    assert_eq!(res.unwrap().status(), 404);
}

#[tokio::test]
async fn with_a_control_token_the_files_are_open_and_the_data_is_not() {
    let config =
        eum_social_emulator::Config { control_token: Some("s3cret".into()), ..Default::default() };
    let emulator =
        Emulator::start_with(config, eum_social_emulator::Seed::default_seed()).await.unwrap();
    let res = http().get(format!("{}/_emulator/ui/", emulator.url())).send().await.unwrap();
    assert_eq!(res.status(), 200);
    for path in
        ["/accounts", "/wabas", "/stream", &format!("/conversations?phoneNumberId={PHONE_1}")]
    {
        let res = http().get(format!("{}/_emulator{path}", emulator.url())).send().await.unwrap();
        assert_eq!(res.status(), 401, "{path}");
    }
    let with = Control::with_token(&emulator, "s3cret");
    assert_eq!(with.call("GET", "/wabas", None).await["wabas"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn an_open_stream_does_not_hold_up_a_graceful_stop() {
    let emulator = emulator().await;
    let mut res = http().get(format!("{}/_emulator/stream", emulator.url())).send().await.unwrap();
    read_sse(&mut res, 1).await;
    tokio::time::timeout(Duration::from_secs(10), emulator.stop())
        .await
        .expect("the server stops while a console is connected")
        .expect("stopped cleanly");
    // The stream ended with the server.
    let rest = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = res.chunk().await {}
    })
    .await;
    assert!(rest.is_ok(), "the stream was closed");
}
