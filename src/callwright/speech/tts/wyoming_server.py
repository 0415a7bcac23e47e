"""Callwright's synthesiser (espeak-ng) served over Wyoming, on `callwright speech-server`.

A `WyomingService` of `speech.asr.wyoming_server.SpeechServer`: the same port answers ASR
and TTS. `describe` lists a TTS program with the engine's voices; `synthesize` (text, and a
voice by `name` or `language`) is answered with `audio-start`, `audio-chunk`s of 16-bit
mono PCM and `audio-stop`, as Piper and every Wyoming TTS server answer it, so Home
Assistant or `WyomingSynthesizer` can use it. Beyond the protocol, a `rate_wpm` in the
`synthesize` data sets the speaking rate (the flow's `settings.rate`; others ignore it).

Rendering runs in the server's worker threads. A bad voice or rate is answered with an
`error` event and the connection stays usable; malformed requests (no text, text over
`MAX_TEXT_CHARS`, a voice that is not an object) are protocol errors. Nothing is cached
here: the server cannot tell a static prompt from one holding a caller's data, so the
client's cache (which can) is the one that keeps prompts.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from callwright.speech.asr.wyoming import WIDTH, WyomingEvent
from callwright.speech.asr.wyoming_server import ProtocolError, Run, Send
from callwright.speech.tts.base import MAX_RATE_WPM, MIN_RATE_WPM, SynthesisError, Synthesizer

log = logging.getLogger(__name__)

SERVE_RATE = 22050
"""The rate audio is sent at: espeak-ng's own, so nothing is resampled twice (a client
resamples once to its line's rate)."""
CHUNK_S = 0.25  # audio per audio-chunk event (a client can start playing before the end)
MAX_TEXT_CHARS = 5000  # one synthesize request's text (a long prompt is a few hundred)


class SynthesisService:
    """The TTS half of `callwright speech-server`, around one synthesiser."""

    kinds = frozenset({"synthesize"})

    def __init__(self, synthesizer: Synthesizer, *, name: str = "espeak-ng", rate: int = SERVE_RATE) -> None:
        self.synthesizer = synthesizer
        self.name = name
        self.rate = rate
        self.voices = synthesizer.voices()  # once, at start: `describe` must not wait for the engine
        self.served = 0  # synthesized answers sent, for logs and tests

    def info(self) -> dict[str, Any]:
        from wyoming import __version__
        from wyoming.info import Attribution, Info, TtsProgram, TtsVoice

        attribution = Attribution(name="Callwright", url="https://github.com/")
        voices = [
            TtsVoice(
                name=v.short_id,
                attribution=attribution,
                installed=True,
                description=v.name,
                version=None,
                languages=list(v.languages),
            )
            for v in self.voices
        ]
        program = TtsProgram(
            name=f"callwright-{self.name}",
            attribution=attribution,
            installed=True,
            description=f"Callwright speech-server ({self.name})",
            version=__version__,
            voices=voices,
            supports_synthesize_streaming=False,
        )
        return {"tts": Info(tts=[program]).event().data["tts"]}

    async def answer(self, event: WyomingEvent, send: Send, run: Run) -> None:
        text, voice, language, rate_wpm = _request(event.data)
        render = functools.partial(
            self.synthesizer.synthesize,
            text,
            voice=voice,
            language=language,
            rate_wpm=rate_wpm,
            sample_rate=self.rate,
        )
        try:
            audio = await run(render)
        except SynthesisError as err:  # a bad voice or rate: this request fails, the client stays
            log.info("speech-server: synthesize refused: %s", err.message)
            await send("error", {"text": err.message, "code": "tts"}, b"")
            return
        fmt = {"rate": audio.rate, "width": WIDTH, "channels": 1}
        samples = audio.samples.astype("<i2")
        step = max(1, int(audio.rate * CHUNK_S))
        await send("audio-start", {**fmt, "timestamp": 0}, b"")
        for i in range(0, samples.size, step):
            ms = int(1000 * i / audio.rate)
            await send("audio-chunk", {**fmt, "timestamp": ms}, samples[i : i + step].tobytes())
        self.served += 1
        await send("audio-stop", {"timestamp": int(1000 * samples.size / audio.rate)}, b"")


def _request(data: dict[str, Any]) -> tuple[str, str | None, str | None, int | None]:
    """(text, voice name, language, words per minute) of a `synthesize` event, checked."""
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ProtocolError("synthesize needs a text")
    if len(text) > MAX_TEXT_CHARS:
        raise ProtocolError(f"synthesize text over {MAX_TEXT_CHARS} characters")
    voice = data.get("voice") or {}
    if not isinstance(voice, dict):
        raise ProtocolError("synthesize voice must be an object with a name or a language")
    name, language = voice.get("name"), voice.get("language")
    for key, value in (("name", name), ("language", language)):
        if value is not None and (not isinstance(value, str) or len(value) > 100):
            raise ProtocolError(f"synthesize voice {key} must be a short text")
    rate = data.get("rate_wpm")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int)):
        raise ProtocolError(f"rate_wpm must be words per minute ({MIN_RATE_WPM}-{MAX_RATE_WPM})")
    return text, name or None, language or None, rate
