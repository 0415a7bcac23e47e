"""`qa score --cluster`: a batch on a real two-node Ray cluster started on loopback (two
`ray start` processes), with the local batch's guarantees: the driver alone writes the
database, each call is scored exactly once, a killed worker's call is sent again, a killed
driver's rerun scores only what is missing, and a cluster that goes away stops the batch
with a clear message (issue 17, item 7).

Inputs are imported transcripts (the whole pipeline but the ASR), so the cluster mechanics
are tested in a minute; the actors load the sentence encoder once each.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from callwright.errors import CallwrightError
from callwright.qa.scorecard import load_scorecard
from callwright.store.qa_batch import score_batch

# Ray 2.60 authenticates every node and driver with a token, and reads these when it is
# imported: one token for this test process and the clusters it starts.
os.environ.setdefault("RAY_AUTH_MODE", "token")
os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(16))
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
pytest.importorskip("ray")

ROOT = Path(__file__).resolve().parents[2]
CARD = ROOT / "scorecards" / "inbound-service.yaml"
RAY = Path(sys.executable).parent / "ray"
START_TIMEOUT_S = 180
STOP_GRACE_S = 1.0

TRANSCRIPT = {
    "direction": "inbound",
    "duration_s": 30.0,
    "segments": [
        {
            "speaker": "agent",
            "start": 0.5,
            "end": 6.0,
            "text": "Thank you for calling Acme, my name is Sam. This call may be recorded for quality and "
            "training purposes. How can I help you today?",
        },
        {"speaker": "customer", "start": 7.0, "end": 10.0, "text": "I would like to check my balance."},
        {
            "speaker": "agent",
            "start": 11.0,
            "end": 16.0,
            "text": "Your balance is forty dollars. Is there anything else I can help you with?",
        },
        {"speaker": "customer", "start": 17.0, "end": 19.0, "text": "No, thanks."},
        {"speaker": "agent", "start": 20.0, "end": 23.0, "text": "Thank you for calling, have a great day."},
    ],
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])
    env["HF_HUB_OFFLINE"] = "1"
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    return env


TAG_VAR = "CALLWRIGHT_TEST_CLUSTER"  # marks every process of a cluster started here


def _own_pids(tag: str, temp_dir: Path) -> list[int]:
    """A cluster's processes and nothing else (not another test's or user's Ray): those whose
    environment carries its tag, or whose command line or open files name its temp dir (Ray's
    agents start with a cleared environment and are renamed, but log there)."""
    marker, where = f"{TAG_VAR}={tag}".encode(), str(temp_dir)
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            mine = marker in (d / "environ").read_bytes().split(b"\0")
            mine = mine or where.encode() in (d / "cmdline").read_bytes()
            if not mine:
                for fd in (d / "fd").iterdir():
                    try:
                        if os.readlink(fd).startswith(where + "/"):
                            mine = True
                            break
                    except OSError:
                        continue
        except OSError:
            continue
        if mine:
            out.append(int(d.name))
    return out


class Cluster:
    """Two Ray nodes on this machine (one CPU each), token-authenticated, stopped at the end:
    its own processes only, by id (`ray stop` would stop every Ray on the machine)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.address = ""
        self.tag = f"{tmp.name}-{secrets.token_hex(4)}"

    def pids(self) -> list[int]:
        return _own_pids(self.tag, self.tmp)

    def start(self) -> None:
        gcs, client = _free_port(), _free_port()
        env = {**_env(), TAG_VAR: self.tag}
        head = [str(RAY), "start", "--head", f"--port={gcs}", f"--ray-client-server-port={client}"]
        head += ["--num-cpus=1", "--include-dashboard=false", "--node-ip-address=127.0.0.1"]
        head += [f"--temp-dir={self.tmp}"]
        node = [
            str(RAY),
            "start",
            f"--address=127.0.0.1:{gcs}",
            "--num-cpus=1",
            "--node-ip-address=127.0.0.1",
        ]
        for cmd in (head, node):
            r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=START_TIMEOUT_S)
            assert r.returncode == 0, r.stderr[-2000:]
        self.address = f"ray://127.0.0.1:{client}"

    def stop(self) -> None:
        """SIGTERM, then SIGKILL what is left after `STOP_GRACE_S` (as `ray stop --force`).

        The raylets take about 10 s to end on SIGTERM and the GCS server and log monitor do not
        end at all, so waiting longer only costs time: nothing of a test cluster is kept."""
        for sig, wait_s in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, 10.0)):
            for pid in self.pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + wait_s
            while self.pids() and time.monotonic() < deadline:
                time.sleep(0.1)

    def client_server_logs(self, tail: int = 1500) -> str:
        """The end of each of the head's client server logs: why a driver could not join."""
        logs = sorted((self.tmp / "session_latest" / "logs").glob("ray_client_server*.err"))
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-tail:]}" for p in logs)

    @contextlib.contextmanager
    def logs_on_failure(self) -> Iterator[None]:
        """A batch that cannot join the cluster fails the test with the head's logs attached."""
        try:
            yield
        except CallwrightError as err:
            raise AssertionError(f"{err}\n{self.client_server_logs()}") from err

    def remove(self) -> None:
        """Stop it and delete its folder (logs and sockets, tens of MB a cluster: they piled up in
        /tmp, one per test session)."""
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    c = Cluster(Path(f"/tmp/cwray-{os.getpid()}"))  # Ray's socket paths must stay short
    try:
        c.start()
        yield c
    finally:
        c.remove()


