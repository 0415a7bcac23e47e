"""The long-lived server: an asyncio loop for the network, a `CallServer` for the calls.

`ServerApp.run()` binds every listener (refusing at once, with the address, when one
cannot be bound), starts the network services (AudioSocket, and SIP or WebRTC when
given), serves HTTP (`/health`) with uvicorn on the same loop, and waits for a stop
(SIGINT/SIGTERM in `serve_forever`, or `request_stop()`). Stopping closes the
listeners first, then gives calls in progress the grace period, ends the rest
cleanly (logged with their reason) and returns.

Every listener binds 127.0.0.1 unless told otherwise: another address must be given
explicitly, and the server log says when a listener is reachable from the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import signal
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from callwright.errors import CallwrightError
from callwright.server.audiosocket import AudioSocketListener
from callwright.server.calls import SHUTDOWN_GRACE_S, CallServer
from callwright.server.events import EventLog

DEFAULT_HOST = "127.0.0.1"
AUDIOSOCKET_PORT = 9092
HTTP_PORT = 8080
STOP_SERVICES_S = 5.0
"""How long a network service (and uvicorn) may take to stop after the calls have ended."""


@dataclass(frozen=True)
class Address:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def loopback(self) -> bool:
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return self.host == "localhost"


def parse_address(text: str, option: str, default_port: int) -> Address:
    """`PORT`, `HOST:PORT`, `[IPv6]:PORT` or `HOST`; the host defaults to 127.0.0.1."""
    s = text.strip()
    host, port_text = DEFAULT_HOST, str(default_port)
    if s.isdigit():
        port_text = s
    elif s.startswith("["):
        inner, _, rest = s[1:].partition("]")
        host = inner
        if rest:
            if not rest.startswith(":"):
                raise CallwrightError(f"{option} {text!r}: expected HOST:PORT, e.g. 127.0.0.1:{default_port}")
            port_text = rest[1:]
    elif s.count(":") == 1:
        host, port_text = s.split(":")
    elif s and ":" not in s:
        host = s
    else:
        raise CallwrightError(f"{option} {text!r}: expected HOST:PORT, e.g. 127.0.0.1:{default_port}")
    if not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise CallwrightError(
            f"{option} {text!r}: expected HOST:PORT with a port from 0 to 65535, "
            f"e.g. 127.0.0.1:{default_port}"
        )
    return Address(host, int(port_text))


def bind_tcp(address: Address, option: str) -> socket.socket:
    """A listening TCP socket, or a plain error naming the address."""
    try:
        family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
        return socket.create_server((address.host, address.port), family=family, backlog=128)
    except (OSError, OverflowError) as err:
        raise CallwrightError(
            f"{option}: cannot listen on {address}: {getattr(err, 'strerror', None) or err}",
            hint="is another server using that port? choose another with HOST:PORT",
        ) from None


def bound(sock: socket.socket) -> Address:
    host, port = sock.getsockname()[:2]
    return Address(host, port)


class Service(Protocol):
    """A network channel the server runs on its loop (AudioSocket here; SIP and WebRTC plug in).

    Bind its socket in `__init__` (see `AudioSocketService`), so that a busy or forbidden
    address is a `CallwrightError` before the server starts anything."""

    name: str

    async def start(self, calls: CallServer, events: EventLog) -> str:
        """Begin accepting calls (hand each to `calls.offer`); returns where it listens."""

    async def stop(self) -> None:
        """Stop accepting new calls; calls in progress are ended through the `CallServer`."""


class AudioSocketService:
    """The Asterisk AudioSocket listener as a `Service`."""

    name = "audiosocket"

    def __init__(self, address: Address) -> None:
        self.address = address
        self.sock = bind_tcp(address, "--audiosocket")  # bound now: a busy port fails before anything runs
        self.listener: AudioSocketListener | None = None
        self._server: asyncio.AbstractServer | None = None

    async def start(self, calls: CallServer, events: EventLog) -> str:
        self.listener = AudioSocketListener(calls, events)
        self._server = await asyncio.start_server(self.listener.handle, sock=self.sock)
        return f"tcp:{bound(self.sock)}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()


class ServerApp:
    """The asyncio side: services, the HTTP app and shutdown."""

    def __init__(
        self,
        calls: CallServer,
        *,
        services: list[Service],
        http: Address | None = None,
        events: EventLog | None = None,
        grace_s: float = SHUTDOWN_GRACE_S,
    ) -> None:
        from callwright.server.http import build_app

        self.calls = calls
        self.services = services
        self.events = events or calls.events
        self.grace_s = grace_s
        self.http_app = build_app(calls)
        self._http_sock = bind_tcp(http, "--http") if http is not None else None
        self.http_address = bound(self._http_sock) if self._http_sock is not None else None
        self.ready = threading.Event()
        self.stopped = threading.Event()
        self.listening: dict[str, str] = {}
        self.ended_at_shutdown = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    def request_stop(self, grace_s: float | None = None) -> None:
        """Stop the server (from any thread); `grace_s` shortens the grace period."""
        if grace_s is not None:
            self.grace_s = min(self.grace_s, grace_s)
            if grace_s <= 0:
                self.calls.hurry()
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        uv_task: asyncio.Task[None] | None = None
        uv = None
        try:
            for service in self.services:
                where = await service.start(self.calls, self.events)
                self._listening(service.name, where)
            if self._http_sock is not None and self.http_address is not None:
                uv = _uvicorn_server(self.http_app)
                uv_task = asyncio.create_task(uv.serve(sockets=[self._http_sock]))
                self._listening("http", f"http://{self.http_address}")
            self.ready.set()
            await self._stop.wait()
        finally:
            self.ready.set()
            for service in self.services:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(service.stop(), STOP_SERVICES_S)
            self.ended_at_shutdown = await asyncio.get_running_loop().run_in_executor(
                None, self.calls.shutdown, self.grace_s
            )
            if uv is not None and uv_task is not None:
                uv.should_exit = True
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(uv_task, STOP_SERVICES_S)
            self.events.emit("stopped", calls_ended_at_shutdown=self.ended_at_shutdown)
            self.stopped.set()

    def _listening(self, name: str, where: str) -> None:
        self.listening[name] = where
        host = where.split("//")[-1].removeprefix("tcp:").removeprefix("udp:").rsplit(":", 1)[0].strip("[]")
        exposed = not Address(host, 0).loopback
        self.events.emit("listening", service=name, address=where, exposed=exposed or None)


def _uvicorn_server(app: Any) -> Any:
    import uvicorn

    class _Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:  # the server's own handlers stop it
            yield

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    return _Server(config)


def serve_forever(app: ServerApp) -> None:
    """Run until SIGINT or SIGTERM; a second signal ends calls in progress at once."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        signals = 0

        def on_signal() -> None:
            nonlocal signals
            signals += 1
            app.request_stop(grace_s=0.0 if signals > 1 else None)

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal)
        await app.run()

    asyncio.run(main())
