"""The low-confidence review queue (`GET /queues/low-confidence`): unreviewed automatic verdicts
that were a close call (`store.reviews.low_confidence_items` defines which). `margin` (0 to
`store.reviews.MAX_LOW_CONFIDENCE_MARGIN`) and `asr` (0 to 1) in the query string change how
close and how unsure; a bad value is named (400), never an error page of its own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from callwright.store import reviews, users

if TYPE_CHECKING:
    from callwright.web.app import ReviewApp


def _number(raw: str | None, name: str, default: float, high: float, errors: dict[str, str]) -> float:
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
        if not 0 <= value <= high:
            raise ValueError
    except ValueError:
        errors[name] = f"{name}: expected a number from 0 to {high:g}, got '{raw[:40]}'"
        return default
    return value


def routes(app: ReviewApp) -> list[BaseRoute]:
    """The low-confidence queue's route, registered by web.app.create_app."""

    async def low_confidence(request: Request) -> Response:
        s = await app.require(request)
        if s.user.role == users.Role.agent:
            raise HTTPException(403, "review queues are for reviewers and supervisors")
        errors: dict[str, str] = {}
        qp = request.query_params
        margin = _number(
            qp.get("margin"),
            "margin",
            reviews.LOW_CONFIDENCE_MARGIN,
            reviews.MAX_LOW_CONFIDENCE_MARGIN,
            errors,
        )
        asr = _number(qp.get("asr"), "asr", reviews.LOW_ASR_CONFIDENCE, 1.0, errors)
        rows = (
            []
            if errors
            else await app.db(reviews.low_confidence_items, margin=margin, min_asr_confidence=asr)
        )
        return app.page(
            "low_confidence.html",
            400 if errors else 200,
            **app.base(
                s,
                rows=rows,
                margin=margin,
                asr=asr,
                errors=errors,
                weeks=reviews.LOW_CONFIDENCE_WEEKS,
                limit=reviews.LOW_CONFIDENCE_LIMIT,
            ),
        )

    return [Route("/queues/low-confidence", low_confidence, methods=["GET"])]
