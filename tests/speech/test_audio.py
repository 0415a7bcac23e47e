"""Reading, writing, resampling and framing audio files in telephone encodings."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from callwright.errors import AudioError
from callwright.speech.audio import (
    INTERNAL_RATE,
    Audio,
    StreamResampler,
    concat,
    frames,
    read_audio,
    resample,
    silence,
    trim_silence,
    write_wav,
)


def tone(freq: float, rate: int, seconds: float = 0.5, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return amp * np.sin(2 * np.pi * freq * t)


def dominant_freq(samples: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spec)])


@pytest.mark.parametrize(
    "fmt,subtype,rate",
    [
        ("WAV", "PCM_16", 8000),
        ("WAV", "PCM_24", 16000),
        ("WAV", "PCM_32", 16000),
        ("WAV", "PCM_U8", 8000),
        ("WAV", "FLOAT", 16000),
        ("WAV", "ULAW", 8000),
        ("WAV", "ALAW", 8000),
        ("FLAC", "PCM_16", 16000),
        ("OGG", "VORBIS", 16000),
        ("MP3", "MPEG_LAYER_III", 16000),
    ],
)
def test_read_each_encoding_keeps_rate_length_and_pitch(tmp_path, fmt, subtype, rate):
    x = tone(440, rate)
    path = tmp_path / f"a.{fmt.lower()}"
    sf.write(path, x, rate, format=fmt, subtype=subtype)
    audio = read_audio(path)
    assert audio.rate == rate
    assert audio.channels == 1
    assert audio.samples.dtype == np.int16
    # lossy codecs pad/trim a few ms; the length must still be close
    assert abs(audio.duration_s - 0.5) < 0.06
    assert abs(dominant_freq(audio.samples, rate) - 440) < 5
    peak = np.abs(audio.samples).max() / 32768
    assert 0.35 < peak < 0.65


def test_stereo_channels_are_kept_apart(tmp_path):
    rate = 8000
    left, right = tone(400, rate), tone(1000, rate)
    sf.write(tmp_path / "s.wav", np.stack([left, right], axis=1), rate, subtype="ULAW")
    audio = read_audio(tmp_path / "s.wav")
    assert audio.channels == 2
    assert abs(dominant_freq(audio.channel(0).samples, rate) - 400) < 5
    assert abs(dominant_freq(audio.channel(1).samples, rate) - 1000) < 5
    assert audio.mono().channels == 1
    with pytest.raises(IndexError):
        audio.channel(2)


@pytest.mark.parametrize("encoding", ["pcm16", "ulaw", "alaw"])
def test_write_then_read_round_trip(tmp_path, encoding):
    x = (tone(700, 8000) * 32767).astype(np.int16)
    out = write_wav(tmp_path / "sub" / "o.wav", Audio(x, 8000), encoding=encoding)
    info = sf.info(out)
    assert info.subtype == {"pcm16": "PCM_16", "ulaw": "ULAW", "alaw": "ALAW"}[encoding]
    back = read_audio(out)
    err = np.abs(back.samples.astype(int) - x.astype(int)).max()
    # companding keeps ~13-14 bits at this level; pcm16 is exact
    assert err == 0 if encoding == "pcm16" else err < 1100
    assert not list((tmp_path / "sub").glob("*.tmp")), "temp file left behind"


def test_write_unknown_encoding_is_a_user_error(tmp_path):
    with pytest.raises(AudioError, match="gsm"):
        write_wav(tmp_path / "o.wav", silence(0.1, 8000), encoding="gsm")  # type: ignore[arg-type]


def _good_wav_bytes(tmp_path: Path) -> bytes:
    sf.write(tmp_path / "good.wav", tone(440, 16000), 16000, subtype="PCM_16")
    return (tmp_path / "good.wav").read_bytes()


@pytest.mark.parametrize(
    "name,make,reason",
    [
        ("empty.wav", lambda b: b"", "empty file"),
        ("text.wav", lambda b: b"this is a text file, not audio\n" * 10, "not a readable audio"),
        ("header_only.wav", lambda b: b[:44], "truncated|no audio samples"),
        ("cut.wav", lambda b: b[:3001], "truncated"),
        ("zero_rate.wav", lambda b: b[:24] + struct.pack("<I", 0) + b[28:], "not a readable|rate"),
        (
            "zero_channels.wav",
            lambda b: b[:22] + struct.pack("<H", 0) + b[24:],
            "not a readable|channel",
        ),
        ("huge_size.wav", lambda b: b[:40] + struct.pack("<I", 0xFFFFFFF0) + b[44:], "truncated"),
    ],
)
def test_bad_files_raise_audio_error_naming_file(tmp_path, name, make, reason):
    path = tmp_path / name
    path.write_bytes(make(_good_wav_bytes(tmp_path)))
    with pytest.raises(AudioError, match=reason) as info:
        read_audio(path)
    assert name in str(info.value)


def test_zero_length_data_chunk_is_rejected(tmp_path):
    sf.write(tmp_path / "z.wav", np.zeros(0), 8000, subtype="PCM_16")
    with pytest.raises(AudioError, match="no audio samples"):
        read_audio(tmp_path / "z.wav")


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(AudioError, match="no such audio file"):
        read_audio(tmp_path / "nope.wav")
    with pytest.raises(AudioError, match="not a file"):
        read_audio(tmp_path)


def test_duration_guard(tmp_path):
    sf.write(tmp_path / "long.wav", np.zeros(8000 * 5), 8000, subtype="PCM_16")
    with pytest.raises(AudioError, match="over the 2 s limit"):
        read_audio(tmp_path / "long.wav", max_duration_s=2)


def test_resample_keeps_pitch_and_duration():
    x = (tone(1000, 8000, seconds=1.0) * 20000).astype(np.int16)
    up = resample(Audio(x, 8000), INTERNAL_RATE)
    assert up.rate == INTERNAL_RATE and up.n_samples == 16000
    assert abs(dominant_freq(up.samples, 16000) - 1000) < 3


def test_resample_removes_content_above_new_nyquist():
    # 6 kHz tone at 16 kHz must vanish at 8 kHz, not alias to 2 kHz
    x = (tone(6000, 16000, seconds=1.0) * 20000).astype(np.int16)
    down = resample(Audio(x, 16000), 8000)
    assert np.sqrt(np.mean(down.samples.astype(float) ** 2)) < 100


def test_stream_resampler_matches_whole_file():
    x = (tone(440, 8000, seconds=1.0) * 20000).astype(np.int16)
    rs = StreamResampler(8000, 16000)
    out = [rs.process(f) for f in frames(Audio(x, 8000), 20)]
    out.append(rs.flush())
    streamed = np.concatenate(out)
    whole = resample(Audio(x, 8000), 16000).samples
    assert abs(len(streamed) - len(whole)) <= 2
    n = min(len(streamed), len(whole)) - 200
    assert np.abs(streamed[200:n].astype(int) - whole[200:n].astype(int)).max() < 200


def test_frames_are_fixed_size_and_cover_everything():
    a = Audio(np.arange(1000, dtype=np.int16), 8000)
    fs = list(frames(a, 20))
    assert all(len(f) == 160 for f in fs)
    assert len(fs) == 7
    assert np.array_equal(np.concatenate(fs)[:1000], a.samples)
    assert len(list(frames(a, 20, pad_last=False))) == 6


def test_concat_and_bytes_round_trip():
    a = concat([silence(0.1, 8000), Audio(np.full(80, 1234, dtype=np.int16), 8000)])
    assert a.n_samples == 880
    assert np.array_equal(Audio.from_bytes(a.pcm_bytes(), 8000).samples, a.samples)
    with pytest.raises(ValueError):
        concat([silence(0.1, 8000), silence(0.1, 16000)])


def test_trim_silence_keeps_only_the_sound():
    tone_part = (tone(500, 8000, seconds=0.3) * 20000).astype(np.int16)
    padded = concat([silence(0.5, 8000), Audio(tone_part, 8000), silence(0.7, 8000)])
    trimmed = trim_silence(padded)
    assert trimmed.duration_s == pytest.approx(0.3, abs=0.011)
    assert trim_silence(silence(1.0, 8000)).n_samples == 0


def test_real_fsdd_recording(fsdd_dir):
    audio = read_audio(fsdd_dir / "7_jackson_0.wav")
    assert audio.rate == 8000 and audio.channels == 1
    assert 0.2 < audio.duration_s < 2.0
    assert np.abs(audio.samples).max() > 1000
