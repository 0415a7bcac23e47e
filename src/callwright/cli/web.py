"""`callwright web` (the QA review app) and `callwright users` (its accounts).

Passwords are read from a prompt (hidden, asked twice) or, when stdin is not a terminal, from
its first line; never from an argument (it would land in the shell history and `ps`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from callwright.cli.printable import printable
from callwright.errors import CallwrightError, DataError

DB_HELP = "SQLite database (default: $CALLWRIGHT_DB or callwright.db)."

users_app = typer.Typer(help="Accounts of the QA review web app.", no_args_is_help=True)


def _read_password() -> str:
    from callwright.web.auth import check_password_rules

    if sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    problem = check_password_rules(password)
    if problem:
        raise CallwrightError(f"password: {problem}", hint="type it at the prompt, or give it on stdin")
    return password


@users_app.command("add")
def users_add(
    name: str = typer.Argument(..., help="Account name (letters, digits, . _ @ -)."),
    role: str = typer.Option(..., "--role", help="reviewer, supervisor, agent or admin."),
    agent: str | None = typer.Option(
        None, "--agent", help="For --role agent: the agent's name in the calls (default: NAME)."
    ),
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Add an account; the password is asked for (or read from stdin's first line)."""
    from callwright.store import users
    from callwright.store.db import default_path, open_db
    from callwright.web.auth import USER_NAME, hash_password

    if not USER_NAME.match(name):
        raise DataError(
            f"user name {printable(repr(name))}: use 1-64 letters, digits and . _ @ - "
            "(starting with a letter or digit)"
        )
    try:
        r = users.Role(role.strip().lower())
    except ValueError:
        raise DataError(
            f"--role {printable(repr(role))}: expected one of {', '.join(x.value for x in users.Role)}"
        ) from None
    if agent is not None and r != users.Role.agent:
        raise DataError("--agent is only for --role agent")
    linked = (agent or name) if r == users.Role.agent else None
    database = open_db(db if db is not None else default_path())
    if users.find_user(database, name) is not None:
        raise DataError(f"user {printable(repr(name))} already exists")
    password = _read_password()
    try:
        users.add_user(database, name, r, hash_password(password), linked)
    except ValueError as err:
        raise DataError(str(err)) from None
    typer.echo(printable(f"added {name} ({r.value}" + (f", agent {linked})" if linked else ")")))


@users_app.command("list")
def users_list(db: Path | None = typer.Option(None, "--db", help=DB_HELP)) -> None:
    """The accounts and their roles."""
    from callwright.store import users
    from callwright.store.db import default_path, open_db

    for u in users.list_users(open_db(db if db is not None else default_path())):
        agent = f" agent={u['agent']}" if u["agent"] else ""
        typer.echo(printable(f"{u['name']}\t{u['role']}{agent}\t{u['created_at']}"))


def web(
    db: Path | None = typer.Option(None, "--db", help=DB_HELP),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback by default)."),
    port: int = typer.Option(8080, "--port", min=1, max=65535),
    redacted_audio: Path | None = typer.Option(
        None,
        "--redacted-audio",
        help="Folder of <call id>.redacted.wav copies (qa score --redact-audio) to play.",
    ),
    scorecard: list[Path] = typer.Option(
        [],
        "--scorecard",
        help="Scorecard YAML a database scored before scorecard versions were kept was scored with "
        "(reviews then recompute its scores).",
    ),
    insecure_cookies: bool = typer.Option(
        False, "--insecure-cookies", help="Send the session cookie over plain HTTP to a non-loopback host."
    ),
) -> None:
    """Serve the QA review web app (calls list, call pages with audio, review in place)."""
    import uvicorn

    from callwright.store.db import default_path, open_db
    from callwright.store.reviews import save_scorecards
    from callwright.web.app import create_app

    path = db if db is not None else default_path()
    if not Path(path).is_file():
        raise DataError(f"{path}: no such database", hint="score calls first: callwright qa score PATH ...")
    if scorecard:
        from callwright.qa.scorecard import load_scorecard

        database = open_db(path)
        save_scorecards(database, [load_scorecard(p) for p in scorecard])
        database.conn.close()
    if redacted_audio is not None and not redacted_audio.is_dir():
        raise DataError(f"--redacted-audio {printable(str(redacted_audio))}: no such folder")
    app = create_app(path, redacted_audio_dir=redacted_audio, secure_cookies=not insecure_cookies)
    typer.echo(printable(f"Callwright QA on http://{host}:{port}/ (database {path}); Ctrl-C stops it"))
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)


def register(app: typer.Typer) -> None:
    """Add `callwright web` and `callwright users ...` to the root app."""
    app.command("web")(web)
    app.add_typer(users_app, name="users")
