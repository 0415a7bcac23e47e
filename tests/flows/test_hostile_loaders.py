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
    from callwright.common.source import MAX_MERGED, SourceError, parse

    lines = ["x:", "  <<:", "    - &a {" + ", ".join(f"k{i}: {i}" for i in range(400)) + "}"]
    lines += [f"    - {{<<: [{', '.join(['*a'] * 50)}]}}" for _ in range(10)]
    with pytest.raises(SourceError) as info:
        parse("\n".join(lines) + "\n", "bomb.yaml")
    p = info.value.problems[0]
    assert p.path == "bomb.yaml" and p.line >= 4
    assert "merge keys (<<) expand to too many keys" in p.message and f"{MAX_MERGED:,}" in p.message


@pytest.mark.parametrize(
    "text",
    [
        "a: &a\n  <<: *a\n",
        "a: &a\n  k: 1\n  <<: [{<<: *a}]\n",
        "a: &a\n  b: &b\n    <<: *a\n  <<: *b\n",
    ],
    ids=["self", "through-a-sequence", "mutual"],
)
def test_self_referencing_merge_is_a_located_error(text):
    from callwright.common.source import SourceError, parse

    with pytest.raises(SourceError) as info:
        parse(text, "loop.yaml")
    p = info.value.problems[0]
    assert p.path == "loop.yaml" and p.line >= 1
    assert "refers to the mapping it is in" in p.message


def test_merge_keys_keep_yaml_semantics():
    from callwright.common.source import parse

    src = parse("base: &b {x: 1, y: 2}\nother: &o {y: 3, z: 4}\nm:\n  <<: [*b, *o]\n  x: 0\n", "m.yaml")
    # the mapping's own keys win, then earlier sources over later ones
    assert src.data["m"] == {"x": 0, "y": 2, "z": 4}
    assert src.pos(("m", "z")).line == 2


