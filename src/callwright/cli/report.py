"""`callwright report`: KPIs over the call database as HTML, CSV or JSON."""

from __future__ import annotations

import errno
import os
import sqlite3
import tempfile
from pathlib import Path

import typer

from callwright.errors import CallwrightError

FORMATS = ("html", "csv", "json")


# Options are read as text and checked by reports.kpis.make_params, so that a typo
# gets a CallwrightError naming the option rather than a framework traceback.
def report(
    start: str | None = typer.Option(None, "--from", help="First day, YYYY-MM-DD."),
    end: str | None = typer.Option(None, "--to", help="Last day (included), YYYY-MM-DD."),
    db_path: Path | None = typer.Option(
        None, "--db", help="Database file (default $CALLWRIGHT_DB or callwright.db)."
    ),
    group_by: str = typer.Option(
        "day", "--group-by", help="day, week, queue, agent, team, flow, direction or campaign."
    ),
    fcr_window: str = typer.Option("7d", "--fcr-window", help="Repeat-contact window for FCR, e.g. 7d."),
    sl: str = typer.Option("80/20", "--sl", help="Service-level target PERCENT/SECONDS, e.g. 80/20."),
    short_abandon: str = typer.Option(
        "5s", "--short-abandon", help="Abandons quicker than this are left out, e.g. 5s (0 keeps all)."
    ),
    sl_abandons: bool = typer.Option(
        True,
        "--sl-abandons/--sl-answered-only",
        help="Whether abandoned calls count against the service level.",
    ),
    output: Path | None = typer.Option(None, "-o", "--output", help="File to write, e.g. report.html."),
    fmt: str | None = typer.Option(None, "--format", help="html, csv or json (default: from -o's suffix)."),
) -> None:
    """Write the KPI report for a date range and print where it is."""
    if start is None or end is None:
        raise CallwrightError(
            "--from and --to are required",
            hint="e.g. callwright report --from 2026-11-01 --to 2026-11-30 -o report.html",
        )
    from callwright.reports import export, html
    from callwright.reports.kpis import build_report, make_params
    from callwright.store.db import database_error, default_path, open_db

    params = make_params(
        start,
        end,
        group_by=group_by,
        fcr_window=fcr_window,
        sl=sl,
        short_abandon=short_abandon,
        sl_abandons_count=sl_abandons,
    )
    kind = (fmt or (output.suffix.lstrip(".").lower() if output else "html") or "html").lower()
    if kind not in FORMATS:
        raise CallwrightError(f"--format: unknown format {kind!r}", hint="use html, csv or json")
    out = output or Path(f"report.{kind}")
    path = Path(db_path) if db_path is not None else default_path()
    if not path.exists():
        raise CallwrightError(f"no database at {path}", hint="give --db FILE, or run calls or the demo first")
    db = open_db(path)
    try:
        result = build_report(db, params)
    except sqlite3.Error as err:  # the daily summaries are recounted first: that writes
        raise database_error(err, path, "compute the report from") from None
    finally:
        db.conn.close()
    text = {"html": html.render, "csv": export.to_csv, "json": export.to_json}[kind](result)
    write_output(out, text)
    typer.echo(f"wrote {out.resolve()}")


def write_output(out: Path, text: str) -> None:
    """Write `text` to `out` whole or not at all: into a temporary file beside it, then renamed
    over it, so a full disk leaves the previous report as it was and no partial file. A path
    that is not a regular file (/dev/stdout, a pipe) is written directly."""
    data = text.encode("utf-8")
    tmp: Path | None = None
    if out.is_symlink():
        out = out.resolve()  # write the file the link names; the link stays
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.exists() and not out.is_file():
            with open(out, "wb") as f:
                f.write(data)
            return
        fd, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
        tmp = Path(name)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a report is an ordinary file
        os.replace(tmp, out)
        tmp = None
    except OSError as err:
        hint = (
            "the disk is full: free some space and run it again"
            if err.errno == errno.ENOSPC
            else "is the folder writable?"
        )
        raise CallwrightError(f"cannot write {out}: {err.strerror or err}", hint=hint) from None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def register(app: typer.Typer) -> None:
    """Add `callwright report` to the root app."""
    app.command("report")(report)
