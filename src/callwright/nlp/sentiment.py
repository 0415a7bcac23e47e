"""Sentiment of utterances: negative / neutral / positive, a score in [-1, 1], probabilities.

The default model is this project's head (models/sentiment/) on the packaged MiniLM,
sharing the encoder with the similarity API. Any Hugging Face sequence-classification
model can be configured instead; its own label names are mapped onto ours, so the QA
module sees the same three labels whichever model runs.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from callwright.errors import DataError, ModelNotFoundError
from callwright.nlp.embeddings import (
    DEFAULT_BATCH_SIZE,
    MAX_TOKENS,
    Encoder,
    Products,
    bert_blocks,
    bert_blocks_stacked,
    bert_embeddings,
    bert_embeddings_stacked,
    check_model_dir,
    configure_torch_threads,
    get_encoder,
    length_sorted_batches,
    padded,
    padding_batches,
    products,
    quiet_transformers,
    stacks,
)
from callwright.nlp.head import (
    HeadRunner,
    SentimentHead,
    default_head_dir,
    is_head_dir,
    load_head,
)
from callwright.nlp.ratings import LABELS
from callwright.nlp.towers import bottom, layer_list

log = logging.getLogger(__name__)

Label = Literal["negative", "neutral", "positive"]

# Label names used by common Hugging Face sentiment models, lower-cased.
KNOWN_LABEL_NAMES: dict[str, str] = {
    "negative": "negative",
    "neg": "negative",
    "very negative": "negative",
    "1 star": "negative",
    "2 stars": "negative",
    "neutral": "neutral",
    "neu": "neutral",
    "3 stars": "neutral",
    "positive": "positive",
    "pos": "positive",
    "very positive": "positive",
    "4 stars": "positive",
    "5 stars": "positive",
}
_GENERIC = re.compile(r"^label_(\d+)$")
MEMORY_TEXTS = 20_000
"""At most this many texts' probabilities are kept by `SentimentModel.warm` (3 floats each)."""


@dataclass(frozen=True)
class SentimentResult:
    """The sentiment of one text. score = p(positive) - p(negative)."""

    text: str
    label: Label
    score: float
    probabilities: dict[str, float]


@dataclass(frozen=True)
class SentimentConfig:
    """Which sentiment model to run.

    model: None for the project's head in models/sentiment/; a directory holding a
    head.json (a head trained by `callwright sentiment-train`); a directory holding a
    Hugging Face sequence-classification model; or a hub name (needs internet once).
    encoder: the encoder a head runs on (default: the packaged MiniLM).
    label_map: model label name -> negative/neutral/positive, for models whose names
    are not self-explanatory.
    """

    model: str | None = None
    encoder: str | None = None
    label_map: Mapping[str, str] | None = None


def result_from_probabilities(text: str, proba: np.ndarray, allowed: Sequence[str]) -> SentimentResult:
    """Label = the most likely label the model can produce; score = p(pos) - p(neg)."""
    probs = {lab: float(p) for lab, p in zip(LABELS, proba, strict=True)}
    label = max(allowed, key=lambda lab: probs[lab])
    score = float(np.clip(probs["positive"] - probs["negative"], -1.0, 1.0))
    return SentimentResult(text=text, label=label, score=score, probabilities=probs)  # type: ignore[arg-type]


def blank_result(text: str) -> SentimentResult:
    """Nothing was said, so nothing to feel: neutral by rule rather than by model guess."""
    return SentimentResult(text, "neutral", 0.0, {"negative": 0.0, "neutral": 1.0, "positive": 0.0})


