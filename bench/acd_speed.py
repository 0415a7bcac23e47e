"""ACD simulation speed: simulated calls per second, and the memory a run takes.

Run:  .venv/bin/python bench/acd_speed.py
Figures go in docs/benchmarks/reports.md ("ACD simulation speed").

Two scenarios:
- "mmc": one queue, 100 agents, exponential handle time, no abandonment (the
  Erlang C case), 90 Erlangs for 24 h;
- "centre": a day shaped like a real one (48 half-hour intervals with a
  morning and an afternoon peak), three queues plus a Korean-language skill,
  log-normal handle times (cv 0.8), exponential patience, callbacks on one
  queue, 180 agents on 8-hour shifts (starting 06:00 to 15:00) with mixed
  skills; nobody answers at night, so night callers abandon or wait for a
  callback at 06:00.
Each is run with and without the event log, and summarised.
"""

from __future__ import annotations

import argparse
import math
import resource
import time

from callwright.reports.acd import (
    AcdModel,
    AgentSpec,
    ArrivalProfile,
    CallbackOffer,
    Exponential,
    LogNormal,
    QueueSpec,
    simulate,
    summarize,
)

HALF_HOUR = 1800.0
AGENTS = 180


def _day_curve(peak_calls: float) -> tuple[float, ...]:
    """Calls per half hour over a day: quiet night, peaks near 10:30 and 15:00."""

    def bump(k: int, centre: float, width: float) -> float:
        return math.exp(-(((k - centre) / width) ** 2))

    return tuple(peak_calls * max(0.03, bump(k, 21, 4) + 0.8 * bump(k, 30, 5)) for k in range(48))


def mmc_model(days: int) -> AcdModel:
    horizon = days * 86400.0
    return AcdModel(
        queues=(
            QueueSpec(
                "q",
                Exponential(240.0),
                arrivals=ArrivalProfile((90 / 240 * horizon,), interval_s=horizon),
            ),
        ),
        agents=tuple(AgentSpec(f"a{i:03d}", frozenset({"q"})) for i in range(100)),
    )


def centre_model(days: int) -> AcdModel:
    def repeat(curve: tuple[float, ...]) -> tuple[float, ...]:
        return curve * days

    queues = (
        QueueSpec(
            "sales",
            LogNormal(300.0, 0.8),
            patience=Exponential(90.0),
            arrivals=ArrivalProfile(repeat(_day_curve(250)), HALF_HOUR),
        ),
        QueueSpec(
            "support",
            LogNormal(420.0, 0.8),
            patience=Exponential(150.0),
            arrivals=ArrivalProfile(repeat(_day_curve(200)), HALF_HOUR),
            callback=CallbackOffer(threshold_s=120.0, take_rate=0.4),
        ),
        QueueSpec(
            "billing",
            LogNormal(240.0, 0.8),
            patience=Exponential(120.0),
            arrivals=ArrivalProfile(repeat(_day_curve(120)), HALF_HOUR, priority=1),
        ),
        QueueSpec(
            "sales-ko",
            LogNormal(360.0, 0.8),
            patience=Exponential(120.0),
            arrivals=ArrivalProfile(repeat(_day_curve(20)), HALF_HOUR, skill="ko"),
        ),
    )
    skill_sets = [{"sales"}, {"support"}, {"billing", "support"}, {"sales", "billing"}, {"ko"}]
    agents = []
    for i in range(AGENTS):
        start = (6 + (i % 7) * 1.5) * 3600.0  # shifts start 06:00 to 15:00
        shifts = tuple((d * 86400 + start, d * 86400 + start + 8 * 3600) for d in range(days))
        agents.append(AgentSpec(f"a{i:03d}", frozenset(skill_sets[i % 5]), shifts))
    return AcdModel(queues=queues, agents=tuple(agents))


def run(name: str, model: AcdModel, seed: int) -> list[str]:
    rows = []
    for record_events in (True, False):
        t0, c0 = time.perf_counter(), time.process_time()
        result = simulate(model, seed=seed, record_events=record_events)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        n = len(result.calls)
        rows.append(
            f"| {name} | {'yes' if record_events else 'no'} | {n:,} | {len(result.events):,} "
            f"| {elapsed:.2f} | {cpu:.2f} | {n / cpu:,.0f} |"
        )
    t0, c0 = time.perf_counter(), time.process_time()
    summary = summarize(result, threshold_s=20.0)
    rows.append(
        f"| {name}: summarize | | {len(result.calls):,} | | {time.perf_counter() - t0:.2f} "
        f"| {time.process_time() - c0:.2f} "
        f"| SL {summary.overall.service_level:.3f}, abandon {summary.overall.abandon_rate:.3f} |"
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=4, help="Simulated days per scenario.")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print("| scenario | event log | calls | events | wall s | CPU s | calls per CPU second |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for line in run("mmc", mmc_model(args.days), args.seed):
        print(line)
    for line in run("centre", centre_model(args.days), args.seed):
        print(line)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of the whole run: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
