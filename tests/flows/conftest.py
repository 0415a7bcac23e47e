"""Running a hostile input in a child process under memory and time limits.

A loader or an expression that regresses to unbounded memory or time must fail
its test, not take the machine (or the test run) down: the child gets an
address-space limit (`MEM_LIMIT`) and a timeout (`TIMEOUT_S`, TimeoutExpired
fails the test).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

MEM_LIMIT = 1 << 30  # 1 GiB of address space: a loader needs well under 200 MB
TIMEOUT_S = 60

Bounded = Callable[..., "subprocess.CompletedProcess[str]"]


def _limits() -> None:  # runs in the child, before exec
    resource.setrlimit(resource.RLIMIT_AS, (MEM_LIMIT, MEM_LIMIT))


def run_bounded(
    args: list[str], *, stdin: str = "", cwd: Path | None = None, timeout: float = TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    """Run `python ARGS` under the memory limit and the timeout."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=_limits,
        env=env,
        cwd=cwd,
    )


@pytest.fixture
def bounded() -> Bounded:
    return run_bounded