class SentimentModel(ABC):
    """Common front: input checks, blank texts, batching, mapping to SentimentResult."""

    name: str
    labels: tuple[str, ...] = LABELS  # the labels this model can output

    def predict(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE) -> list[SentimentResult]:
        """Sentiment per text, in input order. Texts longer than 256 tokens are cut there."""
        if isinstance(texts, str):
            texts = [texts]
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise DataError(
                    f"sentiment input #{i} is {type(t).__name__}, not text",
                    hint="pass a list of strings",
                )
        if batch_size < 1:
            raise DataError(f"batch size must be at least 1, got {batch_size}")
        spoken = [i for i, t in enumerate(texts) if t.strip()]
        known = self._recalled([texts[i] for i in spoken])
        todo = list(dict.fromkeys(texts[i] for i in spoken if texts[i] not in known))
        fresh = dict(zip(todo, self.probabilities(todo, batch_size), strict=True)) if todo else {}
        proba = [known[texts[i]] if texts[i] in known else fresh[texts[i]] for i in spoken]
        results = [blank_result(t) for t in texts]
        for row, i in enumerate(spoken):
            results[i] = result_from_probabilities(texts[i], proba[row], self.labels)
        return results

    def warm(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE) -> int:
        """Compute the sentiment of many texts (a batch's group of calls) in one go and keep it,
        so each call's `predict` reads it: length-sorted batches over a group's utterances pad far
        less than one call's (a call's 10-30 utterances, 2 to 40 words, fill one padded batch),
        about 0.05 CPU s a call instead of 0.07 (docs/benchmarks.md). What was kept from earlier
        groups is not computed again (`MEMORY_TEXTS`, the least recently warmed forgotten first):
        an agent's formulas ("thank you for calling ...", "is there anything else ...") and the
        "okay"s and "yes"es recur from call to call, about a sixth of a group's tokens on the real
        calls. The values agree with a call's own to about 1e-6 (other batches, other padding).
        Returns how many distinct texts were computed."""
        distinct = list(dict.fromkeys(t for t in texts if isinstance(t, str) and t.strip()))
        kind = products()
        known = self._recalled(distinct) if self.remember else {}
        todo = [t for t in distinct if t not in known]
        rows = self.probabilities(todo, batch_size) if todo else np.zeros((0, len(LABELS)))
        with self._memory_lock:
            memory = self._current_memory()
            if not self.remember:
                memory.clear()
            if kind is self._memory_products:  # not if the products changed while computing
                for t, row in zip(todo, rows, strict=True):
                    memory[t] = row
            for t in distinct:
                if t in memory:
                    memory.move_to_end(t)
            while len(memory) > max(MEMORY_TEXTS, len(distinct)):  # a huge group is kept whole
                memory.popitem(last=False)
        return len(todo)

    def forget(self) -> None:
        """Drop what `warm` kept (a benchmark's fresh start; a change of products empties it by
        itself)."""
        with self._memory_lock:
            self._memory.clear()

    def _recalled(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        with self._memory_lock:
            memory = self._current_memory()
            return {t: memory[t] for t in texts if t in memory}

    def _current_memory(self) -> OrderedDict[str, np.ndarray]:
        """What `warm` kept, emptied first if the encoder's products (float32, bfloat16, int8:
        `callwright.nlp.embeddings.products`) changed since it was filled: a sentiment computed in
        one kind differs from another's in the last digits, and read under the other it could move
        a near tie. Called under `_memory_lock`."""
        now = products()
        if now is not self._memory_products:
            self._memory.clear()
            self._memory_products = now
        return self._memory

    # keep what `warm` computed for later groups (False: only until the next `warm`, as before)
    remember: bool = True

    _memory_lock = threading.Lock()  # one for every model: held only to read or update a dict
    _memory_products: Products | None = None  # what `_memory`'s rows were computed in

    @functools.cached_property
    def _memory(self) -> OrderedDict[str, np.ndarray]:  # first read under `_memory_lock`
        return OrderedDict()

    @abstractmethod
    def probabilities(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """(n, 3) probabilities in LABELS order (negative, neutral, positive)."""


class HeadSentimentModel(SentimentModel):
    """This project's model: packaged encoder bottom layers + our fine-tuned top and classifier."""

    def __init__(self, head: SentimentHead, encoder: Encoder, name: str = "callwright") -> None:
        self.encoder = encoder
        self.head = head
        self.bottom = bottom(encoder.model, head.n_bottom)
        self.runner = HeadRunner(encoder.model, head)
        self.name = name

    @classmethod
    def from_dir(cls, head_dir: Path, encoder: Encoder) -> HeadSentimentModel:
        return cls(load_head(head_dir, encoder.model), encoder, str(head_dir))

    def probabilities(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        import torch

        out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        if self.encoder.lean and self.encoder.plain_bert:
            return self._lean_probabilities(texts, batch_size, out)
        for idx in self._batches(self.encoder.token_counts(texts), batch_size):
            batch = self.encoder.tokenize([texts[i] for i in idx])
            with torch.inference_mode():
                states = self.bottom(**batch).last_hidden_state
                logits = self.runner.logits(states, batch["attention_mask"])
                out[idx] = torch.softmax(logits, dim=-1).numpy()
        return out

    def _batches(self, lengths: Sequence[int], batch_size: int) -> list[list[int]]:
        """Batches cut where padding costs least (`padding_batches`, as the encoder's own
        `pad_aware`): a call's utterances vary from 2 to 40 words, and one batch of them is
        mostly padding (0.07 against 0.11 CPU s a call); `length_sorted_batches` when
        `Encoder.pad_aware` is off, the reference."""
        split = padding_batches if self.encoder.pad_aware else length_sorted_batches
        return split(lengths, batch_size)

    def _lean_probabilities(self, texts: Sequence[str], batch_size: int, out: np.ndarray) -> np.ndarray:
        """`probabilities` through `bert_embeddings` / `bert_blocks` (the encoder's `lean` path):
        the same batches and the same operations as the transformers forward of the bottom and
        top towers, so the same bits (tested), without its module machinery, and each text
        tokenised once; about half of scoring an imported call was this model's forward."""
        import torch

        model, cfg = self.encoder.model, self.encoder.model.config
        blocks = list(layer_list(model))[: self.head.n_bottom] + list(self.head.top)
        tok = self.encoder.tokenizer
        ids = tok(list(texts), truncation=True, max_length=MAX_TOKENS)["input_ids"]
        if self.encoder.pad_aware and self.encoder.stacked:
            # one stacked pass (`Encoder.stacked`): a group's utterances in finer batches,
            # about a fifth less work than a pass per batch (bench/sentiment_batches.py)
            for stack in stacks(ids, batch_size, int(tok.pad_token_id or 0)):
                with torch.inference_mode():
                    x = bert_embeddings_stacked(model, stack)
                    top = bert_blocks_stacked(blocks, cfg, x, stack)[0]
                    rows = [self.head.logits(h, m) for h, m in stack.batches(top)]
                    out[stack.order] = torch.softmax(torch.cat(rows), dim=-1).numpy()
            return out
        for idx in self._batches([len(r) for r in ids], batch_size):
            input_ids, mask = padded([ids[i] for i in idx], int(tok.pad_token_id or 0))
            with torch.inference_mode():
                top = bert_blocks(blocks, cfg, bert_embeddings(model, input_ids), mask)[0]
                out[idx] = torch.softmax(self.head.logits(top, mask), dim=-1).numpy()
        return out


def map_labels(id2label: Mapping[int, str], overrides: Mapping[str, str] | None = None) -> list[str]:
    """Our label for each of a model's output indices, from its config's id2label."""
    names = [str(id2label[i]) for i in sorted(id2label)]
    lowered = {k.lower(): v for k, v in (overrides or {}).items()}
    bad = sorted(v for v in lowered.values() if v not in LABELS)
    if bad:
        raise DataError(f"label map targets {bad}; use negative, neutral or positive")
    mapped: list[str | None] = [
        lowered.get(n.lower(), KNOWN_LABEL_NAMES.get(n.lower().strip())) for n in names
    ]
    if None in mapped and all(_GENERIC.match(n.lower()) for n in names) and len(names) in (2, 3):
        # LABEL_0.. carry no meaning; the usual convention orders them negative..positive.
        mapped = ["negative", "positive"] if len(names) == 2 else list(LABELS)
        log.warning("model labels %s are generic; assuming %s", names, mapped)
    if None in mapped or "negative" not in mapped or "positive" not in mapped:
        raise ModelNotFoundError(
            f"cannot map the model's labels {names} to negative/neutral/positive",
            hint="give a label map, e.g. {'LABEL_0': 'negative', 'LABEL_1': 'positive'}",
        )
    return [m for m in mapped if m is not None]


class HFClassifierModel(SentimentModel):
    """Any Hugging Face sequence-classification model, its labels mapped onto ours."""

    def __init__(self, name_or_path: str, label_map: Mapping[str, str] | None = None) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        configure_torch_threads()
        quiet_transformers()
        local = Path(name_or_path).expanduser()
        source = str(check_model_dir(local, "sentiment model")) if local.exists() else name_or_path
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local.exists())
            self.model = AutoModelForSequenceClassification.from_pretrained(
                source, local_files_only=local.exists()
            )
        except (OSError, ValueError) as err:
            raise ModelNotFoundError(
                f"cannot load sentiment model {name_or_path!r}: {err}",
                hint="pass a local model directory, or a hub name while online "
                "(HF_HUB_OFFLINE=1 forbids downloads)",
            ) from err
        self.model.eval()
        self._torch = torch
        self.mapping = [LABELS.index(m) for m in map_labels(self.model.config.id2label, label_map)]
        self.labels = tuple(lab for lab in LABELS if LABELS.index(lab) in self.mapping)
        self.name = name_or_path

    def probabilities(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        torch = self._torch
        out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        lengths = [len(t) for t in texts]  # characters are a fine proxy for sorting
        for idx in length_sorted_batches(lengths, batch_size):
            batch = self.tokenizer(
                [texts[i] for i in idx],
                padding=True,
                truncation=True,
                max_length=min(MAX_TOKENS, self.tokenizer.model_max_length),
                return_tensors="pt",
            )
            with torch.inference_mode():
                p = torch.softmax(self.model(**batch).logits, dim=-1).numpy()
            for j, ours in enumerate(self.mapping):
                out[idx, ours] += p[:, j]
        return out


_models: dict[tuple, SentimentModel] = {}
_models_lock = threading.Lock()


def _as_config(config_or_path: SentimentConfig | str | Path | None) -> SentimentConfig:
    if isinstance(config_or_path, SentimentConfig):
        return config_or_path
    return SentimentConfig(model=None if config_or_path is None else str(config_or_path))


def load_sentiment_model(config: SentimentConfig) -> SentimentModel:
    """Build the configured model (uncached; use get_sentiment_model in applications)."""
    if config.model is None:
        head_dir = default_head_dir()
        if not is_head_dir(head_dir):
            raise ModelNotFoundError(
                f"the default sentiment model is missing: no head.json in {head_dir}",
                hint="run `callwright sentiment-train` to build it, or pass --model",
            )
        return HeadSentimentModel.from_dir(head_dir, get_encoder(config.encoder))
    path = Path(config.model).expanduser()
    if path.is_dir() and is_head_dir(path):
        return HeadSentimentModel.from_dir(path, get_encoder(config.encoder))
    if path.exists() or config.model.startswith((".", "/", "~")):
        check_model_dir(path, "sentiment model")
    return HFClassifierModel(config.model, config.label_map)


def get_sentiment_model(
    config_or_path: SentimentConfig | str | Path | None = None,
) -> SentimentModel:
    """The process-wide sentiment model for this configuration, loaded on first use."""
    config = _as_config(config_or_path)
    model_key = str(Path(config.model).expanduser().resolve()) if config.model else None
    if config.model and not Path(config.model).expanduser().exists():
        model_key = config.model  # a hub name
    key = (model_key, config.encoder, tuple(sorted((config.label_map or {}).items())))
    with _models_lock:
        if key not in _models:
            _models[key] = load_sentiment_model(config)
        return _models[key]
