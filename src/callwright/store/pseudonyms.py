"""The customer field of a call, kept without the customer's name in it.

Call metadata often carries the customer's name in `customer` (a CRM export, the harper-dev
calls). The transcript's copies of the name are redacted before anything is stored; the
`calls.customer` column must not undo that. A name there is replaced by a keyed pseudonym,
`name-` and 16 hex digits of HMAC-SHA256 over the name folded for case, accents and spacing,
so the same customer still links their calls (repeat contacts, first-contact resolution)
without the name being readable. An id or a number (any value with a digit, as
`redaction.names_from_metadata` tells a name from an id) is kept as it is.

The key is made once per database (`customer_key`, migration 6). What it does not do: whoever
holds the database and a list of candidate names can test them one by one, as with any
pseudonym kept beside its key; keep the database as private as the recordings.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

import sqlite_utils

from callwright.redaction import redact_text
from callwright.redaction.names import PSEUDONYM, is_pseudonym, names_from_metadata

PREFIX = "name-"
assert PSEUDONYM.fullmatch(PREFIX + "0" * 16), "redaction.names.PSEUDONYM must read what this writes"


def fold_name(name: str) -> str:
    """The name's words without case, accents, punctuation or order: "José  García", "jose
    garcia", "García, José" and "Jose-Garcia" are one customer."""
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(sorted(re.findall(r"[^\W\d_]+", bare.casefold())))


def pseudonym(key: str, name: str) -> str:
    digest = hmac.new(key.encode(), fold_name(name).encode(), hashlib.sha256).hexdigest()
    return PREFIX + digest[:16]


def is_name(value: str) -> bool:
    return bool(names_from_metadata({"customer": value}))


def customer_key(db: sqlite_utils.Database) -> str:
    """This database's pseudonym key (migration 6 makes it)."""
    return str(db.execute("select key from customer_key where id = 1").fetchone()[0])


def stored_customer(db: sqlite_utils.Database, value: str | None) -> str | None:
    """What `calls.customer` holds for a call whose metadata says `value`."""
    if value is None or is_pseudonym(value) or not is_name(value):
        return value
    return pseudonym(customer_key(db), value)


_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
MAX_NAME_WORDS = 4


def customer_names_in(db: sqlite_utils.Database, call_id: str, text: str) -> tuple[str, ...]:
    """The call's customer's name where `text` writes it (any case, accents or spacing), found by
    its pseudonym: the name itself is not kept, so a staff note is checked window by window of
    up to four words against `calls.customer`. Empty when the call's customer is not a name."""
    row = db.execute("select customer from calls where id = ?", [call_id]).fetchone()
    ref = row[0] if row else None
    if not is_pseudonym(ref):
        return ()
    key = customer_key(db)
    words = _WORD.findall(text)
    found = []
    for i in range(len(words)):
        for n in range(1, min(MAX_NAME_WORDS, len(words) - i) + 1):
            said = " ".join(words[i : i + n])
            if pseudonym(key, said) == ref:
                found.append(said)
    return tuple(dict.fromkeys(found))


def redact_note(db: sqlite_utils.Database, call_id: str, text: str) -> str:
    """A reviewer's, agent's or supervisor's note on a call, redacted like its transcript: the
    call's customer's name included (`customer_names_in`)."""
    return redact_text(text, names=customer_names_in(db, call_id, text)).text
