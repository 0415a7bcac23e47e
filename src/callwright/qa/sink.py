"""The port a QA batch stores its results through.

QA only computes; `callwright.store` is the one package that writes SQL. A batch
(`qa.batch.score_batch`) is handed a `ScoreSink` and never sees the database:
`callwright.store.qa_batch.BatchStore` implements it over SQLite.
"""

from __future__ import annotations

from typing import Protocol

from callwright.errors import DataError
from callwright.qa.model import ScoredCall


class CallIdConflict(DataError):
    """An input whose call id already belongs to another recording, transcript or IVR call."""


class ScoreSink(Protocol):
    """Where a batch's scored calls and errors go (the parent process is the only writer).

    Every method raises CallwrightError, stopping the batch, when the store cannot be
    written (a full disk) or was deleted or replaced since it was opened: calls would
    otherwise be reported as scored while none is kept."""

    def check(self) -> None:
        """Raise CallwrightError when the store was deleted or replaced since it was opened."""
        ...

    def is_scored(self, recording_id: str, scorecard_version: str) -> bool:
        """Whether this recording is stored scored with this scorecard version (a rerun skips it)."""
        ...

    def call_id_conflict(self, call_id: str, recording_id: str, path: str, source: str) -> str | None:
        """Why `path` may not be stored under `call_id` (None: it may)."""
        ...

    def save(self, scored: ScoredCall) -> bool:
        """Store a scored call atomically; False when it was already stored.

        Raises CallIdConflict when another input took its call id meanwhile."""
        ...

    def record_error(self, recording_id: str, path: str, error: str) -> None:
        """Keep why an input could not be scored (replacing an earlier error for it)."""
        ...
