"""Edited copies of labelled calls whose labels hold by construction.

Each edit changes one thing in a call (in the transcript import format of
scripts/harper_to_transcripts.py) and says what the labels become:

- remove:ITEM      every occurrence of the item's phrase is cut out -> ITEM fails
- paraphrase:ITEM  the phrase is replaced by a paraphrase written here -> ITEM passes
- moved:ITEM       the phrase is cut out and said again outside the item's time window -> ITEM fails
- insert:verify-identity     an identity question (paraphrased) is added mid-call -> passes
- near-miss:verify-identity  a question about the request ("which account...") is added -> unchanged
- insert:FORBIDDEN           a forbidden sentence (worded unlike the examples) is added -> fails
- near-miss:FORBIDDEN        a firm but polite sentence is added -> unchanged (passes)
- angry:customer-end         the caller's last two turns are made angry -> customer-end fails

The phrases are found with hand-written patterns over the human transcripts
(`PATTERNS`), not with the matcher under test. Paraphrases and inserted sentences
come in two pools: calls of the dev split draw from `dev`, held-out calls from
`held`, so the held-out figures are on wordings never used for tuning.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

Call = dict[str, Any]
Labels = dict[str, str]

WINDOWS = {"greeting": ("first", 20.0), "agent-name": ("first", 20.0), "opening-offer": ("first", 30.0),
           "further-help": ("last", 30.0), "closing": ("last", 20.0)}  # fmt: skip
"""The bank scorecard's time windows (scorecards/bank.yaml), for the moved edits."""

PATTERNS = {
    "greeting": r"\b(hello )?this is h\w+ val\w+ national bank\b",
    "agent-name": r"\bmy name is [a-z]+\b",
    "opening-offer": r"\bhow can i help you today\b",
    "further-help": r"\b(and )?(okay )?is there anything else (that )?(i can help you with|you need help with)( today)?\b",
    "closing": r"\b(thank you|thanks|have a (great|good|nice) day|bye)\b.*$",
}
"""Where each phrase item is said in the Harper Valley calls (agent turns only; closing: last 20 s)."""

POOLS: dict[str, dict[str, list[str]]] = {
    "paraphrase:greeting": {
        "dev": [
            "good afternoon harper valley national bank",
            "hi you've reached harper valley national bank",
        ],
        "held": [
            "thanks for calling harper valley national bank",
            "harper valley national bank good morning",
        ],
    },
    "paraphrase:agent-name": {
        "dev": ["i'm {agent}", "{agent} speaking"],
        "held": ["you're through to {agent}", "this is {agent}"],
    },
    "paraphrase:opening-offer": {
        "dev": ["what can i help you with", "how may i help"],
        "held": ["what can i do for you", "how can i assist you this afternoon"],
    },
    "paraphrase:further-help": {
        "dev": ["anything else?", "can i help with anything more today"],
        "held": ["anything else i can do for you", "is there something more i can help with"],
    },
    "paraphrase:closing": {
        "dev": ["thanks so much take care", "have a wonderful day goodbye"],
        "held": ["thanks for banking with us enjoy your day", "thank you and goodbye"],
    },
    "insert:verify-identity": {
        "dev": [
            "before we start can i get your date of birth please",
            "could you give me the name and zip code on the account",
            "can you confirm the last four digits of your social",
        ],
        "held": [
            "for security can you tell me your mother's maiden name",
            "can i have the phone number on file for you",
            "please confirm your full name and billing address",
        ],
    },
    "near-miss:verify-identity": {
        "dev": ["which account do you mean", "what is the name of the company you are paying"],
        "held": ["is that your checking or your savings account", "what's the payee's address"],
    },
    "insert:no-dismissive": {
        "dev": [
            "look i really can't be bothered with this right now",
            "honestly that sounds like a you problem",
            "i'm not going to repeat myself again",
        ],
        "held": [
            "you people never read anything do you",
            "just figure it out yourself",
            "that's ridiculous i'm not dealing with this",
        ],
    },
    "near-miss:no-dismissive": {
        "dev": ["i'm sorry but i can't waive that fee", "let me check that for you it will take a moment"],
        "held": ["unfortunately that branch is closed on sundays", "i understand that is frustrating"],
    },
    "insert:no-credential-request": {
        "dev": ["can you read me your four digit pin", "what password do you use to log in"],
        "held": ["i'll need your online banking password", "tell me your pin and i'll unlock it"],
    },
    "near-miss:no-credential-request": {
        "dev": ["a reset link is on its way to your phone", "never share your pin with anyone"],
        "held": ["you can change your password in the app", "your new pin will arrive by mail"],
    },
    "angry:customer-end": {
        "dev": [
            "this is absolutely useless you wasted my time",
            "i am really angry this is terrible service",
        ],
        "held": [
            "this is the worst bank i have ever dealt with",
            "i'm furious nobody here can help me",
        ],
    },
}
"""Sentences written for these edits (none copies a scorecard example)."""


