"""A small call-centre database with known rows, for hand-computed KPI tests.

Every number the KPI tests expect is worked out by hand in their comments from
the rows below (range 2026-11-01 .. 2026-11-30; Monday weeks 2026-11-02 and
2026-11-09).
"""

from datetime import date

from callwright.store.db import open_db

DAY1, DAY2 = "2026-11-02", "2026-11-09"
NOV = dict(start=date(2026, 11, 1), end=date(2026, 11, 30))  # the report range the tests use


def _call(
    id,
    at,
    *,
    direction="inbound",
    flow="acme",
    outcome=None,
    queue=None,
    caller=None,
    customer=None,
    agent=None,
    team=None,
    campaign=None,
):
    return {
        "id": id,
        "started_at": at,
        "direction": direction,
        "flow": flow,
        "outcome": outcome,
        "queue": queue,
        "caller_id": caller,
        "customer": customer,
        "agent": agent,
        "team": team,
        "campaign": campaign,
    }


CALLS = [
    _call("c1", "2026-11-02T09:00:00-05:00", outcome="self_served", caller="+1"),
    _call(
        "c2",
        "2026-11-02T10:00:00-05:00",
        outcome="transferred",
        queue="billing",
        caller="+2",
        agent="ann",
        team="north",
    ),
    _call(
        "c3",
        "2026-11-03T10:00:00-05:00",
        outcome="transferred",
        queue="support",
        caller="+1",
        agent="bob",
        team="south",
    ),
    _call("c4", "2026-11-10T10:00:00-05:00", outcome="abandoned", caller="+2"),
    _call(
        "c5",
        "2026-11-10T11:00:00-05:00",
        flow=None,
        queue="billing",
        customer="K9",
        agent="ann",
        team="north",
    ),
    _call(
        "c6",
        "2026-11-04T12:00:00-05:00",
        direction="outbound",
        flow="reminder",
        caller="+2",
        agent="ann",
        team="north",
        campaign="renew",
    ),
    _call("c7", "2026-10-31T10:00:00-05:00", outcome="self_served", caller="+3"),
    _call("c8", "2026-11-12T10:00:00-05:00", outcome="self_served", caller="+1"),
    _call("c9", "2026-11-05T10:00:00-05:00", flow=None, queue="billing", agent="cara", team="south"),
    _call("c10", "2026-11-05T10:01:00-05:00", flow=None, queue="billing", agent="ann", team="north"),
    _call("c11", "2026-11-05T10:02:00-05:00", flow=None, queue="billing"),
]

SURVEYS = [  # (call, question, value)
    ("c1", "csat", 5),
    ("c1", "resolved", 1),
    ("c1", "nps", 10),
    ("c2", "csat", 4),
    ("c2", "resolved", 0),
    ("c2", "nps", 7),
    ("c3", "csat", 2),
    ("c3", "resolved", 1),
    ("c3", "nps", 7),
    ("c4", "csat", 1),
    ("c4", "nps", 8),
    ("c5", "csat", 3),
    ("c5", "resolved", 1),
    ("c5", "nps", 9),
    ("c8", "nps", 1),
    ("c6", "csat", 1),  # outbound: not an inbound survey
    ("c7", "csat", 5),  # before the range
    ("c9", "csat", 5),
]


def _q(call, queue, outcome, wait, talk=None, hold=None, acw=None, callback=0, agent=None):
    handle = None if talk is None else talk + hold + acw
    return {
        "call_id": call,
        "queue": queue,
        "outcome": outcome,
        "wait_s": wait,
        "talk_s": talk,
        "hold_s": hold,
        "acw_s": acw,
        "handle_s": handle,
        "callback_accepted": callback,
        "callback_offered": callback,
        "agent": agent,
        "answered_at": None if talk is None else "x",
    }


QUEUE = [
    _q("c2", "billing", "completed", 10, 300, 30, 60, agent="ann"),
    _q("c3", "support", "completed", 25, 200, 0, 40, agent="bob"),
    _q("c4", "billing", "abandoned", 40),
    _q("c5", "billing", "abandoned", 3),
    _q("c9", "billing", "completed", 500, 100, 0, 20, callback=1, agent="cara"),
    _q("c10", "billing", "completed", 0, 150, 10, 20, agent="ann"),
    _q("c11", "billing", "unserved", None),
]

DIALS = [  # id, day, campaign, agent, connected, converted, opted_out, call
    ("d1", "2026-11-04T12:00:00-05:00", "renew", "ann", 1, 1, 0, "c6"),
    ("d2", "2026-11-04T12:10:00-05:00", "renew", "ann", 0, 0, 0, None),
    ("d3", "2026-11-04T12:20:00-05:00", "renew", "ann", 1, 0, 1, None),
    ("d4", "2026-11-05T09:00:00-05:00", "renew", "bob", 0, 0, 0, None),
    ("d5", "2026-11-05T09:10:00-05:00", "winback", "bob", 1, 0, 0, None),
    ("d6", "2026-10-30T09:00:00-05:00", "renew", "bob", 1, 1, 0, None),
]

