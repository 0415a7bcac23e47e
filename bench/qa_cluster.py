"""Cluster batch throughput on 1 and 2 local Ray nodes against the local batch, as a ratio.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/qa_cluster.py [--workers 1,2] [--nodes 1,2] [--copies 1]

The same files are scored by the same pipeline (whisper tiny.en, second listen, redaction,
sentiment, scoring, SQLite; scorecards/inbound-service.yaml and outbound-sales.yaml, each
call the one for its direction) three ways, each into a fresh database:

1. the local batch: `score_batch(..., workers=W)` (`qa score --workers W`) for each W in --workers;
2. a Ray cluster of N nodes for each N in --nodes, started here on loopback: a head
   (`ray start --head`) and N-1 more nodes (`ray start --address`), each `--num-cpus 1` (one
   scoring actor per node, one torch thread each: so N nodes use N cores, like N local
   workers, and 2 nodes fill this 2-core machine), joined by the driver through the Ray
   client port (`score_batch(..., cluster="ray://127.0.0.1:PORT")`, `qa score --cluster`).

The files are the ten sample calls (rendered with espeak-ng unless --samples gives them);
`--copies N` scores N copies of each (a new call id and content hash, as in
bench/qa_throughput.py). Wall time includes each way's start-up (workers or actors loading
their models; the cluster's own `ray start` is timed apart, as `start_s`). Every way must
score every call, with the same score per call as the local batch.

Printed (JSON): per way wall s, calls per minute, the busy fraction (the workers' compute
seconds over wall x workers: what start-up, scheduling and transfers leave), and for each
cluster the ratio of its
throughput to the local batch's with as many workers as the cluster has CPUs and with the
most workers (>1: faster than local). Load average before and after each way.

The clusters are this script's alone: a dedicated --temp-dir under /tmp, every port chosen
free at run time (none of Ray's defaults, so a test suite's or another user's Ray on the
machine is never joined or disturbed), a token of its own, and an environment variable that
every process of the cluster inherits; at the end (also on Ctrl-C or an error) exactly the
processes carrying it are stopped, by id. `ray stop` is never run: it stops every Ray on the
machine.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RAY = Path(sys.executable).parent / "ray"
START_TIMEOUT_S = 180
STOP_GRACE_S = 10.0
OBJECT_STORE_BYTES = 200 * 1024 * 1024  # per node: results are a few KB a call
WORKER_PORTS = 40  # per node, a free range for Ray's worker processes
TAG_VAR = "CALLWRIGHT_BENCH_CLUSTER"  # marks every process of a cluster started here

# Ray 2.60 authenticates nodes and drivers with a token read at import: one for this run.
os.environ.setdefault("RAY_AUTH_MODE", "token")
os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(16))
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from qa_throughput import _copies  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _free_range(n: int) -> int:
    """The first of n consecutive ports free now (Ray's worker ports of one node)."""
    for _ in range(200):
        base = _free_port()
        if base + n >= 65535:
            continue
        socks = []
        try:
            for p in range(base, base + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError(f"no {n} consecutive free ports")


def _env(tag: str = "") -> dict[str, str]:
    env = dict(os.environ)
    if tag:
        env[TAG_VAR] = tag
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH", "")) if p)
    return env


def _node_ports() -> list[str]:
    base = _free_range(WORKER_PORTS)
    return [
        f"--node-manager-port={_free_port()}",
        f"--object-manager-port={_free_port()}",
        f"--dashboard-agent-listen-port={_free_port()}",
        f"--dashboard-agent-grpc-port={_free_port()}",
        f"--runtime-env-agent-port={_free_port()}",
        f"--metrics-export-port={_free_port()}",
        f"--min-worker-port={base}",
        f"--max-worker-port={base + WORKER_PORTS - 1}",
    ]


def _own_pids(tag: str, temp_dir: Path) -> list[int]:
    """The cluster's processes and nothing else: those whose environment carries its tag
    (`TAG_VAR`, set for `ray start` and inherited by what Ray starts from it), or whose command
    line or open files name its temp dir (Ray's agents start with a cleared environment and are
    renamed `ray::...`, but write their logs there)."""
    marker = f"{TAG_VAR}={tag}".encode()
    where = str(temp_dir)
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            mine = (
                marker in (d / "environ").read_bytes().split(b"\0")
                or where.encode() in (d / "cmdline").read_bytes()
            )
            if not mine:
                for fd in (d / "fd").iterdir():
                    try:
                        if os.readlink(fd).startswith(where + "/"):
                            mine = True
                            break
                    except OSError:
                        continue
        except OSError:  # gone, or not ours to read
            continue
        if mine:
            out.append(int(d.name))
    return out


def _stop(tag: str, temp_dir: Path) -> int:
    """SIGTERM, then SIGKILL after `STOP_GRACE_S`, to the cluster's processes, by id (some of
    Ray's agents ignore SIGTERM once their raylet is gone). Returns how many there were."""
    pids = _own_pids(tag, temp_dir)
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    while time.monotonic() < deadline and _own_pids(tag, temp_dir):
        time.sleep(0.3)
    for _ in range(3):
        left = _own_pids(tag, temp_dir)
        if not left:
            break
        for pid in left:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
    return len(pids)


@contextmanager
def local_cluster(nodes: int, temp_dir: Path) -> Iterator[tuple[str, float]]:
    """A Ray cluster of `nodes` nodes (one CPU each) on loopback; yields its client address and
    how long starting it took. Everything it started is stopped on the way out."""
    temp_dir.mkdir(parents=True)
    tag = f"{temp_dir.name}-{secrets.token_hex(4)}"
    gcs, client = _free_port(), _free_port()
    common = ["--num-cpus=1", "--node-ip-address=127.0.0.1", f"--object-store-memory={OBJECT_STORE_BYTES}"]
    head = [str(RAY), "start", "--head", f"--port={gcs}", f"--ray-client-server-port={client}"]
    head += ["--include-dashboard=false", f"--temp-dir={temp_dir}", *common, *_node_ports()]
    more = [
        [str(RAY), "start", f"--address=127.0.0.1:{gcs}", *common, *_node_ports()] for _ in range(nodes - 1)
    ]
    t0 = time.perf_counter()
    try:
        for cmd in (head, *more):
            r = subprocess.run(cmd, env=_env(tag), capture_output=True, text=True, timeout=START_TIMEOUT_S)
            if r.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd[:3])} failed: {r.stderr[-1500:]}")
        yield f"ray://127.0.0.1:{client}", time.perf_counter() - t0
    finally:
        stopped = _stop(tag, temp_dir)
        print(f"stopped {stopped} Ray process(es) of {temp_dir}", file=sys.stderr)
        shutil.rmtree(temp_dir, ignore_errors=True)


