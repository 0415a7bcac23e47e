"""Erlang B, Erlang C and Erlang A (Palm) queue formulas for call-centre staffing.

Erlang C (M/M/N, callers never hang up) is what staffing tools and the
call-centre literature quote, so it is the default and is tested against their
published worked examples. Erlang A (M/M/N+M, exponential patience) is offered
beside it because real callers abandon, and Erlang C then overstaffs.

Both are computed from the Erlang B recursion ``B(k) = A B(k-1) / (k + A B(k-1))``
rather than from ``A**N / N!``: the recursion never overflows, so a queue of
ten thousand agents costs ten thousand multiplications and no special care.

Erlang A follows Mandelbaum & Zeltyn, "Service Engineering in Action: The
Palm/Erlang-A Queue, with Applications to Call Centers" (Springer, 2007,
doi:10.1007/978-3-540-29860-1_2); the formulas are written out in docs/kpis.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


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


def erlang_b(servers: int, traffic: float) -> float:
    """Blocking probability of an M/M/N/N loss system (the Erlang B formula)."""
    _check_servers(servers)
    _check_traffic(traffic)
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = traffic * blocking / (k + traffic * blocking)
    return blocking


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
    from scipy.integrate import quad

    blocking = erlang_b(agents, traffic)
    lam, mu, theta = arrival_rate_per_s, 1.0 / aht_s, 1.0 / patience_s
    x, y = agents * mu / theta, lam / theta
    log_a = _log_palm_a(x, y)
    a_value = math.exp(log_a)
    # P(W > 0) = A E_B / (1 + (A - 1) E_B)
    p_wait = a_value * blocking / (1.0 + (a_value - 1.0) * blocking)
    rho = lam / (agents * mu)
    p_abandon = p_wait * (1.0 / (rho * a_value) + 1.0 - 1.0 / rho)
    p_abandon = min(max(p_abandon, 0.0), p_wait)

    def offered_wait_tail(t: float) -> float:
        # P(V > t) for the offered wait V (the wait a caller of infinite
        # patience would have): P(W>0) A(x, y e^{-θt}) / A(x, y)
        #                        · exp(-Nμt + (λ/θ)(1 - e^{-θt})).
        decay = math.exp(-theta * t)
        log_tail = _log_palm_a(x, y * decay) - log_a - agents * mu * t + y * (1.0 - decay)
        return p_wait * math.exp(log_tail)

    # Answered within t = answered at once + ∫_0^t e^{-θs} f_V(s) ds; by parts
    # the integral is P(W>0) - e^{-θt} P(V>t) - θ ∫_0^t e^{-θs} P(V>s) ds.
    tail_integral, _ = quad(lambda s: math.exp(-theta * s) * offered_wait_tail(s), 0.0, threshold_s)
    answered_late_within = (
        p_wait
        - math.exp(-theta * threshold_s) * offered_wait_tail(threshold_s)
        - theta * tail_integral
    )
    service_level = (1.0 - p_wait) + answered_late_within
    # E[V e^{-θV}] = ∫_0^∞ P(V>s) (1 - θs) e^{-θs} ds: total wait of answered callers.
    answered_wait, _ = quad(
        lambda s: offered_wait_tail(s) * (1.0 - theta * s) * math.exp(-theta * s), 0.0, math.inf
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


def _log_palm_a(x: float, y: float) -> float:
    """log A(x, y), where A(x, y) = 1 + Σ_{j≥1} y^j / Π_{i=1..j} (x + i).

    A(x, y) = x e^y y^{-x} γ(x, y) with γ the lower incomplete gamma function.
    When y ≥ x the regularised γ is at least about one half, so that form is
    exact in floating point; when y < x it would underflow for large x, but
    then the series terms shrink at least geometrically and we sum it directly.
    """
    if y <= 0.0:
        return 0.0
    if y >= x:
        from scipy.special import gammainc, gammaln

        return math.log(x) + y - x * math.log(y) + gammaln(x) + math.log(gammainc(x, y))
    total, term, j = 1.0, 1.0, 1
    while True:
        term *= y / (x + j)
        total += term
        if term < 1e-17 * total:
            return math.log(total)
        j += 1


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
