"""Fuzzing the flow loader and checker: whatever the bytes, a list of problems, never a crash."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callwright.common.source import Problem
from callwright.flows.checker import check
from callwright.flows.loader import loads

KEYS = [
    "flow",
    "start",
    "states",
    "type",
    "prompt",
    "next",
    "collect",
    "choices",
    "id",
    "dtmf",
    "speech",
    "cases",
    "if",
    "else",
    "vars",
    "settings",
    "timeouts",
    "retries",
    "on_failure",
    "languages",
    "open",
    "if_open",
    "if_closed",
    "queue",
    "callback",
    "flow",
    "into",
    "confirm",
    "subflow",
    "question",
    "digits",
    "min",
    "max",
    "holidays",
    "timezone",
    "yes",
    "no",
    "a",
    "b",
]
# keys of the data steps (http, function): every state may draw them too
DATA_KEYS = [
    "url",
    "method",
    "headers",
    "secret",
    "body",
    "save",
    "success",
    "failure",
    "on_timeout",
    "function",
    "args",
    "timeout",
    "retries",
    "sensitive",
    "examples",  # menu choices by example
    "intents",
    "threshold",
    "margin",
    "inputs",  # start variables
]
TYPES = [
    "play",
    "ask",
    "set",
    "branch",
    "hours",
    "queue",
    "transfer",
    "record",
    "subflow",
    "return",
    "survey",
    "hangup",
    "http",
    "function",
    "menu",
    "digits",
    "yesno",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**6),
    st.floats(allow_nan=True),
    st.sampled_from(TYPES + KEYS + DATA_KEYS),
    st.text(max_size=30),
    st.sampled_from(
        [
            "__import__('os').system('id')",
            "a == 1 and",
            "{x}",
            "{",
            "1/0",
            "'x' * 99999999",
            "caller_id.__class__",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS + DATA_KEYS), inner, max_size=5)
    ),
    max_leaves=25,
)


def _assert_problems(res_problems):
    for p in res_problems:
        assert isinstance(p, Problem) and p.line >= 1 and p.severity in ("error", "warning")


def _run(text: str) -> None:
    res = loads(text, "fuzz.yaml")
    _assert_problems(res.problems)
    if res.flow is not None:
        _assert_problems(check(res.flow))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_random_text(text):
    _run(text)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_through_the_decoder(raw):
    from callwright.common.source import SourceError, decode

    try:
        text = decode(raw, "fuzz.yaml")
    except SourceError as err:
        _assert_problems(err.problems)
        return
    _run(text)


state = st.fixed_dictionaries(
    {"type": st.sampled_from(TYPES)}, optional={k: values for k in KEYS[:30] + DATA_KEYS if k != "type"}
)
flows = st.fixed_dictionaries(
    {
        "flow": st.text(min_size=1, max_size=10),
        "start": st.sampled_from(["a", "b", "c"]),
        "states": st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), state, min_size=1, max_size=4),
    },
    optional={"settings": values, "variables": values, "languages": values},
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flows)
def test_structured_flows(flow):
    # JSON is valid YAML: this reaches the schema and checker with near-valid flows.
    _run(json.dumps(flow))


# near-valid data steps: every key present with a valid or hostile value, so the loader's
# own checks (timeouts, save paths, headers, body templates, arguments) are what answer
data_value = st.one_of(
    values,
    st.sampled_from(
        [
            "http://127.0.0.1/x/{rx}",
            "{api}/x",
            "ftp://x",
            "{rx",
            "{x:weird}",
            "61s",
            "0",
            "items.0.name",
            "a..b",
            "Bearer ",
            {"secret": "tok"},
            {"secret": "../etc"},
            {"X-Api": {"secret": "t", "prefix": "B "}},
            {"v": "items.-1"},
            {"rx": "__import__('os')"},
        ]
    ),
)
data_state = st.fixed_dictionaries(
    {"type": st.sampled_from(["http", "function"]), "success": st.just("b"), "failure": st.just("b")},
    optional={k: data_value for k in DATA_KEYS if k not in ("success", "failure")},
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data_state)
def test_data_steps(step):
    flow = {"flow": "f", "start": "a", "states": {"a": step, "b": {"type": "hangup"}}}
    _run(json.dumps(flow))
