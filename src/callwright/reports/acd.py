"""A seeded discrete-event simulation of an ACD (automatic call distributor).

Calls the IVR transfers need somewhere to wait, agents to answer them and a
record of what happened, so that the queue KPIs (ASA, service level,
abandonment, occupancy) exist and can be studied under staffing what-ifs.

The model: callers arrive (Poisson per queue with a rate that may change per
interval, or handed in by the IVR as `Caller`s); each needs an agent with the
call's skill (by default the queue's name). A caller is answered at once by the
skilled idle agent who has been idle longest; otherwise they wait in a FIFO per
skill ordered by priority (higher first), give up when their patience runs
out, or, if the queue offers callbacks and the expected wait is above the
threshold, may accept a callback: they hang up but keep their place and are
called back when an agent takes them. A freed agent takes, among the skills
they have, the highest-priority then longest-waiting caller.

Everything random comes from `random.Random` streams seeded from `seed`, one per
purpose, so a run is reproducible and two staffing variants see the same
callers with the same handle times and patience.
"""

from __future__ import annotations

import heapq
import logging
import math
import random
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from callwright.acd.live import QueueSnapshot, estimated_wait_s
from callwright.acd.records import (
    AgentRecord,
    Caller,
    CallRecord,
    EventKind,
    QueueEvent,
    SimulationResult,
)
from callwright.errors import DataError

log = logging.getLogger(__name__)


# --- distributions -----------------------------------------------------------


class Distribution(Protocol):
    """A positive random duration in seconds."""

    @property
    def mean_s(self) -> float: ...

    def sample(self, rng: random.Random) -> float: ...


@dataclass(frozen=True)
class Exponential:
    """Exponential durations: Erlang C/A's assumption for handle time and patience."""

    mean_s: float

    def __post_init__(self) -> None:
        _check_positive(self.mean_s, "Exponential.mean_s")

    def sample(self, rng: random.Random) -> float:
        return rng.expovariate(1.0 / self.mean_s)


@dataclass(frozen=True)
class LogNormal:
    """Log-normal durations given by mean and coefficient of variation.

    Measured call-centre handle times are close to log-normal (Brown et al.,
    "Statistical analysis of a telephone call center", JASA 2005), so this is
    the realistic choice for studies; `cv` = standard deviation / mean.
    """

    mean_s: float
    cv: float

    def __post_init__(self) -> None:
        _check_positive(self.mean_s, "LogNormal.mean_s")
        _check_positive(self.cv, "LogNormal.cv")

    def sample(self, rng: random.Random) -> float:
        sigma2 = math.log1p(self.cv * self.cv)
        return rng.lognormvariate(math.log(self.mean_s) - sigma2 / 2.0, math.sqrt(sigma2))


@dataclass(frozen=True)
class Fixed:
    """Always the same duration (e.g. a recorded message of known length)."""

    value_s: float

    def __post_init__(self) -> None:
        if not self.value_s >= 0:
            raise DataError(f"Fixed.value_s must be >= 0, got {self.value_s}")

    @property
    def mean_s(self) -> float:
        return self.value_s

    def sample(self, rng: random.Random) -> float:
        return self.value_s


@dataclass(frozen=True)
class Empirical:
    """Durations drawn uniformly from observed values (e.g. past patience times)."""

    values_s: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.values_s or any(not v >= 0 for v in self.values_s):
            raise DataError("Empirical.values_s must be a non-empty list of durations >= 0")

    @property
    def mean_s(self) -> float:
        return sum(self.values_s) / len(self.values_s)

    def sample(self, rng: random.Random) -> float:
        return rng.choice(self.values_s)


# --- configuration -----------------------------------------------------------


@dataclass(frozen=True)
class ArrivalProfile:
    """Poisson arrivals whose rate is constant within each interval.

    `calls_per_interval[k]` calls are expected in [k·interval_s, (k+1)·interval_s);
    the simulated arrivals stop after the last interval.
    """

    calls_per_interval: tuple[float, ...]
    interval_s: float = 1800.0
    priority: int = 0
    skill: str | None = None

    @property
    def horizon_s(self) -> float:
        return len(self.calls_per_interval) * self.interval_s


