"""Where to set the second listen's bar: phrases it recovers against phrases it invents.

Sentences nobody scored against before: bench/scorecard_threshold.py's hand-written
paraphrases of each phrase intent of the sample scorecards, and its other
call-centre talk. Each is spoken by espeak-ng (the sample agents' voice, en-gb at
160 wpm), sent through the telephone channel (8 kHz band, 24 dB SNR line noise,
G.711 mu-law) and transcribed as QA does (Whisper tiny.en, beam 5, the scorecard's
phrases as context). For every (sentence, intent) pair the first reading misses,
the sentence is heard again primed with that intent's phrasings
(`Recognizer.second_listen`). A pair where the sentence is a paraphrase of the
intent is a phrase to recover; any other pair is a phrase the prompt must not
invent. The table gives, for each bar on the support (nats per token against an
unprompted decode), how many of each the second reading would make pass.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/qa_second_listen.py [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from scorecard_threshold import OTHER_TALK, PARAPHRASES  # noqa: E402

BARS = (0.0, -0.1, -0.25, -0.4, -0.55, -0.7, -1.0, -math.inf)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    from callwright.qa.model import Transcript, Utterance
    from callwright.qa.pipeline import asr_context
    from callwright.qa.scorecard import PhraseMatcher, load_scorecard
    from callwright.qa.scorecard.model import PhraseRule
    from callwright.speech.asr.base import TranscribeOptions
    from callwright.speech.asr.whisper import WhisperRecognizer
    from callwright.speech.degrade import telephone
    from callwright.speech.tts import Pyttsx3Synthesizer

    cards = [load_scorecard(ROOT / "scorecards" / n) for n in ("inbound-service.yaml", "outbound-sales.yaml")]
    rules = {
        it.id: PhraseRule(it.rule.phrases, "agent", it.rule.threshold)
        for c in cards
        for it in c.items
        if it.id in PARAPHRASES and isinstance(it.rule, PhraseRule)
    }
    context = [p for c in cards for p in asr_context(c).get("agent", [])]
    sentences = [(intent, s) for intent, ss in PARAPHRASES.items() for s in ss] + [
        (None, s) for s in OTHER_TALK
    ]
    rec = WhisperRecognizer()
    matcher = PhraseMatcher()

    def similarity(text: str, rule: PhraseRule) -> float:
        call = matcher.prepare(Transcript("b", 10.0, [Utterance("agent", 0.0, 5.0, text)]))
        return max((m.similarity for m in call.matches(rule, 10.0)), default=0.0)

    rows = []
    t0 = time.perf_counter()
    with Pyttsx3Synthesizer() as tts:
        for k, (intent, sentence) in enumerate(sentences):
            raw = tts.synthesize(sentence, voice="en-gb", rate_wpm=160, sample_rate=16000)
            audio = telephone(raw, snr_db=24.0, seed=k)
            first = " ".join(r.text for r in rec.transcribe(audio, TranscribeOptions.of(context)))
            for item_id, rule in rules.items():
                row = {
                    "intent": intent,
                    "sentence": sentence,
                    "item": item_id,
                    "positive": intent == item_id,
                    "first": first,
                    "first_sim": round(similarity(first, rule), 4),
                    "threshold": rule.threshold,
                    "second": None,
                    "second_sim": None,
                    "support": None,
                }
                if row["first_sim"] < rule.threshold:
                    again = rec.second_listen(audio, rule.phrases)
                    if again is not None:
                        row.update(
                            second=again.recognition.text,
                            support=again.support,
                            second_sim=round(similarity(again.recognition.text, rule), 4),
                        )
                rows.append(row)
            print(f"{k + 1}/{len(sentences)} {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)

    pos = [r for r in rows if r["positive"]]
    neg = [r for r in rows if not r["positive"]]
    first_pos = sum(r["first_sim"] >= r["threshold"] for r in pos)
    first_neg = sum(r["first_sim"] >= r["threshold"] for r in neg)

    def recovered(group: list[dict], bar: float) -> int:
        return sum(
            r["second_sim"] is not None and r["second_sim"] >= r["threshold"] and r["support"] >= bar
            for r in group
        )

    table = [{"bar": bar, "recovered": recovered(pos, bar), "invented": recovered(neg, bar)} for bar in BARS]
    if args.json:
        print(json.dumps({"rows": rows, "table": table}, indent=1))
        return 0
    print(
        f"{len(sentences)} sentences, {len(rules)} intents: {len(pos)} paraphrase pairs, {len(neg)} other pairs"
    )
    print(f"first reading: {first_pos}/{len(pos)} paraphrases pass, {first_neg}/{len(neg)} others pass\n")
    print("| bar (nats/token) | paraphrases the second listen recovers | other pairs it makes pass |")
    print("|---|---:|---:|")
    for t in table:
        print(
            f"| {t['bar']:g} | {t['recovered']} of {len(pos) - first_pos} missed | {t['invented']} of "
            f"{len(neg) - first_neg} |"
        )
    print("\nsecond readings that pass (support, item, sentence -> reading):")
    for r in sorted(
        (r for r in rows if r["second_sim"] is not None and r["second_sim"] >= r["threshold"]),
        key=lambda r: -r["support"],
    ):
        tag = "RECOVERED" if r["positive"] else "INVENTED "
        print(f"  {tag} {r['support']:+.2f} {r['item']:22} {r['sentence']!r} -> {r['second']!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
