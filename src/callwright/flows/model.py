"""The flow model: typed states built from a schema-valid flow file.

These dataclasses are what the checker analyses and what the runtime compiles
into a state machine. Every state keeps its data path so that any later message
can point back at the designer's line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from callwright.common import expr
from callwright.common.source import PathKey, Source

InputMode = Literal["dtmf", "speech", "both"]
Collect = Literal[
    "menu", "digits", "yesno", "number", "speech", "date", "time", "phone", "currency", "alphanumeric"
]
"""What an ask state collects (a survey collects yesno or number, by its question)."""
TYPED_COLLECTS = ("date", "time", "phone", "currency", "alphanumeric")
"""Typed values: parsed from speech or keys, validated, read back naturally (ivr.values)."""
DateFormat = Literal["MMDDYYYY", "DDMMYYYY", "YYYYMMDD"]
SurveyQuestion = Literal["csat", "resolved", "nps"]
SURVEY_RANGES: dict[str, tuple[int, int]] = {"csat": (1, 5), "nps": (0, 10)}
HangupOutcome = Literal["self_served", "abandoned", "error"]
"""How a hangup state ends the call (a call also ends `transferred`: see ivr.events.Outcome)."""
ConfirmWhen = Literal["always", "low_confidence", "never"]
CommandName = Literal["operator", "repeat", "help"]
Direction = Literal["inbound", "outbound"]
EdgeKind = Literal["next", "choice", "retry", "failure", "global", "branch", "callback", "call"]
HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
DataOutcome = Literal["success", "failure", "timeout"]
TransferResult = Literal["transferred", "failed"]
"""The edges a transfer state leaves by once the line reports how the transfer went."""
InputType = Literal["text", "number", "integer", "boolean"]
"""The type of a start variable (`inputs:`), given from outside the flow."""
"""The edges a data step (http, function) leaves by."""


@dataclass(frozen=True)
class Prompt:
    """Text per language (with {templating}) and an optional pre-recorded file."""

    texts: dict[str, str]
    audio: str | None
    path: PathKey

    def text_for(self, language: str, fallback: str) -> tuple[str, str]:
        """(text, language actually used), falling back to the declared default."""
        if language in self.texts:
            return self.texts[language], language
        if fallback in self.texts:
            return self.texts[fallback], fallback
        lang, text = next(iter(self.texts.items()))
        return text, lang


@dataclass(frozen=True)
class Assignment:
    var: str
    source: Any  # the raw value from the file
    expression: expr.Expression | None  # None for literal numbers/booleans/null
    error: str | None  # parse error, reported by the checker
    path: PathKey

    def value(self, env: dict[str, Any]) -> Any:
        if self.expression is None:
            return self.source
        return self.expression.evaluate(env)


@dataclass(frozen=True)
class GlobalCommand:
    name: CommandName
    dtmf: str | None
    speech: tuple[str, ...]  # every phrase, in every language
    next: str | None
    path: PathKey
    by_language: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # when given per language

    def phrases(self, language: str | None) -> tuple[str, ...]:
        """The phrases heard in a call in this language (all of them when not per language)."""
        if not self.by_language:
            return self.speech
        lang = (language or "").lower()
        return self.by_language.get(lang) or self.by_language.get(lang.split("-")[0]) or self.speech


@dataclass(frozen=True)
class Confirm:
    when: ConfirmWhen
    below: float
    prompt: Prompt | None
    attempts: int


INTENT_THRESHOLD = 0.4
"""Default: the least similarity (cosine, sentence encoder) of an utterance to a choice's
closest examples (the mean of the best few, ivr.intents) for free speech to be routed there
(tuned on bench/intents/dev.yaml)."""
INTENT_MARGIN = 0.04
"""Default: how far the best choice must be ahead of the next one; closer is re-asked."""


@dataclass(frozen=True)
class Intents:
    threshold: float = INTENT_THRESHOLD
    margin: float = INTENT_MARGIN


@dataclass(frozen=True)
class Settings:
    input: InputMode = "both"
    no_input_s: float = 5.0
    inter_digit_s: float = 3.0
    end_of_speech_s: float = 1.0
    max_speech_s: float = 15.0
    retries_no_input: int = 2
    retries_no_match: int = 2
    barge_in: bool = True
    accept_confidence: float = 0.4
    confirm: Confirm = Confirm("never", 0.6, None, 2)
    on_failure: str | None = None
    no_input_prompts: tuple[Prompt, ...] = ()
    no_match_prompts: tuple[Prompt, ...] = ()
    voice: str | None = None
    rate: int | None = None
    global_commands: tuple[GlobalCommand, ...] = ()
    intents: Intents = Intents()


@dataclass(frozen=True)
class Choice:
    id: str
    dtmf: str | None
    speech: tuple[str, ...]
    next: str
    assignments: tuple[Assignment, ...]
    path: PathKey
    examples: tuple[str, ...] = ()  # sentences a caller might say: routed by meaning


# --- states: one frozen dataclass per `type:`, the union `State` ----------------------------
#
# The loader builds them with every fallback to the flow's `settings:` already resolved, so
# a consumer reads one field and never `state.x if state.x is not None else settings.x`.
# Consumers narrow with `match`/`isinstance`; `type` (a class constant) is the YAML name,
# for messages, diagrams and the call log.


@dataclass(frozen=True, kw_only=True)
class _Base:
    name: str
    path: PathKey
    description: str = ""
    barge_in: bool = True  # the state's own, else settings.barge_in: may the caller talk over its prompts


@dataclass(frozen=True, kw_only=True)
class Play(_Base):
    type: ClassVar[Literal["play"]] = "play"
    prompt: Prompt
    next: str


@dataclass(frozen=True)
class ValueOptions:
    """The options of a typed value (`date:`, `time:`, `phone:`, `currency:`, `alphanumeric:`).

    Limits are kept as written and checked by the checker: a date `YYYY-MM-DD` or `today`,
    a time `HH:MM`, an amount; lengths count a phone's digits or a code's characters.
    """

    format: DateFormat | None = None  # date keys; None: by the call's language (en MMDDYYYY)
    min: str | None = None
    max: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    country: str | None = None  # phone: calling code ("1"), the value becomes E.164
    currency: str = "USD"  # currency: ISO code of the amount read back


@dataclass(frozen=True)
class Answer:
    """What an input state accepts: the kind of value and its limits."""

    collect: Collect
    choices: tuple[Choice, ...] = ()
    digits_min: int = 1
    digits_max: int = 20
    terminator: str = "#"  # ends a key entry ("" for none)
    range_min: int | None = None
    range_max: int | None = None
    value: ValueOptions = ValueOptions()  # typed values only

    def in_range(self, value: int) -> bool:
        return (self.range_min is None or value >= self.range_min) and (
            self.range_max is None or value <= self.range_max
        )

    @property
    def max_keys(self) -> int:
        """Keys that end a digit or number entry without the terminator."""
        return self.digits_max if self.collect == "digits" else len(str(self.range_max or 99))


def is_model_path(spec: str) -> bool:
    """Whether a `model:` value is a directory (it has a `/`, or starts with `.` or `~`)
    rather than a registry name: decided by its spelling, so a misspelt name gets "did you
    mean" instead of "no such directory"."""
    return "/" in spec or "\\" in spec or spec.startswith((".", "~"))