@dataclass(frozen=True)
class CallbackOffer:
    """Offer a callback when the expected wait exceeds `threshold_s`.

    The expected wait is the classic ACD estimate (callers ahead + 1) × mean
    handle time / skilled agents on duty. `take_rate` is the fraction of offered
    callers who accept.
    """

    threshold_s: float
    take_rate: float = 1.0


@dataclass(frozen=True)
class QueueSpec:
    """One queue: how long its calls take, how patient its callers are, its arrivals."""

    name: str
    handle_time: Distribution
    patience: Distribution | None = None
    arrivals: ArrivalProfile | None = None
    callback: CallbackOffer | None = None


@dataclass(frozen=True)
class AgentSpec:
    """An agent, the skills they can take and, optionally, their shifts.

    `shifts` are (start_s, end_s) windows on duty; empty means on duty for the
    whole run. An agent whose shift ends mid-call finishes the call first.
    """

    agent_id: str
    skills: frozenset[str]
    shifts: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class AcdModel:
    queues: tuple[QueueSpec, ...]
    agents: tuple[AgentSpec, ...]


# --- output (the record types are in callwright.acd.records) ----------------


@dataclass(frozen=True)
class QueueStats:
    """Queue KPIs over a window; see docs/kpis.md for each definition.

    Calls that accepted a callback are counted in `callbacks` and left out of
    the waiting-time KPIs (they did not wait on hold); abandons quicker than the
    short-abandon threshold are counted in `short_abandoned` and left out of
    every denominator. Ratios are None when nothing was offered.
    """

    queue: str
    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    callbacks: int
    unserved: int
    p_wait: float | None
    asa_s: float | None
    avg_wait_all_s: float | None
    service_level: float | None
    abandon_rate: float | None


@dataclass(frozen=True)
class AgentStats:
    agent_id: str
    calls_handled: int
    busy_s: float
    on_duty_s: float
    occupancy: float | None


@dataclass(frozen=True)
class AcdSummary:
    threshold_s: float
    short_abandon_s: float
    start_s: float
    end_s: float
    overall: QueueStats
    queues: tuple[QueueStats, ...]
    agents: tuple[AgentStats, ...]

    @property
    def occupancy(self) -> float | None:
        """All agents' busy time over all their time on duty."""
        on_duty = sum(a.on_duty_s for a in self.agents)
        return sum(a.busy_s for a in self.agents) / on_duty if on_duty else None


@dataclass(frozen=True)
class Estimate:
    """A KPI's mean over independent replications and its standard error."""

    mean: float
    stderr: float
    runs: int


# --- the simulation ----------------------------------------------------------

_WAITING, _CALLBACK, _TALKING, _DONE, _GONE = range(5)
_OFF, _IDLE, _BUSY = range(3)
_ABANDON, _COMPLETE, _SHIFT_START, _SHIFT_END = range(4)


@dataclass(slots=True, eq=False)
class _Call:
    record: CallRecord
    handle_s: float
    patience_s: float
    state: int = _WAITING


@dataclass(slots=True, eq=False)
class _Agent:
    spec: AgentSpec
    state: int = _OFF
    token: int = 0  # bumped at every state change, to void idle entries of earlier spells
    leaving: bool = False
    call: _Call | None = None
    on_since: float = 0.0
    on_duty: list[tuple[float, float]] = field(default_factory=list)


