"""Compliance rules as tables: one row per situation, the decision and when calling becomes allowed.

Dates: US daylight saving 2026 starts Sun 8 March (02:00 -> 03:00) and ends Sun 1 November
(02:00 -> 01:00); the EU's starts Sun 29 March (01:00 UTC) and ends Sun 25 October (01:00 UTC).
"""

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callwright.outbound.campaign import WEEKDAYS, Campaign, Window, loads
from callwright.outbound.compliance import Dial, History, Refuse, decide, earliest_instant, zone
from callwright.outbound.contacts import Consent, Contact

ROOT = Path(__file__).resolve().parents[2]
NY, BERLIN = "America/New_York", "Europe/Berlin"


def campaign(**over) -> Campaign:
    hours = {d: (Window(time(8), time(21)),) for d in WEEKDAYS}
    base = dict(
        name="c",
        list_name="l",
        flow=ROOT / "flows" / "outbound-reminder.yaml",
        caller_id="+12125550100",
        consent_required=True,
        consent_kind="call",
        max_attempts=3,
        retry={
            "no_answer": timedelta(hours=4),
            "busy": timedelta(minutes=15),
            "failed": timedelta(hours=1),
            "voicemail": timedelta(days=1),
            "answered_no_decision": timedelta(days=2),
        },
        hours=hours,
    )
    base.update(over)
    return Campaign(**base)  # type: ignore[arg-type]


def person(tz: str | None = NY, consent: bool | None = True, since: str | None = None) -> Contact:
    consents = () if consent is None else (Consent("call", consent, _t(since) if since else None),)
    return Contact("+12125550101", time_zone=tz, consents=consents, zone_note=None if tz else "ambiguous")


def _t(s: str) -> datetime:
    return datetime.fromisoformat(s).astimezone(UTC)


# (what, zone, now UTC, expected: "dial" or (reason, next allowed UTC or None))
WINDOW_TABLE = [
    # an ordinary weekday in New York (EST, UTC-5)
    ("NY 08:00 EST opens", NY, "2026-03-02T13:00Z", "dial"),
    ("NY 07:59 EST", NY, "2026-03-02T12:59Z", ("outside_hours", "2026-03-02T13:00Z")),
    ("NY 20:59 EST", NY, "2026-03-02T01:59Z", "dial"),  # still Sun 1 March 20:59 local
    ("NY 21:00 EST closes", NY, "2026-03-03T02:00Z", ("outside_hours", "2026-03-03T13:00Z")),
    # US spring forward, Sun 8 March: 08:00 local is EDT, 12:00 UTC (not 13:00)
    ("US spring-forward day 08:00 EDT", NY, "2026-03-08T12:00Z", "dial"),
    ("US spring-forward day 07:59 EDT", NY, "2026-03-08T11:59Z", ("outside_hours", "2026-03-08T12:00Z")),
    (
        "US day before at 12:30 UTC is 07:30 EST",
        NY,
        "2026-03-07T12:30Z",
        ("outside_hours", "2026-03-07T13:00Z"),
    ),
    (
        "US spring forward: night before opens 08:00 EDT",
        NY,
        "2026-03-08T03:00Z",
        ("outside_hours", "2026-03-08T12:00Z"),
    ),
    ("US spring-forward day 20:59 EDT", NY, "2026-03-09T00:59Z", "dial"),
    ("US spring-forward day 21:00 EDT", NY, "2026-03-09T01:00Z", ("outside_hours", "2026-03-09T12:00Z")),
    # US fall back, Sun 1 November: 08:00 local is EST again, 13:00 UTC
    ("US fall-back day 07:30 EST", NY, "2026-11-01T12:30Z", ("outside_hours", "2026-11-01T13:00Z")),
    ("US fall-back day 08:00 EST", NY, "2026-11-01T13:00Z", "dial"),
    ("US day before fall back 08:00 EDT", NY, "2026-10-31T12:00Z", "dial"),
    ("US fall-back day 21:00 EST closes", NY, "2026-11-02T02:00Z", ("outside_hours", "2026-11-02T13:00Z")),
    # EU spring forward, Sun 29 March: Berlin 08:00 is CEST (UTC+2), 06:00 UTC
    ("EU spring-forward day 08:00 CEST", BERLIN, "2026-03-29T06:00Z", "dial"),
    ("EU spring-forward day 07:59 CEST", BERLIN, "2026-03-29T05:59Z", ("outside_hours", "2026-03-29T06:00Z")),
    ("EU day before 07:00 UTC is 08:00 CET", BERLIN, "2026-03-28T07:00Z", "dial"),
    (
        "EU day before 06:30 UTC is 07:30 CET",
        BERLIN,
        "2026-03-28T06:30Z",
        ("outside_hours", "2026-03-28T07:00Z"),
    ),
    # EU fall back, Sun 25 October: Berlin 08:00 is CET, 07:00 UTC; 21:00 CET is 20:00 UTC
    (
        "EU fall-back day 06:30 UTC is 07:30 CET",
        BERLIN,
        "2026-10-25T06:30Z",
        ("outside_hours", "2026-10-25T07:00Z"),
    ),
    ("EU fall-back day 20:59 CET", BERLIN, "2026-10-25T19:59Z", "dial"),
    ("EU fall-back day 21:00 CET", BERLIN, "2026-10-25T20:00Z", ("outside_hours", "2026-10-26T07:00Z")),
]


