"""The QA pipeline end to end from audio (real espeak-ng calls, faster-whisper tiny.en, MiniLM,
SQLite), and its pure steps: whole-call redaction before utterances, turns, sentiment by quarter,
the unknown-speaker treatment of mono calls."""

from __future__ import annotations

import re
import sqlite3

import pytest
from tests.db_text import text_values

from callwright.qa.model import Transcript, Utterance, Word
from callwright.qa.pipeline import (
    MONO_NOTE,
    for_unknown_speakers,
    redact_segments,
    segments_from_transcript,
    sentiment_by_quarter,
    turns_from_words,
    utterances_from_segments,
)
from callwright.qa.samples import expect_entries, expect_mismatches
from callwright.redaction import RedactedWord
from conftest import CARDS, DEFAULT_SAMPLES


def mismatches(script, outcome) -> dict[str, tuple]:
    """`expect_mismatches` of a `CallOutcome`."""
    result = outcome.scored.result
    return expect_mismatches(
        script,
        {r.item_id: r.verdict for r in result.items},
        result.auto_failed,
        outcome.scored.metrics,
        outcome.scored.transcript.diarization,
    )


# -- end to end from audio ----------------------------------------------------------------------------

ALL_SAMPLES = (
    "inbound-angry-calms",
    "inbound-billing-ok",
    "inbound-card-payment",
    "inbound-late-disclosure",
    "inbound-no-disclosure",
    "inbound-support-hold",
    "outbound-reminder-mono",
    "outbound-sales-compliant",
    "outbound-sales-no-id",
    "outbound-sales-no-optout",
)

# What the pipeline from audio is held to. Whisper tiny.en reads these synthetic 8 kHz calls at the
# edge of what it hears, so which entries a machine gets wrong moves with CTranslate2's and MKL's
# kernels, the thread count and the line noise's seed (docs/benchmarks/robustness.md: with AVX2
# kernels 3 entries of the four default calls and 3 of the ten calls differ, none here). The sample
# set as a whole is held to a floor instead, far above what a recogniser that heard nothing would
# get (20 of the default 25 entries, 51 of all 70 off); the scorecard's own logic is held exactly
# on the scripts' text (the test below).
DEFAULT_MAX_OFF = 6
"""Entries of the four default calls' `expect` blocks (25) that may differ from audio."""
ALL_MIN_CALLS = 5
"""Of the ten sample calls, at least this many meet their whole `expect` block from audio."""
ALL_MAX_OFF = 12
"""Entries of the ten calls' `expect` blocks (70) that may differ from audio."""


def test_the_sample_list_is_every_script(scripts):
    assert set(ALL_SAMPLES) == set(scripts) and set(DEFAULT_SAMPLES) <= set(ALL_SAMPLES)


@pytest.mark.parametrize("name", ALL_SAMPLES)
def test_the_scripts_own_text_scores_as_expected(render_samples, scripts, cards, engines, name):
    """A perfect recogniser: the script's lines at their rendered times, with the metrics measured from
    the rendered audio, meet the whole `expect` block. A failure here is the scorecard's, not the ASR's."""
    from callwright.qa import ingest
    from callwright.qa.metrics import metrics_from_audio
    from callwright.qa.pipeline import add_sentiment, score_transcript

    path = render_samples([name])[name]
    script = scripts[name]
    meta = ingest.resolve_meta(path)
    transcript = ingest.read_transcript(path.parent / "ref" / f"{name}.json", meta)
    add_sentiment(transcript, engines.sentiment)
    metrics = metrics_from_audio(ingest.load_call(path, meta), transcript)
    result = score_transcript(cards[script.meta.direction], transcript, metrics, meta, engines.matcher)
    verdicts = {r.item_id: r.verdict for r in result.items}
    assert expect_mismatches(script, verdicts, result.auto_failed, metrics) == {}


