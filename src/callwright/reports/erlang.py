"""Erlang B, Erlang C and Erlang A (Palm) queue formulas for call-centre staffing.

Erlang C (M/M/N, callers never hang up) is what staffing tools and the
call-centre literature quote, so it is the default and is tested against their
published worked examples. Erlang A (M/M/N+M, exponential patience) is offered
beside it because real callers abandon, and Erlang C then overstaffs.

Both are computed from Erlang B, never from ``A**N / N!``: up to 2,000 agents by the
recursion ``B(k) = A B(k-1) / (k + A B(k-1))``, above that by its closed form in log
space (the Poisson probability of N over that of at most N, through the incomplete
gamma function), so a search over 100,000 agents costs constant time per count.
Erlang A's A(x, y), which reaches e^(λ/θ), is likewise only handled as a logarithm.

Erlang A follows Mandelbaum & Zeltyn, "Service Engineering in Action: The
Palm/Erlang-A Queue, with Applications to Call Centers" (Springer, 2007,
doi:10.1007/978-3-540-29860-1_2); the formulas are written out in docs/kpis.md.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class QueueMetrics:
    """Steady-state performance of one queue with a fixed number of agents.

    `asa_s` is the mean wait of answered calls (with Erlang C every call is
    answered, so it is also the mean over all calls); `service_level` is the
    fraction of *all* offered calls answered within the threshold, so callers
    who abandon count against it.
    """

    agents: int
    traffic_erlangs: float
    threshold_s: float
    p_wait: float
    asa_s: float
    service_level: float
    occupancy: float
    p_abandon: float = 0.0
    avg_wait_all_s: float = 0.0


# Up to this many servers Erlang B is the recursion (exact, under a millisecond); above it, the
# closed form in log space (constant time, so a search over 100,000 agents stays fast).
_RECURSION_MAX_SERVERS = 2_000


def erlang_b(servers: int, traffic: float) -> float:
    """Blocking probability of an M/M/N/N loss system (the Erlang B formula)."""
    return math.exp(log_erlang_b(servers, traffic))


def log_erlang_b(servers: int, traffic: float) -> float:
    """log B(N, A), never overflowing (-inf when B underflows to 0).

    Small N: the recursion ``B(k) = A B(k-1) / (k + A B(k-1))``. Large N: B is the
    Poisson(A) probability of N over that of at most N, ``exp(N log A - A - lgamma(N+1)) /
    Q(N+1, A)`` with Q the regularised upper incomplete gamma function; when Q underflows
    (N far below A, where B is close to 1 - N/A) the recursion again, which is then
    shorter than the traffic."""
    _check_servers(servers)
    _check_traffic(traffic)
    if traffic == 0.0:
        return 0.0 if servers == 0 else -math.inf
    if servers > _RECURSION_MAX_SERVERS:
        sp = _special()
        upper = float(sp.gammaincc(servers + 1, traffic))
        if upper > 1e-250:
            log_b = servers * math.log(traffic) - traffic - float(sp.gammaln(servers + 1)) - math.log(upper)
            return min(log_b, 0.0)
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = traffic * blocking / (k + traffic * blocking)
    return math.log(blocking) if blocking > 0.0 else -math.inf


def erlang_c(servers: int, traffic: float) -> float:
    """Probability that a caller waits in an M/M/N queue (the Erlang C formula).

    Returns 1.0 when ``servers <= traffic``: the queue then grows without bound
    and every caller waits.
    """
    if servers <= traffic:
        return 1.0
    blocking = erlang_b(servers, traffic)
    # C = N B / (N - A (1 - B)), the standard identity from B to C.
    return servers * blocking / (servers - traffic * (1.0 - blocking))


def erlang_c_metrics(
    agents: int, *, arrival_rate_per_s: float, aht_s: float, threshold_s: float
) -> QueueMetrics:
    """Erlang C probability of waiting, ASA, service level and occupancy.

    With too few agents (``agents <= traffic``) the queue is unstable: the
    result says so with ``p_wait=1``, infinite ASA, zero service level and
    occupancy 1, rather than raising, so that a table of staffing options can
    show the rows that do not work.
    """
    traffic = _traffic(arrival_rate_per_s, aht_s)
    if traffic == 0.0:
        return QueueMetrics(agents, 0.0, threshold_s, 0.0, 0.0, 1.0, 0.0)
    if agents <= traffic:
        return QueueMetrics(agents, traffic, threshold_s, 1.0, math.inf, 0.0, 1.0, 0.0, math.inf)
    p_wait = erlang_c(agents, traffic)
    spare = agents - traffic
    asa = p_wait * aht_s / spare
    service_level = 1.0 - p_wait * math.exp(-spare * threshold_s / aht_s)
    return QueueMetrics(
        agents=agents,
        traffic_erlangs=traffic,
        threshold_s=threshold_s,
        p_wait=p_wait,
        asa_s=asa,
        service_level=service_level,
        occupancy=traffic / agents,
        avg_wait_all_s=asa,
    )


def queue_metrics(
    agents: int,
    *,
    arrival_rate_per_s: float,
    aht_s: float,
    threshold_s: float,
    patience_s: float | None = None,
) -> QueueMetrics:
    """Erlang A metrics when callers' mean patience is given, else Erlang C."""
    if patience_s is None:
        return erlang_c_metrics(
            agents, arrival_rate_per_s=arrival_rate_per_s, aht_s=aht_s, threshold_s=threshold_s
        )
    return erlang_a_metrics(
        agents,
        arrival_rate_per_s=arrival_rate_per_s,
        aht_s=aht_s,
        patience_s=patience_s,
        threshold_s=threshold_s,
    )


