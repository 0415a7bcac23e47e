"""A content-addressed cache of rendered prompts, so each prompt is synthesised once.

The key is a hash of everything that changes the audio (engine, text, resolved
voice, language, speaking rate, sample rate), so editing a prompt or a voice
simply misses the cache; nothing needs invalidating by hand.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

from callwright.errors import AudioError
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
_KEY_VERSION = 2  # bump when rendering changes in a way the inputs do not show (2: a fresh worker per render)


def default_cache_dir() -> Path:
    """$CALLWRIGHT_TTS_CACHE, else models/cache/tts in a source checkout, else ~/.cache."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    repo = Path(__file__).resolve().parents[4]
    if (repo / "pyproject.toml").is_file() and (repo / "src" / "callwright").is_dir():
        return repo / "models" / "cache" / "tts"
    return Path.home() / ".cache" / "callwright" / "tts"


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
    """Wraps any Synthesizer with an on-disk WAV cache (atomic writes, safe to share)."""

    def __init__(self, inner: Synthesizer, cache_dir: str | os.PathLike[str] | None = None) -> None:
        self.inner = inner
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.hits = 0
        self.misses = 0

    def voices(self) -> list[VoiceInfo]:
        return self.inner.voices()

    def settings(
        self, *, voice: str | None = None, rate_wpm: int | None = None, language: str | None = None
    ) -> VoiceSettings:
        return self.inner.settings(voice=voice, rate_wpm=rate_wpm, language=language)

    def path_for(self, text: str, settings: VoiceSettings, sample_rate: int) -> Path:
        key = cache_key(text, settings, sample_rate)
        return self.cache_dir / key[:2] / f"{key}.wav"

    def synthesize(
        self,
        text: str,
        *,
        voice: str | None = None,
        rate_wpm: int | None = None,
        language: str | None = None,
        sample_rate: int = 8000,
    ) -> Audio:
        check_sample_rate(sample_rate)
        s = self.settings(voice=voice, rate_wpm=rate_wpm, language=language)
        path = self.path_for(text, s, sample_rate)
        if path.is_file():
            try:
                audio = read_audio(path)
                self.hits += 1
                return audio
            except AudioError as err:  # a damaged entry is just a miss
                log.warning("discarding bad TTS cache entry: %s", err)
                path.unlink(missing_ok=True)
        self.misses += 1
        audio = self.inner.synthesize(text, voice=s.voice, rate_wpm=s.rate_wpm, sample_rate=sample_rate)
        write_wav(path, audio)
        return audio
