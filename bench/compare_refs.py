"""Two source trees, the same benchmarks, one run: OLD and NEW alternated so the machine's noise hits both.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/compare_refs.py OLD_TREE NEW_TREE \\
        [--bench flow,turns,report,qa] [--reps 3] [--qa-reps 2] [--qa-samples DIR] \\
        [--turn-calls 4] [--report-calls 100000] [--json-out FILE]

Each tree is a checkout of this project (a git worktree, e.g. the commit before a refactor and
the branch after it). Every measurement is a fresh child process of the tree's own bench script
with PYTHONPATH=TREE/src, so each side runs its own code and, where the API moved, its own
script. For each repetition every benchmark runs OLD then NEW (A/B/A/B...): a load spike from
another process lands on both sides instead of on one. The table gives per side the median and
the spread (min-max) of the repetitions, and NEW/OLD of the medians; a ratio outside both
sides' spreads, in the bad direction, is flagged "slower?".

Benchmarks (what they time, from the scripts docs/benchmarks.md already uses):

- flow: bench/flow_engine.py's load + check of a generated 1000-state flow (median of 5) and
  the engine's time per caller event over 1000 text calls (p50, p95, events/s, no database);
- turns: bench/ivr_turns.py latency (Whisper, `--turn-calls` synthesised callers): processing
  time of the speech turns, p50 and p95;
- report: bench/report_1m.py over a generated database of `--report-calls` calls (generated once
  per tree before the timed runs, in a temp folder): the report's first and second build;
- qa: bench/qa_throughput.py (2 workers) on the WAVs in `--qa-samples`: raw ASR and the whole
  pipeline in x real time.

Each child's raw output is kept as a JSON line in `--json-out` (so an interrupted run still
leaves what it measured), and the table is printed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BENCH_TIMEOUT_S = 1800  # one child process; the QA run on ten calls takes minutes on a loaded machine

FLOW_SNIPPET = """
import json, sys
sys.path.insert(0, sys.argv[1])
import flow_engine
lc = flow_engine.bench_load_check(1000)
ev = flow_engine.bench_events(1000, with_db=False)
print(json.dumps({"load_check_ms": lc["load_check_s_median"] * 1000, "event_p50_us": ev["event_p50_ms"] * 1000,
                  "event_p95_us": ev["event_p95_ms"] * 1000, "events_per_s": ev["events_per_s"]}))
