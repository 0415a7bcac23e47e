"""ACD simulation: routing, priority, skills, patience, callbacks, shifts and the KPIs."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from callwright.errors import DataError
from callwright.reports.acd import (
    AcdModel,
    AgentSpec,
    ArrivalProfile,
    CallbackOffer,
    Caller,
    Exponential,
    Fixed,
    LogNormal,
    QueueSpec,
    simulate,
    summarize,
)


def _agents(*specs: tuple[str, set[str]]) -> tuple[AgentSpec, ...]:
    return tuple(AgentSpec(agent_id, frozenset(skills)) for agent_id, skills in specs)


def _by_id(result):
    return {c.call_id: c for c in result.calls}


def test_longest_idle_agent_gets_the_call() -> None:
    model = AcdModel(
        queues=(QueueSpec("sales", Fixed(10)),),
        agents=_agents(("a1", {"sales"}), ("a2", {"sales"})),
    )
    callers = [
        Caller("c1", 0.0, "sales"),  # both idle since 0: first listed, a1 (busy to 10)
        Caller("c2", 1.0, "sales", handle_s=2.0),  # only a2 idle (busy to 3)
        Caller("c3", 20.0, "sales"),  # a2 idle since 3, a1 since 10: a2 waited longer
        Caller("c4", 20.5, "sales"),
    ]
    calls = _by_id(simulate(model, callers=callers))
    assert [calls[c].agent_id for c in ("c1", "c2", "c3", "c4")] == ["a1", "a2", "a2", "a1"]
    assert calls["c3"].wait_s == 0.0 and calls["c3"].completed_s == 30.0


def test_idle_time_restarts_after_each_call() -> None:
    """An agent who just finished a call is not "longest idle" on the strength of
    an earlier idle spell."""
    model = AcdModel(
        queues=(QueueSpec("sales", Fixed(1)),),
        agents=_agents(("a1", {"sales"}), ("a2", {"sales"})),
    )
    callers = [Caller("c1", 1.0, "sales"), Caller("c2", 3.0, "sales")]
    calls = _by_id(simulate(model, callers=callers))
    # a1 takes c1 (tie at 0, listed first) and is idle again from 2; a2 is idle since 0.
    assert calls["c1"].agent_id == "a1"
    assert calls["c2"].agent_id == "a2"


def test_fifo_with_priority_and_skills() -> None:
    model = AcdModel(
        queues=(QueueSpec("sales", Fixed(10)), QueueSpec("billing", Fixed(10))),
        agents=_agents(("s", {"sales"}), ("b", {"billing"})),
    )
    callers = [
        Caller("busy-s", 0.0, "sales"),
        Caller("busy-b", 0.0, "billing"),
        Caller("old", 1.0, "sales"),
        Caller("vip", 2.0, "sales", priority=5),
        Caller("bill", 3.0, "billing"),
        Caller("new", 4.0, "sales"),
    ]
    calls = _by_id(simulate(model, callers=callers))
    # At 10 agent s frees: the priority caller goes before the older one; then FIFO.
    assert calls["vip"].answered_s == 10.0 and calls["vip"].agent_id == "s"
    assert calls["old"].answered_s == 20.0
    assert calls["new"].answered_s == 30.0
    # The billing caller is never taken by the sales-only agent.
    assert calls["bill"].agent_id == "b" and calls["bill"].answered_s == 10.0


def test_multi_skilled_agent_takes_the_longest_waiting_across_skills() -> None:
    model = AcdModel(
        queues=(QueueSpec("sales", Fixed(10)), QueueSpec("billing", Fixed(10))),
        agents=_agents(("both", {"sales", "billing"})),
    )
    callers = [
        Caller("first", 0.0, "sales"),
        Caller("bill-early", 1.0, "billing"),
        Caller("sales-late", 2.0, "sales"),
    ]
    calls = _by_id(simulate(model, callers=callers))
    assert calls["bill-early"].answered_s == 10.0
    assert calls["sales-late"].answered_s == 20.0


def test_skill_can_differ_from_queue() -> None:
    """A Korean-speaking caller in the sales queue needs an agent with the "ko" skill."""
    model = AcdModel(
        queues=(QueueSpec("sales", Fixed(10)),),
        agents=_agents(("en", {"sales"}), ("ko", {"ko"})),
    )
    callers = [Caller("c1", 0.0, "sales", skill="ko"), Caller("c2", 1.0, "sales", skill="ko")]
    calls = _by_id(simulate(model, callers=callers))
    assert calls["c1"].agent_id == "ko" and calls["c2"].agent_id == "ko"
    assert calls["c2"].answered_s == 10.0
    assert calls["c2"].skill == "ko" and calls["c2"].queue == "sales"


def test_patience_runs_out_only_while_waiting() -> None:
    model = AcdModel(
        queues=(QueueSpec("sales", Fixed(10), patience=Fixed(5)),),
        agents=_agents(("a", {"sales"})),
    )
    callers = [
        Caller("talking", 0.0, "sales"),
        Caller("gives-up", 1.0, "sales"),  # would be answered at 10, leaves at 6
        Caller("answered", 7.0, "sales"),  # answered at 10, before its patience (12)
    ]
    result = simulate(model, callers=callers)
    calls = _by_id(result)
    assert calls["gives-up"].outcome == "abandoned" and calls["gives-up"].abandoned_s == 6.0
    assert calls["answered"].outcome == "completed" and calls["answered"].wait_s == 3.0
    assert calls["talking"].outcome == "completed"


def test_callback_keeps_the_place_in_line() -> None:
    """Expected wait = (ahead + 1) × 10 s / 1 agent; above 15 s a callback is offered."""
    model = AcdModel(
        queues=(QueueSpec("sales", Fixed(10), patience=Fixed(12), callback=CallbackOffer(threshold_s=15)),),
        agents=_agents(("a", {"sales"})),
    )
    callers = [
        Caller("talking", 0.0, "sales"),
        Caller("holds", 1.0, "sales"),  # EWT 10 s: no offer; answered at 10
        Caller("cb", 2.0, "sales"),  # EWT 20 s: accepts; patience no longer applies
        Caller("later", 3.0, "sales"),  # EWT 30 s: accepts too, behind "cb"
    ]
    result = simulate(model, callers=callers)
    calls = _by_id(result)
    assert not calls["holds"].callback_offered and calls["holds"].answered_s == 10.0
    assert calls["cb"].callback_accepted and calls["cb"].outcome == "completed"
    assert calls["cb"].answered_s == 20.0  # kept its place: after "holds", before "later"
    assert calls["later"].answered_s == 30.0
    kinds = [e.kind for e in result.events if e.call_id == "cb"]
    assert kinds == ["arrived", "callback_offered", "callback_accepted", "answered", "completed"]
    summary = summarize(result)
    assert summary.overall.callbacks == 2
    assert summary.overall.answered == 2  # callbacks are not counted as answered on hold


def test_callback_refused_keeps_patience() -> None:
    model = AcdModel(
        queues=(
            QueueSpec(
                "sales",
                Fixed(10),
                patience=Fixed(4),
                callback=CallbackOffer(threshold_s=5, take_rate=0.0),
            ),
        ),
        agents=_agents(("a", {"sales"})),
    )
    calls = _by_id(simulate(model, callers=[Caller("t", 0.0, "sales"), Caller("w", 1.0, "sales")]))
    assert calls["w"].callback_offered and not calls["w"].callback_accepted
    assert calls["w"].outcome == "abandoned" and calls["w"].abandoned_s == 5.0


def test_shifts_start_late_and_finish_the_last_call() -> None:
    model = AcdModel(
        queues=(QueueSpec("sales", Fixed(30)),),
        agents=(AgentSpec("a", frozenset({"sales"}), shifts=((100.0, 200.0),)),),
    )
    callers = [
        Caller("early", 50.0, "sales"),
        Caller("last", 190.0, "sales"),
        Caller("after", 250.0, "sales"),
    ]
    result = simulate(model, callers=callers)
    calls = _by_id(result)
    assert calls["early"].answered_s == 100.0
    assert calls["last"].answered_s == 190.0 and calls["last"].completed_s == 220.0
    assert calls["after"].outcome == "unserved"
    (agent,) = result.agents
    assert agent.on_duty == ((100.0, 220.0),)  # 20 s of overtime to finish "last"
    stats = summarize(result).agents[0]
    assert stats.busy_s == 60.0 and stats.on_duty_s == 120.0 and stats.occupancy == 0.5
    assert summarize(result).overall.unserved == 1


def test_arrival_rate_follows_the_interval_profile() -> None:
    model = AcdModel(
        queues=(
            QueueSpec(
                "sales",
                Exponential(60),
                arrivals=ArrivalProfile((100.0, 0.0, 900.0), interval_s=1800),
            ),
        ),
        agents=_agents(("a", {"sales"})),
    )
    result = simulate(model, seed=3, record_events=False)
    counts = [sum(1 for c in result.calls if k * 1800 <= c.arrived_s < (k + 1) * 1800) for k in range(3)]
    assert abs(counts[0] - 100) < 4 * math.sqrt(100)
    assert counts[1] == 0
    assert abs(counts[2] - 900) < 4 * math.sqrt(900)
    assert all(c.arrived_s < 5400 for c in result.calls)


def test_same_seed_same_run_and_other_seed_another() -> None:
    model = AcdModel(
        queues=(
            QueueSpec(
                "sales",
                LogNormal(200, 0.8),
                patience=Exponential(60),
                arrivals=ArrivalProfile((300.0,)),
            ),
        ),
        agents=tuple(AgentSpec(f"a{i}", frozenset({"sales"})) for i in range(30)),
    )
    assert simulate(model, seed=7).calls == simulate(model, seed=7).calls
    assert simulate(model, seed=7).calls != simulate(model, seed=8).calls


def test_lognormal_has_the_requested_mean_and_cv() -> None:
    rng = random.Random(0)
    draws = [LogNormal(240.0, 0.6).sample(rng) for _ in range(100_000)]
    mean = statistics.fmean(draws)
    assert mean == pytest.approx(240.0, rel=0.01)
    assert statistics.pstdev(draws) / mean == pytest.approx(0.6, rel=0.03)


def test_event_log_is_in_time_order_and_complete() -> None:
    model = AcdModel(
        queues=(
            QueueSpec(
                "sales",
                Exponential(120),
                patience=Exponential(40),
                arrivals=ArrivalProfile((60.0,)),
            ),
        ),
        agents=tuple(AgentSpec(f"a{i}", frozenset({"sales"})) for i in range(3)),
    )
    result = simulate(model, seed=1)
    times = [e.time_s for e in result.events]
    assert times == sorted(times)
    for call in result.calls:
        kinds = [e.kind for e in result.events if e.call_id == call.call_id]
        expected = (
            ["arrived", "answered", "completed"] if call.outcome == "completed" else ["arrived", "abandoned"]
        )
        assert kinds == expected
    answered = [e for e in result.events if e.kind == "answered"]
    assert {e.agent_id for e in answered} <= {"a0", "a1", "a2"}


def test_summary_definitions_on_a_hand_computed_case() -> None:
    """Two agents busy until 30 s; waits and outcomes are set by fixed patience values.

    Answered: w0 (0 s), w1 (0 s), late (wait 25 s). Abandoned: quick (2 s, short),
    slow (12 s). With a 5 s short-abandon threshold and 20 s target:
    counted = 3 answered + 1 abandoned = 4; SL = 2/4; abandon rate = 1/4;
    P(wait) = (1 answered late + 1 abandoned)/4; ASA = 25/3.
    """
    model = AcdModel(queues=(QueueSpec("q", Fixed(30)),), agents=_agents(("a", {"q"}), ("b", {"q"})))
    callers = [
        Caller("w0", 0.0, "q"),
        Caller("w1", 0.0, "q"),
        Caller("late", 5.0, "q", handle_s=1.0),
        Caller("quick", 6.0, "q", patience_s=2.0),
        Caller("slow", 7.0, "q", patience_s=12.0),
    ]
    summary = summarize(simulate(model, callers=callers), threshold_s=20, short_abandon_s=5)
    s = summary.overall
    assert (s.offered, s.answered, s.abandoned, s.short_abandoned) == (5, 3, 1, 1)
    assert s.service_level == 0.5
    assert s.abandon_rate == 0.25
    assert s.p_wait == 0.5
    assert s.asa_s == pytest.approx(25 / 3)
    assert s.avg_wait_all_s == pytest.approx((25 + 12) / 4)
    assert [q.queue for q in summary.queues] == ["q"]


def test_unknown_queue_is_a_data_error() -> None:
    model = AcdModel(queues=(QueueSpec("sales", Fixed(10)),), agents=_agents(("a", {"sales"})))
    with pytest.raises(DataError, match="'support'"):
        simulate(model, callers=[Caller("c1", 0.0, "support")])


@pytest.mark.parametrize(
    "agents",
    [
        (AgentSpec("a", frozenset()),),
        (AgentSpec("a", frozenset({"q"})), AgentSpec("a", frozenset({"q"}))),
        (AgentSpec("a", frozenset({"q"}), shifts=((10.0, 5.0),)),),
        (AgentSpec("a", frozenset({"q"}), shifts=((0.0, 50.0), (40.0, 80.0))),),
    ],
)
def test_bad_agents_are_data_errors(agents: tuple[AgentSpec, ...]) -> None:
    with pytest.raises(DataError, match="agent 'a'"):
        simulate(AcdModel(queues=(QueueSpec("q", Fixed(1)),), agents=agents), callers=[])
