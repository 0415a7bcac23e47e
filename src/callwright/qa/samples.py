"""Realistic sample calls rendered from YAML conversation scripts.

QA needs recordings whose truth is known: which words were said, by whom and
when, where the over-talk and the hold are, and how a scorecard should judge
the call. Each script says that, and this module renders it the way a call
centre records it: one espeak-ng voice per side, each on its own channel of
an 8 kHz stereo file, through a telephone band with line noise and G.711
companding. The script's timeline is kept (`RenderedCall.turns`, `.holds`) so
tests can compare what ingest and metrics measure with what was scripted.

The script format is documented in docs/qa-samples.md.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from callwright.errors import DataError
from callwright.qa.ingest import DEFAULT_ROLES, META_FIELDS, ROLES, check_meta_fields
from callwright.qa.model import CallMeta, Role, Transcript, Utterance
from callwright.speech.audio import Audio, Encoding, trim_silence, write_wav
from callwright.speech.degrade import TELEPHONE_RATE, active_power, add_noise, mulaw_round_trip, telephone
from callwright.speech.tts.base import Synthesizer

log = logging.getLogger(__name__)

RATE = TELEPHONE_RATE
DEFAULT_PAUSE_S = 0.6
DEFAULT_VOICES: dict[Role, tuple[str, int]] = {"agent": ("en-us", 165), "customer": ("en-gb", 150)}
SPEECH_DBFS = {"agent": -20.0, "customer": -23.0}
"""Active speech level per side: the agent's headset is usually hotter than the customer's line."""
MUSIC_DBFS = -32.0
"""Hold music is played soft, well under the speech level."""

_SCRIPT_KEYS = (
    "call_id",
    "purpose",
    "meta",
    "voices",
    "channels",
    "mono",
    "encoding",
    "noise_snr_db",
    "seed",
    "lead_in",
    "tail",
    "expect",
    "turns",
)
_LINE_KEYS = ("pause", "overlap")
_HOLD_KEYS = ("hold", "music", "side", "pause")  # not "on": YAML reads it as True


@dataclass(frozen=True)
class Line:
    """One thing one side says; it starts `pause` after the last speech ends, or `overlap` before."""

    speaker: Role
    text: str
    pause: float = DEFAULT_PAUSE_S
    overlap: float | None = None


@dataclass(frozen=True)
class Hold:
    """The customer on hold: silence, or soft music on the channel of side `on`."""

    seconds: float
    music: bool = False
    on: Role = "agent"
    pause: float = DEFAULT_PAUSE_S


@dataclass(frozen=True)
class Voice:
    voice: str
    rate_wpm: int


@dataclass(frozen=True)
class CallScript:
    """A parsed conversation script."""

    path: Path
    call_id: str
    purpose: str
    meta: CallMeta
    voices: dict[Role, Voice]
    steps: tuple[Line | Hold, ...]
    expect: dict[str, Any] = field(default_factory=dict)
    mono: bool = False
    encoding: Encoding = "pcm16"
    noise_snr_db: float = 30.0
    seed: int = 0
    lead_in: float = 0.5
    tail: float = 1.0

    @property
    def channels(self) -> tuple[Role, ...]:
        return self.meta.channel_roles


@dataclass(frozen=True)
class PlacedTurn:
    """A line as rendered: where its speech starts and ends in the call."""

    speaker: Role
    text: str
    start: float
    end: float


@dataclass(frozen=True)
class PlacedHold:
    start: float
    end: float
    music: bool
    on: Role


@dataclass(frozen=True, eq=False)
class RenderedCall:
    script: CallScript
    audio: Audio
    turns: list[PlacedTurn]
    holds: list[PlacedHold]

    def activity(self) -> dict[Role, list[tuple[float, float]]]:
        """The scripted speech of each side (the truth voice activity is compared with)."""
        out: dict[Role, list[tuple[float, float]]] = {r: [] for r in self.script.channels}
        for t in self.turns:
            out.setdefault(t.speaker, []).append((t.start, t.end))
        return out

    def reference_transcript(self) -> Transcript:
        """The script's words at their rendered times: what a perfect recogniser would return."""
        utterances = [Utterance(t.speaker, t.start, t.end, t.text) for t in self.turns]
        return Transcript(self.script.call_id, self.audio.duration_s, utterances, source="transcript")


