"""A small shop's WhatsApp bot on AWS End User Messaging Social, as it runs on AWS.

The WABA's event destination is an SNS topic and this app is an HTTP(S) subscriber of it: every
inbound message and message status arrives as an SNS ``Notification`` whose ``Message`` is AWS's
event envelope, and the envelope's ``whatsAppWebhookEntry`` is Meta's webhook entry as a JSON
string. The bot answers with boto3's ``socialmessaging`` client:

- a customer's message gets a text reply at once: their message opened (or refreshed) the
  24-hour customer service window, inside which any message may be sent;
- :meth:`ShopBot.notify` is an update the shop sends on its own (an order shipped): a text while
  the customer's window is open, the approved template outside it, where WhatsApp accepts
  nothing else (a text would fail with Meta's 131047, "Re-engagement message").

The window is judged from the webhooks' own timestamps against ``now`` (wall time by default; the
tests pass the emulator's virtual clock). Standard library and boto3 only. In production, verify
each SNS message's signature (``SigningCertURL``, ``Signature``) before trusting it.

Run it by hand: the bot on port 8080, then the emulator with the bot subscribed to the seed
WABA's topic, then a customer writing in (the bot's reply shows in the console)::

    AWS_ENDPOINT_URL_SOCIALMESSAGING=http://127.0.0.1:4590 AWS_DEFAULT_REGION=us-east-1 \\
    AWS_ACCESS_KEY_ID=809904170947 AWS_SECRET_ACCESS_KEY=x python shop_bot.py &
    eum-social --sns-subscribe arn:aws:sns:us-east-1:809904170947:base-wecare-digital=http://127.0.0.1:8080/sns &
    eum-social inbound --phone-number-id phone-number-id-baa217c3f11b4ffd956f6f3afb44ce54 \\
        --from +14255550150 --name Diego --text "Where is my order?"
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional

WINDOW_SECONDS = 24 * 3600
META_API_VERSION = "v20.0"

log = logging.getLogger("shop_bot")


def wa_id(number: str) -> str:
    """A WhatsApp id as webhooks write it: the number's digits."""
    return "".join(c for c in number if c.isdigit())


class ShopBot:
    def __init__(
        self,
        client: Any,
        phone_number_id: str,
        *,
        template: str = "hello_world",
        template_language: str = "en_US",
        now: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.phone_number_id = phone_number_id
        self.template = template
        self.template_language = template_language
        self.now = now
        self._lock = threading.Lock()
        self._last_inbound: Dict[str, float] = {}  # customer wa_id → epoch seconds
        self.statuses: Dict[str, List[str]] = {}  # wamid → statuses in arrival order

    # -- SNS and the WhatsApp webhook -----------------------------------------------------------

    def handle_sns(self, body: bytes) -> None:
        notice = json.loads(body)
        kind = notice.get("Type")
        if kind == "SubscriptionConfirmation":
            with urllib.request.urlopen(notice["SubscribeURL"], timeout=10) as answer:
                answer.read()
        elif kind == "Notification":
            self.handle_event(json.loads(notice["Message"]))

    def handle_event(self, envelope: Dict[str, Any]) -> None:
        entry = json.loads(envelope["whatsAppWebhookEntry"])
        for change in entry.get("changes", []):
            value = change.get("value", {})
            names = {
                c.get("wa_id"): c.get("profile", {}).get("name") for c in value.get("contacts", [])
            }
            for message in value.get("messages", []):
                customer = message["from"]
                with self._lock:
                    seen = self._last_inbound.get(customer, 0.0)
                    self._last_inbound[customer] = max(seen, float(message["timestamp"]))
                self.answer(message, names.get(customer))
            for status in value.get("statuses", []):
                with self._lock:
                    self.statuses.setdefault(status["id"], []).append(status["status"])

    def answer(self, message: Dict[str, Any], name: Optional[str]) -> str:
        """The reply to a customer's message (inside the window their message opened)."""
        text = message.get("text", {}).get("body", "") if message.get("type") == "text" else ""
        if "order" in text.lower():
            reply = "Your order #1042 is on its way and arrives on Thursday."
        else:
            reply = f"Hi {name or 'there'}! Reply 'order' to track your order."
        return self.send_text(message["from"], reply, reply_to=message["id"])

    # -- sending ----------------------------------------------------------------------------------

    def window_open(self, customer: str) -> bool:
        with self._lock:
            last = self._last_inbound.get(wa_id(customer))
        return last is not None and self.now() - last < WINDOW_SECONDS

    def notify(self, customer: str, text: str) -> str:
        """An update the shop starts: ``text`` inside the customer's window, else the template.
        Returns the ``messageId``."""
        if self.window_open(customer):
            return self.send_text(customer, text)
        return self.send_template(customer)

    def send_text(self, to: str, body: str, *, reply_to: Optional[str] = None) -> str:
        message: Dict[str, Any] = {
            "messaging_product": "whatsapp",
            "to": to,
            "type": "text",
            "text": {"body": body},
        }
        if reply_to:
            message["context"] = {"message_id": reply_to}
        return self._send(message)

    def send_template(self, to: str) -> str:
        template = {"name": self.template, "language": {"code": self.template_language}}
        return self._send(
            {"messaging_product": "whatsapp", "to": to, "type": "template", "template": template}
        )

    def _send(self, message: Dict[str, Any]) -> str:
        answer = self.client.send_whatsapp_message(
            originationPhoneNumberId=self.phone_number_id,
            message=json.dumps(message).encode(),
            metaApiVersion=META_API_VERSION,
        )
        return str(answer["messageId"])


def serve(bot: ShopBot, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """The SNS endpoint (any path) on a thread; ``server_address`` has the port it got."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            try:
                bot.handle_sns(body)
            except Exception:  # SNS retries a delivery that fails
                log.exception("could not handle an SNS message")
                self.send_response(500)
            else:
                self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            log.debug(format, *args)

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="shop-bot", daemon=True).start()
    return server


if __name__ == "__main__":  # pragma: no cover - the manual run of the module docstring
    import boto3

    logging.basicConfig(level=logging.INFO)
    sm = boto3.client("socialmessaging")
    phone = os.environ.get("PHONE_NUMBER_ID", "phone-number-id-baa217c3f11b4ffd956f6f3afb44ce54")
    http = serve(ShopBot(sm, phone), port=int(os.environ.get("PORT", "8080")))
    log.info("SNS endpoint on http://127.0.0.1:%d/sns", http.server_address[1])
    threading.Event().wait()
