"""A seeded generator of a realistic call-centre database, for benchmarks and tests.

N calls over a date range: inbound calls through an IVR flow (state entries,
no-inputs, no-matches, transfers, hang-ups) into four queues served by agents in
teams, with the queue part run through the real ACD simulation
(`callwright.reports.acd`) one day at a time and stored with the same rows
`callwright.store.queue` writes; post-call surveys whose answers depend on the
agent and the wait; QA scores, scorecard items and customer sentiment for a
sample of answered calls; outbound campaign calls with their dial attempts.

The demo fills its database from the pipeline instead; this exists so that the
report can be measured on a million calls and tested on thousands.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import sqlite_utils

from callwright.errors import DataError
from callwright.reports import acd
from callwright.store import synthetic as store
from callwright.store.queue import simulation_rows

TZ = timezone(timedelta(hours=-5))
QUEUES = {  # name: (share of transfers, mean handle s, mean patience s)
    "billing": (0.35, 330.0, 150.0),
    "support": (0.35, 420.0, 180.0),
    "sales": (0.2, 360.0, 120.0),
    "general": (0.1, 240.0, 90.0),
}
TEAMS = ("north", "south", "east", "west")
CAMPAIGNS = ("renewals", "winback", "upgrade")
FLOW = "acme-inbound"
OPEN_S, CLOSE_S = 8 * 3600, 20 * 3600
ITEMS = (  # item, section, max points, is a compliance (auto-fail) item
    ("greeting", "opening", 1.0, False),
    ("recording-disclosure", "opening", 2.0, True),
    ("verify-identity", "verification", 2.0, False),
    ("resolution", "handling", 3.0, False),
    ("closing", "closing", 1.0, False),
)


@dataclass(frozen=True)
class SyntheticSpec:
    """What to generate. `calls` counts rows in `calls` (inbound and outbound)."""

    calls: int = 10_000
    start: date = date(2026, 1, 1)
    days: int = 30
    seed: int = 0
    outbound_share: float = 0.15
    survey_share: float = 0.3
    qa_share: float = 0.1  # of answered inbound calls
    occupancy: float = 0.75  # agents are sized for this offered occupancy

    def __post_init__(self) -> None:
        if self.calls < 0 or self.days < 1:
            raise DataError("SyntheticSpec: calls must be >= 0 and days >= 1")
        for name in ("outbound_share", "survey_share", "qa_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise DataError(f"SyntheticSpec: {name} must be between 0 and 1")
        if not 0 < self.occupancy < 1:
            raise DataError("SyntheticSpec: occupancy must be between 0 and 1")


@dataclass(frozen=True)
class Agent:
    id: str
    team: str
    skills: frozenset[str]
    quality: float  # 0-1: drives CSAT, resolution and QA score


def generate(db: sqlite_utils.Database, spec: SyntheticSpec) -> dict[str, int]:
    """Fill `db` with `spec`'s calls; returns rows written per table."""
    return store.bulk_load(db, batches(spec))


def agents_for(spec: SyntheticSpec) -> list[Agent]:
    """Agents per queue sized from the expected offered load, in four teams, plus outbound agents."""
    rng = random.Random(f"{spec.seed}:agents")
    per_day = spec.calls * (1 - spec.outbound_share) * 0.6 / spec.days  # ~60 % are transferred
    agents: list[Agent] = []
    for q, (share, aht, _) in QUEUES.items():
        erlangs = per_day * share * aht / (CLOSE_S - OPEN_S)
        for _ in range(max(2, math.ceil(erlangs / spec.occupancy))):
            n = len(agents)
            agents.append(
                Agent(f"agent-{n + 1:03d}", TEAMS[n % len(TEAMS)], frozenset({q}), rng.uniform(0.55, 1.0))
            )
    outbound_per_day = spec.calls * spec.outbound_share / spec.days
    for i in range(max(2, math.ceil(outbound_per_day / 40))):  # ~40 connected calls an agent-day
        agents.append(Agent(f"dialer-{i + 1:03d}", "outbound", frozenset(), rng.uniform(0.55, 1.0)))
    return agents


