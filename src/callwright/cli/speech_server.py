"""`callwright speech-server`: serve a recogniser and a synthesiser over Wyoming (docs/telephony.md,
"Speech as a service")."""

from __future__ import annotations

import typer

from callwright.cli.options import MODEL_HELP
from callwright.errors import CallwrightError


def register(app: typer.Typer) -> None:
    app.command("speech-server")(speech_server)


def parse_listen(spec: str) -> tuple[str, int]:
    """`tcp://HOST:PORT` (or HOST:PORT) as (host, port); port 0 picks a free one."""
    from callwright.speech.asr.wyoming import parse_address

    text = spec.strip()
    if "://" in text and not text.startswith("tcp://"):
        raise CallwrightError(f"--listen {spec!r}: give tcp://HOST:PORT, e.g. tcp://127.0.0.1:10300")
    if text.rstrip("/").endswith(":0"):  # a free port (tests); parse_address takes 1..65535 only
        host = text.split("://")[-1].rstrip("/")[: -len(":0")]
        return parse_address(f"tcp://{host}:1").host, 0
    address = parse_address(text if "://" in text else f"tcp://{text}")
    return address.host, address.port


def speech_server(
    engine_name: str = typer.Option(
        "auto",
        "--engine",
        help="Recogniser to serve: auto, vosk, whisper (loaded once for every client), or none.",
    ),
    model: str | None = typer.Option(None, "--model", help=MODEL_HELP),
    tts: str = typer.Option(
        "espeak", "--tts", help="Synthesiser to serve on the same port: espeak (espeak-ng), or none."
    ),
    listen: str = typer.Option(
        "tcp://127.0.0.1:10300",
        "--listen",
        help="tcp://HOST:PORT to listen on (loopback by default; another host only when given here).",
    ),
    workers: int = typer.Option(2, "--workers", help="Utterances decoded at once (threads), 1 to 64."),
) -> None:
    """Serve Callwright's recogniser (Wyoming ASR) and synthesiser (Wyoming TTS) until Ctrl-C.

    Point an IVR at it with `--engine wyoming://HOST:PORT` (or `wyoming://HOST:PORT,whisper`
    to fall back to Whisper in-process when it is down) and `--tts wyoming://HOST:PORT`;
    Home Assistant can use it too.
    """
    if not 1 <= workers <= 64:
        raise CallwrightError(f"--workers {workers}: give 1 to 64")
    if "wyoming://" in engine_name:
        raise CallwrightError("--engine: serve a local engine (auto, vosk, whisper), not another server")
    tts_name = tts.strip().lower()
    if tts_name not in ("espeak", "espeak-ng", "none"):
        raise CallwrightError(f"--tts {tts!r}: serve espeak (the local espeak-ng) or none")
    no_asr = engine_name.strip().lower() == "none"
    if no_asr and tts_name == "none":
        raise CallwrightError("nothing to serve: --engine none and --tts none")
    host, port = parse_listen(listen)
    from callwright.speech.asr import get_recognizer
    from callwright.speech.asr.factory import with_model
    from callwright.speech.asr.wyoming_server import WyomingService, run
    from callwright.speech.tts import Pyttsx3Synthesizer

    services: list[WyomingService] = []
    synthesizer = Pyttsx3Synthesizer() if tts_name != "none" else None  # its worker starts on first use
    if synthesizer is not None:
        from callwright.speech.tts.wyoming_server import SynthesisService

        services.append(SynthesisService(synthesizer))
    recognizer = None if no_asr else get_recognizer(with_model(engine_name, model))
    serving = ", ".join(
        ([recognizer.name] if recognizer is not None else []) + (["espeak-ng TTS"] if services else [])
    )

    def ready(bound_host: str, bound_port: int) -> None:
        typer.echo(f"speech-server: {serving} on tcp://{bound_host}:{bound_port}", err=True)

    try:
        run(recognizer, host, port, workers, ready, services)
    except OSError as err:
        raise CallwrightError(f"--listen {listen}: cannot listen there: {err.strerror or err}") from None
    except KeyboardInterrupt:
        pass
    finally:
        if synthesizer is not None:
            synthesizer.close()  # its worker and scratch directory
