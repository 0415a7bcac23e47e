"""What the page may say to the server, checked before anything acts on it.

Two things travel over the signalling request and the call's data channel from the browser:
the offer (an SDP offer and the number dialled) and, during the call, keypad presses and the
hang-up. Both come from a network peer, so they are parsed as untrusted data: a size limit,
JSON objects only, a known `type`, exactly the fields expected. A message that is not one of
these is a `BadMessage` whose text says what was wrong (it is logged; for the offer it is the
400 answer); nothing in a message is ever executed or used as a path.

Server -> page messages are built in `line.py`: `{"type": "show", "role": ..., "text": ...}`
for each line of dialogue and `{"type": "bye"}` when the call ends.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from callwright.ivr.events import Dtmf, Hangup

MAX_OFFER_BYTES = 64 * 1024
"""An SDP offer from a browser is 2-6 kB; a request body over this is refused (413)."""
MAX_MESSAGE_BYTES = 256
"""A keypad or hang-up message is about 30 bytes; a data-channel message over this is refused."""
MAX_NUMBER_CHARS = 32
KEYS = frozenset("0123456789*#ABCD")


class BadMessage(ValueError):
    """A request or data-channel message that is not one this endpoint understands."""


class TooLarge(BadMessage):
    """A request or message over its size limit."""


@dataclass(frozen=True)
class Offer:
    sdp: str
    number: str


def _object(raw: bytes | str, limit: int, what: str) -> dict[str, Any]:
    if len(raw) > limit:
        raise TooLarge(f"{what} is {len(raw)} bytes; the limit is {limit}")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadMessage(f"{what} is not JSON") from None
    if not isinstance(data, dict):
        raise BadMessage(f"{what} must be a JSON object, got {type(data).__name__}")
    return data


def _field(data: dict[str, Any], name: str, what: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise BadMessage(f"{what}: field {name!r} must be a string")
    return value


def parse_offer(body: bytes) -> Offer:
    """The POSTed offer: `{"type": "offer", "sdp": "v=0...", "number": "100"}` (the number
    as the page listed it; "" when the page offers the server's default flow)."""
    data = _object(body, MAX_OFFER_BYTES, "the offer")
    if data.get("type") != "offer":
        raise BadMessage('the offer: field "type" must be "offer"')
    sdp = _field(data, "sdp", "the offer")
    number = _field(data, "number", "the offer")
    if not sdp.startswith("v=0"):
        raise BadMessage('the offer: "sdp" is not a session description (it must start with v=0)')
    if len(number) > MAX_NUMBER_CHARS:  # "" is allowed: the server's default flow
        raise BadMessage(f'the offer: "number" must be at most {MAX_NUMBER_CHARS} characters')
    extra = set(data) - {"type", "sdp", "number"}
    if extra:
        raise BadMessage(f"the offer: unknown field(s) {', '.join(sorted(map(repr, extra)))}")
    return Offer(sdp, number)


def parse_call_message(raw: bytes | str) -> Dtmf | Hangup:
    """A data-channel message: `{"type": "key", "key": "5"}` or `{"type": "hangup"}`."""
    if isinstance(raw, bytes):
        raise BadMessage("a binary data-channel message (keys and hang-up are JSON text)")
    data = _object(raw, MAX_MESSAGE_BYTES, "the message")
    kind = data.get("type")
    if kind == "hangup" and set(data) == {"type"}:
        return Hangup()
    if kind == "key" and set(data) == {"type", "key"}:
        key = data["key"]
        if isinstance(key, str) and key in KEYS:
            return Dtmf(key)
        raise BadMessage(f"the message: key must be one of {''.join(sorted(KEYS))}")
    raise BadMessage('the message must be {"type": "key", "key": K} or {"type": "hangup"}')
