"""Score many calls with N worker processes, idempotent and resumable.

Workers only compute: each runs the pipeline (models loaded once per worker,
torch and the recogniser on one thread each, so N workers use N cores) and
sends the `ScoredCall` back. The parent is the only writer: it stores each call
in one transaction (through a `qa.sink.ScoreSink`: `store.qa_batch`) as soon as it arrives. So a
batch killed with kill -9 at any moment leaves every call either fully stored
or absent, and a rerun skips those whose (recording id, scorecard version) is
stored: exactly the missing ones are scored and nothing is duplicated.

A bad input (empty, truncated, not audio, wrong sidecar, a call id another
input already has) becomes a row in `qa_errors` with its reason, and the batch
goes on. What stops a batch is what would lose calls: a database that cannot
be written (a full disk) or that was deleted or replaced while the batch ran.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import resource
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from callwright.errors import CallwrightError
from callwright.qa import ingest
from callwright.qa.model import CallMeta, Transcript
from callwright.qa.pipeline import (
    CallOutcome,
    PipelineOptions,
    get_engines,
    imported_transcript,
    prepare_for_scoring,
    score_path,
)
from callwright.qa.scorecard import Scorecard
from callwright.qa.scorecard.assignment import check_scorecards, choose_scorecard, reads_language
from callwright.qa.second_listen import SecondListenSettings
from callwright.qa.sink import CallIdConflict, ScoreSink
from callwright.redaction import TimeRange

if TYPE_CHECKING:
    from callwright.qa.scorecard.matching import CallText

log = logging.getLogger(__name__)

Status = Literal["scored", "skipped", "error"]


@dataclass(frozen=True)
class CallStatus:
    """What happened to one input."""

    path: str
    status: Status
    recording_id: str | None = None
    call_id: str | None = None
    score: float | None = None
    auto_failed: bool | None = None
    reason: str | None = None  # why it was skipped or failed
    scorecard: str | None = None  # the scorecard chosen for it
    note: str | None = None  # how it was scored, to know (e.g. a scorecard chosen by a detected language)
    audio_s: float = 0.0
    seconds: float = 0.0  # compute time in the worker


@dataclass(frozen=True)
class Progress:
    """Sent to the progress callback after each input is settled."""

    done: int
    total: int
    last: CallStatus


@dataclass
class BatchSummary:
    scorecard: str  # the ids of the batch's scorecards, comma separated
    scorecard_version: str
    calls: list[CallStatus] = field(default_factory=list)
    wall_s: float = 0.0
    workers: int = 1
    worker_peak_rss_mb: dict[int, float] = field(default_factory=dict)
    workers_preloaded: int = 0  # worker processes that started with the model libraries imported
    cluster: str | None = None  # the Ray cluster's address, when the batch ran on one

    def of(self, status: Status) -> list[CallStatus]:
        return [c for c in self.calls if c.status == status]

    @property
    def audio_s(self) -> float:
        return sum(c.audio_s for c in self.of("scored"))

    def to_json(self) -> dict[str, Any]:
        return {
            "scorecard": self.scorecard,
            "scorecard_version": self.scorecard_version,
            "scored": len(self.of("scored")),
            "skipped": len(self.of("skipped")),
            "errors": [{"path": c.path, "reason": c.reason} for c in self.of("error")],
            "calls": [asdict(c) for c in self.calls],
            "audio_s": round(self.audio_s, 3),
            "wall_s": round(self.wall_s, 3),
            "workers": self.workers,
            "worker_peak_rss_mb": {str(k): v for k, v in self.worker_peak_rss_mb.items()},
            "workers_preloaded": self.workers_preloaded,
            "cluster": self.cluster,
        }


@dataclass(frozen=True)
class _Job:
    path: str
    recording_id: str
    meta: CallMeta
    scorecard: str  # id of the scorecard chosen for it ("" while `choices` are left to the worker)
    scorecard_version: str
    # versions of the batch's scorecards to choose among once the recording's language is heard
    # (`choose_by_language`): a recording told no language, given scorecards whose assign_if reads it
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Done:
    job: _Job
    outcome: CallOutcome | None
    error: str | None
    pid: int
    peak_rss_mb: float
    preloaded: bool = False  # the worker was forked with the model libraries already imported


# -- worker side -----------------------------------------------------------------------------------

_worker_state: dict[str, Any] = {}
Imported = tuple[Transcript, list[TimeRange]]  # an imported transcript read and redacted
GROUP_CALLS = 8
"""At most this many imported transcripts are embedded together (`_run_group`): a call's stretches
are a few hundred texts, so a group stays well inside the matcher's vector cache (`DEFAULT_CACHE`)."""
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
PREPARED_ONCE = True
"""A group's calls are scored from the `CallText` prepared to warm the matcher (False: `score`
prepares each again, as before; the reference bench/qa_real/speed.py compares with)."""


