"""`callwright ARGS` run inside the test process, through the console entry point itself.

`python -m callwright` in a subprocess costs a Python start, the CLI's imports and, for the QA
commands that score, loading torch and the MiniLM/sentiment models and encoding every scorecard
phrase again: 15-20 s per command on 2 cores, paid again by each of them. `run` calls
`callwright.cli.main` (the same argument parsing, the same error handling: a `CallwrightError`
becomes `error: ...` and its exit code, click's usage errors their message) with `sys.argv`,
the working directory, environment variables, stdin, stdout and stderr set as a subprocess would
have them, and returns the same `CompletedProcess`; the models stay loaded for the session.

What it cannot show is what only a fresh process shows (an import that fails at start-up, a
traceback printed by the interpreter): an exception that escapes `main` is printed to the
returned stderr as a traceback (exit code 1), so "no traceback" assertions still hold, and the
tests that exist for the process itself keep a subprocess.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def _environment(env: dict[str, str], cwd: Path | None) -> Iterator[None]:
    """Set `env` and the working directory for one command, and put back what was there."""
    saved_env = {k: os.environ.get(k) for k in env}
    saved_cwd = os.getcwd()
    os.environ.update(env)
    if cwd is not None:
        os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class CommandTimeout(BaseException):
    """The command ran past `run`'s timeout (raised in it from SIGALRM; it ends as a traceback).
    A BaseException, as KeyboardInterrupt: the command's own `except Exception` does not catch it."""


@contextlib.contextmanager
def _deadline(timeout_s: float | None) -> Iterator[None]:
    """Raise CommandTimeout in the command after `timeout_s`, as subprocess.run's timeout ends a
    child: a command that should have refused its input but serves instead fails, not hangs."""
    if timeout_s is None:
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise CommandTimeout(f"the command ran past {timeout_s} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run(
    *args: object,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stdin: str = "",
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Like `subprocess.run([python, "-m", "callwright", *args], capture_output=True, text=True)`;
    past `timeout` seconds the command is interrupted and returns exit code 1 with a traceback."""
    from callwright import cli

    argv = ["callwright", *map(str, args)]
    out, err = io.StringIO(), io.StringIO()
    groups = list(cli.app.registered_groups)  # main() registers the command groups each time
    saved = sys.argv, sys.stdin
    code = 0
    try:
        sys.argv, sys.stdin = argv, io.StringIO(stdin)
        with (
            _environment({"HF_HUB_OFFLINE": "1", **(env or {})}, cwd),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore")  # as PYTHONWARNINGS=ignore
            try:
                with _deadline(timeout):
                    cli.main()
            except SystemExit as ex:
                code = ex.code if isinstance(ex.code, int) else (0 if ex.code is None else 1)
            except BaseException:  # noqa: BLE001 - what a process would print before dying
                traceback.print_exc(file=err)
                code = 1
    finally:
        sys.argv, sys.stdin = saved
        cli.app.registered_groups[:] = groups
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())
