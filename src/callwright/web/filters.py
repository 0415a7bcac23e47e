"""The calls list's query string -> a `store.reviews.CallFilter`, with a message per bad field.

A bad value never becomes a 500 or an SQL error: it is reported beside its field and the list is
empty until it is fixed. Full-text search goes through `store.qa.fts_query`, so `don't` and
`"recorded line"` are words and phrases, never FTS5 syntax.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from callwright.store.kpis import DRILLS
from callwright.store.qa import fts_query
from callwright.store.reviews import MAX_PAGE, SENTIMENT_LABELS, SORT_COLUMNS, CallFilter, SentimentLabel

MAX_QUERY_CHARS = 500
MAX_VALUE_CHARS = 200
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class Parsed:
    filter: CallFilter
    sort: str = "started_at"
    desc: bool = True
    page: int = 1
    errors: dict[str, str] = field(default_factory=dict)


def _date(v: str, name: str, errors: dict[str, str]) -> str | None:
    if not v:
        return None
    try:
        if not _DATE.match(v):
            raise ValueError
        date.fromisoformat(v)
    except ValueError:
        errors[name] = f"{name}: expected a date YYYY-MM-DD, got '{v[:40]}'"
        return None
    return v


def _score(v: str, name: str, errors: dict[str, str]) -> float | None:
    if not v:
        return None
    try:
        x = float(v)
        if not 0 <= x <= 100:
            raise ValueError
    except ValueError:
        errors[name] = f"{name}: expected a score from 0 to 100, got '{v[:40]}'"
        return None
    return x


def _sentiment(v: str, name: str, errors: dict[str, str]) -> float | None:
    if not v:
        return None
    try:
        x = float(v)
        if not -1 <= x <= 1:
            raise ValueError
    except ValueError:
        errors[name] = f"{name}: expected a sentiment from -1 to 1, got '{v[:40]}'"
        return None
    return x


def _end_sentiment(v: str, errors: dict[str, str]) -> SentimentLabel | None:
    if v in ("", "any"):
        return None
    for label in SENTIMENT_LABELS:
        if v == label:
            return label
    errors["end_sentiment"] = f"end_sentiment: expected {', '.join(SENTIMENT_LABELS)} or any"
    return None


def _yes_no(v: str, name: str, errors: dict[str, str]) -> bool | None:
    if v in ("", "any"):
        return None
    if v in ("yes", "no"):
        return v == "yes"
    errors[name] = f"{name}: expected yes, no or any"
    return None


def parse_filters(q: Mapping[str, str], *, only_agent: str | None = None) -> Parsed:
    errors: dict[str, str] = {}

    def text(name: str) -> str | None:
        v = (q.get(name) or "").strip()
        if len(v) > MAX_VALUE_CHARS:
            errors[name] = f"{name}: at most {MAX_VALUE_CHARS} characters"
            return None
        return v or None

    search = (q.get("q") or "").strip()
    if len(search) > MAX_QUERY_CHARS:
        errors["q"] = f"search: at most {MAX_QUERY_CHARS} characters"
        search = ""
    direction = text("direction")
    if direction not in (None, "inbound", "outbound"):
        errors["direction"] = "direction: expected inbound or outbound"
        direction = None
    drill = text("drill")
    if drill is not None and drill not in DRILLS:
        errors["drill"] = f"drill: expected one of {', '.join(DRILLS)}"
        drill = None
    f = CallFilter(
        start=_date((q.get("from") or "").strip(), "from", errors),
        end=_date((q.get("to") or "").strip(), "to", errors),
        agent=text("agent"),
        team=text("team"),
        queue=text("queue"),
        direction=direction,
        scorecard=text("scorecard"),
        score_min=_score((q.get("min") or "").strip(), "min", errors),
        score_max=_score((q.get("max") or "").strip(), "max", errors),
        auto_failed=_yes_no(q.get("auto_failed") or "", "auto_failed", errors),
        reviewed=_yes_no(q.get("reviewed") or "", "reviewed", errors),
        end_sentiment=_end_sentiment((q.get("end_sentiment") or "").strip(), errors),
        sentiment_min=_sentiment((q.get("smin") or "").strip(), "smin", errors),
        sentiment_max=_sentiment((q.get("smax") or "").strip(), "smax", errors),
        fts=fts_query(search) if search else "",
        only_agent=only_agent,
        drill=drill,
    )
    sort = q.get("sort") or "started_at"
    if sort not in SORT_COLUMNS:
        errors["sort"] = f"sort: expected one of {', '.join(SORT_COLUMNS)}"
        sort = "started_at"
    order = q.get("order") or "desc"
    if order not in ("asc", "desc"):
        errors["order"] = "order: expected asc or desc"
    raw_page = q.get("page") or "1"
    page = 1
    if not raw_page.isdigit() or not 1 <= int(raw_page) <= MAX_PAGE:
        errors["page"] = f"page: expected a number from 1 to {MAX_PAGE}"
    else:
        page = int(raw_page)
    if search and not f.fts:
        errors["q"] = 'search: nothing to search for; give words or a quoted phrase: "recorded line"'
    return Parsed(f, sort, order != "asc", page, errors)
