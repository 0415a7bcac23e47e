"""Conduct classifiers: is a stretch of agent speech dismissive?

Sentence similarity to a list of forbidden examples does not capture "dismissive" as a
category: rude, blaming, impatient or sarcastic speech is worded in too many ways, and an
example list either misses most of them or, with a low threshold, flags polite refusals. A
logistic regression over the same MiniLM sentence vectors the phrase matcher already
computes for every stretch of speech learns the category from labelled sentences
(data/conduct.yaml, written for this) at the cost of one dot product per stretch.

The trained head (weights and bias, 385 numbers) is stored in data/conduct_head.json with
the hash of its training file and a fingerprint of the encoder it was trained on: loading it
on another encoder (a different vector space) or after the data changed is an error, not
confident nonsense. Retrain with `python -m callwright.nlp.conduct --write`.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import threading
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from callwright.errors import DataError, ModelNotFoundError

if TYPE_CHECKING:  # pragma: no cover
    from callwright.nlp.embeddings import Encoder

CLASSIFIERS: dict[str, str] = {
    "dismissive": "rude, blaming, impatient, sarcastic, condescending or brushing-off speech",
}
"""The classifiers a scorecard may name (`classifier:` on a forbidden item), with what they catch."""

DATA_FILE = "conduct.yaml"
HEAD_FILE = "conduct_head.json"
FORMAT = "callwright-conduct-head/1"
POSITIVE = {"dismissive": "dismissive"}  # classifier name -> the data file's list of its positives
NEGATIVE = "polite"
L2 = 0.1  # ridge penalty on the weights (not the bias), from 5-fold cross-validation on the data
NEWTON_STEPS = 50
DEFAULT_CLASSIFIER_THRESHOLD = 0.5
# The matcher rates stretches, not sentences: windows of 5 words every 2 and of 10 every 5 (as
# qa.scorecard.matching.span_ranges cuts them), across sentence ends when the transcript has no
# punctuation. Pieces of polite speech are polite too, so windows of pairs of polite sentences run
# together are added as negatives: without them a fragment such as "name is michael how can" reads
# as curt. Pieces of dismissive sentences are not added (a piece may be innocent). The scorer also
# leaves out the 5-word windows (CLASSIFY_MIN_WORDS): run-together fragments of that size are
# where a linear head errs most.
NEGATIVE_WINDOWS = ((5, 2), (10, 5))
CLASSIFY_MIN_WORDS = 6  # stretches shorter than this are rated only when they are a whole turn
PAIR_STEP = (7, 3)  # the partner of sentence k is sentence (7k + 3) mod n: fixed, varied pairs


def _data_path(name: str) -> Path:
    return Path(str(resources.files("callwright.nlp").joinpath("data", name)))


@dataclass(frozen=True)
class ConductHead:
    """A logistic regression over unit sentence vectors: p = sigmoid(v . w + b)."""

    name: str
    weights: np.ndarray  # (dim,)
    bias: float
    encoder_fingerprint: str
    data_sha256: str
    training: dict[str, Any] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return int(self.weights.shape[0])

    def probability(self, vectors: np.ndarray) -> np.ndarray:
        """P(class) for each row of `vectors` (n, dim)."""
        if vectors.shape[0] == 0:
            return np.zeros(0, dtype=np.float32)
        z = vectors.astype(np.float64) @ self.weights + self.bias
        return (1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0)))).astype(np.float32)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "name": self.name,
            "bias": float(self.bias),
            "weights": [round(float(x), 7) for x in self.weights],
            "encoder_fingerprint": self.encoder_fingerprint,
            "data_sha256": self.data_sha256,
            "training": self.training,
        }


def load_sentences(path: Path | None = None) -> dict[str, list[str]]:
    """The labelled training sentences: list name -> sentences."""
    path = path or _data_path(DATA_FILE)
    import yaml

    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise DataError(f"{path}: cannot read the conduct training sentences: {err}") from err
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise DataError(
            f"{path}: expected lists of sentences under {', '.join([*POSITIVE.values(), NEGATIVE])}"
        )
    return {str(k): [str(s) for s in v] for k, v in data.items()}


def data_hash(path: Path | None = None) -> str:
    return hashlib.sha256((path or _data_path(DATA_FILE)).read_bytes()).hexdigest()[:16]


def fit_logistic(
    x: np.ndarray, y: np.ndarray, l2: float = L2, steps: int = NEWTON_STEPS
) -> tuple[np.ndarray, float]:
    """L2-penalised logistic regression by Newton's method, the classes weighted to count equally
    (there are fewer dismissive sentences than others). Deterministic: no random start."""
    n, d = x.shape
    xb = np.hstack([x.astype(np.float64), np.ones((n, 1))])
    pos = y.sum()
    sample_w = np.where(y == 1, n / (2.0 * max(pos, 1)), n / (2.0 * max(n - pos, 1)))
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


def windows(sentence: str) -> list[str]:
    """The pieces of a sentence the matcher would rate on their own (`NEGATIVE_WINDOWS`)."""
    words = sentence.split()
    out = []
    for size, stride in NEGATIVE_WINDOWS:
        if len(words) > size:
            starts = list(range(0, len(words) - size + 1, stride))
            if starts[-1] != len(words) - size:
                starts.append(len(words) - size)
            out += [" ".join(words[a : a + size]) for a in starts]
    return out


def augmented(neg: list[str]) -> list[str]:
    """The polite sentences and the windows of pairs of them run together (see NEGATIVE_WINDOWS)."""
    a, b = PAIR_STEP
    more = [w for k, s in enumerate(neg) for w in [s, *windows(f"{s} {neg[(a * k + b) % len(neg)]}")]]
    return list(dict.fromkeys(more))


def train(
    encoder: Encoder, name: str = "dismissive", path: Path | None = None, l2: float = L2
) -> ConductHead:
    """Train the head for classifier `name` on the labelled sentences."""
    sentences = load_sentences(path)
    pos, neg = sentences[POSITIVE[name]], sentences[NEGATIVE]
    neg = augmented(neg)
    texts = [*pos, *neg]
    y = np.array([1] * len(pos) + [0] * len(neg), dtype=np.float64)
    w, b = fit_logistic(encoder.embed(texts), y, l2)
    return ConductHead(
        name=name,
        weights=w,
        bias=b,
        encoder_fingerprint=fingerprint(encoder),
        data_sha256=data_hash(path),
        training={
            "positives": len(pos),
            "negatives": len(neg),
            "negative_windows": [list(w) for w in NEGATIVE_WINDOWS],
            "l2": l2,
            "method": "newton, balanced classes",
        },
    )


def read_head(path: Path) -> ConductHead:
    try:
        raw = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as err:
        raise ModelNotFoundError(
            f"cannot read the conduct classifier {path}: {err}",
            hint="retrain it: python -m callwright.nlp.conduct --write",
        ) from err
    if raw.get("format") != FORMAT:
        raise ModelNotFoundError(
            f"{path}: format {raw.get('format')!r}, this version reads {FORMAT!r}",
            hint="retrain it: python -m callwright.nlp.conduct --write",
        )
    return ConductHead(
        name=raw["name"],
        weights=np.asarray(raw["weights"], dtype=np.float64),
        bias=float(raw["bias"]),
        encoder_fingerprint=raw["encoder_fingerprint"],
        data_sha256=raw["data_sha256"],
        training=raw.get("training", {}),
    )


@functools.cache
def get_head(name: str) -> ConductHead:
    """The stored head of classifier `name` (loaded once per process), checked against its data."""
    if name not in CLASSIFIERS:
        raise DataError(f"unknown conduct classifier {name!r}; known: {', '.join(CLASSIFIERS)}")
    path = _data_path(HEAD_FILE)
    head = read_head(path)
    if head.name != name:
        raise ModelNotFoundError(f"{path} holds classifier {head.name!r}, not {name!r}")
    if head.data_sha256 != data_hash():
        raise ModelNotFoundError(
            f"{path} was trained on another version of {DATA_FILE} "
            f"(hash {head.data_sha256}, now {data_hash()})",
            hint="retrain it: python -m callwright.nlp.conduct --write",
        )
    return head


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
    ap = argparse.ArgumentParser(description="Train the conduct classifier on data/conduct.yaml.")
    ap.add_argument("--write", action="store_true", help=f"write data/{HEAD_FILE} (else print a summary)")
    ap.add_argument("--l2", type=float, default=L2)
    args = ap.parse_args(argv)
    from callwright.nlp.embeddings import get_encoder

    encoder = get_encoder()
    head = train(encoder, l2=args.l2)
    sentences = load_sentences()
    p_pos = head.probability(encoder.embed(sentences["dismissive"]))
    p_neg = head.probability(encoder.embed(sentences["polite"]))
    print(
        f"trained on {len(p_pos)} dismissive and {len(p_neg)} other sentences; training error at 0.5: "
        f"{int((p_pos < 0.5).sum())} + {int((p_neg >= 0.5).sum())}"
    )
    if args.write:
        out = _data_path(HEAD_FILE)
        out.write_text(json.dumps(head.to_json(), indent=1) + "\n", "utf-8")
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
