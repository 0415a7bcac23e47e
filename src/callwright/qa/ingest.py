"""Turn recordings and imported transcripts into calls ready for transcription and metrics.

A batch meets every sort of input: folders of recordings with sidecars, a CSV
exported from the dialler, transcripts made elsewhere, files cut off mid-upload.
This module finds the inputs, works out who each call belongs to, and splits a
recording into one mono track per speaker; anything it cannot use becomes an
`AudioError` or `DataError` that names the file (and line or field), so the
batch can record it and go on.

Metadata is merged from the least to the most specific source: the file-name
pattern, then the manifest row, then the sidecar next to the file (or, for an
imported transcript, the fields beside its segments).
"""

from __future__ import annotations

import csv
import errno
import hashlib
import json
import logging
import math
import os
import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, cast, get_args

import numpy as np

from callwright.errors import AudioError, DataError
from callwright.qa.model import CallMeta, Role, Transcript, Utterance, Word
from callwright.speech.audio import INTERNAL_RATE, MAX_DURATION_S, Audio, read_audio, resample

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".mp3", ".ogg"})
TRANSCRIPT_EXTENSIONS = frozenset({".json"})
DEFAULT_ROLES: tuple[Role, ...] = ("agent", "customer")
ROLES: tuple[Role, ...] = get_args(Role)
MIN_RATE = 8000
"""Below telephone rate the recogniser has too little of the speech band to work with."""

META_FIELDS = (
    "call_id",
    "direction",
    "agent",
    "team",
    "customer",
    "queue",
    "campaign",
    "started_at",
    "disposition",
    "language",
)
"""What a sidecar, manifest row or file-name pattern may set (plus "channels" for the first two).
`language` is what the call is spoken in (`es`, `es-MX`): the recogniser is told it unless
`qa score --language` says otherwise, and a model that cannot hear it refuses the call."""
ATTRIBUTES = "attributes"
"""A metadata record's own fields beyond `META_FIELDS` (region, product, priority...), as an
object (`"attributes": {"region": "north"}`) or, in a CSV manifest, one column each
(`attributes.region`): a scorecard's `assign_if` reads the ones it declares. Kept apart from
the known fields so a misspelt known field is still an error, never an attribute."""
MAX_ATTRIBUTES = 32
MAX_ATTRIBUTE_CHARS = 200
_ATTRIBUTE_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
_KEY_FIELDS = ("file",)
_ROLE_ALIASES: dict[str, Role] = {"caller": "customer", "client": "customer", "rep": "agent"}

MAX_JSON_BYTES = 32 * 1024**2
"""Largest transcript, sidecar or JSON manifest read (32 MiB): a four-hour call's transcript with word
times is a few MiB, and parsing a file costs several times its size in memory."""
MAX_SEGMENTS = 5_000
"""Most segments in an imported transcript: one every 2.9 s of a four-hour call (`MAX_DURATION_S`);
real calls have a turn every 4-6 s. Each one is rated for sentiment and matched against the scorecard:
5,000 took 2 minutes and 10,000 4.4 minutes on two shared cores (1,000,000 reached 3 GB)."""
MAX_WORDS = 200_000
"""Most timed words in an imported transcript: 14 a second for four hours."""


def shown(value: Any) -> str:
    """A field value as an error message may echo it: redacted (a card number typed into the wrong
    field must not reach the console, `qa_errors` or `--json`), short, and only for plain values."""
    from callwright.redaction import redact_text

    if isinstance(value, (dict, list, tuple)):
        return f"a {'list' if isinstance(value, (list, tuple)) else 'object'}"
    text = redact_text(repr(value)[:1000]).text
    return text if len(text) <= 80 else text[:77] + "..."


# -- finding inputs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inputs:
    """What `find_inputs` found: the files to score, and the entries it passed over with the reason
    (a symbolic link loop, a dangling link, a named pipe...), so none is dropped without a word."""

    found: list[Path]
    skipped: list[tuple[Path, str]]


