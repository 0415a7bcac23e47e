"""Server time of the review app's calls list and call page over ~100,000 scored calls.

A seeded database (`callwright.reports.synthetic`, every answered inbound call scored) is
generated once and cached under out/ (ignored by git). The app runs in-process behind Starlette's
TestClient (no network: what is timed is the app, from request to the last byte of the page);
each request kind runs `--runs` times after one warm-up. Figures go in docs/benchmarks.md
("Review app").

    .venv/bin/python bench/web_calls.py [--calls 130000] [--days 90] [--runs 30]
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import time
from pathlib import Path

from starlette.testclient import TestClient

from callwright.reports.synthetic import SyntheticSpec, generate
from callwright.store import users
from callwright.store.db import open_db
from callwright.web.app import create_app
from callwright.web.auth import hash_password

PASSWORD = "bench-password"


def _generate(path: Path, calls: int, days: int) -> None:
    tmp = path.with_suffix(".partial")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    t0 = time.perf_counter()
    db = open_db(tmp)
    counts = generate(db, SyntheticSpec(calls=calls, days=days, seed=7, qa_share=1.0))
    users.add_user(db, "bench", users.Role.reviewer, hash_password(PASSWORD))
    db.execute("pragma wal_checkpoint(truncate)")
    db.conn.close()
    tmp.rename(path)
    print(f"generated {path} in {time.perf_counter() - t0:.0f} s: {counts}")


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def bench_args(calls: int, runs: int) -> argparse.Namespace:
    """The options both web benches take (the dashboard bench's defaults differ)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=calls)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--runs", type=int, default=runs)
    ap.add_argument("--db", type=Path, default=None)
    return ap.parse_args()


def bench_db(args: argparse.Namespace) -> Path:
    """The generated database for these options, made the first time (minutes) and reused."""
    path = args.db or Path(f"out/web_{args.calls}_{args.days}d.db")
    path.parent.mkdir(exist_ok=True)
    if not path.exists():
        _generate(path, args.calls, args.days)
    return path


def main() -> None:
    args = bench_args(calls=130_000, runs=30)
    path = bench_db(args)
    db = open_db(path)
    scored = db.execute("select count(*) from scores").fetchone()[0]
    agents = [r[0] for r in db.execute("select distinct agent from calls where agent is not null")]
    call_ids = [r[0] for r in db.execute("select call_id from scores order by random() limit 200")]
    db.conn.close()
    print(
        f"database {path}: {path.stat().st_size / 1e6:.0f} MB, {scored:,} scored calls, {len(agents)} agents"
    )
    rng = random.Random(1)
    kinds = {
        "list: newest first": lambda: "/calls",
        "list: one agent": lambda: f"/calls?agent={rng.choice(agents)}",
        "list: team + 1 week": lambda: "/calls?team=north&from=2026-02-01&to=2026-02-07",
        "list: score 40-60": lambda: "/calls?min=40&max=60",
        "list: auto-failed": lambda: "/calls?auto_failed=yes",
        "list: not reviewed, sorted by score": lambda: "/calls?reviewed=no&sort=score&order=asc",
        "list: page 100": lambda: "/calls?page=100",
        "list: search a word (every call)": lambda: "/calls?q=synthetic",
        "list: search, no match": lambda: '/calls?q="recorded+line"',
        "list: caller ended negative": lambda: "/calls?end_sentiment=negative",
        "list: caller mean sentiment <= -0.3": lambda: "/calls?smax=-0.3",
        "call page": lambda: f"/calls/{rng.choice(call_ids)}",
        "review queues page": lambda: "/queues",
        "low-confidence queue": lambda: "/queues/low-confidence",
        "calibration sessions": lambda: "/calibration/sessions",
        "trends page (8 weeks)": lambda: "/trends",
        "calibration page": lambda: "/calibration",
    }
    app = create_app(path)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        page = client.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        r = client.post("/login", data={"name": "bench", "password": PASSWORD, "csrf": token})
        assert r.status_code == 303, r.text
        print(f"{'request':40} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        for name, url in kinds.items():
            client.get(url())
            times = []
            for _ in range(args.runs):
                u = url()
                t0 = time.perf_counter()
                resp = client.get(u)
                times.append(1000 * (time.perf_counter() - t0))
                assert resp.status_code == 200, (u, resp.status_code)
            print(f"{name:40} {_p(times, 50):8.1f} {_p(times, 95):8.1f} {max(times):8.1f}")


if __name__ == "__main__":
    main()
