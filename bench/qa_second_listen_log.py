"""Every second listen and screen on the sample calls, and how each call then scores.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/qa_second_listen_log.py DIR [CALL_ID ...] [--no-screen]

Scores each rendered sample call in DIR (scripts/make_sample_calls.py) as
`bench/qa_transcript_wer.py --config pipeline --score` does (one process, one ASR
thread), logging each full listen (utterance start, the item's first phrasing, its
support, the reading kept) and each screen (how many phrasings, what it read), then per
call: the listens and screens made, the `expect` entries met, and the items the second
listen made pass. Run it with PYTHONPATH set to another source tree to compare (a tree
without the screen logs listens only). Counts in docs/benchmarks/qa_pipeline.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["OMP_NUM_THREADS"] = "1"
ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("samples", type=Path, help="folder of rendered sample calls")
    ap.add_argument("only", nargs="*", help="call ids (default: all)")
    ap.add_argument("--no-screen", action="store_true", help="listen in full to every candidate")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    from callwright.qa import second_listen as sl
    from callwright.qa.pipeline import Engines, PipelineOptions, score_path
    from callwright.qa.samples import SAMPLES_DIR, expect_entries, expect_mismatches, load_scripts
    from callwright.qa.scorecard import load_scorecard
    from callwright.speech.asr.whisper import WhisperRecognizer, WhisperSettings

    cards = {
        d: load_scorecard(ROOT / "scorecards" / f)
        for d, f in (("inbound", "inbound-service.yaml"), ("outbound", "outbound-sales.yaml"))
    }
    rec = WhisperRecognizer(settings=WhisperSettings(cpu_threads=1))
    engines = Engines("whisper")
    engines._recognizer = rec
    log: list[dict] = []
    listen_once = sl._listen

    def logged_listen(u, phrases, span, listen, *more):  # noqa: ANN001, ANN002, ANN202
        t = time.process_time()
        r = listen_once(u, phrases, span, listen, *more)
        log.append(
            {
                "listen_at": round(u.start, 1),
                "item": phrases[0],
                "cpu_s": round(time.process_time() - t, 2),
                "support": None if r is None else r.support,
                "reading": None if r is None else r.utterance.text,
            }
        )
        return r

    sl._listen = logged_listen
    screen_once = getattr(rec, "screen_listen", None)
    if screen_once is not None:

        def logged_screen(audio, phrases):  # noqa: ANN001, ANN202
            t = time.process_time()
            r = screen_once(audio, phrases)
            log.append(
                {"screen_phrasings": len(phrases), "cpu_s": round(time.process_time() - t, 2), "read": r}
            )
            return r

        rec.screen_listen = logged_screen  # type: ignore[method-assign]
    settings = sl.SecondListenSettings()
    if args.no_screen and "screen" in sl.SecondListenSettings.__dataclass_fields__:
        settings = sl.SecondListenSettings(screen=False)  # type: ignore[call-arg]
    totals = {"calls": 0, "calls_met": 0, "entries": 0, "entries_met": 0, "listens": 0, "screens": 0}
    for script in load_scripts(SAMPLES_DIR):
        if args.only and script.call_id not in args.only:
            continue
        log.clear()
        path = args.samples / f"{script.call_id}.wav"
        options = PipelineOptions(engine="whisper", second_listen=settings)
        out = score_path(path, cards[script.meta.direction], engines, options=options)
        res = out.scored.result
        wrong = expect_mismatches(
            script,
            {r.item_id: r.verdict for r in res.items},
            res.auto_failed,
            out.scored.metrics,
            out.scored.transcript.diarization,
        )
        n = expect_entries(script)
        listens = sum("listen_at" in e for e in log)
        screens = len(log) - listens
        passed = [r.item_id for r in res.items if r.evidence and r.evidence[0].note.startswith("heard again")]
        for k, v in (("calls", 1), ("calls_met", not wrong), ("entries", n), ("entries_met", n - len(wrong))):
            totals[k] += int(v)
        totals["listens"] += listens
        totals["screens"] += screens
        print(
            f"== {script.call_id}: listens {listens}, screens {screens}, "
            f"CPU {sum(e['cpu_s'] for e in log):.1f} s; expect {n - len(wrong)}/{n} {dict(wrong) or ''}; "
            f"passed by the second listen: {passed}",
            flush=True,
        )
        for e in log:
            print("   ", json.dumps(e), flush=True)
    print(json.dumps(totals))
    return 0


if __name__ == "__main__":
    sys.exit(main())
