"""The expression language evaluates what designers need and nothing else."""

from datetime import UTC, datetime

import pytest

from callwright.flows.expr import ExpressionError, parse


def ev(source, **env):
    return parse(source).evaluate(env)


@pytest.mark.parametrize(("source", "env", "expected"), [
    ("1 + 2 * 3", {}, 7),
    ("(tries + 1) % 3", {"tries": 5}, 0),
    ("reason == 'billing' and tries < 3", {"reason": "billing", "tries": 1}, True),
    ("not vip or balance > 100", {"vip": True, "balance": 50}, False),
    ("caller_id.startswith('+44')", {"caller_id": "+44 20 7946 0000"}, True),
    ("language in ['en', 'es']", {"language": "fr"}, False),
    ("'gold' in tier.lower()", {"tier": "GOLD member"}, True),
    ("len(account) >= 4", {"account": "4111"}, True),
    ("int(account) + 1", {"account": "41"}, 42),
    ("'late' if hour() >= 17 else 'day'", {"__now__": datetime(2026, 1, 5, 18, tzinfo=UTC)}, "late"),
    ("weekday() == 'mon' and time_between('09:00', '17:30')",
     {"__now__": datetime(2026, 1, 5, 17, 29, tzinfo=UTC)}, True),
    ("is_weekend()", {"__now__": datetime(2026, 1, 10, 12, tzinfo=UTC)}, True),
    ("today()", {"__now__": datetime(2026, 12, 25, 8, tzinfo=UTC)}, "2026-12-25"),
    ("is_set(account) and true", {"account": None}, False),
])
def test_evaluates(source, env, expected):
    assert ev(source, **env) == expected


def test_names_are_collected_for_the_checker():
    assert parse("a + b > c and f(x)" if False else "a + b > c and len(d) > 0").names == \
        {"a", "b", "c", "d"}


@pytest.mark.parametrize("hostile", [
    "__import__('os').system('id')",
    "().__class__.__bases__[0].__subclasses__()",
    "caller_id.__class__",
    "open('/etc/passwd').read()",
    "eval('1')",
    "(lambda: 1)()",
    "[x for x in range(10)]",
    "a[0]",
    "2 ** 1000000",
    "globals()",
    "_secret",
    "x := 1",
    "f'{caller_id}'",
])
def test_hostile_expressions_are_rejected_at_parse_time(hostile):
    with pytest.raises(ExpressionError):
        parse(hostile)


def test_resource_limits():
    with pytest.raises(ExpressionError, match="longer than"):
        ev("'x' * 100000000")
    with pytest.raises(ExpressionError, match="too deeply nested"):
        parse("[" * 60 + "1" + "]" * 60)
    with pytest.raises(ExpressionError, match="longer than"):
        parse("1 + " * 400 + "1")


def test_runtime_errors_are_expression_errors():
    with pytest.raises(ExpressionError, match="unknown variable"):
        ev("missing + 1")
    with pytest.raises(ExpressionError, match="division by zero"):
        ev("1 / 0")
    with pytest.raises(ExpressionError, match="cannot evaluate"):
        ev("'a' < 3")
    with pytest.raises(ExpressionError, match="need a clock"):
        ev("hour()")


def test_syntax_error_reports_column():
    with pytest.raises(ExpressionError) as info:
        parse("reason == ")
    assert "does not parse" in str(info.value)