def test_another_rendering_is_the_same_call_with_other_line_noise(synth, scripts):
    """`CALLWRIGHT_SAMPLE_SEED` renders the samples with other seeds: the same lines at the same
    times at the same level, only the noise differs (about the script's SNR below the speech)."""
    import numpy as np

    from callwright.qa.samples import render, variant_seed

    script = scripts["outbound-sales-no-id"]
    assert variant_seed(script, 0) is None and variant_seed(script, 1) != variant_seed(script, 2)
    committed, other = render(script, synth), render(script, synth, seed=variant_seed(script, 1))
    assert other.turns == committed.turns and other.holds == committed.holds
    a, b = committed.audio.samples.astype(float), other.audio.samples.astype(float)
    assert a.shape == b.shape and not np.array_equal(a, b)
    snr_db = 10 * np.log10(np.mean(a**2) / np.mean((a - b) ** 2))
    assert script.noise_snr_db - 10 < snr_db, snr_db  # two noises apart, well under the speech


def test_the_default_sample_calls_score_mostly_as_expected_from_audio(scored_db):
    """From audio, the four default calls meet their `expect` blocks but for at most `DEFAULT_MAX_OFF`
    entries: the whole pipeline works, without resting on which phrase tiny.en hears on this machine."""
    _, samples = scored_db
    off = {name: mismatches(s.script, s.outcome) for name, s in samples.items()}
    total = sum(expect_entries(s.script) for s in samples.values())
    assert total == 25
    assert sum(len(o) for o in off.values()) <= DEFAULT_MAX_OFF, off


def test_no_call_passes_a_compliance_item_its_script_fails(scored_db, cards):
    """What a wrong reading must never do: pass an auto-fail item the call does not meet (a missing
    disclosure). Reading errors lose phrases; a pass needs the phrase, and the second listen takes a
    primed reading only when the audio backs it."""
    _, samples = scored_db
    auto_fail = {it.id for card in cards.values() for it in card.items if it.auto_fail}
    checked = 0
    for name, s in samples.items():
        verdicts = {r.item_id: r.verdict for r in s.outcome.scored.result.items}
        for item, want in (s.script.expect.get("items") or {}).items():
            if item in auto_fail and want == "fail":
                checked += 1
                assert verdicts[item] != "pass", (name, item)
        if s.script.expect["auto_failed"]:
            assert s.outcome.scored.result.auto_failed, name
    assert checked >= 2


@pytest.fixture(scope="module")
def batch_db(tmp_path_factory, render_samples, scripts, cards):
    """Every sample scored from audio through `score_batch` with two worker processes."""
    from callwright.store.qa_batch import score_batch

    paths = render_samples(list(ALL_SAMPLES))
    db = tmp_path_factory.mktemp("qa-batch") / "qa.db"
    for direction in ("inbound", "outbound"):
        chosen = [p for n, p in paths.items() if scripts[n].meta.direction == direction]
        s = score_batch(chosen, cards[direction], db, workers=2, engine="whisper")
        assert not s.of("error") and len(s.of("scored")) == len(chosen)
    return db, paths


@pytest.mark.slow
def test_the_sample_calls_score_as_expected_from_audio_with_two_workers(batch_db, scripts):
    """The `expect` blocks of all ten samples, read back from the database the batch wrote (metrics
    measured from the same audio: the metrics table does not keep every measure): at least
    `ALL_MIN_CALLS` calls in full and all but `ALL_MAX_OFF` entries (bench/qa_transcript_wer.py
    --score gives the figures per machine)."""
    from callwright.qa import ingest
    from callwright.qa.metrics import metrics_from_audio

    db, paths = batch_db
    con = sqlite3.connect(db)
    off = {}
    for name in ALL_SAMPLES:
        verdicts = dict(con.execute("select item_id, verdict from item_scores where call_id = ?", [name]))
        (auto_failed,) = con.execute("select auto_failed from scores where call_id = ?", [name]).fetchone()
        speakers = {
            r for (r,) in con.execute("select distinct speaker from utterances where call_id = ?", [name])
        }
        metrics = metrics_from_audio(ingest.load_call(paths[name], ingest.resolve_meta(paths[name])))
        diarization = "none" if speakers == {"unknown"} else "channels"
        off[name] = expect_mismatches(scripts[name], verdicts, bool(auto_failed), metrics, diarization)
    con.close()
    assert sum(expect_entries(scripts[n]) for n in ALL_SAMPLES) == 70
    assert sum(not o for o in off.values()) >= ALL_MIN_CALLS, off
    assert sum(len(o) for o in off.values()) <= ALL_MAX_OFF, off
    assert set(CARDS) == {"inbound", "outbound"}


