"""The review app as an ASGI application: `create_app(db_path)` (what `callwright web` runs and
`callwright serve` can mount).

Every page needs a session (a signed cookie naming a server-side session row); every POST needs
the session's CSRF token. Pages without a session redirect to the sign-in page; the recording and
other non-page requests get 401. An agent account sees only calls whose `calls.agent` is its own
(403 otherwise) and cannot review. Database work runs in Starlette's thread pool on one SQLite
connection per thread (store.db.open_db: WAL, so readers never wait for the reviewer writing).
"""

from __future__ import annotations

import math
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
import sqlite_utils
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from callwright.store import reviews, users
from callwright.textsafe import safe_text
from callwright.web import auth, calibration_sessions, dashboard, low_confidence
from callwright.web.highlight import pieces, span_start

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "cw_session"
LOGIN_COOKIE = "cw_login"  # the sign-in form's CSRF token (double submit: there is no session yet)
SESSION_HOURS = 8.0
"""A session ends this long after sign-in (a working day)."""
MAX_FORM_BYTES = 64 * 1024
"""A form larger than this is refused (a review note is at most store.reviews.MAX_NOTE_CHARS)."""
AUDIO_TYPES = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".flac": "audio/flac"}
SECOND_LISTEN_NOTE = "heard again at "
MAX_FAILED_SIGN_INS = 5
SIGN_IN_WINDOW_S = 300.0
"""After MAX_FAILED_SIGN_INS wrong passwords for one name within SIGN_IN_WINDOW_S, that name may
not sign in until the oldest failure leaves the window (429): guessing a password is slowed to a
handful of tries per five minutes. Kept in memory per app (a restart forgets it)."""
MAX_TRACKED_NAMES = 10_000
"""How qa.second_listen's evidence note starts: the item passed on a second reading."""

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
# The KPI report is one self-contained file with its own inline styles.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


