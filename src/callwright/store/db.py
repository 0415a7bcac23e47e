"""Opening the Callwright database: one SQLite file, WAL mode, a busy timeout.

All SQL in the project lives in this package. Other modules call the functions
here with dataclasses and get rows or dataclasses back.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import sqlite_utils

from callwright.errors import CallwrightError

DEFAULT_DB = "callwright.db"
BUSY_TIMEOUT_MS = 10_000


def default_path() -> Path:
    """The database file: $CALLWRIGHT_DB, else callwright.db in the current folder."""
    return Path(os.environ.get("CALLWRIGHT_DB", DEFAULT_DB))


def open_db(path: str | Path | None = None) -> sqlite_utils.Database:
    """Open (creating if needed) the database in WAL mode and make sure every table exists."""
    p = Path(path) if path is not None else default_path()
    try:
        if p.parent and not p.parent.exists():
            p.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(p), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db = sqlite_utils.Database(conn)
        if db.journal_mode != "wal":
            db.enable_wal()
        # WAL with synchronous=NORMAL cannot corrupt the file; only the last commits
        # before a power cut may be lost. It makes per-turn commits cheap.
        conn.execute("PRAGMA synchronous = NORMAL")
    except (sqlite3.DatabaseError, OSError) as err:
        raise CallwrightError(f"cannot open database {p}: {err}",
                              hint="is it a Callwright database, and is the folder writable?") from None
    from callwright.store import schema

    schema.ensure(db)
    return db
