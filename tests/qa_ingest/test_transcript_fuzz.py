"""Hostile transcripts: whatever JSON an import holds, `read_transcript` gives a transcript or one
located CallwrightError, in bounded time and memory, never another exception (which would abort a
whole batch: a RecursionError did, issue 12). Values are drawn around the real format (its field
names, roles, numbers at the edges, NaN, control characters) so most examples get deep into it."""

from __future__ import annotations

import json
import math
import tracemalloc

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from callwright.errors import CallwrightError
from callwright.qa import ingest
from callwright.qa.model import Transcript

MAX_PEAK_BYTES = 64 << 20  # a transcript of this size needs a few MB; a blow-up shows far above

KEYS = [*ingest._TRANSCRIPT_KEYS, *ingest._SEGMENT_KEYS, *ingest._WORD_KEYS, *ingest.META_FIELDS, "x"]
ROLES = ["agent", "customer", "caller", "ivr", "unknown", "SPEAKER_00", ""]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 0.5, 1, 1e308, -0.0, 4111111111111111]),
    st.sampled_from(ROLES),
    st.text(max_size=20),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=10),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), inner, max_size=5),
    ),
    max_leaves=30,
)
segment = st.fixed_dictionaries(
    {
        "speaker": st.sampled_from(ROLES) | values,
        "start": values | st.floats(0, 100),
        "end": values | st.floats(0, 100),
        "text": st.text(max_size=40) | values,
    },
    optional={
        "words": st.lists(
            st.fixed_dictionaries(
                {"word": st.text(max_size=8) | values, "start": values, "end": values},
                optional={"confidence": values},
            ),
            max_size=4,
        )
        | values,
        "confidence": values,
        "x": values,
    },
)
transcripts = st.one_of(
    st.lists(segment, max_size=6),
    st.fixed_dictionaries(
        {"segments": st.lists(segment, max_size=6) | values},
        optional={
            "speakers": st.dictionaries(st.text(max_size=10), values, max_size=3) | values,
            "duration_s": values,
            "call_id": values,
            "direction": values,
            "agent": values,
            "started_at": values,
        },
    ),
    values,
)


@settings(
    max_examples=300,
    deadline=2000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=transcripts)
# Found on CI: a JSON integer past a float's range, which numpy cannot take.
@example(data=[{"speaker": "agent", "start": 0.0, "end": -9_223_372_036_854_775_809, "text": ""}])
@example(data={"segments": [], "duration_s": 10**400})
def test_any_transcript_is_read_or_refused_clearly(tmp_path, data):
    path = tmp_path / "call.json"
    path.write_text(json.dumps(data, allow_nan=True), encoding="utf-8")
    tracemalloc.start()
    try:
        result = ingest.read_transcript(path)
    except CallwrightError as e:
        assert str(e).strip(), "an error with no message"
        return
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < MAX_PEAK_BYTES, peak
    assert isinstance(result, Transcript)
    for u in result.utterances:  # what is accepted is usable: finite, ordered times
        assert math.isfinite(u.start) and math.isfinite(u.end) and u.start <= u.end


def test_a_transcript_nested_far_deeper_than_any_real_one_is_refused(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    try:
        ingest.read_transcript(path)
    except CallwrightError as e:
        assert "deep" in str(e).lower() or "nest" in str(e).lower(), e
    else:
        raise AssertionError("a 100,000-deep transcript was accepted")
