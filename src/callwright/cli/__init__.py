"""The `callwright` command line: parses arguments and calls the library.

Each command group lives in its own module and registers itself on `app`;
heavy libraries (torch, faster-whisper, vosk, sounddevice) are imported inside
the commands so that `--help` stays fast and works without them.
"""

from __future__ import annotations

import logging
import sys

import typer

from callwright.errors import CallwrightError

app = typer.Typer(
    name="callwright",
    help="Offline, speech-enabled IVR and call-QA engine.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress to stderr."),
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _register() -> None:
    # One module per command group; each exposes register(app).
    from callwright.cli import (
        asr,
        call,
        campaign,
        contacts,
        dial,
        flow,
        models,
        qa,
        report,
        sentiment,
        serve,
        speech_server,
        staff,
        tts,
        voicemail,
        web,
    )

    modules = (
        flow,
        call,
        tts,
        asr,
        models,
        sentiment,
        qa,
        report,
        staff,
        serve,
        speech_server,
        web,
        voicemail,
        contacts,
        campaign,
        dial,
    )
    for module in modules:
        module.register(app)


def main() -> None:
    """Console entry point: run the app, turning user errors into a message and exit code."""
    _register()
    try:
        code = app(standalone_mode=False)  # non-standalone click returns Exit codes
        sys.exit(code if isinstance(code, int) else 0)
    except CallwrightError as err:
        typer.secho(f"error: {err}", err=True, fg=typer.colors.RED)
        sys.exit(err.exit_code)
    except typer.Exit as ex:
        sys.exit(ex.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as err:  # click usage errors arrive here in non-standalone mode
        if isinstance(err, _click_exception_types()):
            err.show()  # type: ignore[attr-defined]
            sys.exit(err.exit_code)  # type: ignore[attr-defined]
        raise


def _click_exception_types() -> tuple[type[BaseException], ...]:
    """Click's usage-error base class, wherever this Typer keeps it.

    Typer 0.29 vendors click as `typer._click`; older releases use the
    `click` package. Both are accepted so that a bad option never becomes a
    traceback.
    """
    types: list[type[BaseException]] = []
    for name in ("typer._click.exceptions", "click.exceptions"):
        try:
            module = __import__(name, fromlist=["ClickException"])
        except ImportError:
            continue
        types.append(module.ClickException)
    return tuple(types)
