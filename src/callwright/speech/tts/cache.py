"""A content-addressed cache of rendered prompts, so each prompt is synthesised once.

The key is a hash of everything that changes the audio (engine, text, resolved
voice, language, speaking rate, sample rate), so editing a prompt or a voice
simply misses the cache; nothing needs invalidating by hand.

A rendered prompt can hold a caller's data ("I heard 7 3 0 5"), so the cache is
kept like personal data: in the user's cache directory (never the source
checkout), readable by the owner only (directories 0700, files 0600), and no
entry lives longer than `MAX_AGE_S` (older entries are removed when a cache is
opened and never served). A prompt made from caller data should not be cached
at all: pass `cache=False` to `synthesize`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path

from callwright.errors import AudioError, CallwrightError
from callwright.speech.audio import Audio, read_audio, write_wav
from callwright.speech.tts.base import (
    Synthesizer,
    VoiceInfo,
    VoiceSettings,
    check_sample_rate,
    normalise_text,
)

log = logging.getLogger(__name__)

CACHE_ENV = "CALLWRIGHT_TTS_CACHE"
MAX_AGE_S = 7 * 24 * 3600.0
"""The longest a rendered prompt is kept (7 days). Static prompts are re-rendered after it in well
under a second each; a prompt that held caller data is gone by then at the latest."""
_KEY_VERSION = 2  # bump when rendering changes in a way the inputs do not show (2: a fresh worker per render)
_DIR_MODE, _ENTRY_GLOB = 0o700, "??/*.wav"


SSML_KEY_PREFIX = "\x00ssml\x00"
"""Put before SSML markup in a cache key: no plain prompt text holds a NUL."""


def default_cache_dir() -> Path:
    """$CALLWRIGHT_TTS_CACHE, else $XDG_CACHE_HOME/callwright/tts, else ~/.cache/callwright/tts.

    Never the source checkout: rendered prompts can hold callers' data, and a
    checkout is shared, copied and committed from. A relative XDG_CACHE_HOME is
    ignored, as the XDG Base Directory specification asks.
    """
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "callwright" / "tts"


def _private_dir(path: Path) -> None:
    """Create `path` (and missing parents) readable by the owner only; an existing one is left as is."""
    try:
        path.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
    except OSError as err:
        raise CallwrightError(
            f"cannot create the TTS cache folder {path}: {err.strerror or err}",
            hint=f"choose another with --cache-dir or ${CACHE_ENV}",
        ) from None


def cache_key(text: str, settings: VoiceSettings, sample_rate: int) -> str:
    """sha256 over the canonical JSON of every input that changes the audio."""
    blob = json.dumps(
        {
            "v": _KEY_VERSION,
            "engine": settings.engine,
            "text": normalise_text(text),
            "voice": settings.voice,
            "language": settings.language,
            "rate_wpm": settings.rate_wpm,
            "sample_rate": sample_rate,
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class CachedSynthesizer(Synthesizer):
    """Wraps any Synthesizer with an on-disk WAV cache (atomic writes, safe to share).

    Opening a cache removes entries older than `max_age_s`; an entry that ages
    past it while the cache is open is not served either.
    """

    def __init__(
        self,
        inner: Synthesizer,
        cache_dir: str | os.PathLike[str] | None = None,
        *,
        max_age_s: float = MAX_AGE_S,
    ) -> None:
        if not max_age_s > 0:  # also refuses NaN
            raise CallwrightError(f"TTS cache max age must be more than 0 s, got {max_age_s}")
        self.inner = inner
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.max_age_s = max_age_s
        self.hits = 0
        self.misses = 0
        self.expired = self.prune()

    def prune(self, now: float | None = None) -> int:
        """Remove entries older than `max_age_s` (and stale temp files); returns how many went."""
        if not self.cache_dir.is_dir():
            return 0
        cutoff = (time.time() if now is None else now) - self.max_age_s
        removed = 0
        for pattern in (_ENTRY_GLOB, "??/.*.tmp"):
            for entry in self.cache_dir.glob(pattern):
                try:
                    if entry.lstat().st_mtime < cutoff:
                        entry.unlink()
                        removed += 1
                except OSError:  # gone already (another process pruned), or not ours
                    continue
        if removed:
            log.info(
                "TTS cache %s: removed %d entries older than %.0f days",
                self.cache_dir,
                removed,
                self.max_age_s / 86400,
            )
        return removed

    def voices(self) -> list[VoiceInfo]:
        return self.inner.voices()

    def settings(
        self, *, voice: str | None = None, rate_wpm: int | None = None, language: str | None = None
    ) -> VoiceSettings:
        return self.inner.settings(voice=voice, rate_wpm=rate_wpm, language=language)

    def path_for(self, text: str, settings: VoiceSettings, sample_rate: int) -> Path:
        key = cache_key(text, settings, sample_rate)
        return self.cache_dir / key[:2] / f"{key}.wav"

    def _fresh(self, path: Path) -> bool:
        try:
            return path.is_file() and time.time() - path.stat().st_mtime <= self.max_age_s
        except OSError:
            return False

    def synthesize(
        self,
        text: str,
        *,
        voice: str | None = None,
        rate_wpm: int | None = None,
        language: str | None = None,
        sample_rate: int = 8000,
        cache: bool = True,
    ) -> Audio:
        """The prompt's audio, from the cache when it is there and fresh.

        `cache=False` renders without reading or writing the cache: for prompts
        that hold a caller's data (a templated prompt with variables).
        """
        check_sample_rate(sample_rate)
        s = self.settings(voice=voice, rate_wpm=rate_wpm, language=language)
        if not cache:
            return self.inner.synthesize(text, voice=s.voice, rate_wpm=s.rate_wpm, sample_rate=sample_rate)
        path = self.path_for(text, s, sample_rate)
        if self._fresh(path):
            try:
                audio = read_audio(path)
                self.hits += 1
                return audio
            except AudioError as err:  # a damaged entry is just a miss
                log.warning("discarding bad TTS cache entry: %s", err)
                path.unlink(missing_ok=True)
        self.misses += 1
        audio = self.inner.synthesize(text, voice=s.voice, rate_wpm=s.rate_wpm, sample_rate=sample_rate)
        _private_dir(self.cache_dir)
        _private_dir(path.parent)
        write_wav(path, audio)  # a private temp file renamed into place: 0600
        return audio

    def synthesize_ssml(
        self,
        markup: str,
        *,
        voice: str | None = None,
        rate_wpm: int | None = None,
        language: str | None = None,
        sample_rate: int = 8000,
        cache: bool = True,
    ) -> Audio:
        """An SSML prompt's audio, cached like a plain one (its key is the markup, marked as
        such, so the same words as plain text and as SSML are two entries)."""
        check_sample_rate(sample_rate)
        s = self.settings(voice=voice, rate_wpm=rate_wpm, language=language)

        def render() -> Audio:
            return self.inner.synthesize_ssml(
                markup, voice=s.voice, rate_wpm=s.rate_wpm, sample_rate=sample_rate
            )

        if not cache:
            return render()
        path = self.path_for(SSML_KEY_PREFIX + markup, s, sample_rate)
        if self._fresh(path):
            try:
                audio = read_audio(path)
                self.hits += 1
                return audio
            except AudioError as err:
                log.warning("discarding bad TTS cache entry: %s", err)
                path.unlink(missing_ok=True)
        self.misses += 1
        audio = render()
        _private_dir(self.cache_dir)
        _private_dir(path.parent)
        write_wav(path, audio)
        return audio
