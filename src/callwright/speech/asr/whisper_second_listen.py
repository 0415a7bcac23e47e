"""A second listen to one stretch of speech, primed with the phrasings we are looking for.

QA asks "did the agent say X?" of a whole-call transcript, and tiny.en on
telephone speech garbles a line now and then ("Can you put calling on wind
energy" for "Thank you for calling Northwind Energy"). Decoding the stretch
again with X's phrasings as the prompt often hears it right, but a prompt can
also make Whisper "hear" what was never said: primed with "I'm calling from
Acme", it wrote "I'm calling from Acme" over a caller who named no company.

So the primed reading is only offered together with how well the audio
supports it: the log-likelihood per token of the primed text, scored by the
model *without* any prompt, minus that of the unprompted decode of the same
audio (teacher-forced through CTranslate2's `align`, which returns each text
token's probability), the end of text included, so a reading that stops early
pays for it. On spoken paraphrases (bench/qa_second_listen.py) right readings
scored between 0 and -1.0 nats per token and the prompt's inventions -0.78 and
below; the caller (QA's `second_listen`) sets the bar, at -0.6.

The support is weighed on first use (`SecondReading.support` of the reading returned): the
caller asks for it only of a reading that would make its item pass, so most listens (whose
reading does not say the phrase) skip both teacher-forced passes, the primed reading's and
the plain one's; the number is the same whenever it is asked for.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from callwright.speech.asr.base import Recognition, SecondReading, Word
from callwright.speech.asr.whisper_decoder import (
    FULL_WINDOW_FRAMES,
    WHISPER_RATE,
    Decoded,
    WhisperDecoder,
    Window,
    loops,
    phrase_sentences,
)

RATE = WHISPER_RATE
PAD_S = 0.2  # silence either side: Whisper misreads words that touch the window edge
BEAM = 5  # as the whole-call decode
MAX_S = 28.0  # longer stretches do not fit one 30 s window with their padding
SKIP_SHARE = 0.75  # a primed reading with fewer words than this share of the plain one skipped some
_NEUTRAL = " Okay."
_WINDOW_FRAMES = FULL_WINDOW_FRAMES
# A full 30 s window, as tiny.en was trained: with a 15 s one the encoder cost a quarter, but the
# second readings went wrong more often (bench/qa_second_listen.py, docs/benchmarks/qa_transcripts.md).
_TOKENS_PER_S = 6.0


def second_listen(
    dec: WhisperDecoder, samples16k: np.ndarray, phrases: Sequence[str], offset_s: float
) -> SecondReading | None:
    """Decode one stretch (float32 at 16 kHz, starting `offset_s` into the call) primed with
    `phrases`; None when it is too long for one window or holds no speech."""
    if samples16k.size == 0 or samples16k.size > MAX_S * RATE:
        return None
    stretch = _stretch(dec, samples16k)
    window, budget, plain = stretch.window, stretch.budget, stretch.plain
    if plain.silent or not any(c.isalnum() for c in plain.text):
        return None  # nothing said, by the unprompted reading: whatever a prompt "hears" is invented
    context = phrase_sentences(phrases)
    # Whisper takes the prompt for what was just said, and skips audio that repeats its end
    # ("Thank you for calling Northwind." primed over that very line gave only "My name is
    # Priya."), or stops where the prompt's phrase would start ("... this week." and not "...
    # this week. Is there anything else?", whose full reading was third in the beam). So the
    # reading is the most likely beam that keeps at least `SKIP_SHARE` of the words the plain
    # one heard (a word count: a beam that drops a short last sentence of a long stretch still
    # passes); failing that, a neutral last sentence in the prompt often stops the skipping.
    primed = _whole(
        dec.generate_all(window, dec.prompt_tokens(context), BEAM, budget, BEAM), plain
    ) or _whole(dec.generate_all(window, dec.prompt_tokens(context + _NEUTRAL), BEAM, budget, BEAM), plain)
    if primed is None:
        return None  # every reading leaves out what the plain reading heard: not of this audio
    words = _punctuated(
        dec.aligned_words(primed.tokens, window, shift_s=offset_s - PAD_S, floor_s=offset_s),
        primed.text,
    )
    if not words:
        return None
    recognition = Recognition(
        primed.text, round(primed.confidence, 4), words, True, words[0].start, words[-1].end
    )

    def weigh() -> float:
        primed_lp = _log_likelihood(dec, window, dec.prompt_tokens(None), primed.tokens)
        support = (primed_lp - stretch.plain_lp()) / max(len(primed.tokens), len(plain.tokens), 1)
        return round(support, 4) if math.isfinite(support) else 0.0

    return WeighedOnUse(recognition, plain.text, weigh)


class WeighedOnUse(SecondReading):
    """A `SecondReading` whose `support` (two teacher-forced decoder passes) is computed the first
    time it is read, then kept: most second readings are dropped on their text alone."""

    _weigh: Callable[[], float]
    _support: float | None

    def __init__(self, recognition: Recognition, plain_text: str, weigh: Callable[[], float]) -> None:
        object.__setattr__(self, "recognition", recognition)
        object.__setattr__(self, "plain_text", plain_text)
        object.__setattr__(self, "_weigh", weigh)
        object.__setattr__(self, "_support", None)

    @property
    def support(self) -> float:
        support = self._support
        if support is None:
            support = self._weigh()
            object.__setattr__(self, "_support", support)
        return support


SCREEN_BEAM = 1  # greedy: the screen only asks whether a phrase could be there
SCREEN_MIN_WINDOW_S = 30.0  # the screen's encoder window: the stretch's length, but at least this


def screen(dec: WhisperDecoder, samples16k: np.ndarray, phrases: Sequence[str]) -> str | None:
    """A quick primed reading of one stretch, for deciding whether a full `second_listen` is worth
    its cost: one greedy decode primed with `phrases` (every phrasing any missed item looks for in
    this stretch at once), in an encoder window of the stretch's length but at least
    `SCREEN_MIN_WINDOW_S`. Never evidence: no support is weighed. "" when nothing is heard, None
    when the stretch is too long for one window (as `second_listen`)."""
    if samples16k.size == 0 or samples16k.size > MAX_S * RATE:
        return None
    key = _key(dec, samples16k)
    frames = (samples16k.size + 2 * int(PAD_S * RATE)) // 160  # 10 ms mel frames
    window_frames = min(_WINDOW_FRAMES, max(frames + 10, int(SCREEN_MIN_WINDOW_S * 100)))
    if window_frames >= _WINDOW_FRAMES:  # the full listen's own window: kept for it
        window = _windows.get(key) or _encode_full(dec, samples16k)
        _remember(_windows, key, window)
    else:
        pad = np.zeros(int(PAD_S * RATE), dtype=np.float32)
        window = dec.encode(dec.features(np.concatenate([pad, samples16k, pad])), window_frames)
    budget = int(10 + _TOKENS_PER_S * samples16k.size / RATE)
    decoded = dec.generate(window, dec.prompt_tokens(phrase_sentences(phrases)), SCREEN_BEAM, budget)
    return "" if decoded.silent or not decoded.tokens else decoded.text


class _Stretch:
    """A stretch's encoder output and unprompted reading; the reading's likelihood on first use."""

    def __init__(self, dec: WhisperDecoder, window: Window, budget: int, plain: Decoded) -> None:
        self.dec, self.window, self.budget, self.plain = dec, window, budget, plain
        self._plain_lp: float | None = None

    def plain_lp(self) -> float:
        if self._plain_lp is None:
            tokens, unprompted = self.plain.tokens, self.dec.prompt_tokens(None)
            lp = _log_likelihood(self.dec, self.window, unprompted, tokens) if tokens else -math.inf
            self._plain_lp = lp
        return self._plain_lp


_CACHE_SIZE = 16  # stretches: an utterance is often heard again for several items of one call
_cache: OrderedDict[tuple[int, bytes], _Stretch] = OrderedDict()
_windows: OrderedDict[tuple[int, bytes], Window] = OrderedDict()  # a screen's encoder pass, for the listen


def _key(dec: WhisperDecoder, samples16k: np.ndarray) -> tuple[int, bytes]:
    return (id(dec), hashlib.blake2b(samples16k.tobytes(), digest_size=16).digest())


def _remember(cache: OrderedDict[tuple[int, bytes], Any], key: tuple[int, bytes], value: Any) -> None:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)


def _encode_full(dec: WhisperDecoder, samples16k: np.ndarray) -> Window:
    """The stretch with `PAD_S` of silence either side, in one full 30 s encoder window."""
    pad = np.zeros(int(PAD_S * RATE), dtype=np.float32)
    return dec.encode(dec.features(np.concatenate([pad, samples16k, pad])), _WINDOW_FRAMES)


def _stretch(dec: WhisperDecoder, samples16k: np.ndarray) -> _Stretch:
    """The encoder output and the unprompted reading of a stretch, computed once per stretch
    (per decoder: one per model and thread setting, shared for the process); the encoder pass is
    the screen's when it had the same window."""
    key = _key(dec, samples16k)
    if key in _cache:
        _cache.move_to_end(key)
        return _cache[key]
    window = _windows.get(key) or _encode_full(dec, samples16k)
    budget = int(10 + _TOKENS_PER_S * samples16k.size / RATE)
    unprompted = dec.prompt_tokens(None)
    plain = dec.generate(window, unprompted, BEAM, budget)
    out = _Stretch(dec, window, budget, plain)
    _remember(_cache, key, out)
    return out


