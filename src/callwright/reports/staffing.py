"""How many agents an interval needs: the smallest count meeting a service level.

The planner's inputs arrive as text ("30m", "240s", "80/20"), so parsing them
lives here too, with errors that name the option and show a valid example.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from callwright.errors import CallwrightError
from callwright.reports.erlang import QueueMetrics, queue_metrics

_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
# The longest duration any option takes (100 years): longer is a typo, and a number past a
# float's range would otherwise arrive as infinity.
MAX_DURATION_S = 100 * 366 * 86_400.0
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|h|m|s)")
_TARGET = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%?\s*/\s*(.+?)\s*$")
# Past this many agents above the offered load, a target is treated as out of reach
# (Erlang C service level approaches 1 but never reaches it).
_MAX_EXTRA_AGENTS = 100_000
# The largest offered load planned (calls x AHT / interval: agents busy at once). Far above a
# real queue (the largest contact centres seat tens of thousands across many queues), and
# small enough that every plan takes well under two seconds.
MAX_TRAFFIC_ERLANGS = 100_000.0
# The longest mean patience for Erlang A: callers who wait a day on average do not abandon,
# which is Erlang C (leave --patience out).
MAX_PATIENCE_S = 86_400.0


@dataclass(frozen=True)
class Workload:
    """Calls offered in one planning interval and their average handle time."""

    calls: float
    interval_s: float
    aht_s: float

    @property
    def arrival_rate_per_s(self) -> float:
        return self.calls / self.interval_s

    @property
    def traffic_erlangs(self) -> float:
        return self.arrival_rate_per_s * self.aht_s


@dataclass(frozen=True)
class ServiceTarget:
    """ "80/20": answer `fraction` (0.8) of calls within `threshold_s` (20) seconds."""

    fraction: float
    threshold_s: float


@dataclass(frozen=True)
class StaffingPlan:
    """Agents to schedule, and how the queue performs with them on the phones.

    `agents_net` is the smallest count on the phones that meets the target and
    the occupancy cap; `agents` grosses it up for shrinkage (breaks, training,
    absence) as ``ceil(agents_net / (1 - shrinkage))``. The metrics are those
    of the net agents, since shrunk agents take no calls.
    """

    agents: int
    agents_net: int
    shrinkage: float
    model: str
    metrics: QueueMetrics

    def as_json(self) -> dict[str, object]:
        """The `--json` record: the five headline keys first, then the detail."""
        m = self.metrics
        record: dict[str, object] = {
            "agents": self.agents,
            "p_wait": m.p_wait,
            "asa_s": m.asa_s,
            "service_level": m.service_level,
            "occupancy": m.occupancy,
            "agents_net": self.agents_net,
            "shrinkage": self.shrinkage,
            "traffic_erlangs": m.traffic_erlangs,
            "threshold_s": m.threshold_s,
            "model": self.model,
        }
        if self.model == "erlang_a":
            record["p_abandon"] = m.p_abandon
            record["avg_wait_all_s"] = m.avg_wait_all_s
        return record


def plan_staffing(
    workload: Workload,
    target: ServiceTarget,
    *,
    shrinkage: float = 0.0,
    max_occupancy: float = 1.0,
    patience_s: float | None = None,
) -> StaffingPlan:
    """Smallest agent count that meets `target` with occupancy <= `max_occupancy`.

    With `patience_s` (callers' mean patience) the queue is modelled by Erlang A,
    otherwise by Erlang C. Service level rises and occupancy falls as agents are
    added, so the smallest count is found by doubling then bisecting, which
    keeps a 10,000-agent plan to a few dozen evaluations.
    Raises CallwrightError when the target is out of reach.
    """
    _check_inputs(workload, target, shrinkage, max_occupancy, patience_s)
    model = "erlang_c" if patience_s is None else "erlang_a"

    def evaluate(agents: int) -> QueueMetrics:
        return queue_metrics(
            agents,
            arrival_rate_per_s=workload.arrival_rate_per_s,
            aht_s=workload.aht_s,
            threshold_s=target.threshold_s,
            patience_s=patience_s,
        )

    def meets(metrics: QueueMetrics) -> bool:
        # A float hair below the target (0.7999999999) counts as meeting it.
        return metrics.service_level >= target.fraction - 1e-12 and metrics.occupancy <= max_occupancy + 1e-12

    if workload.calls == 0 or workload.traffic_erlangs == 0:
        return StaffingPlan(0, 0, shrinkage, model, evaluate(0))
    # Erlang C needs more agents than Erlang of traffic; Erlang A at least one.
    first = math.floor(workload.traffic_erlangs) + 1 if patience_s is None else 1
    limit = first + _MAX_EXTRA_AGENTS
    # Steps of 1, 2, 4, ... above the first count: the answer lies about sqrt(traffic) above
    # the traffic, so this brackets it in a few dozen evaluations at any size.
    low, high, step = first, first, 1
    while not meets(evaluate(high)):
        if high >= limit:
            raise CallwrightError(
                f"--target {target.fraction:.0%}/{target.threshold_s:g}s cannot be met "
                f"with up to {limit} agents",
                hint="lower the service-level percentage",
            )
        low, high, step = high + 1, min(high + step, limit), step * 2
    while low < high:
        middle = (low + high) // 2
        if meets(evaluate(middle)):
            high = middle
        else:
            low = middle + 1
    net = high
    return StaffingPlan(gross_up(net, shrinkage), net, shrinkage, model, evaluate(net))


def gross_up(agents_net: int, shrinkage: float) -> int:
    """Agents to schedule so that `agents_net` remain after `shrinkage`: ceil(N / (1 - s)).

    The small tolerance keeps 14 / 0.7 = 20.000000000000004 at 20, not 21.
    """
    if agents_net == 0:
        return 0
    return math.ceil(agents_net / (1.0 - shrinkage) - 1e-9)


def parse_duration(text: str, *, option: str) -> float:
    """Seconds in "240", "240s", "4m", "30m", "1h", "1h30m" or "1.5h".

    A bare number is seconds. Raises CallwrightError naming `option`.
    """
    cleaned = text.strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", cleaned):
        seconds = float(cleaned)
    else:
        parts = list(_DURATION_PART.finditer(cleaned))
        covered = "".join(p.group(0) for p in parts)
        if not parts or covered.replace(" ", "") != cleaned.replace(" ", ""):
            raise CallwrightError(
                f"{option}: cannot read {text!r} as a duration",
                hint="use a number with a unit, e.g. 240s, 4m, 30m, 1h (a bare number is seconds)",
            )
        seconds = sum(float(p.group(1)) * _UNIT_SECONDS[p.group(2)] for p in parts)
    if not seconds <= MAX_DURATION_S:
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise CallwrightError(
            f"{option}: {shown!r} is longer than the limit of 100 years",
            hint="use a number with a unit, e.g. 240s, 4m, 30m, 1h",
        )
    return seconds


def parse_target(text: str, *, option: str = "--target") -> ServiceTarget:
    """ "80/20" (or "80%/20s") -> answer 80 % of calls within 20 s."""
    match = _TARGET.match(text)
    if not match:
        raise CallwrightError(
            f"{option}: cannot read {text!r} as a service-level target",
            hint="write PERCENT/SECONDS, e.g. 80/20 for 80 % of calls answered within 20 s",
        )
    percent = float(match.group(1))
    if not 0 < percent < 100:
        raise CallwrightError(
            f"{option}: the percentage in {text!r} must be above 0 and below 100",
            hint="no finite number of agents answers 100 % of calls within a time limit",
        )
    threshold_s = parse_duration(match.group(2), option=option)
    return ServiceTarget(fraction=percent / 100.0, threshold_s=threshold_s)


def _check_inputs(
    workload: Workload,
    target: ServiceTarget,
    shrinkage: float,
    max_occupancy: float,
    patience_s: float | None,
) -> None:
    checks = [
        (workload.calls >= 0 and math.isfinite(workload.calls), "--calls must be 0 or more"),
        (
            workload.interval_s > 0 and math.isfinite(workload.interval_s),
            "--interval must be longer than 0 s",
        ),
        (workload.aht_s > 0 and math.isfinite(workload.aht_s), "--aht must be longer than 0 s"),
        (0 < target.fraction < 1, "--target percentage must be above 0 and below 100"),
        (
            target.threshold_s >= 0 and math.isfinite(target.threshold_s),
            "--target seconds must be 0 or more",
        ),
        (0 <= shrinkage < 1, "--shrinkage must be at least 0 and below 1 (e.g. 0.3 for 30 %)"),
        (0 < max_occupancy <= 1, "--max-occupancy must be above 0 and at most 1 (e.g. 0.85)"),
        (
            patience_s is None or (patience_s > 0 and not math.isnan(patience_s)),
            "--patience must be longer than 0 s",
        ),
        (
            patience_s is None or patience_s <= MAX_PATIENCE_S,
            f"--patience must be at most {MAX_PATIENCE_S:g} s (a day); callers that patient "
            "never hang up: leave --patience out for Erlang C",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise CallwrightError(message)
    traffic = workload.traffic_erlangs
    if not traffic <= MAX_TRAFFIC_ERLANGS:  # also catches an overflow to inf
        raise CallwrightError(
            f"the workload is {traffic:.4g} Erlangs (--calls {workload.calls:g} x --aht "
            f"{workload.aht_s:g} s / --interval {workload.interval_s:g} s): staff plans up to "
            f"{MAX_TRAFFIC_ERLANGS:,.0f} Erlangs (agents busy at once)",
            hint="check the units of --calls, --aht and --interval, or plan each queue on its own",
        )