def discover(
    paths: Iterable[str | os.PathLike[str]], *, exclude: Iterable[str | os.PathLike[str]] = ()
) -> list[Path]:
    """Recordings and transcript files under `paths` (`find_inputs(...).found`)."""
    return find_inputs(paths, exclude=exclude).found


def _not_a_file(q: Path) -> str | None:
    """Why the folder entry `q` cannot be read as a file (None: it is a regular file or a folder)."""
    try:
        st = q.stat()
    except OSError as err:
        if q.is_symlink():
            if err.errno == errno.ELOOP:
                return "symbolic link loop"
            return f"dangling symbolic link (its target {shown(os.readlink(q))} does not exist)"
        return f"cannot read ({err.strerror})"
    if stat.S_ISREG(st.st_mode):
        return None
    if stat.S_ISDIR(st.st_mode):
        return "link to a folder, not followed (give the folder itself)" if q.is_symlink() else None
    kind = (
        "a named pipe"
        if stat.S_ISFIFO(st.st_mode)
        else "a socket"
        if stat.S_ISSOCK(st.st_mode)
        else "a device"
        if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
        else "a special file"
    )
    return f"not a regular file ({kind})"


def find_inputs(
    paths: Iterable[str | os.PathLike[str]], *, exclude: Iterable[str | os.PathLike[str]] = ()
) -> Inputs:
    """Recordings and transcript files under `paths` (files or folders, searched recursively).

    A `NAME.json` beside a recording `NAME.wav` is that recording's sidecar, not a
    transcript, so it is left out; so are the files in `exclude` (the manifest)
    and hidden files. An entry that is not a regular file (a symbolic link loop,
    a dangling link, a link to a folder, a named pipe, a socket) is never opened
    (a pipe would block the batch) but listed in `skipped` with the reason.
    A path that does not exist is a user mistake and raises rather than being
    skipped, so a typo cannot silently shrink a batch.
    """
    skip = {Path(p).resolve() for p in exclude}
    found: list[Path] = []
    passed: list[tuple[Path, str]] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists() and not p.is_symlink():
            raise DataError(f"{p}: no such file or folder")
        if p.is_dir():
            candidates = []
            for q in sorted(p.rglob("*")):
                if q.name.startswith("."):
                    continue
                why = _not_a_file(q)
                if why is not None:
                    passed.append((q, why))
                elif not q.is_dir():
                    candidates.append(q)
        else:
            why = _not_a_file(p)
            if why is not None:
                passed.append((p, why))
                continue
            candidates = [p]
        for q in candidates:
            ext = q.suffix.lower()
            if q.resolve() in skip or q.name.startswith("."):
                continue
            if ext in AUDIO_EXTENSIONS:
                found.append(q)
            elif ext in TRANSCRIPT_EXTENSIONS and not _has_audio_beside(q):
                found.append(q)
            elif p == q:  # named explicitly but of a kind we cannot read
                raise DataError(
                    f"{q}: not a recording or transcript",
                    hint=f"use one of {', '.join(sorted(AUDIO_EXTENSIONS | TRANSCRIPT_EXTENSIONS))}",
                )
    unique = list(dict.fromkeys(found))
    log.debug("discovered %d inputs, passed over %d", len(unique), len(passed))
    return Inputs(unique, list(dict.fromkeys(passed)))


def _has_audio_beside(json_path: Path) -> bool:
    return any(json_path.with_suffix(ext).is_file() for ext in AUDIO_EXTENSIONS) or any(
        json_path.with_suffix(ext.upper()).is_file() for ext in AUDIO_EXTENSIONS
    )


def is_transcript(path: Path) -> bool:
    return path.suffix.lower() in TRANSCRIPT_EXTENSIONS


def recording_id(path: str | os.PathLike[str]) -> str:
    """SHA-256 of the file's bytes: the same recording under another name or folder is the same call."""
    h = hashlib.sha256()
    try:
        with Path(path).open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError as err:
        raise AudioError(f"{path}: cannot read ({err.strerror})") from None
    return h.hexdigest()


