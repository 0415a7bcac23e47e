"""Rescoring a stored call with a new scorecard (version), without its audio.

The stored transcript is the first reading. Items a second listen confirmed were passed on a
second reading of some stretch, which lives only in that item's evidence ("heard again at
... first heard as '...'", `qa.second_listen`). A rescore cannot listen again, so it reads
those stored second readings instead: an item the first reading now misses is scored again
with the second readings that were heard for the same item id, as the second listen would
(a second reading only ever turns a miss into a pass). Without this, `qa rescore` of an
unchanged scorecard turned such passes into fails (found by a user audit).

What a rescore also cannot measure, the longest dead air or hold (only counts and totals of
silences are stored: `store.qa.RESCORE_GAPS`), is left for review (`rescore_gaps`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from callwright.qa.model import CallMeta, ConversationMetrics, Evidence, ItemResult, ScoreResult, Transcript
from callwright.qa.scorecard.matching import PhraseMatcher
from callwright.qa.scorecard.model import MetricRule, Scorecard
from callwright.qa.scorecard.scoring import score, score_item, with_items
from callwright.qa.second_listen import FIRST_HEARD_END as _END
from callwright.qa.second_listen import HEARD_AGAIN as _HEARD
from callwright.qa.second_listen import missed


@dataclass(frozen=True)
class StoredReading:
    """One stretch a second listen read again for an item: what the transcript keeps (`first`)
    and what the item passed on (`second`), both redacted as stored."""

    first: str
    second: str
    note: str


def stored_readings(evidence: Sequence[Evidence]) -> list[StoredReading]:
    """The second readings in one item's stored evidence (a second listen's note, then the
    evidence of the revised transcript: the entry whose text is not the first reading)."""
    notes = [e.note for e in evidence if _HEARD.match(e.note)]
    if not notes:
        return []
    texts = [e.text for e in evidence if e.text]
    out = []
    for note in notes:
        for part in _parts(note):
            first = part[part.index("first heard as '") + len("first heard as '") : part.rindex(_END)]
            second = next((t for t in texts if t != first), None)
            if second is not None:
                out.append(StoredReading(first, second, note))
    return out


def _parts(note: str) -> list[str]:
    """A note holds one hearing, or several joined by "; " (one per stretch)."""
    starts = [m.start() for m in _HEARD.finditer(note)]
    return [note[a:b] for a, b in zip(starts, [*starts[1:], len(note)], strict=True) if _END in note[a:b]]


def rescore(
    card: Scorecard,
    transcript: Transcript,
    metrics: ConversationMetrics | None,
    meta: CallMeta,
    matcher: PhraseMatcher,
    readings: Mapping[str, Sequence[StoredReading]],
    unmeasured: Sequence[str] = (),
) -> ScoreResult:
    """`card`'s result for a stored call, judged as `qa score` judges it (a call whose speakers are
    not separated included); `readings` by item id, from its earlier scores; `unmeasured`: the
    metrics the stored call cannot give."""
    from callwright.qa.pipeline import scored_as, with_mono_note

    used = scored_as(card, transcript)
    result = score(used, transcript, metrics, meta, matcher=matcher)
    verdicts = {r.item_id: r.verdict for r in result.items}
    changed = {}
    for it in used.items:
        heard = readings.get(it.id, ())
        if not heard or not missed(it, verdicts.get(it.id, "")):
            continue
        second = {r.first: r.second for r in heard}
        revised = dataclasses.replace(
            transcript,
            utterances=[
                dataclasses.replace(u, text=second[u.text], words=[]) if u.text in second else u
                for u in transcript.utterances
            ],
        )
        if revised.utterances == transcript.utterances:
            continue  # the stretch is not in this transcript any more
        note = "; ".join(dict.fromkeys(r.note for r in heard))
        kept = f"{note} (kept from an earlier score: a rescore does not listen again)"
        new = score_item(it, revised, metrics, matcher, kept)
        if new.verdict == "pass":
            changed[it.id] = new
    result = with_items(used, result, changed)
    result = with_items(used, result, rescore_gaps(used, result, unmeasured))
    return with_mono_note(card, transcript, result)


def rescore_gaps(card: Scorecard, result: ScoreResult, unmeasured: Sequence[str]) -> dict[str, ItemResult]:
    """Metric items a rescore cannot measure from the stored sums, turned into reviews."""
    out = {}
    for r in result.items:
        rule = card.item(r.item_id).rule
        if isinstance(rule, MetricRule) and rule.metric in unmeasured and r.verdict in ("pass", "fail"):
            why = f"{rule.metric} is not stored (only counts and totals): score the recording again"
            note = Evidence(note=why)
            out[r.item_id] = ItemResult(r.item_id, r.section, r.kind, "review", 0.0, 0.0, False, [note])
    return out
