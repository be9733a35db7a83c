"""What the collector accepts: one event, or `{"events": [...]}`, checked field by field.

A request is all or nothing: the first bad field rejects it whole, with the status and the
field's path in the message, so a client fixes its payload instead of losing part of it.
Whatever passes is what PostgreSQL stores as it is (text it can hold, times in UTC): a value
the database refused would fail the write of every request batched with it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NoReturn, overload
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import String

from metricx.asgi import Rejected
from metricx.models import PixelEvent, Workspace

# add_to_cart: Shopify's product_added_to_cart, sent by the custom pixel (shopify_custom_pixel.js).
EVENT_TYPES = ("page_view", "add_to_cart", "purchase")
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
MAX_URL_LENGTH = 2048
# Browser clocks drift by minutes, not hours; an event older than a month is a replay or a
# broken clock, and no attribution window reaches back to it usefully.
MAX_CLOCK_AHEAD = timedelta(hours=1)
MAX_AGE = timedelta(days=30)
# No field holds a longer number (an order id has 64 characters); Python's json would fail
# mid-parse on an integer of more than 4,300 digits (int_max_str_digits).
MAX_NUMBER_DIGITS = 64
# C0, DEL and C1: invisible in the app, and NUL is the one character PostgreSQL text refuses.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f]")
FIELDS = (
    "workspace_key",
    "event_id",
    "anonymous_id",
    "event",
    "url",
    "referrer",
    "timestamp",
    "order_id",
    *UTM_FIELDS,
)


# What a browser sends when it posts a JSON text: fetch with a JSON type, or a string body from
# sendBeacon or fetch, which goes as text/plain;charset=UTF-8 (Fetch standard, "extract a
# body": https://fetch.spec.whatwg.org/#concept-bodyinit-extract). text/plain is the type that
# needs no CORS preflight. No type at all is taken too (a Blob without one). A form is not:
# `curl -d` sends one unless told -H "Content-Type: application/json".
JSON_MEDIA_TYPES = ("application/json", "text/plain")


def _column_length(name: str) -> int:
    column = (
        Workspace.__table__.c.pixel_key if name == "workspace_key" else PixelEvent.__table__.c[name]
    )
    if not isinstance(column.type, String) or column.type.length is None:
        raise TypeError(f"{name} is not stored in a column of bounded length")
    return column.type.length


@dataclass(frozen=True)
class PixelEventIn:
    """One checked event, its workspace still named by key."""

    workspace_key: str
    event_id: str
    anonymous_id: str
    event: str
    url: str
    referrer: str | None
    utm: dict[str, str | None]
    order_id: str | None
    occurred_at: datetime

    def row(self, workspace_id: int) -> dict[str, Any]:
        """The `pixel_events` row."""
        return {
            "workspace_id": workspace_id,
            "event_id": self.event_id,
            "anonymous_id": self.anonymous_id,
            "event": self.event,
            "url": self.url,
            "referrer": self.referrer,
            **self.utm,
            "order_external_id": self.order_id,
            "occurred_at": self.occurred_at,
        }


@dataclass(frozen=True)
class Payload:
    events: list[PixelEventIn]
    batched: bool  # sent as {"events": [...]}: fields are named events[i].name

    def field(self, index: int, name: str) -> str:
        return _prefix(index if self.batched else None) + name


def _prefix(index: int | None) -> str:
    """How a field of the event at `index` of a batch is named (a single event: no prefix)."""
    return "" if index is None else f"events[{index}]."


def check_content_type(header: str | None) -> None:
    """Refuse (415) a body that is declared as something other than JSON text, such as a form
    (sendBeacon with FormData or URLSearchParams), or text in another charset than UTF-8."""
    media, *params = (header or "").split(";")
    media = media.strip().lower()
    if media and media not in JSON_MEDIA_TYPES and not media.endswith("+json"):
        raise Rejected(
            415, f"the body must be JSON sent as {' or '.join(JSON_MEDIA_TYPES)}, not {media}"
        )
    for param in params:
        name, _, value = param.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
            raise Rejected(415, f"the body must be UTF-8, not {charset or 'an empty charset'}")


def parse_payload(raw: bytes, *, max_events: int, now: datetime) -> Payload:
    """The events of a request body, or Rejected (400 not JSON, 401 no key, 422 a bad field)."""
    try:  # JSON on the wire is UTF-8 (RFC 8259)
        body = json.loads(raw.decode(), parse_int=_integer, parse_constant=_not_a_number)
    except UnicodeDecodeError:
        raise Rejected(400, "malformed JSON: the body is not UTF-8") from None
    except RecursionError:
        raise Rejected(400, "malformed JSON: nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, or a value the decoder cannot build
        raise Rejected(400, f"malformed JSON: {error}") from None
    if not isinstance(body, dict):
        raise Rejected(422, 'the body must be a JSON object: one event, or {"events": [...]}')
    if "events" not in body:
        return Payload([parse_event(body, _prefix(None), now)], batched=False)
    items = body["events"]
    if set(body) != {"events"}:
        extra = sorted(set(body) - {"events"})[0]
        raise Rejected(422, "unknown field beside events (put it inside each event)", extra)
    if not isinstance(items, list) or not 1 <= len(items) <= max_events:
        raise Rejected(422, f"must be a list of 1 to {max_events} events", "events")
    return Payload(
        [parse_event(item, _prefix(i), now) for i, item in enumerate(items)], batched=True
    )


def _integer(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise Rejected(
            400,
            f"malformed JSON: a number of {len(digits.lstrip('-')):,} digits "
            f"(at most {MAX_NUMBER_DIGITS} are read)",
        )
    return int(digits)


def _not_a_number(constant: str) -> NoReturn:
    """Python's json reads NaN and Infinity; JSON has neither (RFC 8259, section 6)."""
    raise Rejected(400, f"malformed JSON: {constant} is not a JSON number")


