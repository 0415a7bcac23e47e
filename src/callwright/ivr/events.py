"""What flows into a call (caller events) and out of it (actions).

These are the contract between the engine and a channel: text, audio file and
microphone channels all turn their input into caller events and carry out the
same actions, so a flow behaves the same on every channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from callwright.flows.model import Collect, InputMode, TransferResult

Outcome = Literal["self_served", "transferred", "abandoned", "error"]
"""How a call ended (the calls table's `outcome`)."""

EventKind = Literal[
    "call_start",
    "state_enter",
    "prompt",
    "input",
    "input_ignored",
    "match",
    "no_match",
    "no_input",
    "confirm",
    "max_retries",
    "global_command",
    "set",
    "branch",
    "hours",
    "callback_offer",
    "transfer",
    "transfer_result",
    "recorded",
    "survey_answer",
    "data_step",
    "intent",
    "error",
    "hangup",
    "call_end",
]
"""The kinds of entry in a call's event log (the `call_events.kind` column, docs/database.md)."""

# --- caller -> engine -----------------------------------------------------------


@dataclass(frozen=True)
class Speech:
    """A final recognition result for one caller utterance."""

    text: str
    confidence: float = 1.0
    speech_start: float | None = None  # clock times, when the channel knows them
    speech_end: float | None = None
    model: str | None = None  # the speech model that heard it (an audio line says; typed text: None)


@dataclass(frozen=True)
class Dtmf:
    """One key press: 0-9, *, #, A-D."""

    key: str


@dataclass(frozen=True)
class Recorded:
    """The caller's message in a record state: a transcript and/or an audio file."""

    text: str = ""
    audio_path: str | None = None
    duration_s: float = 0.0
    ended: Literal["silence", "terminator", "max_duration", "hangup", ""] = ""  # "": not known
    model: str | None = None  # the speech model that transcribed it (None: not transcribed)
    language: str | None = None  # what the transcript was decoded as, when the model says (es)


@dataclass(frozen=True)
class Hangup:
    """The caller hung up."""


@dataclass(frozen=True)
class TransferOutcome:
    """How a transfer state's transfer went, reported by the channel after it carried out a
    `Transfer`: `transferred` (a SIP line's REFER was accepted and the new call answered, or a
    channel that cannot hand a call on logged it) or `failed` (refused, busy, no answer)."""

    result: TransferResult
    reason: str | None = None  # why it failed, for the log (never caller data)


CallerEvent = Speech | Dtmf | Recorded | Hangup | TransferOutcome


# --- engine -> channel ------------------------------------------------------------


@dataclass(frozen=True)
class Say:
    text: str
    language: str
    state: str
    audio: str | None = None  # pre-recorded prompt file, resolved against the flow's folder
    barge_in: bool = True
    voice: str | None = None
    rate: int | None = None
    shown: str | None = None  # the text as logged and printed (sensitive values masked)
    templated: bool = False  # filled from variables: may hold caller data (do not cache its audio)
    ssml: str | None = (
        None  # a prompt with SSML: the markup the synthesiser says (`text` is it as plain text)
    )

    @property
    def display(self) -> str:
        """What a console or a log may show of this prompt (never a sensitive value)."""
        return self.text if self.shown is None else self.shown


@dataclass(frozen=True)
class Listen:
    """Start collecting input; the channel configures its recogniser from this."""

    state: str
    mode: InputMode
    collect: Collect
    no_input_s: float
    inter_digit_s: float
    end_of_speech_s: float
    max_speech_s: float
    phrases: tuple[str, ...] = ()  # what the caller may say here (grammar hints)
    max_digits: int = 1
    terminator: str = "#"
    barge_in: bool = True
    model: str | None = None  # the state's speech model (a name or a directory); None: the line's default
    language: str | None = None  # the call's language here (a multilingual model is told it)


@dataclass(frozen=True)
class StartRecording:
    state: str
    max_s: float
    final_silence_s: float
    terminator: str = "#"
    beep: bool = True
    transcribe: bool = False
    model: str | None = None  # the state's speech model for the transcript; None: the line's default
    language: str | None = None  # the call's language here: a multilingual model transcribes it


@dataclass(frozen=True)
class Transfer:
    """Hand the call on: to a queue (a queue state), or to `destination` (a transfer state:
    a SIP URI or a number). The channel answers every Transfer with a `TransferOutcome`
    caller event; the session waits for it only in a transfer state with result edges."""

    queue: str | None
    destination: str | None = None
    priority: int = 0
    skill: str | None = None
    state: str | None = None  # the state that transfers (flow tests find its mock by it)


@dataclass(frozen=True)
class EndCall:
    outcome: Outcome
    disposition: str | None = None
    queue: str | None = None
    reason: str | None = None  # why, when the outcome is error (sensitive values masked)

    @property
    def display(self) -> str:
        """`[call ended: outcome (queue or disposition)]`, with the reason of an error."""
        extra = f" ({self.queue or self.disposition})" if (self.queue or self.disposition) else ""
        why = f": {self.reason}" if self.outcome == "error" and self.reason else ""
        return f"[call ended: {self.outcome}{extra}{why}]"


Action = Say | Listen | StartRecording | Transfer | EndCall


@dataclass
class LogEvent:
    """One entry of a call's ordered event log (written to the database)."""

    seq: int
    t: float  # seconds since the call started
    kind: EventKind
    state: str | None = None
    data: dict = field(default_factory=dict)
