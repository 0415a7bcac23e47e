"""Whisper's second listen: a stretch decoded again primed with phrases, with the audio's support."""

from __future__ import annotations

from callwright.qa.second_listen import SecondListenSettings
from callwright.speech.audio import silence

BAR = SecondListenSettings().min_support


def test_a_line_primed_with_its_own_phrasing_is_heard_and_supported(whisper, speak) -> None:
    line = speak("Thank you for calling Northwind Energy, my name is Priya.")
    again = whisper.second_listen(line, ["thank you for calling Northwind Energy"], offset_s=40.0)
    assert again is not None
    assert "thank you for calling" in again.recognition.text.lower()
    assert again.support >= BAR
    words = again.recognition.words
    assert words and 40.0 <= words[0].start < 41.0 and words[-1].end <= 40.0 + line.duration_s + 0.01


def test_a_phrase_never_said_is_not_heard_with_support(whisper, speak) -> None:
    """Primed with something else entirely, the reading either does not hold it or the audio does
    not back it: a second listen cannot turn a missing phrase into a pass."""
    line = speak("Hi, how are you today? I am calling about the energy prices in your area.")
    again = whisper.second_listen(line, ["this call may be recorded for quality and training purposes"])
    assert again is not None
    heard = "recorded" in again.recognition.text.lower()
    assert not heard or again.support < BAR, (again.recognition.text, again.support)
    assert again.plain_text and "recorded" not in again.plain_text.lower()


def test_silence_or_a_stretch_too_long_for_one_window_gives_nothing(whisper) -> None:
    assert whisper.second_listen(silence(3.0, 8000), ["thank you for calling"]) is None
    assert whisper.second_listen(silence(40.0, 8000), ["thank you for calling"]) is None


def _decoded(text: str, *, silent: bool = False):  # noqa: ANN202 - whisper.Decoded, imported lazily
    from callwright.speech.asr.whisper_decoder import Decoded

    tokens = list(range(len(text.split()) + 1)) if text else []
    return Decoded(tokens, text, -2.0 if silent else -0.3, 0.99 if silent else 0.01)


def test_the_reading_kept_is_the_likeliest_that_covers_the_audio() -> None:
    """Primed with "is there anything else", Whisper's likeliest reading of "... this week. Is there
    anything else?" stopped before the question the prompt already holds; the reading kept is the
    likeliest beam that keeps the words the plain reading heard (decoder output given here: which
    beam comes first on real audio moves with the machine's numerics)."""
    from callwright.speech.asr.whisper_second_listen import _whole

    plain = _decoded("Done. You will get a confirmation letter this week. And everything else.")
    stops = _decoded("Done. You will get a confirmation letter.")
    full = _decoded("Done. You will get a confirmation letter this week. Is there anything else?")
    assert _whole([stops, full], plain) is full
    assert _whole([full, stops], plain) is full
    loop = _decoded("this week " * 12)
    quiet = _decoded(
        "Done. You will get a confirmation letter this week. Is there anything else?", silent=True
    )
    assert _whole([stops, loop, quiet, _decoded("")], plain) is None  # no whole reading: none kept


def test_the_support_is_weighed_once_and_only_when_asked(whisper, speak, monkeypatch) -> None:
    """Weighing a reading takes two teacher-forced decoder passes (the primed text's and the plain
    one's); most readings are dropped on their words, so a listen returns without them and the
    first read of `support` weighs it, by the same formula as before, once."""
    import math

    from callwright.speech.asr import whisper_second_listen as wsl

    passes: list[float] = []
    weigh = wsl._log_likelihood

    def counted(dec, window, prompt, tokens):  # noqa: ANN001, ANN202
        passes.append(weigh(dec, window, prompt, tokens))
        return passes[-1]

    monkeypatch.setattr(wsl, "_log_likelihood", counted)
    line = speak("Is there anything else I can help you with today?")
    again = whisper.second_listen(line, ["is there anything else I can help you with"])
    assert again is not None and passes == []
    support = again.support
    assert len(passes) == 2 and again.support == support and len(passes) == 2
    primed, plain = passes  # per token of the longer reading, rounded
    assert math.isfinite(support) and abs(support) <= abs(primed - plain) + 1e-4
    assert support == 0 or (support > 0) == (primed > plain)
