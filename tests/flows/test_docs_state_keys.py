"""docs/flows.md names every key of every state type the schema allows (issue 16, item 8).

Why: the schema is what the checker enforces; a key added there but not to the state
table (or to the table of `ask` keys) is a feature a designer cannot find. The table row
of each type (and, for `ask`, its own key table) must name each of the type's keys in
backticks, so adding a key to the schema without documenting it fails here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "src" / "callwright" / "flows" / "flow.schema.json").read_text(encoding="utf-8"))
DOC = (ROOT / "docs" / "flows.md").read_text(encoding="utf-8")
COMMON = {"type", "description"}  # every state has them; the section's opening text says so


def _section(title: str) -> str:
    """The text under a markdown heading, up to the next heading of any level."""
    m = re.search(rf"^#+ {re.escape(title)}\n(.*?)(?=^#)", DOC, re.S | re.M)
    assert m, f"docs/flows.md has no section '{title}'"
    return m.group(1)


def _state_rows() -> dict[str, str]:
    rows = {}
    for line in _section("States").splitlines():
        m = re.match(r"\| `([a-z]+)` \|(.*)", line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


def _keys_of(kind: str) -> set[str]:
    return set(SCHEMA["$defs"][kind].get("properties", {})) - COMMON


STATE_TYPES = SCHEMA["$defs"]["state"]["properties"]["type"]["enum"]


def test_the_state_table_has_a_row_per_state_type():
    assert sorted(_state_rows()) == sorted(STATE_TYPES)


@pytest.mark.parametrize("kind", STATE_TYPES)
def test_every_key_of_a_state_type_is_documented(kind):
    documented = _state_rows()[kind]
    if kind == "ask":  # the row says "(below)": its keys have their own table
        documented += _section("ask")
    missing = sorted(k for k in _keys_of(kind) if f"`{k}" not in documented and f"{k}:" not in documented)
    assert missing == [], f"docs/flows.md: the {kind} row does not name {missing}"


def test_the_common_state_keys_are_documented():
    states = _section("States")
    assert all(f"`{k}`" in states for k in COMMON)
    assert set(SCHEMA["$defs"]["state"]["properties"]) == COMMON


def test_every_top_level_key_is_documented():
    top = _section("Top level")
    missing = sorted(k for k in SCHEMA["properties"] if f"`{k}`" not in top)
    assert missing == []


def test_every_settings_key_is_documented():
    table = _section("settings")
    missing = sorted(k for k in SCHEMA["$defs"]["settings"]["properties"] if f"`{k}" not in table)
    assert missing == []
