"""Time the compliance decision per attempt with a 1,000,000-number do-not-call list (issue 18:
under 1 ms).

One attempt's decision is what the dialer does before every dial: the DNC lookup
(store.contacts.is_dnc, a primary-key lookup in SQLite), the contact's history in the campaign
(store.contacts.contact_history, an index lookup on dials) and the pure
outbound.compliance.decide (window in the contact's zone, holidays, retry spacing). The DNC
table is filled once (seeded) under out/; contacts are spread over zones and histories so every
branch runs. Figures go in docs/benchmarks.md.

    .venv/bin/python bench/outbound_decision.py [--dnc 1000000] [--decisions 20000]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

from callwright.outbound.campaign import WEEKDAYS, Campaign, Window
from callwright.outbound.compliance import History, decide
from callwright.outbound.contacts import Consent, Contact
from callwright.store import contacts as store
from callwright.store.db import open_db
from callwright.store.dials import Dial

ZONES = ("America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/Berlin", "Asia/Tokyo", None)


def campaign() -> Campaign:
    return Campaign(
        name="bench",
        list_name="bench",
        flow=Path("flows/outbound-reminder.yaml"),
        caller_id="+12125550100",
        consent_required=True,
        consent_kind="call",
        max_attempts=4,
        retry={
            "no_answer": timedelta(hours=4),
            "busy": timedelta(minutes=15),
            "failed": timedelta(hours=1),
            "voicemail": timedelta(days=1),
            "answered_no_decision": timedelta(days=2),
        },
        hours={d: (Window(dtime(8), dtime(12)), Window(dtime(13), dtime(21))) for d in WEEKDAYS[:6]}
        | {"sun": ()},
        holidays=frozenset({datetime(2026, 12, 25).date(), datetime(2026, 11, 26).date()}),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dnc", type=int, default=1_000_000)
    ap.add_argument("--decisions", type=int, default=20_000)
    ap.add_argument("--out", type=Path, default=Path("out/bench_outbound"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"dnc_{args.dnc}.db"
    db = open_db(path)
    rng = random.Random(18)
    if store.dnc_count(db) < args.dnc * 0.99:  # random numbers repeat a little
        t = time.perf_counter()
        store.import_dnc(db, (f"+1{rng.randrange(2000000000, 9999999999)}" for _ in range(args.dnc)))
        print(f"filled the do-not-call list ({store.dnc_count(db):,}) in {time.perf_counter() - t:.1f}s")
    rng = random.Random(19)  # the same contacts whether or not the list was filled in this run
    contacts = [
        Contact(
            f"+1{rng.randrange(2000000000, 9999999999)}",
            time_zone=ZONES[i % len(ZONES)],
            consents=(Consent("call", i % 7 != 0),),
            id=None,
        )
        for i in range(1000)
    ]
    # a history for each contact in the campaign: some attempts of each kind
    if not db.execute("select 1 from dials where campaign = 'bench' limit 1").fetchone():
        with db.atomic():
            db.execute(
                "insert or ignore into contacts (number, created_at, updated_at) values "
                + ",".join("(?, 'x', 'x')" for _ in contacts),
                [c.number for c in contacts],
            )
        ids = dict(db.execute("select number, id from contacts").fetchall())
        results = ("no_answer", "busy", "failed", "voicemail")
        dials = [
            Dial(
                f"b{i}-{k}",
                "bench",
                f"2026-11-13T14:{k * 20:02d}:00+00:00",
                results[(i + k) % 4],
                contact_id=ids[c.number],
            )
            for i, c in enumerate(contacts)
            for k in range(i % 4)
        ]
        from callwright.store.dials import save_dials

        save_dials(db, dials)
    ids = dict(db.execute("select number, id from contacts").fetchall())
    contacts = [
        Contact(c.number, time_zone=c.time_zone, consents=c.consents, id=ids[c.number]) for c in contacts
    ]
    dnc_sample = [r[0] for r in db.execute("select number from dnc order by random() limit 200").fetchall()]
    camp = campaign()
    start = datetime(2026, 11, 13, 14, 50, tzinfo=UTC)  # just after the last attempts: retries too
    times = []
    pure = []
    cpu = []  # the thread's CPU time: what the decision costs, without the waits of a busy machine
    verdicts: dict[str, int] = {}
    for i in range(args.decisions):
        c = contacts[i % len(contacts)]
        number = dnc_sample[i % len(dnc_sample)] if i % 10 == 0 else c.number  # 10 % on the list
        now = start + timedelta(minutes=37 * i)
        t = time.perf_counter()
        c0 = time.thread_time()
        history = store.contact_history(db, c.id, camp.name) if c.id is not None else History()
        on_dnc = store.is_dnc(db, number)
        t1 = time.perf_counter()
        d = decide(c, history, camp, on_dnc=on_dnc, now=now)
        t2 = time.perf_counter()
        cpu.append(time.thread_time() - c0)
        times.append(t2 - t)
        pure.append(t2 - t1)
        key = "dial" if d else d.reason  # type: ignore[union-attr]
        verdicts[key] = verdicts.get(key, 0) + 1
    times.sort()
    ms = [x * 1000 for x in times]
    print(
        f"DNC {store.dnc_count(db):,} numbers; {len(ms):,} decisions: median {statistics.median(ms):.3f} ms, "
        f"p99 {ms[int(len(ms) * 0.99)]:.3f} ms, max {ms[-1]:.3f} ms; load average {os.getloadavg()[0]:.1f}"
    )
    pure.sort()
    print(
        f"decide() alone: median {statistics.median(pure) * 1000:.3f} ms, "
        f"p99 {pure[int(len(pure) * 0.99)] * 1000:.3f} ms"
    )
    cpu.sort()
    print(
        f"CPU time per decision (lookups included): median {statistics.median(cpu) * 1000:.3f} ms, "
        f"p99 {cpu[int(len(cpu) * 0.99)] * 1000:.3f} ms"
    )
    print("verdicts:", ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items())))
    db.conn.close()


if __name__ == "__main__":
    main()
