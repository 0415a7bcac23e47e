"""Silencing redacted stretches of a recording.

Silence (not a beep) is what PCI redaction tools write, and it keeps the
voice-activity metrics honest: the muted stretch counts as silence, never as
someone talking. The original is left untouched; callers write the copy.

Keypad tones are muted as well (`mute_dtmf`): a card number or PIN keyed on the
phone never reaches the transcript, so no text range covers it, yet any DTMF
decoder reads it back from the audio. A redacted copy has every tone silenced,
whatever key it is: on a QA recording keyed digits are nearly always
identifiers, and the copy loses nothing a reviewer needs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from callwright.errors import CallwrightError
from callwright.redaction.words import Timed

if TYPE_CHECKING:
    from callwright.speech.audio import Audio

DEFAULT_PAD_S = 0.1
"""Word timestamps are often 50-100 ms off; padding keeps a digit's onset from leaking."""
DTMF_PAD_S = 0.06
"""Tone edges are found within about 10 ms; the pad also takes a tone's ramp that the detector's
thresholds do not count, so nothing of a key is left for a looser decoder."""
DTMF_BURST_GAP_S = 1.0
"""Tones this close together are one burst of key presses (a card number keyed at 1-5 keys a second,
in groups) and are muted whole, gaps included: a key under loud speech that the detector missed
between two it found is muted with them."""


@dataclass(frozen=True)
class ToneSpan:
    """Seconds of the recording that held a keypad tone (any key)."""

    start: float
    end: float


def mute_ranges(
    audio: Audio,
    ranges: Iterable[Timed],
    pad_s: float = DEFAULT_PAD_S,
    *,
    channel: int | None = None,
) -> Audio:
    """A copy of the audio with each range (widened by `pad_s`) set to silence.

    All channels are muted by default, because on a stereo call the agent often
    reads the number back and echo leaks it into the other channel; give
    `channel` to mute only one.
    """
    from callwright.speech.audio import Audio

    if pad_s < 0 or math.isnan(pad_s):
        raise CallwrightError(f"redaction padding must be 0 s or more, got {pad_s}")
    if channel is not None and not 0 <= channel < audio.channels:
        raise CallwrightError(f"cannot mute channel {channel}: the recording has {audio.channels} channel(s)")
    samples = audio.samples.copy()
    n = audio.n_samples
    for r in ranges:
        a = max(0, math.floor((r.start - pad_s) * audio.rate))
        b = min(n, math.ceil((r.end + pad_s) * audio.rate))
        if b <= a:
            continue
        if samples.ndim == 1 or channel is None:
            samples[a:b] = 0
        else:
            samples[a:b, channel] = 0
    return Audio(samples, audio.rate)


def mute_dtmf(audio: Audio, pad_s: float = DTMF_PAD_S) -> tuple[Audio, list[ToneSpan]]:
    """A copy with every DTMF tone (found on any channel) silenced on all channels, and the spans
    silenced (a burst of key presses is one span, see `DTMF_BURST_GAP_S`).

    Tones are found with the detector's lenient thresholds (`dtmf.LENIENT`):
    what matters is what any decoder could read back, not what an IVR accepts.
    """
    from callwright.speech.dtmf import tone_spans

    spans: list[ToneSpan] = []
    for a, b in tone_spans(audio):
        if spans and a - spans[-1].end <= DTMF_BURST_GAP_S:
            spans[-1] = ToneSpan(spans[-1].start, max(b, spans[-1].end))
        else:
            spans.append(ToneSpan(a, b))
    return (mute_ranges(audio, spans, pad_s) if spans else audio), spans
