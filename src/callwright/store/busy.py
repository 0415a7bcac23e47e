"""Retrying SQLite work while another connection holds the lock.

Its own module so that `store.schema` (which retries its creation step) and
`store.db` (which opens the file and calls the schema) do not import each other.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# How long opening keeps retrying while another process holds the database (creating or
# migrating it): past the busy timeout, so that a slow first open elsewhere is waited out.
OPEN_RETRY_S = 30.0


def is_busy(err: BaseException) -> bool:
    """Whether `err` is SQLite's "database is locked" / "busy" (worth a retry)."""
    code = getattr(err, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    text = str(err).lower()
    return "locked" in text or "busy" in text


def retry_busy(work: Callable[[], T], *, within_s: float = OPEN_RETRY_S) -> T:
    """Run `work`, again while it fails with "database is locked", for up to `within_s` seconds.

    The busy timeout already waits for a lock; this covers the cases where SQLite gives up at
    once instead (a lock upgrade that would deadlock, a WAL snapshot that went stale)."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            return work()
        except sqlite3.OperationalError as err:
            if not is_busy(err) or time.monotonic() >= deadline:
                raise
        time.sleep(random.uniform(0.02, 0.2))  # jitter: two waiting processes do not retry in step
