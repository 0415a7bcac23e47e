"""The child process that owns pyttsx3.

pyttsx3 is not re-entrant, can hang on a second `runAndWait`, and prints to
stdout; isolating it in its own process lets the parent kill and restart it
and keeps our stdout clean for `--json` output. It is started as
`python -m callwright.speech.tts._worker` (not multiprocessing "spawn", which
re-runs the parent's main script and breaks scripts without a main guard).
Requests and replies are JSON lines on the child's stdin and a private copy
of its stdout; the real fd 1 goes to /dev/null.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any


def _private_stdout() -> IO[bytes]:
    """Keep a private copy of stdout for replies; pyttsx3's prints go to /dev/null."""
    reply = os.fdopen(os.dup(1), "wb", buffering=0)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    return reply


def _voices(engine: Any) -> list[dict[str, Any]]:
    return [
        {
            "id": v.id,
            "name": v.name,
            "languages": list(getattr(v, "languages", None) or []),
            "gender": getattr(v, "gender", None),
        }
        for v in engine.getProperty("voices")
    ]


def _wait_idle(espeak: Any, limit_s: float = 10.0) -> None:
    """Block until espeak's own thread has drained its command queue.

    pyttsx3 2.99 sets voice and rate through espeak's asynchronous queue and
    then calls espeak_Cancel() whenever espeak looks busy as a loop ends, which
    silently drops the pending settings (measured: about half of rate changes
    were lost). Waiting for idle before and after setting them makes every
    render use the settings it asked for.
    """
    deadline = time.monotonic() + limit_s
    while espeak.IsPlaying() and time.monotonic() < deadline:
        time.sleep(0.002)


def _render(engine: Any, espeak: Any, req: dict[str, Any]) -> dict[str, Any]:
    fault = req.get("fault")
    if fault == "hang":
        time.sleep(3600)
    elif fault == "crash":
        os._exit(70)
    path = req["path"]
    if os.path.exists(path):
        os.remove(path)
    _wait_idle(espeak)
    engine.setProperty("voice", req["voice"])
    engine.setProperty("rate", req["rate"])
    _wait_idle(espeak)
    voice = engine.getProperty("voice")
    rate = espeak.dll.espeak_GetParameter(espeak.RATE, 1)  # current value, not the default
    if voice != req["voice"] or rate != req["rate"]:
        return {
            "ok": False,
            "error": f"espeak is set to {voice!r} at {rate} wpm, not {req['voice']!r} at {req['rate']} wpm",
        }
    with _ssml_mode(espeak, bool(req.get("ssml"))):
        engine.save_to_file(req["text"], path)
        engine.runAndWait()
    if not os.path.exists(path) or os.path.getsize(path) <= 44:
        return {"ok": False, "error": "pyttsx3 wrote no audio"}
    return {"ok": True}


ESPEAK_SSML = 0x10
"""espeak-ng's espeakSSML flag: read the text as SSML (what `espeak-ng -m` sets)."""


@contextmanager
def _ssml_mode(espeak: Any, on: bool) -> Iterator[None]:
    """pyttsx3's driver calls `_espeak.Synth` without the SSML flag: add it for one render.

    The worker is a fresh process per render (see Pyttsx3Synthesizer._retire) and the text
    is markup the parent wrote with `ssml.to_espeak`, so the flag never reaches plain text.
    """
    if not on:
        yield
        return
    original = espeak.Synth

    def synth(*args: Any, flags: int = 0, **kwargs: Any) -> Any:
        return original(*args, flags=flags | ESPEAK_SSML, **kwargs)

    espeak.Synth = synth
    try:
        yield
    finally:
        espeak.Synth = original


def _send(out: IO[bytes], msg: dict[str, Any]) -> None:
    out.write((json.dumps(msg, ensure_ascii=False) + "\n").encode("utf-8"))


def serve() -> None:
    """Answer requests from stdin until it closes."""
    out = _private_stdout()
    import pyttsx3
    from pyttsx3.drivers import _espeak

    engine = pyttsx3.init()
    # pyttsx3's driver sets voice, rate and volume through espeak's queue as it
    # starts; if the empty loop below ends while espeak is still busy with them,
    # the driver cancels and keeps a "stopping" flag that cancels the first
    # render (an empty WAV: 5 of 200 fresh workers on a loaded machine, 0 of 200
    # after waiting for idle here).
    _wait_idle(_espeak)
    # An empty loop leaves pyttsx3's command proxy idle, so later property
    # changes reach espeak at once instead of waiting in pyttsx3's own queue.
    engine.runAndWait()
    _send(out, {"ok": True, "ready": True})
    for line in sys.stdin.buffer:
        try:
            req = json.loads(line)
            if req["op"] == "voices":
                _send(out, {"ok": True, "voices": _voices(engine)})
            elif req["op"] == "render":
                _send(out, _render(engine, _espeak, req))
            else:
                _send(out, {"ok": False, "error": f"unknown op {req['op']!r}"})
        except Exception as err:  # reported to the parent, which owns the error policy
            _send(out, {"ok": False, "error": f"{type(err).__name__}: {err}"})


if __name__ == "__main__":
    serve()
