"""Clocks: the live engine runs on real time, tests and text calls on a fake one.

Every timeout in a call (no-input, inter-digit, recording) is a deadline on a
`Clock`, never a thread timer, so a test can jump straight to it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

from callwright.errors import CallwrightError

EARLIEST_CALL = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_CALL = datetime(3000, 1, 1, tzinfo=UTC)
"""A pretend call time (`--time`, flow tests) must fall in [EARLIEST_CALL, LATEST_CALL):
a call dated in year 1 or 9999 overflows date arithmetic (the call's end, day ranges
in reports) long before it is useful."""


def parse_call_time(text: str, what: str = "time") -> datetime:
    """An ISO date-time for a fake clock's start, refused with a clear message when it
    is not one or falls outside the supported range (UTC if no offset is given)."""
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CallwrightError(
            f"{what} {text!r} is not an ISO date-time such as 2026-11-23T10:00-05:00"
        ) from None
    return check_call_time(dt, what)


def check_call_time(dt: datetime, what: str = "time") -> datetime:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        ok = EARLIEST_CALL <= dt < LATEST_CALL
    except OverflowError:  # an offset that pushes the date past year 1 or 9999
        ok = False
    if not ok:
        raise CallwrightError(
            f"{what} {dt.isoformat()} is out of range: calls are dated from "
            f"{EARLIEST_CALL.date()} to before {LATEST_CALL.date()}"
        )
    return dt


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
