"""A Callwright speech-server (`SpeechServer`) on its own event loop thread, on a free 127.0.0.1
port: the recogniser tests and the synthesiser tests start it the same way."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

from callwright.speech.asr.base import Recognizer
from callwright.speech.asr.wyoming_server import SpeechServer, WyomingService


class Background:
    """Serves `recognizer` (None: none) and `services` until `stop()`."""

    def __init__(
        self, recognizer: Recognizer | None, workers: int = 2, services: Sequence[WyomingService] = ()
    ) -> None:
        self.loop = asyncio.new_event_loop()
        self.server = SpeechServer(recognizer, workers=workers, services=list(services))
        host, port = self.loop.run_until_complete(self.server.start("127.0.0.1", 0))
        self.port = port
        self.address = f"wyoming://{host}:{port}"
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        async def shut() -> None:
            self.server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shut(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()
