"""Every control helper against the real binary, through the plugin's `eum_social` fixture (reset
before each test) and boto3 for the AWS side."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from conftest import CUSTOMER
from eum_social import Control, ControlError, EumSocial

SEED_PHONE = "phone-number-id-baa217c3f11b4ffd956f6f3afb44ce54"
SEED_WABA = "waba-0aae9cf04cf24c66960f291c793359b4"
SEED_TOPIC = "arn:aws:sns:us-east-1:809904170947:base-wecare-digital"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def send_text(client, body: str, to: str = CUSTOMER) -> str:
    message = {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": body}}
    return client.send_whatsapp_message(
        originationPhoneNumberId=SEED_PHONE,
        message=json.dumps(message).encode(),
        metaApiVersion="v20.0",
    )["messageId"]


def webhook_message(event: dict) -> dict:
    """The Meta message inside an inbound event's envelope."""
    entry = json.loads(event["envelope"]["whatsAppWebhookEntry"])
    [change] = entry["changes"]
    [message] = change["value"]["messages"]
    return message


def test_defaults_follow_the_seed(eum_social):
    assert eum_social.account == "809904170947"
    assert eum_social.region == "us-east-1"
    assert eum_social.phone_number_id == SEED_PHONE
    assert eum_social.waba_id == SEED_WABA
    assert [w["wabaId"] for w in eum_social.wabas()["wabas"]][0] == SEED_WABA


def test_the_client_follows_the_account_and_region_conventions(eum_social, eum_social_client):
    linked = eum_social_client.list_linked_whatsapp_business_accounts()["linkedAccounts"]
    assert SEED_WABA in [w["id"] for w in linked]
    other_account = eum_social.client(account="111122223333")
    assert other_account.list_linked_whatsapp_business_accounts()["linkedAccounts"] == []
    other_region = eum_social.client(region="eu-west-1")
    assert other_region.list_linked_whatsapp_business_accounts()["linkedAccounts"] == []
    with pytest.raises(ValueError, match="12-digit"):
        eum_social.client(account="default")


INBOUND_KINDS = {
    "text": lambda i: i.text("Hi there", from_=CUSTOMER, profile_name="Diego"),
    "image": lambda i: i.image(from_=CUSTOMER, data=JPEG, mime_type="image/jpeg", caption="a cat"),
    "video": lambda i: i.video(from_=CUSTOMER, caption="a clip"),
    "audio": lambda i: i.audio(from_=CUSTOMER, voice=True),
    "sticker": lambda i: i.sticker(from_=CUSTOMER),
    "location": lambda i: i.location(47.6, -122.3, from_=CUSTOMER, name="Pike Place"),
    "contacts": lambda i: i.contacts(
        [{"name": {"formatted_name": "Ana"}, "phones": [{"phone": "+14255550123"}]}], from_=CUSTOMER
    ),
    "interactive": lambda i: i.button_reply("yes", "Yes", from_=CUSTOMER),
    "button": lambda i: i.button("Stop promotions", "STOP", from_=CUSTOMER),
    "system": lambda i: i.system(
        {"type": "customer_identity_changed", "body": "changed"}, from_=CUSTOMER
    ),
}


@pytest.mark.parametrize("kind", sorted(INBOUND_KINDS))
def test_inbound_every_kind_publishes_meta_s_webhook(eum_social, kind):
    answer = INBOUND_KINDS[kind](eum_social.inbound)
    assert answer["wamid"].startswith("wamid.")
    [event] = eum_social.events(kind="inbound", wamid=answer["wamid"])["events"]
    message = webhook_message(event)
    assert message["type"] == kind
    assert message["from"] == CUSTOMER.lstrip("+")


