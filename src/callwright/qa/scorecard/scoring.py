"""Score a call against a scorecard: verdicts per item, then one 0-100 score.

Convention (AWS Connect evaluation forms, Ozonetel, ConnectiveOne; see
docs/scorecards.md): not-applicable items leave the denominator (they do not get
full credit); items waiting for a reviewer do not count until answered; a failed
auto_fail item sets `auto_failed` and makes the score 0, while `raw_score` keeps
what the call would have scored without it, for coaching.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from callwright.common.expr import ExpressionError
from callwright.qa.model import (
    CallMeta,
    ConversationMetrics,
    Evidence,
    ItemResult,
    ScoreResult,
    Transcript,
    Verdict,
)
from callwright.qa.scorecard import scorers
from callwright.qa.scorecard.assignment import fits
from callwright.qa.scorecard.conditions import applies, call_duration, environment
from callwright.qa.scorecard.matching import CallText, PhraseMatcher
from callwright.qa.scorecard.model import (
    Item,
    ManualRule,
    MetricRule,
    OrderRule,
    PhraseRule,
    Scorecard,
    SentimentRule,
)
from callwright.qa.scorecard.placeholders import call_values

log = logging.getLogger(__name__)

_default_matcher: PhraseMatcher | None = None


def default_matcher() -> PhraseMatcher:
    """The process-wide matcher (the shared MiniLM encoder and one vector cache)."""
    global _default_matcher
    if _default_matcher is None:
        _default_matcher = PhraseMatcher()
    return _default_matcher


def score(
    scorecard: Scorecard,
    transcript: Transcript,
    metrics: ConversationMetrics | None,
    meta: CallMeta,
    *,
    matcher: PhraseMatcher | None = None,
    prepared: CallText | None = None,
) -> ScoreResult:
    """Score one call. Deterministic: the same inputs give the same result (the matcher only
    caches sentence vectors). `metrics` is None for transcripts imported without audio.
    `prepared`: this transcript as `PhraseMatcher.prepare` gave it for this scorecard's values
    and phrase rules (a batch prepares a group of calls to embed their texts together,
    `qa.pipeline.prepare_for_scoring`): its words and stretches are not worked out again."""
    if not fits(scorecard, meta.direction, meta):
        if fits(scorecard, meta.direction):
            assert scorecard.assign_if is not None
            note = f"scorecard is for calls where {scorecard.assign_if.source}; this call is not"
        else:
            note = f"scorecard is for {scorecard.applies_to} calls; this call is {meta.direction}"
        items = [_result(it, "na", [Evidence(note=note)]) for it in scorecard.items]
        return _total(scorecard, meta.call_id, items)
    env = environment(transcript, metrics, meta)
    duration = call_duration(transcript)
    values = call_values(scorecard.values, meta)
    rules = phrase_rules(scorecard)
    if not _prepared_for(prepared, transcript, values, rules):
        prepared = (matcher or default_matcher()).prepare(transcript, values, rules)
    assert prepared is not None
    call = prepared
    items = []
    for it in scorecard.items:
        try:
            applicable = applies(it.applies_if, env)
        except ExpressionError as err:
            items.append(_result(it, "review", [Evidence(note=f"applies_if could not be evaluated: {err}")]))
            continue
        if not applicable and it.applies_if is not None:  # (only a condition can say no)
            items.append(_result(it, "na", [Evidence(note=f"not applicable: {it.applies_if.source}")]))
            continue
        outcome = _judge(it, call, transcript, metrics, duration)
        items.append(_result(it, outcome.verdict, outcome.evidence))
    result = _total(scorecard, meta.call_id, items)
    log.debug("scored %s with %s: %s", meta.call_id, scorecard.id, result.score)
    return result


def _prepared_for(
    call: CallText | None, transcript: Transcript, values: Mapping[str, str | None], rules: list[PhraseRule]
) -> bool:
    """Whether a prepared call is this transcript's with these values and rules."""
    return (
        call is not None
        and call.transcript is transcript
        and call.values == values
        and call.rules == tuple(rules)
    )


