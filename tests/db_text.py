"""Every text value a database holds, for tests that personal data never lands in clear."""

from __future__ import annotations

import sqlite3


def text_values(db_path) -> list[tuple[str, str, str]]:
    """(table, column, value) for every text value in every table, FTS shadow tables included."""
    con = sqlite3.connect(db_path)
    out = []
    for (table,) in con.execute("select name from sqlite_master where type = 'table'"):
        cur = con.execute(f'select * from "{table}"')
        cols = [d[0] for d in cur.description]
        for row in cur:
            out.extend((table, c, v) for c, v in zip(cols, row, strict=True) if isinstance(v, str))
    con.close()
    return out
