"""Hostile files for the flow, flow-test and scorecard loaders, run under memory and time limits.

A loader's guarantee is: whatever the bytes, a model or a located `CallwrightError`
(or `SourceError` problems), never another exception, never unbounded time or memory.
The bombs run in a child process with an address-space limit and a timeout (the
`bounded` fixture in conftest.py), so a regression fails the test instead of
taking the machine down.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

_LOAD_ALL = textwrap.dedent("""
    import json, sys
    from callwright.errors import CallwrightError
    from callwright.flows.checker import check_file
    from callwright.flows.source import SourceError
    from callwright.qa.scorecard.loader import load_scorecard
    out = {}
    path = sys.argv[1]
    out["check"] = [str(p) for p in check_file(path) if p.severity == "error"]
    try:
        load_scorecard(path)
        out["scorecard"] = "loaded"
    except CallwrightError as err:
        out["scorecard"] = str(err)
    print(json.dumps(out))
""")


def load_everywhere(bounded, path: Path) -> dict[str, object]:
    """The flow checker and the scorecard loader on one file, in a bounded child process."""
    r = bounded(["-c", _LOAD_ALL, str(path)])
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout)


def merge_bomb() -> str:
    """Each level merges the previous one four times: 4**15 pairs if expanded naively."""
    lines = ["x:", "  <<:", "    - &a {k0: 0, k1: 1, k2: 2, k3: 3}"]
    prev = "a"
    for name in "bcdefghijklmno":
        lines.append(f"    - &{name} {{<<: [*{prev}, *{prev}, *{prev}, *{prev}]}}")
        prev = name
    return "\n".join(lines) + "\n"


def wide_merge_bomb() -> str:
    """Every level adds its own key whose value aliases the level below: the keys are distinct."""
    lines = ["x:", "  <<:", "    - &a {k0: [0, 0, 0, 0, 0, 0, 0, 0]}"]
    prev = "a"
    for i, name in enumerate("bcdefghijklmno", 1):
        lines.append(f"    - &{name} {{<<: [*{prev}, *{prev}], k{i}a: *{prev}, k{i}b: *{prev}}}")
        prev = name
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("text", [merge_bomb(), wide_merge_bomb()], ids=["repeated", "distinct-keys"])
def test_merge_key_bomb_is_refused_in_bounded_memory(tmp_path, bounded, text):
    assert len(text.encode()) < 1200
    f = tmp_path / "bomb.yaml"
    f.write_text(text)
    out = load_everywhere(bounded, f)
    # Whatever the verdict on the content, it is an error located in the file.
    assert out["check"] and all(e.startswith(f"{f}:") for e in out["check"])
    assert f"{f}:" in out["scorecard"]


def test_merge_bomb_over_the_budget_names_the_limit():
    from callwright.flows.source import MAX_MERGED, SourceError, parse

    lines = ["x:", "  <<:", "    - &a {" + ", ".join(f"k{i}: {i}" for i in range(400)) + "}"]
    lines += [f"    - {{<<: [{', '.join(['*a'] * 50)}]}}" for _ in range(10)]
    with pytest.raises(SourceError) as info:
        parse("\n".join(lines) + "\n", "bomb.yaml")
    p = info.value.problems[0]
    assert p.path == "bomb.yaml" and p.line >= 4
    assert "merge keys (<<) expand to too many keys" in p.message and f"{MAX_MERGED:,}" in p.message


@pytest.mark.parametrize("text", [
    "a: &a\n  <<: *a\n",
    "a: &a\n  k: 1\n  <<: [{<<: *a}]\n",
    "a: &a\n  b: &b\n    <<: *a\n  <<: *b\n",
], ids=["self", "through-a-sequence", "mutual"])
def test_self_referencing_merge_is_a_located_error(text):
    from callwright.flows.source import SourceError, parse

    with pytest.raises(SourceError) as info:
        parse(text, "loop.yaml")
    p = info.value.problems[0]
    assert p.path == "loop.yaml" and p.line >= 1
    assert "refers to the mapping it is in" in p.message


def test_merge_keys_keep_yaml_semantics():
    from callwright.flows.source import parse

    src = parse("base: &b {x: 1, y: 2}\nother: &o {y: 3, z: 4}\n"
                "m:\n  <<: [*b, *o]\n  x: 0\n", "m.yaml")
    # the mapping's own keys win, then earlier sources over later ones
    assert src.data["m"] == {"x": 0, "y": 2, "z": 4}
    assert src.pos(("m", "z")).line == 2


_APPLIES_IF = textwrap.dedent("""
    import sys
    from callwright.flows.expr import ExpressionError
    from callwright.qa.model import CallMeta, Transcript, Utterance
    from callwright.qa.scorecard import loads_scorecard
    from callwright.qa.scorecard.conditions import applies, environment
    card = loads_scorecard(sys.stdin.read(), "card.yaml")
    words = "thank you for calling " * 3000  # a long call: 66,000 characters
    transcript = Transcript("c1", 600.0, [Utterance("agent", 0.0, 600.0, words)])
    env = environment(transcript, None, CallMeta("c1", "inbound"))
    try:
        print("applies" if applies(card.items[0].applies_if, env) else "not applicable")
    except ExpressionError as err:
        print(f"refused: {err}")
""")


def test_applies_if_cannot_escape_the_text_limit(bounded):
    """`replace()` on the whole transcript used to build the result first (4 GB)."""
    card = textwrap.dedent("""\
        scorecard: t
        sections:
          - id: s
            items:
              - id: greeting
                kind: phrase
                phrases: [thank you for calling]
                applies_if: "len(text.replace('', text)) > 0"
    """)
    r = bounded(["-c", _APPLIES_IF], stdin=card)
    assert r.returncode == 0, r.stderr[-1000:]
    assert r.stdout.strip() == "refused: result would be longer than 10000 characters"