def held_out(call_id: str) -> bool:
    """The split, fixed before any tuning: held-out when the id's hash is 0 mod 3."""
    return int(hashlib.sha256(call_id.encode()).hexdigest()[:8], 16) % 3 == 0


@dataclass(frozen=True)
class Variant:
    name: str  # "original" or "kind:item"
    call: Call
    labels: Labels
    judged: tuple[str, ...] = ()  # the items this edit is judged on (empty: the item in its name)
    sentence: str | None = None  # the held-out sentence it carries (heldout2_variants)


def _pick(pool: str, call: Call, k: int = 0) -> str:
    entries = POOLS[pool]["held" if held_out(call["call_id"]) else "dev"]
    h = int(hashlib.sha256(f"{call['call_id']}{pool}".encode()).hexdigest()[:8], 16)
    return entries[(h + k) % len(entries)].replace("{agent}", str(call.get("agent", "")).lower())


def _segment(speaker: str, start: float, text: str) -> dict[str, Any]:
    return {"speaker": speaker, "start": round(start, 3), "end": round(start + 0.35 * len(text.split()), 3),
            "text": text}  # fmt: skip


def _insert(call: Call, seg: dict[str, Any]) -> Call:
    out = copy.deepcopy(call)
    out["segments"].append(seg)
    out["segments"].sort(key=lambda s: (s["start"], s["end"]))
    out["duration_s"] = max(out["duration_s"], seg["end"])
    return out


def _in_scope(item: str, seg: dict[str, Any], duration: float) -> bool:
    if seg["speaker"] != "agent":
        return False
    return item != "closing" or seg["end"] > duration - WINDOWS["closing"][1]


def replace_phrase(call: Call, item: str, replacement: str | None) -> tuple[Call, list[str]]:
    """The call with every occurrence of the item's phrase cut out (or replaced), and what was cut.

    Works on word lists so that each segment's word times stay aligned with its text; a
    replacement spreads over the cut words' time span; a segment left empty is dropped."""
    out = copy.deepcopy(call)
    cut: list[str] = []
    pattern = re.compile(PATTERNS[item])
    kept = []
    for seg in out["segments"]:
        if not _in_scope(item, seg, call["duration_s"]):
            kept.append(seg)
            continue
        words = seg["text"].split()
        times = [(w["start"], w["end"]) for w in seg.get("words", [])] or None
        while True:
            text = " ".join(words)
            m = pattern.search(text)
            if not m or m.end() == m.start():
                break
            a = len(text[: m.start()].split())
            b = a + len(m.group().split())
            cut.append(" ".join(words[a:b]))
            new = replacement.split() if replacement else []
            if times is not None:
                t0, t1 = times[a][0], times[b - 1][1]
                n = max(len(new), 1)
                new_times = [(t0 + (t1 - t0) * i / n, t0 + (t1 - t0) * (i + 1) / n) for i in range(len(new))]
                times = times[:a] + new_times + times[b:]
            words = words[:a] + new + words[b:]
            if replacement:
                break  # one paraphrase per segment: the pattern could match the replacement again
        if not words:
            continue
        seg["text"] = " ".join(words)
        if times is not None:
            seg["words"] = [{"word": w, "start": round(s, 3), "end": round(e, 3)}
                            for w, (s, e) in zip(words, times, strict=True)]  # fmt: skip
        kept.append(seg)
    out["segments"] = kept
    return out, cut


