"""The fallback pair: real engines (tiny.en, the Korean Vosk model) behind one recogniser, with a
primary that is not installed or that breaks. Readings are compared with the same engine asked
directly on the same audio, never with a hard-coded text."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pytest

from callwright.errors import AudioError, CallwrightError, ModelNotFoundError
from callwright.speech.asr import get_recognizer, resolve_engine
from callwright.speech.asr.base import (
    NO_OPTIONS,
    Capabilities,
    Recognition,
    Recognizer,
    RecognizerStream,
    TranscribeOptions,
)
from callwright.speech.asr.fallback import FallbackRecognizer, combined
from callwright.speech.audio import Audio, concat, frames, silence

HELLO = "안녕하세요"
GRAMMAR = [HELLO, "감사합니다", "학교", "병원", "커피"]
ENGLISH = "Thank you for calling Northwind Energy, my name is Priya."


class Broken(Recognizer):
    """An engine that fails: `transcribe`/`second_listen` always, a stream's `finish` from the
    `fail_from`-th utterance on (the ones before give an empty reading)."""

    name = "broken"
    capabilities = Capabilities(False, False, True, False, (16000,), priming=True, second_listen=True)

    def __init__(self, fail_from: int = 1) -> None:
        self.fail_from = fail_from
        self.calls = 0

    def open(self, sample_rate: int, phrases: Sequence[str] | None = None) -> RecognizerStream:
        return BrokenStream(self)

    def transcribe(self, audio: Audio, options: TranscribeOptions = NO_OPTIONS) -> list[Recognition]:
        self.calls += 1
        raise RuntimeError("decoder crashed")

    def second_listen(self, audio, phrases, offset_s=0.0):  # noqa: ANN001, ANN201
        self.calls += 1
        raise RuntimeError("decoder crashed")


class BrokenStream(RecognizerStream):
    sample_rate = 8000

    def __init__(self, owner: Broken) -> None:
        self.owner, self.finished = owner, 0

    def accept(self, pcm16):  # noqa: ANN001, ANN201
        return None

    def set_phrases(self, phrases) -> None:  # noqa: ANN001
        pass

    def finish(self) -> Recognition:
        self.finished += 1
        if self.finished >= self.owner.fail_from:
            raise RuntimeError("stream died")
        return Recognition("", 0.0)


def warnings_from(caplog) -> list[str]:  # noqa: ANN001
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def stream_text(stream: RecognizerStream, audio: Audio) -> Recognition:
    for f in frames(audio, 20):
        stream.accept(f)
    return stream.finish()


def test_capabilities_promise_what_both_keep_and_offer_hints_either_uses(whisper, vosk_ko) -> None:
    caps = FallbackRecognizer(whisper, vosk_ko).capabilities
    assert caps == combined(whisper.capabilities, vosk_ko.capabilities)
    # Vosk streams with partials and a grammar, Whisper does not: not promised
    assert not caps.streaming and not caps.partials and not caps.grammar
    assert caps.word_timestamps and caps.sample_rates == (16000,)
    # Whisper takes context and speech regions and listens again; Vosk ignores them: worth passing
    assert caps.priming and caps.speech_regions and caps.second_listen
    assert FallbackRecognizer(vosk_ko, whisper).capabilities == caps


def test_a_primary_whose_model_is_missing_leaves_the_fallback_answering(
    vosk_ko, speak, tmp_path, caplog
) -> None:
    from callwright.speech.asr.whisper import WhisperRecognizer

    with caplog.at_level(logging.WARNING):
        pair = FallbackRecognizer(lambda: WhisperRecognizer(tmp_path), vosk_ko)
    assert pair.name == "vosk" and pair.capabilities == vosk_ko.capabilities
    (warning,) = warnings_from(caplog)
    assert "primary" in warning and str(tmp_path) in warning
    audio = speak(HELLO, "ko", rate=8000)
    # What the fallback read is what the pair returns. (Two Vosk decodes of the same audio are not
    # compared: their readings can differ from one run to the next, which is Vosk's, not ours.)
    read: list = []
    real = vosk_ko.transcribe

    def spy(*args, **kwargs):
        read.append(real(*args, **kwargs))
        return read[-1]

    vosk_ko.transcribe = spy  # type: ignore[method-assign]
    try:
        assert pair.transcribe(audio) == read[0] and len(read) == 1
    finally:
        del vosk_ko.transcribe
    with pair.open(8000, GRAMMAR) as stream:
        heard = stream_text(stream, audio).text.split()
    assert heard and set(heard) <= {*GRAMMAR, "[unk]"}, heard  # the Vosk grammar, so Vosk decoded it


def test_with_both_engines_missing_the_primarys_error_is_raised(tmp_path) -> None:
    from callwright.speech.asr.vosk import VoskRecognizer
    from callwright.speech.asr.whisper import WhisperRecognizer

    with pytest.raises(ModelNotFoundError, match="faster-whisper"):
        FallbackRecognizer(lambda: WhisperRecognizer(tmp_path / "w"), lambda: VoskRecognizer(tmp_path / "v"))


def test_a_failing_primary_falls_back_each_time_and_logs_once(whisper, speak, caplog) -> None:
    broken = Broken()
    pair = FallbackRecognizer(broken, whisper)
    audio = speak(ENGLISH)
    options = TranscribeOptions.of(
        ["thank you for calling Northwind Energy"], [(0.2, audio.duration_s - 0.3)]
    )
    direct = [r.text for r in whisper.transcribe(audio, options)]
    with caplog.at_level(logging.DEBUG, logger="callwright.speech.asr.fallback"):
        first = [r.text for r in pair.transcribe(audio, options)]
        second = [r.text for r in pair.transcribe(audio, options)]
    assert first == second == direct and any(direct)
    assert broken.calls == 2  # the primary is asked first each time
    (warning,) = warnings_from(caplog)
    assert "broken" in warning and "decoder crashed" in warning and "whisper" in warning


def test_a_second_listen_goes_to_the_engine_that_can_and_works(whisper, vosk_ko, speak) -> None:
    line = speak(ENGLISH)
    phrases = ["thank you for calling Northwind Energy"]
    direct = whisper.second_listen(line, phrases, offset_s=5.0)
    assert direct is not None
    for pair in (FallbackRecognizer(vosk_ko, whisper), FallbackRecognizer(Broken(), whisper)):
        again = pair.second_listen(line, phrases, offset_s=5.0)
        assert again is not None and again.recognition.text == direct.recognition.text
        assert again.support == direct.support
    assert FallbackRecognizer(vosk_ko, vosk_ko).second_listen(line, phrases) is None


def test_the_callers_own_mistake_is_raised_not_fallen_back_on(whisper, vosk_ko, caplog) -> None:
    stereo = Audio(np.zeros((8000, 2), np.int16), 8000)
    with caplog.at_level(logging.WARNING), pytest.raises(AudioError, match="one channel"):
        FallbackRecognizer(whisper, vosk_ko).transcribe(stereo)
    assert warnings_from(caplog) == []


def test_a_stream_that_dies_mid_call_goes_on_with_the_fallback_at_the_calls_times(
    vosk_ko, speak, caplog
) -> None:
    """The primary reads the first utterance and dies finishing the second: the second is replayed
    into the fallback, whose times count from the start of the call, and the third stays there."""
    audio = concat([speak(HELLO, "ko", rate=8000), silence(0.5, 8000)])
    with vosk_ko.open(8000, GRAMMAR) as direct:
        expected = stream_text(direct, audio)
    assert expected.words
    with (
        caplog.at_level(logging.WARNING),
        FallbackRecognizer(Broken(fail_from=2), vosk_ko).open(8000, GRAMMAR) as s,
    ):
        assert stream_text(s, audio).text == ""  # the primary's (empty) reading
        second = stream_text(s, audio)
        third = stream_text(s, audio)
    assert second.text == third.text == expected.text
    for n, result in ((1, second), (2, third)):
        # counted from the call's start: off by whole utterances (seconds) if not; Vosk's own
        # word times move by a few frames between streams, hence the 0.25 s
        assert result.words[0].start == pytest.approx(
            expected.words[0].start + n * audio.duration_s, abs=0.25
        )
    assert len(warnings_from(caplog)) == 1


def test_a_pair_is_two_different_engines() -> None:
    assert resolve_engine("whisper, vosk") == "whisper,vosk"
    for bad in ("whisper,whisper", "auto,vosk", "whisper,vosk,whisper", "whisper,"):
        with pytest.raises(CallwrightError, match="engine pair"):
            resolve_engine(bad)
    with pytest.raises(CallwrightError, match="one engine"):
        resolve_engine("whisper,vosk", model_path="models/x")


def test_the_factory_builds_a_pair_and_leaves_out_an_engine_not_installed(
    whisper, korean_model_dir, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("VOSK_MODEL_PATH", str(korean_model_dir))
    pair = get_recognizer("whisper,vosk")
    assert isinstance(pair, FallbackRecognizer) and pair.name == "whisper,vosk"
    assert [e.name for e in pair.engines] == ["whisper", "vosk"]
    monkeypatch.setenv("VOSK_MODEL_PATH", str(tmp_path))
    monkeypatch.setenv("CALLWRIGHT_MODELS_DIR", str(tmp_path))
    alone = get_recognizer("vosk,whisper", cpu_threads=1)
    assert alone.name == "whisper" and alone.capabilities == whisper.capabilities
