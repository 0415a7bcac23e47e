"""The dialer holds N lines in flight on loopback without audio dropouts (issue 18, performance).

    PYTHONPATH=src .venv/bin/python bench/dialer_load.py --lines 50 --seconds 20

Two processes on 127.0.0.1 (free ports):
- an auto-answer UAS of our own (`SipServer` in a child process, this file with `--uas`):
  answers every INVITE, plays a steady 700 Hz tone for the whole call, keeps what it hears;
- `callwright dial` (the real command) with a campaign of N contacts, pacing N lines, whose
  flow plays a `--seconds` long 400 Hz tone prompt (a WAV file) while it listens (an ask state:
  the far end's audio goes through the live channel and into the recording), then hangs up.

Audio dropouts are counted both ways, as 20 ms frames of silence inside a tone that should be
continuous: what the UAS heard from the dialer (lost or late-dropped packets of our RTP under N
calls), and what the dialer's recordings hold of the UAS's tone. The recordings are aligned to
the wall clock (ivr/channels/live.py: audio over 200 ms behind skips ahead), so a stall of the
dialer's process longer than that shows there as a gap even when no packet was lost; the
dialer's own RTP clock lateness (p50/p99/max) is printed too.
Also printed: calls answered, the most lines in flight at once, and the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

RATE = 8000
FRAME = 160
SILENT_RMS = 300.0  # a frame quieter than this inside a tone is a dropout


def tone(seconds: float, hz: float, level: float = 6000) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (level * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def dropouts(samples: np.ndarray) -> tuple[int, int]:
    """(silent frames inside the tone, frames of tone) between the first and last loud frame."""
    n = samples.size // FRAME
    if n == 0:
        return 0, 0
    frames = samples[: n * FRAME].reshape(n, FRAME).astype(np.float64)
    loud = np.sqrt((frames**2).mean(axis=1)) > SILENT_RMS
    idx = np.flatnonzero(loud)
    if idx.size == 0:
        return 0, 0
    inside = loud[idx[0] : idx[-1] + 1]
    return int((~inside).sum()), int(inside.size)


# --- the auto-answer UAS (child process) ------------------------------------------------------


def run_uas(port_file: Path, seconds: float) -> None:
    from callwright.ivr.events import Hangup
    from callwright.server.sip import SipConfig, SipServer

    stats: list[dict] = []
    signal = tone(seconds + 20, 700)

    def on_call(call) -> None:
        frames: list[np.ndarray] = []

        def on_event(ev) -> None:
            if isinstance(ev, Hangup):
                heard = np.concatenate(frames) if frames else np.zeros(0, np.int16)
                silent, total = dropouts(heard)
                stats.append({"silent": silent, "frames": total, "packets_in": call.packets_in})

        call.start(frames.append, on_event)
        call.play(signal)

    async def main() -> None:
        server = SipServer(SipConfig(port=0, max_calls=200), on_call)
        await server.start()
        port_file.write_text(str(server.port))
        stop = Path(str(port_file) + ".stop")
        while not stop.exists():
            await asyncio.sleep(0.1)
        jitter = server.send_jitter_ms()
        await server.stop(grace_s=1)
        print(json.dumps({"calls": stats, "send_jitter_ms": jitter}))

    asyncio.run(main())


# --- the benchmark ----------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each call's tone prompt")
    ap.add_argument("--uas", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.uas:
        run_uas(args.uas, args.seconds)
        return
    if not 1 <= args.lines <= 100:
        sys.exit("--lines: 1 to 100")
    from callwright.outbound.contacts import Contact
    from callwright.speech.audio import Audio, write_wav
    from callwright.store import contacts as cstore
    from callwright.store.db import open_db

    tmp = Path(tempfile.mkdtemp(prefix="dialer-load-"))
    write_wav(tmp / "tone.wav", Audio(tone(args.seconds, 400), RATE))
    (tmp / "flow.yaml").write_text(
        """flow: bench-dialer-load
version: 1
direction: outbound
start: play
settings: {input: dtmf, barge_in: false, timeouts: {no_input: 1s}, retries: {no_input: 0, no_match: 0}, on_failure: bye}
states:
  play:
    type: ask
    collect: menu
    prompt: {text: "a tone", audio: tone.wav}
    choices: [{id: one, dtmf: "1", next: bye}]
  bye: {type: hangup, disposition: confirmed}
"""
    )
    days = "\n".join(f"  {d}: ['00:00-24:00']" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
    (tmp / "campaign.yaml").write_text(
        f"""name: load
