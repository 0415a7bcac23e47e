"""Speculative decoding at a tentative endpoint: recognise while the caller's silence runs on.

An engine that decodes a whole utterance in `finish()` (Whisper) leaves all its
work for after the endpointer has waited out the state's end-of-speech silence
(0.7-2 s). Most of that wait is spent already sure: the caller stopped. So when
the endpointer first sees `SPECULATE_AFTER_S` of silence (`SpeechPaused`), a
`SpeculativeStream` forks the utterance so far (`RecognizerStream.fork`) and
decodes the fork on a small shared thread pool while frames keep arriving:

- the audio after the pause is held back from the engine, so the utterance the
  engine holds stays exactly the audio the fork decodes;
- the caller resumes (`SpeechResumed`): the speculation is discarded (cancelled
  if it has not started), the held frames go to the engine, the utterance goes
  on, and the next pause speculates again;
- the silence reaches the endpoint (`finish()`): the utterance is dropped
  from the engine undecoded (`reset`) and the speculation's result is the
  answer; only what is left of its decode is waited for.

So the decoded audio is always the utterance up to its last tentative endpoint,
whether the speculation is kept or not (same audio -> same text), and the
held-back silence never reaches the recogniser. With `speculate=False` the
stream behaves as the engine's own (everything decoded in `finish()`).

Threads: one process-wide pool of `SPECULATION_THREADS` (created on first use,
reused by every call), so speculation never starts a thread per utterance; a
decode whose result is discarded still runs to its end (a CTranslate2 call cannot
be interrupted) but holds no call up. A speculation still queued when its
endpoint comes is cancelled and decoded in the caller's thread, so a busy pool
never makes a turn slower than no speculation.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from callwright.speech.asr.base import Capabilities, Recognition, Recognizer, RecognizerStream, as_int16

SPECULATE_AFTER_S = 0.25
"""Trailing silence after which an utterance is decoded speculatively (the endpointer's
`tentative_s`): pauses inside an answer are mostly shorter; the state's own end of speech
(0.7 s for short answers) is far enough beyond it to hide most of a Whisper decode."""

SPECULATION_THREADS = 2
"""Decodes that may run speculatively at once in the process (one per core here): more would
only queue inside the engine."""

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def speculation_pool() -> ThreadPoolExecutor:
    """The process's speculation threads (bounded; created once, on first use)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(SPECULATION_THREADS, thread_name_prefix="callwright-speculate")
        return _pool


def can_speculate(recognizer: Recognizer) -> bool:
    """Whether speculation helps this engine: its streams fork, and its work is in finish()."""
    caps: Capabilities | None = getattr(recognizer, "capabilities", None)  # a stand-in may have none
    return caps is not None and caps.fork and not caps.streaming


class SpeculativeStream(RecognizerStream):
    """A recogniser stream that may decode the utterance at a tentative endpoint (see module doc).

    `pause()` and `resume()` are the endpointer's `SpeechPaused` and `SpeechResumed`;
    `kept` and `discarded` count speculations (for benchmarks and tests).
    """

    def __init__(
        self, inner: RecognizerStream, *, speculate: bool = True, pool: ThreadPoolExecutor | None = None
    ) -> None:
        self.inner = inner
        self.speculate = speculate
        self._pool = pool
        self._spec: tuple[RecognizerStream, Future[Recognition]] | None = None
        self._held: list[np.ndarray] = []
        self.kept = 0
        self.discarded = 0

    @property
    def sample_rate(self) -> int:  # type: ignore[override]  # the engine's, read when used
        return self.inner.sample_rate

    @property
    def speculating(self) -> bool:
        return self._spec is not None

    def accept(self, pcm16: bytes | np.ndarray) -> Recognition | None:
        if self._spec is not None:
            self._held.append(np.array(as_int16(pcm16), dtype=np.int16, copy=True))
            return None
        return self.inner.accept(pcm16)

    def set_phrases(self, phrases: Sequence[str] | None) -> None:
        self.inner.set_phrases(phrases)

    def pause(self) -> bool:
        """A tentative endpoint: start decoding a fork of the utterance so far (True if started)."""
        if not self.speculate or self._spec is not None:
            return False
        fork = self.inner.fork()
        if fork is None:
            return False
        pool = self._pool or speculation_pool()
        self._spec = (fork, pool.submit(fork.finish))
        return True

    def resume(self) -> None:
        """The caller spoke again: drop the speculation; the held audio joins the utterance."""
        self._discard()
        self._flush()

    def finish(self) -> Recognition:
        spec, self._spec = self._spec, None
        if spec is None:
            self._flush()
            return self.inner.finish()
        fork, future = spec
        # The engine's utterance is exactly what the fork holds: close it undecoded
        # (the held silence still counts in the stream's times).
        self._flush()
        self.inner.reset()
        self.kept += 1
        if future.cancel():  # still queued behind other decodes: do it here, now
            return fork.finish()
        return future.result()

    def reset(self) -> None:
        self._discard()
        self._flush()
        self.inner.reset()

    def close(self) -> None:
        self._discard()
        self._held = []
        self.inner.close()

    def _discard(self) -> None:
        if self._spec is not None:
            self._spec[1].cancel()
            self._spec = None
            self.discarded += 1

    def _flush(self) -> None:
        held, self._held = self._held, []
        for frame in held:
            self.inner.accept(frame)
