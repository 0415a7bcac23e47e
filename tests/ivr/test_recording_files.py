"""IVR recordings hold callers' voices: created readable by their owner only."""

import stat

import numpy as np

from callwright.ivr.channels.audio import RECORDING_DIR_MODE, RECORDING_MODE, AudioLine


class _Stream:
    def set_phrases(self, phrases):
        pass


class _Recognizer:
    """No engine is needed to save a recording; the line only opens a stream."""

    name = "none"

    def open(self, rate, phrases=None):
        return _Stream()


def test_a_recording_and_the_folders_made_for_it_are_private(tmp_path):
    line = AudioLine(8000, _Recognizer(), prompts=None)
    line.caller.add(0.0, np.full(800, 1000, np.int16))
    path = line.save_recording(tmp_path / "recordings" / "2026" / "call.wav", 0.5)
    assert stat.S_IMODE(path.stat().st_mode) == RECORDING_MODE == 0o600
    for folder in (tmp_path / "recordings", tmp_path / "recordings" / "2026"):
        assert stat.S_IMODE(folder.stat().st_mode) == RECORDING_DIR_MODE == 0o700

    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    line.save_recording(shared / "call.wav", 0.5)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755  # an existing folder keeps its mode


def test_qa_reads_an_ivr_recording_with_the_caller_as_customer_and_the_ivr_as_agent(tmp_path):
    """Issue 17 item 6: without the sidecar, QA's default map (agent left) took the caller for the agent."""
    from callwright.qa import ingest

    line = AudioLine(8000, _Recognizer(), prompts=None)
    line.caller.add(0.0, np.full(800, 1000, np.int16))  # only the caller speaks
    path = line.save_recording(tmp_path / "rec" / "call-7.wav", 0.5, {"direction": "inbound"})
    sidecar = path.with_suffix(".json")
    assert stat.S_IMODE(sidecar.stat().st_mode) == RECORDING_MODE
    meta = ingest.resolve_meta(path)
    assert meta.channel_roles == ("customer", "agent")
    assert meta.call_id == "call-7" and meta.direction == "inbound"
    call = ingest.load_call(path, meta)
    assert np.abs(call.tracks["customer"].samples).max() > 0  # the caller's voice is the customer track
    assert np.abs(call.tracks["agent"].samples).max() == 0
