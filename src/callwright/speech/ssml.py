"""SSML in prompts: a documented subset, parsed strictly, rendered for espeak-ng or as plain text.

The subset (docs/flows.md, "SSML in prompts"):

- `<speak>` (optional root; `version`, `xmlns`, `xml:lang` are accepted and ignored),
- `<break time="500ms"/>` or `<break strength="medium"/>`: a pause,
- `<say-as interpret-as="date|digits|characters|telephone|currency">text</say-as>`,
- `<prosody rate= pitch= volume=>...</prosody>`, nested at most MAX_DEPTH deep.

The parser here is not an XML library: it reads only this grammar, so nothing a hostile
prompt holds can reach one. A DOCTYPE, an entity declaration, a comment, a processing
instruction or CDATA is refused, and the only entities are the five XML ones and numeric
character references: no entity expansion exists to blow up ("billion laughs"), and no
external file can be named. Every error carries the offset in the prompt text where it
is, so the checker can say file:line:col, and names the nearest known tag, attribute or
value ("did you mean").

Rendering: `to_espeak` writes the markup espeak-ng reads with its SSML flag (`-m`), with
`say-as` already expanded into words (espeak-ng knows no dates or currencies) and every
text escaped; `plain_text` is what the text channel shows and the call log keeps;
`segments` is the same prompt as pieces of text (with a rate and a volume) and silences,
for an engine that takes no SSML.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

SayAsKind = Literal["date", "digits", "characters", "telephone", "currency"]
SAY_AS_KINDS: tuple[SayAsKind, ...] = ("date", "digits", "characters", "telephone", "currency")
TAGS = ("speak", "break", "say-as", "prosody")
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "speak": ("version", "xmlns", "xml:lang"),
    "break": ("time", "strength"),
    "say-as": ("interpret-as", "format"),
    "prosody": ("rate", "pitch", "volume"),
}
STRENGTHS = {"none": 0.0, "x-weak": 0.1, "weak": 0.25, "medium": 0.4, "strong": 0.7, "x-strong": 1.0}
"""Pause of each `<break strength=...>`, in seconds."""
RATES = {"x-slow": 0.5, "slow": 0.75, "medium": 1.0, "default": 1.0, "fast": 1.25, "x-fast": 1.6}
PITCHES = ("x-low", "low", "medium", "default", "high", "x-high")
VOLUMES = {
    "silent": -60.0,
    "x-soft": -12.0,
    "soft": -6.0,
    "medium": 0.0,
    "default": 0.0,
    "loud": 6.0,
    "x-loud": 10.0,
}
DATE_FORMATS = ("mdy", "dmy", "ymd")

MAX_BREAK_S = 10.0
"""The longest pause one `<break>` may ask for: a caller hears silence as a dropped line."""
MAX_DEPTH = 8
"""Elements inside elements, at most."""
MAX_ELEMENTS = 200
"""Elements in one prompt, at most."""
MAX_RATE_PERCENT = (20, 400)
MAX_PITCH_PERCENT = 100
MAX_VOLUME_DB = 20.0

_MARKUP = re.compile(r"<(?:/\s*)?[A-Za-z!?]")
_NAME = r"[A-Za-z_][\w.:-]*"
_TAG = re.compile(rf"<(/?)\s*({_NAME})((?:\s+{_NAME}\s*=\s*(?:\"[^\"<]*\"|'[^'<]*'))*)\s*(/?)>")
_ATTR = re.compile(rf"({_NAME})\s*=\s*(?:\"([^\"<]*)\"|'([^'<]*)')")
_ENTITY = re.compile(r"&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]*);")
_XML_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_TIME = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s)\s*$")
_PERCENT = re.compile(r"^([+-]?)([0-9]+(?:\.[0-9]+)?)%$")
_DB = re.compile(r"^([+-])([0-9]+(?:\.[0-9]+)?)dB$")


class SsmlError(ValueError):
    """A prompt's markup is outside the subset; `offset` is where, in the prompt's text."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Break:
    seconds: float


@dataclass(frozen=True)
class SayAs:
    kind: SayAsKind
    text: str
    format: str | None = None


@dataclass(frozen=True)
class Prosody:
    rate: str | None = None
    pitch: str | None = None
    volume: str | None = None
    children: tuple[Node, ...] = ()

    @property
    def rate_factor(self) -> float:
        """The speaking rate as a factor of the voice's own (1.0 unchanged)."""
        if self.rate is None:
            return 1.0
        m = _PERCENT.match(self.rate)
        return float(m.group(2)) / 100 if m else RATES.get(self.rate, 1.0)

    @property
    def volume_db(self) -> float:
        if self.volume is None:
            return 0.0
        m = _DB.match(self.volume)
        return (float(m.group(2)) * (-1 if m.group(1) == "-" else 1)) if m else VOLUMES.get(self.volume, 0.0)


