"""Subflow files: loaded once however they are spelled, bounded when they multiply, clear when missing."""

from __future__ import annotations

import textwrap
from pathlib import Path

from callwright.flows import loader
from callwright.flows.loader import MAX_SUBFLOW_DEPTH, load

SPELLINGS = ("d{}.yaml", "./d{}.yaml", "sub/../d{}.yaml", "././d{}.yaml")


def chain(folder: Path, levels: int, spellings: tuple[str, ...]) -> Path:
    """d0 calls d1 once per spelling, d1 calls d2 the same way, ...; the last one plays and returns."""
    (folder / "sub").mkdir(exist_ok=True)
    for i in range(levels):
        if i < levels - 1:
            states = "".join(
                f"  s{j}:\n    type: subflow\n    flow: {f.format(i + 1)}\n"
                f"    next: {f's{j + 1}' if j < len(spellings) - 1 else 'r'}\n"
                for j, f in enumerate(spellings)
            )
        else:
            states = "  s0:\n    type: play\n    prompt: hi\n    next: r\n"
        states += "  r:\n    type: return\n" if i else "  r:\n    type: hangup\n"
        (folder / f"d{i}.yaml").write_text(f"flow: d{i}\nstart: s0\nstates:\n{states}")
    return folder / "d0.yaml"


def test_each_subflow_file_is_loaded_once_however_it_is_spelled(tmp_path):
    res = load(chain(tmp_path, 4, SPELLINGS[:3]))
    assert not res.errors, res.errors
    d0 = res.flow
    subs = [d0.subflows[f.format(1)] for f in SPELLINGS[:3]]
    assert subs[0] is subs[1] is subs[2]  # one load of d1.yaml, not one per spelling
    d1 = subs[0]
    assert d1.subflows["d2.yaml"] is d1.subflows["./d2.yaml"]


_EIGHT_LEVELS = textwrap.dedent("""
    import sys, time
    from callwright.flows.checker import check_file
    t = time.monotonic()
    problems = [p for p in check_file(sys.argv[1]) if p.severity == "error"]
    print(round(time.monotonic() - t, 1))
    print("\\n".join(map(str, problems)))
""")


def test_subflows_spelled_many_ways_load_in_bounded_time(tmp_path, bounded):
    """8 levels, each calling the next 4 ways: 4**7 loads before (over 120 s); now 8 loads,
    and the 4**7 copies the engine would run are refused with the limit named."""
    top = chain(tmp_path, MAX_SUBFLOW_DEPTH, SPELLINGS)
    r = bounded(["-c", _EIGHT_LEVELS, str(top)], timeout=60)
    assert r.returncode == 0, r.stderr[-1000:]
    seconds, *errors = r.stdout.splitlines()
    assert float(seconds) < 20
    assert errors and all(e.startswith(f"{top}:") for e in errors)
    # the file where the copies pass the limit says so
    r1 = bounded(["-c", _EIGHT_LEVELS, str(tmp_path / "d1.yaml")], timeout=60)
    assert f"the limit is {loader.MAX_EXPANDED_STATES:,}" in r1.stdout, r1.stdout


def test_too_deep_is_not_called_a_loop_and_the_cause_is_named(tmp_path):
    top = chain(tmp_path, MAX_SUBFLOW_DEPTH + 1, SPELLINGS[:1])
    [p] = load(top).errors
    deepest = tmp_path / f"d{MAX_SUBFLOW_DEPTH - 1}.yaml"
    assert p.message == (
        f"subflow 'd1.yaml' has errors; the first: {deepest}:6:11: subflow "
        f"'d{MAX_SUBFLOW_DEPTH}.yaml' is nested too deep (a flow and its subflows "
        f"go at most {MAX_SUBFLOW_DEPTH} files deep)"
    )
    assert not load(tmp_path / "d1.yaml").errors  # one level less deep, it is fine


def test_a_subflow_path_to_a_folder_says_so(tmp_path):
    (tmp_path / "common").mkdir()
    f = tmp_path / "main.yaml"
    f.write_text(
        "flow: m\nstart: a\nstates:\n  a:\n    type: subflow\n    flow: common\n    next: b\n"
        "  b:\n    type: hangup\n"
    )
    res = load(f)
    [p] = res.errors
    assert (p.line, p.col) == (6, 11)
    assert p.message == f"subflow 'common': {tmp_path / 'common'} is a folder, not a flow file"
    f.write_text(f.read_text().replace("flow: common", "flow: nope.yaml"))
    [p] = load(f).errors
    assert p.message == f"subflow 'nope.yaml': file not found: {tmp_path / 'nope.yaml'}"


def test_a_subflow_through_a_symlink_loop_or_with_a_nul_byte_is_a_located_error(tmp_path):
    (tmp_path / "a.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    f = tmp_path / "main.yaml"
    f.write_text(
        "flow: m\nstart: a\nstates:\n  a:\n    type: subflow\n    flow: a.yaml\n    next: b\n"
        "  b:\n    type: hangup\n"
    )
    [p] = load(f).errors  # was RuntimeError: Symlink loop
    assert (p.line, p.col) == (6, 11) and "Too many levels of symbolic links" in p.message
    f.write_text(f.read_text().replace("flow: a.yaml", 'flow: "a\\0b"'))
    [p] = load(f).errors  # was ValueError: embedded null byte
    assert (p.line, p.col) == (6, 11) and "'a\\x00b' is not valid" in p.message


def test_flow_test_naming_a_looped_flow_file_is_a_located_error(tmp_path):
    import pytest

    from callwright.errors import CallwrightError
    from callwright.ivr.testing import run_test_files

    (tmp_path / "a.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    t = tmp_path / "x.test.yaml"
    t.write_text("flow: a.yaml\ntests:\n  - name: x\n")
    with pytest.raises(CallwrightError) as info:
        run_test_files([t])
    assert "a.yaml:1:1: error: cannot read file: Too many levels of symbolic links" in str(info.value)
