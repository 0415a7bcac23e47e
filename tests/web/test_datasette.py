"""docs/datasette-metadata.json: Datasette hides the accounts, sessions and signing key, and
arbitrary SQL that could read them; the scores of record stay browsable."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
METADATA = ROOT / "docs" / "datasette-metadata.json"
DATASETTE = shutil.which("datasette", path=str(ROOT / ".venv" / "bin")) or shutil.which("datasette")

pytestmark = pytest.mark.skipif(DATASETTE is None, reason="datasette is not installed")


def _get(db: Path, path: str) -> str:
    done = subprocess.run(
        [DATASETTE, str(db), "--metadata", str(METADATA), "--get", path],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout


def test_secrets_are_hidden_and_scores_are_not(db_copy, tmp_path):
    db = tmp_path / "callwright.db"  # the database name the metadata describes
    shutil.copy(db_copy.path, db)
    for path in ("/callwright/users.json", "/callwright/sessions.json", "/callwright/web_secret.json"):
        assert "<title>Forbidden</title>" in _get(db, path), path
    assert "<title>Forbidden</title>" in _get(db, "/callwright.json?sql=select+password_hash+from+users")
    rows = json.loads(_get(db, "/callwright/scores_of_record.json?_shape=array"))
    assert {r["call_id"] for r in rows} == set(db_copy.calls)


def test_foreign_keys_link_calls_and_the_views_and_descriptions_show(db_copy, tmp_path):
    db = tmp_path / "callwright.db"
    shutil.copy(db_copy.path, db)
    recordings = json.loads(_get(db, "/callwright/recordings.json?_shape=array&_labels=on"))
    assert recordings and all(isinstance(r["call_id"], dict) for r in recordings)  # a link to its call
    assert {r["call_id"]["value"] for r in recordings} == set(db_copy.calls)
    page = _get(db, "/callwright/scored_calls")  # the view, with its column descriptions
    assert "the score of record" in page and all(call in page for call in db_copy.calls)