@dataclass(frozen=True)
class ModelRef:
    """A `model:` (the flow's or a state's): the speech model that hears a state.

    `target` is what the runtime asks the recogniser port for: the registry name as
    written, or the directory made absolute against the flow file's folder (a flow is
    run from anywhere, and its model travels with it as its prompts' audio files do).
    """

    spec: str  # as written
    target: str
    path: PathKey  # where it is written (the flow's `model` or the state's)

    @property
    def is_path(self) -> bool:
        return is_model_path(self.spec)


@dataclass(frozen=True)
class Listening:
    """An input state's settings, each the state's own or else the flow's `settings:`."""

    mode: InputMode
    no_input_s: float
    inter_digit_s: float
    end_of_speech_s: float
    max_speech_s: float
    retries_no_input: int
    retries_no_match: int
    no_input_prompts: tuple[Prompt, ...]  # escalating, by attempt
    no_match_prompts: tuple[Prompt, ...]
    accept_confidence: float  # speech under it is a no match
    commands: tuple[GlobalCommand, ...]  # the flow's global commands; () where the state turns them off
    intents: Intents = Intents()  # routing free speech by a menu's examples
    model: ModelRef | None = None  # the state's own `model:`, else the flow's; None: the process's


@dataclass(frozen=True, kw_only=True)
class _Input(_Base):
    """Fields every input state (ask, survey) has."""

    prompts: tuple[Prompt, ...]  # escalating, by attempt
    help: Prompt | None = None
    listening: Listening
    answer: Answer
    on_failure: str | None = None  # after the last retry: the state's own, else settings.on_failure
    on_failure_path: PathKey = ()  # where that target is written
    into: str | None = None
    next: str | None = None


