import os
from pathlib import Path

import pytest
from hypothesis import settings

# The suite is derandomized: every run tries the same generated inputs, so a
# green main stays green on any machine, and what a fuzz test once found is
# pinned with @example. To hunt for new failures, run with
# HYPOTHESIS_PROFILE=explore (a fresh random draw each run).
settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ROOT = Path(__file__).resolve().parents[1]
FLOWS = ROOT / "flows"
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def inbound_flow():
    from callwright.flows.loader import load_flow

    return load_flow(FLOWS / "inbound.yaml")
