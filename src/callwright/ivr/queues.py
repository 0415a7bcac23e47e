"""Where a `queue` state's expected wait comes from (its callback offer compares it with
`callback.when_wait_over`).

Two sources, one interface (`QueueWaits.expected_wait_s(queue)`):

- `AcdWaits`: a running ACD's current state (`callwright.acd.live.LiveAcd`), turned into
  seconds by the ACD's own estimate; for a queue the ACD does not serve, the configured
  figure.
- `ConfiguredWaits`: a fixed figure per queue from configuration (`--queue-wait
  billing=120` on `callwright call` and `callwright serve`); 0 s for a queue not listed,
  so no callback is offered for it.

`callwright serve` runs no ACD of its own, so there the configured figures are the source;
a program that embeds `CallServer` next to an ACD passes `AcdWaits(board, configured)`.
"""

from __future__ import annotations

from typing import Literal, Protocol

from callwright.acd.live import LiveAcd, estimated_wait_s

WaitSource = Literal["acd", "configured"]


class QueueWaits(Protocol):
    """Expected wait in seconds for a caller joining `queue` now."""

    def expected_wait_s(self, queue: str) -> float: ...


class ConfiguredWaits:
    """Expected wait per queue from configuration; 0 s for a queue not configured."""

    source: WaitSource = "configured"

    def __init__(self, waits: dict[str, float] | None = None) -> None:
        self.waits = dict(waits or {})

    def expected_wait_s(self, queue: str) -> float:
        return float(self.waits.get(queue, 0.0))


class AcdWaits:
    """Expected wait from a running ACD; the configured figure for queues it does not serve."""

    def __init__(self, acd: LiveAcd, fallback: QueueWaits | None = None) -> None:
        self.acd = acd
        self.fallback: QueueWaits = fallback or ConfiguredWaits()

    def source_of(self, queue: str) -> WaitSource:
        return "acd" if self.acd.snapshot(queue) is not None else "configured"

    def expected_wait_s(self, queue: str) -> float:
        snapshot = self.acd.snapshot(queue)
        if snapshot is None:
            return self.fallback.expected_wait_s(queue)
        return estimated_wait_s(snapshot)
