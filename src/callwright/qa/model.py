"""The data that crosses QA module lines: a call's metadata, its transcript, its
conversation metrics and its scorecard result.

Ingest produces `CallRecord`s (metadata + one `Channel` per speaker or a mono
track); transcription fills `Transcript`; metrics come from voice activity per
channel; scoring turns a `Transcript` + `ConversationMetrics` into a
`ScoreResult` whose every verdict carries its evidence. The store writes these
as they are; nothing unredacted reaches it (redaction runs before storage).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Role = Literal["agent", "customer", "ivr", "unknown"]
Direction = Literal["inbound", "outbound"]
Verdict = Literal["pass", "fail", "na", "review"]


@dataclass(frozen=True)
class CallMeta:
    """What a manifest, sidecar or file name says about a call."""

    call_id: str
    direction: Direction | None = None
    agent: str | None = None
    team: str | None = None
    customer: str | None = None  # customer id or number
    queue: str | None = None
    campaign: str | None = None
    started_at: str | None = None  # ISO 8601
    disposition: str | None = None
    language: str | None = None  # what the call is spoken in (es, es-MX), when its metadata says
    channel_roles: tuple[Role, ...] = ("agent", "customer")  # stereo channel i -> role
    # the record's own fields (region, product...: `ingest.ATTRIBUTES`), sorted by name
    attributes: tuple[tuple[str, str | float | bool], ...] = ()

    def fields(self) -> dict[str, object]:
        """The known fields and the record's own attributes in one mapping (no attribute shadows
        a known field: ingest refuses such a name); what redaction reads names from."""
        return {**dict(self.attributes), **vars(self)}


@dataclass(frozen=True)
class Word:
    word: str
    start: float
    end: float
    confidence: float = 1.0


@dataclass
class Utterance:
    """One turn of one speaker; times in seconds from the start of the call."""

    speaker: Role
    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)
    confidence: float = 1.0
    sentiment: float | None = None  # [-1, 1]
    sentiment_label: str | None = None  # negative | neutral | positive


@dataclass
class Transcript:
    """A whole call as utterances in time order (already redacted when it leaves the QA pipeline)."""

    call_id: str
    duration_s: float
    utterances: list[Utterance]
    source: Literal["audio", "transcript"] = "audio"
    diarization: Literal["channels", "none", "estimated"] = "channels"
    # the language its words are in (es), when known: told (probability None) or detected by
    # the recogniser with its probability
    language: str | None = None
    language_probability: float | None = None

    def by(self, speaker: Role) -> list[Utterance]:
        return [u for u in self.utterances if u.speaker == speaker]


@dataclass(frozen=True)
class Silence:
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Overtalk:
    start: float
    end: float
    interrupter: Role  # who started speaking while the other was talking


@dataclass
class ConversationMetrics:
    """Measured from per-channel voice activity (not from the ASR)."""

    handle_time_s: float
    talk_s: dict[str, float]  # per role
    talk_listen_ratio: float | None  # agent talk / customer talk
    silence_total_s: float
    silence_longest_s: float
    dead_air: list[Silence]  # silences over the dead-air threshold
    holds: list[Silence]  # silences (or music) over the hold threshold
    overtalk: list[Overtalk]
    speech_rate_wpm: dict[str, float]  # per role, from transcript words over talk time

    @property
    def overtalk_total_s(self) -> float:
        return sum(o.end - o.start for o in self.overtalk)

    def interruptions_by(self, role: Role) -> int:
        return sum(1 for o in self.overtalk if o.interrupter == role)


@dataclass(frozen=True)
class Evidence:
    """Why a verdict was reached: the utterance, its time, and the measured similarity or value."""

    text: str = ""
    start: float | None = None
    end: float | None = None
    speaker: Role | None = None
    similarity: float | None = None
    value: float | None = None
    note: str = ""
    # the matched words of a phrase verdict, so a reviewer sees exactly what matched:
    span_chars: tuple[int, int] | None = None  # [start, end) character offsets into `text`
    span_times: tuple[float, float] | None = None  # seconds (word times, else interpolated: see note)


@dataclass
class ItemResult:
    item_id: str
    section: str
    kind: str
    verdict: Verdict
    points: float  # earned
    max_points: float  # 0 when not applicable
    auto_fail: bool = False  # a failed compliance item that fails the whole call
    evidence: list[Evidence] = field(default_factory=list)


@dataclass
class ScoreResult:
    call_id: str
    scorecard: str
    scorecard_version: str  # content hash of the scorecard file
    score: float | None  # 0-100 over applicable automatic items; None when none apply; 0 when auto-failed
    auto_failed: bool
    items: list[ItemResult]
    raw_score: float | None = None  # the score without the auto-fail rule (for coaching)


@dataclass
class ScoredCall:
    """Everything QA stores for one recording scored with one scorecard.

    Defined beside the types it holds: QA produces it, `callwright.store.qa` saves it."""

    recording_id: str
    path: str
    meta: CallMeta
    channels: int
    rate: int
    transcript: Transcript
    metrics: ConversationMetrics | None
    result: ScoreResult
    source: str = "recording"
