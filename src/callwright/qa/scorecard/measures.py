"""The conversation-metric values a `metric` item can put a threshold on.

Each name reads one number from `ConversationMetrics`; None means the call has
no such value (no customer speech for a ratio), which makes the item not
applicable rather than failed. The schema's `metric` enum lists the same names
(a test keeps them equal).
"""

from __future__ import annotations

from collections.abc import Callable

from callwright.qa.model import ConversationMetrics, Silence


def _longest(spans: list[Silence]) -> float:
    return max((s.duration for s in spans), default=0.0)


def _total(spans: list[Silence]) -> float:
    return sum(s.duration for s in spans)


def _share(part: float | None, whole: float) -> float | None:
    return None if part is None or whole <= 0 else part / whole


METRICS: dict[str, tuple[str, Callable[[ConversationMetrics], float | None]]] = {
    "handle_time_s": ("handle time (s)", lambda m: m.handle_time_s),
    "talk_listen_ratio": ("agent talk / customer talk", lambda m: m.talk_listen_ratio),
    "agent_talk_share": (
        "agent share of all talk (0-1)",
        lambda m: _share(m.talk_s.get("agent"), sum(m.talk_s.values())),
    ),
    "silence_total_s": ("total silence (s)", lambda m: m.silence_total_s),
    "silence_longest_s": ("longest silence (s)", lambda m: m.silence_longest_s),
    "silence_share": (
        "silence share of handle time (0-1)",
        lambda m: _share(m.silence_total_s, m.handle_time_s),
    ),
    "dead_air_count": ("dead-air silences", lambda m: float(len(m.dead_air))),
    "dead_air_total_s": ("total dead air (s)", lambda m: _total(m.dead_air)),
    "dead_air_longest_s": ("longest dead air (s)", lambda m: _longest(m.dead_air)),
    "hold_count": ("holds", lambda m: float(len(m.holds))),
    "hold_total_s": ("total hold (s)", lambda m: _total(m.holds)),
    "hold_longest_s": ("longest hold (s)", lambda m: _longest(m.holds)),
    "overtalk_count": ("over-talk instances", lambda m: float(len(m.overtalk))),
    "overtalk_total_s": ("total over-talk (s)", lambda m: m.overtalk_total_s),
    "interruptions_by_agent": ("interruptions by the agent", lambda m: float(m.interruptions_by("agent"))),
    "interruptions_by_customer": (
        "interruptions by the customer",
        lambda m: float(m.interruptions_by("customer")),
    ),
    "speech_rate_agent_wpm": ("agent speech rate (words/min)", lambda m: m.speech_rate_wpm.get("agent")),
    "speech_rate_customer_wpm": (
        "customer speech rate (words/min)",
        lambda m: m.speech_rate_wpm.get("customer"),
    ),
}


def measure(name: str, metrics: ConversationMetrics) -> float | None:
    return METRICS[name][1](metrics)


def label(name: str) -> str:
    return METRICS[name][0]
