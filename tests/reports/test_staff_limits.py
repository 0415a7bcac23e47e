"""`staff` and `report` on hostile or careless numbers: an answer or a clear error, quickly.

Inputs that hung (`--calls 1e12`, `--aht 99999999999999h`, `--calls 2e5 --interval 1s`) or
overflowed (`--calls 1e15 --patience 60s`) run in a subprocess with a timeout, so a hang
fails the test instead of stalling the suite. The in-process plans are timed in CPU
seconds (not wall time), which other processes on a shared machine do not inflate.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time

import pytest

from callwright.errors import CallwrightError
from callwright.reports import erlang
from callwright.reports.erlang import erlang_a_metrics, erlang_b
from callwright.reports.kpis import make_params
from callwright.reports.staffing import ServiceTarget, Workload, plan_staffing

BIG = "9" * 400  # past a float's range: float() reads it as infinity


def _staff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "callwright", "staff", *args], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--calls", "1e12", "--aht", "240s"], "error: the workload is 1.333e+11 Erlangs"),
        (
            ["--calls", "360", "--aht", "99999999999999h"],
            "error: --aht: '99999999999999h' is longer than the limit",
        ),
        (["--calls", "360", "--aht", "99999h"], "error: the workload is 7.2e+07 Erlangs"),
        (["--calls", "2e5", "--interval", "1s", "--aht", "240s"], "error: the workload is 4.8e+07 Erlangs"),
        (
            ["--calls", "1e15", "--aht", "240s", "--patience", "60s"],
            "error: the workload is 1.333e+14 Erlangs",
        ),
        (["--calls", "1e400", "--aht", "240s"], "error: --calls: '1e400' is not a finite number"),
        (["--calls", "nan", "--aht", "240s"], "error: --calls: 'nan' is not a finite number"),
        (["--calls", "100", "--aht", BIG], "error: --aht: '999"),
        (
            ["--calls", "100", "--aht", "4m", "--patience", "2000000s"],
            "error: --patience must be at most 86400 s",
        ),
        (["--calls", "100", "--aht", "4m", "--interval", "0"], "error: --interval must be longer than 0 s"),
        (
            ["--calls", "100", "--aht", "4m", "--target", "200/20"],
            "error: --target: the percentage in '200/20'",
        ),
        (["--calls", "-5", "--aht", "4m"], "error: --calls must be 0 or more"),
        (["--calls", "100", "--aht", "4m", "--shrinkage", "-0.5"], "error: --shrinkage must be at least 0"),
    ],
)
def test_hostile_staff_inputs_are_clear_errors_within_a_timeout(args, message):
    done = _staff(*args)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(message), done.stderr


def _cpu_plan(workload: Workload, target: ServiceTarget, patience_s: float | None):
    start = time.process_time()
    plan = plan_staffing(workload, target, patience_s=patience_s)
    return plan, time.process_time() - start


@pytest.mark.parametrize(
    "workload, target, patience_s",
    [
        (Workload(calls=7.4e5, interval_s=1800, aht_s=240), ServiceTarget(0.8, 20), None),  # 98,667 Erlangs
        (Workload(calls=7.4e5, interval_s=1800, aht_s=240), ServiceTarget(0.8, 20), 60.0),
        (Workload(calls=7.4e5, interval_s=1800, aht_s=240), ServiceTarget(0.99, 1), 86_400.0),
        (Workload(calls=2e5, interval_s=1, aht_s=0.001), ServiceTarget(0.8, 20), 86_400.0),  # 200,000 calls/s
        (Workload(calls=7.5e4, interval_s=1800, aht_s=240), ServiceTarget(0.8, 20), 60.0),  # overflowed
    ],
)
def test_the_largest_plans_answer_within_two_cpu_seconds(workload, target, patience_s):
    erlang_b(3000, 2900.0)  # scipy imported outside the timing
    plan, cpu_s = _cpu_plan(workload, target, patience_s)
    assert cpu_s < 2.0
    m = plan.metrics
    assert m.service_level >= target.fraction - 1e-9
    assert all(math.isfinite(v) for v in (m.p_wait, m.asa_s, m.service_level, m.occupancy, m.p_abandon))
    if patience_s is None:  # Erlang C: more agents than Erlangs, and not many more
        assert (
            workload.traffic_erlangs
            < plan.agents_net
            < workload.traffic_erlangs + 10 * math.sqrt(workload.traffic_erlangs)
        )


def test_erlang_a_at_ten_thousand_erlangs_does_not_overflow():
    """A(x, y) reaches e^(λ/θ): today `math.exp(log_a)` overflowed at 10,000 Erlangs."""
    m = erlang_a_metrics(9000, arrival_rate_per_s=10_000 / 240, aht_s=240, patience_s=60, threshold_s=20)
    assert 0 < m.p_wait <= 1 and 0 < m.p_abandon < m.p_wait
    assert 0 <= m.service_level <= 1 - m.p_abandon + 1e-9


@pytest.mark.parametrize(
    "servers, traffic",
    [(2001, 1900.0), (2500, 2400.0), (5000, 5200.0), (9000, 8000.0), (20000, 19950.0), (3000, 10.0)],
)
def test_erlang_b_closed_form_matches_the_recursion(servers, traffic):
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = traffic * blocking / (k + traffic * blocking)
    assert erlang_b(servers, traffic) == pytest.approx(blocking, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(
    "x, y",
    [
        (2e4, 2e4 - 40 * math.sqrt(2e4)),
        (1e6, 1e6 - 60 * 1e3),
        (1e8, 5e7),
        (1.7e10, 1.7e10 - 100 * math.sqrt(1.7e10)),
    ],
)
def test_palm_a_far_below_x_matches_the_series(x, y):
    total, term, j = 1.0, 1.0, 1
    while term > 1e-18 * total:
        term *= y / (x + j)
        total += term
        j += 1
    assert erlang._log_palm_a(x, y) == pytest.approx(math.log(total), rel=1e-9)


def test_impatient_callers_count_against_the_service_level():
    """With a patience of 1 ms nearly everyone who waits hangs up: the service level (answered
    within 20 s, over all calls) cannot exceed the calls not abandoned. Quadrature over
    [0, 20 s] used to miss the millisecond-wide spike and report 100 %."""
    m = erlang_a_metrics(1, arrival_rate_per_s=100 / 1800, aht_s=240, patience_s=0.001, threshold_s=20)
    assert m.p_abandon > 0.9
    assert m.service_level <= 1 - m.p_abandon + 1e-6
    plan = plan_staffing(Workload(100, 1800, 240), ServiceTarget(0.8, 20), patience_s=0.001)
    assert plan.metrics.service_level <= 1 - plan.metrics.p_abandon + 1e-6
    assert plan.agents_net > 1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(fcr_window=BIG + "d"), "--fcr-window: the window must be at most 100 years"),
        (dict(sl="80/" + BIG), "--sl: '999"),
        (dict(short_abandon=BIG), "--short-abandon: '999"),
    ],
)
def test_report_durations_past_a_floats_range_are_named(kwargs, message):
    with pytest.raises(CallwrightError, match=message):
        make_params("2026-11-01", "2026-11-30", **kwargs)
