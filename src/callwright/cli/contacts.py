"""`callwright contacts import|show|export` and `callwright dnc import|add`: outbound contact
lists and the do-not-call list (docs/outbound.md)."""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path

import sqlite_utils
import typer

from callwright.cli.printable import printable
from callwright.errors import CallwrightError, DataError

contacts_app = typer.Typer(help="Outbound contact lists: import, show, export.", no_args_is_help=True)
dnc_app = typer.Typer(help="The do-not-call list: import numbers, add one.", no_args_is_help=True)
MAX_SHOWN = 20  # problems printed (all are counted)
_DB_HELP = "Database file (default $CALLWRIGHT_DB or callwright.db)."
_REGION_HELP = "ISO country code for numbers written without +country (e.g. US, GB)."


def register(app: typer.Typer) -> None:
    app.add_typer(contacts_app, name="contacts")
    app.add_typer(dnc_app, name="dnc")


def _open(db_path: Path | None) -> sqlite_utils.Database:
    from callwright.store.db import open_db

    return open_db(db_path)


def _region(region: str | None) -> str | None:
    if region is None:
        return None
    r = region.strip().upper()
    import phonenumbers

    if r not in phonenumbers.SUPPORTED_REGIONS:
        raise CallwrightError(
            f"--region {region!r} is not a country code phonenumbers knows (such as US, GB, DE)"
        )
    return r


@contacts_app.command("import")
def import_(
    file: Path = typer.Argument(..., help="CSV file with a header row: number,name,time_zone,consent,..."),
    list_name: str = typer.Option(..., "--list", help="The list to import into (created if new)."),
    region: str | None = typer.Option(None, "--region", help=_REGION_HELP),
    encoding: str = typer.Option("utf-8", "--encoding", help="The file's encoding (utf-8 unless told)."),
    skip_bad: bool = typer.Option(
        False, "--skip-bad", help="Import the good rows even when some have errors (else nothing is saved)."
    ),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Processes validating numbers (default: CPUs)."
    ),
    db_path: Path | None = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    """Import contacts: numbers validated into E.164, deduplicated, zones checked or derived."""
    from callwright.store.contacts import import_csv

    if not list_name.strip() or len(list_name) > 200 or not list_name.isprintable():
        raise CallwrightError("--list: give a list name (printable, at most 200 characters)")
    db = _open(db_path)
    t0 = time.perf_counter()
    try:
        result = import_csv(
            db,
            str(file),
            list_name,
            region=_region(region),
            encoding=encoding,
            skip_bad=skip_bad,
            workers=workers,
        )
    finally:
        db.conn.close()
    for p in result.problems[:MAX_SHOWN]:
        typer.echo(printable(str(p)), err=True)
    c = result.counts
    shown = min(len(result.problems), MAX_SHOWN)
    total = (
        c.errors
        + c.duplicates
        + sum(1 for p in result.problems if p.severity == "warning" and "repeats" not in p.message)
    )
    if total > shown:
        typer.echo(f"... and more: {c.errors} error(s) and {c.duplicates} duplicate(s) in all", err=True)
    summary = (
        f"{file}: {c.rows:,} row(s): {c.imported:,} contact(s) imported into list {list_name!r} "
        f"({c.new:,} new, {c.updated:,} already known), {c.duplicates:,} duplicate(s) skipped, "
        f"{c.errors:,} row(s) with errors, {c.unknown_zones:,} with an unknown time zone "
        f"(not called until given) in {time.perf_counter() - t0:.1f}s"
    )
    typer.echo(printable(summary))
    if not result.saved:
        raise DataError(
            f"{file}: {c.errors} row(s) with errors; nothing was imported",
            hint="fix them, or give --skip-bad to import the other rows",
        )


