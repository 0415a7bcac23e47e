"""Channels: how a caller reaches the engine (typed text, an audio file, a microphone).

A channel turns its input into caller events and carries out the engine's
actions. `receive` returns None when the session's deadline passed with no
input; the runner then fires the session's timer.

What a channel prints or keeps as a transcript follows the call log's privacy
rules: a `Say`'s `display` (sensitive values masked) rather than its `text` (which
is what the caller hears), `session.shown_input(...)` for the caller's own words
and keys, and `EndCall.display` (with the reason of an error).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from callwright.ivr.events import Action, CallerEvent

if TYPE_CHECKING:
    from callwright.ivr.session import CallSession


class Channel(Protocol):
    name: str

    def perform(self, action: Action) -> None:
        """Carry out one action (speak, listen, transfer, end)."""

    def receive(self, session: CallSession) -> CallerEvent | None:
        """The next caller event, or None when the session's deadline passes first."""
