"""The variables an item's `applies_if` can read, and its evaluation.

Conditions use the flow expression language (`callwright.common.expr`): safe,
never Python's eval. The variable names are fixed so that the loader can reject
a misspelt one at its line instead of every call quietly skipping the item.
"""

from __future__ import annotations

from typing import Any

from callwright.common import expr
from callwright.qa.model import CallMeta, ConversationMetrics, Transcript
from callwright.qa.scorecard.assignment import LANGUAGE_CHOICE_MIN, transcript_language

VARIABLES: dict[str, str] = {
    "call_id": "the call's id",
    "direction": "inbound or outbound (null when unknown)",
    "agent": "agent name or id",
    "team": "team",
    "customer": "customer id or number",
    "queue": "queue",
    "campaign": "campaign",
    "disposition": "disposition",
    "language": "the call's language, primary subtag (es): told (--language, metadata), else the "
    f"recogniser's own or the one it detected with probability of at least {LANGUAGE_CHOICE_MIN} "
    "(the language the scorecard was chosen by); null when unknown",
    "duration_s": "call length in seconds",
    "has_metrics": "true when conversation metrics were measured (audio), false for imported transcripts",
    "has_hold": "true when the call had a hold",
    "hold_count": "number of holds",
    "dead_air_count": "number of dead-air silences",
    "agent_turns": "number of agent utterances",
    "customer_turns": "number of customer utterances",
    "source": "audio or transcript",
    "text": "the whole transcript, lower case",
    "agent_text": "what the agent said, lower case",
    "customer_text": "what the customer said, lower case",
}


def environment(
    transcript: Transcript, metrics: ConversationMetrics | None, meta: CallMeta
) -> dict[str, Any]:
    """The values of `VARIABLES` for one call."""

    def said(role: str | None) -> str:
        return " ".join(u.text for u in transcript.utterances if role is None or u.speaker == role).lower()

    holds = metrics.holds if metrics else []
    return {
        "call_id": meta.call_id,
        "direction": meta.direction,
        "agent": meta.agent,
        "team": meta.team,
        "customer": meta.customer,
        "queue": meta.queue,
        "campaign": meta.campaign,
        "disposition": meta.disposition,
        "language": transcript_language(transcript, meta),
        "duration_s": call_duration(transcript),
        "has_metrics": metrics is not None,
        "has_hold": bool(holds),
        "hold_count": len(holds),
        "dead_air_count": len(metrics.dead_air) if metrics else 0,
        "agent_turns": len(transcript.by("agent")),
        "customer_turns": len(transcript.by("customer")),
        "source": transcript.source,
        "text": said(None),
        "agent_text": said("agent"),
        "customer_text": said("customer"),
    }


def call_duration(transcript: Transcript) -> float:
    """The transcript's duration, or the end of its last utterance when it has none."""
    if transcript.duration_s > 0:
        return transcript.duration_s
    return max((u.end for u in transcript.utterances), default=0.0)


def applies(condition: expr.Expression | None, env: dict[str, Any]) -> bool:
    """Whether an item applies; raises ExpressionError when the condition cannot be evaluated."""
    return True if condition is None else bool(condition.evaluate(env))
