"""Ingest: finding inputs, call metadata from sidecars, manifests and file names, splitting
recordings by speaker, bad files, and imported transcripts."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import soundfile as sf

from callwright.errors import AudioError, CallwrightError, DataError
from callwright.qa.ingest import (
    Manifest,
    discover,
    fields_from_name,
    load_call,
    read_transcript,
    recording_id,
    resolve_meta,
)
from callwright.qa.model import CallMeta
from callwright.speech.audio import Audio, write_wav
from callwright.speech.vad import speech_regions


@pytest.fixture(scope="module")
def hello_8k(synth) -> Audio:
    """A real spoken phrase on a telephone channel."""
    from callwright.speech.audio import trim_silence
    from callwright.speech.degrade import telephone

    raw = synth.synthesize("Hello, thank you for calling.", voice="en-us", sample_rate=16000)
    return trim_silence(telephone(raw, mulaw=False))


def stereo(left: np.ndarray, right: np.ndarray, rate: int = 8000) -> Audio:
    n = max(len(left), len(right))
    out = np.zeros((n, 2), dtype=np.int16)
    out[: len(left), 0], out[: len(right), 1] = left, right
    return Audio(out, rate)


def speech_then_quiet(hello: Audio) -> tuple[np.ndarray, np.ndarray]:
    """One side speaks at 0.5 s; the other only later, at 4 s, so channels are told apart by timing."""
    a = np.concatenate([np.zeros(4000, np.int16), hello.samples, np.zeros(24000, np.int16)])
    b = np.concatenate([np.zeros(32000, np.int16), hello.samples])
    return a, b


# -- discover ---------------------------------------------------------------------------------------


def test_discover_finds_recordings_and_transcripts_but_not_sidecars(tmp_path, hello_8k):
    write_wav(tmp_path / "a.wav", hello_8k)
    (tmp_path / "a.json").write_text('{"direction": "inbound"}')
    (tmp_path / "sub").mkdir()
    write_wav(tmp_path / "sub" / "b.WAV", hello_8k)
    (tmp_path / "sub" / "t.json").write_text("[]")
    (tmp_path / "notes.txt").write_text("not a call")
    (tmp_path / ".hidden.wav").write_bytes(b"x")
    (tmp_path / "manifest.json").write_text("[]")
    found = discover([tmp_path], exclude=[tmp_path / "manifest.json"])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["a.wav", "sub/b.WAV", "sub/t.json"]
    assert discover([tmp_path / "a.wav", tmp_path])[0] == tmp_path / "a.wav"  # no duplicates
    assert len(discover([tmp_path / "a.wav", tmp_path], exclude=[tmp_path / "manifest.json"])) == 3


def test_discover_refuses_missing_paths_and_unreadable_kinds(tmp_path):
    with pytest.raises(DataError, match="no such file or folder"):
        discover([tmp_path / "nope"])
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="not a recording or transcript"):
        discover([tmp_path / "notes.txt"])


def test_recording_id_is_the_content_hash(tmp_path, hello_8k):
    a = write_wav(tmp_path / "a.wav", hello_8k)
    b = tmp_path / "renamed.wav"
    b.write_bytes(a.read_bytes())
    assert recording_id(a) == recording_id(b) == hashlib.sha256(a.read_bytes()).hexdigest()
    write_wav(tmp_path / "c.wav", Audio(hello_8k.samples[:-1], 8000))
    assert recording_id(tmp_path / "c.wav") != recording_id(a)


# -- metadata -----------------------------------------------------------------------------------------


def test_sidecar_gives_metadata_and_channel_override(tmp_path, hello_8k):
    wav = write_wav(tmp_path / "rec1.wav", hello_8k)
    (tmp_path / "rec1.json").write_text(
        json.dumps(
            {
                "call_id": "C-9",
                "direction": "Outbound",
                "agent": "ann",
                "team": "sales",
                "customer": "+15555550100",
                "queue": "q1",
                "campaign": "spring",
                "started_at": "2024-05-02T09:15:00Z",
                "disposition": "sale",
                "channels": ["customer", "agent"],
            }
        )
    )
    assert resolve_meta(wav) == CallMeta(
        call_id="C-9",
        direction="outbound",
        agent="ann",
        team="sales",
        customer="+15555550100",
        queue="q1",
        campaign="spring",
        started_at="2024-05-02T09:15:00Z",
        disposition="sale",
        channel_roles=("customer", "agent"),
    )


def test_without_metadata_the_call_id_is_the_file_stem(tmp_path, hello_8k):
    wav = write_wav(tmp_path / "20240502-0915.wav", hello_8k)
    meta = resolve_meta(wav, default_roles=("customer", "ivr"))
    assert meta.call_id == "20240502-0915" and meta.channel_roles == ("customer", "ivr")


@pytest.mark.parametrize(
    ("sidecar", "message"),
    [
        ('{"direction": "sideways"}', "rec.json: direction must be inbound or outbound, not 'sideways'"),
        ('{"dirction": "inbound"}', "rec.json: unknown field 'dirction'"),
        ('{"started_at": "yesterday"}', "rec.json: started_at: 'yesterday' is not an ISO 8601 time"),
        ('{"channels": ["agent", "boss"]}', "rec.json: channels[1]: unknown role 'boss'"),
        ('{"agent": ["a", "b"]}', "rec.json: agent must be text"),
        ('{"direction": "inbound",\n "agent": }', "rec.json:2:11: invalid JSON"),
        ("[1, 2]", "rec.json: a sidecar must be a JSON object"),
    ],
)
def test_bad_sidecars_name_the_file_and_field(tmp_path, hello_8k, sidecar, message):
    wav = write_wav(tmp_path / "rec.wav", hello_8k)
    (tmp_path / "rec.json").write_text(sidecar)
    with pytest.raises(DataError) as err:
        resolve_meta(wav)
    assert message in str(err.value)


def test_csv_manifest_by_file_name_and_by_call_id(tmp_path, hello_8k):
    (tmp_path / "calls").mkdir()
    a = write_wav(tmp_path / "calls" / "a.wav", hello_8k)
    b = write_wav(tmp_path / "calls" / "CALL-2.wav", hello_8k)
    c = write_wav(tmp_path / "calls" / "c.wav", hello_8k)
    (tmp_path / "m.csv").write_text(
        "file,call_id,direction,agent,channels\n"
        "calls/a.wav,CALL-1,inbound,ann,customer;agent\n"
        ",CALL-2,outbound,bob,\n"
    )
    m = Manifest.load(tmp_path / "m.csv")
    ma, mb = resolve_meta(a, manifest=m), resolve_meta(b, manifest=m)
    assert (ma.call_id, ma.direction, ma.agent, ma.channel_roles) == (
        "CALL-1",
        "inbound",
        "ann",
        ("customer", "agent"),
    )
    assert (mb.call_id, mb.direction, mb.agent, mb.channel_roles) == (
        "CALL-2",
        "outbound",
        "bob",
        ("agent", "customer"),
    )
    assert resolve_meta(c, manifest=m) == CallMeta(call_id="c")


def test_json_manifest_as_list_or_keyed_by_file(tmp_path, hello_8k):
    wav = write_wav(tmp_path / "x.wav", hello_8k)
    (tmp_path / "list.json").write_text('{"calls": [{"file": "x.wav", "queue": "billing"}]}')
    (tmp_path / "keyed.json").write_text('{"x.wav": {"queue": "support", "team": "t2"}}')
    assert resolve_meta(wav, manifest=Manifest.load(tmp_path / "list.json")).queue == "billing"
    keyed = resolve_meta(wav, manifest=Manifest.load(tmp_path / "keyed.json"))
    assert (keyed.queue, keyed.team, keyed.call_id) == ("support", "t2", "x")


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        (
            "m.csv",
            "file,direction\na.wav,inbound\nb.wav,upward\n",
            "m.csv:3: direction must be inbound or outbound",
        ),
        ("m.csv", "file,agnet\na.wav,ann\n", "m.csv:2: unknown field 'agnet'"),
        ("m.csv", "file,agent\na.wav,ann,extra\n", "m.csv:2: more cells than header columns"),
        ("m.csv", "file,agent\na.wav,ann\na.wav,bob\n", "m.csv:3: duplicate file a.wav (first at"),
        ("m.csv", "agent,team\nann,t1\n", "m.csv:2: a manifest row needs a file or a call_id"),
        ("m.csv", "", "empty manifest"),
        (
            "m.json",
            '[{"file": "a.wav"}, {"file": "b.wav", "started_at": "soon"}]',
            "calls[1]: started_at: 'soon' is not an ISO 8601",
        ),
        ("m.json", '[{"file": "a.wav"}, "b.wav"]', "calls[1]: each call must be a JSON object"),
        ("m.json", '"a.wav"', "a JSON manifest must be a list"),
        ("m.txt", "file\n", "a manifest must be .csv or .json"),
    ],
)
def test_bad_manifest_rows_name_the_file_and_line(tmp_path, name, body, message):
    (tmp_path / name).write_text(body)
    with pytest.raises(DataError) as err:
        Manifest.load(tmp_path / name)
    assert message in str(err.value)


def test_file_name_pattern(tmp_path):
    pattern = r"(?P<agent>[a-z]+)_(?P<direction>inbound|outbound)_(?P<call_id>\w+)\.wav"
    assert fields_from_name(tmp_path / "ann_outbound_C42.wav", pattern) == {
        "agent": "ann",
        "direction": "outbound",
        "call_id": "C42",
    }
    with pytest.raises(DataError, match="does not match the pattern"):
        fields_from_name(tmp_path / "ann-C42.wav", pattern)
    with pytest.raises(DataError, match="unknown group"):
        fields_from_name(tmp_path / "ann.wav", r"(?P<operator>\w+)\.wav")
    with pytest.raises(DataError, match="file-name pattern"):
        fields_from_name(tmp_path / "ann.wav", r"(?P<agent>\w+")


def test_sidecar_beats_manifest_beats_file_name(tmp_path, hello_8k):
    wav = write_wav(tmp_path / "ann_C7.wav", hello_8k)
    (tmp_path / "m.csv").write_text("file,agent,team,queue\nann_C7.wav,bob,t-manifest,q-manifest\n")
    (tmp_path / "ann_C7.json").write_text('{"queue": "q-sidecar"}')
    meta = resolve_meta(
        wav, manifest=Manifest.load(tmp_path / "m.csv"), pattern=r"(?P<agent>[a-z]+)_(?P<call_id>\w+)\.wav"
    )
    assert (meta.call_id, meta.agent, meta.team, meta.queue) == ("C7", "bob", "t-manifest", "q-sidecar")


# -- recordings ----------------------------------------------------------------------------------------


def test_stereo_is_split_by_the_channel_map_and_a_per_file_override_swaps_it(tmp_path, hello_8k):
    first, later = speech_then_quiet(hello_8k)
    wav = write_wav(tmp_path / "call.wav", stereo(first, later))
    call = load_call(wav)
    assert call.roles == ("agent", "customer") and call.diarization == "channels"
    assert speech_regions(call.tracks["agent"])[0][0] == pytest.approx(0.5, abs=0.05)
    assert speech_regions(call.tracks["customer"])[0][0] == pytest.approx(4.0, abs=0.05)
    assert (call.rate, call.channels, call.duration_s) == (
        8000,
        2,
        pytest.approx(max(len(first), len(later)) / 8000),
    )
    assert call.recording_id == recording_id(wav)
    (tmp_path / "call.json").write_text('{"channels": ["customer", "agent"]}')
    swapped = load_call(wav, resolve_meta(wav))
    assert speech_regions(swapped.tracks["customer"])[0][0] == pytest.approx(0.5, abs=0.05)
    assert speech_regions(swapped.tracks["agent"])[0][0] == pytest.approx(4.0, abs=0.05)


def test_tracks_for_the_recogniser_are_16k_with_the_speech_in_place(tmp_path, hello_8k):
    first, later = speech_then_quiet(hello_8k)
    call = load_call(write_wav(tmp_path / "call.wav", stereo(first, later)))
    t16 = call.tracks_16k["customer"]
    assert t16.rate == 16000 and t16.duration_s == pytest.approx(call.duration_s, abs=0.01)
    assert speech_regions(t16)[0][0] == pytest.approx(4.0, abs=0.05)
    assert call.tracks_16k is call.tracks_16k  # resampled once


def test_mono_is_one_unknown_speaker(tmp_path, hello_8k):
    call = load_call(write_wav(tmp_path / "mono.wav", hello_8k))
    assert call.roles == ("unknown",) and call.diarization == "none"
    assert any("mono" in n for n in call.notes)
    one_role = load_call(tmp_path / "mono.wav", CallMeta("ivr-1", channel_roles=("ivr",)))
    assert one_role.roles == ("ivr",) and one_role.diarization == "channels"


def test_three_channels_need_a_three_role_map(tmp_path, hello_8k):
    n = hello_8k.n_samples
    three = Audio(np.stack([hello_8k.samples, np.zeros(n, np.int16), hello_8k.samples // 2], axis=1), 8000)
    wav = write_wav(tmp_path / "conf.wav", three)
    with pytest.raises(
        DataError, match=r"conf.wav: 3-channel recording but the channel map names 2 role"
    ) as err:
        load_call(wav)
    assert '"channels": ["agent", "customer", "ivr"]' in str(err.value)
    call = load_call(wav, channel_roles=("agent", "customer", "agent"))
    assert call.roles == ("agent", "customer")  # the two agent legs are mixed
    mixed = hello_8k.samples.astype(np.int32) + hello_8k.samples // 2
    assert np.array_equal(call.tracks["agent"].samples, np.clip(mixed, -32768, 32767).astype(np.int16))
    assert any("customer channel is digital silence" in n for n in call.notes)


def test_8_bit_and_odd_rate_files_are_processed(tmp_path, hello_8k):
    first, later = speech_then_quiet(hello_8k)
    audio = stereo(first, later)
    sf.write(tmp_path / "u8.wav", audio.samples, 8000, subtype="PCM_U8")
    call = load_call(tmp_path / "u8.wav")
    assert speech_regions(call.tracks["customer"])[0][0] == pytest.approx(4.0, abs=0.05)
    from callwright.speech.audio import resample

    odd = resample(audio, 11025)
    call = load_call(write_wav(tmp_path / "odd.wav", odd))
    assert call.rate == 11025 and call.tracks_16k["agent"].rate == 16000
    assert speech_regions(call.tracks_16k["agent"])[0][0] == pytest.approx(0.5, abs=0.05)


def test_mu_law_and_flac_are_read(tmp_path, hello_8k):
    first, later = speech_then_quiet(hello_8k)
    audio = stereo(first, later)
    write_wav(tmp_path / "ulaw.wav", audio, "ulaw")
    sf.write(tmp_path / "c.flac", audio.samples, 8000)
    for name in ("ulaw.wav", "c.flac"):
        call = load_call(tmp_path / name)
        assert speech_regions(call.tracks["customer"])[0][0] == pytest.approx(4.0, abs=0.05)


def test_bad_files_are_rejected_with_a_reason(tmp_path, hello_8k):
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "text.wav").write_text("this is not audio at all, just some text" * 10)
    good = write_wav(tmp_path / "good.wav", hello_8k).read_bytes()
    (tmp_path / "cut.wav").write_bytes(good[: len(good) // 2])
    sf.write(tmp_path / "zero.wav", np.zeros((0, 2), np.int16), 8000)
    sf.write(tmp_path / "low.wav", np.zeros(4000, np.int16), 4000)
    expected = {
        "empty.wav": "empty file",
        "text.wav": "not a readable audio file",
        "cut.wav": "truncated WAV",
        "zero.wav": "no audio samples",
        "low.wav": "below telephone rate",
    }
    for name, reason in expected.items():
        with pytest.raises(AudioError) as err:
            load_call(tmp_path / name)
        assert name in str(err.value) and reason in str(err.value)


def test_an_hour_long_call_is_processed_and_a_limit_rejects_it_clearly(tmp_path):
    rate, seconds = 8000, 3600
    noise = (np.random.default_rng(0).normal(0, 30, (rate * 60, 2))).astype(np.int16)
    with sf.SoundFile(tmp_path / "hour.wav", "w", rate, 2, "PCM_16") as fh:
        for _ in range(seconds // 60):
            fh.write(noise)
    call = load_call(tmp_path / "hour.wav")
    assert call.duration_s == pytest.approx(3600) and call.roles == ("agent", "customer")
    with pytest.raises(AudioError, match="3600 s long, over the 600 s limit"):
        load_call(tmp_path / "hour.wav", max_duration_s=600)


# -- imported transcripts ----------------------------------------------------------------------------


def test_transcript_segments_import(tmp_path):
    path = tmp_path / "t1.json"
    path.write_text(
        json.dumps(
            [
                {
                    "speaker": "customer",
                    "start": 3.0,
                    "end": 4.5,
                    "text": "hi there",
                    "words": [
                        {"word": "hi", "start": 3.0, "end": 3.4, "probability": 0.9},
                        {"word": "there", "start": 3.5, "end": 4.5},
                    ],
                },
                {"speaker": "Agent", "start": 0.2, "end": 2.5, "text": " thanks for calling "},
            ]
        )
    )
    t = read_transcript(path)
    assert (t.call_id, t.source, t.diarization, t.duration_s) == ("t1", "transcript", "channels", 4.5)
    assert [(u.speaker, u.text) for u in t.utterances] == [
        ("agent", "thanks for calling"),
        ("customer", "hi there"),
    ]
    assert [(w.word, w.confidence) for w in t.utterances[1].words] == [("hi", 0.9), ("there", 1.0)]


def test_transcript_object_with_metadata_and_speaker_labels(tmp_path):
    path = tmp_path / "export-17.json"
    path.write_text(
        json.dumps(
            {
                "call_id": "C-17",
                "direction": "inbound",
                "agent": "ann",
                "duration_s": 30,
                "speakers": {"SPEAKER_00": "agent", "SPEAKER_01": "caller"},
                "segments": [
                    {"speaker": "SPEAKER_00", "start": 0, "end": 2, "text": "hello"},
                    {"speaker": "SPEAKER_01", "start": 2.5, "end": 3, "text": "hi"},
                ],
            }
        )
    )
    assert discover([tmp_path]) == [path]
    meta = resolve_meta(path)
    t = read_transcript(path, meta)
    assert (meta.call_id, meta.direction, meta.agent) == ("C-17", "inbound", "ann")
    assert t.call_id == "C-17" and t.duration_s == 30
    assert [u.speaker for u in t.utterances] == ["agent", "customer"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '[{"speaker": "agent", "start": 0, "end": 1, "text": "a"}, {"speaker": "agent", "start": 2, "end": 1, "text": "b"}]',
            "segments[1]: end 1.0 is before start 2.0",
        ),
        ('[{"start": 0, "end": 1, "text": "a"}]', "segments[0].speaker: missing"),
        (
            '[{"speaker": "boss", "start": 0, "end": 1, "text": "a"}]',
            "segments[0].speaker: unknown role 'boss'",
        ),
        (
            '[{"speaker": "agent", "start": "0:01", "end": 1, "text": "a"}]',
            "segments[0].start: must be a number of seconds",
        ),
        ('[{"speaker": "agent", "start": 0, "end": 1, "text": 5}]', "segments[0].text: must be text"),
        (
            '[{"speaker": "agent", "start": 0, "end": 1, "text": "a", "sentiment": 1}]',
            "segments[0]: unknown field 'sentiment'",
        ),
        (
            '[{"speaker": "agent", "start": 0, "end": 1, "text": "a", "words": [{"word": "a", "start": 0}]}]',
            "segments[0].words[0].end: must be a number of seconds",
        ),
        ('{"call_id": "x"}', "not a transcript"),
        ('{"segments": [], "duration_s": -1}', "duration_s must be a number of seconds"),
        ('{"segments": [], "duration_s": 30}', "t.json: no segment has any text: nothing to score"),
        ('[{"speaker": "agent", "start": 0, "end": 1, "text": "  "}]', "no segment has any text"),
        ('[\n{"speaker": "agent",\n "start": 0,,}]', "t.json:3:13: invalid JSON"),
    ],
)
def test_bad_transcripts_say_where(tmp_path, body, message):
    (tmp_path / "t.json").write_text(body)
    with pytest.raises(DataError) as err:
        read_transcript(tmp_path / "t.json")
    assert message in str(err.value)


def test_every_ingest_mistake_is_a_callwright_error(tmp_path):
    """The CLI prints these without a traceback; nothing else may escape for bad input."""
    (tmp_path / "a.wav").write_bytes(b"RIFF\x00\x00")
    (tmp_path / "b.json").write_bytes(b"\xff\xfe\x00garbage")
    for call in (lambda: load_call(tmp_path / "a.wav"), lambda: read_transcript(tmp_path / "b.json")):
        with pytest.raises(CallwrightError):
            call()
