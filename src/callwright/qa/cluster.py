"""Score a batch's calls on a Ray cluster, with the guarantees of the local batch.

`qa.batch.score_batch(..., cluster=ADDRESS)` plans the batch as always (what is already
stored is skipped, bad inputs are recorded) and hands the jobs here instead of to local
worker processes. Each cluster CPU (or `threads` of them) gets one scoring actor that loads
the models once, like a local worker; the driver, this process, stays the only writer: it
stores each call in one transaction as its result arrives. So:

- idempotent per recording and scorecard version (the plan skips what is stored);
- a worker that dies (killed, out of memory, its node lost) fails only the calls it held:
  each is sent again, to another actor, up to `MAX_ATTEMPTS` times, then recorded as an error
  that a rerun retries;
- kill -9 of the driver loses nothing stored; a rerun scores exactly the missing calls;
- a cluster that goes away mid-batch stops the batch with a clear `CallwrightError`; the
  calls stored until then are kept and a rerun resumes.

Why Ray and not Dask: a scoring worker is a stateful thing (a recogniser and an encoder loaded
once, hundreds of MB), which is what Ray's actors are; Dask's workers are made for stateless
tasks over data frames, and keeping a model loaded per worker there takes `Worker` plugins and
global state. Ray also restarts a dead actor and tells the driver which call it lost.

The cluster's nodes must run the same Callwright version and see the input files at the same
paths (a shared file system), as docs/qa.md says; the database stays on the driver.

Before joining, one ping to the head's client server (`PING_TIMEOUT_S`) tells a cluster that
refuses this driver's token apart from one that is slow (Ray's own join would retry for half a
minute and then say only "connection timeout"). While the batch runs, Ray's and gRPC's own log
lines and their threads' tracebacks (a closed channel's, when the cluster goes away) go to this
module's logger at debug level: the user sees our messages, not the libraries' noise.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from callwright.errors import CallwrightError

if TYPE_CHECKING:
    from callwright.qa.batch import CallStatus, _Done, _Job
    from callwright.qa.pipeline import PipelineOptions
    from callwright.qa.scorecard import Scorecard

log = logging.getLogger(__name__)

AUTO = "auto"  # start a local cluster on this machine
MAX_ATTEMPTS = 3  # a call whose worker died this many times is recorded as an error
CONNECT_TIMEOUT_S = 5.0
PING_TIMEOUT_S = 10.0  # the head's client server answers a ping at once when it can
DOCS = "docs/qa.md, 'Score on a cluster'"
# A head's client server starts a server process per driver, and that process can fail to start
# just after the head starts or while the head's machine is busy: try again, waiting 2, 4, 8 s.
JOIN_ATTEMPTS = 4
JOIN_BACKOFF_S = 2.0
WAIT_S = 600.0  # no result from any worker for this long: the cluster is taken to be gone
# Environment each scoring worker gets: offline models, one thread per library per actor.
_WORKER_ENV = ("HF_HUB_OFFLINE", "CALLWRIGHT_MODELS_DIR", "VOSK_MODEL_PATH", "CT2_FORCE_CPU_ISA")


@dataclass(frozen=True)
class ClusterInfo:
    """What the batch ran on: shown in the summary."""

    address: str
    nodes: int
    cpus: int
    actors: int


def check_address(address: str) -> str:
    """`auto`, or `ray://HOST:PORT` (a Ray client server, port 10001 by default on a head node)."""
    if address == AUTO:
        return address
    if not address.startswith("ray://") or ":" not in address[len("ray://") :]:
        raise CallwrightError(
            f"--cluster {address!r}: expected ray://HOST:PORT (the head node's Ray client port) or 'auto'"
        )
    return address


def _connect(address: str) -> Any:
    """Import Ray and join the cluster (or start a local one); a clear error when it cannot."""
    try:
        import ray
    except ImportError:
        raise CallwrightError(
            "--cluster needs Ray: pip install 'callwright[cluster]'", hint="or score without --cluster"
        ) from None
    if address != AUTO:
        _reachable(address)
        _ping(address)
    env = {k: os.environ[k] for k in _WORKER_ENV if k in os.environ}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    kwargs: dict[str, Any] = {
        "runtime_env": {"env_vars": env},
        "log_to_driver": False,
        "logging_level": logging.WARNING,
    }
    for attempt in range(1, JOIN_ATTEMPTS + 1):
        if ray.is_initialized():
            ray.shutdown()
        try:
            if address == AUTO:
                ray.init(include_dashboard=False, **kwargs)
            else:
                ray.init(address=address, **kwargs)
            return ray
        except Exception as err:  # noqa: BLE001 - Ray raises ConnectionError, RuntimeError, grpc errors...
            why = _brief(err, 400)
            if attempt == JOIN_ATTEMPTS:
                hint = (
                    "the head node's logs say why: ray_client_server*.err in its session's logs folder "
                    "(/tmp/ray/session_latest/logs by default)"
                )
                missing = _token_missing()
                if address != AUTO and missing:
                    hint = f"{missing}: {_TOKEN_HINT}; else {hint}"
                raise CallwrightError(
                    f"--cluster {address}: cannot join the Ray cluster ({JOIN_ATTEMPTS} attempts): {why}",
                    hint=hint,
                ) from None
            wait_s = JOIN_BACKOFF_S * 2 ** (attempt - 1)
            log.warning(
                "--cluster %s: joining failed (%s); trying again in %.0f s", address, _brief(err), wait_s
            )
            time.sleep(wait_s)
    raise AssertionError("unreachable")


def _brief(err: BaseException, limit: int = 200) -> str:
    """One line of a Ray error for the user: Ray puts the head's whole traceback in some messages
    ("Initialization failure from server:\nTraceback ..."), whose last line says what failed."""
    text = str(err)
    if "Traceback (most recent call last)" in text:
        first = text.split("\n", 1)[0].strip()
        last = next((ln.strip() for ln in reversed(text.splitlines()) if ln.strip() not in ("", ")")), "")
        text = f"{first} {last}" if first and not first.startswith("Traceback") else last
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _reachable(address: str) -> None:
    """Fail at once when nothing listens there (Ray's client would retry for half a minute)."""
    host, _, port = address[len("ray://") :].rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except (OSError, ValueError) as err:
        raise CallwrightError(
            f"--cluster {address}: cannot join the Ray cluster: nothing answers there ({err})",
            hint="start the head with `ray start --head --ray-client-server-port=PORT`; or --cluster auto",
        ) from None


_TOKEN_HINT = (
    "a cluster started with token authentication, as in " + DOCS + ", takes only drivers with its "
    "token: export RAY_AUTH_MODE=token RAY_AUTH_TOKEN=<the token its nodes were started with> "
    "on this machine too"
)


def _token_missing() -> str:
    """Why this driver would send no token to a cluster that wants one ('' when it sends one):
    Ray sends one only when RAY_AUTH_MODE=token, read from RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH
    or ~/.ray/auth_token."""
    if os.environ.get("RAY_AUTH_MODE", "").lower() != "token":
        if os.environ.get("RAY_AUTH_TOKEN"):
            return "RAY_AUTH_TOKEN is set here but RAY_AUTH_MODE=token is not, so this driver sends no token"
        return "RAY_AUTH_MODE=token and RAY_AUTH_TOKEN are not set here, so this driver sends no token"
    if not (
        os.environ.get("RAY_AUTH_TOKEN")
        or os.environ.get("RAY_AUTH_TOKEN_PATH")
        or os.path.isfile(os.path.expanduser("~/.ray/auth_token"))
    ):
        return "RAY_AUTH_TOKEN not set here (nor RAY_AUTH_TOKEN_PATH, nor ~/.ray/auth_token)"
    return ""


def _token_source() -> str:
    """Where Ray takes this driver's token from (its order: the variable, the file, the default)."""
    if os.environ.get("RAY_AUTH_TOKEN"):
        return "RAY_AUTH_TOKEN"
    if os.environ.get("RAY_AUTH_TOKEN_PATH"):
        return f"RAY_AUTH_TOKEN_PATH, {os.environ['RAY_AUTH_TOKEN_PATH']}"
    return "~/.ray/auth_token"


def _ping(address: str) -> None:
    """Ping the head's client server as Ray's client first does, waiting `PING_TIMEOUT_S` at most.

    A cluster with token authentication refuses a driver without its token at once
    (UNAUTHENTICATED), where Ray's join retries for half a minute and says only "ray client
    connection timeout" (the reason is in the head's log); a port that is not a Ray client server
    (the GCS port) answers UNIMPLEMENTED. Both are errors here; anything else is left to the join,
    which retries and says what it can."""
    try:
        import grpc  # type: ignore[import-untyped]
        from ray._private.grpc_utils import init_grpc_channel
        from ray.core.generated import ray_client_pb2 as pb2
        from ray.core.generated import ray_client_pb2_grpc as pb2_grpc

        channel = init_grpc_channel(address[len("ray://") :], options=[("grpc.enable_http_proxy", 0)])
    except Exception:  # noqa: BLE001 - another Ray version: its join says what is wrong
        log.debug("no ping before joining: Ray's client modules differ", exc_info=True)
        return
    try:
        messages: Any = pb2  # generated code, which mypy cannot see into
        ping = messages.ClusterInfoRequest(type=messages.ClusterInfoType.PING)
        pb2_grpc.RayletDriverStub(channel).ClusterInfo(
            ping, timeout=PING_TIMEOUT_S, wait_for_ready=True, metadata=[("client_id", uuid.uuid4().hex)]
        )
    except grpc.RpcError as err:
        code = err.code()
        if code == grpc.StatusCode.UNAUTHENTICATED:
            why = (
                _token_missing()
                or f"the token this driver sent (from {_token_source()}) is not the cluster's"
            )
            raise CallwrightError(
                f"--cluster {address}: the cluster refused this driver: it requires its token, and {why}",
                hint=_TOKEN_HINT,
            ) from None
        if code == grpc.StatusCode.UNIMPLEMENTED:
            raise CallwrightError(
                f"--cluster {address}: that port is not a Ray client server (is it the GCS --port?)",
                hint="give the head's --ray-client-server-port (10001 by default): --cluster ray://HEAD:10001",
            ) from None
        log.debug("ping %s: %s %s; joining anyway", address, code, err.details())
    except Exception:  # noqa: BLE001 - the join that follows retries and says what fails
        log.debug("ping %s failed; joining anyway", address, exc_info=True)
    finally:
        channel.close()


class _ToDebug(logging.Handler):
    """A library's log record, passed on to this module's logger at debug level."""

    def emit(self, record: logging.LogRecord) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s: %s", record.name, record.getMessage(), exc_info=record.exc_info)


# Ray's loggers (its own handler, not propagated; the client's log stream from the head's server,
# which printed the server's "SIGTERM handler is not set" on every run) and gRPC's.
_NOISY_LOGGERS = ("ray", "ray.util.client.logsclient", "grpc")
_LIBRARY_DIRS: tuple[str, ...] = ()


def _library_thread_failed(args: threading.ExceptHookArgs) -> bool:
    """Whether a thread's exception was raised in Ray's or gRPC's code (their client's threads:
    a closed channel's "Cannot monitor channel state" when the cluster goes away)."""
    tb = args.exc_traceback
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.startswith(_LIBRARY_DIRS):
            return True
        tb = tb.tb_next
    return False


def _thread_hook(
    previous: Callable[[threading.ExceptHookArgs], Any],
) -> Callable[[threading.ExceptHookArgs], Any]:
    def hook(args: threading.ExceptHookArgs) -> None:
        if _library_thread_failed(args):
            name = args.thread.name if args.thread is not None else "?"
            log.debug("thread %s failed: %r", name, args.exc_value, exc_info=args.exc_value)
        else:
            previous(args)

    hook.callwright_quiet = True  # type: ignore[attr-defined]
    return hook


@contextlib.contextmanager
def _libraries_quiet() -> Iterator[None]:
    """Ray's and gRPC's log lines, warnings and thread tracebacks go to our logger at debug level
    while the batch runs; ours (`log`, the CallwrightError at the end) are untouched. The thread
    hook stays after (Ray's client threads can fail as they wind down, after `ray.shutdown`)."""
    global _LIBRARY_DIRS
    dirs = []
    for name in ("ray", "grpc"):
        try:
            module = __import__(name)
        except ImportError:  # no Ray: `_connect` says how to install it
            continue
        where = getattr(module, "__file__", None)
        if where:
            dirs.append(os.path.dirname(where) + os.sep)
    _LIBRARY_DIRS = tuple(dirs)
    if not getattr(threading.excepthook, "callwright_quiet", False):
        threading.excepthook = _thread_hook(threading.excepthook)
    saved = []
    for name in _NOISY_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.handlers[:], logger.propagate))
        logger.handlers[:] = [_ToDebug()]
        logger.propagate = False
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Ray Client connection timed out")
            yield
    finally:
        for logger, handlers, propagate in saved:
            logger.handlers[:] = handlers
            logger.propagate = propagate


