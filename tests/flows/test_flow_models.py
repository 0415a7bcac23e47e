"""A flow chooses its speech model: `model:` per flow and per state (issue 17, item 5).

Pure tests of the language (schema, loader, checker) and of which model the runtime asks
for: the state's own `model:` wins over its file's, then over a calling flow's, then over
the process's default (`--model`), which the line asks for with None. No model is loaded
here: the checker only looks at the registry and the disk, and the line is driven with a
recogniser holder that records what it is asked (tests/ivr/test_state_models.py runs the
real engines).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from callwright.flows.checker import check, check_file
from callwright.flows.loader import loads
from callwright.flows.model import is_model_path
from callwright.ivr.channels.audio import AudioLine
from callwright.ivr.clock import FakeClock
from callwright.ivr.engine import FlowEngine
from callwright.ivr.events import Listen, Speech
from callwright.speech.asr.base import (
    Capabilities,
    Heard,
    OneRecognizer,
    Recognition,
    Recognizer,
    Recognizers,
    RecognizerStream,
)
from callwright.speech.asr.registry import serves

ASK = "{type: ask, collect: speech, prompt: %s, into: %s, next: %s, on_failure: bye%s}"


def flow_text(*, top: str = "", states: str) -> str:
    return f"flow: t\n{top}start: a\nstates:\n{textwrap.indent(textwrap.dedent(states), '  ')}  bye: {{type: hangup}}\n"


def problems(text: str, base_dir: Path | None = None) -> list[tuple[int, int, str]]:
    res = loads(text, "t.yaml", base_dir=base_dir)
    assert res.flow is not None, res.problems
    found = list(res.problems) + check(res.flow)
    return [(p.line, p.col, f"{p.severity}: {p.message}") for p in found]


def messages(text: str, base_dir: Path | None = None) -> list[str]:
    return [m for _, _, m in problems(text, base_dir)]


# -- the checker ---------------------------------------------------------------------------


def test_an_unknown_model_name_is_an_error_at_its_value_with_did_you_mean():
    text = flow_text(states="a: " + ASK % ("Why", "r", "bye", ", model: tiny-en") + "\n")
    found = [p for p in problems(text) if "speech model" in p[2]]
    line = text.splitlines().index(next(x for x in text.splitlines() if "tiny-en" in x)) + 1
    col = text.splitlines()[line - 1].index("tiny-en") + 1
    assert found == [(line, col, "error: unknown speech model 'tiny-en'; did you mean 'tiny.en'?")]


def test_a_model_name_in_other_case_gets_its_did_you_mean():
    text = flow_text(states="a: " + ASK % ("Why", "r", "bye", ", model: Tiny.EN") + "\n")
    assert [p[2] for p in problems(text) if "speech model" in p[2]] == [
        "error: unknown speech model 'Tiny.EN'; did you mean 'tiny.en'?"
    ]


def test_an_unknown_flow_model_without_a_close_name_lists_the_names_and_the_path_spelling():
    text = flow_text(top="model: whisper-large\n", states="a: " + ASK % ("Why", "r", "bye", "") + "\n")
    (line, col, msg), *_ = [p for p in problems(text) if "speech model" in p[2]]
    assert (line, col) == (2, 8)
    assert msg.startswith("error: unknown speech model 'whisper-large' (known: tiny.en, base,")
    assert "./whisper-large" in msg


def test_a_model_directory_is_relative_to_the_flow_file_and_must_hold_a_model(tmp_path):
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "models" / "empty").mkdir(parents=True)
    whisper = flows / "models" / "mine"
    whisper.mkdir()
    (whisper / "model.bin").write_bytes(b"")
    for spec, expected in (
        ("./models/nope", "error: speech model directory './models/nope' does not exist"),
        ("./models/empty", "error: './models/empty' is not a speech model directory"),
        ("./models/mine", None),
    ):
        text = flow_text(states="a: " + ASK % ("Why", "r", "bye", f", model: {spec}") + "\n")
        path = flows / "f.yaml"
        path.write_text(text)
        found = [f"{p.severity}: {p.message}" for p in check_file(path) if "model" in p.message]
        if expected is None:
            assert found == []
        else:
            assert len(found) == 1 and found[0].startswith(expected), found
    res = loads(
        flow_text(states="a: " + ASK % ("Why", "r", "bye", ", model: ./models/mine") + "\n"), "f", flows
    )
    assert res.flow is not None
    assert res.flow.states["a"].listening.model.target == str(whisper)  # type: ignore[union-attr]


def test_a_model_on_a_state_that_never_listens_is_a_warning():
    text = flow_text(
        states="""\
        a: {type: ask, collect: digits, input: dtmf, prompt: Account, model: base, into: d, next: b, on_failure: bye}
        b: {type: record, prompt: Speak, model: tiny.en, next: bye}
        """
    )
    assert [m for m in messages(text) if "never used" in m] == [
        "warning: state 'a' takes keys only (input: dtmf): its model 'base' is never used",
        "warning: state 'b' does not transcribe its message (transcribe: true would): "
        "its model 'tiny.en' is never used",
    ]


@pytest.mark.parametrize(
    ("top", "prompt", "model", "expected"),
    [
        # the flow says its languages: a model that hears none of the state's is an error
        (
            "languages: [es]\n",
            "Hola",
            "tiny.en",
            "error: speech model 'tiny.en' hears en only, but state 'a' speaks es",
        ),
        # ... one that hears some of them a warning
        (
            "languages: [en, es]\n",
            "{en: Hi, es: Hola}",
            "tiny.en",
            "warning: speech model 'tiny.en' hears en only, but state 'a' also speaks es",
        ),
        ("languages: [en, es]\n", "{en: Hi, es: Hola}", "base", None),  # base hears every language
        ("languages: [en]\n", "Hi", "vosk-small-en-us", None),  # en-us hears en
        ("", "Hi", "vosk-ko", None),  # the flow does not say its language: not checked
        (
            "",
            "{ko: 안녕하세요}",
            "tiny.en",
            "error: speech model 'tiny.en' hears en only, but state 'a' speaks ko",
        ),
    ],
)
def test_a_model_must_hear_the_language_of_its_state(top, prompt, model, expected):
    text = flow_text(top=top, states="a: " + ASK % (prompt, "r", "bye", f", model: {model}") + "\n")
    found = [m for m in messages(text) if " hears " in m]
    if expected is None:
        assert found == []
    else:
        assert len(found) == 1 and found[0].startswith(expected), found


def test_a_flow_model_that_cannot_hear_a_state_is_reported_at_the_flow_model():
    text = flow_text(
        top="languages: [es]\nmodel: tiny.en\n", states="a: " + ASK % ("Hola", "r", "bye", "") + "\n"
    )
    found = [p for p in problems(text) if " hears " in p[2]]
    assert [(line, col) for line, col, _ in found] == [(3, 8)]


def test_languages_are_served_by_primary_subtag_and_multilingual_models_serve_all():
    assert serves(("en-us",), "en") and serves(("en",), "en-GB") and serves(("multilingual",), "ko")
    assert not serves(("en",), "es")


def test_names_and_paths_are_told_apart_by_their_spelling():
    assert not is_model_path("tiny.en") and not is_model_path("vosk-ko")
    assert all(is_model_path(p) for p in ("./m", "../m", "~/m", "/srv/m", "models/m"))


# -- which model the runtime asks for -------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def test_a_subflows_models_are_checked_with_its_caller_at_the_subflows_own_lines(tmp_path):
    """`flow check main.yaml` passed a subflow's `model: bsae` that stopped the call at its start."""
    (tmp_path / "sub").mkdir()
    write(
        tmp_path / "sub" / "leaf.yaml",
        """\
        flow: leaf
        start: q
        states:
          q: {type: ask, collect: speech, prompt: Again, into: x, next: out, on_failure: out, model: tiny.eng}
          out: {type: return}
        """,
    )
    write(
        tmp_path / "sub" / "child.yaml",
        """\
        flow: child
        model: bsae
        start: q
        states:
          q: {type: ask, collect: speech, prompt: One, into: y, next: deeper, on_failure: deeper}
          deeper: {type: subflow, flow: leaf.yaml, next: out}
          out: {type: return}
        """,
    )
    main = write(
        tmp_path / "main.yaml",
        """\
        flow: main
        start: a
        states:
          a: {type: subflow, flow: sub/child.yaml, next: b}
          b: {type: subflow, flow: sub/child.yaml, next: bye}
          bye: {type: hangup, prompt: Bye.}
        """,
    )
    found = [(Path(p.path).name, p.line, p.message) for p in check_file(main) if p.severity == "error"]
    assert found == [
        ("child.yaml", 2, "unknown speech model 'bsae'; did you mean 'base'?"),
        ("leaf.yaml", 4, "unknown speech model 'tiny.eng'; did you mean 'tiny.en'?"),
    ]