def _init_worker(cards: Sequence[Scorecard], options: PipelineOptions, threads: int) -> None:
    """Once per worker process: one thread per library, and the process's `Engines`, whose models
    load on the first call that needs them (a batch of imported transcripts never loads the recogniser)."""
    preloaded = "torch" in sys.modules  # forked from the batch's preloaded server (`_run_pool`)
    for var in _THREAD_VARS:
        os.environ[var] = str(threads)
    import torch

    torch.set_num_threads(threads)
    _worker_state.update(
        cards={c.version: c for c in cards},
        options=options,
        engines=get_engines(options.engine, threads),
        preloaded=preloaded,
    )


def _run_group(jobs: Sequence[_Job]) -> list[_Done]:
    """Score a group of inputs: the imported transcripts among them are read first and what their
    scorecards' phrase rules will embed goes to the encoder in one call (`PhraseMatcher.warm`),
    then each input is scored on its own as `_run` does (the same verdicts and evidence: the
    vectors are the same up to float rounding, within 1e-6, from fewer and fuller forward passes:
    `tests/qa_pipeline/test_qa_batch_groups.py`, bench/qa_real/speed.py). A transcript that cannot be read
    here is read again, and its error reported, when it is scored."""
    options, engines = _worker_state["options"], _worker_state["engines"]
    read: dict[str, Imported] = {}
    calls: dict[str, CallText] = {}
    for job in jobs:
        if len(jobs) < 2 or not ingest.is_transcript(Path(job.path)):
            continue
        try:
            read[job.path] = imported_transcript(Path(job.path), job.meta, options)
        except Exception:  # noqa: BLE001 - `_run` reads it again and says why
            continue
        card = _worker_state["cards"][job.scorecard_version]
        calls[job.path] = prepare_for_scoring(card, read[job.path][0], job.meta, engines.matcher)
    if len(calls) > 1:
        engines.matcher.warm(list(calls.values()))
        engines.sentiment.warm([u.text for transcript, _ in read.values() for u in transcript.utterances])
    return [_run(job, read.get(job.path), calls.get(job.path) if PREPARED_ONCE else None) for job in jobs]


def groups(jobs: Sequence[_Job], workers: int, size: int | None = None) -> list[list[_Job]]:
    """The jobs in the groups a worker scores together (`_run_group`): imported transcripts in
    groups of at most `size`, small enough that every worker gets about two (a batch's last
    group does not leave the other workers idle); each recording alone (its ASR dwarfs the
    encoder's fixed cost). `size`: at most this many a group (`GROUP_CALLS`)."""
    transcript = [ingest.is_transcript(Path(j.path)) for j in jobs]
    n = max(1, min(size or GROUP_CALLS, math.ceil(sum(transcript) / (2 * max(1, workers)))))
    out: list[list[_Job]] = []
    current: list[_Job] = []  # filled in place: the groups keep the jobs' order
    for job, is_transcript in zip(jobs, transcript, strict=True):
        if not is_transcript:
            out.append([job])
            continue
        if not current:
            out.append(current)
        current.append(job)
        if len(current) == n:
            current = []
    return out


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def _run(job: _Job, imported: Imported | None = None, prepared: CallText | None = None) -> _Done:
    """Score one input; a user-level problem with the input is returned as its reason.
    `imported`: the input's `imported_transcript`, read already by `_run_group`, and `prepared`
    its `prepare_for_scoring` (scoring does not prepare it again)."""
    options, engines = _worker_state["options"], _worker_state["engines"]
    cards = _worker_state["cards"]
    card = [cards[v] for v in job.choices] if job.choices else cards[job.scorecard_version]
    try:
        outcome = score_path(
            job.path, card, engines, meta=job.meta, options=options, imported=imported, prepared=prepared
        )
        error = None
    except CallwrightError as err:
        outcome, error = None, str(err)
    except RecursionError:
        outcome, error = None, f"{job.path}: too deeply nested to read"
    except OSError as err:  # e.g. no space left for the redacted audio copy
        where = err.filename if err.filename else job.path
        outcome, error = None, f"{where}: cannot read or write ({err.strerror or err})"
    except Exception as err:  # a bug, but one call must not stop the batch
        log.exception("%s: unexpected error", job.path)
        outcome, error = None, _redacted(f"internal error: {type(err).__name__}: {err}")
    return _Done(job, outcome, error, os.getpid(), _peak_rss_mb(), _worker_state.get("preloaded", False))


