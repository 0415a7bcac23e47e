"""SIP messages (RFC 3261 section 7): bytes -> `SipMessage`, and back.

The parser takes whatever arrives on the UDP port, so it is written for hostile input:
every size is bounded (`MAX_MESSAGE_BYTES`, `MAX_HEADERS`, `MAX_LINE_BYTES`), nothing is
decoded except as UTF-8 with replacement, and every way a datagram can be wrong ends in one
`SipParseError` (a fuzz test in tests/server/sip holds it to that). What it understands is
the minimum a UAS needs: the start line, headers (compact forms folded to their long names,
obsolete line folding joined), and a body cut to Content-Length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_MESSAGE_BYTES = 65_535  # the largest UDP datagram; a SIP message over UDP cannot be longer
MAX_HEADERS = 100  # header fields in one message (a real INVITE has about 15)
MAX_LINE_BYTES = 8_192  # one header line, after folding

# RFC 3261 section 7.3.3 compact forms -> the long names we use everywhere
COMPACT = {
    "i": "Call-ID",
    "m": "Contact",
    "e": "Content-Encoding",
    "l": "Content-Length",
    "c": "Content-Type",
    "f": "From",
    "s": "Subject",
    "k": "Supported",
    "t": "To",
    "v": "Via",
    "o": "Event",
    "r": "Refer-To",
}
_CANONICAL = {
    n.lower(): n
    for n in (
        "Via",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Contact",
        "Max-Forwards",
        "Content-Type",
        "Content-Length",
        "Allow",
        "Supported",
        "User-Agent",
        "Server",
        "Event",
        "Refer-To",
        "Referred-By",
        "Subscription-State",
        "Record-Route",
        "Route",
        "Accept",
        "Warning",
        "Retry-After",
        "Expires",
    )
}
_TOKEN = re.compile(r"^[A-Za-z0-9.!%*_+`'~-]+$")
_CTL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # control characters (tab is allowed)
_REASONS = {
    100: "Trying",
    180: "Ringing",
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    420: "Bad Extension",
    481: "Call/Transaction Does Not Exist",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    500: "Server Internal Error",
    503: "Service Unavailable",
}


def _num(s: str) -> bool:
    """1 to 10 ASCII digits (str.isdigit also takes "²", which int() refuses; and no huge ints)."""
    return 0 < len(s) <= 10 and s.isascii() and s.isdigit()


class SipParseError(ValueError):
    """A datagram that is not a SIP message we can read (the reason says why)."""


@dataclass
class SipMessage:
    """One request (`method` set) or response (`status` set).

    Headers keep their order and repeats (`Via` may appear many times); names are stored in
    their canonical long form, so `get("call-id")`, `get("i")` and `get("Call-ID")` agree."""

    method: str | None = None
    uri: str | None = None
    status: int | None = None
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def is_request(self) -> bool:
        return self.method is not None

    def get(self, name: str, default: str | None = None) -> str | None:
        key = canonical_name(name)
        for n, v in self.headers:
            if n == key:
                return v
        return default

    def get_all(self, name: str) -> list[str]:
        key = canonical_name(name)
        return [v for n, v in self.headers if n == key]

    def cseq(self) -> tuple[int, str]:
        """(number, method) of the CSeq header; SipParseError if it is not one."""
        raw = self.get("CSeq") or ""
        parts = raw.split()
        if len(parts) != 2 or not _num(parts[0]) or len(parts[0]) > 10:
            raise SipParseError(f"bad CSeq header: {raw[:60]!r}")
        return int(parts[0]), parts[1].upper()

    def to_bytes(self) -> bytes:
        if self.is_request:
            start = f"{self.method} {self.uri} SIP/2.0"
        else:
            start = f"SIP/2.0 {self.status} {self.reason or _REASONS.get(self.status or 0, '')}"
        lines = [start]
        lines += [f"{n}: {v}" for n, v in self.headers if n != "Content-Length"]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


def canonical_name(name: str) -> str:
    low = name.strip().lower()
    if low in COMPACT:
        return COMPACT[low]
    return _CANONICAL.get(low, name.strip())


def parse_message(data: bytes) -> SipMessage:
    """Parse one datagram; SipParseError for anything that is not a well-formed SIP message."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise SipParseError(f"message of {len(data)} bytes is over the {MAX_MESSAGE_BYTES}-byte limit")
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")  # tolerate bare LF (RFC 3261 7.5 allows it)
        if not sep:
            raise SipParseError("no blank line after the headers")
    text = head.decode("utf-8", errors="replace")
    raw_lines = text.replace("\r\n", "\n").split("\n")
    for raw in raw_lines:
        if _CTL.search(raw):  # RFC 3261 25.1 has no control characters in headers (and logs stay clean)
            raise SipParseError(f"control character in a header line: {raw[:60]!r}")
    if not raw_lines or not raw_lines[0].strip():
        raise SipParseError("empty start line")
    msg = _start_line(raw_lines[0])
    lines: list[str] = []
    for raw in raw_lines[1:]:
        if raw[:1] in (" ", "\t"):  # obsolete line folding: continues the previous header
            if not lines:
                raise SipParseError("continuation line before any header")
            lines[-1] += " " + raw.strip()
        else:
            lines.append(raw)
        if len(lines[-1]) > MAX_LINE_BYTES:
            raise SipParseError(f"header line over the {MAX_LINE_BYTES}-byte limit")
    if len(lines) > MAX_HEADERS:
        raise SipParseError(f"{len(lines)} header lines is over the {MAX_HEADERS} limit")
    for line in lines:
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        name = name.strip()
        if not colon or not _TOKEN.match(name):
            raise SipParseError(f"bad header line: {line[:60]!r}")
        msg.headers.append((canonical_name(name), value.strip()))
    length = msg.get("Content-Length")
    if length is not None:
        if not _num(length) or len(length) > 6:
            raise SipParseError(f"bad Content-Length: {length[:20]!r}")
        n = int(length)
        if n > len(body):
            raise SipParseError(f"Content-Length {n} but only {len(body)} bytes of body")
        body = body[:n]
    msg.body = body
    return msg


