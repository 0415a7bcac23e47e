"""Benchmarks for the flow language and engine (issue: foundation).

    .venv/bin/python bench/flow_engine.py [--states 1000] [--calls 1000] [--out docs/benchmarks/flows.md]

1. load + check a generated flow of N states (median of 5 runs);
2. engine overhead per caller event (no database), p50/p95 over many events;
3. N concurrent text calls in one process on one machine: wall time, events per second,
   peak traced memory per call; then the same with the SQLite call log.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from callwright.flows.checker import check_file
from callwright.flows.loader import load_flow
from callwright.ivr.clock import FakeClock
from callwright.ivr.engine import FlowEngine
from callwright.ivr.events import Dtmf, Speech
from callwright.store.calllog import CallLog
from callwright.store.db import open_db

ROOT = Path(__file__).resolve().parents[1]


def generate_flow(n_states: int) -> str:
    """A realistic big flow: menus of three choices, plays, sets and branches, all reachable."""
    lines = [
        "flow: generated",
        "start: s0",
        "variables: {count: 0}",
        "settings:",
        "  on_failure: agent",
        "  global_commands:",
        "    operator: {dtmf: '0', speech: [agent], next: agent}",
        "states:",
    ]
    n_body = n_states - 2
    for i in range(n_body):
        nxt = [f"s{min(i + k, n_body - 1)}" if i + k < n_body else "bye" for k in (1, 2, 3)]
        kind = i % 4
        if kind == 0:
            lines += [
                f"  s{i}:",
                "    type: ask",
                "    collect: menu",
                f"    prompt: 'Menu {i}: press 1, 2 or 3'",
                "    choices:",
            ]
            for k, target in enumerate(nxt, 1):
                lines.append(
                    f"      - {{id: c{k}, dtmf: '{k}', speech: [option {k} of {i}], next: {target}}}"
                )
        elif kind == 1:
            lines += [
                f"  s{i}:",
                "    type: play",
                f"    prompt: 'Step {i}, count {{count}}'",
                f"    next: {nxt[0]}",
            ]
        elif kind == 2:
            lines += [f"  s{i}:", "    type: set", "    vars: {count: 'count + 1'}", f"    next: {nxt[0]}"]
        else:
            lines += [
                f"  s{i}:",
                "    type: branch",
                "    cases:",
                f"      - {{if: 'count % 2 == 0', next: {nxt[0]}}}",
                f"    else: {nxt[1]}",
            ]
    lines += ["  agent: {type: queue, queue: general}", "  bye: {type: hangup, prompt: Goodbye}"]
    return "\n".join(lines) + "\n"


def bench_load_check(n_states: int) -> dict:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "big.yaml"
        path.write_text(generate_flow(n_states))
        times = []
        for _ in range(5):
            t = time.perf_counter()
            problems = check_file(path)
            times.append(time.perf_counter() - t)
        errors = [p for p in problems if p.severity == "error"]
        assert not errors, errors[:3]
        return {
            "states": n_states,
            "bytes": path.stat().st_size,
            "load_check_s_median": statistics.median(times),
            "load_check_s_max": max(times),
        }


def _caller_script(rng: random.Random) -> list:
    """Inbound sample: language, menu, account number, confirm."""
    menu = rng.choice([Dtmf("1"), Speech("billing"), Dtmf("2"), Speech("technical support")])
    return [Dtmf("1"), menu, *[Dtmf(k) for k in "4111#"], Speech("yes")]


def bench_events(n_calls: int, with_db: bool, trace_memory: bool = False) -> dict:
    from datetime import datetime

    engine = FlowEngine(load_flow(ROOT / "flows" / "inbound.yaml"))
    clock = FakeClock(datetime.fromisoformat("2026-11-23T10:00:00-05:00"))
    rng = random.Random(7)
    tmp = tempfile.TemporaryDirectory()
    log = CallLog(open_db(Path(tmp.name) / "bench.db")) if with_db else None
    gc.collect()
    if trace_memory:
        tracemalloc.start()
    t0 = time.perf_counter()
    calls, scripts = [], []
    for _ in range(n_calls):
        s = engine.start_call(clock)
        if log:
            s.listener = log.listener(s.call_id)
            log.call_started(s)
        s.start()
        calls.append(s)
        scripts.append(_caller_script(rng))
    concurrent_peak = len(engine.active)
    per_event: list[float] = []
    step = 0
    while any(scripts):
        for s, script in zip(calls, scripts, strict=True):
            if step < len(script) and not s.ended:
                t = time.perf_counter()
                s.handle(script[step])
                per_event.append(time.perf_counter() - t)
                if log:
                    log.flush(s)
        step += 1
        if step > 20:
            break
    wall = time.perf_counter() - t0
    peak = 0
    if trace_memory:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    outcomes = {}
    for s in calls:
        outcomes[s.outcome] = outcomes.get(s.outcome, 0) + 1
    per_event.sort()
    tmp.cleanup()
    return {
        "calls": n_calls,
        "database": with_db,
        "concurrent_calls": concurrent_peak,
        "events": len(per_event),
        "wall_s": wall,
        "event_p50_ms": per_event[len(per_event) // 2] * 1000,
        "event_p95_ms": per_event[int(len(per_event) * 0.95)] * 1000,
        "events_per_s": len(per_event) / wall,
        "peak_mem_kb_per_call": peak / 1024 / n_calls,
        "outcomes": outcomes,
        "machines": 1,
        "models_left": len(engine.machine.models),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--states", type=int, default=1000)
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks" / "flows.md")
    args = ap.parse_args()
    lc = bench_load_check(args.states)
    ev = bench_events(args.calls, with_db=False)
    ev["peak_mem_kb_per_call"] = bench_events(args.calls, with_db=False, trace_memory=True)[
        "peak_mem_kb_per_call"
    ]
    evdb = bench_events(args.calls, with_db=True)
    cmd = (
        "python bench/flow_engine.py"
        + (f" --states {args.states}" if args.states != 1000 else "")
        + (f" --calls {args.calls}" if args.calls != 1000 else "")
    )
    md = [
        "## Flow language and engine",
        "",
        f"Command: `{cmd}` (2-core machine, Python {sys.version.split()[0]}).",
        "",
        "| measure | target | result |",
        "|---|---|---|",
        f"| load + check a generated {lc['states']}-state flow ({lc['bytes'] // 1024} KB), median of 5 "
        f"| < 1 s | {lc['load_check_s_median'] * 1000:.0f} ms (max {lc['load_check_s_max'] * 1000:.0f} ms) |",
        f"| engine time per caller event, p50 / p95 (no database) | well under 1 ms | "
        f"{ev['event_p50_ms']:.3f} / {ev['event_p95_ms']:.3f} ms |",
        f"| concurrent text calls in one process, one machine | 1,000 | {ev['concurrent_calls']} calls, "
        f"{ev['events']} events in {ev['wall_s']:.2f} s ({ev['events_per_s']:.0f} events/s), "
        f"peak {ev['peak_mem_kb_per_call']:.1f} KB traced per call; outcomes {ev['outcomes']} |",
        f"| the same with the SQLite call log (flush per turn) | | {evdb['events']} events in "
        f"{evdb['wall_s']:.2f} s ({evdb['events_per_s']:.0f} events/s), event p50 "
        f"{evdb['event_p50_ms']:.3f} ms |",
        "",
    ]
    text = "\n".join(md)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
