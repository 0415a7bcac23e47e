"""Data printed on a terminal cannot drive it: controls, escapes and bidi overrides are shown."""

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from callwright.textsafe import safe_text


def test_escapes_nul_and_bidi_controls_become_visible():
    assert safe_text("a\x1b[2Jb\x00c\x07") == "a\\x1b[2Jb\\x00c\\x07"
    assert safe_text("pay \u202eeurt\u202c now") == "pay \\u202eeurt\\u202c now"
    assert safe_text("\x9b31m C1 CSI") == "\\x9b31m C1 CSI"
    assert safe_text("line\nnext\rover") == "line\\x0anext\\x0dover"
    assert safe_text("line\nnext", keep_newlines=True) == "line\nnext"


def test_ordinary_text_is_unchanged():
    for s in ("Welcome to Acme.", "Bienvenido, ¿español?", "tab\there", "家族 👨\u200d👩\u200d👧", ""):
        assert safe_text(s) == s
    assert safe_text(42) == "42"


BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


@given(st.text())
def test_no_control_character_survives(s):
    out = safe_text(s)
    for ch in out:
        assert ch == "\t" or unicodedata.category(ch) != "Cc", repr(ch)
        assert ch not in BIDI and ch not in "\u2028\u2029", repr(ch)
