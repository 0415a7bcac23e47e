"""YAML source files with positions.

PyYAML's composer gives every node a line and column; we keep them in a map
from the data path (a tuple of keys and indices) to a `Position`, so that every
later stage (schema, checker, runtime errors) can point at the line a designer
wrote. The loader is also the first line of defence against hostile files:
size, binary content, nesting depth, alias expansion ("billion laughs"), merge-key
expansion (`<<` bombs, self-merges) and duplicate keys are all rejected here with a located message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

try:  # the C composer is several times faster on big flows
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _Loader

MAX_BYTES = 2_000_000
MAX_DEPTH = 40
MAX_NODES = 100_000
MAX_MERGED = MAX_NODES  # key/value pairs handled while expanding `<<` merge keys

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    col: int  # 1-based


@dataclass(frozen=True)
class Problem:
    """One finding about a file, printed as `path:line:col: severity: message`."""

    path: str
    line: int
    col: int
    severity: str  # "error" | "warning"
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.severity}: {self.message}"


@dataclass
class Source:
    """Parsed YAML data plus where each value came from."""

    path: str
    data: Any
    positions: dict[PathKey, Position] = field(default_factory=dict)
    key_positions: dict[PathKey, Position] = field(default_factory=dict)
    text: str = ""

    def pos(self, path: PathKey, *, key: bool = False) -> Position:
        """Best position for a data path: the node itself, else its nearest ancestor."""
        table = self.key_positions if key else self.positions
        p = tuple(path)
        while p:
            if p in table:
                return table[p]
            if p in self.positions:
                return self.positions[p]
            p = p[:-1]
        return self.positions.get((), Position(1, 1))

    def problem(self, path: PathKey, severity: str, message: str, *, key: bool = False) -> Problem:
        pos = self.pos(path, key=key)
        return Problem(self.path, pos.line, pos.col, severity, message)


class SourceError(Exception):
    """A file that cannot be parsed at all; carries located problems."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def _fail(path: str, line: int, col: int, message: str) -> SourceError:
    return SourceError([Problem(path, line, col, "error", message)])


def read_text(path: str | Path) -> str:
    """Read a YAML file as text, refusing huge and binary files with a clear reason."""
    p = Path(path)
    name = str(path)
    try:
        size = p.stat().st_size
    except OSError as err:
        raise _fail(name, 1, 1, f"cannot read file: {err.strerror or err}") from None
    except ValueError as err:  # a NUL byte in the name
        raise _fail(name.replace("\0", "\\0"), 1, 1, f"cannot read file: {err}") from None
    if not p.is_file():
        raise _fail(name, 1, 1, "not a regular file")
    if size > MAX_BYTES:
        raise _fail(name, 1, 1, f"file is {size:,} bytes; flow files are limited to {MAX_BYTES:,}")
    try:
        with p.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)  # a file can grow, and /proc files say 0 bytes
    except OSError as err:
        raise _fail(name, 1, 1, f"cannot read file: {err.strerror or err}") from None
    if len(raw) > MAX_BYTES:
        raise _fail(name, 1, 1, f"file is over {MAX_BYTES:,} bytes; flow files are limited to that")
    return decode(raw, name)


