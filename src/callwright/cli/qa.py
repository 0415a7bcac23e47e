"""`callwright qa`: score recorded calls, show them, review verdicts, calibrate, search.

Parses arguments and prints; the work is in callwright.qa.batch (scoring) and
callwright.store.qa (reading and reviews). Models are imported only by `score`.
Everything printed from the database or the inputs goes through `printable`
(no terminal escapes, NUL or bidi controls reach the console), and every JSON
output is strict (no NaN or Infinity, which JSON does not have).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from callwright.cli.options import LANGUAGE_HELP, MODEL_HELP
from callwright.cli.printable import printable
from callwright.errors import CallwrightError, DataError

qa_app = typer.Typer(
    help="Call QA: score recordings against scorecards, review and calibrate.", no_args_is_help=True
)

DB_HELP = "SQLite database (default: $CALLWRIGHT_DB or callwright.db)."

EXIT_OK = 0
"""`qa score`: every input was scored, or skipped (already scored, or the same recording twice)."""
EXIT_NOTHING_SCORED = 1
"""`qa score`: nothing was scored: no input found, every input failed, or the batch was stopped (a bad
scorecard or manifest, a database that cannot be written or was deleted). The same code as every
user error."""
EXIT_SOME_FAILED = 3
"""`qa score`: some inputs were scored and some failed (listed, and in `callwright qa errors`)."""


def _json(value: Any, **kwargs: Any) -> str:
    """Strict JSON: NaN and Infinity are not JSON, so a value that is one is an error, not output."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, **kwargs)
    except ValueError as err:
        raise CallwrightError(
            f"cannot print JSON: {err}", hint="a stored number is not finite; please report this"
        ) from None


class Engine(StrEnum):
    auto = "auto"
    whisper = "whisper"
    vosk = "vosk"


class ReviewVerdict(StrEnum):
    pass_ = "pass"
    fail = "fail"
    na = "na"


def _open(db: Path | None, *, must_exist: bool = True) -> Any:
    from callwright.store.db import default_path, open_db

    path = db if db is not None else default_path()
    if must_exist and not Path(path).is_file():
        raise DataError(f"{path}: no such database", hint="score calls first: callwright qa score PATH ...")
    return open_db(path)


# -- score ---------------------------------------------------------------------------------------------


@qa_app.command("score")
def score_cmd(
    paths: list[Path] = typer.Argument(..., help="Recordings, imported transcripts (.json) or folders."),
    scorecard: list[Path] = typer.Option(
        ...,
        "--scorecard",
        help="Scorecard YAML (see docs/scorecards.md); repeat it to score inbound and outbound calls "
        "in one batch, each call with the scorecard for its direction.",
    ),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes (one core each)."),
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    manifest: Path | None = typer.Option(None, "--manifest", help="CSV or JSON manifest of call metadata."),
    engine: Engine = typer.Option(Engine.auto, "--engine", help="Speech recogniser."),
    model: str | None = typer.Option(None, "--model", help=MODEL_HELP),
    language: str | None = typer.Option(None, "--language", help=LANGUAGE_HELP),
    redact_audio: Path | None = typer.Option(
        None, "--redact-audio", help="Also write redacted copies of the recordings into this folder."
    ),
    second_listen: bool = typer.Option(
        True,
        "--second-listen/--no-second-listen",
        help="Hear again the utterances closest to a missed phrase, primed with it (slower, fewer misses).",
    ),
    cluster: str | None = typer.Option(
        None,
        "--cluster",
        help="Score on a Ray cluster: ray://HOST:PORT (its head's client port) or 'auto' (a local one); "
        "the database stays here (docs/qa.md).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary instead of a table."),
) -> None:
    """Transcribe, redact, measure and score calls into the database; already scored calls are skipped."""
    from callwright.qa.scorecard import load_scorecard
    from callwright.speech.asr.factory import with_model
    from callwright.speech.asr.languages import check_language
    from callwright.speech.asr.registry import engine_languages
    from callwright.store.db import default_path
    from callwright.store.qa_batch import score_batch

    cards = [load_scorecard(p) for p in scorecard]
    db_path = db if db is not None else default_path()
    spec = with_model(engine.value, model)
    if language is not None:  # before any work; a model that does not say is checked per call
        languages, name = engine_languages(spec)
        language = check_language(language, languages, field="--language", model=name)
    options: dict[str, Any] = dict(
        workers=workers,
        engine=spec,
        language=language,
        manifest=manifest,
        redact_audio_dir=redact_audio,
        second_listen=second_listen,
        cluster=cluster,
    )
    if as_json:
        summary = score_batch(paths, cards, db_path, **options)
        typer.echo(_json(summary.to_json()))
        _exit_for(summary, paths)
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]scoring"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=None)

        def tick(p: Any) -> None:
            bar.update(task, total=p.total, completed=p.done, description=Path(p.last.path).name)

        summary = score_batch(paths, cards, db_path, progress=tick, **options)
    _print_summary(summary, db_path)
    _exit_for(summary, paths)


