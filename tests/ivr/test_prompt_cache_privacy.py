"""Prompts made from caller data never reach the on-disk TTS cache (issue 12: the cache kept
"I heard 7 3 0 5" indefinitely). Real espeak-ng renders; only the cache folder is inspected."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import pytest

from callwright.ivr.channels.audio import AudioLine
from callwright.ivr.events import Say
from callwright.speech.tts import CachedSynthesizer, PromptAudio, Pyttsx3Synthesizer

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")


@pytest.fixture(scope="module")
def engine():
    with Pyttsx3Synthesizer() as e:
        yield e


def _cached_files(folder):
    return sorted(p for p in folder.rglob("*.wav"))


def test_a_templated_prompt_is_spoken_but_not_cached(engine, tmp_path):
    cache = CachedSynthesizer(engine, tmp_path / "tts")
    line = SimpleNamespace(prompts=PromptAudio(cache, 8000))  # AudioLine.render only reads .prompts
    heard = AudioLine.render(line, Say("I heard 7 3 0 5", "en", "confirm", templated=True))
    assert heard.samples.size > 0 and _cached_files(tmp_path / "tts") == []
    AudioLine.render(line, Say("Welcome to Acme", "en", "greeting"))
    assert len(_cached_files(tmp_path / "tts")) == 1  # a fixed prompt is still cached