def phrase_rules(scorecard: Scorecard) -> list[PhraseRule]:
    """The phrase rules a scorecard's items match (an order item's two included)."""
    out: list[PhraseRule] = []
    for it in scorecard.items:
        if isinstance(it.rule, PhraseRule):
            out.append(it.rule)
        elif isinstance(it.rule, OrderRule):
            out.extend((it.rule.first, it.rule.then))
    return out


def apply_reviews(scorecard: Scorecard, result: ScoreResult, verdicts: Mapping[str, Verdict]) -> ScoreResult:
    """The result with reviewers' verdicts (item id -> pass/fail/na) in place of the automatic ones;
    each reviewed item's evidence says what the machine had answered."""
    changed = {}
    for r in result.items:
        human = verdicts.get(r.item_id)
        if human is not None and human != r.verdict:
            note = Evidence(note=f"reviewer: {human} (automatic: {r.verdict})")
            changed[r.item_id] = _result(scorecard.item(r.item_id), human, [note, *r.evidence])
    return with_items(scorecard, result, changed)


def with_items(scorecard: Scorecard, result: ScoreResult, changed: Mapping[str, ItemResult]) -> ScoreResult:
    """The result with some items' results replaced, totals recomputed."""
    if not changed:
        return result
    return _total(scorecard, result.call_id, [changed.get(r.item_id, r) for r in result.items])


def score_item(
    it: Item,
    transcript: Transcript,
    metrics: ConversationMetrics | None,
    matcher: PhraseMatcher,
    evidence_note: str = "",
) -> ItemResult:
    """One item judged on its own (applicability not rechecked), e.g. on a transcript where some
    utterances were heard again; `evidence_note` leads its evidence."""
    outcome = _judge(it, matcher.prepare(transcript), transcript, metrics, call_duration(transcript))
    lead = [Evidence(note=evidence_note)] if evidence_note else []
    return _result(it, outcome.verdict, lead + outcome.evidence)


def _judge(
    it: Item, call: CallText, transcript: Transcript, metrics: ConversationMetrics | None, duration: float
) -> scorers.Outcome:
    rule = it.rule
    if isinstance(rule, PhraseRule):
        return (scorers.forbidden if it.kind == "forbidden" else scorers.phrase)(call, rule, duration)
    if isinstance(rule, OrderRule):
        return scorers.order(call, rule, duration)
    if isinstance(rule, MetricRule):
        return scorers.metric(metrics, rule)
    if isinstance(rule, SentimentRule):
        return scorers.sentiment(transcript, rule, duration)
    assert isinstance(rule, ManualRule)
    return scorers.manual(rule.question)


def _result(it: Item, verdict: Verdict, evidence: list[Evidence]) -> ItemResult:
    counted = verdict in ("pass", "fail")
    return ItemResult(
        item_id=it.id,
        section=it.section,
        kind=it.kind,
        verdict=verdict,
        points=it.points if verdict == "pass" else 0.0,
        max_points=it.points if counted else 0.0,
        auto_fail=it.auto_fail and verdict == "fail",
        evidence=evidence,
    )


def _total(scorecard: Scorecard, call_id: str, items: list[ItemResult]) -> ScoreResult:
    """0-100 over the items that count: by section weight when sections have weights, else by points."""
    earned: dict[str, float] = {}
    possible: dict[str, float] = {}
    for r in items:
        earned[r.section] = earned.get(r.section, 0.0) + r.points
        possible[r.section] = possible.get(r.section, 0.0) + r.max_points
    counted = [s for s in scorecard.sections if possible.get(s.id, 0.0) > 0]
    raw: float | None = None
    if counted and scorecard.weighted:
        total_weight = sum(s.weight or 0.0 for s in counted)
        raw = 100.0 * sum((s.weight or 0.0) * earned[s.id] / possible[s.id] for s in counted) / total_weight
    elif counted:
        raw = 100.0 * sum(earned[s.id] for s in counted) / sum(possible[s.id] for s in counted)
    raw = None if raw is None else round(raw, 2)
    auto_failed = any(r.auto_fail for r in items)
    return ScoreResult(
        call_id=call_id,
        scorecard=scorecard.id,
        scorecard_version=scorecard.version,
        score=0.0 if auto_failed else raw,
        auto_failed=auto_failed,
        items=items,
        raw_score=raw,
    )