def _exit_for(summary: Any, paths: list[Path]) -> None:
    """Exit with `EXIT_NOTHING_SCORED` or `EXIT_SOME_FAILED` (saying why on stderr) unless all went well."""
    from callwright.qa.ingest import AUDIO_EXTENSIONS, TRANSCRIPT_EXTENSIONS

    scored, skipped, failed = (len(summary.of(s)) for s in ("scored", "skipped", "error"))
    done = scored + sum(1 for c in summary.of("skipped") if c.recording_id is not None)
    if failed == 0 and done:
        return
    if failed and done:
        typer.secho(
            f"error: {failed} of {len(summary.calls)} input(s) could not be scored (see above, "
            "or callwright qa errors)",
            err=True,
            fg=typer.colors.RED,
        )
        raise typer.Exit(EXIT_SOME_FAILED)
    where = ", ".join(printable(p) for p in paths)
    if failed:
        why = f"every input failed ({failed} error(s), listed above and in callwright qa errors)"
    elif skipped:
        why = f"no recording or transcript to score in {where} ({skipped} entry(ies) skipped, see above)"
    else:
        kinds = ", ".join(sorted(AUDIO_EXTENSIONS | TRANSCRIPT_EXTENSIONS))
        why = f"no recording or transcript found in {where} (looked for {kinds})"
    typer.secho(f"error: nothing was scored: {why}", err=True, fg=typer.colors.RED)
    raise typer.Exit(EXIT_NOTHING_SCORED)


