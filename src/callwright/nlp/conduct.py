"""Conduct classifiers: is a stretch of agent speech dismissive? Does it ask for a credential?

Sentence similarity to a list of forbidden examples does not capture a category: rude,
blaming, impatient or sarcastic speech, or a request for the caller's password or PIN, is
worded in too many ways, and an example list either misses most of them or, with a low
threshold, flags polite refusals and mere mentions of a PIN. A small head over the same
MiniLM sentence vectors the phrase matcher already computes for every stretch of speech
learns the category from labelled sentences (data/conduct.yaml, conduct_round4.yaml and
conduct_round5.yaml, a file per round of writing) at the cost of a dot product or two per
stretch.

Each classifier (`SPECS`) names the training files it reads (`Spec.data_files`, list by list
in order), the lists that are its positives and negatives and the head it uses: a logistic
regression, or one hidden layer of ReLUs where that generalised better to unseen wording
(docs/qa-real-calls.md has the figures). The trained head is stored in data/<name>_head.json
with the hash of its training files, a fingerprint of the encoder it was trained on and the
threshold cross-validation suggested: loading it on another encoder (a different vector space)
or after the data changed is an error, not confident nonsense. Retrain with
`python -m callwright.nlp.conduct --write`.

A classifier whose `Spec.tuned_layers` is set (dismissive, credential_request) is instead a
fine-tuned model: the encoder's top layers and a linear layer, trained on the same sentences by
callwright.nlp.conduct_model and stored in models/conduct/; `--write` trains it too.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from callwright.errors import DataError, ModelNotFoundError

if TYPE_CHECKING:  # pragma: no cover
    from callwright.nlp.embeddings import Encoder


# The training sentences, one file per round of writing (each file's header says who wrote it and
# under which rules): rounds 1-3, then rounds 4 to 7, then the seen held-out sets heldout2-11
# (written by about twenty writers apart) and heldout12-13 (four more), batch by batch
# (scripts/conduct_heldout_data.py joins each batch's sets).
DATA_FILE = "conduct.yaml"
ROUND4_FILE = "conduct_round4.yaml"
HELDOUTS_FILE = "conduct_heldouts.yaml"
HELDOUTS_ROUND9_FILE = "conduct_heldouts_round9.yaml"
DATA_FILES = (
    DATA_FILE,
    ROUND4_FILE,
    "conduct_round5.yaml",
    "conduct_round6.yaml",
    "conduct_round7.yaml",
    HELDOUTS_FILE,
    HELDOUTS_ROUND9_FILE,
)
DataPaths = Path | str | Sequence[Path | str]


@dataclass(frozen=True)
class Partner:
    """A second opinion on the stretches a classifier's first model finds suspect: a model
    fine-tuned on the same sentences with `tuned_layers` tuned layers, on the matcher's MiniLM
    (`encoder` None) or on another sentence encoder (a callwright.nlp.text_models name), whose
    errors overlap the first's less."""

    tuned_layers: int
    encoder: str | None = None

    @property
    def tag(self) -> str:
        """Its model's file stem after the classifier's name: `top<k>`, or `<encoder>.top<k>`."""
        top = f"top{self.tuned_layers}"
        return top if self.encoder is None else f"{self.encoder}.{top}"


@dataclass(frozen=True)
class Spec:
    """One classifier: what it catches, which lists of its data files are its positives and
    negatives, and its head's shape (`hidden` ReLUs; 0 is a logistic regression)."""

    description: str
    positive: tuple[str, ...]
    negative: tuple[str, ...]
    hidden: int = 0
    ensemble: int = 1  # hidden-layer heads from seeds SEED, SEED+1, ...: their logits averaged
    l2: float | None = None  # the hidden-layer head's penalty (None: MLP_L2)
    # > 0: the classifier is a fine-tuned model (callwright.nlp.conduct_model: the encoder's top
    # `tuned_layers` layers and a linear layer, stored in models/conduct/), not a head over the
    # pooled vector (`hidden` then unused)
    tuned_layers: int = 0
    # also train on real agents' turns as negatives where the data is present (`real_agent_turns`:
    # the Harper Valley dev calls' agent speech, read from ../shared/data, never copied in)
    real_negatives: bool = False
    # the training files in data/, read list by list in this order (`load_sentences`); the stored
    # model records their hash (`data_hash`), so a model trained on older rounds stays valid
    # beside one trained on newer rounds
    data_files: tuple[str, ...] = DATA_FILES
    # more fine-tuned models on the same data (callwright.nlp.conduct_model `ConductPanel`): where
    # the first model rates a stretch at least `PAIR_GATE`, the classifier's rating is the mean of
    # the first's and theirs
    partners: tuple[Partner, ...] = ()


# An ensemble of hidden layers from several seeds, logits averaged (`Spec.ensemble`, stored as one
# wider layer), was measured for the dismissive head: five seeds gave the same missed/false-alarm
# trade-off on heldout2/heldout3 as one, at five times the head's cost (docs/benchmarks.md, round
# four: dismissive), so one. A penalty of 1e-2 instead of MLP_L2 did no better either.
ENSEMBLE = 1