@pytest.mark.parametrize("what, tz, now, expected", WINDOW_TABLE, ids=[r[0] for r in WINDOW_TABLE])
def test_calling_hours_in_the_contacts_zone_across_daylight_saving(what, tz, now, expected):
    got = decide(person(tz), History(), campaign(), on_dnc=False, now=_t(now))
    if expected == "dial":
        assert got == Dial()
    else:
        reason, nxt = expected
        assert isinstance(got, Refuse) and (got.reason, got.next_allowed_at) == (reason, _t(nxt))


def _one_window(start: time, end: time) -> Campaign:
    return campaign(hours={d: (Window(start, end),) for d in WEEKDAYS})


# A window starting in the hour that does not exist (02:30 on spring-forward day) opens when the
# clock jumps to 03:00; one ending in the repeated hour (01:30 on fall-back day) closes the first
# time the clock reads 01:30, so the second pass of 01:00-01:30 is not called.
GAP_TABLE = [
    (
        "US: 02:30 start on spring-forward day opens at the jump (07:00 UTC)",
        NY,
        "2026-03-08T06:59:59Z",
        time(2, 30),
        time(5),
        ("outside_hours", "2026-03-08T07:00Z"),
    ),
    (
        "US: 03:00 EDT just after the jump is inside 02:30-05:00",
        NY,
        "2026-03-08T07:00Z",
        time(2, 30),
        time(5),
        "dial",
    ),
    (
        "EU: 02:30 start on spring-forward day opens at 01:00 UTC",
        BERLIN,
        "2026-03-29T00:30Z",
        time(2, 30),
        time(5),
        ("outside_hours", "2026-03-29T01:00Z"),
    ),
    (
        "US: 01:15 EDT (first pass) is inside 00:30-01:30",
        NY,
        "2026-11-01T05:15Z",
        time(0, 30),
        time(1, 30),
        "dial",
    ),
    (
        "US: 01:15 EST (second pass) is after the window closed",
        NY,
        "2026-11-01T06:15Z",
        time(0, 30),
        time(1, 30),
        ("outside_hours", "2026-11-02T05:30Z"),
    ),
    (
        "EU: 02:15 CET (second pass) is after 01:00-02:30 closed",
        BERLIN,
        "2026-10-25T01:15Z",
        time(1),
        time(2, 30),
        ("outside_hours", "2026-10-26T00:00Z"),
    ),
]


@pytest.mark.parametrize("what, tz, now, start, end, expected", GAP_TABLE, ids=[r[0] for r in GAP_TABLE])
def test_nonexistent_and_repeated_hours(what, tz, now, start, end, expected):
    got = decide(person(tz), History(), _one_window(start, end), on_dnc=False, now=_t(now))
    if expected == "dial":
        assert got == Dial()
    else:
        assert isinstance(got, Refuse) and (got.reason, got.next_allowed_at) == (expected[0], _t(expected[1]))


def test_earliest_instant_of_a_skipped_and_a_repeated_wall_time():
    ny = zone(NY)
    assert ny is not None
    assert earliest_instant(datetime(2026, 3, 8, 2, 30), ny) == _t("2026-03-08T07:00Z")  # jump 02:00->03:00
    assert earliest_instant(datetime(2026, 11, 1, 1, 30), ny) == _t("2026-11-01T05:30Z")  # first 01:30 (EDT)


