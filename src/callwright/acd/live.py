"""What a running ACD reports about its queues right now, and the wait it expects from that.

A queue state's callback offer needs "how long would this caller wait?". When an ACD is
running, the answer comes from its current state: a `LiveAcd` hands out a `QueueSnapshot`
per queue and `estimated_wait_s` turns it into seconds with the classic ACD estimate, the
same one the simulation (`callwright.reports.acd`) uses to decide its own callback offers,
so a flow and the simulated queue agree on when a wait is "too long".

`QueueBoard` is a thread-safe `LiveAcd` that whatever drives the agents and the queue (an
ACD adapter, a simulation stepping in real time, a test) keeps up to date; the IVR only
reads it. No dependencies: this module sits below the IVR.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Protocol

from callwright.errors import DataError


@dataclass(frozen=True)
class QueueSnapshot:
    """One queue as the ACD sees it now.

    `waiting` callers are ahead of a new one (for the queue's skill); `agents_on_duty`
    skilled agents are logged in (busy or idle); `aht_s` is the mean handle time.
    """

    waiting: int
    agents_on_duty: int
    aht_s: float

    def __post_init__(self) -> None:
        if self.waiting < 0 or self.agents_on_duty < 0:
            raise DataError(f"queue snapshot: counts must be >= 0, got {self.waiting}, {self.agents_on_duty}")
        if not self.aht_s >= 0:
            raise DataError(f"queue snapshot: mean handle time must be >= 0 s, got {self.aht_s}")


def estimated_wait_s(snapshot: QueueSnapshot) -> float:
    """The classic ACD estimate: (callers ahead + 1) × mean handle time / skilled agents on
    duty; infinite when nobody is on duty (every callback threshold is exceeded then)."""
    if snapshot.agents_on_duty == 0:
        return math.inf
    return (snapshot.waiting + 1) * snapshot.aht_s / snapshot.agents_on_duty


class LiveAcd(Protocol):
    """A running ACD: its queues' current state; None for a queue it does not serve."""

    def snapshot(self, queue: str) -> QueueSnapshot | None: ...


class QueueBoard:
    """A `LiveAcd` kept up to date from outside (thread-safe: calls read it from their threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, QueueSnapshot] = {}

    def update(self, queue: str, snapshot: QueueSnapshot) -> None:
        with self._lock:
            self._queues[queue] = snapshot

    def remove(self, queue: str) -> None:
        with self._lock:
            self._queues.pop(queue, None)

    def snapshot(self, queue: str) -> QueueSnapshot | None:
        with self._lock:
            return self._queues.get(queue)
