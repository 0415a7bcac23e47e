"""Conversation metrics from per-channel voice activity: talk, silence, dead air, hold, over-talk.

They are measured from when each side makes speech sounds, not from the
recogniser, so a bad transcript cannot hide a two-minute silence or a customer
talking over the agent. `conversation_metrics` is a pure function of the
activity timelines, which makes it exact to test; `activity_from_audio` and
`music_from_audio` produce those timelines from a recording.

Definitions (all times in seconds):
- talk time: the union of a speaker's speech regions.
- talk-to-listen ratio: agent talk / customer talk (None without both).
- silence: time when nobody speaks and no hold music plays.
- hold: a stretch with nobody speaking (silence, music or both) of at least
  `hold_s`; hold music is told apart from speech by `music_from_audio`.
- dead air: a silence of at least `dead_air_s` that is not part of a hold.
- over-talk: two speakers speaking at once, at least `min_overtalk_s` in all;
  the interrupter is the one whose turn started second (see `overtalk`).
- speech rate: transcript words per minute of that speaker's talk time.
- handle time: the recording's duration (talk + hold; after-call work is not
  in a recording).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np

from callwright.qa.model import ConversationMetrics, Overtalk, Role, Silence, Transcript, Utterance
from callwright.speech.audio import Audio, resample
from callwright.speech.vad import speech_regions

if TYPE_CHECKING:
    from callwright.qa.ingest import IngestedCall

log = logging.getLogger(__name__)

Span = tuple[float, float]
Activity = Mapping[Role, Sequence[Span]]

DEAD_AIR_S = 10.0
HOLD_S = 120.0
MIN_OVERTALK_S = 0.25
"""Shorter overlaps are turn-taking jitter (a word's tail under the next word's onset), not over-talk."""
TURN_GAP_S = 1.0
"""Pauses shorter than this are inside one speaker's turn (breaths, between sentences)."""


# -- interval arithmetic ---------------------------------------------------------------------------


def merge(spans: Iterable[Span], *, within: Span | None = None, gap: float = 0.0) -> list[Span]:
    """Sorted, non-overlapping spans (touching or closer than `gap` joined), clipped to `within`."""
    out: list[list[float]] = []
    for a, b in sorted((float(a), float(b)) for a, b in spans):
        if within is not None:
            a, b = max(a, within[0]), min(b, within[1])
        if b <= a:
            continue
        if out and a <= out[-1][1] + gap:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def complement(spans: Sequence[Span], within: Span) -> list[Span]:
    """The gaps between merged `spans` inside `within`."""
    gaps, t = [], within[0]
    for a, b in merge(spans, within=within):
        if a > t:
            gaps.append((t, a))
        t = max(t, b)
    if within[1] > t:
        gaps.append((t, within[1]))
    return gaps


def subtract(spans: Sequence[Span], remove: Sequence[Span]) -> list[Span]:
    """`spans` with every part inside `remove` cut out."""
    if not spans:
        return []
    lo = min(a for a, _ in spans)
    hi = max(b for _, b in spans)
    keep = complement(remove, (lo, hi))
    return [(max(a, c), min(b, d)) for a, b in merge(spans) for c, d in keep if min(b, d) > max(a, c)]


def _total(spans: Iterable[Span]) -> float:
    return sum(b - a for a, b in spans)


# -- the metrics ---------------------------------------------------------------------------------


def _turn_of(turns: Sequence[Span], t: float) -> int:
    return next(i for i, (a, b) in enumerate(turns) if a <= t <= b)


def overtalk(
    activity: Activity, *, min_s: float = MIN_OVERTALK_S, turn_gap_s: float = TURN_GAP_S
) -> list[Overtalk]:
    """Every stretch where two speakers overlap, with who started their turn second (the interrupter).

    A speaker's turn is their speech with pauses under `turn_gap_s` bridged, so
    a breath inside the interrupted sentence neither changes who interrupted
    nor splits one interruption in two: the overlaps of the same two turns are
    one over-talk, from the first overlapping moment to the last.
    """
    tracks = {role: merge(spans) for role, spans in activity.items()}
    turns = {role: merge(spans, gap=turn_gap_s) for role, spans in tracks.items()}
    found: list[Overtalk] = []
    for r1, r2 in combinations(sorted(tracks), 2):
        by_turns: dict[tuple[int, int], list[Span]] = {}
        for a0, a1 in tracks[r1]:
            for b0, b1 in tracks[r2]:
                start, end = max(a0, b0), min(a1, b1)
                if end > start:
                    key = (_turn_of(turns[r1], start), _turn_of(turns[r2], start))
                    by_turns.setdefault(key, []).append((start, end))
        for (i1, i2), spans in by_turns.items():
            start, end = min(a for a, _ in spans), max(b for _, b in spans)
            if _total(spans) >= min_s - 1e-9:
                who = r2 if turns[r2][i2][0] > turns[r1][i1][0] else r1
                found.append(Overtalk(round(start, 3), round(end, 3), who))
    return sorted(found, key=lambda o: o.start)


