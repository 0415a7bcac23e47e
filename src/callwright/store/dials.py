"""Outbound dial attempts: the `dials` table (documented in docs/database.md).

An outbound campaign dials many numbers and only some answer; the attempts
that never connect have no call, so they are rows of their own. A dial that
connected points at the call it became (`call_id`), e.g. an IVR reminder
call logged by `CallLog`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

import sqlite_utils

from callwright.errors import DataError

DialResult = Literal["connected", "no_answer", "busy", "voicemail", "failed"]
RESULTS = ("connected", "no_answer", "busy", "voicemail", "failed")


@dataclass(frozen=True)
class Dial:
    """One attempt to reach one customer for one campaign."""

    id: str
    campaign: str
    dialed_at: str  # ISO 8601 with time zone
    result: DialResult
    customer: str | None = None
    agent: str | None = None
    team: str | None = None
    call_id: str | None = None  # the call it became, when connected
    talk_s: float | None = None
    disposition: str | None = None
    converted: bool = False
    opted_out: bool = False

    def __post_init__(self) -> None:
        if self.result not in RESULTS:
            raise DataError(f"dial {self.id}: result {self.result!r} is not one of {', '.join(RESULTS)}")
        if self.call_id is not None and self.result != "connected":
            raise DataError(f"dial {self.id}: only a connected dial has a call")


def save_dials(db: sqlite_utils.Database, dials: Iterable[Dial]) -> int:
    """Insert or replace dial rows in one transaction; returns how many were written."""
    rows = [
        {
            **asdict(d),
            "connected": int(d.result == "connected"),
            "converted": int(d.converted),
            "opted_out": int(d.opted_out),
        }
        for d in dials
    ]
    with db.atomic():
        db.table("dials").insert_all(rows, pk="id", replace=True, batch_size=1000)
    return len(rows)
