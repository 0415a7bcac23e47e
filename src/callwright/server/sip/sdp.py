"""SDP offer/answer (RFC 3264, RFC 4566) for one audio stream: G.711 and telephone-events.

The IVR speaks G.711 only (mu-law PT 0, A-law PT 8, both 8 kHz, 20 ms) and takes keys as
RFC 4733 telephone-events at whatever dynamic payload type the offer names. An offer with
no audio stream carrying PCMU or PCMA is refused (the UAS answers 488 Not Acceptable Here);
other streams in the offer (video...) are declined with port 0, as RFC 3264 section 6 says.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Literal

MAX_SDP_BYTES = 16_384
MAX_SDP_LINES = 300
Codec = Literal["PCMU", "PCMA"]
STATIC = {0: "PCMU", 8: "PCMA"}
OUR_CODECS: tuple[Codec, ...] = ("PCMU", "PCMA")  # preference when the offer ranks them equal


def _num(s: str) -> bool:
    """1 to 10 ASCII digits (str.isdigit also takes "²", which int() refuses; and no huge ints)."""
    return 0 < len(s) <= 10 and s.isascii() and s.isdigit()


class SdpError(ValueError):
    """An SDP body we cannot use; the message says why (it goes in the 488's Warning)."""


@dataclass(frozen=True)
class MediaLine:
    kind: str  # audio, video...
    port: int
    proto: str
    formats: tuple[str, ...]
    rtpmap: dict[int, str]  # payload type -> "encoding/rate" (lower case)
    address: str | None  # the media-level c= address, if any
    direction: str = "sendrecv"


@dataclass(frozen=True)
class Offer:
    address: str | None  # session-level c=
    media: tuple[MediaLine, ...]


@dataclass(frozen=True)
class Negotiated:
    """What both ends agreed: where to send RTP, with which payload types."""

    remote_host: str
    remote_port: int
    codec: Codec
    payload_type: int
    event_pt: int | None  # telephone-event payload type, None if the offer had none
    media_index: int  # which m= line of the offer is ours
    declined: tuple[MediaLine, ...]  # every m= line of the offer, for answering in order


def parse_sdp(body: bytes) -> Offer:
    if len(body) > MAX_SDP_BYTES:
        raise SdpError(f"SDP of {len(body)} bytes is over the {MAX_SDP_BYTES}-byte limit")
    text = body.decode("utf-8", errors="replace").replace("\r\n", "\n")
    if re.search(r"[\x00-\x08\x0b-\x1f\x7f]", text):
        raise SdpError("SDP has control characters")
    lines = text.split("\n")
    if len(lines) > MAX_SDP_LINES:
        raise SdpError(f"SDP of {len(lines)} lines is over the {MAX_SDP_LINES}-line limit")
    session_addr: str | None = None
    media: list[dict] = []
    for line in lines:
        line = line.strip()
        if len(line) < 2 or line[1] != "=":
            continue
        kind, value = line[0], line[2:]
        if kind == "c":
            addr = _connection(value)
            if media:
                media[-1]["address"] = addr
            else:
                session_addr = addr
        elif kind == "m":
            parts = value.split()
            if len(parts) < 4 or not _num(parts[1].split("/")[0]) or len(parts[1]) > 12:
                raise SdpError(f"bad m= line: {value[:60]!r}")
            port = int(parts[1].split("/")[0])
            if port > 65535:
                raise SdpError(f"bad port in m= line: {value[:60]!r}")
            media.append(
                {
                    "kind": parts[0],
                    "port": port,
                    "proto": parts[2],
                    "formats": tuple(parts[3:]),
                    "rtpmap": {},
                    "address": None,
                    "direction": "sendrecv",
                }
            )
        elif kind == "a" and media:
            name, _, rest = value.partition(":")
            if name == "rtpmap":
                pt, _, enc = rest.partition(" ")
                if _num(pt) and int(pt) < 128:
                    media[-1]["rtpmap"][int(pt)] = enc.strip().lower()
            elif name in ("sendrecv", "sendonly", "recvonly", "inactive"):
                media[-1]["direction"] = name
    if not media:
        raise SdpError("SDP has no m= line")
    return Offer(session_addr, tuple(MediaLine(**m) for m in media))


def _connection(value: str) -> str:
    parts = value.split()
    if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
        raise SdpError(f"bad c= line: {value[:60]!r}")
    return parts[2].split("/")[0]


def negotiate(offer: Offer) -> Negotiated:
    """Pick the first audio stream that carries PCMU or PCMA (in the offer's order of preference)."""
    seen: list[str] = []
    for i, m in enumerate(offer.media):
        seen += [f"{m.kind}/{m.rtpmap.get(int(f), f) if _num(f) else f}" for f in m.formats]
        if m.kind != "audio" or m.port == 0 or m.proto != "RTP/AVP":
            continue
        address = m.address or offer.address
        if address is None:
            raise SdpError("no c= address for the audio stream")
        codec: tuple[Codec, int] | None = None
        event_pt = None
        for f in m.formats:
            if not _num(f):
                continue
            pt = int(f)
            enc = m.rtpmap.get(pt)
            name = enc.split("/")[0].upper() if enc else STATIC.get(pt)
            rate = enc.split("/")[1] if enc and "/" in enc else "8000"
            if codec is None and name in OUR_CODECS and rate == "8000":
                codec = (name, pt)
            elif name == "TELEPHONE-EVENT" and rate == "8000" and event_pt is None:
                event_pt = pt
        if codec is None:
            continue
        return Negotiated(address, m.port, codec[0], codec[1], event_pt, i, offer.media)
    raise SdpError(
        "no audio stream with PCMU or PCMA at 8000 Hz over RTP/AVP (offered: " + ", ".join(seen[:12]) + ")"
    )


def answer_sdp(neg: Negotiated, host: str, port: int, session_id: int | None = None) -> bytes:
    """Our answer: the same m= lines in order, ours with the chosen codec, the rest port 0."""
    sid = session_id if session_id is not None else int(time.time())
    ip = "IP6" if ":" in host else "IP4"
    lines = ["v=0", f"o=callwright {sid} {sid} IN {ip} {host}", "s=callwright", f"c=IN {ip} {host}", "t=0 0"]
    for i, m in enumerate(neg.declined):
        if i != neg.media_index:
            lines.append(f"m={m.kind} 0 {m.proto} {' '.join(m.formats) or '0'}")
            continue
        fmts = [str(neg.payload_type)] + ([str(neg.event_pt)] if neg.event_pt is not None else [])
        lines.append(f"m=audio {port} RTP/AVP {' '.join(fmts)}")
        lines.append(f"a=rtpmap:{neg.payload_type} {neg.codec}/8000")
        if neg.event_pt is not None:
            lines += [f"a=rtpmap:{neg.event_pt} telephone-event/8000", f"a=fmtp:{neg.event_pt} 0-15"]
        lines += ["a=ptime:20", "a=sendrecv"]
    return ("\r\n".join(lines) + "\r\n").encode()