@dataclass(eq=False)
class _Acd:
    queues: dict[str, QueueSpec]
    record_events: bool
    events: list[QueueEvent] = field(default_factory=list)
    heap: list[tuple[float, int, int, object]] = field(default_factory=list)
    waiting: dict[str, list[tuple[int, float, int, _Call]]] = field(default_factory=dict)
    waiting_count: dict[str, int] = field(default_factory=dict)
    # Per skill: (idle since, seq, agent's token when it went idle, agent).
    idle: dict[str, list[tuple[float, int, int, _Agent]]] = field(default_factory=dict)
    on_duty: dict[str, int] = field(default_factory=dict)
    seq: int = 0
    callback_rng: random.Random = field(default_factory=random.Random)

    def push(self, time_s: float, kind: int, payload: object) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (time_s, self.seq, kind, payload))

    def note(self, time_s: float, kind: EventKind, call: _Call | None, agent: _Agent | None = None) -> None:
        if self.record_events:
            self.events.append(
                QueueEvent(
                    time_s,
                    kind,
                    call.record.call_id if call else None,
                    call.record.queue if call else None,
                    agent.spec.agent_id if agent else None,
                )
            )

    # agents -----------------------------------------------------------------

    def become_idle(self, agent: _Agent, now: float) -> None:
        agent.state = _IDLE
        agent.token += 1
        self.seq += 1
        for skill in agent.spec.skills:
            heapq.heappush(self.idle.setdefault(skill, []), (now, self.seq, agent.token, agent))

    def longest_idle(self, skill: str) -> _Agent | None:
        heap = self.idle.get(skill)
        while heap:
            _, _, token, agent = heap[0]
            if agent.state == _IDLE and agent.token == token:
                return agent
            # Stale: from an earlier idle spell, or the agent is busy or off now.
            heapq.heappop(heap)
        return None

    def start_shift(self, agent: _Agent, now: float) -> None:
        if agent.state != _OFF:  # overlapping shifts: already on
            agent.leaving = False
            return
        for skill in agent.spec.skills:
            self.on_duty[skill] = self.on_duty.get(skill, 0) + 1
        agent.on_since = now
        self.note(now, "agent_on", None, agent)
        self.agent_free(agent, now)

    def end_shift(self, agent: _Agent, now: float) -> None:
        if agent.state == _BUSY:
            agent.leaving = True
        elif agent.state == _IDLE:
            self.go_off(agent, now)

    def go_off(self, agent: _Agent, now: float) -> None:
        agent.state = _OFF
        agent.token += 1
        agent.leaving = False
        for skill in agent.spec.skills:
            self.on_duty[skill] -= 1
        agent.on_duty.append((agent.on_since, now))
        self.note(now, "agent_off", None, agent)

    def agent_free(self, agent: _Agent, now: float) -> None:
        """An agent on duty has no call: take the best waiting caller or go idle."""
        call = self.next_caller(agent.spec.skills)
        if call is None:
            self.become_idle(agent, now)
        else:
            self.answer(call, agent, now)

    # calls ------------------------------------------------------------------

    def next_caller(self, skills: frozenset[str]) -> _Call | None:
        best: tuple[int, float, int, _Call] | None = None
        best_skill = ""
        for skill in skills:
            heap = self.waiting.get(skill)
            while heap and heap[0][3].state not in (_WAITING, _CALLBACK):
                heapq.heappop(heap)  # stale: abandoned
            if heap and (best is None or heap[0][:3] < best[:3]):
                best, best_skill = heap[0], skill
        if best is None:
            return None
        heapq.heappop(self.waiting[best_skill])
        self.waiting_count[best_skill] -= 1
        return best[3]

    def answer(self, call: _Call, agent: _Agent, now: float) -> None:
        call.state = _TALKING
        call.record.answered_s = now
        call.record.agent_id = agent.spec.agent_id
        agent.state = _BUSY
        agent.token += 1
        agent.call = call
        self.note(now, "answered", call, agent)
        self.push(now + call.handle_s, _COMPLETE, agent)

    def arrive(self, call: _Call, now: float) -> None:
        self.note(now, "arrived", call)
        record = call.record
        agent = self.longest_idle(record.skill)
        if agent is not None:
            self.answer(call, agent, now)
            return
        queue = self.queues[record.queue]
        ahead = self.waiting_count.get(record.skill, 0)
        self.seq += 1
        heapq.heappush(
            self.waiting.setdefault(record.skill, []),
            (-record.priority, now, self.seq, call),
        )
        self.waiting_count[record.skill] = ahead + 1
        if queue.callback is not None:
            staffed = self.on_duty.get(record.skill, 0)
            expected_wait = estimated_wait_s(QueueSnapshot(ahead, staffed, queue.handle_time.mean_s))
            if expected_wait > queue.callback.threshold_s:
                record.callback_offered = True
                self.note(now, "callback_offered", call)
                if self.callback_rng.random() < queue.callback.take_rate:
                    record.callback_accepted = True
                    call.state = _CALLBACK
                    self.note(now, "callback_accepted", call)
                    return
        if math.isfinite(call.patience_s):
            self.push(now + call.patience_s, _ABANDON, call)

    def abandon(self, call: _Call, now: float) -> None:
        if call.state != _WAITING:
            return  # answered (or took a callback) before patience ran out
        call.state = _GONE
        call.record.outcome = "abandoned"
        call.record.abandoned_s = now
        self.waiting_count[call.record.skill] -= 1
        self.note(now, "abandoned", call)

    def complete(self, agent: _Agent, now: float) -> None:
        call = agent.call
        assert call is not None
        call.state = _DONE
        call.record.outcome = "completed"
        call.record.completed_s = now
        agent.call = None
        self.note(now, "completed", call, agent)
        if agent.leaving:
            self.go_off(agent, now)
        else:
            self.agent_free(agent, now)


