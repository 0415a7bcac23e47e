"""A synthesiser on another process or machine, over the Wyoming protocol (`wyoming://HOST:PORT`).

The TTS side of "speech as a service" (docs/telephony.md): any Wyoming TTS server speaks
our prompts (wyoming-piper, `callwright speech-server`). One render is one TCP connection:
`synthesize` (the text, the voice by name), answered by `audio-start`, `audio-chunk`s of
PCM and `audio-stop`; the audio is resampled to the line's rate here. Voices come from the
server's `info` (asked once) and are resolved like local ones (`--voice en-us`, a flow's
language). A `rate_wpm` goes along for `callwright speech-server` (others ignore it; the
speaking rate is then the server's).

Behind `CachedSynthesizer` (what `get_synthesizer("wyoming://...")` builds), each static
prompt is fetched once; the cache key names the server's program and version, so a
different server renders afresh.

Every failure is a `SynthesisError` naming the server: not reachable, an `error` event,
a connection closed mid-stream, garbage (the event framing of `speech.asr.wyoming`, with
its size limits), audio that is not 16-bit or over `MAX_AUDIO_S`. Nothing waits without
bound: each event within `reply_timeout_s`, and the whole render within
`render_timeout_s`, after which a watchdog shuts the socket (a server that trickles
bytes cannot hold a call).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any

import numpy as np

from callwright.speech.asr.wyoming import (
    CONNECT_TIMEOUT_S,
    WIDTH,
    Address,
    WyomingError,
    encode_event,
    parse_address,
    read_event,
)
from callwright.speech.audio import Audio, resample
from callwright.speech.tts.base import (
    DEFAULT_RATE_WPM,
    DEFAULT_VOICE,
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

REPLY_TIMEOUT_S = 15.0  # the longest wait for any one event (a long prompt renders in a few seconds)
RENDER_TIMEOUT_S = 60.0  # one whole render, connection to audio-stop
MAX_AUDIO_S = 600.0  # audio in one answer (a prompt is seconds; more is a broken server)
MAX_CHANNELS = 8
MAX_RATE = 48000
MAX_EVENTS = 100_000  # events in one answer (chunks of 10 ms for 600 s are 60,000)


class WyomingSynthesizer(Synthesizer):
    """Any Wyoming TTS server as a `Synthesizer`; holds no connection between renders."""

    engine_name = "wyoming"

    def __init__(
        self,
        address: str | Address,
        *,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        reply_timeout_s: float = REPLY_TIMEOUT_S,
        render_timeout_s: float = RENDER_TIMEOUT_S,
    ) -> None:
        try:
            self.address = parse_address(address) if isinstance(address, str) else address
        except WyomingError as err:
            raise SynthesisError(err.message, hint=err.hint) from None
        self.connect_timeout_s = connect_timeout_s
        self.reply_timeout_s = reply_timeout_s
        self.render_timeout_s = render_timeout_s
        self._lock = threading.Lock()
        self._voices: list[VoiceInfo] | None = None
        self._program = ""  # "name/version" of the server's TTS program, in the cache key

    @property
    def where(self) -> str:
        return f"Wyoming TTS server {self.address}"

    # -- one exchange ------------------------------------------------------------------

    def _exchange(self, kind: str, data: dict[str, Any] | None, until: str) -> list[Any]:
        """Send one event; the events answered, up to the first `until` (included). Bounded as
        the module says; a Wyoming `error` event is raised."""
        deadline = time.monotonic() + self.render_timeout_s
        try:
            sock = socket.create_connection(
                (self.address.host, self.address.port), timeout=self.connect_timeout_s
            )
        except TimeoutError:
            raise SynthesisError(
                f"{self.where} did not accept a connection within {self.connect_timeout_s:g} s"
            ) from None
        except OSError as err:
            raise SynthesisError(
                f"cannot reach the {self.where}: {err.strerror or err}",
                hint="is `callwright speech-server` (or another Wyoming TTS server: Piper) running there?",
            ) from None
        expired = threading.Event()

        def watchdog() -> None:
            expired.set()
            try:
                sock.shutdown(socket.SHUT_RDWR)  # unblocks a read of a server that trickles bytes
            except OSError:
                pass

        timer = threading.Timer(self.render_timeout_s, watchdog)
        timer.daemon = True
        timer.start()
        reader = sock.makefile("rb")
        events = []
        try:
            sock.settimeout(self.reply_timeout_s)
            sock.sendall(encode_event(kind, data))
            for _ in range(MAX_EVENTS):
                sock.settimeout(max(0.01, min(self.reply_timeout_s, deadline - time.monotonic())))
                event = read_event(reader, self.where)
                if event.type == "error":
                    raise SynthesisError(f"{self.where} answered an error: {event.data.get('text')}")
                events.append(event)
                if event.type == until:
                    return events
            raise SynthesisError(f"{self.where} sent {MAX_EVENTS} events and no {until!r}")
        except (TimeoutError, WyomingError, OSError) as err:
            if expired.is_set():
                why = f"did not finish within {self.render_timeout_s:g} s"
            elif isinstance(err, TimeoutError):
                why = f"did not answer within {self.reply_timeout_s:g} s"
            else:
                why = ""
            if why:
                raise SynthesisError(f"{self.where} {why}") from None
            if isinstance(err, WyomingError):
                raise SynthesisError(err.message) from None
            raise SynthesisError(f"{self.where} dropped the connection: {err}") from None
        finally:
            timer.cancel()
            reader.close()
            sock.close()

    # -- Synthesizer ---------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """The server's `info` event data."""
        (info,) = self._exchange("describe", None, "info")[-1:]
        data: dict[str, Any] = info.data
        return data

    def voices(self) -> list[VoiceInfo]:
        with self._lock:
            if self._voices is None:
                self._voices, self._program = _voices_of(self.describe(), self.where)
            return list(self._voices)

    def settings(
        self, *, voice: str | None = None, rate_wpm: int | None = None, language: str | None = None
    ) -> VoiceSettings:
        voices = self.voices()
        rate = DEFAULT_RATE_WPM if rate_wpm is None else int(rate_wpm)
        check_rate_wpm(rate)
        if voices:
            chosen = _pick(voices, voice, language)
            lang = chosen.languages[0] if chosen.languages else (language or chosen.id)
            name = chosen.id
        else:  # a server that lists no voices takes what it is given
            name, lang = voice or "", language or ""
        return VoiceSettings(engine=f"wyoming:{self._program}", voice=name, language=lang, rate_wpm=rate)

    def synthesize(
        self,
        text: str,
        *,
        voice: str | None = None,
        rate_wpm: int | None = None,
        language: str | None = None,
        sample_rate: int = 8000,
    ) -> Audio:
        text = normalise_text(text)
        check_sample_rate(sample_rate)
        s = self.settings(voice=voice, rate_wpm=rate_wpm, language=language)
        request: dict[str, Any] = {"text": text, "rate_wpm": s.rate_wpm}
        if s.voice:
            request["voice"] = {"name": s.voice}
        elif s.language:
            request["voice"] = {"language": s.language}
        audio = _audio_of(self._exchange("synthesize", request, "audio-stop"), self.where)
        return resample(audio, sample_rate)


