"""Shared fixtures for the text-model tests: the real encoder and sentiment model, loaded once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[2]
VADER_DATA = ROOT.parent / "shared" / "data" / "vader"


@pytest.fixture(scope="session")
def encoder():
    from callwright.nlp.embeddings import get_encoder

    return get_encoder()


@pytest.fixture(scope="session")
def sentiment_model(encoder):
    from callwright.nlp.sentiment import get_sentiment_model

    return get_sentiment_model()


@pytest.fixture(scope="session")
def vader_data() -> Path:
    if not (VADER_DATA / "tweets_GroundTruth.txt").is_file():
        pytest.skip(f"human-rated data not found in {VADER_DATA}")
    return VADER_DATA
