"""Fetching and installing an official Vosk model, verified before it is used.

The only code in Callwright that touches the network, and only when the user
runs `callwright models pull`. The archive is checked against the size and
sha256 we ship, unpacked next to its final place, loaded once with Vosk to
prove it works, and only then moved into models/; any failure leaves nothing
half-installed behind.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

from callwright.errors import CallwrightError, ModelNotFoundError
from callwright.speech.asr.model_paths import VOSK_ENV, VoskRelease, is_vosk_model

log = logging.getLogger(__name__)

_CHUNK = 1 << 16
_TIMEOUT_S = 20.0
OFFLINE_HINT = (
    "this machine may be offline: download the zip on a connected machine, unpack it "
    f"into models/ (or anywhere, and set {VOSK_ENV} to it), or use --url for a local mirror"
)

Progress = Callable[[int, int], None]


def download(url: str, dest: Path, release: VoskRelease, progress: Progress | None = None) -> None:
    """Stream `url` into `dest`, checking size and sha256 as it goes."""
    digest = hashlib.sha256()
    size = 0
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response, dest.open("wb") as out:
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                if size > release.size:
                    break  # more than the real archive: stop, the size check below fails
                if progress is not None:
                    progress(size, release.size)
    except (urllib.error.URLError, TimeoutError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise CallwrightError(f"could not download {url}: {reason}", hint=OFFLINE_HINT) from err
    if size != release.size:
        raise CallwrightError(
            f"{url}: downloaded {size} bytes, expected {release.size}",
            hint="the download was cut short or the file changed upstream; try again",
        )
    if digest.hexdigest() != release.sha256:
        raise CallwrightError(
            f"{url}: sha256 {digest.hexdigest()} does not match the expected {release.sha256}",
            hint="the archive is corrupt or not the official one; do not use it",
        )


def extract(archive: Path, into: Path) -> None:
    """Unpack a zip, refusing entries that would land outside `into`."""
    try:
        with zipfile.ZipFile(archive) as zf:
            root = into.resolve()
            for name in zf.namelist():
                target = (into / name).resolve()
                if target != root and root not in target.parents:
                    raise CallwrightError(f"{archive}: unsafe path in archive: {name!r}")
            zf.extractall(into)
    except zipfile.BadZipFile as err:
        raise CallwrightError(f"{archive}: not a zip archive ({err})") from err


def install(archive: Path, release: VoskRelease, models: Path, load_check: Callable[[Path], object]) -> Path:
    """Unpack a verified archive and move the model into `models`/<release.name>."""
    models.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=models, prefix=".unpack-") as tmp:
        staging = Path(tmp)
        extract(archive, staging)
        unpacked = staging / release.name
        if not is_vosk_model(unpacked):
            raise CallwrightError(
                f"{archive}: no Vosk model at {release.name}/ inside the archive",
                hint="the archive layout changed upstream; unpack it by hand into models/",
            )
        try:
            load_check(unpacked)
        except ModelNotFoundError as err:
            raise CallwrightError(f"{archive}: the unpacked model does not load: {err}") from err
        final = models / release.name
        if final.exists():
            shutil.rmtree(final)
        unpacked.rename(final)
    return final


def pull(
    release: VoskRelease,
    models: Path,
    *,
    url: str | None = None,
    progress: Progress | None = None,
    load_check: Callable[[Path], object] | None = None,
) -> Path:
    """Download, verify, unpack and load-test a Vosk model; returns where it was installed."""
    if load_check is None:
        from callwright.speech.asr.vosk import VoskRecognizer

        load_check = VoskRecognizer
    models.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=models, prefix=".download-") as tmp:
        archive = Path(tmp) / f"{release.name}.zip"
        log.info("downloading %s", url or release.url)
        download(url or release.url, archive, release, progress)
        return install(archive, release, models, load_check)
