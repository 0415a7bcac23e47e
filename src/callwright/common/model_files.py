"""Where model files live on disk, and their checksums, remembered per file state.

Models joined from packages or pulled go to the models directory: $CALLWRIGHT_MODELS_DIR, else
<repo>/models in a source checkout, else ./models. A model that ships in packages is a promise
about bytes: its files are checked against a pinned sha256 before anything loads them. Hashing
hundreds of megabytes on every call would cost seconds, so a verified file is noted (path, size,
modification time, sha256) in a small JSON memo next to the models; the same file state is not
hashed again. Used by the speech model registry (callwright.speech.asr.registry) and the text
model registry (callwright.nlp.text_models).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Literal

from callwright.errors import ModelNotFoundError

CHUNK = 1 << 20
MODELS_DIR_ENV = "CALLWRIGHT_MODELS_DIR"
CHECKSUMS_FILE = "checksums.json"  # the memo of verified files, in the models directory


def repo_root() -> Path | None:
    """The source checkout this package runs from, if it runs from one (editable install)."""
    candidate = Path(__file__).resolve().parents[3]
    return candidate if (candidate / "pyproject.toml").is_file() else None


def models_dir() -> Path:
    """Where joined and downloaded models go: $CALLWRIGHT_MODELS_DIR, else <repo>/models, else ./models."""
    env = os.environ.get(MODELS_DIR_ENV)
    if env:
        return Path(env)
    root = repo_root()
    return (root if root is not None else Path.cwd()) / "models"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def memo(memo_file: Path) -> dict[str, list[object]]:
    """The verified files noted in `memo_file` ({} if it is missing or unreadable)."""
    try:
        data = json.loads(memo_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def known(path: Path, sha256: str, memo_file: Path) -> bool:
    """Whether `path` in its present state (size, mtime) was verified as `sha256` before."""
    stat = path.stat()
    return memo(memo_file).get(str(path.resolve())) == [stat.st_size, stat.st_mtime_ns, sha256]


FileState = Literal["ok", "unchecked", "damaged", "missing"]


def file_status(path: Path, sha256: str, size: int, memo_file: Path) -> tuple[FileState, str]:
    """A pinned file's state without hashing it: ("missing" | "damaged" | "unchecked" | "ok", a
    line that says so). `ok` only when this very file state (size, mtime) was verified before."""
    try:
        stat = path.stat()
    except OSError:
        return "missing", f"{path} is missing"
    if stat.st_size != size:
        return "damaged", f"{path} has {stat.st_size} bytes, want {size}"
    if known(path, sha256, memo_file):
        return "ok", "size and sha256 checked"
    return (
        "unchecked",
        "size right; sha256 not checked yet for this file (`callwright models verify` checks it)",
    )


def verify_file(path: Path, sha256: str, size: int, label: str, hint: str) -> None:
    """Refuse a model file whose size or sha256 is not the pinned one (messages start with
    `label`, e.g. "model 'base'"), hashing a file state once: a verified one is remembered in the
    models directory's memo."""
    if not path.is_file():
        raise ModelNotFoundError(f"{label}: {path} is missing")
    got = path.stat().st_size
    if got != size:
        raise ModelNotFoundError(f"{label}: {path} has {got} bytes, want {size}", hint=hint)
    memo_file = models_dir() / CHECKSUMS_FILE
    if known(path, sha256, memo_file):
        return
    actual = sha256_of(path)
    if actual != sha256:
        raise ModelNotFoundError(
            f"{label}: {path} does not match its sha256 (got {actual[:12]}..., want {sha256[:12]}...)",
            hint=hint,
        )
    remember(path, actual, memo_file)


def remember(path: Path, sha256: str, memo_file: Path) -> None:
    """Note a verified file; a folder we cannot write only costs a hash next time."""
    stat = path.stat()
    data = memo(memo_file)
    data[str(path.resolve())] = [stat.st_size, stat.st_mtime_ns, sha256]
    try:
        memo_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo_file.with_name(f".{memo_file.name}.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, memo_file)
    except OSError:
        pass
