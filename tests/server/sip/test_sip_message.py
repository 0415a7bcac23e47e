"""The SIP parser: real messages parse, broken ones end in one SipParseError, sizes are bounded."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from callwright.server.sip.message import (
    MAX_HEADERS,
    MAX_MESSAGE_BYTES,
    SipMessage,
    SipParseError,
    host_port_of,
    parse_message,
    response_to,
    tag_of,
    uri_of,
    user_of,
)

# what baresip 1.0.0 sent (captured on loopback), with its SDP
_SDP = (
    b"v=0\r\no=- 1084453508 2023936585 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 7574 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\n"
)
BARESIP_INVITE = (
    b"INVITE sip:100@127.0.0.1:5099 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:44834;branch=z9hG4bKa86d2ef5f8b5318c;rport\r\n"
    b"Contact: <sip:caller-0x55a1c3a3b3a0@127.0.0.1:44834>\r\n"
    b"Max-Forwards: 70\r\n"
    b"To: <sip:100@127.0.0.1:5099>\r\n"
    b"From: <sip:caller@127.0.0.1>;tag=078fc0217969cde3\r\n"
    b"Call-ID: 1a66bb40e6160b11\r\n"
    b"CSeq: 44615 INVITE\r\n"
    b"User-Agent: baresip v1.0.0 (x86_64/linux)\r\n"
    b"Allow: INVITE,ACK,BYE,CANCEL,OPTIONS,NOTIFY,SUBSCRIBE,INFO,MESSAGE,REFER\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(_SDP), _SDP)
)


def test_a_real_invite_parses():
    m = parse_message(BARESIP_INVITE)
    assert m.is_request and m.method == "INVITE" and m.uri == "sip:100@127.0.0.1:5099"
    assert m.get("call-id") == "1a66bb40e6160b11"
    assert m.cseq() == (44615, "INVITE")
    assert tag_of(m.get("From")) == "078fc0217969cde3" and tag_of(m.get("To")) is None
    assert user_of(m.uri or "") == "100"
    assert uri_of(m.get("Contact") or "") == "sip:caller-0x55a1c3a3b3a0@127.0.0.1:44834"
    assert m.body == _SDP and m.body.startswith(b"v=0") and m.body.endswith(b"telephone-event/8000\r\n")


def test_compact_forms_folding_and_bare_lf():
    raw = (
        b"OPTIONS sip:ivr@127.0.0.1 SIP/2.0\n"
        b"v: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\n"
        b"f: <sip:a@b>;tag=1\nt: <sip:ivr@127.0.0.1>\ni: abc\n"
        b"CSeq: 1\n  OPTIONS\nl: 0\n\n"
    )
    m = parse_message(raw)
    assert m.get("Via", "").endswith("branch=z9hG4bK1")
    assert m.get("Call-ID") == m.get("i") == "abc"
    assert m.cseq() == (1, "OPTIONS")  # the folded line joined


def test_body_is_cut_to_content_length_and_a_short_body_is_refused():
    m = parse_message(b"SIP/2.0 200 OK\r\nContent-Length: 3\r\n\r\nabcdef")
    assert m.status == 200 and m.body == b"abc"
    with pytest.raises(SipParseError, match="Content-Length 10"):
        parse_message(b"SIP/2.0 200 OK\r\nContent-Length: 10\r\n\r\nabc")


@pytest.mark.parametrize(
    "raw, why",
    [
        (b"", "no blank line"),
        (b"\r\n\r\n", "empty start line"),
        (b"HELLO\r\n\r\n", "not a SIP/2.0"),
        (b"INVITE sip:a@b SIP/3.0\r\n\r\n", "not a SIP/2.0"),
        (b"INVITE nouri SIP/2.0\r\n\r\n", "bad request line"),
        (b"SIP/2.0 99 Low\r\n\r\n", "bad status code"),
        (b"SIP/2.0 2x0 OK\r\n\r\n", "bad status code"),
        (b"SIP/2.0 200 OK\r\nno colon here\r\n\r\n", "bad header line"),
        (b"SIP/2.0 200 OK\r\n continued\r\n\r\n", "continuation line"),
        (b"SIP/2.0 200 OK\r\nContent-Length: -1\r\n\r\n", "bad Content-Length"),
        (b"SIP/2.0 200 OK\r\nContent-Length: \xc2\xb2\r\n\r\n", "bad Content-Length"),  # a unicode digit
        (b"BYE sip:a@b SIP/2.0\r\nCall-ID: x\x1b[31mred\r\n\r\n", "control character"),  # log forging
        (b"BYE sip:a@b SIP/2.0\r\nCall-ID: x\rVia: forged\r\n\r\n", "control character"),
    ],
)
def test_broken_messages_are_one_clean_error(raw, why):
    with pytest.raises(SipParseError, match=why):
        parse_message(raw)


def test_sizes_are_bounded():
    with pytest.raises(SipParseError, match="over the 65535-byte limit"):
        parse_message(b"SIP/2.0 200 OK\r\n\r\n" + b"x" * MAX_MESSAGE_BYTES)
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(MAX_HEADERS + 1))
    with pytest.raises(SipParseError, match="over the 100 limit"):
        parse_message(b"SIP/2.0 200 OK\r\n" + many + b"\r\n")
    with pytest.raises(SipParseError, match="header line over"):
        parse_message(b"SIP/2.0 200 OK\r\nX: " + b"a" * 9000 + b"\r\n\r\n")


def test_bad_cseq_is_a_parse_error():
    m = parse_message(b"BYE sip:a@b SIP/2.0\r\nCSeq: x BYE\r\n\r\n")
    with pytest.raises(SipParseError, match="bad CSeq"):
        m.cseq()


def test_response_copies_the_dialog_headers_and_serializes_back():
    req = parse_message(BARESIP_INVITE)
    resp = response_to(req, 486, to_tag="abc")
    again = parse_message(resp.to_bytes())
    assert again.status == 486 and again.reason == "Busy Here"
    for name in ("Via", "From", "Call-ID", "CSeq"):
        assert again.get(name) == req.get(name)
    assert tag_of(again.get("To")) == "abc"
    assert again.get("Content-Length") == "0"


def test_host_port_of_uris():
    assert host_port_of("sip:200@10.0.0.5:5080;transport=udp") == ("10.0.0.5", 5080)
    assert host_port_of("sip:pbx.example.com") == ("pbx.example.com", 5060)
    with pytest.raises(SipParseError):
        host_port_of("sip:200@host:99999")


# --- fuzzing: any bytes -> a message or a SipParseError, never anything else -----------------


def _parse_or_clean_error(data: bytes) -> None:
    try:
        m = parse_message(data)
    except SipParseError:
        return
    assert isinstance(m, SipMessage)
    assert len(m.headers) <= MAX_HEADERS
    if m.is_request:
        try:
            m.cseq()
        except SipParseError:
            pass


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=2_000))
@example(b"SIP/2.0 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n")
@example(b"INVITE sip:a SIP/2.0\r\nCSeq: \xd9\xa3 INVITE\r\n\r\n")
def test_fuzz_any_bytes(data):
    _parse_or_clean_error(data)


@settings(max_examples=400, deadline=None)
@given(
    st.integers(0, len(BARESIP_INVITE) - 1),
    st.binary(min_size=1, max_size=8),
    st.integers(0, len(BARESIP_INVITE)),
)
def test_fuzz_a_real_invite_mutated(pos, junk, cut):
    """Bytes changed inside a real INVITE, and the INVITE cut short: still one clean outcome."""
    data = BARESIP_INVITE[:pos] + junk + BARESIP_INVITE[pos + len(junk) :]
    _parse_or_clean_error(data)
    _parse_or_clean_error(data[:cut])
