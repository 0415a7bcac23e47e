"""pyttsx3 (espeak-ng on Linux) behind the `Synthesizer` port, run in a worker process.

pyttsx3 hangs now and then, is not re-entrant and prints to stdout
(nateshmbhat/pyttsx3 issues #126, #262, #403). Each render therefore runs in a
child process with a timeout; a hung or dead child is killed and replaced and
the render retried once, so one bad prompt cannot freeze a call.
"""

from __future__ import annotations

import json
import logging
import os
import select
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Literal

from callwright.speech import ssml
from callwright.speech.audio import Audio, read_audio, resample
from callwright.speech.tts.base import (
    DEFAULT_RATE_WPM,
    SynthesisError,
    Synthesizer,
    VoiceInfo,
    VoiceSettings,
    check_rate_wpm,
    check_sample_rate,
    normalise_text,
    resolve_voice,
)

log = logging.getLogger(__name__)

ENGINE_RATE = 22050
"""pyttsx3's espeak driver always writes 22,050 Hz WAV, whatever we ask for."""

START_TIMEOUT_S = 30.0
Fault = Literal["hang", "crash"]


class _WorkerDied(Exception):
    """The child hung past its timeout or exited; the caller restarts it."""


def _reap(proc: subprocess.Popen[bytes], wait_s: float) -> bool:
    """Whether a worker whose input is closed has exited (killed after `wait_s`, if > 0)."""
    if wait_s > 0:
        try:
            proc.wait(wait_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(2)
    if proc.poll() is None:
        return False
    if proc.stdout is not None:
        proc.stdout.close()
    return True


class Pyttsx3Synthesizer(Synthesizer):
    """Speech from espeak-ng through pyttsx3, isolated in a restartable worker process.

    Thread-safe: renders are serialised (espeak is single-threaded anyway; the
    cache in front of this makes renders rare). Each render runs in a fresh
    worker, which is started while the previous render is handed back, so the
    same text, voice and rate always give the same audio (see `_retire`).
    """

    engine_name = "pyttsx3"

    def __init__(self, *, timeout_s: float | None = None, retries: int = 1) -> None:
        self._timeout_s = timeout_s
        self._retries = retries
        self._lock = threading.RLock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._ready = False  # the current worker has said hello
        self._exiting: list[subprocess.Popen[bytes]] = []  # retired workers not yet reaped
        self._voices: list[VoiceInfo] | None = None
        self._faults: list[Fault] = []
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None  # made on the first render
        self.renders = 0
        """Completed renders, so tests and benchmarks can see the cache at work."""
        self.restarts = 0
        """Workers killed after a hang or crash."""

    # -- test hook -----------------------------------------------------------------
    def inject_fault(self, kind: Fault, times: int = 1) -> None:
        """Make the next `times` renders hang or crash inside the real worker.

        Test-only: it exercises the real timeout, kill and restart path.
        """
        with self._lock:
            self._faults.extend([kind] * times)

    # -- worker management ---------------------------------------------------------
    def _spawn(self) -> None:
        """Start a worker without waiting for it: a spare warms up while the caller goes on."""
        import callwright

        env = dict(os.environ)
        src = str(Path(callwright.__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "callwright.speech.tts._worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        self._ready = False

    def _start(self) -> None:
        """A worker that has said hello (spawned now unless a spare is already warming up)."""
        if self._proc is None or self._proc.poll() is not None:
            if self._proc is not None:
                self._kill()
            self._spawn()
        if self._ready:
            return
        proc = self._proc
        assert proc is not None
        # wait for the hello so a slow start-up never eats into a render's timeout
        hello = self._read(START_TIMEOUT_S)
        if hello is None or not hello.get("ready"):
            self._kill()
            raise _WorkerDied(f"worker did not start (exit code {proc.returncode})")
        self._ready = True
        log.debug("started TTS worker pid %s", proc.pid)

    def _retire(self) -> None:
        """Let the worker that just answered exit and warm up a fresh one for the next request.

        espeak-ng keeps state from one utterance to the next inside a process
        (the same text comes out a few samples longer or shorter depending on
        what was said before), so a worker that has rendered once is not
        used again: every render is the first of a fresh process, and the
        same request gives the same bytes whatever came before it.
        """
        proc, self._proc, self._ready = self._proc, None, False
        self._spawn()  # the spare starts while the old worker exits
        if proc is not None:
            self._let_exit(proc)

    def _read(self, timeout_s: float) -> dict[str, Any] | None:
        """One reply line, or None if the worker died or said nothing in time."""
        assert self._proc is not None and self._proc.stdout is not None
        ready, _, _ = select.select([self._proc.stdout], [], [], timeout_s)
        if not ready:
            return None
        line = self._proc.stdout.readline()
        if not line:
            self._proc.wait(5)
            return None
        reply: dict[str, Any] = json.loads(line)
        return reply

    def _kill(self) -> None:
        if self._proc is None:
            return
        log.warning("stopping TTS worker pid %s", self._proc.pid)
        self._proc.kill()
        self._proc.wait(5)
        for pipe in (self._proc.stdin, self._proc.stdout):
            if pipe is not None:
                pipe.close()
        self._proc, self._ready = None, False
        self.restarts += 1

    def close(self) -> None:
        """Stop the worker (and wait for retired ones); a later call starts a new one."""
        with self._lock:
            proc, self._proc, self._ready = self._proc, None, False
            if proc is not None:
                self._let_exit(proc)
            for old in self._exiting:
                _reap(old, wait_s=2.0)
            self._exiting = []
            if self._tmpdir is not None:  # removed here, not by a finaliser that warns
                self._tmpdir.cleanup()
                self._tmpdir = None

    def _let_exit(self, proc: subprocess.Popen[bytes]) -> None:
        """Close the worker's input (it exits at end of input) and reap it later, without waiting."""
        assert proc.stdin is not None
        proc.stdin.close()
        self._exiting = [p for p in self._exiting if not _reap(p, wait_s=0.0)]
        self._exiting.append(proc)

    def __enter__(self) -> Pyttsx3Synthesizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: nothing sensible to do
            pass

    def _ask(self, request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        self._start()
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write((json.dumps(request, ensure_ascii=False) + "\n").encode())
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self._kill()
            raise _WorkerDied("worker exited") from None
        reply = self._read(timeout_s)
        if reply is None:
            died = self._proc.poll() is not None
            self._kill()
            raise _WorkerDied("worker exited" if died else f"no answer within {timeout_s:.0f} s")
        self._retire()
        return reply

    def _ask_with_retry(self, request: dict[str, Any], timeout_s: float, what: str) -> Any:
        last = ""
        for attempt in range(self._retries + 1):
            req = dict(request)
            if req.get("op") == "render" and self._faults:
                req["fault"] = self._faults.pop(0)
            try:
                reply = self._ask(req, timeout_s)
            except _WorkerDied as err:
                last = str(err)
                log.warning("TTS worker failed on %s (attempt %d): %s", what, attempt + 1, last)
                continue
            if reply.get("ok"):
                return reply
            last = reply.get("error", "unknown error")
            # a wrong voice or empty file: the retry runs in the fresh worker `_ask` left ready
        raise SynthesisError(
            f"text-to-speech failed for {what}: {last}",
            hint="check that espeak-ng is installed (apt-get install espeak-ng)",
        )

    # -- Synthesizer ---------------------------------------------------------------
    def voices(self) -> list[VoiceInfo]:
        with self._lock:
            if self._voices is None:
                reply = self._ask_with_retry({"op": "voices"}, 30.0, "the voice list")
                self._voices = [
                    VoiceInfo(
                        id=v["id"],
                        name=v["name"],
                        languages=tuple(v["languages"]),
                        gender=v.get("gender"),
                    )
                    for v in reply["voices"]
                ]
            return list(self._voices)

    def settings(
        self, *, voice: str | None = None, rate_wpm: int | None = None, language: str | None = None
    ) -> VoiceSettings:
        chosen = resolve_voice(self.voices(), voice, language)
        rate = DEFAULT_RATE_WPM if rate_wpm is None else int(rate_wpm)
        check_rate_wpm(rate)
        lang = chosen.languages[0] if chosen.languages else chosen.short_id
        return VoiceSettings(engine=self.engine_name, voice=chosen.id, language=lang, rate_wpm=rate)

    def synthesize(
        self,
        text: str,
        *,
        voice: str | None = None,
        rate_wpm: int | None = None,
        language: str | None = None,
        sample_rate: int = 8000,
    ) -> Audio:
        return self._render(text, voice=voice, rate_wpm=rate_wpm, language=language, sample_rate=sample_rate)

    def synthesize_ssml(
        self,
        markup: str,
        *,
        voice: str | None = None,
        rate_wpm: int | None = None,
        language: str | None = None,
        sample_rate: int = 8000,
    ) -> Audio:
        """espeak-ng reads the markup itself (its SSML mode, as `espeak-ng -m`): pyttsx3 does
        not pass SSML on, so the worker turns the mode on for this render. The markup is
        parsed here first and written again by `ssml.to_espeak`, so espeak-ng only ever
        sees the subset, with every text escaped."""
        try:
            clean = ssml.to_espeak(ssml.parse(markup))
        except ssml.SsmlError as err:
            raise SynthesisError(f"bad SSML in a prompt: {err.message} (at character {err.offset})") from None
        return self._render(
            clean, voice=voice, rate_wpm=rate_wpm, language=language, sample_rate=sample_rate, markup=True
        )

    def _render(
        self,
        text: str,
        *,
        voice: str | None,
        rate_wpm: int | None,
        language: str | None,
        sample_rate: int,
        markup: bool = False,
    ) -> Audio:
        text = normalise_text(text)
        check_sample_rate(sample_rate)
        s = self.settings(voice=voice, rate_wpm=rate_wpm, language=language)
        timeout = self._timeout_s if self._timeout_s is not None else 10.0 + 0.05 * len(text)
        with self._lock:
            if self._tmpdir is None:
                self._tmpdir = tempfile.TemporaryDirectory(prefix="callwright-tts-")
            path = Path(self._tmpdir.name) / f"render-{self.renders}.wav"
            request = {"op": "render", "text": text, "voice": s.voice, "rate": s.rate_wpm, "ssml": markup}
            request["path"] = str(path)
            self._ask_with_retry(request, timeout, f"{text[:40]!r}")
            try:
                audio = read_audio(path)
            finally:
                path.unlink(missing_ok=True)
            self.renders += 1
        return resample(audio.mono(), sample_rate)
