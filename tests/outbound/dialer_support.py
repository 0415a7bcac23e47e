"""Shared by the dialer tests: a campaign file whose calling window is open now (in UTC), a
contact list in a real database, and a scripted `Lines` (no network)."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from callwright.outbound.contacts import Contact
from callwright.outbound.dialer import CallOutcome, Job
from callwright.store import contacts as cstore

DATA = Path(__file__).parent / "dialer_data"
FAR_ZONE = "Etc/GMT-12"  # UTC+12: never inside a window of a few hours around now in UTC


def campaign_file(tmp: Path, *, flow: Path, retry_s: float = 1.0, lines: int = 2, attempts: int = 3) -> Path:
    h = datetime.now(UTC).hour
    window = f"{max(0, h - 1):02d}:00-{'24:00' if h >= 22 else f'{h + 2:02d}:00'}"
    days = "\n".join(f"  {d}: ['{window}']" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
    path = tmp / "campaign.yaml"
    path.write_text(
        f"""name: test-reminders
list: test-list
flow: {flow}
caller_id: "+15550100999"
consent: not_required
max_attempts: {attempts}
retry: {{no_answer: {retry_s}, busy: {retry_s}, failed: {retry_s}, voicemail: {retry_s}, answered_no_decision: {retry_s}}}
pacing: {{lines_per_agent: {lines}, agents: 1}}
hours:
{days}
"""
    )
    return path


def save_list(db, contacts: list[Contact]) -> dict[str, Contact]:
    cstore.ensure_list(db, "test-list", "test")
    cstore.save_contacts(
        db, "test-list", [Contact(**{**c.__dict__, "line": i + 1}) for i, c in enumerate(contacts)]
    )
    return {c.number: c for c in cstore.list_contacts(db, "test-list")}


@dataclass
class _Attempt:
    future: concurrent.futures.Future = field(default_factory=concurrent.futures.Future)
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


class ScriptedLines:
    """Each number's outcomes in order (the last repeats), after `delay_s`; records overlaps."""

    def __init__(self, script: dict[str, list[CallOutcome]], delay_s: float = 0.1) -> None:
        self.script = script
        self.delay_s = delay_s
        self.jobs: list[Job] = []
        self.active: dict[str, int] = {}
        self.max_active = 0
        self.max_same_number = 0
        self._lock = threading.Lock()

    def place(self, job: Job) -> _Attempt:
        a = _Attempt()
        n = job.contact.number
        with self._lock:
            self.jobs.append(job)
            self.active[n] = self.active.get(n, 0) + 1
            self.max_same_number = max(self.max_same_number, self.active[n])
            self.max_active = max(self.max_active, sum(self.active.values()))
            outcomes = self.script[n]
            out = outcomes.pop(0) if len(outcomes) > 1 else outcomes[0]

        def finish() -> None:
            end = time.monotonic() + self.delay_s
            while time.monotonic() < end and not a.cancelled:
                time.sleep(0.01)
            with self._lock:
                self.active[n] -= 1
            a.future.set_result(out if not a.cancelled else CallOutcome("no_answer", "stopped", stopped=True))

        threading.Thread(target=finish, daemon=True).start()
        return a


# --- baresip as the called phone ------------------------------------------------------------

from tests.server.sip.baresip_caller import Baresip, free_port  # noqa: E402


class BaresipCallee(Baresip):
    """baresip answering every call at once (answermode=auto) on a known SIP port, its
    microphone a WAV file (keys as in-band tones in it), what it hears dumped per call."""

    def __init__(self, workdir: Path, mic_wav: Path, numbers: list[str]) -> None:
        import socket

        self.sip_port = free_port(socket.SOCK_DGRAM)
        # one account per number dialled: baresip answers a Request-URI only for a user it has
        accounts = "".join(
            f"<sip:{n}@127.0.0.1>;regint=0;answermode=auto;audio_codecs=PCMU/8000/1\n" for n in numbers
        )
        super().__init__(workdir, mic_wav, sip_port=self.sip_port, accounts=accounts)