def _redacted(text: str) -> str:
    """An exception's text may quote input values (a card number in a bad field): redact it."""
    from callwright.redaction import redact_text

    return redact_text(text).text


# -- parent side -----------------------------------------------------------------------------------


def score_batch(
    paths: Iterable[str | os.PathLike[str]],
    scorecards: Scorecard | Sequence[Scorecard],
    open_sink: Callable[[], ScoreSink],
    *,
    workers: int = 1,
    engine: str = "auto",
    manifest: str | os.PathLike[str] | None = None,
    redact_audio_dir: str | os.PathLike[str] | None = None,
    progress: Callable[[Progress], None] | None = None,
    threads_per_worker: int = 1,
    second_listen: bool = True,
    cluster: str | None = None,
    language: str | None = None,
) -> BatchSummary:
    """Score every recording and transcript under `paths` into the store `open_sink()` opens.

    The sink is opened once the inputs are found (a missing path creates no database);
    `callwright.store.qa_batch.score_batch` is this over a database path.

    With several `scorecards` (at most one per direction), each call is scored
    with the one for its direction, else the one for any call
    (`scorecard.assignment`); a call none fits is recorded as an error.

    `workers` <= 1 scores in this process (models stay loaded for the next
    batch); more starts that many spawned worker processes, which import the
    caller's main module: a script must call this under
    `if __name__ == "__main__":` (otherwise every call ends as "worker process died").
    `second_listen` False scores the first reading only (about twice the throughput;
    `qa.second_listen`). `cluster` (`ray://HOST:PORT` or `auto`) scores on a Ray cluster
    instead of local workers, with the same guarantees (`qa.cluster`); `workers` is then ignored.
    `language` (`--language`) is what every recording is spoken in, over each call's metadata
    (`qa.language`; the caller checks it against the model first).

    Raises DataError for a missing path or a bad manifest (before anything is
    scored); a bad input file is recorded and reported in the summary instead,
    and an entry that is not a regular file (a link loop, a dangling link, a
    pipe) is reported as skipped with its reason. Raises CallwrightError,
    stopping the batch, when the database cannot be written (a full disk) or was
    deleted or replaced while it ran; the calls stored until then are kept.
    """
    t0 = time.perf_counter()
    cards = check_scorecards([scorecards] if isinstance(scorecards, Scorecard) else list(scorecards))
    mf = ingest.Manifest.load(manifest) if manifest is not None else None
    found = ingest.find_inputs(paths, exclude=[manifest] if manifest is not None else [])
    inputs = found.found
    options = PipelineOptions(
        engine=engine,
        redact_audio_dir=Path(redact_audio_dir) if redact_audio_dir else None,
        second_listen=SecondListenSettings() if second_listen else None,
        language=language,
    )
    sink = open_sink()
    summary = BatchSummary(
        ", ".join(c.id for c in cards), ", ".join(c.version for c in cards), workers=max(1, workers)
    )
    total = len(inputs) + len(found.skipped)

    def settle(status: CallStatus) -> None:
        summary.calls.append(status)
        if progress is not None:
            progress(Progress(len(summary.calls), total, status))

    for path, why in found.skipped:
        log.warning("%s: skipped: %s", path, why)
        settle(CallStatus(str(path), "skipped", reason=why))
    if cluster is None and workers > 1 and inputs:
        _worker_context(threads_per_worker)  # the worker server imports while the inputs are planned
    jobs = _plan(sink, inputs, cards, mf, settle, language)
    log.info("%d input(s): %d to score, %d settled already", total, len(jobs), len(summary.calls))

    preloaded: set[int] = set()

    def store_done(done: _Done) -> None:
        if done.preloaded:
            preloaded.add(done.pid)
            summary.workers_preloaded = len(preloaded)
        summary.worker_peak_rss_mb[done.pid] = max(
            done.peak_rss_mb, summary.worker_peak_rss_mb.get(done.pid, 0.0)
        )
        sink.check()
        settle(_store(sink, done))

    if cluster is not None:
        from callwright.qa.cluster import check_address

        summary.cluster = check_address(cluster)
    if jobs:
        if cluster is not None:
            from callwright.qa.cluster import run_on_cluster

            info = run_on_cluster(cluster, jobs, cards, options, threads_per_worker, store_done, settle)
            summary.workers = info.actors
        elif workers <= 1:
            _init_in_process(cards, options, threads_per_worker)
            for group in groups(jobs, 1):
                for done in _run_group(group):
                    store_done(done)
        else:
            _run_pool(jobs, cards, options, workers, threads_per_worker, store_done, settle)
    sink.check()
    summary.wall_s = time.perf_counter() - t0
    return summary