_APPLIES_IF = textwrap.dedent("""
    import sys
    from callwright.common.expr import ExpressionError
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


# --- fuzzing: any text gives a model or a CallwrightError, in bounded time and memory --------

_FUZZ = textwrap.dedent("""
    \"\"\"Run in a child process under the memory limit: every example must end in a model or a
    located error. Prints the number of examples run and the slowest one's seconds.\"\"\"
    import sys, time
    from datetime import timedelta
    from hypothesis import HealthCheck, given, settings, strategies as st
    from callwright.errors import CallwrightError
    from callwright.flows.checker import check
    from callwright.flows.loader import loads
    from callwright.qa.scorecard import loads_scorecard

    HOSTILE = ["0", "-1", "1e309", ".nan", ".inf", "-.inf", "99999999999999999999999", "true", "yes",
               "null", "2026-13-45", "'s\\\\n'", "!!python/object/apply:os.system ['id']",
               "!!binary aGk=", "!!set {a, b}", "!!str 5", "!custom x", "[]", "{}"]
    PROMPTS = ["hi", "'{x}'", "'{x:digits}'", "'{'", "'{account:weird}'", "{en: hi, es: hola}"]
    TARGETS = ["s0", "s1", "s2", "s3", "s4", "'s1\\\\n'", "nowhere", "s0.x"]
    EXPRS = ["'x == 1'", "\\"round(5, -1000000000) > 1\\"", "\\"s.replace('', 'x' * 9999) == ''\\"",
             "\\"str([['a' * 9999] * 1000] * 1000) == ''\\"", "\\"'%0999999999d' % 1\\"",
             "\\"number('nan') < 1\\"", "\\"x.startswith()\\"", "\\"__import__('os')\\"", "'1e999 > 1'",
             "'hour() < 17'", "'('"]
    DURATIONS = ["5s", ".nan", "1e309", "-1", "99999999m", "0", "'3601s'", "'9999999999999999999999s'"]
    HOURS = ["'09:00-17:00'", "'25:00-29:99'", "closed", "['09:00-12:00', '13:00-5pm']", "5", ".nan"]
    URLS = ["'http://127.0.0.1/{x}'", "'{x}/y'", "ftp://h", "'{'", "X"]
    SUBFLOWS = ["/", "..", ".", "/dev/null", "/proc/self/status", "/etc/passwd", "nope.yaml",
                "'\\\\0'", "'" + "x" * 5000 + "'"]
    STATES = [
        "{type: play, prompt: P, next: T}",
        "{type: ask, collect: menu, prompt: P, choices: [{id: one, dtmf: '1', next: T}], on_failure: T}",
        "{type: ask, collect: digits, prompt: P, digits: {min: 1, max: 4}, into: acct, next: T, "
        "timeouts: {no_input: D}, accept_confidence: H2}",
        "{type: branch, cases: [{if: E, next: T}], else: T}",
        "{type: set, vars: {x: E}, next: T}",
        "{type: hours, open: {mon: H}, if_open: T, if_closed: T}",
        "{type: queue, queue: q, callback: {when_wait_over: D, next: T}}",
        "{type: subflow, flow: F, next: T}",
        "{type: record, prompt: P, max_duration: D, next: T}",
        "{type: http, url: U, headers: {A: {secret: X}, B: P}, body: {x: P, y: [P, X]}, timeout: D, "
        "retries: N, save: {v: X}, success: T, failure: T, on_timeout: T}",
        "{type: function, function: X, args: {a: E}, timeout: D, save: {v: X}, success: T, failure: T}",
        "{type: hangup}", "{type: return}", "X",
    ]
    ITEMS = [
        "{id: I, kind: phrase, phrases: [thank you], applies_if: E, points: N}",
        "{id: I, kind: metric, metric: dead_air_longest_s, max: N}",
        "{id: I, kind: order, first: I, then: {phrases: [bye]}}",
        "{id: I, kind: forbidden, phrases: [X], threshold: N}", "X",
    ]

    def fill(draw, template, names):
        out = []
        for ch in template.split(" "):
            for slot, pool in (("P", PROMPTS), ("T", names), ("E", EXPRS), ("D", DURATIONS),
                               ("H2", HOSTILE), ("H", HOURS), ("U", URLS), ("F", SUBFLOWS), ("X", HOSTILE),
                               ("N", HOSTILE + ["1", "0.5", "100"]), ("I", ["i0", "i1", "'i\\\\n'", "x"])):
                core = ch.rstrip(",}]")
                if core == slot:
                    ch = draw(st.sampled_from(pool)) + ch[len(core):]
                    break
            out.append(ch)
        return " ".join(out)

    @st.composite
    def with_aliases(draw, head, key, templates, names, override):
        \"\"\"Entries that are fresh, aliases of earlier ones, or merges of earlier ones.\"\"\"
        lines, anchored = [head], []
        for i in range(draw(st.integers(1, 8))):
            kind = draw(st.integers(0, 9)) if anchored else 0
            if kind <= 5:
                value = f"&e{i} " + fill(draw, draw(st.sampled_from(templates)), names)
                anchored.append(i)
            elif kind == 6:
                value = f"*e{draw(st.sampled_from(anchored))}"
            elif kind <= 8:
                refs = draw(st.lists(st.sampled_from(anchored), min_size=1, max_size=6))
                value = f"&e{i} {{<<: [" + ", ".join(f"*e{r}" for r in refs) + f"], {override}}}"
                anchored.append(i)
            else:
                value = f"&e{i} {{<<: *e{i}}}"  # a merge of itself
            lines.append(key(i, value))
        return "\\n".join(lines) + "\\n"

    flows = with_aliases("flow: f\\nstart: s0\\nstates:", lambda i, v: f"  s{i}: {v}", STATES, TARGETS,
                         "next: s0")
    cards = with_aliases("scorecard: c\\nsections:\\n  - id: s\\n    items:",
                         lambda i, v: f"      - {v}", ITEMS, TARGETS, "id: m")

    slowest = [0.0]
    count = [0]

    @settings(max_examples=int(sys.argv[1]), deadline=timedelta(seconds=20), database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.one_of(flows, cards, st.text(max_size=300)))
    def fuzz(text):
        start = time.monotonic()
        res = loads(text, "fuzz.yaml")
        for p in res.problems:
            assert p.path.startswith(("fuzz.yaml", "/", "nope", ".")) and p.line >= 1, p
        if res.flow is not None:
            check(res.flow)
        try:
            loads_scorecard(text, "fuzz.yaml")
        except CallwrightError as err:
            assert "fuzz.yaml" in str(err)
        slowest[0] = max(slowest[0], time.monotonic() - start)
        count[0] += 1

    if len(sys.argv) > 2:  # show what the strategies make, to tune them
        for s in (flows, cards):
            for _ in range(int(sys.argv[2])):
                text = s.example()
                res = loads(text, "f.yaml")
                print(repr(text[:300]), "->", res.problems[0].message[:60] if res.problems else "LOADED")
        sys.exit(0)
    fuzz()
    print(count[0], round(slowest[0], 2))
""")


def test_fuzzed_flow_and_scorecard_files_give_a_model_or_a_located_error(bounded):
    """Hostile-looking YAML (anchors, aliases, merges, tags, deep nesting, NaN, huge numbers,
    expressions that would hang) through both loaders, in a child under 1 GiB: any other
    exception, a hang or a memory blow-up fails."""
    r = bounded(["-c", _FUZZ, "150"], timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    count, slowest = r.stdout.split()
    assert int(count) >= 150 and float(slowest) < 20


_HOSTILE_FLOWS = {
    "merge-bomb.yaml": merge_bomb(),
    "self-merge.yaml": "flow: x\nstart: a\nstates: &s\n  <<: *s\n",
    "nan.yaml": "flow: x\nstart: a\nstates:\n  a:\n    type: play\n    prompt: hi\n    next: a\n"
    "settings: {timeouts: {no_input: .nan}}\n",
    "newline-name.yaml": 'flow: x\nstart: a\nstates:\n  "a\\n":\n    type: hangup\n',
    "hours.yaml": "flow: x\nstart: h\nstates:\n  h:\n    type: hours\n    open: {mon: '25:00-29:99'}\n"
    "    if_open: h\n    if_closed: h\n",
    "folder-subflow.yaml": "flow: x\nstart: a\nstates:\n  a:\n    type: subflow\n    flow: .\n"
    "    next: b\n  b:\n    type: hangup\n",
    "round.yaml": "flow: x\nstart: a\nstates:\n  a:\n    type: branch\n    cases:\n"
    "      - {if: 'round(5, -1000000000) > 1', next: a}\n    else: a\n",
    "binary.yaml": "\x00\x01",
}


def test_flow_check_on_hostile_files_exits_2_without_a_traceback(tmp_path, bounded):
    """All the files in one bounded `flow check` (one process, not one each): each is reported
    with a located error, and none takes the memory, the time or the others' reports with it."""
    files = []
    for name, text in _HOSTILE_FLOWS.items():
        files.append(tmp_path / name)
        files[-1].write_text(text)
    r = bounded(["-m", "callwright", "flow", "check", *map(str, files)], timeout=60)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr[-1500:])
    assert "Traceback" not in r.stderr, r.stderr[-1500:]
    for f in files:
        assert any(line.startswith(f"{f}:") and ": error: " in line for line in r.stdout.splitlines()), (
            f.name,
            r.stdout,
        )


