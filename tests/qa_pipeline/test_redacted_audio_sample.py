"""The card-payment sample's redacted audio copy: the security code is silent wherever and however
the recogniser heard it (issue 12, personal data: "741" was recognised at 57-64 s of the copy).

Asserts no reading of the audio: only that the script's CVV and expiry lines, at their rendered
times, are digital silence in the copy, and that the copy decodes to no keypad tone."""

from __future__ import annotations

import json

import numpy as np


def _line(ref: dict, speaker: str, text: str) -> tuple[float, float]:
    (seg,) = [s for s in ref["segments"] if s["speaker"] == speaker and s["text"] == text]
    return seg["start"], seg["end"]


def test_the_security_code_and_expiry_lines_are_silent_in_the_redacted_copy(scored_db):
    from callwright.speech.audio import read_audio
    from callwright.speech.dtmf import detect_dtmf

    _, samples = scored_db
    s = samples["inbound-card-payment"]
    ref = json.loads((s.path.parent / "ref" / "inbound-card-payment.json").read_text(encoding="utf-8"))
    audio = read_audio(s.outcome.redacted_audio)
    for text in ("Seven four one.", "Oh nine, twenty seven."):
        a, b = _line(ref, "customer", text)
        stretch = audio.samples[int(a * audio.rate) : int(np.ceil(b * audio.rate))]
        assert stretch.size and not stretch.any(), f"{text!r} at {a}-{b} s is audible in the copy"
    # what comes before the payment is kept: the greeting is not silenced
    a, b = ref["segments"][0]["start"], ref["segments"][0]["end"]
    assert (
        np.count_nonzero(audio.samples[int(a * audio.rate) : int(b * audio.rate)])
        > 0.5 * (b - a) * audio.rate
    )
    for c in range(audio.channels):
        assert detect_dtmf(audio.channel(c).samples, audio.rate) == []
