"""What the caller's input means in an input state: pure functions, no session.

`speech`, `key` and `finish_digits` take one piece of caller input (an utterance, a key
press, the digits keyed so far) and what the state accepts (`Rules`), and return an
`Interpretation`: a value captured, a menu choice chosen, no match (with the reason the
call log shows), no input, a global command, a yes/no to a confirmation, or "keep
collecting digits". They never log, set timers, count retries or move the call: the
session narrows on the result and does that (see `CallSession._act`). Keeping the
meaning of input apart from what the call does with it lets a table of inputs test
every rule (tests/ivr/test_interpret.py) without a flow, a clock or a machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal

from callwright.flows.model import TYPED_COLLECTS, Answer, Choice, GlobalCommand, InputMode, InputState
from callwright.ivr import intents, languages, person, values
from callwright.speech import closedset

Phase = Literal["collect", "confirm"]
"""`collect`: the state's own question; `confirm`: a yes/no on a value captured."""

GLOBAL_SPEECH_THRESHOLD = 0.85
"""How close an utterance must be to a global command's phrase (closedset score) to be the
command: stricter than a menu choice, since a command leaves the question unanswered."""

KEYWORD_ANSWER_WORDS = 2
"""A keyword match in an utterance of at most this many words is the caller answering the
prompt's own words ("billing", "sales please"): taken as is, without the sentence encoder."""

YES_NO_KEYS = {"1": True, "2": False}
"""Keys that answer a yes/no question or a confirmation."""

DIGIT_KEYS = "0123456789#"
"""Keys that are data while digits are collected: never taken as a global command."""

DECIMAL_POINT_KEY = "*"
"""In a currency state `*` is the decimal point ("12*50#" is 12.50): data, not a command."""


@dataclass(frozen=True)
class Rules:
    """What an input state accepts, with the flow's settings already filled in."""

    answer: Answer  # the kind of value and its limits
    mode: InputMode = "both"
    accept_confidence: float = 0.4
    commands: tuple[GlobalCommand, ...] = ()  # global commands in force here (none when turned off)
    # routes free speech by the choices' examples (None: keywords only); it holds the
    # examples' vectors, embedded once, so it is not part of the rules' value
    router: intents.IntentRouter | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, st: InputState) -> Rules:
        listening = st.listening
        router = (
            intents.router_for(st.answer.choices, listening.intents) if st.answer.collect == "menu" else None
        )
        return cls(st.answer, listening.mode, listening.accept_confidence, listening.commands, router)


# --- results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Captured:
    """A value for the state: digits (text), a number, True/False, or free speech."""

    value: str | int | bool  # a typed value (date, time...) is its stored text ("1980-03-05")
    confidence: float = 1.0


@dataclass(frozen=True)
class Chosen:
    """A menu choice, by its speech phrases or its keys."""

    choice: Choice
    confidence: float = 1.0
    intent_score: float | None = None  # routed by its examples: the similarity that chose it


@dataclass(frozen=True)
class NoMatch:
    """Input that answers nothing here; `reason` is what the call log says."""

    reason: str


@dataclass(frozen=True)
class NoInput:
    """An empty utterance: counted like silence."""


@dataclass(frozen=True)
class Command:
    """A global command (operator, repeat, help).

    An operator command without a `next` target does nothing but is still logged; the
    input then means `otherwise`, as if no command had been heard.
    """

    name: str
    otherwise: Interpretation | None = None


@dataclass(frozen=True)
class ConfirmAnswer:
    """The caller's answer to "I heard X. Is that right?": None when it was neither."""

    yes: bool | None


@dataclass(frozen=True)
class Collecting:
    """More keys may follow: wait for them (the inter-digit timeout ends the entry)."""


Interpretation = Captured | Chosen | NoMatch | NoInput | Command | ConfirmAnswer | Collecting


@dataclass(frozen=True)
class KeyStep:
    """What one key press did: its meaning, the digit buffer after it, and the keys of an
    entry it finished (the session keeps them to mask in messages of a sensitive state)."""

    result: Interpretation
    buffer: str
    entered: str | None = None


# --- speech ----------------------------------------------------------------------------


