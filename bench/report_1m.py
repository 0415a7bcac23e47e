"""Time `callwright report` over a generated database of 1,000,000 calls.

The database is generated once (seeded, `callwright.reports.synthetic`) and
cached under out/ (ignored by git); later runs reuse it. Figures go in
docs/benchmarks/reports.md.

    .venv/bin/python bench/report_1m.py [--calls 1000000] [--days 365] [--db out/report_1m.db]
"""

from __future__ import annotations

import argparse
import functools
import resource
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

from callwright.reports import export, html
from callwright.reports.kpis import ReportParams, build_report
from callwright.reports.synthetic import SyntheticSpec, generate
from callwright.store import kpis as sql
from callwright.store.db import open_db

QUERIES = (
    "refresh",
    "survey",
    "inbound_calls",
    "queue",
    "outbound",
    "qa_groups",
    "qa_items",
    "sentiment_groups",
    "waterfall",
    "agent_qa",
    "agent_teams",
    "distributions",
)


def _timed(spent: dict[str, float]) -> None:
    """Wrap the store.kpis queries the report calls so that each one's wall time adds up in `spent`."""
    for name in QUERIES:
        fn = getattr(sql, name)

        @functools.wraps(fn)
        def wrapper(*a, _fn=fn, _name=name, **kw):
            t0 = time.perf_counter()
            try:
                return _fn(*a, **kw)
            finally:
                spent[_name] += time.perf_counter() - t0

        setattr(sql, name, wrapper)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--db", type=Path, default=None)
    ap.add_argument("--group-by", default="day")
    args = ap.parse_args()
    path = args.db or Path(f"out/report_{args.calls}_{args.days}d.db")
    start = date(2026, 1, 1)
    spec = SyntheticSpec(calls=args.calls, start=start, days=args.days, seed=1)
    if not path.exists():
        tmp = path.with_suffix(".partial")
        for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            p.unlink(missing_ok=True)
        t0, c0 = time.perf_counter(), time.process_time()
        gen_db = open_db(tmp)
        counts = generate(gen_db, spec)
        gen_db.execute("pragma wal_checkpoint(truncate)")  # the WAL file does not follow a rename
        gen_db.conn.close()
        print(
            f"generated {path} in {time.perf_counter() - t0:.1f} s wall, "
            f"{time.process_time() - c0:.1f} s CPU: {counts}"
        )
        tmp.rename(path)
        Path(f"{tmp}-wal").unlink(missing_ok=True)
        Path(f"{tmp}-shm").unlink(missing_ok=True)
    print(f"database: {path.stat().st_size / 1e6:.0f} MB")
    db = open_db(path)
    params = ReportParams(start, start + timedelta(days=args.days - 1), group_by=args.group_by)
    spent: dict[str, float] = defaultdict(float)
    _timed(spent)
    for run in (1, 2):
        spent.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        report = build_report(db, params)
        t1 = time.perf_counter()
        page = html.render(report)
        t2 = time.perf_counter()
        csv_text, json_text = export.to_csv(report), export.to_json(report)
        t3 = time.perf_counter()
        print(
            f"run {run}: KPIs {t1 - t0:.2f} s, HTML {t2 - t1:.2f} s ({len(page) / 1e3:.0f} kB), "
            f"CSV+JSON {t3 - t2:.2f} s ({len(csv_text) / 1e3:.0f} + {len(json_text) / 1e3:.0f} kB); "
            f"total {t3 - t0:.2f} s wall, {time.process_time() - c0:.2f} s CPU"
        )
        print(
            "  per query (wall s, nested calls counted in both): "
            + ", ".join(f"{k} {v:.2f}" for k, v in sorted(spent.items(), key=lambda kv: -kv[1]))
        )
    print(
        f"calls in report: IVR {report.inbound_total.ivr_calls:,}, queue {report.queue_total.offered:,}, "
        f"dials {report.outbound_total.dials:,}, scored {report.qa_total.scored:,}"
    )
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
