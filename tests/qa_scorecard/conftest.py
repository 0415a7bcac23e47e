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
