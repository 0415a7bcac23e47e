"""Migration 6 (issue 17 item 4): no customer's name in calls.customer, on a database at version 5."""

from __future__ import annotations

import pytest

from callwright.store import migrations, schema
from callwright.store.db import open_db
from callwright.store.pseudonyms import fold_name, pseudonym, stored_customer


def test_version_6_replaces_names_by_one_pseudonym_per_customer_and_keeps_ids(tmp_path) -> None:
    path = tmp_path / "v5.db"
    with pytest.MonkeyPatch.context() as mp:  # the code as of version 5
        mp.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:5])
        mp.setattr(schema, "SCHEMA_VERSION", 5)
        db = open_db(path)
        for i, customer in enumerate(["José García", "jose  garcia", "C-1042", "+1 212 555 0100", None]):
            db.table("calls").insert(
                {
                    "id": f"c{i}",
                    "started_at": f"2026-12-0{i + 1}T10:00:00Z",
                    "direction": "inbound",
                    "customer": customer,
                }
            )
        db.conn.close()
    db = open_db(path)
    assert db.execute("pragma user_version").fetchone()[0] == schema.SCHEMA_VERSION >= 6
    stored = [r["customer"] for r in db.query("select customer from calls order by id")]
    assert stored[2:] == ["C-1042", "+1 212 555 0100", None]
    assert stored[0] == stored[1] and stored[0].startswith("name-") and len(stored[0]) == 21
    assert not any("arc" in str(v).lower() for v in stored)
    # the same customer's repeat call still links (next_contact_at counts by customer)
    assert db.execute("select next_contact_at from calls where id = 'c0'").fetchone()[0] is not None
    # what record_call writes from now on is the same pseudonym
    assert stored_customer(db, "Jose Garcia") == stored[0]


def test_each_database_has_its_own_key_and_folding_is_only_case_accents_and_spacing(tmp_path) -> None:
    a, b = open_db(tmp_path / "a.db"), open_db(tmp_path / "b.db")
    assert stored_customer(a, "Linda Park") != stored_customer(b, "Linda Park")
    assert stored_customer(a, "Linda Park") != stored_customer(a, "Linda Parks")
    assert (
        fold_name(" ZOË  Ångström ")
        == "angstrom zoe"
        == fold_name("Ångström, Zoë")
        == fold_name("zoe-angstrom")
    )
    assert pseudonym("k", "Zoë") == pseudonym("k", "zoe") != pseudonym("k2", "zoe")
