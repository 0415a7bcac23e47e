"""The server's structured log: one JSON object per line, one line per event.

Events: `listening`, `call_start`, `route`, `call_end`, `call_error`, `call_refused`,
`line_error` (a network peer that broke its protocol), `shutdown`. Every line has `ts`
(UTC, ISO 8601) and `event`. What a caller said or keyed never appears: the caller's
number goes through the call log's redaction (`ivr.privacy.redact`), reasons are
the session's own (already scrubbed of sensitive values) or the server's.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from callwright.ivr import privacy

MIN_DIGITS_SHOWN = 4
"""A caller number that still holds this many digits after redaction is masked whole."""


class EventLog:
    """Thread-safe JSON-lines writer (the asyncio loop and every call's thread write to it)."""

    def __init__(self, write: Callable[[str], object] | None = None) -> None:
        self._write = write or _stderr_line
        self._lock = threading.Lock()

    def emit(self, event: str, **fields: Any) -> None:
        record = {"ts": datetime.now(UTC).isoformat(timespec="milliseconds"), "event": event}
        record.update({k: v for k, v in fields.items() if v is not None})
        line = json.dumps(record, ensure_ascii=False, default=str)
        with self._lock:
            try:
                self._write(line)
            except (OSError, ValueError):  # a closed stderr must not stop the server
                pass


def shown_caller(caller_id: str) -> str | None:
    """The caller's number as the server log may show it: redacted as the call log redacts
    caller input (`[PHONE]`), and masked whole when a short local number escapes that."""
    if not caller_id:
        return None
    shown = str(privacy.redact(caller_id))
    if sum(ch.isdigit() for ch in shown) >= MIN_DIGITS_SHOWN:
        return privacy.MASK
    return shown


def _stderr_line(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
