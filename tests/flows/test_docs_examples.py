"""The state and settings examples of docs/flows.md load and pass the checker.

Why: designers copy these blocks; a block that no longer matches the schema (a renamed
key, a missing target) would teach them a mistake. Each YAML block that is a state (one
name mapping to a `type:`), a list of menu choices, or top-level keys (`inputs`,
`settings`...) is put in a minimal flow, with a hangup for every state it names, then
loaded and checked: no errors.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from callwright.flows.checker import check_file

ROOT = Path(__file__).resolve().parents[2]
BLOCKS = re.findall(r"```yaml\n(.*?)```", (ROOT / "docs" / "flows.md").read_text(), re.S)
TARGET_KEYS = (
    "next",
    "success",
    "failure",
    "on_timeout",
    "on_failure",
    "yes",
    "no",
    "else",
    "transferred",
    "failed",
)


def _flow_for(block: str) -> dict | None:
    data = yaml.safe_load(block)
    if not isinstance(data, dict):
        return None
    states: dict = {}
    top: dict = {"flow": "doc", "languages": ["en", "es"]}
    if "choices" in data:  # a menu's choices
        states["menu"] = {"type": "ask", "collect": "menu", "prompt": {"en": "?", "es": "?"}, **data}
    elif (
        len(data) == 1 and isinstance(next(iter(data.values())), dict) and "type" in next(iter(data.values()))
    ):
        states.update(data)
    elif set(data) <= {"inputs", "variables", "settings", "sensitive", "model"}:
        top.update(data)
    else:
        return None
    names: set[str] = set()

    def targets(node: object) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k in TARGET_KEYS and isinstance(v, str):
                    names.add(v)
                targets(v)
        elif isinstance(node, list):
            for v in node:
                targets(v)

    targets(states)
    targets(top.get("settings"))
    first = next(iter(states), None)
    for name in sorted(names - set(states)):
        states[name] = {"type": "hangup"}
    if first is None:
        first = "start"
        states.setdefault("start", {"type": "hangup"})
    return {**top, "start": first, "states": states}


CASES = [(i, f) for i, b in enumerate(BLOCKS) if (f := _flow_for(b)) is not None]


def test_the_new_examples_are_covered() -> None:
    kinds = " ".join(str(f) for _, f in CASES)
    needles = ("'http'", "'function'", "examples", "inputs", "'es': ['agente'", "'failed': 'agent-busy'")
    for needle in (*needles, "'model': 'base'", "'model': 'tiny.en'"):
        assert needle in kinds, needle


@pytest.mark.parametrize(("index", "flow"), CASES, ids=[f"block{i}" for i, _ in CASES])
def test_doc_example_loads_and_checks(tmp_path: Path, index: int, flow: dict) -> None:
    path = tmp_path / "doc.yaml"
    path.write_text(yaml.safe_dump(flow, allow_unicode=True))
    errors = [str(p) for p in check_file(path) if p.severity == "error"]
    # the examples read variables the docs' surrounding text sets: declare what they read
    unset = {m for e in errors for m in re.findall(r"variable '(\w+)' is not set", e)}
    if unset:
        flow = {**flow, "variables": {**flow.get("variables", {}), **{v: None for v in unset}}}
        path.write_text(yaml.safe_dump(flow, allow_unicode=True))
        errors = [str(p) for p in check_file(path) if p.severity == "error"]
    assert errors == [], f"docs/flows.md yaml block {index}:\n" + BLOCKS[index]
