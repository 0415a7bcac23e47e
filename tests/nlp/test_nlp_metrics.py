"""Metric definitions and the rating data reader, on small hand-checked cases."""

from __future__ import annotations

import pytest

from callwright.errors import DataError
from callwright.nlp.metrics import accuracy, f1_per_label, macro_f1
from callwright.nlp.ratings import (
    LABELS,
    held_out_splits,
    label_for_rating,
    load_rated_texts,
    read_domain,
    split_held_out,
)


def test_macro_f1_matches_hand_computation():
    gold = ["positive", "positive", "negative", "neutral", "negative"]
    pred = ["positive", "negative", "negative", "positive", "negative"]
    # positive: tp1 fp1 fn1 -> 0.5; negative: tp2 fp1 fn0 -> 0.8; neutral: tp0 -> 0
    assert f1_per_label(gold, pred, LABELS) == pytest.approx([0.8, 0.0, 0.5])
    assert macro_f1(gold, pred, LABELS) == pytest.approx(1.3 / 3)
    assert accuracy(gold, pred) == pytest.approx(3 / 5)


def test_metric_lengths_must_match():
    with pytest.raises(ValueError):
        accuracy(["positive"], [])


@pytest.mark.parametrize(
    ("rating", "label"),
    [
        (-4.0, "negative"),
        (-0.5, "negative"),
        (-0.49, "neutral"),
        (0.0, "neutral"),
        (0.49, "neutral"),
        (0.5, "positive"),
        (3.2, "positive"),
    ],
)
def test_neutral_band_boundaries(rating, label):
    assert label_for_rating(rating) == label


def test_reader_handles_crlf_and_bad_bytes(tmp_path):
    path = tmp_path / "x.txt"
    path.write_bytes(b"1\t2.5\tGreat service\r\n2\t-1.0\tcaf\xe9 was cold\r\n\r\n3\t0.1\tok\r\n")
    rows = read_domain(path, "tweets")
    assert [r.text for r in rows] == ["Great service", "caf\ufffd was cold", "ok"]
    assert [r.label() for r in rows] == ["positive", "negative", "neutral"]


def test_reader_names_file_and_line_of_a_bad_row(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("1\t2.5\tfine\nnot a rating line\n")
    with pytest.raises(DataError, match=r"x\.txt:2"):
        read_domain(path, "tweets")


def test_missing_data_dir_says_where_to_put_it(tmp_path):
    with pytest.raises(DataError, match="--data"):
        load_rated_texts(tmp_path / "nope")


def test_split_is_seeded_disjoint_and_stratified(tmp_path):
    from callwright.nlp.ratings import RatedText

    rows = [
        RatedText("t", str(i), r, f"text {i}") for i, r in enumerate([-2.0] * 50 + [0.0] * 20 + [2.0] * 30)
    ]
    train, test = split_held_out(rows, 0.2, seed=1)
    again, _ = split_held_out(rows, 0.2, seed=1)
    assert train == again
    assert not {r.ident for r in train} & {r.ident for r in test}
    assert sorted(r.label() for r in test).count("neutral") == 4
    assert len(test) == 20


def test_limited_test_split_stays_inside_full_test_split(tmp_path):
    from callwright.nlp.ratings import RatedText

    rows = [RatedText("t", str(i), (i % 9) - 4.0, f"text {i}") for i in range(500)]
    _, full_test = held_out_splits({"t": rows})["t"]
    small_train, small_test = held_out_splits({"t": rows}, limit=100)["t"]
    full_ids = {r.ident for r in full_test}
    assert {r.ident for r in small_test} <= full_ids
    assert not {r.ident for r in small_train} & full_ids