def test_inbound_list_and_flow_replies(eum_social):
    listed = eum_social.inbound.list_reply("row-1", "Tuesday", from_=CUSTOMER, description="9-12")
    flow = eum_social.inbound.flow_reply({"date": "2026-12-24"}, from_=CUSTOMER)
    by_wamid = {e["wamid"]: webhook_message(e) for e in eum_social.events(kind="inbound")["events"]}
    assert by_wamid[listed["wamid"]]["interactive"]["list_reply"]["description"] == "9-12"
    nfm = by_wamid[flow["wamid"]]["interactive"]["nfm_reply"]
    assert json.loads(nfm["response_json"]) == {"date": "2026-12-24"}


def test_inbound_media_bytes_and_files_can_be_fetched(eum_social, eum_social_client, tmp_path):
    image = eum_social.inbound.image(from_=CUSTOMER, data=JPEG, mime_type="image/jpeg")
    pdf = tmp_path / "invoice.pdf"
    pdf.write_bytes(PDF)
    document = eum_social.inbound.document(from_=CUSTOMER, path=pdf, filename="invoice.pdf")
    for answer, kind, size, mime in [
        (image, "image", len(JPEG), "image/jpeg"),
        (document, "document", len(PDF), "application/pdf"),
    ]:
        [event] = eum_social.events(wamid=answer["wamid"])["events"]
        media_id = webhook_message(event)[kind]["id"]
        meta = eum_social_client.get_whatsapp_message_media(
            mediaId=media_id, originationPhoneNumberId=SEED_PHONE, metadataOnly=True
        )
        assert (meta["mimeType"], meta["fileSize"]) == (mime, size)


def test_replies_and_reactions_carry_their_context(eum_social, eum_social_client):
    eum_social.clock.freeze()
    eum_social.inbound.text("Hi", from_=CUSTOMER)
    message_id = send_text(eum_social_client, "Pick one")
    eum_social.clock.advance(seconds=1)
    [sent] = eum_social.events(kind="status", status="sent", message_id=message_id, wait=5)[
        "events"
    ]
    ours = sent["wamid"]
    tapped = eum_social.inbound.button_reply("b1", "Option 1", from_=CUSTOMER, context=ours)
    reacted = eum_social.inbound.reaction(ours, "\N{THUMBS UP SIGN}", from_=CUSTOMER)
    by_wamid = {e["wamid"]: webhook_message(e) for e in eum_social.events(kind="inbound")["events"]}
    assert by_wamid[tapped["wamid"]]["context"]["id"] == ours
    assert by_wamid[reacted["wamid"]]["reaction"]["message_id"] == ours


def test_clock_freeze_advance_set_resume(eum_social):
    frozen = eum_social.clock.freeze()
    assert frozen["frozen"] is True
    now = frozen["nowMs"]
    assert eum_social.clock.now_ms() == now
    assert eum_social.clock.advance(hours=25)["nowMs"] == now + 25 * 3_600_000
    assert eum_social.clock.advance(1.5, ms=500)["nowMs"] == now + 25 * 3_600_000 + 2000
    target = now + 26 * 3_600_000
    assert eum_social.clock.set(target)["nowMs"] == target
    with pytest.raises(ControlError) as backwards:
        eum_social.clock.set(now)
    assert backwards.value.status == 400
    assert "forward" in backwards.value.message
    assert eum_social.clock.resume()["frozen"] is False


def test_events_wait_for_statuses_on_the_virtual_clock(eum_social, eum_social_client):
    eum_social.clock.freeze()
    eum_social.inbound.text("Hi", from_=CUSTOMER)
    message_id = send_text(eum_social_client, "Hello!")
    assert eum_social.events(kind="status", message_id=message_id)["events"] == []
    eum_social.clock.advance(seconds=3)  # sent 200 ms, delivered 700 ms, read 2 s after acceptance
    events = eum_social.events(kind="status", message_id=message_id, count=3, wait=5)["events"]
    assert [e["status"] for e in events] == ["sent", "delivered", "read"]


