"""baresip (the Debian package) as a scripted caller for the SIP tests.

A temporary config dir, a WAV file as the microphone (aufile), what it hears dumped by the
sndfile filter (`dump-*-dec.wav`), and the ctrl_tcp module to dial, send keys and hang up
with netstring JSON commands; its events (CALL_ESTABLISHED, CALL_CLOSED...) come back the
same way. Every wait is bounded, and the process is killed in `close()` whatever happened.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from pathlib import Path

BARESIP = shutil.which("baresip") or "/usr/bin/baresip"
MODULES = Path("/usr/lib/baresip/modules")


def available() -> bool:
    return Path(BARESIP).exists() and all(
        (MODULES / m).exists() for m in ("g711.so", "aufile.so", "sndfile.so", "ctrl_tcp.so")
    )


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Baresip:
    def __init__(
        self,
        workdir: Path,
        mic_wav: Path,
        *,
        codecs: str = "PCMU/8000/1",
        sip_port: int = 0,
        accounts: str | None = None,
    ) -> None:
        """baresip with `mic_wav` as its microphone; `sip_port` 0: any; `accounts`: the accounts
        file's text (default: one caller account offering `codecs`)."""
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ctrl_port = free_port()
        (self.dir / "config").write_text(
            "\n".join(
                [
                    "poll_method epoll",
                    f"sip_listen 127.0.0.1:{sip_port}",
                    "call_local_timeout 20",
                    "audio_player alsa,null",  # nothing to play to: what it hears is dumped by sndfile
                    f"audio_source aufile,{mic_wav}",
                    "audio_alert alsa,null",
                    f"module_path {MODULES}",
                    "module g711.so",
                    "module aufile.so",
                    "module alsa.so",
                    "module sndfile.so",
                    "module_app ctrl_tcp.so",
                    "module_app menu.so",
                    "module_tmp account.so",
                    f"snd_path {self.dir}",
                    f"ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}",
                    "rtp_stats no",
                    "",
                ]
            )
        )
        if accounts is None:
            accounts = f"<sip:caller@127.0.0.1>;regint=0;audio_codecs={codecs}\n"
        (self.dir / "accounts").write_text(accounts)
        self.log = open(self.dir / "baresip.log", "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [BARESIP, "-f", str(self.dir), "-n", "127.0.0.1", "-t", "120"],
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.sock: socket.socket | None = None
        self.events: list[dict] = []
        self._buf = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                self.sock = socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=1)
                break
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
        if self.sock is None:
            self.close()
            raise RuntimeError(f"baresip did not start: {self.output()[-2000:]}")

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return (self.dir / "baresip.log").read_text(errors="replace")

    def command(self, command: str, params: str = "") -> None:
        assert self.sock is not None
        body = json.dumps({"command": command, "params": params, "token": command}).encode()
        self.sock.sendall(str(len(body)).encode() + b":" + body + b",")

    def _read(self, timeout: float) -> None:
        assert self.sock is not None
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except (TimeoutError, OSError):
            return
        self._buf += chunk
        while b":" in self._buf:
            n, _, rest = self._buf.partition(b":")
            if not n.isdigit() or len(rest) < int(n) + 1:
                break
            msg, self._buf = rest[: int(n)], rest[int(n) + 1 :]
            try:
                self.events.append(json.loads(msg))
            except ValueError:
                pass

    def wait_event(self, kind: str, timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            for ev in self.events[seen:]:
                if ev.get("type") == kind:
                    return ev
            seen = 0
            self._read(min(0.2, max(deadline - time.monotonic(), 0.01)))
        raise TimeoutError(
            f"baresip: no {kind} in {timeout} s; events {self.types()}\n{self.output()[-3000:]}"
        )

    def types(self) -> list[str]:
        return [str(e.get("type") or e.get("response")) for e in self.events]

    def dial(self, uri: str) -> None:
        self.command("dial", uri)

    def keys(self, digits: str, gap_s: float = 0.4) -> None:
        """RFC 4733 key presses (baresip sends telephone-event when the call negotiated it)."""
        for d in digits:
            self.command("sndcode", d)
            time.sleep(gap_s)

    def hangup(self) -> None:
        self.command("hangup")

    def recording(self, side: str = "dec") -> Path | None:
        return self.recording_in(self.dir, side)

    @staticmethod
    def recording_in(workdir: Path, side: str = "dec") -> Path | None:
        """What baresip heard (`dec`: the sndfile filter's decoder-side dump) or sent (`enc`)."""
        found = sorted(workdir.glob(f"dump-*-{side}.wav"))
        return found[-1] if found else None

    def close(self) -> None:
        try:
            if self.sock is not None:
                self.sock.close()
        finally:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(5)
            self.log.close()
