"""SSML in prompts (issue 16 item 4): the strict parser of the subset, hostile markup refused,
and real espeak-ng rendering (a break is about its length of silence; say-as digits is read
digit by digit, checked on the phonemes espeak-ng produces, not by speech recognition)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from callwright.speech import ssml
from callwright.speech.audio import Audio

# --- parsing: accepted --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markup", "plain", "espeak"),
    [
        (
            'Hello <break time="500ms"/> there',
            "Hello there",
            '<speak>Hello <break time="500ms"/> there</speak>',
        ),
        (
            "<speak>Hi.<break strength='strong'/>Bye.</speak>",
            "Hi. Bye.",
            '<speak>Hi.<break time="700ms"/>Bye.</speak>',
        ),
        (
            'Code <say-as interpret-as="digits">1234</say-as>.',
            "Code 1 2 3 4.",
            "<speak>Code 1 2 3 4.</speak>",
        ),
        ('<say-as interpret-as="characters">ab1</say-as>', "A B 1", "<speak>A B 1</speak>"),
        ('<say-as interpret-as="telephone">555-123-4567</say-as>', "5 5 5, 1 2 3, 4 5 6 7", None),
        (
            '<prosody rate="slow" pitch="+20%" volume="+6dB">Bye &amp; thanks</prosody>',
            "Bye & thanks",
            '<speak><prosody rate="slow" pitch="+20%" volume="+6dB">Bye &amp; thanks</prosody></speak>',
        ),
        ('<prosody rate="150%"><prosody volume="soft">a</prosody> b</prosody>', "a b", None),
        ("Tom &lt;3 &#65;&#x42;", "Tom <3 AB", "<speak>Tom &lt;3 AB</speak>"),
        ('<speak version="1.0" xml:lang="en-US">x</speak>', "x", "<speak>x</speak>"),
    ],
)
def test_the_subset_parses_and_renders(markup: str, plain: str, espeak: str | None) -> None:
    doc = ssml.parse(markup)
    assert ssml.plain_text(doc) == plain
    if espeak is not None:
        assert ssml.to_espeak(doc) == espeak


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["hi ", "&amp;", "<break/>", '<break time="1.2s"/>', '<say-as interpret-as="digits">', "</say-as>",
             '<prosody rate="slow" volume="+3dB">', "</prosody>", "a<b", "5 > 3", "'quoted' \"text\""]
        ),
        max_size=12,
    )
)  # fmt: skip
def test_espeak_markup_reads_back_as_itself(pieces: list[str]) -> None:
    """The synthesiser parses the markup the session wrote again: writing it twice changes nothing."""
    try:
        doc = ssml.parse("".join(pieces))
    except ssml.SsmlError:
        return
    once = ssml.to_espeak(doc)
    assert ssml.to_espeak(ssml.parse(once)) == once
    assert ssml.plain_text(ssml.parse(once)) == ssml.plain_text(doc)


@pytest.mark.parametrize(
    ("text", "markup"),
    [
        ("Press 1 or 2.", False),
        ("If a < b", False),
        ("Hi <break/>", True),
        ("<!DOCTYPE x>", True),
        ("x </speak>", True),
    ],
)
def test_markup_is_recognised(text: str, markup: bool) -> None:
    assert ssml.is_ssml(text) is markup


def test_segments_carry_rate_volume_and_silences() -> None:
    doc = ssml.parse(
        'a <break time="1.5s"/><prosody rate="x-slow" volume="-6dB">b <prosody rate="200%">c</prosody></prosody>'
    )
    assert ssml.segments(doc) == [
        ssml.Spoken("a"),
        ssml.Silence(1.5),
        ssml.Spoken("b", 0.5, -6.0),
        ssml.Spoken("c", 1.0, -6.0),
    ]


# --- parsing: refused, with where and a did-you-mean ----------------------------------------


@pytest.mark.parametrize(
    ("markup", "offset", "message"),
    [
        ('Hi <brake time="1s"/>', 4, "unknown SSML tag <brake>; did you mean 'break'?"),
        ('Hi <break tme="1s"/>', 10, "<break> has no attribute 'tme'; did you mean 'time'?"),
        (
            '<say-as interpret-as="dates">x</say-as>',
            8,
            "say-as interpret-as 'dates' is not supported; did you mean 'date'?",
        ),
        (
            '<say-as interpret-as="cardinal">x</say-as>',
            8,
            "is not supported; known: date, digits, characters",
        ),
        ("<say-as>x</say-as>", 0, "needs interpret-as"),
        ('<prosody rate="slowly">x</prosody>', 9, "expected x-slow"),
        ('<prosody pitch="+500%">x</prosody>', 9, "at most 100%"),
        ('<prosody volume="+90dB">x</prosody>', 9, "at most 20 dB"),
        ('<break time="30s"/>', 7, "a break is at most 10 s"),
        ('<break time="soon"/>', 7, "write a time such as 500ms"),
        ("<break></break>", 0, "<break> has no content"),
        ('<prosody rate="slow">x', 0, "<prosody> is not closed"),
        ("x</prosody>", 1, "</prosody> does not close an open <prosody>"),
        ('<prosody rate="slow">x</say-as>', 22, "expected </prosody>"),
        ("a <speak>b</speak>", 2, "<speak> must wrap the whole prompt"),
        ("<speak>b</speak> c", 17, "text after </speak>"),
        ('<say-as interpret-as="digits"><break/></say-as>', 0, "holds text only"),
        ("3 <b> 4", 3, "unknown SSML tag <b>"),
        ("Ben & Jerry <break/> &copy;", 21, "entity &copy; is not allowed"),
        ('<break time="1s" time="2s"/>', 17, "given twice"),
        ("</speak a='1'>", 0, "takes no attributes"),
        ("x > y <break/>", 2, "'>' without a tag"),
    ],
)
def test_bad_markup_is_refused_at_its_place(markup: str, offset: int, message: str) -> None:
    with pytest.raises(ssml.SsmlError) as err:
        ssml.parse(markup)
    assert message in err.value.message
    assert err.value.offset == offset


@pytest.mark.parametrize(
    "hostile",
    [
        '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><speak>&lol2;</speak>',
        '<!ENTITY xxe SYSTEM "file:///etc/passwd"><speak>&xxe;</speak>',
        '<speak><!DOCTYPE x [<!ENTITY a SYSTEM "http://127.0.0.1/">]>&a;</speak>',
        "<speak>&xxe;</speak>",
        "<?xml-stylesheet href='x'?><speak>x</speak>",
        "<speak><![CDATA[<break/>]]></speak>",
        "<speak><!-- hi --></speak>",
        "<speak>&#0;</speak>",
        "<speak>&#xD800;</speak>",
        "<prosody>" * 9 + "x" + "</prosody>" * 9,
        "<break/>" * (ssml.MAX_ELEMENTS + 1),
    ],
)
def test_hostile_markup_is_refused_without_expanding_anything(hostile: str) -> None:
    with pytest.raises(ssml.SsmlError):
        ssml.parse(hostile)


def test_a_long_hostile_tag_is_refused_quickly() -> None:
    import time

    text = "<break" + " a='1'" * 20_000 + " " * 50_000
    t0 = time.perf_counter()
    with pytest.raises(ssml.SsmlError):
        ssml.parse(text)
    assert time.perf_counter() - t0 < 1.0


# --- espeak-ng --------------------------------------------------------------------------------

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")


def _phonemes(markup: str) -> str:
    """What espeak-ng says for the markup, as phonemes (its SSML mode, -m), no audio."""
    out = subprocess.run(
        ["espeak-ng", "-q", "-x", "-m", "-v", "en-us", markup], capture_output=True, text=True, timeout=30
    )
    return " ".join(out.stdout.split())


@needs_espeak
def test_say_as_digits_is_read_digit_by_digit_by_espeak() -> None:
    digits = _phonemes(ssml.to_espeak(ssml.parse('<say-as interpret-as="digits">1234</say-as>')))
    number = _phonemes(ssml.to_espeak(ssml.parse("1234")))
    one_by_one = _phonemes("<speak>one two three four</speak>")
    assert digits == one_by_one
    assert "T'aUz@nd" in number and "T'aUz@nd" not in digits  # "one thousand..." only without say-as


def _longest_silence_s(audio: Audio, frame_ms: int = 10) -> float:
    x = audio.samples.astype(np.float64)
    n = audio.rate * frame_ms // 1000
    frames = x[: len(x) // n * n].reshape(-1, n)
    quiet = np.sqrt((frames**2).mean(axis=1)) < 100.0
    best = run = 0
    for q in quiet:
        run = run + 1 if q else 0
        best = max(best, run)
    return best * frame_ms / 1000


@needs_espeak
@pytest.mark.parametrize("seconds", [0.8, 2.0])
def test_a_break_adds_about_its_length_of_silence(engine, seconds: float) -> None:
    plain = engine.synthesize("Hello there. Goodbye now.", sample_rate=8000)
    markup = ssml.to_espeak(ssml.parse(f'Hello there. <break time="{int(seconds * 1000)}ms"/> Goodbye now.'))
    paused = engine.synthesize_ssml(markup, sample_rate=8000)
    gap, base_gap = _longest_silence_s(paused), _longest_silence_s(plain)
    assert seconds - 0.1 <= gap <= seconds + base_gap + 0.2, (gap, base_gap)
    extra = paused.duration_s - plain.duration_s
    assert seconds - 0.5 <= extra <= seconds + 0.3, extra


@needs_espeak
def test_prosody_rate_and_the_generic_renderer(engine) -> None:
    """espeak-ng reads prosody itself; an engine without SSML gets the pieces and silences."""
    from callwright.speech.tts.base import Synthesizer

    text = "Thank you for calling. Goodbye."
    slow = engine.synthesize_ssml(
        ssml.to_espeak(ssml.parse(f'<prosody rate="x-slow">{text}</prosody>')), sample_rate=8000
    )
    normal = engine.synthesize(text, sample_rate=8000)
    assert slow.samples.size > 1.3 * normal.samples.size
    generic = Synthesizer.synthesize_ssml(
        engine, f'Thank you. <break time="1s"/> <prosody rate="x-slow">{text}</prosody>', sample_rate=8000
    )
    assert _longest_silence_s(generic) >= 0.9
    assert generic.samples.size > slow.samples.size + 8000 * 0.9


@needs_espeak
def test_markup_is_cached_apart_from_plain_text(synth) -> None:
    markup = ssml.to_espeak(ssml.parse('Goodbye <break time="300ms"/> now'))
    a = synth.synthesize_ssml(markup, sample_rate=8000)
    hits = synth.hits
    b = synth.synthesize_ssml(markup, sample_rate=8000)
    assert synth.hits == hits + 1 and np.array_equal(a.samples, b.samples)
    plain = synth.synthesize("Goodbye now", sample_rate=8000)
    assert plain.samples.size < a.samples.size


@needs_espeak
def test_the_tts_command_says_ssml_and_refuses_bad_markup(tmp_path) -> None:
    cli = [sys.executable, "-m", "callwright"]
    env = {**os.environ, "CALLWRIGHT_TTS_CACHE": str(tmp_path / "cache")}
    ok = subprocess.run(
        [*cli, "tts", 'Hello. <break time="1500ms"/> Bye.', "-o", "b.wav"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert sf.info(tmp_path / "b.wav").duration > 1.5
    bad = subprocess.run(
        [*cli, "tts", 'Hi <brake time="1s"/>', "-o", "c.wav"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "SSML at character 5: unknown SSML tag <brake>; did you mean 'break'?" in bad.stderr
    assert not (tmp_path / "c.wav").exists()
