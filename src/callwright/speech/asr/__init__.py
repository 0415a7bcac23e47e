"""Speech recognition behind one small interface (see base), with Vosk and Whisper engines and a
fallback pair of them (see fallback).

Engine modules import their heavy libraries (vosk, faster_whisper) only when
an engine is built, so importing this package stays cheap.
"""

from __future__ import annotations

from callwright.speech.asr.base import (
    NO_OPTIONS,
    Capabilities,
    Recognition,
    Recognizer,
    RecognizerStream,
    TranscribeOptions,
    Word,
)
from callwright.speech.asr.factory import ENGINES, get_recognizer, resolve_engine
from callwright.speech.asr.fallback import FallbackRecognizer

__all__ = [
    "ENGINES",
    "NO_OPTIONS",
    "Capabilities",
    "FallbackRecognizer",
    "Recognition",
    "Recognizer",
    "RecognizerStream",
    "TranscribeOptions",
    "Word",
    "get_recognizer",
    "resolve_engine",
]
