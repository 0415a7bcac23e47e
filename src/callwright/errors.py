"""User-facing errors.

Every mistake a user can make (a bad flow file, a missing model, an unreadable
recording) is raised as a `CallwrightError` whose message names the file, line
or field and says what to do. The CLI catches this one type, prints the message
and exits non-zero; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class CallwrightError(Exception):
    """An error caused by user input or environment, with a message for the user."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nhint: {self.hint}"


class FlowError(CallwrightError):
    """A flow file that cannot be loaded or run."""


class AudioError(CallwrightError):
    """An audio file or device that cannot be read, written or opened."""


class ModelNotFoundError(CallwrightError):
    """A speech or text model that is not installed where we looked."""


class DataError(CallwrightError):
    """A data file (manifest, transcript, scorecard, caller script) with bad content."""
