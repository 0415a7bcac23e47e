"""Menu choices by example (issue 16 item 2): routing free speech by meaning.

Why: callers do not say the keywords. `decide` must route only a confident, clear winner
(else the caller is asked again rather than sent to the wrong queue), "I need help with
my bill" must reach billing rather than the global help command, and a flow's examples
that two choices share too closely must be reported.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from callwright.flows.loader import load_flow, loads
from callwright.flows.model import Ask, Intents
from callwright.ivr import intents, interpret
from callwright.ivr.intents import IntentRouter, Routed, Unsure, decide

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = Intents(threshold=0.4, margin=0.04)


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ({"billing": 0.72, "sales": 0.31}, Routed("billing", 0.72, "sales", 0.31)),
        (
            {"billing": 0.39, "sales": 0.10},
            Unsure("closest choice billing at 0.39, under 0.40", "billing", 0.39),
        ),
        ({"billing": 0.60, "sales": 0.58}, "too close"),
        ({"billing": 0.60, "sales": 0.55}, Routed("billing", 0.60, "sales", 0.55)),
        ({"sales": 0.5}, Routed("sales", 0.5, None, 0.0)),
        ({}, Unsure("no examples")),
    ],
)
def test_decide(scores: dict[str, float], expected: object) -> None:
    got = decide(scores, SETTINGS)
    if isinstance(expected, str):
        assert isinstance(got, Unsure) and expected in got.reason
    else:
        assert got == expected


WORDS = ["bill", "charged", "pay", "internet", "wifi", "broken", "buy", "plan", "help", "banana"]


def _bag(texts: list[str]) -> np.ndarray:
    """A stand-in encoder for the table tests: unit bag-of-words vectors over WORDS."""
    out = np.zeros((len(texts), len(WORDS)), dtype=np.float32)
    for i, t in enumerate(texts):
        for w in t.lower().split():
            if w in WORDS:
                out[i, WORDS.index(w)] += 1
        n = np.linalg.norm(out[i])
        out[i] = out[i] / n if n else out[i]
    return out


MENU = """
flow: m
start: menu
settings:
  global_commands:
    help: {speech: [help]}
    operator: {dtmf: "0", speech: [agent], next: bye}
states:
  menu:
    type: ask
    collect: menu
    prompt: "Billing, support or sales?"
    choices:
      - {id: billing, dtmf: "1", speech: [billing], examples: ["a question about my bill", "I was charged"], next: bye}
      - {id: support, dtmf: "2", speech: [support], examples: ["my internet is broken"], next: bye}
      - {id: sales, dtmf: "3", speech: [sales], examples: ["I want to buy a plan"], next: bye}
    on_failure: bye
  bye: {type: hangup}
