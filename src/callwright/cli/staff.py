"""`callwright staff`: agents needed for an interval, by Erlang C or Erlang A."""

from __future__ import annotations

import json
import math

import typer

from callwright.errors import CallwrightError
from callwright.reports.staffing import (
    StaffingPlan,
    Workload,
    parse_duration,
    parse_target,
    plan_staffing,
)


# Options are read as text and parsed here, so that a typo gets a CallwrightError
# naming the option rather than a framework traceback.
def staff(
    calls: str | None = typer.Option(None, "--calls", help="Calls offered in the interval."),
    interval: str = typer.Option("30m", "--interval", help="Interval length, e.g. 30m, 1h."),
    aht: str | None = typer.Option(None, "--aht", help="Average handle time, e.g. 240s, 4m."),
    target: str = typer.Option("80/20", "--target", help="Service level PERCENT/SECONDS, e.g. 80/20."),
    shrinkage: str = typer.Option("0", "--shrinkage", help="Fraction of paid time off the phones, e.g. 0.3."),
    max_occupancy: str = typer.Option(
        "1", "--max-occupancy", help="Highest acceptable occupancy, e.g. 0.85."
    ),
    patience: str | None = typer.Option(
        None, "--patience", help="Callers' mean patience, e.g. 60s: use Erlang A (abandons)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Smallest number of agents meeting the service-level target and occupancy cap.

    The net count is then grossed up for shrinkage as ceil(net / (1 - shrinkage)).
    """
    if calls is None or aht is None:
        raise CallwrightError(
            "--calls and --aht are required",
            hint="e.g. callwright staff --calls 360 --interval 30m --aht 240s --target 80/20",
        )
    workload = Workload(
        calls=_parse_number(calls, option="--calls"),
        interval_s=parse_duration(interval, option="--interval"),
        aht_s=parse_duration(aht, option="--aht"),
    )
    plan = plan_staffing(
        workload,
        parse_target(target),
        shrinkage=_parse_number(shrinkage, option="--shrinkage"),
        max_occupancy=_parse_number(max_occupancy, option="--max-occupancy"),
        patience_s=None if patience is None else parse_duration(patience, option="--patience"),
    )
    if as_json:
        typer.echo(json.dumps(plan.as_json()))
    else:
        typer.echo(_describe(plan, workload, interval))


def _parse_number(text: str, *, option: str) -> float:
    """A finite number (NaN and infinity, which float() reads, are refused here by name)."""
    shown = text if len(text) <= 40 else text[:37] + "..."
    try:
        value = float(text)
    except ValueError:
        raise CallwrightError(f"{option}: {shown!r} is not a number") from None
    if not math.isfinite(value):
        raise CallwrightError(f"{option}: {shown!r} is not a finite number")
    return value


def _describe(plan: StaffingPlan, workload: Workload, interval: str) -> str:
    m = plan.metrics
    model = "Erlang A (callers abandon)" if plan.model == "erlang_a" else "Erlang C"
    lines = [
        f"{model}: {workload.calls:g} calls per {interval}, AHT {workload.aht_s:g} s "
        f"= {m.traffic_erlangs:.2f} Erlangs",
        f"agents to schedule      {plan.agents}"
        f"  (ceil({plan.agents_net} / (1 - {plan.shrinkage:g})) for shrinkage)",
        f"agents on the phones    {plan.agents_net}",
        f"probability of waiting  {m.p_wait:.2%}",
        f"ASA                     {m.asa_s:.1f} s",
        f"service level           {m.service_level:.2%} within {m.threshold_s:g} s",
        f"occupancy               {m.occupancy:.2%}",
    ]
    if plan.model == "erlang_a":
        lines.append(f"abandoned               {m.p_abandon:.2%}")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Add `callwright staff` to the root app."""
    app.command("staff")(staff)
