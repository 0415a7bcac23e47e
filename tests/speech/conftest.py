"""Shared fixtures for the speech I/O tests: real data paths and synthesised speech."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
FSDD_DIR = (REPO_ROOT / ".." / "shared" / "data" / "fsdd").resolve()


@pytest.fixture(scope="session")
def fsdd_dir() -> Path:
    """The shared Free Spoken Digit Dataset; tests using it skip where it is absent."""
    if not FSDD_DIR.is_dir() or not any(FSDD_DIR.glob("*.wav")):
        pytest.skip(f"FSDD not found at {FSDD_DIR}")
    return FSDD_DIR