MON_NOON_NY = "2026-03-02T17:00Z"
SAT_NOON_NY = "2026-03-07T17:00Z"
# (what, contact, history, campaign changes, dnc, now, expected reason or "dial", next allowed)
RULES_TABLE = [
    ("on the do-not-call list", person(), History(), {}, True, MON_NOON_NY, "dnc", None),
    ("dnc wins over every other reason", person(None, None), History(9), {}, True, MON_NOON_NY, "dnc", None),
    ("no consent given", person(consent=None), History(), {}, False, MON_NOON_NY, "no_consent", None),
    ("consent refused", person(consent=False), History(), {}, False, MON_NOON_NY, "no_consent", None),
    (
        "consent dated after now",
        person(since="2026-04-01"),
        History(),
        {},
        False,
        MON_NOON_NY,
        "no_consent",
        None,
    ),
    (
        "consent not required",
        person(consent=None),
        History(),
        {"consent_required": False},
        False,
        MON_NOON_NY,
        "dial",
        None,
    ),
    (
        "consent of another kind",
        person(),
        History(),
        {"consent_kind": "marketing"},
        False,
        MON_NOON_NY,
        "no_consent",
        None,
    ),
    (
        "attempts exhausted",
        person(),
        History(3, _t("2026-02-01T15:00Z"), "no_answer"),
        {},
        False,
        MON_NOON_NY,
        "attempts_exhausted",
        None,
    ),
    (
        "last attempt was final",
        person(),
        History(1, _t("2026-02-01T15:00Z"), "completed"),
        {},
        False,
        MON_NOON_NY,
        "completed",
        None,
    ),
    (
        "opted out in the last call",
        person(),
        History(1, _t("2026-02-01T15:00Z"), "opted_out"),
        {},
        False,
        MON_NOON_NY,
        "completed",
        None,
    ),
    (
        "unknown zone refused (safe default)",
        person(None),
        History(),
        {},
        False,
        MON_NOON_NY,
        "unknown_zone",
        None,
    ),
    (
        "a zone name zoneinfo does not know",
        person("Mars/Olympus"),
        History(),
        {},
        False,
        MON_NOON_NY,
        "unknown_zone",
        None,
    ),
    (
        "busy 10 min ago: retry after 15 min",
        person(),
        History(1, _t("2026-03-02T16:50Z"), "busy"),
        {},
        False,
        MON_NOON_NY,
        "retry_too_soon",
        "2026-03-02T17:05Z",
    ),
    (
        "busy 15 min ago: dial",
        person(),
        History(1, _t("2026-03-02T16:45Z"), "busy"),
        {},
        False,
        MON_NOON_NY,
        "dial",
        None,
    ),
    (
        "no answer at 18:00 local: retry lands after 21:00, so next morning",
        person(),
        History(1, _t("2026-03-02T23:00Z"), "no_answer"),
        {},
        False,
        "2026-03-02T23:30Z",
        "retry_too_soon",
        "2026-03-03T13:00Z",
    ),
    (
        "voicemail: a day later",
        person(),
        History(2, _t("2026-03-01T17:00Z"), "voicemail"),
        {},
        False,
        MON_NOON_NY,
        "dial",
        None,
    ),
    (
        "answered without a decision: two days",
        person(),
        History(1, _t("2026-03-01T17:00Z"), "answered_no_decision"),
        {},
        False,
        MON_NOON_NY,
        "retry_too_soon",
        "2026-03-03T17:00Z",
    ),
    (
        "a holiday in the contact's zone",
        person(),
        History(),
        {"holidays": frozenset({datetime(2026, 3, 2).date()})},
        False,
        MON_NOON_NY,
        "holiday",
        "2026-03-03T13:00Z",
    ),
    (
        "weekday windows: no Saturday hours",
        person(),
        History(),
        {"hours": {**{d: (Window(time(9), time(17)),) for d in WEEKDAYS[:5]}, "sat": (), "sun": ()}},
        False,
        SAT_NOON_NY,
        "outside_hours",
        "2026-03-09T13:00Z",
    ),
    (
        "weekday windows: a split day, in the gap",
        person(),
        History(),
        {"hours": {d: (Window(time(9), time(12)), Window(time(14), time(20))) for d in WEEKDAYS}},
        False,
        "2026-03-02T18:00Z",
        "outside_hours",
        "2026-03-02T19:00Z",
    ),
    (
        "every day a holiday: no next time",
        person(),
        History(),
        {
            "hours": {d: ((Window(time(9), time(17)),) if d == "mon" else ()) for d in WEEKDAYS},
            "holidays": frozenset(datetime(2026, 3, 2).date() + timedelta(days=7 * i) for i in range(60)),
        },
        False,
        MON_NOON_NY,
        "holiday",
        None,
    ),
]