def parse_event(item: object, prefix: str, now: datetime) -> PixelEventIn:
    if not isinstance(item, dict):
        raise Rejected(422, "an event must be a JSON object", prefix.rstrip(".") or None)
    unknown = sorted(set(item) - set(FIELDS))
    if unknown:
        raise Rejected(422, f"unknown field (known: {', '.join(FIELDS)})", prefix + unknown[0])
    key = item.get("workspace_key")
    if key is None or key == "":
        raise Rejected(
            401, "required: the workspace's pixel key (Settings → Pixel)", prefix + "workspace_key"
        )
    event = _text(item, "event", prefix, required=True)
    if event not in EVENT_TYPES:
        raise Rejected(
            422, f"must be one of {', '.join(EVENT_TYPES)}, got {event!r}", prefix + "event"
        )
    url = _url(item, prefix)
    order_id = _order_id(item, prefix, purchase=event == "purchase")
    return PixelEventIn(
        workspace_key=_text(item, "workspace_key", prefix, required=True),
        event_id=_text(item, "event_id", prefix, required=True),
        anonymous_id=_text(item, "anonymous_id", prefix, required=True),
        event=event,
        url=url,
        referrer=_text(item, "referrer", prefix, max_length=MAX_URL_LENGTH),
        utm=_utm(item, url, prefix),
        order_id=order_id,
        occurred_at=_timestamp(item, prefix, now),
    )


@overload
def _text(
    item: dict[str, Any],
    name: str,
    prefix: str,
    *,
    required: Literal[True],
    max_length: int | None = None,
) -> str: ...
@overload
def _text(
    item: dict[str, Any],
    name: str,
    prefix: str,
    *,
    required: bool = False,
    max_length: int | None = None,
) -> str | None: ...
def _text(
    item: dict[str, Any],
    name: str,
    prefix: str,
    *,
    required: bool = False,
    max_length: int | None = None,
) -> str | None:
    value = item.get(name)
    if value is None or value == "":
        if required:
            raise Rejected(422, "required", prefix + name)
        return None
    if not isinstance(value, str):
        raise Rejected(422, f"must be a string, got {type(value).__name__}", prefix + name)
    limit = max_length or _column_length(name)
    if len(value) > limit:
        raise Rejected(422, f"longer than {limit} characters", prefix + name)
    return _storable(value, prefix + name)