def _start_line(line: str) -> SipMessage:
    if line.startswith("SIP/2.0 "):
        parts = line.split(" ", 2)
        code = parts[1] if len(parts) > 1 else ""
        if len(code) != 3 or not _num(code) or not 100 <= int(code) <= 699:
            raise SipParseError(f"bad status code in {line[:60]!r}")
        return SipMessage(status=int(code), reason=parts[2].strip() if len(parts) > 2 else "")
    parts = line.split(" ")
    if len(parts) != 3 or parts[2] != "SIP/2.0":
        raise SipParseError(f"not a SIP/2.0 request or response line: {line[:60]!r}")
    method, uri = parts[0], parts[1]
    if not _TOKEN.match(method) or not uri or ":" not in uri:
        raise SipParseError(f"bad request line: {line[:60]!r}")
    return SipMessage(method=method.upper(), uri=uri)


# --- header values ---------------------------------------------------------------------


def header_params(value: str) -> dict[str, str]:
    """The ;name=value parameters after a name-addr or a Via (`tag`, `branch`, `rport`...)."""
    tail = value.rsplit(">", 1)[1] if ">" in value else value
    out: dict[str, str] = {}
    for part in tail.split(";")[1:]:
        k, _, v = part.partition("=")
        if k.strip():
            out[k.strip().lower()] = v.strip().strip('"')
    return out


def tag_of(value: str | None) -> str | None:
    return header_params(value).get("tag") if value else None


def uri_of(value: str) -> str:
    """The URI inside a name-addr (`"Bob" <sip:bob@host>;tag=x` -> `sip:bob@host`)."""
    if "<" in value and ">" in value:
        return value.split("<", 1)[1].split(">", 1)[0].strip()
    return value.split(";", 1)[0].strip()


def user_of(uri: str) -> str:
    """The user part of a sip: URI (`sip:100@host:5062;transport=udp` -> `100`), or ''."""
    rest = uri.split(":", 1)[1] if ":" in uri else uri
    if "@" not in rest:
        return ""
    return rest.split("@", 1)[0].split(";", 1)[0]


def host_port_of(uri: str, default_port: int = 5060) -> tuple[str, int]:
    """Host and port of a sip: URI; SipParseError if there is none."""
    rest = uri.split(":", 1)[1] if uri.lower().startswith(("sip:", "sips:")) else uri
    hostport = rest.split("@", 1)[-1].split(";", 1)[0].split("?", 1)[0]
    host, _, port = hostport.partition(":")
    if not host or (port and (not _num(port) or not 0 < int(port) < 65536)):
        raise SipParseError(f"no host:port in URI {uri[:60]!r}")
    return host, int(port) if port else default_port


def response_to(req: SipMessage, status: int, *, to_tag: str | None = None, reason: str = "") -> SipMessage:
    """A response copying what RFC 3261 8.2.6.2 says to copy (Via, From, To, Call-ID, CSeq)."""
    resp = SipMessage(status=status, reason=reason or _REASONS.get(status, ""))
    for name in ("Via", "Record-Route", "From", "To", "Call-ID", "CSeq"):
        for v in req.get_all(name):
            if name == "To" and to_tag and tag_of(v) is None:
                v = f"{v};tag={to_tag}"
            resp.headers.append((name, v))
    return resp