def batches(spec: SyntheticSpec) -> Iterator[dict[str, list[tuple]]]:
    """One batch of rows per day."""
    agents = agents_for(spec)
    inbound_agents = [a for a in agents if a.skills]
    dialers = [a for a in agents if not a.skills]
    model = acd.AcdModel(
        queues=tuple(
            acd.QueueSpec(q, acd.LogNormal(aht, 0.8), acd.Exponential(patience))
            for q, (_, aht, patience) in QUEUES.items()
        ),
        agents=tuple(acd.AgentSpec(a.id, a.skills) for a in inbound_agents),
    )
    by_id = {a.id: a for a in agents}
    customers = max(10, spec.calls * 60 // spec.days)  # about one call per customer in 60 days
    for day in range(spec.days):
        lo = spec.calls * day // spec.days
        hi = spec.calls * (day + 1) // spec.days
        rng = random.Random(f"{spec.seed}:day:{day}")
        base = datetime.combine(spec.start + timedelta(days=day), datetime.min.time(), TZ)
        yield _day(rng, model, by_id, dialers, base, lo, hi, spec, customers, day)


def _iso(base: datetime, s: float) -> str:
    return (base + timedelta(seconds=s)).isoformat(timespec="milliseconds")


def _arrival(rng: random.Random) -> float:
    """Seconds after midnight: open hours with a morning and an afternoon peak."""
    centre = 10.5 * 3600 if rng.random() < 0.55 else 15 * 3600
    return min(CLOSE_S - 1.0, max(float(OPEN_S), rng.gauss(centre, 1.6 * 3600)))


def _day(
    rng: random.Random,
    model: acd.AcdModel,
    agents: dict[str, Agent],
    dialers: list[Agent],
    base: datetime,
    lo: int,
    hi: int,
    spec: SyntheticSpec,
    customers: int,
    day: int,
) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {t: [] for t in store.COLUMNS}
    calls: dict[str, list] = {}
    callers: list[acd.Caller] = []
    queue_names = list(QUEUES)
    queue_weights = [v[0] for v in QUEUES.values()]
    for n in range(lo, hi):
        cid = f"s{spec.seed}-{n:08d}"
        if rng.random() < spec.outbound_share:
            _outbound(rng, out, cid, base, dialers, customers)
            continue
        start = _arrival(rng)
        caller = f"+1555{rng.randrange(customers):07d}"
        seq = _Events(out["call_events"], cid)
        seq.add(0.0, "call_start", None)
        t = rng.uniform(6, 12)
        seq.add(0.5, "state_enter", "welcome")
        seq.add(t, "state_enter", "main-menu")
        t = seq.retries(rng, t, "main-menu", 0.12, 0.10)
        r = rng.random()
        outcome, queue, last = "self_served", None, "goodbye"
        if r < 0.08:  # hung up in the menu
            t += rng.uniform(2, 15)
            seq.add(t, "hangup", "main-menu")
            outcome, last = "abandoned", "main-menu"
        elif r < 0.36:  # self-service: balance or payment
            state = "balance" if rng.random() < 0.6 else "payment"
            t += rng.uniform(3, 8)
            seq.add(t, "state_enter", state)
            t = seq.retries(rng, t, state, 0.05, 0.08)
            t += rng.uniform(20, 60)
            seq.add(t, "state_enter", "goodbye")
        else:
            queue = rng.choices(queue_names, queue_weights)[0]
            if queue != "general":
                t += rng.uniform(3, 8)
                seq.add(t, "state_enter", "account")
                t = seq.retries(rng, t, "account", 0.06, 0.12)
            last = f"{queue}-queue"
            t += rng.uniform(5, 15)
            seq.add(t, "state_enter", last)
            seq.add(t + 0.1, "transfer", last, f'{{"queue": "{queue}", "priority": 0, "skill": null}}')
            outcome = "transferred"
            callers.append(acd.Caller(cid, start + t, queue))
        seq.add(t + 0.2, "call_end", last)
        calls[cid] = [
            cid,
            FLOW,
            "inbound",
            "audio",
            caller,
            _iso(base, start),
            _iso(base, start + t),
            round(t, 3),
            outcome,
            queue,
            None,
            last,
            None,
            None,
            None,
            None,
            "synthetic",
        ]
        if outcome == "self_served" and rng.random() < spec.survey_share:
            _survey(rng, out, cid, quality=0.8, wait_s=0.0)
    result = acd.simulate(model, seed=spec.seed * 100_003 + day, callers=callers, record_events=False)
    for row in simulation_rows(result, base, source="synthetic"):
        agent = agents.get(row["agent"]) if row["agent"] else None
        if agent is not None:  # split the handle time into talk, hold and after-call work
            handle = row["handle_s"]
            row["hold_s"] = round(handle * rng.uniform(0, 0.15), 3) if rng.random() < 0.3 else 0.0
            row["acw_s"] = round(min(handle * 0.3, rng.uniform(15, 60)), 3)
            row["talk_s"] = round(handle - row["hold_s"] - row["acw_s"], 3)
            call = calls[row["call_id"]]
            call[12], call[13] = agent.id, agent.team
            if not row["callback_accepted"] and rng.random() < spec.survey_share:
                _survey(rng, out, row["call_id"], agent.quality, row["wait_s"] or 0.0)
            if rng.random() < spec.qa_share:
                _qa(rng, out, row["call_id"], agent.quality, base)
        out["queue_calls"].append(tuple(row[c] for c in store.COLUMNS["queue_calls"]))
    out["calls"].extend(tuple(c) for c in calls.values())
    return out


class _Events:
    """call_events rows of one call, numbered as the IVR numbers them."""

    def __init__(self, rows: list[tuple], call_id: str) -> None:
        self.rows, self.call_id, self.seq = rows, call_id, 0

    def add(self, t: float, kind: str, state: str | None, data: str | None = None) -> None:
        self.rows.append((self.call_id, self.seq, round(t, 3), kind, state, data))
        self.seq += 1

    def retries(
        self, rng: random.Random, t: float, state: str, p_no_input: float, p_no_match: float
    ) -> float:
        for kind, p in (("no_input", p_no_input), ("no_match", p_no_match)):
            count = 0
            while count < 2 and rng.random() < p:
                count += 1
                t += rng.uniform(4, 8)
                self.add(t, kind, state, f'{{"count": {count}}}')
        return t


def _survey(rng: random.Random, out: dict[str, list[tuple]], cid: str, quality: float, wait_s: float) -> None:
    mood = 1 + 4 * quality - min(1.5, wait_s / 120) + rng.gauss(0, 0.8)
    csat = min(5, max(1, round(mood)))
    out["survey_answers"].append((cid, "csat", csat, "csat", 0.0))
    out["survey_answers"].append((cid, "resolved", int(rng.random() < quality), "resolved", 10.0))
    if rng.random() < 0.7:
        nps = min(10, max(0, round(2 * csat + rng.gauss(0, 1.5))))
        out["survey_answers"].append((cid, "nps", nps, "nps", 20.0))


def _qa(rng: random.Random, out: dict[str, list[tuple]], cid: str, quality: float, base: datetime) -> None:
    version = "synthetic-inbound-v1"
    earned = total = 0.0
    failed = False
    for item, section, points, compliance in ITEMS:
        passed = rng.random() < (0.6 + 0.4 * quality if not compliance else 0.9 + 0.1 * quality)
        failed = failed or (compliance and not passed)
        earned += points if passed else 0.0
        total += points
        out["item_scores"].append(
            (
                cid,
                version,
                item,
                section,
                "phrase",
                "pass" if passed else "fail",
                points if passed else 0.0,
                points,
                int(compliance and not passed),
            )
        )
    score = 0.0 if failed else round(100 * earned / total, 1)
    out["scores"].append(
        (
            f"rec-{cid}",
            version,
            cid,
            "inbound-service",
            score,
            int(failed),
            _iso(base, 86400 + rng.uniform(0, 3600)),
        )
    )
    s = rng.gauss(-0.2, 0.35)
    for idx in range(3):
        out["utterances"].append(
            (
                cid,
                idx,
                "customer",
                10.0 * idx,
                10.0 * idx + 4,
                "(synthetic)",
                round(max(-1.0, min(1.0, s)), 3),
                None,
            )
        )
        s += rng.gauss(0.25 * (quality - 0.6), 0.2)


def _outbound(
    rng: random.Random,
    out: dict[str, list[tuple]],
    cid: str,
    base: datetime,
    dialers: list[Agent],
    customers: int,
) -> None:
    agent = rng.choice(dialers)
    campaign = rng.choice(CAMPAIGNS)
    at = rng.uniform(OPEN_S, CLOSE_S - 900)
    customer = f"+1555{rng.randrange(customers):07d}"
    # dial attempts that did not connect first (about 40 % of dials connect)
    while rng.random() < 0.6:
        result = rng.choices(("no_answer", "busy", "voicemail", "failed"), (0.6, 0.1, 0.25, 0.05))[0]
        out["dials"].append(
            (
                f"{cid}-d{len(out['dials'])}",
                campaign,
                agent.id,
                agent.team,
                customer,
                _iso(base, at),
                result,
                0,
                None,
                None,
                None,
                0,
                0,
            )
        )
        at += rng.uniform(20, 90)
    talk = rng.lognormvariate(math.log(180), 0.6)
    r = rng.random()
    disposition, converted, opted = (
        ("opted_out", 0, 1)
        if r < 0.05
        else (("sale", 1, 0) if r < 0.05 + 0.25 * agent.quality else ("no_sale", 0, 0))
    )
    out["dials"].append(
        (
            f"{cid}-d",
            campaign,
            agent.id,
            agent.team,
            customer,
            _iso(base, at),
            "connected",
            1,
            cid,
            round(talk, 3),
            disposition,
            converted,
            opted,
        )
    )
    out["calls"].append(
        (
            cid,
            None,
            "outbound",
            "audio",
            customer,
            _iso(base, at),
            _iso(base, at + talk),
            round(talk, 3),
            None,
            None,
            disposition,
            None,
            agent.id,
            agent.team,
            customer,
            campaign,
            "synthetic",
        )
    )
