"""The caller's audio to the decoder as each packet arrives, for barge-in within 200 ms.

aiortc's audio receiver puts every RTP packet through a jitter buffer that hands a frame to the
decoder only once four later frames have arrived (`JitterBuffer(capacity=16, prefetch=4)`): the
caller's audio reaches the line 80 ms late, and the endpointer, which needs 100 ms of voice
before it stops a prompt, hears the caller start to speak 80 ms later than on SIP or
AudioSocket (measured by `bench/webrtc_barge.py`: speech stopped a prompt in 200-220 ms p95,
over the 200 ms the telephony issue asks; 140 ms with this buffer). It also held the last four
frames of any burst until more packets came.

The server does not play the caller's audio to anyone: the line only endpoints, detects keys,
recognises and records it, none of which needs a smooth playout. So each audio packet goes to
the decoder as it arrives (`ArrivalOrderBuffer`). The price: a packet that arrives after a later
one (reordered on the network) is dropped, not put back in its place; on a loopback or a LAN
that does not happen, and on the internet it is rare and costs 20 ms of the caller's audio,
which the recording skips as it skips a lost packet.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

MAX_MISORDER = 100
"""A packet this many sequence numbers or more behind the last one is not late but a restarted
stream (as aiortc's own buffer treats it): it is taken and the count starts again from it."""
_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"  # aiortc 1.9-1.16: RTCRtpReceiver.__jitter_buffer


class ArrivalOrderBuffer:
    """Stands in for aiortc's audio `JitterBuffer` (the one method the receiver calls, `add`):
    each packet is a whole audio frame (Opus and G.711 frames are one packet each), returned
    at once; a duplicate or a packet older than the last one taken is dropped."""

    def __init__(self) -> None:
        self._last: int | None = None
        self.dropped = 0

    def add(self, packet: Any) -> tuple[bool, Any]:
        """(no picture loss to report, the frame to decode or None): aiortc's contract."""
        from aiortc.jitterbuffer import JitterFrame

        seq = int(packet.sequence_number)
        if self._last is not None:
            behind = (self._last - seq) & 0xFFFF
            if behind < MAX_MISORDER:  # 0: a duplicate; 1..99: it arrived after a later one
                self.dropped += 1
                return False, None
        self._last = seq
        data = getattr(packet, "_data", b"")
        if not data:
            return False, None
        return False, JitterFrame(data=data, timestamp=packet.timestamp)


def deliver_on_arrival(receiver: Any) -> bool:
    """Give an aiortc audio `RTCRtpReceiver` an `ArrivalOrderBuffer` (before media flows: right
    after the remote description is set). False, with a warning, if this aiortc keeps its buffer
    elsewhere: the call still works, 80 ms slower to hear the caller."""
    if not hasattr(receiver, _JITTER_BUFFER):
        log.warning("webrtc: this aiortc has no audio jitter buffer to replace; barge-in is 80 ms slower")
        return False
    setattr(receiver, _JITTER_BUFFER, ArrivalOrderBuffer())
    return True
