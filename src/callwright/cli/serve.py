"""`callwright serve FLOW [FLOW...]`: the IVR server for real calls (see docs/telephony.md)."""

from __future__ import annotations

from pathlib import Path

import typer

from callwright.cli.options import ENGINE_HELP, MODEL_HELP, TTS_HELP
from callwright.errors import CallwrightError


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


REVIEW_APP_PATH = "/qa"


def serve(
    flows: list[Path] = typer.Argument(..., help="Flow files to serve; the first answers unrouted calls."),
    db: Path | None = typer.Option(
        None, "--db", help="Call log database (default $CALLWRIGHT_DB or ./callwright.db)."
    ),
    audiosocket: str | None = typer.Option(
        None,
        "--audiosocket",
        help="Answer Asterisk AudioSocket() calls on HOST:PORT (e.g. 127.0.0.1:9092).",
    ),
    sip: str | None = typer.Option(
        None,
        "--sip",
        help="Answer SIP calls on udp:HOST:PORT (e.g. udp:127.0.0.1:5062); see docs/telephony-sip.md.",
    ),
    http: str | None = typer.Option(
        None,
        "--http",
        help="Serve HTTP on HOST:PORT (e.g. 127.0.0.1:8080): GET /health, and the page at /call/ "
        "where a browser calls the flows (WebRTC).",
    ),
    route: list[str] = typer.Option(
        [], "--route", help="NUMBER=FLOW: calls to this number go to this flow (repeatable)."
    ),
    routes_file: Path | None = typer.Option(
        None, "--routes", help="YAML routes file: `routes: {NUMBER: FLOW}` and an optional `default: FLOW`."
    ),
    max_calls: int | None = typer.Option(
        None, "--max-calls", help="Calls in progress at once; more are refused as busy (default 20)."
    ),
    grace: float = typer.Option(
        30.0, "--grace", help="Seconds calls in progress get to finish on SIGINT/SIGTERM."
    ),
    engine_name: str = typer.Option("auto", "--engine", help=ENGINE_HELP),
    model: str | None = typer.Option(None, "--model", help=MODEL_HELP),
    tts: str = typer.Option("espeak", "--tts", help=TTS_HELP),
    recordings: Path = typer.Option(
        Path("recordings"), "--recordings", help="Folder for call recordings (stereo WAV: caller left)."
    ),
    review_app: bool = typer.Option(
        False,
        "--review-app",
        help="Also serve the QA review web app at /qa/ on --http, over the same database.",
    ),
    queue_wait: list[str] = typer.Option(
        [],
        "--queue-wait",
        help="Expected wait per queue, QUEUE=SECONDS (repeatable), for callback offers "
        "(no ACD runs with the server; see docs/flows.md, queue).",
    ),
) -> None:
    """Answer calls: each is routed to a flow by the number dialled. Stops on Ctrl-C / SIGTERM.

    One JSON line per event goes to stderr (calls starting and ending, routes, refusals,
    peers that broke the protocol). Listeners bind 127.0.0.1 unless an address says otherwise.
    """
    from callwright.server.app import (
        AUDIOSOCKET_PORT,
        HTTP_PORT,
        AudioSocketService,
        ServerApp,
        Service,
        parse_address,
        serve_forever,
    )
    from callwright.server.calls import MAX_CALLS, MAX_CALLS_LIMIT, CallServer
    from callwright.server.events import EventLog
    from callwright.server.routing import build_routes
    from callwright.store.db import default_path

    if review_app and http is None:
        raise CallwrightError("--review-app needs --http HOST:PORT (the app is served there, at /qa/)")
    if audiosocket is None and http is None and sip is None:
        raise CallwrightError(
            "nothing to listen on: give --sip udp:127.0.0.1:5062, --audiosocket 127.0.0.1:9092 (Asterisk)"
            " and/or --http 127.0.0.1:8080"
        )
    if max_calls is not None and not 1 <= max_calls <= MAX_CALLS_LIMIT:
        raise CallwrightError(f"--max-calls {max_calls}: give 1 to {MAX_CALLS_LIMIT}")
    if not 0 <= grace <= 3600:
        raise CallwrightError(f"--grace {grace:g}: give 0 to 3600 seconds")
    as_addr = parse_address(audiosocket, "--audiosocket", AUDIOSOCKET_PORT) if audiosocket else None
    http_addr = parse_address(http, "--http", HTTP_PORT) if http else None
    from callwright.server.sip import parse_listen

    sip_config = parse_listen(sip) if sip else None
    from callwright.cli.call import parse_queue_waits
    from callwright.ivr.queues import ConfiguredWaits

    waits = ConfiguredWaits(parse_queue_waits(queue_wait))  # a malformed --queue-wait: said before binding
    routes = build_routes(flows, route, routes_file)  # every flow checked first (exit 2 on errors)

    from callwright.speech.asr.factory import ModelRecognizers
    from callwright.speech.tts import PromptAudio, get_synthesizer

    synth = get_synthesizer(tts)
    synth.voices()  # a TTS server that is down or not one: said now, not at the first call
    # loaded once, shared by every call; the models the flows name are loaded by the server
    recognizer = ModelRecognizers(engine_name, model)
    rate = 8000

    def prompts(name: str) -> PromptAudio:
        return PromptAudio(synth, rate=rate, base_dir=Path(routes.flows[name].path).parent)

    events = EventLog()
    calls = CallServer(
        routes,
        db_path=db or default_path(),
        recordings=recordings,
        recognizer=recognizer,
        prompts=prompts,
        max_calls=max_calls if max_calls is not None else MAX_CALLS,
        events=events,
        queue_status=waits,
    )
    services: list[Service] = []
    if as_addr is not None:
        services.append(AudioSocketService(as_addr))
    if sip_config is not None:
        from callwright.server.sip.service import SipService

        services.append(SipService(sip_config))
    app = ServerApp(calls, services=services, http=http_addr, events=events, grace_s=grace)
    if http_addr is not None:  # the call page at /call/: browsers call the flows over WebRTC
        from callwright.server.webrtc.service import add_browser_calls

        add_browser_calls(app, routes)
        if review_app:  # one process, one database: the calls it answers are the calls reviewed there
            from starlette.routing import Mount

            from callwright.web.app import create_app

            qa_app = create_app(db or default_path(), root_path=REVIEW_APP_PATH)
            app.http_app.router.routes.append(Mount(REVIEW_APP_PATH, app=qa_app))
    serve_forever(app)
