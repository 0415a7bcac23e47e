"""The flow model: typed states built from a schema-valid flow file.

These dataclasses are what the checker analyses and what the runtime compiles
into a state machine. Every state keeps its data path so that any later message
can point back at the designer's line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from callwright.common import expr
from callwright.common.source import PathKey, Source

InputMode = Literal["dtmf", "speech", "both"]
Collect = Literal["menu", "digits", "yesno", "number", "speech"]
"""What an ask state collects (a survey collects yesno or number, by its question)."""
TERMINAL_TYPES = frozenset({"queue", "transfer", "hangup", "return"})
INPUT_TYPES = frozenset({"ask", "survey"})
SURVEY_RANGES = {"csat": (1, 5), "nps": (0, 10)}


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
    name: str  # operator | repeat | help
    dtmf: str | None
    speech: tuple[str, ...]
    next: str | None
    path: PathKey


@dataclass(frozen=True)
class Confirm:
    when: str  # always | low_confidence | never
    below: float
    prompt: Prompt | None
    attempts: int


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


@dataclass(frozen=True)
class Choice:
    id: str
    dtmf: str | None
    speech: tuple[str, ...]
    next: str
    assignments: tuple[Assignment, ...]
    path: PathKey


@dataclass
class State:
    """Fields common to all states; `type` says which of the optional parts apply."""

    name: str
    type: str
    path: PathKey
    description: str = ""
    prompt: Prompt | None = None
    next: str | None = None
    barge_in: bool | None = None
    # ask / record: the caller gives personal data here (masked in the log and on the console)
    sensitive: bool = False
    # input states (ask, survey)
    prompts: tuple[Prompt, ...] = ()
    help: Prompt | None = None
    input: InputMode | None = None
    no_input_s: float | None = None
    inter_digit_s: float | None = None
    end_of_speech_s: float | None = None
    max_speech_s: float | None = None
    retries_no_input: int | None = None
    retries_no_match: int | None = None
    no_input_prompts: tuple[Prompt, ...] = ()
    no_match_prompts: tuple[Prompt, ...] = ()
    on_failure: str | None = None
    global_commands: bool = True
    accept_confidence: float | None = None
    collect: Collect | None = None
    choices: tuple[Choice, ...] = ()
    digits_min: int = 1
    digits_max: int = 20
    terminator: str = "#"
    range_min: int | None = None
    range_max: int | None = None
    into: str | None = None
    confirm: Confirm | None = None
    yes: str | None = None
    no: str | None = None
    question: str | None = None  # survey: csat | resolved | nps
    # set
    assignments: tuple[Assignment, ...] = ()
    # branch
    cases: tuple[tuple[str, expr.Expression | None, str | None, str, PathKey], ...] = ()
    otherwise: str | None = None
    # hours
    timezone: str = "UTC"
    open_hours: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    holidays: tuple[str, ...] = ()
    if_open: str | None = None
    if_closed: str | None = None
    if_holiday: str | None = None
    # queue / transfer
    queue: str | None = None
    priority: int = 0
    skill: str | None = None
    callback_over_s: float | None = None
    callback_next: str | None = None
    transfer_to: str | None = None
    # record
    max_duration_s: float = 60.0
    final_silence_s: float = 3.0
    # subflow
    subflow: str | None = None
    # hangup
    outcome: str | None = None
    disposition: str | None = None

    @property
    def is_input(self) -> bool:
        return self.type in INPUT_TYPES

    @property
    def effective_collect(self) -> Collect | None:
        """Surveys are asks with a fixed kind of answer."""
        if self.type == "survey":
            return "yesno" if self.question == "resolved" else "number"
        return self.collect


@dataclass
class Flow:
    name: str
    path: str
    source: Source
    content_hash: str
    start: str
    states: dict[str, State]
    direction: str = "inbound"
    version: str | None = None
    description: str = ""
    languages: tuple[str, ...] = ("en",)
    default_language: str = "en"
    variables: dict[str, Any] = field(default_factory=dict)
    settings: Settings = field(default_factory=Settings)
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
    kind: str  # next | choice | retry | failure | global | branch | callback | call


def edges(flow: Flow) -> list[Edge]:
    """Every edge of a flow, in state order."""
    out: list[Edge] = []
    s_ops = flow.settings
    operator = next((g for g in s_ops.global_commands if g.name == "operator"), None)
    for st in flow.states.values():
        name = st.name
        if st.type in ("play", "set", "record", "subflow") and st.next:
            out.append(Edge(name, "next", st.next, "call" if st.type == "subflow" else "next"))
        if st.is_input:
            if st.collect == "menu":
                out += [Edge(name, f"choice:{c.id}", c.next, "choice") for c in st.choices]
            elif st.effective_collect == "yesno" and st.type == "ask":
                if st.yes:
                    out.append(Edge(name, "yes", st.yes, "choice"))
                if st.no:
                    out.append(Edge(name, "no", st.no, "choice"))
            if st.next:
                out.append(Edge(name, "next", st.next, "next"))
            out.append(Edge(name, "no_input", name, "retry"))
            out.append(Edge(name, "no_match", name, "retry"))
            failure = st.on_failure or s_ops.on_failure
            if failure:
                out.append(Edge(name, "max_retries", failure, "failure"))
            if st.global_commands and operator is not None and operator.next:
                out.append(Edge(name, "operator", operator.next, "global"))
        if st.type == "branch":
            out += [Edge(name, f"case:{i + 1}", c[3], "branch") for i, c in enumerate(st.cases)]
            if st.otherwise:
                out.append(Edge(name, "else", st.otherwise, "branch"))
        if st.type == "hours":
            for label, target in (("open", st.if_open), ("closed", st.if_closed), ("holiday", st.if_holiday)):
                if target:
                    out.append(Edge(name, label, target, "branch"))
        if st.type == "queue" and st.callback_next:
            out.append(Edge(name, "callback", st.callback_next, "callback"))
    return out