Node = Text | Break | SayAs | Prosody


@dataclass(frozen=True)
class Document:
    children: tuple[Node, ...] = field(default_factory=tuple)


def is_ssml(text: str) -> bool:
    """Does this prompt hold markup (a tag, or the start of a declaration)?"""
    return bool(_MARKUP.search(text))


def _did_you_mean(word: str, known: tuple[str, ...] | list[str]) -> str:
    guess = difflib.get_close_matches(word.lower(), list(known), n=1, cutoff=0.5)
    return f"; did you mean '{guess[0]}'?" if guess else f"; known: {', '.join(known)}"


def _unescape(text: str, offset: int) -> str:
    """Text with the five XML entities and numeric references replaced; any other refused."""

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name.startswith("#"):
            code = int(name[2:], 16) if name[1:2] in ("x", "X") else int(name[1:])
            if not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise SsmlError(f"&{name}; is not a character", offset + m.start())
            return chr(code)
        if name not in _XML_ENTITIES:
            raise SsmlError(
                f"entity &{name}; is not allowed in a prompt (only &amp; &lt; &gt; &quot; &apos;)",
                offset + m.start(),
            )
        return _XML_ENTITIES[name]

    return _ENTITY.sub(one, text)


@dataclass
class _Open:
    tag: str
    offset: int
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)


def parse(text: str) -> Document:
    """The prompt's markup as a `Document`; SsmlError (with the offset) when it is outside the subset."""
    stack: list[_Open] = [_Open("#root", 0, {})]
    elements = 0
    pos = 0
    seen_speak = False
    while pos < len(text):
        lt = text.find("<", pos)
        chunk = text[pos : len(text) if lt < 0 else lt]
        if chunk:
            if ">" in chunk:
                raise SsmlError("'>' without a tag; write &gt;", pos + chunk.index(">"))
            stack[-1].children.append(Text(_unescape(chunk, pos)))
        if lt < 0:
            break
        pos = lt
        rest = text[pos : pos + 12]
        if rest.startswith(("<!DOCTYPE", "<!doctype", "<!ENTITY", "<!entity")):
            raise SsmlError("a DOCTYPE or entity declaration is not allowed in a prompt", pos)
        if rest.startswith("<!--"):
            raise SsmlError("comments are not allowed in a prompt's markup (use a YAML # comment)", pos)
        if rest.startswith(("<![CDATA[", "<!")):
            raise SsmlError("CDATA and declarations are not allowed in a prompt", pos)
        if rest.startswith("<?"):
            raise SsmlError("processing instructions (<?...?>) are not allowed in a prompt", pos)
        m = _TAG.match(text, pos)
        if m is None:
            raise SsmlError("'<' that does not start a tag; write &lt; for a less-than sign", pos)
        closing, name, attr_text, empty = m.group(1), m.group(2), m.group(3), m.group(4)
        if name not in TAGS:
            raise SsmlError(f"unknown SSML tag <{name}>{_did_you_mean(name, TAGS)}", pos + 1 + len(closing))
        if closing:
            if attr_text or empty:
                raise SsmlError(f"a closing tag </{name}> takes no attributes", pos)
            top = stack[-1]
            if top.tag != name:
                expected = f"</{top.tag}>" if top.tag != "#root" else "nothing to close"
                raise SsmlError(f"</{name}> does not close an open <{name}>; expected {expected}", pos)
            stack.pop()
            stack[-1].children.append(_element(top, text))
            pos = m.end()
            continue
        elements += 1
        if elements > MAX_ELEMENTS:
            raise SsmlError(f"too many SSML elements (the limit is {MAX_ELEMENTS} in one prompt)", pos)
        attrs = _attributes(name, attr_text, m.start(3))
        if name == "speak":
            if (
                seen_speak
                or len(stack) > 1
                or any(not (isinstance(c, Text) and not c.text.strip()) for c in stack[0].children)
            ):
                raise SsmlError("<speak> must wrap the whole prompt, once", pos)
            seen_speak = True
        if name == "break" and not empty:
            raise SsmlError('<break> has no content: write <break time="500ms"/>', pos)
        if name != "break" and empty:
            stack[-1].children.append(_element(_Open(name, pos, attrs), text))
            pos = m.end()
            continue
        if name == "say-as" and stack[-1].tag == "say-as":
            raise SsmlError("<say-as> holds text only", pos)
        opened = _Open(name, pos, attrs)
        if name == "break":
            stack[-1].children.append(_element(opened, text))
        else:
            if len(stack) > MAX_DEPTH:
                raise SsmlError(f"SSML nested too deep (the limit is {MAX_DEPTH})", pos)
            stack.append(opened)
        pos = m.end()
    if len(stack) > 1:
        top = stack[-1]
        raise SsmlError(f"<{top.tag}> is not closed; add </{top.tag}>", top.offset)
    children = stack[0].children
    if seen_speak:
        at = next(i for i, c in enumerate(children) if isinstance(c, _Speak))
        if any(not (isinstance(c, Text) and not c.text.strip()) for c in children[at + 1 :]):
            raise SsmlError("text after </speak>: <speak> must wrap the whole prompt", len(text.rstrip()) - 1)
    return Document(tuple(_flatten_speak(children)))


