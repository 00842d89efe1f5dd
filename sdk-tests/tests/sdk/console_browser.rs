//! The web console in a real browser: headless Chromium driven through chromedriver (Debian's
//! `chromium` and `chromium-driver`; `.ci/run` installs them). The app is the real SDK; the
//! person is the browser. These tests fail, never skip, when the browser cannot start.
//!
//! With `EUM_SOCIAL_SCREENSHOTS=DIR` they also save the README's screenshots in DIR.

use std::time::Duration;

use fantoccini::{Client as Browser, ClientBuilder, Locator};
use sdk_tests::*;
use serde_json::{Value, json};

const CUSTOMER: &str = "14255550150";

/// At most two browsers at once (a 2-core CI machine).
static BROWSERS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// One chromedriver with one headless Chromium session; both end when dropped.
struct Session {
    browser: Browser,
    _driver: Driver,
    _permit: tokio::sync::SemaphorePermit<'static>,
}

/// A chromedriver process, killed with its browser when dropped.
struct Driver(std::process::Child);

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver runs in its own process group: the group (driver and browser) goes.
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn program(env: &str, candidates: &[&str]) -> String {
    if let Ok(path) = std::env::var(env) {
        return path;
    }
    for c in candidates {
        if std::path::Path::new(c).exists() {
            return c.to_string();
        }
    }
    panic!(
        "{} not found (set {env}); install Debian's chromium and chromium-driver (.ci/run does)",
        candidates.join(" or ")
    );
}

async fn session() -> Session {
    use std::os::unix::process::CommandExt;
    let permit = BROWSERS.acquire().await.expect("semaphore open");
    let driver_path =
        program("CHROMEDRIVER", &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]);
    let chromium = program("CHROMIUM", &["/usr/bin/chromium", "/usr/bin/chromium-browser"]);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut driver = Driver(
        std::process::Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {driver_path}: {e}")),
    );
    started(driver.0.stdout.take().expect("piped stdout"), &driver_path).await;
    let caps: serde_json::Map<String, Value> = serde_json::from_value(json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,900", "--lang=en-US", "--no-first-run",
                     "--disable-extensions", "--disable-background-networking"],
        },
    }))
    .unwrap();
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let browser = ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap_or_else(|e| panic!("headless Chromium did not start through {driver_path}: {e}"));
    Session { browser, _driver: driver, _permit: permit }
}

/// Waits (20 s at most) until chromedriver says it listens, then keeps draining its output.
async fn started(stdout: std::process::ChildStdout, driver_path: &str) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        let mut tx = Some(tx);
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.contains("started successfully")
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(());
            }
        }
    });
    match tokio::time::timeout(Duration::from_secs(20), rx).await {
        Ok(Ok(())) => {}
        _ => panic!("{driver_path} did not start (no \"started successfully\" line in 20 s)"),
    }
}

/// Waits until a JavaScript expression is truthy (10 s), then returns its value. The page
/// itself re-checks it (on a timer in the page), so the test waits on the page, not on a sleep.
async fn until(browser: &Browser, what: &str, expression: &str) -> Value {
    let script = format!(
        "const done = arguments[arguments.length - 1];
         const deadline = Date.now() + 10000;
         const check = () => {{
           let value = null;
           try {{ value = ({expression}); }} catch (e) {{ value = null; }}
           if (value) return done({{ok: true, value}});
           if (Date.now() > deadline) {{
             return done({{ok: false, text: document.body ? document.body.innerText.slice(0, 3000) : ''}});
           }}
           setTimeout(check, 50);
         }};
         check();"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        // A page that reloads (the token form does) ends the script: wait again on the new page.
        match browser.execute_async(&script, vec![]).await {
            Ok(result) if result["ok"] == true => return result["value"].clone(),
            Ok(result) => panic!(
                "timed out waiting for {what} ({expression}); page text:\n{}",
                result["text"].as_str().unwrap_or_default()
            ),
            Err(e) if tokio::time::Instant::now() > deadline => {
                panic!("waiting for {what} failed: {e}")
            }
            Err(_) => {}
        }
    }
}

async fn click(browser: &Browser, css: &str) {
    // A live page re-renders as events come: a found element may be replaced before the click
    // lands (stale) or still be moving; find it again until it takes the click.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let found =
            browser.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css(css)).await;
        let error = match found {
            Ok(element) => match element.click().await {
                Ok(()) => return,
                Err(e) => e.to_string(),
            },
            Err(e) => e.to_string(),
        };
        if tokio::time::Instant::now() > deadline {
            panic!("cannot click {css}: {error}");
        }
    }
}

async fn type_into(browser: &Browser, css: &str, text: &str) {
    let element = browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no element {css}: {e}"));
    element.clear().await.ok();
    element.send_keys(text).await.unwrap_or_else(|e| panic!("cannot type into {css}: {e}"));
}