# -- metadata -------------------------------------------------------------------------------------


def _parse_roles(value: Any, where: str) -> tuple[Role, ...]:
    """A channel map: a list (or "a,b" string) of roles, one per channel in order."""
    if isinstance(value, str):
        value = [v for v in re.split(r"[\s,;|]+", value) if v]
    if not isinstance(value, list) or not value:
        raise DataError(f'{where}: channels must be a list of roles, e.g. ["agent", "customer"]')
    return tuple(_parse_role(v, f"{where}[{i}]") for i, v in enumerate(value))


def _parse_role(value: Any, where: str) -> Role:
    name = str(value).strip().lower() if value is not None else ""
    name = _ROLE_ALIASES.get(name, name)
    if name not in ROLES:
        raise DataError(f"{where}: unknown role {shown(value)}", hint=f"use one of {', '.join(ROLES)}")
    return cast(Role, name)


def check_meta_fields(
    raw: Mapping[str, Any], where: str, *, allowed: Sequence[str] = (*META_FIELDS, "channels")
) -> dict[str, Any]:
    """Validate one metadata record into CallMeta keyword arguments ("channels" -> channel_roles).

    A misspelt key is an error rather than ignored, because it would silently
    drop a field (a lost "direction" turns off the outbound compliance items).
    """
    try:
        return _meta_fields(raw, where, allowed)
    except DataError as err:  # a name in a wrong field ("direction": "Patricia Brown") is echoed
        raise _without_names(err, raw) from None


