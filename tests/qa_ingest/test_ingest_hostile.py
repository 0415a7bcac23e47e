"""Ingest against hostile and careless inputs: huge and deeply nested transcripts, values that must
not be echoed (a card number in the wrong field), folder entries that are not files."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

import pytest

from callwright.errors import DataError
from callwright.qa import ingest
from callwright.qa.ingest import read_transcript, resolve_meta

# read from the module so that each test (not the whole file) fails on code without the limits
MAX_SEGMENTS = getattr(ingest, "MAX_SEGMENTS", 5_000)
MAX_JSON_BYTES = getattr(ingest, "MAX_JSON_BYTES", 32 * 1024**2)

CARD = "4111 1111 1111 1111"
DIGITS = "4111111111111111"


def _segments(n: int) -> list[dict]:
    return [{"speaker": "agent", "start": i, "end": i + 0.5, "text": "hello"} for i in range(n)]


def test_a_transcript_over_the_segment_limit_is_refused_quickly_and_clearly(tmp_path):
    p = tmp_path / "big.json"
    p.write_text(json.dumps({"segments": _segments(MAX_SEGMENTS + 1)}))
    t = time.perf_counter()
    with pytest.raises(
        DataError, match=rf"big\.json: {MAX_SEGMENTS + 1} segments, over the limit of {MAX_SEGMENTS}"
    ):
        read_transcript(p)
    assert time.perf_counter() - t < 5
    p.write_text(json.dumps({"segments": _segments(MAX_SEGMENTS)}))
    assert len(read_transcript(p).utterances) == MAX_SEGMENTS  # the limit itself is allowed


def test_a_transcript_file_over_the_size_limit_is_refused_before_parsing(tmp_path):
    p = tmp_path / "huge.json"
    with p.open("w") as fh:
        fh.truncate(MAX_JSON_BYTES + 1)  # sparse: costs no disk
    with pytest.raises(DataError, match=r"huge\.json: .*MiB limit"):
        resolve_meta(p)


@pytest.mark.parametrize("body", ["[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000])
def test_deeply_nested_json_is_a_data_error_not_a_recursion_error(tmp_path, body):
    p = tmp_path / "deep.json"
    p.write_text(body)
    with pytest.raises(DataError, match=r"deep\.json: JSON nested too deeply"):
        resolve_meta(p)
    with pytest.raises(DataError, match="nested too deeply"):
        read_transcript(p, meta=None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"direction": CARD, "segments": []}, "direction"),
        ({"started_at": CARD, "segments": []}, "started_at"),
        ({DIGITS: "x", "segments": []}, "unknown field"),
        ({"segments": [{"speaker": CARD, "start": 0, "end": 1, "text": "hi"}]}, "speaker"),
        ({"segments": [{"speaker": "agent", "start": DIGITS, "end": 1, "text": "hi"}]}, "start"),
        (
            {"segments": [{"speaker": "agent", "start": 0, "end": 1, "text": "hi", "confidence": CARD}]},
            "confidence",
        ),
        ({"segments": [{"speaker": "agent", "start": 0, "end": 1, "text": int(DIGITS)}]}, "text"),
        ({"speakers": {"S0": CARD}, "segments": []}, "speakers"),
    ],
)
def test_error_messages_do_not_echo_a_card_number_from_a_bad_field(tmp_path, body, field):
    p = tmp_path / "t.json"
    p.write_text(json.dumps(body))
    with pytest.raises(DataError) as err:
        read_transcript(p)
    message = str(err.value)
    assert field in message and "t.json" in message
    assert "4111" not in message and "1111" not in message, message


def test_a_bad_sidecar_field_is_not_echoed_either(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"RIFF")
    (tmp_path / "a.json").write_text(json.dumps({"agent": "ann", "direction": f"card {CARD}"}))
    with pytest.raises(DataError) as err:
        resolve_meta(tmp_path / "a.wav")
    assert "direction" in str(err.value) and "4111" not in str(err.value)


def test_non_files_in_a_folder_are_reported_as_skipped_with_their_reason(tmp_path):
    (tmp_path / "good.json").write_text(json.dumps({"segments": _segments(1)}))
    os.symlink("loop.wav", tmp_path / "loop.wav")
    os.symlink("gone.wav", tmp_path / "dangling.wav")
    os.mkfifo(tmp_path / "pipe.wav")
    (tmp_path / "sub").mkdir()
    os.symlink("..", tmp_path / "sub" / "up")
    found = ingest.find_inputs([tmp_path])
    assert found.found == [tmp_path / "good.json"]
    reasons = {p.name: why for p, why in found.skipped}
    assert set(reasons) == {"loop.wav", "dangling.wav", "pipe.wav", "up"}
    assert "loop" in reasons["loop.wav"]
    assert "dangling" in reasons["dangling.wav"] and "gone.wav" in reasons["dangling.wav"]
    assert "named pipe" in reasons["pipe.wav"]
    assert "link to a folder" in reasons["up"]
    # a pipe named on the command line is never opened (it would block the batch)
    assert ingest.find_inputs([tmp_path / "pipe.wav"]).skipped == [
        (tmp_path / "pipe.wav", reasons["pipe.wav"])
    ]


def test_nan_and_infinite_transcript_durations_are_refused(tmp_path):
    p = tmp_path / "t.json"
    for bad in ("NaN", "Infinity"):
        seg = '{"speaker": "agent", "start": 0, "end": 1, "text": "a"}'
        p.write_text(f'{{"duration_s": {bad}, "segments": [{seg}]}}')
        with pytest.raises(DataError, match="duration_s must be a number"):
            read_transcript(p)


# -- decoding bombs and corrupt audio -------------------------------------------------------------------

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def _sparse_wav(path, rate: int, channels: int, seconds: float, subtype: str = "PCM_16") -> None:
    """A WAV of `seconds` of digital silence whose samples are a hole in the file: a GB on paper,
    nothing on disk, written in a moment."""
    import soundfile as sf

    with sf.SoundFile(path, "w", rate, channels, subtype, format="WAV") as fh:
        fh.write(__import__("numpy").zeros((1, channels), "float32"))
    width = {"PCM_16": 2, "FLOAT": 4}[subtype]
    frames = int(rate * seconds)
    data = bytearray(path.read_bytes())
    at = data.index(b"data")
    data_bytes = frames * channels * width
    data[at + 4 : at + 8] = data_bytes.to_bytes(4, "little")
    data[4:8] = (at + data_bytes).to_bytes(4, "little")
    with path.open("wb") as fh:
        fh.write(data[: at + 8])
        fh.truncate(at + 8 + data_bytes)


def _limited(code: str, limit_bytes: int, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `code` in a fresh Python whose address space is capped at `limit_bytes`."""

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "PYTHONWARNINGS": "ignore",
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=cap,
        cwd=ROOT,
        env=env,
    )


