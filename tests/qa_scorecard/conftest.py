"""The real MiniLM encoder behind the process-wide phrase matcher, loaded once per test session."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def matcher():
    """The process-wide matcher (`default_matcher`: the shared encoder and one vector cache), the
    one the QA pipeline and the `qa` commands run in this process use, so each phrase of the
    sample scorecards is embedded once per session, not once per user of a matcher."""
    from callwright.qa.scorecard.scoring import default_matcher

    return default_matcher()


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
