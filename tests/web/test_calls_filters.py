"""The calls list's sentiment filters (the caller's ending sentiment, the caller's mean sentiment)
and the full-text search of words with apostrophes and quoted phrases, over the real scored
database (sentiment from the real model)."""

from __future__ import annotations

import re
import sqlite3

from tests.web.conftest import sign_in


def _listed(html: str) -> list[str]:
    return re.findall(r'<tr data-call="([^"]+)"', html)


def _caller_sentiments(path) -> dict[str, list[float]]:
    con = sqlite3.connect(path)
    try:
        out: dict[str, list[float]] = {}
        for call_id, s in con.execute(
            "select call_id, sentiment from utterances where speaker = 'customer' "
            "and sentiment is not null order by call_id, idx"
        ):
            out.setdefault(call_id, []).append(s)
        return out
    finally:
        con.close()


def _label(values: list[float]) -> str:
    from callwright.store.reviews import (
        SENTIMENT_END_UTTERANCES,
        SENTIMENT_NEGATIVE_BELOW,
        SENTIMENT_POSITIVE_ABOVE,
    )

    last = values[-SENTIMENT_END_UTTERANCES:]
    mean = sum(last) / len(last)
    if mean < SENTIMENT_NEGATIVE_BELOW:
        return "negative"
    return "positive" if mean > SENTIMENT_POSITIVE_ABOVE else "neutral"


def test_the_callers_ending_sentiment_filter(client, db_copy):
    # make one call's caller end angry (their last utterances strongly negative), so the negative
    # list cannot be empty by accident
    con = sqlite3.connect(db_copy.path)
    with con:
        con.execute(
            "update utterances set sentiment = -0.9, sentiment_label = 'negative' "
            "where call_id = 'inbound-billing-ok' and speaker = 'customer'"
        )
    con.close()
    per_call = _caller_sentiments(db_copy.path)
    sign_in(client, "rita")
    seen: set[str] = set()
    for label in ("negative", "neutral", "positive"):
        r = client.get("/calls", params={"end_sentiment": label})
        assert r.status_code == 200
        got = set(_listed(r.text))
        assert got == {c for c, v in per_call.items() if _label(v) == label}, label
        assert not got & seen
        seen |= got
    assert "inbound-billing-ok" in set(
        _listed(client.get("/calls", params={"end_sentiment": "negative"}).text)
    )
    assert seen == set(per_call) <= set(db_copy.calls)


def test_the_callers_mean_sentiment_range(client, db_copy):
    per_call = _caller_sentiments(db_copy.path)
    means = {c: sum(v) / len(v) for c, v in per_call.items()}
    cut = sorted(means.values())[len(means) // 2]
    sign_in(client, "rita")
    low = set(_listed(client.get("/calls", params={"smax": f"{cut:.6f}"}).text))
    high = set(_listed(client.get("/calls", params={"smin": f"{cut:.6f}"}).text))
    assert low == {c for c, m in means.items() if m <= round(cut, 6)}
    assert high == {c for c, m in means.items() if m >= round(cut, 6)}
    assert low and high and low | high == set(means)


def test_bad_sentiment_values_are_named(client):
    sign_in(client, "rita")
    r = client.get("/calls", params={"end_sentiment": "furious", "smin": "2", "smax": "x"})
    assert r.status_code == 400
    for field in ("end_sentiment", "smin", "smax"):
        assert f'data-field="{field}"' in r.text


def test_an_apostrophe_and_a_quoted_phrase_are_searched_as_words(client, db_copy):
    """`don't` and `"recorded line"` are words and a phrase, never FTS5 syntax: 200, no error shown,
    and each finds exactly the calls whose transcript has it."""
    con = sqlite3.connect(db_copy.path)
    texts = {}
    for call_id, text in con.execute("select call_id, text from utterances"):
        texts.setdefault(call_id, []).append(text.lower())
    con.close()
    sign_in(client, "rita")
    for query, needle in (("don't", "don't"), ('"recorded line"', "recorded line")):
        r = client.get("/calls", params={"q": query})
        assert r.status_code == 200 and 'class="error"' not in r.text, query
        expected = {
            c for c, ts in texts.items() if any(re.search(rf"\b{re.escape(needle)}\b", t) for t in ts)
        }
        assert set(_listed(r.text)) == expected, query
    assert any("recorded line" in t for ts in texts.values() for t in ts)  # the phrase is in the data
