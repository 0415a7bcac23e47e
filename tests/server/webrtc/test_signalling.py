"""The WebRTC endpoint without a browser: aiortc as the far end, over 127.0.0.1 signalling.

Requests that are not calls are refused 4xx with a reason and logged; a call that never
connects, hangs up or sends garbage frees its slot; audio crosses the line at 8 kHz both ways
(a tone sent is the tone heard)."""

from __future__ import annotations

import asyncio
import fractions
import logging
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import numpy as np
import pytest

from callwright.ivr.events import Dtmf, Hangup
from callwright.server.webrtc import Dialable, WebRtcCall, WebRtcEndpoint
from callwright.server.webrtc.messages import MAX_OFFER_BYTES
from tests.server.webrtc.glue import serve_app

WAIT_S = 10.0  # every wait in these tests is bounded by this


class Calls:
    """The server side of the test: collects connected calls and what their lines deliver."""

    def __init__(self) -> None:
        self.calls: list[WebRtcCall] = []
        self.connected = threading.Event()
        self.events: list[Dtmf | Hangup] = []
        self.frames: list[np.ndarray] = []
        self.hung_up = threading.Event()
        self.reports: list[tuple[str, str, str]] = []  # what the endpoint told the server's log

    def on_call(self, call: WebRtcCall) -> None:
        self.calls.append(call)

        def on_event(ev: Dtmf | Hangup) -> None:
            self.events.append(ev)
            if isinstance(ev, Hangup):
                self.hung_up.set()

        call.line.start(self.frames.append, on_event)
        self.connected.set()


@pytest.fixture
def server() -> Iterator[tuple[str, WebRtcEndpoint, Calls]]:
    calls = Calls()
    endpoint = WebRtcEndpoint(
        calls.on_call,
        [Dialable("100", "acme-inbound")],
        max_calls=1,
        connect_timeout_s=1.5,
        report=lambda kind, remote, what: calls.reports.append((kind, remote, what)),
    )
    url, stop = serve_app(endpoint)
    try:
        yield url, endpoint, calls
    finally:
        stop()


def wait_until(check: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def tone_track(freq: float):
    """An aiortc audio track playing a sine at 8 kHz, paced like a microphone."""
    from aiortc import AudioStreamTrack
    from av import AudioFrame

    class Tone(AudioStreamTrack):
        n = 0

        async def recv(self):
            base = await super().recv()  # paces at 20 ms
            t = (np.arange(160) + self.n) / 8000
            self.n += 160
            samples = (8000 * np.sin(2 * np.pi * freq * t)).astype(np.int16)
            frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 8000, base.pts, fractions.Fraction(1, 8000)
            return frame

    return Tone()


async def offer(url: str, *, number: str = "100", audio: bool = True, freq: float = 440.0):
    from aiortc import RTCPeerConnection

    pc = RTCPeerConnection()
    dc = pc.createDataChannel("callwright")
    if audio:
        pc.addTrack(tone_track(freq))
    await pc.setLocalDescription(await pc.createOffer())
    async with httpx.AsyncClient(timeout=WAIT_S) as client:
        resp = await client.post(
            url + "offer", json={"type": "offer", "sdp": pc.localDescription.sdp, "number": number}
        )
    return pc, dc, resp


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(float) * np.hanning(samples.size)))
    return float(np.argmax(spectrum) * rate / samples.size)


# -- requests that are not calls -------------------------------------------------------------