@pytest.mark.parametrize(
    "what, contact, history, changes, on_dnc, now, expected, nxt",
    RULES_TABLE,
    ids=[r[0] for r in RULES_TABLE],
)
def test_rules(what, contact, history, changes, on_dnc, now, expected, nxt):
    got = decide(contact, history, campaign(**changes), on_dnc=on_dnc, now=_t(now))
    if expected == "dial":
        assert got == Dial() and got
    else:
        assert isinstance(got, Refuse) and not got
        assert (got.reason, got.next_allowed_at) == (expected, _t(nxt) if nxt else None)
        assert got.detail


def test_now_must_carry_a_zone():
    with pytest.raises(ValueError, match="aware"):
        decide(person(), History(), campaign(), on_dnc=False, now=datetime(2026, 3, 2, 12))


def test_a_campaign_file_decides_like_the_table():
    c, problems = loads(
        """
name: r
list: l
flow: flows/outbound-reminder.yaml
caller_id: "+12125550100"
consent: not_required
max_attempts: 2
retry: {no_answer: 4h, busy: 15m, failed: 1h, voicemail: 1d, answered_no_decision: 2d}
hours: {mon: ["08:00-21:00"]}
holidays: [{date: "2026-03-09", name: a holiday}]
pacing: {lines_per_agent: 1, agents: 2}
""",
        base=ROOT,
    )
    assert problems == [] and c is not None
    got = decide(person(consent=None), History(), c, on_dnc=False, now=_t("2026-03-08T17:00Z"))
    assert isinstance(got, Refuse) and got.reason == "outside_hours"
    assert got.next_allowed_at == _t("2026-03-16T12:00Z")  # Sunday; Monday 9th is a holiday


ZONES_FOR_PROPERTY = [
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "America/Sao_Paulo",
    "Asia/Kolkata",
]
_windows = st.lists(
    st.tuples(st.integers(0, 47), st.integers(1, 48)).filter(lambda ab: ab[0] < ab[1]), min_size=1, max_size=2
)


def _half_hours(ab: tuple[int, int]) -> Window:
    a, b = ab
    end = time.max if b == 48 else time(b // 2, 30 * (b % 2))
    return Window(time(a // 2, 30 * (a % 2)), end)


@settings(max_examples=150, deadline=None)
@given(
    tz=st.sampled_from(ZONES_FOR_PROPERTY),
    minutes=st.integers(0, 366 * 24 * 60),
    windows=_windows,
    weekday_off=st.sets(st.integers(0, 6), max_size=5),
)
def test_dial_only_inside_a_local_window_and_next_allowed_is_callable(tz, minutes, windows, weekday_off):
    """Whatever the zone (half-hour offsets, southern-hemisphere DST, Lord Howe's 30-minute
    shift), a Dial is inside a window of the local day, and a refusal's next allowed time is
    itself callable: the dialer that waits for it is not refused again for the same reason."""
    ws = sorted((_half_hours(ab) for ab in windows), key=lambda w: w.start)
    if len(ws) == 2 and ws[1].start < ws[0].end:
        ws = ws[:1]
    hours = {d: (() if i in weekday_off else tuple(ws)) for i, d in enumerate(WEEKDAYS)}
    c = campaign(hours=hours)
    now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    got = decide(person(tz), History(), c, on_dnc=False, now=now)
    local = now.astimezone(zone(tz))
    if isinstance(got, Dial):
        wall = local.time().replace(tzinfo=None)
        today = hours[WEEKDAYS[local.weekday()]]
        assert any(w.start <= wall < w.end for w in today), (local, today)
    else:
        assert got.reason == "outside_hours" and got.next_allowed_at is not None and got.next_allowed_at > now
        assert decide(person(tz), History(), c, on_dnc=False, now=got.next_allowed_at) == Dial()
