"""The QA pipeline redacts the bank-grade kinds, with the customer's name from the call's metadata,
before anything is scored or stored (an imported transcript: no ASR, the real sentiment model and
phrase matcher)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from callwright.qa.pipeline import get_engines, score_path
from callwright.qa.scorecard import load_scorecard

REPO = Path(__file__).resolve().parents[2]

SEGMENTS = [
    {"speaker": "agent", "start": 0.0, "end": 3.0, "text": "thank you for calling, may i have your name"},
    {"speaker": "customer", "start": 3.5, "end": 6.0, "text": "it's linda brown, that's b r o w n"},
    {"speaker": "agent", "start": 6.5, "end": 9.0, "text": "thank you ms brown, and your date of birth"},
    {"speaker": "customer", "start": 9.5, "end": 12.0, "text": "march fifth nineteen eighty"},
    {"speaker": "agent", "start": 12.5, "end": 14.0, "text": "and the account number"},
    {
        "speaker": "customer",
        "start": 14.5,
        "end": 18.0,
        "text": "it's oh oh one two three four five six seven",
    },
    {
        "speaker": "customer",
        "start": 18.5,
        "end": 22.0,
        "text": "and i live at 221 baker street springfield illinois",
    },
]


@pytest.mark.parametrize("customer", ["Linda Brown"])
def test_an_imported_call_is_stored_without_the_bank_kinds_or_the_customers_name(
    tmp_path: Path, customer: str
) -> None:
    path = tmp_path / "call-1.json"
    path.write_text(json.dumps({"call_id": "call-1", "customer": customer, "segments": SEGMENTS}))
    card = load_scorecard(REPO / "scorecards" / "inbound-service.yaml")
    outcome = score_path(path, card, get_engines())
    text = " ".join(u.text for u in outcome.scored.transcript.utterances).lower()
    for secret in ("linda", "brown", "b r o w n", "nineteen eighty", "one two three four", "baker street"):
        assert secret not in text, text
    for token in ("[name]", "[dob]", "[account]", "[address]"):
        assert token in text, text
    kinds = {r.kind.value for r in outcome.redacted_ranges}
    assert {"name", "dob", "account", "address"} <= kinds
