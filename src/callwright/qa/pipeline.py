"""One call end to end: ingest -> ASR per channel -> redaction -> utterances -> sentiment
-> metrics -> score, giving the `ScoredCall` the store writes.

The order is the point. The recogniser's words of all channels are redacted
together (`redact_conversation`) before anything else sees them: utterances,
sentiment, the scorecard, the database and the logs only ever get "[CARD]",
never the digits. Redacting the whole call at once (rather than utterance by
utterance) catches a card read across a pause and an SSN given on one channel
in answer to a cue on the other (docs/redaction.md).

The steps are pure functions of their inputs; `Engines` holds the models
(loaded once per process, shared by every call a worker scores) and
`score_path` does the file I/O at the edges (reading the recording, writing the
optional redacted audio copy).
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callwright.qa import ingest
from callwright.qa.language import asked_language, call_language
from callwright.qa.metrics import TURN_GAP_S, conversation_metrics, merge, track_activity
from callwright.qa.model import CallMeta, Evidence, Role, ScoredCall, ScoreResult, Transcript, Utterance, Word
from callwright.qa.scorecard import Scorecard, score
from callwright.qa.scorecard.assignment import (
    check_scorecards,
    choose_by_language,
    choose_scorecard,
    transcript_language,
)
from callwright.qa.scorecard.model import OrderRule, PhraseRule
from callwright.qa.second_listen import ListenToStretch, ScreenStretch, SecondListenSettings, second_listen
from callwright.redaction import (
    RedactedWord,
    TimeRange,
    card_detail_windows,
    mute_dtmf,
    mute_ranges,
    names_from_metadata,
    redact_conversation,
)
from callwright.speech.asr.base import Recognition, TranscribeOptions
from callwright.speech.audio import Audio

if TYPE_CHECKING:
    from callwright.nlp.sentiment import SentimentModel
    from callwright.qa.scorecard import PhraseMatcher
    from callwright.qa.scorecard.matching import CallText
    from callwright.speech.asr.base import Recognizer, SecondReading

log = logging.getLogger(__name__)

QUARTERS = 4
LISTEN_PAD_S = 0.2  # audio either side of an utterance listened to again
LISTEN_MAX_S = 25.0  # a longer utterance is listened to around its closest span
MONO_NOTE = "mono recording: speakers not separated; matched on anything said (lower confidence)"


# -- models ----------------------------------------------------------------------------------------


@dataclass
class Engines:
    """The models one process scores with. The recogniser is loaded on first use, so a batch of
    imported transcripts never loads it."""

    engine: str = "auto"
    cpu_threads: int = 0  # ASR threads; 0 = the engine's default
    _recognizer: Recognizer | None = field(default=None, repr=False)
    _sentiment: SentimentModel | None = field(default=None, repr=False)
    _matcher: PhraseMatcher | None = field(default=None, repr=False)

    @property
    def recognizer(self) -> Recognizer:
        if self._recognizer is None:
            from callwright.speech.asr.factory import get_recognizer, resolve_engine

            self._recognizer = get_recognizer(resolve_engine(self.engine), cpu_threads=self.cpu_threads)
        return self._recognizer

    @property
    def sentiment(self) -> SentimentModel:
        if self._sentiment is None:
            from callwright.nlp.sentiment import get_sentiment_model

            self._sentiment = get_sentiment_model()
        return self._sentiment

    @property
    def matcher(self) -> PhraseMatcher:
        if self._matcher is None:
            from callwright.qa.scorecard.scoring import default_matcher

            self._matcher = default_matcher()
        return self._matcher


_engines: dict[tuple[str, int], Engines] = {}


def get_engines(engine: str = "auto", cpu_threads: int = 0) -> Engines:
    """The process-wide `Engines` for this ASR engine choice (models load once per process)."""
    key = (engine, cpu_threads)
    if key not in _engines:
        _engines[key] = Engines(engine, cpu_threads)
    return _engines[key]


# -- options and result ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PipelineOptions:
    """How to score: the ASR engine and where to write redacted audio copies (None: don't)."""

    engine: str = "auto"
    redact_audio_dir: Path | None = None
    turn_gap_s: float = TURN_GAP_S
    second_listen: SecondListenSettings | None = SecondListenSettings()  # None: score the first reading only
    language: str | None = None  # --language; None: each call's metadata, else the model's (qa.language)


@dataclass
class CallOutcome:
    """A scored call plus what the caller may want to show or measure."""

    scored: ScoredCall
    sentiment_quarters: dict[str, list[float | None]]
    redacted_ranges: list[TimeRange]
    redacted_audio: Path | None = None
    audio_s: float = 0.0
    asr_s: float = 0.0
    total_s: float = 0.0
    notes: tuple[str, ...] = ()


# -- pure steps --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Segment:
    """A stretch of one speaker's words that stays one utterance unless a turn rule splits it."""

    speaker: Role
    start: float
    end: float
    words: list[Word]
    confidence: float = 1.0


CONTEXT_WORDS = 120
"""At most this many words of scorecard phrasings go to the recogniser as context (Whisper keeps
the last 223 tokens of its prompt)."""


def asr_context(card: Scorecard) -> dict[Role, list[str]]:
    """What each speaker's track may be expected to say: the scorecard's phrase examples (not its
    forbidden ones: a recogniser primed with them would be likelier to hear them), per speaker.

    Every phrase item's first example comes first, then the others, up to `CONTEXT_WORDS` words,
    so a long scorecard still primes every item. A mono track ("unknown") gets every speaker's.
    """
    by_role: dict[Role, list[list[str]]] = {"agent": [], "customer": [], "unknown": []}
    for it in card.items:
        rules = [it.rule.first, it.rule.then] if isinstance(it.rule, OrderRule) else [it.rule]
        for rule in rules:
            if not isinstance(rule, PhraseRule) or it.kind == "forbidden":
                continue
            for role in by_role:
                if rule.speaker in (role, "any") or role == "unknown":
                    by_role[role].append(list(rule.phrases))
    out: dict[Role, list[str]] = {}
    for role, groups in by_role.items():
        ordered = [g[0] for g in groups if g] + [p for g in groups for p in g[1:]]
        chosen, words = [], 0
        for phrase in dict.fromkeys(ordered):
            n = len(phrase.split())
            if words + n > CONTEXT_WORDS:
                continue
            chosen.append(phrase)
            words += n
        if chosen:
            out[role] = chosen
    return out


def transcribe_tracks(
    call: ingest.IngestedCall,
    recognizer: Recognizer,
    context: Mapping[Role, Sequence[str]] | None = None,
    speech: Mapping[Role, Sequence[tuple[float, float]]] | None = None,
) -> dict[Role, list[_Segment]]:
    """Whole-call recognition of each speaker's track: the recogniser's segments with word times.

    What the recogniser is told follows its capabilities: to an engine with
    `priming`, `context` (from `asr_context`) gives the phrasings a speaker's
    track is expected to hold, as the IVR gives it a state's phrases; to one
    with `speech_regions`, `speech` (our own voice activity per track, as the
    metrics use) says which stretches to decode: Silero's VAD, Whisper's
    default, misses whole lines of band-limited speech (the closing of most
    sample calls). Whisper decodes the stretches joined, in its 30 s windows, not
    one by one: one by one in full windows cost 3-6 times the CPU, and in short
    windows (pieces) it was faster but heard fewer of the scorecard's phrases
    (docs/benchmarks/qa_transcripts.md). An engine without word times has its
    words spread evenly over each segment.
    """
    caps = recognizer.capabilities
    out: dict[Role, list[_Segment]] = {}
    for role, track in call.tracks.items():
        options = TranscribeOptions.of(
            phrases=(context or {}).get(role) if caps.priming else None,
            speech=speech.get(role) if caps.speech_regions and speech is not None else None,
        )
        segments = []
        for rec in recognizer.transcribe(track, options):
            words = _segment_words(rec) if caps.word_timestamps else _spread(rec)
            if words:
                segments.append(_Segment(role, words[0].start, words[-1].end, words, rec.confidence))
        out[role] = segments
    return out


def _segment_words(rec: Recognition) -> list[Word]:
    """A recognised segment's words with their own times (blank words dropped)."""
    return [Word(w.word, w.start, w.end, w.confidence) for w in rec.words if w.word.strip()]


def _spread(rec: Recognition) -> list[Word]:
    """A segment from an engine without word times: its words spread evenly over the segment."""
    parts = rec.text.split()
    step = (rec.end - rec.start) / len(parts) if parts else 0.0
    return [
        Word(p, rec.start + i * step, rec.start + (i + 1) * step, rec.confidence) for i, p in enumerate(parts)
    ]


def _spread_words(u: Utterance) -> list[Word]:
    """Words of an imported segment without word times: spread evenly over the segment."""
    if u.words:
        return list(u.words)
    parts = u.text.split()
    if not parts:
        return []
    step = (u.end - u.start) / len(parts)
    return [Word(p, u.start + i * step, u.start + (i + 1) * step) for i, p in enumerate(parts)]


def segments_from_transcript(transcript: Transcript) -> dict[Role, list[_Segment]]:
    """An imported transcript's utterances as per-speaker segments (redaction needs words)."""
    out: dict[Role, list[_Segment]] = {}
    for u in transcript.utterances:
        words = _spread_words(u)
        if words:
            out.setdefault(u.speaker, []).append(_Segment(u.speaker, u.start, u.end, words, u.confidence))
    return out


def redact_segments(
    segments: Mapping[Role, Sequence[_Segment]],
    names: Sequence[str] = (),
    *,
    audio: bool = True,
) -> tuple[dict[Role, list[list[RedactedWord]]], list[TimeRange]]:
    """Redact every speaker's words of the whole call together; returns the redacted words regrouped
    by the segment their first word came from, and the time ranges to silence.

    A redacted value read across two segments (a card number with a pause in it)
    becomes one "[CARD]" in the first of them. `names`: the customer's name from the call's
    metadata, redacted wherever it is said. `audio` False (an imported transcript: no audio to
    silence) leaves out the audio-only windows after CVV and expiry cues (`card_detail_windows`,
    about half of the redaction's 5 ms a call); the words are the same either way.
    """
    roles = list(segments)
    # Each speaker's words in time order (stable), each remembering its segment: imported
    # segments of one speaker may overlap (a transcriber's "uh huh" over a longer line), and
    # the regrouping below finds a word's segment by its start time.
    owned = [
        sorted(((w, i) for i, seg in enumerate(segments[r]) for w in seg.words), key=lambda p: p[0].start)
        for r in roles
    ]
    flat = [[w for w, _ in pairs] for pairs in owned]
    redacted, ranges = redact_conversation(flat, names=names)
    if audio:  # where a card's CVV/expiry may be even if misheard: silenced in the audio copy only
        ranges = sorted(ranges + card_detail_windows(flat, ranges), key=lambda r: r.start)
    out: dict[Role, list[list[RedactedWord]]] = {}
    for role, pairs, rwords in zip(roles, owned, redacted, strict=True):
        starts = [w.start for w, _ in pairs]
        owner = [i for _, i in pairs]
        groups: list[list[RedactedWord]] = [[] for _ in segments[role]]
        k = 0  # words come back in order: a cursor keeps two words that start together apart
        for rw in rwords:
            k = min(bisect.bisect_left(starts, rw.start - 1e-9, lo=k), len(starts) - 1)
            groups[owner[k]].append(rw)
            k = min(k + 1, len(starts) - 1)
        out[role] = groups
    return out, ranges


def _utterance(speaker: Role, words: Sequence[RedactedWord], confidence: float) -> Utterance:
    text = " ".join(w.word for w in words if w.word)
    kept = [Word(w.word, w.start, w.end, 1.0 if w.confidence is None else w.confidence) for w in words]
    return Utterance(speaker, words[0].start, max(w.end for w in words), text, kept, confidence)


def turns_from_words(
    words: Mapping[Role, Sequence[RedactedWord]],
    *,
    turn_gap_s: float = TURN_GAP_S,
    confidence: Mapping[Role, float] | None = None,
) -> list[Utterance]:
    """Utterances from recognised words: one speaker's words form one turn until they pause for
    `turn_gap_s` or someone else starts speaking in between (a back-channel splits a turn)."""
    starts = sorted((w.start, r) for r, ws in words.items() for w in ws)
    utterances: list[Utterance] = []
    for role, ws in words.items():
        conf = (confidence or {}).get(role, 1.0)
        current: list[RedactedWord] = []
        for w in ws:
            if current and (
                w.start - current[-1].end >= turn_gap_s
                or _other_started(starts, role, current[-1].end, w.start)
            ):
                utterances.append(_utterance(role, current, conf))
                current = []
            current.append(w)
        if current:
            utterances.append(_utterance(role, current, conf))
    return sorted(utterances, key=lambda u: (u.start, u.end))


def _other_started(starts: list[tuple[float, Role]], role: Role, a: float, b: float) -> bool:
    i = bisect.bisect_left(starts, (a,))
    while i < len(starts) and starts[i][0] < b:
        if starts[i][1] != role:
            return True
        i += 1
    return False


def utterances_from_segments(
    segments: Mapping[Role, Sequence[_Segment]],
    groups: Mapping[Role, list[list[RedactedWord]]],
    *,
    keep_words: bool = True,
) -> list[Utterance]:
    """Imported segments kept as they were cut, with their redacted words (empty ones dropped)."""
    out = []
    for role, segs in segments.items():
        for seg, words in zip(segs, groups[role], strict=True):
            if not words:
                continue
            u = _utterance(role, words, seg.confidence)
            u.start, u.end = min(u.start, seg.start), max(u.end, seg.end)
            if not keep_words:
                u.words = []
            out.append(u)
    return sorted(out, key=lambda u: (u.start, u.end))


def add_sentiment(transcript: Transcript, model: SentimentModel) -> None:
    """Rate every utterance in one batched call (the model sorts by length inside)."""
    if not transcript.utterances:
        return
    results = model.predict([u.text for u in transcript.utterances])
    for u, r in zip(transcript.utterances, results, strict=True):
        u.sentiment, u.sentiment_label = round(float(r.score), 4), r.label


def sentiment_by_quarter(transcript: Transcript, quarters: int = QUARTERS) -> dict[str, list[float | None]]:
    """Per speaker, the mean utterance sentiment in each quarter of the call (None: silent there).

    An utterance belongs to the quarter its start falls in, the same rule the
    scorecard's sentiment items use for the first and last quarter.
    """
    duration = transcript.duration_s or max((u.end for u in transcript.utterances), default=0.0)
    out: dict[str, list[float | None]] = {}
    for role in dict.fromkeys(u.speaker for u in transcript.utterances):
        sums, counts = [0.0] * quarters, [0] * quarters
        for u in transcript.by(role):
            if u.sentiment is None:
                continue
            q = min(quarters - 1, int(quarters * u.start / duration)) if duration > 0 else 0
            sums[q] += u.sentiment
            counts[q] += 1
        out[role] = [round(s / c, 4) if c else None for s, c in zip(sums, counts, strict=True)]
    return out


def for_unknown_speakers(card: Scorecard) -> Scorecard:
    """The scorecard with agent- or customer-only phrase rules opened to any speaker.

    On a mono recording nobody knows who said what; the disclosure was still said,
    so speaker-bound phrase items are judged on everything said and their evidence
    says so (`MONO_NOTE`). The scorecard version (its file hash) is unchanged.
    """

    def opened(rule: Any) -> Any:
        if isinstance(rule, PhraseRule) and rule.speaker != "any":
            return dataclasses.replace(rule, speaker="any")
        if isinstance(rule, OrderRule):
            return dataclasses.replace(rule, first=opened(rule.first), then=opened(rule.then))
        return rule

    sections = tuple(
        dataclasses.replace(s, items=tuple(dataclasses.replace(it, rule=opened(it.rule)) for it in s.items))
        for s in card.sections
    )
    return dataclasses.replace(card, sections=sections)


def _speaker_bound(card: Scorecard) -> set[str]:
    out = set()
    for it in card.items:
        rules = [it.rule.first, it.rule.then] if isinstance(it.rule, OrderRule) else [it.rule]
        if any(isinstance(r, PhraseRule) and r.speaker != "any" for r in rules):
            out.add(it.id)
    return out


def score_transcript(
    card: Scorecard,
    transcript: Transcript,
    metrics: Any,
    meta: CallMeta,
    matcher: PhraseMatcher,
    listen: ListenToStretch | None = None,
    settings: SecondListenSettings | None = None,
    screen: ScreenStretch | None = None,
    prepared: CallText | None = None,
) -> ScoreResult:
    """`score`, with the unknown-speaker treatment for calls whose speakers are not separated and,
    given `listen` (the call's audio), a second listen for the phrases the transcript missed (each
    stretch screened first with `screen`, when given). `prepared`: the call's
    `prepare_for_scoring`, when the caller has it (`score`)."""
    used = scored_as(card, transcript)
    result = score(used, transcript, metrics, meta, matcher=matcher, prepared=prepared)
    if listen is not None:
        names = names_from_metadata(meta.fields())
        result = second_listen(
            used,
            result,
            transcript,
            metrics,
            matcher,
            listen,
            settings or SecondListenSettings(),
            names,
            screen,
        )
    return with_mono_note(card, transcript, result)


def scored_as(card: Scorecard, transcript: Transcript) -> Scorecard:
    """The scorecard a call is judged with: speaker-bound rules opened to anyone on a call whose
    speakers are not separated (`for_unknown_speakers`)."""
    return card if transcript.diarization == "channels" else for_unknown_speakers(card)


def with_mono_note(card: Scorecard, transcript: Transcript, result: ScoreResult) -> ScoreResult:
    """On a call whose speakers are not separated, each speaker-bound item's verdict says so."""
    if transcript.diarization == "channels":
        return result
    bound = _speaker_bound(card)
    for it in result.items:
        if it.item_id in bound and it.verdict in ("pass", "fail"):
            it.evidence.append(Evidence(note=MONO_NOTE))
    return result


def prepare_for_scoring(
    card: Scorecard, transcript: Transcript, meta: CallMeta, matcher: PhraseMatcher
) -> CallText:
    """The call as `score_transcript` will match it (a mono call's rules opened to any speaker),
    for `PhraseMatcher.warm`: a batch warms a group of calls in one encoder call, then scores
    them one by one from the matcher's cache (the same vectors, fewer and fuller forward passes)."""
    from callwright.qa.scorecard.placeholders import call_values
    from callwright.qa.scorecard.scoring import phrase_rules

    used = scored_as(card, transcript)
    return matcher.prepare(transcript, call_values(used.values, meta), phrase_rules(used))


# -- one call, with I/O at the edges --------------------------------------------------------------------


def imported_transcript(
    path: Path, meta: CallMeta, options: PipelineOptions = PipelineOptions()
) -> tuple[Transcript, list[TimeRange]]:
    """An imported transcript read and redacted (before anything else sees it), and what was
    redacted. Raises DataError for a bad file."""
    imported = ingest.read_transcript(path, meta)
    segments = segments_from_transcript(imported)
    groups, ranges = redact_segments(segments, names_from_metadata(meta.fields()), audio=False)
    had_words = any(u.words for u in imported.utterances)
    utterances = utterances_from_segments(segments, groups, keep_words=had_words)
    transcript = Transcript(
        meta.call_id,
        imported.duration_s,
        utterances,
        source="transcript",
        diarization=imported.diarization,
        language=options.language or meta.language,
    )
    return transcript, ranges


def score_path(
    path: str | os.PathLike[str],
    card: Scorecard | Sequence[Scorecard],
    engines: Engines,
    *,
    meta: CallMeta | None = None,
    options: PipelineOptions = PipelineOptions(),
    imported: tuple[Transcript, list[TimeRange]] | None = None,
    prepared: CallText | None = None,
) -> CallOutcome:
    """Score one recording or imported transcript. Raises AudioError/DataError for a bad input.
    `imported`: the transcript's `imported_transcript`, when the caller read it already (a batch
    reads a group of them to embed their texts together: `prepare_for_scoring`, whose result is
    `prepared`).

    `card`: the scorecard, or several to choose among for this call (`scorecard.assignment`). For a
    recording the choice is made once its language is known and before it is transcribed (the
    card's phrasings prime the recogniser): told (`options.language`, the metadata's), else the
    model's own or the one it detects (`choose_by_language`; detection runs once, as it does
    anyway for a multilingual model told no language, and the tracks are then decoded in it). How
    an untold language entered the choice is one of the outcome's `notes`. A call none fits is a
    DataError."""
    t0 = time.perf_counter()
    p = Path(path)
    meta = meta if meta is not None else ingest.resolve_meta(p)
    asr_s = 0.0
    notes: tuple[str, ...] = ()
    call: ingest.IngestedCall | None = None
    choices = None if isinstance(card, Scorecard) else check_scorecards(card)
    used = card if isinstance(card, Scorecard) else card[0]  # the one, or chosen below
    if choices is not None and ingest.is_transcript(p):  # its language is told or unknown
        used = choose_scorecard(
            choices, dataclasses.replace(meta, language=options.language or meta.language)
        )
    if ingest.is_transcript(p):
        transcript, ranges = imported if imported is not None else imported_transcript(p, meta, options)
        rid, channels, rate, source = ingest.recording_id(p), 0, 0, "transcript"
    else:
        call = ingest.load_call(p, meta)
        notes = call.notes
        activity = {role: track_activity(track) for role, track in call.tracks.items()}
        speech = {role: spans for role, (spans, _) in activity.items()}
        a = time.perf_counter()
        told = asked_language(options.language, meta, str(p), engines.recognizer)
        spoken = call_language(engines.recognizer, call.tracks, speech, told)
        if choices is not None:  # chosen now: its assign_if may read the language heard
            assignment = choose_by_language(
                choices, dataclasses.replace(meta, language=told) if told else meta, spoken
            )
            used = assignment.card
            if assignment.note:
                sure = assignment.source in ("told", "model", "detected")
                log.log(logging.INFO if sure else logging.WARNING, "%s: %s", meta.call_id, assignment.note)
                notes = (*notes, assignment.note)
        recognizer = engines.recognizer.for_language(spoken.code if spoken else None)
        segments = transcribe_tracks(call, recognizer, asr_context(used), speech)
        asr_s = time.perf_counter() - a
        groups, ranges = redact_segments(segments, names_from_metadata(meta.fields()))
        words = {role: [w for g in gs for w in g] for role, gs in groups.items()}
        conf = {role: _mean_conf(segs) for role, segs in segments.items()}
        utterances = turns_from_words(words, turn_gap_s=options.turn_gap_s, confidence=conf)
        transcript = Transcript(
            meta.call_id, call.duration_s, utterances, source="audio", diarization=call.diarization
        )
        if spoken is not None:
            transcript.language, transcript.language_probability = spoken.code, spoken.probability
        rid, channels, rate, source = call.recording_id, call.channels, call.rate, "recording"
    # From here on only redacted text exists.
    add_sentiment(transcript, engines.sentiment)
    metrics = None
    if call is not None:  # as metrics_from_audio, reusing the voice activity found above
        music = merge(m for _, spans in activity.values() for m in spans)
        metrics = conversation_metrics(speech, call.duration_s, transcript, music=music)
    listen = screen = None
    if (
        call is not None
        and options.second_listen is not None
        and engines.recognizer.capabilities.second_listen
    ):
        listen = _stretch_listener(call, recognizer)
        if hasattr(recognizer, "screen_listen"):  # a recogniser that is no `Recognizer` has none
            screen = _stretch_screener(call, recognizer)
    # assign_if, as `score` checks it again, reads the language the scorecard was chosen by
    judged = (
        meta if meta.language else dataclasses.replace(meta, language=transcript_language(transcript, meta))
    )
    result = score_transcript(
        used, transcript, metrics, judged, engines.matcher, listen, options.second_listen, screen, prepared
    )
    scored = ScoredCall(rid, str(p), meta, channels, rate, transcript, metrics, result, source=source)
    redacted_audio = None
    if options.redact_audio_dir is not None and call is not None:
        redacted_audio = write_redacted_audio(p, ranges, Path(options.redact_audio_dir), meta.call_id)
    total = time.perf_counter() - t0
    log.info(
        "%s: %.1f s of %s scored in %.1f s (ASR %.1f s)",
        meta.call_id,
        transcript.duration_s,
        source,
        total,
        asr_s,
    )
    return CallOutcome(
        scored,
        sentiment_by_quarter(transcript),
        ranges,
        redacted_audio,
        audio_s=call.duration_s if call is not None else 0.0,
        asr_s=asr_s,
        total_s=total,
        notes=notes,
    )


def _stretch(
    call: ingest.IngestedCall, u: Utterance, span: tuple[float, float]
) -> tuple[Audio, float] | None:
    """An utterance's stretch of its speaker's track (with `LISTEN_PAD_S` of audio either side; at
    most `LISTEN_MAX_S`, centred on the closest span) and where it starts; None: no such track."""
    track = call.tracks.get(u.speaker)
    if track is None:
        return None
    a, b = u.start - LISTEN_PAD_S, u.end + LISTEN_PAD_S
    if b - a > LISTEN_MAX_S:
        middle = min(max((span[0] + span[1]) / 2, a + LISTEN_MAX_S / 2), b - LISTEN_MAX_S / 2)
        a, b = middle - LISTEN_MAX_S / 2, middle + LISTEN_MAX_S / 2
    a, b = max(0.0, a), min(call.duration_s, b)
    return Audio(track.samples[int(a * track.rate) : int(b * track.rate)], track.rate), a


def _stretch_listener(call: ingest.IngestedCall, recognizer: Recognizer) -> ListenToStretch:
    """The second listen's ears: an utterance's stretch (`_stretch`) decoded again."""

    def listen(u: Utterance, phrases: Sequence[str], span: tuple[float, float]) -> SecondReading | None:
        cut = _stretch(call, u, span)
        return None if cut is None else recognizer.second_listen(cut[0], phrases, offset_s=cut[1])

    return listen


def _stretch_screener(call: ingest.IngestedCall, recognizer: Recognizer) -> ScreenStretch:
    """The second listen's quick look: the same stretch (`_stretch`) read once, primed, text only."""

    def screen(u: Utterance, phrases: Sequence[str], span: tuple[float, float]) -> str | None:
        cut = _stretch(call, u, span)
        return "" if cut is None else recognizer.screen_listen(cut[0], phrases)

    return screen


def _mean_conf(segments: Sequence[_Segment]) -> float:
    return round(sum(s.confidence for s in segments) / len(segments), 4) if segments else 1.0


def write_redacted_audio(path: Path, ranges: Sequence[TimeRange], out_dir: Path, call_id: str) -> Path:
    """`<out_dir>/<call_id>.redacted.wav`: the recording with every redacted range and every keypad
    tone silenced on all channels (16-bit PCM; the original is left untouched). Keyed digits never
    reach the transcript, so only muting the tones keeps a keyed card number out of the copy."""
    from callwright.speech.audio import read_audio, write_wav

    audio = read_audio(path)
    muted, _ = mute_dtmf(mute_ranges(audio, ranges))
    return write_wav(out_dir / f"{call_id}.redacted.wav", muted)