def _init_in_process(cards: Sequence[Scorecard], options: PipelineOptions, threads: int) -> None:
    _worker_state.update(
        cards={c.version: c for c in cards},
        options=options,
        engines=get_engines(options.engine, 0),
        preloaded=False,
    )


def _plan(
    sink: ScoreSink,
    inputs: Sequence[Path],
    cards: Sequence[Scorecard],
    mf: ingest.Manifest | None,
    settle: Callable[[CallStatus], None],
    language: str | None = None,
) -> list[_Job]:
    """The inputs still to score; the others are settled now (already stored, duplicate, bad).
    `language` (--language) is every call's language, over its metadata's, from the choice of its
    scorecard on (`assign_if: language == 'es'`).

    A call id names one call: an input whose call id an earlier input of the batch has, or that
    belongs to another input or an IVR call in the store (`ScoreSink.call_id_conflict`), is an
    error naming both, never stored over the other (docs/qa.md).
    """
    jobs: list[_Job] = []
    seen: dict[str, str] = {}
    claimed: dict[str, str] = {}  # call id -> the input of this batch that has it
    by_language = reads_language(cards)
    for p in inputs:
        sink.check()
        try:
            rid = ingest.recording_id(p)
        except CallwrightError as err:
            _error(sink, settle, str(p), _path_key(p), str(err))
            continue
        if rid in seen:
            settle(CallStatus(str(p), "skipped", rid, reason=f"same recording as {seen[rid]}"))
            continue
        seen[rid] = str(p)
        try:
            meta = ingest.resolve_meta(p, manifest=mf)
            if language is not None:
                meta = replace(meta, language=language)
            # A recording told no language, given scorecards whose assign_if reads it: its worker
            # chooses once it has heard the language (`choose_by_language`), before transcribing.
            deferred = by_language and meta.language is None and not ingest.is_transcript(p)
            card = None if deferred else choose_scorecard(cards, meta)
        except CallwrightError as err:
            _error(sink, settle, str(p), rid, str(err))
            continue
        # Deferred and scored with any of them: it would be heard, so chosen, the same way again.
        done = next((c for c in ([card] if card else cards) if sink.is_scored(rid, c.version)), None)
        if done is not None:
            claimed.setdefault(meta.call_id, str(p))
            settle(
                CallStatus(
                    str(p),
                    "skipped",
                    rid,
                    meta.call_id,
                    reason="already scored with this scorecard version",
                    scorecard=done.id,
                )
            )
            continue
        source = "transcript" if ingest.is_transcript(p) else "recording"
        if meta.call_id in claimed:
            conflict: str | None = (
                f"call id '{meta.call_id}' is also the call id of "
                f"{claimed[meta.call_id]}; each call needs its own call id"
            )
        else:
            conflict = sink.call_id_conflict(meta.call_id, rid, str(p), source)
        if conflict is not None:
            chosen = card.id if card else None
            _error(sink, settle, str(p), rid, f"{p}: {conflict}", scorecard=chosen, call_id=meta.call_id)
            continue
        claimed[meta.call_id] = str(p)
        if card is None:
            jobs.append(_Job(str(p), rid, meta, "", "", choices=tuple(c.version for c in cards)))
        else:
            jobs.append(_Job(str(p), rid, meta, card.id, card.version))
    return jobs


def _path_key(p: Path) -> str:
    """An error key for a file that cannot even be read (no content hash)."""
    return f"path:{p.resolve()}"


def _error(
    sink: ScoreSink,
    settle: Callable[[CallStatus], None],
    path: str,
    rid: str,
    reason: str,
    scorecard: str | None = None,
    call_id: str | None = None,
) -> None:
    log.warning("%s: %s", path, reason)
    sink.record_error(rid, path, reason)
    settle(CallStatus(path, "error", rid, call_id, reason=reason, scorecard=scorecard))