SPECS: dict[str, Spec] = {
    "dismissive": Spec(
        "rude, blaming, impatient, sarcastic, condescending or brushing-off speech",
        positive=("dismissive",),
        negative=("polite", "credential_mention", "credential_request"),
        hidden=64,
        ensemble=ENSEMBLE,
        tuned_layers=2,
        # the 4-layer model alone flags fewer innocent calls and misses more; the mean of both
        # misses a quarter fewer at no more false alarms (seen sets heldout4-10,
        # docs/qa-real-calls.md, round eleven). Since round sixteen a third model joins them:
        # all-mpnet-base-v2 with its top layer tuned, a larger encoder that errs on other
        # sentences, run on all of a pass's gated stretches at once (in bfloat16 where the CPU has
        # it). On the clean sets the mean of the three missed 19 -> 12 of 330 insertions (heldout16)
        # and 24 -> 19 (heldout17), flagging 42 -> 43 and 27 -> 30 of 600 innocent calls, for 9-12 %
        # more CPU a call (docs/qa-real-calls.md, round sixteen)
        partners=(Partner(4), Partner(1, "all-mpnet-base-v2")),
        # rounds 1-7 and the seen sets heldout2-11: with them the pair missed 24 -> 20 of 330
        # insertions and flagged 66 -> 56 of 600 innocent calls on the clean heldout12
        # (docs/qa-real-calls.md, round twelve). Retrained on heldout12-13 too it missed 25 -> 36
        # of 330 on the clean heldout14 and passed 4 inserted sentences on real calls: not kept
        # (round fourteen; branch dismissive-seen-heldout13)
        data_files=DATA_FILES[:6],
    ),
    "credential_request": Spec(
        "asking the caller to say or type their password, PIN, passcode or login",
        positive=("credential_request",),
        negative=("polite", "credential_mention", "dismissive"),
        tuned_layers=2,
        # rounds 1-6 and the seen sets heldout2-11, not round seven (trained on it too it flagged
        # fewer innocent calls but missed more requests on the seen sets, 20 against 15 of 972 at
        # 0.3: docs/qa-real-calls.md, round ten). With heldout2-11 the clean heldout12, 13 and 14
        # together missed 19 -> 17 of 450 requests and flagged 91 -> 39 of 2,340 innocent calls
        # (round fourteen)
        data_files=(*DATA_FILES[:4], HELDOUTS_FILE),
        # a pair as for dismissive: at 0.3 on the seen sets heldout4-10 missed 26 -> 19 of 1,122
        # requests, flagged 247 -> 246 of 5,109 innocent calls (docs/qa-real-calls.md, round eleven)
        partners=(Partner(4),),
    ),
}
# Where the first model of a panel rates a stretch under this, its partners are not run and the first's
# rating stands: about 95 % of an agent's stretches rate under it, so the panel costs little more
# than one model (on the seen sets heldout4-10 at 0.5 the gate changed 8 of 6,231 verdicts against
# always both).
PAIR_GATE = 0.01
CLASSIFIERS: dict[str, str] = {name: spec.description for name, spec in SPECS.items()}
"""The classifiers a scorecard may name (`classifier:` on a forbidden item), with what they catch."""

FORMAT = "callwright-conduct-head/2"
L2 = 0.1  # ridge penalty on the weights (not the biases); 0.03-0.3 differ little in cross-validation
MLP_L2 = 1e-3  # the hidden-layer head's penalty (per weight, on the mean loss)
NEWTON_STEPS = 50
ADAM_STEPS = 400
ADAM_RATE = 0.01
SEED = 0  # the hidden layer's initial weights: fixed, so retraining gives the same head
FOLDS = 5  # cross-validation folds for the suggested threshold
# A call is judged on all of its agent stretches, so a per-stretch false alarm rate counts about
# this many times (the median of rated agent stretches in the Harper Valley dev calls is 9)
STRETCHES_PER_CALL = 10
THRESHOLD_GRID = tuple(round(0.3 + 0.05 * k, 2) for k in range(14))  # 0.3 ... 0.95
DEFAULT_CLASSIFIER_THRESHOLD = 0.5
# The matcher rates stretches, not sentences: windows of 5 words every 2 and of 10 every 5 (as
# qa.scorecard.matching.span_ranges cuts them), across sentence ends when the transcript has no
# punctuation. Pieces of other speech are not positives either, so windows of pairs of negative
# sentences run together are added as negatives: without them a fragment such as "name is michael
# how can" reads as curt. A positive said inside a longer turn is seen only in windows that mix it
# with its neighbours, so the windows of a positive run together with a negative sentence that
# hold at least POSITIVE_SHARE of it are added as positives. The scorer leaves out the 5-word
# windows (CLASSIFY_MIN_WORDS): run-together fragments of that size are where a head errs most.
NEGATIVE_WINDOWS = ((5, 2), (10, 5))
CLASSIFY_MIN_WORDS = 6  # stretches shorter than this are rated only when they are a whole turn...
# ...or a whole sentence of at least this many words (0: not), so that a short remark inside a
# long turn ("not my problem.") is rated on its own, not only mixed with its neighbours
SENTENCE_MIN_WORDS = 3
# Whole sentences (by punctuation) and whole turns longer than a window, up to this many words, are
# rated as they are besides their windows: the models learn from whole sentences, and a remark of
# 12-40 words is otherwise seen only in 10-word pieces, each cut off from what makes it curt (or kind)
UNIT_MAX_WORDS = 40
# A window counts only where the whole sentence or turn it was cut from (when that is rated too)
# rates at least this: a piece of a kind sentence can read curt on its own
CONTEXT_FLOOR = 0.05
POSITIVE_SHARE = 0.8
PAIR_STEP = (7, 3)  # the partner of sentence k is sentence (7k + 3) mod n: fixed, varied pairs
CONTEXT_STEP = (5, 1)  # the negative a positive is run together with, the same way