@contacts_app.command("show")
def show(
    number: str | None = typer.Argument(None, help="A contact's number (its history is shown)."),
    list_name: str | None = typer.Option(None, "--list", help="Show a list's contacts instead."),
    region: str | None = typer.Option(None, "--region", help=_REGION_HELP),
    limit: int = typer.Option(100, "--limit", min=1, help="Contacts of a list shown at most."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    db_path: Path | None = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    """A contact's details and history (attempts, refusals, opt-out, callbacks), or a list."""
    from callwright.outbound.contacts import normalise_number
    from callwright.store import contacts as store

    if (number is None) == (list_name is None):
        raise CallwrightError("give a NUMBER or --list NAME")
    db = _open(db_path)
    try:
        if list_name is not None:
            if not store.has_list(db, list_name):
                names = ", ".join(n for n, _ in store.list_names(db)) or "none yet"
                raise CallwrightError(f"no contact list {list_name!r} (lists: {names})")
            for i, c in enumerate(store.list_contacts(db, list_name)):
                if i >= limit:
                    typer.echo(f"... (first {limit}; --limit N for more)", err=True)
                    break
                row = {
                    "number": c.number,
                    "name": c.name,
                    "time_zone": c.time_zone or f"unknown ({c.zone_note})",
                }
                typer.echo(
                    json.dumps(row)
                    if as_json
                    else printable(f"{c.number}\t{c.name or ''}\t{row['time_zone']}")
                )
            return
        assert number is not None
        try:
            e164 = normalise_number(number, _region(region))[0]
        except ValueError as why:
            raise CallwrightError(f"{printable(number)!r}: {why}") from None
        t = store.timeline(db, e164)
        if t is None:
            raise CallwrightError(f"no contact with number {e164}")
    finally:
        db.conn.close()
    c = t.contact
    if as_json:
        out = {
            "number": c.number,
            "name": c.name,
            "time_zone": c.time_zone,
            "zone_note": c.zone_note,
            "region": c.region,
            "consents": [
                {"kind": k.kind, "granted": k.granted, "at": k.at.isoformat() if k.at else None}
                for k in c.consents
            ],
            "attributes": c.attributes,
            "lists": t.lists,
            "dnc": t.dnc,
            "attempts": t.attempts,
            "refusals": t.refusals,
            "callbacks": t.callbacks,
            "last_outcome": t.last_outcome,
        }
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    lines = [
        f"{c.number}  {c.name or ''}",
        f"  time zone: {c.time_zone or 'unknown'}" + (f" ({c.zone_note})" if c.zone_note else ""),
        f"  lists: {', '.join(t.lists) or '-'}",
        "  consent: "
        + (
            ", ".join(
                f"{k.kind}={'yes' if k.granted else 'no'}" + (f" since {k.at:%Y-%m-%d}" if k.at else "")
                for k in c.consents
            )
            or "none"
        ),
    ]
    if c.attributes:
        lines.append("  attributes: " + ", ".join(f"{k}={v}" for k, v in c.attributes.items()))
    if t.dnc:
        lines.append(f"  DO NOT CALL ({t.dnc['source']}, {t.dnc['added_at']})")
    lines.append(f"  attempts: {len(t.attempts)}; last outcome: {t.last_outcome or '-'}")
    for a in t.attempts:
        extra = f" sip {a['sip_status']}" if a["sip_status"] else ""
        lines.append(f"    {a['dialed_at']}  {a['campaign']}  {a['result']}{extra}  {a['disposition'] or ''}")
    for r in t.refusals:
        lines.append(f"    refused {r['decided_at']}  {r['campaign']}  {r['reason']}  {r['detail'] or ''}")
    for cb in t.callbacks:
        lines.append(f"    callback due {cb['due_at']}  {cb['campaign'] or ''}  {cb['status']}")
    typer.echo(printable("\n".join(lines), newlines=True))


@contacts_app.command("export")
def export(
    list_name: str = typer.Option(..., "--list", help="The list to export."),
    out: Path = typer.Option(..., "-o", "--output", help="CSV file to write (readable by you only)."),
    db_path: Path | None = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    """Write a list's contacts with their history summary (attempts, last outcome, do-not-call) to CSV."""
    from callwright.store import contacts as store

    db = _open(db_path)
    try:
        if not store.has_list(db, list_name):
            raise CallwrightError(f"no contact list {list_name!r}")
        rows = store.export_rows(db, list_name)
        attr_names: list[str] = []
        for r in rows:
            for k in r["attributes"]:
                if k not in attr_names:
                    attr_names.append(k)
        kinds = sorted({k for r in rows for k in r["consents"]})
    finally:
        db.conn.close()
    fixed = ["number", "name", "time_zone", "region"]
    tail = ["attempts", "last_outcome", "last_attempt_at", "dnc"]
    header = (
        fixed
        + [("consent" if k == "call" else f"consent_{k}") + s for k in kinds for s in ("", "_at")]
        + attr_names
        + tail
    )
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # personal data: owner only
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for r in rows:
            cons = []
            for k in kinds:
                g = r["consents"].get(k)
                cons += ["" if g is None else ("yes" if g[0] else "no"), "" if g is None else (g[1] or "")]
            w.writerow(
                [r[k] or "" for k in fixed]
                + cons
                + [r["attributes"].get(a, "") for a in attr_names]
                + [r["attempts"], r["last_outcome"] or "", r["last_attempt_at"] or "", r["dnc"] or ""]
            )
    typer.echo(f"{len(rows):,} contact(s) of list {list_name!r} written to {out}", err=True)


def _numbers(file: Path, region: str | None, encoding: str) -> tuple[list[str], list[str]]:
    """The numbers of a do-not-call file (one per line, or a CSV with a number column) and the
    located errors."""
    from callwright.outbound.contacts import decode_csv, normalise_number

    try:
        raw = file.read_bytes()
    except OSError as err:
        raise DataError(f"{file}: cannot read file: {err.strerror or err}") from None
    text = decode_csv(raw, str(file), encoding)
    rows = list(csv.reader(text.splitlines()))
    start = 0
    col = 0
    if rows and rows[0] and not any(ch.isdigit() for ch in ",".join(rows[0])):
        names = [n.strip().lower() for n in rows[0]]
        col = next((i for i, n in enumerate(names) if n in ("number", "phone")), -1)
        if col < 0:
            raise DataError(f"{file}:1: error: the header has no 'number' column")
        start = 1
    numbers: list[str] = []
    errors: list[str] = []
    for i, row in enumerate(rows[start:], start=start + 1):
        if not row or not "".join(row).strip():
            continue
        cell = row[col].strip() if col < len(row) else ""
        try:
            numbers.append(normalise_number(cell, region)[0])
        except ValueError as why:
            errors.append(f"{file}:{i}:{col + 1}: error: number {cell[:40]!r}: {why}")
    return numbers, errors


@dnc_app.command("import")
def dnc_import(
    file: Path = typer.Argument(..., help="One number per line, or a CSV with a 'number' column."),
    region: str | None = typer.Option(None, "--region", help=_REGION_HELP),
    encoding: str = typer.Option("utf-8", "--encoding", help="The file's encoding."),
    skip_bad: bool = typer.Option(
        False, "--skip-bad", help="Add the good numbers even when some lines are bad."
    ),
    db_path: Path | None = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    """Add a file of numbers to the do-not-call list (checked before every dial)."""
    from callwright.store import contacts as store

    numbers, errors = _numbers(file, _region(region), encoding)
    for e in errors[:MAX_SHOWN]:
        typer.echo(printable(e), err=True)
    if errors and not skip_bad:
        raise DataError(
            f"{file}: {len(errors)} line(s) are not numbers; nothing was added",
            hint="fix them, or give --skip-bad",
        )
    db = _open(db_path)
    try:
        new = store.import_dnc(db, numbers, note=str(file))
        total = store.dnc_count(db)
    finally:
        db.conn.close()
    typer.echo(f"{file}: {len(numbers):,} number(s), {new:,} new on the do-not-call list ({total:,} in all)")


@dnc_app.command("add")
def dnc_add(
    number: str = typer.Argument(..., help="The number that must not be called."),
    region: str | None = typer.Option(None, "--region", help=_REGION_HELP),
    db_path: Path | None = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    """Put one number on the do-not-call list (an opt-out taken by hand)."""
    from callwright.outbound.contacts import normalise_number
    from callwright.store import contacts as store

    try:
        e164 = normalise_number(number, _region(region))[0]
    except ValueError as why:
        raise CallwrightError(f"{printable(number)!r}: {why}") from None
    db = _open(db_path)
    try:
        store.add_opt_out(db, e164)
    finally:
        db.conn.close()
    typer.echo(f"{e164} is on the do-not-call list")
