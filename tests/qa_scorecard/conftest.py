"""The real MiniLM encoder behind one phrase matcher, loaded once per test session."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def matcher():
    from callwright.nlp.embeddings import get_encoder
    from callwright.qa.scorecard import PhraseMatcher

    return PhraseMatcher(get_encoder())


@pytest.fixture(scope="session")
def rate_sentiment(matcher):
    """Fill utterance sentiment with the project's live model, as the QA pipeline does before scoring."""
    from callwright.nlp.sentiment import get_sentiment_model

    model = get_sentiment_model()

    def run(transcript):
        for u, r in zip(
            transcript.utterances, model.predict([u.text for u in transcript.utterances]), strict=True
        ):
            u.sentiment, u.sentiment_label = r.score, r.label
        return transcript

    return run
