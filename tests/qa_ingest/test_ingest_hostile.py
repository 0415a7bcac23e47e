"""Ingest against hostile and careless inputs: huge and deeply nested transcripts, values that must
not be echoed (a card number in the wrong field), folder entries that are not files."""

from __future__ import annotations

import json
import os
import time

import pytest

from callwright.errors import DataError
from callwright.qa import ingest
from callwright.qa.ingest import read_transcript, resolve_meta

# read from the module so that each test (not the whole file) fails on code without the limits
MAX_SEGMENTS = getattr(ingest, "MAX_SEGMENTS", 10_000)
MAX_JSON_BYTES = getattr(ingest, "MAX_JSON_BYTES", 32 * 1024**2)

CARD = "4111 1111 1111 1111"
DIGITS = "4111111111111111"


def _segments(n: int) -> list[dict]:
    return [{"speaker": "agent", "start": i, "end": i + 0.5, "text": "hello"} for i in range(n)]


def test_a_transcript_over_the_segment_limit_is_refused_quickly_and_clearly(tmp_path):
    p = tmp_path / "big.json"
    p.write_text(json.dumps({"segments": _segments(MAX_SEGMENTS + 1)}))
    t = time.perf_counter()
    with pytest.raises(DataError, match=rf"big\.json: {MAX_SEGMENTS + 1} segments, over the limit of {MAX_SEGMENTS}"):
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


@pytest.mark.parametrize(("body", "field"), [
    ({"direction": CARD, "segments": []}, "direction"),
    ({"started_at": CARD, "segments": []}, "started_at"),
    ({DIGITS: "x", "segments": []}, "unknown field"),
    ({"segments": [{"speaker": CARD, "start": 0, "end": 1, "text": "hi"}]}, "speaker"),
    ({"segments": [{"speaker": "agent", "start": DIGITS, "end": 1, "text": "hi"}]}, "start"),
    ({"segments": [{"speaker": "agent", "start": 0, "end": 1, "text": "hi", "confidence": CARD}]},
     "confidence"),
    ({"segments": [{"speaker": "agent", "start": 0, "end": 1, "text": int(DIGITS)}]}, "text"),
    ({"speakers": {"S0": CARD}, "segments": []}, "speakers"),
])
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
    assert ingest.find_inputs([tmp_path / "pipe.wav"]).skipped == [(tmp_path / "pipe.wav", reasons["pipe.wav"])]


def test_nan_and_infinite_transcript_durations_are_refused(tmp_path):
    p = tmp_path / "t.json"
    for bad in ("NaN", "Infinity"):
        p.write_text('{"duration_s": %s, "segments": [{"speaker": "agent", "start": 0, "end": 1, "text": "a"}]}'
                     % bad)
        with pytest.raises(DataError, match="duration_s must be a number"):
            read_transcript(p)
