"""Silencing redacted stretches of a recording.

Silence (not a beep) is what PCI redaction tools write, and it keeps the
voice-activity metrics honest: the muted stretch counts as silence, never as
someone talking. The original is left untouched; callers write the copy.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

from callwright.errors import CallwrightError
from callwright.qa.redaction.words import Timed

if TYPE_CHECKING:
    from callwright.speech.audio import Audio

DEFAULT_PAD_S = 0.1
"""Word timestamps are often 50-100 ms off; padding keeps a digit's onset from leaking."""


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
