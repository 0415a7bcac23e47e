"""What every typed value shares: the result of a parse, the options, the call's context."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Parsed:
    """A value understood and valid: `value` is its stored form (a variable holds text:
    "1980-03-05", "15:30", "+15551234567", "12.50", "AB12C")."""

    value: str


@dataclass(frozen=True)
class Invalid:
    """Not a value of this kind, or one out of its limits: `reason` is what the call log says."""

    reason: str


Result = Parsed | Invalid


@dataclass(frozen=True)
class Context:
    """What a parse needs from the call: its language (words, the default key order of a
    date) and today's date (for `today` as a limit and for two-figure years)."""

    language: str = "en"
    today: date | None = None

    def day(self) -> date:
        return self.today or date.today()
