"""Writes one benchmark's section into docs/benchmarks/speech_io.md, leaving the others alone.

Each speech-I/O benchmark owns a block between HTML-comment markers, so they
can be re-run one at a time without clobbering each other's figures.
"""

from __future__ import annotations

import platform
import re
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "benchmarks" / "speech_io.md"
FSDD = (REPO / ".." / "shared" / "data" / "fsdd").resolve()
HEADER = "# Speech I/O benchmarks (DTMF, VAD/endpointing, TTS)\n"


def machine() -> str:
    import os

    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {date.today()}"


def write_section(name: str, body: str) -> Path:
    """Replace (or append) the section `name` in the shared document."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}\n"
    text = DOC.read_text() if DOC.exists() else HEADER
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end) + r"\n?", re.S)
    text = pattern.sub(lambda _m: block, text) if pattern.search(text) else text + "\n" + block
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)
    return DOC
