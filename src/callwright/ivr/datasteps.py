"""Data steps at run time: an `http` request or a registered Python `function`, bounded.

Whatever the remote does (hangs, trickles, answers 500 or 50 MB, sends invalid JSON;
a function that raises or never returns), the step gives a `DataResult` within its
deadline, so the call goes on: the work runs in a daemon worker thread and the call
waits for it at most `timeout_s`. A worker still running past its deadline is
abandoned (its socket times out on its own); at most `MAX_ABANDONED_WORKERS` may be
left at once, after which new steps fail at once instead of piling up threads.

Secrets (http headers) are read here, from the environment or a secrets file, and
never put into a result's reason: the reasons name what went wrong (status, timeout,
JSON error) from a fixed wording, never an exception's text or the URL.

What a flow can run is only what configuration registered: entry points of the group
`callwright.functions`, or `NAME=module:callable` given on the command line
(`--function`) or in `CALLWRIGHT_FUNCTIONS`. A flow file names a function; it never
names a module.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

from callwright.errors import CallwrightError

MAX_RESPONSE_BYTES = 1_000_000
"""An http response body over this is a failure (read stops there: memory stays bounded)."""
MAX_SAVED_TEXT = 10_000
"""A saved value that is a list or mapping is kept as JSON text of at most this many characters."""
MAX_ABANDONED_WORKERS = 32
"""Data steps still running past their deadline at once; past it, new steps fail at once."""
RETRY_BACKOFF_S = 0.1
"""Wait before the first retry (doubled each time), always within the step's deadline."""
ENTRY_POINT_GROUP = "callwright.functions"
SECRET_ENV_PREFIX = "CALLWRIGHT_SECRET_"
SECRETS_FILE_ENV = "CALLWRIGHT_SECRETS_FILE"
FUNCTIONS_ENV = "CALLWRIGHT_FUNCTIONS"
JSONScalar = str | int | float | bool | None


# --- results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DataOk:
    """The step succeeded: `value` is the decoded JSON (http) or the function's result."""

    value: Any
    status: int | None = None


@dataclass(frozen=True)
class DataFailed:
    reason: str  # fixed wording: never a secret, an exception's text or a URL
    status: int | None = None


@dataclass(frozen=True)
class DataTimedOut:
    reason: str


DataResult = DataOk | DataFailed | DataTimedOut


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None
    timeout_s: float
    retries: int = 0


class DataService(Protocol):
    """What a call uses to run its data steps (real, or canned in `flow test`)."""

    def http(self, state: str, request: HttpRequest) -> DataResult: ...

    def function(self, state: str, name: str, args: dict[str, Any], timeout_s: float) -> DataResult: ...

    def secret(self, name: str) -> str | None: ...


# --- pure parts: response to result, paths into values ------------------------------------


def http_result(status: int, body: bytes) -> DataResult:
    """A response as a result: 2xx with a JSON (or empty) body is a success."""
    if not 200 <= status < 300:
        return DataFailed(f"the server answered HTTP {status}", status)
    if not body.strip():
        return DataOk(None, status)
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return DataFailed(f"the response (HTTP {status}) is not valid JSON", status)
    return DataOk(value, status)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def extract(value: Any, keys: tuple[str | int, ...]) -> Any:
    """The part of a result at a path (None where the path does not lead anywhere)."""
    for k in keys:
        if isinstance(value, dict):
            value = value.get(str(k))
        elif isinstance(value, list) and isinstance(k, int) and k < len(value):
            value = value[k]
        else:
            return None
    return value


