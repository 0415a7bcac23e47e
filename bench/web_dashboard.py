"""Server time of the supervisor dashboard (and its exports) over ~100,000 scored calls.

The database is bench/web_calls.py's (a seeded `reports.synthetic` database, every answered
inbound call scored), generated once and cached under out/. The app runs in-process behind
Starlette's TestClient (no network: from the request to the last byte of the page, session,
SQL, charts and template included); each request kind runs `--runs` times after one warm-up.
Figures go in docs/benchmarks.md ("Review app").

    .venv/bin/python bench/web_dashboard.py [--calls 230000] [--days 90] [--runs 10]
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from web_calls import PASSWORD, _p, bench_args, bench_db  # noqa: E402  (the same database and percentiles)

from callwright.store.db import open_db  # noqa: E402
from callwright.web.app import create_app  # noqa: E402


def main() -> None:
    args = bench_args(calls=230_000, runs=10)
    path = bench_db(args)
    db = open_db(path)
    scored = db.execute("select count(*) from scores").fetchone()[0]
    first, last = db.execute(
        "select substr(min(started_at), 1, 10), substr(max(started_at), 1, 10) from calls"
    ).fetchone()
    agent = db.execute("select agent from calls where agent is not null order by agent limit 1").fetchone()[0]
    db.conn.close()
    print(f"database {path}: {path.stat().st_size / 1e6:.0f} MB, {scored:,} scored calls, {first} to {last}")
    kinds = {
        "dashboard: last 4 weeks (default)": "/dashboard",
        "dashboard: one agent, 4 weeks": f"/dashboard?agent={agent}",
        "dashboard: one team, 4 weeks": "/dashboard?team=north",
        "dashboard: inbound, one queue, 4 weeks": "/dashboard?direction=inbound&queue=billing",
        "dashboard: one week": f"/dashboard?from={last[:8]}01&to={last[:8]}07",
        f"dashboard: all {args.days} days": f"/dashboard?from={first}&to={last}",
        "drill-down: calls with a CSAT answer": f"/calls?from={first}&to={last}&drill=csat",
        "drill-down: missed service level, one agent": f"/calls?agent={agent}&drill=sl_missed",
        "export: report HTML, 4 weeks": "/dashboard/export?format=html",
        "export: report CSV, one agent, 4 weeks": f"/dashboard/export?format=csv&agent={agent}",
    }
    app = create_app(path)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        page = client.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        r = client.post("/login", data={"name": "bench", "password": PASSWORD, "csrf": token})
        assert r.status_code == 303, r.text
        print(f"{'request':45} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        for name, url in kinds.items():
            client.get(url)
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                resp = client.get(url)
                times.append(1000 * (time.perf_counter() - t0))
                assert resp.status_code == 200, (url, resp.status_code)
            print(f"{name:45} {_p(times, 50):8.1f} {_p(times, 95):8.1f} {max(times):8.1f}", flush=True)


if __name__ == "__main__":
    main()
