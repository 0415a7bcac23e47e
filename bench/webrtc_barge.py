"""Barge-in reaction time on the browser (WebRTC) channel, measured as the caller hears it.

`bench/sip_load.py barge` measures SIP and AudioSocket; this is the same measurement for the
third channel. The server runs as `callwright serve bench/flows/speech_load.yaml --http
127.0.0.1:0` in a process of its own (Whisper in process, as for SIP). The caller is an aiortc
peer in this process that does what the call page (`static/call.js`) does: a data channel
named "callwright", its microphone track, a non-trickle offer POSTed to `/call/offer` (JSON,
number "" = the server's default flow), the answer applied. Its "microphone" is a track paced
at 20 ms on the wall clock, at 48 kHz like a browser's, silent until it is told to speak
(espeak-ng speech); keys go as the page sends them, `{"type": "key", "key": "8"}` on the data
channel (the page has no RFC 4733 path).

Per trial (one call at a time): wait for the menu prompt, interrupt it 0.6-1.6 s in, at a
moment it is sounding, by key 8 (which ends the call without a prompt) or by saying "I would
like to speak to somebody about my bill please". Reaction = the caller's onset (the data
channel send of the key; the moment the first voiced 20 ms frame of the speech is handed to
the sender) -> the arrival of the last voiced prompt packet before the prompt stays quiet
for QUIET_MS.

"Arrival" is when the SRTP packet reached this peer's RTP receiver (aiortc's
`_handle_rtp_packet`, wrapped here): the same point as the SIP figures (packet arrival at the
socket). A browser adds its own adaptive playout delay on top, for the prompt and its silence
alike. Whether a packet is voiced is read from its decoded audio (Opus), matched to the packet by
RTP timestamp; this peer decodes each packet as it arrives (no playout buffer: aiortc's would
hold four packets, 80 ms), so it knows what it heard at once. The decoded-frame times are
reported too (`*_decoded`), as a check (a few ms later).

    nice -n 5 .venv/bin/python bench/webrtc_barge.py --trials 20
    .venv/bin/python bench/webrtc_barge.py --quick      # 3 trials per kind, < 1 min
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sip_load import _stats as barge_stats  # the same summary as the SIP and AudioSocket figures
from sip_load import serving  # the same server start

ROOT = Path(__file__).resolve().parents[1]
src_path = str(ROOT / "src")  # lower case: not an environment variable (tests/test_environment_doc.py)
SPEECH_FLOW = ROOT / "bench" / "flows" / "speech_load.yaml"

MIC_RATE = 48000  # what a browser's microphone track carries
MIC_FRAME = MIC_RATE // 50  # 20 ms
VOICED = 200  # mean |sample| over 20 ms above which a frame carries sound (as in sip_load.py)
QUIET_MS = 400  # the prompt has stopped once this long passes with no voiced packet
SPEECH = "I would like to speak to somebody about my bill please"
WAIT_S = 30.0  # every wait for the server is bounded by this


# --- the caller: an aiortc peer that behaves like the call page --------------------------


class Arrivals:
    """Packet arrival times of the RTP streams this process receives, by SSRC and RTP
    timestamp, recorded by wrapping aiortc's `RTCRtpReceiver._handle_rtp_packet` (called as
    each SRTP packet is decrypted, before the jitter buffer)."""

    def __init__(self) -> None:
        self.first_ts: int | None = None
        self.by_ts: dict[int, float] = {}

    def install(self) -> None:
        from aiortc.rtcrtpreceiver import RTCRtpReceiver

        original = RTCRtpReceiver._handle_rtp_packet
        arrivals = self

        async def handle(receiver, packet, arrival_time_ms):  # type: ignore[no-untyped-def]
            if receiver.track is not None and receiver.track.kind == "audio":
                if arrivals.first_ts is None:
                    arrivals.first_ts = packet.timestamp
                arrivals.by_ts.setdefault(packet.timestamp, time.monotonic())
            await original(receiver, packet, arrival_time_ms)

        RTCRtpReceiver._handle_rtp_packet = handle  # type: ignore[method-assign]

    def reset(self) -> None:
        self.first_ts = None
        self.by_ts = {}

    def arrival(self, pts: int) -> float | None:
        """The arrival of the packet a decoded frame came from (its pts is the RTP timestamp
        less the stream's first, as aiortc's TimestampMapper makes it)."""
        if self.first_ts is None:
            return None
        return self.by_ts.get((self.first_ts + pts) & 0xFFFFFFFF)


def no_playout_delay(pc) -> None:  # type: ignore[no-untyped-def]
    """This peer's audio receivers decode each packet as it arrives (aiortc's buffer waits
    for four more, 80 ms), so what was heard is known at once: the trial can start its
    interruption on a voiced moment of the prompt as it arrives."""
    for t in pc.getTransceivers():
        if t.kind == "audio":
            t.receiver._RTCRtpReceiver__jitter_buffer = PassThrough()


class PassThrough:
    """An audio jitter buffer that is none: each packet (one audio frame) to the decoder at once."""

    def add(self, packet):  # type: ignore[no-untyped-def]
        from aiortc.jitterbuffer import JitterFrame

        data = getattr(packet, "_data", b"")
        return False, (JitterFrame(data=data, timestamp=packet.timestamp) if data else None)


def mic_track(caller: Caller):  # type: ignore[no-untyped-def]
    from aiortc import MediaStreamTrack
    from av import AudioFrame

    class Mic(MediaStreamTrack):
        kind = "audio"

        def __init__(self) -> None:
            super().__init__()
            self.start: float | None = None
            self.pts = 0

        async def recv(self) -> AudioFrame:
            now = time.monotonic()
            if self.start is None:
                self.start = now
            else:
                self.pts += MIC_FRAME
                wait = self.start + self.pts / MIC_RATE - now
                if wait > 0:
                    await asyncio.sleep(wait)
            samples = caller.next_mic_frame()
            frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = MIC_RATE
            frame.pts = self.pts
            frame.time_base = fractions.Fraction(1, MIC_RATE)
            return frame

    return Mic()


@dataclass
class Heard:
    t_arrival: list[float] = field(default_factory=list)
    t_decoded: list[float] = field(default_factory=list)
    voiced: list[bool] = field(default_factory=list)


class Caller:
    """One browser call: mic out, prompt in, keys on the data channel."""

    def __init__(self, url: str, arrivals: Arrivals) -> None:
        self.url = url
        self.arrivals = arrivals
        self.out: list[np.ndarray] = []
        self.onset: float | None = None
        self.heard = Heard()
        self.bye = asyncio.Event()
        self.pc = None
        self.dc = None
        self._tasks: list[asyncio.Task] = []

    def next_mic_frame(self) -> np.ndarray:
        if not self.out:
            return np.zeros(MIC_FRAME, np.int16)
        frame = self.out.pop(0)
        if self.onset is None and float(np.abs(frame.astype(np.int32)).mean()) > VOICED:
            self.onset = time.monotonic()  # handed to the sender now: the caller starts to speak
        return frame

    def say(self, samples: np.ndarray) -> None:
        n = len(samples) // MIC_FRAME
        self.out = list(samples[: n * MIC_FRAME].reshape(n, MIC_FRAME))

    def press(self, key: str) -> None:
        assert self.dc is not None
        self.dc.send(json.dumps({"type": "key", "key": key}))
        if self.onset is None:
            self.onset = time.monotonic()

    async def connect(self) -> None:
        import httpx
        from aiortc import RTCPeerConnection, RTCSessionDescription
        from aiortc.mediastreams import MediaStreamError

        self.arrivals.reset()
        pc = RTCPeerConnection()
        self.pc = pc
        self.dc = dc = pc.createDataChannel("callwright")

        @dc.on("message")
        def on_message(raw: str) -> None:
            with contextlib.suppress(ValueError):
                if json.loads(raw).get("type") == "bye":
                    self.bye.set()

        @pc.on("track")
        def on_track(track) -> None:  # type: ignore[no-untyped-def]
            async def pull() -> None:
                with contextlib.suppress(MediaStreamError):
                    while True:
                        frame = await track.recv()
                        t = time.monotonic()
                        x = frame.to_ndarray().reshape(-1).astype(np.int32)  # interleaved stereo
                        self.heard.t_decoded.append(t)
                        arrived = self.arrivals.arrival(int(frame.pts))
                        self.heard.t_arrival.append(arrived if arrived is not None else float("nan"))
                        self.heard.voiced.append(float(np.abs(x).mean()) > VOICED)

            self._tasks.append(asyncio.ensure_future(pull()))

        pc.addTrack(mic_track(self))
        await pc.setLocalDescription(await pc.createOffer())  # gathers every candidate first
        async with httpx.AsyncClient(timeout=WAIT_S) as client:
            resp = await client.post(
                self.url + "offer", json={"type": "offer", "sdp": pc.localDescription.sdp, "number": ""}
            )
        resp.raise_for_status()
        await pc.setRemoteDescription(RTCSessionDescription(sdp=resp.json()["sdp"], type="answer"))
        no_playout_delay(pc)
        deadline = time.monotonic() + WAIT_S
        while dc.readyState != "open":
            if time.monotonic() > deadline:
                raise TimeoutError("the data channel never opened")
            await asyncio.sleep(0.02)

    def last_voiced(self) -> float:
        """When the last voiced prompt packet arrived."""
        for t, v in zip(reversed(self.heard.t_arrival), reversed(self.heard.voiced), strict=True):
            if v and t == t:
                return t
        return 0.0

    async def heard_prompt(self) -> None:
        start = time.monotonic()
        while self.last_voiced() < start:
            if time.monotonic() - start > WAIT_S:
                raise TimeoutError("no prompt heard")
            await asyncio.sleep(0.02)

    def reaction(self, times: list[float]) -> float | None:
        """Onset -> the last voiced packet before QUIET_MS of quiet (ms), on `times`."""
        if self.onset is None:
            return None
        last = None
        for t, v in zip(times, self.heard.voiced, strict=True):
            if t != t or t < self.onset - 1.0 or not v:  # nan: a frame whose packet was not seen
                continue
            if last is not None and t - last > QUIET_MS / 1000 and last >= self.onset - 0.04:
                break
            last = t
        return None if last is None else (last - self.onset) * 1000

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self.pc is not None:
            await self.pc.close()


async def trial(
    url: str, arrivals: Arrivals, how: str, speech: np.ndarray
) -> tuple[float | None, float | None]:
    """One call: (reaction at packet arrival, reaction at decoded frame), ms."""
    c = Caller(url, arrivals)
    try:
        await c.connect()
        await c.heard_prompt()
        await asyncio.sleep(random.uniform(0.6, 1.6))
        # start on a voiced moment of the prompt, so its going quiet is the barge-in, not a pause
        while time.monotonic() - c.last_voiced() > 0.03:
            await asyncio.sleep(0.005)
        if how == "key":
            c.press("8")
        else:
            c.say(speech)
        await asyncio.sleep(QUIET_MS / 1000 + 1.5)
        result = c.reaction(c.heard.t_arrival), c.reaction(c.heard.t_decoded)
        if not c.bye.is_set():
            c.press("8")  # quiet-end: the call ends without a prompt
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(c.bye.wait(), 20)
        return result
    finally:
        await c.close()


# --- the server -----------------------------------------------------------------------------


@contextlib.contextmanager
def server(tmp: Path, flow: Path) -> Iterator[str]:
    """`callwright serve FLOW --http 127.0.0.1:0` in its own process: the call page's URL."""
    cmd = [
        sys.executable, "-m", "callwright", "serve", str(flow),
        "--http", "127.0.0.1:0", "--max-calls", "4",
        "--db", str(tmp / "calls.db"), "--recordings", str(tmp / "rec"),
        "--engine", "whisper", "--grace", "5",
    ]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": src_path}
    with serving(cmd, env=env, cwd=tmp, service="webrtc") as (_, url, _):
        yield url


