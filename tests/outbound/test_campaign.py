"""Campaign files: the documented example loads, and every mistake is an error at its line:col."""

import re
import subprocess
import sys
from datetime import time, timedelta
from pathlib import Path

import pytest

from callwright.errors import DataError
from callwright.outbound.campaign import load, load_campaign, loads

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "outbound.md"


def doc_example() -> str:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 1
    return blocks[0]


def test_the_documented_example_is_a_valid_campaign(tmp_path):
    path = tmp_path / "campaigns" / "november.yaml"
    path.parent.mkdir()
    path.write_text(doc_example().replace("../flows/", f"{ROOT}/flows/"))
    c = load_campaign(path)
    assert (c.name, c.list_name, c.caller_id, c.max_attempts) == (
        "november-reminders",
        "november",
        "+12125550100",
        4,
    )
    assert c.consent_required and c.consent_kind == "call"
    assert c.retry["busy"] == timedelta(minutes=15) and c.retry["answered_no_decision"] == timedelta(days=2)
    assert [str(w) for w in c.hours["mon"]] == ["08:00-12:00", "13:00-21:00"] and c.hours["sun"] == ()
    assert c.hours["sat"][0].start == time(10) and len(c.holidays) == 2
    assert (c.pacing.lines_per_agent, c.pacing.agents, c.pacing.max_lines) == (1.5, 4, 50)
    assert c.flow == (ROOT / "flows" / "outbound-reminder.yaml").resolve()


BASE = doc_example()


def _problems(text: str) -> list[str]:
    _, problems = loads(text, "c.yaml", base=ROOT / "docs")
    return [str(p) for p in problems]


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (
            '  mon: ["08:00-12:00", "13:00-21:00"]',
            '  mon: ["08:00-12:00", "11:30-21:00"]',
            "hours.mon[1]: window '11:30-21:00' overlaps '08:00-12:00'",
        ),
        ('  tue: ["08:00-21:00"]', '  tue: ["09:00-09:00"]', "hours.tue[0]: window '09:00-09:00' is empty"),
        ('  tue: ["08:00-21:00"]', '  tue: ["21:00-08:00"]', "hours.tue[0]: window '21:00-08:00' is empty"),
        (
            '  tue: ["08:00-21:00"]',
            '  tue: ["8-21"]',
            "hours.tue[0]: '8-21' is not valid (a window 'HH:MM-HH:MM'",
        ),
        (
            '  tue: ["08:00-21:00"]',
            '  tues: ["08:00-21:00"]',
            "hours: unknown key 'tues'; did you mean 'tue'?",
        ),
        ("  busy: 15m", "  bussy: 15m", "retry: unknown key 'bussy'; did you mean 'busy'?"),
        ("  busy: 15m", "  busy: soon", "retry.busy: 'soon' is not valid (a duration such as '90s'"),
        (
            "consent: required ",
            "consent: requird ",
            "consent: 'requird' is not one of required, not_required; did you mean 'required'?",
        ),
        ('  - "2026-11-26"', '  - "2026-02-30"', "holidays[0]: '2026-02-30' is not a date that exists"),
        ('caller_id: "+12125550100"', 'caller_id: "212-555-0100"', "caller_id: '212-555-0100' is not valid"),
        (
            "flow: ../flows/outbound-reminder.yaml",
            "flow: ../flows/nope.yaml",
            "flow: file '../flows/nope.yaml' not found",
        ),
        ("max_attempts: 4 ", "max_attempts: 0 ", "max_attempts: 0 must be at least 1"),
        ("  agents: 4 ", "  agents: robots ", "pacing.agents: "),
    ],
)
def test_each_mistake_is_reported_at_its_line(old, new, expected):
    assert old in BASE, old
    text = BASE.replace(old, new)
    problems = _problems(text)
    hit = [p for p in problems if expected in p]
    assert hit, problems
    assert hit[0].startswith(
        f"c.yaml:{_line_of(text, new.strip().split(':')[0] if 'unknown key' in expected else new.strip())}:"
    )


def test_no_window_at_all_is_an_error():
    text = re.sub(r"hours:.*?holidays:", "hours:\n  sun: []\nholidays:", BASE, flags=re.S)
    assert any("hours: no calling window on any day" in p for p in _problems(text))


def test_a_flow_with_errors_is_an_error_at_the_flow_key(tmp_path):
    (tmp_path / "f.yaml").write_text("start: a\nstates:\n  a: {type: play, say: hi, next: nowhere}\n")
    text = BASE.replace("flow: ../flows/outbound-reminder.yaml", "flow: f.yaml")
    _, problems = loads(text, "c.yaml", base=tmp_path)
    assert any(p.severity == "error" and "flow: 'f.yaml' has" in p.message for p in problems)


def test_load_campaign_raises_with_every_error_and_the_cli_exits_2(tmp_path):
    path = tmp_path / "bad.yaml"
    bad = BASE.replace("  busy: 15m", "  busy: soon").replace(
        '  tue: ["08:00-21:00"]', '  tue: ["09:00-09:00"]'
    )
    path.write_text(bad.replace("../flows/", f"{ROOT}/flows/"))
    with pytest.raises(DataError) as err:
        load_campaign(path)
    assert str(err.value).count("error:") == 2
    assert load(tmp_path / "missing.yaml")[1][0].message.startswith("cannot read file")
    r = subprocess.run(
        [sys.executable, "-m", "callwright", "campaign", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (
        r.returncode == 2
        and "bad.yaml:" in r.stdout
        and "is empty" in r.stdout
        and "Traceback" not in r.stderr
    )
