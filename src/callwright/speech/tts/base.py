"""The `Synthesizer` port: what the IVR needs from any text-to-speech engine.

Keeping the engine behind this small interface lets the IVR, the cache and the
prompt resolver stay the same if pyttsx3 is swapped for `espeak-ng -w` or Piper.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from callwright.errors import CallwrightError
from callwright.speech import ssml
from callwright.speech.audio import Audio, concat, silence

DEFAULT_VOICE = "en-us"
DEFAULT_RATE_WPM = 175
MIN_RATE_WPM, MAX_RATE_WPM = 80, 450
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 48000


class SynthesisError(CallwrightError):
    """Text could not be rendered: bad voice or rate, engine hang or crash."""


@dataclass(frozen=True)
class VoiceInfo:
    """One voice an engine offers; `id` is what the engine is told, the rest is for people."""

    id: str
    name: str
    languages: tuple[str, ...]
    gender: str | None = None

    @property
    def short_id(self) -> str:
        """The identifier without its family prefix: "en-us" for "gmw/en-us"."""
        return self.id.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class VoiceSettings:
    """Fully resolved settings of one rendering; equal settings give the same audio."""

    engine: str
    voice: str
    language: str
    rate_wpm: int


class Synthesizer(ABC):
    """Renders text to audio at the channel's sample rate."""

    @abstractmethod
    def voices(self) -> list[VoiceInfo]:
        """Voices this engine can use."""

    @abstractmethod
    def settings(
        self, *, voice: str | None = None, rate_wpm: int | None = None, language: str | None = None
    ) -> VoiceSettings:
        """Resolve user-facing names and defaults, raising SynthesisError for bad ones."""

    @abstractmethod
    def synthesize(
        self,
        text: str,
        *,
        voice: str | None = None,
        rate_wpm: int | None = None,
        language: str | None = None,
        sample_rate: int = 8000,
    ) -> Audio:
        """Speech for `text` as mono 16-bit audio at `sample_rate`."""

    def synthesize_ssml(
        self,
        markup: str,
        *,
        voice: str | None = None,
        rate_wpm: int | None = None,
        language: str | None = None,
        sample_rate: int = 8000,
    ) -> Audio:
        """Speech for a prompt in the SSML subset of `tts.ssml` (as `ssml.to_espeak` writes it).

        This default works with any engine: each piece of text is rendered at its prosody's
        rate and volume and the breaks are silences between them (pitch stays the voice's).
        An engine that reads SSML itself (espeak-ng) overrides it.
        """
        try:
            doc = ssml.parse(markup)
        except ssml.SsmlError as err:
            raise SynthesisError(f"bad SSML in a prompt: {err.message} (at character {err.offset})") from None
        base = self.settings(voice=voice, rate_wpm=rate_wpm, language=language).rate_wpm
        parts: list[Audio] = []
        for seg in ssml.segments(doc):
            if isinstance(seg, ssml.Silence):
                parts.append(silence(seg.seconds, sample_rate))
                continue
            rate = min(MAX_RATE_WPM, max(MIN_RATE_WPM, round(base * seg.rate_factor)))
            audio = self.synthesize(
                seg.text, voice=voice, rate_wpm=rate, language=language, sample_rate=sample_rate
            )
            if seg.volume_db:
                gain = 10 ** (seg.volume_db / 20)
                louder = np.clip(audio.samples.astype(np.float64) * gain, -32768, 32767)
                audio = Audio(louder.astype(np.int16), audio.rate)
            parts.append(audio)
        if not parts:
            raise SynthesisError("nothing to say: the prompt text is empty")
        return concat(parts)


def normalise_text(text: str) -> str:
    """Collapse whitespace (it does not change speech) and refuse empty prompts."""
    cleaned = " ".join(text.split())
    if not cleaned:
        raise SynthesisError("nothing to say: the prompt text is empty")
    return cleaned


def check_sample_rate(sample_rate: int) -> None:
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise SynthesisError(
            f"TTS sample rate {sample_rate} Hz is out of range",
            hint=f"use {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz, e.g. 8000 for telephone audio",
        )


def check_rate_wpm(rate_wpm: int) -> None:
    if not MIN_RATE_WPM <= rate_wpm <= MAX_RATE_WPM:
        raise SynthesisError(
            f"speaking rate {rate_wpm} words per minute is out of range",
            hint=f"use {MIN_RATE_WPM}-{MAX_RATE_WPM}; {DEFAULT_RATE_WPM} is the default",
        )


def resolve_voice(voices: Sequence[VoiceInfo], voice: str | None, language: str | None) -> VoiceInfo:
    """Pick a voice by id, short id, name or language code (case-insensitive).

    An explicit voice wins over a language; a language alone picks the first voice
    speaking it exactly, then one whose short id is that code, then a regional variant.
    """
    if voice:
        want = voice.strip().lower()
        for v in voices:
            names = {v.id.lower(), v.short_id.lower(), v.name.lower(), *map(str.lower, v.languages)}
            if want in names:
                return v
        raise SynthesisError(
            f"unknown TTS voice {voice!r}",
            hint="run `callwright tts --list-voices`; e.g. en-us, en-gb, es, ko",
        )
    want = (language or DEFAULT_VOICE).strip().lower()
    for match in (
        lambda v: want in (lang.lower() for lang in v.languages),
        lambda v: v.short_id.lower() == want,
        lambda v: any(lang.lower().startswith(want + "-") for lang in v.languages),
    ):
        for v in voices:
            if match(v):
                return v
    raise SynthesisError(
        f"no TTS voice speaks language {language!r}",
        hint="run `callwright tts --list-voices` to see the languages available",
    )
