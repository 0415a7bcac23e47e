"""Which flow answers a call: by the number dialled, else the default flow.

Routes come from `--route NUMBER=FLOW` options and a YAML routes file (`--routes FILE`):

    default: flows/inbound.yaml      # optional; else the first FLOW argument
    routes:
      "+1 555 0100": flows/inbound.yaml
      "5550200": acme-survey         # a flow's name works too

FLOW is one of the FLOW arguments (by path or by its `flow:` name) or another flow
file, loaded and checked like them. Numbers are compared without spaces, dashes,
dots, brackets and a `tel:`/`sip:` prefix, so `+1 (555) 010-0` and `+15550100` are one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from callwright.common import source
from callwright.errors import CallwrightError
from callwright.flows.model import Flow

MAX_ROUTES = 10_000
"""Routes in one server (a routes file longer than this is refused: it is a mistake)."""
MAX_NUMBER_CHARS = 32
"""A dialled number longer than this is not a number (E.164 has at most 15 digits)."""

_NUMBER = re.compile(r"^\+?[0-9*#A-Da-d]{1,32}$")
_FILLER = re.compile(r"[\s\-.()]")


def normalise_number(text: str) -> str:
    """A dialled number as routes compare it: no separators, no URI scheme, no host."""
    s = text.strip()
    for scheme in ("tel:", "sip:", "sips:"):
        if s.lower().startswith(scheme):
            s = s[len(scheme) :]
    s = s.split("@", 1)[0].split(";", 1)[0]
    return _FILLER.sub("", s)


def valid_number(text: str) -> bool:
    return bool(_NUMBER.match(normalise_number(text)))


@dataclass(frozen=True)
class Route:
    """The flow a call goes to and why (for the server log)."""

    flow: str  # the flow's name
    matched: str  # "number" | "default"


@dataclass
class Routes:
    """Flows by name, numbers to flow names, and the default flow."""

    flows: dict[str, Flow]
    default: str
    numbers: dict[str, str] = field(default_factory=dict)

    def route(self, called_number: str) -> Route:
        flow = self.numbers.get(normalise_number(called_number)) if called_number else None
        if flow is not None:
            return Route(flow, "number")
        return Route(self.default, "default")


def build_routes(
    flow_paths: list[Path],
    route_options: list[str],
    routes_file: Path | None = None,
    *,
    load_flow: Callable[[Path], Flow] | None = None,
) -> Routes:
    """Load and check every flow (refused with located errors), then the routes.

    `load_flow` (a path -> Flow function) defaults to the engine's checker-first loader.
    """
    if not flow_paths:
        raise CallwrightError("give at least one FLOW: the first is the default flow")
    if load_flow is None:
        from callwright.ivr.engine import load_checked_flow

        load_flow = load_checked_flow
    loader: Callable[[Path], Flow] = load_flow
    flows: dict[str, Flow] = {}
    by_path: dict[Path, str] = {}

    def add(path: Path) -> str:
        key = path.resolve()
        if key in by_path:
            return by_path[key]
        flow = loader(path)
        if flow.name in flows:
            raise CallwrightError(
                f"{path}: a flow named {flow.name!r} is already loaded from another file",
                hint="give each served flow its own `flow:` name",
            )
        flows[flow.name] = flow
        by_path[key] = flow.name
        return flow.name

    def resolve(target: str, base: Path, where: str) -> str:
        target = target.strip()
        if target in flows:
            return target
        path = (base / target) if not Path(target).is_absolute() else Path(target)
        if path.is_file():
            return add(path)
        raise CallwrightError(
            f"{where}: {target!r} is neither a served flow's name "
            f"({', '.join(sorted(flows))}) nor a flow file"
        )

    for p in flow_paths:
        add(p)
    default = by_path[flow_paths[0].resolve()]
    numbers: dict[str, str] = {}

    def put(number: str, target: str, base: Path, where: str) -> None:
        if not valid_number(number):
            raise CallwrightError(
                f"{where}: {number!r} is not a dialled number (digits, * # A-D, an optional leading +)"
            )
        numbers[normalise_number(number)] = resolve(target, base, where)

    if routes_file is not None:
        default = _load_routes_file(routes_file, put, resolve) or default
    for opt in route_options:
        number, sep, target = opt.partition("=")
        if not sep or not target.strip():
            raise CallwrightError(f"--route {opt!r}: expected NUMBER=FLOW, e.g. 5550100=flows/inbound.yaml")
        put(number, target, Path.cwd(), f"--route {opt!r}")
    if len(numbers) > MAX_ROUTES:
        raise CallwrightError(f"{len(numbers)} routes: a server takes at most {MAX_ROUTES}")
    return Routes(flows, default, numbers)


def _load_routes_file(
    path: Path,
    put: Callable[[str, str, Path, str], None],
    resolve: Callable[[str, Path, str], str],
) -> str | None:
    """Read a routes file; the default flow it names, if any. Errors are `file:line:col: error:`."""
    try:
        src = source.load(path)
    except source.SourceError as err:
        raise CallwrightError("\n".join(str(p) for p in err.problems)) from None
    data = src.data
    base = path.parent

    def where(key: tuple[str | int, ...], *, is_key: bool = False) -> str:
        pos = src.pos(key, key=is_key)
        return f"{path}:{pos.line}:{pos.col}: error"

    if not isinstance(data, dict):
        raise CallwrightError(
            f"{where(())}: a routes file is a mapping with `routes:` (number: flow) "
            "and an optional `default:`"
        )
    unknown = sorted(map(str, set(data) - {"routes", "default"}))
    if unknown:
        raise CallwrightError(
            f"{where((unknown[0],), is_key=True)}: unknown key {unknown[0]!r}: "
            "expected `routes` and `default`"
        )
    default = None
    if "default" in data:
        if not isinstance(data["default"], str):
            raise CallwrightError(f"{where(('default',))}: `default` is a flow file or a served flow's name")
        default = resolve(data["default"], base, where(("default",)))
    table = data.get("routes") or {}
    if not isinstance(table, dict):
        raise CallwrightError(f"{where(('routes',))}: `routes` maps dialled numbers to flows")
    if len(table) > MAX_ROUTES:
        raise CallwrightError(
            f"{where(('routes',))}: {len(table)} routes; a server takes at most {MAX_ROUTES}"
        )
    for number, target in table.items():
        if not isinstance(target, str):
            raise CallwrightError(
                f"{where(('routes', number))}: a route's flow is a flow file or a served flow's name"
            )
        put(str(number), target, base, where(("routes", number), is_key=True))
    return default
