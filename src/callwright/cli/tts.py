"""`callwright tts`: render a prompt to a WAV file, or list the voices."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer

from callwright.cli.options import TTS_HELP
from callwright.errors import CallwrightError

log = logging.getLogger(__name__)

_ENCODINGS = ("pcm16", "ulaw", "alaw")


def _close(engine: object) -> None:
    close = getattr(engine, "close", None)  # the local engine's worker process
    if callable(close):
        close()


def _list_voices(spec: str, as_json: bool) -> None:
    from callwright.speech.tts import synthesizer_engine

    synth = synthesizer_engine(spec)
    try:
        voices = synth.voices()
    finally:
        _close(synth)
    for v in voices:
        if as_json:
            typer.echo(
                json.dumps(
                    {"id": v.short_id, "engine_id": v.id, "name": v.name, "languages": v.languages},
                    ensure_ascii=False,
                )
            )
        else:
            typer.echo(f"{v.short_id:<22} {','.join(v.languages):<18} {v.name}")


def tts(
    text: Annotated[str | None, typer.Argument(help="What to say.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="WAV file to write.")] = None,
    voice: Annotated[str | None, typer.Option(help="Voice id or name, e.g. en-us, en-gb, es, ko.")] = None,
    language: Annotated[
        str | None, typer.Option(help="Pick a voice by language when --voice is not given.")
    ] = None,
    rate: Annotated[int | None, typer.Option(help="Speaking rate in words per minute.")] = None,
    sample_rate: Annotated[int, typer.Option(help="Output sample rate in Hz.")] = 8000,
    encoding: Annotated[str, typer.Option(help="WAV encoding: pcm16, ulaw or alaw.")] = "pcm16",
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            help="Prompt cache (default $CALLWRIGHT_TTS_CACHE, else $XDG_CACHE_HOME/callwright/tts, "
            "else ~/.cache/callwright/tts; see docs/environment.md)."
        ),
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Render afresh; do not use the cache.")
    ] = False,
    list_voices: Annotated[bool, typer.Option("--list-voices", help="List voices and exit.")] = False,
    tts: Annotated[str, typer.Option("--tts", help=TTS_HELP)] = "espeak",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, one object per line.")] = False,
) -> None:
    """Render TEXT with the prompt voice (espeak-ng via pyttsx3, or --tts wyoming://...) to a WAV file."""
    if list_voices:
        _list_voices(tts, as_json)
        return
    if text is None:
        raise CallwrightError("no text given", hint='usage: callwright tts "Hello" -o hello.wav')
    if output is None:
        raise CallwrightError("no output file given", hint="add -o out.wav")
    if encoding not in _ENCODINGS:
        raise CallwrightError(f"unknown --encoding {encoding!r}", hint=f"use one of {', '.join(_ENCODINGS)}")

    from callwright.ivr import spoken
    from callwright.speech import ssml
    from callwright.speech.audio import write_wav
    from callwright.speech.tts import CachedSynthesizer, synthesizer_engine

    markup = None
    if ssml.is_ssml(text):  # a prompt with SSML, as a flow would have it (docs/flows.md)
        try:
            ssml.parse(text)
        except ssml.SsmlError as err:
            raise CallwrightError(f"TEXT: SSML at character {err.offset + 1}: {err.message}") from None
        markup = spoken.render(text, {}, language or "en").ssml
    engine = synthesizer_engine(tts)
    try:
        synth = engine if no_cache else CachedSynthesizer(engine, cache_dir)
        settings = synth.settings(voice=voice, rate_wpm=rate, language=language)
        if markup is not None:
            audio = synth.synthesize_ssml(
                markup, voice=voice, rate_wpm=rate, language=language, sample_rate=sample_rate
            )
        else:
            audio = synth.synthesize(
                text, voice=voice, rate_wpm=rate, language=language, sample_rate=sample_rate
            )
    finally:
        _close(engine)
    write_wav(output, audio, encoding=encoding)  # type: ignore[arg-type]
    log.info("wrote %s (%.2f s)", output, audio.duration_s)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "file": str(output),
                    "duration_s": round(audio.duration_s, 3),
                    "sample_rate": audio.rate,
                    "encoding": encoding,
                    "voice": settings.voice,
                    "rate_wpm": settings.rate_wpm,
                },
                ensure_ascii=False,
            )
        )


def register(app: typer.Typer) -> None:
    """Add `callwright tts` to the root app."""
    app.command("tts")(tts)
