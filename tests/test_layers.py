"""The package layers in docs/architecture.md hold: the import-linter contracts in pyproject.toml
pass on the code under test (the same check `make lint` runs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import callwright

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    src = Path(callwright.__file__).resolve().parents[1]  # the checkout whose code is tested
    env = {**os.environ, "PYTHONPATH": str(src)}
    run = subprocess.run(
        [str(lint), "--no-logo", "--no-cache", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout
