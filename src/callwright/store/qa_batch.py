"""A QA batch over a database: the SQLite side of `qa.sink.ScoreSink`.

`qa.batch` scores and hands each result to a sink; this module is that sink over
a Callwright database (only `callwright.store` writes SQL), and `score_batch`
here is the batch over a database path, as the CLI, the demo and the tests call it.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from callwright.errors import CallwrightError
from callwright.qa.batch import BatchSummary
from callwright.qa.batch import score_batch as score_with_sink
from callwright.qa.model import ScoredCall
from callwright.qa.scorecard import Scorecard
from callwright.store import qa, reviews
from callwright.store.db import default_path, open_db

T = TypeVar("T")


@dataclass(frozen=True)
class _DbFile:
    """The database file a batch writes to, as it was opened (device and inode).

    SQLite keeps writing into a deleted file through its open handle, so a batch
    whose database is deleted or replaced midway would report every later call as
    scored while none is kept. `check` before each write (a stat) finds it out.
    """

    path: Path | None
    ident: tuple[int, int] | None

    @classmethod
    def of(cls, path: str | os.PathLike[str] | None) -> _DbFile:
        p = Path(path) if path is not None else default_path()
        if str(p) in ("", ":memory:"):
            return cls(None, None)
        st = p.stat()
        return cls(p, (st.st_dev, st.st_ino))

    def check(self) -> None:
        if self.path is None:
            return
        try:
            st = self.path.stat()
        except OSError:
            st = None
        if st is None or (st.st_dev, st.st_ino) != self.ident:
            raise CallwrightError(
                f"{self.path}: the database was {'deleted' if st is None else 'replaced'} while the batch "
                "ran; the calls scored since then are not in it",
                hint="rerun the batch: the calls stored in the database are skipped",
            )

    def write_failed(self, err: sqlite3.DatabaseError) -> CallwrightError:
        self.check()
        return CallwrightError(
            f"{self.path}: cannot write to the database ({err})",
            hint="is the disk full? Free space and rerun the batch: the calls already "
            "stored are kept and skipped",
        )


class BatchStore:
    """A `ScoreSink` over one database file: `check` finds the file deleted or replaced since it
    was opened (the batch calls it before each write), and a write that fails (a full disk)
    becomes a CallwrightError naming the file."""

    def __init__(self, db: sqlite_utils.Database, dbfile: _DbFile) -> None:
        self.db = db
        self._file = dbfile

    @classmethod
    def open(cls, db_path: str | os.PathLike[str] | None) -> BatchStore:
        db = open_db(os.fspath(db_path) if db_path is not None else None)
        return cls(db, _DbFile.of(db_path))

    def _do(self, work: Callable[[], T]) -> T:
        try:
            return work()
        except sqlite3.DatabaseError as err:
            raise self._file.write_failed(err) from None

    def check(self) -> None:
        self._file.check()

    def is_scored(self, recording_id: str, scorecard_version: str) -> bool:
        return self._do(lambda: qa.is_scored(self.db, recording_id, scorecard_version))

    def call_id_conflict(self, call_id: str, recording_id: str, path: str, source: str) -> str | None:
        return self._do(lambda: qa.call_id_conflict(self.db, call_id, recording_id, path, source))

    def save(self, scored: ScoredCall) -> bool:
        return self._do(lambda: qa.save_scored_call(self.db, scored))

    def record_error(self, recording_id: str, path: str, error: str) -> None:
        self._do(lambda: qa.record_error(self.db, recording_id, path, error))


def score_batch(
    paths: Iterable[str | os.PathLike[str]],
    scorecards: Scorecard | Sequence[Scorecard],
    db_path: str | os.PathLike[str] | None,
    **options: Any,
) -> BatchSummary:
    """`qa.batch.score_batch` into the database at `db_path` (the default one when None);
    `options` are that function's keyword arguments (workers, engine, manifest...)."""
    cards = [scorecards] if isinstance(scorecards, Scorecard) else list(scorecards)

    def open_store() -> BatchStore:
        store = BatchStore.open(db_path)
        # the review app recomputes reviewed scores with each version's structure (store.reviews)
        store._do(lambda: reviews.save_scorecards(store.db, cards))
        return store

    return score_with_sink(paths, scorecards, open_store, **options)
