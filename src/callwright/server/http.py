"""The server's HTTP side (Starlette on uvicorn): `GET /health` today; the WebRTC page and
the QA review app mount on the same app (`app.mount(...)`, `app.router.routes.append(...)`)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from callwright.server.calls import CallServer


def build_app(calls: CallServer) -> Starlette:
    """The HTTP app: `/health` answers the calls in progress, the slots and the uptime."""

    async def health(request: Request) -> JSONResponse:
        body = calls.health()
        return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)

    return Starlette(routes=[Route("/health", health, methods=["GET"])])