def test_the_state_wins_over_its_file_which_wins_over_the_calling_flow(tmp_path):
    write(
        tmp_path / "sub.yaml",
        """\
        flow: sub
        start: q1
        states:
          q1: {type: ask, collect: speech, prompt: One, into: x, next: q2, on_failure: out, model: vosk-ko}
          q2: {type: ask, collect: speech, prompt: Two, into: y, next: out, on_failure: out}
          out: {type: return}
        """,
    )
    write(
        tmp_path / "named.yaml",
        """\
        flow: named
        model: base
        start: q
        states:
          q: {type: ask, collect: speech, prompt: Three, into: z, next: out, on_failure: out}
          out: {type: return}
        """,
    )
    main = write(
        tmp_path / "main.yaml",
        """\
        flow: main
        model: tiny.en
        start: a
        states:
          a: {type: ask, collect: speech, prompt: Hi, into: r, next: s, on_failure: bye}
          s: {type: subflow, flow: sub.yaml, next: n}
          n: {type: subflow, flow: named.yaml, next: keys}
          keys: {type: ask, collect: digits, input: dtmf, prompt: Keys, into: k, next: bye, on_failure: bye}
          bye: {type: hangup}
        """,
    )
    res = loads(main.read_text(), str(main), base_dir=tmp_path)
    assert res.flow is not None and not res.errors
    engine = FlowEngine(res.flow)
    chosen = {name: cs.model_target for name, cs in engine.states.items() if cs.rules is not None}
    assert chosen == {
        "a": "tiny.en",  # the flow's
        "s.q1": "vosk-ko",  # the state's own, in a subflow
        "s.q2": "tiny.en",  # the subflow names none: the calling flow's
        "n.q": "base",  # the subflow's own flow-level model wins over its caller's
        "keys": "tiny.en",
    }
    assert engine.models == ("tiny.en", "vosk-ko", "base")  # keys-only states load nothing


