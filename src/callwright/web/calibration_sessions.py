"""Blind calibration sessions in the review app (store.calibration_sessions holds the rules).

- `GET /calibration/sessions`: the sessions (a reviewer sees those they are in) and, for a
  supervisor or admin, the form that creates one (name, scorecard version, calls, reviewers).
- `GET /calibration/sessions/{id}`: for a reviewer of the session who has not submitted, the blind
  form: each call's transcript and recording and its items, without the machine's verdicts, the
  evidence or anyone's answers. Then, until every reviewer has submitted or a supervisor closes it,
  who has submitted. Then the comparison: agreement and Cohen's kappa per item, reviewer against
  reviewer and machine against human, manual items apart, and every answer beside the machine's.
- `POST .../answers` (`action` = save or submit), `POST .../close` (supervisor or admin).

Every POST needs the session's CSRF token. The answers are never reviews (no score of record moves).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlite_utils
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from callwright.store import calibration_sessions as cs
from callwright.store import reviews, users
from callwright.web import auth
from callwright.web.calibration import compare_session

if TYPE_CHECKING:
    from callwright.web.app import ReviewApp

MAX_FORM_FIELDS = 2 * 40 * cs.MAX_SESSION_CALLS + 10
"""A session's answer form: a verdict and a note per item (40 items a call is generous) and a few more."""


def _supervises(s: users.Session) -> bool:
    return s.user.role in (users.Role.supervisor, users.Role.admin)