def test_events_long_poll_waits_for_a_running_clock(eum_social, eum_social_client):
    eum_social.inbound.text("Hi", from_=CUSTOMER)
    message_id = send_text(eum_social_client, "Hello!")
    # The clock runs: `sent` comes 200 ms after acceptance, while the request waits.
    [sent] = eum_social.events(kind="status", status="sent", message_id=message_id, wait=10)[
        "events"
    ]
    assert sent["messageId"] == message_id
    # A wait that nothing satisfies answers with what there is, after the wait.
    assert eum_social.events(message_id="no-such-message", count=1, wait=0.2)["events"] == []
    with pytest.raises(ValueError):
        eum_social.events(wait=31)


def test_messages_show_decoded_payloads(eum_social, eum_social_client):
    eum_social.inbound.text("Hi", from_=CUSTOMER)
    message_id = send_text(eum_social_client, "Hello from the shop")
    [message] = eum_social.messages(to=CUSTOMER.lstrip("+"))["messages"]
    assert message["messageId"] == message_id
    assert message["payload"]["text"]["body"] == "Hello from the shop"
    assert eum_social.messages(message_id=message_id)["messages"] == [message]
    assert (
        eum_social.messages(phone_number_id="phone-number-id-1447bc72d1b040f4bf2341c9e04b2e06")[
            "messages"
        ]
        == []
    )


def create_template(client, name: str) -> str:
    definition = {
        "name": name,
        "language": "en_US",
        "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Your order has shipped."}],
    }
    return client.create_whatsapp_message_template(
        templateDefinition=json.dumps(definition).encode(), id=SEED_WABA
    )["metaTemplateId"]


def template_status(eum_social, meta_template_id: str) -> str:
    [template] = [
        t
        for t in eum_social.templates.list(waba_id=SEED_WABA)["templates"]
        if t["metaTemplateId"] == meta_template_id
    ]
    return template["status"]


def test_templates_review_decisions(eum_social, eum_social_client):
    shipped = create_template(eum_social_client, "order_shipped")
    assert template_status(eum_social, shipped) == "PENDING"
    eum_social.templates.approve(shipped)
    assert template_status(eum_social, shipped) == "APPROVED"
    updates = eum_social.events(kind="message_template_status_update", count=1, wait=5)["events"]
    assert len(updates) == 1
    eum_social.templates.pause(shipped)
    assert template_status(eum_social, shipped) == "PAUSED"
    eum_social.templates.unpause(shipped)
    assert template_status(eum_social, shipped) == "APPROVED"
    eum_social.templates.quality(shipped, "YELLOW")
    [template] = [
        t for t in eum_social.templates.list()["templates"] if t["metaTemplateId"] == shipped
    ]
    assert template["qualityScore"] == "YELLOW"
    eum_social.templates.disable(shipped)
    assert template_status(eum_social, shipped) == "DISABLED"

    rejected = create_template(eum_social_client, "order_rejected")
    eum_social.templates.reject(rejected, reason="SCAM")
    [template] = [
        t for t in eum_social.templates.list()["templates"] if t["metaTemplateId"] == rejected
    ]
    assert (template["status"], template["rejectedReason"]) == ("REJECTED", "SCAM")


def test_faults_add_list_remove_clear(eum_social, eum_social_client):
    rule = eum_social.faults.add(
        operation="SendWhatsAppMessage",
        error={"type": "InvalidParametersException", "message": "injected"},
        max_firings=1,
    )
    assert rule["maxFirings"] == 1
    eum_social.inbound.text("Hi", from_=CUSTOMER)
    with pytest.raises(ClientError) as injected:
        send_text(eum_social_client, "Hello")
    assert injected.value.response["Error"]["Code"] == "InvalidParametersException"
    assert "injected" in str(injected.value)
    send_text(eum_social_client, "Hello again")  # fired once
    [listed] = eum_social.faults.list()["rules"]
    assert (listed["id"], listed["matched"], listed["fired"]) == (rule["id"], 2, 1)
    eum_social.faults.remove(rule["id"])
    assert eum_social.faults.list()["rules"] == []
    eum_social.faults.add({"operation": "TagResource", "latencyMs": 1})
    eum_social.faults.clear()
    assert eum_social.faults.list()["rules"] == []


