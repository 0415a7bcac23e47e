"""Erlang B / C / A against published worked examples and an independent solver."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.linalg import expm

from callwright.reports.erlang import (
    erlang_a_metrics,
    erlang_b,
    erlang_c,
    erlang_c_metrics,
)


def test_mitan_worked_example_360_calls_55_agents() -> None:
    """Mitan's step-by-step Erlang C example (http://www.mitan.co.uk/erlang/elgcmath.htm,
    mirrored in huggingface.co/datasets/nvidia/Nemotron-CC-Math-v1; figures as recorded in
    the team's research notes, qa-anchors.md C38): "360 calls per half hour, with an average
    call duration of 4 minutes, and 55 agents. The target answer time for service level is
    15 seconds" -> traffic 48 Erlangs, occupancy 0.8727, P(wait) 0.2387, ASA 8.18 s,
    service level 0.8459 (84.6 %).
    """
    m = erlang_c_metrics(55, arrival_rate_per_s=360 / 1800, aht_s=240, threshold_s=15)
    assert m.traffic_erlangs == pytest.approx(48.0)
    assert round(m.occupancy, 4) == 0.8727
    assert round(m.p_wait, 4) == 0.2387
    assert round(m.asa_s, 2) == 8.18
    assert round(m.service_level, 4) == 0.8459


def test_call_centre_helper_example_14_agents() -> None:
    """Call Centre Helper's Erlang C worked example
    (https://www.callcentrehelper.com/erlang-c-formula-example-121281.htm): 100 calls in
    30 minutes, AHT 180 s, 80 % in 20 s, 14 agents. The CRAN package ErlangC README
    (https://stat.ethz.ch/CRAN/web/packages/ErlangC/readme/README.html) prints it to 7
    places: wait_probability 0.1741319, service_level 0.88835, ASA "7.83593701177724s",
    occupancy 0.7142857; and for 11 agents 0.6821182 and 0.3896138.
    """
    m = erlang_c_metrics(14, arrival_rate_per_s=100 / 1800, aht_s=180, threshold_s=20)
    assert m.traffic_erlangs == pytest.approx(10.0)
    assert round(m.p_wait, 7) == 0.1741319
    assert round(m.service_level, 5) == 0.88835
    assert m.asa_s == pytest.approx(7.83593701177724, abs=1e-9)
    assert round(m.occupancy, 7) == 0.7142857
    m11 = erlang_c_metrics(11, arrival_rate_per_s=100 / 1800, aht_s=180, threshold_s=20)
    assert round(m11.p_wait, 7) == 0.6821182
    assert round(m11.service_level, 7) == 0.3896138


def test_hand_recursion_vector() -> None:
    """Research notes (qa-anchors.md, "Hand recursion" vector, C38b): A = 10, N = 12,
    AHT 300 s, t = 30 s -> P(wait) 0.44939, SL 0.63207."""
    m = erlang_c_metrics(12, arrival_rate_per_s=10 / 300, aht_s=300, threshold_s=30)
    assert round(m.p_wait, 5) == 0.44939
    assert round(m.service_level, 5) == 0.63207


@pytest.mark.parametrize(
    ("traffic", "servers", "expected"), [(2, 5, 0.0367), (10, 14, 0.0568), (5, 10, 0.0184)]
)
def test_erlang_b_table_values(traffic: float, servers: int, expected: float) -> None:
    """Erlang B table values quoted in the research notes (qa-anchors.md, Erlang B sanity)."""
    assert round(erlang_b(servers, traffic), 4) == expected


def test_erlang_c_matches_factorial_formula_where_that_is_computable() -> None:
    """The recursion agrees with the textbook closed form for small N."""
    for servers, traffic in [(1, 0.5), (3, 2.0), (10, 8.7), (30, 25.0)]:
        top = traffic**servers / math.factorial(servers) * servers / (servers - traffic)
        bottom = sum(traffic**k / math.factorial(k) for k in range(servers)) + top
        assert erlang_c(servers, traffic) == pytest.approx(top / bottom, rel=1e-12)


def test_large_centre_does_not_overflow() -> None:
    """10,000 agents would need 10000! in the factorial form; the recursion stays finite."""
    p = erlang_c(10_000, 9_800.0)
    assert 0.0 < p < 1.0
    # Square-root staffing intuition: β = (N - A)/√A ≈ 2 gives P(wait) of a few per cent.
    assert 0.01 < p < 0.05


def test_unstable_queue_reports_everyone_waits() -> None:
    m = erlang_c_metrics(10, arrival_rate_per_s=100 / 1800, aht_s=180, threshold_s=20)
    assert m.p_wait == 1.0 and m.service_level == 0.0 and math.isinf(m.asa_s)


def _palm_chain(n: int, lam: float, mu: float, theta: float, t: float) -> dict[str, float]:
    """Independent Erlang A solution: truncated birth-death chain plus, for each queue
    position an arrival can see, the matrix exponential of its own progress to an agent
    (killed at rate θ by its own patience)."""
    size = 600
    log_p = np.zeros(size)
    for k in range(1, size):
        log_p[k] = log_p[k - 1] + math.log(lam / (min(k, n) * mu + max(k - n, 0) * theta))
    p = np.exp(log_p - log_p.max())
    p /= p.sum()
    p_wait = p[n:].sum()
    answered_within = p[:n].sum()
    answered_total = p[:n].sum()
    answered_wait = 0.0
    for ahead in range(size - n):
        weight = p[n + ahead]
        if weight < 1e-16:
            continue
        rates = np.array([n * mu + i * theta for i in range(ahead, -1, -1)])
        # Laplace transform at θ: P(served) and E[V e^{-θV}] for a hypoexponential V.
        served = np.prod(rates / (rates + theta))
        answered_total += weight * served
        answered_wait += weight * served * np.sum(1.0 / (rates + theta))
        levels = len(rates)
        generator = np.zeros((levels + 1, levels + 1))
        for i, r in enumerate(rates):
            generator[i, i] = -(r + theta)
            generator[i, i + 1] = r
        answered_within += weight * expm(generator * t)[0, levels]
    p_abandon = 1.0 - answered_total
    return {
        "p_wait": p_wait,
        "p_abandon": p_abandon,
        "service_level": answered_within,
        "asa_s": answered_wait / answered_total,
    }


@pytest.mark.parametrize(
    ("agents", "calls", "aht_s", "patience_s"),
    [(45, 360, 240, 60), (55, 360, 240, 120), (8, 100, 180, 30), (12, 100, 180, 400)],
)
def test_erlang_a_formulas_match_independent_chain(
    agents: int, calls: float, aht_s: float, patience_s: float
) -> None:
    lam = calls / 1800
    m = erlang_a_metrics(agents, arrival_rate_per_s=lam, aht_s=aht_s, patience_s=patience_s, threshold_s=20)
    ref = _palm_chain(agents, lam, 1 / aht_s, 1 / patience_s, 20.0)
    assert m.p_wait == pytest.approx(ref["p_wait"], rel=1e-9)
    assert m.p_abandon == pytest.approx(ref["p_abandon"], rel=1e-7)
    assert m.service_level == pytest.approx(ref["service_level"], rel=1e-6)
    assert m.asa_s == pytest.approx(ref["asa_s"], rel=1e-6)


def test_erlang_a_tends_to_erlang_c_as_patience_grows() -> None:
    c = erlang_c_metrics(55, arrival_rate_per_s=0.2, aht_s=240, threshold_s=15)
    a = erlang_a_metrics(55, arrival_rate_per_s=0.2, aht_s=240, patience_s=1e8, threshold_s=15)
    assert a.p_wait == pytest.approx(c.p_wait, rel=1e-5)
    assert a.service_level == pytest.approx(c.service_level, rel=1e-5)
    assert a.asa_s == pytest.approx(c.asa_s, rel=1e-4)
    assert a.p_abandon < 1e-6


def test_erlang_a_is_stable_when_erlang_c_is_not() -> None:
    """Fewer agents than Erlangs: Erlang C gives up, Erlang A sheds callers instead."""
    a = erlang_a_metrics(40, arrival_rate_per_s=0.2, aht_s=240, patience_s=60, threshold_s=20)
    assert 0.15 < a.p_abandon < 0.5
    assert a.occupancy < 1.0
    # Carried load equals the agents' busy time: λ (1 - P(Ab)) AHT = occupancy · N.
    assert 0.2 * (1 - a.p_abandon) * 240 == pytest.approx(a.occupancy * 40)
