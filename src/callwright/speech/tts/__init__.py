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
    "resolve_voice",
]
