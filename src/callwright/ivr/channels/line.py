"""The seam between a live call's audio path and the IVR: `LineDevice`.

A sound card, an RTP stream, an AudioSocket connection and a WebRTC track all carry
the same thing: caller frames in, prompt audio out, keys and the far end's hang-up as
events. Each implements this protocol; `channels.live.LiveChannel` runs a call over
any of them (endpointing, keys, recognition, barge-in and the stereo recording are
the audio line's, the same for every channel).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from callwright.ivr.events import Dtmf, Hangup, Transfer, TransferOutcome


class LineDevice(Protocol):
    """One live call's audio path: a sound card, an RTP stream, an AudioSocket connection, a WebRTC track."""

    rate: int  # sample rate of the frames in and out (8000 for telephony)

    def start(
        self,
        on_input: Callable[[np.ndarray], None],
        on_event: Callable[[Dtmf | Hangup | TransferOutcome], None],
    ) -> None:
        """Begin: on_input gets int16 mono frames, on_event out-of-band keys (RFC 4733),
        the far end's hang-up and (a `TransferringLine`) transfer results; both may be
        called from any thread."""

    def play(self, samples: np.ndarray) -> None:
        """Queue int16 mono at `rate`; returns at once; the device paces it."""

    def stop_playback(self) -> None:
        """Drop what is still queued (barge-in)."""

    @property
    def playing(self) -> bool: ...

    def close(self) -> None:
        """Hang up / release; idempotent."""


class TransferringLine(Protocol):
    """Optional, for a line that can hand the call on (a SIP blind transfer with REFER).

    `LiveChannel` calls `transfer` when the flow transfers the call (a queue state, a transfer
    state), once the prompt before it has played; a device without it only logs the transfer
    (and the flow takes `transferred`)."""

    def transfer(self, action: Transfer) -> None:
        """Hand the call to `action.destination` (a SIP URI) or `action.queue`; returns at once.
        The result comes back later through `start`'s `on_event` as a `TransferOutcome`
        (`transferred` at once when there is nothing to do, e.g. a queue)."""
