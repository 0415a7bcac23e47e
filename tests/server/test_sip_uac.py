"""The SIP UAC (server/sip/uac.py) against a scripted peer on loopback: every way a peer can
answer (or not) ends in one result, within its bound, with the right SIP on the wire."""

from __future__ import annotations

import asyncio
import time

import pytest

from callwright.ivr.events import Hangup
from callwright.server.sip import SipConfig, SipServer
from callwright.server.sip.sdp import negotiate, parse_sdp
from callwright.server.sip.uac import SipUac, classify, offer_sdp
from tests.server.sip.scripted_peer import ScriptedPeer


async def _place(number: str, *, ring_timeout_s: float = 3.0, media_timeout_s: float = 60.0):
    peer = await ScriptedPeer().start()
    server = SipServer(SipConfig(port=0, media_timeout_s=media_timeout_s), lambda call: None)
    await server.start()
    peer.redirect_to = ("127.0.0.1", peer.port)
    uac = SipUac(server, ("127.0.0.1", peer.port), caller_id="+15550100")
    try:
        t0 = time.monotonic()
        placed = await uac.place(number, ring_timeout_s=ring_timeout_s)
        took = time.monotonic() - t0
        await asyncio.sleep(0.1)  # the ACK reaches the peer
        return placed, peer, server, took
    finally:
        peer.close()
        await server.stop(grace_s=0.5)


@pytest.mark.parametrize(
    ("status", "result"),
    [(200, "answered"), (486, "busy"), (600, "busy"), (603, "busy"), (480, "no_answer"),
     (408, "no_answer"), (487, "no_answer"), (404, "failed"), (401, "failed"), (500, "failed"),
     (503, "failed")],
)  # fmt: skip
def test_final_status_table(status, result):
    assert classify(status) == result


def test_offer_is_one_g711_stream_our_own_sdp_parser_accepts():
    neg = negotiate(parse_sdp(offer_sdp("127.0.0.1", 40000, 7)))
    assert (neg.codec, neg.payload_type, neg.event_pt, neg.remote_port) == ("PCMU", 0, 101, 40000)


@pytest.mark.parametrize(
    ("number", "result", "status"),
    [("+15550486", "busy", 486), ("+15550480", "no_answer", 480), ("+15550404", "failed", 404),
     ("+15550401", "failed", 401)],
)  # fmt: skip
def test_final_responses_are_dispositions_and_acked(number, result, status):
    placed, peer, _, took = asyncio.run(_place(number))
    assert (placed.result, placed.status, placed.call) == (result, status, None)
    assert took < 2
    acks = peer.methods("ACK")
    assert len(acks) == 1 and acks[0].cseq() == (1, "ACK")
    if status == 401:
        assert "digest" in placed.reason


def test_answer_gives_a_confirmed_call_with_media_both_ways_then_bye():
    async def main():
        peer = await ScriptedPeer().start()
        server = SipServer(SipConfig(port=0), lambda call: None)
        await server.start()
        uac = SipUac(server, ("127.0.0.1", peer.port), caller_id="+15550100")
        try:
            placed = await uac.place("+15551234", ring_timeout_s=3)
            assert placed.result == "answered" and placed.rang and placed.call is not None
            call = placed.call
            frames: list = []
            call.start(frames.append, lambda ev: None)
            await asyncio.sleep(0.5)
            assert server.calls[call.call_id] is call
            assert len(frames) > 10  # the peer's RTP reaches the line
            assert peer.rtp_in.get(call.call_id, 0) > 10  # our 20 ms clock sends to the peer
            call.close()
            await asyncio.sleep(0.3)
            assert call.state == "ended" and call.call_id not in server.calls
            bye = peer.methods("BYE")
            assert len(bye) == 1 and bye[0].cseq() == (2, "BYE")
            assert len(peer.methods("ACK")) == 1
        finally:
            peer.close()
            await server.stop(grace_s=0.5)

    asyncio.run(main())


def test_ringing_past_the_timeout_is_cancelled_as_no_answer():
    placed, peer, _, took = asyncio.run(_place("+15550777", ring_timeout_s=1.0))
    assert placed.result == "no_answer" and placed.rang and placed.status == 487
    assert 0.9 < took < 3
    assert len(peer.methods("CANCEL")) >= 1 and len(peer.methods("ACK")) == 1


