"""`callwright voicemail list`: the messages callers left in `record` states, per mailbox."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import typer

from callwright.cli.printable import printable

voicemail_app = typer.Typer(help="Messages callers left in record states (voicemail).")
DB_HELP = "SQLite database (default: $CALLWRIGHT_DB or callwright.db)."


def register(app: typer.Typer) -> None:
    """Add the `voicemail` group to the root app."""
    app.add_typer(voicemail_app, name="voicemail", no_args_is_help=True)


@voicemail_app.command("list")
def list_messages(
    mailbox: str | None = typer.Option(
        None, "--mailbox", help="Only this mailbox (a record state's `mailbox`)."
    ),
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    limit: int = typer.Option(1000, "--limit", min=1, help="At most this many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per message and line."),
) -> None:
    """List messages newest first: mailbox, call, when, caller, length, file and transcript."""
    from callwright.store.calllog import messages
    from callwright.store.db import open_db

    found = messages(open_db(db), mailbox, limit)
    for m in found:
        if as_json:
            typer.echo(json.dumps(asdict(m), ensure_ascii=False))
            continue
        length = f"{m.duration_s:5.1f} s" if m.duration_s is not None else "    ? s"
        line = (
            f"{printable(m.mailbox):<12} {printable(m.started_at or '-'):<25} {printable(m.call_id):<18} "
            f"{printable(m.caller_id or '-'):<16} {length}  {printable(m.audio or '(no file kept)')}"
        )
        typer.echo(line)
        if m.text:
            typer.echo(f'{"":<12} "{printable(m.text)}"')
    if not found and not as_json:
        typer.echo("no messages" + (f" in mailbox {mailbox!r}" if mailbox else ""))
