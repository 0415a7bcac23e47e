"""The YAML loader: positions, and hostile files rejected with a located reason."""

import pytest

from callwright.common.source import MAX_BYTES, SourceError, load, parse


def test_positions_point_at_values_and_keys():
    src = parse("a: 1\nstates:\n  main:\n    type: play\n", "f.yaml")
    assert src.pos(("states", "main", "type")).line == 4
    assert src.pos(("states", "main", "type")).col == 11
    assert src.pos(("states", "main"), key=True).line == 3


def test_yes_no_stay_words_and_keys_stay_text():
    src = parse("yes: a\nno: b\nlist: [yes, no, on]\nflag: true\n")
    assert src.data == {"yes": "a", "no": "b", "list": ["yes", "no", "on"], "flag": True}


def test_dates_are_text():
    assert parse("d: 2026-12-25\n").data == {"d": "2026-12-25"}


def _problem(text: str):
    with pytest.raises(SourceError) as info:
        parse(text, "bad.yaml")
    return info.value.problems[0]


def test_duplicate_key_is_an_error_with_both_lines():
    p = _problem("states:\n  a: 1\n  a: 2\n")
    assert (p.line, p.severity) == (3, "error")
    assert "duplicate key 'a'" in p.message and "line 2" in p.message


def test_syntax_error_is_located():
    p = _problem("a: [1, 2\nb: 3\n")
    assert p.line >= 2 and "YAML syntax error" in p.message


def test_alias_bomb_is_refused():
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(9):
        prev, cur = chr(97 + i), chr(98 + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    p = _problem("\n".join(lines) + "\n")
    assert "too many YAML nodes" in p.message


def test_deep_nesting_is_refused():
    p = _problem("a: " + "[" * 200 + "]" * 200 + "\n")
    assert "nesting is too deep" in p.message


def test_python_tags_never_construct_objects():
    p = _problem("a: !!python/object/apply:os.system ['id']\n")
    assert "unsupported YAML tag" in p.message


def test_binary_and_huge_files(tmp_path):
    binary = tmp_path / "flow.yaml"
    binary.write_bytes(b"\x7fELF\x00\x01\x02" * 100)
    with pytest.raises(SourceError) as info:
        load(binary)
    assert "binary file" in info.value.problems[0].message
    huge = tmp_path / "huge.yaml"
    huge.write_text("a: " + "x" * (MAX_BYTES + 10))
    with pytest.raises(SourceError) as info:
        load(huge)
    assert "limited to" in info.value.problems[0].message
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("a: caf\xe9\n".encode("latin-1"))
    with pytest.raises(SourceError) as info:
        load(latin)
    assert "not UTF-8" in info.value.problems[0].message
    with pytest.raises(SourceError) as info:
        load(tmp_path / "missing.yaml")
    assert "cannot read file" in info.value.problems[0].message
