"""Answering-machine handling end to end (slow: a greeting has to play): baresip answers with
a voicemail greeting and a beep as its microphone; `callwright dial --amd` hears a machine,
the flow branches on `answered_by` and leaves its message after the beep, and the attempt is
recorded as a voicemail (retried after the campaign's voicemail spacing)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from callwright.outbound.contacts import Contact
from callwright.speech.audio import Audio, write_wav
from callwright.store.db import open_db
from tests.outbound.dialer_support import DATA, BaresipCallee, campaign_file, save_list
from tests.server.sip.baresip_caller import available

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not available(), reason="baresip is not installed (scripts/setup.sh)"),
]
NUMBER = "+15550000321"


def test_a_machine_gets_the_message_after_its_beep(tmp_path):
    from callwright.speech.tts import default_synthesizer

    greeting = (
        default_synthesizer(tmp_path / "tts")
        .synthesize(
            "Hi, you have reached Alex. I cannot take your call right now. Please leave a message after the tone.",
            sample_rate=8000,
        )
        .samples.astype(np.int16)
    )
    t = np.arange(int(0.5 * 8000)) / 8000
    beep = (8000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    mic = np.concatenate([np.zeros(4000, np.int16), greeting, np.zeros(2400, np.int16), beep,
                          np.zeros(20 * 8000, np.int16)])  # fmt: skip
    write_wav(tmp_path / "mic.wav", Audio(mic, 8000))
    db_path = tmp_path / "calls.db"
    db = open_db(db_path)
    save_list(db, [Contact(NUMBER, "Alex", "Etc/UTC")])
    db.conn.close()
    campaign = campaign_file(tmp_path, flow=DATA / "optout.yaml", retry_s=3600, attempts=2)
    bs = BaresipCallee(tmp_path / "baresip", tmp_path / "mic.wav", [NUMBER])
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "callwright", "dial", str(campaign), "--sip", f"udp:127.0.0.1:{bs.sip_port}",
             "--db", str(db_path), "--recordings", str(tmp_path / "rec"), "--amd", "--max-wait", "5"],
            capture_output=True, text=True, timeout=120, cwd=tmp_path, env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )  # fmt: skip
    finally:
        bs.close()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    db = open_db(db_path)
    row = db.execute("select result, answered_by, disposition, call_id from dials").fetchone()
    assert row[:3] == ("connected", "machine", "voicemail")
    states = [
        r[0]
        for r in db.execute(
            "select state from call_events where call_id = ? and kind = 'state_enter' order by seq", [row[3]]
        ).fetchall()
    ]
    assert "message" in states and "menu" not in states
    heard = bs.recording()  # what baresip heard: silence until the message, after the beep
    assert heard is not None
    import soundfile as sf

    audio, rate = sf.read(heard, dtype="int16")
    loud = np.flatnonzero(np.abs(audio.astype(np.int32)) > 1000)
    beep_at = (4000 + greeting.size + 2400) / 8000
    assert loud.size and loud[0] / rate >= beep_at, (loud[0] / rate, beep_at)