def _punctuated(words: list[Word], text: str) -> list[Word]:
    """The aligned words with the punctuation the text gives them ("payment" -> "payment."), which
    the phrase matcher reads as sentence ends; a word the text spells otherwise stays as it is."""
    pieces = text.split()
    out, i = [], 0
    for w in words:
        while i < len(pieces) and not _bare(pieces[i]):
            i += 1
        if i < len(pieces) and _bare(pieces[i]) == _bare(w.word):
            out.append(Word(pieces[i], w.start, w.end, w.confidence))
            i += 1
        else:
            out.append(w)
    return out


def _bare(piece: str) -> str:
    return "".join(c for c in piece.lower() if c.isalnum())


def _whole(beams: list[Decoded], plain: Decoded) -> Decoded | None:
    """The first (most likely) beam that says something, neither loops nor leaves out a quarter of
    the words the plain reading heard."""
    for d in beams:
        if d.tokens and not d.silent and not loops(d.text) and not _skipped(d.text, plain.text):
            return d
    return None


def _skipped(primed: str, plain: str) -> bool:
    return len(primed.split()) < SKIP_SHARE * len(plain.split())


def _log_likelihood(dec: WhisperDecoder, window: Window, prompt: list[int], tokens: list[int]) -> float:
    """The reading's log-likelihood given the audio (`WhisperDecoder.log_likelihood`); a
    function of its own so that bench/qa_second_listen_cost.py can time it."""
    return dec.log_likelihood(window, prompt, tokens)
