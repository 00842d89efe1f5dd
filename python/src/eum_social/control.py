"""A thin client of the emulator's control API (README "Control API"): one method per endpoint,
each returning the parsed JSON answer, over ``urllib`` from the standard library.

Keyword arguments are written in Python's snake_case and sent in the API's camelCase
(``phone_number_id=`` → ``phoneNumberId``); every request addresses the emulator's default
account and Region unless it names others (``account=``, ``region=``).
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Mapping, Optional, Sequence, Union

from .errors import ControlError, EumSocialError

__all__ = ["Control", "Inbound", "Clock", "Templates", "Faults", "Sns"]

# Loopback traffic never goes through an HTTP proxy set in the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

#: The longest wait ``events(wait=…)`` takes (the control API's ``waitMs`` limit).
MAX_WAIT_SECONDS = 30.0

PathLike = Union[str, "os.PathLike[str]"]


def camel(name: str) -> str:
    """``phone_number_id`` → ``phoneNumberId``; names without ``_`` are kept as they are."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _camel_keys(fields: Mapping[str, Any]) -> Dict[str, Any]:
    return {camel(k): v for k, v in fields.items() if v is not None}


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Control:
    """The control API of an emulator that is already running at ``endpoint_url`` (for one this
    package starts, use :class:`eum_social.EumSocial`, which is a ``Control`` too).

    ``control_token`` is sent as ``x-emulator-token`` (an emulator started with
    ``--control-token``); ``timeout`` bounds each request in seconds (a waiting ``events`` call
    gets its wait on top).
    """

    def __init__(
        self,
        endpoint_url: Optional[str],
        *,
        control_token: Optional[str] = None,
        timeout: float = 30.0,
    ) -> None:
        self._endpoint_url = endpoint_url.rstrip("/") if endpoint_url else None
        self.control_token = control_token
        self.timeout = timeout
        self._health: Optional[Dict[str, Any]] = None
        self._configuration: Optional[Dict[str, Any]] = None
        self.inbound = Inbound(self)
        self.clock = Clock(self)
        self.templates = Templates(self)
        self.faults = Faults(self)
        self.sns = Sns(self)

    # -- the endpoint and the conventions of "Pointing a client at it" -----------------------

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT``: the AWS endpoint URL (and the control API's base)."""
        if self._endpoint_url is None:
            raise EumSocialError("the emulator is not running")
        return self._endpoint_url

    @property
    def account(self) -> str:
        """The default account (the seed's, ``809904170947`` for the built-in seed)."""
        return str(self._defaults()["defaultAccount"])

    @property
    def region(self) -> str:
        """The default Region (the seed's, ``us-east-1`` for the built-in seed)."""
        return str(self._defaults()["defaultRegion"])

    def _defaults(self) -> Dict[str, Any]:
        if self._health is None:
            self._health = self.health()
        return self._health

    def client(
        self,
        service: str = "socialmessaging",
        *,
        account: Optional[str] = None,
        region: Optional[str] = None,
        **kwargs: Any,
    ) -> Any:
        """A boto3 client pointed at the emulator. The access key id picks the account (a 12-digit
        one *is* the account id; default: the emulator's default account), ``region`` the Region
        (default: the emulator's). Other keyword arguments go to ``boto3.client`` and win (e.g.
        real keys with ``--verify-sigv4``, or ``config=botocore.config.Config(…)``)."""
        try:
            import boto3  # type: ignore[import-untyped, unused-ignore]
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise EumSocialError(
                "boto3 is not installed: pip install 'eum-social[boto3]' (or boto3)"
            ) from e
        if account is not None and not (len(account) == 12 and account.isdigit()):
            raise ValueError(f"account must be a 12-digit account id, not {account!r}")
        kwargs.setdefault("endpoint_url", self.endpoint_url)
        kwargs.setdefault("region_name", region or self.region)
        kwargs.setdefault("aws_access_key_id", account or self.account)
        kwargs.setdefault("aws_secret_access_key", "x")
        return boto3.session.Session().client(service, **kwargs)

    # -- HTTP ---------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = None,
    ) -> Any:
        """``METHOD /_emulator{path}`` with an optional JSON ``body`` and ``query`` (``None``
        values left out); returns the parsed JSON answer. A 4xx answer raises
        :class:`ControlError` with its status and message. Every helper goes through here, and
        it reaches what no helper covers, e.g. ``request("PUT", "/portfolios/1019283746556473",
        {"messagingLimitTier": "TIER_10K"})``."""
        url = f"{self.endpoint_url}/_emulator{path}"
        if query:
            pairs = {k: _query_value(v) for k, v in query.items() if v is not None}
            if pairs:
                url += "?" + urllib.parse.urlencode(pairs)
        headers = {"accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["content-type"] = "application/json"
        if self.control_token:
            headers["x-emulator-token"] = self.control_token
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with _OPENER.open(req, timeout=self.timeout if timeout is None else timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raw = e.read()
            parsed: Any
            try:
                parsed = json.loads(raw)
                message = parsed.get("message", "") if isinstance(parsed, dict) else str(parsed)
            except ValueError:
                parsed = message = raw.decode("utf-8", "replace")
            raise ControlError(e.code, str(message), method, path, parsed) from None
        except OSError as e:  # URLError, refused or reset connections, timeouts
            raise self._unreachable(method, path, e) from e
        return json.loads(raw) if raw.strip() else None

    def _dict(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = None,
    ) -> Dict[str, Any]:
        """:meth:`request` for the endpoints that answer a JSON object."""
        answer = self.request(method, path, body, query=query, timeout=timeout)
        if not isinstance(answer, dict):
            raise EumSocialError(f"{method} {path}: expected a JSON object, got {answer!r}")
        return answer

    def _unreachable(self, method: str, path: str, error: BaseException) -> EumSocialError:
        reason = getattr(error, "reason", error)
        return EumSocialError(
            f"{method} {path}: the emulator at {self._endpoint_url} is unreachable: {reason}"
        )

    # -- the control API ------------------------------------------------------------------------

    def health(self) -> Dict[str, Any]:
        """``GET /health``: status, version, default account/Region, S3 backend, operations."""
        return self._dict("GET", "/health")

    def reset(self) -> Dict[str, Any]:
        """``POST /reset``: every account and Region back to the seed; clock, timers, events,
        deliveries, media and the request log cleared (fault rules, quotas and SNS subscriptions
        are configuration and stay; see :meth:`restore_configuration`)."""
        return self._dict("POST", "/reset")

    def wabas(
        self, *, account: Optional[str] = None, region: Optional[str] = None
    ) -> Dict[str, Any]:
        """``GET /wabas``: the WABAs of the account and Region with their phone numbers."""
        return self._dict("GET", "/wabas", query={"account": account, "region": region})

    @property
    def phone_number_id(self) -> str:
        """The first phone number of the first WABA of the default account and Region (with the
        built-in seed: ``phone-number-id-baa217c3f11b4ffd956f6f3afb44ce54``)."""
        for waba in self.wabas()["wabas"]:
            for number in waba.get("phoneNumbers", []):
                return str(number["phoneNumberId"])
        raise EumSocialError("the default account and Region have no phone number")

    @property
    def waba_id(self) -> str:
        """The first WABA of the default account and Region."""
        wabas = self.wabas()["wabas"]
        if not wabas:
            raise EumSocialError("the default account and Region have no WABA")
        return str(wabas[0]["wabaId"])

    def messages(self, **filters: Any) -> Dict[str, Any]:
        """``GET /messages``: accepted outbound messages, oldest first, with the decoded Meta
        message and status history. Filters: ``phone_number_id``, ``to``, ``message_id``,
        ``limit``, ``account``, ``region``."""
        return self._dict("GET", "/messages", query=_camel_keys(filters))

    def events(
        self,
        *,
        count: Optional[int] = None,
        wait: Optional[float] = None,
        **filters: Any,
    ) -> Dict[str, Any]:
        """``GET /events``: the event log, oldest first. Filters: ``kind``, ``status``,
        ``message_id``, ``wamid``, ``waba_id``, ``phone_number_id``, ``field``, ``after``,
        ``limit``, ``account``, ``region``.

        ``count`` with ``wait`` (seconds, at most 30) is the long poll: the answer comes as soon
        as ``count`` events match, or after ``wait`` with those that do (possibly fewer: check
        the length). ``wait`` alone waits for one; ``count`` alone waits up to 5 s."""
        query = _camel_keys(filters)
        if wait is not None:
            if not 0 <= wait <= MAX_WAIT_SECONDS:
                raise ValueError(f"wait must be between 0 and {MAX_WAIT_SECONDS:g} seconds")
            query["waitMs"] = int(wait * 1000)
            if count is None:
                count = 1
        if count is not None:
            query["count"] = count
        waits = (5.0 if wait is None else wait) if count else 0.0
        return self._dict("GET", "/events", query=query, timeout=self.timeout + waits)

    def export_state(self) -> Dict[str, Any]:
        """``GET /state``: the whole state as one JSON document."""
        return self._dict("GET", "/state")

    def import_state(self, document: Mapping[str, Any]) -> Dict[str, Any]:
        """``PUT /state``: replaces the whole state with an exported document, all or nothing."""
        return self._dict("PUT", "/state", dict(document))

    # -- configuration a test may change, put back by the pytest plugin ------------------------

    def snapshot_configuration(self) -> None:
        """Remembers the fault rules, SNS subscriptions and quotas in force now, for
        :meth:`restore_configuration` (:class:`EumSocial` takes it when it starts)."""
        self._configuration = {
            "faults": {r["id"] for r in self.faults.list()["rules"]},
            "subscriptions": {
                s["subscriptionArn"] for s in self.sns.subscriptions()["subscriptions"]
            },
            "quotas": self._quotas_body(self.request("GET", "/quotas")),
        }

    def restore_configuration(self) -> None:
        """Removes the fault rules and SNS subscriptions added since the snapshot and puts its
        quotas back: what :meth:`reset` keeps, as the emulator treats it as configuration."""
        snapshot = self._configuration
        if snapshot is None:
            raise EumSocialError("no configuration snapshot: call snapshot_configuration() first")
        for rule in self.faults.list()["rules"]:
            if rule["id"] not in snapshot["faults"]:
                self.faults.remove(rule["id"])
        for sub in self.sns.subscriptions()["subscriptions"]:
            if sub["subscriptionArn"] not in snapshot["subscriptions"]:
                self.sns.unsubscribe(sub["subscriptionArn"])
        if self._quotas_body(self.request("GET", "/quotas")) != snapshot["quotas"]:
            self.request("PUT", "/quotas", snapshot["quotas"])

    @staticmethod
    def _quotas_body(quotas: Mapping[str, Any]) -> Dict[str, Any]:
        return {"enabled": quotas["enabled"], "operations": quotas["operations"]}


class Inbound:
    """``POST /inbound``: a customer writes to a business number. Each method is one of Meta's
    inbound message types and returns the answer (``wamid``, ``windowExpiresAtMs``, ``event``).

    Common keyword arguments: ``from_`` (the customer's number, required), ``phone_number_id``
    (default: :attr:`Control.phone_number_id`), ``profile_name``, ``context`` (the wamid the
    customer replies to, or Meta's context object), ``account``, ``region``.
    """

    def __init__(self, control: Control) -> None:
        self._control = control

    def __call__(
        self,
        message_type: str = "text",
        *,
        from_: str,
        phone_number_id: Optional[str] = None,
        profile_name: Optional[str] = None,
        context: Union[str, Mapping[str, Any], None] = None,
        account: Optional[str] = None,
        region: Optional[str] = None,
        **fields: Any,
    ) -> Dict[str, Any]:
        """Any inbound message: ``fields`` are the rest of the request as the control API takes
        it, e.g. ``inbound("text", from_="+14255550150", text="hi")``."""
        body: Dict[str, Any] = {
            "phoneNumberId": phone_number_id or self._control.phone_number_id,
            "from": from_,
            "type": message_type,
        }
        if profile_name is not None:
            body["profileName"] = profile_name
        if context is not None:
            body["context"] = {"id": context} if isinstance(context, str) else dict(context)
        if account is not None:
            body["account"] = account
        if region is not None:
            body["region"] = region
        body.update(fields)
        return self._control._dict("POST", "/inbound", body)

    def text(self, body: str, *, from_: str, **common: Any) -> Dict[str, Any]:
        """A text message."""
        return self("text", from_=from_, text={"body": body}, **common)

    def _media(
        self,
        kind: str,
        from_: str,
        data: Optional[bytes],
        path: Optional[PathLike],
        mime_type: Optional[str],
        extra: Mapping[str, Any],
        common: Mapping[str, Any],
    ) -> Dict[str, Any]:
        obj: Dict[str, Any] = {k: v for k, v in extra.items() if v is not None}
        if mime_type is not None:
            obj["mime_type"] = mime_type
        fields: Dict[str, Any] = {kind: obj}
        if data is not None and path is not None:
            raise ValueError("give data or path, not both")
        if data is not None:
            fields["file"] = {"base64": base64.b64encode(data).decode("ascii")}
        elif path is not None:
            fields["file"] = {"path": os.path.abspath(os.fspath(path))}
        return self(kind, from_=from_, **fields, **common)

    def image(
        self,
        *,
        from_: str,
        data: Optional[bytes] = None,
        path: Optional[PathLike] = None,
        mime_type: Optional[str] = None,
        caption: Optional[str] = None,
        **common: Any,
    ) -> Dict[str, Any]:
        """An image: its bytes (``data``) or a file of this machine (``path``); without either a
        placeholder file stands in. The media id can be fetched with GetWhatsAppMessageMedia."""
        return self._media("image", from_, data, path, mime_type, {"caption": caption}, common)

    def video(
        self,
        *,
        from_: str,
        data: Optional[bytes] = None,
        path: Optional[PathLike] = None,
        mime_type: Optional[str] = None,
        caption: Optional[str] = None,
        **common: Any,
    ) -> Dict[str, Any]:
        """A video (see :meth:`image`)."""
        return self._media("video", from_, data, path, mime_type, {"caption": caption}, common)

    def audio(
        self,
        *,
        from_: str,
        data: Optional[bytes] = None,
        path: Optional[PathLike] = None,
        mime_type: Optional[str] = None,
        voice: Optional[bool] = None,
        **common: Any,
    ) -> Dict[str, Any]:
        """An audio message or voice note (see :meth:`image`)."""
        return self._media("audio", from_, data, path, mime_type, {"voice": voice}, common)

    def document(
        self,
        *,
        from_: str,
        data: Optional[bytes] = None,
        path: Optional[PathLike] = None,
        mime_type: Optional[str] = None,
        filename: Optional[str] = None,
        caption: Optional[str] = None,
        **common: Any,
    ) -> Dict[str, Any]:
        """A document (see :meth:`image`)."""
        extra = {"filename": filename, "caption": caption}
        return self._media("document", from_, data, path, mime_type, extra, common)

    def sticker(
        self,
        *,
        from_: str,
        data: Optional[bytes] = None,
        path: Optional[PathLike] = None,
        mime_type: Optional[str] = None,
        **common: Any,
    ) -> Dict[str, Any]:
        """A sticker (see :meth:`image`)."""
        return self._media("sticker", from_, data, path, mime_type, {}, common)

    def location(
        self,
        latitude: float,
        longitude: float,
        *,
        from_: str,
        name: Optional[str] = None,
        address: Optional[str] = None,
        **common: Any,
    ) -> Dict[str, Any]:
        """A location pin."""
        obj = {"latitude": latitude, "longitude": longitude, "name": name, "address": address}
        location = {k: v for k, v in obj.items() if v is not None}
        return self("location", from_=from_, location=location, **common)

    def contacts(
        self, contacts: Sequence[Mapping[str, Any]], *, from_: str, **common: Any
    ) -> Dict[str, Any]:
        """Contact cards in Meta's form, e.g. ``[{"name": {"formatted_name": "Ana"},
        "phones": [{"phone": "+14255550123"}]}]``."""
        return self("contacts", from_=from_, contacts=[dict(c) for c in contacts], **common)

    def button_reply(self, id: str, title: str, *, from_: str, **common: Any) -> Dict[str, Any]:
        """A tap on a reply button of an interactive message (pass ``context=`` its wamid)."""
        interactive = {"type": "button_reply", "button_reply": {"id": id, "title": title}}
        return self("interactive", from_=from_, interactive=interactive, **common)

    def list_reply(
        self,
        id: str,
        title: str,
        *,
        from_: str,
        description: Optional[str] = None,
        **common: Any,
    ) -> Dict[str, Any]:
        """A choice from a list message (pass ``context=`` its wamid)."""
        reply = {"id": id, "title": title}
        if description is not None:
            reply["description"] = description
        interactive = {"type": "list_reply", "list_reply": reply}
        return self("interactive", from_=from_, interactive=interactive, **common)

    def flow_reply(
        self,
        response: Union[Mapping[str, Any], str],
        *,
        from_: str,
        body: str = "Sent",
        name: str = "flow",
        **common: Any,
    ) -> Dict[str, Any]:
        """A completed WhatsApp Flow (``nfm_reply``): ``response`` is its response JSON."""
        response_json = response if isinstance(response, str) else json.dumps(response)
        reply = {"response_json": response_json, "body": body, "name": name}
        interactive = {"type": "nfm_reply", "nfm_reply": reply}
        return self("interactive", from_=from_, interactive=interactive, **common)

    def button(self, text: str, payload: str, *, from_: str, **common: Any) -> Dict[str, Any]:
        """A tap on a template's quick-reply button (pass ``context=`` the template's wamid)."""
        return self("button", from_=from_, button={"text": text, "payload": payload}, **common)

    def reaction(self, message_id: str, emoji: str, *, from_: str, **common: Any) -> Dict[str, Any]:
        """A reaction to the message with wamid ``message_id``."""
        reaction = {"message_id": message_id, "emoji": emoji}
        return self("reaction", from_=from_, reaction=reaction, **common)

    def system(self, system: Mapping[str, Any], *, from_: str, **common: Any) -> Dict[str, Any]:
        """A system message in Meta's form (``{"type": …, "body": …}``)."""
        return self("system", from_=from_, system=dict(system), **common)


class Clock:
    """The virtual clock: ``GET``/``POST /clock`` and ``POST /clock/advance``. Each method
    returns the clock (``nowMs``, ``now``, ``frozen``, ``pendingTimers``, …)."""

    def __init__(self, control: Control) -> None:
        self._control = control

    def get(self) -> Dict[str, Any]:
        """The clock now."""
        return self._control._dict("GET", "/clock")

    def now_ms(self) -> int:
        """The virtual time in epoch milliseconds."""
        return int(self.get()["nowMs"])

    def advance(
        self,
        seconds: float = 0,
        *,
        ms: float = 0,
        minutes: float = 0,
        hours: float = 0,
        days: float = 0,
    ) -> Dict[str, Any]:
        """Moves the clock forward by the sum of the arguments; timers that fall due run in
        order, each at its own virtual time (statuses, template reviews, window expiry, …)."""
        total = ms + 1000 * (seconds + 60 * minutes + 3600 * hours + 86400 * days)
        return self._control._dict("POST", "/clock/advance", {"ms": total})

    def freeze(self) -> Dict[str, Any]:
        """Stops the clock (only :meth:`advance` and :meth:`set` move it)."""
        return self._control._dict("POST", "/clock", {"frozen": True})

    def resume(self) -> Dict[str, Any]:
        """Lets a frozen clock run again."""
        return self._control._dict("POST", "/clock", {"frozen": False})

    def set(self, now: Union[int, datetime.datetime]) -> Dict[str, Any]:
        """Jumps forward to ``now`` (epoch milliseconds, or an aware ``datetime``)."""
        now_ms = int(now.timestamp() * 1000) if isinstance(now, datetime.datetime) else int(now)
        return self._control._dict("POST", "/clock", {"nowMs": now_ms})


class Templates:
    """Meta's side of template review: ``GET /templates``, ``POST /templates/{id}/review``,
    ``PUT /templates/{id}/quality``. Templates are named by their ``metaTemplateId`` (what
    CreateWhatsAppMessageTemplate answers)."""

    def __init__(self, control: Control) -> None:
        self._control = control

    def list(
        self,
        *,
        waba_id: Optional[str] = None,
        account: Optional[str] = None,
        region: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Every template with status, reason, quality and pauses."""
        query = {"wabaId": waba_id, "account": account, "region": region}
        return self._control._dict("GET", "/templates", query=query)

    def review(
        self,
        meta_template_id: str,
        decision: str,
        *,
        reason: Optional[str] = None,
        account: Optional[str] = None,
        region: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Meta's decision: ``APPROVE``, ``REJECT``, ``PAUSE``, ``UNPAUSE`` or ``DISABLE``."""
        body = _camel_keys(
            {"decision": decision, "reason": reason, "account": account, "region": region}
        )
        path = f"/templates/{urllib.parse.quote(str(meta_template_id), safe='')}/review"
        return self._control._dict("POST", path, body)

    def approve(self, meta_template_id: str, **scope: Any) -> Dict[str, Any]:
        """Approves the template (``message_template_status_update`` follows)."""
        return self.review(meta_template_id, "APPROVE", **scope)

    def reject(
        self, meta_template_id: str, reason: str = "INVALID_FORMAT", **scope: Any
    ) -> Dict[str, Any]:
        """Rejects the template with Meta's ``reason`` (``SCAM``, ``PROMOTIONAL``, …)."""
        return self.review(meta_template_id, "REJECT", reason=reason, **scope)

    def pause(self, meta_template_id: str, **scope: Any) -> Dict[str, Any]:
        """Pauses the template (3 h, then 6 h; the third pause disables it, as Meta does)."""
        return self.review(meta_template_id, "PAUSE", **scope)

    def unpause(self, meta_template_id: str, **scope: Any) -> Dict[str, Any]:
        """Ends a pause."""
        return self.review(meta_template_id, "UNPAUSE", **scope)

    def disable(self, meta_template_id: str, **scope: Any) -> Dict[str, Any]:
        """Disables the template."""
        return self.review(meta_template_id, "DISABLE", **scope)

    def quality(self, meta_template_id: str, score: str, **scope: Any) -> Dict[str, Any]:
        """Sets the quality score: ``GREEN``, ``YELLOW``, ``RED`` or ``UNKNOWN``."""
        body = _camel_keys({"quality_score": score, **scope})
        path = f"/templates/{urllib.parse.quote(str(meta_template_id), safe='')}/quality"
        return self._control._dict("PUT", path, body)


class Faults:
    """Fault rules (README "Rate limits, faults, request log"): ``POST``/``GET``/``DELETE
    /faults`` and ``DELETE /faults/{id}``."""

    def __init__(self, control: Control) -> None:
        self._control = control

    def add(self, rule: Optional[Mapping[str, Any]] = None, **fields: Any) -> Dict[str, Any]:
        """Adds a rule, given as the API's JSON object and/or keyword arguments
        (``operation="SendWhatsAppMessage", error={"type": "DependencyException"}``,
        ``every_nth=2``, ``meta_error={"code": 131026}``, ``drop_connection=True``,
        ``latency_ms=500``, …); returns it with its ``id``."""
        body = dict(rule or {})
        body.update(_camel_keys(fields))
        return self._control._dict("POST", "/faults", body)

    def list(self) -> Dict[str, Any]:
        """The rules with their ``matched`` and ``fired`` counts, and the ``seedRng``."""
        return self._control._dict("GET", "/faults")

    def remove(self, rule_id: int) -> Dict[str, Any]:
        """Removes one rule."""
        return self._control._dict("DELETE", f"/faults/{int(rule_id)}")

    def clear(self) -> Dict[str, Any]:
        """Removes every rule (also those given with ``--faults``)."""
        return self._control._dict("DELETE", "/faults")


class Sns:
    """SNS HTTP(S) subscribers of event destination topics: ``/sns/subscriptions`` and
    ``/sns/deliveries``."""

    def __init__(self, control: Control) -> None:
        self._control = control

    def subscribe(
        self,
        topic_arn: str,
        endpoint: str,
        *,
        raw_message_delivery: bool = False,
        signature_version: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Subscribes ``endpoint`` to the topic; its SubscriptionConfirmation is sent before the
        answer (``confirmationError`` says why it could not be)."""
        body = _camel_keys(
            {
                "topic_arn": topic_arn,
                "endpoint": endpoint,
                "raw_message_delivery": raw_message_delivery,
                "signature_version": signature_version,
            }
        )
        return self._control._dict("POST", "/sns/subscriptions", body)

    def subscriptions(self) -> Dict[str, Any]:
        """Every subscription with its state."""
        return self._control._dict("GET", "/sns/subscriptions")

    def unsubscribe(self, subscription_arn: str) -> Dict[str, Any]:
        """Removes a subscription."""
        query = {"subscriptionArn": subscription_arn}
        return self._control._dict("DELETE", "/sns/subscriptions", query=query)

    def deliveries(self, *, state: Optional[str] = None) -> Dict[str, Any]:
        """Deliveries (``state``: ``pending``, ``delivered`` or ``failed``)."""
        return self._control._dict("GET", "/sns/deliveries", query={"state": state})

    def redrive(self) -> Dict[str, Any]:
        """Retries the failed deliveries."""
        return self._control._dict("POST", "/sns/deliveries/redrive")