# -- loading ---------------------------------------------------------------------------------------


def _seconds(raw: Any, where: str, *, positive: bool = False) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw < 0 or (positive and raw == 0):
        raise DataError(f"{where}: must be a number of seconds {'> 0' if positive else '>= 0'}, got {raw!r}")
    return float(raw)


def _keys(raw: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for k in raw:
        if k not in allowed:
            raise DataError(f"{where}: unknown key {k!r}", hint=f"allowed: {', '.join(allowed)}")


def _step(raw: Any, where: str) -> Line | Hold:
    if not isinstance(raw, dict):
        raise DataError(f'{where}: a turn must be a mapping like {{agent: "Hello"}} or {{hold: 130}}')
    if "hold" in raw:
        _keys(raw, _HOLD_KEYS, where)
        on = raw.get("side", "agent")
        if on not in ROLES:
            raise DataError(f"{where}.side: unknown role {on!r}", hint=f"use one of {', '.join(ROLES)}")
        return Hold(
            _seconds(raw["hold"], f"{where}.hold", positive=True),
            bool(raw.get("music", False)),
            cast(Role, on),
            _seconds(raw.get("pause", DEFAULT_PAUSE_S), f"{where}.pause"),
        )
    speakers = [k for k in raw if k in ROLES]
    if len(speakers) != 1:
        raise DataError(f"{where}: name exactly one speaker ({', '.join(ROLES)}) or a hold")
    speaker = cast(Role, speakers[0])
    _keys(raw, (speaker, *_LINE_KEYS), where)
    text = raw[speaker]
    if not isinstance(text, str) or not text.strip():
        raise DataError(f"{where}.{speaker}: the line's text is empty")
    if "pause" in raw and "overlap" in raw:
        raise DataError(f"{where}: give pause or overlap, not both")
    overlap = _seconds(raw["overlap"], f"{where}.overlap", positive=True) if "overlap" in raw else None
    return Line(
        speaker,
        " ".join(text.split()),
        _seconds(raw.get("pause", DEFAULT_PAUSE_S), f"{where}.pause"),
        overlap,
    )


def _voices(raw: Any, where: str) -> dict[Role, Voice]:
    voices = {role: Voice(v, r) for role, (v, r) in DEFAULT_VOICES.items()}
    if raw is None:
        return voices
    if not isinstance(raw, dict):
        raise DataError(f"{where}: must map roles to {{voice: en-us, rate: 165}}")
    for role, spec in raw.items():
        if role not in ROLES or not isinstance(spec, dict):
            raise DataError(f"{where}.{role}: expected a role mapped to {{voice: ..., rate: ...}}")
        _keys(spec, ("voice", "rate"), f"{where}.{role}")
        base = voices.get(role, Voice(*DEFAULT_VOICES["agent"]))
        voices[role] = Voice(str(spec.get("voice", base.voice)), int(spec.get("rate", base.rate_wpm)))
    return voices


def load_script(path: str | os.PathLike[str]) -> CallScript:
    """Parse and check one conversation script; mistakes name the file and the turn."""
    import yaml

    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as err:
        raise DataError(f"{p}: cannot read ({err.strerror})") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise DataError(f"{p}{line}: invalid YAML ({getattr(err, 'problem', err)})") from None
    if not isinstance(raw, dict):
        raise DataError(f"{p}: a conversation script must be a mapping with call_id, meta and turns")
    _keys(raw, _SCRIPT_KEYS, str(p))
    call_id = str(raw.get("call_id") or p.stem)
    meta_raw = raw.get("meta") or {}
    if not isinstance(meta_raw, dict):
        raise DataError(f"{p}: meta must be a mapping of call fields")
    meta_fields = check_meta_fields({**meta_raw, "call_id": call_id}, f"{p}: meta")
    if "channels" in raw:
        meta_fields["channel_roles"] = check_meta_fields({"channels": raw["channels"]}, str(p))[
            "channel_roles"
        ]
    meta_fields.setdefault("channel_roles", DEFAULT_ROLES)
    meta = CallMeta(**meta_fields)
    turns = raw.get("turns")
    if not isinstance(turns, list) or not turns:
        raise DataError(f"{p}: turns must be a non-empty list")
    steps = tuple(_step(t, f"{p}: turns[{i}]") for i, t in enumerate(turns))
    voices = _voices(raw.get("voices"), f"{p}: voices")
    for i, s in enumerate(steps):
        if isinstance(s, Line) and s.overlap is not None:
            before = steps[i - 1] if i else None
            if not isinstance(before, Line) or before.speaker == s.speaker:
                raise DataError(f"{p}: turns[{i}]: overlap needs another speaker's line just before it")
        if isinstance(s, Line) and s.speaker not in meta.channel_roles:
            raise DataError(
                f"{p}: turns[{i}]: {s.speaker} has no channel (channels: {list(meta.channel_roles)})"
            )
        if isinstance(s, Hold) and s.music and s.on not in meta.channel_roles:
            raise DataError(
                f"{p}: turns[{i}].side: {s.on} has no channel (channels: {list(meta.channel_roles)})"
            )
        if isinstance(s, Line) and s.speaker not in voices:
            raise DataError(f"{p}: turns[{i}]: no voice for {s.speaker}; add it under voices")
    encoding = raw.get("encoding", "pcm16")
    if encoding not in ("pcm16", "ulaw", "alaw"):
        raise DataError(f"{p}: encoding must be pcm16, ulaw or alaw, not {encoding!r}")
    expect = raw.get("expect") or {}
    if not isinstance(expect, dict):
        raise DataError(f"{p}: expect must be a mapping of item ids to outcomes")
    return CallScript(
        path=p,
        call_id=call_id,
        purpose=str(raw.get("purpose", "")).strip(),
        meta=meta,
        voices=voices,
        steps=steps,
        expect=expect,
        mono=bool(raw.get("mono", False)),
        encoding=encoding,
        noise_snr_db=float(raw.get("noise_snr_db", 30.0)),
        seed=int(raw.get("seed", 0)),
        lead_in=_seconds(raw.get("lead_in", 0.5), f"{p}: lead_in"),
        tail=_seconds(raw.get("tail", 1.0), f"{p}: tail"),
    )


def load_scripts(folder: str | os.PathLike[str]) -> list[CallScript]:
    """Every `*.yaml` script in a folder, in name order."""
    paths = sorted(Path(folder).glob("*.yaml"))
    if not paths:
        raise DataError(f"{folder}: no conversation scripts (*.yaml)")
    scripts = [load_script(p) for p in paths]
    seen: dict[str, Path] = {}
    for s in scripts:
        if s.call_id in seen:
            raise DataError(f"{s.path}: call_id {s.call_id!r} is also used by {seen[s.call_id]}")
        seen[s.call_id] = s.path
    return scripts


# -- what a scored sample should say -----------------------------------------------------------------

METRIC_SLACK_S = 1.0
"""A metric in `expect.metrics` is met within this many seconds (voice activity edges move a little)."""


def expect_entries(script: CallScript) -> int:
    """How many checks a script's `expect` block makes: one per item, auto_failed, one per metric,
    and diarization when given (the unit of docs/benchmarks/qa_pipeline.md's "entries")."""
    e = script.expect
    return len(e.get("items") or {}) + 1 + len(e.get("metrics") or {}) + ("diarization" in e)


def expect_mismatches(
    script: CallScript,
    verdicts: dict[str, str],
    auto_failed: bool,
    metrics: Any,
    diarization: str | None = None,
) -> dict[str, tuple[Any, Any]]:
    """Where a scored call differs from its script's `expect` block: {what: (got, expected)}.
    `metrics` None: every expected metric is missing; `diarization` None: not compared."""
    from callwright.qa.scorecard import measures

    exp = script.expect
    items = exp.get("items") or {}
    out: dict[str, tuple[Any, Any]] = {
        f"item {k}": (verdicts.get(k), v) for k, v in items.items() if verdicts.get(k) != v
    }
    if auto_failed != exp.get("auto_failed"):
        out["auto_failed"] = (auto_failed, exp.get("auto_failed"))
    for name, want in (exp.get("metrics") or {}).items():
        value = measures.measure(name, metrics) if metrics is not None else None
        if value is None or abs(value - want) > METRIC_SLACK_S:
            out[f"metric {name}"] = (value, want)
    if diarization is not None and "diarization" in exp and diarization != exp["diarization"]:
        out["diarization"] = (diarization, exp["diarization"])
    return out


VARIANT_STRIDE = 1000
"""Seeds of another rendering start this far from the committed ones (which are small numbers)."""


def variant_seed(script: CallScript, variant: int) -> int | None:
    """The noise seed of rendering `variant` of a script: None (the committed one) for 0, else a
    seed no committed script uses, different for each call."""
    return None if variant == 0 else variant * VARIANT_STRIDE + script.seed


# -- rendering -------------------------------------------------------------------------------------


def _gain_to(audio: Audio, dbfs: float) -> np.ndarray:
    """Float samples scaled so the loudest stretch of speech sits at `dbfs`."""
    x = audio.samples.astype(np.float64)
    power = active_power(audio.samples, audio.rate)
    if power == 0:
        return x
    return x * np.sqrt(32768.0**2 * 10 ** (dbfs / 10) / power)


def hold_music(seconds: float, *, rate: int = RATE, seed: int = 0) -> np.ndarray:
    """A soft looping tune (float samples at MUSIC_DBFS): notes with two harmonics and a gentle envelope."""
    rng = np.random.default_rng(seed)
    scale = 261.63 * 2 ** (np.array([0, 2, 4, 5, 7, 9, 11, 12]) / 12)
    note_s = 0.45
    n_note = int(note_s * rate)
    t = np.arange(n_note) / rate
    env = np.minimum(1.0, t / 0.03) * np.exp(-t * 1.5)
    notes = []
    for _ in range(int(np.ceil(seconds / note_s))):
        f = scale[rng.integers(len(scale))]
        notes.append(
            env
            * (np.sin(2 * np.pi * f * t) + 0.4 * np.sin(4 * np.pi * f * t) + 0.2 * np.sin(6 * np.pi * f * t))
        )
    x = np.concatenate(notes)[: int(round(seconds * rate))]
    rms = np.sqrt(np.mean(x**2)) or 1.0
    return x / rms * 32768.0 * 10 ** (MUSIC_DBFS / 20)


def _clip(synth: Synthesizer, line: Line, voice: Voice) -> Audio:
    """One line as the far end hears it: telephone band at 8 kHz, leading and trailing silence cut."""
    raw = synth.synthesize(line.text, voice=voice.voice, rate_wpm=voice.rate_wpm, sample_rate=16000)
    return trim_silence(telephone(raw, mulaw=False, rate=RATE))


def render(script: CallScript, synth: Synthesizer, *, seed: int | None = None) -> RenderedCall:
    """Lay the script's lines and holds on a timeline and mix one channel per side.

    `seed` replaces the script's own seed for the line noise and the hold tune: the same call,
    rendered as another equally good recording of it (None: the committed rendering). A result
    that changes with it rests on the model's numerics, not on the call (docs/benchmarks/robustness.md).
    """
    seed = script.seed if seed is None else seed
    placed: list[tuple[PlacedTurn, np.ndarray]] = []
    holds: list[PlacedHold] = []
    busy_until, last_speaker = script.lead_in, None
    for i, step in enumerate(script.steps):
        where = f"{script.path}: turns[{i}]"
        if isinstance(step, Hold):
            start = busy_until + step.pause
            holds.append(PlacedHold(round(start, 3), round(start + step.seconds, 3), step.music, step.on))
            busy_until, last_speaker = start + step.seconds, None
            continue
        voice = script.voices[step.speaker]
        clip = _clip(synth, step, voice)
        if clip.n_samples == 0:
            raise DataError(f"{where}: the voice {voice.voice!r} rendered no sound for this line")
        if step.overlap is not None:
            if last_speaker in (None, step.speaker):
                raise DataError(f"{where}: overlap needs another speaker still talking before this line")
            start = busy_until - step.overlap
            if placed and start <= placed[-1][0].start:
                raise DataError(f"{where}: overlap {step.overlap} s is longer than the line it talks over")
        else:
            start = busy_until + step.pause
        start = round(start * RATE) / RATE
        turn = PlacedTurn(step.speaker, step.text, round(start, 3), round(start + clip.duration_s, 3))
        placed.append((turn, _gain_to(clip, SPEECH_DBFS.get(step.speaker, -21.0))))
        if turn.end >= busy_until:
            busy_until, last_speaker = start + clip.duration_s, step.speaker
    total = int(round((busy_until + script.tail) * RATE))
    tracks = {role: np.zeros(total) for role in script.channels}
    for turn, samples in placed:
        a = int(round(turn.start * RATE))
        tracks[turn.speaker][a : a + len(samples)] += samples
    for i, h in enumerate(holds):
        if h.music:
            a = int(round(h.start * RATE))
            music = hold_music(h.end - h.start, seed=seed + i)
            tracks.setdefault(h.on, np.zeros(total))[a : a + len(music)] += music
    channels = []
    for k, role in enumerate(script.channels):
        clean = Audio(np.clip(np.round(tracks[role]), -32768, 32767).astype(np.int16), RATE)
        channels.append(add_noise(clean, script.noise_snr_db, seed=seed * 10 + k))
    if script.mono:
        mixed = np.sum([c.samples.astype(np.int32) for c in channels], axis=0)
        audio = Audio(np.clip(mixed, -32768, 32767).astype(np.int16), RATE)
    else:
        audio = Audio(np.stack([c.samples for c in channels], axis=1), RATE)
    if script.encoding == "pcm16":  # G.711 on the line; a mu-law or A-law file adds its own
        audio = mulaw_round_trip(audio)
    return RenderedCall(script, audio, [t for t, _ in placed], holds)


def sidecar(script: CallScript) -> dict[str, Any]:
    """The metadata a recording system would write beside the recording."""
    m = script.meta
    out: dict[str, Any] = {k: getattr(m, k) for k in META_FIELDS if getattr(m, k) is not None}
    if not script.mono:
        out["channels"] = list(m.channel_roles)
    return out


def write_call(
    call: RenderedCall,
    out_dir: str | os.PathLike[str],
    *,
    transcripts_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Write `<call_id>.wav` and its `<call_id>.json` sidecar (and optionally the reference transcript)."""
    out = Path(out_dir)
    wav = write_wav(out / f"{call.script.call_id}.wav", call.audio, call.script.encoding)
    _write_json(out / f"{call.script.call_id}.json", sidecar(call.script))
    if transcripts_dir is not None:
        segments = [
            {"speaker": t.speaker, "start": t.start, "end": t.end, "text": t.text} for t in call.turns
        ]
        body = {**sidecar(call.script), "duration_s": round(call.audio.duration_s, 3), "segments": segments}
        body.pop("channels", None)
        _write_json(Path(transcripts_dir) / f"{call.script.call_id}.json", body)
    return wav


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Atomic write (temp file + rename), so a reader never sees half a sidecar."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


SAMPLES_DIR = Path(__file__).resolve().parents[3] / "recordings" / "samples"
"""Where the committed conversation scripts live in a source checkout."""


def make_samples(
    scripts_dir: str | os.PathLike[str] = SAMPLES_DIR,
    out_dir: str | os.PathLike[str] | None = None,
    *,
    synth: Synthesizer | None = None,
    only: Sequence[str] = (),
    transcripts_dir: str | os.PathLike[str] | None = None,
    variant: int = 0,
) -> list[Path]:
    """Render every script (or those whose call id is in `only`) to WAV + sidecar; `variant` other
    than 0 renders each with another line noise (`variant_seed`).

    Rendering is deterministic (cached TTS, seeded noise), so a rerun writes the
    same bytes: the recordings keep their content hash, and a QA batch over
    them skips calls it has already scored.
    """
    from callwright.speech.tts import default_synthesizer

    scripts = load_scripts(scripts_dir)
    if only:
        missing = set(only) - {s.call_id for s in scripts}
        if missing:
            raise DataError(f"{scripts_dir}: no script with call id {', '.join(sorted(missing))}")
        scripts = [s for s in scripts if s.call_id in only]
    synth = synth if synth is not None else default_synthesizer()
    written = []
    for s in scripts:
        call = render(s, synth, seed=variant_seed(s, variant))
        written.append(
            write_call(call, out_dir if out_dir is not None else scripts_dir, transcripts_dir=transcripts_dir)
        )
        log.info(
            "%s: %.1f s, %d turns, %d hold(s)",
            s.call_id,
            call.audio.duration_s,
            len(call.turns),
            len(call.holds),
        )
    return written
