"""Migration 5 (issue 17 item 5): a recording's transcript language, on a database at version 4."""

from __future__ import annotations

import pytest

from callwright.store import migrations, schema
from callwright.store.db import open_db


def test_version_5_adds_the_transcript_language_and_keeps_every_recording(tmp_path) -> None:
    path = tmp_path / "v4.db"
    with pytest.MonkeyPatch.context() as mp:  # the code as of version 4
        mp.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:4])
        mp.setattr(schema, "SCHEMA_VERSION", 4)
        db = open_db(path)
        assert "language" not in {c.name for c in db.table("recordings").columns}
        db.table("calls").insert({"id": "c1", "started_at": "2026-12-03T10:00:00Z"})
        db.table("recordings").insert(
            {
                "id": "r1",
                "call_id": "c1",
                "path": "c1.wav",
                "duration_s": 1.0,
                "ingested_at": "2026-12-03T10:00:00Z",
            }
        )
        db.conn.close()
    db = open_db(path)
    assert db.execute("pragma user_version").fetchone()[0] == schema.SCHEMA_VERSION >= 5
    columns = {c.name: c.type for c in db.table("recordings").columns}
    assert columns["language"] == "TEXT" and columns["language_probability"] == "FLOAT"
    assert list(db.query("select id, language, language_probability from recordings")) == [
        {"id": "r1", "language": None, "language_probability": None}
    ]