def _words_said(utterances: Iterable[Utterance]) -> int:
    return sum(len(u.words) if u.words else len(u.text.split()) for u in utterances)


def conversation_metrics(
    activity: Activity,
    duration_s: float,
    transcript: Transcript | None = None,
    *,
    music: Sequence[Span] = (),
    dead_air_s: float = DEAD_AIR_S,
    hold_s: float = HOLD_S,
    min_overtalk_s: float = MIN_OVERTALK_S,
) -> ConversationMetrics:
    """Metrics of one call from each speaker's speech regions (see the module docstring)."""
    if duration_s < 0:
        raise ValueError(f"duration must be >= 0, got {duration_s}")
    call = (0.0, float(duration_s))
    speech = {role: merge(spans, within=call) for role, spans in activity.items()}
    anyone = merge([s for spans in speech.values() for s in spans])
    music_spans = subtract(merge(music, within=call), anyone)
    quiet = complement(anyone, call)  # nobody speaking: silence or music
    silences = complement(anyone + music_spans, call)
    holds = [Silence(round(a, 3), round(b, 3)) for a, b in quiet if b - a >= hold_s - 1e-9]
    in_hold = [(h.start, h.end) for h in holds]
    dead_air = [
        Silence(round(a, 3), round(b, 3))
        for a, b in silences
        if b - a >= dead_air_s - 1e-9 and not any(a < h1 and b > h0 for h0, h1 in in_hold)
    ]
    talk = {role: round(_total(spans), 3) for role, spans in speech.items()}
    agent, customer = talk.get("agent"), talk.get("customer")
    ratio = round(agent / customer, 3) if agent is not None and customer else None
    rates: dict[str, float] = {}
    if transcript is not None:
        for role, seconds in talk.items():
            words = _words_said(transcript.by(role))
            if seconds > 0 and words:
                rates[role] = round(words / (seconds / 60.0), 1)
    return ConversationMetrics(
        handle_time_s=round(float(duration_s), 3),
        talk_s={role: seconds for role, seconds in talk.items()},
        talk_listen_ratio=ratio,
        silence_total_s=round(_total(silences), 3),
        silence_longest_s=round(max((b - a for a, b in silences), default=0.0), 3),
        dead_air=dead_air,
        holds=holds,
        overtalk=overtalk(speech, min_s=min_overtalk_s),
        speech_rate_wpm=rates,
    )


# -- activity from recordings and transcripts ------------------------------------------------------

MUSIC_MIN_S = 8.0
"""Shortest stretch called music: a hold tune is far longer, and talkers pause well before this."""
_FRAME_S = 0.1  # 10 Hz bins: fine enough that a voice's pitch drift moves the peak
_FLOOR_MARGIN_DB = 3.0  # hold music under a noisy line is only a few dB over the noise
_STEADY_MIN = 0.5
"""Share of frames whose peak stays in the same bin as the frame before. Measured
(bench/qa_metrics_accuracy.py): the sample hold music 0.78-0.80; espeak-ng speech 0.03-0.07;
real voices (FSDD digits read back to back, four speakers) 0.01-0.15."""
MIN_SPEECH_S = 0.1
_BLOCK_FRAMES = 600