def erlang_queue_model(
    agents: int,
    *,
    arrival_rate_per_s: float,
    aht_s: float,
    horizon_s: float,
    patience_s: float | None = None,
    queue: str = "q",
) -> AcdModel:
    """The single-skill queue Erlang C (or, with `patience_s`, Erlang A) describes.

    Poisson arrivals for `horizon_s`, exponential handle times and patience, and
    `agents` always on duty: the model to check a formula or a staffing plan with.
    """
    return AcdModel(
        queues=(
            QueueSpec(
                queue,
                Exponential(aht_s),
                patience=None if patience_s is None else Exponential(patience_s),
                arrivals=ArrivalProfile((arrival_rate_per_s * horizon_s,), interval_s=horizon_s),
            ),
        ),
        agents=tuple(AgentSpec(f"a{i:03d}", frozenset({queue})) for i in range(agents)),
    )


def simulate(
    model: AcdModel,
    *,
    seed: int = 0,
    callers: Iterable[Caller] | None = None,
    record_events: bool = True,
) -> SimulationResult:
    """Run the ACD until every call is finished (or can never be served).

    Arrivals come from `callers` when given (e.g. from the IVR), otherwise from
    each queue's `ArrivalProfile`. Set `record_events=False` for long studies
    that only need the per-call records.
    """
    queues = _index_queues(model)
    _check_agents(model.agents)
    acd = _Acd(
        queues=queues,
        record_events=record_events,
        callback_rng=random.Random(f"{seed}:callback"),
    )
    arrivals = (
        _generate_callers(model.queues, seed)
        if callers is None
        else sorted(callers, key=lambda c: c.arrival_s)
    )
    calls = _prepare_calls(arrivals, queues, model.agents, seed)
    agents = [_Agent(spec) for spec in model.agents]
    for agent in agents:
        for start, end in agent.spec.shifts or ((0.0, math.inf),):
            acd.push(start, _SHIFT_START, agent)
            if math.isfinite(end):
                acd.push(end, _SHIFT_END, agent)

    handlers = {
        _ABANDON: acd.abandon,
        _COMPLETE: acd.complete,
        _SHIFT_START: acd.start_shift,
        _SHIFT_END: acd.end_shift,
    }
    now = 0.0
    next_arrival = 0
    heap = acd.heap
    # Merge the (sorted) arrivals with the event heap instead of heaping them all.
    # Shift starts at a time go before arrivals at that time; arrivals before the rest.
    while True:
        arrival_time = calls[next_arrival].record.arrived_s if next_arrival < len(calls) else None
        if heap and (
            arrival_time is None
            or heap[0][0] < arrival_time
            or (heap[0][0] == arrival_time and heap[0][2] == _SHIFT_START)
        ):
            now, _, kind, payload = heapq.heappop(heap)
            handlers[kind](payload, now)  # type: ignore[operator]
        elif arrival_time is not None:
            now = arrival_time
            acd.arrive(calls[next_arrival], now)
            next_arrival += 1
        else:
            break
    for agent in agents:
        if agent.state != _OFF:
            agent.on_duty.append((agent.on_since, now))
    return SimulationResult(
        calls=tuple(c.record for c in calls),
        events=tuple(acd.events),
        agents=tuple(AgentRecord(a.spec.agent_id, a.spec.skills, tuple(a.on_duty)) for a in agents),
        end_s=now,
        seed=seed,
    )