def decode(raw: bytes, name: str) -> str:
    if b"\x00" in raw[:8192]:
        raise _fail(name, 1, 1, "binary file (contains NUL bytes); expected YAML text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise _fail(name, line, 1, f"not UTF-8 text (byte 0x{raw[err.start]:02x})") from None


def parse(text: str, name: str = "<string>") -> Source:
    """Parse YAML text into data with positions; raise SourceError on any problem."""
    if len(text) > MAX_BYTES:
        raise _fail(name, 1, 1, f"text is {len(text):,} characters; limit is {MAX_BYTES:,}")
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        msg = f"YAML syntax error: {err.problem or err.context or 'invalid YAML'}"
        raise _fail(name, line, col, msg) from None
    except yaml.YAMLError as err:
        raise _fail(name, 1, 1, f"YAML error: {err}") from None
    except RecursionError:
        raise _fail(name, 1, 1, f"nesting is too deep (limit {MAX_DEPTH})") from None
    src = Source(path=name, data=None, text=text)
    if node is None:
        return src
    builder = _Builder(src)
    src.data = builder.build(node, (), 0)
    return src


def load(path: str | Path) -> Source:
    """Read and parse a YAML file."""
    return parse(read_text(path), str(path))


class _Builder:
    """Turn composed nodes into plain Python data, recording positions."""

    def __init__(self, src: Source) -> None:
        self.src = src
        self.count = 0
        self.constructor = yaml.constructor.SafeConstructor()
        self.merger = _Merger(src.path)

    def build(self, node: yaml.Node, path: PathKey, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _fail(
                self.src.path,
                node.start_mark.line + 1,
                1,
                f"too many YAML nodes (over {MAX_NODES:,}; aliases expanded)",
            )
        if depth > MAX_DEPTH:
            raise _fail(
                self.src.path,
                node.start_mark.line + 1,
                node.start_mark.column + 1,
                f"nesting is too deep (limit {MAX_DEPTH})",
            )
        self.src.positions[path] = Position(node.start_mark.line + 1, node.start_mark.column + 1)
        if not isinstance(node, yaml.ScalarNode) and node.tag not in _COLLECTION_TAGS:
            raise _fail(
                self.src.path,
                node.start_mark.line + 1,
                node.start_mark.column + 1,
                f"unsupported YAML tag {node.tag!r}",
            )
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(n, path + (i,), depth + 1) for i, n in enumerate(node.value)]
        return self._scalar(node)

    def _mapping(self, node: yaml.MappingNode, path: PathKey, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in self.merger.pairs(node):
            if not isinstance(key_node, yaml.ScalarNode):
                raise _fail(
                    self.src.path,
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                    "mapping keys must be plain scalars",
                )
            key = key_node.value  # keys stay text: `yes:`/`no:`/`1:` are names, not values
            kpos = Position(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if key in out:
                first = self.src.key_positions[path + (key,)]
                raise _fail(
                    self.src.path,
                    kpos.line,
                    kpos.col,
                    f"duplicate key '{key}' (first defined on line {first.line})",
                )
            self.src.key_positions[path + (key,)] = kpos
            out[key] = self.build(value_node, path + (key,), depth + 1)
        return out

    def _scalar(self, node: yaml.Node) -> Any:
        tag = node.tag
        if tag == "tag:yaml.org,2002:bool" and node.value.lower() not in ("true", "false"):
            return node.value  # YAML 1.2 booleans only: yes/no/on/off stay words
        if tag in _PLAIN_TAGS:
            try:
                value = self.constructor.construct_object(node, deep=False)
            except (yaml.YAMLError, ValueError, OverflowError):
                return node.value
            # Flows keep dates and times as text: the runtime parses them in the flow's zone.
            return value.isoformat() if isinstance(value, (date, datetime)) else value
        if tag.startswith("tag:yaml.org,2002:"):
            return node.value
        raise _fail(
            self.src.path,
            node.start_mark.line + 1,
            node.start_mark.column + 1,
            f"unsupported YAML tag {tag!r}",
        )


_COLLECTION_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:timestamp",
}


class _Merger:
    """Expand `<<` merge keys once per mapping, within a budget.

    A merge refers to mappings by alias, and composed YAML shares aliased nodes, so
    expanding each merge afresh is exponential: 500 bytes of `<<: [*b, *b, *b, *b]`
    levels make billions of pairs (a "merge-key bomb"), and `&a {<<: *a}` never ends.
    Here every mapping's merged pairs are computed once (YAML semantics: the mapping's
    own keys win, then earlier merge sources over later ones, so no key repeats),
    a merge that reaches the mapping it is in is refused, and the pairs handled in
    total are capped at `MAX_MERGED` so the work and memory stay bounded.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.done: dict[int, list[tuple[yaml.Node, yaml.Node]]] = {}
        self.active: set[int] = set()
        self.handled = 0

    def pairs(self, node: yaml.MappingNode, depth: int = 0) -> list[tuple[yaml.Node, yaml.Node]]:
        key = id(node)
        if key in self.done:
            return self.done[key]
        mark = node.start_mark
        if key in self.active:
            raise _fail(
                self.path,
                mark.line + 1,
                mark.column + 1,
                "a merge key (<<) refers to the mapping it is in (directly or through other merges)",
            )
        if depth > MAX_DEPTH:
            raise _fail(
                self.path,
                mark.line + 1,
                mark.column + 1,
                f"merge keys (<<) nest too deep (limit {MAX_DEPTH})",
            )
        self.active.add(key)
        own: list[tuple[yaml.Node, yaml.Node]] = []
        sources: list[yaml.Node] = []
        for k, v in node.value:
            if k.tag == "tag:yaml.org,2002:merge":
                sources += v.value if isinstance(v, yaml.SequenceNode) else [v]
            else:
                own.append((k, v))
        seen = {k.value for k, _ in own if isinstance(k, yaml.ScalarNode)}
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        for s in sources:
            if not isinstance(s, yaml.MappingNode):
                raise _fail(
                    self.path,
                    s.start_mark.line + 1,
                    s.start_mark.column + 1,
                    "a merge key (<<) must refer to a mapping",
                )
            expanded = self.pairs(s, depth + 1)
            self.handled += len(expanded)
            if self.handled > MAX_MERGED:
                raise _fail(
                    self.path,
                    mark.line + 1,
                    mark.column + 1,
                    f"merge keys (<<) expand to too many keys (over {MAX_MERGED:,} in all)",
                )
            for k, v in expanded:
                name = k.value if isinstance(k, yaml.ScalarNode) else id(k)
                if name not in seen:
                    seen.add(name)
                    merged.append((k, v))
        self.active.discard(key)
        self.done[key] = merged + own
        return self.done[key]
