"""One endpointed IVR utterance through Whisper, with the expected phrases as context.

Whisper decodes a whole utterance at once, so the IVR's stream only buffers
audio and decodes here, after the endpointer has cut the utterance:

1. The audio (16 kHz) is padded with `pad_s` of silence on both sides
   (Whisper misreads words that touch the window edge).
2. The encoder runs once over a window of `window_s` seconds (30 s, as the
   model was trained, unless configured shorter: shorter is much faster but
   measurably less accurate, see docs/benchmarks.md).
3. Greedy decoding, with the expected phrases as the prompt
   ("Zero. One. Two. ...") so the decoder prefers them, and a token budget
   proportional to the utterance length so it cannot loop for ever. Over a
   shorter window, a decode that loops anyway (`loop_guard`) is redone over the
   full window.
4. Closed-set rescoring: when the text looks like one phrase said alone (no
   longer than the longest phrase, and not a sequence of
   phrase words such as "four one"), the phrase whose first token is most
   probable at the first decoding step, averaged (in log space) over three
   prompts (the sentences, none, a comma list), replaces it, if that
   probability is at least `rescore_floor` and no other phrase starts with
   the same token. Longer out-of-set speech keeps its own text, so the IVR
   still rejects it. The unprompted step also gives an honest no-speech
   probability: a prompt makes Whisper "hear" its phrases in silence.

Confidence: for decoded text, exp(avg_logprob) over the generated tokens (as
faster-whisper computes it); for a rescored phrase, the geometric mean over
the three prompts of the probability of its first token. When
no_speech_prob > 0.6 and avg_logprob < -1 (Whisper's own silence rule), or
the unprompted no-speech probability is above `no_speech_unprompted`, the
result is empty text with confidence 0. Word confidences
are faster-whisper's per-word probabilities from cross-attention alignment.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np

from callwright.speech.asr.base import Recognition, Word, mean
from callwright.speech.asr.loop_guard import repetition_loop
from callwright.speech.asr.whisper_decoder import (
    FULL_WINDOW_FRAMES,
    FULL_WINDOW_S,
    WHISPER_RATE,
    WhisperDecoder,
    WhisperSettings,
    log_softmax,
    to_float,
)
from callwright.speech.asr.whisper_file import transcribe_file
from callwright.speech.closedset import canonical_words, parse_number

log = logging.getLogger(__name__)


def phrase_prompt(dec: WhisperDecoder, phrases: Sequence[str] | None, style: str) -> list[int]:
    """The decoder prompt for an utterance expected to be one of `phrases`.

    One short sentence per phrase ("Zero. One. Two."): a comma or space separated
    list invites the decoder to continue the list ("four four", "one, two, three").
    """
    if not phrases:
        return dec.prompt_tokens(None)
    cleaned = [p.strip() for p in phrases if p.strip()]
    if style == "list":
        return dec.prompt_tokens(", ".join(cleaned) + ".")
    return dec.prompt_tokens(". ".join(p[:1].upper() + p[1:] for p in cleaned) + ".")


def decode_utterance(
    dec: WhisperDecoder,
    settings: WhisperSettings,
    samples16k: np.ndarray,
    phrases: Sequence[str] | None,
    offset_s: float = 0.0,
) -> Recognition:
    """Recognise one endpointed utterance (int16 at 16 kHz); word times shifted by offset_s."""
    s = settings
    if samples16k.size == 0:
        return Recognition("", 0.0, [], True, offset_s, offset_s)
    if samples16k.size / WHISPER_RATE + 2 * s.pad_s > FULL_WINDOW_S - 1:
        return _decode_long(dec, samples16k, offset_s)
    pad = np.zeros(int(s.pad_s * WHISPER_RATE), dtype=np.float32)
    features = dec.features(np.concatenate([pad, to_float(samples16k), pad]))
    content = features.shape[-1]
    window = dec.encode(features, max(int(s.window_s * 100), content + content % 2))
    budget = int(8 + s.tokens_per_second * samples16k.size / WHISPER_RATE)
    rescoring = bool(phrases) and s.beam_size == 1
    prompt = phrase_prompt(dec, phrases, s.prompt_style)
    decoded = dec.generate(window, prompt, s.beam_size, budget, first_logits=rescoring)
    if (
        s.loop_guard
        and s.window_s < FULL_WINDOW_S
        and repetition_loop(decoded.text, samples16k.size / WHISPER_RATE, len(decoded.tokens) >= budget)
    ):
        log.debug("short window looped (%r): decoding over the full window", decoded.text)
        window = dec.encode(features, FULL_WINDOW_FRAMES)
        decoded = dec.generate(window, prompt, s.beam_size, budget, first_logits=rescoring)
    tokens, text, confidence = decoded.tokens, decoded.text, decoded.confidence
    if decoded.silent:
        return Recognition("", 0.0, [], True, offset_s, offset_s)

    if phrases:
        # Unprompted first step: an honest no-speech probability (the prompt makes
        # Whisper "hear" the phrases in silence or line noise) and one more opinion
        # for rescoring.
        plain, plain_no_speech = dec.first_step(window, dec.prompt_tokens(None))
        if plain_no_speech > s.no_speech_unprompted:
            return Recognition("", 0.0, [], True, offset_s, offset_s)
        if s.rescore and s.beam_size == 1 and single_answer(text, phrases):
            listed, _ = dec.first_step(window, phrase_prompt(dec, phrases, "list"))
            first = log_softmax(np.asarray(decoded.first_logits, dtype=np.float64))
            choice = _rescore(dec, [first, plain, listed], phrases, s.rescore_floor)
            if choice is not None:
                # Rescoring that agrees with the free decode confirms it: keep the
                # decode's (higher) confidence rather than the first-token probability,
                # which spreads over spellings and reads low for a clear "English".
                agrees = canonical_words(choice[0]) == canonical_words(text)
                text, confidence = choice[0], max(choice[1], confidence) if agrees else choice[1]
                tokens = dec.text_tokens(text)
    words = dec.aligned_words(tokens, window, shift_s=offset_s - s.pad_s, floor_s=offset_s)
    return Recognition(
        text=text,
        confidence=round(confidence, 4),
        words=words,
        is_final=True,
        start=words[0].start if words else offset_s,
        end=words[-1].end if words else offset_s + samples16k.size / WHISPER_RATE,
    )


def _first_tokens(dec: WhisperDecoder, phrase: str) -> set[int]:
    """Token ids a phrase can start with: as written, lower case, capitalised, as a numeral.

    Without a prompt Whisper writes numbers as digits ("2"), so a number
    word's numeral counts as a way of saying it.
    """
    text = phrase.strip()
    variants = {text, text.lower(), text[:1].upper() + text[1:]}
    number = parse_number(text)
    if number is not None:
        variants.add(str(number))
    return {dec.text_tokens(v)[0] for v in variants if v}


def single_answer(text: str, phrases: Sequence[str]) -> bool:
    """Whether the text looks like one phrase said alone, so rescoring may replace it.

    Text longer than the longest phrase ("I want to order a pizza", "two
    near" for "two zero nine") is left alone, and so is a sequence of
    phrase words ("four one"): rescoring picks one phrase and would
    collapse "four one one" to "four".
    """
    words = canonical_words(text)
    longest = max(len(canonical_words(p)) for p in phrases)
    if len(words) > longest:
        return False
    vocabulary = {w for p in phrases for w in canonical_words(p)}
    in_vocabulary = bool(words) and all(w in vocabulary for w in words)
    names_a_phrase = any(words == canonical_words(p) for p in phrases)
    return names_a_phrase or not in_vocabulary or len(words) == 1


def _rescore(
    dec: WhisperDecoder, steps: Sequence[np.ndarray], phrases: Sequence[str], floor: float
) -> tuple[str, float] | None:
    """The phrase whose first token is most probable across prompts, if clear enough.

    Each step is the first-token distribution under one prompt (the
    sentences prompt, no prompt, a comma list); a phrase's score is its
    mean log-probability over them (a geometric mean of probabilities),
    which is steadier than any single prompt. Phrases that share a first
    token cannot be told apart this way, so then nothing is chosen.
    """
    starts = {p.strip(): _first_tokens(dec, p) for p in phrases if p.strip()}
    ids = {p: sorted(ts) for p, ts in starts.items()}
    scores = {p: float(np.mean([np.logaddexp.reduce(step[ts]) for step in steps])) for p, ts in ids.items()}
    if not scores:
        return None
    best = max(scores, key=scores.__getitem__)
    probability = math.exp(scores[best])
    if probability < floor:
        return None
    shared = [p for p, ts in starts.items() if p != best and ts & starts[best]]
    if shared:
        log.debug("rescoring: %r shares its first token with %s; not choosing", best, shared)
        return None
    return best, probability


def _decode_long(dec: WhisperDecoder, samples16k: np.ndarray, offset_s: float) -> Recognition:
    """An "utterance" longer than Whisper's window: transcribe it and join the segments."""
    segments = transcribe_file(dec, to_float(samples16k))
    words = [
        Word(w.word, w.start + offset_s, w.end + offset_s, w.confidence)
        for seg in segments
        for w in seg.words
    ]
    spoken = [seg for seg in segments if seg.text]
    return Recognition(
        text=" ".join(seg.text for seg in spoken),
        confidence=round(mean([seg.confidence for seg in spoken]), 4),
        words=words,
        is_final=True,
        start=words[0].start if words else offset_s,
        end=words[-1].end if words else offset_s + samples16k.size / WHISPER_RATE,
    )
