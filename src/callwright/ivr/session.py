"""One call in progress: the model that a flow's state machine drives.

A `CallSession` is attached to its flow's single `transitions` machine with
`add_model`; the machine owns the graph (which state may follow which, by which
edge label) and calls `_entered` after each move. The session owns what is per
call: variables, retry counters, the digit buffer, the subflow stack and the
timer deadline. Input arrives as caller events and leaves as actions; nothing
here reads a clock other than the injected one, so a test can drive a call in
zero wall time.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date
from typing import TYPE_CHECKING, Any, cast, get_args
from urllib.parse import quote
from zoneinfo import ZoneInfo

from callwright.common import expr
from callwright.flows import model, template
from callwright.flows.model import Choice as FlowChoice
from callwright.flows.model import Collect, Confirm, Flow, Prompt
from callwright.ivr import datasteps, interpret, privacy, spoken, values
from callwright.ivr.clock import Clock
from callwright.ivr.events import (
    Action,
    CallerEvent,
    Dtmf,
    EndCall,
    EventKind,
    Hangup,
    Listen,
    LogEvent,
    Outcome,
    Recorded,
    Say,
    Speech,
    StartRecording,
    Transfer,
    TransferOutcome,
)
from callwright.ivr.queues import ConfiguredWaits, QueueWaits

if TYPE_CHECKING:
    from callwright.ivr.engine import CompiledState, FlowEngine

log = logging.getLogger(__name__)
RECORD_SLACK_S = 1.0
"""A record state's own timer runs this long past the message's limits (max duration plus final
silence, from the end of the prompt), so the channel, which ends the message, always comes first."""

DEFAULT_NO_INPUT = "Sorry, I didn't hear anything."
DEFAULT_NO_MATCH = "Sorry, I didn't get that."
DEFAULT_CONFIRM = "I heard {value}. Is that right?"
SAFE_GOODBYE = "Sorry, something went wrong on our side. Please call again later. Goodbye."
"""Said when a call meets a fault and the flow has no `on_failure` to go to."""

TRANSFER_RESULT_WAIT_S = 90.0
"""How long a transfer state with result edges waits for the line to say how the transfer
went (a SIP REFER waits up to 30 s for its answer and 30 s more for the new call's NOTIFY);
no answer by then is a failed transfer."""

MAX_TRANSITIONS_PER_EVENT = 1_000
"""State changes allowed between two caller events (or timeouts). A real flow moves
through a handful; a `set`/`branch` loop that never waits for the caller would run
forever, so the call ends with outcome `error` when this many moves pass."""


QueueStatus = ConfiguredWaits
"""The configured expected waits (the name callers of this module used before
`callwright.ivr.queues` said where a queue's wait comes from)."""


@dataclass
class _Pending:
    """A captured value awaiting confirmation."""

    value: Any
    choice: FlowChoice | None
    confidence: float
    label: str  # edge to take after commit


class CallSession:
    """A call attached to a FlowEngine's machine. Use FlowEngine.start_call to make one."""

    state: str  # set by transitions

    def __init__(
        self,
        engine: FlowEngine,
        clock: Clock,
        *,
        call_id: str | None = None,
        caller_id: str = "",
        called_number: str = "",
        language: str | None = None,
        variables: dict[str, Any] | None = None,
        queue_status: QueueWaits | None = None,
        listener: Callable[[LogEvent], None] | None = None,
        channel: str = "text",
        data: datasteps.DataService | None = None,
    ) -> None:
        self.engine = engine
        self.flow: Flow = engine.flow
        self.clock = clock
        self.call_id = call_id or uuid.uuid4().hex[:16]
        self.channel = channel
        self.queue_status: QueueWaits = queue_status or ConfiguredWaits()
        self.data: datasteps.DataService = data or datasteps.LiveData()
        self._secret_values: set[str] = set()  # http header secrets used: scrubbed from any text
        self.listener = listener
        self.started_wall = clock.wall()
        self.t0 = clock.now()
        self.vars: dict[str, Any] = dict(self.flow.variables)
        self.vars.update(
            caller_id=caller_id,
            called_number=called_number,
            call_id=self.call_id,
            language=language or self.flow.default_language,
            direction=self.flow.direction,
            flow=self.flow.name,
        )
        self.vars.update(variables or {})
        self.stack: list[str] = []
        self.actions: list[Action] = []
        self.events: list[LogEvent] = []
        self.ended = False
        self.outcome: Outcome | None = None
        self.disposition: str | None = None
        self.queue: str | None = None
        self.deadline: float | None = None
        self._timer: str | None = None
        self._reset_input()
        self.visited: list[str] = []
        self.edges_taken: list[tuple[str, str]] = []
        self.callback_offered = False
        self._declared_secrets = _sensitive_vars(self.flow)
        self.secret_vars: set[str] = set(self._declared_secrets)  # grows as values are derived
        self._moves = 0
        self._recovering = False
        self._handed_on: str | None = None  # where a transfer state handed the call (it ends transferred)

    # -- public API ---------------------------------------------------------------

    def start(self) -> list[Action]:
        """Begin the call; returns the first actions (usually a greeting and a Listen)."""
        self._log("call_start", None, caller_id=self.vars["caller_id"], channel=self.channel)
        self._guarded(self._fire, "begin")
        return self._drain()

    def handle(self, event: CallerEvent) -> list[Action]:
        """Feed one caller event; returns the actions it caused."""
        if self.ended:
            return []
        self._guarded(self._handle, event)
        return self._drain()

    def _handle(self, event: CallerEvent) -> None:
        if isinstance(event, Hangup):
            self._log("hangup", self.state)
            self._end("abandoned", reason="caller hung up")
        else:
            cs = self._cs()
            if isinstance(event, Speech):
                self._on_speech(cs, event)
            elif isinstance(event, Dtmf):
                self._on_dtmf(cs, event.key)
            elif isinstance(event, Recorded):
                self._on_recorded(cs, event)
            elif isinstance(event, TransferOutcome):
                self._on_transfer_outcome(cs, event)

    def on_timer(self) -> list[Action]:
        """The pending deadline has passed (no input, inter-digit or recording limit)."""
        if self.ended or self._timer is None:
            return []
        self._guarded(self._on_timer)
        return self._drain()

    def abort(self, reason: str, outcome: str = "error") -> list[Action]:
        """End the call because something outside the engine failed (the channel, the
        audio line) or was interrupted: the call log still gets its end and the reason."""
        if outcome not in get_args(Outcome):
            raise ValueError(f"unknown call outcome {outcome!r}; one of {', '.join(get_args(Outcome))}")
        if not self.ended:
            if outcome == "error":
                self._log("error", self._state_or_none(), message=self._scrub(reason))
            self._end(cast(Outcome, outcome), reason=reason)
        return self._drain()

    def shown_input(self, text: str) -> str:
        """Caller input as a console may echo it: masked in a sensitive state, else redacted."""
        cs = self.engine.states.get(self._state_or_none() or "")
        if cs is not None and self._sensitive_input(cs):
            return privacy.MASK if text.strip() else text
        return privacy.redact(text)

    def _on_timer(self) -> None:
        kind, self._timer, self.deadline = self._timer, None, None
        cs = self._cs()
        if kind == "inter_digit":
            self._finish_digits(cs)
        elif kind == "record" and isinstance(cs.state, model.Record):
            self._on_recorded(cs, Recorded(text="", duration_s=cs.state.max_duration_s))
        elif kind == "transfer":
            reason = f"no answer from the line within {TRANSFER_RESULT_WAIT_S:g} s"
            self._on_transfer_outcome(cs, TransferOutcome("failed", reason), waited=True)
        else:
            self._no_input(cs)

    def listening_started(self) -> None:
        """A channel calls this when the prompt has finished playing: the no-input clock starts now."""
        if self._timer == "no_input" and self._listen is not None:
            self.deadline = self.clock.now() + self._listen.no_input_s
        elif self._timer == "record" and isinstance(st := self._cs().state, model.Record):
            # the channel ends the message itself; this is the backstop for one that cannot
            self.deadline = self.clock.now() + st.max_duration_s + st.final_silence_s + RECORD_SLACK_S

    @property
    def timer_kind(self) -> str | None:
        return self._timer

    @property
    def elapsed(self) -> float:
        return self.clock.now() - self.t0

    # -- machine callbacks ----------------------------------------------------------

    def _entered(self, event: Any) -> None:
        """Called by the machine after every transition (after_state_change)."""
        if self.ended:
            return
        self._moves += 1
        if self._moves > MAX_TRANSITIONS_PER_EVENT:
            loop = " -> ".join(dict.fromkeys(self.visited[-20:]))
            self._log(
                "error",
                self.state,
                message=f"more than {MAX_TRANSITIONS_PER_EVENT:,} state "
                f"changes without caller input (a loop through {loop})",
            )
            self._end(
                "error",
                reason=f"endless loop without caller input through {loop} "
                f"(over {MAX_TRANSITIONS_PER_EVENT:,} state changes)",
            )
            return
        trigger = event.event.name
        src = event.transition.source
        self.edges_taken.append((src, trigger))
        cs = self._cs()
        self.visited.append(self.state)
        st = cs.state
        self._log("state_enter", self.state, via=trigger, type=st.type)
        match st:
            case model.Play():
                self._say(cs, st.prompt)
                self._fire("next")
            case model.SetVars():
                if self._assign(cs, st.assignments):
                    self._fire("next")
            case model.Branch():
                self._enter_branch(cs, st)
            case model.Hours():
                self._enter_hours(cs, st)
            case model.Queue():
                self._enter_queue(cs, st)
            case model.Transfer():
                self._say(cs, st.prompt)
                self._emit(Transfer(queue=None, destination=st.to, state=cs.name))
                self._log("transfer", cs.name, destination=st.to)
                if st.waits_for_result:
                    self._set_timer("transfer", TRANSFER_RESULT_WAIT_S)  # the line answers
                else:
                    self._end("transferred", queue=st.to)
            case model.Hangup():
                self._say(cs, st.prompt)
                self._end(st.outcome, disposition=st.disposition)
            case model.Record():
                self._say(cs, st.prompt)
                self._emit(
                    StartRecording(
                        cs.name,
                        st.max_duration_s,
                        st.final_silence_s,
                        st.terminator,
                        st.beep,
                        st.transcribe,
                        model=cs.model_target,
                        language=self._language(cs),
                    )
                )
                self._set_timer("record", st.max_duration_s + st.final_silence_s)
            case model.Http() | model.Function():
                self._enter_data(cs, st)
            case model.Subflow():
                self.stack.append(cs.name)
                self._fire("call")
            case model.Return():
                self._say(cs, st.prompt)
                if not self.stack:
                    self._end("self_served")
                    return
                self._fire(f"return:{self.stack.pop()}")
            case model.Ask() | model.Survey():
                self._reset_input()
                self._prompt_and_listen(cs, attempt=1)

    # -- states that decide on their own ------------------------------------------------

    def _enter_branch(self, cs: CompiledState, st: model.Branch) -> None:
        env = self._env()
        for i, case in enumerate(st.cases):
            try:
                ok = bool(case.expression.evaluate(env)) if case.expression is not None else False
            except expr.ExpressionError as err:
                self._runtime_error(cs, f"condition {case.source!r}: {err}")
                return
            if ok:
                self._log("branch", cs.name, case=i + 1, condition=case.source)
                self._fire(f"case:{i + 1}")
                return
        self._log("branch", cs.name, case="else")
        self._fire("else")

    def _enter_hours(self, cs: CompiledState, st: model.Hours) -> None:
        local = self.clock.wall().astimezone(ZoneInfo(st.timezone))
        today = local.date().isoformat()
        if today in st.holidays:
            label = "holiday" if st.if_holiday else "closed"
        else:
            day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[local.weekday()]
            hhmm = local.strftime("%H:%M")
            is_open = any(a <= hhmm < b for a, b in st.open_hours.get(day, ()))
            label = "open" if is_open else "closed"
        self._log("hours", cs.name, local_time=local.isoformat(timespec="minutes"), result=label)
        self._fire(label)

    def _enter_queue(self, cs: CompiledState, st: model.Queue) -> None:
        wait = self.queue_status.expected_wait_s(st.queue or "")
        if st.callback is not None and wait > st.callback.over_s and not self.callback_offered:
            self.callback_offered = True
            self._log("callback_offer", cs.name, queue=st.queue, expected_wait_s=wait)
            self._fire("callback")
            return
        self._say(cs, st.prompt)
        skill = template.render(st.skill, self._env()) if st.skill else None
        self._emit(Transfer(queue=st.queue, priority=st.priority, skill=skill or None))
        shown_skill = (self._shown_template(st.skill, self._env()) or skill) if st.skill else None
        self._log(
            "transfer", cs.name, queue=st.queue, priority=st.priority, skill=shown_skill, expected_wait_s=wait
        )
        self._end("transferred", queue=st.queue)

    def _on_transfer_outcome(self, cs: CompiledState, ev: TransferOutcome, *, waited: bool = False) -> None:
        """The line's answer to a transfer state's Transfer: follow `transferred` or `failed`;
        without that edge the call ends (transferred; or error when the transfer failed).
        An answer the session is not waiting for (a queue's, a late one) is ignored."""
        st = cs.state
        if not isinstance(st, model.Transfer) or not (waited or self._timer == "transfer"):
            return
        self._cancel_timer()
        reason = self._scrub(ev.reason) if ev.reason else None
        target = st.transferred if ev.result == "transferred" else st.failed
        self._log("transfer_result", cs.name, destination=st.to, result=ev.result, reason=reason, next=target)
        if ev.result == "transferred":
            self._handed_on = st.to
        if target:
            self._fire(ev.result)
        elif ev.result == "transferred":
            self._end("transferred", queue=st.to)
        else:
            why = f": {reason}" if reason else ""
            # the destination is in the transfer_result event (a SIP URI would read as an e-mail here)
            self._end("error", reason=f"{cs.name}: the transfer failed{why} (the state has no `failed` edge)")

    # -- data steps: http and function --------------------------------------------------

    def _enter_data(self, cs: CompiledState, st: model.DataStep) -> None:
        """Run the step (bounded by its timeout), save what it maps, take its edge."""
        env = self._env()
        started = self.clock.now()
        result: datasteps.DataResult
        if isinstance(st, model.Http):
            request = self._http_request(st, env)
            if isinstance(request, str):
                result = datasteps.DataFailed(request)
            else:
                result = self.data.http(cs.name, request)
        else:
            args: dict[str, Any] = {}
            try:
                for a in st.args:
                    args[a.var] = a.value(env)
            except expr.ExpressionError as err:
                self._runtime_error(cs, f"argument {a.var}: {err}")
                return
            result = self.data.function(cs.name, st.function, args, st.timeout_s)
        label: model.DataOutcome
        match result:
            case datasteps.DataOk(value):
                label = "success"
                for s in st.save:
                    self.vars[s.var] = datasteps.storable(datasteps.extract(value, s.keys))
            case datasteps.DataTimedOut():
                label = "timeout"
            case datasteps.DataFailed():
                label = "failure"
        if label != "success":
            for s in st.save:
                self.vars[s.var] = None
        for s in st.save:
            self._mark_secret(s.var, st.sensitive)
        self._log(
            "data_step",
            cs.name,
            step=st.type,
            target=st.url if isinstance(st, model.Http) else st.function,
            result=label,
            status=getattr(result, "status", None),
            reason=None if isinstance(result, datasteps.DataOk) else self._scrub(result.reason, cs),
            ms=round((self.clock.now() - started) * 1000, 1),
            saved=",".join(s.var for s in st.save) or None,
        )
        self._fire(label)

    def _http_request(self, st: model.Http, env: dict[str, Any]) -> datasteps.HttpRequest | str:
        """The request of an http state with its variables filled in, or why it cannot be made."""
        url = _fill_url(st.url, env)
        headers: dict[str, str] = {}
        for h in st.headers:
            if h.secret is not None:
                value = self.data.secret(h.secret)
                if value is None:
                    return (
                        f"secret '{h.secret}' is not set ({datasteps.SECRET_ENV_PREFIX}"
                        f"{h.secret.upper()} or the secrets file)"
                    )
                self._secret_values.add(value)
                headers[h.name] = h.prefix + value
            elif h.template is not None:
                headers[h.name] = " ".join(template.render(h.template, env).split())
        body = None
        if st.body is not None:
            try:
                body = json.dumps(_fill_body(st.body, env), ensure_ascii=False, default=str).encode()
            except (ValueError, TypeError, RecursionError):
                return "the body could not be made into JSON"
        return datasteps.HttpRequest(st.method, url, headers, body, st.timeout_s, st.retries)

    # -- input handling ----------------------------------------------------------------

    def _reset_input(self) -> None:
        self.no_input_count = 0
        self.no_match_count = 0
        self.attempt = 1
        self.digits = ""
        self.phase: interpret.Phase = "collect"
        self.pending: _Pending | None = None
        self.confirm_rejections = 0
        self._listen: Listen | None = None

    def _prompt_and_listen(self, cs: CompiledState, attempt: int) -> None:
        st = _asking(cs)
        prompts = st.prompts
        if prompts:
            self._say(cs, prompts[min(attempt, len(prompts)) - 1])
        self._listen_for(cs, collect=st.answer.collect)

    def _listen_for(self, cs: CompiledState, collect: Collect) -> None:
        st = _asking(cs)
        answer, listening = st.answer, st.listening
        phrases: tuple[str, ...] = ()
        if collect == "menu":
            phrases = tuple(p for c in answer.choices for p in c.speech)
        phrases += tuple(p for g in listening.commands for p in g.speech)
        if collect in model.TYPED_COLLECTS:
            phrases += values.hints(collect, self._language(cs))
        max_digits = (
            answer.digits_max
            if collect == "digits"
            else interpret.max_keys(answer)
            if collect in model.TYPED_COLLECTS
            else max((len(c.dtmf or "") for c in answer.choices), default=1)
            if collect == "menu"
            else 2
            if collect == "number"
            else 1
        )
        self._listen = Listen(
            state=cs.name,
            mode=listening.mode,
            collect=collect,
            no_input_s=listening.no_input_s,
            inter_digit_s=listening.inter_digit_s,
            end_of_speech_s=listening.end_of_speech_s,
            max_speech_s=listening.max_speech_s,
            phrases=phrases,
            max_digits=max_digits,
            terminator=answer.terminator,
            barge_in=st.barge_in,
            model=cs.model_target,
            language=self._language(cs),
        )
        self._emit(self._listen)
        self._set_timer("no_input", self._listen.no_input_s)

    def _on_speech(self, cs: CompiledState, ev: Speech) -> None:
        st = cs.state
        text = ev.text.strip()
        self.vars["last_input"], self.vars["last_confidence"] = text, ev.confidence
        self._mark_secret("last_input", self._sensitive_input(cs))
        self._last_entry = text
        if isinstance(st, model.Record):  # in text mode the typed words are the message
            self._on_recorded(cs, Recorded(text=text))
            return
        if not isinstance(st, model.INPUT_STATES) or self._listen is None or cs.rules is None:
            self._log("input_ignored", cs.name, mode="speech", text=self._shown(cs, text))
            return
        self._log(
            "input",
            cs.name,
            mode="speech",
            text=self._shown(cs, text),
            confidence=round(ev.confidence, 3),
            phase=self.phase,
            **({"model": ev.model} if ev.model is not None else {}),
        )
        language = self._language(cs)
        self._act(cs, interpret.speech(text, ev.confidence, cs.rules, self.phase, language, self._today()))

    def _language(self, cs: CompiledState) -> str:
        return str(self.vars.get("language") or cs.flow.default_language)

    def _today(self) -> date:
        """The call's date (UTC): `today` in a date's limits."""
        return self.clock.wall().astimezone(UTC).date()

    def _on_dtmf(self, cs: CompiledState, key: str) -> None:
        st = cs.state
        if isinstance(st, model.Record):
            if key == st.terminator:
                self._on_recorded(cs, Recorded(text="", duration_s=0.0))
            return
        if not isinstance(st, model.INPUT_STATES) or self._listen is None or cs.rules is None:
            self._log("input_ignored", cs.name, mode="dtmf", key=self._shown_key(cs, key))
            return
        self._log("input", cs.name, mode="dtmf", key=self._shown_key(cs, key), phase=self.phase)
        step = interpret.key(key, self.digits, cs.rules, self.phase, self._language(cs), self._today())
        self.digits = step.buffer
        if step.entered is not None:
            self._last_entry = step.entered
        self._act(cs, step.result)

    def _finish_digits(self, cs: CompiledState) -> None:
        """The inter-digit timeout ended a key entry."""
        if cs.rules is None:
            return
        entered, self.digits = self.digits, ""
        self._last_entry = entered
        self._act(cs, interpret.finish_digits(entered, cs.rules, self._language(cs), self._today()))

    def _act(self, cs: CompiledState, result: interpret.Interpretation) -> None:
        """Do what the caller's input means: capture, retry, run a command or wait for more keys."""
        match result:
            case interpret.Captured(value, confidence):
                label = _yes_no_label(_asking(cs), value) if isinstance(value, bool) else "next"
                self._captured(cs, _Pending(value, None, confidence, label))
            case interpret.Chosen(choice, confidence, intent_score):
                if intent_score is not None:
                    self._log("intent", cs.name, choice=choice.id, score=round(intent_score, 3))
                self._captured(cs, _Pending(choice.id, choice, confidence, f"choice:{choice.id}"))
            case interpret.NoMatch(reason):
                self._no_match(cs, reason)
            case interpret.NoInput():
                self._no_input(cs)
            case interpret.ConfirmAnswer(yes):
                self._confirm_answer(cs, yes)
            case interpret.Command(name, otherwise):
                self._cancel_timer()
                self._log("global_command", cs.name, command=name)
                if otherwise is None:
                    self._run_global(cs, name)
                else:  # an operator command with nowhere to go: the input counts as itself
                    self._act(cs, otherwise)
            case interpret.Collecting():
                if self._listen is not None:
                    self._set_timer("inter_digit", self._listen.inter_digit_s)

    def _on_recorded(self, cs: CompiledState, ev: Recorded) -> None:
        st = cs.state
        if not isinstance(st, model.Record):
            self._log("input_ignored", cs.name, mode="recording")
            return
        self._cancel_timer()
        value = ev.audio_path or ev.text
        if st.into:
            self.vars[st.into] = value
        self._log(
            "recorded",
            cs.name,
            text=self._shown(cs, ev.text),
            audio=ev.audio_path,
            duration_s=round(ev.duration_s, 2),
            mailbox=st.mailbox or cs.flow.name,
            ended=ev.ended or None,
            **({"model": ev.model} if ev.model is not None else {}),
            **({"language": ev.language} if ev.language is not None else {}),
        )
        self._fire("next")

    # -- capture, confirmation, retries ----------------------------------------------

    def _captured(self, cs: CompiledState, pending: _Pending) -> None:
        confirm = _confirm_of(_asking(cs))
        self._cancel_timer()
        needs = confirm is not None and (
            confirm.when == "always"
            or (confirm.when == "low_confidence" and pending.confidence < confirm.below)
        )
        shown = pending.value if pending.choice is not None else self._shown(cs, pending.value)
        self._log("match", cs.name, value=shown, confidence=round(pending.confidence, 3), confirm=needs)
        if needs and confirm is not None:
            self.pending = pending
            self.phase = "confirm"
            self._ask_confirm(cs, confirm)
            return
        self._commit(cs, pending)

    def _ask_confirm(self, cs: CompiledState, confirm: Confirm) -> None:
        st = _asking(cs)
        if confirm.prompt is not None:
            text, lang = confirm.prompt.text_for(self.vars["language"], cs.flow.default_language)
            audio = confirm.prompt.audio
        else:
            text, lang, audio = DEFAULT_CONFIRM, self.vars["language"], None
        value = self.pending.value if self.pending else ""
        collect = st.answer.collect
        if collect in model.TYPED_COLLECTS:  # "March 5, 1980", in the prompt's language
            shown = values.read_back(collect, value, lang, st.answer.value)
        else:
            shown = " ".join(str(value)) if isinstance(value, str) and value.isdigit() else str(value)
        env = dict(self._env(), value=shown)
        if st.into and self.pending:
            env[st.into] = self.pending.value
        private = model.is_sensitive(st) or (st.into is not None and st.into in self.secret_vars)
        secret = {"value", st.into} if private else set()
        said = spoken.render(text, env, lang)
        logged = self._shown_template(said.template, env, extra_secrets=secret)
        self._emit_say(cs, said.text, lang, audio, shown=logged, ssml=said.ssml)
        self._listen_for(cs, collect="yesno")

    def _confirm_answer(self, cs: CompiledState, yes: bool | None) -> None:
        self._cancel_timer()
        if yes is None:
            self._log("confirm", cs.name, answer=None)
            self._no_match(cs, "not a yes or no to the confirmation")
            return
        self._log("confirm", cs.name, answer=yes)
        pending, self.pending, self.phase = self.pending, None, "collect"
        if yes and pending is not None:
            self._commit(cs, pending)
            return
        self.confirm_rejections += 1
        confirm = _confirm_of(_asking(cs))
        attempts = confirm.attempts if confirm else 2
        if self.confirm_rejections >= attempts:
            self._failure(cs, "value rejected at confirmation too many times")
            return
        self.attempt += 1
        self._prompt_and_listen(cs, self.attempt)

    def _commit(self, cs: CompiledState, p: _Pending) -> None:
        st = _asking(cs)
        if st.into:
            self.vars[st.into] = p.value
        if p.choice is not None and not self._assign(cs, p.choice.assignments):
            return
        if isinstance(st, model.Survey):
            value = p.value if st.question != "resolved" else bool(p.value)
            self._log("survey_answer", cs.name, question=st.question, value=value)
        self._fire(p.label)

    def _no_input(self, cs: CompiledState) -> None:
        st = cs.state
        if not isinstance(st, model.INPUT_STATES):
            return
        self.no_input_count += 1
        limit = st.listening.retries_no_input
        self._log("no_input", cs.name, count=self.no_input_count, limit=limit, phase=self.phase)
        if self.no_input_count > limit:
            self._failure(cs, "no input")
            return
        self._retry(cs, st.listening.no_input_prompts, DEFAULT_NO_INPUT, self.no_input_count)

    def _no_match(self, cs: CompiledState, reason: str) -> None:
        st = _asking(cs)
        self.no_match_count += 1
        limit = st.listening.retries_no_match
        self._log(
            "no_match",
            cs.name,
            count=self.no_match_count,
            limit=limit,
            reason=self._scrub(reason, cs),
            phase=self.phase,
        )
        if self.no_match_count > limit:
            self._failure(cs, "no match")
            return
        self._retry(cs, st.listening.no_match_prompts, DEFAULT_NO_MATCH, self.no_match_count)

    def _retry(self, cs: CompiledState, prompts: tuple[Prompt, ...], default: str, n: int) -> None:
        self._cancel_timer()
        self.digits = ""
        if prompts:
            self._say(cs, prompts[min(n, len(prompts)) - 1])
        else:
            self._emit_say(cs, default, self.vars["language"], None)
        confirm = _confirm_of(_asking(cs))
        if self.phase == "confirm" and confirm is not None:
            self._ask_confirm(cs, confirm)
            return
        self.attempt += 1
        self._prompt_and_listen(cs, self.attempt)

    def _failure(self, cs: CompiledState, reason: str) -> None:
        self._cancel_timer()
        self.phase, self.pending = "collect", None
        target = _asking(cs).on_failure
        self._log("max_retries", cs.name, reason=reason, next=target)
        if target:
            self._fire("max_retries")
        else:
            self._end("error", reason=f"{cs.name}: {reason} after the last retry")

    def _run_global(self, cs: CompiledState, name: str) -> None:
        if name == "operator":
            self._fire("operator")
            return
        st = _asking(cs)
        if name == "help" and st.help is not None:
            self._say(cs, st.help)
        elif name == "help":
            options = ", ".join(c.speech[0] for c in st.answer.choices if c.speech)
            self._emit_say(
                cs,
                f"You can say {options}." if options else "Please answer the question.",
                self.vars["language"],
                None,
            )
        # repeat (and help) replay the current question without using up a retry
        confirm = _confirm_of(st)
        if self.phase == "confirm" and confirm is not None:
            self._ask_confirm(cs, confirm)
        else:
            self._prompt_and_listen(cs, self.attempt)

    # -- helpers ----------------------------------------------------------------------

    def _assign(self, cs: CompiledState, assignments: tuple) -> bool:
        env = self._env()
        for a in assignments:
            try:
                self.vars[a.var] = env[a.var] = a.value(env)
            except expr.ExpressionError as err:
                self._runtime_error(cs, f"setting {a.var}: {err}")
                return False
            # a value computed from a sensitive variable is sensitive too
            reads = a.expression.names if a.expression is not None else frozenset()
            self._mark_secret(a.var, bool(reads & self.secret_vars))
            value = self.vars[a.var]
            shown = (
                privacy.MASK
                if a.var in self.secret_vars and value not in (None, "")
                else privacy.redact(value)
            )
            self._log("set", cs.name, var=a.var, value=shown)
        return True

    def _runtime_error(self, cs: CompiledState, message: str) -> None:
        message = self._scrub(message, cs)
        self._log("error", cs.name, message=message)
        target = cs.flow.settings.on_failure
        if target and f"{cs.prefix}{target}" != cs.name:
            self._fire("runtime_error")
        else:
            self._end("error", reason=message)

    def _env(self) -> dict[str, Any]:
        env = dict(self.vars)
        env["__now__"] = self.clock.wall()
        return env

    def _cs(self) -> CompiledState:
        return self.engine.states[self.state]

    def _say(self, cs: CompiledState, prompt: Prompt | None) -> None:
        if prompt is None:
            return
        text, lang = prompt.text_for(self.vars["language"], cs.flow.default_language)
        env = self._env()
        said = spoken.render(text, env, lang)
        self._emit_say(
            cs, said.text, lang, prompt.audio, shown=self._shown_template(said.template, env), ssml=said.ssml
        )

    def _emit_say(
        self,
        cs: CompiledState,
        text: str,
        lang: str,
        audio: str | None,
        shown: str | None = None,
        ssml: str | None = None,
    ) -> None:
        """Say `text` to the caller; the log and the console get `shown` (the text with
        sensitive variables masked and caller data redacted) when the prompt was filled
        from variables."""
        s = cs.flow.settings
        if audio:
            audio = str(cs.base_dir / audio)
        self._emit(
            Say(
                text=text,
                language=lang,
                state=cs.name,
                audio=audio,
                barge_in=cs.state.barge_in,
                voice=s.voice,
                rate=s.rate,
                shown=shown,
                templated=shown is not None,
                ssml=ssml,
            )
        )
        self._log("prompt", cs.name, text=text if shown is None else shown, language=lang)

    # -- privacy: what of the caller's data is logged (see ivr/privacy.py) ----------------

    def _sensitive_input(self, cs: CompiledState) -> bool:
        """Is what the caller gives now personal data? In a sensitive state, yes, except
        the yes/no that confirms a captured value."""
        return model.is_sensitive(cs.state) and self.phase != "confirm"

    def _shown(self, cs: CompiledState, value: Any) -> Any:
        """A value the caller gave, as the log may hold it."""
        if self._sensitive_input(cs):
            return privacy.MASK if value not in (None, "") else value
        return privacy.redact(value)

    def _shown_key(self, cs: CompiledState, key: str) -> str:
        """A key press as logged: digits keyed as data (or in a sensitive state) are masked,
        since the keys of a card number, one event each, would spell it out."""
        data_entry = self._sensitive_input(cs) or (
            cs.rules is not None
            and (
                cs.rules.answer.collect in ("digits", "number")
                or cs.rules.answer.collect in model.TYPED_COLLECTS
            )
            and self.phase != "confirm"
        )
        return privacy.DIGIT_MASK if key.isdigit() and data_entry else key

    def _shown_template(
        self,
        text: str,
        env: dict[str, Any],
        *,
        extra_secrets: frozenset[str | None] | set[str | None] = frozenset(),
    ) -> str | None:
        """The logged form of a prompt template, or None when it has no placeholders."""
        if "{" not in text:
            return None
        names = self.secret_vars | {n for n in extra_secrets if n}
        return privacy.render_shown(text, env, names, values.formats(str(self.vars.get("language") or "en")))

    def _scrub(self, text: str, cs: CompiledState | None = None) -> str:
        """Engine text that may quote caller data (a reason, an error message)."""
        secrets = [self.vars.get(n) for n in self.secret_vars] + sorted(self._secret_values)
        if cs is not None and model.is_sensitive(cs.state):
            secrets.append(getattr(self, "_last_entry", None))
            if self.pending is not None:
                secrets.append(self.pending.value)
        return privacy.scrub(text, secrets)

    def _mark_secret(self, var: str, secret: bool) -> None:
        if secret:
            self.secret_vars.add(var)
        elif var not in self._declared_secrets:
            self.secret_vars.discard(var)

    # -- faults -------------------------------------------------------------------------

    def _state_or_none(self) -> str | None:
        return getattr(self, "state", None)

    def _guarded(self, step: Callable[..., Any], *args: Any) -> None:
        """Run one step of the call; a fault in it goes to the flow's `on_failure` state,
        or to a safe goodbye, and the call ends with outcome `error` and the reason."""
        self._moves = 0
        try:
            step(*args)
        except Exception as err:  # noqa: BLE001 - any fault must end the call cleanly
            self._fault(err)

    def _fault(self, err: Exception) -> None:
        where = self._state_or_none()
        message = self._scrub(f"internal error in state '{where}': {type(err).__name__}: {err}")
        log.warning("call %s: %s", self.call_id, message)
        log.info("call %s: the fault's traceback (--verbose)", self.call_id, exc_info=err)
        self._log("error", where, message=message)
        if self.ended:
            return
        self._cancel_timer()
        self.actions = [a for a in self.actions if not isinstance(a, (Listen, StartRecording))]
        cs = self.engine.states.get(where or "")
        target = cs.flow.settings.on_failure if cs is not None else self.flow.settings.on_failure
        prefix = cs.prefix if cs is not None else ""
        if target and not self._recovering and where not in (None, "__start__", prefix + target):
            self._recovering = True
            self._reset_input()
            try:
                self._fire("runtime_error")
                return
            except Exception as again:  # noqa: BLE001 - fall back to the goodbye
                log.warning(
                    "call %s: on_failure failed too: %s",
                    self.call_id,
                    self._scrub(f"{type(again).__name__}: {again}"),
                )
            finally:
                self._recovering = False
        if not self.ended:
            lang = self.vars.get("language") or self.flow.default_language
            self._emit(Say(text=SAFE_GOODBYE, language=str(lang), state=where or "", barge_in=False))
            self._log("prompt", where, text=SAFE_GOODBYE, language=lang)
            self._end("error", reason=message)

    def _emit(self, action: Action) -> None:
        self.actions.append(action)

    def _drain(self) -> list[Action]:
        out, self.actions = self.actions, []
        if self.ended:
            self.engine.release(self)
        return out

    def _set_timer(self, kind: str, seconds: float) -> None:
        self._timer = kind
        self.deadline = self.clock.now() + seconds

    def _cancel_timer(self) -> None:
        self._timer, self.deadline = None, None

    def _fire(self, label: str) -> None:
        if self.ended:
            return
        self.trigger(label)  # type: ignore[attr-defined]  # added by transitions

    def _end(
        self,
        outcome: Outcome,
        *,
        disposition: str | None = None,
        queue: str | None = None,
        reason: str | None = None,
    ) -> None:
        if self.ended:
            return
        if self._handed_on is not None and outcome != "error":
            # a call a transfer state handed on ends transferred, however the flow goes on
            outcome, queue = "transferred", queue or self._handed_on
        self._cancel_timer()
        self.ended, self.outcome = True, outcome
        self.disposition, self.queue = disposition, queue
        reason = self._scrub(reason) if reason else reason
        self._emit(EndCall(outcome=outcome, disposition=disposition, queue=queue, reason=reason))
        self._log(
            "call_end",
            getattr(self, "state", None),
            outcome=outcome,
            disposition=disposition,
            queue=queue,
            reason=reason,
        )

    def _log(self, kind: EventKind, state: str | None, **data: Any) -> None:
        ev = LogEvent(
            seq=len(self.events),
            t=round(self.elapsed, 3),
            kind=kind,
            state=state,
            data={k: _jsonable(v) for k, v in data.items() if v is not None},
        )
        self.events.append(ev)
        if self.listener is not None:
            self.listener(ev)


def _asking(cs: CompiledState) -> model.InputState:
    """The input state a call is in: input handling runs only there (else it is a fault)."""
    if not isinstance(cs.state, model.INPUT_STATES):
        raise TypeError(f"'{cs.name}' is a {cs.state.type} state, not an input state")
    return cs.state


def _confirm_of(st: model.InputState) -> Confirm | None:
    return st.confirm if isinstance(st, model.Ask) else None


def _yes_no_label(st: model.InputState, yes: bool) -> str:
    """The edge a yes/no answer takes: its own target in an ask with both, else next."""
    if isinstance(st, model.Ask) and st.yes and st.no:
        return "yes" if yes else "no"
    return "next"


def _sensitive_vars(flow: Flow) -> frozenset[str]:
    """Sensitive variables of a flow and its subflows (a call shares one set of variables)."""
    out = set(flow.sensitive)
    for sub in flow.subflows.values():
        out |= _sensitive_vars(sub)
    return frozenset(out)


def _fill_url(url: str, env: dict[str, Any]) -> str:
    """A URL template filled in: every value percent-encoded (a caller's "1/../admin" stays
    one path segment), except a placeholder the URL starts with, which is the base address
    (`{pharmacy_api}/refills/{rx}`)."""
    base = ""
    m = re.match(r"\{\s*([a-z_][a-z0-9_]*)\s*\}", url)
    if m:
        value = env.get(m.group(1))
        base, url = ("" if value is None else str(value)), url[m.end() :]
    encoded = {k: quote(str(v), safe="") for k, v in env.items() if v is not None}
    return base + template.render(url, encoded)


def _fill_body(value: Any, env: dict[str, Any]) -> Any:
    """An http body with its {templates} filled: a text that is one placeholder alone keeps
    the variable's type (a number stays a number), other texts are rendered as text."""
    if isinstance(value, str):
        m = _LONE_PLACEHOLDER.fullmatch(value)
        if m:
            return env.get(m.group(1))
        return template.render(value, env)
    if isinstance(value, dict):
        return {str(k): _fill_body(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_body(v, env) for v in value]
    return value


_LONE_PLACEHOLDER = re.compile(r"\{\s*([a-z_][a-z0-9_]*)\s*\}")


def _jsonable(v: Any) -> Any:
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, date):
        return v.isoformat()
    return str(v)
