"""docs/environment.md names every environment variable the code reads or sets (issue 12, item 4)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# os.environ.get("X"), os.environ["X"], os.getenv("X"), setdefault("X"), NAME_ENV = "X", a for-loop's
# tuple of names, and VAR=value in the Makefile and shell scripts.
_PATTERNS = [
    r"""environ(?:\.get|\.setdefault)?\(\s*["']([A-Z][A-Z0-9_]+)["']""",
    r"""environ\[\s*["']([A-Z][A-Z0-9_]+)["']\s*\]""",
    r"""getenv\(\s*["']([A-Z][A-Z0-9_]+)["']""",
    r"""^[A-Z_]*ENV\s*=\s*["']([A-Z][A-Z0-9_]+)["']""",
    r"""for var in \(([^)]*)\)""",
    r"""\{\*\*os\.environ,([^}]*)\}""",
]


def _names_in(text: str) -> set[str]:
    names: set[str] = set()
    for pat in _PATTERNS:
        for m in re.finditer(pat, text, re.MULTILINE):
            names |= set(re.findall(r"\b[A-Z][A-Z0-9_]{2,}\b", m.group(1)))
    return names


def variables_used() -> set[str]:
    names: set[str] = set()
    for folder in ("src", "scripts", "bench", "tests"):
        for path in (ROOT / folder).rglob("*.py"):
            names |= _names_in(path.read_text(encoding="utf-8"))
    for path in [ROOT / "Makefile", *(ROOT / "scripts").glob("*.sh")]:
        names |= set(
            re.findall(
                r"(?:^|\s|@)([A-Z][A-Z0-9_]{2,})=(?!\()", path.read_text(encoding="utf-8"), re.MULTILINE
            )
        )
        names |= set(re.findall(r"\$\{?([A-Z][A-Z0-9_]{2,}):-", path.read_text(encoding="utf-8")))
    return names - {"SUDO"}  # a shell variable of setup.sh, not read from the environment


def test_every_environment_variable_is_documented():
    used = variables_used()
    assert {"CALLWRIGHT_DB", "CALLWRIGHT_TTS_CACHE", "HF_HUB_OFFLINE", "VOSK_MODEL_PATH"} <= used
    doc = (ROOT / "docs" / "environment.md").read_text(encoding="utf-8")
    missing = sorted(n for n in used if f"`{n}" not in doc)
    assert missing == []


def test_the_readme_links_the_environment_doc():
    assert "docs/environment.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_project_variable_named_in_the_code_is_documented():
    """Any CALLWRIGHT_*, HF_* or CT2_* name in src/ (also one read through a constant or a
    prefix such as CALLWRIGHT_SECRET_<NAME>, which the patterns above do not see)."""
    names: set[str] = set()
    for path in (ROOT / "src").rglob("*"):
        if path.suffix in (".py", ".json", ".yaml") and path.is_file():
            names |= set(re.findall(r"\b(?:CALLWRIGHT|HF|CT2)_[A-Z0-9_]+", path.read_text(encoding="utf-8")))
    assert {"CALLWRIGHT_DB", "CALLWRIGHT_SECRET_", "CT2_FORCE_CPU_ISA"} <= names
    doc = (ROOT / "docs" / "environment.md").read_text(encoding="utf-8")
    missing = sorted(n for n in names if f"`{n}" not in doc)
    assert missing == []