@dataclass(frozen=True, kw_only=True)
class Ask(_Input):
    type: ClassVar[Literal["ask"]] = "ask"
    confirm: Confirm | None = None
    yes: str | None = None  # yes/no questions: a target per answer (else `next`)
    no: str | None = None
    sensitive: bool = False  # the caller gives personal data here (masked in the log and on the console)

    @property
    def branches_on_yes_no(self) -> bool:
        return self.answer.collect == "yesno" and bool(self.yes and self.no)


@dataclass(frozen=True, kw_only=True)
class Survey(_Input):
    """A post-call question: an ask with a fixed kind of answer (`answer` follows the question)."""

    type: ClassVar[Literal["survey"]] = "survey"
    question: SurveyQuestion


@dataclass(frozen=True, kw_only=True)
class SetVars(_Base):
    type: ClassVar[Literal["set"]] = "set"
    assignments: tuple[Assignment, ...]
    next: str


@dataclass(frozen=True)
class Case:
    """One `if:` of a branch state."""

    source: str  # the condition as written
    expression: expr.Expression | None  # None when it did not parse
    error: str | None  # the parse error, reported by the checker
    next: str
    path: PathKey  # of the `if:`


@dataclass(frozen=True, kw_only=True)
class Branch(_Base):
    type: ClassVar[Literal["branch"]] = "branch"
    cases: tuple[Case, ...]
    otherwise: str  # `else:`


@dataclass(frozen=True, kw_only=True)
class Hours(_Base):
    type: ClassVar[Literal["hours"]] = "hours"
    timezone: str = "UTC"
    open_hours: Mapping[str, tuple[tuple[str, str], ...]]  # day -> (HH:MM, HH:MM) ranges
    holidays: tuple[str, ...] = ()  # YYYY-MM-DD
    if_open: str
    if_closed: str
    if_holiday: str | None = None


@dataclass(frozen=True)
class Callback:
    """A queue's offer to call back when the expected wait is over `over_s`."""

    over_s: float
    next: str


@dataclass(frozen=True, kw_only=True)
class Queue(_Base):
    type: ClassVar[Literal["queue"]] = "queue"
    queue: str
    priority: int = 0
    skill: str | None = None  # a {template}
    prompt: Prompt | None = None
    callback: Callback | None = None


@dataclass(frozen=True, kw_only=True)
class Transfer(_Base):
    type: ClassVar[Literal["transfer"]] = "transfer"
    to: str
    prompt: Prompt | None = None
    transferred: str | None = None  # where the flow goes once the line has handed the call on
    failed: str | None = None  # where it goes when the far end refused or never answered

    @property
    def waits_for_result(self) -> bool:
        """With a result edge the call waits for the line's answer; without, it ends at once."""
        return bool(self.transferred or self.failed)


