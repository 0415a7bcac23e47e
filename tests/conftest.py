from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FLOWS = ROOT / "flows"
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def inbound_flow():
    from callwright.flows.loader import load_flow

    return load_flow(FLOWS / "inbound.yaml")
