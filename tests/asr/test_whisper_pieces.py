"""Whole-call Whisper decoding one speech piece at a time (the QA option beside the glued decode)."""

from __future__ import annotations

import pytest

from callwright.speech.asr.base import TranscribeOptions
from callwright.speech.asr.whisper_pieces import PieceSettings, plan_pieces
from callwright.speech.audio import concat, silence


def test_regions_close_together_are_one_piece_and_far_apart_are_two() -> None:
    s = PieceSettings(pad_s=0.2, merge_gap_s=0.6)
    assert plan_pieces([(1.0, 2.0), (2.5, 3.0)], 60.0, s) == [(0.8, 3.2)]
    assert plan_pieces([(1.0, 2.0), (5.0, 6.0)], 60.0, s) == [(0.8, 2.2), (4.8, 6.2)]


def test_padding_stays_inside_the_recording() -> None:
    assert plan_pieces([(0.05, 1.0), (9.0, 9.95)], 10.0) == [(0.0, 1.2), (8.8, 10.0)]


def test_a_merge_never_grows_a_piece_past_the_limit() -> None:
    s = PieceSettings(pad_s=0.0, merge_gap_s=1.0, max_piece_s=10.0)
    regions = [(float(i), i + 0.8) for i in range(0, 30)]  # 30 s of speech with 0.2 s pauses
    pieces = plan_pieces(regions, 40.0, s)
    assert all(b - a <= 10.0 for a, b in pieces)
    assert pieces[0][0] == 0.0 and pieces[-1][1] == pytest.approx(29.8)
    assert all(p[1] <= q[0] for p, q in zip(pieces, pieces[1:], strict=False))


def test_one_region_longer_than_whispers_window_is_cut_into_parts() -> None:
    pieces = plan_pieces([(0.0, 60.0)], 60.0, PieceSettings(pad_s=0.0))
    assert len(pieces) == 3 and all(b - a <= 25.0 for a, b in pieces)
    assert pieces[0][0] == 0.0 and pieces[-1][1] == 60.0


def test_two_lines_decoded_as_pieces_land_at_their_times_in_the_call(whisper, speak) -> None:
    line = speak("Thank you for calling. How can I help you today?", "en-us", rate=8000)
    gap = 3.0
    audio = concat([silence(1.0, 8000), line, silence(gap, 8000), line])
    second_at = 1.0 + line.duration_s + gap
    speech = [(1.0, 1.0 + line.duration_s), (second_at, second_at + line.duration_s)]
    segments = whisper.transcribe(audio, TranscribeOptions.of(speech=speech), pieces=PieceSettings())
    assert len(segments) == 2
    assert all("help" in s.text.lower() for s in segments)
    assert 0.9 <= segments[0].start < 2.0 and segments[0].end <= second_at
    assert second_at - 0.25 <= segments[1].start < second_at + 1.0
    assert segments[1].end <= audio.duration_s + 0.01


def test_silence_given_as_speech_gives_nothing(whisper) -> None:
    options = TranscribeOptions.of(speech=[(2.0, 8.0)])
    assert whisper.transcribe(silence(12.0, 8000), options, pieces=PieceSettings()) == []


def test_faster_whisper_options_do_not_silently_apply_to_pieces(whisper) -> None:
    options = TranscribeOptions.of(speech=[(0.5, 1.5)])
    with pytest.raises(TypeError, match="beam_size"):
        whisper.transcribe(silence(2.0, 8000), options, pieces=PieceSettings(), overrides={"beam_size": 2})


def test_pieces_need_speech_regions(whisper) -> None:
    with pytest.raises(ValueError, match="speech regions"):
        whisper.transcribe(silence(2.0, 8000), pieces=PieceSettings())