def pitch_steadiness(audio: Audio) -> tuple[np.ndarray, np.ndarray]:
    """Per 100 ms frame: level in dB, and whether the strongest spectral peak held its pitch.

    Music holds notes: the strongest frequency stays put for several frames.
    Speech glides (pitch and formants move every few tens of ms), and espeak's
    flat-pitch voices still change formants from phone to phone.
    """
    n = int(audio.rate * _FRAME_S)
    usable = audio.n_samples // n * n
    window = np.hanning(n)
    freqs = np.fft.rfftfreq(n, 1 / audio.rate)
    band = (freqs >= 150) & (freqs <= 3400)
    levels, peaks = [], []
    block = n * _BLOCK_FRAMES  # a block at a time, so an hour-long call stays within a few MB
    for a in range(0, usable, block):
        frames = audio.samples[a : min(a + block, usable)].astype(np.float64).reshape(-1, n)
        levels.append(10 * np.log10(np.mean(frames**2, axis=1) + 1e-9))
        peaks.append(np.argmax(np.abs(np.fft.rfft(frames * window, axis=1))[:, band], axis=1))
    if not levels:
        return np.zeros(0), np.zeros(0, dtype=bool)
    level, peak = np.concatenate(levels), np.concatenate(peaks)
    same = np.zeros(len(peak), dtype=bool)
    same[1:] = np.diff(peak) == 0
    return level, same


def music_regions(audio: Audio, *, min_s: float = MUSIC_MIN_S) -> list[Span]:
    """Spans of one channel that carry continuous tonal sound: hold music, not speech.

    A span qualifies when it is loud (3 dB over the channel's noise floor) in
    almost every frame for at least `min_s`, with no pause a talker would take,
    and the strongest pitch holds steady from frame to frame in most of it.
    """
    if audio.channels != 1:
        raise ValueError("music detection works on one channel")
    if audio.rate > 16000:
        audio = resample(audio, 16000)
    level, steady = pitch_steadiness(audio)
    if len(level) == 0:
        return []
    floor = np.percentile(level, 10)
    loud = level > floor + _FLOOR_MARGIN_DB
    # a run of loud frames, bridging gaps up to 0.2 s (between notes)
    runs: list[Span] = []
    idx = np.flatnonzero(loud)
    if len(idx) == 0:
        return []
    bridge = round(0.2 / _FRAME_S)
    start = prev = idx[0]
    for i in idx[1:]:
        if i - prev > bridge + 1:
            runs.append((start, prev + 1))
            start = i
        prev = i
    runs.append((start, prev + 1))
    found = []
    for a, b in runs:
        if (b - a) * _FRAME_S < min_s:
            continue
        share = float(np.mean(steady[a:b]))
        log.debug("loud run %.1f-%.1f s: %.0f%% steady pitch", a * _FRAME_S, b * _FRAME_S, 100 * share)
        if share >= _STEADY_MIN:
            found.append((round(float(a * _FRAME_S), 3), round(float(b * _FRAME_S), 3)))
    return found


def track_activity(track: Audio) -> tuple[list[Span], list[Span]]:
    """(speech, music) spans of one channel: WebRTC VAD regions with the hold music cut out.

    The VAD calls most music speech; what is left of a region at the edge of
    the music (a few frames) is dropped too.
    """
    music = music_regions(track)
    speech = [(a, b) for a, b in subtract(speech_regions(track), music) if b - a >= MIN_SPEECH_S]
    return speech, music


def music_from_audio(call: IngestedCall) -> list[Span]:
    """Hold music on any channel of a call."""
    return merge(s for track in call.tracks.values() for s in music_regions(track))


def activity_from_audio(call: IngestedCall) -> dict[Role, list[Span]]:
    """Speech regions per speaker, without hold music."""
    return {role: track_activity(track)[0] for role, track in call.tracks.items()}


def activity_from_transcript(transcript: Transcript) -> dict[Role, list[Span]]:
    """Speech per speaker from an imported transcript (words when present, else utterances).

    The fallback for calls that arrive without audio; word times are closer to
    voice activity than utterance times, which include pauses.
    """
    out: dict[Role, list[Span]] = {}
    for u in transcript.utterances:
        spans = [(w.start, w.end) for w in u.words] if u.words else [(u.start, u.end)]
        out.setdefault(u.speaker, []).extend(spans)
    return {role: merge(spans, gap=0.3) for role, spans in out.items()}


def metrics_from_audio(
    call: IngestedCall, transcript: Transcript | None = None, **thresholds: float
) -> ConversationMetrics:
    """`conversation_metrics` of a recording, hold music included."""
    per_track = {role: track_activity(track) for role, track in call.tracks.items()}
    activity = {role: speech for role, (speech, _) in per_track.items()}
    music = merge(s for _, spans in per_track.values() for s in spans)
    return conversation_metrics(activity, call.duration_s, transcript, music=music, **thresholds)