def _failed(job: _Job, reason: str) -> CallStatus:
    """The status of a job that gave no outcome (an empty scorecard: its choice was left to the worker)."""
    return CallStatus(
        job.path, "error", job.recording_id, job.meta.call_id, reason=reason, scorecard=job.scorecard or None
    )


def _store(sink: ScoreSink, done: _Done) -> CallStatus:
    job = done.job
    if done.outcome is None:
        reason = done.error or "unknown error"
        log.warning("%s: %s", job.path, reason)
        sink.record_error(job.recording_id, job.path, reason)
        return _failed(job, reason)
    o = done.outcome
    r = o.scored.result
    card = r.scorecard  # the job's, or the one its worker chose among `job.choices`
    note = "; ".join(o.notes) or None
    try:
        saved = sink.save(o.scored)
    except CallIdConflict as err:  # another batch stored a call with this id meanwhile
        sink.record_error(job.recording_id, job.path, str(err.message))
        return CallStatus(
            job.path, "error", job.recording_id, job.meta.call_id, reason=err.message, scorecard=card
        )
    if not saved:  # another batch stored it meanwhile
        return CallStatus(
            job.path,
            "skipped",
            job.recording_id,
            job.meta.call_id,
            reason="already scored with this scorecard version",
            scorecard=card,
        )
    return CallStatus(
        job.path,
        "scored",
        job.recording_id,
        job.meta.call_id,
        r.score,
        r.auto_failed,
        scorecard=card,
        note=note,
        audio_s=round(o.audio_s, 3),
        seconds=round(o.total_s, 3),
    )


WORKER_PRELOAD = (
    "torch",
    "transformers",
    "transformers.models.auto.modeling_auto",
    "transformers.models.auto.tokenization_auto",
    "transformers.models.bert.modeling_bert",
    "transformers.models.bert.tokenization_bert",
    "ctranslate2",
    "faster_whisper",
    "callwright.nlp.sentiment",
    "callwright.qa.pipeline",
    "callwright.qa.scorecard.scoring",
    "callwright.speech.asr.whisper",
)
"""What the worker server imports before forking workers: what every from-audio worker imports
(a module that is not installed is skipped). Imports only, never a model: see `_run_pool`."""


def _worker_context(threads: int) -> Any:
    """Where batch workers come from: a forkserver that preloaded `WORKER_PRELOAD` (Linux and
    other POSIX systems), else spawned processes. The server is started (once per process) with
    the workers' thread settings in its environment, so that the libraries it imports start no
    thread pool of their own (numpy's BLAS would) that a fork would cut off."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    from multiprocessing import forkserver

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(WORKER_PRELOAD))
    saved = {var: os.environ.get(var) for var in _THREAD_VARS}
    os.environ.update({var: str(threads) for var in _THREAD_VARS})
    try:
        forkserver.ensure_running()
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
    return ctx


def _run_pool(
    jobs: list[_Job],
    cards: Sequence[Scorecard],
    options: PipelineOptions,
    workers: int,
    threads: int,
    store_done: Callable[[_Done], None],
    settle: Callable[[CallStatus], None],
) -> None:
    """Fan the jobs out to `workers` processes and store results as they complete.

    The workers are forked from a fresh server process (multiprocessing's forkserver) that has
    imported the model libraries once (`WORKER_PRELOAD`): each worker used to import torch,
    transformers' BERT code and CTranslate2 itself, about 4 CPU seconds per worker
    (docs/benchmarks/qa_pipeline.md). The server only imports: torch and CTranslate2 start
    their thread pools when first used, which a fork would not carry over, so every model is
    still loaded, and every thread pool started, in the worker (`_init_worker`). If a worker
    dies (killed, out of memory), the calls it had not finished are recorded as errors; a
    rerun retries them.
    """
    ctx = _worker_context(threads)
    with ProcessPoolExecutor(
        max_workers=min(workers, len(jobs)),
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(cards, options, threads),
    ) as pool:
        futures: dict[Future[list[_Done]], list[_Job]] = {
            pool.submit(_run_group, group): group for group in groups(jobs, workers)
        }
        try:
            for fut in as_completed(futures):
                try:
                    finished = fut.result()
                except BrokenProcessPool:
                    reason = "worker process died while scoring this call (rerun the batch to retry)"
                    for job in futures[fut]:
                        settle(_failed(job, reason))
                    continue
                for done in finished:
                    store_done(done)
        except BaseException:  # the database cannot take more: do not score the rest for nothing
            pool.shutdown(wait=False, cancel_futures=True)
            raise
