"""The ACD simulation agrees with Erlang C and Erlang A within statistical error.

Each check runs independent replications (one seed each), drops a warm-up hour
(the simulation starts empty), and asks that the formula lie within four
standard errors of the replication mean. The standard error is also bounded, so
a test cannot pass merely because the runs are too short to say anything.
"""

from __future__ import annotations

import pytest

from callwright.reports.acd import (
    AcdModel,
    AgentSpec,
    ArrivalProfile,
    Estimate,
    Exponential,
    QueueSpec,
    replicate,
)
from callwright.reports.erlang import erlang_a_metrics, erlang_c_metrics

AHT_S = 60.0
RATE_PER_S = 8 / 60  # 8 Erlangs
THRESHOLD_S = 20.0
WARMUP_S = 3600.0


def _replicate(
    agents: int, patience_s: float | None, hours: float, seeds: range
) -> dict[str, Estimate]:
    horizon = WARMUP_S + hours * 3600
    model = AcdModel(
        queues=(
            QueueSpec(
                "q",
                Exponential(AHT_S),
                patience=None if patience_s is None else Exponential(patience_s),
                arrivals=ArrivalProfile((RATE_PER_S * horizon,), interval_s=horizon),
            ),
        ),
        agents=tuple(AgentSpec(f"a{i}", frozenset({"q"})) for i in range(agents)),
    )
    return replicate(model, seeds, threshold_s=THRESHOLD_S, start_s=WARMUP_S, end_s=horizon)


def _assert_within(
    sim: dict[str, Estimate], expected: dict[str, float], max_se: dict[str, float]
) -> None:
    for key, value in expected.items():
        mean, se = sim[key].mean, sim[key].stderr
        assert se < max_se[key], f"{key}: runs too short to test (SE {se:.4f})"
        assert abs(mean - value) <= 4 * se, (
            f"{key}: simulated {mean:.4f} ± {se:.4f}, formula {value:.4f}"
        )


def test_simulation_agrees_with_erlang_c() -> None:
    """10 agents, 8 Erlangs, exponential handle time, nobody abandons: M/M/10."""
    theory = erlang_c_metrics(
        10, arrival_rate_per_s=RATE_PER_S, aht_s=AHT_S, threshold_s=THRESHOLD_S
    )
    sim = _replicate(10, None, hours=8, seeds=range(16))
    assert sim["abandon_rate"].mean == 0.0
    _assert_within(
        sim,
        {
            "p_wait": theory.p_wait,
            "asa_s": theory.asa_s,
            "service_level": theory.service_level,
            "occupancy": theory.occupancy,
        },
        {"p_wait": 0.015, "asa_s": 1.0, "service_level": 0.015, "occupancy": 0.005},
    )


def test_simulation_agrees_with_erlang_a() -> None:
    """8 agents for 8 Erlangs (unstable without abandonment), mean patience 30 s: M/M/8+M."""
    theory = erlang_a_metrics(
        8, arrival_rate_per_s=RATE_PER_S, aht_s=AHT_S, patience_s=30, threshold_s=THRESHOLD_S
    )
    sim = _replicate(8, 30.0, hours=8, seeds=range(16))
    _assert_within(
        sim,
        {
            "p_wait": theory.p_wait,
            "asa_s": theory.asa_s,
            "service_level": theory.service_level,
            "abandon_rate": theory.p_abandon,
            "occupancy": theory.occupancy,
        },
        {
            "p_wait": 0.01,
            "asa_s": 0.3,
            "service_level": 0.01,
            "abandon_rate": 0.01,
            "occupancy": 0.01,
        },
    )


@pytest.mark.slow
def test_long_runs_agree_with_erlang_c_tightly() -> None:
    """About a million calls: the same agreement with standard errors near 0.002."""
    theory = erlang_c_metrics(
        10, arrival_rate_per_s=RATE_PER_S, aht_s=AHT_S, threshold_s=THRESHOLD_S
    )
    sim = _replicate(10, None, hours=50, seeds=range(100, 140))
    _assert_within(
        sim,
        {
            "p_wait": theory.p_wait,
            "asa_s": theory.asa_s,
            "service_level": theory.service_level,
            "occupancy": theory.occupancy,
        },
        {"p_wait": 0.004, "asa_s": 0.3, "service_level": 0.004, "occupancy": 0.002},
    )


@pytest.mark.slow
def test_long_runs_agree_with_erlang_a_tightly() -> None:
    theory = erlang_a_metrics(
        8, arrival_rate_per_s=RATE_PER_S, aht_s=AHT_S, patience_s=30, threshold_s=THRESHOLD_S
    )
    sim = _replicate(8, 30.0, hours=50, seeds=range(200, 240))
    _assert_within(
        sim,
        {
            "p_wait": theory.p_wait,
            "asa_s": theory.asa_s,
            "service_level": theory.service_level,
            "abandon_rate": theory.p_abandon,
        },
        {"p_wait": 0.003, "asa_s": 0.1, "service_level": 0.003, "abandon_rate": 0.003},
    )
