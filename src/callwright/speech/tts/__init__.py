"""Text-to-speech: the `Synthesizer` port, pyttsx3 engine, prompt cache and prompt resolver."""

from __future__ import annotations

import os

from callwright.speech.tts.base import (
    DEFAULT_RATE_WPM,
    DEFAULT_VOICE,
    SynthesisError,
    Synthesizer,
    VoiceInfo,
    VoiceSettings,
    resolve_voice,
)
from callwright.speech.tts.cache import CachedSynthesizer, cache_key, default_cache_dir
from callwright.speech.tts.prompts import PromptAudio
from callwright.speech.tts.pyttsx3_engine import Pyttsx3Synthesizer


def default_synthesizer(cache_dir: str | os.PathLike[str] | None = None) -> CachedSynthesizer:
    """The engine the product uses: pyttsx3 in a worker process, behind the prompt cache."""
    return CachedSynthesizer(Pyttsx3Synthesizer(), cache_dir)


LOCAL_TTS = ("espeak", "espeak-ng", "pyttsx3")
"""Names of the local engine in a `--tts` spec (the default)."""


def synthesizer_engine(spec: str = "espeak") -> Synthesizer:
    """The engine a `--tts` spec names: espeak (local espeak-ng through pyttsx3) or
    wyoming://HOST:PORT (a Wyoming TTS server: Piper, `callwright speech-server`)."""
    text = spec.strip()
    if text.lower() in LOCAL_TTS:
        return Pyttsx3Synthesizer()
    if text.startswith(("wyoming://", "tcp://")):
        from callwright.speech.tts.wyoming import WyomingSynthesizer

        return WyomingSynthesizer(text)
    raise SynthesisError(
        f"unknown text-to-speech engine {spec!r}",
        hint="give espeak (local espeak-ng, the default) or wyoming://HOST:PORT (a Wyoming TTS server)",
    )


def get_synthesizer(
    spec: str = "espeak", cache_dir: str | os.PathLike[str] | None = None
) -> CachedSynthesizer:
    """The engine a `--tts` spec names, behind the prompt cache (as `default_synthesizer`)."""
    return CachedSynthesizer(synthesizer_engine(spec), cache_dir)


__all__ = [
    "DEFAULT_RATE_WPM",
    "DEFAULT_VOICE",
    "CachedSynthesizer",
    "PromptAudio",
    "Pyttsx3Synthesizer",
    "SynthesisError",
    "Synthesizer",
    "VoiceInfo",
    "VoiceSettings",
    "cache_key",
    "default_cache_dir",
    "default_synthesizer",
    "get_synthesizer",
    "synthesizer_engine",
    "resolve_voice",
]