def espeak(text: str, rate: int = MIC_RATE) -> np.ndarray:
    """espeak-ng at `rate` int16 (from its 22.05 kHz by linear interpolation), 100 ms tail."""
    wav = subprocess.run(
        ["espeak-ng", "-v", "en-us", "--stdout", text], capture_output=True, check=True
    ).stdout
    src_rate = struct.unpack_from("<I", wav, 24)[0]
    data = np.frombuffer(wav[44:], np.int16).astype(np.float64)
    n = int(len(data) * rate / src_rate)
    x = np.interp(np.arange(n) * src_rate / rate, np.arange(len(data)), data)
    return np.concatenate([x, np.zeros(rate // 10)]).astype(np.int16)


async def run(url: str, trials: int) -> dict:
    arrivals = Arrivals()
    arrivals.install()
    speech = espeak(SPEECH)
    out: dict = {}
    for how in ("key", "speech"):
        at_arrival: list[float] = []
        decoded: list[float] = []
        for _ in range(trials):
            try:
                a, d = await trial(url, arrivals, how, speech)
            except Exception as err:  # noqa: BLE001 - a failed trial is counted, not fatal
                print(json.dumps({"trial_error": repr(err)}), flush=True)
                continue
            if a is not None:
                at_arrival.append(a)
            if d is not None:
                decoded.append(d)
        out[f"webrtc_{how}"] = barge_stats(at_arrival, trials)
        out[f"webrtc_{how}_decoded"] = barge_stats(decoded, trials)
        print(json.dumps({how: out[f"webrtc_{how}"]}), flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=20, help="trials per kind (key, speech)")
    ap.add_argument("--quick", action="store_true", help="3 trials per kind")
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args()
    trials = 3 if args.quick else args.trials
    result: dict = {"mode": "webrtc barge", "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                    "cores": os.cpu_count(), "load_avg_before": [round(x, 2) for x in os.getloadavg()]}  # fmt: skip
    with tempfile.TemporaryDirectory() as d, server(Path(d), SPEECH_FLOW) as url:
        result.update(asyncio.run(run(url, trials)))
    result["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=1))
    if args.json_out:
        args.json_out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
