"""One verdict per item kind, each with the evidence a reviewer needs to check it.

A scorer answers pass, fail, na (nothing to judge: the item is left out of the
denominator) or review (a human must answer); it never deals in points, which
`scoring` adds from the scorecard.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from callwright.qa.model import ConversationMetrics, Evidence, Transcript, Utterance, Verdict
from callwright.qa.scorecard import measures
from callwright.qa.scorecard.matching import CallText, Match, must_say
from callwright.qa.scorecard.model import MetricRule, OrderRule, PhraseRule, SentimentRule

MAX_EVIDENCE = 10


@dataclass
class Outcome:
    verdict: Verdict
    evidence: list[Evidence] = field(default_factory=list)


def _said(call: CallText, m: Match, note: str) -> Evidence:
    """The utterance, with the matched words (`span_chars`) and their times (`span_times`)."""
    u = call.transcript.utterances[m.utterance]
    times = (round(m.start, 3), round(m.end, 3))
    return Evidence(
        text=u.text,
        start=times[0],
        end=times[1],
        speaker=u.speaker,
        similarity=m.similarity,
        note=note if m.timed else f"{note}; times interpolated (no word times)",
        span_chars=m.chars,
        span_times=times,
    )


def _unfillable(call: CallText, rule: PhraseRule) -> Outcome | None:
    """Review, not fail, when every example names metadata this call lacks (`{agent}` unknown)."""
    missing = call.unfillable(rule)
    if not missing:
        return None
    named = ", ".join("{" + n + "}" for n in missing)
    note = f"every example needs {named}, which this call has no value for"
    if "customer" in missing:  # the metadata may well have a customer: an id, which no one says
        note += " ({customer} is the customer's name, redacted to [NAME]; the metadata names no customer)"
    return Outcome("review", [Evidence(note=note)])


def _named(call: CallText, rule: PhraseRule) -> str:
    """Why a stretch close to `my name is {agent}` did not count: the examples naming call
    metadata count only where its value is said (`matching.must_say`), which a reviewer reading
    "my name is john" on Maria's call needs to see."""
    said = sorted({" ".join(seq) for p in rule.phrases for seq in must_say(p, call.values)})
    if not said:
        return ""
    return (
        f"; the examples naming call metadata count only where {' and '.join(repr(w) for w in said)} is said"
    )


def _closest(m: Match) -> str:
    if m.cue is not None:
        return f"said the cue '{m.cue}' (meaning {m.meaning:.2f}, wording {m.wording:.2f})"
    return f"closest to '{m.example}' (meaning {m.meaning:.2f}, wording {m.wording:.2f})"


def _window(rule: PhraseRule) -> str:
    if rule.within_first_s is not None:
        return f" within the first {rule.within_first_s:g} s"
    if rule.within_last_s is not None:
        return f" within the last {rule.within_last_s:g} s"
    return ""


def _who(rule: PhraseRule) -> str:
    return "anyone" if rule.speaker == "any" else f"the {rule.speaker}"


def _best(matches: list[Match]) -> Match | None:
    return max(matches, key=lambda m: (m.similarity, -m.start), default=None)


def _earliest(matches: list[Match], threshold: float) -> Match | None:
    hits = [m for m in matches if m.similarity >= threshold]
    return min(hits, key=lambda m: m.start, default=None)


def phrase(call: CallText, rule: PhraseRule, duration: float) -> Outcome:
    """Pass when the speaker said something close enough to an example, in the time window."""
    if (unknown := _unfillable(call, rule)) is not None:
        return unknown
    best = _best(call.matches(rule, duration))
    if best is not None and best.similarity >= rule.threshold:
        return Outcome("pass", [_said(call, best, _closest(best))])
    evidence = []
    if best is not None:
        evidence.append(
            _said(
                call,
                best,
                f"best{_window(rule)} is under the threshold {rule.threshold:g}: {_closest(best)}"
                + _named(call, rule),
            )
        )
    else:
        evidence.append(Evidence(note=f"{_who(rule)} said nothing{_window(rule)}"))
    if rule.within_first_s is not None or rule.within_last_s is not None:
        anywhere = replace(rule, within_first_s=None, within_last_s=None)
        late = _earliest(call.matches(anywhere, duration), rule.threshold)
        if late is not None:
            evidence.append(_said(call, late, f"said at {late.start:.1f} s, not{_window(rule)}"))
    return Outcome("fail", evidence)