@dataclass(frozen=True, kw_only=True)
class Record(_Base):
    type: ClassVar[Literal["record"]] = "record"
    prompt: Prompt
    max_duration_s: float = 60.0
    final_silence_s: float = 3.0
    terminator: str = "#"
    into: str | None = None
    next: str
    sensitive: bool = False  # the message holds personal data
    beep: bool = True  # a tone after the prompt: speak now
    mailbox: str | None = None  # the mailbox that lists the message (default: the flow's name)
    transcribe: bool = False  # also recognise the message (redacted like every caller input)
    model: ModelRef | None = None  # the state's own `model:`, else the flow's (used to transcribe)


@dataclass(frozen=True)
class Save:
    """One `save:` entry of a data step: a variable set from a path into the response
    (dotted keys, list indexes as numbers: `items.0.name`; empty for the whole value)."""

    var: str
    source: str  # the path as written
    keys: tuple[str | int, ...]
    path: PathKey


@dataclass(frozen=True)
class Header:
    """An http header: a {template} of variables, or a named secret (never logged)."""

    name: str
    template: str | None
    secret: str | None
    prefix: str  # put before the secret's value ("Bearer ")
    path: PathKey


@dataclass(frozen=True, kw_only=True)
class _Data(_Base):
    """Fields every data step (http, function) has: a deadline, what it saves, its edges."""

    timeout_s: float = 5.0  # the whole step, retries included: the call goes on by then
    save: tuple[Save, ...] = ()
    success: str
    failure: str
    on_timeout: str | None = None  # else `failure`
    sensitive: bool = False  # what it saves is personal data (masked in the log)

    @property
    def timeout_target(self) -> str:
        return self.on_timeout or self.failure


@dataclass(frozen=True, kw_only=True)
class Http(_Data):
    type: ClassVar[Literal["http"]] = "http"
    method: HttpMethod = "GET"
    url: str  # a {template}
    headers: tuple[Header, ...] = ()
    body: Any = None  # JSON; every text leaf a {template} ("{x}" alone keeps x's type)
    retries: int = 0  # after a connection error, a 5xx or a 429, within the timeout


@dataclass(frozen=True, kw_only=True)
class Function(_Data):
    type: ClassVar[Literal["function"]] = "function"
    function: str  # a name registered by configuration (never a module path in the flow)
    args: tuple[Assignment, ...] = ()  # keyword arguments, each an expression


@dataclass(frozen=True, kw_only=True)
class Subflow(_Base):
    type: ClassVar[Literal["subflow"]] = "subflow"
    subflow: str  # the `flow:` file, as written (the key of Flow.subflows)
    next: str


@dataclass(frozen=True, kw_only=True)
class Return(_Base):
    type: ClassVar[Literal["return"]] = "return"
    prompt: Prompt | None = None


@dataclass(frozen=True, kw_only=True)
class Hangup(_Base):
    type: ClassVar[Literal["hangup"]] = "hangup"
    prompt: Prompt | None = None
    outcome: HangupOutcome = "self_served"
    disposition: str | None = None


State = (
    Play
    | Ask
    | Survey
    | SetVars
    | Branch
    | Hours
    | Queue
    | Transfer
    | Record
    | Http
    | Function
    | Subflow
    | Return
    | Hangup
)
InputState = Ask | Survey
DataStep = Http | Function
DATA_STATES = (Http, Function)
INPUT_STATES = (Ask, Survey)
TERMINAL_STATES = (Queue, Transfer, Hangup, Return)
"""States that end the call (or the subflow): the checker's way out."""


def is_sensitive(st: State) -> bool:
    """Does the caller give personal data in this state (an ask or record marked sensitive)?"""
    return isinstance(st, (Ask, Record)) and st.sensitive


def saved_by(st: State) -> tuple[str, ...]:
    """The variables a data step sets (on every edge: null where the step failed)."""
    return tuple(s.var for s in st.save) if isinstance(st, (Http, Function)) else ()


def model_of(st: State) -> ModelRef | None:
    """The speech model a state asks for (its own `model:`, else its file's), or None."""
    if isinstance(st, (Ask, Survey)):
        return st.listening.model
    return st.model if isinstance(st, Record) else None