class CalibrationSessionPages:
    def __init__(self, app: ReviewApp) -> None:
        self.app = app

    async def _form(self, request: Request, s: users.Session) -> FormData:
        from callwright.web.app import MAX_FORM_BYTES

        length = request.headers.get("content-length")
        if length is None or not length.isdigit() or int(length) > MAX_FORM_BYTES:
            raise HTTPException(413, f"a form may have at most {MAX_FORM_BYTES} bytes")
        form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
        if not auth.same_token(s.csrf_token, str(form.get("csrf") or "")):
            raise HTTPException(
                403, "the form's security token is stale or missing: reload the page and try again"
            )
        return form

    async def _session(self, request: Request, s: users.Session) -> cs.CalibrationSession:
        if s.user.role == users.Role.agent:
            raise HTTPException(403, "calibration is for reviewers and supervisors")
        session = await self.app.db(cs.get_session, int(request.path_params["session_id"]))
        if session is None:
            raise HTTPException(404, "no such calibration session")
        if not _supervises(s) and session.member(s.user.name) is None:
            raise HTTPException(403, "you are not a reviewer of this calibration session")
        return session

    def _to(self, session_id: int, **query: Any) -> RedirectResponse:
        return RedirectResponse(self.app.url(f"/calibration/sessions/{session_id}", **query), 303)

    async def index(self, request: Request) -> Response:
        s = await self.app.require(request)
        if s.user.role == users.Role.agent:
            raise HTTPException(403, "calibration is for reviewers and supervisors")

        def read(db: sqlite_utils.Database) -> dict[str, Any]:
            return {
                "sessions": cs.list_sessions(db, None if _supervises(s) else s.user.name),
                "versions": cs.scored_versions(db) if _supervises(s) else [],
                "reviewers": reviews.reviewer_names(db) if _supervises(s) else [],
            }

        data = await self.app.db(read)
        return self.app.page(
            "calibration_sessions.html",
            **self.app.base(
                s,
                supervises=_supervises(s),
                max_calls=cs.MAX_SESSION_CALLS,
                error=request.query_params.get("error"),
                **data,
            ),
        )

    async def create(self, request: Request) -> Response:
        s = await self.app.require(request, page=False)
        form = await self._form(request, s)
        if not _supervises(s):
            raise HTTPException(403, "calibration sessions are created by a supervisor")
        calls = str(form.get("calls") or "").replace(",", "\n").splitlines()
        try:
            session_id = await self.app.db(
                cs.create_session,
                str(form.get("name") or ""),
                str(form.get("scorecard_version") or ""),
                calls,
                [str(v) for v in form.getlist("reviewer")],
                s.user.name,
            )
        except cs.CalibrationError as err:
            raise HTTPException(400, str(err)) from None
        return self._to(session_id, created=1)

    async def show(self, request: Request) -> Response:
        s = await self.app.require(request)
        session = await self._session(request, s)
        me = session.member(s.user.name)
        answering = session.status == "open" and me is not None and not me.submitted_at

        def read(db: sqlite_utils.Database) -> dict[str, Any]:
            out: dict[str, Any] = {"items": {}, "answers": {}, "utterances": {}, "audio": {}, "results": []}
            if answering:
                out["items"] = cs.session_items(db, session)
                out["answers"] = cs.answers_of(db, session.id, me.name if me else "")
                for call_id in session.calls:
                    out["utterances"][call_id] = list(
                        db.query(
                            "select idx, speaker, start, end, text from utterances "
                            "where call_id = ? order by idx",
                            [call_id],
                        )
                    )
                    out["audio"][call_id] = (
                        self.app.audio_file(call_id, reviews.recording_paths(db, call_id)) is not None
                    )
            elif session.complete:
                rows = cs.comparison_rows(db, session.id)
                out["results"] = compare_session(rows)
                out["rows"] = rows
            return out

        data = await self.app.db(read)
        grid: dict[tuple[str, str], dict[str, Any]] = {}
        for r in data.get("rows", []):
            cell = grid.setdefault(
                (r["call_id"], r["item_id"]),
                {"call_id": r["call_id"], "item_id": r["item_id"], "automatic": r["automatic"], "by": {}},
            )
            cell["by"][r["reviewer"]] = r["human"]
        return self.app.page(
            "calibration_session.html",
            **self.app.base(
                s,
                cal=session,
                me=me,
                answering=answering,
                supervises=_supervises(s),
                grid=sorted(grid.values(), key=lambda c: (c["call_id"], c["item_id"])),
                verdicts=reviews.REVIEW_VERDICTS,
                message=request.query_params.get("saved") or request.query_params.get("created"),
                **data,
            ),
        )

    async def answer(self, request: Request) -> Response:
        s = await self.app.require(request, page=False)
        form = await self._form(request, s)
        session = await self._session(request, s)
        answers: dict[tuple[str, str], tuple[str, str]] = {}
        for key, value in form.multi_items():
            if not key.startswith("v|"):
                continue
            # v|<the call's position in the session>|<item id>: a call id may hold any character
            _, position, item_id = (key.split("|", 2) + ["", ""])[:3]
            if not position.isdigit() or int(position) >= len(session.calls):
                raise HTTPException(400, f"answer field '{key[:100]}': no such call in this session")
            call_id = session.calls[int(position)]
            note = str(form.get(f"n|{position}|{item_id}") or "")
            answers[(call_id, item_id)] = (str(value), note)
        try:
            if answers:
                await self.app.db(cs.save_answers, session.id, s.user.name, answers)
            if form.get("action") == "submit":
                await self.app.db(cs.submit, session.id, s.user.name)
                return self._to(session.id, saved="submitted")
        except cs.CalibrationError as err:
            raise HTTPException(400, str(err)) from None
        return self._to(session.id, saved="saved")

    async def close(self, request: Request) -> Response:
        s = await self.app.require(request, page=False)
        await self._form(request, s)
        if not _supervises(s):
            raise HTTPException(403, "a calibration session is closed by a supervisor")
        session = await self._session(request, s)
        try:
            await self.app.db(cs.close, session.id, s.user.name)
        except cs.CalibrationError as err:
            raise HTTPException(400, str(err)) from None
        return self._to(session.id, saved="closed")


def routes(app: ReviewApp) -> list[BaseRoute]:
    """The calibration session routes, registered by web.app.create_app."""
    pages = CalibrationSessionPages(app)
    return [
        Route("/calibration/sessions", pages.index, methods=["GET"]),
        Route("/calibration/sessions", pages.create, methods=["POST"]),
        Route("/calibration/sessions/{session_id:int}", pages.show, methods=["GET"]),
        Route("/calibration/sessions/{session_id:int}/answers", pages.answer, methods=["POST"]),
        Route("/calibration/sessions/{session_id:int}/close", pages.close, methods=["POST"]),
    ]