def run_on_cluster(
    address: str,
    jobs: Sequence[_Job],
    cards: Sequence[Scorecard],
    options: PipelineOptions,
    threads: int,
    store_done: Callable[[_Done], None],
    settle: Callable[[CallStatus], None],
) -> ClusterInfo:
    """Score `jobs` on the cluster at `address`; each result goes to `store_done` as it arrives.

    Raises CallwrightError when the cluster cannot be joined or goes away mid-batch (what was
    stored is kept), and whatever `store_done` raises (the database cannot take more).
    """
    address = check_address(address)
    with _libraries_quiet():
        ray = _connect(address)
        try:
            return _run(ray, address, jobs, cards, options, max(1, threads), store_done, settle)
        finally:
            try:
                ray.shutdown()
            except Exception:  # noqa: BLE001 - a cluster already gone cannot be left more cleanly
                log.debug("ray.shutdown failed", exc_info=True)


def _run(
    ray: Any,
    address: str,
    jobs: Sequence[_Job],
    cards: Sequence[Scorecard],
    options: PipelineOptions,
    threads: int,
    store_done: Callable[[_Done], None],
    settle: Callable[[CallStatus], None],
) -> ClusterInfo:
    from callwright.qa.batch import CallStatus

    try:
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        cpus = int(ray.cluster_resources().get("CPU", 1))
    except Exception as err:  # noqa: BLE001
        raise _gone(address, 0, len(jobs), err) from None
    actors_n = max(1, min(len(jobs), cpus // threads))
    scorer = ray.remote(num_cpus=threads, max_restarts=MAX_ATTEMPTS, max_task_retries=0)(_Scorer)
    actors = [scorer.remote(list(cards), options, threads) for _ in range(actors_n)]
    info = ClusterInfo(address, len(nodes), cpus, actors_n)
    log.info("cluster %s: %d node(s), %d CPU(s), %d scoring actor(s)", address, len(nodes), cpus, actors_n)

    todo = list(reversed(jobs))  # popped from the end: jobs go out in plan order
    attempts: dict[str, int] = {}
    running: dict[Any, tuple[Any, _Job | None]] = {}  # object ref -> (actor, its call; None: a probe)
    idle = list(actors)
    alive = len(actors)
    done_n = 0

    def submit() -> None:
        while idle and todo:
            actor, job = idle.pop(), todo.pop()
            attempts[job.recording_id] = attempts.get(job.recording_id, 0) + 1
            running[actor.run.remote(job)] = (actor, job)

    submit()
    while running:
        try:
            ready, _ = ray.wait(list(running), num_returns=1, timeout=WAIT_S)
        except Exception as err:  # noqa: BLE001 - the connection to the cluster is lost
            raise _gone(address, done_n, len(jobs), err) from None
        if not ready:
            raise _gone(address, done_n, len(jobs), TimeoutError(f"no result for {WAIT_S:.0f} s"))
        ref = ready[0]
        actor, job = running.pop(ref)
        try:
            done = ray.get(ref)
        except ray.exceptions.RayActorError as err:  # the worker died (holding this call)
            if job is None:  # its probe failed: Ray could not restart it
                alive -= 1
                log.warning("a scoring worker is gone for good (%d left)", alive)
                if alive == 0:
                    lost = RuntimeError("every scoring worker died")
                    raise _gone(address, done_n, len(jobs), lost) from None
            else:
                if attempts[job.recording_id] < MAX_ATTEMPTS:
                    log.warning("%s: its worker died (%s); sending it again", job.path, type(err).__name__)
                    todo.append(job)
                else:
                    reason = f"its worker died {MAX_ATTEMPTS} times while scoring it (rerun to retry)"
                    settle(CallStatus(job.path, "error", job.recording_id, job.meta.call_id, reason=reason))
                    done_n += 1
                # Ray restarts it (max_restarts); it gets calls again once a probe says it is back
                running[actor.ready.remote()] = (actor, None)
            submit()
            continue
        except Exception as err:  # noqa: BLE001 - the cluster, not the call, failed
            raise _gone(address, done_n, len(jobs), err) from None
        idle.append(actor)
        submit()
        if job is not None:
            store_done(done)
            done_n += 1
    return info


def _gone(address: str, done: int, total: int, err: BaseException) -> CallwrightError:
    return CallwrightError(
        f"--cluster {address}: the cluster went away after {done} of {total} call(s) "
        f"({type(err).__name__}: {_brief(err)})",
        hint="the calls scored so far are stored; rerun the same command to score the rest",
    )


class _Scorer:
    """One scoring worker on the cluster: the batch worker's state, loaded once per actor."""

    def __init__(self, cards: list[Scorecard], options: PipelineOptions, threads: int) -> None:
        from callwright.qa import batch

        batch._init_worker(cards, options, threads)

    def ready(self) -> bool:
        """Answers once the actor is up (after a restart, its models loaded again)."""
        return True

    def run(self, job: _Job) -> _Done:
        from callwright.qa import batch

        return batch._run(job)
