"""The server shares one recogniser among its call threads: streams decoding at the same
time on the shared model give what each gives alone (nothing leaks between them)."""

from __future__ import annotations

import concurrent.futures

import numpy as np

from callwright.speech.audio import resample
from callwright.speech.degrade import telephone

PHRASES = ["billing", "sales"]
THREADS = 2


def test_streams_on_one_shared_model_decode_the_same_alone_and_together(synth, recognizer):
    clips = [
        resample(
            telephone(synth.synthesize(p, voice="en-us", sample_rate=16000), snr_db=25, seed=i), 8000
        ).samples.astype(np.int16)
        for i, p in enumerate(PHRASES)
    ]

    def decode(clip: np.ndarray) -> str:
        stream = recognizer.open(8000)
        stream.set_phrases(PHRASES)
        for i in range(0, clip.size, 160):
            stream.accept(clip[i : i + 160])
        return stream.finish().text

    alone = [decode(c) for c in clips]
    work = [clips[i % len(clips)] for i in range(THREADS * len(clips))]
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        together = list(pool.map(decode, work))
    assert together == [alone[i % len(clips)] for i in range(len(work))]