@pytest.mark.parametrize(
    "body, status, reason",
    [
        (b"hello", 400, "not JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (b'{"type": "answer", "sdp": "v=0", "number": "100"}', 400, '"offer"'),
        (b'{"type": "offer", "number": "100"}', 400, "'sdp'"),
        (b'{"type": "offer", "sdp": "GET / HTTP/1.1", "number": "100"}', 400, "v=0"),
        (b'{"type": "offer", "sdp": "v=0\\r\\nm=audio x\\r\\n", "number": "100"}', 400, "malformed SDP"),
        (b'{"type": "offer", "sdp": "v=0\\r\\n", "number": "100", "eval": "1"}', 400, "unknown field"),
        (b'{"type": "offer", "sdp": "v=0\\r\\n", "number": "999"}', 404, "no flow answers number '999'"),
        (b'{"type": "offer", "sdp": "v=0", "number": "1"}' + b" " * MAX_OFFER_BYTES, 413, "limit"),
    ],
)
def test_a_request_that_is_not_a_call_is_refused_and_logged(server, caplog, body, status, reason):
    url, endpoint, calls = server
    with caplog.at_level(logging.INFO, logger="callwright.server.webrtc"):
        resp = httpx.post(
            url + "offer", content=body, headers={"content-type": "application/json"}, timeout=WAIT_S
        )
    assert resp.status_code == status
    assert reason in resp.json()["error"]
    assert any(reason in r.getMessage() for r in caplog.records)
    assert [(k, r.split(":")[0]) for k, r, w in calls.reports if reason in w] == [("line_error", "127.0.0.1")]
    assert endpoint.lines == {} and not calls.calls  # no slot held, no call started
    assert httpx.get(url, timeout=WAIT_S).status_code == 200  # and the server still serves


@pytest.mark.parametrize(
    "headers, status, reason",
    [
        ({"content-type": "text/plain"}, 415, "application/json, not text/plain"),
        ({"content-type": "application/x-www-form-urlencoded"}, 415, "application/json"),
        ({}, 415, "no content type"),
        ({"content-type": "application/json", "origin": "https://evil.example"}, 403, "another site"),
    ],
)
def test_another_site_cannot_start_a_call(server, headers, status, reason):
    url, endpoint, calls = server
    body = b'{"type": "offer", "sdp": "v=0\\r\\n", "number": "100"}'
    resp = httpx.post(url + "offer", content=body, headers=headers, timeout=WAIT_S)
    assert resp.status_code == status and reason in resp.json()["error"]
    assert endpoint.lines == {} and not calls.calls


def test_an_offer_without_audio_is_refused(server):
    url, endpoint, _ = server

    async def scenario():
        pc, _, resp = await offer(url, audio=False)
        await pc.close()
        return resp

    resp = asyncio.run(scenario())
    assert resp.status_code == 400 and "no audio" in resp.json()["error"]
    assert endpoint.lines == {}


def test_the_page_and_its_files_are_served_with_a_strict_policy(server):
    url, _, _ = server
    page = httpx.get(url, timeout=WAIT_S)
    assert page.status_code == 200 and '<script src="static/call.js"' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert httpx.get(url + "static/call.js", timeout=WAIT_S).status_code == 200
    for escape in ("static/%2e%2e/app.py", "static/..%2fapp.py", "static/%2e%2e%2f__init__.py"):
        assert httpx.get(url + escape, timeout=WAIT_S).status_code == 404
    assert httpx.get(url + "numbers", timeout=WAIT_S).json() == [{"number": "100", "label": "acme-inbound"}]
    slashless = httpx.get(url.rstrip("/"), timeout=WAIT_S)
    assert slashless.status_code in (307, 308) and slashless.headers["location"].endswith("/call/")


# -- call slots --------------------------------------------------------------------------------


@pytest.mark.parametrize("drop_on_shutdown", [False, True])
def test_a_call_that_never_connects_frees_its_slot_and_a_full_server_says_busy(server, drop_on_shutdown):
    url, endpoint, calls = server

    async def scenario():
        first, _, resp = await offer(url)  # the answer is never applied: ICE never completes
        assert resp.status_code == 200 and len(endpoint.lines) == 1
        second, _, busy = await offer(url)
        assert busy.status_code == 503 and "busy" in busy.json()["error"] and busy.headers["retry-after"]
        await second.close()
        if drop_on_shutdown:  # the server stops: offers still connecting are dropped at once
            loop = next(iter(endpoint.lines.values())).loop  # the server's event loop
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(endpoint.close_unstarted(), loop))
            assert endpoint.lines == {}
        deadline = time.monotonic() + WAIT_S
        while endpoint.lines and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await first.close()

    asyncio.run(scenario())
    assert endpoint.lines == {} and not calls.calls


# -- a connected call ----------------------------------------------------------------------------