"""


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    higher_is_better: bool


METRICS: dict[str, list[Metric]] = {
    "flow": [
        Metric("load_check_ms", "ms", False),
        Metric("event_p50_us", "us", False),
        Metric("event_p95_us", "us", False),
        Metric("events_per_s", "/s", True),
    ],
    "turns": [
        Metric("speech_processing_p50_ms", "ms", False),
        Metric("speech_processing_p95_ms", "ms", False),
    ],
    "report": [Metric("first_build_s", "s", False), Metric("second_build_s", "s", False)],
    "qa": [Metric("raw_asr_x_real_time", "x", True), Metric("pipeline_x_real_time", "x", True)],
}


def run(tree: Path, argv: list[str]) -> str:
    """One child process of `tree`'s code; its stdout (a failure stops the comparison, loudly)."""
    env = {**os.environ, "PYTHONPATH": str(tree / "src"), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, *argv], cwd=tree, env=env, capture_output=True, text=True, timeout=BENCH_TIMEOUT_S
    )
    if done.returncode != 0:
        raise SystemExit(f"{tree}: {' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def first_json(text: str) -> dict:
    """The first JSON object in a script's output (some print a table after it)."""
    start = text.index("{")
    obj, _ = json.JSONDecoder().raw_decode(text[start:])
    return obj


def bench_flow(tree: Path, args: argparse.Namespace, work: Path) -> dict:
    return json.loads(run(tree, ["-c", FLOW_SNIPPET, str(tree / "bench")]).strip().splitlines()[-1])


def bench_turns(tree: Path, args: argparse.Namespace, work: Path) -> dict:
    out = first_json(
        run(tree, [str(tree / "bench" / "ivr_turns.py"), "latency", "--calls", str(args.turn_calls)])
    )
    speech = out["speech"]
    return {
        "speech_turns": speech["turns"],
        "speech_processing_p50_ms": speech["processing_p50_ms"],
        "speech_processing_p95_ms": speech["processing_p95_ms"],
        "routed_to_billing": out.get("routed_to_billing"),
    }


def _report_db(tree: Path, args: argparse.Namespace, work: Path) -> Path:
    return work / f"report-{tree.name}-{args.report_calls}.db"


def bench_report(tree: Path, args: argparse.Namespace, work: Path) -> dict:
    argv = [str(tree / "bench" / "report_1m.py"), "--calls", str(args.report_calls)]
    text = run(tree, [*argv, "--db", str(_report_db(tree, args, work))])
    runs = [float(x) for x in re.findall(r"^run \d: .* total ([\d.]+) s wall", text, flags=re.M)]
    if len(runs) != 2:
        raise SystemExit(f"{tree}: report_1m.py printed no two runs:\n{text}")
    return {"first_build_s": runs[0], "second_build_s": runs[1]}


def bench_qa(tree: Path, args: argparse.Namespace, work: Path) -> dict:
    argv = [str(tree / "bench" / "qa_throughput.py"), "--workers", "2", "--samples", str(args.qa_samples)]
    out = first_json(run(tree, argv))
    return {
        "files": out["files"],
        "audio_s": out["raw_asr"]["audio_s"],
        "raw_asr_x_real_time": out["raw_asr"]["x_real_time"],
        "pipeline_x_real_time": out["pipeline"]["x_real_time"],
    }


BENCHES: dict[str, Callable[[Path, argparse.Namespace, Path], dict]] = {
    "flow": bench_flow,
    "turns": bench_turns,
    "report": bench_report,
    "qa": bench_qa,
}


def prepare(trees: dict[str, Path], benches: list[str], args: argparse.Namespace, work: Path) -> None:
    """Untimed set-up: each tree generates its own report database (its own schema and generator)."""
    if "report" in benches:
        for side, tree in trees.items():
            if not _report_db(tree, args, work).exists():
                t0 = time.perf_counter()
                bench_report(tree, args, work)
                print(
                    f"{side}: generated the {args.report_calls}-call database in {time.perf_counter() - t0:.0f} s"
                )


def table(results: list[dict]) -> str:
    rows = [
        "| benchmark | measure | OLD median (min-max) | NEW median (min-max) | NEW/OLD | verdict |",
        "|---|---|---|---|---:|---|",
    ]
    for bench, metrics in METRICS.items():
        for m in metrics:
            got = {
                side: [r["result"][m.name] for r in results if r["bench"] == bench and r["side"] == side]
                for side in ("OLD", "NEW")
            }
            if not got["OLD"] or not got["NEW"]:
                continue
            med = {s: statistics.median(v) for s, v in got.items()}
            ratio = med["NEW"] / med["OLD"] if med["OLD"] else float("nan")
            # noise: how far the repetitions of either side spread around their own median
            spread = max((max(v) - min(v)) / med[s] if med[s] else 0.0 for s, v in got.items())
            worse = ratio < 1 - spread if m.higher_is_better else ratio > 1 + spread
            better = ratio > 1 + spread if m.higher_is_better else ratio < 1 - spread
            verdict = "slower?" if worse else ("faster" if better else "within noise")

            rows.append(
                f"| {bench} | {m.name} ({'higher' if m.higher_is_better else 'lower'} is better) "
                f"| {_cell(got['OLD'], m.unit)} | {_cell(got['NEW'], m.unit)} | {ratio:.3f} | {verdict} |"
            )
    n = {b: sum(1 for r in results if r["bench"] == b and r["side"] == "OLD") for b in METRICS}
    return "\n".join(rows) + "\n\nrepetitions per side: " + ", ".join(f"{b} {k}" for b, k in n.items() if k)


def _cell(values: list[float], unit: str) -> str:
    return f"{_fmt(statistics.median(values))} ({_fmt(min(values))}-{_fmt(max(values))}) {unit}"


def _fmt(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 100 else f"{x:.0f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", type=Path, help="the OLD source tree (its src/ and bench/ are used)")
    ap.add_argument("new", type=Path, help="the NEW source tree")
    ap.add_argument(
        "--bench", default="flow,turns,report,qa", help=f"comma-separated, of {','.join(BENCHES)}"
    )
    ap.add_argument(
        "--reps", type=int, default=3, help="repetitions per side (each an OLD run then a NEW run)"
    )
    ap.add_argument("--qa-reps", type=int, default=None, help="repetitions for qa (default: --reps)")
    ap.add_argument(
        "--qa-samples", type=Path, default=None, help="folder of rendered sample calls (WAV + JSON)"
    )
    ap.add_argument("--turn-calls", type=int, default=4, help="callers per ivr_turns latency run")
    ap.add_argument("--report-calls", type=int, default=100_000, help="calls in the report database")
    ap.add_argument(
        "--work", type=Path, default=None, help="folder for the report databases (default: a temp one)"
    )
    ap.add_argument(
        "--json-out", type=Path, default=None, help="append every measurement here as a JSON line"
    )
    ap.add_argument(
        "--table-from", type=Path, default=None, help="print the table of a --json-out file and stop"
    )
    args = ap.parse_args()
    if args.table_from:
        print(table([json.loads(line) for line in args.table_from.read_text().splitlines() if line.strip()]))
        return 0
    benches = [b.strip() for b in args.bench.split(",") if b.strip()]
    unknown = [b for b in benches if b not in BENCHES]
    if unknown:
        ap.error(f"--bench: unknown {unknown}; choose from {sorted(BENCHES)}")
    if "qa" in benches and (args.qa_samples is None or not any(args.qa_samples.glob("*.wav"))):
        ap.error("--bench qa needs --qa-samples DIR with WAV files (scripts/make_sample_calls.py --out DIR)")
    trees = {"OLD": args.old.resolve(), "NEW": args.new.resolve()}
    for side, tree in trees.items():
        if not (tree / "src" / "callwright").is_dir():
            ap.error(f"{side} tree {tree}: no src/callwright in it")
    work = args.work or Path(tempfile.mkdtemp(prefix="compare-refs-"))
    work.mkdir(parents=True, exist_ok=True)
    prepare(trees, benches, args, work)
    results: list[dict] = []
    qa_reps = args.qa_reps if args.qa_reps is not None else args.reps
    for rep in range(max(args.reps, qa_reps if "qa" in benches else 0)):
        for bench in benches:
            if rep >= (qa_reps if bench == "qa" else args.reps):
                continue
            for side, tree in trees.items():  # OLD then NEW: A/B/A/B
                t0 = time.perf_counter()
                got = BENCHES[bench](tree, args, work)
                row = {
                    "rep": rep,
                    "bench": bench,
                    "side": side,
                    "tree": str(tree),
                    "wall_s": round(time.perf_counter() - t0, 1),
                    "load_avg_1m": os.getloadavg()[0],
                    "result": got,
                }
                results.append(row)
                print(json.dumps(row), flush=True)
                if args.json_out:
                    with args.json_out.open("a") as f:
                        f.write(json.dumps(row) + "\n")
    print()
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