def variants(call: Call, labels: Labels) -> Iterator[Variant]:
    """The original and every edit that applies to this call, each with its labels."""
    yield Variant("original", call, dict(labels))
    duration = call["duration_s"]
    for item in PATTERNS:
        if labels.get(item) != "pass":
            continue
        removed, cut = replace_phrase(call, item, None)
        if not cut:
            continue
        yield Variant(f"remove:{item}", removed, {**labels, item: "fail"})
        para, _ = replace_phrase(call, item, _pick(f"paraphrase:{item}", call))
        yield Variant(f"paraphrase:{item}", para, {**labels, item: "pass"})
        side, window = WINDOWS[item]
        if side == "first" and duration >= window + 10:
            start = window + 5
        elif side == "last" and duration - window - 4 >= 0:
            start = duration - window - 4
        else:
            continue
        moved = _insert(removed, _segment("agent", start, cut[0]))
        if side == "last":
            moved["duration_s"] = duration  # the window is measured from the original end
            if moved["segments"][-1]["end"] > duration:
                continue
        yield Variant(f"moved:{item}", moved, {**labels, item: "fail"})
    mid = duration / 2
    if labels.get("verify-identity") == "fail":
        ins = _insert(call, _segment("agent", mid, _pick("insert:verify-identity", call)))
        yield Variant("insert:verify-identity", ins, {**labels, "verify-identity": "pass"})
    near = _insert(call, _segment("agent", mid, _pick("near-miss:verify-identity", call)))
    yield Variant("near-miss:verify-identity", near, dict(labels))
    for item in ("no-dismissive", "no-credential-request"):
        if labels.get(item) != "pass":
            continue
        bad = _insert(call, _segment("agent", mid, _pick(f"insert:{item}", call)))
        yield Variant(f"insert:{item}", bad, {**labels, item: "fail"})
        ok = _insert(call, _segment("agent", mid, _pick(f"near-miss:{item}", call)))
        yield Variant(f"near-miss:{item}", ok, dict(labels))
    if labels.get("customer-end") == "pass":
        angry = copy.deepcopy(call)
        said = [s for s in angry["segments"] if s["speaker"] == "customer"]
        # every caller turn the sentiment item reads (the last quarter), and at least the last two
        turns = [s for k, s in enumerate(said) if s["start"] >= 0.75 * duration or k >= len(said) - 2]
        for k, seg in enumerate(turns):
            seg["text"] = _pick("angry:customer-end", call, k)
            seg.pop("words", None)
        if turns:
            yield Variant("angry:customer-end", angry, {**labels, "customer-end": "fail"})


# ---- the second held-out set (heldout2_sentences.yaml), written before the tuning of issue 17 item 2

HELDOUT2_FILE = Path(__file__).resolve().parent / "heldout2_sentences.yaml"
H2_CALLS_PER_SENTENCE = 3
H2_FORBIDDEN = ("no-dismissive", "no-credential-request")
H2_INSERTED: dict[str, str | None] = {
    "dismissive": "no-dismissive",  # the item whose label becomes fail (None: nothing changes)
    "polite": None,
    "credential_mention": None,
    "credential_request": "no-credential-request",
}
H2_REPLACED = {"closing": "closing", "further_help": "further-help"}


