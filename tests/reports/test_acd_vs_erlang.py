"""The ACD simulation agrees with Erlang C and Erlang A within statistical error.

Each check runs independent replications (one seed each), drops a warm-up hour
(the simulation starts empty), and asks that the formula lie within four
standard errors of the replication mean. The standard error is also bounded, so
a test cannot pass merely because the runs are too short to say anything.
"""

from __future__ import annotations

import pytest

from callwright.reports.acd import erlang_queue_model, replicate
from callwright.reports.erlang import queue_metrics

AHT_S = 60.0
RATE_PER_S = 8 / 60  # 8 Erlangs
THRESHOLD_S = 20.0
WARMUP_S = 3600.0
# simulated KPI -> the formula's field
FORMULA_FIELD = {
    "p_wait": "p_wait",
    "asa_s": "asa_s",
    "service_level": "service_level",
    "abandon_rate": "p_abandon",
    "occupancy": "occupancy",
}


def _check_agreement(
    agents: int, patience_s: float | None, hours: float, seeds: range, max_se: dict[str, float]
) -> None:
    horizon = WARMUP_S + hours * 3600
    model = erlang_queue_model(
        agents,
        arrival_rate_per_s=RATE_PER_S,
        aht_s=AHT_S,
        horizon_s=horizon,
        patience_s=patience_s,
    )
    sim = replicate(model, seeds, threshold_s=THRESHOLD_S, start_s=WARMUP_S, end_s=horizon)
    theory = queue_metrics(
        agents,
        arrival_rate_per_s=RATE_PER_S,
        aht_s=AHT_S,
        threshold_s=THRESHOLD_S,
        patience_s=patience_s,
    )
    if patience_s is None:
        assert sim["abandon_rate"].mean == 0.0
    for key, bound in max_se.items():
        expected = getattr(theory, FORMULA_FIELD[key])
        mean, se = sim[key].mean, sim[key].stderr
        assert se < bound, f"{key}: runs too short to test (SE {se:.4f})"
        assert abs(mean - expected) <= 4 * se, (
            f"{key}: simulated {mean:.4f} ± {se:.4f}, formula {expected:.4f}"
        )


def test_simulation_agrees_with_erlang_c() -> None:
    """10 agents, 8 Erlangs, exponential handle time, nobody abandons: M/M/10."""
    _check_agreement(
        10,
        None,
        hours=8,
        seeds=range(16),
        max_se={"p_wait": 0.015, "asa_s": 1.0, "service_level": 0.015, "occupancy": 0.005},
    )


def test_simulation_agrees_with_erlang_a() -> None:
    """8 agents for 8 Erlangs (unstable without abandonment), mean patience 30 s: M/M/8+M."""
    _check_agreement(
        8,
        30.0,
        hours=8,
        seeds=range(16),
        max_se={
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
    _check_agreement(
        10,
        None,
        hours=50,
        seeds=range(100, 140),
        max_se={"p_wait": 0.004, "asa_s": 0.3, "service_level": 0.004, "occupancy": 0.002},
    )


@pytest.mark.slow
def test_long_runs_agree_with_erlang_a_tightly() -> None:
    _check_agreement(
        8,
        30.0,
        hours=50,
        seeds=range(200, 240),
        max_se={"p_wait": 0.003, "asa_s": 0.1, "service_level": 0.003, "abandon_rate": 0.003},
    )