def test_audio_keys_garbage_and_hang_up_on_a_connected_call(server, caplog):
    from aiortc.mediastreams import MediaStreamError

    url, endpoint, calls = server
    caplog.set_level(logging.INFO, logger="callwright.server.webrtc")

    async def scenario():
        pc, dc, resp = await offer(url, freq=440.0)
        heard: list[np.ndarray] = []

        @pc.on("track")
        def on_track(track):
            async def pull():
                try:
                    while True:
                        frame = await track.recv()
                        heard.append(frame.to_ndarray().reshape(-1, 2)[:, 0].copy())  # 48 kHz stereo
                except MediaStreamError:
                    pass

            asyncio.ensure_future(pull())

        from aiortc import RTCSessionDescription

        await pc.setRemoteDescription(RTCSessionDescription(**{k: resp.json()[k] for k in ("sdp", "type")}))
        await asyncio.to_thread(calls.connected.wait, WAIT_S)
        while dc.readyState != "open":
            await asyncio.sleep(0.02)
        line = calls.calls[0].line
        t = np.arange(8000) / 8000
        line.play((8000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16))  # one second at 1 kHz
        assert line.playing
        for garbage in ("not json", b"\x00\x01", '{"type": "key", "key": "X"}', "[1]", '{"type": "key"}'):
            dc.send(garbage)
        dc.send('{"type": "key", "key": "5"}')
        await asyncio.sleep(1.5)
        assert not line.playing  # paced out in real time
        open_slots, events = len(endpoint.lines), list(calls.events)
        await pc.close()
        return heard, open_slots, events

    heard, open_slots, events = asyncio.run(scenario())
    # the caller's 440 Hz tone reached the line as 8 kHz, 20 ms frames
    assert calls.frames and all(f.dtype == np.int16 and f.size == 160 for f in calls.frames)
    assert abs(dominant_hz(np.concatenate(calls.frames[-25:]), 8000) - 440) < 20
    # the line's 1 kHz prompt reached the far end (48 kHz Opus)
    loud = [f for f in heard if np.abs(f).max() > 1000]
    assert len(loud) >= 20, "the prompt was not heard"
    assert abs(dominant_hz(np.concatenate(loud[5:25]), 48000) - 1000) < 30
    # garbage was logged and ignored; the key that followed arrived
    assert events == [Dtmf("5")]
    assert sum("ignored a data-channel message" in r.getMessage() for r in caplog.records) == 5
    assert open_slots == 1
    # the far end went away: the call hears a hang-up once and the slot is freed
    assert calls.hung_up.wait(WAIT_S)
    wait_until(lambda: endpoint.lines == {}, "the slot to be freed")
    assert calls.events.count(Hangup()) == 1


def test_a_peer_that_only_sends_garbage_is_hung_up(server, caplog):
    from callwright.server.webrtc.app import MAX_BAD_MESSAGES

    url, endpoint, calls = server
    caplog.set_level(logging.INFO, logger="callwright.server.webrtc")

    async def scenario():
        from aiortc import RTCSessionDescription

        pc, dc, resp = await offer(url)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=resp.json()["sdp"], type="answer"))
        await asyncio.to_thread(calls.connected.wait, WAIT_S)
        while dc.readyState != "open":
            await asyncio.sleep(0.02)
        for i in range(MAX_BAD_MESSAGES):
            dc.send("{" * (i + 1))
        await asyncio.to_thread(calls.hung_up.wait, WAIT_S)
        await pc.close()

    asyncio.run(scenario())
    assert calls.hung_up.is_set()
    wait_until(lambda: endpoint.lines == {}, "the slot to be freed")
    assert any("bad messages; hanging up" in r.getMessage() for r in caplog.records)


def test_a_server_that_is_full_or_stopping_answers_busy(server):
    url, endpoint, calls = server
    body = {"type": "offer", "sdp": "v=0\r\n", "number": "100"}
    endpoint.busy = lambda: "all 20 call slots are in use"  # the call server's own count
    resp = httpx.post(url + "offer", json=body, timeout=WAIT_S)
    assert resp.status_code == 503 and "all 20 call slots are in use" in resp.json()["error"]
    endpoint.busy = lambda: None
    endpoint.stop_accepting()
    resp = httpx.post(url + "offer", json=body, timeout=WAIT_S)
    assert resp.status_code == 503 and "shutting down" in resp.json()["error"]
    assert endpoint.lines == {} and not calls.calls


def test_without_aiortc_the_page_is_refused_plainly(monkeypatch):
    import importlib.util

    from callwright.errors import CallwrightError

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "aiortc" else real(name, *a)
    )
    with pytest.raises(CallwrightError, match="browser calls need aiortc") as err:
        WebRtcEndpoint(lambda call: None, [])
    assert "[serve]" in str(err.value)


