"""Callwright's own recogniser served as a Wyoming ASR server (`callwright speech-server`).

Any Wyoming client (`WyomingRecognizer`, Home Assistant's voice pipeline)
can then use it: `describe` is answered with an `info` naming the engine,
and `transcribe`, `audio-start`, `audio-chunk`s, `audio-stop` with a
`transcript`. Other services ride on the same server and port (`WyomingService`:
the events they answer and their part of `info`); `speech.tts.wyoming_server`'s
synthesiser is one (`synthesize` -> `audio-start`, `audio-chunk`s, `audio-stop`), and a
server may have no recogniser at all (then ASR events get an `error`). The transcript's
data also carries `confidence` (the engine's own, 0..1), which generic clients ignore
and `WyomingRecognizer` reads.
`transcript_terms`/`transcript_names` of `transcribe` are the utterance's
expected phrases (Whisper's prompt, Vosk's grammar), as the IVR gives a state's.
Its `language` (`es`, `es-MX`) is the language to decode in: a multilingual model
(Whisper base) is told it, a model of that one language hears it as before, and a
language the model cannot hear (Spanish to tiny.en) or no language code at all is
refused with an `error` event (code `language`, naming the model's languages), never
decoded as another language's words; the rest of that utterance is read and dropped up to its
`audio-stop` before the connection is closed, so a client that streams without waiting reads
the error rather than a broken pipe. The `transcript`
says the language it was decoded in, and `info` lists the model's languages.

One recogniser (its model loaded once) serves every connection; each
connection gets its own stream, and decoding runs in worker threads so that
one slow utterance does not hold up the others' audio. Everything a client
sends is bounded: the event sizes (`wyoming.MAX_*`), the audio of one
utterance (`MAX_UTTERANCE_S`), the connections at once (`MAX_CLIENTS`, more
get an `error` event), and the silence between events (`IDLE_TIMEOUT_S`). A
client that breaks the protocol gets an `error` event and is disconnected;
the server goes on.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from callwright.speech.asr.base import Recognition, Recognizer, RecognizerStream
from callwright.speech.asr.wyoming import (
    MAX_LINE_BYTES,
    WIDTH,
    WyomingError,
    WyomingEvent,
    encode_event,
    merge_data,
    parse_header,
)

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 10300
MAX_CLIENTS = 64  # connections at once; more are answered with an error and closed
MAX_UTTERANCE_S = 3600.0  # audio of one transcription (a whole QA track fits; 115 MB at 16 kHz)
IDLE_TIMEOUT_S = 120.0  # a client silent this long between events is disconnected
REFUSED_DRAIN_S = 60.0  # after refusing an utterance, its audio is read and dropped this long at most
MAX_RATE = 48000  # highest audio-start rate accepted
ASR_EVENTS = frozenset({"transcribe", "audio-start", "audio-chunk", "audio-stop"})


class ProtocolError(Exception):
    """A client's mistake: answered with an `error` event, then the connection is closed.
    `well_formed`: a request refused in a stream that is still sound (a language the model
    cannot hear): the utterance's remaining events are read and dropped before closing."""

    def __init__(self, message: str, code: str = "protocol", *, well_formed: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.well_formed = well_formed


Send = Callable[[str, "dict[str, Any] | None", bytes], Awaitable[None]]
"""Send one event to the client: (type, data, payload)."""
Run = Callable[..., Awaitable[Any]]
"""Run a blocking call (an engine) in the server's worker threads: `await run(fn, *args)`."""


class WyomingService(Protocol):
    """A service the speech-server offers besides its recogniser (a synthesiser): the event
    types it answers, its part of the `info` event, and the handler. A `ProtocolError` from
    `answer` is the client's mistake (an `error` event, the connection closed)."""

    kinds: frozenset[str]

    def info(self) -> dict[str, Any]:
        """Merged into the `info` event's data, e.g. `{"tts": [...]}`."""
        ...

    async def answer(self, event: WyomingEvent, send: Send, run: Run) -> None: ...


@dataclass
class Utterance:
    """One connection's transcription in progress."""

    phrases: list[str] | None = None
    language: str | None = None  # from `transcribe`, checked against the model
    rate: int = 0
    samples: int = 0
    stream: RecognizerStream | None = None
    # one stream per rate and language, reused
    opened: dict[tuple[int, str | None], RecognizerStream] = field(default_factory=dict)


def info_data(recognizer: Recognizer, model: str) -> dict[str, Any]:
    """The `info` event's data: one ASR program with the one model it serves."""
    from wyoming import __version__
    from wyoming.info import AsrModel, AsrProgram, Attribution, Info

    attribution = Attribution(name="Callwright", url="https://github.com/")
    program = AsrProgram(
        name="callwright",
        attribution=attribution,
        installed=True,
        description=f"Callwright speech-server ({recognizer.name})",
        version=__version__,
        models=[
            AsrModel(
                name=model,
                attribution=attribution,
                installed=True,
                description=model,
                version=None,
                languages=model_languages(recognizer),
            )
        ],
        supports_transcript_streaming=False,
    )
    return Info(asr=[program]).event().data


def model_languages(recognizer: Recognizer) -> list[str]:
    """The languages `info` lists: the model's own (every language Whisper knows for a
    multilingual model); English when the model does not declare them (as before)."""
    from callwright.speech.asr.languages import KNOWN_LANGUAGES, MULTILINGUAL, primary

    declared = recognizer.capabilities.languages
    if MULTILINGUAL in declared:
        return list(KNOWN_LANGUAGES)
    return list(dict.fromkeys(primary(lang) for lang in declared)) or ["en"]


def _language(data: dict[str, Any], recognizer: Recognizer, model: str) -> str | None:
    """The `transcribe` event's language, if any, once the model is known to hear it; else a
    `ProtocolError` (code `language`) saying which languages it hears."""
    from callwright.errors import CallwrightError
    from callwright.speech.asr.languages import check_language

    language = data.get("language")
    if language is None or language == "":
        return None
    if not isinstance(language, str):
        raise ProtocolError(
            "the transcribe language must be a string such as 'es'", code="language", well_formed=True
        )
    try:
        return check_language(
            language, recognizer.capabilities.languages, field="transcribe language", model=model
        )
    except CallwrightError as err:
        raise ProtocolError(err.message, code="language", well_formed=True) from None


def model_name(recognizer: Recognizer) -> str:
    """What the model is called in `info`: the engine and its model's folder (not the full path)."""
    path = getattr(recognizer, "model_path", None)
    if not path:
        return recognizer.name
    from pathlib import Path

    folder = Path(path)
    return f"{recognizer.name}: {folder.parent.name}/{folder.name}"


async def read_event(reader: asyncio.StreamReader) -> WyomingEvent | None:
    """The next client event, bounded; None when the client closed the connection cleanly."""
    try:
        line = await asyncio.wait_for(reader.readline(), IDLE_TIMEOUT_S)
    except (ValueError, asyncio.LimitOverrunError):
        raise ProtocolError(f"an event header over {MAX_LINE_BYTES} bytes") from None
    except TimeoutError:
        raise ProtocolError(f"no event for {IDLE_TIMEOUT_S:g} s") from None
    if not line:
        return None
    if not line.endswith(b"\n"):
        raise ProtocolError("the connection closed in the middle of an event")
    try:
        header, data_len, payload_len = parse_header(line, "client")
        extra = await asyncio.wait_for(reader.readexactly(data_len), IDLE_TIMEOUT_S) if data_len else b""
        payload = (
            await asyncio.wait_for(reader.readexactly(payload_len), IDLE_TIMEOUT_S) if payload_len else b""
        )
        return WyomingEvent(header["type"], merge_data(header, extra, "client"), payload)
    except WyomingError as err:
        raise ProtocolError(str(err)) from None
    except asyncio.IncompleteReadError:
        raise ProtocolError("the connection closed in the middle of an event") from None
    except TimeoutError:
        raise ProtocolError(f"an event not finished within {IDLE_TIMEOUT_S:g} s") from None


async def drop_utterance(reader: asyncio.StreamReader, limit_s: float = REFUSED_DRAIN_S) -> None:
    """Read and drop a refused utterance's events up to its `audio-stop` (or the client's
    close, a broken event, `limit_s`): closing at once would reset a connection the client
    is still writing to, and it would lose the `error` event it has not read yet."""
    try:
        async with asyncio.timeout(limit_s):
            while (event := await read_event(reader)) is not None and event.type != "audio-stop":
                pass
    except (ProtocolError, TimeoutError, ConnectionError, OSError):
        pass


def _phrases(data: dict[str, Any]) -> list[str] | None:
    found = [p for key in ("transcript_names", "transcript_terms") for p in data.get(key) or []]
    if not all(isinstance(p, str) for p in found):
        raise ProtocolError("transcript_names and transcript_terms must be lists of strings")
    return found or None


def _format(data: dict[str, Any]) -> int:
    """The rate of an audio event whose format we take (16-bit mono), else a ProtocolError."""
    rate, width, channels = data.get("rate"), data.get("width"), data.get("channels")
    if width != WIDTH or channels != 1:
        raise ProtocolError(
            f"audio must be 16-bit mono (width 2, channels 1), got width {width} channels {channels}"
        )
    if not isinstance(rate, int) or isinstance(rate, bool) or not 1000 <= rate <= MAX_RATE:
        raise ProtocolError(f"audio rate must be 1000 to {MAX_RATE} Hz, got {rate!r}")
    return rate


class SpeechServer:
    """The Wyoming ASR service around one loaded recogniser."""

    def __init__(
        self,
        recognizer: Recognizer | None,
        *,
        workers: int = 2,
        max_clients: int = MAX_CLIENTS,
        services: Sequence[WyomingService] = (),
    ) -> None:
        if recognizer is None and not services:
            raise ValueError("a speech-server needs a recogniser or another service")
        self.recognizer = recognizer
        self.model = model_name(recognizer) if recognizer is not None else ""
        self.services = tuple(services)
        self._routes = {kind: s for s in self.services for kind in s.kinds}
        self.max_clients = max_clients
        self.clients = 0
        self.served = 0  # transcripts sent, for logs and tests
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="speech-server")
        self._by_language: dict[str, Recognizer] = {}
        self._server: asyncio.base_events.Server | None = None

    async def start(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> tuple[str, int]:
        """Listen; returns the address bound (port 0 picks a free one)."""
        self._server = await asyncio.start_server(self.handle, host, port, limit=MAX_LINE_BYTES)
        bound = self._server.sockets[0].getsockname()
        return bound[0], bound[1]

    async def serve_forever(self) -> None:
        assert self._server is not None, "start() first"
        async with self._server:
            await self._server.serve_forever()

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _run(self, call: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, call, *args)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        if self.clients >= self.max_clients:
            log.warning("speech-server: refused %s, %d clients already", peer, self.clients)
            await _send(
                writer, "error", {"text": f"busy: {self.max_clients} clients at once", "code": "busy"}
            )
            writer.close()
            return
        self.clients += 1
        utterance = Utterance()
        try:
            while (event := await read_event(reader)) is not None:
                if not await self._on(event, utterance, writer):
                    break
        except ProtocolError as err:
            log.warning("speech-server: client %s broke the protocol: %s", peer, err)
            await _send(writer, "error", {"text": str(err), "code": err.code})
            if err.well_formed:
                await drop_utterance(reader)
        except (ConnectionError, OSError) as err:
            log.info("speech-server: client %s gone: %s", peer, err)
        except Exception as err:  # noqa: BLE001 - an engine failure answers this client, the server goes on
            log.exception("speech-server: engine failed for %s", peer)
            await _send(
                writer, "error", {"text": f"engine failed: {type(err).__name__}: {err}", "code": "engine"}
            )
        finally:
            self.clients -= 1
            for stream in utterance.opened.values():
                stream.close()
            writer.close()

    async def _on(self, event: WyomingEvent, utt: Utterance, writer: asyncio.StreamWriter) -> bool:
        kind = event.type
        service = self._routes.get(kind)
        if service is not None:

            async def send(kind: str, data: dict[str, Any] | None = None, payload: bytes = b"") -> None:
                await _send(writer, kind, data, payload)

            await service.answer(event, send, self._run)
        elif kind == "describe":
            await _send(writer, "info", self.info())
        elif kind in ASR_EVENTS and self.recognizer is None:
            raise ProtocolError(f"this server has no recogniser (a {kind!r} event)")
        elif kind == "ping":
            await _send(writer, "pong", {"text": event.data.get("text")} if event.data.get("text") else None)
        elif kind == "transcribe":
            assert self.recognizer is not None
            utt.phrases = _phrases(event.data)
            utt.language = _language(event.data, self.recognizer, self.model)
        elif kind == "audio-start":
            await self._begin(utt, _format(event.data))
        elif kind == "audio-chunk":
            rate = _format(event.data)
            if utt.stream is None:
                await self._begin(utt, rate)
            if rate != utt.rate:
                raise ProtocolError(f"audio-chunk at {rate} Hz in audio started at {utt.rate} Hz")
            if len(event.payload) % WIDTH:
                raise ProtocolError("an audio-chunk with an odd number of bytes (16-bit PCM)")
            utt.samples += len(event.payload) // WIDTH
            if utt.samples > MAX_UTTERANCE_S * utt.rate:
                raise ProtocolError(f"over {MAX_UTTERANCE_S:g} s of audio in one transcription")
            assert utt.stream is not None
            await self._run(utt.stream.accept, event.payload)
        elif kind == "audio-stop":
            result = await self._finish(utt)
            self.served += 1  # before the answer, so that a client that has it can count it
            await _send(
                writer,
                "transcript",
                {
                    "text": result.text,
                    "language": self._spoken(result, utt),
                    "confidence": round(result.confidence, 4),
                },
            )
            utt.language = None  # a `transcribe` is for one transcription
        else:
            log.debug("speech-server: ignored a %r event", kind)
        return True

    def info(self) -> dict[str, Any]:
        """The `info` event's data: the recogniser's ASR program (if any) and each service's part."""
        if self.recognizer is not None:
            data = info_data(self.recognizer, self.model)
        else:
            from wyoming.info import Info

            data = Info().event().data
        for service in self.services:
            data.update(service.info())
        return data

    def _spoken(self, result: Recognition, utt: Utterance) -> str:
        """The language a transcript says it is in: the one asked for, else the one the recogniser
        read (a multilingual model detects it), else the model's own (English when undeclared)."""
        if utt.language is not None:
            return utt.language
        if result.language is not None:
            return result.language.code
        assert self.recognizer is not None
        return model_languages(self.recognizer)[0]

    def _heard_in(self, language: str | None) -> Recognizer:
        """The recogniser for `language` (one per language on the same loaded model)."""
        assert self.recognizer is not None  # _on refuses ASR events without one
        if language is None:
            return self.recognizer
        found = self._by_language.get(language)
        if found is None:
            found = self._by_language[language] = self.recognizer.for_language(language)
        return found

    async def _begin(self, utt: Utterance, rate: int) -> None:
        if utt.stream is not None and utt.samples:
            await self._run(utt.stream.reset)  # a new audio-start drops the audio before it
        stream = utt.opened.get((rate, utt.language))
        if stream is None:
            recognizer = self._heard_in(utt.language)
            stream = await self._run(recognizer.open, rate, utt.phrases)
            utt.opened[(rate, utt.language)] = stream
        else:
            stream.set_phrases(utt.phrases)
        utt.stream, utt.rate, utt.samples = stream, rate, 0

    async def _finish(self, utt: Utterance) -> Recognition:
        if utt.stream is None:
            return Recognition("", 0.0)
        stream, utt.stream, utt.samples = utt.stream, None, 0
        result: Recognition = await self._run(stream.finish)
        utt.phrases = None
        return result


async def _send(
    writer: asyncio.StreamWriter, kind: str, data: dict[str, Any] | None = None, payload: bytes = b""
) -> None:
    try:
        writer.write(encode_event(kind, data, payload))
        await writer.drain()
    except (ConnectionError, OSError):
        pass


def run(
    recognizer: Recognizer | None,
    host: str,
    port: int,
    workers: int,
    ready: Callable[[str, int], None],
    services: Sequence[WyomingService] = (),
) -> None:
    """Serve until SIGINT or SIGTERM (the CLI's loop), then return, so the caller's `finally`
    and `with` blocks run: a service manager stops servers with SIGTERM, whose default action
    would end the process without them (the espeak-ng worker's scratch directory was left in
    the temp directory). `ready` hears the bound address."""

    async def main() -> None:
        server = SpeechServer(recognizer, workers=workers, services=services)
        bound = await server.start(host, port)
        serving = asyncio.ensure_future(server.serve_forever())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, serving.cancel)
        ready(*bound)
        try:
            await serving
        except asyncio.CancelledError:
            log.info("speech-server: stopping")
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            server.close()

    asyncio.run(main())