list: load
flow: flow.yaml
caller_id: "+15550100999"
consent: not_required
max_attempts: 1
retry: {{no_answer: 60, busy: 60, failed: 60, voicemail: 60, answered_no_decision: 60}}
pacing: {{lines_per_agent: 1, agents: {args.lines}, max_lines: {args.lines}}}
hours:
{days}
"""
    )
    db = open_db(tmp / "calls.db")
    cstore.ensure_list(db, "load", "bench")
    cstore.save_contacts(
        db, "load", [Contact(f"+1555{i:07d}", None, "Etc/UTC", line=i + 1) for i in range(args.lines)]
    )
    db.conn.close()
    port_file = tmp / "uas.port"
    uas = subprocess.Popen(
        [sys.executable, __file__, "--uas", str(port_file), "--seconds", str(args.seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not port_file.exists() or not port_file.read_text():
        if time.monotonic() > deadline or uas.poll() is not None:
            sys.exit("the UAS did not start")
        time.sleep(0.1)
    port = int(port_file.read_text())
    import resource

    t0 = time.monotonic()
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_before = os.getloadavg()
    dial = subprocess.run(
        [sys.executable, "-m", "callwright", "dial", str(tmp / "campaign.yaml"), "--sip", f"udp:127.0.0.1:{port}",
         "--db", str(tmp / "calls.db"), "--recordings", str(tmp / "rec"), "--max-wait", "5"],
        capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}, cwd=tmp,
    )  # fmt: skip
    took = time.monotonic() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # the dial process (the UAS is still running)
    dial_cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    load_after = os.getloadavg()
    Path(str(port_file) + ".stop").write_text("")
    uas_out, _ = uas.communicate(timeout=60)
    if dial.returncode != 0:
        sys.exit(f"callwright dial failed:\n{dial.stdout}\n{dial.stderr[-3000:]}")
    uas_stats = json.loads(uas_out.strip().splitlines()[-1])
    import soundfile as sf

    rec_silent = rec_frames = 0
    for wav in sorted((tmp / "rec").glob("*.wav")):
        data, _ = sf.read(wav, dtype="int16")
        s, f = dropouts(data[:, 0] if data.ndim == 2 else data)  # left: the far end (the UAS's tone)
        rec_silent += s
        rec_frames += f
    db = open_db(tmp / "calls.db")
    answered = db.execute("select count(*) from dials where result = 'connected'").fetchone()[0]
    calls = uas_stats["calls"]
    heard_silent = sum(c["silent"] for c in calls)
    heard_frames = sum(c["frames"] for c in calls)
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores")
    print(
        f"command: PYTHONPATH=src .venv/bin/python bench/dialer_load.py --lines {args.lines} --seconds {args.seconds:g}"
    )
    print(f"lines: {args.lines}; answered: {answered}; calls seen by the UAS: {len(calls)}; run {took:.1f} s")
    print(f"most lines in flight at once: {_max_in_flight(db)}")
    print(f"dial process CPU: {dial_cpu:.1f} s over {took:.1f} s ({dial_cpu / took:.2f} cores on average)")
    print(
        f"dropouts, dialer -> UAS (our RTP pacing): {heard_silent} of {heard_frames} frames"
        f" ({100 * heard_silent / max(heard_frames, 1):.3f} %)"
    )
    print(
        f"gaps in the dialer's recordings (wall-clock aligned): {rec_silent} of {rec_frames} frames"
        f" ({100 * rec_silent / max(rec_frames, 1):.3f} %)"
    )
    received = [line for line in dial.stdout.splitlines() if line.startswith("RTP received")]
    print(f"dialer's {received[0] if received else 'RTP received: not reported'} (network-level dropouts)")
    clock = [line for line in dial.stdout.splitlines() if line.startswith("RTP clock lateness")]
    print(f"dialer's {clock[0] if clock else 'RTP clock: not reported'}")
    j = uas_stats["send_jitter_ms"]
    print(f"UAS's RTP clock lateness: p50 {j['p50']:.1f} ms, p99 {j['p99']:.1f} ms, max {j['max']:.1f} ms")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min)")


def _max_in_flight(db) -> int:
    """The most calls up at once, from the call log's start and end times."""
    rows = db.execute("select started_at, ended_at from calls where ended_at is not null").fetchall()
    edges = sorted(
        [(datetime.fromisoformat(a), 1) for a, _ in rows]
        + [(datetime.fromisoformat(b), -1) for _, b in rows],
        key=lambda e: (e[0], e[1]),
    )
    best = cur = 0
    for _, d in edges:
        cur += d
        best = max(best, cur)
    return best


if __name__ == "__main__":
    main()
