"""Hostile files for the flow, flow-test and scorecard loaders, run under memory and time limits.

A loader's guarantee is: whatever the bytes, a model or a located `CallwrightError`
(or `SourceError` problems), never another exception, never unbounded time or memory.
The bombs run in a child process with an address-space limit (`MEM_LIMIT`) and a
timeout, so a regression fails the test instead of taking the machine down.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

MEM_LIMIT = 1 << 30  # 1 GiB of address space: a loader needs well under 200 MB
TIMEOUT_S = 60


def _limits() -> None:  # runs in the child, before exec
    resource.setrlimit(resource.RLIMIT_AS, (MEM_LIMIT, MEM_LIMIT))


def bounded(args: list[str], *, stdin: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python ARGS` under the memory limit and the timeout (TimeoutExpired fails the test)."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, *args], input=stdin, capture_output=True, text=True,
                          timeout=TIMEOUT_S, preexec_fn=_limits, env=env, cwd=cwd)


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


def load_everywhere(path: Path) -> dict[str, object]:
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
def test_merge_key_bomb_is_refused_in_bounded_memory(tmp_path, text):
    assert len(text.encode()) < 1200
    f = tmp_path / "bomb.yaml"
    f.write_text(text)
    out = load_everywhere(f)
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
