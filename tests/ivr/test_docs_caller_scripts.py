"""docs/caller-scripts.md shows every kind of turn in an example that loads, and docs/flows.md
links it (issue 16, item 8: the caller-script format for `--audio` is documented)."""

from __future__ import annotations

import re
import wave
from pathlib import Path

from callwright.ivr.channels.script import KINDS, OPTIONS, TOP_KEYS, load_caller_script

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "caller-scripts.md").read_text(encoding="utf-8")


def _example() -> str:
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", DOC, re.S) if "turns:" in b]
    assert blocks, "docs/caller-scripts.md has no example script"
    return blocks[0]


def test_the_example_script_loads_and_shows_every_kind_of_turn(tmp_path):
    text = _example()
    for rel in re.findall(r"wav: (\S+)", text):  # the example's recording, as a real (silent) WAV
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(b"\0\0" * 800)
    script = tmp_path / "caller.yaml"
    script.write_text(text, encoding="utf-8")
    turns = load_caller_script(script)
    assert {t.kind for t in turns} == set(KINDS)
    for key in (*OPTIONS, *TOP_KEYS):
        assert re.search(rf"^\s*(- )?{key}:", text, re.M), f"the example does not show {key}"


def test_every_key_is_in_the_table():
    rows = {m for m in re.findall(r"^\| `([a-z]+)` \|", DOC, re.M)}
    assert set(KINDS) | set(OPTIONS) | set(TOP_KEYS) <= rows


def test_flows_md_links_the_caller_script_format():
    flows = (ROOT / "docs" / "flows.md").read_text(encoding="utf-8")
    assert "[caller-scripts.md](caller-scripts.md)" in flows and "--audio" in flows