def test_no_card_number_or_ssn_from_the_samples_reaches_the_database(scored_db, scripts):
    db_path, samples = scored_db
    secrets = {
        f"{sid}.{k}": re.sub(r"\D", "", v)
        for sid, s in scripts.items()
        for k, v in (s.expect.get("never_stored") or {}).items()
        if k in ("card", "ssn")
    }
    assert secrets and "inbound-card-payment" in samples
    values = text_values(db_path)
    assert any(t == "utterances" for t, _, _ in values)
    leaks = [
        (t, c, name)
        for t, c, v in values
        for name, digits in secrets.items()
        if digits in re.sub(r"\D", "", v)
    ]
    assert leaks == []
    stored = " ".join(v for t, c, v in values if t == "utterances" and c == "text")
    assert "[CARD]" in stored  # the card reading was found, not merely misheard


def test_redacted_audio_copy_is_silent_where_the_card_was_read(scored_db):
    from callwright.speech.audio import read_audio

    _, samples = scored_db
    o = samples["inbound-card-payment"].outcome
    assert o.redacted_audio is not None and o.redacted_ranges
    audio = read_audio(o.redacted_audio)
    for r in o.redacted_ranges:
        a, b = int(r.start * audio.rate), int(r.end * audio.rate)
        assert not audio.samples[a:b].any()


def test_every_utterance_has_sentiment_and_quarters_per_speaker(scored_db):
    _, samples = scored_db
    o = samples["inbound-card-payment"].outcome
    utts = o.scored.transcript.utterances
    assert utts and all(u.sentiment is not None and u.sentiment_label for u in utts)
    assert set(o.sentiment_quarters) == {"agent", "customer"}
    assert all(len(q) == 4 for q in o.sentiment_quarters.values())
    assert {u.speaker for u in utts} == {"agent", "customer"}
    assert o.scored.metrics is not None and o.scored.metrics.talk_s["agent"] > 10


def test_mono_call_is_scored_with_speaker_unknown(scored_db):
    _, samples = scored_db
    o = samples["outbound-reminder-mono"].outcome
    t = o.scored.transcript
    assert t.diarization == "none" and {u.speaker for u in t.utterances} == {"unknown"}
    ident = next(r for r in o.scored.result.items if r.item_id == "caller-identification")
    assert any(e.note == MONO_NOTE for e in ident.evidence)


# -- pure steps -------------------------------------------------------------------------------------------


def _words(text: str, start: float, step: float = 0.4) -> list[Word]:
    return [Word(w, start + i * step, start + i * step + 0.3) for i, w in enumerate(text.split())]


def test_a_card_read_across_two_segments_is_redacted_before_utterances_exist():
    imported = Transcript(
        "c",
        30.0,
        [
            Utterance("agent", 0.0, 3.0, "please read me the long number on the card"),
            Utterance("customer", 4.0, 7.0, "it is four five three two oh one five one"),
            Utterance("customer", 8.0, 11.0, "one two eight three oh three six six"),
        ],
        source="transcript",
    )
    segments = segments_from_transcript(imported)
    groups, ranges = redact_segments(segments)
    utts = utterances_from_segments(segments, groups, keep_words=False)
    text = " ".join(u.text for u in utts)
    assert "[CARD]" in text and not re.search(r"\b(one|two|three|five|six|eight)\b", text)
    assert ranges and ranges[0].start >= 4.0