def test_flow_test_on_a_merge_bomb_test_file_is_a_located_error(tmp_path, bounded):
    f = tmp_path / "bomb.test.yaml"
    f.write_text(merge_bomb())
    r = bounded(["-m", "callwright", "flow", "test", str(f)], timeout=60)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-1500:]
    assert f"{f}:" in r.stderr and ": error: " in r.stderr, r.stderr


_FUZZ_FLOW_TESTS = textwrap.dedent('''
    """Flow test files with hostile values, run against the sample inbound flow."""
    import sys, tempfile
    from datetime import timedelta
    from pathlib import Path
    from hypothesis import HealthCheck, given, settings, strategies as st
    from callwright.errors import CallwrightError
    from callwright.ivr.testing import run_test_files

    FLOW = sys.argv[2]
    VALUES = ["7", ".nan", ".inf", "1e308", "1.0e+308", "-1", "'1'", "'4111#'", "billing", "'yes'",
              "[1, 2]", "{a: 1}", "null", "true", "'0001-01-01T00:00:00'", "'9999-12-31T23:59:59'",
              "'2026-11-23T10:00:00-05:00'", "'x' ", "''", "'\\\\u0000'", "99999999999999999999"]
    STEP_KEYS = ["say", "press", "silence", "record", "hangup", "confidence", "expect", "other"]
    CONTEXT_KEYS = ["time", "caller_id", "language", "queue_wait", "vars", "mocks", "steps", "expect", "tmie"]
    MOCKS = ["{lookup: {json: {status: ready, drug: {name: x}}}}", "{lookup: {status: 99999}}", "{lookup: 5}",
             "{lookup: {timeout: true}}", "{pickup-window: {raises: x}}", "{lookup: {body: [1]}}",
             "{lookup: {json: .nan}}", "{lookup: {json: {status: !!binary aGk=}}}", "{lookup: {statuss: 1}}",
             "{nowhere: {json: 1}}", "[1]", "{lookup: {status: true}}", "{lookup: {json: {status: [[[[1]]]]}}}"]

    @st.composite
    def test_files(draw):
        steps = []
        for _ in range(draw(st.integers(0, 6))):
            keys = draw(st.lists(st.sampled_from(STEP_KEYS), min_size=1, max_size=2, unique=True))
            steps.append("{" + ", ".join(f"{k}: {draw(st.sampled_from(VALUES))}" for k in keys) + "}")
        context = {k: draw(st.sampled_from(MOCKS if k == "mocks" else VALUES)) for k in
                   draw(st.lists(st.sampled_from(CONTEXT_KEYS[:6]), max_size=3, unique=True))}
        if "queue_wait" in context and draw(st.booleans()):
            context["queue_wait"] = "{billing: %s}" % draw(st.sampled_from(VALUES))
        lines = [f"flow: {FLOW}", "tests:", "  - name: fuzz"]
        lines += [f"    {k}: {v}" for k, v in context.items()]
        lines += ["    steps: [" + ", ".join(steps) + "]"]
        return "\\n".join(lines) + "\\n"

    count = [0]
    folder = Path(tempfile.mkdtemp())

    @settings(max_examples=int(sys.argv[1]), deadline=timedelta(seconds=30), database=None,
              suppress_health_check=list(HealthCheck))
    @given(test_files())
    def fuzz(text):
        f = folder / "fuzz.test.yaml"
        f.write_text(text)
        try:
            run_test_files([f])
        except CallwrightError as err:
            assert "fuzz.test.yaml" in str(err), err
        count[0] += 1

    fuzz()
    print(count[0])
''')


def test_fuzzed_flow_test_files_give_results_or_a_located_error(bounded):
    from tests.conftest import FLOWS

    r = bounded(["-c", _FUZZ_FLOW_TESTS, "60", str(FLOWS / "inbound.yaml")], timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert int(r.stdout.split()[0]) >= 60


def test_fuzzed_flow_test_files_with_mocks_of_data_steps(bounded):
    """The same against the refill sample, whose http and function steps take `mocks:`."""
    from tests.conftest import FLOWS

    r = bounded(["-c", _FUZZ_FLOW_TESTS, "60", str(FLOWS / "refill.yaml")], timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert int(r.stdout.split()[0]) >= 60
