"""docs/datasette-metadata.json describes every table, view and column of a freshly migrated
database (so it stays true when a migration adds one), and nothing that is not there."""

from __future__ import annotations

import json
from pathlib import Path

from callwright.store.db import open_db

METADATA = Path(__file__).resolve().parents[2] / "docs" / "datasette-metadata.json"


def test_every_table_and_column_is_described(tmp_path):
    db = open_db(tmp_path / "fresh.db")
    try:
        schema = {
            name: [c[1] for c in db.execute(f"pragma table_info([{name}])")]
            for (name,) in db.execute(
                "select name from sqlite_master where type in ('table', 'view') and name not like 'sqlite_%'"
            )
        }
    finally:
        db.conn.close()
    tables = json.loads(METADATA.read_text(encoding="utf-8"))["databases"]["callwright"]["tables"]
    missing = sorted(set(schema) - set(tables))
    assert not missing, f"tables or views without a description in {METADATA.name}: {missing}"
    assert not sorted(set(tables) - set(schema)), "described but not in the schema"
    for name, columns in schema.items():
        meta = tables[name]
        assert str(meta.get("description", "")).strip(), f"{name}: no description"
        described = meta.get("columns", {})
        undescribed = [c for c in columns if not str(described.get(c, "")).strip()]
        assert not undescribed, f"{name}: columns without a description: {undescribed}"
        assert not set(described) - set(columns), f"{name}: described columns it does not have"
    for hidden in ("users", "sessions", "web_secret"):
        assert tables[hidden].get("allow") is False
