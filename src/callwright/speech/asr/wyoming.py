"""A recogniser on another process or machine, over the Wyoming protocol (`wyoming://HOST:PORT`).

Wyoming is the protocol Home Assistant and Rhasspy speak between a voice
pipeline and its speech servers: one JSON line per event, optionally followed
by more JSON (`data_length`) and a binary payload (`payload_length`). One
utterance is `transcribe` (with the phrases expected, as `transcript_terms`),
`audio-start`, `audio-chunk`s of 16-bit mono PCM, `audio-stop`, answered by a
`transcript`. Any Wyoming ASR server answers us (wyoming-faster-whisper,
wyoming-vosk, `callwright speech-server`), so recognisers can run on other
machines and be shared by many calls (docs/telephony.md, "Speech as a service").

Each utterance gets its own TCP connection, opened at its first audio and
closed after its transcript: a server restart loses at most the utterance in
progress, and a `FallbackRecognizer` (`wyoming://host:port,whisper`) answers
that one in-process. The audio goes out as it arrives, so the server can
start before the caller stops. Several servers (`wyoming://A:10300+B:10300`)
take the utterances in turn, a server that cannot be reached skipped.

Capabilities are what a generic Wyoming server gives: a text per utterance,
no partials, no word times, no grammar, no second listen. Confidence: a
generic server sends none, so a non-empty transcript counts as 1.0 (an empty
one 0.0); `callwright speech-server` adds its engine's own `confidence` to the
transcript's data, which is read when present. The events we read are
bounded (`MAX_LINE_BYTES`, `MAX_DATA_BYTES`, `MAX_PAYLOAD_BYTES`): a server
announcing a 1 GB event is refused before anything is read.
"""

from __future__ import annotations

import json
import math
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import numpy as np

from callwright.errors import CallwrightError
from callwright.speech.asr.base import (
    NO_OPTIONS,
    Capabilities,
    Recognition,
    Recognizer,
    RecognizerStream,
    TranscribeOptions,
    as_int16,
    check_rate,
    require_mono,
)
from callwright.speech.audio import Audio

SCHEME = "wyoming://"
DEFAULT_PORT = 10300  # the port wyoming-faster-whisper and Home Assistant use for ASR
CONNECT_TIMEOUT_S = 5.0  # a server that does not accept within this is down
REPLY_TIMEOUT_S = 60.0  # longest wait for any one event from the server (a long track decodes slowly)
MAX_LINE_BYTES = 64 * 1024  # an event's JSON header line
MAX_DATA_BYTES = 4 * 1024 * 1024  # an event's extra JSON data (an `info` lists models)
MAX_PAYLOAD_BYTES = 4 * 1024 * 1024  # an event's binary payload (a transcript has none)
MAX_EVENTS_PER_REPLY = 10_000  # events skipped while waiting for the transcript (e.g. partial chunks)
CHUNK_S = 1.0  # seconds of audio per audio-chunk sent by transcribe()
WIDTH = 2  # bytes per sample: 16-bit PCM
MAX_SERVERS = 64  # servers in one `wyoming://A+B+...` spec
WYOMING_RATES = (16000,)  # what servers decode at; they convert other rates themselves


