"""Outbound dial attempts: the `dials` table (documented in docs/database.md).

Since migration 3 an attempt also names its contact and list (store.contacts.record_attempt
writes it through `save_dials`), the SIP status, whether a person or a machine answered,
right-party contact and abandonment: the outbound KPIs per campaign and list read them.

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
AnsweredBy = Literal["human", "machine"]


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
    # outbound lists (issue 18, migration 3): the contact and list dialled, and the far end's answer
    contact_id: int | None = None
    list_name: str | None = None
    sip_status: int | None = None  # the final SIP response (486 busy, 480, 404...), when dialled over SIP
    answered_by: AnsweredBy | None = None  # a connected call: a person, or a machine (voicemail)
    right_party: bool | None = None  # a connected call reached the intended person (the flow says)
    abandoned: bool = False  # connected but no agent came before the contact hung up (dialer)

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
            "right_party": None if d.right_party is None else int(d.right_party),
            "abandoned": int(d.abandoned),
        }
        for d in dials
    ]
    with db.atomic():
        db.table("dials").insert_all(rows, pk="id", replace=True, batch_size=1000)
    return len(rows)