def speech(
    text: str,
    confidence: float,
    rules: Rules,
    phase: Phase = "collect",
    language: str | None = "en",
    today: date | None = None,
) -> Interpretation:
    """An utterance (already stripped) in an input state, in a call in `language` (yes/no,
    numbers, typed values and global command phrases follow it) on the day `today` (the
    limit `today` of a date, two-figure years)."""
    if not text:
        return NoInput()
    if rules.mode == "dtmf":
        return NoMatch("speech in a keypad-only state")
    if phase == "confirm":
        return ConfirmAnswer(languages.yes_no(text, language))
    command = _command_by_speech(text, rules.commands, language)
    if command is None:
        return _answer_by_speech(text, confidence, rules, language, today)
    if (
        rules.router is not None
        and command.name in ("help", "repeat")
        and not _is_command_alone(text, command)
    ):
        # "I need help with my bill": a menu that routes by example hears the request, not
        # the word "help" in it (a bare "help" is still the command)
        answer = _answer_by_speech(text, confidence, rules, language, today)
        if isinstance(answer, Chosen):
            return answer
    return Command(
        command.name, _answer_by_speech(text, confidence, rules, language, today) if _inert(command) else None
    )


def _is_command_alone(text: str, command: GlobalCommand) -> bool:
    """Is the utterance just one of the command's phrases (give or take "please")?"""
    words = [w for w in closedset.normalize(text) if w not in ("please", "uh", "um")]
    return " ".join(words) in {" ".join(closedset.normalize(p)) for p in command.speech}


def _answer_by_speech(
    text: str, confidence: float, rules: Rules, language: str | None = "en", today: date | None = None
) -> Interpretation:
    floor = rules.accept_confidence
    if confidence < floor:
        return NoMatch(f"confidence {confidence:.2f} under {floor:.2f}")
    answer = rules.answer
    collect = answer.collect
    if collect == "menu":
        m = closedset.match_choice(
            text, [closedset.Choice(c.id, c.speech) for c in answer.choices if c.speech]
        )
        choice = next((c for c in answer.choices if m and c.id == m.id), None)
        if rules.router is not None and (
            choice is None or len(closedset.normalize(text)) > KEYWORD_ANSWER_WORDS
        ):
            # by meaning first: a keyword inside a longer request ("upgrade my internet")
            # can point the wrong way; the keyword decides only when meaning is unsure
            decision = rules.router.route(text)
            if isinstance(decision, intents.Routed) and (choice is None or choice.id != decision.choice):
                routed = next(c for c in answer.choices if c.id == decision.choice)
                return Chosen(routed, confidence, intent_score=decision.score)
            if (
                choice is not None
                and isinstance(decision, intents.Unsure)
                and decision.best not in (None, choice.id)
                and decision.score >= rules.router.settings.threshold
            ):
                # the meaning leans to another choice, only not by the margin ("I want faster
                # internet": sales just ahead of support): the keyword is no tie-breaker then
                return NoMatch(f"keyword {choice.id} against meaning {decision.reason}")
        return Chosen(choice, confidence) if choice is not None else NoMatch("no choice matched")
    if collect == "yesno":
        yn = languages.yes_no(text, language)
        return NoMatch("not a yes or no") if yn is None else Captured(yn, confidence)
    if collect == "digits":
        digits = languages.digits(text, language)
        if digits is None or not answer.digits_min <= len(digits) <= answer.digits_max:
            return NoMatch(f"not {answer.digits_min}-{answer.digits_max} digits")
        return Captured(digits, confidence)
    if collect == "number":
        number = languages.number(text, language)
        if number is None or not answer.in_range(number):
            return NoMatch("not a number in range")
        return Captured(number, confidence)
    if collect in TYPED_COLLECTS:
        return _typed(values.parse_speech(collect, text, answer.value, _context(language, today)), confidence)
    return Captured(text, confidence)


def _context(language: str | None, today: date | None) -> values.Context:
    return values.Context(language or "en", today)


def _typed(result: values.Result, confidence: float = 1.0) -> Interpretation:
    if isinstance(result, values.Parsed):
        return Captured(result.value, confidence)
    return NoMatch(result.reason)


def _command_by_speech(
    text: str, commands: tuple[GlobalCommand, ...], language: str | None = "en"
) -> GlobalCommand | None:
    spoken = [g for g in commands if g.phrases(language)]
    m = closedset.match_choice(
        text,
        [closedset.Choice(g.name, g.phrases(language)) for g in spoken],
        threshold=GLOBAL_SPEECH_THRESHOLD,
    )
    command = next((g for g in commands if m and g.name == m.id), None)
    if command is None and person.asks_for_person(text, language):
        # the operator command also hears a request for a person in the caller's own
        # words ("get me a human"), wherever it is heard by speech at all
        command = next((g for g in spoken if g.name == "operator"), None)
    return command


# --- keys --------------------------------------------------------------------------------