def _flatten_speak(children: list[Node]) -> list[Node]:
    out: list[Node] = []
    for c in children:
        if isinstance(c, _Speak):
            out.extend(c.children)
        else:
            out.append(c)
    return out


@dataclass(frozen=True)
class _Speak(Prosody):
    """The `<speak>` root while parsing: its children are the document's."""


def _attributes(tag: str, attr_text: str, offset: int) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in _ATTR.finditer(attr_text):
        name = m.group(1)
        value = m.group(2) if m.group(2) is not None else m.group(3)
        where = offset + m.start()
        if name not in ATTRIBUTES[tag]:
            raise SsmlError(f"<{tag}> has no attribute '{name}'{_did_you_mean(name, ATTRIBUTES[tag])}", where)
        if name in out:
            raise SsmlError(f"attribute '{name}' is given twice", where)
        out[name] = _unescape(value, offset + m.start(2 if m.group(2) is not None else 3))
        _check_value(tag, name, out[name].strip(), where)
    return out


def _check_value(tag: str, name: str, value: str, where: int) -> None:
    def bad(expected: str) -> SsmlError:
        return SsmlError(f'<{tag} {name}="{value}">: {expected}', where)

    if tag == "break" and name == "time":
        m = _TIME.match(value)
        if not m:
            raise bad("write a time such as 500ms or 1.5s")
        seconds = float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)
        if seconds > MAX_BREAK_S:
            raise bad(f"a break is at most {MAX_BREAK_S:g} s")
    elif tag == "break" and name == "strength":
        if value not in STRENGTHS:
            raise bad("expected one of " + ", ".join(STRENGTHS) + _did_you_mean(value, list(STRENGTHS)))
    elif tag == "say-as" and name == "interpret-as":
        if value not in SAY_AS_KINDS:
            raise SsmlError(
                f"say-as interpret-as '{value}' is not supported{_did_you_mean(value, SAY_AS_KINDS)}", where
            )
    elif tag == "say-as" and name == "format":
        if value not in DATE_FORMATS:
            raise bad("expected mdy, dmy or ymd" + _did_you_mean(value, DATE_FORMATS))
    elif name == "rate":
        m = _PERCENT.match(value)
        lo, hi = MAX_RATE_PERCENT
        if m and not m.group(1) and lo <= float(m.group(2)) <= hi:
            return
        if value not in RATES:
            raise bad(f"expected {', '.join(RATES)} or a percentage from {lo}% to {hi}%")
    elif name == "pitch":
        m = _PERCENT.match(value)
        if m and m.group(1) and float(m.group(2)) <= MAX_PITCH_PERCENT:
            return
        if value not in PITCHES:
            raise bad(
                f"expected {', '.join(PITCHES)} or a change such as +20% (at most {MAX_PITCH_PERCENT}%)"
            )
    elif name == "volume":
        m = _DB.match(value)
        if m and float(m.group(2)) <= MAX_VOLUME_DB:
            return
        if value not in VOLUMES:
            raise bad(
                f"expected {', '.join(VOLUMES)} or a change such as +6dB (at most {MAX_VOLUME_DB:g} dB)"
            )


def _element(opened: _Open, text: str) -> Node:
    a = opened.attrs
    if opened.tag == "break":
        if "time" in a:
            m = _TIME.match(a["time"])
            assert m is not None
            return Break(float(m.group(1)) / (1000 if m.group(2) == "ms" else 1))
        return Break(STRENGTHS[a.get("strength", "medium")])
    if opened.tag == "say-as":
        kind = a.get("interpret-as")
        if kind is None:
            raise SsmlError(
                '<say-as> needs interpret-as="date|digits|characters|telephone|currency"', opened.offset
            )
        if any(not isinstance(c, Text) for c in opened.children):
            raise SsmlError("<say-as> holds text only", opened.offset)
        content = "".join(c.text for c in opened.children if isinstance(c, Text))
        return SayAs(kind, content, a.get("format"))  # type: ignore[arg-type]  # checked in _check_value
    if opened.tag == "speak":
        return _Speak(children=tuple(opened.children))
    return Prosody(a.get("rate"), a.get("pitch"), a.get("volume"), tuple(opened.children))


