"""Migration 7 (issue 17 item 6): calls.attributes, a call's own metadata fields, kept (text
redacted) so `qa rescore` chooses a scorecard by them as `qa score` did."""

from __future__ import annotations

import dataclasses
import json

import pytest
from test_qa_store import scored

from callwright.store import migrations, schema
from callwright.store import qa as store
from callwright.store.db import open_db


def test_version_7_adds_the_column_and_keeps_every_call(tmp_path) -> None:
    path = tmp_path / "v6.db"
    with pytest.MonkeyPatch.context() as mp:  # the code as of version 6
        mp.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:6])
        mp.setattr(schema, "SCHEMA_VERSION", 6)
        db = open_db(path)
        db.table("calls").insert({"id": "c1", "started_at": "2026-12-03T10:00:00Z"})
        db.conn.close()
    db = open_db(path)
    assert db.execute("pragma user_version").fetchone()[0] == schema.SCHEMA_VERSION >= 7
    assert list(db.query("select id, attributes from calls")) == [{"id": "c1", "attributes": None}]


def test_attributes_are_stored_redacted_and_read_back(tmp_path) -> None:
    db = open_db(tmp_path / "qa.db")
    sc = scored()
    attrs = (("contact", "ann.lee@example.com"), ("priority", 3), ("region", "north"), ("vip", True))
    sc = dataclasses.replace(sc, meta=dataclasses.replace(sc.meta, attributes=attrs))
    assert store.save_scored_call(db, sc)
    raw = db.execute("select attributes from calls where id = 'c1'").fetchone()[0]
    assert "example.com" not in raw
    assert json.loads(raw) == {"contact": "[EMAIL]", "priority": 3, "region": "north", "vip": True}
    _, meta, _, _ = store.stored_call(db, "c1")
    assert meta.attributes == (("contact", "[EMAIL]"), ("priority", 3), ("region", "north"), ("vip", True))
