"""`callwright call FLOW`: run a call through the real engine without a phone."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import typer

from callwright.errors import CallwrightError


def register(app: typer.Typer) -> None:
    app.command("call")(call)


def _parse_waits(items: list[str]) -> dict[str, float]:
    from callwright.flows.loader import parse_duration

    waits = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            waits[name.strip()] = parse_duration(value)
        except ValueError:
            raise CallwrightError(f"--queue-wait {item!r}: expected QUEUE=SECONDS, e.g. billing=180") \
                from None
    return waits


def call(
    flow: Path = typer.Argument(..., help="Flow file to run."),
    text: bool = typer.Option(False, "--text", help="Typed caller: words are speech, #1 is a key "
                              "press, an empty line is silence, /hangup hangs up."),
    caller_id: str = typer.Option("+15550100", "--caller-id", help="The caller's number."),
    called_number: str = typer.Option("", "--called", help="The number dialled."),
    language: str | None = typer.Option(None, "--language", help="Start in this language."),
    at: str | None = typer.Option(None, "--time", help="Pretend the call starts at this ISO "
                                  "time (e.g. 2026-11-23T10:00-05:00); timeouts then use a fake clock."),
    queue_wait: list[str] = typer.Option([], "--queue-wait", help="Expected wait per queue, "
                                         "QUEUE=SECONDS (repeatable), for callback offers."),
    db: Path | None = typer.Option(None, "--db", help="Call log database (default $CALLWRIGHT_DB "
                                   "or ./callwright.db)."),
    verbose_io: bool = typer.Option(False, "--show-listen", help="Show when the IVR listens."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary at the end."),
) -> None:
    """Call a flow. With --text (the default for now) you are the caller, on this terminal or a pipe."""
    from callwright.flows.loader import load_flow
    from callwright.ivr.channels.text import TextChannel
    from callwright.ivr.clock import FakeClock, RealClock
    from callwright.ivr.engine import FlowEngine
    from callwright.ivr.runner import run_call
    from callwright.ivr.session import QueueStatus
    from callwright.store.calllog import CallLog
    from callwright.store.db import default_path, open_db

    engine = FlowEngine(load_flow(flow))
    if at:
        try:
            start = datetime.fromisoformat(at)
        except ValueError:
            raise CallwrightError(f"--time {at!r} is not an ISO date-time such as "
                                  "2026-11-23T10:00-05:00") from None
        clock = FakeClock(start)
    else:
        clock = RealClock()
    db_path = db or default_path()
    log = CallLog(open_db(db_path))
    out = sys.stderr if as_json else sys.stdout
    channel = TextChannel(sys.stdin, out, interactive=sys.stdin.isatty(), verbose=verbose_io)
    session = run_call(engine, channel, clock, calllog=log, caller_id=caller_id,
                       called_number=called_number, language=language,
                       queue_status=QueueStatus(_parse_waits(queue_wait)))
    summary = {"call_id": session.call_id, "flow": engine.flow.name, "outcome": session.outcome,
               "queue": session.queue, "disposition": session.disposition,
               "states": session.visited, "database": str(db_path)}
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        typer.echo(f"call {session.call_id}: {session.outcome}"
                   + (f" to {session.queue}" if session.queue else "")
                   + f"; logged in {db_path}", err=True)