def _storable(value: str, field: str) -> str:
    """PostgreSQL text holds neither NUL nor lone surrogates (JSON can carry both), and no
    browser sends another control character (URLs percent-encode them); one such value must
    be refused here, not fail the whole batch it would be written with."""
    control = CONTROL_CHARACTERS.search(value)
    if control:
        character = control.group()
        raise Rejected(
            422,
            "contains a NUL character"
            if character == "\x00"
            else f"contains a control character (U+{ord(character):04X})",
            field,
        )
    try:
        value.encode()
    except UnicodeEncodeError:
        raise Rejected(422, "is not valid Unicode (a lone surrogate)", field) from None
    return value


def _url(item: dict[str, Any], prefix: str) -> str:
    url = _text(item, "url", prefix, required=True, max_length=MAX_URL_LENGTH)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Rejected(422, f"must be an absolute http(s) URL, got {url[:80]!r}", prefix + "url")
    return url


def _utm(item: dict[str, Any], url: str, prefix: str) -> dict[str, str | None]:
    """UTMs as sent, or else from the page URL's query string. Values from the URL are made
    to fit, since the store does not choose what ad platforms put in its links: control
    characters (a %0A or %00 in the link) become spaces, and the text is cut to the column's
    length. Percent-decoding never yields a lone surrogate (invalid UTF-8 becomes U+FFFD)."""
    query = parse_qs(urlsplit(url).query)
    utm = {}
    for name in UTM_FIELDS:
        if item.get(name) not in (None, ""):
            utm[name] = _text(item, name, prefix)
        else:
            found = CONTROL_CHARACTERS.sub(" ", query.get(name, [""])[0]).strip()
            utm[name] = found[: _column_length(name)] or None
    return utm


def _order_id(item: dict[str, Any], prefix: str, *, purchase: bool) -> str | None:
    value = item.get("order_id")
    if value is None or value == "":
        if purchase:
            raise Rejected(422, "required on a purchase", prefix + "order_id")
        return None
    if not purchase:
        raise Rejected(422, "only a purchase carries an order_id", prefix + "order_id")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # Shopify order ids are numbers
    if not isinstance(value, str):
        raise Rejected(
            422, f"must be a string or a number, got {type(value).__name__}", prefix + "order_id"
        )
    limit = _column_length("order_external_id")
    if len(value) > limit:
        raise Rejected(422, f"longer than {limit} characters", prefix + "order_id")
    return _storable(value, prefix + "order_id")


def _timestamp(item: dict[str, Any], prefix: str, now: datetime) -> datetime:
    field = prefix + "timestamp"
    text = _text(item, "timestamp", prefix, required=True, max_length=64)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Rejected(422, f"not an ISO 8601 time: {text!r}", field) from None
    if moment.tzinfo is None:
        raise Rejected(422, f"needs a UTC offset (e.g. 2026-11-20T15:07:00Z), got {text!r}", field)
    if moment > now + MAX_CLOCK_AHEAD:
        raise Rejected(422, f"{text} is in the future (is the client's clock right?)", field)
    if moment < now - MAX_AGE:
        raise Rejected(422, f"{text} is more than {MAX_AGE.days} days old", field)
    # In UTC, which is what timestamptz stores: Python reads any offset under 24 hours, to the
    # microsecond (+05:30:15.123456), and PostgreSQL reads none beyond ±15:59:59 or with a
    # fraction of a second. The window above keeps the conversion inside years 1 to 9999.
    return moment.astimezone(UTC)
