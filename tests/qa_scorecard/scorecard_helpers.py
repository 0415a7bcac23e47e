"""Hand-built calls and scorecards for the scorecard tests."""

from __future__ import annotations

import textwrap

from callwright.qa.model import CallMeta, ConversationMetrics, Overtalk, Silence, Transcript, Utterance
from callwright.qa.scorecard import Scorecard, loads_scorecard


def call(*turns: tuple, duration: float | None = None, call_id: str = "c1") -> Transcript:
    """Turns are (speaker, start, end, text) or (speaker, start, end, text, sentiment)."""
    utts = [
        Utterance(t[0], float(t[1]), float(t[2]), t[3], sentiment=t[4] if len(t) > 4 else None) for t in turns
    ]
    end = max((u.end for u in utts), default=0.0)
    return Transcript(call_id, duration if duration is not None else end + 2.0, utts)


def card(text: str, name: str = "card.yaml") -> Scorecard:
    return loads_scorecard(textwrap.dedent(text), name)


def meta(direction: str | None = "inbound", **kw) -> CallMeta:
    return CallMeta("c1", direction, **kw)


def metrics(
    *, talk=(60.0, 60.0), dead_air=(), holds=(), overtalk=(), rate=(150.0, 140.0), handle=180.0
) -> ConversationMetrics:
    agent, customer = talk
    return ConversationMetrics(
        handle_time_s=handle,
        talk_s={"agent": agent, "customer": customer},
        talk_listen_ratio=agent / customer if customer else None,
        silence_total_s=sum(e - s for s, e in dead_air) + 20.0,
        silence_longest_s=max((e - s for s, e in dead_air), default=3.0),
        dead_air=[Silence(s, e) for s, e in dead_air],
        holds=[Silence(s, e) for s, e in holds],
        overtalk=[Overtalk(s, e, who) for s, e, who in overtalk],
        speech_rate_wpm={"agent": rate[0], "customer": rate[1]},
    )


def verdicts(result) -> dict[str, str]:
    return {r.item_id: r.verdict for r in result.items}


# a forbidden item judged by the dismissive conduct classifier (and a phrase item beside it)
CONDUCT = """\
scorecard: t
sections:
  - id: s
    items:
      - id: no-dismissive
        kind: forbidden
        auto_fail: true
        points: 0
        threshold: 0.95
        classifier: dismissive
        classifier_threshold: 0.5
        phrases: [I refuse to discuss the weather]
      - id: polite
        kind: phrase
        phrases: [thank you for calling]
"""
