"""`callwright campaign check`: outbound campaign files checked like flows (docs/outbound.md)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

campaign_app = typer.Typer(help="Outbound campaigns: check a campaign file.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(campaign_app, name="campaign")


@campaign_app.command("check")
def check(
    files: list[Path] = typer.Argument(..., help="Campaign files (YAML) to check."),
    as_json: bool = typer.Option(False, "--json", help="Print problems as JSON lines."),
) -> None:
    """Report every problem as path:line:col: error|warning: message; exit 2 on errors."""
    from callwright.cli.printable import printable
    from callwright.outbound.campaign import load

    errors = warnings = 0
    for f in files:
        campaign, problems = load(f)
        for p in problems:
            if as_json:
                typer.echo(
                    json.dumps(
                        {
                            "path": p.path,
                            "line": p.line,
                            "col": p.col,
                            "severity": p.severity,
                            "message": p.message,
                        }
                    )
                )
            else:
                typer.echo(printable(str(p)))
            errors += p.severity == "error"
            warnings += p.severity == "warning"
        if campaign is not None and not as_json:
            days = sum(1 for w in campaign.hours.values() if w)
            typer.echo(
                printable(
                    f"{f}: campaign {campaign.name!r}: list {campaign.list_name!r}, "
                    f"calls on {days} weekday(s), {len(campaign.holidays)} holiday(s), "
                    f"at most {campaign.max_attempts} attempt(s) per contact"
                ),
                err=True,
            )
    if not as_json:
        typer.echo(f"{len(files)} file(s): {errors} error(s), {warnings} warning(s)", err=True)
    if errors:
        raise typer.Exit(2)
