"""A flow's languages are what its speech is heard in (issue 17 item 5): a code no speech model
knows, and a record state whose model cannot hear the flow's language, are errors at the line
and column the designer wrote, like every flow error."""

import textwrap

from callwright.flows.checker import check
from callwright.flows.loader import loads

FLOW = """\
flow: buzon
languages: [{languages}]
start: leave
states:
  leave:
    type: record
    prompt: {prompt}
    transcribe: true
    model: {model}
    next: bye
  bye: {{type: hangup}}
"""


def located(**values: str) -> list[str]:
    res = loads(textwrap.dedent(FLOW.format(**values)), "buzon.yaml")
    out = list(res.problems) + (check(res.flow) if res.flow is not None else [])
    return [str(p) for p in out if p.severity == "error"]


def test_a_language_code_no_model_knows_is_an_error_at_its_place() -> None:
    assert located(languages="es, sp", prompt="{es: Hola, sp: Hola}", model="base") == [
        "buzon.yaml:2:17: error: 'sp' is not a language code (ISO 639-1, such as en, es, de or es-MX)"
    ]
    assert located(languages="es, es-MX", prompt="{es: Hola, es-MX: Hola}", model="base") == []


def test_a_record_state_whose_model_cannot_hear_the_flows_language_is_an_error() -> None:
    (error,) = located(languages="de", prompt="Hallo", model="tiny.en")
    assert error.startswith("buzon.yaml:9:12: error: speech model 'tiny.en' hears en only"), error
    assert "speaks de" in error
