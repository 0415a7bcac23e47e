"""The language a Wyoming client asks for in `transcribe` (the `wyoming` package's own client
against `callwright speech-server` on 127.0.0.1): a multilingual model decodes in it, a model
that cannot hear it refuses with an `error` event (code `language`), never English words."""

from __future__ import annotations

import asyncio

import numpy as np
from tests.wyoming_background import Background

from callwright.speech.asr.base import Recognizer
from callwright.speech.audio import Audio, frames

SPANISH = "Buenos días, quisiera revisar el saldo de mi cuenta, por favor."


def ask(port: int, audio: Audio | None, language: str | None, pause_s: float = 0.0) -> list[tuple[str, dict]]:
    """Through the `wyoming` package's client: transcribe (in `language`), the audio in 20 ms
    chunks, audio-stop; every event the server sends back until it answers or closes.
    `pause_s`: wait this long after `transcribe` (the server has answered a refusal by then)."""
    from wyoming.asr import Transcribe
    from wyoming.audio import AudioChunk, AudioStart, AudioStop
    from wyoming.client import AsyncTcpClient

    async def talk() -> list[tuple[str, dict]]:
        got: list[tuple[str, dict]] = []
        async with AsyncTcpClient("127.0.0.1", port) as client:
            await client.write_event(Transcribe(language=language).event())
            await asyncio.sleep(pause_s)
            if audio is not None:
                await client.write_event(AudioStart(rate=audio.rate, width=2, channels=1).event())
                for frame in frames(audio, 20):
                    pcm = np.asarray(frame, dtype="<i2").tobytes()
                    await client.write_event(
                        AudioChunk(rate=audio.rate, width=2, channels=1, audio=pcm).event()
                    )
                await client.write_event(AudioStop().event())
            while (ev := await asyncio.wait_for(client.read_event(), 60)) is not None:
                got.append((ev.type, ev.data or {}))
                if ev.type in ("transcript", "error"):
                    break
        return got

    return asyncio.run(talk())


def in_process(recognizer: Recognizer, audio: Audio) -> str:
    stream = recognizer.open(audio.rate, None)
    for frame in frames(audio, 20):
        stream.accept(frame)
    return stream.finish().text


def test_a_language_the_model_cannot_hear_is_refused_with_an_error_event(served, speak) -> None:
    audio = speak("four one one", rate=16000)
    for language, says, pause_s in (
        ("es", "hears en only, not 'es'", 0.0),
        ("klingon", "'klingon' is not a language code", 0.0),
        # a client streaming its audio after the refusal was sent still reads it (the server
        # drops the utterance up to audio-stop instead of resetting the connection)
        ("es", "hears en only, not 'es'", 0.3),
    ):
        (event,) = ask(served.port, audio, language, pause_s)  # nothing else: then it is closed
        assert event[0] == "error" and event[1]["code"] == "language", event
        assert event[1]["text"].startswith("transcribe language: ") and says in event[1]["text"], event
    # the server goes on; English (as asked, with a region) is heard as before and says so
    ((kind, data),) = ask(served.port, audio, "en-US")
    assert kind == "transcript" and data["language"] == "en-US" and data["text"].strip()
    ((kind, data),) = ask(served.port, audio, None)
    assert kind == "transcript" and data["language"] == "en"


def test_a_multilingual_model_decodes_in_the_language_asked_for(whisper_base, speak) -> None:
    from callwright.speech.asr.wyoming_server import SpeechServer

    info = SpeechServer(whisper_base).info()
    assert {"en", "es", "de"} <= set(info["asr"][0]["models"][0]["languages"])
    audio = speak(SPANISH, "es", rate=16000)
    bg = Background(whisper_base)
    try:
        ((kind, data),) = ask(bg.port, audio, "es")
    finally:
        bg.stop()
    assert kind == "transcript" and data["language"] == "es"
    # what the model reads told Spanish, in process: the language reached the decoder
    assert data["text"] == in_process(whisper_base.for_language("es"), audio)
