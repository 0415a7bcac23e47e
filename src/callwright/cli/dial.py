"""`callwright dial CAMPAIGN.yaml --sip udp:HOST:PORT`: run an outbound campaign (docs/outbound.md)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import typer

from callwright.cli.options import ENGINE_HELP
from callwright.errors import CallwrightError


def register(app: typer.Typer) -> None:
    app.command("dial")(dial)


MAX_WAIT_LIMIT_S = 7 * 86400.0


def dial(
    campaign_file: Path = typer.Argument(..., help="The campaign file (YAML)."),
    sip: str = typer.Option(
        ...,
        "--sip",
        help="The SIP peer that places the calls: udp:HOST:PORT of a PBX, a trunk's gateway or a phone.",
    ),
    db: Path | None = typer.Option(
        None, "--db", help="Database with the contact list (default $CALLWRIGHT_DB or ./callwright.db)."
    ),
    agents: int | None = typer.Option(
        None, "--agents", help="Available agents (overrides the campaign's pacing.agents; needed for 'acd')."
    ),
    ring_timeout: float = typer.Option(
        30.0, "--ring-timeout", help="Seconds a call may ring before it is cancelled (no answer)."
    ),
    max_wait: float = typer.Option(
        300.0,
        "--max-wait",
        help="Stop when nothing is in flight and no attempt is due within this many seconds.",
    ),
    amd: bool = typer.Option(
        False, "--amd", help="Detect answering machines (the flow gets answered_by: human/machine/unknown)."
    ),
    callbacks: bool = typer.Option(
        False,
        "--callbacks",
        help="Also dial callbacks requested in any flow (this campaign is the callback campaign).",
    ),
    cps: float = typer.Option(10.0, "--cps", help="New calls per second at most (trunks cap the call rate)."),
    bind: str = typer.Option("127.0.0.1", "--bind", help="Our address for SIP and RTP."),
    engine_name: str = typer.Option("auto", "--engine", help=ENGINE_HELP),
    recordings: Path = typer.Option(
        Path("recordings"), "--recordings", help="Folder for call recordings (stereo WAV: contact left)."
    ),
) -> None:
    """Dial a campaign's contact list over SIP: compliance before every attempt, connected calls
    run the campaign's flow. Ctrl-C stops it; every attempt is recorded first."""
    from callwright.outbound.campaign import load_campaign
    from callwright.outbound.dialer import Dialer, SipLines, lines_for
    from callwright.server.sip import parse_listen
    from callwright.store import contacts as cstore
    from callwright.store.db import default_path, open_db

    if not 0 < max_wait <= MAX_WAIT_LIMIT_S:
        raise CallwrightError(f"--max-wait {max_wait:g}: give 1 to {MAX_WAIT_LIMIT_S:g} seconds")
    from callwright.outbound.dialer import MAX_CPS

    if not 0 < cps <= MAX_CPS:
        raise CallwrightError(f"--cps {cps:g}: give more than 0 and at most {MAX_CPS:g} calls a second")
    if agents is not None and not 0 <= agents <= 10_000:
        raise CallwrightError(f"--agents {agents}: give 0 to 10000")
    campaign = load_campaign(campaign_file)
    peer_config = parse_listen(sip)
    if peer_config.port == 0:
        raise CallwrightError(f"--sip {sip}: give the peer's port (udp:HOST:PORT)")
    db_path = db or default_path()
    database = open_db(db_path)
    if not cstore.has_list(database, campaign.list_name):
        raise CallwrightError(
            f"{campaign_file}: list {campaign.list_name!r} is not in {db_path}",
            hint=f"import it: callwright contacts import FILE.csv --list {campaign.list_name} --db {db_path}",
        )
    lines = lines_for(campaign, agents)
    if lines == 0:
        raise CallwrightError("no agents available (--agents 0): nothing to dial")

    from callwright.server.calls import CallServer
    from callwright.server.events import EventLog
    from callwright.server.routing import build_routes
    from callwright.speech.asr.factory import ModelRecognizers
    from callwright.speech.tts import PromptAudio, default_synthesizer

    routes = build_routes([campaign.flow], [], None)
    recognizer = ModelRecognizers(engine_name)  # and the models the campaign's flow names
    synth = default_synthesizer()

    def prompts(name: str) -> PromptAudio:
        return PromptAudio(synth, rate=8000, base_dir=Path(routes.flows[name].path).parent)

    calls = CallServer(
        routes,
        db_path=db_path,
        recordings=recordings,
        recognizer=recognizer,
        prompts=prompts,
        max_calls=lines,
        events=EventLog(),
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        if not stop.is_set():
            typer.echo("stopping: no new calls; ending the calls in progress...", err=True)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with SipLines(
            (peer_config.host, peer_config.port),
            calls,
            caller_id=campaign.caller_id,
            bind_host=bind,
            ring_timeout_s=ring_timeout,
            detect_machines=amd,
        ) as sip_lines:
            typer.echo(
                f"dialing campaign {campaign.name} (list {campaign.list_name}) through"
                f" udp:{peer_config.host}:{peer_config.port} with {lines} line(s)"
            )
            dialer = Dialer(
                database,
                campaign,
                sip_lines,
                max_lines=lines,
                max_wait_s=max_wait,
                callbacks=callbacks,
                cps=cps,
                report=typer.echo,
            )
            summary = dialer.run(stop)
            calls.shutdown(grace_s=5.0)
            jitter = sip_lines.send_jitter_ms()
            rtp = dict(sip_lines.rtp)
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    results = ", ".join(f"{k} {v}" for k, v in sorted(summary.results.items())) or "none"
    refused = ", ".join(f"{k} {v}" for k, v in sorted(summary.refusals.items())) or "none"
    typer.echo(
        f"{summary.attempts} attempt(s): {results}; refused: {refused}; opted out: {summary.opted_out}"
    )
    if jitter.get("ticks"):
        typer.echo(
            f"RTP clock lateness: p50 {jitter['p50']:.1f} ms, p99 {jitter['p99']:.1f} ms,"
            f" max {jitter['max']:.1f} ms;"
            f" most lines in flight {summary.max_in_flight}"
        )
    if rtp.get("calls"):
        typer.echo(
            f"RTP received: {rtp.get('packets_in', 0)} packets in {rtp['calls']} call(s),"
            f" lost {rtp.get('lost', 0)}, late (dropped) {rtp.get('late', 0)}"
        )
    if summary.left:
        typer.echo(f"{summary.left} contact(s) due later: run again to dial them")
    if summary.stopped:
        typer.echo("stopped before the campaign was done; every attempt so far is recorded")
        raise typer.Exit(130)
