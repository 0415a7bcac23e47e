"""`callwright call FLOW`: run a call through the real engine without a phone."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import typer

from callwright.cli.options import ENGINE_HELP, MODEL_HELP, TTS_HELP
from callwright.errors import CallwrightError

if TYPE_CHECKING:  # pragma: no cover
    from callwright.speech.asr.base import Recognizer


def register(app: typer.Typer) -> None:
    app.command("call")(call)


def parse_queue_waits(items: list[str]) -> dict[str, float]:
    from callwright.flows.loader import parse_duration

    waits = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            waits[name.strip()] = parse_duration(value)
        except ValueError:
            raise CallwrightError(
                f"--queue-wait {item!r}: expected QUEUE=SECONDS, e.g. billing=180"
            ) from None
    return waits


def flow_language(language: str, languages: Sequence[str], flow: str) -> str:
    """`--language` as the flow names it: a language code (checked as `asr --language` checks
    it) that the flow speaks, matched exactly or by its primary subtag (`es-MX` starts a flow of
    `[en, es]` in `es`); else a `CallwrightError` naming the option."""
    from callwright.speech.asr.languages import check_language, primary

    code = check_language(language, (), field="--language", model="")
    if code in languages:
        return code
    same = [lang for lang in languages if primary(lang) == primary(code)]
    if same:
        return same[0]
    raise CallwrightError(
        f"--language: flow {flow} speaks {', '.join(languages)}, not {code!r}",
        hint=f"start it in one of {', '.join(languages)}, or add the language to the flow's languages",
    )


def heard_language(language: str, recognizer: Recognizer, label: str) -> None:
    """A call in `language` heard by `recognizer` (`--engine`/`--model`, for the states that name
    no model): refused, naming `--language` and the model, when the model cannot hear it (an
    English-only model would hear Spanish as English words)."""
    from callwright.speech.asr.languages import check_language

    check_language(language, recognizer.capabilities.languages, field="--language", model=label)


def typed_model(engine_name: str, model: str | None) -> None:
    """`--model` with a typed caller: nothing is recognised, so nothing is loaded, but a value that
    `--audio` or `serve` would refuse (an unknown name, with "did you mean"; a missing directory;
    an engine that does not match) is refused the same way, and a good one is said to be unused."""
    if model is None:
        return
    from callwright.speech.asr.registry import identify_model

    identify_model(model, engine_name if engine_name in ("whisper", "vosk") else "auto")
    print(f"warning: --model {model} is not used with --text: typed words are not heard", file=sys.stderr)


def _caller_input(stream: TextIO) -> TextIO:
    """The typed caller's input as text: bytes that are not UTF-8 become U+FFFD (heard
    as words that match nothing) instead of ending the call with a decoding error."""
    raw = getattr(stream, "buffer", None)
    if raw is None:
        return stream
    return io.TextIOWrapper(raw, encoding="utf-8", errors="replace", line_buffering=True)


def call(
    flow: Path = typer.Argument(..., help="Flow file to run."),
    text: bool = typer.Option(
        False,
        "--text",
        help="Typed caller: words are speech, #1 is a key press, an empty line is silence, /hangup hangs up.",
    ),
    audio: Path | None = typer.Option(
        None,
        "--audio",
        help="Caller script (YAML turns of wav, dtmf, silence, say, hangup) played into an audio line.",
    ),
    mic: bool = typer.Option(False, "--mic", help="Live call through the microphone and speaker."),
    fast: bool = typer.Option(False, "--fast", help="With --audio: run faster than real time."),
    engine_name: str = typer.Option("auto", "--engine", help=ENGINE_HELP),
    model: str | None = typer.Option(None, "--model", help=MODEL_HELP + " With --audio or --mic."),
    tts: str = typer.Option("espeak", "--tts", help=TTS_HELP + " With --audio or --mic."),
    rate: int = typer.Option(8000, "--rate", help="Audio line sample rate: 8000 or 16000."),
    recordings: Path = typer.Option(
        Path("recordings"),
        "--recordings",
        help="Folder for call recordings (stereo WAV: caller left, IVR right).",
    ),
    caller_id: str = typer.Option("+15550100", "--caller-id", help="The caller's number."),
    called_number: str = typer.Option("", "--called", help="The number dialled."),
    language: str | None = typer.Option(
        None,
        "--language",
        help="Start in this language (one of the flow's languages; with --audio or --mic, one the "
        "model hears).",
    ),
    at: str | None = typer.Option(
        None,
        "--time",
        help="Pretend the call starts at this ISO "
        "time (e.g. 2026-11-23T10:00-05:00); timeouts then use a fake clock.",
    ),
    queue_wait: list[str] = typer.Option(
        [], "--queue-wait", help="Expected wait per queue, QUEUE=SECONDS (repeatable), for callback offers."
    ),
    db: Path | None = typer.Option(
        None, "--db", help="Call log database (default $CALLWRIGHT_DB or ./callwright.db)."
    ),
    var: list[str] = typer.Option(
        [], "--var", help="Start variable NAME=VALUE (repeatable); the flow declares it under `inputs:`."
    ),
    secrets: Path | None = typer.Option(
        None,
        "--secrets",
        help="File of named secrets for http steps (default $CALLWRIGHT_SECRETS_FILE; "
        "else CALLWRIGHT_SECRET_<NAME>).",
    ),
    function: list[str] = typer.Option(
        [],
        "--function",
        help="A Python function a flow's function steps may call, NAME=module:callable (repeatable).",
    ),
    verbose_io: bool = typer.Option(False, "--show-listen", help="Show when the IVR listens."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary at the end."),
) -> None:
    """Call a flow: --text (default) to type, --audio SCRIPT to play a recorded caller, --mic to talk."""
    if sum([text, audio is not None, mic]) > 1:
        raise CallwrightError("choose one of --text, --audio and --mic")
    if rate not in (8000, 16000):
        raise CallwrightError(f"--rate {rate}: the audio line runs at 8000 or 16000 Hz")
    from callwright.flows.inputs import parse_vars
    from callwright.ivr.channels import Channel
    from callwright.ivr.channels.script import load_caller_script
    from callwright.ivr.channels.text import TextChannel
    from callwright.ivr.clock import FakeClock, RealClock, parse_call_time
    from callwright.ivr.datasteps import FunctionRegistry, LiveData, Secrets
    from callwright.ivr.engine import load_engine
    from callwright.ivr.queues import ConfiguredWaits
    from callwright.ivr.runner import run_call
    from callwright.store.calllog import CallLog
    from callwright.store.db import default_path
    from callwright.textsafe import safe_text

    engine = load_engine(flow)  # refuses a flow with errors (exit 2) before any call row
    if language is not None:  # a code the flow speaks, before any call row or model load
        language = flow_language(language, engine.flow.languages, engine.flow.name)
    start_vars = parse_vars(engine.flow, var)  # an undeclared or mistyped --var: before any call row
    data = LiveData(Secrets.from_config(secrets), FunctionRegistry.from_config(function))
    clock = FakeClock(parse_call_time(at, "--time")) if at else RealClock()
    waits = ConfiguredWaits(parse_queue_waits(queue_wait))
    turns = load_caller_script(audio) if audio is not None else None  # refused before any row
    if audio is None and not mic:
        typed_model(engine_name, model)
    db_path = db or default_path()
    log = CallLog.open(db_path)
    out = sys.stderr if as_json else sys.stdout
    line = None
    channel: Channel
    if audio is not None or mic:
        from callwright.ivr.channels.audio import AudioLine, ScriptedAudioChannel
        from callwright.ivr.channels.message import MESSAGES_DIR
        from callwright.speech.asr.factory import ModelRecognizers
        from callwright.speech.tts import PromptAudio, get_synthesizer

        synth = get_synthesizer(tts)
        synth.voices()  # a TTS server that is down: said before the call starts
        prompts = PromptAudio(synth, rate=rate, base_dir=flow.parent)
        # --engine/--model for states that name no model; the flow's own models loaded now, once
        recognizers = ModelRecognizers(engine_name, model)
        if language is not None:
            heard_language(language, recognizers.default.recognizer, recognizers.default.model)
        recognizers.preload(engine.models)
        if mic:
            from callwright.ivr.channels.mic import MicChannel, open_sound_device

            device = open_sound_device(rate)  # fails plainly when there is no sound card
            line = AudioLine(rate, recognizers, prompts)
            line.messages_dir = recordings / MESSAGES_DIR
            clock = RealClock()
            channel = MicChannel(
                line, device, clock, echo=lambda s: print(safe_text(s), file=out, flush=True)
            )
        else:
            assert turns is not None
            line = AudioLine(rate, recognizers, prompts)
            line.messages_dir = recordings / MESSAGES_DIR
            if not isinstance(clock, FakeClock):
                clock = FakeClock(datetime.now().astimezone())
            channel = ScriptedAudioChannel(
                turns,
                line,
                clock,
                synthesizer=synth,
                realtime=not fast,
                echo=lambda s: print(safe_text(s), file=out, flush=True),
            )
    else:
        channel = TextChannel(
            _caller_input(sys.stdin), out, interactive=sys.stdin.isatty(), verbose=verbose_io
        )
    session = run_call(
        engine,
        channel,
        clock,
        calllog=log,
        caller_id=caller_id,
        called_number=called_number,
        language=language,
        queue_status=waits,
        variables=start_vars,
        data=data,
    )
    recording = None
    if line is not None:
        try:
            recording = line.save_recording(recordings / f"{session.call_id}.wav", session.elapsed)
        except OSError as err:
            raise CallwrightError(
                f"cannot write the call recording to {recordings}: {err.strerror or err}",
                hint="free some disk space or choose --recordings",
            ) from None
        log.set_recording(session.call_id, str(recording))
    summary = {
        "call_id": session.call_id,
        "flow": engine.flow.name,
        "outcome": session.outcome,
        "queue": session.queue,
        "disposition": session.disposition,
        "states": session.visited,
        "database": str(db_path),
        "recording": str(recording) if recording else None,
    }
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        typer.echo(
            safe_text(
                f"call {session.call_id}: {session.outcome}"
                + (f" to {session.queue}" if session.queue else "")
                + f"; logged in {db_path}"
            ),
            err=True,
        )