/// Counts Content-Security-Policy violations and calls of alert/confirm/prompt from now on.
async fn watch_page(browser: &Browser) {
    browser
        .execute(
            "window.__violations = window.__violations || [];
             window.__alerts = window.__alerts || 0;
             document.addEventListener('securitypolicyviolation',
                 e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
             window.alert = window.confirm = window.prompt = () => { window.__alerts++; return true; };",
            vec![],
        )
        .await
        .unwrap();
}

async fn assert_page_clean(browser: &Browser) {
    let report = browser
        .execute(
            "return {violations: window.__violations || [], alerts: window.__alerts || 0}",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(report["violations"], json!([]), "CSP violations: {report}");
    assert_eq!(report["alerts"], 0, "a script ran: {report}");
}

async fn screenshot(browser: &Browser, name: &str) {
    let Ok(dir) = std::env::var("EUM_SOCIAL_SCREENSHOTS") else { return };
    let png = browser.screenshot().await.expect("screenshot");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(std::path::Path::new(&dir).join(name), png).unwrap();
}

/// Opens the console at `#/route`.
async fn open(browser: &Browser, emulator: &Emulator, route: &str) {
    browser.goto(&format!("{}/_emulator/ui/#/{route}", emulator.url())).await.unwrap();
    watch_page(browser).await;
}

fn bubble(wamid: &str) -> String {
    format!("#thread .bubble[data-wamid=\"{wamid}\"]")
}

async fn wamid_of(control: &Control, message_id: &str) -> String {
    let out = control.call("GET", &format!("/messages?messageId={message_id}"), None).await;
    out["messages"][0]["wamid"].as_str().expect("wamid").to_string()
}

async fn order_template(client: &aws_sdk_socialmessaging::Client, control: &Control) {
    let definition = json!({
        "name": "order_update", "language": "en_US", "category": "UTILITY",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}", "example": {"header_text": ["A-1"]}},
            {"type": "BODY", "text": "Hello {{1}}, your order is *ready* for pickup today.",
             "example": {"body_text": [["Ana"]]}},
            {"type": "FOOTER", "text": "Reply to choose"},
            {"type": "BUTTONS", "buttons": [
                {"type": "QUICK_REPLY", "text": "Pick up now"},
                {"type": "QUICK_REPLY", "text": "Deliver it"}]}
        ]
    });
    approved_template(client, control, &definition).await;
}

#[tokio::test]
async fn a_template_with_quick_replies_renders_and_a_tap_reaches_the_app() {
    let emulator = emulator().await;
    let (client, control) = (client(&emulator), Control::new(&emulator));
    order_template(&client, &control).await;
    let message_id = send(
        &client,
        PHONE_1,
        message_blob(json!({
            "messaging_product": "whatsapp", "to": CUSTOMER, "type": "template",
            "template": {"name": "order_update", "language": {"code": "en_US"}, "components": [
                {"type": "header", "parameters": [{"type": "text", "text": "B-77"}]},
                {"type": "body", "parameters": [{"type": "text", "text": "Diego"}]},
                {"type": "button", "sub_type": "quick_reply", "index": "0",
                 "parameters": [{"type": "payload", "payload": "PICKUP-B77"}]},
                {"type": "button", "sub_type": "quick_reply", "index": "1",
                 "parameters": [{"type": "payload", "payload": "DELIVER-B77"}]}
            ]}
        })),
    )
    .await;
    let wamid = wamid_of(&control, &message_id).await;
    let s = session().await;
    open(&s.browser, &emulator, &format!("chats/{PHONE_1}/{CUSTOMER}")).await;
    let text = until(
        &s.browser,
        "the template bubble",
        &format!("document.querySelector('{}').innerText", bubble(&wamid).replace('\'', "\\'")),
    )
    .await;
    let text = text.as_str().unwrap();
    assert!(text.contains("Order B-77"), "header substituted: {text}");
    assert!(text.contains("Hello Diego, your order is ready for pickup today."), "body: {text}");
    assert!(text.contains("Reply to choose"), "footer: {text}");
    let bold = until(
        &s.browser,
        "bold",
        &format!(
            "document.querySelector('{} strong').textContent",
            bubble(&wamid).replace('\'', "\\'")
        ),
    )
    .await;
    assert_eq!(bold, "ready");
    let buttons = until(&s.browser, "two quick replies", &format!(
        "[...document.querySelectorAll('{} .tpl-button[data-kind=\"quick_reply\"]')].map(b => b.textContent)",
        bubble(&wamid).replace('\'', "\\'"))).await;
    let buttons: Vec<String> = serde_json::from_value(buttons).unwrap();
    assert_eq!(buttons.len(), 2, "{buttons:?}");
    assert!(buttons[0].contains("Pick up now") && buttons[1].contains("Deliver it"), "{buttons:?}");

    s.browser
        .execute(
            &format!(
                "document.querySelectorAll('{} .tpl-button[data-kind=\"quick_reply\"]')[1].click()",
                bubble(&wamid).replace('\'', "\\'")
            ),
            vec![],
        )
        .await
        .unwrap();
    let events = control.wait_events("kind=inbound", 1).await;
    let message = &entry(&events[0])["changes"][0]["value"]["messages"][0];
    assert_eq!(message["type"], "button");
    assert_eq!(message["button"]["payload"], "DELIVER-B77");
    assert_eq!(message["button"]["text"], "Deliver it");
    assert_eq!(message["context"]["id"], wamid.as_str());
    assert_page_clean(&s.browser).await;
}

