"""How closely the ACD simulation reproduces Erlang C and Erlang A.

Run:  .venv/bin/python bench/acd_agreement.py
Figures go in docs/benchmarks/reports.md ("Simulation against the formulas").

Each row is a single-skill queue with exponential handle times (and, for
Erlang A, exponential patience), simulated for `--hours` after a one-hour
warm-up, replicated over `--runs` seeds; the simulated column is the mean
± 1.96 standard errors (a 95 % confidence interval).
"""

from __future__ import annotations

import argparse
import time

from callwright.reports.acd import erlang_queue_model, replicate
from callwright.reports.erlang import queue_metrics

WARMUP_S = 3600.0
THRESHOLD_S = 20.0
# (label, agents, calls per hour, AHT s, mean patience s or None)
CASES = (
    ("M/M/10, 8 Erl", 10, 480.0, 60.0, None),
    ("Mitan: M/M/55, 48 Erl", 55, 720.0, 240.0, None),
    ("M/M/8+M, 8 Erl, patience 30 s", 8, 480.0, 60.0, 30.0),
    ("M/M/46+M, 48 Erl, patience 60 s", 46, 720.0, 240.0, 60.0),
)
KPIS = (
    ("p_wait", "p_wait"),
    ("asa_s", "asa_s"),
    ("service_level", "service_level"),
    ("abandon_rate", "p_abandon"),
    ("occupancy", "occupancy"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    horizon = WARMUP_S + args.hours * 3600
    print("| queue | KPI | formula | simulated (95 % CI) | within CI |")
    print("|---|---|---:|---:|---|")
    total_calls, t0 = 0.0, time.perf_counter()
    for label, agents, per_hour, aht_s, patience_s in CASES:
        rate = per_hour / 3600
        model = erlang_queue_model(
            agents,
            arrival_rate_per_s=rate,
            aht_s=aht_s,
            horizon_s=horizon,
            patience_s=patience_s,
        )
        sim = replicate(
            model,
            range(args.runs),
            threshold_s=THRESHOLD_S,
            start_s=WARMUP_S,
            end_s=horizon,
        )
        theory = queue_metrics(
            agents,
            arrival_rate_per_s=rate,
            aht_s=aht_s,
            threshold_s=THRESHOLD_S,
            patience_s=patience_s,
        )
        total_calls += rate * horizon * args.runs
        for kpi, field in KPIS:
            if patience_s is None and kpi == "abandon_rate":
                continue
            expected = getattr(theory, field)
            est = sim[kpi]
            half = 1.96 * est.stderr
            inside = "yes" if abs(est.mean - expected) <= half else "no"
            print(f"| {label} | {kpi} | {expected:.4f} | {est.mean:.4f} ± {half:.4f} | {inside} |")
    elapsed = time.perf_counter() - t0
    print(f"\n{total_calls:,.0f} simulated calls in {elapsed:.0f} s")


if __name__ == "__main__":
    main()
