"""The power dialer: `callwright dial CAMPAIGN.yaml --sip udp:HOST:PORT` (docs/outbound.md).

Two parts with one seam between them:

- `Dialer` decides *who* and *when*: it walks the campaign's list, asks the compliance decision
  (`outbound.compliance.decide`) right before every attempt, records every refusal with its
  reason and every attempt (`store.contacts`), keeps at most `lines` attempts in flight (power
  pacing: `pacing.lines_per_agent` x agents, at most `pacing.max_lines`), never two at once to
  one number, and plans each retry at the time compliance allows (the campaign's spacing per
  disposition, inside the calling windows). It places calls through a `Lines` port, so it is
  tested with a fake one, tick by tick, with no network.
- `SipLines` places them over SIP (`server.sip.uac`): INVITE, the answer's first seconds to the
  answering-machine detector (`outbound.amd`, optional), then the campaign's flow on the same
  path as inbound calls (`server.calls.CallServer`: a `LiveChannel` over the `SipCall`, the
  call log, the stereo recording), the contact's attributes and `answered_by` as start
  variables. Every stage is bounded (ring timeout, `amd.MAX_ANALYSIS_S + MAX_BEEP_WAIT_S`,
  `MAX_CALL_S`), so an attempt always ends in a `CallOutcome`.

What a connected call's flow means to the campaign (`outcome_of`): disposition `opted_out` (or
a true `opt_out`/`opted_out` variable) is an opt-out: the number joins the do-not-call list at
once, and the next compliance check of any contact with that number refuses it (`dnc`);
`callback_requested` schedules a callback (`callback_at`, an ISO time, or `callback_in_minutes`;
else as soon as the calling hours allow) in `contact_callbacks`, which a run with `--callbacks`
dials; no disposition is `answered_no_decision` (retried after its spacing); a machine is
`voicemail` (retried after its spacing; the flow left its message); anything else ends the
contact's attempts in the campaign (compliance: `completed`).

Stopping (Ctrl-C): no new attempt starts; ringing attempts are CANCELled, calls in progress are
ended by their flow's session (outcome `abandoned`, reason "the dialer was stopped"); each is
recorded before `run` returns (at most `STOP_WAIT_S`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import heapq
import logging
import math
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np

from callwright.errors import CallwrightError
from callwright.outbound import amd
from callwright.outbound.campaign import Campaign
from callwright.outbound.compliance import History, Refuse, decide
from callwright.outbound.contacts import Contact, mask
from callwright.store import contacts as cstore
from callwright.store import dial_callbacks as callbacks_store
from callwright.store.busy import retry_busy
from callwright.store.dials import Dial as DialRow
from callwright.store.dials import DialResult

if TYPE_CHECKING:
    import sqlite_utils

    from callwright.server.calls import CallServer
    from callwright.server.sip.call import SipCall

log = logging.getLogger(__name__)
T = TypeVar("T")

TICK_S = 0.05
"""How often the dialer looks at its attempts and the clock."""
STOP_WAIT_S = 20.0
"""On Ctrl-C, how long attempts in flight get to end (a CANCEL's answer, a flow's goodbye)
before the dialer records them as they are and returns."""
DEFAULT_MAX_WAIT_S = 300.0
"""A run ends when nothing is in flight and no attempt is due within this (--max-wait): a
retry or a window further away is left to the next run."""
DEFAULT_CPS = 10.0
"""New calls per second at most (--cps): SIP trunks cap the call rate, and 50 calls answered in
the same instant make every flow start at once (a CPU burst the recordings show as gaps)."""
MAX_CPS = 1000.0
MAX_CALL_S = 3600.0
"""A connected call longer than this is ended by the dialer (a flow that never ends)."""
DEFAULT_RING_TIMEOUT_S = 30.0
NO_MEDIA_TIMEOUT_S = 10.0
"""An answered call that sends no RTP for this long is hung up (server media timeout)."""
WRITE_RETRY_S = 30.0
"""How long a store write is retried while the database is locked before the run fails."""
DEFAULT_CALLBACK_DELAY = timedelta(0)
"""A callback requested without a time is due at once (then the calling hours decide)."""
MAX_CALLBACK_AHEAD = timedelta(days=60)
"""A callback time further ahead than this is refused (taken as a mistake, logged)."""
OPT_OUT_DISPOSITION = "opted_out"
CALLBACK_DISPOSITION = "callback_requested"
NO_DECISION = "answered_no_decision"
CONVERSIONS = frozenset({"confirmed", "rescheduled", "converted", "sale", "promise_to_pay"})
"""Dispositions counted as a conversion (or a true `converted` variable)."""


# --- what crosses the seam ------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One attempt to place: whom, for which campaign, with the flow's start variables."""

    attempt_id: str
    contact: Contact
    campaign: Campaign
    variables: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CallOutcome:
    """How one attempt ended, as the line saw it."""

    result: DialResult
    reason: str
    sip_status: int | None = None
    call_id: str | None = None  # the call log's id, when the flow ran
    disposition: str | None = None  # the flow's
    outcome: str | None = None  # the flow's (completed, abandoned, transferred...)
    variables: dict[str, Any] = field(default_factory=dict)
    talk_s: float | None = None
    answered_by: amd.AnsweredBy | None = None
    stopped: bool = False  # ended by the dialer's stop, not by the far end or the flow


