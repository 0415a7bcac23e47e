"""Conversation metrics on hand-made voice-activity timelines (exact numbers), and hold-music
detection on generated audio."""

from __future__ import annotations

import numpy as np
import pytest

from callwright.qa.metrics import (
    activity_from_transcript,
    conversation_metrics,
    merge,
    music_regions,
    overtalk,
    subtract,
)
from callwright.qa.model import Overtalk, Silence, Transcript, Utterance, Word
from callwright.qa.samples import hold_music
from callwright.speech.audio import Audio

# agent talks 0-10, customer 12-20 (agent back-channels 15-15.5), 35 s dead air,
# a 130 s hold with music for its middle 100 s, then both talk over each other.
TIMELINE = {
    "agent": [(0.0, 10.0), (15.0, 15.5), (20.5, 25.0), (165.0, 175.0)],
    "customer": [(12.0, 20.0), (174.0, 180.0)],
}
MUSIC = [(50.0, 150.0)]


def test_talk_silence_dead_air_hold_and_overtalk_on_a_known_timeline():
    m = conversation_metrics(TIMELINE, 181.0, music=MUSIC)
    assert m.handle_time_s == 181.0
    assert m.talk_s == {"agent": 25.0, "customer": 14.0}
    assert m.talk_listen_ratio == pytest.approx(25 / 14, abs=1e-3)
    # nobody speaking: 10-12, 20-20.5, 25-165 (of which 50-150 is music), 180-181
    assert m.holds == [Silence(25.0, 165.0)]
    assert m.silence_total_s == 2.0 + 0.5 + (140.0 - 100.0) + 1.0
    assert m.silence_longest_s == 25.0  # 25-50; the music splits the hold's silence in two
    assert m.dead_air == []  # the only long silences are inside the hold
    assert m.overtalk == [Overtalk(15.0, 15.5, "agent"), Overtalk(174.0, 175.0, "customer")]
    assert m.overtalk_total_s == 1.5
    assert (m.interruptions_by("agent"), m.interruptions_by("customer")) == (1, 1)


def test_dead_air_is_a_silence_over_the_threshold_outside_holds():
    activity = {"agent": [(0, 5), (17, 20), (31, 40)], "customer": [(5.5, 6)]}
    m = conversation_metrics(activity, 40, dead_air_s=10)
    assert m.dead_air == [Silence(6.0, 17.0), Silence(20.0, 31.0)]
    assert m.holds == [] and m.silence_longest_s == 11.0
    assert conversation_metrics(activity, 40, dead_air_s=12).dead_air == []
    held = conversation_metrics(activity, 40, dead_air_s=10, hold_s=11)
    assert held.holds == [Silence(6.0, 17.0), Silence(20.0, 31.0)] and held.dead_air == []


def test_a_silent_hold_counts_from_the_last_word_to_the_next():
    m = conversation_metrics({"agent": [(0, 10), (135, 140)], "customer": [(10.5, 12)]}, 140)
    assert m.holds == [Silence(12.0, 135.0)]
    assert m.silence_total_s == 0.5 + 123.0 and m.silence_longest_s == 123.0


def test_the_interrupter_is_whoever_started_their_turn_second():
    # the customer starts while the agent pauses for breath inside one turn: still the interrupter
    activity = {"agent": [(0.0, 4.0), (4.4, 9.0)], "customer": [(4.2, 6.0), (6.5, 8.0)]}
    assert overtalk(activity) == [Overtalk(4.4, 8.0, "customer")]  # one interruption, not two
    # the agent talks over a customer who had the floor
    assert overtalk({"customer": [(0, 5)], "agent": [(4.0, 8.0)]}) == [Overtalk(4.0, 5.0, "agent")]


def test_short_overlaps_are_turn_taking_not_overtalk():
    activity = {"agent": [(0.0, 5.1)], "customer": [(4.9, 8.0)]}
    assert overtalk(activity) == []
    assert overtalk(activity, min_s=0.1) == [Overtalk(4.9, 5.1, "customer")]


def test_overtalk_between_three_parties():
    activity = {"agent": [(0, 10)], "customer": [(5, 12)], "ivr": [(9, 11)]}
    assert overtalk(activity) == [
        Overtalk(5.0, 10.0, "customer"),
        Overtalk(9.0, 10.0, "ivr"),
        Overtalk(9.0, 11.0, "ivr"),
    ]