def forbidden(call: CallText, rule: PhraseRule, duration: float) -> Outcome:
    """Fail at every place the speaker said something close to a forbidden example, or (with a
    `classifier:`) something the classifier rates at least its threshold."""
    if (unknown := _unfillable(call, rule)) is not None:
        return unknown
    matches = call.matches(rule, duration)
    hits = [
        (m.start, m.utterance, _said(call, m, f"forbidden: {_closest(m)}"))
        for m in matches
        if m.similarity >= rule.threshold
    ]
    rated = _classified(call, rule, duration)
    seen = {ui for _, ui, _ in hits}
    flagged = [r for r in rated if r[3] >= rule.classifier_threshold and r[1] not in seen]
    hits += [(start, ui, e) for start, ui, e, _ in flagged]  # one piece of evidence per turn
    if hits:
        hits.sort(key=lambda h: h[0])
        return Outcome("fail", [e for _, _, e in hits[:MAX_EVIDENCE]])
    best = _best(matches)
    note = f"nothing reached the threshold {rule.threshold:g}"
    evidence = [_said(call, best, f"{note}; {_closest(best)}")] if best else [Evidence(note=note)]
    if rated:  # the stretch the classifier rated highest, under its threshold: what came closest
        evidence.append(max(rated, key=lambda r: r[3])[2])
    return Outcome("pass", evidence)


def _classified(
    call: CallText, rule: PhraseRule, duration: float
) -> list[tuple[float, int, Evidence, float]]:
    """(start, utterance, evidence, probability) of the most likely stretch of each utterance the
    rule looks at, rated by the rule's classifier; the stretches and vectors are the matcher's."""
    if not rule.classifier:
        return []
    from callwright.nlp import conduct

    if conduct.SPECS[rule.classifier].tuned_layers:
        # a fine-tuned model (conduct_model) rates the stretches' words; the matcher rated them
        # in its own forward pass when the call was prepared with the scorecard's rules
        idx, holder = call.rating_plan(rule, duration)
        if not len(idx):
            return []
        spans = call.rated_spans
        p = np.zeros(len(idx), np.float32)
        first = holder < 0
        p[first] = call.matcher.ratings(rule.classifier, [spans.texts[i] for i in idx[first]])
        # a window of a whole rated under the floor does not count: a piece of a kind sentence
        # can read curt on its own ("... my hands are tied on waiving it"); what counts is what
        # was said. The others are rated now (the wholes were rated in the call's first pass).
        held = ~first & (p[np.maximum(holder, 0)] >= conduct.CONTEXT_FLOOR)
        if held.any():
            p[held] = call.matcher.ratings(rule.classifier, [spans.texts[i] for i in idx[held]])
        keep = first | held
        idx, p = idx[keep], p[keep]
    else:
        head = conduct.get_head(rule.classifier)
        conduct.check_encoder(head, call.matcher.encoder)
        all_idx, vectors = call.stretches(rule, duration)
        idx = call.rated_stretches(rule, duration, units=False)
        if not len(idx):
            return []
        spans = call.spans
        p = head.probability(vectors[np.isin(all_idx, idx)])
    best: dict[int, int] = {}  # utterance -> position in idx of its most likely stretch
    for k, si in enumerate(idx):
        ui = int(spans.utterance[si])
        if ui not in best or p[k] > p[best[ui]]:
            best[ui] = k
    out = []
    for ui, k in best.items():
        si, prob = int(idx[k]), float(p[k])
        u = call.transcript.utterances[ui]
        times = (round(float(spans.start[si]), 3), round(float(spans.end[si]), 3))
        verb = "forbidden: the" if prob >= rule.classifier_threshold else "highest: the"
        note = (
            f"{verb} {rule.classifier} classifier rates '{spans.texts[si]}' "
            f"{prob:.2f} (threshold {rule.classifier_threshold:g})"
        )
        evidence = Evidence(
            text=u.text,
            start=times[0],
            end=times[1],
            speaker=u.speaker,
            value=round(prob, 4),
            note=note if call.timed[ui] else f"{note}; times interpolated (no word times)",
            span_chars=(int(spans.cstart[si]), int(spans.cend[si])),
            span_times=times,
        )
        out.append((times[0], ui, evidence, prob))
    return out


def order(call: CallText, rule: OrderRule, duration: float) -> Outcome:
    """Pass when `first` is first said before `then`; na when `then` is never said."""
    first_name, then_name = rule.first_ref or "first", rule.then_ref or "then"
    then = _earliest(call.matches(rule.then, duration), rule.then.threshold)
    if then is None:
        return Outcome("na", [Evidence(note=f"'{then_name}' was never said, so there is nothing to order")])
    first = _earliest(call.matches(rule.first, duration), rule.first.threshold)
    then_ev = _said(call, then, f"'{then_name}' first said at {then.start:.1f} s ({_closest(then)})")
    if first is None:
        return Outcome("fail", [Evidence(note=f"'{first_name}' was never said"), then_ev])
    first_ev = _said(call, first, f"'{first_name}' first said at {first.start:.1f} s ({_closest(first)})")
    return Outcome("pass" if first.start <= then.start else "fail", [first_ev, then_ev])