class LineAttempt(Protocol):
    future: concurrent.futures.Future[CallOutcome]

    def cancel(self) -> None:
        """Stop this attempt (ringing: CANCEL; connected: end the call); idempotent."""


class Lines(Protocol):
    def place(self, job: Job) -> LineAttempt:
        """Start the attempt and return at once; its future gets the outcome."""


# --- what an outcome means to the campaign (pure) --------------------------------------------


@dataclass(frozen=True)
class Meaning:
    disposition: str | None  # for the dials row (compliance reads it as the last outcome)
    opted_out: bool
    converted: bool
    right_party: bool | None
    callback_at: datetime | None  # when a callback was asked for


def outcome_of(out: CallOutcome, now: datetime) -> Meaning:
    """A call's outcome as the campaign's retry rules and KPIs read it."""
    v = out.variables or {}
    if out.result != "connected":
        return Meaning(None, False, False, None, None)
    if out.answered_by == "machine":
        return Meaning("voicemail", False, False, None, None)
    disp = out.disposition
    opted = disp == OPT_OUT_DISPOSITION or v.get("opt_out") is True or v.get("opted_out") is True
    if opted:
        disp = OPT_OUT_DISPOSITION
    elif disp is None:
        disp = NO_DECISION
    converted = v.get("converted") is True or disp in CONVERSIONS
    right = v.get("right_party")
    right_party = right if isinstance(right, bool) else (False if disp == "wrong_party" else True)
    callback_at = callback_time(v, now) if disp == CALLBACK_DISPOSITION else None
    return Meaning(disp, opted, converted, right_party, callback_at)


def callback_time(variables: dict[str, Any], now: datetime) -> datetime:
    """When the caller asked to be called back: `callback_at` (ISO 8601; without a zone it is
    UTC), or `callback_in_minutes` from now; else now. Bounded by `MAX_CALLBACK_AHEAD`."""
    at = now + DEFAULT_CALLBACK_DELAY
    raw = variables.get("callback_at")
    minutes = variables.get("callback_in_minutes")
    if isinstance(raw, str) and raw.strip():
        try:
            parsed = datetime.fromisoformat(raw.strip())
            at = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            log.warning("callback_at %r is not an ISO 8601 time: calling back as soon as allowed", raw[:40])
    elif isinstance(minutes, (int, float)) and not isinstance(minutes, bool) and math.isfinite(minutes):
        at = now + timedelta(minutes=max(0.0, float(minutes)))
    if at - now > MAX_CALLBACK_AHEAD:
        log.warning(
            "callback %s is more than %s ahead: calling back as soon as allowed", at, MAX_CALLBACK_AHEAD
        )
        at = now
    return max(at.astimezone(UTC), now)


