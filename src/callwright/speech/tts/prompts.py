"""Audio for IVR prompts: a pre-recorded file where the flow gives one, else TTS.

Recorded prompts sound better but come at whatever rate the studio used, so
they are resampled to the channel rate here, once, and kept in memory.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from callwright.speech.audio import Audio, read_audio, resample
from callwright.speech.tts.base import Synthesizer
from callwright.speech.tts.cache import CachedSynthesizer


class PromptAudio:
    """Resolves a prompt to channel-rate audio: recorded file first, else synthesised."""

    def __init__(
        self,
        synthesizer: Synthesizer,
        rate: int = 8000,
        base_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.synthesizer = synthesizer
        self.rate = rate
        self.base_dir = Path(base_dir) if base_dir is not None else None
        self._files: dict[tuple[Path, int, int], Audio] = {}
        self._lock = threading.Lock()

    def _recorded(self, file: str | os.PathLike[str]) -> Audio:
        path = Path(file)
        if not path.is_absolute() and self.base_dir is not None:
            path = self.base_dir / path
        mtime = path.stat().st_mtime_ns if path.is_file() else -1
        key = (path, mtime, self.rate)
        with self._lock:
            cached = self._files.get(key)
        if cached is not None:
            return cached
        audio = resample(read_audio(path).mono(), self.rate)  # read_audio names a missing file
        with self._lock:
            self._files[key] = audio
        return audio

    def render(
        self,
        text: str,
        *,
        file: str | os.PathLike[str] | None = None,
        voice: str | None = None,
        rate_wpm: int | None = None,
        language: str | None = None,
        cache: bool = True,
        ssml: str | None = None,
    ) -> Audio:
        """Audio for one prompt at the channel rate.

        `cache=False` keeps a prompt out of the on-disk TTS cache: pass it for a
        prompt made from caller data (a template with variables, "I heard 7 3 0 5").
        `ssml`: the prompt's markup (`tts.ssml.to_espeak`), said instead of `text`.
        """
        if file is not None:
            return self._recorded(file)
        if ssml is not None:
            if isinstance(self.synthesizer, CachedSynthesizer):
                return self.synthesizer.synthesize_ssml(
                    ssml,
                    voice=voice,
                    rate_wpm=rate_wpm,
                    language=language,
                    sample_rate=self.rate,
                    cache=cache,
                )
            return self.synthesizer.synthesize_ssml(
                ssml, voice=voice, rate_wpm=rate_wpm, language=language, sample_rate=self.rate
            )
        if not cache and isinstance(self.synthesizer, CachedSynthesizer):
            return self.synthesizer.synthesize(
                text, voice=voice, rate_wpm=rate_wpm, language=language, sample_rate=self.rate, cache=False
            )
        return self.synthesizer.synthesize(
            text, voice=voice, rate_wpm=rate_wpm, language=language, sample_rate=self.rate
        )