class _Connections:
    """One open database per worker thread (sqlite3 connections stay in their thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite_utils.Database] = []
        self._lock = threading.Lock()

    def get(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            from callwright.store.db import open_db

            db = open_db(self.path)
            self._local.db = db
            with self._lock:
                self._all.append(db)
        return db

    def close(self) -> None:
        with self._lock:
            for db in self._all:
                try:
                    db.conn.close()
                except sqlite3.ProgrammingError:
                    pass  # opened in a worker thread that is gone: closed when collected
            self._all.clear()


class _SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers.setdefault("Cache-Control", "no-store")
        return response


def _fmt_time(t: float | None) -> str:
    if t is None or not math.isfinite(t):
        return ""
    return f"{int(t // 60)}:{t % 60:04.1f}"


def _fmt_num(v: Any, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


class _Verbatim(str):
    """A value a form sends back as it is (`|verbatim`: hidden fields, a filter's own value): not
    shown to anyone, so not escaped by `_shown` (an escaped call id posted back named no call)."""


def _shown(value: Any) -> Any:
    """Every value a template prints, as `qa show` prints it: control and bidirectional
    characters (U+202E makes a transcript read backwards) become visible escapes. A `Markup`
    (the highlighted transcript) stays markup: the escapes are plain ASCII, no HTML."""
    if isinstance(value, _Verbatim):
        return str(value)  # HTML-escaped all the same (autoescape)
    if isinstance(value, Markup):
        return value if value.isprintable() else Markup(safe_text(str(value), keep_newlines=True))
    if isinstance(value, str):
        return safe_text(value, keep_newlines=True)
    return value


def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every template is HTML
        undefined=jinja2.StrictUndefined,
        finalize=_shown,
    )
    env.filters["qid"] = lambda v: quote(str(v), safe="")
    env.filters["verbatim"] = _Verbatim
    env.filters["t"] = _fmt_time
    env.filters["num"] = _fmt_num
    env.globals["pieces"] = pieces
    env.globals["span_start"] = span_start
    return env


class ReviewApp:
    """The routes and what they share: the database, templates and settings."""

    def __init__(
        self,
        db_path: Path,
        *,
        redacted_audio_dir: Path | None,
        secure_cookies: bool,
        session_hours: float,
        root_path: str,
    ) -> None:
        self.dbs = _Connections(db_path)
        self.redacted_audio_dir = redacted_audio_dir
        self.secure_cookies = secure_cookies
        self.session_lifetime = timedelta(hours=session_hours)
        self.root = root_path.rstrip("/")
        self.env = _templates()
        self.env.globals["root"] = self.root
        self._secret: str | None = None
        self._failures: dict[str, list[float]] = {}
        self._failures_lock = threading.Lock()

    def _throttled(self, name: str) -> float:
        """Seconds until `name` may try again (0: now)."""
        import time

        now = time.monotonic()
        with self._failures_lock:
            recent = [t for t in self._failures.get(name.lower(), []) if now - t < SIGN_IN_WINDOW_S]
            if recent:
                self._failures[name.lower()] = recent
            else:
                self._failures.pop(name.lower(), None)
            if len(recent) < MAX_FAILED_SIGN_INS:
                return 0.0
            return SIGN_IN_WINDOW_S - (now - recent[0])

    def _failed(self, name: str) -> None:
        import time

        with self._failures_lock:
            if len(self._failures) >= MAX_TRACKED_NAMES:
                self._failures.pop(next(iter(self._failures)))
            self._failures.setdefault(name.lower(), []).append(time.monotonic())

    # -- plumbing ---------------------------------------------------------------------------------

    async def db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run `fn(db, *args)` in the thread pool with that thread's connection."""
        return await run_in_threadpool(lambda: fn(self.dbs.get(), *args, **kwargs))

    def secret(self) -> str:
        if self._secret is None:
            self._secret = users.web_secret(self.dbs.get())
        return self._secret

    def page(self, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(self.env.get_template(name).render(**context), status_code=status_code)

    def url(self, path: str, **query: Any) -> str:
        q = {k: v for k, v in query.items() if v not in (None, "")}
        return f"{self.root}{path}" + (f"?{urlencode(q)}" if q else "")

    async def session(self, request: Request) -> users.Session | None:
        value = request.cookies.get(SESSION_COOKIE)
        if not value:
            return None
        token = auth.unsign(await run_in_threadpool(self.secret), value)
        if token is None:
            return None
        return await self.db(users.get_session, token)

    async def require(self, request: Request, *, page: bool = True) -> users.Session:
        """The request's session; without one a page redirects to sign-in, anything else is 401."""
        s = await self.session(request)
        if s is None:
            if page and request.method == "GET":
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                raise HTTPException(303, headers={"Location": self.url("/login", next=target)})
            raise HTTPException(401, "sign in first")
        return s

    async def form(self, request: Request) -> FormData:
        length = request.headers.get("content-length")
        if length is None or not length.isdigit() or int(length) > MAX_FORM_BYTES:
            raise HTTPException(413, f"a form may have at most {MAX_FORM_BYTES} bytes")
        return await request.form(max_files=0, max_fields=50)

    async def checked_form(self, request: Request, s: users.Session) -> FormData:
        form = await self.form(request)
        if not auth.same_token(s.csrf_token, str(form.get("csrf") or "")):
            raise HTTPException(
                403, "the form's security token is stale or missing: reload the page and try again"
            )
        return form

    def can_see(self, s: users.Session, call: dict[str, Any]) -> bool:
        if s.user.role != users.Role.agent:
            return True
        return s.user.agent is not None and call.get("agent") == s.user.agent

    def base(self, s: users.Session | None, **context: Any) -> dict[str, Any]:
        return {"user": None if s is None else s.user, "csrf": "" if s is None else s.csrf_token, **context}

    # -- sign in and out ------------------------------------------------------------------------------

    async def login_form(self, request: Request) -> Response:
        token = request.cookies.get(LOGIN_COOKIE) or auth.new_token()
        response = self.page(
            "login.html",
            **self.base(None, login_csrf=token, next=_safe_next(request.query_params.get("next"))),
        )
        self._set_cookie(response, LOGIN_COOKIE, token, max_age=3600)
        return response

    async def login(self, request: Request) -> Response:
        form = await self.form(request)
        if not auth.same_token(request.cookies.get(LOGIN_COOKIE), str(form.get("csrf") or "")):
            raise HTTPException(
                403, "the sign-in form's security token is stale: reload the page and try again"
            )
        name = str(form.get("name") or "").strip()[:64]
        password = str(form.get("password") or "")
        wait = self._throttled(name)
        if wait > 0:
            await self.db(users.audit, name or None, "login_throttled")
            raise HTTPException(
                429, f"too many failed sign-ins for this name: try again in {math.ceil(wait / 60)} minute(s)"
            )
        user = await self.db(users.find_user, name) if auth.USER_NAME.match(name) else None
        ok = await run_in_threadpool(
            auth.verify_password, None if user is None else user.password_hash, password
        )
        if not ok or user is None:
            self._failed(name)
            await self.db(users.audit, name or None, "login_failed")
            token = request.cookies.get(LOGIN_COOKIE) or auth.new_token()
            return self.page(
                "login.html",
                401,
                **self.base(None, login_csrf=token, next=_safe_next(str(form.get("next") or "")), error=True),
            )
        token, csrf = auth.new_token(), auth.new_token()

        def start(db: sqlite_utils.Database) -> None:
            users.create_session(db, user, token, csrf, self.session_lifetime)
            users.audit(db, user.name, "login")

        await self.db(start)
        response = RedirectResponse(_safe_next(str(form.get("next") or "")) or self.url("/calls"), 303)
        self._set_cookie(
            response,
            SESSION_COOKIE,
            auth.sign(self.secret(), token),
            max_age=int(self.session_lifetime.total_seconds()),
        )
        response.delete_cookie(LOGIN_COOKIE, path=self.root or "/")
        return response

    async def logout(self, request: Request) -> Response:
        s = await self.require(request, page=False)
        await self.checked_form(request, s)
        token = auth.unsign(self.secret(), request.cookies.get(SESSION_COOKIE))

        def end(db: sqlite_utils.Database) -> None:
            if token:
                users.delete_session(db, token)
            users.audit(db, s.user.name, "logout")

        await self.db(end)
        response = RedirectResponse(self.url("/login"), 303)
        response.delete_cookie(SESSION_COOKIE, path=self.root or "/")
        return response

    def _set_cookie(self, response: Response, name: str, value: str, *, max_age: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=self.root or "/",
            secure=self.secure_cookies,
            httponly=True,
            samesite="strict",
        )

    # -- pages --------------------------------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        await self.require(request)
        return RedirectResponse(self.url("/calls"), 303)

    async def calls(self, request: Request) -> Response:
        from callwright.web.filters import parse_filters

        s = await self.require(request)
        only = None
        if s.user.role == users.Role.agent:
            only = s.user.agent or "\x00no agent linked"
        parsed = parse_filters(request.query_params, only_agent=only)

        def read(db: sqlite_utils.Database) -> dict[str, Any]:
            if parsed.errors:
                result = reviews.CallPage([], 0, 1, 0)
            else:
                result = reviews.list_calls(
                    db, parsed.filter, sort=parsed.sort, desc=parsed.desc, page=parsed.page
                )
            return {
                "result": result,
                "agents": reviews.distinct_values(db, "agent", only),
                "teams": reviews.distinct_values(db, "team", only),
                "queues": reviews.distinct_values(db, "queue", only),
                "scorecards": reviews.scorecards(db),
            }

        data = await self.db(read)
        query = dict(request.query_params)

        def link(**changes: Any) -> str:
            q = {**query, **{k: str(v) for k, v in changes.items()}}
            return self.url("/calls", **q)

        return self.page(
            "calls.html",
            400 if parsed.errors else 200,
            **self.base(s, q=query, parsed=parsed, link=link, **data),
        )

    async def call(self, request: Request) -> Response:
        s = await self.require(request)
        call_id = request.path_params["call_id"]
        view = await self.db(reviews.call_page, call_id)
        if view is None:
            raise HTTPException(404, "no such call")
        if not self.can_see(s, view["call"]):
            raise HTTPException(403, "this call is not yours")
        audio = self.audio_file(call_id, await self.db(reviews.recording_paths, call_id)) is not None
        saved = request.query_params.get("saved")
        replaced = request.query_params.get("replaced")
        replaced_review = None
        if replaced and replaced.isdigit():
            replaced_review = next(
                (h for it in view["items"] for h in it["history"] if h["id"] == int(replaced)), None
            )
        view["trajectory"] = trajectory(view["utterances"], view["call"].get("duration_s"))
        view.update(await self.db(reviews.call_workflow, call_id))
        for it in view["items"]:
            it["second_reading"] = [
                e["note"] for e in it["evidence"] if str(e.get("note", "")).startswith(SECOND_LISTEN_NOTE)
            ]
        return self.page(
            "call.html",
            **self.base(
                s,
                v=view,
                audio=audio,
                saved=saved,
                replaced_review=replaced_review,
                error=request.query_params.get("error"),
                verdicts=reviews.REVIEW_VERDICTS,
            ),
        )

    def audio_file(self, call_id: str, stored: list[str]) -> Path | None:
        """The file to play: the redacted copy when there is one, else the stored recording."""
        if self.redacted_audio_dir is not None:
            base = self.redacted_audio_dir.resolve()
            copy = (base / f"{call_id}.redacted.wav").resolve()
            if copy.parent == base and copy.is_file():
                return copy
        for p in stored:
            path = Path(p)
            if path.suffix.lower() in AUDIO_TYPES and path.is_file():
                return path
        return None

    async def recording(self, request: Request) -> Response:
        s = await self.require(request, page=False)
        call_id = request.path_params["call_id"]
        view = await self.db(
            lambda db: next(iter(db.query("select id, agent from calls where id = ?", [call_id])), None)
        )
        if view is None:
            raise HTTPException(404, "no such call")
        if not self.can_see(s, view):
            raise HTTPException(403, "this call is not yours")
        path = self.audio_file(call_id, await self.db(reviews.recording_paths, call_id))
        if path is None:
            raise HTTPException(404, "this call has no recording to play")
        response = FileResponse(
            path, media_type=AUDIO_TYPES.get(path.suffix.lower(), "application/octet-stream")
        )
        response.headers["Cache-Control"] = "private, no-store"
        return response

    async def review(self, request: Request) -> Response:
        s = await self.require(request, page=False)
        form = await self.checked_form(request, s)
        if not s.user.can_review:
            raise HTTPException(403, "this account may not review")
        call_id = str(form.get("call_id") or "")
        call = await self.db(
            lambda db: next(iter(db.query("select id, agent from calls where id = ?", [call_id])), None)
        )
        if call is None:
            raise HTTPException(404, f"no call '{call_id[:100]}' in the database")
        seen = str(form.get("seen_review_id") or "0")
        try:
            outcome = await self.db(
                reviews.record_review,
                call_id,
                str(form.get("item_id") or ""),
                str(form.get("verdict") or ""),
                str(form.get("note") or ""),
                s.user.name,
                scorecard_version=str(form.get("scorecard_version") or "") or None,
                seen_review_id=int(seen) if seen.isdigit() else None,
            )
        except reviews.ReviewError as err:
            raise HTTPException(400, str(err)) from None
        query: dict[str, Any] = {"saved": outcome.item_id}
        if outcome.superseded_since_seen and outcome.replaced is not None:
            query["replaced"] = outcome.replaced["id"]
        if not outcome.recomputed:
            query["error"] = "norecompute"
        return RedirectResponse(
            self.url(f"/calls/{quote(call_id, safe='')}", **query)
            + f"#item-{quote(outcome.item_id, safe='')}",
            303,
        )

    async def _own_call(self, s: users.Session, call_id: str) -> dict[str, Any]:
        call = await self.db(
            lambda db: next(iter(db.query("select id, agent from calls where id = ?", [call_id])), None)
        )
        if call is None:
            raise HTTPException(404, f"no call '{call_id[:100]}' in the database")
        if not self.can_see(s, call):
            raise HTTPException(403, "this call is not yours")
        return call

    def _back(self, call_id: str, **query: Any) -> RedirectResponse:
        return RedirectResponse(self.url(f"/calls/{quote(call_id, safe='')}", **query) + "#workflow", 303)

    async def dispute(self, request: Request) -> Response:
        """An agent disputes their call's result (or one item)."""
        s = await self.require(request, page=False)
        form = await self.checked_form(request, s)
        if s.user.role != users.Role.agent:
            raise HTTPException(403, "disputes are raised by the call's agent")
        call_id = str(form.get("call_id") or "")
        await self._own_call(s, call_id)
        try:
            await self.db(
                reviews.raise_dispute,
                call_id,
                str(form.get("scorecard_version") or ""),
                str(form.get("item_id") or "") or None,
                str(form.get("reason") or ""),
                s.user.name,
            )
        except reviews.ReviewError as err:
            raise HTTPException(400, str(err)) from None
        return self._back(call_id, disputed=1)

    async def resolve(self, request: Request) -> Response:
        """A supervisor upholds or rejects an open dispute."""
        s = await self.require(request, page=False)
        form = await self.checked_form(request, s)
        if s.user.role not in (users.Role.supervisor, users.Role.admin):
            raise HTTPException(403, "disputes are resolved by a supervisor")
        raw = str(form.get("dispute_id") or "")
        if not raw.isdigit():
            raise HTTPException(400, "dispute_id: expected a number")
        try:
            call_id = await self.db(
                reviews.resolve_dispute,
                int(raw),
                str(form.get("outcome") or ""),
                str(form.get("resolution") or ""),
                s.user.name,
            )
        except reviews.ReviewError as err:
            raise HTTPException(400, str(err)) from None
        return self._back(call_id, resolved=raw)

    async def acknowledge(self, request: Request) -> Response:
        s = await self.require(request, page=False)
        form = await self.checked_form(request, s)
        if s.user.role != users.Role.agent:
            raise HTTPException(403, "the call's agent acknowledges its result")
        call_id = str(form.get("call_id") or "")
        await self._own_call(s, call_id)
        try:
            await self.db(reviews.acknowledge, call_id, str(form.get("scorecard_version") or ""), s.user.name)
        except reviews.ReviewError as err:
            raise HTTPException(400, str(err)) from None
        return self._back(call_id, acknowledged=1)

    async def coaching(self, request: Request) -> Response:
        s = await self.require(request, page=False)
        form = await self.checked_form(request, s)
        if not s.user.can_review:
            raise HTTPException(403, "coaching notes are written by reviewers and supervisors")
        call_id = str(form.get("call_id") or "")
        await self._own_call(s, call_id)
        try:
            await self.db(reviews.add_coaching_note, call_id, str(form.get("note") or ""), s.user.name)
        except reviews.ReviewError as err:
            raise HTTPException(400, str(err)) from None
        return self._back(call_id, coached=1)

    async def assign(self, request: Request) -> Response:
        s = await self.require(request, page=False)
        form = await self.checked_form(request, s)
        if not s.user.can_review:
            raise HTTPException(403, "calls are assigned by reviewers and supervisors")
        call_id = str(form.get("call_id") or "")
        reviewer = str(form.get("reviewer") or "") or s.user.name
        if reviewer.lower() != s.user.name.lower() and s.user.role not in (
            users.Role.supervisor,
            users.Role.admin,
        ):
            raise HTTPException(
                403, "a reviewer takes calls for themselves; supervisors assign them to others"
            )
        try:
            await self.db(reviews.assign, call_id, reviewer, s.user.name)
        except reviews.ReviewError as err:
            raise HTTPException(400, str(err)) from None
        return self._back(call_id, assigned=1)

    async def disputes(self, request: Request) -> Response:
        s = await self.require(request)
        if s.user.role == users.Role.agent:
            raise HTTPException(403, "the dispute queue is for supervisors and reviewers")
        rows = await self.db(reviews.open_disputes)
        return self.page("disputes.html", **self.base(s, rows=rows))

    async def queues(self, request: Request) -> Response:
        s = await self.require(request)
        if s.user.role == users.Role.agent:
            raise HTTPException(403, "review queues are for reviewers and supervisors")

        def read(db: sqlite_utils.Database) -> dict[str, Any]:
            return {
                "sample": reviews.weekly_sample(db),
                "counts": reviews.queue_counts(db),
                "mine": reviews.assigned_to(db, s.user.name),
            }

        data = await self.db(read)
        return self.page(
            "queues.html",
            **self.base(s, per_week=reviews.SAMPLE_PER_AGENT_WEEK, weeks=reviews.SAMPLE_WEEKS, **data),
        )

    async def trends(self, request: Request) -> Response:
        s = await self.require(request)
        only = None
        if s.user.role == users.Role.agent:
            only = s.user.agent or "\x00no agent linked"
        rows = await self.db(reviews.agent_trends, reviews.TREND_WEEKS, only)
        weeks = sorted({r["week"] for r in rows})
        table: dict[str, dict[str, dict[str, Any]]] = {}
        for r in rows:
            table.setdefault(r["agent"], {})[r["week"]] = r
        return self.page("trends.html", **self.base(s, weeks=weeks, table=table, n_weeks=reviews.TREND_WEEKS))

    async def calibration(self, request: Request) -> Response:
        from callwright.web.calibration import calibrate

        s = await self.require(request)
        if s.user.role == users.Role.agent:
            raise HTTPException(403, "calibration is for reviewers and supervisors")
        results = calibrate(await self.db(reviews.calibration_verdicts))
        return self.page("calibration.html", **self.base(s, results=results))

    async def report(self, request: Request) -> Response:
        s = await self.require(request)
        if s.user.role == users.Role.agent:
            raise HTTPException(403, "the KPI report is for supervisors and reviewers")
        from callwright.errors import CallwrightError
        from callwright.reports import html
        from callwright.reports.kpis import build_report, make_params

        qp = request.query_params
        try:
            params = make_params(
                qp.get("from") or "2000-01-01",
                qp.get("to") or "2099-12-31",
                group_by=qp.get("group_by") or "agent",
            )
        except CallwrightError as err:
            raise HTTPException(400, str(err)) from None
        result = await self.db(build_report, params)
        response = HTMLResponse(html.render(result))
        response.headers["Content-Security-Policy"] = REPORT_CSP
        return response

    async def error_page(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code in (301, 302, 303, 307) and exc.headers:
            return RedirectResponse(exc.headers["Location"], exc.status_code)
        s = None
        try:
            s = await self.session(request)
        except Exception:  # an error page must render even when the database is the problem
            s = None
        return self.page(
            "error.html", exc.status_code, **self.base(s, status=exc.status_code, detail=exc.detail)
        )


def _lifespan(app: ReviewApp) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            app.dbs.close()

    return lifespan


CHART_W, CHART_H = 300.0, 48.0


def trajectory(utterances: list[dict[str, Any]], duration: float | None) -> dict[str, str]:
    """Per speaker, SVG polyline points of sentiment (-1 bottom, +1 top) over the call's time."""
    end = max([duration or 0.0, *(u["end"] or 0.0 for u in utterances)]) or 1.0
    out: dict[str, list[str]] = {}
    for u in utterances:
        s = u.get("sentiment")
        if s is None or u["speaker"] not in ("agent", "customer") or not math.isfinite(s):
            continue
        x = CHART_W * ((u["start"] + u["end"]) / 2) / end
        y = CHART_H / 2 - max(-1.0, min(1.0, s)) * (CHART_H / 2 - 3)
        out.setdefault(u["speaker"], []).append(f"{x:.1f},{y:.1f}")
    return {k: " ".join(v) for k, v in out.items()}


def _safe_next(value: str | None) -> str:
    """A local path to return to after sign-in (never another site: no scheme, no //host)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 2000:
        return ""
    return value


def create_app(
    db_path: str | os.PathLike[str],
    *,
    redacted_audio_dir: str | os.PathLike[str] | None = None,
    secure_cookies: bool = True,
    session_hours: float = SESSION_HOURS,
    root_path: str = "",
) -> Starlette:
    """The review app over the database at `db_path` (opened and migrated here, so a bad file fails
    now with a CallwrightError). `redacted_audio_dir` holds `<call id>.redacted.wav` copies (played
    instead of the recording). `root_path` is where it is mounted (e.g. "/qa" inside `callwright serve`)."""
    from callwright.store.db import open_db

    path = Path(db_path)
    open_db(path).conn.close()
    app = ReviewApp(
        path,
        redacted_audio_dir=Path(redacted_audio_dir) if redacted_audio_dir is not None else None,
        secure_cookies=secure_cookies,
        session_hours=session_hours,
        root_path=root_path,
    )
    routes = [
        Route("/", app.home),
        Route("/login", app.login_form, methods=["GET"]),
        Route("/login", app.login, methods=["POST"]),
        Route("/logout", app.logout, methods=["POST"]),
        Route("/calls", app.calls),
        Route("/calls/{call_id:path}", app.call),
        Route("/recording/{call_id:path}", app.recording),
        Route("/review", app.review, methods=["POST"]),
        Route("/report", app.report),
        Route("/calibration", app.calibration),
        Route("/disputes", app.disputes),
        Route("/queues", app.queues),
        Route("/trends", app.trends),
        Route("/dispute", app.dispute, methods=["POST"]),
        Route("/dispute/resolve", app.resolve, methods=["POST"]),
        Route("/acknowledge", app.acknowledge, methods=["POST"]),
        Route("/coaching", app.coaching, methods=["POST"]),
        Route("/assign", app.assign, methods=["POST"]),
        *dashboard.routes(app),
        *calibration_sessions.routes(app),
        *low_confidence.routes(app),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    starlette = Starlette(
        routes=routes,
        middleware=[Middleware(_SecurityHeaders)],
        exception_handlers={HTTPException: app.error_page},
        lifespan=_lifespan(app),
    )
    starlette.state.review_app = app
    return starlette
