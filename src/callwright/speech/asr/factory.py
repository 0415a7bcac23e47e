"""Choosing an engine by name: `vosk`, `whisper`, or `auto` (the default).

`auto` prefers Vosk, the engine the product is built around, but only when
an English Vosk model is installed; otherwise it uses Whisper, whose tiny.en
model always ships with the package. Engines are imported only when chosen,
so a missing engine library costs nothing until it is asked for.
"""

from __future__ import annotations

import logging
from typing import Any

from callwright.errors import CallwrightError
from callwright.speech.asr.base import Recognizer
from callwright.speech.asr.model_paths import find_english_vosk_model

log = logging.getLogger(__name__)

ENGINES = ("auto", "vosk", "whisper")


def resolve_engine(engine: str = "auto", model_path: object | None = None) -> str:
    """The concrete engine `auto` stands for here (an explicit engine is returned as is)."""
    if engine not in ENGINES:
        raise CallwrightError(f"unknown ASR engine {engine!r}", hint=f"choose one of: {', '.join(ENGINES)}")
    if engine != "auto":
        return engine
    if model_path is not None:
        raise CallwrightError(
            "a model path needs an explicit engine", hint="add --engine vosk or --engine whisper"
        )
    return "vosk" if find_english_vosk_model() is not None else "whisper"


def get_recognizer(engine: str = "auto", **config: Any) -> Recognizer:
    """A ready recogniser. `config` goes to the engine: `model_path` for both;
    `settings` (a WhisperSettings) for whisper.
    """
    chosen = resolve_engine(engine, config.get("model_path"))
    if chosen == "vosk":
        from callwright.speech.asr.vosk import VoskRecognizer

        model_path = config.pop("model_path", None)
        if model_path is None and engine == "auto":
            model_path = find_english_vosk_model()
        if config:
            raise CallwrightError(f"vosk engine: unknown settings {sorted(config)}")
        recognizer: Recognizer = VoskRecognizer(model_path)
    else:
        from callwright.speech.asr.whisper import WhisperRecognizer

        unknown = set(config) - {"model_path", "settings"}
        if unknown:
            raise CallwrightError(f"whisper engine: unknown settings {sorted(unknown)}")
        recognizer = WhisperRecognizer(config.get("model_path"), config.get("settings"))
    log.info("ASR engine: %s (asked for %s)", recognizer.name, engine)
    return recognizer
