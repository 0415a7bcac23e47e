"""Fine-tuned conduct models: MiniLM's top layers and a linear layer, per classifier.

A head over the pooled MiniLM sentence vector (callwright.nlp.conduct's `ConductHead`) levels
off on wording unlike its training sentences: the pooled vector keeps the topic of a sentence
better than its tone. Fine-tuning the encoder's top `TUNED_LAYERS` layers with a linear layer on
the same labelled sentences (the sentiment model's recipe, callwright.nlp.training: the frozen
bottom layers' token states computed once, only the top layers trained) reads the tone far better
on new styles (docs/qa-real-calls.md has the figures). It costs a second run of the top layers on
the stretches it rates; the bottom layers' states are shared with the matcher's pass where the
scorer asks for both at once (`embed_and_rate`).

A model is stored in models/conduct/ as <name>.safetensors (the tuned layers and the linear
layer, float16) and <name>.json: the training data's hash, the fingerprint of the encoder's
embeddings and bottom layers it runs on, the weights file's sha256, the number of tuned layers
and the threshold cross-validation on the training sentences suggests. Loading it after the
data changed, on another encoder or with other weights is an error that says how to retrain:
`python -m callwright.nlp.conduct --write`.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from callwright.errors import ModelNotFoundError
from callwright.nlp import conduct
from callwright.nlp.embeddings import (
    MAX_TOKENS,
    Products,
    bert_blocks,
    bert_blocks_stacked,
    bert_embeddings,
    bert_embeddings_stacked,
    length_sorted_batches,
    padded,
    padding_batches,
    products,
    stacks,
)
from callwright.nlp.head import encoder_fingerprint, pad_states
from callwright.nlp.ratings import repo_root
from callwright.nlp.towers import cloned_top, layer_list, restack

if TYPE_CHECKING:  # pragma: no cover
    from callwright.nlp.embeddings import Encoder

log = logging.getLogger(__name__)

FORMAT = "callwright-conduct-model/1"
TUNED_LAYERS = 2  # 2 of MiniLM's 6: about 7 MB in float16
EPOCHS = 3
BATCH_SIZE = 32
LEARNING_RATE = 5e-5
WEIGHT_DECAY = 0.01
SEED = 7  # the linear layer's start and the batches' order: retraining gives the same model
TRAIN_THREADS = 1  # one torch thread while training: the same sums in the same order on any machine
RATE_BATCH = 64
HINT = "retrain it: python -m callwright.nlp.conduct --write"


def model_dir() -> Path:
    """models/conduct/ in the repository: where `python -m callwright.nlp.conduct --write` writes."""
    return repo_root() / "models" / "conduct"


def model_stem(name: str, tuned_layers: int | None = None, encoder: str | None = None) -> str:
    """The file stem of classifier `name`'s model with `tuned_layers` on `encoder` (None: its
    spec's first model on the matcher's MiniLM, stored as `<name>`); a partner's model is
    `<name>.<Partner.tag>`: `<name>.top<k>`, or `<name>.<encoder>.top<k>`."""
    spec = conduct.SPECS[name]
    if encoder is None and (tuned_layers is None or tuned_layers == spec.tuned_layers):
        return name
    return f"{name}.{conduct.Partner(tuned_layers or spec.tuned_layers, encoder).tag}"


def partner_encoder(name: str) -> Encoder:
    """The sentence encoder a partner model runs on (callwright.nlp.text_models), loaded once per
    process."""
    from callwright.nlp.embeddings import get_encoder
    from callwright.nlp.text_models import model_path

    return get_encoder(model_path(name))


def meta_file(name: str) -> str:
    return f"{name}.json"


def weights_file(name: str) -> str:
    return f"{name}.safetensors"


@dataclass
class ModelMeta:
    """What a conduct model needs to be rebuilt and checked (kept in <name>.json)."""

    name: str
    tuned_layers: int
    base_layers: int
    hidden_size: int
    encoder_fingerprint: str  # the embeddings and bottom layers it runs on
    data_sha256: str  # conduct.data_hash() of the training files
    weights_sha256: str = ""
    suggested_threshold: float = conduct.DEFAULT_CLASSIFIER_THRESHOLD
    training: dict[str, Any] = field(default_factory=dict)
    format: str = FORMAT
    encoder: str | None = None  # a callwright.nlp.text_models name; None: the matcher's MiniLM


class ConductModel(nn.Module):
    """Top layers (copies of the packaged encoder's, fine-tuned) + mean pooling + linear layer:
    P(class) = softmax(linear(mean of the top layers' token states))[1]."""

    def __init__(self, base: nn.Module, meta: ModelMeta) -> None:
        super().__init__()
        self.meta = meta
        self.top = cloned_top(base, meta.tuned_layers)
        self.classifier = nn.Linear(meta.hidden_size, 2)

    @property
    def name(self) -> str:
        return self.meta.name

    @property
    def n_bottom(self) -> int:
        return self.meta.base_layers - self.meta.tuned_layers

    @property
    def stem(self) -> str:
        return model_stem(self.name, self.meta.tuned_layers, self.meta.encoder)

    @property
    def bottoms(self) -> tuple[int, ...]:
        """The encoder layers whose token states `raw_states` takes (one here)."""
        return (self.n_bottom,)

    n_raw = 1  # the columns `raw_states` returns

    def raw_states(self, states: Sequence[torch.Tensor], mask: torch.Tensor, cfg: Any) -> np.ndarray:
        """What a pass over the matcher's encoder gives for each row: here its rating."""
        return self.probability_from_states(states[0], mask, cfg)[:, None]

    def finish(self, raw: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """The ratings from the pass's `raw_states` rows (and their texts)."""
        return raw[:, 0]

    @property
    def suggested_threshold(self) -> float:
        return self.meta.suggested_threshold

    def pooled_logits(self, top_states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask.unsqueeze(-1).to(top_states.dtype)
        return self.classifier((top_states * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9))

    def probability_from_states(self, states: torch.Tensor, mask: torch.Tensor, cfg: Any) -> np.ndarray:
        """P(class) of each row from the bottom layers' token states (batch, tokens, dim) and
        their mask: the tuned layers run as the encoder's own blocks do (`bert_blocks`, eval)."""
        with torch.inference_mode():
            top = bert_blocks(self.top, cfg, states, mask)[0]
            return torch.softmax(self.pooled_logits(top, mask), dim=-1)[:, 1].numpy().astype(np.float32)

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().to(torch.float16).contiguous() for k, v in self.state_dict().items()}


class ConductPanel:
    """A classifier rated by several fine-tuned models (`conduct.Spec.partners`): the first rates
    every stretch; where it rates at least `conduct.PAIR_GATE`, the rating is the mean of the
    first's and its partners'. Models trained alike but tuning other depths, or on another
    encoder, err on different sentences, so their mean misses fewer; the gate keeps the partners
    to the few stretches that could count. A partner on the matcher's encoder starts from the
    same pass's token states; one on another encoder (`Partner.encoder`) runs that encoder on the
    gated stretches' texts."""

    def __init__(
        self,
        first: ConductModel,
        partners: Sequence[tuple[ConductModel, Encoder | None]],
        gate: float = conduct.PAIR_GATE,
    ) -> None:
        self.first, self.gate = first, gate
        self.partners = list(partners)  # (model, its own encoder; None: the first's)

    @property
    def suggested_threshold(self) -> float:
        return self.first.suggested_threshold

    @property
    def bottoms(self) -> tuple[int, ...]:
        """The layers whose states the first and the partners on the same encoder start from."""
        return (self.first.n_bottom, *(m.n_bottom for m, e in self.partners if e is None))

    def combined(self, p: np.ndarray, partner: Callable[[int, np.ndarray], np.ndarray]) -> np.ndarray:
        """The first model's ratings `p` with the mean taken where they reach the gate;
        `partner(k, rows)` rates those rows with partner k."""
        rows = np.flatnonzero(p >= self.gate)
        out = p.copy()
        if len(rows):
            others = sum(partner(k, rows) for k in range(len(self.partners)))
            out[rows] = (p[rows] + others) / (1 + len(self.partners))
        return out

    @property
    def n_raw(self) -> int:
        """The columns `raw_states` returns: the first's rating, then its partners' on the same encoder."""
        return 1 + sum(e is None for _, e in self.partners)

    def raw_states(self, states: Sequence[torch.Tensor], mask: torch.Tensor, cfg: Any) -> np.ndarray:
        """The first model's rating of each row and, where it reaches the gate, each same-encoder
        partner's (NaN elsewhere), from the pass's token states."""
        p = self.first.probability_from_states(states[0], mask, cfg)
        out = np.full((len(p), self.n_raw), np.nan, dtype=np.float32)
        out[:, 0] = p
        rows = np.flatnonzero(p >= self.gate)
        if len(rows):
            sub = mask[rows]
            width = int(sub.sum(dim=1).max())
            same = [m for m, e in self.partners if e is None]
            for slot, model in enumerate(same, start=1):
                x = states[slot][rows][:, :width]
                out[rows, slot] = model.probability_from_states(x, sub[:, :width], cfg)
        return out

    def finish(self, raw: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """The panel's ratings from a pass's `raw_states` rows: partners on another encoder rate all
        the pass's gated texts at once (fewer, fuller batches than batch by batch)."""
        slots = list(itertools.accumulate((e is None for _, e in self.partners), initial=1))

        def partner(k: int, rows: np.ndarray) -> np.ndarray:
            model, encoder = self.partners[k]
            if encoder is not None:
                return rate_texts(model, encoder, [texts[i] for i in rows])
            return raw[rows, slots[k]]

        return self.combined(raw[:, 0].copy(), partner)


Rater = ConductModel | ConductPanel
"""What rates a fine-tuned classifier's stretches: one model, or a panel."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_model(model: ConductModel, directory: Path | None = None) -> Path:
    from safetensors.torch import save_file

    directory = Path(directory) if directory is not None else model_dir()
    directory.mkdir(parents=True, exist_ok=True)
    weights = directory / weights_file(model.stem)
    save_file(model.state_tensors(), str(weights), metadata={"format": FORMAT, "name": model.name})
    model.meta.weights_sha256 = _sha256(weights)
    (directory / meta_file(model.stem)).write_text(json.dumps(asdict(model.meta), indent=1) + "\n", "utf-8")
    return directory


def read_meta(path: Path) -> ModelMeta:
    try:
        raw = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as err:
        raise ModelNotFoundError(f"cannot read the conduct model {path}: {err}", hint=HINT) from err
    got = raw.get("format") if isinstance(raw, dict) else None
    if got != FORMAT:
        raise ModelNotFoundError(f"{path}: format {got!r}, this version reads {FORMAT!r}", hint=HINT)
    try:
        return ModelMeta(**raw)
    except TypeError as err:
        raise ModelNotFoundError(f"{path} is not a conduct model description: {err}", hint=HINT) from err


_fingerprints: dict[tuple[int, int], str] = {}
_lock = threading.Lock()


def bottom_fingerprint(encoder: Encoder, n_bottom: int) -> str:
    """`encoder_fingerprint` of this encoder's embeddings and first `n_bottom` layers, once per process."""
    with _lock:
        key = (id(encoder.model), n_bottom)
        if key not in _fingerprints:
            _fingerprints[key] = encoder_fingerprint(encoder.model, n_bottom)
        return _fingerprints[key]


def check_encoder(model: ConductModel, encoder: Encoder) -> None:
    """Refuse an encoder whose bottom layers are not the ones the model was trained on."""
    n_layers = len(layer_list(encoder.model))
    if (
        n_layers != model.meta.base_layers
        or encoder.dim != model.meta.hidden_size
        or bottom_fingerprint(encoder, model.n_bottom) != model.meta.encoder_fingerprint
    ):
        raise ModelNotFoundError(
            f"the conduct model {model.name!r} was trained on another sentence encoder "
            f"(fingerprint {model.meta.encoder_fingerprint}, {model.meta.base_layers} layers); "
            f"this matcher uses {encoder.model_path}",
            hint="score with the packaged MiniLM encoder, or " + HINT,
        )


def load_model(
    name: str,
    encoder: Encoder,
    directory: Path | None = None,
    data_sha256: str | None = None,
    partner: conduct.Partner | None = None,
) -> ConductModel:
    """Rebuild a stored model on `encoder`, checking its data hash, encoder and weights
    (`partner`: one of a panel's partners, `model_stem`; None: the first model)."""
    from safetensors.torch import load_file

    directory = Path(directory) if directory is not None else model_dir()
    tuned_layers, encoder_name = (partner.tuned_layers, partner.encoder) if partner else (None, None)
    stem = model_stem(name, tuned_layers, encoder_name)
    meta_path, weights_path = directory / meta_file(stem), directory / weights_file(stem)
    if not meta_path.is_file() or not weights_path.is_file():
        raise ModelNotFoundError(
            f"no trained conduct model {stem!r} in {directory} "
            f"(needs {meta_file(stem)} and {weights_file(stem)})",
            hint=HINT,
        )
    meta = read_meta(meta_path)
    if meta.name != name:
        raise ModelNotFoundError(f"{meta_path} holds classifier {meta.name!r}, not {name!r}", hint=HINT)
    if tuned_layers is not None and meta.tuned_layers != tuned_layers:
        raise ModelNotFoundError(
            f"{meta_path} tunes {meta.tuned_layers} layers, not {tuned_layers}", hint=HINT
        )
    if meta.encoder != encoder_name:
        raise ModelNotFoundError(
            f"{meta_path} runs on encoder {meta.encoder or 'MiniLM'}, not {encoder_name or 'MiniLM'}",
            hint=HINT,
        )
    expected = data_sha256 if data_sha256 is not None else conduct.data_hash(conduct.data_paths(name))
    if meta.data_sha256 != expected:
        raise ModelNotFoundError(
            f"{meta_path} was trained on another version of {', '.join(conduct.SPECS[name].data_files)} "
            f"(hash {meta.data_sha256}, now {expected})",
            hint=HINT,
        )
    if _sha256(weights_path) != meta.weights_sha256:
        raise ModelNotFoundError(
            f"{weights_path} is not the weights {meta_path} describes (sha256 differs)", hint=HINT
        )
    model = ConductModel(encoder.model, meta)
    check_encoder(model, encoder)
    state = {k: v.to(torch.float32) for k, v in load_file(str(weights_path)).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ModelNotFoundError(
            f"{weights_path} does not match {meta_path} (missing {missing[:3]}, unexpected {unexpected[:3]})",
            hint=HINT,
        )
    model.eval()
    return model


_models: dict[tuple[str, int], ConductModel] = {}
_models_lock = threading.Lock()
_panels: dict[tuple[str, int], ConductPanel] = {}


def get_model(name: str, encoder: Encoder) -> ConductModel:
    """The stored model of classifier `name` on `encoder`, loaded once per process."""
    with _models_lock:
        key = (name, id(encoder.model))
        if key not in _models:
            _models[key] = load_model(name, encoder)
        return _models[key]


def get_rater(name: str, encoder: Encoder) -> Rater:
    """What rates classifier `name` on `encoder`: its model, or the panel of it and its spec's
    `partners` (each model and encoder loaded once per process)."""
    first = get_model(name, encoder)
    partners = conduct.SPECS[name].partners
    if not partners:
        return first
    with _models_lock:
        key = (name, id(encoder.model))
        if key not in _panels:
            loaded: list[tuple[ConductModel, Encoder | None]] = []
            for p in partners:
                own = partner_encoder(p.encoder) if p.encoder is not None else None
                loaded.append((load_model(name, own or encoder, partner=p), own))
            _panels[key] = ConductPanel(first, loaded)
        return _panels[key]


def has_model(name: str) -> bool:
    return conduct.SPECS[name].tuned_layers > 0


# -- rating -----------------------------------------------------------------------------------


def _ids(encoder: Encoder, texts: Sequence[str]) -> list[list[int]]:
    return list(encoder.tokenizer(list(texts), truncation=True, max_length=MAX_TOKENS)["input_ids"])


def embed_and_rate(
    encoder: Encoder,
    texts: Sequence[str],
    rate: Sequence[bool],
    models: Sequence[Rater],
    batch_size: int = RATE_BATCH,
) -> tuple[np.ndarray, np.ndarray]:
    """The encoder's unit sentence vectors of `texts` (what `Encoder.embed` gives: the same
    batches and operations) and, for the texts with `rate` set, each model's probability (NaN
    elsewhere): the models' tuned layers start from the bottom layers' states of the same forward
    pass, so rating a stretch the matcher embeds anyway costs only the tuned layers.
    Returns (vectors (n, dim), probabilities (n, len(models)))."""
    from callwright.nlp.embeddings import bert_forward, mean_pool_normalised

    texts = [str(t) for t in texts]
    vectors = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    probs = np.full((len(texts), len(models)), np.nan, dtype=np.float32)
    if not texts:
        return vectors, probs
    if not (encoder.lean and encoder.plain_bert):
        vectors[:] = encoder.embed(texts, batch_size)
        rows = [i for i, r in enumerate(rate) if r]
        for j, model in enumerate(models):
            probs[rows, j] = rate_texts(model, encoder, [texts[i] for i in rows], batch_size)
        return vectors, probs
    ids = _ids(encoder, texts)
    pad = int(encoder.tokenizer.pad_token_id or 0)
    cfg = encoder.model.config
    raws = [np.full((len(texts), m.n_raw), np.nan, dtype=np.float32) for m in models]
    if encoder.pad_aware and encoder.stacked:  # `Encoder.run`'s stacked passes, states kept
        for stack in stacks(ids, batch_size, pad):
            keep = any(rate[i] for i in stack.order)
            with torch.inference_mode():
                x = bert_embeddings_stacked(encoder.model, stack)
                hidden = bert_blocks_stacked(encoder.model.encoder.layer, cfg, x, stack, keep)
            pooled = [mean_pool_normalised(h, m) for h, m in stack.batches(hidden[-1])]
            vectors[stack.order] = torch.cat(pooled).numpy()
            if keep:
                _rate_stack(stack, hidden, rate, models, raws, cfg)
        return vectors, _finish(models, raws, rate, texts, probs)
    split = padding_batches if encoder.pad_aware else length_sorted_batches
    for idx in split([len(r) for r in ids], batch_size):
        input_ids, mask = padded([ids[i] for i in idx], pad)
        keep = any(rate[i] for i in idx)
        with torch.inference_mode():
            hidden = bert_forward(encoder.model, input_ids, mask, keep_all=keep)
            vectors[idx] = mean_pool_normalised(hidden[-1], mask).numpy()
        if keep:
            _rate_batch([[hidden[b] for b in m.bottoms] for m in models], mask, idx, rate, models, raws, cfg)
    return vectors, _finish(models, raws, rate, texts, probs)


def _finish(
    models: Sequence[Rater],
    raws: Sequence[np.ndarray],
    rate: Sequence[bool],
    texts: Sequence[str],
    probs: np.ndarray,
) -> np.ndarray:
    """Each model's ratings of the rated rows from the pass's `raw_states` (`Rater.finish`)."""
    rows = [i for i, r in enumerate(rate) if r]
    for j, model in enumerate(models):
        probs[rows, j] = model.finish(raws[j][rows], [texts[i] for i in rows])
    return probs


def _rate_stack(
    stack: Any,
    hidden: list[torch.Tensor],
    rate: Sequence[bool],
    models: Sequence[Rater],
    raws: Sequence[np.ndarray],
    cfg: Any,
) -> None:
    """`_rate_batch` for each batch of a stacked pass, from its bottom layers' states in `hidden`."""
    views = [[list(stack.batches(hidden[k])) for k in m.bottoms] for m in models]
    at = 0
    for b, (n, _) in enumerate(stack.shapes):
        idx = stack.order[at : at + n]
        at += n
        mask = views[0][0][b][1]
        _rate_batch([[v[b][0] for v in mv] for mv in views], mask, idx, rate, models, raws, cfg)


def _rate_batch(
    states: Sequence[Sequence[torch.Tensor]],
    mask: torch.Tensor,
    idx: Sequence[int],
    rate: Sequence[bool],
    models: Sequence[Rater],
    raws: Sequence[np.ndarray],
    cfg: Any,
) -> None:
    """Each model's `raw_states` of the batch's texts with `rate` set (rows `idx` of `raws[j]`),
    from its bottom layers' token states (`states[j]` for model j: one (batch, tokens, dim)
    tensor per layer in its `bottoms`) and their mask."""
    want = [k for k, i in enumerate(idx) if rate[i]]
    if not want:
        return
    sub_mask = mask[want]
    width = int(sub_mask.sum(dim=1).max())  # the rated rows may need less padding
    rows = [idx[k] for k in want]
    for j, model in enumerate(models):
        sub_states = [x[want][:, :width] for x in states[j]]
        raws[j][rows] = model.raw_states(sub_states, sub_mask[:, :width], cfg)


def rate_texts(
    model: Rater, encoder: Encoder, texts: Sequence[str], batch_size: int = RATE_BATCH
) -> np.ndarray:
    """P(class) of each text on its own: the encoder's bottom layers, then the model's (a panel:
    the first model's, then its partners' where the first reaches the gate)."""
    texts = [str(t) for t in texts]
    if isinstance(model, ConductPanel):
        panel = model

        def partner(k: int, rows: np.ndarray) -> np.ndarray:
            other, own = panel.partners[k]
            return rate_texts(other, own or encoder, [texts[i] for i in rows], batch_size)

        return panel.combined(rate_texts(panel.first, encoder, texts, batch_size), partner)
    out = np.zeros(len(texts), dtype=np.float32)
    if not texts:
        return out
    base = encoder.model
    ids = _ids(encoder, texts)
    pad = int(encoder.tokenizer.pad_token_id or 0)
    blocks = list(layer_list(base))[: model.n_bottom]
    for idx in padding_batches([len(r) for r in ids], batch_size):
        input_ids, mask = padded([ids[i] for i in idx], pad)
        with torch.inference_mode(), _other_encoder_products(encoder):
            if encoder.plain_bert:
                states = bert_blocks(blocks, base.config, bert_embeddings(base, input_ids), mask)[0]
            else:
                states = restack(base, blocks)(input_ids=input_ids, attention_mask=mask).last_hidden_state
        out[idx] = _probability(model, states, mask, encoder)
    return out


def _other_encoder_products(encoder: Encoder) -> contextlib.AbstractContextManager[Any]:
    """A transformers encoder that is not plain BERT (a panel's partner on all-mpnet-base-v2) runs
    its linear maps in bfloat16 where the encoder's products are bfloat16 (`embeddings.products`:
    a CPU that multiplies it natively), else in float32."""
    if not encoder.plain_bert and products() is Products.BFLOAT16:
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _probability(
    model: ConductModel, states: torch.Tensor, mask: torch.Tensor, encoder: Encoder
) -> np.ndarray:
    if encoder.plain_bert:
        return model.probability_from_states(states, mask, encoder.model.config)
    view = restack(encoder.model, model.top, from_hidden_states=True)
    with torch.inference_mode(), _other_encoder_products(encoder):
        top = view(inputs_embeds=states, attention_mask=mask).last_hidden_state
        logits = model.pooled_logits(top, mask).float()
        return torch.softmax(logits, dim=-1)[:, 1].numpy().astype(np.float32)


# -- training ---------------------------------------------------------------------------------


@dataclass
class _Trainer:
    """Fine-tunes a fresh copy of the top layers + a linear layer on cached bottom states."""

    encoder: Encoder
    states: Any  # training.BottomStates
    tuned_layers: int
    epochs: int = EPOCHS

    def fit(self, texts: list[str], y: np.ndarray, name: str) -> ConductModel:
        base = self.encoder.model
        n_layers = len(layer_list(base))
        meta = ModelMeta(
            name=name,
            tuned_layers=self.tuned_layers,
            base_layers=n_layers,
            hidden_size=int(base.config.hidden_size),
            encoder_fingerprint=bottom_fingerprint(self.encoder, n_layers - self.tuned_layers),
            data_sha256="",
        )
        torch.manual_seed(SEED)
        model = ConductModel(base, meta)
        view = restack(base, model.top, from_hidden_states=True)
        xs = [s.to(torch.float32) for s in self.states.get(texts)]
        labels = torch.tensor(y.astype(np.int64))
        n_pos = int(labels.sum())
        n = len(labels)
        weights = torch.tensor(
            [n / (2.0 * max(n - n_pos, 1)), n / (2.0 * max(n_pos, 1))], dtype=torch.float32
        )
        loss_fn = nn.CrossEntropyLoss(weight=weights)  # the classes count equally
        params = [*model.top.parameters(), *model.classifier.parameters()]
        opt = torch.optim.AdamW(params, lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
        gen = torch.Generator().manual_seed(SEED)
        model.train()
        for _ in range(self.epochs):
            perm = torch.randperm(len(xs), generator=gen).tolist()
            for i in range(0, len(perm), BATCH_SIZE):
                idx = perm[i : i + BATCH_SIZE]
                x, m = pad_states([xs[j] for j in idx])
                top = view(inputs_embeds=x, attention_mask=m).last_hidden_state
                loss = loss_fn(model.pooled_logits(top, m), labels[idx])
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                opt.step()
        model.eval()
        return model

    def rate(self, model: ConductModel, texts: list[str]) -> np.ndarray:
        xs = self.states.get(texts)
        out = np.zeros(len(texts), dtype=np.float32)
        for idx in length_sorted_batches([x.shape[0] for x in xs], RATE_BATCH):
            x, m = pad_states([xs[i] for i in idx])
            out[idx] = _probability(model, x, m, self.encoder)
        return out


def _fold_of(sentence: str) -> int:
    return int(hashlib.sha256(sentence.encode()).hexdigest()[:8], 16) % conduct.FOLDS


def train(
    encoder: Encoder,
    name: str,
    path: conduct.DataPaths | None = None,
    calibrate: bool = True,
    partner: conduct.Partner | None = None,
    real_negatives: bool = True,
    jobs: int = 1,
) -> ConductModel:
    """Fine-tune classifier `name`'s model on the labelled sentences of its training files
    (`path`; default: its spec's `data_files`) as the scorer hears them (and, with `calibrate`,
    choose its threshold by cross-validation on them: `conduct.FOLDS` models, each trained
    without one fold, rate that fold's sentences). One torch thread, fixed seeds: the same data
    gives the same model. `real_negatives`: with the real agent turns where the classifier's spec
    asks for them and the data is present (conduct.REAL_LIST; the model's
    `training.real_negatives` records whether they were used). `jobs` > 1: the fit and the folds
    run in that many processes side by side (each one thread, so the same model and threshold).
    `partner`: train that partner's model (on `encoder`, the partner's own) instead of the first."""
    spec = conduct.SPECS[name]
    path = path if path is not None else conduct.data_paths(name)
    tuned = (partner.tuned_layers if partner else None) or spec.tuned_layers or TUNED_LAYERS
    job = _Job(
        str(encoder.model_path),
        name,
        tuple(str(p) for p in conduct.as_paths(path)),
        tuned,
        real_negatives,
        EPOCHS,
    )
    started = time.perf_counter()
    sentences, real = job.sentences()
    ts = conduct.training_set(name, sentences)
    folds = list(range(conduct.FOLDS)) if calibrate else []
    if jobs > 1:
        model, fitted, ratings = _train_in_processes(job, encoder, folds, jobs)
    else:
        with _one_thread():
            trainer = job.trainer(encoder)
            model = trainer.fit(ts.texts, ts.y, name)
            fitted = time.perf_counter() - started
            ratings = [_fold_ratings(trainer, name, sentences, f) for f in folds]
    threshold: float = conduct.DEFAULT_CLASSIFIER_THRESHOLD
    cv: dict[str, Any] = {}
    if calibrate:
        threshold, cv = conduct.choose_threshold(
            np.concatenate([p for p, _ in ratings]), np.concatenate([n for _, n in ratings])
        )
    model.meta.data_sha256 = conduct.data_hash(path)
    model.meta.encoder = partner.encoder if partner else None
    model.meta.suggested_threshold = threshold
    model.meta.training = {
        "positive_lists": list(spec.positive),
        "negative_lists": list(conduct.negative_lists(name, sentences)),
        **({"real_negatives": real} if real else {}),
        "positives": ts.positives,
        "negatives": ts.negatives,
        "rows": {"positive": int(ts.y.sum()), "negative": int(len(ts.y) - ts.y.sum())},
        "negative_windows": [list(w) for w in conduct.NEGATIVE_WINDOWS],
        "positive_share": conduct.POSITIVE_SHARE,
        "method": (
            f"top {tuned} of {model.meta.base_layers} layers fine-tuned + linear, mean pooling, "
            f"adamw lr {LEARNING_RATE} weight decay {WEIGHT_DECAY}, {job.epochs} epochs, batches of "
            f"{BATCH_SIZE}, balanced classes, seed {SEED}, {TRAIN_THREADS} thread"
        ),
        "seconds": {
            "fit": round(fitted, 1),
            "total": round(time.perf_counter() - started, 1),
            **({"processes": jobs} if jobs > 1 else {}),
        },
        "cross_validation": cv,
    }
    return model


def _fold_ratings(
    trainer: _Trainer, name: str, sentences: dict[str, list[str]], f: int
) -> tuple[np.ndarray, np.ndarray]:
    """Fold `f` of the cross-validation (as `conduct.out_of_fold`, with a fine-tuned model per
    fold): a model trained without the fold rates its positives in context (next to a training
    negative) and its negatives with their own windows."""
    spec = conduct.SPECS[name]
    negative = conduct.negative_lists(name, sentences)
    heard = conduct.as_heard(sentences)
    lists = [(n, 1) for n in spec.positive] + [(n, 0) for n in negative]
    base = [(s, lab) for n, lab in lists for s in heard[n]]
    fold = [_fold_of(s) for s, _ in base]
    part = {
        (lab, held): [s for (s, lb), k in zip(base, fold, strict=True) if lb == lab and (k == f) == held]
        for lab in (0, 1)
        for held in (False, True)
    }
    pos, neg = conduct.in_context(part[1, False], part[0, False]), conduct.augmented(part[0, False])
    pos_set = set(pos)
    neg = [s for s in neg if s not in pos_set]
    model = trainer.fit([*pos, *neg], np.array([1] * len(pos) + [0] * len(neg)), name)
    p_pos = trainer.rate(model, conduct.in_context(part[1, True], part[0, False]))
    test_neg = list(dict.fromkeys([*part[0, True], *[w for s in part[0, True] for w in conduct.windows(s)]]))
    p_neg = trainer.rate(model, test_neg)
    log.info("conduct model %s: fold %d of %d done", name, f + 1, conduct.FOLDS)
    return p_pos, p_neg


@contextmanager
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(TRAIN_THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@dataclass(frozen=True)
class _Job:
    """What a training process needs to redo the parent's work: plain values, so it pickles."""

    encoder_path: str
    name: str
    paths: tuple[str, ...]
    tuned: int
    real_negatives: bool
    epochs: int

    def sentences(self) -> tuple[dict[str, list[str]], dict[str, Any]]:
        sentences = conduct.load_sentences([Path(p) for p in self.paths])
        return conduct.with_real_negatives(self.name, sentences, self.real_negatives)

    def trainer(self, encoder: Encoder) -> _Trainer:
        from callwright.nlp.training import BottomStates

        n_bottom = len(layer_list(encoder.model)) - self.tuned
        return _Trainer(encoder, BottomStates(encoder, n_bottom), self.tuned, self.epochs)


def _run_task(job: _Job, fold: int | None) -> tuple[Any, ...]:
    """In a training process: the fit (`fold` None: the model's weights, its meta and the seconds
    it took) or one fold's ratings."""
    from callwright.nlp.embeddings import get_encoder

    started = time.perf_counter()
    encoder = get_encoder(job.encoder_path)
    with _one_thread():
        trainer = job.trainer(encoder)
        sentences, _ = job.sentences()
        if fold is None:
            ts = conduct.training_set(job.name, sentences)
            model = trainer.fit(ts.texts, ts.y, job.name)
            return model.state_dict(), asdict(model.meta), time.perf_counter() - started
        return _fold_ratings(trainer, job.name, sentences, fold)


def _train_in_processes(
    job: _Job, encoder: Encoder, folds: list[int], jobs: int
) -> tuple[ConductModel, float, list[tuple[np.ndarray, np.ndarray]]]:
    """The fit and the folds in `jobs` spawned processes (the fit first: it is the longest)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        fit = pool.submit(_run_task, job, None)
        parts = [pool.submit(_run_task, job, f) for f in folds]
        state, meta, fitted = fit.result()
        ratings = [p.result() for p in parts]
    model = ConductModel(encoder.model, ModelMeta(**meta))
    model.load_state_dict(state)  # all of it, in float32: the stored form (`save_model`) is rounded
    model.eval()
    return model, fitted, ratings
