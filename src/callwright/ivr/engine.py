"""Compile a flow into one `transitions` machine and run many calls on it.

One machine per flow (subflows folded in under a `name.` prefix), each call a
model attached with `add_model` and removed when it ends: a machine per call is
slow and leaks (transitions #434, #146). Edge labels from `flows.model.edges`
become the machine's triggers, so the graph the checker and the diagram see is
exactly the graph that runs. Callbacks are named on the session class only;
no string from a flow file is ever resolved as a callable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transitions import Machine

from callwright.errors import FlowError
from callwright.flows.model import (
    INPUT_STATES,
    Flow,
    ModelRef,
    Return,
    State,
    Subflow,
    edges,
    hears_speech,
    model_of,
)
from callwright.ivr.clock import Clock, RealClock
from callwright.ivr.datasteps import DataService
from callwright.ivr.events import LogEvent
from callwright.ivr.interpret import Rules
from callwright.ivr.queues import QueueWaits
from callwright.ivr.session import CallSession

log = logging.getLogger(__name__)

START = "__start__"


@dataclass(frozen=True)
class CompiledState:
    name: str  # namespaced: "state" or "subflow.state"
    state: State
    flow: Flow  # the file this state comes from (its settings apply)
    prefix: str
    base_dir: Path
    rules: Rules | None = None  # what an input state accepts (interpret.py reads it)
    model: ModelRef | None = None  # the speech model that hears it: the state's, its file's, a caller's

    @property
    def model_target(self) -> str | None:
        """What the channel asks the recogniser port for (None: the process's default model)."""
        return self.model.target if self.model is not None else None


class FlowRefused(FlowError):
    """A flow that did not pass the checker: no call is started on it (exit code 2)."""

    exit_code = 2


def load_checked_flow(path: str | Path) -> Flow:
    """Load a flow file and run the checker; refuse it if there is any error.

    Every way of running calls (`callwright call`, a server) starts here, so a flow
    with an unknown target or an endless loop is refused with the same located
    `file:line:col: error: ...` lines as `callwright flow check`, before a call row
    exists, instead of dying mid-call. Warnings do not stop a flow.
    """
    from callwright.flows.checker import check
    from callwright.flows.loader import load
    from callwright.textsafe import safe_text  # messages quote the file: no terminal controls

    result = load(path)
    problems = list(result.errors)
    if result.flow is not None and not problems:
        problems = [p for p in check(result.flow) if p.severity == "error"]
    if problems or result.flow is None:
        problems.sort(key=lambda p: (p.path, p.line, p.col, p.message))
        n = len(problems)
        raise FlowRefused(
            f"{path}: the flow has {n} error{'s' if n != 1 else ''}; no call was started\n"
            + "\n".join(safe_text(str(p)) for p in problems),
            hint=f"fix them, then check with `callwright flow check {path}`",
        )
    return result.flow


def load_engine(path: str | Path) -> FlowEngine:
    """The engine for a flow file that passed the checker (see `load_checked_flow`)."""
    return FlowEngine(load_checked_flow(path))


class FlowEngine:
    """The compiled form of a flow: a single machine shared by all its calls."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.states: dict[str, CompiledState] = {}
        transitions: list[dict[str, Any]] = []
        self._compile(flow, "", transitions, None)
        self.machine = Machine(
            model=None,
            states=[START, *self.states],
            initial=START,
            transitions=transitions,
            auto_transitions=False,
            send_event=True,
            queued=True,
            ignore_invalid_triggers=False,
            after_state_change="_entered",
        )
        self.active: set[CallSession] = set()

    def _compile(
        self, flow: Flow, prefix: str, out: list[dict[str, Any]], outer_model: ModelRef | None
    ) -> None:
        """`outer_model`: the nearest calling flow's `model:`, for a subflow whose file and
        state say none (a state's own model wins, then its file's, then its callers')."""
        base_dir = Path(flow.path).parent
        for name, st in flow.states.items():
            rules = Rules.of(st) if isinstance(st, INPUT_STATES) else None
            chosen = model_of(st) or outer_model
            self.states[prefix + name] = CompiledState(
                prefix + name, st, flow, prefix, base_dir, rules, chosen
            )
        if not prefix:
            out.append({"trigger": "begin", "source": START, "dest": flow.start})
        for e in edges(flow):
            if e.kind == "retry":
                continue
            if e.kind == "call":
                continue  # handled below: a subflow call goes into the subflow, not to next
            out.append({"trigger": e.label, "source": prefix + e.source, "dest": prefix + e.target})
        if flow.settings.on_failure:
            out.append(
                {
                    "trigger": "runtime_error",
                    "source": [prefix + n for n in flow.states if n != flow.settings.on_failure],
                    "dest": prefix + flow.settings.on_failure,
                }
            )
        for name, st in flow.states.items():
            if not isinstance(st, Subflow) or st.subflow not in flow.subflows:
                continue
            sub = flow.subflows[st.subflow]
            sub_prefix = f"{prefix}{name}."
            self._compile(sub, sub_prefix, out, flow.model or outer_model)
            out.append({"trigger": "call", "source": prefix + name, "dest": sub_prefix + sub.start})
            for rname, rst in sub.states.items():
                if isinstance(rst, Return) and st.next:
                    out.append(
                        {
                            "trigger": f"return:{prefix}{name}",
                            "source": sub_prefix + rname,
                            "dest": prefix + st.next,
                        }
                    )

    @property
    def models(self) -> tuple[str, ...]:
        """The speech models the flow's listening states name (targets, each once): what a
        channel loads before the first call, so no caller waits for a model to load."""
        named = (cs for cs in self.states.values() if cs.model is not None and hears_speech(cs.state))
        return tuple(dict.fromkeys(cs.model.target for cs in named if cs.model is not None))

    def start_call(
        self,
        clock: Clock | None = None,
        *,
        call_id: str | None = None,
        caller_id: str = "",
        called_number: str = "",
        language: str | None = None,
        variables: dict[str, Any] | None = None,
        queue_status: QueueWaits | None = None,
        listener: Callable[[LogEvent], None] | None = None,
        channel: str = "text",
        data: DataService | None = None,
    ) -> CallSession:
        """Attach a new call to the machine (it does not run until `session.start()`)."""
        session = CallSession(
            self,
            clock or RealClock(),
            call_id=call_id,
            caller_id=caller_id,
            called_number=called_number,
            language=language,
            variables=variables,
            queue_status=queue_status,
            listener=listener,
            channel=channel,
            data=data,
        )
        self.machine.add_model(session, initial=START)
        self.active.add(session)
        return session

    def release(self, session: CallSession) -> None:
        """Detach an ended call so the machine keeps no reference to it."""
        if session in self.active:
            self.active.discard(session)
            self.machine.remove_model(session)