def _print_summary(summary: Any, db_path: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(emoji=False)
    table = Table(title=printable(f"{summary.scorecard} ({summary.scorecard_version})", markup=True))
    for col in ("input", "status", "call", "score", "note"):
        table.add_column(col)
    for c in summary.calls:
        score = "" if c.score is None else f"{c.score:.1f}" + (" AUTO-FAIL" if c.auto_failed else "")
        table.add_row(
            printable(Path(c.path).name, markup=True),
            c.status,
            printable(c.call_id or "", markup=True),
            score,
            printable(c.reason or c.note or "", markup=True, newlines=True),
        )
    console.print(table)
    console.print(
        f"{len(summary.of('scored'))} scored, {len(summary.of('skipped'))} skipped, "
        f"{len(summary.of('error'))} error(s) in {summary.wall_s:.1f} s -> "
        f"{printable(db_path, markup=True)}"
    )


# -- show ----------------------------------------------------------------------------------------------


def _call_view(db: Any, ref: str) -> dict[str, Any]:
    from callwright.store import qa as store

    call_id = store.find_call(db, ref)
    view = store.call_view(db, call_id) if call_id else None
    if view is None:
        raise DataError(
            f"no call {printable(repr(ref))} in the database", hint="give a call id or a recording id"
        )
    return view


def _quarters(view: dict[str, Any]) -> dict[str, list[float | None]]:
    from callwright.qa.model import Transcript, Utterance
    from callwright.qa.pipeline import sentiment_by_quarter

    utts = [
        Utterance(
            u["speaker"],
            u["start"],
            u["end"],
            u["text"],
            sentiment=u["sentiment"],
            sentiment_label=u["sentiment_label"],
        )
        for u in view["utterances"]
    ]
    duration = view["call"].get("duration_s") or max((u.end for u in utts), default=0.0)
    return sentiment_by_quarter(Transcript(view["call"]["id"], duration, utts))


@qa_app.command("show")
def show_cmd(
    call: str = typer.Argument(..., help="Call id or recording id."),
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """A scored call: transcript with times, speakers and sentiment; every item with its evidence and
    any reviews beside the automatic verdict."""
    view = _call_view(_open(db), call)
    view["sentiment_by_quarter"] = _quarters(view)
    # Beside the automatic results: the score and verdicts of record (a reviewer's, recomputed).
    record = {r["scorecard_version"]: r for r in view.pop("scores_of_record")}
    for s in view["scores"]:
        r = record.get(s["scorecard_version"], {})
        s["score_of_record"] = r.get("score", s["score"])
        s["auto_failed_of_record"] = r.get("auto_failed", s["auto_failed"])
        s["reviewed"] = r.get("reviewed", 0)
    items_of_record = {(r["scorecard_version"], r["item_id"]): r for r in view.pop("items_of_record")}
    for it in view["items"]:
        it["evidence"] = json.loads(it["evidence"] or "[]")
        it["reviews"] = [
            r
            for r in view["reviews"]
            if r["item_id"] == it["item_id"] and r["scorecard_version"] == it["scorecard_version"]
        ]
        it["verdict_of_record"] = items_of_record.get((it["scorecard_version"], it["item_id"]), it)["verdict"]
    if as_json:
        typer.echo(_json(view, default=str))
        return
    _print_call(view)


def _fmt_time(t: float | None) -> str:
    return "" if t is None else f"{int(t // 60):d}:{t % 60:04.1f}"


def _print_call(view: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    def p(value: Any) -> str:
        return printable(value, markup=True)

    console = Console(emoji=False)
    c = view["call"]
    console.print(
        f"[bold]{p(c['id'])}[/bold]  {p(c.get('direction') or '')}  "
        f"agent {p(c.get('agent') or '-')}  "
        f"{(c.get('duration_s') or 0):.1f} s  {p(c.get('recording_path') or '')}"
    )
    rec = view.get("recording") or {}
    if rec.get("language"):
        from callwright.qa.scorecard.assignment import LANGUAGE_CHOICE_MIN

        prob = rec.get("language_probability")
        how = "" if prob is None else f" (detected, probability {prob:.2f})"
        if prob is not None and prob < LANGUAGE_CHOICE_MIN:
            how = (
                f" (detected, probability {prob:.2f}: under {LANGUAGE_CHOICE_MIN:.2f}, "
                "not used to choose the scorecard or in applies_if)"
            )
        console.print(f"language {p(rec['language'])}{how}")
    for s in view["scores"]:
        fail = "  [red]AUTO-FAILED[/red]" if s["auto_failed_of_record"] else ""
        score = "-" if s["score_of_record"] is None else f"{s['score_of_record']:.1f}"
        auto = "-" if s["score"] is None else f"{s['score']:.1f}"
        auto += " auto-failed" if s["auto_failed"] else ""
        how = f" (reviewed; automatic {auto})" if s["reviewed"] else ""
        console.print(f"{p(s['scorecard'])} ({p(s['scorecard_version'])}): score {score}{fail}{how}")
    q = view["sentiment_by_quarter"]
    for role, values in q.items():
        console.print(
            f"sentiment {p(role)} by quarter: " + "  ".join("-" if v is None else f"{v:+.2f}" for v in values)
        )
    t = Table(title="transcript")
    for col in ("time", "speaker", "sentiment", "text"):
        t.add_column(col)
    for u in view["utterances"]:
        senti = "" if u["sentiment"] is None else f"{u['sentiment']:+.2f} {p(u['sentiment_label'])}"
        t.add_row(f"{_fmt_time(u['start'])}-{_fmt_time(u['end'])}", p(u["speaker"]), senti, p(u["text"]))
    console.print(t)
    items = Table(title="scorecard items")
    for col in ("item", "kind", "verdict", "points", "evidence", "review"):
        items.add_column(col)
    for it in view["items"]:
        evidence = "\n".join(p(_evidence_line(e)) for e in it["evidence"])
        review = "\n".join(f"{p(r['verdict'])} by {p(r['reviewer'])}: {p(r['note'])}" for r in it["reviews"])
        record = it["verdict_of_record"]
        items.add_row(
            p(it["item_id"]),
            p(it["kind"]),
            p(it["verdict"])
            + (" (auto-fail)" if it["auto_fail"] else "")
            + (f" -> {p(record)} (reviewed)" if record != it["verdict"] else ""),
            f"{it['points']:g}/{it['max_points']:g}",
            evidence,
            review,
        )
    console.print(items)


def _evidence_line(e: dict[str, Any]) -> str:
    parts = []
    if e.get("start") is not None:
        parts.append(f"[{_fmt_time(e['start'])}]")
    if e.get("speaker"):
        parts.append(f"{e['speaker']}:")
    if e.get("text"):
        parts.append(f'"{_marked_span(e)}"')
    if e.get("similarity") is not None:
        parts.append(f"sim {e['similarity']:.2f}")
    if e.get("note"):
        parts.append(e["note"])
    return " ".join(parts)


# -- review, calibration, search, errors -----------------------------------------------------------------


@qa_app.command("review")
def review_cmd(
    call: str = typer.Argument(..., help="Call id or recording id."),
    item: str = typer.Option(..., "--item", help="Scorecard item id."),
    verdict: ReviewVerdict = typer.Option(..., "--verdict", help="The reviewer's verdict."),
    note: str = typer.Option("", "--note", help="Why."),
    reviewer: str = typer.Option(..., "--reviewer", help="Who reviewed."),
    scorecard: Path | None = typer.Option(
        None,
        "--scorecard",
        help="The scorecard YAML the call was scored with, for a database scored before scorecard "
        "versions were kept (then the score of record can be recomputed).",
    ),
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the stored review as JSON."),
) -> None:
    """Store a reviewer's verdict beside the automatic one (which stays visible) and recompute the
    call's score of record with the scorecard's rules (auto-fail included)."""
    from callwright.store import reviews

    database = _open(db)
    call_id = _call_view(database, call)["call"]["id"]
    if not reviewer.strip():
        raise DataError("--reviewer: give the reviewer's name")
    if scorecard is not None:
        from callwright.qa.scorecard import load_scorecard

        reviews.save_scorecards(database, [load_scorecard(scorecard)])
    try:
        out = reviews.record_review(database, call_id, item, verdict.value, note, reviewer.strip())
    except reviews.ReviewError as err:
        items = [r["item_id"] for r in _call_view(database, call_id)["items"]]
        raise DataError(f"--item: {err}", hint=f"items: {', '.join(dict.fromkeys(items))}") from None
    row = database["reviews"].get(out.review_id)
    if not out.recomputed:
        typer.secho(
            f"warning: scorecard version {out.scorecard_version} is not kept in the database, so the "
            "score of record was not recomputed; give --scorecard FILE (the scorecard it was scored with)",
            err=True,
            fg=typer.colors.YELLOW,
        )
    if as_json:
        typer.echo(
            _json(
                {
                    "review": row,
                    "automatic": out.automatic,
                    "recomputed": out.recomputed,
                    "score_of_record": out.score,
                    "auto_failed_of_record": out.auto_failed,
                }
            )
        )
    else:
        score = "-" if out.score is None else f"{out.score:.1f}" + (" AUTO-FAILED" if out.auto_failed else "")
        typer.echo(
            printable(
                f"{call_id} {item}: reviewer {row['verdict']} (automatic {out.automatic}); "
                f"score of record {score}"
            )
        )


@qa_app.command("calibration")
def calibration_cmd(
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON rows."),
    by_version: bool = typer.Option(
        False,
        "--by-version",
        help="Per scorecard version: machine against human and reviewer against reviewer, with "
        "Cohen's kappa; manual items apart.",
    ),
) -> None:
    """Per scorecard item: how often the automatic verdict agrees with the latest human review."""
    from callwright.store import qa as store

    if by_version:
        _calibration_by_version(_open(db), as_json)
        return
    rows = store.calibration(_open(db))
    if as_json:
        typer.echo(_json(rows))
        return
    if not rows:
        typer.echo("no reviews yet")
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title="automatic vs human verdicts")
    for col in ("item", "reviewed", "agreed", "agreement", "auto pass/human fail", "auto fail/human pass"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            printable(r["item_id"], markup=True),
            str(r["reviewed"]),
            str(r["agreed"]),
            f"{r['agreement']:.0%}",
            str(r["auto_pass_human_fail"]),
            str(r["auto_fail_human_pass"]),
        )
    Console(emoji=False).print(t)


def _calibration_by_version(database: Any, as_json: bool) -> None:
    from dataclasses import asdict

    from callwright.store import reviews
    from callwright.web.calibration import calibrate

    results = calibrate(reviews.calibration_verdicts(database))
    if as_json:
        typer.echo(_json([asdict(c) for c in results]))
        return
    if not results:
        typer.echo("no reviews yet")
        return
    from rich.console import Console
    from rich.table import Table

    def pct(a: Any) -> str:
        return "-" if a.rate is None else f"{a.rate:.0%}"

    def kappa(a: Any) -> str:
        return "-" if a.kappa is None else f"{a.kappa:.2f}"

    t = Table(title="calibration per scorecard version (kappa: Cohen's)")
    columns = ("version", "item", "manual", "reviewed", "machine agrees", "kappa")
    for col in (*columns, "pairs", "reviewers agree", "kappa"):
        t.add_column(col)
    for c in results:
        auto, peers = c.auto_vs_human, c.reviewer_vs_reviewer
        t.add_row(
            printable(c.scorecard_version[:12], markup=True),
            printable(c.item_id, markup=True),
            "yes" if c.manual else "",
            "" if c.manual else str(auto.n),
            "" if c.manual else pct(auto),
            "" if c.manual else kappa(auto),
            str(peers.n),
            pct(peers),
            kappa(peers),
        )
    Console(emoji=False).print(t)


@qa_app.command("search")
def search_cmd(
    words: list[str] = typer.Argument(
        ...,
        help='Words and "quoted phrases" (one argument or several), all of which must be said; '
        "word* matches a prefix.",
    ),
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    limit: int = typer.Option(50, "--limit", min=1),
    as_json: bool = typer.Option(False, "--json", help="Print JSON rows."),
) -> None:
    """Find utterances by their (redacted) words."""
    from callwright.store import qa as store

    text = " ".join(words)

    if not store.fts_query(text):
        raise DataError(
            f"search {printable(repr(text))}: nothing to search for",
            hint='give words or a quoted phrase: "recorded line"',
        )
    rows = store.search_utterances(_open(db), text, limit)
    if as_json:
        typer.echo(_json(rows))
        return
    for r in rows:
        typer.echo(printable(f"{r['call_id']}  {_fmt_time(r['start'])}  {r['speaker']}: {r['text']}"))
    if not rows:
        typer.echo("no utterance matches")


@qa_app.command("errors")
def errors_cmd(
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON rows."),
) -> None:
    """Inputs that could not be scored, with the reason."""
    from callwright.store import qa as store

    rows = store.errors(_open(db))
    if as_json:
        typer.echo(_json(rows))
        return
    for r in rows:
        typer.echo(printable(f"{r['path']}: {r['error']}", newlines=True))


# -- matched words, check, rescore, list ----------------------------------------------------------------

SPAN_CONTEXT = 30
"""Characters shown either side of the matched words in `qa show` (the whole text is in --json)."""


def _marked_span(e: dict[str, Any], width: int = 80) -> str:
    """The evidence text with the matched words in [brackets], cut around them to fit `width`."""
    text = e["text"]
    span = e.get("span_chars")
    if not (isinstance(span, list | tuple) and len(span) == 2 and 0 <= span[0] <= span[1] <= len(text)):
        return text[:width]
    a, b = int(span[0]), int(span[1])
    lead = text[max(0, a - SPAN_CONTEXT) : a]
    tail = text[b : b + SPAN_CONTEXT]
    return (
        ("…" if a > SPAN_CONTEXT else "")
        + f"{lead}[{text[a:b]}]{tail}"
        + ("…" if b + SPAN_CONTEXT < len(text) else "")
    )


@qa_app.command("check")
def check_cmd(
    scorecards: list[Path] = typer.Argument(..., help="Scorecard YAML files to validate."),
    batch: bool = typer.Option(
        False, "--batch", help="Also check they can score one batch together (per direction or assign_if)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per scorecard."),
) -> None:
    """Validate scorecards without scoring anything: every error at its line and column (exit 1),
    else a summary of each (items by kind, version hash, placeholders, assign_if)."""
    from callwright.qa.scorecard import load_scorecard
    from callwright.qa.scorecard.assignment import check_scorecards
    from callwright.qa.scorecard.model import OrderRule, PhraseRule
    from callwright.qa.scorecard.placeholders import names

    errors = []
    cards = []
    for path in scorecards:
        try:
            cards.append(load_scorecard(path))
        except DataError as err:
            errors.append(err.message)  # the hint once, below, not once per scorecard
    if errors:
        raise DataError("\n".join(errors), hint="see docs/scorecards.md for the format")
    if batch:
        check_scorecards(cards)  # the same rule as `qa score` given these scorecards
    out: list[dict[str, Any]] = []
    for card in cards:
        kinds: dict[str, int] = {}
        used: set[str] = set()
        for it in card.items:
            kinds[it.kind] = kinds.get(it.kind, 0) + 1
            rules = [it.rule] if isinstance(it.rule, PhraseRule) else []
            if isinstance(it.rule, OrderRule):
                rules = [it.rule.first, it.rule.then]
            used.update(n for r in rules for p in (*r.phrases, *r.not_phrases) for n, _ in names(p))
        out.append(
            {
                "path": card.path,
                "scorecard": card.id,
                "version": card.version,
                "revision": card.revision,
                "applies_to": card.applies_to,
                "assign_if": card.assign_if.source if card.assign_if else None,
                "sections": len(card.sections),
                "items": kinds,
                "placeholders": sorted(used),
            }
        )
    if as_json:
        typer.echo(_json(out if len(out) > 1 else out[0]))
        return
    for c in out:
        items = ", ".join(f"{n} {k}" for k, n in c["items"].items())
        extra = (
            f"; placeholders {', '.join('{' + n + '}' for n in c['placeholders'])}"
            if c["placeholders"]
            else ""
        )
        assign = f"; assigned when {c['assign_if']}" if c["assign_if"] else ""
        typer.echo(
            printable(
                f"{c['path']}: ok: {c['scorecard']} version {c['version']}, "
                f"for {c['applies_to']} calls{assign}; {c['sections']} sections, {items}{extra}"
            )
        )


@qa_app.command("rescore")
def rescore_cmd(
    scorecard: list[Path] = typer.Option(
        ..., "--scorecard", help="Scorecard YAML (repeat it: each call gets the one chosen for it)."
    ),
    call: list[str] = typer.Option([], "--call", help="Only these calls (ids); repeat it."),
    scored_with: str | None = typer.Option(
        None, "--scored-with", help="Only calls scored before with this scorecard id."
    ),
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Score stored transcripts again with a new scorecard (version) without transcribing again.

    The stored (redacted) transcript, sentiment and metrics are read back and scored; the result is
    stored beside the earlier ones (keyed by the new version), so `qa show` lists both. A call already
    scored with this version is skipped. Word times are not stored, so matched-span times are
    interpolated; longest dead air / hold are not stored, so such metric items are left for review."""
    from callwright.qa.rescore import rescore
    from callwright.qa.scorecard import load_scorecard
    from callwright.qa.scorecard.assignment import check_scorecards, choose_scorecard, transcript_language
    from callwright.qa.scorecard.scoring import default_matcher
    from callwright.store import qa as store

    cards = check_scorecards([load_scorecard(p) for p in scorecard])
    database = _open(db)
    ids = store.stored_call_ids(database, call_ids=call or None, scorecard=scored_with)
    if scored_with is not None and not ids:
        raise DataError(
            "--scored-with: nothing to rescore" + _unknown_filters(database, {"scorecard": scored_with}),
            hint="give a scorecard id that scored calls before (callwright qa list)",
        )
    missing = sorted(set(call) - set(ids))
    if missing:
        raise DataError(
            f"--call: no stored transcript for {printable(', '.join(missing))}",
            hint="give ids of calls scored before (callwright qa list)",
        )
    done: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    matcher = default_matcher()
    for call_id in ids:
        recording_id, meta, transcript, metrics = store.stored_call(database, call_id)
        if meta.language is None:  # as stored: told, the model's, or detected sure enough
            meta = dataclasses.replace(meta, language=transcript_language(transcript, meta))
        try:
            card = choose_scorecard(cards, meta)
        except DataError as err:
            skipped.append({"call_id": call_id, "reason": err.message})
            continue
        readings = store.stored_second_readings(database, call_id)
        result = rescore(card, transcript, metrics, meta, matcher, readings, store.RESCORE_GAPS)
        if store.save_rescore(database, recording_id, result):
            done.append(
                {"call_id": call_id, "scorecard": card.id, "version": card.version, "score": result.score}
            )
        else:
            skipped.append({"call_id": call_id, "reason": f"already scored with {card.id} {card.version}"})
    if as_json:
        typer.echo(_json({"rescored": len(done), "skipped": skipped, "calls": done}))
        return
    for d in done:
        score_text = "-" if d["score"] is None else f"{d['score']:.1f}"
        typer.echo(printable(f"{d['call_id']}: {d['scorecard']} {d['version']}: score {score_text}"))
    for sk in skipped:
        typer.echo(printable(f"{sk['call_id']}: skipped: {sk['reason']}"))
    typer.echo(f"rescored {len(done)} call(s), skipped {len(skipped)}")


class ListVerdict(StrEnum):
    pass_ = "pass"
    fail = "fail"
    na = "na"
    review = "review"


def _unknown_filters(database: Any, filters: dict[str, str | None]) -> str:
    """Why nothing matched, when a filter names a value no stored call has (a typo: `complaint`
    for `complaints`), with a did-you-mean; "" when every value given is known."""
    import difflib

    from callwright.store import qa as store

    said = []
    for what, value in filters.items():
        if value is None:
            continue
        known = store.known_values(database, what)
        if value in known:
            continue
        guess = difflib.get_close_matches(value, known, n=1, cutoff=0.6)
        maybe = f" (did you mean '{guess[0]}'?)" if guess else ""
        said.append(f"no stored call has {what} {printable(repr(value))}{maybe}")
    return (": " + "; ".join(said)) if said else ""


def _when(value: str | None, option: str) -> datetime | None:
    """An ISO date or time from the command line; with an offset (Z, +02:00) it is an instant,
    without one a wall-clock time compared with each call's local time (store.qa.list_scores)."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise DataError(
            f"{option} {printable(repr(value))}: not an ISO date or time",
            hint=f"e.g. {option} 2024-05-06, {option} '2024-05-06 14:00' or {option} 2024-05-06T14:00+02:00",
        ) from None


@qa_app.command("list")
def list_cmd(
    scorecard: str | None = typer.Option(None, "--scorecard", help="Scorecard id."),
    agent: str | None = typer.Option(None, "--agent"),
    queue: str | None = typer.Option(None, "--queue"),
    campaign: str | None = typer.Option(None, "--campaign"),
    direction: str | None = typer.Option(None, "--direction", help="inbound or outbound."),
    min_score: float | None = typer.Option(None, "--min-score", min=0, max=100),
    max_score: float | None = typer.Option(None, "--max-score", min=0, max=100),
    auto_failed: bool | None = typer.Option(None, "--auto-failed/--not-auto-failed"),
    item: str | None = typer.Option(None, "--item", help="Only calls where this item was scored..."),
    verdict: ListVerdict | None = typer.Option(
        None, "--verdict", help="...with this verdict (needs --item)."
    ),
    since: str | None = typer.Option(
        None, "--since", help="Calls started at or after: an ISO date or time, with an offset for an instant."
    ),
    until: str | None = typer.Option(None, "--until", help="Calls started before (as --since)."),
    limit: int = typer.Option(100, "--limit", min=1, max=10_000),
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON rows."),
) -> None:
    """Scored calls with their latest score per scorecard, newest first, filtered."""
    from callwright.store import qa as store

    if verdict is not None and item is None:
        raise DataError("--verdict needs --item", hint="e.g. --item verify-identity --verdict fail")
    if direction is not None and direction not in ("inbound", "outbound"):
        raise DataError(f"--direction must be inbound or outbound, not {printable(repr(direction))}")
    if min_score is not None and max_score is not None and min_score > max_score:
        raise DataError(f"--min-score {min_score:g} is above --max-score {max_score:g}: nothing could match")
    rows = store.list_scores(
        _open(db),
        scorecard=scorecard,
        agent=agent,
        queue=queue,
        campaign=campaign,
        direction=direction,
        min_score=min_score,
        max_score=max_score,
        auto_failed=auto_failed,
        item=item,
        verdict=verdict.value if verdict else None,
        since=_when(since, "--since"),
        until=_when(until, "--until"),
        limit=limit,
    )
    if as_json:
        typer.echo(_json(rows))
        return
    if not rows:
        filters = {"scorecard": scorecard, "agent": agent, "queue": queue, "campaign": campaign, "item": item}
        typer.echo("no scored calls match" + _unknown_filters(_open(db), filters))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"{len(rows)} scored call(s)")
    for col in ("call", "started", "agent", "queue", "scorecard", "score"):
        t.add_column(col)
    for r in rows:
        score_text = "-" if r["score"] is None else f"{r['score']:.1f}"
        if r["auto_failed"]:
            score_text += " AUTO-FAILED"
        t.add_row(
            *(printable(r[k] or "", markup=True) for k in ("call_id", "started_at", "agent", "queue")),
            printable(f"{r['scorecard']} {r['scorecard_version']}", markup=True),
            score_text,
        )
    Console(emoji=False).print(t)


def register(app: typer.Typer) -> None:
    """Add `callwright qa ...` to the root app."""
    app.add_typer(qa_app, name="qa")
