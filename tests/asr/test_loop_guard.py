"""The loop guard of short encoder windows: loops seen from tiny.en are flagged, real answers not."""

from __future__ import annotations

import pytest

from callwright.speech.asr.loop_guard import MAX_RUN, longest_run, repetition_loop


@pytest.mark.parametrize(
    ("text", "audio_s"),
    [
        ("English. English. English. English. English. English. English", 1.2),
        ("Four. Four. Four. Four. Four. Four. Four.", 1.2),
        ("Billing. Billing. Billing. Billing", 1.5),
        ("Four. One. One. One. Four. One. One. Four. One. Four", 2.0),  # too many words for 2 s
    ],
)
def test_loops_seen_from_short_windows_are_flagged(text, audio_s):
    assert repetition_loop(text, audio_s, budget_used=False)


@pytest.mark.parametrize(
    ("text", "audio_s"),
    [
        ("Four. One. One. One.", 2.0),  # "triple one" is an answer, not a loop
        ("four one four one", 2.0),
        ("Yes.", 1.0),
        ("billing", 1.0),
        ("I'd like to talk about my bill please", 2.5),
        ("", 1.0),
    ],
)
def test_real_answers_are_not_flagged(text, audio_s):
    assert not repetition_loop(text, audio_s, budget_used=False)


def test_a_decode_that_used_its_whole_budget_loops():
    assert repetition_loop("billing", 1.0, budget_used=True)


def test_longest_run():
    assert longest_run([]) == 0
    assert longest_run(["a", "a", "b"]) == 2
    assert longest_run(["one"] * MAX_RUN + ["two"]) == MAX_RUN
