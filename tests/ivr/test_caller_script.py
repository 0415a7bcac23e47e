"""Caller scripts: documented, refused with located errors, never a traceback (docs/caller-scripts.md)."""

import os
import subprocess
import sys
import tracemalloc
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callwright.errors import CallwrightError
from callwright.ivr.channels.audio import load_caller_script
from tests.conftest import FLOWS, ROOT


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "caller.yaml"
    p.write_text(text)
    return p


def refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(CallwrightError) as info:
        load_caller_script(write(tmp_path, text))
    return str(info.value)


def test_a_negative_delay_is_a_located_error(tmp_path):
    msg = refused(tmp_path, "turns:\n  - dtmf: '1'\n  - {say: billing, delay: -8}\n")
    assert "caller.yaml:3:27: error: delay -8 s is out of range: from 0 to 60 seconds" in msg


@pytest.mark.parametrize(
    "turn, where, words",
    [
        ("{silence: .nan}", "3:15", "finite"),
        ("{silence: .inf}", "3:15", "finite"),
        ("{silence: -2}", "3:15", "out of range"),
        ("{silence: 0}", "3:15", "out of range"),
        ("{silence: 100000000}", "3:15", "out of range"),
        ("{dtmf: '1', delay: 1.0e308}", "3:24", "out of range"),
        ("{dtmf: '1', delay: true}", "3:24", "number of seconds"),
        ("{dtmf: '1', delay: soon}", "3:24", "number of seconds"),
        ("{dtmf: '12x'}", "3:12", "not a phone key"),
        ("{dtmf: ''}", "3:12", "keys to press"),
        ("{dtmf: '" + "1" * 65 + "'}", "3:12", "at most 64"),
        ("{say: ''}", "3:11", "words the caller speaks"),
        ("{dmtf: '1'}", "3:6", "unknown key 'dmtf'"),
        ("{dtmf: '1', say: hi}", "3:5", "exactly one of"),
        ("{wav: missing.wav}", "3:11", "wav file not found"),
        ("{hangup: false}", "3:14", "hangup: true"),
        ("{say: hi, voice: [1]}", "3:22", "espeak-ng voice"),
        ("42", "3:5", "each turn is a mapping"),
    ],
)
def test_bad_values_are_refused_with_their_line_and_column(tmp_path, turn, where, words):
    msg = refused(tmp_path, f"turns:\n  - dtmf: '1'\n  - {turn}\n")
    assert f"caller.yaml:{where}: error:" in msg and words in msg, msg


def test_every_mistake_is_reported_at_once(tmp_path):
    msg = refused(tmp_path, "turns:\n  - {silence: -1}\n  - {dtmf: z}\n  - hangup\nextra: 1\n")
    assert "the caller script has 3 errors" in msg
    assert ":2:" in msg and ":3:" in msg and ":5:1: error: unknown key 'extra'" in msg


def test_not_a_script_and_hostile_files(tmp_path):
    assert "needs" not in refused(tmp_path, "- a list\n")
    assert "a caller script is a mapping with 'turns:'" in refused(tmp_path, "- a list\n")
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    assert "too many YAML nodes" in refused(tmp_path, bomb + "turns: []\n")


def test_a_valid_script_loads_with_its_lines(tmp_path):
    (tmp_path / "hello.wav").write_bytes(b"RIFF")
    turns = load_caller_script(
        write(
            tmp_path,
            (
                "description: a caller\nturns:\n  - {say: billing, voice: en-us, delay: 0}\n"
                "  - dtmf: 4111\n  - {silence: '2.5'}\n  - wav: hello.wav\n  - hangup\n"
            ),
        )
    )
    assert [(t.kind, t.line) for t in turns] == [
        ("say", 3),
        ("dtmf", 4),
        ("silence", 5),
        ("wav", 6),
        ("hangup", 7),
    ]
    assert turns[0].delay_s == 0.0 and turns[1].value == "4111" and turns[2].value == 2.5
    assert turns[3].value == tmp_path / "hello.wav"


def test_call_with_a_bad_script_exits_1_with_the_location_and_no_traceback(tmp_path):
    script = write(tmp_path, "turns:\n  - {say: billing, delay: -8}\n")
    db = tmp_path / "calls.db"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "callwright",
            "call",
            FLOWS / "inbound.yaml",
            "--audio",
            script,
            "--fast",
            "--db",
            db,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert f"{script}:2:27: error: delay -8 s is out of range" in r.stderr
    assert not db.exists()  # refused before any call row


def test_the_format_is_documented():
    doc = (ROOT / "docs" / "caller-scripts.md").read_text()
    for word in ("turns", "say", "dtmf", "silence", "wav", "hangup", "voice", "delay", "description"):
        assert f"`{word}`" in doc
    assert "out of range" in doc and "error:" in doc


# -- fuzz: whatever the text, a list of turns or a CallwrightError, within time and memory ---------

KEYS = ["turns", "description", "wav", "dtmf", "silence", "say", "hangup", "voice", "delay", "x"]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(KEYS + ["hangup", "1#", ".nan", "-8", "1e999", "../../etc/passwd"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)
    ),
    max_leaves=20,
)
PEAK_BYTES = 50_000_000


def _load_within_limits(tmp_path: Path, text: str) -> None:
    tracemalloc.start()
    try:
        try:
            turns = load_caller_script(write(tmp_path, text))
        except CallwrightError as err:
            assert str(err)
        else:
            assert isinstance(turns, list)
            for t in turns:
                assert t.kind in ("wav", "dtmf", "silence", "say", "hangup")
                assert 0 <= t.delay_s <= 60
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < PEAK_BYTES, f"loading took {peak:,} bytes"


@settings(
    max_examples=150,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(text=st.text(max_size=300))
def test_fuzz_random_text(tmp_path, text):
    _load_within_limits(tmp_path, text)


@settings(
    max_examples=150,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(turns=st.one_of(values, st.lists(values, max_size=6)))
def test_fuzz_structured_scripts(tmp_path, turns):
    import yaml

    _load_within_limits(tmp_path, yaml.safe_dump({"turns": turns}))