def write_transcripts(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = folder / f"call-{i:03d}.json"
        segs = [dict(s) for s in TRANSCRIPT["segments"]]  # type: ignore[union-attr]
        segs[1]["text"] = f"I would like to check my balance, reference {i}."
        p.write_text(json.dumps({**TRANSCRIPT, "segments": segs, "call_id": f"call-{i:03d}"}))
        paths.append(p)
    return paths


def stored(db: Path) -> dict[str, int]:
    con = sqlite3.connect(db)
    try:
        return dict(con.execute("select call_id, count(*) from scores group by call_id").fetchall())
    finally:
        con.close()


def stored_so_far(db: Path) -> int:
    """Scores stored by a batch still running: none while its database is being created (the
    file exists before its tables do)."""
    try:
        return sum(stored(db).values()) if db.exists() else 0
    except sqlite3.OperationalError:
        return 0


def test_a_batch_on_two_nodes_scores_every_call_once_like_the_local_batch(cluster, tmp_path):
    paths = write_transcripts(tmp_path / "in", 6)
    card = load_scorecard(CARD)
    with cluster.logs_on_failure():
        s = score_batch([tmp_path / "in"], card, tmp_path / "cluster.db", cluster=cluster.address)
    assert len(s.of("scored")) == 6 and not s.of("error"), s.to_json()["errors"]
    assert s.cluster == cluster.address and s.workers == 2
    assert len(s.worker_peak_rss_mb) == 2, "both nodes' actors should have scored calls"
    assert stored(tmp_path / "cluster.db") == {p.stem: 1 for p in paths}

    local = score_batch([tmp_path / "in"], card, tmp_path / "local.db")
    by_id = {c.call_id: (c.score, c.auto_failed) for c in local.of("scored")}
    assert {c.call_id: (c.score, c.auto_failed) for c in s.of("scored")} == by_id

    with cluster.logs_on_failure():
        again = score_batch([tmp_path / "in"], card, tmp_path / "cluster.db", cluster=cluster.address)
    assert len(again.of("skipped")) == 6 and not again.of("scored")


def _scorer_pids(cluster: Cluster) -> list[int]:
    """The scoring actors of this test's cluster (not another one's on the machine)."""
    out = subprocess.run(["pgrep", "-f", "ray::_Scorer"], capture_output=True, text=True).stdout
    mine = set(cluster.pids())
    return [int(p) for p in out.split() if int(p) in mine]


@pytest.mark.slow  # about a minute; the two-node batch test stays in the default suite
def test_a_killed_worker_call_is_sent_again_and_scored_once(cluster, tmp_path):
    paths = write_transcripts(tmp_path / "in", 8)
    killed: list[int] = []

    def kill_one_worker(progress) -> None:
        if not killed:  # after the first result: the actors hold calls now
            pids = _scorer_pids(cluster)
            assert pids, "no scoring actor process found"
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])

    s = score_batch(
        [tmp_path / "in"],
        load_scorecard(CARD),
        tmp_path / "qa.db",
        cluster=cluster.address,
        progress=kill_one_worker,
    )
    assert killed
    assert len(s.of("scored")) == 8 and not s.of("error"), s.to_json()["errors"]
    assert stored(tmp_path / "qa.db") == {p.stem: 1 for p in paths}