def hears_speech(st: State) -> bool:
    """Does the state run the recogniser: an ask or survey that takes speech, a record that
    transcribes? (A `model:` anywhere else has nothing to hear.)"""
    if isinstance(st, (Ask, Survey)):
        return st.listening.mode != "dtmf"
    return isinstance(st, Record) and st.transcribe


def into_of(st: State) -> str | None:
    """The variable the state stores the caller's answer (or message) in."""
    return st.into if isinstance(st, (Ask, Survey, Record)) else None


def prompt_of(st: State) -> Prompt | None:
    """The one prompt of a non-input state (input states have escalating `prompts`)."""
    return st.prompt if isinstance(st, (Play, Queue, Transfer, Record, Return, Hangup)) else None


@dataclass
class Flow:
    name: str
    path: str
    source: Source
    content_hash: str
    start: str
    states: dict[str, State]
    direction: Direction = "inbound"
    version: str | None = None
    description: str = ""
    languages: tuple[str, ...] = ("en",)
    default_language: str = "en"
    variables: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, InputType] = field(default_factory=dict)  # start variables from outside
    settings: Settings = field(default_factory=Settings)
    model: ModelRef | None = None  # the flow's `model:`: every listening state's unless it names its own
    subflows: dict[str, Flow] = field(default_factory=dict)  # by the `flow:` value used
    # variables holding personal data: the top-level `sensitive:` list and the `into` of
    # every `sensitive: true` state; masked wherever a call would log them
    sensitive: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Edge:
    """One way out of a state, for the checker, the diagram and test coverage."""

    source: str
    label: str
    target: str
    kind: EdgeKind


def edges(flow: Flow) -> list[Edge]:
    """Every edge of a flow, in state order."""
    out: list[Edge] = []
    for st in flow.states.values():
        name = st.name
        match st:
            case Play() | SetVars() | Record():
                if st.next:
                    out.append(Edge(name, "next", st.next, "next"))
            case Subflow():
                if st.next:
                    out.append(Edge(name, "next", st.next, "call"))
            case Ask() | Survey():
                out += _input_edges(st)
            case Branch():
                out += [Edge(name, f"case:{i + 1}", c.next, "branch") for i, c in enumerate(st.cases)]
                if st.otherwise:
                    out.append(Edge(name, "else", st.otherwise, "branch"))
            case Hours():
                for label, target in (
                    ("open", st.if_open),
                    ("closed", st.if_closed),
                    ("holiday", st.if_holiday),
                ):
                    if target:
                        out.append(Edge(name, label, target, "branch"))
            case Queue():
                if st.callback is not None:
                    out.append(Edge(name, "callback", st.callback.next, "callback"))
            case Transfer():
                if st.transferred:
                    out.append(Edge(name, "transferred", st.transferred, "next"))
                if st.failed:
                    out.append(Edge(name, "failed", st.failed, "failure"))
            case Http() | Function():
                out.append(Edge(name, "success", st.success, "next"))
                out.append(Edge(name, "failure", st.failure, "failure"))
                out.append(Edge(name, "timeout", st.timeout_target, "failure"))
    return out


def _input_edges(st: InputState) -> list[Edge]:
    name = st.name
    out: list[Edge] = []
    if isinstance(st, Ask):
        if st.answer.collect == "menu":
            out += [Edge(name, f"choice:{c.id}", c.next, "choice") for c in st.answer.choices]
        elif st.answer.collect == "yesno":
            if st.yes:
                out.append(Edge(name, "yes", st.yes, "choice"))
            if st.no:
                out.append(Edge(name, "no", st.no, "choice"))
    if st.next:
        out.append(Edge(name, "next", st.next, "next"))
    out.append(Edge(name, "no_input", name, "retry"))
    out.append(Edge(name, "no_match", name, "retry"))
    if st.on_failure:
        out.append(Edge(name, "max_retries", st.on_failure, "failure"))
    operator = next((g for g in st.listening.commands if g.name == "operator"), None)
    if operator is not None and operator.next:
        out.append(Edge(name, "operator", operator.next, "global"))
    return out
