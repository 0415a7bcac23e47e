"""Labelled sentences for measuring redaction, and the per-kind scoring both benchmarks use.

A labelled line marks each value that must be redacted as `[[kind|text]]`; the
rest of the line must come through untouched. A line may start with
`name=First Last ::` to give the customer's name as call metadata would.

Scoring, per kind:
- recall: of the values labelled with this kind, how many had every content
  character redacted (by a span of any kind: the value did not survive in
  clear), and how many of those were labelled with the right kind;
- precision: of the spans the redactor labelled with this kind, how many
  overlap a value labelled with the same kind (a span of the right place but
  the wrong kind counts against the kind it was given).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

MARK = re.compile(r"\[\[([a-z]+)\|(.+?)\]\]")
NAME_PREFIX = re.compile(r"^name=(?P<name>[^:]+?)\s*::\s*")
# Words a labelled value may hold that need not be redacted themselves ("the fifth of march").
FILLER = {"the", "of", "and", "uh", "um", "that's", "is", "a"}


@dataclass(frozen=True)
class Gold:
    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class Example:
    text: str
    gold: tuple[Gold, ...]
    names: tuple[str, ...] = ()
    where: str = ""


def parse_line(line: str, where: str = "") -> Example:
    names: tuple[str, ...] = ()
    m = NAME_PREFIX.match(line)
    if m:
        names = (m.group("name").strip(),)
        line = line[m.end() :]
    out, gold, pos = [], [], 0
    length = 0
    for mk in MARK.finditer(line):
        out.append(line[pos : mk.start()])
        length += mk.start() - pos
        value = mk.group(2)
        gold.append(Gold(mk.group(1), length, length + len(value)))
        out.append(value)
        length += len(value)
        pos = mk.end()
    out.append(line[pos:])
    return Example("".join(out), tuple(gold), names, where)


def load(path: Path) -> list[Example]:
    out = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if line and not line.startswith("#"):
            out.append(parse_line(line, f"{path.name}:{n}"))
    return out


def content_chars(text: str, start: int, end: int) -> list[int]:
    """Offsets of the characters of a value that must not survive (fillers and spaces may)."""
    keep = []
    for m in re.finditer(r"[^\W_]+(?:'[^\W_]+)?", text[start:end]):
        if m.group().lower() not in FILLER:
            keep += range(start + m.start(), start + m.end())
    return keep


@dataclass
class Tally:
    """Counts per kind."""

    gold: Counter[str] = field(default_factory=Counter)
    caught: Counter[str] = field(default_factory=Counter)
    right_kind: Counter[str] = field(default_factory=Counter)
    predicted: Counter[str] = field(default_factory=Counter)
    correct: Counter[str] = field(default_factory=Counter)
    misses: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)
    spilled: list[str] = field(default_factory=list)
    """Words outside every labelled value that a span took with it ("now" eaten by an address
    that overlaps its label): precision counts the span as right, so this is the only trace."""

    def add(self, text: str, gold: Sequence[Gold], spans: Iterable[tuple[str, int, int]], where: str) -> None:
        spans = list(spans)
        for g in gold:
            self.gold[g.kind] += 1
            chars = content_chars(text, g.start, g.end)
            any_kind = all(any(a <= c < b for _, a, b in spans) for c in chars)
            same = all(any(a <= c < b for k, a, b in spans if k == g.kind) for c in chars)
            self.caught[g.kind] += any_kind
            self.right_kind[g.kind] += same
            if not same:
                got = sorted({k for k, a, b in spans if a < g.end and b > g.start})
                self.misses.append(f"{where}: {g.kind} {text[g.start : g.end]!r} -> {got or 'clear'}")
        self._spill(text, gold, spans, where)
        for k, a, b in spans:
            self.predicted[k] += 1
            ok = any(g.kind == k and a < g.end and b > g.start for g in gold)
            self.correct[k] += ok
            if not ok:
                self.false_alarms.append(f"{where}: {k} {text[a:b]!r}")

    def _spill(self, text: str, gold: Sequence[Gold], spans: list[tuple[str, int, int]], where: str) -> None:
        """Note each word outside every label that a span overlapping a label also covers."""
        on_gold = [(a, b) for _, a, b in spans if any(a < g.end and b > g.start for g in gold)]
        for m in re.finditer(r"[^\W_]+", text):
            inside = any(g.start <= m.start() and m.end() <= g.end for g in gold)
            if not inside and any(a < m.end() and b > m.start() for a, b in on_gold):
                self.spilled.append(f"{where}: {m.group()!r} in {text!r}")

    def rows(self) -> list[tuple[str, int, float | None, float | None, int, float | None]]:
        """(kind, labelled, recall (any kind), recall (right kind), predicted, precision)."""
        kinds = sorted(set(self.gold) | set(self.predicted))
        out = []
        for k in kinds:
            n, p = self.gold[k], self.predicted[k]
            out.append(
                (
                    k,
                    n,
                    self.caught[k] / n if n else None,
                    self.right_kind[k] / n if n else None,
                    p,
                    self.correct[k] / p if p else None,
                )
            )
        return out


def table(tally: Tally, title: str) -> str:
    def f(x: float | None) -> str:
        return "-" if x is None else f"{x:.3f}"

    lines = [
        f"### {title}",
        "",
        "| kind | labelled | recall (redacted) | recall (right kind) | redacted spans | precision |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for k, n, r_any, r_kind, p, prec in tally.rows():
        lines.append(f"| {k} | {n} | {f(r_any)} | {f(r_kind)} | {p} | {f(prec)} |")
    lines += ["", f"words outside a labelled value taken by a span that overlaps one: {len(tally.spilled)}"]
    return "\n".join(lines)