# Each set was written before the round it judged and is seen after it; the seen sets are also
# conduct training files (scripts/conduct_heldout_data.py): heldout2-11, which both classifiers
# read, and heldout12-13, which none reads yet (round fourteen). Only heldout14 and later are clean.
HELDOUT_FILES = {
    "heldout2": (HELDOUT2_FILE,),
    # the third held-out set: written by two writers apart, before the tuning that followed heldout2
    "heldout3": tuple(sorted(HELDOUT2_FILE.parent.glob("heldout3*_sentences.yaml"))),
    # the fourth held-out set: written by two writers apart, before the tuning that follows heldout3
    "heldout4": tuple(sorted(HELDOUT2_FILE.parent.glob("heldout4*_sentences.yaml"))),
    # the fifth held-out set: written by two writers apart, before the tuning that follows heldout4
    "heldout5": tuple(sorted(HELDOUT2_FILE.parent.glob("heldout5*_sentences.yaml"))),
    # the sixth held-out set: written by two writers apart (Vosk's style; regional Englishes),
    # before the tuning that follows heldout5 (session 7)
    "heldout6": tuple(sorted(HELDOUT2_FILE.parent.glob("heldout6*_sentences.yaml"))),
    # the seventh held-out set: written by two writers apart (after redaction, with tags and
    # brands; US regional and social Englishes), before session 8's changes to the classifiers
    "heldout7": tuple(sorted(HELDOUT2_FILE.parent.glob("heldout7*_sentences.yaml"))),
    # the eighth held-out set: written by two writers apart (outbound calls; clipped one-liners
    # and long rambling turns), before session 9's changes
    "heldout8": tuple(sorted(HELDOUT2_FILE.parent.glob("heldout8*_sentences.yaml"))),
    # the ninth held-out set: written by two writers apart (offshore contact centres' English;
    # verbatim disfluent speech and raw recogniser output), before session 10's changes
    "heldout9": tuple(sorted(HELDOUT2_FILE.parent.glob("heldout9*_sentences.yaml"))),
    # the tenth held-out set: written by two writers apart (US Hispanic-market and Caribbean
    # agents; private banking and corporate registers), before round seven of training data
    "heldout10": tuple(sorted(HELDOUT2_FILE.parent.glob("heldout10*_sentences.yaml"))),
    # the eleventh held-out set: written by two writers apart (UK, Irish, Australian and New
    # Zealand collections, fraud and bereavement teams; young agents at app-only banks), before
    # session 11's changes
    "heldout11": tuple(sorted(HELDOUT2_FILE.parent.glob("heldout11*_sentences.yaml"))),
    # the twelfth held-out set: written by two writers apart (rural US community banks, farm
    # credit and military credit unions; calls through an interpreter, a relay operator or a
    # relative, and bad lines), before session 12's changes
    "heldout12": tuple(sorted(HELDOUT2_FILE.parent.glob("heldout12*_sentences.yaml"))),
    # the thirteenth held-out set: written by two writers apart (digital banking technical
    # support and card services; escalation and complaints desks), before session 13's changes
    "heldout13": tuple(sorted(HELDOUT2_FILE.parent.glob("heldout13*_sentences.yaml"))),
    # the fourteenth held-out set: written by two writers apart (bereavement, power-of-attorney and
    # vulnerable-customer desks; small-business and merchant-services desks), before session 14's
    # changes
    "heldout14": tuple(sorted(HELDOUT2_FILE.parent.glob("heldout14*_sentences.yaml"))),
    # the fifteenth held-out set: written by two writers apart (US mortgage-servicing and
    # payment-hardship desks; an Australian and New Zealand bank's after-hours card-emergency
    # line), before session 15's changes
    "heldout15": tuple(sorted(HELDOUT2_FILE.parent.glob("heldout15*_sentences.yaml"))),
    # the sixteenth held-out set: written by two writers apart (a US credit union's student and
    # young-adult line; a South African retail bank's call centre), before session 16's decision
    # on the dismissive classifier's three-model panel
    "heldout16": tuple(sorted(HELDOUT2_FILE.parent.glob("heldout16*_sentences.yaml"))),
    # the seventeenth held-out set: written by two writers apart (a US discount brokerage's retail
    # line; a Canadian bank's telephone banking in Atlantic Canada and the Prairies), in session 16
    # after heldout16 was run, for the next decision
    "heldout17": tuple(sorted(HELDOUT2_FILE.parent.glob("heldout17*_sentences.yaml"))),
    # the eighteenth held-out set: written by two writers apart (a US auto-loan servicer and a
    # card-disputes line; bank contact centres in Singapore, Malaysia and the Philippines), in
    # session 17 before its further-help cues were judged
    "heldout18": tuple(sorted(HELDOUT2_FILE.parent.glob("heldout18*_sentences.yaml"))),
}