def erlang_a_metrics(
    agents: int,
    *,
    arrival_rate_per_s: float,
    aht_s: float,
    patience_s: float,
    threshold_s: float,
) -> QueueMetrics:
    """Erlang A (M/M/N+M) metrics: callers hang up after an exponential patience.

    `patience_s` is the callers' mean patience (infinite gives Erlang C).
    Unlike Erlang C the queue is stable with any number of agents, because the
    queue sheds callers. The service level integral and the ASA use numerical
    quadrature over the closed-form tail of the offered wait.
    """
    if not patience_s > 0:
        raise ValueError(f"patience_s must be > 0, got {patience_s}")
    if math.isinf(patience_s):
        return erlang_c_metrics(
            agents, arrival_rate_per_s=arrival_rate_per_s, aht_s=aht_s, threshold_s=threshold_s
        )
    traffic = _traffic(arrival_rate_per_s, aht_s)
    if traffic == 0.0:
        return QueueMetrics(agents, 0.0, threshold_s, 0.0, 0.0, 1.0, 0.0)
    if agents == 0:
        # Nobody answers: every caller waits out their patience and leaves.
        return QueueMetrics(0, traffic, threshold_s, 1.0, math.inf, 0.0, 0.0, 1.0, patience_s)

    log_b = log_erlang_b(agents, traffic)
    lam, mu, theta = arrival_rate_per_s, 1.0 / aht_s, 1.0 / patience_s
    x, y = agents * mu / theta, lam / theta
    log_a = _log_palm_a(x, y)
    # P(W > 0) = A E_B / (1 + (A - 1) E_B) = 1 / (1 + (1 - E_B) / (A E_B)), in logs: A reaches
    # e^y (y = λ/θ, millions) when the agents are few, E_B underflows when they are many.
    if log_b == -math.inf:
        p_wait = 0.0
    else:
        log_odds = math.log1p(-min(math.exp(log_b), 1.0)) - log_a - log_b if log_b < 0 else -math.inf
        p_wait = 1.0 / (1.0 + math.exp(min(log_odds, 700.0)))
    rho = lam / (agents * mu)
    # P(Ab) = P(W>0) (1 / (ρ A) + 1 - 1 / ρ)
    p_abandon = p_wait * (math.exp(-math.log(rho) - log_a) + 1.0 - 1.0 / rho)
    p_abandon = min(max(p_abandon, 0.0), p_wait)
    if p_wait < _NEGLIGIBLE_WAIT:
        # Practically nobody waits: the service level is 1 - P(W>0) to within P(W>0) and
        # the waits are 0 to within P(W>0) times the patience; no integral needed.
        return QueueMetrics(
            agents=agents,
            traffic_erlangs=traffic,
            threshold_s=threshold_s,
            p_wait=p_wait,
            asa_s=0.0,
            service_level=1.0 - p_wait,
            occupancy=min(traffic / agents, 1.0),
            p_abandon=p_abandon,
            avg_wait_all_s=p_abandon / theta,
        )

    def offered_wait_tail(t: float) -> float:
        # P(V > t) for the offered wait V (the wait a caller of infinite
        # patience would have): P(W>0) A(x, y e^{-θt}) / A(x, y)
        #                        · exp(-Nμt + (λ/θ)(1 - e^{-θt})).
        decay = math.exp(-theta * t)
        log_tail = _log_palm_a(x, y * decay) - log_a - agents * mu * t + y * (1.0 - decay)
        return p_wait * math.exp(log_tail)

    # The integrands below fall at least as fast as exp(-s / scale): the e^{-θs} factor, and
    # P(V>s) at rate Nμ - λ when that is positive. Integrating over [0, 60 scale] in pieces
    # that follow the scale keeps quadrature from missing a spike at 0 (impatient callers:
    # scale of milliseconds in a 20 s threshold) or wandering over an endless tail.
    scale = 1.0 / (theta + max(agents * mu - lam, 0.0))

    # Answered within t = answered at once + ∫_0^t e^{-θs} f_V(s) ds; by parts
    # the integral is P(W>0) - e^{-θt} P(V>t) - θ ∫_0^t e^{-θs} P(V>s) ds.
    tail_integral = _integrate(lambda s: math.exp(-theta * s) * offered_wait_tail(s), threshold_s, scale)
    answered_late_within = (
        p_wait - math.exp(-theta * threshold_s) * offered_wait_tail(threshold_s) - theta * tail_integral
    )
    service_level = (1.0 - p_wait) + answered_late_within
    # E[V e^{-θV}] = ∫_0^∞ P(V>s) (1 - θs) e^{-θs} ds: total wait of answered callers.
    answered_wait = _integrate(
        lambda s: offered_wait_tail(s) * (1.0 - theta * s) * math.exp(-theta * s), math.inf, scale
    )
    answered = 1.0 - p_abandon
    asa = answered_wait / answered if answered > 0 else math.inf
    return QueueMetrics(
        agents=agents,
        traffic_erlangs=traffic,
        threshold_s=threshold_s,
        p_wait=p_wait,
        asa_s=max(asa, 0.0),
        service_level=min(max(service_level, 0.0), 1.0),
        occupancy=min(traffic * answered / agents, 1.0),
        p_abandon=p_abandon,
        # Little's law on the abandonment stream: λ P(Ab) = θ E[queue].
        avg_wait_all_s=p_abandon / theta,
    )