def test_turns_split_at_pauses_and_when_the_other_side_speaks():
    def rw(ws):
        return [RedactedWord(w.word, w.start, w.end) for w in ws]

    agent = rw(_words("hello there how can I help", 0.0) + _words("sure one moment", 6.0))
    customer = rw(_words("hi", 2.6) + _words("I need help", 3.5))
    utts = turns_from_words({"agent": agent, "customer": customer})
    assert [(u.speaker, u.text) for u in utts] == [
        ("agent", "hello there how can I help"),
        ("customer", "hi I need help"),
        ("agent", "sure one moment"),
    ]
    back_channel = turns_from_words(
        {"agent": rw(_words("one two three four five six", 0.0)), "customer": rw(_words("right", 1.12))}
    )
    assert [u.text for u in back_channel] == ["one two three", "right", "four five six"]


def test_sentiment_by_quarter_averages_each_speakers_utterances():
    t = Transcript(
        "c",
        100.0,
        [
            Utterance("customer", 1, 5, "a", sentiment=-0.8),
            Utterance("customer", 10, 15, "b", sentiment=-0.4),
            Utterance("agent", 30, 35, "c", sentiment=0.2),
            Utterance("customer", 90, 95, "d", sentiment=0.6),
        ],
    )
    assert sentiment_by_quarter(t) == {"customer": [-0.6, None, None, 0.6], "agent": [None, 0.2, None, None]}


def test_unknown_speaker_scorecard_opens_speaker_bound_phrase_rules(cards):
    card = cards["outbound"]
    opened = for_unknown_speakers(card)
    assert opened.version == card.version
    for it in opened.items:
        rule = it.rule
        if hasattr(rule, "speaker") and hasattr(rule, "phrases"):
            assert rule.speaker == "any"


def test_whisper_hearing_oh_as_so_inside_a_card_reading_is_still_redacted():
    """Seen on the card-payment sample: "4, 5, 3, 2, so 1, 5, 1, 1, 2, 8, 3, so 3, 6, 6"."""
    from callwright.redaction import redact_text

    heard = "please read me the long number on the card. Okay, it's in 4, 5, 3, 2, so 1, 5, 1, 1, 2, 8, 3, so 3, 6, 6."
    assert redact_text(heard).text == "please read me the long number on the card. Okay, it's in [CARD]."
    assert redact_text("so I paid 40 so 5 are left").text == "so I paid 40 so 5 are left"


def test_the_same_call_gives_the_same_transcript_whatever_was_decoded_before(render_samples, engines, cards):
    """faster-whisper's temperature fallback sampled at random from CTranslate2's per-thread
    generator, so this call's agent side read differently after other calls had been decoded (its
    closing came out three ways in one process). Without sampling it reads the same every time."""
    from callwright.qa import ingest
    from callwright.qa.metrics import track_activity
    from callwright.qa.pipeline import asr_context
    from callwright.speech.asr.base import TranscribeOptions

    paths = render_samples(["inbound-late-disclosure", "inbound-card-payment"])
    context = asr_context(cards["inbound"])["agent"]

    def read(name):
        track = ingest.load_call(paths[name], ingest.resolve_meta(paths[name])).tracks["agent"]
        speech, _ = track_activity(track)
        options = TranscribeOptions.of(context, speech)
        return " ".join(s.text for s in engines.recognizer.transcribe(track, options))

    first = read("inbound-late-disclosure")
    read("inbound-card-payment")
    assert read("inbound-late-disclosure") == first
    assert read("inbound-late-disclosure") == first


SECOND_LISTEN_CASES = {
    # The whole-call decode skips a sentence now and then (once the agent's "you are verified, your
    # balance is ...": one "Thank you." stretched over nine seconds); here the recording disclosure.
    "lost-sentence": (
        "inbound-card-payment",
        "recording-disclosure",
        "This call is recorded",
        "Thank you for calling Northwind Energy payments, my name is Tom. How can I help you today?",
        "recorded",
    ),
    # The same on an outbound call: the opt-out offer, the sentence after the offer, is lost.
    "lost-opt-out": (
        "outbound-sales-compliant",
        "opt-out-offer",
        "rather not receive calls",
        "Thanks. Your contract ends next month, and I have a renewal offer for you.",
        "call list",
    ),
}