#[tokio::test]
async fn a_customer_writes_in_the_window_opens_then_closes_with_the_clock() {
    let emulator = emulator().await;
    let (client, control) = (client(&emulator), Control::new(&emulator));
    let s = session().await;
    open(&s.browser, &emulator, &format!("chats/{PHONE_1}")).await;
    type_into(&s.browser, "#new-customer", "+1 425 555 0150").await;
    type_into(&s.browser, "#new-profile", "Diego").await;
    type_into(&s.browser, "#new-text", "Hi, is my order ready?").await;
    s.browser
        .execute("document.querySelector('#new-conversation').requestSubmit()", vec![])
        .await
        .unwrap();
    let events = control.wait_events("kind=inbound", 1).await;
    assert_schema("event-envelope.schema.json", &events[0]["envelope"]);
    let value = &entry(&events[0])["changes"][0]["value"];
    assert_eq!(value["messages"][0]["text"]["body"], "Hi, is my order ready?");
    assert_eq!(value["contacts"][0]["profile"]["name"], "Diego");
    assert_eq!(value["contacts"][0]["wa_id"], CUSTOMER);

    // The composer: typed text, Enter sends.
    type_into(&s.browser, "#composer-text", "Second message\u{E007}").await;
    control.wait_events("kind=inbound", 2).await;
    until(&s.browser, "the window chip open", &format!(
        "document.querySelector('.conversation-row[data-customer=\"{CUSTOMER}\"] .window-chip[data-open=\"true\"]')"
    )).await;

    // 25 hours later, advanced in the browser: closed.
    let before = control.call("GET", "/clock", None).await["nowMs"].as_i64().unwrap();
    open(&s.browser, &emulator, "clock").await;
    click(&s.browser, "button[data-advance=\"86400\"]").await;
    click(&s.browser, "button[data-advance=\"3600\"]").await;
    let target = before + 25 * 3_600_000;
    until(
        &s.browser,
        "the clock page 25 h later",
        &format!("Number(document.querySelector('#clock-now').dataset.nowMs) >= {target}"),
    )
    .await;
    let now = control.call("GET", "/clock", None).await["nowMs"].as_i64().unwrap();
    assert!(now >= target, "the emulator's clock moved 25 h: {now} < {target}");
    open(&s.browser, &emulator, &format!("chats/{PHONE_1}/{CUSTOMER}")).await;
    until(&s.browser, "the window chip closed", &format!(
        "document.querySelector('.conversation-row[data-customer=\"{CUSTOMER}\"] .window-chip[data-open=\"false\"]')"
    )).await;

    // A free-form send now fails with 131047, visibly.
    let message_id = send(&client, PHONE_1, text_to(CUSTOMER, "Are you there?")).await;
    let wamid = wamid_of(&control, &message_id).await;
    let failure = until(
        &s.browser,
        "the 131047 failure",
        &format!(
            "document.querySelector('{} .tick-failed').textContent",
            bubble(&wamid).replace('\'', "\\'")
        ),
    )
    .await;
    assert!(failure.as_str().unwrap().contains("131047"), "{failure}");
    assert_page_clean(&s.browser).await;
}

#[tokio::test]
async fn ticks_move_with_the_clock_and_a_magic_failure_shows_its_code() {
    let emulator = emulator().await;
    let (client, control) = (client(&emulator), Control::new(&emulator));
    control.freeze(true).await;
    control.customer_says(PHONE_1, CUSTOMER, "hello").await;
    let message_id = send(&client, PHONE_1, text_to(CUSTOMER, "Your order shipped")).await;
    let wamid = wamid_of(&control, &message_id).await;
    let s = session().await;
    open(&s.browser, &emulator, &format!("chats/{PHONE_1}/{CUSTOMER}")).await;
    let tick = |status: &str| {
        format!(
            "document.querySelector('{} .tick[data-status=\"{status}\"], {} [data-status=\"{status}\"] .tick')",
            bubble(&wamid).replace('\'', "\\'"),
            bubble(&wamid).replace('\'', "\\'")
        )
    };
    until(&s.browser, "the pending clock", &tick("accepted")).await;
    // Default delays: sent at 200 ms, delivered at 700 ms, read at 2 s (virtual).
    control.advance_seconds(0.3).await;
    until(&s.browser, "✓ sent", &tick("sent")).await;
    control.advance_seconds(0.5).await;
    until(&s.browser, "✓✓ delivered", &tick("delivered")).await;
    control.advance_seconds(2.0).await;
    let read = until(
        &s.browser,
        "blue ✓✓ read",
        &format!(
            "(() => {{ const t = {}; return t && getComputedStyle(t).color; }})()",
            tick("read")
        ),
    )
    .await;
    assert_ne!(read, "rgb(0, 0, 0)");

    // A magic recipient fails with its code.
    let message_id = send(&client, PHONE_1, hello_world_to("15550131026")).await;
    let failed = wamid_of(&control, &message_id).await;
    open(&s.browser, &emulator, &format!("chats/{PHONE_1}/15550131026")).await;
    click(&s.browser, "button[data-advance=\"60\"]").await;
    let text = until(
        &s.browser,
        "the 131026 failure",
        &format!(
            "document.querySelector('{} .tick-failed').textContent",
            bubble(&failed).replace('\'', "\\'")
        ),
    )
    .await;
    assert!(text.as_str().unwrap().contains("131026"), "{text}");
    assert_page_clean(&s.browser).await;
}

#[tokio::test]
async fn an_image_the_customer_uploads_is_fetchable_by_the_app() {
    let emulator = emulator().await;
    let (client, control) = (client(&emulator), Control::new(&emulator));
    control.customer_says(PHONE_1, CUSTOMER, "sending a photo").await;
    let s = session().await;
    open(&s.browser, &emulator, &format!("chats/{PHONE_1}/{CUSTOMER}")).await;
    let path = format!("{}/../fixtures/media/sample.png", env!("CARGO_MANIFEST_DIR"));
    let path = std::fs::canonicalize(path).unwrap();
    let input = s
        .browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("input[type=file][data-kind=\"image\"]"))
        .await
        .expect("an image file input");
    input.send_keys(path.to_str().unwrap()).await.expect("file chosen");
    let events = control.wait_events("kind=inbound", 2).await;
    let message = &entry(&events[1])["changes"][0]["value"]["messages"][0];
    assert_eq!(message["type"], "image");
    let media_id = message["image"]["id"].as_str().unwrap();
    let media = client
        .get_whats_app_message_media()
        .media_id(media_id)
        .origination_phone_number_id(PHONE_1)
        .metadata_only(true)
        .send()
        .await
        .expect("the app fetches the customer's image");
    assert_eq!(media.mime_type(), Some("image/png"));
    let size = std::fs::metadata(&path).unwrap().len() as i64;
    assert_eq!(media.file_size(), Some(size));
    // The console shows it, from the emulator's copy.
    until(&s.browser, "the image shown", "(() => { const i = document.querySelector('#thread .bubble[data-type=\"image\"] img'); return i && i.complete && i.naturalWidth; })()").await;
    assert_page_clean(&s.browser).await;
}