def _scores(db: Path) -> dict[str, float]:
    con = sqlite3.connect(db)
    try:
        return {k: round(v, 4) for k, v in con.execute("select call_id, score from scores").fetchall()}
    finally:
        con.close()


def run_batch(paths: list[Path], db: Path, **options: Any) -> dict[str, Any]:
    from callwright.qa.scorecard import load_scorecard
    from callwright.store.qa_batch import score_batch

    cards = [load_scorecard(ROOT / "scorecards" / f"{n}.yaml") for n in ("inbound-service", "outbound-sales")]
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    s = score_batch(paths, cards, db, engine="whisper", **options)
    wall = time.perf_counter() - t0
    errors = s.of("error")
    if errors or len(s.of("scored")) != len(paths):
        raise RuntimeError(f"not every call scored: {errors[:3]}")
    busy = sum(c.seconds for c in s.calls)
    return {
        "calls": len(paths),
        "wall_s": round(wall, 1),
        # the workers' compute seconds over wall x workers: how much of the time the batch's
        # workers spent scoring (start-up, scheduling, transfers and waiting are the rest)
        "busy_fraction": round(busy / (wall * max(1, s.workers)), 3),
        "workers": s.workers,
        "calls_per_min": round(60 * len(paths) / wall, 2),
        "audio_x_real_time": round(s.audio_s / wall, 2),
        "load_average": [round(load0, 2), round(os.getloadavg()[0], 2)],
        "scores": _scores(db),
    }


def _ints(text: str) -> list[int]:
    return sorted({int(x) for x in text.split(",") if x.strip()})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=_ints, default=[1, 2], help="local batch workers, e.g. 1,2")
    ap.add_argument("--nodes", type=_ints, default=[1, 2], help="cluster sizes, e.g. 1,2")
    ap.add_argument("--copies", type=int, default=1, help="score N copies of every sample call")
    ap.add_argument("--samples", type=Path, help="folder of rendered sample calls")
    ap.add_argument("--limit", type=int, default=0, help="only the first N sample calls (a quicker run)")
    args = ap.parse_args(argv)

    from callwright.qa.samples import make_samples

    result: dict[str, Any] = {"copies": args.copies}
    with tempfile.TemporaryDirectory(prefix="qa-cluster-") as tmp:
        work = Path(tmp)
        src = args.samples or work / "samples"
        if args.samples is None:
            make_samples(out_dir=src)
        paths = sorted(src.glob("*.wav"))[: args.limit or None]
        if args.copies > 1:
            paths = _copies(paths, args.copies, work / "copies")
        result["calls"] = len(paths)
        local: dict[int, dict[str, Any]] = {}
        for w in args.workers:
            local[w] = run_batch(paths, work / f"local-{w}.db", workers=w)
            print(f"local, {w} worker(s): {local[w]['wall_s']} s", file=sys.stderr)
        reference = local[max(local)]["scores"] if local else None
        clusters: dict[int, dict[str, Any]] = {}
        for n in args.nodes:
            temp_dir = Path(f"/tmp/cwqb-{os.getpid()}-{n}")  # Ray's socket paths must stay short
            with local_cluster(n, temp_dir) as (address, start_s):
                clusters[n] = run_batch(paths, work / f"cluster-{n}.db", cluster=address)
            clusters[n]["start_s"] = round(start_s, 1)
            print(f"cluster, {n} node(s): {clusters[n]['wall_s']} s", file=sys.stderr)
    same = True
    for way in (*local.values(), *clusters.values()):
        scores = way.pop("scores")
        same &= reference is None or scores == reference
    result["local"] = {f"{w}_workers": v for w, v in local.items()}
    for n, c in clusters.items():
        for w in sorted({n, max(local, default=n)}):
            if w in local:
                c[f"ratio_vs_local_{w}_workers"] = round(local[w]["wall_s"] / c["wall_s"], 3)
    result["cluster"] = {f"{n}_nodes": v for n, v in clusters.items()}
    result["same_scores"] = same
    print(json.dumps(result))
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
