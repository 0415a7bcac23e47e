"""Caller scripts: what a scripted caller does on an audio call (docs/caller-scripts.md).

A script is YAML, read with the flows' line-aware loader (`common.source`), so it
gets the same defences (size, binary, nesting, alias bombs, Python tags) and its
mistakes are reported like flow errors: `script.yaml:LINE:COL: error: ...`, every
one of them at once. Numbers are checked to be finite and within the limits below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from callwright.common.source import PathKey, Problem, Source, SourceError
from callwright.common.source import load as load_source
from callwright.errors import DataError
from callwright.textsafe import safe_text

TurnKind = Literal["wav", "dtmf", "silence", "say", "hangup"]
KINDS: tuple[TurnKind, ...] = ("wav", "dtmf", "silence", "say", "hangup")
OPTIONS = ("voice", "delay")
TOP_KEYS = ("turns", "description")

DEFAULT_DELAY_S = 0.4
MAX_TURNS = 1_000
MAX_DELAY_S = 60.0
MAX_SILENCE_S = 600.0
MAX_KEYS = 64
MAX_SAY_CHARS = 1_000
MAX_NAME_CHARS = 200
DTMF_KEYS = frozenset("0123456789*#ABCD")


@dataclass
class Turn:
    """One line of a caller script."""

    kind: str  # wav | dtmf | silence | say | hangup
    value: Any = None
    voice: str | None = None
    delay_s: float = DEFAULT_DELAY_S  # pause after the prompt before the caller acts
    line: int = 0


class CallerScriptError(DataError):
    """A caller script with mistakes; the message lists each one as file:line:col."""

    def __init__(self, path: str | Path, problems: list[Problem]) -> None:
        n = len(problems)
        lines = "\n".join(safe_text(str(p)) for p in problems)  # they quote the file
        super().__init__(
            f"{path}: the caller script has {n} error{'s' if n != 1 else ''}\n{lines}",
            hint="the format is in docs/caller-scripts.md",
        )
        self.problems = problems


def load_caller_script(path: str | Path) -> list[Turn]:
    """Read a caller script; raise `CallerScriptError` listing every mistake, located."""
    path = Path(path)
    try:
        src = load_source(path)
    except SourceError as err:
        raise CallerScriptError(path, err.problems) from None
    return parse_caller_script(src, path.parent)


def parse_caller_script(src: Source, base_dir: Path) -> list[Turn]:
    """The turns of a parsed script (wav paths resolved against `base_dir`)."""
    problems: list[Problem] = []

    def bad(p: PathKey, message: str, *, key: bool = False) -> None:
        problems.append(src.problem(p, "error", message, key=key))

    data = src.data
    if not isinstance(data, dict) or not isinstance(data.get("turns"), list):
        bad(
            (),
            "a caller script is a mapping with 'turns:', a list of turns such as "
            "{dtmf: '1'}, {say: billing}, {silence: 6}, {wav: caller.wav} or hangup",
        )
        raise CallerScriptError(src.path, problems)
    for k in data:
        if k not in TOP_KEYS:
            bad((k,), f"unknown key '{k}' (a caller script has {' and '.join(TOP_KEYS)})", key=True)
    raw_turns = data["turns"]
    if len(raw_turns) > MAX_TURNS:
        bad(("turns",), f"{len(raw_turns):,} turns; a caller script has at most {MAX_TURNS:,}")
        raise CallerScriptError(src.path, problems)
    turns = []
    for i, raw in enumerate(raw_turns):
        p: PathKey = ("turns", i)
        turn = _turn(raw, p, src, base_dir, bad)
        if turn is not None:
            turns.append(turn)
    if problems:
        raise CallerScriptError(src.path, problems)
    return turns


def _turn(raw: Any, p: PathKey, src: Source, base_dir: Path, bad) -> Turn | None:
    line = src.pos(p).line
    if raw == "hangup":
        return Turn("hangup", True, None, DEFAULT_DELAY_S, line)
    if not isinstance(raw, dict):
        bad(p, "each turn is a mapping such as {dtmf: '1'} (or the word hangup)")
        return None
    kinds = [k for k in KINDS if k in raw]
    unknown = [k for k in raw if k not in KINDS and k not in OPTIONS]
    for k in unknown:
        bad(
            p + (k,),
            f"unknown key '{k}' in a turn (one of {', '.join(KINDS)}, plus {' and '.join(OPTIONS)})",
            key=True,
        )
    if len(kinds) != 1:
        if not unknown:
            what = "none" if not kinds else " and ".join(kinds)
            bad(p, f"a turn has exactly one of {', '.join(KINDS)} (this one has {what})")
        return None
    kind = kinds[0]
    value = raw[kind]
    vp = p + (kind,)
    ok = True
    if kind == "wav":
        if not isinstance(value, str) or not value.strip():
            bad(vp, "wav is the path of a WAV file (relative to the script)")
            ok = False
        else:
            wav = Path(value)
            value = wav if wav.is_absolute() else base_dir / wav
            if not value.is_file():
                bad(vp, f"wav file not found: {value}")
                ok = False
    elif kind == "dtmf":
        keys = str(value) if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else value
        if not isinstance(keys, str) or not keys:
            bad(vp, "dtmf is the keys to press as text, e.g. '1' or '4111#' (quote them)")
            ok = False
        elif len(keys) > MAX_KEYS:
            bad(vp, f"{len(keys)} keys; a turn presses at most {MAX_KEYS}")
            ok = False
        elif not set(keys.upper()) <= DTMF_KEYS:
            wrong = next(ch for ch in keys.upper() if ch not in DTMF_KEYS)
            bad(vp, f"{wrong!r} is not a phone key (0-9, *, #, A-D)")
            ok = False
        else:
            value = keys.upper()
    elif kind == "silence":
        seconds = _seconds(value, "silence", 0.0, MAX_SILENCE_S, vp, bad, allow_zero=False)
        ok = seconds is not None
        value = seconds
    elif kind == "say":
        if not isinstance(value, str) or not value.strip():
            bad(vp, "say is the words the caller speaks (text)")
            ok = False
        elif len(value) > MAX_SAY_CHARS:
            bad(vp, f"{len(value):,} characters; a turn says at most {MAX_SAY_CHARS:,}")
            ok = False
    elif kind == "hangup":
        if value is not True:
            bad(vp, "write hangup: true (or the word hangup as the turn)")
            ok = False
    voice = raw.get("voice")
    if voice is not None and (not isinstance(voice, str) or not voice.strip() or len(voice) > MAX_NAME_CHARS):
        bad(p + ("voice",), "voice is an espeak-ng voice name, e.g. en-us+f3")
        ok = False
    delay: float | None = DEFAULT_DELAY_S
    if "delay" in raw:
        delay = _seconds(raw["delay"], "delay", 0.0, MAX_DELAY_S, p + ("delay",), bad, allow_zero=True)
    if not ok or delay is None:
        return None
    return Turn(kind, value, voice, delay, line)


def _seconds(
    value: Any, name: str, low: float, high: float, p: PathKey, bad, *, allow_zero: bool
) -> float | None:
    """A finite number of seconds in range, or None after reporting why not."""
    x: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        x = float(value)
    elif isinstance(value, str) and len(value) <= 40:
        try:
            x = float(value)
        except ValueError:
            x = None
    if x is None:
        shown = repr(value) if isinstance(value, str) and len(value) <= 40 else type(value).__name__
        bad(p, f"{name} is a number of seconds, e.g. 0.5 (got {shown})")
        return None
    if math.isnan(x) or math.isinf(x):
        bad(p, f"{name} must be a finite number of seconds (got {x})")
        return None
    if x < low or (x == low and not allow_zero) or x > high:
        lower = f"from {low:g}" if allow_zero else f"over {low:g}"
        bad(p, f"{name} {x:g} s is out of range: {lower} to {high:g} seconds")
        return None
    return x