def _pick(voices: list[VoiceInfo], voice: str | None, language: str | None) -> VoiceInfo:
    """A server's voice as `resolve_voice` picks a local one, more forgiving on languages:
    Piper says `en_US` (read as en-us), a language also matches on its first part (`en-us`
    finds a voice that speaks `en` or `en-gb`), and with no voice or language asked for,
    the server's first voice speaks."""
    if voice:
        try:
            return resolve_voice(voices, voice, language)  # by the server's name (en_US-lessac-medium)
        except SynthesisError:
            if "_" not in voice:
                raise
            return resolve_voice(voices, voice.replace("_", "-"), language)  # by a language: en_US
    want = (language or DEFAULT_VOICE).replace("_", "-").lower()
    for ask in dict.fromkeys((want, want.split("-")[0])):
        try:
            return resolve_voice(voices, None, ask)
        except SynthesisError:
            continue
    if language is None:
        return voices[0]
    raise SynthesisError(
        f"no voice of the Wyoming TTS server speaks language {language!r}",
        hint="list its voices: callwright tts --tts wyoming://HOST:PORT --list-voices",
    )


def _voices_of(info: dict[str, Any], where: str) -> tuple[list[VoiceInfo], str]:
    """The voices of the first installed TTS program in an `info`, and "name/version"."""
    programs = info.get("tts")
    if not isinstance(programs, list) or not programs:
        raise SynthesisError(
            f"{where} offers no text-to-speech (its info lists no TTS program)",
            hint="is it an ASR-only server? point --tts at a TTS server (Piper, `callwright speech-server`)",
        )
    program = next((p for p in programs if isinstance(p, dict) and p.get("installed", True)), None)
    if program is None:
        raise SynthesisError(f"{where}: its TTS programs are not installed")
    voices = []
    for v in program.get("voices") or []:
        if not isinstance(v, dict) or not isinstance(v.get("name"), str) or not v.get("installed", True):
            continue
        given = v.get("languages")
        langs = given if isinstance(given, list) else []
        languages = tuple(lang.replace("_", "-") for lang in langs if isinstance(lang, str))  # en_US: en-us
        desc = v.get("description")
        name = desc if isinstance(desc, str) else v["name"]
        voices.append(VoiceInfo(id=v["name"], name=name, languages=languages))
    return voices, f"{program.get('name')}/{program.get('version')}"