def lost_phrase_case(case, render_samples, scripts, cards):
    """A SECOND_LISTEN_CASES call as its first reading left it: the script's text with the line
    that says the item's phrase read as tiny.en once read it. Returns (call, card, meta,
    transcript, metrics, the lost line's index, item id, first reading, what a listen hears)."""
    import dataclasses

    from callwright.qa import ingest
    from callwright.qa.metrics import metrics_from_audio

    name, item_id, said, first_reading, heard = SECOND_LISTEN_CASES[case]
    path = render_samples([name])[name]
    card = cards[scripts[name].meta.direction]
    meta = ingest.resolve_meta(path)
    ref = ingest.read_transcript(path.parent / "ref" / f"{name}.json", meta)
    (lost,) = [i for i, u in enumerate(ref.utterances) if said in u.text]
    utterances = list(ref.utterances)
    utterances[lost] = dataclasses.replace(utterances[lost], text=first_reading)
    transcript = dataclasses.replace(ref, utterances=utterances)
    call = ingest.load_call(path, meta)
    metrics = metrics_from_audio(call, transcript)
    return call, card, meta, transcript, metrics, lost, item_id, first_reading, heard


@pytest.mark.parametrize("case", list(SECOND_LISTEN_CASES))
def test_a_second_listen_confirms_what_the_first_reading_lost(render_samples, scripts, cards, engines, case):
    """A first reading that lost an item's phrase, given (the script's text, with the line that says
    it read the way tiny.en once read it): the item fails, the second listen listens to that line's
    audio again primed with the item's phrasings, and the item passes, with both readings in its evidence
    and the transcript left as first heard. The trigger is the reading given, not a lucky decode."""
    from callwright.qa.pipeline import _stretch_listener, score_transcript
    from callwright.qa.second_listen import SecondListenSettings

    call, card, meta, transcript, metrics, lost, item_id, first_reading, heard = lost_phrase_case(
        case, render_samples, scripts, cards
    )

    def verdict(result):
        return next(r for r in result.items if r.item_id == item_id)

    first = score_transcript(card, transcript, metrics, meta, engines.matcher)
    assert verdict(first).verdict != "pass"
    ears = _stretch_listener(call, engines.recognizer)
    asked = []

    def listen(u, phrases, span):
        asked.append(u.start)
        return ears(u, phrases, span)

    again = score_transcript(card, transcript, metrics, meta, engines.matcher, listen, SecondListenSettings())
    item = verdict(again)
    assert transcript.utterances[lost].start in asked
    assert item.verdict == "pass", [(e.note, e.text) for e in item.evidence]
    lead = item.evidence[0].note
    assert lead.startswith("heard again at ") and f"first heard as '{first_reading}'" in lead
    assert "nats per token" in lead
    assert any(heard in e.text.lower() for e in item.evidence[1:])
    assert transcript.utterances[lost].text == first_reading  # the stored reading is the first one


def test_a_second_listen_can_only_turn_a_verdict_into_a_pass(scored_db):
    """From audio, whatever was heard: every item the second listen touched (its evidence leads with
    "heard again at") passed, and its transcript still holds the first reading."""
    _, samples = scored_db
    for s in samples.values():
        for r in s.outcome.scored.result.items:
            if r.evidence and r.evidence[0].note.startswith("heard again at "):
                assert r.verdict == "pass", r


def test_overlapping_segments_of_one_speaker_keep_their_own_words():
    """A transcriber's back-channel laid over the same speaker's longer lines: each segment
    keeps its words in its own order (they were interleaved by time once)."""
    imported = Transcript(
        "c",
        10.0,
        [
            Utterance("customer", 2.0, 6.0, "red orange yellow green blue indigo"),
            Utterance("customer", 5.0, 8.0, "apple banana cherry date"),
            Utterance("customer", 0.5, 9.5, "uh huh"),
            Utterance("agent", 1.0, 1.0, "right"),
            Utterance("agent", 1.0, 1.0, "okay"),  # two segments at the same instant
        ],
        source="transcript",
    )
    segments = segments_from_transcript(imported)
    groups, _ = redact_segments(segments, audio=False)
    texts = sorted(u.text for u in utterances_from_segments(segments, groups))
    assert texts == sorted(
        ["red orange yellow green blue indigo", "apple banana cherry date", "uh huh", "right", "okay"]
    )
