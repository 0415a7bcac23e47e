"""Clocks: the live engine runs on real time, tests and text calls on a fake one.

Every timeout in a call (no-input, inter-digit, recording) is a deadline on a
`Clock`, never a thread timer, so a test can jump straight to it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic scale (only differences matter)."""

    def wall(self) -> datetime:
        """The current date and time, timezone-aware (for business hours, logs)."""

    def skip_to(self, t: float) -> None:
        """Move to time t if the clock can (a fake clock); a real clock ignores it."""


class RealClock:
    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> datetime:
        return datetime.now(UTC)

    def skip_to(self, t: float) -> None:  # real time cannot be skipped
        return None


class FakeClock:
    """A clock that moves only when told: tests run in zero wall time."""

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # a Monday morning
        if self._start.tzinfo is None:
            self._start = self._start.replace(tzinfo=UTC)
        self._t = 0.0

    def now(self) -> float:
        return self._t

    def wall(self) -> datetime:
        return self._start + timedelta(seconds=self._t)

    def advance(self, seconds: float) -> None:
        self._t += max(0.0, seconds)

    def skip_to(self, t: float) -> None:
        self._t = max(self._t, t)
