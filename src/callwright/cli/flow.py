"""`callwright flow check|test|graph`: tools for flow designers."""

from __future__ import annotations

import json
from pathlib import Path

import typer

flow_app = typer.Typer(help="Check, test and draw call flows.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(flow_app, name="flow")


@flow_app.command("check")
def check(
    files: list[Path] = typer.Argument(..., help="Flow files (YAML) to check."),
    as_json: bool = typer.Option(False, "--json", help="Print problems as JSON lines."),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 on warnings too."),
) -> None:
    """Report every problem as path:line:col: error|warning: message; exit 2 on errors."""
    from callwright.flows.checker import check_file

    errors = warnings = 0
    for f in files:
        for p in check_file(f):
            if as_json:
                typer.echo(
                    json.dumps(
                        {
                            "path": p.path,
                            "line": p.line,
                            "col": p.col,
                            "severity": p.severity,
                            "message": p.message,
                        }
                    )
                )
            else:
                typer.echo(str(p))
            errors += p.severity == "error"
            warnings += p.severity == "warning"
    if not as_json:
        typer.echo(f"{len(files)} file(s): {errors} error(s), {warnings} warning(s)", err=True)
    if errors:
        raise typer.Exit(2)  # as `callwright call` refusing a broken flow
    if strict and warnings:
        raise typer.Exit(1)


@flow_app.command("test")
def test(
    paths: list[Path] = typer.Argument(..., help="Flow test files, or folders holding *.test.yaml."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON result per scenario."),
    coverage: bool = typer.Option(
        True, "--coverage/--no-coverage", help="Report which states and edges the scenarios covered."
    ),
) -> None:
    """Run flow test scenarios; show a readable diff on failure and exit 1."""
    from callwright.ivr.testing import collect_test_files, run_test_files

    files = collect_test_files(paths)
    report = run_test_files(files)
    for r in report.results:
        if as_json:
            typer.echo(json.dumps(r.as_dict()))
        else:
            mark = (
                typer.style("PASS", fg=typer.colors.GREEN)
                if r.passed
                else typer.style("FAIL", fg=typer.colors.RED)
            )
            typer.echo(f"{mark} {r.file}::{r.name}")
            if not r.passed:
                typer.echo(r.explain())
    if coverage and not as_json:
        for cov in report.coverage:
            typer.echo(cov.summary())
    passed = sum(r.passed for r in report.results)
    if not as_json:
        typer.echo(f"{passed} passed, {len(report.results) - passed} failed")
    if passed != len(report.results) or not report.results:
        raise typer.Exit(1)


@flow_app.command("graph")
def graph(
    flow: Path = typer.Argument(..., help="Flow file."),
    output: Path = typer.Option(..., "-o", "--output", help="out.svg, out.png, out.dot or out.mmd"),
) -> None:
    """Draw the flow: states, choices, and the retry and timeout edges."""
    from callwright.flows.graph import write_graph
    from callwright.flows.loader import load_flow

    write_graph(load_flow(flow), output)
    typer.echo(f"wrote {output}", err=True)


@flow_app.command("intents")
def intents(
    flow: Path = typer.Argument(..., help="Flow file."),
    limit: float = typer.Option(
        0.8, "--limit", min=0.0, max=1.0, help="Report examples of different choices at least this similar."
    ),
) -> None:
    """Report menu examples of different choices too close for free speech to tell apart."""
    from callwright.flows.loader import load_flow
    from callwright.flows.model import Ask, Choice
    from callwright.ivr.intents import too_close
    from callwright.textsafe import safe_text

    loaded = load_flow(flow)

    def where(choice: Choice, text: str) -> tuple[str | int, ...]:
        if text in choice.examples:
            return choice.path + ("examples", choice.examples.index(text))
        return choice.path + ("speech", choice.speech.index(text))

    found = 0
    for st in loaded.states.values():
        if not isinstance(st, Ask) or not any(c.examples for c in st.answer.choices):
            continue
        by_id = {c.id: c for c in st.answer.choices}
        for pair in too_close(st.answer.choices, limit):
            found += 1
            problem = loaded.source.problem(
                where(by_id[pair.choice_a], pair.example_a),
                "warning",
                f"in '{st.name}', \"{pair.example_a}\" (choice {pair.choice_a}) is too close to "
                f'"{pair.example_b}" (choice {pair.choice_b}): similarity {pair.similarity:.2f} '
                f"(limit {limit:.2f}); callers saying something like it may be asked again",
            )
            typer.echo(safe_text(str(problem)))
    typer.echo(f"{flow}: {found} pair(s) of examples too close", err=True)