"""


def _rules(embed=None) -> interpret.Rules:
    res = loads(MENU, "m.yaml")
    assert res.flow is not None and not res.errors, res.problems
    st = res.flow.states["menu"]
    assert isinstance(st, Ask)
    rules = interpret.Rules.of(st)
    if embed is not None:
        assert rules.router is not None
        rules.router._embed = embed
        rules.router._known = None  # a stand-in encoder: no spelling pass (it would load MiniLM's vocabulary)
    return rules


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("billing", ("chosen", "billing", None)),  # a keyword: no encoder needed
        ("they charged me twice", ("chosen", "billing", "intent")),
        ("the wifi is broken", ("chosen", "support", "intent")),
        ("I need help with my bill", ("chosen", "billing", "intent")),  # not the help command
        ("help", ("command", "help", None)),  # the command alone is still the command
        ("help please", ("command", "help", None)),
        ("banana", ("no_match", None, None)),
        ("agent", ("command", "operator", None)),
    ],
)
def test_interpretation_with_examples(text: str, expected: tuple) -> None:
    result = interpret.speech(text, 0.9, _rules(_bag))
    match result:
        case interpret.Chosen(choice, confidence, score):
            got = ("chosen", choice.id, "intent" if score is not None else None)
            assert confidence == 0.9  # the recogniser's confidence; the score is logged apart
        case interpret.Command(name):
            got = ("command", name, None)
        case interpret.NoMatch():
            got = ("no_match", None, None)
        case _:
            got = (type(result).__name__,)
    assert got == expected


def test_a_menu_without_examples_has_no_router() -> None:
    flow = load_flow(ROOT / "flows" / "refill.yaml")
    st = flow.states["offer-refill"]
    assert isinstance(st, Ask) and interpret.Rules.of(st).router is None


def test_an_encoder_that_fails_means_asking_again_not_a_crash() -> None:
    def broken(texts: list[str]) -> np.ndarray:
        raise OSError("model files missing")

    rules = _rules(broken)
    assert interpret.speech("they charged me twice", 0.9, rules) == interpret.NoMatch("no choice matched")
    assert interpret.speech("billing", 0.9, rules).choice.id == "billing"  # keywords still work


def test_the_inbound_menu_with_the_shipped_encoder() -> None:
    """The real MiniLM on the sample's main menu: requests in the caller's own words."""
    flow = load_flow(ROOT / "flows" / "inbound.yaml")
    st = flow.states["main-menu"]
    assert isinstance(st, Ask)
    rules = interpret.Rules.of(st)
    assert isinstance(rules.router, IntentRouter)
    routed = {
        t: interpret.speech(t, 1.0, rules) for t in ("I need help with my bill", "my wifi stopped working")
    }
    assert routed["I need help with my bill"].choice.id == "billing"
    assert routed["my wifi stopped working"].choice.id == "support"
    assert interpret.speech("banana", 1.0, rules) == interpret.NoMatch("no choice matched")


def test_flow_intents_reports_examples_too_close(tmp_path: Path) -> None:
    flow = tmp_path / "close.yaml"
    flow.write_text(
        MENU.replace('"I want to buy a plan"', '"I want to buy a plan", "a question about my bills"')
    )
    r = subprocess.run(
        [sys.executable, "-m", "callwright", "flow", "intents", str(flow)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert f"{flow}:14:64: warning:" in r.stdout  # the billing example, where it is written
    assert (
        '"a question about my bill" (choice billing) is too close to "a question about my bills"' in r.stdout
    )
    assert "1 pair(s) of examples too close" in r.stderr


@pytest.mark.parametrize(("n", "k"), [(1, 1), (9, 1), (15, 1), (16, 2), (24, 3), (80, 3)])
def test_neighbours_grow_with_the_examples_up_to_three(n: int, k: int) -> None:
    assert intents.neighbours(n) == k


def test_a_choice_with_many_examples_is_scored_by_its_closest_few() -> None:
    # one stray example very close to the utterance does not carry a choice with many
    # examples: its score is the mean of its three closest (0.9, 0.3, 0.3)
    stray = [0.9, 0.3, 0.3] + [0.1] * 21
    assert intents.choice_score(stray) == pytest.approx(0.5)
    # a choice with few examples keeps its best example's similarity
    assert intents.choice_score([0.9, 0.3, 0.3]) == pytest.approx(0.9)


@pytest.fixture(scope="module")
def inbound_main_menu() -> interpret.Rules:
    flow = load_flow(ROOT / "flows" / "inbound.yaml")
    st = flow.states["main-menu"]
    assert isinstance(st, Ask)
    return interpret.Rules.of(st)


@pytest.mark.parametrize(
    ("text", "language"),
    [("get me a human", "en"), ("can I speak to someone", "en"), ("páseme con alguien", "es")],
)
def test_the_inbound_menu_sends_a_request_for_a_person_to_the_operator(
    inbound_main_menu: interpret.Rules, text: str, language: str
) -> None:
    assert interpret.speech(text, 1.0, inbound_main_menu, language=language) == interpret.Command("operator")


@pytest.mark.parametrize(
    ("text", "choice"),
    [("my wiif isnt wrking", "support"), ("I want to sign up for your servise", "sales")],
)
def test_the_inbound_menu_routes_misspelt_requests(
    inbound_main_menu: interpret.Rules, text: str, choice: str
) -> None:
    got = interpret.speech(text, 1.0, inbound_main_menu)
    assert isinstance(got, interpret.Chosen) and got.choice.id == choice


def test_a_misspelling_between_two_choices_words_is_not_guessed() -> None:
    # "chrage" is one swap from billing's "charge"; "chagne" one swap from sales's "change":
    # each is put right, but "chage" (one edit from both) is left as typed
    def fake(texts: list[str]) -> np.ndarray:
        return _bag([t.replace("charge", "charged").replace("change", "buy") for t in texts])

    res = loads(
        MENU.replace('"I was charged"', '"I was charged", "a charge"').replace(
            '"I want to buy a plan"', '"I want to buy a plan", "a change"'
        ),
        "m.yaml",
    )
    assert res.flow is not None and not res.errors, res.problems
    st = res.flow.states["menu"]
    assert isinstance(st, Ask)
    rules = interpret.Rules.of(st)
    assert rules.router is not None
    rules.router._embed = fake
    rules.router._known = lambda: frozenset({"a", "my", "i", "want", "to"})
    assert rules.router.correct("a chrage") == "a charge"
    assert rules.router.correct("a chagne") == "a change"
    assert rules.router.correct("a chage") == "a chage"
    assert interpret.speech("chrage please", 0.9, rules).choice.id == "billing"
    assert interpret.speech("chage please", 0.9, rules) == interpret.NoMatch("no choice matched")


def test_a_keyword_is_no_tie_breaker_when_the_meaning_leans_to_other_choices() -> None:
    # "billing" is named, but the request means support or sales, too close to tell apart
    # (0.5 each): asking again beats taking the keyword against the meaning
    result = interpret.speech("billing broken plan", 0.9, _rules(_bag))
    assert isinstance(result, interpret.NoMatch) and "keyword billing against meaning" in result.reason
    # no meaning close enough to any choice: the keyword still decides
    assert interpret.speech("billing banana please", 0.9, _rules(_bag)).choice.id == "billing"


@pytest.mark.parametrize(
    ("text", "choice"),
    [("upgrade please", "sales"), ("new account", "sales"), ("refund", "billing"), ("outage", "support")],
)
def test_the_inbound_menu_routes_very_short_requests_by_keyword(
    inbound_main_menu: interpret.Rules, text: str, choice: str
) -> None:
    got = interpret.speech(text, 1.0, inbound_main_menu)
    assert isinstance(got, interpret.Chosen) and got.choice.id == choice
    assert got.intent_score is None  # a keyword: taken as is, not by the encoder
