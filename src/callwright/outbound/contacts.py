"""Contact lists from CSV: numbers validated into E.164, time zones, consents, attributes.

`read_contacts(path)` reads a CSV file (UTF-8, a header row) into batches of `Contact`s and
located `Problem`s (`file:line: error: ...`); the store saves them (store.contacts). Nothing
here touches the database, so the parsing is tested on its own and runs in worker processes
for big files (number validation is most of an import's time; `IMPORT_WORKERS`).

Columns (docs/outbound.md, case-insensitive): `number` (or `phone`) required; `name`;
`time_zone` (or `timezone`: an IANA name, checked with zoneinfo); `region` (an ISO country
code to read numbers written without +country, default `--region`); `consent` (the consent
of kind "call") and `consent_<kind>` with their dates `consent_at`, `consent_<kind>_at`;
every other column is kept as an attribute the flow may read.

A contact without a time zone gets the number's zone from phonenumbers when there is exactly
one; when the number spans several (a toll-free or a mobile number of a country with several
zones) the zone is left unknown with a warning naming them, and compliance refuses to dial it
(`unknown_zone`) until the contact's zone is given.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import json
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from callwright.common.source import Problem
from callwright.errors import DataError

MAX_CSV_BYTES = 1_000_000_000  # 1 GB: a few million rows
MAX_ROWS = 5_000_000
MAX_FIELD_CHARS = 1_000  # one cell
MAX_ATTRIBUTES = 50  # extra columns kept per contact
BATCH_ROWS = 20_000  # rows per worker task and per database transaction
PARALLEL_FROM_ROWS = 50_000  # smaller files are read in the calling process
NUMBER_COLUMNS = ("number", "phone")
ZONE_COLUMNS = ("time_zone", "timezone")
KNOWN_COLUMNS = {"name", "region", *NUMBER_COLUMNS, *ZONE_COLUMNS}
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}


@dataclass(frozen=True)
class Consent:
    kind: str  # "call" for the plain `consent` column
    granted: bool
    at: datetime | None = None  # aware (a date alone is its midnight UTC)


@dataclass(frozen=True)
class Contact:
    number: str  # E.164
    name: str | None = None
    time_zone: str | None = None  # IANA; None = unknown (compliance refuses)
    zone_note: str | None = None  # why the zone is unknown, or that it was derived
    region: str | None = None  # the number's country (ISO 3166)
    consents: tuple[Consent, ...] = ()
    attributes: dict[str, str] = field(default_factory=dict)
    line: int = 0  # where it came from in its file (0: not from a file)
    id: int | None = None  # the store's id, once saved


# A contact as the store's staging table takes it: number, name, time_zone, zone_note, region,
# attributes (JSON or None), line, consents (JSON [[kind, 0|1, at ISO or null], ...] or None).
# Worker processes hand these plain tuples back: pickling frozen dataclasses cost more than
# validating the number.
ContactRow = tuple[str, str | None, str | None, str | None, str | None, str | None, int, str | None]


@dataclass
class Batch:
    items: list[ContactRow]
    problems: list[Problem]
    read: int  # CSV rows read (blank ones included)

    @property
    def contacts(self) -> list[Contact]:
        return [contact_of(r) for r in self.items]


def row_of(c: Contact) -> ContactRow:
    consents = (
        json.dumps([[k.kind, int(k.granted), k.at.isoformat() if k.at else None] for k in c.consents])
        if c.consents
        else None
    )
    attributes = json.dumps(c.attributes, ensure_ascii=False) if c.attributes else None
    return (c.number, c.name, c.time_zone, c.zone_note, c.region, attributes, c.line, consents)


def contact_of(r: ContactRow) -> Contact:
    number, name, zone_name, note, region, attributes, line, consents = r
    return Contact(
        number=number,
        name=name,
        time_zone=zone_name,
        zone_note=note,
        region=region,
        consents=tuple(
            Consent(k, bool(g), datetime.fromisoformat(at) if at else None)
            for k, g, at in json.loads(consents)
        )
        if consents
        else (),
        attributes=json.loads(attributes) if attributes else {},
        line=line,
    )


def mask(number: str) -> str:
    """A number as reports and logs show it: all but the last 4 digits hidden."""
    return "*" * max(0, len(number) - 4) + number[-4:]


def normalise_number(text: str, region: str | None) -> tuple[str, str, Any]:
    """`text` as E.164, its country and its number type; ValueError says why it is not a number.

    Valid means phonenumbers' `is_valid_number`: the number fits a number range of its
    country. The country and the type are found in one pass over the metadata (the library's
    own `region_code_for_number` + `is_valid_number_for_region` + `number_type` would test the
    same patterns up to three times: most of a big import's time)."""
    import phonenumbers

    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as err:
        raise ValueError(_PARSE_ERRORS.get(err.error_type, "not a phone number")) from None
    nsn = phonenumbers.national_significant_number(parsed)
    country, ntype = _classify(int(parsed.country_code or 0), nsn)
    if country is None or ntype == phonenumbers.PhoneNumberType.UNKNOWN:
        raise ValueError("not a valid phone number (no such number range)")
    return f"+{parsed.country_code}{nsn}", country, ntype


_PARSE_ERRORS = {
    0: "unknown country code (write it as +<country code>..., or give the region)",
    1: "not a phone number",
    2: "too short after the international prefix",
    3: "too short",
    4: "too long",
}


@lru_cache(maxsize=1024)
def _regions(cc: int) -> tuple[tuple[str, Any, Any], ...]:
    """(region, metadata, leading-digits pattern) for each region of a country calling code."""
    import re

    from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata

    out = []
    for region in COUNTRY_CODE_TO_REGION_CODE.get(cc, ()):
        if region == "001":
            meta = PhoneMetadata.metadata_for_nongeo_region(cc, None)
        else:
            meta = PhoneMetadata.metadata_for_region(region.upper(), None)
        if meta is not None:
            out.append((region, meta, re.compile(meta.leading_digits) if meta.leading_digits else None))
    return tuple(out)


def _classify(cc: int, nsn: str) -> tuple[str | None, Any]:
    """The number's region and type, as phonenumbers' region_code_for_number then number_type."""
    from phonenumbers import PhoneNumberType
    from phonenumbers.phonenumberutil import _number_type_helper

    regions = _regions(cc)
    if len(regions) == 1:  # region_code_for_number returns the only region unchecked
        region, meta, _ = regions[0]
        return region, _number_type_helper(nsn, meta)
    for region, meta, leading in regions:
        if leading is not None:
            if leading.match(nsn):
                return region, _number_type_helper(nsn, meta)
        else:
            ntype = _number_type_helper(nsn, meta)
            if ntype != PhoneNumberType.UNKNOWN:
                return region, ntype
    return None, PhoneNumberType.UNKNOWN


def zones_for_number(e164: str, ntype: Any = None) -> tuple[str, ...]:
    """The IANA zones phonenumbers gives for a valid E.164 number (several for a
    non-geographic one such as toll-free, none when it knows none): its
    `time_zones_for_number`, with the number type already known and the prefix lookup cached."""
    import phonenumbers

    if ntype is None:
        ntype = phonenumbers.number_type(phonenumbers.parse(e164, None))
    cc = _cc_of(e164)
    if ntype == phonenumbers.PhoneNumberType.UNKNOWN:
        return ()
    if not phonenumbers.is_number_type_geographical(ntype, cc):
        return _zones_by_prefix(str(cc))
    return _zones_by_prefix(e164[1:10])


def _cc_of(e164: str) -> int:
    from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

    for n in (1, 2, 3):
        if int(e164[1 : 1 + n]) in COUNTRY_CODE_TO_REGION_CODE:
            return int(e164[1 : 1 + n])
    raise ValueError(f"no country code in {e164!r}")


@lru_cache(maxsize=100_000)
def _zones_by_prefix(digits: str) -> tuple[str, ...]:
    from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

    for n in range(min(TIMEZONE_LONGEST_PREFIX, len(digits)), 0, -1):
        zones = TIMEZONE_DATA.get(digits[:n])
        if zones is not None:
            return tuple(z for z in zones if z != "Etc/Unknown")
    return ()


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_zone(name: str) -> str | None:
    """The IANA zone as written when zoneinfo knows it, else None."""
    if name not in _known_zones():
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return None
    return name


def _zone_hint(name: str) -> str:
    guess = difflib.get_close_matches(name, sorted(_known_zones()), n=1, cutoff=0.75)
    return f"; did you mean '{guess[0]}'?" if guess else " (such as America/New_York)"


def _bool(text: str) -> bool | None:
    t = text.strip().lower()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    return None


def _when(text: str) -> datetime | None:
    """A consent date: YYYY-MM-DD (midnight UTC) or an ISO date-time (UTC when it has no zone)."""
    t = text.strip()
    if len(t) == 10:
        d = date.fromisoformat(t)
        return datetime(d.year, d.month, d.day, tzinfo=UTC)
    dt = datetime.fromisoformat(t)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class _Header:
    """Which column holds what, from the header row."""

    def __init__(self, names: Sequence[str], path: str) -> None:
        self.names = [n.strip().lower() for n in names]
        number = next((i for i, n in enumerate(self.names) if n in NUMBER_COLUMNS), None)
        if number is None:
            raise DataError(
                f"{path}:1: error: no 'number' column in the header ({', '.join(self.names)[:200]})",
                hint="the first row names the columns: number,name,time_zone,consent,...",
            )
        self.number: int = number
        self.zone = next((i for i, n in enumerate(self.names) if n in ZONE_COLUMNS), None)
        self.name = self.names.index("name") if "name" in self.names else None
        self.region = self.names.index("region") if "region" in self.names else None
        self.consents: list[tuple[str, int, int | None]] = []  # kind, column, date column
        for i, n in enumerate(self.names):
            if n == "consent" or (n.startswith("consent_") and not n.endswith("_at")):
                kind = "call" if n == "consent" else n[len("consent_") :]
                at = f"{n}_at"
                self.consents.append((kind, i, self.names.index(at) if at in self.names else None))
        used = {self.number, self.zone, self.name, self.region}
        used |= {c for _, c, _ in self.consents} | {a for _, _, a in self.consents if a is not None}
        self.attributes = [(i, n) for i, n in enumerate(self.names) if i not in used][:MAX_ATTRIBUTES]


def parse_rows(rows: list[tuple[int, list[str]]], header: _Header, path: str, region: str | None) -> Batch:
    """Turn CSV rows (line, cells) into contacts and problems; pure (runs in worker processes)."""
    items: list[ContactRow] = []
    problems: list[Problem] = []
    width = len(header.names)
    for line, cells in rows:
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != width:
            problems.append(
                Problem(path, line, 1, "error", f"{len(cells)} fields where the header has {width}")
            )
            continue
        if any(len(c) > MAX_FIELD_CHARS for c in cells):
            problems.append(Problem(path, line, 1, "error", f"a field is over {MAX_FIELD_CHARS} characters"))
            continue
        raw_number = cells[header.number].strip()
        row_region = cells[header.region].strip().upper() if header.region is not None else ""
        try:
            number, country, ntype = normalise_number(raw_number, row_region or region)
        except ValueError as why:
            shown = raw_number if len(raw_number) <= 40 else raw_number[:37] + "..."
            problems.append(Problem(path, line, header.number + 1, "error", f"number {shown!r}: {why}"))
            continue
        zone_name: str | None = None
        note: str | None = None
        given = cells[header.zone].strip() if header.zone is not None else ""
        if given:
            zone_name = check_zone(given)
            if zone_name is None:
                problems.append(
                    Problem(
                        path,
                        line,
                        (header.zone or 0) + 1,
                        "error",
                        f"time zone {given[:60]!r} is not an IANA zone{_zone_hint(given)}",
                    )
                )
                continue
        else:
            zones = zones_for_number(number, ntype)
            if len(zones) == 1:
                zone_name, note = zones[0], "from the number"
            else:
                more = ", ..." if len(zones) > 3 else ""
                note = (
                    f"ambiguous: the number spans {len(zones)} zones ({', '.join(zones[:3])}{more})"
                    if zones
                    else "no zone for the number"
                )
                problems.append(
                    Problem(
                        path,
                        line,
                        header.number + 1,
                        "warning",
                        f"{mask(number)}: time zone unknown, {note}; give a time_zone column to call it",
                    )
                )
        consents: list[list[Any]] = []
        bad = False
        for kind, col, at_col in header.consents:
            flag = _bool(cells[col])
            if flag is None:
                problems.append(
                    Problem(
                        path, line, col + 1, "error", f"{header.names[col]} {cells[col][:20]!r} is not yes/no"
                    )
                )
                bad = True
                continue
            at = None
            if at_col is not None and cells[at_col].strip():
                try:
                    at = _when(cells[at_col])
                except ValueError:
                    problems.append(
                        Problem(
                            path,
                            line,
                            at_col + 1,
                            "error",
                            f"{header.names[at_col]} {cells[at_col][:30]!r} is not a date (YYYY-MM-DD)",
                        )
                    )
                    bad = True
                    continue
            if flag or cells[col].strip():
                consents.append([kind, int(flag), at.isoformat() if at else None])
        if bad:
            continue
        attributes = {n: cells[i] for i, n in header.attributes if cells[i] != ""}
        items.append(
            (
                number,
                (cells[header.name].strip() or None) if header.name is not None else None,
                zone_name,
                note,
                country,
                json.dumps(attributes, ensure_ascii=False) if attributes else None,
                line,
                json.dumps(consents) if consents else None,
            )
        )
    return Batch(items, problems, len(rows))


def decode_csv(raw: bytes, path: str, encoding: str = "utf-8") -> str:
    """The file's text; a file not in `encoding` is an error naming its line and what it looks like."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and encoding == "utf-8":
        raise DataError(
            f"{path}:1: error: the file is UTF-16 (it starts with a UTF-16 byte-order mark), not UTF-8",
            hint="save it as UTF-8, or give --encoding utf-16",
        )
    if b"\x00" in raw[:8192] and not encoding.lower().startswith("utf-16"):
        raise DataError(f"{path}:1: error: binary file (contains NUL bytes); expected CSV text")
    try:
        return raw.decode("utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding)
    except LookupError:
        raise DataError(
            f"unknown encoding {encoding!r}", hint="such as utf-8, cp1252, latin-1, utf-16"
        ) from None
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        found = guess_encoding(raw[max(0, err.start - 2000) : err.start + 2000])
        raise DataError(
            f"{path}:{line}: error: not {encoding} text (byte 0x{raw[err.start]:02x}); it looks like {found}",
            hint=f"save the file as UTF-8, or give --encoding {found.split()[0].lower()}",
        ) from None


def guess_encoding(sample: bytes) -> str:
    """A name for the encoding a sample that is not UTF-8 most likely is.

    charset-normalizer's guess is used when it names an 8-bit or East Asian encoding; text
    without NUL bytes is not UTF-16/32, and short samples get odd guesses, so otherwise the
    answer is Windows-1252, what spreadsheet programs in Western Europe and the US save."""
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(sample).best()
        name = best.encoding if best is not None else ""
        if name and not name.startswith(("utf", "ascii")) and len(sample) >= 200:
            return name.replace("_", "-")
    except ImportError:  # pragma: no cover - charset-normalizer comes with requests
        pass
    try:
        sample.decode("cp1252")
        return "cp1252 (Windows-1252, Western European)"
    except UnicodeDecodeError:
        return "latin-1 (ISO 8859-1)"


def read_contacts(
    path: str | Path,
    *,
    region: str | None = None,
    encoding: str = "utf-8",
    workers: int | None = None,
) -> Iterator[Batch]:
    """Batches of contacts read from a CSV file, in file order; raises DataError for a file that
    cannot be read at all (missing, too big, wrong encoding, no number column)."""
    name = str(path)
    p = Path(path)
    try:
        size = p.stat().st_size
        if not p.is_file():
            raise DataError(f"{name}: not a regular file")
        if size > MAX_CSV_BYTES:
            raise DataError(f"{name}: file is {size:,} bytes; contact files are limited to {MAX_CSV_BYTES:,}")
        raw = p.read_bytes()
    except OSError as err:
        raise DataError(f"{name}: cannot read file: {err.strerror or err}") from None
    text = decode_csv(raw, name, encoding)
    del raw
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        first = next(reader)
    except StopIteration:
        raise DataError(f"{name}:1: error: empty file; expected a header row (number,name,...)") from None
    except csv.Error as err:
        raise DataError(f"{name}:1: error: {err}") from None
    header = _Header(first, name)
    chunks = _chunks(reader, name)
    n = workers if workers is not None else (os.cpu_count() or 1)
    if n <= 1 or len(text) < PARALLEL_FROM_ROWS * 20:
        for rows in chunks:
            yield parse_rows(rows, header, name, region)
        return
    with ProcessPoolExecutor(max_workers=n) as pool:
        pending: list[Any] = []
        for rows in chunks:
            pending.append(pool.submit(parse_rows, rows, header, name, region))
            if len(pending) > 2 * n:
                yield pending.pop(0).result()
        for fut in pending:
            yield fut.result()


def _chunks(reader: Any, name: str) -> Iterator[list[tuple[int, list[str]]]]:
    rows: list[tuple[int, list[str]]] = []
    count = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            raise DataError(f"{name}:{reader.line_num}: error: {err}") from None
        count += 1
        if count > MAX_ROWS:
            raise DataError(f"{name}:{reader.line_num}: error: more than {MAX_ROWS:,} rows; split the file")
        rows.append((reader.line_num, cells))
        if len(rows) >= BATCH_ROWS:
            yield rows
            rows = []
    if rows:
        yield rows
