"""What the page may send is parsed as untrusted input: anything else is a BadMessage, never
another exception and never an action."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callwright.ivr.events import Dtmf, Hangup
from callwright.server.webrtc.messages import (
    MAX_MESSAGE_BYTES,
    BadMessage,
    Offer,
    TooLarge,
    parse_call_message,
    parse_offer,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300), json_values.map(json.dumps)))
def test_any_message_is_a_key_a_hang_up_or_a_bad_message(raw):
    try:
        event = parse_call_message(raw)
    except BadMessage:
        return
    assert event == Hangup() or (isinstance(event, Dtmf) and len(event.key) == 1)


@settings(max_examples=300)
@given(st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode())))
def test_any_offer_body_is_an_offer_or_a_bad_message(raw):
    try:
        offer = parse_offer(raw)
    except BadMessage:
        return
    assert isinstance(offer, Offer) and offer.sdp.startswith("v=0")


@pytest.mark.parametrize(
    "raw, event",
    [
        ('{"type": "key", "key": "7"}', Dtmf("7")),
        ('{"type":"key","key":"#"}', Dtmf("#")),
        ('{"type": "hangup"}', Hangup()),
    ],
)
def test_keys_and_hang_up(raw, event):
    assert parse_call_message(raw) == event


@pytest.mark.parametrize(
    "raw",
    [
        '{"type": "key", "key": "12"}',  # one key per message
        '{"type": "key", "key": 1}',
        '{"type": "hangup", "now": true}',
        '{"type": "key", "key": "1", "extra": 1}',
        "[" * 100_000,  # deep nesting: refused by size before the parser sees it
        '"' + "1" * MAX_MESSAGE_BYTES + '"',
    ],
)
def test_near_misses_are_refused(raw):
    with pytest.raises(BadMessage):
        parse_call_message(raw)


def test_size_limits_are_their_own_kind():
    with pytest.raises(TooLarge, match="limit is 256"):
        parse_call_message(" " * (MAX_MESSAGE_BYTES + 1))


def test_the_default_flow_is_the_empty_number():
    offer = parse_offer(b'{"type": "offer", "sdp": "v=0\\r\\n", "number": ""}')
    assert offer.number == ""
