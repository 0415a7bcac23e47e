"""The sample-call generator: real espeak-ng speech laid out as each script says, measured back
through ingest, voice activity and conversation metrics."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import soundfile as sf

from callwright.errors import DataError
from callwright.qa.ingest import load_call, read_transcript, resolve_meta
from callwright.qa.metrics import (
    activity_from_audio,
    conversation_metrics,
    metrics_from_audio,
    music_from_audio,
)
from callwright.qa.samples import SAMPLES_DIR, load_script, load_scripts, render, write_call
from callwright.redaction import luhn_ok, ssn_ok

SCRIPTS = {s.call_id: s for s in load_scripts(SAMPLES_DIR)}
STEREO = sorted(k for k, s in SCRIPTS.items() if not s.mono)
ONSET_TOL, OFFSET_TOL = 0.15, 0.25  # quiet word endings sink into the line noise


def test_the_committed_scripts_cover_the_brief():
    assert len(SCRIPTS) >= 8
    directions = [s.meta.direction for s in SCRIPTS.values()]
    assert directions.count("inbound") >= 4 and directions.count("outbound") >= 3
    assert sum(s.mono for s in SCRIPTS.values()) == 1
    items = {k: s.expect.get("items", {}) for k, s in SCRIPTS.items()}
    assert any(i.get("recording-disclosure") == "fail" for i in items.values())
    assert any(i.get("opt-out-offer") == "fail" for i in items.values())
    assert any(i.get("caller-identification") == "fail" for i in items.values())
    assert any(i.get("opt-out-offer") == "pass" and not SCRIPTS[k].mono for k, i in items.items())
    assert any(s.expect.get("sentiment_trajectory") == "improving" for s in SCRIPTS.values())
    for s in SCRIPTS.values():
        assert isinstance(s.expect.get("auto_failed"), bool), s.call_id
        assert set(items[s.call_id].values()) <= {"pass", "fail", "na", "review"}, s.call_id
        assert s.expect["auto_failed"] == (
            "fail"
            in {
                v
                for k, v in items[s.call_id].items()
                if k in ("recording-disclosure", "caller-identification", "opt-out-offer")
            }
        ), s.call_id


def test_the_card_call_reads_real_looking_numbers():
    secrets = SCRIPTS["inbound-card-payment"].expect["never_stored"]
    assert luhn_ok(secrets["card"]) and ssn_ok(secrets["ssn"])


@pytest.mark.parametrize("call_id", sorted(SCRIPTS))
def test_rendered_file_is_8k_telephone_audio_of_30_to_120_s(samples, call_id):
    call, wav = samples[call_id]
    info = sf.info(str(wav))
    assert info.samplerate == 8000
    assert info.channels == (1 if call.script.mono else 2)
    assert info.subtype == ("ULAW" if call.script.encoding == "ulaw" else "PCM_16")
    longest_hold = max((h.end - h.start for h in call.holds), default=0)
    assert 30 <= info.duration - longest_hold <= 120
    # band-limited: almost no energy above the 3.4 kHz telephone band
    x = call.audio.samples.astype(float).reshape(len(call.audio.samples), -1)[:, 0]
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / 8000)
    assert spectrum[freqs > 3600].sum() / spectrum.sum() < 0.02


@pytest.mark.parametrize("call_id", STEREO)
def test_each_channel_carries_only_its_speaker_at_the_scripted_times(samples, call_id):
    call, wav = samples[call_id]
    found = activity_from_audio(load_call(wav))
    for role, scripted in call.activity().items():
        regions = found[role]
        for start, end in scripted:
            assert min(abs(a - start) for a, _ in regions) <= ONSET_TOL, (role, start)
            assert min(abs(b - end) for _, b in regions) <= OFFSET_TOL, (role, end)
        for a, b in regions:  # nothing heard outside the lines (no cross-talk, no noise bursts)
            assert any(s - ONSET_TOL <= a and b <= e + ONSET_TOL for s, e in scripted), (role, a, b)


@pytest.mark.parametrize("call_id", STEREO)
def test_overtalk_and_dead_air_are_measured_as_scripted(samples, call_id):
    call, wav = samples[call_id]
    measured = metrics_from_audio(load_call(wav))
    scripted = conversation_metrics(call.activity(), call.audio.duration_s)
    assert [o.interrupter for o in measured.overtalk] == [o.interrupter for o in scripted.overtalk]
    for m, s in zip(measured.overtalk, scripted.overtalk, strict=True):
        assert abs(m.start - s.start) <= ONSET_TOL and abs(m.end - s.end) <= OFFSET_TOL
    assert len(measured.dead_air) == len(scripted.dead_air)
    # VAD talk time leaves out the pauses between sentences that the script's turns include
    for role, seconds in scripted.talk_s.items():
        assert 0.8 * seconds <= measured.talk_s[role] <= seconds + 0.5, role


def test_the_angry_customer_interrupts_twice_and_waits_through_dead_air(samples):
    call, wav = samples["inbound-angry-calms"]
    m = metrics_from_audio(load_call(wav))
    expected = call.script.expect["metrics"]
    assert m.interruptions_by("customer") == expected["interruptions_by_customer"] == 2
    assert m.interruptions_by("agent") == expected["interruptions_by_agent"] == 0
    assert len(m.dead_air) == 1
    assert abs(m.dead_air[0].duration - expected["dead_air_longest_s"]) <= 0.5
    assert m.holds == []


@pytest.mark.parametrize("call_id", ["outbound-sales-no-optout", "outbound-sales-no-id"])
def test_the_pushy_agent_interrupts_the_customer(samples, call_id):
    call, wav = samples[call_id]
    m = metrics_from_audio(load_call(wav))
    assert m.interruptions_by("agent") == call.script.expect["metrics"]["interruptions_by_agent"] == 1


def test_the_music_hold_is_one_hold_not_two_minutes_of_agent_speech(samples):
    call, wav = samples["inbound-support-hold"]
    ingested = load_call(wav)
    (hold,) = call.holds
    (music,) = music_from_audio(ingested)
    assert abs(music[0] - hold.start) <= 0.2 and abs(music[1] - hold.end) <= 0.2
    m = metrics_from_audio(ingested)
    assert (
        len(m.holds) == 1 and abs(m.holds[0].duration - call.script.expect["metrics"]["hold_total_s"]) <= 1.0
    )
    assert m.dead_air == []  # the hold is not also dead air
    assert m.talk_s["agent"] < 60  # the music is not counted as the agent talking
    assert m.silence_longest_s < 2


def test_a_silent_hold_is_a_hold_too(synth, tmp_path):
    script = tmp_path / "silent-hold.yaml"
    script.write_text(
        "call_id: silent-hold\nmeta: {direction: inbound}\nturns:\n"
        "  - agent: Let me put you on hold for a moment.\n"
        "  - customer: Okay.\n"
        "  - hold: 125\n"
        "  - agent: Thanks for waiting.\n"
    )
    call = render(load_script(script), synth)
    m = metrics_from_audio(load_call(write_call(call, tmp_path)))
    assert len(m.holds) == 1 and 125 <= m.holds[0].duration <= 127
    assert m.silence_longest_s >= 125 and m.dead_air == []
    assert music_from_audio(load_call(tmp_path / "silent-hold.wav")) == []


@pytest.mark.parametrize("call_id", sorted(SCRIPTS))
def test_sidecar_metadata_round_trips_through_ingest(samples, call_id):
    call, wav = samples[call_id]
    meta = resolve_meta(wav)
    assert meta == call.script.meta
    ingested = load_call(wav, meta)
    if call.script.mono:
        assert ingested.roles == ("unknown",) and ingested.diarization == "none"
    else:
        assert ingested.roles == call.script.channels and ingested.diarization == "channels"


def test_rendering_is_deterministic(samples, synth, tmp_path):
    call, wav = samples["outbound-sales-no-id"]
    again = write_call(render(call.script, synth), tmp_path)
    assert hashlib.sha256(again.read_bytes()).digest() == hashlib.sha256(wav.read_bytes()).digest()


def test_reference_transcript_is_importable(samples, tmp_path):
    call, _ = samples["inbound-card-payment"]
    write_call(call, tmp_path / "audio", transcripts_dir=tmp_path / "text")
    t = read_transcript(tmp_path / "text" / "inbound-card-payment.json")
    assert t.source == "transcript" and t.call_id == "inbound-card-payment"
    assert [(u.speaker, u.text) for u in t.utterances] == [(p.speaker, p.text) for p in call.turns]
    assert resolve_meta(tmp_path / "text" / "inbound-card-payment.json").direction == "inbound"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("turns: [{agent: hi}]\nbogus: 1\n", "unknown key 'bogus'"),
        (
            "turns:\n  - agent: hi\n  - agent: again\n    overlap: 0.5\n",
            "turns[1]: overlap needs another speaker's line",
        ),
        (
            "turns:\n  - agent: hi\n    pause: 1\n    overlap: 1\n",
            "turns[0]: give pause or overlap, not both",
        ),
        ("turns:\n  - agent: ''\n", "turns[0].agent: the line's text is empty"),
        ("turns:\n  - manager: hi\n", "turns[0]: name exactly one speaker"),
        ("turns:\n  - hold: -3\n", "turns[0].hold: must be a number of seconds > 0"),
        (
            "meta: {direction: sideways}\nturns: [{agent: hi}]\n",
            "meta: direction must be inbound or outbound",
        ),
        ("turns:\n  - agent: hi\n   customer: x\n  - agent: bye\n", ":3: invalid YAML"),
    ],
)
def test_script_mistakes_name_the_file_and_turn(tmp_path, body, message):
    path = tmp_path / "bad.yaml"
    path.write_text(body)
    with pytest.raises(DataError) as err:
        load_script(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_an_overlap_longer_than_the_line_it_talks_over_is_refused(synth, tmp_path):
    path = tmp_path / "long-overlap.yaml"
    path.write_text("turns:\n  - agent: Hi.\n  - customer: Hello there, how are you?\n    overlap: 5\n")
    with pytest.raises(DataError, match=r"turns\[1\]: overlap 5.0 s is longer than the line"):
        render(load_script(path), synth)
