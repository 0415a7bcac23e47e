"""KPI queries: every report number is computed here, in SQL, over a date range.

Each function returns one dict per group (plain counts and sums next to the
ratios they make, so that a total can be checked by hand). The definitions,
variants and sources are in docs/kpis.md; `callwright.reports.kpis` validates
the parameters and turns the rows into dataclasses.

Conventions shared by every query:
- a call belongs to the range and to a day by its `calls.started_at` text
  (ISO 8601, the call's local time as recorded): `start <= started_at < end`;
- the group key is one of `GROUPS` (never text from the user); calls with no
  value for it (e.g. no agent) fall in the group `None`;
- ratios are None when their denominator is 0.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils

# The group key over the `calls` row aliased c (whitelist: never user text in SQL).
GROUPS: dict[str, str] = {
    "all": "'all'",
    "day": "substr(c.started_at, 1, 10)",
    # Monday of the ISO week: 'weekday 0' moves to the next Sunday (or stays), -6 days is its Monday.
    "week": "date(substr(c.started_at, 1, 10), 'weekday 0', '-6 days')",
    "queue": "c.queue",
    "agent": "c.agent",
    "team": "c.team",
    "flow": "c.flow",
    "direction": "c.direction",
    "campaign": "c.campaign",
}
# The same keys for `dials` d (left-joined to the call c a connected dial became).
DIAL_GROUPS: dict[str, str] = {
    **{k: v.replace("c.started_at", "d.dialed_at") for k, v in GROUPS.items()},
    "agent": "coalesce(d.agent, c.agent)",
    "team": "coalesce(d.team, c.team)",
    "campaign": "coalesce(d.campaign, c.campaign)",
    "direction": "'outbound'",
}
# For queue_calls q: the queue and the answering agent are the queue row's own.
QUEUE_GROUPS: dict[str, str] = {**GROUPS, "queue": "q.queue", "agent": "coalesce(q.agent, c.agent)"}
_RANGE = "c.started_at >= :start and c.started_at < :end"


def _group(group: str) -> str:
    return GROUPS[group]  # KeyError is a programming error: callers validate user input


def _rows(db: sqlite_utils.Database, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return list(db.query(sql, params))


def survey(db: sqlite_utils.Database, group: str, start: str, end: str) -> list[dict[str, Any]]:
    """CSAT (top-2-box), DSAT (bottom-2-box), mean CSAT, NPS and survey FCR of inbound calls."""
    return _rows(db, f"""
        select {_group(group)} as grp,
          sum(s.question = 'csat') as csat_n,
          sum(s.question = 'csat' and s.value >= 4) as csat_top2,
          sum(s.question = 'csat' and s.value <= 2) as csat_bottom2,
          100.0 * sum(s.question = 'csat' and s.value >= 4) / nullif(sum(s.question = 'csat'), 0) as csat,
          100.0 * sum(s.question = 'csat' and s.value <= 2) / nullif(sum(s.question = 'csat'), 0) as dsat,
          avg(case when s.question = 'csat' then s.value end) as csat_mean,
          sum(s.question = 'nps') as nps_n,
          sum(s.question = 'nps' and s.value >= 9) as promoters,
          sum(s.question = 'nps' and s.value <= 6) as detractors,
          100.0 * (sum(s.question = 'nps' and s.value >= 9) - sum(s.question = 'nps' and s.value <= 6))
            / nullif(sum(s.question = 'nps'), 0) as nps,
          sum(s.question = 'resolved') as resolved_n,
          sum(s.question = 'resolved' and s.value = 1) as resolved_yes,
          100.0 * sum(s.question = 'resolved' and s.value = 1)
            / nullif(sum(s.question = 'resolved'), 0) as fcr_survey
        from survey_answers s join calls c on c.id = s.call_id
        where {_RANGE} and c.direction = 'inbound'
        group by grp order by grp
    """, {"start": start, "end": end})


def fcr_repeat(db: sqlite_utils.Database, group: str, start: str, end: str,
               window_days: float) -> list[dict[str, Any]]:
    """FCR by repeat contact: inbound calls with no inbound call from the same customer
    within `window_days` after them (looked up beyond the range end), over inbound calls
    whose customer is known (`customer`, else `caller_id`)."""
    return _rows(db, f"""
        with firsts as (
          select {_group(group)} as grp,
            (select min(n.started_at) from calls n
              where coalesce(n.customer, n.caller_id) = coalesce(c.customer, c.caller_id)
                and n.direction = 'inbound' and n.started_at > c.started_at) as next_at,
            c.started_at
          from calls c
          where {_RANGE} and c.direction = 'inbound' and coalesce(c.customer, c.caller_id) is not null
        )
        select grp, count(*) as contacts,
          sum(next_at is not null and julianday(next_at) - julianday(started_at) <= :window) as repeated,
          100.0 * sum(next_at is null or julianday(next_at) - julianday(started_at) > :window)
            / count(*) as fcr_repeat
        from firsts group by grp order by grp
    """, {"start": start, "end": end, "window": window_days})


def containment(db: sqlite_utils.Database, group: str, start: str, end: str) -> list[dict[str, Any]]:
    """IVR containment: inbound calls that entered an IVR flow and ended `self_served`."""
    return _rows(db, f"""
        select {_group(group)} as grp, count(*) as ivr_calls,
          sum(c.outcome = 'self_served') as contained,
          sum(c.outcome = 'transferred') as transferred,
          sum(c.outcome = 'abandoned') as ivr_abandoned,
          100.0 * sum(c.outcome = 'self_served') / count(*) as containment
        from calls c
        where {_RANGE} and c.direction = 'inbound' and c.flow is not null
        group by grp order by grp
    """, {"start": start, "end": end})


def queue(db: sqlite_utils.Database, group: str, start: str, end: str, *, threshold_s: float,
          short_abandon_s: float, abandons_count: bool) -> list[dict[str, Any]]:
    """Queue KPIs over `queue_calls`: ASA, time in queue, abandonment, service level, AHT.

    Callback calls count in `offered` and in AHT (an agent handled them) but not in
    the waiting-time KPIs; abandons after less than `short_abandon_s` count only in
    `short_abandoned`; unserved calls (still waiting when the run ended) in `unserved`.
    """
    sl_denominator = "answered + abandoned" if abandons_count else "answered"
    return _rows(db, f"""
        with q as (
          select {QUEUE_GROUPS[group]} as grp, q.*,
            (q.callback_accepted = 0 and q.answered_at is not null) as is_answered,
            (q.callback_accepted = 0 and q.outcome = 'abandoned' and q.wait_s >= :short) as is_abandoned
          from queue_calls q join calls c on c.id = q.call_id
          where {_RANGE}
        ), sums as (
          select grp, count(*) as offered,
            sum(is_answered) as answered, sum(is_abandoned) as abandoned,
            sum(q.callback_accepted = 0 and q.outcome = 'abandoned' and q.wait_s < :short) as short_abandoned,
            sum(q.callback_accepted) as callbacks,
            sum(q.callback_accepted = 0 and q.outcome = 'unserved') as unserved,
            sum(is_answered and q.wait_s <= :threshold) as answered_within,
            sum(case when is_answered then q.wait_s end) as wait_answered_s,
            sum(case when is_answered or is_abandoned then q.wait_s end) as wait_all_s,
            count(q.handle_s) as handled,
            sum(q.talk_s) as talk_s, sum(q.hold_s) as hold_s, sum(q.acw_s) as acw_s
          from q group by grp
        )
        select *,
          wait_answered_s / nullif(answered, 0) as asa_s,
          wait_all_s / nullif(answered + abandoned, 0) as avg_queue_s,
          100.0 * abandoned / nullif(answered + abandoned, 0) as abandon_rate,
          100.0 * answered_within / nullif({sl_denominator}, 0) as service_level,
          (coalesce(talk_s, 0) + coalesce(hold_s, 0) + coalesce(acw_s, 0)) / nullif(handled, 0) as aht_s
        from sums order by grp
    """, {"start": start, "end": end, "threshold": threshold_s, "short": short_abandon_s})


def outbound(db: sqlite_utils.Database, group: str, start: str, end: str) -> list[dict[str, Any]]:
    """Dials, connects, conversions (per connect), opt-outs and dials per agent per day."""
    # Dials carry their own time, agent, team and campaign; a connected dial's call gives the rest.
    key = DIAL_GROUPS[group]
    return _rows(db, f"""
        with d as (
          select {key} as grp, d.*, coalesce(d.agent, c.agent) as who
          from dials d left join calls c on c.id = d.call_id
          where d.dialed_at >= :start and d.dialed_at < :end
        )
        select grp, count(*) as dials, sum(connected) as connects, sum(converted) as conversions,
          sum(opted_out) as opt_outs,
          100.0 * sum(connected) / count(*) as connect_rate,
          100.0 * sum(converted) / nullif(sum(connected), 0) as conversion_rate,
          100.0 * sum(opted_out) / nullif(sum(connected), 0) as opt_out_rate,
          count(distinct case when who is not null then who || ' ' || substr(dialed_at, 1, 10) end)
            as agent_days,
          1.0 * count(who) / nullif(count(distinct case when who is not null
            then who || ' ' || substr(dialed_at, 1, 10) end), 0) as dials_per_agent_day
        from d group by grp order by grp
    """, {"start": start, "end": end})


# The latest score of each (call, scorecard): a call rescored with a newer scorecard
# version counts once, with its newest result.
_LATEST_SCORES = """
    latest as (
      select s.* from scores s
      where s.scored_at = (select max(s2.scored_at) from scores s2
                           where s2.call_id = s.call_id and s2.scorecard = s.scorecard)
    )"""


def qa(db: sqlite_utils.Database, group: str, start: str, end: str) -> list[dict[str, Any]]:
    """Average QA score, auto-fail rate and compliance rate of scored calls."""
    return _rows(db, f"""
        with {_LATEST_SCORES},
        compliance_items as (
          select distinct scorecard_version, item_id from item_scores
          where section = 'compliance' or auto_fail = 1
        ),
        scored as (
          select {_group(group)} as grp, l.call_id, l.scorecard_version, l.score, l.auto_failed
          from latest l join calls c on c.id = l.call_id
          where {_RANGE}
        ),
        compliance as (
          select s.grp, sum(i.verdict = 'pass') as passed, sum(i.verdict in ('pass', 'fail')) as applicable
          from scored s
          join item_scores i on i.call_id = s.call_id and i.scorecard_version = s.scorecard_version
          join compliance_items ci on ci.scorecard_version = i.scorecard_version and ci.item_id = i.item_id
          group by s.grp
        )
        select s.grp, count(*) as scored, count(s.score) as with_score, avg(s.score) as avg_score,
          sum(s.auto_failed) as auto_failed, 100.0 * sum(s.auto_failed) / count(*) as auto_fail_rate,
          max(k.passed) as compliance_passed, max(k.applicable) as compliance_applicable,
          100.0 * max(k.passed) / nullif(max(k.applicable), 0) as compliance_rate
        from scored s left join compliance k on k.grp is s.grp
        group by s.grp order by s.grp
    """, {"start": start, "end": end})


def qa_items(db: sqlite_utils.Database, start: str, end: str) -> list[dict[str, Any]]:
    """Per scorecard item: how often it applied and passed, average points, auto-fails."""
    return _rows(db, f"""
        with {_LATEST_SCORES}
        select l.scorecard, i.item_id, max(i.section) as section,
          sum(i.verdict in ('pass', 'fail')) as applicable, sum(i.verdict = 'pass') as passed,
          100.0 * sum(i.verdict = 'pass') / nullif(sum(i.verdict in ('pass', 'fail')), 0) as pass_rate,
          100.0 * sum(case when i.max_points > 0 then i.points end)
            / nullif(sum(case when i.max_points > 0 then i.max_points end), 0) as avg_score,
          sum(i.auto_fail) as auto_fails,
          100.0 * sum(i.auto_fail) / count(*) as auto_fail_rate
        from latest l join calls c on c.id = l.call_id
        join item_scores i on i.call_id = l.call_id and i.scorecard_version = l.scorecard_version
        where {_RANGE}
        group by l.scorecard, i.item_id order by l.scorecard, i.item_id
    """, {"start": start, "end": end})


def sentiment(db: sqlite_utils.Database, group: str, start: str, end: str) -> list[dict[str, Any]]:
    """Customer sentiment at the start (first customer utterance) and end (last one) of calls
    with at least two customer utterances that carry a sentiment score."""
    return _rows(db, f"""
        with u as (
          select {_group(group)} as grp, u.call_id, u.sentiment,
            row_number() over (partition by u.call_id order by u.idx) as rn,
            count(*) over (partition by u.call_id) as n
          from utterances u join calls c on c.id = u.call_id
          where {_RANGE} and u.speaker = 'customer' and u.sentiment is not null
        ), per_call as (
          select grp, call_id, max(case when rn = 1 then sentiment end) as s_start,
                 max(case when rn = n then sentiment end) as s_end
          from u where n >= 2 group by grp, call_id
        )
        select grp, count(*) as calls, avg(s_start) as start, avg(s_end) as end,
          avg(s_end - s_start) as change,
          100.0 * sum(s_end > s_start) / count(*) as improved,
          100.0 * sum(s_end < s_start) / count(*) as worsened
        from per_call group by grp order by grp
    """, {"start": start, "end": end})


def waterfall(db: sqlite_utils.Database, start: str, end: str) -> list[dict[str, Any]]:
    """Per IVR flow and state: entries, no-inputs, no-matches, transfers, caller hang-ups
    and calls that ended there (inbound and outbound IVR calls), by the calls' start day.

    Read from `ivr_state_daily`, which a trigger keeps as events are logged
    (store.schema), so the cost does not grow with the number of events."""
    return _rows(db, """
        select flow, state, sum(entered) as entered, sum(no_input) as no_input,
          sum(no_match) as no_match, sum(transfer) as transfer, sum(hangup) as hangup,
          sum(ended) as ended
        from ivr_state_daily
        where day >= :start and day < :end
        group by flow, state
        order by flow, entered desc, state
    """, {"start": start, "end": end})


def agent_outcomes(db: sqlite_utils.Database, start: str, end: str,
                   window_days: float) -> list[dict[str, Any]]:
    """Per agent: average QA score, CSAT (top-2-box %) and FCR both ways, for the correlation."""
    return _rows(db, f"""
        with {_LATEST_SCORES},
        agent_calls as (
          select c.id, c.agent, c.started_at, coalesce(c.customer, c.caller_id) as who
          from calls c where {_RANGE} and c.agent is not null and c.direction = 'inbound'
        ),
        qa as (select a.agent, avg(l.score) as qa_score, count(l.score) as qa_n
               from agent_calls a join latest l on l.call_id = a.id group by a.agent),
        sv as (select a.agent,
                 100.0 * sum(s.question = 'csat' and s.value >= 4)
                   / nullif(sum(s.question = 'csat'), 0) as csat,
                 sum(s.question = 'csat') as csat_n,
                 100.0 * sum(s.question = 'resolved' and s.value = 1)
                   / nullif(sum(s.question = 'resolved'), 0) as fcr_survey,
                 sum(s.question = 'resolved') as resolved_n
               from agent_calls a join survey_answers s on s.call_id = a.id group by a.agent),
        rep as (select agent,
                   100.0 * sum(next_at is null or julianday(next_at) - julianday(started_at) > :window)
                   / count(*) as fcr_repeat, count(*) as contacts
                from (select a.agent, a.started_at,
                        (select min(n.started_at) from calls n
                          where coalesce(n.customer, n.caller_id) = a.who and n.direction = 'inbound'
                            and n.started_at > a.started_at) as next_at
                      from agent_calls a where a.who is not null)
                group by agent)
        select a.agent, max(a_team.team) as team, count(*) as calls, qa.qa_score, qa.qa_n, sv.csat, sv.csat_n,
          sv.fcr_survey, sv.resolved_n, rep.fcr_repeat, rep.contacts
        from agent_calls a
        left join (select agent, max(team) as team from calls c where {_RANGE} and agent is not null
                   group by agent) a_team on a_team.agent = a.agent
        left join qa on qa.agent = a.agent left join sv on sv.agent = a.agent
        left join rep on rep.agent = a.agent
        group by a.agent order by a.agent
    """, {"start": start, "end": end, "window": window_days})


def distributions(db: sqlite_utils.Database, start: str, end: str) -> dict[str, list[dict[str, Any]]]:
    """Histograms: CSAT 1-5, NPS 0-10, queue wait (10 s bins up to 300 s), handle time
    (60 s bins up to 1800 s) and QA score (10-point bins); the last bin holds everything above."""
    params = {"start": start, "end": end}
    answers = """
        select s.value as bin, count(*) as n from survey_answers s join calls c on c.id = s.call_id
        where {r} and c.direction = 'inbound' and s.question = ? group by bin order by bin"""
    return {
        "csat": list(db.query(answers.format(r=_RANGE.replace(":start", "?").replace(":end", "?")),
                              [start, end, "csat"])),
        "nps": list(db.query(answers.format(r=_RANGE.replace(":start", "?").replace(":end", "?")),
                             [start, end, "nps"])),
        "wait": _rows(db, f"""
            select min(cast(q.wait_s / 10 as int), 30) * 10 as bin, count(*) as n
            from queue_calls q join calls c on c.id = q.call_id
            where {_RANGE} and q.wait_s is not null and q.callback_accepted = 0
            group by bin order by bin""", params),
        "handle": _rows(db, f"""
            select min(cast(q.handle_s / 60 as int), 30) * 60 as bin, count(*) as n
            from queue_calls q join calls c on c.id = q.call_id
            where {_RANGE} and q.handle_s is not null group by bin order by bin""", params),
        "qa_score": _rows(db, f"""
            with {_LATEST_SCORES}
            select min(cast(l.score / 10 as int), 9) * 10 as bin, count(*) as n
            from latest l join calls c on c.id = l.call_id
            where {_RANGE} and l.score is not null group by bin order by bin""", params),
    }