# Real agents' turns as negatives (`Spec.real_negatives`): the agent speech of the Harper Valley
# calls of bench/qa_real's dev split (labels.yaml: held-out when sha256(call id)[:8] % 3 == 0;
# never those), read where the data lives and never copied into the repository. None of them asks
# for a credential (every dev call is labelled pass on no-credential-request).
REAL_LIST = "real_agent_turns"
HARPER_DIR = Path("shared") / "data" / "harper-dev"
_MARK = re.compile(r"^(\[[^\]]*\]|<[^>]*>|\S*~)$")  # [noise], <unk>, cut-off words (as the import drops them)


def harper_dir() -> Path | None:
    """$HARPER_DEV_DIR, else ../shared/data/harper-dev beside (or above) the source checkout."""
    import os

    env = os.environ.get("HARPER_DEV_DIR")
    if env:
        return Path(env) if (Path(env) / "transcripts").is_dir() else None
    for parent in Path(__file__).resolve().parents:
        if (parent / HARPER_DIR / "transcripts").is_dir():
            return parent / HARPER_DIR
    return None


def _held_out_call(call_id: str) -> bool:
    return int(hashlib.sha256(call_id.encode()).hexdigest()[:8], 16) % 3 == 0


def real_agent_turns(directory: Path | None = None) -> tuple[list[str], dict[str, Any]]:
    """The agent turns of the Harper Valley dev calls (words as the import keeps them, each turn
    once) and a record of what was read; ([], a record saying why) when the data is absent."""
    directory = directory or harper_dir()
    if directory is None or not (directory / "transcripts").is_dir():
        return [], {
            "used": False,
            "reason": f"no Harper Valley calls found (../{HARPER_DIR}, $HARPER_DEV_DIR)",
        }
    turns: list[str] = []
    calls = 0
    for path in sorted((directory / "transcripts").glob("*.json")):
        if _held_out_call(path.stem):
            continue
        calls += 1
        try:
            segments = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as err:
            raise DataError(f"{path}: cannot read the call: {err}") from err
        for seg in segments:
            if seg.get("speaker_role") == "agent":
                words = [w for w in str(seg.get("human_transcript", "")).split() if not _MARK.match(w)]
                turns.append(" ".join(words))
    turns = list(dict.fromkeys(t for t in turns if t))
    digest = hashlib.sha256("\n".join(turns).encode()).hexdigest()[:16]
    return turns, {
        "used": True,
        "source": f"../{HARPER_DIR}: the agent turns of the dev calls (bench/qa_real/labels.yaml's split)",
        "calls": calls,
        "turns": len(turns),
        "sha256": digest,
    }


def with_real_negatives(
    name: str, sentences: dict[str, list[str]], use: bool = True
) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """`sentences` plus the real agent turns under REAL_LIST when classifier `name` trains on them
    and the data is present, and the record of it (empty when the classifier does not use them;
    `use` False: not read, and the record says so)."""
    if not SPECS[name].real_negatives:
        return sentences, {}
    if not use:
        return sentences, {"used": False, "reason": "switched off (--without-real-negatives)"}
    turns, record = real_agent_turns()
    if not turns:
        import logging

        logging.getLogger(__name__).warning(
            "%s: trained without real agent turns: %s", name, record["reason"]
        )
        return sentences, record
    return {**sentences, REAL_LIST: turns}, record


def negative_lists(name: str, sentences: dict[str, list[str]]) -> tuple[str, ...]:
    """Classifier `name`'s negative lists in `sentences`: its spec's, and the real agent turns
    when they were added (`with_real_negatives`)."""
    spec = SPECS[name]
    return (*spec.negative, *((REAL_LIST,) if spec.real_negatives and REAL_LIST in sentences else ()))


def _data_path(name: str) -> Path:
    return Path(str(resources.files("callwright.nlp").joinpath("data", name)))


def head_file(name: str) -> str:
    return f"{name}_head.json"