def load_heldout2(path: Path = HELDOUT2_FILE) -> dict[str, list[str]]:
    data = yaml.safe_load(path.read_text("utf-8"))
    unknown = set(data) - set(H2_INSERTED) - set(H2_REPLACED)
    if unknown:
        raise ValueError(f"{path}: unknown pools {sorted(unknown)}")
    return {k: [str(s) for s in v] for k, v in data.items()}


def load_heldout(split: str) -> dict[str, list[str]]:
    """The sentence pools of a held-out split of this shape, its files merged pool by pool."""
    files = HELDOUT_FILES[split]
    if not files:
        raise ValueError(f"no sentence files for {split} in {HELDOUT2_FILE.parent}")
    pools: dict[str, list[str]] = {}
    for path in files:
        for pool, sentences in load_heldout2(path).items():
            pools.setdefault(pool, []).extend(sentences)
    return pools


def _appended(call: Call, text: str) -> Call:
    """The sentence added to the end of the agent turn nearest mid-call (its word times dropped:
    the utterance's times are then spread evenly), as real agents say it inside a longer turn."""
    out = copy.deepcopy(call)
    mid = call["duration_s"] / 2
    agent = [s for s in out["segments"] if s["speaker"] == "agent"]
    seg = min(agent, key=lambda s: abs((s["start"] + s["end"]) / 2 - mid))
    seg["text"] = f"{seg['text']} {text}"
    seg.pop("words", None)
    return out


def _rank(key: str, call_id: str) -> str:
    return hashlib.sha256(f"{key}|{call_id}".encode()).hexdigest()


def heldout2_variants(calls: Mapping[str, tuple[Call, Labels]], pools: Mapping[str, list[str]]
                      ) -> Iterator[tuple[str, Variant]]:  # fmt: skip
    """(call id, edited call) for every sentence of the second held-out set, each in
    `H2_CALLS_PER_SENTENCE` calls it applies to (picked by hash, so the choice is fixed)."""
    for pool, sentences in pools.items():
        for i, sentence in enumerate(sentences):
            if pool in H2_INSERTED:
                eligible = [
                    cid for cid, (_, lab) in calls.items() if all(lab.get(x) == "pass" for x in H2_FORBIDDEN)
                ]
            else:
                item = H2_REPLACED[pool]
                eligible = [cid for cid, (c, lab) in calls.items()
                            if lab.get(item) == "pass" and replace_phrase(c, item, None)[1]]  # fmt: skip
            for k, cid in enumerate(
                sorted(eligible, key=lambda c: _rank(f"{pool}:{i}", c))[:H2_CALLS_PER_SENTENCE]
            ):
                call, labels = calls[cid]
                if pool in H2_INSERTED:
                    target = H2_INSERTED[pool]
                    if (i + k) % 2 == 0:
                        edited = _insert(call, _segment("agent", call["duration_s"] / 2, sentence))
                    else:
                        edited = _appended(call, sentence)
                    new = {**labels, target: "fail"} if target else dict(labels)
                    yield cid, Variant(f"h2-{pool}:{target or 'none'}", edited, new, H2_FORBIDDEN, sentence)
                else:
                    item = H2_REPLACED[pool]
                    edited, _ = replace_phrase(call, item, sentence)
                    yield (
                        cid,
                        Variant(f"h2-{pool}:{item}", edited, {**labels, item: "pass"}, (item,), sentence),
                    )