@dataclass(frozen=True)
class Address:
    """A Wyoming server's TCP address."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{SCHEME}{self.host}:{self.port}"


def parse_address(spec: str) -> Address:
    """`wyoming://HOST:PORT` (or `tcp://HOST:PORT`; the port defaults to 10300) as an Address."""
    text = spec.strip()
    parts = urlsplit(text if "://" in text else f"tcp://{text}")
    if parts.scheme not in ("wyoming", "tcp") or parts.path not in ("", "/") or parts.query:
        raise CallwrightError(
            f"bad Wyoming address {spec!r}", hint="give wyoming://HOST:PORT, e.g. wyoming://127.0.0.1:10300"
        )
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise CallwrightError(f"bad port in Wyoming address {spec!r}", hint="a port is 1 to 65535") from None
    if not parts.hostname:
        raise CallwrightError(f"no host in Wyoming address {spec!r}", hint="give wyoming://HOST:PORT")
    return Address(parts.hostname, port)


def parse_servers(spec: str) -> tuple[Address, ...]:
    """`wyoming://HOST:PORT+HOST:PORT...`: one server or several sharing the utterances."""
    body = spec.strip()
    body = body[len(SCHEME) :] if body.startswith(SCHEME) else body
    parts = body.split("+")
    if len(parts) > MAX_SERVERS:
        raise CallwrightError(f"{spec!r}: at most {MAX_SERVERS} Wyoming servers in one engine")
    return tuple(parse_address(f"{SCHEME}{part}") for part in parts)


def servers_spec(addresses: Sequence[Address]) -> str:
    """The engine spec of `addresses` (what `parse_servers` reads)."""
    return SCHEME + "+".join(f"{a.host}:{a.port}" for a in addresses)


class WyomingError(CallwrightError):
    """A Wyoming server that cannot be reached, is too slow, or breaks the protocol."""


@dataclass
class WyomingEvent:
    """One event as read off the wire (type, merged data, payload)."""

    type: str
    data: dict[str, Any]
    payload: bytes = b""


def encode_event(kind: str, data: dict[str, Any] | None = None, payload: bytes = b"") -> bytes:
    """One event as bytes: a JSON line, then the data and the payload (the package's framing)."""
    from wyoming import __version__

    header: dict[str, Any] = {"type": kind, "version": __version__}
    body = json.dumps(data, ensure_ascii=False).encode() if data else b""
    if body:
        header["data_length"] = len(body)
    if payload:
        header["payload_length"] = len(payload)
    return json.dumps(header, ensure_ascii=False).encode() + b"\n" + body + payload


def parse_header(line: bytes, where: str) -> tuple[dict[str, Any], int, int]:
    """An event's header line checked: (header, data_length, payload_length), within the limits."""
    try:
        header = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        raise WyomingError(f"{where}: not a Wyoming event (the header line is not JSON)") from None
    if not isinstance(header, dict) or not isinstance(header.get("type"), str):
        raise WyomingError(f"{where}: not a Wyoming event (no 'type' in the header)")
    lengths = []
    for key, limit in (("data_length", MAX_DATA_BYTES), ("payload_length", MAX_PAYLOAD_BYTES)):
        value = header.get(key) or 0
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise WyomingError(f"{where}: bad {key} {value!r} in a {header['type']!r} event")
        if value > limit:
            raise WyomingError(
                f"{where}: {value} bytes of {key.split('_')[0]} announced in a {header['type']!r} "
                f"event, over the limit of {limit} bytes; refused"
            )
        lengths.append(value)
    return header, lengths[0], lengths[1]


def merge_data(header: dict[str, Any], extra: bytes, where: str) -> dict[str, Any]:
    """The event's data: the header's `data` updated with the extra JSON that followed it."""
    data = header.get("data") or {}
    if not isinstance(data, dict):
        raise WyomingError(f"{where}: the {header['type']!r} event's data is not an object")
    if extra:
        try:
            more = json.loads(extra)
        except (ValueError, UnicodeDecodeError):
            raise WyomingError(f"{where}: the {header['type']!r} event's data is not JSON") from None
        if not isinstance(more, dict):
            raise WyomingError(f"{where}: the {header['type']!r} event's data is not an object")
        data = {**data, **more}
    return data


def read_event(reader: BinaryIO, where: str) -> WyomingEvent:
    """The next event from a blocking reader, bounded; a closed connection is an error here."""
    line = reader.readline(MAX_LINE_BYTES + 1)
    if not line:
        raise WyomingError(f"{where} closed the connection without answering")
    if not line.endswith(b"\n"):
        if len(line) > MAX_LINE_BYTES:
            raise WyomingError(f"{where}: an event header over {MAX_LINE_BYTES} bytes; refused")
        raise WyomingError(f"{where} closed the connection in the middle of an event")
    header, data_len, payload_len = parse_header(line, where)
    extra = _read_exactly(reader, data_len, where)
    payload = _read_exactly(reader, payload_len, where)
    return WyomingEvent(header["type"], merge_data(header, extra, where), payload)


def _read_exactly(reader: BinaryIO, size: int, where: str) -> bytes:
    if not size:
        return b""
    data = reader.read(size)
    if data is None or len(data) < size:
        raise WyomingError(f"{where} closed the connection in the middle of an event")
    return data


class Connection:
    """One TCP connection to a Wyoming server, every failure a WyomingError naming the address."""

    def __init__(self, address: Address, connect_timeout_s: float, reply_timeout_s: float) -> None:
        self.address = address
        self._reply_timeout_s = reply_timeout_s
        try:
            self._sock = socket.create_connection((address.host, address.port), timeout=connect_timeout_s)
        except TimeoutError:
            raise WyomingError(
                f"Wyoming server {address} did not accept a connection within {connect_timeout_s:g} s"
            ) from None
        except OSError as err:
            raise WyomingError(
                f"cannot reach the Wyoming server {address}: {err.strerror or err}",
                hint="is `callwright speech-server` (or another Wyoming ASR server) running there?",
            ) from None
        self._sock.settimeout(reply_timeout_s)
        self._reader = self._sock.makefile("rb")

    def send(self, kind: str, data: dict[str, Any] | None = None, payload: bytes = b"") -> None:
        try:
            self._sock.sendall(encode_event(kind, data, payload))
        except TimeoutError:
            self.close()
            raise WyomingError(
                f"Wyoming server {self.address} took more than {self._reply_timeout_s:g} s to take audio"
            ) from None
        except OSError as err:
            self.close()
            raise WyomingError(f"Wyoming server {self.address} dropped the connection: {err}") from None

    def receive(self) -> WyomingEvent:
        try:
            return read_event(self._reader, f"Wyoming server {self.address}")
        except TimeoutError:
            raise WyomingError(
                f"Wyoming server {self.address} did not answer within {self._reply_timeout_s:g} s"
            ) from None
        except OSError as err:
            raise WyomingError(f"Wyoming server {self.address} dropped the connection: {err}") from None
        except WyomingError:
            self.close()
            raise

    def wait_for(self, kind: str) -> WyomingEvent:
        """Events until one of `kind` (others skipped); a Wyoming `error` event is raised."""
        for _ in range(MAX_EVENTS_PER_REPLY):
            event = self.receive()
            if event.type == kind:
                return event
            if event.type == "error":
                raise WyomingError(
                    f"Wyoming server {self.address} answered an error: {event.data.get('text')}"
                )
        raise WyomingError(
            f"Wyoming server {self.address} sent {MAX_EVENTS_PER_REPLY} events and no {kind!r}"
        )

    def close(self) -> None:
        try:
            self._reader.close()
        finally:
            self._sock.close()


def recognition_of(event: WyomingEvent, address: Address) -> Recognition:
    """A transcript event as a Recognition (confidence as the module docstring says)."""
    text = event.data.get("text")
    if not isinstance(text, str):
        raise WyomingError(f"Wyoming server {address} sent a transcript without text")
    text = text.strip()
    confidence = event.data.get("confidence")
    if (
        isinstance(confidence, (int, float))
        and not isinstance(confidence, bool)
        and math.isfinite(confidence)
    ):
        conf = min(1.0, max(0.0, float(confidence)))
    else:
        conf = 1.0 if text else 0.0
    return Recognition(text, conf if text else 0.0)


class WyomingRecognizer(Recognizer):
    """Any Wyoming ASR server as a recogniser; holds no connection between utterances.

    Given several servers (`wyoming://A:10300+B:10300`), each utterance goes to
    the next in turn, and one that cannot be reached is skipped for that
    utterance (the next is tried), so more servers carry more calls and one
    down costs only its connect attempt.
    """

    capabilities = Capabilities(
        streaming=False,
        partials=False,
        word_timestamps=False,
        grammar=False,
        sample_rates=WYOMING_RATES,
    )  # the hints (priming, speech regions, a second listen) keep their default: not offered

    def __init__(
        self,
        address: str | Address | Sequence[Address],
        *,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        reply_timeout_s: float = REPLY_TIMEOUT_S,
    ) -> None:
        if isinstance(address, Address):
            self.addresses: tuple[Address, ...] = (address,)
        elif isinstance(address, str):
            self.addresses = parse_servers(address)
        else:
            self.addresses = tuple(address)
        if not self.addresses:
            raise ValueError("a WyomingRecognizer needs at least one server")
        self.name = servers_spec(self.addresses)
        self._turn = 0
        self._lock = threading.Lock()
        self.connect_timeout_s = connect_timeout_s
        self.reply_timeout_s = reply_timeout_s

    def connect(self) -> Connection:
        """A connection to the next server in turn, or to the first after it that accepts."""
        with self._lock:
            first, self._turn = self._turn, (self._turn + 1) % len(self.addresses)
        errors: list[WyomingError] = []
        for i in range(len(self.addresses)):
            address = self.addresses[(first + i) % len(self.addresses)]
            try:
                return Connection(address, self.connect_timeout_s, self.reply_timeout_s)
            except WyomingError as err:
                errors.append(err)
        if len(errors) == 1:
            raise errors[0]
        raise WyomingError(
            f"none of the {len(errors)} Wyoming servers {self.name} accepted a connection: "
            + "; ".join(e.message for e in errors)
        )

    def describe(self) -> dict[str, Any]:
        """The server's `info` event data (its programs and models)."""
        conn = self.connect()
        try:
            conn.send("describe")
            return conn.wait_for("info").data
        finally:
            conn.close()

    def open(self, sample_rate: int, phrases: Sequence[str] | None = None) -> WyomingStream:
        return WyomingStream(self, sample_rate, phrases)

    def transcribe(self, audio: Audio, options: TranscribeOptions = NO_OPTIONS) -> list[Recognition]:
        """The whole track as one utterance: one text, no segment or word times (see the module)."""
        require_mono(audio)
        samples = as_int16(np.ascontiguousarray(audio.samples).reshape(-1).astype(np.int16, copy=False))
        if not samples.size:
            return []
        step = max(1, int(audio.rate * CHUNK_S))
        conn = self.connect()
        try:
            start(conn, audio.rate, None)
            for i in range(0, samples.size, step):
                chunk(conn, audio.rate, samples[i : i + step])
            conn.send("audio-stop", {"timestamp": int(1000 * samples.size / audio.rate)})
            result = recognition_of(conn.wait_for("transcript"), conn.address)
        finally:
            conn.close()
        return [result] if result.text else []


def start(conn: Connection, rate: int, phrases: Sequence[str] | None) -> None:
    """`transcribe` (with the phrases as terms to bias towards) and `audio-start`."""
    conn.send("transcribe", {"transcript_terms": list(phrases)} if phrases else None)
    conn.send("audio-start", {"rate": rate, "width": WIDTH, "channels": 1, "timestamp": 0})


def chunk(conn: Connection, rate: int, samples: np.ndarray) -> None:
    conn.send("audio-chunk", {"rate": rate, "width": WIDTH, "channels": 1}, samples.astype("<i2").tobytes())


class WyomingStream(RecognizerStream):
    """One call's audio: each utterance is a connection, opened at its first audio."""

    def __init__(self, owner: WyomingRecognizer, sample_rate: int, phrases: Sequence[str] | None) -> None:
        self.sample_rate = check_rate(sample_rate)
        self._owner = owner
        self._phrases = list(phrases) if phrases else None
        self._pending: tuple[bool, list[str] | None] = (False, None)
        self._conn: Connection | None = None
        self._samples = 0  # of the utterance in progress

    def accept(self, pcm16: bytes | np.ndarray) -> Recognition | None:
        samples = as_int16(pcm16)
        if not samples.size:
            return None
        if self._conn is None:
            conn = self._owner.connect()
            try:
                start(conn, self.sample_rate, self._phrases)
            except Exception:
                conn.close()
                raise
            self._conn = conn
        try:
            chunk(self._conn, self.sample_rate, samples)
        except Exception:
            self._drop()
            raise
        self._samples += samples.size
        return None

    def set_phrases(self, phrases: Sequence[str] | None) -> None:
        """Takes effect now between utterances, else when the current utterance finishes."""
        value = list(phrases) if phrases else None
        if self._conn is not None:
            self._pending = (True, value)
        else:
            self._phrases = value

    def finish(self) -> Recognition:
        conn = self._conn
        if conn is None:
            self._next()
            return Recognition("", 0.0)
        try:
            conn.send("audio-stop", {"timestamp": int(1000 * self._samples / self.sample_rate)})
            return recognition_of(conn.wait_for("transcript"), conn.address)
        finally:
            self._drop()

    def reset(self) -> None:
        """Drop the utterance: the connection is closed without asking for a transcript."""
        self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self._samples = 0
        self._next()
        if conn is not None:
            conn.close()

    def _next(self) -> None:
        if self._pending[0]:
            self._phrases, self._pending = self._pending[1], (False, None)

    def close(self) -> None:
        self._drop()