def test_two_hours_of_48k_stereo_is_refused_before_decoding_under_a_memory_limit(tmp_path):
    """Two hours of 48 kHz stereo silence (1.4 MB as FLAC) decodes to 1.4 GB of samples: before, `asr`
    went past 8 GB and `qa score` to 5.3 GB. Now the header is checked first: a clear error, at once."""
    big = tmp_path / "two-hours.wav"
    _sparse_wav(big, 48000, 2, 2 * 3600)
    code = (
        "from callwright.qa.ingest import load_call\n"
        "from callwright.errors import AudioError\n"
        "try:\n"
        f"    load_call({str(big)!r})\n"
        "except AudioError as err:\n"
        "    print('REFUSED', err)\n"
    )
    r = _limited(code, 1536 * 1024**2)
    assert r.returncode == 0 and "REFUSED" in r.stdout, r.stderr[-1500:]
    assert "over the limit of 461 million" in r.stdout and "two-hours.wav" in r.stdout


def test_asr_refuses_a_decoding_bomb_clearly_under_a_memory_limit(tmp_path):
    big = tmp_path / "two-hours.wav"
    _sparse_wav(big, 48000, 2, 2 * 3600)
    code = (
        f"import sys; sys.argv = ['callwright', 'asr', {str(big)!r}, '--engine', 'whisper']\n"
        "from callwright.cli import main; main()"
    )
    r = _limited(code, 1536 * 1024**2)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-1500:]
    assert "two-hours.wav" in r.stderr and "over the" in r.stderr and "limit" in r.stderr