def summarize(
    result: SimulationResult,
    *,
    threshold_s: float = 20.0,
    short_abandon_s: float = 0.0,
    start_s: float = 0.0,
    end_s: float | None = None,
) -> AcdSummary:
    """Queue and agent KPIs for calls arriving in [start_s, end_s) (default: all).

    Leave out a warm-up period with `start_s` when comparing with steady-state
    formulas: the simulation starts with empty queues and idle agents.
    """
    stop = result.end_s if end_s is None else end_s
    arrivals_before = math.inf if end_s is None else end_s
    in_window = [c for c in result.calls if start_s <= c.arrived_s < arrivals_before]
    by_queue: dict[str, list[CallRecord]] = {}
    for call in in_window:
        by_queue.setdefault(call.queue, []).append(call)
    busy: dict[str, list[tuple[float, float]]] = {}
    for call in result.calls:
        if call.agent_id is not None and call.answered_s is not None:
            end = call.completed_s if call.completed_s is not None else result.end_s
            busy.setdefault(call.agent_id, []).append((call.answered_s, end))
    agents = []
    for agent in result.agents:
        busy_s = _overlap(busy.get(agent.agent_id, []), start_s, stop)
        duty_s = _overlap(agent.on_duty, start_s, stop)
        handled = sum(1 for a, _ in busy.get(agent.agent_id, []) if start_s <= a < stop)
        agents.append(
            AgentStats(agent.agent_id, handled, busy_s, duty_s, busy_s / duty_s if duty_s else None)
        )
    return AcdSummary(
        threshold_s=threshold_s,
        short_abandon_s=short_abandon_s,
        start_s=start_s,
        end_s=stop,
        overall=_queue_stats("*", in_window, threshold_s, short_abandon_s),
        queues=tuple(
            _queue_stats(name, calls, threshold_s, short_abandon_s)
            for name, calls in sorted(by_queue.items())
        ),
        agents=tuple(agents),
    )


REPLICATED_KPIS = ("p_wait", "asa_s", "service_level", "abandon_rate", "occupancy")


def replicate(
    model: AcdModel,
    seeds: Iterable[int],
    *,
    threshold_s: float = 20.0,
    short_abandon_s: float = 0.0,
    start_s: float = 0.0,
    end_s: float | None = None,
) -> dict[str, Estimate]:
    """Overall KPIs estimated from independent runs, one per seed.

    One long run gives a number but no error bar, because successive calls'
    waits are correlated; independent replications give both. KPIs that are
    undefined in a run (no calls in the window) leave that run out.
    """
    samples: dict[str, list[float]] = {k: [] for k in REPLICATED_KPIS}
    for seed in seeds:
        summary = summarize(
            simulate(model, seed=seed, record_events=False),
            threshold_s=threshold_s,
            short_abandon_s=short_abandon_s,
            start_s=start_s,
            end_s=end_s,
        )
        values = {k: getattr(summary.overall, k, None) for k in REPLICATED_KPIS}
        values["occupancy"] = summary.occupancy
        for key, value in values.items():
            if value is not None:
                samples[key].append(value)
    estimates = {}
    for key, series in samples.items():
        if len(series) >= 2:
            stderr = statistics.stdev(series) / math.sqrt(len(series))
            estimates[key] = Estimate(statistics.fmean(series), stderr, len(series))
    return estimates


def _queue_stats(
    name: str, calls: Sequence[CallRecord], threshold_s: float, short_abandon_s: float
) -> QueueStats:
    answered_waits: list[float] = []
    abandoned_waits: list[float] = []
    short = callbacks = unserved = 0
    for call in calls:
        wait = call.wait_s
        if call.callback_accepted:
            callbacks += 1
        elif call.outcome == "unserved" or wait is None:
            unserved += 1
        elif call.outcome == "abandoned":
            if wait < short_abandon_s:
                short += 1
            else:
                abandoned_waits.append(wait)
        else:
            answered_waits.append(wait)
    counted = len(answered_waits) + len(abandoned_waits)
    waited = sum(1 for w in answered_waits if w > 0) + len(abandoned_waits)
    return QueueStats(
        queue=name,
        offered=len(calls),
        answered=len(answered_waits),
        abandoned=len(abandoned_waits),
        short_abandoned=short,
        callbacks=callbacks,
        unserved=unserved,
        p_wait=waited / counted if counted else None,
        asa_s=sum(answered_waits) / len(answered_waits) if answered_waits else None,
        avg_wait_all_s=(sum(answered_waits) + sum(abandoned_waits)) / counted if counted else None,
        service_level=(sum(1 for w in answered_waits if w <= threshold_s) / counted if counted else None),
        abandon_rate=len(abandoned_waits) / counted if counted else None,
    )


