"""`callwright sentiment`, `sentiment-train` and `sentiment-eval`.

Three sibling commands rather than a `sentiment` group: the everyday command takes
free TEXT arguments, and a Typer group cannot also take positional text without
swallowing its sub-command names ("train" would be scored as a sentence).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from callwright.errors import CallwrightError, DataError

log = logging.getLogger(__name__)


# Options shared by the three commands.
ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="Head directory, Hugging Face model directory or hub name (default: models/sentiment).",
    ),
]
DataOption = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="Folder with the VADER *_GroundTruth.txt files "
        "(default: ../shared/data/vader beside the repository).",
    ),
]
LimitOption = Annotated[int, typer.Option("--limit", min=0, help="Use at most N texts per file (0 = all).")]
CacheOption = Annotated[
    Path | None,
    typer.Option("--cache", help="Folder to cache frozen-layer states between runs."),
]


def read_text_lines(path: Path) -> list[str]:
    """One text per line; bytes that are not UTF-8 are replaced (and reported), not fatal."""
    try:
        raw = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    except OSError as err:
        raise DataError(
            f"cannot read {path}: {err.strerror}", hint="pass a readable text file, or - for stdin"
        ) from err
    texts = []
    for lineno, line in enumerate(raw.splitlines(), start=1):
        try:
            texts.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            log.warning("%s:%d is not valid UTF-8; undecodable bytes replaced", path, lineno)
            texts.append(line.decode("utf-8", errors="replace"))
    return texts


def sentiment(
    texts: Annotated[
        list[str] | None,
        typer.Argument(metavar="TEXT...", help="Texts to score (each argument is one text)."),
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="File with one text per line (- = stdin).")
    ] = None,
    model: ModelOption = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Texts per forward pass.")] = 64,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line on stdout.")] = False,
) -> None:
    """Label texts negative / neutral / positive with a score in [-1, 1]."""
    from callwright.nlp.sentiment import get_sentiment_model

    items = list(texts or [])
    if file is not None:
        items.extend(read_text_lines(file))
    if not items:
        raise CallwrightError(
            "no text to score", hint="give TEXT arguments or --file FILE (one text per line)"
        )
    results = get_sentiment_model(model).predict(items, batch_size=batch_size)
    if as_json:
        for r in results:
            print(
                json.dumps(
                    {"text": r.text, "label": r.label, "score": round(r.score, 4)},
                    ensure_ascii=False,
                )
            )
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("label", "score", "text")
    colours = {"negative": "red", "neutral": "white", "positive": "green"}
    for r in results:
        table.add_row(f"[{colours[r.label]}]{r.label}[/]", f"{r.score:+.2f}", r.text)
    Console().print(table)


TunedLayersOption = Annotated[
    int | None,
    typer.Option("--tuned-layers", min=1, help="Top encoder layers to fine-tune (default 4)."),
]


def sentiment_train(
    data: DataOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Where to write the head (default: models/sentiment)."),
    ] = None,
    limit: LimitOption = 0,
    epochs: Annotated[
        int | None,
        typer.Option("--epochs", min=1, help="Maximum epochs, the best on dev is kept (default 2)."),
    ] = None,
    tuned_layers: TunedLayersOption = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", help="Seed for shuffling and initialisation (default 20240611)."),
    ] = None,
    cache: CacheOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the training report as JSON.")] = False,
) -> None:
    """Train the sentiment head on the human-rated data (held-out test splits excluded)."""
    from callwright.nlp.training import TrainConfig, train_default_head

    given: dict[str, Any] = {"tuned_layers": tuned_layers, "max_epochs": epochs, "seed": seed}
    config = TrainConfig(**{k: v for k, v in given.items() if v is not None})
    out_dir, report = train_default_head(data, out, config, limit=limit, cache_dir=cache)
    if as_json:
        print(json.dumps({"out": str(out_dir), **report.__dict__}))
    else:
        typer.echo(
            f"trained on {report.n_train} texts (dev {report.n_dev}) in {report.seconds:.0f} s; "
            f"dev macro-F1 by epoch {report.dev_macro_f1_by_epoch}, kept epoch "
            f"{report.best_epoch}; wrote {out_dir}"
        )


def sentiment_eval(
    data: DataOption = None,
    model: ModelOption = None,
    lodo: Annotated[
        bool, typer.Option("--lodo/--no-lodo", help="Also train and test leave-one-domain-out.")
    ] = True,
    limit: LimitOption = 0,
    cache: CacheOption = None,
    tuned_layers: TunedLayersOption = None,
    markdown: Annotated[
        Path | None, typer.Option("--markdown", help="Also write the table to this file.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per table row on stdout.")] = False,
) -> None:
    """Accuracy and macro-F1 per domain and leave-one-domain-out, beside VADER."""
    from callwright.nlp.evaluation import markdown_table, run_evaluation
    from callwright.nlp.training import TrainConfig

    # the recipe of the leave-one-domain-out heads (the held-out rows score --model as shipped)
    config = TrainConfig() if tuned_layers is None else TrainConfig(tuned_layers=tuned_layers)
    rows = run_evaluation(data, model, lodo=lodo, limit=limit, cache_dir=cache, config=config)
    table = markdown_table(rows)
    if markdown is not None:
        markdown.write_text(table)
    if as_json:
        for r in rows:
            print(
                json.dumps(
                    {
                        "protocol": r.protocol,
                        "domain": r.domain,
                        "system": r.system,
                        "n": r.three_class.n,
                        "accuracy": round(r.three_class.accuracy, 4),
                        "macro_f1": round(r.three_class.macro_f1, 4),
                        "n_pos_neg": r.pos_neg.n,
                        "pos_neg_accuracy": round(r.pos_neg.accuracy, 4),
                        "pos_neg_macro_f1": round(r.pos_neg.macro_f1, 4),
                    }
                )
            )
    else:
        typer.echo(table, nl=False)


def register(app: typer.Typer) -> None:
    """Add the sentiment commands to the root app."""
    app.command("sentiment")(sentiment)
    app.command("sentiment-train")(sentiment_train)
    app.command("sentiment-eval")(sentiment_eval)