def key(
    pressed: str,
    buffer: str,
    rules: Rules,
    phase: Phase = "collect",
    language: str | None = "en",
    today: date | None = None,
) -> KeyStep:
    """One key press in an input state, with the keys buffered before it (a typed value
    reads its keys in the call's `language` on the day `today`: see `speech`)."""
    if rules.mode == "speech":
        return KeyStep(NoMatch("key press in a speech-only state"), buffer)
    if phase == "confirm":
        return KeyStep(ConfirmAnswer(YES_NO_KEYS.get(pressed)), buffer)
    answer = rules.answer
    collect = answer.collect
    if collect in ("digits", "number") or collect in TYPED_COLLECTS:
        return _digit_key(pressed, buffer, rules, language, today)
    if collect == "menu":
        keys = buffer + pressed
        exact = next((c for c in answer.choices if c.dtmf == keys), None)
        longer = any(c.dtmf and c.dtmf != keys and c.dtmf.startswith(keys) for c in answer.choices)
        if exact and not longer:
            return KeyStep(Chosen(exact), "")
        if longer or exact:
            return KeyStep(Collecting(), keys)
        return KeyStep(_by_keys(keys, rules, NoMatch(f"no choice for key {keys}")), "")
    if collect == "yesno":
        yn = YES_NO_KEYS.get(pressed)
        if yn is None:
            return KeyStep(_by_keys(pressed, rules, NoMatch(f"key {pressed} is not 1 (yes) or 2 (no)")), "")
        return KeyStep(Captured(yn), "")
    # free speech: keys only reach global commands
    return KeyStep(_by_keys(pressed, rules, NoMatch("free speech expected")), "")


def _digit_key(
    pressed: str, buffer: str, rules: Rules, language: str | None = "en", today: date | None = None
) -> KeyStep:
    command = next((g for g in rules.commands if g.dtmf == pressed), None)
    data_key = pressed in DIGIT_KEYS or (rules.answer.collect == "currency" and pressed == DECIMAL_POINT_KEY)
    if buffer or data_key or command is None:
        return _digit_data(pressed, buffer, rules, language, today)
    if not _inert(command):
        return KeyStep(Command(command.name), buffer)
    data = _digit_data(pressed, buffer, rules, language, today)
    return replace(data, result=Command(command.name, data.result))


def max_keys(answer: Answer) -> int:
    """Keys that end an entry without the terminator (a date 8, a time 4, a number its
    largest value's figures)."""
    if answer.collect in TYPED_COLLECTS:
        return values.max_keys(answer.collect, answer.value)
    return answer.max_keys


def _digit_data(
    pressed: str, buffer: str, rules: Rules, language: str | None = "en", today: date | None = None
) -> KeyStep:
    if pressed == rules.answer.terminator:
        return KeyStep(finish_digits(buffer, rules, language, today), "", entered=buffer)
    keys = buffer + pressed
    if len(keys) >= max_keys(rules.answer):
        return KeyStep(finish_digits(keys, rules, language, today), "", entered=keys)
    return KeyStep(Collecting(), keys)


def finish_digits(
    entered: str, rules: Rules, language: str | None = "en", today: date | None = None
) -> Interpretation:
    """The keys of an entry that ended (terminator, enough keys, or the inter-digit timeout)."""
    answer = rules.answer
    if answer.collect == "menu":
        exact = next((c for c in answer.choices if c.dtmf == entered), None)
        if exact:
            return Chosen(exact)
        return _by_keys(entered, rules, NoMatch(f"no choice for keys {entered}"))
    if not entered:
        return NoMatch("no digits before the terminator")
    if answer.collect in TYPED_COLLECTS:
        return _typed(values.parse_keys(answer.collect, entered, answer.value, _context(language, today)))
    if answer.collect == "number":
        number = int(entered) if entered.isdigit() else None
        if number is None or not answer.in_range(number):
            return NoMatch(f"{entered} is out of range")
        return Captured(number)
    if not entered.isdigit() or not answer.digits_min <= len(entered) <= answer.digits_max:
        return NoMatch(f"{len(entered)} digits; expected {answer.digits_min}-{answer.digits_max}")
    return Captured(entered)


def _by_keys(keys: str, rules: Rules, otherwise: Interpretation) -> Interpretation:
    """The global command these keys are, else `otherwise`."""
    command = next((g for g in rules.commands if g.dtmf == keys), None)
    if command is None:
        return otherwise
    return Command(command.name, otherwise if _inert(command) else None)


def _inert(command: GlobalCommand) -> bool:
    """An operator command with nowhere to go does nothing (the input then counts as itself)."""
    return command.name == "operator" and not command.next
