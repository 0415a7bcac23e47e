"""Audio values, file reading/writing and resampling.

Everything inside Callwright handles audio as 16-bit PCM (`Audio`); files of any
telephone encoding are converted once, at the edge, by `read_audio`. Resampling
uses soxr because naive interpolation aliases badly at 8 kHz, which is where
telephone audio lives.
"""

from __future__ import annotations

import logging
import os
import struct
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from callwright.errors import AudioError

log = logging.getLogger(__name__)

INTERNAL_RATE = 16000
"""The rate the recognisers and VAD work at; telephone audio is upsampled to it."""

MAX_DURATION_S = 4 * 3600.0
"""Longest file `read_audio` accepts by default (the longest call QA scores): four hours; longer
usually means a bad header."""

MAX_SAMPLES = int(4 * 3600 * 16000 * 2)
"""Most samples (frames x channels) `read_audio` decodes: a four-hour stereo call at 16 kHz, 922 MB
as 16-bit PCM. A file is checked against it before anything is decoded, because a few MB of FLAC
(two hours of silence at 48 kHz stereo is 1.4 MB) can decode to GBs; a recording at a higher rate
or with more channels may be shorter (80 minutes of 48 kHz stereo)."""

DECODE_BLOCK_FRAMES = 1 << 18
"""Frames decoded at a time: a file is read block by block into its 16-bit array, so decoding needs
little more memory than the result (float files went through two float copies of the whole file)."""

MAX_FILE_BYTES = 2 * 1024**3
_MIN_RATE, _MAX_RATE = 1000, 384000
_MAX_CHANNELS = 16
# RIFF writers that stream (unknown length) leave these placeholders in the data-chunk size.
_STREAMING_SIZES = (0, 0xFFFFFFFF)

Encoding = Literal["pcm16", "ulaw", "alaw"]
_SUBTYPES: dict[str, str] = {"pcm16": "PCM_16", "ulaw": "ULAW", "alaw": "ALAW"}


@dataclass(frozen=True, eq=False)  # eq on arrays is ambiguous; compare .samples explicitly
class Audio:
    """16-bit PCM samples with their rate: shape (n,) for mono or (n, channels)."""

    samples: np.ndarray
    rate: int

    def __post_init__(self) -> None:
        if self.samples.dtype != np.int16:
            raise TypeError(f"Audio samples must be int16, got {self.samples.dtype}")
        if self.samples.ndim not in (1, 2):
            raise ValueError(f"Audio samples must be 1-D or 2-D, got shape {self.samples.shape}")
        if self.rate <= 0:
            raise ValueError(f"Audio rate must be positive, got {self.rate}")

    @property
    def channels(self) -> int:
        return 1 if self.samples.ndim == 1 else int(self.samples.shape[1])

    @property
    def n_samples(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.rate

    def channel(self, i: int) -> Audio:
        """One channel as mono (e.g. the caller side of a stereo call recording)."""
        if not 0 <= i < self.channels:
            raise IndexError(f"channel {i} out of range for {self.channels}-channel audio")
        if self.samples.ndim == 1:
            return self
        return Audio(np.ascontiguousarray(self.samples[:, i]), self.rate)

    def mono(self) -> Audio:
        """Average of all channels, so a stereo call can be fed to a mono recogniser.

        Mixed block by block: the mean of the whole file at once is a float64 copy four times
        the size of the int16 samples."""
        if self.samples.ndim == 1:
            return self
        out = np.empty(self.n_samples, dtype=np.int16)
        for i in range(0, self.n_samples, DECODE_BLOCK_FRAMES):
            block = self.samples[i : i + DECODE_BLOCK_FRAMES].astype(np.int32).mean(axis=1)
            out[i : i + DECODE_BLOCK_FRAMES] = np.round(block)
        return Audio(out, self.rate)

    def pcm_bytes(self) -> bytes:
        """Little-endian interleaved 16-bit PCM, the format recognisers and sockets expect."""
        return self.samples.astype("<i2", copy=False).tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, rate: int, channels: int = 1) -> Audio:
        """Inverse of `pcm_bytes`."""
        samples = np.frombuffer(data, dtype="<i2").astype(np.int16)
        if channels > 1:
            samples = samples.reshape(-1, channels)
        return cls(samples, rate)


def silence(seconds: float, rate: int) -> Audio:
    """Digital silence, used to pad prompts and build caller scripts."""
    return Audio(np.zeros(int(round(seconds * rate)), dtype=np.int16), rate)


def concat(parts: Sequence[Audio]) -> Audio:
    """Join clips end to end; they must share rate and channel count."""
    if not parts:
        raise ValueError("concat needs at least one Audio")
    rate, channels = parts[0].rate, parts[0].channels
    for p in parts:
        if p.rate != rate or p.channels != channels:
            raise ValueError(f"cannot concat {p.rate} Hz/{p.channels} ch audio with {rate} Hz/{channels} ch")
    return Audio(np.concatenate([p.samples for p in parts]), rate)