@functools.cache
def _special() -> Any:
    """scipy.special, imported on first use (the report command imports this module too)."""
    from scipy import special

    return special


def _integrate(f: Callable[[float], float], upper: float, scale: float) -> float:
    """∫_0^upper f, for an f that is negligible past 60 `scale`: in pieces at 1/8, 1, 8 and 60
    scales (quadrature warnings are silenced; the pieces keep each one well conditioned)."""
    import warnings

    from scipy.integrate import IntegrationWarning, quad

    edges = [0.0, *(min(k * scale, upper) for k in (0.125, 1.0, 8.0, 60.0))]
    total = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntegrationWarning)
        for lo, hi in zip(edges, edges[1:], strict=False):
            if hi > lo:
                total += quad(f, lo, hi, limit=100)[0]
    return total


# Below this probability of waiting, Erlang A skips the quadratures (see erlang_a_metrics).
_NEGLIGIBLE_WAIT = 1e-13
# The direct series of A(x, y) is summed when x is at most this (a few hundred terms at most).
_SERIES_MAX_X = 10_000.0


def _log_palm_a(x: float, y: float) -> float:
    """log A(x, y), where A(x, y) = 1 + Σ_{j≥1} y^j / Π_{i=1..j} (x + i).

    A(x, y) = x e^y y^{-x} γ(x, y) with γ the lower incomplete gamma function.
    When y ≥ x the regularised γ is at least about one half, so that form is
    exact in floating point; when y < x it would underflow for large x, but
    then the series terms shrink at least geometrically and we sum it directly.
    """
    if y <= 0.0:
        return 0.0
    if y < x and x <= _SERIES_MAX_X:
        return _log_palm_a_series(x, y)
    sp = _special()
    lower = float(sp.gammainc(x, y))
    if lower > 1e-250:
        return math.log(x) + y - x * math.log(y) + float(sp.gammaln(x)) + math.log(lower)
    return _log_palm_a_far(x, y)  # y far below x: the incomplete gamma underflows


