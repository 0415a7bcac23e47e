"""Outbound calling: contact lists, campaigns, and the compliance check before every dial.

API (stable; the dialer and flows use exactly this):

    from callwright.outbound.campaign import Campaign, load_campaign, RETRY_DISPOSITIONS
    from callwright.outbound.contacts import Contact, Consent, mask
    from callwright.outbound.compliance import decide, Dial, Refuse, History, REASONS
    from callwright.store import contacts as cstore
    from callwright.store.dials import Dial as DialRow   # one attempt, a row of `dials`

    campaign = load_campaign("campaigns/reminders.yaml")   # DataError listing file:line:col errors
    # campaign.name, .list_name, .flow (Path), .caller_id (E.164), .max_attempts,
    # .retry[disposition] (timedelta), .hours[weekday] (Windows), .holidays,
    # .pacing.lines_per_agent, .pacing.agents (int or "acd"), .pacing.max_lines
    for contact in cstore.list_contacts(db, campaign.list_name):          # streamed, in list order
        history = cstore.contact_history(db, contact.id, campaign.name)  # compliance.History
        decision = decide(contact, history, campaign,
                          on_dnc=cstore.is_dnc(db, contact.number), now=datetime.now(UTC))
        if not decision:                                                 # a Refuse
            cstore.record_refusal(db, campaign.name, contact, decision, at=now,
                                  list_name=campaign.list_name)
            continue                        # decision.reason, decision.next_allowed_at (UTC or None)
        ... place the call to contact.number from campaign.caller_id ...
        cstore.record_attempt(db, DialRow(id=..., campaign=campaign.name, dialed_at=iso,
            result="connected"|"no_answer"|"busy"|"voicemail"|"failed", contact_id=contact.id,
            list_name=campaign.list_name, sip_status=486, answered_by="human"|"machine",
            right_party=True, abandoned=False, call_id=..., converted=..., opted_out=...,
            disposition="answered_no_decision"|"completed"|...))   # for a connected call
    # a connected call runs the campaign's flow with variables contact_number=contact.number and
    # campaign=campaign.name (plus contact.attributes): a flow ending with disposition opted_out
    # then puts the number on the do-not-call list by itself (store.calllog), before the next dial
    cstore.add_opt_out(db, number, campaign=..., call_id=...)     # "stop calling me", by hand
    cstore.record_callback(db, number, due_at, campaign=..., call_id=..., contact_id=...)

The last attempt's disposition is its `result` when it did not connect, else its
`disposition` ("completed" when none): compliance retries `RETRY_DISPOSITIONS` after the
campaign's spacing and ends a contact on any other. An attempt with `opted_out=True` also
puts the number on the do-not-call list. Modules: contacts.py (CSV -> Contact, E.164, zones),
campaign.py (+ campaign.schema.json), compliance.py (pure decide()); the dialer is dialer.py.
"""