def test_a_peer_that_never_answers_is_given_up_within_the_bound():
    placed, peer, _, took = asyncio.run(_place("+15550000", ring_timeout_s=1.5))
    assert placed.result == "failed" and "no response" in placed.reason
    assert 1.4 < took < 3
    assert len(peer.methods("INVITE")) >= 2  # Timer A retransmitted it
    assert not peer.methods("CANCEL")  # no CANCEL before a provisional response


def test_cancel_while_ringing_stops_the_attempt():
    async def main():
        peer = await ScriptedPeer().start()
        server = SipServer(SipConfig(port=0), lambda call: None)
        await server.start()
        uac = SipUac(server, ("127.0.0.1", peer.port))
        try:
            attempt = uac.dial("+15550777", ring_timeout_s=30)
            await asyncio.sleep(0.5)
            attempt.cancel()
            for _ in range(100):
                if attempt.future.done():
                    break
                await asyncio.sleep(0.05)
            placed = attempt.future.result(0)
            assert placed.stopped and placed.result == "no_answer" and placed.status == 487
        finally:
            peer.close()
            await server.stop(grace_s=0.5)

    asyncio.run(main())


def test_answered_without_media_is_hung_up_by_the_media_timeout():
    async def main():
        peer = await ScriptedPeer().start()
        server = SipServer(SipConfig(port=0, media_timeout_s=1.0), lambda call: None)
        await server.start()
        uac = SipUac(server, ("127.0.0.1", peer.port))
        try:
            placed = await uac.place("+15550555", ring_timeout_s=3)
            assert placed.result == "answered" and placed.call is not None
            events: list = []
            placed.call.start(lambda f: None, events.append)
            for _ in range(60):
                if placed.call.state == "ended":
                    break
                await asyncio.sleep(0.05)
            assert placed.call.state == "ended" and "no RTP" in placed.call.end_reason
            assert any(isinstance(e, Hangup) for e in events)
            await asyncio.sleep(0.1)
            assert len(peer.methods("BYE")) == 1
        finally:
            peer.close()
            await server.stop(grace_s=0.5)

    asyncio.run(main())


def test_redirect_is_followed():
    placed, peer, _, _ = asyncio.run(_place("+15551302"))
    assert placed.result == "answered"
    invites = peer.methods("INVITE")
    assert [i.uri.split("@")[0] for i in invites] == ["sip:+15551302", "sip:+15551"]
    placed.call._finish("test over")


def test_not_a_number_is_refused_before_anything_is_sent():
    placed, peer, _, _ = asyncio.run(_place("12<script>"))
    assert placed.result == "failed" and not peer.requests


def test_early_media_then_a_failure_is_noted():
    placed, peer, _, _ = asyncio.run(_place("+15550183"))
    assert (placed.result, placed.status, placed.rang, placed.early_media) == ("no_answer", 480, True, True)
    assert len(peer.methods("ACK")) == 1


def test_the_dialers_socket_refuses_inbound_invites_it_did_not_place():
    """A dialer's SipServer with admit=403 (as SipLines builds it) answers an INVITE with 403."""

    async def main():
        server = SipServer(SipConfig(port=0), lambda call: None, admit=lambda call: 403)
        await server.start()
        uac = SipUac(server, ("127.0.0.1", server.port))  # the dialer calls its own socket
        try:
            placed = await uac.place("+15551234", ring_timeout_s=2)
            assert (placed.result, placed.status) == ("failed", 403)
            assert not server.calls
        finally:
            await server.stop(grace_s=0.5)

    asyncio.run(main())


def test_a_dialer_listening_everywhere_offers_the_address_that_reaches_the_peer():
    async def main():
        peer = await ScriptedPeer().start()
        server = SipServer(SipConfig(host="0.0.0.0", port=0), lambda call: None, admit=lambda call: 403)
        await server.start()
        uac = SipUac(server, ("127.0.0.1", peer.port))
        try:
            placed = await uac.place("+15550486", ring_timeout_s=2)
            await asyncio.sleep(0.1)
            assert placed.result == "busy"
            invite = peer.methods("INVITE")[0]
            assert b"c=IN IP4 127.0.0.1" in invite.body and "@127.0.0.1:" in (invite.get("Contact") or "")
        finally:
            peer.close()
            await server.stop(grace_s=0.5)

    asyncio.run(main())