def _overlap(intervals: Iterable[tuple[float, float]], start: float, stop: float) -> float:
    return sum(max(0.0, min(b, stop) - max(a, start)) for a, b in intervals)


def _generate_callers(queues: Sequence[QueueSpec], seed: int) -> list[Caller]:
    callers: list[Caller] = []
    for queue in queues:
        profile = queue.arrivals
        if profile is None:
            continue
        rng = random.Random(f"{seed}:arrivals:{queue.name}")
        for k, expected in enumerate(profile.calls_per_interval):
            if expected <= 0:
                continue
            rate = expected / profile.interval_s
            start, end = k * profile.interval_s, (k + 1) * profile.interval_s
            t = start + rng.expovariate(rate)  # memoryless: restarting at the boundary is exact
            while t < end:
                callers.append(
                    Caller(
                        call_id=f"{queue.name}-{len(callers) + 1:07d}",
                        arrival_s=t,
                        queue=queue.name,
                        priority=profile.priority,
                        skill=profile.skill,
                    )
                )
                t += rng.expovariate(rate)
    callers.sort(key=lambda c: c.arrival_s)
    return callers


def _prepare_calls(
    callers: Sequence[Caller],
    queues: dict[str, QueueSpec],
    agents: Sequence[AgentSpec],
    seed: int,
) -> list[_Call]:
    handle_rng = random.Random(f"{seed}:handle")
    patience_rng = random.Random(f"{seed}:patience")
    all_skills = set().union(*(a.skills for a in agents)) if agents else set()
    unstaffed: set[str] = set()
    calls = []
    for caller in callers:
        queue = queues.get(caller.queue)
        if queue is None:
            raise DataError(
                f"caller {caller.call_id!r} names queue {caller.queue!r}, which the ACD model "
                f"does not have (queues: {', '.join(sorted(queues))})"
            )
        if not caller.arrival_s >= 0:
            raise DataError(f"caller {caller.call_id!r}: arrival_s must be >= 0")
        skill = caller.skill or caller.queue
        if skill not in all_skills:
            unstaffed.add(skill)
        # Draw even when overridden, so one caller's override leaves the others' draws alone.
        handle = queue.handle_time.sample(handle_rng)
        patience = queue.patience.sample(patience_rng) if queue.patience else math.inf
        record = CallRecord(
            call_id=caller.call_id,
            queue=caller.queue,
            skill=skill,
            priority=caller.priority,
            arrived_s=caller.arrival_s,
        )
        calls.append(
            _Call(
                record=record,
                handle_s=caller.handle_s if caller.handle_s is not None else handle,
                patience_s=caller.patience_s if caller.patience_s is not None else patience,
            )
        )
    for skill in sorted(unstaffed):
        log.warning("no agent has skill %r: its callers can only abandon or stay unserved", skill)
    return calls


def _index_queues(model: AcdModel) -> dict[str, QueueSpec]:
    queues: dict[str, QueueSpec] = {}
    for queue in model.queues:
        if queue.name in queues:
            raise DataError(f"ACD model: queue {queue.name!r} is defined twice")
        if queue.callback is not None and not 0 <= queue.callback.take_rate <= 1:
            raise DataError(f"queue {queue.name!r}: callback take_rate must be between 0 and 1")
        queues[queue.name] = queue
    return queues


def _check_agents(agents: Sequence[AgentSpec]) -> None:
    seen: set[str] = set()
    for agent in agents:
        if agent.agent_id in seen:
            raise DataError(f"ACD model: agent {agent.agent_id!r} is defined twice")
        seen.add(agent.agent_id)
        if not agent.skills:
            raise DataError(f"agent {agent.agent_id!r} has no skills; give at least one queue")
        previous_end = 0.0
        for start, end in agent.shifts:
            if not previous_end <= start < end:
                raise DataError(
                    f"agent {agent.agent_id!r}: shift ({start}, {end}) must have start < end, "
                    "and shifts must be in time order without overlapping"
                )
            previous_end = end


def _check_positive(value: float, name: str) -> None:
    if not value > 0 or math.isinf(value):
        raise DataError(f"{name} must be a positive number, got {value}")