SCORES = [  # call, scorecard, version, score, auto_failed, scored_at
    ("c2", "inbound-service", "v1", 80.0, 0, "2026-11-20T00:00:00"),
    ("c3", "inbound-service", "v1", 0.0, 1, "2026-11-20T00:00:00"),
    ("c5", "inbound-service", "v0", 10.0, 0, "2026-11-11T00:00:00"),  # superseded by v1 below
    ("c5", "inbound-service", "v1", 90.0, 0, "2026-11-20T00:00:00"),
    ("c6", "outbound-sales", "o1", 70.0, 0, "2026-11-20T00:00:00"),
    ("c9", "inbound-service", "v1", 50.0, 0, "2026-11-20T00:00:00"),
]

ITEMS = [  # call, version, item, section, verdict, points, max_points, auto_fail
    ("c2", "v1", "greeting", "opening", "pass", 1, 1, 0),
    ("c2", "v1", "disclosure", "opening", "pass", 2, 2, 0),
    ("c2", "v1", "verify", "security", "fail", 0, 2, 0),
    ("c3", "v1", "greeting", "opening", "pass", 1, 1, 0),
    ("c3", "v1", "disclosure", "opening", "fail", 0, 2, 1),
    ("c5", "v0", "disclosure", "opening", "fail", 0, 2, 1),  # superseded
    ("c5", "v1", "greeting", "opening", "na", 0, 0, 0),
    ("c5", "v1", "disclosure", "opening", "pass", 2, 2, 0),
    ("c6", "o1", "opt-out-offer", "compliance", "pass", 1, 1, 0),
]

UTTERANCES = [  # call, idx, speaker, sentiment
    ("c2", 0, "customer", -0.5),
    ("c2", 1, "agent", 0.9),
    ("c2", 2, "customer", 0.1),
    ("c2", 3, "customer", 0.3),
    ("c3", 0, "customer", 0.2),
    ("c3", 1, "customer", -0.4),
    ("c5", 0, "customer", 0.5),
]

EVENTS = [  # call, kind, state
    ("c1", "state_enter", "welcome"),
    ("c1", "state_enter", "menu"),
    ("c1", "no_input", "menu"),
    ("c1", "state_enter", "goodbye"),
    ("c1", "call_end", "goodbye"),
    ("c2", "state_enter", "welcome"),
    ("c2", "state_enter", "menu"),
    ("c2", "no_match", "menu"),
    ("c2", "no_match", "menu"),
    ("c2", "state_enter", "billing-queue"),
    ("c2", "transfer", "billing-queue"),
    ("c2", "call_end", "billing-queue"),
    ("c4", "state_enter", "welcome"),
    ("c4", "state_enter", "menu"),
    ("c4", "hangup", "menu"),
    ("c4", "call_end", "menu"),
    ("c7", "state_enter", "welcome"),  # before the range
]


def build(path):
    db = open_db(path)
    db["calls"].insert_all(CALLS)
    db["survey_answers"].insert_all({"call_id": c, "question": q, "value": v} for c, q, v in SURVEYS)
    db["queue_calls"].insert_all(QUEUE)
    db["dials"].insert_all(
        {
            "id": i,
            "dialed_at": at,
            "campaign": camp,
            "agent": ag,
            "connected": co,
            "converted": cv,
            "opted_out": oo,
            "call_id": call,
        }
        for i, at, camp, ag, co, cv, oo, call in DIALS
    )
    db["scores"].insert_all(
        {
            "recording_id": f"r-{c}",
            "call_id": c,
            "scorecard": sc,
            "scorecard_version": v,
            "score": s,
            "auto_failed": af,
            "scored_at": at,
        }
        for c, sc, v, s, af, at in SCORES
    )
    db["item_scores"].insert_all(
        {
            "call_id": c,
            "scorecard_version": v,
            "item_id": i,
            "section": s,
            "verdict": vd,
            "points": p,
            "max_points": m,
            "auto_fail": af,
        }
        for c, v, i, s, vd, p, m, af in ITEMS
    )
    db["utterances"].insert_all(
        {
            "call_id": c,
            "idx": i,
            "speaker": sp,
            "start": float(i),
            "end": i + 0.5,
            "text": "words",
            "sentiment": s,
        }
        for c, i, sp, s in UTTERANCES
    )
    db["call_events"].insert_all(
        {"call_id": c, "seq": n, "kind": k, "state": s} for n, (c, k, s) in enumerate(EVENTS)
    )
    return db