def metric(metrics: ConversationMetrics | None, rule: MetricRule) -> Outcome:
    """Pass when the measured value lies within [min, max]; na when the call has no such value."""
    name = measures.label(rule.metric)
    if metrics is None:
        return Outcome("na", [Evidence(note=f"{name}: no conversation metrics (transcript without audio)")])
    value = measures.measure(rule.metric, metrics)
    if value is None:
        return Outcome("na", [Evidence(note=f"{name}: not measurable on this call")])
    limits = " and ".join(f"{k} {v:g}" for k, v in (("min", rule.min), ("max", rule.max)) if v is not None)
    ok = (rule.min is None or value >= rule.min) and (rule.max is None or value <= rule.max)
    return Outcome(
        "pass" if ok else "fail", [Evidence(value=round(value, 4), note=f"{name} {value:.4g}; {limits}")]
    )


def sentiment(transcript: Transcript, rule: SentimentRule, duration: float) -> Outcome:
    """The speaker's sentiment at the end, or its change from the first to the last quarter."""
    spoken = transcript.by(rule.speaker)
    if not spoken:
        return Outcome("na", [Evidence(note=f"the {rule.speaker} said nothing")])
    rated = [u for u in spoken if u.sentiment is not None]
    if not rated:
        return Outcome(
            "review", [Evidence(note="no sentiment values on this transcript; run sentiment before scoring")]
        )
    if rule.check == "end":
        return _sentiment_end(rated, rule, duration)
    return _sentiment_trajectory(rated, rule, duration)


def _mean(utts: list[Utterance]) -> float:
    return round(sum(u.sentiment or 0.0 for u in utts) / len(utts), 4)


def _quarter(utts: list[Utterance], duration: float, last: bool) -> list[Utterance]:
    """The speaker's utterances in the first or last quarter of the call; when that quarter has none,
    the first or last quarter of the speaker's utterances."""
    picked = [u for u in utts if (u.start >= 0.75 * duration if last else u.start < 0.25 * duration)]
    if picked:
        return picked
    k = math.ceil(len(utts) / 4)
    return utts[-k:] if last else utts[:k]


def _rated(utts: list[Utterance], note: str) -> list[Evidence]:
    return [
        Evidence(
            text=u.text,
            start=round(u.start, 3),
            end=round(u.end, 3),
            speaker=u.speaker,
            value=u.sentiment,
            note=f"{note}: {u.sentiment_label or ''}".rstrip(": "),
        )
        for u in utts[-MAX_EVIDENCE:]
    ]


def _sentiment_end(rated: list[Utterance], rule: SentimentRule, duration: float) -> Outcome:
    window = rated[-rule.last_n :] if rule.last_n else _quarter(rated, duration, last=True)
    where = f"last {len(window)} utterance(s)" if rule.last_n else "last quarter"
    mean = _mean(window)
    verdict: Verdict = "pass" if mean >= rule.min else "fail"
    summary = Evidence(
        value=mean, note=f"{rule.speaker} mean sentiment over the {where}: {mean:+.2f} (min {rule.min:+.2f})"
    )
    return Outcome(verdict, [summary, *_rated(window, "end")])


def _sentiment_trajectory(rated: list[Utterance], rule: SentimentRule, duration: float) -> Outcome:
    if len(rated) < 2:
        return Outcome("na", [Evidence(note=f"one {rule.speaker} utterance: too few for a trend")])
    first, last = _quarter(rated, duration, last=False), _quarter(rated, duration, last=True)
    start, end = _mean(first), _mean(last)
    change = round(end - start, 4)
    trend = (
        "improving" if change >= rule.min_change else "worsening" if change <= -rule.min_change else "steady"
    )
    ok = trend == "improving" if rule.expect == "improving" else trend != "worsening"
    summary = Evidence(
        value=change,
        note=f"{rule.speaker} sentiment {start:+.2f} in the first quarter, "
        f"{end:+.2f} in the last: {trend} (expected {rule.expect})",
    )
    return Outcome(
        "pass" if ok else "fail", [summary, *_rated(first, "first quarter"), *_rated(last, "last quarter")]
    )


def manual(question: str) -> Outcome:
    return Outcome("review", [Evidence(note=f"for a reviewer: {question}")])
