"""Speech recognition behind one small interface (see base), with Vosk and Whisper engines.

Engine modules import their heavy libraries (vosk, faster_whisper) only when
an engine is built, so importing this package stays cheap.
"""

from __future__ import annotations

from callwright.speech.asr.base import (
    Capabilities,
    Recognition,
    Recognizer,
    RecognizerStream,
    Word,
)
from callwright.speech.asr.factory import ENGINES, get_recognizer, resolve_engine

__all__ = [
    "ENGINES",
    "Capabilities",
    "Recognition",
    "Recognizer",
    "RecognizerStream",
    "Word",
    "get_recognizer",
    "resolve_engine",
]
