"""The text channel: a caller typing (or piping) words and key presses.

Input lines: words are speech; `#` followed by keys is a key press sequence
(`#1`, `#4111#`; a line `##` presses #); an empty line is silence (the no-input
or inter-digit timeout fires); `[0.3] words` gives the recogniser confidence;
`/hangup` (or end of input) hangs up.

What is printed is what the call log may hold: prompts with sensitive values
masked, the caller's echoed input redacted (masked in a sensitive state), and
every control character shown as an escape (`callwright.textsafe.safe_text`).
"""

from __future__ import annotations

import re
from collections import deque
from typing import TYPE_CHECKING, TextIO

from callwright.ivr.events import (
    Action,
    CallerEvent,
    Dtmf,
    EndCall,
    Hangup,
    Listen,
    Say,
    Speech,
    StartRecording,
    Transfer,
    TransferOutcome,
)
from callwright.textsafe import safe_text

if TYPE_CHECKING:
    from callwright.ivr.session import CallSession

MAX_LINE_CHARS = 10_000
"""A typed turn longer than this is cut here (the rest of the line is read and dropped):
no caller says ten thousand characters in one breath, and every turn is scanned by
the redactor before it is logged."""

_CONF = re.compile(r"^\[\s*([01](?:\.\d+)?)\s*\]\s*(.*)$")
_KEYS = re.compile(r"^#([0-9*#A-Da-d]+)$")


def parse_line(line: str) -> list[CallerEvent] | None:
    """One typed line as caller events; None means silence."""
    s = line.strip()
    if not s:
        return None
    if s.lower() in ("/hangup", "/bye", "/quit"):
        return [Hangup()]
    m = _KEYS.match(s)
    if m:
        return [Dtmf(k.upper()) for k in m.group(1)]
    m = _CONF.match(s)
    if m:
        return [Speech(m.group(2), float(m.group(1)))]
    return [Speech(s, 1.0)]


class TextChannel:
    name = "text"

    def __init__(
        self, stdin: TextIO, stdout: TextIO, *, interactive: bool = False, verbose: bool = False
    ) -> None:
        self.stdin = stdin
        self.stdout = stdout
        self.interactive = interactive
        self.verbose = verbose
        self._queue: deque[CallerEvent] = deque()
        self.transcript: list[str] = []

    def _out(self, line: str) -> None:
        line = safe_text(line)
        self.transcript.append(line)
        print(line, file=self.stdout, flush=True)

    def perform(self, action: Action) -> None:
        if isinstance(action, Say):
            self._out(f"IVR: {action.display}")
        elif isinstance(action, Listen):
            if self.verbose:
                self._out(f"  [listening in {action.state}: {action.collect}, {action.mode}]")
        elif isinstance(action, StartRecording):
            self._out(f"  [recording up to {action.max_s:g} s: type your message]")
        elif isinstance(action, Transfer):
            where = f"queue {action.queue}" if action.queue else action.destination
            self._out(f"  [transfer to {where}]")
            self._queue.appendleft(TransferOutcome("transferred"))  # typed calls cannot be handed on
        elif isinstance(action, EndCall):
            self._out(f"  {action.display}")

    def _readline(self) -> str:
        """One typed line, at most MAX_LINE_CHARS long."""
        line = self.stdin.readline(MAX_LINE_CHARS + 1)
        if len(line) > MAX_LINE_CHARS:
            rest = line
            while rest and not rest.endswith("\n"):
                rest = self.stdin.readline(MAX_LINE_CHARS)
            line = line[:MAX_LINE_CHARS] + "\n"
        return line

    def receive(self, session: CallSession) -> CallerEvent | None:
        while True:
            if self._queue:
                return self._queue.popleft()
            if session.timer_kind == "inter_digit":
                return None  # a typed line is a whole turn: the caller has stopped pressing keys
            if self.interactive:
                print("you> ", end="", file=self.stdout, flush=True)
            line = self._readline()
            if line == "":
                return Hangup()  # end of input
            if not self.interactive:
                self._out(f"you> {session.shown_input(line.rstrip())}")
            events = parse_line(line)
            if events is None:
                return None
            self._queue.extend(events)