@dataclass(frozen=True)
class ConductHead:
    """p = sigmoid(h . w + b), with h = v (logistic regression) or h = relu(v W1 + b1)."""

    name: str
    weights: np.ndarray  # (dim,) or (hidden,)
    bias: float
    encoder_fingerprint: str
    data_sha256: str
    hidden_weights: np.ndarray | None = None  # (dim, hidden)
    hidden_bias: np.ndarray | None = None  # (hidden,)
    suggested_threshold: float = DEFAULT_CLASSIFIER_THRESHOLD
    training: dict[str, Any] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        w = self.hidden_weights if self.hidden_weights is not None else self.weights
        return int(w.shape[0])

    def probability(self, vectors: np.ndarray) -> np.ndarray:
        """P(class) for each row of `vectors` (n, dim)."""
        if vectors.shape[0] == 0:
            return np.zeros(0, dtype=np.float32)
        h = vectors.astype(np.float64)
        if self.hidden_weights is not None and self.hidden_bias is not None:
            h = np.maximum(h @ self.hidden_weights + self.hidden_bias, 0.0)
        z = h @ self.weights + self.bias
        return (1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0)))).astype(np.float32)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": FORMAT,
            "name": self.name,
            "bias": float(self.bias),
            "weights": [round(float(x), 7) for x in self.weights],
        }
        if self.hidden_weights is not None and self.hidden_bias is not None:
            out["hidden_bias"] = [round(float(x), 7) for x in self.hidden_bias]
            out["hidden_weights"] = [[round(float(x), 7) for x in row] for row in self.hidden_weights]
        return {
            **out,
            "suggested_threshold": self.suggested_threshold,
            "encoder_fingerprint": self.encoder_fingerprint,
            "data_sha256": self.data_sha256,
            "training": self.training,
        }


def data_paths(name: str | None = None) -> tuple[Path, ...]:
    """The training files of classifier `name` (`Spec.data_files`; None: every round's), in the
    order their lists are joined."""
    return tuple(_data_path(f) for f in (SPECS[name].data_files if name else DATA_FILES))


def as_paths(paths: DataPaths | None) -> tuple[Path, ...]:
    """`paths` as a tuple of paths (None: every round's file)."""
    if paths is None:
        return data_paths()
    return (Path(paths),) if isinstance(paths, str | Path) else tuple(Path(p) for p in paths)


def _read_lists(path: Path) -> dict[str, list[str]]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise DataError(f"{path}: cannot read the conduct training sentences: {err}") from err
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise DataError(f"{path}: expected lists of sentences under list names")
    bad = [(k, s) for k, v in data.items() for s in v if not isinstance(s, str)]
    if bad:  # `- yes` is a boolean in YAML: quote it
        raise DataError(f"{path}: list {bad[0][0]!r}: {bad[0][1]!r} is not a string; quote it")
    return {str(k): list(v) for k, v in data.items()}


def load_sentences(paths: DataPaths | None = None) -> dict[str, list[str]]:
    """The labelled training sentences of `paths` (default: every round's file), list name ->
    sentences, each list joined across the files in their order."""
    paths = as_paths(paths)
    merged: dict[str, list[str]] = {}
    for path in paths:
        for name, items in _read_lists(path).items():
            merged.setdefault(name, []).extend(items)
    lists = sorted({n for s in SPECS.values() for n in (*s.positive, *s.negative)})
    if not all(n in merged for n in lists):
        where = ", ".join(str(p) for p in paths)
        raise DataError(f"{where}: expected lists of sentences under {', '.join(lists)}")
    return merged


_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")  # qa.scorecard.matching's words


def as_heard(sentences: dict[str, list[str]]) -> dict[str, list[str]]:
    """The sentences as the scorer rates speech: lower-case words without punctuation (the
    matcher's stretches are its normalised words), each once per list. A sentence written in
    Whisper's style ("Look, I don't have time.") then trains the head on what it will be shown."""
    out = {}
    for name, items in sentences.items():
        words = (" ".join(_WORD.findall(s.lower().replace("\u2019", "'"))) for s in items)
        out[name] = list(dict.fromkeys(w for w in words if w))
    return out


def data_hash(paths: DataPaths | None = None) -> str:
    """The training files' hash (sha256 of their bytes in order; of one file, that file's), which
    a stored model records and is checked against."""
    digest = hashlib.sha256()
    for path in as_paths(paths):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _balance(y: np.ndarray) -> np.ndarray:
    """Per-sample weights that make the two classes count equally."""
    n, pos = len(y), y.sum()
    return np.where(y == 1, n / (2.0 * max(pos, 1)), n / (2.0 * max(n - pos, 1)))


def fit_logistic(
    x: np.ndarray, y: np.ndarray, l2: float = L2, steps: int = NEWTON_STEPS
) -> tuple[np.ndarray, float]:
    """L2-penalised logistic regression by Newton's method, the classes weighted to count equally
    (there are fewer positives than others). Deterministic: no random start."""
    n, d = x.shape
    xb = np.hstack([x.astype(np.float64), np.ones((n, 1))])
    sample_w = _balance(y)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0  # the bias is not penalised
    theta = np.zeros(d + 1)
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ theta, -50, 50)))
        grad = xb.T @ (sample_w * (p - y)) + penalty * theta
        hess = (xb * (sample_w * p * (1 - p))[:, None]).T @ xb + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.abs(step).max() < 1e-8:
            break
    return theta[:-1], float(theta[-1])