def test_a_flow_without_models_leaves_the_choice_to_the_process():
    res = loads(flow_text(states="a: " + ASK % ("Why", "r", "bye", "") + "\n"), "t.yaml")
    engine = FlowEngine(res.flow)  # type: ignore[arg-type]
    call = engine.start_call(FakeClock())
    listen = next(a for a in call.start() if isinstance(a, Listen))
    assert listen.model is None and engine.models == ()


def test_the_session_tells_the_line_the_state_model_and_logs_the_model_that_heard():
    text = flow_text(
        top="model: tiny.en\n",
        states="a: "
        + ASK % ("Why", "r", "b", "")
        + "\nb: "
        + ASK % ("Again", "s", "bye", ", model: base")
        + "\n",
    )
    engine = FlowEngine(loads(text, "t.yaml").flow)  # type: ignore[arg-type]
    call = engine.start_call(FakeClock())
    first = next(a for a in call.start() if isinstance(a, Listen))
    second = next(a for a in call.handle(Speech("billing", 0.9, model="tiny.en")) if isinstance(a, Listen))
    call.handle(Speech("hola", 0.9))  # typed (no audio): no model
    assert (first.model, second.model) == ("tiny.en", "base")
    inputs = [e.data for e in call.events if e.kind == "input"]
    assert inputs[0]["model"] == "tiny.en" and "model" not in inputs[1]


