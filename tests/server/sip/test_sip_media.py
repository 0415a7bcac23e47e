"""The RTP sender process (server/sip/media.py), alone and under a SipServer: it paces a
call's packets from the call's own socket, reports a prompt sent in full, stops at close,
ends with its control socket, and a server whose sender dies goes on sending from its loop."""

from __future__ import annotations

import asyncio
import socket
import time
from itertools import pairwise

import numpy as np

from callwright.server.sip import SipConfig, SipServer
from callwright.server.sip.media import MediaWorker
from callwright.server.sip.rtp import parse_rtp
from tests.server.sip.test_sip_uas import UA, Calls, run, until


async def _packets(sock: socket.socket, n: int, timeout: float = 3.0) -> list[tuple[float, bytes]]:
    loop = asyncio.get_running_loop()
    out = []
    for _ in range(n):
        data = await asyncio.wait_for(loop.sock_recv(sock, 2048), timeout)
        out.append((time.monotonic(), data))
    return out


def test_the_sender_process_paces_a_prompt_then_silence_from_the_calls_socket_and_reports_it_sent():
    async def main():
        loop = asyncio.get_running_loop()
        drained: list[tuple[int, int]] = []
        died: list[bool] = []
        worker = MediaWorker(
            loop, lambda k, g: drained.append((k, g)), lambda late, sent: None, lambda: died.append(True)
        )
        line = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # the call's RTP socket
        line.bind(("127.0.0.1", 0))
        phone = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        phone.bind(("127.0.0.1", 0))
        phone.setblocking(False)
        try:
            worker.open(7, line, phone.getsockname(), payload_type=8, silence=0xD5, can_send=True,
                        ssrc=1234, seq=65534, ts0=2**32 - 160)  # fmt: skip
            line.close()  # the worker holds its own reference to the socket
            worker.play(7, 3, bytes(range(100, 200)) * 8)  # 800 bytes: five packets of prompt
            got = await _packets(phone, 12)
            pkts = [parse_rtp(d) for _, d in got]
            assert all(p.payload_type == 8 and p.ssrc == 1234 and len(p.payload) == 160 for p in pkts)
            assert pkts[0].marker and not any(p.marker for p in pkts[1:])
            assert all((b.seq - a.seq) % 65536 == 1 for a, b in pairwise(pkts))  # across the wrap
            steps = [(b.timestamp - a.timestamp) % 2**32 for a, b in pairwise(pkts)]
            assert all(s > 0 and s % 160 == 0 for s in steps)
            prompt = b"".join(p.payload for p in pkts if p.payload != b"\xd5" * 160)
            assert prompt == bytes(range(100, 200)) * 8  # in order, nothing lost or repeated
            assert pkts[-1].payload == b"\xd5" * 160  # then A-law silence
            span = got[-1][0] - got[0][0]
            assert 11 * 0.020 * 0.5 < span < 2.0  # paced, not sent as a burst
            await until(lambda: drained == [(7, 3)])
            # a cleared prompt stops at once; a closed line sends no more
            worker.play(7, 4, b"\x01" * 160 * 50)
            await _packets(phone, 2)
            worker.clear(7)
            await asyncio.sleep(0.1)
            while True:  # what was already on its way
                try:
                    phone.recv(2048)
                except BlockingIOError:
                    break
            after = [parse_rtp(d).payload for _, d in await _packets(phone, 3)]
            assert after == [b"\xd5" * 160] * 3
            worker.close_line(7)
            await asyncio.sleep(0.15)
            while True:
                try:
                    phone.recv(2048)
                except BlockingIOError:
                    break
            await asyncio.sleep(0.1)
            try:
                phone.recv(2048)
                raise AssertionError("a packet after the line was closed")
            except BlockingIOError:
                pass
        finally:
            worker.close()
            phone.close()
        assert worker.proc.returncode == 0 and died == []  # it ended with its socket, quietly

    run(main())


def test_a_call_goes_on_sending_from_the_loop_when_the_sender_process_dies():
    async def main():
        got = Calls()
        async with SipServer(SipConfig(port=0), got) as srv:
            assert srv.media is not None and srv.media.alive
            ua = UA(srv.port)
            ua.rtp.setblocking(False)
            try:
                assert (await ua.call()).status == 200
                await until(lambda: got.calls)
                call = got.calls[0]
                await until(lambda: call._media_key is not None)
                call.play(np.full(8000 * 20, 1000, np.int16))
                await _packets(ua.rtp, 5)
                assert call.playing
                srv.media.proc.kill()
                await until(lambda: not srv.media.alive)
                assert call._media_key is None and not call.playing  # the prompt it held is gone
                pkts = [parse_rtp(d) for _, d in await _packets(ua.rtp, 10)]  # the loop sends now
                assert all(len(p.payload) == 160 for p in pkts)
                call.play(np.full(1600, 1000, np.int16))
                assert call.playing
                await until(lambda: not call.playing)
            finally:
                ua.close()

    run(main())


def test_a_prompt_queued_before_the_hand_over_is_sent_by_the_process_and_ends_playing():
    async def main():
        got = Calls()
        async with SipServer(SipConfig(port=0), got) as srv:
            ua = UA(srv.port)
            ua.rtp.setblocking(False)
            try:
                assert (await ua.call()).status == 200
                await until(lambda: got.calls)
                call = got.calls[0]
                call.play(np.full(800, 3000, np.int16))  # maybe before, maybe after the hand-over
                assert call.playing
                await until(lambda: not call.playing)
                assert call._media_key is not None
                pkts = [parse_rtp(d) for _, d in await _packets(ua.rtp, 10)]
                assert len({p.ssrc for p in pkts}) == 1
            finally:
                ua.close()

    run(main())


def test_a_lost_sent_report_cannot_keep_a_prompt_playing(monkeypatch):
    monkeypatch.setattr("callwright.server.sip.call.DRAIN_REPORT_SLACK_S", 0.3)

    async def main():
        got = Calls()
        async with SipServer(SipConfig(port=0), got) as srv:
            assert srv.media is not None
            srv.media._on_drained = lambda key, gen: None  # every "sent in full" report lost
            ua = UA(srv.port)
            try:
                assert (await ua.call()).status == 200
                await until(lambda: got.calls)
                call = got.calls[0]
                await until(lambda: call._media_key is not None)
                t0 = time.monotonic()
                call.play(np.full(1600, 1000, np.int16))  # 0.2 s
                assert call.playing
                await until(lambda: not call.playing)
                assert 0.45 < time.monotonic() - t0 < 2.0  # its length (0.2 s) plus the slack (0.3 s)
            finally:
                ua.close()

    run(main())
