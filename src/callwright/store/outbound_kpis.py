"""Outbound KPIs per campaign and contact list (issue 18): the SQL behind the report's
"Outbound campaigns" and "Refusals by reason" tables. Formulas: docs/kpis.md.

Read from the raw `dials` and `dial_refusals` rows of the range (by `dialed_at` /
`decided_at`): a campaign's attempts are few next to the calls the daily cubes summarise,
and per-contact counts (attempts per contact) do not add up across days.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils

_CAMPAIGNS = """
select d.campaign as campaign, d.list_name as list_name,
  count(*) as attempts,
  count(distinct coalesce(cast(d.contact_id as text), d.customer, d.id)) as contacts,
  sum(d.connected) as connects,
  sum(d.connected and d.right_party = 1) as right_party,
  sum(d.converted) as conversions,
  sum(d.opted_out) as opt_outs,
  sum(d.connected and d.abandoned = 1) as abandoned,
  sum(d.connected and d.answered_by = 'machine') as machine,
  1.0 * count(*) / nullif(count(distinct coalesce(cast(d.contact_id as text), d.customer, d.id)), 0)
    as attempts_per_contact,
  100.0 * sum(d.connected) / count(*) as connect_rate,
  100.0 * sum(d.connected and d.right_party = 1) / nullif(sum(d.connected), 0) as right_party_rate,
  100.0 * sum(d.converted) / nullif(sum(d.connected), 0) as conversion_rate,
  100.0 * sum(d.opted_out) / nullif(sum(d.connected), 0) as opt_out_rate,
  100.0 * sum(d.connected and d.abandoned = 1) / nullif(sum(d.connected), 0) as abandon_rate
from dials d
where d.dialed_at >= :start and d.dialed_at < :end
group by 1, 2
order by 1, 2"""

_REFUSALS = """
select r.campaign as campaign, r.list_name as list_name, r.reason as reason, count(*) as refusals,
  count(distinct r.contact_id) as contacts
from dial_refusals r
where r.decided_at >= :start and r.decided_at < :end
group by 1, 2, 3
order by 1, 2, 4 desc, 3"""


def _rows(db: sqlite_utils.Database, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cur = db.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def campaigns(db: sqlite_utils.Database, start: str, end: str) -> list[dict[str, Any]]:
    """Attempts, contacts, connects, right-party contacts, conversions, opt-outs and abandoned
    connects per (campaign, list) for dials in [start, end), with their rates."""
    return _rows(db, _CAMPAIGNS, {"start": start, "end": end})


def refusals(db: sqlite_utils.Database, start: str, end: str) -> list[dict[str, Any]]:
    """Compliance refusals per (campaign, list, reason) decided in [start, end)."""
    return _rows(db, _REFUSALS, {"start": start, "end": end})
