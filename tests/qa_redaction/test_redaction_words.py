"""Word-level redaction of recogniser output, and silencing the redacted stretches of audio."""

from __future__ import annotations

import numpy as np
import pytest
from redaction_helpers import leaked_runs

from callwright.errors import CallwrightError
from callwright.redaction import Kind, TimeRange, mute_ranges, redact_words
from callwright.speech.asr.base import Word
from callwright.speech.audio import Audio

AMEX = "378282246310005"


def words_of(text: str, step: float = 0.4) -> list[Word]:
    """Recogniser-shaped words: one every `step` seconds, 0.3 s long."""
    return [Word(w, i * step, i * step + 0.3, 0.9) for i, w in enumerate(text.split())]


def test_card_said_across_many_words_becomes_one_word_with_its_time_range() -> None:
    words = words_of("my card is four one one one one one one one one one one one one one one one ok")
    out, ranges = redact_words(words)
    assert [w.word for w in out] == ["my", "card", "is", "[CARD]", "ok"]
    card = out[3]
    assert (card.start, card.end, card.kind) == (words[3].start, words[18].end, Kind.CARD)
    assert ranges == [TimeRange(words[3].start, words[18].end, Kind.CARD)]
    assert out[0].kind is None


def test_unchanged_words_keep_their_text_times_and_confidence() -> None:
    words = words_of("thank you for calling how can I help")
    out, ranges = redact_words(words)
    assert ranges == []
    assert [(w.word, w.start, w.end, w.confidence) for w in out] == [
        (w.word, w.start, w.end, w.confidence) for w in words
    ]


def test_each_value_gets_its_own_range_and_kind() -> None:
    text = (
        "card 5555 5555 5555 4444 expires oh nine twenty seven cvv seven three seven "
        "and my email is jane dot doe at example dot com"
    )
    out, ranges = redact_words(words_of(text))
    assert [r.kind for r in ranges] == [Kind.CARD, Kind.EXPIRY, Kind.CVV, Kind.EMAIL]
    assert " ".join(w.word for w in out) == ("card [CARD] expires [EXPIRY] cvv [CVV] and my email is [EMAIL]")
    assert all(a.end <= b.start for a, b in zip(ranges, ranges[1:], strict=False))


def test_recogniser_punctuation_and_leading_spaces_are_handled() -> None:
    # faster-whisper's own word shapes: leading spaces, digits joined by dashes.
    pieces = [" My", " card", " is", " 4", "-1", "-1", "-1", "-1", "-1", "-1", "-1", "-1", "-1",
              "-1", "-1", "-1", "-1", "-1", "-1.", " Thanks."]  # fmt: skip
    words = [Word(p, i * 0.3, i * 0.3 + 0.25, 0.8) for i, p in enumerate(pieces)]
    out, ranges = redact_words(words)
    assert [w.word for w in out] == ["My", "card", "is", "[CARD].", "Thanks."]
    assert ranges[0].start == words[3].start and ranges[0].end == words[18].end


def test_kinds_are_passed_through() -> None:
    out, ranges = redact_words(words_of("call me on 212 555 0187 card 4111 1111 1111 1111"), kinds=["card"])
    assert [r.kind for r in ranges] == [Kind.CARD]
    assert "212" in [w.word for w in out]


def _tone(seconds: float, rate: int = 8000, channels: int = 1) -> Audio:
    t = np.arange(int(seconds * rate)) / rate
    wave = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    return Audio(wave if channels == 1 else np.stack([wave] * channels, axis=1), rate)


def test_mute_ranges_silences_exactly_the_padded_ranges_in_a_copy() -> None:
    audio = _tone(3.0)
    muted = mute_ranges(audio, [TimeRange(1.0, 1.5, Kind.CARD)], pad_s=0.1)
    a, b = int(0.9 * audio.rate), int(1.6 * audio.rate)
    assert np.all(muted.samples[a:b] == 0)
    assert np.array_equal(muted.samples[: a - 1], audio.samples[: a - 1])
    assert np.array_equal(muted.samples[b + 1 :], audio.samples[b + 1 :])
    assert np.count_nonzero(audio.samples[a:b]) > 0  # the original is untouched
    assert muted.rate == audio.rate and muted.samples.dtype == np.int16


