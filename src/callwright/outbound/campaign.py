"""Load an outbound campaign file: YAML with positions -> JSON Schema -> checks -> `Campaign`.

Like flows and scorecards, every mistake is reported at its line (`path:line:col: error: ...`)
with "did you mean" for typos; on top of the schema, windows that are empty (start not before
end) or overlap another window of the same day, dates that do not exist, and a flow file that is
missing or has errors are errors at the offending value. The reference is in docs/outbound.md.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from callwright.common.source import PathKey, Problem, Source, SourceError
from callwright.common.source import load as load_source
from callwright.common.source import parse as parse_source
from callwright.errors import DataError
from callwright.schema_errors import SchemaExplainer, strict_validator

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The dispositions a campaign sets a retry spacing for; any other last outcome ends a contact's
# attempts in the campaign (compliance refuses with "completed").
RetryDisposition = Literal["no_answer", "busy", "failed", "voicemail", "answered_no_decision"]
RETRY_DISPOSITIONS: tuple[RetryDisposition, ...] = (
    "no_answer",
    "busy",
    "failed",
    "voicemail",
    "answered_no_decision",
)
DEFAULT_CONSENT_KIND = "call"
DEFAULT_MAX_LINES = 50
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(s|m|h|d)$")
_WINDOW = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)\Z")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


@dataclass(frozen=True)
class Window:
    """A calling window on one weekday, in the contact's local wall time; `end` of
    `time.max` stands for 24:00 (the end of the day)."""

    start: time
    end: time

    def __str__(self) -> str:
        end = "24:00" if self.end == time.max else self.end.strftime("%H:%M")
        return f"{self.start:%H:%M}-{end}"


@dataclass(frozen=True)
class Pacing:
    """How many lines the dialer holds: `lines_per_agent` x available agents, at most `max_lines`.
    `agents` is a fixed count, or "acd" for the agents the ACD model says are available."""

    lines_per_agent: float
    agents: int | Literal["acd"]
    max_lines: int = DEFAULT_MAX_LINES


@dataclass(frozen=True)
class Campaign:
    name: str
    list_name: str
    flow: Path  # resolved against the campaign file's folder
    caller_id: str  # E.164
    consent_required: bool
    consent_kind: str
    max_attempts: int
    retry: dict[str, timedelta]  # by RetryDisposition
    hours: dict[Weekday, tuple[Window, ...]]  # every weekday present; () = no calls that day
    holidays: frozenset[date] = frozenset()
    pacing: Pacing = field(default_factory=lambda: Pacing(1.0, 1))
    path: str = ""
    description: str = ""


@functools.cache
def schema() -> dict[str, Any]:
    """The campaign JSON Schema shipped with the package (editors can use it too)."""
    text = resources.files("callwright.outbound").joinpath("campaign.schema.json").read_text("utf-8")
    return json.loads(text)


@functools.cache
def _validator() -> Any:
    return strict_validator(schema())


class _CampaignExplainer(SchemaExplainer):
    def where(self, path: PathKey) -> str:
        if len(path) >= 2 and path[0] == "hours" and isinstance(path[1], str):
            rest = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path[2:])
            return f"hours.{path[1]}{rest}"
        return super().where(path)


def parse_duration(value: float | int | str) -> timedelta:
    """A schema-valid duration (seconds, or '90s', '15m', '4h', '1d') as a timedelta."""
    if isinstance(value, (int, float)):
        return timedelta(seconds=float(value))
    m = _DURATION.match(value)
    if not m:
        raise ValueError(f"not a duration: {value!r}")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


def _parse_window(text: str) -> Window:
    a, b = text.split("-")
    start = time(int(a[:2]), int(a[3:]))
    end = time.max if b == "24:00" else time(int(b[:2]), int(b[3:]))
    return Window(start, end)


def load(path: str | Path) -> tuple[Campaign | None, list[Problem]]:
    """Load a campaign file, collecting every problem instead of raising."""
    try:
        src = load_source(path)
    except SourceError as err:
        return None, list(err.problems)
    return build(src, base=Path(path).parent)


def loads(
    text: str, name: str = "<campaign>", base: Path | None = None
) -> tuple[Campaign | None, list[Problem]]:
    """`load` from text (tests, docs examples)."""
    try:
        src = parse_source(text, name)
    except SourceError as err:
        return None, list(err.problems)
    return build(src, base=base or Path("."))


def load_campaign(path: str | Path) -> Campaign:
    """Load a campaign for dialing; raise DataError listing every located error."""
    campaign, problems = load(path)
    errors = [p for p in problems if p.severity == "error"]
    if errors or campaign is None:
        lines = "\n".join(str(p) for p in errors) or f"{path}: empty campaign file"
        raise DataError(f"{path}: the campaign has errors:\n{lines}")
    return campaign


def build(src: Source, *, base: Path, check_flow: bool = True) -> tuple[Campaign | None, list[Problem]]:
    data = src.data
    if not isinstance(data, dict):
        return None, [
            src.problem((), "error", "a campaign file is a mapping (name:, list:, flow:, hours: ...)")
        ]
    found = [((), e) for e in _validator().iter_errors(data)]
    problems = _CampaignExplainer().problems(src, found)
    schema_ok = not problems
    # The checks past the schema run on every value the schema let through, so one pass
    # reports a misspelt key and an overlapping window together.
    hours: dict[Weekday, tuple[Window, ...]] = {}
    given_hours: dict[str, Any] = data["hours"] if isinstance(data.get("hours"), dict) else {}
    for day in WEEKDAYS:
        windows: list[tuple[Window, int]] = []
        day_windows = given_hours.get(day, [])
        for i, text in enumerate(day_windows if isinstance(day_windows, list) else []):
            if not isinstance(text, str) or not _WINDOW.match(text):
                continue  # the schema said so
            w = _parse_window(text)
            if w.start >= w.end:
                problems.append(
                    src.problem(
                        ("hours", day, i),
                        "error",
                        f"hours.{day}[{i}]: window {text!r} is empty (its end is not after its start)",
                    )
                )
                continue
            windows.append((w, i))
        windows.sort(key=lambda wi: wi[0].start)
        for (prev, pi), (cur, ci) in zip(windows, windows[1:], strict=False):
            if cur.start < prev.end:
                line = src.pos(("hours", day, pi)).line
                problems.append(
                    src.problem(
                        ("hours", day, ci),
                        "error",
                        f"hours.{day}[{ci}]: window '{cur}' overlaps '{prev}' (line {line})",
                    )
                )
        hours[day] = tuple(w for w, _ in windows)
    if schema_ok and not problems and not any(hours.values()):
        problems.append(src.problem(("hours",), "error", "hours: no calling window on any day", key=True))
    holidays: set[date] = set()
    given_holidays: list[Any] = data["holidays"] if isinstance(data.get("holidays"), list) else []
    for i, h in enumerate(given_holidays):
        text = h if isinstance(h, str) else h.get("date") if isinstance(h, dict) else None
        if not isinstance(text, str) or not _DATE.match(text):
            continue
        where: PathKey = ("holidays", i) if isinstance(h, str) else ("holidays", i, "date")
        try:
            holidays.add(date.fromisoformat(text))
        except ValueError:
            problems.append(src.problem(where, "error", f"holidays[{i}]: {text!r} is not a date that exists"))
    flow_text = data.get("flow")
    flow = (base / flow_text).resolve() if isinstance(flow_text, str) and flow_text else base
    if check_flow and isinstance(flow_text, str) and flow_text:
        problems += _flow_problems(src, flow, flow_text)
    if not schema_ok or any(x.severity == "error" for x in problems):
        return None, sorted(problems, key=lambda p: (p.line, p.col))
    retry: dict[str, timedelta] = {d: parse_duration(data["retry"][d]) for d in RETRY_DISPOSITIONS}
    p = data["pacing"]
    pacing = Pacing(float(p["lines_per_agent"]), p["agents"], int(p.get("max_lines", DEFAULT_MAX_LINES)))
    return (
        Campaign(
            name=data["name"],
            list_name=data["list"],
            flow=flow,
            caller_id=data["caller_id"],
            consent_required=data["consent"] == "required",
            consent_kind=data.get("consent_kind", DEFAULT_CONSENT_KIND),
            max_attempts=int(data["max_attempts"]),
            retry=retry,
            hours=hours,
            holidays=frozenset(holidays),
            pacing=pacing,
            path=src.path,
            description=data.get("description", ""),
        ),
        problems,
    )


def _flow_problems(src: Source, flow: Path, written: str) -> list[Problem]:
    """The outbound flow must exist and load without errors (its own errors: `flow check`)."""
    if not flow.is_file():
        return [src.problem(("flow",), "error", f"flow: file {written!r} not found (looked at {flow})")]
    from callwright.flows.loader import load as load_flow  # the flow language is below us

    errors = load_flow(flow).errors
    if errors:
        return [
            src.problem(
                ("flow",),
                "error",
                f"flow: {written!r} has {len(errors)} error(s), the first: {errors[0]} "
                f"(run `callwright flow check {written}`)",
            )
        ]
    return []
