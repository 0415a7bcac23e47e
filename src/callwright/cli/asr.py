"""`callwright asr FILE...`: recognise recorded utterances, optionally against a closed set.

Each file is treated as one caller utterance, as the IVR would hear it after
endpointing, and checked the way an ask state checks it: against a list of
choices, as a digit string, or as yes/no. One JSON object per file and line
with --json; unreadable files get an error line and the rest still run.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from callwright.cli.options import ENGINE_HELP, LANGUAGE_HELP, MODEL_HELP
from callwright.errors import CallwrightError

if TYPE_CHECKING:
    from callwright.speech.asr.languages import SpokenLanguage

log = logging.getLogger(__name__)

MAX_UTTERANCE_S = 30 * 60.0
"""Longest file `asr` recognises: it hears each file as one utterance (an answer, a voicemail), and
a recogniser's stream holds all of it. Whole calls are for `callwright qa score` (up to four hours)."""

DIGIT_PHRASES = "zero one two three four five six seven eight nine".split()
YES_NO_PHRASES = ["yes", "no"]


def register(app: typer.Typer) -> None:
    """Add `asr` to the root app."""
    app.command("asr")(asr)


def asr(
    files: list[Path] = typer.Argument(..., help="Audio files (WAV, mu-law/A-law, FLAC, ...)."),
    choices: str | None = typer.Option(
        None, "--choices", help="Comma-separated choices, e.g. billing,support,operator."
    ),
    digits: bool = typer.Option(False, "--digits", help="Expect a digit string."),
    yesno: bool = typer.Option(False, "--yesno", help="Expect yes or no."),
    engine: str = typer.Option("auto", "--engine", help=ENGINE_HELP),
    model: str | None = typer.Option(None, "--model", help=MODEL_HELP),
    language: str | None = typer.Option(None, "--language", help=LANGUAGE_HELP),
    channel: int | None = typer.Option(
        None, "--channel", help="Use this channel of a multi-channel file (default: mix)."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per file and line."),
) -> None:
    """Recognise each file; with a closed set, say which choice it names (null when rejected)."""
    from callwright.speech.asr import get_recognizer
    from callwright.speech.asr.factory import with_model

    modes = [m for m, on in (("--choices", choices is not None), ("--digits", digits),
                             ("--yesno", yesno)) if on]  # fmt: skip
    if len(modes) > 1:
        raise CallwrightError(f"use only one of {', '.join(modes)}")
    choice_list = _parse_choices(choices) if choices is not None else None
    phrases = choice_list or (DIGIT_PHRASES if digits else YES_NO_PHRASES if yesno else None)
    recognizer = get_recognizer(with_model(engine, model))
    if language is not None:
        from callwright.qa.language import model_label
        from callwright.speech.asr.languages import check_language

        caps = recognizer.capabilities
        language = check_language(language, caps.languages, field="--language", model=model_label(recognizer))
        recognizer = recognizer.for_language(language)

    failed = 0
    for f in files:
        try:
            text, confidence, spoken = _recognise(recognizer, f, phrases, channel, language)
        except CallwrightError as err:
            failed += 1
            _emit_error(f, err, as_json)
            continue
        choice = _interpret(text, choice_list, digits, yesno)
        code = spoken.code if spoken is not None else None
        if as_json:
            row = {"file": str(f), "text": text, "choice": choice, "confidence": confidence, "language": code}
            if spoken is not None and spoken.detected:
                row["language_probability"] = spoken.probability
            typer.echo(json.dumps(row, ensure_ascii=False))
        else:
            shown = "" if choice_list is None and not (digits or yesno) else f" -> {choice}"
            heard = "" if spoken is None or not spoken.detected else f", {code} detected"
            typer.echo(f"{f}: {text!r}{shown} ({confidence:.2f}{heard})")
    if failed:
        raise typer.Exit(1)


def _parse_choices(raw: str) -> list[str]:
    items = [c.strip() for c in raw.split(",") if c.strip()]
    if not items:
        raise CallwrightError("--choices is empty", hint="give choices like billing,support")
    return items


def _recognise(
    recognizer: object, path: Path, phrases: list[str] | None, channel: int | None, language: str | None
) -> tuple[str, float, SpokenLanguage | None]:
    """Text, confidence and language for one file, as one utterance (engines split long ones).

    The language is `language` (`--language`, the recogniser already told it), else the model's
    one language, else (a multilingual model) the one it detects in the file, then decoded in it."""
    from callwright.errors import AudioError
    from callwright.speech.asr.base import Recognizer
    from callwright.speech.asr.languages import SpokenLanguage, primary
    from callwright.speech.audio import frames, read_audio

    assert isinstance(recognizer, Recognizer)
    audio = read_audio(path, max_duration_s=MAX_UTTERANCE_S)
    if channel is not None:
        if not 0 <= channel < audio.channels:
            raise AudioError(f"{path}: no channel {channel} (it has {audio.channels})")
        audio = audio.channel(channel)
    audio = audio.mono()
    caps = recognizer.capabilities
    own = {primary(lang) for lang in caps.languages}
    spoken: SpokenLanguage | None = None
    if language is not None:
        spoken = SpokenLanguage(primary(language))
    elif caps.language_detection:
        spoken = recognizer.detect_language(audio)
        recognizer = recognizer.for_language(spoken.code if spoken is not None else None)
    elif len(own) == 1 and not caps.multilingual:
        spoken = SpokenLanguage(own.pop())
    with recognizer.open(audio.rate, phrases) as stream:
        for frame in frames(audio, 20):
            stream.accept(frame)
        result = stream.finish()
    return result.text, round(result.confidence, 4), spoken


def _interpret(text: str, choice_list: list[str] | None, digits: bool, yesno: bool) -> str | None:
    from callwright.speech.closedset import Choice, match_choice, parse_digits, parse_yes_no

    if choice_list is not None:
        match = match_choice(text, [Choice(c, (c,)) for c in choice_list])
        return match.id if match else None
    if digits:
        return parse_digits(text)
    if yesno:
        answer = parse_yes_no(text)
        return None if answer is None else ("yes" if answer else "no")
    return None


def _emit_error(path: Path, err: CallwrightError, as_json: bool) -> None:
    message = str(err)
    if not message.startswith(str(path)):
        message = f"{path}: {message}"
    if as_json:
        typer.echo(json.dumps({"file": str(path), "error": message}, ensure_ascii=False))
    else:
        typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