#[tokio::test]
async fn hostile_content_renders_inert() {
    let emulator = emulator().await;
    let (client, control) = (client(&emulator), Control::new(&emulator));
    let hostile = "<img src=x onerror=alert(1)><script>alert(2)</script>";
    control.customer_says(PHONE_1, CUSTOMER, hostile).await;
    let long_word = "W".repeat(4000);
    let text_id =
        send(&client, PHONE_1, text_to(CUSTOMER, &format!("{hostile} {long_word}"))).await;
    let cta_id = send(
        &client,
        PHONE_1,
        message_blob(json!({
            "messaging_product": "whatsapp", "to": CUSTOMER, "type": "interactive",
            "interactive": {"type": "cta_url", "body": {"text": "Tap <b>here</b>"},
                "action": {"name": "cta_url", "parameters": {
                    "display_text": "Open", "url": "https://example.com/cta-target"}}}
        })),
    )
    .await;
    // Meta refuses a `javascript:` CTA URL at send; one can still reach the console through a
    // state document (PUT /_emulator/state), which is how this one gets there.
    let state = control.call("GET", "/state", None).await.to_string();
    assert!(state.contains("https://example.com/cta-target"));
    let state: Value = serde_json::from_str(
        &state.replace("https://example.com/cta-target", "javascript:alert(3)"),
    )
    .unwrap();
    control.call("PUT", "/state", Some(state)).await;
    let (text_wamid, cta_wamid) =
        (wamid_of(&control, &text_id).await, wamid_of(&control, &cta_id).await);
    let s = session().await;
    open(&s.browser, &emulator, &format!("chats/{PHONE_1}/{CUSTOMER}")).await;
    let shown = until(
        &s.browser,
        "the hostile text as text",
        &format!(
            "document.querySelector('{}').textContent",
            bubble(&text_wamid).replace('\'', "\\'")
        ),
    )
    .await;
    assert!(shown.as_str().unwrap().contains(hostile), "{shown}");
    let cta = until(
        &s.browser,
        "the CTA",
        &format!("document.querySelector('{}')", bubble(&cta_wamid).replace('\'', "\\'")),
    )
    .await;
    assert!(!cta.is_null());
    let report = s
        .browser
        .execute(
            &format!(
                "const cta = document.querySelector('{cta}');
                 return {{
                   injected: document.querySelectorAll('#thread img[src=\"x\"], #thread script, #thread b').length,
                   hrefs: [...cta.querySelectorAll('a')].map(a => a.getAttribute('href')),
                   ctaText: cta.textContent,
                   pageWidth: document.documentElement.scrollWidth,
                   viewport: window.innerWidth,
                 }}",
                cta = bubble(&cta_wamid).replace('\'', "\\'")
            ),
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(report["injected"], 0, "{report}");
    assert!(
        report["hrefs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| !h.as_str().unwrap_or("").starts_with("javascript")),
        "{report}"
    );
    assert!(report["ctaText"].as_str().unwrap().contains("javascript:alert(3)"), "{report}");
    assert!(
        report["pageWidth"].as_i64().unwrap() <= report["viewport"].as_i64().unwrap(),
        "a long word widened the page: {report}"
    );
    // Clicking the CTA runs nothing.
    s.browser
        .execute(
            &format!(
                "document.querySelector('{} .cta-url').click()",
                bubble(&cta_wamid).replace('\'', "\\'")
            ),
            vec![],
        )
        .await
        .unwrap();
    assert_page_clean(&s.browser).await;
}

#[tokio::test]
async fn with_a_control_token_the_console_shows_nothing_until_it_is_given() {
    let config = eum_social_emulator::Config {
        control_token: Some("open-sesame".into()),
        ..Default::default()
    };
    let emulator =
        Emulator::start_with(config, eum_social_emulator::Seed::default_seed()).await.unwrap();
    let control = Control::with_token(&emulator, "open-sesame");
    control.customer_says(PHONE_1, CUSTOMER, "secret order 42").await;
    let s = session().await;
    open(&s.browser, &emulator, &format!("chats/{PHONE_1}/{CUSTOMER}")).await;
    until(&s.browser, "the token form", "document.querySelector('#token-form')").await;
    let leaked = s
        .browser
        .execute(
            "return {text: document.body.innerText, numbers: document.querySelectorAll('.number-item').length}",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(leaked["numbers"], 0, "{leaked}");
    let text = leaked["text"].as_str().unwrap();
    assert!(!text.contains("secret order") && !text.contains("WECARE"), "{text}");

    type_into(&s.browser, "#token-input", "open-sesame").await;
    s.browser
        .execute("document.querySelector('#token-form').requestSubmit()", vec![])
        .await
        .unwrap();
    until(
        &s.browser,
        "the thread after the token",
        "document.querySelector('#thread').textContent.includes('secret order 42')",
    )
    .await;
    until(&s.browser, "the numbers", "document.querySelectorAll('.number-item').length >= 2").await;
    assert_page_clean(&s.browser).await;
}

#[tokio::test]
async fn events_and_templates_pages_show_envelopes_and_decide_reviews() {
    let emulator = emulator().await;
    let (client, control) = (client(&emulator), Control::new(&emulator));
    control.customer_says(PHONE_1, CUSTOMER, "events please").await;
    order_template(&client, &control).await;
    let s = session().await;
    open(&s.browser, &emulator, "events").await;
    until(
        &s.browser,
        "an inbound event row",
        "document.querySelector('.event-row[data-kind=\"inbound\"]')",
    )
    .await;
    click(&s.browser, ".event-row[data-kind=\"inbound\"]").await;
    let shown = until(
        &s.browser,
        "the decoded entry",
        "[...document.querySelectorAll('pre')].map(p => p.textContent).join('\\n')",
    )
    .await;
    let shown = shown.as_str().unwrap();
    assert!(shown.contains("\"whatsAppWebhookEntry\""), "{shown}");
    assert!(shown.contains("\"body\": \"events please\""), "decoded and pretty: {shown}");
    screenshot(&s.browser, "console-events.png").await;

    open(&s.browser, &emulator, "templates").await;
    let templates = control.call("GET", "/templates", None).await;
    let id = templates["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "order_update")
        .unwrap()["metaTemplateId"]
        .as_str()
        .unwrap()
        .to_string();
    let row = format!(".template-row[data-template-id=\"{id}\"]");
    until(
        &s.browser,
        "the template row",
        &format!("document.querySelector('{}')", row.replace('\'', "\\'")),
    )
    .await;
    s.browser
        .execute(
            &format!(
                "document.querySelector('{} button[data-decision=\"PAUSE\"]').click()",
                row.replace('\'', "\\'")
            ),
            vec![],
        )
        .await
        .unwrap();
    until(
        &s.browser,
        "the row shows PAUSED",
        &format!(
            "document.querySelector('{}').textContent.includes('PAUSED')",
            row.replace('\'', "\\'")
        ),
    )
    .await;
    let t = control.call("GET", "/templates", None).await;
    let paused =
        t["templates"].as_array().unwrap().iter().find(|t| t["metaTemplateId"] == id.as_str());
    assert_eq!(paused.unwrap()["status"], "PAUSED", "{t}");
    // The row opens on a preview rendered from the definition with its examples.
    click(&s.browser, &format!("{row} .template-toggle")).await;
    let preview = until(
        &s.browser,
        "the template preview",
        "document.querySelector('.template-detail .tpl-preview').textContent",
    )
    .await;
    let preview = preview.as_str().unwrap();
    assert!(
        preview.contains("Order A-1") && preview.contains("Hello Ana, your order is"),
        "{preview}"
    );
    assert!(preview.contains("Pick up now") && preview.contains("Deliver it"), "{preview}");
    assert_page_clean(&s.browser).await;
}

/// What the business sends in the rich conversation, after the customer's "hello".
fn rich_messages(hello: &str) -> Vec<Value> {
    let m = |body: Value| {
        let mut message = json!({"messaging_product": "whatsapp", "to": CUSTOMER});
        message.as_object_mut().unwrap().extend(body.as_object().unwrap().clone());
        message
    };
    vec![
        m(json!({"type": "text", "context": {"message_id": hello},
                 "text": {"body": "Hi Diego! _Welcome_ to ~old~ *WECARE*: ```code 42```"}})),
        m(json!({"type": "reaction", "reaction": {"message_id": hello, "emoji": "👍"}})),
        m(json!({"type": "interactive", "interactive": {"type": "button",
            "body": {"text": "How should we deliver?"},
            "action": {"buttons": [
                {"type": "reply", "reply": {"id": "ship-home", "title": "Home"}},
                {"type": "reply", "reply": {"id": "ship-store", "title": "Store"}}]}}})),
        m(json!({"type": "interactive", "interactive": {"type": "list",
            "header": {"type": "text", "text": "Menu"}, "body": {"text": "Pick a slot"},
            "footer": {"text": "Times are local"},
            "action": {"button": "See slots", "sections": [
                {"title": "Morning", "rows": [{"id": "slot-9", "title": "9:00", "description": "Early bird"}]},
                {"title": "Evening", "rows": [{"id": "slot-18", "title": "18:00"}]}]}}})),
        m(json!({"type": "location", "location": {"latitude": 22.5726, "longitude": 88.3639,
            "name": "WECARE store", "address": "Park Street, Kolkata"}})),
        m(
            json!({"type": "contacts", "contacts": [{"name": {"formatted_name": "Ana Support", "first_name": "Ana"},
            "phones": [{"phone": "+91 93309 94400", "type": "WORK"}]}]}),
        ),
        m(json!({"type": "document", "document": {"link": "https://example.com/invoice.pdf",
            "filename": "invoice.pdf", "caption": "Your invoice"}})),
    ]
}

#[tokio::test]
async fn every_kind_renders_and_taps_send_the_customers_replies() {
    let emulator = emulator().await;
    let (client, control) = (client(&emulator), Control::new(&emulator));
    let hello = control.customer_says(PHONE_1, CUSTOMER, "hello, can I order?").await;
    let mut wamids = Vec::new();
    for message in rich_messages(&hello) {
        let id = send(&client, PHONE_1, message_blob(message)).await;
        wamids.push(wamid_of(&control, &id).await);
    }
    control.advance_seconds(5.0).await;
    let s = session().await;
    open(&s.browser, &emulator, &format!("chats/{PHONE_1}/{CUSTOMER}")).await;
    let q = |wamid: &str, inner: &str| {
        format!("document.querySelector('{} {inner}')", bubble(wamid).replace('\'', "\\'"))
    };

    // A reply quotes the customer's message; formatting; the business's reaction on it.
    let quote = until(
        &s.browser,
        "the quoted message",
        &format!("{}.textContent", q(&wamids[0], ".bubble-quote")),
    )
    .await;
    assert!(quote.as_str().unwrap().contains("hello, can I order?"), "{quote}");
    for (tag, text) in [("em", "Welcome"), ("s", "old"), ("strong", "WECARE"), ("code", "code 42")]
    {
        let got = until(&s.browser, tag, &format!("{}.textContent", q(&wamids[0], tag))).await;
        assert_eq!(got, text);
    }
    let reaction = until(
        &s.browser,
        "the business's reaction",
        &format!("{}.textContent", q(&hello, ".reactions")),
    )
    .await;
    assert!(reaction.as_str().unwrap().contains('👍'), "{reaction}");
    // Location and contact cards, the document by its name (a link is never fetched).
    let location = until(
        &s.browser,
        "the location card",
        &format!("{}.textContent", q(&wamids[4], ".bubble-location")),
    )
    .await;
    let location = location.as_str().unwrap();
    assert!(
        location.contains("WECARE store")
            && location.contains("Park Street")
            && location.contains("22.572600"),
        "{location}"
    );
    let contact = until(
        &s.browser,
        "the contact card",
        &format!("{}.textContent", q(&wamids[5], ".bubble-contact")),
    )
    .await;
    assert!(contact.as_str().unwrap().contains("Ana Support"), "{contact}");
    let document =
        until(&s.browser, "the document", &format!("{}.textContent", bubble_text(&wamids[6])))
            .await;
    assert!(
        document.as_str().unwrap().contains("invoice.pdf")
            && document.as_str().unwrap().contains("Your invoice")
    );
    screenshot(&s.browser, "console-chat.png").await;

    // Tapping a reply button.
    s.browser
        .execute(
            &format!("{}.click()", q(&wamids[2], ".reply-button[data-id=\"ship-store\"]")),
            vec![],
        )
        .await
        .unwrap();
    let events = control.wait_events("kind=inbound", 2).await;
    let message = &entry(&events[1])["changes"][0]["value"]["messages"][0];
    assert_eq!(message["interactive"]["type"], "button_reply");
    assert_eq!(
        message["interactive"]["button_reply"],
        json!({"id": "ship-store", "title": "Store"})
    );
    assert_eq!(message["context"]["id"], wamids[2].as_str());

    // Opening the list and choosing a row.
    s.browser.execute(&format!("{}.click()", q(&wamids[3], ".list-open")), vec![]).await.unwrap();
    until(
        &s.browser,
        "the list sheet",
        "document.querySelector('.list-sheet[open] .list-row[data-id=\"slot-9\"]')",
    )
    .await;
    click(&s.browser, ".list-sheet[open] .list-row[data-id=\"slot-9\"]").await;
    let events = control.wait_events("kind=inbound", 3).await;
    let message = &entry(&events[2])["changes"][0]["value"]["messages"][0];
    assert_eq!(message["interactive"]["list_reply"]["id"], "slot-9");
    assert_eq!(message["interactive"]["list_reply"]["title"], "9:00");
    assert_eq!(message["context"]["id"], wamids[3].as_str());

    // Reacting to the business's location, then replying to its contact card with text.
    let row = |wamid: &str| format!(".msg-row[data-wamid=\"{wamid}\"]");
    click(&s.browser, &format!("{} .bubble-react", row(&wamids[4]))).await;
    click(&s.browser, ".react-option[data-emoji=\"❤️\"]").await;
    let events = control.wait_events("kind=inbound", 4).await;
    let message = &entry(&events[3])["changes"][0]["value"]["messages"][0];
    assert_eq!(message["reaction"], json!({"message_id": wamids[4], "emoji": "❤️"}));
    click(&s.browser, &format!("{} .bubble-reply", row(&wamids[5]))).await;
    until(&s.browser, "the reply chip", "!document.querySelector('#reply-chip').hidden").await;
    type_into(&s.browser, "#composer-text", "Thanks, I will call Ana\u{E007}").await;
    let events = control.wait_events("kind=inbound", 5).await;
    let message = &entry(&events[4])["changes"][0]["value"]["messages"][0];
    assert_eq!(message["text"]["body"], "Thanks, I will call Ana");
    assert_eq!(message["context"]["id"], wamids[5].as_str());

    // At phone width the page does not scroll sideways.
    s.browser.set_window_size(390, 844).await.unwrap();
    open(&s.browser, &emulator, &format!("chats/{PHONE_1}/{CUSTOMER}")).await;
    until(
        &s.browser,
        "the thread at phone width",
        &format!("document.querySelector('{}')", bubble(&wamids[0]).replace('\'', "\\'")),
    )
    .await;
    let widths = s
        .browser
        .execute("return [document.documentElement.scrollWidth, window.innerWidth]", vec![])
        .await
        .unwrap();
    assert!(widths[0].as_i64() <= widths[1].as_i64(), "{widths}");
    screenshot(&s.browser, "console-phone.png").await;
    assert_page_clean(&s.browser).await;
}

fn bubble_text(wamid: &str) -> String {
    format!("document.querySelector('{}')", bubble(wamid).replace('\'', "\\'"))
}

#[tokio::test]
async fn a_thread_of_ten_thousand_messages_opens_on_its_newest_page() {
    let emulator = emulator().await;
    let control = Control::new(&emulator);
    control.customer_says(PHONE_1, CUSTOMER, "message 0").await;
    // 10,000 messages through a state document (the fast way to make them).
    let mut state = control.call("GET", "/state", None).await;
    let partition = state["partitions"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| p["account"] == ACCOUNT)
        .unwrap();
    let log = partition["meta"]["inbound"].as_array_mut().unwrap();
    let template = log[0][1].clone();
    let start = template["timeMs"].as_i64().unwrap();
    log.clear();
    for i in 0..10_000i64 {
        let wamid = format!("wamid.bulk{i:05}");
        let mut m = template.clone();
        m["wamid"] = json!(wamid);
        m["timeMs"] = json!(start + i);
        m["order"] = json!(i + 1);
        m["message"]["id"] = json!(wamid);
        m["message"]["text"]["body"] = json!(format!("message {i}"));
        log.push(json!([wamid, m]));
    }
    partition["meta"]["recorded"] = json!(10_000);
    control.call("PUT", "/state", Some(state)).await;

    let s = session().await;
    open(&s.browser, &emulator, &format!("chats/{PHONE_1}/{CUSTOMER}")).await;
    until(
        &s.browser,
        "the newest message",
        &format!("document.querySelector('{}')", bubble("wamid.bulk09999")),
    )
    .await;
    let shown = s
        .browser
        .execute("return document.querySelectorAll('#thread .bubble').length", vec![])
        .await
        .unwrap();
    assert!(shown.as_i64().unwrap() <= 100, "only the newest page is in the page: {shown}");
    // Older pages load on demand, and only them.
    click(&s.browser, "#load-older").await;
    until(
        &s.browser,
        "the second page",
        &format!("document.querySelector('{}')", bubble("wamid.bulk09950")),
    )
    .await;
    let shown = s
        .browser
        .execute("return document.querySelectorAll('#thread .bubble').length", vec![])
        .await
        .unwrap();
    // A page or two more: the thread also loads older pages when scrolled to its top, which a
    // slow layout can do once more before the anchor is restored; never the whole thread.
    assert!(shown.as_i64().unwrap() <= 500, "{shown}");
    assert_page_clean(&s.browser).await;
}

/// Sets a form control's value and fires `change`, as a person choosing an option does.
async fn choose(browser: &Browser, css: &str, value: &str) {
    let script = format!(
        "const el = document.querySelector({css}); el.value = {value}; \
         el.dispatchEvent(new Event('input', {{bubbles: true}})); \
         el.dispatchEvent(new Event('change', {{bubbles: true}})); return el.value;",
        css = json!(css),
        value = json!(value)
    );
    until(browser, css, &format!("document.querySelector({})", json!(css))).await;
    let set = browser.execute(&script, vec![]).await.unwrap();
    assert_eq!(set, value, "{css}");
}

#[tokio::test]
async fn faults_numbers_requests_sns_and_the_composers_forms_drive_the_emulator() {
    use aws_sdk_socialmessaging::operation::send_whats_app_message::SendWhatsAppMessageError;
    let emulator = emulator().await;
    let (client, control) = (client(&emulator), Control::new(&emulator));
    control.customer_says(PHONE_1, CUSTOMER, "hi").await;
    let s = session().await;

    // A fault rule from the form: the app's next send fails with it.
    open(&s.browser, &emulator, "faults").await;
    choose(&s.browser, "#fault-operation", "SendWhatsAppMessage").await;
    type_into(&s.browser, "#fault-first", "1").await;
    choose(&s.browser, "#fault-error-type", "DependencyException").await;
    type_into(&s.browser, "#fault-message", "Meta is down (console)").await;
    click(&s.browser, "#fault-add").await;
    until(
        &s.browser,
        "the armed badge",
        "document.querySelector('#faults-badge').textContent.includes('1 fault rule')",
    )
    .await;
    let err = send_refused(&client, PHONE_1, text_to(CUSTOMER, "hello")).await;
    assert!(matches!(err, SendWhatsAppMessageError::DependencyException(_)), "{err:?}");
    assert_eq!(err.meta().message(), Some("Meta is down (console)"));
    until(
        &s.browser,
        "the rule fired once",
        "document.querySelector('.fault-row[data-fired=\"1\"]')",
    )
    .await;

    // The request log shows that call and its error.
    open(&s.browser, &emulator, "requests").await;
    until(&s.browser, "the failed send", "document.querySelector('.request-row[data-operation=\"SendWhatsAppMessage\"][data-error=\"DependencyException\"]')").await;

    // A number's limit changed in the page: its business portfolio's, and Meta's event on
    // each WABA of the portfolio.
    open(&s.browser, &emulator, "numbers").await;
    choose(
        &s.browser,
        &format!(".number-row[data-phone-number-id=\"{PHONE_1}\"] .tier-select"),
        "TIER_10K",
    )
    .await;
    let events = control.wait_events("kind=business_capability_update", 2).await;
    let value = &entry(&events[0])["changes"][0]["value"];
    assert_eq!(value["max_daily_conversations_per_business"], 10_000);
    let phone = control.call("GET", &format!("/phone-numbers/{PHONE_2}"), None).await;
    assert_eq!(phone["messagingLimitTier"], "TIER_10K", "the portfolio's numbers share it");

    // An SNS subscriber added from the form.
    open(&s.browser, &emulator, "sns").await;
    type_into(&s.browser, "#sns-endpoint", "http://127.0.0.1:9/sns-endpoint").await;
    s.browser.execute("document.querySelector('#sns-form').requestSubmit()", vec![]).await.unwrap();
    until(&s.browser, "the subscription row", "document.querySelector('.sns-subscription')").await;
    let subs = control.call("GET", "/sns/subscriptions", None).await;
    assert!(subs.to_string().contains("http://127.0.0.1:9/sns-endpoint"), "{subs}");

    // The composer's location and contact forms.
    open(&s.browser, &emulator, &format!("chats/{PHONE_1}/{CUSTOMER}")).await;
    click(&s.browser, "#attach-button").await;
    click(&s.browser, ".attach-option[data-kind=\"location\"]").await;
    type_into(&s.browser, "#location-latitude", "22.5726").await;
    type_into(&s.browser, "#location-longitude", "88.3639").await;
    type_into(&s.browser, "#location-name", "Home").await;
    s.browser
        .execute("document.querySelector('#location-form').requestSubmit()", vec![])
        .await
        .unwrap();
    let events = control.wait_events("kind=inbound", 2).await;
    let location = &entry(&events[1])["changes"][0]["value"]["messages"][0]["location"];
    assert_eq!(location["latitude"], 22.5726);
    assert_eq!(location["longitude"], 88.3639);
    assert_eq!(location["name"], "Home");
    click(&s.browser, "#attach-button").await;
    click(&s.browser, ".attach-option[data-kind=\"contact\"]").await;
    type_into(&s.browser, "#contact-name", "Ravi Kumar").await;
    type_into(&s.browser, "#contact-phone", "+91 98300 00000").await;
    s.browser
        .execute("document.querySelector('#contact-form').requestSubmit()", vec![])
        .await
        .unwrap();
    let events = control.wait_events("kind=inbound", 3).await;
    let contact = &entry(&events[2])["changes"][0]["value"]["messages"][0]["contacts"][0];
    assert_eq!(contact["name"]["formatted_name"], "Ravi Kumar");
    assert_eq!(contact["phones"][0]["phone"], "+91 98300 00000");
    assert_page_clean(&s.browser).await;
}

#[tokio::test]
async fn template_url_phone_and_copy_code_buttons_and_a_location_request_render() {
    let emulator = emulator().await;
    let (client, control) = (client(&emulator), Control::new(&emulator));
    let definition = json!({
        "name": "spring_sale", "language": "en_US", "category": "MARKETING",
        "components": [
            {"type": "BODY", "text": "Hi {{1}}, take 20% off this week with your code.",
             "example": {"body_text": [["Ana"]]}},
            {"type": "BUTTONS", "buttons": [
                {"type": "URL", "text": "Track order", "url": "https://shop.example.com/o/{{1}}",
                 "example": ["https://shop.example.com/o/A1"]},
                {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+919330994400"},
                {"type": "COPY_CODE", "example": "SAVE20"}]}
        ]
    });
    approved_template(&client, &control, &definition).await;
    let sale = send(
        &client,
        PHONE_1,
        message_blob(json!({
            "messaging_product": "whatsapp", "to": CUSTOMER, "type": "template",
            "template": {"name": "spring_sale", "language": {"code": "en_US"}, "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "Diego"}]},
                {"type": "button", "sub_type": "url", "index": "0",
                 "parameters": [{"type": "text", "text": "B77"}]},
                {"type": "button", "sub_type": "copy_code", "index": "2",
                 "parameters": [{"type": "coupon_code", "coupon_code": "SAVE20"}]}
            ]}
        })),
    )
    .await;
    // An authentication template, created as Meta's page shows and sent with the code twice.
    let otp_definition = json!({
        "name": "login_code", "language": "en_US", "category": "AUTHENTICATION",
        "components": [
            {"type": "BODY", "add_security_recommendation": true},
            {"type": "FOOTER", "code_expiration_minutes": 10},
            {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE"}]}
        ]
    });
    approved_template(&client, &control, &otp_definition).await;
    let otp = send(
        &client,
        PHONE_1,
        message_blob(json!({
            "messaging_product": "whatsapp", "to": CUSTOMER, "type": "template",
            "template": {"name": "login_code", "language": {"code": "en_US"}, "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "482913"}]},
                {"type": "button", "sub_type": "url", "index": "0",
                 "parameters": [{"type": "text", "text": "482913"}]}
            ]}
        })),
    )
    .await;
    control.customer_says(PHONE_1, CUSTOMER, "where do I pick it up?").await;
    let ask = send(
        &client,
        PHONE_1,
        message_blob(json!({
            "messaging_product": "whatsapp", "to": CUSTOMER, "type": "interactive",
            "interactive": {"type": "location_request_message", "body": {"text": "Share your location"},
                "action": {"name": "send_location"}}
        })),
    )
    .await;
    let (sale, ask) = (wamid_of(&control, &sale).await, wamid_of(&control, &ask).await);
    let otp = wamid_of(&control, &otp).await;
    let s = session().await;
    open(&s.browser, &emulator, &format!("chats/{PHONE_1}/{CUSTOMER}")).await;
    let buttons = until(
        &s.browser,
        "the template's buttons",
        &format!(
            "(b => b.length === 3 && b.map(b => ({{kind: b.dataset.kind, text: b.textContent, \
             href: b.getAttribute('href')}})))([...document.querySelectorAll('{} .tpl-button')])",
            bubble(&sale).replace('\'', "\\'")
        ),
    )
    .await;
    let buttons = buttons.as_array().unwrap();
    assert_eq!(buttons.len(), 3, "{buttons:?}");
    assert_eq!(buttons[0]["kind"], "url");
    assert_eq!(buttons[0]["href"], "https://shop.example.com/o/B77");
    assert!(buttons[0]["text"].as_str().unwrap().contains("Track order"));
    assert_eq!(buttons[1]["kind"], "phone_number");
    assert!(buttons[1]["text"].as_str().unwrap().contains("Call us"), "{buttons:?}");
    assert_eq!(buttons[2]["kind"], "copy_code");
    let text = until(&s.browser, "the sale", &format!("{}.textContent", bubble_text(&sale))).await;
    let text = text.as_str().unwrap();
    assert!(text.contains("Hi Diego, take 20% off") && text.contains("SAVE20"), "{text}");

    // The code as the customer sees it: Meta's preset text in bold, the expiry, a copy button.
    let code = until(
        &s.browser,
        "the one-time password",
        &format!(
            "(b => b && {{text: b.textContent, bold: [...b.querySelectorAll('strong')].map(e => e.textContent)}})({})",
            bubble_text(&otp)
        ),
    )
    .await;
    let otp_text = code["text"].as_str().unwrap();
    assert!(
        otp_text.contains(
            "482913 is your verification code. For your security, do not share this code."
        ),
        "{otp_text}"
    );
    assert_eq!(code["bold"], json!(["482913"]));
    let otp_bubble = until(
        &s.browser,
        "the code's expiry and button",
        &format!(
            "(b => b && b.querySelector('.tpl-button') && {{text: b.textContent, kind: b.querySelector('.tpl-button').dataset.kind, \
             title: b.querySelector('.tpl-button').title}})({})",
            bubble_text(&otp)
        ),
    )
    .await;
    assert!(otp_bubble["text"].as_str().unwrap().contains("This code expires in 10 minutes."));
    assert_eq!(otp_bubble["kind"], "otp");
    assert_eq!(otp_bubble["title"], "Copy 482913");

    // "Send location" opens the customer's location form; its answer replies to the request.
    click(&s.browser, &format!("{} .location-request", bubble(&ask))).await;
    type_into(&s.browser, "#location-latitude", "12.5").await;
    type_into(&s.browser, "#location-longitude", "77.25").await;
    s.browser
        .execute("document.querySelector('#location-form').requestSubmit()", vec![])
        .await
        .unwrap();
    let events = control.wait_events("kind=inbound", 2).await;
    let message = &entry(&events[1])["changes"][0]["value"]["messages"][0];
    assert_eq!(message["location"]["latitude"], 12.5);
    assert_eq!(message["context"]["id"], ask.as_str());
    assert_page_clean(&s.browser).await;
}
