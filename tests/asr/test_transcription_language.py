"""The language a transcription is in (issue 17 item 5): told, the model's own, or detected.

Real models: Whisper tiny.en (English only) and the multilingual Whisper base joined from its
two PyPI packages, loaded once for the session; German and Spanish phrases voiced by espeak-ng.
What is asserted is robust: the language recorded with the segments, that it is what the
decoder was given, and that detection on clear synthetic speech names the right language with
a probability above one half (more than every other language together). Never the words read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from callwright.errors import CallwrightError
from callwright.qa.language import asked_language, call_language, speech_of
from callwright.qa.model import CallMeta
from callwright.speech.asr.base import Capabilities, TranscribeOptions
from callwright.speech.asr.languages import (
    KNOWN_LANGUAGES,
    MULTILINGUAL,
    SpokenLanguage,
    check_language,
    known,
    serves,
)
from callwright.speech.audio import Audio

GERMAN = "Guten Tag, ich möchte bitte mein Konto überprüfen. Vielen Dank für Ihre Hilfe."
SPANISH = "Buenos días, quisiera revisar el saldo de mi cuenta, por favor. Muchas gracias."
CLEAR = 0.5  # a detection above this outweighs every other language together


@pytest.fixture(scope="session")
def phrases(speak) -> dict[str, Audio]:
    return {"de": speak(GERMAN, "de", rate=16000), "es": speak(SPANISH, "es", rate=16000)}


# -- codes and checks (no model) -------------------------------------------------------------------


def test_the_known_languages_are_whispers_own() -> None:
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    assert tuple(KNOWN_LANGUAGES) == tuple(_LANGUAGE_CODES)


def test_codes_and_what_a_model_hears() -> None:
    assert known("es") and known("es-MX") and known("en_US") and known("yue")
    assert not known("xx") and not known("english") and not known("") and not known("e s")
    assert serves(("en",), "en-GB") and serves(("en-us",), "en") and serves((MULTILINGUAL,), "de")
    assert not serves(("en",), "de") and not serves(("ko",), "en")


def test_a_language_the_model_cannot_hear_or_no_language_is_a_user_error_naming_the_field() -> None:
    assert check_language(" es-MX ", (MULTILINGUAL,), field="--language", model="base") == "es-MX"
    assert check_language("en-GB", ("en",), field="--language", model="tiny.en") == "en-GB"
    assert check_language("de", (), field="--language", model="wyoming://h:1") == "de"  # undeclared
    with pytest.raises(CallwrightError, match=r"^--language: model tiny.en hears en only, not 'de'") as err:
        check_language("de", ("en",), field="--language", model="tiny.en")
    assert "base" in (err.value.hint or "")
    with pytest.raises(CallwrightError, match=r"calls/a.json: language: 'sp' is not a language code"):
        check_language("sp", (MULTILINGUAL,), field="calls/a.json: language", model="base")


# -- tiny.en: English only ---------------------------------------------------------------------------


def test_an_english_only_model_says_so_and_hears_english_whatever_it_is_told(whisper, phrases) -> None:
    caps = whisper.capabilities
    assert caps.languages == ("en",) and not caps.language_detection and not caps.multilingual
    assert caps.hears("en-US") and caps.hears("de") is False
    assert whisper.for_language("de") is whisper and whisper.detect_language(phrases["de"]) is None
    segments = whisper.transcribe(phrases["de"], TranscribeOptions(language="de"))
    assert segments and {s.language for s in segments} == {SpokenLanguage("en")}


def test_qa_takes_the_option_then_the_metadata_and_refuses_what_the_model_cannot_hear(whisper) -> None:
    meta = CallMeta("c1", language="de")
    with pytest.raises(CallwrightError, match=r"^calls/c1.wav: language: model .* hears en only, not 'de'"):
        asked_language(None, meta, "calls/c1.wav", whisper)
    assert asked_language("en-US", meta, "calls/c1.wav", whisper) == "en-US"  # the option wins
    with pytest.raises(CallwrightError, match=r"^--language: 'zz' is not a language code"):
        asked_language("zz", CallMeta("c1"), "calls/c1.wav", whisper)
    assert asked_language(None, CallMeta("c1"), "calls/c1.wav", whisper) is None
    silent = {"agent": Audio(np.zeros(1600, np.int16), 16000)}
    assert call_language(whisper, silent, {"agent": []}, None) == SpokenLanguage("en")  # the model's
    assert call_language(whisper, silent, {"agent": []}, "es-MX") == SpokenLanguage("es")  # told


def test_detection_hears_the_speech_regions_not_the_silence_between() -> None:
    track = Audio(np.arange(10 * 8000, dtype=np.int16) % 100, 8000)
    joined = speech_of(track, [(5.0, 6.0), (1.0, 2.5)], limit_s=2.0)
    assert joined.n_samples == 2 * 8000
    assert joined.samples[0] == track.samples[8000] and joined.samples[-1] == track.samples[5 * 8000 + 3999]


# -- Whisper base: multilingual ---------------------------------------------------------------------


def test_the_multilingual_model_declares_every_language_and_detects_german_and_spanish(
    whisper_base, phrases
) -> None:
    caps = whisper_base.capabilities
    assert caps.multilingual and caps.language_detection and caps.hears("de") and caps.hears("es-MX")
    for code, audio in phrases.items():
        found = whisper_base.detect_language(audio)
        assert found is not None and found.code == code, (code, found)
        assert found.probability is not None and found.probability > CLEAR, (code, found)


def test_the_multilingual_model_decodes_the_language_it_is_told(whisper_base, phrases) -> None:
    segments = whisper_base.transcribe(phrases["es"], TranscribeOptions(language="es-MX"))
    assert " ".join(s.text for s in segments).strip(), "nothing read from clear speech"
    assert {s.language for s in segments} == {SpokenLanguage("es")}  # told: no probability
    spanish = whisper_base.for_language("es")  # what a call in Spanish is heard with
    assert spanish.language == "es" and whisper_base.language is None  # None: a file's is detected
    assert spanish.decoder._model is whisper_base.decoder._model  # one loaded model


@pytest.mark.slow
def test_told_nothing_the_multilingual_model_detects_and_records_the_language(whisper_base, phrases) -> None:
    for code, audio in phrases.items():
        languages = {s.language for s in whisper_base.transcribe(audio)}
        assert len(languages) == 1, languages
        (spoken,) = languages
        assert spoken is not None and spoken.code == code and spoken.detected and spoken.probability > CLEAR


@pytest.mark.slow
def test_forced_english_reaches_the_decoder(whisper_base, phrases, monkeypatch) -> None:
    """The option is what faster-whisper decodes with: it says so in its own result, and the
    decoder was given it (a German track forced to English is still decoded as English)."""
    seen: list[object] = []
    decoder = type(whisper_base.decoder)
    real = decoder.transcribe_segments

    def spy(self, samples, **kwargs):  # noqa: ANN001, ANN202
        seen.append(kwargs.get("language"))
        return real(self, samples, **kwargs)

    monkeypatch.setattr(decoder, "transcribe_segments", spy)
    forced = whisper_base.transcribe(phrases["de"], TranscribeOptions(language="en"))
    told = whisper_base.transcribe(phrases["de"], TranscribeOptions(language="de"))
    assert seen == ["en", "de"]
    assert {s.language for s in forced} == {SpokenLanguage("en")}
    assert {s.language for s in told} == {SpokenLanguage("de")}


@pytest.mark.slow
def test_qa_detects_a_calls_language_once_from_the_speaker_who_talks_most(whisper_base, phrases) -> None:
    quiet = Audio(np.zeros(phrases["es"].n_samples, np.int16), 16000)
    tracks = {"agent": phrases["es"], "customer": quiet}
    speech = {"agent": [(0.2, phrases["es"].duration_s - 0.2)], "customer": []}
    spoken = call_language(whisper_base, tracks, speech, None)
    assert spoken is not None and spoken.code == "es" and spoken.probability > CLEAR
    assert call_language(whisper_base, tracks, {"agent": [], "customer": []}, None) is None  # no speech
    caps = Capabilities(False, False, True, False, (16000,), languages=(MULTILINGUAL,))
    assert not caps.language_detection and caps.hears("fi")


@pytest.mark.slow
def test_asr_detects_a_files_language_and_decodes_it_in_it(whisper_base, phrases, tmp_path) -> None:
    from callwright.cli.asr import _recognise
    from callwright.speech.audio import write_wav

    path = write_wav(tmp_path / "es.wav", phrases["es"])
    text, _, spoken = _recognise(whisper_base, path, None, None, None)
    assert text.strip() and spoken is not None and spoken.code == "es" and spoken.probability > CLEAR


@pytest.mark.slow
def test_qa_scores_a_spanish_call_with_the_multilingual_model_and_stores_the_language(
    whisper_base, phrases, tmp_path
) -> None:
    """End to end: a stereo call in Spanish, no language given: detected once, every track
    decoded in it, kept with the transcript and the recording's row."""
    from callwright.qa.pipeline import Engines, PipelineOptions, score_path
    from callwright.qa.scorecard import load_scorecard
    from callwright.speech.audio import concat, silence, write_wav
    from callwright.store import qa as store
    from callwright.store.db import open_db

    agent = concat([phrases["es"], silence(phrases["es"].duration_s, 16000)])
    customer = concat([silence(phrases["es"].duration_s, 16000), phrases["es"]])
    stereo = Audio(np.stack([agent.samples, customer.samples], axis=1), 16000)
    path = write_wav(tmp_path / "llamada.wav", stereo)
    card = load_scorecard(Path(__file__).resolve().parents[2] / "scorecards" / "inbound-service.yaml")
    engines = Engines("whisper@base", _recognizer=whisper_base)
    outcome = score_path(path, card, engines, options=PipelineOptions(second_listen=None))
    t = outcome.scored.transcript
    assert t.utterances and t.language == "es" and t.language_probability > CLEAR, (
        t.language,
        t.language_probability,
    )
    db = open_db(tmp_path / "qa.db")
    assert store.save_scored_call(db, outcome.scored)
    row = db.execute("select language, language_probability from recordings").fetchone()
    assert row[0] == "es" and row[1] == pytest.approx(t.language_probability)
