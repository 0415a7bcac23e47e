"""Telling a decode that loops ("Four. Four. Four. Four. ...") from a real answer, from its text.

Whisper was trained on 30 s windows; over a shorter encoder window (much
cheaper: the encoder is most of a decode) tiny.en often repeats the answer
until its token budget runs out, mostly in the sentence form the phrase prompt
invites. A short-window decode that this guard flags is redone over the full
window (`whisper_utterance`). Pure functions, so the rule is tested on its own.

A decode loops when any of these holds:
- it used its whole token budget (a loop ends only there);
- Whisper's own test: the text compresses too well (long loops);
- one word or sentence comes more than `MAX_RUN` times in a row ("triple
  one" is three: a fourth is a loop, not a digit string);
- it holds more words than anyone says in that much audio
  (`MAX_WORDS_PER_S` per second of the utterance, plus one).

It does not catch a short window's other failure, a dropped word ("four one
one" for "four one one one"), which is why the short window is not the default
(docs/benchmarks.md, "Turn latency").
"""

from __future__ import annotations

from callwright.speech.asr.whisper_decoder import loops
from callwright.speech.closedset import canonical_words

MAX_RUN = 3
"""The most times one word may follow itself in a real answer ("triple", "one one one")."""
MAX_WORDS_PER_S = 4.0
"""Fast read-out digits are about 3 words/s; more than this per second of audio is a loop."""


def longest_run(items: list[str]) -> int:
    """The length of the longest run of equal neighbours ("a a b" -> 2; empty -> 0)."""
    best = run = 0
    previous: str | None = None
    for item in items:
        run = run + 1 if item == previous else 1
        previous = item
        best = max(best, run)
    return best


def repetition_loop(text: str, audio_s: float, budget_used: bool) -> bool:
    """Whether this decode of `audio_s` seconds of audio looks like a loop (see module doc)."""
    if budget_used or loops(text):
        return True
    words = canonical_words(text)
    sentences = [s.strip().lower() for s in text.replace("?", ".").replace("!", ".").split(".") if s.strip()]
    if longest_run(words) > MAX_RUN or longest_run(sentences) > MAX_RUN:
        return True
    return len(words) > MAX_WORDS_PER_S * audio_s + 1