def test_mute_ranges_clips_at_the_edges_and_handles_stereo() -> None:
    audio = _tone(1.0, channels=2)
    muted = mute_ranges(audio, [TimeRange(0.0, 0.2, Kind.SSN), TimeRange(0.9, 5.0, Kind.PHONE)])
    assert muted.samples.shape == audio.samples.shape
    assert np.all(muted.samples[: int(0.3 * 8000)] == 0)
    assert np.all(muted.samples[int(0.8 * 8000) :] == 0)
    assert np.count_nonzero(muted.samples[int(0.4 * 8000) : int(0.7 * 8000)]) > 0
    one = mute_ranges(audio, [TimeRange(0.4, 0.6, Kind.CARD)], pad_s=0, channel=1)
    assert np.all(one.samples[3200:4800, 1] == 0)
    assert np.array_equal(one.samples[:, 0], audio.samples[:, 0])


def test_mute_ranges_rejects_bad_options_with_a_message() -> None:
    with pytest.raises(CallwrightError, match="padding"):
        mute_ranges(_tone(1.0), [], pad_s=-0.1)
    with pytest.raises(CallwrightError, match="channel 2"):
        mute_ranges(_tone(1.0, channels=2), [], channel=2)


def test_spoken_card_is_gone_from_the_transcript_and_from_the_redacted_audio(speak, transcribe) -> None:
    audio = speak(
        "Yes, it is three seven eight two, eight two two four six three, one zero zero zero five. "
        "Thank you very much.",
        speed=140,
    )
    words = transcribe(audio)
    heard = " ".join(w.word.strip() for w in words)
    assert len(leaked_runs(heard, AMEX)) > 0, heard  # the recogniser did hear the card

    out, ranges = redact_words(words)
    redacted = " ".join(w.word for w in out)
    assert Kind.CARD in [r.kind for r in ranges], redacted
    assert leaked_runs(redacted, AMEX) == [], redacted

    again = " ".join(w.word.strip() for w in transcribe(mute_ranges(audio, ranges)))
    assert leaked_runs(again, AMEX) == [], again
    assert "thank you" in again.lower(), again  # only the number was silenced


def _timed(*pieces: tuple[str, float]) -> list[Word]:
    """Words from (text, start) pairs, each 0.3 s long."""
    return [Word(w, t, t + 0.3, 0.9) for w, t in pieces]


def test_a_pause_after_a_card_cue_with_no_number_heard_is_silenced_too() -> None:
    words = _timed(("my", 0.0), ("card", 0.4), ("number", 0.8), ("is...", 1.2), ("thanks", 9.0))
    out, ranges = redact_words(words)
    assert [w.word for w in out] == ["my", "card", "number", "is...", "thanks"]  # nothing to redact
    assert ranges == [TimeRange(1.5, 9.0, Kind.CARD, transcribed=False)]
    # the same cue at the very end of the words: silence up to the cap
    (last,) = redact_words(words[:4])[1]
    assert (last.start, last.end, last.transcribed) == (1.5, 21.5, False)


def test_no_extra_range_when_the_card_was_heard_or_there_was_no_pause() -> None:
    heard = words_of("my card number is 4111 1111 1111 1111 thanks")
    assert [r.transcribed for r in redact_words(heard)[1]] == [True]
    quick = _timed(("card", 0.0), ("number", 0.4), ("please", 0.8), ("thank", 1.5), ("you", 1.9))
    assert redact_words(quick)[1] == []
    assert redact_words(_timed(("card", 0.0), ("number", 0.4), ("sure", 5.0)), kinds=["phone"])[1] == []


def test_an_empty_recogniser_word_inside_a_number_does_not_split_it() -> None:
    words = words_of("card 4111 1111 1111 1111 thanks")
    words.insert(3, Word(" ", 1.4, 1.4, 0.5))
    out, ranges = redact_words(words)
    assert [w.word for w in out] == ["card", "[CARD]", "thanks"]
    assert len(ranges) == 1