def lines_for(campaign: Campaign, agents: int | None = None) -> int:
    """Power pacing: lines in flight = lines per agent x available agents, at most max_lines
    (at least one while any agent is available). `agents` overrides the campaign's count
    (and is required when the campaign says `acd`)."""
    p = campaign.pacing
    n = agents if agents is not None else p.agents
    if n == "acd":
        raise CallwrightError(
            f"{campaign.path}: pacing.agents is 'acd': give the available agents with --agents N"
        )
    if int(n) <= 0:
        return 0
    return max(1, min(p.max_lines, math.floor(p.lines_per_agent * int(n))))


# --- the dialer -----------------------------------------------------------------------------


@dataclass
class _Due:
    contact: Contact
    at: datetime
    callback_id: int | None = None


@dataclass
class _InFlight:
    job: Job
    attempt: LineAttempt
    dialed_at: datetime
    due: _Due


@dataclass
class RunSummary:
    attempts: int = 0
    results: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    opted_out: int = 0
    callbacks: int = 0
    stopped: bool = False
    max_in_flight: int = 0
    left: int = 0  # contacts still due later (outside this run)


class Dialer:
    """Runs one campaign over `lines` until its list is done, `stop` is set, or nothing is due
    within `max_wait_s`. Writes go through `store.contacts` on `db` (one connection, this
    thread)."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        campaign: Campaign,
        lines: Lines,
        *,
        max_lines: int,
        max_wait_s: float = DEFAULT_MAX_WAIT_S,
        callbacks: bool = False,
        cps: float = DEFAULT_CPS,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        report: Callable[[str], None] = lambda s: None,
    ) -> None:
        self.db = db
        self.campaign = campaign
        self.lines = lines
        self.max_lines = max_lines
        self.max_wait = timedelta(seconds=max_wait_s)
        self.callbacks = callbacks
        if not 0 < cps <= MAX_CPS:
            raise CallwrightError(f"--cps {cps:g}: give more than 0 and at most {MAX_CPS:g} calls a second")
        self.gap_s = 1.0 / cps
        self._next_dial = 0.0  # monotonic time before which no new call starts
        self.now = now
        self.report = report
        self.summary = RunSummary()
        self._due: list[tuple[datetime, int, _Due]] = []  # a heap: retries and callbacks by time
        self._seq = 0
        self._later = 0
        self._feed: _ListFeed
        self._in_flight: dict[str, _InFlight] = {}

    # -- the loop --------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> RunSummary:
        now = self.now()
        self._feed = _ListFeed(self.db, self.campaign.list_name)
        if self.callbacks:
            harvested = _write(callbacks_store.harvest_requests, self.db, self.campaign.name, now)
            if harvested:
                self.report(f"{harvested} callback request(s) from the call log scheduled")
            for due in self._callbacks_due(now):
                self._push(due)
        try:
            while True:
                self._collect()
                if stop.is_set():
                    self.summary.stopped = True
                    break
                self._dial_due()
                if not self._in_flight and not self._due_soon():
                    break
                stop.wait(TICK_S)
            self._stop_all()
        finally:
            self._feed.close()
        self.summary.left = len(self._due) + self._later
        return self.summary

    def _push(self, due: _Due) -> None:
        self._seq += 1
        heapq.heappush(self._due, (due.at, self._seq, due))

    def _due_soon(self) -> bool:
        limit = self.now() + self.max_wait
        return bool(self._due and self._due[0][0] <= limit) or self._feed.peek() is not None

    def _next_due(self, now: datetime) -> _Due | None:
        """The next attempt that is due: a retry or callback whose time has come first, then
        the next contact of the list (streamed: a list may hold millions)."""
        if self._due and self._due[0][0] <= now:
            return heapq.heappop(self._due)[2]
        contact = self._feed.pop()
        return _Due(contact, now) if contact is not None else None

    def _dial_due(self) -> None:
        now = self.now()
        waiting: list[_Due] = []
        try:
            while len(self._in_flight) < self.max_lines and time.monotonic() >= self._next_dial:
                due = self._next_due(now)
                if due is None:
                    return
                if due.contact.number in self._in_flight:
                    waiting.append(due)  # never two calls to one number at once: it waits its turn
                    continue
                self._try(due, now)
        finally:
            for due in waiting:
                self._push(due)

    def _try(self, due: _Due, now: datetime) -> None:
        """Compliance right before the attempt; a refusal is recorded, a go is placed."""
        number = due.contact.number
        contact = due.contact
        history = cstore.contact_history(self.db, contact.id, self.campaign.name) if contact.id else None
        decision = decide(
            contact,
            history or History(),
            self.campaign,
            on_dnc=cstore.is_dnc(self.db, number),
            now=now,
        )
        if isinstance(decision, Refuse):
            _write(
                cstore.record_refusal,
                self.db,
                self.campaign.name,
                contact,
                decision,
                at=now,
                list_name=self.campaign.list_name,
            )
            self.summary.refusals[decision.reason] += 1
            self.report(f"refused {mask(number)}: {decision.reason} ({decision.detail})")
            if due.callback_id is not None and decision.next_allowed_at is None:
                _write(callbacks_store.mark_callback, self.db, due.callback_id, f"refused:{decision.reason}")
            if decision.next_allowed_at is not None:
                if decision.next_allowed_at - now <= self.max_wait:
                    self._push(_Due(contact, decision.next_allowed_at, due.callback_id))
                else:
                    self._later += 1  # left for a later run
            return
        job = Job(uuid.uuid4().hex[:16], contact, self.campaign, start_variables(contact, self.campaign))
        attempt = self.lines.place(job)
        # a bucket of one tick: up to TICK_S x cps calls in a tick, the rate held over time
        self._next_dial = max(self._next_dial, time.monotonic() - TICK_S) + self.gap_s
        self._in_flight[number] = _InFlight(job, attempt, now, due)
        self.summary.max_in_flight = max(self.summary.max_in_flight, len(self._in_flight))
        self.report(f"dialing {mask(number)}")

    def _collect(self) -> None:
        for number, f in list(self._in_flight.items()):
            if f.attempt.future.done():
                del self._in_flight[number]
                self._record(f, f.attempt.future.result())

    def _record(self, f: _InFlight, out: CallOutcome) -> None:
        now = self.now()
        meaning = outcome_of(out, now)
        contact = f.job.contact
        row = DialRow(
            id=f.job.attempt_id,
            campaign=self.campaign.name,
            dialed_at=f.dialed_at.isoformat(
                timespec="milliseconds"
            ),  # spacing in seconds needs sub-second times
            result=out.result,
            customer=contact.number,
            call_id=out.call_id if out.result == "connected" else None,
            talk_s=round(out.talk_s, 1) if out.talk_s is not None else None,
            disposition=meaning.disposition,
            converted=meaning.converted,
            opted_out=meaning.opted_out,
            contact_id=contact.id,
            list_name=self.campaign.list_name,
            sip_status=out.sip_status,
            answered_by=out.answered_by if out.answered_by != "unknown" else None,
            right_party=meaning.right_party,
        )
        _write(cstore.record_attempt, self.db, row)
        if meaning.opted_out and contact.id is None:  # record_attempt adds list contacts itself
            _write(
                cstore.add_opt_out, self.db, contact.number, campaign=self.campaign.name, call_id=out.call_id
            )
        self.summary.attempts += 1
        self.summary.results[out.result] += 1
        if meaning.opted_out:
            self.summary.opted_out += 1
        callback_id = f.due.callback_id
        if callback_id is not None:
            _write(callbacks_store.mark_callback, self.db, callback_id, "dialed")
        callback_at = meaning.callback_at
        if callback_at is not None:
            _write(
                cstore.record_callback,
                self.db,
                contact.number,
                callback_at,
                campaign=self.campaign.name,
                call_id=out.call_id,
                contact_id=contact.id,
            )
            self.summary.callbacks += 1
        shown = out.reason if out.result != "connected" else f"{meaning.disposition} ({out.reason})"
        self.report(f"{mask(contact.number)}: {out.result}: {shown}")
        if not out.stopped:
            self._plan_retry(contact, f.due.callback_id)

    def _plan_retry(self, contact: Contact, callback_id: int | None) -> None:
        """When compliance would next let us dial this contact (no refusal is recorded: this
        is planning, the check that counts is the one right before the attempt)."""
        if contact.id is None or callback_id is not None:
            return  # a callback is one attempt
        now = self.now()
        decision = decide(
            contact,
            cstore.contact_history(self.db, contact.id, self.campaign.name),
            self.campaign,
            on_dnc=cstore.is_dnc(self.db, contact.number),
            now=now,
        )
        if not isinstance(decision, Refuse):
            self._push(_Due(contact, now))
        elif decision.next_allowed_at is not None:
            self._push(_Due(contact, decision.next_allowed_at))

    def _stop_all(self) -> None:
        for f in self._in_flight.values():
            f.attempt.cancel()
        deadline = time.monotonic() + STOP_WAIT_S
        while self._in_flight and time.monotonic() < deadline:
            self._collect()
            time.sleep(TICK_S)
        for number, f in list(self._in_flight.items()):  # did not end in time: recorded as they are
            del self._in_flight[number]
            self._record(
                f, CallOutcome("failed", f"still in progress {STOP_WAIT_S:g} s after stop", stopped=True)
            )

    def _callbacks_due(self, now: datetime) -> list[_Due]:
        out = []
        for cb_id, number, due_at, _contact_id in callbacks_store.scheduled_callbacks(
            self.db, self.campaign.name
        ):
            contact = cstore.get_contact(self.db, number) or Contact(number=number)
            if contact.time_zone is None:
                contact = _with_zone(contact)
            at = max(datetime.fromisoformat(due_at), now)
            out.append(_Due(contact, at, cb_id))
        return out


class _ListFeed:
    """The campaign's list, streamed in file order on a connection of its own: a list may hold
    millions of contacts, and a read left open on the dialer's connection would make its
    writes fail once another connection (a call's) has written (a stale WAL snapshot)."""

    def __init__(self, db: sqlite_utils.Database, list_name: str) -> None:
        import sqlite_utils

        path = db.execute("pragma database_list").fetchone()[2]
        self._conn: sqlite3.Connection | None = None
        if path:
            self._conn = sqlite3.connect(path, timeout=30, isolation_level=None)
            source = sqlite_utils.Database(self._conn)
            self._it: Any = cstore.list_contacts(source, list_name)
        else:  # an in-memory database has no second connection: read it whole
            self._it = iter(list(cstore.list_contacts(db, list_name)))
        self._next: Contact | None = None
        self._done = False

    def peek(self) -> Contact | None:
        if self._next is None and not self._done:
            self._next = next(self._it, None)
            if self._next is None:
                self.close()
        return self._next

    def pop(self) -> Contact | None:
        contact = self.peek()
        self._next = None
        return contact

    def close(self) -> None:
        self._done = True
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _write(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A store write, again while SQLite says the database is locked: the call threads write the
    call log on their own connections at the same time, and a write that would upgrade a stale
    read snapshot fails at once instead of waiting (store.busy)."""
    return retry_busy(lambda: fn(*args, **kwargs), within_s=WRITE_RETRY_S)


def start_variables(contact: Contact, campaign: Campaign) -> dict[str, Any]:
    """What the flow starts with: the contact's attributes (CSV columns), `contact_name`, and
    `contact_number` and `campaign`, which the call log reads to put an opt-out on the
    do-not-call list as the call ends (store.calllog), before any other attempt."""
    out: dict[str, Any] = dict(contact.attributes)
    if contact.name:
        out.setdefault("contact_name", contact.name)
    out["contact_number"] = contact.number
    out["campaign"] = campaign.name
    return out


def _with_zone(contact: Contact) -> Contact:
    from dataclasses import replace

    from callwright.outbound.contacts import zones_for_number

    try:
        zones = zones_for_number(contact.number)
    except Exception:  # noqa: BLE001 - no zone is compliance's "unknown_zone"
        return contact
    return replace(contact, time_zone=zones[0]) if len(zones) == 1 else contact


# --- over SIP ---------------------------------------------------------------------------------


class _SipAttempt:
    def __init__(self) -> None:
        self.future: concurrent.futures.Future[CallOutcome] = concurrent.futures.Future()
        self.cancelled = threading.Event()
        self._lock = threading.Lock()
        self._cancel_hooks: list[Callable[[], None]] = []

    def on_cancel(self, fn: Callable[[], None]) -> None:
        with self._lock:
            if not self.cancelled.is_set():
                self._cancel_hooks.append(fn)
                return
        fn()

    def cancel(self) -> None:
        with self._lock:
            if self.cancelled.is_set():
                return
            self.cancelled.set()
            hooks, self._cancel_hooks = self._cancel_hooks, []
        for fn in hooks:
            try:
                fn()
            except Exception:  # noqa: BLE001
                log.exception("cancelling an attempt failed")


class SipLines:
    """`Lines` over SIP: our own SIP socket (a UAC through `server.sip.uac`), the flow on the
    call server. Use as a context manager (the SIP socket runs on a thread of its own)."""

    def __init__(
        self,
        peer: tuple[str, int],
        calls: CallServer,
        *,
        caller_id: str,
        bind_host: str = "127.0.0.1",
        ring_timeout_s: float = DEFAULT_RING_TIMEOUT_S,
        detect_machines: bool = False,
        media_timeout_s: float = NO_MEDIA_TIMEOUT_S,
    ) -> None:
        from callwright.server.sip.uac import MAX_RING_TIMEOUT_S

        if not 0 < ring_timeout_s <= MAX_RING_TIMEOUT_S:
            raise CallwrightError(
                f"--ring-timeout {ring_timeout_s:g}: give 1 to {MAX_RING_TIMEOUT_S:g} seconds"
            )
        self.peer = peer
        self.calls = calls
        self.caller_id = caller_id
        self.bind_host = bind_host
        self.ring_timeout_s = ring_timeout_s
        self.detect_machines = detect_machines
        self.media_timeout_s = media_timeout_s
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="sip-dialer", daemon=True)
        self.server: Any = None
        self.uac: Any = None
        self.rtp = Counter[str]()  # packets in, lost and late-dropped (jitter buffer), over every call
        self._rtp_lock = threading.Lock()

    def __enter__(self) -> SipLines:
        from callwright.server.sip.uac import SipUac
        from callwright.server.sip.uas import SipConfig, SipServer

        config = SipConfig(host=self.bind_host, port=0, media_timeout_s=self.media_timeout_s)
        # a dialer takes no calls: an INVITE to its socket is refused before any answer
        self.server = SipServer(config, lambda call: None, admit=lambda call: 403)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)
        except OSError as err:
            raise CallwrightError(f"cannot open a SIP socket on {self.bind_host}: {err}") from None
        self.uac = SipUac(self.server, self.peer, caller_id=self.caller_id)
        return self

    def send_jitter_ms(self) -> dict[str, float]:
        """How late our 20 ms RTP clock ran (p50, p99, max ms), for the run's summary."""
        return dict(self.server.send_jitter_ms()) if self.server is not None else {}

    def __exit__(self, *exc: object) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self.server.stop(grace_s=2.0), self.loop).result(10)
        except Exception:  # noqa: BLE001 - closing anyway
            log.exception("stopping the SIP socket")
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    def place(self, job: Job) -> LineAttempt:
        attempt = _SipAttempt()
        threading.Thread(target=self._run, args=(job, attempt), name="dial", daemon=True).start()
        return attempt

    def _run(self, job: Job, attempt: _SipAttempt) -> None:
        try:
            out = self._attempt(job, attempt)
        except Exception as err:  # noqa: BLE001 - an attempt always ends in an outcome
            log.exception("attempt %s failed", job.attempt_id)
            out = CallOutcome("failed", f"internal error: {err}")
        attempt.future.set_result(out)

    def _attempt(self, job: Job, attempt: _SipAttempt) -> CallOutcome:
        from callwright.server.calls import IncomingCall
        from callwright.server.sip.uac import CANCEL_WAIT_S, MAX_REDIRECTS

        uac_attempt = self.uac.dial(job.contact.number, ring_timeout_s=self.ring_timeout_s)
        attempt.on_cancel(uac_attempt.cancel)
        bound = (self.ring_timeout_s + CANCEL_WAIT_S) * (MAX_REDIRECTS + 1) + 5
        placed = uac_attempt.future.result(bound)
        if placed.result != "answered" or placed.call is None:
            return CallOutcome(placed.result, placed.reason, placed.status, stopped=placed.stopped)
        call: SipCall = placed.call
        answered = time.monotonic()
        attempt.on_cancel(call.close)
        verdict = self._detect(call, attempt) if self.detect_machines else None
        answered_by = verdict.answered_by if verdict is not None else None

        def connected(reason: str, **kw: Any) -> CallOutcome:
            return CallOutcome(
                "connected",
                reason,
                placed.status,
                talk_s=time.monotonic() - answered,
                answered_by=answered_by,
                **kw,
            )

        if call.ended.is_set():
            return connected(
                f"hung up before the flow started ({call.end_reason})", stopped=attempt.cancelled.is_set()
            )
        variables = dict(job.variables)
        if verdict is not None:
            variables.update(answered_by=verdict.answered_by, amd_reason=verdict.reason)
        handle = self.calls.offer(
            IncomingCall(
                channel="sip",
                device=call,
                called_number=job.contact.number,  # the number dialled (the call log's opt-out reads it)
                caller_id=job.contact.number,  # the customer, as the demo's outbound calls log it
                remote=f"{self.peer[0]}:{self.peer[1]}",
                variables=variables,
            )
        )
        if handle is None:
            call.close()
            return connected("no free call slot for the flow")
        attempt.on_cancel(lambda: handle.end("the dialer was stopped", "abandoned"))
        try:
            result = handle.future.result(MAX_CALL_S)
        except concurrent.futures.TimeoutError:
            handle.end(f"the call went over {MAX_CALL_S:g} s", "error")
            result = handle.future.result(30)
        call.ended.wait(5)
        with self._rtp_lock:
            self.rtp.update(
                packets_in=call.packets_in, lost=call._jitter.lost, late=call._jitter.late, calls=1
            )
        why = result.error or f"flow {result.outcome}"
        if call.transfer_result is not None:
            why += f"; transfer {call.transfer_result}"
        return connected(
            why,
            call_id=result.call_id,
            disposition=result.disposition,
            outcome=result.outcome,
            variables=result.variables or {},
            stopped=attempt.cancelled.is_set(),
        )

    def _detect(self, call: SipCall, attempt: _SipAttempt) -> amd.Verdict | None:
        """Feed the answer's first seconds to the detector until its verdict (and, for a
        machine, its message cue). Bounded by the detector's own limits plus a margin."""
        detector = amd.Detector()
        done = threading.Event()
        lock = threading.Lock()

        def on_input(frame: np.ndarray) -> None:
            with lock:
                detector.feed(frame)
                if detector.verdict is not None and detector.message_cue is not None:
                    done.set()

        def on_event(ev: object) -> None:
            from callwright.ivr.events import Hangup

            if isinstance(ev, Hangup):
                done.set()

        call.start(on_input, on_event)
        limit = amd.MAX_ANALYSIS_S + amd.MAX_BEEP_WAIT_S + 2
        end = time.monotonic() + limit
        while not done.is_set() and not attempt.cancelled.is_set() and time.monotonic() < end:
            done.wait(0.05)
        with lock:
            verdict = detector.verdict
        return verdict
