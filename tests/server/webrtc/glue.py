"""Test glue: the WebRTC endpoint alone on uvicorn (127.0.0.1, a free port, in a thread), for
the tests that play the far end with aiortc. The browser tests run the whole server instead."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable

from callwright.server.webrtc import WebRtcEndpoint


def serve_app(endpoint: WebRtcEndpoint, prefix: str = "/call") -> tuple[str, Callable[[], None]]:
    """uvicorn on a free 127.0.0.1 port in a thread, the endpoint mounted at `prefix`:
    (the page's URL, the function that hangs up every call and stops the server)."""

    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import Mount

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await endpoint.close_all()  # calls in progress end as hung up

    app = Starlette(routes=[Mount(prefix, app=endpoint.router)], lifespan=lifespan)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)

    return f"http://127.0.0.1:{port}{prefix}/", stop


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
