"""Imported transcripts are scored in groups whose texts are embedded together
(`PhraseMatcher.warm`, `qa.batch._run_group`): the verdicts, points and evidence must be the ones
the calls get scored one by one."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from test_qa_batch import TRANSCRIPT

from callwright.qa import batch
from callwright.qa.scorecard import load_scorecard
from callwright.qa.scorecard.matching import CallText
from callwright.store.qa_batch import score_batch
from conftest import CARDS

# paraphrases and omissions, so the calls differ in what matches and where
VARIANTS = [
    "This call may be recorded for quality and training purposes.",
    "Just so you know, we record calls to train our staff.",
    "",
    "We do not record this call.",
    "Calls are monitored. Anything else today?",
]


def _write(folder: Path) -> list[Path]:
    folder.mkdir()
    out = []
    for i, line in enumerate(VARIANTS):
        segs = [dict(s) for s in TRANSCRIPT["segments"]]
        segs[0]["text"] = f"Thank you for calling Acme, my name is Sam. {line} How can I help you today?"
        if i % 2:
            segs[2]["text"] = "Okay. Can I do anything more for you?"
        doc = {**TRANSCRIPT, "call_id": f"g-{i}", "segments": segs}
        if i == 4:  # a mono transcript: its rules opened to any speaker, warmed as such
            doc["segments"] = [{**s, "speaker": "unknown"} for s in segs]
        p = folder / f"g-{i}.json"
        p.write_text(json.dumps(doc))
        out.append(p)
    (folder / "g-bad.json").write_text("{not json")
    return out


def _select(db: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _rows(db: Path) -> list[tuple]:
    rows = _select(
        db,
        "select call_id, item_id, verdict, points, max_points, auto_fail, evidence from item_scores"
        " order by call_id, item_id",
    )
    scores = _select(db, "select * from scores order by 1")
    return [*rows, *[tuple(str(v) for v in r if "T" not in str(v)) for r in scores]]


@pytest.mark.usefixtures("float32_products")
def test_grouped_scoring_gives_the_results_of_one_by_one(tmp_path, engines, monkeypatch):
    # both runs in float32 products (the session's engines may hold vectors and sentiments earlier
    # tests computed with the default products: their caches empty themselves at the change)
    _write(tmp_path / "in")
    card = load_scorecard(CARDS["inbound"])
    warmed: list[int] = []
    real_warm = engines.matcher.warm
    monkeypatch.setattr(engines.matcher, "warm", lambda calls: warmed.append(len(calls)) or real_warm(calls))
    felt: list[int] = []
    real_feel = engines.sentiment.warm
    monkeypatch.setattr(engines.sentiment, "warm", lambda texts: felt.append(len(texts)) or real_feel(texts))

    monkeypatch.setattr(batch, "GROUP_CALLS", 1)
    one = score_batch([tmp_path / "in"], card, tmp_path / "one.db")
    assert warmed == []  # one by one: nothing warmed
    engines.matcher.forget()  # the grouped run embeds its own vectors, not the first run's
    monkeypatch.setattr(batch, "GROUP_CALLS", 8)
    prepared: list[object] = []
    real_init = CallText.__init__
    monkeypatch.setattr(
        CallText, "__init__", lambda self, *a, **k: prepared.append(a[0]) or real_init(self, *a, **k)
    )
    grouped = score_batch([tmp_path / "in"], card, tmp_path / "grouped.db")
    assert warmed == [3, 2]  # 5 readable transcripts, 1 worker: groups of ceil(5/2)
    assert len(prepared) == 5  # each call prepared once: scored from what was warmed
    assert len(felt) == 2 and min(felt) > 0  # the groups' utterances got their sentiment together

    assert len(one.of("scored")) == len(grouped.of("scored")) == 5
    assert [c.reason for c in grouped.of("error")] == [c.reason for c in one.of("error")] != []
    assert [c.path for c in grouped.calls] == [c.path for c in one.calls]
    a, b = _rows(tmp_path / "one.db"), _rows(tmp_path / "grouped.db")
    assert a == b and len(a) > 5 * 5
    verdicts = {r[2] for r in a if len(r) == 7}
    assert {"pass", "fail"} <= verdicts  # the variants do differ in what they pass
    assert any('"chars"' in r[6] or "chars" in r[6] for r in a if len(r) == 7)  # spans compared
    ua, ub = _feelings(tmp_path / "one.db"), _feelings(tmp_path / "grouped.db")
    assert [r[:2] for r in ua] == [r[:2] for r in ub] and len(ua) > 10  # same labels
    assert max(abs(x[2] - y[2]) for x, y in zip(ua, ub, strict=True)) <= 2e-4  # rounding apart


def _feelings(db: Path) -> list[tuple]:
    return _select(
        db,
        "select call_id || ':' || idx, sentiment_label, sentiment from utterances"
        " where sentiment is not null order by call_id, idx",
    )


def test_groups_keep_order_and_leave_no_worker_idle(tmp_path):
    from callwright.qa.model import CallMeta

    def job(name: str) -> batch._Job:
        return batch._Job(name, name, CallMeta(call_id=name), "c", "v")

    jobs = [job(f"t{i}.json") for i in range(30)]
    gs = batch.groups(jobs, 2)
    assert [len(g) for g in gs] == [8, 8, 8, 6] and [j for g in gs for j in g] == jobs
    mixed = [job("a.json"), job("r.wav"), job("b.json"), job("c.json")]
    assert [[j.path for j in g] for g in batch.groups(mixed, 1, size=2)] == [
        ["a.json", "b.json"],
        ["r.wav"],
        ["c.json"],
    ]
    assert batch.groups([], 2) == []


def test_the_language_option_or_metadata_chooses_a_scorecard_by_language(tmp_path, engines):
    from tests import cli_inprocess

    base = "sections:\n  - id: s\n    items:\n      - {id: greet, kind: phrase, phrases: [thank you for calling]}\n"
    es, en = tmp_path / "es.yaml", tmp_path / "en.yaml"
    es.write_text(f"scorecard: es\nversion: 1\nassign_if: \"language == 'es'\"\n{base}")
    en.write_text(f"scorecard: en\n{base}")
    cards = [load_scorecard(es), load_scorecard(en)]
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "told.json").write_text(json.dumps({**TRANSCRIPT, "call_id": "told", "language": "es-MX"}))
    (folder / "plain.json").write_text(json.dumps({**TRANSCRIPT, "call_id": "plain"}))
    s = score_batch([folder], cards, tmp_path / "a.db")
    assert {c.call_id: c.scorecard for c in s.calls} == {"told": "es", "plain": "en"}
    s = score_batch([folder], cards, tmp_path / "b.db", language="es")
    assert {c.call_id: c.scorecard for c in s.calls} == {"told": "es", "plain": "es"}
    assert all(c.score is not None for c in s.calls)  # scored by it, not left na

    # a rescore reads the language the call was stored in (told here; detected from audio)
    es.write_text(es.read_text().replace("version: 1", "version: 2"))
    r = cli_inprocess.run(
        "qa",
        "rescore",
        "--scorecard",
        str(es),
        "--scorecard",
        str(en),
        "--db",
        str(tmp_path / "b.db"),
        "--json",
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert sorted((c["call_id"], c["scorecard"]) for c in out["calls"]) == [("plain", "es"), ("told", "es")]
    assert all(c["score"] is not None for c in out["calls"])