@pytest.mark.slow
def test_a_killed_driver_then_a_rerun_scores_every_call_exactly_once(cluster, tmp_path):
    paths = write_transcripts(tmp_path / "in", 10)
    db = tmp_path / "qa.db"
    cmd = [sys.executable, "-m", "callwright", "qa", "score", str(tmp_path / "in"), "--scorecard", str(CARD)]
    cmd += ["--db", str(db), "--cluster", cluster.address, "--json"]
    env = {**_env(), "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if stored_so_far(db) >= 2:
                break
            time.sleep(0.2)
        assert proc.poll() is None, "the batch ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    first = stored(db)
    assert 2 <= sum(first.values()) < 10 and set(first.values()) == {1}
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    summary = json.loads(r.stdout)
    assert summary["scored"] == 10 - len(first) and summary["skipped"] == len(first)
    assert stored(db) == {p.stem: 1 for p in paths}


def test_an_address_that_is_not_a_cluster_is_a_clear_error_at_once(tmp_path):
    write_transcripts(tmp_path / "in", 1)
    with pytest.raises(CallwrightError, match="ray://HOST:PORT"):
        score_batch([tmp_path / "in"], load_scorecard(CARD), tmp_path / "qa.db", cluster="localhost:6379")
    with pytest.raises(CallwrightError, match="cannot join the Ray cluster"):
        score_batch(
            [tmp_path / "in"],
            load_scorecard(CARD),
            tmp_path / "qa.db",
            cluster=f"ray://127.0.0.1:{_free_port()}",
        )


def _cli(tmp_path: Path, address: str) -> list[str]:
    cmd = [sys.executable, "-m", "callwright", "qa", "score", str(tmp_path / "in"), "--scorecard", str(CARD)]
    return cmd + ["--db", str(tmp_path / "qa.db"), "--cluster", address, "--json"]


def _no_library_noise(stderr: str) -> None:
    """What the user sees is ours: no thread traceback from gRPC ("Cannot monitor channel
    state: Channel closed!") and no "SIGTERM handler is not set" from the head's Ray client
    server on every run (they go to the debug log)."""
    assert "Traceback" not in stderr and "SIGTERM handler" not in stderr, stderr[-3000:]
    assert "WARNING dataclient" not in stderr and "Log channel is reconnecting" not in stderr, stderr[-3000:]


def test_a_driver_without_the_token_is_refused_at_once_with_a_hint(cluster, tmp_path):
    """The head logs "Authentication required but no authorization header provided"; Ray's
    client retried for half a minute a join and said "ray client connection timeout" (2 min 16 s
    with our 4 joins). The ping before joining hears the refusal at once."""
    write_transcripts(tmp_path / "in", 1)
    env = {k: v for k, v in _env().items() if k not in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")}
    start = time.monotonic()
    r = subprocess.run(_cli(tmp_path, cluster.address), env=env, capture_output=True, text=True, timeout=120)
    took = time.monotonic() - start
    assert r.returncode == 1 and "refused this driver" in r.stderr, r.stderr[-3000:]
    assert "RAY_AUTH_TOKEN" in r.stderr and "docs/qa.md, 'Score on a cluster'" in r.stderr
    assert r.stderr.count("error:") == 1 and "Traceback" not in r.stderr
    assert took < 30, f"{took:.0f} s to say the token is missing"
    assert not (tmp_path / "qa.db").exists() or not stored_so_far(tmp_path / "qa.db")


@pytest.mark.slow
def test_a_cluster_that_goes_away_stops_the_batch_and_a_rerun_resumes(tmp_path):
    """Through the CLI, as a user runs it: one clear error (no library noise before it), exit 1,
    and the same command run again scores the rest, quietly too."""
    paths = write_transcripts(tmp_path / "in", 12)
    db = tmp_path / "qa.db"
    c = Cluster(Path(f"/tmp/cwray-{os.getpid()}-b"))
    try:
        c.start()
        proc = subprocess.Popen(
            _cli(tmp_path, c.address), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline and proc.poll() is None and stored_so_far(db) < 2:
                time.sleep(0.1)
            assert proc.poll() is None, "the batch ended before its cluster could be stopped"
            c.stop()
            _, stderr = proc.communicate(timeout=300)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 1, stderr[-3000:]
        assert "went away" in stderr and "hint: the calls scored so far are stored; rerun" in stderr
        assert stderr.count("error:") == 1
        _no_library_noise(stderr)
        first = stored(db)
        assert first and set(first.values()) == {1} and sum(first.values()) < len(paths)

        c.start()
        r = subprocess.run(_cli(tmp_path, c.address), env=_env(), capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-3000:]
        _no_library_noise(r.stderr)
        summary = json.loads(r.stdout)
        assert summary["scored"] == len(paths) - len(first) and summary["errors"] == []
        assert stored(db) == {p.stem: 1 for p in paths}
    finally:
        c.remove()


def test_library_noise_goes_to_the_debug_log_and_ours_stays(monkeypatch, caplog, capfd):
    """Ray's client and gRPC print from their own threads; during a batch that goes to our
    logger at debug level, while our warnings and other threads' exceptions are left alone."""
    import threading

    import grpc
    import ray.util.client.logsclient  # noqa: F401 - its logger does not propagate, as in a batch

    from callwright.qa import cluster as cl

    others: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: others.append(args.exc_value))
    caplog.set_level(logging.DEBUG, logger=cl.__name__)
    with cl._libraries_quiet():
        channel = grpc.insecure_channel(f"127.0.0.1:{_free_port()}")
        channel.close()  # as the cluster going away closes Ray's channel under its watcher
        with contextlib.suppress(Exception):
            channel.subscribe(lambda state: None, try_to_connect=True)
        logging.getLogger("ray.util.client.logsclient").warning(
            "SIGTERM handler is not set because current thread is not the main thread."
        )
        logging.getLogger("ray.util.client.dataclient").warning("Encountered connection issues")
        cl.log.warning("a scoring worker is gone for good (1 left)")

        def ours() -> None:
            raise RuntimeError("not the library's")

        thread = threading.Thread(target=ours)
        thread.start()
        thread.join()
        time.sleep(0.5)  # gRPC's watcher thread fails on the closed channel
    err = capfd.readouterr().err
    assert "Traceback" not in err and "SIGTERM handler" not in err and "connection issues" not in err, err
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any("SIGTERM handler" in m for m in debug) and any("Channel closed" in m for m in debug), debug
    assert any(r.levelno == logging.WARNING and "gone for good" in r.getMessage() for r in caplog.records)
    assert [type(e) for e in others] == [RuntimeError]


class _FlakyRay:
    """Ray's module as `_connect` uses it, whose client server fails the first `fails` joins (as a
    busy head's did: "Starting Ray client server failed"); Ray cannot be made to fail so on cue."""

    def __init__(self, fails: int) -> None:
        self.fails, self.joins, self.up = fails, 0, False

    def is_initialized(self) -> bool:
        return self.up

    def shutdown(self) -> None:
        self.up = False

    def init(self, **kwargs) -> None:
        self.joins += 1
        if self.joins <= self.fails:
            raise ConnectionAbortedError(  # as Ray says it: the head's traceback in the message
                "Initialization failure from server:\nTraceback (most recent call last):\n"
                '  File "ray/util/client/server/proxier.py", line 772, in Datapath\n    raise RuntimeError(\n'
                "RuntimeError: Starting Ray client server failed. See ray_client_server_23000.err for "
                "detailed logs.\n"
            )
        self.up = True


@pytest.mark.parametrize("fails", [0, 1, 3])
def test_joining_is_tried_again_with_growing_waits(monkeypatch, fails):
    from callwright.qa import cluster as cl

    fake, waits = _FlakyRay(fails), []
    monkeypatch.setitem(sys.modules, "ray", fake)
    monkeypatch.setattr(cl, "_reachable", lambda address: None)
    monkeypatch.setattr(cl, "_ping", lambda address: None)
    monkeypatch.setattr(cl.time, "sleep", waits.append)
    assert cl._connect("ray://127.0.0.1:10001") is fake and fake.up
    assert fake.joins == fails + 1
    assert waits == [cl.JOIN_BACKOFF_S * 2**k for k in range(fails)]


def test_a_cluster_that_cannot_be_joined_is_a_clear_error_after_the_attempts(monkeypatch):
    from callwright.qa import cluster as cl

    fake = _FlakyRay(cl.JOIN_ATTEMPTS)
    monkeypatch.setitem(sys.modules, "ray", fake)
    monkeypatch.setattr(cl, "_reachable", lambda address: None)
    monkeypatch.setattr(cl, "_ping", lambda address: None)
    monkeypatch.setattr(cl.time, "sleep", lambda s: None)
    with pytest.raises(
        CallwrightError, match=f"cannot join the Ray cluster \\({cl.JOIN_ATTEMPTS} attempts\\)"
    ) as err:
        cl._connect("ray://127.0.0.1:10001")
    assert "ray_client_server" in (err.value.hint or "")
    assert "Starting Ray client server failed" in err.value.message and "Traceback" not in err.value.message
    assert fake.joins == cl.JOIN_ATTEMPTS

    # a driver set up without the token (the docs' cluster takes only drivers with it) is told so
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    fake.joins = 0
    with pytest.raises(CallwrightError, match="cannot join") as err:
        cl._connect("ray://127.0.0.1:10001")
    hint = err.value.hint or ""
    assert "RAY_AUTH_MODE=token RAY_AUTH_TOKEN=" in hint and cl.DOCS in hint and "ray_client_server" in hint