def test_a_websocket_is_not_a_call():
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.testclient import TestClient
    from starlette.websockets import WebSocketDisconnect

    endpoint = WebRtcEndpoint(lambda call: None, [Dialable("100", "acme-inbound")])
    app = Starlette(routes=[Mount("/call", app=endpoint.router)])
    with TestClient(app) as client:
        for path in ("/call/", "/call/offer", "/call/static/call.js"):
            with pytest.raises(WebSocketDisconnect), client.websocket_connect(path) as ws:
                ws.send_text("garbage")
                ws.receive_text()
        assert client.get("/call/numbers").status_code == 200  # and HTTP still works
    assert endpoint.lines == {}


def test_the_callers_audio_reaches_the_line_as_each_packet_arrives(server):
    """aiortc's receiver held each audio frame until four later ones had arrived (80 ms), so
    the endpointer heard a caller start to speak 80 ms late (barge-in over 200 ms, measured by
    bench/webrtc_barge.py) and the end of any burst waited for the next packets. A burst of
    tone followed by nothing at all must reach the line whole."""
    from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
    from av import AudioFrame

    url, _, calls = server
    burst = 10  # 20 ms frames of tone; the old buffer kept the last 4 of them back
    tone = (8000 * np.sin(2 * np.pi * 440 * np.arange(burst * 160) / 8000)).astype(np.int16)
    state = {"go": False, "sent": 0}

    class Caller(MediaStreamTrack):
        kind = "audio"
        pts = 0

        async def recv(self):
            await asyncio.sleep(0.02)
            if state["go"] and state["sent"] >= burst:
                await asyncio.Event().wait()  # then nothing: no packet follows the burst
            samples = np.zeros(160, np.int16)
            if state["go"]:
                samples = tone[state["sent"] * 160 : (state["sent"] + 1) * 160]
                state["sent"] += 1
            frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 8000, self.pts, fractions.Fraction(1, 8000)
            self.pts += 160
            return frame

    async def scenario():
        pc = RTCPeerConnection()
        pc.createDataChannel("callwright")
        pc.addTrack(Caller())
        await pc.setLocalDescription(await pc.createOffer())
        async with httpx.AsyncClient(timeout=WAIT_S) as client:
            resp = await client.post(
                url + "offer", json={"type": "offer", "sdp": pc.localDescription.sdp, "number": "100"}
            )
        await pc.setRemoteDescription(RTCSessionDescription(sdp=resp.json()["sdp"], type="answer"))
        await asyncio.to_thread(calls.connected.wait, WAIT_S)
        deadline = time.monotonic() + WAIT_S
        while len(calls.frames) < 10 and time.monotonic() < deadline:  # silence is flowing
            await asyncio.sleep(0.02)
        state["go"] = True
        await asyncio.sleep(1.0)  # far longer than the burst takes to cross loopback
        await pc.close()

    asyncio.run(scenario())
    assert state["sent"] == burst
    loud = [f for f in calls.frames if (np.abs(f.astype(np.int32)) > 2000).sum() > 40]
    # Opus's own encoder and resampler delays keep up to 2 frames back on the far side;
    # the old buffer kept 4 more, whatever came after them
    assert len(loud) >= burst - 3, f"{len(loud)} of the {burst} frames of the burst reached the line"


def test_the_arrival_order_buffer_drops_late_and_duplicate_packets_only():
    from aiortc.rtp import RtpPacket

    from callwright.server.webrtc.receive import MAX_MISORDER, ArrivalOrderBuffer

    def packet(seq: int, data: bytes = b"x") -> RtpPacket:
        p = RtpPacket(payload_type=111, sequence_number=seq, timestamp=seq * 960)
        p._data = data  # type: ignore[attr-defined]  # what the receiver depayloads
        return p

    buf = ArrivalOrderBuffer()
    taken = [
        seq
        for seq in (65534, 65535, 0, 0, 3, 2, 4, 65540 - MAX_MISORDER, 65541 - MAX_MISORDER)
        if buf.add(packet(seq))[1] is not None
    ]
    # across the wrap; a duplicate and a packet overtaken by a later one are dropped; a gap
    # (a lost packet) is not waited for; a stream that restarts far behind is taken again
    assert taken == [65534, 65535, 0, 3, 4, 65540 - MAX_MISORDER, 65541 - MAX_MISORDER]
    assert buf.dropped == 2
    assert buf.add(packet(65542 - MAX_MISORDER, b""))[1] is None  # nothing to decode
