"""May we dial this contact now? One pure function, checked before every attempt.

`decide(contact, history, campaign, on_dnc=..., now=...)` returns `Dial()` or
`Refuse(reason, next_allowed_at, detail)`. No I/O: the caller looks up the do-not-call
list and the contact's history (store.contacts) and records the answer
(store.contacts.record_refusal); so the rules have table tests without a database or a phone.

The checks, in order (the first that fails is the reason):

1. `dnc`: the number is on the do-not-call list (imported, or an opt-out said in any call).
2. `no_consent`: the campaign requires consent and the contact has none of the campaign's
   kind (or it was withdrawn, or its date is in the future).
3. `completed`: the last attempt ended with an outcome that has no retry (a decision,
   a wrong party...): the campaign is done with this contact.
4. `attempts_exhausted`: `max_attempts` attempts have been made in this campaign.
5. `unknown_zone`: the contact's time zone is unknown (not given, not derivable from the
   number, or ambiguous). Calling hours cannot be honoured without it, so the safe
   default is to refuse: fix the contact's `time_zone` and it becomes callable.
6. `holiday` / `outside_hours`: now is not inside a calling window of the contact's local day.
7. `retry_too_soon`: the spacing of the last attempt's disposition has not passed.

`next_allowed_at` (for 6 and 7) is the first instant both inside a window and after the
retry spacing; None for the reasons that time does not cure (1-5), or when no window opens in
the next `MAX_SEARCH_DAYS` days (every day a holiday).

Time-zone edges (docs/outbound.md): a window is in the contact's local wall time. A window
that starts in a skipped hour (spring forward) opens the moment the clock jumps past its
start; a window ends the first time the local clock reads its end, so in a repeated hour
(fall back) the second pass of the same wall times is not inside it. Both err on the side
of not calling.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callwright.outbound.campaign import RETRY_DISPOSITIONS, WEEKDAYS, Campaign, Window
from callwright.outbound.contacts import Contact

Reason = Literal[
    "dnc",
    "no_consent",
    "completed",
    "attempts_exhausted",
    "unknown_zone",
    "holiday",
    "outside_hours",
    "retry_too_soon",
]
REASONS: tuple[Reason, ...] = (
    "dnc",
    "no_consent",
    "completed",
    "attempts_exhausted",
    "unknown_zone",
    "holiday",
    "outside_hours",
    "retry_too_soon",
)
# How far ahead the next calling window is looked for (a year of holidays and a week more).
MAX_SEARCH_DAYS = 373


@dataclass(frozen=True)
class History:
    """A contact's attempts in one campaign, as compliance needs them.

    `last_disposition` is one of campaign.RETRY_DISPOSITIONS for an attempt that may be
    retried, anything else (e.g. "completed", "wrong_party", "opted_out") for a final one."""

    attempts: int = 0
    last_attempt_at: datetime | None = None  # aware
    last_disposition: str | None = None


@dataclass(frozen=True)
class Dial:
    """Go ahead."""

    def __bool__(self) -> bool:
        return True


@dataclass(frozen=True)
class Refuse:
    reason: Reason
    next_allowed_at: datetime | None = None  # UTC; None: time will not make it callable
    detail: str = ""

    def __bool__(self) -> bool:
        return False


Decision = Dial | Refuse
_DIAL = Dial()


@lru_cache(maxsize=4096)
def zone(name: str | None) -> ZoneInfo | None:
    """The ZoneInfo for an IANA name, or None when it is missing or unknown."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def has_consent(contact: Contact, kind: str, now: datetime) -> bool:
    for c in contact.consents:
        if c.kind == kind:
            return c.granted and (c.at is None or c.at <= now)
    return False


def decide(
    contact: Contact, history: History, campaign: Campaign, *, on_dnc: bool, now: datetime
) -> Decision:
    """The compliance decision for dialing `contact` at `now` (an aware datetime)."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime (UTC)")
    if on_dnc:
        return Refuse("dnc", None, "the number is on the do-not-call list")
    if campaign.consent_required and not has_consent(contact, campaign.consent_kind, now):
        return Refuse(
            "no_consent", None, f"no '{campaign.consent_kind}' consent and the campaign requires it"
        )
    last = history.last_disposition
    if last is not None and last not in RETRY_DISPOSITIONS:
        return Refuse("completed", None, f"the last attempt ended {last!r}, which has no retry")
    if history.attempts >= campaign.max_attempts:
        return Refuse(
            "attempts_exhausted", None, f"{history.attempts} of {campaign.max_attempts} attempts made"
        )
    tz = zone(contact.time_zone)
    if tz is None:
        why = contact.zone_note or "no time zone"
        return Refuse(
            "unknown_zone",
            None,
            f"the contact's time zone is unknown ({why}): calling hours cannot be checked",
        )
    earliest = now
    if last is not None and history.last_attempt_at is not None:
        earliest = max(now, history.last_attempt_at + campaign.retry[last])
    opens = next_window(campaign, tz, earliest)
    if opens == now:
        return _DIAL
    local = now.astimezone(tz)
    in_window = next_window(campaign, tz, now) == now
    if not in_window:
        reason: Reason = "holiday" if local.date() in campaign.holidays else "outside_hours"
        detail = f"it is {local:%a %H:%M} {tz.key} for the contact"
    else:
        reason = "retry_too_soon"
        detail = f"last attempt {last}; retry after {campaign.retry.get(last or '')}"
    return Refuse(reason, opens, detail)


def next_window(campaign: Campaign, tz: ZoneInfo, at: datetime) -> datetime | None:
    """The first instant at or after `at` inside a calling window of the campaign in zone `tz`
    (`at` itself when it is inside one), in UTC; None within MAX_SEARCH_DAYS."""
    at = at.astimezone(UTC)
    day = at.astimezone(tz).date() - timedelta(days=1)  # a window of yesterday may still be open
    for _ in range(MAX_SEARCH_DAYS + 1):
        if day not in campaign.holidays:
            for w in campaign.hours[WEEKDAYS[day.weekday()]]:
                start, end = window_bounds(day, w, tz)
                if at < end:
                    return max(at, start)
        day += timedelta(days=1)
    return None


def window_bounds(day: date, w: Window, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """A window of local date `day` as UTC instants [start, end)."""
    start = earliest_instant(datetime.combine(day, w.start), tz)
    if w.end == time.max:
        end = earliest_instant(datetime.combine(day + timedelta(days=1), time()), tz)
    else:
        end = earliest_instant(datetime.combine(day, w.end), tz)
    return start, end


def earliest_instant(wall: datetime, tz: ZoneInfo) -> datetime:
    """The first UTC instant at which the local clock in `tz` reads `wall` or later.

    A wall time that happens twice (fall back) gives its first occurrence; one that never
    happens (spring forward) gives the instant of the jump."""
    a = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    b = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    lo, hi = min(a, b), max(a, b)
    if lo.astimezone(tz).replace(tzinfo=None) >= wall:
        return lo
    # In the gap: the local clock reads < wall at lo and > wall at hi; find the jump to the second.
    lo_s, hi_s = int(lo.timestamp()), int(hi.timestamp()) + 1
    while lo_s + 1 < hi_s:
        mid = (lo_s + hi_s) // 2
        if datetime.fromtimestamp(mid, tz).replace(tzinfo=None) >= wall:
            hi_s = mid
        else:
            lo_s = mid
    return datetime.fromtimestamp(hi_s, UTC)
