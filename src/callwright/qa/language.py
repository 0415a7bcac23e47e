"""The language a call is transcribed in, and how it was chosen.

In order: `qa score --language` (the operator knows the batch), else the call's metadata
(`language` in its sidecar, manifest row, file-name pattern or imported transcript), else the
model's own: an English-only model (tiny.en, an English Vosk model) hears English, and a
multilingual one (Whisper base) detects the language once per call, over the first
`DETECT_S` seconds of speech of the speaker who talks most, and decodes every track in it.
Whatever was chosen is checked against the model's declared languages
(`Capabilities.languages`) first: an English-only model asked for Spanish is a user error
naming where the language came from, never English words for Spanish speech.

The language the transcript is in is kept with it (`Transcript.language`, and the
probability when it was detected), and stored with the recording (docs/database.md).

For a recording told no language, the same `call_language` is what its scorecard is chosen by
(`assign_if: language == 'es'`, `scorecard.assignment.choose_by_language`): the pipeline finds it
before transcribing, so one detection serves both the choice and the decode. A detection under
`scorecard.assignment.LANGUAGE_CHOICE_MIN` still sets the decoding language (Whisper's best
guess), but not the scorecard, and the call's note says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from callwright.qa.model import CallMeta, Role
from callwright.speech.asr.base import Recognizer
from callwright.speech.asr.languages import SpokenLanguage, check_language, primary
from callwright.speech.audio import Audio

DETECT_S = 30.0
"""Speech heard to detect a call's language: Whisper decides from one 30 s window."""
OPTION = "--language"


def asked_language(option: str | None, meta: CallMeta, where: str, recognizer: Recognizer) -> str | None:
    """The language a call was given in (the option's, else its metadata's; None: neither),
    checked against the recogniser's model: a `CallwrightError` naming the option or the call's
    `language` field when the model cannot hear it (the batch records it against the call)."""
    language, field = (option, OPTION) if option else (meta.language, f"{where}: language")
    if not language:
        return None
    return check_language(
        language, recognizer.capabilities.languages, field=field, model=model_label(recognizer)
    )


def model_label(recognizer: Recognizer) -> str:
    """The model an error names: its registry name, its directory, else the engine's name."""
    path = getattr(recognizer, "model_path", None)
    if isinstance(path, Path):
        from callwright.speech.asr.registry import name_of

        return name_of(path) or str(path)
    return recognizer.name


def call_language(
    recognizer: Recognizer,
    tracks: Mapping[Role, Audio],
    speech: Mapping[Role, Sequence[tuple[float, float]]],
    language: str | None,
) -> SpokenLanguage | None:
    """What a call's tracks are decoded in: `language` when given (already checked), else the
    model's one language, else (a model that detects) the language of the speech of the speaker
    who talks most; None when nothing is known (no speech, a model that does not say)."""
    if language:
        return SpokenLanguage(primary(language))
    caps = recognizer.capabilities
    if not caps.language_detection:
        own = {primary(lang) for lang in caps.languages}
        return SpokenLanguage(own.pop()) if len(own) == 1 and not caps.multilingual else None
    talk = {role: sum(b - a for a, b in speech.get(role, ())) for role in tracks}
    role = max(talk, key=lambda r: talk[r], default=None)
    if role is None or talk[role] <= 0:
        return None
    return recognizer.detect_language(speech_of(tracks[role], speech[role], DETECT_S))


def speech_of(track: Audio, regions: Sequence[tuple[float, float]], limit_s: float) -> Audio:
    """The first `limit_s` seconds of a track's speech regions, joined (what detection hears: a
    track's first 30 s are mostly the other speaker's turns, so mostly silence)."""
    parts: list[np.ndarray] = []
    left = int(limit_s * track.rate)
    for a, b in sorted(regions):
        i, j = int(a * track.rate), min(track.samples.shape[0], int(b * track.rate))
        take = min(max(0, j - i), left)
        if take:
            parts.append(track.samples[i : i + take])
            left -= take
        if left <= 0:
            break
    samples = np.concatenate(parts) if parts else track.samples[:0]
    return Audio(samples, track.rate)
