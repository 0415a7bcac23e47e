"""SDP offer/answer: G.711 and telephone-event accepted, anything else refused (488)."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from callwright.server.sip.sdp import SdpError, answer_sdp, negotiate, parse_sdp

BARESIP_OFFER = (
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 7574 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\na=ptime:20\r\n"
)


def test_baresip_offer_gets_pcmu_and_events():
    neg = negotiate(parse_sdp(BARESIP_OFFER.encode()))
    assert (neg.remote_host, neg.remote_port) == ("127.0.0.1", 7574)
    assert (neg.codec, neg.payload_type, neg.event_pt) == ("PCMU", 0, 101)
    answer = answer_sdp(neg, "127.0.0.1", 40000, session_id=7).decode()
    assert "m=audio 40000 RTP/AVP 0 101\r\n" in answer
    assert "a=rtpmap:101 telephone-event/8000" in answer and "c=IN IP4 127.0.0.1" in answer


def test_the_offers_order_decides_and_static_types_need_no_rtpmap():
    offer = "v=0\r\nc=IN IP4 10.1.2.3\r\nm=audio 5000 RTP/AVP 8 0\r\n"
    neg = negotiate(parse_sdp(offer.encode()))
    assert (neg.codec, neg.payload_type, neg.event_pt) == ("PCMA", 8, None)
    assert "telephone-event" not in answer_sdp(neg, "127.0.0.1", 4000).decode()


def test_a_dynamic_event_type_and_media_level_address():
    offer = (
        "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 6000 RTP/AVP 0 96\r\nc=IN IP4 10.0.0.9\r\n"
        "a=rtpmap:96 telephone-event/8000\r\n"
    )
    neg = negotiate(parse_sdp(offer.encode()))
    assert neg.remote_host == "10.0.0.9" and neg.event_pt == 96


@pytest.mark.parametrize(
    "offer, why",
    [
        ("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 5000 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n", "opus"),
        ("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 5000 RTP/SAVP 0\r\n", "no audio stream"),
        ("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 5000 RTP/AVP 96\r\na=rtpmap:96 PCMU/16000\r\n", "no audio"),
        ("v=0\r\nm=audio 5000 RTP/AVP 0\r\n", "no c= address"),
        ("v=0\r\nc=IN IP4 1.2.3.4\r\n", "no m= line"),
        ("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 99999 RTP/AVP 0\r\n", "bad port"),
        ("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio \u00b2 RTP/AVP 0\r\n", "bad m= line"),
        ("v=0\r\nc=IN XX 1.2.3.4\r\nm=audio 5000 RTP/AVP 0\r\n", "bad c= line"),
        (
            "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 5000 RTP/AVP 96\r\na=rtpmap:96 x\rWarning: y/8000\r\n",
            "control",
        ),
    ],
)
def test_unusable_offers_say_why(offer, why):
    with pytest.raises(SdpError, match=why):
        negotiate(parse_sdp(offer.encode()))


def test_other_streams_are_declined_with_port_zero_in_order():
    offer = (
        "v=0\r\nc=IN IP4 1.2.3.4\r\nm=video 5002 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n"
        "m=audio 5000 RTP/AVP 0\r\n"
    )
    neg = negotiate(parse_sdp(offer.encode()))
    answer = answer_sdp(neg, "127.0.0.1", 4000).decode()
    assert answer.index("m=video 0 RTP/AVP 96") < answer.index("m=audio 4000 RTP/AVP 0")


def test_sdp_size_is_bounded():
    with pytest.raises(SdpError, match="limit"):
        parse_sdp(b"a=x\r\n" * 5000)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=1_500))
@example(b"v=0\nc=IN IP4 1.2.3.4\nm=audio 5000 RTP/AVP 0 " + b"9" * 5000 + b"\n")
def test_fuzz_any_sdp_body_is_an_offer_or_an_sdp_error(data):
    try:
        neg = negotiate(parse_sdp(data))
    except SdpError:
        return
    assert neg.codec in ("PCMU", "PCMA") and 0 <= neg.remote_port <= 65535
    answer_sdp(neg, "127.0.0.1", 4000)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(BARESIP_OFFER) - 1), st.text(min_size=1, max_size=6))
def test_fuzz_a_real_offer_mutated(pos, junk):
    text = BARESIP_OFFER[:pos] + junk + BARESIP_OFFER[pos + len(junk) :]
    try:
        negotiate(parse_sdp(text.encode("utf-8", "surrogatepass")))
    except SdpError:
        pass