# -- the audio line asks the port per state --------------------------------------------------


class _Stream(RecognizerStream):
    sample_rate = 8000

    def __init__(self, owner: _Engine) -> None:
        self.owner = owner

    def accept(self, pcm16):
        return None

    def set_phrases(self, phrases):
        pass

    def finish(self):
        return Recognition(self.owner.name, 0.9)


class _Engine(Recognizer):
    capabilities = Capabilities(False, False, False, False, (8000,))

    def __init__(self, name: str) -> None:
        self.name = name
        self.opened = 0

    def open(self, sample_rate, phrases=None):
        self.opened += 1
        return _Stream(self)

    def transcribe(self, audio, options=None):
        return [Recognition(self.name, 0.9)]


class _Models(Recognizers):
    def __init__(self) -> None:
        self.engines = {None: _Engine("default"), "base": _Engine("base"), "vosk-ko": _Engine("vosk-ko")}
        self.asked: list[str | None] = []

    def get(self, model=None, language=None):
        self.asked.append(model)
        return Heard(self.engines[model], self.engines[model].name)


def _listen(model: str | None) -> Listen:
    return Listen("s", "speech", "speech", 5.0, 3.0, 0.3, 10.0, model=model)


def _voice() -> np.ndarray:
    """0.8 s of a voiced sound (120 Hz harmonics, a 4 Hz syllable rhythm, a little noise):
    what the endpointer takes for speech; no recogniser reads it here."""
    t = np.arange(6400) / 8000
    sig = sum(np.sin(2 * np.pi * 120 * k * t) / k for k in range(1, 25)) * (
        0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)
    )
    sig = sig + 0.05 * np.random.default_rng(0).standard_normal(t.size)
    return (sig / np.abs(sig).max() * 12000).astype(np.int16)


def _utterance(line: AudioLine, t: float) -> Speech:
    voice = _voice()
    out = []
    for i in range(40):  # 0.8 s of speech, then silence until the endpointer decides
        out += line.hear(voice[i * 160 : (i + 1) * 160], t + i * 0.02)
    i = 40
    while not any(isinstance(e, Speech) for e in out) and i < 400:
        out += line.hear(np.zeros(160, np.int16), t + i * 0.02)
        i += 1
    return next(e for e in out if isinstance(e, Speech))


def test_the_line_hears_each_state_with_its_model_and_opens_one_stream_per_model():
    models = _Models()
    line = AudioLine(8000, models, prompts=None)  # type: ignore[arg-type]
    heard = []
    for k, model in enumerate([None, "vosk-ko", None, "vosk-ko", "base"]):
        line.configure(_listen(model), k * 10.0)
        speech = _utterance(line, k * 10.0)
        heard.append((speech.model, speech.text))
    assert heard == [
        ("default", "default"),
        ("vosk-ko", "vosk-ko"),
        ("default", "default"),
        ("vosk-ko", "vosk-ko"),
        ("base", "base"),
    ]
    assert {name: e.opened for name, e in models.engines.items()} == {None: 1, "base": 1, "vosk-ko": 1}


def test_a_line_with_one_recogniser_refuses_a_state_that_names_another_model():
    line = AudioLine(8000, _Engine("whisper"), prompts=None)  # type: ignore[arg-type]
    line.configure(_listen(None), 0.0)
    assert isinstance(line.recognizers, OneRecognizer)
    with pytest.raises(Exception, match="the flow asks for model 'base'"):
        line.configure(_listen("base"), 1.0)