def _meta_fields(raw: Mapping[str, Any], where: str, allowed: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        k = str(key).strip().lower()
        if k.startswith(ATTRIBUTES + ".") and ATTRIBUTES in allowed:  # a CSV manifest's column
            if value is not None and str(value).strip():
                out.setdefault(ATTRIBUTES, {})[_attribute_name(k[len(ATTRIBUTES) + 1 :], where)] = (
                    _attribute_value(value, f"{where}: {k}")
                )
            continue
        if k not in allowed:
            hint = f"allowed fields: {', '.join(allowed)}"
            if ATTRIBUTES in allowed:
                hint += f'; a field of your own goes in "{ATTRIBUTES}": {{"region": "north"}}'
            raise DataError(f"{where}: unknown field {shown(key)}", hint=hint)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue  # empty CSV cell or null: not given
        if k == ATTRIBUTES:
            out[ATTRIBUTES] = {**out.get(ATTRIBUTES, {}), **_attributes(value, f"{where}: {ATTRIBUTES}")}
            continue
        if k == "channels":
            out["channel_roles"] = _parse_roles(value, f"{where}: channels")
        elif k == "direction":
            d = str(value).strip().lower()
            if d not in ("inbound", "outbound"):
                raise DataError(f"{where}: direction must be inbound or outbound, not {shown(value)}")
            out[k] = d
        elif k == "started_at":
            out[k] = _iso_time(value, f"{where}: started_at")
        elif k == "language":
            out[k] = _language(value, f"{where}: language")
        else:
            if isinstance(value, (dict, list)):
                raise DataError(f"{where}: {k} must be text, not {type(value).__name__}")
            out[k] = str(value).strip()
    return out


def _attributes(value: Any, where: str) -> dict[str, str | float | bool]:
    if not isinstance(value, dict):
        raise DataError(f'{where}: must be an object of your own fields, e.g. {{"region": "north"}}')
    return {_attribute_name(str(k), where): _attribute_value(v, f"{where}.{k}") for k, v in value.items()}


def _attribute_name(name: str, where: str) -> str:
    """An attribute's name is a name `assign_if` can read: lower case, a letter first, and not
    one of the known fields (`queue` is `queue`, never an attribute that shadows it)."""
    k = name.strip().lower()
    if not _ATTRIBUTE_NAME.fullmatch(k):
        raise DataError(
            f"{where}: attribute {shown(name)} is not a name a condition can read",
            hint="a letter, then letters, digits or _ (at most 40), e.g. region or line_of_business",
        )
    if k in (*META_FIELDS, "channels", ATTRIBUTES):
        raise DataError(f"{where}: attribute {shown(name)} is a known field: give it as {k} itself")
    return k


def _attribute_value(value: Any, where: str) -> str | float | bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or abs(value) > 1e15:
            raise DataError(f"{where}: must be a finite number of at most 10^15")
        return float(value) if isinstance(value, float) else int(value)
    if not isinstance(value, str):
        raise DataError(f"{where}: must be text, a number or true/false, not {type(value).__name__}")
    text = value.strip()
    if len(text) > MAX_ATTRIBUTE_CHARS:
        raise DataError(f"{where}: {len(text)} characters, over the limit of {MAX_ATTRIBUTE_CHARS}")
    return text


def _language(value: Any, where: str) -> str:
    """A call's language code as given (`es-MX`), or a DataError naming the field."""
    from callwright.speech.asr.languages import known

    text = str(value).strip() if isinstance(value, str) else ""
    if not known(text):
        raise DataError(
            f"{where}: {shown(value)} is not a language code",
            hint="an ISO 639-1 code such as en, es, de or fr (optionally with a region: es-MX)",
        )
    return text


def _iso_time(value: Any, where: str) -> str:
    text = str(value).strip()
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise DataError(
            f"{where}: {shown(value)} is not an ISO 8601 time", hint="e.g. 2024-05-02T09:15:00Z"
        ) from None
    return text


_SIDECAR_FIELDS = (*META_FIELDS, "channels", ATTRIBUTES)
_ROW_FIELDS = (*_KEY_FIELDS, *META_FIELDS, "channels", ATTRIBUTES)


def read_sidecar(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The validated fields of `NAME.json` beside recording `NAME.*` ({} when there is none)."""
    side = Path(path).with_suffix(".json")
    if not side.is_file() or Path(path).suffix.lower() == ".json":
        return {}
    data = _load_json(side)
    if not isinstance(data, dict):
        raise DataError(f"{side}: a sidecar must be a JSON object of call fields")
    return check_meta_fields(data, str(side), allowed=_SIDECAR_FIELDS)


def _load_json(path: Path) -> Any:
    """Parse a JSON input; too large, too deeply nested or not JSON is a DataError naming the file."""
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise DataError(
                f"{path}: {size / 1024**2:.0f} MiB, over the {MAX_JSON_BYTES // 1024**2} MiB "
                "limit for a JSON transcript, sidecar or manifest",
                hint="split it into one file per call",
            )
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(f"{path}:{err.lineno}:{err.colno}: invalid JSON ({err.msg})") from None
    except RecursionError:
        raise DataError(f"{path}: JSON nested too deeply to be a transcript, sidecar or manifest") from None


@dataclass(frozen=True)
class Manifest:
    """Call metadata for many files from one CSV or JSON file, keyed by file name or call id.

    A row with `file` applies to the recording of that name (or relative path);
    a row with only `call_id` applies to the recording whose stem is that id.
    """

    path: Path
    by_file: Mapping[str, dict[str, Any]]
    by_call_id: Mapping[str, dict[str, Any]]

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Manifest:
        p = Path(path)
        if not p.is_file():
            raise DataError(f"{p}: no such manifest file")
        ext = p.suffix.lower()
        if ext == ".csv":
            rows = _csv_rows(p)
        elif ext == ".json":
            rows = _json_rows(p)
        else:
            raise DataError(f"{p}: a manifest must be .csv or .json")
        by_file: dict[str, dict[str, Any]] = {}
        by_id: dict[str, dict[str, Any]] = {}
        first_line: dict[str, str] = {}
        for where, raw in rows:
            fields = check_meta_fields(raw, where, allowed=_ROW_FIELDS)
            name = fields.pop("file", None)
            if not name and not fields.get("call_id"):
                raise DataError(f"{where}: a manifest row needs a file or a call_id")
            key, table = (f"file {name}", by_file) if name else (f"call_id {fields['call_id']}", by_id)
            if key in first_line:
                raise DataError(f"{where}: duplicate {key} (first at {first_line[key]})")
            first_line[key] = where
            table[Path(name).as_posix() if name else fields["call_id"]] = fields
        log.debug("manifest %s: %d rows", p, len(by_file) + len(by_id))
        return cls(p, by_file, by_id)

    def lookup(self, recording: str | os.PathLike[str]) -> dict[str, Any]:
        """The row for a recording: by relative path, then by name, then by stem as call id."""
        r = Path(recording)
        try:
            rel = r.resolve().relative_to(self.path.resolve().parent).as_posix()
        except ValueError:
            rel = None
        for key in (rel, r.name):
            if key and key in self.by_file:
                return dict(self.by_file[key])
        return dict(self.by_call_id.get(r.stem, {}))


def _csv_rows(p: Path) -> list[tuple[str, dict[str, Any]]]:
    try:
        with p.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames:
                raise DataError(f"{p}: empty manifest (no header row)")
            rows = []
            for row in reader:
                where = f"{p}:{reader.line_num}"
                if None in row:
                    raise DataError(f"{where}: more cells than header columns")
                rows.append((where, {k: v for k, v in row.items() if k is not None}))
            return rows
    except UnicodeDecodeError:
        raise DataError(f"{p}: not UTF-8 text") from None
    except csv.Error as err:
        raise DataError(f"{p}: bad CSV ({err})") from None


def _json_rows(p: Path) -> list[tuple[str, dict[str, Any]]]:
    data = _load_json(p)
    if isinstance(data, dict) and isinstance(data.get("calls"), list):
        data = data["calls"]
    if isinstance(data, list):
        items = [(f"{p}: calls[{i}]", row) for i, row in enumerate(data)]
    elif isinstance(data, dict):  # {"file.wav": {...}}
        items = [
            (f"{p}: {name!r}", {"file": name, **row} if isinstance(row, dict) else row)
            for name, row in data.items()
        ]
    else:
        raise DataError(f"{p}: a JSON manifest must be a list of calls or an object keyed by file name")
    for where, row in items:
        if not isinstance(row, dict):
            raise DataError(f"{where}: each call must be a JSON object")
    return items


def compile_pattern(pattern: str | re.Pattern[str]) -> re.Pattern[str]:
    """Compile a user's file-name pattern; a regex mistake or an unknown group is a DataError."""
    try:
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
    except re.error as err:
        raise DataError(f"file-name pattern {pattern!r}: {err}") from None
    unknown = set(rx.groupindex) - set(META_FIELDS)
    if unknown:
        raise DataError(
            f"file-name pattern {rx.pattern!r}: unknown group(s) {', '.join(sorted(unknown))}",
            hint=f"name groups after call fields: {', '.join(META_FIELDS)}",
        )
    return rx


def fields_from_name(path: str | os.PathLike[str], pattern: str | re.Pattern[str]) -> dict[str, Any]:
    """Metadata from the named groups of `pattern`, matched against the whole file name."""
    rx = compile_pattern(pattern)
    m = rx.fullmatch(Path(path).name)
    if m is None:
        raise DataError(f"{path}: file name does not match the pattern {rx.pattern!r}")
    found = {k: v for k, v in m.groupdict().items() if v}
    return check_meta_fields(found, f"{path}: file name", allowed=META_FIELDS)


def resolve_meta(
    path: str | os.PathLike[str],
    *,
    manifest: Manifest | None = None,
    pattern: str | re.Pattern[str] | None = None,
    default_roles: Sequence[Role] = DEFAULT_ROLES,
) -> CallMeta:
    """The call metadata for one input: pattern, then manifest, then sidecar (most specific wins).

    The call id falls back to the file stem; the channel map falls back to
    `default_roles` (the batch's configured map).
    """
    p = Path(path)
    fields: dict[str, Any] = {}
    attributes: dict[str, Any] = {}  # merged one by one: a sidecar's region keeps the manifest's product
    records = [fields_from_name(p, pattern)] if pattern is not None else []
    if manifest is not None:
        records.append(manifest.lookup(p))
    records.append(_transcript_fields(p) if is_transcript(p) else read_sidecar(p))
    for record in records:
        attributes.update(record.pop(ATTRIBUTES, {}))
        fields.update(record)
    if len(attributes) > MAX_ATTRIBUTES:
        raise DataError(f"{p}: {len(attributes)} attributes, over the limit of {MAX_ATTRIBUTES} a call")
    fields.setdefault("call_id", p.stem)
    fields.setdefault("channel_roles", tuple(default_roles))
    return CallMeta(**fields, attributes=tuple(sorted(attributes.items())))


# -- recordings -----------------------------------------------------------------------------------

Diarization = Literal["channels", "none"]


@dataclass(frozen=True, eq=False)
class IngestedCall:
    """One recording split into a mono track per speaker, ready for ASR and voice activity.

    `tracks` keep the file's own rate (what metrics and audio redaction work on);
    `tracks_16k` is what the recogniser wants, computed on first use. A mono
    recording has the one role "unknown" and `diarization == "none"`: who spoke
    when is not known, so per-speaker metrics and items need lower confidence.
    """

    path: Path
    recording_id: str
    meta: CallMeta
    tracks: dict[Role, Audio]
    rate: int
    channels: int
    duration_s: float
    diarization: Diarization
    notes: tuple[str, ...] = field(default=())

    @cached_property
    def tracks_16k(self) -> dict[Role, Audio]:
        return {role: resample(a, INTERNAL_RATE) for role, a in self.tracks.items()}

    @property
    def roles(self) -> tuple[Role, ...]:
        return tuple(self.tracks)


def split_channels(audio: Audio, roles: Sequence[Role], where: str) -> dict[Role, Audio]:
    """One mono track per role; channels sharing a role (two agents on a conference) are mixed."""
    if len(roles) != audio.channels:
        raise DataError(
            f"{where}: {audio.channels}-channel recording but the channel map names "
            f"{len(roles)} role(s) ({', '.join(str(r) for r in roles)})",
            hint='give one role per channel in the sidecar or manifest, e.g. "channels": '
            + json.dumps(list(DEFAULT_ROLES) + ["ivr"] * max(0, audio.channels - 2)),
        )
    grouped: dict[Role, list[np.ndarray]] = {}
    for i, role in enumerate(roles):
        grouped.setdefault(role, []).append(audio.channel(i).samples)
    tracks: dict[Role, Audio] = {}
    for role, parts in grouped.items():
        if len(parts) == 1:
            tracks[role] = Audio(parts[0], audio.rate)
        else:
            mixed = np.clip(np.sum([p.astype(np.int32) for p in parts], axis=0), -32768, 32767)
            tracks[role] = Audio(mixed.astype(np.int16), audio.rate)
    return tracks


def load_call(
    path: str | os.PathLike[str],
    meta: CallMeta | None = None,
    channel_roles: Sequence[Role] | None = None,
    *,
    max_duration_s: float = MAX_DURATION_S,
) -> IngestedCall:
    """Read a recording and split it by speaker.

    Stereo (or more channels) uses `channel_roles`, else the map in `meta`
    (sidecar or manifest, else the batch default). A mono file is one
    "unknown" speaker, unless its map names exactly one role (an agent-only
    or IVR-only recording).
    """
    p = Path(path)
    meta = meta if meta is not None else resolve_meta(p)
    roles = tuple(channel_roles) if channel_roles is not None else meta.channel_roles
    audio = read_audio(p, max_duration_s=max_duration_s)
    if audio.rate < MIN_RATE:
        raise AudioError(
            f"{p}: sample rate {audio.rate} Hz is below telephone rate ({MIN_RATE} Hz)",
            hint="the speech band is cut off; use the original recording",
        )
    notes: list[str] = []
    if audio.channels == 1:
        if len(roles) == 1:
            tracks, diarization = {roles[0]: audio}, cast(Diarization, "channels")
        else:
            tracks, diarization = {cast(Role, "unknown"): audio}, cast(Diarization, "none")
            notes.append("mono recording: speakers are not separated")
    else:
        tracks, diarization = split_channels(audio, roles, str(p)), cast(Diarization, "channels")
    for role, track in tracks.items():
        if not np.any(track.samples):
            notes.append(f"{role} channel is digital silence")
    if notes:
        log.info("%s: %s", p, "; ".join(notes))
    return IngestedCall(
        path=p,
        recording_id=recording_id(p),
        meta=meta,
        tracks=tracks,
        rate=audio.rate,
        channels=audio.channels,
        duration_s=audio.duration_s,
        diarization=diarization,
        notes=tuple(notes),
    )


# -- imported transcripts -------------------------------------------------------------------------

_TRANSCRIPT_KEYS = ("segments", "duration_s", "speakers")
_SEGMENT_KEYS = ("speaker", "start", "end", "text", "words", "confidence")
_WORD_KEYS = ("word", "start", "end", "confidence", "probability")


def _transcript_object(path: Path) -> dict[str, Any]:
    data = _load_json(path)
    if isinstance(data, list):
        return {"segments": data}
    if isinstance(data, dict) and "segments" in data:
        return data
    raise DataError(
        f'{path}: not a transcript: expected a list of segments or an object with "segments"',
        hint='e.g. [{"speaker": "agent", "start": 0.5, "end": 2.1, "text": "hello"}]',
    )


def _transcript_fields(path: Path) -> dict[str, Any]:
    """The call metadata written beside an imported transcript's segments."""
    obj = _transcript_object(path)
    meta = {k: v for k, v in obj.items() if k not in _TRANSCRIPT_KEYS}
    return check_meta_fields(meta, str(path), allowed=[*META_FIELDS, ATTRIBUTES, *_TRANSCRIPT_KEYS])


def _seconds(v: Any) -> float | None:
    """A JSON number as finite seconds, or None.

    JSON integers have no size limit, and one past a float's range cannot be
    converted (nor given to numpy), so it is refused here like infinity.
    """
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    try:
        seconds = float(v)
    except OverflowError:
        return None
    return seconds if math.isfinite(seconds) else None


def _number(seg: Mapping[str, Any], key: str, where: str) -> float:
    v = seg.get(key)
    seconds = _seconds(v)
    if seconds is None or seconds < 0:
        raise DataError(f"{where}.{key}: must be a number of seconds >= 0, got {shown(v)}")
    return seconds


def _keys_ok(obj: Any, allowed: Sequence[str], where: str) -> Mapping[str, Any]:
    if not isinstance(obj, dict):
        raise DataError(f"{where}: must be an object")
    for k in obj:
        if k not in allowed:
            raise DataError(f"{where}: unknown field {shown(k)}", hint=f"allowed: {', '.join(allowed)}")
    return obj


def _words(raw: Any, where: str) -> list[Word]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise DataError(f"{where}: must be a list of words")
    words = []
    for i, w in enumerate(raw):
        wh = f"{where}[{i}]"
        w = _keys_ok(w, _WORD_KEYS, wh)
        if not isinstance(w.get("word"), str):
            raise DataError(f"{wh}.word: must be text")
        start, end = _number(w, "start", wh), _number(w, "end", wh)
        if end < start:
            raise DataError(f"{wh}: end {end} is before start {start}")
        conf = w.get("confidence", w.get("probability", 1.0))
        if isinstance(conf, bool) or not isinstance(conf, (int, float)) or not 0 <= conf <= 1:
            raise DataError(f"{wh}.confidence: must be between 0 and 1, got {shown(conf)}")
        words.append(Word(w["word"].strip(), start, end, float(conf)))
    return words


def read_transcript(path: str | os.PathLike[str], meta: CallMeta | None = None) -> Transcript:
    """Import a transcript made elsewhere: JSON segments with speaker, start, end, text and optional words.

    Speaker labels are roles (agent, customer, ivr, unknown; "caller" means
    customer) or any label mapped by a top-level "speakers" object, e.g.
    {"SPEAKER_00": "agent"}. Errors name the segment, e.g. `segments[3].end`.
    """
    p = Path(path)
    obj = _transcript_object(p)
    meta = meta if meta is not None else resolve_meta(p)
    try:
        return _transcript(p, obj, meta)
    except DataError as err:  # a speaker labelled with the customer's name is not echoed
        raise _without_names(err, meta.fields()) from None


def _without_names(err: DataError, fields: Mapping[str, Any]) -> DataError:
    """`err` with the record's own customer name redacted from its message (`[NAME]`)."""
    from callwright.redaction import names_from_metadata, redact_text

    names = names_from_metadata({str(k).strip().lower(): v for k, v in fields.items()})
    if names:
        err.message = redact_text(err.message, kinds=("name",), names=names).text
    return err


def _transcript(p: Path, obj: dict[str, Any], meta: CallMeta) -> Transcript:
    speakers_raw = obj.get("speakers") or {}
    if not isinstance(speakers_raw, dict):
        raise DataError(f'{p}: speakers must map labels to roles, e.g. {{"SPEAKER_00": "agent"}}')
    speakers = {str(k): _parse_role(v, f"{p}: speakers.{shown(str(k))}") for k, v in speakers_raw.items()}
    segments = obj["segments"]
    if not isinstance(segments, list):
        raise DataError(f"{p}: segments must be a list")
    if len(segments) > MAX_SEGMENTS:
        raise DataError(
            f"{p}: {len(segments)} segments, over the limit of {MAX_SEGMENTS} a transcript",
            hint="split the call's transcript, or join short segments",
        )
    n_words = sum(
        len(seg["words"]) for seg in segments if isinstance(seg, dict) and isinstance(seg.get("words"), list)
    )
    if n_words > MAX_WORDS:
        raise DataError(f"{p}: {n_words} timed words, over the limit of {MAX_WORDS} a transcript")
    utterances: list[Utterance] = []
    for i, seg in enumerate(segments):
        where = f"{p}: segments[{i}]"
        seg = _keys_ok(seg, _SEGMENT_KEYS, where)
        label = seg.get("speaker")
        if label is None:
            raise DataError(f"{where}.speaker: missing")
        role = speakers.get(str(label)) or _parse_role(label, f"{where}.speaker")
        start, end = _number(seg, "start", where), _number(seg, "end", where)
        if end < start:
            raise DataError(f"{where}: end {end} is before start {start}")
        text = seg.get("text")
        if not isinstance(text, str):
            raise DataError(f"{where}.text: must be text, got {shown(text)}")
        conf = seg.get("confidence", 1.0)
        if isinstance(conf, bool) or not isinstance(conf, (int, float)) or not 0 <= conf <= 1:
            raise DataError(f"{where}.confidence: must be between 0 and 1, got {shown(conf)}")
        words = _words(seg.get("words"), f"{where}.words")
        utterances.append(Utterance(role, start, end, text.strip(), words, float(conf)))
    utterances.sort(key=lambda u: (u.start, u.end))
    last_end = max((u.end for u in utterances), default=0.0)
    duration = _seconds(obj.get("duration_s", last_end))
    if duration is None or duration < last_end:
        raise DataError(f"{p}: duration_s must be a number of seconds >= the last segment end ({last_end})")
    if not any(u.text for u in utterances):  # scored, it would fail every item as if a mono call
        raise DataError(
            f"{p}: no segment has any text: nothing to score",
            hint="a call in which nobody spoke has nothing to review; leave it out of the batch",
        )
    roles = {u.speaker for u in utterances}
    diarization: Diarization = "none" if roles <= {"unknown"} else "channels"
    return Transcript(meta.call_id, duration, utterances, source="transcript", diarization=diarization)