def test_reset_returns_to_the_seed(eum_social):
    eum_social.inbound.text("Hi", from_=CUSTOMER)
    eum_social.clock.freeze()
    assert eum_social.events()["events"]
    assert eum_social.reset() == {"reset": True}
    assert eum_social.events()["events"] == []
    assert eum_social.clock.get()["frozen"] is False


def test_state_export_reset_import(eum_social):
    wamid = eum_social.inbound.text("keep me", from_=CUSTOMER)["wamid"]
    exported = eum_social.export_state()
    eum_social.reset()
    assert eum_social.events(kind="inbound")["events"] == []
    assert eum_social.import_state(exported) == {"imported": True}
    assert [e["wamid"] for e in eum_social.events(kind="inbound")["events"]] == [wamid]
    assert eum_social.export_state() == exported
    with pytest.raises(ControlError) as bad:
        eum_social.import_state({"version": 1, "partitions": "no"})
    assert bad.value.status == 400
    assert "invalid state document" in bad.value.message


def test_sns_subscriptions(eum_social):
    unreachable = "http://127.0.0.1:9/hook"  # the discard port: nothing listens
    subscription = eum_social.sns.subscribe(SEED_TOPIC, unreachable)
    assert subscription.get("confirmationError")
    arn = subscription["subscriptionArn"]
    assert arn in [s["subscriptionArn"] for s in eum_social.sns.subscriptions()["subscriptions"]]
    assert "deliveries" in eum_social.sns.deliveries(state="failed")
    eum_social.sns.redrive()
    eum_social.sns.unsubscribe(arn)
    assert eum_social.sns.subscriptions()["subscriptions"] == []


def test_restore_configuration_undoes_faults_subscriptions_and_quotas(eum_social):
    eum_social.faults.add(operation="TagResource", error={"type": "InvalidParametersException"})
    eum_social.sns.subscribe(SEED_TOPIC, "http://127.0.0.1:9/hook")
    eum_social.request("PUT", "/quotas", {"enabled": False})
    eum_social.restore_configuration()
    assert eum_social.faults.list()["rules"] == []
    assert eum_social.sns.subscriptions()["subscriptions"] == []
    assert eum_social.request("GET", "/quotas")["enabled"] is True


def test_control_errors_carry_status_and_message(eum_social):
    with pytest.raises(ControlError) as missing:
        eum_social.templates.approve("1234567890")
    assert missing.value.status == 404
    assert "does not exist" in missing.value.message
    assert missing.value.body == {"message": missing.value.message}
    with pytest.raises(ControlError) as bad:
        eum_social.inbound.text("hi", from_="12")
    assert bad.value.status == 400
    assert "not a WhatsApp phone number" in str(bad.value)


def test_the_control_token_is_sent():
    with EumSocial(control_token="s3cret") as server:
        server.inbound.text("Hi", from_=CUSTOMER)
        assert len(server.events()["events"]) == 1
        anonymous = Control(server.endpoint_url)
        assert anonymous.health()["status"] == "ok"  # open for liveness probes
        with pytest.raises(ControlError) as refused:
            anonymous.events()
        assert refused.value.status == 401


def test_the_raw_request_reaches_every_endpoint(eum_social):
    portfolio = eum_social.request("GET", "/portfolios")["portfolios"][0]["businessPortfolioId"]
    updated = eum_social.request(
        "PUT", f"/portfolios/{portfolio}", {"messagingLimitTier": "TIER_10K"}
    )
    assert updated["messagingLimitTier"] == "TIER_10K"
    with pytest.raises(ControlError) as unknown:
        eum_social.request("GET", "/no-such-endpoint")
    assert unknown.value.status == 404
