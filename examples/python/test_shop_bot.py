"""The shop bot against the emulator, through the eum-social pytest plugin: `eum_social` is the
session's emulator (reset before each test), `eum_social_client` a boto3 client of it."""

import json

import pytest

from shop_bot import ShopBot, serve

CUSTOMER = "+14255550150"
# The seed WABA's event destination (README "Seed").
TOPIC = "arn:aws:sns:us-east-1:809904170947:base-wecare-digital"


@pytest.fixture
def bot(eum_social, eum_social_client):
    """The bot on its own port, subscribed to the WABA's topic, judging the 24-hour window on
    the emulator's virtual clock."""
    bot = ShopBot(
        eum_social_client,
        eum_social.phone_number_id,
        now=lambda: eum_social.clock.now_ms() / 1000,
    )
    http = serve(bot)
    subscription = eum_social.sns.subscribe(TOPIC, f"http://127.0.0.1:{http.server_address[1]}/sns")
    assert "confirmationError" not in subscription, subscription
    yield bot
    http.shutdown()
    http.server_close()


def wait_sent(eum_social, message_id=None):
    """The `sent` status of a message the bot sent (of its first one without `message_id`)."""
    events = eum_social.events(
        kind="status", status="sent", message_id=message_id, count=1, wait=10
    )
    [sent] = events["events"]
    return sent


def payload(eum_social, message_id):
    [message] = eum_social.messages(message_id=message_id)["messages"]
    return message["payload"]


def test_the_subscription_is_confirmed(eum_social, bot):
    [subscription] = eum_social.sns.subscriptions()["subscriptions"]
    assert subscription["status"] == "Confirmed"


def test_a_customer_s_message_gets_a_reply_inside_the_window(eum_social, bot):
    inbound = eum_social.inbound.text("Where is my order?", from_=CUSTOMER, profile_name="Diego")
    reply = payload(eum_social, wait_sent(eum_social)["messageId"])
    assert reply["type"] == "text"
    assert "on its way" in reply["text"]["body"]
    assert reply["context"] == {"message_id": inbound["wamid"]}


def test_a_greeting_gets_the_menu(eum_social, bot):
    eum_social.inbound.text("Hello", from_=CUSTOMER, profile_name="Diego")
    reply = payload(eum_social, wait_sent(eum_social)["messageId"])
    assert reply["text"]["body"] == "Hi Diego! Reply 'order' to track your order."


def test_an_update_inside_the_window_is_a_text(eum_social, bot):
    eum_social.inbound.text("Hi", from_=CUSTOMER)
    wait_sent(eum_social)
    eum_social.clock.advance(hours=23)
    message_id = bot.notify(CUSTOMER, "Your order has shipped.")
    wait_sent(eum_social, message_id)
    assert payload(eum_social, message_id)["text"]["body"] == "Your order has shipped."


def test_an_update_outside_the_window_is_the_template(eum_social, bot):
    eum_social.inbound.text("Hi", from_=CUSTOMER)
    wait_sent(eum_social)
    eum_social.clock.advance(hours=25)
    message_id = bot.notify(CUSTOMER, "Your order has shipped.")
    wait_sent(eum_social, message_id)
    assert payload(eum_social, message_id)["template"]["name"] == "hello_world"
    assert eum_social.events(kind="status", status="failed")["events"] == []


def test_a_customer_who_never_wrote_gets_the_template(eum_social, bot):
    message_id = bot.notify("+14255550177", "Your order has shipped.")
    wait_sent(eum_social, message_id)
    assert payload(eum_social, message_id)["type"] == "template"


def test_why_a_text_outside_the_window_is_not_sent(eum_social, bot):
    eum_social.inbound.text("Hi", from_=CUSTOMER)
    wait_sent(eum_social)
    eum_social.clock.advance(hours=25)
    message_id = bot.send_text(CUSTOMER, "Your order has shipped.")
    [failed] = eum_social.events(kind="status", status="failed", message_id=message_id, wait=10)[
        "events"
    ]
    entry = json.loads(failed["envelope"]["whatsAppWebhookEntry"])
    [status] = entry["changes"][0]["value"]["statuses"]
    assert status["errors"][0]["code"] == 131047  # Re-engagement message