_LAGUERRE_NODES = 40


@functools.cache
def _laguerre() -> tuple[Any, Any]:
    import numpy as np

    return np.polynomial.laguerre.laggauss(_LAGUERRE_NODES)


def _log_palm_a_far(x: float, y: float) -> float:
    """log A(x, y) for y far below x (by tens of sqrt(x)), in constant time.

    A(x, y) = x ∫_0^1 e^{yu} (1-u)^{x-1} du = (x / c) ∫_0^∞ e^{-v} g(v / c) dv with
    c = x - 1 - y and g(u) = exp((x-1)(log(1-u) + u)) (0 past u = 1). Here (x-1)/c² is
    below 1e-3, so g is nearly flat on the integral's scale 1/c and Gauss-Laguerre
    quadrature is exact to rounding (tests compare it with the series)."""
    import numpy as np

    m, c = x - 1.0, x - 1.0 - y
    nodes, weights = _laguerre()
    u = nodes / c
    inside = u < 1.0
    g = np.zeros_like(u)
    g[inside] = np.exp(m * (np.log1p(-u[inside]) + u[inside]))
    return math.log(x) - math.log(c) + math.log(float(np.dot(weights, g)))


def _log_palm_a_series(x: float, y: float) -> float:
    """log of 1 + Σ_{j≥1} Π_{i=1..j} y / (x + i), for y < x: the terms shrink at least as
    fast as (y / x)^j. Summed in blocks with numpy so that a slow geometric decay (y just
    below a large x) costs array operations, not Python steps."""
    import numpy as np

    total, log_term, start = 1.0, 0.0, 1
    block = 256
    while True:
        i = np.arange(start, start + block, dtype=float)
        logs = log_term + np.cumsum(np.log(y) - np.log(x + i))
        total += float(np.exp(logs).sum())
        log_term = float(logs[-1])
        if math.exp(log_term) < 1e-17 * total or log_term < -745.0:
            return math.log(total)
        start += block
        block = min(block * 2, 1 << 20)


def _traffic(arrival_rate_per_s: float, aht_s: float) -> float:
    if not arrival_rate_per_s >= 0 or math.isinf(arrival_rate_per_s):
        raise ValueError(f"arrival_rate_per_s must be >= 0, got {arrival_rate_per_s}")
    if not aht_s > 0 or math.isinf(aht_s):
        raise ValueError(f"aht_s must be > 0, got {aht_s}")
    return arrival_rate_per_s * aht_s


def _check_servers(servers: int) -> None:
    if servers < 0 or int(servers) != servers:
        raise ValueError(f"servers must be a whole number >= 0, got {servers}")


def _check_traffic(traffic: float) -> None:
    if not traffic >= 0 or math.isinf(traffic):
        raise ValueError(f"traffic must be >= 0 Erlangs, got {traffic}")
