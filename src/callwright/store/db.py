"""Opening the Callwright database: one SQLite file, WAL mode, a busy timeout.

All SQL in the project lives in this package. Other modules call the functions
here with dataclasses and get rows or dataclasses back.

Opening is safe when several processes open a new file at once (two batches
started together): the busy timeout is set when the connection opens, the
switch to WAL and the schema set-up retry while another process holds the lock,
and the schema is created or migrated in one `BEGIN IMMEDIATE` transaction
(store.migrations.migrate; a database already at the current version is not
written to). A new file is created readable by its
owner only (0600); SQLite gives its -wal and -shm files the database file's
mode. Only a regular file is opened, and an existing database that is not
Callwright's is refused before anything is written to it.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import sqlite_utils

from callwright.errors import CallwrightError
from callwright.store.busy import is_busy, retry_busy

DEFAULT_DB = "callwright.db"
BUSY_TIMEOUT_MS = 10_000
# A new database file (and so its -wal and -shm files) is readable and writable by its owner only:
# call logs and transcripts hold personal data.
DB_FILE_MODE = 0o600
_HINT = "give --db (or $CALLWRIGHT_DB) a Callwright database file, or a new file name"


def default_path() -> Path:
    """The database file: $CALLWRIGHT_DB, else callwright.db in the current folder."""
    return Path(os.environ.get("CALLWRIGHT_DB", DEFAULT_DB))


def is_disk_full(err: BaseException) -> bool:
    """Whether `err` is SQLite's "database or disk is full" or an I/O error (which is what a
    full disk gives when SQLite cannot grow its -wal or -shm file)."""
    code = getattr(err, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR)
    text = str(err).lower()
    return "full" in text or "i/o error" in text


def database_error(err: sqlite3.Error, path: str | Path, doing: str) -> CallwrightError:
    """A user-facing error for a SQLite failure on the database at `path` while `doing`."""
    if is_disk_full(err):
        hint = f"the disk holding {path} may be full: free some space and run it again"
    elif is_busy(err):
        hint = "another Callwright process held the database too long; run it again"
    else:
        hint = "is it a Callwright database, and is the folder writable?"
    return CallwrightError(f"cannot {doing} {path}: {err}", hint=hint)


def _prepare_file(p: Path) -> None:
    """Refuse what is not a regular file; create a new database file with `DB_FILE_MODE`.

    An existing file keeps its mode (a database created before 0600 stays as it is:
    `chmod 600` it by hand)."""
    try:
        st = os.stat(p)
    except FileNotFoundError:
        st = None
    if st is None:
        if p.parent and not p.parent.exists():
            p.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), DB_FILE_MODE)
        except FileExistsError:  # another process just created it, or a dangling symbolic link
            pass
        else:
            os.close(fd)  # an empty file is a new SQLite database
        try:
            st = os.stat(p)
        except FileNotFoundError:
            raise CallwrightError(
                f"cannot open database {p}: it is a symbolic link to a missing file", hint=_HINT
            ) from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise CallwrightError(f"cannot open database {p}: it is {kind}", hint=_HINT)


def open_db(path: str | Path | None = None) -> sqlite_utils.Database:
    """Open (creating if needed) the database in WAL mode and make sure every table exists.

    Raises CallwrightError naming the file when it is not a regular file, not a SQLite
    database, or a SQLite database that is not Callwright's (which is left untouched)."""
    from callwright.store import migrations, schema

    p = Path(path) if path is not None else default_path()
    try:
        _prepare_file(p)
        # timeout= sets the busy timeout as the connection opens, before any statement
        conn = sqlite3.connect(str(p), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except (sqlite3.DatabaseError, OSError) as err:
        raise CallwrightError(
            f"cannot open database {p}: {getattr(err, 'strerror', None) or err}",
            hint="is the folder writable?",
        ) from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db = sqlite_utils.Database(conn)
        # Before anything is written: an unrelated database is refused unchanged.
        retry_busy(lambda: schema.check_identity(db, str(p)))
        if retry_busy(lambda: db.journal_mode) != "wal":
            retry_busy(db.enable_wal)
        # WAL with synchronous=NORMAL cannot corrupt the file; only the last commits
        # before a power cut may be lost. It makes per-turn commits cheap.
        conn.execute("PRAGMA synchronous = NORMAL")
        retry_busy(lambda: migrations.migrate(db, str(p)))
    except CallwrightError:
        conn.close()
        raise
    except sqlite3.DatabaseError as err:
        conn.close()
        raise database_error(err, p, "open database") from None
    return db