# --- rendering -----------------------------------------------------------------------------

Fill = Callable[[str], str]
"""Fills a text's {placeholders} (a prompt template's variables)."""
Expand = Callable[[SayAsKind, str, str | None], str]
"""Reads a say-as text aloud in words: (kind, text, date format) -> text."""


def _identity(text: str) -> str:
    return text


def basic_expand(kind: SayAsKind, text: str, fmt: str | None = None) -> str:
    """say-as with no help from the IVR: digits and characters one by one, a telephone
    number digit by digit in groups; a date or an amount as written."""
    text = text.strip()
    if kind == "digits":
        return " ".join(ch for ch in text if not ch.isspace())
    if kind == "characters":
        return " ".join(ch.upper() for ch in text if not ch.isspace())
    if kind == "telephone":
        digits = "".join(ch for ch in text if ch.isdigit())
        groups = [digits[:3], digits[3:6], digits[6:]] if len(digits) == 10 else [digits]
        return ", ".join(" ".join(g) for g in groups if g)
    return text


def plain_text(doc: Document, fill: Fill = _identity, expand: Expand = basic_expand) -> str:
    """The prompt as plain text: for the text channel, the console and the call log."""
    out: list[str] = []

    def walk(nodes: tuple[Node, ...]) -> None:
        for n in nodes:
            if isinstance(n, Text):
                out.append(fill(n.text))
            elif isinstance(n, Break):
                out.append(" ")
            elif isinstance(n, SayAs):
                out.append(expand(n.kind, fill(n.text), n.format))
            else:
                walk(n.children)

    walk(doc.children)
    return " ".join("".join(out).split())


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def to_espeak(doc: Document, fill: Fill = _identity, expand: Expand = basic_expand) -> str:
    """Markup for espeak-ng's SSML mode: breaks and prosody as written, say-as in words,
    every text (and every filled-in value) escaped, so a caller's words stay words."""
    out: list[str] = ["<speak>"]

    def walk(nodes: tuple[Node, ...]) -> None:
        for n in nodes:
            if isinstance(n, Text):
                out.append(_escape(fill(n.text)))
            elif isinstance(n, Break):
                out.append(f'<break time="{round(n.seconds * 1000)}ms"/>')
            elif isinstance(n, SayAs):
                out.append(_escape(expand(n.kind, fill(n.text), n.format)))
            else:
                attrs = "".join(
                    f' {k}="{_escape(v)}"'
                    for k, v in (("rate", n.rate), ("pitch", n.pitch), ("volume", n.volume))
                    if v is not None
                )
                out.append(f"<prosody{attrs}>")
                walk(n.children)
                out.append("</prosody>")

    walk(doc.children)
    out.append("</speak>")
    return " ".join("".join(out).split())


@dataclass(frozen=True)
class Spoken:
    """A piece of the prompt to say at `rate_factor` times the voice's rate, `volume_db` louder."""

    text: str
    rate_factor: float = 1.0
    volume_db: float = 0.0


@dataclass(frozen=True)
class Silence:
    seconds: float


Segment = Spoken | Silence


def segments(doc: Document, fill: Fill = _identity, expand: Expand = basic_expand) -> list[Segment]:
    """The prompt as pieces of speech and silence, for an engine without SSML (pitch is
    left to the voice: no such engine here changes it)."""
    out: list[Segment] = []

    def walk(nodes: tuple[Node, ...], rate: float, volume: float) -> None:
        for n in nodes:
            if isinstance(n, Text | SayAs):
                said = fill(n.text) if isinstance(n, Text) else expand(n.kind, fill(n.text), n.format)
                if not said.strip():
                    continue
                last = out[-1] if out else None
                if isinstance(last, Spoken) and (last.rate_factor, last.volume_db) == (rate, volume):
                    out[-1] = Spoken(last.text + said, rate, volume)
                else:
                    out.append(Spoken(said, rate, volume))
            elif isinstance(n, Break):
                out.append(Silence(n.seconds))
            else:
                walk(n.children, rate * n.rate_factor, volume + n.volume_db)

    walk(doc.children, 1.0, 0.0)
    return [
        Spoken(" ".join(s.text.split()), s.rate_factor, s.volume_db) if isinstance(s, Spoken) else s
        for s in out
    ]
