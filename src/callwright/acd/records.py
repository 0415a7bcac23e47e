"""The ACD's record types: what enters the simulated queue and what happened to each call.

They sit below `callwright.store` so that the store can save a simulation run
(`store.queue`) without importing the reports layer; the simulation itself is
`callwright.reports.acd`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Outcome = Literal["completed", "abandoned", "unserved"]
EventKind = Literal[
    "arrived",
    "callback_offered",
    "callback_accepted",
    "answered",
    "abandoned",
    "completed",
    "agent_on",
    "agent_off",
]


@dataclass(frozen=True)
class Caller:
    """A call entering the ACD, e.g. one the IVR transferred.

    `skill` defaults to the queue name. `handle_s` and `patience_s`, when given,
    replace draws from the queue's distributions (use math.inf for a caller
    who never hangs up).
    """

    call_id: str
    arrival_s: float
    queue: str
    priority: int = 0
    skill: str | None = None
    handle_s: float | None = None
    patience_s: float | None = None


@dataclass(frozen=True, slots=True)
class QueueEvent:
    """One thing that happened, in time order: the ACD's event log."""

    time_s: float
    kind: EventKind
    call_id: str | None
    queue: str | None
    agent_id: str | None = None


@dataclass(slots=True)
class CallRecord:
    """What happened to one call (filled in by the simulation as it runs)."""

    call_id: str
    queue: str
    skill: str
    priority: int
    arrived_s: float
    outcome: Outcome = "unserved"
    answered_s: float | None = None
    agent_id: str | None = None
    completed_s: float | None = None
    abandoned_s: float | None = None
    callback_offered: bool = False
    callback_accepted: bool = False

    @property
    def wait_s(self) -> float | None:
        """Time from arrival to answer or hang-up; None while still waiting."""
        end = self.answered_s if self.answered_s is not None else self.abandoned_s
        return None if end is None else end - self.arrived_s


@dataclass(frozen=True)
class AgentRecord:
    """When an agent was on duty (including overtime to finish a call)."""

    agent_id: str
    skills: frozenset[str]
    on_duty: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class SimulationResult:
    calls: tuple[CallRecord, ...]
    events: tuple[QueueEvent, ...]
    agents: tuple[AgentRecord, ...]
    end_s: float
    seed: int
