"""A caller that answers what the IVR asks: it watches the call log for the latest prompt
(the log is written after every turn) and answers each new one once its audio has begun,
so reprompts (no-match, no-input) are answered too instead of shifting a fixed script."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from callwright.speech.dtmf import dtmf_tones
from tests.server.client import RATE, AudioSocketPeer
from tests.server.conftest import Running

Answer = Callable[[AudioSocketPeer], None]
ANSWER_DELAY_S = 0.3
"""The caller answers this long after a prompt's audio starts (barging in)."""


def keys_inband(keys: str) -> Answer:
    def act(peer: AudioSocketPeer) -> None:
        peer.say(dtmf_tones(keys, RATE).astype(np.int16))

    return act


def keys_event(keys: str) -> Answer:
    def act(peer: AudioSocketPeer) -> None:
        for k in keys:
            peer.send_dtmf(k)
            time.sleep(0.12)

    return act


def speech(samples: np.ndarray) -> Answer:
    def act(peer: AudioSocketPeer) -> None:
        peer.say(samples)

    return act


def billing_by(keys: Callable[[str], Answer]) -> Callable[[str, str, int], Answer | None]:
    """The inbound sample to billing with account 4111, whatever the IVR asks in between."""

    def answer(state: str, text: str, n: int) -> Answer | None:
        if state == "choose-language":
            return keys("1")
        if state == "main-menu":
            return keys("1")
        if state == "account-number":
            return keys("1") if text.startswith("I heard") else keys("4111#")
        return None

    return answer


def last_prompt(run: Running, call_id: str) -> tuple[int, str, str] | None:
    rows = run.query(
        "select seq, state, text from call_events where call_id = ? and kind = 'prompt' order by seq desc limit 1",
        (call_id,),
    )
    return rows[0] if rows else None


def drive(
    run: Running,
    peer: AudioSocketPeer,
    call_id: str,
    answer: Callable[[str, str, int], Answer | None],
    *,
    timeout_s: float = 90.0,
) -> list[str]:
    """Answer each new prompt until the server hangs up; returns the states answered."""
    answered_seq = -1
    heard_before = 0
    states: list[str] = []
    deadline = time.monotonic() + timeout_s
    while not peer.hung_up.is_set():
        assert time.monotonic() < deadline, f"the call did not end in {timeout_s} s: {states}"
        p = last_prompt(run, call_id)
        if p is not None and p[0] > answered_seq and peer.heard_samples() > heard_before:
            seq, state, text = p
            time.sleep(ANSWER_DELAY_S)
            act = answer(state, text or "", len(states))
            answered_seq, heard_before = seq, peer.heard_samples()
            if act is not None:
                states.append(state)
                act(peer)
        time.sleep(0.05)
    return states
