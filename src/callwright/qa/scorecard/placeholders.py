"""Placeholders in scorecard phrases: `my name is {agent}`, `thank you for calling {company}`.

Agents say their own name and the brand; an example with a fixed name ("my name is
Alex") matches every other agent's introduction only by accident of meaning. A
placeholder is filled per call before matching: call metadata (`agent`, `team`,
`queue`, `campaign`, `customer`: the customer's name is redacted before scoring, so it is
its label "[NAME]") or the scorecard's `values:` constants (`company`).
An example whose placeholder has no value on a call (no agent name in the metadata)
is left out for that call rather than matched with a hole in it.

`{{` and `}}` stand for literal braces. Names are checked when the scorecard loads,
so a misspelt `{agnet}` is an error at its line and column, not a phrase that never matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from callwright.qa.model import CallMeta

META_PLACEHOLDERS: dict[str, str] = {
    "agent": "the agent's name (call metadata)",
    "team": "the agent's team",
    "queue": "the call's queue",
    "campaign": "the call's campaign",
    "customer": "the customer's name, as its redaction label [NAME]",
}
"""Placeholders filled from the call's metadata; a scorecard's `values:` adds constants."""

PERSON_PLACEHOLDERS = frozenset({"agent", "customer"})
"""Metadata placeholders that hold a person's name: saying the first name is saying the name
("this is maria speaking" for agent Maria Lopez), as a reviewer would count it."""

_FIELD = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def names(text: str) -> list[tuple[str, int]]:
    """The placeholder names in a phrase with their character offsets (of the `{`)."""
    return [(m.group(1), m.start()) for m in _FIELD.finditer(text) if m.group(1) is not None]


def stray_brace(text: str) -> int | None:
    """Offset of a `{` or `}` that opens or closes no placeholder (a typo), else None."""
    rest = _FIELD.sub(lambda m: "\0" * len(m.group()), text)
    for i, ch in enumerate(rest):
        if ch in "{}":
            return i
    return None


def fill(text: str, values: Mapping[str, str | None]) -> str | None:
    """The phrase with its placeholders filled (lower case), or None when one has no value."""
    missing = False

    def sub(m: re.Match[str]) -> str:
        nonlocal missing
        if m.group(1) is None:
            return m.group()[0]
        value = values.get(m.group(1))
        if value is None or not str(value).strip():
            missing = True
            return ""
        return str(value).strip().lower()

    out = _FIELD.sub(sub, text)
    return None if missing else out


def fill_examples(phrases: Iterable[str], values: Mapping[str, str | None]) -> list[tuple[str, str]]:
    """(original, filled) for each phrase that can be filled on this call."""
    out = []
    for p in phrases:
        if "{" not in p and "}" not in p:
            out.append((p, p))
            continue
        filled = fill(p, values)
        if filled is not None:
            out.append((p, filled))
    return out


def call_values(constants: Iterable[tuple[str, str]], meta: CallMeta) -> dict[str, str | None]:
    """The values of every placeholder on one call: the scorecard's constants, then its metadata
    (`{customer}` as the scored text carries it, `customer_value`)."""
    values: dict[str, str | None] = dict(constants)
    values.update({k: getattr(meta, k) for k in META_PLACEHOLDERS})
    values["customer"] = customer_value(meta)
    return values


def customer_value(meta: CallMeta) -> str | None:
    """`{customer}` on this call: the redaction label "[NAME]" when the metadata names the
    customer, else None (an id such as "C-1042" is no name anyone says).

    A transcript is redacted before it is scored, and the customer's name from the metadata is
    replaced by "[NAME]" wherever it is said (`redaction.names`, with this same reading of the
    metadata): filled with the name itself, `thank you {customer}` could never match (0.40
    against "thank you [NAME]"). With the label it passes where the name was said and redacted.
    A stored call (`qa rescore`) carries the name's pseudonym: a name all the same."""
    from callwright.redaction import names_from_metadata
    from callwright.redaction.names import is_pseudonym
    from callwright.redaction.scan import Kind

    named = names_from_metadata(meta.fields()) or is_pseudonym(meta.customer)
    return Kind.NAME.replacement if named else None
