"""Choosing an engine by name: `vosk`, `whisper`, `auto` (the default), a Wyoming server
(`wyoming://HOST:PORT`, or several sharing the work: `wyoming://A:PORT+B:PORT`; see
`wyoming`), or a fallback pair.

`auto` prefers Vosk, the engine the product is built around, but only when
an English Vosk model is installed; otherwise it uses Whisper, whose tiny.en
model always ships with the package. `PRIMARY,FALLBACK` (e.g. `whisper,vosk`)
answers with the first engine and falls back to the second when the first is
not installed or fails (`wyoming://HOST:PORT,whisper`: a speech server, and
Whisper in-process when it is down) (`fallback.FallbackRecognizer`). An engine may name its
model: `whisper@base`, `vosk@/models/vosk-en` (`with_model` builds it from `--model`; names are
in `registry`). Engines are imported
only when chosen, so a missing engine library costs nothing until it is asked
for.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from callwright.errors import CallwrightError
from callwright.speech.asr.base import Heard, Recognizer, Recognizers
from callwright.speech.asr.model_paths import find_english_vosk_model

log = logging.getLogger(__name__)

ENGINES = ("auto", "vosk", "whisper")
_CONCRETE = ("vosk", "whisper")
FALLBACK_HINT = "a fallback pair is two different engines, e.g. whisper,vosk or wyoming://HOST:PORT,whisper"
WYOMING = "wyoming://"


def _concrete(name: str) -> bool:
    return name.partition("@")[0] in _CONCRETE or name.startswith(WYOMING)


def with_model(engine: str, model: str | None) -> str:
    """The engine spec for `--engine ENGINE --model NAME|PATH`: `ENGINE@MODEL`, the engine taken
    from the model when `auto`. The model is resolved now (joined and verified if it must be), so a
    wrong name fails before any work starts."""
    if model is None:
        return engine
    if "," in engine or engine.startswith(WYOMING) or "@" in engine:
        raise CallwrightError(
            f"--model names one local engine's model; --engine is {engine!r}",
            hint="use --engine whisper or vosk (or auto) with --model",
        )
    if "," in model or "@" in model:
        raise CallwrightError(f"--model {model!r}: a model path may not contain ',' or '@'")
    from callwright.speech.asr.registry import resolve_model

    choice = resolve_model(model, engine)
    return f"{choice.engine}@{model}"


def resolve_engine(engine: str = "auto", model_path: object | None = None) -> str:
    """The concrete engine `auto` stands for here (an explicit engine or pair is returned as is,
    a pair without spaces)."""
    if "," in engine:
        names = [n.strip() for n in engine.split(",")]
        if len(names) != 2 or len(set(names)) != 2 or not all(_concrete(n) for n in names):
            raise CallwrightError(f"unknown ASR engine pair {engine!r}", hint=FALLBACK_HINT)
        if model_path is not None:
            raise CallwrightError(
                "a model path needs one engine, not a fallback pair",
                hint="add --engine vosk or --engine whisper",
            )
        return ",".join(names)
    if "@" in engine and not engine.startswith(WYOMING):
        name, _, model = engine.partition("@")
        if name not in _CONCRETE or not model:
            raise CallwrightError(
                f"unknown ASR engine {engine!r}", hint="ENGINE@MODEL names vosk or whisper and a model"
            )
        if model_path is not None:
            raise CallwrightError(f"{engine!r} names its model; give no model path besides")
        return engine
    if engine.startswith(WYOMING):
        if model_path is not None:
            raise CallwrightError("a Wyoming server has its own model; a model path is for vosk or whisper")
        from callwright.speech.asr.wyoming import parse_servers, servers_spec

        return servers_spec(parse_servers(engine))
    if engine not in ENGINES:
        raise CallwrightError(
            f"unknown ASR engine {engine!r}",
            hint=f"choose one of: {', '.join(ENGINES)}, wyoming://HOST:PORT, or a pair such as whisper,vosk",
        )
    if engine != "auto":
        return engine
    if model_path is not None:
        raise CallwrightError(
            "a model path needs an explicit engine", hint="add --engine vosk or --engine whisper"
        )
    return "vosk" if find_english_vosk_model() is not None else "whisper"


def get_recognizer(engine: str = "auto", **config: Any) -> Recognizer:
    """A ready recogniser. `config` goes to the engine: `model_path` for both (one engine only);
    `settings` (a WhisperSettings) for whisper; `cpu_threads` (an int, 0: the engine's default)
    sets Whisper's decoding threads unless `settings` does, and Vosk, which decodes on the
    calling thread, ignores it.
    """
    cpu_threads = int(config.pop("cpu_threads", 0) or 0)
    chosen = resolve_engine(engine, config.get("model_path"))
    if "," in chosen:
        from callwright.speech.asr.fallback import FallbackRecognizer

        primary, fallback = chosen.split(",")
        recognizer: Recognizer = FallbackRecognizer(
            lambda: _one(primary, False, cpu_threads, _for(primary, config)),
            lambda: _one(fallback, False, cpu_threads, _for(fallback, config)),
        )
    else:
        recognizer = _one(chosen, engine == "auto", cpu_threads, config)
    log.info("ASR engine: %s (asked for %s)", recognizer.name, engine)
    return recognizer


def _for(engine: str, config: dict[str, Any]) -> dict[str, Any]:
    """The part of a fallback pair's `config` for one of its engines (`settings` is Whisper's)."""
    if engine.startswith(WYOMING):
        return {}
    return {k: v for k, v in config.items() if engine.partition("@")[0] == "whisper" or k != "settings"}


def _one(engine: str, auto: bool, cpu_threads: int, config: dict[str, Any]) -> Recognizer:
    if "@" in engine and not engine.startswith(WYOMING):
        from callwright.speech.asr.registry import resolve_model

        engine, _, model = engine.partition("@")
        config = {**config, "model_path": resolve_model(model, engine).path}
    if engine.startswith(WYOMING):
        from callwright.speech.asr.wyoming import WyomingRecognizer

        if config:
            raise CallwrightError(f"{engine}: a Wyoming server takes no settings here, got {sorted(config)}")
        return WyomingRecognizer(engine)
    if engine == "vosk":
        from callwright.speech.asr.vosk import VoskRecognizer

        model_path = config.pop("model_path", None)
        if model_path is None and auto:
            model_path = find_english_vosk_model()
        if config:
            raise CallwrightError(f"vosk engine: unknown settings {sorted(config)}")
        return VoskRecognizer(model_path)
    from callwright.speech.asr.whisper import WhisperRecognizer, WhisperSettings

    unknown = set(config) - {"model_path", "settings"}
    if unknown:
        raise CallwrightError(f"whisper engine: unknown settings {sorted(unknown)}")
    settings = config.get("settings")
    if settings is None and cpu_threads:
        settings = WhisperSettings(cpu_threads=cpu_threads)
    model_path = config.get("model_path")
    if model_path is None:
        from callwright.speech.asr.registry import DEFAULT_WHISPER, REGISTRY, model_dir

        model_path = model_dir(REGISTRY[DEFAULT_WHISPER])  # tiny.en, its checksum verified
    return WhisperRecognizer(model_path, settings)


class ModelRecognizers(Recognizers):
    """Recognisers by model for the IVR: the default from `--engine`/`--model`, and any model a
    flow or a state names (`model:`), each built once per process and shared by every call.

    The cache is keyed by the resolved model directory, so `base` and the path it joins to are
    one model; the engine of a flow's model is the model's own (a flow's `model: vosk-ko` is
    heard by Vosk whatever `--engine` says: the designer chose the model for the state).
    `config` is what `get_recognizer` takes (Whisper settings, `cpu_threads`), applied to every
    model of its engine.
    """

    def __init__(self, engine: str = "auto", model: str | None = None, **config: Any) -> None:
        self._config = dict(config)
        self._lock = threading.Lock()
        self._by_dir: dict[str, Heard] = {}  # by resolved model directory: one load per model
        self._by_spec: dict[str, Heard] = {}  # by the name or path asked for
        self._by_language: dict[tuple[int, str], Heard] = {}
        recognizer = get_recognizer(with_model(engine, model), **config)
        self.default = Heard(recognizer, _default_label(recognizer))
        path = getattr(recognizer, "model_path", None)
        if isinstance(path, Path):  # a flow naming the default's model gets the default itself
            self._by_dir[str(path.resolve())] = self.default

    def get(self, model: str | None = None, language: str | None = None) -> Heard:
        heard = self.default if model is None else self._model(model)
        if not language:
            return heard
        with self._lock:
            key = (id(heard.recognizer), language)
            found = self._by_language.get(key)
            if found is None:
                found = self._by_language[key] = Heard(heard.recognizer.for_language(language), heard.model)
            return found

    def _model(self, model: str) -> Heard:
        from callwright.speech.asr.registry import resolve_model

        with self._lock:  # one load per model even when calls ask at once
            heard = self._by_spec.get(model)  # every turn asks: resolved (and verified) once
            if heard is not None:
                return heard
            choice = resolve_model(model)
            key = str(choice.path.resolve())
            heard = self._by_dir.get(key)
            if heard is None:
                config = {
                    k: v for k, v in self._config.items() if choice.engine == "whisper" or k != "settings"
                }
                recognizer = get_recognizer(choice.engine, model_path=choice.path, **config)
                heard = self._by_dir[key] = Heard(recognizer, choice.name or str(choice.path))
            self._by_spec[model] = heard
            return heard


def _default_label(recognizer: Recognizer) -> str:
    """What the call log says heard a turn when no model was named: the registry name of the
    engine's model directory (tiny.en for Whisper's default), its folder name, else the engine."""
    path = getattr(recognizer, "model_path", None)
    if isinstance(path, Path):
        from callwright.speech.asr.registry import name_of

        return name_of(path) or str(path)
    return recognizer.name