def test_speech_rate_from_transcript_words_over_talk_time():
    t = Transcript(
        "c",
        60,
        [
            Utterance(
                "agent", 0, 30, "one two three", [Word("one", 0, 1), Word("two", 1, 2), Word("three", 2, 3)]
            ),
            Utterance("agent", 30, 60, " ".join(["word"] * 47)),
            Utterance("customer", 40, 50, "hello"),
        ],
    )
    m = conversation_metrics({"agent": [(0, 20)], "customer": [(40, 50)], "ivr": []}, 60, t)
    assert m.speech_rate_wpm == {"agent": 150.0, "customer": 6.0}
    assert m.talk_s["ivr"] == 0.0


def test_ratio_needs_both_sides_and_mono_has_no_overtalk():
    m = conversation_metrics({"unknown": [(0, 10), (5, 20)]}, 30)
    assert m.talk_s == {"unknown": 20.0} and m.talk_listen_ratio is None and m.overtalk == []
    assert conversation_metrics({"agent": [(0, 5)], "customer": []}, 5).talk_listen_ratio is None


def test_activity_outside_the_call_is_clipped_and_an_empty_call_is_all_silence():
    m = conversation_metrics({"agent": [(-1, 2), (9, 12)]}, 10)
    assert m.talk_s == {"agent": 3.0} and m.silence_total_s == 7.0
    empty = conversation_metrics({}, 15, dead_air_s=10)
    assert empty.silence_total_s == 15.0 and empty.dead_air == [Silence(0.0, 15.0)]
    assert conversation_metrics({}, 0).silence_total_s == 0.0


def test_interval_helpers():
    assert merge([(5, 6), (0, 2), (1, 3), (3, 4)]) == [(0.0, 4.0), (5.0, 6.0)]
    assert merge([(0, 1), (1.5, 2)], gap=0.5) == [(0.0, 2.0)]
    assert subtract([(0, 10), (12, 14)], [(2, 3), (9, 13)]) == [(0.0, 2.0), (3.0, 9.0), (13.0, 14.0)]


def test_activity_from_an_imported_transcript_prefers_word_times():
    t = Transcript(
        "c",
        20,
        [
            Utterance("agent", 0, 6, "hello there", [Word("hello", 0.5, 1.0), Word("there", 1.1, 1.6)]),
            Utterance("agent", 8, 9, "ok"),
            Utterance("customer", 10, 12, "hi"),
        ],
    )
    assert activity_from_transcript(t) == {"agent": [(0.5, 1.6), (8.0, 9.0)], "customer": [(10.0, 12.0)]}


def test_music_is_found_in_noise_and_speech_is_not_music(synth):
    from callwright.speech.degrade import add_noise, telephone

    rng = np.random.default_rng(1)
    music = hold_music(30.0, seed=3)
    x = np.concatenate([np.zeros(8000 * 5), music, np.zeros(8000 * 5)])
    x += rng.normal(0, 30, len(x))
    found = music_regions(Audio(np.round(x).astype(np.int16), 8000))
    assert len(found) == 1 and abs(found[0][0] - 5.0) <= 0.2 and abs(found[0][1] - 35.0) <= 0.2
    # a long monologue with no pause a talker would take between sentences is still not music
    speech = synth.synthesize(
        "Your contract ends next month, and I have a renewal offer for you, with twice the data "
        "for two pounds less each month on a twelve month plan, with no setup fee at all",
        voice="en-us",
        rate_wpm=190,
        sample_rate=16000,
    )
    line = add_noise(telephone(speech, mulaw=False), 25, seed=2)
    assert music_regions(line, min_s=3.0) == []


def test_real_voices_reading_digits_back_to_back_are_not_music(fsdd_dir):
    """Sustained vowels in slowly read digits are the hardest speech for the steady-pitch cue."""
    from callwright.speech.audio import read_audio, trim_silence

    speakers = sorted({p.stem.split("_")[1] for p in fsdd_dir.glob("*.wav")})
    assert len(speakers) >= 3
    for speaker in speakers:
        clips = sorted(fsdd_dir.glob(f"*_{speaker}_1*.wav"))[:30]
        x = np.concatenate([trim_silence(read_audio(p)).samples for p in clips])
        assert len(x) / 8000 >= 8.0
        assert music_regions(Audio(x, 8000), min_s=3.0) == [], speaker