def test_asr_hears_one_utterance_of_at_most_half_an_hour(tmp_path):
    long = tmp_path / "forty-minutes.wav"
    _sparse_wav(long, 8000, 1, 40 * 60)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}
    r = subprocess.run(
        [sys.executable, "-m", "callwright", "asr", str(long), "--engine", "whisper"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    assert r.returncode == 1 and "2400 s long, over the 1800 s limit" in r.stderr, r.stderr[-1500:]


def test_a_float_wav_decodes_in_blocks_within_memory(tmp_path):
    """20 minutes of 48 kHz stereo float (460 MB) is 230 MB as 16-bit: before, decoding went through
    whole-file float copies (over 1.4 GB)."""
    f = tmp_path / "float.wav"
    _sparse_wav(f, 48000, 2, 20 * 60, "FLOAT")
    code = (
        "from callwright.speech.audio import read_audio\n"
        f"a = read_audio({str(f)!r})\n"
        "print('OK', a.n_samples, a.channels, int(abs(a.samples).max()))\n"
    )
    r = _limited(code, 900 * 1024**2)
    assert r.returncode == 0 and r.stdout.split() == ["OK", str(48000 * 20 * 60), "2", "0"], r.stderr[-1500:]


def test_float_wav_with_nan_samples_is_refused_not_heard_as_speech(tmp_path):
    import numpy as np
    import soundfile as sf

    from callwright.errors import AudioError
    from callwright.qa.ingest import load_call
    from callwright.speech.audio import read_audio

    x = (0.1 * np.sin(np.arange(16000) / 8000 * 2 * np.pi * 440)).astype("float32")
    x[12000:12100] = np.nan
    sf.write(tmp_path / "nan.wav", x, 8000, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"nan\.wav: float samples that are not numbers .* at 1\.50 s"):
        read_audio(tmp_path / "nan.wav")
    with pytest.raises(AudioError, match="not numbers"):
        load_call(tmp_path / "nan.wav")
    x[12000:12100] = 0.0  # the same file without them reads, at its level
    sf.write(tmp_path / "ok.wav", x, 8000, subtype="FLOAT")
    assert 3000 < int(np.abs(read_audio(tmp_path / "ok.wav").samples).max()) < 3400


@pytest.mark.parametrize(("fmt", "subtype"), [("FLAC", "PCM_16"), ("WAV", "ULAW"), ("WAV", "PCM_24")])
def test_block_decoding_reads_what_libsndfile_reads(tmp_path, fmt, subtype):
    """Across several blocks, and a last partial one, the samples are the ones a whole-file read gives."""
    import numpy as np
    import soundfile as sf

    from callwright.speech.audio import read_audio

    n = int(
        2.5 * getattr(__import__("callwright.speech.audio", fromlist=["x"]), "DECODE_BLOCK_FRAMES", 1 << 18)
    )
    x = np.random.default_rng(1).integers(-20000, 20000, (n, 2)).astype(np.int16)
    path = tmp_path / f"x.{fmt.lower()}"
    sf.write(path, x, 8000, subtype=subtype, format=fmt)
    expected, _ = sf.read(path, dtype="int16")
    got = read_audio(path)
    assert got.samples.shape == (n, 2) and np.array_equal(got.samples, expected)
    assert np.array_equal(
        got.mono().samples, np.round(expected.astype(np.int32).mean(axis=1)).astype(np.int16)
    )


def test_the_customers_name_in_a_wrong_field_is_not_echoed(tmp_path):
    """The record's own customer name, typed into another field, is redacted in the error that
    reaches the console and qa_errors, as a card number there is."""
    path = tmp_path / "call.json"
    body = {"direction": "Patricia Brown", "customer": "Patricia Brown", "segments": []}
    path.write_text(json.dumps(body))
    with pytest.raises(DataError) as err:
        read_transcript(path)
    assert "direction must be inbound or outbound, not '[NAME]'" in str(err.value)
    assert "Patricia" not in str(err.value)


def test_a_speaker_labelled_with_the_customers_name_is_not_echoed(tmp_path):
    path = tmp_path / "call.json"
    segments = [{"speaker": "John Carter", "start": 0, "end": 1, "text": "hi"}]
    path.write_text(json.dumps({"customer": "John Carter", "segments": segments}))
    with pytest.raises(DataError) as err:
        read_transcript(path)
    assert "segments[0].speaker" in str(err.value) and "Carter" not in str(err.value), str(err.value)