def fit_mlp(
    x: np.ndarray,
    y: np.ndarray,
    hidden: int,
    l2: float = MLP_L2,
    steps: int = ADAM_STEPS,
    seed: int = SEED,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """One hidden layer of ReLUs, balanced cross-entropy plus an L2 penalty, full-batch Adam
    from a fixed seed: (W1, b1, w2, b2). Deterministic on one machine; a few hundred steps of
    a (n, 384) x (384, hidden) product, seconds on a CPU."""
    x = x.astype(np.float64)
    n, d = x.shape
    rng = np.random.default_rng(seed)
    params = [
        rng.normal(0.0, np.sqrt(2.0 / d), (d, hidden)),
        np.zeros(hidden),
        rng.normal(0.0, np.sqrt(1.0 / hidden), hidden),
        np.zeros(1),
    ]
    sw = _balance(y) / n
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    b1_, b2_, eps = 0.9, 0.999, 1e-8
    for t in range(1, steps + 1):
        w1, b1, w2, b2 = params
        pre = x @ w1 + b1
        h = np.maximum(pre, 0.0)
        p = 1.0 / (1.0 + np.exp(-np.clip(h @ w2 + b2[0], -50, 50)))
        dz = sw * (p - y)
        dh = np.outer(dz, w2) * (pre > 0)
        grads = [x.T @ dh + l2 * w1, dh.sum(0), h.T @ dz + l2 * w2, np.array([dz.sum()])]
        for k, g in enumerate(grads):
            m[k] = b1_ * m[k] + (1 - b1_) * g
            v[k] = b2_ * v[k] + (1 - b2_) * g * g
            params[k] = params[k] - ADAM_RATE * (m[k] / (1 - b1_**t)) / (np.sqrt(v[k] / (1 - b2_**t)) + eps)
    w1, b1, w2, b2 = params
    return w1, b1, w2, float(b2[0])


def fingerprint(encoder: Encoder) -> str:
    """Hash of all of the encoder's weights (the vector space the head was trained in)."""
    from callwright.nlp.head import encoder_fingerprint
    from callwright.nlp.towers import layer_list

    return encoder_fingerprint(encoder.model, len(layer_list(encoder.model)))


_fingerprints: dict[int, str] = {}
_lock = threading.Lock()


def _encoder_fingerprint(encoder: Encoder) -> str:
    with _lock:
        key = id(encoder)
        if key not in _fingerprints:
            _fingerprints[key] = fingerprint(encoder)
        return _fingerprints[key]


def _starts(n: int, size: int, stride: int) -> list[int]:
    starts = list(range(0, n - size + 1, stride))
    if starts[-1] != n - size:
        starts.append(n - size)
    return starts


def windows(sentence: str) -> list[str]:
    """The pieces of a sentence the matcher would rate on their own (`NEGATIVE_WINDOWS`)."""
    words = sentence.split()
    out = []
    for size, stride in NEGATIVE_WINDOWS:
        if len(words) > size:
            out += [" ".join(words[a : a + size]) for a in _starts(len(words), size, stride)]
    return out


def augmented(neg: list[str]) -> list[str]:
    """The negative sentences and the windows of pairs of them run together (see NEGATIVE_WINDOWS)."""
    a, b = PAIR_STEP
    more = [w for k, s in enumerate(neg) for w in [s, *windows(f"{s} {neg[(a * k + b) % len(neg)]}")]]
    return list(dict.fromkeys(more))


def in_context(pos: list[str], neg: list[str]) -> list[str]:
    """The positive sentences and the rated windows (CLASSIFY_MIN_WORDS words or more) of each run
    together with a negative one, before and after it, that hold POSITIVE_SHARE of it or more."""
    a, b = CONTEXT_STEP
    out = list(pos)
    for k, s in enumerate(pos):
        sw, cw = s.split(), neg[(a * k + b) % len(neg)].split()
        for words, lo in ((cw + sw, len(cw)), (sw + cw, 0)):
            hi = lo + len(sw)
            for size, stride in NEGATIVE_WINDOWS:
                if size < CLASSIFY_MIN_WORDS or len(words) <= size:
                    continue
                for st in _starts(len(words), size, stride):
                    if min(hi, st + size) - max(lo, st) >= POSITIVE_SHARE * len(sw):
                        out.append(" ".join(words[st : st + size]))
    return list(dict.fromkeys(out))


@dataclass(frozen=True)
class TrainingSet:
    texts: list[str]
    y: np.ndarray
    positives: int
    negatives: int


def training_set(name: str, sentences: dict[str, list[str]]) -> TrainingSet:
    spec = SPECS[name]
    negative = negative_lists(name, sentences)
    sentences = as_heard(sentences)
    pos_base = [s for n in spec.positive for s in sentences[n]]
    neg_base = [s for n in negative for s in sentences[n]]
    pos, neg = in_context(pos_base, neg_base), augmented(neg_base)
    pos_set = set(pos)
    neg = [s for s in neg if s not in pos_set]
    return TrainingSet(
        [*pos, *neg], np.array([1] * len(pos) + [0] * len(neg), np.float64), len(pos_base), len(neg_base)
    )


def fit_ensemble(
    x: np.ndarray, y: np.ndarray, hidden: int, members: int, l2: float = MLP_L2, steps: int = ADAM_STEPS
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """`members` hidden-layer heads from seeds SEED, SEED+1, ... whose logits are averaged: the
    same as one hidden layer of members * hidden units with the output weights divided by
    `members`, so it is stored and run as one head."""
    fits = [fit_mlp(x, y, hidden, l2, steps, seed=SEED + k) for k in range(members)]
    return (
        np.hstack([f[0] for f in fits]),
        np.concatenate([f[1] for f in fits]),
        np.concatenate([f[2] for f in fits]) / members,
        float(np.mean([f[3] for f in fits])),
    )


def _fit(spec: Spec, x: np.ndarray, y: np.ndarray, l2: float) -> ConductHead:
    if spec.hidden:
        mlp_l2 = MLP_L2 if spec.l2 is None else spec.l2
        w1, b1, w2, b2 = fit_ensemble(x, y, spec.hidden, spec.ensemble, mlp_l2)
        return ConductHead("", w2, b2, "", "", hidden_weights=w1, hidden_bias=b1)
    w, b = fit_logistic(x, y, l2)
    return ConductHead("", w, b, "", "")


def out_of_fold(
    name: str, sentences: dict[str, list[str]], encoder: Encoder, l2: float = L2
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities of the positives and negatives of each of `FOLDS` folds (by sentence hash)
    from a head trained on the other folds: the positive sentences with their windows in context
    (next to a training negative), the negative sentences with their own windows."""
    spec = SPECS[name]
    negative = negative_lists(name, sentences)
    sentences = as_heard(sentences)
    lists = [(n, 1) for n in spec.positive] + [(n, 0) for n in negative]
    base = [(s, lab) for n, lab in lists for s in sentences[n]]
    fold = [int(hashlib.sha256(s.encode()).hexdigest()[:8], 16) % FOLDS for s, _ in base]
    p_pos: list[np.ndarray] = []
    p_neg: list[np.ndarray] = []
    for f in range(FOLDS):
        part = {
            (lab, held): [s for (s, lb), k in zip(base, fold, strict=True) if lb == lab and (k == f) == held]
            for lab in (0, 1)
            for held in (False, True)
        }
        pos, neg = in_context(part[1, False], part[0, False]), augmented(part[0, False])
        head = _fit(spec, encoder.embed([*pos, *neg]), np.array([1] * len(pos) + [0] * len(neg), float), l2)
        p_pos.append(head.probability(encoder.embed(in_context(part[1, True], part[0, False]))))
        test_neg = list(dict.fromkeys([*part[0, True], *[w for s in part[0, True] for w in windows(s)]]))
        p_neg.append(head.probability(encoder.embed(test_neg)))
    return np.concatenate(p_pos), np.concatenate(p_neg)


def choose_threshold(
    p_pos: np.ndarray, p_neg: np.ndarray, stretches: int = STRETCHES_PER_CALL
) -> tuple[float, dict[str, Any]]:
    """The threshold on `THRESHOLD_GRID` that minimises the expected errors of a call: a positive
    stretch missed, plus a call of `stretches` negative stretches with at least one flagged
    (1 - (1 - false alarm rate) ** stretches); of tied ones the higher."""
    costs = []
    for t in THRESHOLD_GRID:
        miss = float((p_pos < t).mean()) if len(p_pos) else 0.0
        alarm = float((p_neg >= t).mean()) if len(p_neg) else 0.0
        costs.append((miss + 1.0 - (1.0 - alarm) ** stretches, -t, t, miss, alarm))
    cost, _, t, miss, alarm = min(costs)
    return t, {
        "folds": FOLDS,
        "stretches_per_call": stretches,
        "miss_rate": round(miss, 4),
        "false_alarm_rate": round(alarm, 4),
        "expected_call_errors": round(cost, 4),
        "positives_rated": int(len(p_pos)),
        "negatives_rated": int(len(p_neg)),
    }


def train(
    encoder: Encoder,
    name: str = "dismissive",
    path: DataPaths | None = None,
    l2: float = L2,
    calibrate: bool = True,
    real_negatives: bool = True,
) -> ConductHead:
    """Train the head for classifier `name` on the labelled sentences (and, with `calibrate`,
    find its suggested threshold by cross-validation on them); `real_negatives`: with the real
    agent turns where its spec asks for them and the data is present. `path`: the training files
    (default: the spec's `data_files`)."""
    spec = SPECS[name]
    path = path if path is not None else data_paths(name)
    sentences, real = with_real_negatives(name, load_sentences(path), real_negatives)
    ts = training_set(name, sentences)
    fitted = _fit(spec, encoder.embed(ts.texts), ts.y, l2)
    threshold, cv = (
        choose_threshold(*out_of_fold(name, sentences, encoder, l2))
        if calibrate
        else (DEFAULT_CLASSIFIER_THRESHOLD, {})
    )
    return ConductHead(
        name=name,
        weights=fitted.weights,
        bias=fitted.bias,
        hidden_weights=fitted.hidden_weights,
        hidden_bias=fitted.hidden_bias,
        encoder_fingerprint=fingerprint(encoder),
        data_sha256=data_hash(path),
        suggested_threshold=threshold,
        training={
            "positive_lists": list(spec.positive),
            "negative_lists": list(negative_lists(name, sentences)),
            **({"real_negatives": real} if real else {}),
            "positives": ts.positives,
            "negatives": ts.negatives,
            "rows": {"positive": int(ts.y.sum()), "negative": int(len(ts.y) - ts.y.sum())},
            "negative_windows": [list(w) for w in NEGATIVE_WINDOWS],
            "positive_share": POSITIVE_SHARE,
            "method": (
                f"one hidden layer of {spec.hidden} ReLUs, adam {ADAM_STEPS} steps, "
                f"l2 {MLP_L2 if spec.l2 is None else spec.l2}, "
                + (
                    f"{spec.ensemble} seeds {SEED}-{SEED + spec.ensemble - 1}, logits averaged"
                    if spec.ensemble > 1
                    else f"seed {SEED}"
                )
                if spec.hidden
                else f"logistic regression, newton, l2 {l2}"
            )
            + ", balanced classes",
            "cross_validation": cv,
        },
    )


def read_head(path: Path) -> ConductHead:
    hint = "retrain it: python -m callwright.nlp.conduct --write"
    try:
        raw = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as err:
        raise ModelNotFoundError(f"cannot read the conduct classifier {path}: {err}", hint=hint) from err
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        got = raw.get("format") if isinstance(raw, dict) else None
        raise ModelNotFoundError(f"{path}: format {got!r}, this version reads {FORMAT!r}", hint=hint)
    try:
        hidden = raw.get("hidden_weights")
        return ConductHead(
            name=raw["name"],
            weights=np.asarray(raw["weights"], dtype=np.float64),
            bias=float(raw["bias"]),
            hidden_weights=None if hidden is None else np.asarray(hidden, dtype=np.float64),
            hidden_bias=None if hidden is None else np.asarray(raw["hidden_bias"], dtype=np.float64),
            encoder_fingerprint=raw["encoder_fingerprint"],
            data_sha256=raw["data_sha256"],
            suggested_threshold=float(raw.get("suggested_threshold", DEFAULT_CLASSIFIER_THRESHOLD)),
            training=raw.get("training", {}),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise ModelNotFoundError(f"{path}: not a conduct classifier head: {err}", hint=hint) from err


@functools.cache
def get_head(name: str) -> ConductHead:
    """The stored head of classifier `name` (loaded once per process), checked against its data."""
    if name not in CLASSIFIERS:
        raise DataError(f"unknown conduct classifier {name!r}; known: {', '.join(CLASSIFIERS)}")
    if SPECS[name].tuned_layers:
        raise ModelNotFoundError(
            f"the {name} classifier is a fine-tuned model "
            "(callwright.nlp.conduct_model.get_model), not a head"
        )
    path = _data_path(head_file(name))
    head = read_head(path)
    if head.name != name:
        raise ModelNotFoundError(f"{path} holds classifier {head.name!r}, not {name!r}")
    if head.data_sha256 != (now := data_hash(data_paths(name))):
        raise ModelNotFoundError(
            f"{path} was trained on another version of {', '.join(SPECS[name].data_files)} "
            f"(hash {head.data_sha256}, now {now})",
            hint="retrain it: python -m callwright.nlp.conduct --write",
        )
    return head


def suggested_threshold(name: str) -> float:
    """The threshold cross-validation suggested for classifier `name` (its stored model's or head's)."""
    if name in SPECS and SPECS[name].tuned_layers:
        from callwright.nlp import conduct_model

        path = conduct_model.model_dir() / conduct_model.meta_file(name)
        return conduct_model.read_meta(path).suggested_threshold
    return get_head(name).suggested_threshold


def check_encoder(head: ConductHead, encoder: Encoder) -> None:
    """Refuse an encoder other than the one the head was trained on (its vectors mean nothing to it)."""
    if encoder.dim != head.dim or _encoder_fingerprint(encoder) != head.encoder_fingerprint:
        raise ModelNotFoundError(
            f"the conduct classifier {head.name!r} was trained on another sentence encoder "
            f"(fingerprint {head.encoder_fingerprint}); this matcher uses {encoder.model_path}",
            hint="score with the packaged MiniLM encoder, or retrain: "
            "python -m callwright.nlp.conduct --write",
        )


def main(argv: list[str] | None = None) -> int:
    files = ", ".join(DATA_FILES)
    ap = argparse.ArgumentParser(description=f"Train the conduct classifiers on data/{files}.")
    ap.add_argument("--write", action="store_true", help="write data/<name>_head.json (else print a summary)")
    ap.add_argument("--only", choices=list(SPECS), action="append", help="train only these classifiers")
    ap.add_argument("--l2", type=float, default=L2, help="the logistic heads' penalty")
    ap.add_argument(
        "--without-real-negatives",
        action="store_true",
        help="do not read the real agent turns a classifier's spec asks for (../shared/data/harper-dev)",
    )
    ap.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="fine-tuned models: train the fit and the cross-validation folds in this many processes "
        "side by side (each one thread: the same model as one process gives)",
    )
    ap.add_argument(
        "--no-calibrate",
        action="store_true",
        help="fine-tuned models: skip the cross-validated threshold (the folds: about five sixths "
        "of the training time); the model then suggests the default threshold, and the scorecard's "
        "`classifier_threshold` is chosen on evaluation sets instead",
    )
    ap.add_argument(
        "--part",
        choices=("first", "second"),
        help="a classifier rated by several models (`Spec.partners`): train only its first "
        "model or only its partners (default: all)",
    )
    args = ap.parse_args(argv)
    from callwright.nlp.embeddings import get_encoder

    encoder = get_encoder()
    for name in args.only or list(SPECS):
        sentences = load_sentences(data_paths(name))
        spec = SPECS[name]
        if spec.tuned_layers:
            models: list[Partner | None] = [None, *spec.partners]  # None: the first model
            if args.part and spec.partners:
                models = models[:1] if args.part == "first" else models[1:]
            for partner in models:
                _train_model(
                    name,
                    encoder,
                    sentences,
                    args.write,
                    not args.without_real_negatives,
                    args.jobs,
                    calibrate=not args.no_calibrate,
                    partner=partner,
                )
            continue
        head = train(encoder, name, l2=args.l2, real_negatives=not args.without_real_negatives)
        spec, t = SPECS[name], head.suggested_threshold
        p_pos = head.probability(encoder.embed([s for n in spec.positive for s in sentences[n]]))
        p_neg = head.probability(encoder.embed([s for n in spec.negative for s in sentences[n]]))
        cv = head.training["cross_validation"]
        print(
            f"{name}: {len(p_pos)} positive and {len(p_neg)} negative sentences; training error at "
            f"{t:g}: {int((p_pos < t).sum())} + {int((p_neg >= t).sum())}; cross-validated threshold "
            f"{t:g} (miss rate {cv['miss_rate']}, false alarms {cv['false_alarm_rate']} per stretch)"
        )
        if args.write:
            out = _data_path(head_file(name))
            out.write_text(json.dumps(head.to_json(), indent=1) + "\n", "utf-8")
            print(f"wrote {out}")
    return 0


def _train_model(
    name: str,
    encoder: Encoder,
    sentences: dict[str, list[str]],
    write: bool,
    real_negatives: bool = True,
    jobs: int = 1,
    calibrate: bool = True,
    partner: Partner | None = None,
) -> None:
    """Train (and with `write` store) classifier `name`'s fine-tuned model (conduct_model): its
    first model, or `partner` (on its own encoder if it names one)."""
    from callwright.nlp import conduct_model

    spec = SPECS[name]
    if partner is not None and partner.encoder is not None:
        encoder = conduct_model.partner_encoder(partner.encoder)
    model = conduct_model.train(
        encoder,
        name,
        calibrate=calibrate,
        partner=partner,
        real_negatives=real_negatives,
        jobs=jobs,
    )
    real = model.meta.training.get("real_negatives")
    if real:
        print(
            f"{name}: with {real['turns']} real agent turns of {real['calls']} dev calls as negatives"
            if real["used"]
            else f"{name}: WITHOUT real agent turns as negatives: {real['reason']}"
        )
    heard = as_heard(sentences)
    p_pos = conduct_model.rate_texts(model, encoder, [s for n in spec.positive for s in heard[n]])
    p_neg = conduct_model.rate_texts(model, encoder, [s for n in spec.negative for s in heard[n]])
    t, cv = model.suggested_threshold, model.meta.training["cross_validation"]
    seconds = model.meta.training["seconds"]
    chosen = (
        f"cross-validated threshold {t:g} (miss rate {cv['miss_rate']}, "
        f"false alarms {cv['false_alarm_rate']} per stretch)"
        if cv
        else f"not calibrated (default threshold {t:g})"
    )
    print(
        f"{name}: fine-tuned top {model.meta.tuned_layers} layers; {len(p_pos)} positive and "
        f"{len(p_neg)} negative sentences; training error at {t:g}: {int((p_pos < t).sum())} + "
        f"{int((p_neg >= t).sum())}; {chosen}; {seconds['total']:.0f} s"
    )
    if write:
        out = conduct_model.save_model(model)
        stem = model.stem
        print(f"wrote {out / conduct_model.meta_file(stem)} and {conduct_model.weights_file(stem)}")


if __name__ == "__main__":
    raise SystemExit(main())
