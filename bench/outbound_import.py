"""Time `callwright contacts import` of a 1,000,000-row CSV (issue 18: under 60 s).

The CSV is generated once (seeded) under out/ : valid North American and German numbers
written in several ways (E.164, national with punctuation), half with a time_zone column
value and half with the zone derived from the number, consent flags and dates, two
attributes, and 1 % duplicates. The import runs as the CLI does (store.contacts.import_csv:
worker processes validate numbers, the parent writes batches with executemany in one
transaction) into a fresh database. Figures go in docs/benchmarks.md.

    .venv/bin/python bench/outbound_import.py [--rows 1000000] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import time
from pathlib import Path

from callwright.store import contacts as store
from callwright.store.db import open_db

AREA = {
    "212": "America/New_York",
    "312": "America/Chicago",
    "415": "America/Los_Angeles",
    "303": "America/Denver",
}


def generate(path: Path, rows: int, seed: int = 18) -> None:
    rng = random.Random(seed)
    areas = list(AREA)
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("number,name,time_zone,consent,consent_at,plan,account\n")
        for i in range(rows):
            j = i if rng.random() > 0.01 else max(0, i - 1)  # 1 % repeat the previous number
            if rng.random() < 0.1:
                number, zone = f"+49 30 {1000000 + j % 8999999}", "Europe/Berlin"
            else:
                a = areas[j % len(areas)]
                line = 2000000 + j // len(areas)  # exchange 200-999: valid NANP numbers
                number = f"+1{a}{line}" if j % 3 else f"({a}) {str(line)[:3]}-{str(line)[3:]}"
                zone = AREA[a]
            consent = "yes" if j % 5 else "no"
            f.write(
                f"{number},Person {j},{zone if j % 2 else ''},{consent},2026-0{1 + j % 9}-1{j % 9},p{j % 7},A{j}\n"
            )


def _cpu() -> tuple[float, float]:
    """User + system CPU seconds of this process (reading, writing the database) and of its
    finished worker processes (validating numbers): the cost of an import on a machine shared
    with other work, where wall time says little. On idle cores the import takes about the
    larger of the parent's time and the workers' time divided by their number."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--out", type=Path, default=Path("out/bench_outbound"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    csv_path = args.out / f"contacts_{args.rows}.csv"
    if not csv_path.exists():
        t = time.perf_counter()
        generate(csv_path, args.rows)
        print(f"generated {csv_path} in {time.perf_counter() - t:.1f}s")
    db_path = args.out / "import.db"
    for p in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        p.unlink(missing_ok=True)
    db = open_db(db_path)
    t = time.perf_counter()
    cpu0 = _cpu()
    result = store.import_csv(db, str(csv_path), "bench", region="US", workers=args.workers)
    took = time.perf_counter() - t
    cpu1 = _cpu()
    parent, workers = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
    c = result.counts
    print(
        f"rows {c.rows:,}  imported {c.imported:,}  duplicates {c.duplicates:,}  errors {c.errors:,}  "
        f"unknown zones {c.unknown_zones:,}  workers {args.workers or os.cpu_count()}  "
        f"{took:.1f}s wall; CPU {parent:.1f}s parent + {workers:.1f}s workers  ({c.rows / took:,.0f} rows/s)  "
        f"load average {os.getloadavg()[0]:.1f}  database {db_path.stat().st_size / 1e6:.0f} MB"
    )
    db.conn.close()


if __name__ == "__main__":
    main()