def _audio_of(events: list[Any], where: str) -> Audio:
    """The PCM of audio-start / audio-chunk... / audio-stop as mono 16-bit audio."""
    fmt: tuple[int, int] | None = None  # (rate, channels)
    parts: list[bytes] = []
    size = 0
    for event in events:
        if event.type not in ("audio-start", "audio-chunk"):
            continue
        rate, width, channels = event.data.get("rate"), event.data.get("width"), event.data.get("channels")
        if width != WIDTH:
            raise SynthesisError(f"{where} sent {width!r}-byte samples; only 16-bit audio (width 2) is taken")
        if not isinstance(rate, int) or isinstance(rate, bool) or not 1000 <= rate <= MAX_RATE:
            raise SynthesisError(f"{where} sent audio at rate {rate!r}; 1000 to {MAX_RATE} Hz is taken")
        if not isinstance(channels, int) or isinstance(channels, bool) or not 1 <= channels <= MAX_CHANNELS:
            raise SynthesisError(f"{where} sent audio with {channels!r} channels")
        if fmt is not None and fmt != (rate, channels):
            raise SynthesisError(f"{where} changed the audio format in the middle of an answer")
        fmt = (rate, channels)
        if event.type == "audio-chunk":
            if len(event.payload) % (WIDTH * channels):
                raise SynthesisError(f"{where} sent an audio-chunk that is not whole 16-bit frames")
            size += len(event.payload)
            if size > MAX_AUDIO_S * rate * WIDTH * channels:
                raise SynthesisError(f"{where} sent over {MAX_AUDIO_S:g} s of audio for one prompt; refused")
            parts.append(event.payload)
    if fmt is None or not size:
        raise SynthesisError(f"{where} answered with no audio")
    rate, channels = fmt
    samples = np.frombuffer(b"".join(parts), dtype="<i2").reshape(-1, channels)
    mono = samples[:, 0] if channels == 1 else samples.mean(axis=1).round()
    return Audio(mono.astype(np.int16), rate)