def trim_silence(audio: Audio, rel_db: float = -35.0, frame_ms: int = 10) -> Audio:
    """Drop leading and trailing frames more than `rel_db` below the loudest frame.

    espeak pads prompts with silence; trimming it shortens the turn, and it
    gives tests a clip whose speech starts and ends at known times.
    """
    n = max(1, audio.rate * frame_ms // 1000)
    x = audio.mono().samples
    usable = len(x) // n * n
    if usable == 0:
        return audio
    level = 10 * np.log10(np.mean(x[:usable].astype(np.float64).reshape(-1, n) ** 2, axis=1) + 1e-9)
    keep = np.where(level > level.max() + rel_db)[0]
    if level.max() < 0 or len(keep) == 0:  # digital silence throughout
        return Audio(audio.samples[:0], audio.rate)
    return Audio(audio.samples[keep[0] * n : (keep[-1] + 1) * n], audio.rate)


def _check_riff_length(path: Path) -> None:
    """Refuse WAVs whose data chunk is shorter than their header says.

    libsndfile silently reads what is there, which hides a cut-off upload or a
    recorder that crashed mid-call; we would rather tell the user.
    """
    with path.open("rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
            return
        endian = "<" if head[:4] == b"RIFF" else ">"
        file_size = path.stat().st_size
        pos = 12
        while pos + 8 <= file_size:
            fh.seek(pos)
            chunk_id, size = struct.unpack(endian + "4sI", fh.read(8))
            if chunk_id == b"data":
                present = file_size - (pos + 8)
                if size not in _STREAMING_SIZES and size > present:
                    raise AudioError(
                        f"{path}: truncated WAV: the header declares {size} bytes of audio "
                        f"but only {present} are present",
                        hint="the file was cut off; re-export or re-record it",
                    )
                return
            pos += 8 + size + (size & 1)


def read_audio(
    path: str | os.PathLike[str], *, max_duration_s: float = MAX_DURATION_S, max_samples: int = MAX_SAMPLES
) -> Audio:
    """Read WAV (PCM 8/16/24/32-bit, float, mu-law, A-law), FLAC, OGG or MP3 as 16-bit PCM.

    Every failure a user can cause (missing file, not audio, truncated, empty,
    nonsense header, too long, too many samples to decode, float samples that
    are not numbers) becomes an `AudioError` naming the file. The file is
    decoded in blocks (`DECODE_BLOCK_FRAMES`) into one 16-bit array.
    """
    import soundfile as sf

    p = Path(path)
    if not p.exists():
        raise AudioError(f"{p}: no such audio file")
    if not p.is_file():
        raise AudioError(f"{p}: not a file")
    size = p.stat().st_size
    if size == 0:
        raise AudioError(f"{p}: empty file (0 bytes)")
    if size > MAX_FILE_BYTES:
        raise AudioError(
            f"{p}: file is {size / 1024**3:.1f} GiB, over the {MAX_FILE_BYTES / 1024**3:.0f} GiB limit",
            hint="split the recording into shorter files",
        )
    try:
        info = sf.info(str(p))
    except (sf.LibsndfileError, RuntimeError) as err:
        reason = str(err).split(": ", 1)[-1] if ": " in str(err) else str(err)
        raise AudioError(
            f"{p}: not a readable audio file ({reason})",
            hint="use WAV (PCM, mu-law or A-law), FLAC, OGG or MP3",
        ) from None
    if not _MIN_RATE <= info.samplerate <= _MAX_RATE:
        raise AudioError(f"{p}: implausible sample rate {info.samplerate} Hz in the header")
    if not 1 <= info.channels <= _MAX_CHANNELS:
        raise AudioError(f"{p}: implausible channel count {info.channels} in the header")
    if info.format in ("WAV", "WAVEX", "RF64"):
        _check_riff_length(p)
    if info.frames <= 0:
        raise AudioError(f"{p}: contains no audio samples")
    duration = info.frames / info.samplerate
    if duration > max_duration_s:
        raise AudioError(
            f"{p}: {duration:.0f} s long, over the {max_duration_s:.0f} s limit",
            hint="split the recording into shorter files",
        )
    if info.frames * info.channels > max_samples:
        raise AudioError(
            f"{p}: {duration / 60:.0f} min of {info.samplerate} Hz audio on {info.channels} channel(s) is "
            f"{info.frames * info.channels / 1e6:.0f} million samples, over the limit of "
            f"{max_samples / 1e6:.0f} million (four hours of 16 kHz stereo)",
            hint="resample the recording to 16 kHz or 8 kHz, or split it",
        )
    try:
        data = _decode(sf, p, info, max_samples)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(f"{p}: could not decode audio ({err})") from None
    if data.shape[0] == 0:
        raise AudioError(f"{p}: contains no audio samples")
    if data.ndim == 2 and data.shape[1] == 1:
        data = data[:, 0]
    rate = info.samplerate
    log.debug("read %s: %d Hz, %d ch, %.2f s, %s", p, rate, info.channels, duration, info.subtype)
    return Audio(np.ascontiguousarray(data), int(rate))


def _decode(sf: Any, p: Path, info: Any, max_samples: int) -> np.ndarray:
    """Decode to int16 block by block, going through float for float files.

    libsndfile truncates float samples to integers when asked for int16 (so a
    float WAV reads as all zeros); scaling ourselves avoids that. A float sample
    that is not a number (NaN, infinity) has no level to scale: the file is
    refused rather than read as noise a recogniser would hear as speech.
    """
    floating = info.subtype in ("FLOAT", "DOUBLE")
    channels = info.channels
    shape: tuple[int, ...] = (info.frames,) if channels == 1 else (info.frames, channels)
    out = np.empty(shape, dtype=np.int16)
    n = 0
    with sf.SoundFile(str(p)) as fh:
        while True:
            block = fh.read(DECODE_BLOCK_FRAMES, dtype="float32" if floating else "int16", always_2d=False)
            k = block.shape[0]
            if k == 0:
                break
            if floating:
                bad = ~np.isfinite(block)
                if bad.any():
                    first = n + int(np.argmax(bad.any(axis=1) if bad.ndim == 2 else bad))
                    raise AudioError(
                        f"{p}: float samples that are not numbers (NaN or infinity), the first "
                        f"at {first / info.samplerate:.2f} s",
                        hint="the file is corrupt; re-export it",
                    )
                block = np.clip(np.round(block * 32768.0), -32768, 32767).astype(np.int16)
            if n + k > out.shape[0]:  # the header under-counted (some compressed formats)
                if (n + k) * channels > max_samples:
                    raise AudioError(
                        f"{p}: decodes to more than the limit of {max_samples / 1e6:.0f} million samples"
                    )
                grown = np.empty((max(n + k, 2 * out.shape[0]), *shape[1:]), dtype=np.int16)
                grown[:n] = out[:n]
                out = grown
            out[n : n + k] = block
            n += k
    return out[:n]


def write_wav(path: str | os.PathLike[str], audio: Audio, encoding: Encoding = "pcm16") -> Path:
    """Write a WAV atomically (temp file + rename) so readers never see half a file."""
    import soundfile as sf

    if encoding not in _SUBTYPES:
        raise AudioError(
            f"unknown WAV encoding {encoding!r} for {path}",
            hint=f"use one of {', '.join(_SUBTYPES)}",
        )
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    os.close(fd)
    try:
        sf.write(tmp, audio.samples, audio.rate, subtype=_SUBTYPES[encoding], format="WAV")
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def resample(audio: Audio, rate: int) -> Audio:
    """Change the sample rate with a band-limited (soxr HQ) resampler."""
    import soxr

    if rate <= 0:
        raise ValueError(f"target rate must be positive, got {rate}")
    if rate == audio.rate:
        return audio
    out = soxr.resample(audio.samples, audio.rate, rate, quality="HQ")
    return Audio(np.ascontiguousarray(out, dtype=np.int16), rate)


class StreamResampler:
    """Resample live frames without clicks at frame boundaries.

    Resampling each frame on its own restarts the filter every 20 ms; soxr's
    stream keeps filter state, at the cost of a few ms of delay.
    """

    def __init__(self, in_rate: int, out_rate: int, channels: int = 1) -> None:
        import soxr

        self.in_rate, self.out_rate, self.channels = in_rate, out_rate, channels
        self._passthrough = in_rate == out_rate
        self._stream = (
            None
            if self._passthrough
            else soxr.ResampleStream(in_rate, out_rate, channels, dtype="int16", quality="HQ")
        )

    def process(self, frame: np.ndarray, last: bool = False) -> np.ndarray:
        """Feed one frame of int16 samples; returns whatever output is ready (may be empty)."""
        if frame.dtype != np.int16:
            raise TypeError(f"frames must be int16, got {frame.dtype}")
        if self._stream is None:
            return frame
        return self._stream.resample_chunk(frame, last=last)

    def flush(self) -> np.ndarray:
        """Drain the filter tail at the end of a stream."""
        if self._stream is None:
            return np.zeros(0, dtype=np.int16)
        empty = np.zeros((0,) if self.channels == 1 else (0, self.channels), dtype=np.int16)
        return self._stream.resample_chunk(empty, last=True)


def frame_length(rate: int, ms: int) -> int:
    """Samples in one frame of `ms` milliseconds."""
    n = rate * ms // 1000
    if n * 1000 != rate * ms:
        raise ValueError(f"{ms} ms is not a whole number of samples at {rate} Hz")
    return n


def frames(audio: Audio, ms: int = 20, *, pad_last: bool = True) -> Iterator[np.ndarray]:
    """Cut audio into fixed frames, as a live source would deliver them.

    The last partial frame is zero-padded (or dropped with pad_last=False) so
    frame-based detectors always see full frames.
    """
    n = frame_length(audio.rate, ms)
    samples = audio.samples
    total = samples.shape[0]
    for start in range(0, total - n + 1, n):
        yield samples[start : start + n]
    rest = total % n
    if rest and pad_last:
        tail = np.zeros((n,) + samples.shape[1:], dtype=np.int16)
        tail[:rest] = samples[total - rest :]
        yield tail