def storable(value: Any) -> JSONScalar:
    """A value as a flow variable: scalars as they are, lists and mappings as JSON text."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        return None
    return text if len(text) <= MAX_SAVED_TEXT else None


def _json_safe(value: Any, depth: int = 0) -> bool:
    """Is a function's result plain data (JSON types, bounded depth)?"""
    if depth > 32:
        return False
    if value is None or isinstance(value, (str, bool, int, float)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_json_safe(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_safe(v, depth + 1) for k, v in value.items())
    return False


# --- running bounded ------------------------------------------------------------------------

_abandoned: set[threading.Thread] = set()
_abandoned_lock = threading.Lock()


def _abandoned_count() -> int:
    with _abandoned_lock:
        for t in [t for t in _abandoned if not t.is_alive()]:
            _abandoned.discard(t)
        return len(_abandoned)


def run_bounded(work: Callable[[threading.Event], DataResult], timeout_s: float, what: str) -> DataResult:
    """Run `work` in a worker thread; its result, or a timeout once `timeout_s` has passed.

    `work` gets an Event set when the call stops waiting, to end early where it can."""
    if _abandoned_count() >= MAX_ABANDONED_WORKERS:
        return DataFailed(
            f"{MAX_ABANDONED_WORKERS} data steps are still running past their timeout; not starting another"
        )
    box: list[DataResult] = []
    cancel = threading.Event()

    def target() -> None:
        try:
            box.append(work(cancel))
        except BaseException as err:  # noqa: BLE001 - whatever it does, the call gets a result
            box.append(DataFailed(f"{what} failed ({type(err).__name__})"))

    worker = threading.Thread(target=target, name=f"callwright-{what}", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if box:
        return box[0]
    cancel.set()
    with _abandoned_lock:
        _abandoned.add(worker)
    return DataTimedOut(f"{what} took longer than its timeout of {timeout_s:g} s")


# --- http -----------------------------------------------------------------------------------

_client_lock = threading.Lock()
_client: Any = None


def _http_client() -> Any:
    """One pooled client per process (keep-alive: a step costs the remote's latency, not a
    new connection). No proxies from the environment, no redirects (a redirect would carry
    the secret headers to another host)."""
    global _client
    with _client_lock:
        if _client is None:
            import httpx

            _client = httpx.Client(trust_env=False, follow_redirects=False)
        return _client


def _retryable(result: DataResult) -> bool:
    return isinstance(result, DataFailed) and (
        result.status is None or result.status >= 500 or result.status == 429
    )


def http_request(request: HttpRequest) -> DataResult:
    """Send one request (with its retries) within its deadline."""
    deadline = time.monotonic() + request.timeout_s

    def work(cancel: threading.Event) -> DataResult:
        result: DataResult = DataFailed("the request was not sent")
        for attempt in range(request.retries + 1):
            if attempt:
                pause = RETRY_BACKOFF_S * 2 ** (attempt - 1)
                if cancel.wait(min(pause, max(0.0, deadline - time.monotonic()))):
                    break
            remaining = deadline - time.monotonic()
            if remaining <= 0 or cancel.is_set():
                break
            result = _send_once(request, remaining, cancel)
            if not _retryable(result):
                return result
        return result

    return run_bounded(work, request.timeout_s, "the http request")


def _send_once(request: HttpRequest, timeout_s: float, cancel: threading.Event) -> DataResult:
    import httpx

    headers = {"Accept": "application/json", "Accept-Encoding": "identity", **request.headers}
    if request.body is not None:
        headers.setdefault("Content-Type", "application/json")
    try:
        with _http_client().stream(
            request.method,
            request.url,
            headers=headers,
            content=request.body,
            timeout=httpx.Timeout(timeout_s),
        ) as response:
            body = bytearray()
            for chunk in response.iter_raw():
                if cancel.is_set():
                    return DataTimedOut("the http request was stopped at its timeout")
                body += chunk
                if len(body) > MAX_RESPONSE_BYTES:
                    return DataFailed(
                        f"the response is over {MAX_RESPONSE_BYTES:,} bytes (the limit)", response.status_code
                    )
            return http_result(response.status_code, bytes(body))
    except httpx.TimeoutException:
        return DataTimedOut("the server did not answer within the timeout")
    except httpx.InvalidURL:
        return DataFailed("the URL is not valid")
    except httpx.UnsupportedProtocol:
        return DataFailed("the URL is not http:// or https://")
    except httpx.HTTPError as err:
        return DataFailed(f"the request failed ({type(err).__name__})")
    except (ValueError, TypeError, UnicodeError) as err:  # a header or URL httpx cannot send
        return DataFailed(f"the request could not be made ({type(err).__name__})")


# --- functions and secrets ----------------------------------------------------------------


def _load_spec(spec: str, source: str) -> Callable[..., Any]:
    module_name, sep, attr = spec.strip().partition(":")
    if not sep or not module_name or not attr:
        raise CallwrightError(f"{source}: {spec!r} is not module:callable (e.g. pharmacy.lookup:stock)")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as err:
        raise CallwrightError(f"{source}: cannot load {spec!r}: {err}") from None
    if not callable(obj):
        raise CallwrightError(f"{source}: {spec!r} is not callable")
    return obj


def parse_function_specs(items: list[str], source: str) -> dict[str, str]:
    """NAME=module:callable items (the --function option, CALLWRIGHT_FUNCTIONS) by name."""
    out: dict[str, str] = {}
    for item in items:
        if not item.strip():
            continue
        name, sep, spec = item.partition("=")
        if not sep or not name.strip() or ":" not in spec:
            raise CallwrightError(
                f"{source} {item!r}: expected NAME=module:callable, e.g. stock=pharmacy.lookup:stock"
            )
        out[name.strip()] = spec.strip()
    return out


@dataclass
class FunctionRegistry:
    """Functions a flow may call, by name: configured ones first, then entry points."""

    specs: dict[str, str] = field(default_factory=dict)  # name -> module:callable
    loaded: dict[str, Callable[..., Any]] = field(default_factory=dict)

    @classmethod
    def from_config(cls, items: list[str] | None = None) -> FunctionRegistry:
        env = os.environ.get(FUNCTIONS_ENV, "")
        specs = parse_function_specs(env.split(","), FUNCTIONS_ENV)
        specs.update(parse_function_specs(list(items or []), "--function"))
        return cls(specs)

    def resolve(self, name: str) -> Callable[..., Any] | None:
        if name in self.loaded:
            return self.loaded[name]
        if name in self.specs:
            fn = _load_spec(self.specs[name], f"function '{name}'")
        else:
            found = [ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
            if not found:
                return None
            fn = found[0].load()
        self.loaded[name] = fn
        return fn


def call_function(fn: Callable[..., Any], name: str, args: dict[str, Any], timeout_s: float) -> DataResult:
    def work(cancel: threading.Event) -> DataResult:
        try:
            value = fn(**args)
        except Exception as err:  # noqa: BLE001 - a function's fault takes the failure edge
            return DataFailed(f"function '{name}' raised {type(err).__name__}")
        if not _json_safe(value):
            return DataFailed(f"function '{name}' returned {type(value).__name__}, not plain data")
        return DataOk(value)

    return run_bounded(work, timeout_s, f"function '{name}'")


@dataclass
class Secrets:
    """Named secrets: the secrets file (a YAML or JSON mapping) first, then the environment
    (`CALLWRIGHT_SECRET_<NAME>`, the name upper-cased)."""

    values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, path: Path | None = None) -> Secrets:
        path = path or (Path(os.environ[SECRETS_FILE_ENV]) if os.environ.get(SECRETS_FILE_ENV) else None)
        if path is None:
            return cls()
        from callwright.common.source import SourceError
        from callwright.common.source import load as load_source

        try:
            data = load_source(path).data
        except SourceError as err:  # the problems name the line, never a value
            raise CallwrightError("\n".join(str(p) for p in err.problems)) from None
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, (str, int)) for k, v in data.items()
        ):
            raise CallwrightError(f"{path}: a secrets file is a mapping of names to text values")
        return cls({k: str(v) for k, v in data.items()})

    def get(self, name: str) -> str | None:
        if name in self.values:
            return self.values[name]
        return os.environ.get(SECRET_ENV_PREFIX + name.upper())


@dataclass
class LiveData:
    """The real data service: http over the network, functions from the registry."""

    secrets: Secrets = field(default_factory=Secrets)  # the CLI passes Secrets.from_config(...)
    functions: FunctionRegistry = field(default_factory=FunctionRegistry)

    def http(self, state: str, request: HttpRequest) -> DataResult:
        return http_request(request)

    def function(self, state: str, name: str, args: dict[str, Any], timeout_s: float) -> DataResult:
        try:
            fn = self.functions.resolve(name)
        except CallwrightError as err:
            return DataFailed(str(err))
        except Exception as err:  # noqa: BLE001 - an entry point that fails to load
            return DataFailed(f"function '{name}' could not be loaded ({type(err).__name__})")
        if fn is None:
            return DataFailed(
                f"no function '{name}' is registered (entry point group {ENTRY_POINT_GROUP}, "
                "or --function NAME=module:callable)"
            )
        return call_function(fn, name, args, timeout_s)

    def secret(self, name: str) -> str | None:
        return self.secrets.get(name)
