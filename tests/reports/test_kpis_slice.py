"""The dashboard's filters (store.kpis.Slice): the KPIs of one queue, team, agent or direction are
exactly the report's row for it when the report is grouped by that dimension, family by family
(one formula: the slice only chooses the rows the same rollup reads)."""

from __future__ import annotations

import math
from dataclasses import asdict, replace

import pytest

from callwright.reports.kpis import build_report, make_params
from callwright.reports.synthetic import SyntheticSpec, generate
from callwright.store import kpis as sql
from callwright.store.db import open_db


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    d = open_db(tmp_path_factory.mktemp("slice") / "s.db")
    generate(d, SyntheticSpec(calls=3000, days=10, seed=3, qa_share=0.5))
    return d


def _same(a: object, b: object) -> None:
    da, dbb = asdict(a), asdict(b)  # type: ignore[call-overload]
    da.pop("group"), dbb.pop("group")
    for k, v in da.items():
        w = dbb[k]
        if isinstance(v, float) and isinstance(w, float):
            assert math.isclose(v, w, rel_tol=1e-9, abs_tol=1e-9), k
        else:
            assert v == w, k


@pytest.mark.parametrize("dim", ["agent", "team", "queue", "direction"])
@pytest.mark.parametrize("sl_threshold", ["80/20", "80/17"])  # a kept threshold and one corrected
def test_a_slice_is_the_grouped_reports_row(db, dim, sl_threshold):
    grouped = build_report(db, make_params("2026-01-01", "2026-01-10", group_by=dim, sl=sl_threshold))
    families = grouped.queues + grouped.inbound + grouped.qa + grouped.outbound
    values = sorted({g.group for g in families if g.group is not None})
    assert len(values) >= 2
    for value in values[:3]:
        p = replace(grouped.params, group_by="day", filters=sql.Slice(**{dim: value}))
        sliced = build_report(db, p)
        for total, rows in (
            (sliced.inbound_total, grouped.inbound),
            (sliced.queue_total, grouped.queues),
            (sliced.outbound_total, grouped.outbound),
            (sliced.qa_total, grouped.qa),
        ):
            row = next((r for r in rows if r.group == value), None)
            if row is None:
                assert total == type(total)(group="all")
            else:
                _same(total, row)


def test_an_empty_slice_changes_nothing_and_a_filtered_report_has_no_waterfall(db):
    p = make_params("2026-01-01", "2026-01-10")
    assert not sql.ALL and sql.Slice(agent="x")
    whole = build_report(db, p)
    assert whole.waterfall
    assert build_report(db, replace(p, filters=sql.Slice())) == whole
    one = build_report(db, replace(p, filters=sql.Slice(direction="inbound")))
    assert one.waterfall == ()
    assert sum(b.n for b in one.distributions["csat"]) == one.inbound_total.csat_n


def test_slice_values_are_parameters_never_sql(db):
    p = make_params("2026-01-01", "2026-01-10")
    r = build_report(db, replace(p, filters=sql.Slice(agent="x' or 1=1 --")))
    assert r.qa_total.scored == 0 and r.queue_total.offered == 0
